//! The loopback runner: a keylab server on `127.0.0.1:0` (or `[::1]:0`) and clients against it,
//! with an [`Outcome`] per connection — both sides' summaries or errors, the messages
//! exchanged, the secrets derived, byte counts and timings.
//!
//! ```
//! use std::sync::Arc;
//! use harness::runner::{self, ClientSpec};
//! use handshake::{ClientAuth, Path};
//!
//! let server = runner::demo_server_config(ClientAuth::Optional)?;
//! let clients = vec![
//!     ClientSpec::new(runner::demo_client_config(false)?, b"anonymous".to_vec()),
//!     ClientSpec::new(runner::demo_client_config(true)?, b"with a certificate".to_vec()),
//! ];
//! let outcomes = runner::run("127.0.0.1:0", Arc::new(server), clients, Some(7))?;
//! assert_eq!(outcomes[0].client_summary().map(|s| s.path), Some(Path::EphemeralDh));
//! assert_eq!(outcomes[1].server_summary().map(|s| s.path), Some(Path::Certificate));
//! assert_eq!(outcomes[1].reply, b"with a certificate");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use handshake::{ClientAuth, ClientConfig, Connection, Identity, ServerConfig, Stream, Summary};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::observe::{Observed, observe};
use crate::seed::{Clock, clock_for, connection_rng};

mod deadline;
mod wire;

pub(crate) use deadline::watch as watchdog;

pub use wire::{WIRE_CAP, Wire, WireChunk, WireDirection};

/// How long a side waits for the peer before giving up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server side of one connection ended with.
#[derive(Clone, Debug)]
pub struct ServerOutcome {
    /// The client's address.
    pub peer: SocketAddr,
    /// The handshake summary, or the error that ended the connection.
    pub result: Result<Summary, String>,
    /// How many application bytes were received (and echoed).
    pub received_len: u64,
    /// The first [`KEPT_BYTES`] of them, for tests; a long stream is not kept in memory.
    pub received: Vec<u8>,
    /// What the server observed (nothing when served by [`serve_connection_then`]).
    pub observed: Observed,
}

/// How much of a connection's application data a [`ServerOutcome`] keeps.
pub const KEPT_BYTES: usize = 64 * 1024;

