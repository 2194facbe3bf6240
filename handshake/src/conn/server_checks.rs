//! What the server checks in a ClientHello (RFC 8446 §4.1.2, §4.2, §9.2) and the
//! NewSessionTickets it sends (§4.6.1).

use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::missing;
use crate::algorithms::{SupportedGroup, SupportedSuite, first_common};
use crate::auth;
use crate::config::ServerConfig;
use crate::conn::core::Core;
use crate::conn::{check_legacy_version, psk, resumption_secret};
use crate::error::{Error, HandshakeFailure, HelloField, Invalid};
use crate::key_schedule::MasterSecret;
use crate::msgs::HandshakeMessage;
use crate::msgs::client_hello::ClientHello;
use crate::msgs::enums::{
    ExtensionType, NamedGroup, ProtocolVersion, PskKeyExchangeMode, SignatureScheme,
};
use crate::msgs::extensions::{Extension, Extensions, KeyShareEntry};
use crate::msgs::post_handshake::NewSessionTicket;
use crate::tickets::TicketState;

/// RFC 8446 §4.1.2: after a HelloRetryRequest the client sends the same ClientHello except
/// that key_share holds one share for the group asked for (§4.2.8), and cookie,
/// early_data, pre_shared_key and padding may change.
///
/// `group` is the group the HelloRetryRequest asked for, if it asked for one.
pub(super) fn check_second_hello(
    first: &ClientHello,
    second: &ClientHello,
    group: Option<SupportedGroup>,
) -> Result<(), Error> {
    let invalid = |reason: Invalid| Error::InvalidMessage {
        message: "ClientHello",
        reason,
    };
    let changed = |field: HelloField| invalid(Invalid::SecondHelloChanged(field));
    if second.random != first.random {
        return Err(changed(HelloField::Random));
    }
    if second.legacy_session_id != first.legacy_session_id {
        return Err(changed(HelloField::LegacySessionId));
    }
    if second.cipher_suites != first.cipher_suites {
        return Err(changed(HelloField::CipherSuites));
    }
    let may_change = |e: &&Extension| {
        let typ = e.ext_type();
        [
            ExtensionType::KeyShare,
            ExtensionType::Cookie,
            ExtensionType::EarlyData,
            ExtensionType::PreSharedKey,
            ExtensionType::Padding,
        ]
        .contains(&typ)
    };
    let fixed = |ch: &ClientHello| {
        ch.extensions
            .0
            .iter()
            .filter(|e| !may_change(e))
            .cloned()
            .collect::<Vec<_>>()
    };
    if fixed(first) != fixed(second) {
        return Err(changed(HelloField::Extension));
    }
    let Some(group) = group else {
        // A HelloRetryRequest with only a cookie: the shares stay as they were.
        return Ok(());
    };
    match second.extensions.client_key_shares() {
        Some([share]) if share.group == group.group() => Ok(()),
        _ => Err(invalid(Invalid::SecondHelloKeyShare(group.group()))),
    }
}

/// What the server takes from an acceptable ClientHello.
pub(super) struct Offer {
    /// The cipher suite: the first of the server's that the client offers (§4.1.1).
    pub suite: SupportedSuite,
    /// The group for (EC)DHE: the first of the server's that supported_groups lists
    /// (§4.1.1); `None` when there is none in common.
    pub group: Option<SupportedGroup>,
    /// The client's share for `group`, or `None` when it must be asked for (HRR).
    pub share: Option<Vec<u8>>,
    /// The client's supported_groups, for the error when none is common.
    pub groups: Vec<NamedGroup>,
    /// Whether the client offers 0-RTT data (§4.2.10), which keylab never accepts.
    pub early_data: bool,
    pub server_name: Option<String>,
    /// The application protocol chosen with ALPN (RFC 7301 §3.2), if any.
    pub alpn: Option<Vec<u8>>,
    /// psk_key_exchange_modes, when sent.
    psk_modes: Option<Vec<PskKeyExchangeMode>>,
}

