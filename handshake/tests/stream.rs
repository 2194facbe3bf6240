//! The blocking `Stream` adapter over a loopback TCP socket, both sides in one process.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use common::{client_config, server_config};
use handshake::msgs::alert::AlertDescription;
use handshake::{ClientAuth, Connection, Error, Path, Stream};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn clock() -> time::OffsetDateTime {
    common::NOW
}

fn serve(
    listener: TcpListener,
    policy: ClientAuth,
) -> std::thread::JoinHandle<Result<Vec<u8>, std::io::Error>> {
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept()?;
        tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
        let conn = Connection::server(
            Arc::new(server_config(false, policy)),
            ChaCha20Rng::seed_from_u64(9),
        );
        let mut s = Stream::new(conn, tcp, clock);
        s.handshake()?;
        let mut line = Vec::new();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf)?;
        line.extend_from_slice(&buf[..n]);
        s.write_all(&line)?;
        s.close()?;
        Ok(line)
    })
}

/// A server thread as [`serve`] starts it on a loopback port, and a client `Stream`
/// connected to it (with a client certificate when `with_cert`); reads give up after 10
/// seconds.
fn serve_and_connect(
    policy: ClientAuth,
    with_cert: bool,
) -> (
    std::thread::JoinHandle<Result<Vec<u8>, std::io::Error>>,
    Stream<TcpStream>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = serve(listener, policy);
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let conn = Connection::client(
        Arc::new(client_config(false, with_cert)),
        "localhost",
        ChaCha20Rng::seed_from_u64(8),
    )
    .expect("client");
    (server, Stream::new(conn, tcp, clock))
}

#[test]
fn echo_over_loopback_on_both_paths() {
    for (policy, with_cert, path) in [
        (ClientAuth::Off, false, Path::EphemeralDh),
        (ClientAuth::Required, true, Path::Certificate),
    ] {
        let (server, mut s) = serve_and_connect(policy, with_cert);
        assert_eq!(s.handshake().expect("handshake").path, path);
        s.write_all(b"hello over tcp").expect("write");
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).expect("read until close_notify");
        assert_eq!(reply, b"hello over tcp");
        assert_eq!(
            server.join().expect("thread").expect("server"),
            b"hello over tcp"
        );
    }
}

#[test]
fn the_client_learns_why_the_server_refused_it() {
    let (server, mut s) = serve_and_connect(ClientAuth::Required, false);
    s.handshake()
        .expect("the client's side of the handshake completes");
    s.write_all(b"hi").expect("write");
    let err = s.read(&mut [0u8; 16]).expect_err("the server refuses");
    assert_eq!(
        Stream::<TcpStream>::protocol_error(&err),
        Some(&Error::PeerAlert(AlertDescription::CertificateRequired))
    );
    let server_err = server.join().expect("thread").expect_err("server fails");
    assert_eq!(
        Stream::<TcpStream>::protocol_error(&server_err)
            .map(ToString::to_string)
            .as_deref(),
        Some("client certificate required, but the client sent none")
    );
}

/// `Stream::key_update` (RFC 8446 §4.6.3): the client updates its keys and asks the server
/// to update its own; the echo comes back under the server's next keys.
#[test]
fn a_key_update_over_the_stream_keeps_the_echo_working() {
    let (server, mut s) = serve_and_connect(ClientAuth::Off, false);
    s.handshake().expect("handshake");
    s.key_update(true).expect("key update");
    s.write_all(b"after a key update").expect("write");
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).expect("read until close_notify");
    assert_eq!(reply, b"after a key update");
    assert!(
        s.take_events()
            .contains(&handshake::Event::KeyUpdated { requested: false }),
        "the server answered with its own KeyUpdate"
    );
    assert_eq!(
        server.join().expect("thread").expect("server"),
        b"after a key update"
    );
}