/// A keylab server on a loopback socket, serving each connection on its own thread: it
/// completes the handshake, echoes application data back, and reports a
/// [`ServerOutcome`] per connection.
pub struct LoopbackServer {
    addr: SocketAddr,
    outcomes: Receiver<ServerOutcome>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LoopbackServer {
    /// Binds `bind` (e.g. `127.0.0.1:0` or `[::1]:0`) and starts accepting. With a
    /// `seed`, connection *i* draws from an RNG derived from the seed and *i*, and the
    /// clock is fixed (see [`crate::seed`]).
    pub fn start(bind: &str, config: Arc<ServerConfig>, seed: Option<u64>) -> io::Result<Self> {
        let listener = TcpListener::bind(bind)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (tx, outcomes) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut index = 0u64;
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((tcp, peer)) => {
                        let (config, tx) = (config.clone(), tx.clone());
                        let rng = connection_rng(seed, "server", index);
                        index += 1;
                        // Out of threads: the connection is dropped (closed), the server
                        // goes on.
                        let _ = std::thread::Builder::new().spawn(move || {
                            let outcome = serve_connection(
                                tcp,
                                peer,
                                config,
                                rng,
                                Timeouts::default(),
                                clock_for(seed),
                            );
                            let _ = tx.send(outcome);
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Ok(Self {
            addr,
            outcomes,
            stop,
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next connection's outcome, waiting at most `timeout`.
    pub fn next_outcome(&self, timeout: Duration) -> Option<ServerOutcome> {
        self.outcomes.recv_timeout(timeout).ok()
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How long a served connection may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// From accept to handshake complete, however slowly the bytes trickle in.
    pub handshake: Duration,
    /// Silence allowed between reads after the handshake.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            handshake: DEFAULT_TIMEOUT,
            idle: DEFAULT_TIMEOUT,
        }
    }
}

/// Serves one accepted connection: handshake (within `timeouts.handshake`), then echo
/// until the client closes.
pub fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    config: Arc<ServerConfig>,
    rng: ChaCha20Rng,
    timeouts: Timeouts,
    clock: Clock,
) -> ServerOutcome {
    let mut conn = Connection::server(config, rng);
    let observed = observe(&mut conn, false);
    serve(
        tcp,
        peer,
        (conn, Some(observed), None),
        timeouts,
        clock,
        |_| {},
    )
}

/// [`serve_connection`] for a long-running server, calling `handshake_done` with the
/// summary as soon as the handshake completes (before any application data), so that the
/// server can log it then. `signer` signs the CertificateVerify of a remote key (within the
/// handshake's deadline). Nothing is observed beyond what `-v` logs: the outcome's
/// `observed` is empty, so the server keeps no copy of its connections' messages and
/// secrets, and the handshake does no work for an observer when nothing is logged.
pub fn serve_connection_then(
    tcp: TcpStream,
    peer: SocketAddr,
    (config, rng, signer): (Arc<ServerConfig>, ChaCha20Rng, Option<handshake::Signer>),
    timeouts: Timeouts,
    clock: Clock,
    handshake_done: impl FnOnce(&Summary),
) -> ServerOutcome {
    let mut conn = Connection::server(config, rng);
    crate::observe::log_only(&mut conn, false);
    serve(
        tcp,
        peer,
        (conn, None, signer),
        timeouts,
        clock,
        handshake_done,
    )
}

/// Serves `conn` on `tcp`; `observed` is what its observer fills, if it has one.
fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    (conn, observed, signer): (
        Connection,
        Option<Arc<Mutex<Observed>>>,
        Option<handshake::Signer>,
    ),
    timeouts: Timeouts,
    clock: Clock,
    handshake_done: impl FnOnce(&Summary),
) -> ServerOutcome {
    let mut received = Vec::new();
    let mut received_len = 0u64;
    let mut fired = None;
    let mut completed = false;
    let result = (|| {
        tcp.set_nonblocking(false)?;
        // The watchdog enforces the handshake deadline; the socket timeout is only a
        // backstop behind it.
        tcp.set_read_timeout(Some(timeouts.handshake + Duration::from_secs(1)))?;
        tcp.set_write_timeout(Some(timeouts.idle))?;
        let (done, flag) = watchdog(&tcp, timeouts.handshake)?;
        fired = Some(flag);
        let mut stream = Stream::new(conn, tcp, clock);
        if let Some(signer) = signer {
            stream = stream.with_signer(signer);
        }
        let summary = stream.handshake()?.clone();
        done.stop();
        completed = true;
        handshake_done(&summary);
        stream.get_ref().set_read_timeout(Some(timeouts.idle))?;
        let mut buf = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    received_len += n as u64;
                    let room = KEPT_BYTES.saturating_sub(received.len()).min(n);
                    received.extend_from_slice(&buf[..room]);
                    stream.write_all(&buf[..n])?;
                }
                Err(e) => return Err(e),
            }
        }
        let _ = stream.close();
        Ok::<_, io::Error>(summary)
    })();
    let timed_out = !completed && fired.is_some_and(|f| f.load(Ordering::Relaxed));
    let result = result.map_err(|e| {
        if timed_out {
            format!(
                "handshake not completed within {} s",
                timeouts.handshake.as_secs_f64()
            )
        } else {
            describe_io_error(&e)
        }
    });
    let observed = observed
        .and_then(|o| o.lock().map(|o| o.clone()).ok())
        .unwrap_or_default();
    ServerOutcome {
        peer,
        result,
        received_len,
        received,
        observed,
    }
}

/// The protocol error inside an I/O error, or the I/O error itself, as text.
pub fn describe_io_error(e: &io::Error) -> String {
    match Stream::<TcpStream>::protocol_error(e) {
        Some(inner) => inner.to_string(),
        None if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
            "timed out waiting for the peer".to_owned()
        }
        None => e.to_string(),
    }
}

/// A client to run against the server.
#[derive(Clone)]
pub struct ClientSpec {
    /// Its configuration.
    pub config: Arc<ClientConfig>,
    /// The server name to ask for and check.
    pub server_name: String,
    /// The application message it sends; the server echoes it.
    pub message: Vec<u8>,
    /// Its clock ([`run`] sets [`clock_for`] the seed).
    pub clock: Clock,
    /// After the echo, sends one KeyUpdate (update_not_requested, RFC 8446 §4.6.3) before
    /// close_notify, so that the wire shows a traffic-key update. Off by default.
    pub key_update_before_close: bool,
    /// After its own close_notify, reads until the server's close_notify (or an error), so
    /// that the captured [`Wire`] ends with both closures. Off by default: a peer that
    /// never answers would cost the read timeout.
    pub read_peer_close: bool,
}

impl ClientSpec {
    /// A client for `localhost` sending `message`, on the real clock.
    pub fn new(config: ClientConfig, message: Vec<u8>) -> Self {
        Self {
            config: Arc::new(config),
            server_name: "localhost".to_owned(),
            message,
            clock: OffsetDateTime::now_utc,
            key_update_before_close: false,
            read_peer_close: false,
        }
    }

    /// The demo's ending: a KeyUpdate before close_notify, then the server's close_notify
    /// read, so the record layer shows every record from ClientHello to both closures.
    pub fn with_demo_ending(mut self) -> Self {
        self.key_update_before_close = true;
        self.read_peer_close = true;
        self
    }
}

