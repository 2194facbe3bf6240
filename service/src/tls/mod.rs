//! keylab's own TLS 1.3 under the services: an async stream over any tokio transport
//! ([`TlsStream`]), the futures that open one ([`TlsAcceptor`], [`TlsConnector`]), an axum
//! listener that hands each request the peer's identity ([`TlsListener`], [`TlsPeer`]),
//! and a ureq connector so that the blocking clients speak HTTPS too
//! ([`KeylabTlsConnector`]).
//!
//! ```text
//!   TcpListener ─> TlsListener ─(handshake task per connection, bounded)─> axum
//!                    └─ TlsAcceptor::accept(io) ─> TlsStream<io> + PeerIdentity
//!   ureq Agent ─> TcpConnector ─> KeylabTlsConnector ─> handshake::Stream (blocking)
//! ```
//!
//! The handshake itself is the sans-IO [`handshake::Connection`]; this module only moves
//! bytes, reads the clock (certificate validity) and seeds each connection's RNG from the
//! operating system.

mod accept;
mod listener;
mod signer;
mod stream;
mod ureq;

use std::io;

use handshake::msgs::alert::AlertDescription;
use handshake::{Path, Side, Summary};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use time::OffsetDateTime;

pub use self::accept::{HANDSHAKE_TIMEOUT, TlsAcceptor, TlsConnector};
pub use self::listener::{MAX_HANDSHAKES, TlsConnection, TlsListener, TlsPeer};
pub use self::signer::{AsyncSigner, Signing};
pub use self::stream::{MAX_UNREAD_PLAINTEXT, MAX_UNSENT_CIPHERTEXT, TlsStream};
pub use self::ureq::KeylabTlsConnector;

/// Where a connection takes the time from to validate certificates.
pub type Clock = fn() -> OffsetDateTime;

/// Who the peer of a finished handshake proved to be, taken from its [`Summary`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PeerIdentity {
    /// The path the handshake took (`ephemeral-dh`, `certificate`, `psk+dhe`, ...).
    pub path: Path,
    /// The certificate subject the peer proved (e.g. `CN=alice`). On a server: the
    /// client's, on the certificate path (or on resumption of such a session); `None` for
    /// an anonymous client. On a client: the server's leaf.
    pub subject: Option<String>,
    /// Subjects of the peer's chain as validated, leaf first; empty when the peer sent no
    /// certificate.
    pub chain: Vec<String>,
    /// The external PSK identity both sides proved, on the PSK paths (and on resumption
    /// of a PSK session).
    pub psk_identity: Option<String>,
}

impl PeerIdentity {
    /// The peer's identity as `summary` (from either side) reports it.
    pub fn from_summary(summary: &Summary) -> Self {
        let (psk_identity, client_subject) = match &summary.client_identity {
            Some(id) => match id.strip_prefix("psk:") {
                Some(psk) => (Some(psk.to_owned()), None),
                None => (None, Some(id.clone())),
            },
            None => (None, None),
        };
        let (subject, chain) = match summary.side {
            Side::Server => (client_subject, summary.client_chain.clone()),
            Side::Client => (
                summary.server_chain.first().cloned(),
                summary.server_chain.clone(),
            ),
        };
        Self {
            path: summary.path,
            subject,
            chain,
            psk_identity,
        }
    }

    /// Whether the peer proved nothing about itself (a client on the ephemeral-DH path).
    pub fn is_anonymous(&self) -> bool {
        self.subject.is_none() && self.psk_identity.is_none()
    }
}

/// The handshake error inside an `io::Error` from this module, if it carries one.
pub fn tls_error(err: &io::Error) -> Option<&handshake::Error> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<handshake::Error>())
}

/// The alert that ended a connection, from an `io::Error` of this module: the peer's
/// (RFC 8446 §6.2), or the one this side sent for its own error.
pub fn alert_of(err: &io::Error) -> Option<AlertDescription> {
    match tls_error(err)? {
        handshake::Error::PeerAlert(alert) => Some(*alert),
        other => other.alert(),
    }
}

/// An `io::Error` carrying a handshake error: `UnexpectedEof` for a truncated stream,
/// `InvalidData` otherwise.
pub(crate) fn io_error(err: handshake::Error) -> io::Error {
    let kind = match err {
        handshake::Error::Truncated => io::ErrorKind::UnexpectedEof,
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, err)
}

/// A ChaCha20 RNG for one connection, seeded from the operating system.
pub(crate) fn connection_rng() -> io::Result<ChaCha20Rng> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| io::Error::other(format!("no randomness: {e}")))?;
    Ok(ChaCha20Rng::from_seed(seed))
}

/// The real clock.
pub(crate) fn system_clock() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[cfg(test)]
mod tests {
    use handshake::msgs::enums::CipherSuite;

    use super::*;

    fn summary(side: Side, path: Path, client_identity: Option<&str>) -> Summary {
        Summary {
            side,
            path,
            reason: String::new(),
            cipher_suite: CipherSuite::TlsChacha20Poly1305Sha256,
            group: None,
            server_signature: None,
            client_signature: None,
            hello_retry: false,
            server_chain: vec!["CN=localhost".into(), "CN=intermediate".into()],
            client_chain: Vec::new(),
            client_names: Vec::new(),
            client_identity: client_identity.map(str::to_owned),
            server_name: None,
            alpn: None,
            transcript_hash: [0; handshake::key_schedule::HASH_LEN],
        }
    }

    #[test]
    fn a_psk_identity_is_not_a_certificate_subject() {
        let id =
            PeerIdentity::from_summary(&summary(Side::Server, Path::PskDhe, Some("psk:box-7")));
        assert_eq!(id.psk_identity.as_deref(), Some("box-7"));
        assert_eq!(id.subject, None);
        assert!(!id.is_anonymous());
        let id = PeerIdentity::from_summary(&summary(Side::Server, Path::EphemeralDh, None));
        assert!(id.is_anonymous());
    }

    #[test]
    fn a_client_sees_the_server_leaf() {
        let id = PeerIdentity::from_summary(&summary(Side::Client, Path::EphemeralDh, None));
        assert_eq!(id.subject.as_deref(), Some("CN=localhost"));
        assert_eq!(id.chain.len(), 2);
    }
}
