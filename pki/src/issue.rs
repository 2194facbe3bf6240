//! Issuing certificates with rcgen, signed by keylab's own keys.
//!
//! rcgen is used with its crypto backends (ring, aws-lc-rs) switched off: keylab
//! implements rcgen's `SigningKey` for [`PrivateKey`], so one set of crates (ed25519-dalek,
//! rsa, p256) does all signing, builds stay small, and a seeded RNG fully determines the
//! output (ECDSA signatures use RFC 6979 nonces, so they are reproducible too). The CA's
//! key decides the signature algorithm: Ed25519, sha256WithRSAEncryption or
//! ecdsa-with-SHA256 (RFC 5758 §3.2); any key type may be issued under any CA.
//! With the backend off rcgen derives no key identifiers, so they are set here: the
//! subjectKeyIdentifier is the first 20 bytes of SHA-256 over the SubjectPublicKeyInfo
//! (RFC 7093 §2 style), and the authorityKeyIdentifier copies the issuer's.

use std::net::IpAddr;

use rand_core::CryptoRng;
use rcgen::{
    BasicConstraints as RcBasicConstraints, CertificateParams, CidrSubnet, CustomExtension, DnType,
    DnValue, ExtendedKeyUsagePurpose, GeneralSubtree as RcGeneralSubtree, IsCa, Issuer,
    KeyIdMethod, KeyUsagePurpose, NameConstraints as RcNameConstraints, PublicKeyData, SanType,
    SerialNumber, SigningKey,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::cert::{Certificate, ExtendedKeyUsage};
use crate::constraints::{GeneralSubtree, NameConstraints};
use crate::error::IssueError;
use crate::key::{PrivateKey, PublicKey};
use crate::rfc3339;

/// The kind of certificate to issue; each sets basicConstraints, keyUsage,
/// extendedKeyUsage and subjectAltName the way TLS peers expect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Profile {
    /// A self-signed root CA: CA:TRUE, keyCertSign + cRLSign.
    Root {
        /// pathLenConstraint; `None` for unlimited.
        path_len: Option<u8>,
    },
    /// An intermediate CA: CA:TRUE, keyCertSign + cRLSign.
    Intermediate {
        /// pathLenConstraint; `None` for unlimited.
        path_len: Option<u8>,
    },
    /// A TLS server: CA:FALSE, digitalSignature, serverAuth; each name becomes an IP
    /// subjectAltName when it parses as an IP address, else a DNS one.
    Server {
        /// Host names and IP addresses.
        names: Vec<String>,
    },
    /// A TLS client: CA:FALSE, digitalSignature, clientAuth; the subject CN names it.
    Client {
        /// Optional e-mail subjectAltName.
        email: Option<String>,
    },
}

/// An extra extension, for test certificates (e.g. an unknown critical one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraExtension {
    /// The OID's arcs.
    pub oid: Vec<u64>,
    /// Critical flag.
    pub critical: bool,
    /// The extnValue contents (DER).
    pub value: Vec<u8>,
}

/// Everything that goes into a certificate besides the keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRequest {
    /// Subject commonName.
    pub common_name: String,
    /// Kind of certificate.
    pub profile: Profile,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Serial number bytes; `None` draws 16 from the RNG.
    pub serial: Option<Vec<u8>>,
    /// Replaces the profile's extendedKeyUsage (test certificates only).
    pub extended_key_usage: Option<Vec<ExtendedKeyUsage>>,
    /// Extra extensions (test certificates only).
    pub extra_extensions: Vec<ExtraExtension>,
    /// nameConstraints for a CA (RFC 5280 §4.2.1.10), written critical as §4.2.1.10
    /// requires; dNSName and iPAddress subtrees only.
    pub name_constraints: Option<NameConstraints>,
}

