//! Code points as open enums.
//!
//! Each enum lists the values RFC 8446 defines and keeps any other value in `Unknown`, so an
//! unknown code point survives decode → encode unchanged. `Display` prints the RFC's name
//! (`x25519`, `rsa_pss_rsae_sha256`) for the teaching output, or `unknown (0x1234)`.
//!
//! `Unknown(v)` is meant for values without a name: `Unknown(0x001d)` encodes like
//! `NamedGroup::X25519` but does not compare equal to it. Build values with `from_u16` /
//! `from_u8` to get the canonical form.

use std::fmt;

use crate::codec::{Codec, Reader, put_u8, put_u16};
use crate::error::{DecodeError, EncodeError};

pub use super::alert::{AlertDescription, AlertLevel};
pub use super::extension_type::{ExtensionContext, ExtensionType};
pub use super::signature_scheme::SignatureScheme;

/// Writes `name`, or `unknown (0x..)` for a value without one.
pub(crate) fn fmt_code_point(
    f: &mut fmt::Formatter<'_>,
    name: Option<&str>,
    value: u16,
    width: usize,
) -> fmt::Result {
    match name {
        Some(name) => f.write_str(name),
        None => write!(f, "unknown (0x{value:0width$x})"),
    }
}

/// RFC 8446 §5.1 `ContentType` of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// invalid(0)
    Invalid,
    /// change_cipher_spec(20)
    ChangeCipherSpec,
    /// alert(21)
    Alert,
    /// handshake(22)
    Handshake,
    /// application_data(23)
    ApplicationData,
    /// Any other value.
    Unknown(u8),
}

impl ContentType {
    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Invalid => 0,
            Self::ChangeCipherSpec => 20,
            Self::Alert => 21,
            Self::Handshake => 22,
            Self::ApplicationData => 23,
            Self::Unknown(v) => v,
        }
    }

    /// The value for wire value `v`.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Invalid,
            20 => Self::ChangeCipherSpec,
            21 => Self::Alert,
            22 => Self::Handshake,
            23 => Self::ApplicationData,
            other => Self::Unknown(other),
        }
    }

    /// The RFC's name, if the value has one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::Invalid => "invalid",
            Self::ChangeCipherSpec => "change_cipher_spec",
            Self::Alert => "alert",
            Self::Handshake => "handshake",
            Self::ApplicationData => "application_data",
            Self::Unknown(_) => return None,
        })
    }
}

/// RFC 8446 §4 `HandshakeType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HandshakeType {
    /// client_hello(1)
    ClientHello,
    /// server_hello(2), also used by HelloRetryRequest
    ServerHello,
    /// new_session_ticket(4)
    NewSessionTicket,
    /// end_of_early_data(5)
    EndOfEarlyData,
    /// encrypted_extensions(8)
    EncryptedExtensions,
    /// certificate(11)
    Certificate,
    /// certificate_request(13)
    CertificateRequest,
    /// certificate_verify(15)
    CertificateVerify,
    /// finished(20)
    Finished,
    /// key_update(24)
    KeyUpdate,
    /// message_hash(254), the synthetic message of §4.4.1
    MessageHash,
    /// Any other value.
    Unknown(u8),
}

