//! Turns record contents into handshake messages, alerts, change_cipher_spec and
//! application data (RFC 8446 §5.1, §5.4).

use std::collections::VecDeque;

use super::PlainMessage;
use crate::codec::Reader;
use crate::error::{Error, RecordError};
use crate::msgs::enums::HandshakeType;
use crate::msgs::{Alert, HANDSHAKE_HEADER_LEN, HandshakeMessage, enums::ContentType};

/// The cap on one handshake message's body: 128 KiB, a bound on what a peer can make us
/// buffer.
///
/// RFC 8446 lets a ClientHello grow past 64 KiB (cipher_suites alone is `<2..2^16-2>`, and
/// so is each extension, e.g. signature_algorithms with 32,767 schemes), and a
/// Certificate up to 2^24-1 bytes; this cap accepts every ClientHello a real client sends,
/// with room to spare, and any certificate chain of sensible size. A message over it is
/// refused with handshake_failure: it may be well-formed, but this implementation will not
/// process it.
pub const DEFAULT_MAX_HANDSHAKE_LEN: usize = 128 * 1024;

/// One item for the state machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A complete handshake message.
    Handshake(RawHandshake),
    /// An alert.
    Alert(Alert),
    /// An unprotected change_cipher_spec record holding 0x01. RFC 8446 §5 (and §D.4): it may
    /// arrive after the first ClientHello and before the peer's Finished and "MUST simply be
    /// dropped"; at any other time it is unexpected_message. The state machine decides.
    ChangeCipherSpec,
    /// Application data (possibly empty, §5.1).
    ApplicationData(Vec<u8>),
}

/// A complete handshake message as received: the exact bytes the transcript hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawHandshake {
    /// msg_type from the header.
    pub typ: HandshakeType,
    /// The message with its 4-byte header.
    pub bytes: Vec<u8>,
}

impl RawHandshake {
    /// The body, without the header.
    pub fn body(&self) -> &[u8] {
        &self.bytes[HANDSHAKE_HEADER_LEN..]
    }

    /// Decodes the message.
    pub fn decode(&self) -> Result<HandshakeMessage, Error> {
        Ok(HandshakeMessage::decode(&self.bytes)?)
    }
}

/// The handshake message joiner.
///
/// Handshake records are concatenated and cut into messages by their headers, so a message
/// may be fragmented over several records and one record may hold several messages (§5.1).
/// Other record types pass through as single items, checked on the way.
#[derive(Clone, Debug)]
pub struct HandshakeJoiner {
    /// Handshake bytes of a message not yet complete.
    partial: Vec<u8>,
    ready: VecDeque<Inbound>,
    max_handshake_len: usize,
}

impl Default for HandshakeJoiner {
    fn default() -> Self {
        Self::new()
    }
}

impl HandshakeJoiner {
    /// A joiner with the [`DEFAULT_MAX_HANDSHAKE_LEN`] limit.
    pub fn new() -> Self {
        Self::with_max_handshake_len(DEFAULT_MAX_HANDSHAKE_LEN)
    }

    /// A joiner that refuses handshake messages with a body longer than `max` bytes.
    pub fn with_max_handshake_len(max: usize) -> Self {
        Self {
            partial: Vec::new(),
            ready: VecDeque::new(),
            max_handshake_len: max,
        }
    }

    /// Takes the content of one record.
    ///
    /// Errors (all unexpected_message unless noted): an empty handshake or alert record
    /// (§5.4); a non-handshake record while a handshake message is incomplete (§5.1: "if a
    /// handshake message is split over two or more records, there MUST NOT be any other
    /// records between them"); an alert record that is not exactly 2 bytes (decode_error,
    /// §5.1); a change_cipher_spec record other than 0x01 (§5); an unknown content type; a
    /// handshake message over the size cap (handshake_failure).
    pub fn push(&mut self, msg: PlainMessage) -> Result<(), Error> {
        let typ = msg.typ;
        if typ == ContentType::Handshake {
            return self.push_handshake(msg.payload);
        }
        if !self.partial.is_empty() {
            return Err(RecordError::InterleavedHandshake(typ).into());
        }
        let item = match typ {
            ContentType::Alert if msg.payload.is_empty() => {
                return Err(RecordError::EmptyFragment(typ).into());
            }
            ContentType::Alert => Inbound::Alert(Alert::from_record_payload(&msg.payload)?),
            ContentType::ChangeCipherSpec if msg.payload == [0x01] => Inbound::ChangeCipherSpec,
            ContentType::ChangeCipherSpec => {
                return Err(RecordError::InvalidChangeCipherSpec.into());
            }
            ContentType::ApplicationData => Inbound::ApplicationData(msg.payload),
            other => return Err(RecordError::UnknownContentType(other).into()),
        };
        self.ready.push_back(item);
        Ok(())
    }

