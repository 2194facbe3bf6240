//! ALPN (RFC 7301) in memory: negotiation on both sides in the server's order, no
//! overlap, a server without protocols, an answer the client did not ask for or did not
//! offer, malformed lists, and resumption and HelloRetryRequest with ALPN.

mod common;

use std::sync::Arc;

use common::{Dir, MemoryKeyLog, Pair, client_config, edited_hello, server_config, split_records};
use handshake::codec::Reader;
use handshake::error::{DecodeReason, Invalid};
use handshake::key_schedule::TrafficKeys;
use handshake::msgs::HandshakeMessage;
use handshake::msgs::alert::AlertDescription;
use handshake::msgs::encrypted_extensions::EncryptedExtensions;
use handshake::msgs::enums::{ContentType, ExtensionContext, ExtensionType, ProtocolVersion};
use handshake::msgs::extensions::{Extension, Extensions};
use handshake::record::{OpaqueRecord, RecordDecrypter, RecordEncrypter};
use handshake::{
    ClientAuth, ClientConfig, Error, Path, ServerConfig, SessionCache, Summary, SupportedSuite,
    Tickets,
};

fn names(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|n| n.as_bytes().to_vec()).collect()
}

fn client(offer: &[&str]) -> ClientConfig {
    ClientConfig {
        alpn_protocols: names(offer),
        ..client_config(false, false)
    }
}

fn server(speaks: &[&str]) -> ServerConfig {
    ServerConfig {
        alpn_protocols: names(speaks),
        ..server_config(false, ClientAuth::Off)
    }
}

/// A completed handshake's summaries (client, server).
fn connect(client: ClientConfig, server: ServerConfig, seed: u64) -> (Summary, Summary) {
    let mut pair = Pair::with_seed(client, server, "localhost", seed);
    pair.handshake();
    pair.assert_transitions_listed();
    (
        pair.client.summary().expect("client summary").clone(),
        pair.server.summary().expect("server summary").clone(),
    )
}

