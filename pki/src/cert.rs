//! X.509 certificates parsed into owned, typed fields (RFC 5280 §4.1).

use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::sync::OnceLock;

use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer as _;
use x509_parser::signature_algorithm::SignatureAlgorithm as X509SigAlg;
use x509_parser::x509::{AlgorithmIdentifier, X509Name};

use crate::constraints::{self, NameConstraints};
use crate::error::ParseError;
use crate::key::{PublicKey, SignatureAlgorithm};
use crate::{oid, rfc3339};

mod read;

/// A distinguished name of a certificate, borrowed from it: its DER (compared byte for
/// byte when chaining) and a readable form such as `CN=alice`, made from the DER when
/// first asked for and kept with the certificate (path validation compares names and
/// prints them only when it fails or a summary asks).
#[derive(Clone, Copy, Debug)]
pub struct Name<'a> {
    der: &'a [u8],
    text: &'a OnceLock<String>,
}

impl<'a> Name<'a> {
    /// The DER encoding of the Name.
    pub fn der(&self) -> &'a [u8] {
        self.der
    }

    /// The commonName, if there is one.
    pub fn common_name(&self) -> Option<&'a str> {
        self.text()
            .split(", ")
            .find_map(|part| part.strip_prefix("CN="))
    }

    fn text(&self) -> &'a str {
        self.text.get_or_init(|| {
            // The DER was checked to be an RDNSequence when the certificate was read.
            // x509-parser prints what keylab does not (a value it cannot decode as
            // "<X509Error: Invalid X.509 name>"); a Name it cannot read at all is empty.
            read::name_text(self.der).unwrap_or_else(|| {
                X509Name::from_der(self.der)
                    .map(|(_, name)| name.to_string())
                    .unwrap_or_default()
            })
        })
    }
}

impl PartialEq for Name<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Name<'_> {}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        if text.is_empty() {
            f.write_str("(empty name)")
        } else {
            f.write_str(text)
        }
    }
}

/// Where a Name lies in the certificate's DER, and its printed form once made.
#[derive(Clone, Debug)]
struct NameField {
    at: Range<usize>,
    text: OnceLock<String>,
}

impl NameField {
    fn new(at: Range<usize>) -> Self {
        Self {
            at,
            text: OnceLock::new(),
        }
    }
}

/// Where the name lies decides (the certificate compares its DER itself); the printed
/// form is made from the DER.
impl PartialEq for NameField {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl Eq for NameField {}

/// A subjectAltName entry (RFC 5280 §4.2.1.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectAltName {
    /// dNSName.
    Dns(String),
    /// iPAddress.
    Ip(IpAddr),
    /// rfc822Name (an e-mail address).
    Email(String),
    /// Any other form, described.
    Other(String),
}

impl fmt::Display for SubjectAltName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(name) => write!(f, "DNS:{name}"),
            Self::Ip(ip) => write!(f, "IP:{ip}"),
            Self::Email(addr) => write!(f, "email:{addr}"),
            Self::Other(what) => f.write_str(what),
        }
    }
}

/// An extendedKeyUsage purpose (RFC 5280 §4.2.1.12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtendedKeyUsage {
    /// id-kp-serverAuth.
    ServerAuth,
    /// id-kp-clientAuth.
    ClientAuth,
    /// anyExtendedKeyUsage.
    Any,
    /// Another purpose, by OID.
    Other(String),
}

impl fmt::Display for ExtendedKeyUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServerAuth => f.write_str("serverAuth"),
            Self::ClientAuth => f.write_str("clientAuth"),
            Self::Any => f.write_str("anyExtendedKeyUsage"),
            Self::Other(oid) => f.write_str(oid),
        }
    }
}

/// basicConstraints (RFC 5280 §4.2.1.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicConstraints {
    /// cA.
    pub ca: bool,
    /// pathLenConstraint.
    pub path_len: Option<u32>,
}

/// keyUsage bits (RFC 5280 §4.2.1.3), in the order of the ASN.1 definition.
pub const KEY_USAGE_NAMES: [&str; 9] = [
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
];

/// The keyUsage extension: bit i is `KEY_USAGE_NAMES[i]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyUsage(pub u16);

