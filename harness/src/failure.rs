//! How a command fails: the message printed after `error: ` and the exit status.

/// Exit codes, shared by every command (shown at the end of each `--help`).
pub const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  the check failed (e.g. `pki verify` rejected the certificate)
  2  usage error, unreadable or invalid input, or a file that would be overwritten";

/// A failed command: what to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// Exit code (1 or 2).
    pub code: u8,
    /// The message, printed after `error: `.
    pub message: String,
}

impl Failure {
    /// Exit code 2: bad input or I/O.
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    /// Exit code 1: the check said no.
    pub fn check(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }
}
