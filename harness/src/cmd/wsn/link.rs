//! `keylab wsn handshake`: two simulated sensor nodes derive their link key from
//! predistributed material, each on its own, and then run a real keylab TLS 1.3 PSK
//! handshake (psk_dhe_ke) over loopback with it.
//!
//! Node A is the client and node B the server. The PSK identity names the link
//! (`wsn-link-A-B`); the key is what the scheme gives each end:
//! - eg: the pool key with the smallest id both rings hold (Eschenauer–Gligor);
//! - qcomposite: SHA-256 over every shared pool key, when at least q are shared;
//! - blundo: HKDF over f(A+1, B+1) of the symmetric polynomial.
//!
//! Rings are drawn again (at most [`MAX_DRAWS`] times) until the two nodes can form a
//! link, as neighbours that found each other would.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;

use clap::Args;
use handshake::{ClientConfig, ExternalPsk, Path, ServerConfig};
use predist::blundo::Polynomial;
use predist::keys::{KeyPool, KeyRing, LinkKey, eg_link_key, qcomposite_link_key};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{
    DEFAULT_DEGREE, DEFAULT_POOL, DEFAULT_Q, DEFAULT_RING, KeyArgs, SchemeArg, check_flags,
    scheme_name,
};
use crate::failure::Failure;
use crate::runner::{self, ClientSpec};
use crate::seed::connection_rng;

/// `keylab wsn handshake --json`.
#[derive(Serialize)]
struct LinkJson {
    scheme: &'static str,
    seed: u64,
    node_a: u32,
    node_b: u32,
    derivation: String,
    draws: u32,
    key_a_sha256_prefix: String,
    key_b_sha256_prefix: String,
    psk_identity: String,
    client: Option<SideJson>,
    server: Option<SideJson>,
    ok: bool,
}

/// What one node's side of the handshake reported.
#[derive(Serialize)]
struct SideJson {
    path: &'static str,
    reason: String,
    transcript_hash: String,
}

/// How many ring pairs are drawn before giving up on a link.
pub const MAX_DRAWS: u32 = 10_000;

