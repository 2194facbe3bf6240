//! Wire encoding in the presentation language of RFC 8446 §3.
//!
//! Decoding goes through a [`Reader`] over a borrowed byte slice. Every read names what it is
//! reading, so a failure says which field was wrong ("ClientHello.cipher_suites: length 3 is
//! not a multiple of the element size 2"). Vectors (`opaque x<min..max>`, RFC 8446 §3.4) carry
//! a length prefix of 1, 2 or 3 bytes and bounds that are checked on decode.
//!
//! Encoding appends to a `Vec<u8>`. Length prefixes are written by [`put_prefixed`], which
//! fails with an [`EncodeError`] rather than truncating when the body is too long.

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

/// A cursor over bytes received from a peer.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
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

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
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

    /// All remaining bytes.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
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

    /// A vector with a `prefix`-sized length whose length must lie in `bounds`.
    pub fn vec(
        &mut self,
        prefix: LengthPrefix,
        what: &'static str,
        bounds: RangeInclusive<usize>,
    ) -> Result<&'a [u8], DecodeError> {
        let len = match prefix {
            LengthPrefix::U8 => usize::from(self.u8(what)?),
            LengthPrefix::U16 => usize::from(self.u16(what)?),
            LengthPrefix::U24 => self.u24(what)? as usize,
        };
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
        self.take(len, what)
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
        let mut sub = Reader::new(self.vec(prefix, what, bounds)?);
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
        let body = self.vec(prefix, what, bounds)?;
        if body.len() % element_size != 0 {
            return Err(DecodeError::new(
                what,
                DecodeReason::RaggedList {
                    len: body.len(),
                    element: element_size,
                },
            ));
        }
        let mut sub = Reader::new(body);
        let mut out = Vec::with_capacity(body.len() / element_size);
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
