//! What client and server connections share: record I/O, key changes, the transcript,
//! key log and trace output.
//!
//! The transcript (RFC 8446 §4.4.1) changes in one place: [`Core::send_handshake`] adds a
//! message we send, [`Core::receive_handshake`] one we receive; both apply the
//! HelloRetryRequest rule. Post-handshake messages go through
//! [`Core::send_post_handshake`] and [`Core::receive_post_handshake`] and stay out of it.

use std::collections::VecDeque;
use std::sync::Arc;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;

use crate::algorithms::SupportedSuite;
use crate::auth::Side;
use crate::config::KeyLog;
use crate::conn::Event;
use crate::conn::trace::{
    Direction, HkdfContext, MESSAGE_HASH, NamedValue, Observer, SecretInputs, TraceEvent,
};
use crate::error::{Error, InternalError};
use crate::key_schedule::{
    HASH_LEN, Secret, TrafficKeys, Transcript, finished_key, message_hash, next_traffic_secret,
};
use crate::msgs::HandshakeMessage;
use crate::msgs::enums::ContentType;
use crate::record::{
    HandshakeJoiner, Inbound, RawHandshake, RecordDecrypter, RecordDeframer, RecordEncrypter,
};
use crate::states::StateName;

/// The randomness a connection draws from: any cryptographic RNG (seed one for
/// reproducible runs).
pub trait TlsRng: CryptoRng + Send {}

impl<T: CryptoRng + Send> TlsRng for T {}

mod certs;
mod send;

pub(crate) use certs::{PeerChain, send_certificate, validate_certificate};

/// Record layer, transcript and observability shared by both sides.
pub(crate) struct Core {
    side: Side,
    rng: Box<dyn TlsRng>,
    deframer: RecordDeframer,
    joiner: HandshakeJoiner,
    decrypter: Option<RecordDecrypter>,
    encrypter: Option<RecordEncrypter>,
    /// Protected handshake messages not yet sealed: a flight goes out as one record (or as
    /// few as 2^14-byte records allow), not one per message (RFC 8446 §5.1 lets a record
    /// carry several handshake messages). Sealed by [`Core::flush`].
    unsealed: Vec<u8>,
    /// The negotiated cipher suite, whose AEAD protects records (RFC 8446 §5.2).
    suite: SupportedSuite,
    transcript: Transcript,
    /// The names of the messages in the transcript, for the trace (see
    /// [`crate::TranscriptHash::messages`]).
    transcript_names: Vec<&'static str>,
    key_log: Option<Arc<dyn KeyLog>>,
    /// ClientHello.random: names the connection in the key log.
    client_random: [u8; 32],
    observer: Option<Observer>,
    events: VecDeque<Event>,
    /// Current application traffic secrets, for KeyUpdate (RFC 8446 §7.2).
    send_secret: Option<Secret>,
    recv_secret: Option<Secret>,
    /// The handshake traffic secrets in use (receiving, sending) with their finished_keys
    /// (RFC 8446 §4.4.4), derived under the same keyed HMAC as the traffic keys.
    finished_keys: [Option<(Secret, Secret)>; 2],
    /// N of the current application_traffic_secret_N each way (RFC 8446 §7.2).
    send_generation: u64,
    recv_generation: u64,
    /// A change_cipher_spec record was already dropped (RFC 8446 §D.4 allows one).
    ccs_seen: bool,
    /// Our one change_cipher_spec record was sent (RFC 8446 §D.4).
    ccs_sent: bool,
    /// True once the handshake is complete on this side.
    connected: bool,
    /// True once a protected record from the peer decrypted: from then on a plaintext
    /// alert can only be an injection and is refused.
    decrypted_any: bool,
    /// Server: bytes of the client's rejected 0-RTT data still allowed to be skipped
    /// (RFC 8446 §4.2.10); `None` when the client offered none.
    early_data_budget: Option<usize>,
}

/// How much rejected 0-RTT data a server skips before treating records as attacks: four
/// full records.
pub const MAX_EARLY_DATA_SKIP: usize = 4 * (16_384 + 256);

