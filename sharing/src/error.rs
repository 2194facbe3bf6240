//! The one error type of splitting, combining and parsing shares.

use crate::share::SplitId;

/// Why a split, a combination or a share's text was refused.
///
/// Every refusal of `combine` is one of these: it never returns a wrong secret for
/// digest-mode shares.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `m` and `n` do not satisfy `2 <= m <= n`.
    #[error("the threshold must be between 2 and the number of shares: got {m} of {n}")]
    BadThreshold {
        /// The threshold asked for.
        m: usize,
        /// The number of shares asked for.
        n: usize,
    },
    /// More shares than the mode has x-coordinates for.
    #[error("at most {max} shares in this mode, {n} asked for")]
    TooManyShares {
        /// The number of shares asked for.
        n: usize,
        /// The limit of the mode (253 with a digest, 255 raw).
        max: usize,
    },
    /// The secret has no bytes.
    #[error("the secret is empty")]
    EmptySecret,
    /// The secret is shorter than digest mode allows.
    #[error(
        "a secret of {len} bytes is too short for digest mode (at least {min}); \
         use the raw (vault) format for short secrets"
    )]
    SecretTooShort {
        /// Its length.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// The secret is longer than a share may be.
    #[error("a secret of {len} bytes is too long (at most {max})")]
    SecretTooLong {
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// `combine` was given nothing.
    #[error("no shares given")]
    NoShares,
    /// Fewer shares than the threshold.
    #[error("not enough shares: {have} given, {need} needed")]
    NotEnoughShares {
        /// Distinct shares given.
        have: usize,
        /// The threshold.
        need: usize,
    },
    /// The same share twice.
    #[error("share x = {x} is given twice")]
    DuplicateShare {
        /// Its x-coordinate.
        x: u8,
    },
    /// Two different shares claim the same x-coordinate.
    #[error("two different shares have x = {x}: at least one is corrupted")]
    ConflictingShares {
        /// The x-coordinate.
        x: u8,
    },
    /// An x-coordinate no share of this mode can have.
    #[error("share x = {x} is outside the valid range 1..={max}")]
    InvalidX {
        /// The x-coordinate.
        x: u8,
        /// The largest valid x (253 with a digest, 255 raw).
        max: u8,
    },
    /// A threshold no split can have.
    #[error("threshold {m} is outside the valid range 2..=253")]
    InvalidThreshold {
        /// The threshold the share claims.
        m: u8,
    },
    /// Shares of different splits.
    #[error("shares from different splits: {first} and {other}")]
    MixedSplits {
        /// The split id of the first share.
        first: SplitId,
        /// A different split id.
        other: SplitId,
    },
    /// Shares of one split that disagree on the threshold (one was altered).
    #[error("shares of split {id} disagree on the threshold: {first} and {other}")]
    MixedThresholds {
        /// The split id.
        id: SplitId,
        /// The threshold of the first share.
        first: u8,
        /// A different threshold.
        other: u8,
    },
    /// Shares of different lengths.
    #[error("shares have different lengths: {first} and {other} bytes")]
    LengthMismatch {
        /// The length of the first share's value.
        first: usize,
        /// A different length.
        other: usize,
    },
    /// The rebuilt secret does not match its digest.
    #[error(
        "the digest does not match: a share is corrupted, or the shares do not belong together"
    )]
    DigestMismatch,
    /// A share beyond the threshold does not lie on the polynomial the others define.
    #[error("share x = {x} does not agree with the others: it is corrupted")]
    Inconsistent {
        /// Its x-coordinate.
        x: u8,
    },
    /// A share's text could not be parsed.
    #[error("malformed share: {0}")]
    Format(String),
}
