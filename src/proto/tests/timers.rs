//! `Config::timeouts` on a fake clock: handshake (§3.4), idle (§6.8),
//! keepalive (§6.7) and stalled streams (§5.2, §6.9). Each deadline fires
//! exactly when due (not a nanosecond before), activity pushes it back, and
//! `poll_timeout` names the earliest.

use super::*;

const NS: Duration = Duration::from_nanos(1);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Only the given timeouts on.
fn with(timeouts: Timeouts) -> Config {
    Config {
        timeouts,
        ..Config::default()
    }
}

fn only_handshake(d: u64) -> Config {
    with(Timeouts {
        handshake: Some(secs(d)),
        ..Timeouts::disabled()
    })
}

fn only_idle(d: u64) -> Config {
    with(Timeouts {
        idle: Some(secs(d)),
        ..Timeouts::disabled()
    })
}

fn only_keepalive(interval: u64, timeout: u64) -> Config {
    with(Timeouts {
        keepalive: Some(Keepalive {
            interval: secs(interval),
            timeout: secs(timeout),
        }),
        ..Timeouts::disabled()
    })
}

fn only_stalled(d: u64) -> Config {
    with(Timeouts {
        stalled_stream: Some(secs(d)),
        ..Timeouts::disabled()
    })
}

fn pings(frames: &[Frame]) -> Vec<Ping> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Ping(p) => Some(*p),
            _ => None,
        })
        .collect()
}

// ------------------------------------------------------------ handshake

#[test]
fn s3_4_silent_peer_is_closed_at_the_handshake_deadline_not_before() {
    let mut s = Connection::new(Role::Server, only_handshake(5), t0());
    drain(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0() + secs(5)));
    s.handle_timeout(t0() + secs(5) - NS).unwrap();
    assert!(drain(&mut s).is_empty(), "nothing before the deadline");
    let r = s.handle_timeout(t0() + secs(5));
    assert_eq!(s.timed_out(), Some(Timeout::Handshake));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn s3_4_handshake_deadline_beats_settings_timeout_when_both_are_due() {
    // Default handshake (10 s) and SETTINGS_TIMEOUT (10 s) fall together
    // for a peer that sent nothing: the cause reported is the handshake.
    let mut s = Connection::new(Role::Server, Config::default(), t0());
    drain(&mut s);
    let r = s.handle_timeout(t0() + secs(10));
    assert_eq!(s.timed_out(), Some(Timeout::Handshake));
    let e = r.unwrap_err();
    assert!(e.reason.contains("preface"), "{e}");
}

#[test]
fn s3_4_peer_settings_clear_the_handshake_deadline() {
    let mut c = Connection::new(Role::Client, only_handshake(5), t0());
    drain(&mut c);
    c.recv_frame(settings(vec![]), t0() + secs(4)).unwrap();
    c.recv_frame(settings_ack(), t0() + secs(4)).unwrap();
    drain(&mut c);
    assert_eq!(c.poll_timeout(), None, "no deadline left");
    c.handle_timeout(t0() + secs(60)).unwrap();
    assert!(drain(&mut c).is_empty());
    assert_eq!(c.timed_out(), None);
}

// ------------------------------------------------------------ idle

#[test]
fn s6_8_idle_server_goes_away_in_two_steps_exactly_at_the_deadline() {
    let (mut s, _) = server_with(only_idle(60), vec![]);
    assert_eq!(s.poll_timeout(), Some(t0() + secs(60)));
    s.handle_timeout(t0() + secs(60) - NS).unwrap();
    assert!(drain(&mut s).is_empty(), "nothing before the deadline");
    s.handle_timeout(t0() + secs(60)).unwrap();
    assert_eq!(s.timed_out(), Some(Timeout::Idle));
    let frames = drain(&mut s);
    assert!(
        matches!(&frames[..], [Frame::GoAway(g), Frame::Ping(p)]
            if g.last_stream_id == StreamId::MAX && g.error_code == ErrorCode::NO_ERROR && !p.ack),
        "{frames:?}"
    );
    assert!(!s.is_finished(), "waits for the PING ACK");
    let sent = pings(&frames)[0];
    s.recv_frame(ping(true, sent.payload), t0() + secs(61))
        .unwrap();
    let frames = drain(&mut s);
    assert_eq!(goaway_code(&frames), Some(ErrorCode::NO_ERROR));
    assert!(s.is_finished());
    assert_eq!(s.poll_timeout(), None, "fires once");
}

