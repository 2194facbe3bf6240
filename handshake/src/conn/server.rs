//! The server's handshake, RFC 8446 Appendix A.2:
//!
//! ```text
//! START --ClientHello--> RECVD_CH --HelloRetryRequest--> START
//!                           |
//!                           | select parameters
//!                           v
//!                       NEGOTIATED --send SH, EE, [CR], Cert, CV, Finished--> WAIT_FLIGHT2
//!                                                                              |        |
//!                                               no CertificateRequest sent ----+        | CertificateRequest sent
//!                                                                              v        v
//! CONNECTED <--Finished-- WAIT_FINISHED <--CertificateVerify-- WAIT_CV <--Certificate-- WAIT_CERT
//!                               ^                                                       |
//!                               +----------------- empty Certificate -------------------+
//! ```
//!
//! With a PSK (RFC 8446 §2.2) the first flight is ServerHello, EncryptedExtensions and
//! Finished: no CertificateRequest (§4.3.2), Certificate or CertificateVerify. After the
//! client's Finished the server may send NewSessionTickets (§4.6.1).

use std::sync::Arc;

use pki::Purpose;
use time::OffsetDateTime;
use x25519_dalek::{PublicKey as X25519Public, StaticSecret};

use crate::auth::{self, CERTIFICATE_SCHEMES, HANDSHAKE_SCHEMES, Side};
use crate::config::{ClientAuth, ServerConfig};
use crate::conn::core::{Core, Received, unexpected};
use crate::conn::psk::{self, Accepted};
use crate::conn::server_checks::{
    Offer, TicketIdentity, check_client_hello, check_second_hello, choose_our_scheme, issue_tickets,
};
use crate::conn::{Established, derive_app_secrets, handshake_secrets, key_exchange};
use crate::error::{CertificateError, Error, Verification};
use crate::key_schedule::{
    MasterSecret, PskKind, Secret, Transcript, check_verify_data, verify_data,
};
use crate::msgs::HandshakeMessage;
use crate::msgs::certificate::{
    Certificate, CertificateEntry, CertificateRequest, CertificateVerify,
};
use crate::msgs::client_hello::ClientHello;
use crate::msgs::encrypted_extensions::EncryptedExtensions;
use crate::msgs::enums::{CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme};
use crate::msgs::extensions::{Extension, Extensions, KeyShareEntry};
use crate::msgs::finished::Finished;
use crate::msgs::server_hello::ServerHello;
use crate::record::RawHandshake;
use crate::states::ServerState;
use crate::summary::{Path, Summary};

/// The server's handshake states and what each carries; each transition consumes the old
/// one.
pub(crate) enum Handshake {
    Start(Start),
    WaitFlight2(Flight2),
    WaitCert(Flight2),
    WaitCv(WaitCv),
    WaitFinished(WaitFinished),
}

pub(crate) struct Start {
    config: Arc<ServerConfig>,
    /// After a HelloRetryRequest, the first ClientHello: the second must match it except
    /// where RFC 8446 §4.1.2 allows changes, and bring an x25519 share.
    first: Option<Box<ClientHello>>,
}

/// What the negotiation settled, carried to the summary.
struct Negotiated {
    config: Arc<ServerConfig>,
    hello_retry: bool,
    server_name: Option<String>,
    server_signature: Option<SignatureScheme>,
    client_hs: Secret,
    client_app: Secret,
    exporter: crate::key_schedule::ExporterMasterSecret,
    /// Whether a CertificateRequest went out.
    cert_requested: bool,
    /// The PSK in use, if any.
    psk: Option<Accepted>,
    /// Why an offered PSK was not used.
    psk_declined: Option<String>,
    /// Kept when tickets will be issued: resumption_master_secret needs the transcript
    /// through the client's Finished.
    master: Option<MasterSecret>,
}

pub(crate) struct Flight2 {
    n: Box<Negotiated>,
}

pub(crate) struct WaitCv {
    n: Box<Negotiated>,
    client_leaf: Box<pki::Certificate>,
    client_chain: Vec<String>,
    anchor: String,
}

pub(crate) struct WaitFinished {
    n: Box<Negotiated>,
    client: Option<ClientIdentity>,
}

struct ClientIdentity {
    chain: Vec<String>,
    names: Vec<String>,
    signature: SignatureScheme,
    reason: String,
}

/// What handling one message leads to.
pub(crate) enum Next {
    Handshaking(Handshake),
    Connected(Box<Established>),
}

