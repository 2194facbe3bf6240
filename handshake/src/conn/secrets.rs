//! The key schedule as the connection drives it (RFC 8446 §7.1): X25519, the handshake
//! and application secrets, each reported to the trace and key log.

use x25519_dalek::{PublicKey as X25519Public, StaticSecret};
use zeroize::Zeroizing;

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

/// X25519 with the peer's share; refuses malformed shares and the all-zero result of a
/// low-order point (RFC 8446 §7.4.2, RFC 7748 §6.1), both illegal_parameter.
pub(crate) fn key_exchange(
    secret: &StaticSecret,
    peer: &[u8],
    message: &'static str,
) -> Result<Zeroizing<[u8; 32]>, Error> {
    let bytes: [u8; 32] = peer.try_into().map_err(|_| Error::InvalidMessage {
        message,
        reason: Invalid::KeyShareLength(peer.len()),
    })?;
    let shared = secret.diffie_hellman(&X25519Public::from(bytes));
    if !shared.was_contributory() {
        return Err(Error::InvalidMessage {
            message,
            reason: Invalid::LowOrderKeyShare,
        });
    }
    Ok(Zeroizing::new(shared.to_bytes()))
}

/// Derives the handshake secrets from the PSK (if any), the ECDHE result (if any) and the
/// CH..SH transcript hash, reporting each to the trace and key log (RFC 8446 §7.1).
pub(crate) fn handshake_secrets(
    core: &mut Core,
    psk: Option<&[u8]>,
    shared: Option<&[u8]>,
    hash: &[u8; HASH_LEN],
) -> HandshakeSecrets {
    if let Some(shared) = shared {
        core.secret(
            "ecdhe_shared_secret",
            "X25519(own ephemeral private key, peer key_share)",
            None,
            shared,
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
