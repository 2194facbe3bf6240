//! `keylab demo --path pake`: the same 6-digit code, this time through `keylab pair`'s
//! SPAKE2 exchange (RFC 9382): the pairing messages, where the strong key comes from,
//! and the same crack against a handshake with the paired key finding nothing.

use std::fmt::Write as _;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use handshake::ExternalPsk;
use serde::Serialize;

use super::DemoArgs;
use super::weak_psk::{
    DIGITS, Guessing, IDENTITY, Recorded, draw_code, guess, measured, record_handshake,
};
use crate::failure::Failure;
use crate::pairing::{Paired, Role, pair};
use crate::seed::connection_rng;

/// The PAKE demonstration, as data.
#[derive(Clone, Debug, Serialize)]
pub struct Pake {
    /// The code both sides typed.
    pub code: String,
    /// The connector's Hello body, hex.
    pub hello_connector: String,
    /// The listener's Hello body, hex.
    pub hello_listener: String,
    /// The transcript hash, hex.
    pub transcript_hash: String,
    /// The connector's key confirmation, hex.
    pub confirm_connector: String,
    /// The listener's key confirmation, hex.
    pub confirm_listener: String,
    /// The PSK both sides saved, hex.
    pub psk: String,
    /// The handshake made with it.
    pub recorded: Recorded,
    /// Every code of the same length tried against it.
    pub crack: Guessing,
}

/// Pairs over loopback (both sides in this process) with `code`.
fn pair_locally(seed: Option<u64>, code: &str) -> Result<Paired, Failure> {
    let failed = |e: std::io::Error| Failure::network(format!("loopback pairing: {e}"));
    let listener = TcpListener::bind("127.0.0.1:0").map_err(failed)?;
    let addr = listener.local_addr().map_err(failed)?;
    let limit = Some(Duration::from_secs(30));
    let listener_code = code.to_owned();
    let side_b = std::thread::spawn(move || -> Result<Paired, String> {
        let (mut s, _) = listener.accept().map_err(|e| e.to_string())?;
        s.set_read_timeout(limit).map_err(|e| e.to_string())?;
        let rng = connection_rng(seed, "pake listener", 0);
        pair(
            &mut s,
            Role::Listener,
            listener_code.as_bytes(),
            IDENTITY,
            rng,
        )
        .map_err(|e| e.to_string())
    });
    let mut s = TcpStream::connect(addr).map_err(failed)?;
    s.set_read_timeout(limit).map_err(failed)?;
    let rng = connection_rng(seed, "pake connector", 0);
    let a = pair(&mut s, Role::Connector, code.as_bytes(), IDENTITY, rng)
        .map_err(|e| Failure::check(e.to_string()))?;
    let b = side_b
        .join()
        .map_err(|_| Failure::check("the listening side panicked"))?
        .map_err(Failure::check)?;
    if *a.psk != *b.psk {
        return Err(Failure::check("the two sides derived different keys"));
    }
    Ok(a)
}

/// Pairs, makes a handshake with the paired key, and attacks it as weak-psk does.
pub fn demonstrate(args: &DemoArgs) -> Result<Pake, Failure> {
    let code = draw_code(args.seed, "pake code");
    let paired = pair_locally(args.seed, &code)?;
    let psk =
        ExternalPsk::new(IDENTITY, &paired.psk[..]).map_err(|e| Failure::input(e.to_string()))?;
    let recorded = record_handshake(args, &psk, b"a secret over a paired key")?;
    let crack = guess(&recorded)?;
    if crack.found.is_some() {
        return Err(Failure::check("a code matched the paired key's binder"));
    }
    Ok(Pake {
        code,
        hello_connector: hex::encode(&paired.hello_connector),
        hello_listener: hex::encode(&paired.hello_listener),
        transcript_hash: hex::encode(paired.transcript_hash),
        confirm_connector: hex::encode(paired.confirm_connector),
        confirm_listener: hex::encode(paired.confirm_listener),
        psk: hex::encode(&paired.psk[..]),
        recorded,
        crack,
    })
}

/// Runs the demonstration and writes its report.
pub(super) fn run(args: &DemoArgs, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    let demo = demonstrate(args)?;
    super::write_report(&demo, args.json, text, out)
}

/// The SPAKE2 message inside a Hello body (after the identity and its length byte).
fn spake_part(hello_hex: &str) -> &str {
    let skip = 2 * (1 + IDENTITY.len());
    hello_hex.get(skip..).unwrap_or(hello_hex)
}

fn text(d: &Pake) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "pake: the same kind of {DIGITS}-digit code, made into a strong key by `keylab pair`\n\
         (SPAKE2, RFC 9382, on Ed25519; key confirmation; HKDF)\n\n\
         1. Both sides type {code}. The connector (A) and the listener (B) each draw a secret\n   \
         scalar (x, y) and send it masked by the code w (hashed to a scalar):\n   \
         Hello A: identity \"{IDENTITY}\", 'A' || pA = x·G + w·M\n            {a}\n   \
         Hello B: identity \"{IDENTITY}\", 'B' || pB = y·G + w·N\n            {b}\n   \
         M and N are fixed points nobody knows the logarithm of. For any guess w', pA - w'·M\n   \
         is some point: without x a passive observer cannot tell a right guess from a wrong\n   \
         one, so the recording gives it nothing to test codes against (RFC 9382 §3).\n",
        code = d.code,
        a = spake_part(&d.hello_connector),
        b = spake_part(&d.hello_listener),
    );
    let _ = writeln!(
        t,
        "2. The shared secret. A computes x·(pB - w·N), B computes y·(pA - w·M): both are\n   \
         x·y·G only when both used the same w. K = SHA-256 of the identities, messages, that\n   \
         point and w (the crate's transcript, RFC 9382 §4).\n"
    );
    let _ = writeln!(
        t,
        "3. Key confirmation. TH = SHA-256(\"keylab pair v1\", identity, Hello A, Hello B)\n   \
         TH           = {th}\n   \
         PRK = HKDF-Extract(TH, K); kcA, kcB = HKDF-Expand(PRK, \"... confirm connector|listener\")\n   \
         Confirm A    = HMAC(kcA, TH) = {ca}\n   \
         Confirm B    = HMAC(kcB, TH) = {cb}\n   \
         Each side checks the other's in constant time; with different codes both fail with\n   \
         \"the codes did not match (or someone in between guessed wrong)\": an active attacker\n   \
         gets one guess per pairing, and is seen when wrong.\n",
        th = d.transcript_hash,
        ca = d.confirm_connector,
        cb = d.confirm_listener,
    );
    let _ = writeln!(
        t,
        "4. The key. PSK = HKDF-Expand(PRK, \"keylab pair v1 psk {IDENTITY}\", 32)\n   \
         = {psk}\n   \
         saved as \"{IDENTITY}:<hex>\" (mode 0600) on both sides: an ordinary external PSK for\n   \
         any TLS 1.3 peer. The code is not in it; K is, and K needs x or y.\n",
        psk = d.psk
    );
    let g = &d.crack;
    let _ = writeln!(
        t,
        "5. The same attack. A psk+dhe handshake with the paired key ({} bytes of\n   \
         ClientHello), binder\n   {}\n   \
         Every {DIGITS}-digit code tried against it:\n   \
         {}\n   \
         found {}: the key is not a function of the code alone.",
        d.recorded.client_hello_bytes,
        d.recorded.binder,
        measured(g),
        g.found.as_deref().unwrap_or("nothing"),
    );
    t
}
