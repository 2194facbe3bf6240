//! Reads the RFC 8448 vector files of `fixtures/data/rfc8448/`.
//!
//! Each value is a `## label: description` line followed by the RFC's spaced hex and the
//! compact hex; the two must agree. The "EXTRA" section of rfc8448_simple_1rtt.txt also has
//! `name = hex` lines (the 32-byte ChaCha20 key expansions), read the same way.

use std::collections::BTreeMap;

/// The labels of rfc8448_simple_1rtt.txt's handshake messages through the server's
/// Finished, in transcript order (RFC 8448 §3).
pub const SIMPLE_1RTT_FLIGHT: [&str; 6] = [
    "client_hello",
    "server_hello",
    "encrypted_extensions",
    "certificate",
    "certificate_verify",
    "server_finished",
];

/// The labels of rfc8448_client_auth.txt's handshake messages, in transcript order.
pub const CLIENT_AUTH_FLIGHT: [&str; 10] = [
    "client_hello",
    "server_hello",
    "encrypted_extensions",
    "certificate_request",
    "server_certificate",
    "server_certificate_verify",
    "server_finished",
    "client_certificate",
    "client_certificate_verify",
    "client_finished",
];

/// The values of one vector file, by label.
pub struct Vectors {
    file: &'static str,
    values: BTreeMap<String, Vec<u8>>,
}

impl Vectors {
    /// Loads and parses `file` (a name in `fixtures/data/rfc8448/`) through the fixtures
    /// crate's parser.
    pub fn load(file: &'static str) -> Self {
        use fixtures::rfc8448 as v;
        let text = match file {
            "rfc8448_simple_1rtt.txt" => v::SIMPLE_1RTT,
            "rfc8448_simple_1rtt_client_finished.txt" => v::SIMPLE_1RTT_CLIENT_FINISHED,
            "rfc8448_client_auth.txt" => v::CLIENT_AUTH,
            "rfc8448_hello_retry_request.txt" => v::HELLO_RETRY_REQUEST,
            "rfc8448_resumed_0rtt_psk.txt" => v::RESUMED_0RTT_PSK,
            other => panic!("unknown vector file {other}"),
        };
        let parsed = v::parse(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        Self {
            file,
            values: parsed.into_iter().map(|v| (v.label, v.bytes)).collect(),
        }
    }

    /// The value labelled `label`.
    pub fn get(&self, label: &str) -> &[u8] {
        self.values
            .get(label)
            .unwrap_or_else(|| panic!("{}: no value labelled {label}", self.file))
    }

    /// The 32-byte value labelled `label`.
    pub fn get32(&self, label: &str) -> [u8; 32] {
        self.get(label)
            .try_into()
            .unwrap_or_else(|_| panic!("{}: {label} is not 32 bytes", self.file))
    }

    /// How many values the file holds.
    pub fn len(&self) -> usize {
        self.values.len()
    }
}

#[test]
fn every_file_parses() {
    for (file, at_least) in [
        ("rfc8448_simple_1rtt.txt", 38),
        ("rfc8448_simple_1rtt_client_finished.txt", 4),
        ("rfc8448_client_auth.txt", 40),
        ("rfc8448_hello_retry_request.txt", 40),
        ("rfc8448_resumed_0rtt_psk.txt", 20),
    ] {
        let v = Vectors::load(file);
        assert!(v.len() >= at_least, "{file}: only {} values", v.len());
    }
    let simple = Vectors::load("rfc8448_simple_1rtt.txt");
    assert_eq!(simple.get("server_hs_key32").len(), 32);
    assert_eq!(simple.get("client_ap_iv12").len(), 12);
}
