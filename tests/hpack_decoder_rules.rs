//! One test per decoder rejection rule (RFC 7541), named after the rule.
//! Every error but `HeaderListTooLarge` is a COMPRESSION_ERROR (RFC 9113 §4.3).

use bytes::BytesMut;
use h2actor::hpack::{Decoder, DecoderError, Encoder, Field, FieldRef};

fn decode(dec: &mut Decoder, block: &[u8]) -> Result<Vec<Field>, DecoderError> {
    let mut out = Vec::new();
    dec.decode(block, &mut out).map(|()| out)
}

fn decode_fresh(block: &[u8]) -> Result<Vec<Field>, DecoderError> {
    decode(&mut Decoder::default(), block)
}

fn assert_compression_error(block: &[u8], want: DecoderError) {
    let got = decode_fresh(block);
    assert_eq!(got, Err(want.clone()), "block {block:02x?}");
    assert!(want.is_compression_error());
}

fn pairs(fields: &[Field]) -> Vec<(&[u8], &[u8])> {
    fields.iter().map(|f| (&f.name[..], &f.value[..])).collect()
}

// RUSTSEC-2023-0085: this single byte panicked the `hpack` crate. It is a
// size update (001xxxxx) whose 5-bit prefix is full and needs a continuation.
#[test]
fn one_byte_0x3f_is_truncated_not_a_panic() {
    assert_compression_error(&[0x3f], DecoderError::Truncated);
}

// RFC 7541 §6.1: "The index value of 0 is not used. It MUST be treated as a
// decoding error if found in an indexed header field representation."
#[test]
fn index_zero_is_rejected() {
    assert_compression_error(&[0x80], DecoderError::InvalidIndex(0));
}

// RFC 7541 §2.3.3: "Indices strictly greater than the sum of the lengths of
// both tables MUST be treated as a decoding error."
#[test]
fn index_beyond_static_and_dynamic_tables_is_rejected() {
    assert_compression_error(&[0xbe], DecoderError::InvalidIndex(62));
    // A literal whose indexed name is out of range.
    assert_compression_error(&[0x7e, 0x01, b'a'], DecoderError::InvalidIndex(62));
    assert_compression_error(&[0x0f, 0x30, 0x01, b'a'], DecoderError::InvalidIndex(63));
    // With one dynamic entry, 62 is valid and 63 is not.
    let mut dec = Decoder::default();
    decode(&mut dec, &[0x40, 0x01, b'a', 0x01, b'b']).unwrap();
    assert_eq!(
        pairs(&decode(&mut dec, &[0xbe]).unwrap()),
        [(&b"a"[..], &b"b"[..])]
    );
    assert_eq!(
        decode(&mut dec, &[0xbf]),
        Err(DecoderError::InvalidIndex(63))
    );
}

// RFC 7541 §5.1: integers beyond implementation limits are decoding errors.
#[test]
fn integer_overflow_is_rejected() {
    assert_compression_error(
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f],
        DecoderError::IntegerOverflow,
    );
    // Zero-valued continuation bytes without end are an overflow, not a loop.
    assert_compression_error(
        &[0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
        DecoderError::IntegerOverflow,
    );
    // A string length that overflows.
    assert_compression_error(
        &[0x40, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x7f],
        DecoderError::IntegerOverflow,
    );
}

#[test]
fn truncated_integer_is_rejected() {
    assert_compression_error(&[0xff], DecoderError::Truncated);
    assert_compression_error(&[0xff, 0x80], DecoderError::Truncated);
}

#[test]
fn truncated_literal_is_rejected() {
    // Representation byte without its name string.
    assert_compression_error(&[0x40], DecoderError::Truncated);
    // Name, but no value.
    assert_compression_error(&[0x40, 0x01, b'a'], DecoderError::Truncated);
    assert_compression_error(&[0x04], DecoderError::Truncated);
}

// RFC 7541 §5.2: the string length prefix says how many octets follow.
#[test]
fn string_length_beyond_block_is_rejected() {
    assert_compression_error(&[0x40, 0x05, b'a'], DecoderError::StringTooLong);
    assert_compression_error(&[0x04, 0x85, 0x00], DecoderError::StringTooLong);
}

// RFC 7541 §5.2: "A Huffman-encoded string literal containing the EOS symbol
// MUST be treated as a decoding error."
#[test]
fn huffman_eos_in_string_is_compression_error() {
    assert_compression_error(
        &[0x04, 0x84, 0xff, 0xff, 0xff, 0xff],
        DecoderError::InvalidHuffman,
    );
}

