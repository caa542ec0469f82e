//! What the HPACK benchmarks and the allocation test share: a realistic
//! browser request (12 fields, a 200-byte cookie) and response, and the
//! glue to run ours and the `h2` crate's HPACK on them.
#![allow(dead_code)]

use bytes::{BufMut, BytesMut};
use h2actor::hpack::{Encoder, FieldRef};

/// The 200-byte cookie of the request.
pub fn cookie() -> String {
    let mut c = String::from(
        "_ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; \
         theme=dark; lang=en-US; session=",
    );
    let mut i = 0u32;
    while c.len() < 200 {
        c.push(char::from(
            b"abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7 % 36) as usize],
        ));
        i += 1;
    }
    c
}

/// A browser request: the 4 pseudo-headers and 8 fields (12 in all).
pub fn request() -> Vec<(&'static str, String)> {
    vec![
        (":method", "GET".into()),
        (":scheme", "https".into()),
        (":authority", "www.example.com".into()),
        (":path", "/assets/js/app.5f3c2a91.js?v=20231115".into()),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
             Chrome/120.0.0.0 Safari/537.36"
                .into(),
        ),
        ("accept", "*/*".into()),
        ("accept-language", "en-US,en;q=0.9".into()),
        ("accept-encoding", "gzip, deflate, br".into()),
        ("cookie", cookie()),
        (
            "referer",
            "https://www.example.com/products/index.html".into(),
        ),
        ("sec-fetch-dest", "script".into()),
        ("sec-fetch-mode", "no-cors".into()),
    ]
}

/// A response to it.
pub fn response() -> Vec<(&'static str, String)> {
    vec![
        (":status", "200".into()),
        ("date", "Wed, 15 Nov 2023 10:00:00 GMT".into()),
        (
            "content-type",
            "application/javascript; charset=utf-8".into(),
        ),
        ("content-length", "48213".into()),
        (
            "cache-control",
            "public, max-age=31536000, immutable".into(),
        ),
        ("etag", "\"5f3c2a91-bc55\"".into()),
        ("last-modified", "Tue, 14 Nov 2023 08:30:00 GMT".into()),
        ("content-encoding", "br".into()),
        ("vary", "Accept-Encoding".into()),
        ("server", "h2actor".into()),
        (
            "strict-transport-security",
            "max-age=63072000; includeSubDomains".into(),
        ),
    ]
}

pub type List = Vec<(&'static str, String)>;

pub fn refs(list: &List) -> Vec<FieldRef<'_>> {
    list.iter()
        .map(|(n, v)| FieldRef {
            name: n.as_bytes(),
            value: v.as_bytes(),
            sensitive: false,
        })
        .collect()
}

/// One header list encoded three times on one connection: the first
/// (`cold`: empty tables, Huffman-coded literals), the second (`warm`: the
/// tables primed once, the issue's "warm" figure) and the third (`steady`:
/// what every later encoding looks like, no more insertions).
pub struct Blocks {
    pub cold: BytesMut,
    pub warm: BytesMut,
    pub steady: BytesMut,
}

impl Blocks {
    /// The blocks a decoder must see before `steady` can be decoded again
    /// and again with its table unchanged.
    pub fn prime(&self) -> [&[u8]; 2] {
        [&self.cold, &self.warm]
    }
}

/// Our encoder's blocks, and the encoder (in its steady state).
pub fn ours_blocks(list: &List) -> (Blocks, Encoder) {
    let mut enc = Encoder::default();
    let run = |enc: &mut Encoder| {
        let mut dst = BytesMut::new();
        enc.encode(refs(list), &mut dst);
        dst
    };
    let (cold, warm, steady) = (run(&mut enc), run(&mut enc), run(&mut enc));
    (Blocks { cold, warm, steady }, enc)
}

