//! The connection preface (§3.4) and SETTINGS (§6.5): exchange, acknowledgement, timeouts on a fake clock, value checks.

use super::*;

#[test]
fn s3_4_client_sends_preface_settings_and_connection_window_update() {
    let mut c = Connection::new(Role::Client, Config::default(), t0());
    let mut buf = BytesMut::new();
    c.poll_transmit(&mut buf, usize::MAX, t0());
    assert!(buf.starts_with(PREFACE));
    buf.advance(PREFACE.len());
    let f1 = Frame::decode(&mut buf, MAX_MAX_FRAME_SIZE)
        .unwrap()
        .unwrap();
    let Frame::Settings(s) = f1 else {
        panic!("first frame {f1:?}")
    };
    assert!(!s.ack);
    assert!(s.params.contains(&Setting::EnablePush(true)));
    assert!(s.params.contains(&Setting::InitialWindowSize(1 << 20)));
    let f2 = Frame::decode(&mut buf, MAX_MAX_FRAME_SIZE)
        .unwrap()
        .unwrap();
    assert_eq!(f2, window_update(0, (4 << 20) - 65_535));
    assert!(buf.is_empty());
}

#[test]
fn s3_4_server_sends_settings_first_and_no_window_update_at_default() {
    let config = Config {
        connection_window_size: 65_535,
        ..Config::default()
    };
    let mut s = Connection::new(Role::Server, config, t0());
    let frames = drain(&mut s);
    assert_eq!(frames.len(), 1);
    assert!(matches!(&frames[0], Frame::Settings(s) if !s.ack));
}

