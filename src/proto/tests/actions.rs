//! User actions and the errors they answer: opening streams (§5.1.1, §5.1.2), sending messages (§8), reset (§6.4), ping (§6.7).

use super::*;

#[test]
fn s5_1_1_client_stream_ids_are_odd_and_increasing() {
    let (mut c, _) = client();
    let a = c.open_stream().unwrap();
    let b = c.open_stream().unwrap();
    assert_eq!((a.0, b.0), (1, 3));
}

#[test]
fn s5_1_1_headers_on_lower_local_id_after_higher_is_refused() {
    let (mut c, _) = client();
    let a = c.open_stream().unwrap();
    let b = c.open_stream().unwrap();
    c.send_headers(b, get_request("http://example.com/"), true, t0())
        .unwrap();
    assert_eq!(
        c.send_headers(a, get_request("http://example.com/"), true, t0()),
        Err(UserError::StreamIdOrder(a))
    );
}

#[test]
fn s5_1_1_server_cannot_open_streams() {
    let (mut s, _) = server();
    assert_eq!(s.open_stream(), Err(UserError::WrongRole(Role::Client)));
}

#[test]
fn s5_1_2_open_stream_respects_peer_max_concurrent_streams() {
    let (mut c, _) = client_with(Config::default(), vec![Setting::MaxConcurrentStreams(1)]);
    let a = c.open_stream().unwrap();
    assert!(!c.can_open_stream());
    assert_eq!(c.open_stream(), Err(UserError::StreamLimit));
    c.send_headers(a, get_request("http://example.com/"), true, t0())
        .unwrap();
    drain(&mut c);
    let mut p = Peer::new();
    let b = p.block(&[(":status", "200")]);
    c.recv_frame(headers(1, b, true), t0()).unwrap();
    assert!(c.can_open_stream());
}

#[test]
fn s5_1_2_user_reset_of_unsent_stream_frees_the_slot_without_rst() {
    let (mut c, _) = client_with(Config::default(), vec![Setting::MaxConcurrentStreams(1)]);
    let a = c.open_stream().unwrap();
    c.reset(a, ErrorCode::CANCEL, t0()).unwrap();
    assert!(
        drain(&mut c).is_empty(),
        "no RST_STREAM on an idle stream (§6.4)"
    );
    assert!(c.can_open_stream());
}

#[test]
fn send_buffer_is_bounded_per_stream() {
    let config = Config {
        max_send_buffer_per_stream: 1000,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![Setting::InitialWindowSize(0)]);
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.send_headers(StreamId(1), response(200), false, t0())
        .unwrap();
    // a send on an empty queue is always accepted, whatever its size
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 5000]), false, t0())
        .unwrap();
    assert_eq!(
        s.send_data(StreamId(1), Bytes::from_static(b"x"), false, t0()),
        Err(UserError::SendBufferFull(StreamId(1)))
    );
    assert_eq!(s.queued_bytes(StreamId(1)), 5000);
}

#[test]
fn send_queue_is_bounded_in_chunks() {
    let (mut s, mut p) = server_with(Config::default(), vec![Setting::InitialWindowSize(0)]);
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.send_headers(StreamId(1), response(200), false, t0())
        .unwrap();
    for _ in 0..MAX_QUEUED_CHUNKS {
        s.send_data(StreamId(1), Bytes::from_static(b"x"), false, t0())
            .unwrap();
    }
    assert_eq!(
        s.send_data(StreamId(1), Bytes::from_static(b"x"), false, t0()),
        Err(UserError::SendBufferFull(StreamId(1)))
    );
}

#[test]
fn s8_1_1_sending_more_or_less_than_our_content_length_is_user_error() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    let resp = Response::builder()
        .status(200)
        .header("content-length", "5")
        .body(())
        .unwrap();
    s.send_headers(StreamId(1), Head::Response(resp), false, t0())
        .unwrap();
    assert!(matches!(
        s.send_data(StreamId(1), Bytes::from_static(b"toolong"), false, t0()),
        Err(UserError::Malformed(_))
    ));
    s.send_data(StreamId(1), Bytes::from_static(b"hel"), false, t0())
        .unwrap();
    assert!(matches!(
        s.send_data(StreamId(1), Bytes::from_static(b"l"), true, t0()),
        Err(UserError::Malformed(_))
    ));
    s.send_data(StreamId(1), Bytes::from_static(b"lo"), true, t0())
        .unwrap();
}

