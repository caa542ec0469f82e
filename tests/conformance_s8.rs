//! End-to-end conformance, RFC 9113 §8 (HTTP message mapping): every
//! malformed request (§8.1.1, §8.2, §8.3) is a stream error PROTOCOL_ERROR
//! (RST_STREAM; §8.1.1 allows a response first, we send none), is never
//! answered as a request, and the connection then serves a valid GET.
//! Field blocks are hand-written literals (`lit_block`), so they leave the
//! HPACK tables untouched. Modelled on h2spec's "http2/8.1".

mod support;

use h2actor::frame::ErrorCode;
use support::raw_peer::*;

const GET: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":authority", "localhost"),
    (":path", "/"),
];

/// `fields` as a request on stream 1 (END_STREAM when `end_stream`): reset
/// with PROTOCOL_ERROR, no response on 1, and `GET /` on 3 still works.
fn assert_malformed(fields: &[(&str, &str)]) {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(1, &lit_block(fields), true, true));
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
    assert_eq!(p.status_of(1), None, "a malformed request was answered");
    p.get_ok(3);
    s.assert_healthy();
}

/// `GET` plus `extra` fields (after the pseudo-headers).
fn get_with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v = GET.to_vec();
    v.extend_from_slice(extra);
    v
}

/// `fields` on stream 1 are a well-formed request: answered 200.
fn assert_well_formed(fields: &[(&str, &str)]) {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(1, &lit_block(fields), true, true));
    let (status, _) = p.response(1);
    assert_eq!(status, 200);
}

// ---------------------------------------------------------------------------
// §8.2.1 field validity

#[test]
fn s8_2_1_uppercase_field_name_is_malformed() {
    assert_malformed(&get_with(&[("X-Upper", "1")]));
}

#[test]
fn s8_2_1_field_name_with_space_is_malformed() {
    assert_malformed(&get_with(&[("x bad", "1")]));
}

#[test]
fn s8_2_1_field_name_with_colon_is_malformed() {
    assert_malformed(&get_with(&[("x:bad", "1")]));
}

#[test]
fn s8_2_1_empty_field_name_is_malformed() {
    assert_malformed(&get_with(&[("", "1")]));
}

#[test]
fn s8_2_1_field_value_with_nul_is_malformed() {
    assert_malformed(&get_with(&[("x-v", "a\0b")]));
}

#[test]
fn s8_2_1_field_value_with_cr_lf_is_malformed() {
    assert_malformed(&get_with(&[("x-v", "a\r\nx-injected: 1")]));
}

#[test]
fn s8_2_1_field_value_with_leading_or_trailing_whitespace_is_malformed() {
    assert_malformed(&get_with(&[("x-v", " padded")]));
    assert_malformed(&get_with(&[("x-v", "padded\t")]));
}

// ---------------------------------------------------------------------------
// §8.2.2 connection-specific fields

#[test]
fn s8_2_2_connection_header_is_malformed() {
    assert_malformed(&get_with(&[("connection", "keep-alive")]));
}

#[test]
fn s8_2_2_other_connection_specific_headers_are_malformed() {
    for name in [
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
    ] {
        assert_malformed(&get_with(&[(name, "x")]));
    }
}

#[test]
fn s8_2_2_te_other_than_trailers_is_malformed() {
    assert_malformed(&get_with(&[("te", "gzip")]));
    assert_malformed(&get_with(&[("te", "trailers, gzip")]));
}

#[test]
fn s8_2_2_te_trailers_is_allowed() {
    assert_well_formed(&get_with(&[("te", "trailers")]));
}

#[test]
fn s8_2_3_split_cookie_fields_are_allowed() {
    assert_well_formed(&get_with(&[("cookie", "a=1"), ("cookie", "b=2")]));
}

// ---------------------------------------------------------------------------
// §8.3 pseudo-header fields

#[test]
fn s8_3_pseudo_header_after_regular_field_is_malformed() {
    assert_malformed(&[
        (":method", "GET"),
        (":scheme", "http"),
        ("x-regular", "1"),
        (":path", "/"),
    ]);
}

#[test]
fn s8_3_unknown_pseudo_header_is_malformed() {
    assert_malformed(&get_with_pseudo(":foo", "bar"));
}

