//! nameConstraints (RFC 5280 §4.2.1.10): the name spaces every certificate below a CA
//! must stay in. keylab implements the two forms a TLS server certificate is checked by,
//! dNSName and iPAddress; a CA constraining any other form is refused (the extension is
//! critical, so ignoring a form would widen what the CA may vouch for).

use std::fmt;
use std::net::IpAddr;

use x509_parser::extensions::GeneralName;

use crate::cert::SubjectAltName;

/// One subtree of a nameConstraints extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GeneralSubtree {
    /// A DNS name and every name below it (`example.com` covers `www.example.com`);
    /// RFC 5280 §4.2.1.10: "any DNS name that can be constructed by simply adding zero or
    /// more labels to the left-hand side".
    Dns(String),
    /// An address range: the network address and the prefix length (`127.0.0.1/32`).
    Ip {
        /// The network's address.
        address: IpAddr,
        /// How many leading bits must match.
        prefix: u8,
    },
    /// Any other form (or an iPAddress whose mask is not a prefix), described.
    Other(String),
}

impl fmt::Display for GeneralSubtree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(name) => write!(f, "DNS:{name}"),
            Self::Ip { address, prefix } => write!(f, "IP:{address}/{prefix}"),
            Self::Other(what) => f.write_str(what),
        }
    }
}

/// A CA's nameConstraints: names below it must be in a permitted subtree of their form
/// (when the CA lists any of that form) and in no excluded subtree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameConstraints {
    /// permittedSubtrees.
    pub permitted: Vec<GeneralSubtree>,
    /// excludedSubtrees.
    pub excluded: Vec<GeneralSubtree>,
}

impl NameConstraints {
    /// Constraints permitting only `localhost` (and names below it), 127.0.0.1 and ::1:
    /// what a CA for local development needs.
    pub fn loopback_only() -> Self {
        Self {
            permitted: vec![
                GeneralSubtree::Dns("localhost".into()),
                GeneralSubtree::Ip {
                    address: IpAddr::from([127, 0, 0, 1]),
                    prefix: 32,
                },
                GeneralSubtree::Ip {
                    address: IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
                    prefix: 128,
                },
            ],
            excluded: Vec::new(),
        }
    }

    /// The first subtree of a form keylab does not check, if any.
    pub fn unsupported(&self) -> Option<&GeneralSubtree> {
        self.permitted
            .iter()
            .chain(&self.excluded)
            .find(|s| matches!(s, GeneralSubtree::Other(_)))
    }

    /// Whether `name` (a dNSName or iPAddress subjectAltName) is allowed. Other name forms
    /// are not constrained by dNSName or iPAddress subtrees and pass.
    pub fn permits(&self, name: &SubjectAltName) -> bool {
        let same_form = |s: &GeneralSubtree| {
            matches!(
                (s, name),
                (GeneralSubtree::Dns(_), SubjectAltName::Dns(_))
                    | (GeneralSubtree::Ip { .. }, SubjectAltName::Ip(_))
            )
        };
        if self
            .excluded
            .iter()
            .any(|s| same_form(s) && within(s, name))
        {
            return false;
        }
        let mut permitted = self.permitted.iter().filter(|s| same_form(s)).peekable();
        permitted.peek().is_none() || permitted.any(|s| within(s, name))
    }
}

/// Whether `name` lies in `subtree` (of the same form).
fn within(subtree: &GeneralSubtree, name: &SubjectAltName) -> bool {
    match (subtree, name) {
        (GeneralSubtree::Dns(base), SubjectAltName::Dns(name)) => dns_within(base, name),
        (GeneralSubtree::Ip { address, prefix }, SubjectAltName::Ip(ip)) => {
            ip_within(*address, *prefix, *ip)
        }
        _ => false,
    }
}

fn dns_within(base: &str, name: &str) -> bool {
    let base = base.trim_end_matches('.').to_ascii_lowercase();
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    // RFC 5280 §4.2.1.10: a constraint with a leading period names only subdomains; an
    // empty one matches every name.
    if let Some(suffix) = base.strip_prefix('.') {
        return name.ends_with(&format!(".{suffix}"));
    }
    base.is_empty() || name == base || name.ends_with(&format!(".{base}"))
}

