//! The HPACK comparison of benches/hpack.rs as best-of timings: the minimum
//! over 3000 samples of 10 runs each. On a shared, loaded machine the
//! minimum stays close to the unloaded time where criterion's mean does not.
//! Both decoders decode the same bytes; h2 is reached as in benches/hpack.rs.
//!
//!     cargo bench --bench hpack_min
//!
//! (Run by `cargo test --all-targets` too, with 3 samples, as a smoke test.)

use bytes::BytesMut;
use h2actor::hpack::{Decoder, Field};
use std::time::Instant;
#[path = "support/hpack.rs"]
mod hpack_common;
use hpack_common::*;

/// A block to decode: its name, its bytes, the blocks to prime the table with.
type Case<'a> = (&'a str, &'a [u8], Vec<&'a [u8]>);

fn samples() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        3000
    } else {
        3
    }
}

fn best_of<F: FnMut()>(mut f: F) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..samples() {
        let t = Instant::now();
        for _ in 0..10 {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / 10.0);
    }
    best
}

fn main() {
    for (lname, list) in [("request", request()), ("response", response())] {
        let (ours, mut enc) = ours_blocks(&list);
        let (h2, mut h2enc) = h2_encoder_and_blocks(&list);
        let cases: [Case; 3] = [
            ("our cold", &ours.cold, vec![&ours.cold]),
            ("our steady", &ours.steady, ours.prime().to_vec()),
            ("h2 steady", &h2.steady, h2.prime().to_vec()),
        ];
        for (name, block, prime) in cases {
            let mut dec = Decoder::default();
            let mut out: Vec<Field> = Vec::new();
            for p in &prime {
                dec.decode(p, &mut out).unwrap();
            }
            let o = best_of(|| {
                out.clear();
                dec.decode(block, &mut out).unwrap();
                std::hint::black_box(&out);
            });
            let mut h2d = h2_raw_decoder(&prime);
            let mut copies: Vec<BytesMut> = (0..samples() * 10 + 10)
                .map(|_| BytesMut::from(block))
                .collect();
            let h = best_of(|| {
                let b = copies.pop().unwrap();
                std::hint::black_box(h2d(b));
            });
            println!(
                "{lname} decode {name} block ({} B): h2actor {o:.0} ns, h2 hpack {h:.0} ns",
                block.len()
            );
        }
        let fields = refs(&list);
        let mut dst = BytesMut::with_capacity(4096);
        let o = best_of(|| {
            dst.clear();
            enc.encode(fields.iter().copied(), &mut dst);
            std::hint::black_box(&dst);
        });
        let mut frames: Vec<_> = (0..samples() * 10 + 10).map(|_| h2_frame(&list)).collect();
        let h = best_of(|| {
            let f = frames.pop().unwrap();
            std::hint::black_box(h2enc(f));
        });
        println!("{lname} encode warm: h2actor {o:.0} ns, h2 {h:.0} ns (h2 incl. frame header + BytesMut alloc)");
    }
}
