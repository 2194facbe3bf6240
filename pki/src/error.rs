//! Errors. Each names what was wrong with the detail a person needs to fix it.

use std::fmt;

use crate::key::SignatureAlgorithm;

/// Problems with keys: reading, writing, signing, verifying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key type name that is not one of `ed25519`, `rsa2048`, `rsa3072`, `p256`.
    #[error("unknown key type {0:?} (expected ed25519, rsa2048, rsa3072 or p256)")]
    UnknownKeyType(String),
    /// The encoding could not be read.
    #[error("malformed key: {0}")]
    Malformed(String),
    /// A key algorithm other than Ed25519, RSA or ECDSA.
    #[error("unsupported key algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// An elliptic-curve key on a curve other than P-256.
    #[error("unsupported elliptic curve {0}; keylab supports P-256 (prime256v1) only")]
    UnsupportedCurve(String),
    /// The PEM text has no private key block.
    #[error("no PRIVATE KEY block found")]
    NoPrivateKey,
    /// The PEM text has no public key block.
    #[error("no PUBLIC KEY block found")]
    NoPublicKey,
    /// Password-protected keys are not supported.
    #[error("encrypted private keys are not supported; decrypt with `openssl pkey` first")]
    Encrypted,
    /// The key cannot be used with this signature algorithm.
    #[error("a {key} key cannot be used with {alg}")]
    AlgorithmMismatch {
        /// The key's algorithm name.
        key: String,
        /// The requested signature algorithm.
        alg: SignatureAlgorithm,
    },
    /// An error inside the RSA implementation.
    #[error("RSA: {0}")]
    Rsa(String),
    /// An error inside the ECDSA implementation.
    #[error("ECDSA: {0}")]
    Ecdsa(String),
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
}

/// Problems reading certificates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The DER could not be parsed as an X.509 certificate.
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// Bytes follow the certificate.
    #[error("trailing bytes after certificate")]
    TrailingData,
    /// PEM text with no certificate in it.
    #[error("no CERTIFICATE block found")]
    NoCertificate,
    /// Bad PEM armour.
    #[error("malformed PEM: {0}")]
    Pem(String),
}

/// Problems issuing certificates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The CA key does not belong to the CA certificate.
    #[error(
        "CA key does not match CA certificate {subject} (certificate key sha256:{cert_key}, key file sha256:{key})"
    )]
    KeyMismatch {
        /// Subject of the CA certificate.
        subject: String,
        /// Fingerprint of the certificate's key.
        cert_key: String,
        /// Fingerprint of the supplied key.
        key: String,
    },
    /// The issuing certificate is not a CA.
    #[error("{0} is not a CA certificate (basicConstraints CA:TRUE missing)")]
    NotACa(String),
    /// A name that cannot go into a certificate.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// notAfter is not after notBefore.
    #[error("validity window is empty: notBefore {not_before}, notAfter {not_after}")]
    EmptyValidity {
        /// Start, RFC 3339.
        not_before: String,
        /// End, RFC 3339.
        not_after: String,
    },
    /// The certificate generator failed.
    #[error("issuing failed: {0}")]
    Rcgen(String),
    /// The issued certificate could not be read back.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// What a certificate is being validated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// A TLS server certificate (id-kp-serverAuth); the name is checked.
    Server,
    /// A TLS client certificate (id-kp-clientAuth).
    Client,
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Server => "serverAuth",
            Self::Client => "clientAuth",
        })
    }
}

