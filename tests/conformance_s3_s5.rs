//! End-to-end conformance, RFC 9113 §3 (starting HTTP/2), §4 (frames and
//! field blocks) and §5 (streams): a raw peer (`support/raw_peer.rs`) talks
//! to the test server over real TCP and checks the exact GOAWAY or
//! RST_STREAM each violation earns, that the GOAWAY arrives before the close,
//! that stream errors leave the connection usable, and that the server never
//! panics (`assert_healthy`). Modelled on h2spec's "http2" group.

mod support;

use std::time::Duration;

use h2actor::frame::{flags, kind, ErrorCode, Frame, Setting, PREFACE};
use support::raw_peer::*;

// ---------------------------------------------------------------------------
// §3.4 HTTP/2 connection preface

#[test]
fn s3_4_server_preface_is_a_settings_frame() {
    let s = ConfServer::start();
    let mut p = s.connect();
    p.send_raw(PREFACE);
    p.send(settings(&[]));
    // The server's first frame is SETTINGS (not an ACK).
    let first = p.recv().expect("server preface");
    assert!(
        matches!(&first, Frame::Settings(st) if !st.ack),
        "first frame {first:?}"
    );
    p.send(settings_ack());
    // §6.5.3: our SETTINGS are acknowledged.
    p.expect(
        |f| matches!(f, Frame::Settings(st) if st.ack),
        "SETTINGS ACK",
    );
    p.get_ok(1);
    s.assert_healthy();
}

