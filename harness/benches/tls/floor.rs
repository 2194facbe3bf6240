//! The crypto floor: the cryptographic operations each side of a handshake cannot avoid,
//! done directly with the crates keylab uses (x25519-dalek, ed25519-dalek, rsa, sha2,
//! hkdf, chacha20poly1305) and nothing else — no parsing, no encoding, no allocation
//! beyond what those crates do.
//!
//! Per side, on both paths:
//! - X25519: a key pair (a base-point multiplication) and the agreement.
//! - The key schedule of RFC 8446 §7.1 without PSK: HKDF-Extract of the handshake and
//!   master secrets, Derive-Secret of the four traffic secrets and of "derived", key and
//!   IV of those four secrets (§7.3), both finished_keys and both Finished HMACs (§4.4.4).
//!   The early secret and the first "derived" salt are constants and are precomputed.
//!   HKDF-Extract is one HMAC; each secret is keyed into HMAC once for all the
//!   HKDF-Expand-Label calls made under it.
//! - SHA-256 over the real transcript of a keylab handshake, finalised where a hash is
//!   needed (after ServerHello, before each CertificateVerify and Finished, after the
//!   server's Finished).
//! - ChaCha20-Poly1305 sealing its own encrypted flight and opening the peer's, each flight
//!   as one record (keylab's real flights, so the byte counts match).
//!
//! Authentication:
//! - Server: signs its CertificateVerify (Ed25519, or RSASSA-PSS-SHA256).
//! - Client: decodes the keys of the server's leaf and intermediate, verifies the
//!   intermediate's signature with the root's key (a trust anchor, decoded ahead), the
//!   leaf's with the intermediate's, and the CertificateVerify with the leaf's.
//! - Certificate path only: the client signs its CertificateVerify and the server does the
//!   client's chain and CertificateVerify checks as above.

use std::hint::black_box;
use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};
use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use handshake::{Connection, Direction, TraceEvent};
use hkdf::Hkdf;
use hkdf::hmac::{Hmac, Mac};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use rsa::pkcs1::DecodeRsaPublicKey as _;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x25519_dalek::{PublicKey as X25519Public, StaticSecret};

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
    peer_share: X25519Public,
}

impl Floor {
    /// Prepares the floor of `case` from the fixtures and one real keylab handshake.
    pub fn new(case: Case) -> Self {
        let h = case.hierarchy();
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        // One side's key, and what its peer checks of that side.
        let side = |key: &str, chain: &str, context: &[u8], rng: &mut ChaCha20Rng| {
            let key = SecretKey::from_pem(key, case.rsa);
            let auth = PeerAuth::new(chain, h.root, &key, context, case.rsa, rng);
            (key, auth)
        };
        let server_context = b"TLS 1.3, server CertificateVerify";
        let (server_key, server_auth) =
            side(h.server_key, h.server_chain, server_context, &mut rng);
        let client_context = b"TLS 1.3, client CertificateVerify";
        let client = case
            .mutual
            .then(|| side(h.client_key, h.client_chain, client_context, &mut rng));
        let peer_share = X25519Public::from(&StaticSecret::from(random32(&mut rng)));
        Self {
            server_key,
            server_auth,
            client,
            schedule: Schedule::new(&Keylab::new(case)),
            peer_share,
        }
    }

    /// The client's share of the floor.
    pub fn client(&self, rng: &mut ChaCha20Rng, scratch: &mut Vec<u8>) {
        let shared = self.x25519(rng);
        self.server_auth.verify();
        if let Some((key, _)) = &self.client {
            black_box(key.sign_cv(&cv_message(b"TLS 1.3, client CertificateVerify"), rng));
        }
        self.schedule.run(&shared);
        self.schedule.seal(false, scratch);
        self.schedule.open(true, scratch);
    }

    /// The server's share of the floor.
    pub fn server(&self, rng: &mut ChaCha20Rng, scratch: &mut Vec<u8>) {
        let shared = self.x25519(rng);
        black_box(
            self.server_key
                .sign_cv(&cv_message(b"TLS 1.3, server CertificateVerify"), rng),
        );
        if let Some((_, auth)) = &self.client {
            auth.verify();
        }
        self.schedule.run(&shared);
        self.schedule.seal(true, scratch);
        self.schedule.open(false, scratch);
    }

    /// A fresh X25519 key pair and the agreement with the peer's share.
    fn x25519(&self, rng: &mut ChaCha20Rng) -> [u8; 32] {
        let secret = StaticSecret::from(random32(rng));
        black_box(X25519Public::from(&secret));
        secret.diffie_hellman(&self.peer_share).to_bytes()
    }
}

fn random32(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// RFC 8446 §4.4.3: 64 spaces, the context string, a zero byte, a transcript hash.
fn cv_message(context: &[u8]) -> Vec<u8> {
    let mut msg = vec![0x20; 64];
    msg.extend_from_slice(context);
    msg.push(0);
    msg.extend_from_slice(&[0x5a; 32]);
    msg
}

/// A CertificateVerify signing key.
enum SecretKey {
    Ed25519(Box<ed25519_dalek::SigningKey>),
    Rsa(Box<rsa::PrivateKey>),
}

impl SecretKey {
    fn from_pem(pem: &str, rsa: bool) -> Self {
        let der = pki::PrivateKey::from_pem(pem)
            .expect("fixture key")
            .to_pkcs8_der()
            .expect("PKCS#8");
        if rsa {
            Self::Rsa(Box::new(
                rsa::PrivateKey::from_pkcs8_der(&der).expect("RSA key"),
            ))
        } else {
            Self::Ed25519(Box::new(
                ed25519_dalek::SigningKey::from_pkcs8_der(&der).expect("Ed25519 key"),
            ))
        }
    }

    /// Ed25519, or RSASSA-PSS-SHA256 with a 32-byte salt (rsa_pss_rsae_sha256).
    fn sign_cv(&self, msg: &[u8], rng: &mut ChaCha20Rng) -> Vec<u8> {
        match self {
            Self::Ed25519(key) => key.sign(msg).to_bytes().to_vec(),
            Self::Rsa(key) => key
                .sign_with_rng(
                    rng,
                    rsa::Pss::<Sha256>::new_with_salt(32),
                    &Sha256::digest(msg),
                )
                .expect("RSA-PSS signature"),
        }
    }
}

/// A public key decoded from the subjectPublicKey bits of a certificate.
enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    Rsa(Box<rsa::PublicKey>),
}

