//! Splits a byte stream into records (RFC 8446 §5.1).

use std::collections::VecDeque;

use super::{HEADER_LEN, MAX_CIPHERTEXT_LEN, MAX_PLAINTEXT_LEN, OpaqueRecord, extend_in_pieces};
use crate::error::{Error, RecordError};
use crate::msgs::enums::{ContentType, ProtocolVersion};

/// Collects bytes as they arrive and hands out whole records.
///
/// Bytes may come in chunks of any size: a record split over many reads is held until it
/// is complete, and many records in one read come out one by one. The header is checked as
/// soon as its 5 bytes are there, so an oversized or unknown record fails before its body
/// arrives.
///
/// When nothing is held back from earlier reads, whole records are taken straight from
/// the pushed bytes (one copy, into the record), and only an incomplete tail is buffered.
#[derive(Clone, Debug, Default)]
pub struct RecordDeframer {
    /// Records taken whole from pushed bytes; they come before anything in `buf`.
    ready: VecDeque<OpaqueRecord>,
    /// Wire bytes of the records in `ready`.
    ready_len: usize,
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    start: usize,
}

impl RecordDeframer {
    /// An empty deframer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes received from the peer.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start < self.buf.len() {
            self.buf.extend_from_slice(bytes);
            return;
        }
        self.buf.clear();
        self.start = 0;
        let mut rest = bytes;
        // A record that is incomplete or has a bad header is left for `pop`, which waits
        // for the rest or reports the error after the records before it.
        while let Ok(Some((record, used))) = parse(rest) {
            self.ready.push_back(record);
            self.ready_len += used;
            rest = &rest[used..];
        }
        self.buf.extend_from_slice(rest);
    }

    /// Bytes received but not yet handed out as records.
    pub fn buffered_len(&self) -> usize {
        self.ready_len + self.buf.len() - self.start
    }

    /// The next complete record, `Ok(None)` if more bytes are needed.
    ///
    /// Errors: an unknown content type is unexpected_message (§5); a length above 2^14 for
    /// an unprotected type (§5.1) or above 2^14 + 256 for application_data (§5.2) is
    /// record_overflow. After an error the connection is over; the deframer is not reset.
    pub fn pop(&mut self) -> Result<Option<OpaqueRecord>, Error> {
        if let Some(record) = self.ready.pop_front() {
            self.ready_len -= HEADER_LEN + record.payload.len();
            return Ok(Some(record));
        }
        let Some((record, used)) = parse(&self.buf[self.start..])? else {
            return Ok(None);
        };
        self.start += used;
        self.compact();
        Ok(Some(record))
    }

    /// Drops consumed bytes once they are the larger part of the buffer, so that many small
    /// records in one large read are handed out in linear time.
    fn compact(&mut self) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

/// The record at the start of `pending` and the bytes it takes, `Ok(None)` if incomplete.
/// The error for a header whose type TLS 1.3 does not define: when all five bytes are
/// printable text, the peer most likely speaks another protocol, and the error says so.
fn unknown_type(typ: ContentType, header: &[u8; HEADER_LEN]) -> Error {
    if header.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        let text = String::from_utf8_lossy(header).into_owned();
        return RecordError::NotTls(text).into();
    }
    RecordError::UnknownContentType(typ).into()
}

