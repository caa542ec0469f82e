//! One test per malformation RFC 9113 names for a single frame: each checks
//! the exact error code and whether it is a connection error (§5.4.1) or a
//! stream error (§5.4.2).

use bytes::{BufMut, BytesMut};
use h2actor::frame::{
    flags, kind, setting_id, Error, ErrorCode, Frame, StreamId, DEFAULT_MAX_FRAME_SIZE,
};

/// A frame as raw bytes: 9-byte header + payload.
fn raw(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> BytesMut {
    let mut b = BytesMut::new();
    let len = payload.len() as u32;
    b.put_slice(&len.to_be_bytes()[1..]);
    b.put_u8(kind);
    b.put_u8(flags);
    b.put_u32(stream);
    b.put_slice(payload);
    b
}

fn decode(mut b: BytesMut) -> Result<Option<Frame>, Error> {
    Frame::decode(&mut b, DEFAULT_MAX_FRAME_SIZE)
}

#[track_caller]
fn assert_connection_error(b: BytesMut, code: ErrorCode) {
    match decode(b) {
        Err(Error::Connection { code: c, .. }) => assert_eq!(c, code),
        other => panic!("expected connection error {code:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_stream_error(b: BytesMut, stream: u32, code: ErrorCode) {
    match decode(b) {
        Err(Error::Stream {
            stream_id, code: c, ..
        }) => {
            assert_eq!(c, code);
            assert_eq!(stream_id, StreamId(stream));
        }
        other => panic!("expected stream error {code:?}, got {other:?}"),
    }
}

fn setting(id: u16, value: u32) -> BytesMut {
    let mut p = Vec::new();
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&value.to_be_bytes());
    raw(kind::SETTINGS, 0, 0, &p)
}

use ErrorCode as E;

// §4.2: a frame over our SETTINGS_MAX_FRAME_SIZE is FRAME_SIZE_ERROR, and
// detected from the header alone (the payload need not have arrived).
#[test]
fn frame_larger_than_max_frame_size_is_connection_frame_size_error() {
    let b = raw(kind::DATA, 0, 1, &vec![0; 16_385]);
    assert_connection_error(b.clone(), E::FRAME_SIZE_ERROR);
    // header only
    assert_connection_error(BytesMut::from(&b[..9]), E::FRAME_SIZE_ERROR);
    // the same frame is fine under a larger limit
    let mut b2 = b;
    assert!(matches!(
        Frame::decode(&mut b2, 16_385),
        Ok(Some(Frame::Data(_)))
    ));
}

// §6.5: SETTINGS length not a multiple of 6.
#[test]
fn settings_length_not_multiple_of_6_is_connection_frame_size_error() {
    assert_connection_error(raw(kind::SETTINGS, 0, 0, &[0; 7]), E::FRAME_SIZE_ERROR);
    assert_connection_error(raw(kind::SETTINGS, 0, 0, &[0; 5]), E::FRAME_SIZE_ERROR);
}

// §6.5: SETTINGS with ACK and a payload.
#[test]
fn settings_ack_with_payload_is_connection_frame_size_error() {
    assert_connection_error(
        raw(kind::SETTINGS, flags::ACK, 0, &[0, 3, 0, 0, 0, 1]),
        E::FRAME_SIZE_ERROR,
    );
}

// §6.7: PING payload other than 8 bytes.
#[test]
fn ping_length_not_8_is_connection_frame_size_error() {
    assert_connection_error(raw(kind::PING, 0, 0, &[0; 7]), E::FRAME_SIZE_ERROR);
    assert_connection_error(raw(kind::PING, flags::ACK, 0, &[0; 9]), E::FRAME_SIZE_ERROR);
}

// §6.9: WINDOW_UPDATE length other than 4 is a connection error, on any stream.
#[test]
fn window_update_length_not_4_is_connection_frame_size_error() {
    assert_connection_error(
        raw(kind::WINDOW_UPDATE, 0, 0, &[0, 0, 1]),
        E::FRAME_SIZE_ERROR,
    );
    assert_connection_error(
        raw(kind::WINDOW_UPDATE, 0, 3, &[0, 0, 0, 1, 0]),
        E::FRAME_SIZE_ERROR,
    );
}

// §6.4: RST_STREAM length other than 4.
#[test]
fn rst_stream_length_not_4_is_connection_frame_size_error() {
    assert_connection_error(raw(kind::RST_STREAM, 0, 1, &[0, 0, 8]), E::FRAME_SIZE_ERROR);
    assert_connection_error(raw(kind::RST_STREAM, 0, 1, &[0; 5]), E::FRAME_SIZE_ERROR);
}

// §6.3: PRIORITY length other than 5 is a *stream* error.
#[test]
fn priority_length_not_5_is_stream_frame_size_error() {
    assert_stream_error(raw(kind::PRIORITY, 0, 7, &[0; 4]), 7, E::FRAME_SIZE_ERROR);
    assert_stream_error(raw(kind::PRIORITY, 0, 7, &[0; 6]), 7, E::FRAME_SIZE_ERROR);
}

// §6.1: padding as long as the payload or longer.
#[test]
fn data_padding_not_less_than_payload_is_connection_protocol_error() {
    // payload 4 bytes: pad length 4 >= 4
    assert_connection_error(
        raw(kind::DATA, flags::PADDED, 1, &[4, 0, 0, 0]),
        E::PROTOCOL_ERROR,
    );
    // pad length 3 leaves 0 data bytes: legal
    let f = decode(raw(kind::DATA, flags::PADDED, 1, &[3, 0, 0, 0])).unwrap();
    assert!(matches!(f, Some(Frame::Data(d)) if d.data.is_empty() && d.pad_len == Some(3)));
}

// §6.2: padding as long as the payload or longer (HEADERS).
#[test]
fn headers_padding_not_less_than_payload_is_connection_protocol_error() {
    assert_connection_error(
        raw(kind::HEADERS, flags::PADDED, 1, &[3, 0x82, 0]),
        E::PROTOCOL_ERROR,
    );
    // with PRIORITY: the 5 priority bytes leave less room for padding
    let p = [1, 0, 0, 0, 0, 16];
    assert_connection_error(
        raw(kind::HEADERS, flags::PADDED | flags::PRIORITY, 1, &p),
        E::PROTOCOL_ERROR,
    );
}

// §6.6: padding as long as the payload or longer (PUSH_PROMISE).
#[test]
fn push_promise_padding_not_less_than_payload_is_connection_protocol_error() {
    assert_connection_error(
        raw(kind::PUSH_PROMISE, flags::PADDED, 1, &[1, 0, 0, 0, 2]),
        E::PROTOCOL_ERROR,
    );
}

// §4.2: a PADDED frame too small to hold its Pad Length field.
#[test]
fn padded_frame_without_pad_length_is_connection_frame_size_error() {
    assert_connection_error(raw(kind::DATA, flags::PADDED, 1, &[]), E::FRAME_SIZE_ERROR);
    assert_connection_error(
        raw(kind::HEADERS, flags::PADDED, 1, &[]),
        E::FRAME_SIZE_ERROR,
    );
}

// §4.2: HEADERS with PRIORITY too short for the 5 priority bytes.
#[test]
fn headers_too_short_for_priority_is_connection_frame_size_error() {
    assert_connection_error(
        raw(kind::HEADERS, flags::PRIORITY, 1, &[0; 4]),
        E::FRAME_SIZE_ERROR,
    );
}

// §4.2: PUSH_PROMISE too short for the promised stream id.
#[test]
fn push_promise_too_short_for_promised_id_is_connection_frame_size_error() {
    assert_connection_error(raw(kind::PUSH_PROMISE, 0, 1, &[0; 3]), E::FRAME_SIZE_ERROR);
}

// §6.1
#[test]
fn data_on_stream_0_is_connection_protocol_error() {
    assert_connection_error(raw(kind::DATA, 0, 0, b"x"), E::PROTOCOL_ERROR);
}

// §6.2
#[test]
fn headers_on_stream_0_is_connection_protocol_error() {
    assert_connection_error(
        raw(kind::HEADERS, flags::END_HEADERS, 0, &[0x82]),
        E::PROTOCOL_ERROR,
    );
}

// §6.10
#[test]
fn continuation_on_stream_0_is_connection_protocol_error() {
    assert_connection_error(
        raw(kind::CONTINUATION, flags::END_HEADERS, 0, &[0x82]),
        E::PROTOCOL_ERROR,
    );
}

// §6.4
#[test]
fn rst_stream_on_stream_0_is_connection_protocol_error() {
    assert_connection_error(
        raw(kind::RST_STREAM, 0, 0, &[0, 0, 0, 8]),
        E::PROTOCOL_ERROR,
    );
}

// §6.6
#[test]
fn push_promise_on_stream_0_is_connection_protocol_error() {
    assert_connection_error(
        raw(kind::PUSH_PROMISE, flags::END_HEADERS, 0, &[0, 0, 0, 2]),
        E::PROTOCOL_ERROR,
    );
}

// §6.3
#[test]
fn priority_on_stream_0_is_connection_protocol_error() {
    assert_connection_error(
        raw(kind::PRIORITY, 0, 0, &[0, 0, 0, 1, 16]),
        E::PROTOCOL_ERROR,
    );
}

// §6.5
#[test]
fn settings_on_nonzero_stream_is_connection_protocol_error() {
    assert_connection_error(raw(kind::SETTINGS, 0, 1, &[]), E::PROTOCOL_ERROR);
}

// §6.7
#[test]
fn ping_on_nonzero_stream_is_connection_protocol_error() {
    assert_connection_error(raw(kind::PING, 0, 1, &[0; 8]), E::PROTOCOL_ERROR);
}

// §6.8
#[test]
fn goaway_on_nonzero_stream_is_connection_protocol_error() {
    assert_connection_error(raw(kind::GOAWAY, 0, 1, &[0; 8]), E::PROTOCOL_ERROR);
}

// §6.8 + §4.2: too small to contain Last-Stream-ID and Error Code.
#[test]
fn goaway_shorter_than_8_is_connection_frame_size_error() {
    assert_connection_error(raw(kind::GOAWAY, 0, 0, &[0; 7]), E::FRAME_SIZE_ERROR);
}

// §6.9: increment 0 on a stream is a stream error.
#[test]
fn window_update_zero_increment_on_stream_is_stream_protocol_error() {
    assert_stream_error(
        raw(kind::WINDOW_UPDATE, 0, 5, &[0, 0, 0, 0]),
        5,
        E::PROTOCOL_ERROR,
    );
    // the reserved bit is not part of the increment
    assert_stream_error(
        raw(kind::WINDOW_UPDATE, 0, 5, &[0x80, 0, 0, 0]),
        5,
        E::PROTOCOL_ERROR,
    );
}

// §6.9: increment 0 on the connection window is a connection error.
#[test]
fn window_update_zero_increment_on_connection_is_connection_protocol_error() {
    assert_connection_error(
        raw(kind::WINDOW_UPDATE, 0, 0, &[0, 0, 0, 0]),
        E::PROTOCOL_ERROR,
    );
}

// §6.5.2
#[test]
fn settings_enable_push_not_0_or_1_is_connection_protocol_error() {
    assert_connection_error(setting(setting_id::ENABLE_PUSH, 2), E::PROTOCOL_ERROR);
}

// §6.5.2
#[test]
fn settings_initial_window_size_above_max_is_connection_flow_control_error() {
    assert_connection_error(
        setting(setting_id::INITIAL_WINDOW_SIZE, 1 << 31),
        E::FLOW_CONTROL_ERROR,
    );
    assert!(decode(setting(setting_id::INITIAL_WINDOW_SIZE, (1 << 31) - 1)).is_ok());
}

// §6.5.2
#[test]
fn settings_max_frame_size_below_16384_is_connection_protocol_error() {
    assert_connection_error(
        setting(setting_id::MAX_FRAME_SIZE, 16_383),
        E::PROTOCOL_ERROR,
    );
    assert!(decode(setting(setting_id::MAX_FRAME_SIZE, 16_384)).is_ok());
}

// §6.5.2
#[test]
fn settings_max_frame_size_above_16777215_is_connection_protocol_error() {
    assert_connection_error(
        setting(setting_id::MAX_FRAME_SIZE, 16_777_216),
        E::PROTOCOL_ERROR,
    );
    assert!(decode(setting(setting_id::MAX_FRAME_SIZE, 16_777_215)).is_ok());
}

// RFC 8441 §3
#[test]
fn settings_enable_connect_protocol_not_0_or_1_is_connection_protocol_error() {
    assert_connection_error(
        setting(setting_id::ENABLE_CONNECT_PROTOCOL, 2),
        E::PROTOCOL_ERROR,
    );
}

// RFC 9218 §2.1
#[test]
fn settings_no_rfc7540_priorities_not_0_or_1_is_connection_protocol_error() {
    assert_connection_error(
        setting(setting_id::NO_RFC7540_PRIORITIES, 7),
        E::PROTOCOL_ERROR,
    );
}

// §6.5.2: "An endpoint that receives a SETTINGS frame with any unknown or
// unsupported identifier MUST ignore that setting."
#[test]
fn settings_unknown_identifier_is_ignored() {
    let mut p = Vec::new();
    for (id, v) in [(0x7u16, 5u32), (0xff, u32::MAX), (0x3, 100)] {
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&v.to_be_bytes());
    }
    match decode(raw(kind::SETTINGS, 0, 0, &p)).unwrap() {
        Some(Frame::Settings(s)) => {
            assert!(!s.ack);
            assert_eq!(
                s.params,
                vec![h2actor::frame::Setting::MaxConcurrentStreams(100)]
            );
        }
        other => panic!("{other:?}"),
    }
}

// §4.1: the reserved bit of the stream id is ignored on receipt.
#[test]
fn stream_id_reserved_bit_is_masked() {
    let f = decode(raw(kind::DATA, 0, 0x8000_0003, b"hi"))
        .unwrap()
        .unwrap();
    assert_eq!(f.stream_id(), StreamId(3));
    // reserved bit alone = stream 0
    assert_connection_error(raw(kind::DATA, 0, 0x8000_0000, b"hi"), E::PROTOCOL_ERROR);
}

// §7: "Unknown or unsupported error codes MUST NOT trigger any special
// behavior" -- they are kept as they are.
#[test]
fn unknown_error_codes_are_preserved() {
    match decode(raw(kind::RST_STREAM, 0, 1, &[0xde, 0xad, 0xbe, 0xef])).unwrap() {
        Some(Frame::RstStream(r)) => assert_eq!(r.error_code, ErrorCode(0xdead_beef)),
        other => panic!("{other:?}"),
    }
    match decode(raw(kind::GOAWAY, 0, 0, &[0, 0, 0, 9, 0, 0, 0, 0x42, b'x'])).unwrap() {
        Some(Frame::GoAway(g)) => {
            assert_eq!(g.error_code, ErrorCode(0x42));
            assert_eq!(g.last_stream_id, StreamId(9));
            assert_eq!(&g.debug_data[..], b"x");
        }
        other => panic!("{other:?}"),
    }
}

// RFC 9218 §7.1: PRIORITY_UPDATE on a stream other than 0.
#[test]
fn rfc9218_s7_1_priority_update_on_a_non_zero_stream_is_protocol_error() {
    assert_connection_error(raw(0x10, 0, 1, &[0, 0, 0, 3]), ErrorCode::PROTOCOL_ERROR);
}

// RFC 9218 §7.1: a prioritized stream id of 0.
#[test]
fn rfc9218_s7_1_priority_update_for_stream_0_is_protocol_error() {
    assert_connection_error(
        raw(0x10, 0, 0, &[0, 0, 0, 0, b'u']),
        ErrorCode::PROTOCOL_ERROR,
    );
    // The reserved bit does not make an id.
    assert_connection_error(raw(0x10, 0, 0, &[0x80, 0, 0, 0]), ErrorCode::PROTOCOL_ERROR);
}

// RFC 9218 §7.1: shorter than the 4-byte prioritized stream id.
#[test]
fn rfc9218_s7_1_priority_update_shorter_than_4_bytes_is_frame_size_error() {
    for n in 0..4 {
        assert_connection_error(
            raw(0x10, 0, 0, &[0, 0, 0, 1][..n]),
            ErrorCode::FRAME_SIZE_ERROR,
        );
    }
}

// §4.1 / §5.5: unknown frame types are kept (to be ignored), on any stream.
#[test]
fn unknown_frame_type_is_kept_as_unknown() {
    match decode(raw(0xfa, 0xff, 0, b"abc")).unwrap() {
        Some(Frame::Unknown(u)) => {
            assert_eq!((u.kind, u.flags, u.stream_id), (0xfa, 0xff, StreamId(0)));
            assert_eq!(&u.payload[..], b"abc");
        }
        other => panic!("{other:?}"),
    }
}

// §4.1: "Flags that have no defined semantics for a particular frame type
// MUST be ignored".
#[test]
fn unknown_flags_are_ignored() {
    let all = !(flags::PADDED | flags::PRIORITY);
    match decode(raw(kind::DATA, all, 1, b"x")).unwrap() {
        Some(Frame::Data(d)) => assert!(d.end_stream && d.pad_len.is_none()),
        other => panic!("{other:?}"),
    }
    // PING ignores everything but ACK (and PADDED means nothing to it)
    match decode(raw(kind::PING, 0xfe, 0, &[1; 8])).unwrap() {
        Some(Frame::Ping(p)) => assert!(!p.ack),
        other => panic!("{other:?}"),
    }
    // PRIORITY defines no flags
    assert!(matches!(
        decode(raw(kind::PRIORITY, 0xff, 1, &[0, 0, 0, 3, 9])).unwrap(),
        Some(Frame::Priority(_))
    ));
}

// §6.2: HEADERS with both PADDED and PRIORITY: pad length, priority, block,
// padding, in that order.
#[test]
fn headers_with_priority_and_padding_are_both_parsed() {
    let mut p = vec![2]; // pad length
    p.extend_from_slice(&[0x80, 0, 0, 3, 200]); // exclusive, depends on 3, weight 200
    p.extend_from_slice(&[0x82, 0x86]); // field block
    p.extend_from_slice(&[0, 0]); // padding
    let f = decode(raw(
        kind::HEADERS,
        flags::PADDED | flags::PRIORITY | flags::END_HEADERS | flags::END_STREAM,
        5,
        &p,
    ))
    .unwrap();
    match f {
        Some(Frame::Headers(h)) => {
            assert_eq!(&h.block[..], &[0x82, 0x86]);
            assert_eq!(h.pad_len, Some(2));
            let pr = h.priority.unwrap();
            assert!(pr.exclusive);
            assert_eq!((pr.dependency, pr.weight), (StreamId(3), 200));
            assert!(h.end_headers && h.end_stream);
        }
        other => panic!("{other:?}"),
    }
}

// §6.6: the promised stream id's reserved bit is ignored.
#[test]
fn push_promise_promised_id_reserved_bit_is_masked() {
    let f = decode(raw(
        kind::PUSH_PROMISE,
        flags::END_HEADERS,
        1,
        &[0x80, 0, 0, 2, 0x82],
    ))
    .unwrap();
    match f {
        Some(Frame::PushPromise(p)) => {
            assert_eq!(p.promised_id, StreamId(2));
            assert_eq!(&p.block[..], &[0x82]);
        }
        other => panic!("{other:?}"),
    }
}
