//! Rule-by-rule tests of the state machine, named after the RFC 9113
//! section they check. Each drives a `Connection` frame by frame (the peer
//! is played by hand with its own HPACK contexts) and decodes what
//! `poll_transmit` wrote; the end-to-end ones pipe a client `Connection`
//! into a server `Connection`.

use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};

use super::*;
use crate::frame::{
    self, Continuation, Data, Frame, GoAway, Headers, Ping, Priority, PrioritySpec, PushPromise,
    RstStream, Setting, Settings, StreamId, Unknown, WindowUpdate, MAX_MAX_FRAME_SIZE, PREFACE,
};
use crate::hpack;

// ---------------------------------------------------------------------------
// harness

/// Everything `c` wants to write, decoded (the client preface skipped).
fn drain(c: &mut Connection) -> Vec<Frame> {
    let mut buf = BytesMut::new();
    c.poll_transmit(&mut buf, usize::MAX);
    if buf.starts_with(PREFACE) {
        buf.advance(PREFACE.len());
    }
    let mut out = Vec::new();
    loop {
        match Frame::decode(&mut buf, MAX_MAX_FRAME_SIZE) {
            Ok(Some(f)) => out.push(f),
            Ok(None) => break,
            Err(e) => panic!("our own output does not decode: {e}"),
        }
    }
    assert!(buf.is_empty(), "trailing bytes in our output");
    assert!(
        !c.wants_transmit(),
        "wants_transmit after an unlimited poll_transmit (would spin)"
    );
    out
}

fn events(c: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// The hand-played peer: its own HPACK contexts.
struct Peer {
    enc: hpack::Encoder,
    dec: hpack::Decoder,
}

impl Peer {
    fn new() -> Self {
        Peer {
            enc: hpack::Encoder::default(),
            dec: hpack::Decoder::default(),
        }
    }
    fn block(&mut self, fields: &[(&str, &str)]) -> Bytes {
        let mut dst = BytesMut::new();
        self.enc.encode(
            fields.iter().map(|(n, v)| hpack::FieldRef {
                name: n.as_bytes(),
                value: v.as_bytes(),
                sensitive: false,
            }),
            &mut dst,
        );
        dst.freeze()
    }
    fn decode(&mut self, block: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.dec
            .decode(block, &mut out)
            .expect("our field block decodes");
        out.into_iter()
            .map(|f| {
                (
                    String::from_utf8(f.name.to_vec()).unwrap(),
                    String::from_utf8(f.value.to_vec()).unwrap(),
                )
            })
            .collect()
    }
}

const GET: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":authority", "example.com"),
    (":path", "/"),
];

const POST: &[(&str, &str)] = &[
    (":method", "POST"),
    (":scheme", "http"),
    (":authority", "example.com"),
    (":path", "/echo"),
];

fn settings(params: Vec<Setting>) -> Frame {
    Frame::Settings(Settings { ack: false, params })
}

fn settings_ack() -> Frame {
    Frame::Settings(Settings::ack())
}

fn headers(id: u32, block: Bytes, end_stream: bool) -> Frame {
    Frame::Headers(Headers {
        stream_id: StreamId(id),
        block,
        end_stream,
        end_headers: true,
        priority: None,
        pad_len: None,
    })
}

fn data(id: u32, bytes: &'static [u8], end_stream: bool) -> Frame {
    Frame::Data(Data {
        stream_id: StreamId(id),
        data: Bytes::from_static(bytes),
        end_stream,
        pad_len: None,
    })
}

fn data_n(id: u32, n: usize, end_stream: bool) -> Frame {
    Frame::Data(Data {
        stream_id: StreamId(id),
        data: Bytes::from(vec![b'x'; n]),
        end_stream,
        pad_len: None,
    })
}

fn window_update(id: u32, increment: u32) -> Frame {
    Frame::WindowUpdate(WindowUpdate {
        stream_id: StreamId(id),
        increment,
    })
}

fn rst(id: u32, code: ErrorCode) -> Frame {
    Frame::RstStream(RstStream {
        stream_id: StreamId(id),
        error_code: code,
    })
}

/// A server that has exchanged SETTINGS with the peer.
fn server_with(config: Config, peer_params: Vec<Setting>) -> (Connection, Peer) {
    let mut s = Connection::new(Role::Server, config);
    drain(&mut s);
    s.recv_frame(settings(peer_params)).unwrap();
    s.recv_frame(settings_ack()).unwrap();
    drain(&mut s);
    events(&mut s);
    (s, Peer::new())
}

fn server() -> (Connection, Peer) {
    server_with(Config::default(), vec![])
}

/// A client that has exchanged SETTINGS with the peer.
fn client_with(config: Config, peer_params: Vec<Setting>) -> (Connection, Peer) {
    let mut c = Connection::new(Role::Client, config);
    drain(&mut c);
    c.recv_frame(settings(peer_params)).unwrap();
    c.recv_frame(settings_ack()).unwrap();
    drain(&mut c);
    events(&mut c);
    (c, Peer::new())
}

fn client() -> (Connection, Peer) {
    client_with(Config::default(), vec![])
}

/// The GOAWAY code among `frames`.
fn goaway_code(frames: &[Frame]) -> Option<ErrorCode> {
    frames.iter().find_map(|f| match f {
        Frame::GoAway(g) => Some(g.error_code),
        _ => None,
    })
}

/// The RST_STREAM code sent on `id`.
fn rst_code(frames: &[Frame], id: u32) -> Option<ErrorCode> {
    frames.iter().find_map(|f| match f {
        Frame::RstStream(r) if r.stream_id.0 == id => Some(r.error_code),
        _ => None,
    })
}

/// Asserts a connection error with `code`, and the GOAWAY carrying it.
fn assert_conn_error(c: &mut Connection, r: Result<(), ConnectionError>, code: ErrorCode) {
    let e = r.expect_err("expected a connection error");
    assert_eq!(e.code, code, "{e}");
    assert!(!e.remote);
    assert_eq!(goaway_code(&drain(c)), Some(code));
    assert!(c.is_finished());
}

/// A server with an open request stream 1 (not ended).
fn server_with_open_stream() -> (Connection, Peer) {
    let (mut s, mut p) = server();
    let b = p.block(POST);
    s.recv_frame(headers(1, b, false)).unwrap();
    events(&mut s);
    (s, p)
}

fn response(status: u16) -> Head {
    Head::Response(Response::builder().status(status).body(()).unwrap())
}

fn get_request(uri: &str) -> Head {
    Head::Request(Request::get(uri).body(()).unwrap())
}

/// A client with request stream 1 sent (not ended).
fn client_with_open_stream() -> (Connection, Peer) {
    let (mut c, p) = client();
    let id = c.open_stream().unwrap();
    c.send_headers(id, get_request("http://example.com/"), false)
        .unwrap();
    drain(&mut c);
    (c, p)
}

/// A client Connection piped into a server Connection.
struct Pair {
    client: Connection,
    server: Connection,
    client_events: Vec<Event>,
    server_events: Vec<Event>,
}

fn transfer(from: &mut Connection, to: &mut Connection) -> bool {
    let mut buf = BytesMut::new();
    from.poll_transmit(&mut buf, usize::MAX);
    if buf.is_empty() {
        return false;
    }
    if buf.starts_with(PREFACE) {
        buf.advance(PREFACE.len());
    }
    loop {
        match Frame::decode(&mut buf, to.local_max_frame_size()) {
            Ok(Some(f)) => to
                .recv_frame(f)
                .expect("no connection error in a clean exchange"),
            Ok(None) => break,
            Err(e) => to.recv_malformed(e).expect("no connection error"),
        }
    }
    true
}

impl Pair {
    fn new(client: Config, server: Config) -> Pair {
        let mut p = Pair {
            client: Connection::new(Role::Client, client),
            server: Connection::new(Role::Server, server),
            client_events: Vec::new(),
            server_events: Vec::new(),
        };
        p.pump();
        p.client_events.clear();
        p.server_events.clear();
        p
    }

    /// Moves bytes both ways until both sides are quiet.
    fn pump(&mut self) {
        for _ in 0..10_000 {
            let a = transfer(&mut self.client, &mut self.server);
            let b = transfer(&mut self.server, &mut self.client);
            self.client_events.extend(events(&mut self.client));
            self.server_events.extend(events(&mut self.server));
            if !a && !b {
                return;
            }
        }
        panic!("exchange does not settle");
    }

    fn take_client(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.client_events)
    }

    fn take_server(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.server_events)
    }
}

/// Concatenated DATA of `id` in `evs`, and whether it ended.
fn body_of(evs: &[Event], id: StreamId) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    let mut ended = false;
    for e in evs {
        match e {
            Event::Data {
                id: i,
                data,
                end_stream,
            } if *i == id => {
                body.extend_from_slice(data);
                ended |= *end_stream;
            }
            Event::Headers {
                id: i,
                end_stream: true,
                ..
            } if *i == id => ended = true,
            Event::Trailers { id: i, .. } if *i == id => ended = true,
            _ => {}
        }
    }
    (body, ended)
}

// ---------------------------------------------------------------------------
// §3.4 preface and §6.5 SETTINGS

#[test]
fn s3_4_client_sends_preface_settings_and_connection_window_update() {
    let mut c = Connection::new(Role::Client, Config::default());
    let mut buf = BytesMut::new();
    c.poll_transmit(&mut buf, usize::MAX);
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
    let mut s = Connection::new(Role::Server, config);
    let frames = drain(&mut s);
    assert_eq!(frames.len(), 1);
    assert!(matches!(&frames[0], Frame::Settings(s) if !s.ack));
}

