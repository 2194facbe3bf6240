//! Tests of the codec and its span recording.

use super::*;

#[test]
fn reads_integers_big_endian() {
    let mut r = Reader::new(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(r.u8("a"), Ok(1));
    assert_eq!(r.u16("b"), Ok(0x0203));
    assert_eq!(r.u24("c"), Ok(0x04_0506));
    assert_eq!(r.u32("d"), Ok(0x0708_090a));
    assert!(r.is_empty());
    assert_eq!(r.expect_empty("end"), Ok(()));
}

#[test]
fn truncation_names_the_field() {
    let mut r = Reader::new(&[0x00]);
    let err = r
        .u16("ServerHello.cipher_suite")
        .expect_err("one byte is short");
    assert_eq!(
        err.to_string(),
        "ServerHello.cipher_suite: truncated: 2 bytes needed, 1 available"
    );
}

#[test]
fn vectors_check_their_bounds_and_length() {
    let mut r = Reader::new(&[0x00, 0x02, 0xaa, 0xbb, 0xcc]);
    assert_eq!(r.vec_u16("v", 1..=4), Ok(&[0xaa, 0xbb][..]));
    assert_eq!(
        r.expect_empty("v").map_err(|e| e.reason),
        Err(DecodeReason::TrailingBytes { count: 1 })
    );

    let mut r = Reader::new(&[0x03, 1, 2, 3]);
    assert_eq!(
        r.vec_u8("short", 0..=2).map_err(|e| e.reason),
        Err(DecodeReason::LengthOutOfRange {
            len: 3,
            min: 0,
            max: 2
        })
    );

    let mut r = Reader::new(&[0x00, 0x00, 0x05, 1, 2]);
    assert!(matches!(
        r.vec_u24("long", 0..=10).map_err(|e| e.reason),
        Err(DecodeReason::Truncated {
            needed: 5,
            available: 2
        })
    ));
}

#[test]
fn a_plain_reader_records_nothing() {
    // The off path: no log, so `record` returns before building a span; a sub-reader
    // and a group inherit "no log" and `group` is a plain call.
    let mut r = Reader::new(&[0, 2, 7, 8]);
    assert!(!r.is_recording());
    let mut sub = r.vec_reader(LengthPrefix::U16, "v", 0..=4).expect("vector");
    assert!(!sub.is_recording());
    assert_eq!(sub.group("g", |s| s.u16("x")), Ok(0x0708));
}

#[test]
fn spans_keep_absolute_offsets_and_nest() {
    // u8, then a u16-prefixed list of (u8, opaque<u8>) structures, then the rest.
    fn decode(r: &mut Reader<'_>) -> Result<Vec<Vec<u8>>, DecodeError> {
        r.u8("first")?;
        let items = r.list(LengthPrefix::U16, "items", 0..=10, |r| {
            r.group("Item", |r| {
                r.u8("Item.tag")?;
                r.vec_u8("Item.data", 0..=4)
            })
            .map(<[u8]>::to_vec)
        })?;
        r.rest("tail");
        Ok(items)
    }
    use SpanKind::{Body, Length, Struct, Value};
    let summary = |spans: &[Span]| -> Vec<_> {
        spans
            .iter()
            .map(|s| (s.what, s.kind, s.start, s.end, s.depth))
            .collect()
    };
    let bytes = [9, 0, 4, 1, 2, 0xaa, 0xbb, 0xcc, 0xdd];
    let (result, spans) = record_spans(&bytes, decode);
    assert_eq!(result, Ok(vec![vec![0xaa, 0xbb]]));
    assert_eq!(result, decode(&mut Reader::new(&bytes)), "same decode");
    assert_eq!(
        summary(&spans),
        [
            ("first", Value, 0, 1, 0),
            ("items", Length, 1, 3, 0),
            ("items", Body, 3, 7, 0),
            ("Item", Struct, 3, 7, 1),
            ("Item.tag", Value, 3, 4, 2),
            ("Item.data", Length, 4, 5, 2),
            ("Item.data", Value, 5, 7, 2),
            ("tail", Value, 7, 9, 0),
        ]
    );

    // A second Item cut after its tag: the spans stop at the failing read, and the
    // structure's span ends where its reads did.
    let bytes = [9, 0, 5, 1, 2, 0xaa, 0xbb, 3];
    let (result, spans) = record_spans(&bytes, decode);
    assert_eq!(result.map_err(|e| e.what), Err("Item.data"));
    assert_eq!(
        summary(spans.get(7..).unwrap_or_default()),
        [("Item", Struct, 7, 8, 1), ("Item.tag", Value, 7, 8, 2)]
    );
}

#[test]
fn lenient_recording_clips_an_overlong_vector() {
    let bytes = [0, 9, 1, 2, 3];
    let (strict, spans) = record_spans(&bytes, |r| r.vec_u16("v", 0..=9).map(<[u8]>::to_vec));
    assert!(strict.is_err());
    assert_eq!(spans.len(), 1, "only the length prefix was read");
    let (lenient, spans) =
        record_spans_lenient(&bytes, |r| r.vec_u16("v", 0..=9).map(<[u8]>::to_vec));
    assert_eq!(
        lenient.map_err(|e| e.reason),
        Err(DecodeReason::Truncated {
            needed: 9,
            available: 3
        })
    );
    assert_eq!(spans.last().map(Span::range), Some(2..5));
}

#[test]
fn prefixed_writes_round_trip() {
    let mut out = Vec::new();
    put_opaque(&mut out, LengthPrefix::U8, "a", b"xy").expect("fits");
    put_opaque(&mut out, LengthPrefix::U16, "b", b"z").expect("fits");
    put_opaque(&mut out, LengthPrefix::U24, "c", b"").expect("fits");
    assert_eq!(out, [2, b'x', b'y', 0, 1, b'z', 0, 0, 0]);
}

#[test]
fn too_long_for_prefix_is_an_error_not_a_truncation() {
    let mut out = vec![9];
    let err = put_opaque(&mut out, LengthPrefix::U8, "session_id", &[0; 256])
        .expect_err("256 bytes do not fit a u8 length");
    assert_eq!(
        err,
        EncodeError {
            what: "session_id",
            len: 256,
            max: 255
        }
    );
    assert_eq!(out, [9], "nothing half-written is left behind");
    assert_eq!(
        put_u24(&mut out, 1 << 24, "len"),
        Err(EncodeError {
            what: "len",
            len: 1 << 24,
            max: (1 << 24) - 1
        })
    );
}
