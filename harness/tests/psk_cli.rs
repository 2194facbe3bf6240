//! Short codes as PSKs: `keylab psk crack` finds a code behind a recorded handshake (from a
//! `mitm --record` file and from pcaps), a key from `keylab pair` resists the same attack,
//! a wrong pairing code fails on both sides, the paired key works with OpenSSL both ways,
//! and `keylab psk new --qr` draws a QR code an independent decoder reads back.

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use support::pcap::{self, Link, Segment};
use support::{
    Running, assert_fails, assert_ok, have_openssl, keylab, keylab_server, lines, openssl_server,
    run_with_input, run_with_timeout, start_listening, stderr, stdout, text,
};

const ID: &str = "lab";

/// Waits (at most `limit`) for a child to end by itself; its exit code.
fn wait_exit(running: &mut Running, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = running.child.try_wait().expect("wait") {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Runs `keylab psk ARGS` (within 60 s).
fn psk(args: &[&str]) -> Output {
    let mut cmd = keylab();
    cmd.arg("psk").args(args);
    run_with_timeout(cmd, None, Duration::from_secs(60))
}

/// Writes `keylab psk from-code CODE --identity lab` to DIR/NAME.
fn weak_psk_file(dir: &Path, code: &str) -> PathBuf {
    let line = assert_ok(&psk(&["from-code", code, "--identity", ID]));
    let file = dir.join("weak.psk");
    std::fs::write(&file, &line).expect("write");
    file
}

/// One connection from `keylab client --psk-file` to `keylab server --psk-file` through
/// `keylab mitm --record c2s:FILE`: the client's recorded bytes. `psk_ke` on both sides
/// makes it a psk_ke handshake, else psk+dhe.
fn recorded_handshake(dir: &Path, server_psk: &Path, client_psk: &Path, psk_ke: bool) -> Vec<u8> {
    let ke: &[&str] = if psk_ke { &["--psk-ke"] } else { &[] };
    let server_file = server_psk.to_str().expect("utf-8");
    let (_server, upstream, _log) = keylab_server(&[&["--psk-file", server_file][..], ke].concat());
    let file = dir.join("c2s.bin");
    let _ = std::fs::remove_file(&file);
    let record = format!("c2s:{}", file.display());
    let mut cmd = keylab();
    cmd.args(["mitm", "--listen", "127.0.0.1:0", "--upstream", &upstream])
        .args(["--record", &record, "--max-connections", "1"])
        .stderr(Stdio::null());
    let (mut mitm, addr) = start_listening(cmd);
    let mut client = keylab();
    client
        .args([
            "client",
            "--connect",
            &addr,
            "--send",
            "hello",
            "--timeout",
            "10",
        ])
        .args(["--psk-file", client_psk.to_str().expect("utf-8")])
        .args(ke);
    let out = run_with_timeout(client, None, Duration::from_secs(20));
    let path = if psk_ke { "path=psk " } else { "path=psk+dhe " };
    assert!(
        stdout(&out).starts_with(path),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(wait_exit(&mut mitm, Duration::from_secs(10)), Some(0));
    std::fs::read(&file).expect("recorded")
}

/// `bytes` split into client segments as TCP would send them, out of order and with one
/// retransmission, behind a SYN and a server segment.
fn as_pcap(link: Link, port: u16, bytes: &[u8]) -> Vec<u8> {
    pcap::write(link, port, &segments(bytes))
}

fn segments(bytes: &[u8]) -> Vec<Segment<'_>> {
    let cut = bytes.len() / 3;
    let seg = |offset: usize, payload| Segment {
        from_client: true,
        offset: u32::try_from(offset + 1).expect("small"),
        syn: false,
        payload,
    };
    vec![
        Segment {
            from_client: true,
            offset: 0,
            syn: true,
            payload: &[],
        },
        Segment {
            from_client: false,
            offset: 0,
            syn: true,
            payload: &[],
        },
        seg(cut, &bytes[cut..]),
        seg(0, &bytes[..cut]),
        seg(0, &bytes[..cut]),
    ]
}

fn crack(capture: &Path, extra: &[&str]) -> Output {
    let file = capture.to_str().expect("utf-8");
    psk(&[&["crack", "--capture", file, "--identity", ID][..], extra].concat())
}

#[test]
fn from_code_is_sha256_of_the_code() {
    let line = assert_ok(&psk(&["from-code", "123456", "--identity", ID]));
    assert_eq!(
        line,
        "lab:8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92\n"
    );
    let help = assert_ok(&psk(&["from-code", "--help"]));
    assert!(help.contains("SHA-256"), "{help}");
}

#[test]
fn crack_finds_a_four_digit_code_in_a_recording_and_in_pcaps() {
    let dir = tempfile::tempdir().expect("tmp");
    let weak = weak_psk_file(dir.path(), "0721");
    let recorded = recorded_handshake(dir.path(), &weak, &weak, false);
    let capture = dir.path().join("record.bin");
    std::fs::write(&capture, &recorded).expect("write");
    let out = assert_ok(&crack(&capture, &["--digits", "4"]));
    assert!(
        out.starts_with("code 0721 for identity \"lab\": found after "),
        "{out}"
    );
    assert!(out.contains("(position 722 of 10000)"), "{out}");
    assert!(out.contains(" guesses/s on "), "{out}");

    let json = assert_ok(&crack(
        &capture,
        &["--digits", "4", "--threads", "1", "--json"],
    ));
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v["code"], "0721");
    assert_eq!(v["guesses"], 722, "one thread tries in order: {json}");

    for (link, name) in [
        (Link::EthernetIpv4, "eth.pcap"),
        (Link::CookedIpv6, "sll.pcap"),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, as_pcap(link, 40_000, &recorded)).expect("write");
        let out = assert_ok(&crack(&file, &["--digits", "4"]));
        assert!(out.starts_with("code 0721 "), "{name}: {out}");
    }

    // A word list, and psk_ke: the binder is the same kind of oracle without (EC)DHE.
    let weak = weak_psk_file(dir.path(), "correct horse");
    let recorded = recorded_handshake(dir.path(), &weak, &weak, true);
    std::fs::write(&capture, &recorded).expect("write");
    let words = dir.path().join("words.txt");
    std::fs::write(&words, "letmein\n\ncorrect horse\nhunter2\n").expect("write");
    let out = assert_ok(&crack(
        &capture,
        &["--wordlist", words.to_str().expect("utf-8")],
    ));
    assert!(out.starts_with("code correct horse "), "{out}");
    assert!(out.contains("(position 2 of 3)"), "{out}");
}

