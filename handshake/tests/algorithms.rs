//! The mandatory-to-implement algorithms of RFC 8446 §9.1 beside ChaCha20, X25519 and
//! Ed25519: every suite with every group, HelloRetryRequest when the server prefers a
//! group the client sent no share for, secp256r1 share validation (§4.2.8.2) and
//! ecdsa_secp256r1_sha256 certificates and CertificateVerify.

mod common;

use std::sync::Arc;

use common::{Dir, MemoryKeyLog, Pair, certs, plaintext_record};
use handshake::error::{HandshakeFailure, Invalid, Verification};
use handshake::key_schedule::TrafficKeys;
use handshake::msgs::HandshakeMessage;
use handshake::msgs::alert::AlertDescription as A;
use handshake::msgs::enums::{ContentType, NamedGroup, SignatureScheme};
use handshake::msgs::extensions::{Extension, KeyShareEntry};
use handshake::record::{RecordDecrypter, RecordDeframer, RecordEncrypter};
use handshake::{
    ClientAuth, ClientConfig, Error, Event, Identity, ServerConfig, SupportedGroup, SupportedSuite,
};

use SupportedGroup::{Secp256r1, X25519};
use SupportedSuite::{Aes128GcmSha256, Chacha20Poly1305Sha256};

fn server(
    h: &fixtures::Hierarchy,
    suites: &[SupportedSuite],
    groups: &[SupportedGroup],
) -> ServerConfig {
    let mut config =
        ServerConfig::new(Identity::from_pem(h.server_chain, h.server_key).expect("identity"));
    config.cipher_suites = suites.to_vec();
    config.groups = groups.to_vec();
    config
}

/// A client offering `suites` and `groups` in that order. These tests take flights apart
/// record by record, so the client runs without middlebox compatibility mode (no session
/// id, hence no change_cipher_spec records from either side; `conformance.rs` tests those).
fn client(
    h: &fixtures::Hierarchy,
    suites: &[SupportedSuite],
    groups: &[SupportedGroup],
) -> ClientConfig {
    ClientConfig {
        cipher_suites: suites.to_vec(),
        groups: groups.to_vec(),
        trust_anchors: certs(h.root),
        middlebox_compat: false,
        ..ClientConfig::default()
    }
}

/// Completes the handshake, checks what both sides report, and sends data both ways.
fn handshake_reports(p: &mut Pair, suite: SupportedSuite, group: SupportedGroup, retry: bool) {
    p.handshake();
    for summary in [p.client.summary(), p.server.summary()] {
        let s = summary.expect("connected");
        assert_eq!(s.cipher_suite, suite.suite());
        assert_eq!(s.group, Some(group.group()));
        assert_eq!(s.hello_retry, retry);
    }
    Pair::events(&mut p.client);
    Pair::events(&mut p.server);
    p.client.send(b"ping", &mut p.client_out).expect("send");
    p.transfer(Dir::C2S);
    assert!(Pair::events(&mut p.server).contains(&Event::ApplicationData(b"ping".to_vec())));
    p.server.send(b"pong", &mut p.server_out).expect("send");
    p.transfer(Dir::S2C);
    assert!(Pair::events(&mut p.client).contains(&Event::ApplicationData(b"pong".to_vec())));
}

#[test]
fn every_suite_with_every_group() {
    for suite in SupportedSuite::ALL {
        for group in SupportedGroup::ALL {
            let h = &fixtures::ED25519;
            let mut p = Pair::new(
                client(h, &[suite], &[group]),
                server(h, &SupportedSuite::ALL, &SupportedGroup::ALL),
            );
            handshake_reports(&mut p, suite, group, false);
            p.assert_transitions_listed();
        }
    }
}

#[test]
fn the_server_picks_by_its_own_preference() {
    let h = &fixtures::ED25519;
    // The client prefers ChaCha20 and x25519 (and shares x25519); the server prefers
    // AES-GCM and secp256r1, so it picks those and asks for a secp256r1 share.
    let mut p = Pair::new(
        ClientConfig {
            trust_anchors: certs(h.root),
            ..ClientConfig::default()
        },
        server(
            h,
            &[Aes128GcmSha256, Chacha20Poly1305Sha256],
            &[Secp256r1, X25519],
        ),
    );
    handshake_reports(&mut p, Aes128GcmSha256, Secp256r1, true);
}

