//! End-to-end conformance, RFC 9113 §6 (frame definitions): every frame
//! type's malformations against the test server over real TCP, each
//! answered with the exact GOAWAY or RST_STREAM the section names, plus the
//! positive rules (PING answered, SETTINGS acknowledged, flow control
//! respected by the server's sender). Modelled on h2spec's "http2/6.x".

mod support;

use std::time::{Duration, Instant};

use h2actor::frame::{flags, kind, ErrorCode, Frame, Setting};
use support::raw_peer::*;

fn post_echo(p: &mut Peer, stream: u32) {
    let mut f = get_fields("/echo");
    f[0].1 = "POST".into();
    p.send_headers(stream, &f, false);
}

/// Reads DATA until `want` more bytes came (or 2 s passed), then for a
/// quiet 150 ms more (anything beyond `want` shows up there): the bytes
/// received. Robust to a slow server, strict about a server that sends too
/// much.
fn data_until(p: &mut Peer, want: usize) -> usize {
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(2);
    while got < want {
        match p.recv_within(deadline.saturating_duration_since(Instant::now())) {
            Ok(Frame::Data(d)) => got += d.data.len(),
            Ok(_) => {}
            Err(_) => return got,
        }
    }
    let quiet = Instant::now() + Duration::from_millis(150);
    while let Ok(f) = p.recv_within(quiet.saturating_duration_since(Instant::now())) {
        if let Frame::Data(d) = f {
            got += d.data.len();
        }
    }
    got
}

// ---------------------------------------------------------------------------
// §6.1 DATA

#[test]
fn s6_1_data_on_stream_0_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::DATA, 0, 0, b"stream zero"));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_1_data_with_padding_too_long_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    post_echo(&mut p, 1);
    // Pad Length 10 with 4 bytes after it.
    p.send_raw(&raw_frame(kind::DATA, flags::PADDED, 1, &[10, 1, 2, 3, 4]));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_1_padded_data_is_accepted_and_padding_stripped() {
    let s = ConfServer::start();
    let mut p = s.peer();
    post_echo(&mut p, 1);
    let mut payload = vec![3u8];
    payload.extend_from_slice(b"body");
    payload.extend_from_slice(&[0, 0, 0]);
    p.send_raw(&raw_frame(
        kind::DATA,
        flags::PADDED | flags::END_STREAM,
        1,
        &payload,
    ));
    let (status, body) = p.response(1);
    assert_eq!((status, &body[..]), (200, &b"body"[..]));
}

// ---------------------------------------------------------------------------
// §6.2 HEADERS

#[test]
fn s6_2_headers_on_stream_0_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = lit_block(&[(":method", "GET")]);
    p.send_raw(&raw_frame(
        kind::HEADERS,
        flags::END_HEADERS | flags::END_STREAM,
        0,
        &block,
    ));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_2_headers_with_padding_too_long_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut payload = vec![200u8];
    payload.extend(lit_block(&[(":method", "GET")]));
    p.send_raw(&raw_frame(
        kind::HEADERS,
        flags::END_HEADERS | flags::END_STREAM | flags::PADDED,
        1,
        &payload,
    ));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_2_padded_headers_with_priority_are_accepted() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    let mut payload = vec![4u8, 0, 0, 0, 0, 200];
    payload.extend(block);
    payload.extend([0u8; 4]);
    p.send_raw(&raw_frame(
        kind::HEADERS,
        flags::END_HEADERS | flags::END_STREAM | flags::PADDED | flags::PRIORITY,
        1,
        &payload,
    ));
    let (status, _) = p.response(1);
    assert_eq!(status, 200);
}

// ---------------------------------------------------------------------------
// §6.3 PRIORITY

#[test]
fn s6_3_priority_on_stream_0_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::PRIORITY, 0, 0, &[0, 0, 0, 1, 10]));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_3_priority_of_wrong_length_is_stream_error_frame_size() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::PRIORITY, 0, 1, &[0, 0, 0, 0, 10, 0]));
    p.expect_rst(1, ErrorCode::FRAME_SIZE_ERROR);
    p.assert_alive();
    p.get_ok(3);
}