#[test]
fn s3_4_first_frame_not_settings_is_connection_error_protocol() {
    let mut s = Connection::new(Role::Server, Config::default(), t0());
    drain(&mut s);
    let r = s.recv_frame(ping(false, [0; 8]), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s3_4_first_frame_settings_ack_is_connection_error_protocol() {
    let mut c = Connection::new(Role::Client, Config::default(), t0());
    drain(&mut c);
    let r = c.recv_frame(settings_ack(), t0());
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s3_4_malformed_first_frame_is_connection_error_protocol() {
    let mut s = Connection::new(Role::Server, Config::default(), t0());
    drain(&mut s);
    let r = s.recv_malformed(
        frame::Error::Stream {
            stream_id: StreamId(1),
            code: ErrorCode::PROTOCOL_ERROR,
            reason: "x",
        },
        t0(),
    );
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_5_3_peer_settings_are_acknowledged_and_reported() {
    let mut s = Connection::new(Role::Server, Config::default(), t0());
    drain(&mut s);
    s.recv_frame(settings(vec![Setting::MaxConcurrentStreams(7)]), t0())
        .unwrap();
    assert_eq!(drain(&mut s), vec![settings_ack()]);
    let evs = events(&mut s);
    assert!(
        matches!(&evs[..], [Event::RemoteSettings { params }] if params == &vec![Setting::MaxConcurrentStreams(7)])
    );
    assert_eq!(s.peer_settings().max_concurrent_streams, 7);
}

#[test]
fn s6_5_3_settings_not_acknowledged_in_time_is_settings_timeout() {
    let mut c = Connection::new(Role::Client, Config::default(), t0());
    drain(&mut c);
    c.recv_frame(settings(vec![]), t0()).unwrap();
    let deadline = c.poll_timeout().expect("waiting for our SETTINGS ACK");
    assert_eq!(deadline, t0() + Config::default().settings_timeout);
    assert!(c.handle_timeout(t0() + Duration::from_secs(5)).is_ok());
    let r = c.handle_timeout(deadline);
    assert_conn_error(&mut c, r, ErrorCode::SETTINGS_TIMEOUT);
}

#[test]
fn s6_5_3_settings_timeout_on_a_fake_clock_fires_after_eleven_seconds() {
    // No clock is read inside `proto`: eleven seconds pass in one line.
    let mut c = Connection::new(Role::Server, Config::default(), t0());
    c.recv_frame(settings(vec![]), t0() + Duration::from_secs(1))
        .unwrap();
    drain(&mut c);
    assert!(c.handle_timeout(t0() + Duration::from_secs(9)).is_ok());
    let r = c.handle_timeout(t0() + Duration::from_secs(11));
    assert_conn_error(&mut c, r, ErrorCode::SETTINGS_TIMEOUT);
    assert_eq!(
        c.poll_timeout(),
        None,
        "no timer after the connection error"
    );
}

#[test]
fn s6_5_3_update_settings_timer_starts_at_the_now_given() {
    let (mut s, _) = server_with(no_timeouts(), vec![]);
    let later = t0() + Duration::from_secs(100);
    s.update_settings(vec![Setting::MaxFrameSize(32_768)], later)
        .unwrap();
    drain(&mut s);
    let deadline = s.poll_timeout().expect("waiting for the ACK");
    assert_eq!(deadline, later + Config::default().settings_timeout);
    assert!(s.handle_timeout(later + Duration::from_secs(9)).is_ok());
    let r = s.handle_timeout(later + Duration::from_secs(11));
    assert_conn_error(&mut s, r, ErrorCode::SETTINGS_TIMEOUT);
}

#[test]
fn s6_5_3_ack_clears_the_settings_timer() {
    let (c, _) = client_with(no_timeouts(), vec![]);
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn s6_5_3_our_settings_apply_on_ack() {
    let config = Config {
        max_frame_size: 1 << 20,
        ..Config::default()
    };
    let mut c = Connection::new(Role::Client, config, t0());
    drain(&mut c);
    c.recv_frame(settings(vec![]), t0()).unwrap();
    assert_eq!(c.local_max_frame_size(), 16_384, "not before the ACK");
    c.recv_frame(settings_ack(), t0()).unwrap();
    assert_eq!(c.local_max_frame_size(), 1 << 20);
    assert!(events(&mut c)
        .iter()
        .any(|e| matches!(e, Event::SettingsAcked)));
}

#[test]
fn s6_5_3_update_settings_applies_on_ack() {
    let (mut s, _) = server();
    s.update_settings(vec![Setting::MaxFrameSize(32_768)], t0())
        .unwrap();
    let frames = drain(&mut s);
    assert_eq!(frames, vec![settings(vec![Setting::MaxFrameSize(32_768)])]);
    assert_eq!(s.local_max_frame_size(), 16_384);
    assert!(s.poll_timeout().is_some());
    s.recv_frame(settings_ack(), t0()).unwrap();
    assert_eq!(s.local_max_frame_size(), 32_768);
}

#[test]
fn s6_5_2_update_settings_with_bad_value_is_refused() {
    let (mut s, _) = server();
    assert!(matches!(
        s.update_settings(vec![Setting::MaxFrameSize(100)], t0()),
        Err(UserError::Malformed(_))
    ));
    assert!(matches!(
        s.update_settings(vec![Setting::EnablePush(true)], t0()),
        Err(UserError::Malformed(_))
    ));
}

#[test]
fn s6_5_2_client_receiving_enable_push_1_is_connection_error_protocol() {
    let mut c = Connection::new(Role::Client, Config::default(), t0());
    drain(&mut c);
    let r = c.recv_frame(settings(vec![Setting::EnablePush(true)]), t0());
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_5_2_server_receiving_enable_push_1_is_fine() {
    let mut s = Connection::new(Role::Server, Config::default(), t0());
    drain(&mut s);
    s.recv_frame(settings(vec![Setting::EnablePush(true)]), t0())
        .unwrap();
    assert!(s.peer_settings().enable_push);
}

#[test]
fn s6_5_2_initial_window_size_above_max_is_flow_control_error() {
    let mut s = Connection::new(Role::Server, Config::default(), t0());
    drain(&mut s);
    let r = s.recv_frame(settings(vec![Setting::InitialWindowSize(1 << 31)]), t0());
    assert_conn_error(&mut s, r, ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn s6_5_2_max_frame_size_out_of_range_is_protocol_error() {
    let mut s = Connection::new(Role::Server, Config::default(), t0());
    drain(&mut s);
    let r = s.recv_frame(settings(vec![Setting::MaxFrameSize(1000)]), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_5_2_header_table_size_reaches_the_encoder() {
    // A peer that allows no dynamic table: our blocks must still decode with
    // a zero-size decoder.
    let (mut c, _) = client_with(Config::default(), vec![Setting::HeaderTableSize(0)]);
    let mut dec = hpack::Decoder::new(0, usize::MAX);
    for _ in 0..3 {
        let id = c.open_stream().unwrap();
        c.send_headers(id, get_request("http://example.com/x"), true, t0())
            .unwrap();
        for f in drain(&mut c) {
            if let Frame::Headers(h) = f {
                let mut out = Vec::new();
                dec.decode(&h.block, &mut out)
                    .expect("no dynamic table used");
            }
        }
    }
}

#[test]
fn s6_5_2_client_receiving_enable_push_0_is_fine() {
    let (c, _) = client_with(Config::default(), vec![Setting::EnablePush(false)]);
    assert!(!c.peer_settings().enable_push);
}

/// An extended CONNECT (RFC 8441 §4) as a browser sends it for a WebSocket.
fn websocket_connect(p: &mut Peer) -> Frame {
    let block = p.block(&[
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "https"),
        (":authority", "localhost"),
        (":path", "/ws"),
        ("sec-websocket-version", "13"),
    ]);
    headers(1, block, false)
}

#[test]
fn rfc8441_3_server_sends_enable_connect_protocol_and_accepts_protocol_before_the_ack() {
    // The setting cannot be withdrawn once sent (RFC 8441 §3), so a
    // `:protocol` request is accepted from our first SETTINGS on, even
    // before the peer's ACK of them has arrived.
    let config = Config {
        enable_connect_protocol: true,
        ..Config::default()
    };
    let mut s = Connection::new(Role::Server, config, t0());
    let sent = drain(&mut s);
    assert!(
        sent.iter().any(|f| matches!(f, Frame::Settings(st)
            if st.params.contains(&Setting::EnableConnectProtocol(true)))),
        "{sent:?}"
    );
    s.recv_frame(settings(vec![]), t0()).unwrap();
    let mut p = Peer::new();
    s.recv_frame(websocket_connect(&mut p), t0()).unwrap();
    let out = drain(&mut s);
    assert_eq!(rst_code(&out, 1), None, "{out:?}");
    let evs = events(&mut s);
    let protocol = evs.iter().find_map(|e| match e {
        Event::RecvHeaders { head, .. } => match &**head {
            Head::Request(r) => r.extensions().get::<Protocol>().cloned(),
            Head::Response(_) => None,
        },
        _ => None,
    });
    assert_eq!(protocol, Some(Protocol(Bytes::from_static(b"websocket"))));
}

#[test]
fn rfc8441_3_server_without_the_setting_resets_a_protocol_request() {
    let (mut s, mut p) = server();
    s.recv_frame(websocket_connect(&mut p), t0()).unwrap();
    let out = drain(&mut s);
    assert_eq!(rst_code(&out, 1), Some(ErrorCode::PROTOCOL_ERROR));
}
