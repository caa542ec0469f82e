//! Property tests: encode -> decode round trip for every frame type with
//! arbitrary fields, and decoding arbitrary bytes never panics.

use bytes::{Bytes, BytesMut};
use h2actor::frame::*;
use h2actor::transport::FrameCodec;
use proptest::prelude::*;
use tokio_util::codec::Decoder;

fn stream() -> impl Strategy<Value = StreamId> {
    (1..=MAX_WINDOW_SIZE).prop_map(StreamId)
}

fn any_stream() -> impl Strategy<Value = StreamId> {
    (0..=MAX_WINDOW_SIZE).prop_map(StreamId)
}

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn spec() -> impl Strategy<Value = PrioritySpec> {
    (any_stream(), any::<bool>(), any::<u8>()).prop_map(|(dependency, exclusive, weight)| {
        PrioritySpec {
            dependency,
            exclusive,
            weight,
        }
    })
}

fn setting() -> impl Strategy<Value = Setting> {
    prop_oneof![
        any::<u32>().prop_map(Setting::HeaderTableSize),
        any::<bool>().prop_map(Setting::EnablePush),
        any::<u32>().prop_map(Setting::MaxConcurrentStreams),
        (0..=MAX_WINDOW_SIZE).prop_map(Setting::InitialWindowSize),
        (DEFAULT_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).prop_map(Setting::MaxFrameSize),
        any::<u32>().prop_map(Setting::MaxHeaderListSize),
        any::<bool>().prop_map(Setting::EnableConnectProtocol),
        any::<bool>().prop_map(Setting::NoRfc7540Priorities),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    let pad = proptest::option::of(any::<u8>());
    prop_oneof![
        (stream(), bytes(300), any::<bool>(), pad.clone()).prop_map(
            |(stream_id, data, end_stream, pad_len)| {
                Frame::Data(Data {
                    stream_id,
                    data,
                    end_stream,
                    pad_len,
                })
            }
        ),
        (
            stream(),
            bytes(300),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(spec()),
            pad.clone()
        )
            .prop_map(
                |(stream_id, block, end_stream, end_headers, priority, pad_len)| {
                    Frame::Headers(Headers {
                        stream_id,
                        block,
                        end_stream,
                        end_headers,
                        priority,
                        pad_len,
                    })
                }
            ),
        (stream(), spec())
            .prop_map(|(stream_id, spec)| Frame::Priority(Priority { stream_id, spec })),
        (stream(), any::<u32>()).prop_map(|(stream_id, c)| Frame::RstStream(RstStream {
            stream_id,
            error_code: ErrorCode(c)
        })),
        proptest::collection::vec(setting(), 0..20)
            .prop_map(|params| Frame::Settings(Settings { ack: false, params })),
        Just(Frame::Settings(Settings::ack())),
        (stream(), any_stream(), bytes(300), any::<bool>(), pad).prop_map(
            |(stream_id, promised_id, block, end_headers, pad_len)| Frame::PushPromise(
                PushPromise {
                    stream_id,
                    promised_id,
                    block,
                    end_headers,
                    pad_len
                }
            )
        ),
        (any::<bool>(), any::<[u8; 8]>())
            .prop_map(|(ack, payload)| Frame::Ping(Ping { ack, payload })),
        (any_stream(), any::<u32>(), bytes(100)).prop_map(|(last_stream_id, c, debug_data)| {
            Frame::GoAway(GoAway {
                last_stream_id,
                error_code: ErrorCode(c),
                debug_data,
            })
        }),
        (any_stream(), 1..=MAX_WINDOW_SIZE).prop_map(|(stream_id, increment)| {
            Frame::WindowUpdate(WindowUpdate {
                stream_id,
                increment,
            })
        }),
        (stream(), bytes(300), any::<bool>()).prop_map(|(stream_id, block, end_headers)| {
            Frame::Continuation(Continuation {
                stream_id,
                block,
                end_headers,
            })
        }),
        (stream(), bytes(100)).prop_map(|(prioritized, field)| {
            Frame::PriorityUpdate(PriorityUpdate { prioritized, field })
        }),
        (10u8..=255, any::<u8>(), any_stream(), bytes(300))
            .prop_filter("0x10 is PRIORITY_UPDATE", |(kind, ..)| *kind
                != kind::PRIORITY_UPDATE)
            .prop_map(|(kind, flags, stream_id, payload)| {
                Frame::Unknown(Unknown {
                    kind,
                    flags,
                    stream_id,
                    payload,
                })
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_frame_round_trips(frames in proptest::collection::vec(frame(), 1..5)) {
        let mut buf = BytesMut::new();
        for f in &frames {
            f.encode(&mut buf);
        }
        for f in &frames {
            let got = Frame::decode(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap();
            prop_assert_eq!(got.as_ref(), Some(f));
        }
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600), max in 0u32..1000) {
        let mut buf = BytesMut::from(&data[..]);
        let before = buf.len();
        // Ok(None) consumes nothing; Ok(Some)/stream errors consume a frame.
        while let Ok(r) = Frame::decode(&mut buf, max) {
            match r {
                None => { prop_assert!(buf.len() <= before); break; }
                Some(f) => {
                    // what decodes re-encodes to a frame that decodes the same
                    let mut again = BytesMut::new();
                    f.encode(&mut again);
                    prop_assert_eq!(Frame::decode(&mut again, MAX_MAX_FRAME_SIZE).unwrap(), Some(f));
                }
            }
        }
    }

    #[test]
    fn codec_on_arbitrary_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600), server in any::<bool>()) {
        let mut codec = if server { FrameCodec::server(16_384) } else { FrameCodec::new(16_384) };
        let mut input = Vec::new();
        if server { input.extend_from_slice(PREFACE); }
        input.extend_from_slice(&data);
        let mut buf = BytesMut::new();
        // fed in chunks of 7 bytes to exercise partial reads
        for chunk in input.chunks(7) {
            buf.extend_from_slice(chunk);
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(_)) => continue,
                    Ok(None) => break,
                    Err(_) => return Ok(()),
                }
            }
        }
    }
}

