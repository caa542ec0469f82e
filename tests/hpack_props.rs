//! Property tests: header lists round trip through our encoder and decoder
//! across table sizes (0 included, sizes changing between blocks) and every
//! encoder policy; the decoder returns errors, never panics, on arbitrary
//! bytes; Huffman coding round trips.

use bytes::BytesMut;
use h2actor::hpack::{huffman, Decoder, DecoderError, Encoder, FieldRef, Huffman, Indexing};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Static table names, so that name references and full matches occur.
        prop::sample::select(vec![
            ":authority",
            ":method",
            ":path",
            ":scheme",
            ":status",
            "accept-encoding",
            "cookie",
            "authorization",
            "content-length",
            "set-cookie",
            "user-agent",
            "www-authenticate",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        // A small set of custom names, so that dynamic entries repeat.
        prop::sample::select(vec!["x-a", "x-b", "x-custom-header"])
            .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..20),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec!["", "GET", "/", "200", "gzip, deflate", "v1", "v2"])
            .prop_map(|s| s.as_bytes().to_vec()),
        "[ -~]{0,40}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..300),
    ]
}

#[derive(Debug, Clone)]
struct Block {
    /// A new peer SETTINGS_HEADER_TABLE_SIZE (possibly several) before the block.
    table_sizes: Vec<usize>,
    fields: Vec<(Vec<u8>, Vec<u8>, bool)>,
}

fn table_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(64),
        Just(256),
        Just(4096),
        0usize..8192
    ]
}

fn block() -> impl Strategy<Value = Block> {
    (
        prop::collection::vec(table_size(), 0..3),
        prop::collection::vec((name(), value(), prop::bool::weighted(0.1)), 0..20),
    )
        .prop_map(|(table_sizes, fields)| Block {
            table_sizes,
            fields,
        })
}

fn indexing() -> impl Strategy<Value = Indexing> {
    prop_oneof![
        Just(Indexing::Adaptive),
        Just(Indexing::Always),
        Just(Indexing::Never)
    ]
}

fn huffman_policy() -> impl Strategy<Value = Huffman> {
    prop_oneof![
        Just(Huffman::WhenShorter),
        Just(Huffman::WhenNotLonger),
        Just(Huffman::Never)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn header_lists_round_trip_across_table_sizes(
        own_cap in prop_oneof![Just(0usize), Just(256), Just(4096), Just(65536)],
        indexing in indexing(),
        huffman_policy in huffman_policy(),
        blocks in prop::collection::vec(block(), 1..8),
    ) {
        let mut enc = Encoder::new(own_cap).with_indexing(indexing).with_huffman(huffman_policy);
        let mut dec = Decoder::new(4096, usize::MAX);
        let mut out = Vec::new();
        for b in &blocks {
            for &n in &b.table_sizes {
                enc.set_peer_max_table_size(n);
                dec.set_max_table_size(n);
            }
            let mut wire = BytesMut::new();
            enc.encode(b.fields.iter().map(|(n, v, s)| FieldRef { name: n, value: v, sensitive: *s }), &mut wire);
            out.clear();
            dec.decode(&wire, &mut out).map_err(|e| TestCaseError::fail(format!("{e}")))?;
            prop_assert_eq!(out.len(), b.fields.len());
            for (f, (n, v, s)) in out.iter().zip(&b.fields) {
                prop_assert_eq!(&f.name[..], &n[..]);
                prop_assert_eq!(&f.value[..], &v[..]);
                if *s {
                    prop_assert!(f.never_index, "sensitive field sent as never indexed");
                }
            }
            prop_assert_eq!(enc.table_size(), dec.table_size());
            prop_assert_eq!(enc.table_len(), dec.table_len());
            prop_assert!(enc.table_size() <= own_cap);
        }
    }

    #[test]
    fn decoder_never_panics_on_arbitrary_bytes(
        blocks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..5),
        max_table in prop_oneof![Just(0usize), Just(4096), 0usize..100_000],
        max_list in prop_oneof![Just(usize::MAX), 0usize..500],
    ) {
        let mut dec = Decoder::new(max_table, max_list);
        let mut out = Vec::new();
        for b in &blocks {
            let before = out.len();
            match dec.decode(b, &mut out) {
                Ok(()) => {}
                Err(e) => {
                    prop_assert_eq!(out.len(), before, "nothing appended on error");
                    prop_assert_eq!(e.is_compression_error(), !matches!(e, DecoderError::HeaderListTooLarge(_)));
                }
            }
            let size: usize = out[before..].iter().map(|f| f.size()).sum();
            prop_assert!(size <= max_list);
            prop_assert!(dec.table_size() <= dec.table_capacity());
            prop_assert!(dec.table_capacity() <= max_table.max(4096));
        }
    }

    #[test]
    fn decoder_never_panics_on_mutated_valid_blocks(
        fields in prop::collection::vec((name(), value()), 1..10),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut enc = Encoder::default();
        let mut wire = BytesMut::new();
        enc.encode(fields.iter().map(|(n, v)| FieldRef::new(n, v)), &mut wire);
        let mut wire = wire.to_vec();
        for (i, x) in flips {
            let i = i.index(wire.len());
            wire[i] ^= x;
        }
        let mut dec = Decoder::default();
        let _ = dec.decode(&wire, &mut Vec::new());
        let n = cut.index(wire.len());
        let _ = Decoder::default().decode(&wire[..n], &mut Vec::new());
    }

    #[test]
    fn huffman_round_trips(s in prop::collection::vec(any::<u8>(), 0..500)) {
        let mut coded = BytesMut::new();
        huffman::encode(&s, &mut coded);
        prop_assert_eq!(coded.len(), huffman::encoded_len(&s));
        let mut back = BytesMut::new();
        huffman::decode(&coded, &mut back).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&back[..], &s[..]);
        prop_assert!(huffman::validate(&coded).is_ok());
    }

    #[test]
    fn huffman_decode_of_arbitrary_bytes_agrees_with_validate(s in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut out = BytesMut::new();
        let r = huffman::decode(&s, &mut out);
        prop_assert_eq!(r.is_ok(), huffman::validate(&s).is_ok());
        if r.is_ok() {
            // Canonical: re-encoding gives the same octets back.
            let mut again = BytesMut::new();
            huffman::encode(&out, &mut again);
            prop_assert_eq!(&again[..], &s[..]);
        } else {
            prop_assert!(out.is_empty());
        }
    }
}
