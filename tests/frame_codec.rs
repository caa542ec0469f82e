//! Frame encode/decode: round trips for every frame type, padding, zero
//! copy, incomplete input, the write fast paths, and the `FrameCodec`
//! (preface check §3.4, stream errors as items, connection errors as errors).

use bytes::{Bytes, BytesMut};
use h2actor::frame::*;
use h2actor::transport::{CodecError, FrameCodec};
use tokio_util::codec::{Decoder, Encoder};

fn sid(n: u32) -> StreamId {
    StreamId(n)
}

fn every_frame() -> Vec<Frame> {
    let spec = PrioritySpec {
        dependency: sid(3),
        exclusive: true,
        weight: 255,
    };
    vec![
        Data {
            stream_id: sid(1),
            data: Bytes::from_static(b"hello"),
            end_stream: true,
            pad_len: None,
        }
        .into(),
        Data {
            stream_id: sid(1),
            data: Bytes::from_static(b"padded"),
            end_stream: false,
            pad_len: Some(10),
        }
        .into(),
        Headers {
            stream_id: sid(3),
            block: Bytes::from_static(&[0x82, 0x86, 0x84]),
            end_stream: true,
            end_headers: true,
            priority: None,
            pad_len: None,
        }
        .into(),
        Headers {
            stream_id: sid(5),
            block: Bytes::from_static(&[0x82]),
            end_stream: false,
            end_headers: false,
            priority: Some(spec),
            pad_len: Some(3),
        }
        .into(),
        Priority {
            stream_id: sid(7),
            spec,
        }
        .into(),
        RstStream {
            stream_id: sid(9),
            error_code: ErrorCode(0x1234),
        }
        .into(),
        Settings {
            ack: false,
            params: vec![
                Setting::HeaderTableSize(0),
                Setting::EnablePush(false),
                Setting::MaxConcurrentStreams(100),
                Setting::InitialWindowSize(MAX_WINDOW_SIZE),
                Setting::MaxFrameSize(MAX_MAX_FRAME_SIZE),
                Setting::MaxHeaderListSize(u32::MAX),
                Setting::EnableConnectProtocol(true),
                Setting::NoRfc7540Priorities(true),
            ],
        }
        .into(),
        Settings::ack().into(),
        PushPromise {
            stream_id: sid(1),
            promised_id: sid(2),
            block: Bytes::from_static(b"\x82\x87"),
            end_headers: true,
            pad_len: Some(0),
        }
        .into(),
        Ping {
            ack: true,
            payload: *b"12345678",
        }
        .into(),
        GoAway {
            last_stream_id: sid(11),
            error_code: ErrorCode::ENHANCE_YOUR_CALM,
            debug_data: Bytes::from_static(b"too many"),
        }
        .into(),
        WindowUpdate {
            stream_id: sid(0),
            increment: MAX_WINDOW_SIZE,
        }
        .into(),
        Continuation {
            stream_id: sid(5),
            block: Bytes::from_static(b"\x84"),
            end_headers: true,
        }
        .into(),
        PriorityUpdate {
            prioritized: sid(MAX_WINDOW_SIZE),
            field: Bytes::from_static(b"u=1, i"),
        }
        .into(),
        PriorityUpdate {
            prioritized: sid(2),
            field: Bytes::new(),
        }
        .into(),
        Unknown {
            kind: 0x20,
            flags: 0x3,
            stream_id: sid(0),
            payload: Bytes::from_static(b"ext"),
        }
        .into(),
    ]
}

#[test]
fn every_frame_type_round_trips() {
    let frames = every_frame();
    let mut buf = BytesMut::new();
    for f in &frames {
        f.encode(&mut buf);
    }
    for f in &frames {
        let got = Frame::decode(&mut buf, DEFAULT_MAX_FRAME_SIZE)
            .unwrap()
            .unwrap();
        assert_eq!(&got, f);
    }
    assert!(buf.is_empty());
}

