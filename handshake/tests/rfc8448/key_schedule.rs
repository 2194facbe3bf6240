//! Every secret, key, IV, transcript hash, Finished and binder of the RFC 8448 traces,
//! recomputed from the private keys (or the printed ECDHE secret) and the message bytes.

use handshake::error::{Error, Verification};
use handshake::key_schedule::{
    EMPTY_HASH, EarlySecret, HandshakeSecret, MasterSecret, PskKind, Secret, TrafficKeys,
    Transcript, check_verify_data, derive_secret, finished_key, hkdf_expand_label, hkdf_label,
    message_hash, next_traffic_secret, verify_data,
};
use handshake::msgs::{HandshakeMessage, binder_prefix};
use x25519_dalek::{PublicKey, StaticSecret};

use super::vectors::{CLIENT_AUTH_FLIGHT, SIMPLE_1RTT_FLIGHT, Vectors};

/// A transcript over the named messages of `v`.
fn transcript(v: &Vectors, labels: &[&str]) -> Transcript {
    let mut t = Transcript::new();
    for label in labels {
        t.add(v.get(label));
    }
    t
}

/// The 16-byte AES-128-GCM key and 12-byte IV the trace prints for a traffic secret.
fn check_aes_key_iv(v: &Vectors, secret: &Secret, key_label: &str, iv_label: &str) {
    let key = hkdf_expand_label(secret, b"key", b"", 16).expect("valid");
    let iv = hkdf_expand_label(secret, b"iv", b"", 12).expect("valid");
    assert_eq!(key.as_slice(), v.get(key_label), "{key_label}");
    assert_eq!(iv.as_slice(), v.get(iv_label), "{iv_label}");
}

/// Early → Handshake Secret with the two "derived" values on the way.
fn handshake_secret(v: &Vectors, psk: Option<&[u8]>) -> HandshakeSecret {
    let early = EarlySecret::new(psk);
    assert_eq!(early.secret().as_bytes(), &v.get32("early_secret"));
    let derived = derive_secret(early.secret(), b"derived", &EMPTY_HASH).expect("valid");
    assert_eq!(derived.as_bytes(), &v.get32("derived_for_hs"));
    let hs = early.into_handshake_secret(Some(v.get("ecdhe")));
    assert_eq!(hs.secret().as_bytes(), &v.get32("handshake_secret"));
    hs
}

/// Handshake traffic secrets and keys, then the Master Secret.
fn master_secret(
    v: &Vectors,
    hs: HandshakeSecret,
    hash_ch_sh: &[u8; 32],
) -> (Secret, Secret, MasterSecret) {
    let c_hs = hs.client_handshake_traffic_secret(hash_ch_sh);
    let s_hs = hs.server_handshake_traffic_secret(hash_ch_sh);
    assert_eq!(c_hs.as_bytes(), &v.get32("client_hs_traffic"));
    assert_eq!(s_hs.as_bytes(), &v.get32("server_hs_traffic"));
    check_aes_key_iv(v, &s_hs, "server_hs_key", "server_hs_iv");
    check_aes_key_iv(v, &c_hs, "client_hs_key", "client_hs_iv");
    let derived = derive_secret(hs.secret(), b"derived", &EMPTY_HASH).expect("valid");
    assert_eq!(derived.as_bytes(), &v.get32("derived_for_master"));
    let master = hs.into_master_secret();
    assert_eq!(master.secret().as_bytes(), &v.get32("master_secret"));
    (c_hs, s_hs, master)
}

/// Application traffic secrets, keys and the exporter master secret.
fn application_secrets(v: &Vectors, master: &MasterSecret, hash_ch_sfin: &[u8; 32]) {
    let c_ap = master.client_application_traffic_secret_0(hash_ch_sfin);
    let s_ap = master.server_application_traffic_secret_0(hash_ch_sfin);
    assert_eq!(c_ap.as_bytes(), &v.get32("client_ap_traffic"));
    assert_eq!(s_ap.as_bytes(), &v.get32("server_ap_traffic"));
    check_aes_key_iv(v, &s_ap, "server_ap_key", "server_ap_iv");
    check_aes_key_iv(v, &c_ap, "client_ap_key", "client_ap_iv");
    let exporter = master.exporter_master_secret(hash_ch_sfin);
    assert_eq!(exporter.secret().as_bytes(), &v.get32("exporter_master"));
}

