//! Wire encoding in the presentation language of RFC 8446 §3.
//!
//! Decoding goes through a [`Reader`] over a borrowed byte slice. Every read names what it is
//! reading, so a failure says which field was wrong ("ClientHello.cipher_suites: length 3 is
//! not a multiple of the element size 2"). Vectors (`opaque x<min..max>`, RFC 8446 §3.4) carry
//! a length prefix of 1, 2 or 3 bytes and bounds that are checked on decode.
//!
//! The same reader can record, for every read, which bytes it covered: [`record_spans`]
//! returns a [`Span`] per field (absolute offsets, field name, length prefix / value /
//! group), which is how `keylab demo --explain` shows a message byte by byte without a
//! second description of the wire format. A reader made by [`Reader::new`] records nothing
//! and allocates nothing for it.
//!
//! Encoding appends to a `Vec<u8>`. Length prefixes are written by [`put_prefixed`], which
//! fails with an [`EncodeError`] rather than truncating when the body is too long.

use std::cell::RefCell;
use std::ops::RangeInclusive;

use crate::error::{DecodeError, DecodeReason, EncodeError};

/// A type with a wire encoding.
pub trait Codec: Sized {
    /// Appends the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// Decodes one value from the front of `r`.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// The encoding of `self` as a new vector.
    fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }

    /// Decodes a value that must fill `bytes` exactly (trailing bytes are an error).
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let value = Self::decode(&mut r)?;
        r.expect_empty(short_type_name::<Self>())?;
        Ok(value)
    }
}

/// The size of a vector's length prefix (RFC 8446 §3.4: "the length will be in the form of a
/// number consuming as many bytes as required to hold the vector's specified maximum").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthPrefix {
    /// One byte: vectors of at most 255 bytes.
    U8,
    /// Two bytes: vectors of at most 65 535 bytes.
    U16,
    /// Three bytes: vectors of at most 16 777 215 bytes.
    U24,
}

impl LengthPrefix {
    /// The largest length this prefix can express.
    pub const fn max(self) -> usize {
        match self {
            LengthPrefix::U8 => 0xff,
            LengthPrefix::U16 => 0xffff,
            LengthPrefix::U24 => 0xff_ffff,
        }
    }

    /// The number of bytes of the prefix itself.
    pub const fn size(self) -> usize {
        match self {
            LengthPrefix::U8 => 1,
            LengthPrefix::U16 => 2,
            LengthPrefix::U24 => 3,
        }
    }
}

/// What a recorded [`Span`] covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    /// The 1-, 2- or 3-byte length prefix of a vector (RFC 8446 §3.4).
    Length,
    /// A value read whole: an integer, a fixed-size array, an opaque vector's contents or
    /// the remaining bytes of a structure. A leaf: nothing is recorded inside it.
    Value,
    /// A vector's contents read element by element (or a region handed to a sub-reader,
    /// such as a handshake message's body or an extension's data): a group whose
    /// children are the spans recorded inside its range.
    Body,
    /// A structure made of several fields (an `Extension`, a `KeyShareEntry`, a
    /// `CertificateEntry`): a group whose range is what its fields used.
    Struct,
}

impl SpanKind {
    /// Whether spans of this kind contain other spans.
    pub const fn is_group(self) -> bool {
        matches!(self, Self::Body | Self::Struct)
    }
}

/// One read of a recording [`Reader`]: which bytes, which field, what kind.
///
/// Spans are recorded in reading order, so a group comes before its children. `start` and
/// `end` are absolute offsets in the outermost buffer (sub-readers keep them), and `depth`
/// is the nesting level (0 for the outermost reader's own reads): the children of a group
/// at depth `d` are the spans at depth `d + 1` that follow it before the next span at depth
/// `d` or less, and they lie within its range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
    /// The field, as named by the read (`"ClientHello.cipher_suites"`, `"NamedGroup"`).
    pub what: &'static str,
    /// Length prefix, value or group.
    pub kind: SpanKind,
    /// Nesting level.
    pub depth: usize,
}

impl Span {
    /// The span's byte range.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }

    /// Number of bytes covered.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the span covers no bytes.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// The spans a recording reader and its sub-readers push to.
#[derive(Debug, Default)]
struct SpanLog {
    spans: RefCell<Vec<Span>>,
    /// Lenient recording: a vector that claims more bytes than are left is clipped to
    /// what is there instead of failing, and the first such error is kept here.
    lenient: bool,
    clipped: RefCell<Option<DecodeError>>,
}

impl SpanLog {
    /// Appends a span and returns its index; never panics (a span that cannot be pushed
    /// because the log is borrowed, which no code path does, is dropped).
    fn push(&self, span: Span) -> usize {
        match self.spans.try_borrow_mut() {
            Ok(mut spans) => {
                spans.push(span);
                spans.len() - 1
            }
            Err(_) => usize::MAX,
        }
    }

