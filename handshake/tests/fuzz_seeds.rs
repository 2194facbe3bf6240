//! Replays the committed fuzz corpora on stable through the same entry points the
//! cargo-fuzz targets call (`handshake::fuzzing`), so CI exercises them on every run:
//!
//! - `fuzz/seeds/<target>/` for `client`, `server`, `client_messages`, `server_messages`,
//!   `codec` and `record`: recorded from real transcripts; the tests assert they go deep
//!   (the connection targets' seeds reach CONNECTED and a clean close).
//! - `fuzz/regressions/<target>/`: inputs the fuzzer once found; they
//!   must run without a panic. A folder may be empty (a `.gitkeep` holds it in git), but
//!   it must exist.
//!
//! A missing folder, or an empty seeds folder, fails the tests: a replay over nothing
//! proves nothing. Each replay prints how many inputs it ran (`cargo test -- --nocapture`).
//!
//! The seeds are generated, never edited by hand: a test below fails when they differ from
//! a fresh recording. Regenerate them with
//! `cargo test -p handshake --test fuzz_seeds -- --ignored regenerate_seeds`.

use std::collections::BTreeMap;
use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use handshake::Path as HandshakePath;
use handshake::fuzzing::{self, Credentials, Setup, seeds};
use handshake::states::ClientState;

const TARGETS: [&str; 6] = [
    "client",
    "server",
    "client_messages",
    "server_messages",
    "codec",
    "record",
];

fn credentials(h: fixtures::Hierarchy) -> Credentials<'static> {
    Credentials {
        root: h.root,
        server_chain: h.server_chain,
        server_key: h.server_key,
        client_chain: h.client_chain,
        client_key: h.client_key,
    }
}

/// The setup of the fuzz targets: the Ed25519 hierarchy first, then RSA.
fn setup() -> Setup {
    Setup::new(&[credentials(fixtures::ED25519), credentials(fixtures::RSA)])
        .expect("fixture credentials")
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Every input of `fuzz/<kind>/<target>/`, by name; panics when the folder is missing.
/// Dot files (`.gitkeep`) and READMEs are not inputs.
fn files(kind: &str, target: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = fuzz_dir().join(kind).join(target);
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!("fuzz/{kind}/{target} cannot be read ({e}); every target has one")
    });
    entries
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("UTF-8 file name")
                .to_owned();
            (name, path)
        })
        .filter(|(name, _)| !name.starts_with('.') && !name.starts_with("README"))
        .map(|(name, path)| (name, fs::read(&path).expect("readable input")))
        .collect()
}

/// The seeds of `target`, which must not be empty.
fn seed_files(target: &str) -> BTreeMap<String, Vec<u8>> {
    let found = files("seeds", target);
    assert!(!found.is_empty(), "no seeds in fuzz/seeds/{target}");
    eprintln!("fuzz/seeds/{target} (inputs: {})", found.len());
    found
}

#[test]
fn client_seeds_reach_connected_and_a_clean_close() {
    client_target_seeds_connect("client", fuzzing::client);
}

#[test]
fn server_seeds_reach_connected_and_a_clean_close() {
    server_target_seeds_connect("server", fuzzing::server);
}

/// Every seed of a client-side `target` takes the connection to CONNECTED, through the
/// data around a KeyUpdate, to the server's close_notify, on the path its name says.
fn client_target_seeds_connect(target: &str, run: fn(&Setup, &[u8]) -> fuzzing::Outcome) {
    let setup = setup();
    for (name, input) in seed_files(target) {
        let outcome = run(&setup, &input);
        assert_eq!(outcome.error, None, "{name}");
        assert!(outcome.handshake_complete, "{name}: {outcome:?}");
        assert_eq!(outcome.state, ClientState::Connected.into(), "{name}");
        assert!(outcome.peer_closed, "{name}: close_notify not reached");
        assert_eq!(
            outcome.application_data,
            "hello from the server".len() + "after the key update".len(),
            "{name}: the data around the KeyUpdate"
        );
        check_path(&name, outcome.path, outcome.hello_retry);
    }
}

