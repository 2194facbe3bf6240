//! `--suites` and `--groups` of `keylab server` and `keylab client`: colon-separated
//! lists in preference order, in the IANA or OpenSSL spelling, case-insensitive.

use clap::Args;
use handshake::{SupportedGroup, SupportedSuite};

/// The algorithm preferences shared by `keylab server` and `keylab client`.
#[derive(Debug, Args)]
pub struct AlgorithmArgs {
    /// Cipher suites, most preferred first, colon-separated (default: all, ChaCha20 first):
    /// TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256.
    #[arg(long, value_name = "LIST", value_parser = parse_suites)]
    pub suites: Option<SuiteList>,
    /// Key exchange groups, most preferred first, colon-separated (default: all, x25519
    /// first): X25519, P-256 (also prime256v1, secp256r1).
    #[arg(long, value_name = "LIST", value_parser = parse_groups)]
    pub groups: Option<GroupList>,
}

/// A parsed `--suites` list.
#[derive(Debug, Clone)]
pub struct SuiteList(pub Vec<SupportedSuite>);

/// A parsed `--groups` list.
#[derive(Debug, Clone)]
pub struct GroupList(pub Vec<SupportedGroup>);

impl AlgorithmArgs {
    /// The suites to configure: the list given, else all in the default order.
    pub fn suites(&self) -> Vec<SupportedSuite> {
        self.suites
            .as_ref()
            .map_or_else(|| SupportedSuite::ALL.to_vec(), |l| l.0.clone())
    }

    /// The groups to configure: the list given, else all in the default order.
    pub fn groups(&self) -> Vec<SupportedGroup> {
        self.groups
            .as_ref()
            .map_or_else(|| SupportedGroup::ALL.to_vec(), |l| l.0.clone())
    }
}

const SUITE_NAMES: &str = "TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256";
const GROUP_NAMES: &str = "X25519, P-256 (or prime256v1, secp256r1)";

/// Parses `--suites`: IANA names (which OpenSSL also uses for TLS 1.3 suites).
pub fn parse_suites(list: &str) -> Result<SuiteList, String> {
    parse_list(list, "cipher suite", SUITE_NAMES, |name| {
        SupportedSuite::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    })
    .map(SuiteList)
}

/// Parses `--groups`: `X25519`, and `P-256`, `prime256v1` or `secp256r1`.
pub fn parse_groups(list: &str) -> Result<GroupList, String> {
    parse_list(list, "group", GROUP_NAMES, |name| {
        match name.to_ascii_lowercase().as_str() {
            "x25519" => Some(SupportedGroup::X25519),
            "p-256" | "prime256v1" | "secp256r1" => Some(SupportedGroup::Secp256r1),
            _ => None,
        }
    })
    .map(GroupList)
}

/// A non-empty colon-separated list without repeats.
fn parse_list<T: PartialEq>(
    list: &str,
    what: &str,
    accepted: &str,
    lookup: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, String> {
    let mut items = Vec::new();
    for name in list.split(':') {
        let item = lookup(name.trim())
            .ok_or_else(|| format!("unknown {what} {name:?}; accepted: {accepted}"))?;
        if items.contains(&item) {
            return Err(format!("{what} {name:?} is listed twice"));
        }
        items.push(item);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_and_iana_spellings_in_any_case() {
        let groups = parse_groups("p-256:x25519").expect("valid").0;
        assert_eq!(groups, [SupportedGroup::Secp256r1, SupportedGroup::X25519]);
        for name in ["P-256", "prime256v1", "SECP256R1"] {
            assert_eq!(
                parse_groups(name).expect("valid").0,
                [SupportedGroup::Secp256r1]
            );
        }
        let suites = parse_suites("tls_aes_128_gcm_sha256:TLS_CHACHA20_POLY1305_SHA256")
            .expect("valid")
            .0;
        assert_eq!(
            suites,
            [
                SupportedSuite::Aes128GcmSha256,
                SupportedSuite::Chacha20Poly1305Sha256
            ]
        );
    }

    #[test]
    fn unknown_names_list_what_is_accepted() {
        assert_eq!(
            parse_groups("X448").map(|l| l.0),
            Err(format!("unknown group \"X448\"; accepted: {GROUP_NAMES}"))
        );
        assert_eq!(
            parse_suites("TLS_AES_256_GCM_SHA384").map(|l| l.0),
            Err(format!(
                "unknown cipher suite \"TLS_AES_256_GCM_SHA384\"; accepted: {SUITE_NAMES}"
            ))
        );
        assert_eq!(
            parse_groups("").map(|l| l.0),
            Err(format!("unknown group \"\"; accepted: {GROUP_NAMES}"))
        );
        assert_eq!(
            parse_groups("x25519:X25519").map(|l| l.0),
            Err("group \"X25519\" is listed twice".to_owned())
        );
    }
}
