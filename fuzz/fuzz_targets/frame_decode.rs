//! Arbitrary bytes through `FrameCodec` (fed in chunks, as reads arrive)
//! and `Frame::decode`: never panics, and every frame that decodes
//! re-encodes to bytes that decode to the same frame.
#![no_main]

use bytes::BytesMut;
use h2actor::frame::{Frame, PREFACE};
use h2actor::transport::FrameCodec;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

/// Re-encodes `f` and checks it decodes back identically.
fn round_trip(f: &Frame) {
    let mut buf = BytesMut::new();
    f.encode(&mut buf);
    let again = Frame::decode(&mut buf, h2actor::frame::MAX_MAX_FRAME_SIZE)
        .expect("a decoded frame re-encodes to a valid frame");
    assert_eq!(again.as_ref(), Some(f));
    assert!(buf.is_empty());
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, input)) = data.split_first() else {
        return;
    };
    // cfg: bit 0 server codec (prepend the preface unless bit 1), bits 2..5
    // the read chunk size, bits 6..7 the max frame size.
    let max = match cfg >> 6 {
        0 => 16_384,
        1 => 64,
        2 => 0,
        _ => 16_777_215,
    };
    let chunk = 1 + ((cfg >> 2) & 0xf) as usize * 5;

    // 1. Frame::decode on the whole input, repeatedly.
    let mut buf = BytesMut::from(input);
    loop {
        let before = buf.len();
        match Frame::decode(&mut buf, max) {
            Ok(Some(f)) => round_trip(&f),
            Ok(None) => {
                assert_eq!(buf.len(), before, "incomplete frame must consume nothing");
                break;
            }
            Err(h2actor::frame::Error::Stream { .. }) => {
                assert!(buf.len() < before, "a stream error consumes the frame")
            }
            Err(_) => break,
        }
    }

    // 2. The codec, fed `chunk` bytes at a time.
    let server = cfg & 1 == 1;
    let mut codec = if server {
        FrameCodec::server(max)
    } else {
        FrameCodec::new(max)
    };
    let mut stream = Vec::with_capacity(input.len() + 24);
    if server && cfg & 2 == 0 {
        stream.extend_from_slice(PREFACE);
    }
    stream.extend_from_slice(input);
    let mut buf = BytesMut::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(Ok(f))) => round_trip(&f),
                Ok(Some(Err(e))) => assert!(!e.is_connection()),
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
