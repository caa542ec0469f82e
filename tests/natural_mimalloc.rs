//! `examples/shared/natural_mimalloc.rs`, the allocator of the example
//! server, the h2 anchor and the client bench: every block it hands out has
//! the layout's alignment, whichever entry point (plain or aligned) served
//! it, through alloc, alloc_zeroed and realloc.

#[path = "../examples/shared/natural_mimalloc.rs"]
mod natural_mimalloc;

use std::alloc::{GlobalAlloc, Layout};

use natural_mimalloc::NaturalMiMalloc;

#[test]
fn every_block_has_its_layouts_alignment() {
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
