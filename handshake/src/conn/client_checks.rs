//! The client's ClientHello and what it checks in the server's answers (RFC 8446 §4.1.2,
//! §4.1.3, §4.1.4, §4.3.1).

use std::net::IpAddr;

use crate::algorithms::{SupportedGroup, SupportedSuite};
use crate::auth::{CERTIFICATE_SCHEMES, HANDSHAKE_SCHEMES};
use crate::conn::check_legacy_version;
use crate::conn::client::Common;
use crate::conn::psk;
use crate::error::{Error, Invalid};
use crate::msgs::client_hello::ClientHello;
use crate::msgs::enums::{ExtensionType, ProtocolVersion};
use crate::msgs::extensions::{Extension, Extensions, KeyShareEntry, ServerName};
use crate::msgs::server_hello::ServerHello;

/// The ClientHello: our suites and groups in the configured order, and `share` (at most
/// one, RFC 8446 §4.2.8); `session_id` is empty, or 32 random bytes in middlebox
/// compatibility mode (RFC 8446 Appendix D.4), the same in both ClientHellos (§4.1.2).
pub(super) fn client_hello(
    random: [u8; 32],
    session_id: Vec<u8>,
    common: &Common,
    share: Option<KeyShareEntry>,
) -> ClientHello {
    let config = &common.config;
    let mut ext = vec![
        Extension::SupportedVersionsClientHello(vec![ProtocolVersion::Tls13]),
        Extension::SupportedGroups(config.groups.iter().map(|g| g.group()).collect()),
        Extension::KeyShareClientHello(share.into_iter().collect()),
        Extension::SignatureAlgorithms(HANDSHAKE_SCHEMES.to_vec()),
        Extension::SignatureAlgorithmsCert(CERTIFICATE_SCHEMES.to_vec()),
    ];
    // RFC 8446 §4.2.9: required with pre_shared_key, and what tickets will be used for.
    // RFC 7301 §3.1: the protocols to offer, most preferred first; none, no extension.
    if !config.alpn_protocols.is_empty() {
        ext.push(Extension::Alpn(config.alpn_protocols.clone()));
    }
    if !common.offers.is_empty() || common.config.session_cache.is_some() {
        ext.push(Extension::PskKeyExchangeModes(psk::client_modes(
            &common.config,
        )));
    }
    // RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted in HostName".
    if common.server_name.parse::<IpAddr>().is_err() {
        ext.insert(
            0,
            Extension::ServerName(vec![ServerName::host_name(&common.server_name)]),
        );
    }
    ClientHello {
        legacy_version: ProtocolVersion::Tls12,
        random,
        legacy_session_id: session_id,
        cipher_suites: config.cipher_suites.iter().map(|s| s.suite()).collect(),
        legacy_compression_methods: vec![0],
        extensions: Extensions(ext),
    }
}

/// Checks what every ServerHello and HelloRetryRequest must say (RFC 8446 §4.1.3, §4.1.4);
/// returns the suite it chose.
pub(super) fn check_server_hello_common(
    sh: &ServerHello,
    hello: &ClientHello,
) -> Result<SupportedSuite, Error> {
    let invalid = |reason: Invalid| Error::InvalidMessage {
        message: sh.name(),
        reason,
    };
    check_legacy_version(sh.legacy_version, sh.name())?;
    match sh.extensions.selected_version() {
        Some(ProtocolVersion::Tls13) => {}
        // §4.2.1: a server selecting another version with supported_versions is an error.
        Some(other) => {
            return Err(invalid(Invalid::VersionNotOffered(other)));
        }
        None => {
            return Err(Error::ProtocolVersion(format!(
                "the server answered with {} instead of TLS 1.3 (no supported_versions in {})",
                sh.legacy_version,
                sh.name()
            )));
        }
    }
    // §4.1.3: legacy_version is 0x0303 in a TLS 1.3 ServerHello.
    if sh.legacy_version != ProtocolVersion::Tls12 {
        return Err(invalid(Invalid::LegacyVersion(sh.legacy_version)));
    }
    if sh.legacy_session_id_echo != hello.legacy_session_id {
        return Err(invalid(Invalid::SessionIdEcho));
    }
    let suite = SupportedSuite::from_suite(sh.cipher_suite)
        .filter(|_| hello.cipher_suites.contains(&sh.cipher_suite))
        .ok_or_else(|| invalid(Invalid::CipherSuiteNotOffered(sh.cipher_suite)))?;
    if sh.legacy_compression_method != 0 {
        return Err(invalid(Invalid::CompressionMethod(
            sh.legacy_compression_method,
        )));
    }
    for typ in sh.extensions.types() {
        let allowed = [
            ExtensionType::SupportedVersions,
            ExtensionType::KeyShare,
            ExtensionType::Cookie,
        ];
        // §4.2.11: pre_shared_key belongs in a ServerHello, never in a HelloRetryRequest.
        let psk_ok = typ == ExtensionType::PreSharedKey && !sh.is_hello_retry_request();
        if !allowed.contains(&typ) && !psk_ok {
            return Err(Error::UnsupportedExtension {
                message: sh.name(),
                extension: typ,
            });
        }
    }
    Ok(suite)
}

