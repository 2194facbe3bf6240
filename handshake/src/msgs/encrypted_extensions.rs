//! EncryptedExtensions (RFC 8446 §4.3.1).

use crate::codec::{Codec, Reader};
use crate::error::{DecodeError, EncodeError};
use crate::msgs::enums::ExtensionContext;
use crate::msgs::extensions::Extensions;

/// RFC 8446 §4.3.1 `EncryptedExtensions`: the server's replies to extensions that do not
/// establish keys, sent right after ServerHello under the handshake keys.
///
/// ```text
/// struct {
///     Extension extensions<0..2^16-1>;
/// } EncryptedExtensions;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncryptedExtensions {
    /// The extensions.
    pub extensions: Extensions,
}

impl Codec for EncryptedExtensions {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.extensions
            .encode(out, "EncryptedExtensions.extensions")
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            extensions: Extensions::decode(
                r,
                "EncryptedExtensions.extensions",
                0..=0xffff,
                ExtensionContext::EncryptedExtensions,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DecodeReason;
    use crate::msgs::enums::ExtensionType;

    #[test]
    fn key_share_is_forbidden_in_encrypted_extensions() {
        // §4.3.1: "The client MUST check EncryptedExtensions for the presence of any
        // forbidden extensions and if any are found MUST abort the handshake with an
        // "illegal_parameter" alert."
        let bytes = [0, 8, 0, 51, 0, 4, 0, 0x1d, 0, 0];
        let err = EncryptedExtensions::from_bytes(&bytes).expect_err("forbidden");
        assert_eq!(
            err.reason,
            DecodeReason::ExtensionNotAllowed {
                extension: ExtensionType::KeyShare,
                context: ExtensionContext::EncryptedExtensions
            }
        );
    }
}
