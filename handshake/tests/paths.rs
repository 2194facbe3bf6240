//! Both paths end to end in memory: policies, key types, HelloRetryRequest, application
//! data, KeyUpdate, close, exporter, determinism and the state tables.

mod common;

use common::{Dir, Pair, client_config, edited_hello, server_config};
use handshake::msgs::alert::AlertDescription;
use handshake::msgs::enums::SignatureScheme;
use handshake::states::{ClientState, ServerState};
use handshake::{ClientAuth, Error, Event, Path};

fn exchange_data(p: &mut Pair) {
    send_and_check(p, Dir::C2S, b"ping");
    send_and_check(p, Dir::S2C, b"pong");
}

/// Sends `data` the way `dir` goes and checks the other side reports it.
fn send_and_check(p: &mut Pair, dir: Dir, data: &[u8]) {
    let (sender, out) = match dir {
        Dir::C2S => (&mut p.client, &mut p.client_out),
        Dir::S2C => (&mut p.server, &mut p.server_out),
    };
    sender.send(data, out).expect("send");
    p.transfer(dir);
    let receiver = match dir {
        Dir::C2S => &mut p.server,
        Dir::S2C => &mut p.client,
    };
    let got = Pair::events(receiver);
    assert!(
        got.contains(&Event::ApplicationData(data.to_vec())),
        "{dir:?}: {got:?}"
    );
}

#[test]
fn every_policy_and_key_type_takes_the_expected_path() {
    let cases = [
        // (policy, client has a certificate, expected path, server's reason starts with)
        (
            ClientAuth::Off,
            false,
            Path::EphemeralDh,
            "client authentication is off",
        ),
        (
            ClientAuth::Off,
            true,
            Path::EphemeralDh,
            "client authentication is off",
        ),
        (
            ClientAuth::Optional,
            false,
            Path::EphemeralDh,
            "client has no certificate (client auth optional)",
        ),
        (
            ClientAuth::Optional,
            true,
            Path::Certificate,
            "client presented CN=alice, verified against CN=keylab",
        ),
        (
            ClientAuth::Required,
            true,
            Path::Certificate,
            "client presented CN=alice, verified against CN=keylab",
        ),
    ];
    for rsa in [false, true] {
        for (policy, with_cert, path, reason) in cases {
            let mut p = Pair::new(client_config(rsa, with_cert), server_config(rsa, policy));
            p.handshake();
            let (c, s) = (
                p.client.summary().expect("client summary").clone(),
                p.server.summary().expect("server summary").clone(),
            );
            let what = format!("rsa={rsa} {policy} cert={with_cert}");
            assert_eq!(c.path, path, "{what}");
            assert_eq!(s.path, path, "{what}");
            assert!(s.reason.starts_with(reason), "{what}: {}", s.reason);
            assert_eq!(c.transcript_hash, s.transcript_hash, "{what}");
            let scheme = if rsa {
                SignatureScheme::RsaPssRsaeSha256
            } else {
                SignatureScheme::Ed25519
            };
            assert_eq!(c.server_signature, Some(scheme));
            assert_eq!(
                s.client_signature,
                (path == Path::Certificate).then_some(scheme)
            );
            assert_eq!(
                s.server_name.as_deref(),
                Some("localhost"),
                "SNI is sent for DNS names"
            );
            if path == Path::Certificate {
                assert_eq!(s.client_chain[0], "CN=alice");
                assert!(
                    s.client_names
                        .contains(&"email:alice@example.com".to_owned())
                );
                assert!(
                    c.reason.contains("client presented CN=alice"),
                    "{}",
                    c.reason
                );
            }
            assert!(Pair::events(&mut p.client).contains(&Event::HandshakeComplete));
            exchange_data(&mut p);
            let a = p
                .client
                .export_keying_material(b"EXPORTER-keylab", b"ctx", 32)
                .expect("export");
            let b = p
                .server
                .export_keying_material(b"EXPORTER-keylab", b"ctx", 32)
                .expect("export");
            assert_eq!(a, b, "{what}: exporters differ");
            assert_ne!(
                a,
                p.client
                    .export_keying_material(b"EXPORTER-other", b"ctx", 32)
                    .expect("export")
            );
            p.assert_transitions_listed();
        }
    }
}

#[test]
fn required_policy_without_certificate_fails_on_both_sides() {
    let mut p = Pair::new(
        client_config(false, false),
        server_config(false, ClientAuth::Required),
    );
    let (client, server) = p.drive_until_error();
    let server = server.expect("server must fail");
    assert_eq!(
        server.to_string(),
        "client certificate required, but the client sent none"
    );
    assert_eq!(server.alert(), Some(AlertDescription::CertificateRequired));
    // The client finished its side first; the alert reaches it afterwards.
    assert_eq!(
        client,
        Some(Error::PeerAlert(AlertDescription::CertificateRequired))
    );
    // A client that tries to send now reports the failure, not success.
    let err = p.client.send(b"data", &mut Vec::new()).expect_err("closed");
    assert!(matches!(err, Error::Closed(_)), "{err}");
}