#[test]
fn hello_retry_request_arises_in_both_directions() {
    let h = &fixtures::ED25519;
    // An x25519 share to a server configured for secp256r1 only, and the reverse.
    for (client_groups, server_group) in [
        ([X25519, Secp256r1], Secp256r1),
        ([Secp256r1, X25519], X25519),
    ] {
        let mut p = Pair::new(
            client(h, &SupportedSuite::ALL, &client_groups),
            server(h, &SupportedSuite::ALL, &[server_group]),
        );
        handshake_reports(&mut p, Chacha20Poly1305Sha256, server_group, true);
        p.assert_transitions_listed();
    }
}

#[test]
fn no_common_group_or_suite_is_handshake_failure() {
    let h = &fixtures::ED25519;
    let mut p = Pair::new(
        client(h, &SupportedSuite::ALL, &[X25519]),
        server(h, &SupportedSuite::ALL, &[Secp256r1]),
    );
    let (_, server_error) = p.drive_until_error();
    let e = server_error.expect("server fails");
    assert_eq!(
        e,
        Error::HandshakeFailure(HandshakeFailure::NoCommonGroup {
            offered: vec![NamedGroup::X25519],
            accepted: vec![NamedGroup::Secp256r1],
        })
    );
    assert_eq!(e.alert(), Some(A::HandshakeFailure));

    let mut p = Pair::new(
        client(h, &[Chacha20Poly1305Sha256], &[X25519]),
        server(h, &[Aes128GcmSha256], &[X25519]),
    );
    let (client_error, server_error) = p.drive_until_error();
    let e = server_error.expect("server fails");
    assert_eq!(e.alert(), Some(A::HandshakeFailure));
    assert_eq!(
        e.to_string(),
        "handshake failure: no common cipher suite: the client offers \
         [TLS_CHACHA20_POLY1305_SHA256], this server accepts [TLS_AES_128_GCM_SHA256]"
    );
    assert_eq!(client_error, Some(Error::PeerAlert(A::HandshakeFailure)));
}

/// A pair whose client offers secp256r1 only, with its share replaced by `share`.
fn p256_hello_with_share(share: Vec<u8>) -> Pair {
    let h = &fixtures::ED25519;
    let mut p = Pair::new(
        client(h, &SupportedSuite::ALL, &[Secp256r1]),
        server(h, &SupportedSuite::ALL, &SupportedGroup::ALL),
    );
    let bytes = std::mem::take(&mut p.client_out);
    let Ok(HandshakeMessage::ClientHello(mut ch)) = HandshakeMessage::decode(&bytes[5..]) else {
        panic!("not a ClientHello");
    };
    for ext in &mut ch.extensions.0 {
        if let Extension::KeyShareClientHello(shares) = ext {
            *shares = vec![KeyShareEntry {
                group: NamedGroup::Secp256r1,
                key_exchange: share.clone(),
            }];
        }
    }
    p.client_out = plaintext_record(&HandshakeMessage::ClientHello(ch));
    p
}

/// The uncompressed encoding of the P-256 base point G (SEC 2 §2.4.2).
fn generator() -> Vec<u8> {
    let hex = "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296\
               4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn invalid_secp256r1_shares_are_illegal_parameter() {
    let mut off_curve = generator();
    off_curve[64] ^= 1;
    let mut not_uncompressed = generator();
    not_uncompressed[0] = 0x05;
    let mut identity = vec![0u8; 65];
    identity[0] = 0x04;
    let compressed = {
        let g = generator();
        let mut c = vec![0x02 | (g[64] & 1)];
        c.extend_from_slice(&g[1..33]);
        c
    };
    let cases = [
        (off_curve, Invalid::PointNotOnCurve),
        (not_uncompressed, Invalid::PointNotUncompressed(0x05)),
        (identity, Invalid::PointAtInfinity),
        (
            vec![0x00],
            Invalid::KeyShareLength {
                group: NamedGroup::Secp256r1,
                len: 1,
                expected: 65,
            },
        ),
        (
            compressed,
            Invalid::KeyShareLength {
                group: NamedGroup::Secp256r1,
                len: 33,
                expected: 65,
            },
        ),
        (
            generator()[..64].to_vec(),
            Invalid::KeyShareLength {
                group: NamedGroup::Secp256r1,
                len: 64,
                expected: 65,
            },
        ),
    ];
    for (share, reason) in cases {
        let mut p = p256_hello_with_share(share);
        let (client_error, server_error) = p.drive_until_error();
        let e = server_error.expect("the server refuses the share");
        assert_eq!(
            e,
            Error::InvalidMessage {
                message: "ClientHello",
                reason: reason.clone()
            }
        );
        assert_eq!(e.alert(), Some(A::IllegalParameter), "{reason}");
        assert_eq!(client_error, Some(Error::PeerAlert(A::IllegalParameter)));
    }
    // The base point itself is a valid share: the handshake goes on.
    let mut p = p256_hello_with_share(generator());
    p.transfer(Dir::C2S);
    assert_eq!(p.server_error, None);
}

