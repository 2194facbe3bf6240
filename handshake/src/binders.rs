//! The PSK binders of a recorded ClientHello, and the binder a candidate external PSK
//! would give (RFC 8446 §4.2.11.2).
//!
//! A binder is an HMAC keyed from the PSK alone over the ClientHello, so a ClientHello
//! seen on the wire lets anyone test a guessed PSK offline: these functions are the test.
//! That is why an external PSK must have high entropy (RFC 8446 §2.2, RFC 9257 §4.2).

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::key_schedule::{EarlySecret, HASH_LEN, PskKind, Secret, finished_key, verify_data};
use crate::msgs::HandshakeMessage;
use crate::msgs::psk::binder_prefix;

/// One PSK offered in a ClientHello: its identity, its binder and the hash the binder
/// was computed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedBinder {
    /// The PSK identity, as sent.
    pub identity: Vec<u8>,
    /// The binder, as sent.
    pub binder: Vec<u8>,
    /// Transcript-Hash(Truncate(ClientHello)): SHA-256 of the ClientHello up to and
    /// including the identities (RFC 8446 §4.2.11.2).
    pub partial_hash: [u8; HASH_LEN],
}

/// The offered PSKs of an encoded initial ClientHello (handshake header included), each
/// with the hash its binder covers.
///
/// Only a first ClientHello: after a HelloRetryRequest the binder also covers the
/// messages before the second ClientHello (§4.2.11.2), which are not passed here.
/// Empty when the ClientHello offers no PSK.
pub fn offered_binders(client_hello: &[u8]) -> Result<Vec<OfferedBinder>, Error> {
    let HandshakeMessage::ClientHello(hello) = HandshakeMessage::decode(client_hello)? else {
        return Err(Error::Usage("not a ClientHello"));
    };
    let Some(offer) = hello.extensions.offered_psks() else {
        return Ok(Vec::new());
    };
    let prefix = binder_prefix(client_hello, offer).ok_or(Error::Usage("ClientHello too short"))?;
    let partial_hash: [u8; HASH_LEN] = Sha256::digest(prefix).into();
    Ok(offer
        .identities
        .iter()
        .zip(&offer.binders)
        .map(|(id, binder)| OfferedBinder {
            identity: id.identity.clone(),
            binder: binder.clone(),
            partial_hash,
        })
        .collect())
}

/// The binder an external PSK `psk` gives over `partial_hash` (RFC 8446 §4.2.11.2):
/// HMAC(finished_key(binder_key), partial_hash), where binder_key =
/// Derive-Secret(HKDF-Extract(0, PSK), "ext binder", "") (§7.1) and finished_key is
/// HKDF-Expand-Label(binder_key, "finished", "", 32) (§4.4.4).
pub fn external_binder(psk: &[u8], partial_hash: &[u8; HASH_LEN]) -> [u8; HASH_LEN] {
    let binder_key: Secret = EarlySecret::new(Some(psk)).binder_key(PskKind::External);
    verify_data(&binder_key, partial_hash)
}

/// The finished_key of an external PSK's binder, for explanations: the key of the final
/// HMAC in [`external_binder`].
pub fn external_binder_finished_key(psk: &[u8]) -> Secret {
    finished_key(&EarlySecret::new(Some(psk)).binder_key(PskKind::External))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::client_hello::ClientHello;
    use crate::msgs::enums::{CipherSuite, ProtocolVersion};
    use crate::msgs::extensions::{Extension, Extensions};
    use crate::msgs::psk::{OfferedPsks, PskIdentity};

    /// A ClientHello with a binder made by the same steps the client takes
    /// (`conn::psk::attach_binders`) is recognised, and only the right PSK matches it.
    #[test]
    fn the_binder_of_the_right_psk_matches_and_no_other() {
        let psk = [0x42u8; 32];
        let mut hello = ClientHello {
            legacy_version: ProtocolVersion::Tls12,
            random: [7; 32],
            legacy_session_id: vec![1; 32],
            cipher_suites: vec![CipherSuite::TlsChacha20Poly1305Sha256],
            legacy_compression_methods: vec![0],
            extensions: Extensions(vec![Extension::SupportedVersionsClientHello(vec![
                ProtocolVersion::Tls13,
            ])]),
        };
        let mut offered = OfferedPsks {
            identities: vec![PskIdentity {
                identity: b"lab".to_vec(),
                obfuscated_ticket_age: 0,
            }],
            binders: vec![vec![0; 32]],
        };
        hello
            .extensions
            .0
            .push(Extension::PreSharedKeyClientHello(offered.clone()));
        let bytes = HandshakeMessage::ClientHello(hello.clone())
            .to_bytes()
            .expect("encodes");
        let prefix = binder_prefix(&bytes, &offered).expect("long enough");
        let hash: [u8; HASH_LEN] = Sha256::digest(prefix).into();
        offered.binders[0] = external_binder(&psk, &hash).to_vec();
        if let Some(last) = hello.extensions.0.last_mut() {
            *last = Extension::PreSharedKeyClientHello(offered);
        }
        let bytes = HandshakeMessage::ClientHello(hello)
            .to_bytes()
            .expect("encodes");
        let found = offered_binders(&bytes).expect("decodes");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].identity, b"lab");
        assert_eq!(found[0].partial_hash, hash);
        assert_eq!(external_binder(&psk, &hash).as_slice(), found[0].binder);
        assert_ne!(
            external_binder(&[0x43; 32], &hash).as_slice(),
            found[0].binder
        );
    }
}
