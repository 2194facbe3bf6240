//! `SignatureScheme` (RFC 8446 §4.2.3), an open enum like those in [`super::enums`].

use std::fmt;

use crate::codec::{Codec, Reader, put_u16};
use crate::error::{DecodeError, EncodeError};
use crate::msgs::enums::fmt_code_point;

/// RFC 8446 §4.2.3 `SignatureScheme`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// rsa_pkcs1_sha256 (0x0401)
    RsaPkcs1Sha256,
    /// rsa_pkcs1_sha384 (0x0501)
    RsaPkcs1Sha384,
    /// rsa_pkcs1_sha512 (0x0601)
    RsaPkcs1Sha512,
    /// ecdsa_secp256r1_sha256 (0x0403)
    EcdsaSecp256r1Sha256,
    /// ecdsa_secp384r1_sha384 (0x0503)
    EcdsaSecp384r1Sha384,
    /// ecdsa_secp521r1_sha512 (0x0603)
    EcdsaSecp521r1Sha512,
    /// rsa_pss_rsae_sha256 (0x0804)
    RsaPssRsaeSha256,
    /// rsa_pss_rsae_sha384 (0x0805)
    RsaPssRsaeSha384,
    /// rsa_pss_rsae_sha512 (0x0806)
    RsaPssRsaeSha512,
    /// ed25519 (0x0807)
    Ed25519,
    /// ed448 (0x0808)
    Ed448,
    /// rsa_pss_pss_sha256 (0x0809)
    RsaPssPssSha256,
    /// rsa_pss_pss_sha384 (0x080a)
    RsaPssPssSha384,
    /// rsa_pss_pss_sha512 (0x080b)
    RsaPssPssSha512,
    /// rsa_pkcs1_sha1 (0x0201), legacy
    RsaPkcs1Sha1,
    /// ecdsa_sha1 (0x0203), legacy
    EcdsaSha1,
    /// Any other value.
    Unknown(u16),
}

impl SignatureScheme {
    /// The wire value.
    pub const fn to_u16(self) -> u16 {
        match self {
            Self::RsaPkcs1Sha256 => 0x0401,
            Self::RsaPkcs1Sha384 => 0x0501,
            Self::RsaPkcs1Sha512 => 0x0601,
            Self::EcdsaSecp256r1Sha256 => 0x0403,
            Self::EcdsaSecp384r1Sha384 => 0x0503,
            Self::EcdsaSecp521r1Sha512 => 0x0603,
            Self::RsaPssRsaeSha256 => 0x0804,
            Self::RsaPssRsaeSha384 => 0x0805,
            Self::RsaPssRsaeSha512 => 0x0806,
            Self::Ed25519 => 0x0807,
            Self::Ed448 => 0x0808,
            Self::RsaPssPssSha256 => 0x0809,
            Self::RsaPssPssSha384 => 0x080a,
            Self::RsaPssPssSha512 => 0x080b,
            Self::RsaPkcs1Sha1 => 0x0201,
            Self::EcdsaSha1 => 0x0203,
            Self::Unknown(v) => v,
        }
    }

    /// The value for wire value `v`.
    pub const fn from_u16(v: u16) -> Self {
        match v {
            0x0401 => Self::RsaPkcs1Sha256,
            0x0501 => Self::RsaPkcs1Sha384,
            0x0601 => Self::RsaPkcs1Sha512,
            0x0403 => Self::EcdsaSecp256r1Sha256,
            0x0503 => Self::EcdsaSecp384r1Sha384,
            0x0603 => Self::EcdsaSecp521r1Sha512,
            0x0804 => Self::RsaPssRsaeSha256,
            0x0805 => Self::RsaPssRsaeSha384,
            0x0806 => Self::RsaPssRsaeSha512,
            0x0807 => Self::Ed25519,
            0x0808 => Self::Ed448,
            0x0809 => Self::RsaPssPssSha256,
            0x080a => Self::RsaPssPssSha384,
            0x080b => Self::RsaPssPssSha512,
            0x0201 => Self::RsaPkcs1Sha1,
            0x0203 => Self::EcdsaSha1,
            other => Self::Unknown(other),
        }
    }

    /// The RFC's name, if the value has one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::RsaPkcs1Sha256 => "rsa_pkcs1_sha256",
            Self::RsaPkcs1Sha384 => "rsa_pkcs1_sha384",
            Self::RsaPkcs1Sha512 => "rsa_pkcs1_sha512",
            Self::EcdsaSecp256r1Sha256 => "ecdsa_secp256r1_sha256",
            Self::EcdsaSecp384r1Sha384 => "ecdsa_secp384r1_sha384",
            Self::EcdsaSecp521r1Sha512 => "ecdsa_secp521r1_sha512",
            Self::RsaPssRsaeSha256 => "rsa_pss_rsae_sha256",
            Self::RsaPssRsaeSha384 => "rsa_pss_rsae_sha384",
            Self::RsaPssRsaeSha512 => "rsa_pss_rsae_sha512",
            Self::Ed25519 => "ed25519",
            Self::Ed448 => "ed448",
            Self::RsaPssPssSha256 => "rsa_pss_pss_sha256",
            Self::RsaPssPssSha384 => "rsa_pss_pss_sha384",
            Self::RsaPssPssSha512 => "rsa_pss_pss_sha512",
            Self::RsaPkcs1Sha1 => "rsa_pkcs1_sha1",
            Self::EcdsaSha1 => "ecdsa_sha1",
            Self::Unknown(_) => return None,
        })
    }
}

impl SignatureScheme {
    /// For a value in the TLS 1.2 `SignatureAndHashAlgorithm` layout (RFC 5246
    /// §7.4.1.4.1: hash byte, then signature byte) with no TLS 1.3 name, the names of its
    /// hash and signature algorithms, e.g. `("sha224", "ecdsa")` for 0x0303.
    pub const fn tls12_hash_and_signature(self) -> Option<(&'static str, &'static str)> {
        if self.name().is_some() {
            return None;
        }
        let [hash, signature] = self.to_u16().to_be_bytes();
        let hash = match hash {
            1 => "md5",
            2 => "sha1",
            3 => "sha224",
            4 => "sha256",
            5 => "sha384",
            6 => "sha512",
            _ => return None,
        };
        let signature = match signature {
            1 => "rsa",
            2 => "dsa",
            3 => "ecdsa",
            _ => return None,
        };
        Some((hash, signature))
    }
}

impl fmt::Display for SignatureScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_code_point(f, self.name(), self.to_u16(), 4)
    }
}

impl Codec for SignatureScheme {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u16(out, self.to_u16());
        Ok(())
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::from_u16(r.u16("SignatureScheme")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_maps_back_to_itself() {
        for v in 0..=u16::MAX {
            assert_eq!(SignatureScheme::from_u16(v).to_u16(), v);
        }
        assert_eq!(
            SignatureScheme::RsaPssRsaeSha256.to_string(),
            "rsa_pss_rsae_sha256"
        );
        assert_eq!(SignatureScheme::from_u16(0x0807), SignatureScheme::Ed25519);
        assert_eq!(
            SignatureScheme::from_u16(0x0303).tls12_hash_and_signature(),
            Some(("sha224", "ecdsa"))
        );
        assert_eq!(SignatureScheme::Ed25519.tls12_hash_and_signature(), None);
    }
}
