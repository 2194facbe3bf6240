//! The record layer of one connection, record by record (RFC 8446 §5), as plain data for a
//! renderer: every record in both directions from ClientHello to close_notify, its 5-byte
//! header field by field, and for a protected record the traffic secret in use, key, IV,
//! sequence number, nonce, additional data, ciphertext, tag and the decrypted
//! TLSInnerPlaintext.
//!
//! [`explain_records`] reads the bytes the client's socket saw ([`Wire`]) with the
//! handshake crate's own deframer, joiner and record protection; it follows the decrypted
//! content to know which keys each record needs:
//!
//! ```text
//!   direction      plaintext --ServerHello--> handshake keys --own Finished--> application
//!                  keys, generation 0 --own KeyUpdate--> generation 1 (§7.2) --> ...
//! ```
//!
//! Secrets come as (label, value) pairs (`client_handshake_traffic_secret`,
//! `server_application_traffic_secret_0`, ...); a generation after a KeyUpdate that is not
//! among them is computed with "traffic upd" (RFC 8446 §7.2). A record that cannot be
//! decrypted is reported as such; nothing here panics, whatever the bytes.

use handshake::SupportedSuite;
use handshake::key_schedule::{Secret, TrafficKeys, next_traffic_secret};
use handshake::msgs::enums::ContentType;
use handshake::msgs::{Alert, HandshakeMessage};
use handshake::record::{
    HEADER_LEN, HandshakeJoiner, Inbound, OpaqueRecord, PlainMessage, RecordDecrypter,
    RecordDeframer, TAG_LEN, nonce_for,
};

use crate::observe::{MessageRecord, SecretRecord};
use crate::runner::{Outcome, Wire, WireDirection};

mod fields;
mod meaning;
mod model;

pub use model::{
    Body, CarriedMessage, Content, Decryption, Header, InnerPlaintext, KeysInUse, Leftover,
    Protected, Record, RecordLayer, WireMessage,
};

/// A traffic secret by its label, e.g. (`server_handshake_traffic_secret`, 32 bytes).
pub type KnownSecret = (String, Vec<u8>);

/// The record layer of a run: its wire, the client's observations and the secrets it
/// derived.
pub fn record_layer(outcome: &Outcome) -> RecordLayer {
    explain_records(
        &outcome.wire,
        &outcome.observed.messages,
        &known_secrets(&outcome.observed.secrets),
    )
}

/// The (label, value) pairs of `secrets`, for [`explain_records`].
pub fn known_secrets(secrets: &[SecretRecord]) -> Vec<KnownSecret> {
    secrets
        .iter()
        .map(|s| (s.label.clone(), s.value.clone()))
        .collect()
}

/// Splits `wire` into records, decrypts every protected one with the traffic secrets among
/// `secrets` (by label) and says what each carries; `messages` (the transcript one side
/// observed) links the handshake messages to it. Never panics.
pub fn explain_records(
    wire: &Wire,
    messages: &[MessageRecord],
    secrets: &[KnownSecret],
) -> RecordLayer {
    let (framed, leftovers) = frame(wire);
    let mut walk = Walk {
        secrets,
        observed: messages,
        suite: None,
        dirs: [Dir::default(), Dir::default()],
        records: Vec::new(),
        messages: Vec::new(),
        spans: Vec::new(),
    };
    for f in framed {
        walk.record(f);
    }
    walk.link_messages();
    RecordLayer {
        suite: walk.suite.map(SupportedSuite::name),
        records: walk.records,
        messages: walk.messages,
        leftovers,
        omitted: wire.omitted,
    }
}

/// A record with where it was on the wire.
struct Framed {
    direction: WireDirection,
    offset: usize,
    chunk: usize,
    record: OpaqueRecord,
}

