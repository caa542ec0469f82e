//! Frame decode benchmarks: DATA throughput (16 KiB frames, zero copy) and
//! HEADERS frames (frame layer only; HPACK is in benches/hpack.rs). The `h2`
//! crate's DATA loader is crate-private even with its `unstable` feature, so
//! there is no h2 column here.
//!
//!     cargo bench --bench frame -- --warm-up-time 1 --measurement-time 3

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use h2actor::frame::{
    encode_data_head, encode_header_block, BlockStart, Frame, StreamId, DEFAULT_MAX_FRAME_SIZE,
};
use h2actor::transport::FrameCodec;
use tokio_util::codec::Decoder;

const FRAME: usize = 16 * 1024;
const FRAMES: usize = 64; // 1 MiB of DATA per iteration

fn data_wire() -> BytesMut {
    let mut wire = BytesMut::with_capacity(FRAMES * (FRAME + 9));
    for i in 0..FRAMES {
        encode_data_head(
            &mut wire,
            StreamId(1 + 2 * (i as u32 % 8)),
            FRAME as u32,
            false,
        );
        wire.extend_from_slice(&[i as u8; FRAME]);
    }
    wire
}

fn data_decode(c: &mut Criterion) {
    let wire = data_wire();
    let mut g = c.benchmark_group("data_decode_16k");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("h2actor_frame_decode", |b| {
        b.iter_batched(
            || wire.clone(),
            |mut buf| {
                let mut n = 0;
                while let Ok(Some(Frame::Data(d))) = Frame::decode(&mut buf, DEFAULT_MAX_FRAME_SIZE)
                {
                    n += d.data.len();
                    black_box(&d);
                }
                assert_eq!(n, FRAME * FRAMES);
                buf
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("h2actor_codec", |b| {
        let mut codec = FrameCodec::default();
        b.iter_batched(
            || wire.clone(),
            |mut buf| {
                let mut n = 0;
                while let Ok(Some(Ok(Frame::Data(d)))) = codec.decode(&mut buf) {
                    n += d.data.len();
                    black_box(&d);
                }
                assert_eq!(n, FRAME * FRAMES);
                buf
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn headers_decode(c: &mut Criterion) {
    // a 169-byte field block: the size of the warm request block of benches/hpack.rs
    let block = vec![0x82u8; 169];
    let mut wire = BytesMut::new();
    for i in 0..100u32 {
        let start = BlockStart::Headers {
            end_stream: true,
            priority: None,
        };
        encode_header_block(
            &mut wire,
            StreamId(1 + 2 * i),
            start,
            &block,
            DEFAULT_MAX_FRAME_SIZE,
        );
    }
    let mut g = c.benchmark_group("headers_frame_decode");
    g.throughput(Throughput::Elements(100));
    g.bench_function("h2actor_100_frames", |b| {
        b.iter_batched(
            || wire.clone(),
            |mut buf| {
                let mut n = 0;
                while let Ok(Some(Frame::Headers(h))) =
                    Frame::decode(&mut buf, DEFAULT_MAX_FRAME_SIZE)
                {
                    n += h.block.len();
                    black_box(&h);
                }
                assert_eq!(n, 16_900);
                buf
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, data_decode, headers_decode);
criterion_main!(benches);