impl HandshakeType {
    /// The name RFC 8446 gives a message of this type (`ServerHello` also for a
    /// HelloRetryRequest, which shares its type).
    pub const fn message_name(self) -> &'static str {
        match self {
            Self::ClientHello => "ClientHello",
            Self::ServerHello => "ServerHello",
            Self::NewSessionTicket => "NewSessionTicket",
            Self::EndOfEarlyData => "EndOfEarlyData",
            Self::EncryptedExtensions => "EncryptedExtensions",
            Self::Certificate => "Certificate",
            Self::CertificateRequest => "CertificateRequest",
            Self::CertificateVerify => "CertificateVerify",
            Self::Finished => "Finished",
            Self::KeyUpdate => "KeyUpdate",
            Self::MessageHash => "message_hash",
            Self::Unknown(_) => "unknown handshake message",
        }
    }

    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::ClientHello => 1,
            Self::ServerHello => 2,
            Self::NewSessionTicket => 4,
            Self::EndOfEarlyData => 5,
            Self::EncryptedExtensions => 8,
            Self::Certificate => 11,
            Self::CertificateRequest => 13,
            Self::CertificateVerify => 15,
            Self::Finished => 20,
            Self::KeyUpdate => 24,
            Self::MessageHash => 254,
            Self::Unknown(v) => v,
        }
    }

    /// The value for wire value `v`.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::ClientHello,
            2 => Self::ServerHello,
            4 => Self::NewSessionTicket,
            5 => Self::EndOfEarlyData,
            8 => Self::EncryptedExtensions,
            11 => Self::Certificate,
            13 => Self::CertificateRequest,
            15 => Self::CertificateVerify,
            20 => Self::Finished,
            24 => Self::KeyUpdate,
            254 => Self::MessageHash,
            other => Self::Unknown(other),
        }
    }

    /// The RFC's name, if the value has one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::ClientHello => "client_hello",
            Self::ServerHello => "server_hello",
            Self::NewSessionTicket => "new_session_ticket",
            Self::EndOfEarlyData => "end_of_early_data",
            Self::EncryptedExtensions => "encrypted_extensions",
            Self::Certificate => "certificate",
            Self::CertificateRequest => "certificate_request",
            Self::CertificateVerify => "certificate_verify",
            Self::Finished => "finished",
            Self::KeyUpdate => "key_update",
            Self::MessageHash => "message_hash",
            Self::Unknown(_) => return None,
        })
    }
}

/// RFC 8446 §4.1.2 / §4.2.1 `ProtocolVersion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProtocolVersion {
    /// SSL 3.0 (0x0300)
    Ssl3,
    /// TLS 1.0 (0x0301), allowed as legacy_record_version of an initial ClientHello (§5.1)
    Tls10,
    /// TLS 1.1 (0x0302)
    Tls11,
    /// TLS 1.2 (0x0303), the legacy_version of TLS 1.3 hellos and records
    Tls12,
    /// TLS 1.3 (0x0304)
    Tls13,
    /// Any other value (e.g. GREASE, RFC 8701).
    Unknown(u16),
}

impl ProtocolVersion {
    /// The wire value.
    pub const fn to_u16(self) -> u16 {
        match self {
            Self::Ssl3 => 0x0300,
            Self::Tls10 => 0x0301,
            Self::Tls11 => 0x0302,
            Self::Tls12 => 0x0303,
            Self::Tls13 => 0x0304,
            Self::Unknown(v) => v,
        }
    }

    /// The value for wire value `v`.
    pub const fn from_u16(v: u16) -> Self {
        match v {
            0x0300 => Self::Ssl3,
            0x0301 => Self::Tls10,
            0x0302 => Self::Tls11,
            0x0303 => Self::Tls12,
            0x0304 => Self::Tls13,
            other => Self::Unknown(other),
        }
    }

    /// The usual name, if the value has one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::Ssl3 => "SSL 3.0",
            Self::Tls10 => "TLS 1.0",
            Self::Tls11 => "TLS 1.1",
            Self::Tls12 => "TLS 1.2",
            Self::Tls13 => "TLS 1.3",
            Self::Unknown(_) => return None,
        })
    }
}

/// RFC 8446 §B.4 cipher suites.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// TLS_AES_128_GCM_SHA256 (0x1301)
    TlsAes128GcmSha256,
    /// TLS_AES_256_GCM_SHA384 (0x1302)
    TlsAes256GcmSha384,
    /// TLS_CHACHA20_POLY1305_SHA256 (0x1303), the suite this crate implements
    TlsChacha20Poly1305Sha256,
    /// TLS_AES_128_CCM_SHA256 (0x1304)
    TlsAes128CcmSha256,
    /// TLS_AES_128_CCM_8_SHA256 (0x1305)
    TlsAes128Ccm8Sha256,
    /// Any other value.
    Unknown(u16),
}

