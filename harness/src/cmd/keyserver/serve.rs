//! `keylab keyserver serve | init | migrate`: running key server front ends on SQLite or
//! PostgreSQL, creating a PostgreSQL log, and moving a SQLite log there.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use clap::Args;
use handshake::ServerConfig;
use keyserver::KeyServer;
use keyserver::server::StartError;
use keyserver::store::{Location, LogKey, Store, StoreError};

use super::session::io_failure;
use crate::cmd::key_source::{ShareTls, pem_from_shares};
use crate::cmd::tls_args;
use crate::failure::Failure;

/// `keylab keyserver serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// The log: a SQLite FILE (created if missing; its log key is FILE.log-key.pem), or
    /// postgres://USER@HOST:PORT/DB, made with `keylab keyserver init`, shared by any
    /// number of front ends (the password comes from PGPASSWORD or ~/.pgpass).
    #[arg(long, value_name = "FILE|URL")]
    pub db: String,
    /// The log's signing key (PKCS#8 PEM): for PostgreSQL the file `keylab keyserver
    /// init` made (or --log-key-shares); for SQLite it replaces FILE.log-key.pem.
    #[arg(long, value_name = "FILE", conflicts_with = "log_key_shares")]
    pub log_key: Option<PathBuf>,
    /// Where to rebuild the log key from.
    #[command(flatten)]
    pub shares: LogKeySharesArgs,
    /// Serve HTTPS with this certificate chain (PEM, leaf first, as `keylab pki issue
    /// --server` writes it); clients check it with --ca and the URL's host.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The private key of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Serve plain HTTP instead of HTTPS (warns at start): lookups and publications cross
    /// the network in the clear.
    #[arg(long, conflicts_with_all = ["cert", "key"])]
    pub insecure_http: bool,
}

/// The options that rebuild the log key from share servers at start, so that no front
/// end keeps it in a file.
#[derive(Debug, Args)]
pub struct LogKeySharesArgs {
    /// Rebuild the log key from these share servers at start (it was split with `keylab
    /// share split --servers`).
    #[arg(
        long,
        value_name = "URL,...",
        value_delimiter = ',',
        requires = "log_key_split_id"
    )]
    pub log_key_shares: Vec<String>,
    /// The split id of the log key on the share servers.
    #[arg(long, value_name = "SPLIT_ID", requires = "log_key_shares")]
    pub log_key_split_id: Option<String>,
    /// Bearer token for the share servers (first line of FILE).
    #[arg(long, value_name = "FILE", requires = "log_key_shares")]
    pub log_key_shares_token_file: Option<PathBuf>,
    /// The CA certificate(s) (PEM) to trust for https:// share servers.
    #[arg(long, value_name = "FILE", requires = "log_key_shares")]
    pub log_key_shares_ca: Option<PathBuf>,
    /// The client certificate chain (PEM) shown to the share servers.
    #[arg(
        long,
        value_name = "FILE",
        requires_all = ["log_key_shares_key", "log_key_shares_ca"]
    )]
    pub log_key_shares_cert: Option<PathBuf>,
    /// The private key of --log-key-shares-cert.
    #[arg(long, value_name = "FILE", requires = "log_key_shares_cert")]
    pub log_key_shares_key: Option<PathBuf>,
}

/// `keylab keyserver init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The PostgreSQL database, postgres://USER@HOST:PORT/DB (password from PGPASSWORD or
    /// ~/.pgpass). SQLite logs need no init: `serve` creates them.
    #[arg(long, value_name = "URL")]
    pub db: String,
    /// The log key file: created (mode 0600) if missing, used as it is otherwise. Every
    /// front end needs it (or the share servers it was split to); the database keeps only
    /// its public key.
    #[arg(long, value_name = "FILE")]
    pub log_key: PathBuf,
}

/// `keylab keyserver migrate`
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The SQLite database to move (its log key FILE.log-key.pem beside it); stop its
    /// server first. It is only read.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// The empty PostgreSQL database, postgres://USER@HOST:PORT/DB.
    #[arg(long, value_name = "URL")]
    pub to: String,
}

/// How `serve` speaks to clients: HTTPS with a certificate, or plain HTTP.
enum Transport {
    Https(Arc<ServerConfig>, String),
    Http,
}

/// The transport the arguments ask for; one of the two must be asked for.
fn transport(args: &ServeArgs) -> Result<Transport, Failure> {
    match (&args.cert, &args.key, args.insecure_http) {
        (Some(cert), Some(key), false) => {
            let config = tls_args::server_config(cert, key)?;
            let subject = tls_args::server_subject(&config);
            Ok(Transport::Https(Arc::new(config), subject))
        }
        (None, None, true) => Ok(Transport::Http),
        _ => Err(Failure::input(
            "give --cert FILE --key FILE to serve HTTPS (e.g. from `keylab pki issue \
             --server`), or --insecure-http to serve plain HTTP",
        )),
    }
}

