//! `ExtensionType` (RFC 8446 §4.2) and the table of which message may carry which extension.

use std::fmt;

use crate::codec::{Codec, Reader, put_u16};
use crate::error::{DecodeError, EncodeError};
use crate::msgs::enums::fmt_code_point;

/// RFC 8446 §4.2 `ExtensionType`, plus three extensions of other RFCs that appear in the
/// RFC 8448 traces (record_size_limit, session_ticket, renegotiation_info).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExtensionType {
    /// server_name(0), RFC 6066
    ServerName,
    /// max_fragment_length(1), RFC 6066
    MaxFragmentLength,
    /// status_request(5), RFC 6066
    StatusRequest,
    /// supported_groups(10), RFC 8422 / RFC 7919
    SupportedGroups,
    /// signature_algorithms(13)
    SignatureAlgorithms,
    /// use_srtp(14), RFC 5764
    UseSrtp,
    /// heartbeat(15), RFC 6520
    Heartbeat,
    /// application_layer_protocol_negotiation(16), RFC 7301
    ApplicationLayerProtocolNegotiation,
    /// signed_certificate_timestamp(18), RFC 6962
    SignedCertificateTimestamp,
    /// client_certificate_type(19), RFC 7250
    ClientCertificateType,
    /// server_certificate_type(20), RFC 7250
    ServerCertificateType,
    /// padding(21), RFC 7685
    Padding,
    /// record_size_limit(28), RFC 8449 (not in RFC 8446's table)
    RecordSizeLimit,
    /// session_ticket(35), RFC 5077 (TLS 1.2; not in RFC 8446's table)
    SessionTicket,
    /// pre_shared_key(41)
    PreSharedKey,
    /// early_data(42)
    EarlyData,
    /// supported_versions(43)
    SupportedVersions,
    /// cookie(44)
    Cookie,
    /// psk_key_exchange_modes(45)
    PskKeyExchangeModes,
    /// certificate_authorities(47)
    CertificateAuthorities,
    /// oid_filters(48)
    OidFilters,
    /// post_handshake_auth(49)
    PostHandshakeAuth,
    /// signature_algorithms_cert(50)
    SignatureAlgorithmsCert,
    /// key_share(51)
    KeyShare,
    /// renegotiation_info(65281), RFC 5746 (TLS 1.2; not in RFC 8446's table)
    RenegotiationInfo,
    /// Any other value.
    Unknown(u16),
}

impl ExtensionType {
    /// The wire value.
    pub const fn to_u16(self) -> u16 {
        match self {
            Self::ServerName => 0,
            Self::MaxFragmentLength => 1,
            Self::StatusRequest => 5,
            Self::SupportedGroups => 10,
            Self::SignatureAlgorithms => 13,
            Self::UseSrtp => 14,
            Self::Heartbeat => 15,
            Self::ApplicationLayerProtocolNegotiation => 16,
            Self::SignedCertificateTimestamp => 18,
            Self::ClientCertificateType => 19,
            Self::ServerCertificateType => 20,
            Self::Padding => 21,
            Self::RecordSizeLimit => 28,
            Self::SessionTicket => 35,
            Self::PreSharedKey => 41,
            Self::EarlyData => 42,
            Self::SupportedVersions => 43,
            Self::Cookie => 44,
            Self::PskKeyExchangeModes => 45,
            Self::CertificateAuthorities => 47,
            Self::OidFilters => 48,
            Self::PostHandshakeAuth => 49,
            Self::SignatureAlgorithmsCert => 50,
            Self::KeyShare => 51,
            Self::RenegotiationInfo => 0xff01,
            Self::Unknown(v) => v,
        }
    }

    /// The value for wire value `v`.
    pub const fn from_u16(v: u16) -> Self {
        match v {
            0 => Self::ServerName,
            1 => Self::MaxFragmentLength,
            5 => Self::StatusRequest,
            10 => Self::SupportedGroups,
            13 => Self::SignatureAlgorithms,
            14 => Self::UseSrtp,
            15 => Self::Heartbeat,
            16 => Self::ApplicationLayerProtocolNegotiation,
            18 => Self::SignedCertificateTimestamp,
            19 => Self::ClientCertificateType,
            20 => Self::ServerCertificateType,
            21 => Self::Padding,
            28 => Self::RecordSizeLimit,
            35 => Self::SessionTicket,
            41 => Self::PreSharedKey,
            42 => Self::EarlyData,
            43 => Self::SupportedVersions,
            44 => Self::Cookie,
            45 => Self::PskKeyExchangeModes,
            47 => Self::CertificateAuthorities,
            48 => Self::OidFilters,
            49 => Self::PostHandshakeAuth,
            50 => Self::SignatureAlgorithmsCert,
            51 => Self::KeyShare,
            0xff01 => Self::RenegotiationInfo,
            other => Self::Unknown(other),
        }
    }

