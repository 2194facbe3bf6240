//! Certificate path validation, keylab's own (RFC 5280 §6, simplified to what TLS needs),
//! and server name matching (RFC 6125 §6.4, RFC 9525).
//!
//! The path is built from the leaf upwards: a candidate issuer must have a subject equal
//! (byte for byte) to the child's issuer and, when both key identifiers are present, a
//! subjectKeyIdentifier equal to the child's authorityKeyIdentifier. Trust anchors are
//! tried before intermediates; a certificate is never used twice in one path, so loops
//! end. Every certificate on the path, the anchor included, must be X.509 v3, inside its
//! validity window and free of unknown critical extensions.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::cert::{CertSignature, Certificate, ExtendedKeyUsage, SubjectAltName};
use crate::error::{Purpose, ValidationError};
use crate::rfc3339;

/// The longest path accepted, leaf and anchor included.
pub const MAX_PATH_LEN: usize = 8;

/// How many candidate issuers path building may check (each costs a signature
/// verification) before it gives up: a peer can send many certificates with the same
/// name, and without a budget the search would grow exponentially.
pub const MAX_SIGNATURE_CHECKS: u32 = 64;

/// What to validate and against what.
#[derive(Clone, Copy, Debug)]
pub struct PathRequest<'a> {
    /// The end-entity certificate.
    pub leaf: &'a Certificate,
    /// Certificates that may serve as intermediates (order does not matter).
    pub intermediates: &'a [Certificate],
    /// Trust anchors (self-signed roots or any CA the caller trusts).
    pub anchors: &'a [Certificate],
    /// The time to check validity at.
    pub time: OffsetDateTime,
    /// What the leaf is for.
    pub purpose: Purpose,
    /// For [`Purpose::Server`]: the DNS name or IP address expected in the leaf's
    /// subjectAltName. Never compared with the subject CN.
    pub name: Option<&'a str>,
}

/// A validated path: the leaf first, the trust anchor last.
#[derive(Clone, Debug)]
pub struct ValidPath {
    /// Leaf, intermediates, anchor.
    pub chain: Vec<Certificate>,
}

impl ValidPath {
    /// The trust anchor the path ends in.
    pub fn anchor(&self) -> &Certificate {
        // A ValidPath always holds at least the leaf; the anchor is last.
        &self.chain[self.chain.len() - 1]
    }

    /// The subjects along the path, leaf first.
    pub fn subjects(&self) -> Vec<String> {
        self.chain.iter().map(|c| c.subject().to_string()).collect()
    }
}

/// Validates `request.leaf` up to one of `request.anchors`.
pub fn verify_path(request: &PathRequest<'_>) -> Result<ValidPath, ValidationError> {
    let path = find_path(request)?;
    Ok(ValidPath {
        chain: path.into_iter().cloned().collect(),
    })
}

/// A peer's chain validated by [`verify_chain`]: the peer's certificates on the path and
/// the trust anchor it ends in, named by its place among the anchors given, so that
/// validation copies no certificate.
#[derive(Clone, Debug)]
pub struct PeerPath {
    /// The peer's certificates on the path, leaf first; the anchor is not among them
    /// unless the leaf is itself trusted (a path of one).
    pub chain: Vec<Certificate>,
    /// Where the trust anchor is in the anchors [`verify_chain`] was given.
    pub anchor: usize,
}

impl PeerPath {
    /// The subjects along the path, leaf first, the anchor last (once, when the leaf is
    /// itself the anchor), as [`ValidPath::subjects`] gives them.
    pub fn subjects(&self, anchors: &[Certificate]) -> Vec<String> {
        let mut subjects = Vec::with_capacity(self.chain.len() + 1);
        subjects.extend(self.chain.iter().map(|c| c.subject().to_string()));
        let trusted_leaf = |anchor: &Certificate| match &self.chain[..] {
            [leaf] => leaf.der() == anchor.der(),
            _ => false,
        };
        if let Some(anchor) = anchors.get(self.anchor).filter(|a| !trusted_leaf(a)) {
            subjects.push(anchor.subject().to_string());
        }
        subjects
    }
}