#[test]
fn s3_4_invalid_preface_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.connect();
    p.send_raw(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n");
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s3_4_http1_request_instead_of_preface_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.connect();
    p.send_raw(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

/// §3.4 on a plain port that also takes the HTTP/1.1 upgrade (the demo
/// server's): bytes that are neither the preface nor an HTTP/1.x request
/// line are an invalid preface, not an HTTP/1.1 request to answer with a
/// 400 (h2spec --strict 3.5 #2 sends `INVALID CONNECTION PREFACE`).
#[test]
fn s3_4_invalid_preface_on_the_h2c_port_is_connection_error_protocol() {
    let server = support::TestServer::start();
    for bytes in [
        &b"INVALID CONNECTION PREFACE\r\n\r\n"[..],
        b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
    ] {
        let mut p = Peer::connect(server.addr);
        p.send_raw(bytes);
        let g = p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
        assert_eq!(g.last_stream_id.0, 0);
    }
    // HTTP/1.1 there keeps its HTTP/1.1 answer (505: not an upgrade).
    let mut tcp = std::net::TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    std::io::Write::write_all(&mut tcp, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let _ = std::io::Read::read_to_end(&mut tcp, &mut got);
    assert!(
        got.starts_with(b"HTTP/1.1 505 "),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
}

#[test]
fn s3_4_first_frame_not_settings_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.connect();
    p.send_raw(PREFACE);
    p.send(ping(*b"12345678"));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s3_4_first_frame_settings_ack_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.connect();
    p.send_raw(PREFACE);
    p.send(settings_ack());
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s3_4_preface_then_close_leaves_the_server_healthy() {
    let s = ConfServer::start();
    {
        let mut p = s.connect();
        p.send_raw(&PREFACE[..10]);
    } // dropped mid-preface
    s.assert_healthy();
}

// ---------------------------------------------------------------------------
// §4.1 frame format

#[test]
fn s4_1_unknown_frame_type_is_ignored() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_raw(&raw_frame(0xff, 0, 0, b"unknown payload"));
    p.send_raw(&raw_frame(0x42, 0xff, 1, b"on an idle stream")); // §5.5 too
    p.assert_alive();
    p.get_ok(1);
}

#[test]
fn s4_1_unknown_flags_are_ignored() {
    let s = ConfServer::start();
    let mut p = s.peer();
    // PING with every flag but ACK set: a plain PING, answered.
    p.send_raw(&raw_frame(kind::PING, 0xfe, 0, b"flagsflg"));
    p.expect_ping_ack(*b"flagsflg");
    // HEADERS with the undefined flags 0x2, 0x10, 0x40, 0x80 set.
    let block = p.encode(&get_fields("/"));
    let f = flags::END_STREAM | flags::END_HEADERS | 0x02 | 0x10 | 0x40 | 0x80;
    p.send_raw(&raw_frame(kind::HEADERS, f, 1, &block));
    let (status, body) = p.response(1);
    assert_eq!((status, &body[..]), (200, &b"hello world\n"[..]));
}

#[test]
fn s4_1_reserved_bit_of_stream_id_is_ignored() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    p.send_raw(&raw_frame_reserved_bit(
        kind::HEADERS,
        flags::END_STREAM | flags::END_HEADERS,
        1,
        &block,
    ));
    let (status, _) = p.response(1);
    assert_eq!(status, 200);
}

// ---------------------------------------------------------------------------
// §4.2 frame size

#[test]
fn s4_2_data_of_exactly_max_frame_size_is_accepted() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut f = get_fields("/echo");
    f[0].1 = "POST".into();
    p.send_headers(1, &f, false);
    let body = vec![b'x'; 16_384];
    p.send(data(1, &body, true));
    let (status, got) = p.response(1);
    assert_eq!(status, 200);
    assert_eq!(got.len(), body.len());
}

#[test]
fn s4_2_data_above_max_frame_size_is_frame_size_error() {
    // §4.2: FRAME_SIZE_ERROR; for DATA a stream error would do, we treat
    // any frame over our limit as a connection error (checked from the
    // frame header, before the payload is buffered): allowed ("MAY").
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut f = get_fields("/echo");
    f[0].1 = "POST".into();
    p.send_headers(1, &f, false);
    p.send(data(1, &vec![0u8; 16_385], true));
    assert!(p.expect_stream_or_conn_error(1, ErrorCode::FRAME_SIZE_ERROR));
    s.assert_healthy();
}

#[test]
fn s4_2_headers_above_max_frame_size_is_connection_error_frame_size() {
    // §4.2: a frame that can change connection state (a field block) MUST
    // be a connection error.
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut block = p.encode(&get_fields("/"));
    block.extend(lit(b"x-pad", &vec![b'a'; 16_400]));
    p.send(headers_frame(1, &block, true, true));
    p.expect_goaway(ErrorCode::FRAME_SIZE_ERROR);
    s.assert_healthy();
}

#[test]
fn s4_2_huge_frame_length_is_refused_from_the_header_alone() {
    // A 16 MiB length announced and never sent: the server does not wait
    // for (or buffer) the payload.
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut raw = raw_frame(kind::DATA, 0, 1, b"");
    raw[0] = 0xff;
    raw[1] = 0xff;
    raw[2] = 0xff;
    p.send_raw(&raw);
    p.expect_goaway(ErrorCode::FRAME_SIZE_ERROR);
    s.assert_healthy();
}

// ---------------------------------------------------------------------------
// §4.3 field section compression and decompression

#[test]
fn s4_3_truncated_field_block_is_connection_error_compression() {
    let s = ConfServer::start();
    let mut p = s.peer();
    // A literal announcing a 10-byte name with 2 bytes present.
    p.send(headers_frame(1, &[0x00, 0x0a, b'a', b'b'], true, true));
    p.expect_goaway(ErrorCode::COMPRESSION_ERROR);
    s.assert_healthy();
}

#[test]
fn s4_3_field_block_split_over_continuations_is_decoded() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    let (a, rest) = block.split_at(block.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    p.send_all([
        headers_frame(1, a, true, false),
        continuation(1, b, false),
        continuation(1, c, true),
    ]);
    let (status, _) = p.response(1);
    assert_eq!(status, 200);
}

#[test]
fn s4_3_headers_without_end_headers_then_headers_on_other_stream_is_protocol_error() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    p.send(headers_frame(1, &block, true, false));
    let block3 = lit_block(&[(":method", "GET"), (":path", "/")]);
    p.send(headers_frame(3, &block3, true, true));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s4_3_headers_without_end_headers_then_data_is_protocol_error() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    p.send(headers_frame(1, &block, false, false));
    p.send(data(1, b"x", true));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s4_3_headers_without_end_headers_then_ping_is_protocol_error() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    p.send(headers_frame(1, &block, true, false));
    p.send(ping(*b"inblock!"));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s5_5_unknown_frame_inside_a_field_block_is_protocol_error() {
    // §5.5: extension frames MUST NOT appear inside a field block; §4.3
    // makes any other frame there a connection error PROTOCOL_ERROR.
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    p.send(headers_frame(1, &block, true, false));
    p.send_raw(&raw_frame(0xfa, 0, 1, b"ext"));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

// ---------------------------------------------------------------------------
// §5.1 stream states: idle

#[test]
fn s5_1_data_on_idle_stream_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(data(1, b"hello", true));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s5_1_rst_stream_on_idle_stream_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(rst(1, ErrorCode::CANCEL));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s5_1_window_update_on_idle_stream_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(window_update(1, 100));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s5_1_continuation_on_idle_stream_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    p.send(continuation(1, &block, true));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s5_1_priority_on_idle_stream_is_allowed() {
    // §6.3: PRIORITY may be sent on a stream in any state, idle included.
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(priority(1, 0));
    p.send(priority(7, 3));
    p.assert_alive();
    p.get_ok(1);
}

// §5.1 half-closed (remote): a request ended with END_STREAM whose response
// cannot finish (our INITIAL_WINDOW_SIZE is 0, so the server is stuck in
// the body) stays half-closed (remote) on the server.
fn half_closed_remote(s: &ConfServer) -> Peer {
    let mut p = s.connect();
    p.handshake_with(&[Setting::InitialWindowSize(0)]);
    p.send_get(1, "/bytes/100000");
    p.expect(
        |f| matches!(f, Frame::Headers(h) if h.stream_id.0 == 1),
        "response HEADERS on 1",
    );
    p
}

#[test]
fn s5_1_data_on_half_closed_remote_is_stream_error_stream_closed() {
    let s = ConfServer::start();
    let mut p = half_closed_remote(&s);
    p.send(data(1, b"too late", true));
    p.expect_rst(1, ErrorCode::STREAM_CLOSED);
    p.assert_alive();
    p.get_ok_with_window(3);
    s.assert_healthy();
}

#[test]
fn s5_1_headers_on_half_closed_remote_is_stream_error_stream_closed() {
    let s = ConfServer::start();
    let mut p = half_closed_remote(&s);
    let block = lit_block(&[("x-trailer", "late")]);
    p.send(headers_frame(1, &block, true, true));
    p.expect_rst(1, ErrorCode::STREAM_CLOSED);
    p.assert_alive();
    p.get_ok_with_window(3);
    s.assert_healthy();
}

#[test]
fn s5_1_half_closed_remote_accepts_window_update_priority_and_rst() {
    let s = ConfServer::start();
    let mut p = half_closed_remote(&s);
    p.send(priority(1, 0));
    p.send(window_update(1, 1000));
    // The window opened: DATA flows on 1.
    p.expect(
        |f| matches!(f, Frame::Data(d) if d.stream_id.0 == 1),
        "DATA on 1 after WINDOW_UPDATE",
    );
    p.send(rst(1, ErrorCode::CANCEL));
    p.assert_alive();
    p.get_ok_with_window(3);
    s.assert_healthy();
}

// §5.1 closed

#[test]
fn s5_1_data_after_end_stream_on_closed_stream_is_stream_closed() {
    // §5.1 "closed": receiving DATA there MAY be a connection error
    // STREAM_CLOSED (we remember the stream and choose the connection error).
    let s = ConfServer::start();
    let mut p = s.peer();
    p.get_ok(1);
    p.send(data(1, b"late", true));
    p.expect_stream_or_conn_error(1, ErrorCode::STREAM_CLOSED);
    s.assert_healthy();
}

#[test]
fn s5_1_headers_after_end_stream_on_closed_stream_is_stream_closed() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.get_ok(1);
    p.send_get(1, "/");
    p.expect_stream_or_conn_error(1, ErrorCode::STREAM_CLOSED);
    s.assert_healthy();
}

#[test]
fn s5_1_data_after_our_rst_stream_is_stream_closed() {
    // §5.1 "closed" after the peer (we, the client) sent RST_STREAM: any
    // frame but PRIORITY is STREAM_CLOSED (stream or connection error).
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut f = get_fields("/echo");
    f[0].1 = "POST".into();
    p.send_headers(1, &f, false);
    p.send(rst(1, ErrorCode::CANCEL));
    p.send(data(1, b"after reset", true));
    p.expect_stream_or_conn_error(1, ErrorCode::STREAM_CLOSED);
    s.assert_healthy();
}

#[test]
fn s5_1_window_update_and_rst_on_recently_closed_stream_are_ignored() {
    // §5.1 "closed": WINDOW_UPDATE and RST_STREAM can arrive for a short
    // period after END_STREAM was sent; they are ignored.
    let s = ConfServer::start();
    let mut p = s.peer();
    p.get_ok(1);
    p.send(window_update(1, 1000));
    p.send(rst(1, ErrorCode::CANCEL));
    p.send(priority(1, 0));
    p.assert_alive();
    p.get_ok(3);
}

// ---------------------------------------------------------------------------
// §5.1.1 stream identifiers

#[test]
fn s5_1_1_even_stream_id_from_client_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_get(2, "/");
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s5_1_1_decreasing_stream_id_is_connection_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.get_ok(5);
    p.send_get(3, "/");
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s5_1_1_skipped_stream_ids_are_fine_and_close_the_lower_ones() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.get_ok(1);
    p.get_ok(11); // 3..9 implicitly closed
    p.send(data(7, b"x", true)); // a stream that was never opened (closed now)
                                 // §5.1.1: opening 11 closed the idle 3..9; DATA on a closed stream MAY
                                 // be a connection error STREAM_CLOSED (§5.1), our choice.
    let conn = p.expect_stream_or_conn_error(7, ErrorCode::STREAM_CLOSED);
    assert!(conn, "we answer with a connection error");
    s.assert_healthy();
}

