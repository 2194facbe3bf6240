//! PSK offers (client) and PSK selection (server): RFC 8446 §4.2.9–§4.2.11.

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::config::{ClientAuth, ClientConfig, ServerConfig};
use crate::conn::core::Core;
use crate::error::{Error, Verification};
use crate::key_schedule::{
    EarlySecret, PskKind, Secret, Transcript, check_verify_data, verify_data,
};
use crate::msgs::HandshakeMessage;
use crate::msgs::client_hello::ClientHello;
use crate::msgs::enums::{ExtensionType, PskKeyExchangeMode};
use crate::msgs::extensions::Extension;
use crate::msgs::psk::{OfferedPsks, PskIdentity, binder_prefix};
use crate::tickets::TicketState;

/// `now` in Unix milliseconds (0 before 1970).
pub(crate) fn unix_ms(now: OffsetDateTime) -> u64 {
    u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// One key the client offers.
pub(crate) struct Offer {
    pub kind: PskKind,
    pub identity: Vec<u8>,
    pub obfuscated_age: u32,
    pub secret: Zeroizing<Vec<u8>>,
    /// Who the client is when this key is used (for the summary).
    pub client_identity: Option<String>,
    /// The key in words, for the summary.
    pub describe: String,
}

/// The keys a client offers, resumption ticket first (RFC 8446 §4.2.11: the server picks
/// one; keylab's server takes the first it can use).
pub(crate) fn client_offers(config: &ClientConfig, server_name: &str, now_ms: u64) -> Vec<Offer> {
    let mut offers = Vec::new();
    if let Some(session) = config
        .session_cache
        .as_ref()
        .and_then(|cache| cache.take(server_name, now_ms))
    {
        offers.push(Offer {
            kind: PskKind::Resumption,
            obfuscated_age: session.obfuscated_age(now_ms),
            identity: session.ticket.clone(),
            secret: Zeroizing::new(session.psk.to_vec()),
            describe: format!(
                "a ticket received {} s earlier",
                now_ms.saturating_sub(session.received_ms) / 1000
            ),
            client_identity: session.client_identity.clone(),
        });
    }
    if let Some(psk) = &config.psk {
        offers.push(Offer {
            kind: PskKind::External,
            identity: psk.identity().as_bytes().to_vec(),
            obfuscated_age: 0,
            secret: Zeroizing::new(psk.secret().to_vec()),
            describe: format!("external PSK \"{}\"", psk.identity()),
            client_identity: Some(format!("psk:{}", psk.identity())),
        });
    }
    offers
}

/// The psk_key_exchange_modes a client sends (RFC 8446 §4.2.9), most preferred first.
pub(crate) fn client_modes(config: &ClientConfig) -> Vec<PskKeyExchangeMode> {
    if config.allow_psk_ke {
        vec![PskKeyExchangeMode::PskKe, PskKeyExchangeMode::PskDheKe]
    } else {
        vec![PskKeyExchangeMode::PskDheKe]
    }
}

/// Derives the binder key of `offer`, reporting the early secrets to the trace.
fn binder_key(core: &mut Core, kind: PskKind, secret: &[u8]) -> Secret {
    let early = EarlySecret::new(Some(secret));
    let (label, derivation) = match kind {
        PskKind::External => (
            "binder_key (external)",
            "Derive-Secret(HKDF-Extract(0, PSK), \"ext binder\", \"\")",
        ),
        PskKind::Resumption => (
            "binder_key (resumption)",
            "Derive-Secret(HKDF-Extract(0, PSK), \"res binder\", \"\")",
        ),
    };
    let key = early.binder_key(kind);
    core.secret(label, derivation, None, key.as_bytes());
    key
}

/// Appends pre_shared_key (last, RFC 8446 §4.2.11) to `hello` with a binder per offer,
/// each an HMAC over the transcript so far plus the ClientHello up to the binders
/// (§4.2.11.2).
pub(crate) fn attach_binders(
    core: &mut Core,
    hello: &mut ClientHello,
    offers: &[Offer],
) -> Result<(), Error> {
    if offers.is_empty() {
        return Ok(());
    }
    let mut offered = OfferedPsks {
        identities: offers
            .iter()
            .map(|o| PskIdentity {
                identity: o.identity.clone(),
                obfuscated_ticket_age: o.obfuscated_age,
            })
            .collect(),
        binders: vec![vec![0; 32]; offers.len()],
    };
    hello
        .extensions
        .0
        .push(Extension::PreSharedKeyClientHello(offered.clone()));
    let bytes = HandshakeMessage::ClientHello(hello.clone()).to_bytes()?;
    let prefix = binder_prefix(&bytes, &offered).ok_or(Error::Usage("ClientHello too short"))?;
    let hash = core.transcript_hash_with(prefix);
    for (binder, offer) in offered.binders.iter_mut().zip(offers) {
        let key = binder_key(core, offer.kind, &offer.secret);
        *binder = verify_data(&key, &hash).to_vec();
    }
    if let Some(last) = hello.extensions.0.last_mut() {
        *last = Extension::PreSharedKeyClientHello(offered);
    }
    Ok(())
}

/// The key a server accepted.
pub(crate) struct Accepted {
    pub index: u16,
    pub kind: PskKind,
    pub secret: Zeroizing<Vec<u8>>,
    /// psk_dhe_ke (true) or psk_ke.
    pub dhe: bool,
    pub client_identity: Option<String>,
    pub certificate_verified: bool,
    /// For a ticket: when the full handshake behind it took place.
    pub auth_ms: Option<u64>,
    pub describe: String,
    /// For single-use tickets: the ticket, marked used once the handshake goes ahead.
    pub ticket: Option<(Vec<u8>, TicketState)>,
}

/// What a server checks a PSK binder over (RFC 8446 §4.2.11.2): the transcript before
/// the ClientHello (empty, or message_hash and HelloRetryRequest) and the ClientHello's
/// encoding, of which the part up to the binders counts.
pub(crate) struct BinderInput<'a> {
    pub before: &'a Transcript,
    pub hello: &'a [u8],
}

