//! `keylab server`: a TLS 1.3 echo server on a real socket.

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use handshake::{ClientAuth, Identity, ServerConfig};
use time::OffsetDateTime;

use super::{AuthArg, ServerArgs, psk};
use crate::cmd::accept;
use crate::cmd::key_source::key_from_shares;
use crate::cmd::load::{read_certs, read_identity, read_text};
use crate::failure::Failure;
use crate::runner;
use crate::seed::os_rng;

/// The server's certificate with its key from `--key`, or rebuilt from `--key-shares`;
/// `None` for a PSK-only server.
fn server_identity(args: &ServerArgs) -> Result<Option<Identity>, Failure> {
    let Some(cert) = &args.cert else {
        if args.key_shares.key_shares.is_empty() {
            return Ok(None);
        }
        return Err(Failure::input(
            "--key-shares rebuilds the key of --cert FILE",
        ));
    };
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
    let mut config = match server_identity(args)? {
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
        let o = runner::serve_connection(
            tcp,
            peer,
            config.clone(),
            os_rng(),
            timeouts,
            OffsetDateTime::now_utc,
        );
        match &o.result {
            Ok(s) => eprintln!(
                "{peer} {} ok ({} bytes echoed); why: {}",
                s.one_line(),
                o.received_len,
                s.reason
            ),
            Err(e) => eprintln!("{peer} error: {e}"),
        }
    });
    Ok(())
}