/// Why a certificate path was rejected (RFC 5280 §6 and RFC 6125 name checks).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// notAfter is before the check time.
    #[error("certificate expired: notAfter {not_after}, checked at {checked_at} ({subject})")]
    Expired {
        /// The certificate's subject.
        subject: String,
        /// Its notAfter, RFC 3339.
        not_after: String,
        /// The time checked, RFC 3339.
        checked_at: String,
    },
    /// notBefore is after the check time.
    #[error(
        "certificate not yet valid: notBefore {not_before}, checked at {checked_at} ({subject})"
    )]
    NotYetValid {
        /// The certificate's subject.
        subject: String,
        /// Its notBefore, RFC 3339.
        not_before: String,
        /// The time checked, RFC 3339.
        checked_at: String,
    },
    /// The expected name is not among the certificate's subjectAltNames.
    #[error("name mismatch: expected {expected}, certificate is valid for [{}]", presented.join(", "))]
    NameMismatch {
        /// The name asked for.
        expected: String,
        /// The DNS and IP subjectAltNames present.
        presented: Vec<String>,
    },
    /// A name of a certificate below a name-constrained CA is outside its permitted
    /// subtrees or inside an excluded one (RFC 5280 §4.2.1.10).
    #[error("{subject} has the name {name}, outside the nameConstraints of {issuer}")]
    NameNotPermitted {
        /// The constrained CA.
        issuer: String,
        /// The certificate carrying the name.
        subject: String,
        /// The subjectAltName, e.g. `DNS:example.com`.
        name: String,
    },
    /// A CA's nameConstraints use a name form keylab does not check.
    #[error("nameConstraints of {issuer} constrain {form}, a form keylab does not check")]
    UnsupportedNameConstraint {
        /// The constrained CA.
        issuer: String,
        /// The subtree, described.
        form: String,
    },
    /// No trust anchor or intermediate has the issuer's name.
    #[error("unknown issuer: {issuer}")]
    UnknownIssuer {
        /// The issuer name of the last certificate in the partial chain.
        issuer: String,
    },
    /// A signature in the chain does not verify with the issuer's key.
    #[error("bad signature on {subject} (issuer {issuer}, algorithm {algorithm})")]
    BadSignature {
        /// The certificate whose signature failed.
        subject: String,
        /// Its issuer.
        issuer: String,
        /// The signature algorithm.
        algorithm: String,
    },
    /// The signature algorithm is not one keylab verifies.
    #[error("unsupported signature algorithm {algorithm} on {subject}")]
    UnsupportedSignatureAlgorithm {
        /// The certificate.
        subject: String,
        /// The algorithm (OID or name).
        algorithm: String,
    },
    /// The issuer's key type cannot be used.
    #[error("unsupported public key in issuer {subject}: {reason}")]
    UnsupportedIssuerKey {
        /// The issuer.
        subject: String,
        /// Why.
        reason: String,
    },
    /// A certificate used as an issuer is not a CA (basicConstraints, RFC 5280 §4.2.1.9).
    #[error("issuer is not a CA: {issuer} has no basicConstraints CA:TRUE but signed {subject}")]
    IssuerNotCa {
        /// The would-be issuer.
        issuer: String,
        /// What it signed.
        subject: String,
    },
    /// An issuer's pathLenConstraint is smaller than the number of CAs below it.
    #[error(
        "path length exceeded: {issuer} allows {allowed} intermediate(s) below it, chain has {found}"
    )]
    PathLenExceeded {
        /// The constraining CA.
        issuer: String,
        /// Its pathLenConstraint.
        allowed: u32,
        /// Intermediates found below it.
        found: u32,
    },
    /// An issuer's keyUsage lacks keyCertSign (RFC 5280 §4.2.1.3).
    #[error("issuer {issuer} keyUsage lacks keyCertSign (has [{}])", present.join(", "))]
    IssuerKeyUsage {
        /// The issuer.
        issuer: String,
        /// The key usages it has.
        present: Vec<String>,
    },
    /// The leaf's keyUsage lacks digitalSignature.
    #[error("certificate {subject} keyUsage lacks digitalSignature (has [{}])", present.join(", "))]
    LeafKeyUsage {
        /// The leaf.
        subject: String,
        /// The key usages it has.
        present: Vec<String>,
    },
    /// extendedKeyUsage is present and does not include the purpose.
    #[error("wrong extended key usage: {subject} is for [{}], needed {needed}", present.join(", "))]
    WrongExtendedKeyUsage {
        /// The certificate.
        subject: String,
        /// The purpose asked for.
        needed: Purpose,
        /// The purposes it has.
        present: Vec<String>,
    },
    /// A critical extension the validator does not implement (RFC 5280 §4.2).
    #[error("unknown critical extension {oid} in {subject}")]
    UnknownCriticalExtension {
        /// The certificate.
        subject: String,
        /// The extension's OID.
        oid: String,
    },
    /// Not an X.509 v3 certificate.
    #[error("unsupported certificate version v{version} in {subject} (only v3)")]
    UnsupportedVersion {
        /// The certificate.
        subject: String,
        /// Its version (1-based, as people say it).
        version: u32,
    },
    /// The path would be longer than the limit.
    #[error("certificate chain longer than {limit} certificates")]
    ChainTooLong {
        /// The limit.
        limit: usize,
    },
    /// Path building checked too many candidate issuers (many certificates with the same
    /// name) and gave up.
    #[error("gave up building the certificate path after {checks} candidate issuers")]
    SearchBudgetExhausted {
        /// The budget that ran out.
        checks: u32,
    },
    /// No trust anchors were given.
    #[error("no trust anchors configured")]
    NoTrustAnchors,
}