impl Core {
    pub fn new(side: Side, rng: Box<dyn TlsRng>, key_log: Option<Arc<dyn KeyLog>>) -> Self {
        Self {
            side,
            rng,
            deframer: RecordDeframer::new(),
            joiner: HandshakeJoiner::new(),
            decrypter: None,
            encrypter: None,
            unsealed: Vec::new(),
            suite: SupportedSuite::ALL[0],
            transcript: Transcript::new(),
            // A full handshake names about ten messages.
            transcript_names: Vec::with_capacity(12),
            key_log,
            client_random: [0; 32],
            observer: None,
            events: VecDeque::new(),
            send_secret: None,
            recv_secret: None,
            finished_keys: [None, None],
            send_generation: 0,
            recv_generation: 0,
            ccs_seen: false,
            ccs_sent: false,
            connected: false,
            decrypted_any: false,
            early_data_budget: None,
        }
    }

    /// Client or server.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The connection's RNG, for signatures.
    pub fn rng(&mut self) -> &mut dyn TlsRng {
        &mut *self.rng
    }

    /// Random bytes.
    pub fn random<const N: usize>(&mut self) -> [u8; N] {
        let mut bytes = [0u8; N];
        self.rng.fill_bytes(&mut bytes);
        bytes
    }

    /// ClientHello.random, which names the connection in the key log.
    pub fn client_random(&self) -> [u8; 32] {
        self.client_random
    }

    /// Sets ClientHello.random (the client draws it; the server reads it from the hello).
    pub fn set_client_random(&mut self, random: [u8; 32]) {
        self.client_random = random;
    }

    /// Queues an event for the caller.
    pub fn push_event(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// The next event, in order.
    pub fn next_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether the handshake is complete on this side.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Marks the handshake complete and tells the caller.
    pub fn handshake_complete(&mut self) {
        self.connected = true;
        self.events.push_back(Event::HandshakeComplete);
    }

    /// Drops a change_cipher_spec record (RFC 8446 §5, §D.4): one may arrive after the
    /// first ClientHello and before the peer's Finished. `awaiting_hello` says the server is
    /// in START, where it is allowed only after a ClientHello went by (HelloRetryRequest).
    pub fn change_cipher_spec(&mut self, awaiting_hello: bool) -> Result<(), Error> {
        let before_first_hello = awaiting_hello && self.transcript.is_empty();
        if self.connected || self.ccs_seen || before_first_hello {
            return Err(Error::UnexpectedMessage {
                expected: "a handshake message",
                got: "change_cipher_spec".into(),
            });
        }
        self.ccs_seen = true;
        self.trace(&TraceEvent::ChangeCipherSpec {
            direction: Direction::Received,
        });
        Ok(())
    }

    pub fn set_observer(&mut self, observer: Observer) {
        self.observer = Some(observer);
    }

    /// Whether an observer is set: values that only the trace needs are computed only
    /// then.
    pub fn tracing(&self) -> bool {
        self.observer.is_some()
    }

    /// Whether anybody looks at the secrets (an observer or a key log): secrets that only
    /// they need are derived only then.
    pub fn wants_secrets(&self) -> bool {
        self.tracing() || self.key_log.is_some()
    }

    /// The messages the transcript holds so far, by name (for the trace; empty when
    /// nobody observes, which spares the copy).
    pub fn transcript_messages(&self) -> Vec<&'static str> {
        if !self.tracing() {
            return Vec::new();
        }
        self.transcript_names.clone()
    }

    pub fn trace(&mut self, event: &TraceEvent<'_>) {
        if let Some(observer) = self.observer.as_mut() {
            observer(event);
        }
    }

    /// Reports a transition of RFC 8446 Appendix A; `from` and `to` are states of one side.
    pub fn transition<S: Into<StateName>>(&mut self, from: S, to: S) {
        self.trace(&TraceEvent::Transition {
            from: from.into(),
            to: to.into(),
        });
    }

