//! Frames received in each stream state (§5.1, §5.1.1), on stream 0 (§6.1, §6.2, §6.4), unknown frames (§5.5) and PING (§6.7).

use super::*;

#[test]
fn s5_1_data_on_idle_stream_is_connection_error_protocol() {
    let (mut s, _) = server();
    let r = s.recv_frame(data(1, b"x", false), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_rst_stream_on_idle_stream_is_connection_error_protocol() {
    let (mut s, _) = server();
    let r = s.recv_frame(rst(1, ErrorCode::CANCEL), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_window_update_on_idle_stream_is_connection_error_protocol() {
    let (mut s, _) = server();
    let r = s.recv_frame(window_update(1, 10), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_continuation_without_headers_is_connection_error_protocol() {
    let (mut s, _) = server();
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

#[test]
fn s5_1_priority_on_idle_stream_is_ignored() {
    let (mut s, mut p) = server();
    s.recv_frame(
        Frame::Priority(Priority {
            stream_id: StreamId(3),
            spec: PrioritySpec {
                dependency: StreamId(0),
                exclusive: false,
                weight: 15,
            },
        }),
        t0(),
    )
    .unwrap();
    assert!(drain(&mut s).is_empty());
    // it did not open stream 3: HEADERS on 3 still opens it
    s.recv_frame(headers(3, p.block(GET), true), t0()).unwrap();
    assert!(matches!(events(&mut s)[..], [Event::RecvHeaders { .. }]));
}

#[test]
fn s5_1_priority_on_any_stream_is_ignored() {
    let (mut s, _) = server_with_open_stream();
    s.recv_frame(
        Frame::Priority(Priority {
            stream_id: StreamId(1),
            spec: PrioritySpec {
                dependency: StreamId(0),
                exclusive: true,
                weight: 200,
            },
        }),
        t0(),
    )
    .unwrap();
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stream_state(StreamId(1)), Some(StreamState::Open));
}

#[test]
fn s5_1_headers_with_priority_fields_are_accepted() {
    let (mut s, mut p) = server();
    s.recv_frame(
        Frame::Headers(Headers {
            stream_id: StreamId(1),
            block: p.block(GET),
            end_stream: true,
            end_headers: true,
            priority: Some(PrioritySpec {
                dependency: StreamId(0),
                exclusive: false,
                weight: 10,
            }),
            pad_len: Some(3),
        }),
        t0(),
    )
    .unwrap();
    assert!(matches!(
        events(&mut s)[..],
        [Event::RecvHeaders {
            end_stream: true,
            ..
        }]
    ));
}

#[test]
fn s5_1_headers_opens_stream_and_end_stream_half_closes_it() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    assert_eq!(s.stream_state(StreamId(1)), Some(StreamState::Open));
    s.recv_frame(data(1, b"abc", true), t0()).unwrap();
    assert_eq!(
        s.stream_state(StreamId(1)),
        Some(StreamState::HalfClosedRemote)
    );
    s.send_headers(StreamId(1), response(200), true, t0())
        .unwrap();
    assert_eq!(s.stream_state(StreamId(1)), None, "closed and forgotten");
    let evs = events(&mut s);
    assert!(matches!(evs.last(), Some(Event::Finished { id, .. }) if id.0 == 1));
    assert_eq!(s.active_streams(), 0);
}

#[test]
fn s5_1_data_on_half_closed_remote_is_stream_error_stream_closed() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    events(&mut s);
    s.recv_frame(data(1, b"late", false), t0()).unwrap();
    let frames = drain(&mut s);
    assert_eq!(rst_code(&frames, 1), Some(ErrorCode::STREAM_CLOSED));
    assert!(goaway_code(&frames).is_none());
    assert!(matches!(
        events(&mut s)[..],
        [Event::RecvReset {
            code: ErrorCode::STREAM_CLOSED,
            remote: false,
            ..
        }]
    ));
}

#[test]
fn s5_1_headers_on_half_closed_remote_is_stream_error_stream_closed() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    let b = p.block(&[("x-trailer", "1")]);
    s.recv_frame(headers(1, b, true), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::STREAM_CLOSED));
}

#[test]
fn s5_1_half_closed_remote_accepts_window_update_and_rst() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.recv_frame(window_update(1, 100), t0()).unwrap();
    assert!(drain(&mut s).is_empty());
    s.recv_frame(rst(1, ErrorCode::CANCEL), t0()).unwrap();
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stream_state(StreamId(1)), None);
}

#[test]
fn s5_1_data_on_closed_stream_is_connection_error_stream_closed() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.send_headers(StreamId(1), response(204), true, t0())
        .unwrap();
    drain(&mut s);
    let r = s.recv_frame(data(1, b"x", false), t0());
    assert_conn_error(&mut s, r, ErrorCode::STREAM_CLOSED);
}

