//! Client-side resumption state (RFC 8446 §4.6.1, §2.2): what a NewSessionTicket gives the
//! client, a bounded cache of them, and a text file format for keeping one between runs.
//!
//! The session file holds the resumption PSK: whoever reads it can resume as this client.
//! Write it with owner-only permissions. Format (one `key=value` per line, first line a
//! version tag):
//!
//! ```text
//! keylab-session-v1
//! server_name=localhost
//! ticket=<hex>
//! psk=<hex, 32 bytes>
//! age_add=<u32>
//! lifetime=<seconds>
//! received_ms=<Unix milliseconds>
//! client_identity=<who the client proved to be; absent when anonymous>
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Mutex;

use zeroize::Zeroizing;

use crate::key_schedule::HASH_LEN;

/// A ticket the server gave, with the PSK the client derived for it.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// The server name it was issued for (it is only offered to that name).
    pub server_name: String,
    /// The opaque ticket.
    pub ticket: Vec<u8>,
    /// The resumption PSK (RFC 8446 §4.6.1).
    pub psk: Zeroizing<[u8; HASH_LEN]>,
    /// ticket_age_add, for the obfuscated ticket age (§4.2.11.1).
    pub age_add: u32,
    /// Lifetime in seconds.
    pub lifetime: u32,
    /// When the ticket arrived, Unix milliseconds.
    pub received_ms: u64,
    /// Who the client proved to be in the handshake that earned the ticket.
    pub client_identity: Option<String>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("server_name", &self.server_name)
            .field("ticket_len", &self.ticket.len())
            .field("lifetime", &self.lifetime)
            .field("received_ms", &self.received_ms)
            .field("client_identity", &self.client_identity)
            .finish_non_exhaustive()
    }
}

/// Why a session file could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("session file: {0}")]
pub struct SessionFileError(String);

const MAGIC: &str = "keylab-session-v1";

impl Session {
    /// Whether the ticket is past its lifetime at `now_ms`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.received_ms) >= u64::from(self.lifetime) * 1000
    }

    /// The obfuscated ticket age to send at `now_ms` (RFC 8446 §4.2.11.1).
    pub fn obfuscated_age(&self, now_ms: u64) -> u32 {
        let age = now_ms
            .saturating_sub(self.received_ms)
            .min(u64::from(u32::MAX)) as u32;
        age.wrapping_add(self.age_add)
    }

    /// The session in the text format above.
    pub fn to_text(&self) -> Zeroizing<String> {
        let psk = Zeroizing::new(hex(&self.psk[..]));
        let mut s = Zeroizing::new(format!(
            "{MAGIC}\nserver_name={}\nticket={}\npsk={}\nage_add={}\nlifetime={}\nreceived_ms={}\n",
            self.server_name,
            hex(&self.ticket),
            psk.as_str(),
            self.age_add,
            self.lifetime,
            self.received_ms
        ));
        if let Some(id) = &self.client_identity {
            s.push_str(&format!("client_identity={id}\n"));
        }
        s
    }

    /// Reads the text format; every field but client_identity is required.
    pub fn from_text(text: &str) -> Result<Self, SessionFileError> {
        let err = |m: String| SessionFileError(m);
        let mut lines = text.lines();
        if lines.next().map(str::trim) != Some(MAGIC) {
            return Err(err(format!("does not start with {MAGIC}")));
        }
        let mut fields: HashMap<&str, &str> = HashMap::new();
        for (i, line) in lines.enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| err(format!("line {}: expected key=value", i + 2)))?;
            if fields.insert(k, v).is_some() {
                return Err(err(format!("line {}: {k} appears twice", i + 2)));
            }
        }
        let get = |k: &str| {
            fields
                .get(k)
                .copied()
                .ok_or_else(|| err(format!("{k} missing")))
        };
        let num = |k: &str| -> Result<u64, SessionFileError> {
            get(k)?
                .parse()
                .map_err(|_| err(format!("{k} is not a number")))
        };
        let psk_bytes =
            Zeroizing::new(unhex(get("psk")?).ok_or_else(|| err("psk is not hex".into()))?);
        if psk_bytes.len() != HASH_LEN {
            return Err(err(format!("psk must be {HASH_LEN} bytes")));
        }
        let mut psk = Zeroizing::new([0u8; HASH_LEN]);
        psk.copy_from_slice(&psk_bytes);
        let ticket = unhex(get("ticket")?).ok_or_else(|| err("ticket is not hex".into()))?;
        if ticket.is_empty() || ticket.len() > 0xffff {
            return Err(err("ticket must be 1 to 65535 bytes".into()));
        }
        let small = |k: &str| -> Result<u32, SessionFileError> {
            u32::try_from(num(k)?).map_err(|_| err(format!("{k} is out of range")))
        };
        // RFC 8446 §4.6.1: no ticket lives longer than 7 days, whatever a file says.
        let lifetime = small("lifetime")?;
        if !(1..=604_800).contains(&lifetime) {
            return Err(err(format!(
                "lifetime {lifetime} is outside 1 to 604800 seconds"
            )));
        }
        Ok(Self {
            server_name: get("server_name")?.to_owned(),
            ticket,
            psk,
            age_add: small("age_add")?,
            lifetime,
            received_ms: num("received_ms")?,
            client_identity: fields.get("client_identity").map(|s| (*s).to_owned()),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Tickets the client holds, per server name (a few each, newest first). Tickets are taken
/// out when offered: RFC 8446 §C.4 advises against using one twice.
pub struct SessionCache {
    inner: Mutex<HashMap<String, VecDeque<Session>>>,
    per_server: usize,
}

impl fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCache")
            .field("per_server", &self.per_server)
            .finish_non_exhaustive()
    }
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::new(4)
    }
}

