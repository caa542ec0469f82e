//! Server push (§8.4, §6.6), from both ends.

use super::*;

#[test]
fn s8_4_push_promise_is_sent_on_the_request_stream() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    let promised = s
        .push_promise(StreamId(1), push_request("/style.css"))
        .unwrap();
    assert_eq!(promised, StreamId(2));
    assert_eq!(s.stream_state(promised), Some(StreamState::ReservedLocal));
    let frames = drain(&mut s);
    let Frame::PushPromise(pp) = &frames[0] else {
        panic!("{frames:?}")
    };
    assert_eq!((pp.stream_id, pp.promised_id), (StreamId(1), StreamId(2)));
    let fields = p.decode(&pp.block);
    assert!(fields.contains(&(":path".into(), "/style.css".into())));
    s.send_headers(promised, response(200), false, t0())
        .unwrap();
    assert_eq!(
        s.stream_state(promised),
        Some(StreamState::HalfClosedRemote)
    );
    s.send_data(promised, Bytes::from_static(b"body{}"), true, t0())
        .unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(2, 6, true)]);
    assert_eq!(s.stream_state(promised), None);
}

#[test]
fn s8_4_push_promise_refused_when_peer_disabled_push() {
    let (mut s, mut p) = server_with(Config::default(), vec![Setting::EnablePush(false)]);
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    assert_eq!(
        s.push_promise(StreamId(1), push_request("/a")),
        Err(UserError::PushDisabled)
    );
}

#[test]
fn s8_4_push_promise_by_client_is_wrong_role() {
    let (mut c, _) = client_with_open_stream();
    assert_eq!(
        c.push_promise(StreamId(1), push_request("/a")),
        Err(UserError::WrongRole(Role::Server))
    );
}

#[test]
fn s8_4_1_promised_request_must_be_safe_and_cacheable() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    let post = Request::post("http://example.com/a").body(()).unwrap();
    assert!(matches!(
        s.push_promise(StreamId(1), post),
        Err(UserError::Malformed(_))
    ));
}

#[test]
fn s8_4_push_promise_only_on_open_peer_stream() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.send_headers(StreamId(1), response(200), false, t0())
        .unwrap();
    let promised = s.push_promise(StreamId(1), push_request("/a")).unwrap();
    // not on a pushed stream
    assert!(matches!(
        s.push_promise(promised, push_request("/b")),
        Err(UserError::InvalidState { .. })
    ));
    // not after the stream closed
    s.send_data(StreamId(1), Bytes::new(), true, t0()).unwrap();
    drain(&mut s);
    assert!(matches!(
        s.push_promise(StreamId(1), push_request("/c")),
        Err(UserError::UnknownStream(_))
    ));
}

#[test]
fn s8_4_client_receives_promise_then_pushed_response() {
    let (mut c, mut p) = client_with_open_stream();
    let f = push_frame(&mut p, 1, 2, GET);
    c.recv_frame(f, t0()).unwrap();
    let evs = events(&mut c);
    assert!(
        matches!(&evs[..], [Event::RecvPromise { id: StreamId(1), promised_id: StreamId(2), request }] if request.uri() == "http://example.com/")
    );
    assert_eq!(
        c.stream_state(StreamId(2)),
        Some(StreamState::ReservedRemote)
    );
    let b = p.block(&[(":status", "200")]);
    c.recv_frame(headers(2, b, false), t0()).unwrap();
    assert_eq!(
        c.stream_state(StreamId(2)),
        Some(StreamState::HalfClosedLocal)
    );
    c.recv_frame(data(2, b"pushed", true), t0()).unwrap();
    let evs = events(&mut c);
    assert_eq!(body_of(&evs, StreamId(2)), (b"pushed".to_vec(), true));
    assert!(matches!(
        evs.last(),
        Some(Event::Finished {
            id: StreamId(2),
            ..
        })
    ));
}

