//! [`Connection`]: one TLS 1.3 connection, client or server, driven by the caller.

mod client;
mod client_checks;
mod client_hello;
mod core;
mod psk;
mod remote;
mod secrets;
mod server;
mod server_checks;
mod server_hello;
pub mod trace;

use std::sync::Arc;

use time::OffsetDateTime;
use zeroize::Zeroizing;

pub use self::core::TlsRng;
use self::core::{Core, unexpected};
pub use self::remote::SignatureRequest;
/// Why a client configuration without suites or groups cannot connect.
pub(crate) const NOTHING_TO_OFFER: &str =
    "the client configuration lists no cipher suite or no group to offer";

pub(crate) use self::secrets::{
    Ecdhe, EphemeralKey, FinishedOf, HandshakeSecrets, check_peer_finished, derive_app_secrets,
    handshake_secrets, our_verify_data, resumption_secret, trace_ticket_psk,
};
use self::trace::{Direction, Observer, TraceEvent};
use crate::auth::Side;
use crate::config::{ClientConfig, ServerConfig};
use crate::error::{Error, Invalid};
use crate::key_schedule::{ExporterMasterSecret, HASH_LEN, ResumptionMasterSecret};
use crate::msgs::HandshakeMessage;
use crate::msgs::alert::{Alert, AlertDescription};
use crate::msgs::enums::{ContentType, ExtensionType, ProtocolVersion};
use crate::msgs::post_handshake::{KeyUpdate, KeyUpdateRequest, NewSessionTicket};
use crate::record::{Inbound, RawHandshake};
use crate::session::{Session, SessionCache};
use crate::states::{ClientState, ServerState, StateName};
use crate::summary::Summary;

/// Something the caller should know about, returned by [`Connection::next_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The handshake finished; [`Connection::summary`] says how.
    HandshakeComplete,
    /// Application data from the peer.
    ApplicationData(Vec<u8>),
    /// The peer sent close_notify: it will send nothing more (RFC 8446 §6.1).
    PeerClosed,
    /// The server sent a NewSessionTicket (RFC 8446 §4.6.1). With a
    /// [`ClientConfig::session_cache`] the ticket is kept there for resumption; without
    /// one it is dropped.
    SessionTicket {
        /// The ticket's lifetime in seconds.
        lifetime: u32,
    },
    /// The peer updated its sending keys (RFC 8446 §4.6.3); when it asked, ours were
    /// updated too (unless we had already sent close_notify).
    KeyUpdated {
        /// Whether the peer asked us to update ours.
        requested: bool,
    },
}

/// Where a connection is: in one side's handshake, connected or closed.
enum State {
    Client(client::Handshake),
    Server(server::Handshake),
    Connected,
    Closed,
}

/// One TLS 1.3 connection. Sans-IO: bytes in through [`Connection::process`], bytes out
/// appended to the caller's buffer; see the crate docs for the calling contract.
pub struct Connection {
    core: Core,
    state: State,
    summary: Option<Summary>,
    exporter: Option<ExporterMasterSecret>,
    /// Why the connection can no longer be used, once it cannot.
    closed: Option<String>,
    peer_closed: bool,
    sent_close: bool,
    /// Records that carried nothing for the caller (empty application data, KeyUpdates,
    /// user_canceled alerts) since the last one that did; bounded so a peer cannot keep a
    /// connection busy forever without making progress.
    idle_records: u32,
    /// Client: what turns NewSessionTickets into sessions.
    resumption: Option<ClientResumption>,
}

/// What a client needs to turn tickets into [`Session`]s (RFC 8446 §4.6.1).
pub(crate) struct ClientResumption {
    pub secret: ResumptionMasterSecret,
    pub cache: Arc<SessionCache>,
    pub server_name: String,
    pub client_identity: Option<String>,
}

/// How many records in a row may carry nothing for the caller (empty application data,
/// KeyUpdate, user_canceled) before the peer is considered abusive.
pub const MAX_IDLE_RECORDS: u32 = 32;