#[test]
fn s3_4_first_frame_not_settings_is_connection_error_protocol() {
    let mut s = Connection::new(Role::Server, Config::default());
    drain(&mut s);
    let r = s.recv_frame(Frame::Ping(Ping {
        ack: false,
        payload: [0; 8],
    }));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s3_4_first_frame_settings_ack_is_connection_error_protocol() {
    let mut c = Connection::new(Role::Client, Config::default());
    drain(&mut c);
    let r = c.recv_frame(settings_ack());
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s3_4_malformed_first_frame_is_connection_error_protocol() {
    let mut s = Connection::new(Role::Server, Config::default());
    drain(&mut s);
    let r = s.recv_malformed(frame::Error::Stream {
        stream_id: StreamId(1),
        code: ErrorCode::PROTOCOL_ERROR,
        reason: "x",
    });
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_5_3_peer_settings_are_acknowledged_and_reported() {
    let mut s = Connection::new(Role::Server, Config::default());
    drain(&mut s);
    s.recv_frame(settings(vec![Setting::MaxConcurrentStreams(7)]))
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
    let mut c = Connection::new(Role::Client, Config::default());
    drain(&mut c);
    c.recv_frame(settings(vec![])).unwrap();
    let deadline = c.poll_timeout().expect("waiting for our SETTINGS ACK");
    assert!(deadline > Instant::now() + Duration::from_secs(5));
    assert!(c.handle_timeout(Instant::now()).is_ok());
    let r = c.handle_timeout(deadline);
    assert_conn_error(&mut c, r, ErrorCode::SETTINGS_TIMEOUT);
}

#[test]
fn s6_5_3_ack_clears_the_settings_timer() {
    let (c, _) = client();
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn s6_5_3_our_settings_apply_on_ack() {
    let config = Config {
        max_frame_size: 1 << 20,
        ..Config::default()
    };
    let mut c = Connection::new(Role::Client, config);
    drain(&mut c);
    c.recv_frame(settings(vec![])).unwrap();
    assert_eq!(c.local_max_frame_size(), 16_384, "not before the ACK");
    c.recv_frame(settings_ack()).unwrap();
    assert_eq!(c.local_max_frame_size(), 1 << 20);
    assert!(events(&mut c)
        .iter()
        .any(|e| matches!(e, Event::SettingsAcked)));
}

#[test]
fn s6_5_3_update_settings_applies_on_ack() {
    let (mut s, _) = server();
    s.update_settings(vec![Setting::MaxFrameSize(32_768)])
        .unwrap();
    let frames = drain(&mut s);
    assert_eq!(frames, vec![settings(vec![Setting::MaxFrameSize(32_768)])]);
    assert_eq!(s.local_max_frame_size(), 16_384);
    assert!(s.poll_timeout().is_some());
    s.recv_frame(settings_ack()).unwrap();
    assert_eq!(s.local_max_frame_size(), 32_768);
}

#[test]
fn s6_5_2_update_settings_with_bad_value_is_refused() {
    let (mut s, _) = server();
    assert!(matches!(
        s.update_settings(vec![Setting::MaxFrameSize(100)]),
        Err(UserError::Malformed(_))
    ));
    assert!(matches!(
        s.update_settings(vec![Setting::EnablePush(true)]),
        Err(UserError::Malformed(_))
    ));
}

#[test]
fn s6_5_2_client_receiving_enable_push_1_is_connection_error_protocol() {
    let mut c = Connection::new(Role::Client, Config::default());
    drain(&mut c);
    let r = c.recv_frame(settings(vec![Setting::EnablePush(true)]));
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_5_2_server_receiving_enable_push_1_is_fine() {
    let mut s = Connection::new(Role::Server, Config::default());
    drain(&mut s);
    s.recv_frame(settings(vec![Setting::EnablePush(true)]))
        .unwrap();
    assert!(s.peer_settings().enable_push);
}

#[test]
fn s6_5_2_initial_window_size_above_max_is_flow_control_error() {
    let mut s = Connection::new(Role::Server, Config::default());
    drain(&mut s);
    let r = s.recv_frame(settings(vec![Setting::InitialWindowSize(1 << 31)]));
    assert_conn_error(&mut s, r, ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn s6_5_2_max_frame_size_out_of_range_is_protocol_error() {
    let mut s = Connection::new(Role::Server, Config::default());
    drain(&mut s);
    let r = s.recv_frame(settings(vec![Setting::MaxFrameSize(1000)]));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_5_settings_flood_is_enhance_your_calm() {
    let (mut s, _) = server();
    let mut r = Ok(());
    for _ in 0..=Config::default().max_pending_pings {
        r = s.recv_frame(settings(vec![]));
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
        s.recv_frame(settings(vec![])).unwrap();
        assert_eq!(drain(&mut s), vec![settings_ack()]);
    }
}

#[test]
fn s6_5_2_header_table_size_reaches_the_encoder() {
    // A peer that allows no dynamic table: our blocks must still decode with
    // a zero-size decoder.
    let (mut c, _) = client_with(Config::default(), vec![Setting::HeaderTableSize(0)]);
    let mut dec = hpack::Decoder::new(0, usize::MAX);
    for _ in 0..3 {
        let id = c.open_stream().unwrap();
        c.send_headers(id, get_request("http://example.com/x"), true)
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

// ---------------------------------------------------------------------------
// §5.1 stream states and §5.1.1 identifiers

#[test]
fn s5_1_data_on_idle_stream_is_connection_error_protocol() {
    let (mut s, _) = server();
    let r = s.recv_frame(data(1, b"x", false));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_rst_stream_on_idle_stream_is_connection_error_protocol() {
    let (mut s, _) = server();
    let r = s.recv_frame(rst(1, ErrorCode::CANCEL));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_window_update_on_idle_stream_is_connection_error_protocol() {
    let (mut s, _) = server();
    let r = s.recv_frame(window_update(1, 10));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_continuation_without_headers_is_connection_error_protocol() {
    let (mut s, _) = server();
    let r = s.recv_frame(Frame::Continuation(Continuation {
        stream_id: StreamId(1),
        block: Bytes::new(),
        end_headers: true,
    }));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_priority_on_idle_stream_is_ignored() {
    let (mut s, mut p) = server();
    s.recv_frame(Frame::Priority(Priority {
        stream_id: StreamId(3),
        spec: PrioritySpec {
            dependency: StreamId(0),
            exclusive: false,
            weight: 15,
        },
    }))
    .unwrap();
    assert!(drain(&mut s).is_empty());
    // it did not open stream 3: HEADERS on 3 still opens it
    s.recv_frame(headers(3, p.block(GET), true)).unwrap();
    assert!(matches!(events(&mut s)[..], [Event::Headers { .. }]));
}

#[test]
fn s5_1_priority_on_any_stream_is_ignored() {
    let (mut s, _) = server_with_open_stream();
    s.recv_frame(Frame::Priority(Priority {
        stream_id: StreamId(1),
        spec: PrioritySpec {
            dependency: StreamId(0),
            exclusive: true,
            weight: 200,
        },
    }))
    .unwrap();
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stream_state(StreamId(1)), Some(StreamState::Open));
}

#[test]
fn s5_1_headers_with_priority_fields_are_accepted() {
    let (mut s, mut p) = server();
    s.recv_frame(Frame::Headers(Headers {
        stream_id: StreamId(1),
        block: p.block(GET),
        end_stream: true,
        end_headers: true,
        priority: Some(PrioritySpec {
            dependency: StreamId(0),
            exclusive: false,
            weight: 10,
        }),
        pad_len: Some(3),
    }))
    .unwrap();
    assert!(matches!(
        events(&mut s)[..],
        [Event::Headers {
            end_stream: true,
            ..
        }]
    ));
}

#[test]
fn s5_1_headers_opens_stream_and_end_stream_half_closes_it() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(POST), false)).unwrap();
    assert_eq!(s.stream_state(StreamId(1)), Some(StreamState::Open));
    s.recv_frame(data(1, b"abc", true)).unwrap();
    assert_eq!(
        s.stream_state(StreamId(1)),
        Some(StreamState::HalfClosedRemote)
    );
    s.send_headers(StreamId(1), response(200), true).unwrap();
    assert_eq!(s.stream_state(StreamId(1)), None, "closed and forgotten");
    let evs = events(&mut s);
    assert!(matches!(evs.last(), Some(Event::Closed { id }) if id.0 == 1));
    assert_eq!(s.active_streams(), 0);
}

#[test]
fn s5_1_data_on_half_closed_remote_is_stream_error_stream_closed() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    events(&mut s);
    s.recv_frame(data(1, b"late", false)).unwrap();
    let frames = drain(&mut s);
    assert_eq!(rst_code(&frames, 1), Some(ErrorCode::STREAM_CLOSED));
    assert!(goaway_code(&frames).is_none());
    assert!(matches!(
        events(&mut s)[..],
        [Event::Reset {
            code: ErrorCode::STREAM_CLOSED,
            remote: false,
            ..
        }]
    ));
}

#[test]
fn s5_1_headers_on_half_closed_remote_is_stream_error_stream_closed() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    let b = p.block(&[("x-trailer", "1")]);
    s.recv_frame(headers(1, b, true)).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::STREAM_CLOSED));
}

#[test]
fn s5_1_half_closed_remote_accepts_window_update_and_rst() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    s.recv_frame(window_update(1, 100)).unwrap();
    assert!(drain(&mut s).is_empty());
    s.recv_frame(rst(1, ErrorCode::CANCEL)).unwrap();
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stream_state(StreamId(1)), None);
}

#[test]
fn s5_1_data_on_closed_stream_is_connection_error_stream_closed() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    s.send_headers(StreamId(1), response(204), true).unwrap();
    drain(&mut s);
    let r = s.recv_frame(data(1, b"x", false));
    assert_conn_error(&mut s, r, ErrorCode::STREAM_CLOSED);
}

#[test]
fn s5_1_frames_after_our_rst_stream_are_ignored() {
    let (mut s, mut p) = server_with_open_stream();
    s.reset(StreamId(1), ErrorCode::CANCEL).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::CANCEL));
    // in flight from the peer: DATA, trailers, WINDOW_UPDATE, RST_STREAM
    s.recv_frame(data_n(1, 1000, false)).unwrap();
    let b = p.block(&[("x-t", "1")]);
    s.recv_frame(headers(1, b, true)).unwrap();
    s.recv_frame(window_update(1, 5)).unwrap();
    s.recv_frame(rst(1, ErrorCode::CANCEL)).unwrap();
    assert!(drain(&mut s).is_empty());
    assert!(events(&mut s).is_empty());
    // and HPACK stayed in sync: a new request decodes
    s.recv_frame(headers(3, p.block(GET), true)).unwrap();
    assert!(matches!(events(&mut s)[..], [Event::Headers { .. }]));
}

#[test]
fn s5_1_late_frames_on_streams_beyond_the_reset_memory_are_ignored() {
    let config = Config {
        max_reset_streams: 4,
        ..Config::default()
    };
    let (mut c, mut p) = client_with(config, vec![]);
    let mut ids = Vec::new();
    for _ in 0..20 {
        let id = c.open_stream().unwrap();
        c.send_headers(id, get_request("http://example.com/"), true)
            .unwrap();
        ids.push(id);
    }
    for id in &ids {
        c.reset(*id, ErrorCode::CANCEL).unwrap();
    }
    drain(&mut c);
    // in flight from the server for the first (long forgotten) stream
    let b = p.block(&[(":status", "200")]);
    c.recv_frame(headers(1, b, false)).unwrap();
    c.recv_frame(data(1, b"late", true)).unwrap();
    let f = push_frame(&mut p, 1, 2, GET);
    c.recv_frame(f).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 2), Some(ErrorCode::CANCEL));
    assert!(events(&mut c).is_empty());
}

