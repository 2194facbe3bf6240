//! The three schemes and their parameters, with the analytic values that belong to each.

use crate::analysis;
use crate::blundo::MAX_DEGREE;
use crate::error::Error;

/// Largest key pool. Ids are `u32`; deploying keeps one `u32` per pool key while the
/// rings are drawn (the sampler's marks: 400 MB at this limit), shared-key discovery one
/// bit per pool key on each thread, and each node capture one byte per pool key (which
/// keys the adversary holds).
pub const MAX_POOL: u32 = 100_000_000;

/// A key predistribution scheme and its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Eschenauer–Gligor 2002: each node holds `ring` keys drawn from a pool of `pool`; two
    /// nodes that share a key use it as their link key.
    Eg {
        /// Pool size P.
        pool: u32,
        /// Keys per node k.
        ring: u32,
    },
    /// Chan–Perrig–Song 2003: as Eschenauer–Gligor, but a link needs at least `q` shared
    /// keys and its key is a hash of all of them.
    QComposite {
        /// Pool size P.
        pool: u32,
        /// Keys per node k.
        ring: u32,
        /// Shared keys required, q ≥ 1.
        q: u32,
    },
    /// Blundo et al. 1992: shares of a symmetric bivariate polynomial of degree `degree`.
    Blundo {
        /// Degree t; the scheme withstands t captured nodes.
        degree: u32,
    },
}

impl Scheme {
    /// The short name used on the command line and in JSON: `eg`, `qcomposite`, `blundo`.
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Eg { .. } => "eg",
            Scheme::QComposite { .. } => "qcomposite",
            Scheme::Blundo { .. } => "blundo",
        }
    }

    /// A human description with the parameters, e.g. `q-composite (pool 10000, ring 100, q 2)`.
    pub fn describe(&self) -> String {
        match *self {
            Scheme::Eg { pool, ring } => format!("Eschenauer–Gligor (pool {pool}, ring {ring})"),
            Scheme::QComposite { pool, ring, q } => {
                format!("q-composite (pool {pool}, ring {ring}, q {q})")
            }
            Scheme::Blundo { degree } => format!("Blundo polynomial (degree {degree})"),
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), Error> {
        match *self {
            Scheme::Eg { pool, ring } => validate_pool(pool, ring),
            Scheme::QComposite { pool, ring, q } => {
                validate_pool(pool, ring)?;
                if q == 0 || q > ring {
                    return Err(Error::parameter(
                        "--q",
                        format!("between 1 and the ring size {ring}"),
                        q,
                    ));
                }
                Ok(())
            }
            Scheme::Blundo { degree } => {
                if degree > MAX_DEGREE {
                    return Err(Error::parameter(
                        "--degree",
                        format!("at most {MAX_DEGREE}"),
                        degree,
                    ));
                }
                Ok(())
            }
        }
    }

    /// Key material stored per node: `ring` keys, or `t + 1` field elements for Blundo.
    pub fn keys_per_node(&self) -> u32 {
        match *self {
            Scheme::Eg { ring, .. } | Scheme::QComposite { ring, .. } => ring,
            Scheme::Blundo { degree } => degree + 1,
        }
    }

    /// The same scheme with a different ring size, `None` for Blundo (which has no ring).
    pub fn with_ring(&self, ring: u32) -> Option<Scheme> {
        match *self {
            Scheme::Eg { pool, .. } => Some(Scheme::Eg { pool, ring }),
            Scheme::QComposite { pool, q, .. } => Some(Scheme::QComposite { pool, ring, q }),
            Scheme::Blundo { .. } => None,
        }
    }

    /// Analytic probability that two neighbours can secure a link directly.
    pub fn connection_probability(&self) -> f64 {
        match *self {
            Scheme::Eg { pool, ring } => analysis::eg_connection_probability(pool, ring),
            Scheme::QComposite { pool, ring, q } => {
                analysis::qcomposite_connection_probability(pool, ring, q)
            }
            Scheme::Blundo { .. } => 1.0,
        }
    }

    /// Analytic expected fraction of links between uncaptured nodes that `captured` captured
    /// nodes expose; `None` when no link can form.
    pub fn compromised_fraction(&self, captured: u32) -> Option<f64> {
        match *self {
            Scheme::Eg { pool, ring } => {
                Some(analysis::eg_compromised_fraction(pool, ring, captured))
            }
            Scheme::QComposite { pool, ring, q } => {
                analysis::qcomposite_compromised_fraction(pool, ring, q, captured)
            }
            Scheme::Blundo { degree } => {
                Some(analysis::blundo_compromised_fraction(degree, captured))
            }
        }
    }
}

fn validate_pool(pool: u32, ring: u32) -> Result<(), Error> {
    if pool == 0 || pool > MAX_POOL {
        return Err(Error::parameter(
            "--pool",
            format!("between 1 and {MAX_POOL}"),
            pool,
        ));
    }
    if ring == 0 || ring > pool {
        return Err(Error::parameter(
            "--ring",
            format!("between 1 and the pool size {pool}"),
            ring,
        ));
    }
    Ok(())
}
