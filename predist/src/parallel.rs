//! Work spread over threads with results in a fixed order: a seeded run gives the same
//! bytes on one core or many, because every random draw happens before the split and each
//! piece of work writes only its own result.

use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The number of threads the simulator uses when not told otherwise: every core the
/// operating system gives this process (1 when it cannot tell).
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Runs `work(state, i)` for every `i` in `0..count` on up to `threads` threads and returns
/// the results in index order. Each thread makes its own scratch `state` with `init` (once,
/// however many items it takes), so large scratch arrays are not made per item.
pub(crate) fn map<S, T: Send>(
    count: usize,
    threads: usize,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, usize) -> T + Sync,
) -> Vec<T> {
    let threads = threads.clamp(1, count.max(1));
    if threads == 1 {
        let mut state = init();
        return (0..count).map(|i| work(&mut state, i)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut state = init();
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            break mine;
                        }
                        mine.push((i, work(&mut state, i)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    done.sort_unstable_by_key(|&(i, _)| i);
    done.into_iter().map(|(_, t)| t).collect()
}

/// Below this much work (pairs, or nodes for placement) a pass runs on the calling thread:
/// starting threads would cost more than it saves.
pub(crate) const SERIAL_BELOW: usize = 50_000;

/// Pieces per thread: more pieces than threads even out nodes of uneven work.
const PIECES_PER_THREAD: usize = 8;

/// Splits the nodes `0..offsets.len() - 1` into contiguous ranges of about equal weight,
/// where node `u` weighs `offsets[u + 1] - offsets[u]` plus one; one range when the total is
/// small or there is one thread.
pub(crate) fn split_weighted(offsets: &[usize], threads: usize) -> Vec<Range<u32>> {
    let nodes = offsets.len().saturating_sub(1);
    let total = offsets.last().copied().unwrap_or(0) + nodes;
    if threads <= 1 || total < SERIAL_BELOW {
        return std::iter::once(0..nodes as u32).collect();
    }
    let pieces = threads * PIECES_PER_THREAD;
    // The weight of nodes `0..u` is `offsets[u] + u`, which never decreases with u.
    let first_reaching = |target: usize| {
        let (mut lo, mut hi) = (0usize, nodes);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if offsets[mid] + mid < target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    };
    let mut ranges = Vec::with_capacity(pieces);
    let mut start = 0usize;
    for p in 1..=pieces {
        let end = if p == pieces {
            nodes
        } else {
            first_reaching(total * p / pieces).max(start)
        };
        if end > start {
            ranges.push(start as u32..end as u32);
            start = end;
        }
    }
    ranges
}

/// Splits `0..nodes` into contiguous ranges of about equal size for `threads` threads.
pub(crate) fn split_even(nodes: u32, threads: usize) -> Vec<Range<u32>> {
    if threads <= 1 || (nodes as usize) < SERIAL_BELOW {
        return std::iter::once(0..nodes).collect();
    }
    let pieces = (threads * PIECES_PER_THREAD) as u64;
    (0..pieces)
        .map(|p| {
            let at = |p: u64| (u64::from(nodes) * p / pieces) as u32;
            at(p)..at(p + 1)
        })
        .filter(|r| !r.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keeps_the_index_order_on_any_number_of_threads() {
        for threads in [1, 2, 5] {
            let got = map(
                100,
                threads,
                || 0u32,
                |calls, i| {
                    *calls += 1;
                    i * i
                },
            );
            assert_eq!(got, (0..100).map(|i| i * i).collect::<Vec<_>>());
        }
    }

    #[test]
    fn splits_cover_every_node_once() {
        let offsets: Vec<usize> = (0..=200_000usize).map(|u| u * 3 + u % 7).collect();
        for threads in [1, 2, 3] {
            for ranges in [
                split_weighted(&offsets, threads),
                split_even(200_000, threads),
            ] {
                assert_eq!(ranges.first().map(|r| r.start), Some(0));
                assert_eq!(ranges.last().map(|r| r.end), Some(200_000));
                assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
                assert!(ranges.iter().all(|r| !r.is_empty()));
            }
        }
    }
}