// ---------------------------------------------------------------------------
// §6.4 RST_STREAM

#[test]
fn s6_4_rst_stream_on_stream_0_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::RST_STREAM, 0, 0, &[0, 0, 0, 8]));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_4_rst_stream_on_idle_stream_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(rst(5, ErrorCode::CANCEL));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_4_rst_stream_of_wrong_length_is_connection_error_frame_size() {
    let s = ConfServer::start();
    let mut p = s.peer();
    post_echo(&mut p, 1);
    p.send_raw(&raw_frame(kind::RST_STREAM, 0, 1, &[0, 0, 0, 8, 0]));
    p.expect_goaway(ErrorCode::FRAME_SIZE_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_4_rst_stream_cancels_a_response_and_the_connection_goes_on() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_get(1, "/bytes/10000000");
    p.expect(
        |f| matches!(f, Frame::Headers(h) if h.stream_id.0 == 1),
        "HEADERS",
    );
    p.send(rst(1, ErrorCode::CANCEL));
    // What stream 1 took of the connection window stays taken (§6.9: only
    // WINDOW_UPDATE gives it back): reopen it for stream 3.
    p.send(window_update(0, 1 << 20));
    p.get_ok(3);
    s.assert_healthy();
}

// ---------------------------------------------------------------------------
// §6.5 SETTINGS

#[test]
fn s6_5_settings_ack_with_payload_is_connection_error_frame_size() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(
        kind::SETTINGS,
        flags::ACK,
        0,
        &[0, 3, 0, 0, 0, 10],
    ));
    p.expect_goaway(ErrorCode::FRAME_SIZE_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_5_settings_on_nonzero_stream_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::SETTINGS, 0, 1, &[0, 3, 0, 0, 0, 10]));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_5_settings_length_not_multiple_of_6_is_connection_error_frame_size() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::SETTINGS, 0, 0, &[0, 3, 0, 0, 10]));
    p.expect_goaway(ErrorCode::FRAME_SIZE_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_5_2_enable_push_above_1_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::SETTINGS, 0, 0, &[0, 2, 0, 0, 0, 2]));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_5_2_initial_window_size_above_max_is_connection_error_flow_control() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::SETTINGS, 0, 0, &[0, 4, 0x80, 0, 0, 0]));
    p.expect_goaway(ErrorCode::FLOW_CONTROL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_5_2_max_frame_size_below_initial_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::SETTINGS, 0, 0, &[0, 5, 0, 0, 0x3f, 0xff]));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_5_2_max_frame_size_above_max_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::SETTINGS, 0, 0, &[0, 5, 0x01, 0, 0, 0]));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_5_2_unknown_setting_is_ignored() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(
        kind::SETTINGS,
        0,
        0,
        &[0xff, 0x00, 0xde, 0xad, 0xbe, 0xef, 0, 7, 0, 0, 0, 9],
    ));
    // §6.5.3: acknowledged like any SETTINGS.
    p.expect(
        |f| matches!(f, Frame::Settings(st) if st.ack) || is_goaway(f),
        "SETTINGS ACK",
    );
    assert!(
        p.log.iter().all(|l| !l.starts_with("GOAWAY")),
        "{:?}",
        p.log
    );
    p.get_ok(1);
}

#[test]
fn s6_5_3_settings_are_acknowledged() {
    let s = ConfServer::start();
    let mut p = s.peer();
    // Drain the ACK of the handshake SETTINGS first.
    p.expect(|f| matches!(f, Frame::Settings(st) if st.ack), "first ACK");
    p.send(settings(&[Setting::MaxConcurrentStreams(10)]));
    p.expect(|f| matches!(f, Frame::Settings(st) if st.ack), "second ACK");
    p.send(settings(&[]));
    p.expect(|f| matches!(f, Frame::Settings(st) if st.ack), "third ACK");
    p.get_ok(1);
}

