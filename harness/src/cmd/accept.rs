//! The accept loop of keylab's servers (`keylab server`, `keylab teach`): a thread per
//! connection, at most `max_concurrent` at once (more are closed at once and logged),
//! and an optional total after which the server stops accepting and waits for the
//! connections in progress.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How many connections a server takes.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections served at once.
    pub max_concurrent: u64,
    /// Stop after this many connections (for scripts and tests).
    pub max_connections: Option<u64>,
}

/// Accepts connections on `listener` and runs `serve(tcp, peer)` on a thread each, within
/// `limits`; returns when `max_connections` were accepted and their threads ended.
pub fn serve<F>(listener: &TcpListener, limits: Limits, serve: F)
where
    F: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
{
    let serve = Arc::new(serve);
    let active = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    let mut accepted = 0u64;
    for conn in listener.incoming() {
        let tcp = match conn {
            Ok(tcp) => tcp,
            Err(e) => {
                crate::status!("accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let peer = tcp
            .peer_addr()
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
        if active.load(Ordering::Relaxed) as u64 >= limits.max_concurrent {
            crate::status!(
                "{peer} refused: {} connections already open",
                limits.max_concurrent
            );
            continue;
        }
        let slot = Slot::take(&active);
        let serve = serve.clone();
        let spawned = std::thread::Builder::new().spawn(move || {
            // Frees the slot however the worker ends, a panic included.
            let _slot = slot;
            serve(tcp, peer);
        });
        match spawned {
            Ok(worker) => workers.push(worker),
            Err(e) => crate::status!("{peer} refused: cannot start a thread ({e})"),
        }
        workers.retain(|w| !w.is_finished());
        accepted += 1;
        if limits.max_connections.is_some_and(|max| accepted >= max) {
            break;
        }
    }
    for w in workers {
        let _ = w.join();
    }
}

/// One of `max_concurrent` places, given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(active: &Arc<AtomicUsize>) -> Self {
        active.fetch_add(1, Ordering::Relaxed);
        Self(active.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
