//! Where the record boundaries fall in one direction's byte stream, so that the proxy can
//! say which record a byte belongs to. A TLS record is a 5-byte header (content type,
//! legacy version, 16-bit length) and that many bytes (RFC 8446 §5.1).

/// The record name of a content type (RFC 8446 §5.1, `ContentType`).
pub fn content_type(byte: u8) -> String {
    match byte {
        20 => "change_cipher_spec".into(),
        21 => "alert".into(),
        22 => "handshake".into(),
        23 => "application_data".into(),
        other => format!("content type {other}"),
    }
}

/// A record's kind and size in words: `handshake, 122 bytes`.
pub fn describe_record(record: &[u8]) -> String {
    match record.first() {
        Some(&t) => format!("{}, {} bytes", content_type(t), record.len()),
        None => "empty".into(),
    }
}

/// Follows the record boundaries of a byte stream fed in pieces.
#[derive(Debug, Default)]
pub struct Framing {
    /// Bytes consumed.
    pos: u64,
    /// Records whose first byte was consumed.
    started: u64,
    /// Where the current record starts.
    start: u64,
    /// Its header bytes so far (up to 5).
    header: Vec<u8>,
    /// Where it ends, once its header is complete.
    end: Option<u64>,
}

impl Framing {
    /// Consumes the next bytes of the stream.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.started == 0 || self.end == Some(self.pos) {
                self.started += 1;
                self.start = self.pos;
                self.header.clear();
                self.end = None;
            }
            let take = match self.end {
                None => {
                    let take = (5 - self.header.len()).min(bytes.len());
                    self.header.extend_from_slice(&bytes[..take]);
                    if self.header.len() == 5 {
                        let len = u16::from_be_bytes([self.header[3], self.header[4]]);
                        self.end = Some(self.start + 5 + u64::from(len));
                    }
                    take
                }
                Some(end) => ((end - self.pos) as usize).min(bytes.len()),
            };
            self.pos += take as u64;
            bytes = &bytes[take..];
        }
    }

    /// Where the last byte consumed lies: `byte 7 of record 2 (handshake, 122 bytes)`,
    /// counting from 0 and the record's header included. `ahead`, the bytes that follow,
    /// completes a header the byte is part of.
    pub fn last_byte(&self, ahead: &[u8]) -> String {
        if self.started == 0 {
            return "before the first record".into();
        }
        let mut header = self.header.clone();
        let more = (5 - header.len()).min(ahead.len());
        header.extend_from_slice(&ahead[..more]);
        let kind = match header.len() {
            0 => String::new(),
            1..=4 => format!(" ({})", content_type(header[0])),
            _ => {
                let len = 5 + u16::from_be_bytes([header[3], header[4]]);
                format!(" ({}, {len} bytes)", content_type(header[0]))
            }
        };
        format!(
            "byte {} of record {}{kind}",
            self.pos - 1 - self.start,
            self.started - 1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_placed_in_their_records_across_pieces() {
        // Record 0: handshake with 3 bytes of body; record 1: application_data with 2.
        let stream = [22, 3, 3, 0, 3, 1, 2, 3, 23, 3, 3, 0, 2, 9, 9];
        for split in 0..=10 {
            let mut f = Framing::default();
            f.feed(&stream[..split]);
            f.feed(&stream[split..10]);
            let place = f.last_byte(&[]);
            assert_eq!(place, "byte 1 of record 1 (application_data)", "{split}");
            assert_eq!(
                f.last_byte(&stream[10..]),
                "byte 1 of record 1 (application_data, 7 bytes)",
                "the header completed by the bytes ahead"
            );
            f.feed(&stream[10..]);
            let place = f.last_byte(&[]);
            assert_eq!(place, "byte 6 of record 1 (application_data, 7 bytes)");
        }
        let mut f = Framing::default();
        assert_eq!(f.last_byte(&[]), "before the first record");
        f.feed(&stream[..6]);
        assert_eq!(f.last_byte(&[]), "byte 5 of record 0 (handshake, 8 bytes)");
    }

    #[test]
    fn records_are_named() {
        assert_eq!(describe_record(&[21, 3, 3, 0, 2, 1, 0]), "alert, 7 bytes");
        assert_eq!(content_type(99), "content type 99");
    }
}
