//! Arbitrary bytes as an RFC 9218 `priority` field value: never panics,
//! the urgency stays in 0..=7, and what the result prints parses back to it.
#![no_main]

use h2actor::priority::Priority;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = Priority::parse(data);
    assert!(p.urgency <= 7);
    assert_eq!(Priority::parse(p.to_field().as_bytes()), p);
});