    /// The RFC's name, if the value has one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::ServerName => "server_name",
            Self::MaxFragmentLength => "max_fragment_length",
            Self::StatusRequest => "status_request",
            Self::SupportedGroups => "supported_groups",
            Self::SignatureAlgorithms => "signature_algorithms",
            Self::UseSrtp => "use_srtp",
            Self::Heartbeat => "heartbeat",
            Self::ApplicationLayerProtocolNegotiation => "application_layer_protocol_negotiation",
            Self::SignedCertificateTimestamp => "signed_certificate_timestamp",
            Self::ClientCertificateType => "client_certificate_type",
            Self::ServerCertificateType => "server_certificate_type",
            Self::Padding => "padding",
            Self::RecordSizeLimit => "record_size_limit",
            Self::SessionTicket => "session_ticket",
            Self::PreSharedKey => "pre_shared_key",
            Self::EarlyData => "early_data",
            Self::SupportedVersions => "supported_versions",
            Self::Cookie => "cookie",
            Self::PskKeyExchangeModes => "psk_key_exchange_modes",
            Self::CertificateAuthorities => "certificate_authorities",
            Self::OidFilters => "oid_filters",
            Self::PostHandshakeAuth => "post_handshake_auth",
            Self::SignatureAlgorithmsCert => "signature_algorithms_cert",
            Self::KeyShare => "key_share",
            Self::RenegotiationInfo => "renegotiation_info",
            Self::Unknown(_) => return None,
        })
    }

    /// Whether RFC 8446's table (§4.2) lets this extension appear in `context`.
    ///
    /// `None` for extensions the table does not list; those are left to the state machine.
    pub const fn permitted_in(self, context: ExtensionContext) -> Option<bool> {
        use ExtensionContext::{
            Certificate as CT, CertificateRequest as CR, ClientHello as CH,
            EncryptedExtensions as EE, HelloRetryRequest as HRR, NewSessionTicket as NST,
            ServerHello as SH,
        };
        let c = context;
        Some(match self {
            Self::ServerName
            | Self::MaxFragmentLength
            | Self::SupportedGroups
            | Self::UseSrtp
            | Self::Heartbeat
            | Self::ApplicationLayerProtocolNegotiation
            | Self::ClientCertificateType
            | Self::ServerCertificateType => matches!(c, CH | EE),
            Self::StatusRequest | Self::SignedCertificateTimestamp => matches!(c, CH | CR | CT),
            Self::SignatureAlgorithms
            | Self::CertificateAuthorities
            | Self::SignatureAlgorithmsCert => matches!(c, CH | CR),
            Self::Padding | Self::PskKeyExchangeModes | Self::PostHandshakeAuth => {
                matches!(c, CH)
            }
            Self::KeyShare | Self::SupportedVersions => matches!(c, CH | SH | HRR),
            Self::PreSharedKey => matches!(c, CH | SH),
            Self::EarlyData => matches!(c, CH | EE | NST),
            Self::Cookie => matches!(c, CH | HRR),
            Self::OidFilters => matches!(c, CR),
            Self::RecordSizeLimit
            | Self::SessionTicket
            | Self::RenegotiationInfo
            | Self::Unknown(_) => return None,
        })
    }
}

impl fmt::Display for ExtensionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_code_point(f, self.name(), self.to_u16(), 4)
    }
}

impl Codec for ExtensionType {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u16(out, self.to_u16());
        Ok(())
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::from_u16(r.u16("ExtensionType")?))
    }
}

/// The message an extension block belongs to: the columns of RFC 8446 §4.2's table. The
/// form of some extensions (key_share, supported_versions, pre_shared_key, early_data,
/// server_name) depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtensionContext {
    /// CH
    ClientHello,
    /// SH
    ServerHello,
    /// HRR
    HelloRetryRequest,
    /// EE
    EncryptedExtensions,
    /// CR
    CertificateRequest,
    /// CT (a CertificateEntry's extensions)
    Certificate,
    /// NST
    NewSessionTicket,
}

impl fmt::Display for ExtensionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ClientHello => "ClientHello",
            Self::ServerHello => "ServerHello",
            Self::HelloRetryRequest => "HelloRetryRequest",
            Self::EncryptedExtensions => "EncryptedExtensions",
            Self::CertificateRequest => "CertificateRequest",
            Self::Certificate => "Certificate",
            Self::NewSessionTicket => "NewSessionTicket",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_rfc_8446_section_4_2() {
        use ExtensionContext as C;
        assert_eq!(
            ExtensionType::KeyShare.permitted_in(C::HelloRetryRequest),
            Some(true)
        );
        assert_eq!(
            ExtensionType::KeyShare.permitted_in(C::EncryptedExtensions),
            Some(false)
        );
        assert_eq!(
            ExtensionType::Cookie.permitted_in(C::ServerHello),
            Some(false)
        );
        assert_eq!(
            ExtensionType::EarlyData.permitted_in(C::NewSessionTicket),
            Some(true)
        );
        assert_eq!(
            ExtensionType::SignatureAlgorithmsCert.permitted_in(C::CertificateRequest),
            Some(true)
        );
        assert_eq!(
            ExtensionType::Unknown(0xffff).permitted_in(C::ServerHello),
            None
        );
    }

    #[test]
    fn every_value_maps_back_to_itself() {
        for v in 0..=u16::MAX {
            assert_eq!(ExtensionType::from_u16(v).to_u16(), v);
        }
    }
}
