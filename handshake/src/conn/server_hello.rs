//! The server from START to WAIT_FLIGHT2, RFC 8446 Appendix A.2:
//!
//! ```text
//! START --recv ClientHello--> RECVD_CH --send HelloRetryRequest--> START
//!                                |
//!                                | select parameters
//!                                v
//!                            NEGOTIATED --send ServerHello ... Finished--> WAIT_FLIGHT2
//! ```
//!
//! RECVD_CH and NEGOTIATED are passed through within one call: `RecvdCh` checks the
//! ClientHello, picks a PSK and decides whether to ask again; `Negotiated` holds the
//! chosen parameters and sends the first flight.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::algorithms::{SupportedGroup, SupportedSuite};
use crate::auth::{CERTIFICATE_SCHEMES, HANDSHAKE_SCHEMES, Side};
use crate::config::{ClientAuth, ServerConfig};
use crate::conn::core::{Core, send_certificate};
use crate::conn::psk::{self, Accepted, BinderInput};
use crate::conn::remote::SignatureRequest;
use crate::conn::server::{FirstFlight, Handshake};
use crate::conn::server_checks::{
    Offer, check_client_hello, check_second_hello, choose_our_scheme,
};
use crate::conn::trace::TraceEvent;
use crate::conn::{
    Ecdhe, EphemeralKey, FinishedOf, HandshakeSecrets, derive_app_secrets, handshake_secrets,
    our_verify_data,
};
use crate::error::{Error, HandshakeFailure, Invalid};
use crate::msgs::HandshakeMessage;
use crate::msgs::certificate::CertificateRequest;
use crate::msgs::client_hello::ClientHello;
use crate::msgs::encrypted_extensions::EncryptedExtensions;
use crate::msgs::enums::{ProtocolVersion, SignatureScheme};
use crate::msgs::extensions::{Extension, Extensions};
use crate::msgs::finished::Finished;
use crate::msgs::server_hello::ServerHello;
use crate::states::ServerState;

/// START: waiting for a ClientHello.
pub(crate) struct Start {
    config: Arc<ServerConfig>,
    /// After a HelloRetryRequest, the first ClientHello: the second must match it except
    /// where RFC 8446 §4.1.2 allows changes, and bring a share for the group asked for.
    first: Option<Box<ClientHello>>,
}

/// RECVD_CH: an acceptable ClientHello and what the server made of its PSK offer.
struct RecvdCh {
    config: Arc<ServerConfig>,
    first: Option<Box<ClientHello>>,
    hello: ClientHello,
    offer: Offer,
    /// The PSK the binder check accepted, if any.
    accepted: Option<Accepted>,
    /// Why an offered PSK was not used.
    declined: Option<String>,
    now_ms: u64,
}

/// NEGOTIATED: the parameters of the handshake, chosen (§4.1.1).
struct Negotiated {
    config: Arc<ServerConfig>,
    hello_retry: bool,
    server_name: Option<String>,
    alpn: Option<Vec<u8>>,
    legacy_session_id: Vec<u8>,
    suite: SupportedSuite,
    /// The group and the client's share for it; `None` for psk_ke.
    client_share: Option<(SupportedGroup, Vec<u8>)>,
    /// The scheme of our CertificateVerify; `None` on the PSK paths.
    scheme: Option<SignatureScheme>,
    psk: Option<Accepted>,
    psk_declined: Option<String>,
    issue_tickets: bool,
}

/// Where RECVD_CH leads.
enum Selected {
    /// Back to START with a HelloRetryRequest.
    Retry(RecvdCh),
    /// On to NEGOTIATED.
    Negotiated(Negotiated),
}

