//! The HPACK Huffman code (RFC 7541 §5.2, Appendix B).
//!
//! Decoding is by table, never bit by bit. The decoder keeps the input in a
//! 64-bit window and looks the next 12 bits up in `FAST` (4096 entries): one
//! look-up yields up to two symbols (most letters and digits take 5 to 7
//! bits). Codes longer than 12 bits are decoded canonically (`LONG`). At the
//! end, what is left must be at most 7 bits, all ones (RFC 7541 §5.2); EOS
//! decoded anywhere is an error.
//!
//! `validate` uses the second, independent table: a 4-bit state machine
//! (`DECODE`, 256 states x 16 nibbles) whose entries also say whether the
//! string may end in the resulting state. The tests check that both agree.

use super::huffman_table::{ACCEPT, DECODE, ENCODE, FAIL, FAST, FAST_BITS, LONG, SYMS_BY_CODE};
use super::DecoderError;
use bytes::{BufMut, BytesMut};

/// Length in bytes of the Huffman encoding of `src` (padding included).
#[inline]
pub fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src.iter().map(|&b| ENCODE[b as usize].1 as usize).sum();
    bits.div_ceil(8)
}

/// Appends the Huffman encoding of `src` to `dst`, padded with the most
/// significant bits of EOS (all ones, RFC 7541 §5.2).
pub fn encode<B: BufMut>(src: &[u8], dst: &mut B) {
    // `acc` holds fewer than 8 pending bits plus one code (at most 30 bits).
    let mut acc: u64 = 0;
    let mut bits: u32 = 0;
    for &b in src {
        let (code, len) = ENCODE[b as usize];
        acc = (acc << len) | u64::from(code);
        bits += u32::from(len);
        while bits >= 8 {
            bits -= 8;
            dst.put_u8((acc >> bits) as u8);
        }
    }
    if bits > 0 {
        dst.put_u8(((acc << (8 - bits)) as u8) | (0xffu8 >> bits));
    }
}

/// Decodes `src` and appends the octets to `dst`. On error `dst` is left as
/// it was.
pub fn decode(src: &[u8], dst: &mut BytesMut) -> Result<(), DecoderError> {
    decode_bounded(src, dst, usize::MAX).map(|_| ())
}

/// Decodes `src`, appending the octets to `dst` only if there are at most
/// `budget` of them: returns `Ok(true)` when appended, `Ok(false)` when the
/// string was valid but longer than `budget` (then `dst` is unchanged and at
/// most `budget + 1` bytes of it were touched). On error `dst` is unchanged.
pub fn decode_bounded(src: &[u8], dst: &mut BytesMut, budget: usize) -> Result<bool, DecoderError> {
    let start = dst.len();
    // At most one symbol per nibble: two output octets per input octet is an
    // upper bound on the output.
    let room = src.len().saturating_mul(2).min(budget.saturating_add(1));
    dst.resize(start + room, 0);
    match decode_into(src, &mut dst[start..]) {
        Ok(n) if n <= budget => {
            dst.truncate(start + n);
            Ok(true)
        }
        Ok(_) => {
            dst.truncate(start);
            Ok(false)
        }
        Err(e) => {
            dst.truncate(start);
            Err(e)
        }
    }
}

/// Checks that `src` is a valid Huffman string without producing output
/// (used for fields the decoder drops once the header list is too large).
/// Walks the nibble state machine, independent of `decode`'s tables.
pub fn validate(src: &[u8]) -> Result<(), DecoderError> {
    let mut state = 0usize;
    let mut last = ACCEPT;
    for &b in src {
        for nibble in [b >> 4, b & 0x0f] {
            let e = DECODE[state][nibble as usize];
            if e & FAIL != 0 {
                return Err(DecoderError::InvalidHuffman);
            }
            state = (e & 0xff) as usize;
            last = e;
        }
    }
    if last & ACCEPT == 0 {
        return Err(DecoderError::InvalidHuffman);
    }
    Ok(())
}

