//! HPACK integers (RFC 7541 §5.1): an N-bit prefix, then 7-bit groups, least
//! significant first, each with a continuation bit.

use super::DecoderError;
use bytes::BufMut;

/// Largest integer the decoder accepts. Every legitimate HPACK integer (an
/// index, a string length, a table size) fits in 32 bits; anything larger is
/// rejected as an overflow (RFC 7541 §5.1: "Integer encodings that exceed
/// implementation limits ... MUST be treated as decoding errors").
pub const MAX_INT: u64 = u32::MAX as u64;

/// At most this many continuation bytes: 5 x 7 = 35 bits covers `MAX_INT`.
/// More (even zero-valued ones, `0x80 0x80 ...`) is an overflow.
const MAX_CONTINUATION_BYTES: usize = 5;

/// Appends `value` with an `prefix_bits`-bit prefix; `flags` are the bits of
/// the first byte above the prefix (the representation type).
#[inline]
pub fn encode<B: BufMut>(dst: &mut B, prefix_bits: u8, flags: u8, value: usize) {
    debug_assert!((1..=8).contains(&prefix_bits));
    let max_prefix = (1usize << prefix_bits) - 1;
    if value < max_prefix {
        dst.put_u8(flags | value as u8);
        return;
    }
    dst.put_u8(flags | max_prefix as u8);
    let mut rest = value - max_prefix;
    while rest >= 128 {
        dst.put_u8((rest & 0x7f) as u8 | 0x80);
        rest >>= 7;
    }
    dst.put_u8(rest as u8);
}

/// Length in bytes of `value` encoded with a `prefix_bits`-bit prefix.
#[inline]
pub fn encoded_len(prefix_bits: u8, value: usize) -> usize {
    let max_prefix = (1usize << prefix_bits) - 1;
    if value < max_prefix {
        return 1;
    }
    let mut rest = value - max_prefix;
    let mut n = 2;
    while rest >= 128 {
        rest >>= 7;
        n += 1;
    }
    n
}

/// Decodes an integer whose first byte is `src[*pos]`, using its low
/// `prefix_bits` bits, and advances `*pos` past it. Errors: `Truncated` when
/// the block ends inside the integer, `IntegerOverflow` above [`MAX_INT`].
#[inline]
pub fn decode(src: &[u8], pos: &mut usize, prefix_bits: u8) -> Result<usize, DecoderError> {
    let max_prefix = ((1u32 << prefix_bits) - 1) as u8;
    let first = *src.get(*pos).ok_or(DecoderError::Truncated)?;
    *pos += 1;
    let prefix = first & max_prefix;
    if prefix < max_prefix {
        return Ok(prefix as usize);
    }
    let mut value = prefix as u64;
    let mut shift = 0u32;
    for _ in 0..MAX_CONTINUATION_BYTES {
        let b = *src.get(*pos).ok_or(DecoderError::Truncated)?;
        *pos += 1;
        value += u64::from(b & 0x7f) << shift;
        if value > MAX_INT {
            return Err(DecoderError::IntegerOverflow);
        }
        if b & 0x80 == 0 {
            return Ok(value as usize);
        }
        shift += 7;
    }
    Err(DecoderError::IntegerOverflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(prefix: u8, flags: u8, v: usize) -> Vec<u8> {
        let mut out = Vec::new();
        encode(&mut out, prefix, flags, v);
        assert_eq!(out.len(), encoded_len(prefix, v));
        out
    }

    fn dec(prefix: u8, src: &[u8]) -> Result<(usize, usize), DecoderError> {
        let mut pos = 0;
        decode(src, &mut pos, prefix).map(|v| (v, pos))
    }

    // RFC 7541 C.1.1
    #[test]
    fn c_1_1_ten_with_a_5_bit_prefix() {
        assert_eq!(enc(5, 0, 10), [0x0a]);
        assert_eq!(dec(5, &[0xea]), Ok((10, 1)));
    }

    // RFC 7541 C.1.2
    #[test]
    fn c_1_2_1337_with_a_5_bit_prefix() {
        assert_eq!(enc(5, 0, 1337), [0x1f, 0x9a, 0x0a]);
        assert_eq!(dec(5, &[0xff, 0x9a, 0x0a]), Ok((1337, 3)));
    }

    // RFC 7541 C.1.3
    #[test]
    fn c_1_3_42_at_an_octet_boundary() {
        assert_eq!(enc(8, 0, 42), [0x2a]);
        assert_eq!(dec(8, &[0x2a]), Ok((42, 1)));
    }

    #[test]
    fn prefix_boundary_values_round_trip() {
        for prefix in 1..=8u8 {
            for v in [
                0,
                1,
                30,
                31,
                32,
                126,
                127,
                128,
                254,
                255,
                256,
                16383,
                1 << 20,
                u32::MAX as usize,
            ] {
                let bytes = enc(prefix, 0, v);
                assert_eq!(
                    dec(prefix, &bytes),
                    Ok((v, bytes.len())),
                    "prefix {prefix} value {v}"
                );
            }
        }
    }

    #[test]
    fn integer_overflow_is_rejected() {
        // u32::MAX + 1 with a 5-bit prefix.
        let bytes = enc(5, 0, u32::MAX as usize + 1);
        assert_eq!(dec(5, &bytes), Err(DecoderError::IntegerOverflow));
        // Endless zero continuations are an overflow, not a loop.
        assert_eq!(
            dec(5, &[0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
            Err(DecoderError::IntegerOverflow)
        );
        assert_eq!(
            dec(7, &[0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
            Err(DecoderError::IntegerOverflow)
        );
    }

    #[test]
    fn truncated_integer_is_rejected() {
        assert_eq!(dec(5, &[]), Err(DecoderError::Truncated));
        assert_eq!(dec(5, &[0x1f]), Err(DecoderError::Truncated));
        assert_eq!(dec(5, &[0x1f, 0x9a]), Err(DecoderError::Truncated));
    }
}