/// Where the log key comes from, and how to name it in the start line.
fn log_key(args: &ServeArgs, location: &Location) -> Result<(LogKey, String), Failure> {
    let shares = &args.shares;
    if !shares.log_key_shares.is_empty() {
        let tls = ShareTls::new(
            shares.log_key_shares_ca.as_deref(),
            "--log-key-shares-ca",
            shares.log_key_shares_cert.as_deref(),
            shares.log_key_shares_key.as_deref(),
        );
        let pem = pem_from_shares(
            &shares.log_key_shares,
            shares.log_key_split_id.as_deref().unwrap_or_default(),
            shares.log_key_shares_token_file.as_deref(),
            tls,
        )?;
        let what = format!(
            "rebuilt from split {} on the share servers",
            shares.log_key_split_id.as_deref().unwrap_or_default()
        );
        return Ok((
            LogKey::Pem {
                pem,
                what: what.clone(),
            },
            what,
        ));
    }
    match (&args.log_key, location) {
        (Some(path), _) => Ok((LogKey::File(path.clone()), path.display().to_string())),
        (None, Location::Sqlite(db)) => Ok((
            LogKey::Beside,
            keyserver::store::log_key_path(db).display().to_string(),
        )),
        (None, Location::Postgres(_)) => Err(Failure::usage(
            "a PostgreSQL log needs its key: give --log-key FILE (made by `keylab keyserver \
             init`) or --log-key-shares URL,... --log-key-split-id ID",
        )),
    }
}

fn location(text: &str, flag: &str) -> Result<Location, Failure> {
    let location = Location::parse(text).map_err(|e| Failure::usage(format!("{flag}: {e}")))?;
    if let Location::Postgres(target) = &location {
        for warning in target.warnings() {
            crate::status!("warning: {warning}");
        }
    }
    Ok(location)
}

/// `keylab keyserver serve`
pub fn serve(args: &ServeArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let transport = transport(args)?;
    let location = location(&args.db, "--db")?;
    // A shared log's key must not start a second, independent log.
    if let (Location::Sqlite(db), Some(_)) = (&location, &args.log_key)
        && !db.exists()
    {
        return Err(Failure::usage(format!(
            "--db {}: no such SQLite database; --log-key only opens an existing one (a \
             PostgreSQL log is postgres://USER@HOST:PORT/DB)",
            db.display()
        )));
    }
    let (key, key_name) = log_key(args, &location)?;
    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| Failure::input(format!("cannot listen on {}: {e}", args.listen)))?;
    let mut rng = Box::new(crate::seed::os_rng());
    let store = Store::connect(&location, key, &mut *rng, SystemTime::now())
        .map_err(|e| store_failure(e, &location, "--db"))?;
    let (tls, scheme) = match transport {
        Transport::Https(config, subject) => (Some(config), format!("HTTPS as {subject}")),
        Transport::Http => {
            tls_args::warn_insecure_http("the key server");
            (None, "plain HTTP".into())
        }
    };
    let server = KeyServer::serve(listener, store, rng, tls).map_err(|e| match e {
        StartError::Store(e) => store_failure(e, &location, "--db"),
        StartError::Io(e) => Failure::network(format!("serving {}: {e}", args.listen)),
    })?;
    writeln!(
        out,
        "listening on {}\nserving {scheme}\nlog key {} ({key_name}), {} entries",
        server.addr(),
        server.log_key().fingerprint(),
        server.entries_at_start()
    )
    .and_then(|()| out.flush())
    .map_err(io_failure)?;
    // Started: a failure from here on is the server's, not the input's.
    server
        .wait()
        .map_err(|e| Failure::check(format!("key server: {e}")))
}

/// `keylab keyserver init`
pub fn init(args: &InitArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let location = location(&args.db, "--db")?;
    let Location::Postgres(target) = &location else {
        return Err(Failure::usage(
            "--db: init is for PostgreSQL (postgres://USER@HOST:PORT/DB); a SQLite log is \
             created by `keylab keyserver serve --db FILE`",
        ));
    };
    let mut rng = crate::seed::os_rng();
    let store = Store::init(target, &args.log_key, &mut rng, SystemTime::now())
        .map_err(|e| store_failure(e, &location, "--db"))?;
    writeln!(
        out,
        "log in {target}: log key {} ({}), {} entries",
        store.log_public_key().fingerprint(),
        args.log_key.display(),
        store.head().tree_size
    )
    .map_err(io_failure)
}

/// `keylab keyserver migrate`
pub fn migrate(args: &MigrateArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let location = location(&args.to, "--to")?;
    let Location::Postgres(target) = &location else {
        return Err(Failure::usage(
            "--to: give the PostgreSQL database, postgres://USER@HOST:PORT/DB",
        ));
    };
    let mut rng = crate::seed::os_rng();
    let moved = keyserver::store::migrate::migrate(&args.from, target, &mut rng, SystemTime::now())
        .map_err(|e| store_failure(e, &location, "--from"))?;
    writeln!(
        out,
        "moved {} entries, {} keys and {} signed heads from {} to {target}\n\
         latest head: {} entries, root {}\n\
         serve it with: keylab keyserver serve --db {target} --log-key {} ...",
        moved.entries,
        moved.keys,
        moved.heads,
        args.from.display(),
        moved.head.tree_size,
        hex::encode(moved.head.root),
        moved.log_key.display()
    )
    .map_err(io_failure)
}

/// Why the store did not open; each message names the database or file once, and says
/// what to do where there is something to do.
fn store_failure(e: StoreError, location: &Location, flag: &str) -> Failure {
    match e {
        StoreError::InUse(_) => Failure::input(format!(
            "{e}: stop that server first, or give another {flag}"
        )),
        StoreError::Unavailable { .. } => Failure::network(format!(
            "{e} (is it running, and are the user and the password in PGPASSWORD or \
             ~/.pgpass right?)"
        )),
        StoreError::Sqlite(_) | StoreError::Postgres(_) => {
            Failure::input(format!("{location}: {e}"))
        }
        // These name their file or database already.
        e => Failure::input(e.to_string()),
    }
}
