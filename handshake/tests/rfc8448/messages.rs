//! Every handshake message of the RFC 8448 traces decodes and re-encodes byte for byte, and
//! its fields hold what the trace says.

use handshake::error::DecodeReason;
use handshake::msgs::enums::{
    CipherSuite, ExtensionType, HandshakeType, NamedGroup, ProtocolVersion, PskKeyExchangeMode,
    SignatureScheme,
};
use handshake::msgs::{Extension, HandshakeMessage, binder_prefix};

use super::vectors::Vectors;

/// Decodes `label`, checks its name and that encoding gives back the same bytes.
fn round_trip(v: &Vectors, label: &str, name: &str) -> HandshakeMessage {
    let bytes = v.get(label);
    let msg =
        HandshakeMessage::decode(bytes).unwrap_or_else(|e| panic!("{label} does not decode: {e}"));
    assert_eq!(msg.name(), name, "{label}");
    assert_eq!(
        msg.to_bytes().expect("re-encodes"),
        bytes,
        "{label} does not re-encode byte for byte"
    );
    msg
}

#[test]
fn simple_1rtt_messages_round_trip() {
    let v = Vectors::load("rfc8448_simple_1rtt.txt");
    let HandshakeMessage::ClientHello(ch) = round_trip(&v, "client_hello", "ClientHello") else {
        unreachable!()
    };
    assert_eq!(
        ch.cipher_suites,
        [
            CipherSuite::TlsAes128GcmSha256,
            CipherSuite::TlsChacha20Poly1305Sha256,
            CipherSuite::TlsAes256GcmSha384
        ]
    );
    let names = ch.extensions.server_names().expect("server_name");
    assert_eq!(names[0].as_host_name(), Some("server"));
    let shares = ch.extensions.client_key_shares().expect("key_share");
    assert_eq!(shares[0].group, NamedGroup::X25519);
    assert_eq!(shares[0].key_exchange, v.get("client_pub"));
    assert_eq!(
        ch.extensions.client_versions(),
        Some(&[ProtocolVersion::Tls13][..])
    );
    assert_eq!(
        ch.extensions.psk_key_exchange_modes(),
        Some(&[PskKeyExchangeMode::PskDheKe][..])
    );
    assert!(
        ch.extensions
            .signature_algorithms()
            .expect("signature_algorithms")
            .contains(&SignatureScheme::RsaPssRsaeSha256)
    );
    // record_size_limit, session_ticket and renegotiation_info are kept as they came.
    assert!(ch.extensions.contains(ExtensionType::RecordSizeLimit));
    assert!(ch.extensions.contains(ExtensionType::RenegotiationInfo));

    let HandshakeMessage::ServerHello(sh) = round_trip(&v, "server_hello", "ServerHello") else {
        unreachable!()
    };
    assert!(!sh.is_hello_retry_request());
    assert_eq!(sh.cipher_suite, CipherSuite::TlsAes128GcmSha256);
    assert_eq!(
        sh.extensions.selected_version(),
        Some(ProtocolVersion::Tls13)
    );
    let share = sh.extensions.server_key_share().expect("key_share");
    assert_eq!(share.key_exchange, v.get("server_pub"));

    let HandshakeMessage::EncryptedExtensions(ee) =
        round_trip(&v, "encrypted_extensions", "EncryptedExtensions")
    else {
        unreachable!()
    };
    assert!(ee.extensions.get(ExtensionType::ServerName) == Some(&Extension::ServerNameAck));

    let HandshakeMessage::Certificate(cert) = round_trip(&v, "certificate", "Certificate") else {
        unreachable!()
    };
    assert!(cert.certificate_request_context.is_empty());
    assert_eq!(cert.entries.len(), 1);
    assert_eq!(cert.end_entity().map(<[u8]>::len), Some(432));

    let HandshakeMessage::CertificateVerify(cv) =
        round_trip(&v, "certificate_verify", "CertificateVerify")
    else {
        unreachable!()
    };
    assert_eq!(cv.algorithm, SignatureScheme::RsaPssRsaeSha256);
    assert_eq!(cv.signature.len(), 128);

    let HandshakeMessage::Finished(fin) = round_trip(&v, "server_finished", "Finished") else {
        unreachable!()
    };
    assert_eq!(fin.verify_data, v.get("server_verify_data"));

    let v = Vectors::load("rfc8448_simple_1rtt_client_finished.txt");
    let HandshakeMessage::Finished(fin) = round_trip(&v, "client_finished", "Finished") else {
        unreachable!()
    };
    assert_eq!(fin.verify_data, v.get("client_verify_data"));
}