impl KeyUsage {
    /// digitalSignature.
    pub fn digital_signature(self) -> bool {
        self.0 & 1 != 0
    }

    /// keyCertSign.
    pub fn key_cert_sign(self) -> bool {
        self.0 & (1 << 5) != 0
    }

    /// The names of the bits that are set.
    pub fn names(self) -> Vec<String> {
        KEY_USAGE_NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| (*n).to_owned())
            .collect()
    }
}

/// How a certificate is signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertSignature {
    /// One of the algorithms keylab verifies.
    Supported(SignatureAlgorithm),
    /// Anything else (OID or description).
    Unsupported(String),
}

/// A parsed certificate. Construction checks the DER; validation is separate
/// ([`crate::verify_path`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    /// Where the signed part (TBSCertificate) lies in `der`.
    tbs: Range<usize>,
    /// Where the signature's bytes lie in `der`.
    signature: Range<usize>,
    signature_algorithm: CertSignature,
    version: u32,
    /// Where the serial number's bytes lie in `der`.
    serial: Range<usize>,
    subject: NameField,
    issuer: NameField,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    public_key: Result<PublicKey, String>,
    basic_constraints: Option<BasicConstraints>,
    key_usage: Option<KeyUsage>,
    extended_key_usage: Option<Vec<ExtendedKeyUsage>>,
    subject_alt_names: Vec<SubjectAltName>,
    /// Where the key identifiers lie in `der`.
    subject_key_id: Option<Range<usize>>,
    authority_key_id: Option<Range<usize>>,
    name_constraints: Option<NameConstraints>,
    unknown_critical_extensions: Vec<String>,
}

impl Certificate {
    /// Parses one DER certificate; trailing bytes are an error.
    pub fn from_der(der: &[u8]) -> Result<Self, ParseError> {
        read::certificate(der.to_vec())
    }

    /// Like [`Certificate::from_der`], keeping `der` itself instead of a copy (a
    /// certificate taken from a handshake message the caller owns).
    pub fn from_der_vec(der: Vec<u8>) -> Result<Self, ParseError> {
        read::certificate(der)
    }

    /// Parses every `CERTIFICATE` block of a PEM text, in order; other blocks are skipped.
    pub fn from_pem_bundle(text: &str) -> Result<Vec<Self>, ParseError> {
        let blocks = pem::parse_many(text).map_err(|e| ParseError::Pem(e.to_string()))?;
        let certs = blocks
            .iter()
            .filter(|b| b.tag() == "CERTIFICATE")
            .map(|b| Self::from_der(b.contents()))
            .collect::<Result<Vec<_>, _>>()?;
        if certs.is_empty() {
            return Err(ParseError::NoCertificate);
        }
        Ok(certs)
    }

