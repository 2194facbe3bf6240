//! The peer of the `client_messages` and `server_messages` entry points: a TLS 1.3 key
//! schedule (RFC 8446 §7.1) that follows both directions of a connection through their
//! plaintext handshake messages, so that the fuzzer's plaintext can be framed and
//! encrypted under the keys the connection under test expects.
//!
//! It tracks the transcript (§4.4.1, with the message_hash of §4.4.1 after a
//! HelloRetryRequest) from the messages it sends and the ones it reads back from the
//! connection's output, derives the handshake secrets from a ServerHello (its own fixed
//! x25519 key [`PEER_X25519_KEY`] against the other side's share; the PSK the ServerHello
//! selects, if any), the application secrets from the server's Finished, and follows
//! KeyUpdate (§7.2). Each side's write keys change after the record that carries the
//! message changing them. It never checks what it reads: a connection under test that goes
//! astray just leaves the peer without keys.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use x25519_dalek::{PublicKey as X25519Public, StaticSecret};

use super::{NOW, PSK_IDENTITY, PSK_KEY, TICKET_KEY};
use crate::SupportedSuite;
use crate::auth::{Side, sign_certificate_verify};
use crate::config::Identity;
use crate::key_schedule::{
    EarlySecret, HandshakeSecret, PskKind, Secret, TrafficKeys, Transcript, next_traffic_secret,
    verify_data,
};
use crate::msgs::enums::{ContentType, NamedGroup, ProtocolVersion};
use crate::msgs::{ClientHello, HandshakeMessage, OfferedPsks, ServerHello, binder_prefix};
use crate::record::{
    HandshakeJoiner, Inbound, RecordDecrypter, RecordDeframer, RecordEncrypter, write_plaintext,
};
use crate::tickets::Tickets;

/// The peer's x25519 private key; its public key must be in the key_share of the
/// ClientHello or ServerHello the fuzzer sends for the handshake keys to match.
pub const PEER_X25519_KEY: [u8; 32] = [0x42; 32];

/// The public key of [`PEER_X25519_KEY`], as a key_share carries it (RFC 8446 §4.2.8.2).
pub fn peer_x25519_public() -> [u8; 32] {
    X25519Public::from(&StaticSecret::from(PEER_X25519_KEY)).to_bytes()
}

/// The largest record content (RFC 8446 §5.1: 2^14 bytes).
const MAX_FRAGMENT: usize = 1 << 14;

/// Handshake message types (RFC 8446 §4) the key schedule reacts to.
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const NEW_SESSION_TICKET: u8 = 4;
const CERTIFICATE_VERIFY: u8 = 15;
const FINISHED: u8 = 20;
const KEY_UPDATE: u8 = 24;

/// The peer of a connection under test; `role` is the side it plays.
pub(super) struct Peer {
    role: Side,
    transcript: Transcript,
    key: StaticSecret,
    /// The latest ClientHello, for its key share and PSK identities.
    client_hello: Option<ClientHello>,
    handshake: Option<HandshakeSecret>,
    /// The client's application secret, until the client's Finished.
    pending_client: Option<Secret>,
    /// The current traffic secret of each direction: client, server.
    secrets: [Option<Secret>; 2],
    write: Option<RecordEncrypter>,
    /// Keys for the next record the peer writes, once a message changed them.
    next_write: Option<RecordEncrypter>,
    read: Option<RecordDecrypter>,
    deframer: RecordDeframer,
    joiner: HandshakeJoiner,
    read_failed: bool,
    /// The start of a handshake message the peer sent without its end yet.
    pending: Vec<u8>,
    tickets: Tickets,
    identity: Option<std::sync::Arc<Identity>>,
    rng: ChaCha20Rng,
}

fn index(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}

fn other(side: Side) -> Side {
    match side {
        Side::Client => Side::Server,
        Side::Server => Side::Client,
    }
}

impl Peer {
    /// A peer playing `role`, signing its CertificateVerify with `identity`'s key.
    pub(super) fn new(role: Side, identity: Option<std::sync::Arc<Identity>>) -> Self {
        Self {
            role,
            transcript: Transcript::new(),
            key: StaticSecret::from(PEER_X25519_KEY),
            client_hello: None,
            handshake: None,
            pending_client: None,
            secrets: [None, None],
            write: None,
            next_write: None,
            read: None,
            deframer: RecordDeframer::new(),
            joiner: HandshakeJoiner::new(),
            read_failed: false,
            pending: Vec::new(),
            tickets: Tickets::new(&TICKET_KEY),
            identity,
            rng: ChaCha20Rng::seed_from_u64(super::SERVER_SEED ^ super::CLIENT_SEED),
        }
    }

