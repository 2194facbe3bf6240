//! Handshakes per second and handshake latency (p50, p99) with a local Ed25519 key
//! against 2-of-3 and 3-of-5 FROST signers on loopback (plain HTTP, one process): client
//! and server `Connection`s in memory, the server's CertificateVerify from the signers.
//! Not a test: `cargo bench -p threshold` prints a table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use handshake::{ClientConfig, Connection, Identity, ServerConfig};
use pki::{CertificateRequest, KeyType, PrivateKey, Profile};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use threshold::client::SignerClient;
use threshold::coordinator::{Coordinator, Log};
use threshold::keys;
use threshold::signer::{Faults, Signer};
use time::OffsetDateTime;

const HANDSHAKES: usize = 300;

/// A CA and the server certificate for `key`.
fn chain_for(
    key: &pki::PublicKey,
    ca_key: &PrivateKey,
) -> (Vec<pki::Certificate>, pki::Certificate) {
    let now = OffsetDateTime::now_utc();
    let (from, to) = (
        now - time::Duration::days(1),
        now + time::Duration::days(30),
    );
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let root_request =
        CertificateRequest::new("bench CA", Profile::Root { path_len: None }, from, to);
    let root = pki::issue::self_signed(&root_request, ca_key, &mut rng).expect("root");
    let profile = Profile::Server {
        names: vec!["localhost".into()],
    };
    let request = CertificateRequest::new("localhost", profile, from, to);
    let leaf = pki::issue::issue(&request, key, &root, ca_key, &mut rng).expect("leaf");
    (vec![leaf], root)
}

/// One in-memory handshake; `sign` answers a remote key's signature request.
fn handshake(
    client: &Arc<ClientConfig>,
    server: &Arc<ServerConfig>,
    seed: u64,
    sign: &dyn Fn(&[u8]) -> Vec<u8>,
) {
    let now = OffsetDateTime::now_utc();
    let mut c = Connection::client(
        client.clone(),
        "localhost",
        ChaCha20Rng::seed_from_u64(seed),
    )
    .expect("client");
    let mut s = Connection::server(server.clone(), ChaCha20Rng::seed_from_u64(seed + 1));
    let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
    c.start(now, &mut to_server).expect("hello");
    for _ in 0..10 {
        let input = std::mem::take(&mut to_server);
        s.process(&input, now, &mut to_client).expect("server");
        if let Some(request) = s.signature_request() {
            let signature = sign(request.message());
            s.provide_signature(&signature, &mut to_client)
                .expect("signature");
        }
        let input = std::mem::take(&mut to_client);
        c.process(&input, now, &mut to_server).expect("client");
        if !c.is_handshaking() && !s.is_handshaking() {
            return;
        }
    }
    panic!("the handshake did not finish");
}

/// Runs the handshakes; (handshakes/s, p50, p99).
fn measure(
    client: &Arc<ClientConfig>,
    server: &Arc<ServerConfig>,
    sign: &dyn Fn(&[u8]) -> Vec<u8>,
) -> (f64, Duration, Duration) {
    let mut times = Vec::with_capacity(HANDSHAKES);
    let started = Instant::now();
    for i in 0..HANDSHAKES {
        let t = Instant::now();
        handshake(client, server, 2 * i as u64, sign);
        times.push(t.elapsed());
    }
    let rate = HANDSHAKES as f64 / started.elapsed().as_secs_f64();
    times.sort();
    (rate, times[HANDSHAKES / 2], times[HANDSHAKES * 99 / 100])
}

fn threshold_row(
    m: u16,
    n: u16,
    ca_key: &PrivateKey,
    client: &Arc<ClientConfig>,
) -> (f64, Duration, Duration) {
    let shares =
        keys::trusted_dealer(m, n, &mut threshold::rng::seeded(u64::from(n))).expect("shares");
    let signers: Vec<Signer> = shares
        .iter()
        .map(|s| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            Signer::start(listener, s.clone(), Faults::default()).expect("signer")
        })
        .collect();
    let group = shares[0].group_key().expect("key");
    let clients = signers
        .iter()
        .map(|s| SignerClient::new(&s.url(), Duration::from_secs(3)))
        .collect();
    let log: Log = Arc::new(|_| {});
    let coordinator = Coordinator::connect(clients, m, &group, log).expect("coordinator");
    let (chain, _) = chain_for(&group, ca_key);
    let server = Arc::new(ServerConfig::new(Identity::remote(chain).expect("remote")));
    measure(client, &server, &|message| {
        coordinator.sign(message).expect("signed").signature
    })
}

fn main() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let ca_key = PrivateKey::generate(KeyType::Ed25519, &mut rng).expect("CA key");
    let server_key = PrivateKey::generate(KeyType::Ed25519, &mut rng).expect("server key");
    let (chain, root) = chain_for(server_key.public_key(), &ca_key);
    let client = Arc::new(ClientConfig {
        trust_anchors: vec![root],
        ..ClientConfig::default()
    });
    let local = Arc::new(ServerConfig::new(
        Identity::new(chain, server_key).expect("identity"),
    ));
    let rows = [
        (
            "local Ed25519 key",
            measure(&client, &local, &|_| Vec::new()),
        ),
        (
            "2-of-3 FROST signers",
            threshold_row(2, 3, &ca_key, &client),
        ),
        (
            "3-of-5 FROST signers",
            threshold_row(3, 5, &ca_key, &client),
        ),
    ];
    println!("{HANDSHAKES} in-memory handshakes each, signers on loopback HTTP");
    println!("| server key | handshakes/s | p50 | p99 |");
    println!("|---|---:|---:|---:|");
    for (name, (rate, p50, p99)) in rows {
        println!(
            "| {name} | {rate:.0} | {:.2} ms | {:.2} ms |",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
}
