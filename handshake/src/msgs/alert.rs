//! The alert protocol (RFC 8446 §6).

use std::fmt;

use crate::codec::{Codec, Reader, put_u8};
use crate::error::{DecodeError, EncodeError, RecordError};
use crate::msgs::enums::fmt_code_point;

/// RFC 8446 §6 `AlertLevel`. In TLS 1.3 the level is implicit in the description (§6: "the
/// severity is implicit in the type of alert being sent, and the "level" field can safely be
/// ignored"), but it is still on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertLevel {
    /// warning(1)
    Warning,
    /// fatal(2)
    Fatal,
    /// Any other value.
    Unknown(u8),
}

impl AlertLevel {
    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Warning => 1,
            Self::Fatal => 2,
            Self::Unknown(v) => v,
        }
    }

    /// The value for wire value `v`.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Warning,
            2 => Self::Fatal,
            other => Self::Unknown(other),
        }
    }

    /// The RFC's name, if the value has one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::Warning => "warning",
            Self::Fatal => "fatal",
            Self::Unknown(_) => return None,
        })
    }
}

/// RFC 8446 §6 `AlertDescription`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertDescription {
    /// close_notify(0)
    CloseNotify,
    /// unexpected_message(10)
    UnexpectedMessage,
    /// bad_record_mac(20)
    BadRecordMac,
    /// record_overflow(22)
    RecordOverflow,
    /// handshake_failure(40)
    HandshakeFailure,
    /// bad_certificate(42)
    BadCertificate,
    /// unsupported_certificate(43)
    UnsupportedCertificate,
    /// certificate_revoked(44)
    CertificateRevoked,
    /// certificate_expired(45)
    CertificateExpired,
    /// certificate_unknown(46)
    CertificateUnknown,
    /// illegal_parameter(47)
    IllegalParameter,
    /// unknown_ca(48)
    UnknownCa,
    /// access_denied(49)
    AccessDenied,
    /// decode_error(50)
    DecodeError,
    /// decrypt_error(51)
    DecryptError,
    /// protocol_version(70)
    ProtocolVersion,
    /// insufficient_security(71)
    InsufficientSecurity,
    /// internal_error(80)
    InternalError,
    /// inappropriate_fallback(86)
    InappropriateFallback,
    /// user_canceled(90)
    UserCanceled,
    /// missing_extension(109)
    MissingExtension,
    /// unsupported_extension(110)
    UnsupportedExtension,
    /// unrecognized_name(112)
    UnrecognizedName,
    /// bad_certificate_status_response(113)
    BadCertificateStatusResponse,
    /// unknown_psk_identity(115)
    UnknownPskIdentity,
    /// certificate_required(116)
    CertificateRequired,
    /// no_application_protocol(120)
    NoApplicationProtocol,
    /// Any other value.
    Unknown(u8),
}

