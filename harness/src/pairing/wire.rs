//! The pairing wire format: a handful of small framed messages over one TCP connection.
//!
//! ```text
//! frame   = version (1 byte, 0x01) || kind (1 byte) || length (2 bytes, big-endian) || body
//! kind 1  Hello    body = identity length (1 byte) || identity || SPAKE2 message (33 bytes:
//!                         a side byte, 'A' or 'B', then a compressed Ed25519 point)
//! kind 2  Confirm  body = HMAC-SHA256 key confirmation (32 bytes)
//! kind 3  Done     body = empty: the connector accepted the listener's confirmation
//! kind 4  Abort    body = reason (1 byte): 1 the confirmation did not verify
//! ```
//!
//! Bodies are at most [`MAX_BODY`] bytes, so a peer cannot make the other side allocate
//! much; each read and write is bounded by the socket's timeout, set by the caller.
//! Another version byte is refused: a later format would change it.

use std::io::{self, Read, Write};

/// The version byte of every frame.
pub const VERSION: u8 = 1;
/// The largest body accepted (a Hello holds at most 1 + 255 + 33 bytes).
pub const MAX_BODY: usize = 512;
/// The Abort reason: the key confirmation did not verify (the codes differ).
pub const ABORT_MISMATCH: u8 = 1;

/// What a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The identity and the SPAKE2 message.
    Hello = 1,
    /// The key confirmation MAC.
    Confirm = 2,
    /// The connector's last word: it accepted the listener's confirmation.
    Done = 3,
    /// The other side gave up.
    Abort = 4,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Self> {
        [Kind::Hello, Kind::Confirm, Kind::Done, Kind::Abort]
            .into_iter()
            .find(|k| *k as u8 == b)
    }
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The connection failed or timed out.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The peer speaks another version of this format.
    #[error("the peer speaks pairing format version {0}, this side version {VERSION}")]
    Version(u8),
    /// An unknown kind byte.
    #[error("unknown pairing message kind {0}")]
    Kind(u8),
    /// A body longer than [`MAX_BODY`].
    #[error("a pairing message of {0} bytes (at most {MAX_BODY})")]
    TooLong(usize),
}

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, kind: Kind, body: &[u8]) -> Result<(), WireError> {
    if body.len() > MAX_BODY {
        return Err(WireError::TooLong(body.len()));
    }
    let len = u16::try_from(body.len()).map_err(|_| WireError::TooLong(body.len()))?;
    let mut frame = vec![VERSION, kind as u8];
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    w.write_all(&frame)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame: its kind and body.
pub fn read_frame(r: &mut impl Read) -> Result<(Kind, Vec<u8>), WireError> {
    let mut header = [0u8; 4];
    r.read_exact(&mut header)?;
    let [version, kind, hi, lo] = header;
    if version != VERSION {
        return Err(WireError::Version(version));
    }
    let kind = Kind::from_u8(kind).ok_or(WireError::Kind(kind))?;
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if len > MAX_BODY {
        return Err(WireError::TooLong(len));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok((kind, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_bad_headers_are_refused() {
        let mut buf = Vec::new();
        write_frame(&mut buf, Kind::Confirm, &[7; 32]).expect("written");
        assert_eq!(&buf[..4], &[1, 2, 0, 32]);
        let (kind, body) = read_frame(&mut buf.as_slice()).expect("read");
        assert_eq!((kind, body), (Kind::Confirm, vec![7; 32]));
        let read = |bytes: &[u8]| {
            read_frame(&mut &bytes[..])
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert!(read(&[2, 1, 0, 0]).expect_err("v2").contains("version 2"));
        assert!(read(&[1, 9, 0, 0]).expect_err("kind").contains("kind 9"));
        assert!(read(&[1, 1, 2, 1]).expect_err("long").contains("513 bytes"));
        assert!(read(&[1, 1, 0, 5, 0]).is_err(), "a short body is an error");
        assert!(write_frame(&mut Vec::new(), Kind::Hello, &[0; 513]).is_err());
    }
}
