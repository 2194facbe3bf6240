//! One `keylab teach` connection: keylab's handshake with the wire bytes captured and the
//! observer installed, one HTTP request, the page explaining this very connection (or a
//! connection's model as JSON), close_notify, and the model kept for `/explain.json`.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use handshake::{Connection, ServerConfig, Stream, Summary};
use rand_core::Rng as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use super::http::{self, Request};
use super::offered::{self, Offered};
use crate::observe::{Observed, observe};
use crate::runner::{self, Timeouts};
use crate::seed::os_rng;
use crate::teach::build::{self, RunInfo};
use crate::teach::html;
use crate::teach::model::{Explanation, RunExplanation};

/// How many bytes of a connection's traffic are kept, both directions together.
pub const MAX_WIRE: usize = 2 * 1024 * 1024;
/// How many connections' models `/explain.json` can serve.
pub const KEPT_MODELS: usize = 64;

/// The socket, with every byte read and written recorded in order.
pub struct Capture {
    tcp: TcpStream,
    wire: Vec<(bool, Vec<u8>)>,
    kept: usize,
    /// True once bytes were dropped because [`MAX_WIRE`] was reached.
    pub truncated: bool,
}

impl Capture {
    fn new(tcp: TcpStream) -> Self {
        Self {
            tcp,
            wire: Vec::new(),
            kept: 0,
            truncated: false,
        }
    }

    fn record(&mut self, from_client: bool, bytes: &[u8]) {
        let room = MAX_WIRE.saturating_sub(self.kept).min(bytes.len());
        if room < bytes.len() {
            self.truncated = true;
        }
        if room == 0 {
            return;
        }
        self.kept += room;
        match self.wire.last_mut() {
            Some((dir, chunk)) if *dir == from_client => chunk.extend_from_slice(&bytes[..room]),
            _ => self.wire.push((from_client, bytes[..room].to_vec())),
        }
    }

    /// The chunks so far: (sent by the client, bytes), in order.
    pub fn wire(&self) -> &[(bool, Vec<u8>)] {
        &self.wire
    }
}

impl Read for Capture {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.tcp.read(buf)?;
        self.record(true, &buf[..n]);
        Ok(n)
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.tcp.write(buf)?;
        self.record(false, &buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// What every connection shares.
pub struct Shared {
    /// The server configuration.
    pub config: Arc<ServerConfig>,
    /// Handshake and idle limits, as `keylab server` has them.
    pub timeouts: Timeouts,
    /// Time allowed for a whole request head after the handshake.
    pub request_timeout: Duration,
    next_id: AtomicU64,
    models: Mutex<VecDeque<(u64, Arc<String>)>>,
    /// Key of the per-connection tokens that `/explain.json` requires.
    token_key: [u8; 32],
}

impl Shared {
    /// Shared state for a server with `config`.
    pub fn new(config: Arc<ServerConfig>, timeouts: Timeouts, request_timeout: Duration) -> Self {
        Self {
            config,
            timeouts,
            request_timeout,
            next_id: AtomicU64::new(0),
            models: Mutex::new(VecDeque::new()),
            token_key: {
                let mut key = [0u8; 32];
                os_rng().fill_bytes(&mut key);
                key
            },
        }
    }

    /// The token of connection `id`: only the page sent over that connection names it, so
    /// only its viewer can fetch its model (which holds its secrets). SHA-256 of a key drawn
    /// at start and the id, cut to 16 bytes.
    pub fn token(&self, id: u64) -> String {
        let mut h = Sha256::new();
        h.update(self.token_key);
        h.update(id.to_be_bytes());
        hex::encode(&h.finalize()[..16])
    }

    /// Whether `token` is connection `id`'s, compared in constant time.
    fn token_ok(&self, id: u64, token: &str) -> bool {
        let want = self.token(id);
        want.len() == token.len()
            && want
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// Keeps (or replaces) connection `id`'s model, forgetting the oldest beyond
    /// [`KEPT_MODELS`].
    fn keep(&self, id: u64, json: String) {
        if let Ok(mut models) = self.models.lock() {
            if let Some(entry) = models.iter_mut().find(|(i, _)| *i == id) {
                entry.1 = Arc::new(json);
                return;
            }
            if models.len() >= KEPT_MODELS {
                models.pop_front();
            }
            models.push_back((id, Arc::new(json)));
        }
    }

    fn model(&self, id: u64) -> Option<Arc<String>> {
        let models = self.models.lock().ok()?;
        models
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, m)| m.clone())
    }
}

/// `/explain.json`: one connection's whole model.
#[derive(Serialize)]
struct ConnectionJson<'a> {
    connection: u64,
    peer: String,
    request: Option<&'a str>,
    status: Option<u16>,
    summary: Option<String>,
    wire_truncated: bool,
    offered: Option<&'a Offered>,
    explanation: &'a RunExplanation,
}

