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
use crate::conn::trace::{
    Direction, HkdfContext, NamedValue, SecretInputs, TraceEvent, TranscriptHash,
};
use crate::error::{Error, Invalid, Verification};
use crate::key_schedule::{
    EMPTY_HASH, EarlySecret, ExporterMasterSecret, HASH_LEN, HandshakeSecret, MasterSecret,
    ResumptionMasterSecret, Secret, check_verify_data_keyed, derive_secret, finished_key,
    verify_data, verify_data_keyed,
};

/// 32 zero bytes: the salt of the Early Secret and the IKM where there is no PSK, no
/// (EC)DHE, or (Master Secret) nothing (RFC 8446 §7.1).
const ZEROS: [u8; HASH_LEN] = [0; HASH_LEN];

/// A named input for the trace.
fn named<'a>(name: &'a str, value: &'a [u8]) -> NamedValue<'a> {
    NamedValue { name, value }
}

/// A Derive-Secret's inputs: `secret`, `label` and the transcript hash of `messages`.
fn derive<'a>(
    secret: NamedValue<'a>,
    label: &'static str,
    messages: &'a [&'static str],
    hash: &'a [u8],
) -> SecretInputs<'a> {
    SecretInputs::ExpandLabel {
        secret,
        label,
        context: HkdfContext::Transcript(TranscriptHash { messages, hash }),
        length: HASH_LEN,
    }
}

/// The (EC)DHE exchange behind a handshake: our key, the peer's share and the result.
pub(crate) struct Ecdhe<'a> {
    pub key: &'a EphemeralKey,
    pub peer: &'a [u8],
    pub shared: &'a [u8],
}

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

    /// The private key's bytes, for the trace: the X25519 scalar as drawn, or the P-256
    /// scalar big-endian.
    fn private_bytes(&self) -> Zeroizing<Vec<u8>> {
        match self {
            Self::X25519(key) => Zeroizing::new(key.to_bytes().to_vec()),
            Self::Secp256r1(key) => Zeroizing::new(key.to_bytes().to_vec()),
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
    ecdhe: Option<Ecdhe<'_>>,
    hash: &[u8; HASH_LEN],
) -> HandshakeSecrets {
    let shared = ecdhe.as_ref().map(|e| e.shared);
    if let Some(e) = &ecdhe {
        let group = e.key.group();
        if core.tracing() {
            let private_key = e.key.private_bytes();
            let public_key = e.key.share().key_exchange;
            core.trace(&TraceEvent::KeyExchange {
                group,
                private_key: &private_key,
                public_key: &public_key,
                peer_public_key: e.peer,
                shared_secret: e.shared,
            });
        }
        core.secret(
            "ecdhe_shared_secret",
            e.key.derivation(),
            None,
            e.shared,
            SecretInputs::KeyExchange { group },
        );
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
        SecretInputs::Extract {
            salt: named("zeros", &ZEROS),
            ikm: psk.map_or(named("zeros", &ZEROS), |p| named("PSK", p)),
        },
    );
    let derived = trace_derived(
        core,
        early.secret(),
        "early_secret",
        "derived_from_early_secret",
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
        SecretInputs::Extract {
            salt: named("derived_from_early_secret", &derived),
            ikm: shared.map_or(named("zeros", &ZEROS), |s| named("ecdhe_shared_secret", s)),
        },
    );
    let client = hs.client_handshake_traffic_secret(hash);
    let server = hs.server_handshake_traffic_secret(hash);
    let messages = core.transcript_messages();
    let input = named("handshake_secret", hs.secret().as_bytes());
    core.secret(
        "client_handshake_traffic_secret",
        "Derive-Secret(handshake_secret, \"c hs traffic\", CH..SH)",
        Some("CLIENT_HANDSHAKE_TRAFFIC_SECRET"),
        client.as_bytes(),
        derive(input, "c hs traffic", &messages, hash),
    );
    core.secret(
        "server_handshake_traffic_secret",
        "Derive-Secret(handshake_secret, \"s hs traffic\", CH..SH)",
        Some("SERVER_HANDSHAKE_TRAFFIC_SECRET"),
        server.as_bytes(),
        derive(input, "s hs traffic", &messages, hash),
    );
    HandshakeSecrets {
        secret: hs,
        client,
        server,
    }
}

/// Derive-Secret(`secret`, "derived", ""), the salt of the next HKDF-Extract, reported to
/// the trace as `label`. The key schedule computes it on its own; this copy exists only
/// for the trace (empty when nobody observes).
fn trace_derived(core: &mut Core, secret: &Secret, name: &str, label: &'static str) -> Vec<u8> {
    if !core.tracing() {
        return Vec::new();
    }
    let Ok(derived) = derive_secret(secret, b"derived", &EMPTY_HASH) else {
        return Vec::new();
    };
    core.secret(
        label,
        "Derive-Secret(., \"derived\", \"\")",
        None,
        derived.as_bytes(),
        derive(named(name, secret.as_bytes()), "derived", &[], &EMPTY_HASH),
    );
    derived.as_bytes().to_vec()
}

/// Derives the master secret and what comes from it, from the transcript through the
/// server's Finished (`hash`, over `messages`).
pub(crate) fn derive_app_secrets(
    core: &mut Core,
    hs: HandshakeSecret,
    hash: &[u8; HASH_LEN],
    messages: &[&'static str],
) -> AppSecrets {
    let derived = trace_derived(
        core,
        hs.secret(),
        "handshake_secret",
        "derived_from_handshake_secret",
    );
    let master = hs.into_master_secret();
    core.secret(
        "master_secret",
        "HKDF-Extract(Derive-Secret(handshake_secret, \"derived\", \"\"), 0)",
        None,
        master.secret().as_bytes(),
        SecretInputs::Extract {
            salt: named("derived_from_handshake_secret", &derived),
            ikm: named("zeros", &ZEROS),
        },
    );
    let client = master.client_application_traffic_secret_0(hash);
    let server = master.server_application_traffic_secret_0(hash);
    // Derived when first used (an export, the trace or the key log), not on every
    // connection.
    let exporter = master.exporter_master_secret_later(hash);
    let input = named("master_secret", master.secret().as_bytes());
    core.secret(
        "client_application_traffic_secret_0",
        "Derive-Secret(master_secret, \"c ap traffic\", CH..server Finished)",
        Some("CLIENT_TRAFFIC_SECRET_0"),
        client.as_bytes(),
        derive(input, "c ap traffic", messages, hash),
    );
    core.secret(
        "server_application_traffic_secret_0",
        "Derive-Secret(master_secret, \"s ap traffic\", CH..server Finished)",
        Some("SERVER_TRAFFIC_SECRET_0"),
        server.as_bytes(),
        derive(input, "s ap traffic", messages, hash),
    );
    if core.wants_secrets() {
        core.secret(
            "exporter_master_secret",
            "Derive-Secret(master_secret, \"exp master\", CH..server Finished)",
            Some("EXPORTER_SECRET"),
            exporter.secret().as_bytes(),
            derive(input, "exp master", messages, hash),
        );
    }
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
    let hash = core.transcript_hash();
    let secret = master.resumption_master_secret(&hash);
    let messages = core.transcript_messages();
    core.secret(
        "resumption_master_secret",
        "Derive-Secret(master_secret, \"res master\", CH..client Finished)",
        None,
        secret.secret().as_bytes(),
        derive(
            named("master_secret", master.secret().as_bytes()),
            "res master",
            &messages,
            &hash,
        ),
    );
    secret
}

/// A ticket's PSK (RFC 8446 §4.6.1), reported to the trace.
pub(crate) fn trace_ticket_psk(
    core: &mut Core,
    resumption: &ResumptionMasterSecret,
    nonce: &[u8],
    psk: &Secret,
) {
    core.secret(
        "ticket PSK",
        "HKDF-Expand-Label(resumption_master_secret, \"resumption\", ticket_nonce, 32)",
        None,
        psk.as_bytes(),
        SecretInputs::ExpandLabel {
            secret: named("resumption_master_secret", resumption.secret().as_bytes()),
            label: "resumption",
            context: HkdfContext::TicketNonce(nonce),
            length: HASH_LEN,
        },
    );
}

/// Who sent a Finished, and under which key.
#[derive(Clone, Copy)]
pub(crate) struct FinishedOf<'a> {
    /// Whose Finished: the client's or the server's.
    pub from_client: bool,
    /// The sender's handshake traffic secret.
    pub base_key: &'a Secret,
}

impl FinishedOf<'_> {
    fn base_name(&self) -> &'static str {
        if self.from_client {
            "client_handshake_traffic_secret"
        } else {
            "server_handshake_traffic_secret"
        }
    }
}

