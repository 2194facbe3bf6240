//! The client's handshake, RFC 8446 Appendix A.1:
//!
//! ```text
//! START --send ClientHello--> WAIT_SH --ServerHello--> WAIT_EE --EncryptedExtensions--> WAIT_CERT_CR
//!          ^                     |                                                   |         |
//!          +-HelloRetryRequest---+                               CertificateRequest  |         | Certificate
//!                                                                                    v         v
//! CONNECTED <--Finished / send [Certificate [CertificateVerify]] Finished-- WAIT_FINISHED <-- WAIT_CV
//! ```

use std::net::IpAddr;
use std::sync::Arc;

use pki::Purpose;
use time::OffsetDateTime;
use x25519_dalek::{PublicKey as X25519Public, StaticSecret};

use crate::auth::{self, CERTIFICATE_SCHEMES, HANDSHAKE_SCHEMES, Side};
use crate::config::ClientConfig;
use crate::conn::core::{Core, decode, unexpected};
use crate::conn::{Established, derive_app_secrets, handshake_secrets, key_exchange};
use crate::error::{CertificateError, Error, Verification};
use crate::key_schedule::{HandshakeSecret, Secret, check_verify_data, verify_data};
use crate::msgs::HandshakeMessage;
use crate::msgs::certificate::{Certificate, CertificateEntry, CertificateVerify};
use crate::msgs::client_hello::ClientHello;
use crate::msgs::enums::{
    CipherSuite, ExtensionType, NamedGroup, ProtocolVersion, SignatureScheme,
};
use crate::msgs::extensions::{Extension, Extensions, KeyShareEntry, ServerName};
use crate::msgs::finished::Finished;
use crate::msgs::server_hello::ServerHello;
use crate::record::RawHandshake;
use crate::states::StateName;
use crate::summary::{Path, Summary};

/// What every client state carries.
pub(crate) struct Common {
    config: Arc<ClientConfig>,
    /// The name the server's certificate must match (DNS name or IP address).
    server_name: String,
    hello_retry: bool,
}

/// The client's handshake states; each transition consumes the old one.
#[allow(
    clippy::enum_variant_names,
    reason = "the names mirror RFC 8446 Appendix A"
)]
pub(crate) enum ClientState {
    WaitSh(WaitSh),
    WaitEe(Negotiated),
    WaitCertCr(Negotiated),
    WaitCert(Negotiated),
    WaitCv(WaitCv),
    WaitFinished(WaitFinished),
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
    server_signature: SignatureScheme,
}

/// What handling one message leads to.
pub(crate) enum Next {
    Handshaking(ClientState),
    Connected(Established),
}

impl ClientState {
    /// The RFC 8446 Appendix A name.
    pub fn name(&self) -> StateName {
        match self {
            ClientState::WaitSh(_) => "WAIT_SH",
            ClientState::WaitEe(_) => "WAIT_EE",
            ClientState::WaitCertCr(_) => "WAIT_CERT_CR",
            ClientState::WaitCert(_) => "WAIT_CERT",
            ClientState::WaitCv(_) => "WAIT_CV",
            ClientState::WaitFinished(_) => "WAIT_FINISHED",
        }
    }

    pub fn handle(
        self,
        core: &mut Core,
        raw: &RawHandshake,
        now: OffsetDateTime,
        out: &mut Vec<u8>,
    ) -> Result<Next, Error> {
        let msg = decode(core, raw)?;
        let from = self.name();
        // Each arm validates against the transcript *before* this message; the message is
        // added afterwards (ServerHello, HelloRetryRequest and Finished do it themselves,
        // because what they derive needs the message included).
        let next = match (self, msg) {
            (ClientState::WaitSh(s), HandshakeMessage::HelloRetryRequest(hrr)) => {
                s.hello_retry(core, raw, &hrr, out)?
            }
            (ClientState::WaitSh(s), HandshakeMessage::ServerHello(sh)) => {
                s.server_hello(core, raw, &sh)?
            }
            (ClientState::WaitEe(n), HandshakeMessage::EncryptedExtensions(ee)) => {
                let sent_sni = n.common.server_name.parse::<IpAddr>().is_err();
                check_encrypted_extensions(&ee.extensions, sent_sni)?;
                core.transcript.add(&raw.bytes);
                ClientState::WaitCertCr(n)
            }
            (ClientState::WaitCertCr(mut n), HandshakeMessage::CertificateRequest(cr)) => {
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
                core.transcript.add(&raw.bytes);
                ClientState::WaitCert(n)
            }
            (
                ClientState::WaitCertCr(n) | ClientState::WaitCert(n),
                HandshakeMessage::Certificate(cert),
            ) => {
                let next = server_certificate(n, &cert, now)?;
                core.transcript.add(&raw.bytes);
                next
            }
            (ClientState::WaitCv(s), HandshakeMessage::CertificateVerify(cv)) => {
                let next = s.certificate_verify(core, &cv)?;
                core.transcript.add(&raw.bytes);
                next
            }
            (ClientState::WaitFinished(s), HandshakeMessage::Finished(fin)) => {
                let established = s.finished(core, raw, &fin, out)?;
                core.transition(from, "CONNECTED");
                return Ok(Next::Connected(established));
            }
            (state, msg) => return Err(unexpected(state.expects(), &msg)),
        };
        core.transition(from, next.name());
        Ok(Next::Handshaking(next))
    }

