//! The ClientHello form of pre_shared_key (RFC 8446 §4.2.11) and the partial ClientHello
//! its binders are computed over (§4.2.11.2).

use crate::codec::{Codec, LengthPrefix, Reader, put_opaque, put_prefixed, put_u32};
use crate::error::{DecodeError, DecodeReason, EncodeError};

/// RFC 8446 §4.2.11 `PskIdentity`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PskIdentity {
    /// The label of the key: a ticket (§4.6.1) or an external PSK identity.
    pub identity: Vec<u8>,
    /// For a ticket, its age in milliseconds plus ticket_age_add, mod 2^32; 0 for an
    /// external PSK.
    pub obfuscated_ticket_age: u32,
}

impl Codec for PskIdentity {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_opaque(
            out,
            LengthPrefix::U16,
            "PskIdentity.identity",
            &self.identity,
        )?;
        put_u32(out, self.obfuscated_ticket_age);
        Ok(())
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            identity: r.vec_u16("PskIdentity.identity", 1..=0xffff)?.to_vec(),
            obfuscated_ticket_age: r.u32("PskIdentity.obfuscated_ticket_age")?,
        })
    }
}

/// RFC 8446 §4.2.11 `OfferedPsks`: identities, and one binder per identity in the same
/// order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedPsks {
    /// `PskIdentity identities<7..2^16-1>`.
    pub identities: Vec<PskIdentity>,
    /// `PskBinderEntry binders<33..2^16-1>`, each `opaque<32..255>`.
    pub binders: Vec<Vec<u8>>,
}

impl OfferedPsks {
    /// The number of bytes the binders list takes at the very end of the ClientHello: its
    /// two-byte length plus each binder with its one-byte length.
    pub fn binders_len(&self) -> usize {
        2 + self.binders.iter().map(|b| 1 + b.len()).sum::<usize>()
    }

    fn encode_binders(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_prefixed(out, LengthPrefix::U16, "OfferedPsks.binders", |out| {
            self.binders
                .iter()
                .try_for_each(|binder| put_opaque(out, LengthPrefix::U8, "PskBinderEntry", binder))
        })
    }
}

impl Codec for OfferedPsks {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_prefixed(out, LengthPrefix::U16, "OfferedPsks.identities", |out| {
            self.identities.iter().try_for_each(|id| id.encode(out))
        })?;
        self.encode_binders(out)
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let identities = r.list(
            LengthPrefix::U16,
            "OfferedPsks.identities",
            7..=0xffff,
            PskIdentity::decode,
        )?;
        let binders = r.list(LengthPrefix::U16, "OfferedPsks.binders", 33..=0xffff, |r| {
            Ok(r.vec_u8("PskBinderEntry", 32..=255)?.to_vec())
        })?;
        if identities.len() != binders.len() {
            return Err(DecodeError::new(
                "OfferedPsks",
                DecodeReason::BinderCountMismatch {
                    identities: identities.len(),
                    binders: binders.len(),
                },
            ));
        }
        Ok(Self {
            identities,
            binders,
        })
    }
}

/// RFC 8446 §4.2.11.2: the partial ClientHello a PSK binder covers.
///
/// "The PSK binder ... is computed ... over ... the ClientHello up to and including the
/// PreSharedKeyExtension.identities field", i.e. the whole encoded ClientHello (with its
/// handshake header and final lengths) minus the binders list at its end. Because
/// pre_shared_key is the last extension (§4.2.11) and binders its last field, that is a
/// prefix of `client_hello`. `None` if `client_hello` is too short to hold the binders.
pub fn binder_prefix<'a>(client_hello: &'a [u8], offer: &OfferedPsks) -> Option<&'a [u8]> {
    let end = client_hello.len().checked_sub(offer.binders_len())?;
    client_hello.get(..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binder_and_identity_counts_must_match() {
        let mut bytes = Vec::new();
        let offer = OfferedPsks {
            identities: vec![
                PskIdentity {
                    identity: vec![1, 2, 3],
                    obfuscated_ticket_age: 7,
                };
                2
            ],
            binders: vec![vec![0; 32]],
        };
        offer.encode(&mut bytes).expect("encodes");
        let err = OfferedPsks::from_bytes(&bytes).expect_err("2 identities, 1 binder");
        assert_eq!(
            err.reason,
            DecodeReason::BinderCountMismatch {
                identities: 2,
                binders: 1
            }
        );
    }

    #[test]
    fn binders_len_covers_the_encoded_binders() {
        let offer = OfferedPsks {
            identities: vec![PskIdentity {
                identity: vec![9; 5],
                obfuscated_ticket_age: 0,
            }],
            binders: vec![vec![0xbb; 32]],
        };
        let bytes = offer.to_bytes().expect("encodes");
        assert_eq!(OfferedPsks::from_bytes(&bytes), Ok(offer.clone()));
        assert_eq!(offer.binders_len(), 2 + 1 + 32);
        let prefix = binder_prefix(&bytes, &offer).expect("long enough");
        assert_eq!(prefix.len(), 2 + 2 + 5 + 4);
        assert_eq!(binder_prefix(&bytes[..10], &offer), None);
    }
}
