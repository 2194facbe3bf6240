//! `keylab demo --forward-secrecy`: record three connections (ephemeral-dh, psk+dhe and
//! psk_ke), leak the long-term secrets, and try to decrypt the recordings with them.
//!
//! The attacker has the recorded bytes and the leaked values only. It rebuilds the key
//! schedule (RFC 8446 §7.1) with the handshake crate's own functions: the Early Secret from
//! the PSK, the Handshake Secret from the (EC)DHE shared secret, the traffic secrets from
//! the transcript it can read. On psk_ke there is no (EC)DHE, so the PSK is all it needs
//! and every record opens. With (EC)DHE the Handshake Secret needs the shared secret,
//! which only an ephemeral private key gives; those were erased after the handshake, so
//! the tag check of the first protected record fails.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;

use handshake::key_schedule::{EarlySecret, Secret, Transcript};
use handshake::msgs::HandshakeMessage;
use handshake::{ClientAuth, ClientConfig, Path};
use serde::Serialize;

use super::DemoArgs;
use crate::explain::records::{
    Body, Content, Decryption, KnownSecret, RecordLayer, explain_records,
};
use crate::failure::Failure;
use crate::runner::{self, ClientSpec, DemoKey, Wire, WireDirection};

/// The whole demonstration, as data.
#[derive(Clone, Debug, Serialize)]
pub struct ForwardSecrecy {
    /// The long-term secrets that leak after the connections.
    pub leaked: Vec<Leaked>,
    /// One decryption attempt per recorded connection.
    pub attempts: Vec<Attempt>,
}

/// One leaked long-term secret.
#[derive(Clone, Debug, Serialize)]
pub struct Leaked {
    /// What it is.
    pub what: String,
    /// Its value (hex) or a description.
    pub value: String,
    /// What it gives the attacker.
    pub use_to_attacker: String,
}

/// The attempt on one recording.
#[derive(Clone, Debug, Serialize)]
pub struct Attempt {
    /// The path the connection took.
    pub path: &'static str,
    /// The application message the client sent.
    pub sent: String,
    /// Records in the recording.
    pub records: usize,
    /// Bytes in the recording.
    pub bytes: usize,
    /// The key schedule the attacker computed, step by step.
    pub steps: Vec<String>,
    /// Protected records in the recording.
    pub protected_records: usize,
    /// How many of them decrypted.
    pub decrypted_records: usize,
    /// The first record that did not decrypt, and why.
    pub first_failure: Option<String>,
    /// The application data recovered, in wire order.
    pub recovered: Vec<Recovered>,
    /// Whether every protected record decrypted.
    pub decrypted: bool,
    /// The value that would be needed and is gone, when it did not decrypt.
    pub missing: Option<String>,
}

/// Application data the attacker read.
#[derive(Clone, Debug, Serialize)]
pub struct Recovered {
    /// Who sent it.
    pub direction: WireDirection,
    /// The bytes, as text.
    pub text: String,
}

/// The three connections: path, client description, message.
const RUNS: [(Path, &[u8]); 3] = [
    (Path::EphemeralDh, b"secret of an anonymous client"),
    (Path::PskDhe, b"secret sent with psk+dhe"),
    (Path::Psk, b"secret sent with psk_ke"),
];

/// Runs the demonstration and writes its report.
pub(super) fn run(args: &DemoArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let fs = demonstrate(args.seed, args.key)?;
    super::write_report(&fs, args.json, text, out)
}

