//! The TLS 1.3 key schedule (RFC 8446 §7) for SHA-256 suites, as typestates.
//!
//! ```text
//!              0
//!              |
//!              v
//!    PSK ->  HKDF-Extract = Early Secret        EarlySecret::new(psk)
//!              |  +-> binder_key, client_early_traffic_secret, early_exporter_master_secret
//!              v
//!        Derive-Secret(., "derived", "")
//!              |
//!              v
//!    (EC)DHE -> HKDF-Extract = Handshake Secret  EarlySecret::into_handshake_secret(ecdhe)
//!              |  +-> {client,server}_handshake_traffic_secret
//!              v
//!        Derive-Secret(., "derived", "")
//!              |
//!              v
//!    0 -> HKDF-Extract = Master Secret           HandshakeSecret::into_master_secret()
//!                 +-> {client,server}_application_traffic_secret_0,
//!                     exporter_master_secret, resumption_master_secret
//! ```
//!
//! Each stage consumes the one before, so a stage cannot be used after it was left. All
//! secrets are zeroized when dropped. Transcript hashes are passed in by the caller, which
//! keeps a [`Transcript`].

mod kdf;
mod transcript;

pub use kdf::{
    EMPTY_HASH, HASH_LEN, Secret, check_verify_data, derive_secret, finished_key,
    hkdf_expand_label, hkdf_expand_label_into, hkdf_extract, hkdf_label, verify_data,
};
pub(crate) use kdf::{check_verify_data_keyed, verify_data_keyed};
pub use transcript::{Transcript, message_hash};

use std::cell::OnceCell;
use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::algorithms::SupportedSuite;
use crate::error::Error;
use kdf::{Prk, derive_secret_fixed, expand_label_fixed, expand_label_to_secret};
use subtle::ConstantTimeEq;

/// The HKDF labels this crate derives with (without "tls13 "), RFC 8446 §7.1, §7.3, §7.5,
/// §4.4.4, §4.6.1, §7.2.
#[cfg(test)]
pub(crate) const CRATE_LABELS: [&[u8]; 17] = [
    b"derived",
    b"ext binder",
    b"res binder",
    b"c e traffic",
    b"e exp master",
    b"c hs traffic",
    b"s hs traffic",
    b"c ap traffic",
    b"s ap traffic",
    b"exp master",
    b"res master",
    b"finished",
    b"traffic upd",
    b"key",
    b"iv",
    b"resumption",
    b"exporter",
];

const ZEROS: [u8; HASH_LEN] = [0; HASH_LEN];

/// The Early Secret without a PSK: HKDF-Extract(0, 0), the same for every connection
/// (RFC 8448 §3 shows it); the test `no_psk_constants_are_the_key_schedule` recomputes it.
const EARLY_SECRET_NO_PSK: [u8; HASH_LEN] = [
    0x33, 0xad, 0x0a, 0x1c, 0x60, 0x7e, 0xc0, 0x3b, 0x09, 0xe6, 0xcd, 0x98, 0x93, 0x68, 0x0c, 0xe2,
    0x10, 0xad, 0xf3, 0x00, 0xaa, 0x1f, 0x26, 0x60, 0xe1, 0xb2, 0x2e, 0x10, 0xf1, 0x70, 0xf9, 0x2a,
];

/// Derive-Secret(EARLY_SECRET_NO_PSK, "derived", ""): the salt of the Handshake Secret
/// without a PSK, also a constant (RFC 8448 §3).
const DERIVED_NO_PSK: [u8; HASH_LEN] = [
    0x6f, 0x26, 0x15, 0xa1, 0x08, 0xc7, 0x02, 0xc5, 0x67, 0x8f, 0x54, 0xfc, 0x9d, 0xba, 0xb6, 0x97,
    0x16, 0xc0, 0x76, 0x18, 0x9c, 0x48, 0x25, 0x0c, 0xeb, 0xea, 0xc3, 0x57, 0x6c, 0x36, 0x11, 0xba,
];

/// Where a PSK comes from; decides the binder_key label (RFC 8446 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PskKind {
    /// Provisioned out of band: "ext binder".
    External,
    /// From a NewSessionTicket: "res binder".
    Resumption,
}

/// Early Secret = HKDF-Extract(0, PSK) (RFC 8446 §7.1).
#[derive(Debug)]
pub struct EarlySecret(Secret);

