//! Post-handshake messages: NewSessionTicket (RFC 8446 §4.6.1), KeyUpdate (§4.6.3) and the
//! 0-RTT EndOfEarlyData (§4.5, an empty body, so only a variant of `HandshakeMessage`).

use crate::codec::{Codec, LengthPrefix, Reader, put_opaque, put_u8, put_u32};
use crate::error::{DecodeError, DecodeReason, EncodeError};
use crate::msgs::enums::ExtensionContext;
use crate::msgs::extensions::Extensions;

/// RFC 8446 §4.6.1 `NewSessionTicket`.
///
/// ```text
/// struct {
///     uint32 ticket_lifetime;
///     uint32 ticket_age_add;
///     opaque ticket_nonce<0..255>;
///     opaque ticket<1..2^16-1>;
///     Extension extensions<0..2^16-2>;
/// } NewSessionTicket;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSessionTicket {
    /// Seconds the ticket may be used; at most 604800 (7 days, §4.6.1).
    pub ticket_lifetime: u32,
    /// Added to the ticket age the client reports, to obscure it (§4.6.1).
    pub ticket_age_add: u32,
    /// Unique per ticket in the connection; input to the PSK derivation (§4.6.1).
    pub ticket_nonce: Vec<u8>,
    /// The PSK identity to present when resuming.
    pub ticket: Vec<u8>,
    /// The extensions (early_data carries max_early_data_size).
    pub extensions: Extensions,
}

impl Codec for NewSessionTicket {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u32(out, self.ticket_lifetime);
        put_u32(out, self.ticket_age_add);
        put_opaque(
            out,
            LengthPrefix::U8,
            "NewSessionTicket.ticket_nonce",
            &self.ticket_nonce,
        )?;
        put_opaque(
            out,
            LengthPrefix::U16,
            "NewSessionTicket.ticket",
            &self.ticket,
        )?;
        self.extensions.encode(out, "NewSessionTicket.extensions")
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            ticket_lifetime: r.u32("NewSessionTicket.ticket_lifetime")?,
            ticket_age_add: r.u32("NewSessionTicket.ticket_age_add")?,
            ticket_nonce: r.vec_u8("NewSessionTicket.ticket_nonce", 0..=255)?.to_vec(),
            ticket: r.vec_u16("NewSessionTicket.ticket", 1..=0xffff)?.to_vec(),
            extensions: Extensions::decode(
                r,
                "NewSessionTicket.extensions",
                0..=0xfffe,
                ExtensionContext::NewSessionTicket,
            )?,
        })
    }
}

/// RFC 8446 §4.6.3 `KeyUpdateRequest`. A closed enum: any other value is an error
/// ("If an implementation receives any other value, it MUST terminate the connection with
/// an "illegal_parameter" alert").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUpdateRequest {
    /// update_not_requested(0)
    UpdateNotRequested,
    /// update_requested(1): the receiver must answer with its own KeyUpdate.
    UpdateRequested,
}

/// RFC 8446 §4.6.3 `KeyUpdate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyUpdate {
    /// Whether the peer should update its sending keys too.
    pub request_update: KeyUpdateRequest,
}

impl Codec for KeyUpdate {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u8(
            out,
            match self.request_update {
                KeyUpdateRequest::UpdateNotRequested => 0,
                KeyUpdateRequest::UpdateRequested => 1,
            },
        );
        Ok(())
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let what = "KeyUpdate.request_update";
        let request_update = match r.u8(what)? {
            0 => KeyUpdateRequest::UpdateNotRequested,
            1 => KeyUpdateRequest::UpdateRequested,
            other => {
                return Err(DecodeError::new(
                    what,
                    DecodeReason::IllegalValue {
                        value: other.into(),
                    },
                ));
            }
        };
        Ok(Self { request_update })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::msgs::enums::AlertDescription;

    #[test]
    fn key_update_with_another_value_is_illegal_parameter() {
        assert_eq!(
            KeyUpdate::from_bytes(&[1]).map(|k| k.request_update),
            Ok(KeyUpdateRequest::UpdateRequested)
        );
        let err = Error::from(KeyUpdate::from_bytes(&[2]).expect_err("2 is not defined"));
        assert_eq!(err.alert(), Some(AlertDescription::IllegalParameter));
    }

    #[test]
    fn ticket_must_not_be_empty() {
        let nst = NewSessionTicket {
            ticket_lifetime: 1,
            ticket_age_add: 2,
            ticket_nonce: vec![],
            ticket: vec![],
            extensions: Extensions::default(),
        };
        let bytes = nst.to_bytes().expect("encodes");
        let err = NewSessionTicket::from_bytes(&bytes).expect_err("empty ticket");
        assert_eq!(
            err.reason,
            DecodeReason::LengthOutOfRange {
                len: 0,
                min: 1,
                max: 0xffff
            }
        );
    }
}
