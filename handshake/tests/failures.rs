//! Every failure ends with a precise error on the side that noticed it, the alert RFC 8446
//! prescribes, and that alert as the peer's error.

mod common;

use std::sync::Arc;

use common::{
    Dir, Pair, certs, client_config, client_second_flight, edited_hello, plaintext_record,
    server_config,
};
use handshake::error::CertificateError;
use handshake::msgs::HandshakeMessage;
use handshake::msgs::alert::AlertDescription as A;
use handshake::msgs::client_hello::ClientHello;
use handshake::msgs::enums::{CipherSuite, ContentType, ExtensionType, NamedGroup};
use handshake::msgs::extensions::{Extension, KeyShareEntry};
use handshake::msgs::finished::Finished;
use handshake::states::StateName;
use handshake::{ClientAuth, ClientConfig, Error, Event, Identity};
use pki::ValidationError;

/// Drives `p` and checks the side that noticed (`noticer`) sent `alert`, which the other
/// side received. Returns the noticer's error.
fn expect_alert(p: &mut Pair, noticer: Dir, alert: A) -> Error {
    let (client, server) = p.drive_until_error();
    let (noticed, other) = match noticer {
        Dir::S2C => (server, client),
        Dir::C2S => (client, server),
    };
    let noticed = noticed.expect("the noticing side must fail");
    assert_eq!(noticed.alert(), Some(alert), "{noticed}");
    if alert != A::CertificateRequired {
        assert_eq!(
            other,
            Some(Error::PeerAlert(alert)),
            "the peer must see the alert"
        );
    }
    assert!(
        p.client.summary().is_none() || p.server.summary().is_none(),
        "both completed"
    );
    noticed
}

fn identity(chain: &str, key: &str) -> Option<Arc<Identity>> {
    Some(Arc::new(Identity::from_pem(chain, key).expect("identity")))
}

#[test]
fn unknown_ca() {
    let mut cfg = client_config(false, false);
    cfg.trust_anchors = certs(fixtures::RSA.root);
    let mut p = Pair::new(cfg, server_config(false, ClientAuth::Off));
    let e = expect_alert(&mut p, Dir::C2S, A::UnknownCa);
    assert_eq!(
        e.to_string(),
        "certificate rejected: unknown issuer: CN=keylab ed25519 Root CA"
    );
}

#[test]
fn name_mismatch() {
    let mut p = Pair::with_seed(
        client_config(false, false),
        server_config(false, ClientAuth::Off),
        "example.com",
        1,
    );
    let e = expect_alert(&mut p, Dir::C2S, A::BadCertificate);
    assert_eq!(
        e.to_string(),
        "certificate rejected: name mismatch: expected example.com, certificate is valid for [localhost, 127.0.0.1, ::1]"
    );
}