#[test]
fn client_auth_messages_round_trip() {
    let v = Vectors::load("rfc8448_client_auth.txt");
    round_trip(&v, "client_hello", "ClientHello");
    round_trip(&v, "server_hello", "ServerHello");
    round_trip(&v, "encrypted_extensions", "EncryptedExtensions");
    let HandshakeMessage::CertificateRequest(cr) =
        round_trip(&v, "certificate_request", "CertificateRequest")
    else {
        unreachable!()
    };
    assert!(cr.certificate_request_context.is_empty());
    let schemes = cr.extensions.signature_algorithms().expect("required");
    assert_eq!(schemes.len(), 15);
    assert!(schemes.contains(&SignatureScheme::RsaPssRsaeSha256));
    assert_eq!(cr.extensions.signature_algorithms_cert(), None);

    let HandshakeMessage::Certificate(server_cert) =
        round_trip(&v, "server_certificate", "Certificate")
    else {
        unreachable!()
    };
    assert_eq!(server_cert.entries.len(), 1);
    let HandshakeMessage::CertificateVerify(server_cv) =
        round_trip(&v, "server_certificate_verify", "CertificateVerify")
    else {
        unreachable!()
    };
    assert_eq!(server_cv.algorithm, SignatureScheme::EcdsaSecp256r1Sha256);
    round_trip(&v, "server_finished", "Finished");

    let HandshakeMessage::Certificate(client_cert) =
        round_trip(&v, "client_certificate", "Certificate")
    else {
        unreachable!()
    };
    assert_eq!(client_cert.entries.len(), 1);
    assert!(client_cert.entries[0].extensions.0.is_empty());
    let HandshakeMessage::CertificateVerify(client_cv) =
        round_trip(&v, "client_certificate_verify", "CertificateVerify")
    else {
        unreachable!()
    };
    assert_eq!(client_cv.algorithm, SignatureScheme::RsaPssRsaeSha256);
    let HandshakeMessage::Finished(fin) = round_trip(&v, "client_finished", "Finished") else {
        unreachable!()
    };
    assert_eq!(fin.verify_data, v.get("client_verify_data"));
}

#[test]
fn hello_retry_request_messages_round_trip() {
    let v = Vectors::load("rfc8448_hello_retry_request.txt");
    let HandshakeMessage::ClientHello(ch1) = round_trip(&v, "client_hello1", "ClientHello") else {
        unreachable!()
    };
    let HandshakeMessage::HelloRetryRequest(hrr) =
        round_trip(&v, "hello_retry_request", "HelloRetryRequest")
    else {
        unreachable!()
    };
    assert!(hrr.is_hello_retry_request());
    assert_eq!(
        hrr.extensions.hello_retry_group(),
        Some(NamedGroup::Secp256r1)
    );
    assert_eq!(
        hrr.extensions.selected_version(),
        Some(ProtocolVersion::Tls13)
    );
    let cookie = hrr.extensions.cookie().expect("cookie");
    assert_eq!(cookie.len(), 0x72);

    let HandshakeMessage::ClientHello(ch2) = round_trip(&v, "client_hello2", "ClientHello") else {
        unreachable!()
    };
    assert_eq!(
        ch2.random, ch1.random,
        "§4.1.2: the second ClientHello keeps its random"
    );
    assert_eq!(
        ch2.extensions.cookie(),
        Some(cookie),
        "§4.2.2: the cookie is echoed"
    );
    let shares = ch2.extensions.client_key_shares().expect("key_share");
    assert_eq!(shares.len(), 1);
    assert_eq!(shares[0].group, NamedGroup::Secp256r1);
    assert_eq!(shares[0].key_exchange, v.get("client_p256_pub"));
    assert!(ch2.extensions.contains(ExtensionType::Padding));

    let HandshakeMessage::ServerHello(sh) = round_trip(&v, "server_hello", "ServerHello") else {
        unreachable!()
    };
    assert_eq!(
        sh.extensions.server_key_share().map(|s| s.group),
        Some(NamedGroup::Secp256r1)
    );
    round_trip(&v, "encrypted_extensions", "EncryptedExtensions");
    round_trip(&v, "certificate", "Certificate");
    round_trip(&v, "certificate_verify", "CertificateVerify");
    round_trip(&v, "server_finished", "Finished");
    round_trip(&v, "client_finished", "Finished");

    let HandshakeMessage::MessageHash(mh) = round_trip(&v, "x_message_hash", "message_hash") else {
        unreachable!()
    };
    assert_eq!(mh.hash, v.get("x_hash_ch1"));
}