#[test]
fn s8_3_response_pseudo_header_in_request_is_malformed() {
    assert_malformed(&get_with_pseudo(":status", "200"));
}

fn get_with_pseudo(name: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![(name, value)];
    v.extend_from_slice(GET);
    v
}

#[test]
fn s8_3_1_missing_method_is_malformed() {
    assert_malformed(&[(":scheme", "http"), (":path", "/")]);
}

#[test]
fn s8_3_1_missing_scheme_is_malformed() {
    assert_malformed(&[(":method", "GET"), (":path", "/")]);
}

#[test]
fn s8_3_1_missing_path_is_malformed() {
    assert_malformed(&[(":method", "GET"), (":scheme", "http")]);
}

#[test]
fn s8_3_1_empty_path_is_malformed() {
    assert_malformed(&[(":method", "GET"), (":scheme", "http"), (":path", "")]);
}

#[test]
fn s8_3_1_duplicate_method_is_malformed() {
    assert_malformed(&get_with_pseudo(":method", "GET"));
}

#[test]
fn s8_3_1_duplicate_path_is_malformed() {
    assert_malformed(&get_with_pseudo(":path", "/other"));
}

#[test]
fn s8_3_1_duplicate_scheme_is_malformed() {
    assert_malformed(&get_with_pseudo(":scheme", "https"));
}

#[test]
fn s8_3_1_host_without_authority_is_allowed() {
    assert_well_formed(&[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        ("host", "localhost"),
    ]);
}

#[test]
fn s8_5_connect_with_path_is_malformed() {
    // §8.5: CONNECT omits :scheme and :path.
    assert_malformed(&[
        (":method", "CONNECT"),
        (":authority", "example.com:443"),
        (":path", "/"),
    ]);
}

#[test]
fn s8_5_connect_without_authority_is_malformed() {
    assert_malformed(&[(":method", "CONNECT")]);
}

// ---------------------------------------------------------------------------
// §8.1 message framing: content-length, trailers

fn post(path: &'static str, extra: &[(&'static str, &'static str)]) -> Vec<u8> {
    let mut v = vec![
        (":method", "POST"),
        (":scheme", "http"),
        (":authority", "localhost"),
        (":path", path),
    ];
    v.extend_from_slice(extra);
    lit_block(&v)
}

#[test]
fn s8_1_1_content_length_larger_than_data_is_malformed() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(
        1,
        &post("/echo", &[("content-length", "10")]),
        false,
        true,
    ));
    p.send(data(1, b"12345", true));
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
    p.get_ok(3);
    s.assert_healthy();
}

#[test]
fn s8_1_1_content_length_smaller_than_data_is_malformed() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(
        1,
        &post("/echo", &[("content-length", "3")]),
        false,
        true,
    ));
    p.send(data(1, b"12345", true));
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
    p.get_ok(3);
    s.assert_healthy();
}

#[test]
fn s8_1_1_content_length_on_headers_with_end_stream_is_malformed() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(
        1,
        &post("/echo", &[("content-length", "10")]),
        true,
        true,
    ));
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
    p.get_ok(3);
    s.assert_healthy();
}

#[test]
fn s8_1_1_content_length_over_several_data_frames_matching_is_fine() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(
        1,
        &post("/echo", &[("content-length", "10")]),
        false,
        true,
    ));
    p.send(data(1, b"12345", false));
    p.send(data(1, b"", false));
    p.send(data(1, b"67890", true));
    let (status, body) = p.response(1);
    assert_eq!((status, &body[..]), (200, &b"1234567890"[..]));
}

#[test]
fn s8_1_trailers_are_accepted() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(
        1,
        &post("/echo", &[("te", "trailers")]),
        false,
        true,
    ));
    p.send(data(1, b"body", false));
    p.send(headers_frame(
        1,
        &lit_block(&[("x-checksum", "1")]),
        true,
        true,
    ));
    let (status, body) = p.response(1);
    assert_eq!((status, &body[..]), (200, &b"body"[..]));
}

#[test]
fn s8_1_trailers_with_pseudo_header_are_malformed() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(1, &post("/echo", &[]), false, true));
    p.send(data(1, b"body", false));
    p.send(headers_frame(1, &lit_block(&[(":path", "/x")]), true, true));
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
    p.get_ok(3);
    s.assert_healthy();
}