/// Serves one accepted connection and logs it.
pub fn connection(shared: &Shared, tcp: TcpStream, peer: SocketAddr) {
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    let mut conn = Connection::server(shared.config.clone(), os_rng());
    let observed = observe(&mut conn, false);
    let snapshot = || observed.lock().map(|o| o.clone()).unwrap_or_default();
    let t = shared.timeouts;
    let setup = (|| {
        tcp.set_nonblocking(false)?;
        // As in `keylab server`: the watchdog enforces the handshake deadline, the socket
        // timeout is a backstop behind it.
        tcp.set_read_timeout(Some(t.handshake + Duration::from_secs(1)))?;
        tcp.set_write_timeout(Some(t.idle))?;
        runner::watchdog(&tcp, t.handshake)
    })();
    let (done, fired) = match setup {
        Ok(w) => w,
        Err(e) => {
            crate::status!("{peer} #{id} refused: {e}");
            return;
        }
    };
    let mut stream = Stream::new(conn, Capture::new(tcp), OffsetDateTime::now_utc);
    let summary = match stream.handshake() {
        Ok(s) => s.clone(),
        Err(e) => {
            let why = if fired.load(Ordering::Relaxed) {
                format!("handshake not completed within {} s", t.handshake.as_secs())
            } else {
                runner::describe_io_error(&e)
            };
            // Browsers open spare connections and drop some unused: not an error of ours.
            crate::status!("{peer} #{id} no handshake: {why}");
            let o = snapshot();
            finish(shared, id, peer, &o, None, stream.get_ref(), None, None);
            return;
        }
    };
    done.stop();
    crate::status!(
        "{peer} #{id} handshake complete: {}{}",
        summary.one_line(),
        summary
            .server_name
            .as_deref()
            .map(|n| format!(" sni={n}"))
            .unwrap_or_default()
    );
    let request = http::read_request(&mut stream, shared.request_timeout, |s, left| {
        s.get_ref().tcp.set_read_timeout(Some(left.min(t.idle)))
    });
    let (answer, status, line) = match &request {
        Ok(req) => {
            let line = format!("{} {}{}", req.method, req.path, query_suffix(req));
            let o = snapshot();
            let (status, ctype, body) =
                route(shared, id, peer, req, &line, &o, &summary, stream.get_ref());
            let answer = http::response(status, ctype, &body, req.method == "HEAD", &[]);
            (Some(answer), Some(status.0), Some(line))
        }
        Err(e) => match e.status() {
            Some(status) => {
                let body = format!("{e}\n");
                let answer = http::response(
                    status,
                    "text/plain; charset=utf-8",
                    body.as_bytes(),
                    false,
                    &[],
                );
                (Some(answer), Some(status.0), None)
            }
            None => (None, None, None),
        },
    };
    // Kept now, so that a link followed at once finds it; replaced below by the model
    // with every record, the answer's included.
    finish(
        shared,
        id,
        peer,
        &snapshot(),
        Some(&summary),
        stream.get_ref(),
        line.as_deref(),
        status,
    );
    let mut sent = 0;
    if let Some(answer) = answer {
        let written = stream.write_all(&answer).and_then(|()| stream.close());
        match written {
            Ok(()) => sent = answer.len(),
            Err(e) => crate::status!(
                "{peer} #{id} answer not sent: {}",
                runner::describe_io_error(&e)
            ),
        }
        drain(stream.get_mut(), t.idle.min(Duration::from_secs(2)));
    }
    match (&request, status) {
        (Ok(_), Some(code)) => crate::status!(
            "{peer} #{id} {} -> {code} ({sent} bytes); closed",
            line.as_deref().unwrap_or("")
        ),
        (Err(e), Some(code)) => crate::status!("{peer} #{id} {e} -> {code}; closed"),
        (Err(e), None) => crate::status!("{peer} #{id} ended: {e}"),
        (Ok(_), None) => {}
    }
    let o = snapshot();
    finish(
        shared,
        id,
        peer,
        &o,
        Some(&summary),
        stream.get_ref(),
        line.as_deref(),
        status,
    );
}

