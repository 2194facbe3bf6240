//! Reading a certificate straight from its DER (RFC 5280 §4.1): one pass over the
//! Certificate and its TBSCertificate that borrows from the input, with keylab's own TLV
//! reader ([`crate::der`]). Names, validity and the common extensions are read here;
//! x509-parser is kept for the rarer parts (subjectAltName entries, nameConstraints,
//! algorithms other than Ed25519, printing names and OIDs), each given only its own bytes.
//!
//! What the DER must be: every TLV well formed (one-byte tags, definite shortest
//! lengths), nothing after the certificate or inside a structure keylab reads past its last
//! field, the version v1 to v3, names RDNSequences, OIDs well formed, times as RFC 5280
//! §4.1.2.5 writes them (UTCTime with seconds and Z), BIT STRINGs with zero unused bits, the
//! TBSCertificate's algorithm equal to the certificate's (§4.1.1.2), no extension twice
//! (§4.2), an extension keylab interprets well formed. The value of an extension keylab does
//! not interpret is not parsed.

use std::collections::BTreeSet;
use std::ops::Range;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};
use x509_parser::extensions::{GeneralName, NameConstraints as X509NameConstraints};
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::FromDer as _;
use x509_parser::x509::AlgorithmIdentifier;

use super::{
    BasicConstraints, CertSignature, Certificate, ExtendedKeyUsage, KeyUsage, NameField,
    SubjectAltName, alt_name, subslice_range,
};
use crate::constraints;
use crate::der::{self, Reader, tag};
use crate::error::ParseError;
use crate::key::{PublicKey, SignatureAlgorithm};

/// Parses one DER certificate, which the result keeps; trailing bytes are an error.
pub(super) fn certificate(owned: Vec<u8>) -> Result<Certificate, ParseError> {
    let der = owned.as_slice();
    let (tbs, algorithm, signature) = outer(der)?;
    let fields = TbsFields::read(&der[tbs.clone()], algorithm)?;
    let public_key = PublicKey::from_spki_der(fields.spki).map_err(|e| e.to_string());
    let mut cert = Certificate {
        // Moved in below, once the extensions (read from it) are in.
        der: Vec::new(),
        tbs,
        signature: within(der, signature)?,
        signature_algorithm: signature_algorithm(algorithm)?,
        version: fields.version,
        serial: within(der, fields.serial)?,
        subject: NameField::new(within(der, fields.subject)?),
        issuer: NameField::new(within(der, fields.issuer)?),
        not_before: fields.not_before,
        not_after: fields.not_after,
        public_key,
        basic_constraints: None,
        key_usage: None,
        extended_key_usage: None,
        subject_alt_names: Vec::new(),
        subject_key_id: None,
        authority_key_id: None,
        name_constraints: None,
        unknown_critical_extensions: Vec::new(),
    };
    if let Some(extensions) = fields.extensions {
        read_extensions(&mut cert, der, extensions)?;
    }
    cert.der = owned;
    Ok(cert)
}

/// Where the TBSCertificate lies, the signatureAlgorithm's DER and the signature.
type Outer<'a> = (Range<usize>, &'a [u8], &'a [u8]);

/// The outer SEQUENCE: where the TBSCertificate lies, the signatureAlgorithm's TLV and the
/// signature's bytes.
fn outer(der: &[u8]) -> Result<Outer<'_>, ParseError> {
    let mut reader = Reader::new(der);
    let whole = reader
        .expect(tag::SEQUENCE)
        .map_err(|e| malformed("certificate", e))?;
    if !reader.is_empty() {
        return Err(ParseError::TrailingData);
    }
    let fields = || -> Result<_, der::Error> {
        let mut r = Reader::new(whole.value);
        let tbs = r.expect(tag::SEQUENCE)?.whole;
        let algorithm = r.expect(tag::SEQUENCE)?.whole;
        let signature = der::bit_string(r.expect(tag::BIT_STRING)?.value)?;
        r.finish()?;
        Ok((tbs, algorithm, signature))
    };
    let (tbs, algorithm, (signature, unused)) =
        fields().map_err(|e| malformed("certificate", e))?;
    if unused != 0 {
        return Err(ParseError::Malformed(
            "the signature BIT STRING has unused bits".into(),
        ));
    }
    Ok((within(der, tbs)?, algorithm, signature))
}