    /// PEM `CERTIFICATE` block.
    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new("CERTIFICATE", self.der.clone()))
    }

    /// The whole certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The signed part (TBSCertificate), DER.
    pub fn tbs_der(&self) -> &[u8] {
        &self.der[self.tbs.clone()]
    }

    /// The signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.der[self.signature.clone()]
    }

    /// How the certificate is signed.
    pub fn signature_algorithm(&self) -> &CertSignature {
        &self.signature_algorithm
    }

    /// X.509 version, 1-based (3 for v3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The serial number's bytes (big-endian, as encoded).
    pub fn serial(&self) -> &[u8] {
        &self.der[self.serial.clone()]
    }

    /// Subject.
    pub fn subject(&self) -> Name<'_> {
        self.name(&self.subject)
    }

    /// Issuer.
    pub fn issuer(&self) -> Name<'_> {
        self.name(&self.issuer)
    }

    fn name<'a>(&'a self, field: &'a NameField) -> Name<'a> {
        Name {
            der: &self.der[field.at.clone()],
            text: &field.text,
        }
    }

    /// notBefore.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// notAfter.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// The subject public key, or why it cannot be used (e.g. a P-384 key).
    pub fn public_key(&self) -> Result<&PublicKey, &str> {
        self.public_key.as_ref().map_err(String::as_str)
    }

    /// basicConstraints, if present.
    pub fn basic_constraints(&self) -> Option<BasicConstraints> {
        self.basic_constraints
    }

    /// True when basicConstraints says cA.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints.is_some_and(|bc| bc.ca)
    }

    /// keyUsage, if present.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        self.key_usage
    }

    /// extendedKeyUsage, if present.
    pub fn extended_key_usage(&self) -> Option<&[ExtendedKeyUsage]> {
        self.extended_key_usage.as_deref()
    }

    /// subjectAltName entries.
    pub fn subject_alt_names(&self) -> &[SubjectAltName] {
        &self.subject_alt_names
    }

    /// subjectKeyIdentifier.
    pub fn subject_key_id(&self) -> Option<&[u8]> {
        self.subject_key_id.clone().map(|at| &self.der[at])
    }

    /// authorityKeyIdentifier's keyIdentifier.
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.authority_key_id.clone().map(|at| &self.der[at])
    }

    /// nameConstraints (RFC 5280 §4.2.1.10), if present.
    pub fn name_constraints(&self) -> Option<&NameConstraints> {
        self.name_constraints.as_ref()
    }

    /// Critical extensions the validator does not implement, by OID.
    pub fn unknown_critical_extensions(&self) -> &[String] {
        &self.unknown_critical_extensions
    }

    /// True when subject and issuer are the same name.
    pub fn is_self_issued(&self) -> bool {
        self.subject().der == self.issuer().der
    }

    /// A few lines for people: subject, issuer, validity, key, names, constraints.
    pub fn summary(&self) -> String {
        let key = match &self.public_key {
            Ok(k) => format!("{} sha256:{}", k.algorithm_name(), k.fingerprint()),
            Err(e) => format!("unusable ({e})"),
        };
        let sig = match &self.signature_algorithm {
            CertSignature::Supported(alg) => alg.to_string(),
            CertSignature::Unsupported(what) => format!("{what} (unsupported)"),
        };
        let mut out = format!(
            "certificate {}\n  issuer:    {}\n  validity:  {} .. {}\n  key:       {key}\n  signature: {sig}\n",
            self.subject(),
            self.issuer(),
            rfc3339(self.not_before),
            rfc3339(self.not_after),
        );
        match self.basic_constraints {
            Some(BasicConstraints { ca: true, path_len }) => {
                let len = path_len.map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
                out.push_str(&format!("  ca:        yes, pathLen {len}\n"));
            }
            _ => out.push_str("  ca:        no\n"),
        }
        if !self.subject_alt_names.is_empty() {
            let names: Vec<String> = self
                .subject_alt_names
                .iter()
                .map(ToString::to_string)
                .collect();
            out.push_str(&format!("  names:     {}\n", names.join(", ")));
        }
        if let Some(ku) = self.key_usage {
            out.push_str(&format!("  keyUsage:  {}\n", ku.names().join(", ")));
        }
        if let Some(eku) = &self.extended_key_usage {
            let list: Vec<String> = eku.iter().map(ToString::to_string).collect();
            out.push_str(&format!("  extKeyUsage: {}\n", list.join(", ")));
        }
        if let Some(nc) = &self.name_constraints {
            let list = |trees: &[constraints::GeneralSubtree]| {
                trees
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push_str(&format!(
                "  nameConstraints: permitted [{}]",
                list(&nc.permitted)
            ));
            if !nc.excluded.is_empty() {
                out.push_str(&format!(", excluded [{}]", list(&nc.excluded)));
            }
            out.push('\n');
        }
        out
    }
}

/// Where `part`, a slice the parser borrowed from `whole`, lies in `whole`.
fn subslice_range(whole: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

fn alt_name(gn: &GeneralName<'_>) -> SubjectAltName {
    match gn {
        GeneralName::DNSName(dns) => SubjectAltName::Dns((*dns).to_owned()),
        GeneralName::RFC822Name(mail) => SubjectAltName::Email((*mail).to_owned()),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => {
                let b: [u8; 4] = [bytes[0], bytes[1], bytes[2], bytes[3]];
                SubjectAltName::Ip(IpAddr::from(b))
            }
            16 => {
                let mut b = [0u8; 16];
                b.copy_from_slice(bytes);
                SubjectAltName::Ip(IpAddr::from(b))
            }
            n => SubjectAltName::Other(format!("IP:<{n} bytes>")),
        },
        other => SubjectAltName::Other(format!("{other}")),
    }
}