fn parse(pending: &[u8]) -> Result<Option<(OpaqueRecord, usize)>, Error> {
    let Some(header) = pending.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let typ = ContentType::from_u8(header[0]);
    let legacy_version = ProtocolVersion::from_u16(u16::from_be_bytes([header[1], header[2]]));
    let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let limit = match typ {
        // In TLS 1.3 every protected record has the outer type application_data.
        ContentType::ApplicationData => MAX_CIPHERTEXT_LEN,
        ContentType::Handshake | ContentType::Alert | ContentType::ChangeCipherSpec => {
            MAX_PLAINTEXT_LEN
        }
        other => return Err(unknown_type(other, header)),
    };
    if length > limit {
        return Err(Error::RecordOverflow { length, limit });
    }
    let Some(payload) = pending.get(HEADER_LEN..HEADER_LEN + length) else {
        return Ok(None);
    };
    let mut owned = Vec::with_capacity(length);
    extend_in_pieces(&mut owned, payload);
    let record = OpaqueRecord {
        typ,
        legacy_version,
        payload: owned,
    };
    Ok(Some((record, HEADER_LEN + length)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::enums::AlertDescription;

    fn record(typ: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![typ, 3, 3];
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn records_split_byte_by_byte_are_reassembled() {
        let bytes = record(22, b"hello");
        let mut d = RecordDeframer::new();
        for (i, b) in bytes.iter().enumerate() {
            assert_eq!(d.pop(), Ok(None), "incomplete after {i} bytes");
            d.push(&[*b]);
        }
        let r = d.pop().expect("valid").expect("complete");
        assert_eq!(r.typ, ContentType::Handshake);
        assert_eq!(r.payload, b"hello");
        assert_eq!(r.header(), bytes[..5]);
        assert_eq!(d.buffered_len(), 0);
    }

    #[test]
    fn many_records_in_one_push_come_out_in_order() {
        let mut bytes = Vec::new();
        for i in 0..100u8 {
            bytes.extend(record(23, &[i; 3]));
        }
        let alert = record(21, &[2, 40]);
        bytes.extend(&alert[..4]);
        let mut d = RecordDeframer::new();
        d.push(&bytes);
        for i in 0..100u8 {
            let r = d.pop().expect("valid").expect("complete");
            assert_eq!(r.payload, [i; 3]);
        }
        assert_eq!(d.pop(), Ok(None));
        assert_eq!(d.buffered_len(), 4);
        d.push(&alert[4..]);
        assert_eq!(d.pop().expect("valid").expect("complete").payload, [2, 40]);
    }

    #[test]
    fn oversized_records_fail_on_the_header() {
        let mut d = RecordDeframer::new();
        d.push(&[22, 3, 3, 0x40, 0x01]);
        let err = d.pop().expect_err("2^14 + 1 plaintext bytes");
        assert_eq!(
            err,
            Error::RecordOverflow {
                length: MAX_PLAINTEXT_LEN + 1,
                limit: MAX_PLAINTEXT_LEN
            }
        );
        assert_eq!(err.alert(), Some(AlertDescription::RecordOverflow));

        let mut d = RecordDeframer::new();
        d.push(&[23, 3, 3, 0x41, 0x00]);
        assert_eq!(d.pop(), Ok(None), "2^14 + 256 ciphertext bytes are allowed");
        let mut d = RecordDeframer::new();
        d.push(&[23, 3, 3, 0x41, 0x01]);
        assert!(matches!(d.pop(), Err(Error::RecordOverflow { .. })));
    }

    #[test]
    fn records_before_a_bad_header_come_out_before_its_error() {
        let mut bytes = record(22, b"one");
        bytes.extend(record(23, b"two"));
        bytes.extend(b"GET / HTTP/1.1\r\n");
        let mut d = RecordDeframer::new();
        d.push(&bytes);
        assert_eq!(d.buffered_len(), bytes.len());
        assert_eq!(d.pop().expect("valid").expect("complete").payload, b"one");
        assert_eq!(d.pop().expect("valid").expect("complete").payload, b"two");
        assert_eq!(
            d.pop(),
            Err(Error::Record(RecordError::NotTls("GET /".into()))),
            "'G' is no content type, and the bytes are text"
        );
        let mut d = RecordDeframer::new();
        d.push(&[0x63, 0x03, 0x03, 0x00, 0x01, 0x00]);
        assert!(
            matches!(
                d.pop(),
                Err(Error::Record(RecordError::UnknownContentType(_)))
            ),
            "binary garbage is an unknown content type"
        );
    }

    #[test]
    fn whole_and_split_records_keep_their_order() {
        let (a, b, c) = (record(22, b"a"), record(22, b"bb"), record(23, b"ccc"));
        let mut d = RecordDeframer::new();
        // `a` whole and half of `b`; then the rest of `b` and `c` whole, before any pop.
        let mut first = a.clone();
        first.extend(&b[..3]);
        d.push(&first);
        let mut second = b[3..].to_vec();
        second.extend(&c);
        d.push(&second);
        assert_eq!(d.buffered_len(), a.len() + b.len() + c.len());
        for want in [&b"a"[..], b"bb", b"ccc"] {
            assert_eq!(d.pop().expect("valid").expect("complete").payload, want);
        }
        assert_eq!(d.pop(), Ok(None));
        assert_eq!(d.buffered_len(), 0);
        // With nothing held back, whole records do not go through the buffer.
        d.push(&a);
        assert!(d.buf.is_empty());
        assert_eq!(d.pop().expect("valid").expect("complete").payload, b"a");
    }

    #[test]
    fn unknown_content_type_is_unexpected_message() {
        let mut d = RecordDeframer::new();
        d.push(b"GET / HTTP/1.1\r\n");
        let err = d.pop().expect_err("not TLS");
        assert_eq!(err.alert(), Some(AlertDescription::UnexpectedMessage));
    }
}