#[test]
fn the_client_validates_the_servers_secp256r1_share() {
    let h = &fixtures::ED25519;
    let mut p = Pair::new(
        client(h, &SupportedSuite::ALL, &[Secp256r1]),
        server(h, &SupportedSuite::ALL, &SupportedGroup::ALL),
    );
    p.transfer(Dir::C2S);
    let sh_len = usize::from(u16::from_be_bytes([p.server_out[3], p.server_out[4]]));
    let Ok(HandshakeMessage::ServerHello(sh)) =
        HandshakeMessage::decode(&p.server_out[5..5 + sh_len])
    else {
        panic!("not a ServerHello");
    };
    let share = sh
        .extensions
        .server_key_share()
        .expect("share")
        .key_exchange
        .clone();
    assert_eq!((share.len(), share[0]), (65, 0x04), "an uncompressed point");
    let at = p
        .server_out
        .windows(65)
        .position(|w| w == share)
        .expect("share on the wire");
    p.server_out[at + 64] ^= 1;
    let (client_error, _) = p.drive_until_error();
    let e = client_error.expect("the client refuses the share");
    assert_eq!(
        e,
        Error::InvalidMessage {
            message: "ServerHello",
            reason: Invalid::PointNotOnCurve
        }
    );
    assert_eq!(e.alert(), Some(A::IllegalParameter));
}

#[test]
fn the_second_client_hello_must_share_the_group_asked_for() {
    let h = &fixtures::ED25519;
    let mut p = Pair::new(
        client(h, &SupportedSuite::ALL, &SupportedGroup::ALL),
        server(h, &SupportedSuite::ALL, &[Secp256r1]),
    );
    p.transfer(Dir::C2S);
    p.transfer(Dir::S2C);
    let bytes = std::mem::take(&mut p.client_out);
    let Ok(HandshakeMessage::ClientHello(mut ch)) = HandshakeMessage::decode(&bytes[5..]) else {
        panic!("not a ClientHello");
    };
    for ext in &mut ch.extensions.0 {
        if let Extension::KeyShareClientHello(shares) = ext {
            assert_eq!(
                shares[0].group,
                NamedGroup::Secp256r1,
                "the group asked for"
            );
            *shares = vec![KeyShareEntry {
                group: NamedGroup::X25519,
                key_exchange: vec![9; 32],
            }];
        }
    }
    p.client_out = plaintext_record(&HandshakeMessage::ClientHello(ch));
    let (_, server_error) = p.drive_until_error();
    let e = server_error.expect("server fails");
    assert_eq!(
        e,
        Error::InvalidMessage {
            message: "ClientHello",
            reason: Invalid::SecondHelloKeyShare(NamedGroup::Secp256r1)
        }
    );
    assert_eq!(e.alert(), Some(A::IllegalParameter));
}

