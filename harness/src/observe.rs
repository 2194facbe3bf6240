//! Watching a connection: every handshake message, derived secret and state transition a
//! side sees, collected through the handshake crate's trace hook (and logged with `-v`).

use std::sync::{Arc, Mutex};

use handshake::{Connection, Direction, TraceEvent};

/// One handshake message as one side saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    /// True when the client sent it.
    pub from_client: bool,
    /// The message name, e.g. `ClientHello`.
    pub name: String,
    /// Its exact bytes, handshake header included.
    pub bytes: Vec<u8>,
    /// Whether it travelled encrypted.
    pub encrypted: bool,
}

/// One secret of the key schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRecord {
    /// Its name.
    pub label: String,
    /// How it was derived.
    pub derivation: String,
    /// Its value.
    pub value: Vec<u8>,
}

/// Everything one side of one connection observed.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// Handshake messages in order.
    pub messages: Vec<MessageRecord>,
    /// Secrets in order of derivation.
    pub secrets: Vec<SecretRecord>,
    /// State transitions taken.
    pub transitions: Vec<(String, String)>,
    /// change_cipher_spec records sent or received (middlebox compatibility mode, RFC 8446
    /// Appendix D.4): records, not handshake messages, so kept apart from `messages`.
    pub change_cipher_specs: Vec<ChangeCipherSpecRecord>,
}

/// A change_cipher_spec record as one side saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChangeCipherSpecRecord {
    /// True when the client sent it.
    pub from_client: bool,
    /// How many handshake messages this side had seen before it.
    pub after_messages: usize,
}

/// Installs an observer on `conn` that fills `sink`; `client_side` says which side `conn` is.
pub fn observe(conn: &mut Connection, client_side: bool) -> Arc<Mutex<Observed>> {
    let sink: Arc<Mutex<Observed>> = Arc::default();
    let shared = sink.clone();
    let side = if client_side { "client" } else { "server" };
    conn.set_observer(Box::new(move |event| {
        log_event(side, event);
        let Ok(mut o) = shared.lock() else { return };
        match event {
            TraceEvent::Message {
                direction,
                message,
                bytes,
                encrypted,
            } => {
                tracing::debug!(
                    side,
                    ?direction,
                    message = message.name(),
                    len = bytes.len(),
                    encrypted,
                    "handshake message"
                );
                o.messages.push(MessageRecord {
                    from_client: (*direction == Direction::Sent) == client_side,
                    name: message.name().to_owned(),
                    bytes: bytes.to_vec(),
                    encrypted: *encrypted,
                });
            }
            TraceEvent::Secret {
                label,
                derivation,
                value,
            } => o.secrets.push(SecretRecord {
                label: (*label).to_owned(),
                derivation: (*derivation).to_owned(),
                value: value.to_vec(),
            }),
            TraceEvent::ChangeCipherSpec { direction } => {
                let record = ChangeCipherSpecRecord {
                    from_client: (*direction == Direction::Sent) == client_side,
                    after_messages: o.messages.len(),
                };
                o.change_cipher_specs.push(record);
            }
            TraceEvent::Transition { from, to } => o
                .transitions
                .push((from.name().to_owned(), to.name().to_owned())),
            _ => {}
        }
    }));
    sink
}

/// Forwards a trace event to `tracing` (shown with `keylab -v`); handshake messages are
/// logged where they are recorded.
fn log_event(side: &str, event: &TraceEvent<'_>) {
    match event {
        TraceEvent::Message { .. } => {}
        TraceEvent::Transition { from, to } => {
            tracing::debug!(side, from = from.name(), to = to.name(), "state")
        }
        TraceEvent::Alert { direction, alert } => {
            tracing::debug!(side, ?direction, %alert, "alert")
        }
        TraceEvent::Secret { label, .. } => tracing::trace!(side, label, "secret derived"),
        TraceEvent::ChangeCipherSpec { direction } => {
            tracing::debug!(
                side,
                ?direction,
                "change_cipher_spec (middlebox compatibility)"
            )
        }
        TraceEvent::Negotiated { suite, group } => {
            let group = group.map_or("none (psk_ke)", |g| g.name());
            tracing::debug!(side, %suite, group, "negotiated")
        }
    }
}