#[test]
fn s5_1_frames_after_our_rst_stream_are_ignored() {
    let (mut s, mut p) = server_with_open_stream();
    s.reset(StreamId(1), ErrorCode::CANCEL, t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::CANCEL));
    // in flight from the peer: DATA, trailers, WINDOW_UPDATE, RST_STREAM
    s.recv_frame(data_n(1, 1000, false), t0()).unwrap();
    let b = p.block(&[("x-t", "1")]);
    s.recv_frame(headers(1, b, true), t0()).unwrap();
    s.recv_frame(window_update(1, 5), t0()).unwrap();
    s.recv_frame(rst(1, ErrorCode::CANCEL), t0()).unwrap();
    assert!(drain(&mut s).is_empty());
    assert!(events(&mut s).is_empty());
    // and HPACK stayed in sync: a new request decodes
    s.recv_frame(headers(3, p.block(GET), true), t0()).unwrap();
    assert!(matches!(events(&mut s)[..], [Event::RecvHeaders { .. }]));
}

#[test]
fn s5_1_late_frames_on_streams_beyond_the_reset_memory_are_ignored() {
    let config = Config {
        max_reset_streams: 4,
        ..Config::default()
    };
    let (mut c, mut p) = client_with(config, vec![]);
    let mut ids = Vec::new();
    for _ in 0..20 {
        let id = c.open_stream().unwrap();
        c.send_headers(id, get_request("http://example.com/"), true, t0())
            .unwrap();
        ids.push(id);
    }
    for id in &ids {
        c.reset(*id, ErrorCode::CANCEL, t0()).unwrap();
    }
    drain(&mut c);
    // in flight from the server for the first (long forgotten) stream
    let b = p.block(&[(":status", "200")]);
    c.recv_frame(headers(1, b, false), t0()).unwrap();
    c.recv_frame(data(1, b"late", true), t0()).unwrap();
    let f = push_frame(&mut p, 1, 2, GET);
    c.recv_frame(f, t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 2), Some(ErrorCode::CANCEL));
    assert!(events(&mut c).is_empty());
}