    /// The next item, in the order the records arrived.
    pub fn pop(&mut self) -> Option<Inbound> {
        self.ready.pop_front()
    }

    /// Whether handshake data is buffered: an incomplete message, or complete messages not
    /// yet popped.
    pub fn has_pending_handshake(&self) -> bool {
        !self.partial.is_empty()
            || self
                .ready
                .iter()
                .any(|item| matches!(item, Inbound::Handshake(_)))
    }

    /// Call when the receiving keys change. RFC 8446 §5.1: "Handshake messages MUST NOT span
    /// key changes. ... If [messages immediately preceding a key change] do not [align with
    /// a record boundary], the receiver MUST terminate the connection with an
    /// "unexpected_message" alert."
    pub fn check_key_change(&self) -> Result<(), Error> {
        if !self.has_pending_handshake() {
            return Ok(());
        }
        let queued: usize = self
            .ready
            .iter()
            .map(|item| match item {
                Inbound::Handshake(raw) => raw.bytes.len(),
                _ => 0,
            })
            .sum();
        Err(RecordError::HandshakeSpansKeyChange {
            pending: self.partial.len() + queued,
        }
        .into())
    }

    fn push_handshake(&mut self, fragment: Vec<u8>) -> Result<(), Error> {
        // §5.4: "Implementations MUST NOT send Handshake and Alert records that have a
        // zero-length TLSInnerPlaintext.content; if such a message is received, the
        // receiving implementation MUST terminate the connection with an
        // "unexpected_message" alert." (§5.1 says the same for TLSPlaintext.)
        if fragment.is_empty() {
            return Err(RecordError::EmptyFragment(ContentType::Handshake).into());
        }
        if self.partial.is_empty() {
            // The usual case, a record that starts a message: keep its buffer.
            self.partial = fragment;
        } else {
            self.partial.extend_from_slice(&fragment);
        }
        let mut start = 0;
        while let Some(len) = self.next_message_len(start)? {
            let end = start + HANDSHAKE_HEADER_LEN + len;
            let bytes = if end == self.partial.len() {
                // The record's last message (or its only one): hand its buffer on, the
                // messages before it cut off, so that nothing stays allocated here.
                let mut last = std::mem::take(&mut self.partial);
                last.drain(..start);
                last
            } else {
                self.partial[start..end].to_vec()
            };
            let typ = HandshakeType::from_u8(bytes[0]);
            self.ready
                .push_back(Inbound::Handshake(RawHandshake { typ, bytes }));
            start = if self.partial.is_empty() { 0 } else { end };
        }
        if start > 0 {
            self.partial.drain(..start);
        }
        Ok(())
    }