/// The decoding loop. Returns the number of decoded octets, which may be
/// more than `out.len()`: the octets past it are counted, not written.
#[inline]
fn decode_into(src: &[u8], out: &mut [u8]) -> Result<usize, DecoderError> {
    // `acc` holds the next `nbits` input bits, most significant first; the
    // bits below them are either zero or the following input bits (the fast
    // refill loads 8 bytes but counts only the whole ones that fit).
    let mut acc: u64 = 0;
    let mut nbits: u32 = 0;
    let mut i = 0usize;
    let mut n = 0usize;

    // Hot loop: while at least 30 bits (the longest code) are buffered, the
    // next code is entirely in `acc` and needs no end-of-input care. The
    // dependency chain per step is: top 12 bits -> table -> shift.
    loop {
        if nbits < 30 {
            refill(src, &mut i, &mut acc, &mut nbits);
            if nbits < 30 {
                break;
            }
        }
        let e = FAST[(acc >> (64 - FAST_BITS)) as usize];
        if e & 0xc0 != 0 {
            if let Some(slot) = out.get_mut(n) {
                *slot = (e >> 8) as u8;
            }
            if let Some(slot) = out.get_mut(n + 1) {
                *slot = (e >> 16) as u8;
            }
            n += ((e >> 6) & 3) as usize;
            // The entry's low 6 bits are the bits consumed: the shift is
            // the only work on the `acc` dependency chain.
            acc = acc.wrapping_shl(e);
            nbits -= e & 0x1f;
        } else {
            let (sym, len) = decode_long((acc >> 32) as u32);
            if sym > 255 {
                // RFC 7541 §5.2: EOS inside a string.
                return Err(DecoderError::InvalidHuffman);
            }
            if let Some(slot) = out.get_mut(n) {
                *slot = sym as u8;
            }
            n += 1;
            acc <<= len;
            nbits -= len;
        }
    }

    // Tail: the input is exhausted and fewer than 30 bits remain. Decode one
    // code at a time, looking at ones past the real bits: a code that only
    // "completes" into them is not there, which the length checks detect.
    while nbits > 0 {
        // At most 7 bits of ones: padding (no code is 7 ones or fewer: the
        // all-ones path is the EOS prefix), the usual way a string ends.
        if nbits <= 7 && (acc | (u64::MAX >> nbits)) == u64::MAX {
            return Ok(n);
        }
        let window = acc | (u64::MAX >> nbits);
        let e = FAST[(window >> (64 - FAST_BITS)) as usize];
        let total = e & 0x1f;
        let count = (e >> 6) & 3;
        if count == 2 && total <= nbits {
            // Both symbols are real (short strings live here entirely).
            if let Some(slot) = out.get_mut(n) {
                *slot = (e >> 8) as u8;
            }
            if let Some(slot) = out.get_mut(n + 1) {
                *slot = (e >> 16) as u8;
            }
            n += 2;
            acc <<= total;
            nbits -= total;
            continue;
        }
        let (sym, len) = if count != 0 {
            ((e >> 8) & 0xff, (e >> 24) & 0x1f)
        } else {
            let (sym, len) = decode_long((window >> 32) as u32);
            (u32::from(sym), len)
        };
        if len > nbits {
            break;
        }
        if sym > 255 {
            return Err(DecoderError::InvalidHuffman);
        }
        if let Some(slot) = out.get_mut(n) {
            *slot = sym as u8;
        }
        n += 1;
        acc <<= len;
        nbits -= len;
    }
    // What is left is no complete code: it must be padding, at most 7 bits
    // of the EOS prefix, i.e. all ones (RFC 7541 §5.2).
    if nbits == 0 {
        return Ok(n);
    }
    let ones = u64::MAX << (64 - nbits);
    if nbits <= 7 && acc & ones == ones {
        return Ok(n);
    }
    Err(DecoderError::InvalidHuffman)
}

/// Tops `acc` up to at least 56 bits (at most 63) while input remains. The
/// bits below the counted ones are either zero or the next input bits (the
/// 8-octet load counts only the whole octets that fit), so loading them again
/// later is harmless.
#[inline(always)]
fn refill(src: &[u8], i: &mut usize, acc: &mut u64, nbits: &mut u32) {
    if let Some(chunk) = src.get(*i..*i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        *acc |= u64::from_be_bytes(w) >> *nbits;
        let take = (63 - *nbits) >> 3;
        *i += take as usize;
        *nbits += take << 3;
    } else {
        while *nbits <= 55 {
            let Some(&b) = src.get(*i) else { break };
            *acc |= u64::from(b) << (56 - *nbits);
            *nbits += 8;
            *i += 1;
        }
    }
}

