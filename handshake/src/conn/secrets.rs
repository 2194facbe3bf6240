//! The key schedule as the connection drives it (RFC 8446 §7.1): the (EC)DHE exchange
//! (x25519 or secp256r1), the handshake and application secrets, each reported to the
//! trace and key log.

use p256::elliptic_curve::sec1::ToSec1Point;
use x25519_dalek::{PublicKey as X25519Public, StaticSecret};
use zeroize::Zeroizing;

use crate::algorithms::SupportedGroup;
use crate::msgs::enums::NamedGroup;
use crate::msgs::extensions::KeyShareEntry;

use crate::conn::core::Core;
use crate::error::{Error, Invalid};
use crate::key_schedule::{
    EarlySecret, ExporterMasterSecret, HASH_LEN, HandshakeSecret, MasterSecret,
    ResumptionMasterSecret, Secret,
};

/// The application traffic secrets and the exporter secret (RFC 8446 §7.1), and the
/// master secret for the resumption secret to come.
pub(crate) struct AppSecrets {
    pub client: Secret,
    pub server: Secret,
    pub exporter: ExporterMasterSecret,
    pub master: MasterSecret,
}

/// The handshake secret and the two handshake traffic secrets from it (RFC 8446 §7.1).
pub(crate) struct HandshakeSecrets {
    /// What the master secret is derived from, after the server's Finished.
    pub secret: HandshakeSecret,
    /// client_handshake_traffic_secret.
    pub client: Secret,
    /// server_handshake_traffic_secret.
    pub server: Secret,
}

/// An ephemeral (EC)DHE private key of one group (RFC 8446 §4.2.8), drawn from the
/// connection's RNG so that seeded runs repeat.
pub(crate) enum EphemeralKey {
    X25519(StaticSecret),
    Secp256r1(p256::SecretKey),
}

impl EphemeralKey {
    /// A fresh key for `group`.
    pub fn generate(group: SupportedGroup, core: &mut Core) -> Self {
        match group {
            SupportedGroup::X25519 => Self::X25519(StaticSecret::from(core.random::<32>())),
            // A scalar in [1, n-1]: 32 random bytes, drawn again in the (about 2^-32)
            // case that they are zero or not below the group order n.
            SupportedGroup::Secp256r1 => loop {
                let bytes = Zeroizing::new(core.random::<32>());
                if let Ok(key) = p256::SecretKey::from_slice(&bytes[..]) {
                    break Self::Secp256r1(key);
                }
            },
        }
    }

    /// The group of this key.
    pub fn group(&self) -> SupportedGroup {
        match self {
            Self::X25519(_) => SupportedGroup::X25519,
            Self::Secp256r1(_) => SupportedGroup::Secp256r1,
        }
    }

    /// The key_exchange of our KeyShareEntry: the 32-byte u-coordinate for x25519, the
    /// 65-byte uncompressed point for secp256r1 (RFC 8446 §4.2.8.2).
    pub fn share(&self) -> KeyShareEntry {
        let key_exchange = match self {
            Self::X25519(key) => X25519Public::from(key).to_bytes().to_vec(),
            Self::Secp256r1(key) => key.public_key().to_sec1_point(false).as_bytes().to_vec(),
        };
        KeyShareEntry {
            group: self.group().group(),
            key_exchange,
        }
    }

    /// The shared secret with the peer's share (RFC 8446 §7.4), after the checks of
    /// §4.2.8.2 and §7.4.2; a malformed share is illegal_parameter.
    pub fn agree(&self, peer: &[u8], message: &'static str) -> Result<Zeroizing<[u8; 32]>, Error> {
        let invalid = |reason| Error::InvalidMessage { message, reason };
        match self {
            Self::X25519(key) => {
                let bytes: [u8; 32] = peer
                    .try_into()
                    .map_err(|_| invalid(share_length(NamedGroup::X25519, peer, 32)))?;
                let shared = key.diffie_hellman(&X25519Public::from(bytes));
                // §7.4.2, RFC 7748 §6.1: the all-zero result of a low-order point.
                if !shared.was_contributory() {
                    return Err(invalid(Invalid::LowOrderKeyShare));
                }
                Ok(Zeroizing::new(shared.to_bytes()))
            }
            Self::Secp256r1(key) => {
                let point = p256_point(peer).map_err(invalid)?;
                // §7.4.1: the shared secret is the x-coordinate, 32 bytes.
                let shared = key.diffie_hellman(&point);
                let mut out = Zeroizing::new([0u8; 32]);
                out.copy_from_slice(shared.raw_secret_bytes());
                Ok(out)
            }
        }
    }

    /// How the shared secret is computed, for the trace.
    fn derivation(&self) -> &'static str {
        match self {
            Self::X25519(_) => "X25519(own ephemeral private key, peer key_share)",
            Self::Secp256r1(_) => "ECDH-P256(own ephemeral private key, peer key_share).x",
        }
    }
}