#[test]
fn crack_stops_within_its_budget_and_says_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let weak = weak_psk_file(dir.path(), "99999999");
    let capture = dir.path().join("record.bin");
    std::fs::write(
        &capture,
        recorded_handshake(dir.path(), &weak, &weak, false),
    )
    .expect("w");
    let out = crack(&capture, &["--digits", "8", "--max-guesses", "2000"]);
    assert_fails(
        &out,
        1,
        "no candidate matched the binder of \"lab\": 2000 guesses",
    );
    assert!(
        stderr(&out).contains("stopped by the guess limit"),
        "{}",
        stderr(&out)
    );
    // Not a TLS recording, and an identity that was not offered: input errors.
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"GET / HTTP/1.1\r\n\r\n").expect("w");
    assert_fails(&crack(&junk, &["--digits", "4"]), 2, "not handshake (22)");
    let file = capture.to_str().expect("utf-8");
    let out = psk(&[
        "crack",
        "--capture",
        file,
        "--identity",
        "x",
        "--digits",
        "4",
    ]);
    assert_fails(&out, 2, "offers no PSK named \"x\" (it offers \"lab\")");
}

/// Both sides of `keylab pair` with these codes; (exit code, stderr) of each. The
/// connector's bytes go through `keylab mitm --record c2s:DIR/pairing.bin`.
fn pair(dir: &Path, listener_code: &str, connector_code: &str) -> [(Option<i32>, String); 2] {
    let out_l = dir.join("listener.psk");
    let out_c = dir.join("connector.psk");
    let mut cmd = keylab();
    cmd.args([
        "pair",
        "--listen",
        "127.0.0.1:0",
        "--identity",
        ID,
        "--timeout",
        "20",
    ])
    .args(["--out", out_l.to_str().expect("utf-8")])
    .stdin(Stdio::piped())
    .stderr(Stdio::piped());
    let (mut listener, addr) = start_listening(cmd);
    let mut stdin = listener.child.stdin.take().expect("stdin");
    stdin
        .write_all(format!("{listener_code}\n").as_bytes())
        .expect("code");
    drop(stdin);
    let log = lines(listener.stderr.take().expect("stderr"));
    let record = format!("c2s:{}", dir.join("pairing.bin").display());
    let mut cmd = keylab();
    cmd.args(["mitm", "--listen", "127.0.0.1:0", "--upstream", &addr])
        .args(["--record", &record, "--max-connections", "1"])
        .stderr(Stdio::null());
    let (mut mitm, addr) = start_listening(cmd);
    let mut cmd = keylab();
    cmd.args([
        "pair",
        "--connect",
        &addr,
        "--identity",
        ID,
        "--timeout",
        "20",
    ])
    .args(["--out", out_c.to_str().expect("utf-8")]);
    let connector = run_with_input(
        cmd,
        format!("{connector_code}\n").as_bytes(),
        Duration::from_secs(30),
    );
    let code = wait_exit(&mut listener, Duration::from_secs(20));
    assert_eq!(wait_exit(&mut mitm, Duration::from_secs(10)), Some(0));
    let said: Vec<String> = log.try_iter().collect();
    [
        (code, said.join("\n")),
        (connector.status.code(), stderr(&connector)),
    ]
}