#[test]
fn s5_1_data_after_our_rst_still_counts_toward_connection_window() {
    let config = Config {
        connection_window_size: 65_535,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    s.reset(StreamId(1), ErrorCode::CANCEL, t0()).unwrap();
    drain(&mut s);
    s.recv_frame(data_n(1, 16_384, false), t0()).unwrap();
    s.recv_frame(data_n(1, 16_384, false), t0()).unwrap();
    // given back to the connection at once (half the window reached)
    assert!(drain(&mut s).contains(&window_update(0, 32_768)));
}

#[test]
fn s5_1_rst_stream_from_peer_closes_stream_and_reports_it() {
    let (mut s, _) = server_with_open_stream();
    s.recv_frame(rst(1, ErrorCode::CANCEL), t0()).unwrap();
    assert!(matches!(
        events(&mut s)[..],
        [Event::RecvReset {
            id: StreamId(1),
            code: ErrorCode::CANCEL,
            remote: true,
            ..
        }]
    ));
    assert_eq!(s.active_streams(), 0);
    assert!(matches!(
        s.send_data(StreamId(1), Bytes::from_static(b"x"), true, t0()),
        Err(UserError::UnknownStream(_))
    ));
}

#[test]
fn s5_1_reserved_remote_data_is_connection_error_protocol() {
    let (mut c, mut p) = client_with_open_stream();
    let b = p.block(GET);
    c.recv_frame(
        Frame::PushPromise(PushPromise {
            stream_id: StreamId(1),
            promised_id: StreamId(2),
            block: b,
            end_headers: true,
            pad_len: None,
        }),
        t0(),
    )
    .unwrap();
    let r = c.recv_frame(data(2, b"x", false), t0());
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_reserved_remote_window_update_is_connection_error_protocol() {
    let (mut c, mut p) = client_with_open_stream();
    let b = p.block(GET);
    c.recv_frame(
        Frame::PushPromise(PushPromise {
            stream_id: StreamId(1),
            promised_id: StreamId(2),
            block: b,
            end_headers: true,
            pad_len: None,
        }),
        t0(),
    )
    .unwrap();
    let r = c.recv_frame(window_update(2, 1), t0());
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_1_client_receiving_headers_on_idle_even_stream_is_protocol_error() {
    let (mut c, mut p) = client();
    let b = p.block(&[(":status", "200")]);
    let r = c.recv_frame(headers(2, b, true), t0());
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_1_server_receiving_headers_on_even_stream_is_protocol_error() {
    let (mut s, mut p) = server();
    let b = p.block(GET);
    let r = s.recv_frame(headers(2, b, true), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_1_decreasing_stream_id_is_connection_error_protocol() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(5, p.block(GET), true), t0()).unwrap();
    let b = p.block(GET);
    let r = s.recv_frame(headers(3, b, true), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_1_new_stream_implicitly_closes_lower_idle_streams() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(5, p.block(GET), true), t0()).unwrap();
    // stream 3 is closed, not idle: DATA on it is STREAM_CLOSED, not
    // PROTOCOL_ERROR
    let r = s.recv_frame(data(3, b"x", false), t0());
    assert_conn_error(&mut s, r, ErrorCode::STREAM_CLOSED);
}

#[test]
fn s5_1_1_window_update_on_implicitly_closed_stream_is_ignored() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(5, p.block(GET), true), t0()).unwrap();
    s.recv_frame(window_update(3, 1), t0()).unwrap();
    s.recv_frame(rst(3, ErrorCode::CANCEL), t0()).unwrap();
    assert!(drain(&mut s).is_empty());
}

#[test]
fn s5_1_2_max_concurrent_streams_refuses_excess_streams() {
    let config = Config {
        max_concurrent_streams: 2,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    for id in [1, 3, 5] {
        let b = p.block(POST);
        s.recv_frame(headers(id, b, false), t0()).unwrap();
    }
    let frames = drain(&mut s);
    assert_eq!(rst_code(&frames, 5), Some(ErrorCode::REFUSED_STREAM));
    assert_eq!(rst_code(&frames, 1), None);
    assert_eq!(
        events(&mut s).len(),
        2,
        "the refused stream is never reported"
    );
    // once one finishes, a new one is accepted
    s.recv_frame(rst(1, ErrorCode::CANCEL), t0()).unwrap();
    s.recv_frame(headers(7, p.block(POST), false), t0())
        .unwrap();
    assert_eq!(rst_code(&drain(&mut s), 7), None);
}

#[test]
fn s5_5_unknown_frame_is_ignored() {
    let (mut s, _) = server_with_open_stream();
    s.recv_frame(
        Frame::Unknown(Unknown {
            kind: 0xfa,
            flags: 0xff,
            stream_id: StreamId(1),
            payload: Bytes::from_static(b"whatever"),
        }),
        t0(),
    )
    .unwrap();
    assert!(drain(&mut s).is_empty());
    assert!(events(&mut s).is_empty());
}

#[test]
fn s6_7_ping_is_answered_with_ack() {
    let (mut s, _) = server();
    s.recv_frame(ping(false, *b"12345678"), t0()).unwrap();
    assert_eq!(
        drain(&mut s),
        vec![Frame::Ping(Ping {
            ack: true,
            payload: *b"12345678"
        })]
    );
}

#[test]
fn s6_7_unsolicited_ping_ack_is_ignored() {
    let (mut c, _) = client();
    c.recv_frame(ping(true, [9; 8]), t0()).unwrap();
    assert!(events(&mut c).is_empty());
    assert!(drain(&mut c).is_empty());
}

#[test]
fn s6_1_data_on_stream_0_is_connection_error_protocol() {
    let (mut s, _) = server();
    let r = s.recv_frame(data(0, b"x", false), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_2_headers_on_stream_0_is_connection_error_protocol() {
    let (mut s, mut p) = server();
    let b = p.block(GET);
    let r = s.recv_frame(headers(0, b, true), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_4_rst_stream_on_stream_0_is_connection_error_protocol() {
    let (mut s, _) = server();
    let r = s.recv_frame(rst(0, ErrorCode::CANCEL), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_reserved_local_accepts_window_update_and_rst() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    let promised = s.push_promise(StreamId(1), push_request("/a")).unwrap();
    drain(&mut s);
    s.recv_frame(window_update(promised.0, 100), t0()).unwrap();
    assert!(drain(&mut s).is_empty());
    s.recv_frame(rst(promised.0, ErrorCode::CANCEL), t0())
        .unwrap();
    assert_eq!(s.stream_state(promised), None);
    assert!(events(&mut s)
        .iter()
        .any(|e| matches!(e, Event::RecvReset { id, code: ErrorCode::CANCEL, remote: true, .. } if *id == promised)));
}

#[test]
fn s5_1_headers_on_reserved_local_is_connection_error_protocol() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    let promised = s.push_promise(StreamId(1), push_request("/a")).unwrap();
    let b = p.block(GET);
    let r = s.recv_frame(headers(promised.0, b, true), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_rst_stream_on_reserved_remote_closes_it() {
    let (mut c, mut p) = client_with_open_stream();
    let f = push_frame(&mut p, 1, 2, GET);
    c.recv_frame(f, t0()).unwrap();
    events(&mut c);
    c.recv_frame(rst(2, ErrorCode::CANCEL), t0()).unwrap();
    assert_eq!(c.stream_state(StreamId(2)), None);
}

fn priority_frame(id: u32, dependency: u32) -> Frame {
    Frame::Priority(Priority {
        stream_id: StreamId(id),
        spec: PrioritySpec {
            dependency: StreamId(dependency),
            exclusive: false,
            weight: 15,
        },
    })
}

fn headers_depending_on(id: u32, block: Bytes, dependency: u32, end_headers: bool) -> Frame {
    Frame::Headers(Headers {
        stream_id: StreamId(id),
        block,
        end_stream: true,
        end_headers,
        priority: Some(PrioritySpec {
            dependency: StreamId(dependency),
            exclusive: false,
            weight: 10,
        }),
        pad_len: None,
    })
}

#[test]
fn rfc7540_s5_3_1_priority_on_idle_stream_depending_on_itself_is_reset_on_that_stream() {
    let (mut s, mut p) = server();
    s.recv_frame(priority_frame(3, 3), t0()).unwrap();
    let frames = drain(&mut s);
    assert_eq!(frames, vec![rst(3, ErrorCode::PROTOCOL_ERROR)]);
    assert!(events(&mut s).is_empty(), "the user never knew stream 3");
    // The connection goes on.
    s.recv_frame(headers(5, p.block(GET), true), t0()).unwrap();
    assert!(matches!(events(&mut s)[..], [Event::RecvHeaders { id, .. }] if id == StreamId(5)));
    assert!(s.error().is_none());
}

#[test]
fn rfc7540_s5_3_1_priority_on_open_stream_depending_on_itself_resets_it() {
    let (mut s, _) = server_with_open_stream();
    s.recv_frame(priority_frame(1, 1), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
    assert!(matches!(
        events(&mut s)[..],
        [Event::RecvReset { id, code: ErrorCode::PROTOCOL_ERROR, remote: false, .. }] if id == StreamId(1)
    ));
    assert_eq!(s.stream_state(StreamId(1)), None);
}

#[test]
fn rfc7540_s5_3_1_headers_depending_on_itself_is_reset_and_hpack_stays_in_sync() {
    let (mut s, mut p) = server();
    // The peer's encoder indexes these fields: the next block refers to
    // them, so our decoder must have decoded the refused one.
    let fields: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "example.com"),
        (":path", "/"),
        ("x-custom", "a value worth indexing"),
    ];
    s.recv_frame(headers_depending_on(1, p.block(fields), 1, true), t0())
        .unwrap();
    assert_eq!(drain(&mut s), vec![rst(1, ErrorCode::PROTOCOL_ERROR)]);
    assert!(events(&mut s).is_empty(), "the request is not delivered");
    s.recv_frame(headers(3, p.block(fields), true), t0())
        .unwrap();
    match &events(&mut s)[..] {
        [Event::RecvHeaders { id, head, .. }] => {
            let Head::Request(r) = &**head else {
                panic!("{head:?}")
            };
            assert_eq!(*id, StreamId(3));
            assert_eq!(r.headers()["x-custom"], "a value worth indexing");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc7540_s5_3_1_headers_with_continuation_depending_on_itself_is_reset() {
    let (mut s, mut p) = server();
    let block = p.block(GET);
    let (a, b) = block.split_at(3);
    s.recv_frame(
        headers_depending_on(1, Bytes::copy_from_slice(a), 1, false),
        t0(),
    )
    .unwrap();
    s.recv_frame(
        Frame::Continuation(Continuation {
            stream_id: StreamId(1),
            block: Bytes::copy_from_slice(b),
            end_headers: true,
        }),
        t0(),
    )
    .unwrap();
    assert_eq!(drain(&mut s), vec![rst(1, ErrorCode::PROTOCOL_ERROR)]);
    assert!(events(&mut s).is_empty());
}

#[test]
fn rfc7540_s5_3_1_trailers_depending_on_itself_reset_the_stream() {
    let (mut s, mut p) = server_with_open_stream();
    s.recv_frame(
        headers_depending_on(1, p.block(&[("x-trailer", "1")]), 1, true),
        t0(),
    )
    .unwrap();
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
fn rfc7540_s5_3_1_depending_on_another_stream_is_still_fine() {
    let (mut s, mut p) = server();
    s.recv_frame(headers_depending_on(1, p.block(GET), 3, true), t0())
        .unwrap();
    assert!(matches!(events(&mut s)[..], [Event::RecvHeaders { .. }]));
    s.recv_frame(priority_frame(3, 1), t0()).unwrap();
    assert!(drain(&mut s).is_empty());
}