/// Every seed of a server-side `target` completes the handshake, delivers the client's
/// data and reaches its close_notify, on the path its name says.
fn server_target_seeds_connect(target: &str, run: fn(&Setup, &[u8]) -> fuzzing::Outcome) {
    let setup = setup();
    for (name, input) in seed_files(target) {
        let outcome = run(&setup, &input);
        assert_eq!(outcome.error, None, "{name}");
        assert!(outcome.handshake_complete, "{name}: {outcome:?}");
        assert!(outcome.peer_closed, "{name}: close_notify not reached");
        assert_eq!(outcome.application_data, "hello from the client".len());
        check_path(&name, outcome.path, outcome.hello_retry);
    }
}

/// The seed's name says which path and whether HelloRetryRequest was involved.
fn check_path(name: &str, path: Option<HandshakePath>, hello_retry: bool) {
    let expected = if name.contains("-psk") {
        HandshakePath::PskDhe
    } else if name.contains("-resumption") {
        HandshakePath::ResumptionDhe
    } else if name.contains("-certificate") && !name.ends_with("auth-off") {
        HandshakePath::Certificate
    } else {
        HandshakePath::EphemeralDh
    };
    assert_eq!(path, Some(expected), "{name}");
    assert_eq!(hello_retry, name.contains("-hrr-"), "{name}");
}

#[test]
fn client_messages_seeds_reach_connected_and_a_clean_close() {
    client_target_seeds_connect("client_messages", fuzzing::client_messages);
}

#[test]
fn server_messages_seeds_reach_connected_and_a_clean_close() {
    server_target_seeds_connect("server_messages", fuzzing::server_messages);
}

/// Without the computed fields the same messages stop where the cryptography is checked:
/// the replays above pass because the peer's keys, binders, signatures and verify_data
/// are right, not because nothing is checked.
#[test]
fn message_seeds_fail_without_computed_fields() {
    let setup = setup();
    let (name, input) = seed_files("client_messages")
        .into_iter()
        .find(|(name, _)| name == "h0-certificate-auth-required")
        .expect("the certificate seed");
    let plain: Vec<u8> = std::iter::once(input[0])
        .chain(fuzzing::Items::new(&input[1..]).flat_map(|item| {
            let item = match item {
                fuzzing::Item::Computed(body) => fuzzing::Item::Handshake(body),
                other => other,
            };
            let mut bytes = Vec::new();
            item.encode(&mut bytes);
            bytes
        }))
        .collect();
    let outcome = fuzzing::client_messages(&setup, &plain);
    assert_eq!(
        outcome.error.and_then(|e| e.alert()),
        Some(handshake::msgs::enums::AlertDescription::DecryptError),
        "{name}: the recorded signature does not match the peer's transcript"
    );
}

/// A message split over two records joins the peer's transcript once complete: the
/// Certificate in two fragments still leads to CONNECTED (the CertificateVerify and
/// Finished computed after it are right).
#[test]
fn a_message_split_over_records_still_connects() {
    let setup = setup();
    let input = seed_files("client_messages")
        .remove("h0-certificate-auth-required")
        .expect("the certificate seed");
    let mut split = vec![input[0]];
    for item in fuzzing::Items::new(&input[1..]) {
        match item {
            fuzzing::Item::Handshake(body) if body[0] == 11 => {
                fuzzing::Item::Handshake(&body[..2]).encode(&mut split);
                fuzzing::Item::Handshake(&body[2..]).encode(&mut split);
            }
            other => other.encode(&mut split),
        }
    }
    assert!(split.len() > input.len(), "no Certificate item");
    let outcome = fuzzing::client_messages(&setup, &split);
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.state, ClientState::Connected.into());
}

#[test]
fn message_seeds_cover_every_path() {
    for target in ["client_messages", "server_messages"] {
        let names: Vec<String> = seed_files(target).into_keys().collect();
        for part in [
            "-anonymous-",
            "-certificate-",
            "-hrr-",
            "-psk-",
            "auth-required",
        ] {
            assert!(
                names.iter().any(|n| n.contains(part)),
                "{target}: no seed with {part}"
            );
        }
    }
    let names: Vec<String> = seed_files("server_messages").into_keys().collect();
    assert!(
        names.iter().any(|n| n.contains("-resumption-")),
        "{names:?}"
    );
}

