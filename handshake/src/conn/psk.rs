//! PSK offers (client) and PSK selection (server): RFC 8446 §4.2.9–§4.2.11.

use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::missing;
use crate::config::{ClientAuth, ClientConfig, ServerConfig};
use crate::conn::core::Core;
use crate::conn::trace::{
    Direction, HkdfContext, NamedValue, PARTIAL_CLIENT_HELLO, SecretInputs, TraceEvent,
    TranscriptHash,
};
use crate::error::{Error, Invalid, Verification};
use crate::key_schedule::{
    EMPTY_HASH, EarlySecret, HASH_LEN, PskKind, Secret, Transcript, check_verify_data,
    finished_key, verify_data,
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
    match (config.allow_psk_ke, config.psk_ke_only) {
        (true, true) => vec![PskKeyExchangeMode::PskKe],
        (true, false) => vec![PskKeyExchangeMode::PskDheKe, PskKeyExchangeMode::PskKe],
        (false, _) => vec![PskKeyExchangeMode::PskDheKe],
    }
}

/// Derives the binder key of `offer`, reporting it to the trace; returns its trace name
/// too.
fn binder_key(core: &mut Core, kind: PskKind, secret: &[u8]) -> (&'static str, Secret) {
    let early = EarlySecret::new(Some(secret));
    let (label, derivation, hkdf_label) = match kind {
        PskKind::External => (
            "binder_key (external)",
            "Derive-Secret(HKDF-Extract(0, PSK), \"ext binder\", \"\")",
            "ext binder",
        ),
        PskKind::Resumption => (
            "binder_key (resumption)",
            "Derive-Secret(HKDF-Extract(0, PSK), \"res binder\", \"\")",
            "res binder",
        ),
    };
    let key = early.binder_key(kind);
    core.secret(
        label,
        derivation,
        None,
        key.as_bytes(),
        SecretInputs::ExpandLabel {
            // The Early Secret of this PSK: HKDF-Extract(zeros, PSK).
            secret: NamedValue {
                name: "early_secret",
                value: early.secret().as_bytes(),
            },
            label: hkdf_label,
            context: HkdfContext::Transcript(TranscriptHash {
                messages: &[],
                hash: &EMPTY_HASH,
            }),
            length: HASH_LEN,
        },
    );
    (label, key)
}

