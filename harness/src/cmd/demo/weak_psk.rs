//! `keylab demo --path weak-psk`: a psk+dhe handshake keyed by a 6-digit code, its
//! recording, and the offline crack of the code from the ClientHello's binder.
//!
//! Everything but the guess rate repeats with `--seed`: the code is drawn from the seed's
//! RNG, and so is every connection. The rate is measured in the run, on this machine, and
//! the times for longer codes are computed from it.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use handshake::{ClientAuth, ExternalPsk, Path};
use rand_core::Rng;
use serde::Serialize;

use super::DemoArgs;
use crate::crack::{
    Budget, Candidates, Search, Target, capture, human_duration, naive_psk, search,
    seconds_for_digits,
};
use crate::failure::Failure;
use crate::runner::{self, ClientSpec, WireDirection};
use crate::seed::connection_rng;

/// The PSK identity of both demos.
pub(super) const IDENTITY: &str = "face-to-face";
/// Digits of the demo's code.
pub(super) const DIGITS: u32 = 6;

/// A recorded psk+dhe handshake: what an observer on the path has.
#[derive(Clone, Debug, Serialize)]
pub struct Recorded {
    /// The path both sides took.
    pub path: &'static str,
    /// Bytes the client sent.
    pub client_bytes: usize,
    /// Bytes of the ClientHello (handshake header included).
    pub client_hello_bytes: usize,
    /// The binder, hex.
    pub binder: String,
    /// SHA-256 of the ClientHello up to the binders, hex.
    pub partial_hash: String,
    /// The target of the guesses (not serialized: its fields are above).
    #[serde(skip)]
    pub target: Option<Target>,
}

/// The result of guessing, with the rate measured.
#[derive(Clone, Debug, Serialize)]
pub struct Guessing {
    /// The code found, if any.
    pub found: Option<String>,
    /// Its position in the order tried (0000.. up), from 1.
    pub position: Option<u64>,
    /// Guesses made.
    pub guesses: u64,
    /// Candidates there were.
    pub candidates: u64,
    /// Seconds taken (measured).
    pub seconds: f64,
    /// Guesses per second (measured on this machine).
    pub guesses_per_second: f64,
    /// Threads used.
    pub threads: usize,
}

/// The weak-PSK demonstration, as data.
#[derive(Clone, Debug, Serialize)]
pub struct WeakPsk {
    /// The code both sides typed.
    pub code: String,
    /// The PSK made from it, hex.
    pub psk: String,
    /// The recorded handshake.
    pub recorded: Recorded,
    /// The crack.
    pub crack: Guessing,
    /// Seconds for every code of 8, 10 and 12 digits at the measured rate.
    pub projections: Vec<(u32, f64)>,
}

/// A code of [`DIGITS`] digits from the seed's RNG (or the system's).
pub(super) fn draw_code(seed: Option<u64>, role: &str) -> String {
    let n = connection_rng(seed, role, 0).next_u64() % 10u64.pow(DIGITS);
    format!("{n:0width$}", width = DIGITS as usize)
}

/// Runs a psk+dhe handshake with `psk` over loopback and returns what the client sent,
/// as a recording would hold it.
pub(super) fn record_handshake(
    args: &DemoArgs,
    psk: &ExternalPsk,
    message: &[u8],
) -> Result<Recorded, Failure> {
    let server = runner::demo_server_config_for(args.key, ClientAuth::Optional)
        .map_err(|e| Failure::input(e.to_string()))?
        .with_psks(vec![psk.clone()]);
    let mut config = runner::demo_client_config_for(args.key, false)
        .map_err(|e| Failure::input(e.to_string()))?;
    config.psk = Some(psk.clone());
    let spec = ClientSpec::new(config, message.to_vec()).with_demo_ending();
    let outcomes = runner::run("127.0.0.1:0", Arc::new(server), vec![spec], args.seed)
        .map_err(|e| Failure::input(format!("cannot start the loopback server: {e}")))?;
    let o = outcomes
        .first()
        .ok_or_else(|| Failure::check("the handshake did not run"))?;
    let path = o.client_summary().map(|s| s.path);
    if !o.ok(message) || path != Some(Path::PskDhe) {
        return Err(Failure::check(format!(
            "the psk+dhe handshake did not complete: path {path:?}"
        )));
    }
    let sent: Vec<u8> = o
        .wire
        .chunks
        .iter()
        .filter(|c| c.direction == WireDirection::ClientToServer)
        .flat_map(|c| c.bytes.iter().copied())
        .collect();
    let hello = capture::hello_from_records(&sent).map_err(Failure::check)?;
    let target = Target::from_client_hello(&hello, psk.identity()).map_err(Failure::check)?;
    Ok(Recorded {
        path: Path::PskDhe.name(),
        client_bytes: sent.len(),
        client_hello_bytes: hello.len(),
        binder: hex::encode(target.binder),
        partial_hash: hex::encode(target.partial_hash),
        target: Some(target),
    })
}