impl Connection {
    /// A client that will connect to `server_name` (a DNS name, checked against the
    /// certificate's DNS subjectAltNames and sent as SNI, or an IP address, checked against
    /// its IP subjectAltNames and not sent). Call [`Connection::start`] to send the
    /// ClientHello.
    pub fn client(
        config: Arc<ClientConfig>,
        server_name: &str,
        rng: impl TlsRng + 'static,
    ) -> Result<Self, Error> {
        if server_name.is_empty() || server_name.len() > 253 || !server_name.is_ascii() {
            return Err(Error::Usage(
                "server name must be 1 to 253 ASCII characters",
            ));
        }
        if config.cipher_suites.is_empty() || config.groups.is_empty() {
            return Err(Error::Usage(NOTHING_TO_OFFER));
        }
        // RFC 7301 §3.1: `opaque ProtocolName<1..2^8-1>`.
        if config
            .alpn_protocols
            .iter()
            .any(|name| name.is_empty() || name.len() > 255)
        {
            return Err(Error::Usage(
                "ALPN protocol names must be 1 to 255 bytes (RFC 7301 §3.1)",
            ));
        }
        let key_log = config.key_log.clone();
        Ok(Self::new(
            Core::new(Side::Client, Box::new(rng), key_log),
            State::Client(client::Handshake::new(config, server_name)),
        ))
    }

    /// A server waiting for a ClientHello.
    pub fn server(config: Arc<ServerConfig>, rng: impl TlsRng + 'static) -> Self {
        let key_log = config.key_log.clone();
        Self::new(
            Core::new(Side::Server, Box::new(rng), key_log),
            State::Server(server::Handshake::new(config)),
        )
    }

    fn new(core: Core, state: State) -> Self {
        Self {
            core,
            state,
            summary: None,
            exporter: None,
            closed: None,
            peer_closed: false,
            sent_close: false,
            idle_records: 0,
            resumption: None,
        }
    }

    /// Sends every trace event of this connection to `observer`.
    pub fn set_observer(&mut self, observer: Observer) {
        self.core.set_observer(observer);
    }

    /// Client: appends the ClientHello to `out`. Server: does nothing. Calling it twice is
    /// harmless. `now` is the time the obfuscated ticket age of a resumption offer is
    /// measured to (RFC 8446 §4.2.11.1).
    pub fn start(&mut self, now: OffsetDateTime, out: &mut Vec<u8>) -> Result<(), Error> {
        if let State::Client(client::Handshake::Start(_)) = self.state {
            let State::Client(client::Handshake::Start(start)) =
                std::mem::replace(&mut self.state, State::Closed)
            else {
                return Ok(());
            };
            let result = start.client_hello(&mut self.core, now, out);
            self.state = self.settle(result.map(State::Client), out)?;
        }
        Ok(())
    }

    /// Feeds bytes from the peer. Responses are appended to `out`, which the caller must
    /// send even when this returns an error (it may hold the alert that explains it).
    /// `now` is the time certificates are validated at.
    pub fn process(
        &mut self,
        input: &[u8],
        now: OffsetDateTime,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if let Some(reason) = &self.closed {
            return Err(Error::Closed(reason.clone()));
        }
        self.start(now, out)?;
        if self.peer_closed {
            // RFC 8446 §6.1: anything after close_notify is ignored, and not buffered.
            return Ok(());
        }
        self.core.push_input(input);
        // A flight goes out as one record: what the messages wrote is sealed at the end.
        let result = self.drain(now, out).and_then(|()| self.seal_written(out));
        if let Err(e) = &result {
            self.fail(e, out);
        }
        result
    }

    fn drain(&mut self, now: OffsetDateTime, out: &mut Vec<u8>) -> Result<(), Error> {
        while !self.peer_closed && self.core.read_record()? {
            while let Some(item) = self.core.next_inbound() {
                self.handle(item, now, out)?;
                if self.peer_closed {
                    // RFC 8446 §6.1: anything after close_notify is ignored.
                    break;
                }
            }
        }
        Ok(())
    }