    /// Reports a secret to the trace hook and, when it has an NSS label, the key log.
    pub fn secret(
        &mut self,
        label: &str,
        derivation: &'static str,
        nss: Option<&str>,
        value: &[u8],
        inputs: SecretInputs<'_>,
    ) {
        self.trace(&TraceEvent::Secret {
            label,
            derivation,
            value,
            inputs,
        });
        if let (Some(nss), Some(log)) = (nss, self.key_log.as_ref()) {
            log.log(nss, &self.client_random, value);
        }
    }

    /// Queues bytes from the transport.
    pub fn push_input(&mut self, input: &[u8]) {
        self.deframer.push(input);
    }

    /// Server: the client offered early data, which keylab never accepts; skip it
    /// (RFC 8446 §4.2.10: "skip past early data" by trial decryption, or by dropping
    /// application_data records before the handshake keys are in place). `false` stops it.
    pub fn skip_early_data(&mut self, skip: bool) {
        self.early_data_budget = skip.then_some(MAX_EARLY_DATA_SKIP);
    }

    /// Whether a record of `len` bytes may be dropped as rejected early data; spends the
    /// budget.
    fn skip_as_early_data(&mut self, len: usize) -> bool {
        match self.early_data_budget {
            Some(budget) if len <= budget => {
                self.early_data_budget = Some(budget - len);
                true
            }
            _ => false,
        }
    }

    /// Reads the next complete record into the joiner; false when more bytes are needed.
    pub fn read_record(&mut self) -> Result<bool, Error> {
        let Some(record) = self.deframer.pop()? else {
            return Ok(false);
        };
        let len = record.payload.len();
        if self.decrypter.is_none()
            && record.typ == ContentType::ApplicationData
            && self.skip_as_early_data(len)
        {
            return Ok(true);
        }
        let early = self.early_data_budget.is_some();
        let plain = match (&mut self.decrypter, record.typ) {
            // RFC 8446 §5: change_cipher_spec stays unprotected.
            (_, ContentType::ChangeCipherSpec) | (None, _) => record.into_plain(),
            // A peer that failed before it had the keys can only send a plaintext alert;
            // accept it so its reason reaches the user — but only until the peer's
            // protected records start arriving.
            (Some(_), ContentType::Alert) if !self.decrypted_any => record.into_plain(),
            (Some(decrypter), _) => {
                let result = if early {
                    decrypter.trial_decrypt(record)
                } else {
                    decrypter.decrypt(record)
                };
                match result {
                    Err(Error::DecryptFailed) if early && self.skip_as_early_data(len) => {
                        return Ok(true);
                    }
                    result => {
                        // The first record under the handshake keys ends the early data.
                        self.early_data_budget = None;
                        let plain = result?;
                        self.decrypted_any = true;
                        plain
                    }
                }
            }
        };
        if plain.typ == ContentType::ApplicationData && self.decrypter.is_none() {
            return Err(crate::error::RecordError::UnexpectedContentType(plain.typ).into());
        }
        self.joiner.push(plain)?;
        Ok(true)
    }

    /// The next item the joiner has ready.
    pub fn next_inbound(&mut self) -> Option<Inbound> {
        self.joiner.pop()
    }

    /// Fails when handshake data is buffered that would span a key change (§5.1).
    pub fn check_key_change(&self) -> Result<(), Error> {
        self.joiner.check_key_change()
    }

    /// The suite the next traffic keys are for: set once it is negotiated, before the
    /// first key change.
    pub fn set_suite(&mut self, suite: SupportedSuite) {
        self.suite = suite;
    }

    /// Switches the receiving keys to a handshake traffic secret; a handshake message may
    /// not span the change (§5.1). Its finished_key is derived with the keys.
    pub fn set_read_secret(&mut self, secret: &Secret) -> Result<(), Error> {
        self.joiner.check_key_change()?;
        let (keys, finished) = TrafficKeys::derive_with_finished_key(self.suite, secret);
        self.decrypter = Some(RecordDecrypter::new(&keys));
        self.finished_keys[0] = Some((secret.clone(), finished));
        Ok(())
    }