impl Handshake {
    /// A server waiting for its first ClientHello.
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Handshake::Start(Start {
            config,
            first: None,
        })
    }

    /// The RFC 8446 Appendix A name.
    pub fn name(&self) -> ServerState {
        match self {
            Handshake::Start(_) => ServerState::Start,
            Handshake::WaitFlight2(_) => ServerState::WaitFlight2,
            Handshake::WaitCert(_) => ServerState::WaitCert,
            Handshake::WaitCv(_) => ServerState::WaitCv,
            Handshake::WaitFinished(_) => ServerState::WaitFinished,
        }
    }

    fn expects(&self) -> &'static str {
        match self {
            Handshake::Start(_) => "ClientHello",
            Handshake::WaitFlight2(_) => "Certificate or Finished",
            Handshake::WaitCert(_) => "Certificate",
            Handshake::WaitCv(_) => "CertificateVerify",
            Handshake::WaitFinished(_) => "Finished",
        }
    }

    pub fn handle(
        self,
        core: &mut Core,
        raw: &RawHandshake,
        now: OffsetDateTime,
        out: &mut Vec<u8>,
    ) -> Result<Next, Error> {
        let Received { msg, before } = core.receive_handshake(raw)?;
        // WAIT_FLIGHT2 is a branch point: which state the message belongs to depends on
        // whether a CertificateRequest went out.
        let state = match self {
            Handshake::WaitFlight2(f) if f.n.cert_requested => {
                core.transition(ServerState::WaitFlight2, ServerState::WaitCert);
                Handshake::WaitCert(f)
            }
            Handshake::WaitFlight2(f) => {
                core.transition(ServerState::WaitFlight2, ServerState::WaitFinished);
                Handshake::WaitFinished(WaitFinished {
                    n: f.n,
                    client: None,
                })
            }
            other => other,
        };
        let from = state.name();
        let next = match (state, msg) {
            (Handshake::Start(s), HandshakeMessage::ClientHello(ch)) => {
                core.transition(ServerState::Start, ServerState::RecvdCh);
                return s
                    .client_hello(core, raw, &ch, &before, now, out)
                    .map(Next::Handshaking);
            }
            (Handshake::WaitCert(f), HandshakeMessage::Certificate(cert)) => {
                f.client_certificate(&cert, now)?
            }
            (Handshake::WaitCv(s), HandshakeMessage::CertificateVerify(cv)) => {
                auth::verify_certificate_verify(
                    &s.client_leaf,
                    cv.algorithm,
                    &cv.signature,
                    Side::Client,
                    &before.current_hash(),
                )?;
                let reason = format!(
                    "client presented {}, verified against {}",
                    s.client_leaf.subject(),
                    s.anchor
                );
                let names = s
                    .client_leaf
                    .subject_alt_names()
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                let client = ClientIdentity {
                    chain: s.client_chain,
                    names,
                    signature: cv.algorithm,
                    reason,
                };
                Handshake::WaitFinished(WaitFinished {
                    n: s.n,
                    client: Some(client),
                })
            }
            (Handshake::WaitFinished(s), HandshakeMessage::Finished(fin)) => {
                let established = s.finished(core, &fin, &before, now, out)?;
                core.transition(from, ServerState::Connected);
                return Ok(Next::Connected(Box::new(established)));
            }
            (state, msg) => return Err(unexpected(state.expects(), &msg)),
        };
        core.transition(from, next.name());
        Ok(Next::Handshaking(next))
    }
}