/// x509-parser's error for `what` (`"certificate"`, `"SubjectPublicKeyInfo"`) in words a
/// person can act on: its own text speaks of parser internals (`Parsing Error:
/// NomError(Eof)`, `Parsing requires 1 bytes/chars`).
pub(crate) fn x509_error(
    what: &str,
    e: x509_parser::nom::Err<x509_parser::error::X509Error>,
) -> String {
    use x509_parser::der_parser::error::BerError;
    use x509_parser::error::X509Error;
    use x509_parser::nom::{Err, error::ErrorKind};

    let truncated = format!("the DER of the {what} ends early (truncated?)");
    let not_der = format!("not a DER-encoded {what}");
    let e = match e {
        Err::Incomplete(_) => return truncated,
        Err::Error(e) | Err::Failure(e) => e,
    };
    match e {
        X509Error::NomError(ErrorKind::Eof)
        | X509Error::Der(BerError::Incomplete(_) | BerError::NomError(ErrorKind::Eof)) => truncated,
        X509Error::NomError(_)
        | X509Error::Generic
        | X509Error::Der(
            BerError::NomError(_) | BerError::BerTypeError | BerError::UnexpectedTag { .. },
        ) => not_der,
        X509Error::Der(der) => format!("{not_der}: {der}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::{Certificate, PublicKey};

    fn leaks(message: &str) -> bool {
        ["Nom", "Parsing", "requires", "Eof", "bytes/chars"]
            .iter()
            .any(|word| message.contains(word))
    }

    #[test]
    fn damaged_certificates_are_described_without_parser_internals() {
        let chain = Certificate::from_pem_bundle(fixtures::ED25519.server_chain).expect("chain");
        let der = chain[0].der();
        for len in 0..der.len() {
            let e = Certificate::from_der(&der[..len]).expect_err("truncated");
            let message = e.to_string();
            assert!(!leaks(&message), "{len}: {message}");
        }
        for garbage in [
            &b"not a certificate"[..],
            &[0x30, 0x03, 0x02, 0x01, 0x01],
            &[0xff; 40],
        ] {
            let message = Certificate::from_der(garbage)
                .expect_err("garbage")
                .to_string();
            assert!(!leaks(&message), "{message}");
        }
        let e = Certificate::from_der(&der[..der.len() / 2]).expect_err("half");
        assert!(e.to_string().contains("ends early"), "{e}");
        let spki = chain[0].public_key().expect("key").spki_der();
        for len in 0..spki.len() {
            let message = PublicKey::from_spki_der(&spki[..len])
                .expect_err("truncated")
                .to_string();
            assert!(!leaks(&message), "{len}: {message}");
        }
    }
}