/// A dictionary member with a key other than `u` and `i` (RFC 8941 §3.2).
fn other_member() -> impl Strategy<Value = String> {
    let key = "[a-hj-tv-z*][a-z0-9_.*-]{0,5}";
    let value = prop_oneof![
        Just(String::new()),
        (-999i64..999).prop_map(|n| format!("={n}")),
        "[a-z][a-z0-9]{0,4}".prop_map(|t| format!("={t}")),
        Just("=?0".to_string()),
        Just("=\"s p\"".to_string()),
        Just("=(1 a);p=2".to_string()),
        Just("=:AQID:".to_string()),
        Just("=1.5".to_string()),
    ];
    (key, value).prop_map(|(k, v)| format!("{k}{v}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    // RFC 9218 §4: never fails, whatever the bytes; urgency stays in 0..=7.
    #[test]
    fn rfc9218_s4_priority_parsing_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let p = h2actor::priority::Priority::parse(&data);
        prop_assert!(p.urgency <= 7);
    }

    // RFC 9218 §4: unknown members around `u` and `i` are ignored.
    #[test]
    fn rfc9218_s4_unknown_members_do_not_change_u_and_i(
        u in 0u8..=7,
        i in any::<bool>(),
        before in proptest::collection::vec(other_member(), 0..4),
        after in proptest::collection::vec(other_member(), 0..4),
    ) {
        let mut members = before.clone();
        members.push(format!("u={u}"));
        if i {
            members.push("i".into());
        }
        members.extend(after.iter().cloned());
        let field = members.join(", ");
        let p = h2actor::priority::Priority::parse(field.as_bytes());
        prop_assert_eq!((p.urgency, p.incremental), (u, i), "{}", field);
    }

    // A PRIORITY_UPDATE decoded from any bytes never panics and, when it
    // decodes, names a stream other than 0 and re-encodes to the same bytes.
    #[test]
    fn rfc9218_s7_1_priority_update_decoding_any_payload(
        stream in 0u32..3,
        payload in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut b = BytesMut::new();
        FrameHead::new(kind::PRIORITY_UPDATE, 0, StreamId(stream), payload.len() as u32).encode(&mut b);
        b.extend_from_slice(&payload);
        let wire = b.clone();
        if let Ok(Some(Frame::PriorityUpdate(p))) = Frame::decode(&mut b, DEFAULT_MAX_FRAME_SIZE) {
            prop_assert_eq!(stream, 0);
            prop_assert!(p.prioritized.0 != 0);
            let mut again = BytesMut::new();
            Frame::PriorityUpdate(p).encode(&mut again);
            let mut masked = wire.to_vec();
            masked[9] &= 0x7f;
            prop_assert_eq!(&again[..], &masked[..]);
        }
    }
}