impl CertificateRequest {
    /// A request with the given name, profile and validity, a random serial and no extras.
    pub fn new(
        common_name: &str,
        profile: Profile,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Self {
        Self {
            common_name: common_name.to_owned(),
            profile,
            not_before,
            not_after,
            serial: None,
            extended_key_usage: None,
            extra_extensions: Vec::new(),
            name_constraints: None,
        }
    }
}

/// Issues a self-signed certificate for `key` (normally a [`Profile::Root`]).
pub fn self_signed<R: CryptoRng + ?Sized>(
    request: &CertificateRequest,
    key: &PrivateKey,
    rng: &mut R,
) -> Result<Certificate, IssueError> {
    let params = params(request, key.public_key(), rng)?;
    let signer = Signer(key);
    let cert = params.self_signed(&signer).map_err(rcgen_error)?;
    Ok(Certificate::from_der(cert.der())?)
}

/// Issues a certificate for `subject_key`, signed by `issuer_key` under `issuer_cert`.
///
/// The issuer must be a CA whose certificate matches its key. (To build deliberately broken
/// test chains, [`issue_unchecked`] skips the CA check.)
pub fn issue<R: CryptoRng + ?Sized>(
    request: &CertificateRequest,
    subject_key: &PublicKey,
    issuer_cert: &Certificate,
    issuer_key: &PrivateKey,
    rng: &mut R,
) -> Result<Certificate, IssueError> {
    if !issuer_cert.is_ca() {
        return Err(IssueError::NotACa(issuer_cert.subject().to_string()));
    }
    issue_unchecked(request, subject_key, issuer_cert, issuer_key, rng)
}

/// Like [`issue`] but lets a non-CA certificate sign: only for negative test fixtures.
pub fn issue_unchecked<R: CryptoRng + ?Sized>(
    request: &CertificateRequest,
    subject_key: &PublicKey,
    issuer_cert: &Certificate,
    issuer_key: &PrivateKey,
    rng: &mut R,
) -> Result<Certificate, IssueError> {
    let cert_key = issuer_cert
        .public_key()
        .map_err(|e| IssueError::Rcgen(format!("CA certificate key: {e}")))?;
    if cert_key != issuer_key.public_key() {
        return Err(IssueError::KeyMismatch {
            subject: issuer_cert.subject().to_string(),
            cert_key: cert_key.fingerprint(),
            key: issuer_key.public_key().fingerprint(),
        });
    }
    let params = params(request, subject_key, rng)?;
    let issuer = Issuer::new(issuer_params(issuer_cert)?, Signer(issuer_key));
    let cert = params
        .signed_by(&SubjectKey(subject_key), &issuer)
        .map_err(rcgen_error)?;
    let cert = Certificate::from_der(cert.der())?;
    if cert.issuer().der() != issuer_cert.subject().der() {
        return Err(IssueError::Rcgen(format!(
            "cannot reproduce the CA's subject name {} byte for byte (multi-valued RDN?)",
            issuer_cert.subject()
        )));
    }
    Ok(cert)
}

/// The parts of a CA certificate rcgen needs to issue under it: the subject name, with
/// each attribute in its original string type so the child's issuer field matches the
/// CA's subject byte for byte (RFC 5280 §7.1), and the subjectKeyIdentifier.
fn issuer_params(ca: &Certificate) -> Result<CertificateParams, IssueError> {
    use x509_parser::der_parser::asn1_rs::Tag;
    use x509_parser::prelude::FromDer as _;

    let bad = |what: String| IssueError::Rcgen(format!("CA subject {}: {what}", ca.subject()));
    let (_, x509) = x509_parser::certificate::X509Certificate::from_der(ca.der())
        .map_err(|e| bad(e.to_string()))?;
    let mut params = CertificateParams::default();
    for attr in x509.subject().iter_attributes() {
        let arcs: Vec<u64> = attr
            .attr_type()
            .iter()
            .ok_or_else(|| bad("attribute OID too large".into()))?
            .collect();
        let value = attr.attr_value();
        let data = value.data.to_vec();
        let text =
            || String::from_utf8(data.clone()).map_err(|_| bad("string is not UTF-8".into()));
        let dn_value = match value.tag() {
            Tag::Utf8String => DnValue::Utf8String(text()?),
            Tag::PrintableString => {
                DnValue::PrintableString(text()?.try_into().map_err(rcgen_error)?)
            }
            Tag::Ia5String => DnValue::Ia5String(text()?.try_into().map_err(rcgen_error)?),
            Tag::TeletexString => DnValue::TeletexString(text()?.try_into().map_err(rcgen_error)?),
            Tag::BmpString => {
                let units: Vec<u16> = data
                    .chunks(2)
                    .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                    .collect();
                let text = String::from_utf16(&units)
                    .map_err(|_| bad("BMPString is not UTF-16".into()))?;
                DnValue::BmpString(text.try_into().map_err(rcgen_error)?)
            }
            other => return Err(bad(format!("unsupported string type {other}"))),
        };
        params
            .distinguished_name
            .push(DnType::from_oid(&arcs), dn_value);
    }
    let ski = ca
        .subject_key_id()
        .ok_or_else(|| bad("no subjectKeyIdentifier".into()))?;
    params.key_identifier_method = KeyIdMethod::PreSpecified(ski.to_vec());
    Ok(params)
}

/// The key identifier keylab writes: SHA-256 of the SubjectPublicKeyInfo, first 20 bytes.
pub fn key_identifier(key: &PublicKey) -> Vec<u8> {
    Sha256::digest(key.spki_der())[..20].to_vec()
}

fn params<R: CryptoRng + ?Sized>(
    request: &CertificateRequest,
    subject_key: &PublicKey,
    rng: &mut R,
) -> Result<CertificateParams, IssueError> {
    if request.not_after <= request.not_before {
        return Err(IssueError::EmptyValidity {
            not_before: rfc3339(request.not_before),
            not_after: rfc3339(request.not_after),
        });
    }
    check_name(&request.common_name)?;
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, request.common_name.as_str());
    params.not_before = request.not_before;
    params.not_after = request.not_after;
    let serial = match &request.serial {
        Some(bytes) => bytes.clone(),
        None => {
            let mut bytes = [0u8; 16];
            rng.fill_bytes(&mut bytes);
            // RFC 5280 §4.1.2.2: a positive integer; keep the top bit clear and the first
            // byte non-zero so the encoding is always 16 bytes.
            bytes[0] = (bytes[0] & 0x7f) | 0x40;
            bytes.to_vec()
        }
    };
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.key_identifier_method = KeyIdMethod::PreSpecified(key_identifier(subject_key));
    params.use_authority_key_identifier_extension = true;
    match &request.profile {
        Profile::Root { path_len } | Profile::Intermediate { path_len } => {
            params.is_ca = IsCa::Ca(match path_len {
                Some(n) => RcBasicConstraints::Constrained(*n),
                None => RcBasicConstraints::Unconstrained,
            });
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        Profile::Server { names } => {
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            for name in names {
                params.subject_alt_names.push(server_name(name)?);
            }
        }
        Profile::Client { email } => {
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            if let Some(email) = email {
                let value = email
                    .as_str()
                    .try_into()
                    .map_err(|_| IssueError::InvalidName {
                        name: email.clone(),
                        reason: "not an IA5 (ASCII) e-mail address".into(),
                    })?;
                params.subject_alt_names.push(SanType::Rfc822Name(value));
            }
        }
    }
    if let Some(nc) = &request.name_constraints {
        if !matches!(params.is_ca, IsCa::Ca(_)) {
            return Err(IssueError::Rcgen(
                "nameConstraints belong in a CA certificate (RFC 5280 §4.2.1.10)".into(),
            ));
        }
        params.name_constraints = Some(rcgen_name_constraints(nc)?);
    }
    if let Some(ekus) = &request.extended_key_usage {
        params.extended_key_usages = ekus.iter().map(eku).collect::<Result<_, _>>()?;
    }
    for extra in &request.extra_extensions {
        let mut ext = CustomExtension::from_oid_content(&extra.oid, extra.value.clone());
        ext.set_criticality(extra.critical);
        params.custom_extensions.push(ext);
    }
    Ok(params)
}

fn check_name(name: &str) -> Result<(), IssueError> {
    let bad = |reason: &str| IssueError::InvalidName {
        name: name.to_owned(),
        reason: reason.into(),
    };
    if name.trim().is_empty() {
        return Err(bad("empty"));
    }
    if name.len() > 64 {
        // RFC 5280 Appendix A: ub-common-name is 64.
        return Err(bad("longer than 64 bytes"));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("contains control characters"));
    }
    Ok(())
}

