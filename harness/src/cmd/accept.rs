//! The accept loop of keylab's servers (`keylab server`, `keylab teach`): each connection
//! served on a thread of its own, at most `max_concurrent` at once (more are closed at once
//! and logged), and an optional total after which the server stops accepting and waits for
//! the connections in progress.
//!
//! Threads are reused: a thread that has served a connection waits a while for the next
//! one before it ends, so a busy server does not start (and tear down) a thread for every
//! connection; under load that was the largest cost of `keylab server` after the key
//! exchange itself.

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How many connections a server takes.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections served at once.
    pub max_concurrent: u64,
    /// Stop after this many connections (for scripts and tests).
    pub max_connections: Option<u64>,
}

/// How long an idle thread waits for another connection before it ends.
const IDLE_THREAD: Duration = Duration::from_secs(10);

/// Accepts connections on `listener` and runs `serve(tcp, peer)` on a thread each, within
/// `limits`; returns when `max_connections` were accepted and served.
pub fn serve<F>(listener: &TcpListener, limits: Limits, serve: F)
where
    F: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
{
    let mut pool = Pool::new(serve);
    let active = Arc::new(AtomicUsize::new(0));
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
        if let Err(e) = pool.run(Job {
            tcp,
            peer,
            slot: Slot::take(&active),
        }) {
            crate::status!("{peer} refused: cannot start a thread ({e})");
        }
        accepted += 1;
        if limits.max_connections.is_some_and(|max| accepted >= max) {
            break;
        }
    }
    pool.finish();
}

/// One accepted connection, holding its place among `max_concurrent`.
struct Job {
    tcp: TcpStream,
    peer: SocketAddr,
    slot: Slot,
}

/// Threads that serve jobs, started when no thread is idle and ended after
/// [`IDLE_THREAD`] without work.
struct Pool<F> {
    shared: Arc<Shared<F>>,
    threads: Vec<JoinHandle<()>>,
}

struct Shared<F> {
    serve: F,
    queue: Mutex<Queue>,
    work: Condvar,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    idle: usize,
    /// No more jobs come; idle threads end.
    closed: bool,
}

impl<F> Pool<F>
where
    F: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
{
    fn new(serve: F) -> Self {
        let shared = Shared {
            serve,
            queue: Mutex::default(),
            work: Condvar::new(),
        };
        Self {
            shared: Arc::new(shared),
            threads: Vec::new(),
        }
    }

    /// Hands `job` to an idle thread, or to a new one when none is idle.
    fn run(&mut self, job: Job) -> std::io::Result<()> {
        // Threads that ended (idle too long) are joined here, so their stacks go at once.
        self.threads.retain(|t| !t.is_finished());
        let mut queue = self.shared.lock();
        if queue.idle > queue.jobs.len() {
            queue.jobs.push_back(job);
            self.shared.work.notify_one();
            return Ok(());
        }
        drop(queue);
        let shared = self.shared.clone();
        let thread = std::thread::Builder::new().spawn(move || shared.work_from(job))?;
        self.threads.push(thread);
        Ok(())
    }

    /// Waits until every job is served and every thread has ended.
    fn finish(self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_all();
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

impl<F> Shared<F>
where
    F: Fn(TcpStream, SocketAddr),
{
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serves `first`, then queued jobs, until none comes for [`IDLE_THREAD`] or the pool
    /// closes. A panic while serving ends the thread (its job's slot is freed on the way).
    fn work_from(&self, first: Job) {
        let mut next = Some(first);
        while let Some(Job { tcp, peer, slot }) = next {
            (self.serve)(tcp, peer);
            drop(slot);
            next = self.next_job();
        }
    }

    fn next_job(&self) -> Option<Job> {
        let mut queue = self.lock();
        loop {
            if let Some(job) = queue.jobs.pop_front() {
                return Some(job);
            }
            if queue.closed {
                return None;
            }
            queue.idle += 1;
            let (guard, waited) = self
                .work
                .wait_timeout(queue, IDLE_THREAD)
                .unwrap_or_else(|p| p.into_inner());
            queue = guard;
            queue.idle -= 1;
            if waited.timed_out() && queue.jobs.is_empty() {
                return None;
            }
        }
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::io::Read;
    use std::sync::mpsc;

    use super::*;

    /// Serves `n` connections made one after the other (each served before the next is
    /// made), returning the threads that served them.
    fn serve_in_turn(n: u64) -> Vec<std::thread::ThreadId> {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, served) = mpsc::channel();
        let limits = Limits {
            max_concurrent: 4,
            max_connections: Some(n),
        };
        let server = std::thread::spawn(move || {
            serve(&listener, limits, move |mut tcp, _| {
                let _ = tcp.read(&mut [0u8; 1]);
                tx.send(std::thread::current().id()).expect("send");
            })
        });
        let mut threads = Vec::new();
        for _ in 0..n {
            drop(TcpStream::connect(addr).expect("connect"));
            let thread = served
                .recv_timeout(Duration::from_secs(30))
                .expect("served");
            threads.push(thread);
            // Time for the thread to start waiting for the next connection.
            std::thread::sleep(Duration::from_millis(50));
        }
        server
            .join()
            .expect("the accept loop returns after n connections");
        threads
    }

    #[test]
    fn threads_are_reused_and_every_connection_is_served() {
        let threads = serve_in_turn(8);
        assert_eq!(threads.len(), 8);
        let distinct: HashSet<_> = threads.iter().collect();
        assert!(
            distinct.len() < 8,
            "{} threads for 8 connections",
            distinct.len()
        );
    }

    #[test]
    fn concurrent_connections_each_get_a_thread() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let limits = Limits {
            max_concurrent: 8,
            max_connections: Some(3),
        };
        // Each connection's serve waits (up to 10 s) until all three are being served: one
        // thread serving them in turn would never see three.
        let arrived = Arc::new(AtomicUsize::new(0));
        let saw_all = Arc::new(AtomicUsize::new(0));
        let (a, s) = (arrived.clone(), saw_all.clone());
        let server = std::thread::spawn(move || {
            serve(&listener, limits, move |mut tcp, _| {
                a.fetch_add(1, Ordering::SeqCst);
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                while a.load(Ordering::SeqCst) < 3 && std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
                if a.load(Ordering::SeqCst) >= 3 {
                    s.fetch_add(1, Ordering::SeqCst);
                }
                let _ = tcp.read(&mut [0u8; 1]);
            })
        });
        let clients: Vec<_> = (0..3)
            .map(|_| TcpStream::connect(addr).expect("connect"))
            .collect();
        drop(clients);
        server.join().expect("returns once the three are served");
        assert_eq!(saw_all.load(Ordering::SeqCst), 3, "served at the same time");
    }
}