/// `keylab wsn handshake`
#[derive(Debug, Args)]
pub struct HandshakeArgs {
    /// The scheme the nodes' keys come from.
    #[arg(long, value_enum, default_value = "eg")]
    pub scheme: SchemeArg,
    /// The scheme's key material.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Seed of every random choice (keys, rings, node ids, the handshake); output is
    /// byte-identical for the same seed.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What the two nodes derived.
struct Link {
    a: u32,
    b: u32,
    /// How the key came about, in words.
    how: String,
    draws: u32,
    key_a: LinkKey,
    key_b: LinkKey,
}

fn fingerprint(key: &LinkKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

fn derive(args: &HandshakeArgs, seed: u64) -> Result<Link, Failure> {
    let keys = &args.keys;
    let (pool_size, ring, degree) = (
        keys.pool.unwrap_or(DEFAULT_POOL),
        keys.ring.unwrap_or(DEFAULT_RING),
        keys.degree.unwrap_or(DEFAULT_DEGREE),
    );
    let mut rng = connection_rng(Some(seed), "wsn link", 0);
    let bad = |e: predist::Error| Failure::input(e.to_string());
    let (a, b) = (
        rand_core::Rng::next_u32(&mut rng) % 1000,
        1000 + rand_core::Rng::next_u32(&mut rng) % 1000,
    );
    if args.scheme == SchemeArg::Blundo {
        let poly = Polynomial::random(degree, &mut rng).map_err(bad)?;
        let (share_a, share_b) = (poly.share(a), poly.share(b));
        return Ok(Link {
            a,
            b,
            how: format!(
                "Blundo, degree {degree}: each node evaluates its share of f at the other's id"
            ),
            draws: 1,
            key_a: share_a.link_key(b),
            key_b: share_b.link_key(a),
        });
    }
    let q = keys.q.unwrap_or(DEFAULT_Q);
    if !(1..=ring).contains(&q) || ring > pool_size {
        return Err(Failure::input(format!(
            "need 1 <= q <= ring <= pool; got q {q}, ring {ring}, pool {pool_size}"
        )));
    }
    let q = if args.scheme == SchemeArg::Qcomposite {
        q
    } else {
        1
    };
    let pool = KeyPool::random(pool_size, &mut rng).map_err(bad)?;
    for draws in 1..=MAX_DRAWS {
        let ring_a: KeyRing = pool.ring(ring, &mut rng).map_err(bad)?;
        let ring_b: KeyRing = pool.ring(ring, &mut rng).map_err(bad)?;
        // Each node computes the key from its own ring and the other's key ids.
        let (key_a, key_b) = if args.scheme == SchemeArg::Eg {
            (
                eg_link_key(&pool, &ring_a, &ring_b),
                eg_link_key(&pool, &ring_b, &ring_a),
            )
        } else {
            (
                qcomposite_link_key(&pool, &ring_a, &ring_b, q),
                qcomposite_link_key(&pool, &ring_b, &ring_a, q),
            )
        };
        if let (Some(key_a), Some(key_b)) = (key_a, key_b) {
            let shared = ring_a.shared_ids(&ring_b);
            let how = if args.scheme == SchemeArg::Eg {
                format!(
                    "Eschenauer–Gligor, pool {pool_size} ring {ring}: shared key ids {shared:?}, the smallest is the link key"
                )
            } else {
                format!(
                    "q-composite (q = {q}), pool {pool_size} ring {ring}: shared key ids {shared:?}, SHA-256 over all of them"
                )
            };
            return Ok(Link {
                a,
                b,
                how,
                draws,
                key_a,
                key_b,
            });
        }
    }
    Err(Failure::check(format!(
        "no two rings of {ring} keys from a pool of {pool_size} shared {q} key(s) in {MAX_DRAWS} draws"
    )))
}

/// Runs `keylab wsn handshake`.
pub fn run(args: &HandshakeArgs, out: &mut dyn Write) -> Result<(), Failure> {
    check_flags(&[args.scheme], &args.keys, true)?;
    let seed = args
        .seed
        .unwrap_or_else(|| rand_core::Rng::next_u64(&mut crate::seed::os_rng()));
    let link = derive(args, seed)?;
    let identity = format!("wsn-link-{}-{}", link.a, link.b);
    let psk = |key: &LinkKey| {
        ExternalPsk::new(&identity, key.as_bytes()).map_err(|e| Failure::input(e.to_string()))
    };
    let server = ServerConfig::psk_only(vec![psk(&link.key_b)?]);
    let client = ClientConfig {
        psk: Some(psk(&link.key_a)?),
        ..ClientConfig::default()
    };
    let message = format!("reading from node {}", link.a).into_bytes();
    let mut spec = ClientSpec::new(client, message.clone());
    spec.server_name = format!("node-{}", link.b);
    let outcomes = runner::run("127.0.0.1:0", Arc::new(server), vec![spec], Some(seed))
        .map_err(|e| Failure::input(format!("cannot start the loopback server: {e}")))?;
    let outcome = outcomes
        .into_iter()
        .next()
        .ok_or_else(|| Failure::check("no outcome"))?;
    let client_summary = outcome.client_summary().cloned();
    let server_summary = outcome.server_summary().cloned();
    let verdict = match (&outcome.client, &server_summary) {
        (Ok(c), Some(_)) if c.path == Path::PskDhe && outcome.reply == message => Ok(()),
        (Ok(c), Some(_)) => Err(format!("path {} or echo mismatch", c.path)),
        (Err(e), _) => Err(format!("client failed: {e}")),
        (Ok(_), None) => Err(match outcome.server.as_ref().map(|s| &s.result) {
            Some(Err(e)) => format!("server failed: {e}"),
            _ => "the server did not report".into(),
        }),
    };
    let report = if args.json {
        let summary = |s: Option<&handshake::Summary>| {
            s.map(|s| SideJson {
                path: s.path.name(),
                reason: s.reason.clone(),
                transcript_hash: hex::encode(s.transcript_hash),
            })
        };
        let view = LinkJson {
            scheme: scheme_name(args.scheme),
            seed,
            node_a: link.a,
            node_b: link.b,
            derivation: link.how.clone(),
            draws: link.draws,
            key_a_sha256_prefix: fingerprint(&link.key_a),
            key_b_sha256_prefix: fingerprint(&link.key_b),
            psk_identity: identity.clone(),
            client: summary(client_summary.as_ref()),
            server: summary(server_summary.as_ref()),
            ok: verdict.is_ok(),
        };
        super::json::compact(&view) + "\n"
    } else {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "keylab wsn handshake (seed {seed}): nodes {} and {}",
            link.a, link.b
        );
        let _ = writeln!(s, "  keys:       {}", link.how);
        if link.draws > 1 {
            let _ = writeln!(
                s,
                "              ({} ring pairs drawn before two could link)",
                link.draws
            );
        }
        let _ = writeln!(
            s,
            "  link key:   node {} derives sha256 {}..., node {} derives sha256 {}...",
            link.a,
            fingerprint(&link.key_a),
            link.b,
            fingerprint(&link.key_b)
        );
        let _ = writeln!(
            s,
            "  handshake:  TLS 1.3 over loopback, node {} as client, node {} as server, PSK \"{identity}\"",
            link.a, link.b
        );
        if let Some(c) = &client_summary {
            let _ = writeln!(s, "  result:     {}", c.one_line());
            let _ = writeln!(s, "  why:        {}", c.reason);
        }
        match &verdict {
            Ok(()) => {
                let _ = writeln!(
                    s,
                    "ok: the predistributed link key authenticated both nodes; the reading was echoed back"
                );
            }
            Err(e) => {
                let _ = writeln!(s, "failed: {e}");
            }
        }
        s
    };
    out.write_all(report.as_bytes())
        .map_err(|e| Failure::input(e.to_string()))?;
    verdict.map_err(Failure::check)
}
