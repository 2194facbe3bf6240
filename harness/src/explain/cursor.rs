//! The cursor every explainer walks a message with.
//!
//! It hands out bytes only as [`Field`]s, in order, so each byte of the input lands in
//! exactly one leaf field. Reads are bounded by the current region (a vector's body, an
//! extension's data); whatever a region's explainer leaves unread is reported as an
//! "undecodable rest" leaf when the region closes. Nothing here indexes or slices without
//! `get`, so hostile input cannot make it panic.

use super::Field;

/// A position in a message, the end of the current region and the fields emitted so far.
pub(super) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
    depth: usize,
    fields: Vec<Field>,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `buf`, whose region is all of it.
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            end: buf.len(),
            depth: 0,
            fields: Vec::new(),
        }
    }

    /// The fields emitted.
    pub(super) fn finish(self) -> Vec<Field> {
        self.fields
    }

    /// Bytes left in the current region.
    pub(super) fn remaining(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }

    /// Whether the current region is used up.
    pub(super) fn at_end(&self) -> bool {
        self.remaining() == 0
    }

    /// The bytes of the current region not yet read.
    pub(super) fn peek_rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..self.end).unwrap_or_default()
    }

    /// The big-endian integer of `size` bytes (1 to 4) at `at` bytes past the position,
    /// without consuming it; `None` if the region is too short.
    pub(super) fn peek_uint(&self, at: usize, size: usize) -> Option<u32> {
        let start = self.pos.checked_add(at)?;
        let stop = start.checked_add(size)?;
        if stop > self.end || size > 4 {
            return None;
        }
        let bytes = self.buf.get(start..stop)?;
        Some(bytes.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
    }

    /// Emits the next `n` bytes as one leaf. `None`, and nothing emitted, if fewer remain.
    pub(super) fn leaf(
        &mut self,
        n: usize,
        name: &str,
        meaning: impl FnOnce(&'a [u8]) -> String,
    ) -> Option<&'a [u8]> {
        if n > self.remaining() {
            return None;
        }
        let bytes = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.fields.push(Field {
            depth: self.depth,
            name: name.to_owned(),
            offset: self.pos,
            hex: hex::encode(bytes),
            meaning: meaning(bytes),
            len: n,
            group: false,
        });
        self.pos += n;
        Some(bytes)
    }

    /// Emits a big-endian integer of `size` bytes (1 to 4) as one leaf.
    pub(super) fn uint(
        &mut self,
        size: usize,
        name: &str,
        meaning: impl FnOnce(u32) -> String,
    ) -> Option<u32> {
        let value = self.peek_uint(0, size)?;
        self.leaf(size, name, |_| meaning(value))?;
        Some(value)
    }

    /// Emits everything left in the region as one leaf, if anything is left.
    pub(super) fn rest(&mut self, name: &str, meaning: impl FnOnce(&'a [u8]) -> String) {
        let n = self.remaining();
        if n > 0 {
            self.leaf(n, name, meaning);
        }
    }

    /// Emits a leaf that stands for no bytes at all (an empty input, an empty body worth
    /// a word).
    pub(super) fn note(&mut self, name: &str, meaning: String) {
        self.fields.push(Field {
            depth: self.depth,
            name: name.to_owned(),
            offset: self.pos,
            hex: String::new(),
            meaning,
            len: 0,
            group: false,
        });
    }

    /// Runs `body` over the next `span` bytes (clipped to the region) without a header,
    /// then reports what it left unread.
    pub(super) fn region(&mut self, span: usize, body: impl FnOnce(&mut Self) -> Option<()>) {
        let span = span.min(self.remaining());
        let outer_end = self.end;
        self.end = self.pos + span;
        let _complete = body(self);
        self.undecodable_rest();
        self.end = outer_end;
    }

    /// Emits a group header for the next `span` bytes (clipped to the region) and runs
    /// `body` over them one level deeper; what it leaves unread is reported. `None` if
    /// `span` overran the region.
    pub(super) fn group(
        &mut self,
        span: usize,
        name: &str,
        meaning: String,
        body: impl FnOnce(&mut Self) -> Option<()>,
    ) -> Option<()> {
        let fits = span <= self.remaining();
        let span = span.min(self.remaining());
        self.fields.push(Field {
            depth: self.depth,
            name: name.to_owned(),
            offset: self.pos,
            hex: String::new(),
            meaning,
            len: span,
            group: true,
        });
        self.depth += 1;
        self.region(span, body);
        self.depth -= 1;
        fits.then_some(())
    }

    /// A length-prefixed vector (RFC 8446 §3.4) shown as a group: a `length` leaf of
    /// `prefix` bytes, then `body` over the vector's contents, clipped to the region if the
    /// length overruns it. `meaning` sees the same contents. `None` if the prefix is missing
    /// or the length overruns the region.
    pub(super) fn vector(
        &mut self,
        prefix: usize,
        name: &str,
        meaning: impl FnOnce(&'a [u8]) -> String,
        body: impl FnOnce(&mut Self) -> Option<()>,
    ) -> Option<()> {
        let declared = usize::try_from(self.peek_uint(0, prefix)?).ok()?;
        let fits = prefix.saturating_add(declared) <= self.remaining();
        let after = self.peek_rest().get(prefix..).unwrap_or_default();
        let contents = after.get(..declared).unwrap_or(after);
        let meaning = meaning(contents);
        self.group(prefix.saturating_add(declared), name, meaning, |c| {
            let available = c.remaining().saturating_sub(prefix);
            c.uint(prefix, "length", |n| length_meaning(n, available))?;
            // A vector that overruns is still explained as far as its bytes go.
            let _complete = body(c);
            fits.then_some(())
        })
    }

    /// A length-prefixed opaque value shown flat: a `<name> length` leaf and a `<name>`
    /// leaf. For an empty value only the length is shown, with `meaning(&[])` appended; a
    /// value that overruns the region is shown as far as it goes and said to be truncated.
    /// `None` if the prefix is missing or the length overruns the region.
    pub(super) fn opaque(
        &mut self,
        prefix: usize,
        name: &str,
        meaning: impl FnOnce(&'a [u8]) -> String,
    ) -> Option<&'a [u8]> {
        let declared = usize::try_from(self.peek_uint(0, prefix)?).ok()?;
        let available = self.remaining().saturating_sub(prefix);
        if declared == 0 {
            self.uint(prefix, &format!("{name} length"), |_| {
                format!("0: empty; {}", meaning(&[]))
            })?;
            return Some(&[]);
        }
        self.uint(prefix, &format!("{name} length"), |n| {
            length_meaning(n, available)
        })?;
        if declared <= available {
            return self.leaf(declared, name, meaning);
        }
        self.leaf(available, name, |part| {
            format!(
                "truncated: {available} of {declared} bytes present; {}",
                meaning(part)
            )
        });
        None
    }

    /// Reports the unread bytes of the region as one leaf.
    fn undecodable_rest(&mut self) {
        self.rest("undecodable rest", |rest| {
            format!(
                "{} byte(s) that do not decode as this structure: malformed, truncated or \
                 not understood",
                rest.len()
            )
        });
    }
}

/// "n bytes follow", or the overrun when fewer are there.
pub(super) fn length_meaning(declared: u32, available: usize) -> String {
    match usize::try_from(declared) {
        Ok(1) if available >= 1 => "1 byte follows".into(),
        Ok(n) if n <= available => format!("{n} bytes follow"),
        _ => format!(
            "{} declared, only {available} present: truncated",
            bytes(declared)
        ),
    }
}

/// "1 byte", "n bytes".
pub(super) fn bytes(n: u32) -> String {
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}
