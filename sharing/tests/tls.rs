//! Share servers over keylab's TLS with client certificates, in-process on loopback: a
//! split stored on five HTTPS servers and recovered with two of them down; clients
//! without a certificate or with one from another CA refused in the handshake; a share
//! readable only by its owner and its readers.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use fixtures::Hierarchy;
use handshake::{ClientAuth, ClientConfig, Identity, ServerConfig};
use pki::Certificate;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sharing::client::{self, Client, ClientError, RecoverError};
use sharing::server::ShareServer;
use sharing::store::{Access, Store};
use zeroize::Zeroizing;

const SECRET: &[u8] = b"a 32-byte secret for the servers";
const TIMEOUT: Duration = Duration::from_secs(5);

fn certs(pem: &str) -> Vec<Certificate> {
    Certificate::from_pem_bundle(pem).expect("fixture certificates")
}

/// An HTTPS share server on `dir` with the Ed25519 server certificate (`localhost`,
/// `127.0.0.1`), requiring client certificates under the Ed25519 root.
fn start(dir: &std::path::Path, token: Option<&str>) -> ShareServer {
    let h = fixtures::ED25519;
    let config = ServerConfig::new(Identity::from_pem(h.server_chain, h.server_key).expect("id"))
        .with_client_auth(ClientAuth::Required, certs(h.root))
        .expect("client auth");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let token = token.map(|t| Zeroizing::new(t.to_owned()));
    ShareServer::start_tls(listener, dir, token, Arc::new(config)).expect("start")
}

/// A client of `server` trusting the Ed25519 root, showing the `CN=alice` client
/// certificate of `identity` when given.
fn client(server: &ShareServer, identity: Option<Hierarchy>, token: Option<&str>) -> Client {
    let config = ClientConfig {
        trust_anchors: certs(fixtures::ED25519.root),
        identity: identity
            .map(|h| Arc::new(Identity::from_pem(h.client_chain, h.client_key).expect("id"))),
        ..ClientConfig::default()
    };
    let token = token.map(|t| Zeroizing::new(t.to_owned()));
    Client::with_tls(&server.url(), token, TIMEOUT, Arc::new(config))
}

#[test]
fn five_https_servers_recover_with_two_down() {
    let dirs: Vec<_> = (0..5).map(|_| tempfile::tempdir().expect("dir")).collect();
    let mut servers: Vec<Option<ShareServer>> =
        dirs.iter().map(|d| Some(start(d.path(), None))).collect();
    let alice = Some(fixtures::ED25519);
    let clients: Vec<Client> = servers
        .iter()
        .flatten()
        .map(|s| client(s, alice, None))
        .collect();
    assert!(
        clients
            .iter()
            .all(|c| c.url().starts_with("https://127.0.0.1:"))
    );
    let shares = sharing::split(SECRET, 3, 5, &mut ChaCha20Rng::seed_from_u64(1)).expect("split");
    let id = shares[0].split_id();
    client::store(&clients, &shares).expect("stored over mutual TLS");
    // Each share on disk names the client that stored it.
    let (_, access) = Store::open(dirs[2].path())
        .expect("open")
        .get(id, shares[2].x())
        .expect("read")
        .expect("stored");
    assert_eq!(access.owner.as_deref(), Some("CN=alice"));

    for i in [0, 3] {
        servers[i].take().expect("running").stop();
    }
    let secret = client::recover(&clients, id).expect("three of five");
    assert_eq!(secret.as_slice(), SECRET);
    servers[4].take().expect("running").stop();
    match client::recover(&clients, id) {
        Err(RecoverError::NotEnough { fetched, .. }) => assert_eq!(fetched.reached, 2),
        other => panic!("expected NotEnough, got {other:?}"),
    }
}