/// RFC 8446 §4.2.8.2: a secp256r1 share is `04 || X || Y` (65 bytes) and "peers MUST
/// validate each other's public value Q by ensuring that the point is a valid point on
/// the elliptic curve"; the identity has no place there either.
fn p256_point(peer: &[u8]) -> Result<p256::PublicKey, Invalid> {
    if peer.len() != 65 {
        return Err(share_length(NamedGroup::Secp256r1, peer, 65));
    }
    if peer[0] != 0x04 {
        return Err(Invalid::PointNotUncompressed(peer[0]));
    }
    // (0, 0), the affine stand-in some encoders use for the point at infinity.
    if peer[1..].iter().all(|b| *b == 0) {
        return Err(Invalid::PointAtInfinity);
    }
    p256::PublicKey::from_sec1_bytes(peer).map_err(|_| Invalid::PointNotOnCurve)
}

fn share_length(group: NamedGroup, peer: &[u8], expected: usize) -> Invalid {
    Invalid::KeyShareLength {
        group,
        len: peer.len(),
        expected,
    }
}

/// Derives the handshake secrets from the PSK (if any), the ECDHE result (if any) and the
/// CH..SH transcript hash, reporting each to the trace and key log (RFC 8446 §7.1).
pub(crate) fn handshake_secrets(
    core: &mut Core,
    psk: Option<&[u8]>,
    ecdhe: Option<(&EphemeralKey, &[u8])>,
    hash: &[u8; HASH_LEN],
) -> HandshakeSecrets {
    let shared = ecdhe.map(|(_, shared)| shared);
    if let Some((key, shared)) = ecdhe {
        core.secret("ecdhe_shared_secret", key.derivation(), None, shared);
    }
    let early = EarlySecret::new(psk);
    core.secret(
        "early_secret",
        if psk.is_some() {
            "HKDF-Extract(salt 0, IKM PSK)"
        } else {
            "HKDF-Extract(salt 0, IKM 0) (no PSK)"
        },
        None,
        early.secret().as_bytes(),
    );
    let hs = early.into_handshake_secret(shared);
    core.secret(
        "handshake_secret",
        if shared.is_some() {
            "HKDF-Extract(Derive-Secret(early_secret, \"derived\", \"\"), ECDHE)"
        } else {
            "HKDF-Extract(Derive-Secret(early_secret, \"derived\", \"\"), 0) (psk_ke: no ECDHE)"
        },
        None,
        hs.secret().as_bytes(),
    );
    let client = hs.client_handshake_traffic_secret(hash);
    let server = hs.server_handshake_traffic_secret(hash);
    core.secret(
        "client_handshake_traffic_secret",
        "Derive-Secret(handshake_secret, \"c hs traffic\", CH..SH)",
        Some("CLIENT_HANDSHAKE_TRAFFIC_SECRET"),
        client.as_bytes(),
    );
    core.secret(
        "server_handshake_traffic_secret",
        "Derive-Secret(handshake_secret, \"s hs traffic\", CH..SH)",
        Some("SERVER_HANDSHAKE_TRAFFIC_SECRET"),
        server.as_bytes(),
    );
    HandshakeSecrets {
        secret: hs,
        client,
        server,
    }
}

/// Derives the master secret and what comes from it, from the transcript through the
/// server's Finished.
pub(crate) fn derive_app_secrets(
    core: &mut Core,
    hs: HandshakeSecret,
    hash: &[u8; HASH_LEN],
) -> AppSecrets {
    let master = hs.into_master_secret();
    core.secret(
        "master_secret",
        "HKDF-Extract(Derive-Secret(handshake_secret, \"derived\", \"\"), 0)",
        None,
        master.secret().as_bytes(),
    );
    let client = master.client_application_traffic_secret_0(hash);
    let server = master.server_application_traffic_secret_0(hash);
    let exporter = master.exporter_master_secret(hash);
    core.secret(
        "client_application_traffic_secret_0",
        "Derive-Secret(master_secret, \"c ap traffic\", CH..server Finished)",
        Some("CLIENT_TRAFFIC_SECRET_0"),
        client.as_bytes(),
    );
    core.secret(
        "server_application_traffic_secret_0",
        "Derive-Secret(master_secret, \"s ap traffic\", CH..server Finished)",
        Some("SERVER_TRAFFIC_SECRET_0"),
        server.as_bytes(),
    );
    core.secret(
        "exporter_master_secret",
        "Derive-Secret(master_secret, \"exp master\", CH..server Finished)",
        Some("EXPORTER_SECRET"),
        exporter.secret().as_bytes(),
    );
    AppSecrets {
        client,
        server,
        exporter,
        master,
    }
}

/// resumption_master_secret, from the transcript through the client's Finished (RFC 8446
/// §7.1), reported to the trace.
pub(crate) fn resumption_secret(core: &mut Core, master: &MasterSecret) -> ResumptionMasterSecret {
    let secret = master.resumption_master_secret(&core.transcript_hash());
    core.secret(
        "resumption_master_secret",
        "Derive-Secret(master_secret, \"res master\", CH..client Finished)",
        None,
        secret.secret().as_bytes(),
    );
    secret
}
