//! `keylab demo --path threshold`: one handshake whose CertificateVerify 2 of 3 FROST
//! signers make (RFC 9591), every round shown, in memory and reproducible with --seed.

use std::io::Write;
use std::sync::Arc;

use handshake::{ClientConfig, Connection, Identity, ServerConfig, SignatureRequest};
use pki::{Certificate, CertificateRequest, PrivateKey, Profile};
use serde::Serialize;
use threshold::keys::{self, KeyShare};
use threshold::local::{self, Explained};
use time::macros::datetime;

use super::DemoArgs;
use crate::failure::Failure;
use crate::runner::DemoKey;
use crate::seed::{clock_for, connection_rng};

/// M and N of the demo's group.
const M: u16 = 2;
const N: u16 = 3;

/// The signers that sign: any M would do.
const CHOSEN: [usize; 2] = [0, 2];

/// What the demo shows, as `--json` prints it.
#[derive(Serialize)]
struct Report {
    threshold: u16,
    signers: u16,
    group_key_sha256: String,
    /// The group key, PEM SPKI.
    group_key: String,
    /// The CertificateVerify content's transcript hash (hex).
    transcript_hash: String,
    signing: Explained,
    client_path: String,
    client_server_signature: String,
}

fn check(what: &str) -> impl Fn(handshake::Error) -> Failure + '_ {
    move |e| Failure::check(format!("{what}: {e}"))
}

/// Runs the demo and writes its report.
pub(super) fn run(args: &DemoArgs, out: &mut dyn Write) -> Result<(), Failure> {
    if args.key != DemoKey::Ed25519 {
        return Err(Failure::usage(
            "--path threshold signs with Ed25519 only (--key ed25519)",
        ));
    }
    if args.explain || args.html.is_some() || args.states_dot.is_some() || args.keylog.is_some() {
        return Err(Failure::usage(
            "--path threshold shows the signing rounds; --explain, --html, --states-dot and \
             --keylog are for the other paths",
        ));
    }
    let shares = match args.seed {
        Some(seed) => keys::trusted_dealer(M, N, &mut threshold::rng::seeded(seed)),
        None => keys::trusted_dealer(M, N, &mut threshold::rng::os()),
    }
    .map_err(|e| Failure::check(e.to_string()))?;
    let group = shares[0]
        .group_key()
        .map_err(|e| Failure::check(e.to_string()))?;
    let (chain, root) = certify(&group, args.seed)?;
    let server = Arc::new(ServerConfig::new(
        Identity::remote(chain).map_err(|e| Failure::check(e.to_string()))?,
    ));
    let client = Arc::new(ClientConfig {
        trust_anchors: root,
        ..ClientConfig::default()
    });
    let mut signing = None;
    let mut hash = String::new();
    let mut sign_rng = match args.seed {
        Some(seed) => threshold::rng::seeded(seed ^ 0x7468_7265_7368),
        None => threshold::rng::os(),
    };
    let mut sign = |request: &SignatureRequest| -> Result<Vec<u8>, Failure> {
        let chosen: Vec<&KeyShare> = CHOSEN.iter().map(|&i| &shares[i]).collect();
        let (signature, explained) = local::sign(&chosen, request.message(), &mut sign_rng)
            .map_err(|e| Failure::check(e.to_string()))?;
        hash = hex::encode(request.message().get(98..).unwrap_or_default());
        signing = Some(explained);
        Ok(signature)
    };
    let (path, scheme) = handshake_with(&client, &server, args.seed, &mut sign)?;
    let report = Report {
        threshold: M,
        signers: N,
        group_key_sha256: group.fingerprint(),
        group_key: group.to_pem(),
        transcript_hash: hash,
        signing: signing.ok_or_else(|| Failure::check("no signature was asked for"))?,
        client_path: path,
        client_server_signature: scheme,
    };
    let seeded = args.seed.is_some();
    super::write_report(&report, args.json, |r| render(r, seeded), out)
}