impl Start {
    /// RECVD_CH: checks the ClientHello and either asks again (HelloRetryRequest) or
    /// negotiates and sends the whole first flight.
    fn client_hello(
        self,
        core: &mut Core,
        raw: &RawHandshake,
        ch: &ClientHello,
        before: &Transcript,
        now: OffsetDateTime,
        out: &mut Vec<u8>,
    ) -> Result<Handshake, Error> {
        let offer = check_client_hello(ch)?;
        if let Some(first) = &self.first {
            check_second_hello(first, ch)?;
        }
        let now_ms = psk::unix_ms(now);
        let selection = psk::select(core, &self.config, &raw.bytes, ch, before, now_ms)?;
        let mut accepted = selection.accepted;
        let mut declined = selection.declined;
        let psk_only_refusal = |declined: &Option<String>| {
            Error::HandshakeFailure(format!(
                "this server only takes PSKs and the client offered none it can use{}",
                declined
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ))
        };
        if accepted.is_none() && self.config.identity.is_none() {
            return Err(psk_only_refusal(&declined));
        }
        // Everything but psk_ke needs the client's x25519 share.
        let needs_share = accepted.as_ref().is_none_or(|a| a.dhe);
        if needs_share && offer.x25519_share.is_none() {
            return self.ask_for_share(core, ch, &offer, out);
        }
        // Single-use tickets are spent only now that no HelloRetryRequest comes between; a
        // replay falls back to a full handshake (asking for a share if it must).
        if let Some((ticket, state)) = accepted.as_ref().and_then(|a| a.ticket.as_ref()) {
            let tickets = self.config.tickets.as_ref();
            if let Some(Err(why)) = tickets.map(|t| t.mark_used(ticket, state, now_ms)) {
                declined = Some(why.to_string());
                accepted = None;
                if self.config.identity.is_none() {
                    return Err(psk_only_refusal(&declined));
                }
                if offer.x25519_share.is_none() {
                    return self.ask_for_share(core, ch, &offer, out);
                }
            }
        }
        // §4.2.10: 0-RTT data is never accepted; its records are skipped, not fatal.
        core.skip_early_data(offer.early_data && self.first.is_none());
        let scheme = match (&accepted, &self.config.identity) {
            (Some(_), _) => None,
            (None, Some(identity)) => Some(choose_our_scheme(ch, identity.key().public_key())?),
            (None, None) => return Err(psk_only_refusal(&declined)),
        };
        let issue_tickets = self.config.tickets.is_some() && offer.ticket_modes_ok(&self.config);
        let client_share = match (&accepted, offer.x25519_share) {
            (Some(a), _) if !a.dhe => None,
            (_, Some(share)) => Some(share),
            (_, None) => {
                return Err(Error::HandshakeFailure(
                    "the offered PSK was refused and the ClientHello has no x25519 key_share"
                        .into(),
                ));
            }
        };
        core.set_client_random(ch.random);
        core.transition(ServerState::RecvdCh, ServerState::Negotiated);

        // ServerHello and the handshake keys (§4.1.3, §7.1).
        let mut extensions = vec![Extension::SupportedVersionsServerHello(
            ProtocolVersion::Tls13,
        )];
        let shared = match client_share {
            Some(client_share) => {
                let server_key = StaticSecret::from(core.random::<32>());
                let shared = key_exchange(&server_key, &client_share, "ClientHello")?;
                extensions.push(Extension::KeyShareServerHello(KeyShareEntry {
                    group: NamedGroup::X25519,
                    key_exchange: X25519Public::from(&server_key).to_bytes().to_vec(),
                }));
                Some(shared)
            }
            None => None,
        };
        if let Some(a) = &accepted {
            extensions.push(Extension::PreSharedKeyServerHello(a.index));
        }
        let sh = ServerHello {
            legacy_version: ProtocolVersion::Tls12,
            random: core.random::<32>(),
            legacy_session_id_echo: ch.legacy_session_id.clone(),
            cipher_suite: CipherSuite::TlsChacha20Poly1305Sha256,
            legacy_compression_method: 0,
            extensions: Extensions(extensions),
        };
        core.send_handshake(&HandshakeMessage::ServerHello(sh), out)?;
        let hash = core.transcript_hash();
        let (handshake_secret, client_hs, server_hs) = handshake_secrets(
            core,
            accepted.as_ref().map(|a| &a.secret[..]),
            shared.as_ref().map(|s| &s[..]),
            &hash,
        );
        core.set_write_secret(&server_hs);
        core.set_read_secret(&client_hs)?;

        // The encrypted part of the flight (§4.3, §4.4).
        core.send_handshake(
            &HandshakeMessage::EncryptedExtensions(EncryptedExtensions::default()),
            out,
        )?;
        // §4.3.2: never a CertificateRequest on a PSK path.
        let cert_requested = accepted.is_none() && self.config.client_auth != ClientAuth::Off;
        if let (Some(scheme), Some(identity)) = (scheme, &self.config.identity) {
            if cert_requested {
                let cr = CertificateRequest {
                    certificate_request_context: Vec::new(),
                    extensions: Extensions(vec![
                        Extension::SignatureAlgorithms(HANDSHAKE_SCHEMES.to_vec()),
                        Extension::SignatureAlgorithmsCert(CERTIFICATE_SCHEMES.to_vec()),
                    ]),
                };
                core.send_handshake(&HandshakeMessage::CertificateRequest(cr), out)?;
            }
            send_certificate(core, identity, scheme, out)?;
        }
        let verify = verify_data(&server_hs, &core.transcript_hash());
        core.send_handshake(
            &HandshakeMessage::Finished(Finished {
                verify_data: verify.to_vec(),
            }),
            out,
        )?;

        // Application secrets come from the transcript through the server's Finished.
        let hash = core.transcript_hash();
        let app = derive_app_secrets(core, handshake_secret, &hash);
        core.set_app_write_secret(app.server);
        core.transition(ServerState::Negotiated, ServerState::WaitFlight2);
        Ok(Handshake::WaitFlight2(Flight2 {
            n: Box::new(Negotiated {
                hello_retry: self.first.is_some(),
                config: self.config,
                server_name: offer.server_name,
                server_signature: scheme,
                client_hs,
                client_app: app.client,
                exporter: app.exporter,
                cert_requested,
                psk: accepted,
                psk_declined: declined,
                master: issue_tickets.then_some(app.master),
            }),
        }))
    }