/// Records the three connections and attacks each recording with the leaked secrets.
pub fn demonstrate(seed: Option<u64>, key: DemoKey) -> Result<ForwardSecrecy, Failure> {
    let psk = runner::demo_psk();
    let mut server = runner::demo_server_config_for(key, ClientAuth::Optional)
        .map_err(|e| Failure::input(e.to_string()))?
        .with_psks(vec![psk.clone()]);
    server.allow_psk_ke = true;
    let mut specs = Vec::new();
    for (path, message) in RUNS {
        let mut config: ClientConfig = runner::demo_client_config_for(key, false)
            .map_err(|e| Failure::input(e.to_string()))?;
        if path != Path::EphemeralDh {
            config.psk = Some(psk.clone());
        }
        if path == Path::Psk {
            config.allow_psk_ke = true;
            config.psk_ke_only = true;
        }
        specs.push(ClientSpec::new(config, message.to_vec()).with_demo_ending());
    }
    let outcomes = runner::run("127.0.0.1:0", Arc::new(server), specs, seed)
        .map_err(|e| Failure::input(format!("cannot start the loopback server: {e}")))?;
    let mut attempts = Vec::new();
    for ((path, message), o) in RUNS.iter().zip(&outcomes) {
        let taken = o.client_summary().map(|s| s.path);
        if !o.ok(message) || taken != Some(*path) {
            return Err(Failure::check(format!(
                "the {path} connection did not complete as planned: client {:?}, path {taken:?}",
                o.client.as_ref().err()
            )));
        }
        let mut attempt = attack(&o.wire, psk.secret());
        attempt.path = path.name();
        attempt.sent = String::from_utf8_lossy(message).into_owned();
        attempts.push(attempt);
    }
    let leaked = vec![
        Leaked {
            what: format!("the external PSK \"{}\"", psk.identity()),
            value: hex::encode(psk.secret()),
            use_to_attacker: "the input of the Early Secret on the PSK paths".into(),
        },
        Leaked {
            what: format!("the server certificate's private key ({})", key.label()),
            value: "the fixture's key (fixtures/data)".into(),
            use_to_attacker: "none for decryption: it only signs CertificateVerify; no record key \
                              is derived from it"
                .into(),
        },
    ];
    Ok(ForwardSecrecy { leaked, attempts })
}

