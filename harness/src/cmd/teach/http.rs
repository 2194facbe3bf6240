//! The little HTTP/1.1 (RFC 9112) `keylab teach` speaks: one request per connection,
//! its head parsed by `httparse` and bounded in size and time, and one answer with
//! `Connection: close`.

use std::io::{self, Read};
use std::time::{Duration, Instant};

/// The largest request head accepted; browsers send 1-2 KiB.
pub const MAX_HEAD: usize = 16 * 1024;
/// The most header fields accepted.
const MAX_HEADERS: usize = 64;

/// A request `teach` understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `HEAD`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string after `?`, if any.
    pub query: Option<String>,
    /// The User-Agent header, if any.
    pub user_agent: Option<String>,
}

impl Request {
    /// The value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .as_deref()?
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

/// Why no request could be served, as the status to answer with (or none when the
/// client left or the time ran out: nothing is sent then).
#[derive(Debug)]
pub enum RequestError {
    /// 400: not HTTP/1.x, or malformed.
    BadRequest(String),
    /// 405: a method other than GET and HEAD.
    MethodNotAllowed(String),
    /// 431: the head is larger than [`MAX_HEAD`] or has too many fields.
    TooLarge,
    /// The client closed, went silent, or took longer than allowed.
    Gone(io::Error),
}

impl RequestError {
    /// The status line's code and reason, when there is one to send.
    pub fn status(&self) -> Option<(u16, &'static str)> {
        match self {
            Self::BadRequest(_) => Some((400, "Bad Request")),
            Self::MethodNotAllowed(_) => Some((405, "Method Not Allowed")),
            Self::TooLarge => Some((431, "Request Header Fields Too Large")),
            Self::Gone(_) => None,
        }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadRequest(why) => write!(f, "bad request: {why}"),
            Self::MethodNotAllowed(m) => write!(f, "method {m} not allowed"),
            Self::TooLarge => write!(f, "request head larger than {MAX_HEAD} bytes"),
            Self::Gone(e) => write!(f, "no request: {e}"),
        }
    }
}

/// Reads one request head from `io` within `limit`; `set_timeout` is called before each
/// read with the time left, so a client trickling bytes cannot hold the connection
/// longer than `limit` (slowloris).
pub fn read_request<R: Read>(
    io: &mut R,
    limit: Duration,
    mut set_timeout: impl FnMut(&mut R, Duration) -> io::Result<()>,
) -> Result<Request, RequestError> {
    let deadline = Instant::now() + limit;
    let mut head = Vec::with_capacity(2048);
    let mut buf = [0u8; 4096];
    let too_slow = || {
        RequestError::Gone(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("request not complete within {} s", limit.as_secs_f64()),
        ))
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(too_slow());
        }
        set_timeout(io, left).map_err(RequestError::Gone)?;
        let n = match io.read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(too_slow());
            }
            Err(e) => return Err(RequestError::Gone(e)),
        };
        if n == 0 {
            return Err(RequestError::Gone(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client closed before a complete request",
            )));
        }
        head.extend_from_slice(&buf[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&head) {
            Ok(httparse::Status::Complete(_)) => return request(&req),
            Ok(httparse::Status::Partial) if head.len() >= MAX_HEAD => {
                return Err(RequestError::TooLarge);
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => return Err(RequestError::TooLarge),
            Err(e) => return Err(RequestError::BadRequest(e.to_string())),
        }
        if head.len() > MAX_HEAD {
            return Err(RequestError::TooLarge);
        }
    }
}

fn request(req: &httparse::Request<'_, '_>) -> Result<Request, RequestError> {
    let (Some(method), Some(target)) = (req.method, req.path) else {
        return Err(RequestError::BadRequest("incomplete request line".into()));
    };
    // RFC 9112 §3.2: a client must send Host in HTTP/1.1.
    let host = req
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("host"))
        .count();
    if req.version == Some(1) && host != 1 {
        return Err(RequestError::BadRequest(format!(
            "{host} Host header fields (RFC 9112 §3.2 wants exactly one)"
        )));
    }
    if method != "GET" && method != "HEAD" {
        return Err(RequestError::MethodNotAllowed(method.to_owned()));
    }
    if !target.starts_with('/') {
        return Err(RequestError::BadRequest(
            "only origin-form targets (/path)".into(),
        ));
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    };
    let user_agent = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("user-agent"))
        .map(|h| String::from_utf8_lossy(h.value).into_owned());
    Ok(Request {
        method: method.to_owned(),
        path,
        query,
        user_agent,
    })
}

/// A complete answer: status line, `Connection: close`, `Content-Type`,
/// `Content-Length`, `Cache-Control: no-store`, then the body unless `head_only`.
pub fn response(
    status: (u16, &str),
    content_type: &str,
    body: &[u8],
    head_only: bool,
    extra_headers: &[(&str, &str)],
) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nConnection: close\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
        status.0,
        status.1,
        body.len()
    );
    for (name, value) in extra_headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Request, RequestError> {
        read_request(
            &mut io::Cursor::new(bytes.to_vec()),
            Duration::from_secs(5),
            |_, _| Ok(()),
        )
    }

    #[test]
    fn a_browser_request_is_read_with_its_query() {
        let req = parse(
            b"GET /explain.json?c=7&x=1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\n\r\n",
        )
        .expect("valid");
        assert_eq!(req.path, "/explain.json");
        assert_eq!(req.param("c"), Some("7"));
        assert_eq!(req.param("y"), None);
        assert_eq!(req.user_agent.as_deref(), Some("t"));
    }

    #[test]
    fn errors_map_to_statuses() {
        let status = |bytes: &[u8]| parse(bytes).err().and_then(|e| e.status()).map(|s| s.0);
        assert_eq!(status(b"GARBAGE\r\n\r\n"), Some(400));
        assert_eq!(status(b"GET / HTTP/1.1\r\n\r\n"), Some(400), "no Host");
        assert_eq!(status(b"POST / HTTP/1.1\r\nHost: a\r\n\r\n"), Some(405));
        let mut big = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        while big.len() <= MAX_HEAD {
            big.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert_eq!(status(&big), Some(431));
        assert!(matches!(parse(b"GET / HT"), Err(RequestError::Gone(_))));
    }

    #[test]
    fn answers_carry_the_required_headers() {
        let r = String::from_utf8(response(
            (404, "Not Found"),
            "text/plain",
            b"no",
            false,
            &[],
        ))
        .expect("ascii");
        assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"));
        for h in [
            "Connection: close",
            "Content-Type: text/plain",
            "Content-Length: 2",
            "Cache-Control: no-store",
        ] {
            assert!(r.contains(h), "{h}");
        }
        assert!(r.ends_with("\r\n\r\nno"));
    }
}