impl EarlySecret {
    /// The Early Secret for `psk`, or for 32 zero bytes when there is none ("if PSK is not
    /// in use, ... a string of Hash.length bytes set to zeros", §7.1).
    pub fn new(psk: Option<&[u8]>) -> Self {
        match psk {
            None => Self(Secret::from_bytes(EARLY_SECRET_NO_PSK)),
            Some(psk) => Self(hkdf_extract(&ZEROS, psk)),
        }
    }

    /// The secret itself, for traces and tests.
    pub fn secret(&self) -> &Secret {
        &self.0
    }

    /// binder_key = Derive-Secret(Early Secret, "ext binder" | "res binder", "").
    pub fn binder_key(&self, kind: PskKind) -> Secret {
        let label: &'static [u8] = match kind {
            PskKind::External => b"ext binder",
            PskKind::Resumption => b"res binder",
        };
        derive_secret_fixed(&self.0, label, &EMPTY_HASH)
    }

    /// client_early_traffic_secret = Derive-Secret(., "c e traffic", ClientHello).
    pub fn client_early_traffic_secret(&self, hash_client_hello: &[u8; HASH_LEN]) -> Secret {
        derive_secret_fixed(&self.0, b"c e traffic", hash_client_hello)
    }

    /// early_exporter_master_secret = Derive-Secret(., "e exp master", ClientHello).
    pub fn early_exporter_master_secret(
        &self,
        hash_client_hello: &[u8; HASH_LEN],
    ) -> ExporterMasterSecret {
        ExporterMasterSecret::derived(derive_secret_fixed(
            &self.0,
            b"e exp master",
            hash_client_hello,
        ))
    }

    /// Handshake Secret = HKDF-Extract(Derive-Secret(., "derived", ""), (EC)DHE).
    ///
    /// `ecdhe` is the shared secret; `None` in psk_ke mode, where 32 zero bytes are used.
    pub fn into_handshake_secret(self, ecdhe: Option<&[u8]>) -> HandshakeSecret {
        // Without a PSK the salt is a constant. The comparison is constant-time because
        // with a PSK the Early Secret is secret.
        let no_psk = bool::from(self.0.as_bytes().ct_eq(&EARLY_SECRET_NO_PSK));
        let salt = if no_psk {
            Secret::from_bytes(DERIVED_NO_PSK)
        } else {
            derive_secret_fixed(&self.0, b"derived", &EMPTY_HASH)
        };
        HandshakeSecret::keyed(hkdf_extract(salt.as_bytes(), ecdhe.unwrap_or(&ZEROS)))
    }
}

/// Handshake Secret (RFC 8446 §7.1), keyed into HMAC once for the three Derive-Secret
/// calls made under it (the keyed state boxed: handshake states stay small).
#[derive(Debug)]
pub struct HandshakeSecret {
    secret: Secret,
    prk: Box<Prk>,
}

impl HandshakeSecret {
    fn keyed(secret: Secret) -> Self {
        let prk = Box::new(Prk::new(&secret));
        Self { secret, prk }
    }

    /// The secret itself, for traces and tests.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// client_handshake_traffic_secret = Derive-Secret(., "c hs traffic",
    /// ClientHello...ServerHello).
    pub fn client_handshake_traffic_secret(&self, hash_ch_sh: &[u8; HASH_LEN]) -> Secret {
        self.prk.derive_secret(b"c hs traffic", hash_ch_sh)
    }

    /// server_handshake_traffic_secret = Derive-Secret(., "s hs traffic",
    /// ClientHello...ServerHello).
    pub fn server_handshake_traffic_secret(&self, hash_ch_sh: &[u8; HASH_LEN]) -> Secret {
        self.prk.derive_secret(b"s hs traffic", hash_ch_sh)
    }

    /// Master Secret = HKDF-Extract(Derive-Secret(., "derived", ""), 0).
    pub fn into_master_secret(self) -> MasterSecret {
        let salt = self.prk.derive_secret(b"derived", &EMPTY_HASH);
        MasterSecret::keyed(hkdf_extract(salt.as_bytes(), &ZEROS))
    }
}

/// Master Secret (RFC 8446 §7.1), keyed into HMAC once for the Derive-Secret calls made
/// under it (boxed, as for [`HandshakeSecret`]).
#[derive(Debug)]
pub struct MasterSecret {
    secret: Secret,
    prk: Box<Prk>,
}

