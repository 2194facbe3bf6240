//! Peers that push the edges: closing mid-handshake, injected plaintext alerts, KeyUpdate
//! floods, a second ClientHello that changes what it may not, and a blocking transport
//! that fails half-way or ends without close_notify.

mod common;

use std::io::{self, Read, Write};

use common::{Dir, Pair, client_config, server_config, split_records};
use handshake::msgs::HandshakeMessage;
use handshake::msgs::alert::AlertDescription as A;
use handshake::msgs::client_hello::ClientHello;
use handshake::msgs::enums::{ContentType, NamedGroup, ProtocolVersion};
use handshake::msgs::extensions::{Extension, KeyShareEntry};
use handshake::record::write_plaintext;
use handshake::{ClientAuth, Error, Event, Stream};

/// A basic pair whose server answered the ClientHello, and that answer, not yet
/// delivered, split into records.
fn server_first_flight() -> (Pair, Vec<Vec<u8>>) {
    let mut p = Pair::basic();
    p.transfer(Dir::C2S);
    let flight = split_records(&std::mem::take(&mut p.server_out));
    (p, flight)
}

#[test]
fn closing_during_the_handshake_abandons_it() {
    let (mut p, flight) = server_first_flight();
    let mut out = Vec::new();
    p.client
        .process(&flight[0], common::NOW, &mut out)
        .expect("ServerHello");
    p.client.close(&mut out);
    // user_canceled then close_notify, both plaintext-sized alerts (protected now).
    assert_eq!(split_records(&out).len(), 2);
    let before = out.len();
    let rest: Vec<u8> = flight[1..].concat();
    let err = p
        .client
        .process(&rest, common::NOW, &mut out)
        .expect_err("closed");
    assert!(matches!(err, Error::Closed(_)), "{err}");
    assert_eq!(out.len(), before, "nothing is written after close_notify");
    assert!(
        Pair::events(&mut p.client)
            .iter()
            .all(|e| *e != Event::HandshakeComplete)
    );
}

#[test]
fn plaintext_alerts_are_refused_once_protected_records_arrived() {
    let (mut p, flight) = server_first_flight();
    let mut out = Vec::new();
    // ServerHello, the compatibility change_cipher_spec and EncryptedExtensions (the first
    // protected record) are processed.
    assert_eq!(flight[1], [0x14, 0x03, 0x03, 0x00, 0x01, 0x01]);
    p.client
        .process(&flight[..3].concat(), common::NOW, &mut out)
        .expect("SH, EE");
    let injected = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];
    let err = p
        .client
        .process(&injected, common::NOW, &mut out)
        .expect_err("refused");
    assert_ne!(
        err,
        Error::PeerAlert(A::HandshakeFailure),
        "an injected alert must not be believed"
    );
    assert_eq!(err.alert(), Some(A::UnexpectedMessage), "{err}");

    // Before any protected record, a plaintext alert is how a failing peer reports.
    let mut q = Pair::basic();
    q.transfer(Dir::C2S);
    let flight = split_records(&std::mem::take(&mut q.server_out));
    q.client
        .process(&flight[0], common::NOW, &mut out)
        .expect("SH");
    assert_eq!(
        q.client.process(&injected, common::NOW, &mut out),
        Err(Error::PeerAlert(A::HandshakeFailure))
    );
}

#[test]
fn a_key_update_flood_is_cut_off() {
    let mut p = Pair::basic();
    p.handshake();
    Pair::events(&mut p.server);
    for _ in 0..40 {
        p.client
            .key_update(false, &mut p.client_out)
            .expect("update");
    }
    let (_, server) = p.drive_until_error();
    let err = server.expect("the server stops the flood");
    assert_eq!(err.alert(), Some(A::UnexpectedMessage));
    assert!(
        err.to_string().contains("more than 32 KeyUpdate messages"),
        "{err}"
    );

    // Application data in between resets the count: 40 updates spread out are fine.
    let mut q = Pair::basic();
    q.handshake();
    for i in 0..40 {
        q.client
            .key_update(i % 2 == 0, &mut q.client_out)
            .expect("update");
        q.client.send(b"tick", &mut q.client_out).expect("send");
    }
    q.drive_without_errors();
}