#[test]
fn a_wrong_pairing_code_fails_on_both_sides_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    for (code, said) in pair(dir.path(), "482913", "482914") {
        assert_eq!(code, Some(1), "{said}");
        assert!(
            said.contains("the codes did not match (or someone in between guessed wrong)"),
            "{said}"
        );
    }
    assert!(!dir.path().join("listener.psk").exists());
    assert!(!dir.path().join("connector.psk").exists());
}

/// Pairs with code `code`; the PSK line both sides wrote (checked equal, mode 0600).
fn paired(dir: &Path, code: &str) -> String {
    for (exit, said) in pair(dir, code, code) {
        assert_eq!(exit, Some(0), "{said}");
        assert!(said.contains("paired with 127.0.0.1:"), "{said}");
    }
    let read = |name: &str| {
        let path = dir.join(name);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("written")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name} holds a secret");
        }
        std::fs::read_to_string(path).expect("written")
    };
    let (l, c) = (read("listener.psk"), read("connector.psk"));
    assert_eq!(l, c, "both sides hold the same key");
    assert!(l.starts_with("lab:") && l.trim_end().len() == 4 + 64, "{l}");
    l.trim_end().to_owned()
}

#[test]
fn a_paired_key_gives_the_crack_nothing_within_the_same_budget() {
    let dir = tempfile::tempdir().expect("tmp");
    let line = paired(dir.path(), "0721");
    assert!(!line.contains(&hex_of_sha256("0721")), "not the naive key");
    let file = dir.path().join("listener.psk");
    let recorded = recorded_handshake(dir.path(), &file, &dir.path().join("connector.psk"), false);
    let capture = dir.path().join("record.bin");
    std::fs::write(&capture, &recorded).expect("write");
    let out = crack(&capture, &["--digits", "4"]);
    assert_fails(
        &out,
        1,
        "no candidate matched the binder of \"lab\": 10000 guesses of 10000",
    );
    assert!(
        stderr(&out).contains("every candidate was tried"),
        "{}",
        stderr(&out)
    );
}

fn hex_of_sha256(code: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(code.as_bytes()))
}

#[test]
fn a_paired_key_works_with_openssl_both_ways() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let line = paired(dir.path(), "correct horse battery");
    let hex = line.strip_prefix("lab:").expect("identity");
    // OpenSSL's client against keylab's server, each with its own side's file.
    let server_file = dir.path().join("listener.psk");
    let (_server, addr, _log) =
        keylab_server(&["--psk-file", server_file.to_str().expect("utf-8")]);
    let mut cmd = std::process::Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &addr,
        "-tls1_3",
        "-psk",
        hex,
        "-psk_identity",
        ID,
    ]);
    let out = run_with_timeout(cmd, Some(b"hello paired\n"), Duration::from_secs(20));
    let said = text(&out.stdout) + &text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("hello paired"), "the echo came back: {said}");
    // keylab's client against OpenSSL's server.
    let (_s, port, _out) = openssl_server(&["-nocert", "-psk", hex, "-psk_identity", ID, "-rev"]);
    let client_file = dir.path().join("connector.psk");
    let mut cmd = keylab();
    cmd.args([
        "client",
        "--connect",
        &format!("127.0.0.1:{port}"),
        "--send",
        "hello",
    ])
    .args(["--psk-file", client_file.to_str().expect("utf-8")]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    let got = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{got}{}", stderr(&out));
    assert!(
        got.starts_with("path=psk+dhe ") && got.contains("olleh"),
        "{got}"
    );
}