#[test]
fn resumption_messages_round_trip() {
    let v = Vectors::load("rfc8448_resumed_0rtt_psk.txt");
    let HandshakeMessage::NewSessionTicket(nst) =
        round_trip(&v, "s3_new_session_ticket", "NewSessionTicket")
    else {
        unreachable!()
    };
    assert_eq!(nst.ticket_lifetime.to_be_bytes(), v.get("ticket_lifetime"));
    assert_eq!(nst.ticket_age_add.to_be_bytes(), v.get("ticket_age_add"));
    assert_eq!(nst.ticket_nonce, v.get("ticket_nonce"));
    assert_eq!(nst.ticket, v.get("ticket"));
    assert_eq!(nst.extensions.max_early_data_size(), Some(1024));
    assert_eq!(
        nst.extensions.0[0].to_bytes().expect("encodes"),
        v.get("ticket_extensions")
    );

    let raw = v.get("client_hello");
    let HandshakeMessage::ClientHello(ch) = round_trip(&v, "client_hello", "ClientHello") else {
        unreachable!()
    };
    assert!(ch.extensions.contains(ExtensionType::EarlyData));
    let offer = ch.extensions.offered_psks().expect("pre_shared_key");
    assert_eq!(offer.identities.len(), 1);
    assert_eq!(offer.identities[0].identity, v.get("ticket"));
    assert_eq!(
        offer.identities[0].obfuscated_ticket_age.to_be_bytes(),
        v.get("obfuscated_ticket_age")
    );
    assert_eq!(offer.binders, [v.get("binder").to_vec()]);
    let last = ch.extensions.0.last().expect("extensions");
    assert_eq!(
        last.to_bytes().expect("encodes"),
        v.get("pre_shared_key_extension")
    );
    assert_eq!(
        binder_prefix(raw, offer),
        Some(v.get("client_hello_prefix")),
        "§4.2.11.2: the partial ClientHello is the message minus its binders list"
    );
}

#[test]
fn pre_shared_key_must_be_last_in_client_hello() {
    let v = Vectors::load("rfc8448_resumed_0rtt_psk.txt");
    let HandshakeMessage::ClientHello(mut ch) = round_trip(&v, "client_hello", "ClientHello")
    else {
        unreachable!()
    };
    ch.extensions.0.rotate_right(1);
    let moved = HandshakeMessage::ClientHello(ch)
        .to_bytes()
        .expect("encodes");
    let err = HandshakeMessage::decode(&moved).expect_err("pre_shared_key first");
    assert_eq!(err.reason, DecodeReason::PreSharedKeyNotLast);
}

#[test]
fn duplicate_extension_in_a_real_client_hello_is_refused() {
    let v = Vectors::load("rfc8448_simple_1rtt.txt");
    let HandshakeMessage::ClientHello(mut ch) = round_trip(&v, "client_hello", "ClientHello")
    else {
        unreachable!()
    };
    let groups = ch
        .extensions
        .get(ExtensionType::SupportedGroups)
        .expect("supported_groups")
        .clone();
    ch.extensions.0.push(groups);
    let doubled = HandshakeMessage::ClientHello(ch)
        .to_bytes()
        .expect("encodes");
    let err = HandshakeMessage::decode(&doubled).expect_err("duplicate");
    assert_eq!(
        err.reason,
        DecodeReason::DuplicateExtension(ExtensionType::SupportedGroups)
    );
}

#[test]
fn truncated_or_extended_rfc_messages_are_refused() {
    let v = Vectors::load("rfc8448_client_auth.txt");
    for label in [
        "client_hello",
        "server_hello",
        "encrypted_extensions",
        "certificate_request",
        "client_certificate",
        "client_certificate_verify",
    ] {
        let bytes = v.get(label);
        for cut in [1, 2, bytes.len() / 2] {
            let err =
                HandshakeMessage::decode(&bytes[..bytes.len() - cut]).expect_err("a cut message");
            assert!(
                matches!(err.reason, DecodeReason::Truncated { .. }),
                "{label} cut by {cut}: {err}"
            );
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        let err = HandshakeMessage::decode(&longer).expect_err("a longer message");
        assert_eq!(
            err.reason,
            DecodeReason::TrailingBytes { count: 1 },
            "{label} + 1 byte"
        );
    }
}

#[test]
fn handshake_types_of_the_trace() {
    let v = Vectors::load("rfc8448_hello_retry_request.txt");
    let hrr = HandshakeMessage::decode(v.get("hello_retry_request")).expect("decodes");
    assert_eq!(hrr.handshake_type(), HandshakeType::ServerHello);
    let mh = HandshakeMessage::decode(v.get("x_message_hash")).expect("decodes");
    assert_eq!(mh.handshake_type(), HandshakeType::MessageHash);
}