    fn handle(
        &mut self,
        item: Inbound,
        now: OffsetDateTime,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        match item {
            Inbound::Alert(alert) => self.on_alert(alert),
            Inbound::ChangeCipherSpec => {
                let awaiting_hello =
                    matches!(&self.state, State::Server(server::Handshake::Start(_)));
                self.core.change_cipher_spec(awaiting_hello)
            }
            Inbound::ApplicationData(data) => {
                if !self.core.is_connected() {
                    return Err(Error::UnexpectedMessage {
                        expected: "a handshake message",
                        got: "application data".into(),
                    });
                }
                if data.is_empty() {
                    // RFC 8446 §5.4 allows empty application data records; they carry
                    // nothing for the caller.
                    return self.idle_record("empty application data records");
                }
                self.idle_records = 0;
                self.core.push_event(Event::ApplicationData(data));
                Ok(())
            }
            Inbound::Handshake(raw) => {
                let state = std::mem::replace(&mut self.state, State::Closed);
                let next = match state {
                    State::Client(s) => s.handle(&mut self.core, &raw, now, out).map(|n| match n {
                        client::Next::Handshaking(s) => State::Client(s),
                        client::Next::Connected(e) => self.established(e),
                    }),
                    State::Server(s) => s.handle(&mut self.core, &raw, now, out).map(|n| match n {
                        server::Next::Handshaking(s) => State::Server(s),
                        server::Next::Connected(e) => self.established(*e),
                    }),
                    State::Connected => self
                        .post_handshake(&raw, now, out)
                        .map(|()| State::Connected),
                    State::Closed => Err(Error::Usage("connection is not running")),
                };
                self.state = next?;
                Ok(())
            }
        }
    }

    fn established(&mut self, e: Established) -> State {
        self.summary = Some(e.summary);
        self.exporter = Some(e.exporter);
        self.resumption = e.resumption;
        self.core.handshake_complete();
        State::Connected
    }

    /// RFC 8446 §4.6: NewSessionTicket (client only) and KeyUpdate after the handshake.
    fn post_handshake(
        &mut self,
        raw: &RawHandshake,
        now: OffsetDateTime,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        match self.core.receive_post_handshake(raw)? {
            HandshakeMessage::NewSessionTicket(nst) if self.core.side() == Side::Client => {
                self.idle_record("NewSessionTicket messages")?;
                self.session_ticket(&nst, now)
            }
            HandshakeMessage::KeyUpdate(ku) => {
                self.idle_record("KeyUpdate messages")?;
                self.core.update_read_secret()?;
                let requested = ku.request_update == KeyUpdateRequest::UpdateRequested;
                if requested && !self.sent_close {
                    self.send_key_update(KeyUpdateRequest::UpdateNotRequested, out)?;
                }
                self.core.push_event(Event::KeyUpdated { requested });
                Ok(())
            }
            other => Err(unexpected("NewSessionTicket or KeyUpdate", &other)),
        }
    }

    /// Client: a NewSessionTicket becomes a [`Session`] in the cache, if there is one
    /// (RFC 8446 §4.6.1).
    fn session_ticket(&mut self, nst: &NewSessionTicket, now: OffsetDateTime) -> Result<(), Error> {
        // RFC 8446 §4.6.1: "Servers MUST NOT use any value greater than 604800".
        if nst.ticket_lifetime > 604_800 {
            return Err(Error::InvalidMessage {
                message: "NewSessionTicket",
                reason: Invalid::TicketLifetime(nst.ticket_lifetime),
            });
        }
        // §4.6.1: a lifetime of zero means the ticket must not be used.
        if let Some(r) = self.resumption.as_ref().filter(|_| nst.ticket_lifetime > 0) {
            let psk = r.secret.ticket_psk(&nst.ticket_nonce)?;
            trace_ticket_psk(&mut self.core, &r.secret, &nst.ticket_nonce, &psk);
            r.cache.insert(Session {
                server_name: r.server_name.clone(),
                ticket: nst.ticket.clone(),
                psk: Zeroizing::new(*psk.as_bytes()),
                age_add: nst.ticket_age_add,
                lifetime: nst.ticket_lifetime,
                received_ms: psk::unix_ms(now),
                client_identity: r.client_identity.clone(),
            });
        }
        self.core.push_event(Event::SessionTicket {
            lifetime: nst.ticket_lifetime,
        });
        Ok(())
    }

