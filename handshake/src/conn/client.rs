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

use std::net::IpAddr;
use std::sync::Arc;

use pki::Purpose;
use time::OffsetDateTime;
use x25519_dalek::{PublicKey as X25519Public, StaticSecret};

use crate::auth::{self, Side};
use crate::config::ClientConfig;
use crate::conn::client_checks::{
    check_encrypted_extensions, check_server_hello_common, client_hello,
};
use crate::conn::core::{Core, Received, unexpected};
use crate::conn::psk::{self, Offer};
use crate::conn::{
    ClientResumption, Established, derive_app_secrets, handshake_secrets, key_exchange,
};
use crate::error::{CertificateError, Error, Verification};
use crate::key_schedule::{
    HandshakeSecret, PskKind, Secret, Transcript, check_verify_data, verify_data,
};
use crate::msgs::HandshakeMessage;
use crate::msgs::certificate::{Certificate, CertificateEntry, CertificateVerify};
use crate::msgs::client_hello::ClientHello;
use crate::msgs::enums::{CipherSuite, ExtensionType, NamedGroup, SignatureScheme};
use crate::msgs::extensions::{Extension, Extensions};
use crate::msgs::finished::Finished;
use crate::msgs::server_hello::ServerHello;
use crate::record::RawHandshake;
use crate::states::ClientState;
use crate::summary::{Path, Summary};

/// What every client state carries.
pub(crate) struct Common {
    pub(super) config: Arc<ClientConfig>,
    /// The name the server's certificate must match (DNS name or IP address).
    pub(super) server_name: String,
    hello_retry: bool,
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
    WaitEe(Negotiated),
    WaitCertCr(Negotiated),
    WaitCert(Negotiated),
    WaitCv(WaitCv),
    WaitFinished(WaitFinished),
}

/// START: what the ClientHello is made from.
pub(crate) struct Start {
    config: Arc<ClientConfig>,
    server_name: String,
}

pub(crate) struct WaitSh {
    common: Common,
    key: StaticSecret,
    hello: ClientHello,
}

pub(crate) struct Negotiated {
    common: Common,
    handshake_secret: HandshakeSecret,
    client_hs: Secret,
    server_hs: Secret,
    request: Option<CertRequest>,
    /// The offer the server selected and whether (EC)DHE was used with it.
    psk: Option<(usize, bool)>,
}

struct CertRequest {
    context: Vec<u8>,
    schemes: Vec<SignatureScheme>,
}

pub(crate) struct WaitCv {
    n: Negotiated,
    server_leaf: Box<pki::Certificate>,
    server_chain: Vec<String>,
}

pub(crate) struct WaitFinished {
    n: Negotiated,
    server_chain: Vec<String>,
    server_signature: Option<SignatureScheme>,
}

/// What handling one message leads to.
pub(crate) enum Next {
    Handshaking(Handshake),
    Connected(Established),
}

