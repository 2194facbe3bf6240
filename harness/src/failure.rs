//! How a command fails: the message printed after `error: `, the exit status, and a kind
//! a script can match on (`--json` prints `{"error": {"kind": ..., "message": ...}}`).

use serde::Serialize;

/// Exit codes, shared by every command (shown at the end of each `--help`).
pub const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  the check failed: `pki verify` rejected the certificate, `keylab client` could not
     connect or complete the handshake, a key server's log did not verify, `psk crack`
     found no code, the codes of a `pair` did not match
  2  usage error, invalid input, an output that cannot be written (or would be
     overwritten), or a key or share server that cannot be reached or refuses";

/// What kind of thing went wrong, for scripts (`"kind"` in a JSON error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The command line itself: an unknown option, a missing or malformed argument.
    Usage,
    /// Invalid input: a file, an argument or data read from stdin.
    Input,
    /// An output that cannot be written or would overwrite a file.
    Output,
    /// The network: an address that cannot be reached, a connection that broke.
    Network,
    /// The TLS handshake or record layer failed (an alert sent or received).
    Tls,
    /// A remote service answered with an error.
    Service,
    /// The check said no (exit code 1): a rejected certificate, an inconsistent log.
    Check,
}

/// A failed command: what to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// Exit code (1 or 2).
    pub code: u8,
    /// What kind of failure this is.
    pub kind: Kind,
    /// The message, printed after `error: `.
    pub message: String,
}

impl Failure {
    /// Exit code 2: a malformed command line.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(2, Kind::Usage, message)
    }

    /// Exit code 2: bad input.
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(2, Kind::Input, message)
    }

    /// Exit code 2: an output that cannot be written.
    pub fn output(message: impl Into<String>) -> Self {
        Self::new(2, Kind::Output, message)
    }

    /// Exit code 2: the network failed.
    pub fn network(message: impl Into<String>) -> Self {
        Self::new(2, Kind::Network, message)
    }

    /// Exit code 2: the TLS connection failed.
    pub fn tls(message: impl Into<String>) -> Self {
        Self::new(2, Kind::Tls, message)
    }

    /// Exit code 2: a service answered with an error.
    pub fn service(message: impl Into<String>) -> Self {
        Self::new(2, Kind::Service, message)
    }

    /// Exit code 1: the check said no.
    pub fn check(message: impl Into<String>) -> Self {
        Self::new(1, Kind::Check, message)
    }

    fn new(code: u8, kind: Kind, message: impl Into<String>) -> Self {
        Self {
            code,
            kind,
            message: message.into(),
        }
    }

    /// The JSON form printed on stdout in `--json` mode, one line.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "error": { "kind": self.kind, "message": self.message } }).to_string()
    }
}
