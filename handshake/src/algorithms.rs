//! The cipher suites and key exchange groups keylab implements (RFC 8446 §9.1), and the
//! preference lists a configuration orders them in.

use std::fmt;

use crate::msgs::enums::{CipherSuite, NamedGroup};

/// A cipher suite keylab implements. Both use SHA-256, so the key schedule is the same
/// for both; only the record protection differs (RFC 8446 §5.2, §7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SupportedSuite {
    /// TLS_CHACHA20_POLY1305_SHA256 (0x1303): ChaCha20-Poly1305 (RFC 8439), 32-byte key.
    Chacha20Poly1305Sha256,
    /// TLS_AES_128_GCM_SHA256 (0x1301): AES-128 in GCM, 16-byte key. Mandatory to
    /// implement (RFC 8446 §9.1).
    Aes128GcmSha256,
}

impl SupportedSuite {
    /// Every suite, in the default preference order.
    ///
    /// ChaCha20-Poly1305 comes first: it is constant-time in software on every CPU, while
    /// AES-GCM is only fast and side-channel-free with AES and carry-less multiply
    /// instructions; and it keeps the bytes of seeded runs what they were before AES-GCM
    /// was added. Peers that prefer AES-GCM still get it when they choose (as servers) or
    /// when it is all they offer.
    pub const ALL: [Self; 2] = [Self::Chacha20Poly1305Sha256, Self::Aes128GcmSha256];

    /// The wire code point.
    pub fn suite(self) -> CipherSuite {
        match self {
            Self::Chacha20Poly1305Sha256 => CipherSuite::TlsChacha20Poly1305Sha256,
            Self::Aes128GcmSha256 => CipherSuite::TlsAes128GcmSha256,
        }
    }

    /// The suite behind a code point, if keylab implements it.
    pub fn from_suite(suite: CipherSuite) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.suite() == suite)
    }

    /// The IANA name, e.g. `TLS_AES_128_GCM_SHA256`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Chacha20Poly1305Sha256 => "TLS_CHACHA20_POLY1305_SHA256",
            Self::Aes128GcmSha256 => "TLS_AES_128_GCM_SHA256",
        }
    }

    /// The AEAD key length (RFC 8446 §7.3 key_length): 32 for ChaCha20, 16 for AES-128.
    pub fn key_len(self) -> usize {
        match self {
            Self::Chacha20Poly1305Sha256 => 32,
            Self::Aes128GcmSha256 => 16,
        }
    }
}

impl fmt::Display for SupportedSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A key exchange group keylab implements (RFC 8446 §4.2.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SupportedGroup {
    /// x25519 (RFC 7748): 32-byte shares.
    X25519,
    /// secp256r1 (NIST P-256): 65-byte uncompressed points (RFC 8446 §4.2.8.2). Mandatory
    /// to implement (RFC 8446 §9.1).
    Secp256r1,
}

impl SupportedGroup {
    /// Every group, in the default preference order.
    ///
    /// x25519 comes first: its shares are half the size, every public key is valid (no
    /// point validation to get wrong) and its implementations are constant-time by
    /// design; it is also what most clients send a share for, so a server preferring it
    /// rarely needs a HelloRetryRequest.
    pub const ALL: [Self; 2] = [Self::X25519, Self::Secp256r1];

    /// The wire code point.
    pub fn group(self) -> NamedGroup {
        match self {
            Self::X25519 => NamedGroup::X25519,
            Self::Secp256r1 => NamedGroup::Secp256r1,
        }
    }

    /// The group behind a code point, if keylab implements it.
    pub fn from_group(group: NamedGroup) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.group() == group)
    }

    /// The IANA name: `x25519` or `secp256r1`.
    pub fn name(self) -> &'static str {
        match self {
            Self::X25519 => "x25519",
            Self::Secp256r1 => "secp256r1",
        }
    }
}

impl fmt::Display for SupportedGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// RFC 8446 §4.1.1: the first of `ours` (in our order of preference) that `offered`
/// contains.
pub(crate) fn first_common<T: Copy, W: PartialEq>(
    ours: &[T],
    offered: &[W],
    wire: impl Fn(T) -> W,
) -> Option<T> {
    ours.iter()
        .copied()
        .find(|ours| offered.contains(&wire(*ours)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_points_round_trip() {
        for s in SupportedSuite::ALL {
            assert_eq!(SupportedSuite::from_suite(s.suite()), Some(s));
        }
        for g in SupportedGroup::ALL {
            assert_eq!(SupportedGroup::from_group(g.group()), Some(g));
        }
        assert_eq!(
            SupportedSuite::from_suite(CipherSuite::TlsAes256GcmSha384),
            None
        );
        assert_eq!(SupportedGroup::Secp256r1.to_string(), "secp256r1");
        assert_eq!(
            SupportedSuite::Aes128GcmSha256.to_string(),
            "TLS_AES_128_GCM_SHA256"
        );
    }

    #[test]
    fn first_common_follows_our_order() {
        let ours = [SupportedGroup::Secp256r1, SupportedGroup::X25519];
        let offered = [NamedGroup::X25519, NamedGroup::Secp256r1];
        assert_eq!(
            first_common(&ours, &offered, SupportedGroup::group),
            Some(SupportedGroup::Secp256r1)
        );
        assert_eq!(
            first_common(&ours, &[NamedGroup::Unknown(1)], SupportedGroup::group),
            None
        );
    }
}
