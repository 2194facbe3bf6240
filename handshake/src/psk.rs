//! External pre-shared keys (RFC 8446 §2.2, §4.2.11): a secret both parties were given
//! out of band, named by an identity, and the PSK file format that holds them.
//!
//! A PSK file has one key per line, `IDENTITY:HEXKEY`, where HEXKEY is the key in hex —
//! the same string OpenSSL's `-psk` option takes. Blank lines and lines starting with `#`
//! are ignored. Identities are 1 to 255 printable ASCII characters without `:`; keys are
//! 16 to 64 bytes (a shorter key could be guessed offline from one recorded binder).
//! Every key is used with SHA-256, the hash of the only cipher suite keylab speaks.

use std::fmt;

use zeroize::Zeroizing;

/// Shortest key accepted: 128 bits.
pub const MIN_PSK_LEN: usize = 16;
/// Longest key accepted.
pub const MAX_PSK_LEN: usize = 64;
/// Longest identity accepted (keylab's own limit; the wire allows 65535 bytes).
pub const MAX_IDENTITY_LEN: usize = 255;

/// An external PSK: its identity and secret. The secret is wiped when dropped and never
/// printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ExternalPsk {
    identity: String,
    secret: Zeroizing<Vec<u8>>,
}

/// Why a PSK or a PSK file was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PskError {
    /// The identity is empty, too long or holds characters outside printable ASCII.
    #[error("PSK identity {0:?} must be 1 to 255 printable ASCII characters without ':'")]
    BadIdentity(String),
    /// The key has the wrong length.
    #[error("PSK {identity:?} is {len} bytes; keys must be 16 to 64 bytes")]
    BadLength {
        /// Its identity.
        identity: String,
        /// Its length in bytes.
        len: usize,
    },
    /// The key is not hex.
    #[error("PSK {identity:?}: the key is not hex ({reason})")]
    BadHex {
        /// Its identity.
        identity: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A line of a PSK file is not `IDENTITY:HEXKEY`.
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The file holds no key.
    #[error("the PSK file holds no key (expected IDENTITY:HEXKEY lines)")]
    Empty,
}

impl ExternalPsk {
    /// A PSK from its identity and secret bytes.
    pub fn new(identity: &str, secret: &[u8]) -> Result<Self, PskError> {
        let printable = |c: char| c.is_ascii_graphic() && c != ':';
        if identity.is_empty()
            || identity.len() > MAX_IDENTITY_LEN
            || !identity.chars().all(printable)
        {
            return Err(PskError::BadIdentity(identity.chars().take(80).collect()));
        }
        if !(MIN_PSK_LEN..=MAX_PSK_LEN).contains(&secret.len()) {
            return Err(PskError::BadLength {
                identity: identity.to_owned(),
                len: secret.len(),
            });
        }
        Ok(Self {
            identity: identity.to_owned(),
            secret: Zeroizing::new(secret.to_vec()),
        })
    }

    /// A PSK from its identity and the key in hex (as OpenSSL's `-psk` takes it).
    pub fn from_hex(identity: &str, hex: &str) -> Result<Self, PskError> {
        let secret = decode_hex(hex).map_err(|reason| PskError::BadHex {
            identity: identity.to_owned(),
            reason,
        })?;
        Self::new(identity, &secret)
    }

    /// The identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The secret.
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The key in hex, as OpenSSL's `-psk` takes it.
    pub fn hex(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(self.secret.len() * 2));
        for b in self.secret.iter() {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }
}

impl fmt::Debug for ExternalPsk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalPsk")
            .field("identity", &self.identity)
            .field("len", &self.secret.len())
            .finish_non_exhaustive()
    }
}

fn decode_hex(hex: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    if !hex.len().is_multiple_of(2) {
        return Err(format!("{} hex digits, an odd number", hex.len()));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(hex.len() / 2));
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        match (digit(pair[0]), digit(pair[1])) {
            (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
            _ => return Err(format!("a non-hex character near position {}", 2 * i + 1)),
        }
    }
    Ok(out)
}

/// Parses a PSK file: one `IDENTITY:HEXKEY` per line, `#` comments and blank lines
/// ignored, each identity at most once. Errors name the line; the key is never echoed.
pub fn parse_psk_file(text: &str) -> Result<Vec<ExternalPsk>, PskError> {
    let mut keys: Vec<ExternalPsk> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at_line = |reason: String| PskError::Line {
            line: line_no,
            reason,
        };
        let Some((identity, hex)) = line.rsplit_once(':') else {
            return Err(at_line("expected IDENTITY:HEXKEY".into()));
        };
        let psk = ExternalPsk::from_hex(identity.trim(), hex.trim())
            .map_err(|e| at_line(e.to_string()))?;
        if keys.iter().any(|k| k.identity == psk.identity) {
            return Err(at_line(format!(
                "identity {:?} appears more than once",
                psk.identity
            )));
        }
        keys.push(psk);
    }
    if keys.is_empty() {
        return Err(PskError::Empty);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_file_with_comments() {
        let text = "# lab keys\n\nalice:000102030405060708090a0b0c0d0e0f\n  bob : FFEEDDCCBBAA99887766554433221100ffeeddcc  \n";
        let keys = parse_psk_file(text).expect("valid");
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].identity(), "alice");
        assert_eq!(keys[0].secret(), (0u8..16).collect::<Vec<_>>());
        assert_eq!(keys[1].identity(), "bob");
        assert_eq!(keys[1].secret().len(), 20);
        assert_eq!(&*keys[1].hex(), "ffeeddccbbaa99887766554433221100ffeeddcc");
    }

    #[test]
    fn errors_name_the_line_and_never_the_key() {
        let cases = [
            ("nocolon\n", 1, "expected IDENTITY:HEXKEY"),
            ("a:00112233445566778899aabbccddeeff\nb:0011\n", 2, "2 bytes"),
            ("a:zz112233445566778899aabbccddeeff\n", 1, "not hex"),
            ("a:0112233445566778899aabbccddeeff\n", 1, "odd number"),
            (":00112233445566778899aabbccddeeff\n", 1, "identity"),
            (
                "a:00112233445566778899aabbccddeeff\na:00112233445566778899aabbccddeeff\n",
                2,
                "more than once",
            ),
        ];
        for (text, line, needle) in cases {
            let err = parse_psk_file(text).expect_err(text);
            assert!(
                matches!(&err, PskError::Line { line: l, .. } if *l == line),
                "{text:?}: {err}"
            );
            let msg = err.to_string();
            assert!(msg.contains(needle), "{msg}");
            assert!(!msg.contains("8899aabb"), "key echoed: {msg}");
        }
        assert_eq!(parse_psk_file("# nothing\n"), Err(PskError::Empty));
    }

    #[test]
    fn debug_hides_the_secret() {
        let psk = ExternalPsk::new("id", &[7; 32]).expect("valid");
        assert_eq!(
            format!("{psk:?}"),
            "ExternalPsk { identity: \"id\", len: 32, .. }"
        );
    }
}
