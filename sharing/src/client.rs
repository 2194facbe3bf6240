//! A blocking client for share servers (ureq), and storing or recovering a split across
//! several of them.

use std::fmt;
use std::io::Read as _;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::Error;
use crate::server::MAX_BODY;
use crate::share::{Share, SplitId};

/// How long one request may take, connection included, unless set otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request to one share server failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No HTTP answer: connection refused, timed out, reset.
    #[error("{url}: unreachable: {reason}")]
    Unreachable {
        /// The request URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server answered with an error status.
    #[error("{url}: {status}: {message}")]
    Status {
        /// The request URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The server's one-line reason.
        message: String,
    },
    /// The server answered 200 with something that is not what was asked for.
    #[error("{url}: bad answer: {reason}")]
    BadAnswer {
        /// The request URL.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
}

/// One share server.
pub struct Client {
    base: String,
    token: Option<Zeroizing<String>>,
    agent: ureq::Agent,
}

impl fmt::Debug for Client {
    /// Leaves the token out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the server at `base_url` (`http://host:port`, optionally with a path
    /// prefix), sending `token` as a bearer token when given.
    pub fn new(base_url: &str, token: Option<Zeroizing<String>>, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            base: base_url.trim_end_matches('/').to_owned(),
            token,
            agent,
        }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Stores `share`; succeeds also when the identical share is already there.
    pub fn put(&self, share: &Share) -> Result<(), ClientError> {
        let url = format!("{}/shares/{}/{}", self.base, share.split_id(), share.x());
        let mut request = self.agent.put(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {}", token.as_str()));
        }
        let text = share.to_text();
        let response = request
            .content_type("text/plain; charset=utf-8")
            .send(text.as_bytes());
        self.answer(&url, response).map(drop)
    }

    /// The share of split `id` with x-coordinate `x`.
    pub fn get(&self, id: SplitId, x: u8) -> Result<Share, ClientError> {
        let url = format!("{}/shares/{id}/{x}", self.base);
        let text = self.get_text(&url)?;
        let share = Share::from_text(&text).map_err(|e| ClientError::BadAnswer {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        if share.split_id() != id || share.x() != x {
            return Err(ClientError::BadAnswer {
                url,
                reason: format!(
                    "asked for split {id} x = {x}, got split {} x = {}",
                    share.split_id(),
                    share.x()
                ),
            });
        }
        Ok(share)
    }

    /// The x-coordinates of split `id` this server holds.
    pub fn list(&self, id: SplitId) -> Result<Vec<u8>, ClientError> {
        let url = format!("{}/shares/{id}", self.base);
        let text = self.get_text(&url)?;
        text.lines()
            .map(|line| {
                line.trim()
                    .parse::<u8>()
                    .map_err(|_| ClientError::BadAnswer {
                        url: url.clone(),
                        reason: format!("{line:?} is not an x-coordinate"),
                    })
            })
            .collect()
    }

    fn get_text(&self, url: &str) -> Result<Zeroizing<String>, ClientError> {
        let mut request = self.agent.get(url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {}", token.as_str()));
        }
        let response = request.call();
        self.answer(url, response)
    }

    /// The body of a 2xx answer, or the error.
    fn answer(
        &self,
        url: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Zeroizing<String>, ClientError> {
        let mut response = response.map_err(|e| ClientError::Unreachable {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let mut body = Zeroizing::new(String::new());
        let read = response
            .body_mut()
            .as_reader()
            .take(MAX_BODY as u64)
            .read_to_string(&mut body);
        if let Err(e) = read {
            return Err(ClientError::Unreachable {
                url: url.to_owned(),
                reason: format!("reading the answer: {e}"),
            });
        }
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(ClientError::Status {
                url: url.to_owned(),
                status,
                message: body.trim().chars().take(200).collect(),
            })
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

/// What asking every server for a split's shares gave.
#[derive(Debug, Default)]
pub struct Fetched {
    /// The shares found, at most one per x-coordinate (first server wins).
    pub shares: Vec<Share>,
    /// How many servers answered.
    pub reached: usize,
    /// How many servers were asked.
    pub asked: usize,
    /// The servers that failed, with why.
    pub failures: Vec<ClientError>,
}

/// Asks every server for every share of split `id` it holds.
pub fn fetch(servers: &[Client], id: SplitId) -> Fetched {
    let mut fetched = Fetched {
        asked: servers.len(),
        ..Fetched::default()
    };
    for server in servers {
        let xs = match server.list(id) {
            Ok(xs) => xs,
            Err(e) => {
                fetched.failures.push(e);
                continue;
            }
        };
        fetched.reached += 1;
        for x in xs {
            if fetched.shares.iter().any(|s| s.x() == x) {
                continue;
            }
            match server.get(id, x) {
                Ok(share) => fetched.shares.push(share),
                Err(e) => fetched.failures.push(e),
            }
        }
    }
    fetched
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
    /// The shares were there but do not combine.
    #[error("the shares of split {id} do not combine: {source}")]
    Combine {
        /// The split.
        id: SplitId,
        /// Why.
        source: Error,
    },
}

fn not_enough(fetched: &Fetched, need: Option<u8>, id: &SplitId) -> String {
    let need = need.map_or_else(|| "at least 2".to_owned(), |m| m.to_string());
    let mut text = format!(
        "reached {} of {} share servers, holding {} share(s) of split {id}; {need} needed",
        fetched.reached,
        fetched.asked,
        fetched.shares.len()
    );
    for failure in &fetched.failures {
        text.push_str("\n  ");
        text.push_str(&failure.to_string());
    }
    text
}

/// Fetches split `id` from `servers` and combines it: succeeds with any `threshold`
/// servers holding their share; otherwise says how many were reached and how many are
/// needed.
pub fn recover(servers: &[Client], id: SplitId) -> Result<Zeroizing<Vec<u8>>, RecoverError> {
    let fetched = fetch(servers, id);
    let need = fetched.shares.first().map(Share::threshold);
    match need {
        Some(m) if fetched.shares.len() >= usize::from(m) => {
            crate::combine(&fetched.shares).map_err(|source| RecoverError::Combine { id, source })
        }
        _ => Err(RecoverError::NotEnough { id, need, fetched }),
    }
}
