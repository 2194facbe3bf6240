//! The RSA-PSS CertificateVerify signatures of the traces, verified with the key in the
//! trace's own Certificate message. (The 1024-bit certificates expired in 2026, so they
//! are checked directly, not through path validation.)

use handshake::Error;
use handshake::auth::{Side, verify_certificate_verify};
use handshake::error::Verification;
use handshake::key_schedule::Transcript;
use handshake::msgs::HandshakeMessage;

use crate::vectors::{CLIENT_AUTH_FLIGHT, SIMPLE_1RTT_FLIGHT, Vectors};

fn leaf(v: &Vectors, label: &str) -> pki::Certificate {
    let Ok(HandshakeMessage::Certificate(cert)) = HandshakeMessage::decode(v.get(label)) else {
        panic!("{label} is not a Certificate message");
    };
    pki::Certificate::from_der(cert.end_entity().expect("a leaf"))
        .expect("the trace's certificate parses")
}

fn check(v: &Vectors, cert_label: &str, cv_label: &str, side: Side, transcript: &[&str]) {
    let leaf = leaf(v, cert_label);
    let Ok(HandshakeMessage::CertificateVerify(cv)) = HandshakeMessage::decode(v.get(cv_label))
    else {
        panic!("{cv_label} is not a CertificateVerify");
    };
    let mut t = Transcript::new();
    for label in transcript {
        t.add(v.get(label));
    }
    let hash = t.current_hash();
    verify_certificate_verify(&leaf, cv.algorithm, &cv.signature, side, &hash)
        .expect("the trace's signature verifies");

    // One flipped bit in the signature or the wrong side's context string: refused.
    let mut bad = cv.signature.clone();
    bad[10] ^= 1;
    let refused = Err(Error::VerifyFailed(Verification::Signature));
    assert_eq!(
        verify_certificate_verify(&leaf, cv.algorithm, &bad, side, &hash),
        refused
    );
    let other = if side == Side::Server {
        Side::Client
    } else {
        Side::Server
    };
    assert_eq!(
        verify_certificate_verify(&leaf, cv.algorithm, &cv.signature, other, &hash),
        refused
    );
}

#[test]
fn simple_1rtt_server_certificate_verify() {
    let v = Vectors::load("rfc8448_simple_1rtt.txt");
    check(
        &v,
        "certificate",
        "certificate_verify",
        Side::Server,
        &SIMPLE_1RTT_FLIGHT[..4],
    );
}

#[test]
fn client_auth_client_certificate_verify() {
    let v = Vectors::load("rfc8448_client_auth.txt");
    check(
        &v,
        "client_certificate",
        "client_certificate_verify",
        Side::Client,
        &CLIENT_AUTH_FLIGHT[..8],
    );
}
