//! GOAWAY (§6.8), plain and in two steps, on a fake clock.

use super::*;

#[test]
fn s6_8_last_stream_id_never_increases() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    s.go_away(ErrorCode::NO_ERROR, Bytes::new(), t0());
    drain(&mut s);
    s.recv_frame(headers(3, p.block(GET), true), t0()).unwrap(); // ignored
    let r = s
        .recv_frame(data(1, b"x", false).clone(), t0())
        .and_then(|_| {
            s.recv_frame(
                Frame::Continuation(Continuation {
                    stream_id: StreamId(1),
                    block: Bytes::new(),
                    end_headers: true,
                }),
                t0(),
            )
        });
    assert!(r.is_err());
    let frames = drain(&mut s);
    assert!(
        matches!(&frames[..], [Frame::GoAway(g)] if g.last_stream_id == StreamId(1)),
        "{frames:?}"
    );
}

#[test]
fn s6_8_go_away_carries_last_peer_stream_and_ignores_newer_ones() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.recv_frame(headers(3, p.block(GET), true), t0()).unwrap();
    events(&mut s);
    s.go_away(ErrorCode::NO_ERROR, Bytes::from_static(b"bye"), t0());
    let frames = drain(&mut s);
    assert_eq!(
        frames,
        vec![Frame::GoAway(GoAway {
            last_stream_id: StreamId(3),
            error_code: ErrorCode::NO_ERROR,
            debug_data: Bytes::from_static(b"bye"),
        })]
    );
    // a newer stream is ignored (HPACK still decoded)
    s.recv_frame(headers(5, p.block(GET), false), t0()).unwrap();
    s.recv_frame(data(5, b"x", true), t0()).unwrap();
    assert!(events(&mut s).is_empty());
    assert!(!s.is_finished(), "streams 1 and 3 are still open");
    s.send_headers(StreamId(1), response(200), true, t0())
        .unwrap();
    s.send_headers(StreamId(3), response(200), true, t0())
        .unwrap();
    assert!(s.is_finished());
}

#[test]
fn s6_8_goaway_received_refuses_streams_above_last_id() {
    let (mut c, mut p) = client();
    let ids: Vec<StreamId> = (0..3).map(|_| c.open_stream().unwrap()).collect();
    for id in &ids {
        c.send_headers(*id, get_request("http://example.com/"), true, t0())
            .unwrap();
    }
    drain(&mut c);
    c.recv_frame(
        Frame::GoAway(GoAway {
            last_stream_id: StreamId(1),
            error_code: ErrorCode::NO_ERROR,
            debug_data: Bytes::new(),
        }),
        t0(),
    )
    .unwrap();
    let evs = events(&mut c);
    assert!(matches!(
        evs[0],
        Event::GoAway {
            last_stream_id: StreamId(1),
            ..
        }
    ));
    let refused: Vec<u32> = evs
        .iter()
        .filter_map(|e| match e {
            Event::RecvReset {
                id,
                code: ErrorCode::REFUSED_STREAM,
                remote: true,
                ..
            } => Some(id.0),
            _ => None,
        })
        .collect();
    assert_eq!(refused, vec![3, 5]);
    assert_eq!(c.open_stream(), Err(UserError::GoingAway));
    // stream 1 finishes normally
    let b = p.block(&[(":status", "200")]);
    c.recv_frame(headers(1, b, true), t0()).unwrap();
    assert!(c.is_finished());
}

#[test]
fn s6_8_user_actions_after_connection_error_fail_closed() {
    let (mut s, _) = server();
    let _ = s.recv_frame(data(1, b"x", false), t0());
    assert_eq!(s.ping([0; 8]), Err(UserError::Closed));
    assert!(s.recv_frame(settings(vec![]), t0()).is_err());
}

#[test]
fn s6_8_second_goaway_with_lower_last_id_refuses_more_streams() {
    let (mut c, _) = client();
    let ids: Vec<StreamId> = (0..3).map(|_| c.open_stream().unwrap()).collect();
    for id in &ids {
        c.send_headers(*id, get_request("http://example.com/"), true, t0())
            .unwrap();
    }
    for last in [5, 1] {
        c.recv_frame(
            Frame::GoAway(GoAway {
                last_stream_id: StreamId(last),
                error_code: ErrorCode::NO_ERROR,
                debug_data: Bytes::new(),
            }),
            t0(),
        )
        .unwrap();
    }
    let refused = events(&mut c)
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::RecvReset {
                    code: ErrorCode::REFUSED_STREAM,
                    ..
                }
            )
        })
        .count();
    assert_eq!(refused, 2);
    assert_eq!(c.active_streams(), 1);
}