/// What the server made of the client's PSK offer.
pub(crate) struct Selection {
    pub accepted: Option<Accepted>,
    /// Why an offered key was not used, for the summary.
    pub declined: Option<String>,
}

/// Picks the first offered key the server can use and checks its binder (RFC 8446
/// §4.2.11): a wrong binder is decrypt_error; a key the server does not know, cannot open
/// or may not use under its policy is passed over (full handshake).
///
pub(crate) fn select(
    core: &mut Core,
    config: &ServerConfig,
    ch: &ClientHello,
    binder_input: &BinderInput<'_>,
    now_ms: u64,
) -> Result<Selection, Error> {
    let none = |why: Option<String>| Selection {
        accepted: None,
        declined: why,
    };
    let Some(offer) = ch.extensions.offered_psks() else {
        return Ok(none(None));
    };
    // §4.2.9: "If clients offer "pre_shared_key" without a "psk_key_exchange_modes"
    // extension, servers MUST abort the handshake."
    let modes = ch
        .extensions
        .psk_key_exchange_modes()
        .ok_or(Error::MissingExtension {
            message: "ClientHello",
            extension: ExtensionType::PskKeyExchangeModes,
        })?;
    let dhe = if config.allow_psk_ke && modes.contains(&PskKeyExchangeMode::PskKe) {
        false
    } else if modes.contains(&PskKeyExchangeMode::PskDheKe) {
        true
    } else {
        return Ok(none(Some(
            "no psk_key_exchange_mode in common (psk_ke is not allowed here)".into(),
        )));
    };
    let required = config.client_auth == ClientAuth::Required;
    let mut declined = Vec::new();
    let mut chosen = None;
    for (index, id) in offer.identities.iter().enumerate() {
        let external = std::str::from_utf8(&id.identity)
            .ok()
            .and_then(|name| config.psks.iter().find(|k| k.identity() == name));
        let candidate = if let Some(key) = external {
            if required && !config.psk_satisfies_client_auth {
                declined.push(format!(
                    "external PSK \"{}\" does not satisfy client auth required",
                    key.identity()
                ));
                continue;
            }
            Accepted {
                index: 0,
                kind: PskKind::External,
                secret: Zeroizing::new(key.secret().to_vec()),
                dhe,
                client_identity: Some(format!("psk:{}", key.identity())),
                certificate_verified: false,
                auth_ms: None,
                describe: format!("external PSK \"{}\"", key.identity()),
                ticket: None,
            }
        } else if let Some(tickets) = &config.tickets {
            let state = match tickets.accept(&id.identity, id.obfuscated_ticket_age, now_ms) {
                Ok(state) => state,
                Err(why) => {
                    declined.push(why.to_string());
                    continue;
                }
            };
            let ok_for_required = state.certificate_verified
                || (state.client_identity.is_some() && config.psk_satisfies_client_auth);
            if required && !ok_for_required {
                declined.push(
                    "client auth is required and the ticket carries no verified client certificate"
                        .into(),
                );
                continue;
            }
            let who = state
                .client_identity
                .as_deref()
                .unwrap_or("an anonymous client");
            Accepted {
                index: 0,
                kind: PskKind::Resumption,
                secret: Zeroizing::new(state.psk.to_vec()),
                dhe,
                client_identity: state.client_identity.clone(),
                certificate_verified: state.certificate_verified,
                auth_ms: Some(state.auth_ms),
                describe: format!(
                    "a ticket issued {} s earlier to {who}",
                    now_ms.saturating_sub(state.created_ms) / 1000
                ),
                ticket: Some((id.identity.clone(), state)),
            }
        } else {
            declined.push("unknown PSK identity".into());
            continue;
        };
        chosen = Some(Accepted {
            index: u16::try_from(index).unwrap_or(u16::MAX),
            ..candidate
        });
        break;
    }
    // A hostile offer may hold thousands of identities: say why for the first few only.
    const SHOWN: usize = 3;
    let more = declined.len().saturating_sub(SHOWN);
    declined.truncate(SHOWN);
    if more > 0 {
        declined.push(format!("and {more} more identities not used"));
    }
    let declined = (!declined.is_empty()).then(|| declined.join("; "));
    let Some(accepted) = chosen else {
        return Ok(none(declined));
    };
    // §4.2.11.2: the binder of the chosen identity, over the transcript so far (empty, or
    // message_hash + HelloRetryRequest) and the ClientHello up to the binders.
    let prefix = binder_prefix(binder_input.hello, offer).ok_or(Error::InvalidMessage {
        message: "ClientHello",
        reason: "pre_shared_key binders extend past the message".into(),
    })?;
    let hash = binder_input.before.hash_with(prefix);
    let key = binder_key(core, accepted.kind, &accepted.secret);
    let binder = offer
        .binders
        .get(usize::from(accepted.index))
        .ok_or(Error::VerifyFailed(Verification::PskBinder))?;
    check_verify_data(&key, &hash, binder, Verification::PskBinder)?;
    Ok(Selection {
        accepted: Some(accepted),
        declined,
    })
}
