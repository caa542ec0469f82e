//! Flow control (§5.2, §6.9): both windows, in both directions, and SETTINGS_INITIAL_WINDOW_SIZE changes (§6.9.2).

use super::*;

const HEADER_END: usize = 9 + 4;

#[test]
fn s6_9_window_update_of_zero_on_connection_is_connection_error_protocol() {
    let (mut s, _) = server();
    let mut buf = BytesMut::new();
    window_update(0, 1).encode(&mut buf);
    buf[HEADER_END - 1] = 0; // increment 1 -> 0
    let err = Frame::decode(&mut buf, 16_384).unwrap_err();
    let r = s.recv_malformed(err, t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_9_window_update_of_zero_on_stream_is_stream_error_protocol() {
    let (mut s, _) = server_with_open_stream();
    let mut buf = BytesMut::new();
    window_update(1, 1).encode(&mut buf);
    buf[HEADER_END - 1] = 0;
    let err = Frame::decode(&mut buf, 16_384).unwrap_err();
    s.recv_malformed(err, t0()).unwrap();
    let frames = drain(&mut s);
    assert_eq!(rst_code(&frames, 1), Some(ErrorCode::PROTOCOL_ERROR));
    assert!(goaway_code(&frames).is_none());
    assert!(matches!(
        events(&mut s)[..],
        [Event::RecvReset {
            code: ErrorCode::PROTOCOL_ERROR,
            remote: false,
            ..
        }]
    ));
}

#[test]
fn s6_9_1_connection_window_overflow_is_connection_error_flow_control() {
    let (mut s, _) = server();
    let r = s.recv_frame(window_update(0, frame::MAX_WINDOW_SIZE), t0());
    assert_conn_error(&mut s, r, ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn s6_9_1_stream_window_overflow_is_stream_error_flow_control() {
    let (mut s, _) = server_with_open_stream();
    s.recv_frame(window_update(1, frame::MAX_WINDOW_SIZE), t0())
        .unwrap();
    let frames = drain(&mut s);
    assert_eq!(rst_code(&frames, 1), Some(ErrorCode::FLOW_CONTROL_ERROR));
    assert!(goaway_code(&frames).is_none());
}

#[test]
fn s6_9_1_data_beyond_connection_window_is_connection_error_flow_control() {
    let config = Config {
        connection_window_size: 65_535,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    s.recv_frame(headers(3, p.block(POST), false), t0())
        .unwrap();
    let mut r = Ok(());
    for i in 0..5 {
        r = s.recv_frame(data_n(1 + 2 * (i % 2), 16_000, false), t0());
        if r.is_err() {
            break;
        }
    }
    assert_conn_error(&mut s, r, ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn s6_9_1_data_beyond_stream_window_is_stream_error_flow_control() {
    let config = Config {
        initial_window_size: 1000,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    events(&mut s);
    s.recv_frame(data_n(1, 1000, false), t0()).unwrap();
    s.recv_frame(data_n(1, 1, false), t0()).unwrap();
    let frames = drain(&mut s);
    assert_eq!(rst_code(&frames, 1), Some(ErrorCode::FLOW_CONTROL_ERROR));
    assert!(goaway_code(&frames).is_none());
}

#[test]
fn s6_9_padding_counts_toward_windows_and_is_released() {
    let config = Config {
        initial_window_size: 1000,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    events(&mut s);
    // 10 data + 1 pad length + 255 padding = 266 per frame
    let padded = |n| {
        Frame::Data(Data {
            stream_id: StreamId(1),
            data: Bytes::from(vec![b'p'; n]),
            end_stream: false,
            pad_len: Some(255),
        })
    };
    s.recv_frame(padded(10), t0()).unwrap();
    s.recv_frame(padded(10), t0()).unwrap();
    // the padding (2 * 256) reached half the stream window: given back
    let frames = drain(&mut s);
    assert!(frames.contains(&window_update(1, 512)), "{frames:?}");
    let evs = events(&mut s);
    assert_eq!(
        body_of(&evs, StreamId(1)).0.len(),
        20,
        "padding never delivered"
    );
    // without that update this would overflow the 1000-byte window
    for _ in 0..3 {
        s.recv_frame(padded(10), t0()).unwrap();
    }
    assert!(rst_code(&drain(&mut s), 1).is_none());
}

#[test]
fn s6_9_release_capacity_sends_batched_window_updates() {
    let config = Config {
        initial_window_size: 10_000,
        connection_window_size: 65_535,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    for _ in 0..4 {
        s.recv_frame(data_n(1, 2_000, false), t0()).unwrap();
    }
    assert!(drain(&mut s).is_empty(), "nothing before the user releases");
    s.release_capacity(StreamId(1), 2_000);
    assert!(drain(&mut s).is_empty(), "below half the window: batched");
    s.release_capacity(StreamId(1), 4_000);
    assert_eq!(drain(&mut s), vec![window_update(1, 6_000)]);
    // releasing more than was received is capped
    s.release_capacity(StreamId(1), 1_000_000);
    assert!(drain(&mut s).is_empty());
}

#[test]
fn s6_9_connection_window_update_when_half_released() {
    let config = Config {
        connection_window_size: 65_535,
        initial_window_size: 65_535,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    s.recv_frame(headers(3, p.block(POST), false), t0())
        .unwrap();
    s.recv_frame(data_n(1, 16_384, false), t0()).unwrap();
    s.recv_frame(data_n(3, 16_384, false), t0()).unwrap();
    s.release_capacity(StreamId(1), 16_384);
    assert!(drain(&mut s).is_empty());
    s.release_capacity(StreamId(3), 16_384);
    let frames = drain(&mut s);
    assert!(frames.contains(&window_update(0, 32_768)), "{frames:?}");
}

#[test]
fn s6_9_unreleased_data_of_a_reset_stream_returns_to_the_connection() {
    let config = Config {
        connection_window_size: 65_535,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    s.recv_frame(data_n(1, 16_384, false), t0()).unwrap();
    s.recv_frame(data_n(1, 16_384, false), t0()).unwrap();
    s.recv_frame(rst(1, ErrorCode::CANCEL), t0()).unwrap();
    assert!(drain(&mut s).contains(&window_update(0, 32_768)));
}

#[test]
fn s6_9_sending_respects_the_stream_window() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(100)]);
    s.send_data(StreamId(1), Bytes::from(vec![1u8; 250]), true, t0())
        .unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 100, false)]);
    assert!(!s.wants_transmit());
    s.recv_frame(window_update(1, 100), t0()).unwrap();
    assert!(s.wants_transmit());
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 100, false)]);
    s.recv_frame(window_update(1, 1000), t0()).unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 50, true)]);
    let evs = events(&mut s);
    let sent: usize = evs
        .iter()
        .map(|e| match e {
            Event::DataSent { len, .. } => *len,
            _ => 0,
        })
        .sum();
    assert_eq!(sent, 250);
    assert!(matches!(evs.last(), Some(Event::Finished { .. })));
}

