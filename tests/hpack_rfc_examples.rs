//! RFC 7541 Appendix C, byte for byte, in both directions. The cases below
//! were extracted from the RFC text (hex dumps, header lists and final table
//! sizes) by a one-off script; the integer examples (C.1) are unit tests in
//! `src/hpack/integer.rs`.
//!
//! Encoder choices: C.2.1-C.2.4, C.3 and C.4 are what our default policy
//! (`Indexing::Adaptive`) produces by itself (C.2.3 with the field marked
//! sensitive; C.2.x, C.3 with Huffman coding switched off, as the RFC does).
//! C.5 and C.6 index `location` and `set-cookie`, which the adaptive policy
//! deliberately does not on first sight, so they are reproduced with
//! `Indexing::Always`, the "index everything" policy the RFC examples follow.
//! C.6.2 also Huffman-codes `307` although that is no shorter (3 octets
//! either way): our default sends ties raw, so C.6 uses
//! `Huffman::WhenNotLonger`. C.5 and C.6 also assume both ends start with a
//! 256-octet table (no size update in C.5.1): `with_initial_peer_table_size`.

use bytes::BytesMut;
use h2actor::hpack::{Decoder, Encoder, Field, FieldRef, Huffman, Indexing};

struct Case {
    section: &'static str,
    headers: &'static [(&'static str, &'static str)],
    hex: &'static str,
    /// Dynamic table size after the case, as the RFC lists it.
    table_size: usize,
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Encodes the cases in order on one encoder and checks every block.
fn check_encoding(mut enc: Encoder, cases: &[Case], sensitive: &[&str]) {
    for c in cases {
        let mut dst = BytesMut::new();
        enc.encode(
            c.headers.iter().map(|(n, v)| FieldRef {
                name: n.as_bytes(),
                value: v.as_bytes(),
                sensitive: sensitive.contains(n),
            }),
            &mut dst,
        );
        assert_eq!(
            hex(&dst),
            hex(&unhex(c.hex)),
            "{}: encoded bytes",
            c.section
        );
        assert_eq!(
            enc.table_size(),
            c.table_size,
            "{}: encoder table size",
            c.section
        );
    }
}

/// Decodes the cases in order on one decoder and checks every list.
fn check_decoding(mut dec: Decoder, cases: &[Case]) {
    for c in cases {
        let mut out = Vec::new();
        dec.decode(&unhex(c.hex), &mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", c.section));
        let got: Vec<(String, String)> = out
            .iter()
            .map(|f| {
                (
                    String::from_utf8(f.name.to_vec()).unwrap(),
                    String::from_utf8(f.value.to_vec()).unwrap(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = c
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want, "{}: decoded list", c.section);
        assert_eq!(
            dec.table_size(),
            c.table_size,
            "{}: decoder table size",
            c.section
        );
    }
}

const C_2_1: &[Case] = &[Case {
    section: "C.2.1",
    headers: &[("custom-key", "custom-header")],
    hex: "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
    table_size: 55,
}];
const C_2_2: &[Case] = &[Case {
    section: "C.2.2",
    headers: &[(":path", "/sample/path")],
    hex: "040c 2f73 616d 706c 652f 7061 7468",
    table_size: 0,
}];
const C_2_3: &[Case] = &[Case {
    section: "C.2.3",
    headers: &[("password", "secret")],
    hex: "1008 7061 7373 776f 7264 0673 6563 7265 74",
    table_size: 0,
}];
const C_2_4: &[Case] = &[Case {
    section: "C.2.4",
    headers: &[(":method", "GET")],
    hex: "82",
    table_size: 0,
}];
const C_3: &[Case] = &[
    Case {
        section: "C.3.1",
        headers: &[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
        ],
        hex: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        table_size: 57,
    },
    Case {
        section: "C.3.2",
        headers: &[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
            ("cache-control", "no-cache"),
        ],
        hex: "8286 84be 5808 6e6f 2d63 6163 6865",
        table_size: 110,
    },
    Case {
        section: "C.3.3",
        headers: &[
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/index.html"),
            (":authority", "www.example.com"),
            ("custom-key", "custom-value"),
        ],
        hex: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        table_size: 164,
    },
];
const C_4: &[Case] = &[
    Case {
        section: "C.4.1",
        headers: &[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
        ],
        hex: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
        table_size: 57,
    },
    Case {
        section: "C.4.2",
        headers: &[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
            ("cache-control", "no-cache"),
        ],
        hex: "8286 84be 5886 a8eb 1064 9cbf",
        table_size: 110,
    },
    Case {
        section: "C.4.3",
        headers: &[
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/index.html"),
            (":authority", "www.example.com"),
            ("custom-key", "custom-value"),
        ],
        hex: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        table_size: 164,
    },
];
const C_5: &[Case] = &[
    Case {
        section: "C.5.1",
        headers: &[
            (":status", "302"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("location", "https://www.example.com"),
        ],
        hex: "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        table_size: 222,
    },
    Case {
        section: "C.5.2",
        headers: &[
            (":status", "307"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("location", "https://www.example.com"),
        ],
        hex: "4803 3330 37c1 c0bf",
        table_size: 222,
    },
    Case {
        section: "C.5.3",
        headers: &[
            (":status", "200"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
            ("location", "https://www.example.com"),
            ("content-encoding", "gzip"),
            ("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
        ],
        hex: "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
        table_size: 215,
    },
];
const C_6: &[Case] = &[
    Case {
        section: "C.6.1",
        headers: &[
            (":status", "302"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("location", "https://www.example.com"),
        ],
        hex: "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        table_size: 222,
    },
    Case {
        section: "C.6.2",
        headers: &[
            (":status", "307"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("location", "https://www.example.com"),
        ],
        hex: "4883 640e ffc1 c0bf",
        table_size: 222,
    },
    Case {
        section: "C.6.3",
        headers: &[
            (":status", "200"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
            ("location", "https://www.example.com"),
            ("content-encoding", "gzip"),
            ("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
        ],
        hex: "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        table_size: 215,
    },
];

#[test]
fn c_2_1_literal_with_indexing_encodes_and_decodes() {
    check_encoding(Encoder::new(4096).with_huffman(Huffman::Never), C_2_1, &[]);
    check_decoding(Decoder::new(4096, usize::MAX), C_2_1);
}

#[test]
fn c_2_2_literal_without_indexing_encodes_and_decodes() {
    check_encoding(Encoder::new(4096).with_huffman(Huffman::Never), C_2_2, &[]);
    check_decoding(Decoder::new(4096, usize::MAX), C_2_2);
}

#[test]
fn c_2_3_literal_never_indexed_encodes_and_decodes() {
    check_encoding(
        Encoder::new(4096).with_huffman(Huffman::Never),
        C_2_3,
        &["password"],
    );
    check_decoding(Decoder::new(4096, usize::MAX), C_2_3);
    let mut out = Vec::new();
    Decoder::default()
        .decode(&unhex(C_2_3[0].hex), &mut out)
        .unwrap();
    assert!(out[0].never_index, "C.2.3 is decoded as never indexed");
    // Re-encoding a decoded never-indexed field keeps the representation.
    let mut dst = BytesMut::new();
    Encoder::new(4096)
        .with_huffman(Huffman::Never)
        .encode(out.iter().map(Field::as_ref), &mut dst);
    assert_eq!(hex(&dst), hex(&unhex(C_2_3[0].hex)));
}

#[test]
fn c_2_4_indexed_field_encodes_and_decodes() {
    check_encoding(Encoder::new(4096), C_2_4, &[]);
    check_decoding(Decoder::new(4096, usize::MAX), C_2_4);
}

#[test]
fn c_3_requests_without_huffman_encode_and_decode() {
    check_encoding(Encoder::new(4096).with_huffman(Huffman::Never), C_3, &[]);
    check_decoding(Decoder::new(4096, usize::MAX), C_3);
}

#[test]
fn c_4_requests_with_huffman_encode_and_decode() {
    check_encoding(Encoder::new(4096), C_4, &[]);
    check_decoding(Decoder::new(4096, usize::MAX), C_4);
}

#[test]
fn c_5_responses_without_huffman_table_256_encode_and_decode() {
    check_encoding(
        Encoder::new(256)
            .with_initial_peer_table_size(256)
            .with_huffman(Huffman::Never)
            .with_indexing(Indexing::Always),
        C_5,
        &[],
    );
    check_decoding(Decoder::new(256, usize::MAX), C_5);
}

#[test]
fn c_6_responses_with_huffman_table_256_encode_and_decode() {
    check_encoding(
        Encoder::new(256)
            .with_initial_peer_table_size(256)
            .with_indexing(Indexing::Always)
            .with_huffman(Huffman::WhenNotLonger),
        C_6,
        &[],
    );
    check_decoding(Decoder::new(256, usize::MAX), C_6);
}
