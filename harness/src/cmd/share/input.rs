//! What `keylab share` reads: share files (or stdin) and the secret to split, into
//! buffers that are zeroized when dropped.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::cmd::load::read_secret_text;
use crate::cmd::output::is_stdio;
use crate::failure::Failure;

/// Shares from every non-empty line of every file (`-`: stdin).
pub fn read_lines<T>(
    files: &[PathBuf],
    parse: impl Fn(&str) -> Result<T, sharing::Error>,
) -> Result<Vec<T>, Failure> {
    let mut shares = Vec::new();
    for path in files {
        let text = read_share_text(path)?;
        let name = source_name(path);
        for (i, line) in text.lines().enumerate() {
            if !line.trim().is_empty() {
                let share =
                    parse(line).map_err(|e| Failure::input(format!("{name}:{}: {e}", i + 1)))?;
                shares.push(share);
            }
        }
    }
    Ok(shares)
}

/// The largest share file read: far more than 253 shares of the longest secret need.
const MAX_SHARE_FILE: u64 = 1024 * 1024;

/// The text of a share file, or of stdin for `-`; zeroized when dropped, as the file's
/// own reader does (so stdin is read into a buffer that never grows).
fn read_share_text(path: &Path) -> Result<Zeroizing<String>, Failure> {
    if !is_stdio(path) {
        return read_secret_text(path, "a share file", MAX_SHARE_FILE);
    }
    let mut text = Zeroizing::new(String::with_capacity(MAX_SHARE_FILE as usize + 1));
    let read = std::io::stdin()
        .lock()
        .take(MAX_SHARE_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| Failure::input(format!("reading shares from standard input: {e}")))?;
    if read as u64 > MAX_SHARE_FILE {
        return Err(Failure::input(format!(
            "standard input: more than a share file holds (at most {MAX_SHARE_FILE} bytes)"
        )));
    }
    Ok(text)
}

/// The secret to split, from a file or stdin (`-`), into a buffer that never grows (so no
/// copy is left behind unzeroized); one byte more than a secret may hold is read, so that
/// [`sharing::split`] refuses a longer one and names the limit.
pub fn read_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let limit = sharing::MAX_SECRET_LEN as u64 + 1;
    let mut secret = Zeroizing::new(Vec::with_capacity(sharing::MAX_SECRET_LEN + 1));
    let failed = |e: std::io::Error| {
        Failure::input(format!(
            "reading the secret from {}: {e}",
            source_name(path)
        ))
    };
    if is_stdio(path) {
        std::io::stdin().lock().take(limit).read_to_end(&mut secret)
    } else {
        std::fs::File::open(path)
            .map_err(failed)?
            .take(limit)
            .read_to_end(&mut secret)
    }
    .map_err(failed)?;
    Ok(secret)
}

/// How errors name `path`: `standard input` for `-`.
pub fn source_name(path: &Path) -> String {
    if is_stdio(path) {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}
