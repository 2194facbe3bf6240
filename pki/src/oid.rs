//! Object identifiers keylab recognises, in dotted form (as `Oid::to_id_string` prints them).

/// id-Ed25519, RFC 8410 §3.
pub const ED25519: &str = "1.3.101.112";
/// id-Ed25519 as DER contents: the common key and signature algorithm, recognised
/// without printing its dotted form.
pub const ED25519_DER: &[u8] = &[0x2b, 0x65, 0x70];
/// rsaEncryption, RFC 8017 Appendix C.
pub const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
/// sha256WithRSAEncryption, RFC 8017 Appendix C.
pub const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
/// id-RSASSA-PSS, RFC 8017 Appendix C.
pub const RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
/// id-mgf1, RFC 8017 Appendix B.2.1.
pub const MGF1: &str = "1.2.840.113549.1.1.8";
/// id-sha256, RFC 5754 §2.2.
pub const SHA256: &str = "2.16.840.1.101.3.4.2.1";
/// id-ecPublicKey, RFC 5480 §2.1.1.
pub const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// secp256r1 (prime256v1, NIST P-256), RFC 5480 §2.1.1.1.
pub const SECP256R1: &str = "1.2.840.10045.3.1.7";
/// ecdsa-with-SHA256, RFC 5758 §3.2.
pub const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";

/// Extensions whose meaning the validator implements (RFC 5280 §4.2.1); any other
/// extension marked critical makes a certificate unusable (RFC 5280 §4.2).
pub const SUBJECT_KEY_IDENTIFIER: &str = "2.5.29.14";
/// keyUsage, RFC 5280 §4.2.1.3.
pub const KEY_USAGE: &str = "2.5.29.15";
/// subjectAltName, RFC 5280 §4.2.1.6.
pub const SUBJECT_ALT_NAME: &str = "2.5.29.17";
/// basicConstraints, RFC 5280 §4.2.1.9.
pub const BASIC_CONSTRAINTS: &str = "2.5.29.19";
/// authorityKeyIdentifier, RFC 5280 §4.2.1.1.
pub const AUTHORITY_KEY_IDENTIFIER: &str = "2.5.29.35";
/// extKeyUsage, RFC 5280 §4.2.1.12.
pub const EXT_KEY_USAGE: &str = "2.5.29.37";
/// nameConstraints, RFC 5280 §4.2.1.10 (dNSName and iPAddress forms are checked; a CA
/// with any other form is refused).
pub const NAME_CONSTRAINTS: &str = "2.5.29.30";

/// id-kp-serverAuth, RFC 5280 §4.2.1.12.
pub const KP_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
/// id-kp-clientAuth, RFC 5280 §4.2.1.12.
pub const KP_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
/// anyExtendedKeyUsage, RFC 5280 §4.2.1.12.
pub const ANY_EXT_KEY_USAGE: &str = "2.5.29.37.0";

/// Every extension the validator understands.
pub const KNOWN_EXTENSIONS: &[&str] = &[
    SUBJECT_KEY_IDENTIFIER,
    KEY_USAGE,
    SUBJECT_ALT_NAME,
    BASIC_CONSTRAINTS,
    AUTHORITY_KEY_IDENTIFIER,
    EXT_KEY_USAGE,
    NAME_CONSTRAINTS,
];