// RFC 7541 §5.2: "A padding strictly longer than 7 bits MUST be treated as a
// decoding error."
#[test]
fn huffman_padding_longer_than_7_bits_is_compression_error() {
    // '0' (00000) + 11 bits of ones.
    assert_compression_error(&[0x04, 0x82, 0x07, 0xff], DecoderError::InvalidHuffman);
    assert_compression_error(&[0x04, 0x81, 0xff], DecoderError::InvalidHuffman);
}

// RFC 7541 §5.2: "A padding not corresponding to the most significant bits of
// the code for the EOS symbol MUST be treated as a decoding error."
#[test]
fn huffman_padding_not_all_ones_is_compression_error() {
    // '0' (00000) + padding 110.
    assert_compression_error(&[0x04, 0x81, 0x06], DecoderError::InvalidHuffman);
    // Same in a literal name.
    assert_compression_error(&[0x40, 0x81, 0x06, 0x00], DecoderError::InvalidHuffman);
}

// RFC 7541 §4.2: "This dynamic table size update MUST occur at the beginning
// of the first header block following the change".
#[test]
fn size_update_after_first_field_is_rejected() {
    assert_compression_error(&[0x82, 0x20], DecoderError::SizeUpdateNotAtStart);
    assert_compression_error(
        &[0x82, 0x3f, 0xe1, 0x1f],
        DecoderError::SizeUpdateNotAtStart,
    );
}

// RFC 7541 §4.2 allows two updates at the start (smallest, then final).
#[test]
fn two_size_updates_at_start_are_accepted() {
    let mut dec = Decoder::default();
    decode(&mut dec, &[0x40, 0x01, b'a', 0x01, b'b']).unwrap();
    assert_eq!(dec.table_len(), 1);
    // Update to 0 (evicts everything), then back to 4096.
    let out = decode(&mut dec, &[0x20, 0x3f, 0xe1, 0x1f, 0x82]).unwrap();
    assert_eq!(pairs(&out), [(&b":method"[..], &b"GET"[..])]);
    assert_eq!(dec.table_len(), 0);
    assert_eq!(dec.table_capacity(), 4096);
}

// RFC 7541 §6.3: "The new maximum size MUST be lower than or equal to the
// limit determined by the protocol using HPACK" (our SETTINGS_HEADER_TABLE_SIZE).
#[test]
fn size_update_above_setting_is_rejected() {
    // 4097 = 31 + 4066 = 0x3f 0xe2 0x1f
    assert_compression_error(&[0x3f, 0xe2, 0x1f], DecoderError::SizeUpdateTooLarge(4097));
    let mut dec = Decoder::new(100, usize::MAX);
    assert_eq!(
        decode(&mut dec, &[0x3f, 0x46]),
        Err(DecoderError::SizeUpdateTooLarge(101))
    );
    assert!(decode(&mut dec, &[0x3f, 0x45]).is_ok(), "100 is allowed");
}

// RFC 7541 §4.2: a reduced maximum MUST be signalled at the start of the next
// block.
#[test]
fn size_update_missing_after_setting_reduced_is_rejected() {
    let mut dec = Decoder::default();
    dec.set_max_table_size(1024);
    assert_eq!(
        decode(&mut dec, &[0x82]),
        Err(DecoderError::SizeUpdateMissing)
    );
    assert!(DecoderError::SizeUpdateMissing.is_compression_error());

    let mut dec = Decoder::default();
    dec.set_max_table_size(1024);
    // 1024 = 31 + 993 = 0x3f 0xe1 0x07
    assert_eq!(
        pairs(&decode(&mut dec, &[0x3f, 0xe1, 0x07, 0x82]).unwrap()).len(),
        1
    );
    assert_eq!(dec.table_capacity(), 1024);
    // The requirement is met once: the next block needs no update.
    assert!(decode(&mut dec, &[0x82]).is_ok());
}

// RFC 7541 §4.2: reduced then raised again before a block: the smallest value
// must still be signalled.
#[test]
fn size_update_missing_after_setting_reduced_then_raised_is_rejected() {
    let mut dec = Decoder::default();
    dec.set_max_table_size(0);
    dec.set_max_table_size(4096);
    assert_eq!(
        decode(&mut dec, &[0x82]),
        Err(DecoderError::SizeUpdateMissing)
    );
    let mut dec = Decoder::default();
    dec.set_max_table_size(0);
    dec.set_max_table_size(4096);
    assert!(decode(&mut dec, &[0x20, 0x3f, 0xe1, 0x1f, 0x82]).is_ok());
    // An update that only announces the final 4096, skipping the 0 in
    // between, does not signal the smallest size: rejected.
    let mut dec = Decoder::default();
    dec.set_max_table_size(0);
    dec.set_max_table_size(4096);
    assert_eq!(
        decode(&mut dec, &[0x3f, 0xe1, 0x1f, 0x82]),
        Err(DecoderError::SizeUpdateMissing)
    );
}

