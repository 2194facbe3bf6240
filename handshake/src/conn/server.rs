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
//!
//! This file holds the state enum, the dispatcher and the client's second flight;
//! `server_hello` takes a ClientHello from START through RECVD_CH and NEGOTIATED.

use std::sync::Arc;

use pki::Purpose;
use time::OffsetDateTime;

use crate::algorithms::{SupportedGroup, SupportedSuite};
use crate::auth::Side;
use crate::config::{ClientAuth, ServerConfig};
use crate::conn::core::{Core, PeerChain, Received, unexpected, validate_certificate};
use crate::conn::psk::{self, Accepted, BinderInput};
use crate::conn::server_checks::{TicketIdentity, issue_tickets};
pub(crate) use crate::conn::server_hello::{PendingFlight, Start};
use crate::conn::{Established, FinishedOf, check_peer_finished};
use crate::error::{CertificateError, Error, Invalid};
use crate::key_schedule::{ExporterMasterSecret, HASH_LEN, MasterSecret, Secret, Transcript};
use crate::msgs::HandshakeMessage;
use crate::msgs::certificate::{Certificate, CertificateVerify};
use crate::msgs::enums::SignatureScheme;
use crate::msgs::finished::Finished;
use crate::record::RawHandshake;
use crate::states::ServerState;
use crate::summary::{Path, Summary};

/// The server's handshake states and what each carries; each transition consumes the old
/// one. RECVD_CH and NEGOTIATED are passed through while a ClientHello is handled
/// (`server_hello`), so no variant waits in them.
pub(crate) enum Handshake {
    Start(Start),
    /// NEGOTIATED, the first flight waiting for a remote key's CertificateVerify.
    Signing(Box<PendingFlight>),
    WaitFlight2(Box<FirstFlight>),
    WaitCert(Box<FirstFlight>),
    WaitCv(WaitCv),
    WaitFinished(WaitFinished),
}

/// What the server's first flight settled: the keys for the client's second flight and
/// after, and what the summary reports.
pub(crate) struct FirstFlight {
    pub(super) config: Arc<ServerConfig>,
    /// The negotiated cipher suite.
    pub(super) suite: SupportedSuite,
    /// The group of the (EC)DHE exchange; `None` for psk_ke.
    pub(super) group: Option<SupportedGroup>,
    pub(super) hello_retry: bool,
    pub(super) server_name: Option<String>,
    /// The application protocol chosen with ALPN (RFC 7301 §3.2).
    pub(super) alpn: Option<Vec<u8>>,
    pub(super) server_signature: Option<SignatureScheme>,
    pub(super) client_hs: Secret,
    pub(super) client_app: Secret,
    pub(super) exporter: ExporterMasterSecret,
    /// Whether a CertificateRequest went out.
    pub(super) cert_requested: bool,
    /// The PSK in use, if any.
    pub(super) psk: Option<Accepted>,
    /// Why an offered PSK was not used.
    pub(super) psk_declined: Option<String>,
    /// Kept when tickets will be issued: resumption_master_secret needs the transcript
    /// through the client's Finished.
    pub(super) master: Option<MasterSecret>,
}

pub(crate) struct WaitCv {
    flight: Box<FirstFlight>,
    client: PeerChain,
}

pub(crate) struct WaitFinished {
    flight: Box<FirstFlight>,
    client: Option<ClientIdentity>,
}