impl Offer {
    /// The error when an (EC)DHE exchange is needed and no group is in common.
    pub fn no_common_group(&self, config: &ServerConfig) -> Error {
        Error::HandshakeFailure(HandshakeFailure::NoCommonGroup {
            offered: self.groups.clone(),
            accepted: config.groups.iter().map(|g| g.group()).collect(),
        })
    }

    /// RFC 8446 §4.2.9: tickets only go to clients that can use them with a mode this
    /// server accepts.
    pub fn ticket_modes_ok(&self, config: &ServerConfig) -> bool {
        self.psk_modes.as_ref().is_some_and(|modes| {
            modes.contains(&PskKeyExchangeMode::PskDheKe)
                || (config.allow_psk_ke && modes.contains(&PskKeyExchangeMode::PskKe))
        })
    }
}

/// The scheme for our CertificateVerify among those the client offers (§4.2.3).
pub(super) fn choose_our_scheme(
    ch: &ClientHello,
    our_key: &pki::PublicKey,
) -> Result<SignatureScheme, Error> {
    let schemes = ch
        .extensions
        .signature_algorithms()
        .ok_or(missing("ClientHello", ExtensionType::SignatureAlgorithms))?;
    auth::choose_scheme(our_key, schemes).ok_or_else(|| {
        Error::HandshakeFailure(HandshakeFailure::NoCommonSignatureScheme {
            offered: schemes.to_vec(),
            key: our_key.algorithm_name(),
            needs: auth::scheme_for_key(our_key),
        })
    })
}

/// RFC 8446 §4.1.2, §4.2, §9.2: what a TLS 1.3 ClientHello must hold for keylab; picks
/// the suite and group by the server's preference (§4.1.1).
pub(super) fn check_client_hello(ch: &ClientHello, config: &ServerConfig) -> Result<Offer, Error> {
    let ext = &ch.extensions;
    check_version(ch)?;
    if ch.legacy_compression_methods != [0] {
        return Err(Error::InvalidMessage {
            message: "ClientHello",
            reason: Invalid::CompressionMethods,
        });
    }
    let suite = first_common(
        &config.cipher_suites,
        &ch.cipher_suites,
        SupportedSuite::suite,
    )
    .ok_or_else(|| {
        Error::HandshakeFailure(HandshakeFailure::NoCommonCipherSuite {
            offered: ch.cipher_suites.clone(),
            accepted: config.cipher_suites.iter().map(|s| s.suite()).collect(),
        })
    })?;
    // §9.2: a ClientHello without pre_shared_key must carry signature_algorithms.
    if ext.offered_psks().is_none() && ext.signature_algorithms().is_none() {
        return Err(missing("ClientHello", ExtensionType::SignatureAlgorithms));
    }
    let (groups, shares) = groups_and_shares(ext)?;
    let group = first_common(&config.groups, groups, SupportedGroup::group);
    let share = group.and_then(|g| {
        shares
            .iter()
            .find(|s| s.group == g.group())
            .map(|share| share.key_exchange.clone())
    });
    let server_name = ext
        .server_names()
        .and_then(|names| names.iter().find_map(|n| n.as_host_name()))
        .map(str::to_owned);
    let alpn = choose_alpn(ext, config)?;
    Ok(Offer {
        alpn,
        suite,
        group,
        share,
        groups: groups.to_vec(),
        server_name,
        psk_modes: ext.psk_key_exchange_modes().map(<[_]>::to_vec),
        early_data: ext.types().any(|t| t == ExtensionType::EarlyData),
    })
}

/// RFC 7301 §3.2: with protocols configured, the first of the server's that the client
/// offers ("the server SHALL select the most highly preferred protocol that it supports
/// and that is also advertised by the client"); none in common is no_application_protocol.
/// A server without protocols ignores the extension, as it would an unknown one.
fn choose_alpn(ext: &Extensions, config: &ServerConfig) -> Result<Option<Vec<u8>>, Error> {
    let Some(offered) = ext.alpn() else {
        return Ok(None);
    };
    if config.alpn_protocols.is_empty() {
        return Ok(None);
    }
    match config.alpn_protocols.iter().find(|p| offered.contains(p)) {
        Some(chosen) => Ok(Some(chosen.clone())),
        None => Err(Error::NoApplicationProtocol {
            offered: offered.to_vec(),
            accepted: config.alpn_protocols.clone(),
        }),
    }
}