// RFC 7541 §4.2: after a reduction to 1024, an update to 2048 (still above
// the smallest setting of the interval) does not acknowledge it.
#[test]
fn size_update_above_the_reduced_setting_does_not_acknowledge_it() {
    let mut dec = Decoder::default();
    dec.set_max_table_size(1024);
    dec.set_max_table_size(4096);
    // 2048 = 31 + 2017 = 0x3f 0xe1 0x0f
    assert_eq!(
        decode(&mut dec, &[0x3f, 0xe1, 0x0f, 0x82]),
        Err(DecoderError::SizeUpdateMissing)
    );
}

#[test]
fn raised_setting_needs_no_size_update() {
    let mut dec = Decoder::default();
    dec.set_max_table_size(8192);
    assert!(decode(&mut dec, &[0x82]).is_ok());
    assert_eq!(dec.table_capacity(), 4096);
}

#[test]
fn an_empty_block_is_an_empty_list() {
    assert_eq!(decode_fresh(&[]), Ok(vec![]));
}

// RFC 9113 §6.5.2 / RFC 7541 §4.1: the list is measured as name + value + 32
// per field; past the limit the block is still decoded to its end so the
// dynamic table stays in sync, and only the stream fails.
#[test]
fn header_list_too_large_keeps_the_table_in_sync() {
    let fields = [
        FieldRef::new(b"x-first", b"1"),
        FieldRef::new(b"x-big", &[b'v'; 100]),
        FieldRef::new(b"x-after", b"indexed after the limit"),
    ];
    let mut enc = Encoder::default();
    let mut block = BytesMut::new();
    enc.encode(fields, &mut block);

    // x-first (7+1+32 = 40) fits in 60; x-big does not.
    let mut dec = Decoder::new(4096, 60);
    let mut out = Vec::new();
    let err = dec.decode(&block, &mut out).unwrap_err();
    assert_eq!(err, DecoderError::HeaderListTooLarge(60));
    assert!(!err.is_compression_error());
    assert!(out.is_empty(), "nothing appended on error");
    assert_eq!(
        dec.table_len(),
        enc.table_len(),
        "table in sync with the encoder"
    );
    assert_eq!(dec.table_size(), enc.table_size());

    // The next block refers to the entries added past the limit.
    dec.set_max_header_list_size(usize::MAX);
    let mut block = BytesMut::new();
    enc.encode(fields, &mut block);
    let out = decode(&mut dec, &block).unwrap();
    let want: Vec<(&[u8], &[u8])> = fields.iter().map(|f| (f.name, f.value)).collect();
    assert_eq!(pairs(&out), want);
}

#[test]
fn header_list_too_large_still_rejects_later_compression_errors() {
    let mut dec = Decoder::new(4096, 40);
    // Too large (:method GET is 42), then an invalid index: the connection
    // error wins.
    assert_eq!(
        decode(&mut dec, &[0x82, 0x80]),
        Err(DecoderError::InvalidIndex(0))
    );
    let mut dec = Decoder::new(4096, 40);
    assert_eq!(
        decode(&mut dec, &[0x82, 0x04, 0x81, 0x06]),
        Err(DecoderError::InvalidHuffman)
    );
}

#[test]
fn header_list_at_exactly_the_limit_is_accepted() {
    // :method GET = 7 + 3 + 32 = 42
    let mut dec = Decoder::new(4096, 42);
    assert_eq!(decode(&mut dec, &[0x82]).unwrap().len(), 1);
    assert_eq!(
        decode(&mut dec, &[0x82, 0x82]),
        Err(DecoderError::HeaderListTooLarge(42))
    );
}

#[test]
fn errors_leave_out_untouched() {
    let mut dec = Decoder::default();
    let mut out = vec![Field::from_static("keep", "me")];
    assert!(dec.decode(&[0x82, 0x86, 0x80], &mut out).is_err());
    assert_eq!(out, vec![Field::from_static("keep", "me")]);
    // And a success appends after what was there.
    dec.decode(&[0x82], &mut out).unwrap();
    assert_eq!(out.len(), 2);
}

#[test]
fn every_error_but_header_list_too_large_is_a_compression_error() {
    use DecoderError::*;
    for e in [
        IntegerOverflow,
        Truncated,
        InvalidIndex(0),
        InvalidHuffman,
        SizeUpdateTooLarge(1),
        SizeUpdateNotAtStart,
        SizeUpdateMissing,
        StringTooLong,
    ] {
        assert!(e.is_compression_error(), "{e:?}");
    }
    assert!(!HeaderListTooLarge(1).is_compression_error());
}