#[test]
fn s8_1_trailers_without_end_stream_are_malformed() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(1, &post("/echo", &[]), false, true));
    p.send(data(1, b"body", false));
    p.send(headers_frame(
        1,
        &lit_block(&[("x-trailer", "1")]),
        false,
        true,
    ));
    p.expect_rst(1, ErrorCode::PROTOCOL_ERROR);
    p.get_ok(3);
    s.assert_healthy();
}

#[test]
fn s8_1_data_after_trailers_is_stream_closed() {
    // Trailers end the stream (END_STREAM): later DATA is on a
    // half-closed (remote) or closed stream, STREAM_CLOSED (§5.1).
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(1, &post("/echo", &[]), false, true));
    p.send(headers_frame(
        1,
        &lit_block(&[("x-trailer", "1")]),
        true,
        true,
    ));
    p.send(data(1, b"late", true));
    p.expect_stream_or_conn_error(1, ErrorCode::STREAM_CLOSED);
    s.assert_healthy();
}

#[test]
fn s8_1_many_malformed_requests_in_a_row_leave_the_connection_usable() {
    let s = ConfServer::start();
    let mut p = s.peer();
    for i in 0..50u32 {
        let id = 2 * i + 1;
        p.send(headers_frame(
            id,
            &lit_block(&get_with(&[("X-Bad", "1")])),
            true,
            true,
        ));
        p.expect_rst(id, ErrorCode::PROTOCOL_ERROR);
    }
    p.get_ok(101);
    assert!(p
        .log
        .iter()
        .all(|l| !l.starts_with("HEADERS") || l.contains("s=101")));
    s.assert_healthy();
}

#[test]
fn s8_1_response_is_well_formed() {
    // What the server sends passes the same checks: a :status first, no
    // connection-specific fields, lowercase names.
    let s = ConfServer::start();
    let mut p = s.peer();
    p.get_ok(1);
    let (_, fields) = p
        .decoded
        .iter()
        .find(|(id, _)| id.0 == 1)
        .expect("response block");
    assert_eq!(&fields[0].name[..], b":status");
    for f in fields {
        assert!(!f.name.iter().any(|b| b.is_ascii_uppercase()), "{f:?}");
        assert!(!matches!(
            &f.name[..],
            b"connection" | b"keep-alive" | b"transfer-encoding" | b"upgrade"
        ));
    }
    assert!(p.log.iter().any(|l| l.starts_with("DATA")));
}

#[test]
fn s8_4_server_push_reaches_a_client_that_allows_it() {
    use h2actor::frame::Frame;
    let s = ConfServer::start();
    let mut p = s.peer(); // SETTINGS_ENABLE_PUSH defaults to 1
    p.send_headers(1, &get_fields("/push"), true);
    // §8.4: the PUSH_PROMISE comes on the request stream, before the page,
    // with an even promised id.
    let f = p.expect(
        |f| matches!(f, Frame::PushPromise(_) | Frame::Headers(_)),
        "PUSH_PROMISE",
    );
    let Frame::PushPromise(pp) = f else {
        panic!("response before the PUSH_PROMISE: {f:?}")
    };
    assert_eq!(pp.stream_id.0, 1);
    let promised = pp.promised_id.0;
    assert!(promised % 2 == 0 && promised > 0);
    let (status, page) = p.response(1);
    assert_eq!(status, 200);
    assert!(!page.is_empty());
    let (status, css) = p.response(promised);
    assert_eq!(status, 200);
    assert_eq!(&css[..], b"body { color: green }\n");
}

#[test]
fn s8_4_no_push_to_a_client_that_disabled_it() {
    use h2actor::frame::Setting;
    let s = ConfServer::start();
    let mut p = s.connect();
    p.handshake_with(&[Setting::EnablePush(false)]);
    p.send_headers(1, &get_fields("/push"), true);
    let (status, _) = p.response(1);
    assert_eq!(status, 200);
    assert!(
        p.log.iter().all(|l| !l.contains("PushPromise")),
        "{:?}",
        p.log
    );
}

