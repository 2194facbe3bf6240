//! Handshake deadlines of every connection in the process, kept by one thread.
//!
//! A connection must finish its handshake in time however slowly its bytes trickle in, and a
//! socket's read timeout bounds only each read. A thread per connection waiting for its
//! deadline doubled the threads a busy server runs (and the thread starts it pays); instead
//! one keeper thread holds every deadline in order and shuts a late socket down, which
//! makes the blocked read or write of the connection's own thread return. The deadlines
//! sit behind a mutex rather than a channel: a connection thread adds and later removes its
//! own entry (a lock each) and wakes the keeper only when the new deadline comes before
//! every queued one, so under a steady load the keeper wakes about once per deadline that
//! falls due, not for every connection.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A watched socket: shut down when its deadline passes, unless this is stopped or dropped
/// first (so dropping it at once switches the deadline off).
#[must_use = "dropping the Watch stops watching the socket"]
pub(crate) struct Watch {
    id: u64,
}

impl Watch {
    /// The handshake is done in time: the socket is no longer watched.
    pub(crate) fn stop(self) {}
}

impl Drop for Watch {
    fn drop(&mut self) {
        lock().stop(self.id);
    }
}

/// Shuts `tcp` down if the returned [`Watch`] is not stopped within `limit`; the flag says
/// whether that happened.
pub(crate) fn watch(tcp: &TcpStream, limit: Duration) -> io::Result<(Watch, Arc<AtomicBool>)> {
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let fired = Arc::new(AtomicBool::new(false));
    let socket = tcp.try_clone()?;
    let deadline = Instant::now() + limit;
    let mut deadlines = lock();
    if !deadlines.keeper_running {
        std::thread::Builder::new()
            .name("deadlines".into())
            .spawn(keep)?;
        deadlines.keeper_running = true;
    }
    // Deadlines come in nearly in order, so the keeper is woken only when one comes
    // before everything it waits for (or it waits for nothing); a stop never wakes it.
    if deadlines.next().is_none_or(|next| deadline < next) {
        WAKE.notify_one();
    }
    deadlines.insert(id, deadline, socket, fired.clone());
    Ok((Watch { id }, fired))
}

static DEADLINES: Mutex<Deadlines> = Mutex::new(Deadlines::new());
static WAKE: Condvar = Condvar::new();

fn lock() -> MutexGuard<'static, Deadlines> {
    DEADLINES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The keeper thread: sleeps until the earliest deadline, or until woken for an earlier
/// one, and shuts down what is late.
fn keep() {
    let mut deadlines = lock();
    loop {
        deadlines.expire(Instant::now());
        deadlines = match deadlines.next() {
            None => WAKE
                .wait(deadlines)
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            Some(at) => {
                let wait = at.saturating_duration_since(Instant::now());
                match WAKE.wait_timeout(deadlines, wait) {
                    Ok((guard, _)) => guard,
                    Err(poisoned) => poisoned.into_inner().0,
                }
            }
        };
    }
}

/// Deadlines in time order; `watched` holds those not yet stopped.
struct Deadlines {
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    watched: BTreeMap<u64, (TcpStream, Arc<AtomicBool>)>,
    keeper_running: bool,
}

impl Deadlines {
    const fn new() -> Self {
        Self {
            queue: BinaryHeap::new(),
            watched: BTreeMap::new(),
            keeper_running: false,
        }
    }

    /// The earliest deadline still queued.
    fn next(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse((at, _))| *at)
    }

    fn insert(&mut self, id: u64, deadline: Instant, socket: TcpStream, fired: Arc<AtomicBool>) {
        self.watched.insert(id, (socket, fired));
        self.queue.push(Reverse((deadline, id)));
    }

    fn stop(&mut self, id: u64) {
        self.watched.remove(&id);
        // Stopped entries leave the queue lazily; keep it from growing past twice what is
        // watched under a steady stream of quick handshakes.
        if self.queue.len() > 2 * self.watched.len() + 64 {
            let watched = &self.watched;
            self.queue
                .retain(|Reverse((_, id))| watched.contains_key(id));
        }
    }

    /// Shuts down every watched socket whose deadline is not after `now`.
    fn expire(&mut self, now: Instant) {
        while let Some(Reverse((at, id))) = self.queue.peek().copied() {
            if at > now {
                return;
            }
            self.queue.pop();
            if let Some((socket, fired)) = self.watched.remove(&id) {
                fired.store(true, Ordering::Relaxed);
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;

    use super::*;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        (client, server)
    }

    #[test]
    fn a_late_socket_is_shut_down_and_a_stopped_one_is_not() {
        let (_late_client, mut late) = pair();
        let (_quick_client, mut quick) = pair();
        let (late_watch, late_fired) = watch(&late, Duration::from_millis(50)).expect("watch");
        let (quick_watch, quick_fired) = watch(&quick, Duration::from_millis(50)).expect("watch");
        quick_watch.stop();
        late.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let started = Instant::now();
        assert_eq!(
            late.read(&mut [0u8; 1])
                .expect("a shut-down socket reads its end"),
            0
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "woken by the keeper"
        );
        assert!(late_fired.load(Ordering::Relaxed));
        drop(late_watch);

        quick
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let err = quick
            .read(&mut [0u8; 1])
            .expect_err("still open, nothing sent");
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{err}"
        );
        assert!(!quick_fired.load(Ordering::Relaxed));
    }

    #[test]
    fn stopped_deadlines_do_not_pile_up() {
        let mut deadlines = Deadlines::new();
        let (_client, server) = pair();
        let later = Instant::now() + Duration::from_secs(60);
        for id in 0..1000 {
            let socket = server.try_clone().expect("clone");
            deadlines.insert(id, later, socket, Arc::default());
            deadlines.stop(id);
        }
        assert!(deadlines.watched.is_empty());
        assert!(deadlines.queue.len() <= 64 + 1, "{}", deadlines.queue.len());
        deadlines.expire(later);
        assert!(deadlines.queue.is_empty());
    }
}