/// Validates `chain` (a peer's certificates, leaf first, the rest intermediates in any
/// order) up to one of `anchors`, as [`verify_path`] does, moving the path's certificates
/// into the result and naming the anchor by its place in `anchors` instead of copying
/// anything. An empty `chain` has no leaf and fails as a path too long for its limit of 0
/// would; callers check for a missing certificate first.
pub fn verify_chain(
    chain: Vec<Certificate>,
    anchors: &[Certificate],
    time: OffsetDateTime,
    purpose: Purpose,
    name: Option<&str>,
) -> Result<PeerPath, ValidationError> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(ValidationError::ChainTooLong { limit: 0 });
    };
    let request = PathRequest {
        leaf,
        intermediates,
        anchors,
        time,
        purpose,
        name,
    };
    // Positions in `chain` of the path's certificates below the anchor, leaf first, and the
    // anchor's in `anchors` (a trusted leaf is a path of one, its own anchor).
    let (used, below, anchor) = {
        let path = find_path(&request)?;
        let last = path[path.len() - 1];
        let anchor = anchors
            .iter()
            .position(|a| std::ptr::eq(a, last) || (path.len() == 1 && a.der() == last.der()))
            .ok_or(ValidationError::NoTrustAnchors)?;
        let below = (path.len() - usize::from(path.len() > 1)).min(MAX_PATH_LEN);
        let mut used = [0; MAX_PATH_LEN];
        debug_assert!(path.len() <= MAX_PATH_LEN, "extend bounds the path");
        for (slot, c) in used.iter_mut().zip(&path[..below]) {
            let own = chain.iter().position(|own| std::ptr::eq(own, *c));
            debug_assert!(own.is_some(), "below the anchor, the path is the peer's");
            *slot = own.unwrap_or(usize::MAX);
        }
        (used, below, anchor)
    };
    let mut slots: Vec<Option<Certificate>> = chain.into_iter().map(Some).collect();
    let chain = used[..below]
        .iter()
        .filter_map(|&i| slots.get_mut(i).and_then(Option::take))
        .collect();
    Ok(PeerPath { chain, anchor })
}

/// The path from `request.leaf` to an anchor, by reference (see [`verify_path`]).
fn find_path<'a>(request: &PathRequest<'a>) -> Result<Vec<&'a Certificate>, ValidationError> {
    if request.anchors.is_empty() {
        return Err(ValidationError::NoTrustAnchors);
    }
    let leaf = request.leaf;
    check_common(leaf, request.time)?;
    check_leaf(leaf, request)?;
    if request.anchors.iter().any(|a| a.der() == leaf.der()) {
        // The leaf is itself trusted: a path of one, which is its own anchor.
        return Ok(vec![leaf]);
    }
    // A path is never longer than MAX_PATH_LEN: one allocation for the whole search.
    let mut path = Vec::with_capacity(MAX_PATH_LEN);
    path.push(leaf);
    let mut budget = MAX_SIGNATURE_CHECKS;
    extend(&mut path, request, &mut budget)?;
    Ok(path)
}

/// Checks that `name` is one of `cert`'s subjectAltNames: an IP address against iPAddress
/// entries, anything else against dNSName entries (case-insensitive, a trailing dot
/// ignored, `*` only as the whole leftmost label and matching exactly one label).
pub fn check_name(cert: &Certificate, name: &str) -> Result<(), ValidationError> {
    let sans = cert.subject_alt_names();
    let matched = match name.parse::<IpAddr>() {
        Ok(ip) => sans
            .iter()
            .any(|san| matches!(san, SubjectAltName::Ip(other) if *other == ip)),
        Err(_) => sans
            .iter()
            .any(|san| matches!(san, SubjectAltName::Dns(pattern) if dns_matches(pattern, name))),
    };
    if matched {
        return Ok(());
    }
    let presented = sans
        .iter()
        .filter_map(|san| match san {
            SubjectAltName::Dns(d) => Some(d.clone()),
            SubjectAltName::Ip(ip) => Some(ip.to_string()),
            _ => None,
        })
        .collect();
    Err(ValidationError::NameMismatch {
        expected: name.to_owned(),
        presented,
    })
}

fn dns_matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if pattern.is_empty() || name.is_empty() {
        return false;
    }
    match pattern.strip_prefix("*.") {
        // RFC 6125 §6.4.3: the wildcard is the complete leftmost label and matches one
        // label; require two labels after it so `*.com` matches nothing.
        Some(suffix) if suffix.contains('.') && !suffix.contains('*') => name
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
        _ => !pattern.contains('*') && pattern == name,
    }
}