#[test]
fn s5_1_1_largest_stream_id_is_accepted() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.get_ok(0x7fff_ffff);
}

// ---------------------------------------------------------------------------
// §5.1.2 stream concurrency

#[test]
fn s5_1_2_streams_above_max_concurrent_streams_are_refused() {
    // §5.1.2: exceeding our SETTINGS_MAX_CONCURRENT_STREAMS MUST be a stream
    // error PROTOCOL_ERROR or REFUSED_STREAM; we pick REFUSED_STREAM (§8.7:
    // the client knows the request was not processed and may retry).
    let s = ConfServer::start();
    let mut p = s.connect();
    p.handshake_with(&[Setting::InitialWindowSize(0)]); // responses stay open
    let max = p
        .server_settings
        .iter()
        .find_map(|s| match s {
            Setting::MaxConcurrentStreams(n) => Some(*n),
            _ => None,
        })
        .expect("the server advertises SETTINGS_MAX_CONCURRENT_STREAMS");
    assert!(max <= 1000, "advertised {max}");
    // Wait for our settings to be acknowledged before counting.
    p.expect(
        |f| matches!(f, Frame::Settings(st) if st.ack),
        "SETTINGS ACK",
    );
    let mut frames = Vec::new();
    for i in 0..max {
        let block = p.encode(&get_fields("/bytes/10"));
        frames.push(headers_frame(2 * i + 1, &block, true, true));
    }
    // The refused request inserts a new entry in the HPACK tables: the
    // server must still decode its block (§4.3) to stay in sync.
    let mut refused = get_fields("/bytes/10");
    refused.push(("x-refused".into(), "yes".into()));
    let block = p.encode(&refused);
    frames.push(headers_frame(2 * max + 1, &block, true, true));
    p.send_all(frames);
    let over = 2 * max + 1;
    p.expect_rst(over, ErrorCode::REFUSED_STREAM);
    p.assert_alive();
    // Closing one stream frees a slot.
    p.send(rst(1, ErrorCode::CANCEL));
    p.send(window_update(0, 1 << 20));
    let mut next = get_fields("/");
    next.push(("x-refused".into(), "yes".into())); // now an index reference
    p.send_headers(over + 2, &next, true);
    p.send(window_update(over + 2, 1 << 20));
    let (status, _) = p.response(over + 2);
    assert_eq!(status, 200);
    s.assert_healthy();
}

