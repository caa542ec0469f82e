//! Field blocks (§4.3, §6.10) and the messages they carry as received (§8): requests, responses, trailers, content-length.

use super::*;

fn open_block(s: &mut Connection, p: &mut Peer) {
    let b = p.block(GET);
    s.recv_frame(
        Frame::Headers(Headers {
            stream_id: StreamId(1),
            block: b,
            end_stream: true,
            end_headers: false,
            priority: None,
            pad_len: None,
        }),
        t0(),
    )
    .unwrap();
}

#[test]
fn s6_10_headers_and_continuation_are_assembled() {
    let (mut s, mut p) = server();
    let b = p.block(GET);
    let (a, rest) = b.split_at(3);
    s.recv_frame(
        Frame::Headers(Headers {
            stream_id: StreamId(1),
            block: Bytes::copy_from_slice(a),
            end_stream: true,
            end_headers: false,
            priority: None,
            pad_len: None,
        }),
        t0(),
    )
    .unwrap();
    assert!(events(&mut s).is_empty());
    s.recv_frame(
        Frame::Continuation(Continuation {
            stream_id: StreamId(1),
            block: Bytes::copy_from_slice(&rest[..1]),
            end_headers: false,
        }),
        t0(),
    )
    .unwrap();
    s.recv_frame(
        Frame::Continuation(Continuation {
            stream_id: StreamId(1),
            block: Bytes::copy_from_slice(&rest[1..]),
            end_headers: true,
        }),
        t0(),
    )
    .unwrap();
    let evs = events(&mut s);
    assert!(
        matches!(&evs[..], [Event::RecvHeaders { head, end_stream: true, .. }] if matches!(&**head, Head::Request(r) if r.uri() == "http://example.com/"))
    );
}