impl PublicKey {
    fn decode(raw: &[u8], rsa: bool) -> Self {
        if rsa {
            Self::Rsa(Box::new(
                rsa::PublicKey::from_pkcs1_der(raw).expect("RSA public key"),
            ))
        } else {
            let bytes: &[u8; 32] = raw.try_into().expect("32-byte Ed25519 key");
            Self::Ed25519(ed25519_dalek::VerifyingKey::from_bytes(bytes).expect("Ed25519 key"))
        }
    }

    /// A certificate signature: Ed25519 or sha256WithRSAEncryption.
    fn verify_certificate(&self, tbs: &[u8], sig: &[u8]) {
        let pkcs1 = rsa::Pkcs1v15Sign::new::<Sha256>;
        self.verify(tbs, sig, pkcs1, "certificate signature");
    }

    /// A CertificateVerify signature: Ed25519 or RSASSA-PSS-SHA256.
    fn verify_cv(&self, msg: &[u8], sig: &[u8]) {
        let pss = || rsa::Pss::<Sha256>::new_with_salt(32);
        self.verify(msg, sig, pss, "CertificateVerify signature");
    }

    /// Ed25519, or RSA with SHA-256 and the scheme `rsa_scheme` makes (only for an RSA
    /// key, so an Ed25519 check costs nothing more); panics with `what` on failure.
    fn verify<S: rsa::traits::SignatureScheme>(
        &self,
        msg: &[u8],
        sig: &[u8],
        rsa_scheme: impl FnOnce() -> S,
        what: &str,
    ) {
        match self {
            Self::Ed25519(key) => key
                .verify_strict(
                    msg,
                    &ed25519_dalek::Signature::from_slice(sig).expect("sig"),
                )
                .expect(what),
            Self::Rsa(key) => key
                .verify(rsa_scheme(), &Sha256::digest(msg), sig)
                .expect(what),
        }
    }
}

/// The checks one side makes of the other's authentication.
struct PeerAuth {
    rsa: bool,
    /// The trust anchor's key, decoded ahead like a configured root.
    root: PublicKey,
    leaf_key: Vec<u8>,
    leaf_tbs: Vec<u8>,
    leaf_sig: Vec<u8>,
    intermediate_key: Vec<u8>,
    intermediate_tbs: Vec<u8>,
    intermediate_sig: Vec<u8>,
    cv_message: Vec<u8>,
    cv_signature: Vec<u8>,
}

impl PeerAuth {
    fn new(
        chain_pem: &str,
        root_pem: &str,
        key: &SecretKey,
        context: &[u8],
        rsa: bool,
        rng: &mut ChaCha20Rng,
    ) -> Self {
        let chain = pki::Certificate::from_pem_bundle(chain_pem).expect("fixture chain");
        let [leaf, intermediate] = &chain[..] else {
            panic!("fixture chains are leaf and intermediate");
        };
        let root = pki::Certificate::from_pem_bundle(root_pem).expect("fixture root");
        let raw = |c: &pki::Certificate| c.public_key().expect("key").raw().to_vec();
        let cv_message = cv_message(context);
        let cv_signature = key.sign_cv(&cv_message, rng);
        Self {
            rsa,
            root: PublicKey::decode(&raw(&root[0]), rsa),
            leaf_key: raw(leaf),
            leaf_tbs: leaf.tbs_der().to_vec(),
            leaf_sig: leaf.signature().to_vec(),
            intermediate_key: raw(intermediate),
            intermediate_tbs: intermediate.tbs_der().to_vec(),
            intermediate_sig: intermediate.signature().to_vec(),
            cv_message,
            cv_signature,
        }
    }

    fn verify(&self) {
        let intermediate = PublicKey::decode(&self.intermediate_key, self.rsa);
        self.root
            .verify_certificate(&self.intermediate_tbs, &self.intermediate_sig);
        let leaf = PublicKey::decode(&self.leaf_key, self.rsa);
        intermediate.verify_certificate(&self.leaf_tbs, &self.leaf_sig);
        leaf.verify_cv(&self.cv_message, &self.cv_signature);
    }
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
    aead: ChaCha20Poly1305,
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
    fn new(keylab: &Keylab) -> Self {
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
        let (s2c, c2s) = (flight(true), flight(false));
        let aead = ChaCha20Poly1305::new(&[0x42; 32].into());
        let seal = |plain: &[u8]| {
            let mut buf = plain.to_vec();
            let tag = aead
                .encrypt_inout_detached(&Nonce::default(), &[], buf.as_mut_slice().into())
                .expect("seal");
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
            expand_label(&secret, b"key", &[], &mut key);
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
        let tag = self
            .aead
            .encrypt_inout_detached(&Nonce::default(), &[], scratch.as_mut_slice().into())
            .expect("seal");
        black_box(tag);
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
        let tag = Tag::try_from(tag).expect("tag");
        self.aead
            .decrypt_inout_detached(&Nonce::default(), &[], scratch.as_mut_slice().into(), &tag)
            .expect("open");
    }
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