/// Reports a binder to the trace (RFC 8446 §4.2.11.2).
fn trace_binder(
    core: &mut Core,
    direction: Direction,
    index: usize,
    (name, key): (&'static str, &Secret),
    transcript: TranscriptHash<'_>,
    binder: &[u8],
) {
    if !core.tracing() {
        return;
    }
    let finished = finished_key(key);
    core.trace(&TraceEvent::Binder {
        direction,
        index,
        binder_key: NamedValue {
            name,
            value: key.as_bytes(),
        },
        finished_key: finished.as_bytes(),
        transcript,
        binder,
    });
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
    let mut messages = core.transcript_messages();
    messages.push(PARTIAL_CLIENT_HELLO);
    for (index, (binder, offer)) in offered.binders.iter_mut().zip(offers).enumerate() {
        let (name, key) = binder_key(core, offer.kind, &offer.secret);
        *binder = verify_data(&key, &hash).to_vec();
        let transcript = TranscriptHash {
            messages: &messages,
            hash: &hash,
        };
        trace_binder(
            core,
            Direction::Sent,
            index,
            (name, &key),
            transcript,
            binder,
        );
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
pub(crate) fn select(
    core: &mut Core,
    config: &ServerConfig,
    ch: &ClientHello,
    binder_input: &BinderInput<'_>,
    now_ms: u64,
) -> Result<Selection, Error> {
    let Some(offer) = ch.extensions.offered_psks() else {
        return Ok(Selection::none(None));
    };
    let Some(dhe) = key_exchange_mode(config, ch)? else {
        let why = "no psk_key_exchange_mode in common (psk_ke is not allowed here)";
        return Ok(Selection::none(Some(why.into())));
    };
    let mut declined = Vec::new();
    let chosen = offer.identities.iter().enumerate().find_map(|(index, id)| {
        let index = u16::try_from(index).unwrap_or(u16::MAX);
        match accept_identity(config, id, index, dhe, now_ms) {
            Ok(accepted) => Some(accepted),
            Err(why) => {
                declined.push(why);
                None
            }
        }
    });
    let declined = summarize_declined(declined);
    let Some(accepted) = chosen else {
        return Ok(Selection::none(declined));
    };
    check_binder(core, offer, binder_input, &accepted)?;
    Ok(Selection {
        accepted: Some(accepted),
        declined,
    })
}

impl Selection {
    fn none(declined: Option<String>) -> Self {
        Self {
            accepted: None,
            declined,
        }
    }
}

/// psk_dhe_ke (`true`) whenever the client offers it, for its forward secrecy; psk_ke
/// only when it is all the client offers and the server allows it; `None` when there is
/// no mode in common (RFC 8446 §4.2.9).
fn key_exchange_mode(config: &ServerConfig, ch: &ClientHello) -> Result<Option<bool>, Error> {
    // §4.2.9: "If clients offer "pre_shared_key" without a "psk_key_exchange_modes"
    // extension, servers MUST abort the handshake."
    let modes = ch
        .extensions
        .psk_key_exchange_modes()
        .ok_or(missing("ClientHello", ExtensionType::PskKeyExchangeModes))?;
    Ok(if modes.contains(&PskKeyExchangeMode::PskDheKe) {
        Some(true)
    } else if config.allow_psk_ke && modes.contains(&PskKeyExchangeMode::PskKe) {
        Some(false)
    } else {
        None
    })
}

/// The key behind offered identity number `index`, or why the server passes it over.
fn accept_identity(
    config: &ServerConfig,
    id: &PskIdentity,
    index: u16,
    dhe: bool,
    now_ms: u64,
) -> Result<Accepted, String> {
    let required = config.client_auth == ClientAuth::Required;
    let external = std::str::from_utf8(&id.identity)
        .ok()
        .and_then(|name| config.psks.iter().find(|k| k.identity() == name));
    if let Some(key) = external {
        if required && !config.psk_satisfies_client_auth {
            return Err(format!(
                "external PSK \"{}\" does not satisfy client auth required",
                key.identity()
            ));
        }
        return Ok(Accepted {
            index,
            kind: PskKind::External,
            secret: Zeroizing::new(key.secret().to_vec()),
            dhe,
            client_identity: Some(format!("psk:{}", key.identity())),
            certificate_verified: false,
            auth_ms: None,
            describe: format!("external PSK \"{}\"", key.identity()),
            ticket: None,
        });
    }
    let Some(tickets) = &config.tickets else {
        return Err("unknown PSK identity".into());
    };
    let state = tickets
        .accept(&id.identity, id.obfuscated_ticket_age, now_ms)
        .map_err(|why| why.to_string())?;
    let ok_for_required = state.certificate_verified
        || (state.client_identity.is_some() && config.psk_satisfies_client_auth);
    if required && !ok_for_required {
        return Err(
            "client auth is required and the ticket carries no verified client certificate".into(),
        );
    }
    let who = state
        .client_identity
        .as_deref()
        .unwrap_or("an anonymous client");
    Ok(Accepted {
        index,
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
    })
}

/// Why offered keys were passed over, in one line. A hostile offer may hold thousands of
/// identities: say why for the first few only.
fn summarize_declined(mut declined: Vec<String>) -> Option<String> {
    const SHOWN: usize = 3;
    let more = declined.len().saturating_sub(SHOWN);
    declined.truncate(SHOWN);
    if more > 0 {
        declined.push(format!("and {more} more identities not used"));
    }
    (!declined.is_empty()).then(|| declined.join("; "))
}

/// §4.2.11.2: the binder of the chosen identity, over the transcript so far (empty, or
/// message_hash + HelloRetryRequest) and the ClientHello up to the binders.
fn check_binder(
    core: &mut Core,
    offer: &OfferedPsks,
    binder_input: &BinderInput<'_>,
    accepted: &Accepted,
) -> Result<(), Error> {
    let prefix = binder_prefix(binder_input.hello, offer).ok_or(Error::InvalidMessage {
        message: "ClientHello",
        reason: Invalid::BindersPastEnd,
    })?;
    let hash = binder_input.before.hash_with(prefix);
    let (name, key) = binder_key(core, accepted.kind, &accepted.secret);
    if core.tracing() {
        let mut messages = core.transcript_messages();
        // The ClientHello is in the transcript already; the binder covers part of it.
        messages.pop();
        messages.push(PARTIAL_CLIENT_HELLO);
        let expected = verify_data(&key, &hash);
        let transcript = TranscriptHash {
            messages: &messages,
            hash: &hash,
        };
        let index = usize::from(accepted.index);
        trace_binder(
            core,
            Direction::Received,
            index,
            (name, &key),
            transcript,
            &expected,
        );
    }
    let binder = offer
        .binders
        .get(usize::from(accepted.index))
        .ok_or(Error::VerifyFailed(Verification::PskBinder))?;
    check_verify_data(&key, &hash, binder, Verification::PskBinder)
}