impl Start {
    /// A server waiting for its first ClientHello.
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Self {
            config,
            first: None,
        }
    }

    /// START --recv ClientHello--> RECVD_CH, and on to START or WAIT_FLIGHT2.
    pub fn client_hello(
        self,
        core: &mut Core,
        hello: ClientHello,
        binder_input: &BinderInput<'_>,
        now: OffsetDateTime,
        out: &mut Vec<u8>,
    ) -> Result<Handshake, Error> {
        core.transition(ServerState::Start, ServerState::RecvdCh);
        let recvd = self.check(core, hello, binder_input, now)?;
        match recvd.select_parameters(core)? {
            Selected::Retry(recvd) => recvd.ask_for_share(core, out).map(Handshake::Start),
            Selected::Negotiated(negotiated) => {
                core.transition(ServerState::RecvdCh, ServerState::Negotiated);
                let pending = negotiated.send_flight(core, out)?;
                if pending.request.is_some() {
                    return Ok(Handshake::Signing(Box::new(pending)));
                }
                pending.finish(core, out).map(Handshake::WaitFlight2)
            }
        }
    }

    /// RECVD_CH: the checks of §4.1.2 and §9.2, and the PSK offer's binder (§4.2.11).
    fn check(
        self,
        core: &mut Core,
        hello: ClientHello,
        binder_input: &BinderInput<'_>,
        now: OffsetDateTime,
    ) -> Result<RecvdCh, Error> {
        let offer = check_client_hello(&hello, &self.config)?;
        if let Some(first) = &self.first {
            // supported_groups cannot change (checked first), so the group chosen now is
            // the one the HelloRetryRequest asked for.
            check_second_hello(first, &hello, offer.group)?;
        }
        let now_ms = psk::unix_ms(now);
        let selection = psk::select(core, &self.config, &hello, binder_input, now_ms)?;
        Ok(RecvdCh {
            config: self.config,
            first: self.first,
            hello,
            offer,
            accepted: selection.accepted,
            declined: selection.declined,
            now_ms,
        })
    }
}

impl RecvdCh {
    /// RECVD_CH --select parameters--> NEGOTIATED, unless a share is missing and a
    /// HelloRetryRequest must ask for it.
    fn select_parameters(mut self, core: &mut Core) -> Result<Selected, Error> {
        if self.accepted.is_none() && self.config.identity.is_none() {
            return Err(self.psk_only_refusal());
        }
        // Everything but psk_ke needs the client's share for the group chosen.
        let needs_share = self.accepted.as_ref().is_none_or(|a| a.dhe);
        if needs_share && self.offer.share.is_none() {
            return Ok(Selected::Retry(self));
        }
        if !self.spend_ticket() {
            if self.config.identity.is_none() {
                return Err(self.psk_only_refusal());
            }
            if self.offer.share.is_none() {
                return Ok(Selected::Retry(self));
            }
        }
        // §4.2.10: 0-RTT data is never accepted; its records are skipped, not fatal.
        core.skip_early_data(self.offer.early_data && self.first.is_none());
        let scheme = match (&self.accepted, &self.config.identity) {
            (Some(_), _) => None,
            (None, Some(identity)) => Some(choose_our_scheme(&self.hello, identity.public_key())?),
            (None, None) => return Err(self.psk_only_refusal()),
        };
        let issue_tickets =
            self.config.tickets.is_some() && self.offer.ticket_modes_ok(&self.config);
        let client_share = match (&self.accepted, self.offer.group, self.offer.share) {
            (Some(a), _, _) if !a.dhe => None,
            (_, Some(group), Some(share)) => Some((group, share)),
            (_, _, _) => {
                return Err(Error::HandshakeFailure(
                    HandshakeFailure::PskRefusedWithoutShare,
                ));
            }
        };
        core.set_client_random(self.hello.random);
        Ok(Selected::Negotiated(Negotiated {
            issue_tickets,
            hello_retry: self.first.is_some(),
            config: self.config,
            server_name: self.offer.server_name,
            alpn: self.offer.alpn,
            legacy_session_id: self.hello.legacy_session_id,
            suite: self.offer.suite,
            client_share,
            scheme,
            psk: self.accepted,
            psk_declined: self.declined,
        }))
    }

    /// Single-use tickets are spent only now that no HelloRetryRequest comes between; a
    /// replayed one falls back to a full handshake. False when the accepted ticket was
    /// refused.
    fn spend_ticket(&mut self) -> bool {
        let Some((ticket, state)) = self.accepted.as_ref().and_then(|a| a.ticket.as_ref()) else {
            return true;
        };
        let tickets = self.config.tickets.as_ref();
        match tickets.map(|t| t.mark_used(ticket, state, self.now_ms)) {
            Some(Err(why)) => {
                self.declined = Some(why.to_string());
                self.accepted = None;
                false
            }
            _ => true,
        }
    }

    fn psk_only_refusal(&self) -> Error {
        Error::HandshakeFailure(HandshakeFailure::PskOnly {
            declined: self.declined.clone(),
        })
    }