#[test]
fn seeds_cover_both_paths_hrr_and_every_policy() {
    let names: Vec<String> = seed_files("client").into_keys().collect();
    for part in [
        "h0-",
        "h1-",
        "-anonymous-",
        "-certificate-",
        "-hrr-",
        "-psk-",
        "-psk-hrr-",
        "auth-off",
        "auth-optional",
        "auth-required",
    ] {
        assert!(
            names.iter().any(|n| n.contains(part)),
            "no seed with {part}"
        );
    }
}

#[test]
fn server_seeds_include_a_resumption() {
    let names: Vec<String> = seed_files("server").into_keys().collect();
    assert!(
        names.iter().any(|n| n.contains("-resumption-")),
        "{names:?}"
    );
}

#[test]
fn codec_seeds_decode_and_round_trip() {
    let seeds = seed_files("codec");
    for (name, input) in &seeds {
        let msg = fuzzing::codec(input).unwrap_or_else(|| panic!("{name} does not decode"));
        assert!(
            name.starts_with(msg.name()),
            "{name} holds a {}",
            msg.name()
        );
    }
    for kind in [
        "ClientHello",
        "ServerHello",
        "HelloRetryRequest",
        "EncryptedExtensions",
        "CertificateRequest",
        "Certificate",
        "CertificateVerify",
        "Finished",
        "KeyUpdate",
    ] {
        let prefix = format!("{kind}-");
        assert!(
            seeds.keys().any(|n| n.starts_with(&prefix)),
            "no {kind} seed"
        );
    }
}

#[test]
fn the_codec_exemption_is_exactly_a_hello_without_extensions_block() {
    let seeds = seed_files("codec");
    let hello = seeds
        .iter()
        .find(|(name, _)| name.starts_with("ClientHello-rfc8448-simple"))
        .map(|(_, bytes)| bytes.clone())
        .expect("the RFC 8448 ClientHello");
    let msg = fuzzing::codec(&hello).expect("decodes");
    assert_eq!(fuzzing::expected_encoding(&hello, &msg), hello);

    // The same hello cut after legacy_compression_methods: body = version, random,
    // session id <1+0>, cipher suites <2+6>, compression <1+1>.
    let body_len = 2 + 32 + 1 + 2 + 6 + 1 + 1;
    let mut old_style = vec![1, 0, 0, body_len as u8];
    old_style.extend_from_slice(&hello[4..4 + body_len]);
    let msg = fuzzing::codec(&old_style).expect("an old-style hello decodes");
    let expected = fuzzing::expected_encoding(&old_style, &msg);
    assert_eq!(expected.len(), old_style.len() + 2);
    assert_eq!(expected[..4], [1, 0, 0, body_len as u8 + 2]);
    assert_eq!(expected[expected.len() - 2..], [0, 0]);

    // With an empty block that is really there, the bytes must match exactly again.
    let msg = fuzzing::codec(&expected).expect("decodes");
    assert_eq!(fuzzing::expected_encoding(&expected, &msg), expected);
}

#[test]
fn record_seeds_run_without_error() {
    for (name, input) in seed_files("record") {
        let outcome = fuzzing::record(&input);
        assert_eq!(outcome.error, None, "{name}");
        assert_eq!(
            outcome.decoded_messages, outcome.handshake_messages,
            "{name}"
        );
        let (messages, decrypted) = if name.starts_with("mixed") {
            (5, 8)
        } else {
            (2, 0)
        };
        assert_eq!(outcome.handshake_messages, messages, "{name}: {outcome:?}");
        assert_eq!(outcome.decrypted, decrypted, "{name}: protected records");
    }
}

#[test]
fn regression_inputs_run_without_panic() {
    let setup = setup();
    for target in TARGETS {
        let inputs = files("regressions", target);
        eprintln!("fuzz/regressions/{target} (inputs: {})", inputs.len());
        for (name, input) in inputs {
            eprintln!("replaying fuzz/regressions/{target}/{name}");
            match target {
                "client" => _ = black_box(fuzzing::client(&setup, &input)),
                "server" => _ = black_box(fuzzing::server(&setup, &input)),
                "client_messages" => _ = black_box(fuzzing::client_messages(&setup, &input)),
                "server_messages" => _ = black_box(fuzzing::server_messages(&setup, &input)),
                "codec" => _ = black_box(fuzzing::codec(&input)),
                _ => _ = black_box(fuzzing::record(&input)),
            }
        }
    }
}

