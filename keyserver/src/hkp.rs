//! The HKP-style lookups, `GET /pks/lookup?op=get|index&search=NAME|FINGERPRINT`, in
//! keylab's own formats (PEM, and a line-based index), not OpenPGP's.

use crate::name::{is_fingerprint, normalize};
use crate::registry::{MAX_INDEX, Refusal, RefusalKind, Registry, bad, pem, refuse};
use crate::store::Status;

impl Registry {
    /// `GET /pks/lookup?op=get&search=…`: the current key as PEM.
    pub fn hkp_get(&mut self, search: &str) -> Result<String, Refusal> {
        let record = match parse_search(search)? {
            Search::Fingerprint(fpr) => self.find(&fpr)?,
            Search::Name(name) => self.store_mut().key_by_name(&name)?.ok_or_else(|| {
                refuse(
                    RefusalKind::NotFound,
                    format!("no key is published under the name {name:?}"),
                )
            })?,
        };
        match record.status {
            Status::Current => Ok(pem(&record.spki)),
            status => Err(refuse(
                RefusalKind::Gone,
                format!(
                    "key {} of {:?} is {} (log entry {})",
                    record.fingerprint,
                    record.name,
                    status.as_str(),
                    record.status_index.unwrap_or_default()
                ),
            )),
        }
    }

    /// `GET /pks/lookup?op=index&search=…`: the keys of a name (oldest first) or the key
    /// of a fingerprint, one line each:
    ///
    /// ```text
    /// info:1:<count>
    /// key:<fingerprint>:ed25519:<published, Unix seconds>:<status>:<log index>:<name>
    /// ```
    ///
    /// with the name percent-encoded (every byte outside `A-Z a-z 0-9 . - _ @ +`), so the
    /// index is ASCII and `:` only separates fields.
    pub fn hkp_index(&mut self, search: &str) -> Result<String, Refusal> {
        let records = match parse_search(search)? {
            Search::Fingerprint(fpr) => vec![self.find(&fpr)?],
            Search::Name(name) => self.store_mut().history(&name, MAX_INDEX)?,
        };
        if records.is_empty() {
            return Err(refuse(RefusalKind::NotFound, "no keys match"));
        }
        let mut out = format!("info:1:{}\n", records.len());
        for r in &records {
            out.push_str(&format!(
                "key:{}:ed25519:{}:{}:{}:{}\n",
                r.fingerprint,
                r.published,
                r.status.as_str(),
                r.log_index,
                percent_encode(&r.name)
            ));
        }
        Ok(out)
    }
}

enum Search {
    Fingerprint(String),
    Name(String),
}

/// A fingerprint (64 hex digits, either case) or a name.
fn parse_search(search: &str) -> Result<Search, Refusal> {
    let lower = search.trim().to_ascii_lowercase();
    if is_fingerprint(&lower) {
        return Ok(Search::Fingerprint(lower));
    }
    normalize(search)
        .map(Search::Name)
        .map_err(|e| bad(format!("search is neither a fingerprint nor a name: {e}")))
}

/// Percent-encodes every byte outside `A-Z a-z 0-9 . - _ @ +`.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_@+".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