/// Both directions' records, ordered by the socket call that brought each one's first byte.
fn frame(wire: &Wire) -> (Vec<Framed>, Vec<Leftover>) {
    let mut framed = Vec::new();
    let mut leftovers = Vec::new();
    for direction in WireDirection::BOTH {
        // (offset in the stream, chunk index) where each chunk of this direction starts.
        let mut starts = Vec::new();
        let mut len = 0;
        for (i, c) in wire.chunks.iter().enumerate() {
            if c.direction == direction {
                starts.push((len, i));
                len += c.bytes.len();
            }
        }
        let mut deframer = RecordDeframer::new();
        deframer.push(&wire.stream(direction));
        let mut offset = 0;
        loop {
            match deframer.pop() {
                Ok(Some(record)) => {
                    let chunk = starts
                        .iter()
                        .rev()
                        .find(|(start, _)| *start <= offset)
                        .map_or(0, |(_, i)| *i);
                    let used = HEADER_LEN + record.payload.len();
                    framed.push(Framed {
                        direction,
                        offset,
                        chunk,
                        record,
                    });
                    offset += used;
                }
                Ok(None) => {
                    if offset < len {
                        leftovers.push(Leftover {
                            direction,
                            offset,
                            len: len - offset,
                            reason: "an incomplete record (the capture ends here)".into(),
                        });
                    }
                    break;
                }
                Err(e) => {
                    leftovers.push(Leftover {
                        direction,
                        offset,
                        len: len - offset,
                        reason: format!("not a valid record: {e}"),
                    });
                    break;
                }
            }
        }
    }
    framed.sort_by_key(|f| (f.chunk, f.offset));
    (framed, leftovers)
}

/// Which keys protect one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Handshake,
    Application(u64),
}

/// One direction's keys under one traffic secret.
struct Epoch {
    label: String,
    /// Secret bytes, where they came from, the keys and the decrypter.
    keys: Option<(Vec<u8>, String, TrafficKeys, RecordDecrypter)>,
    next_seq: u64,
}

/// What one direction has seen so far.
#[derive(Default)]
struct Dir {
    stage: Option<Stage>,
    epoch: Option<Epoch>,
    joiner: HandshakeJoiner,
    /// Handshake content bytes pushed so far.
    pushed: usize,
    /// Reassembled messages: (start in the handshake stream, index into `messages`).
    joined: Vec<(usize, usize)>,
    /// Where the next joined message starts.
    next_start: usize,
    /// Where to search `observed` for the next message of this direction.
    observed_from: usize,
}

struct Walk<'a> {
    secrets: &'a [KnownSecret],
    observed: &'a [MessageRecord],
    suite: Option<SupportedSuite>,
    dirs: [Dir; 2],
    records: Vec<Record>,
    messages: Vec<WireMessage>,
    /// Handshake content per record: (record, direction, start, end in the handshake
    /// stream of that direction).
    spans: Vec<(usize, usize, usize, usize)>,
}

/// Key changes a record's messages cause, applied after the record (§5.1: handshake
/// messages do not span key changes).
enum KeyChange {
    BothToHandshake,
    Own(Stage),
}

fn side(d: WireDirection) -> usize {
    usize::from(!d.from_client())
}

