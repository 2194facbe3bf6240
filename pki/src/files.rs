//! Writing key and certificate files safely: private keys get mode 0600 and no file is
//! overwritten unless the caller says so.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use zeroize::Zeroizing;

use crate::key::PrivateKey;

/// Writes `contents` to `path`, failing with `AlreadyExists` when the file exists and
/// `overwrite` is false. `private` files are created with mode 0600 (on Unix).
pub fn write_file(path: &Path, contents: &[u8], overwrite: bool, private: bool) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file: File = options.open(path)?;
    #[cfg(unix)]
    if private {
        // An existing file keeps its mode when truncated: tighten it explicitly.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)?;
    file.sync_all()
}

/// Writes `key` as PKCS#8 PEM with mode 0600.
pub fn write_private_key(path: &Path, key: &PrivateKey, overwrite: bool) -> io::Result<()> {
    let pem: Zeroizing<String> = key
        .to_pem()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    write_file(path, pem.as_bytes(), overwrite, true)
}
