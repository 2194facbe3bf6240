//! A sans-IO TLS 1.3 (RFC 8446) handshake and record layer.
//!
//! This crate never touches a socket or a clock. Bytes from the peer go in, bytes for the
//! peer are appended to a buffer the caller owns, and the caller moves them:
//!
//! ```text
//!            caller (socket, test pair, fuzzer)
//!        bytes in |                     ^ bytes out (appended to a Vec<u8>)
//!                 v                     |
//!   record::RecordDeframer      record::write_plaintext / RecordEncrypter
//!                 |                     ^
//!   record::RecordDecrypter             |
//!                 |                     |
//!   record::HandshakeJoiner             |
//!                 |  Inbound items      |  encoded messages
//!                 v                     |
//!        state machine (to come) -- msgs::HandshakeMessage, key_schedule
//! ```
//!
//! The modules, from the wire up:
//!
//! - [`codec`]: the presentation language of RFC 8446 §3 (a [`codec::Reader`] that names
//!   what it reads and rejects trailing bytes, length-prefixed writers, the
//!   [`codec::Codec`] trait).
//! - [`msgs`]: handshake messages, extensions and alerts (§4, §6), with open enums for
//!   every code point so unknown values survive decode → encode.
//! - [`record`]: record framing, ChaCha20-Poly1305 protection, the deframer and the
//!   handshake message joiner (§5).
//! - [`key_schedule`]: HKDF-Expand-Label, Derive-Secret, the early → handshake → master
//!   typestates, traffic keys, Finished and binders, exporters, KeyUpdate (§7), and the
//!   transcript hash (§4.4.1).
//! - [`error`]: one [`error::Error`] type and the single mapping from errors to alerts.
//!
//! The state machine that ties these together comes later.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
pub mod error;
pub mod key_schedule;
pub mod msgs;
pub mod record;

pub use error::Error;
