//! `keylab share serve`: a share server over HTTPS with client certificates, or over plain
//! HTTP when asked for explicitly.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use handshake::ServerConfig;
use sharing::server::ShareServer;

use super::io_failure;
use crate::cmd::load::read_token;
use crate::cmd::tls_args;
use crate::failure::Failure;

/// `keylab share serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// Directory holding the shares (created if missing).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Serve HTTPS with this certificate chain (PEM, leaf first, as `keylab pki issue
    /// --server` writes it); clients check it with --ca and the URL's host.
    #[arg(long, value_name = "FILE", requires_all = ["key", "client_ca"])]
    pub cert: Option<PathBuf>,
    /// The private key of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Require a client certificate issued under this CA (PEM): a client without one, or
    /// with one from another CA, is refused in the handshake. A share is readable by the
    /// client that stored it and by the readers it named.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub client_ca: Option<PathBuf>,
    /// Serve plain HTTP instead (warns at start): shares and tokens cross the network in
    /// the clear, and clients are anonymous.
    #[arg(long, conflicts_with_all = ["cert", "key", "client_ca"])]
    pub insecure_http: bool,
    /// Require `Authorization: Bearer TOKEN` with the first line of FILE as TOKEN (over
    /// HTTPS, a second factor beside the client certificate).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

/// How the server speaks to clients.
enum Transport {
    /// HTTPS requiring client certificates; the server's subject and the client CAs'.
    Mutual(Arc<ServerConfig>, String, Vec<String>),
    Http,
}

/// The transport the arguments ask for; one of the two must be asked for.
fn transport(args: &ServeArgs) -> Result<Transport, Failure> {
    match (&args.cert, &args.key, &args.client_ca, args.insecure_http) {
        (Some(cert), Some(key), Some(client_ca), false) => {
            let (config, client_cas) = tls_args::mutual_server_config(cert, key, client_ca)?;
            let subject = tls_args::server_subject(&config);
            Ok(Transport::Mutual(Arc::new(config), subject, client_cas))
        }
        (None, None, None, true) => Ok(Transport::Http),
        _ => Err(Failure::input(
            "give --cert FILE --key FILE --client-ca FILE to serve HTTPS with client \
             certificates (e.g. from `keylab pki issue --server` and the CA's certificate), \
             or --insecure-http to serve plain HTTP",
        )),
    }
}

/// Runs the server until it fails; prints `listening on ADDR` and how it serves first.
pub fn serve(args: &ServeArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let transport = transport(args)?;
    let token = read_token(args.token_file.as_deref())?;
    let dir = args.dir.display();
    if args.dir.exists() && !args.dir.is_dir() {
        return Err(Failure::input(format!("--dir {dir} is not a directory")));
    }
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| Failure::input(format!("creating the share directory {dir}: {e}")))?;
    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| Failure::input(format!("cannot listen on {}: {e}", args.listen)))?;
    let (server, scheme) = match transport {
        Transport::Mutual(config, subject, client_cas) => (
            ShareServer::start_tls(listener, &args.dir, token, config),
            format!(
                "HTTPS as {subject}, to clients with a certificate from {}",
                client_cas.join(" or ")
            ),
        ),
        Transport::Http => {
            tls_args::warn_insecure_http("the share server");
            (
                ShareServer::start(listener, &args.dir, token),
                "plain HTTP".to_owned(),
            )
        }
    };
    let server =
        server.map_err(|e| Failure::input(format!("cannot serve the shares in {dir}: {e}")))?;
    writeln!(out, "listening on {}\nserving {scheme}", server.addr())
        .and_then(|()| out.flush())
        .map_err(io_failure)?;
    // Start-up went well: a failure from here on is the server's, not the input's.
    server
        .wait()
        .map_err(|e| Failure::check(format!("share server on {}: {e}", args.listen)))
}
