//! Watching a connection: every handshake message, derived secret and state transition a
//! side sees, collected through the handshake crate's trace hook (and logged with `-v`).
//!
//! [`Observed`] holds private key material (ephemeral private keys, shared secrets, every
//! secret of the key schedule): print it only in `keylab demo`, whose connections protect
//! nothing. The `-v` log (`log_event`) never includes a private key, the shared secret
//! or a secret's value.

use std::sync::{Arc, Mutex};

use handshake::{
    Connection, Direction, HkdfContext, NamedValue, SecretInputs, TraceEvent, TranscriptHash,
};
use serde::Serialize;

/// One handshake message as one side saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecretRecord {
    /// Its name, e.g. `client_handshake_traffic_secret`, `derived_from_early_secret`,
    /// `client_application_traffic_secret_1` (after a KeyUpdate).
    pub label: String,
    /// How it was derived, in words.
    pub derivation: String,
    /// Its value.
    pub value: Vec<u8>,
    /// What recomputes it.
    pub inputs: SecretInputsRecord,
    /// How many handshake messages this side had seen (sent or received) when it was
    /// derived: it comes right after message number `after_messages` (1-based).
    pub after_messages: usize,
}

/// A named input of a key-schedule step: `zeros`, `PSK`, `ecdhe_shared_secret` or the
/// label of an earlier [`SecretRecord`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NamedBytes {
    /// What it is.
    pub name: String,
    /// Its bytes.
    pub value: Vec<u8>,
}

/// A transcript hash and what it covers (RFC 8446 §4.4.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TranscriptRecord {
    /// The messages in order; see [`handshake::TranscriptHash::messages`] (after a
    /// HelloRetryRequest the first is [`handshake::MESSAGE_HASH`]; a binder's last is
    /// [`handshake::PARTIAL_CLIENT_HELLO`]). Empty for the hash of no messages.
    pub messages: Vec<String>,
    /// The messages in words, e.g. `ClientHello..ServerHello`.
    pub covers: String,
    /// The SHA-256 value.
    pub hash: Vec<u8>,
}

/// The context of an HKDF-Expand-Label (RFC 8446 §7.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ContextRecord {
    /// Derive-Secret's Transcript-Hash(Messages).
    TranscriptHash(TranscriptRecord),
    /// The empty string ("traffic upd").
    Empty,
    /// A NewSessionTicket's ticket_nonce ("resumption").
    TicketNonce {
        /// The nonce.
        nonce: Vec<u8>,
    },
}

impl ContextRecord {
    /// The context bytes that go into HkdfLabel.
    pub fn bytes(&self) -> &[u8] {
        match self {
            ContextRecord::TranscriptHash(t) => &t.hash,
            ContextRecord::Empty => &[],
            ContextRecord::TicketNonce { nonce } => nonce,
        }
    }
}

/// How a secret was computed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SecretInputsRecord {
    /// HKDF-Extract(salt, IKM).
    Extract {
        /// The salt.
        salt: NamedBytes,
        /// The input keying material.
        ikm: NamedBytes,
    },
    /// HKDF-Expand-Label(secret, label, context, length); Derive-Secret when the context
    /// is a transcript hash.
    ExpandLabel {
        /// The input secret.
        secret: NamedBytes,
        /// The label without "tls13 ".
        label: String,
        /// The context.
        context: ContextRecord,
        /// The output length.
        length: usize,
    },
    /// The (EC)DHE shared secret: see the [`KeyExchangeRecord`] of the same group.
    KeyExchange {
        /// The group name, e.g. `x25519`.
        group: String,
    },
}

/// An (EC)DHE key exchange as this side did it. **Holds this side's ephemeral private
/// key and the shared secret**: show it only in `keylab demo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyExchangeRecord {
    /// The group name, e.g. `x25519`, `secp256r1`.
    pub group: String,
    /// This side's ephemeral private key (x25519: the 32-byte scalar as drawn;
    /// secp256r1: the 32-byte big-endian scalar).
    pub private_key: Vec<u8>,
    /// This side's key_exchange bytes.
    pub public_key: Vec<u8>,
    /// The peer's key_exchange bytes.
    pub peer_public_key: Vec<u8>,
    /// The shared secret.
    pub shared_secret: Vec<u8>,
    /// How many handshake messages this side had seen when it was computed.
    pub after_messages: usize,
}

/// A Finished verify_data: computed for this side's Finished, or checked on the peer's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FinishedRecord {
    /// Whose Finished: true for the client's.
    pub from_client: bool,
    /// True when this side computed it for its own Finished; false when it checked the
    /// peer's (the value is what the peer's Finished had to carry).
    pub sent: bool,
    /// The base key (the sender's handshake traffic secret).
    pub base_key: NamedBytes,
    /// HKDF-Expand-Label(base_key, "finished", "", 32).
    pub finished_key: Vec<u8>,
    /// The transcript hash the HMAC covers.
    pub transcript: TranscriptRecord,
    /// HMAC-SHA256(finished_key, transcript hash).
    pub verify_data: Vec<u8>,
    /// How many handshake messages this side had seen when it was computed: for its own
    /// Finished, the messages before it (it is computed just before it is sent); for the
    /// peer's, the Finished included (it is checked once it arrived).
    pub after_messages: usize,
}