    /// Switches the sending keys to a handshake traffic secret, deriving its finished_key
    /// with them. It is the first sending key: a protected message written before it
    /// would be sealed under the wrong key, and is refused.
    pub fn set_write_secret(&mut self, secret: &Secret) -> Result<(), Error> {
        if !self.unsealed.is_empty() {
            return Err(InternalError::UnsealedAtKeyChange.into());
        }
        let (keys, finished) = TrafficKeys::derive_with_finished_key(self.suite, secret);
        self.encrypter = Some(RecordEncrypter::new(&keys));
        self.finished_keys[1] = Some((secret.clone(), finished));
        Ok(())
    }

    /// finished_key = HKDF-Expand-Label(base_key, "finished", "", Hash.length) (RFC 8446
    /// §4.4.4): the one derived with the traffic keys when `base_key` is a handshake
    /// secret in use, computed otherwise.
    pub fn finished_key(&self, base_key: &Secret) -> Secret {
        let cached = self
            .finished_keys
            .iter()
            .flatten()
            .find(|(base, _)| bool::from(base.as_bytes().ct_eq(base_key.as_bytes())));
        match cached {
            Some((_, key)) => key.clone(),
            None => finished_key(base_key),
        }
    }

    /// Switches the receiving keys to an application traffic secret, kept for KeyUpdate.
    pub fn set_app_read_secret(&mut self, secret: Secret) -> Result<(), Error> {
        self.joiner.check_key_change()?;
        self.decrypter = Some(RecordDecrypter::new(&TrafficKeys::derive(
            self.suite, &secret,
        )));
        self.recv_secret = Some(secret);
        self.finished_keys[0] = None;
        Ok(())
    }

    /// Switches the sending keys to an application traffic secret, kept for KeyUpdate;
    /// what was written under the old keys is sealed with them into `out` first.
    pub fn set_app_write_secret(&mut self, secret: Secret, out: &mut Vec<u8>) -> Result<(), Error> {
        self.flush(out)?;
        self.encrypter = Some(RecordEncrypter::new(&TrafficKeys::derive(
            self.suite, &secret,
        )));
        self.send_secret = Some(secret);
        self.finished_keys[1] = None;
        Ok(())
    }

    /// RFC 8446 §7.2: the next receiving application traffic secret, after a KeyUpdate.
    pub fn update_read_secret(&mut self) -> Result<(), Error> {
        let next = next_secret(self.recv_secret.as_ref())?;
        self.recv_generation += 1;
        let peer_is_client = self.side == Side::Server;
        self.trace_next_secret(peer_is_client, self.recv_generation, &next);
        self.set_app_read_secret(next)
    }

    /// RFC 8446 §7.2: the next sending application traffic secret, after our KeyUpdate.
    pub fn update_write_secret(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        let next = next_secret(self.send_secret.as_ref())?;
        self.send_generation += 1;
        let we_are_client = self.side == Side::Client;
        self.trace_next_secret(we_are_client, self.send_generation, &next);
        self.set_app_write_secret(next, out)
    }

    /// Reports application_traffic_secret_N+1 = HKDF-Expand-Label(
    /// application_traffic_secret_N, "traffic upd", "", 32) to the trace.
    fn trace_next_secret(&mut self, client: bool, generation: u64, next: &Secret) {
        let current = if client == (self.side == Side::Client) {
            self.send_secret.as_ref()
        } else {
            self.recv_secret.as_ref()
        };
        let (Some(current), true) = (current.cloned(), self.tracing()) else {
            return;
        };
        let who = if client { "client" } else { "server" };
        let name = format!("{who}_application_traffic_secret_{generation}");
        let input = format!("{who}_application_traffic_secret_{}", generation - 1);
        self.secret(
            &name,
            "HKDF-Expand-Label(application_traffic_secret_N, \"traffic upd\", \"\", 32)",
            // The NSS key log names only the _0 secrets; readers derive the rest.
            None,
            next.as_bytes(),
            SecretInputs::ExpandLabel {
                secret: NamedValue {
                    name: &input,
                    value: current.as_bytes(),
                },
                label: "traffic upd",
                context: HkdfContext::Empty,
                length: HASH_LEN,
            },
        );
    }