#[test]
fn expired_server_certificate() {
    let server = handshake::ServerConfig::new(
        Identity::from_pem(fixtures::bad::EXPIRED, fixtures::bad::LEAF_KEY).expect("identity"),
    );
    let mut p = Pair::new(client_config(false, false), server);
    let e = expect_alert(&mut p, Dir::C2S, A::CertificateExpired);
    assert!(
        matches!(
            e,
            Error::Certificate(CertificateError::Invalid(ValidationError::Expired { .. }))
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("notAfter 2021-01-01T00:00:00Z, checked at 2026-11-28T12:00:00Z"),
        "{e}"
    );
}

#[test]
fn client_certificate_from_a_wrong_ca_is_refused_under_both_policies() {
    for policy in [ClientAuth::Optional, ClientAuth::Required] {
        let cfg = ClientConfig {
            identity: identity(
                fixtures::bad::CLIENT_UNKNOWN_ISSUER,
                fixtures::bad::LEAF_KEY,
            ),
            ..client_config(false, false)
        };
        let mut p = Pair::new(cfg, server_config(false, policy));
        let e = expect_alert(&mut p, Dir::S2C, A::UnknownCa);
        assert_eq!(
            e.to_string(),
            "certificate rejected: unknown issuer: CN=Other Root",
            "{policy}"
        );
    }
}

#[test]
fn client_certificate_with_the_wrong_purpose_or_expired() {
    let h = fixtures::ED25519;
    let cases = [
        (
            h.server_chain,
            h.server_key,
            A::UnsupportedCertificate,
            "wrong extended key usage",
        ),
        (
            fixtures::bad::EXPIRED,
            fixtures::bad::LEAF_KEY,
            A::CertificateExpired,
            "certificate expired",
        ),
    ];
    for (chain, key, alert, text) in cases {
        let cfg = ClientConfig {
            identity: identity(chain, key),
            ..client_config(false, false)
        };
        let mut p = Pair::new(cfg, server_config(false, ClientAuth::Optional));
        let e = expect_alert(&mut p, Dir::S2C, alert);
        assert!(e.to_string().contains(text), "{e}");
    }
}

/// Splits a byte stream into its records.
fn records(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 5 <= bytes.len() {
        let len = usize::from(u16::from_be_bytes([bytes[at + 3], bytes[at + 4]]));
        out.push(at..at + 5 + len);
        at += 5 + len;
    }
    out
}

/// Flipping a byte in any handshake message of either flight makes the handshake fail on
/// both sides, except in legacy_record_version of an unprotected record (RFC 8446 §5.1:
/// ignored; the change_cipher_spec records of middlebox compatibility mode too), which
/// still succeeds.
#[test]
fn flipped_bytes_in_every_handshake_record() {
    for rsa in [false, true] {
        for dir in [Dir::C2S, Dir::S2C] {
            let mut probe = Pair::new(
                client_config(rsa, true),
                server_config(rsa, ClientAuth::Required),
            );
            probe.handshake();
            let log = if dir == Dir::C2S {
                probe.c2s_log.clone()
            } else {
                probe.s2c_log.clone()
            };
            for (i, record) in records(&log).into_iter().enumerate() {
                let plaintext = [0x16, 0x14].contains(&log[record.start]);
                for (offset, must_fail) in [
                    (record.start + 2, !plaintext),
                    (record.start + 5 + (record.len() - 5) / 2, true),
                ] {
                    let mut p = Pair::new(
                        client_config(rsa, true),
                        server_config(rsa, ClientAuth::Required),
                    );
                    let mut sent = 0usize;
                    let flipped = std::cell::Cell::new(false);
                    for _ in 0..10 {
                        for d in [Dir::C2S, Dir::S2C] {
                            let (start, len) = (
                                sent,
                                if d == Dir::C2S {
                                    p.client_out.len()
                                } else {
                                    p.server_out.len()
                                },
                            );
                            if d == dir {
                                p.transfer_altered(d, |b| {
                                    if (start..start + len).contains(&offset) {
                                        b[offset - start] ^= 0x01;
                                        flipped.set(true);
                                    }
                                });
                                sent += len;
                            } else {
                                p.transfer(d);
                            }
                        }
                    }
                    assert!(flipped.get(), "offset {offset} was never sent");
                    let done = p.client_error.is_none()
                        && p.server_error.is_none()
                        && !p.server.is_handshaking();
                    let what = format!("rsa={rsa} {dir:?} record {i} offset {offset}");
                    if must_fail {
                        assert!(!done, "{what}: handshake survived a flipped byte");
                        assert!(
                            p.client_error.is_some() && p.server_error.is_some(),
                            "{what}: both sides must end with an error"
                        );
                        let noticed = [&p.client_error, &p.server_error]
                            .into_iter()
                            .flatten()
                            .find_map(Error::alert)
                            .expect("one side sent an alert");
                        let allowed = [
                            A::BadRecordMac,
                            A::DecryptError,
                            A::IllegalParameter,
                            A::DecodeError,
                            A::UnexpectedMessage,
                            A::BadCertificate,
                            A::HandshakeFailure,
                            A::ProtocolVersion,
                            A::UnsupportedExtension,
                            A::RecordOverflow,
                            A::MissingExtension,
                        ];
                        assert!(
                            allowed.contains(&noticed),
                            "{what}: unexpected alert {noticed}"
                        );
                    } else {
                        assert!(
                            done,
                            "{what}: legacy_record_version must be ignored ({:?} {:?})",
                            p.client_error, p.server_error
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn messages_out_of_order() {
    let mut p = Pair::basic();
    p.client_out = plaintext_record(&HandshakeMessage::Finished(Finished {
        verify_data: vec![0; 32],
    }));
    let e = expect_alert(&mut p, Dir::S2C, A::UnexpectedMessage);
    assert_eq!(
        e.to_string(),
        "unexpected message: expected ClientHello, got Finished"
    );

    let mut p = Pair::basic();
    p.transfer(Dir::C2S);
    p.server_out = plaintext_record(&HandshakeMessage::EncryptedExtensions(Default::default()));
    let e = expect_alert(&mut p, Dir::C2S, A::UnexpectedMessage);
    assert_eq!(
        e.to_string(),
        "unexpected message: expected ServerHello or HelloRetryRequest, got EncryptedExtensions"
    );
}

#[test]
fn truncated_and_oversized_records() {
    let mut p = Pair::basic();
    let hello = std::mem::take(&mut p.client_out);
    let mut out = Vec::new();
    p.server
        .process(&hello[..3], common::NOW, &mut out)
        .expect("partial records wait for more");
    assert!(out.is_empty() && p.server.is_handshaking());
    assert_eq!(p.server.peer_eof(), Err(Error::Truncated));

    let mut p = Pair::basic();
    p.client_out = vec![0x16, 0x03, 0x03, 0x40, 0x01];
    p.client_out.resize(5 + 0x4001, 0);
    expect_alert(&mut p, Dir::S2C, A::RecordOverflow);
}

#[test]
fn inner_plaintext_of_all_zeros() {
    // The client's second flight replaced by one protected record whose TLSInnerPlaintext
    // is all zeros (RFC 8446 §5.4: unexpected_message).
    let mut p = client_second_flight(ContentType::from_u8(0), &[0, 0, 0]);
    p.client_error = None;
    let e = expect_alert(&mut p, Dir::S2C, A::UnexpectedMessage);
    assert!(e.to_string().contains("content type"), "{e}");
}

fn set_share(ch: &mut ClientHello, key_exchange: Vec<u8>) {
    for ext in &mut ch.extensions.0 {
        if let Extension::KeyShareClientHello(shares) = ext {
            *shares = vec![KeyShareEntry {
                group: NamedGroup::X25519,
                key_exchange: key_exchange.clone(),
            }];
        }
    }
}

#[test]
fn hostile_client_hellos() {
    let mut p = edited_hello(|ch| set_share(ch, vec![0; 32]));
    let e = expect_alert(&mut p, Dir::S2C, A::IllegalParameter);
    assert_eq!(
        e.to_string(),
        "invalid ClientHello: x25519 shared secret is all zeros (low-order public key)"
    );

    let mut p = edited_hello(|ch| set_share(ch, vec![9; 31]));
    let e = expect_alert(&mut p, Dir::S2C, A::IllegalParameter);
    assert!(
        e.to_string().contains("x25519 key_share of 31 bytes"),
        "{e}"
    );

    let mut p = edited_hello(|ch| ch.cipher_suites = vec![CipherSuite::TlsAes256GcmSha384]);
    let e = expect_alert(&mut p, Dir::S2C, A::HandshakeFailure);
    assert_eq!(
        e.to_string(),
        "handshake failure: no common cipher suite: the client offers [TLS_AES_256_GCM_SHA384], this server accepts [TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256]"
    );

    let mut p = edited_hello(|ch| {
        ch.extensions
            .0
            .retain(|e| e.ext_type() != ExtensionType::SupportedVersions)
    });
    let e = expect_alert(&mut p, Dir::S2C, A::ProtocolVersion);
    assert!(e.to_string().contains("keylab speaks only TLS 1.3"), "{e}");

    let mut p = edited_hello(|ch| {
        ch.extensions
            .0
            .retain(|e| e.ext_type() != ExtensionType::SignatureAlgorithms)
    });
    expect_alert(&mut p, Dir::S2C, A::MissingExtension);

    let mut p = edited_hello(|ch| {
        for ext in &mut ch.extensions.0 {
            if let Extension::SupportedGroups(g) = ext {
                *g = vec![NamedGroup::Secp384r1];
            }
            if let Extension::KeyShareClientHello(s) = ext {
                s.clear();
            }
        }
    });
    let e = expect_alert(&mut p, Dir::S2C, A::HandshakeFailure);
    assert_eq!(
        e.to_string(),
        "handshake failure: no common group: the client supports [secp384r1], this server accepts [x25519, secp256r1]"
    );

    let mut p = edited_hello(|ch| ch.legacy_compression_methods = vec![1, 0]);
    expect_alert(&mut p, Dir::S2C, A::IllegalParameter);
}

const CCS: [u8; 6] = [0x14, 0x03, 0x03, 0x00, 0x01, 0x01];

/// A pair after ClientHello and the server's flight, with the client's second flight
/// (which starts with its change_cipher_spec in compatibility mode) ready.
fn before_second_flight(compat: bool) -> Pair {
    let client = ClientConfig {
        middlebox_compat: compat,
        ..client_config(false, false)
    };
    let mut p = Pair::new(client, server_config(false, ClientAuth::Off));
    p.transfer(Dir::C2S);
    p.transfer(Dir::S2C);
    p
}

/// RFC 8446 §5: one change_cipher_spec may arrive between the first ClientHello and the
/// peer's Finished and is dropped; a second, or one anywhere else, is unexpected_message.
#[test]
fn one_change_cipher_spec_is_tolerated_two_are_not() {
    // Without compatibility mode the client sends none; one injected is dropped.
    let mut p = before_second_flight(false);
    assert_ne!(p.client_out[..6], CCS);
    p.client_out = [&CCS[..], &p.client_out].concat();
    p.handshake();

    // In compatibility mode the client's own comes first; one more is refused.
    let mut p = before_second_flight(true);
    assert_eq!(p.client_out[..6], CCS);
    p.client_out = [&CCS[..], &p.client_out].concat();
    let e = expect_alert(&mut p, Dir::S2C, A::UnexpectedMessage);
    assert_eq!(
        e.to_string(),
        "unexpected message: expected a handshake message, got change_cipher_spec"
    );

    // Before the first ClientHello.
    let mut p = Pair::basic();
    p.client_out = [&CCS[..], &p.client_out].concat();
    expect_alert(&mut p, Dir::S2C, A::UnexpectedMessage);

    // After the handshake (the peer's Finished has been received).
    let mut p = before_second_flight(false);
    p.handshake();
    let e = p
        .server
        .process(&CCS, common::NOW, &mut Vec::new())
        .expect_err("refused");
    assert_eq!(e.alert(), Some(A::UnexpectedMessage), "{e}");
}

/// RFC 8446 Appendix D.4 after a HelloRetryRequest: the server's change_cipher_spec comes
/// right after the HelloRetryRequest and not again after the ServerHello; the client's
/// comes before its second ClientHello and not again before its Finished.
#[test]
fn change_cipher_spec_after_hello_retry_request_once_each_way() {
    let client = ClientConfig {
        empty_key_share_for_testing_only: true,
        ..client_config(false, false)
    };
    let mut p = Pair::new(client, server_config(false, ClientAuth::Off));
    p.handshake();
    let count = |log: &[u8]| {
        records(log)
            .into_iter()
            .filter(|r| log[r.start] == 0x14)
            .map(|r| log[r].to_vec())
            .collect::<Vec<_>>()
    };
    assert_eq!(count(&p.s2c_log), [CCS.to_vec()]);
    assert_eq!(count(&p.c2s_log), [CCS.to_vec()]);
    let hrr_len = 5 + usize::from(u16::from_be_bytes([p.s2c_log[3], p.s2c_log[4]]));
    assert_eq!(p.s2c_log[hrr_len..hrr_len + 6], CCS, "right after the HRR");
    let ch1_len = 5 + usize::from(u16::from_be_bytes([p.c2s_log[3], p.c2s_log[4]]));
    assert_eq!(
        p.c2s_log[ch1_len..ch1_len + 6],
        CCS,
        "before the second ClientHello"
    );
}

/// Without a session id from the client the server sends no change_cipher_spec, and the
/// client with compatibility mode off sends an empty id and none either.
#[test]
fn compatibility_mode_off_sends_no_change_cipher_spec() {
    let mut p = before_second_flight(false);
    p.handshake();
    for log in [&p.c2s_log, &p.s2c_log] {
        assert!(records(log).into_iter().all(|r| log[r.start] != 0x14));
    }
    // ClientHello: type, length, version, random, then the session id's length.
    assert_eq!(p.c2s_log[5 + 4 + 2 + 32], 0);
    let p = before_second_flight(true);
    assert_eq!(p.c2s_log[5 + 4 + 2 + 32], 32);
}

#[test]
fn a_failed_connection_stays_failed() {
    let mut p = Pair::basic();
    p.client_out = b"GET / HTTP/1.1\r\n\r\n".to_vec();
    let (_, server) = p.drive_until_error();
    assert!(server.is_some());
    let again = p
        .server
        .process(b"more", common::NOW, &mut Vec::new())
        .expect_err("closed");
    assert!(matches!(again, Error::Closed(_)), "{again}");
    assert_eq!(p.server.state(), StateName::Closed);
    assert!(
        Pair::events(&mut p.server)
            .iter()
            .all(|e| *e != Event::HandshakeComplete)
    );
}