/// A PSK binder: computed by the client for an offered PSK, or by the server for the one
/// it selected before checking it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BinderRecord {
    /// True when this side computed it to send (client), false when it checked it
    /// (server).
    pub sent: bool,
    /// The identity's position in pre_shared_key.
    pub index: usize,
    /// binder_key (name and value).
    pub binder_key: NamedBytes,
    /// HKDF-Expand-Label(binder_key, "finished", "", 32).
    pub finished_key: Vec<u8>,
    /// The transcript hash over the messages before the ClientHello and the ClientHello
    /// up to the binders.
    pub transcript: TranscriptRecord,
    /// HMAC-SHA256(finished_key, transcript hash).
    pub binder: Vec<u8>,
    /// How many handshake messages this side had seen when it was computed (the client
    /// computes binders before its ClientHello is sent; the server after reading it).
    pub after_messages: usize,
}

/// Everything one side of one connection observed.
#[derive(Clone, Debug, Default, Serialize)]
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
    /// The (EC)DHE exchange, when there was one. Private key material.
    pub key_exchanges: Vec<KeyExchangeRecord>,
    /// Finished values computed or checked, in order.
    pub finished: Vec<FinishedRecord>,
    /// PSK binders computed or checked, in order.
    pub binders: Vec<BinderRecord>,
    /// The HelloRetryRequest's transcript rule (RFC 8446 §4.4.1), when there was one.
    pub message_hash: Option<MessageHashRecord>,
}

/// ClientHello1 replaced by message_hash in the transcript (RFC 8446 §4.4.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageHashRecord {
    /// Hash(ClientHello1).
    pub client_hello1_hash: Vec<u8>,
    /// The synthetic message `fe 00 00 20 || Hash(ClientHello1)`.
    pub message: Vec<u8>,
    /// How many handshake messages this side had seen: 2 (ClientHello1 and the
    /// HelloRetryRequest, which follows message_hash in the transcript).
    pub after_messages: usize,
}

/// A change_cipher_spec record as one side saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeCipherSpecRecord {
    /// True when the client sent it.
    pub from_client: bool,
    /// How many handshake messages this side had seen before it.
    pub after_messages: usize,
}

/// Installs an observer on `conn` that only logs what `-v` shows and keeps nothing, or none
/// when nothing would be logged (the connection then does no work for an observer).
pub fn log_only(conn: &mut Connection, client_side: bool) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let side = if client_side { "client" } else { "server" };
    conn.set_observer(Box::new(move |event| log_event(side, event)));
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
                inputs,
            } => {
                let record = SecretRecord {
                    label: (*label).to_owned(),
                    derivation: (*derivation).to_owned(),
                    value: value.to_vec(),
                    inputs: inputs_record(inputs),
                    after_messages: o.messages.len(),
                };
                o.secrets.push(record);
            }
            TraceEvent::KeyExchange {
                group,
                private_key,
                public_key,
                peer_public_key,
                shared_secret,
            } => {
                let record = KeyExchangeRecord {
                    group: group.name().to_owned(),
                    private_key: private_key.to_vec(),
                    public_key: public_key.to_vec(),
                    peer_public_key: peer_public_key.to_vec(),
                    shared_secret: shared_secret.to_vec(),
                    after_messages: o.messages.len(),
                };
                o.key_exchanges.push(record);
            }
            TraceEvent::Finished {
                direction,
                from_client,
                base_key,
                finished_key,
                transcript,
                verify_data,
            } => {
                let record = FinishedRecord {
                    from_client: *from_client,
                    sent: *direction == Direction::Sent,
                    base_key: named(base_key),
                    finished_key: finished_key.to_vec(),
                    transcript: transcript_record(transcript),
                    verify_data: verify_data.to_vec(),
                    after_messages: o.messages.len(),
                };
                o.finished.push(record);
            }
            TraceEvent::MessageHash {
                client_hello1_hash,
                message,
            } => {
                o.message_hash = Some(MessageHashRecord {
                    client_hello1_hash: client_hello1_hash.to_vec(),
                    message: message.to_vec(),
                    after_messages: o.messages.len(),
                });
            }
            TraceEvent::Binder {
                direction,
                index,
                binder_key,
                finished_key,
                transcript,
                binder,
            } => {
                let record = BinderRecord {
                    sent: *direction == Direction::Sent,
                    index: *index,
                    binder_key: named(binder_key),
                    finished_key: finished_key.to_vec(),
                    transcript: transcript_record(transcript),
                    binder: binder.to_vec(),
                    after_messages: o.messages.len(),
                };
                o.binders.push(record);
            }
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

fn named(v: &NamedValue<'_>) -> NamedBytes {
    NamedBytes {
        name: v.name.to_owned(),
        value: v.value.to_vec(),
    }
}

