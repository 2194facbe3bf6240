//! The crypto floor: the cryptographic operations each side of a handshake cannot avoid,
//! done directly with the crates keylab uses (x25519-dalek, p256, ed25519-dalek, rsa,
//! sha2, hkdf, chacha20poly1305, aes-gcm) and nothing else — no parsing, no encoding, no
//! allocation beyond what those crates do.
//!
//! Per side, on both paths:
//! - X25519 or secp256r1 (the case's group): a key pair (a base-point multiplication) and
//!   the agreement; for secp256r1 also the decoding of the peer's uncompressed point with
//!   its on-curve check (RFC 8446 §4.2.8.2).
//! - The key schedule of RFC 8446 §7.1 without PSK: HKDF-Extract of the handshake and
//!   master secrets, Derive-Secret of the four traffic secrets and of "derived", key and
//!   IV of those four secrets (§7.3, the key as long as the suite's), both finished_keys
//!   and both Finished HMACs (§4.4.4).
//!   The early secret and the first "derived" salt are constants and are precomputed.
//!   HKDF-Extract is one HMAC; each secret is keyed into HMAC once for all the
//!   HKDF-Expand-Label calls made under it.
//! - SHA-256 over the real transcript of a keylab handshake, finalised where a hash is
//!   needed (after ServerHello, before each CertificateVerify and Finished, after the
//!   server's Finished).
//! - The case's AEAD (ChaCha20-Poly1305 or AES-128-GCM) sealing its own encrypted flight
//!   and opening the peer's, each flight as one record (keylab's real flights and the
//!   content-type byte, so the byte counts match) authenticating its 5-byte record header
//!   (RFC 8446 §5.2).
//!
//! Authentication:
//! - Server: signs its CertificateVerify (Ed25519, RSASSA-PSS-SHA256 or ECDSA P-256;
//!   `auth.rs`).
//! - Client: decodes the keys of the server's leaf and intermediate, verifies the
//!   intermediate's signature with the root's key (a trust anchor, decoded ahead), the
//!   leaf's with the intermediate's, and the CertificateVerify with the leaf's.
//! - Certificate path only: the client signs its CertificateVerify and the server does the
//!   client's chain and CertificateVerify checks as above.

use std::hint::black_box;
use std::sync::{Arc, Mutex};

use aes_gcm::Aes128Gcm;
use chacha20poly1305::aead::{self, AeadInOut};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use handshake::{Connection, Direction, SupportedGroup, SupportedSuite, TraceEvent};
use hkdf::Hkdf;
use hkdf::hmac::{Hmac, Mac};
use p256::elliptic_curve::sec1::ToSec1Point as _;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x25519_dalek::{PublicKey as X25519Public, StaticSecret};

use crate::auth::{PeerAuth, SecretKey};
use crate::cases::{Case, SERVER_NAME};
use crate::ours::Keylab;

/// Everything the floor of one case needs, prepared ahead.
pub struct Floor {
    /// The server's CertificateVerify key.
    server_key: SecretKey,
    /// What the client checks of the server.
    server_auth: PeerAuth,
    /// Certificate path: the client's key and what the server checks of the client.
    client: Option<(SecretKey, PeerAuth)>,
    schedule: Schedule,
    /// A peer key share to agree with.
    peer_share: PeerShare,
}

/// A peer's key share, of the case's group.
enum PeerShare {
    X25519(X25519Public),
    /// The 65-byte uncompressed point, as it arrives.
    Secp256r1(Vec<u8>),
}

impl Floor {
    /// Prepares the floor of `case` from the fixtures and one real keylab handshake.
    pub fn new(case: Case) -> Self {
        let h = case.hierarchy();
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        // One side's key, and what its peer checks of that side.
        let side = |key: &str, chain: &str, context: &[u8], rng: &mut ChaCha20Rng| {
            let key = SecretKey::from_pem(key, case.key);
            let auth = PeerAuth::new(chain, h.root, &key, context, case.key, rng);
            (key, auth)
        };
        let server_context = b"TLS 1.3, server CertificateVerify";
        let (server_key, server_auth) =
            side(h.server_key, h.server_chain, server_context, &mut rng);
        let client_context = b"TLS 1.3, client CertificateVerify";
        let client = case
            .mutual
            .then(|| side(h.client_key, h.client_chain, client_context, &mut rng));
        let peer_share = match case.group {
            SupportedGroup::X25519 => {
                PeerShare::X25519(X25519Public::from(&StaticSecret::from(random32(&mut rng))))
            }
            SupportedGroup::Secp256r1 => {
                let key = p256_key(&mut rng).public_key();
                PeerShare::Secp256r1(key.to_sec1_point(false).as_bytes().to_vec())
            }
        };
        Self {
            server_key,
            server_auth,
            client,
            schedule: Schedule::new(&Keylab::new(case), case.suite),
            peer_share,
        }
    }