impl CipherSuite {
    /// The wire value.
    pub const fn to_u16(self) -> u16 {
        match self {
            Self::TlsAes128GcmSha256 => 0x1301,
            Self::TlsAes256GcmSha384 => 0x1302,
            Self::TlsChacha20Poly1305Sha256 => 0x1303,
            Self::TlsAes128CcmSha256 => 0x1304,
            Self::TlsAes128Ccm8Sha256 => 0x1305,
            Self::Unknown(v) => v,
        }
    }

    /// The value for wire value `v`.
    pub const fn from_u16(v: u16) -> Self {
        match v {
            0x1301 => Self::TlsAes128GcmSha256,
            0x1302 => Self::TlsAes256GcmSha384,
            0x1303 => Self::TlsChacha20Poly1305Sha256,
            0x1304 => Self::TlsAes128CcmSha256,
            0x1305 => Self::TlsAes128Ccm8Sha256,
            other => Self::Unknown(other),
        }
    }

    /// The RFC's name, if the value has one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::TlsAes128GcmSha256 => "TLS_AES_128_GCM_SHA256",
            Self::TlsAes256GcmSha384 => "TLS_AES_256_GCM_SHA384",
            Self::TlsChacha20Poly1305Sha256 => "TLS_CHACHA20_POLY1305_SHA256",
            Self::TlsAes128CcmSha256 => "TLS_AES_128_CCM_SHA256",
            Self::TlsAes128Ccm8Sha256 => "TLS_AES_128_CCM_8_SHA256",
            Self::Unknown(_) => return None,
        })
    }
}

/// RFC 8446 §4.2.7 `NamedGroup`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NamedGroup {
    /// secp256r1 (0x0017)
    Secp256r1,
    /// secp384r1 (0x0018)
    Secp384r1,
    /// secp521r1 (0x0019)
    Secp521r1,
    /// x25519 (0x001d), the group this crate implements
    X25519,
    /// x448 (0x001e)
    X448,
    /// ffdhe2048 (0x0100)
    Ffdhe2048,
    /// ffdhe3072 (0x0101)
    Ffdhe3072,
    /// ffdhe4096 (0x0102)
    Ffdhe4096,
    /// ffdhe6144 (0x0103)
    Ffdhe6144,
    /// ffdhe8192 (0x0104)
    Ffdhe8192,
    /// Any other value.
    Unknown(u16),
}

impl NamedGroup {
    /// The wire value.
    pub const fn to_u16(self) -> u16 {
        match self {
            Self::Secp256r1 => 0x0017,
            Self::Secp384r1 => 0x0018,
            Self::Secp521r1 => 0x0019,
            Self::X25519 => 0x001d,
            Self::X448 => 0x001e,
            Self::Ffdhe2048 => 0x0100,
            Self::Ffdhe3072 => 0x0101,
            Self::Ffdhe4096 => 0x0102,
            Self::Ffdhe6144 => 0x0103,
            Self::Ffdhe8192 => 0x0104,
            Self::Unknown(v) => v,
        }
    }

    /// The value for wire value `v`.
    pub const fn from_u16(v: u16) -> Self {
        match v {
            0x0017 => Self::Secp256r1,
            0x0018 => Self::Secp384r1,
            0x0019 => Self::Secp521r1,
            0x001d => Self::X25519,
            0x001e => Self::X448,
            0x0100 => Self::Ffdhe2048,
            0x0101 => Self::Ffdhe3072,
            0x0102 => Self::Ffdhe4096,
            0x0103 => Self::Ffdhe6144,
            0x0104 => Self::Ffdhe8192,
            other => Self::Unknown(other),
        }
    }

    /// The RFC's name, if the value has one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::Secp256r1 => "secp256r1",
            Self::Secp384r1 => "secp384r1",
            Self::Secp521r1 => "secp521r1",
            Self::X25519 => "x25519",
            Self::X448 => "x448",
            Self::Ffdhe2048 => "ffdhe2048",
            Self::Ffdhe3072 => "ffdhe3072",
            Self::Ffdhe4096 => "ffdhe4096",
            Self::Ffdhe6144 => "ffdhe6144",
            Self::Ffdhe8192 => "ffdhe8192",
            Self::Unknown(_) => return None,
        })
    }
}