impl AlertDescription {
    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::CloseNotify => 0,
            Self::UnexpectedMessage => 10,
            Self::BadRecordMac => 20,
            Self::RecordOverflow => 22,
            Self::HandshakeFailure => 40,
            Self::BadCertificate => 42,
            Self::UnsupportedCertificate => 43,
            Self::CertificateRevoked => 44,
            Self::CertificateExpired => 45,
            Self::CertificateUnknown => 46,
            Self::IllegalParameter => 47,
            Self::UnknownCa => 48,
            Self::AccessDenied => 49,
            Self::DecodeError => 50,
            Self::DecryptError => 51,
            Self::ProtocolVersion => 70,
            Self::InsufficientSecurity => 71,
            Self::InternalError => 80,
            Self::InappropriateFallback => 86,
            Self::UserCanceled => 90,
            Self::MissingExtension => 109,
            Self::UnsupportedExtension => 110,
            Self::UnrecognizedName => 112,
            Self::BadCertificateStatusResponse => 113,
            Self::UnknownPskIdentity => 115,
            Self::CertificateRequired => 116,
            Self::NoApplicationProtocol => 120,
            Self::Unknown(v) => v,
        }
    }

    /// The value for wire value `v`.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::CloseNotify,
            10 => Self::UnexpectedMessage,
            20 => Self::BadRecordMac,
            22 => Self::RecordOverflow,
            40 => Self::HandshakeFailure,
            42 => Self::BadCertificate,
            43 => Self::UnsupportedCertificate,
            44 => Self::CertificateRevoked,
            45 => Self::CertificateExpired,
            46 => Self::CertificateUnknown,
            47 => Self::IllegalParameter,
            48 => Self::UnknownCa,
            49 => Self::AccessDenied,
            50 => Self::DecodeError,
            51 => Self::DecryptError,
            70 => Self::ProtocolVersion,
            71 => Self::InsufficientSecurity,
            80 => Self::InternalError,
            86 => Self::InappropriateFallback,
            90 => Self::UserCanceled,
            109 => Self::MissingExtension,
            110 => Self::UnsupportedExtension,
            112 => Self::UnrecognizedName,
            113 => Self::BadCertificateStatusResponse,
            115 => Self::UnknownPskIdentity,
            116 => Self::CertificateRequired,
            120 => Self::NoApplicationProtocol,
            other => Self::Unknown(other),
        }
    }

    /// The RFC's name, if the value has one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::CloseNotify => "close_notify",
            Self::UnexpectedMessage => "unexpected_message",
            Self::BadRecordMac => "bad_record_mac",
            Self::RecordOverflow => "record_overflow",
            Self::HandshakeFailure => "handshake_failure",
            Self::BadCertificate => "bad_certificate",
            Self::UnsupportedCertificate => "unsupported_certificate",
            Self::CertificateRevoked => "certificate_revoked",
            Self::CertificateExpired => "certificate_expired",
            Self::CertificateUnknown => "certificate_unknown",
            Self::IllegalParameter => "illegal_parameter",
            Self::UnknownCa => "unknown_ca",
            Self::AccessDenied => "access_denied",
            Self::DecodeError => "decode_error",
            Self::DecryptError => "decrypt_error",
            Self::ProtocolVersion => "protocol_version",
            Self::InsufficientSecurity => "insufficient_security",
            Self::InternalError => "internal_error",
            Self::InappropriateFallback => "inappropriate_fallback",
            Self::UserCanceled => "user_canceled",
            Self::MissingExtension => "missing_extension",
            Self::UnsupportedExtension => "unsupported_extension",
            Self::UnrecognizedName => "unrecognized_name",
            Self::BadCertificateStatusResponse => "bad_certificate_status_response",
            Self::UnknownPskIdentity => "unknown_psk_identity",
            Self::CertificateRequired => "certificate_required",
            Self::NoApplicationProtocol => "no_application_protocol",
            Self::Unknown(_) => return None,
        })
    }

    /// RFC 8446 §6: close_notify and user_canceled are closure alerts; every other alert is
    /// an error alert and fatal, whatever its level field says.
    pub const fn is_closure(self) -> bool {
        matches!(self, Self::CloseNotify | Self::UserCanceled)
    }
}

impl fmt::Display for AlertLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_code_point(f, self.name(), self.to_u8().into(), 2)
    }
}

impl Codec for AlertLevel {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u8(out, self.to_u8());
        Ok(())
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::from_u8(r.u8("Alert.level")?))
    }
}

impl fmt::Display for AlertDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_code_point(f, self.name(), self.to_u8().into(), 2)
    }
}

impl Codec for AlertDescription {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u8(out, self.to_u8());
        Ok(())
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::from_u8(r.u8("Alert.description")?))
    }
}

/// RFC 8446 §6 `Alert`: one per record, exactly two bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alert {
    /// The level byte.
    pub level: AlertLevel,
    /// What happened.
    pub description: AlertDescription,
}

impl Alert {
    /// The alert to send for `description`: warning for the closure alerts, fatal for all
    /// others (RFC 8446 §6: error alerts are sent with level fatal).
    pub const fn new(description: AlertDescription) -> Self {
        let level = if description.is_closure() {
            AlertLevel::Warning
        } else {
            AlertLevel::Fatal
        };
        Self { level, description }
    }

    /// Parses the payload of an Alert record, which must be exactly one alert
    /// (RFC 8446 §5.1: alerts are neither fragmented nor coalesced).
    pub fn from_record_payload(payload: &[u8]) -> Result<Self, RecordError> {
        match payload {
            [level, description] => Ok(Self {
                level: AlertLevel::from_u8(*level),
                description: AlertDescription::from_u8(*description),
            }),
            _ => Err(RecordError::BadAlertLength(payload.len())),
        }
    }
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.description, self.level)
    }
}

impl Codec for Alert {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.level.encode(out)?;
        self.description.encode(out)
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            level: AlertLevel::decode(r)?,
            description: AlertDescription::decode(r)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_are_two_bytes() {
        let alert = Alert::new(AlertDescription::DecodeError);
        assert_eq!(alert.to_bytes(), Ok(vec![2, 50]));
        assert_eq!(Alert::from_record_payload(&[2, 50]), Ok(alert));
        assert_eq!(
            Alert::from_record_payload(&[2, 50, 1, 0]),
            Err(RecordError::BadAlertLength(4))
        );
        assert_eq!(
            Alert::new(AlertDescription::CloseNotify).level,
            AlertLevel::Warning
        );
        assert_eq!(alert.to_string(), "decode_error (fatal)");
    }

    #[test]
    fn every_value_maps_back_to_itself() {
        for v in 0..=u8::MAX {
            assert_eq!(AlertDescription::from_u8(v).to_u8(), v);
            assert_eq!(AlertLevel::from_u8(v).to_u8(), v);
        }
    }
}
