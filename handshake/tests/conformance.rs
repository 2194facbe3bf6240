//! Conformance regressions: each test pins one rule of RFC 8446 that an independent suite
//! found broken, with the exact alert it calls for.

mod common;

use common::{
    Dir, Pair, client_config, client_second_flight, edited_hello, plaintext_records, server_config,
};
use handshake::msgs::HandshakeMessage;
use handshake::msgs::alert::AlertDescription as A;
use handshake::msgs::enums::{ContentType, ProtocolVersion, SignatureScheme};
use handshake::msgs::extensions::Extension;
use handshake::psk::ExternalPsk;
use handshake::record::DEFAULT_MAX_HANDSHAKE_LEN;
use handshake::{ClientAuth, ClientConfig, Error};

/// The server's error and the client's, after one exchange.
fn server_refuses(p: &mut Pair) -> Error {
    let (client, server) = p.drive_until_error();
    let server = server.expect("the server must refuse");
    if let Some(alert) = server.alert() {
        assert_eq!(client, Some(Error::PeerAlert(alert)), "{server}");
    }
    server
}

// RFC 8446 Appendix D.5: "Any endpoint receiving a Hello message with
// ClientHello.legacy_version or ServerHello.legacy_version set to 0x0300 MUST abort the
// handshake with a "protocol_version" alert."
#[test]
fn a_client_hello_of_ssl_3_or_older_gets_protocol_version() {
    for version in [0x0300, 0x0200, 0x0002, 0x0000] {
        let mut p = edited_hello(|ch| ch.legacy_version = ProtocolVersion::from_u16(version));
        let e = server_refuses(&mut p);
        assert_eq!(e.alert(), Some(A::ProtocolVersion), "{version:#06x}: {e}");
        assert!(e.to_string().contains("0x0300 or lower"), "{e}");
    }
    // §4.2.1, Appendix D.1: with supported_versions, a TLS 1.0–1.2 legacy_version is
    // ignored.
    for version in [0x0301, 0x0302] {
        let mut p = edited_hello(|ch| ch.legacy_version = ProtocolVersion::from_u16(version));
        p.transfer(Dir::C2S);
        assert_eq!(p.server_error, None, "{version:#06x}");
        assert_eq!(p.server_out[5], 2, "{version:#06x}: a ServerHello");
    }
}

#[test]
fn a_server_hello_of_ssl_3_gets_protocol_version() {
    let mut p = Pair::basic();
    p.transfer(Dir::C2S);
    let flight = std::mem::take(&mut p.server_out);
    let len = usize::from(u16::from_be_bytes([flight[3], flight[4]]));
    let Ok(HandshakeMessage::ServerHello(mut sh)) = HandshakeMessage::decode(&flight[5..5 + len])
    else {
        panic!("not a ServerHello");
    };
    sh.legacy_version = ProtocolVersion::from_u16(0x0300);
    let msg = HandshakeMessage::ServerHello(sh)
        .to_bytes()
        .expect("encode");
    let e = p
        .client
        .process(
            &plaintext_records(ContentType::Handshake, &msg),
            common::NOW,
            &mut Vec::new(),
        )
        .expect_err("refused");
    assert_eq!(e.alert(), Some(A::ProtocolVersion), "{e}");
}

/// The client's second flight (no client certificate: one Finished) replaced by a
/// Finished of `verify_data`, protected under the client's handshake key.
fn client_finished(verify_data: &[u8]) -> Error {
    let len = u8::try_from(verify_data.len()).expect("short");
    let msg = [&[20, 0, 0, len][..], verify_data].concat();
    let mut p = client_second_flight(ContentType::Handshake, &msg);
    server_refuses(&mut p)
}

// RFC 8446 §4.4.4: verify_data is Hash.length bytes; a Finished of another length does not
// fit its structure (decode_error, §6.2); only the right length with a wrong value is
// decrypt_error.
#[test]
fn a_finished_of_the_wrong_length_is_decode_error() {
    for len in [0, 1, 31, 33, 48] {
        let e = client_finished(&vec![7; len]);
        assert_eq!(e.alert(), Some(A::DecodeError), "{len} bytes: {e}");
        assert!(e.to_string().contains("Finished.verify_data"), "{e}");
    }
    let e = client_finished(&[7; 32]);
    assert_eq!(e.alert(), Some(A::DecryptError), "{e}");
}

