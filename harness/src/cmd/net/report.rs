//! What `keylab client --json` prints: one JSON object describing the connection.

use handshake::{Path, Summary};
use serde::Serialize;

/// The shape of `keylab client --json`, shown in its `--help`.
pub const JSON_HELP: &str = r#"With --json, stdout is one JSON object (and nothing else):
  {"connected_to": "127.0.0.1:8443", "server_name": "localhost",
   "version": "TLSv1.3", "path": "certificate", "why": "server requested a certificate; ...",
   "suite": "TLS_CHACHA20_POLY1305_SHA256", "group": "x25519",
   "server_signature": "ed25519", "client_signature": "ed25519", "hello_retry": false,
   "alpn": "http/1.1", "psk_identity": null, "resumed": false,
   "server_certificate": "CN=localhost", "server_chain": ["CN=localhost", "..."],
   "client_certificate": "CN=alice",
   "sent": "hello from keylab", "reply": "hello from keylab",
   "bytes": {"application_sent": 18, "application_received": 18,
             "wire_sent": 596, "wire_received": 1347},
   "tickets_received": 1, "session_saved": "s.txt"}
group is null on the psk_ke paths (psk, resumption); server_signature and
server_certificate are null on the PSK paths; client_signature and client_certificate
null without a client certificate; alpn null without ALPN; psk_identity is the external
PSK's identity on the psk and psk+dhe paths; resumed is true on the resumption paths;
server_chain is the validated chain, leaf first; tickets_received counts NewSessionTicket
messages read (a server sends them only to a client that lists psk_key_exchange_modes,
RFC 8446 §4.2.9: one with --session-out, --session-in or --psk-file); session_saved is the --session-out file, or null. On failure stdout is
{"error": {"kind": "network" | "tls" | "input" | "output" | "check", "message": "..."}}."#;

/// Byte counts of one connection.
#[derive(Debug, Default, Serialize)]
pub struct Bytes {
    /// Application data sent (the line and its newline).
    pub application_sent: u64,
    /// Application data received (the reply line and its newline).
    pub application_received: u64,
    /// Everything written to the socket: records and their headers.
    pub wire_sent: u64,
    /// Everything read from the socket.
    pub wire_received: u64,
}

/// `keylab client --json`'s object; see [`JSON_HELP`].
#[derive(Debug, Serialize)]
pub struct ClientReport {
    connected_to: String,
    server_name: String,
    version: &'static str,
    path: &'static str,
    why: String,
    suite: String,
    group: Option<String>,
    server_signature: Option<String>,
    client_signature: Option<String>,
    hello_retry: bool,
    alpn: Option<String>,
    psk_identity: Option<String>,
    resumed: bool,
    server_certificate: Option<String>,
    server_chain: Vec<String>,
    client_certificate: Option<String>,
    sent: String,
    reply: String,
    bytes: Bytes,
    tickets_received: u64,
    session_saved: Option<String>,
}

/// What the exchange gave, besides the summary.
pub struct Exchange {
    /// The line sent, without its newline.
    pub sent: String,
    /// The reply line, without its line ending.
    pub reply: String,
    /// Byte counts.
    pub bytes: Bytes,
    /// NewSessionTicket messages read.
    pub tickets: u64,
}

impl ClientReport {
    /// The report of a connection to `addr` for `server_name`.
    pub fn new(addr: String, server_name: String, s: &Summary, exchange: Exchange) -> Self {
        let psk_identity = match s.path {
            Path::Psk | Path::PskDhe => s
                .client_identity
                .as_deref()
                .map(|id| id.strip_prefix("psk:").unwrap_or(id).to_owned()),
            _ => None,
        };
        Self {
            connected_to: addr,
            server_name,
            version: "TLSv1.3",
            path: s.path.name(),
            why: s.reason.clone(),
            suite: s.cipher_suite.to_string(),
            group: s.group.map(|g| g.to_string()),
            server_signature: s.server_signature.map(|x| x.to_string()),
            client_signature: s.client_signature.map(|x| x.to_string()),
            hello_retry: s.hello_retry,
            alpn: s
                .alpn
                .as_ref()
                .map(|a| String::from_utf8_lossy(a).into_owned()),
            psk_identity,
            resumed: matches!(s.path, Path::Resumption | Path::ResumptionDhe),
            server_certificate: s.server_chain.first().cloned(),
            server_chain: s.server_chain.clone(),
            client_certificate: s.client_chain.first().cloned(),
            sent: exchange.sent,
            reply: exchange.reply,
            bytes: exchange.bytes,
            tickets_received: exchange.tickets,
            session_saved: None,
        }
    }

    /// Notes the session file written.
    pub fn saved(&mut self, path: &std::path::Path) {
        self.session_saved = Some(path.display().to_string());
    }

    /// The object, one line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