#[test]
fn s5_1_data_after_our_rst_still_counts_toward_connection_window() {
    let config = Config {
        connection_window_size: 65_535,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    s.recv_frame(headers(1, p.block(POST), false)).unwrap();
    s.reset(StreamId(1), ErrorCode::CANCEL).unwrap();
    drain(&mut s);
    s.recv_frame(data_n(1, 16_384, false)).unwrap();
    s.recv_frame(data_n(1, 16_384, false)).unwrap();
    // given back to the connection at once (half the window reached)
    assert!(drain(&mut s).contains(&window_update(0, 32_768)));
}

#[test]
fn s5_1_rst_stream_from_peer_closes_stream_and_reports_it() {
    let (mut s, _) = server_with_open_stream();
    s.recv_frame(rst(1, ErrorCode::CANCEL)).unwrap();
    assert!(matches!(
        events(&mut s)[..],
        [Event::Reset {
            id: StreamId(1),
            code: ErrorCode::CANCEL,
            remote: true
        }]
    ));
    assert_eq!(s.active_streams(), 0);
    assert!(matches!(
        s.send_data(StreamId(1), Bytes::from_static(b"x"), true),
        Err(UserError::UnknownStream(_))
    ));
}

#[test]
fn s5_1_reserved_remote_data_is_connection_error_protocol() {
    let (mut c, mut p) = client_with_open_stream();
    let b = p.block(GET);
    c.recv_frame(Frame::PushPromise(PushPromise {
        stream_id: StreamId(1),
        promised_id: StreamId(2),
        block: b,
        end_headers: true,
        pad_len: None,
    }))
    .unwrap();
    let r = c.recv_frame(data(2, b"x", false));
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_reserved_remote_window_update_is_connection_error_protocol() {
    let (mut c, mut p) = client_with_open_stream();
    let b = p.block(GET);
    c.recv_frame(Frame::PushPromise(PushPromise {
        stream_id: StreamId(1),
        promised_id: StreamId(2),
        block: b,
        end_headers: true,
        pad_len: None,
    }))
    .unwrap();
    let r = c.recv_frame(window_update(2, 1));
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_1_client_receiving_headers_on_idle_even_stream_is_protocol_error() {
    let (mut c, mut p) = client();
    let b = p.block(&[(":status", "200")]);
    let r = c.recv_frame(headers(2, b, true));
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_1_server_receiving_headers_on_even_stream_is_protocol_error() {
    let (mut s, mut p) = server();
    let b = p.block(GET);
    let r = s.recv_frame(headers(2, b, true));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_1_decreasing_stream_id_is_connection_error_protocol() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(5, p.block(GET), true)).unwrap();
    let b = p.block(GET);
    let r = s.recv_frame(headers(3, b, true));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_1_new_stream_implicitly_closes_lower_idle_streams() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(5, p.block(GET), true)).unwrap();
    // stream 3 is closed, not idle: DATA on it is STREAM_CLOSED, not
    // PROTOCOL_ERROR
    let r = s.recv_frame(data(3, b"x", false));
    assert_conn_error(&mut s, r, ErrorCode::STREAM_CLOSED);
}

#[test]
fn s5_1_1_window_update_on_implicitly_closed_stream_is_ignored() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(5, p.block(GET), true)).unwrap();
    s.recv_frame(window_update(3, 1)).unwrap();
    s.recv_frame(rst(3, ErrorCode::CANCEL)).unwrap();
    assert!(drain(&mut s).is_empty());
}

#[test]
fn s5_1_1_client_stream_ids_are_odd_and_increasing() {
    let (mut c, _) = client();
    let a = c.open_stream().unwrap();
    let b = c.open_stream().unwrap();
    assert_eq!((a.0, b.0), (1, 3));
}

#[test]
fn s5_1_1_headers_on_lower_local_id_after_higher_is_refused() {
    let (mut c, _) = client();
    let a = c.open_stream().unwrap();
    let b = c.open_stream().unwrap();
    c.send_headers(b, get_request("http://example.com/"), true)
        .unwrap();
    assert_eq!(
        c.send_headers(a, get_request("http://example.com/"), true),
        Err(UserError::StreamIdOrder(a))
    );
}

#[test]
fn s5_1_1_server_cannot_open_streams() {
    let (mut s, _) = server();
    assert_eq!(s.open_stream(), Err(UserError::WrongRole(Role::Client)));
}

#[test]
fn s5_1_2_max_concurrent_streams_refuses_excess_streams() {
    let config = Config {
        max_concurrent_streams: 2,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    for id in [1, 3, 5] {
        let b = p.block(POST);
        s.recv_frame(headers(id, b, false)).unwrap();
    }
    let frames = drain(&mut s);
    assert_eq!(rst_code(&frames, 5), Some(ErrorCode::REFUSED_STREAM));
    assert_eq!(rst_code(&frames, 1), None);
    assert_eq!(
        events(&mut s).len(),
        2,
        "the refused stream is never reported"
    );
    // once one finishes, a new one is accepted
    s.recv_frame(rst(1, ErrorCode::CANCEL)).unwrap();
    s.recv_frame(headers(7, p.block(POST), false)).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 7), None);
}

#[test]
fn s5_1_2_open_stream_respects_peer_max_concurrent_streams() {
    let (mut c, _) = client_with(Config::default(), vec![Setting::MaxConcurrentStreams(1)]);
    let a = c.open_stream().unwrap();
    assert!(!c.can_open_stream());
    assert_eq!(c.open_stream(), Err(UserError::StreamLimit));
    c.send_headers(a, get_request("http://example.com/"), true)
        .unwrap();
    drain(&mut c);
    let mut p = Peer::new();
    let b = p.block(&[(":status", "200")]);
    c.recv_frame(headers(1, b, true)).unwrap();
    assert!(c.can_open_stream());
}

#[test]
fn s5_1_2_user_reset_of_unsent_stream_frees_the_slot_without_rst() {
    let (mut c, _) = client_with(Config::default(), vec![Setting::MaxConcurrentStreams(1)]);
    let a = c.open_stream().unwrap();
    c.reset(a, ErrorCode::CANCEL).unwrap();
    assert!(
        drain(&mut c).is_empty(),
        "no RST_STREAM on an idle stream (§6.4)"
    );
    assert!(c.can_open_stream());
}

// ---------------------------------------------------------------------------
// §4.3 / §6.10 field blocks and CONTINUATION

#[test]
fn s6_10_headers_and_continuation_are_assembled() {
    let (mut s, mut p) = server();
    let b = p.block(GET);
    let (a, rest) = b.split_at(3);
    s.recv_frame(Frame::Headers(Headers {
        stream_id: StreamId(1),
        block: Bytes::copy_from_slice(a),
        end_stream: true,
        end_headers: false,
        priority: None,
        pad_len: None,
    }))
    .unwrap();
    assert!(events(&mut s).is_empty());
    s.recv_frame(Frame::Continuation(Continuation {
        stream_id: StreamId(1),
        block: Bytes::copy_from_slice(&rest[..1]),
        end_headers: false,
    }))
    .unwrap();
    s.recv_frame(Frame::Continuation(Continuation {
        stream_id: StreamId(1),
        block: Bytes::copy_from_slice(&rest[1..]),
        end_headers: true,
    }))
    .unwrap();
    let evs = events(&mut s);
    assert!(
        matches!(&evs[..], [Event::Headers { head: Head::Request(r), end_stream: true, .. }] if r.uri() == "http://example.com/")
    );
}

fn open_block(s: &mut Connection, p: &mut Peer) {
    let b = p.block(GET);
    s.recv_frame(Frame::Headers(Headers {
        stream_id: StreamId(1),
        block: b,
        end_stream: true,
        end_headers: false,
        priority: None,
        pad_len: None,
    }))
    .unwrap();
}

#[test]
fn s6_10_frame_interleaved_in_field_block_is_connection_error_protocol() {
    let (mut s, mut p) = server();
    open_block(&mut s, &mut p);
    let r = s.recv_frame(Frame::Ping(Ping {
        ack: false,
        payload: [1; 8],
    }));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_10_continuation_on_another_stream_is_connection_error_protocol() {
    let (mut s, mut p) = server();
    open_block(&mut s, &mut p);
    let r = s.recv_frame(Frame::Continuation(Continuation {
        stream_id: StreamId(3),
        block: Bytes::new(),
        end_headers: true,
    }));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_5_unknown_frame_inside_field_block_is_connection_error_protocol() {
    let (mut s, mut p) = server();
    open_block(&mut s, &mut p);
    let r = s.recv_frame(Frame::Unknown(Unknown {
        kind: 0xfa,
        flags: 0,
        stream_id: StreamId(1),
        payload: Bytes::new(),
    }));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_5_unknown_frame_is_ignored() {
    let (mut s, _) = server_with_open_stream();
    s.recv_frame(Frame::Unknown(Unknown {
        kind: 0xfa,
        flags: 0xff,
        stream_id: StreamId(1),
        payload: Bytes::from_static(b"whatever"),
    }))
    .unwrap();
    assert!(drain(&mut s).is_empty());
    assert!(events(&mut s).is_empty());
}

#[test]
fn s10_5_field_block_larger_than_limit_is_enhance_your_calm() {
    let config = Config {
        max_header_block_size: 1000,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    open_block(&mut s, &mut p);
    let mut r = Ok(());
    for _ in 0..10 {
        r = s.recv_frame(Frame::Continuation(Continuation {
            stream_id: StreamId(1),
            block: Bytes::from(vec![0u8; 200]),
            end_headers: false,
        }));
        if r.is_err() {
            break;
        }
    }
    assert_conn_error(&mut s, r, ErrorCode::ENHANCE_YOUR_CALM);
}

#[test]
fn s10_5_flood_of_empty_continuations_is_enhance_your_calm() {
    let (mut s, mut p) = server();
    open_block(&mut s, &mut p);
    let mut r = Ok(());
    for _ in 0..100_000 {
        r = s.recv_frame(Frame::Continuation(Continuation {
            stream_id: StreamId(1),
            block: Bytes::new(),
            end_headers: false,
        }));
        if r.is_err() {
            break;
        }
    }
    assert_conn_error(&mut s, r, ErrorCode::ENHANCE_YOUR_CALM);
}

#[test]
fn s4_3_hpack_decoding_error_is_connection_error_compression() {
    let (mut s, _) = server();
    // indexed field 0x7f + huge index: out of range
    let r = s.recv_frame(headers(1, Bytes::from_static(&[0xff, 0xff, 0x7f]), true));
    assert_conn_error(&mut s, r, ErrorCode::COMPRESSION_ERROR);
}

#[test]
fn s6_5_2_header_list_too_large_request_is_answered_431() {
    let config = Config {
        max_header_list_size: 200,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    let big = "v".repeat(300);
    let mut fields = GET.to_vec();
    fields.push(("x-big", &big));
    let b = p.block(&fields);
    s.recv_frame(headers(1, b, false)).unwrap();
    let frames = drain(&mut s);
    let Some(Frame::Headers(h)) = frames.first() else {
        panic!("{frames:?}")
    };
    assert!(h.end_stream);
    assert_eq!(p.decode(&h.block), vec![(":status".into(), "431".into())]);
    assert_eq!(rst_code(&frames, 1), Some(ErrorCode::NO_ERROR));
    assert!(events(&mut s).is_empty());
    // the connection goes on, HPACK in sync
    s.recv_frame(data(1, b"ignored", true)).unwrap();
    s.recv_frame(headers(3, p.block(GET), true)).unwrap();
    assert!(matches!(events(&mut s)[..], [Event::Headers { .. }]));
}

// ---------------------------------------------------------------------------
// §5.2 / §6.9 flow control

#[test]
fn s6_9_window_update_of_zero_on_connection_is_connection_error_protocol() {
    let (mut s, _) = server();
    let mut buf = BytesMut::new();
    window_update(0, 1).encode(&mut buf);
    buf[HEADER_END - 1] = 0; // increment 1 -> 0
    let err = Frame::decode(&mut buf, 16_384).unwrap_err();
    let r = s.recv_malformed(err);
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

const HEADER_END: usize = 9 + 4;

#[test]
fn s6_9_window_update_of_zero_on_stream_is_stream_error_protocol() {
    let (mut s, _) = server_with_open_stream();
    let mut buf = BytesMut::new();
    window_update(1, 1).encode(&mut buf);
    buf[HEADER_END - 1] = 0;
    let err = Frame::decode(&mut buf, 16_384).unwrap_err();
    s.recv_malformed(err).unwrap();
    let frames = drain(&mut s);
    assert_eq!(rst_code(&frames, 1), Some(ErrorCode::PROTOCOL_ERROR));
    assert!(goaway_code(&frames).is_none());
    assert!(matches!(
        events(&mut s)[..],
        [Event::Reset {
            code: ErrorCode::PROTOCOL_ERROR,
            remote: false,
            ..
        }]
    ));
}

#[test]
fn s6_9_1_connection_window_overflow_is_connection_error_flow_control() {
    let (mut s, _) = server();
    let r = s.recv_frame(window_update(0, frame::MAX_WINDOW_SIZE));
    assert_conn_error(&mut s, r, ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn s6_9_1_stream_window_overflow_is_stream_error_flow_control() {
    let (mut s, _) = server_with_open_stream();
    s.recv_frame(window_update(1, frame::MAX_WINDOW_SIZE))
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
    s.recv_frame(headers(1, p.block(POST), false)).unwrap();
    s.recv_frame(headers(3, p.block(POST), false)).unwrap();
    let mut r = Ok(());
    for i in 0..5 {
        r = s.recv_frame(data_n(1 + 2 * (i % 2), 16_000, false));
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
    s.recv_frame(headers(1, p.block(POST), false)).unwrap();
    events(&mut s);
    s.recv_frame(data_n(1, 1000, false)).unwrap();
    s.recv_frame(data_n(1, 1, false)).unwrap();
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
    s.recv_frame(headers(1, p.block(POST), false)).unwrap();
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
    s.recv_frame(padded(10)).unwrap();
    s.recv_frame(padded(10)).unwrap();
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
        s.recv_frame(padded(10)).unwrap();
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
    s.recv_frame(headers(1, p.block(POST), false)).unwrap();
    for _ in 0..4 {
        s.recv_frame(data_n(1, 2_000, false)).unwrap();
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
    s.recv_frame(headers(1, p.block(POST), false)).unwrap();
    s.recv_frame(headers(3, p.block(POST), false)).unwrap();
    s.recv_frame(data_n(1, 16_384, false)).unwrap();
    s.recv_frame(data_n(3, 16_384, false)).unwrap();
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
    s.recv_frame(headers(1, p.block(POST), false)).unwrap();
    s.recv_frame(data_n(1, 16_384, false)).unwrap();
    s.recv_frame(data_n(1, 16_384, false)).unwrap();
    s.recv_frame(rst(1, ErrorCode::CANCEL)).unwrap();
    assert!(drain(&mut s).contains(&window_update(0, 32_768)));
}

/// A server whose stream 1 has its final response head sent.
fn server_responding(peer_params: Vec<Setting>) -> (Connection, Peer) {
    let (mut s, mut p) = server_with(Config::default(), peer_params);
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    s.send_headers(StreamId(1), response(200), false).unwrap();
    drain(&mut s);
    events(&mut s);
    (s, p)
}

fn data_lens(frames: &[Frame]) -> Vec<(u32, usize, bool)> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Data(d) => Some((d.stream_id.0, d.data.len(), d.end_stream)),
            _ => None,
        })
        .collect()
}

#[test]
fn s6_9_sending_respects_the_stream_window() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(100)]);
    s.send_data(StreamId(1), Bytes::from(vec![1u8; 250]), true)
        .unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 100, false)]);
    assert!(!s.wants_transmit());
    s.recv_frame(window_update(1, 100)).unwrap();
    assert!(s.wants_transmit());
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 100, false)]);
    s.recv_frame(window_update(1, 1000)).unwrap();
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
    assert!(matches!(evs.last(), Some(Event::Closed { .. })));
}

