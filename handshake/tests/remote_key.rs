//! A server whose key the connection does not hold: the handshake stops at the
//! CertificateVerify (RFC 8446 §4.4.3), asks for the signature, checks it and goes on.

mod common;

use common::{Dir, Pair, certs, client_config, hierarchy, server_config};
use handshake::error::InternalError;
use handshake::msgs::alert::AlertDescription;
use handshake::msgs::enums::SignatureScheme;
use handshake::{ClientAuth, Error, Identity, ServerConfig, Side};
use pki::{PrivateKey, SignatureAlgorithm};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// A server configuration with the Ed25519 fixture's chain and no private key.
fn remote_server() -> ServerConfig {
    let h = hierarchy(false);
    ServerConfig::new(Identity::remote(certs(h.server_chain)).expect("remote identity"))
}

/// What the server's key (held here, outside the connection) signs.
fn sign(message: &[u8]) -> Vec<u8> {
    let key = PrivateKey::from_pem(hierarchy(false).server_key).expect("fixture key");
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    key.sign(SignatureAlgorithm::Ed25519, message, &mut rng)
        .expect("signature")
}

/// Client hello in, ServerHello and change_cipher_spec out (the encrypted flight is held
/// for the signature), then the request.
fn paused() -> Pair {
    let mut pair = Pair::new(client_config(false, false), remote_server());
    pair.transfer(Dir::C2S);
    assert!(pair.server_error.is_none(), "{:?}", pair.server_error);
    assert!(pair.server.is_handshaking());
    pair
}

#[test]
fn the_request_is_the_rfc_8446_content_and_the_handshake_completes() {
    let mut pair = paused();
    let request = pair.server.signature_request().expect("a request").clone();
    assert_eq!(request.scheme(), SignatureScheme::Ed25519);
    assert_eq!(request.side(), Side::Server);
    let message = request.message();
    assert_eq!(&message[..64], &[0x20; 64]);
    assert_eq!(&message[64..97], b"TLS 1.3, server CertificateVerify");
    assert_eq!(message[97], 0);
    assert_eq!(message.len(), 98 + 32);
    assert_eq!(pair.server.state().to_string(), "NEGOTIATED");
    let mut out = Vec::new();
    pair.server
        .provide_signature(&sign(message), &mut out)
        .expect("accepted");
    pair.server_out.extend(out);
    pair.handshake();
    assert!(pair.server.signature_request().is_none());
    assert_eq!(
        pair.client.summary().expect("summary").server_signature,
        Some(SignatureScheme::Ed25519)
    );
}

// Ed25519 is deterministic (RFC 8032 §5.1.6): with the same seeds a remote signature
// gives the very bytes a local key does.
#[test]
fn a_remote_signature_puts_the_same_bytes_on_the_wire_as_a_local_key() {
    let mut local = Pair::new(
        client_config(false, false),
        server_config(false, ClientAuth::Off),
    );
    local.handshake();
    let mut remote = paused();
    let request = remote.server.signature_request().expect("request").clone();
    let mut out = Vec::new();
    remote
        .server
        .provide_signature(&sign(request.message()), &mut out)
        .expect("accepted");
    remote.server_out.extend(out);
    remote.handshake();
    assert_eq!(local.s2c_log, remote.s2c_log);
    assert_eq!(local.c2s_log, remote.c2s_log);
}

#[test]
fn a_wrong_signature_is_refused_unsent_and_the_request_stays_open() {
    let mut pair = paused();
    let request = pair.server.signature_request().expect("request").clone();
    let mut wrong = sign(request.message());
    wrong[10] ^= 1;
    let mut out = Vec::new();
    let err = pair
        .server
        .provide_signature(&wrong, &mut out)
        .expect_err("refused");
    assert_eq!(err, Error::Internal(InternalError::BadRemoteSignature));
    assert!(out.is_empty(), "nothing is sent for a wrong signature");
    assert!(pair.server.signature_request().is_some());
    let err = pair
        .server
        .provide_signature(&[1; 7], &mut out)
        .expect_err("refused");
    assert_eq!(err, Error::Internal(InternalError::BadRemoteSignature));
    pair.server
        .provide_signature(&sign(request.message()), &mut out)
        .expect("the right one is taken");
    pair.server_out.extend(out);
    pair.handshake();
}

#[test]
fn a_signer_that_fails_ends_the_handshake_with_internal_error() {
    let mut pair = paused();
    let mut out = Vec::new();
    let err = pair
        .server
        .signature_failed("2 of 3 signers answered, 3 needed", &mut out);
    assert!(err.to_string().contains("2 of 3 signers answered"), "{err}");
    assert!(pair.server.is_closed());
    pair.server_out.extend(out);
    let (client, _) = pair.drive_until_error();
    assert_eq!(
        client,
        Some(Error::PeerAlert(AlertDescription::InternalError))
    );
}

#[test]
fn nothing_from_the_client_moves_a_server_waiting_for_its_signature() {
    let mut pair = paused();
    let mut out = Vec::new();
    let err = pair
        .server
        .provide_signature(&[0; 64], &mut Vec::new())
        .expect_err("wrong");
    assert_eq!(err, Error::Internal(InternalError::BadRemoteSignature));
    // No request: providing is a usage error.
    let mut local = Pair::new(
        client_config(false, false),
        server_config(false, ClientAuth::Off),
    );
    local.handshake();
    assert!(matches!(
        local.server.provide_signature(&[0; 64], &mut out),
        Err(Error::Usage(_))
    ));
}

#[test]
fn a_client_certificate_with_a_remote_key_is_refused_locally() {
    let h = hierarchy(false);
    let mut client = client_config(false, false);
    client.identity = Some(std::sync::Arc::new(
        Identity::remote(certs(h.client_chain)).expect("remote client identity"),
    ));
    let mut pair = Pair::new(client, server_config(false, ClientAuth::Required));
    let (client_err, _) = pair.drive_until_error();
    assert!(
        matches!(
            client_err,
            Some(Error::Internal(InternalError::RemoteSigner(_)))
        ),
        "{client_err:?}"
    );
}