fn server_name(name: &str) -> Result<SanType, IssueError> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let bad = |reason: &str| IssueError::InvalidName {
        name: name.to_owned(),
        reason: reason.into(),
    };
    let labels: Vec<&str> = name.split('.').collect();
    for (i, label) in labels.iter().enumerate() {
        let wildcard = i == 0 && *label == "*" && labels.len() > 2;
        let valid = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !wildcard && !valid {
            return Err(bad(
                "not a DNS name (letters, digits and '-' in dot-separated labels; '*' only as a whole leftmost label)",
            ));
        }
    }
    let value = name.try_into().map_err(|_| bad("not ASCII"))?;
    Ok(SanType::DnsName(value))
}

fn eku(purpose: &ExtendedKeyUsage) -> Result<ExtendedKeyUsagePurpose, IssueError> {
    Ok(match purpose {
        ExtendedKeyUsage::ServerAuth => ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsage::ClientAuth => ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsage::Any => ExtendedKeyUsagePurpose::Any,
        ExtendedKeyUsage::Other(oid) => {
            let arcs = oid
                .split('.')
                .map(str::parse)
                .collect::<Result<Vec<u64>, _>>()
                .map_err(|_| IssueError::Rcgen(format!("bad OID {oid}")))?;
            ExtendedKeyUsagePurpose::Other(arcs)
        }
    })
}