#[test]
fn a_hello_retry_request_must_ask_for_a_new_offered_group() {
    let h = &fixtures::ED25519;
    for (asked, reason) in [
        (
            NamedGroup::X25519,
            Invalid::RetryGroupAlreadyShared(NamedGroup::X25519),
        ),
        (
            NamedGroup::Secp384r1,
            Invalid::RetryGroupNotOffered(NamedGroup::Secp384r1),
        ),
    ] {
        let mut p = Pair::new(
            client(h, &SupportedSuite::ALL, &SupportedGroup::ALL),
            server(h, &SupportedSuite::ALL, &[Secp256r1]),
        );
        p.transfer(Dir::C2S);
        let bytes = std::mem::take(&mut p.server_out);
        let Ok(HandshakeMessage::HelloRetryRequest(mut hrr)) =
            HandshakeMessage::decode(&bytes[5..])
        else {
            panic!("not a HelloRetryRequest");
        };
        for ext in &mut hrr.extensions.0 {
            if let Extension::KeyShareHelloRetryRequest(group) = ext {
                *group = asked;
            }
        }
        p.server_out = plaintext_record(&HandshakeMessage::HelloRetryRequest(hrr));
        let (client_error, _) = p.drive_until_error();
        let e = client_error.expect("client fails");
        assert_eq!(
            e,
            Error::InvalidMessage {
                message: "HelloRetryRequest",
                reason
            }
        );
        assert_eq!(e.alert(), Some(A::IllegalParameter));
    }
}

fn p256_pair(suite: SupportedSuite) -> (Pair, Arc<MemoryKeyLog>) {
    let h = &fixtures::P256;
    let log = Arc::new(MemoryKeyLog::default());
    let mut server = server(h, &[suite], &SupportedGroup::ALL)
        .with_client_auth(ClientAuth::Required, certs(h.root))
        .expect("client auth");
    server.key_log = Some(log.clone());
    let client = ClientConfig {
        identity: Some(Arc::new(
            Identity::from_pem(h.client_chain, h.client_key).expect("identity"),
        )),
        ..client(h, &SupportedSuite::ALL, &SupportedGroup::ALL)
    };
    (Pair::new(client, server), log)
}

#[test]
fn ecdsa_p256_certificates_on_both_sides() {
    for suite in SupportedSuite::ALL {
        let (mut p, _) = p256_pair(suite);
        p.handshake();
        for summary in [p.client.summary(), p.server.summary()] {
            let s = summary.expect("connected");
            assert_eq!(s.cipher_suite, suite.suite());
            assert_eq!(
                s.server_signature,
                Some(SignatureScheme::EcdsaSecp256r1Sha256)
            );
            assert_eq!(
                s.client_signature,
                Some(SignatureScheme::EcdsaSecp256r1Sha256)
            );
        }
    }
}

/// Runs a P-256 pair whose server CertificateVerify body (scheme, then the signature
/// vector) `edit` changes on the way: the protected flight is taken apart with the
/// server's handshake key and sealed again. Returns (client error, server error).
fn with_edited_certificate_verify(edit: impl FnOnce(&mut [u8])) -> (Option<Error>, Option<Error>) {
    let (mut p, log) = p256_pair(Aes128GcmSha256);
    p.transfer(Dir::C2S);
    let keys = TrafficKeys::derive(
        Aes128GcmSha256,
        &log.secret("SERVER_HANDSHAKE_TRAFFIC_SECRET"),
    );
    let mut deframer = RecordDeframer::new();
    deframer.push(&std::mem::take(&mut p.server_out));
    let server_hello = deframer.pop().expect("valid").expect("ServerHello");
    let mut decrypter = RecordDecrypter::new(&keys);
    let mut flight = Vec::new();
    while let Some(record) = deframer.pop().expect("valid") {
        flight.extend(decrypter.decrypt(record).expect("decrypts").payload);
    }
    let mut at = 0;
    loop {
        let len = usize::from(flight[at + 2]) << 8 | usize::from(flight[at + 3]);
        if flight[at] == 15 {
            edit(&mut flight[at + 4..at + 4 + len]);
            break;
        }
        at += 4 + len;
    }
    let mut wire = server_hello.header().to_vec();
    wire.extend(&server_hello.payload);
    RecordEncrypter::new(&keys)
        .encrypt_all(ContentType::Handshake, &flight, &mut wire)
        .expect("encrypts");
    p.server_out = wire;
    p.drive_until_error()
}