#[test]
fn s8_1_1_response_to_head_keeps_content_length_without_data() {
    let (mut s, mut p) = server();
    let mut fields = GET.to_vec();
    fields[0] = (":method", "HEAD");
    s.recv_frame(headers(1, p.block(&fields), true), t0())
        .unwrap();
    let resp = Response::builder()
        .status(200)
        .header("content-length", "1000")
        .body(())
        .unwrap();
    s.send_headers(StreamId(1), Head::Response(resp), false, t0())
        .unwrap();
    s.send_data(StreamId(1), Bytes::new(), true, t0()).unwrap();
}

#[test]
fn s8_1_send_after_end_stream_is_refused() {
    let (mut s, _) = server_responding(vec![]);
    s.send_data(StreamId(1), Bytes::from_static(b"x"), true, t0())
        .unwrap();
    assert!(matches!(
        s.send_data(StreamId(1), Bytes::from_static(b"y"), false, t0()),
        Err(UserError::InvalidState { .. })
    ));
    assert!(matches!(
        s.send_trailers(StreamId(1), HeaderMap::new(), t0()),
        Err(UserError::InvalidState { .. })
    ));
}

#[test]
fn s6_4_user_reset_sends_rst_and_drops_queue() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(0)]);
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 100]), true, t0())
        .unwrap();
    s.reset(StreamId(1), ErrorCode::INTERNAL_ERROR, t0())
        .unwrap();
    s.recv_frame(settings(vec![Setting::InitialWindowSize(1000)]), t0())
        .unwrap();
    let frames = drain(&mut s);
    assert_eq!(rst_code(&frames, 1), Some(ErrorCode::INTERNAL_ERROR));
    assert!(data_lens(&frames).is_empty());
    assert_eq!(s.active_streams(), 0);
}

#[test]
fn s6_4_reset_of_unknown_stream_is_user_error() {
    let (mut s, _) = server();
    assert_eq!(
        s.reset(StreamId(9), ErrorCode::CANCEL, t0()),
        Err(UserError::UnknownStream(StreamId(9)))
    );
}

#[test]
fn s6_7_user_ping_reports_ack_and_is_bounded() {
    let (mut c, _) = client();
    c.ping(*b"abcdefgh").unwrap();
    assert_eq!(
        drain(&mut c),
        vec![Frame::Ping(Ping {
            ack: false,
            payload: *b"abcdefgh"
        })]
    );
    c.recv_frame(ping(true, *b"abcdefgh"), t0()).unwrap();
    assert!(matches!(events(&mut c)[..], [Event::PingAck { payload }] if &payload == b"abcdefgh"));
    for i in 0..Config::default().max_pending_pings {
        c.ping([i as u8; 8]).unwrap();
    }
    assert_eq!(c.ping([0xff; 8]), Err(UserError::TooManyPings));
}

#[test]
fn s8_2_2_sending_connection_specific_field_is_user_error() {
    let (mut c, _) = client();
    let id = c.open_stream().unwrap();
    let req = Request::get("http://example.com/")
        .header("connection", "close")
        .body(())
        .unwrap();
    assert!(matches!(
        c.send_headers(id, Head::Request(req), true, t0()),
        Err(UserError::Malformed(_))
    ));
    assert!(drain(&mut c).is_empty());
}

#[test]
fn s8_1_sending_response_as_client_is_wrong_role() {
    let (mut c, _) = client();
    let id = c.open_stream().unwrap();
    assert_eq!(
        c.send_headers(id, response(200), true, t0()),
        Err(UserError::WrongRole(Role::Server))
    );
}

