//! What is measured: the two handshake paths with each certificate key, and the timing
//! split of one handshake between its two sides.

use std::time::{Duration, Instant};

use handshake::{SupportedGroup, SupportedSuite};

/// The server name every client connects to; the fixture leaves carry it.
pub const SERVER_NAME: &str = "localhost";

/// The certificate key (and so the fixture hierarchy) of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// Ed25519 certificates and CertificateVerify.
    Ed25519,
    /// RSA-2048: sha256WithRSAEncryption certificates, RSASSA-PSS CertificateVerify.
    Rsa2048,
    /// ECDSA P-256 with SHA-256 in certificates and CertificateVerify.
    P256,
}

/// One handshake configuration. Both sides of every implementation are configured with
/// exactly one cipher suite and one group, so no side negotiates anything else.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// The certificate path (mutual TLS) instead of the ephemeral-DH path.
    pub mutual: bool,
    /// The certificate key.
    pub key: Key,
    /// The one cipher suite both sides offer.
    pub suite: SupportedSuite,
    /// The one key exchange group both sides offer.
    pub group: SupportedGroup,
}

impl Case {
    /// Every path × key combination, in report order. Ed25519 and RSA-2048 run
    /// TLS_CHACHA20_POLY1305_SHA256 over x25519; P-256 runs what RFC 8446 §9.1 makes
    /// mandatory to implement: TLS_AES_128_GCM_SHA256 over secp256r1 with
    /// ecdsa_secp256r1_sha256.
    pub const ALL: [Case; 6] = [
        Case::chacha(false, Key::Ed25519),
        Case::chacha(true, Key::Ed25519),
        Case::chacha(false, Key::Rsa2048),
        Case::chacha(true, Key::Rsa2048),
        Case::mandatory(false),
        Case::mandatory(true),
    ];

    /// ChaCha20-Poly1305 over x25519 with `key` certificates.
    pub const fn chacha(mutual: bool, key: Key) -> Self {
        Self {
            mutual,
            key,
            suite: SupportedSuite::Chacha20Poly1305Sha256,
            group: SupportedGroup::X25519,
        }
    }

    /// AES-128-GCM over secp256r1 with P-256 certificates.
    pub const fn mandatory(mutual: bool) -> Self {
        Self {
            mutual,
            key: Key::P256,
            suite: SupportedSuite::Aes128GcmSha256,
            group: SupportedGroup::Secp256r1,
        }
    }

    /// `ephemeral-dh` (the server asks for no certificate, the client has none) or
    /// `certificate` (the server requires one and the client presents it).
    pub fn path(self) -> &'static str {
        if self.mutual {
            "certificate"
        } else {
            "ephemeral-dh"
        }
    }

    /// `ed25519`, `rsa2048` or `p256`.
    pub fn key(self) -> &'static str {
        self.hierarchy().key_type
    }

    /// The checked-in certificate hierarchy for this key.
    pub fn hierarchy(self) -> fixtures::Hierarchy {
        match self.key {
            Key::Ed25519 => fixtures::ED25519,
            Key::Rsa2048 => fixtures::RSA,
            Key::P256 => fixtures::P256,
        }
    }
}

/// Time spent inside each side's own calls (creation, processing, event draining, drop).
#[derive(Clone, Copy, Debug, Default)]
pub struct SideTimes {
    /// The client's calls.
    pub client: Duration,
    /// The server's calls.
    pub server: Duration,
}

/// Marks the time between a side's calls, to charge each stretch to the side that spent it.
pub struct Laps(Instant);

impl Laps {
    /// Starts timing now.
    pub fn start() -> Self {
        Self(Instant::now())
    }

    /// Adds the time since the last mark (or the start) to `side` and marks now.
    pub fn charge(&mut self, side: &mut Duration) {
        let now = Instant::now();
        *side += now - self.0;
        self.0 = now;
    }
}

/// Both ends of an established connection.
pub struct Established<C, S> {
    /// The client.
    pub client: C,
    /// The server.
    pub server: S,
}

impl<C, S> Established<C, S> {
    /// Drops both ends, client first, adding each drop to its side's time.
    pub fn close(self, times: &mut SideTimes) {
        let Self { client, server } = self;
        let mut laps = Laps::start();
        drop(client);
        laps.charge(&mut times.client);
        drop(server);
        laps.charge(&mut times.server);
    }
}

/// Which figure a handshake benchmark reports.
#[derive(Clone, Copy, Debug)]
pub enum Measure {
    /// Wall time of the whole handshake, both sides in one thread.
    Pair,
    /// Time inside the client's calls only.
    Client,
    /// Time inside the server's calls only.
    Server,
}

impl Measure {
    /// Every figure, in report order.
    pub const ALL: [Measure; 3] = [Measure::Pair, Measure::Client, Measure::Server];

    /// `pair`, `client` or `server`.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Pair => "pair",
            Measure::Client => "client",
            Measure::Server => "server",
        }
    }

    /// The figure this measure takes from a run.
    pub fn pick(self, wall: Duration, sides: SideTimes) -> Duration {
        match self {
            Measure::Pair => wall,
            Measure::Client => sides.client,
            Measure::Server => sides.server,
        }
    }
}
