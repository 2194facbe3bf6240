//! Where a PostgreSQL log lives: `postgres://USER@HOST:PORT/DB`, and its password, which
//! never comes from the command line (other users see it in `ps`): from `PGPASSWORD`, or
//! from the password file (`PGPASSFILE`, default `~/.pgpass`) as libpq reads it — lines
//! `host:port:database:user:password`, `*` matching anything, `\:` and `\\` escaped, the
//! first matching line winning, and the file ignored when group or others may read it.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

use postgres::config::Host;

use super::StoreError;

/// How long connecting may take before the database counts as unavailable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A PostgreSQL database to keep the log in.
#[derive(Clone)]
pub struct PgTarget {
    config: Box<postgres::Config>,
    shown: String,
    warnings: Vec<String>,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PgTarget").field(&self.shown).finish()
    }
}

impl std::fmt::Display for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl PgTarget {
    /// Whether `text` is meant as a PostgreSQL URL rather than a file (a mistyped
    /// `postgres:` without `//` counts, to be refused rather than made a file).
    pub fn is_url(text: &str) -> bool {
        text.starts_with("postgres:") || text.starts_with("postgresql:")
    }

    /// Parses `postgres://USER@HOST:PORT/DB` and finds its password (module docs). A URL
    /// holding a password is refused.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let mut config = postgres::Config::from_str(url).map_err(|e| {
            StoreError::Config(format!("{:?} is not a PostgreSQL URL: {e}", redact(url)))
        })?;
        if config.get_password().is_some() {
            return Err(StoreError::Config(
                "the database URL holds a password: anyone can read it in `ps`; give it in \
                 PGPASSWORD or ~/.pgpass instead"
                    .into(),
            ));
        }
        let Some(user) = config.get_user().map(str::to_owned) else {
            return Err(StoreError::Config(format!(
                "{url:?} names no user: write postgres://USER@HOST:PORT/DB"
            )));
        };
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(name)) => name.clone(),
            _ => "localhost".to_owned(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let dbname = config.get_dbname().unwrap_or(&user).to_owned();
        let shown = format!("postgres://{user}@{host}:{port}/{dbname}");
        let mut warnings = Vec::new();
        if let Some(password) = password_for(&host, port, &dbname, &user, &mut warnings) {
            config.password(password);
        }
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives_idle(Duration::from_secs(30))
            .application_name("keylab keyserver")
            // A stuck transaction elsewhere costs a request 5 s at most (then 503), and
            // one that stops talking mid-transaction gives the log's lock back in 30 s.
            .options("-c lock_timeout=5s -c idle_in_transaction_session_timeout=30s");
        Ok(Self {
            config: Box::new(config),
            shown,
            warnings,
        })
    }

    /// What the user should hear about finding the password (an ignored password file).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The same database with `password` (for programs that hold it already; the
    /// command line takes none).
    pub fn with_password(mut self, password: &str) -> Self {
        self.config.password(password);
        self
    }

    /// Connects (no TLS: the database is expected on loopback or a private network).
    pub(crate) fn connect(&self) -> Result<postgres::Client, postgres::Error> {
        self.config.connect(postgres::NoTls)
    }
}

/// `url` with any password in it replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// The password for this connection: `PGPASSWORD`, else the password file's first
/// matching line.
fn password_for(
    host: &str,
    port: u16,
    dbname: &str,
    user: &str,
    warnings: &mut Vec<String>,
) -> Option<String> {
    if let Some(password) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
        return Some(password);
    }
    let file = password_file()?;
    let text = std::fs::read_to_string(&file).ok()?;
    if !private(&file) {
        warnings.push(format!(
            "{}: ignored: group or others may read it (chmod 600 it)",
            file.display()
        ));
        return None;
    }
    let wanted = [host, &port.to_string(), dbname, user];
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| {
            let fields = pgpass_fields(line);
            // As libpq: the password ends at the next unescaped colon, if any.
            (fields.len() >= 5).then_some(fields)
        })
        .find(|fields| {
            fields[..4]
                .iter()
                .zip(wanted)
                .all(|(field, value)| field == "*" || field == value)
        })
        .map(|fields| fields[4].clone())
}

fn password_file() -> Option<PathBuf> {
    match std::env::var_os("PGPASSFILE") {
        Some(path) => Some(PathBuf::from(path)),
        None => std::env::var_os("HOME").map(|home| Path::new(&home).join(".pgpass")),
    }
}

#[cfg(unix)]
fn private(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 == 0)
}

#[cfg(not(unix))]
fn private(_path: &Path) -> bool {
    true
}

/// The `:`-separated fields of a password-file line, with `\:` and `\\` unescaped.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(field)) = (chars.next(), fields.last_mut()) {
                    field.push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(field) = fields.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_file_fields_unescape_colons_and_backslashes() {
        assert_eq!(
            pgpass_fields(r"127.0.0.1:5432:*:alice:pa\:ss\\word"),
            ["127.0.0.1", "5432", "*", "alice", r"pa:ss\word"]
        );
        assert_eq!(pgpass_fields("a:b").len(), 2);
    }

    #[test]
    fn a_password_in_the_url_is_refused_and_the_shown_url_has_none() {
        let err = PgTarget::parse("postgres://alice:secret@127.0.0.1:5433/keys").unwrap_err();
        assert!(err.to_string().contains("PGPASSWORD"), "{err}");
        let target = PgTarget::parse("postgresql://alice@127.0.0.1:5433/keys").unwrap();
        assert_eq!(target.to_string(), "postgres://alice@127.0.0.1:5433/keys");
        let err = PgTarget::parse("postgres://127.0.0.1/keys").unwrap_err();
        assert!(err.to_string().contains("names no user"), "{err}");
        let err = PgTarget::parse("postgres://alice:S3cret@127.0.0.1:nope/keys").unwrap_err();
        assert!(!err.to_string().contains("S3cret"), "{err}");
        assert!(PgTarget::parse("postgresql:keys").is_err());
    }
}