#[test]
fn s6_9_sending_respects_the_connection_window() {
    let (mut s, mut p) = server_with(Config::default(), vec![Setting::InitialWindowSize(1 << 20)]);
    for id in [1, 3] {
        s.recv_frame(headers(id, p.block(GET), true), t0()).unwrap();
        s.send_headers(StreamId(id), response(200), false, t0())
            .unwrap();
        s.send_data(StreamId(id), Bytes::from(vec![0u8; 50_000]), true, t0())
            .unwrap();
    }
    let sent: usize = data_lens(&drain(&mut s)).iter().map(|d| d.1).sum();
    assert_eq!(sent, 65_535, "the default connection window");
    assert!(!s.wants_transmit());
    s.recv_frame(window_update(0, 100_000), t0()).unwrap();
    let sent: usize = data_lens(&drain(&mut s)).iter().map(|d| d.1).sum();
    assert_eq!(sent, 100_000 - 65_535);
}

#[test]
fn s6_9_2_initial_window_size_change_adjusts_open_streams_and_may_go_negative() {
    let (mut s, _) = server_responding(vec![]);
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 60_000]), false, t0())
        .unwrap();
    drain(&mut s);
    assert_eq!(s.send_capacity(StreamId(1)), Some(5_535));
    s.recv_frame(settings(vec![Setting::InitialWindowSize(16_384)]), t0())
        .unwrap();
    // 5,535 - 49,151 = -43,616
    assert_eq!(s.send_capacity(StreamId(1)), Some(0));
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 10]), true, t0())
        .unwrap();
    assert!(data_lens(&drain(&mut s)).is_empty());
    s.recv_frame(window_update(1, 43_616), t0()).unwrap();
    assert!(
        data_lens(&drain(&mut s)).is_empty(),
        "window back to exactly 0"
    );
    s.recv_frame(window_update(1, 10), t0()).unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 10, true)]);
}

