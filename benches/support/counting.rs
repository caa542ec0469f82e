//! A counting global allocator for the benchmarks: every allocation and
//! reallocation bumps a process-wide counter (and a byte total), so a bench
//! can print allocations per request next to criterion's time per request.
//! Counting costs two relaxed atomic adds per allocation; it is on for the
//! whole bench binary, so the timings include it for every layer alike.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(l.size() as u64, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(n as u64, Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

/// (allocations, bytes requested) so far, process-wide.
pub fn snapshot() -> (u64, u64) {
    (ALLOCS.load(Relaxed), BYTES.load(Relaxed))
}

/// Allocations and bytes per unit of work: runs `f` (which does `units`
/// units) and divides the counters' growth by `units`.
pub fn per_unit(units: u64, f: impl FnOnce()) -> (f64, f64) {
    let (a0, b0) = snapshot();
    f();
    let (a1, b1) = snapshot();
    (
        (a1 - a0) as f64 / units as f64,
        (b1 - b0) as f64 / units as f64,
    )
}