    fn set_end(&self, index: usize, end: usize) {
        if let Ok(mut spans) = self.spans.try_borrow_mut()
            && let Some(span) = spans.get_mut(index)
        {
            span.end = end;
        }
    }
}

/// Decodes `bytes` with `decode` while recording a [`Span`] for every read: the single
/// place where the wire format is described also says which byte is which field.
///
/// The reader handed to `decode` behaves exactly like [`Reader::new`]'s: same results,
/// same errors. The spans cover what was read before `decode` returned (on an error, up to
/// the failing read), in reading order. Bytes nobody read (after an error, or trailing
/// bytes `decode` did not look at) have no span.
///
/// ```
/// use handshake::codec::{SpanKind, record_spans};
/// use handshake::msgs::HandshakeMessage;
///
/// let finished = [20, 0, 0, 2, 0xaa, 0xbb];
/// let (message, spans) = record_spans(&finished, HandshakeMessage::read);
/// assert_eq!(message.map(|m| m.name()), Ok("Finished"));
/// let names: Vec<_> = spans.iter().map(|s| (s.what, s.kind, s.range())).collect();
/// assert_eq!(
///     names,
///     [
///         ("Handshake.msg_type", SpanKind::Value, 0..1),
///         ("Handshake.length", SpanKind::Value, 1..4),
///         ("Handshake.body", SpanKind::Body, 4..6),
///         ("Finished.verify_data", SpanKind::Value, 4..6),
///     ]
/// );
/// ```
pub fn record_spans<T>(
    bytes: &[u8],
    decode: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> (Result<T, DecodeError>, Vec<Span>) {
    record(bytes, false, decode)
}

/// Like [`record_spans`], for explaining damaged input as far as it goes: a vector (or a
/// sub-reader's region) whose declared length overruns the bytes left is clipped to them
/// instead of failing, so whatever follows its length prefix is still decoded and
/// recorded. The result is then the first such truncation error, whatever `decode`
/// returned; well-formed input decodes exactly as with [`record_spans`].
pub fn record_spans_lenient<T>(
    bytes: &[u8],
    decode: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> (Result<T, DecodeError>, Vec<Span>) {
    record(bytes, true, decode)
}

fn record<T>(
    bytes: &[u8],
    lenient: bool,
    decode: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> (Result<T, DecodeError>, Vec<Span>) {
    let log = SpanLog {
        lenient,
        ..SpanLog::default()
    };
    let result = decode(&mut Reader {
        buf: bytes,
        pos: 0,
        base: 0,
        depth: 0,
        log: Some(&log),
    });
    let result = match log.clipped.into_inner() {
        Some(first) => Err(first),
        None => result,
    };
    (result, log.spans.into_inner())
}

/// A cursor over bytes received from a peer.
///
/// A reader made by [`Reader::new`] records nothing: the only cost of span recording on
/// this path is one predictable `Option` test per read, and nothing is allocated. Under
/// [`record_spans`] every read also pushes a [`Span`]. Decoders derive readers for a
/// vector's contents with [`Reader::vec_reader`] or [`Reader::sub`] (never
/// `Reader::new` on a slice), so that spans keep absolute offsets and their nesting.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf` in the outermost buffer.
    base: usize,
    /// Nesting level of the spans this reader records.
    depth: usize,
    /// Where spans go when recording.
    log: Option<&'a SpanLog>,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf` that records nothing.
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            base: 0,
            depth: 0,
            log: None,
        }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Bytes read so far.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// Whether this reader records spans.
    pub fn is_recording(&self) -> bool {
        self.log.is_some()
    }

    /// Records `[start, end)` (offsets in `buf`) when recording.
    #[inline]
    fn record(&self, start: usize, end: usize, what: &'static str, kind: SpanKind) -> usize {
        match self.log {
            None => usize::MAX,
            Some(log) => self.push_span(log, start, end, what, kind),
        }
    }

    #[cold]
    #[inline(never)]
    fn push_span(
        &self,
        log: &SpanLog,
        start: usize,
        end: usize,
        what: &'static str,
        kind: SpanKind,
    ) -> usize {
        log.push(Span {
            start: self.base + start,
            end: self.base + end,
            what,
            kind,
            depth: self.depth,
        })
    }

    /// Fails unless everything has been read: structures must not carry trailing bytes.
    pub fn expect_empty(&self, what: &'static str) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::new(
                what,
                DecodeReason::TrailingBytes { count },
            )),
        }
    }

    /// The next `n` bytes, unrecorded.
    #[inline]
    fn take_raw(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let available = self.remaining();
        if n > available {
            return Err(DecodeError::new(
                what,
                DecodeReason::Truncated {
                    needed: n,
                    available,
                },
            ));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// The next `N` bytes as an array, unrecorded.
    #[inline]
    fn take_array_raw<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take_raw(N, what)?);
        Ok(out)
    }

    /// `n` bytes or, when recording leniently and fewer are left, what is left (the error
    /// is kept for [`record_spans_lenient`] to return).
    fn take_clipped(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        match self.take_raw(n, what) {
            Err(e) => match self.log {
                Some(log) if log.lenient => {
                    if let Ok(mut first) = log.clipped.try_borrow_mut() {
                        first.get_or_insert(e);
                    }
                    Ok(self.rest_raw())
                }
                _ => Err(e),
            },
            ok => ok,
        }
    }

    fn rest_raw(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    /// The next `n` bytes.
    #[inline]
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let start = self.pos;
        let out = self.take_raw(n, what)?;
        self.record(start, self.pos, what, SpanKind::Value);
        Ok(out)
    }

    /// All remaining bytes, as the field `what`.
    pub fn rest(&mut self, what: &'static str) -> &'a [u8] {
        let start = self.pos;
        let out = self.rest_raw();
        self.record(start, self.pos, what, SpanKind::Value);
        out
    }

    /// A reader over the next `n` bytes (e.g. a handshake message's body), recorded as a
    /// group named `what`: its reads keep absolute offsets and nest one level deeper.
    pub fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, DecodeError> {
        let start = self.pos;
        let body = self.take_clipped(n, what)?;
        self.record(start, self.pos, what, SpanKind::Body);
        Ok(self.derive(start, body))
    }

    /// A reader over `body`, which starts at `start` in this reader's buffer.
    fn derive(&self, start: usize, body: &'a [u8]) -> Reader<'a> {
        Reader {
            buf: body,
            pos: 0,
            base: self.base + start,
            depth: self.depth + 1,
            log: self.log,
        }
    }

    /// Runs `fields` on this reader, recording what it reads as the structure `what` (a
    /// [`SpanKind::Struct`] group). Without recording this is just `fields(self)`.
    pub fn group<T>(
        &mut self,
        what: &'static str,
        fields: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        let Some(log) = self.log else {
            return fields(self);
        };
        let start = self.pos;
        let index = self.push_span(log, start, start, what, SpanKind::Struct);
        self.depth += 1;
        let out = fields(self);
        self.depth -= 1;
        log.set_end(index, self.base + self.pos);
        out
    }

    /// A fixed-size array, e.g. `Random random` (32 bytes).
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// A `uint8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    /// A big-endian `uint16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// A big-endian `uint24`.
    pub fn u24(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let [a, b, c] = self.array(what)?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    /// A big-endian `uint32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// A vector's length prefix, recorded as [`SpanKind::Length`], checked against
    /// `bounds`.
    fn vec_len(
        &mut self,
        prefix: LengthPrefix,
        what: &'static str,
        bounds: &RangeInclusive<usize>,
    ) -> Result<usize, DecodeError> {
        let start = self.pos;
        let len = match prefix {
            LengthPrefix::U8 => usize::from(self.take_raw(1, what)?[0]),
            LengthPrefix::U16 => {
                let [a, b] = self.take_array_raw(what)?;
                usize::from(u16::from_be_bytes([a, b]))
            }
            LengthPrefix::U24 => {
                let [a, b, c] = self.take_array_raw(what)?;
                u32::from_be_bytes([0, a, b, c]) as usize
            }
        };
        self.record(start, self.pos, what, SpanKind::Length);
        if !bounds.contains(&len) {
            return Err(DecodeError::new(
                what,
                DecodeReason::LengthOutOfRange {
                    len,
                    min: *bounds.start(),
                    max: *bounds.end(),
                },
            ));
        }
        Ok(len)
    }

    /// A vector with a `prefix`-sized length whose length must lie in `bounds`; its
    /// contents are recorded as one [`SpanKind::Value`].
    pub fn vec(
        &mut self,
        prefix: LengthPrefix,
        what: &'static str,
        bounds: RangeInclusive<usize>,
    ) -> Result<&'a [u8], DecodeError> {
        let len = self.vec_len(prefix, what, &bounds)?;
        let start = self.pos;
        let out = self.take_clipped(len, what)?;
        self.record(start, self.pos, what, SpanKind::Value);
        Ok(out)
    }

    /// A vector like [`Reader::vec`] whose contents are decoded by the returned reader
    /// (recorded as a [`SpanKind::Body`] group named `what`).
    pub fn vec_reader(
        &mut self,
        prefix: LengthPrefix,
        what: &'static str,
        bounds: RangeInclusive<usize>,
    ) -> Result<Reader<'a>, DecodeError> {
        let len = self.vec_len(prefix, what, &bounds)?;
        self.sub(len, what)
    }

    /// `opaque x<min..max>` with a one-byte length.
    pub fn vec_u8(
        &mut self,
        what: &'static str,
        bounds: RangeInclusive<usize>,
    ) -> Result<&'a [u8], DecodeError> {
        self.vec(LengthPrefix::U8, what, bounds)
    }

    /// `opaque x<min..max>` with a two-byte length.
    pub fn vec_u16(
        &mut self,
        what: &'static str,
        bounds: RangeInclusive<usize>,
    ) -> Result<&'a [u8], DecodeError> {
        self.vec(LengthPrefix::U16, what, bounds)
    }

    /// `opaque x<min..max>` with a three-byte length.
    pub fn vec_u24(
        &mut self,
        what: &'static str,
        bounds: RangeInclusive<usize>,
    ) -> Result<&'a [u8], DecodeError> {
        self.vec(LengthPrefix::U24, what, bounds)
    }

    /// A vector of elements decoded by `element` until its bytes are used up.
    ///
    /// `bounds` limits the byte length, as in the RFC's `T list<min..max>`. An element that
    /// reads past the vector's end fails as truncated.
    pub fn list<T>(
        &mut self,
        prefix: LengthPrefix,
        what: &'static str,
        bounds: RangeInclusive<usize>,
        mut element: impl FnMut(&mut Reader<'a>) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let mut sub = self.vec_reader(prefix, what, bounds)?;
        let mut out = Vec::new();
        while !sub.is_empty() {
            out.push(element(&mut sub)?);
        }
        Ok(out)
    }

    /// A vector of fixed-size elements: checks that the byte length is a multiple of
    /// `element_size` before decoding, so a ragged list gets a precise error.
    pub fn fixed_list<T: Codec>(
        &mut self,
        prefix: LengthPrefix,
        what: &'static str,
        bounds: RangeInclusive<usize>,
        element_size: usize,
    ) -> Result<Vec<T>, DecodeError> {
        let mut sub = self.vec_reader(prefix, what, bounds)?;
        let len = sub.remaining();
        if len % element_size != 0 {
            return Err(DecodeError::new(
                what,
                DecodeReason::RaggedList {
                    len,
                    element: element_size,
                },
            ));
        }
        let mut out = Vec::with_capacity(len / element_size);
        while !sub.is_empty() {
            out.push(T::decode(&mut sub)?);
        }
        Ok(out)
    }
}

