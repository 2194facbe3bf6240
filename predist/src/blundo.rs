//! The polynomial scheme of Blundo, De Santis, Herzberg, Kutten, Vaccaro and Yung
//! ("Perfectly-Secure Key Distribution for Dynamic Conferences", CRYPTO 1992), two-party
//! case, over F_p with p = 2^127 − 1 (see [`crate::field`]).
//!
//! A setup server draws a symmetric bivariate polynomial of degree `t` in each variable,
//! `f(x, y) = Σ a_ij x^i y^j` with `a_ij = a_ji`. Node `i` (evaluated at the point `i + 1`,
//! so that no node sits at zero) stores the univariate share `g_i(y) = f(i+1, y)`: `t + 1`
//! field elements. Nodes `i` and `j` both compute `f(i+1, j+1) = f(j+1, i+1)`, with no
//! message beyond their ids, and derive the link key
//!
//! ```text
//! link key = HKDF-SHA256(salt = none, IKM = f(i+1, j+1) as 16 bytes big-endian,
//!                        info = "keylab predist blundo" ‖ min(i,j) ‖ max(i,j))  (ids: u32 BE)
//! ```
//!
//! Any `t` shares are consistent with every value of another pair's key (the scheme is
//! `t`-secure, information-theoretically); `t + 1` shares determine `f` by Lagrange
//! interpolation. [`Coalition`] is that adversary.

use rand_core::CryptoRng;
use zeroize::Zeroize;

use crate::error::Error;
use crate::field::Fe;
use crate::keys::{LinkKey, hkdf_expand};

/// Largest degree accepted: a share is `t + 1` elements and the polynomial `(t + 1)^2`.
pub const MAX_DEGREE: u32 = 4096;

/// The field point of node `id`: `id + 1`.
pub fn node_point(id: u32) -> Fe {
    Fe::new(u128::from(id) + 1)
}

/// A secret symmetric bivariate polynomial of degree `t` (held by the setup server only).
pub struct Polynomial {
    degree: u32,
    /// Row-major `(t+1) × (t+1)` coefficients `a_ij`, symmetric.
    coeffs: Vec<Fe>,
}

impl Polynomial {
    /// Draws a random symmetric polynomial of degree `degree` (`a_ij` uniform for `i ≤ j`,
    /// mirrored for `i > j`).
    pub fn random<R: CryptoRng + ?Sized>(degree: u32, rng: &mut R) -> Result<Self, Error> {
        if degree > MAX_DEGREE {
            return Err(Error::parameter(
                "--degree",
                format!("at most {MAX_DEGREE}"),
                degree,
            ));
        }
        let n = degree as usize + 1;
        let mut coeffs = vec![Fe::ZERO; n * n];
        for i in 0..n {
            for j in i..n {
                let a = Fe::random(rng);
                coeffs[i * n + j] = a;
                coeffs[j * n + i] = a;
            }
        }
        Ok(Self { degree, coeffs })
    }

    /// The degree `t` in each variable.
    pub fn degree(&self) -> u32 {
        self.degree
    }

    /// `f(x, y)`.
    pub fn evaluate(&self, x: Fe, y: Fe) -> Fe {
        let n = self.degree as usize + 1;
        // Horner in x over rows, each row a polynomial in y.
        self.coeffs
            .chunks(n)
            .rev()
            .fold(Fe::ZERO, |acc, row| acc * x + horner(row, y))
    }

    /// The share of node `id`: the coefficients of `g(y) = f(id + 1, y)`.
    pub fn share(&self, id: u32) -> Share {
        let n = self.degree as usize + 1;
        let x = node_point(id);
        // Coefficient of y^j is Σ_i a_ij x^i: Horner over the rows i, all columns at once.
        let mut coeffs = vec![Fe::ZERO; n];
        for row in self.coeffs.chunks(n).rev() {
            for (c, &a) in coeffs.iter_mut().zip(row) {
                *c = *c * x + a;
            }
        }
        Share { id, coeffs }
    }
}

impl Drop for Polynomial {
    fn drop(&mut self) {
        self.coeffs.zeroize();
    }
}

impl std::fmt::Debug for Polynomial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Polynomial")
            .field("degree", &self.degree)
            .finish_non_exhaustive()
    }
}

/// What node `id` stores: `g(y) = f(id + 1, y)`, `t + 1` field elements.
#[derive(Clone)]
pub struct Share {
    id: u32,
    coeffs: Vec<Fe>,
}

impl Share {
    /// The node this share belongs to.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Number of field elements stored (`t + 1`).
    pub fn len(&self) -> usize {
        self.coeffs.len()
    }

    /// Whether the share holds no coefficients (only the guess of an empty [`Coalition`]).
    pub fn is_empty(&self) -> bool {
        self.coeffs.is_empty()
    }

    /// `K = f(id + 1, peer + 1)`, the shared field element with node `peer`.
    pub fn key_material(&self, peer: u32) -> Fe {
        horner(&self.coeffs, node_point(peer))
    }