/// Where `part`, read from `der`, lies in it.
fn within(der: &[u8], part: &[u8]) -> Result<Range<usize>, ParseError> {
    subslice_range(der, part).ok_or_else(|| ParseError::Malformed("a field outside the DER".into()))
}

/// The DER of an Ed25519 AlgorithmIdentifier, parameters absent (RFC 8410 §3): the
/// common case, recognised without parsing.
const ED25519_ALGORITHM: [u8; 7] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// The signatureAlgorithm (RFC 5280 §4.1.1.2).
fn signature_algorithm(raw: &[u8]) -> Result<CertSignature, ParseError> {
    if raw == ED25519_ALGORITHM {
        return Ok(CertSignature::Supported(SignatureAlgorithm::Ed25519));
    }
    match AlgorithmIdentifier::from_der(raw) {
        Ok(([], parsed)) => Ok(super::signature_algorithm(&parsed)),
        _ => Err(ParseError::Malformed(
            "the signatureAlgorithm is not an AlgorithmIdentifier".into(),
        )),
    }
}

/// The fields of a TBSCertificate, borrowed (RFC 5280 §4.1.2).
struct TbsFields<'a> {
    version: u32,
    serial: &'a [u8],
    issuer: &'a [u8],
    subject: &'a [u8],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    spki: &'a [u8],
    /// The contents of the Extensions SEQUENCE.
    extensions: Option<&'a [u8]>,
}

/// A part of the TBSCertificate and what was wrong with it.
type Field = (&'static str, der::Error);

impl<'a> TbsFields<'a> {
    /// `algorithm` is the outer signatureAlgorithm, which the inner one must equal
    /// (RFC 5280 §4.1.1.2).
    fn read(tbs: &'a [u8], algorithm: &[u8]) -> Result<Self, ParseError> {
        let value = der::only(tbs, tag::SEQUENCE).map_err(|e| malformed("TBSCertificate", e))?;
        Self::fields(Reader::new(value), algorithm).map_err(|(what, e)| malformed(what, e))
    }

    fn fields(mut r: Reader<'a>, algorithm: &[u8]) -> Result<Self, Field> {
        let at = |what| move |e| (what, e);
        let version = version(&mut r).map_err(at("version"))?;
        let serial = r.expect(tag::INTEGER).map_err(at("serialNumber"))?.value;
        let inner = r.expect(tag::SEQUENCE).map_err(at("signature"))?.whole;
        if inner != algorithm {
            let why =
                "the TBSCertificate's algorithm differs from the certificate's (RFC 5280 §4.1.1.2)";
            return Err(("signature", der::Error::BadValue(why)));
        }
        let issuer = name(&mut r).map_err(at("issuer"))?;
        let (not_before, not_after) = validity(&mut r).map_err(at("validity"))?;
        let subject = name(&mut r).map_err(at("subject"))?;
        let spki = spki(&mut r).map_err(at("subjectPublicKeyInfo"))?;
        // RFC 5280 §4.1.2.8: issuerUniqueID [1] and subjectUniqueID [2], skipped.
        for number in [1, 2] {
            for constructed in [false, true] {
                r.optional(tag::context(number, constructed))
                    .map_err(at("unique identifier"))?;
            }
        }
        let extensions = r
            .optional(tag::context(3, true))
            .and_then(|explicit| explicit.map(|e| der::only(e, tag::SEQUENCE)).transpose())
            .map_err(at("extensions"))?;
        r.finish().map_err(at("TBSCertificate"))?;
        Ok(Self {
            version,
            serial,
            issuer,
            subject,
            not_before,
            not_after,
            spki,
            extensions,
        })
    }
}

/// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey
/// BIT STRING } (RFC 5280 §4.1.2.7), checked in shape only: its whole DER, which
/// [`PublicKey::from_spki_der`] reads (a key of another algorithm is unusable, not
/// malformed).
fn spki<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], der::Error> {
    let spki = r.expect(tag::SEQUENCE)?;
    let mut fields = Reader::new(spki.value);
    let mut algorithm = Reader::new(fields.expect(tag::SEQUENCE)?.value);
    algorithm.expect(tag::OID)?;
    if !algorithm.is_empty() {
        algorithm.read()?;
    }
    algorithm.finish()?;
    der::bit_string(fields.expect(tag::BIT_STRING)?.value)?;
    fields.finish()?;
    Ok(spki.whole)
}

