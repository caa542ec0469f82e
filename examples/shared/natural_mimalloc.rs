//! mimalloc as the global allocator, taking its plain (unaligned) entry
//! points whenever a size class already gives the alignment asked for.
//!
//! The `mimalloc` crate's `MiMalloc` passes every allocation to
//! `mi_malloc_aligned`, because Rust gives an alignment with each one.
//! mimalloc v3 serves such a call from its fast path only while the size
//! class's current page has a free block. Otherwise it takes the plain path
//! only for power-of-two sizes. Any other size (a 224-byte stream, a
//! 600-byte future) is over-allocated through its generic aligned path,
//! even at alignment 8.
//!
//! A profile of the example server (callgrind, `h2load -c 16 -m 32`)
//! counted 4.6 such over-allocations per request: 7% of its instructions.
//! Size classes are multiples of 8 (of 16 above 16), and a page's first
//! block is 16-aligned. So a request whose alignment is at most 16 and
//! divides its size is already aligned on the plain path, and it goes
//! there. Anything else still goes to the aligned functions.
//!
//! Used by `examples/server.rs` and `examples/h2_anchor.rs` alike, so that
//! the benchmarks compare HTTP/2 stacks, not allocators.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The largest alignment mimalloc's plain `mi_malloc` guarantees
/// (`MI_MAX_ALIGN_SIZE`).
const PLAIN_ALIGN: usize = 16;

/// mimalloc, plain entry points where they give the alignment (see the
/// module docs).
pub struct NaturalMiMalloc;

fn plain(size: usize, align: usize) -> bool {
    align <= PLAIN_ALIGN && size % align == 0
}

// SAFETY: every block comes from mimalloc and goes back to it (`mi_free`
// takes blocks from either family), with at least the layout's alignment:
// the plain functions only when the size class gives it (module docs).
unsafe impl GlobalAlloc for NaturalMiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain(layout.size(), layout.align()) {
            mi::mi_malloc(layout.size()) as *mut u8
        } else {
            mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain(layout.size(), layout.align()) {
            mi::mi_zalloc(layout.size()) as *mut u8
        } else {
            mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi::mi_free(ptr as *mut c_void);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if plain(new_size, layout.align()) {
            mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
        } else {
            mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
        }
    }
}

/// Every block has the layout's alignment, whichever entry point (plain or
/// aligned) served it, through alloc, alloc_zeroed and realloc. It runs
/// with the examples' tests (`cargo test --examples`, part of
/// `--all-targets`), in each example that uses this allocator.
#[cfg(test)]
mod tests {
    #[test]
    fn every_block_has_its_layouts_alignment() {
        use super::NaturalMiMalloc;
        use std::alloc::{GlobalAlloc, Layout};

        let a = NaturalMiMalloc;
        let mut live = Vec::new();
        for align in [1usize, 2, 4, 8, 16, 32, 64, 128, 4096] {
            for size in (1..=1200).chain([2048, 4095, 4096, 70_000, 1 << 20]) {
                let layout = Layout::from_size_align(size, align).expect("layout");
                // SAFETY: non-zero size; freed below with the same layout.
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "alloc size {size} align {align}");
                    p.write_bytes(0xa5, size);
                    let z = a.alloc_zeroed(layout);
                    assert_eq!(
                        z as usize % align,
                        0,
                        "alloc_zeroed size {size} align {align}"
                    );
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                    let grown = size * 3 / 2 + align;
                    let r = a.realloc(p, layout, grown);
                    assert_eq!(
                        r as usize % align,
                        0,
                        "realloc {size}->{grown} align {align}"
                    );
                    assert!(std::slice::from_raw_parts(r, size)
                        .iter()
                        .all(|&b| b == 0xa5));
                    live.push((r, Layout::from_size_align(grown, align).expect("layout")));
                    live.push((z, layout));
                }
                // Keep pages filling up, so the slow paths are taken too.
                if live.len() > 4096 {
                    for (p, l) in live.drain(..2048) {
                        // SAFETY: allocated above with this layout.
                        unsafe { a.dealloc(p, l) };
                    }
                }
            }
        }
        for (p, l) in live {
            // SAFETY: allocated above with this layout.
            unsafe { a.dealloc(p, l) };
        }
    }
}
