//! The `codec` and `record` entry points: the message codec and the inbound record
//! pipeline on their own, without a connection around them.

use std::hint::black_box;

use super::Chunks;
use crate::error::Error;
use crate::key_schedule::TrafficKeys;
use crate::msgs::enums::ContentType;
use crate::msgs::{HANDSHAKE_HEADER_LEN, HandshakeMessage};
use crate::record::{HandshakeJoiner, Inbound, RecordDecrypter, RecordDeframer};

/// The fixed key of the `record` entry point's decrypter.
pub const RECORD_KEY: [u8; 32] = *b"keylab record fuzzing key 32 B!!";

/// The fixed IV of the `record` entry point's decrypter.
pub const RECORD_IV: [u8; 12] = *b"keylab iv 12";

/// The keys the `record` entry point decrypts with; seeds are encrypted with them.
pub fn record_keys() -> TrafficKeys {
    TrafficKeys::from_parts(RECORD_KEY, RECORD_IV)
}

/// Decodes `input` as one handshake message and checks that it encodes back to exactly
/// `input`; returns the message if it decoded.
///
/// # Panics
///
/// When a message that decoded does not encode to the same bytes, which is the property
/// under test: the codec promises that decode followed by encode is the identity (see
/// [`crate::msgs`]): unknown code points, unknown extensions and the legacy fields are kept
/// as received. The one decode that normalises is exempted precisely; see
/// [`expected_encoding`].
pub fn codec(input: &[u8]) -> Option<HandshakeMessage> {
    let msg = HandshakeMessage::decode(input).ok()?;
    assert_round_trip(input, &msg);
    Some(msg)
}

/// Panics unless `msg`, decoded from `bytes`, encodes to [`expected_encoding`].
fn assert_round_trip(bytes: &[u8], msg: &HandshakeMessage) {
    let expected = expected_encoding(bytes, msg);
    match msg.to_bytes() {
        Ok(again) => assert!(
            again == expected,
            "{} does not re-encode to its bytes:\n decoded  {bytes:02x?}\n encoded  {again:02x?}\n expected {expected:02x?}",
            msg.name()
        ),
        Err(e) => panic!("{} decoded but does not encode: {e}", msg.name()),
    }
}

/// The bytes `msg`, decoded from `bytes`, must encode to: `bytes` themselves, with one
/// exception.
///
/// A ClientHello that ends right after legacy_compression_methods (a hello of an older TLS
/// without an extensions block, RFC 8446 §4.1.2) decodes with no extensions, so that the
/// server can refuse it with protocol_version rather than decode_error, and encodes with an
/// empty block: two bytes `00 00` more, and a header length two larger. Nothing hashes
/// that re-encoding (the transcript takes received bytes as they came, and such a hello is
/// refused before any transcript exists), so the normalisation is harmless; only that exact
/// shape is exempt from byte equality.
pub fn expected_encoding(bytes: &[u8], msg: &HandshakeMessage) -> Vec<u8> {
    let HandshakeMessage::ClientHello(ch) = msg else {
        return bytes.to_vec();
    };
    // legacy_version, random, then three vectors with 1-, 2- and 1-byte lengths.
    let without_block = 2
        + 32
        + 1
        + ch.legacy_session_id.len()
        + 2
        + 2 * ch.cipher_suites.len()
        + 1
        + ch.legacy_compression_methods.len();
    if !ch.extensions.0.is_empty() || bytes.len() != HANDSHAKE_HEADER_LEN + without_block {
        return bytes.to_vec();
    }
    // A ClientHello body is at most 2^24 - 1 bytes; this one is far smaller.
    let length = (without_block + 2) as u32;
    let mut expected = vec![bytes[0]];
    expected.extend_from_slice(&length.to_be_bytes()[1..]);
    expected.extend_from_slice(&bytes[HANDSHAKE_HEADER_LEN..]);
    expected.extend_from_slice(&[0, 0]);
    expected
}

/// What one run of [`record`] reached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordOutcome {
    /// Records taken from the deframer.
    pub records: usize,
    /// Records that decrypted.
    pub decrypted: usize,
    /// Complete handshake messages from the joiner.
    pub handshake_messages: usize,
    /// Of those, how many decoded (and re-encoded to their bytes).
    pub decoded_messages: usize,
    /// Alerts, change_cipher_spec and application data items.
    pub other_items: usize,
    /// The error that ended the run, if any.
    pub error: Option<Error>,
}

/// Runs the inbound record pipeline over `input`, read as length-prefixed chunks (see
/// [`Chunks`]): each chunk is pushed to a [`RecordDeframer`]; records whose outer type is
/// application_data go through a [`RecordDecrypter`] under [`record_keys`], others pass
/// as plaintext (as before keys are in use); the contents go to a [`HandshakeJoiner`],
/// and every complete handshake message is decoded and must re-encode to its bytes (see
/// [`codec`]). The first error ends the run, as it ends a connection.
pub fn record(input: &[u8]) -> RecordOutcome {
    let mut pipeline = Pipeline {
        deframer: RecordDeframer::new(),
        decrypter: RecordDecrypter::new(&record_keys()),
        joiner: HandshakeJoiner::new(),
        outcome: RecordOutcome::default(),
    };
    for chunk in Chunks::new(input) {
        pipeline.deframer.push(chunk);
        if let Err(e) = pipeline.drain() {
            pipeline.outcome.error = Some(e);
            break;
        }
    }
    black_box(pipeline.deframer.buffered_len());
    black_box(pipeline.joiner.has_pending_handshake());
    pipeline.outcome
}

struct Pipeline {
    deframer: RecordDeframer,
    decrypter: RecordDecrypter,
    joiner: HandshakeJoiner,
    outcome: RecordOutcome,
}

impl Pipeline {
    fn drain(&mut self) -> Result<(), Error> {
        while let Some(record) = self.deframer.pop()? {
            self.outcome.records += 1;
            let plain = if record.typ == ContentType::ApplicationData {
                let plain = self.decrypter.decrypt(record)?;
                self.outcome.decrypted += 1;
                plain
            } else {
                record.into_plain()
            };
            self.joiner.push(plain)?;
            while let Some(item) = self.joiner.pop() {
                self.take(item);
            }
        }
        Ok(())
    }

    fn take(&mut self, item: Inbound) {
        match item {
            Inbound::Handshake(raw) => {
                self.outcome.handshake_messages += 1;
                if let Ok(msg) = raw.decode() {
                    assert_round_trip(&raw.bytes, &msg);
                    self.outcome.decoded_messages += 1;
                    black_box(msg);
                }
                // What a connection checks when this message changes the keys.
                black_box(self.joiner.check_key_change().is_ok());
            }
            Inbound::Alert(alert) => {
                self.outcome.other_items += 1;
                black_box(alert);
            }
            Inbound::ChangeCipherSpec => self.outcome.other_items += 1,
            Inbound::ApplicationData(data) => {
                self.outcome.other_items += 1;
                black_box(data);
            }
        }
    }
}
