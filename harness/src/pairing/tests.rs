//! Both ends of a pairing over a real loopback connection.

use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;

fn run(
    code_a: &str,
    code_b: &str,
    id_a: &str,
    id_b: &str,
) -> (Result<Paired, PairError>, Result<Paired, PairError>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (code_b, id_b) = (code_b.to_owned(), id_b.to_owned());
    let b = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        pair(
            &mut s,
            Role::Listener,
            code_b.as_bytes(),
            &id_b,
            ChaCha20Rng::seed_from_u64(2),
        )
    });
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let a = pair(
        &mut s,
        Role::Connector,
        code_a.as_bytes(),
        id_a,
        ChaCha20Rng::seed_from_u64(1),
    );
    (a, b.join().expect("listener thread"))
}

#[test]
fn the_same_code_gives_the_same_psk_and_another_code_fails_on_both_sides() {
    let (a, b) = run("493817", "493817", "lab", "lab");
    let (a, b) = (a.expect("connector"), b.expect("listener"));
    assert_eq!(*a.psk, *b.psk);
    assert_eq!(a.transcript_hash, b.transcript_hash);
    // The PSK is not the code's hash, nor the same for another run with other randomness.
    assert_ne!(*a.psk, crate::crack::naive_psk("493817"));

    let (a, b) = run("493817", "493818", "lab", "lab");
    assert!(matches!(a, Err(PairError::Mismatch)), "{:?}", a.err());
    assert!(matches!(b, Err(PairError::Mismatch)), "{:?}", b.err());
}

#[test]
fn different_identities_are_named() {
    let (a, _) = run("1", "1", "one", "two");
    let msg = a.err().expect("refused").to_string();
    assert!(msg.contains("\"one\"") && msg.contains("\"two\""), "{msg}");
}

#[test]
fn a_malformed_spake2_message_fails_as_a_mismatch_and_the_peer_hears_it() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let b = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        pair(
            &mut s,
            Role::Listener,
            b"1",
            "lab",
            ChaCha20Rng::seed_from_u64(2),
        )
    });
    // An attacker's Hello: the right identity, but the listener's own side byte 'B' where
    // the connector's 'A' belongs (SPAKE2 refuses it).
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut body = vec![3];
    body.extend_from_slice(b"lab");
    body.push(b'B');
    body.extend_from_slice(&[0x58; 32]);
    wire::write_frame(&mut s, Kind::Hello, &body).expect("sent");
    let (kind, _) = wire::read_frame(&mut s).expect("the listener's Hello");
    assert_eq!(kind, Kind::Hello);
    assert!(matches!(
        b.join().expect("thread"),
        Err(PairError::Mismatch)
    ));
    let (kind, reason) = wire::read_frame(&mut s).expect("an Abort");
    assert_eq!((kind, reason), (Kind::Abort, vec![ABORT_MISMATCH]));
}
