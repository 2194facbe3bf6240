//! Digest-mode shares and their text form.
//!
//! One share is one line of ASCII, safe in file names, URLs and e-mail:
//!
//! ```text
//! keylab-share-v1:<split id>:<threshold>:<x>:<y>
//!   split id   16 lowercase hex digits (8 random bytes, the same on every share of a split)
//!   threshold  decimal, 2..=253: how many shares rebuild the secret
//!   x          decimal, 1..=253: this share's x-coordinate
//!   y          base64url without padding (RFC 4648 §5): f(x) for every secret byte,
//!              as many bytes as the secret (16..=65536)
//! ```
//!
//! Example: `keylab-share-v1:5be1e93c02a4d0f7:3:17:q5...`. A reader refuses anything else:
//! another version, upper-case hex, leading zeros or signs, padding, whitespace inside.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::Error;
use crate::split::{MAX_SECRET_LEN, MAX_X, MIN_SECRET_LEN};

/// The prefix naming the format and its version.
pub const PREFIX: &str = "keylab-share-v1";

/// The random identifier every share of one split carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SplitId(pub [u8; 8]);

impl fmt::Display for SplitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl FromStr for SplitId {
    type Err = Error;

    /// Exactly 16 lowercase hex digits.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::Format(format!("split id {s:?} is not 16 lowercase hex digits"));
        if s.len() != 16
            || !s
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad());
        }
        let mut id = [0u8; 8];
        hex::decode_to_slice(s, &mut id).map_err(|_| bad())?;
        Ok(Self(id))
    }
}

/// One digest-mode share: a point `(x, y)` of the split's polynomials plus the split's
/// id and threshold. `y` is zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Share {
    split_id: SplitId,
    threshold: u8,
    x: u8,
    y: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Share {
    /// Leaves the share value out: it is secret material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Share")
            .field("split_id", &self.split_id)
            .field("threshold", &self.threshold)
            .field("x", &self.x)
            .field("len", &self.y.len())
            .finish_non_exhaustive()
    }
}

impl Share {
    /// A share from its parts, unchecked: [`crate::combine`] checks ranges and consistency.
    pub fn from_parts(split_id: SplitId, threshold: u8, x: u8, y: Vec<u8>) -> Self {
        Self {
            split_id,
            threshold,
            x,
            y: Zeroizing::new(y),
        }
    }

    /// The id of the split this share belongs to.
    pub fn split_id(&self) -> SplitId {
        self.split_id
    }

    /// How many shares rebuild the secret.
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// This share's x-coordinate.
    pub fn x(&self) -> u8 {
        self.x
    }

    /// The share value: one byte per secret byte.
    pub fn y(&self) -> &[u8] {
        &self.y
    }

    /// The share value, mutable (for tests that corrupt shares).
    pub fn y_mut(&mut self) -> &mut [u8] {
        &mut self.y
    }

    /// The one-line text form (module docs); zeroized on drop.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{PREFIX}:{}:{}:{}:{}",
            self.split_id,
            self.threshold,
            self.x,
            URL_SAFE_NO_PAD.encode(self.y.as_slice())
        ))
    }

    /// Parses the text form; surrounding whitespace (a final newline) is ignored.
    pub fn from_text(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        let fields: Vec<&str> = text.split(':').collect();
        let [prefix, id, threshold, x, y] = fields.as_slice() else {
            return Err(Error::Format(format!(
                "expected 5 fields separated by ':', found {}",
                fields.len()
            )));
        };
        if *prefix != PREFIX {
            return Err(Error::Format(format!(
                "expected the prefix {PREFIX}, found {:?}",
                truncate(prefix)
            )));
        }
        let split_id = id.parse()?;
        let threshold = decimal(threshold, "threshold", 2, MAX_X)?;
        let x = decimal(x, "x", 1, MAX_X)?;
        let y = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(y)
                .map_err(|e| Error::Format(format!("share value is not base64url: {e}")))?,
        );
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&y.len()) {
            return Err(Error::Format(format!(
                "share value has {} bytes, expected {MIN_SECRET_LEN}..={MAX_SECRET_LEN}",
                y.len()
            )));
        }
        Ok(Self {
            split_id,
            threshold,
            x,
            y,
        })
    }
}

/// A decimal number in `min..=max` without sign or leading zeros.
fn decimal(s: &str, what: &str, min: u8, max: u8) -> Result<u8, Error> {
    let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0');
    match s.parse::<u8>() {
        Ok(v) if canonical && (min..=max).contains(&v) => Ok(v),
        _ => Err(Error::Format(format!(
            "{what} {:?} is not a number in {min}..={max}",
            truncate(s)
        ))),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Share {
        Share::from_parts(
            SplitId([0x5b, 0xe1, 0xe9, 0x3c, 2, 0xa4, 0xd0, 0xf7]),
            3,
            17,
            (0..32).collect(),
        )
    }

    #[test]
    fn text_round_trip() {
        let share = sample();
        let text = share.to_text();
        assert!(text.starts_with("keylab-share-v1:5be1e93c02a4d0f7:3:17:AAECAwQF"));
        assert_eq!(Share::from_text(&format!("{}\n", text.as_str())), Ok(share));
    }

    #[test]
    fn malformed_text_is_refused_with_a_reason() {
        let good = sample().to_text().to_string();
        let cases = [
            (String::new(), "5 fields"),
            (good.replace("keylab-share-v1", "keylab-share-v2"), "prefix"),
            (
                good.replace("5be1e93c02a4d0f7", "5BE1E93C02A4D0F7"),
                "split id",
            ),
            (good.replace("5be1e93c02a4d0f7", "5be1e93c"), "split id"),
            (good.replace(":3:17:", ":1:17:"), "threshold"),
            (good.replace(":3:17:", ":03:17:"), "threshold"),
            (good.replace(":3:17:", ":3:0:"), "x"),
            (good.replace(":3:17:", ":3:254:"), "x"),
            (good.replace(":3:17:", ":3:+7:"), "x"),
            (format!("{good}="), "base64url"),
            (format!("{good}:extra"), "5 fields"),
            (
                "keylab-share-v1:5be1e93c02a4d0f7:3:17:AAAA".to_owned(),
                "3 bytes",
            ),
        ];
        for (text, reason) in cases {
            match Share::from_text(&text) {
                Err(Error::Format(msg)) => assert!(msg.contains(reason), "{text}: {msg}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn debug_hides_the_value() {
        let debug = format!("{:?}", sample());
        assert!(debug.contains("len: 32") && !debug.contains("[0, 1"));
    }
}