    fn expects(&self) -> &'static str {
        match self {
            ClientState::WaitSh(_) => "ServerHello or HelloRetryRequest",
            ClientState::WaitEe(_) => "EncryptedExtensions",
            ClientState::WaitCertCr(_) => "CertificateRequest or Certificate",
            ClientState::WaitCert(_) => "Certificate",
            ClientState::WaitCv(_) => "CertificateVerify",
            ClientState::WaitFinished(_) => "Finished",
        }
    }
}

/// START: builds and sends the first ClientHello.
pub(crate) fn start(
    core: &mut Core,
    config: Arc<ClientConfig>,
    server_name: &str,
    out: &mut Vec<u8>,
) -> Result<ClientState, Error> {
    let key = StaticSecret::from(core.random::<32>());
    let common = Common {
        config,
        server_name: server_name.to_owned(),
        hello_retry: false,
    };
    core.client_random = core.random::<32>();
    let share = if common.config.empty_key_share_for_testing_only {
        None
    } else {
        Some(X25519Public::from(&key).to_bytes().to_vec())
    };
    let hello = client_hello(core.client_random, &common, share);
    core.send_handshake(&HandshakeMessage::ClientHello(hello.clone()), out)?;
    core.transition("START", "WAIT_SH");
    Ok(ClientState::WaitSh(WaitSh { common, key, hello }))
}

fn client_hello(random: [u8; 32], common: &Common, share: Option<Vec<u8>>) -> ClientHello {
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
        legacy_session_id: Vec::new(),
        cipher_suites: vec![CipherSuite::TlsChacha20Poly1305Sha256],
        legacy_compression_methods: vec![0],
        extensions: Extensions(ext),
    }
}