/// Tries to decrypt `wire` knowing only `psk`: the attacker's key schedule.
pub fn attack(wire: &Wire, psk: &[u8]) -> Attempt {
    let bytes = wire.chunks.iter().map(|c| c.bytes.len()).sum();
    let clear = explain_records(wire, &[], &[]);
    let mut attempt = Attempt {
        path: "",
        sent: String::new(),
        records: clear.records.len(),
        bytes,
        steps: Vec::new(),
        protected_records: 0,
        decrypted_records: 0,
        first_failure: None,
        recovered: Vec::new(),
        decrypted: false,
        missing: None,
    };
    let hello = |direction, name: &str| {
        clear
            .messages
            .iter()
            .find(|m| m.direction == direction && m.name == name)
    };
    let (Some(ch), Some(sh)) = (
        hello(WireDirection::ClientToServer, "ClientHello"),
        hello(WireDirection::ServerToClient, "ServerHello"),
    ) else {
        attempt.first_failure = Some("no ClientHello and ServerHello in the recording".into());
        return attempt;
    };
    let Ok(HandshakeMessage::ServerHello(server_hello)) = HandshakeMessage::decode(&sh.bytes)
    else {
        attempt.first_failure = Some("the ServerHello does not decode".into());
        return attempt;
    };
    let psk_used = server_hello.extensions.selected_psk().is_some();
    let group = server_hello.extensions.server_key_share().map(|k| k.group);
    let steps = &mut attempt.steps;
    let early = if psk_used {
        steps
            .push("Early Secret = HKDF-Extract(0, leaked PSK): the ServerHello accepted it".into());
        EarlySecret::new(Some(psk))
    } else {
        steps.push("Early Secret = HKDF-Extract(0, 0): no PSK on this path".into());
        EarlySecret::new(None)
    };
    let guess = [0u8; 32];
    let hs = match group {
        None => {
            steps.push(
                "Handshake Secret = HKDF-Extract(Derive-Secret(Early Secret, \"derived\", \"\"), \
                 0): psk_ke has no (EC)DHE, nothing else is needed"
                    .into(),
            );
            early.into_handshake_secret(None)
        }
        Some(g) => {
            steps.push(format!(
                "Handshake Secret needs the {g} shared secret, which is not in the recording; \
                 trying 32 zero bytes in its place"
            ));
            early.into_handshake_secret(Some(&guess))
        }
    };
    let mut transcript = Transcript::new();
    transcript.add(&ch.bytes);
    transcript.add(&sh.bytes);
    let hash = transcript.current_hash();
    steps.push(format!(
        "transcript hash of ClientHello..ServerHello (from the clear records) = {}",
        hex::encode(hash)
    ));
    let mut secrets = vec![
        secret(
            "client_handshake_traffic_secret",
            &hs.client_handshake_traffic_secret(&hash),
        ),
        secret(
            "server_handshake_traffic_secret",
            &hs.server_handshake_traffic_secret(&hash),
        ),
    ];
    steps.push(
        "{client,server}_handshake_traffic_secret = Derive-Secret(., \"c/s hs traffic\", CH..SH)"
            .into(),
    );
    let mut layer = explain_records(wire, &[], &secrets);
    // The application secrets hash the transcript up to the server's Finished, readable
    // only if the server's handshake records opened.
    let server_finished = layer
        .messages
        .iter()
        .position(|m| m.direction == WireDirection::ServerToClient && m.name == "Finished");
    if let Some(end) = server_finished {
        let start = layer.messages.iter().position(|m| m.bytes == sh.bytes);
        for m in &layer.messages[start.map_or(end, |s| s + 1)..=end] {
            transcript.add(&m.bytes);
        }
        let hash = transcript.current_hash();
        let master = hs.into_master_secret();
        secrets.push(secret(
            "client_application_traffic_secret_0",
            &master.client_application_traffic_secret_0(&hash),
        ));
        secrets.push(secret(
            "server_application_traffic_secret_0",
            &master.server_application_traffic_secret_0(&hash),
        ));
        steps.push(
            "{client,server}_application_traffic_secret_0 = Derive-Secret(Master Secret, \
             \"c/s ap traffic\", CH..server Finished), then \"traffic upd\" after the KeyUpdate"
                .into(),
        );
        layer = explain_records(wire, &[], &secrets);
    }
    score(&mut attempt, &layer);
    if !attempt.decrypted && group.is_some() {
        attempt.missing = Some(format!(
            "the (EC)DHE shared secret ({}): computing it needs the client's or the server's \
             ephemeral private key, and both were erased after the handshake",
            group.map_or_else(String::new, |g| g.to_string())
        ));
    }
    attempt
}

/// Counts what opened and collects the recovered application data.
fn score(attempt: &mut Attempt, layer: &RecordLayer) {
    for r in &layer.records {
        let Body::Protected(p) = &r.body else {
            continue;
        };
        attempt.protected_records += 1;
        match &p.decryption {
            Decryption::Opened(inner) => {
                attempt.decrypted_records += 1;
                if let Content::ApplicationData { .. } = inner.carries {
                    attempt.recovered.push(Recovered {
                        direction: r.direction,
                        text: String::from_utf8_lossy(&inner.content).into_owned(),
                    });
                }
            }
            Decryption::Failed { reason } if attempt.first_failure.is_none() => {
                attempt.first_failure = Some(format!(
                    "record {} ({}, {}, sequence number {}): {reason}",
                    r.index + 1,
                    r.direction.arrow(),
                    p.secret_label,
                    p.sequence_number
                ));
            }
            Decryption::Failed { .. } => {}
        }
    }
    attempt.decrypted =
        attempt.protected_records > 0 && attempt.decrypted_records == attempt.protected_records;
}

fn secret(label: &str, value: &Secret) -> KnownSecret {
    (label.to_owned(), value.as_bytes().to_vec())
}