#[test]
fn s6_8_idle_request_crossing_the_first_goaway_is_served() {
    let (mut s, mut p) = server_with(only_idle(60), vec![]);
    s.handle_timeout(t0() + secs(60)).unwrap();
    drain(&mut s);
    s.recv_frame(headers(1, p.block(GET), true), t0() + secs(60))
        .unwrap();
    assert!(matches!(&events(&mut s)[..], [Event::RecvHeaders { .. }]));
    s.send_headers(StreamId(1), response(204), true, t0())
        .unwrap();
    assert!(!s.is_finished(), "the final GOAWAY is not out yet");
}

#[test]
fn s6_8_idle_client_sends_one_goaway() {
    let (mut c, _) = client_with(only_idle(60), vec![]);
    c.handle_timeout(t0() + secs(60)).unwrap();
    let frames = drain(&mut c);
    assert!(
        matches!(&frames[..], [Frame::GoAway(g)]
            if g.last_stream_id == StreamId(0) && g.error_code == ErrorCode::NO_ERROR),
        "{frames:?}"
    );
    assert!(c.is_finished());
    assert_eq!(c.timed_out(), Some(Timeout::Idle));
}

#[test]
fn s6_8_idle_does_not_fire_while_a_stream_is_open_and_restarts_when_it_ends() {
    let (mut s, mut p) = server_with(only_idle(60), vec![]);
    s.recv_frame(headers(1, p.block(POST), false), t0() + secs(10))
        .unwrap();
    assert_eq!(s.poll_timeout(), None, "a stream is open");
    s.handle_timeout(t0() + secs(100)).unwrap();
    assert!(drain(&mut s).is_empty());
    s.recv_frame(data(1, b"x", true), t0() + secs(100)).unwrap();
    assert_eq!(s.poll_timeout(), None, "the stream is still open");
    // The response, sent at 120 s, ends the last stream: idle from then.
    s.send_headers(StreamId(1), response(204), true, t0() + secs(120))
        .unwrap();
    drain(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0() + secs(180)));
    s.handle_timeout(t0() + secs(180) - NS).unwrap();
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(t0() + secs(180)).unwrap();
    assert!(goaway_code(&drain(&mut s)).is_some());
}

#[test]
fn s6_8_a_stream_pushes_idleness_back() {
    let (mut s, mut p) = server_with(only_idle(60), vec![]);
    // A stream opened and closed at 50 s: idle from 50 s.
    s.recv_frame(headers(1, p.block(GET), true), t0() + secs(50))
        .unwrap();
    s.recv_frame(rst(1, ErrorCode::CANCEL), t0() + secs(50))
        .unwrap();
    assert_eq!(s.poll_timeout(), Some(t0() + secs(110)));
    s.handle_timeout(t0() + secs(60)).unwrap();
    assert!(drain(&mut s).is_empty(), "not idle for 60 s yet");
    s.handle_timeout(t0() + secs(110)).unwrap();
    assert!(goaway_code(&drain(&mut s)).is_some());
}

#[test]
fn s6_8_idle_is_not_watched_after_a_goaway_either_way() {
    let (mut c, _) = client_with(only_idle(60), vec![]);
    c.recv_frame(
        Frame::GoAway(GoAway {
            last_stream_id: StreamId(0),
            error_code: ErrorCode::NO_ERROR,
            debug_data: Bytes::new(),
        }),
        t0(),
    )
    .unwrap();
    assert_eq!(c.poll_timeout(), None);
    let (mut s, _) = server_with(only_idle(60), vec![]);
    s.go_away(ErrorCode::NO_ERROR, Bytes::new(), t0());
    assert_eq!(s.poll_timeout(), None);
}