#[test]
fn new_writes_a_private_key_file_and_import_reads_the_text_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("new.psk");
    let f = file.to_str().expect("utf-8");
    assert_ok(&psk(&["new", "--identity", ID, "--out", f]));
    let line = std::fs::read_to_string(&file).expect("written");
    assert!(
        line.starts_with("lab:") && line.len() == 4 + 64 + 1,
        "{line}"
    );
    assert_fails(
        &psk(&["new", "--identity", ID, "--out", f]),
        2,
        "exists; pass --force",
    );
    assert_ok(&psk(&["new", "--identity", ID, "--out", f, "--force"]));
    assert_ne!(
        std::fs::read_to_string(&file).expect("written"),
        line,
        "a fresh key"
    );
    let two = assert_ok(&psk(&["new", "--identity", ID, "--out", "-"]));
    assert_ne!(two, line);

    let imported = dir.path().join("imported.psk");
    let mut cmd = keylab();
    cmd.args(["psk", "import", "--out", imported.to_str().expect("utf-8")]);
    assert_ok(&run_with_input(
        cmd,
        line.as_bytes(),
        Duration::from_secs(20),
    ));
    assert_eq!(std::fs::read_to_string(&imported).expect("written"), line);
    let mut cmd = keylab();
    cmd.args(["psk", "import", "--out", "-"]);
    let out = run_with_input(cmd, b"lab:00112233\n", Duration::from_secs(20));
    assert_fails(&out, 2, "standard input: line 1");
}

/// Decodes the Unicode half-block QR code on stdin with zxing-cpp (an independent
/// decoder): each character is two modules, top and bottom.
const DECODE_QR: &str = r#"
import sys, numpy, zxingcpp
rows = sys.stdin.read().rstrip("\n").split("\n")
top = {" ": 0, "\u2584": 0, "\u2580": 1, "\u2588": 1}
bottom = {" ": 0, "\u2584": 1, "\u2580": 0, "\u2588": 1}
grid = []
for row in rows:
    grid.append([top[c] for c in row])
    grid.append([bottom[c] for c in row])
width = max(len(r) for r in grid)
dark = numpy.array([r + [0] * (width - len(r)) for r in grid], dtype=numpy.uint8)
image = numpy.kron(numpy.where(dark == 1, 0, 255).astype(numpy.uint8), numpy.ones((6, 6), dtype=numpy.uint8))
found = zxingcpp.read_barcodes(image)
print(found[0].text if found else "")
"#;

#[test]
fn the_qr_code_decodes_to_the_key_file_line() {
    let probe = support::external(
        "python3",
        &["-c", "import zxingcpp, numpy"],
        Duration::from_secs(30),
    );
    let Some(probe) = probe else { return };
    if !probe.status.success() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "python3 zxing-cpp and numpy are required under CI: {}",
            stderr(&probe)
        );
        eprintln!("python3 has no zxing-cpp or numpy: skipping the QR decoding check");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("qr.psk");
    let out = psk(&[
        "new",
        "--identity",
        ID,
        "--out",
        file.to_str().expect("utf-8"),
        "--qr",
    ]);
    let picture = assert_ok(&out);
    assert!(picture.contains('\u{2588}'), "{picture}");
    let line = std::fs::read_to_string(&file).expect("written");
    let mut cmd = std::process::Command::new("python3");
    cmd.args(["-c", DECODE_QR]);
    let decoded = run_with_input(cmd, picture.as_bytes(), Duration::from_secs(30));
    assert_eq!(assert_ok(&decoded), line, "{}", stderr(&decoded));
}