#[test]
fn s8_1_informational_response_cannot_end_stream() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    assert!(matches!(
        s.send_headers(StreamId(1), response(103), true, t0()),
        Err(UserError::Malformed(_))
    ));
    s.send_headers(StreamId(1), response(103), false, t0())
        .unwrap();
    s.send_headers(StreamId(1), response(200), true, t0())
        .unwrap();
    let n = drain(&mut s)
        .iter()
        .filter(|f| matches!(f, Frame::Headers(_)))
        .count();
    assert_eq!(n, 2);
}

#[test]
fn s8_1_second_final_response_is_refused() {
    let (mut s, _) = server_responding(vec![]);
    assert!(matches!(
        s.send_headers(StreamId(1), response(200), true, t0()),
        Err(UserError::InvalidState { .. })
    ));
}

#[test]
fn s6_5_2_peer_max_header_list_size_is_respected_for_sends() {
    let (mut c, _) = client_with(Config::default(), vec![Setting::MaxHeaderListSize(100)]);
    let id = c.open_stream().unwrap();
    let req = Request::get("http://example.com/")
        .header("x-long", "v".repeat(200))
        .body(())
        .unwrap();
    assert!(matches!(
        c.send_headers(id, Head::Request(req), true, t0()),
        Err(UserError::Malformed(_))
    ));
}

#[test]
fn s8_2_sensitive_values_are_never_indexed() {
    let (mut c, mut p) = client();
    let id = c.open_stream().unwrap();
    let mut v = HeaderValue::from_static("secret-token-value");
    v.set_sensitive(true);
    let req = Request::get("http://example.com/")
        .header("x-api-key", v)
        .body(())
        .unwrap();
    c.send_headers(id, Head::Request(req), true, t0()).unwrap();
    let frames = drain(&mut c);
    let Frame::Headers(h) = &frames[0] else {
        panic!()
    };
    let mut out = Vec::new();
    p.dec.decode(&h.block, &mut out).unwrap();
    let f = out.iter().find(|f| &f.name[..] == b"x-api-key").unwrap();
    assert!(f.never_index);
}

#[test]
fn s5_1_user_reset_of_reserved_remote_push_sends_rst() {
    let (mut c, mut p) = client_with_open_stream();
    let f = push_frame(&mut p, 1, 2, GET);
    c.recv_frame(f, t0()).unwrap();
    c.reset(StreamId(2), ErrorCode::CANCEL, t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 2), Some(ErrorCode::CANCEL));
    // the pushed response in flight is ignored
    let b = p.block(&[(":status", "200")]);
    c.recv_frame(headers(2, b, false), t0()).unwrap();
    c.recv_frame(data(2, b"x", true), t0()).unwrap();
    assert!(drain(&mut c).is_empty());
}

#[test]
fn s5_1_2_peer_lowering_max_concurrent_streams_blocks_new_streams() {
    let (mut c, _) = client();
    let a = c.open_stream().unwrap();
    c.send_headers(a, get_request("http://example.com/"), true, t0())
        .unwrap();
    c.recv_frame(settings(vec![Setting::MaxConcurrentStreams(1)]), t0())
        .unwrap();
    assert_eq!(c.open_stream(), Err(UserError::StreamLimit));
    c.recv_frame(settings(vec![Setting::MaxConcurrentStreams(0)]), t0())
        .unwrap();
    assert!(!c.can_open_stream());
}

#[test]
fn s6_5_2_open_capacity_assumes_100_streams_until_the_peers_settings() {
    // No SETTINGS from the peer yet: its limit is "unlimited" on paper,
    // but a burst beyond what servers allow would only come back refused.
    let mut c = Connection::new(Role::Client, Config::default(), t0());
    assert_eq!(c.open_capacity(), Ok(100));
    c.recv_frame(settings(vec![Setting::MaxConcurrentStreams(1000)]), t0())
        .unwrap();
    assert_eq!(
        c.open_capacity(),
        Ok(1000),
        "the peer's own value, once known"
    );
    let (c, _) = client();
    assert_eq!(
        c.open_capacity(),
        Ok(u32::MAX as usize),
        "SETTINGS without a limit"
    );
}