// ------------------------------------------------------------ keepalive

#[test]
fn s6_7_keepalive_ping_after_silence_and_the_ack_clears_it() {
    let (mut s, _) = server_with(only_keepalive(30, 20), vec![]);
    assert_eq!(s.poll_timeout(), Some(t0() + secs(30)));
    s.handle_timeout(t0() + secs(30) - NS).unwrap();
    assert!(drain(&mut s).is_empty(), "no PING before 30 s of silence");
    s.handle_timeout(t0() + secs(30)).unwrap();
    let sent = pings(&drain(&mut s));
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].ack);
    assert_eq!(s.poll_timeout(), Some(t0() + secs(50)), "20 s to answer");
    s.recv_frame(ping(true, sent[0].payload), t0() + secs(35))
        .unwrap();
    assert!(events(&mut s).is_empty(), "our keepalive is not reported");
    assert_eq!(s.poll_timeout(), Some(t0() + secs(65)));
    s.handle_timeout(t0() + secs(50)).unwrap();
    assert!(drain(&mut s).is_empty());
    assert!(!s.is_finished());
}

#[test]
fn s6_7_keepalive_any_frame_counts_as_liveness() {
    let (mut s, _) = server_with(only_keepalive(30, 20), vec![]);
    s.recv_frame(window_update(0, 1), t0() + secs(20)).unwrap();
    assert_eq!(s.poll_timeout(), Some(t0() + secs(50)));
    s.handle_timeout(t0() + secs(30)).unwrap();
    assert!(drain(&mut s).is_empty(), "the peer spoke 10 s ago");
    // With the PING out, any frame (not only its ACK) proves the peer alive.
    s.handle_timeout(t0() + secs(50)).unwrap();
    assert_eq!(pings(&drain(&mut s)).len(), 1);
    s.recv_frame(window_update(0, 1), t0() + secs(60)).unwrap();
    s.handle_timeout(t0() + secs(70)).unwrap();
    assert!(!s.is_finished());
    assert_eq!(s.poll_timeout(), Some(t0() + secs(90)));
}

#[test]
fn s6_7_keepalive_without_an_answer_closes_the_connection() {
    let (mut s, mut p) = server_with(only_keepalive(30, 20), vec![]);
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    s.handle_timeout(t0() + secs(30)).unwrap();
    drain(&mut s);
    s.handle_timeout(t0() + secs(50) - NS).unwrap();
    assert!(drain(&mut s).is_empty());
    let r = s.handle_timeout(t0() + secs(50));
    assert_eq!(s.timed_out(), Some(Timeout::Keepalive));
    assert_conn_error(&mut s, r, ErrorCode::NO_ERROR);
}

// ------------------------------------------------------------ stalled streams

/// A server whose stream 1 has `n` bytes queued at `at` and a send
/// window of 0.
fn stalled_server(d: u64, n: usize, at: Instant) -> (Connection, Peer) {
    let (mut s, mut p) = server_with(only_stalled(d), vec![Setting::InitialWindowSize(0)]);
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.send_headers(StreamId(1), response(200), false, at)
        .unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![b'x'; n]), true, at)
        .unwrap();
    assert!(
        data_lens(&drain_at(&mut s, at)).is_empty(),
        "window 0: no DATA"
    );
    events(&mut s);
    (s, p)
}