#[test]
fn s6_9_sending_respects_the_connection_window() {
    let (mut s, mut p) = server_with(Config::default(), vec![Setting::InitialWindowSize(1 << 20)]);
    for id in [1, 3] {
        s.recv_frame(headers(id, p.block(GET), true)).unwrap();
        s.send_headers(StreamId(id), response(200), false).unwrap();
        s.send_data(StreamId(id), Bytes::from(vec![0u8; 50_000]), true)
            .unwrap();
    }
    let sent: usize = data_lens(&drain(&mut s)).iter().map(|d| d.1).sum();
    assert_eq!(sent, 65_535, "the default connection window");
    assert!(!s.wants_transmit());
    s.recv_frame(window_update(0, 100_000)).unwrap();
    let sent: usize = data_lens(&drain(&mut s)).iter().map(|d| d.1).sum();
    assert_eq!(sent, 100_000 - 65_535);
}

#[test]
fn s6_9_2_initial_window_size_change_adjusts_open_streams_and_may_go_negative() {
    let (mut s, _) = server_responding(vec![]);
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 60_000]), false)
        .unwrap();
    drain(&mut s);
    assert_eq!(s.send_capacity(StreamId(1)), Some(5_535));
    s.recv_frame(settings(vec![Setting::InitialWindowSize(16_384)]))
        .unwrap();
    // 5,535 - 49,151 = -43,616
    assert_eq!(s.send_capacity(StreamId(1)), Some(0));
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 10]), true)
        .unwrap();
    assert!(data_lens(&drain(&mut s)).is_empty());
    s.recv_frame(window_update(1, 43_616)).unwrap();
    assert!(
        data_lens(&drain(&mut s)).is_empty(),
        "window back to exactly 0"
    );
    s.recv_frame(window_update(1, 10)).unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 10, true)]);
}

#[test]
fn s6_9_2_initial_window_size_increase_wakes_blocked_streams() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(0)]);
    s.send_data(StreamId(1), Bytes::from_static(b"hello"), true)
        .unwrap();
    assert!(data_lens(&drain(&mut s)).is_empty());
    s.recv_frame(settings(vec![Setting::InitialWindowSize(10)]))
        .unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 5, true)]);
}

#[test]
fn s6_9_2_initial_window_size_overflowing_a_stream_window_is_flow_control_error() {
    let (mut s, _) = server_responding(vec![]);
    s.recv_frame(window_update(1, frame::MAX_WINDOW_SIZE - 65_535))
        .unwrap();
    let r = s.recv_frame(settings(vec![Setting::InitialWindowSize(65_536)]));
    assert_conn_error(&mut s, r, ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn s6_5_2_max_frame_size_splits_data() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(1 << 20)]);
    s.recv_frame(window_update(0, 1 << 20)).unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 40_000]), true)
        .unwrap();
    assert_eq!(
        data_lens(&drain(&mut s)),
        vec![(1, 16_384, false), (1, 16_384, false), (1, 7_232, true)]
    );
}

#[test]
fn s6_5_2_peer_max_frame_size_is_used_for_data() {
    let (mut s, _) = server_responding(vec![
        Setting::InitialWindowSize(1 << 20),
        Setting::MaxFrameSize(32_768),
    ]);
    s.recv_frame(window_update(0, 1 << 20)).unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 40_000]), true)
        .unwrap();
    assert_eq!(
        data_lens(&drain(&mut s)),
        vec![(1, 32_768, false), (1, 7_232, true)]
    );
}

#[test]
fn s6_10_large_field_block_is_split_into_continuations() {
    let (mut s, mut p) = server_with(Config::default(), vec![]);
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    let mut resp = Response::builder().status(200);
    for i in 0..10 {
        resp = resp.header(format!("x-h{i}"), "v".repeat(3000));
    }
    s.send_headers(StreamId(1), Head::Response(resp.body(()).unwrap()), true)
        .unwrap();
    let frames = drain(&mut s);
    let Frame::Headers(h) = &frames[0] else {
        panic!()
    };
    assert!(!h.end_headers);
    assert!(h.end_stream);
    let mut block = BytesMut::from(&h.block[..]);
    for f in &frames[1..] {
        let Frame::Continuation(c) = f else {
            panic!("only CONTINUATION may follow: {f:?}")
        };
        block.extend_from_slice(&c.block);
    }
    assert!(matches!(frames.last(), Some(Frame::Continuation(c)) if c.end_headers));
    assert_eq!(p.decode(&block).len(), 11);
}

#[test]
fn send_buffer_is_bounded_per_stream() {
    let config = Config {
        max_send_buffer_per_stream: 1000,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![Setting::InitialWindowSize(0)]);
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    s.send_headers(StreamId(1), response(200), false).unwrap();
    // a send on an empty queue is always accepted, whatever its size
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 5000]), false)
        .unwrap();
    assert_eq!(
        s.send_data(StreamId(1), Bytes::from_static(b"x"), false),
        Err(UserError::SendBufferFull(StreamId(1)))
    );
    assert_eq!(s.queued_bytes(StreamId(1)), 5000);
}

#[test]
fn send_queue_is_bounded_in_chunks() {
    let (mut s, mut p) = server_with(Config::default(), vec![Setting::InitialWindowSize(0)]);
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    s.send_headers(StreamId(1), response(200), false).unwrap();
    for _ in 0..MAX_QUEUED_CHUNKS {
        s.send_data(StreamId(1), Bytes::from_static(b"x"), false)
            .unwrap();
    }
    assert_eq!(
        s.send_data(StreamId(1), Bytes::from_static(b"x"), false),
        Err(UserError::SendBufferFull(StreamId(1)))
    );
}

#[test]
fn data_is_sent_round_robin_across_streams() {
    let (mut s, mut p) = server_with(Config::default(), vec![Setting::InitialWindowSize(1 << 20)]);
    s.recv_frame(window_update(0, 1 << 20)).unwrap();
    for id in [1, 3, 5] {
        s.recv_frame(headers(id, p.block(GET), true)).unwrap();
        s.send_headers(StreamId(id), response(200), false).unwrap();
        s.send_data(StreamId(id), Bytes::from(vec![0u8; 40_000]), true)
            .unwrap();
    }
    let order: Vec<u32> = data_lens(&drain(&mut s)).iter().map(|d| d.0).collect();
    assert_eq!(order, vec![1, 3, 5, 1, 3, 5, 1, 3, 5]);
}

#[test]
fn poll_transmit_stops_near_limit() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(1 << 20)]);
    s.recv_frame(window_update(0, 1 << 20)).unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 100_000]), true)
        .unwrap();
    let mut buf = BytesMut::new();
    s.poll_transmit(&mut buf, 20_000);
    assert!(buf.len() >= 20_000 && buf.len() < 20_000 + 16_384 + 9);
    assert!(s.wants_transmit());
}

#[test]
fn data_sent_reported_only_when_written() {
    let (mut s, _) = server_responding(vec![]);
    s.send_data(StreamId(1), Bytes::from_static(b"hello"), false)
        .unwrap();
    assert!(events(&mut s).is_empty());
    drain(&mut s);
    assert!(matches!(
        events(&mut s)[..],
        [Event::DataSent {
            id: StreamId(1),
            len: 5
        }]
    ));
}

#[test]
fn s8_1_trailers_are_sent_after_queued_data() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(3)]);
    s.send_data(StreamId(1), Bytes::from_static(b"hello"), false)
        .unwrap();
    let mut t = HeaderMap::new();
    t.insert("x-trailer-test", HeaderValue::from_static("ok"));
    s.send_trailers(StreamId(1), t).unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 3, false)]);
    s.recv_frame(window_update(1, 10)).unwrap();
    let frames = drain(&mut s);
    assert_eq!(data_lens(&frames), vec![(1, 2, false)]);
    let Some(Frame::Headers(h)) = frames.last() else {
        panic!("{frames:?}")
    };
    assert!(h.end_stream);
    assert!(matches!(events(&mut s).last(), Some(Event::Closed { .. })));
}