#[test]
fn s6_10_frame_interleaved_in_field_block_is_connection_error_protocol() {
    let (mut s, mut p) = server();
    open_block(&mut s, &mut p);
    let r = s.recv_frame(ping(false, [1; 8]), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_10_continuation_on_another_stream_is_connection_error_protocol() {
    let (mut s, mut p) = server();
    open_block(&mut s, &mut p);
    let r = s.recv_frame(
        Frame::Continuation(Continuation {
            stream_id: StreamId(3),
            block: Bytes::new(),
            end_headers: true,
        }),
        t0(),
    );
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_5_unknown_frame_inside_field_block_is_connection_error_protocol() {
    let (mut s, mut p) = server();
    open_block(&mut s, &mut p);
    let r = s.recv_frame(
        Frame::Unknown(Unknown {
            kind: 0xfa,
            flags: 0,
            stream_id: StreamId(1),
            payload: Bytes::new(),
        }),
        t0(),
    );
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s10_5_field_block_larger_than_limit_is_enhance_your_calm() {
    let config = Config {
        max_header_block_size: 1000,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    open_block(&mut s, &mut p);
    let mut r = Ok(());
    for _ in 0..10 {
        r = s.recv_frame(
            Frame::Continuation(Continuation {
                stream_id: StreamId(1),
                block: Bytes::from(vec![0u8; 200]),
                end_headers: false,
            }),
            t0(),
        );
        if r.is_err() {
            break;
        }
    }
    assert_conn_error(&mut s, r, ErrorCode::ENHANCE_YOUR_CALM);
}

#[test]
fn s10_5_flood_of_empty_continuations_is_enhance_your_calm() {
    let (mut s, mut p) = server();
    open_block(&mut s, &mut p);
    let mut r = Ok(());
    for _ in 0..100_000 {
        r = s.recv_frame(
            Frame::Continuation(Continuation {
                stream_id: StreamId(1),
                block: Bytes::new(),
                end_headers: false,
            }),
            t0(),
        );
        if r.is_err() {
            break;
        }
    }
    assert_conn_error(&mut s, r, ErrorCode::ENHANCE_YOUR_CALM);
}

#[test]
fn s4_3_hpack_decoding_error_is_connection_error_compression() {
    let (mut s, _) = server();
    // indexed field 0x7f + huge index: out of range
    let r = s.recv_frame(
        headers(1, Bytes::from_static(&[0xff, 0xff, 0x7f]), true),
        t0(),
    );
    assert_conn_error(&mut s, r, ErrorCode::COMPRESSION_ERROR);
}

#[test]
fn s6_5_2_header_list_too_large_request_is_answered_431() {
    let config = Config {
        max_header_list_size: 200,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    let big = "v".repeat(300);
    let mut fields = GET.to_vec();
    fields.push(("x-big", &big));
    let b = p.block(&fields);
    s.recv_frame(headers(1, b, false), t0()).unwrap();
    let frames = drain(&mut s);
    let Some(Frame::Headers(h)) = frames.first() else {
        panic!("{frames:?}")
    };
    assert!(h.end_stream);
    assert_eq!(p.decode(&h.block), vec![(":status".into(), "431".into())]);
    assert_eq!(rst_code(&frames, 1), Some(ErrorCode::NO_ERROR));
    assert!(events(&mut s).is_empty());
    // the connection goes on, HPACK in sync
    s.recv_frame(data(1, b"ignored", true), t0()).unwrap();
    s.recv_frame(headers(3, p.block(GET), true), t0()).unwrap();
    assert!(matches!(events(&mut s)[..], [Event::RecvHeaders { .. }]));
}

#[test]
fn s8_1_1_malformed_request_is_stream_error_protocol() {
    let (mut s, mut p) = server();
    let mut fields = GET.to_vec();
    fields.push(("Upper", "x"));
    let b = p.block(&fields);
    s.recv_frame(headers(1, b, true), t0()).unwrap();
    let frames = drain(&mut s);
    assert_eq!(rst_code(&frames, 1), Some(ErrorCode::PROTOCOL_ERROR));
    assert!(goaway_code(&frames).is_none());
    assert!(events(&mut s).is_empty());
}

#[test]
fn s8_2_2_connection_specific_field_in_request_is_stream_error_protocol() {
    let (mut s, mut p) = server();
    let mut fields = GET.to_vec();
    fields.push(("connection", "keep-alive"));
    let b = p.block(&fields);
    s.recv_frame(headers(1, b, true), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_3_1_request_without_path_is_stream_error_protocol() {
    let (mut s, mut p) = server();
    let b = p.block(&GET[..3]);
    s.recv_frame(headers(1, b, true), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_1_1_content_length_longer_than_data_is_stream_error_protocol() {
    let (mut s, mut p) = server();
    let mut fields = POST.to_vec();
    fields.push(("content-length", "10"));
    let b = p.block(&fields);
    s.recv_frame(headers(1, b, false), t0()).unwrap();
    events(&mut s);
    s.recv_frame(data(1, b"short", true), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
    assert!(matches!(
        events(&mut s)[..],
        [Event::RecvReset {
            code: ErrorCode::PROTOCOL_ERROR,
            ..
        }]
    ));
}

#[test]
fn s8_1_1_content_length_shorter_than_data_is_stream_error_protocol() {
    let (mut s, mut p) = server();
    let mut fields = POST.to_vec();
    fields.push(("content-length", "3"));
    let b = p.block(&fields);
    s.recv_frame(headers(1, b, false), t0()).unwrap();
    s.recv_frame(data(1, b"toolong", false), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_1_1_content_length_matching_data_is_fine() {
    let (mut s, mut p) = server();
    let mut fields = POST.to_vec();
    fields.push(("content-length", "5"));
    let b = p.block(&fields);
    s.recv_frame(headers(1, b, false), t0()).unwrap();
    s.recv_frame(data(1, b"hel", false), t0()).unwrap();
    s.recv_frame(data(1, b"lo", true), t0()).unwrap();
    assert!(rst_code(&drain(&mut s), 1).is_none());
}

#[test]
fn s8_1_1_content_length_with_end_stream_on_headers_is_stream_error() {
    let (mut s, mut p) = server();
    let mut fields = POST.to_vec();
    fields.push(("content-length", "5"));
    let b = p.block(&fields);
    s.recv_frame(headers(1, b, true), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_1_trailers_are_delivered() {
    let (mut s, mut p) = server_with_open_stream();
    s.recv_frame(data(1, b"body", false), t0()).unwrap();
    let b = p.block(&[("x-checksum", "abc")]);
    s.recv_frame(headers(1, b, true), t0()).unwrap();
    let evs = events(&mut s);
    assert!(
        matches!(&evs[1], Event::RecvTrailers { trailers, .. } if trailers["x-checksum"] == "abc")
    );
    assert_eq!(
        s.stream_state(StreamId(1)),
        Some(StreamState::HalfClosedRemote)
    );
}

#[test]
fn s8_1_trailers_without_end_stream_are_stream_error_protocol() {
    let (mut s, mut p) = server_with_open_stream();
    let b = p.block(&[("x-checksum", "abc")]);
    s.recv_frame(headers(1, b, false), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_1_trailers_with_pseudo_header_are_stream_error_protocol() {
    let (mut s, mut p) = server_with_open_stream();
    let b = p.block(&[(":path", "/")]);
    s.recv_frame(headers(1, b, true), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_1_informational_responses_precede_the_final_one() {
    let (mut c, mut p) = client_with_open_stream();
    for status in ["100", "103"] {
        let b = p.block(&[(":status", status)]);
        c.recv_frame(headers(1, b, false), t0()).unwrap();
    }
    let b = p.block(&[(":status", "200")]);
    c.recv_frame(headers(1, b, false), t0()).unwrap();
    c.recv_frame(data(1, b"ok", true), t0()).unwrap();
    let evs = events(&mut c);
    let statuses: Vec<u16> = evs
        .iter()
        .filter_map(|e| match e {
            Event::RecvHeaders { head, .. } => match &**head {
                Head::Response(r) => Some(r.status().as_u16()),
                Head::Request(_) => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![100, 103, 200]);
    assert_eq!(body_of(&evs, StreamId(1)), (b"ok".to_vec(), true));
}

#[test]
fn s8_1_informational_response_with_end_stream_is_stream_error_protocol() {
    let (mut c, mut p) = client_with_open_stream();
    let b = p.block(&[(":status", "100")]);
    c.recv_frame(headers(1, b, true), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_1_data_before_response_headers_is_stream_error_protocol() {
    let (mut c, _) = client_with_open_stream();
    c.recv_frame(data(1, b"x", false), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_3_2_response_without_status_is_stream_error_protocol() {
    let (mut c, mut p) = client_with_open_stream();
    let b = p.block(&[("server", "x")]);
    c.recv_frame(headers(1, b, true), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 1), Some(ErrorCode::PROTOCOL_ERROR));
    assert!(matches!(
        events(&mut c)[..],
        [Event::RecvReset {
            id: StreamId(1),
            code: ErrorCode::PROTOCOL_ERROR,
            remote: false,
            ..
        }]
    ));
}

#[test]
fn s8_1_1_head_response_content_length_without_data_is_fine() {
    let (mut c, mut p) = client();
    let id = c.open_stream().unwrap();
    let req = Request::head("http://example.com/").body(()).unwrap();
    c.send_headers(id, Head::Request(req), true, t0()).unwrap();
    let b = p.block(&[(":status", "200"), ("content-length", "1234")]);
    c.recv_frame(headers(1, b, true), t0()).unwrap();
    assert!(rst_code(&drain(&mut c), 1).is_none());
}

#[test]
fn s6_10_continuation_after_end_headers_is_connection_error_protocol() {
    let (mut s, mut p) = server_with_open_stream();
    let _ = &mut p;
    let r = s.recv_frame(
        Frame::Continuation(Continuation {
            stream_id: StreamId(1),
            block: Bytes::new(),
            end_headers: true,
        }),
        t0(),
    );
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

/// A head taken out of its event's box (`unbox_head`, what the actor layer
/// does with every request) leaves the box for the next head received,
/// which takes it; a quiet socket frees it.
#[test]
fn s8_3_a_taken_head_box_carries_the_next_head() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), false), t0()).unwrap();
    let first = match s.poll_event() {
        Some(Event::RecvHeaders { head, .. }) => head,
        other => panic!("{other:?}"),
    };
    assert!(!s.keeps_spare_head());
    let Head::Request(r) = s.unbox_head(first) else {
        panic!("a server receives requests")
    };
    assert_eq!(r.uri(), "http://example.com/");
    assert!(s.keeps_spare_head());
    s.recv_frame(headers(3, p.block(GET), false), t0()).unwrap();
    assert!(!s.keeps_spare_head(), "the second head took the box");
    let second = match s.poll_event() {
        Some(Event::RecvHeaders { id, head, .. }) => {
            assert_eq!(id, StreamId(3));
            head
        }
        other => panic!("{other:?}"),
    };
    assert!(matches!(s.unbox_head(second), Head::Request(r) if r.uri() == "http://example.com/"));
    s.release_idle_memory();
    assert!(!s.keeps_spare_head());
}
