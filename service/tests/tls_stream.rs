//! The async TLS stream, acceptor and connector against each other: over loopback TCP,
//! and over an in-memory pipe that trickles bytes to catch reads and writes cut short.

mod support;

use std::io;
use std::time::Duration;

use handshake::msgs::alert::AlertDescription;
use handshake::{ClientAuth, Error, Path};
use service::tls::{PeerIdentity, TlsAcceptor, TlsConnector, TlsStream, alert_of, tls_error};
use support::{client_config, runtime, server_config, within};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, DuplexStream};
use tokio::net::{TcpListener, TcpStream};

/// A loopback listener and a client TCP connection to it, with the server's end.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (client.expect("connect"), accepted.expect("accept").0)
}

/// Both ends of a handshake over loopback, or their errors.
async fn handshake_pair(
    policy: ClientAuth,
    cert: Option<fixtures::Hierarchy>,
) -> (
    io::Result<TlsStream<TcpStream>>,
    io::Result<TlsStream<TcpStream>>,
) {
    let (client_io, server_io) = tcp_pair().await;
    let acceptor = TlsAcceptor::new(server_config(policy));
    let connector = TlsConnector::new(client_config(cert), "localhost");
    within("handshake", async move {
        tokio::join!(connector.connect(client_io), acceptor.accept(server_io))
    })
    .await
}

#[test]
fn both_paths_round_trip_and_name_the_peer() {
    runtime().block_on(async {
        for (policy, cert, path, subject) in [
            (ClientAuth::Off, None, Path::EphemeralDh, None),
            (
                ClientAuth::Required,
                Some(fixtures::ED25519),
                Path::Certificate,
                Some("CN=alice"),
            ),
        ] {
            let (client, server) = handshake_pair(policy, cert).await;
            let (mut client, mut server) = (client.expect("client"), server.expect("server"));
            let seen: PeerIdentity = server.peer_identity().expect("server side identity");
            assert_eq!(seen.path, path);
            assert_eq!(seen.subject.as_deref(), subject);
            assert_eq!(seen.is_anonymous(), subject.is_none());
            let server_seen = client.peer_identity().expect("client side identity");
            assert!(
                server_seen
                    .subject
                    .as_deref()
                    .is_some_and(|s| s.contains("localhost")),
                "{server_seen:?}"
            );

            client.write_all(b"ping").await.expect("write");
            let mut buf = [0u8; 4];
            within("read", server.read_exact(&mut buf))
                .await
                .expect("read");
            assert_eq!(&buf, b"ping");
            server.write_all(b"pong").await.expect("write");
            within("read", client.read_exact(&mut buf))
                .await
                .expect("read");
            assert_eq!(&buf, b"pong");
        }
    });
}

#[test]
fn shutdown_sends_close_notify_and_the_peer_reads_a_clean_end() {
    runtime().block_on(async {
        let (client, server) = handshake_pair(ClientAuth::Off, None).await;
        let (mut client, mut server) = (client.expect("client"), server.expect("server"));
        server.write_all(b"last words").await.expect("write");
        server.shutdown().await.expect("shutdown");
        let mut got = Vec::new();
        within("read to end", client.read_to_end(&mut got))
            .await
            .expect("a clean end after close_notify");
        assert_eq!(got, b"last words");
        assert!(client.connection().peer_closed());
        // The other direction is still open (RFC 8446 §6.1 closes each on its own).
        client
            .write_all(b"reply")
            .await
            .expect("write after close_notify");
        client.shutdown().await.expect("shutdown");
        let mut reply = Vec::new();
        within("read to end", server.read_to_end(&mut reply))
            .await
            .expect("clean end");
        assert_eq!(reply, b"reply");
    });
}

#[test]
fn an_end_without_close_notify_is_a_truncation_error() {
    runtime().block_on(async {
        let (client, server) = handshake_pair(ClientAuth::Off, None).await;
        let (mut client, mut server) = (client.expect("client"), server.expect("server"));
        server.write_all(b"cut off").await.expect("write");
        server.flush().await.expect("flush");
        // Close the TCP connection under the TLS stream: no close_notify.
        server.get_mut().shutdown().await.expect("tcp shutdown");
        let mut got = Vec::new();
        let err = within("read to end", client.read_to_end(&mut got))
            .await
            .expect_err("truncation");
        assert_eq!(got, b"cut off", "data before the cut is delivered first");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(matches!(tls_error(&err), Some(Error::Truncated)), "{err}");
    });
}

