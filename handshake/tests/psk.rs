//! The PSK paths in memory: external PSKs in both modes, resumption, PSK with
//! HelloRetryRequest, and every way a PSK is refused (RFC 8446 §2.2, §4.2.9–§4.2.11,
//! §4.6.1).

mod common;

use std::sync::Arc;

use common::{Dir, NOW, Pair, client_config, server_config};
use handshake::error::{HandshakeFailure, Verification};
use handshake::msgs::alert::AlertDescription;
use handshake::{
    ClientAuth, ClientConfig, Error, Event, ExternalPsk, Path, ServerConfig, Session, SessionCache,
    Summary, Tickets,
};
use time::{Duration, OffsetDateTime};

fn alice() -> ExternalPsk {
    ExternalPsk::new("alice", &[0x42; 32]).expect("valid PSK")
}

fn psk_client(psk: ExternalPsk) -> ClientConfig {
    ClientConfig {
        psk: Some(psk),
        ..client_config(false, false)
    }
}

fn summaries(pair: &Pair) -> (Summary, Summary) {
    (
        pair.client.summary().expect("client summary").clone(),
        pair.server.summary().expect("server summary").clone(),
    )
}

/// Runs a handshake and checks what both sides agree on; returns the summaries.
fn connect(client: ClientConfig, server: ServerConfig, seed: u64) -> (Summary, Summary) {
    let mut pair = Pair::with_seed(client, server, "localhost", seed);
    pair.handshake();
    pair.assert_transitions_listed();
    let (c, s) = summaries(&pair);
    assert_eq!(c.path, s.path);
    assert_eq!(c.transcript_hash, s.transcript_hash);
    assert_eq!(
        pair.client
            .export_keying_material(b"EXPORTER-t", b"", 32)
            .ok(),
        pair.server
            .export_keying_material(b"EXPORTER-t", b"", 32)
            .ok()
    );
    (c, s)
}

#[test]
fn external_psk_with_dhe_by_default() {
    let server = server_config(false, ClientAuth::Off).with_psks(vec![alice()]);
    let (c, s) = connect(psk_client(alice()), server, 1);
    assert_eq!(s.path, Path::PskDhe);
    assert_eq!(s.path.name(), "psk+dhe");
    assert_eq!(c.client_identity.as_deref(), Some("psk:alice"));
    assert_eq!(s.client_identity.as_deref(), Some("psk:alice"));
    // §2.2: the key authenticates; no certificate goes either way.
    assert_eq!(c.server_signature, None);
    assert!(c.server_chain.is_empty() && s.server_chain.is_empty());
    assert!(s.group.is_some());
    assert!(s.reason.contains("psk_dhe_ke"), "{}", s.reason);
}

/// RFC 8446 §4.2.9: the server prefers psk_dhe_ke (forward secrecy) whenever the client
/// offers it; psk_ke is used only when it is all the client offers and the server allows
/// it.
#[test]
fn psk_ke_only_when_both_sides_opt_in_and_the_client_offers_nothing_else() {
    for (client_ke, client_ke_only, server_ke, expected) in [
        (true, true, true, Path::Psk),
        (true, false, true, Path::PskDhe),
        (true, false, false, Path::PskDhe),
        (false, false, true, Path::PskDhe),
        (true, true, false, Path::EphemeralDh),
    ] {
        let mut server = server_config(false, ClientAuth::Off).with_psks(vec![alice()]);
        server.allow_psk_ke = server_ke;
        let client = ClientConfig {
            allow_psk_ke: client_ke,
            psk_ke_only: client_ke_only,
            ..psk_client(alice())
        };
        let (c, s) = connect(client, server, 2);
        let what = format!("client {client_ke}/{client_ke_only} server {server_ke}");
        assert_eq!(s.path, expected, "{what}");
        assert_eq!(c.group.is_some(), expected != Path::Psk, "{what}");
    }
}

#[test]
fn psk_only_server_refuses_clients_without_the_key() {
    let server = ServerConfig::psk_only(vec![alice()]);
    let (_, s) = connect(psk_client(alice()), server.clone(), 3);
    assert_eq!(s.path, Path::PskDhe);

    let mut pair = Pair::new(client_config(false, false), server.clone());
    let (client_err, server_err) = pair.drive_until_error();
    assert_eq!(
        server_err,
        Some(Error::HandshakeFailure(HandshakeFailure::PskOnly {
            declined: None
        }))
    );
    assert_eq!(
        client_err,
        Some(Error::PeerAlert(AlertDescription::HandshakeFailure))
    );

    let stranger = ExternalPsk::new("mallory", &[1; 32]).expect("valid");
    let mut pair = Pair::new(psk_client(stranger), server);
    let (_, server_err) = pair.drive_until_error();
    let msg = server_err.expect("refused").to_string();
    assert!(msg.contains("unknown PSK identity"), "{msg}");
}

