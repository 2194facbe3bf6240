//! The client's ClientHello and what it checks in the server's answers (RFC 8446 §4.1.2,
//! §4.1.3, §4.1.4, §4.3.1).

use std::net::IpAddr;

use crate::auth::{CERTIFICATE_SCHEMES, HANDSHAKE_SCHEMES};
use crate::conn::check_legacy_version;
use crate::conn::client::Common;
use crate::conn::psk;
use crate::error::{Error, Invalid};
use crate::msgs::client_hello::ClientHello;
use crate::msgs::enums::{CipherSuite, ExtensionType, NamedGroup, ProtocolVersion};
use crate::msgs::extensions::{Extension, Extensions, KeyShareEntry, ServerName};
use crate::msgs::server_hello::ServerHello;

/// The ClientHello; `session_id` is empty, or 32 random bytes in middlebox compatibility
/// mode (RFC 8446 Appendix D.4), the same in both ClientHellos (§4.1.2).
pub(super) fn client_hello(
    random: [u8; 32],
    session_id: Vec<u8>,
    common: &Common,
    share: Option<Vec<u8>>,
) -> ClientHello {
    let mut ext = vec![
        Extension::SupportedVersionsClientHello(vec![ProtocolVersion::Tls13]),
        Extension::SupportedGroups(vec![NamedGroup::X25519]),
        Extension::KeyShareClientHello(
            share
                .into_iter()
                .map(|key_exchange| KeyShareEntry {
                    group: NamedGroup::X25519,
                    key_exchange,
                })
                .collect(),
        ),
        Extension::SignatureAlgorithms(HANDSHAKE_SCHEMES.to_vec()),
        Extension::SignatureAlgorithmsCert(CERTIFICATE_SCHEMES.to_vec()),
    ];
    // RFC 8446 §4.2.9: required with pre_shared_key, and what tickets will be used for.
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
        cipher_suites: vec![CipherSuite::TlsChacha20Poly1305Sha256],
        legacy_compression_methods: vec![0],
        extensions: Extensions(ext),
    }
}

/// Checks what every ServerHello and HelloRetryRequest must say (RFC 8446 §4.1.3, §4.1.4).
pub(super) fn check_server_hello_common(
    sh: &ServerHello,
    hello: &ClientHello,
) -> Result<(), Error> {
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
    if sh.cipher_suite != CipherSuite::TlsChacha20Poly1305Sha256 {
        return Err(invalid(Invalid::CipherSuiteNotOffered(sh.cipher_suite)));
    }
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
    Ok(())
}

/// What a HelloRetryRequest must say on top of what every ServerHello says (RFC 8446
/// §4.1.4, §4.2.8).
pub(super) fn check_hello_retry(hrr: &ServerHello, hello: &ClientHello) -> Result<(), Error> {
    check_server_hello_common(hrr, hello)?;
    let invalid = |reason: Invalid| Error::InvalidMessage {
        message: "HelloRetryRequest",
        reason,
    };
    let group = hrr.extensions.hello_retry_group();
    match group {
        Some(NamedGroup::X25519) => {}
        Some(other) => {
            return Err(invalid(Invalid::RetryGroupNotOffered(other)));
        }
        None if hrr.extensions.cookie().is_none() => {
            // §4.1.4: an HRR that would not change the ClientHello is illegal.
            return Err(invalid(Invalid::RetryChangesNothing));
        }
        None => {}
    }
    let offered_x25519 = hello
        .extensions
        .client_key_shares()
        .is_some_and(|s| !s.is_empty());
    if group == Some(NamedGroup::X25519) && offered_x25519 {
        // §4.2.8: the group must not be one the client already sent a share for.
        return Err(invalid(Invalid::RetryGroupAlreadyShared(
            NamedGroup::X25519,
        )));
    }
    Ok(())
}

/// RFC 8446 §4.3.1 / §4.2: only extensions the client offered may come back — the
/// server_name acknowledgement only if SNI was sent.
pub(super) fn check_encrypted_extensions(ext: &Extensions, sent_sni: bool) -> Result<(), Error> {
    for typ in ext.types() {
        let allowed =
            typ == ExtensionType::SupportedGroups || (typ == ExtensionType::ServerName && sent_sni);
        if !allowed {
            return Err(Error::UnsupportedExtension {
                message: "EncryptedExtensions",
                extension: typ,
            });
        }
    }
    Ok(())
}
