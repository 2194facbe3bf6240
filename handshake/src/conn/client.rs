//! The client's handshake, RFC 8446 Appendix A.1:
//!
//! ```text
//! START --send ClientHello--> WAIT_SH --ServerHello--> WAIT_EE --EncryptedExtensions--> WAIT_CERT_CR
//!          ^                     |                    |                              |         |
//!          +-HelloRetryRequest---+                    | (PSK)   CertificateRequest  |         | Certificate
//!                                                     v                              v         v
//! CONNECTED <--Finished / send [Certificate [CertificateVerify]] Finished-- WAIT_FINISHED <-- WAIT_CV
//! ```
//!
//! On the PSK paths (RFC 8446 §2.2) the server sends neither Certificate nor
//! CertificateRequest, so EncryptedExtensions leads straight to WAIT_FINISHED.
//!
//! This file holds the state enum, the dispatcher and the states after the ServerHello;
//! `client_hello` takes the client from START to WAIT_EE.

use std::net::IpAddr;
use std::sync::Arc;

use pki::Purpose;
use time::OffsetDateTime;

use super::missing;
use crate::algorithms::{SupportedGroup, SupportedSuite};
use crate::auth::{self, Side};
use crate::config::{ClientConfig, Identity};
use crate::conn::client_checks::check_encrypted_extensions;
pub(crate) use crate::conn::client_hello::{Start, WaitSh};
use crate::conn::core::{
    Core, PeerChain, Received, send_certificate, unexpected, validate_certificate,
};
use crate::conn::psk::Offer;
use crate::conn::{
    ClientResumption, Established, FinishedOf, HandshakeSecrets, check_peer_finished,
    derive_app_secrets, our_verify_data, resumption_secret,
};
use crate::error::{CertificateError, Error, InternalError, Invalid};
use crate::key_schedule::{HASH_LEN, MasterSecret, Secret, Transcript};
use crate::msgs::HandshakeMessage;
use crate::msgs::certificate::{Certificate, CertificateRequest, CertificateVerify};
use crate::msgs::encrypted_extensions::EncryptedExtensions;
use crate::msgs::enums::{CipherSuite, ExtensionType, SignatureScheme};
use crate::msgs::finished::Finished;
use crate::record::RawHandshake;
use crate::states::ClientState;
use crate::summary::{Path, Summary};

/// What every client state carries.
pub(crate) struct Common {
    pub(super) config: Arc<ClientConfig>,
    /// The name the server's certificate must match (DNS name or IP address).
    pub(super) server_name: String,
    pub(super) hello_retry: bool,
    /// The cipher suite the server chose: in a HelloRetryRequest, which the ServerHello
    /// must repeat (RFC 8446 §4.1.4), or in the ServerHello.
    pub(super) suite: Option<SupportedSuite>,
    /// The group of the (EC)DHE exchange, once the ServerHello chose one.
    pub(super) group: Option<SupportedGroup>,
    /// The keys offered in pre_shared_key, in order.
    pub(super) offers: Vec<Offer>,
}

/// The client's handshake states and what each carries; each transition consumes the old
/// one.
#[allow(
    clippy::enum_variant_names,
    reason = "the names mirror RFC 8446 Appendix A"
)]
pub(crate) enum Handshake {
    Start(Start),
    WaitSh(WaitSh),
    WaitEe(ServerParams),
    WaitCertCr(ServerParams),
    WaitCert(ServerParams),
    WaitCv(WaitCv),
    WaitFinished(WaitFinished),
}

/// What the server chose in its hello and after (a PSK, a CertificateRequest), and the
/// handshake secrets from its ServerHello.
pub(crate) struct ServerParams {
    pub(super) common: Common,
    pub(super) secrets: HandshakeSecrets,
    /// Boxed: rare, and it keeps the state small.
    pub(super) request: Option<Box<CertRequest>>,
    /// The offer the server selected and whether (EC)DHE was used with it.
    pub(super) psk: Option<(usize, bool)>,
    /// The application protocol the server chose in EncryptedExtensions (RFC 7301).
    pub(super) alpn: Option<Vec<u8>>,
}

/// What a CertificateRequest asked for (RFC 8446 §4.3.2).
pub(crate) struct CertRequest {
    context: Vec<u8>,
    schemes: Vec<SignatureScheme>,
}

pub(crate) struct WaitCv {
    params: ServerParams,
    server: PeerChain,
}

pub(crate) struct WaitFinished {
    params: ServerParams,
    server_chain: Vec<String>,
    server_signature: Option<SignatureScheme>,
}