/// version [0] EXPLICIT, DEFAULT v1; returned 1-based.
fn version(r: &mut Reader<'_>) -> Result<u32, der::Error> {
    let Some(explicit) = r.optional(tag::context(0, true))? else {
        return Ok(1);
    };
    match der::small_uint(der::only(explicit, tag::INTEGER)?)? {
        v @ 0..=2 => Ok(v + 1),
        _ => Err(der::Error::BadValue("a version other than v1, v2, v3")),
    }
}

/// A Name's whole DER, checked to be an RDNSequence: SEQUENCE OF SET SIZE (1..MAX) OF
/// SEQUENCE { type OID, value ANY } (RFC 5280 §4.1.2.4).
fn name<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], der::Error> {
    let name = r.expect(tag::SEQUENCE)?;
    let mut rdns = Reader::new(name.value);
    while !rdns.is_empty() {
        let mut attributes = Reader::new(rdns.expect(tag::SET)?.value);
        if attributes.is_empty() {
            return Err(der::Error::BadValue("an empty RelativeDistinguishedName"));
        }
        while !attributes.is_empty() {
            let mut pair = Reader::new(attributes.expect(tag::SEQUENCE)?.value);
            der::oid(pair.expect(tag::OID)?.value)?;
            pair.read()?;
            pair.finish()?;
        }
    }
    Ok(name.whole)
}

/// Attribute types a Name is printed with, by their OIDs' DER contents, abbreviated as
/// x509-parser abbreviates them.
const NAME_ATTRIBUTES: [(&[u8], &str); 8] = [
    (&[0x55, 0x04, 0x03], "CN"),
    (&[0x55, 0x04, 0x06], "C"),
    (&[0x55, 0x04, 0x07], "L"),
    (&[0x55, 0x04, 0x08], "ST"),
    (&[0x55, 0x04, 0x0a], "O"),
    (&[0x55, 0x04, 0x0b], "OU"),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
        "DC",
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
        "Email",
    ),
];

/// String types whose bytes are printed as they are (UTF-8 and its subsets).
const TEXT_TAGS: [u8; 10] = [0x07, 0x0c, 0x12, 0x13, 0x14, 0x15, 0x16, 0x19, 0x1a, 0x1b];

/// A Name's readable form as x509-parser prints it (`CN=alice, O=Example`: RDNs joined by
/// `, `, attributes of one RDN by ` + `), for names whose attributes are all of the types
/// above with text values; `None` leaves any other name to x509-parser.
pub(super) fn name_text(der: &[u8]) -> Option<String> {
    let mut rdns = Reader::new(der::only(der, tag::SEQUENCE).ok()?);
    let mut text = String::with_capacity(der.len());
    while !rdns.is_empty() {
        if !text.is_empty() {
            text.push_str(", ");
        }
        let mut attributes = Reader::new(rdns.expect(tag::SET).ok()?.value);
        let mut first = true;
        while !attributes.is_empty() {
            let mut pair = Reader::new(attributes.expect(tag::SEQUENCE).ok()?.value);
            let oid = pair.expect(tag::OID).ok()?.value;
            let value = pair.read().ok()?;
            let (_, abbrev) = NAME_ATTRIBUTES.iter().find(|(known, _)| *known == oid)?;
            if !TEXT_TAGS.contains(&value.tag) {
                return None;
            }
            if !first {
                text.push_str(" + ");
            }
            first = false;
            text.push_str(abbrev);
            text.push('=');
            text.push_str(std::str::from_utf8(value.value).ok()?);
        }
    }
    Some(text)
}

