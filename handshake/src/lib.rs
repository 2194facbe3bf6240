//! A sans-IO TLS 1.3 (RFC 8446) handshake and record layer, with two ways for a client to
//! take part: anonymously, with ephemeral (EC)DHE only (the
//! **ephemeral-DH path**), or with a certificate whose key it proves it holds (the
//! **certificate path**, mutual TLS). The server authenticates with its certificate; its
//! [`ClientAuth`] policy decides whether it asks the client for one.
//!
//! Both sides may instead already share a key (RFC 8446 §2.2): an [`ExternalPsk`] given out
//! of band (paths `psk+dhe`, and `psk` without (EC)DHE when both opt in), or a ticket from
//! an earlier connection ([`Tickets`] on the server, a [`SessionCache`] on the client; paths
//! `resumption+dhe` and `resumption`). On those paths no certificate is sent: the key
//! authenticates both sides. 0-RTT data is not supported.
//!
//! Algorithms (RFC 8446 §9.1's mandatory ones among them): the cipher suites
//! TLS_CHACHA20_POLY1305_SHA256 and TLS_AES_128_GCM_SHA256 ([`SupportedSuite`]), the
//! groups x25519 and secp256r1 ([`SupportedGroup`]), and the signature schemes ed25519,
//! ecdsa_secp256r1_sha256 and rsa_pss_rsae_sha256. Each configuration orders suites and
//! groups by preference; the server's order decides (§4.1.1).
//!
//! # Calling contract
//!
//! A [`Connection`] never touches a socket or a clock. The caller moves bytes and passes
//! the time:
//!
//! ```text
//!      transport (socket, in-memory pair, fuzzer)
//!         |  bytes from the peer                       ^  bytes for the peer
//!         v                                            |
//!   Connection::process(input, now, &mut out) ---------+  (appends to `out`)
//!   Connection::start(now, &mut out)       (client: the ClientHello)
//!   Connection::send(data, &mut out)       (application data, after the handshake)
//!   Connection::key_update / close(&mut out)
//!         |
//!         v
//!   Connection::next_event() -> HandshakeComplete | ApplicationData | PeerClosed | ...
//!   Connection::summary()    -> path, reason, suite, group, signatures, chains
//!
//!   inside: RecordDeframer -> RecordDecrypter -> HandshakeJoiner -> client / server
//!           state machine (RFC 8446 Appendix A) -> key schedule -> RecordEncrypter
//! ```
//!
//! 1. Create a [`Connection::client`] or [`Connection::server`] with its configuration
//!    and an RNG (seed it for reproducible transcripts).
//! 2. Client: [`Connection::start`] appends the ClientHello; send it.
//! 3. Whenever bytes arrive, call [`Connection::process`], send whatever it appended to
//!    `out` (also when it returns an error: that is the alert), then drain
//!    [`Connection::next_event`].
//! 4. On end of file from the transport call [`Connection::peer_eof`]: an EOF without
//!    close_notify is reported as truncation.
//! 5. A server whose identity is [`Identity::remote`] (its key in an HSM, a key service or
//!    threshold signers) stops after its Certificate, with only ServerHello and
//!    change_cipher_spec in `out` (the encrypted flight is held): when
//!    [`Connection::signature_request`] is `Some`, sign its message elsewhere, call
//!    [`Connection::provide_signature`] (checked against the certificate's key before it
//!    is sent) and send `out`, the whole encrypted flight; or give up with
//!    [`Connection::signature_failed`]. Local keys
//!    sign inline as before.
//!
//! [`Stream`] wraps this loop around any `Read + Write` for blocking sockets
//! ([`Stream::with_signer`] for a remote key).
//!
//! # Watching a connection
//!
//! [`Connection::set_observer`] receives every [`TraceEvent`] in order: each handshake
//! message, state transition and alert, and everything needed to recompute the key
//! schedule by hand — the (EC)DHE exchange ([`TraceEvent::KeyExchange`]), each secret with
//! its HKDF inputs ([`SecretInputs`]; transcript hashes name the messages they cover,
//! [`TranscriptHash`]), each Finished and PSK binder with its finished_key, the
//! HelloRetryRequest's message_hash rule, and the traffic secrets after each KeyUpdate.
//! These events carry private key material: print them only where a connection protects
//! nothing (keylab's `demo`).
//!
//! # Modules, from the wire up
//!
//! - [`codec`]: the presentation language of RFC 8446 §3.
//! - [`msgs`]: handshake messages, extensions and alerts (§4, §6), with open enums.
//! - [`record`]: record framing, ChaCha20-Poly1305 and AES-128-GCM protection, deframer
//!   and joiner (§5); each protected flight goes out as one record.
//! - [`key_schedule`]: HKDF-Expand-Label, Derive-Secret, the secret typestates (§7).
//! - [`states`]: the Appendix A state machines as data: typed state names whose `Display`
//!   is the RFC spelling, and the transition tables.
//! - [`auth`]: signature schemes, CertificateVerify, peer chain validation via `pki`.
//! - [`binders`]: the PSK binders of a recorded ClientHello and the binder a candidate PSK
//!   gives (the offline test a weak PSK falls to).
//! - [`psk`], [`tickets`], [`session`]: external PSKs and PSK files, server tickets,
//!   client sessions.
//! - [`error`]: one [`Error`] type and the single mapping from errors to alerts.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod algorithms;
pub mod auth;
pub mod binders;
pub mod codec;
mod config;
mod conn;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod key_schedule;
pub mod msgs;
pub mod psk;
pub mod record;
pub mod session;
pub mod states;
mod stream;
mod summary;
pub mod tickets;

pub use algorithms::{SupportedGroup, SupportedSuite};
pub use auth::Side;
pub use config::{
    ClientAuth, ClientConfig, ConfigError, Identity, KeyLog, ServerConfig, keylog_line,
};
pub use conn::trace::{
    Direction, HkdfContext, MESSAGE_HASH, NamedValue, Observer, PARTIAL_CLIENT_HELLO, SecretInputs,
    TraceEvent, TranscriptHash,
};
pub use conn::{Connection, Event, SignatureRequest, TlsRng};
pub use error::Error;
pub use psk::ExternalPsk;
pub use session::{Session, SessionCache};
pub use stream::{Signer, Stream};
pub use summary::{Path, Summary};
pub use tickets::Tickets;
