//! Property tests of the record layer (RFC 8446 §5):
//!
//! - framing: a stream of records cut into chunks at arbitrary points gives back the same
//!   records, in order, however it is cut;
//! - joining: handshake messages fragmented over records of arbitrary sizes come out of
//!   the joiner as the same messages;
//! - protection: encrypt → deframe → decrypt gives back each record's type and content for
//!   any content, type and padding, over several records in sequence;
//! - integrity: flipping any single bit of a protected record (header or body) never lets
//!   it decrypt: the deframer refuses it or waits for more bytes, or decryption fails.

use handshake::error::{Error, RecordError};
use handshake::key_schedule::TrafficKeys;
use handshake::msgs::enums::{ContentType, ProtocolVersion};
use handshake::record::{
    HandshakeJoiner, Inbound, OpaqueRecord, PlainMessage, RecordDecrypter, RecordDeframer,
    RecordEncrypter,
};
use proptest::collection::vec;
use proptest::prelude::*;

fn content_type() -> impl Strategy<Value = ContentType> {
    prop::sample::select(vec![
        ContentType::ChangeCipherSpec,
        ContentType::Alert,
        ContentType::Handshake,
        ContentType::ApplicationData,
    ])
}

fn opaque_record() -> impl Strategy<Value = OpaqueRecord> {
    (content_type(), any::<u16>(), vec(any::<u8>(), 0..300)).prop_map(|(typ, version, payload)| {
        OpaqueRecord {
            typ,
            legacy_version: ProtocolVersion::from_u16(version),
            payload,
        }
    })
}

/// Cuts `bytes` at the given fractions of its length (sorted, duplicates allowed).
fn cut<'a>(bytes: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
    at.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for end in at.into_iter().chain([bytes.len()]) {
        chunks.push(&bytes[start..end]);
        start = end;
    }
    chunks
}

/// Keys of either suite: ChaCha20-Poly1305 or AES-128-GCM.
fn keys() -> impl Strategy<Value = TrafficKeys> {
    any::<(bool, [u8; 32], [u8; 12])>().prop_map(|(aes, key, iv)| {
        if aes {
            let mut short = [0u8; 16];
            short.copy_from_slice(&key[..16]);
            TrafficKeys::aes_128_gcm_from_parts(short, iv)
        } else {
            TrafficKeys::from_parts(key, iv)
        }
    })
}

/// A record's content for `typ`: non-empty for handshake and alert (RFC 8446 §5.4).
fn protected_content() -> impl Strategy<Value = (ContentType, Vec<u8>, usize)> {
    (
        prop::sample::select(vec![
            ContentType::Handshake,
            ContentType::Alert,
            ContentType::ApplicationData,
        ]),
        vec(any::<u8>(), 0..600),
        0usize..64,
    )
        .prop_map(|(typ, mut content, padding)| {
            if typ != ContentType::ApplicationData && content.is_empty() {
                content.push(1);
            }
            (typ, content, padding)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn framing_survives_any_chunking(
        records in vec(opaque_record(), 0..8),
        cuts in vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut stream = Vec::new();
        for r in &records {
            stream.extend(r.header());
            stream.extend(&r.payload);
        }
        let mut deframer = RecordDeframer::new();
        let mut out = Vec::new();
        for chunk in cut(&stream, &cuts) {
            deframer.push(chunk);
            while let Some(r) = deframer.pop().expect("valid records") {
                out.push(r);
            }
        }
        prop_assert_eq!(out, records);
        prop_assert_eq!(deframer.buffered_len(), 0);
    }

    #[test]
    fn fragmented_handshake_messages_are_joined(
        messages in vec((any::<u8>(), vec(any::<u8>(), 0..200)), 1..5),
        cuts in vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let encoded: Vec<Vec<u8>> = messages
            .iter()
            .map(|(typ, body)| {
                let mut m = vec![*typ];
                m.extend(&(body.len() as u32).to_be_bytes()[1..]);
                m.extend(body);
                m
            })
            .collect();
        let stream = encoded.concat();
        let mut joiner = HandshakeJoiner::new();
        let mut out = Vec::new();
        for fragment in cut(&stream, &cuts).into_iter().filter(|f| !f.is_empty()) {
            joiner
                .push(PlainMessage { typ: ContentType::Handshake, payload: fragment.to_vec() })
                .expect("valid fragments");
            while let Some(item) = joiner.pop() {
                match item {
                    Inbound::Handshake(raw) => out.push(raw.bytes),
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
            }
        }
        prop_assert_eq!(out, encoded);
        prop_assert!(!joiner.has_pending_handshake());
    }

    #[test]
    fn encrypt_then_decrypt_round_trips(
        keys in keys(),
        records in vec(protected_content(), 1..5),
        cuts in vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut enc = RecordEncrypter::new(&keys);
        let mut stream = Vec::new();
        for (typ, content, padding) in &records {
            enc.encrypt(*typ, content, *padding, &mut stream).expect("encrypts");
        }
        let mut deframer = RecordDeframer::new();
        let mut dec = RecordDecrypter::new(&keys);
        let mut out = Vec::new();
        for chunk in cut(&stream, &cuts) {
            deframer.push(chunk);
            while let Some(record) = deframer.pop().expect("valid records") {
                prop_assert_eq!(record.typ, ContentType::ApplicationData);
                out.push(dec.decrypt(record).expect("decrypts"));
            }
        }
        let expected: Vec<PlainMessage> = records
            .into_iter()
            .map(|(typ, payload, _)| PlainMessage { typ, payload })
            .collect();
        prop_assert_eq!(out, expected);
        prop_assert_eq!(dec.next_sequence_number(), enc.next_sequence_number());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn any_single_bit_flip_is_refused(
        keys in keys(),
        (typ, content, padding) in protected_content(),
        bit in any::<prop::sample::Index>(),
    ) {
        let mut record = Vec::new();
        RecordEncrypter::new(&keys)
            .encrypt(typ, &content, padding, &mut record)
            .expect("encrypts");
        let bit = bit.index(record.len() * 8);
        record[bit / 8] ^= 1 << (bit % 8);

        let mut deframer = RecordDeframer::new();
        deframer.push(&record);
        match deframer.pop() {
            // Unknown content type, or a length over the limit.
            Err(e) => prop_assert!(
                matches!(
                    e,
                    Error::Record(RecordError::UnknownContentType(_)) | Error::RecordOverflow { .. }
                ),
                "bit {}: {}",
                bit,
                e
            ),
            // A longer length: the record is incomplete and nothing is delivered.
            Ok(None) => prop_assert!(bit / 8 == 3 || bit / 8 == 4, "bit {}", bit),
            Ok(Some(opaque)) => {
                let result = RecordDecrypter::new(&keys).decrypt(opaque);
                let refused = match &result {
                    // RFC 8446 §5.2: a changed record fails authentication, and says no more.
                    Err(Error::DecryptFailed) => true,
                    // Byte 0 is the outer type; another known type is not a protected record.
                    Err(Error::Record(RecordError::UnexpectedContentType(_))) => bit / 8 == 0,
                    _ => false,
                };
                prop_assert!(refused, "bit {}: {:?}", bit, result);
            }
        }
    }
}