/// What an AlgorithmIdentifier other than the common Ed25519 one names.
fn signature_algorithm(algorithm: &AlgorithmIdentifier<'_>) -> CertSignature {
    let id = algorithm.algorithm.to_id_string();
    match id.as_str() {
        oid::ED25519 => CertSignature::Supported(SignatureAlgorithm::Ed25519),
        oid::SHA256_WITH_RSA => CertSignature::Supported(SignatureAlgorithm::RsaPkcs1Sha256),
        oid::RSASSA_PSS => pss_parameters(algorithm),
        // RFC 5758 §3.2: the parameters field must be absent. The curve is the issuer
        // key's; verifying against a key that is not P-256 fails there.
        oid::ECDSA_WITH_SHA256 if algorithm.parameters.is_none() => {
            CertSignature::Supported(SignatureAlgorithm::EcdsaP256Sha256)
        }
        oid::ECDSA_WITH_SHA256 => CertSignature::Unsupported(
            "ecdsa-with-SHA256 with parameters (RFC 5758 §3.2 requires none)".into(),
        ),
        _ => CertSignature::Unsupported(signature_name(&id)),
    }
}

/// Algorithms a person may meet that keylab does not verify, by name and OID.
fn signature_name(id: &str) -> String {
    let name = match id {
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.3.101.113" => "Ed448",
        _ => return id.to_owned(),
    };
    format!("{name} ({id})")
}

/// RSASSA-PSS parameters (RFC 4055 §3.1): only SHA-256 with MGF1-SHA-256 is accepted;
/// the salt length comes from the parameters (default 20).
fn pss_parameters(algorithm: &AlgorithmIdentifier<'_>) -> CertSignature {
    let Ok(X509SigAlg::RSASSA_PSS(params)) = X509SigAlg::try_from(algorithm) else {
        return CertSignature::Unsupported("RSASSA-PSS with malformed parameters".into());
    };
    let hash = params.hash_algorithm_oid().to_id_string();
    let mgf_ok = params.mask_gen_algorithm().is_ok_and(|mgf| {
        mgf.mgf.to_id_string() == oid::MGF1 && mgf.hash.to_id_string() == oid::SHA256
    });
    if hash != oid::SHA256 || !mgf_ok || params.trailer_field() != 1 {
        return CertSignature::Unsupported(format!(
            "RSASSA-PSS with hash {hash} (only SHA-256 with MGF1-SHA-256)"
        ));
    }
    CertSignature::Supported(SignatureAlgorithm::RsaPssSha256 {
        salt_len: params.salt_length() as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_print_and_compare_by_der() {
        let cert = Certificate::from_pem_bundle(fixtures::ED25519.server_chain)
            .expect("fixture")
            .remove(0);
        let subject = cert.subject();
        assert_eq!(subject, cert.subject());
        assert!(subject.to_string().contains("CN="), "{subject}");
        assert_eq!(subject, cert.subject(), "printing does not change equality");
        assert_eq!(
            cert.subject().common_name(),
            Some("localhost"),
            "the commonName of the printed form"
        );
        assert!(cert.tbs_der().len() < cert.der().len());
        assert_eq!(cert.tbs_der()[0], 0x30, "TBSCertificate is a SEQUENCE");
    }

    #[test]
    fn a_certificate_read_from_an_owned_vector_is_the_one_read_from_a_slice() {
        let pem = pem::parse(fixtures::ED25519.server_chain).expect("fixture");
        let borrowed = Certificate::from_der(pem.contents()).expect("reads");
        let owned = Certificate::from_der_vec(pem.contents().to_vec()).expect("reads");
        assert_eq!(owned, borrowed);
        assert_eq!(owned.der(), pem.contents());
        assert_eq!(owned.issuer().to_string(), borrowed.issuer().to_string());
        let mut trailing = pem.contents().to_vec();
        trailing.push(0);
        assert_eq!(
            Certificate::from_der_vec(trailing),
            Err(ParseError::TrailingData)
        );
    }
}