impl Handshake {
    /// A client before its ClientHello.
    pub fn new(config: Arc<ClientConfig>, server_name: &str) -> Self {
        Handshake::Start(Start {
            config,
            server_name: server_name.to_owned(),
        })
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
            (Handshake::WaitEe(n), HandshakeMessage::EncryptedExtensions(ee)) => {
                let sent_sni = n.common.server_name.parse::<IpAddr>().is_err();
                check_encrypted_extensions(&ee.extensions, sent_sni)?;
                if n.psk.is_some() {
                    // RFC 8446 §2.2: the key itself authenticates; no certificates follow.
                    Handshake::WaitFinished(WaitFinished {
                        n,
                        server_chain: Vec::new(),
                        server_signature: None,
                    })
                } else {
                    Handshake::WaitCertCr(n)
                }
            }
            (Handshake::WaitCertCr(mut n), HandshakeMessage::CertificateRequest(cr)) => {
                // RFC 8446 §4.3.2: signature_algorithms MUST be present.
                let schemes =
                    cr.extensions
                        .signature_algorithms()
                        .ok_or(Error::MissingExtension {
                            message: "CertificateRequest",
                            extension: ExtensionType::SignatureAlgorithms,
                        })?;
                // §4.3.2: the context is empty for a request made during the handshake.
                if !cr.certificate_request_context.is_empty() {
                    return Err(Error::InvalidMessage {
                        message: "CertificateRequest",
                        reason: "certificate_request_context must be empty during the handshake"
                            .into(),
                    });
                }
                n.request = Some(CertRequest {
                    context: cr.certificate_request_context.clone(),
                    schemes: schemes.to_vec(),
                });
                Handshake::WaitCert(n)
            }
            (
                Handshake::WaitCertCr(n) | Handshake::WaitCert(n),
                HandshakeMessage::Certificate(cert),
            ) => server_certificate(n, &cert, now)?,
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

impl Start {
    /// START --send ClientHello--> WAIT_SH.
    pub fn client_hello(
        self,
        core: &mut Core,
        now: OffsetDateTime,
        out: &mut Vec<u8>,
    ) -> Result<Handshake, Error> {
        let key = StaticSecret::from(core.random::<32>());
        let offers = psk::client_offers(&self.config, &self.server_name, psk::unix_ms(now));
        let common = Common {
            config: self.config,
            server_name: self.server_name,
            hello_retry: false,
            offers,
        };
        let random = core.random::<32>();
        core.set_client_random(random);
        let share = if common.config.empty_key_share_for_testing_only {
            None
        } else {
            Some(X25519Public::from(&key).to_bytes().to_vec())
        };
        let mut hello = client_hello(core.client_random(), &common, share);
        psk::attach_binders(core, &mut hello, &common.offers)?;
        core.send_handshake(&HandshakeMessage::ClientHello(hello.clone()), out)?;
        core.transition(ClientState::Start, ClientState::WaitSh);
        Ok(Handshake::WaitSh(WaitSh { common, key, hello }))
    }
}

impl WaitSh {
    /// WAIT_SH --HelloRetryRequest--> WAIT_SH: answer with a second ClientHello (§4.1.4).
    fn hello_retry(
        mut self,
        core: &mut Core,
        hrr: &ServerHello,
        out: &mut Vec<u8>,
    ) -> Result<Handshake, Error> {
        if self.common.hello_retry {
            return Err(Error::UnexpectedMessage {
                expected: "ServerHello",
                got: "a second HelloRetryRequest".into(),
            });
        }
        check_server_hello_common(hrr, &self.hello)?;
        let invalid = |reason: &str| Error::InvalidMessage {
            message: "HelloRetryRequest",
            reason: reason.into(),
        };
        let group = hrr.extensions.hello_retry_group();
        match group {
            Some(NamedGroup::X25519) => {}
            Some(other) => {
                return Err(invalid(&format!(
                    "asks for group {other}, which was not offered"
                )));
            }
            None if hrr.extensions.cookie().is_none() => {
                // §4.1.4: an HRR that would not change the ClientHello is illegal.
                return Err(invalid(
                    "changes nothing (no key_share group and no cookie)",
                ));
            }
            None => {}
        }
        let offered_x25519 = self
            .hello
            .extensions
            .client_key_shares()
            .is_some_and(|s| !s.is_empty());
        if group == Some(NamedGroup::X25519) && offered_x25519 {
            // §4.2.8: the group must not be one the client already sent a share for.
            return Err(invalid(
                "asks for x25519, for which the ClientHello already had a share",
            ));
        }
        self.common.hello_retry = true;
        let mut hello = client_hello(
            core.client_random(),
            &self.common,
            Some(X25519Public::from(&self.key).to_bytes().to_vec()),
        );
        if let Some(cookie) = hrr.extensions.cookie() {
            hello.extensions.0.push(Extension::Cookie(cookie.to_vec()));
        }
        // §4.1.2: the binders are computed again, over the new transcript.
        psk::attach_binders(core, &mut hello, &self.common.offers)?;
        core.send_handshake(&HandshakeMessage::ClientHello(hello.clone()), out)?;
        self.hello = hello;
        Ok(Handshake::WaitSh(self))
    }

    /// WAIT_SH --ServerHello--> WAIT_EE: key agreement and handshake keys (§4.1.3, §7.1).
    fn server_hello(self, core: &mut Core, sh: &ServerHello) -> Result<Handshake, Error> {
        check_server_hello_common(sh, &self.hello)?;
        let invalid = |reason: String| Error::InvalidMessage {
            message: "ServerHello",
            reason,
        };
        // §4.2.11: the selected identity must be one we offered.
        let selected = match sh.extensions.selected_psk() {
            Some(i) if usize::from(i) < self.common.offers.len() => Some(usize::from(i)),
            Some(i) => {
                return Err(invalid(format!(
                    "selects PSK identity {i}, but {} were offered",
                    self.common.offers.len()
                )));
            }
            None => None,
        };
        let shared = match sh.extensions.server_key_share() {
            Some(share) if share.group != NamedGroup::X25519 => {
                return Err(invalid(format!(
                    "key_share group {} was not offered",
                    share.group
                )));
            }
            Some(share) => Some(key_exchange(&self.key, &share.key_exchange, "ServerHello")?),
            // §4.2.9: without a key_share the server chose psk_ke, which must have been
            // offered.
            None if selected.is_some() && self.common.config.allow_psk_ke => None,
            None => {
                return Err(Error::MissingExtension {
                    message: "ServerHello",
                    extension: ExtensionType::KeyShare,
                });
            }
        };
        // The transcript holds ClientHello..ServerHello (§7.1).
        let hash = core.transcript_hash();
        let psk_secret = selected.map(|i| &self.common.offers[i].secret[..]);
        let (handshake_secret, client_hs, server_hs) =
            handshake_secrets(core, psk_secret, shared.as_ref().map(|s| &s[..]), &hash);
        core.set_read_secret(&server_hs)?;
        core.set_write_secret(&client_hs);
        Ok(Handshake::WaitEe(Negotiated {
            common: self.common,
            handshake_secret,
            client_hs,
            server_hs,
            request: None,
            psk: selected.map(|i| (i, shared.is_some())),
        }))
    }
}

/// WAIT_CERT_CR / WAIT_CERT --Certificate--> WAIT_CV: the server's chain (§4.4.2).
fn server_certificate(
    n: Negotiated,
    cert: &Certificate,
    now: OffsetDateTime,
) -> Result<Handshake, Error> {
    if !cert.certificate_request_context.is_empty() {
        return Err(Error::InvalidMessage {
            message: "Certificate",
            reason: "the server's certificate_request_context must be empty".into(),
        });
    }
    if cert.entries.is_empty() {
        return Err(Error::Certificate(CertificateError::Missing));
    }
    let ders: Vec<Vec<u8>> = cert.entries.iter().map(|e| e.cert_data.clone()).collect();
    let name = Some(n.common.server_name.as_str()).filter(|s| !s.is_empty());
    let path = auth::validate_peer_chain(
        &ders,
        &n.common.config.trust_anchors,
        now,
        Purpose::Server,
        name,
    )?;
    let server_chain = path.chain.iter().map(|c| c.subject().to_string()).collect();
    let server_leaf = path
        .chain
        .into_iter()
        .next()
        .ok_or(Error::Certificate(CertificateError::Missing))?;
    Ok(Handshake::WaitCv(WaitCv {
        n,
        server_leaf: Box::new(server_leaf),
        server_chain,
    }))
}

impl WaitCv {
    /// WAIT_CV --CertificateVerify--> WAIT_FINISHED (§4.4.3).
    fn certificate_verify(
        self,
        cv: &CertificateVerify,
        before: &Transcript,
    ) -> Result<Handshake, Error> {
        let hash = before.current_hash();
        auth::verify_certificate_verify(
            &self.server_leaf,
            cv.algorithm,
            &cv.signature,
            Side::Server,
            &hash,
        )?;
        Ok(Handshake::WaitFinished(WaitFinished {
            n: self.n,
            server_chain: self.server_chain,
            server_signature: Some(cv.algorithm),
        }))
    }
}

impl WaitFinished {
    /// WAIT_FINISHED --Finished--> CONNECTED, sending the client's second flight (§4.4.4).
    fn finished(
        self,
        core: &mut Core,
        fin: &Finished,
        before: &Transcript,
        out: &mut Vec<u8>,
    ) -> Result<Established, Error> {
        let n = self.n;
        // §5.1: the receiving keys change after this message; check before our flight is
        // written, not after.
        core.check_key_change()?;
        check_verify_data(
            &n.server_hs,
            &before.current_hash(),
            &fin.verify_data,
            Verification::Finished,
        )?;
        let server_finished_hash = core.transcript_hash();

        // The client's flight: Certificate (+ CertificateVerify) if asked, then Finished.
        let mut client_signature = None;
        let mut client_chain = Vec::new();
        let mut client_names = Vec::new();
        let reason;
        if let Some(request) = &n.request {
            let identity = n.common.config.identity.clone();
            let usable = identity.as_ref().and_then(|id| {
                auth::choose_scheme(id.key().public_key(), &request.schemes)
                    .map(|scheme| (id, scheme))
            });
            let entries = usable.map_or_else(Vec::new, |(id, _)| {
                id.chain()
                    .iter()
                    .map(|c| CertificateEntry {
                        cert_data: c.der().to_vec(),
                        extensions: Extensions::default(),
                    })
                    .collect()
            });
            let cert = Certificate {
                certificate_request_context: request.context.clone(),
                entries,
            };
            core.send_handshake(&HandshakeMessage::Certificate(cert), out)?;
            match usable {
                Some((id, scheme)) => {
                    let hash = core.transcript_hash();
                    let signature = auth::sign_certificate_verify(
                        id.key(),
                        scheme,
                        Side::Client,
                        &hash,
                        core.rng(),
                    )?;
                    core.send_handshake(
                        &HandshakeMessage::CertificateVerify(CertificateVerify {
                            algorithm: scheme,
                            signature,
                        }),
                        out,
                    )?;
                    client_signature = Some(scheme);
                    client_chain = id.chain().iter().map(|c| c.subject().to_string()).collect();
                    client_names = id
                        .leaf()
                        .subject_alt_names()
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    reason = format!(
                        "server requested a certificate; client presented {}",
                        id.leaf().subject()
                    );
                }
                None if identity.is_some() => {
                    reason = "server requested a certificate; the client's key fits none of the offered schemes, so it sent none".into();
                }
                None => {
                    reason =
                        "server requested a certificate; client has none and stays anonymous".into()
                }
            }
        } else if let Some((i, dhe)) = n.psk {
            let offer = &n.common.offers[i];
            reason = format!(
                "server accepted {} ({})",
                offer.describe,
                if dhe { "psk_dhe_ke" } else { "psk_ke" }
            );
        } else if !n.common.offers.is_empty() {
            reason = "server did not accept the offered PSK; full handshake, no client certificate requested".into();
        } else {
            reason = "server did not request a client certificate".into();
        }
        let verify = verify_data(&n.client_hs, &core.transcript_hash());
        core.send_handshake(
            &HandshakeMessage::Finished(Finished {
                verify_data: verify.to_vec(),
            }),
            out,
        )?;

        let app = derive_app_secrets(core, n.handshake_secret, &server_finished_hash);
        core.set_app_write_secret(app.client);
        core.set_app_read_secret(app.server)?;
        let path = match n.psk {
            Some((i, dhe)) => match (n.common.offers[i].kind, dhe) {
                (PskKind::External, false) => Path::Psk,
                (PskKind::External, true) => Path::PskDhe,
                (PskKind::Resumption, false) => Path::Resumption,
                (PskKind::Resumption, true) => Path::ResumptionDhe,
            },
            None if client_signature.is_some() => Path::Certificate,
            None => Path::EphemeralDh,
        };
        let client_identity = match n.psk {
            Some((i, _)) => n.common.offers[i].client_identity.clone(),
            None => client_chain.first().cloned(),
        };
        let resumption = match &n.common.config.session_cache {
            Some(cache) => {
                let secret = app.master.resumption_master_secret(&core.transcript_hash());
                core.secret(
                    "resumption_master_secret",
                    "Derive-Secret(master_secret, \"res master\", CH..client Finished)",
                    None,
                    secret.secret().as_bytes(),
                );
                Some(ClientResumption {
                    secret,
                    cache: cache.clone(),
                    server_name: n.common.server_name.clone(),
                    client_identity: client_identity.clone(),
                })
            }
            None => None,
        };
        let summary = Summary {
            side: Side::Client,
            path,
            reason,
            cipher_suite: CipherSuite::TlsChacha20Poly1305Sha256,
            group: n
                .psk
                .is_none_or(|(_, dhe)| dhe)
                .then_some(NamedGroup::X25519),
            server_signature: self.server_signature,
            client_signature,
            hello_retry: n.common.hello_retry,
            server_chain: self.server_chain,
            client_chain,
            client_names,
            client_identity,
            server_name: Some(n.common.server_name).filter(|s| s.parse::<IpAddr>().is_err()),
            transcript_hash: core.transcript_hash(),
        };
        Ok(Established {
            summary,
            exporter: app.exporter,
            resumption,
        })
    }
}
