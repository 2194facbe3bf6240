//! The core of keylab's blocking HTTP clients (ureq): one server's base URL, a deadline
//! for each request, answers read within a size bound, and the error every client
//! returns.
//!
//! ```text
//!   HttpClient::new(base, timeout, max_answer)
//!   request = client.agent().get(url)      (the caller adds headers, sends a body)
//!   client.answer(url, request.call())  ──> Answer { status: 2xx, body }
//!                                       └─> ClientError::{Unreachable, Tls, Status}
//! ```

use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{Connector as _, TcpConnector};
use zeroize::Zeroizing;

use crate::tls::KeylabTlsConnector;

/// How long one request may take, connection included, unless set otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most characters of a refusal's reason kept in [`ClientError::Status`].
pub const MAX_REASON_CHARS: usize = 300;

/// Why a request to a server failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Bad input on this side (a name, a key), found before anything was sent.
    #[error("{0}")]
    Input(String),
    /// No HTTP answer: connection refused, timed out, reset.
    #[error("{url}: unreachable: {reason}")]
    Unreachable {
        /// The request URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The TLS handshake or a TLS record failed (RFC 8446 §6): a server certificate from
    /// another CA or for another name, or an alert from the server, such as the refusal of
    /// this client's certificate. Not a network failure: the server was reached.
    #[error("{url}: TLS failed: {reason}")]
    Tls {
        /// The request URL.
        url: String,
        /// The handshake's error, with the alert sent or received.
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
    /// The server answered 2xx with something that is not what was asked for.
    #[error("{url}: bad answer: {reason}")]
    BadAnswer {
        /// The request URL.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
}

impl ClientError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the TLS handshake or a TLS record failed ([`ClientError::Tls`]).
    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Tls { .. })
    }

    /// A [`ClientError::BadAnswer`] from `url`.
    pub fn bad_answer(url: &str, reason: impl Into<String>) -> Self {
        Self::BadAnswer {
            url: url.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The error of a request whose connection failed with `e`: [`ClientError::Tls`] when
/// keylab's TLS failed, naming the alert this side sent or the server's (RFC 8446 §6.2);
/// [`ClientError::Unreachable`] otherwise. `context` begins the reason.
fn io_failure(url: &str, e: &std::io::Error, context: &str) -> ClientError {
    let url = url.to_owned();
    let Some(tls) = crate::tls::tls_error(e) else {
        return ClientError::Unreachable {
            url,
            reason: format!("{context}{e}"),
        };
    };
    let alert = match (tls, crate::tls::alert_of(e)) {
        // The error already says "peer sent fatal alert ...".
        (handshake::Error::PeerAlert(_), _) => String::new(),
        (_, Some(a)) => format!(" (alert {a} sent)"),
        (_, None) => String::new(),
    };
    ClientError::Tls {
        url,
        reason: format!("{context}{tls}{alert}"),
    }
}

/// An agent's settings: requests end after `timeout`, and error statuses are answers.
fn agent_config(timeout: Duration) -> ureq::config::Config {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
}

/// A 2xx answer.
#[derive(Debug)]
pub struct Answer {
    /// The status, 200..=299.
    pub status: u16,
    /// The body, zeroized when dropped (it may hold a secret).
    pub body: Zeroizing<String>,
}

/// One server: its base URL and an agent whose requests end after a deadline and
/// whose error statuses come back as answers (for [`HttpClient::answer`] to read).
#[derive(Debug)]
pub struct HttpClient {
    base: String,
    agent: ureq::Agent,
    max_answer: usize,
}

impl HttpClient {
    /// A client for the server at `base_url` (`http://host:port`, optionally with a path
    /// prefix; a trailing `/` is dropped) whose requests take at most `timeout` each and
    /// whose answers are read up to `max_answer` bytes.
    pub fn new(base_url: &str, timeout: Duration, max_answer: usize) -> Self {
        Self::with_agent(base_url, agent_config(timeout).into(), max_answer)
    }

    /// Like [`HttpClient::new`], with `https://` URLs spoken over keylab's TLS with `tls`
    /// (its trust anchors check the server's certificate against the URL's host; its
    /// identity, if any, is the client certificate). No other TLS library is involved;
    /// `http://` URLs still go in the clear.
    pub fn with_tls(
        base_url: &str,
        timeout: Duration,
        max_answer: usize,
        tls: Arc<handshake::ClientConfig>,
    ) -> Self {
        let connector = ().chain(TcpConnector::default()).chain(KeylabTlsConnector::new(tls));
        let agent =
            ureq::Agent::with_parts(agent_config(timeout), connector, DefaultResolver::default());
        Self::with_agent(base_url, agent, max_answer)
    }

    fn with_agent(base_url: &str, agent: ureq::Agent, max_answer: usize) -> Self {
        Self {
            base: base_url.trim_end_matches('/').to_owned(),
            agent,
            max_answer,
        }
    }

    /// The base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The agent to build requests with.
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// The status and body of a 2xx answer to the request for `url`, or why there is none:
    /// [`ClientError::Unreachable`] without an answer (or when reading it fails),
    /// [`ClientError::Tls`] when keylab's TLS failed on the way,
    /// [`ClientError::Status`] with the server's reason for any other status.
    pub fn answer(
        &self,
        url: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Answer, ClientError> {
        let mut response = response.map_err(|e| match &e {
            ureq::Error::Io(io) => io_failure(url, io, ""),
            // Bytes that are not HTTP, from an `http://` URL: most likely a TLS server.
            ureq::Error::Protocol(_) if url.starts_with("http://") => ClientError::Unreachable {
                url: url.to_owned(),
                reason: format!(
                    "the answer is not HTTP ({e}); if the server speaks HTTPS, give its \
                     https:// URL and the CA that issued its certificate (--ca)"
                ),
            },
            _ => ClientError::Unreachable {
                url: url.to_owned(),
                reason: e.to_string(),
            },
        })?;
        let status = response.status().as_u16();
        // Sized up front so reading does not reallocate and leave copies of a secret
        // behind.
        let capacity = response
            .body()
            .content_length()
            .and_then(|n| usize::try_from(n).ok())
            .map_or(self.max_answer, |n| n.min(self.max_answer));
        let mut body = Zeroizing::new(String::with_capacity(capacity));
        response
            .body_mut()
            .as_reader()
            .take(self.max_answer as u64)
            .read_to_string(&mut body)
            .map_err(|e| io_failure(url, &e, "reading the answer: "))?;
        if (200..300).contains(&status) {
            Ok(Answer { status, body })
        } else {
            Err(ClientError::Status {
                url: url.to_owned(),
                status,
                message: body.trim().chars().take(MAX_REASON_CHARS).collect(),
            })
        }
    }
}