/// One connection, both sides.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The client's handshake summary, or its error.
    pub client: Result<Summary, String>,
    /// The server's outcome (absent if the server never reported).
    pub server: Option<ServerOutcome>,
    /// What the client observed: messages in wire order, secrets, transitions.
    pub observed: Observed,
    /// The echo the client read back.
    pub reply: Vec<u8>,
    /// Bytes the client sent and received on the socket.
    pub bytes_sent: u64,
    /// See `bytes_sent`.
    pub bytes_received: u64,
    /// Time from connect to handshake complete.
    pub handshake_time: Duration,
    /// Time from connect to close.
    pub total_time: Duration,
    /// Every byte the client wrote and read on the socket, in order (the first
    /// [`WIRE_CAP`] bytes of the connection).
    pub wire: Wire,
}

impl Outcome {
    /// The client's summary, if its handshake completed.
    pub fn client_summary(&self) -> Option<&Summary> {
        self.client.as_ref().ok()
    }

    /// The server's summary, if its handshake completed.
    pub fn server_summary(&self) -> Option<&Summary> {
        self.server.as_ref().and_then(|s| s.result.as_ref().ok())
    }

    /// True when both sides completed and the echo came back intact.
    pub fn ok(&self, sent: &[u8]) -> bool {
        self.client.is_ok() && self.server_summary().is_some() && self.reply == sent
    }
}

/// Counts and captures bytes through a TCP stream.
struct Counting<'w> {
    tcp: TcpStream,
    read: u64,
    written: u64,
    wire: &'w mut Wire,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.tcp.read(buf)?;
        self.read += n as u64;
        self.wire.record(WireDirection::ServerToClient, &buf[..n]);
        Ok(n)
    }
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.tcp.write(buf)?;
        self.written += n as u64;
        self.wire.record(WireDirection::ClientToServer, &buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// Connects to `addr`, runs the handshake, sends the message, reads the echo, closes.
pub fn run_client(
    addr: SocketAddr,
    spec: &ClientSpec,
    rng: ChaCha20Rng,
    timeout: Duration,
) -> Outcome {
    let start = Instant::now();
    let mut handshake_time = Duration::ZERO;
    let mut reply = Vec::new();
    let mut counts = (0, 0);
    let mut wire = Wire::default();
    let conn = Connection::client(spec.config.clone(), &spec.server_name, rng);
    let (client, observed) = match conn {
        Err(e) => (Err(e.to_string()), Observed::default()),
        Ok(mut conn) => {
            let observed = observe(&mut conn, true);
            let result = (|| {
                let tcp = TcpStream::connect_timeout(&addr, timeout)?;
                tcp.set_read_timeout(Some(timeout))?;
                tcp.set_write_timeout(Some(timeout))?;
                let mut stream = Stream::new(
                    conn,
                    Counting {
                        tcp,
                        read: 0,
                        written: 0,
                        wire: &mut wire,
                    },
                    spec.clock,
                );
                let summary = stream.handshake().cloned();
                handshake_time = start.elapsed();
                let summary = summary?;
                stream.write_all(&spec.message)?;
                let mut buf = [0u8; 16 * 1024];
                while reply.len() < spec.message.len() {
                    let n = stream.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    reply.extend_from_slice(&buf[..n]);
                }
                if spec.key_update_before_close {
                    send_key_update(&mut stream)?;
                }
                stream.close()?;
                if spec.read_peer_close {
                    read_until_peer_close(&mut stream);
                }
                counts = (stream.get_ref().written, stream.get_ref().read);
                Ok::<_, io::Error>(summary)
            })();
            let observed = observed.lock().map(|o| o.clone()).unwrap_or_default();
            (result.map_err(|e| describe_io_error(&e)), observed)
        }
    };
    Outcome {
        client,
        server: None,
        observed,
        reply,
        bytes_sent: counts.0,
        bytes_received: counts.1,
        handshake_time,
        total_time: start.elapsed(),
        wire,
    }
}

/// The demo's one KeyUpdate: new sending keys, without asking the server to update its own
/// (RFC 8446 §4.6.3, §7.2).
fn send_key_update<T: Read + Write>(stream: &mut Stream<T>) -> io::Result<()> {
    stream.key_update(false)
}

/// Reads (and drops) whatever still comes until the peer's close_notify, an error or the
/// read timeout.
fn read_until_peer_close<T: Read + Write>(stream: &mut Stream<T>) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
    }
}