/// RFC 8446 §4.2.9 `PskKeyExchangeMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PskKeyExchangeMode {
    /// psk_ke(0): PSK only, no (EC)DHE
    PskKe,
    /// psk_dhe_ke(1): PSK with (EC)DHE
    PskDheKe,
    /// Any other value.
    Unknown(u8),
}

impl PskKeyExchangeMode {
    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::PskKe => 0,
            Self::PskDheKe => 1,
            Self::Unknown(v) => v,
        }
    }

    /// The value for wire value `v`.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::PskKe,
            1 => Self::PskDheKe,
            other => Self::Unknown(other),
        }
    }

    /// The RFC's name, if the value has one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::PskKe => "psk_ke",
            Self::PskDheKe => "psk_dhe_ke",
            Self::Unknown(_) => return None,
        })
    }
}

// Display and Codec for the one-byte enums, then the two-byte ones. Written out per type so
// that each impl reads on its own.

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_code_point(f, self.name(), self.to_u8().into(), 2)
    }
}

impl Codec for ContentType {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u8(out, self.to_u8());
        Ok(())
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::from_u8(r.u8("ContentType")?))
    }
}

impl fmt::Display for HandshakeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_code_point(f, self.name(), self.to_u8().into(), 2)
    }
}

impl Codec for HandshakeType {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u8(out, self.to_u8());
        Ok(())
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::from_u8(r.u8("HandshakeType")?))
    }
}

impl fmt::Display for PskKeyExchangeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_code_point(f, self.name(), self.to_u8().into(), 2)
    }
}

impl Codec for PskKeyExchangeMode {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u8(out, self.to_u8());
        Ok(())
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::from_u8(r.u8("PskKeyExchangeMode")?))
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_code_point(f, self.name(), self.to_u16(), 4)
    }
}

impl Codec for ProtocolVersion {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u16(out, self.to_u16());
        Ok(())
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::from_u16(r.u16("ProtocolVersion")?))
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_code_point(f, self.name(), self.to_u16(), 4)
    }
}

impl Codec for CipherSuite {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u16(out, self.to_u16());
        Ok(())
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::from_u16(r.u16("CipherSuite")?))
    }
}

impl fmt::Display for NamedGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_code_point(f, self.name(), self.to_u16(), 4)
    }
}

impl Codec for NamedGroup {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u16(out, self.to_u16());
        Ok(())
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::from_u16(r.u16("NamedGroup")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_code_points_survive_a_round_trip() {
        let grease = NamedGroup::from_bytes(&[0x0a, 0x0a]).expect("two bytes");
        assert_eq!(grease, NamedGroup::Unknown(0x0a0a));
        assert_eq!(grease.to_bytes(), Ok(vec![0x0a, 0x0a]));
        assert_eq!(grease.to_string(), "unknown (0x0a0a)");
        assert_eq!(ContentType::from_u8(99).to_string(), "unknown (0x63)");
    }

    #[test]
    fn every_named_value_maps_back_to_itself() {
        for v in 0..=u16::MAX {
            assert_eq!(NamedGroup::from_u16(v).to_u16(), v);
            assert_eq!(SignatureScheme::from_u16(v).to_u16(), v);
            assert_eq!(CipherSuite::from_u16(v).to_u16(), v);
            assert_eq!(ProtocolVersion::from_u16(v).to_u16(), v);
        }
        for v in 0..=u8::MAX {
            assert_eq!(ContentType::from_u8(v).to_u8(), v);
            assert_eq!(HandshakeType::from_u8(v).to_u8(), v);
            assert_eq!(PskKeyExchangeMode::from_u8(v).to_u8(), v);
        }
    }

    #[test]
    fn names_are_the_rfc_names() {
        assert_eq!(NamedGroup::X25519.to_string(), "x25519");
        assert_eq!(
            CipherSuite::TlsChacha20Poly1305Sha256.to_string(),
            "TLS_CHACHA20_POLY1305_SHA256"
        );
        assert_eq!(
            SignatureScheme::RsaPssRsaeSha256.to_string(),
            "rsa_pss_rsae_sha256"
        );
        assert_eq!(ProtocolVersion::Tls13.to_string(), "TLS 1.3");
        assert_eq!(HandshakeType::MessageHash.to_string(), "message_hash");
    }
}