#[test]
fn both_sides_agree_on_the_protocol() {
    let (c, s) = connect(client(&["h2", "http/1.1"]), server(&["http/1.1"]), 1);
    assert_eq!(c.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(s.alpn, c.alpn);
    assert!(
        c.one_line().contains(" alpn=\"http/1.1\""),
        "{}",
        c.one_line()
    );
    assert!(
        s.one_line().contains(" alpn=\"http/1.1\""),
        "{}",
        s.one_line()
    );
}

#[test]
fn the_server_order_decides() {
    // RFC 7301 §3.2: "the server SHALL select the most highly preferred protocol that it
    // supports and that is also advertised by the client".
    let (c, s) = connect(client(&["a", "b", "c"]), server(&["c", "b"]), 2);
    assert_eq!(s.alpn.as_deref(), Some(&b"c"[..]));
    assert_eq!(c.alpn, s.alpn);
}

#[test]
fn no_overlap_is_no_application_protocol() {
    let mut pair = Pair::new(client(&["h2"]), server(&["http/1.1"]));
    let (client_err, server_err) = pair.drive_until_error();
    let server_err = server_err.expect("server refuses");
    assert_eq!(
        server_err,
        Error::NoApplicationProtocol {
            offered: names(&["h2"]),
            accepted: names(&["http/1.1"]),
        }
    );
    assert_eq!(
        server_err.alert(),
        Some(AlertDescription::NoApplicationProtocol)
    );
    assert_eq!(AlertDescription::NoApplicationProtocol.to_u8(), 120);
    assert_eq!(
        server_err.to_string(),
        "no application protocol in common: the client offers [\"h2\"], this server speaks \
         [\"http/1.1\"]"
    );
    assert_eq!(
        client_err,
        Some(Error::PeerAlert(AlertDescription::NoApplicationProtocol))
    );
}

#[test]
fn without_protocols_either_side_leaves_alpn_out() {
    // A server with no protocols ignores the client's ALPN (RFC 7301 §3.2 lets it).
    let (c, s) = connect(client(&["h2"]), server(&[]), 3);
    assert_eq!((c.alpn, s.alpn), (None, None));
    // A client that offers nothing gets nothing, even from a server with protocols.
    let (c, s) = connect(client(&[]), server(&["http/1.1"]), 4);
    assert_eq!((c.alpn.clone(), s.alpn), (None, None));
    assert!(!c.one_line().contains("alpn"), "{}", c.one_line());
}

#[test]
fn no_alpn_offered_means_no_extension_on_the_wire() {
    let pair = Pair::new(client(&[]), server(&["http/1.1"]));
    let Ok(HandshakeMessage::ClientHello(ch)) = HandshakeMessage::decode(&pair.client_out[5..])
    else {
        panic!("not a ClientHello");
    };
    assert!(
        !ch.extensions
            .contains(ExtensionType::ApplicationLayerProtocolNegotiation)
    );
    let pair = Pair::new(client(&["h2", "http/1.1"]), server(&[]));
    let Ok(HandshakeMessage::ClientHello(ch)) = HandshakeMessage::decode(&pair.client_out[5..])
    else {
        panic!("not a ClientHello");
    };
    assert_eq!(ch.extensions.alpn(), Some(&names(&["h2", "http/1.1"])[..]));
}

/// Runs `client` against a server speaking `speaks` whose EncryptedExtensions is replaced
/// by `ee` (re-encrypted under the server's handshake key, which the key log gives); returns
/// the client's error.
fn client_error_with_ee(client: ClientConfig, speaks: &[&str], ee: Extensions) -> Option<Error> {
    let log = Arc::new(MemoryKeyLog::default());
    let server = ServerConfig {
        key_log: Some(log.clone()),
        cipher_suites: vec![SupportedSuite::Chacha20Poly1305Sha256],
        ..server(speaks)
    };
    let mut pair = Pair::new(client, server);
    pair.transfer(Dir::C2S);
    let keys = TrafficKeys::derive(
        SupportedSuite::Chacha20Poly1305Sha256,
        &log.secret("SERVER_HANDSHAKE_TRAFFIC_SECRET"),
    );
    let mut out = Vec::new();
    let mut replaced = false;
    for record in split_records(&pair.server_out) {
        if record[0] != ContentType::ApplicationData.to_u8() || replaced {
            out.extend_from_slice(&record);
            continue;
        }
        // The first protected record starts with EncryptedExtensions.
        let plain = RecordDecrypter::new(&keys)
            .decrypt(OpaqueRecord {
                typ: ContentType::ApplicationData,
                legacy_version: ProtocolVersion::Tls12,
                payload: record[5..].to_vec(),
            })
            .expect("decrypts");
        let ee_len = 4 + usize::from(u16::from_be_bytes([plain.payload[2], plain.payload[3]]));
        assert_eq!(plain.payload[0], 8, "EncryptedExtensions first");
        let mut content = HandshakeMessage::EncryptedExtensions(EncryptedExtensions {
            extensions: ee.clone(),
        })
        .to_bytes()
        .expect("encodes");
        content.extend_from_slice(&plain.payload[ee_len..]);
        RecordEncrypter::new(&keys)
            .encrypt(ContentType::Handshake, &content, 0, &mut out)
            .expect("encrypts");
        replaced = true;
    }
    assert!(replaced, "no protected record");
    pair.server_out = out;
    pair.transfer(Dir::S2C);
    pair.client_error.clone()
}

fn alpn_ee(name: &str) -> Extensions {
    Extensions(vec![Extension::Alpn(names(&[name]))])
}

#[test]
fn the_forged_ee_helper_passes_an_honest_answer() {
    // The same EncryptedExtensions as the server's own: the client takes it.
    let err = client_error_with_ee(client(&["http/1.1"]), &["http/1.1"], alpn_ee("http/1.1"));
    assert_eq!(err, None);
}

#[test]
fn unsolicited_alpn_is_unsupported_extension() {
    let err = client_error_with_ee(client(&[]), &["http/1.1"], alpn_ee("http/1.1"))
        .expect("client refuses");
    assert_eq!(
        err,
        Error::UnsupportedExtension {
            message: "EncryptedExtensions",
            extension: ExtensionType::ApplicationLayerProtocolNegotiation,
        }
    );
    assert_eq!(err.alert(), Some(AlertDescription::UnsupportedExtension));
}

#[test]
fn a_protocol_the_client_did_not_offer_is_illegal_parameter() {
    let err = client_error_with_ee(client(&["http/1.1"]), &["http/1.1"], alpn_ee("h2"))
        .expect("client refuses");
    assert_eq!(
        err,
        Error::InvalidMessage {
            message: "EncryptedExtensions",
            reason: Invalid::AlpnNotOffered(b"h2".to_vec()),
        }
    );
    assert_eq!(err.alert(), Some(AlertDescription::IllegalParameter));
    assert_eq!(
        err.to_string(),
        "invalid EncryptedExtensions: ALPN selects \"h2\", which the client did not offer"
    );
}

#[test]
fn two_names_from_the_server_are_illegal_parameter() {
    let ee = Extensions(vec![Extension::Alpn(names(&["http/1.1", "h2"]))]);
    let err = client_error_with_ee(client(&["http/1.1", "h2"]), &["http/1.1"], ee)
        .expect("client refuses");
    let Error::Decode(decode) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        decode.reason,
        DecodeReason::ServerProtocolCount { count: 2 }
    );
    assert_eq!(err.alert(), Some(AlertDescription::IllegalParameter));
}

