//! The PSK and resumption options of `keylab server` and `keylab client`: PSK files,
//! ticket keys and session files.

use std::path::Path;
use std::sync::Arc;

use handshake::{ExternalPsk, Session, SessionCache, Tickets, psk::parse_psk_file};
use rand_core::Rng;
use zeroize::Zeroizing;

use crate::cli::{ClientPskArgs, Failure, ServerPskArgs};

/// Reads a PSK file (`IDENTITY:HEXKEY` lines); errors name the file and line.
pub fn read_psk_file(path: &Path) -> Result<Vec<ExternalPsk>, Failure> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| Failure::input(format!("reading {}: {e}", path.display())))?,
    );
    parse_psk_file(&text).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
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
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| Failure::input(format!("reading {}: {e}", path.display())))?,
        );
        let session = Session::from_text(&text)
            .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        cache.insert(session);
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