    /// Decodes and traces a handshake message from the peer and adds it to the
    /// transcript; the result keeps the transcript as it was before the message.
    pub fn receive_handshake(&mut self, raw: &RawHandshake) -> Result<Received, Error> {
        let msg = self.receive_post_handshake(raw)?;
        // Copying the running hash is cheap; only the states that need the hash before
        // the message (Finished, CertificateVerify, PSK binders) finish it.
        let before = self.transcript.clone();
        let from_client = self.side == Side::Server;
        self.add_to_transcript(&msg, &raw.bytes, from_client);
        Ok(Received { msg, before })
    }

    /// Decodes and traces a handshake message from the peer without adding it to the
    /// transcript: NewSessionTicket and KeyUpdate (RFC 8446 §4.4.1).
    pub fn receive_post_handshake(
        &mut self,
        raw: &RawHandshake,
    ) -> Result<HandshakeMessage, Error> {
        let msg = raw.decode()?;
        let encrypted = self.decrypter.is_some();
        self.trace(&TraceEvent::Message {
            direction: Direction::Received,
            message: &msg,
            bytes: &raw.bytes,
            encrypted,
        });
        Ok(msg)
    }

    /// The one place the transcript grows.
    fn add_to_transcript(&mut self, msg: &HandshakeMessage, bytes: &[u8], from_client: bool) {
        // RFC 8446 §4.4.1: a HelloRetryRequest turns ClientHello1 into message_hash, on
        // both sides, before it is added itself.
        if let HandshakeMessage::HelloRetryRequest(_) = msg {
            if self.tracing() {
                let client_hello1_hash = self.transcript.current_hash();
                self.trace(&TraceEvent::MessageHash {
                    client_hello1_hash: &client_hello1_hash,
                    message: &message_hash(&client_hello1_hash),
                });
            }
            self.transcript.replace_with_message_hash();
            self.transcript_names.clear();
            self.transcript_names.push(MESSAGE_HASH);
        }
        self.transcript.add(bytes);
        self.transcript_names
            .push(transcript_name(msg, from_client));
    }

    /// Transcript-Hash of the messages so far (RFC 8446 §4.4.1).
    pub fn transcript_hash(&self) -> [u8; HASH_LEN] {
        self.transcript.current_hash()
    }

    /// Transcript-Hash of the messages so far followed by `extra`: a PSK binder's hash
    /// (RFC 8446 §4.2.11.2).
    pub fn transcript_hash_with(&self, extra: &[u8]) -> [u8; HASH_LEN] {
        self.transcript.hash_with(extra)
    }
}

/// A message's name in [`crate::TranscriptHash::messages`]: the messages both sides
/// send carry their sender.
fn transcript_name(msg: &HandshakeMessage, from_client: bool) -> &'static str {
    match (msg, from_client) {
        (HandshakeMessage::Certificate(_), true) => "client Certificate",
        (HandshakeMessage::Certificate(_), false) => "server Certificate",
        (HandshakeMessage::CertificateVerify(_), true) => "client CertificateVerify",
        (HandshakeMessage::CertificateVerify(_), false) => "server CertificateVerify",
        (HandshakeMessage::Finished(_), true) => "client Finished",
        (HandshakeMessage::Finished(_), false) => "server Finished",
        (other, _) => other.name(),
    }
}

/// application_traffic_secret_N+1 (RFC 8446 §7.2), once there is an N.
fn next_secret(current: Option<&Secret>) -> Result<Secret, Error> {
    current
        .map(next_traffic_secret)
        .ok_or(Error::Usage("no traffic secret"))
}

/// A handshake message from the peer as a state gets it: decoded and already in the
/// transcript.
pub(crate) struct Received {
    pub msg: HandshakeMessage,
    /// The transcript before this message: Finished and CertificateVerify are checked
    /// against its hash (RFC 8446 §4.4.3, §4.4.4), PSK binders against it and a partial
    /// ClientHello (§4.2.11.2).
    pub before: Transcript,
}

/// Builds the "wrong message here" error (one helper for every state).
pub(crate) fn unexpected(expected: &'static str, got: &HandshakeMessage) -> Error {
    Error::UnexpectedMessage {
        expected,
        got: got.name().to_owned(),
    }
}