    /// The link key with node `peer` (HKDF over [`Share::key_material`]; see the module docs).
    pub fn link_key(&self, peer: u32) -> LinkKey {
        link_key_from(self.key_material(peer), self.id, peer)
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.coeffs.zeroize();
    }
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Share")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The link key of nodes `a` and `b` from their shared field element (order-independent).
pub fn link_key_from(material: Fe, a: u32, b: u32) -> LinkKey {
    let (lo, hi) = (a.min(b), a.max(b));
    let mut info = [0u8; 29];
    info[..21].copy_from_slice(b"keylab predist blundo");
    info[21..25].copy_from_slice(&lo.to_be_bytes());
    info[25..].copy_from_slice(&hi.to_be_bytes());
    LinkKey::from_bytes(hkdf_expand(&material.to_be_bytes(), &info))
}

/// An adversary holding the shares of captured nodes, guessing other nodes' shares by
/// Lagrange interpolation in the first variable: `g'_u(y) = Σ_c λ_c(u) g_c(y)` with
/// `λ_c(u) = Π_{d≠c} (u − x_d) / (x_c − x_d)`.
///
/// With at least `t + 1` shares the guess is `f(u, y)` itself (Blundo et al. 1992: a degree-`t`
/// polynomial in `x` is fixed by `t + 1` points) and every key is exposed. With `t` or fewer
/// the guess is a lower-degree curve through the captured points, and the true key of an
/// uncaptured pair is still uniformly distributed given what was captured: the guess is right
/// only with probability 1/p.
pub struct Coalition {
    points: Vec<Fe>,
    /// `1 / Π_{d≠c} (x_c − x_d)` for each captured point `c`.
    weights: Vec<Fe>,
    shares: Vec<Share>,
}

impl Coalition {
    /// Pools captured shares; at most `t + 1` of them are used (more add nothing).
    /// Shares of the same node count once.
    pub fn new(captured: &[Share]) -> Self {
        let mut shares: Vec<Share> = Vec::new();
        for s in captured {
            let limit = s.len();
            if shares.len() < limit && !shares.iter().any(|t| t.id == s.id) {
                shares.push(s.clone());
            }
        }
        let points: Vec<Fe> = shares.iter().map(|s| node_point(s.id)).collect();
        let weights = points
            .iter()
            .enumerate()
            .map(|(c, &xc)| {
                let denom = points
                    .iter()
                    .enumerate()
                    .filter(|&(d, _)| d != c)
                    .fold(Fe::ONE, |acc, (_, &xd)| acc * (xc - xd));
                // Distinct node ids give distinct points, so the product is never zero.
                denom.inverse().unwrap_or(Fe::ZERO)
            })
            .collect();
        Self {
            points,
            weights,
            shares,
        }
    }

    /// Number of distinct shares the coalition uses.
    pub fn size(&self) -> usize {
        self.shares.len()
    }

    /// The coalition's guess of node `id`'s share.
    pub fn guess_share(&self, id: u32) -> Share {
        let n = self.shares.first().map_or(0, Share::len);
        let mut coeffs = vec![Fe::ZERO; n];
        if let Some(pos) = self.shares.iter().position(|s| s.id == id) {
            coeffs.copy_from_slice(&self.shares[pos].coeffs);
            return Share { id, coeffs };
        }
        for (c, lambda) in self.lagrange_at(node_point(id)).into_iter().enumerate() {
            for (acc, &b) in coeffs.iter_mut().zip(&self.shares[c].coeffs) {
                *acc = *acc + lambda * b;
            }
        }
        Share { id, coeffs }
    }

    /// `λ_c(u)` for every captured `c`, at a point `u` that is not a captured point.
    /// `Π_{d≠c} (u − x_d)` comes from prefix and suffix products, so a call costs a few
    /// multiplications per point and no inversion (the denominators are in `weights`).
    fn lagrange_at(&self, u: Fe) -> Vec<Fe> {
        let diffs: Vec<Fe> = self.points.iter().map(|&x| u - x).collect();
        let mut out = Vec::with_capacity(diffs.len());
        let mut prefix = Fe::ONE;
        for &d in &diffs {
            out.push(prefix);
            prefix = prefix * d;
        }
        let mut suffix = Fe::ONE;
        for c in (0..diffs.len()).rev() {
            out[c] = out[c] * suffix * self.weights[c];
            suffix = suffix * diffs[c];
        }
        out
    }
}

impl std::fmt::Debug for Coalition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalition")
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

/// Evaluates `Σ c_j y^j` by Horner's rule.
fn horner(coeffs: &[Fe], y: Fe) -> Fe {
    coeffs.iter().rev().fold(Fe::ZERO, |acc, &c| acc * y + c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn shares_agree_and_match_the_polynomial() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let f = Polynomial::random(6, &mut rng).unwrap();
        let shares: Vec<Share> = (0..10).map(|i| f.share(i)).collect();
        for a in &shares {
            assert_eq!(a.len(), 7);
            for b in &shares {
                let k = a.key_material(b.id());
                assert_eq!(k, b.key_material(a.id()));
                assert_eq!(k, f.evaluate(node_point(a.id()), node_point(b.id())));
                assert_eq!(a.link_key(b.id()), b.link_key(a.id()));
            }
        }
        assert_ne!(shares[1].link_key(2), shares[1].link_key(3));
    }

    #[test]
    fn t_shares_reveal_nothing_and_t_plus_one_reveal_everything() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let t = 5;
        let f = Polynomial::random(t, &mut rng).unwrap();
        let shares: Vec<Share> = (0..20).map(|i| f.share(i)).collect();
        let (u, v) = (15, 17);
        let truth = shares[u as usize].key_material(v);
        for x in 1..=(t as usize + 3) {
            let guess = Coalition::new(&shares[..x]).guess_share(u).key_material(v);
            assert_eq!(guess == truth, x > t as usize, "{x} captured shares");
        }
        // A captured node's own share is known exactly.
        let c = Coalition::new(&shares[..2]);
        assert_eq!(c.guess_share(1).key_material(9), shares[1].key_material(9));
        assert_eq!(
            Polynomial::random(MAX_DEGREE + 1, &mut rng)
                .map(drop)
                .unwrap_err()
                .to_string(),
            "--degree must be at most 4096, got 4097"
        );
    }
}
