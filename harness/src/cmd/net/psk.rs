//! The PSK and resumption options of `keylab server` and `keylab client`: PSK files,
//! ticket keys and session files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use handshake::{ExternalPsk, SessionCache, Tickets};
use rand_core::Rng;
use zeroize::Zeroizing;

use crate::cmd::load::{read_psk_file, read_session};
use crate::failure::Failure;

/// PSK and ticket options of `keylab server`.
#[derive(Debug, Args)]
pub struct ServerPskArgs {
    /// External PSKs, one `IDENTITY:HEXKEY` per line (HEXKEY as OpenSSL's -psk takes it).
    /// Without --cert the server takes only these keys.
    #[arg(long, value_name = "FILE")]
    pub psk_file: Option<PathBuf>,
    /// Accept psk_ke (a PSK without (EC)DHE) when the client offers only that: no forward
    /// secrecy. psk_dhe_ke is preferred whenever offered.
    #[arg(long)]
    pub psk_ke: bool,
    /// Let an external PSK satisfy --client-auth required.
    #[arg(long)]
    pub psk_satisfies_client_auth: bool,
    /// Do not issue session tickets (nor accept them).
    #[arg(long, conflicts_with_all = ["single_use_tickets", "ticket_lifetime"])]
    pub no_tickets: bool,
    /// Accept each ticket once; a replay gets a full handshake. The record of used tickets
    /// is kept in memory and lost on restart.
    #[arg(long)]
    pub single_use_tickets: bool,
    /// Ticket lifetime in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 7200, value_parser = clap::value_parser!(u32).range(1..=604_800))]
    pub ticket_lifetime: u32,
}

/// PSK and session options of `keylab client`.
#[derive(Debug, Args)]
pub struct ClientPskArgs {
    /// External PSKs, one `IDENTITY:HEXKEY` per line; the one named by --psk-identity (or
    /// the only one) is offered.
    #[arg(long, value_name = "FILE")]
    pub psk_file: Option<PathBuf>,
    /// Which key of --psk-file to offer.
    #[arg(long, value_name = "ID", requires = "psk_file")]
    pub psk_identity: Option<String>,
    /// Offer psk_ke only (a PSK without (EC)DHE): no forward secrecy. Without it, psk_dhe_ke
    /// only.
    #[arg(long)]
    pub psk_ke: bool,
    /// Resume with the session (ticket) in FILE.
    #[arg(long, value_name = "FILE")]
    pub session_in: Option<PathBuf>,
    /// Save the newest ticket from the server to FILE (mode 0600: it holds a secret).
    #[arg(long, value_name = "FILE")]
    pub session_out: Option<PathBuf>,
}

/// The server's external PSKs (none without --psk-file).
pub fn server_psks(args: &ServerPskArgs) -> Result<Vec<ExternalPsk>, Failure> {
    args.psk_file
        .as_deref()
        .map_or(Ok(Vec::new()), read_psk_file)
}

/// The server's ticket keys: a fresh random key per process (tickets do not survive a
/// restart), or none with --no-tickets.
pub fn server_tickets(
    args: &ServerPskArgs,
    rng: &mut impl Rng,
) -> Result<Option<Arc<Tickets>>, Failure> {
    if args.no_tickets {
        return Ok(None);
    }
    let mut key = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut key[..]);
    let mut tickets = Tickets::new(&key)
        .with_lifetime(args.ticket_lifetime)
        .map_err(|e| Failure::input(e.to_string()))?;
    if args.single_use_tickets {
        tickets = tickets.single_use(100_000);
    }
    Ok(Some(Arc::new(tickets)))
}

/// The client's PSK: the one named by --psk-identity, or the only one in the file.
pub fn client_psk(args: &ClientPskArgs) -> Result<Option<ExternalPsk>, Failure> {
    let Some(path) = &args.psk_file else {
        return Ok(None);
    };
    let keys = read_psk_file(path)?;
    let names = || {
        keys.iter()
            .map(|k| k.identity().to_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &args.psk_identity {
        Some(id) => keys
            .iter()
            .find(|k| k.identity() == id)
            .cloned()
            .map(Some)
            .ok_or_else(|| {
                Failure::input(format!(
                    "{}: no key for identity {id:?} (it has: {})",
                    path.display(),
                    names()
                ))
            }),
        None if keys.len() == 1 => Ok(keys.into_iter().next()),
        None => Err(Failure::input(format!(
            "{} holds {} keys ({}); choose one with --psk-identity",
            path.display(),
            keys.len(),
            names()
        ))),
    }
}

/// The client's session cache, holding the session of --session-in when given; `None`
/// when neither --session-in nor --session-out asks for resumption.
pub fn client_cache(args: &ClientPskArgs) -> Result<Option<Arc<SessionCache>>, Failure> {
    if args.session_in.is_none() && args.session_out.is_none() {
        return Ok(None);
    }
    let cache = Arc::new(SessionCache::default());
    if let Some(path) = &args.session_in {
        cache.insert(read_session(path)?);
    }
    Ok(Some(cache))
}

/// Writes the newest session for `server_name` to `path` with mode 0600; an error when
/// the server sent no ticket.
pub fn save_session(cache: &SessionCache, server_name: &str, path: &Path) -> Result<(), Failure> {
    let session = cache.newest(server_name).ok_or_else(|| {
        Failure::check(format!(
            "the server sent no session ticket, so {} was not written",
            path.display()
        ))
    })?;
    pki::files::write_file(path, session.to_text().as_bytes(), true, true)
        .map_err(|e| Failure::input(format!("writing {}: {e}", path.display())))
}