    /// A share is needed and missing: a HelloRetryRequest asking for the group chosen
    /// after the first ClientHello, an error after the second or when no group is common.
    fn ask_for_share(self, core: &mut Core, out: &mut Vec<u8>) -> Result<Start, Error> {
        let Some(group) = self.offer.group else {
            return Err(self.offer.no_common_group(&self.config));
        };
        if self.first.is_some() {
            return Err(Error::InvalidMessage {
                message: "ClientHello",
                reason: Invalid::SecondHelloWithoutShare(group.group()),
            });
        }
        // §4.2.10: early data after the first ClientHello is skipped until the second.
        core.skip_early_data(self.offer.early_data);
        self.hello_retry(group, core, out)
    }

    /// RECVD_CH --send HelloRetryRequest--> START: asks for a share of `group` with the
    /// suite chosen (§4.1.4); sending it turns ClientHello1 into message_hash in the
    /// transcript (§4.4.1).
    fn hello_retry(
        self,
        group: SupportedGroup,
        core: &mut Core,
        out: &mut Vec<u8>,
    ) -> Result<Start, Error> {
        core.set_client_random(self.hello.random);
        let hrr = ServerHello::new_hello_retry_request(
            self.hello.legacy_session_id.clone(),
            self.offer.suite.suite(),
            Extensions(vec![
                Extension::SupportedVersionsServerHello(ProtocolVersion::Tls13),
                Extension::KeyShareHelloRetryRequest(group.group()),
            ]),
        );
        core.send_handshake(&HandshakeMessage::HelloRetryRequest(hrr), out)?;
        compat_change_cipher_spec(core, &self.hello.legacy_session_id, out)?;
        core.transition(ServerState::RecvdCh, ServerState::Start);
        Ok(Start {
            config: self.config,
            first: Some(Box::new(self.hello)),
        })
    }
}

/// NEGOTIATED with the first flight written up to the CertificateVerify (and held, not
/// yet sealed into a record): with a remote key the flight stops here until the caller provides the signature
/// ([`PendingFlight::provide_signature`]).
pub(crate) struct PendingFlight {
    negotiated: Negotiated,
    keys: HandshakeSecrets,
    cert_requested: bool,
    /// The CertificateVerify still to sign; `None` once sent (or never needed).
    request: Option<SignatureRequest>,
}

impl PendingFlight {
    /// The signature the flight waits for.
    pub fn request(&self) -> Option<&SignatureRequest> {
        self.request.as_ref()
    }

    /// Checks and sends the CertificateVerify, then Finished: on to WAIT_FLIGHT2.
    pub fn provide_signature(
        mut self,
        core: &mut Core,
        signature: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Box<FirstFlight>, Error> {
        if let Some(request) = self.request.take() {
            request.send(core, signature, out)?;
        }
        self.finish(core, out)
    }

    /// Finished, and the application secrets from the transcript through it (§4.4.4,
    /// §7.1); NEGOTIATED --> WAIT_FLIGHT2.
    fn finish(self, core: &mut Core, out: &mut Vec<u8>) -> Result<Box<FirstFlight>, Error> {
        let flight = self
            .negotiated
            .send_finished(core, self.keys, self.cert_requested, out)?;
        core.transition(ServerState::Negotiated, ServerState::WaitFlight2);
        Ok(Box::new(flight))
    }
}

impl Negotiated {
    /// NEGOTIATED --send ServerHello, EncryptedExtensions, [CertificateRequest],
    /// [Certificate, CertificateVerify]: the flight up to its Finished, or up to the
    /// CertificateVerify a remote key must sign.
    fn send_flight(self, core: &mut Core, out: &mut Vec<u8>) -> Result<PendingFlight, Error> {
        let keys = self.send_server_hello(core, out)?;
        // §4.3.2: never a CertificateRequest on a PSK path.
        let cert_requested = self.psk.is_none() && self.config.client_auth != ClientAuth::Off;
        // RFC 7301 §3.1: the server's answer is one ProtocolName, in EncryptedExtensions
        // (RFC 8446 §4.3.1).
        let ee = EncryptedExtensions {
            extensions: Extensions(
                self.alpn
                    .iter()
                    .map(|name| Extension::Alpn(vec![name.clone()]))
                    .collect(),
            ),
        };
        core.send_handshake(&HandshakeMessage::EncryptedExtensions(ee), out)?;
        let mut request = None;
        if let (Some(scheme), Some(identity)) = (self.scheme, &self.config.identity) {
            if cert_requested {
                send_certificate_request(core, out)?;
            }
            request = send_certificate(core, Some((identity, scheme)), Side::Server, &[], out)?;
        }
        Ok(PendingFlight {
            negotiated: self,
            keys,
            cert_requested,
            request,
        })
    }