#[test]
fn s6_9_stalled_stream_is_reset_with_cancel_at_the_deadline() {
    // The DATA is queued behind the shut window at 1 s: stalled from then.
    let (mut s, _) = stalled_server(30, 1000, t0() + secs(1));
    assert_eq!(s.poll_timeout(), Some(t0() + secs(31)));
    s.handle_timeout(t0() + secs(31) - NS).unwrap();
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(t0() + secs(31)).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::CANCEL));
    assert!(matches!(
        &events(&mut s)[..],
        [Event::RecvReset { id, code: ErrorCode::CANCEL, remote: false, .. }] if *id == StreamId(1)
    ));
    assert_eq!(s.queued_bytes(StreamId(1)), 0, "its buffer is freed");
    assert_eq!(s.stream_state(StreamId(1)), None);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn s6_9_a_stream_that_drains_is_not_reset() {
    let (mut s, _) = stalled_server(30, 1000, t0());
    s.recv_frame(window_update(1, 1000), t0() + secs(20))
        .unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 1000, true)]);
    s.handle_timeout(t0() + secs(31)).unwrap();
    assert!(drain(&mut s).is_empty());
    assert!(!events(&mut s)
        .iter()
        .any(|e| matches!(e, Event::RecvReset { .. })));
}

#[test]
fn s6_9_a_slow_reader_restarts_the_stall_clock() {
    let (mut s, _) = stalled_server(30, 1000, t0());
    // 500 bytes of credit at 20 s: half is sent, the stream stalls again.
    s.recv_frame(window_update(1, 500), t0() + secs(20))
        .unwrap();
    assert_eq!(
        data_lens(&drain_at(&mut s, t0() + secs(20))),
        vec![(1, 500, false)]
    );
    assert_eq!(s.poll_timeout(), Some(t0() + secs(50)));
    s.handle_timeout(t0() + secs(31)).unwrap();
    assert!(drain(&mut s).is_empty(), "it read 20 s ago");
    s.handle_timeout(t0() + secs(50)).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::CANCEL));
}

#[test]
fn s6_9_a_shut_connection_window_resets_the_streams_with_data_queued() {
    // Stream windows are large; the connection window (65,535) is not
    // raised by the peer.
    let (mut s, mut p) = server_with(only_stalled(30), vec![Setting::InitialWindowSize(1 << 20)]);
    for id in [1, 3, 5] {
        s.recv_frame(headers(id, p.block(GET), true), t0()).unwrap();
        // Incremental (RFC 9218 §4.2): the streams take turns.
        s.set_priority(StreamId(id), crate::priority::Priority::new(3, true));
    }
    s.send_headers(StreamId(1), response(200), false, t0())
        .unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![b'x'; 100_000]), true, t0())
        .unwrap();
    s.send_headers(StreamId(3), response(200), false, t0())
        .unwrap();
    s.send_data(StreamId(3), Bytes::from(vec![b'x'; 10]), true, t0())
        .unwrap();
    let sent: usize = data_lens(&drain(&mut s)).iter().map(|d| d.1).sum();
    assert_eq!(sent, 65_535);
    assert_eq!(s.poll_timeout(), Some(t0() + secs(30)));
    s.handle_timeout(t0() + secs(30)).unwrap();
    let frames = drain(&mut s);
    // Stream 3's 10 bytes went out in turn; stream 1 still had DATA queued.
    assert_eq!(rst_code(&frames, 1), Some(ErrorCode::CANCEL), "{frames:?}");
    assert_eq!(rst_code(&frames, 3), None, "stream 3 had sent everything");
    assert_eq!(rst_code(&frames, 5), None, "stream 5 has nothing queued");
    assert!(s.stream_state(StreamId(5)).is_some());
}

#[test]
fn s6_9_connection_window_update_clears_the_connection_stall() {
    let (mut s, mut p) = server_with(only_stalled(30), vec![Setting::InitialWindowSize(1 << 20)]);
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.send_headers(StreamId(1), response(200), false, t0())
        .unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![b'x'; 70_000]), true, t0())
        .unwrap();
    drain(&mut s);
    assert_eq!(
        s.poll_timeout(),
        Some(t0() + secs(30)),
        "the connection stalled"
    );
    s.recv_frame(window_update(0, 10_000), t0() + secs(10))
        .unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 4_465, true)]);
    s.handle_timeout(t0() + secs(30)).unwrap();
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.poll_timeout(), None);
}

