//! What is measured: the two handshake paths with each certificate key, and the timing
//! split of one handshake between its two sides.

use std::time::{Duration, Instant};

/// The server name every client connects to; the fixture leaves carry it.
pub const SERVER_NAME: &str = "localhost";

/// One handshake configuration.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// The certificate path (mutual TLS) instead of the ephemeral-DH path.
    pub mutual: bool,
    /// RSA-2048 certificates instead of Ed25519 ones.
    pub rsa: bool,
}

impl Case {
    /// Every path × key combination, in report order.
    pub const ALL: [Case; 4] = [
        Case {
            mutual: false,
            rsa: false,
        },
        Case {
            mutual: true,
            rsa: false,
        },
        Case {
            mutual: false,
            rsa: true,
        },
        Case {
            mutual: true,
            rsa: true,
        },
    ];

    /// `ephemeral-dh` (the server asks for no certificate, the client has none) or
    /// `certificate` (the server requires one and the client presents it).
    pub fn path(self) -> &'static str {
        if self.mutual {
            "certificate"
        } else {
            "ephemeral-dh"
        }
    }

    /// `ed25519` or `rsa2048`.
    pub fn key(self) -> &'static str {
        self.hierarchy().key_type
    }

    /// The checked-in certificate hierarchy for this key.
    pub fn hierarchy(self) -> fixtures::Hierarchy {
        if self.rsa {
            fixtures::RSA
        } else {
            fixtures::ED25519
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