/// Canonical decoding of a code longer than `FAST_BITS`, from the next 32
/// bits (left-aligned): `(symbol, length)`.
#[inline(never)]
fn decode_long(window: u32) -> (u16, u32) {
    for &(limit, first, offset, len) in LONG.iter() {
        if u64::from(window) < limit {
            let rank = (window >> (32 - u32::from(len))).wrapping_sub(first) as usize;
            let sym = SYMS_BY_CODE
                .get(usize::from(offset) + rank)
                .copied()
                .unwrap_or(256);
            return (sym, u32::from(len));
        }
    }
    (256, 30)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hpack::huffman_table::EMIT;

    /// Reference decoder on the nibble state machine (independent tables).
    fn decode_nibbles(src: &[u8]) -> Result<Vec<u8>, DecoderError> {
        let mut state = 0usize;
        let mut last = ACCEPT;
        let mut out = Vec::new();
        for &b in src {
            for nibble in [b >> 4, b & 0x0f] {
                let e = DECODE[state][nibble as usize];
                if e & FAIL != 0 {
                    return Err(DecoderError::InvalidHuffman);
                }
                if e & EMIT != 0 {
                    out.push((e >> 8) as u8);
                }
                state = (e & 0xff) as usize;
                last = e;
            }
        }
        if last & ACCEPT == 0 {
            return Err(DecoderError::InvalidHuffman);
        }
        Ok(out)
    }

    #[test]
    fn fast_and_nibble_decoders_agree_on_every_one_and_two_octet_input() {
        for a in 0..=255u8 {
            assert_eq!(dec(&[a]), decode_nibbles(&[a]), "{a:02x}");
            for b in 0..=255u8 {
                assert_eq!(dec(&[a, b]), decode_nibbles(&[a, b]), "{a:02x} {b:02x}");
            }
        }
    }

    #[test]
    fn fast_and_nibble_decoders_agree_on_long_codes_and_tails() {
        // Every symbol (long codes included) followed by every short tail.
        for sym in 0..=255u8 {
            let base = enc(&[sym, b'a', sym]);
            for tail in 0..=255u8 {
                let mut v = base.clone();
                v.push(tail);
                assert_eq!(dec(&v), decode_nibbles(&v), "{v:02x?}");
                v.truncate(v.len() - 2);
                assert_eq!(dec(&v), decode_nibbles(&v), "{v:02x?}");
            }
        }
        // Around the fast refill boundary (8-octet loads).
        let text: Vec<u8> = (0..64u8).map(|i| b"e~\\x00ab<"[(i % 9) as usize]).collect();
        for len in 0..text.len() {
            let coded = enc(&text[..len]);
            assert_eq!(dec(&coded).unwrap(), &text[..len]);
            for cut in 0..coded.len() {
                assert_eq!(
                    dec(&coded[..cut]),
                    decode_nibbles(&coded[..cut]),
                    "len {len} cut {cut}"
                );
            }
        }
    }

    fn enc(s: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        encode(s, &mut v);
        assert_eq!(v.len(), encoded_len(s));
        v
    }

    fn dec(s: &[u8]) -> Result<Vec<u8>, DecoderError> {
        let mut b = BytesMut::new();
        let r = decode(s, &mut b).map(|()| b.to_vec());
        assert_eq!(
            r.is_ok(),
            validate(s).is_ok(),
            "validate agrees with decode"
        );
        r
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // RFC 7541 C.4.1, C.4.2, C.4.3, C.6.1: the Huffman strings of the examples.
    #[test]
    fn rfc_examples_encode_and_decode() {
        let cases: &[(&str, &str)] = &[
            ("www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"),
            ("no-cache", "a8eb 1064 9cbf"),
            ("custom-key", "25a8 49e9 5ba9 7d7f"),
            ("custom-value", "25a8 49e9 5bb8 e8b4 bf"),
            ("302", "6402"),
            ("private", "aec3 771a 4b"),
            ("Mon, 21 Oct 2013 20:13:21 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff"),
            ("https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"),
            (
                "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
                "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
            ),
        ];
        for (plain, coded) in cases {
            assert_eq!(enc(plain.as_bytes()), hex(coded), "{plain}");
            assert_eq!(dec(&hex(coded)).unwrap(), plain.as_bytes(), "{plain}");
        }
    }

    #[test]
    fn every_symbol_round_trips_alone_and_in_sequence() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(dec(&enc(&all)).unwrap(), all);
        for b in 0..=255u8 {
            for n in 1..=9 {
                let s = vec![b; n];
                assert_eq!(dec(&enc(&s)).unwrap(), s);
            }
        }
    }

    #[test]
    fn empty_string_decodes_to_nothing() {
        assert_eq!(dec(&[]).unwrap(), b"");
        assert_eq!(enc(b""), b"");
    }

    #[test]
    fn huffman_eos_in_string_is_compression_error() {
        // EOS is 30 ones: 0xff 0xff 0xff 0xfc (+ two padding ones).
        assert_eq!(
            dec(&[0xff, 0xff, 0xff, 0xff]),
            Err(DecoderError::InvalidHuffman)
        );
        // 'a' (00011) then EOS.
        let mut v = Vec::new();
        let bits: u64 = (0b00011u64 << 30) | 0x3fff_ffff; // 35 bits, pad 5 ones
        let bits = (bits << 5) | 0x1f;
        for i in (0..5).rev() {
            v.push((bits >> (i * 8)) as u8);
        }
        assert_eq!(dec(&v), Err(DecoderError::InvalidHuffman));
    }

    #[test]
    fn huffman_padding_longer_than_7_bits_is_compression_error() {
        // "0" is 00000 (5 bits); 0x07 0xff = 00000 111 11111111: 11 bits of padding.
        assert_eq!(dec(&[0x07]).unwrap(), b"0");
        assert_eq!(dec(&[0x07, 0xff]), Err(DecoderError::InvalidHuffman));
        // A whole byte of ones alone is 8 bits of padding.
        assert_eq!(dec(&[0xff]), Err(DecoderError::InvalidHuffman));
    }

    #[test]
    fn huffman_padding_not_all_ones_is_compression_error() {
        // "0" then padding 110 instead of 111.
        assert_eq!(dec(&[0x06]), Err(DecoderError::InvalidHuffman));
        // "0" then padding 000: decodes as a truncated second '0' code.
        assert_eq!(dec(&[0x00]), Err(DecoderError::InvalidHuffman));
    }
}