#[test]
fn s6_5_3_settings_ack_from_peer_is_not_answered() {
    let s = ConfServer::start();
    let mut p = s.peer(); // the handshake ACKed the server's SETTINGS already
    p.expect(|f| matches!(f, Frame::Settings(st) if st.ack), "our ACK");
    p.send(settings_ack()); // an unexpected extra ACK: RFC 9113 names no error
    p.expect_none(
        |f| matches!(f, Frame::Settings(_)) || is_goaway(f),
        Duration::from_millis(200),
        "answer to a SETTINGS ACK",
    );
    p.get_ok(1);
}

#[test]
fn s6_5_3_server_settings_take_effect_header_table_size_0() {
    // The server's encoder honours our SETTINGS_HEADER_TABLE_SIZE 0 (RFC
    // 7541 §4.2): our decoder limited to 0 decodes every response block.
    let s = ConfServer::start();
    let mut p = s.connect();
    p.dec = h2actor::hpack::Decoder::new(4096, usize::MAX);
    p.handshake_with(&[Setting::HeaderTableSize(0)]);
    p.expect(|f| matches!(f, Frame::Settings(st) if st.ack), "ACK");
    p.dec.set_max_table_size(0);
    for id in [1, 3, 5] {
        p.get_ok(id);
    }
    assert_eq!(p.dec.table_size(), 0);
}

#[test]
fn s6_5_2_peer_max_frame_size_bounds_the_servers_data_frames() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_get(1, "/bytes/100000");
    let (_, body) = p.response(1);
    assert_eq!(body.len(), 100_000);
    // Every frame received fit the default 16,384 (the peer decodes with
    // MAX_MAX_FRAME_SIZE, so check the log).
    assert!(p.log.iter().all(|l| !l.contains("len=") || {
        let n: usize = l
            .split("len=")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        n <= 16_384
    }));
}

// ---------------------------------------------------------------------------
// §6.7 PING

#[test]
fn s6_7_ping_is_answered_with_ack_and_same_payload() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(ping(*b"h2actor!"));
    p.expect_ping_ack(*b"h2actor!");
}

#[test]
fn s6_7_ping_ack_is_not_answered() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::PING, flags::ACK, 0, b"unasked!"));
    p.expect_none(
        |f| matches!(f, Frame::Ping(_)) || is_goaway(f),
        Duration::from_millis(200),
        "answer to a PING ACK",
    );
    p.assert_alive();
}

#[test]
fn s6_7_ping_on_nonzero_stream_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::PING, 0, 1, b"12345678"));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_7_ping_of_wrong_length_is_connection_error_frame_size() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::PING, 0, 0, b"123456"));
    p.expect_goaway(ErrorCode::FRAME_SIZE_ERROR);
    s.assert_healthy();
}

// ---------------------------------------------------------------------------
// §6.8 GOAWAY

#[test]
fn s6_8_goaway_on_nonzero_stream_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::GOAWAY, 0, 1, &[0, 0, 0, 0, 0, 0, 0, 0]));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_8_goaway_too_short_is_connection_error_frame_size() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::GOAWAY, 0, 0, &[0, 0, 0, 0]));
    p.expect_goaway(ErrorCode::FRAME_SIZE_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_8_goaway_with_error_from_peer_ends_the_connection_cleanly() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.get_ok(1);
    p.send(goaway(0, ErrorCode::PROTOCOL_ERROR));
    // The peer is leaving; the server may answer with its own GOAWAY and
    // closes (no reply is required, but it must not keep the socket forever).
    p.expect_connection_closed();
    s.assert_healthy();
}

// ---------------------------------------------------------------------------
// §6.9 WINDOW_UPDATE

#[test]
fn s6_9_window_update_of_0_on_connection_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(window_update(0, 0));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_9_window_update_of_0_on_stream_is_stream_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    post_echo(&mut p, 1);
    p.send(window_update(1, 0));
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
    p.assert_alive();
    p.get_ok(3);
}