#[test]
fn hello_retry_request_when_the_client_sends_no_share() {
    for with_cert in [false, true] {
        let mut cfg = client_config(false, with_cert);
        cfg.empty_key_share_for_testing_only = true;
        let mut p = Pair::new(cfg, server_config(false, ClientAuth::Optional));
        p.handshake();
        assert!(p.client.summary().expect("summary").hello_retry);
        assert!(p.server.summary().expect("summary").hello_retry);
        let t = p.server_transitions.lock().expect("lock").clone();
        let retry = (ServerState::RecvdCh.into(), ServerState::Start.into());
        assert!(t.contains(&retry), "{t:?}");
        let t = p.client_transitions.lock().expect("lock").clone();
        let retry = (ClientState::WaitSh.into(), ClientState::WaitSh.into());
        assert!(t.contains(&retry), "{t:?}");
        p.assert_transitions_listed();
        exchange_data(&mut p);
    }
}

#[test]
fn key_update_both_ways() {
    let mut p = Pair::basic();
    p.handshake();
    Pair::events(&mut p.server);
    p.client
        .key_update(true, &mut p.client_out)
        .expect("update");
    p.transfer(Dir::C2S);
    assert!(Pair::events(&mut p.server).contains(&Event::KeyUpdated { requested: true }));
    p.transfer(Dir::S2C);
    assert!(Pair::events(&mut p.client).contains(&Event::KeyUpdated { requested: false }));
    for _ in 0..3 {
        exchange_data(&mut p);
        p.server
            .key_update(false, &mut p.server_out)
            .expect("update");
        p.transfer(Dir::S2C);
    }
    assert!(p.client_error.is_none() && p.server_error.is_none());
}

#[test]
fn close_notify_and_truncation() {
    let mut p = Pair::basic();
    p.handshake();
    p.client
        .send(b"last words", &mut p.client_out)
        .expect("send");
    p.client.close(&mut p.client_out);
    p.transfer(Dir::C2S);
    let events = Pair::events(&mut p.server);
    assert_eq!(
        &events[events.len() - 2..],
        &[
            Event::ApplicationData(b"last words".to_vec()),
            Event::PeerClosed
        ]
    );
    assert_eq!(
        p.server.peer_eof(),
        Ok(()),
        "EOF after close_notify is clean"
    );
    assert_eq!(
        p.client.send(b"more", &mut Vec::new()),
        Err(Error::Usage("close_notify was already sent")),
        "nothing after close_notify"
    );

    // EOF without close_notify is truncation.
    let mut q = Pair::basic();
    q.handshake();
    assert_eq!(q.client.peer_eof(), Err(Error::Truncated));
}

#[test]
fn seeded_runs_are_byte_identical_and_seeds_matter() {
    let run = |seed| {
        let mut p = Pair::with_seed(
            client_config(false, true),
            server_config(false, ClientAuth::Required),
            "localhost",
            seed,
        );
        p.handshake();
        exchange_data(&mut p);
        (p.c2s_log, p.s2c_log)
    };
    let a = run(5);
    assert_eq!(a, run(5), "same seed, same bytes");
    assert_ne!(a, run(6), "another seed, other bytes");
}