fn query_suffix(req: &Request) -> String {
    req.query
        .as_deref()
        .map(|q| format!("?{q}"))
        .unwrap_or_default()
}

/// After our close_notify: read what the browser still sends (its own close_notify) for
/// a moment, so that closing the socket with unread data does not reset the connection
/// and lose the answer.
fn drain(capture: &mut Capture, limit: Duration) {
    let _ = capture.tcp.shutdown(std::net::Shutdown::Write);
    let _ = capture.tcp.set_read_timeout(Some(limit));
    let mut buf = [0u8; 4096];
    let mut total = 0;
    while total < 64 * 1024 {
        match capture.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

/// The answer to `req`: status, content type, body.
#[allow(clippy::too_many_arguments)]
fn route(
    shared: &Shared,
    id: u64,
    peer: SocketAddr,
    req: &Request,
    line: &str,
    observed: &Observed,
    summary: &Summary,
    capture: &Capture,
) -> ((u16, &'static str), &'static str, Vec<u8>) {
    if req.path == "/explain.json" {
        let model = req
            .param("c")
            .and_then(|c| c.parse::<u64>().ok())
            .filter(|c| req.param("t").is_some_and(|t| shared.token_ok(*c, t)))
            .and_then(|c| shared.model(c));
        return match model {
            Some(json) => ((200, "OK"), "application/json", json.as_bytes().to_vec()),
            None => (
                (404, "Not Found"),
                "application/json",
                br#"{"error":"no such connection among the recent ones: ?c=ID&t=TOKEN, as the page of that connection links it"}"#.to_vec(),
            ),
        };
    }
    let run = model(id, peer, observed, Some(summary), capture.wire());
    let offered = offered::from_observed(observed, Some(summary));
    let explanation = Explanation {
        repeat: None,
        runs: vec![run],
    };
    let title = format!("keylab teach: connection {id} from {peer}, explained");
    let mut page = html::render(&explanation, &title);
    if let Some(o) = &offered {
        let section = offered::html_section(o, id, &shared.token(id), line);
        let at = page
            .find("<main>\n")
            .map_or(page.len(), |i| i + "<main>\n".len());
        page.insert_str(at, &section);
    }
    ((200, "OK"), "text/html; charset=utf-8", page.into_bytes())
}

fn model(
    id: u64,
    peer: SocketAddr,
    observed: &Observed,
    summary: Option<&Summary>,
    wire: &[(bool, Vec<u8>)],
) -> RunExplanation {
    let client = format!("a browser at {peer}");
    let info = RunInfo {
        number: usize::try_from(id).unwrap_or(usize::MAX),
        client: &client,
        label: None,
    };
    build::served(info, observed, summary, wire)
}

/// Builds the connection's whole model (every record, the page's included) and keeps it.
#[allow(clippy::too_many_arguments)]
fn finish(
    shared: &Shared,
    id: u64,
    peer: SocketAddr,
    observed: &Observed,
    summary: Option<&Summary>,
    capture: &Capture,
    request: Option<&str>,
    status: Option<u16>,
) {
    let explanation = model(id, peer, observed, summary, capture.wire());
    let offered = offered::from_observed(observed, summary);
    let json = ConnectionJson {
        connection: id,
        peer: peer.to_string(),
        request,
        status,
        summary: summary.map(Summary::one_line),
        wire_truncated: capture.truncated,
        offered: offered.as_ref(),
        explanation: &explanation,
    };
    if let Ok(text) = serde_json::to_string(&json) {
        shared.keep(id, text);
    }
}
