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

use std::sync::Arc;

use pki::Purpose;
use time::OffsetDateTime;
use x25519_dalek::{PublicKey as X25519Public, StaticSecret};

use crate::auth::{self, CERTIFICATE_SCHEMES, HANDSHAKE_SCHEMES, Side};
use crate::config::{ClientAuth, ServerConfig};
use crate::conn::core::{Core, decode, unexpected};
use crate::conn::{Established, derive_app_secrets, handshake_secrets, key_exchange};
use crate::error::{CertificateError, Error, Verification};
use crate::key_schedule::{Secret, check_verify_data, verify_data};
use crate::msgs::HandshakeMessage;
use crate::msgs::certificate::{
    Certificate, CertificateEntry, CertificateRequest, CertificateVerify,
};
use crate::msgs::client_hello::ClientHello;
use crate::msgs::encrypted_extensions::EncryptedExtensions;
use crate::msgs::enums::{
    CipherSuite, ExtensionType, NamedGroup, ProtocolVersion, SignatureScheme,
};
use crate::msgs::extensions::{Extension, Extensions, KeyShareEntry};
use crate::msgs::finished::Finished;
use crate::msgs::server_hello::ServerHello;
use crate::record::RawHandshake;
use crate::states::StateName;
use crate::summary::{Path, Summary};

/// The server's handshake states; each transition consumes the old one.
pub(crate) enum ServerState {
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
    server_signature: SignatureScheme,
    client_hs: Secret,
    client_app: Secret,
    exporter: crate::key_schedule::ExporterMasterSecret,
}

pub(crate) struct Flight2 {
    n: Negotiated,
}

pub(crate) struct WaitCv {
    n: Negotiated,
    client_leaf: Box<pki::Certificate>,
    client_chain: Vec<String>,
    anchor: String,
}

pub(crate) struct WaitFinished {
    n: Negotiated,
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
    Handshaking(ServerState),
    Connected(Established),
}

impl ServerState {
    /// A server waiting for its first ClientHello.
    pub fn new(config: Arc<ServerConfig>) -> Self {
        ServerState::Start(Start {
            config,
            first: None,
        })
    }

    /// The RFC 8446 Appendix A name.
    pub fn name(&self) -> StateName {
        match self {
            ServerState::Start(_) => "START",
            ServerState::WaitFlight2(_) => "WAIT_FLIGHT2",
            ServerState::WaitCert(_) => "WAIT_CERT",
            ServerState::WaitCv(_) => "WAIT_CV",
            ServerState::WaitFinished(_) => "WAIT_FINISHED",
        }
    }

