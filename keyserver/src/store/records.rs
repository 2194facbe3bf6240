//! What the key index holds about a key, and the changes a log entry makes to it.

/// Where a key stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The key of its name.
    Current,
    /// Handed over to a newer key of the same name.
    Superseded,
    /// Revoked by itself.
    Revoked,
}

impl Status {
    /// `current`, `superseded` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Superseded => "superseded",
            Self::Revoked => "revoked",
        }
    }

    /// The status named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Current, Self::Superseded, Self::Revoked]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A key as the index holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// SHA-256 of the SPKI, lowercase hex.
    pub fingerprint: String,
    /// The (normalised) name.
    pub name: String,
    /// DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
    /// The log entry that published it (a publish or rotate entry).
    pub log_index: u64,
    /// Where it stands.
    pub status: Status,
    /// The entry that superseded (rotate) or revoked it.
    pub status_index: Option<u64>,
    /// When it was published, seconds since the Unix epoch.
    pub published: u64,
}

/// What an accepted statement changes in the key index besides appending its entry.
#[derive(Clone, Debug)]
pub enum Change {
    /// A new key for a free name.
    Publish,
    /// A new key replacing `previous` (its fingerprint) for the same name.
    Rotate {
        /// The fingerprint of the key handed over from.
        previous: String,
    },
    /// The key `fingerprint` is revoked.
    Revoke {
        /// The fingerprint of the key revoked.
        fingerprint: String,
    },
}