impl Walk<'_> {
    fn record(&mut self, f: Framed) {
        let index = self.records.len();
        let d = side(f.direction);
        let protected =
            f.record.typ == ContentType::ApplicationData && self.dirs[d].stage.is_some();
        let header = meaning::header(&f.record, protected);
        let mut changes = Vec::new();
        let body = if protected {
            Body::Protected(Box::new(self.protected(
                f.direction,
                &f.record,
                index,
                &mut changes,
            )))
        } else {
            let content = self.content(
                f.direction,
                &f.record.clone().into_plain(),
                index,
                &mut changes,
            );
            Body::Plaintext {
                fragment: f.record.payload.clone(),
                content,
            }
        };
        self.records.push(Record {
            index,
            direction: f.direction,
            offset: f.offset,
            header,
            body,
        });
        for change in changes {
            match change {
                KeyChange::BothToHandshake => {
                    for dir in WireDirection::BOTH {
                        if self.dirs[side(dir)].stage.is_none() {
                            self.enter(dir, Stage::Handshake);
                        }
                    }
                }
                KeyChange::Own(stage) => self.enter(f.direction, stage),
            }
        }
    }

    /// Switches `direction` to the keys of `stage`.
    fn enter(&mut self, direction: WireDirection, stage: Stage) {
        let who = if direction.from_client() {
            "client"
        } else {
            "server"
        };
        let label = match stage {
            Stage::Handshake => format!("{who}_handshake_traffic_secret"),
            Stage::Application(n) => format!("{who}_application_traffic_secret_{n}"),
        };
        let observed = self
            .secrets
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, value)| (value.clone(), "observed".to_owned()));
        let previous = self.dirs[side(direction)].epoch.take();
        let computed = || {
            let (prev_secret, prev_label) = match (&previous, stage) {
                (Some(p), Stage::Application(n)) if n > 0 => (p.keys.as_ref()?.0.clone(), &p.label),
                _ => return None,
            };
            let next = next_traffic_secret(&to_secret(&prev_secret)?);
            Some((
                next.as_bytes().to_vec(),
                format!(
                    "HKDF-Expand-Label({prev_label}, \"traffic upd\", \"\", 32) (RFC 8446 §7.2)"
                ),
            ))
        };
        let secret = observed.or_else(computed);
        let keys = secret.and_then(|(bytes, source)| {
            let keys = TrafficKeys::derive(self.suite?, &to_secret(&bytes)?);
            let decrypter = RecordDecrypter::new(&keys);
            Some((bytes, source, keys, decrypter))
        });
        let dir = &mut self.dirs[side(direction)];
        dir.stage = Some(stage);
        dir.epoch = Some(Epoch {
            label,
            keys,
            next_seq: 0,
        });
    }

    fn protected(
        &mut self,
        direction: WireDirection,
        record: &OpaqueRecord,
        index: usize,
        changes: &mut Vec<KeyChange>,
    ) -> Protected {
        let aad = record.header().to_vec();
        let split = record.payload.len().saturating_sub(TAG_LEN);
        let (ciphertext, tag) = record.payload.split_at(split);
        let dir = &mut self.dirs[side(direction)];
        let Some(epoch) = dir.epoch.as_mut() else {
            // `protected` is only called with a stage, which always has an epoch.
            return Protected {
                keys: None,
                secret_label: String::new(),
                sequence_number: 0,
                aad,
                ciphertext: ciphertext.to_vec(),
                tag: tag.to_vec(),
                decryption: Decryption::Failed {
                    reason: "no keys in use in this direction".into(),
                },
            };
        };
        let seq = epoch.next_seq;
        epoch.next_seq += 1;
        let secret_label = epoch.label.clone();
        let (keys, opened) = match epoch.keys.as_mut() {
            None => (
                None,
                Err(format!("no value for {secret_label}: the key is unknown")),
            ),
            Some((secret, source, keys, decrypter)) => (
                Some(KeysInUse {
                    secret: secret.clone(),
                    secret_source: source.clone(),
                    key: keys.key().to_vec(),
                    iv: keys.iv().to_vec(),
                    nonce: nonce_for(keys.iv(), seq).to_vec(),
                }),
                decrypter.decrypt(record.clone()).map_err(|e| match e {
                    handshake::Error::DecryptFailed => {
                        "the AEAD tag check failed: this is not the key the record was sealed with"
                            .to_owned()
                    }
                    other => other.to_string(),
                }),
            ),
        };
        let decryption = match opened {
            Err(reason) => Decryption::Failed { reason },
            Ok(plain) => {
                let padding_len = split.saturating_sub(1).saturating_sub(plain.payload.len());
                let mut bytes = plain.payload.clone();
                bytes.push(plain.typ.to_u8());
                bytes.resize(bytes.len() + padding_len, 0);
                let carries = self.content(direction, &plain, index, changes);
                Decryption::Opened(Box::new(InnerPlaintext {
                    bytes,
                    content: plain.payload,
                    content_type: plain.typ.to_u8(),
                    content_type_name: meaning::type_name(plain.typ),
                    padding_len,
                    carries,
                }))
            }
        };
        Protected {
            keys,
            secret_label,
            sequence_number: seq,
            aad,
            ciphertext: ciphertext.to_vec(),
            tag: tag.to_vec(),
            decryption,
        }
    }

    /// What the (decrypted) content of record `index` carries; completes handshake messages
    /// and notes the key changes they cause.
    fn content(
        &mut self,
        direction: WireDirection,
        plain: &PlainMessage,
        index: usize,
        changes: &mut Vec<KeyChange>,
    ) -> Content {
        match plain.typ {
            ContentType::Handshake => self.handshake(direction, plain, index, changes),
            ContentType::ChangeCipherSpec => Content::ChangeCipherSpec {
                value: plain.payload.first().copied().unwrap_or(0),
            },
            ContentType::Alert => match Alert::from_record_payload(&plain.payload) {
                Ok(alert) => Content::Alert {
                    level: alert.level.to_u8(),
                    description: alert.description.to_u8(),
                    name: alert.to_string(),
                },
                Err(e) => Content::Undecodable {
                    reason: e.to_string(),
                },
            },
            ContentType::ApplicationData => Content::ApplicationData {
                len: plain.payload.len(),
            },
            other => Content::Undecodable {
                reason: format!("unknown content type {}", other.to_u8()),
            },
        }
    }

    fn handshake(
        &mut self,
        direction: WireDirection,
        plain: &PlainMessage,
        index: usize,
        changes: &mut Vec<KeyChange>,
    ) -> Content {
        let d = side(direction);
        if let Err(e) = self.dirs[d].joiner.push(plain.clone()) {
            return Content::Undecodable {
                reason: e.to_string(),
            };
        }
        self.dirs[d].pushed += plain.payload.len();
        while let Some(item) = self.dirs[d].joiner.pop() {
            let Inbound::Handshake(raw) = item else {
                continue;
            };
            let decoded = raw.decode();
            let name = decoded.as_ref().map_or_else(
                |_| raw.typ.message_name().to_owned(),
                |m| m.name().to_owned(),
            );
            match &decoded {
                Ok(HandshakeMessage::ServerHello(sh)) if !direction.from_client() => {
                    self.suite = SupportedSuite::from_suite(sh.cipher_suite);
                    changes.push(KeyChange::BothToHandshake);
                }
                Ok(HandshakeMessage::Finished(_)) => {
                    changes.push(KeyChange::Own(Stage::Application(0)));
                }
                Ok(HandshakeMessage::KeyUpdate(_)) => {
                    if let Some(Stage::Application(n)) = self.dirs[d].stage {
                        changes.push(KeyChange::Own(Stage::Application(n + 1)));
                    }
                }
                _ => {}
            }
            let dir = &mut self.dirs[d];
            let observed_message = self.observed[dir.observed_from.min(self.observed.len())..]
                .iter()
                .position(|m| m.from_client == direction.from_client() && m.bytes == raw.bytes)
                .map(|i| i + dir.observed_from);
            if let Some(i) = observed_message {
                dir.observed_from = i + 1;
            }
            dir.joined.push((dir.next_start, self.messages.len()));
            dir.next_start += raw.bytes.len();
            self.messages.push(WireMessage {
                direction,
                name,
                bytes: raw.bytes,
                observed_message,
                records: Vec::new(),
            });
        }
        let end = self.dirs[d].pushed;
        let start = end - plain.payload.len();
        self.spans.push((index, d, start, end));
        Content::Handshake {
            messages: Vec::new(),
        }
    }
}