// RFC 9218 §7.1: type 0x10 on stream 0, a 31-bit id, the field value.
#[test]
fn rfc9218_s7_1_priority_update_wire_format() {
    let mut buf = BytesMut::new();
    Frame::from(PriorityUpdate {
        prioritized: sid(5),
        field: Bytes::from_static(b"u=0"),
    })
    .encode(&mut buf);
    assert_eq!(
        &buf[..],
        &[0, 0, 7, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 5, b'u', b'=', b'0']
    );
    // The reserved bit of the prioritized id is ignored on receipt.
    buf[9] |= 0x80;
    match Frame::decode(&mut buf, DEFAULT_MAX_FRAME_SIZE) {
        Ok(Some(Frame::PriorityUpdate(p))) => assert_eq!(p.prioritized, sid(5)),
        other => panic!("{other:?}"),
    }
}

// §6.1: the padding is stripped and zero on the wire.
#[test]
fn padding_is_stripped_on_decode_and_zero_on_encode() {
    let f = Frame::from(Data {
        stream_id: sid(1),
        data: Bytes::from_static(b"abc"),
        end_stream: false,
        pad_len: Some(4),
    });
    let mut buf = BytesMut::new();
    f.encode(&mut buf);
    assert_eq!(&buf[..9], &[0, 0, 8, 0, flags::PADDED, 0, 0, 0, 1]);
    assert_eq!(&buf[9..], &[4, b'a', b'b', b'c', 0, 0, 0, 0]);
    match Frame::decode(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap() {
        Some(Frame::Data(d)) => {
            assert_eq!(&d.data[..], b"abc");
            assert_eq!(d.flow_len(), 8);
        }
        other => panic!("{other:?}"),
    }
}

// DESIGN: no copy on the DATA path: the payload is a slice of the read buffer.
#[test]
fn data_payload_is_zero_copy() {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut expect = Vec::new();
    for i in 0..3u32 {
        encode_data_head(&mut buf, sid(1 + 2 * i), 16_384, false);
        buf.extend_from_slice(&[i as u8; 16_384]);
        expect.push(i as u8);
    }
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    for i in expect {
        match Frame::decode(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap() {
            Some(Frame::Data(d)) => {
                let p = d.data.as_ptr() as usize;
                assert!(range.contains(&p) && range.contains(&(p + d.data.len() - 1)));
                assert!(d.data.iter().all(|&b| b == i));
            }
            other => panic!("{other:?}"),
        }
    }
}

// Field block fragments are slices of the read buffer too.
#[test]
fn headers_block_is_zero_copy() {
    let mut buf = BytesMut::new();
    encode_header_block(
        &mut buf,
        sid(1),
        BlockStart::Headers {
            end_stream: true,
            priority: None,
        },
        &[0x82; 100],
        DEFAULT_MAX_FRAME_SIZE,
    );
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    match Frame::decode(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap() {
        Some(Frame::Headers(h)) => assert!(range.contains(&(h.block.as_ptr() as usize))),
        other => panic!("{other:?}"),
    }
}

// Every strict prefix of a frame is incomplete and nothing is consumed.
#[test]
fn incomplete_input_returns_none_and_consumes_nothing() {
    for f in every_frame() {
        let mut whole = BytesMut::new();
        f.encode(&mut whole);
        for n in 0..whole.len() {
            let mut part = BytesMut::from(&whole[..n]);
            assert_eq!(Frame::decode(&mut part, DEFAULT_MAX_FRAME_SIZE), Ok(None));
            assert_eq!(part.len(), n);
        }
    }
}

#[test]
fn encode_data_head_writes_the_header_only() {
    let mut buf = BytesMut::new();
    encode_data_head(&mut buf, sid(3), 2, true);
    buf.extend_from_slice(b"ok");
    match Frame::decode(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap() {
        Some(Frame::Data(d)) => {
            assert_eq!(
                (d.stream_id, &d.data[..], d.end_stream),
                (sid(3), &b"ok"[..], true)
            );
        }
        other => panic!("{other:?}"),
    }
}

/// Decodes the HEADERS/PUSH_PROMISE + CONTINUATIONs of one field block.
fn reassemble(buf: &mut BytesMut, max: u32) -> (Vec<Frame>, Vec<u8>) {
    let mut frames = Vec::new();
    let mut block = Vec::new();
    while let Some(f) = Frame::decode(buf, max).unwrap() {
        let (frag, end) = match &f {
            Frame::Headers(h) => (h.block.clone(), h.end_headers),
            Frame::PushPromise(p) => (p.block.clone(), p.end_headers),
            Frame::Continuation(c) => (c.block.clone(), c.end_headers),
            other => panic!("{other:?}"),
        };
        block.extend_from_slice(&frag);
        frames.push(f);
        if end {
            break;
        }
    }
    (frames, block)
}

// §4.3 / §6.10: a block larger than the peer's frame size is split into
// HEADERS + CONTINUATION, END_HEADERS on the last one only.
#[test]
fn header_block_is_split_into_continuations_at_max_frame_size() {
    let block: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
    let mut buf = BytesMut::new();
    let prio = PrioritySpec {
        dependency: sid(0),
        exclusive: false,
        weight: 15,
    };
    encode_header_block(
        &mut buf,
        sid(7),
        BlockStart::Headers {
            end_stream: true,
            priority: Some(prio),
        },
        &block,
        16_384,
    );
    let (frames, got) = reassemble(&mut buf, 16_384);
    assert_eq!(got, block);
    assert_eq!(frames.len(), 3);
    match &frames[0] {
        Frame::Headers(h) => {
            assert!(h.end_stream && !h.end_headers);
            assert_eq!(h.priority, Some(prio));
            assert_eq!(h.block.len(), 16_384 - 5);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&frames[1], Frame::Continuation(c) if !c.end_headers && c.block.len() == 16_384)
    );
    assert!(matches!(&frames[2], Frame::Continuation(c) if c.end_headers));

    // PUSH_PROMISE, tiny frames, and a block that fits exactly
    for (len, max) in [
        (10usize, 8u32),
        (4, 8),
        (0, 16_384),
        (16_380, 16_384),
        (16_381, 16_384),
    ] {
        let block = vec![0xaa; len];
        let mut buf = BytesMut::new();
        encode_header_block(
            &mut buf,
            sid(1),
            BlockStart::PushPromise {
                promised_id: sid(2),
            },
            &block,
            max,
        );
        let (frames, got) = reassemble(&mut buf, max.max(16_384));
        assert_eq!(got, block);
        assert!(buf.is_empty());
        assert!(matches!(&frames[0], Frame::PushPromise(p) if p.promised_id == sid(2)));
        let expect = if len + 4 <= max as usize {
            1
        } else {
            1 + (len - (max as usize - 4)).div_ceil(max as usize)
        };
        assert_eq!(frames.len(), expect, "len {len} max {max}");
    }
}

#[test]
fn codec_decodes_a_stream_of_frames_and_encodes() {
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::new();
    for f in every_frame() {
        codec.encode(f, &mut buf).unwrap();
    }
    for f in every_frame() {
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap().unwrap(), f);
    }
    assert!(codec.decode(&mut buf).unwrap().is_none());
}

// A stream error is an item; the frame is consumed and decoding goes on.
#[test]
fn codec_yields_stream_errors_and_goes_on() {
    let mut codec = FrameCodec::new(DEFAULT_MAX_FRAME_SIZE);
    let mut buf = BytesMut::from(&[0, 0, 4, kind::PRIORITY, 0, 0, 0, 0, 3, 1, 2, 3, 4][..]);
    Frame::from(Ping {
        ack: false,
        payload: [7; 8],
    })
    .encode(&mut buf);
    match codec.decode(&mut buf).unwrap() {
        Some(Err(Error::Stream {
            stream_id, code, ..
        })) => assert_eq!((stream_id, code), (sid(3), ErrorCode::FRAME_SIZE_ERROR)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        codec.decode(&mut buf).unwrap(),
        Some(Ok(Frame::Ping(_)))
    ));
}

#[test]
fn codec_connection_error_is_the_decoder_error() {
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::from(&[0, 0, 0, kind::SETTINGS, 0, 0, 0, 0, 1][..]);
    match codec.decode(&mut buf) {
        Err(CodecError::Frame(e)) => {
            assert!(e.is_connection());
            assert_eq!(e.code(), ErrorCode::PROTOCOL_ERROR);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn codec_max_frame_size_is_configurable() {
    let mut codec = FrameCodec::new(DEFAULT_MAX_FRAME_SIZE);
    let mut buf = BytesMut::new();
    encode_data_head(&mut buf, sid(1), 20_000, false);
    buf.extend_from_slice(&[0; 20_000]);
    let mut copy = buf.clone();
    assert!(
        matches!(codec.decode(&mut buf), Err(CodecError::Frame(e)) if e.code() == ErrorCode::FRAME_SIZE_ERROR)
    );
    codec.set_max_frame_size(20_000);
    assert_eq!(codec.max_frame_size(), 20_000);
    assert!(matches!(
        codec.decode(&mut copy).unwrap(),
        Some(Ok(Frame::Data(_)))
    ));
}

// Reads are given room for the rest of a partly arrived frame.
#[test]
fn codec_reserves_room_for_the_pending_frame() {
    let mut codec = FrameCodec::new(MAX_MAX_FRAME_SIZE);
    let mut buf = BytesMut::new();
    encode_data_head(&mut buf, sid(1), 100_000, false);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    assert!(buf.capacity() >= 9 + 100_000);
}

// §3.4: the server codec first expects the 24-byte client preface.
#[test]
fn server_codec_accepts_preface_then_frames() {
    let mut codec = FrameCodec::server(DEFAULT_MAX_FRAME_SIZE);
    let mut all = BytesMut::from(&PREFACE[..]);
    Frame::from(Settings::default()).encode(&mut all);
    // byte by byte: nothing until the SETTINGS frame is whole
    let mut buf = BytesMut::new();
    let mut got = None;
    for (i, b) in all.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        let r = codec.decode(&mut buf).unwrap();
        if i + 1 < all.len() {
            assert!(r.is_none(), "at byte {i}");
        } else {
            got = r;
        }
    }
    assert_eq!(got.unwrap().unwrap(), Frame::Settings(Settings::default()));
}

// §3.4: a wrong preface is a connection error PROTOCOL_ERROR, detected at
// the first byte that differs.
#[test]
fn server_codec_rejects_bad_preface_at_first_wrong_byte() {
    let mut codec = FrameCodec::server(DEFAULT_MAX_FRAME_SIZE);
    let mut buf = BytesMut::from(&b"PRI * HTTP/2.0\r\n\r\nSM\r\n"[..]);
    assert!(codec.decode(&mut buf).unwrap().is_none());

    let mut codec = FrameCodec::server(DEFAULT_MAX_FRAME_SIZE);
    let mut buf = BytesMut::from(&b"GET"[..]);
    match codec.decode(&mut buf) {
        Err(CodecError::Frame(Error::Connection { code, .. })) => {
            assert_eq!(code, ErrorCode::PROTOCOL_ERROR)
        }
        other => panic!("{other:?}"),
    }
    let mut codec = FrameCodec::server(DEFAULT_MAX_FRAME_SIZE);
    let mut buf = BytesMut::from(&b"PRI * HTTP/1.1\r\n"[..]);
    assert!(codec.decode(&mut buf).is_err());
}

// A client codec does not expect a preface.
#[test]
fn client_codec_has_no_preface() {
    let mut codec = FrameCodec::new(DEFAULT_MAX_FRAME_SIZE);
    let mut buf = BytesMut::new();
    Frame::from(Settings::ack()).encode(&mut buf);
    assert_eq!(
        codec.decode(&mut buf).unwrap().unwrap().unwrap(),
        Frame::Settings(Settings::ack())
    );
}

#[test]
fn head_parse_and_encode_are_inverse() {
    let h = FrameHead::new(0xab, 0xcd, sid(0x7fff_ffff), 0x00ab_cdef);
    let mut b = BytesMut::new();
    h.encode(&mut b);
    assert_eq!(b.len(), HEADER_LEN);
    assert_eq!(FrameHead::parse(b[..].try_into().unwrap()), h);
    assert_eq!(peek_head(&b), Some(h));
    assert_eq!(peek_head(&b[..8]), None);
}
