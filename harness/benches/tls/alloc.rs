//! A counting global allocator: live heap bytes and their peak, counted only while a
//! measurement window is open so that the timing benches pay one relaxed load per call.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// The system allocator with counters.
pub struct Counting;

static OPEN: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static COUNT: AtomicIsize = AtomicIsize::new(0);

fn grow(bytes: usize) {
    COUNT.fetch_add(1, Ordering::Relaxed);
    let bytes = isize::try_from(bytes).unwrap_or(isize::MAX);
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrink(bytes: usize) {
    let bytes = isize::try_from(bytes).unwrap_or(isize::MAX);
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`; the counters never affect what is
// returned.
#[allow(
    unsafe_code,
    reason = "a global allocator is an unsafe trait; this one only forwards to System and counts"
)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `layout` is passed on unchanged.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && OPEN.load(Ordering::Relaxed) {
            grow(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() && OPEN.load(Ordering::Relaxed) {
            grow(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (that is, from `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        if OPEN.load(Ordering::Relaxed) {
            shrink(layout.size());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `ptr`, `layout` and `new_size` is passed on.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && OPEN.load(Ordering::Relaxed) {
            shrink(layout.size());
            grow(new_size);
        }
        new
    }
}

/// Opens a measurement window: live bytes and the peak start at zero.
pub fn open() {
    COUNT.store(0, Ordering::Relaxed);
    LIVE.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    OPEN.store(true, Ordering::Relaxed);
}

/// Closes the window.
pub fn close() {
    OPEN.store(false, Ordering::Relaxed);
}

/// Bytes allocated and not yet freed since [`open`] (negative if memory from before the
/// window was freed in it).
pub fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Allocations (and reallocations) since [`open`].
pub fn count() -> isize {
    COUNT.load(Ordering::Relaxed)
}

/// The highest [`live`] value since [`open`] or [`reset_peak`].
pub fn peak() -> isize {
    PEAK.load(Ordering::Relaxed)
}