impl Walk<'_> {
    /// Fills in which messages (and which of their bytes) each handshake record carries,
    /// and which records each message came in.
    fn link_messages(&mut self) {
        for &(index, d, start, end) in &self.spans {
            let mut carried = Vec::new();
            let mut covered = start;
            for &(m_start, m) in &self.dirs[d].joined {
                let message = &mut self.messages[m];
                let m_end = m_start + message.bytes.len();
                let (a, b) = (start.max(m_start), end.min(m_end));
                if a >= b {
                    continue;
                }
                message.records.push(index);
                carried.push(CarriedMessage {
                    name: message.name.clone(),
                    wire_message: Some(m),
                    observed_message: message.observed_message,
                    content_range: [a - start, b - start],
                    message_range: [a - m_start, b - m_start],
                    message_len: m_end - m_start,
                });
                covered = b;
            }
            if covered < end {
                // The start of a message whose end never came.
                let m_start = self.dirs[d].next_start;
                carried.push(CarriedMessage {
                    name: "incomplete handshake message".into(),
                    wire_message: None,
                    observed_message: None,
                    content_range: [covered - start, end - start],
                    message_range: [covered.saturating_sub(m_start), end.saturating_sub(m_start)],
                    message_len: 0,
                });
            }
            if let Some(Content::Handshake { messages }) =
                self.records.get_mut(index).and_then(content_mut)
            {
                *messages = carried;
            }
        }
    }
}

/// The content description of a record, plaintext or decrypted.
fn content_mut(record: &mut Record) -> Option<&mut Content> {
    match &mut record.body {
        Body::Plaintext { content, .. } => Some(content),
        Body::Protected(p) => match &mut p.decryption {
            Decryption::Opened(inner) => Some(&mut inner.carries),
            Decryption::Failed { .. } => None,
        },
    }
}

/// A 32-byte secret, `None` for another length.
fn to_secret(bytes: &[u8]) -> Option<Secret> {
    Some(Secret::from_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests;
