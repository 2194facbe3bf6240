//! The loopback scenario: five share servers in-process, a 3-of-5 split of the
//! fixture server's TLS private key, two servers stopped, the key rebuilt from the other
//! three and a real handshake served with it; a third server stopped, a clear error.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use handshake::{Identity, ServerConfig};
use harness::runner::{self, ClientSpec, LoopbackServer};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sharing::client::{self, Client, RecoverError};
use sharing::server::ShareServer;

#[test]
fn three_of_five_share_servers_rebuild_a_working_tls_key() {
    let key = fixtures::ED25519.server_key;
    let dirs: Vec<_> = (0..5)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let mut servers: Vec<Option<ShareServer>> = dirs
        .iter()
        .map(|d| {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            Some(ShareServer::start(listener, d.path(), None).expect("start"))
        })
        .collect();
    let clients: Vec<Client> = servers
        .iter()
        .flatten()
        .map(|s| Client::new(&s.url(), None, Duration::from_secs(5)))
        .collect();
    let shares =
        sharing::split(key.as_bytes(), 3, 5, &mut ChaCha20Rng::seed_from_u64(8)).expect("split");
    let id = shares[0].split_id();
    client::store(&clients, &shares).expect("store one share per server");

    let mut stop = |i: usize| servers[i].take().expect("a running server").stop();
    stop(0);
    stop(2);
    let rebuilt = client::recover(&clients, id).expect("three servers are enough");
    let rebuilt = std::str::from_utf8(&rebuilt).expect("PEM text");
    assert_eq!(rebuilt, key);

    // A handshake signed with the rebuilt key, verified by a client against the root.
    let identity = Identity::from_pem(fixtures::ED25519.server_chain, rebuilt).expect("identity");
    let server = LoopbackServer::start(
        "127.0.0.1:0",
        Arc::new(ServerConfig::new(identity)),
        Some(1),
    )
    .expect("tls server");
    let spec = ClientSpec::new(
        runner::demo_client_config(false).expect("client config"),
        b"served with a rebuilt key".to_vec(),
    );
    let mut outcome = runner::run_client(
        server.addr(),
        &spec,
        harness::seed::connection_rng(Some(1), "client", 0),
        Duration::from_secs(10),
    );
    outcome.server = server.next_outcome(Duration::from_secs(10));
    assert!(
        outcome.ok(b"served with a rebuilt key"),
        "{:?}",
        outcome.client
    );
    let summary = outcome.client_summary().expect("summary").one_line();
    assert!(summary.contains("server_sig=ed25519"), "{summary}");

    stop(4);
    match client::recover(&clients, id) {
        Err(e @ RecoverError::NotEnough { .. }) => assert!(
            e.to_string().starts_with(&format!(
                "reached 2 of 5 share servers, holding 2 share(s) of split {id}; 3 needed"
            )),
            "{e}"
        ),
        other => panic!("expected NotEnough, got {:?}", other.map(|_| "a secret")),
    }
}