// ------------------------------------------------------------ all together

#[test]
fn poll_timeout_is_the_earliest_deadline() {
    let config = with(Timeouts {
        handshake: Some(secs(10)),
        idle: Some(secs(60)),
        keepalive: Some(Keepalive {
            interval: secs(30),
            timeout: secs(20),
        }),
        stalled_stream: Some(secs(5)),
    });
    let mut s = Connection::new(Role::Server, config.clone(), t0());
    drain(&mut s);
    // handshake (10 s) and SETTINGS ACK (10 s) before keepalive and idle.
    assert_eq!(s.poll_timeout(), Some(t0() + secs(10)));
    let (mut s, mut p) = server_with(config, vec![Setting::InitialWindowSize(0)]);
    assert_eq!(s.poll_timeout(), Some(t0() + secs(30)), "keepalive");
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.send_headers(StreamId(1), response(200), false, t0())
        .unwrap();
    // Queued behind the shut window at 2 s.
    s.send_data(StreamId(1), Bytes::from_static(b"x"), true, t0() + secs(2))
        .unwrap();
    drain(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0() + secs(7)), "the stalled stream");
}

#[test]
fn defaults_are_the_documented_ones() {
    let t = Config::default().timeouts;
    assert_eq!(t.handshake, Some(secs(10)));
    assert_eq!(t.idle, Some(secs(60)));
    assert_eq!(
        t.keepalive,
        Some(Keepalive {
            interval: secs(30),
            timeout: secs(20)
        })
    );
    assert_eq!(t.stalled_stream, Some(secs(30)));
}

#[test]
fn zero_durations_turn_timeouts_off() {
    let config = with(Timeouts {
        handshake: Some(Duration::ZERO),
        idle: Some(Duration::ZERO),
        keepalive: Some(Keepalive {
            interval: Duration::ZERO,
            timeout: secs(20),
        }),
        stalled_stream: Some(Duration::ZERO),
    });
    let (mut s, _) = server_with(config, vec![]);
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(t0() + secs(3600)).unwrap();
    assert!(drain(&mut s).is_empty());
}

#[test]
fn s6_9_stall_starts_when_data_is_queued_behind_a_shut_window() {
    // A shut window with DATA queued makes `wants_transmit` false: a driver
    // never calls `poll_transmit`, yet the stall clock must start.
    let (mut s, mut p) = server_with(only_stalled(30), vec![Setting::InitialWindowSize(0)]);
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.send_headers(StreamId(1), response(200), false, t0())
        .unwrap();
    s.send_data(
        StreamId(1),
        Bytes::from_static(b"xyz"),
        true,
        t0() + secs(2),
    )
    .unwrap();
    assert!(!s.wants_transmit() || s.has_pending_control());
    assert_eq!(s.poll_timeout(), Some(t0() + secs(32)));
}

#[test]
fn s6_9_2_settings_shutting_a_window_start_the_stall_clock() {
    let (mut s, mut p) = server_with(only_stalled(30), vec![]);
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.send_headers(StreamId(1), response(200), false, t0())
        .unwrap();
    s.send_data(StreamId(1), Bytes::from_static(b"queued"), true, t0())
        .unwrap();
    assert_eq!(s.poll_timeout(), None, "the window is open");
    // Before anything is written, the peer shuts every stream window.
    s.recv_frame(
        settings(vec![Setting::InitialWindowSize(0)]),
        t0() + secs(1),
    )
    .unwrap();
    assert_eq!(s.poll_timeout(), Some(t0() + secs(31)));
    let frames = drain(&mut s);
    assert!(data_lens(&frames).is_empty(), "{frames:?}");
    s.handle_timeout(t0() + secs(31)).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::CANCEL));
}
