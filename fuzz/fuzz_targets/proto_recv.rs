//! The protocol state machine driven by arbitrary input in both roles: peer
//! bytes (through the codec) interleaved with user actions and a fake clock.
//! The input is an opcode stream; each opcode takes its arguments from the
//! bytes after it. After every step: never panics, our output always
//! decodes, and `wants_transmit` is false after an unlimited
//! `poll_transmit`.
//!
//! Each stream gets an application slot (its id, as the actor layer sets
//! its entry): on its first HEADERS or PUSH_PROMISE event (even when the
//! stream already ended and only its terminal event holds the slot), when
//! opened, and when pushed. Every slot set comes back exactly once, with
//! its own id: in the stream's terminal event, from `take_app` before a
//! reset, or from `take_apps` at the end.
#![no_main]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use h2actor::frame::{
    ErrorCode, Frame, Ping, Setting, Settings, StreamId, MAX_MAX_FRAME_SIZE, PREFACE,
};
use h2actor::proto::{Config, Connection, Event, Head, Role, BDP_PING};
use h2actor::transport::FrameCodec;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

/// Input bytes, consumed front to back; zeros once exhausted.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

/// Everything the connection wants to write, decoded as the peer would.
fn transmit(c: &mut Connection<u32>, limit: usize, now: Instant) {
    let mut out = BytesMut::new();
    c.poll_transmit(&mut out, limit, now);
    if out.starts_with(PREFACE) {
        let _ = out.split_to(PREFACE.len());
    }
    while let Some(_f) = Frame::decode(&mut out, MAX_MAX_FRAME_SIZE).expect("our output decodes") {}
    assert!(out.is_empty(), "poll_transmit wrote a partial frame");
    if limit == usize::MAX {
        assert!(
            !c.wants_transmit(),
            "wants_transmit after an unlimited poll_transmit"
        );
    }
}

fn pick(ids: &[StreamId], b: u8) -> StreamId {
    if ids.is_empty() {
        StreamId(1 + 2 * (b as u32 % 4))
    } else {
        ids[b as usize % ids.len()]
    }
}