    /// The client's share of the floor.
    pub fn client(&self, rng: &mut ChaCha20Rng, scratch: &mut Vec<u8>) {
        let shared = self.agree(rng);
        self.server_auth.verify();
        if let Some((key, _)) = &self.client {
            key.sign_and_drop(b"TLS 1.3, client CertificateVerify", rng);
        }
        self.schedule.run(&shared);
        self.schedule.seal(false, scratch);
        self.schedule.open(true, scratch);
    }

    /// The server's share of the floor.
    pub fn server(&self, rng: &mut ChaCha20Rng, scratch: &mut Vec<u8>) {
        let shared = self.agree(rng);
        self.server_key
            .sign_and_drop(b"TLS 1.3, server CertificateVerify", rng);
        if let Some((_, auth)) = &self.client {
            auth.verify();
        }
        self.schedule.run(&shared);
        self.schedule.seal(true, scratch);
        self.schedule.open(false, scratch);
    }

    /// A fresh key pair of the case's group and the agreement with the peer's share.
    fn agree(&self, rng: &mut ChaCha20Rng) -> [u8; 32] {
        match &self.peer_share {
            PeerShare::X25519(peer) => {
                let secret = StaticSecret::from(random32(rng));
                black_box(X25519Public::from(&secret));
                secret.diffie_hellman(peer).to_bytes()
            }
            PeerShare::Secp256r1(point) => {
                let secret = p256_key(rng);
                black_box(secret.public_key());
                let peer = p256::PublicKey::from_sec1_bytes(point).expect("peer point");
                // RFC 8446 §7.4.1: the x-coordinate.
                (*secret.diffie_hellman(&peer).raw_secret_bytes()).into()
            }
        }
    }
}

/// A secp256r1 private key from 32 random bytes, drawn again if they are out of range.
fn p256_key(rng: &mut ChaCha20Rng) -> p256::SecretKey {
    loop {
        if let Ok(key) = p256::SecretKey::from_slice(&random32(rng)) {
            return key;
        }
    }
}