/// Validity ::= SEQUENCE { notBefore Time, notAfter Time }.
fn validity(r: &mut Reader<'_>) -> Result<(OffsetDateTime, OffsetDateTime), der::Error> {
    let mut v = Reader::new(r.expect(tag::SEQUENCE)?.value);
    let times = (time(v.read()?)?, time(v.read()?)?);
    v.finish()?;
    Ok(times)
}

/// Time ::= CHOICE { utcTime, generalTime } in RFC 5280 §4.1.2.5's forms: YYMMDDHHMMSSZ
/// (years 50 to 99 are 19xx) and YYYYMMDDHHMMSSZ.
fn time(tlv: der::Tlv<'_>) -> Result<OffsetDateTime, der::Error> {
    const BAD: der::Error = der::Error::BadValue("a time not in RFC 5280 §4.1.2.5's form");
    let (year, rest) = match (tlv.tag, tlv.value.len()) {
        (tag::UTC_TIME, 13) => {
            let yy = digits(&tlv.value[..2]).ok_or(BAD)?;
            (
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                &tlv.value[2..],
            )
        }
        (tag::GENERALIZED_TIME, 15) => (digits(&tlv.value[..4]).ok_or(BAD)?, &tlv.value[4..]),
        (tag::UTC_TIME | tag::GENERALIZED_TIME, _) => return Err(BAD),
        (found, _) => {
            return Err(der::Error::UnexpectedTag {
                expected: tag::UTC_TIME,
                found,
            });
        }
    };
    if rest[10] != b'Z' {
        return Err(BAD);
    }
    let field = |i: usize| digits(&rest[i..i + 2]).ok_or(BAD);
    let month = Month::try_from(u8::try_from(field(0)?).map_err(|_| BAD)?).map_err(|_| BAD)?;
    let small = |i: usize| field(i).and_then(|v| u8::try_from(v).map_err(|_| BAD));
    let date = Date::from_calendar_date(i32::try_from(year).map_err(|_| BAD)?, month, small(2)?)
        .map_err(|_| BAD)?;
    let time = Time::from_hms(small(4)?, small(6)?, small(8)?).map_err(|_| BAD)?;
    Ok(PrimitiveDateTime::new(date, time).assume_utc())
}

/// The decimal number `ascii` spells, when it is all digits.
fn digits(ascii: &[u8]) -> Option<u32> {
    ascii.iter().try_fold(0, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// id-ce (2.5.29) as DER contents: every extension keylab reads is under it.
const ID_CE: [u8; 2] = [0x55, 0x1d];

/// Reads the Extensions' contents into `cert`.
/// `der` is the whole certificate, which `list` lies in.
fn read_extensions(cert: &mut Certificate, der: &[u8], list: &[u8]) -> Result<(), ParseError> {
    let mut reader = Reader::new(list);
    let mut seen = Seen::default();
    while !reader.is_empty() {
        let (oid, critical, value) =
            extension(&mut reader).map_err(|e| malformed("extension", e))?;
        if !seen.first_time(oid) {
            return Err(ParseError::Malformed(format!(
                "extension {} appears twice (RFC 5280 §4.2)",
                dotted(oid)
            )));
        }
        let known = match oid.strip_prefix(&ID_CE[..]) {
            Some(&[number]) => read_extension(cert, der, number, value).map_err(|why| {
                ParseError::Malformed(format!("extension {}: {why}", dotted(oid)))
            })?,
            _ => false,
        };
        // RFC 5280 §4.2: a critical extension the validator does not implement makes the
        // certificate unusable.
        if critical && !known {
            cert.unknown_critical_extensions.push(dotted(oid));
        }
    }
    Ok(())
}

/// The extensions of one certificate seen so far: those under id-ce by number (without
/// allocating, they are nearly all), any other in a set (n log n however many a peer
/// sends).
#[derive(Default)]
struct Seen<'a> {
    id_ce: u128,
    other: BTreeSet<&'a [u8]>,
}

impl<'a> Seen<'a> {
    /// Records `oid`; false when it was seen before.
    fn first_time(&mut self, oid: &'a [u8]) -> bool {
        if let Some(&[number]) = oid.strip_prefix(&ID_CE[..])
            && number < 128
        {
            let bit = 1u128 << number;
            let first = self.id_ce & bit == 0;
            self.id_ce |= bit;
            return first;
        }
        self.other.insert(oid)
    }
}

/// Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET
/// STRING }.
fn extension<'a>(reader: &mut Reader<'a>) -> Result<(&'a [u8], bool, &'a [u8]), der::Error> {
    let mut e = Reader::new(reader.expect(tag::SEQUENCE)?.value);
    let oid = der::oid(e.expect(tag::OID)?.value)?;
    // DER writes TRUE as FF; some issuers wrote another non-zero byte, which every reader
    // (x509-parser too) takes as critical, the safe reading.
    let critical = match e.optional(tag::BOOLEAN)? {
        Some([0x00]) => false,
        Some([_]) => true,
        Some(_) => return Err(der::Error::BadValue("a BOOLEAN of other than one byte")),
        None => false,
    };
    let value = e.expect(tag::OCTET_STRING)?.value;
    e.finish()?;
    Ok((oid, critical, value))
}

