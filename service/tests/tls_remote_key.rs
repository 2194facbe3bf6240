//! The async stream with a remote key: the acceptor's signer is asked for the
//! CertificateVerify (RFC 8446 §4.4.3) and the handshake waits for its future.

mod support;

use std::sync::Arc;
use std::time::Duration;

use handshake::msgs::alert::AlertDescription;
use handshake::{Identity, ServerConfig, SignatureRequest};
use pki::{PrivateKey, SignatureAlgorithm};
use service::tls::{AsyncSigner, TlsAcceptor, TlsConnector, alert_of};
use support::{certs, client_config, runtime, within};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

fn remote_config() -> Arc<ServerConfig> {
    let chain = certs(fixtures::ED25519.server_chain);
    Arc::new(ServerConfig::new(
        Identity::remote(chain).expect("remote identity"),
    ))
}

/// Signs with the fixture's key, held here, after a pause (as a remote signer would).
fn fixture_signer() -> AsyncSigner {
    AsyncSigner::new(|request: SignatureRequest| {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let key =
                PrivateKey::from_pem(fixtures::ED25519.server_key).map_err(|e| e.to_string())?;
            // Ed25519 takes no randomness (RFC 8032 §5.1.6); the generator is unused.
            let mut rng = NoRng;
            key.sign(SignatureAlgorithm::Ed25519, request.message(), &mut rng)
                .map_err(|e| e.to_string())
        })
    })
}

/// A generator for signatures that draw nothing.
struct NoRng;

impl rand_core::TryRng for NoRng {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        dst.fill(0);
        Ok(())
    }
}

impl rand_core::TryCryptoRng for NoRng {}

async fn pair(acceptor: TlsAcceptor) -> (std::io::Result<()>, std::io::Result<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let (client, server) = (client.expect("connect"), accepted.expect("accept").0);
    let connector = TlsConnector::new(client_config(None), "localhost");
    within("handshake", async move {
        let (c, s) = tokio::join!(connector.connect(client), acceptor.accept(server));
        let (mut c, mut s) = match (c, s) {
            (Ok(c), Ok(s)) => (c, s),
            (c, s) => return (c.map(drop), s.map(drop)),
        };
        c.write_all(b"ping").await.expect("write");
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"ping");
        (Ok(()), Ok(()))
    })
    .await
}

#[test]
fn the_signer_completes_the_handshake() {
    runtime().block_on(async {
        let acceptor = TlsAcceptor::new(remote_config()).with_signer(fixture_signer());
        let (client, server) = pair(acceptor).await;
        client.expect("client");
        server.expect("server");
    });
}

#[test]
fn a_failing_or_missing_signer_ends_the_handshake_with_internal_error() {
    runtime().block_on(async {
        let failing = AsyncSigner::new(|_| Box::pin(async { Err("all signers down".to_owned()) }));
        let wrong = AsyncSigner::new(|_| Box::pin(async { Ok(vec![7; 64]) }));
        for acceptor in [
            TlsAcceptor::new(remote_config()).with_signer(failing),
            TlsAcceptor::new(remote_config()).with_signer(wrong),
            TlsAcceptor::new(remote_config()),
        ] {
            let (client, server) = pair(acceptor).await;
            let client = client.expect_err("client refused");
            assert_eq!(
                alert_of(&client),
                Some(AlertDescription::InternalError),
                "{client}"
            );
            assert!(server.is_err());
        }
    });
}
