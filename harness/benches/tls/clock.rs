//! The CPU time of the calling thread: what a benchmark cost this thread, without the
//! time other processes on a busy machine held the core (on an idle machine it equals
//! the wall time).

use std::time::Duration;

/// CPU time consumed by the calling thread so far (`CLOCK_THREAD_CPUTIME_ID`). A system
/// call of about a microsecond: take it per sample, not per operation.
#[allow(
    unsafe_code,
    reason = "clock_gettime is a C function; it only writes the timespec it is given"
)]
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and the clock id is a constant the C
    // library knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}