// ---------------------------------------------------------------------------
// §5.3 priority (deprecated by RFC 9113)

// RFC 7540 §5.3.1: "A stream cannot depend on itself. An endpoint MUST
// treat this as a stream error of type PROTOCOL_ERROR." RFC 9113 deprecates
// the priority scheme and dropped the sentence, but nghttp2, h2o and h2spec
// still hold peers to it; so do we. The stream is reset, the connection
// stays usable.

#[test]
fn rfc7540_s5_3_1_headers_depending_on_itself_is_stream_error_protocol() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    let mut payload = vec![0, 0, 0, 1, 15]; // depends on stream 1, weight 16
    payload.extend(block);
    p.send_raw(&raw_frame(
        kind::HEADERS,
        flags::END_STREAM | flags::END_HEADERS | flags::PRIORITY,
        1,
        &payload,
    ));
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
    // HPACK state is intact (the refused block was decoded) and the
    // connection serves the next stream.
    p.get_ok(3);
    s.assert_healthy();
}

#[test]
fn rfc7540_s5_3_1_exclusive_self_dependency_is_stream_error_protocol_too() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    let mut payload = vec![0x80, 0, 0, 3, 0]; // E flag, depends on stream 3
    payload.extend(block);
    p.send_raw(&raw_frame(
        kind::HEADERS,
        flags::END_STREAM | flags::END_HEADERS | flags::PRIORITY,
        3,
        &payload,
    ));
    p.expect_rst(3, ErrorCode::PROTOCOL_ERROR);
    p.get_ok(5);
}