/// Checks every certificate on the path gets: version, critical extensions, validity.
fn check_common(cert: &Certificate, time: OffsetDateTime) -> Result<(), ValidationError> {
    let subject = || cert.subject().to_string();
    if cert.version() != 3 {
        return Err(ValidationError::UnsupportedVersion {
            subject: subject(),
            version: cert.version(),
        });
    }
    if let Some(oid) = cert.unknown_critical_extensions().first() {
        return Err(ValidationError::UnknownCriticalExtension {
            subject: subject(),
            oid: oid.clone(),
        });
    }
    if time < cert.not_before() {
        return Err(ValidationError::NotYetValid {
            subject: subject(),
            not_before: rfc3339(cert.not_before()),
            checked_at: rfc3339(time),
        });
    }
    if time > cert.not_after() {
        return Err(ValidationError::Expired {
            subject: subject(),
            not_after: rfc3339(cert.not_after()),
            checked_at: rfc3339(time),
        });
    }
    Ok(())
}

fn check_leaf(leaf: &Certificate, request: &PathRequest<'_>) -> Result<(), ValidationError> {
    if let Some(ku) = leaf.key_usage()
        && !ku.digital_signature()
    {
        return Err(ValidationError::LeafKeyUsage {
            subject: leaf.subject().to_string(),
            present: ku.names(),
        });
    }
    check_eku(leaf, request.purpose)?;
    if let (Purpose::Server, Some(name)) = (request.purpose, request.name) {
        check_name(leaf, name)?;
    }
    Ok(())
}

fn check_eku(cert: &Certificate, purpose: Purpose) -> Result<(), ValidationError> {
    let Some(ekus) = cert.extended_key_usage() else {
        return Ok(());
    };
    let wanted = match purpose {
        Purpose::Server => ExtendedKeyUsage::ServerAuth,
        Purpose::Client => ExtendedKeyUsage::ClientAuth,
    };
    if ekus.contains(&wanted) || ekus.contains(&ExtendedKeyUsage::Any) {
        return Ok(());
    }
    Err(ValidationError::WrongExtendedKeyUsage {
        subject: cert.subject().to_string(),
        needed: purpose,
        present: ekus.iter().map(ToString::to_string).collect(),
    })
}

