//! A blocking client for share servers (ureq), and storing or recovering a split across
//! several of them.
//!
//! `https://` servers are reached over keylab's TLS ([`Client::with_tls`]): the server's
//! certificate must chain to the configuration's trust anchors and name the URL's host, and
//! the configuration's identity is the client certificate the server asks for. A failed
//! handshake is a [`ClientError::Tls`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use service::HttpClient;
pub use service::{ClientError, DEFAULT_TIMEOUT};
use zeroize::Zeroizing;

use crate::Error;
use crate::server::{MAX_BODY, READERS_HEADER};
use crate::share::{Share, SplitId};

/// One share server.
pub struct Client {
    http: HttpClient,
    token: Option<Zeroizing<String>>,
}

impl fmt::Debug for Client {
    /// Leaves the token out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.http.base())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the server at `base_url` (`http://host:port`, optionally with a path
    /// prefix), sending `token` as a bearer token when given.
    pub fn new(base_url: &str, token: Option<Zeroizing<String>>, timeout: Duration) -> Self {
        Self {
            http: HttpClient::new(base_url, timeout, MAX_BODY),
            token,
        }
    }

    /// Like [`Client::new`], speaking keylab's TLS to an `https://` URL with `tls`: its
    /// trust anchors check the server's certificate (which must name the URL's host, RFC
    /// 6125 §6.4) and its identity, if any, is the client certificate the server asks for
    /// (RFC 8446 §4.4.2). An `http://` URL still goes in the clear.
    pub fn with_tls(
        base_url: &str,
        token: Option<Zeroizing<String>>,
        timeout: Duration,
        tls: Arc<handshake::ClientConfig>,
    ) -> Self {
        Self {
            http: HttpClient::with_tls(base_url, timeout, MAX_BODY, tls),
            token,
        }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        self.http.base()
    }

    /// Stores `share`; succeeds also when the identical share is already there.
    pub fn put(&self, share: &Share) -> Result<(), ClientError> {
        self.put_for(share, &[])
    }

    /// Stores `share`, readable by the clients whose certificates have the common names
    /// `readers` besides this client (the server refuses readers from a client without a
    /// certificate); succeeds also when the identical share is already there, whose
    /// readers stay as first stored.
    pub fn put_for(&self, share: &Share, readers: &[String]) -> Result<(), ClientError> {
        if let Some(bad) = readers
            .iter()
            .find(|r| r.contains(',') || r.trim().is_empty())
        {
            return Err(ClientError::Input(format!(
                "reader {bad:?}: a common name, without commas"
            )));
        }
        let url = format!("{}/shares/{}/{}", self.url(), share.split_id(), share.x());
        let mut request = self.authorized(self.http.agent().put(&url));
        if !readers.is_empty() {
            request = request.header(READERS_HEADER, readers.join(", "));
        }
        let text = share.to_text();
        let response = request
            .content_type("text/plain; charset=utf-8")
            .send(text.as_bytes());
        self.http.answer(&url, response).map(drop)
    }

    /// The share of split `id` with x-coordinate `x`.
    pub fn get(&self, id: SplitId, x: u8) -> Result<Share, ClientError> {
        let url = format!("{}/shares/{id}/{x}", self.url());
        let text = self.get_text(&url)?;
        let share =
            Share::from_text(&text).map_err(|e| ClientError::bad_answer(&url, e.to_string()))?;
        if share.split_id() != id || share.x() != x {
            return Err(ClientError::bad_answer(
                &url,
                format!(
                    "asked for split {id} x = {x}, got split {} x = {}",
                    share.split_id(),
                    share.x()
                ),
            ));
        }
        Ok(share)
    }

    /// The x-coordinates of split `id` this server holds.
    pub fn list(&self, id: SplitId) -> Result<Vec<u8>, ClientError> {
        let url = format!("{}/shares/{id}", self.url());
        let text = self.get_text(&url)?;
        text.lines()
            .map(|line| {
                line.trim().parse::<u8>().map_err(|_| {
                    ClientError::bad_answer(&url, format!("{line:?} is not an x-coordinate"))
                })
            })
            .collect()
    }

    fn get_text(&self, url: &str) -> Result<Zeroizing<String>, ClientError> {
        let response = self.authorized(self.http.agent().get(url)).call();
        self.http.answer(url, response).map(|answer| answer.body)
    }

    /// `request` with the bearer token, if there is one.
    fn authorized<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(token) => request.header("Authorization", format!("Bearer {}", token.as_str())),
            None => request,
        }
    }
}

/// Stores `shares[i]` on `servers[i]`; the first failure stops it.
pub fn store(servers: &[Client], shares: &[Share]) -> Result<(), ClientError> {
    for (server, share) in servers.iter().zip(shares) {
        server.put(share)?;
    }
    Ok(())
}