impl MasterSecret {
    fn keyed(secret: Secret) -> Self {
        let prk = Box::new(Prk::new(&secret));
        Self { secret, prk }
    }

    /// The secret itself, for traces and tests.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// client_application_traffic_secret_0 = Derive-Secret(., "c ap traffic",
    /// ClientHello...server Finished).
    pub fn client_application_traffic_secret_0(&self, hash_ch_sfin: &[u8; HASH_LEN]) -> Secret {
        self.prk.derive_secret(b"c ap traffic", hash_ch_sfin)
    }

    /// server_application_traffic_secret_0 = Derive-Secret(., "s ap traffic",
    /// ClientHello...server Finished).
    pub fn server_application_traffic_secret_0(&self, hash_ch_sfin: &[u8; HASH_LEN]) -> Secret {
        self.prk.derive_secret(b"s ap traffic", hash_ch_sfin)
    }

    /// exporter_master_secret = Derive-Secret(., "exp master", ClientHello...server Finished).
    pub fn exporter_master_secret(&self, hash_ch_sfin: &[u8; HASH_LEN]) -> ExporterMasterSecret {
        ExporterMasterSecret::derived(self.prk.derive_secret(b"exp master", hash_ch_sfin))
    }

    /// exporter_master_secret as [`Self::exporter_master_secret`], derived only when it is
    /// first used: most connections never export keying material.
    pub(crate) fn exporter_master_secret_later(
        &self,
        hash_ch_sfin: &[u8; HASH_LEN],
    ) -> ExporterMasterSecret {
        ExporterMasterSecret {
            value: OnceCell::new(),
            pending: Some((self.secret.clone(), *hash_ch_sfin)),
        }
    }

    /// resumption_master_secret = Derive-Secret(., "res master",
    /// ClientHello...client Finished).
    pub fn resumption_master_secret(
        &self,
        hash_ch_cfin: &[u8; HASH_LEN],
    ) -> ResumptionMasterSecret {
        ResumptionMasterSecret(self.prk.derive_secret(b"res master", hash_ch_cfin))
    }
}

/// (early_)exporter_master_secret, the input of TLS-Exporter (RFC 8446 §7.5). It may be
/// held as the master secret and transcript hash it comes from, and derived on first use.
#[derive(Debug)]
pub struct ExporterMasterSecret {
    value: OnceCell<Secret>,
    /// The master secret and the hash of ClientHello..server Finished, until derived.
    pending: Option<(Secret, [u8; HASH_LEN])>,
}

impl ExporterMasterSecret {
    fn derived(secret: Secret) -> Self {
        Self {
            value: OnceCell::from(secret),
            pending: None,
        }
    }

    /// The secret itself, for key logs and tests.
    pub fn secret(&self) -> &Secret {
        self.value.get_or_init(|| match &self.pending {
            Some((master, hash)) => derive_secret_fixed(master, b"exp master", hash),
            None => unreachable!("an exporter secret is either derived or pending"),
        })
    }

    /// RFC 8446 §7.5: TLS-Exporter(label, context_value, key_length) =
    /// HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter", Hash(context_value),
    /// key_length), writing `out.len()` bytes. TLS 1.3 makes no difference between an empty
    /// and an absent context.
    pub fn export_keying_material(
        &self,
        label: &[u8],
        context: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        let per_label = derive_secret(self.secret(), label, &EMPTY_HASH)?;
        let context_hash: [u8; HASH_LEN] = Sha256::digest(context).into();
        hkdf_expand_label_into(&per_label, b"exporter", &context_hash, out)
    }
}

/// resumption_master_secret, from which ticket PSKs are derived (RFC 8446 §4.6.1).
#[derive(Debug)]
pub struct ResumptionMasterSecret(Secret);

impl ResumptionMasterSecret {
    /// The secret itself, for traces and tests.
    pub fn secret(&self) -> &Secret {
        &self.0
    }

    /// RFC 8446 §4.6.1: the PSK of a ticket =
    /// HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length).
    /// Fails only for a nonce longer than 255 bytes, which no decoded ticket has.
    pub fn ticket_psk(&self, ticket_nonce: &[u8]) -> Result<Secret, Error> {
        expand_label_to_secret(&self.0, b"resumption", ticket_nonce)
    }
}