#[test]
fn wrong_key_or_tampered_binder_is_decrypt_error() {
    let server = server_config(false, ClientAuth::Off).with_psks(vec![alice()]);
    let wrong = ExternalPsk::new("alice", &[0x43; 32]).expect("valid");
    let mut pair = Pair::new(psk_client(wrong), server.clone());
    let (client_err, server_err) = pair.drive_until_error();
    assert_eq!(
        server_err,
        Some(Error::VerifyFailed(Verification::PskBinder))
    );
    assert_eq!(
        client_err,
        Some(Error::PeerAlert(AlertDescription::DecryptError))
    );

    // The binders end the ClientHello, so its last byte is the binder's.
    let mut pair = Pair::new(psk_client(alice()), server);
    pair.transfer_altered(Dir::C2S, |bytes| {
        if let Some(last) = bytes.last_mut() {
            *last ^= 1;
        }
    });
    pair.drive();
    assert_eq!(
        pair.server_error,
        Some(Error::VerifyFailed(Verification::PskBinder))
    );
}

#[test]
fn unknown_psk_falls_back_to_a_full_handshake() {
    let server = server_config(false, ClientAuth::Off);
    let (c, s) = connect(psk_client(alice()), server, 4);
    assert_full_handshake(&s, "unknown PSK identity");
    assert!(c.reason.contains("did not accept"), "{}", c.reason);
    assert!(c.server_signature.is_some());
}

#[test]
fn psk_with_hello_retry_request() {
    let server = server_config(false, ClientAuth::Off).with_psks(vec![alice()]);
    let client = ClientConfig {
        empty_key_share_for_testing_only: true,
        ..psk_client(alice())
    };
    let (c, s) = connect(client, server, 5);
    assert!(c.hello_retry && s.hello_retry);
    assert_eq!(s.path, Path::PskDhe);
}

/// A server with tickets and a client with a cache; returns them after one full handshake
/// has filled the cache.
fn ticketed(
    tickets: Arc<Tickets>,
    policy: ClientAuth,
    with_cert: bool,
) -> (ClientConfig, ServerConfig, Arc<SessionCache>) {
    let cache = Arc::new(SessionCache::default());
    let server = server_config(false, policy).with_tickets(tickets);
    let client = ClientConfig {
        session_cache: Some(cache.clone()),
        ..client_config(false, with_cert)
    };
    let mut pair = Pair::new(client.clone(), server.clone());
    pair.handshake();
    let events = Pair::events(&mut pair.client);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::SessionTicket { lifetime: 7200 })),
        "{events:?}"
    );
    assert_eq!(cache.len("localhost"), 1);
    (client, server, cache)
}

fn tickets() -> Arc<Tickets> {
    Arc::new(Tickets::new(&[9; 32]))
}

#[test]
fn resumption_carries_the_original_identity() {
    let (client, server, cache) = ticketed(tickets(), ClientAuth::Optional, true);
    let (c, s) = connect(client.clone(), server.clone(), 6);
    assert_eq!(s.path, Path::ResumptionDhe);
    assert_eq!(s.path.name(), "resumption+dhe");
    let subject = fixtures_subject();
    assert_eq!(s.client_identity.as_deref(), Some(subject.as_str()));
    assert_eq!(c.client_identity.as_deref(), Some(subject.as_str()));
    assert!(s.client_chain.is_empty(), "no certificate on a resumption");
    // The resumed connection got a fresh ticket, so the client can go again.
    assert_eq!(cache.len("localhost"), 1);
    let (_, s) = connect(client, server, 7);
    assert_eq!(s.path, Path::ResumptionDhe);
}

fn fixtures_subject() -> String {
    let chain = pki::Certificate::from_pem_bundle(fixtures::ED25519.client_chain).expect("chain");
    chain[0].subject().to_string()
}

#[test]
fn resumption_psk_ke_when_both_allow() {
    let (mut client, mut server, _) = ticketed(tickets(), ClientAuth::Off, false);
    client.allow_psk_ke = true;
    client.psk_ke_only = true;
    server.allow_psk_ke = true;
    let (c, s) = connect(client, server, 8);
    assert_eq!(s.path, Path::Resumption);
    assert_eq!(c.group, None);
    assert_eq!(s.client_identity, None);
}

/// Checks that the server fell back to a full handshake, saying `why`.
fn assert_full_handshake(s: &Summary, why: &str) {
    assert_eq!(s.path, Path::EphemeralDh, "{}", s.reason);
    assert!(s.reason.contains(why), "{}", s.reason);
}

/// The server's summary when the client offers a fresh ticket one second after `NOW`
/// and the server's clock reads `server_now`.
fn server_view_of_resumption_at(server_now: OffsetDateTime) -> Summary {
    let (client, server, _) = ticketed(tickets(), ClientAuth::Off, false);
    let mut pair = Pair::at(client, server, "localhost", 9, NOW + Duration::seconds(1));
    pair.now = server_now;
    pair.handshake();
    summaries(&pair).1
}