fn transcript_record(t: &TranscriptHash<'_>) -> TranscriptRecord {
    TranscriptRecord {
        messages: t.messages.iter().map(|m| (*m).to_owned()).collect(),
        covers: t.describe(),
        hash: t.hash.to_vec(),
    }
}

fn inputs_record(inputs: &SecretInputs<'_>) -> SecretInputsRecord {
    match inputs {
        SecretInputs::Extract { salt, ikm } => SecretInputsRecord::Extract {
            salt: named(salt),
            ikm: named(ikm),
        },
        SecretInputs::ExpandLabel {
            secret,
            label,
            context,
            length,
        } => SecretInputsRecord::ExpandLabel {
            secret: named(secret),
            label: (*label).to_owned(),
            context: match context {
                HkdfContext::Transcript(t) => ContextRecord::TranscriptHash(transcript_record(t)),
                HkdfContext::Empty => ContextRecord::Empty,
                HkdfContext::TicketNonce(nonce) => ContextRecord::TicketNonce {
                    nonce: nonce.to_vec(),
                },
            },
            length: *length,
        },
        SecretInputs::KeyExchange { group } => SecretInputsRecord::KeyExchange {
            group: group.name().to_owned(),
        },
    }
}

/// Forwards a trace event to `tracing` (shown with `keylab -v`): messages by name and
/// size, state changes, alerts, secrets by name. Never logs a value that is secret: the private key
/// and shared secret of a key exchange and the secrets' values stay out of the log (names
/// only).
fn log_event(side: &str, event: &TraceEvent<'_>) {
    match event {
        TraceEvent::Message {
            direction,
            message,
            bytes,
            encrypted,
        } => tracing::debug!(
            side,
            ?direction,
            message = message.name(),
            len = bytes.len(),
            encrypted,
            "handshake message"
        ),
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
        // Deliberately names only: private_key and shared_secret are not logged.
        TraceEvent::KeyExchange { group, .. } => {
            tracing::trace!(side, group = group.name(), "key exchange")
        }
        TraceEvent::Finished {
            direction,
            from_client,
            ..
        } => {
            let whose = if *from_client { "client" } else { "server" };
            tracing::trace!(side, ?direction, whose, "Finished verify_data")
        }
        TraceEvent::Binder {
            direction, index, ..
        } => tracing::trace!(side, ?direction, index, "PSK binder"),
        TraceEvent::MessageHash { .. } => {
            tracing::trace!(side, "ClientHello1 replaced by message_hash")
        }
        TraceEvent::Negotiated { suite, group } => {
            let group = group.map_or("none (psk_ke)", |g| g.name());
            tracing::debug!(side, %suite, group, "negotiated")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use handshake::{
        Direction, HkdfContext, NamedValue, SecretInputs, SupportedGroup, TraceEvent,
        TranscriptHash,
    };

    use super::log_event;

    /// A `tracing` writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut b) = self.0.lock() {
                b.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// `keylab -v` (and more) never shows a private key, a shared secret or a secret's
    /// value: every byte value of these events is a marker that must not appear.
    #[test]
    fn the_log_names_secrets_but_never_shows_them() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let secret = [0xAB; 32];
        let names = ["ClientHello", "ServerHello"];
        let transcript = TranscriptHash {
            messages: &names,
            hash: &[0xAB; 32],
        };
        let events = [
            TraceEvent::KeyExchange {
                group: SupportedGroup::X25519,
                private_key: &secret,
                public_key: &secret,
                peer_public_key: &secret,
                shared_secret: &secret,
            },
            TraceEvent::Secret {
                label: "handshake_secret",
                derivation: "HKDF-Extract",
                value: &secret,
                inputs: SecretInputs::ExpandLabel {
                    secret: NamedValue {
                        name: "x",
                        value: &secret,
                    },
                    label: "c hs traffic",
                    context: HkdfContext::Transcript(transcript),
                    length: 32,
                },
            },
            TraceEvent::Finished {
                direction: Direction::Sent,
                from_client: true,
                base_key: NamedValue {
                    name: "client_handshake_traffic_secret",
                    value: &secret,
                },
                finished_key: &secret,
                transcript,
                verify_data: &secret,
            },
            TraceEvent::Binder {
                direction: Direction::Sent,
                index: 0,
                binder_key: NamedValue {
                    name: "binder_key (external)",
                    value: &secret,
                },
                finished_key: &secret,
                transcript,
                binder: &secret,
            },
            TraceEvent::MessageHash {
                client_hello1_hash: &secret,
                message: &secret,
            },
        ];
        tracing::subscriber::with_default(subscriber, || {
            for event in &events {
                log_event("client", event);
            }
        });
        let text = String::from_utf8(buffer.0.lock().map(|b| b.clone()).unwrap_or_default())
            .expect("utf-8");
        assert!(text.contains("key exchange") && text.contains("handshake_secret"));
        for marker in ["abab", "ABAB", "171, 171", "171,171"] {
            assert!(!text.contains(marker), "{marker} in {text}");
        }
    }
}