fn decode_alpn(data: &[u8], context: ExtensionContext) -> Result<Extensions, Error> {
    let mut block = vec![0, 16];
    block.extend_from_slice(&(data.len() as u16).to_be_bytes());
    block.extend_from_slice(data);
    let mut bytes = (block.len() as u16).to_be_bytes().to_vec();
    bytes.extend_from_slice(&block);
    let mut r = Reader::new(&bytes);
    let exts = Extensions::decode(&mut r, "extensions", 0..=0xffff, context)?;
    r.expect_empty("extensions")?;
    Ok(exts)
}

#[test]
fn lengths_outside_rfc_7301_bounds_are_decode_error() {
    use ExtensionContext::{ClientHello as CH, EncryptedExtensions as EE};
    let cases: [(&[u8], ExtensionContext); 6] = [
        // protocol_name_list<2..2^16-1>: empty.
        (&[0, 0], CH),
        (&[0, 0], EE),
        // ProtocolName<1..2^8-1>: empty.
        (&[0, 1, 0], CH),
        (&[0, 2, 0, 0], CH),
        // A name running past the list.
        (&[0, 2, 5, b'a'], CH),
        // The list running past extension_data.
        (&[0, 9, 2, b'h', b'2'], EE),
    ];
    for (data, context) in cases {
        let err = decode_alpn(data, context).expect_err("malformed");
        assert_eq!(
            err.alert(),
            Some(AlertDescription::DecodeError),
            "{data:?}: {err}"
        );
    }
    let ok = decode_alpn(&[0, 5, 2, b'h', b'2', 1, b'x'], CH).expect("two names");
    assert_eq!(ok.alpn(), Some(&names(&["h2", "x"])[..]));
    let ok = decode_alpn(&[0, 3, 2, b'h', b'2'], EE).expect("one name");
    assert_eq!(ok.alpn(), Some(&names(&["h2"])[..]));
    // Re-encoding gives the same bytes.
    let mut out = Vec::new();
    ok.encode(&mut out, "extensions").expect("encodes");
    assert_eq!(out, [0, 9, 0, 16, 0, 5, 0, 3, 2, b'h', b'2']);
}

#[test]
fn a_client_hello_with_an_empty_list_or_name_gets_decode_error() {
    for bad in [vec![], vec![Vec::new()]] {
        let mut pair = edited_hello(|ch| ch.extensions.0.push(Extension::Alpn(bad.clone())));
        let (_, server_err) = pair.drive_until_error();
        let err = server_err.expect("server refuses");
        assert_eq!(err.alert(), Some(AlertDescription::DecodeError), "{err}");
    }
}

#[test]
fn resumption_negotiates_alpn_again() {
    let cache = Arc::new(SessionCache::default());
    let tickets = Arc::new(Tickets::new(&[9; 32]));
    let client = ClientConfig {
        session_cache: Some(cache.clone()),
        ..client(&["h2", "http/1.1"])
    };
    let server = server(&["http/1.1"]).with_tickets(tickets);
    let (c, _) = connect(client.clone(), server.clone(), 5);
    assert_eq!(c.path, Path::EphemeralDh);
    assert_eq!(cache.len("localhost"), 1);
    let (c, s) = connect(client, server, 6);
    assert_eq!(s.path, Path::ResumptionDhe);
    assert_eq!(c.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(s.alpn, c.alpn);
}

#[test]
fn hello_retry_keeps_alpn() {
    let client = ClientConfig {
        empty_key_share_for_testing_only: true,
        ..client(&["http/1.1"])
    };
    let (c, s) = connect(client, server(&["http/1.1"]), 7);
    assert!(c.hello_retry && s.hello_retry);
    assert_eq!(c.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(s.alpn, c.alpn);
}

#[test]
fn a_client_refuses_names_it_could_not_send() {
    for bad in [Vec::new(), vec![b'x'; 256]] {
        let config = ClientConfig {
            alpn_protocols: vec![b"h2".to_vec(), bad],
            ..client_config(false, false)
        };
        let err = handshake::Connection::client(
            Arc::new(config),
            "localhost",
            <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1),
        )
        .err()
        .expect("refused");
        assert_eq!(
            err,
            Error::Usage("ALPN protocol names must be 1 to 255 bytes (RFC 7301 §3.1)")
        );
    }
}