/// Every cargo-fuzz target has a replay (here, or `pki`'s in `pki/tests/fuzz_seeds.rs`)
/// and both corpus folders.
#[test]
fn every_fuzz_target_is_replayed() {
    let entries = fs::read_dir(fuzz_dir().join("fuzz_targets")).expect("fuzz/fuzz_targets");
    let mut targets: Vec<String> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
        .collect();
    targets.sort();
    let mut replayed: Vec<&str> = TARGETS.iter().copied().chain(["pki"]).collect();
    replayed.sort();
    assert_eq!(
        targets, replayed,
        "fuzz/fuzz_targets and the replays disagree"
    );
    for target in &targets {
        for kind in ["seeds", "regressions"] {
            let dir = fuzz_dir().join(kind).join(target);
            assert!(dir.is_dir(), "fuzz/{kind}/{target} is missing");
        }
    }
}

/// Every seed, freshly recorded.
fn generate() -> Vec<seeds::Seed> {
    let setup = setup();
    let mut all = seeds::handshake_seeds(&setup).expect("recording");
    all.extend(handshake::fuzzing::message_seeds::message_seeds(&setup).expect("recording"));
    all.extend(seeds::record_seeds().expect("record seeds"));
    all.extend(rfc8448_messages());
    all
}

/// Every handshake message of the RFC 8448 traces, as `codec` seeds: they bring what
/// keylab itself never sends (PSK and early_data extensions, NewSessionTicket,
/// EndOfEarlyData, other suites and groups).
fn rfc8448_messages() -> Vec<seeds::Seed> {
    use fixtures::rfc8448 as v;
    let mut out = Vec::new();
    for (file, text) in [
        ("simple", v::SIMPLE_1RTT),
        ("client-auth", v::CLIENT_AUTH),
        ("hrr", v::HELLO_RETRY_REQUEST),
        ("resumed", v::RESUMED_0RTT_PSK),
    ] {
        for value in v::parse(text).expect("RFC 8448 vectors") {
            if let Ok(msg) = handshake::msgs::HandshakeMessage::decode(&value.bytes) {
                out.push(seeds::Seed {
                    target: "codec",
                    name: format!("{}-rfc8448-{file}-{}", msg.name(), value.label),
                    bytes: value.bytes,
                });
            }
        }
    }
    out
}

#[test]
fn committed_seeds_match_a_fresh_recording() {
    let fresh = generate();
    for target in TARGETS {
        let expected: BTreeMap<String, Vec<u8>> = fresh
            .iter()
            .filter(|s| s.target == target)
            .map(|s| (s.name.clone(), s.bytes.clone()))
            .collect();
        let committed = files("seeds", target);
        let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            names(&committed),
            names(&expected),
            "fuzz/seeds/{target} is stale; regenerate: \
             cargo test -p handshake --test fuzz_seeds -- --ignored regenerate_seeds"
        );
        for (name, bytes) in &expected {
            assert!(
                committed.get(name) == Some(bytes),
                "fuzz/seeds/{target}/{name} differs from a fresh recording; regenerate: \
                 cargo test -p handshake --test fuzz_seeds -- --ignored regenerate_seeds"
            );
        }
    }
}

/// Writes `fuzz/seeds/<target>/` for every target above, replacing what is there.
#[test]
#[ignore = "writes fuzz/seeds; run on purpose after a change to the wire format"]
fn regenerate_seeds() {
    let fresh = generate();
    for target in TARGETS {
        let dir = fuzz_dir().join("seeds").join(target);
        if dir.exists() {
            fs::remove_dir_all(&dir).expect("remove old seeds");
        }
        fs::create_dir_all(&dir).expect("create seed folder");
        for seed in fresh.iter().filter(|s| s.target == target) {
            fs::write(dir.join(&seed.name), &seed.bytes).expect("write seed");
        }
    }
}