/// Appends a `uint8`.
pub fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

/// Appends a big-endian `uint16`.
pub fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a big-endian `uint24`; fails if `v` does not fit in 24 bits.
pub fn put_u24(out: &mut Vec<u8>, v: usize, what: &'static str) -> Result<(), EncodeError> {
    let max = LengthPrefix::U24.max();
    if v > max {
        return Err(EncodeError { what, len: v, max });
    }
    out.extend_from_slice(&(v as u32).to_be_bytes()[1..]);
    Ok(())
}

/// Appends a big-endian `uint32`.
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a length-prefixed vector whose body `body` writes.
///
/// The prefix is reserved first and filled in afterwards; a body longer than the prefix can
/// express is an [`EncodeError`].
pub fn put_prefixed(
    out: &mut Vec<u8>,
    prefix: LengthPrefix,
    what: &'static str,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let at = out.len();
    out.resize(at + prefix.size(), 0);
    body(out)?;
    let len = out.len() - at - prefix.size();
    let max = prefix.max();
    if len > max {
        out.truncate(at);
        return Err(EncodeError { what, len, max });
    }
    let be = (len as u32).to_be_bytes();
    out[at..at + prefix.size()].copy_from_slice(&be[4 - prefix.size()..]);
    Ok(())
}

/// Appends `opaque x<..>` with a `prefix`-sized length.
pub fn put_opaque(
    out: &mut Vec<u8>,
    prefix: LengthPrefix,
    what: &'static str,
    bytes: &[u8],
) -> Result<(), EncodeError> {
    put_prefixed(out, prefix, what, |out| {
        out.extend_from_slice(bytes);
        Ok(())
    })
}

/// Appends a vector of encodable elements with a `prefix`-sized length.
pub fn put_list<T: Codec>(
    out: &mut Vec<u8>,
    prefix: LengthPrefix,
    what: &'static str,
    items: &[T],
) -> Result<(), EncodeError> {
    put_prefixed(out, prefix, what, |out| {
        items.iter().try_for_each(|item| item.encode(out))
    })
}

/// The last path segment of a type's name, for error messages.
fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cfg(test)]
mod tests {
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
}