/// Tries every [`DIGITS`]-digit code against the recording, on every core.
pub(super) fn guess(recorded: &Recorded) -> Result<Guessing, Failure> {
    let target = recorded
        .target
        .as_ref()
        .ok_or_else(|| Failure::check("no binder recorded"))?;
    let budget = Budget {
        max_guesses: u64::MAX,
        time_limit: Duration::from_secs(600),
        threads: std::thread::available_parallelism().map_or(1, usize::from),
    };
    let s: Search = search(target, &Candidates::Digits(DIGITS), budget);
    Ok(Guessing {
        found: s.found.as_ref().map(|f| f.code.clone()),
        position: s.found.as_ref().map(|f| f.position),
        guesses: s.guesses,
        candidates: s.candidates,
        seconds: s.elapsed.as_secs_f64(),
        guesses_per_second: s.rate(),
        threads: s.threads,
    })
}

/// Records the handshake and cracks it.
pub fn demonstrate(args: &DemoArgs) -> Result<WeakPsk, Failure> {
    let code = draw_code(args.seed, "weak-psk code");
    let key = naive_psk(&code);
    let psk = ExternalPsk::new(IDENTITY, &key).map_err(|e| Failure::input(e.to_string()))?;
    let recorded = record_handshake(args, &psk, b"a secret over a code-derived key")?;
    let crack = guess(&recorded)?;
    if crack.found.as_deref() != Some(code.as_str()) {
        return Err(Failure::check(format!(
            "the crack found {:?}, not the code {code}",
            crack.found
        )));
    }
    let projections = [8, 10, 12]
        .iter()
        .map(|d| (*d, seconds_for_digits(*d, crack.guesses_per_second)))
        .collect();
    Ok(WeakPsk {
        code,
        psk: hex::encode(key),
        recorded,
        crack,
        projections,
    })
}

/// Runs the demonstration and writes its report.
pub(super) fn run(args: &DemoArgs, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    let demo = demonstrate(args)?;
    super::write_report(&demo, args.json, text, out)
}

/// The line that states the measured rate, shared with the pake demo.
pub(super) fn measured(g: &Guessing) -> String {
    format!(
        "measured on this machine: {} guesses in {:.2} s = {:.0} guesses/s on {} threads",
        g.guesses, g.seconds, g.guesses_per_second, g.threads
    )
}

fn text(d: &WeakPsk) -> String {
    let r = &d.recorded;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "weak-psk: a PSK made from a {DIGITS}-digit code, recorded once, cracked offline\n\n\
         1. The code. Two people agree on {code} face to face and each makes a PSK from it\n   \
         the naive way (`keylab psk from-code`): PSK = SHA-256(\"{code}\") =\n   {psk}\n   \
         32 bytes that look like any key, but there are only 10^{DIGITS} of them.\n",
        code = d.code,
        psk = d.psk
    );
    let _ = writeln!(
        t,
        "2. The handshake. Identity \"{IDENTITY}\", path {}: the client sent {} bytes; its\n   \
         ClientHello ({} bytes) ends with the PSK binder (RFC 8446 §4.2.11.2)\n   \
         binder       = {}\n   \
         over SHA-256 of the ClientHello up to the binders\n   \
         partial hash = {}\n",
        r.path, r.client_bytes, r.client_hello_bytes, r.binder, r.partial_hash
    );
    let _ = writeln!(
        t,
        "3. Why the binder is an oracle. binder = HMAC(finished_key, partial hash) with\n   \
         binder_key   = Derive-Secret(HKDF-Extract(0, PSK), \"ext binder\", \"\")  (§7.1)\n   \
         finished_key = HKDF-Expand-Label(binder_key, \"finished\", \"\", 32)       (§4.4.4)\n   \
         Everything in it but the PSK is on the wire, so a guess is checked without talking to\n   \
         anyone. X25519 does not help: the binder is computed before any key share is used.\n"
    );
    let g = &d.crack;
    let _ = writeln!(
        t,
        "4. The crack (`keylab psk crack --digits {DIGITS}`): one SHA-256 for the guessed PSK,\n   \
         then HKDF-Extract, Derive-Secret, HKDF-Expand-Label and the HMAC per guess.\n   \
         found {} at position {} of {} (codes tried from {} up)\n   {}\n",
        g.found.as_deref().unwrap_or("nothing"),
        g.position.unwrap_or(0),
        g.candidates,
        "0".repeat(DIGITS as usize),
        measured(g)
    );
    let _ = writeln!(
        t,
        "5. Longer codes at the measured rate (every code; half on average):"
    );
    for (digits, secs) in &d.projections {
        let _ = writeln!(t, "   {digits:>2} digits: {}", human_duration(*secs));
    }
    let _ = writeln!(
        t,
        "\n   A code a person can type has far fewer bits than a key needs (RFC 8446 §2.2,\n   \
         RFC 9257 §4.2). The fix: `keylab pair` turns the code into a strong key with a PAKE\n   \
         (`keylab demo --path pake`), or `keylab psk new` draws one to carry as a QR code."
    );
    t
}