#[test]
fn clients_without_a_certificate_from_the_ca_are_refused_in_the_handshake() {
    let dir = tempfile::tempdir().expect("dir");
    let server = start(dir.path(), None);
    let share =
        &sharing::split(SECRET, 2, 2, &mut ChaCha20Rng::seed_from_u64(2)).expect("split")[0];
    for (identity, alerts) in [
        (None, &["certificate_required"][..]),
        (Some(fixtures::RSA), &["unknown_ca", "bad_certificate"][..]),
    ] {
        let err = client(&server, identity, None)
            .put(share)
            .expect_err("refused");
        let ClientError::Tls { reason, .. } = &err else {
            panic!("a TLS failure, not {err}")
        };
        assert!(alerts.iter().any(|a| reason.contains(a)), "{reason}");
    }
    assert_eq!(
        Store::open(dir.path())
            .expect("open")
            .list(share.split_id())
            .expect("list"),
        Vec::<u8>::new(),
        "nothing was stored"
    );
}

#[test]
fn only_the_owner_and_the_readers_read_a_share() {
    let dir = tempfile::tempdir().expect("dir");
    let shares = sharing::split(SECRET, 2, 3, &mut ChaCha20Rng::seed_from_u64(3)).expect("split");
    let id = shares[0].split_id();
    let store = Store::open(dir.path()).expect("open");
    let bobs = |readers: &[&str]| Access {
        owner: Some("CN=bob".into()),
        readers: readers.iter().map(|r| (*r).to_owned()).collect(),
    };
    store.put(&shares[0], &bobs(&[])).expect("put");
    store
        .put(&shares[1], &bobs(&["carol", "alice"]))
        .expect("put");
    store
        .put(&shares[2], &Access::default())
        .expect("put a share without owner");
    let server = start(dir.path(), Some("token"));
    let alice = client(&server, Some(fixtures::ED25519), Some("token"));

    let err = alice.get(id, shares[0].x()).expect_err("bob's alone");
    assert_eq!(err.status(), Some(403), "{err}");
    assert_eq!(alice.get(id, shares[1].x()).expect("a reader"), shares[1]);
    assert_eq!(alice.get(id, shares[2].x()).expect("no owner"), shares[2]);
    let mut readable = vec![shares[1].x(), shares[2].x()];
    readable.sort_unstable();
    assert_eq!(
        alice.list(id).expect("list"),
        readable,
        "bob's own is not listed"
    );

    // alice stores one of her own naming dave: the server records both.
    let mine = &sharing::split(SECRET, 2, 2, &mut ChaCha20Rng::seed_from_u64(4)).expect("split")[0];
    alice.put_for(mine, &["dave".into()]).expect("stored");
    let (_, access) = store
        .get(mine.split_id(), mine.x())
        .expect("read")
        .expect("there");
    assert_eq!(
        access,
        Access {
            owner: Some("CN=alice".into()),
            readers: vec!["dave".into()]
        }
    );
    assert_eq!(
        alice.get(mine.split_id(), mine.x()).expect("her own"),
        *mine
    );

    // The bearer token stays a second factor beside the certificate.
    let err = client(&server, Some(fixtures::ED25519), None)
        .get(id, shares[2].x())
        .expect_err("no token");
    assert_eq!(err.status(), Some(401), "{err}");
}

#[test]
fn plain_http_takes_no_readers_and_keeps_owned_shares() {
    let dir = tempfile::tempdir().expect("dir");
    let shares = sharing::split(SECRET, 2, 2, &mut ChaCha20Rng::seed_from_u64(5)).expect("split");
    Store::open(dir.path())
        .expect("open")
        .put(
            &shares[0],
            &Access {
                owner: Some("CN=bob".into()),
                readers: Vec::new(),
            },
        )
        .expect("put");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server = ShareServer::start(listener, dir.path(), None).expect("start");
    let anonymous = Client::new(&server.url(), None, TIMEOUT);
    let err = anonymous
        .get(shares[0].split_id(), shares[0].x())
        .expect_err("owned");
    assert_eq!(err.status(), Some(403), "{err}");
    let err = anonymous
        .put_for(&shares[1], &["bob".into()])
        .expect_err("no readers");
    assert_eq!(err.status(), Some(400), "{err}");
}