// RFC 8446 §4.2.3: signature_algorithms holds up to 2^16-2 bytes of schemes, so a valid
// ClientHello can be well over 64 KiB: here 32,702 schemes make a 65,576-byte message.
#[test]
fn a_client_hello_over_64_kib_is_accepted() {
    let mut p = edited_hello(|ch| {
        for ext in &mut ch.extensions.0 {
            if let Extension::SignatureAlgorithms(schemes) = ext {
                let fill = (0..32_702 - schemes.len()).map(|i| {
                    SignatureScheme::from_u16(
                        0xfe00u16.wrapping_sub(u16::try_from(i).expect("small")),
                    )
                });
                schemes.splice(0..0, fill.collect::<Vec<_>>());
            }
        }
    });
    // Over 64 KiB (about 65.6 KB with today's offers), within the 128 KiB cap.
    let records = p.client_out.len().div_ceil(16_384 + 5);
    let message = p.client_out.len() - 5 * records;
    assert!(
        (64 * 1024 + 1..=DEFAULT_MAX_HANDSHAKE_LEN).contains(&message),
        "{message} bytes"
    );
    p.transfer(Dir::C2S);
    assert_eq!(p.server_error, None);
    assert_eq!(p.server_out[5], 2, "a ServerHello");
}

// A handshake message over the documented cap is refused with handshake_failure, and the
// error names the cap.
#[test]
fn a_handshake_message_over_the_cap_gets_handshake_failure() {
    const { assert!(DEFAULT_MAX_HANDSHAKE_LEN >= 128 * 1024) };
    let len = DEFAULT_MAX_HANDSHAKE_LEN + 1;
    let mut p = Pair::basic();
    let mut header = vec![1u8];
    header.extend_from_slice(&u32::try_from(len).expect("fits").to_be_bytes()[1..]);
    p.client_out = plaintext_records(ContentType::Handshake, &[&header[..], &[0; 64]].concat());
    let e = server_refuses(&mut p);
    assert_eq!(e.alert(), Some(A::HandshakeFailure), "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "record layer: handshake message of {len} bytes exceeds this implementation's cap of {DEFAULT_MAX_HANDSHAKE_LEN} bytes"
        )
    );
}

// RFC 8446 §4.2.11.2: a binder is an HMAC of the PSK's hash, so for SHA-256 32 bytes; any
// other length (the vector allows 32..255) does not fit and is decode_error, before any
// HMAC is computed. The right length with a wrong value is decrypt_error.
#[test]
fn a_psk_binder_of_the_wrong_length_is_decode_error() {
    let psk = || ExternalPsk::new("alice", &[0x42; 32]).expect("psk");
    for (len, alert) in [
        (48, A::DecodeError),
        (33, A::DecodeError),
        (32, A::DecryptError),
    ] {
        let client = ClientConfig {
            psk: Some(psk()),
            ..client_config(false, false)
        };
        let server = server_config(false, ClientAuth::Off).with_psks(vec![psk()]);
        let mut p = Pair::new(client, server);
        let bytes = std::mem::take(&mut p.client_out);
        let Ok(HandshakeMessage::ClientHello(mut ch)) = HandshakeMessage::decode(&bytes[5..])
        else {
            panic!("not a ClientHello");
        };
        if let Some(Extension::PreSharedKeyClientHello(offered)) = ch.extensions.0.last_mut() {
            offered.binders[0] = vec![7; len];
        }
        let msg = HandshakeMessage::ClientHello(ch)
            .to_bytes()
            .expect("encode");
        p.client_out = plaintext_records(ContentType::Handshake, &msg);
        let e = server_refuses(&mut p);
        assert_eq!(e.alert(), Some(alert), "{len} bytes: {e}");
    }
}
