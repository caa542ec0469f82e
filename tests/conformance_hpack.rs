//! End-to-end conformance, RFC 7541 (HPACK) through RFC 9113 §4.3: every
//! field block the server cannot decode is a connection error
//! COMPRESSION_ERROR (GOAWAY, then the close), and the valid corner cases
//! (size updates at the start, dynamic table references across requests)
//! are served. Modelled on h2spec's "hpack" group.

mod support;

use bytes::BytesMut;
use h2actor::frame::ErrorCode;
use h2actor::hpack::integer;
use support::raw_peer::*;

/// The rest of a `GET /` as literals, appended after `prefix`.
fn with_get(prefix: &[u8]) -> Vec<u8> {
    let mut v = prefix.to_vec();
    v.extend(lit_block(&[
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "localhost"),
        (":path", "/"),
    ]));
    v
}

fn assert_compression_error(block: &[u8]) {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(1, block, true, true));
    p.expect_goaway(ErrorCode::COMPRESSION_ERROR);
    s.assert_healthy();
}

fn assert_served(block: &[u8]) {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(1, block, true, true));
    let (status, _) = p.response(1);
    assert_eq!(status, 200);
}

fn size_update(n: usize) -> Vec<u8> {
    let mut b = BytesMut::new();
    integer::encode(&mut b, 5, 0x20, n);
    b.to_vec()
}

/// A literal without indexing, new name, whose value is the raw Huffman
/// string `huff` (H bit set).
fn lit_huffman_value(name: &[u8], huff: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    b.extend_from_slice(&[0x00]);
    integer::encode(&mut b, 7, 0, name.len());
    b.extend_from_slice(name);
    integer::encode(&mut b, 7, 0x80, huff.len());
    b.extend_from_slice(huff);
    b.to_vec()
}

// ---------------------------------------------------------------------------
// §2.3.3 index address space, §6.1 indexed representation

#[test]
fn rfc7541_6_1_index_0_is_compression_error() {
    assert_compression_error(&with_get(&[0x80]));
}

#[test]
fn rfc7541_2_3_3_index_beyond_static_table_with_empty_dynamic_table_is_compression_error() {
    assert_compression_error(&with_get(&[0xbe])); // index 62, nothing inserted
}

#[test]
fn rfc7541_2_3_3_huge_index_is_compression_error() {
    assert_compression_error(&with_get(&[0xff, 0xff, 0x7f])); // 127 + 16383
}

#[test]
fn rfc7541_6_2_literal_with_name_index_beyond_tables_is_compression_error() {
    // Literal with incremental indexing, indexed name 95.
    let mut v = vec![0x7f, 0x20, 0x01, b'x'];
    v.extend(with_get(&[]));
    assert_compression_error(&v);
}

// ---------------------------------------------------------------------------
// §5.1 integers, §5.2 strings

#[test]
fn rfc7541_5_1_integer_overflow_is_compression_error() {
    let mut v = vec![0xff];
    v.extend([0xff; 10]);
    v.push(0x01);
    assert_compression_error(&with_get(&v));
}

#[test]
fn rfc7541_5_1_truncated_integer_is_compression_error() {
    // Integer continuation promised, block ends.
    let mut v = with_get(&[]);
    v.extend([0xff, 0x80]);
    assert_compression_error(&v);
}

#[test]
fn rfc7541_5_2_string_longer_than_block_is_compression_error() {
    let mut v = with_get(&[]);
    v.extend([0x00, 0x05, b'a', b'b']);
    assert_compression_error(&v);
}

#[test]
fn rfc7541_5_2_huffman_string_with_eos_is_compression_error() {
    // 32 one bits: contains the 30-bit EOS code.
    let v = with_get(&lit_huffman_value(b"x-h", &[0xff, 0xff, 0xff, 0xff]));
    assert_compression_error(&v);
}

#[test]
fn rfc7541_5_2_huffman_padding_longer_than_7_bits_is_compression_error() {
    // 'a' = 00011, then 11 bits of 1s: padding over 7 bits.
    let v = with_get(&lit_huffman_value(b"x-h", &[0x1f, 0xff]));
    assert_compression_error(&v);
}

#[test]
fn rfc7541_5_2_huffman_padding_not_all_ones_is_compression_error() {
    // 'a' = 00011, then 000 instead of 111.
    let v = with_get(&lit_huffman_value(b"x-h", &[0x18]));
    assert_compression_error(&v);
}

#[test]
fn rfc7541_5_2_valid_huffman_value_is_served() {
    // 'a' = 00011 + 111 padding, after the pseudo-headers.
    let mut block = with_get(&[]);
    block.extend(lit_huffman_value(b"x-h", &[0x1f]));
    assert_served(&block);
}

// ---------------------------------------------------------------------------
// §4.2, §6.3 dynamic table size updates

#[test]
fn rfc7541_4_2_size_update_above_settings_header_table_size_is_compression_error() {
    assert_compression_error(&with_get(&size_update(4097)));
}

#[test]
fn rfc7541_4_2_size_update_far_above_the_limit_is_compression_error() {
    assert_compression_error(&with_get(&size_update(1 << 30)));
}

#[test]
fn rfc7541_4_2_size_update_after_a_field_is_compression_error() {
    let mut v = vec![0x82]; // :method GET
    v.extend(size_update(0));
    v.extend(lit_block(&[
        (":scheme", "http"),
        (":authority", "localhost"),
        (":path", "/"),
    ]));
    assert_compression_error(&v);
}

#[test]
fn rfc7541_4_2_size_updates_at_the_start_are_accepted() {
    let mut v = size_update(0);
    v.extend(size_update(4096));
    assert_served(&with_get(&v));
}

#[test]
fn rfc7541_4_2_size_update_to_0_evicts_every_entry() {
    let s = ConfServer::start();
    let mut p = s.peer();
    // Request 1 inserts "x-custom: v" (literal with incremental indexing).
    let mut b1 = with_get(&[]);
    b1.extend([0x40, 8]);
    b1.extend_from_slice(b"x-custom");
    b1.extend([1, b'v']);
    p.send(headers_frame(1, &b1, true, true));
    assert_eq!(p.response(1).0, 200);
    // Request 3 refers to it (index 62): served.
    let mut b3 = with_get(&[]);
    b3.push(0xbe);
    p.send(headers_frame(3, &b3, true, true));
    assert_eq!(p.response(3).0, 200);
    // Request 5 empties the table first, then refers to 62: gone.
    let mut b5 = size_update(0);
    b5.extend(with_get(&[]));
    b5.push(0xbe);
    p.send(headers_frame(5, &b5, true, true));
    p.expect_goaway(ErrorCode::COMPRESSION_ERROR);
    s.assert_healthy();
}

#[test]
fn rfc7541_2_3_2_dynamic_table_entries_persist_across_requests() {
    // Our encoder indexes the request fields; later requests are mostly
    // index references: every one is served.
    let s = ConfServer::start();
    let mut p = s.peer();
    for id in (1..40).step_by(2) {
        p.get_ok(id);
    }
}

#[test]
fn rfc7541_field_block_errors_in_continuation_are_compression_error() {
    // The bad byte arrives in a CONTINUATION: the whole block is decoded
    // once complete, and the error is still COMPRESSION_ERROR.
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = with_get(&[]);
    p.send(headers_frame(1, &block, true, false));
    p.send(continuation(1, &[0x80], true));
    p.expect_goaway(ErrorCode::COMPRESSION_ERROR);
    s.assert_healthy();
}