#[test]
fn expired_ticket_gets_a_full_handshake() {
    // The client believes the ticket is fresh; the server's clock is past its lifetime.
    let s = server_view_of_resumption_at(NOW + Duration::seconds(7300));
    assert_full_handshake(&s, "expired");
}

#[test]
fn ticket_age_outside_the_window_gets_a_full_handshake() {
    let s = server_view_of_resumption_at(NOW + Duration::seconds(60));
    assert_full_handshake(&s, "outside the window");
}

#[test]
fn rotated_away_ticket_key_gets_a_full_handshake() {
    let tickets = tickets();
    let (client, server, cache) = ticketed(tickets.clone(), ClientAuth::Off, false);
    tickets.rotate(&[10; 32]);
    let (_, s) = connect(client.clone(), server.clone(), 10);
    assert_eq!(s.path, Path::ResumptionDhe, "the previous key still opens");
    assert_eq!(cache.len("localhost"), 1);
    tickets.rotate(&[11; 32]);
    tickets.rotate(&[12; 32]);
    let (_, s) = connect(client, server, 11);
    assert_full_handshake(&s, "rotated away");
}

#[test]
fn single_use_ticket_replay_gets_a_full_handshake() {
    let tickets = Arc::new(Tickets::new(&[9; 32]).single_use(100));
    let (client, server, cache) = ticketed(tickets, ClientAuth::Off, false);
    let saved = cache.newest("localhost").expect("a session");
    let (_, s) = connect(client.clone(), server.clone(), 12);
    assert_eq!(s.path, Path::ResumptionDhe);
    // Offer the same ticket again (as an attacker replaying it would).
    cache.insert(saved);
    let (_, s) = connect(client, server, 13);
    assert_full_handshake(&s, "already used");
}

#[test]
fn required_policy_takes_only_tickets_with_a_verified_certificate() {
    let tickets = tickets();
    // An anonymous ticket, presented to a server that requires certificates.
    let (client, _, _) = ticketed(tickets.clone(), ClientAuth::Optional, false);
    let required = server_config(false, ClientAuth::Required).with_tickets(tickets.clone());
    let with_cert = ClientConfig {
        identity: client_config(false, true).identity,
        ..client
    };
    let (_, s) = connect(with_cert, required.clone(), 14);
    assert_eq!(s.path, Path::Certificate);
    assert!(
        s.reason.contains("no verified client certificate"),
        "{}",
        s.reason
    );
    // That full handshake earned a certificate ticket, which is accepted.
    let (client, _, _) = ticketed(tickets, ClientAuth::Optional, true);
    let (_, s) = connect(client, required, 15);
    assert_eq!(s.path, Path::ResumptionDhe);
}

#[test]
fn required_policy_takes_external_psks_only_when_configured() {
    let server = server_config(false, ClientAuth::Required).with_psks(vec![alice()]);
    let client = ClientConfig {
        identity: client_config(false, true).identity,
        ..psk_client(alice())
    };
    let (_, s) = connect(client.clone(), server.clone(), 16);
    assert_eq!(s.path, Path::Certificate);
    let server = ServerConfig {
        psk_satisfies_client_auth: true,
        ..server
    };
    let (_, s) = connect(client, server, 17);
    assert_eq!(s.path, Path::PskDhe);
}

#[test]
fn server_selects_the_first_key_it_knows() {
    // The client offers a ticket the server cannot open, then an external PSK.
    let (client, _, _) = ticketed(tickets(), ClientAuth::Off, false);
    let server = server_config(false, ClientAuth::Off)
        .with_psks(vec![alice()])
        .with_tickets(Arc::new(Tickets::new(&[99; 32])));
    let client = ClientConfig {
        psk: Some(alice()),
        ..client
    };
    let (c, s) = connect(client, server, 18);
    assert_eq!(s.path, Path::PskDhe);
    assert_eq!(c.client_identity.as_deref(), Some("psk:alice"));
    assert!(s.reason.contains("does not open"), "{}", s.reason);
}

#[test]
fn session_survives_its_text_form() {
    let (client, server, cache) = ticketed(tickets(), ClientAuth::Off, false);
    let text = cache.newest("localhost").expect("a session").to_text();
    let fresh = Arc::new(SessionCache::default());
    fresh.insert(Session::from_text(&text).expect("parses"));
    let client = ClientConfig {
        session_cache: Some(fresh),
        ..client
    };
    let (_, s) = connect(client, server, 19);
    assert_eq!(s.path, Path::ResumptionDhe);
}

#[test]
fn no_tickets_without_psk_key_exchange_modes() {
    // A client without a cache sends no psk_key_exchange_modes, so it gets no tickets.
    let server = server_config(false, ClientAuth::Off).with_tickets(tickets());
    let mut pair = Pair::new(client_config(false, false), server);
    pair.handshake();
    let events = Pair::events(&mut pair.client);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::SessionTicket { .. })),
        "{events:?}"
    );
}