    fn expects(&self) -> &'static str {
        match self {
            ServerState::Start(_) => "ClientHello",
            ServerState::WaitFlight2(_) => "Certificate or Finished",
            ServerState::WaitCert(_) => "Certificate",
            ServerState::WaitCv(_) => "CertificateVerify",
            ServerState::WaitFinished(_) => "Finished",
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
        // WAIT_FLIGHT2 is a branch point: which state the message belongs to depends on
        // whether a CertificateRequest went out.
        let state = match self {
            ServerState::WaitFlight2(f) if f.n.config.client_auth != ClientAuth::Off => {
                core.transition("WAIT_FLIGHT2", "WAIT_CERT");
                ServerState::WaitCert(f)
            }
            ServerState::WaitFlight2(f) => {
                core.transition("WAIT_FLIGHT2", "WAIT_FINISHED");
                ServerState::WaitFinished(WaitFinished {
                    n: f.n,
                    client: None,
                })
            }
            other => other,
        };
        let from = state.name();
        let next = match (state, msg) {
            (ServerState::Start(s), HandshakeMessage::ClientHello(ch)) => {
                core.transition("START", "RECVD_CH");
                return s.client_hello(core, raw, &ch, out).map(Next::Handshaking);
            }
            (ServerState::WaitCert(f), HandshakeMessage::Certificate(cert)) => {
                let next = f.client_certificate(&cert, now)?;
                core.transcript.add(&raw.bytes);
                next
            }
            (ServerState::WaitCv(s), HandshakeMessage::CertificateVerify(cv)) => {
                let hash = core.transcript.current_hash();
                auth::verify_certificate_verify(
                    &s.client_leaf,
                    cv.algorithm,
                    &cv.signature,
                    Side::Client,
                    &hash,
                )?;
                core.transcript.add(&raw.bytes);
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
                ServerState::WaitFinished(WaitFinished {
                    n: s.n,
                    client: Some(client),
                })
            }
            (ServerState::WaitFinished(s), HandshakeMessage::Finished(fin)) => {
                let established = s.finished(core, raw, &fin)?;
                core.transition(from, "CONNECTED");
                return Ok(Next::Connected(established));
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
        out: &mut Vec<u8>,
    ) -> Result<ServerState, Error> {
        let key = &self.config.identity;
        let offer = check_client_hello(ch, key.key().public_key())?;
        let Some(client_share) = offer.x25519_share else {
            if self.first.is_some() {
                return Err(Error::InvalidMessage {
                    message: "ClientHello",
                    reason: "the second ClientHello still has no x25519 key_share".into(),
                });
            }
            // §4.1.4: ask for an x25519 share; ClientHello1 becomes message_hash (§4.4.1).
            core.client_random = ch.random;
            core.transcript.add(&raw.bytes);
            core.transcript.replace_with_message_hash();
            let hrr = ServerHello::new_hello_retry_request(
                ch.legacy_session_id.clone(),
                CipherSuite::TlsChacha20Poly1305Sha256,
                Extensions(vec![
                    Extension::SupportedVersionsServerHello(ProtocolVersion::Tls13),
                    Extension::KeyShareHelloRetryRequest(NamedGroup::X25519),
                ]),
            );
            core.send_handshake(&HandshakeMessage::HelloRetryRequest(hrr), out)?;
            core.transition("RECVD_CH", "START");
            return Ok(ServerState::Start(Start {
                config: self.config,
                first: Some(Box::new(ch.clone())),
            }));
        };
        if let Some(first) = &self.first {
            check_second_hello(first, ch)?;
        }
        core.client_random = ch.random;
        core.transcript.add(&raw.bytes);
        core.transition("RECVD_CH", "NEGOTIATED");

        // ServerHello and the handshake keys (§4.1.3, §7.1).
        let server_key = StaticSecret::from(core.random::<32>());
        let shared = key_exchange(&server_key, &client_share, "ClientHello")?;
        let sh = ServerHello {
            legacy_version: ProtocolVersion::Tls12,
            random: core.random::<32>(),
            legacy_session_id_echo: ch.legacy_session_id.clone(),
            cipher_suite: CipherSuite::TlsChacha20Poly1305Sha256,
            legacy_compression_method: 0,
            extensions: Extensions(vec![
                Extension::SupportedVersionsServerHello(ProtocolVersion::Tls13),
                Extension::KeyShareServerHello(KeyShareEntry {
                    group: NamedGroup::X25519,
                    key_exchange: X25519Public::from(&server_key).to_bytes().to_vec(),
                }),
            ]),
        };
        core.send_handshake(&HandshakeMessage::ServerHello(sh), out)?;
        let hash = core.transcript.current_hash();
        let (handshake_secret, client_hs, server_hs) = handshake_secrets(core, &shared[..], &hash);
        core.set_write_secret(&server_hs);
        core.set_read_secret(&client_hs)?;

        // The encrypted part of the flight (§4.3, §4.4).
        core.send_handshake(
            &HandshakeMessage::EncryptedExtensions(EncryptedExtensions::default()),
            out,
        )?;
        if self.config.client_auth != ClientAuth::Off {
            let cr = CertificateRequest {
                certificate_request_context: Vec::new(),
                extensions: Extensions(vec![
                    Extension::SignatureAlgorithms(HANDSHAKE_SCHEMES.to_vec()),
                    Extension::SignatureAlgorithmsCert(CERTIFICATE_SCHEMES.to_vec()),
                ]),
            };
            core.send_handshake(&HandshakeMessage::CertificateRequest(cr), out)?;
        }
        let entries = key
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
        let hash = core.transcript.current_hash();
        let signature = auth::sign_certificate_verify(
            key.key(),
            offer.scheme,
            Side::Server,
            &hash,
            &mut *core.rng,
        )?;
        let cv = CertificateVerify {
            algorithm: offer.scheme,
            signature,
        };
        core.send_handshake(&HandshakeMessage::CertificateVerify(cv), out)?;
        let hash = core.transcript.current_hash();
        let verify = verify_data(&server_hs, &hash);
        core.send_handshake(
            &HandshakeMessage::Finished(Finished {
                verify_data: verify.to_vec(),
            }),
            out,
        )?;

        // Application secrets come from the transcript through the server's Finished.
        let hash = core.transcript.current_hash();
        let app = derive_app_secrets(core, handshake_secret, &hash);
        core.set_write_secret(&app.server);
        core.send_secret = Some(app.server);
        core.transition("NEGOTIATED", "WAIT_FLIGHT2");
        Ok(ServerState::WaitFlight2(Flight2 {
            n: Negotiated {
                config: self.config,
                hello_retry: self.first.is_some(),
                server_name: offer.server_name,
                server_signature: offer.scheme,
                client_hs,
                client_app: app.client,
                exporter: app.exporter,
            },
        }))
    }
}

/// RFC 8446 §4.1.2: after a HelloRetryRequest the client sends the same ClientHello except
/// that key_share holds one share for the group asked for (§4.2.8), and cookie,
/// early_data, pre_shared_key and padding may change.
fn check_second_hello(first: &ClientHello, second: &ClientHello) -> Result<(), Error> {
    let invalid = |what: &str| Error::InvalidMessage {
        message: "ClientHello",
        reason: format!("the second ClientHello changed {what} (RFC 8446 §4.1.2)"),
    };
    if second.random != first.random {
        return Err(invalid("the random"));
    }
    if second.legacy_session_id != first.legacy_session_id {
        return Err(invalid("legacy_session_id"));
    }
    if second.cipher_suites != first.cipher_suites {
        return Err(invalid("cipher_suites"));
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
        return Err(invalid(
            "an extension other than key_share, cookie, early_data, pre_shared_key or padding",
        ));
    }
    match second.extensions.client_key_shares() {
        Some([share]) if share.group == NamedGroup::X25519 => Ok(()),
        _ => Err(Error::InvalidMessage {
            message: "ClientHello",
            reason: "after HelloRetryRequest key_share must hold exactly one x25519 share (RFC 8446 §4.2.8)".into(),
        }),
    }
}

/// What the server takes from an acceptable ClientHello.
struct Offer {
    /// The client's x25519 public key, or `None` when it must be asked for (HRR).
    x25519_share: Option<Vec<u8>>,
    scheme: SignatureScheme,
    server_name: Option<String>,
}

/// RFC 8446 §4.1.2, §4.2, §9.2: what a TLS 1.3 ClientHello must hold for keylab.
fn check_client_hello(ch: &ClientHello, our_key: &pki::PublicKey) -> Result<Offer, Error> {
    let ext = &ch.extensions;
    let Some(versions) = ext.client_versions() else {
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
    if ch.legacy_compression_methods != [0] {
        return Err(Error::InvalidMessage {
            message: "ClientHello",
            reason: "legacy_compression_methods must be exactly [null] in TLS 1.3".into(),
        });
    }
    if !ch
        .cipher_suites
        .contains(&CipherSuite::TlsChacha20Poly1305Sha256)
    {
        return Err(Error::HandshakeFailure(format!(
            "no common cipher suite: the client offers [{}], keylab supports TLS_CHACHA20_POLY1305_SHA256",
            short_list(&ch.cipher_suites)
        )));
    }
    let schemes = ext.signature_algorithms().ok_or(Error::MissingExtension {
        message: "ClientHello",
        extension: ExtensionType::SignatureAlgorithms,
    })?;
    let scheme = auth::choose_scheme(our_key, schemes).ok_or_else(|| {
        Error::HandshakeFailure(format!(
            "no common signature scheme: the client offers [{}], the server's {} key needs {}",
            short_list(schemes),
            our_key.algorithm_name(),
            if our_key.is_ed25519() {
                "ed25519"
            } else {
                "rsa_pss_rsae_sha256"
            }
        ))
    })?;
    // §9.2: supported_groups and key_share go together.
    let (Some(groups), Some(shares)) = (ext.supported_groups(), ext.client_key_shares()) else {
        let missing = if ext.supported_groups().is_none() {
            ExtensionType::SupportedGroups
        } else {
            ExtensionType::KeyShare
        };
        return Err(Error::MissingExtension {
            message: "ClientHello",
            extension: missing,
        });
    };
    let x25519_share = match shares.iter().find(|s| s.group == NamedGroup::X25519) {
        Some(share) => Some(share.key_exchange.clone()),
        None if groups.contains(&NamedGroup::X25519) => None,
        None => {
            return Err(Error::HandshakeFailure(format!(
                "no common group: the client supports [{}], keylab supports x25519",
                short_list(groups)
            )));
        }
    };
    // §4.2.8: each share must be for a group listed in supported_groups.
    if let Some(stray) = shares.iter().find(|s| !groups.contains(&s.group)) {
        return Err(Error::InvalidMessage {
            message: "ClientHello",
            reason: format!(
                "key_share for {} which supported_groups does not list",
                stray.group
            ),
        });
    }
    let server_name = ext
        .server_names()
        .and_then(|names| names.iter().find_map(|n| n.as_host_name()))
        .map(str::to_owned);
    Ok(Offer {
        x25519_share,
        scheme,
        server_name,
    })
}

/// Up to eight items of a peer's list, for error messages.
fn short_list<T: std::fmt::Display>(items: &[T]) -> String {
    let mut shown: Vec<String> = items.iter().take(8).map(ToString::to_string).collect();
    if items.len() > 8 {
        shown.push(format!("... {} in all", items.len()));
    }
    shown.join(", ")
}

impl Flight2 {
    /// WAIT_CERT --Certificate--> WAIT_CV, or WAIT_FINISHED when it is empty (§4.4.2.4).
    fn client_certificate(
        self,
        cert: &Certificate,
        now: OffsetDateTime,
    ) -> Result<ServerState, Error> {
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
                _ => Ok(ServerState::WaitFinished(WaitFinished {
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
        Ok(ServerState::WaitCv(WaitCv {
            n: self.n,
            client_leaf: Box::new(client_leaf),
            client_chain,
            anchor,
        }))
    }
}

impl WaitFinished {
    /// WAIT_FINISHED --Finished--> CONNECTED (§4.4.4).
    fn finished(
        self,
        core: &mut Core,
        raw: &RawHandshake,
        fin: &Finished,
    ) -> Result<Established, Error> {
        let n = self.n;
        let hash = core.transcript.current_hash();
        check_verify_data(
            &n.client_hs,
            &hash,
            &fin.verify_data,
            Verification::Finished,
        )?;
        core.transcript.add(&raw.bytes);
        core.set_read_secret(&n.client_app)?;
        core.recv_secret = Some(n.client_app);
        let (path, reason) = match (&self.client, n.config.client_auth) {
            (Some(c), _) => (Path::Certificate, c.reason.clone()),
            (None, ClientAuth::Off) => (
                Path::EphemeralDh,
                "client authentication is off; no certificate was requested".into(),
            ),
            (None, policy) => (
                Path::EphemeralDh,
                format!("client has no certificate (client auth {policy})"),
            ),
        };
        let summary = Summary {
            side: Side::Server,
            path,
            reason,
            cipher_suite: CipherSuite::TlsChacha20Poly1305Sha256,
            group: NamedGroup::X25519,
            server_signature: n.server_signature,
            client_signature: self.client.as_ref().map(|c| c.signature),
            hello_retry: n.hello_retry,
            server_chain: n
                .config
                .identity
                .chain()
                .iter()
                .map(|c| c.subject().to_string())
                .collect(),
            client_chain: self
                .client
                .as_ref()
                .map(|c| c.chain.clone())
                .unwrap_or_default(),
            client_names: self.client.map(|c| c.names).unwrap_or_default(),
            server_name: n.server_name,
            transcript_hash: core.transcript.current_hash(),
        };
        Ok(Established {
            summary,
            exporter: n.exporter,
        })
    }
}