#[test]
fn s8_1_1_sending_more_or_less_than_our_content_length_is_user_error() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    let resp = Response::builder()
        .status(200)
        .header("content-length", "5")
        .body(())
        .unwrap();
    s.send_headers(StreamId(1), Head::Response(resp), false)
        .unwrap();
    assert!(matches!(
        s.send_data(StreamId(1), Bytes::from_static(b"toolong"), false),
        Err(UserError::Malformed(_))
    ));
    s.send_data(StreamId(1), Bytes::from_static(b"hel"), false)
        .unwrap();
    assert!(matches!(
        s.send_data(StreamId(1), Bytes::from_static(b"l"), true),
        Err(UserError::Malformed(_))
    ));
    s.send_data(StreamId(1), Bytes::from_static(b"lo"), true)
        .unwrap();
}

#[test]
fn s8_1_1_response_to_head_keeps_content_length_without_data() {
    let (mut s, mut p) = server();
    let mut fields = GET.to_vec();
    fields[0] = (":method", "HEAD");
    s.recv_frame(headers(1, p.block(&fields), true)).unwrap();
    let resp = Response::builder()
        .status(200)
        .header("content-length", "1000")
        .body(())
        .unwrap();
    s.send_headers(StreamId(1), Head::Response(resp), false)
        .unwrap();
    s.send_data(StreamId(1), Bytes::new(), true).unwrap();
}

#[test]
fn data_frames_stay_near_the_transmit_limit_with_huge_peer_frames() {
    let (mut s, _) = server_responding(vec![
        Setting::InitialWindowSize(frame::MAX_WINDOW_SIZE),
        Setting::MaxFrameSize(MAX_MAX_FRAME_SIZE),
    ]);
    s.recv_frame(window_update(0, 1 << 30)).unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 4 << 20]), true)
        .unwrap();
    let mut buf = BytesMut::new();
    s.poll_transmit(&mut buf, 100_000);
    assert!(buf.len() <= 100_000 + 9, "{}", buf.len());
}

#[test]
fn s8_1_send_after_end_stream_is_refused() {
    let (mut s, _) = server_responding(vec![]);
    s.send_data(StreamId(1), Bytes::from_static(b"x"), true)
        .unwrap();
    assert!(matches!(
        s.send_data(StreamId(1), Bytes::from_static(b"y"), false),
        Err(UserError::InvalidState { .. })
    ));
    assert!(matches!(
        s.send_trailers(StreamId(1), HeaderMap::new()),
        Err(UserError::InvalidState { .. })
    ));
}

#[test]
fn end_stream_goes_out_while_the_connection_window_is_shut() {
    let (mut s, mut p) = server_with(Config::default(), vec![Setting::InitialWindowSize(1 << 20)]);
    for id in [1, 3] {
        s.recv_frame(headers(id, p.block(GET), true)).unwrap();
        s.send_headers(StreamId(id), response(200), false).unwrap();
    }
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 70_000]), true)
        .unwrap();
    let sent: usize = data_lens(&drain(&mut s)).iter().map(|d| d.1).sum();
    assert_eq!(sent, 65_535);
    // stream 1 waits for the connection window; stream 3 ends with no data
    s.send_data(StreamId(3), Bytes::new(), true).unwrap();
    assert!(s.wants_transmit());
    assert_eq!(data_lens(&drain(&mut s)), vec![(3, 0, true)]);
    assert_eq!(s.queued_bytes(StreamId(1)), 70_000 - 65_535);
    s.recv_frame(window_update(0, 10_000)).unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 70_000 - 65_535, true)]);
}

#[test]
fn empty_data_with_end_stream_is_sent_without_window() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(0)]);
    s.send_data(StreamId(1), Bytes::new(), true).unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 0, true)]);
}

// ---------------------------------------------------------------------------
// §6.4 RST_STREAM, §6.7 PING, §6.8 GOAWAY

#[test]
fn s6_4_user_reset_sends_rst_and_drops_queue() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(0)]);
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 100]), true)
        .unwrap();
    s.reset(StreamId(1), ErrorCode::INTERNAL_ERROR).unwrap();
    s.recv_frame(settings(vec![Setting::InitialWindowSize(1000)]))
        .unwrap();
    let frames = drain(&mut s);
    assert_eq!(rst_code(&frames, 1), Some(ErrorCode::INTERNAL_ERROR));
    assert!(data_lens(&frames).is_empty());
    assert_eq!(s.active_streams(), 0);
}

#[test]
fn s6_4_reset_of_unknown_stream_is_user_error() {
    let (mut s, _) = server();
    assert_eq!(
        s.reset(StreamId(9), ErrorCode::CANCEL),
        Err(UserError::UnknownStream(StreamId(9)))
    );
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
        r = s.recv_frame(headers(id, b, false));
        if r.is_err() {
            break;
        }
        r = s.recv_frame(rst(id, ErrorCode::CANCEL));
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
        s.recv_frame(headers(id, p.block(GET), false)).unwrap();
        s.send_headers(StreamId(id), response(200), false).unwrap();
        s.recv_frame(rst(id, ErrorCode::CANCEL)).unwrap();
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
    s.recv_frame(headers(1, p.block(POST), false)).unwrap();
    let mut r = Ok(());
    let mut id = 3;
    for _ in 0..=MAX_PENDING_RESETS {
        let b = p.block(POST);
        r = s.recv_frame(headers(id, b, false));
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
    s.recv_frame(headers(1, p.block(POST), false)).unwrap();
    let mut id = 3;
    for _ in 0..2 * MAX_PENDING_RESETS {
        s.recv_frame(headers(id, p.block(POST), false)).unwrap();
        drain(&mut s);
        id += 2;
    }
}

#[test]
fn s6_8_last_stream_id_never_increases() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(POST), false)).unwrap();
    s.go_away(ErrorCode::NO_ERROR, Bytes::new());
    drain(&mut s);
    s.recv_frame(headers(3, p.block(GET), true)).unwrap(); // ignored
    let r = s.recv_frame(data(1, b"x", false).clone()).and_then(|_| {
        s.recv_frame(Frame::Continuation(Continuation {
            stream_id: StreamId(1),
            block: Bytes::new(),
            end_headers: true,
        }))
    });
    assert!(r.is_err());
    let frames = drain(&mut s);
    assert!(
        matches!(&frames[..], [Frame::GoAway(g)] if g.last_stream_id == StreamId(1)),
        "{frames:?}"
    );
}

#[test]
fn s10_5_flood_of_priority_frames_is_enhance_your_calm() {
    let (mut s, _) = server();
    let mut r = Ok(());
    for i in 0..=MAX_CHEAP_FRAMES {
        r = s.recv_frame(Frame::Priority(Priority {
            stream_id: StreamId(1 + 2 * (i % 1000)),
            spec: PrioritySpec {
                dependency: StreamId(0),
                exclusive: false,
                weight: 1,
            },
        }));
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
        r = s.recv_frame(data(1, b"", false));
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
    )
    .unwrap();
    for _ in 0..3 * MAX_CHEAP_FRAMES {
        s.recv_frame(window_update(1, 1)).unwrap();
        s.recv_frame(window_update(0, 1)).unwrap();
        drain(&mut s);
    }
}

#[test]
fn s6_7_ping_is_answered_with_ack() {
    let (mut s, _) = server();
    s.recv_frame(Frame::Ping(Ping {
        ack: false,
        payload: *b"12345678",
    }))
    .unwrap();
    assert_eq!(
        drain(&mut s),
        vec![Frame::Ping(Ping {
            ack: true,
            payload: *b"12345678"
        })]
    );
}

#[test]
fn s6_7_ping_flood_is_enhance_your_calm() {
    let (mut s, _) = server();
    let mut r = Ok(());
    for i in 0..100u8 {
        r = s.recv_frame(Frame::Ping(Ping {
            ack: false,
            payload: [i; 8],
        }));
        if r.is_err() {
            break;
        }
    }
    assert_conn_error(&mut s, r, ErrorCode::ENHANCE_YOUR_CALM);
}

#[test]
fn s6_7_user_ping_reports_ack_and_is_bounded() {
    let (mut c, _) = client();
    c.ping(*b"abcdefgh").unwrap();
    assert_eq!(
        drain(&mut c),
        vec![Frame::Ping(Ping {
            ack: false,
            payload: *b"abcdefgh"
        })]
    );
    c.recv_frame(Frame::Ping(Ping {
        ack: true,
        payload: *b"abcdefgh",
    }))
    .unwrap();
    assert!(matches!(events(&mut c)[..], [Event::PingAck { payload }] if &payload == b"abcdefgh"));
    for i in 0..Config::default().max_pending_pings {
        c.ping([i as u8; 8]).unwrap();
    }
    assert_eq!(c.ping([0xff; 8]), Err(UserError::TooManyPings));
}

#[test]
fn s6_7_unsolicited_ping_ack_is_ignored() {
    let (mut c, _) = client();
    c.recv_frame(Frame::Ping(Ping {
        ack: true,
        payload: [9; 8],
    }))
    .unwrap();
    assert!(events(&mut c).is_empty());
    assert!(drain(&mut c).is_empty());
}

#[test]
fn s6_8_go_away_carries_last_peer_stream_and_ignores_newer_ones() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    s.recv_frame(headers(3, p.block(GET), true)).unwrap();
    events(&mut s);
    s.go_away(ErrorCode::NO_ERROR, Bytes::from_static(b"bye"));
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
    s.recv_frame(headers(5, p.block(GET), false)).unwrap();
    s.recv_frame(data(5, b"x", true)).unwrap();
    assert!(events(&mut s).is_empty());
    assert!(!s.is_finished(), "streams 1 and 3 are still open");
    s.send_headers(StreamId(1), response(200), true).unwrap();
    s.send_headers(StreamId(3), response(200), true).unwrap();
    assert!(s.is_finished());
}

#[test]
fn s6_8_goaway_received_refuses_streams_above_last_id() {
    let (mut c, mut p) = client();
    let ids: Vec<StreamId> = (0..3).map(|_| c.open_stream().unwrap()).collect();
    for id in &ids {
        c.send_headers(*id, get_request("http://example.com/"), true)
            .unwrap();
    }
    drain(&mut c);
    c.recv_frame(Frame::GoAway(GoAway {
        last_stream_id: StreamId(1),
        error_code: ErrorCode::NO_ERROR,
        debug_data: Bytes::new(),
    }))
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
            Event::Reset {
                id,
                code: ErrorCode::REFUSED_STREAM,
                remote: true,
            } => Some(id.0),
            _ => None,
        })
        .collect();
    assert_eq!(refused, vec![3, 5]);
    assert_eq!(c.open_stream(), Err(UserError::GoingAway));
    // stream 1 finishes normally
    let b = p.block(&[(":status", "200")]);
    c.recv_frame(headers(1, b, true)).unwrap();
    assert!(c.is_finished());
}

#[test]
fn s6_8_user_actions_after_connection_error_fail_closed() {
    let (mut s, _) = server();
    let _ = s.recv_frame(data(1, b"x", false));
    assert_eq!(s.ping([0; 8]), Err(UserError::Closed));
    assert!(s.recv_frame(settings(vec![])).is_err());
}

// ---------------------------------------------------------------------------
// §8 messages

#[test]
fn s8_1_1_malformed_request_is_stream_error_protocol() {
    let (mut s, mut p) = server();
    let mut fields = GET.to_vec();
    fields.push(("Upper", "x"));
    let b = p.block(&fields);
    s.recv_frame(headers(1, b, true)).unwrap();
    let frames = drain(&mut s);
    assert_eq!(rst_code(&frames, 1), Some(ErrorCode::PROTOCOL_ERROR));
    assert!(goaway_code(&frames).is_none());
    assert!(events(&mut s).is_empty());
}