/// Starts a server on `bind`, runs `clients` one after another, and returns an outcome per
/// client with the server's side attached.
pub fn run(
    bind: &str,
    server: Arc<ServerConfig>,
    clients: Vec<ClientSpec>,
    seed: Option<u64>,
) -> io::Result<Vec<Outcome>> {
    let loopback = LoopbackServer::start(bind, server, seed)?;
    let mut outcomes = Vec::with_capacity(clients.len());
    for (i, spec) in clients.iter().enumerate() {
        let spec = ClientSpec {
            clock: clock_for(seed),
            ..spec.clone()
        };
        let mut outcome = run_client(
            loopback.addr(),
            &spec,
            connection_rng(seed, "client", i as u64),
            DEFAULT_TIMEOUT,
        );
        outcome.server = loopback.next_outcome(DEFAULT_TIMEOUT + Duration::from_secs(1));
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The demo's external PSK, identity `keylab-demo`. Its key is SHA-256 of a published
/// string: it is public and good for demonstrations only.
pub fn demo_psk() -> handshake::ExternalPsk {
    let key = Sha256::digest(b"keylab demo PSK: public, for demonstrations only");
    // 32 bytes and a printable identity: always valid.
    #[allow(clippy::expect_used, reason = "constant, valid input")]
    handshake::ExternalPsk::new("keylab-demo", &key).expect("valid demo PSK")
}

/// Which embedded fixture set the demo configurations use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoKey {
    /// `fixtures::ED25519`: Ed25519 certificates and keys (the default).
    #[default]
    Ed25519,
    /// `fixtures::RSA`: RSA-2048 certificates, rsa_pss_rsae_sha256 signatures.
    Rsa,
    /// `fixtures::P256`: ECDSA P-256 certificates, ecdsa_secp256r1_sha256 signatures.
    P256,
}

impl DemoKey {
    /// The fixture set.
    pub fn hierarchy(self) -> fixtures::Hierarchy {
        match self {
            Self::Ed25519 => fixtures::ED25519,
            Self::Rsa => fixtures::RSA,
            Self::P256 => fixtures::P256,
        }
    }

    /// How the demo names the key type: `Ed25519`, `RSA-2048` or `ECDSA P-256`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ed25519 => "Ed25519",
            Self::Rsa => "RSA-2048",
            Self::P256 => "ECDSA P-256",
        }
    }
}

/// The embedded Ed25519 server identity with the given client-auth policy.
pub fn demo_server_config(policy: ClientAuth) -> Result<ServerConfig, handshake::ConfigError> {
    demo_server_config_for(DemoKey::Ed25519, policy)
}

/// A client trusting the embedded Ed25519 root, with the embedded `alice` identity when
/// `with_cert` is set.
pub fn demo_client_config(with_cert: bool) -> Result<ClientConfig, handshake::ConfigError> {
    demo_client_config_for(DemoKey::Ed25519, with_cert)
}

/// The embedded server identity of `key`'s fixture set with the given client-auth policy.
pub fn demo_server_config_for(
    key: DemoKey,
    policy: ClientAuth,
) -> Result<ServerConfig, handshake::ConfigError> {
    let h = key.hierarchy();
    let config = ServerConfig::new(Identity::from_pem(h.server_chain, h.server_key)?);
    if policy == ClientAuth::Off {
        return Ok(config);
    }
    let anchors = pki::Certificate::from_pem_bundle(h.root)
        .map_err(|e| handshake::ConfigError::Pem(e.to_string()))?;
    config.with_client_auth(policy, anchors)
}

/// A client trusting the root of `key`'s fixture set, with its `alice` identity when
/// `with_cert` is set.
pub fn demo_client_config_for(
    key: DemoKey,
    with_cert: bool,
) -> Result<ClientConfig, handshake::ConfigError> {
    let h = key.hierarchy();
    let anchors = pki::Certificate::from_pem_bundle(h.root)
        .map_err(|e| handshake::ConfigError::Pem(e.to_string()))?;
    let identity = if with_cert {
        Some(Arc::new(Identity::from_pem(h.client_chain, h.client_key)?))
    } else {
        None
    };
    Ok(ClientConfig {
        trust_anchors: anchors,
        identity,
        ..ClientConfig::default()
    })
}

#[cfg(test)]
mod tests {
    use super::{WIRE_CAP, Wire, WireDirection};

    #[test]
    fn the_wire_keeps_the_first_wire_cap_bytes_and_counts_the_rest() {
        let mut wire = Wire::default();
        wire.record(WireDirection::ClientToServer, b"hello");
        wire.record(WireDirection::ServerToClient, &vec![7; WIRE_CAP]);
        wire.record(WireDirection::ClientToServer, b"more");
        assert_eq!(wire.chunks.len(), 2, "nothing kept past the cap");
        assert_eq!(wire.stream(WireDirection::ClientToServer), b"hello");
        assert_eq!(
            wire.stream(WireDirection::ServerToClient).len(),
            WIRE_CAP - 5
        );
        assert_eq!(wire.omitted, 5 + 4);
    }
}
