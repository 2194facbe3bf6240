//! The key log is right: a recording proxy captures the raw bytes of a connection, and the
//! test decrypts them with keys it derives itself from the logged secrets — with the
//! `hkdf` and `chacha20poly1305` crates directly, not with keylab's record layer.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use handshake::ClientAuth;
use harness::runner::{self, ClientSpec, LoopbackServer};
use hkdf::Hkdf;
use sha2::Sha256;

/// What a recording proxy saw: (client to server, server to client).
type Wire = Arc<Mutex<(Vec<u8>, Vec<u8>)>>;

/// Forwards one connection to `upstream`, keeping a copy of each direction.
fn recording_proxy(upstream: std::net::SocketAddr) -> (std::net::SocketAddr, Wire) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log: Wire = Arc::default();
    let shared = log.clone();
    std::thread::spawn(move || {
        let (client, _) = listener.accept().expect("accept");
        let server = TcpStream::connect(upstream).expect("upstream");
        let pump = |mut from: TcpStream, mut to: TcpStream, log: Wire, c2s: bool| {
            std::thread::spawn(move || {
                let _ = from.set_read_timeout(Some(Duration::from_secs(10)));
                let mut buf = [0u8; 4096];
                while let Ok(n) = from.read(&mut buf) {
                    if n == 0 || to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    if let Ok(mut l) = log.lock() {
                        if c2s {
                            l.0.extend_from_slice(&buf[..n])
                        } else {
                            l.1.extend_from_slice(&buf[..n])
                        }
                    }
                }
                let _ = to.shutdown(Shutdown::Write);
            })
        };
        let a = pump(
            client.try_clone().expect("clone"),
            server.try_clone().expect("clone"),
            shared.clone(),
            true,
        );
        let b = pump(server, client, shared, false);
        let _ = (a.join(), b.join());
    });
    (addr, log)
}

/// HKDF-Expand-Label (RFC 8446 §7.1), written out here on purpose.
fn expand_label(secret: &[u8], label: &str, len: usize) -> Vec<u8> {
    let full = format!("tls13 {label}");
    let mut info = Vec::new();
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push(full.len() as u8);
    info.extend_from_slice(full.as_bytes());
    info.push(0); // empty context
    let hk = Hkdf::<Sha256>::from_prk(secret).expect("prk");
    let mut out = vec![0u8; len];
    hk.expand(&info, &mut out).expect("expand");
    out
}

/// The msg_type of each handshake message in `records` (type, then a 3-byte length; RFC
/// 8446 §4).
fn message_types(records: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut types = Vec::new();
    for (_, data) in records {
        let mut at = 0;
        while at + 4 <= data.len() {
            types.push(data[at]);
            at += 4
                + usize::from(u16::from_be_bytes([data[at + 2], data[at + 3]]))
                + (usize::from(data[at + 1]) << 16);
        }
    }
    types
}

/// Decrypts consecutive protected records of `stream` starting at record `first` with the
/// traffic secret; returns (inner type, content) per record until one fails to decrypt.
fn decrypt_records(stream: &[u8], first: usize, secret: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let key = expand_label(secret, "key", 32);
    let iv = expand_label(secret, "iv", 12);
    let cipher = ChaCha20Poly1305::new_from_slice(&key).expect("key");
    let mut out = Vec::new();
    let mut at = 0;
    let mut index = 0;
    let mut seq = 0u64;
    while at + 5 <= stream.len() {
        let len = usize::from(u16::from_be_bytes([stream[at + 3], stream[at + 4]]));
        let (header, body) = (&stream[at..at + 5], &stream[at + 5..at + 5 + len]);
        at += 5 + len;
        index += 1;
        if index <= first || header[0] != 0x17 {
            continue;
        }
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&iv);
        for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        let Ok(mut plain) = cipher.decrypt(
            (&nonce).into(),
            Payload {
                msg: body,
                aad: header,
            },
        ) else {
            break;
        };
        seq += 1;
        while plain.last() == Some(&0) {
            plain.pop();
        }
        let typ = plain.pop().expect("inner content type");
        out.push((typ, plain));
    }
    out
}

