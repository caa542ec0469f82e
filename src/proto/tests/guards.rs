//! Flood limits (§10.5) and rapid reset (CVE-2023-44487), some on a fake clock.

use super::*;

#[test]
fn s6_5_settings_flood_is_enhance_your_calm() {
    let (mut s, _) = server();
    let mut r = Ok(());
    for _ in 0..=Config::default().max_pending_pings {
        r = s.recv_frame(settings(vec![]), t0());
        if r.is_err() {
            break;
        }
    }
    assert_conn_error(&mut s, r, ErrorCode::ENHANCE_YOUR_CALM);
}

#[test]
fn s6_5_settings_acks_flushed_in_time_are_not_a_flood() {
    let (mut s, _) = server();
    for _ in 0..100 {
        s.recv_frame(settings(vec![]), t0()).unwrap();
        assert_eq!(drain(&mut s), vec![settings_ack()]);
    }
}

#[test]
fn cve_2023_44487_rapid_reset_is_enhance_your_calm() {
    let config = Config {
        max_concurrent_streams: 10,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    let mut r = Ok(());
    let mut id = 1;
    for _ in 0..1000 {
        let b = p.block(GET);
        r = s.recv_frame(headers(id, b, false), t0());
        if r.is_err() {
            break;
        }
        r = s.recv_frame(rst(id, ErrorCode::CANCEL), t0());
        if r.is_err() {
            break;
        }
        id += 2;
    }
    assert!(id < 500, "stopped early ({id})");
    assert_conn_error(&mut s, r, ErrorCode::ENHANCE_YOUR_CALM);
}

#[test]
fn cve_2023_44487_resets_after_responses_are_not_counted() {
    let config = Config {
        max_concurrent_streams: 10,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    let mut id = 1;
    for _ in 0..1000 {
        s.recv_frame(headers(id, p.block(GET), false), t0())
            .unwrap();
        s.send_headers(StreamId(id), response(200), false, t0())
            .unwrap();
        s.recv_frame(rst(id, ErrorCode::CANCEL), t0()).unwrap();
        drain(&mut s);
        id += 2;
    }
}

#[test]
fn s10_5_provoked_resets_not_read_by_the_peer_are_enhance_your_calm() {
    let config = Config {
        max_concurrent_streams: 1,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    let mut r = Ok(());
    let mut id = 3;
    for _ in 0..=MAX_PENDING_RESETS {
        let b = p.block(POST);
        r = s.recv_frame(headers(id, b, false), t0());
        if r.is_err() {
            break;
        }
        id += 2;
    }
    assert_conn_error(&mut s, r, ErrorCode::ENHANCE_YOUR_CALM);
}

#[test]
fn s10_5_provoked_resets_that_are_written_are_fine() {
    let config = Config {
        max_concurrent_streams: 1,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    let mut id = 3;
    for _ in 0..2 * MAX_PENDING_RESETS {
        s.recv_frame(headers(id, p.block(POST), false), t0())
            .unwrap();
        drain(&mut s);
        id += 2;
    }
}

#[test]
fn s10_5_flood_of_priority_frames_is_enhance_your_calm() {
    let (mut s, _) = server();
    let mut r = Ok(());
    for i in 0..=MAX_CHEAP_FRAMES {
        r = s.recv_frame(
            Frame::Priority(Priority {
                stream_id: StreamId(1 + 2 * (i % 1000)),
                spec: PrioritySpec {
                    dependency: StreamId(0),
                    exclusive: false,
                    weight: 1,
                },
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
fn s10_5_flood_of_empty_data_frames_is_enhance_your_calm() {
    let (mut s, _) = server_with_open_stream();
    let mut r = Ok(());
    for _ in 0..=MAX_CHEAP_FRAMES {
        r = s.recv_frame(data(1, b"", false), t0());
        if r.is_err() {
            break;
        }
    }
    assert_conn_error(&mut s, r, ErrorCode::ENHANCE_YOUR_CALM);
}

#[test]
fn s10_5_window_updates_while_we_send_data_are_not_a_flood() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(0)]);
    s.send_data(
        StreamId(1),
        Bytes::from(vec![0u8; 3 * MAX_CHEAP_FRAMES as usize]),
        true,
        t0(),
    )
    .unwrap();
    for _ in 0..3 * MAX_CHEAP_FRAMES {
        s.recv_frame(window_update(1, 1), t0()).unwrap();
        s.recv_frame(window_update(0, 1), t0()).unwrap();
        drain(&mut s);
    }
}

#[test]
fn s6_7_ping_flood_is_enhance_your_calm() {
    let (mut s, _) = server();
    let mut r = Ok(());
    for i in 0..100u8 {
        r = s.recv_frame(ping(false, [i; 8]), t0());
        if r.is_err() {
            break;
        }
    }
    assert_conn_error(&mut s, r, ErrorCode::ENHANCE_YOUR_CALM);
}

/// An unknown frame type: cheap (ignored, §5.5) but not free.
fn unknown_frame() -> Frame {
    Frame::Unknown(Unknown {
        kind: 0xfa,
        flags: 0,
        stream_id: StreamId(0),
        payload: Bytes::new(),
    })
}

#[test]
fn s10_5_cheap_frame_window_resets_after_cheap_frame_window_of_fake_time() {
    // MAX_CHEAP_FRAMES cheap frames at t0; the next one, after
    // CHEAP_FRAME_WINDOW has passed on the fake clock, starts a new window
    // instead of ending the connection. Within the new window the same
    // limit applies. (The open stream's HEADERS zeroes the count left by
    // the SETTINGS exchange.)
    let (mut s, _) = server_with_open_stream();
    for _ in 0..MAX_CHEAP_FRAMES {
        s.recv_frame(unknown_frame(), t0()).unwrap();
    }
    let later = t0() + CHEAP_FRAME_WINDOW + Duration::from_secs(1);
    s.recv_frame(unknown_frame(), later).unwrap();
    for _ in 0..MAX_CHEAP_FRAMES {
        s.recv_frame(unknown_frame(), later).unwrap();
    }
    let r = s.recv_frame(unknown_frame(), later + Duration::from_secs(1));
    assert_conn_error(&mut s, r, ErrorCode::ENHANCE_YOUR_CALM);
}

#[test]
fn s10_5_cheap_frame_limit_holds_until_the_window_has_passed() {
    let (mut s, _) = server_with_open_stream();
    for _ in 0..MAX_CHEAP_FRAMES {
        s.recv_frame(unknown_frame(), t0()).unwrap();
    }
    let r = s.recv_frame(unknown_frame(), t0() + CHEAP_FRAME_WINDOW);
    assert_conn_error(&mut s, r, ErrorCode::ENHANCE_YOUR_CALM);
}