/// RFC 8446 §7.2: application_traffic_secret_N+1 =
/// HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length), for
/// KeyUpdate.
pub fn next_traffic_secret(current: &Secret) -> Secret {
    Secret::from_bytes(expand_label_fixed(current, b"traffic upd", &[]))
}

/// Key and IV of one direction under one cipher suite (RFC 8446 §7.3), wiped when
/// dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TrafficKeys {
    #[zeroize(skip)]
    suite: SupportedSuite,
    /// The first `suite.key_len()` bytes are the key; the rest stays zero.
    key: [u8; 32],
    iv: [u8; 12],
}

impl TrafficKeys {
    /// RFC 8446 §7.3: write_key = HKDF-Expand-Label(Secret, "key", "", key_length) and
    /// write_iv = HKDF-Expand-Label(Secret, "iv", "", iv_length): a 32-byte key for
    /// ChaCha20-Poly1305, 16 bytes for AES-128-GCM, and a 12-byte IV for both.
    pub fn derive(suite: SupportedSuite, traffic_secret: &Secret) -> Self {
        Self::derive_under(suite, &Prk::new(traffic_secret))
    }

    fn derive_under(suite: SupportedSuite, prk: &Prk) -> Self {
        let mut key = [0u8; 32];
        match suite {
            SupportedSuite::Chacha20Poly1305Sha256 => key = prk.expand_label_fixed(b"key", &[]),
            SupportedSuite::Aes128GcmSha256 => {
                let short: [u8; 16] = prk.expand_label_fixed(b"key", &[]);
                key[..16].copy_from_slice(&short);
            }
        }
        Self {
            suite,
            key,
            iv: prk.expand_label_fixed(b"iv", &[]),
        }
    }

    /// [`Self::derive`] and, under the same keyed HMAC, the secret's finished_key
    /// (RFC 8446 §4.4.4): what a handshake traffic secret is used for.
    pub(crate) fn derive_with_finished_key(
        suite: SupportedSuite,
        secret: &Secret,
    ) -> (Self, Secret) {
        let prk = Prk::new(secret);
        let keys = Self::derive_under(suite, &prk);
        (
            keys,
            Secret::from_bytes(prk.expand_label_fixed(b"finished", &[])),
        )
    }

    /// ChaCha20-Poly1305 keys given directly, for test vectors.
    pub fn from_parts(key: [u8; 32], iv: [u8; 12]) -> Self {
        Self {
            suite: SupportedSuite::Chacha20Poly1305Sha256,
            key,
            iv,
        }
    }

    /// AES-128-GCM keys given directly, for test vectors.
    pub fn aes_128_gcm_from_parts(key: [u8; 16], iv: [u8; 12]) -> Self {
        let mut full = [0u8; 32];
        full[..16].copy_from_slice(&key);
        Self {
            suite: SupportedSuite::Aes128GcmSha256,
            key: full,
            iv,
        }
    }

    /// The suite these keys are for.
    pub fn suite(&self) -> SupportedSuite {
        self.suite
    }

    /// The AEAD key, `suite().key_len()` bytes.
    pub fn key(&self) -> &[u8] {
        &self.key[..self.suite.key_len()]
    }

    /// The static IV, XORed with the sequence number to form each nonce (§5.3).
    pub fn iv(&self) -> &[u8; 12] {
        &self.iv
    }
}