/// rcgen's form of our constraints; rcgen marks the extension critical.
fn rcgen_name_constraints(nc: &NameConstraints) -> Result<RcNameConstraints, IssueError> {
    let subtrees = |trees: &[GeneralSubtree]| {
        trees
            .iter()
            .map(|t| match t {
                GeneralSubtree::Dns(name) => Ok(RcGeneralSubtree::DnsName(name.clone())),
                GeneralSubtree::Ip { address, prefix } => Ok(RcGeneralSubtree::IpAddress(
                    CidrSubnet::from_addr_prefix(*address, *prefix),
                )),
                GeneralSubtree::Other(what) => Err(IssueError::Rcgen(format!(
                    "nameConstraints: only DNS and IP subtrees can be issued, not {what}"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(RcNameConstraints {
        permitted_subtrees: subtrees(&nc.permitted)?,
        excluded_subtrees: subtrees(&nc.excluded)?,
    })
}

fn rcgen_error(e: rcgen::Error) -> IssueError {
    IssueError::Rcgen(e.to_string())
}

/// rcgen's algorithm for a key: it gives the SubjectPublicKeyInfo's AlgorithmIdentifier
/// when the key is a subject, and the signature algorithm when it signs.
fn rcgen_algorithm(key: &PublicKey) -> &'static rcgen::SignatureAlgorithm {
    if key.is_ed25519() {
        &rcgen::PKCS_ED25519
    } else if key.is_p256() {
        // id-ecPublicKey + secp256r1 (RFC 5480 §2.1.1); signs with ecdsa-with-SHA256.
        &rcgen::PKCS_ECDSA_P256_SHA256
    } else {
        &rcgen::PKCS_RSA_SHA256
    }
}

/// A public key as rcgen sees it.
struct SubjectKey<'a>(&'a PublicKey);

impl PublicKeyData for SubjectKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0.raw()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        rcgen_algorithm(self.0)
    }
}

/// Our private key as rcgen's signer: Ed25519, sha256WithRSAEncryption or
/// ecdsa-with-SHA256 (a DER ECDSA-Sig-Value, as the certificate's signatureValue carries).
struct Signer<'a>(&'a PrivateKey);

impl PublicKeyData for Signer<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0.public_key().raw()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        rcgen_algorithm(self.0.public_key())
    }
}

impl SigningKey for Signer<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.0
            .sign_deterministic(self.0.certificate_signature_algorithm(), msg)
            .map_err(|_| rcgen::Error::RemoteKeyError)
    }
}