#[test]
fn rfc9110_9_3_2_head_response_has_no_content() {
    // HEAD: the server must not send content (RFC 9110 §9.3.2), and its
    // content-length (if any) describes the GET response.
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(
        1,
        &lit_block(&[
            (":method", "HEAD"),
            (":scheme", "http"),
            (":authority", "localhost"),
            (":path", "/"),
        ]),
        true,
        true,
    ));
    let (_, body) = p.response(1);
    assert!(body.is_empty(), "{} body bytes", body.len());
    p.get_ok(3);
}

#[test]
fn s5_1_2_no_push_when_the_client_allows_no_concurrent_streams() {
    // §5.1.2: SETTINGS_MAX_CONCURRENT_STREAMS 0 from the client: the server
    // may not open (push) any stream; the page comes alone.
    use h2actor::frame::Setting;
    let s = ConfServer::start();
    let mut p = s.connect();
    p.handshake_with(&[Setting::MaxConcurrentStreams(0)]);
    p.expect(
        |f| matches!(f, h2actor::frame::Frame::Settings(st) if st.ack),
        "ACK",
    );
    p.send_headers(1, &get_fields("/push"), true);
    let (status, _) = p.response(1);
    assert_eq!(status, 200);
    assert!(
        p.log.iter().all(|l| !l.contains("PushPromise")),
        "{:?}",
        p.log
    );
}

#[test]
fn s8_3_1_path_not_starting_with_slash_is_malformed() {
    // §8.3.1: :path is the path and query of the target URI (origin-form,
    // RFC 9112 §3.2.1): it starts with '/', or is '*' for OPTIONS.
    assert_malformed(&[
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "localhost"),
        (":path", "no-slash"),
    ]);
}

#[test]
fn s8_3_1_options_asterisk_is_allowed() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(
        1,
        &lit_block(&[
            (":method", "OPTIONS"),
            (":scheme", "http"),
            (":authority", "localhost"),
            (":path", "*"),
        ]),
        true,
        true,
    ));
    let (status, _) = p.response(1); // 404 from the test server: not reset
    assert_eq!(status, 404);
}

#[test]
fn s8_3_1_host_differing_from_authority() {
    // §8.3.1: a server SHOULD treat it as malformed.
    assert_malformed(&get_with(&[("host", "elsewhere.example")]));
}

#[test]
fn rfc8441_3_protocol_pseudo_header_without_enable_connect_protocol_is_malformed() {
    // RFC 8441 §3/§5: :protocol is only allowed once the server sent
    // SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (the test server does not).
    assert_malformed(&[
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "http"),
        (":authority", "localhost"),
        (":path", "/chat"),
    ]);
}

#[test]
fn s8_5_well_formed_connect_is_not_reset_as_malformed() {
    let s = ConfServer::start();
    let mut p = s.peer();
    p.send(headers_frame(
        1,
        &lit_block(&[(":method", "CONNECT"), (":authority", "example.com:443")]),
        true,
        true,
    ));
    let (status, _) = p.response(1); // the test server has no tunnels: 404
    assert_eq!(status, 404);
}

fn pushed_stream(p: &mut Peer) -> u32 {
    use h2actor::frame::Frame;
    p.send_headers(1, &get_fields("/push"), true);
    let f = p.expect(|f| matches!(f, Frame::PushPromise(_)), "PUSH_PROMISE");
    let Frame::PushPromise(pp) = f else {
        unreachable!()
    };
    pp.promised_id.0
}

#[test]
fn s5_1_data_from_client_on_pushed_stream_is_stream_closed() {
    // §8.4/§5.1: a pushed stream is half-closed (remote) for the server
    // from the start: the client may not send DATA there.
    let s = ConfServer::start();
    let mut p = s.peer();
    let promised = pushed_stream(&mut p);
    p.send(data(promised, b"no", true));
    p.expect_stream_or_conn_error(promised, ErrorCode::STREAM_CLOSED);
    s.assert_healthy();
}

#[test]
fn s8_4_client_may_refuse_a_push_with_rst_stream() {
    // §8.4.2: a client cancels a push with RST_STREAM (CANCEL or
    // REFUSED_STREAM); the request stream and the connection go on.
    let s = ConfServer::start();
    let mut p = s.peer();
    let promised = pushed_stream(&mut p);
    p.send(rst(promised, ErrorCode::REFUSED_STREAM));
    let (status, _) = p.response(1);
    assert_eq!(status, 200);
    p.get_ok(3);
    s.assert_healthy();
}