#[test]
fn s6_9_2_initial_window_size_increase_wakes_blocked_streams() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(0)]);
    s.send_data(StreamId(1), Bytes::from_static(b"hello"), true, t0())
        .unwrap();
    assert!(data_lens(&drain(&mut s)).is_empty());
    s.recv_frame(settings(vec![Setting::InitialWindowSize(10)]), t0())
        .unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 5, true)]);
}

#[test]
fn s6_9_2_initial_window_size_overflowing_a_stream_window_is_flow_control_error() {
    let (mut s, _) = server_responding(vec![]);
    s.recv_frame(window_update(1, frame::MAX_WINDOW_SIZE - 65_535), t0())
        .unwrap();
    let r = s.recv_frame(settings(vec![Setting::InitialWindowSize(65_536)]), t0());
    assert_conn_error(&mut s, r, ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn s6_9_window_update_on_half_closed_local_stream_reopens_sending_of_nothing() {
    // a peer may send WINDOW_UPDATE after our END_STREAM (§5.1 half-closed)
    let (mut c, _) = client_with_open_stream();
    c.send_data(StreamId(1), Bytes::from_static(b"done"), true, t0())
        .unwrap();
    drain(&mut c);
    c.recv_frame(window_update(1, 1000), t0()).unwrap();
    assert!(drain(&mut c).is_empty());
}

/// A server with a 1000-byte stream window and request stream 1 open.
fn server_with_small_window() -> Connection {
    let config = Config {
        initial_window_size: 1000,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    s.recv_frame(headers(1, p.block(POST), false), t0())
        .unwrap();
    events(&mut s);
    drain(&mut s);
    s
}

#[test]
fn s6_9_2_our_initial_window_increase_counts_before_its_ack() {
    // The peer may send into the larger window as soon as it has read our
    // SETTINGS, before its ACK reaches us.
    let mut s = server_with_small_window();
    s.update_settings(vec![Setting::InitialWindowSize(3000)], t0())
        .unwrap();
    s.recv_frame(data_n(1, 3000, false), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), None);
    // The ACK changes nothing more: one byte beyond is still an error.
    s.recv_frame(settings_ack(), t0()).unwrap();
    s.recv_frame(data_n(1, 1, false), t0()).unwrap();
    assert_eq!(
        rst_code(&drain(&mut s), 1),
        Some(ErrorCode::FLOW_CONTROL_ERROR)
    );
}

#[test]
fn s6_9_2_our_initial_window_decrease_counts_from_its_ack() {
    // §6.9.2: until the ACK, the peer may still send into the old window.
    let mut s = server_with_small_window();
    s.update_settings(vec![Setting::InitialWindowSize(100)], t0())
        .unwrap();
    s.recv_frame(data_n(1, 500, false), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), None);
    // From the ACK on, the window is 100 - 1000 + 500 = -400 left.
    s.recv_frame(settings_ack(), t0()).unwrap();
    s.recv_frame(data_n(1, 1, false), t0()).unwrap();
    assert_eq!(
        rst_code(&drain(&mut s), 1),
        Some(ErrorCode::FLOW_CONTROL_ERROR)
    );
}

#[test]
fn s6_9_2_an_earlier_acked_value_does_not_undo_a_later_increase() {
    // Two SETTINGS out: the first (2000) acknowledged while the second
    // (5000) is not; 5000 still counts.
    let mut s = server_with_small_window();
    s.update_settings(vec![Setting::InitialWindowSize(2000)], t0())
        .unwrap();
    s.update_settings(vec![Setting::InitialWindowSize(5000)], t0())
        .unwrap();
    s.recv_frame(settings_ack(), t0()).unwrap();
    s.recv_frame(data_n(1, 5000, false), t0()).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), None);
}

