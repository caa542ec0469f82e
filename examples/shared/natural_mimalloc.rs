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
