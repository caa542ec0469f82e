//! HTTP/1.1 Upgrade to h2c (RFC 7540 §3.2).

use super::*;

#[test]
fn rfc7540_s3_2_upgrade_makes_stream_1_and_the_response_flows() {
    let mut pair = Pair {
        client: Connection::new(Role::Client, Config::default(), t0()),
        server: Connection::new(Role::Server, Config::default(), t0()),
        client_events: Vec::new(),
        server_events: Vec::new(),
    };
    let c1 = pair.client.upgrade(None, false).unwrap();
    let s1 = pair
        .server
        .upgrade(Some(vec![Setting::InitialWindowSize(100_000)]), false)
        .unwrap();
    assert_eq!((c1, s1), (StreamId(1), StreamId(1)));
    assert_eq!(pair.server.peer_settings().initial_window_size, 100_000);
    assert_eq!(
        pair.server.stream_state(s1),
        Some(StreamState::HalfClosedRemote)
    );
    assert_eq!(
        pair.client.stream_state(c1),
        Some(StreamState::HalfClosedLocal)
    );
    pair.server
        .send_headers(s1, response(200), false, t0())
        .unwrap();
    pair.server
        .send_data(s1, Bytes::from_static(b"upgraded"), true, t0())
        .unwrap();
    pair.pump();
    let cev = pair.take_client();
    assert_eq!(body_of(&cev, c1), (b"upgraded".to_vec(), true));
    // the next client stream is 3
    assert_eq!(pair.client.open_stream(), Ok(StreamId(3)));
}

#[test]
fn rfc7540_s3_2_upgrade_settings_are_not_acked_by_a_frame() {
    let mut s = Connection::new(Role::Server, Config::default(), t0());
    s.upgrade(Some(vec![Setting::MaxFrameSize(20_000)]), false)
        .unwrap();
    let frames = drain(&mut s);
    assert!(!frames
        .iter()
        .any(|f| matches!(f, Frame::Settings(x) if x.ack)));
    // the client preface SETTINGS is still required first
    let r = s.recv_frame(data(1, b"x", false), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rfc7540_s3_2_upgrade_only_at_the_start() {
    let (mut s, _) = server();
    assert!(matches!(
        s.upgrade(None, false),
        Err(UserError::InvalidState { .. })
    ));
    let mut c = Connection::new(Role::Client, Config::default(), t0());
    assert_eq!(
        c.upgrade(Some(vec![]), false),
        Err(UserError::WrongRole(Role::Server))
    );
}