#[test]
fn a_bad_p256_certificate_verify_signature_is_decrypt_error() {
    // The last byte of the signature lies inside the DER INTEGER s: the encoding stays
    // valid, the signature does not.
    let (client_error, server_error) = with_edited_certificate_verify(|cv| {
        let last = cv.len() - 1;
        cv[last] ^= 0x01;
    });
    let e = client_error.expect("the client refuses the signature");
    assert_eq!(e, Error::VerifyFailed(Verification::Signature));
    assert_eq!(e.alert(), Some(A::DecryptError));
    assert_eq!(server_error, Some(Error::PeerAlert(A::DecryptError)));
}

#[test]
fn a_p256_leaf_cannot_sign_with_another_scheme() {
    for (scheme, code) in [
        (SignatureScheme::Ed25519, [0x08, 0x07]),
        (SignatureScheme::RsaPssRsaeSha256, [0x08, 0x04]),
    ] {
        let (client_error, _) = with_edited_certificate_verify(|cv| cv[..2].copy_from_slice(&code));
        let e = client_error.expect("the client refuses the scheme");
        assert_eq!(
            e,
            Error::InvalidMessage {
                message: "CertificateVerify",
                reason: Invalid::SchemeDoesNotFitKey {
                    scheme,
                    key: "p256".into()
                }
            }
        );
        assert_eq!(e.alert(), Some(A::IllegalParameter));
    }
}

#[test]
fn the_server_hello_keeps_the_hello_retry_requests_suite() {
    let h = &fixtures::ED25519;
    let mut p = Pair::new(
        client(h, &SupportedSuite::ALL, &SupportedGroup::ALL),
        server(h, &[Aes128GcmSha256], &[Secp256r1]),
    );
    p.transfer(Dir::C2S);
    p.transfer(Dir::S2C);
    p.transfer(Dir::C2S);
    // §4.1.4: the ServerHello's suite (0x1301 here) must be the HelloRetryRequest's.
    let at = p
        .server_out
        .windows(3)
        .position(|w| w == [0x13, 0x01, 0x00])
        .expect("suite");
    p.server_out[at + 1] = 0x03;
    let (client_error, _) = p.drive_until_error();
    let e = client_error.expect("client fails");
    assert_eq!(
        e,
        Error::InvalidMessage {
            message: "ServerHello",
            reason: Invalid::SuiteDiffersFromRetry {
                retry: Aes128GcmSha256.suite(),
                server_hello: Chacha20Poly1305Sha256.suite(),
            }
        }
    );
    assert_eq!(e.alert(), Some(A::IllegalParameter));
}

#[test]
fn the_trace_names_the_negotiated_suite_and_group() {
    use std::sync::Mutex;

    let h = &fixtures::ED25519;
    let mut p = Pair::new(
        client(h, &SupportedSuite::ALL, &SupportedGroup::ALL),
        server(h, &[Aes128GcmSha256], &[Secp256r1]),
    );
    /// (client side, suite, group) as each side traced them.
    type Seen = Vec<(bool, SupportedSuite, Option<SupportedGroup>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    for (is_client, conn) in [(true, &mut p.client), (false, &mut p.server)] {
        let sink = seen.clone();
        conn.set_observer(Box::new(move |e| {
            if let handshake::TraceEvent::Negotiated { suite, group } = e {
                sink.lock().expect("lock").push((is_client, *suite, *group));
            }
        }));
    }
    p.handshake();
    let mut seen = seen.lock().expect("lock").clone();
    seen.sort_by_key(|(is_client, ..)| *is_client);
    assert_eq!(
        seen,
        [
            (false, Aes128GcmSha256, Some(Secp256r1)),
            (true, Aes128GcmSha256, Some(Secp256r1))
        ]
    );
}

#[test]
fn a_client_with_nothing_to_offer_is_refused_before_it_starts() {
    let h = &fixtures::ED25519;
    for config in [
        client(h, &[], &SupportedGroup::ALL),
        client(h, &SupportedSuite::ALL, &[]),
    ] {
        let result = handshake::Connection::client(
            Arc::new(config),
            "localhost",
            <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1),
        );
        assert_eq!(
            result.err(),
            Some(Error::Usage(
                "the client configuration lists no cipher suite or no group to offer"
            ))
        );
    }
}