/// The verify_data of a Finished, checked both as a computed value and through the
/// constant-time check against the message on the wire.
fn check_finished(v: &Vectors, base_key: &Secret, hash: &[u8; 32], prefix: &str, msg: &str) {
    assert_eq!(
        finished_key(base_key).as_bytes(),
        &v.get32(&format!("{prefix}_finished_key"))
    );
    let expected = v.get32(&format!("{prefix}_verify_data"));
    assert_eq!(verify_data(base_key, hash), expected);
    let HandshakeMessage::Finished(fin) = HandshakeMessage::decode(v.get(msg)).expect("decodes")
    else {
        panic!("{msg} is not a Finished");
    };
    assert_eq!(
        check_verify_data(base_key, hash, &fin.verify_data, Verification::Finished),
        Ok(())
    );
    let mut wrong = fin.verify_data.clone();
    wrong[0] ^= 0x80;
    assert_eq!(
        check_verify_data(base_key, hash, &wrong, Verification::Finished),
        Err(Error::VerifyFailed(Verification::Finished))
    );
}

fn x25519_agrees(v: &Vectors, client: (&str, &str), server: (&str, &str)) {
    let client_priv = StaticSecret::from(v.get32(client.0));
    let server_priv = StaticSecret::from(v.get32(server.0));
    let client_pub = PublicKey::from(&client_priv);
    let server_pub = PublicKey::from(&server_priv);
    assert_eq!(client_pub.as_bytes(), &v.get32(client.1));
    assert_eq!(server_pub.as_bytes(), &v.get32(server.1));
    let shared = client_priv.diffie_hellman(&server_pub);
    assert_eq!(shared.as_bytes(), &v.get32("ecdhe"));
    assert_eq!(
        server_priv.diffie_hellman(&client_pub).as_bytes(),
        shared.as_bytes()
    );
}

#[test]
fn simple_1rtt_key_schedule() {
    let v = Vectors::load("rfc8448_simple_1rtt.txt");
    x25519_agrees(
        &v,
        ("client_priv", "client_pub"),
        ("server_priv", "server_pub"),
    );

    let hash_ch_sh = transcript(&v, &SIMPLE_1RTT_FLIGHT[..2]).current_hash();
    assert_eq!(hash_ch_sh, v.get32("hash_ch_sh"));
    let hs = handshake_secret(&v, None);
    let (c_hs, s_hs, master) = master_secret(&v, hs, &hash_ch_sh);

    let hash_ch_scv = transcript(&v, &SIMPLE_1RTT_FLIGHT[..5]).current_hash();
    check_finished(&v, &s_hs, &hash_ch_scv, "server", "server_finished");

    let hash_ch_sfin = transcript(&v, &SIMPLE_1RTT_FLIGHT).current_hash();
    assert_eq!(hash_ch_sfin, v.get32("hash_ch_sfin"));
    application_secrets(&v, &master, &hash_ch_sfin);

    // The client Finished (rfc8448_simple_1rtt_client_finished.txt): the client is not
    // authenticated, so its Finished covers ClientHello..server Finished.
    let cf = Vectors::load("rfc8448_simple_1rtt_client_finished.txt");
    assert_eq!(cf.get32("hash_ch_sfin"), hash_ch_sfin);
    check_finished(&cf, &c_hs, &hash_ch_sfin, "client", "client_finished");

    // The resumption master secret of section 3, printed in the section 4 file.
    let r = Vectors::load("rfc8448_resumed_0rtt_psk.txt");
    let mut t = transcript(&v, &SIMPLE_1RTT_FLIGHT);
    t.add(cf.get("client_finished"));
    assert_eq!(t.current_hash(), r.get32("s3_hash_ch_cfin"));
    let resumption = master.resumption_master_secret(&t.current_hash());
    assert_eq!(
        resumption.secret().as_bytes(),
        &r.get32("s3_resumption_master")
    );
    let nonce = r.get("ticket_nonce");
    assert_eq!(
        hkdf_label(b"resumption", nonce, 32).expect("valid"),
        r.get("resumption_info")
    );
    assert_eq!(
        resumption.ticket_psk(nonce).expect("valid").as_bytes(),
        &r.get32("psk")
    );
}