#[test]
fn s8_2_2_connection_specific_field_in_request_is_stream_error_protocol() {
    let (mut s, mut p) = server();
    let mut fields = GET.to_vec();
    fields.push(("connection", "keep-alive"));
    let b = p.block(&fields);
    s.recv_frame(headers(1, b, true)).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_3_1_request_without_path_is_stream_error_protocol() {
    let (mut s, mut p) = server();
    let b = p.block(&GET[..3]);
    s.recv_frame(headers(1, b, true)).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_1_1_content_length_longer_than_data_is_stream_error_protocol() {
    let (mut s, mut p) = server();
    let mut fields = POST.to_vec();
    fields.push(("content-length", "10"));
    let b = p.block(&fields);
    s.recv_frame(headers(1, b, false)).unwrap();
    events(&mut s);
    s.recv_frame(data(1, b"short", true)).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
    assert!(matches!(
        events(&mut s)[..],
        [Event::Reset {
            code: ErrorCode::PROTOCOL_ERROR,
            ..
        }]
    ));
}

#[test]
fn s8_1_1_content_length_shorter_than_data_is_stream_error_protocol() {
    let (mut s, mut p) = server();
    let mut fields = POST.to_vec();
    fields.push(("content-length", "3"));
    let b = p.block(&fields);
    s.recv_frame(headers(1, b, false)).unwrap();
    s.recv_frame(data(1, b"toolong", false)).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_1_1_content_length_matching_data_is_fine() {
    let (mut s, mut p) = server();
    let mut fields = POST.to_vec();
    fields.push(("content-length", "5"));
    let b = p.block(&fields);
    s.recv_frame(headers(1, b, false)).unwrap();
    s.recv_frame(data(1, b"hel", false)).unwrap();
    s.recv_frame(data(1, b"lo", true)).unwrap();
    assert!(rst_code(&drain(&mut s), 1).is_none());
}

#[test]
fn s8_1_1_content_length_with_end_stream_on_headers_is_stream_error() {
    let (mut s, mut p) = server();
    let mut fields = POST.to_vec();
    fields.push(("content-length", "5"));
    let b = p.block(&fields);
    s.recv_frame(headers(1, b, true)).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_1_trailers_are_delivered() {
    let (mut s, mut p) = server_with_open_stream();
    s.recv_frame(data(1, b"body", false)).unwrap();
    let b = p.block(&[("x-checksum", "abc")]);
    s.recv_frame(headers(1, b, true)).unwrap();
    let evs = events(&mut s);
    assert!(matches!(&evs[1], Event::Trailers { trailers, .. } if trailers["x-checksum"] == "abc"));
    assert_eq!(
        s.stream_state(StreamId(1)),
        Some(StreamState::HalfClosedRemote)
    );
}

#[test]
fn s8_1_trailers_without_end_stream_are_stream_error_protocol() {
    let (mut s, mut p) = server_with_open_stream();
    let b = p.block(&[("x-checksum", "abc")]);
    s.recv_frame(headers(1, b, false)).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_1_trailers_with_pseudo_header_are_stream_error_protocol() {
    let (mut s, mut p) = server_with_open_stream();
    let b = p.block(&[(":path", "/")]);
    s.recv_frame(headers(1, b, true)).unwrap();
    assert_eq!(rst_code(&drain(&mut s), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_1_informational_responses_precede_the_final_one() {
    let (mut c, mut p) = client_with_open_stream();
    for status in ["100", "103"] {
        let b = p.block(&[(":status", status)]);
        c.recv_frame(headers(1, b, false)).unwrap();
    }
    let b = p.block(&[(":status", "200")]);
    c.recv_frame(headers(1, b, false)).unwrap();
    c.recv_frame(data(1, b"ok", true)).unwrap();
    let evs = events(&mut c);
    let statuses: Vec<u16> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Headers {
                head: Head::Response(r),
                ..
            } => Some(r.status().as_u16()),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![100, 103, 200]);
    assert_eq!(body_of(&evs, StreamId(1)), (b"ok".to_vec(), true));
}

#[test]
fn s8_1_informational_response_with_end_stream_is_stream_error_protocol() {
    let (mut c, mut p) = client_with_open_stream();
    let b = p.block(&[(":status", "100")]);
    c.recv_frame(headers(1, b, true)).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_1_data_before_response_headers_is_stream_error_protocol() {
    let (mut c, _) = client_with_open_stream();
    c.recv_frame(data(1, b"x", false)).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 1), Some(ErrorCode::PROTOCOL_ERROR));
}

#[test]
fn s8_3_2_response_without_status_is_stream_error_protocol() {
    let (mut c, mut p) = client_with_open_stream();
    let b = p.block(&[("server", "x")]);
    c.recv_frame(headers(1, b, true)).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 1), Some(ErrorCode::PROTOCOL_ERROR));
    assert!(matches!(
        events(&mut c)[..],
        [Event::Reset {
            id: StreamId(1),
            code: ErrorCode::PROTOCOL_ERROR,
            remote: false
        }]
    ));
}

#[test]
fn s8_1_1_head_response_content_length_without_data_is_fine() {
    let (mut c, mut p) = client();
    let id = c.open_stream().unwrap();
    let req = Request::head("http://example.com/").body(()).unwrap();
    c.send_headers(id, Head::Request(req), true).unwrap();
    let b = p.block(&[(":status", "200"), ("content-length", "1234")]);
    c.recv_frame(headers(1, b, true)).unwrap();
    assert!(rst_code(&drain(&mut c), 1).is_none());
}

#[test]
fn s8_2_2_sending_connection_specific_field_is_user_error() {
    let (mut c, _) = client();
    let id = c.open_stream().unwrap();
    let req = Request::get("http://example.com/")
        .header("connection", "close")
        .body(())
        .unwrap();
    assert!(matches!(
        c.send_headers(id, Head::Request(req), true),
        Err(UserError::Malformed(_))
    ));
    assert!(drain(&mut c).is_empty());
}

#[test]
fn s8_1_sending_response_as_client_is_wrong_role() {
    let (mut c, _) = client();
    let id = c.open_stream().unwrap();
    assert_eq!(
        c.send_headers(id, response(200), true),
        Err(UserError::WrongRole(Role::Server))
    );
}

#[test]
fn s8_1_informational_response_cannot_end_stream() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    assert!(matches!(
        s.send_headers(StreamId(1), response(103), true),
        Err(UserError::Malformed(_))
    ));
    s.send_headers(StreamId(1), response(103), false).unwrap();
    s.send_headers(StreamId(1), response(200), true).unwrap();
    let n = drain(&mut s)
        .iter()
        .filter(|f| matches!(f, Frame::Headers(_)))
        .count();
    assert_eq!(n, 2);
}

#[test]
fn s8_1_second_final_response_is_refused() {
    let (mut s, _) = server_responding(vec![]);
    assert!(matches!(
        s.send_headers(StreamId(1), response(200), true),
        Err(UserError::InvalidState { .. })
    ));
}

#[test]
fn s6_5_2_peer_max_header_list_size_is_respected_for_sends() {
    let (mut c, _) = client_with(Config::default(), vec![Setting::MaxHeaderListSize(100)]);
    let id = c.open_stream().unwrap();
    let req = Request::get("http://example.com/")
        .header("x-long", "v".repeat(200))
        .body(())
        .unwrap();
    assert!(matches!(
        c.send_headers(id, Head::Request(req), true),
        Err(UserError::Malformed(_))
    ));
}

#[test]
fn s8_2_sensitive_values_are_never_indexed() {
    let (mut c, mut p) = client();
    let id = c.open_stream().unwrap();
    let mut v = HeaderValue::from_static("secret-token-value");
    v.set_sensitive(true);
    let req = Request::get("http://example.com/")
        .header("x-api-key", v)
        .body(())
        .unwrap();
    c.send_headers(id, Head::Request(req), true).unwrap();
    let frames = drain(&mut c);
    let Frame::Headers(h) = &frames[0] else {
        panic!()
    };
    let mut out = Vec::new();
    p.dec.decode(&h.block, &mut out).unwrap();
    let f = out.iter().find(|f| &f.name[..] == b"x-api-key").unwrap();
    assert!(f.never_index);
}

// ---------------------------------------------------------------------------
// §8.4 server push

fn push_request(path: &str) -> Request<()> {
    Request::get(format!("http://example.com{path}"))
        .body(())
        .unwrap()
}

#[test]
fn s8_4_push_promise_is_sent_on_the_request_stream() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
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
    s.send_headers(promised, response(200), false).unwrap();
    assert_eq!(
        s.stream_state(promised),
        Some(StreamState::HalfClosedRemote)
    );
    s.send_data(promised, Bytes::from_static(b"body{}"), true)
        .unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(2, 6, true)]);
    assert_eq!(s.stream_state(promised), None);
}

#[test]
fn s8_4_push_promise_refused_when_peer_disabled_push() {
    let (mut s, mut p) = server_with(Config::default(), vec![Setting::EnablePush(false)]);
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
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
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    let post = Request::post("http://example.com/a").body(()).unwrap();
    assert!(matches!(
        s.push_promise(StreamId(1), post),
        Err(UserError::Malformed(_))
    ));
}

#[test]
fn s8_4_push_promise_only_on_open_peer_stream() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    s.send_headers(StreamId(1), response(200), false).unwrap();
    let promised = s.push_promise(StreamId(1), push_request("/a")).unwrap();
    // not on a pushed stream
    assert!(matches!(
        s.push_promise(promised, push_request("/b")),
        Err(UserError::InvalidState { .. })
    ));
    // not after the stream closed
    s.send_data(StreamId(1), Bytes::new(), true).unwrap();
    drain(&mut s);
    assert!(matches!(
        s.push_promise(StreamId(1), push_request("/c")),
        Err(UserError::UnknownStream(_))
    ));
}

fn push_frame(p: &mut Peer, id: u32, promised: u32, fields: &[(&str, &str)]) -> Frame {
    Frame::PushPromise(PushPromise {
        stream_id: StreamId(id),
        promised_id: StreamId(promised),
        block: p.block(fields),
        end_headers: true,
        pad_len: None,
    })
}