/// What a HelloRetryRequest must say on top of what every ServerHello says (RFC 8446
/// §4.1.4, §4.2.8).
/// Returns the suite chosen and the group asked for, if any.
pub(super) fn check_hello_retry(
    hrr: &ServerHello,
    hello: &ClientHello,
) -> Result<(SupportedSuite, Option<SupportedGroup>), Error> {
    let suite = check_server_hello_common(hrr, hello)?;
    let invalid = |reason: Invalid| Error::InvalidMessage {
        message: "HelloRetryRequest",
        reason,
    };
    let offered = hello.extensions.supported_groups().unwrap_or_default();
    let group = match hrr.extensions.hello_retry_group() {
        // §4.2.8: "the selected_group field corresponds to a group which was provided in
        // the supported_groups extension in the original ClientHello".
        Some(group) => Some(
            SupportedGroup::from_group(group)
                .filter(|_| offered.contains(&group))
                .ok_or_else(|| invalid(Invalid::RetryGroupNotOffered(group)))?,
        ),
        // §4.1.4: an HRR that would not change the ClientHello is illegal.
        None if hrr.extensions.cookie().is_none() => {
            return Err(invalid(Invalid::RetryChangesNothing));
        }
        None => None,
    };
    let shares = hello.extensions.client_key_shares().unwrap_or_default();
    if let Some(shared) = group.filter(|g| shares.iter().any(|s| s.group == g.group())) {
        // §4.2.8: the group must not be one the client already sent a share for.
        return Err(invalid(Invalid::RetryGroupAlreadyShared(shared.group())));
    }
    Ok((suite, group))
}

/// RFC 8446 §4.3.1 / §4.2: only extensions the client offered may come back — the
/// server_name acknowledgement only if SNI was sent, ALPN only if protocols were
/// offered (`offered_alpn`). Returns the application protocol the server chose, which
/// must be one of those offered (RFC 7301 §3.1; decoding already made sure it is exactly
/// one).
pub(super) fn check_encrypted_extensions(
    ext: &Extensions,
    sent_sni: bool,
    offered_alpn: &[Vec<u8>],
) -> Result<Option<Vec<u8>>, Error> {
    for typ in ext.types() {
        let allowed = typ == ExtensionType::SupportedGroups
            || (typ == ExtensionType::ServerName && sent_sni)
            || (typ == ExtensionType::ApplicationLayerProtocolNegotiation
                && !offered_alpn.is_empty());
        if !allowed {
            return Err(Error::UnsupportedExtension {
                message: "EncryptedExtensions",
                extension: typ,
            });
        }
    }
    match ext.alpn() {
        None => Ok(None),
        Some([chosen]) if offered_alpn.contains(chosen) => Ok(Some(chosen.clone())),
        Some(other) => Err(Error::InvalidMessage {
            message: "EncryptedExtensions",
            reason: Invalid::AlpnNotOffered(other.first().cloned().unwrap_or_default()),
        }),
    }
}