#[test]
fn rfc7540_s5_3_1_priority_on_idle_stream_depending_on_itself_is_reset_on_that_stream() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(priority(3, 3));
    p.expect_rst(3, ErrorCode::PROTOCOL_ERROR);
    p.assert_alive();
    p.get_ok(5);
    s.assert_healthy();
}

#[test]
fn rfc7540_s5_3_1_priority_on_open_stream_depending_on_itself_resets_it() {
    let s = ConfServer::start();
    let mut p = s.peer();
    // POST /echo without END_STREAM: the stream stays open.
    let mut post = get_fields("/echo");
    post[0].1 = "POST".into();
    p.send_headers(1, &post, false);
    p.send(priority(1, 1));
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
    p.get_ok(3);
}

#[test]
fn s5_3_priority_depending_on_another_stream_is_ignored() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(priority(1, 3));
    p.send(priority(5, 0));
    p.assert_alive();
    p.get_ok(1);
}

// ---------------------------------------------------------------------------
// §5.4 error handling

#[test]
fn s5_4_1_connection_error_sends_goaway_with_last_stream_id_then_closes() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.get_ok(1);
    p.get_ok(3);
    p.send_raw(&raw_frame(kind::PING, 0, 0, b"short")); // §6.7 wrong length
    let g = p.expect_goaway(ErrorCode::FRAME_SIZE_ERROR);
    assert_eq!(g.last_stream_id.0, 3, "§6.8: the last stream processed");
    s.assert_healthy();
}

#[test]
fn s5_4_2_stream_error_leaves_other_streams_running() {
    // A stream error on one stream while another response is in flight.
    let s = ConfServer::start();
    let mut p = s.connect();
    p.handshake_with(&[Setting::InitialWindowSize(1000)]);
    p.send_get(1, "/bytes/3000");
    p.send(window_update(1, 0)); // §6.9: stream error PROTOCOL_ERROR
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
    p.get_ok(3);
    s.assert_healthy();
}

#[test]
fn s5_4_peer_goaway_lets_open_requests_finish() {
    // §6.8: a client's GOAWAY concerns streams the server would open; the
    // request already sent is still answered.
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_get(1, "/bytes/40000");
    p.send(goaway(0, ErrorCode::NO_ERROR));
    let (status, body) = p.response(1);
    assert_eq!((status, body.len()), (200, 40_000));
    s.assert_healthy();
}

#[test]
fn s5_4_peer_closing_mid_response_leaves_the_server_healthy() {
    let s = ConfServer::start();
    {
        let mut p = s.peer();
        p.send_get(1, "/bytes/10000000");
        let _ = p.recv_within(Duration::from_millis(100));
    }
    s.assert_healthy();
}

#[test]
fn s5_1_continuation_on_half_closed_remote_is_protocol_error() {
    // §6.10: a CONTINUATION must follow a field block frame without
    // END_HEADERS; anywhere else it is a connection error PROTOCOL_ERROR.
    let s = ConfServer::start();
    let mut p = half_closed_remote(&s);
    p.send(continuation(1, &lit(b"x-late", b"1"), true));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s5_1_headers_after_our_rst_stream_is_stream_closed() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut f = get_fields("/echo");
    f[0].1 = "POST".into();
    p.send_headers(1, &f, false);
    p.send(rst(1, ErrorCode::CANCEL));
    p.send(headers_frame(
        1,
        &lit_block(&[("x-trailer", "1")]),
        true,
        true,
    ));
    p.expect_stream_or_conn_error(1, ErrorCode::STREAM_CLOSED);
    s.assert_healthy();
}