    /// A share is needed and missing: a HelloRetryRequest asking for x25519 after the first
    /// ClientHello, an error after the second or when the client has no x25519 at all.
    fn ask_for_share(
        self,
        core: &mut Core,
        ch: &ClientHello,
        offer: &Offer,
        out: &mut Vec<u8>,
    ) -> Result<Handshake, Error> {
        if !offer.x25519_supported {
            return Err(offer.no_common_group());
        }
        if self.first.is_some() {
            return Err(Error::InvalidMessage {
                message: "ClientHello",
                reason: "the second ClientHello still has no x25519 key_share".into(),
            });
        }
        // §4.2.10: early data after the first ClientHello is skipped until the second.
        core.skip_early_data(offer.early_data);
        self.hello_retry(core, ch, out)
    }

    /// RECVD_CH --send HelloRetryRequest--> START: asks for an x25519 share (§4.1.4);
    /// ClientHello1 becomes message_hash (§4.4.1).
    fn hello_retry(
        self,
        core: &mut Core,
        ch: &ClientHello,
        out: &mut Vec<u8>,
    ) -> Result<Handshake, Error> {
        core.set_client_random(ch.random);
        let hrr = ServerHello::new_hello_retry_request(
            ch.legacy_session_id.clone(),
            CipherSuite::TlsChacha20Poly1305Sha256,
            Extensions(vec![
                Extension::SupportedVersionsServerHello(ProtocolVersion::Tls13),
                Extension::KeyShareHelloRetryRequest(NamedGroup::X25519),
            ]),
        );
        core.send_handshake(&HandshakeMessage::HelloRetryRequest(hrr), out)?;
        core.transition(ServerState::RecvdCh, ServerState::Start);
        Ok(Handshake::Start(Start {
            config: self.config,
            first: Some(Box::new(ch.clone())),
        }))
    }
}

/// Certificate and CertificateVerify (§4.4.2, §4.4.3).
fn send_certificate(
    core: &mut Core,
    identity: &crate::config::Identity,
    scheme: SignatureScheme,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let entries = identity
        .chain()
        .iter()
        .map(|c| CertificateEntry {
            cert_data: c.der().to_vec(),
            extensions: Extensions::default(),
        })
        .collect();
    core.send_handshake(
        &HandshakeMessage::Certificate(Certificate {
            certificate_request_context: Vec::new(),
            entries,
        }),
        out,
    )?;
    let hash = core.transcript_hash();
    let signature =
        auth::sign_certificate_verify(identity.key(), scheme, Side::Server, &hash, core.rng())?;
    core.send_handshake(
        &HandshakeMessage::CertificateVerify(CertificateVerify {
            algorithm: scheme,
            signature,
        }),
        out,
    )
}