/// The list as an h2 HEADERS frame.
pub fn h2_frame(list: &List) -> h2::frame::Headers {
    let mut map = http::HeaderMap::new();
    let mut method = None;
    let (mut scheme, mut authority, mut path, mut status) = (None, None, None, None);
    for (n, v) in list {
        match *n {
            ":method" => method = Some(v.parse::<http::Method>().unwrap()),
            ":scheme" => scheme = Some(v.clone()),
            ":authority" => authority = Some(v.clone()),
            ":path" => path = Some(v.clone()),
            ":status" => status = Some(v.parse::<http::StatusCode>().unwrap()),
            _ => {
                map.append(
                    http::HeaderName::from_static(n),
                    http::HeaderValue::from_str(v).unwrap(),
                );
            }
        }
    }
    let pseudo = match status {
        Some(s) => h2::frame::Pseudo::response(s),
        None => {
            let uri = format!(
                "{}://{}{}",
                scheme.unwrap(),
                authority.unwrap(),
                path.unwrap()
            );
            h2::frame::Pseudo::request(method.unwrap(), uri.parse().unwrap(), None)
        }
    };
    let mut h = h2::frame::Headers::new(1.into(), pseudo, map);
    h.set_end_headers();
    h
}

/// h2's blocks for the list, and a closure that encodes an h2 HEADERS frame
/// with its (steady) encoder and returns the field block. h2's
/// `hpack::Encoder` type is unnameable outside h2: `Default::default()` and
/// `Headers::encode` fix it by inference.
pub fn h2_encoder_and_blocks(list: &List) -> (Blocks, impl FnMut(h2::frame::Headers) -> BytesMut) {
    let mut enc = Default::default();
    let mut run = move |frame: h2::frame::Headers| {
        let mut dst = BytesMut::with_capacity(4096);
        let mut lim = (&mut dst).limit(1 << 20);
        let rest = frame.encode(&mut enc, &mut lim);
        assert!(rest.is_none());
        let _ = dst.split_to(9);
        dst
    };
    let cold = run(h2_frame(list));
    let warm = run(h2_frame(list));
    let steady = run(h2_frame(list));
    (Blocks { cold, warm, steady }, run)
}

/// An h2 HPACK decoder primed with the `prime` blocks; returns a closure that
/// decodes one HEADERS frame payload into h2's pseudo + `HeaderMap` (what h2
/// does for every HEADERS frame).
pub fn h2_decoder(prime: &[&[u8]]) -> impl FnMut(BytesMut) -> h2::frame::Headers {
    let mut dec = Default::default();
    let mut run = move |block: BytesMut| {
        let mut head = BytesMut::new();
        head.put_slice(&(block.len() as u32).to_be_bytes()[1..]);
        head.put_slice(&[1, 0x4, 0, 0, 0, 1]);
        let head = h2::frame::Head::parse(&head);
        let (mut frame, mut rest) = h2::frame::Headers::load(head, block).unwrap();
        frame
            .load_hpack(&mut rest, 1 << 20, &mut dec)
            .unwrap_or_else(|e| panic!("h2 HEADERS decode: {e:?}"));
        frame
    };
    for p in prime {
        let _ = run(BytesMut::from(*p));
    }
    run
}

/// The h2 HPACK decoder used directly (`Decoder::decode` with a callback
/// that drops each header), primed with `prime`. The decoder type is
/// unnameable outside h2; `load_hpack` fixes it by inference.
pub fn h2_raw_decoder(prime: &[&[u8]]) -> impl FnMut(BytesMut) -> usize {
    let mut dec = Default::default();
    if prime.is_empty() {
        // never runs: only tells the compiler which type `dec` is
        let head = h2::frame::Head::parse(&[0, 0, 0, 1, 4, 0, 0, 0, 1]);
        let (mut f, mut rest) = h2::frame::Headers::load(head, BytesMut::new()).unwrap();
        let _ = f.load_hpack(&mut rest, 0, &mut dec);
    }
    let mut run = move |mut block: BytesMut| {
        let mut n = 0;
        dec.decode(&mut std::io::Cursor::new(&mut block), |h| {
            std::hint::black_box(&h);
            n += 1;
            std::ops::ControlFlow::Continue(())
        })
        .unwrap_or_else(|e| panic!("h2 hpack decode: {e:?}"));
        n
    };
    for p in prime {
        run(BytesMut::from(*p));
    }
    run
}
