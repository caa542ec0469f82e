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

/// Allocations (and reallocations) made by `f`, averaged over `n` runs.
fn allocs_per_run(n: usize, mut f: impl FnMut()) -> f64 {
    let before = ALLOCS.with(Cell::get);
    for _ in 0..n {
        f();
    }
    (ALLOCS.with(Cell::get) - before) as f64 / n as f64
}

const RUNS: usize = 1000;

/// Allocations per decode on a warm decoder (primed, then 10 untimed
/// decodes of the measured block): ours cold / steady block with a reused
/// output Vec, ours cold with a fresh Vec, h2's `hpack::Decoder` cold /
/// steady, h2's HEADERS->HeaderMap cold / steady. Same input bytes for both.
fn measure(list: &List) -> [f64; 7] {
    let (ours, _) = ours_blocks(list);
    let steady_prime: Vec<&[u8]> = vec![&ours.cold, &ours.warm];
    let cases: [(&[u8], &[&[u8]]); 2] =
        [(&ours.cold, &[&ours.cold]), (&ours.steady, &steady_prime)];
    let mut m = [0.0; 7];
    let mut out: Vec<Field> = Vec::new();
    for (k, (block, prime)) in cases.iter().enumerate() {
        let mut dec = Decoder::default();
        for p in prime.iter() {
            dec.decode(p, &mut out).unwrap();
        }
        let mut run = || {
            out.clear();
            dec.decode(block, &mut out).unwrap();
            assert_eq!(out.len(), list.len());
        };
        (0..10).for_each(|_| run());
        m[k] = allocs_per_run(RUNS, run);
    }
    let mut dec = Decoder::default();
    dec.decode(&ours.cold, &mut out).unwrap();
    m[2] = allocs_per_run(RUNS, || {
        let mut out: Vec<Field> = Vec::new();
        dec.decode(&ours.cold, &mut out).unwrap();
    });
    for (k, (block, prime)) in cases.iter().enumerate() {
        let copies =
            || -> Vec<BytesMut> { (0..RUNS + 10).map(|_| BytesMut::from(*block)).collect() };
        let mut blocks = copies();
        let mut h2 = h2_raw_decoder(prime);
        (0..10).for_each(|_| {
            let _ = h2(blocks.pop().unwrap());
        });
        m[3 + k] = allocs_per_run(RUNS, || assert_eq!(h2(blocks.pop().unwrap()), list.len()));
        let mut blocks = copies();
        let mut h2 = h2_decoder(prime);
        (0..10).for_each(|_| {
            let _ = h2(blocks.pop().unwrap());
        });
        m[5 + k] = allocs_per_run(RUNS, || drop(h2(blocks.pop().unwrap())));
    }
    m
}

fn report(name: &str, m: [f64; 7]) {
    println!(
        "{name}: allocations per decode: h2actor cold {} steady {} (cold, fresh out Vec: {}); \
         h2 hpack::Decoder cold {} steady {}; h2 HEADERS->HeaderMap cold {} steady {}",
        m[0], m[1], m[2], m[3], m[4], m[5], m[6]
    );
}

// Issue 2: "decoding the Huffman-coded request block in <= 900 ns with <= 2
// allocations" (the time is measured by benches/hpack.rs).
#[test]
fn request_block_decodes_with_at_most_2_allocations() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let m = measure(&request());
    report("request", m);
    assert!(
        m[0] <= 2.0,
        "{} allocations per decode of the cold block",
        m[0]
    );
    assert!(
        m[1] <= 2.0,
        "{} allocations per decode of the warm block",
        m[1]
    );
}

#[test]
fn response_block_decodes_with_at_most_2_allocations() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let m = measure(&response());
    report("response", m);
    assert!(m[0] <= 2.0 && m[1] <= 2.0, "{m:?}");
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
