//! The loopback runner as a test author uses it, over IPv4 and IPv6 loopback.

use std::sync::Arc;

use handshake::{ClientAuth, Path};
use harness::runner::{self, ClientSpec};

fn both_paths(bind: &str) {
    let server = runner::demo_server_config(ClientAuth::Optional).expect("server");
    let clients = vec![
        ClientSpec::new(
            runner::demo_client_config(false).expect("client"),
            b"one".to_vec(),
        ),
        ClientSpec::new(
            runner::demo_client_config(true).expect("client"),
            b"two".to_vec(),
        ),
    ];
    let outcomes = runner::run(bind, Arc::new(server), clients, Some(11)).expect("run");
    for (o, (path, sent)) in outcomes.iter().zip([
        (Path::EphemeralDh, &b"one"[..]),
        (Path::Certificate, &b"two"[..]),
    ]) {
        assert!(
            o.ok(sent),
            "{bind}: {:?} / {:?}",
            o.client,
            o.server.as_ref().map(|s| &s.result)
        );
        assert_eq!(o.client_summary().map(|s| s.path), Some(path));
        assert_eq!(o.server_summary().map(|s| s.path), Some(path));
        let server = o.server.as_ref().expect("server outcome");
        assert_eq!(server.received, sent);
        // Both sides saw the same messages in the same order.
        let names = |m: &[harness::observe::MessageRecord]| {
            m.iter()
                .map(|r| (r.from_client, r.name.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&o.observed.messages),
            names(&server.observed.messages)
        );
        assert!(o.bytes_sent > 0 && o.bytes_received > 0 && o.handshake_time <= o.total_time);
        let labels: Vec<&str> = o
            .observed
            .secrets
            .iter()
            .map(|s| s.label.as_str())
            .collect();
        assert_eq!(
            labels,
            [
                "ecdhe_shared_secret",
                "early_secret",
                "derived_from_early_secret",
                "handshake_secret",
                "client_handshake_traffic_secret",
                "server_handshake_traffic_secret",
                "derived_from_handshake_secret",
                "master_secret",
                "client_application_traffic_secret_0",
                "server_application_traffic_secret_0",
                "exporter_master_secret"
            ]
        );
        // The key exchange, each secret and both Finished values are placed after the
        // message that made them possible: the ServerHello (message 2), the server's
        // Finished.
        let kx = &o.observed.key_exchanges;
        assert_eq!(kx.len(), 1);
        assert_eq!(kx[0].after_messages, 2);
        assert_eq!(kx[0].private_key.len(), 32);
        let peer = &server.observed.key_exchanges[0];
        assert_eq!(kx[0].shared_secret, peer.shared_secret);
        assert_eq!(kx[0].peer_public_key, peer.public_key);
        let hs = o
            .observed
            .secrets
            .iter()
            .find(|s| s.label == "handshake_secret");
        assert_eq!(hs.map(|s| s.after_messages), Some(2));
        let fins: Vec<(bool, bool)> = o
            .observed
            .finished
            .iter()
            .map(|f| (f.from_client, f.sent))
            .collect();
        assert_eq!(fins, [(false, false), (true, true)]);
        assert_eq!(
            o.observed.finished[0].transcript.covers.split("..").next(),
            Some("ClientHello")
        );
        serde_json::to_string(&o.observed).expect("serializable");
    }
}

#[test]
fn ipv4_loopback() {
    both_paths("127.0.0.1:0");
}

#[test]
fn ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "IPv6 loopback is expected under CI"
        );
        eprintln!("skipping: this machine has no IPv6 loopback");
        return;
    }
    both_paths("[::1]:0");
}