#[test]
fn s6_8_goaway_with_error_code_is_reported() {
    let (mut c, _) = client_with_open_stream();
    c.recv_frame(
        Frame::GoAway(GoAway {
            last_stream_id: StreamId(0),
            error_code: ErrorCode::ENHANCE_YOUR_CALM,
            debug_data: Bytes::from_static(b"slow down"),
        }),
        t0(),
    )
    .unwrap();
    let evs = events(&mut c);
    assert!(
        matches!(&evs[0], Event::GoAway { code: ErrorCode::ENHANCE_YOUR_CALM, debug_data, .. } if &debug_data[..] == b"slow down")
    );
    assert!(matches!(
        evs[1],
        Event::RecvReset {
            id: StreamId(1),
            code: ErrorCode::REFUSED_STREAM,
            remote: true,
            ..
        }
    ));
    assert!(c.is_finished());
}

#[test]
fn s6_8_go_away_without_streams_is_finished_at_once() {
    let (mut s, _) = server();
    assert!(!s.is_finished());
    s.go_away(ErrorCode::NO_ERROR, Bytes::new(), t0());
    assert!(s.is_finished());
    assert!(matches!(&drain(&mut s)[..], [Frame::GoAway(g)] if g.last_stream_id == StreamId(0)));
}

#[test]
fn s6_8_two_step_shutdown_accepts_in_flight_streams_until_the_ping_ack() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.go_away_graceful(t0());
    let frames = drain(&mut s);
    assert!(
        matches!(&frames[0], Frame::GoAway(g) if g.last_stream_id == StreamId::MAX && g.error_code == ErrorCode::NO_ERROR)
    );
    let Frame::Ping(sent) = frames[1] else {
        panic!("{frames:?}")
    };
    assert!(!sent.ack);
    // a request that was in flight is still served
    s.recv_frame(headers(3, p.block(GET), true), t0()).unwrap();
    assert_eq!(events(&mut s).len(), 2);
    assert!(!s.is_finished());
    s.recv_frame(ping(true, sent.payload), t0()).unwrap();
    assert!(matches!(&drain(&mut s)[..], [Frame::GoAway(g)] if g.last_stream_id == StreamId(3)));
    assert!(
        events(&mut s).is_empty(),
        "the internal PING is not reported"
    );
    // newer streams are now ignored; the open ones finish
    s.recv_frame(headers(5, p.block(GET), true), t0()).unwrap();
    assert!(events(&mut s).is_empty());
    s.send_headers(StreamId(1), response(204), true, t0())
        .unwrap();
    s.send_headers(StreamId(3), response(204), true, t0())
        .unwrap();
    assert!(s.is_finished());
}

#[test]
fn s6_8_two_step_shutdown_without_ping_ack_finishes_at_the_deadline() {
    let (mut s, _) = server_with(no_timeouts(), vec![]);
    s.go_away_graceful(t0());
    drain(&mut s);
    assert!(!s.is_finished());
    let deadline = s.poll_timeout().expect("shutdown deadline");
    s.handle_timeout(deadline).unwrap();
    assert!(matches!(&drain(&mut s)[..], [Frame::GoAway(g)] if g.last_stream_id == StreamId(0)));
    assert!(s.is_finished());
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn s6_8_graceful_shutdown_deadline_on_a_fake_clock() {
    // The final GOAWAY goes `settings_timeout` (10 s) after the `now` given
    // to go_away_graceful: not before, and at once when 11 s have passed.
    let (mut s, mut p) = server_with(no_timeouts(), vec![]);
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    let start = t0() + Duration::from_secs(60);
    s.go_away_graceful(start);
    drain(&mut s);
    assert_eq!(
        s.poll_timeout(),
        Some(start + Config::default().settings_timeout)
    );
    s.handle_timeout(start + Duration::from_secs(9)).unwrap();
    assert!(
        drain(&mut s).is_empty(),
        "no final GOAWAY before the deadline"
    );
    s.handle_timeout(start + Duration::from_secs(11)).unwrap();
    assert!(matches!(&drain(&mut s)[..], [Frame::GoAway(g)] if g.last_stream_id == StreamId(1)));
    assert_eq!(s.poll_timeout(), None);
    assert!(!s.is_finished(), "stream 1 still open");
    s.send_headers(StreamId(1), response(204), true, t0())
        .unwrap();
    assert!(s.is_finished());
}
