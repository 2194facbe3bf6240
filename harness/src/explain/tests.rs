//! Every byte of every message explained exactly once, on the RFC 8448 traces and on a
//! keylab handshake; meanings spot-checked; hostile input never panics.

use std::sync::{Arc, Mutex};

use fixtures::rfc8448::{self, CLIENT_AUTH, HELLO_RETRY_REQUEST, RESUMED_0RTT_PSK, SIMPLE_1RTT};
use handshake::msgs::HandshakeMessage;
use handshake::{
    ClientAuth, ClientConfig, Connection, Direction, Identity, ServerConfig, Side, TraceEvent,
};
use pki::Certificate;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use time::macros::datetime;

use super::{Field, explain_message, explain_message_from, render};

/// (trace, label, sender) of every handshake message in the RFC 8448 traces used.
const RFC8448_MESSAGES: &[(&str, &str, Side)] = &[
    (SIMPLE_1RTT, "client_hello", Side::Client),
    (SIMPLE_1RTT, "server_hello", Side::Server),
    (SIMPLE_1RTT, "encrypted_extensions", Side::Server),
    (SIMPLE_1RTT, "certificate", Side::Server),
    (SIMPLE_1RTT, "certificate_verify", Side::Server),
    (SIMPLE_1RTT, "server_finished", Side::Server),
    (
        rfc8448::SIMPLE_1RTT_CLIENT_FINISHED,
        "client_finished",
        Side::Client,
    ),
    (CLIENT_AUTH, "client_hello", Side::Client),
    (CLIENT_AUTH, "server_hello", Side::Server),
    (CLIENT_AUTH, "encrypted_extensions", Side::Server),
    (CLIENT_AUTH, "certificate_request", Side::Server),
    (CLIENT_AUTH, "server_certificate", Side::Server),
    (CLIENT_AUTH, "server_certificate_verify", Side::Server),
    (CLIENT_AUTH, "server_finished", Side::Server),
    (CLIENT_AUTH, "client_certificate", Side::Client),
    (CLIENT_AUTH, "client_certificate_verify", Side::Client),
    (CLIENT_AUTH, "client_finished", Side::Client),
    (HELLO_RETRY_REQUEST, "client_hello1", Side::Client),
    (HELLO_RETRY_REQUEST, "hello_retry_request", Side::Server),
    (HELLO_RETRY_REQUEST, "client_hello2", Side::Client),
    (HELLO_RETRY_REQUEST, "server_hello", Side::Server),
    (HELLO_RETRY_REQUEST, "x_message_hash", Side::Client),
    (RESUMED_0RTT_PSK, "s3_new_session_ticket", Side::Server),
    (RESUMED_0RTT_PSK, "client_hello", Side::Client),
];

fn fixture(text: &str, label: &str) -> Vec<u8> {
    rfc8448::get(text, label).unwrap_or_else(|| panic!("RFC 8448 value {label}"))
}

/// Leaves cover `bytes` exactly once, in order; each group spans exactly its descendants'
/// leaves, starting at its own offset.
fn assert_every_byte_once(bytes: &[u8], fields: &[Field], what: &str) {
    assert!(!fields.is_empty(), "{what}: empty explanation");
    let mut pos = 0;
    let mut joined = String::new();
    for leaf in fields.iter().filter(|f| f.is_leaf()) {
        assert_eq!(leaf.offset, pos, "{what}: leaf {} out of order", leaf.name);
        assert_eq!(
            leaf.hex.len(),
            2 * leaf.len,
            "{what}: leaf {} length",
            leaf.name
        );
        pos += leaf.len;
        joined.push_str(&leaf.hex);
    }
    assert_eq!(
        joined,
        hex::encode(bytes),
        "{what}: leaves do not spell the message"
    );
    for (i, group) in fields.iter().enumerate().filter(|(_, f)| f.group) {
        let inside: Vec<&Field> = fields
            .get(i + 1..)
            .unwrap_or_default()
            .iter()
            .take_while(|f| f.depth > group.depth)
            .collect();
        let covered: usize = inside.iter().filter(|f| f.is_leaf()).map(|f| f.len).sum();
        assert_eq!(covered, group.len, "{what}: group {} span", group.name);
        if let Some(first) = inside.first() {
            assert_eq!(
                first.offset, group.offset,
                "{what}: group {} offset",
                group.name
            );
        }
    }
}