#[test]
fn a_client_without_a_certificate_is_refused_with_certificate_required() {
    runtime().block_on(async {
        let (client, server) = handshake_pair(ClientAuth::Required, None).await;
        let server_err = server.expect_err("the server refuses");
        assert_eq!(
            alert_of(&server_err),
            Some(AlertDescription::CertificateRequired)
        );
        let client_err = first_error(client).await;
        assert_eq!(
            alert_of(&client_err),
            Some(AlertDescription::CertificateRequired),
            "{client_err}"
        );
        assert!(matches!(
            tls_error(&client_err),
            Some(Error::PeerAlert(AlertDescription::CertificateRequired))
        ));
    });
}

#[test]
fn a_client_certificate_from_another_ca_is_refused() {
    runtime().block_on(async {
        let (client, server) = handshake_pair(ClientAuth::Required, Some(fixtures::RSA)).await;
        let server_err = server.expect_err("the server refuses");
        let refusals = [
            AlertDescription::UnknownCa,
            AlertDescription::BadCertificate,
        ];
        let sent = alert_of(&server_err).expect("an alert");
        assert!(refusals.contains(&sent), "{server_err}");
        let client_err = first_error(client).await;
        assert!(
            matches!(tls_error(&client_err), Some(Error::PeerAlert(a)) if *a == sent),
            "{client_err}"
        );
    });
}

/// The error a client meets: in the handshake, or (when the server refuses its
/// certificate after the client finished, RFC 8446 §4.4.2.4) on the first read.
async fn first_error(client: io::Result<TlsStream<TcpStream>>) -> io::Error {
    let mut client = match client {
        Err(e) => return e,
        Ok(client) => client,
    };
    let mut buf = [0u8; 16];
    match within("read", client.read(&mut buf)).await {
        Err(e) => e,
        Ok(n) => panic!("expected a refusal, read {n} bytes"),
    }
}

/// Copies `from` to `to` a few bytes at a time with pauses, so that records arrive in
/// pieces; ends `to` when `from` ends.
async fn trickle(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin) {
    let mut buf = [0u8; 97];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _ = to.shutdown().await;
}

/// A TLS client and server joined through two trickling relays.
async fn trickling_pair() -> (TlsStream<DuplexStream>, TlsStream<DuplexStream>) {
    let (client_io, client_far) = tokio::io::duplex(4096);
    let (server_io, server_far) = tokio::io::duplex(4096);
    let (client_read, client_write) = tokio::io::split(client_far);
    let (server_read, server_write) = tokio::io::split(server_far);
    tokio::spawn(trickle(client_read, server_write));
    tokio::spawn(trickle(server_read, client_write));
    let acceptor = TlsAcceptor::new(server_config(ClientAuth::Off));
    let connector = TlsConnector::new(client_config(None), "localhost");
    let (client, server) = within("handshake", async {
        tokio::join!(connector.connect(client_io), acceptor.accept(server_io))
    })
    .await;
    (client.expect("client"), server.expect("server"))
}

#[test]
fn reads_and_writes_cut_short_lose_no_bytes() {
    runtime().block_on(async {
        let (mut client, mut server) = trickling_pair().await;
        let message: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let expected = message.clone();
        let writer = tokio::spawn(async move {
            // Each write gets a moment only; one cut short must have accepted nothing.
            let (mut written, mut cut) = (0, 0);
            while written < message.len() {
                let attempt = server.write(&message[written..]);
                match tokio::time::timeout(Duration::from_millis(1), attempt).await {
                    Ok(n) => written += n.expect("write"),
                    Err(_) => cut += 1,
                }
            }
            server.shutdown().await.expect("shutdown");
            cut
        });
        let (got, cut) = within("reading everything", async {
            let (mut got, mut cut) = (Vec::new(), 0);
            let mut buf = [0u8; 1000];
            loop {
                let attempt = client.read(&mut buf);
                match tokio::time::timeout(Duration::from_millis(1), attempt).await {
                    Ok(Ok(0)) => return (got, cut),
                    Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
                    Ok(Err(e)) => panic!("read: {e}"),
                    Err(_) => cut += 1,
                }
                assert!(got.len() <= expected.len(), "more bytes than were sent");
            }
        })
        .await;
        let writes_cut = within("writer", writer).await.expect("writer task");
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "the bytes differ");
        assert!(cut > 0, "no read was cut short: the test proved nothing");
        assert!(
            writes_cut > 0,
            "no write was cut short: the test proved nothing"
        );
    });
}