/// Checks what every ServerHello and HelloRetryRequest must say (RFC 8446 §4.1.3, §4.1.4).
fn check_server_hello_common(sh: &ServerHello, hello: &ClientHello) -> Result<(), Error> {
    let invalid = |reason: String| Error::InvalidMessage {
        message: sh.name(),
        reason,
    };
    match sh.extensions.selected_version() {
        Some(ProtocolVersion::Tls13) => {}
        // §4.2.1: a server selecting another version with supported_versions is an error.
        Some(other) => {
            return Err(invalid(format!(
                "supported_versions selects {other}, which was not offered"
            )));
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
        return Err(invalid(format!(
            "legacy_version is {}, not 0x0303",
            sh.legacy_version
        )));
    }
    if sh.legacy_session_id_echo != hello.legacy_session_id {
        return Err(invalid(
            "legacy_session_id_echo differs from the ClientHello's legacy_session_id".into(),
        ));
    }
    if sh.cipher_suite != CipherSuite::TlsChacha20Poly1305Sha256 {
        return Err(invalid(format!(
            "cipher suite {} was not offered",
            sh.cipher_suite
        )));
    }
    if sh.legacy_compression_method != 0 {
        return Err(invalid(format!(
            "legacy_compression_method is {}, not 0",
            sh.legacy_compression_method
        )));
    }
    for typ in sh.extensions.types() {
        let allowed = [
            ExtensionType::SupportedVersions,
            ExtensionType::KeyShare,
            ExtensionType::Cookie,
        ];
        if !allowed.contains(&typ) {
            return Err(Error::UnsupportedExtension {
                message: sh.name(),
                extension: typ,
            });
        }
    }
    Ok(())
}

impl WaitSh {
    /// WAIT_SH --HelloRetryRequest--> WAIT_SH: answer with a second ClientHello (§4.1.4).
    fn hello_retry(
        mut self,
        core: &mut Core,
        raw: &RawHandshake,
        hrr: &ServerHello,
        out: &mut Vec<u8>,
    ) -> Result<ClientState, Error> {
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
        // §4.4.1: ClientHello1 is replaced by message_hash before the HRR is added.
        core.transcript.replace_with_message_hash();
        core.transcript.add(&raw.bytes);
        let mut hello = client_hello(
            core.client_random,
            &self.common,
            Some(X25519Public::from(&self.key).to_bytes().to_vec()),
        );
        if let Some(cookie) = hrr.extensions.cookie() {
            hello.extensions.0.push(Extension::Cookie(cookie.to_vec()));
        }
        core.send_handshake(&HandshakeMessage::ClientHello(hello.clone()), out)?;
        self.hello = hello;
        Ok(ClientState::WaitSh(self))
    }

    /// WAIT_SH --ServerHello--> WAIT_EE: key agreement and handshake keys (§4.1.3, §7.1).
    fn server_hello(
        self,
        core: &mut Core,
        raw: &RawHandshake,
        sh: &ServerHello,
    ) -> Result<ClientState, Error> {
        check_server_hello_common(sh, &self.hello)?;
        let share = sh
            .extensions
            .server_key_share()
            .ok_or(Error::MissingExtension {
                message: "ServerHello",
                extension: ExtensionType::KeyShare,
            })?;
        if share.group != NamedGroup::X25519 {
            return Err(Error::InvalidMessage {
                message: "ServerHello",
                reason: format!("key_share group {} was not offered", share.group),
            });
        }
        let shared = key_exchange(&self.key, &share.key_exchange, "ServerHello")?;
        core.transcript.add(&raw.bytes);
        let hash = core.transcript.current_hash();
        let (handshake_secret, client_hs, server_hs) = handshake_secrets(core, &shared[..], &hash);
        core.set_read_secret(&server_hs)?;
        core.set_write_secret(&client_hs);
        Ok(ClientState::WaitEe(Negotiated {
            common: self.common,
            handshake_secret,
            client_hs,
            server_hs,
            request: None,
        }))
    }
}

/// RFC 8446 §4.3.1 / §4.2: only extensions the client offered may come back — the
/// server_name acknowledgement only if SNI was sent.
fn check_encrypted_extensions(ext: &Extensions, sent_sni: bool) -> Result<(), Error> {
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

/// WAIT_CERT_CR / WAIT_CERT --Certificate--> WAIT_CV: the server's chain (§4.4.2).
fn server_certificate(
    n: Negotiated,
    cert: &Certificate,
    now: OffsetDateTime,
) -> Result<ClientState, Error> {
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
    Ok(ClientState::WaitCv(WaitCv {
        n,
        server_leaf: Box::new(server_leaf),
        server_chain,
    }))
}

impl WaitCv {
    /// WAIT_CV --CertificateVerify--> WAIT_FINISHED (§4.4.3).
    fn certificate_verify(
        self,
        core: &mut Core,
        cv: &CertificateVerify,
    ) -> Result<ClientState, Error> {
        let hash = core.transcript.current_hash();
        auth::verify_certificate_verify(
            &self.server_leaf,
            cv.algorithm,
            &cv.signature,
            Side::Server,
            &hash,
        )?;
        Ok(ClientState::WaitFinished(WaitFinished {
            n: self.n,
            server_chain: self.server_chain,
            server_signature: cv.algorithm,
        }))
    }
}

impl WaitFinished {
    /// WAIT_FINISHED --Finished--> CONNECTED, sending the client's second flight (§4.4.4).
    fn finished(
        self,
        core: &mut Core,
        raw: &RawHandshake,
        fin: &Finished,
        out: &mut Vec<u8>,
    ) -> Result<Established, Error> {
        let n = self.n;
        // §5.1: the receiving keys change after this message; check before our flight is
        // written, not after.
        core.check_key_change()?;
        let hash = core.transcript.current_hash();
        check_verify_data(
            &n.server_hs,
            &hash,
            &fin.verify_data,
            Verification::Finished,
        )?;
        core.transcript.add(&raw.bytes);
        let server_finished_hash = core.transcript.current_hash();

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
                    let hash = core.transcript.current_hash();
                    let signature = auth::sign_certificate_verify(
                        id.key(),
                        scheme,
                        Side::Client,
                        &hash,
                        &mut *core.rng,
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
        } else {
            reason = "server did not request a client certificate".into();
        }
        let hash = core.transcript.current_hash();
        let verify = verify_data(&n.client_hs, &hash);
        core.send_handshake(
            &HandshakeMessage::Finished(Finished {
                verify_data: verify.to_vec(),
            }),
            out,
        )?;

        let app = derive_app_secrets(core, n.handshake_secret, &server_finished_hash);
        core.set_write_secret(&app.client);
        core.set_read_secret(&app.server)?;
        core.send_secret = Some(app.client);
        core.recv_secret = Some(app.server);
        let summary = Summary {
            side: Side::Client,
            path: if client_signature.is_some() {
                Path::Certificate
            } else {
                Path::EphemeralDh
            },
            reason,
            cipher_suite: CipherSuite::TlsChacha20Poly1305Sha256,
            group: NamedGroup::X25519,
            server_signature: self.server_signature,
            client_signature,
            hello_retry: n.common.hello_retry,
            server_chain: self.server_chain,
            client_chain,
            client_names,
            server_name: Some(n.common.server_name).filter(|s| s.parse::<IpAddr>().is_err()),
            transcript_hash: core.transcript.current_hash(),
        };
        Ok(Established {
            summary,
            exporter: app.exporter,
        })
    }
}