#[test]
fn s6_6_push_promise_when_push_disabled_is_connection_error_protocol() {
    let config = Config {
        enable_push: false,
        ..Config::default()
    };
    let (mut c, mut p) = client_with(config, vec![]);
    let id = c.open_stream().unwrap();
    c.send_headers(id, get_request("http://example.com/"), true, t0())
        .unwrap();
    let f = push_frame(&mut p, 1, 2, GET);
    let r = c.recv_frame(f, t0());
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s8_4_push_promise_received_by_server_is_connection_error_protocol() {
    let (mut s, mut p) = server_with_open_stream();
    let f = push_frame(&mut p, 1, 2, GET);
    let r = s.recv_frame(f, t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_6_promised_odd_stream_id_is_connection_error_protocol() {
    let (mut c, mut p) = client_with_open_stream();
    let f = push_frame(&mut p, 1, 3, GET);
    let r = c.recv_frame(f, t0());
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_6_promised_stream_id_reused_is_connection_error_protocol() {
    let (mut c, mut p) = client_with_open_stream();
    let f = push_frame(&mut p, 1, 4, GET);
    c.recv_frame(f, t0()).unwrap();
    let f = push_frame(&mut p, 1, 2, GET);
    let r = c.recv_frame(f, t0());
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_6_push_promise_on_idle_stream_is_connection_error_protocol() {
    let (mut c, mut p) = client();
    let f = push_frame(&mut p, 1, 2, GET);
    let r = c.recv_frame(f, t0());
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s8_4_1_promised_post_is_stream_error_on_promised_stream() {
    let (mut c, mut p) = client_with_open_stream();
    let mut fields = GET.to_vec();
    fields[0] = (":method", "POST");
    let f = push_frame(&mut p, 1, 2, &fields);
    c.recv_frame(f, t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 2), Some(ErrorCode::PROTOCOL_ERROR));
    assert!(events(&mut c).is_empty());
}

#[test]
fn s5_1_2_pushes_beyond_our_concurrency_limit_are_refused() {
    let config = Config {
        max_concurrent_streams: 1,
        ..Config::default()
    };
    let (mut c, mut p) = client_with(config, vec![]);
    let id = c.open_stream().unwrap();
    c.send_headers(id, get_request("http://example.com/"), false, t0())
        .unwrap();
    let f = push_frame(&mut p, 1, 2, GET);
    c.recv_frame(f, t0()).unwrap();
    let f = push_frame(&mut p, 1, 4, GET);
    c.recv_frame(f, t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 4), Some(ErrorCode::REFUSED_STREAM));
}

#[test]
fn s5_1_push_promise_on_stream_we_reset_is_cancelled() {
    let (mut c, mut p) = client_with_open_stream();
    c.reset(StreamId(1), ErrorCode::CANCEL, t0()).unwrap();
    drain(&mut c);
    let f = push_frame(&mut p, 1, 2, GET);
    c.recv_frame(f, t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 2), Some(ErrorCode::CANCEL));
    assert!(events(&mut c).is_empty());
}

#[test]
fn s6_6_push_promise_split_over_continuation_is_assembled() {
    let (mut c, mut p) = client_with_open_stream();
    let b = p.block(GET);
    let (a, rest) = b.split_at(2);
    c.recv_frame(
        Frame::PushPromise(PushPromise {
            stream_id: StreamId(1),
            promised_id: StreamId(2),
            block: Bytes::copy_from_slice(a),
            end_headers: false,
            pad_len: None,
        }),
        t0(),
    )
    .unwrap();
    c.recv_frame(
        Frame::Continuation(Continuation {
            stream_id: StreamId(1),
            block: Bytes::copy_from_slice(rest),
            end_headers: true,
        }),
        t0(),
    )
    .unwrap();
    assert!(matches!(
        events(&mut c)[..],
        [Event::RecvPromise {
            promised_id: StreamId(2),
            ..
        }]
    ));
}

/// §10.5: a server that floods PUSH_PROMISEs we refuse (our
/// MAX_CONCURRENT_STREAMS of reserved streams are taken and never
/// answered) is cut off once 2 x MAX_CONCURRENT_STREAMS (at least 100)
/// promises were refused in a window of 4 x that many: GOAWAY
/// ENHANCE_YOUR_CALM, as rapid reset is.
#[test]
fn s10_5_refused_push_flood_is_connection_error_enhance_your_calm() {
    let config = Config {
        max_concurrent_streams: 10,
        ..Config::default()
    };
    let (mut c, mut p) = client_with(config, vec![]);
    let id = c.open_stream().unwrap();
    c.send_headers(id, get_request("http://example.com/"), true, t0())
        .unwrap();
    drain(&mut c);
    // 10 taken (reserved), then 100 refused: all within the bound.
    let mut promised = 2;
    for _ in 0..110 {
        let f = push_frame(&mut p, 1, promised, GET);
        c.recv_frame(f, t0()).unwrap();
        promised += 2;
    }
    let frames = drain(&mut c);
    let refused = frames
        .iter()
        .filter(|f| matches!(f, Frame::RstStream(r) if r.error_code == ErrorCode::REFUSED_STREAM))
        .count();
    assert_eq!(refused, 100);
    assert!(goaway_code(&frames).is_none());
    // The 101st refusal is one too many.
    let f = push_frame(&mut p, 1, promised, GET);
    let r = c.recv_frame(f, t0());
    assert_conn_error(&mut c, r, ErrorCode::ENHANCE_YOUR_CALM);
}

/// Pushes we take and then reset before their response ended (nobody
/// wants them) count like refused ones: over the bound, the next
/// PUSH_PROMISE ends the connection.
#[test]
fn s10_5_pushes_reset_by_us_count_toward_the_flood_bound() {
    let config = Config {
        max_concurrent_streams: 10,
        ..Config::default()
    };
    let (mut c, mut p) = client_with(config, vec![]);
    let id = c.open_stream().unwrap();
    c.send_headers(id, get_request("http://example.com/"), true, t0())
        .unwrap();
    drain(&mut c);
    let mut promised = 2;
    for _ in 0..101 {
        let f = push_frame(&mut p, 1, promised, GET);
        c.recv_frame(f, t0()).unwrap();
        c.reset(StreamId(promised), ErrorCode::CANCEL, t0())
            .unwrap();
        promised += 2;
    }
    assert!(goaway_code(&drain(&mut c)).is_none());
    let f = push_frame(&mut p, 1, promised, GET);
    let r = c.recv_frame(f, t0());
    assert_conn_error(&mut c, r, ErrorCode::ENHANCE_YOUR_CALM);
}

/// Pushes that are answered are no flood, however many: refusing or
/// resetting fewer than half of each window is within the bound, and a
/// push reset after its response ended counts for nothing.
#[test]
fn s10_5_answered_pushes_and_occasional_refusals_are_not_a_flood() {
    let config = Config {
        max_concurrent_streams: 10,
        ..Config::default()
    };
    let (mut c, mut p) = client_with(config, vec![]);
    let id = c.open_stream().unwrap();
    c.send_headers(id, get_request("http://example.com/"), true, t0())
        .unwrap();
    drain(&mut c);
    let resp = p.block(&[(":status", "200")]);
    let mut promised = 2;
    for i in 0..2_000 {
        let f = push_frame(&mut p, 1, promised, GET);
        c.recv_frame(f, t0()).unwrap();
        if i % 3 == 0 {
            // One in three cancelled before its response.
            c.reset(StreamId(promised), ErrorCode::CANCEL, t0())
                .unwrap();
        } else {
            c.recv_frame(headers(promised, resp.clone(), true), t0())
                .unwrap();
        }
        promised += 2;
    }
    assert!(goaway_code(&drain(&mut c)).is_none());
    assert!(c.error().is_none());
}