#[test]
fn chacha20_key_expansions_of_the_simple_1rtt_secrets() {
    // HKDF-Expand-Label is length-generic: the 32-byte ChaCha20 keys from the same secrets.
    let v = Vectors::load("rfc8448_simple_1rtt.txt");
    for (secret, key, iv) in [
        ("server_hs_traffic", "server_hs_key32", "server_hs_iv12"),
        ("client_hs_traffic", "client_hs_key32", "client_hs_iv12"),
        ("server_ap_traffic", "server_ap_key32", "server_ap_iv12"),
        ("client_ap_traffic", "client_ap_key32", "client_ap_iv12"),
    ] {
        let keys = TrafficKeys::derive(
            handshake::SupportedSuite::Chacha20Poly1305Sha256,
            &Secret::from_bytes(v.get32(secret)),
        );
        assert_eq!(keys.key(), &v.get32(key), "{key}");
        assert_eq!(keys.iv().as_slice(), v.get(iv), "{iv}");
        // The 12-byte IV is the same whatever the key length (§7.3).
        let aes_iv = secret.replace("_traffic", "_iv");
        assert_eq!(keys.iv().as_slice(), v.get(&aes_iv));
    }
}

#[test]
fn aes_128_gcm_keys_of_the_simple_1rtt_secrets() {
    // RFC 8448 itself uses TLS_AES_128_GCM_SHA256: its 16-byte keys are the vectors.
    let v = Vectors::load("rfc8448_simple_1rtt.txt");
    for side in ["server_hs", "client_hs", "server_ap", "client_ap"] {
        let secret = Secret::from_bytes(v.get32(&format!("{side}_traffic")));
        let keys = TrafficKeys::derive(handshake::SupportedSuite::Aes128GcmSha256, &secret);
        assert_eq!(keys.key(), v.get(&format!("{side}_key")), "{side}_key");
        assert_eq!(
            keys.iv().as_slice(),
            v.get(&format!("{side}_iv")),
            "{side}_iv"
        );
    }
}

#[test]
fn client_auth_key_schedule() {
    let v = Vectors::load("rfc8448_client_auth.txt");
    x25519_agrees(
        &v,
        ("client_priv", "client_pub"),
        ("server_priv", "server_pub"),
    );
    let hash_after = |n: usize| transcript(&v, &CLIENT_AUTH_FLIGHT[..n]).current_hash();
    assert_eq!(hash_after(2), v.get32("hash_ch_sh"));
    assert_eq!(hash_after(5), v.get32("x_hash_ch_scert"));
    assert_eq!(hash_after(6), v.get32("x_hash_ch_scv"));
    assert_eq!(hash_after(7), v.get32("hash_ch_sfin"));
    assert_eq!(hash_after(8), v.get32("x_hash_ch_ccert"));
    assert_eq!(hash_after(9), v.get32("x_hash_ch_ccv"));
    assert_eq!(hash_after(10), v.get32("hash_ch_cfin"));

    let hs = handshake_secret(&v, None);
    let (c_hs, s_hs, master) = master_secret(&v, hs, &hash_after(2));
    check_finished(&v, &s_hs, &hash_after(6), "server", "server_finished");
    application_secrets(&v, &master, &hash_after(7));
    // The client's Finished covers its Certificate and CertificateVerify (§4.4.4).
    check_finished(&v, &c_hs, &hash_after(9), "client", "client_finished");
    let resumption = master.resumption_master_secret(&hash_after(10));
    assert_eq!(
        resumption.secret().as_bytes(),
        &v.get32("resumption_master")
    );
}