fn ip_within(network: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    let (net, ip): (Vec<u8>, Vec<u8>) = match (network, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => (n.octets().to_vec(), i.octets().to_vec()),
        (IpAddr::V6(n), IpAddr::V6(i)) => (n.octets().to_vec(), i.octets().to_vec()),
        _ => return false,
    };
    let prefix = usize::from(prefix).min(net.len() * 8);
    (0..prefix).all(|bit| {
        let mask = 0x80u8 >> (bit % 8);
        net[bit / 8] & mask == ip[bit / 8] & mask
    })
}

/// Reads x509-parser's nameConstraints into owned subtrees.
pub(crate) fn from_x509(nc: &x509_parser::extensions::NameConstraints<'_>) -> NameConstraints {
    let list = |trees: &Option<Vec<x509_parser::extensions::GeneralSubtree<'_>>>| {
        trees.iter().flatten().map(|t| subtree(&t.base)).collect()
    };
    NameConstraints {
        permitted: list(&nc.permitted_subtrees),
        excluded: list(&nc.excluded_subtrees),
    }
}

fn subtree(base: &GeneralName<'_>) -> GeneralSubtree {
    match base {
        GeneralName::DNSName(name) => GeneralSubtree::Dns((*name).to_owned()),
        // RFC 5280 §4.2.1.10: an address followed by a mask of the same length.
        GeneralName::IPAddress(bytes) if bytes.len() == 8 || bytes.len() == 32 => {
            let (addr, mask) = bytes.split_at(bytes.len() / 2);
            let address = if addr.len() == 4 {
                IpAddr::from([addr[0], addr[1], addr[2], addr[3]])
            } else {
                let mut b = [0u8; 16];
                b.copy_from_slice(addr);
                IpAddr::from(b)
            };
            match prefix_len(mask) {
                Some(prefix) => GeneralSubtree::Ip { address, prefix },
                None => GeneralSubtree::Other(format!("IP:{address} with a non-prefix mask")),
            }
        }
        other => GeneralSubtree::Other(format!("{other}")),
    }
}

/// The prefix length of a mask of leading ones, or `None` for any other mask.
fn prefix_len(mask: &[u8]) -> Option<u8> {
    let bits: Vec<bool> = mask
        .iter()
        .flat_map(|b| (0..8).map(move |i| b & (0x80 >> i) != 0))
        .collect();
    let n = bits.iter().take_while(|b| **b).count();
    if bits[n..].iter().any(|b| *b) {
        return None;
    }
    u8::try_from(n).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_subtrees_cover_names_below() {
        assert!(dns_within("localhost", "localhost"));
        assert!(dns_within("localhost", "a.LOCALHOST."));
        assert!(!dns_within("localhost", "notlocalhost"));
        assert!(!dns_within("localhost", "localhost.example"));
        assert!(!dns_within(".example.com", "example.com"));
        assert!(dns_within(".example.com", "www.example.com"));
    }

    #[test]
    fn ip_subtrees_match_by_prefix() {
        let lo = IpAddr::from([127, 0, 0, 1]);
        assert!(ip_within(lo, 32, lo));
        assert!(!ip_within(lo, 32, IpAddr::from([127, 0, 0, 2])));
        assert!(ip_within(
            IpAddr::from([10, 0, 0, 0]),
            8,
            IpAddr::from([10, 9, 8, 7])
        ));
        assert!(!ip_within(lo, 0, "::1".parse().expect("v6")));
        assert_eq!(prefix_len(&[255, 255, 255, 0]), Some(24));
        assert_eq!(prefix_len(&[255; 16]), Some(128));
        assert_eq!(prefix_len(&[255, 0, 255, 0]), None);
    }

    #[test]
    fn loopback_only_permits_loopback_names() {
        let nc = NameConstraints::loopback_only();
        assert!(nc.permits(&SubjectAltName::Dns("localhost".into())));
        assert!(nc.permits(&SubjectAltName::Ip("::1".parse().expect("v6"))));
        assert!(nc.permits(&SubjectAltName::Ip(IpAddr::from([127, 0, 0, 1]))));
        assert!(!nc.permits(&SubjectAltName::Dns("example.com".into())));
        assert!(!nc.permits(&SubjectAltName::Ip(IpAddr::from([10, 0, 0, 1]))));
        assert!(nc.permits(&SubjectAltName::Email("a@example.com".into())));
    }
}
