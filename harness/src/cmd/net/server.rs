//! `keylab server`: a TLS 1.3 echo server on a real socket.

use std::cell::Cell;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use handshake::{ClientAuth, Identity, ServerConfig, Summary};
use time::OffsetDateTime;

use super::{AuthArg, ServerArgs, psk};
use crate::cmd::accept;
use crate::cmd::key_source::key_from_shares;
use crate::cmd::load::{read_certs, read_identity, read_text};
use crate::cmd::threshold_signers;
use crate::failure::Failure;
use crate::runner::{self, ServerOutcome};
use crate::seed::os_rng;

/// The server's certificate with its key from `--key`, or rebuilt from `--key-shares`, or
/// held by no one (`--threshold-signers`); `None` for a PSK-only server.
fn server_identity(args: &ServerArgs) -> Result<Option<Identity>, Failure> {
    let Some(cert) = &args.cert else {
        if args.key_shares.key_shares.is_empty() && !args.threshold_signers.in_use() {
            return Ok(None);
        }
        return Err(Failure::input(
            "--key-shares and --threshold-signers need --cert FILE",
        ));
    };
    if args.threshold_signers.in_use() {
        return Identity::remote(read_certs(cert)?)
            .map(Some)
            .map_err(|e| Failure::input(format!("{}: {e}", cert.display())));
    }
    match &args.key {
        Some(key) => read_identity(cert, key).map(Some),
        None if !args.key_shares.key_shares.is_empty() => {
            let key = key_from_shares(&args.key_shares)?;
            Identity::from_pem(&read_text(cert)?, &key)
                .map(Some)
                .map_err(|e| Failure::input(format!("{} / key from shares: {e}", cert.display())))
        }
        None => Err(Failure::input(
            "--cert needs its private key: --key FILE or --key-shares",
        )),
    }
}

/// `keylab server`: serves until killed (or `--max-connections`), echoing data back.
pub fn run(args: &ServerArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let policy = match args.client_auth {
        AuthArg::Off => ClientAuth::Off,
        AuthArg::Optional => ClientAuth::Optional,
        AuthArg::Required => ClientAuth::Required,
    };
    let psks = psk::server_psks(&args.psk)?;
    let identity = server_identity(args)?;
    let coordinator = match &identity {
        Some(id) if args.threshold_signers.in_use() => Some(threshold_signers::coordinator(
            &args.threshold_signers,
            id.public_key(),
        )?),
        _ => None,
    };
    let mut config = match identity {
        Some(identity) => ServerConfig::new(identity).with_psks(psks),
        None => ServerConfig::psk_only(psks),
    };
    config.cipher_suites = args.algorithms.suites();
    config.groups = args.algorithms.groups();
    config.alpn_protocols = args.alpn.clone();
    config.allow_psk_ke = args.psk.psk_ke;
    config.psk_satisfies_client_auth = args.psk.psk_satisfies_client_auth;
    config.tickets = psk::server_tickets(&args.psk, &mut os_rng())?;
    if policy != ClientAuth::Off {
        let Some(ca) = &args.client_ca else {
            return Err(Failure::input(format!(
                "--client-auth {policy} needs --client-ca FILE"
            )));
        };
        config = config
            .with_client_auth(policy, read_certs(ca)?)
            .map_err(|e| Failure::input(e.to_string()))?;
    }
    config.key_log = crate::keylog::from_option(args.keylog.as_ref())
        .map_err(|e| Failure::input(e.to_string()))?;
    let config = Arc::new(config);
    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| Failure::input(format!("cannot listen on {}: {e}", args.listen)))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::input(e.to_string()))?;
    writeln!(out, "listening on {local}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::input(e.to_string()))?;

    let timeouts = runner::Timeouts {
        handshake: Duration::from_secs(args.handshake_timeout),
        idle: Duration::from_secs(args.idle_timeout),
    };
    let limits = accept::Limits {
        max_concurrent: args.max_concurrent,
        max_connections: args.max_connections,
    };
    accept::serve(&listener, limits, move |tcp, peer| {
        let shook = Cell::new(false);
        let o = runner::serve_connection_then(
            tcp,
            peer,
            (
                config.clone(),
                os_rng(),
                coordinator.as_ref().map(threshold_signers::signer),
            ),
            timeouts,
            OffsetDateTime::now_utc,
            |s| {
                shook.set(true);
                crate::status!("{}", handshake_line(peer, s));
            },
        );
        crate::status!("{}", end_line(&o, shook.get()));
    });
    Ok(())
}

/// The log line of a completed handshake: the peer, the path and its parameters, and why
/// that path.
fn handshake_line(peer: SocketAddr, s: &Summary) -> String {
    let sni = s
        .server_name
        .as_ref()
        .map(|n| format!(" sni={n}"))
        .unwrap_or_default();
    format!(
        "{peer} handshake ok: {}{sni}; why: {}",
        s.one_line(),
        s.reason
    )
}

/// The log line of a connection's end. A client that leaves without close_notify after
/// the handshake is a warning, not an error: browsers and `openssl s_client -quiet` do,
/// and for an echo server nothing is lost, but a cut connection looks the same (RFC 8446
/// §6.1).
fn end_line(o: &ServerOutcome, after_handshake: bool) -> String {
    let (peer, n) = (o.peer, o.received_len);
    match &o.result {
        Ok(_) => format!("{peer} closed: close_notify received, {n} bytes echoed"),
        Err(e) if !after_handshake && *e == handshake::Error::Truncated.to_string() => {
            format!("{peer} error: the client left before the handshake completed")
        }
        Err(e) if *e == handshake::Error::Truncated.to_string() => format!(
            "{peer} warning: closed without close_notify after {n} bytes echoed (possible truncation)"
        ),
        Err(e) if after_handshake => {
            format!("{peer} error after the handshake, {n} bytes echoed: {e}")
        }
        Err(e) => format!("{peer} error: {e}"),
    }
}