#[test]
fn hello_retry_request_key_schedule() {
    let v = Vectors::load("rfc8448_hello_retry_request.txt");
    let client = StaticSecret::from(v.get32("client_x25519_priv"));
    assert_eq!(
        PublicKey::from(&client).as_bytes(),
        &v.get32("client_x25519_pub")
    );

    // §4.4.1: ClientHello1 is replaced by message_hash(Hash(ClientHello1)).
    let mut t = Transcript::new();
    t.add(v.get("client_hello1"));
    assert_eq!(t.current_hash(), v.get32("x_hash_ch1"));
    assert_eq!(
        message_hash(&t.current_hash()).as_slice(),
        v.get("x_message_hash")
    );
    t.replace_with_message_hash();
    t.add(v.get("hello_retry_request"));
    assert_eq!(t.current_hash(), v.get32("x_hash_mh_hrr"));
    t.add(v.get("client_hello2"));
    assert_eq!(t.current_hash(), v.get32("x_hash_mh_ch2"));
    t.add(v.get("server_hello"));
    let hash_ch_sh = t.current_hash();
    assert_eq!(hash_ch_sh, v.get32("hash_ch_sh"));
    t.add(v.get("encrypted_extensions"));
    t.add(v.get("certificate"));
    assert_eq!(t.current_hash(), v.get32("x_hash_ch_cert"));
    t.add(v.get("certificate_verify"));
    let hash_ch_scv = t.current_hash();
    assert_eq!(hash_ch_scv, v.get32("x_hash_ch_scv"));
    t.add(v.get("server_finished"));
    let hash_ch_sfin = t.current_hash();
    assert_eq!(hash_ch_sfin, v.get32("hash_ch_sfin"));
    t.add(v.get("client_finished"));
    assert_eq!(t.current_hash(), v.get32("hash_ch_cfin"));

    // The ECDHE here is P-256, which this crate does not implement: use the printed secret.
    let hs = handshake_secret(&v, None);
    let (c_hs, s_hs, master) = master_secret(&v, hs, &hash_ch_sh);
    check_finished(&v, &s_hs, &hash_ch_scv, "server", "server_finished");
    application_secrets(&v, &master, &hash_ch_sfin);
    check_finished(&v, &c_hs, &hash_ch_sfin, "client", "client_finished");
    let resumption = master.resumption_master_secret(&t.current_hash());
    assert_eq!(
        resumption.secret().as_bytes(),
        &v.get32("resumption_master")
    );
}

#[test]
fn resumption_psk_binder() {
    let v = Vectors::load("rfc8448_resumed_0rtt_psk.txt");
    let client = StaticSecret::from(v.get32("client_priv"));
    assert_eq!(PublicKey::from(&client).as_bytes(), &v.get32("client_pub"));

    let early = EarlySecret::new(Some(v.get("psk")));
    assert_eq!(early.secret().as_bytes(), &v.get32("early_secret"));
    assert_eq!(
        hkdf_label(b"res binder", &EMPTY_HASH, 32).expect("valid"),
        v.get("x_res_binder_info")
    );
    let binder_key = early.binder_key(PskKind::Resumption);
    assert_eq!(binder_key.as_bytes(), &v.get32("binder_key"));
    assert_ne!(
        early.binder_key(PskKind::External).as_bytes(),
        binder_key.as_bytes(),
        "ext and res binder keys differ"
    );
    assert_eq!(
        finished_key(&binder_key).as_bytes(),
        &v.get32("binder_finished_key")
    );

    // §4.2.11.2: the binder is a Finished computed over the partial ClientHello.
    let raw = v.get("client_hello");
    let HandshakeMessage::ClientHello(ch) = HandshakeMessage::decode(raw).expect("decodes") else {
        panic!("client_hello is not a ClientHello");
    };
    let offer = ch.extensions.offered_psks().expect("pre_shared_key");
    let prefix = binder_prefix(raw, offer).expect("long enough");
    let binder_hash = Transcript::new().hash_with(prefix);
    assert_eq!(binder_hash, v.get32("binder_hash"));
    assert_eq!(verify_data(&binder_key, &binder_hash), v.get32("binder"));
    assert_eq!(
        check_verify_data(
            &binder_key,
            &binder_hash,
            &offer.binders[0],
            Verification::PskBinder
        ),
        Ok(())
    );
}

#[test]
fn key_update_changes_the_traffic_secret() {
    // RFC 8448 has no KeyUpdate; check §7.2 against a direct HKDF-Expand-Label.
    let v = Vectors::load("rfc8448_simple_1rtt.txt");
    let c_ap = Secret::from_bytes(v.get32("client_ap_traffic"));
    let next = next_traffic_secret(&c_ap);
    let direct = hkdf_expand_label(&c_ap, b"traffic upd", b"", 32).expect("valid");
    assert_eq!(next.as_bytes().as_slice(), direct.as_slice());
    assert_ne!(next.as_bytes(), c_ap.as_bytes());
}
