//! Arbitrary bytes through one `hpack::Decoder` as several field blocks
//! sharing its dynamic table, with small table and list limits: never
//! panics. What decodes is re-encoded by an `hpack::Encoder` and decoded by
//! a second decoder in step with it, which must give the same fields.
#![no_main]

use bytes::BytesMut;
use h2actor::hpack::{Decoder, DecoderError, Encoder, Field, FieldRef};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [a, b, rest @ ..] = data else {
        return;
    };
    // small tables make evictions and size updates frequent
    let table = (*a as usize & 0x7f) * 8; // 0..=1016
    let list = if b & 0x80 != 0 {
        usize::MAX
    } else {
        (*b as usize) * 16
    };
    let mut dec = Decoder::new(table, list);
    let mut enc = Encoder::new(table);
    let mut dec2 = Decoder::new(table, usize::MAX);

    // blocks: a length byte, then that many bytes (the last takes the rest)
    let mut input = rest;
    let mut out = Vec::new();
    let mut again = Vec::new();
    while !input.is_empty() {
        let n = (input[0] as usize).min(input.len() - 1);
        let (block, tail) = input[1..].split_at(n);
        input = tail;
        out.clear();
        match dec.decode(block, &mut out) {
            Ok(()) => {
                let mut wire = BytesMut::new();
                enc.encode(
                    out.iter().map(|f: &Field| FieldRef {
                        name: &f.name,
                        value: &f.value,
                        sensitive: f.never_index,
                    }),
                    &mut wire,
                );
                again.clear();
                dec2.decode(&wire, &mut again)
                    .expect("our encoder's block decodes with our decoder");
                assert_eq!(again.len(), out.len());
                for (x, y) in out.iter().zip(&again) {
                    assert_eq!((&x.name, &x.value), (&y.name, &y.value));
                }
            }
            // not fatal: the table is still in sync (RFC 9113 §4.3 / §6.5.2)
            Err(DecoderError::HeaderListTooLarge(_)) => {}
            // a connection error: the connection would end here
            Err(_) => return,
        }
    }
});