/// What the client's second flight said about the client, for the summary.
struct ClientAuthOutcome {
    signature: Option<SignatureScheme>,
    chain: Vec<String>,
    names: Vec<String>,
    reason: String,
}

/// What handling one message leads to.
pub(crate) enum Next {
    Handshaking(Handshake),
    Connected(Established),
}

impl Handshake {
    /// A client before its ClientHello.
    pub fn new(config: Arc<ClientConfig>, server_name: &str) -> Self {
        Handshake::Start(Start::new(config, server_name))
    }

    /// The RFC 8446 Appendix A name.
    pub fn name(&self) -> ClientState {
        match self {
            Handshake::Start(_) => ClientState::Start,
            Handshake::WaitSh(_) => ClientState::WaitSh,
            Handshake::WaitEe(_) => ClientState::WaitEe,
            Handshake::WaitCertCr(_) => ClientState::WaitCertCr,
            Handshake::WaitCert(_) => ClientState::WaitCert,
            Handshake::WaitCv(_) => ClientState::WaitCv,
            Handshake::WaitFinished(_) => ClientState::WaitFinished,
        }
    }

    pub fn handle(
        self,
        core: &mut Core,
        raw: &RawHandshake,
        now: OffsetDateTime,
        out: &mut Vec<u8>,
    ) -> Result<Next, Error> {
        if let Handshake::Start(_) = self {
            return Err(Error::Usage("connection is not running"));
        }
        let Received { msg, before } = core.receive_handshake(raw)?;
        let from = self.name();
        // The message is already in the transcript; `before` is the transcript without it.
        let next = match (self, msg) {
            (Handshake::WaitSh(s), HandshakeMessage::HelloRetryRequest(hrr)) => {
                s.hello_retry(core, &hrr, out)?
            }
            (Handshake::WaitSh(s), HandshakeMessage::ServerHello(sh)) => {
                s.server_hello(core, &sh)?
            }
            (Handshake::WaitEe(p), HandshakeMessage::EncryptedExtensions(ee)) => {
                p.encrypted_extensions(&ee)?
            }
            (Handshake::WaitCertCr(p), HandshakeMessage::CertificateRequest(cr)) => {
                p.certificate_request(&cr)?
            }
            (
                Handshake::WaitCertCr(p) | Handshake::WaitCert(p),
                HandshakeMessage::Certificate(cert),
            ) => p.server_certificate(cert, now)?,
            (Handshake::WaitCv(s), HandshakeMessage::CertificateVerify(cv)) => {
                s.certificate_verify(&cv, &before)?
            }
            (Handshake::WaitFinished(s), HandshakeMessage::Finished(fin)) => {
                let established = s.finished(core, &fin, &before, out)?;
                core.transition(from, ClientState::Connected);
                return Ok(Next::Connected(established));
            }
            (state, msg) => return Err(unexpected(state.expects(), &msg)),
        };
        core.transition(from, next.name());
        Ok(Next::Handshaking(next))
    }

    fn expects(&self) -> &'static str {
        match self {
            Handshake::Start(_) => "nothing before the ClientHello",
            Handshake::WaitSh(_) => "ServerHello or HelloRetryRequest",
            Handshake::WaitEe(_) => "EncryptedExtensions",
            Handshake::WaitCertCr(_) => "CertificateRequest or Certificate",
            Handshake::WaitCert(_) => "Certificate",
            Handshake::WaitCv(_) => "CertificateVerify",
            Handshake::WaitFinished(_) => "Finished",
        }
    }
}

impl ServerParams {
    /// WAIT_EE --EncryptedExtensions--> WAIT_CERT_CR, or WAIT_FINISHED with a PSK (§2.2:
    /// the key itself authenticates; no certificates follow).
    fn encrypted_extensions(mut self, ee: &EncryptedExtensions) -> Result<Handshake, Error> {
        let sent_sni = self.common.server_name.parse::<IpAddr>().is_err();
        self.alpn = check_encrypted_extensions(
            &ee.extensions,
            sent_sni,
            &self.common.config.alpn_protocols,
        )?;
        Ok(if self.psk.is_some() {
            Handshake::WaitFinished(WaitFinished {
                params: self,
                server_chain: Vec::new(),
                server_signature: None,
            })
        } else {
            Handshake::WaitCertCr(self)
        })
    }