#[test]
fn s8_4_client_receives_promise_then_pushed_response() {
    let (mut c, mut p) = client_with_open_stream();
    let f = push_frame(&mut p, 1, 2, GET);
    c.recv_frame(f).unwrap();
    let evs = events(&mut c);
    assert!(
        matches!(&evs[..], [Event::Promise { id: StreamId(1), promised_id: StreamId(2), request }] if request.uri() == "http://example.com/")
    );
    assert_eq!(
        c.stream_state(StreamId(2)),
        Some(StreamState::ReservedRemote)
    );
    let b = p.block(&[(":status", "200")]);
    c.recv_frame(headers(2, b, false)).unwrap();
    assert_eq!(
        c.stream_state(StreamId(2)),
        Some(StreamState::HalfClosedLocal)
    );
    c.recv_frame(data(2, b"pushed", true)).unwrap();
    let evs = events(&mut c);
    assert_eq!(body_of(&evs, StreamId(2)), (b"pushed".to_vec(), true));
    assert!(matches!(
        evs.last(),
        Some(Event::Closed { id: StreamId(2) })
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
    c.send_headers(id, get_request("http://example.com/"), true)
        .unwrap();
    let f = push_frame(&mut p, 1, 2, GET);
    let r = c.recv_frame(f);
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s8_4_push_promise_received_by_server_is_connection_error_protocol() {
    let (mut s, mut p) = server_with_open_stream();
    let f = push_frame(&mut p, 1, 2, GET);
    let r = s.recv_frame(f);
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_6_promised_odd_stream_id_is_connection_error_protocol() {
    let (mut c, mut p) = client_with_open_stream();
    let f = push_frame(&mut p, 1, 3, GET);
    let r = c.recv_frame(f);
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_6_promised_stream_id_reused_is_connection_error_protocol() {
    let (mut c, mut p) = client_with_open_stream();
    let f = push_frame(&mut p, 1, 4, GET);
    c.recv_frame(f).unwrap();
    let f = push_frame(&mut p, 1, 2, GET);
    let r = c.recv_frame(f);
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_6_push_promise_on_idle_stream_is_connection_error_protocol() {
    let (mut c, mut p) = client();
    let f = push_frame(&mut p, 1, 2, GET);
    let r = c.recv_frame(f);
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s8_4_1_promised_post_is_stream_error_on_promised_stream() {
    let (mut c, mut p) = client_with_open_stream();
    let mut fields = GET.to_vec();
    fields[0] = (":method", "POST");
    let f = push_frame(&mut p, 1, 2, &fields);
    c.recv_frame(f).unwrap();
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
    c.send_headers(id, get_request("http://example.com/"), false)
        .unwrap();
    let f = push_frame(&mut p, 1, 2, GET);
    c.recv_frame(f).unwrap();
    let f = push_frame(&mut p, 1, 4, GET);
    c.recv_frame(f).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 4), Some(ErrorCode::REFUSED_STREAM));
}

#[test]
fn s5_1_push_promise_on_stream_we_reset_is_cancelled() {
    let (mut c, mut p) = client_with_open_stream();
    c.reset(StreamId(1), ErrorCode::CANCEL).unwrap();
    drain(&mut c);
    let f = push_frame(&mut p, 1, 2, GET);
    c.recv_frame(f).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 2), Some(ErrorCode::CANCEL));
    assert!(events(&mut c).is_empty());
}

// ---------------------------------------------------------------------------
// end to end: a client Connection piped into a server Connection

fn find_request(evs: &[Event]) -> (StreamId, &Request<()>, bool) {
    evs.iter()
        .find_map(|e| match e {
            Event::Headers {
                id,
                head: Head::Request(r),
                end_stream,
            } => Some((*id, r, *end_stream)),
            _ => None,
        })
        .expect("a request")
}

#[test]
fn e2e_get_request_and_response_with_body() {
    let mut pair = Pair::new(Config::default(), Config::default());
    let id = pair.client.open_stream().unwrap();
    pair.client
        .send_headers(id, get_request("http://example.com/hello"), true)
        .unwrap();
    pair.pump();
    let sev = pair.take_server();
    let (sid, req, end) = find_request(&sev);
    assert_eq!(sid, id);
    assert_eq!(req.method(), Method::GET);
    assert_eq!(req.uri(), "http://example.com/hello");
    assert!(end);
    let resp = Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(())
        .unwrap();
    pair.server
        .send_headers(sid, Head::Response(resp), false)
        .unwrap();
    pair.server
        .send_data(sid, Bytes::from_static(b"hello world\n"), true)
        .unwrap();
    pair.pump();
    let cev = pair.take_client();
    let resp = cev
        .iter()
        .find_map(|e| match e {
            Event::Headers {
                head: Head::Response(r),
                ..
            } => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert_eq!(body_of(&cev, id), (b"hello world\n".to_vec(), true));
    assert!(cev
        .iter()
        .any(|e| matches!(e, Event::Closed { id: i } if *i == id)));
    assert!(pair
        .take_server()
        .iter()
        .any(|e| matches!(e, Event::Closed { id: i } if *i == sid)));
    assert_eq!(pair.client.active_streams(), 0);
    assert_eq!(pair.server.active_streams(), 0);
}

/// Sends `body` from the client as a POST, echoes it back from the server,
/// releasing capacity as the user would, with small windows.
fn echo(pair: &mut Pair, body: Vec<u8>) {
    let id = pair.client.open_stream().unwrap();
    let req = Request::post("http://example.com/echo").body(()).unwrap();
    pair.client
        .send_headers(id, Head::Request(req), false)
        .unwrap();
    let mut to_send = Bytes::from(body.clone());
    let mut received_by_server = Vec::new();
    let mut received_by_client = Vec::new();
    let mut client_done = false;
    let mut server_started = false;
    let mut server_end_queued = false;
    for _ in 0..100_000 {
        // the client feeds its body in chunks, as the send buffer allows
        if !to_send.is_empty() {
            let n = to_send.len().min(10_000);
            let chunk = to_send.split_to(n);
            let last = to_send.is_empty();
            pair.client.send_data(id, chunk, last).unwrap();
        }
        pair.pump();
        for e in pair.take_server() {
            match e {
                Event::Headers { id: sid, .. } => {
                    assert_eq!(sid, id);
                    pair.server.send_headers(sid, response(200), false).unwrap();
                    server_started = true;
                }
                Event::Data {
                    id: sid,
                    data,
                    end_stream,
                } => {
                    received_by_server.extend_from_slice(&data);
                    pair.server.release_capacity(sid, data.len());
                    pair.server.send_data(sid, data, end_stream).unwrap();
                    server_end_queued |= end_stream;
                }
                _ => {}
            }
        }
        for e in pair.take_client() {
            if let Event::Data {
                id: cid,
                data,
                end_stream,
            } = e
            {
                received_by_client.extend_from_slice(&data);
                pair.client.release_capacity(cid, data.len());
                client_done |= end_stream;
            }
        }
        if client_done {
            break;
        }
    }
    assert!(server_started && server_end_queued);
    assert_eq!(received_by_server.len(), body.len());
    assert!(received_by_client == body, "echoed body differs");
}

#[test]
fn e2e_post_echo_of_a_large_body_with_small_windows() {
    let small = Config {
        initial_window_size: 1024,
        connection_window_size: 65_535,
        ..Config::default()
    };
    let mut pair = Pair::new(small.clone(), small);
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    echo(&mut pair, body);
}

#[test]
fn e2e_post_echo_with_default_windows() {
    let mut pair = Pair::new(Config::default(), Config::default());
    let body: Vec<u8> = (0..2_000_000u32).map(|i| (i % 253) as u8).collect();
    echo(&mut pair, body);
}

#[test]
fn e2e_many_concurrent_streams_within_the_peer_limit() {
    let server_cfg = Config {
        max_concurrent_streams: 8,
        ..Config::default()
    };
    let mut pair = Pair::new(Config::default(), server_cfg);
    let mut opened = Vec::new();
    while pair.client.can_open_stream() {
        let id = pair.client.open_stream().unwrap();
        pair.client
            .send_headers(id, get_request("http://example.com/"), true)
            .unwrap();
        opened.push(id);
    }
    assert_eq!(opened.len(), 8);
    pair.pump();
    let sev = pair.take_server();
    let reqs: Vec<StreamId> = sev
        .iter()
        .filter_map(|e| match e {
            Event::Headers { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(reqs, opened);
    for id in reqs {
        pair.server.send_headers(id, response(204), true).unwrap();
    }
    pair.pump();
    let closed = pair
        .take_client()
        .iter()
        .filter(|e| matches!(e, Event::Closed { .. }))
        .count();
    assert_eq!(closed, 8);
    assert!(pair.client.can_open_stream());
}

#[test]
fn e2e_trailers_reach_the_client() {
    let mut pair = Pair::new(Config::default(), Config::default());
    let id = pair.client.open_stream().unwrap();
    pair.client
        .send_headers(id, get_request("http://example.com/trailers"), true)
        .unwrap();
    pair.pump();
    pair.take_server();
    pair.server.send_headers(id, response(200), false).unwrap();
    pair.server
        .send_data(id, Bytes::from_static(b"body"), false)
        .unwrap();
    let mut t = HeaderMap::new();
    t.insert("x-trailer-test", HeaderValue::from_static("ok"));
    pair.server.send_trailers(id, t).unwrap();
    pair.pump();
    let cev = pair.take_client();
    assert!(cev.iter().any(
        |e| matches!(e, Event::Trailers { trailers, .. } if trailers["x-trailer-test"] == "ok")
    ));
    assert_eq!(body_of(&cev, id), (b"body".to_vec(), true));
}

#[test]
fn e2e_server_push() {
    let mut pair = Pair::new(Config::default(), Config::default());
    let id = pair.client.open_stream().unwrap();
    pair.client
        .send_headers(id, get_request("http://example.com/push"), true)
        .unwrap();
    pair.pump();
    pair.take_server();
    let promised = pair
        .server
        .push_promise(id, push_request("/pushed.css"))
        .unwrap();
    pair.server.send_headers(id, response(200), false).unwrap();
    pair.server
        .send_data(id, Bytes::from_static(b"page"), true)
        .unwrap();
    pair.server
        .send_headers(promised, response(200), false)
        .unwrap();
    pair.server
        .send_data(promised, Bytes::from_static(b"css"), true)
        .unwrap();
    pair.pump();
    let cev = pair.take_client();
    assert!(
        matches!(&cev[0], Event::Promise { promised_id, request, .. } if *promised_id == promised && request.uri().path() == "/pushed.css")
    );
    assert_eq!(body_of(&cev, id), (b"page".to_vec(), true));
    assert_eq!(body_of(&cev, promised), (b"css".to_vec(), true));
    assert_eq!(pair.client.active_streams(), 0);
    assert_eq!(pair.server.active_streams(), 0);
}

#[test]
fn e2e_reset_mid_body_leaves_the_connection_usable() {
    let mut pair = Pair::new(Config::default(), Config::default());
    let id = pair.client.open_stream().unwrap();
    pair.client
        .send_headers(id, get_request("http://example.com/bytes/1000000"), true)
        .unwrap();
    pair.pump();
    pair.take_server();
    pair.server.send_headers(id, response(200), false).unwrap();
    pair.server
        .send_data(id, Bytes::from(vec![7u8; 3_000_000]), true)
        .unwrap();
    // deliver part of it, then the client gives up
    transfer(&mut pair.server, &mut pair.client);
    pair.client.reset(id, ErrorCode::CANCEL).unwrap();
    pair.pump();
    assert!(pair.take_server().iter().any(
        |e| matches!(e, Event::Reset { id: i, code: ErrorCode::CANCEL, remote: true } if *i == id)
    ));
    assert_eq!(pair.server.active_streams(), 0);
    // a second request goes through
    let id2 = pair.client.open_stream().unwrap();
    pair.client
        .send_headers(id2, get_request("http://example.com/"), true)
        .unwrap();
    pair.pump();
    pair.take_server();
    pair.server.send_headers(id2, response(200), false).unwrap();
    pair.server
        .send_data(id2, Bytes::from_static(b"ok"), true)
        .unwrap();
    pair.pump();
    assert_eq!(body_of(&pair.take_client(), id2), (b"ok".to_vec(), true));
}

#[test]
fn e2e_graceful_go_away() {
    let mut pair = Pair::new(Config::default(), Config::default());
    let id = pair.client.open_stream().unwrap();
    pair.client
        .send_headers(id, get_request("http://example.com/"), true)
        .unwrap();
    pair.pump();
    pair.take_server();
    pair.server.go_away(ErrorCode::NO_ERROR, Bytes::new());
    pair.pump();
    assert!(pair
        .take_client()
        .iter()
        .any(|e| matches!(e, Event::GoAway { last_stream_id, .. } if *last_stream_id == id)));
    assert!(!pair.server.is_finished());
    pair.server.send_headers(id, response(200), true).unwrap();
    pair.pump();
    assert!(pair.server.is_finished());
    assert!(pair.client.is_finished());
}

// ---------------------------------------------------------------------------
// RFC 7540 §3.2: HTTP/1.1 Upgrade (h2c)

#[test]
fn rfc7540_s3_2_upgrade_makes_stream_1_and_the_response_flows() {
    let mut pair = Pair {
        client: Connection::new(Role::Client, Config::default()),
        server: Connection::new(Role::Server, Config::default()),
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
    pair.server.send_headers(s1, response(200), false).unwrap();
    pair.server
        .send_data(s1, Bytes::from_static(b"upgraded"), true)
        .unwrap();
    pair.pump();
    let cev = pair.take_client();
    assert_eq!(body_of(&cev, c1), (b"upgraded".to_vec(), true));
    // the next client stream is 3
    assert_eq!(pair.client.open_stream(), Ok(StreamId(3)));
}

#[test]
fn rfc7540_s3_2_upgrade_settings_are_not_acked_by_a_frame() {
    let mut s = Connection::new(Role::Server, Config::default());
    s.upgrade(Some(vec![Setting::MaxFrameSize(20_000)]), false)
        .unwrap();
    let frames = drain(&mut s);
    assert!(!frames
        .iter()
        .any(|f| matches!(f, Frame::Settings(x) if x.ack)));
    // the client preface SETTINGS is still required first
    let r = s.recv_frame(data(1, b"x", false));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rfc7540_s3_2_upgrade_only_at_the_start() {
    let (mut s, _) = server();
    assert!(matches!(
        s.upgrade(None, false),
        Err(UserError::InvalidState { .. })
    ));
    let mut c = Connection::new(Role::Client, Config::default());
    assert_eq!(
        c.upgrade(Some(vec![]), false),
        Err(UserError::WrongRole(Role::Server))
    );
}

// ---------------------------------------------------------------------------
// more state rules

#[test]
fn s6_1_data_on_stream_0_is_connection_error_protocol() {
    let (mut s, _) = server();
    let r = s.recv_frame(data(0, b"x", false));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_2_headers_on_stream_0_is_connection_error_protocol() {
    let (mut s, mut p) = server();
    let b = p.block(GET);
    let r = s.recv_frame(headers(0, b, true));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_4_rst_stream_on_stream_0_is_connection_error_protocol() {
    let (mut s, _) = server();
    let r = s.recv_frame(rst(0, ErrorCode::CANCEL));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_5_2_client_receiving_enable_push_0_is_fine() {
    let (c, _) = client_with(Config::default(), vec![Setting::EnablePush(false)]);
    assert!(!c.peer_settings().enable_push);
}

#[test]
fn s5_1_reserved_local_accepts_window_update_and_rst() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    let promised = s.push_promise(StreamId(1), push_request("/a")).unwrap();
    drain(&mut s);
    s.recv_frame(window_update(promised.0, 100)).unwrap();
    assert!(drain(&mut s).is_empty());
    s.recv_frame(rst(promised.0, ErrorCode::CANCEL)).unwrap();
    assert_eq!(s.stream_state(promised), None);
    assert!(events(&mut s)
        .iter()
        .any(|e| matches!(e, Event::Reset { id, code: ErrorCode::CANCEL, remote: true } if *id == promised)));
}

#[test]
fn s5_1_headers_on_reserved_local_is_connection_error_protocol() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    let promised = s.push_promise(StreamId(1), push_request("/a")).unwrap();
    let b = p.block(GET);
    let r = s.recv_frame(headers(promised.0, b, true));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s5_1_rst_stream_on_reserved_remote_closes_it() {
    let (mut c, mut p) = client_with_open_stream();
    let f = push_frame(&mut p, 1, 2, GET);
    c.recv_frame(f).unwrap();
    events(&mut c);
    c.recv_frame(rst(2, ErrorCode::CANCEL)).unwrap();
    assert_eq!(c.stream_state(StreamId(2)), None);
}

#[test]
fn s5_1_user_reset_of_reserved_remote_push_sends_rst() {
    let (mut c, mut p) = client_with_open_stream();
    let f = push_frame(&mut p, 1, 2, GET);
    c.recv_frame(f).unwrap();
    c.reset(StreamId(2), ErrorCode::CANCEL).unwrap();
    assert_eq!(rst_code(&drain(&mut c), 2), Some(ErrorCode::CANCEL));
    // the pushed response in flight is ignored
    let b = p.block(&[(":status", "200")]);
    c.recv_frame(headers(2, b, false)).unwrap();
    c.recv_frame(data(2, b"x", true)).unwrap();
    assert!(drain(&mut c).is_empty());
}

#[test]
fn s6_10_continuation_after_end_headers_is_connection_error_protocol() {
    let (mut s, mut p) = server_with_open_stream();
    let _ = &mut p;
    let r = s.recv_frame(Frame::Continuation(Continuation {
        stream_id: StreamId(1),
        block: Bytes::new(),
        end_headers: true,
    }));
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn s6_6_push_promise_split_over_continuation_is_assembled() {
    let (mut c, mut p) = client_with_open_stream();
    let b = p.block(GET);
    let (a, rest) = b.split_at(2);
    c.recv_frame(Frame::PushPromise(PushPromise {
        stream_id: StreamId(1),
        promised_id: StreamId(2),
        block: Bytes::copy_from_slice(a),
        end_headers: false,
        pad_len: None,
    }))
    .unwrap();
    c.recv_frame(Frame::Continuation(Continuation {
        stream_id: StreamId(1),
        block: Bytes::copy_from_slice(rest),
        end_headers: true,
    }))
    .unwrap();
    assert!(matches!(
        events(&mut c)[..],
        [Event::Promise {
            promised_id: StreamId(2),
            ..
        }]
    ));
}

#[test]
fn s5_1_2_peer_lowering_max_concurrent_streams_blocks_new_streams() {
    let (mut c, _) = client();
    let a = c.open_stream().unwrap();
    c.send_headers(a, get_request("http://example.com/"), true)
        .unwrap();
    c.recv_frame(settings(vec![Setting::MaxConcurrentStreams(1)]))
        .unwrap();
    assert_eq!(c.open_stream(), Err(UserError::StreamLimit));
    c.recv_frame(settings(vec![Setting::MaxConcurrentStreams(0)]))
        .unwrap();
    assert!(!c.can_open_stream());
}

#[test]
fn s6_8_second_goaway_with_lower_last_id_refuses_more_streams() {
    let (mut c, _) = client();
    let ids: Vec<StreamId> = (0..3).map(|_| c.open_stream().unwrap()).collect();
    for id in &ids {
        c.send_headers(*id, get_request("http://example.com/"), true)
            .unwrap();
    }
    for last in [5, 1] {
        c.recv_frame(Frame::GoAway(GoAway {
            last_stream_id: StreamId(last),
            error_code: ErrorCode::NO_ERROR,
            debug_data: Bytes::new(),
        }))
        .unwrap();
    }
    let refused = events(&mut c)
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Reset {
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
    c.recv_frame(Frame::GoAway(GoAway {
        last_stream_id: StreamId(0),
        error_code: ErrorCode::ENHANCE_YOUR_CALM,
        debug_data: Bytes::from_static(b"slow down"),
    }))
    .unwrap();
    let evs = events(&mut c);
    assert!(
        matches!(&evs[0], Event::GoAway { code: ErrorCode::ENHANCE_YOUR_CALM, debug_data, .. } if &debug_data[..] == b"slow down")
    );
    assert!(matches!(
        evs[1],
        Event::Reset {
            id: StreamId(1),
            code: ErrorCode::REFUSED_STREAM,
            remote: true
        }
    ));
    assert!(c.is_finished());
}

#[test]
fn s6_8_go_away_without_streams_is_finished_at_once() {
    let (mut s, _) = server();
    assert!(!s.is_finished());
    s.go_away(ErrorCode::NO_ERROR, Bytes::new());
    assert!(s.is_finished());
    assert!(matches!(&drain(&mut s)[..], [Frame::GoAway(g)] if g.last_stream_id == StreamId(0)));
}

#[test]
fn s6_9_window_update_on_half_closed_local_stream_reopens_sending_of_nothing() {
    // a peer may send WINDOW_UPDATE after our END_STREAM (§5.1 half-closed)
    let (mut c, _) = client_with_open_stream();
    c.send_data(StreamId(1), Bytes::from_static(b"done"), true)
        .unwrap();
    drain(&mut c);
    c.recv_frame(window_update(1, 1000)).unwrap();
    assert!(drain(&mut c).is_empty());
}

#[test]
fn s8_1_request_trailers_from_client_are_sent_after_body() {
    let (mut c, mut p) = client_with_open_stream();
    c.send_data(StreamId(1), Bytes::from_static(b"body"), false)
        .unwrap();
    let mut t = HeaderMap::new();
    t.insert("grpc-status", HeaderValue::from_static("0"));
    c.send_trailers(StreamId(1), t).unwrap();
    let frames = drain(&mut c);
    assert_eq!(data_lens(&frames), vec![(1, 4, false)]);
    let Some(Frame::Headers(h)) = frames.last() else {
        panic!("{frames:?}")
    };
    assert!(h.end_stream);
    let _ = &mut p;
}

#[test]
fn s6_8_two_step_shutdown_accepts_in_flight_streams_until_the_ping_ack() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true)).unwrap();
    s.go_away_graceful();
    let frames = drain(&mut s);
    assert!(
        matches!(&frames[0], Frame::GoAway(g) if g.last_stream_id == StreamId::MAX && g.error_code == ErrorCode::NO_ERROR)
    );
    let Frame::Ping(ping) = frames[1] else {
        panic!("{frames:?}")
    };
    assert!(!ping.ack);
    // a request that was in flight is still served
    s.recv_frame(headers(3, p.block(GET), true)).unwrap();
    assert_eq!(events(&mut s).len(), 2);
    assert!(!s.is_finished());
    s.recv_frame(Frame::Ping(Ping {
        ack: true,
        payload: ping.payload,
    }))
    .unwrap();
    assert!(matches!(&drain(&mut s)[..], [Frame::GoAway(g)] if g.last_stream_id == StreamId(3)));
    assert!(
        events(&mut s).is_empty(),
        "the internal PING is not reported"
    );
    // newer streams are now ignored; the open ones finish
    s.recv_frame(headers(5, p.block(GET), true)).unwrap();
    assert!(events(&mut s).is_empty());
    s.send_headers(StreamId(1), response(204), true).unwrap();
    s.send_headers(StreamId(3), response(204), true).unwrap();
    assert!(s.is_finished());
}

#[test]
fn s6_8_two_step_shutdown_without_ping_ack_finishes_at_the_deadline() {
    let (mut s, _) = server();
    s.go_away_graceful();
    drain(&mut s);
    assert!(!s.is_finished());
    let deadline = s.poll_timeout().expect("shutdown deadline");
    s.handle_timeout(deadline).unwrap();
    assert!(matches!(&drain(&mut s)[..], [Frame::GoAway(g)] if g.last_stream_id == StreamId(0)));
    assert!(s.is_finished());
    assert_eq!(s.poll_timeout(), None);
}
