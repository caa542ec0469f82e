//! Rule-by-rule tests of the state machine, named after the RFC 9113
//! section they check. Each drives a `Connection` frame by frame (the peer
//! is played by hand with its own HPACK contexts) and decodes what
//! `poll_transmit` wrote; the end-to-end ones pipe a client `Connection`
//! into a server `Connection`.
//!
//! One file per concern, as the code is split: `settings` (§3.4, §6.5),
//! `recv` (§5.1 states, stream 0, PING), `recv_headers` (§4.3, §6.10, §8 as
//! received), `flow` (§6.9), `transmit`, `actions` (user actions and their
//! errors), `push` (§8.4), `guards` (§10.5, rapid reset), `shutdown`
//! (§6.8), `upgrade` (RFC 7540 §3.2), `app` (the per-stream application
//! slot), `e2e`. This file is the harness.

use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};

use super::*;
use crate::frame::{
    self, Continuation, Data, Frame, GoAway, Headers, Ping, Priority, PrioritySpec, PushPromise,
    RstStream, Setting, Settings, StreamId, Unknown, WindowUpdate, MAX_MAX_FRAME_SIZE, PREFACE,
};
use crate::hpack;

mod actions;
mod app;
mod bdp;
mod e2e;
mod flow;
mod guards;
mod priority;
mod push;
mod recv;
mod recv_headers;
mod settings;
mod shutdown;
mod timers;
mod transmit;
mod upgrade;

// ---------------------------------------------------------------------------
// harness

/// The fake clock's origin: every test passes time in explicitly (`t0()`,
/// `t0() + Duration::from_secs(11)`), so timers fire without waiting.
fn t0() -> Instant {
    static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *T0.get_or_init(Instant::now)
}

/// Everything `c` wants to write, decoded (the client preface skipped).
fn drain(c: &mut Connection) -> Vec<Frame> {
    drain_at(c, t0())
}

/// [`drain`], written at `now` (what writing finds is dated with it).
fn drain_at(c: &mut Connection, now: Instant) -> Vec<Frame> {
    let mut buf = BytesMut::new();
    c.poll_transmit(&mut buf, usize::MAX, now);
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

fn ping(ack: bool, payload: [u8; 8]) -> Frame {
    Frame::Ping(Ping { ack, payload })
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
    let mut s = Connection::new(Role::Server, config, t0());
    drain(&mut s);
    s.recv_frame(settings(peer_params), t0()).unwrap();
    s.recv_frame(settings_ack(), t0()).unwrap();
    drain(&mut s);
    events(&mut s);
    (s, Peer::new())
}

fn server() -> (Connection, Peer) {
    server_with(Config::default(), vec![])
}

/// `Config::default()` without the [`Timeouts`], for tests of the other
/// timers that let much time pass.
fn no_timeouts() -> Config {
    Config {
        timeouts: Timeouts::disabled(),
        ..Config::default()
    }
}

/// A client that has exchanged SETTINGS with the peer.
fn client_with(config: Config, peer_params: Vec<Setting>) -> (Connection, Peer) {
    let mut c = Connection::new(Role::Client, config, t0());
    drain(&mut c);
    c.recv_frame(settings(peer_params), t0()).unwrap();
    c.recv_frame(settings_ack(), t0()).unwrap();
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
    s.recv_frame(headers(1, b, false), t0()).unwrap();
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
    c.send_headers(id, get_request("http://example.com/"), false, t0())
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
    from.poll_transmit(&mut buf, usize::MAX, t0());
    if buf.is_empty() {
        return false;
    }
    if buf.starts_with(PREFACE) {
        buf.advance(PREFACE.len());
    }
    loop {
        match Frame::decode(&mut buf, to.local_max_frame_size()) {
            Ok(Some(f)) => to
                .recv_frame(f, t0())
                .expect("no connection error in a clean exchange"),
            Ok(None) => break,
            Err(e) => to.recv_malformed(e, t0()).expect("no connection error"),
        }
    }
    true
}

impl Pair {
    fn new(client: Config, server: Config) -> Pair {
        let mut p = Pair {
            client: Connection::new(Role::Client, client, t0()),
            server: Connection::new(Role::Server, server, t0()),
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
            Event::RecvData {
                id: i,
                data,
                end_stream,
            } if *i == id => {
                body.extend_from_slice(data);
                ended |= *end_stream;
            }
            Event::RecvHeaders {
                id: i,
                end_stream: true,
                ..
            } if *i == id => ended = true,
            Event::RecvTrailers { id: i, .. } if *i == id => ended = true,
            _ => {}
        }
    }
    (body, ended)
}

/// A server whose stream 1 has its final response head sent.
fn server_responding(peer_params: Vec<Setting>) -> (Connection, Peer) {
    let (mut s, mut p) = server_with(Config::default(), peer_params);
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.send_headers(StreamId(1), response(200), false, t0())
        .unwrap();
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

fn push_request(path: &str) -> Request<()> {
    Request::get(format!("http://example.com{path}"))
        .body(())
        .unwrap()
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