    /// The body length of the buffered message starting at `start` if it is complete.
    fn next_message_len(&self, start: usize) -> Result<Option<usize>, Error> {
        let mut r = Reader::new(&self.partial[start..]);
        let (Ok(_), Ok(len)) = (r.u8("msg_type"), r.u24("length")) else {
            return Ok(None);
        };
        let len = len as usize;
        if len > self.max_handshake_len {
            return Err(RecordError::HandshakeMessageTooLarge {
                len,
                max: self.max_handshake_len,
            }
            .into());
        }
        Ok((r.remaining() >= len).then_some(len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::enums::AlertDescription;

    fn plain(typ: ContentType, payload: &[u8]) -> PlainMessage {
        PlainMessage {
            typ,
            payload: payload.to_vec(),
        }
    }

    fn handshake(typ: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![typ, 0, 0, body.len() as u8];
        out.extend_from_slice(body);
        out
    }

    fn drain(j: &mut HandshakeJoiner) -> Vec<Inbound> {
        std::iter::from_fn(|| j.pop()).collect()
    }

    #[test]
    fn message_fragmented_over_records_is_joined() {
        let msg = handshake(20, &[0xaa; 32]);
        let mut j = HandshakeJoiner::new();
        for chunk in msg.chunks(5) {
            assert!(drain(&mut j).is_empty());
            j.push(plain(ContentType::Handshake, chunk))
                .expect("fragment");
        }
        let items = drain(&mut j);
        assert_eq!(
            items,
            [Inbound::Handshake(RawHandshake {
                typ: HandshakeType::Finished,
                bytes: msg
            })]
        );
    }

    #[test]
    fn a_whole_flight_in_one_record_keeps_nothing_behind() {
        let messages = [
            handshake(8, &[0, 0]),
            handshake(11, &[7; 40]),
            handshake(20, &[1; 32]),
        ];
        let mut j = HandshakeJoiner::new();
        j.push(plain(ContentType::Handshake, &messages.concat()))
            .expect("record");
        let bytes: Vec<Vec<u8>> = drain(&mut j)
            .into_iter()
            .map(|item| match item {
                Inbound::Handshake(raw) => raw.bytes,
                other => panic!("expected a handshake message, got {other:?}"),
            })
            .collect();
        assert_eq!(bytes, messages);
        assert!(!j.has_pending_handshake());
        assert_eq!(
            j.partial.capacity(),
            0,
            "the record's buffer went to its last message"
        );
    }

    #[test]
    fn several_messages_in_one_record_are_split() {
        let mut record = handshake(8, &[0, 0]);
        record.extend(handshake(20, &[1; 32]));
        record.extend(&handshake(11, &[0; 8])[..6]);
        let mut j = HandshakeJoiner::new();
        j.push(plain(ContentType::Handshake, &record))
            .expect("record");
        let items = drain(&mut j);
        assert_eq!(items.len(), 2);
        assert!(j.has_pending_handshake(), "the Certificate is incomplete");
        assert!(matches!(
            j.check_key_change(),
            Err(Error::Record(RecordError::HandshakeSpansKeyChange { .. }))
        ));
        j.push(plain(ContentType::Handshake, &handshake(11, &[0; 8])[6..]))
            .expect("the rest");
        assert_eq!(
            drain(&mut j),
            [Inbound::Handshake(RawHandshake {
                typ: HandshakeType::Certificate,
                bytes: handshake(11, &[0; 8])
            })]
        );
        assert!(!j.has_pending_handshake());
    }

    #[test]
    fn queued_message_at_key_change_is_refused() {
        let mut record = handshake(2, &[0; 4]);
        record.extend(handshake(8, &[0, 0]));
        let mut j = HandshakeJoiner::new();
        j.push(plain(ContentType::Handshake, &record))
            .expect("record");
        assert!(matches!(j.pop(), Some(Inbound::Handshake(_))));
        // The "ServerHello" switches keys; the EncryptedExtensions came in the same record.
        let err = j.check_key_change().expect_err("spans the key change");
        assert_eq!(
            err,
            Error::Record(RecordError::HandshakeSpansKeyChange { pending: 6 })
        );
        assert_eq!(err.alert(), Some(AlertDescription::UnexpectedMessage));
    }

    #[test]
    fn empty_handshake_and_alert_records_are_unexpected_message() {
        for typ in [ContentType::Handshake, ContentType::Alert] {
            let err = HandshakeJoiner::new()
                .push(plain(typ, &[]))
                .expect_err("empty");
            assert_eq!(err, Error::Record(RecordError::EmptyFragment(typ)));
            assert_eq!(err.alert(), Some(AlertDescription::UnexpectedMessage));
        }
        let mut j = HandshakeJoiner::new();
        j.push(plain(ContentType::ApplicationData, &[]))
            .expect("empty application data is allowed");
        assert_eq!(j.pop(), Some(Inbound::ApplicationData(vec![])));
    }

    #[test]
    fn other_records_must_not_interleave_with_a_fragmented_message() {
        let mut j = HandshakeJoiner::new();
        j.push(plain(ContentType::Handshake, &[20, 0, 0, 32, 1]))
            .expect("fragment");
        let err = j
            .push(plain(ContentType::Alert, &[2, 10]))
            .expect_err("interleaved");
        assert_eq!(
            err,
            Error::Record(RecordError::InterleavedHandshake(ContentType::Alert))
        );
    }

    #[test]
    fn change_cipher_spec_is_its_own_item_only_as_0x01() {
        let mut j = HandshakeJoiner::new();
        j.push(plain(ContentType::ChangeCipherSpec, &[1]))
            .expect("ccs");
        assert_eq!(j.pop(), Some(Inbound::ChangeCipherSpec));
        for bad in [&[2][..], &[1, 1][..], &[][..]] {
            let err = j
                .push(plain(ContentType::ChangeCipherSpec, bad))
                .expect_err("not 0x01");
            assert_eq!(err.alert(), Some(AlertDescription::UnexpectedMessage));
        }
    }

    #[test]
    fn alerts_must_be_two_bytes() {
        let mut j = HandshakeJoiner::new();
        j.push(plain(ContentType::Alert, &[1, 0]))
            .expect("close_notify");
        assert_eq!(
            j.pop(),
            Some(Inbound::Alert(Alert::new(AlertDescription::CloseNotify)))
        );
        let err = j
            .push(plain(ContentType::Alert, &[2, 10, 2, 10]))
            .expect_err("two alerts in one record");
        assert_eq!(err.alert(), Some(AlertDescription::DecodeError));
    }

    #[test]
    fn oversized_handshake_message_fails_on_its_header() {
        let mut j = HandshakeJoiner::with_max_handshake_len(100);
        let err = j
            .push(plain(ContentType::Handshake, &[11, 0, 0, 101]))
            .expect_err("too large");
        assert_eq!(
            err,
            Error::Record(RecordError::HandshakeMessageTooLarge { len: 101, max: 100 })
        );
    }
}