fn random32(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// The key schedule, transcript hash and record protection of one handshake.
struct Schedule {
    /// Derive-Secret(Early Secret, "derived", "") without PSK: a constant.
    derived0: [u8; 32],
    /// The transcript, each message with whether its hash is needed after it.
    messages: Vec<(Vec<u8>, bool)>,
    /// Indexes into the hashes taken: after ServerHello, before the server's Finished,
    /// after it, and before the client's Finished.
    at_sh: usize,
    before_sfin: usize,
    at_sfin: usize,
    before_cfin: usize,
    /// The encrypted part of each flight, plaintext.
    s2c: Vec<u8>,
    c2s: Vec<u8>,
    aead: FlightAead,
    /// The suite's AEAD key length.
    key_len: usize,
    /// Each flight sealed under `aead` with the zero nonce, tag appended.
    sealed_s2c: Vec<u8>,
    sealed_c2s: Vec<u8>,
}

/// One handshake message as the client saw it.
struct Seen {
    name: &'static str,
    from_server: bool,
    encrypted: bool,
    bytes: Vec<u8>,
}

impl Schedule {
    fn new(keylab: &Keylab, suite: SupportedSuite) -> Self {
        let seen = record_transcript(keylab);
        let mut hashes = 0;
        let mut messages = Vec::new();
        let (mut at_sh, mut before_sfin, mut at_sfin, mut before_cfin) = (0, 0, 0, 0);
        for (i, m) in seen.iter().enumerate() {
            let next = seen.get(i + 1);
            let before_cv_or_fin =
                next.is_some_and(|n| matches!(n.name, "CertificateVerify" | "Finished"));
            let after = m.name == "ServerHello" || (m.from_server && m.name == "Finished");
            let snapshot = before_cv_or_fin || after;
            if snapshot {
                if m.name == "ServerHello" {
                    at_sh = hashes;
                }
                if m.from_server && m.name == "Finished" {
                    at_sfin = hashes;
                }
                if let Some(n) = next.filter(|n| n.name == "Finished") {
                    if n.from_server {
                        before_sfin = hashes;
                    } else {
                        before_cfin = hashes;
                    }
                }
                hashes += 1;
            }
            messages.push((m.bytes.clone(), snapshot));
        }
        let flight = |server: bool| -> Vec<u8> {
            seen.iter()
                .filter(|m| m.encrypted && m.from_server == server)
                .flat_map(|m| m.bytes.iter().copied())
                .collect()
        };
        // TLSInnerPlaintext (RFC 8446 §5.2): the flight's messages, then the content type.
        let inner = |mut flight: Vec<u8>| {
            flight.push(22);
            flight
        };
        let (s2c, c2s) = (inner(flight(true)), inner(flight(false)));
        let aead = FlightAead::new(suite);
        let seal = |plain: &[u8]| {
            let mut buf = plain.to_vec();
            let tag = aead.seal(&record_header(plain.len() + 16), &mut buf);
            buf.extend_from_slice(&tag);
            buf
        };
        let (sealed_s2c, sealed_c2s) = (seal(&s2c), seal(&c2s));
        let early = extract(&[0; 32], &[0; 32]);
        let mut derived0 = [0; 32];
        expand_label(&prk(&early), b"derived", &EMPTY_HASH, &mut derived0);
        Self {
            derived0,
            messages,
            at_sh,
            before_sfin,
            at_sfin,
            before_cfin,
            s2c,
            c2s,
            aead,
            key_len: suite.key_len(),
            sealed_s2c,
            sealed_c2s,
        }
    }

    /// Transcript hashes, secrets, traffic keys and both Finished MACs.
    fn run(&self, shared: &[u8; 32]) {
        let mut hasher = Sha256::new();
        let mut hashes = [[0u8; 32]; 8];
        let mut n = 0;
        for (bytes, snapshot) in &self.messages {
            hasher.update(bytes);
            if *snapshot {
                hashes[n] = hasher.clone().finalize().into();
                n += 1;
            }
        }
        let hs = prk(&extract(&self.derived0, shared));
        let mut c_hs = [0; 32];
        let mut s_hs = [0; 32];
        let mut derived1 = [0; 32];
        expand_label(&hs, b"c hs traffic", &hashes[self.at_sh], &mut c_hs);
        expand_label(&hs, b"s hs traffic", &hashes[self.at_sh], &mut s_hs);
        expand_label(&hs, b"derived", &EMPTY_HASH, &mut derived1);
        let master = prk(&extract(&derived1, &[0; 32]));
        let mut c_ap = [0; 32];
        let mut s_ap = [0; 32];
        expand_label(&master, b"c ap traffic", &hashes[self.at_sfin], &mut c_ap);
        expand_label(&master, b"s ap traffic", &hashes[self.at_sfin], &mut s_ap);
        let finished = [Some(self.before_sfin), Some(self.before_cfin), None, None];
        for (secret, finished) in [&s_hs, &c_hs, &c_ap, &s_ap].into_iter().zip(finished) {
            let secret = prk(secret);
            let mut key = [0; 32];
            let mut iv = [0; 12];
            expand_label(&secret, b"key", &[], &mut key[..self.key_len]);
            expand_label(&secret, b"iv", &[], &mut iv);
            black_box((key, iv));
            if let Some(hash) = finished {
                let mut finished_key = [0; 32];
                expand_label(&secret, b"finished", &[], &mut finished_key);
                black_box(extract(&finished_key, &hashes[hash]));
            }
        }
    }

    /// Seals the server's or the client's encrypted flight as one record.
    fn seal(&self, server_flight: bool, scratch: &mut Vec<u8>) {
        let plain = if server_flight { &self.s2c } else { &self.c2s };
        scratch.clear();
        scratch.extend_from_slice(plain);
        let header = record_header(plain.len() + 16);
        black_box(self.aead.seal(&header, scratch));
    }

    /// Opens the server's or the client's flight, sealed as one record.
    fn open(&self, server_flight: bool, scratch: &mut Vec<u8>) {
        let sealed = if server_flight {
            &self.sealed_s2c
        } else {
            &self.sealed_c2s
        };
        let (body, tag) = sealed.split_at(sealed.len() - 16);
        scratch.clear();
        scratch.extend_from_slice(body);
        self.aead.open(&record_header(sealed.len()), scratch, tag);
    }
}

/// The AEAD of a case's suite under a constant key (the AES key schedule boxed, it is
/// much the larger).
enum FlightAead {
    Chacha20Poly1305(ChaCha20Poly1305),
    Aes128Gcm(Box<Aes128Gcm>),
}

impl FlightAead {
    fn new(suite: SupportedSuite) -> Self {
        match suite {
            SupportedSuite::Chacha20Poly1305Sha256 => {
                Self::Chacha20Poly1305(ChaCha20Poly1305::new(&[0x42; 32].into()))
            }
            SupportedSuite::Aes128GcmSha256 => {
                Self::Aes128Gcm(Box::new(Aes128Gcm::new(&[0x42; 16].into())))
            }
        }
    }

    /// Encrypts `buf` in place under the zero nonce with the record header `aad`; returns
    /// the tag.
    fn seal(&self, aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
        match self {
            Self::Chacha20Poly1305(aead) => seal_with(aead, aad, buf),
            Self::Aes128Gcm(aead) => seal_with(aead.as_ref(), aad, buf),
        }
    }

    /// Decrypts `buf` in place under the zero nonce with the record header `aad`, checking
    /// `tag`.
    fn open(&self, aad: &[u8], buf: &mut [u8], tag: &[u8]) {
        match self {
            Self::Chacha20Poly1305(aead) => open_with(aead, aad, buf, tag),
            Self::Aes128Gcm(aead) => open_with(aead.as_ref(), aad, buf, tag),
        }
    }
}

/// The header of a protected record of `len` bytes, its additional data (RFC 8446 §5.2).
fn record_header(len: usize) -> [u8; 5] {
    let len = u16::try_from(len).expect("a flight fits one record");
    let [high, low] = len.to_be_bytes();
    [0x17, 0x03, 0x03, high, low]
}

fn seal_with<A: AeadInOut>(aead: &A, aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
    let tag = aead
        .encrypt_inout_detached(&aead::Nonce::<A>::default(), aad, buf.into())
        .expect("seal");
    tag.as_slice().try_into().expect("16-byte tag")
}

fn open_with<A: AeadInOut>(aead: &A, aad: &[u8], buf: &mut [u8], tag: &[u8]) {
    let tag = aead::Tag::<A>::try_from(tag).expect("tag");
    aead.decrypt_inout_detached(&aead::Nonce::<A>::default(), aad, buf.into(), &tag)
        .expect("open");
}

/// SHA-256 of the empty string.
const EMPTY_HASH: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// HKDF-Extract, which is HMAC-SHA256(salt, ikm), computed as HMAC directly.
fn extract(salt: &[u8; 32], ikm: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(salt).expect("any key length");
    mac.update(ikm);
    mac.finalize().into_bytes().into()
}

/// A secret keyed into HMAC, for the HKDF-Expand-Label calls under it.
fn prk(secret: &[u8; 32]) -> Hkdf<Sha256> {
    Hkdf::<Sha256>::from_prk(secret).expect("32-byte PRK")
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with the HkdfLabel built on the stack.
fn expand_label(prk: &Hkdf<Sha256>, label: &[u8], context: &[u8], out: &mut [u8]) {
    let mut info = [0u8; 2 + 1 + 6 + 12 + 1 + 32];
    let full = 6 + label.len();
    info[..2].copy_from_slice(&(out.len() as u16).to_be_bytes());
    info[2] = full as u8;
    info[3..9].copy_from_slice(b"tls13 ");
    info[9..9 + label.len()].copy_from_slice(label);
    info[9 + label.len()] = context.len() as u8;
    let end = 10 + label.len() + context.len();
    info[10 + label.len()..end].copy_from_slice(context);
    prk.expand(&info[..end], out).expect("short output");
}

/// Every handshake message of one keylab handshake of this case, as the client saw it.
fn record_transcript(keylab: &Keylab) -> Vec<Seen> {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let sink = seen.clone();
    let mut client = Connection::client(
        keylab.client_config(),
        SERVER_NAME,
        ChaCha20Rng::seed_from_u64(1),
    )
    .expect("client");
    client.set_observer(Box::new(move |event| {
        if let TraceEvent::Message {
            direction,
            message,
            bytes,
            encrypted,
        } = event
        {
            sink.lock().expect("lock").push(Seen {
                name: message.name(),
                from_server: *direction == Direction::Received,
                encrypted: *encrypted,
                bytes: bytes.to_vec(),
            });
        }
    }));
    let mut server = Connection::server(keylab.server_config(), ChaCha20Rng::seed_from_u64(2));
    let (mut c2s, mut s2c) = (Vec::new(), Vec::new());
    client
        .start(OffsetDateTime::now_utc(), &mut c2s)
        .expect("ClientHello");
    let now = OffsetDateTime::now_utc();
    while !c2s.is_empty() {
        server.process(&c2s, now, &mut s2c).expect("server");
        c2s.clear();
        client.process(&s2c, now, &mut c2s).expect("client");
        s2c.clear();
    }
    assert!(!client.is_handshaking() && !server.is_handshaking());
    drop(client);
    Arc::try_unwrap(seen)
        .ok()
        .expect("observer dropped")
        .into_inner()
        .expect("lock")
}
