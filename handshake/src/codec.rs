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

use std::ops::RangeInclusive;

use crate::error::{DecodeError, DecodeReason, EncodeError};

mod spans;

use spans::SpanLog;
pub use spans::{Span, SpanKind, record_spans, record_spans_lenient};

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
mod tests;
