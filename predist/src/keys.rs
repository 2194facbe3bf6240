//! Real key material for the random-pool schemes: a key pool, key rings, and the link keys
//! of Eschenauer–Gligor and q-composite.
//!
//! The simulator works on key ids only; these types are what a node would actually carry,
//! and what the link key handed to a PSK handshake comes from.

use hkdf::Hkdf;
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::Error;
use crate::sampling;

/// A 32-byte symmetric key shared by two nodes. Zeroed on drop; `Debug` does not print it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct LinkKey([u8; 32]);

impl LinkKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for LinkKey {
    /// Compares without an early exit, so timing does not tell where two keys differ.
    fn eq(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl Eq for LinkKey {}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(..)")
    }
}

/// The key pool of Eschenauer–Gligor 2002 (§2.1, "key pre-distribution"): `size` random keys
/// with ids `0..size`.
///
/// Rather than store every key, the pool keeps a 32-byte master secret and derives key `id`
/// as HKDF-SHA256-Expand(master, "keylab predist pool key" ‖ id as 4 bytes big-endian).
/// The keys are as independent as HKDF outputs are; a setup server would hold this pool.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyPool {
    size: u32,
    master: [u8; 32],
}

impl KeyPool {
    /// A pool of `size` keys derived from `master`.
    pub fn new(size: u32, master: [u8; 32]) -> Result<Self, Error> {
        if size == 0 {
            return Err(Error::parameter("--pool", "at least 1", size));
        }
        Ok(Self { size, master })
    }

    /// A pool of `size` keys with a fresh master secret from `rng`.
    pub fn random<R: CryptoRng + ?Sized>(size: u32, rng: &mut R) -> Result<Self, Error> {
        let mut master = [0u8; 32];
        rng.fill_bytes(&mut master);
        Self::new(size, master)
    }

    /// Number of keys in the pool.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Key `id`, or `None` when `id` is not in the pool.
    pub fn key(&self, id: u32) -> Option<LinkKey> {
        if id >= self.size {
            return None;
        }
        let mut info = *b"keylab predist pool key\0\0\0\0";
        info[23..].copy_from_slice(&id.to_be_bytes());
        Some(LinkKey(hkdf_expand(&self.master, &info)))
    }

    /// Draws a key ring of `ring` distinct key ids uniformly from the pool (the "ring" each
    /// node is loaded with before deployment).
    pub fn ring<R: CryptoRng + ?Sized>(&self, ring: u32, rng: &mut R) -> Result<KeyRing, Error> {
        if ring == 0 || ring > self.size {
            return Err(Error::parameter(
                "--ring",
                format!("between 1 and the pool size {}", self.size),
                ring,
            ));
        }
        Ok(KeyRing {
            ids: sampling::distinct_sorted(rng, self.size, ring),
        })
    }
}

impl std::fmt::Debug for KeyPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPool")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// The key ids one node carries, sorted ascending and distinct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRing {
    ids: Vec<u32>,
}

impl KeyRing {
    /// A ring from explicit ids (sorted and de-duplicated here).
    pub fn from_ids(mut ids: Vec<u32>) -> Self {
        ids.sort_unstable();
        ids.dedup();
        Self { ids }
    }

    /// The key ids, ascending.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Shared-key discovery (Eschenauer–Gligor 2002, §2.1): the ids both rings hold,
    /// ascending. Nodes find these by exchanging their id lists (or puzzles hiding them).
    pub fn shared_ids(&self, other: &KeyRing) -> Vec<u32> {
        let (a, b) = (&self.ids, &other.ids);
        let (mut i, mut j, mut out) = (0, 0, Vec::new());
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    out.push(a[i]);
                    i += 1;
                    j += 1;
                }
            }
        }
        out
    }
}

/// The Eschenauer–Gligor link key of two rings: the pool key with the smallest shared id
/// (the paper lets the pair use any shared key; keylab fixes the choice so that both ends
/// agree without another message). `None` when the rings share no key.
pub fn eg_link_key(pool: &KeyPool, a: &KeyRing, b: &KeyRing) -> Option<LinkKey> {
    let first = *a.shared_ids(b).first()?;
    pool.key(first)
}

/// The q-composite link key (Chan–Perrig–Song 2003, §4.1): SHA-256 over all shared keys,
/// concatenated in ascending key-id order, when at least `q` keys are shared; else `None`.
pub fn qcomposite_link_key(pool: &KeyPool, a: &KeyRing, b: &KeyRing, q: u32) -> Option<LinkKey> {
    let shared = a.shared_ids(b);
    if shared.is_empty() || shared.len() < q as usize {
        return None;
    }
    let mut hash = Sha256::new();
    for id in shared {
        hash.update(pool.key(id)?.as_bytes());
    }
    Some(LinkKey(hash.finalize().into()))
}

/// HKDF-SHA256 with `ikm` as input keying material and no salt, expanded to 32 bytes.
pub(crate) fn hkdf_expand(ikm: &[u8], info: &[u8]) -> [u8; 32] {
    let mut okm = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 255·32-byte limit, so expand cannot fail.
    #[allow(
        clippy::expect_used,
        reason = "the output length is a constant within limits"
    )]
    Hkdf::<Sha256>::new(None, ikm)
        .expand(info, &mut okm)
        .expect("32-byte HKDF-SHA256 output");
    okm
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn both_ends_derive_the_same_link_keys() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let pool = KeyPool::random(50, &mut rng).unwrap();
        let a = KeyRing::from_ids(vec![3, 7, 9, 20]);
        let b = KeyRing::from_ids(vec![9, 1, 3, 40]);
        assert_eq!(a.shared_ids(&b), vec![3, 9]);
        assert_eq!(eg_link_key(&pool, &a, &b), pool.key(3));
        assert_eq!(eg_link_key(&pool, &a, &b), eg_link_key(&pool, &b, &a));
        let k2 = qcomposite_link_key(&pool, &a, &b, 2).unwrap();
        assert_eq!(Some(k2.clone()), qcomposite_link_key(&pool, &b, &a, 2));
        assert_eq!(qcomposite_link_key(&pool, &a, &b, 3), None);
        // The q-composite key hashes both shared keys, so it differs from either.
        assert_ne!(Some(k2), pool.key(3));
    }

    #[test]
    fn pool_keys_are_distinct_and_bounded() {
        let pool = KeyPool::new(10, [7; 32]).unwrap();
        assert_ne!(pool.key(0), pool.key(1));
        assert_eq!(pool.key(10), None);
        assert_eq!(
            KeyPool::new(0, [0; 32]).map(drop).unwrap_err().to_string(),
            "--pool must be at least 1, got 0"
        );
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        assert_eq!(
            pool.ring(11, &mut rng).map(drop).unwrap_err().to_string(),
            "--ring must be between 1 and the pool size 10, got 11"
        );
        assert_eq!(
            pool.ring(10, &mut rng).unwrap().ids(),
            &(0..10).collect::<Vec<_>>()[..]
        );
        assert_eq!(format!("{:?}", pool.key(1).unwrap()), "LinkKey(..)");
    }
}
