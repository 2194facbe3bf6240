//! The scheme through the public API: round trips over every M-subset, refusals with their
//! errors, tampering, the vault layout.

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sharing::raw::{self, RawShare, vault};
use sharing::{Error, Share, SplitId, combine, split};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

const SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

/// Every subset of `0..n` with `k` elements.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    (0u32..1 << n)
        .filter(|mask| mask.count_ones() as usize == k)
        .map(|mask| (0..n).filter(|i| mask >> i & 1 == 1).collect())
        .collect()
}

fn pick<T: Clone>(items: &[T], idx: &[usize]) -> Vec<T> {
    idx.iter().map(|&i| items[i].clone()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_m_subset_recovers_and_fewer_refuse(
        secret in proptest::collection::vec(any::<u8>(), 16..48),
        (m, n) in (2usize..=6).prop_flat_map(|n| (2..=n, Just(n))),
        seed in any::<u64>(),
    ) {
        let shares = split(&secret, m, n, &mut rng(seed)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(shares.len(), n);
        for k in m..=n {
            for idx in subsets(n, k) {
                let got = combine(&pick(&shares, &idx));
                prop_assert_eq!(got.as_ref().map(|s| s.as_slice()), Ok(secret.as_slice()));
            }
        }
        for idx in subsets(n, m - 1) {
            prop_assert_eq!(
                combine(&pick(&shares, &idx)),
                Err(Error::NotEnoughShares { have: m - 1, need: m })
            );
        }
    }

    #[test]
    fn raw_every_m_subset_recovers(
        secret in proptest::collection::vec(any::<u8>(), 1..40),
        (m, n) in (2usize..=6).prop_flat_map(|n| (2..=n, Just(n))),
        seed in any::<u64>(),
    ) {
        let shares = raw::split(&secret, m, n, &mut rng(seed)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for idx in subsets(n, m) {
            let got = raw::combine(&pick(&shares, &idx));
            prop_assert_eq!(got.as_ref().map(|s| s.as_slice()), Ok(secret.as_slice()));
        }
        // Vault text round trip.
        for share in &shares {
            prop_assert_eq!(&vault::decode(&vault::encode(share)).map_err(|e| TestCaseError::fail(e.to_string()))?, share);
        }
    }

    #[test]
    fn a_flipped_bit_anywhere_is_detected(
        seed in any::<u64>(),
        victim in 0usize..3,
        byte in 0usize..32,
        bit in 0u8..8,
        extra in any::<bool>(),
    ) {
        let shares = split(SECRET, 3, 5, &mut rng(seed)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut chosen = pick(&shares, if extra { &[0, 1, 2, 3] } else { &[0, 1, 2] });
        chosen[victim].y_mut()[byte] ^= 1 << bit;
        prop_assert_eq!(combine(&chosen), Err(Error::DigestMismatch));
        // A corrupted share beyond the threshold is named.
        let mut chosen = pick(&shares, &[0, 1, 2, 3]);
        chosen[3].y_mut()[byte] ^= 1 << bit;
        prop_assert_eq!(combine(&chosen), Err(Error::Inconsistent { x: chosen[3].x() }));
    }

    #[test]
    fn shares_of_two_splits_do_not_mix(seed in any::<u64>()) {
        let a = split(SECRET, 2, 3, &mut rng(seed)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let b = split(SECRET, 2, 3, &mut rng(seed ^ 1)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mixed = vec![a[0].clone(), b[1].clone()];
        prop_assert_eq!(
            combine(&mixed),
            Err(Error::MixedSplits { first: a[0].split_id(), other: b[1].split_id() })
        );
        // Even relabelled with the same id, the digest catches the mix (unless the two
        // shares happen to share an x, which is a conflict).
        let forged = Share::from_parts(a[0].split_id(), 2, b[1].x(), b[1].y().to_vec());
        let result = combine(&[a[0].clone(), forged]);
        prop_assert!(matches!(result, Err(Error::DigestMismatch | Error::ConflictingShares { .. })), "{:?}", result);
    }
}

#[test]
fn seeded_splits_are_reproducible_and_unseeded_differ() {
    let a = split(SECRET, 3, 5, &mut rng(7)).expect("split");
    let b = split(SECRET, 3, 5, &mut rng(7)).expect("split");
    let c = split(SECRET, 3, 5, &mut rng(8)).expect("split");
    assert_eq!(a, b);
    assert_ne!(a[0].split_id(), c[0].split_id());
    assert!(
        a.iter()
            .all(|s| s.threshold() == 3 && (1..=253).contains(&s.x()))
    );
}

#[test]
fn split_parameters_are_checked() {
    let r = &mut rng(1);
    assert_eq!(
        split(SECRET, 1, 5, r),
        Err(Error::BadThreshold { m: 1, n: 5 })
    );
    assert_eq!(
        split(SECRET, 6, 5, r),
        Err(Error::BadThreshold { m: 6, n: 5 })
    );
    assert_eq!(
        split(SECRET, 2, 254, r),
        Err(Error::TooManyShares { n: 254, max: 253 })
    );
    assert_eq!(split(b"", 2, 3, r), Err(Error::EmptySecret));
    assert_eq!(
        split(&[1; 15], 2, 3, r),
        Err(Error::SecretTooShort { len: 15, min: 16 })
    );
    assert_eq!(
        split(&vec![1; 65537], 2, 3, r),
        Err(Error::SecretTooLong {
            len: 65537,
            max: 65536
        })
    );
    assert_eq!(split(SECRET, 253, 253, r).map(|s| s.len()), Ok(253));
    assert_eq!(raw::split(b"", 2, 3, r), Err(Error::EmptySecret));
    assert_eq!(
        raw::split(b"x", 2, 256, r),
        Err(Error::TooManyShares { n: 256, max: 255 })
    );
    assert_eq!(raw::split(b"x", 255, 255, r).map(|s| s.len()), Ok(255));
}

#[test]
fn every_combine_refusal_has_its_error() {
    let shares = split(SECRET, 3, 5, &mut rng(3)).expect("split");
    let (id, x0) = (shares[0].split_id(), shares[0].x());
    let with = |f: &dyn Fn(&mut Vec<Share>)| {
        let mut v = pick(&shares, &[0, 1, 2]);
        f(&mut v);
        combine(&v)
    };
    assert_eq!(combine(&[]), Err(Error::NoShares));
    assert_eq!(
        with(&|v| v.truncate(2)),
        Err(Error::NotEnoughShares { have: 2, need: 3 })
    );
    assert_eq!(
        with(&|v| v[2] = v[0].clone()),
        Err(Error::DuplicateShare { x: x0 })
    );
    assert_eq!(
        with(&|v| v[2] = Share::from_parts(id, 3, x0, vec![0; 32])),
        Err(Error::ConflictingShares { x: x0 })
    );
    for bad_x in [0u8, 254, 255] {
        assert_eq!(
            with(&|v| v[1] = Share::from_parts(id, 3, bad_x, v[1].y().to_vec())),
            Err(Error::InvalidX { x: bad_x, max: 253 })
        );
    }
    let other = SplitId([9; 8]);
    assert_eq!(
        with(&|v| v[1] = Share::from_parts(other, 3, v[1].x(), v[1].y().to_vec())),
        Err(Error::MixedSplits { first: id, other })
    );
    assert_eq!(
        with(&|v| v[1] = Share::from_parts(id, 2, v[1].x(), v[1].y().to_vec())),
        Err(Error::MixedThresholds {
            id,
            first: 3,
            other: 2
        })
    );
    assert_eq!(
        with(&|v| v[1] = Share::from_parts(id, 3, v[1].x(), vec![0; 31])),
        Err(Error::LengthMismatch {
            first: 32,
            other: 31
        })
    );
    assert_eq!(
        combine(&[
            Share::from_parts(id, 1, 1, vec![0; 32]),
            Share::from_parts(id, 1, 2, vec![0; 32])
        ]),
        Err(Error::InvalidThreshold { m: 1 })
    );
    assert!(matches!(
        combine(&[
            Share::from_parts(id, 2, 1, vec![0; 8]),
            Share::from_parts(id, 2, 2, vec![0; 8])
        ]),
        Err(Error::Format(_))
    ));
    assert_eq!(
        with(&|v| v[0].y_mut()[0] ^= 0x80),
        Err(Error::DigestMismatch)
    );
}

#[test]
fn raw_combine_refusals_and_its_documented_blindness() {
    let shares = raw::split(b"attack at dawn", 3, 5, &mut rng(4)).expect("split");
    assert_eq!(raw::combine(&[]), Err(Error::NoShares));
    assert_eq!(
        raw::combine(&shares[..1]),
        Err(Error::NotEnoughShares { have: 1, need: 2 })
    );
    let dup = vec![shares[0].clone(), shares[0].clone()];
    assert_eq!(
        raw::combine(&dup),
        Err(Error::DuplicateShare { x: shares[0].x })
    );
    let zero = vec![
        shares[0].clone(),
        RawShare {
            x: 0,
            y: shares[1].y.clone(),
        },
    ];
    assert_eq!(raw::combine(&zero), Err(Error::InvalidX { x: 0, max: 255 }));
    let short = vec![
        shares[0].clone(),
        RawShare {
            x: shares[1].x,
            y: vec![1; 3].into(),
        },
    ];
    assert_eq!(
        raw::combine(&short),
        Err(Error::LengthMismatch {
            first: 14,
            other: 3
        })
    );
    // Two of three shares "succeed" with a wrong secret: raw mode cannot know.
    let wrong = raw::combine(&shares[..2]).expect("raw combine never counts");
    assert_ne!(wrong.as_slice(), b"attack at dawn");
}

#[test]
fn vault_text_layout() {
    // y bytes then the x byte, standard base64 with padding.
    let share = RawShare {
        x: 0x2A,
        y: vec![0xDE, 0xAD, 0xBE].into(),
    };
    assert_eq!(vault::encode(&share).as_str(), "3q2+Kg==");
    assert_eq!(vault::decode(" 3q2+Kg==\n"), Ok(share));
    assert!(matches!(
        vault::decode("not base64!"),
        Err(Error::Format(_))
    ));
    assert!(matches!(vault::decode(""), Err(Error::Format(_))));
    assert!(matches!(vault::decode("Kg=="), Err(Error::Format(_))));
}

#[test]
fn share_text_round_trips_through_combine() {
    let shares = split(SECRET, 2, 3, &mut rng(5)).expect("split");
    let parsed: Vec<Share> = shares
        .iter()
        .map(|s| Share::from_text(&s.to_text()).expect("parse"))
        .collect();
    assert_eq!(parsed, shares);
    assert_eq!(combine(&parsed[1..]).expect("combine").as_slice(), SECRET);
}