/// The plain-text report, lines of at most 100 columns.
fn text(fs: &ForwardSecrecy) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "keylab demo --forward-secrecy: an eavesdropper records three connections; later the\n\
         long-term secrets leak, and it tries to decrypt the recordings with them.\n"
    );
    let _ = writeln!(s, "recorded:");
    for (i, a) in fs.attempts.iter().enumerate() {
        let _ = writeln!(
            s,
            "  run {}: {:<13} {:>3} records, {:>5} bytes",
            i + 1,
            a.path,
            a.records,
            a.bytes
        );
    }
    let _ = writeln!(s, "\nleaked:");
    for l in &fs.leaked {
        let _ = writeln!(s, "  {}", l.what);
        wrap(&mut s, "    value: ", &l.value);
        wrap(&mut s, "    gives: ", &l.use_to_attacker);
    }
    for (i, a) in fs.attempts.iter().enumerate() {
        let _ = writeln!(s, "\nrun {}: {}", i + 1, a.path);
        for step in &a.steps {
            wrap(&mut s, "  - ", step);
        }
        let _ = writeln!(
            s,
            "  protected records decrypted: {} of {}",
            a.decrypted_records, a.protected_records
        );
        if let Some(f) = &a.first_failure {
            wrap(&mut s, "  first failure: ", f);
        }
        for r in &a.recovered {
            wrap(
                &mut s,
                "  recovered: ",
                &format!("{} {:?}", r.direction.arrow(), r.text),
            );
        }
        let verdict = if a.decrypted {
            "DECRYPTED with the leaked PSK alone: psk_ke has no forward secrecy"
        } else {
            "not decrypted: the recording stays secret (forward secrecy)"
        };
        let _ = writeln!(s, "  result: {verdict}");
        if let Some(m) = &a.missing {
            wrap(&mut s, "  missing: ", m);
        }
    }
    s
}

/// Appends `text` after `lead`, wrapped at word boundaries to 100 columns; continuation
/// lines are indented as deep as `lead`. A single word longer than the line stays whole.
fn wrap(s: &mut String, lead: &str, text: &str) {
    const WIDTH: usize = 100;
    let indent = " ".repeat(lead.len());
    let mut line = lead.to_owned();
    let mut empty = true;
    for word in text.split(' ') {
        if !empty && line.len() + 1 + word.len() > WIDTH {
            s.push_str(&line);
            s.push('\n');
            line = indent.clone();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    s.push_str(&line);
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psk_ke_recording_decrypts_with_the_leaked_psk_and_dhe_recordings_do_not() {
        let fs = demonstrate(Some(7), DemoKey::Ed25519).expect("runs");
        let by_path = |p: Path| {
            fs.attempts
                .iter()
                .find(|a| a.path == p.name())
                .expect("attempted")
        };
        let psk = by_path(Path::Psk);
        assert!(psk.decrypted, "{psk:?}");
        let texts: Vec<_> = psk
            .recovered
            .iter()
            .map(|r| (r.direction, r.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                (WireDirection::ClientToServer, "secret sent with psk_ke"),
                (WireDirection::ServerToClient, "secret sent with psk_ke"),
            ]
        );
        for p in [Path::EphemeralDh, Path::PskDhe] {
            let a = by_path(p);
            assert!(!a.decrypted, "{a:?}");
            assert_eq!(a.decrypted_records, 0, "{p}");
            assert!(a.recovered.is_empty());
            let failure = a.first_failure.as_deref().unwrap_or_default();
            assert!(failure.contains("tag check failed"), "{p}: {failure}");
            assert!(
                a.missing
                    .as_deref()
                    .is_some_and(|m| m.contains("ephemeral private key")),
                "{p}"
            );
        }
        let out = text(&fs);
        assert!(out.lines().all(|l| l.len() <= 100), "{out}");
        assert_eq!(
            out,
            text(&demonstrate(Some(7), DemoKey::Ed25519).expect("runs")),
            "deterministic under a seed"
        );
    }
}