/// Reads id-ce `number`'s value into `cert`; false when keylab does not implement it.
fn read_extension(
    cert: &mut Certificate,
    der: &[u8],
    number: u8,
    value: &[u8],
) -> Result<bool, String> {
    let text = |e: der::Error| e.to_string();
    let at = |part: &[u8]| within(der, part).map_err(|e| e.to_string());
    match number {
        // RFC 5280 §4.2.1.2: SubjectKeyIdentifier ::= KeyIdentifier (OCTET STRING).
        14 => cert.subject_key_id = Some(at(der::only(value, tag::OCTET_STRING).map_err(text)?)?),
        15 => cert.key_usage = Some(key_usage(value).map_err(text)?),
        17 => cert.subject_alt_names = subject_alt_names(value)?,
        19 => cert.basic_constraints = Some(basic_constraints(value).map_err(text)?),
        30 => {
            let nc = match X509NameConstraints::from_der(value) {
                Ok(([], nc)) => nc,
                _ => return Err("not a NameConstraints".into()),
            };
            cert.name_constraints = Some(constraints::from_x509(&nc));
        }
        35 => {
            let id = authority_key_id(value).map_err(text)?;
            cert.authority_key_id = id.map(at).transpose()?;
        }
        37 => cert.extended_key_usage = Some(extended_key_usage(value).map_err(text)?),
        _ => return Ok(false),
    }
    Ok(true)
}

/// KeyUsage ::= BIT STRING (RFC 5280 §4.2.1.3): named bit i becomes bit i of the flags.
fn key_usage(value: &[u8]) -> Result<KeyUsage, der::Error> {
    let (bytes, _) = der::bit_string(der::only(value, tag::BIT_STRING)?)?;
    let flags = bytes.iter().take(2).rev().fold(0u16, |acc, byte| {
        (acc << 8) | u16::from(byte.reverse_bits())
    });
    Ok(KeyUsage(flags))
}

/// BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER
/// (0..MAX) OPTIONAL } (RFC 5280 §4.2.1.9).
fn basic_constraints(value: &[u8]) -> Result<BasicConstraints, der::Error> {
    let mut s = Reader::new(der::only(value, tag::SEQUENCE)?);
    let ca = match s.optional(tag::BOOLEAN)? {
        Some(value) => der::boolean(value)?,
        None => false,
    };
    let path_len = match s.optional(tag::INTEGER)? {
        Some(value) => Some(der::small_uint(value)?),
        None => None,
    };
    s.finish()?;
    Ok(BasicConstraints { ca, path_len })
}

/// AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING
/// OPTIONAL, authorityCertIssuer [1] IMPLICIT GeneralNames OPTIONAL,
/// authorityCertSerialNumber [2] IMPLICIT INTEGER OPTIONAL } (RFC 5280 §4.2.1.1): the key
/// identifier; the other two are checked to be where they belong and not read.
fn authority_key_id(value: &[u8]) -> Result<Option<&[u8]>, der::Error> {
    let mut s = Reader::new(der::only(value, tag::SEQUENCE)?);
    let id = s.optional(tag::context(0, false))?;
    s.optional(tag::context(1, true))?;
    s.optional(tag::context(2, false))?;
    s.finish()?;
    Ok(id)
}

/// id-kp (1.3.6.1.5.5.7.3) as DER contents.
const ID_KP: [u8; 7] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03];
/// anyExtendedKeyUsage (2.5.29.37.0) as DER contents.
const ANY_EKU: [u8; 4] = [0x55, 0x1d, 0x25, 0x00];
/// The purposes under id-kp that keylab names other than by OID, by their last arc.
const NAMED_KP: [(u8, &str); 4] = [
    (3, "codeSigning"),
    (4, "emailProtection"),
    (8, "timeStamping"),
    (9, "OCSPSigning"),
];

/// ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId (RFC 5280 §4.2.1.12):
/// serverAuth, clientAuth and any first, then the other purposes keylab names, then the
/// rest by OID in the order listed, each once (a set keeps the work n log n however many
/// a peer lists).
fn extended_key_usage(value: &[u8]) -> Result<Vec<ExtendedKeyUsage>, der::Error> {
    let (mut kp, mut any) = (0u16, false);
    let (mut others, mut seen) = (Vec::new(), BTreeSet::new());
    let mut s = Reader::new(der::only(value, tag::SEQUENCE)?);
    while !s.is_empty() {
        let oid = der::oid(s.expect(tag::OID)?.value)?;
        match oid.strip_prefix(&ID_KP[..]) {
            Some(&[n @ (1 | 2 | 3 | 4 | 8 | 9)]) => kp |= 1 << n,
            _ if oid == ANY_EKU => any = true,
            _ if seen.insert(oid) => others.push(oid),
            _ => {}
        }
    }
    let has = |n: u8| kp & (1 << n) != 0;
    let mut list = Vec::new();
    if has(1) {
        list.push(ExtendedKeyUsage::ServerAuth);
    }
    if has(2) {
        list.push(ExtendedKeyUsage::ClientAuth);
    }
    if any {
        list.push(ExtendedKeyUsage::Any);
    }
    for (n, label) in NAMED_KP {
        if has(n) {
            list.push(ExtendedKeyUsage::Other(label.into()));
        }
    }
    list.extend(
        others
            .iter()
            .map(|oid| ExtendedKeyUsage::Other(dotted(oid))),
    );
    Ok(list)
}

/// GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName (RFC 5280 §4.2.1.6), each entry
/// read by x509-parser.
fn subject_alt_names(value: &[u8]) -> Result<Vec<SubjectAltName>, String> {
    let mut s = Reader::new(der::only(value, tag::SEQUENCE).map_err(|e| e.to_string())?);
    let mut names = Vec::new();
    while !s.is_empty() {
        let entry = s.read().map_err(|e| e.to_string())?.whole;
        match GeneralName::from_der(entry) {
            Ok(([], gn)) => names.push(alt_name(&gn)),
            _ => return Err("a subjectAltName entry is not a GeneralName".to_owned()),
        }
    }
    Ok(names)
}

/// An OID's DER contents in dotted form.
fn dotted(contents: &[u8]) -> String {
    Oid::new(contents.into()).to_id_string()
}

/// A DER error in `what`, in words a person can act on.
fn malformed(what: &str, e: der::Error) -> ParseError {
    ParseError::Malformed(match e {
        der::Error::Truncated => format!("the DER of the {what} ends early (truncated?)"),
        e => format!("not a DER-encoded {what}: {e}"),
    })
}

#[cfg(test)]
mod tests;