    /// WAIT_CERT_CR --CertificateRequest--> WAIT_CERT (§4.3.2).
    fn certificate_request(mut self, cr: &CertificateRequest) -> Result<Handshake, Error> {
        // §4.3.2: signature_algorithms MUST be present.
        let schemes = cr.extensions.signature_algorithms().ok_or(missing(
            "CertificateRequest",
            ExtensionType::SignatureAlgorithms,
        ))?;
        // §4.3.2: the context is empty for a request made during the handshake.
        if !cr.certificate_request_context.is_empty() {
            return Err(Error::InvalidMessage {
                message: "CertificateRequest",
                reason: Invalid::RequestContextNotEmpty,
            });
        }
        self.request = Some(Box::new(CertRequest {
            context: cr.certificate_request_context.clone(),
            schemes: schemes.to_vec(),
        }));
        Ok(Handshake::WaitCert(self))
    }

    /// WAIT_CERT_CR / WAIT_CERT --Certificate--> WAIT_CV: the server's chain (§4.4.2).
    fn server_certificate(
        self,
        cert: Certificate,
        now: OffsetDateTime,
    ) -> Result<Handshake, Error> {
        if !cert.certificate_request_context.is_empty() {
            return Err(Error::InvalidMessage {
                message: "Certificate",
                reason: Invalid::ServerCertificateContext,
            });
        }
        if cert.entries.is_empty() {
            return Err(Error::Certificate(CertificateError::Missing));
        }
        let name = Some(self.common.server_name.as_str()).filter(|s| !s.is_empty());
        let trust = &self.common.config.trust_anchors;
        let chain = validate_certificate(cert, trust, now, Purpose::Server, name)?;
        Ok(Handshake::WaitCv(WaitCv {
            params: self,
            server: chain,
        }))
    }
}

impl WaitCv {
    /// WAIT_CV --CertificateVerify--> WAIT_FINISHED (§4.4.3), over the transcript through
    /// the server's Certificate.
    fn certificate_verify(
        self,
        cv: &CertificateVerify,
        before: &Transcript,
    ) -> Result<Handshake, Error> {
        self.server.verify(cv, Side::Server, before)?;
        Ok(Handshake::WaitFinished(WaitFinished {
            params: self.params,
            server_chain: self.server.subjects,
            server_signature: Some(cv.algorithm),
        }))
    }
}

impl WaitFinished {
    /// WAIT_FINISHED --Finished / send [Certificate [+ CertificateVerify]] Finished-->
    /// CONNECTED (§4.4.4).
    fn finished(
        self,
        core: &mut Core,
        fin: &Finished,
        before: &Transcript,
        out: &mut Vec<u8>,
    ) -> Result<Established, Error> {
        // §5.1: the receiving keys change after this message; check before our flight is
        // written, not after.
        core.check_key_change()?;
        let of = FinishedOf {
            from_client: false,
            base_key: &self.params.secrets.server,
        };
        check_peer_finished(core, of, &before.current_hash(), &fin.verify_data)?;
        // §7.1: the application secrets hash the transcript through the server's Finished;
        // they are derived now (and traced after the server's Finished) and used once our
        // Finished is out.
        let server_finished_hash = core.transcript_hash();
        let messages = core.transcript_messages();
        let WaitFinished {
            params,
            server_chain,
            server_signature,
        } = self;
        let ServerParams {
            common,
            secrets,
            request,
            psk,
            alpn,
        } = params;
        let HandshakeSecrets {
            secret,
            client: client_hs,
            ..
        } = secrets;
        let app = derive_app_secrets(core, secret, &server_finished_hash, &messages);
        let client = send_second_flight(core, &common, request.as_deref(), psk, &client_hs, out)?;
        core.set_app_write_secret(app.client, out)?;
        core.set_app_read_secret(app.server)?;
        let client_identity = match psk {
            Some((i, _)) => common.offers[i].client_identity.clone(),
            None => client.chain.first().cloned(),
        };
        let resumption = resume_later(core, &common, &app.master, &client_identity);
        let summary = summary(
            common,
            (psk, alpn),
            (server_chain, server_signature),
            client,
            client_identity,
            core.transcript_hash(),
        );
        Ok(Established {
            summary,
            exporter: app.exporter,
            resumption,
        })
    }
}

/// The client's second flight: Certificate (and CertificateVerify when it has a usable key)
/// if the server asked, then Finished (§4.4) under client_handshake_traffic_secret
/// (`client_hs`).
fn send_second_flight(
    core: &mut Core,
    common: &Common,
    request: Option<&CertRequest>,
    psk: Option<(usize, bool)>,
    client_hs: &Secret,
    out: &mut Vec<u8>,
) -> Result<ClientAuthOutcome, Error> {
    // RFC 8446 Appendix D.4: "immediately before its second flight", unless it went
    // before a second ClientHello.
    if common.config.middlebox_compat {
        core.send_change_cipher_spec(out)?;
    }
    let outcome = match request {
        Some(request) => answer_request(core, common.config.identity.as_deref(), request, out)?,
        None => ClientAuthOutcome::unasked(common, psk),
    };
    let of = FinishedOf {
        from_client: true,
        base_key: client_hs,
    };
    let verify = our_verify_data(core, of);
    core.send_handshake(
        &HandshakeMessage::Finished(Finished {
            verify_data: verify.to_vec(),
        }),
        out,
    )?;
    Ok(outcome)
}

