//! The bytes of a connection as the client's socket saw them, for the record layer view.

/// How many bytes of a connection [`Wire`] keeps: 1 MiB, far more than a demo connection
/// (a few KiB) and a bound for long streams, whose later bytes are only counted.
pub const WIRE_CAP: usize = 1 << 20;

/// Which way bytes went between client and server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WireDirection {
    /// Written by the client.
    ClientToServer,
    /// Read by the client.
    ServerToClient,
}

impl WireDirection {
    /// Both directions, client to server first.
    pub const BOTH: [Self; 2] = [Self::ClientToServer, Self::ServerToClient];

    /// `client -> server` or `server -> client`.
    pub fn arrow(self) -> &'static str {
        match self {
            Self::ClientToServer => "client -> server",
            Self::ServerToClient => "server -> client",
        }
    }

    /// Whether the client sent these bytes.
    pub fn from_client(self) -> bool {
        self == Self::ClientToServer
    }
}

/// One write to or read from the client's socket, as it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireChunk {
    /// Which way the bytes went.
    pub direction: WireDirection,
    /// The bytes of this one call.
    pub bytes: Vec<u8>,
}

/// The bytes of one connection as the client's socket saw them: every write and read in
/// order, up to [`WIRE_CAP`] bytes in all; what comes after is counted in `omitted`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wire {
    /// The writes and reads, in the order they happened.
    pub chunks: Vec<WireChunk>,
    /// Bytes past [`WIRE_CAP`], not kept.
    pub omitted: u64,
    /// Bytes kept in `chunks`.
    kept: usize,
}

impl Wire {
    /// Records one write or read, keeping at most [`WIRE_CAP`] bytes in all.
    pub fn record(&mut self, direction: WireDirection, bytes: &[u8]) {
        let take = WIRE_CAP.saturating_sub(self.kept).min(bytes.len());
        if take > 0 {
            self.chunks.push(WireChunk {
                direction,
                bytes: bytes[..take].to_vec(),
            });
            self.kept += take;
        }
        self.omitted += (bytes.len() - take) as u64;
    }

    /// Everything kept of one direction, concatenated: that side's record stream.
    pub fn stream(&self, direction: WireDirection) -> Vec<u8> {
        self.chunks
            .iter()
            .filter(|c| c.direction == direction)
            .flat_map(|c| c.bytes.iter().copied())
            .collect()
    }
}
