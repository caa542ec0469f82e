//! Arbitrary bytes from a peer into the protocol state machine, through the
//! codec, in both roles: never panics, the output always decodes, and
//! `wants_transmit` is false after an unlimited `poll_transmit`.
#![no_main]

use bytes::{Bytes, BytesMut};
use h2actor::frame::{Frame, FrameCodec, Settings, MAX_MAX_FRAME_SIZE, PREFACE};
use h2actor::proto::{Config, Connection, Event, Head, Role};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fn transmit(c: &mut Connection) {
    let mut out = BytesMut::new();
    c.poll_transmit(&mut out, usize::MAX);
    if out.starts_with(PREFACE) {
        let _ = out.split_to(PREFACE.len());
    }
    while let Some(_f) = Frame::decode(&mut out, MAX_MAX_FRAME_SIZE).expect("our output decodes") {}
    assert!(out.is_empty());
    assert!(!c.wants_transmit());
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, input)) = data.split_first() else {
        return;
    };
    let role = if cfg & 1 == 0 { Role::Server } else { Role::Client };
    let config = Config {
        max_concurrent_streams: 4,
        initial_window_size: if cfg & 2 == 0 { 65_535 } else { 100 },
        max_header_list_size: 1000,
        max_header_block_size: 4000,
        ..Config::default()
    };
    let mut c = Connection::new(role, config);
    if role == Role::Client {
        // some requests for the peer to answer
        for _ in 0..3 {
            if let Ok(id) = c.open_stream() {
                let req = http::Request::post("http://a/").body(()).unwrap();
                let _ = c.send_headers(id, Head::Request(req), cfg & 4 == 0);
            }
        }
    }
    let mut codec = FrameCodec::new(c.local_max_frame_size());
    let mut buf = BytesMut::new();
    if cfg & 8 == 0 {
        Frame::Settings(Settings::default()).encode(&mut buf);
    }
    buf.extend_from_slice(input);
    loop {
        codec.set_max_frame_size(c.local_max_frame_size());
        let r = match codec.decode(&mut buf) {
            Ok(Some(Ok(f))) => c.recv_frame(f),
            Ok(Some(Err(e))) => c.recv_malformed(e),
            Ok(None) | Err(_) => break,
        };
        // the user answers everything it sees
        while let Some(ev) = c.poll_event() {
            match ev {
                Event::Headers { id, head: Head::Request(_), .. } => {
                    let _ = c.send_headers(id, Head::Response(http::Response::new(())), false);
                    let _ = c.send_data(id, Bytes::from_static(b"hello"), true);
                }
                Event::Data { id, data, .. } => c.release_capacity(id, data.len()),
                _ => {}
            }
        }
        if cfg & 16 != 0 {
            transmit(&mut c);
        }
        if r.is_err() {
            break;
        }
    }
    transmit(&mut c);
});