/// The client's certificate, once its CertificateVerify checked out.
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
        Handshake::Start(Start::new(config))
    }

    /// The RFC 8446 Appendix A name.
    pub fn name(&self) -> ServerState {
        match self {
            Handshake::Start(_) => ServerState::Start,
            Handshake::Signing(_) => ServerState::Negotiated,
            Handshake::WaitFlight2(_) => ServerState::WaitFlight2,
            Handshake::WaitCert(_) => ServerState::WaitCert,
            Handshake::WaitCv(_) => ServerState::WaitCv,
            Handshake::WaitFinished(_) => ServerState::WaitFinished,
        }
    }

    fn expects(&self) -> &'static str {
        match self {
            Handshake::Start(_) => "ClientHello",
            Handshake::Signing(_) => "nothing before the server's Finished",
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
        let state = self.leave_flight2(core);
        let from = state.name();
        // The message is already in the transcript; `before` is the transcript without it.
        let next = match (state, msg) {
            (Handshake::Start(s), HandshakeMessage::ClientHello(ch)) => {
                let binder_input = BinderInput {
                    before: &before,
                    hello: &raw.bytes,
                };
                return s
                    .client_hello(core, ch, &binder_input, now, out)
                    .map(Next::Handshaking);
            }
            (Handshake::WaitCert(f), HandshakeMessage::Certificate(cert)) => {
                client_certificate(f, cert, now)?
            }
            (Handshake::WaitCv(s), HandshakeMessage::CertificateVerify(cv)) => {
                s.certificate_verify(&cv, &before)?
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

    /// WAIT_FLIGHT2 is a branch point: which state the client's second flight meets
    /// depends on whether a CertificateRequest went out.
    fn leave_flight2(self, core: &mut Core) -> Self {
        match self {
            Handshake::WaitFlight2(f) if f.cert_requested => {
                core.transition(ServerState::WaitFlight2, ServerState::WaitCert);
                Handshake::WaitCert(f)
            }
            Handshake::WaitFlight2(f) => {
                core.transition(ServerState::WaitFlight2, ServerState::WaitFinished);
                Handshake::WaitFinished(WaitFinished {
                    flight: f,
                    client: None,
                })
            }
            other => other,
        }
    }
}

/// WAIT_CERT --Certificate--> WAIT_CV, or WAIT_FINISHED when it is empty (§4.4.2.4).
fn client_certificate(
    flight: Box<FirstFlight>,
    cert: Certificate,
    now: OffsetDateTime,
) -> Result<Handshake, Error> {
    if !cert.certificate_request_context.is_empty() {
        return Err(Error::InvalidMessage {
            message: "Certificate",
            reason: Invalid::CertificateContextMismatch,
        });
    }
    let config = &flight.config;
    if cert.entries.is_empty() {
        return match config.client_auth {
            ClientAuth::Required => Err(Error::Certificate(CertificateError::Required)),
            _ => Ok(Handshake::WaitFinished(WaitFinished {
                flight,
                client: None,
            })),
        };
    }
    let trust = &config.client_trust_anchors;
    let chain = validate_certificate(cert, trust, now, Purpose::Client, None)?;
    Ok(Handshake::WaitCv(WaitCv {
        flight,
        client: chain,
    }))
}

impl WaitCv {
    /// WAIT_CV --CertificateVerify--> WAIT_FINISHED (§4.4.3), over the transcript through
    /// the client's Certificate.
    fn certificate_verify(
        self,
        cv: &CertificateVerify,
        before: &Transcript,
    ) -> Result<Handshake, Error> {
        self.client.verify(cv, Side::Client, before)?;
        let leaf = &self.client.leaf;
        let reason = format!(
            "client presented {}, verified against {}",
            leaf.subject(),
            self.client.anchor()
        );
        let names = leaf
            .subject_alt_names()
            .iter()
            .map(ToString::to_string)
            .collect();
        let client = ClientIdentity {
            chain: self.client.subjects,
            names,
            signature: cv.algorithm,
            reason,
        };
        Ok(Handshake::WaitFinished(WaitFinished {
            flight: self.flight,
            client: Some(client),
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
        let of = FinishedOf {
            from_client: true,
            base_key: &self.flight.client_hs,
        };
        check_peer_finished(core, of, &before.current_hash(), &fin.verify_data)?;
        core.set_app_read_secret(self.flight.client_app.clone())?;
        let client_identity = match (&self.flight.psk, &self.client) {
            (Some(a), _) => a.client_identity.clone(),
            (None, Some(c)) => c.chain.first().cloned(),
            (None, None) => None,
        };
        if let Some(master) = &self.flight.master {
            let who = self.ticket_identity(client_identity.clone(), now);
            issue_tickets(core, &self.flight.config, master, &who, now, out)?;
        }
        Ok(self.established(client_identity, core.transcript_hash()))
    }

    /// Who the tickets say the client is (§4.6.1): resumption keeps what the ticket it came
    /// with said.
    fn ticket_identity(
        &self,
        client_identity: Option<String>,
        now: OffsetDateTime,
    ) -> TicketIdentity {
        let psk = self.flight.psk.as_ref();
        TicketIdentity {
            client_identity,
            certificate_verified: psk.map_or(self.client.is_some(), |a| a.certificate_verified),
            auth_ms: psk.and_then(|a| a.auth_ms).unwrap_or(psk::unix_ms(now)),
        }
    }

    /// The path, and why, in words.
    fn path_and_reason(&self) -> (Path, String) {
        let f = &self.flight;
        let (path, mut reason) = match (&f.psk, &self.client, f.config.client_auth) {
            (Some(a), _, _) => {
                let mode = if a.dhe { "psk_dhe_ke" } else { "psk_ke" };
                (
                    Path::from_psk(a.kind, a.dhe),
                    format!("client proved {} ({mode})", a.describe),
                )
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
        if let Some(declined) = &f.psk_declined {
            reason.push_str(&format!("; an offered PSK was not used: {declined}"));
        }
        (path, reason)
    }

    /// The summary and the exporter secret.
    fn established(
        self,
        client_identity: Option<String>,
        transcript_hash: [u8; HASH_LEN],
    ) -> Established {
        let (path, reason) = self.path_and_reason();
        let f = self.flight;
        let server_chain = match (&f.psk, &f.config.identity) {
            (None, Some(identity)) => identity
                .chain()
                .iter()
                .map(|c| c.subject().to_string())
                .collect(),
            _ => Vec::new(),
        };
        let client = self.client;
        let summary = Summary {
            side: Side::Server,
            path,
            reason,
            cipher_suite: f.suite.suite(),
            group: f.group.map(SupportedGroup::group),
            server_signature: f.server_signature,
            client_signature: client.as_ref().map(|c| c.signature),
            hello_retry: f.hello_retry,
            server_chain,
            client_chain: client.as_ref().map(|c| c.chain.clone()).unwrap_or_default(),
            client_names: client.map(|c| c.names).unwrap_or_default(),
            client_identity,
            server_name: f.server_name,
            alpn: f.alpn,
            transcript_hash,
        };
        Established {
            summary,
            exporter: f.exporter,
            resumption: None,
        }
    }
}