// ---------------------------------------------------------------------------
// A window that would close exactly with a body's last byte (issue 15, item
// 3): Node's `http2` (nghttp2) writes no DATA, not even the empty END_STREAM
// one that §6.9.1 lets through a shut window, and resets the stream with
// NO_ERROR instead. One more octet is granted while the body is on its way.

const MIB: usize = 1 << 20;

/// A client whose GET on stream 1 is out (END_STREAM) and whose response
/// head declares `content-length: len`.
fn client_receiving(config: Config, len: usize) -> (Connection, Peer) {
    let (mut c, mut p) = client_with(config, vec![]);
    let id = c.open_stream().unwrap();
    c.send_headers(id, get_request("http://example.com/"), true, t0())
        .unwrap();
    drain(&mut c);
    let n = len.to_string();
    let b = p.block(&[(":status", "200"), ("content-length", &n)]);
    c.recv_frame(headers(1, b, false), t0()).unwrap();
    (c, p)
}

/// Feeds `len` body bytes in 16,384-byte DATA frames, no END_STREAM.
fn feed_body(c: &mut Connection, len: usize) {
    let mut left = len;
    while left > 0 {
        let n = left.min(16_384);
        c.recv_frame(data_n(1, n, false), t0()).unwrap();
        left -= n;
    }
}

#[test]
fn s6_9_1_stream_window_equal_to_content_length_gets_one_more_octet() {
    let (mut c, _) = client_receiving(Config::default(), MIB);
    assert_eq!(Config::default().initial_window_size as usize, MIB);
    let frames = drain(&mut c);
    assert_eq!(frames, vec![window_update(1, 1)], "at the response head");
    // The whole body fits, and the peer still has a window for its
    // END_STREAM DATA frame: nothing else is sent while the user reads
    // nothing.
    feed_body(&mut c, MIB);
    assert!(drain(&mut c).is_empty());
    c.recv_frame(data(1, b"", true), t0()).unwrap();
    let evs = events(&mut c);
    let (body, ended) = body_of(&evs, StreamId(1));
    assert_eq!((body.len(), ended), (MIB, true));
    assert!(!evs.iter().any(|e| matches!(e, Event::RecvReset { .. })));
}

#[test]
fn s6_9_1_stream_window_below_content_length_gets_nothing_extra() {
    for len in [MIB - 1, MIB + 1, 3 * MIB + 17] {
        let (mut c, _) = client_receiving(Config::default(), len);
        assert!(drain(&mut c).is_empty(), "content-length {len}");
    }
    // No content-length: nothing to foresee.
    let (mut c, mut p) = client_with(Config::default(), vec![]);
    let id = c.open_stream().unwrap();
    c.send_headers(id, get_request("http://example.com/"), true, t0())
        .unwrap();
    drain(&mut c);
    let b = p.block(&[(":status", "200")]);
    c.recv_frame(headers(1, b, false), t0()).unwrap();
    feed_body(&mut c, MIB);
    assert!(drain(&mut c).is_empty());
}