    fn on_alert(&mut self, alert: Alert) -> Result<(), Error> {
        self.core.trace(&TraceEvent::Alert {
            direction: Direction::Received,
            alert,
        });
        match alert.description {
            AlertDescription::CloseNotify => {
                self.peer_closed = true;
                self.core.push_event(Event::PeerClosed);
                if self.core.is_connected() {
                    Ok(())
                } else {
                    Err(Error::PeerAlert(AlertDescription::CloseNotify))
                }
            }
            // RFC 8446 §6.1: user_canceled is followed by close_notify; nothing to do.
            AlertDescription::UserCanceled => self.idle_record("user_canceled alerts"),
            other => Err(Error::PeerAlert(other)),
        }
    }

    /// Counts a record that gave the caller nothing; too many in a row end the connection.
    fn idle_record(&mut self, what: &str) -> Result<(), Error> {
        self.idle_records += 1;
        if self.idle_records > MAX_IDLE_RECORDS {
            return Err(Error::UnexpectedMessage {
                expected: "application data",
                got: format!("more than {MAX_IDLE_RECORDS} {what} and similar records in a row"),
            });
        }
        Ok(())
    }

    /// Marks the connection failed, sending the alert the error calls for.
    fn fail(&mut self, error: &Error, out: &mut Vec<u8>) {
        if let Some(alert) = error.alert() {
            self.core.send_alert(alert, out);
        }
        self.closed = Some(error.to_string());
        self.state = State::Closed;
    }

    /// Fails the connection on an error; otherwise seals what the step wrote (a flight
    /// goes out as one record).
    fn settle(&mut self, result: Result<State, Error>, out: &mut Vec<u8>) -> Result<State, Error> {
        result
            .and_then(|state| seal_written(&mut self.core, &state, out).map(|()| state))
            .inspect_err(|e| self.fail(e, out))
    }

    fn seal_written(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        seal_written(&mut self.core, &self.state, out)
    }

    /// The next event, in order.
    pub fn next_event(&mut self) -> Option<Event> {
        self.core.next_event()
    }

    /// Encrypts application data into `out`. Only after the handshake.
    pub fn send(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        self.check_can_send()?;
        let result = self.core.write(ContentType::ApplicationData, data, out);
        if let Err(e) = &result {
            self.fail(e, out);
        }
        result
    }

    /// Sends close_notify (RFC 8446 §6.1); nothing can be sent afterwards.
    ///
    /// During the handshake this abandons it: user_canceled then close_notify
    /// (RFC 8446 §6.1), and the connection is closed for good.
    pub fn close(&mut self, out: &mut Vec<u8>) {
        if self.sent_close || self.closed.is_some() {
            return;
        }
        if !self.core.is_connected() {
            self.core.send_alert(AlertDescription::UserCanceled, out);
            self.core.send_alert(AlertDescription::CloseNotify, out);
            self.closed = Some("closed locally during the handshake".into());
            self.state = State::Closed;
            self.sent_close = true;
            return;
        }
        self.core.send_alert(AlertDescription::CloseNotify, out);
        self.sent_close = true;
    }

    /// Updates our sending keys (RFC 8446 §4.6.3), asking the peer to update its own when
    /// `request_peer` is set.
    pub fn key_update(&mut self, request_peer: bool, out: &mut Vec<u8>) -> Result<(), Error> {
        self.check_can_send()?;
        let request = if request_peer {
            KeyUpdateRequest::UpdateRequested
        } else {
            KeyUpdateRequest::UpdateNotRequested
        };
        let result = self.send_key_update(request, out);
        if let Err(e) = &result {
            self.fail(e, out);
        }
        result
    }

    fn send_key_update(
        &mut self,
        request_update: KeyUpdateRequest,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let msg = HandshakeMessage::KeyUpdate(KeyUpdate { request_update });
        self.core.send_post_handshake(&msg, out)?;
        self.core.update_write_secret(out)
    }

    fn check_can_send(&self) -> Result<(), Error> {
        if let Some(reason) = &self.closed {
            return Err(Error::Closed(reason.clone()));
        }
        if !self.core.is_connected() {
            return Err(Error::Usage("the handshake has not finished"));
        }
        if self.sent_close {
            return Err(Error::Usage("close_notify was already sent"));
        }
        Ok(())
    }