/// RFC 8446 §4.2.1: the client must offer TLS 1.3 in supported_versions; Appendix D.5:
/// a legacy_version of 0x0300 or lower is refused whatever the extension says. (With
/// supported_versions, §4.2.1 has the server ignore legacy_version otherwise.)
fn check_version(ch: &ClientHello) -> Result<(), Error> {
    check_legacy_version(ch.legacy_version, "ClientHello")?;
    let Some(versions) = ch.extensions.client_versions() else {
        return Err(Error::ProtocolVersion(format!(
            "the client offers {} without supported_versions; keylab speaks only TLS 1.3",
            ch.legacy_version
        )));
    };
    if !versions.contains(&ProtocolVersion::Tls13) {
        let list: Vec<String> = versions.iter().map(ToString::to_string).collect();
        return Err(Error::ProtocolVersion(format!(
            "the client offers [{}], keylab speaks only TLS 1.3",
            list.join(", ")
        )));
    }
    Ok(())
}

/// supported_groups and key_share. §9.2: they go together, and only a ClientHello without
/// pre_shared_key must carry them (psk_ke needs neither); §4.2.8: each share must be for
/// a group listed in supported_groups.
fn groups_and_shares(ext: &Extensions) -> Result<(&[NamedGroup], &[KeyShareEntry]), Error> {
    let (groups, shares) = match (ext.supported_groups(), ext.client_key_shares()) {
        (Some(groups), Some(shares)) => (groups, shares),
        (None, None) if ext.offered_psks().is_some() => (&[][..], &[][..]),
        (groups, _) => {
            return Err(Error::MissingExtension {
                message: "ClientHello",
                extension: if groups.is_none() {
                    ExtensionType::SupportedGroups
                } else {
                    ExtensionType::KeyShare
                },
            });
        }
    };
    if let Some(stray) = shares.iter().find(|s| !groups.contains(&s.group)) {
        return Err(Error::InvalidMessage {
            message: "ClientHello",
            reason: Invalid::KeyShareGroupNotSupported(stray.group),
        });
    }
    Ok((groups, shares))
}

/// Who the tickets of a connection say the client is.
pub(super) struct TicketIdentity {
    /// Certificate subject or `psk:IDENTITY`; `None` when anonymous.
    pub client_identity: Option<String>,
    /// Whether it is a verified client certificate.
    pub certificate_verified: bool,
    /// When the full handshake behind it took place, Unix milliseconds.
    pub auth_ms: u64,
}

/// Sends the configured number of NewSessionTickets (RFC 8446 §4.6.1), each sealing the
/// PSK HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, 32) and who
/// the client proved to be.
pub(super) fn issue_tickets(
    core: &mut Core,
    config: &ServerConfig,
    master: &MasterSecret,
    who: &TicketIdentity,
    now: OffsetDateTime,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let Some(tickets) = &config.tickets else {
        return Ok(());
    };
    let secret = resumption_secret(core, master);
    for i in 0..tickets.per_connection() {
        let nonce = vec![i];
        let psk = secret.ticket_psk(&nonce)?;
        let state = TicketState {
            created_ms: psk::unix_ms(now),
            auth_ms: who.auth_ms,
            lifetime: tickets.lifetime(),
            age_add: u32::from_be_bytes(core.random::<4>()),
            psk: Zeroizing::new(*psk.as_bytes()),
            client_identity: who.client_identity.clone(),
            certificate_verified: who.certificate_verified,
        };
        let ticket = tickets
            .seal(&state, core.random::<4>())
            .ok_or(Error::Usage("the ticket could not be sealed"))?;
        let msg = HandshakeMessage::NewSessionTicket(NewSessionTicket {
            ticket_lifetime: state.lifetime,
            ticket_age_add: state.age_add,
            ticket_nonce: nonce,
            ticket,
            extensions: Extensions::default(),
        });
        core.send_post_handshake(&msg, out)?;
        super::trace_ticket_psk(core, &secret, &[i], &psk);
    }
    Ok(())
}