/// The most x-coordinates taken from one server's list: a broken or hostile server
/// cannot make the client fetch (and try) without end.
pub const MAX_XS_PER_SERVER: usize = 16;

/// The most M-subsets of the fetched shares [`recover`] tries to combine.
pub const MAX_ATTEMPTS: usize = 64;

/// What asking the servers for a split's shares gave.
#[derive(Debug, Default)]
pub struct Fetched {
    /// The shares found, in the order found; several may have the same x-coordinate
    /// when servers disagree.
    pub shares: Vec<Share>,
    /// How many servers answered.
    pub reached: usize,
    /// How many servers were asked.
    pub asked: usize,
    /// The servers that failed, with why.
    pub failures: Vec<ClientError>,
}

impl Fetched {
    /// The distinct x-coordinates held, ascending.
    pub fn xs(&self) -> Vec<u8> {
        let mut xs: Vec<u8> = self.shares.iter().map(Share::x).collect();
        xs.sort_unstable();
        xs.dedup();
        xs
    }
}

/// Why [`recover`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// Too few servers answered with shares.
    #[error("{}", not_enough(.fetched, *.need, .id))]
    NotEnough {
        /// The split.
        id: SplitId,
        /// The shares needed (the threshold), if any share said.
        need: Option<u8>,
        /// What the servers gave.
        fetched: Fetched,
    },
    /// Enough shares were there, but no subset of them tried combines: some are corrupted
    /// or forged.
    #[error(
        "the shares of split {id} do not combine: tried {tried} subset(s) of the shares with \
         x = {xs:?}{}; last error: {source}",
        if *.exhausted { format!(" (stopped at the limit of {MAX_ATTEMPTS})") } else { String::new() }
    )]
    Combine {
        /// The split.
        id: SplitId,
        /// Why the last subset tried failed.
        source: Error,
        /// How many subsets were tried.
        tried: usize,
        /// The x-coordinates of the shares fetched.
        xs: Vec<u8>,
        /// Whether it stopped at [`MAX_ATTEMPTS`].
        exhausted: bool,
    },
}

fn not_enough(fetched: &Fetched, need: Option<u8>, id: &SplitId) -> String {
    let need = need.map_or_else(|| "at least 2".to_owned(), |m| m.to_string());
    let mut text = format!(
        "reached {} of {} share servers, holding {} share(s) of split {id}; {need} needed",
        fetched.reached,
        fetched.asked,
        fetched.xs().len()
    );
    for failure in &fetched.failures {
        text.push_str("\n  ");
        text.push_str(&failure.to_string());
    }
    text
}

/// Fetches split `id` from `servers` and combines it: succeeds with any `threshold`
/// servers holding their good share, even when others are down or give bad shares;
/// otherwise says how many were reached and how many are needed, or which shares were
/// tried.
pub fn recover(servers: &[Client], id: SplitId) -> Result<Zeroizing<Vec<u8>>, RecoverError> {
    recover_with(servers, id, Vec::new())
}

/// [`recover`], starting from shares already at hand (`local`, tried first; shares of
/// other splits are ignored).
///
/// Fetches only until some `threshold` shares with distinct x-coordinates combine (their
/// digest checks): first shares of new x-coordinates, round-robin over the servers (one
/// per server and round, so one server's forged shares cannot use up the attempts),
/// taking at most [`MAX_XS_PER_SERVER`] from each; then, if that was not enough, the other servers'
/// copies of x-coordinates already held. Each new share is tried with the shares before
/// it, at most [`MAX_ATTEMPTS`] subsets in all.
pub fn recover_with(
    servers: &[Client],
    id: SplitId,
    local: Vec<Share>,
) -> Result<Zeroizing<Vec<u8>>, RecoverError> {
    let mut pool = Pool {
        fetched: Fetched {
            asked: servers.len(),
            ..Fetched::default()
        },
        tried: 0,
        last_error: None,
    };
    for share in local.into_iter().filter(|s| s.split_id() == id) {
        if let Some(secret) = pool.add(share) {
            return Ok(secret);
        }
    }
    // Round-robin, one new share per server and round, so that a server listing many
    // (forged) shares cannot use up the attempts; servers are listed only when reached.
    let mut queues: Vec<Option<std::collections::VecDeque<u8>>> = vec![None; servers.len()];
    let mut deferred: Vec<(&Client, u8)> = Vec::new();
    let mut round = 0;
    loop {
        let mut any = false;
        for (server, queue) in servers.iter().zip(&mut queues) {
            if pool.exhausted() {
                break;
            }
            if round == 0 {
                *queue = pool.list(server, id).map(Into::into);
            }
            let Some(queue) = queue else { continue };
            while let Some(x) = queue.pop_front() {
                if pool.fetched.shares.iter().any(|s| s.x() == x) {
                    deferred.push((server, x));
                    continue;
                }
                any = true;
                if let Some(secret) = pool.fetch(server, id, x) {
                    return Ok(secret);
                }
                break;
            }
        }
        round += 1;
        if !any || pool.exhausted() {
            break;
        }
    }
    // Not enough good shares with distinct x: try the other servers' copies.
    for (server, x) in deferred {
        if pool.exhausted() {
            break;
        }
        if let Some(secret) = pool.fetch(server, id, x) {
            return Ok(secret);
        }
    }
    let Pool {
        fetched,
        tried,
        last_error,
    } = pool;
    match last_error {
        Some(source) if tried > 0 => Err(RecoverError::Combine {
            id,
            source,
            tried,
            xs: fetched.xs(),
            exhausted: tried >= MAX_ATTEMPTS,
        }),
        _ => Err(RecoverError::NotEnough {
            id,
            need: fetched.shares.first().map(Share::threshold),
            fetched,
        }),
    }
}