fn logged(text: &str, label: &str, random: &str) -> Vec<u8> {
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{label} {random} ")))
        .unwrap_or_else(|| panic!("no {label} line for this connection in\n{text}"));
    let hex = line.rsplit(' ').next().expect("secret");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn logged_secrets_decrypt_the_recorded_connection() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("keys.log");
    let server = runner::demo_server_config(ClientAuth::Optional).expect("server");
    let server = LoopbackServer::start("127.0.0.1:0", Arc::new(server), None).expect("loopback");
    let (proxy, wire) = recording_proxy(server.addr());
    let mut config = runner::demo_client_config(true).expect("client");
    config.key_log = Some(Arc::new(
        harness::keylog::FileKeyLog::open(&path).expect("key log"),
    ));
    let spec = ClientSpec::new(config, b"secret message for wireshark".to_vec());
    let outcome = runner::run_client(
        proxy,
        &spec,
        harness::seed::connection_rng(None, "client", 0),
        Duration::from_secs(10),
    );
    assert!(outcome.client.is_ok(), "{:?}", outcome.client);
    assert!(
        server
            .next_outcome(Duration::from_secs(10))
            .is_some_and(|o| o.result.is_ok())
    );
    std::thread::sleep(Duration::from_millis(200));
    let (c2s, s2c) = wire.lock().expect("lock").clone();

    let text = std::fs::read_to_string(&path).expect("key log file");
    assert_eq!(text.lines().count(), 5, "{text}");
    // The client random sits at bytes 11..43 of the first record (5 + 4 + 2 header bytes).
    let random: String = c2s[11..43].iter().map(|b| format!("{b:02x}")).collect();

    // The records of `stream` from record `first` on, under the secret logged as `label`.
    let decrypt = |stream: &[u8], first: usize, label: &str| {
        decrypt_records(stream, first, &logged(&text, label, &random))
    };

    // Server handshake records (after the plaintext ServerHello and the change_cipher_spec
    // of middlebox compatibility mode, RFC 8446 Appendix D.4): EncryptedExtensions first.
    assert_eq!(s2c[5 + s2c[4] as usize..][..6], [0x14, 3, 3, 0, 1, 1]);
    // The whole encrypted flight is one record (RFC 8446 §5.1 lets a record carry several
    // handshake messages).
    let hs = decrypt(&s2c, 2, "SERVER_HANDSHAKE_TRAFFIC_SECRET");
    assert_eq!(hs.len(), 1, "server handshake records: {hs:?}");
    assert_eq!(hs[0].0, 0x16, "a handshake record");
    assert_eq!(
        message_types(&hs),
        [0x08, 0x0d, 0x0b, 0x0f, 0x14],
        "EncryptedExtensions, CertificateRequest, Certificate, CertificateVerify, Finished"
    );
    // Then the application records: the echo comes back under SERVER_TRAFFIC_SECRET_0.
    let app = decrypt(&s2c, 2 + hs.len(), "SERVER_TRAFFIC_SECRET_0");
    assert!(
        app.iter()
            .any(|(t, d)| *t == 0x17 && d == b"secret message for wireshark"),
        "{app:?}"
    );

    // The client's flight: change_cipher_spec, Certificate, CertificateVerify, Finished,
    // then its message.
    let client_hs = decrypt(&c2s, 2, "CLIENT_HANDSHAKE_TRAFFIC_SECRET");
    assert_eq!(
        client_hs.len(),
        1,
        "client handshake records: {client_hs:?}"
    );
    assert_eq!(
        message_types(&client_hs),
        [0x0b, 0x0f, 0x14],
        "Certificate, CertificateVerify, Finished"
    );
    let client_app = decrypt(&c2s, 2 + client_hs.len(), "CLIENT_TRAFFIC_SECRET_0");
    assert_eq!(
        client_app[0],
        (0x17, b"secret message for wireshark".to_vec())
    );
}