    /// Tells the connection the transport reached end of file. Without a close_notify from
    /// the peer first, that is [`Error::Truncated`] (RFC 8446 §6.1).
    pub fn peer_eof(&mut self) -> Result<(), Error> {
        if self.peer_closed || self.closed.is_some() {
            return Ok(());
        }
        self.closed = Some(Error::Truncated.to_string());
        self.state = State::Closed;
        Err(Error::Truncated)
    }

    /// Keying material for other protocols (RFC 8446 §7.5).
    pub fn export_keying_material(
        &self,
        label: &[u8],
        context: &[u8],
        len: usize,
    ) -> Result<Vec<u8>, Error> {
        let exporter = self
            .exporter
            .as_ref()
            .ok_or(Error::Usage("the handshake has not finished"))?;
        // RFC 5869 §2.3: HKDF-Expand yields at most 255 hash lengths.
        if len > 255 * HASH_LEN {
            return Err(Error::Usage(
                "exported keying material is limited to 8160 bytes",
            ));
        }
        let mut out = vec![0u8; len];
        exporter.export_keying_material(label, context, &mut out)?;
        Ok(out)
    }

    /// Whether the handshake is still running.
    pub fn is_handshaking(&self) -> bool {
        !self.core.is_connected() && self.closed.is_none()
    }

    /// Why the connection can no longer be used, once it cannot (not set by the peer's
    /// close_notify alone).
    pub fn closed_reason(&self) -> Option<&str> {
        self.closed.as_deref()
    }

    /// Whether the peer sent close_notify (a clean end of its data, RFC 8446 §6.1).
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// Whether the connection failed or ended (locally or by the peer's close_notify).
    pub fn is_closed(&self) -> bool {
        self.closed.is_some() || self.peer_closed
    }

    /// How the handshake went, once it has finished.
    pub fn summary(&self) -> Option<&Summary> {
        self.summary.as_ref()
    }

    /// The current state; its `Display` is the RFC 8446 Appendix A name (`CLOSED` after an
    /// error).
    pub fn state(&self) -> StateName {
        match &self.state {
            State::Client(s) => s.name().into(),
            State::Server(s) => s.name().into(),
            State::Connected => match self.core.side() {
                Side::Client => ClientState::Connected.into(),
                Side::Server => ServerState::Connected.into(),
            },
            State::Closed => StateName::Closed,
        }
    }

    /// Client or server.
    pub fn side(&self) -> Side {
        self.core.side()
    }
}

/// What a finished handshake hands to the connection.
pub(crate) struct Established {
    pub summary: Summary,
    pub exporter: ExporterMasterSecret,
    pub resumption: Option<ClientResumption>,
}

/// The error for a `message` that lacks a mandatory `extension` (RFC 8446 §9.2:
/// missing_extension).
fn missing(message: &'static str, extension: ExtensionType) -> Error {
    Error::MissingExtension { message, extension }
}

/// RFC 8446 Appendix D.5: "Any endpoint receiving a Hello message with
/// ClientHello.legacy_version or ServerHello.legacy_version set to 0x0300 MUST abort the
/// handshake with a "protocol_version" alert" (and SSL 2.0's lower values with it).
pub(crate) fn check_legacy_version(version: ProtocolVersion, message: &str) -> Result<(), Error> {
    if version.to_u16() <= 0x0300 {
        return Err(Error::ProtocolVersion(format!(
            "the {message}'s legacy_version is {version}: 0x0300 or lower (SSL 3.0 or older) \
             is refused (RFC 8446 Appendix D.5)"
        )));
    }
    Ok(())
}

/// Seals the handshake messages written into records, unless the server waits for its
/// CertificateVerify signature in `state`: its encrypted flight then goes out whole once
/// the signature comes, byte for byte as with a local key.
fn seal_written(core: &mut Core, state: &State, out: &mut Vec<u8>) -> Result<(), Error> {
    if matches!(state, State::Server(server::Handshake::Signing(_))) {
        return Ok(());
    }
    core.flush(out)
}