/// Runs the HRR exchange and lets `edit` change the second ClientHello.
fn edited_second_hello(edit: impl FnOnce(&mut ClientHello)) -> Error {
    let mut cfg = client_config(false, false);
    cfg.empty_key_share_for_testing_only = true;
    let mut p = Pair::new(cfg, server_config(false, ClientAuth::Off));
    p.transfer(Dir::C2S);
    p.transfer(Dir::S2C);
    let second = std::mem::take(&mut p.client_out);
    // RFC 8446 Appendix D.4: the client's change_cipher_spec goes before the second hello.
    let (ccs, second) = second.split_at(6);
    assert_eq!(ccs, [0x14, 0x03, 0x03, 0x00, 0x01, 0x01]);
    let Ok(HandshakeMessage::ClientHello(mut ch)) = HandshakeMessage::decode(&second[5..]) else {
        panic!("expected the second ClientHello");
    };
    edit(&mut ch);
    let mut record = Vec::new();
    let bytes = HandshakeMessage::ClientHello(ch)
        .to_bytes()
        .expect("encode");
    write_plaintext(
        ContentType::Handshake,
        ProtocolVersion::Tls12,
        &bytes,
        &mut record,
    )
    .expect("record");
    p.server
        .process(&record, common::NOW, &mut Vec::new())
        .expect_err("refused")
}

#[test]
fn the_second_client_hello_may_only_change_what_rfc_8446_allows() {
    let err = edited_second_hello(|ch| ch.legacy_session_id = vec![1; 31]);
    assert_eq!(
        err.to_string(),
        "invalid ClientHello: the second ClientHello changed legacy_session_id (RFC 8446 §4.1.2)"
    );
    let err = edited_second_hello(|ch| {
        ch.extensions
            .0
            .retain(|e| !matches!(e, Extension::SignatureAlgorithmsCert(_)))
    });
    assert!(
        err.to_string()
            .contains("changed an extension other than key_share"),
        "{err}"
    );
    let err = edited_second_hello(|ch| {
        for e in &mut ch.extensions.0 {
            if let Extension::KeyShareClientHello(shares) = e {
                shares.push(KeyShareEntry {
                    group: NamedGroup::X25519,
                    key_exchange: vec![9; 32],
                });
            }
        }
    });
    assert!(
        err.to_string().contains("exactly one x25519 share"),
        "{err}"
    );
    assert_eq!(err.alert(), Some(A::IllegalParameter));
}

/// A transport that takes bytes from a script and records what is written, failing one
/// write part-way when asked.
struct Scripted {
    input: io::Cursor<Vec<u8>>,
    written: Vec<u8>,
    fail_after: Option<usize>,
    /// Every write fails with this, as on a socket the peer has reset.
    refuse: Option<io::ErrorKind>,
}