#[test]
fn key_log_has_the_nss_labels_with_the_client_random() {
    let (mut p, log) = Pair::basic_with_key_log();
    p.handshake();
    let lines = log.0.lock().expect("lock").clone();
    let labels: Vec<&str> = lines.iter().map(|(l, _, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        [
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0",
            "SERVER_TRAFFIC_SECRET_0",
            "EXPORTER_SECRET"
        ]
    );
    // The client random is bytes 6..38 of the first record's ClientHello.
    let random = &p.c2s_log[11..43];
    assert!(lines.iter().all(|(_, r, s)| r == random && s.len() == 32));
    let line = handshake::keylog_line(&lines[0].0, &lines[0].1, &lines[0].2);
    assert!(
        line.starts_with("CLIENT_HANDSHAKE_TRAFFIC_SECRET ") && line.len() == 31 + 1 + 64 + 1 + 64,
        "{line}"
    );
}

#[test]
fn ip_server_names_are_checked_against_ip_sans_and_not_sent() {
    for name in ["127.0.0.1", "::1"] {
        let mut p = Pair::with_seed(
            client_config(false, false),
            server_config(false, ClientAuth::Off),
            name,
            3,
        );
        p.handshake();
        assert_eq!(
            p.server.summary().expect("summary").server_name,
            None,
            "{name}: no SNI for IP literals"
        );
    }
}

#[test]
fn application_data_before_the_handshake_is_refused() {
    let mut p = Pair::basic();
    let err = p
        .client
        .send(b"early", &mut Vec::new())
        .expect_err("too early");
    assert_eq!(err, Error::Usage("the handshake has not finished"));
    assert_eq!(
        p.client.export_keying_material(b"x", b"", 16),
        Err(Error::Usage("the handshake has not finished"))
    );
}

#[test]
fn large_application_data_is_split_into_records() {
    let mut p = Pair::basic();
    p.handshake();
    Pair::events(&mut p.server);
    let big: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    p.client.send(&big, &mut p.client_out).expect("send");
    p.transfer(Dir::C2S);
    let got: Vec<u8> = Pair::events(&mut p.server)
        .into_iter()
        .flat_map(|e| match e {
            Event::ApplicationData(d) => d,
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(got, big);
}

#[test]
fn session_tickets_are_accepted_by_clients_and_refused_by_servers() {
    use handshake::key_schedule::TrafficKeys;
    use handshake::msgs::HandshakeMessage;
    use handshake::msgs::enums::ContentType;
    use handshake::msgs::extensions::Extensions;
    use handshake::msgs::post_handshake::NewSessionTicket;
    use handshake::record::RecordEncrypter;

    let (mut p, log) = Pair::basic_with_key_log();
    p.handshake();
    Pair::events(&mut p.client);
    // What OpenSSL and rustls send after the handshake: a NewSessionTicket, protected
    // with the server's first application key (sequence number 0).
    let nst = HandshakeMessage::NewSessionTicket(NewSessionTicket {
        ticket_lifetime: 7200,
        ticket_age_add: 1,
        ticket_nonce: vec![0],
        ticket: vec![1; 16],
        extensions: Extensions::default(),
    });
    let key = |label| -> TrafficKeys {
        TrafficKeys::derive(
            handshake::SupportedSuite::Chacha20Poly1305Sha256,
            &log.secret(label),
        )
    };
    let mut record = Vec::new();
    RecordEncrypter::new(&key("SERVER_TRAFFIC_SECRET_0"))
        .encrypt(
            ContentType::Handshake,
            &nst.to_bytes().expect("encode"),
            0,
            &mut record,
        )
        .expect("encrypt");
    p.client
        .process(&record, common::NOW, &mut p.client_out)
        .expect("a ticket is no error");
    assert_eq!(
        Pair::events(&mut p.client),
        [Event::SessionTicket { lifetime: 7200 }]
    );
    // The client still works (its sending side; the server's sequence number 0 was taken
    // by the injected record).
    p.client
        .send(b"after ticket", &mut p.client_out)
        .expect("send");
    p.transfer(Dir::C2S);
    assert!(
        Pair::events(&mut p.server).contains(&Event::ApplicationData(b"after ticket".to_vec()))
    );

    // A server receiving one: unexpected_message.
    let (mut q, log2) = Pair::basic_with_key_log();
    q.handshake();
    let mut record = Vec::new();
    RecordEncrypter::new(&TrafficKeys::derive(
        handshake::SupportedSuite::Chacha20Poly1305Sha256,
        &log2.secret("CLIENT_TRAFFIC_SECRET_0"),
    ))
    .encrypt(
        ContentType::Handshake,
        &nst.to_bytes().expect("encode"),
        0,
        &mut record,
    )
    .expect("encrypt");
    let err = q
        .server
        .process(&record, common::NOW, &mut Vec::new())
        .expect_err("servers get no tickets");
    assert_eq!(
        err.to_string(),
        "unexpected message: expected NewSessionTicket or KeyUpdate, got NewSessionTicket"
    );
}

#[test]
fn the_server_echoes_the_legacy_session_id() {
    use handshake::msgs::HandshakeMessage;
    let mut p = edited_hello(|ch| ch.legacy_session_id = vec![7; 32]);
    let record = std::mem::take(&mut p.client_out);
    let mut out = Vec::new();
    p.server
        .process(&record, common::NOW, &mut out)
        .expect("server flight");
    let len = usize::from(u16::from_be_bytes([out[3], out[4]]));
    let Ok(HandshakeMessage::ServerHello(sh)) = HandshakeMessage::decode(&out[5..5 + len]) else {
        panic!("not a ServerHello");
    };
    assert_eq!(sh.legacy_session_id_echo, vec![7; 32]);
}