    /// Frames `body` (handshake bytes: whole messages, or fragments) as the peer's next
    /// handshake record(s); with `fix`, each whole message in `body` first gets its
    /// computed fields (see [`Peer::fix`]). A message split over records joins the
    /// transcript once its last fragment is sent.
    pub(super) fn handshake(&mut self, body: &[u8], fix: bool, out: &mut Vec<u8>) {
        self.promote();
        let mut sent = Vec::with_capacity(body.len());
        let mut rest = self.complete_pending(body, &mut sent);
        while let Some(len) = whole_message_len(rest) {
            let (message, tail) = rest.split_at(len);
            let message = if fix {
                self.fix(message)
            } else {
                message.to_vec()
            };
            self.on_message(&message, self.role);
            sent.extend_from_slice(&message);
            rest = tail;
        }
        self.pending.extend_from_slice(rest);
        sent.extend_from_slice(rest);
        self.seal(ContentType::Handshake, &sent, out);
    }

    /// Feeds the start of `body` to the message an earlier record left incomplete, as it
    /// is; returns the rest.
    fn complete_pending<'b>(&mut self, mut body: &'b [u8], sent: &mut Vec<u8>) -> &'b [u8] {
        while !self.pending.is_empty() && !body.is_empty() {
            let wanted = whole_message_len(&self.pending)
                .or_else(|| declared_len(&self.pending))
                .unwrap_or(4);
            let n = wanted.saturating_sub(self.pending.len()).min(body.len());
            let (head, tail) = body.split_at(n);
            self.pending.extend_from_slice(head);
            sent.extend_from_slice(head);
            body = tail;
            if whole_message_len(&self.pending) == Some(self.pending.len()) {
                let message = std::mem::take(&mut self.pending);
                self.on_message(&message, self.role);
            }
        }
        body
    }

    /// Frames `body` as one record of `typ`: protected once the peer has write keys.
    pub(super) fn protect(&mut self, typ: ContentType, body: &[u8], out: &mut Vec<u8>) {
        self.promote();
        self.seal(typ, body, out);
    }

    /// Keys a message changed apply from the next record on.
    fn promote(&mut self) {
        if let Some(next) = self.next_write.take() {
            self.write = Some(next);
        }
    }

    fn seal(&mut self, typ: ContentType, body: &[u8], out: &mut Vec<u8>) {
        let Some(enc) = self.write.as_mut() else {
            plaintext(typ, body, out);
            return;
        };
        for piece in body.chunks(MAX_FRAGMENT) {
            // Cannot fail: the piece fits a record and the sequence number is small.
            let _ = enc.encrypt(typ, piece, 0, out);
        }
        if body.is_empty() && typ == ContentType::ApplicationData {
            let _ = enc.encrypt(typ, body, 0, out);
        }
    }

    /// Reads what the connection under test wrote: its handshake messages join the
    /// transcript and move its keys. Stops at the first record it cannot read.
    pub(super) fn read(&mut self, written: &[u8]) {
        if self.read_failed {
            return;
        }
        self.deframer.push(written);
        self.read_failed = self.read_records().is_none();
    }

    /// Reads every whole record buffered; `None` at the first one it cannot read.
    fn read_records(&mut self) -> Option<()> {
        while let Some(record) = self.deframer.pop().ok()? {
            let plain = if record.typ == ContentType::ApplicationData {
                self.read.as_mut()?.decrypt(record).ok()?
            } else {
                record.into_plain()
            };
            self.joiner.push(plain).ok()?;
            while let Some(item) = self.joiner.pop() {
                if let Inbound::Handshake(raw) = item {
                    self.on_message(&raw.bytes, other(self.role));
                }
            }
        }
        Some(())
    }

    /// The message with what the fuzzer cannot compute filled in: the binders of a
    /// ClientHello's pre_shared_key (RFC 8446 §4.2.11.2), the signature of a
    /// CertificateVerify (§4.4.3, with the scheme it names) and the verify_data of a
    /// Finished (§4.4.4). A message that does not decode, or whose field has an unexpected
    /// length, is left as it is.
    fn fix(&mut self, message: &[u8]) -> Vec<u8> {
        let fixed = match message[0] {
            CLIENT_HELLO => self.fix_binders(message),
            CERTIFICATE_VERIFY => self.fix_signature(message),
            FINISHED => self.fix_finished(message),
            _ => None,
        };
        fixed.unwrap_or_else(|| message.to_vec())
    }

    fn fix_binders(&self, message: &[u8]) -> Option<Vec<u8>> {
        let HandshakeMessage::ClientHello(ch) = HandshakeMessage::decode(message).ok()? else {
            return None;
        };
        let offer: &OfferedPsks = ch.extensions.offered_psks()?;
        let prefix = binder_prefix(message, offer)?;
        let hash = self.transcript.hash_with(prefix);
        let mut fixed = prefix.to_vec();
        fixed.extend_from_slice(&message[prefix.len()..prefix.len() + 2]);
        for (identity, binder) in offer.identities.iter().zip(&offer.binders) {
            let computed = self
                .psk(&identity.identity, identity.obfuscated_ticket_age)
                .filter(|_| binder.len() == 32)
                .map(|(secret, kind)| {
                    let key = EarlySecret::new(Some(&secret)).binder_key(kind);
                    verify_data(&key, &hash).to_vec()
                });
            fixed.push(u8::try_from(binder.len()).ok()?);
            fixed.extend_from_slice(computed.as_deref().unwrap_or(binder));
        }
        (fixed.len() == message.len()).then_some(fixed)
    }

    fn fix_signature(&mut self, message: &[u8]) -> Option<Vec<u8>> {
        let HandshakeMessage::CertificateVerify(mut cv) = HandshakeMessage::decode(message).ok()?
        else {
            return None;
        };
        let key = self.identity.as_ref()?.key()?;
        let hash = self.transcript.current_hash();
        cv.signature =
            sign_certificate_verify(key, cv.algorithm, self.role, &hash, &mut self.rng).ok()?;
        HandshakeMessage::CertificateVerify(cv).to_bytes().ok()
    }

    fn fix_finished(&self, message: &[u8]) -> Option<Vec<u8>> {
        let secret = self.secrets[index(self.role)].as_ref()?;
        let HandshakeMessage::Finished(mut fin) = HandshakeMessage::decode(message).ok()? else {
            return None;
        };
        if fin.verify_data.len() != 32 {
            return None;
        }
        fin.verify_data = verify_data(secret, &self.transcript.current_hash()).to_vec();
        HandshakeMessage::Finished(fin).to_bytes().ok()
    }

    /// A message `from` one side: the transcript and the keys follow it.
    fn on_message(&mut self, message: &[u8], from: Side) {
        match message[0] {
            NEW_SESSION_TICKET => {}
            KEY_UPDATE => self.key_update(from),
            CLIENT_HELLO => {
                self.transcript.add(message);
                if let Ok(HandshakeMessage::ClientHello(ch)) = HandshakeMessage::decode(message) {
                    self.client_hello = Some(ch);
                }
            }
            SERVER_HELLO => match HandshakeMessage::decode(message) {
                Ok(HandshakeMessage::HelloRetryRequest(_)) => {
                    self.transcript.replace_with_message_hash();
                    self.transcript.add(message);
                }
                Ok(HandshakeMessage::ServerHello(sh)) => {
                    self.transcript.add(message);
                    self.handshake_keys(&sh);
                }
                _ => self.transcript.add(message),
            },
            FINISHED => {
                self.transcript.add(message);
                self.finished(from);
            }
            _ => self.transcript.add(message),
        }
    }

    /// RFC 8446 §7.1: the handshake traffic secrets after a ServerHello.
    fn handshake_keys(&mut self, sh: &ServerHello) {
        let Some(ch) = self.client_hello.as_ref() else {
            return;
        };
        let their_share = match self.role {
            Side::Server => ch
                .extensions
                .client_key_shares()
                .and_then(|shares| shares.iter().find(|s| s.group == NamedGroup::X25519))
                .map(|s| s.key_exchange.as_slice()),
            Side::Client => sh
                .extensions
                .server_key_share()
                .map(|s| s.key_exchange.as_slice()),
        };
        let ecdhe = their_share
            .and_then(|share| <[u8; 32]>::try_from(share).ok())
            .map(|share| {
                self.key
                    .diffie_hellman(&X25519Public::from(share))
                    .to_bytes()
            });
        let psk = sh.extensions.selected_psk().and_then(|i| {
            let offer = ch.extensions.offered_psks()?;
            let id = offer.identities.get(usize::from(i))?;
            self.psk(&id.identity, id.obfuscated_ticket_age)
        });
        let early = EarlySecret::new(psk.as_ref().map(|(secret, _)| secret.as_slice()));
        let handshake = early.into_handshake_secret(ecdhe.as_ref().map(|s| s.as_slice()));
        let hash = self.transcript.current_hash();
        let client = handshake.client_handshake_traffic_secret(&hash);
        let server = handshake.server_handshake_traffic_secret(&hash);
        self.handshake = Some(handshake);
        self.set_secret(Side::Client, client);
        self.set_secret(Side::Server, server);
    }

    /// After the server's Finished, the application traffic secrets (§7.1); each side
    /// switches to its own once it has sent its Finished.
    fn finished(&mut self, from: Side) {
        if from == Side::Server
            && let Some(handshake) = self.handshake.take()
        {
            let hash = self.transcript.current_hash();
            let master = handshake.into_master_secret();
            let client = master.client_application_traffic_secret_0(&hash);
            let server = master.server_application_traffic_secret_0(&hash);
            self.set_secret(Side::Server, server);
            self.pending_client = Some(client);
        } else if from == Side::Client
            && let Some(client) = self.pending_client.take()
        {
            self.set_secret(Side::Client, client);
        }
    }

    /// §7.2: a KeyUpdate moves its sender's traffic secret one step.
    fn key_update(&mut self, from: Side) {
        if let Some(current) = self.secrets[index(from)].as_ref() {
            let next = next_traffic_secret(current);
            self.set_secret(from, next);
        }
    }

    fn set_secret(&mut self, side: Side, secret: Secret) {
        // The fuzzing connections negotiate TLS_CHACHA20_POLY1305_SHA256 (their first
        // preference, and what the seeds' ServerHellos choose).
        let keys = TrafficKeys::derive(SupportedSuite::Chacha20Poly1305Sha256, &secret);
        if side == self.role {
            self.next_write = Some(RecordEncrypter::new(&keys));
        } else {
            self.read = Some(RecordDecrypter::new(&keys));
        }
        self.secrets[index(side)] = Some(secret);
    }

    /// The PSK behind an offered identity: the external PSK [`PSK_IDENTITY`], or a ticket
    /// sealed under [`TICKET_KEY`] (opened at [`NOW`]).
    fn psk(&self, identity: &[u8], obfuscated_age: u32) -> Option<(Vec<u8>, PskKind)> {
        if identity == PSK_IDENTITY.as_bytes() {
            return Some((PSK_KEY.to_vec(), PskKind::External));
        }
        let state = self
            .tickets
            .accept(identity, obfuscated_age, now_ms())
            .ok()?;
        Some((state.psk.to_vec(), PskKind::Resumption))
    }
}

/// [`NOW`] in milliseconds since the epoch, as a server reads ticket ages.
fn now_ms() -> u64 {
    u64::try_from(NOW.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// The length, header included, that the handshake header at the start of `bytes`
/// declares (RFC 8446 §4: a 3-byte length after the type).
fn declared_len(bytes: &[u8]) -> Option<usize> {
    let header = bytes.get(..4)?;
    Some(4 + (usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3])))
}

/// The length of the whole handshake message at the start of `bytes`, if it is all there.
fn whole_message_len(bytes: &[u8]) -> Option<usize> {
    declared_len(bytes).filter(|len| bytes.len() >= *len)
}

/// Unprotected records of `typ` holding `body`; an empty body still makes one record, so
/// that the fuzzer reaches the checks of empty records (RFC 8446 §5.1).
pub(super) fn plaintext(typ: ContentType, body: &[u8], out: &mut Vec<u8>) {
    if body.is_empty() {
        out.extend_from_slice(&[typ.to_u8(), 3, 3, 0, 0]);
        return;
    }
    // Cannot fail: the body is not empty.
    let _ = write_plaintext(typ, ProtocolVersion::Tls12, body, out);
}