/// The verify_data of our Finished over the transcript so far (RFC 8446 §4.4.4), reported
/// to the trace.
pub(crate) fn our_verify_data(core: &mut Core, of: FinishedOf<'_>) -> [u8; HASH_LEN] {
    let hash = core.transcript_hash();
    let verify = verify_data_keyed(&core.finished_key(of.base_key), &hash);
    if core.tracing() {
        let messages = core.transcript_messages();
        trace_finished(core, Direction::Sent, of, &messages, &hash, &verify);
    }
    verify
}

/// Checks the peer's Finished against the transcript before it (`hash`), reporting the
/// expected verify_data to the trace first (RFC 8446 §4.4.4).
pub(crate) fn check_peer_finished(
    core: &mut Core,
    of: FinishedOf<'_>,
    hash: &[u8; HASH_LEN],
    received: &[u8],
) -> Result<(), Error> {
    if core.tracing() {
        let mut messages = core.transcript_messages();
        // The Finished itself is already in the transcript.
        messages.pop();
        let expected = verify_data(of.base_key, hash);
        trace_finished(core, Direction::Received, of, &messages, hash, &expected);
    }
    let key = core.finished_key(of.base_key);
    check_verify_data_keyed(&key, hash, received, Verification::Finished)
}

fn trace_finished(
    core: &mut Core,
    direction: Direction,
    of: FinishedOf<'_>,
    messages: &[&'static str],
    hash: &[u8; HASH_LEN],
    verify: &[u8],
) {
    let key = finished_key(of.base_key);
    core.trace(&TraceEvent::Finished {
        direction,
        from_client: of.from_client,
        base_key: named(of.base_name(), of.base_key.as_bytes()),
        finished_key: key.as_bytes(),
        transcript: TranscriptHash { messages, hash },
        verify_data: verify,
    });
}
