//! NSS key log files (the format Wireshark reads), from `--keylog FILE` or `SSLKEYLOGFILE`.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use handshake::KeyLog;

/// Appends one line per secret to a file (created with mode 0600: the secrets decrypt
/// the traffic).
pub struct FileKeyLog {
    file: Mutex<File>,
}

impl FileKeyLog {
    /// Opens `path` for appending (created with mode 0600; an existing file we own is
    /// tightened to 0600 so the secrets are not world-readable).
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = pki::files::open_append(path, pki::files::Access::OwnerOnly)?;
        Ok(Self {
            file: Mutex::new(file),
        })
    }
}

impl KeyLog for FileKeyLog {
    fn log(&self, label: &str, client_random: &[u8; 32], secret: &[u8]) {
        let line = handshake::keylog_line(label, client_random, secret);
        if let Ok(mut f) = self.file.lock() {
            // A failed write must not break the connection; the key log is a debugging aid.
            let _ = writeln!(f, "{line}");
        }
    }
}

/// The key log to use: `--keylog FILE` if given, else `SSLKEYLOGFILE` if set and non-empty.
pub fn from_option(flag: Option<&PathBuf>) -> io::Result<Option<Arc<dyn KeyLog>>> {
    let env = std::env::var_os("SSLKEYLOGFILE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    match flag.cloned().or(env) {
        Some(path) if path.as_os_str() == "-" => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the key log cannot go to stdout (it would mix with the output): name a file",
        )),
        Some(path) => {
            let log = FileKeyLog::open(&path).map_err(|e| {
                io::Error::new(e.kind(), format!("key log {}: {e}", path.display()))
            })?;
            Ok(Some(Arc::new(log)))
        }
        None => Ok(None),
    }
}
