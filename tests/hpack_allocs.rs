//! Allocations per HPACK decode of the realistic request block (issue 2
//! target: at most 2, counted with the caller's output `Vec` reused, as the
//! protocol layer does; a fresh `Vec` adds its own growth), and encoded size
//! no larger than the `h2` crate's.
//! A counting global allocator counts the allocations of each thread
//! separately (a global count also saw the test harness and the other test
//! threads starting up: 2.002 to 2.019 "per decode" for an exact 2), and
//! the measurements still run under a lock.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Mutex;

use bytes::BytesMut;
use h2actor::hpack::{Decoder, Field};

#[path = "../benches/support/hpack.rs"]
mod hpack_common;
use hpack_common::*;

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn bump() {
    // `try_with`: the slot may be gone while a thread exits.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        bump();
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        bump();
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static A: Counting = Counting;
static SERIAL: Mutex<()> = Mutex::new(());

const RUNS: usize = 1000;

/// Allocations (and reallocations) made by `f`, averaged over `n` runs.
fn allocs_per_run(n: usize, mut f: impl FnMut()) -> f64 {
    let before = ALLOCS.with(Cell::get);
    for _ in 0..n {
        f();
    }
    (ALLOCS.with(Cell::get) - before) as f64 / n as f64
}

/// Allocations per decode of one block on a warm decoder.
#[derive(Debug)]
#[allow(dead_code)] // printed with {:?}
struct Allocs {
    /// Ours, the caller's output Vec reused (as `proto` does).
    ours: f64,
    /// Ours, a fresh output Vec each time (its growth counted too).
    ours_fresh_vec: f64,
    /// h2's `hpack::Decoder::decode`, headers dropped in the callback.
    h2_hpack: f64,
    /// h2's HEADERS frame decode into pseudo + `HeaderMap`.
    h2_headermap: f64,
}

/// Each decoder is primed with `prime`, decodes `block` 10 times untimed,
/// then RUNS times counted. Same input bytes for every decoder.
fn measure(list: &List, block: &[u8], prime: &[&[u8]]) -> Allocs {
    let mut dec = Decoder::default();
    let mut out: Vec<Field> = Vec::new();
    for p in prime {
        dec.decode(p, &mut out).unwrap();
    }
    let mut run = || {
        out.clear();
        dec.decode(block, &mut out).unwrap();
        assert_eq!(out.len(), list.len());
    };
    (0..10).for_each(|_| run());
    let ours = allocs_per_run(RUNS, run);
    let ours_fresh_vec = allocs_per_run(RUNS, || {
        let mut out: Vec<Field> = Vec::new();
        dec.decode(block, &mut out).unwrap();
    });
    let copies = || -> Vec<BytesMut> { (0..RUNS + 10).map(|_| BytesMut::from(block)).collect() };
    let mut blocks = copies();
    let mut h2 = h2_raw_decoder(prime);
    for _ in 0..10 {
        h2(blocks.pop().unwrap());
    }
    let h2_hpack = allocs_per_run(RUNS, || assert_eq!(h2(blocks.pop().unwrap()), list.len()));
    let mut blocks = copies();
    let mut h2 = h2_decoder(prime);
    for _ in 0..10 {
        drop(h2(blocks.pop().unwrap()));
    }
    let h2_headermap = allocs_per_run(RUNS, || drop(h2(blocks.pop().unwrap())));
    Allocs {
        ours,
        ours_fresh_vec,
        h2_hpack,
        h2_headermap,
    }
}

/// (our cold block, our steady block, h2's steady block), each measured.
fn measure_all(name: &str, list: &List) -> [Allocs; 3] {
    let (ours, _) = ours_blocks(list);
    let (h2, _) = h2_encoder_and_blocks(list);
    let m = [
        measure(list, &ours.cold, &[&ours.cold]),
        measure(list, &ours.steady, &ours.prime()),
        measure(list, &h2.steady, &h2.prime()),
    ];
    for (which, a) in ["our cold block", "our steady block", "h2's steady block"]
        .iter()
        .zip(&m)
    {
        println!("{name}, {which}: allocations per decode {a:?}");
    }
    m
}

// Issue 2: "decoding the Huffman-coded request block in <= 900 ns with <= 2
// allocations" (the time is measured by benches/hpack.rs).
#[test]
fn request_block_decodes_with_at_most_2_allocations() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for a in measure_all("request", &request()) {
        assert!(a.ours <= 2.0, "{a:?}");
    }
}

#[test]
fn response_block_decodes_with_at_most_2_allocations() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for a in measure_all("response", &response()) {
        assert!(a.ours <= 2.0, "{a:?}");
    }
}

// Issue 2: "our encoder's output no larger than h2's (~169 bytes for that
// request once the table is warm)".
#[test]
fn encoded_request_is_no_larger_than_h2s() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (name, list) in [("request", request()), ("response", response())] {
        let (ours, _) = ours_blocks(&list);
        let (h2, _) = h2_encoder_and_blocks(&list);
        println!(
            "{name}: encoded bytes cold/warm/steady: h2actor {}/{}/{}; h2 {}/{}/{}",
            ours.cold.len(),
            ours.warm.len(),
            ours.steady.len(),
            h2.cold.len(),
            h2.warm.len(),
            h2.steady.len()
        );
        if name == "request" {
            assert!(ours.warm.len() <= h2.warm.len(), "{name} warm");
        }
        // the response is reported only: our encoder indexes volatile
        // fields (`date`, `etag`, ...) on second sight, so its second block
        // still carries them as literals
        assert!(ours.steady.len() <= h2.steady.len(), "{name} steady");
    }
}