impl Flight2 {
    /// WAIT_CERT --Certificate--> WAIT_CV, or WAIT_FINISHED when it is empty (§4.4.2.4).
    fn client_certificate(
        self,
        cert: &Certificate,
        now: OffsetDateTime,
    ) -> Result<Handshake, Error> {
        if !cert.certificate_request_context.is_empty() {
            return Err(Error::InvalidMessage {
                message: "Certificate",
                reason: "certificate_request_context differs from the CertificateRequest's".into(),
            });
        }
        let config = &self.n.config;
        if cert.entries.is_empty() {
            return match config.client_auth {
                ClientAuth::Required => Err(Error::Certificate(CertificateError::Required)),
                _ => Ok(Handshake::WaitFinished(WaitFinished {
                    n: self.n,
                    client: None,
                })),
            };
        }
        let ders: Vec<Vec<u8>> = cert.entries.iter().map(|e| e.cert_data.clone()).collect();
        let path = auth::validate_peer_chain(
            &ders,
            &config.client_trust_anchors,
            now,
            Purpose::Client,
            None,
        )?;
        let anchor = path.anchor().subject().to_string();
        let client_chain = path.chain.iter().map(|c| c.subject().to_string()).collect();
        let client_leaf = path
            .chain
            .into_iter()
            .next()
            .ok_or(Error::Certificate(CertificateError::Required))?;
        Ok(Handshake::WaitCv(WaitCv {
            n: self.n,
            client_leaf: Box::new(client_leaf),
            client_chain,
            anchor,
        }))
    }
}

impl WaitFinished {
    /// WAIT_FINISHED --Finished--> CONNECTED (§4.4.4), then NewSessionTickets (§4.6.1).
    fn finished(
        self,
        core: &mut Core,
        fin: &Finished,
        before: &Transcript,
        now: OffsetDateTime,
        out: &mut Vec<u8>,
    ) -> Result<Established, Error> {
        let n = self.n;
        check_verify_data(
            &n.client_hs,
            &before.current_hash(),
            &fin.verify_data,
            Verification::Finished,
        )?;
        core.set_app_read_secret(n.client_app)?;
        let (path, mut reason) = match (&n.psk, &self.client, n.config.client_auth) {
            (Some(a), _, _) => {
                let path = match (a.kind, a.dhe) {
                    (PskKind::External, false) => Path::Psk,
                    (PskKind::External, true) => Path::PskDhe,
                    (PskKind::Resumption, false) => Path::Resumption,
                    (PskKind::Resumption, true) => Path::ResumptionDhe,
                };
                let mode = if a.dhe { "psk_dhe_ke" } else { "psk_ke" };
                (path, format!("client proved {} ({mode})", a.describe))
            }
            (None, Some(c), _) => (Path::Certificate, c.reason.clone()),
            (None, None, ClientAuth::Off) => (
                Path::EphemeralDh,
                "client authentication is off; no certificate was requested".into(),
            ),
            (None, None, policy) => (
                Path::EphemeralDh,
                format!("client has no certificate (client auth {policy})"),
            ),
        };
        if let Some(declined) = &n.psk_declined {
            reason.push_str(&format!("; an offered PSK was not used: {declined}"));
        }
        let client_identity = match (&n.psk, &self.client) {
            (Some(a), _) => a.client_identity.clone(),
            (None, Some(c)) => c.chain.first().cloned(),
            (None, None) => None,
        };
        let certificate_verified = match &n.psk {
            Some(a) => a.certificate_verified,
            None => self.client.is_some(),
        };
        if let Some(master) = &n.master {
            let who = TicketIdentity {
                client_identity: client_identity.clone(),
                certificate_verified,
                auth_ms: n
                    .psk
                    .as_ref()
                    .and_then(|a| a.auth_ms)
                    .unwrap_or(psk::unix_ms(now)),
            };
            issue_tickets(core, &n.config, master, &who, now, out)?;
        }
        let server_chain = match (&n.psk, &n.config.identity) {
            (None, Some(identity)) => identity
                .chain()
                .iter()
                .map(|c| c.subject().to_string())
                .collect(),
            _ => Vec::new(),
        };
        let summary = Summary {
            side: Side::Server,
            path,
            reason,
            cipher_suite: CipherSuite::TlsChacha20Poly1305Sha256,
            group: path.uses_dhe().then_some(NamedGroup::X25519),
            server_signature: n.server_signature,
            client_signature: self.client.as_ref().map(|c| c.signature),
            hello_retry: n.hello_retry,
            server_chain,
            client_chain: self
                .client
                .as_ref()
                .map(|c| c.chain.clone())
                .unwrap_or_default(),
            client_names: self.client.map(|c| c.names).unwrap_or_default(),
            client_identity,
            server_name: n.server_name,
            transcript_hash: core.transcript_hash(),
        };
        Ok(Established {
            summary,
            exporter: n.exporter,
            resumption: None,
        })
    }
}
