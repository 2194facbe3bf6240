//! Span recording: which bytes each read of a [`Reader`] covered, for explaining a message
//! byte by byte with the codec's own description of the wire format.

use std::cell::RefCell;

use super::Reader;
use crate::error::DecodeError;

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
pub(super) struct SpanLog {
    spans: RefCell<Vec<Span>>,
    /// Lenient recording: a vector that claims more bytes than are left is clipped to
    /// what is there instead of failing, and the first such error is kept here.
    pub(super) lenient: bool,
    pub(super) clipped: RefCell<Option<DecodeError>>,
}

impl SpanLog {
    /// Appends a span and returns its index; never panics (a span that cannot be pushed
    /// because the log is borrowed, which no code path does, is dropped).
    pub(super) fn push(&self, span: Span) -> usize {
        match self.spans.try_borrow_mut() {
            Ok(mut spans) => {
                spans.push(span);
                spans.len() - 1
            }
            Err(_) => usize::MAX,
        }
    }

    pub(super) fn set_end(&self, index: usize, end: usize) {
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