/// Certificate, and CertificateVerify with a key that fits one of the requested schemes;
/// an empty Certificate otherwise (RFC 8446 §4.4.2).
fn answer_request(
    core: &mut Core,
    identity: Option<&Identity>,
    request: &CertRequest,
    out: &mut Vec<u8>,
) -> Result<ClientAuthOutcome, Error> {
    let usable = identity.and_then(|id| {
        auth::choose_scheme(id.public_key(), &request.schemes).map(|scheme| (id, scheme))
    });
    if send_certificate(core, usable, Side::Client, &request.context, out)?.is_some() {
        // The client's flight continues straight to Finished; a remote key signs only a
        // server's CertificateVerify so far.
        return Err(Error::Internal(InternalError::RemoteSigner(
            "a client certificate's key must be local".into(),
        )));
    }
    let reason = match (usable, identity) {
        (Some((id, scheme)), _) => {
            return Ok(ClientAuthOutcome {
                signature: Some(scheme),
                chain: id.chain().iter().map(|c| c.subject().to_string()).collect(),
                names: id
                    .leaf()
                    .subject_alt_names()
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                reason: format!(
                    "server requested a certificate; client presented {}",
                    id.leaf().subject()
                ),
            });
        }
        (None, Some(_)) => {
            "server requested a certificate; the client's key fits none of the offered schemes, so it sent none"
        }
        (None, None) => "server requested a certificate; client has none and stays anonymous",
    };
    Ok(ClientAuthOutcome::anonymous(reason.into()))
}

impl ClientAuthOutcome {
    fn anonymous(reason: String) -> Self {
        Self {
            signature: None,
            chain: Vec::new(),
            names: Vec::new(),
            reason,
        }
    }

    /// No certificate was asked for: a PSK authenticated the client, or nothing did.
    fn unasked(common: &Common, psk: Option<(usize, bool)>) -> Self {
        let reason = if let Some((i, dhe)) = psk {
            let mode = if dhe { "psk_dhe_ke" } else { "psk_ke" };
            format!("server accepted {} ({mode})", common.offers[i].describe)
        } else if !common.offers.is_empty() {
            "server did not accept the offered PSK; full handshake, no client certificate requested"
                .into()
        } else {
            "server did not request a client certificate".into()
        };
        Self::anonymous(reason)
    }
}

/// With a session cache, what turns the server's NewSessionTickets into sessions (§4.6.1).
fn resume_later(
    core: &mut Core,
    common: &Common,
    master: &MasterSecret,
    client_identity: &Option<String>,
) -> Option<ClientResumption> {
    let cache = common.config.session_cache.as_ref()?;
    Some(ClientResumption {
        secret: resumption_secret(core, master),
        cache: cache.clone(),
        server_name: common.server_name.clone(),
        client_identity: client_identity.clone(),
    })
}

/// The client's summary of a finished handshake; `server` is the server's chain and the
/// scheme of its CertificateVerify.
fn summary(
    common: Common,
    (psk, alpn): (Option<(usize, bool)>, Option<Vec<u8>>),
    server: (Vec<String>, Option<SignatureScheme>),
    client: ClientAuthOutcome,
    client_identity: Option<String>,
    transcript_hash: [u8; HASH_LEN],
) -> Summary {
    let path = match psk {
        Some((i, dhe)) => Path::from_psk(common.offers[i].kind, dhe),
        None if client.signature.is_some() => Path::Certificate,
        None => Path::EphemeralDh,
    };
    Summary {
        side: Side::Client,
        path,
        reason: client.reason,
        cipher_suite: common.suite.map_or(
            CipherSuite::TlsChacha20Poly1305Sha256,
            SupportedSuite::suite,
        ),
        group: common.group.map(SupportedGroup::group),
        server_signature: server.1,
        client_signature: client.signature,
        hello_retry: common.hello_retry,
        server_chain: server.0,
        client_chain: client.chain,
        client_names: client.names,
        client_identity,
        server_name: Some(common.server_name).filter(|s| s.parse::<IpAddr>().is_err()),
        alpn,
        transcript_hash,
    }
}
