//! Encoder behaviour: representations chosen, size updates (RFC 7541 §4.2,
//! §6.3), sensitive fields (§7.1.3), and round trips through our decoder.

use bytes::BytesMut;
use h2actor::hpack::{Decoder, Encoder, Field, FieldRef};

fn encode(enc: &mut Encoder, fields: &[FieldRef<'_>]) -> BytesMut {
    let mut dst = BytesMut::new();
    enc.encode(fields.iter().copied(), &mut dst);
    dst
}

fn round_trip(enc: &mut Encoder, dec: &mut Decoder, fields: &[FieldRef<'_>]) -> Vec<Field> {
    let block = encode(enc, fields);
    let mut out = Vec::new();
    dec.decode(&block, &mut out)
        .expect("our decoder accepts our encoder's block");
    let got: Vec<(&[u8], &[u8])> = out.iter().map(|f| (&f.name[..], &f.value[..])).collect();
    let want: Vec<(&[u8], &[u8])> = fields.iter().map(|f| (f.name, f.value)).collect();
    assert_eq!(got, want);
    assert_eq!(enc.table_size(), dec.table_size(), "tables in sync");
    assert_eq!(enc.table_len(), dec.table_len(), "tables in sync");
    out
}

fn browser_request(cookie: &[u8]) -> Vec<FieldRef<'_>> {
    vec![
        FieldRef::new(b":method", b"GET"),
        FieldRef::new(b":scheme", b"https"),
        FieldRef::new(b":authority", b"www.example.com"),
        FieldRef::new(b":path", b"/assets/app.js?v=1234"),
        FieldRef::new(
            b"user-agent",
            b"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        ),
        FieldRef::new(
            b"accept",
            b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        FieldRef::new(b"accept-language", b"en-US,en;q=0.5"),
        FieldRef::new(b"accept-encoding", b"gzip, deflate, br"),
        FieldRef::new(b"referer", b"https://www.example.com/"),
        FieldRef::new(b"cookie", cookie),
        FieldRef::new(b"sec-fetch-dest", b"script"),
        FieldRef::new(b"sec-fetch-mode", b"no-cors"),
    ]
}

#[test]
fn repeated_request_is_mostly_indexed_once_warm() {
    let cookie = vec![b'c'; 200];
    let fields = browser_request(&cookie);
    let mut enc = Encoder::default();
    let mut dec = Decoder::default();
    round_trip(&mut enc, &mut dec, &fields);
    round_trip(&mut enc, &mut dec, &fields);
    let third = encode(&mut enc, &fields);
    // Every field indexed: one octet each.
    assert_eq!(third.len(), fields.len(), "warm block {third:02x?}");
}

#[test]
fn sensitive_fields_are_never_indexed() {
    let mut enc = Encoder::default();
    let mut dec = Decoder::default();
    let fields = [
        FieldRef::new(b"authorization", b"Bearer abc"),
        FieldRef::new(b"proxy-authorization", b"Basic xyz"),
        FieldRef::new(b"cookie", b"short=1"),
        FieldRef::sensitive(b"x-secret", b"value"),
    ];
    for _ in 0..2 {
        let out = round_trip(&mut enc, &mut dec, &fields);
        assert!(out.iter().all(|f| f.never_index), "{out:?}");
        assert_eq!(enc.table_len(), 0);
    }
    // A long cookie is indexed.
    let long = [FieldRef::new(b"cookie", b"session=0123456789abcdef0123")];
    let out = round_trip(&mut enc, &mut dec, &long);
    assert!(!out[0].never_index);
    assert_eq!(enc.table_len(), 1);
}

#[test]
fn size_update_is_sent_at_the_start_of_the_next_block() {
    let mut enc = Encoder::default();
    let mut dec = Decoder::default();
    round_trip(&mut enc, &mut dec, &[FieldRef::new(b"x-a", b"1")]);
    enc.set_peer_max_table_size(1024);
    dec.set_max_table_size(1024);
    let block = encode(&mut enc, &[FieldRef::new(b":method", b"GET")]);
    // 1024 with a 5-bit prefix: 0x3f 0xe1 0x07, then 0x82.
    assert_eq!(&block[..], &[0x3f, 0xe1, 0x07, 0x82]);
    let mut out = Vec::new();
    dec.decode(&block, &mut out).unwrap();
    assert_eq!(dec.table_capacity(), 1024);
    assert_eq!(enc.table_capacity(), 1024);
    // Only once.
    let block = encode(&mut enc, &[FieldRef::new(b":method", b"GET")]);
    assert_eq!(&block[..], &[0x82]);
}

#[test]
fn size_update_down_then_up_sends_the_minimum_first() {
    let mut enc = Encoder::default();
    let mut dec = Decoder::default();
    round_trip(&mut enc, &mut dec, &[FieldRef::new(b"x-a", b"1")]);
    for n in [100, 0, 4096] {
        enc.set_peer_max_table_size(n);
        dec.set_max_table_size(n);
    }
    let block = encode(&mut enc, &[FieldRef::new(b":method", b"GET")]);
    assert_eq!(&block[..], &[0x20, 0x3f, 0xe1, 0x1f, 0x82]);
    let mut out = Vec::new();
    dec.decode(&block, &mut out).unwrap();
    assert_eq!(enc.table_len(), 0);
    assert_eq!(dec.table_len(), 0);
}

#[test]
fn own_cap_limits_the_table_and_the_update() {
    let mut enc = Encoder::new(512);
    let mut dec = Decoder::default();
    enc.set_peer_max_table_size(65536);
    dec.set_max_table_size(65536);
    let block = encode(&mut enc, &[FieldRef::new(b":method", b"GET")]);
    // The update says 512 (the peer's decoder learns our smaller table).
    assert_eq!(&block[..], &[0x3f, 0xe1, 0x03, 0x82]);
    let mut out = Vec::new();
    dec.decode(&block, &mut out).unwrap();
    assert_eq!(dec.table_capacity(), 512);
    let big: Vec<u8> = vec![b'x'; 300];
    for i in 0..5u8 {
        let name = [b'x', b'-', b'a' + i];
        round_trip(&mut enc, &mut dec, &[FieldRef::new(&name, &big[..100])]);
        assert!(enc.table_size() <= 512);
    }
}

#[test]
fn zero_table_size_indexes_nothing() {
    let mut enc = Encoder::default();
    let mut dec = Decoder::default();
    enc.set_peer_max_table_size(0);
    dec.set_max_table_size(0);
    let cookie = vec![b'c'; 200];
    for _ in 0..3 {
        round_trip(&mut enc, &mut dec, &browser_request(&cookie));
        assert_eq!(enc.table_len(), 0);
    }
}

// RFC 7541 §4.2 / §6.3: the peer's decoder starts at 4096; an encoder capped
// lower says so at the start of its first block, so both tables stay equal.
#[test]
fn own_cap_below_default_is_announced_in_the_first_block() {
    let mut enc = Encoder::new(256);
    let block = encode(&mut enc, &[FieldRef::new(b":method", b"GET")]);
    // 256 = 31 + 225 = 0x3f 0xe1 0x01
    assert_eq!(&block[..], &[0x3f, 0xe1, 0x01, 0x82]);
    let block = encode(&mut enc, &[FieldRef::new(b":method", b"GET")]);
    assert_eq!(&block[..], &[0x82]);
    // Unless both ends agreed on the size beforehand.
    let mut enc = Encoder::new(256).with_initial_peer_table_size(256);
    assert_eq!(
        &encode(&mut enc, &[FieldRef::new(b":method", b"GET")])[..],
        &[0x82]
    );
}

#[test]
fn huffman_is_used_only_when_shorter() {
    let mut enc = Encoder::default().with_indexing(h2actor::hpack::Indexing::Never);
    // "307": 3 octets raw, 3 octets Huffman: sent raw.
    let block = encode(&mut enc, &[FieldRef::new(b":status", b"307")]);
    assert_eq!(&block[..], &[0x08, 0x03, b'3', b'0', b'7']);
    // "www.example.com": 15 raw, 12 Huffman.
    let block = encode(
        &mut enc,
        &[FieldRef::new(b":authority", b"www.example.com")],
    );
    assert_eq!(block[1], 0x80 | 12);
    // Non-text octets are longer in Huffman: sent raw.
    let block = encode(&mut enc, &[FieldRef::new(b"x-bin", &[0u8, 1, 2, 3])]);
    assert_eq!(&block[block.len() - 5..], &[0x04, 0, 1, 2, 3]);
}