impl Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Scripted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(kind) = self.refuse {
            return Err(io::Error::new(kind, "scripted reset"));
        }
        match self.fail_after.take() {
            Some(0) => Err(io::Error::new(io::ErrorKind::TimedOut, "scripted timeout")),
            Some(n) => {
                let n = n.min(buf.len());
                self.written.extend_from_slice(&buf[..n]);
                self.fail_after = Some(0);
                Ok(n)
            }
            None => {
                self.written.extend_from_slice(buf);
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn clock() -> time::OffsetDateTime {
    common::NOW
}

/// A connected pair whose client is handed to a `Stream` reading `input`; returns the
/// stream and the server's connection.
fn client_stream(
    input: impl FnOnce(&mut Pair) -> Vec<u8>,
) -> (Stream<Scripted>, handshake::Connection) {
    let mut p = Pair::basic();
    p.handshake();
    Pair::events(&mut p.client);
    let bytes = input(&mut p);
    let Pair { client, server, .. } = p;
    let transport = Scripted {
        input: io::Cursor::new(bytes),
        written: Vec::new(),
        fail_after: None,
        refuse: None,
    };
    (Stream::new(client, transport, clock), server)
}

/// The server refused the client's (empty) certificate with an alert and closed; the
/// client's next write fails as on a reset socket. The alert waiting to be read is what
/// gets reported, whichever call notices (RFC 8446 §6.2: the peer's reason).
#[test]
fn a_write_refused_by_a_gone_peer_reports_the_alert_it_left() {
    for kind in [
        io::ErrorKind::BrokenPipe,
        io::ErrorKind::ConnectionReset,
        io::ErrorKind::ConnectionAborted,
    ] {
        let mut p = Pair::new(
            client_config(false, false),
            server_config(false, ClientAuth::Required),
        );
        p.transfer(Dir::C2S);
        p.transfer(Dir::S2C);
        p.transfer(Dir::C2S);
        assert_eq!(
            p.server_error.as_ref().and_then(Error::alert),
            Some(A::CertificateRequired)
        );
        let transport = Scripted {
            input: io::Cursor::new(std::mem::take(&mut p.server_out)),
            written: Vec::new(),
            fail_after: None,
            refuse: Some(kind),
        };
        let mut stream = Stream::new(p.client, transport, clock);
        // The data was encrypted and counts as written; the failure comes next.
        assert_eq!(stream.write(b"hello").expect("accepted"), 5);
        let err = stream.read(&mut [0u8; 16]).expect_err("refused");
        assert_eq!(
            Stream::<Scripted>::protocol_error(&err),
            Some(&Error::PeerAlert(A::CertificateRequired)),
            "{kind:?}: {err}"
        );
        assert_eq!(
            err.to_string(),
            "peer sent fatal alert certificate_required"
        );
    }
}

#[test]
fn a_write_that_fails_half_way_is_neither_lost_nor_repeated() {
    let (mut stream, mut server) = client_stream(|_| Vec::new());
    stream.get_mut().fail_after = Some(10);
    assert_eq!(stream.write(b"exactly once").expect("accepted"), 12);
    stream
        .flush()
        .expect_err("the scripted timeout is reported");
    stream.flush().expect("the rest goes out on retry");
    let wire = stream.get_ref().written.clone();
    server
        .process(&wire, common::NOW, &mut Vec::new())
        .expect("the server decrypts it");
    assert!(Pair::events(&mut server).contains(&Event::ApplicationData(b"exactly once".to_vec())));
}

#[test]
fn truncation_stays_an_error_and_data_before_a_failure_is_kept() {
    let (mut stream, _) = client_stream(|p| {
        p.server
            .send(b"important", &mut p.server_out)
            .expect("send");
        std::mem::take(&mut p.server_out)
    });
    let mut buf = [0u8; 32];
    assert_eq!(stream.read(&mut buf).expect("data"), 9);
    let first = stream
        .read(&mut buf)
        .expect_err("no close_notify: truncation");
    assert_eq!(first.kind(), io::ErrorKind::UnexpectedEof);
    let second = stream
        .read(&mut buf)
        .expect_err("a second read must not look like a clean end");
    assert_eq!(
        Stream::<Scripted>::protocol_error(&second),
        Some(&Error::Closed(Error::Truncated.to_string()))
    );

    let (mut stream, _) = client_stream(|p| {
        p.server
            .send(b"important", &mut p.server_out)
            .expect("send");
        let mut bytes = std::mem::take(&mut p.server_out);
        p.server.send(b"tampered", &mut p.server_out).expect("send");
        let mut bad = std::mem::take(&mut p.server_out);
        let last = bad.len() - 1;
        bad[last] ^= 1;
        bytes.extend_from_slice(&bad);
        bytes
    });
    assert_eq!(
        stream
            .read(&mut buf)
            .expect("the good record's data comes first"),
        9
    );
    assert_eq!(&buf[..9], b"important");
    let err = stream.read(&mut buf).expect_err("then the failure");
    assert_eq!(
        Stream::<Scripted>::protocol_error(&err),
        Some(&Error::DecryptFailed)
    );
    let again = stream.read(&mut buf).expect_err("and it stays failed");
    assert_eq!(
        Stream::<Scripted>::protocol_error(&again),
        Some(&Error::Closed(Error::DecryptFailed.to_string()))
    );
}