/// A well-formed message: no field says it could not be decoded.
fn assert_fully_decoded(fields: &[Field], what: &str) {
    for f in fields {
        assert!(
            f.name != "undecodable rest" && f.name != "trailing bytes",
            "{what}: {} at {}: {}",
            f.name,
            f.offset,
            f.meaning
        );
        assert!(!f.meaning.contains("truncated"), "{what}: {}", f.meaning);
    }
}

fn find<'a>(fields: &'a [Field], name: &str) -> Vec<&'a Field> {
    fields.iter().filter(|f| f.name == name).collect()
}

fn meanings(fields: &[Field], name: &str) -> String {
    find(fields, name)
        .iter()
        .map(|f| f.meaning.as_str())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn rfc8448_messages_are_explained_byte_for_byte() {
    for &(trace, label, sender) in RFC8448_MESSAGES {
        let bytes = fixture(trace, label);
        for fields in [
            explain_message(&bytes),
            explain_message_from(&bytes, sender),
        ] {
            assert_every_byte_once(&bytes, &fields, label);
            assert_fully_decoded(&fields, label);
            // The explainer and the handshake crate's decoder agree on what the message is.
            let decoded = HandshakeMessage::decode(&bytes).expect("RFC 8448 message decodes");
            assert_eq!(
                fields.first().map(|f| f.name.as_str()),
                Some(decoded.name())
            );
        }
    }
}

#[test]
fn client_hello_names_suites_groups_and_extensions() {
    let fields = explain_message(&fixture(SIMPLE_1RTT, "client_hello"));
    let suites = meanings(&fields, "cipher_suite");
    for suite in [
        "TLS_CHACHA20_POLY1305_SHA256 (0x1303), a suite keylab implements",
        "TLS_AES_128_GCM_SHA256 (0x1301), a suite keylab implements",
        "TLS_AES_256_GCM_SHA384 (0x1302)",
    ] {
        assert!(suites.contains(suite), "{suites}");
    }
    assert!(meanings(&fields, "host_name").contains("\"server\""));
    assert!(meanings(&fields, "version").contains("TLS 1.3 (0x0304)"));
    assert!(meanings(&fields, "key_exchange").contains("X25519 public key"));
    assert!(
        meanings(&fields, "named_group").contains("x25519 (0x001d), a group keylab implements")
    );
    assert!(
        meanings(&fields, "named_group").contains("secp256r1 (0x0017), a group keylab implements")
    );
    assert!(meanings(&fields, "signature_scheme").contains("rsa_pss_rsae_sha256 (0x0804)"));
    assert!(meanings(&fields, "legacy_version").contains("supported_versions"));
    for ext in [
        "extension server_name",
        "extension supported_groups",
        "extension key_share",
        "extension supported_versions",
        "extension signature_algorithms",
        "extension psk_key_exchange_modes",
        "extension record_size_limit",
    ] {
        assert_eq!(find(&fields, ext).len(), 1, "{ext}");
    }
}

#[test]
fn server_hello_and_hello_retry_request_are_told_apart() {
    let sh = explain_message(&fixture(SIMPLE_1RTT, "server_hello"));
    assert_eq!(sh.first().map(|f| f.name.as_str()), Some("ServerHello"));
    assert!(meanings(&sh, "cipher_suite").contains("TLS_AES_128_GCM_SHA256"));
    assert!(meanings(&sh, "selected_version").contains("TLS 1.3"));

    let hrr = explain_message(&fixture(HELLO_RETRY_REQUEST, "hello_retry_request"));
    assert_eq!(
        hrr.first().map(|f| f.name.as_str()),
        Some("HelloRetryRequest")
    );
    let random = meanings(&hrr, "random");
    assert!(random.contains("SHA-256(\"HelloRetryRequest\")") && random.contains("§4.1.3"));
    assert!(meanings(&hrr, "selected_group").contains("secp256r1"));
    assert_eq!(find(&hrr, "cookie").len(), 1);
}

#[test]
fn certificate_request_says_what_the_server_asks_for() {
    let fields = explain_message(&fixture(CLIENT_AUTH, "certificate_request"));
    let top = fields.first().expect("a group for the message");
    assert_eq!(top.name, "CertificateRequest");
    assert!(top.meaning.contains("client authentication") && top.meaning.contains("§4.3.2"));
    let schemes = meanings(&fields, "signature_scheme");
    for scheme in [
        "ecdsa_secp256r1_sha256 (0x0403)",
        "rsa_pss_rsae_sha256 (0x0804)",
        "rsa_pkcs1_sha256 (0x0401)",
    ] {
        assert!(schemes.contains(scheme), "{schemes}");
    }
    assert_eq!(find(&fields, "signature_scheme").len(), 15);
    assert!(
        meanings(&fields, "extension signature_algorithms").contains("client's CertificateVerify")
    );
    assert!(
        meanings(&fields, "certificate_request_context length").contains("during the handshake")
    );
}

#[test]
fn certificates_are_summarized_with_pki() {
    let server = explain_message_from(&fixture(SIMPLE_1RTT, "certificate"), Side::Server);
    let data = meanings(&server, "cert_data");
    assert!(
        data.contains("subject CN=rsa") && data.contains("rsa1024 key"),
        "{data}"
    );
    assert!(meanings(&server, "CertificateEntry #0").contains("server's own"));

    let client = explain_message_from(&fixture(CLIENT_AUTH, "client_certificate"), Side::Client);
    let data = meanings(&client, "cert_data");
    assert!(
        data.starts_with("X.509 certificate (DER): subject CN="),
        "{data}"
    );
    assert!(meanings(&client, "CertificateEntry #0").contains("client's own"));
}

#[test]
fn certificate_verify_names_the_side_and_the_scheme() {
    let client = explain_message_from(
        &fixture(CLIENT_AUTH, "client_certificate_verify"),
        Side::Client,
    );
    assert!(meanings(&client, "algorithm").contains("rsa_pss_rsae_sha256 (0x0804)"));
    let signature = meanings(&client, "signature");
    assert!(signature.contains("\"TLS 1.3, client CertificateVerify\""));
    assert!(signature.contains("§4.4.3") && signature.contains("possession"));
    assert!(meanings(&client, "signature length").contains("128 bytes follow"));

    let server = explain_message_from(
        &fixture(CLIENT_AUTH, "server_certificate_verify"),
        Side::Server,
    );
    assert!(meanings(&server, "algorithm").contains("ecdsa_secp256r1_sha256"));
    assert!(meanings(&server, "signature").contains("\"TLS 1.3, server CertificateVerify\""));
}

#[test]
fn finished_ticket_and_psk_offer_are_explained() {
    let fin = explain_message_from(&fixture(SIMPLE_1RTT, "server_finished"), Side::Server);
    let verify = meanings(&fin, "verify_data");
    assert!(verify.contains("HMAC(finished_key") && verify.contains("§4.4.4"));

    let nst = explain_message(&fixture(RESUMED_0RTT_PSK, "s3_new_session_ticket"));
    assert!(meanings(&nst, "ticket_lifetime").starts_with("30 seconds"));
    assert!(meanings(&nst, "max_early_data_size").starts_with("1024 bytes"));

    let ch = explain_message(&fixture(RESUMED_0RTT_PSK, "client_hello"));
    assert_eq!(find(&ch, "binder").len(), 1);
    assert_eq!(find(&ch, "obfuscated_ticket_age").len(), 1);
    assert!(meanings(&ch, "ke_mode").contains("psk_dhe_ke"));
}

#[test]
fn malformed_input_is_explained_as_far_as_it_goes() {
    let ch = fixture(SIMPLE_1RTT, "client_hello");
    let cut = ch.get(..90).expect("long enough");
    let fields = explain_message(cut);
    assert_every_byte_once(cut, &fields, "truncated ClientHello");
    assert!(meanings(&fields, "length").contains("192 bytes of body declared, only 86 present"));
    // The extensions that are whole are still explained; the cut one says so.
    assert!(meanings(&fields, "host_name").contains("\"server\""));
    assert!(meanings(&fields, "extension_data length").contains("truncated"));
    let odd = [0x0d, 0, 0, 6, 0, 0, 3, 0, 0x0d, 0];
    let fields = explain_message(&odd);
    assert_every_byte_once(&odd, &fields, "CertificateRequest with a ragged extension");
    assert_eq!(
        fields.last().map(|f| f.name.as_str()),
        Some("undecodable rest")
    );

    let mut long = ch.clone();
    long.extend_from_slice(&[1, 2]);
    let fields = explain_message(&long);
    assert_every_byte_once(&long, &fields, "ClientHello with trailing bytes");
    assert_eq!(
        fields.last().map(|f| f.name.as_str()),
        Some("trailing bytes")
    );

    let unknown = [99, 0, 0, 2, 0xab, 0xcd];
    let fields = explain_message(&unknown);
    assert_every_byte_once(&unknown, &fields, "unknown type");
    assert!(meanings(&fields, "msg_type").contains("unknown (0x63)"));

    let fields = explain_message(&[]);
    assert_eq!(fields.len(), 1);
    assert!(render(&fields).contains("empty input"));
}

#[test]
fn render_abbreviates_long_values_and_indents_by_depth() {
    let fields = explain_message_from(&fixture(CLIENT_AUTH, "client_certificate"), Side::Client);
    let text = render(&fields);
    let cert_line = text
        .lines()
        .position(|l| l.contains("cert_data:"))
        .expect("a cert_data line");
    let next = text.lines().nth(cert_line + 1).expect("continuation line");
    assert!(
        next.trim_start().starts_with('…') && next.ends_with("bytes)"),
        "{next}"
    );
    assert!(text.starts_with("0000  "));
    assert!(text.contains("      msg_type: certificate (11)"), "{text}");

    // A 32-byte random is shown in full on two lines of 16.
    let ch = render(&explain_message(&fixture(SIMPLE_1RTT, "client_hello")));
    let random = ch
        .lines()
        .position(|l| l.contains("random:"))
        .expect("random");
    let second = ch.lines().nth(random + 1).expect("second line");
    assert_eq!(second.split_whitespace().count(), 16, "{second}");
}

/// Random bytes, mutations and truncations of every message kind: no panic, the leaves
/// always spell the input, and there is always something to show.
#[test]
fn hostile_input_never_panics() {
    let mut samples: Vec<Vec<u8>> = RFC8448_MESSAGES
        .iter()
        .map(|&(trace, label, _)| fixture(trace, label))
        .collect();
    samples.extend([
        vec![24, 0, 0, 1, 1],
        vec![5, 0, 0, 0],
        vec![99, 0, 0, 2, 1, 2],
    ]);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let check = |bytes: &[u8]| {
        for fields in [
            explain_message(bytes),
            explain_message_from(bytes, Side::Client),
        ] {
            assert_every_byte_once(bytes, &fields, "hostile input");
            assert!(!render(&fields).is_empty());
        }
    };
    for sample in &samples {
        for len in 0..=sample.len() {
            check(sample.get(..len).unwrap_or_default());
        }
        for _ in 0..300 {
            let mut bytes = sample.clone();
            for _ in 0..=rng.below(4) {
                let at = rng.below(bytes.len().max(1));
                match rng.below(3) {
                    0 => {
                        if let Some(b) = bytes.get_mut(at) {
                            *b = rng.next() as u8;
                        }
                    }
                    1 => bytes.insert(at.min(bytes.len()), rng.next() as u8),
                    _ => {
                        if at < bytes.len() {
                            bytes.remove(at);
                        }
                    }
                }
            }
            check(&bytes);
        }
    }
    for typ in 0..=255u8 {
        for _ in 0..20 {
            let len = rng.below(200);
            let mut bytes = vec![typ];
            bytes.extend((0..len).map(|_| rng.next() as u8));
            check(&bytes);
        }
    }
}

/// A small deterministic generator for the mutation test.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// (direction seen by the client, message name, bytes) of every handshake message.
type Seen = Arc<Mutex<Vec<(Direction, &'static str, Vec<u8>)>>>;

/// Runs a keylab handshake in memory and returns every message the client saw, then a
/// KeyUpdate each way.
fn keylab_messages(policy: ClientAuth, with_cert: bool) -> Vec<(Direction, &'static str, Vec<u8>)> {
    let h = fixtures::ED25519;
    let root = Certificate::from_pem_bundle(h.root).expect("root");
    let mut server = ServerConfig::new(
        Identity::from_pem(h.server_chain, h.server_key).expect("server identity"),
    );
    if policy != ClientAuth::Off {
        server = server
            .with_client_auth(policy, root.clone())
            .expect("client auth");
    }
    let client = ClientConfig {
        trust_anchors: root,
        identity: with_cert.then(|| {
            Arc::new(Identity::from_pem(h.client_chain, h.client_key).expect("client identity"))
        }),
        ..ClientConfig::default()
    };
    let mut client =
        Connection::client(Arc::new(client), "localhost", ChaCha20Rng::seed_from_u64(7))
            .expect("client");
    let mut server = Connection::server(Arc::new(server), ChaCha20Rng::seed_from_u64(8));
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    client.set_observer(Box::new(move |event| {
        if let TraceEvent::Message {
            direction,
            message,
            bytes,
            ..
        } = event
        {
            sink.lock()
                .expect("lock")
                .push((*direction, message.name(), bytes.to_vec()));
        }
    }));
    let now = datetime!(2026-11-28 12:00 UTC);
    let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
    client.start(now, &mut to_server).expect("ClientHello");
    for _ in 0..10 {
        if to_server.is_empty() && to_client.is_empty() {
            break;
        }
        let input = std::mem::take(&mut to_server);
        server.process(&input, now, &mut to_client).expect("server");
        let input = std::mem::take(&mut to_client);
        client.process(&input, now, &mut to_server).expect("client");
    }
    assert!(!client.is_handshaking() && !server.is_handshaking());
    client.key_update(true, &mut to_server).expect("KeyUpdate");
    server
        .process(&std::mem::take(&mut to_server), now, &mut to_client)
        .expect("server");
    client
        .process(&std::mem::take(&mut to_client), now, &mut to_server)
        .expect("client");
    seen.lock().expect("lock").clone()
}

fn sender(direction: Direction) -> Side {
    match direction {
        Direction::Sent => Side::Client,
        Direction::Received => Side::Server,
    }
}

#[test]
fn keylab_certificate_path_is_explained_byte_for_byte() {
    let messages = keylab_messages(ClientAuth::Required, true);
    let names: Vec<&str> = messages.iter().map(|(_, name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "ClientHello",
            "ServerHello",
            "EncryptedExtensions",
            "CertificateRequest",
            "Certificate",
            "CertificateVerify",
            "Finished",
            "Certificate",
            "CertificateVerify",
            "Finished",
            "KeyUpdate",
            "KeyUpdate",
        ]
    );
    for (direction, name, bytes) in &messages {
        let fields = explain_message_from(bytes, sender(*direction));
        assert_every_byte_once(bytes, &fields, name);
        assert_fully_decoded(&fields, name);
        assert_eq!(fields.first().map(|f| f.name.as_str()), Some(*name));
    }
    let (_, _, client_cv) = messages.get(8).expect("client CertificateVerify");
    let fields = explain_message_from(client_cv, Side::Client);
    assert!(meanings(&fields, "algorithm").contains("ed25519 (0x0807)"));
    assert!(meanings(&fields, "signature").contains("client CertificateVerify"));
    let (_, _, client_cert) = messages.get(7).expect("client Certificate");
    let fields = explain_message_from(client_cert, Side::Client);
    assert!(meanings(&fields, "cert_data").contains("ed25519 key"));
    assert_eq!(find(&fields, "cert_data").len(), 2, "leaf and intermediate");
}

#[test]
fn empty_client_certificate_means_no_certificate() {
    let messages = keylab_messages(ClientAuth::Optional, false);
    let (_, _, empty) = messages
        .iter()
        .find(|(d, name, _)| *d == Direction::Sent && *name == "Certificate")
        .expect("the client answers the CertificateRequest");
    let fields = explain_message_from(empty, Side::Client);
    assert_every_byte_once(empty, &fields, "empty Certificate");
    assert!(meanings(&fields, "certificate_list").contains("the client has no certificate"));
}

/// A PSK handshake has no server CertificateVerify: the caller that knows the transcript
/// says what the server's Finished covers, and the text without it is right on every path.
#[test]
fn finished_names_the_transcript_it_covers() {
    let bytes = fixture(SIMPLE_1RTT, "server_finished");
    let known = super::explain_message_in(
        &bytes,
        Side::Server,
        "ClientHello..server EncryptedExtensions",
    );
    let verify = meanings(&known, "verify_data");
    assert!(
        verify.contains("Transcript-Hash(ClientHello..server EncryptedExtensions)")
            && !verify.contains("CertificateVerify"),
        "{verify}"
    );
    let unknown = meanings(&explain_message_from(&bytes, Side::Server), "verify_data");
    assert!(
        unknown.contains("..EncryptedExtensions on the PSK paths"),
        "{unknown}"
    );
}

/// A browser-like ClientHello with GREASE values (RFC 8701) everywhere a browser puts them
/// and an extension nobody knows: all explained, byte for byte, and said to be GREASE.
#[test]
fn grease_and_unknown_extensions_are_explained() {
    use handshake::msgs::enums::{CipherSuite, ExtensionType, NamedGroup, ProtocolVersion};
    use handshake::msgs::{ClientHello, Extension, Extensions, KeyShareEntry};
    let grease_ext = |v: u16, bytes: &[u8]| Extension::Unknown {
        typ: ExtensionType::from_u16(v),
        bytes: bytes.to_vec(),
    };
    let hello = HandshakeMessage::ClientHello(ClientHello {
        legacy_version: ProtocolVersion::Tls12,
        random: [1; 32],
        legacy_session_id: vec![2; 32],
        cipher_suites: vec![
            CipherSuite::from_u16(0x2a2a),
            CipherSuite::TlsAes128GcmSha256,
        ],
        legacy_compression_methods: vec![0],
        extensions: Extensions(vec![
            grease_ext(0x0a0a, &[]),
            Extension::SupportedGroups(vec![NamedGroup::from_u16(0x3a3a), NamedGroup::X25519]),
            Extension::KeyShareClientHello(vec![
                KeyShareEntry {
                    group: NamedGroup::from_u16(0x3a3a),
                    key_exchange: vec![0],
                },
                KeyShareEntry {
                    group: NamedGroup::X25519,
                    key_exchange: vec![9; 32],
                },
            ]),
            Extension::SupportedVersionsClientHello(vec![
                ProtocolVersion::from_u16(0x5a5a),
                ProtocolVersion::Tls13,
            ]),
            grease_ext(0x4469, &[0, 3, 2, b'h', b'2']),
            grease_ext(0xfafa, &[0]),
        ]),
    });
    let bytes = hello.to_bytes().expect("encodes");
    let fields = explain_message_from(&bytes, Side::Client);
    assert_every_byte_once(&bytes, &fields, "GREASE ClientHello");
    assert_fully_decoded(&fields, "GREASE ClientHello");
    assert!(meanings(&fields, "cipher_suite").contains("unknown (0x2a2a): a GREASE value"));
    assert!(meanings(&fields, "named_group").contains("unknown (0x3a3a): a GREASE value"));
    assert!(meanings(&fields, "group").contains("unknown (0x3a3a): a GREASE value"));
    assert!(meanings(&fields, "version").contains("unknown (0x5a5a): a GREASE value"));
    let types = meanings(&fields, "extension_type");
    assert!(
        types.contains("unknown (0x0a0a): a GREASE value"),
        "{types}"
    );
    assert!(
        types.contains("unknown (0x4469): not known here"),
        "{types}"
    );
    let data = find(&fields, "extension_data");
    assert_eq!(
        data.len(),
        2,
        "the empty GREASE extension has only its length"
    );
    assert!(data.iter().any(|f| f.hex == "0003026832"));
    assert!(meanings(&fields, "extension_data").contains("GREASE extension"));
    assert!(meanings(&fields, "extension_data").contains("not decoded here: raw bytes"));
}

/// Every field name the codec records has a meaning here (no generic fallback text).
#[test]
fn every_recorded_field_has_a_meaning() {
    let mut all: Vec<(Vec<u8>, Side)> = RFC8448_MESSAGES
        .iter()
        .map(|&(trace, label, sender)| (fixture(trace, label), sender))
        .collect();
    for (direction, _, bytes) in keylab_messages(ClientAuth::Required, true) {
        all.push((bytes, sender(direction)));
    }
    for (bytes, sender) in all {
        for f in explain_message_from(&bytes, sender) {
            assert!(
                f.meaning != "a field of this message" && !f.meaning.is_empty(),
                "{} at {} has no meaning",
                f.name,
                f.offset
            );
            assert!(!f.group || !f.meaning.ends_with(" bytes"), "{}", f.name);
        }
    }
}

/// ALPN (RFC 7301): the client's names and the server's one answer shown as text, every
/// byte explained, and the answer called the server's choice.
#[test]
fn alpn_names_are_shown_as_text() {
    use handshake::msgs::enums::{CipherSuite, ProtocolVersion};
    use handshake::msgs::{ClientHello, EncryptedExtensions, Extension, Extensions};
    let hello = HandshakeMessage::ClientHello(ClientHello {
        legacy_version: ProtocolVersion::Tls12,
        random: [1; 32],
        legacy_session_id: Vec::new(),
        cipher_suites: vec![CipherSuite::TlsAes128GcmSha256],
        legacy_compression_methods: vec![0],
        extensions: Extensions(vec![
            Extension::SupportedVersionsClientHello(vec![ProtocolVersion::Tls13]),
            Extension::Alpn(vec![b"h2".to_vec(), b"http/1.1".to_vec()]),
        ]),
    });
    let bytes = hello.to_bytes().expect("encodes");
    let fields = explain_message_from(&bytes, Side::Client);
    assert_every_byte_once(&bytes, &fields, "ClientHello with ALPN");
    assert_fully_decoded(&fields, "ClientHello with ALPN");
    let names = meanings(&fields, "protocol_name");
    assert!(
        names.contains(
            "\"h2\" (HTTP/2 over TLS, RFC 9113): a protocol the client offers (RFC 7301 §3.1)"
        ) && names.contains("\"http/1.1\""),
        "{names}"
    );
    assert!(
        meanings(&fields, "protocol_name_list")
            .contains("2 protocol name(s), most preferred first"),
        "{}",
        meanings(&fields, "protocol_name_list")
    );
    assert!(meanings(&fields, "extension_type").contains("application_layer_protocol_negotiation"));
    let ee = HandshakeMessage::EncryptedExtensions(EncryptedExtensions {
        extensions: Extensions(vec![Extension::Alpn(vec![b"http/1.1".to_vec()])]),
    });
    let bytes = ee.to_bytes().expect("encodes");
    let fields = explain_message_from(&bytes, Side::Server);
    assert_every_byte_once(&bytes, &fields, "EncryptedExtensions with ALPN");
    assert_fully_decoded(&fields, "EncryptedExtensions with ALPN");
    let chosen = meanings(&fields, "protocol_name");
    assert!(
        chosen.contains("\"http/1.1\" (HTTP/1.1, RFC 9112): the server's choice"),
        "{chosen}"
    );
    for f in &fields {
        assert!(
            f.meaning != "a field of this message",
            "{} has no meaning",
            f.name
        );
        assert!(!f.group || !f.meaning.ends_with(" bytes"), "{}", f.name);
    }
}