/// Depth-first search for an issuer of the last certificate in `path`. On failure,
/// returns the first error met, which names the most specific problem.
fn extend<'a>(
    path: &mut Vec<&'a Certificate>,
    request: &PathRequest<'a>,
    budget: &mut u32,
) -> Result<(), ValidationError> {
    let Some(&child) = path.last() else {
        return Err(ValidationError::ChainTooLong { limit: 0 });
    };
    let anchors = request.anchors.iter().map(|c| (c, true));
    let intermediates = request.intermediates.iter().map(|c| (c, false));
    let mut first_error = None;
    for (candidate, is_anchor) in anchors.chain(intermediates) {
        if !issued_by(child, candidate) || path.iter().any(|c| c.der() == candidate.der()) {
            continue;
        }
        if *budget == 0 {
            return Err(ValidationError::SearchBudgetExhausted {
                checks: MAX_SIGNATURE_CHECKS,
            });
        }
        *budget -= 1;
        let result = check_issuer(child, candidate, path.len() - 1, request)
            .and_then(|()| check_name_constraints(candidate, path))
            .and_then(|()| {
                if is_anchor {
                    path.push(candidate);
                    return Ok(());
                }
                if path.len() + 1 >= MAX_PATH_LEN {
                    return Err(ValidationError::ChainTooLong {
                        limit: MAX_PATH_LEN,
                    });
                }
                path.push(candidate);
                let deeper = extend(path, request, budget);
                if deeper.is_err() {
                    path.pop();
                }
                deeper
            });
        match result {
            Ok(()) => return Ok(()),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(
        first_error.unwrap_or_else(|| ValidationError::UnknownIssuer {
            issuer: child.issuer().to_string(),
        }),
    )
}

fn issued_by(child: &Certificate, candidate: &Certificate) -> bool {
    if child.issuer().der() != candidate.subject().der() {
        return false;
    }
    match (child.authority_key_id(), candidate.subject_key_id()) {
        (Some(aki), Some(ski)) => aki == ski,
        _ => true,
    }
}

/// Checks `issuer` may have issued `child`, which has `below` CA certificates under it.
fn check_issuer(
    child: &Certificate,
    issuer: &Certificate,
    below: usize,
    request: &PathRequest<'_>,
) -> Result<(), ValidationError> {
    verify_signature(child, issuer)?;
    check_common(issuer, request.time)?;
    let issuer_name = || issuer.subject().to_string();
    // RFC 5280 §4.2.1.9: only a CA may sign certificates.
    let Some(bc) = issuer.basic_constraints().filter(|bc| bc.ca) else {
        return Err(ValidationError::IssuerNotCa {
            issuer: issuer_name(),
            subject: child.subject().to_string(),
        });
    };
    if let Some(allowed) = bc.path_len {
        let found = u32::try_from(below).unwrap_or(u32::MAX);
        if found > allowed {
            return Err(ValidationError::PathLenExceeded {
                issuer: issuer_name(),
                allowed,
                found,
            });
        }
    }
    if let Some(ku) = issuer.key_usage()
        && !ku.key_cert_sign()
    {
        return Err(ValidationError::IssuerKeyUsage {
            issuer: issuer_name(),
            present: ku.names(),
        });
    }
    check_eku(issuer, request.purpose)
}

/// RFC 5280 §6.1.3 (b), (c): the dNSName and iPAddress names of every certificate below a
/// CA with nameConstraints must lie inside them; self-issued intermediates are exempt
/// (§6.1.4 (b) applies constraints to what they issue, not to themselves).
fn check_name_constraints(ca: &Certificate, below: &[&Certificate]) -> Result<(), ValidationError> {
    let Some(nc) = ca.name_constraints() else {
        return Ok(());
    };
    if let Some(form) = nc.unsupported() {
        return Err(ValidationError::UnsupportedNameConstraint {
            issuer: ca.subject().to_string(),
            form: form.to_string(),
        });
    }
    for (i, cert) in below.iter().enumerate() {
        if i > 0 && cert.is_self_issued() {
            continue;
        }
        if let Some(name) = cert.subject_alt_names().iter().find(|n| !nc.permits(n)) {
            return Err(ValidationError::NameNotPermitted {
                issuer: ca.subject().to_string(),
                subject: cert.subject().to_string(),
                name: name.to_string(),
            });
        }
    }
    Ok(())
}

fn verify_signature(child: &Certificate, issuer: &Certificate) -> Result<(), ValidationError> {
    let alg = match child.signature_algorithm() {
        CertSignature::Supported(alg) => *alg,
        CertSignature::Unsupported(what) => {
            return Err(ValidationError::UnsupportedSignatureAlgorithm {
                subject: child.subject().to_string(),
                algorithm: what.clone(),
            });
        }
    };
    let key = issuer
        .public_key()
        .map_err(|reason| ValidationError::UnsupportedIssuerKey {
            subject: issuer.subject().to_string(),
            reason: reason.to_owned(),
        })?;
    key.verify(alg, child.tbs_der(), child.signature())
        .map_err(|_| ValidationError::BadSignature {
            subject: child.subject().to_string(),
            issuer: issuer.subject().to_string(),
            algorithm: alg.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_chain_moves_what_verify_path_copies() {
        let h = fixtures::ED25519;
        let anchors = Certificate::from_pem_bundle(h.root).expect("fixture");
        let chain = Certificate::from_pem_bundle(h.server_chain).expect("fixture");
        let time = chain[0].not_before() + time::Duration::days(1);
        let by_ref = verify_path(&PathRequest {
            leaf: &chain[0],
            intermediates: &chain[1..],
            anchors: &anchors,
            time,
            purpose: Purpose::Server,
            name: Some("localhost"),
        })
        .expect("valid");
        let owned =
            verify_chain(chain, &anchors, time, Purpose::Server, Some("localhost")).expect("valid");
        assert_eq!(owned.chain, by_ref.chain[..2]);
        assert_eq!(&anchors[owned.anchor], by_ref.anchor());
        assert_eq!(owned.subjects(&anchors), by_ref.subjects());
        // A leaf that is itself trusted: a path of one, its own anchor.
        let leaf = Certificate::from_pem_bundle(h.server_chain).expect("fixture");
        let trusted = [anchors[0].clone(), leaf[0].clone()];
        let alone = verify_chain(leaf[..1].to_vec(), &trusted, time, Purpose::Server, None)
            .expect("trusted leaf");
        assert_eq!((alone.chain.len(), alone.anchor), (1, 1));
        assert_eq!(alone.subjects(&trusted), [leaf[0].subject().to_string()]);
        let empty = verify_chain(Vec::new(), &anchors, time, Purpose::Server, None);
        assert!(empty.is_err());
    }

    #[test]
    fn dns_matching_follows_rfc6125() {
        assert!(dns_matches("localhost", "LOCALHOST"));
        assert!(dns_matches("a.example.", "a.example"));
        assert!(dns_matches("*.example.com", "www.example.com"));
        assert!(!dns_matches("*.example.com", "example.com"));
        assert!(!dns_matches("*.example.com", "a.b.example.com"));
        assert!(!dns_matches("*.com", "example.com"));
        assert!(!dns_matches("w*.example.com", "www.example.com"));
        assert!(!dns_matches("a.*.example.com", "a.b.example.com"));
        assert!(!dns_matches("", ""));
    }
}