/// Twice the window: the user's reading reopens the window by halves; the
/// update that leaves it equal to what the body still needs carries the
/// extra octet with it.
#[test]
fn s6_9_1_window_reopened_to_exactly_the_rest_of_the_body_gets_one_more_octet() {
    let (mut c, _) = client_receiving(Config::default(), 2 * MIB);
    assert!(drain(&mut c).is_empty());
    feed_body(&mut c, MIB);
    c.release_capacity(StreamId(1), MIB / 2);
    // Half a window left for a body of one and a half: no extra octet.
    assert_eq!(drain(&mut c), vec![window_update(1, (MIB / 2) as u32)]);
    c.release_capacity(StreamId(1), MIB / 2);
    assert_eq!(
        drain(&mut c),
        vec![window_update(1, (MIB / 2) as u32), window_update(1, 1)]
    );
    feed_body(&mut c, MIB);
    c.recv_frame(data(1, b"", true), t0()).unwrap();
    let (body, ended) = body_of(&events(&mut c), StreamId(1));
    assert_eq!((body.len(), ended), (2 * MIB, true));
}

#[test]
fn s6_9_1_connection_window_equal_to_content_length_gets_one_more_octet() {
    let config = Config {
        connection_window_size: MIB as u32,
        ..Config::default()
    };
    let (mut c, _) = client_receiving(config, MIB);
    let frames = drain(&mut c);
    assert!(frames.contains(&window_update(1, 1)), "{frames:?}");
    assert!(frames.contains(&window_update(0, 1)), "{frames:?}");
}

/// RFC 9113 §8.1: "a server MAY request that the client abort transmission
/// of a request without error by sending a RST_STREAM with an error code of
/// NO_ERROR after sending a complete response". A body complete by its
/// content-length (§8.1.1) is a complete response: it ends as if END_STREAM
/// had come, then the reset (which the layers above read as no failure).
#[test]
fn s8_1_rst_no_error_after_body_complete_by_content_length_ends_the_response() {
    let (mut c, _) = client_receiving(Config::default(), MIB);
    feed_body(&mut c, MIB);
    c.recv_frame(rst(1, ErrorCode::NO_ERROR), t0()).unwrap();
    let evs = events(&mut c);
    let (body, ended) = body_of(&evs, StreamId(1));
    assert_eq!((body.len(), ended), (MIB, true));
    let last_two = &evs[evs.len() - 2..];
    assert!(
        matches!(
            last_two,
            [
                Event::RecvData {
                    end_stream: true,
                    ..
                },
                Event::RecvReset {
                    code: ErrorCode::NO_ERROR,
                    remote: true,
                    ..
                }
            ]
        ),
        "{last_two:?}"
    );
    assert!(goaway_code(&drain(&mut c)).is_none());
}

#[test]
fn s8_1_rst_no_error_before_body_complete_is_a_reset() {
    let (mut c, _) = client_receiving(Config::default(), MIB);
    feed_body(&mut c, MIB - 1);
    c.recv_frame(rst(1, ErrorCode::NO_ERROR), t0()).unwrap();
    let evs = events(&mut c);
    let (body, ended) = body_of(&evs, StreamId(1));
    assert_eq!((body.len(), ended), (MIB - 1, false));
    assert!(matches!(
        evs.last(),
        Some(Event::RecvReset {
            code: ErrorCode::NO_ERROR,
            remote: true,
            ..
        })
    ));
    // Without content-length, no body is ever complete before END_STREAM.
    let (mut c, mut p) = client_with(Config::default(), vec![]);
    let id = c.open_stream().unwrap();
    c.send_headers(id, get_request("http://example.com/"), true, t0())
        .unwrap();
    let b = p.block(&[(":status", "200")]);
    c.recv_frame(headers(1, b, false), t0()).unwrap();
    feed_body(&mut c, 100);
    c.recv_frame(rst(1, ErrorCode::NO_ERROR), t0()).unwrap();
    let (_, ended) = body_of(&events(&mut c), StreamId(1));
    assert!(!ended);
}