impl fmt::Debug for TrafficKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TrafficKeys(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_chain_and_labels_differ() {
        let early = EarlySecret::new(None);
        let hs = early.into_handshake_secret(Some(&[5; 32]));
        let c = hs.client_handshake_traffic_secret(&[1; 32]);
        let s = hs.server_handshake_traffic_secret(&[1; 32]);
        assert_ne!(c.as_bytes(), s.as_bytes());
        let master = hs.into_master_secret();
        let c_ap = master.client_application_traffic_secret_0(&[2; 32]);
        assert_ne!(c_ap.as_bytes(), next_traffic_secret(&c_ap).as_bytes());
    }

    #[test]
    fn exporter_depends_on_label_context_and_length() {
        let master = EarlySecret::new(None)
            .into_handshake_secret(None)
            .into_master_secret();
        let exporter = master.exporter_master_secret(&[3; 32]);
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        let mut c = [0u8; 16];
        exporter
            .export_keying_material(b"EXPORTER-a", b"", &mut a)
            .expect("valid label");
        exporter
            .export_keying_material(b"EXPORTER-b", b"", &mut b)
            .expect("valid label");
        exporter
            .export_keying_material(b"EXPORTER-a", b"", &mut c)
            .expect("valid label");
        assert_ne!(a, b);
        assert_ne!(a[..16], c, "the length is part of HkdfLabel");
        assert_eq!(
            exporter.export_keying_material(&[b'x'; 250], b"", &mut a),
            Err(crate::error::InternalError::HkdfLabel("label must be 1 to 249 bytes").into())
        );
    }

    #[test]
    fn shortcuts_give_the_general_derivations() {
        let master = EarlySecret::new(None)
            .into_handshake_secret(Some(&[6; 32]))
            .into_master_secret();
        let hash = [8; 32];
        // An exporter secret derived on first use is the one derived at once.
        let later = master.exporter_master_secret_later(&hash);
        let now = master.exporter_master_secret(&hash);
        let general = derive_secret(master.secret(), b"exp master", &hash).expect("valid label");
        assert_eq!(later.secret().as_bytes(), general.as_bytes());
        assert_eq!(now.secret().as_bytes(), general.as_bytes());
        // The finished_key derived with the traffic keys is §4.4.4's.
        let secret = Secret::from_bytes([5; 32]);
        let suite = SupportedSuite::Chacha20Poly1305Sha256;
        let (keys, finished) = TrafficKeys::derive_with_finished_key(suite, &secret);
        assert_eq!(finished.as_bytes(), finished_key(&secret).as_bytes());
        assert_eq!(keys.key(), TrafficKeys::derive(suite, &secret).key());
    }

    #[test]
    fn no_psk_constants_are_the_key_schedule() {
        let early = hkdf_extract(&ZEROS, &ZEROS);
        assert_eq!(early.as_bytes(), &EARLY_SECRET_NO_PSK);
        let derived = derive_secret(&early, b"derived", &EMPTY_HASH).expect("valid label");
        assert_eq!(derived.as_bytes(), &DERIVED_NO_PSK);
        // The shortcut gives what the general path gives.
        let ecdhe = [9u8; 32];
        let general = hkdf_extract(derived.as_bytes(), &ecdhe);
        let hs = EarlySecret::new(None).into_handshake_secret(Some(&ecdhe));
        assert_eq!(hs.secret().as_bytes(), general.as_bytes());
        // A zero-filled PSK gives the same Early Secret, and the same path.
        let with_zero_psk = EarlySecret::new(Some(&ZEROS)).into_handshake_secret(Some(&ecdhe));
        assert_eq!(with_zero_psk.secret().as_bytes(), general.as_bytes());
    }

    #[test]
    fn traffic_keys_are_expand_label_of_key_and_iv() {
        let secret = Secret::from_bytes([4; 32]);
        let keys = TrafficKeys::derive(SupportedSuite::Chacha20Poly1305Sha256, &secret);
        let key = hkdf_expand_label(&secret, b"key", &[], 32).expect("valid label");
        let iv = hkdf_expand_label(&secret, b"iv", &[], 12).expect("valid label");
        assert_eq!(keys.key(), &key[..]);
        assert_eq!(keys.iv(), &iv[..]);
        // §7.3: key_length is the suite's; HKDF-Expand-Label's length is in its info, so
        // the 16-byte key is not a prefix of the 32-byte one.
        let aes = TrafficKeys::derive(SupportedSuite::Aes128GcmSha256, &secret);
        let key16 = hkdf_expand_label(&secret, b"key", &[], 16).expect("valid label");
        assert_eq!(aes.key(), &key16[..]);
        assert_ne!(aes.key(), &key[..16]);
        assert_eq!(aes.iv(), keys.iv());
    }

    #[test]
    fn secrets_do_not_print() {
        let keys = TrafficKeys::derive(
            SupportedSuite::Aes128GcmSha256,
            &Secret::from_bytes([1; 32]),
        );
        assert_eq!(format!("{keys:?}"), "TrafficKeys(..)");
        assert_eq!(
            format!("{:?}", EarlySecret::new(None)),
            "EarlySecret(Secret(..))"
        );
    }
}
