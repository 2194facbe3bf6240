//! Names under which keys are published.
//!
//! A name is normalised before anything else sees it: surrounding white space is
//! trimmed and every character is mapped to Unicode lowercase (`str::to_lowercase`, the
//! full mapping, so `ÉVE` becomes `éve`). The normalised name must then
//!
//! - have 1 to [`MAX_NAME_CHARS`] characters and at most [`MAX_NAME_BYTES`] bytes of UTF-8;
//! - consist of letters and digits (Unicode alphabetic or numeric) and the punctuation
//!   `. - _ @ +`, and start with a letter or digit (no spaces, controls or symbols);
//! - not be 64 hexadecimal digits, which would read as a key fingerprint.
//!
//! Names are not NFC-normalised and mixed scripts are allowed: `é` typed as one code point
//! and as `e` + combining accent are different names (the accent is refused, being
//! neither a letter nor a digit), and look-alike letters from different scripts are
//! different names. Clients show fingerprints for this reason.

/// The most characters in a name.
pub const MAX_NAME_CHARS: usize = 64;
/// The most bytes of UTF-8 in a name.
pub const MAX_NAME_BYTES: usize = 256;

/// The punctuation allowed in names besides letters and digits.
pub const NAME_PUNCTUATION: &[char] = &['.', '-', '_', '@', '+'];

/// Why a name was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing left after trimming.
    #[error("the name is empty")]
    Empty,
    /// Too many characters or bytes.
    #[error(
        "the name is too long: {chars} characters, {bytes} bytes (at most {MAX_NAME_CHARS} \
         characters and {MAX_NAME_BYTES} bytes)"
    )]
    TooLong {
        /// Characters in the normalised name.
        chars: usize,
        /// Bytes in the normalised name.
        bytes: usize,
    },
    /// A character outside the allowed set.
    #[error(
        "the name contains {0:?} (U+{code:04X}): only letters, digits and . - _ @ + are \
         allowed",
        code = u32::from(*.0)
    )]
    BadCharacter(char),
    /// Punctuation first.
    #[error("the name must start with a letter or digit, not {0:?}")]
    BadStart(char),
    /// Looks like a fingerprint.
    #[error("the name looks like a key fingerprint (64 hex digits)")]
    LooksLikeFingerprint,
}

/// The normalised form of `raw`, or why it cannot be a name.
pub fn normalize(raw: &str) -> Result<String, NameError> {
    let name = raw.trim().to_lowercase();
    let chars = name.chars().count();
    if chars == 0 {
        return Err(NameError::Empty);
    }
    if chars > MAX_NAME_CHARS || name.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong {
            chars,
            bytes: name.len(),
        });
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_alphanumeric() || NAME_PUNCTUATION.contains(&c)))
    {
        return Err(NameError::BadCharacter(c));
    }
    if let Some(c) = name.chars().next().filter(|c| !c.is_alphanumeric()) {
        return Err(NameError::BadStart(c));
    }
    if is_fingerprint(&name) {
        return Err(NameError::LooksLikeFingerprint);
    }
    Ok(name)
}

/// Whether `text` has the form of a key fingerprint: 64 lowercase hex digits.
pub fn is_fingerprint(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        assert_eq!(
            normalize("  Alice@Example.ORG \n"),
            Ok("alice@example.org".into())
        );
        assert_eq!(normalize("ÉVE"), Ok("éve".into()));
        assert_eq!(normalize("Straße"), Ok("straße".into()));
        assert_eq!(normalize("ΟΔΥΣΣΕΥΣ"), Ok("οδυσσευς".into()));
        assert_eq!(normalize("bob+keys_2"), Ok("bob+keys_2".into()));
        assert_eq!(normalize("東京"), Ok("東京".into()));
    }

    #[test]
    fn refuses_bad_names_with_the_reason() {
        assert_eq!(normalize("   "), Err(NameError::Empty));
        assert_eq!(normalize("a b"), Err(NameError::BadCharacter(' ')));
        assert_eq!(normalize("a\u{0}"), Err(NameError::BadCharacter('\0')));
        assert_eq!(
            normalize("e\u{301}"),
            Err(NameError::BadCharacter('\u{301}'))
        );
        assert_eq!(normalize("a/b"), Err(NameError::BadCharacter('/')));
        assert_eq!(normalize(".hidden"), Err(NameError::BadStart('.')));
        assert_eq!(normalize("-rf"), Err(NameError::BadStart('-')));
        assert!(matches!(
            normalize(&"a".repeat(65)),
            Err(NameError::TooLong { chars: 65, .. })
        ));
        assert_eq!(normalize(&"x".repeat(64)).map(|n| n.len()), Ok(64));
        assert_eq!(
            normalize(&"AB".repeat(32)),
            Err(NameError::LooksLikeFingerprint)
        );
        let message = normalize("a b").map_err(|e| e.to_string());
        assert_eq!(
            message,
            Err(
                "the name contains ' ' (U+0020): only letters, digits and . - _ @ + are \
                 allowed"
                    .into()
            )
        );
    }
}