#[test]
fn s6_9_window_update_of_wrong_length_is_connection_error_frame_size() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(kind::WINDOW_UPDATE, 0, 0, &[0, 0, 1]));
    p.expect_goaway(ErrorCode::FRAME_SIZE_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_9_1_connection_window_overflow_is_connection_error_flow_control() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(window_update(0, 0x7fff_ffff));
    p.send(window_update(0, 0x7fff_ffff));
    p.expect_goaway(ErrorCode::FLOW_CONTROL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_9_1_stream_window_overflow_is_stream_error_flow_control() {
    let s = ConfServer::start();
    let mut p = s.peer();
    post_echo(&mut p, 1);
    p.send(window_update(1, 0x7fff_ffff));
    p.send(window_update(1, 0x7fff_ffff));
    p.expect_rst(1, ErrorCode::FLOW_CONTROL_ERROR);
    p.assert_alive();
    p.get_ok(3);
}

#[test]
fn s6_9_2_initial_window_size_change_overflowing_a_stream_is_flow_control_error() {
    // §6.9.2: a SETTINGS_INITIAL_WINDOW_SIZE change that makes a window
    // exceed 2^31-1 MUST be a connection error FLOW_CONTROL_ERROR.
    let s = ConfServer::start();
    let mut p = s.peer();
    post_echo(&mut p, 1); // the response HEADERS come; the stream stays open
    p.send(window_update(1, 0x7fff_ffff - 65_535));
    p.send(settings(&[Setting::InitialWindowSize(65_536)]));
    p.expect_goaway(ErrorCode::FLOW_CONTROL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_9_1_server_sends_no_more_data_than_the_window() {
    const WINDOW: usize = 1000;
    let s = ConfServer::start();
    let mut p = s.connect();
    p.handshake_with(&[Setting::InitialWindowSize(WINDOW as u32)]);
    p.expect(|f| matches!(f, Frame::Settings(st) if st.ack), "ACK");
    p.send_get(1, "/bytes/100000");
    let mut got = 0usize;
    got += data_until(&mut p, WINDOW - got);
    assert_eq!(got, WINDOW, "the server filled the window exactly, no more");
    // Open the stream window: the server resumes (the connection window is
    // 65,535, so it sends up to that and stops again).
    p.send(window_update(1, 200_000));
    got += data_until(&mut p, 65_535 - got);
    assert_eq!(got, 65_535, "bounded by the connection window");
    p.send(window_update(0, 200_000));
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut ended = false;
    while !ended {
        match p.recv_within(deadline.saturating_duration_since(Instant::now())) {
            Ok(Frame::Data(d)) => {
                got += d.data.len();
                ended = d.end_stream;
            }
            Ok(_) => {}
            Err(e) => panic!("{e:?} after {got} bytes"),
        }
    }
    assert_eq!(got, 100_000);
}

#[test]
fn s6_9_1_data_beyond_the_servers_window_is_flow_control_error() {
    // The server's stream window is its SETTINGS_INITIAL_WINDOW_SIZE; the
    // connection window starts at 65,535 plus any WINDOW_UPDATE it sent.
    let s = ConfServer::start();
    let mut p = s.peer();
    let initial = p
        .server_settings
        .iter()
        .find_map(|s| match s {
            Setting::InitialWindowSize(n) => Some(*n as usize),
            _ => None,
        })
        .unwrap_or(65_535);
    // Send one stream's worth more than allowed, 16 KiB frames, on one
    // stream, without waiting for the echo (we do not read).
    post_echo(&mut p, 1);
    let chunk = vec![0u8; 16_384];
    let mut frames = Vec::new();
    for _ in 0..(initial / chunk.len() + 20) {
        frames.push(data(1, &chunk, false));
    }
    p.send_all(frames);
    // Either the stream window (stream error) or the connection window
    // (connection error) overflows first: FLOW_CONTROL_ERROR either way.
    p.expect_stream_or_conn_error(1, ErrorCode::FLOW_CONTROL_ERROR);
    s.assert_healthy();
}

// ---------------------------------------------------------------------------
// §6.10 CONTINUATION

#[test]
fn s6_10_continuation_after_end_headers_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    p.send(headers_frame(1, &block, true, true));
    p.send(continuation(1, &lit(b"x-late", b"1"), true));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_10_continuation_on_other_stream_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    let (a, b) = block.split_at(block.len() / 2);
    p.send(headers_frame(1, a, true, false));
    p.send(continuation(3, b, true));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_10_continuation_on_stream_0_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    let (a, b) = block.split_at(block.len() / 2);
    p.send(headers_frame(1, a, true, false));
    p.send_raw(&raw_frame(kind::CONTINUATION, flags::END_HEADERS, 0, b));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_10_frame_interleaved_in_field_block_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    let (a, b) = block.split_at(block.len() / 2);
    p.send(headers_frame(1, a, true, false));
    p.send(priority(1, 0));
    p.send(continuation(1, b, true));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_5_3_last_value_of_a_repeated_setting_wins() {
    // §6.5.3: the values are processed in order; INITIAL_WINDOW_SIZE 100
    // then 1: the server may send 1 byte.
    let s = ConfServer::start();
    let mut p = s.connect();
    p.handshake_with(&[
        Setting::InitialWindowSize(100),
        Setting::InitialWindowSize(1),
    ]);
    p.send_get(1, "/bytes/1000");
    let got = data_until(&mut p, 1);
    assert_eq!(got, 1);
}

#[test]
fn s6_9_2_initial_window_size_decrease_can_make_a_window_negative() {
    // §6.9.2: window 3, 3 bytes received, INITIAL_WINDOW_SIZE 2 makes the
    // stream window -1; a WINDOW_UPDATE of 2 lets exactly 1 byte through.
    let s = ConfServer::start();
    let mut p = s.connect();
    p.handshake_with(&[Setting::InitialWindowSize(3)]);
    p.send_get(1, "/bytes/1000");
    let mut got = 0;
    got += data_until(&mut p, 3 - got);
    assert_eq!(got, 3);
    p.send(settings(&[Setting::InitialWindowSize(2)]));
    p.expect(|f| matches!(f, Frame::Settings(st) if st.ack), "ACK");
    p.send(window_update(1, 2));
    got += data_until(&mut p, 4 - got);
    assert_eq!(got, 4);
}

#[test]
fn s6_10_continuation_after_continuation_with_end_headers_is_protocol_error() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    let (a, b) = block.split_at(block.len() / 2);
    p.send_all([
        headers_frame(1, a, true, false),
        continuation(1, b, true),
        continuation(1, &lit(b"x-late", b"1"), true),
    ]);
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_10_continuation_after_data_is_protocol_error() {
    let s = ConfServer::start();
    let mut p = s.peer();
    post_echo(&mut p, 1);
    p.send(data(1, b"x", false));
    p.send(continuation(1, &lit(b"x-late", b"1"), true));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_6_push_promise_from_a_client_is_connection_error_protocol() {
    // §8.4: a client cannot push; a server receiving PUSH_PROMISE treats it
    // as a connection error PROTOCOL_ERROR.
    let s = ConfServer::start();
    let mut p = s.peer();
    post_echo(&mut p, 1);
    let mut payload = vec![0, 0, 0, 2];
    payload.extend(lit_block(&[
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "localhost"),
        (":path", "/x"),
    ]));
    p.send_raw(&raw_frame(
        kind::PUSH_PROMISE,
        flags::END_HEADERS,
        1,
        &payload,
    ));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s6_9_2_initial_window_size_increase_resumes_blocked_streams() {
    let s = ConfServer::start();
    let mut p = s.connect();
    p.handshake_with(&[Setting::InitialWindowSize(0)]);
    p.send_get(1, "/bytes/1000");
    p.expect(
        |f| matches!(f, Frame::Headers(h) if h.stream_id.0 == 1),
        "HEADERS",
    );
    p.send(settings(&[Setting::InitialWindowSize(100)]));
    let got = data_until(&mut p, 100);
    assert_eq!(got, 100);
}