#[test]
fn s5_1_continuation_after_our_rst_stream_is_protocol_error() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut f = get_fields("/echo");
    f[0].1 = "POST".into();
    p.send_headers(1, &f, false);
    p.send(rst(1, ErrorCode::CANCEL));
    p.send(continuation(1, &lit(b"x-late", b"1"), true));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s5_1_continuation_on_closed_stream_is_protocol_error() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.get_ok(1);
    p.send(continuation(1, &lit(b"x-late", b"1"), true));
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s5_4_1_goaway_reaches_the_peer_despite_unread_input() {
    // A connection error followed at once by 1 MB the server will never
    // process: closing with unread input would send a TCP RST that can
    // destroy the GOAWAY in flight; the server drains first (lingering
    // close), so the GOAWAY arrives.
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut bytes = raw_frame(kind::PING, 0, 1, b"12345678"); // PROTOCOL_ERROR
    for _ in 0..64 {
        bytes.extend(raw_frame(0xee, 0, 0, &[0u8; 16_000]));
    }
    p.send_raw(&bytes);
    p.expect_goaway(ErrorCode::PROTOCOL_ERROR);
    s.assert_healthy();
}

#[test]
fn s5_1_frames_in_flight_after_our_stream_error_are_processed_minimally() {
    // §5.1 "closed": after the server resets a stream (here: a malformed
    // request), frames the client sent before seeing the RST_STREAM are
    // discarded, but HEADERS still update HPACK state and DATA still counts
    // toward the connection window. Everything is sent in one batch, as a
    // client that has not read the RST_STREAM yet would.
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut bad = get_fields("/echo");
    bad[0].1 = "POST".into();
    bad.push(("X-Upper".into(), "1".into()));
    let bad_block = lit_block(
        &bad.iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
    );
    let mut frames = vec![headers_frame(1, &bad_block, false, true)];
    for _ in 0..8 {
        frames.push(data(1, &[0u8; 16_384], false));
    }
    // Trailers encoded with indexing: they add an entry to both tables.
    let fields = vec![("x-in-flight".to_string(), "indexed".to_string())];
    let trailers = p.encode(&fields);
    frames.push(headers_frame(1, &trailers, true, true));
    // The next request refers to that entry by index.
    let mut get = get_fields("/");
    get.extend(fields);
    let get_block = p.encode(&get);
    frames.push(headers_frame(3, &get_block, true, true));
    p.send_all(frames);
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
    let (status, _) = p.response(3);
    assert_eq!(status, 200);
    p.assert_alive();
    s.assert_healthy();
}

#[test]
fn s7_unknown_error_code_in_rst_stream_is_accepted() {
    // §7: unknown error codes MUST NOT trigger any special behavior.
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_get(1, "/bytes/10000000");
    p.expect(
        |f| matches!(f, Frame::Headers(h) if h.stream_id.0 == 1),
        "HEADERS",
    );
    p.send(rst(1, ErrorCode(0xdead_beef)));
    p.send(window_update(0, 1 << 20));
    p.get_ok(3);
    s.assert_healthy();
}

#[test]
fn s7_unknown_error_code_in_goaway_is_accepted() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send_get(1, "/");
    p.send(goaway(1, ErrorCode(0x1234)));
    // The request sent before the GOAWAY is still answered, or the server
    // closes: never an error of its own.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        match p.recv_within(deadline.saturating_duration_since(std::time::Instant::now())) {
            Ok(Frame::GoAway(g)) => assert_eq!(g.error_code, ErrorCode::NO_ERROR),
            Ok(Frame::RstStream(r)) => panic!("{r:?}"),
            Ok(_) => {}
            Err(Closed::Eof) => break,
            Err(Closed::Timeout) => break, // still open: fine too
        }
    }
    s.assert_healthy();
}

#[test]
fn s6_1_nonzero_padding_is_accepted() {
    // §6.1: a receiver is not obligated to verify padding (it MAY treat
    // non-zero padding as PROTOCOL_ERROR); we do not check it.
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut f = get_fields("/echo");
    f[0].1 = "POST".into();
    p.send_headers(1, &f, false);
    let mut payload = vec![2u8];
    payload.extend_from_slice(b"ok");
    payload.extend_from_slice(&[0xff, 0xff]);
    p.send_raw(&raw_frame(
        kind::DATA,
        flags::PADDED | flags::END_STREAM,
        1,
        &payload,
    ));
    let (status, body) = p.response(1);
    assert_eq!((status, &body[..]), (200, &b"ok"[..]));
}
