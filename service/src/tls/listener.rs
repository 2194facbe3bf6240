//! An axum [`Listener`] whose connections arrive with their TLS handshake done.
//!
//! ```text
//!   accept task:   slot (max_connections) ─> handshake turn (max_handshakes) ─> TCP accept
//!                  └─ spawns: TlsAcceptor::accept(Deadline<TcpStream>) within the timeout
//!                        ok  ─> channel ─> TlsListener::accept ─> axum
//!                        err ─> logged (peer, reason); the connection is dropped
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{AbortHandle, JoinSet};

use super::{PeerIdentity, TlsAcceptor, TlsStream, alert_of};
use crate::server::{Deadline, Limits, accept_tcp, acquire};

/// TLS handshakes a keylab server runs at once.
pub const MAX_HANDSHAKES: usize = 16;

/// A connection as a handler sees it, through
/// [`ConnectInfo`](axum::extract::ConnectInfo)`<TlsPeer>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsPeer {
    /// The client's address.
    pub addr: SocketAddr,
    /// Who the client proved to be in the handshake.
    pub identity: PeerIdentity,
}

/// The connections a [`TlsListener`] hands out.
pub type TlsConnection = TlsStream<Deadline<TcpStream>>;

/// A TCP listener that runs each connection's handshake in a task of its own and yields
/// only connections whose handshake succeeded. Dropping it stops the accept task and the
/// handshakes in flight.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsConnection, TlsPeer)>,
    local: SocketAddr,
    accepting: AbortHandle,
}

impl TlsListener {
    /// Starts accepting on `listener` within `limits` (connections, their deadline, and
    /// handshakes at once); `acceptor` gives the configuration and handshake timeout.
    /// Must be called within a tokio runtime with the time driver.
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor, limits: Limits) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (done, ready) = mpsc::channel(limits.max_handshakes.max(1));
        let accepting = tokio::spawn(accept_loop(listener, acceptor, limits, done)).abort_handle();
        Ok(Self {
            ready,
            local,
            accepting,
        })
    }

    /// The address it listens on.
    pub fn socket_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl Listener for TlsListener {
    type Io = TlsConnection;
    type Addr = TlsPeer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept task never ends by itself; if it is gone, nothing comes again.
            None => std::future::pending().await,
        }
    }

    /// Unsupported: a [`TlsPeer`] describes a client. See [`TlsListener::socket_addr`].
    fn local_addr(&self) -> io::Result<Self::Addr> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "a TLS listener's addresses are its peers'; it listens on {}",
                self.local
            ),
        ))
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for TlsPeer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// Accepts connections for ever, each handshake in a task of its own.
async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    limits: Limits,
    done: mpsc::Sender<(TlsConnection, TlsPeer)>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let turns = Arc::new(Semaphore::new(limits.max_handshakes.max(1)));
    // Dropped with this task: the handshakes in flight end with it.
    let mut handshakes = JoinSet::new();
    loop {
        let slot = acquire(&slots).await;
        let turn = acquire(&turns).await;
        let (tcp, addr) = accept_tcp(&listener).await;
        while handshakes.try_join_next().is_some() {}
        let io = Deadline::new(tcp, limits.connection_timeout, slot);
        let acceptor = acceptor.clone();
        let done = done.clone();
        handshakes.spawn(async move {
            let result = acceptor.accept(io).await;
            drop(turn);
            match result {
                Ok(stream) => match stream.peer_identity() {
                    Some(identity) => {
                        let _ = done.send((stream, TlsPeer { addr, identity })).await;
                    }
                    None => tracing::warn!("TLS handshake with {addr}: no summary"),
                },
                Err(e) => log_failure(addr, &e),
            }
        });
    }
}

/// One line per failed handshake: the peer, the reason and the alert, if any.
fn log_failure(addr: SocketAddr, e: &io::Error) {
    match alert_of(e) {
        Some(alert) => tracing::warn!("TLS handshake with {addr} failed: {e} (alert {alert})"),
        None => tracing::warn!("TLS handshake with {addr} failed: {e}"),
    }
}