/// The server chain for `group` under the Ed25519 fixture intermediate, and the root.
fn certify(
    group: &pki::PublicKey,
    seed: Option<u64>,
) -> Result<(Vec<Certificate>, Vec<Certificate>), Failure> {
    let h = fixtures::ED25519;
    let bad = |e: String| Failure::check(format!("fixture: {e}"));
    let intermediate =
        Certificate::from_pem_bundle(h.intermediate).map_err(|e| bad(e.to_string()))?;
    let ca_key = PrivateKey::from_pem(h.intermediate_key).map_err(|e| bad(e.to_string()))?;
    let root = Certificate::from_pem_bundle(h.root).map_err(|e| bad(e.to_string()))?;
    let ca = intermediate
        .first()
        .ok_or_else(|| bad("no intermediate".into()))?;
    let profile = Profile::Server {
        names: vec!["localhost".into()],
    };
    let request = CertificateRequest::new(
        "localhost",
        profile,
        datetime!(2025-01-01 00:00 UTC),
        datetime!(2035-01-01 00:00 UTC),
    );
    let mut rng = connection_rng(seed, "threshold certificate", 0);
    let leaf = pki::issue::issue(&request, group, ca, &ca_key, &mut rng)
        .map_err(|e| bad(e.to_string()))?;
    Ok(([vec![leaf], intermediate].concat(), root))
}

/// One handshake in memory; `sign` makes the server's CertificateVerify. The client's
/// path and the server's signature scheme as the client saw them.
fn handshake_with(
    client: &Arc<ClientConfig>,
    server: &Arc<ServerConfig>,
    seed: Option<u64>,
    sign: &mut dyn FnMut(&SignatureRequest) -> Result<Vec<u8>, Failure>,
) -> Result<(String, String), Failure> {
    let now = clock_for(seed)();
    let mut c = Connection::client(
        client.clone(),
        "localhost",
        connection_rng(seed, "client", 0),
    )
    .map_err(check("client"))?;
    let mut s = Connection::server(server.clone(), connection_rng(seed, "server", 0));
    let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
    c.start(now, &mut to_server).map_err(check("client"))?;
    for _ in 0..8 {
        s.process(&std::mem::take(&mut to_server), now, &mut to_client)
            .map_err(check("server"))?;
        if let Some(request) = s.signature_request().cloned() {
            let signature = sign(&request)?;
            s.provide_signature(&signature, &mut to_client)
                .map_err(check("server"))?;
        }
        c.process(&std::mem::take(&mut to_client), now, &mut to_server)
            .map_err(check("client"))?;
        if let Some(summary) = c.summary().filter(|_| !s.is_handshaking()) {
            let scheme = summary
                .server_signature
                .map(|s| s.to_string())
                .unwrap_or_default();
            return Ok((summary.path.to_string(), scheme));
        }
    }
    Err(Failure::check("the handshake did not finish"))
}

/// The report as text.
fn render(r: &Report, seeded: bool) -> String {
    let mut t = String::new();
    let dealer = if seeded {
        "a trusted dealer with a seeded generator (a demo: this process held the key while dealing; `keylab threshold keygen` uses distributed key generation)"
    } else {
        "a trusted dealer (a demo: this process held the key while dealing; `keylab threshold keygen` uses distributed key generation)"
    };
    let mut line = |label: &str, text: &str| t.push_str(&format!("  {label:<13} {text}\n"));
    line(
        "group",
        &format!("{M} of {N} FROST(Ed25519, SHA-512) signers, shares from {dealer}"),
    );
    line(
        "group key",
        &format!(
            "sha256:{}, certified for CN=localhost by the fixture intermediate",
            r.group_key_sha256
        ),
    );
    line(
        "server",
        "holds the certificate chain only (Identity::remote): it sends ServerHello .. Certificate, then waits",
    );
    line(
        "to sign",
        &format!(
            "{} bytes: 64 x 0x20, \"TLS 1.3, server CertificateVerify\", 0x00, transcript hash {}",
            r.signing.message_len, r.transcript_hash
        ),
    );
    for s in &r.signing.rounds {
        line(
            "round 1",
            &format!(
                "signer {}: commitments hiding {} binding {}",
                s.participant, s.hiding, s.binding
            ),
        );
    }
    for s in &r.signing.rounds {
        line(
            "round 2",
            &format!("signer {}: signature share {}", s.participant, s.share),
        );
    }
    line("aggregate", &format!("R || z = {}", r.signing.signature));
    line(
        "server",
        "checked it with the certificate's key, sent CertificateVerify and Finished",
    );
    line(
        "client",
        &format!(
            "verified CertificateVerify ({}) with the certificate's key: handshake ok, path {}",
            r.client_server_signature, r.client_path
        ),
    );
    format!(
        "threshold: {M} of {N} signers make the server's CertificateVerify (RFC 9591, RFC 8446 §4.4.3)\n{t}\
         No process held the group's private key during the handshake: signers 1 and 3 each used their share \
         and a fresh pair of nonces once, and the client saw an ordinary Ed25519 signature.\n"
    )
}
