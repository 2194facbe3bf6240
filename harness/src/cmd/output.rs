//! What commands write and read besides their report: output files checked before the
//! work starts, and `-` for standard input or output wherever a file is taken.

use std::io::Read as _;
use std::path::Path;

use crate::failure::Failure;

/// Whether `path` is `-`, standard input or output.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Checks, before any work, that `path` can take a new file: its directory exists, it is
/// not itself a directory, and it does not exist unless `force`. `-` (stdout) always
/// passes. The write itself is atomic ([`pki::files`]), so a late failure leaves no part
/// of a file behind.
pub fn check_output(path: &Path, force: bool) -> Result<(), Failure> {
    if is_stdio(path) {
        return Ok(());
    }
    let shown = path.display();
    if path.is_dir() {
        return Err(Failure::output(format!(
            "{shown} is a directory; name a file to write"
        )));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        let why = if dir.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        return Err(Failure::output(format!(
            "cannot write {shown}: {} {why}",
            dir.display()
        )));
    }
    if path.symlink_metadata().is_ok() && !force {
        return Err(Failure::output(format!(
            "{shown} exists; pass --force to overwrite"
        )));
    }
    Ok(())
}

/// Everything from `path`, or from standard input when `path` is `-`; at most `limit`
/// bytes (more is refused, naming the source).
pub fn read_input(path: &Path, limit: u64) -> Result<Vec<u8>, Failure> {
    let name = if is_stdio(path) {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    };
    let failed = |e: std::io::Error| Failure::input(format!("reading {name}: {e}"));
    let mut bytes = Vec::new();
    if is_stdio(path) {
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(failed)?;
    } else {
        std::fs::File::open(path)
            .map_err(failed)?
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(failed)?;
    }
    if bytes.len() as u64 > limit {
        return Err(Failure::input(format!(
            "{name}: more than {limit} bytes, refused"
        )));
    }
    Ok(bytes)
}

/// Writes a secret (a key, a PSK file) to `path` with mode 0600, or to `out` for `-`.
/// Call [`check_output`] before the work; `force` allows replacing a file.
pub fn write_secret(
    path: &Path,
    contents: &[u8],
    force: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), Failure> {
    if is_stdio(path) {
        return out
            .write_all(contents)
            .map_err(|e| Failure::output(format!("writing standard output: {e}")));
    }
    pki::files::write_file(path, contents, force, true)
        .map_err(|e| Failure::output(format!("writing {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_checked_before_the_work() {
        let dir = tempfile::tempdir().expect("tempdir");
        let free = dir.path().join("new.svg");
        assert!(check_output(&free, false).is_ok());
        assert!(check_output(Path::new("-"), false).is_ok());

        let message = |p: &Path, force| check_output(p, force).unwrap_err().message;
        assert!(message(dir.path(), true).ends_with("is a directory; name a file to write"));
        let missing = dir.path().join("nowhere/x.svg");
        assert!(message(&missing, false).contains("nowhere does not exist"));

        std::fs::write(&free, "x").expect("write");
        assert!(message(&free, false).ends_with("exists; pass --force to overwrite"));
        assert!(check_output(&free, true).is_ok());
    }

    #[test]
    fn inputs_over_the_limit_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("in");
        std::fs::write(&file, "12345").expect("write");
        assert_eq!(read_input(&file, 5).expect("read"), b"12345");
        let e = read_input(&file, 4).unwrap_err();
        assert!(
            e.message.ends_with("more than 4 bytes, refused"),
            "{}",
            e.message
        );
        let e = read_input(&dir.path().join("none"), 4).unwrap_err();
        assert!(e.message.starts_with("reading "), "{}", e.message);
    }
}