    /// --send Finished--> WAIT_FLIGHT2, with the keys of what comes next.
    fn send_finished(
        self,
        core: &mut Core,
        keys: HandshakeSecrets,
        cert_requested: bool,
        out: &mut Vec<u8>,
    ) -> Result<FirstFlight, Error> {
        let verify = our_verify_data(
            core,
            FinishedOf {
                from_client: false,
                base_key: &keys.server,
            },
        );
        core.send_handshake(
            &HandshakeMessage::Finished(Finished {
                verify_data: verify.to_vec(),
            }),
            out,
        )?;
        // Application secrets come from the transcript through the server's Finished.
        let hash = core.transcript_hash();
        let messages = core.transcript_messages();
        let app = derive_app_secrets(core, keys.secret, &hash, &messages);
        core.set_app_write_secret(app.server, out)?;
        Ok(FirstFlight {
            suite: self.suite,
            group: self.client_share.map(|(group, _)| group),
            hello_retry: self.hello_retry,
            server_name: self.server_name,
            alpn: self.alpn,
            server_signature: self.scheme,
            client_hs: keys.client,
            client_app: app.client,
            exporter: app.exporter,
            cert_requested,
            psk: self.psk,
            psk_declined: self.psk_declined,
            master: self.issue_tickets.then_some(app.master),
            config: self.config,
        })
    }

    /// ServerHello and the handshake keys (§4.1.3, §7.1).
    fn send_server_hello(
        &self,
        core: &mut Core,
        out: &mut Vec<u8>,
    ) -> Result<HandshakeSecrets, Error> {
        let mut extensions = vec![Extension::SupportedVersionsServerHello(
            ProtocolVersion::Tls13,
        )];
        let ecdhe = match &self.client_share {
            Some((group, client_share)) => {
                let key = EphemeralKey::generate(*group, core);
                let shared = key.agree(client_share, "ClientHello")?;
                extensions.push(Extension::KeyShareServerHello(key.share()));
                Some((key, shared))
            }
            None => None,
        };
        if let Some(a) = &self.psk {
            extensions.push(Extension::PreSharedKeyServerHello(a.index));
        }
        let sh = ServerHello {
            legacy_version: ProtocolVersion::Tls12,
            random: core.random::<32>(),
            legacy_session_id_echo: self.legacy_session_id.clone(),
            cipher_suite: self.suite.suite(),
            legacy_compression_method: 0,
            extensions: Extensions(extensions),
        };
        core.send_handshake(&HandshakeMessage::ServerHello(sh), out)?;
        compat_change_cipher_spec(core, &self.legacy_session_id, out)?;
        core.set_suite(self.suite);
        core.trace(&TraceEvent::Negotiated {
            suite: self.suite,
            group: ecdhe.as_ref().map(|(key, _)| key.group()),
        });
        let hash = core.transcript_hash();
        let keys = handshake_secrets(
            core,
            self.psk.as_ref().map(|a| &a.secret[..]),
            ecdhe
                .as_ref()
                .zip(self.client_share.as_ref())
                .map(|((key, shared), (_, peer))| Ecdhe {
                    key,
                    peer,
                    shared: &shared[..],
                }),
            &hash,
        );
        core.set_write_secret(&keys.server)?;
        core.set_read_secret(&keys.client)?;
        Ok(keys)
    }
}

/// CertificateRequest (§4.3.2): the schemes we verify, with an empty context.
fn send_certificate_request(core: &mut Core, out: &mut Vec<u8>) -> Result<(), Error> {
    let cr = CertificateRequest {
        certificate_request_context: Vec::new(),
        extensions: Extensions(vec![
            Extension::SignatureAlgorithms(HANDSHAKE_SCHEMES.to_vec()),
            Extension::SignatureAlgorithmsCert(CERTIFICATE_SCHEMES.to_vec()),
        ]),
    };
    core.send_handshake(&HandshakeMessage::CertificateRequest(cr), out)
}

/// RFC 8446 Appendix D.4: a client that sends a non-empty legacy_session_id asks for
/// middlebox compatibility mode, and the server then sends one change_cipher_spec
/// "immediately after its first handshake message" (ServerHello or HelloRetryRequest).
fn compat_change_cipher_spec(
    core: &mut Core,
    session_id: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    if session_id.is_empty() {
        return Ok(());
    }
    core.send_change_cipher_spec(out)
}