impl SessionCache {
    /// A cache keeping up to `per_server` tickets for each server name.
    pub fn new(per_server: usize) -> Self {
        Self {
            inner: Mutex::new(HashMap::new()),
            per_server: per_server.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Session>>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a session (the oldest for its server goes when full).
    pub fn insert(&self, session: Session) {
        let mut map = self.lock();
        let list = map.entry(session.server_name.clone()).or_default();
        list.push_front(session);
        list.truncate(self.per_server);
    }

    /// Takes the newest unexpired session for `server_name`, dropping expired ones.
    pub fn take(&self, server_name: &str, now_ms: u64) -> Option<Session> {
        let mut map = self.lock();
        let list = map.get_mut(server_name)?;
        list.retain(|s| !s.is_expired(now_ms));
        list.pop_front()
    }

    /// A copy of the newest session for `server_name`, left in place (to save it).
    pub fn newest(&self, server_name: &str) -> Option<Session> {
        self.lock().get(server_name)?.front().cloned()
    }

    /// How many sessions are held for `server_name`.
    pub fn len(&self, server_name: &str) -> usize {
        self.lock().get(server_name).map_or(0, VecDeque::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            server_name: "localhost".into(),
            ticket: vec![1, 2, 3],
            psk: Zeroizing::new([5; HASH_LEN]),
            age_add: 77,
            lifetime: 10,
            received_ms: 1000,
            client_identity: Some("CN=alice".into()),
        }
    }

    #[test]
    fn text_round_trip_and_errors() {
        let s = session();
        let text = s.to_text();
        assert_eq!(Session::from_text(&text), Ok(s.clone()));
        assert!(!format!("{s:?}").contains("0505"));
        for (bad, needle) in [
            ("nope\n", "does not start"),
            ("keylab-session-v1\nserver_name=a\n", "missing"),
            ("keylab-session-v1\nx\n", "key=value"),
        ] {
            let e = Session::from_text(bad).expect_err(bad).to_string();
            assert!(e.contains(needle), "{e}");
        }
        let short = text.replace(&"05".repeat(32), "0505");
        let e = Session::from_text(&short).expect_err("a 2-byte PSK");
        assert!(e.to_string().contains("psk"), "{e}");
        let forever = text.replace("lifetime=10\n", "lifetime=604801\n");
        let e = Session::from_text(&forever).expect_err("over 7 days");
        assert!(e.to_string().contains("outside 1 to 604800"), "{e}");
    }

    #[test]
    fn cache_takes_newest_unexpired() {
        let cache = SessionCache::new(2);
        let mut a = session();
        a.ticket = vec![1];
        let mut b = session();
        b.ticket = vec![2];
        b.received_ms = 5000;
        let mut c = session();
        c.ticket = vec![3];
        cache.insert(a);
        cache.insert(b);
        cache.insert(c);
        assert_eq!(cache.len("localhost"), 2);
        assert_eq!(
            cache.take("localhost", 2000).map(|s| s.ticket),
            Some(vec![3])
        );
        // The one received at 1000 with a 10 s lifetime is gone at 12 s; b is not.
        assert_eq!(
            cache.take("localhost", 12_000).map(|s| s.ticket),
            Some(vec![2])
        );
        assert_eq!(cache.take("localhost", 12_000), None);
        assert_eq!(cache.take("other", 0), None);
        assert_eq!(session().obfuscated_age(3000), 2077);
    }
}