/// The shares gathered so far and the subsets tried.
struct Pool {
    fetched: Fetched,
    tried: usize,
    last_error: Option<Error>,
}

impl Pool {
    fn exhausted(&self) -> bool {
        self.tried >= MAX_ATTEMPTS
    }

    /// The x-coordinates `server` lists for `id`, ascending, at most
    /// [`MAX_XS_PER_SERVER`]; `None` (and a failure noted) when it cannot be asked.
    fn list(&mut self, server: &Client, id: SplitId) -> Option<Vec<u8>> {
        let mut xs = match server.list(id) {
            Ok(xs) => xs,
            Err(e) => {
                self.fetched.failures.push(e);
                return None;
            }
        };
        self.fetched.reached += 1;
        xs.sort_unstable();
        xs.dedup();
        if xs.len() > MAX_XS_PER_SERVER {
            self.fetched.failures.push(ClientError::bad_answer(
                &format!("{}/shares/{id}", server.url()),
                format!(
                    "lists {} shares of one split; only the first {MAX_XS_PER_SERVER} are used",
                    xs.len()
                ),
            ));
            xs.truncate(MAX_XS_PER_SERVER);
        }
        Some(xs)
    }

    /// Fetches one share and tries it; the secret if it completes a good subset.
    fn fetch(&mut self, server: &Client, id: SplitId, x: u8) -> Option<Zeroizing<Vec<u8>>> {
        match server.get(id, x) {
            Ok(share) => self.add(share),
            Err(e) => {
                self.fetched.failures.push(e);
                None
            }
        }
    }

    /// Adds `share` (unless the same one is held) and tries every subset of `threshold`
    /// shares with distinct x-coordinates that contains it, within the attempt budget.
    fn add(&mut self, share: Share) -> Option<Zeroizing<Vec<u8>>> {
        if self.fetched.shares.contains(&share) {
            return None;
        }
        let m = usize::from(share.threshold());
        // Only shares that could combine with this one: same threshold and length.
        let others: Vec<&Share> = self
            .fetched
            .shares
            .iter()
            .filter(|s| {
                s.threshold() == share.threshold()
                    && s.y().len() == share.y().len()
                    && s.x() != share.x()
            })
            .collect();
        let mut chosen: Vec<&Share> = Vec::with_capacity(m);
        chosen.push(&share);
        let mut secret = None;
        let mut last_error = None;
        subsets(&others, 0, m, &mut chosen, &mut |subset| {
            if self.tried >= MAX_ATTEMPTS {
                return true;
            }
            self.tried += 1;
            let owned: Vec<Share> = subset.iter().map(|s| (*s).clone()).collect();
            match crate::combine(&owned) {
                Ok(s) => {
                    secret = Some(s);
                    true
                }
                Err(e) => {
                    last_error = Some(e);
                    false
                }
            }
        });
        if last_error.is_some() {
            self.last_error = last_error;
        }
        self.fetched.shares.push(share);
        secret
    }
}

/// Calls `visit` with every way of completing `chosen` to `m` shares from `others[from..]`
/// with distinct x-coordinates, until `visit` returns true; returns whether it did.
fn subsets<'a>(
    others: &[&'a Share],
    from: usize,
    m: usize,
    chosen: &mut Vec<&'a Share>,
    visit: &mut dyn FnMut(&[&'a Share]) -> bool,
) -> bool {
    if chosen.len() == m {
        return visit(chosen);
    }
    for (i, share) in others.iter().enumerate().skip(from) {
        if chosen.iter().any(|c| c.x() == share.x()) {
            continue;
        }
        chosen.push(share);
        let done = subsets(others, i + 1, m, chosen, visit);
        chosen.pop();
        if done {
            return true;
        }
    }
    false
}