fn setting(kind: u8, v: u8) -> Setting {
    let v32 = v as u32;
    match kind % 8 {
        0 => Setting::HeaderTableSize(v32 * 64),
        1 => Setting::EnablePush(v & 1 == 1),
        2 => Setting::MaxConcurrentStreams(v32 % 8),
        3 => Setting::InitialWindowSize(if v == 255 { 1 << 31 } else { v32 * 1000 }),
        4 => Setting::MaxFrameSize(if v == 0 { 100 } else { 16_384 + v32 * 1024 }),
        5 => Setting::MaxHeaderListSize(v32 * 32),
        6 => Setting::EnableConnectProtocol(v & 1 == 1),
        _ => Setting::NoRfc7540Priorities(v & 1 == 1),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let cfg = input.byte();
    let role = if cfg & 1 == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let config = Config {
        max_concurrent_streams: 4,
        initial_window_size: if cfg & 2 == 0 { 65_535 } else { 100 },
        max_header_list_size: 1000,
        max_header_block_size: 4000,
        max_send_buffer_per_stream: 4096,
        max_pending_pings: 4,
        max_reset_streams: 8,
        // The adaptive window (BDP PINGs, windows grown mid-stream) on
        // half the runs, with a cap the fuzzer's DATA can reach.
        adaptive_window: (cfg & 128 != 0).then_some(1 << 20),
        ..Config::default()
    };
    let t0 = Instant::now();
    let mut now = t0;
    let mut c: Connection<u32> = Connection::with_app(role, config, now);
    let mut ids: Vec<StreamId> = Vec::new();
    // Application slots set and given back (see the module docs).
    let (mut slots_set, mut slots_back) = (0usize, 0usize);
    if cfg & 32 != 0 {
        let settings = (role == Role::Server).then(Vec::new);
        if let Ok(id) = c.upgrade(settings, cfg & 64 != 0) {
            ids.push(id);
            assert!(c.set_app(id, id.0).is_ok());
            slots_set += 1;
        }
    }
    let mut codec = FrameCodec::new(c.local_max_frame_size());
    let mut peer = BytesMut::new();
    if cfg & 8 == 0 {
        Frame::Settings(Settings::default()).encode(&mut peer);
    }
    let mut steps = 0;
    while !input.0.is_empty() && steps < 4096 {
        steps += 1;
        let op = input.byte();
        match op % 16 {
            // Feed the next chunk of peer bytes, decoding what is complete.
            0..=3 => {
                let n = input.byte() as usize + 1;
                peer.extend_from_slice(input.take(n));
                loop {
                    codec.set_max_frame_size(c.local_max_frame_size());
                    let r = match codec.decode(&mut peer) {
                        Ok(Some(Ok(f))) => c.recv_frame(f, now),
                        Ok(Some(Err(e))) => c.recv_malformed(e, now),
                        Ok(None) => break,
                        Err(_) => {
                            peer.clear();
                            break;
                        }
                    };
                    if r.is_err() {
                        break;
                    }
                }
            }
            // Open a stream and send a head (client), or answer one (server).
            4 => {
                let a = input.byte();
                let end = a & 1 == 1;
                match role {
                    Role::Client => {
                        if let Ok(id) = c.open_stream() {
                            ids.push(id);
                            assert!(c.set_app(id, id.0).is_ok(), "slot of a new stream");
                            slots_set += 1;
                            let method = match a >> 1 & 3 {
                                0 => Method::GET,
                                1 => Method::POST,
                                2 => Method::HEAD,
                                _ => Method::CONNECT,
                            };
                            let mut b = Request::builder().method(method).uri("http://a/x");
                            if a & 8 != 0 {
                                b = b.header("content-length", (a >> 4).to_string());
                            }
                            if a & 128 != 0 {
                                b = b.header("connection", "close");
                            }
                            let _ =
                                c.send_headers(id, Head::Request(b.body(()).unwrap()), end, now);
                        }
                    }
                    Role::Server => {
                        let id = pick(&ids, input.byte());
                        let status =
                            [200, 204, 304, 100, 103, 404, 101, 500][(a >> 1 & 7) as usize];
                        let mut r = Response::new(());
                        *r.status_mut() = StatusCode::from_u16(status).unwrap();
                        if a & 16 != 0 {
                            r.headers_mut()
                                .insert("content-length", HeaderValue::from(a as u32 >> 5));
                        }
                        let _ = c.send_headers(id, Head::Response(r), end, now);
                    }
                }
            }
            // Send data.
            5 => {
                let id = pick(&ids, input.byte());
                let a = input.byte();
                let len = (a as usize >> 1) * 37;
                let _ = c.send_data(id, Bytes::from(vec![b'x'; len]), a & 1 == 1, now);
            }
            // Send trailers.
            6 => {
                let id = pick(&ids, input.byte());
                let a = input.byte();
                let mut t = HeaderMap::new();
                t.insert("x-checksum", HeaderValue::from(a as u32));
                if a & 1 == 1 {
                    t.insert("connection", HeaderValue::from_static("close"));
                }
                let _ = c.send_trailers(id, t, now);
            }
            // Reset.
            7 => {
                let id = pick(&ids, input.byte());
                if let Some(v) = c.take_app(id) {
                    assert_eq!(v, id.0, "slot of another stream");
                    slots_back += 1;
                }
                let _ = c.reset(id, ErrorCode(input.byte() as u32 % 14), now);
            }
            // Release capacity.
            8 => {
                let id = pick(&ids, input.byte());
                let n = input.byte() as usize * 256;
                c.release_capacity(id, n);
            }
            // Ping; or, with the high bit, the peer's ACK of a BDP PING
            // (the adaptive window) some milliseconds later.
            9 => {
                let b = input.byte();
                if b & 0x80 == 0 {
                    let _ = c.ping([b; 8]);
                } else {
                    now += Duration::from_millis(u64::from(b & 0x7f));
                    let ack = Frame::Ping(Ping {
                        ack: true,
                        payload: BDP_PING,
                    });
                    let _ = c.recv_frame(ack, now);
                }
            }
            // Update settings.
            10 => {
                let n = input.byte() % 3 + 1;
                let params = (0..n)
                    .map(|_| setting(input.byte(), input.byte()))
                    .collect();
                let _ = c.update_settings(params, now);
            }
            // GOAWAY, plain or in two steps.
            11 => {
                if input.byte() & 1 == 0 {
                    c.go_away(ErrorCode(input.byte() as u32 % 14), Bytes::new(), now);
                } else {
                    c.go_away_graceful(now);
                }
            }
            // Time passes: handle_timeout(now + k s).
            12 => {
                now += Duration::from_secs(input.byte() as u64 % 16);
                let _ = c.handle_timeout(now);
                // Everything due has fired: the next deadline is later.
                assert!(
                    c.poll_timeout().is_none_or(|t| t > now),
                    "a deadline due at {now:?} survived handle_timeout"
                );
            }
            // Server push.
            13 => {
                let id = pick(&ids, input.byte());
                let a = input.byte();
                let method = if a & 1 == 0 {
                    Method::GET
                } else {
                    Method::POST
                };
                let req = Request::builder()
                    .method(method)
                    .uri(if a & 2 == 0 { "http://a/p" } else { "/p" })
                    .body(())
                    .unwrap();
                if let Ok(p) = c.push_promise(id, req) {
                    ids.push(p);
                    assert!(c.set_app(p, p.0).is_ok(), "slot of a promised stream");
                    slots_set += 1;
                }
            }
            // A bounded write, as a socket with little room would take.
            14 => transmit(&mut c, input.byte() as usize * 64, now),
            // An unlimited write.
            _ => transmit(&mut c, usize::MAX, now),
        }
        while let Some(ev) = c.poll_event() {
            match ev {
                Event::RecvHeaders { id, .. }
                | Event::RecvPromise {
                    promised_id: id, ..
                } => {
                    ids.push(id);
                    // The stream, or its terminal event, is still behind
                    // this event: its slot can always be set now.
                    if c.app(id).is_none() {
                        assert!(c.set_app(id, id.0).is_ok(), "no slot for {id}");
                        slots_set += 1;
                    }
                }
                Event::RecvData { id, data, .. } if cfg & 4 == 0 => c.release_capacity(id, data.len()),
                Event::RecvReset { id, app, .. } | Event::Finished { id, app } => {
                    if let Some(v) = app {
                        assert_eq!(v, id.0, "slot of another stream");
                        slots_back += 1;
                    }
                    assert!(c.app(id).is_none(), "slot of {id} after its terminal event");
                }
                _ => {}
            }
        }
        if ids.len() > 64 {
            ids.drain(..32);
        }
        if cfg & 16 != 0 {
            transmit(&mut c, usize::MAX, now);
        }
        let _ = c.is_finished();
        let _ = c.poll_timeout();
    }
    transmit(&mut c, usize::MAX, now);
    let live = c.apps().count();
    for (id, v) in c.take_apps() {
        assert_eq!(v, id.0, "slot of another stream");
        slots_back += 1;
    }
    assert_eq!(c.apps().count(), 0);
    assert_eq!(
        slots_set, slots_back,
        "slots lost or doubled ({live} live at the end)"
    );
});
