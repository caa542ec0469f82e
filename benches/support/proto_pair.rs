//! A client and a server `proto::Connection` joined in memory, for the
//! benches that measure the state machine without I/O.
#![allow(dead_code)]

use std::time::Instant;

use bytes::BytesMut;
use h2actor::frame::{Frame, PREFACE};
use h2actor::proto::{Config, Connection, Role};

/// Moves everything `from` has to write into `to`.
pub fn pipe(from: &mut Connection, to: &mut Connection, buf: &mut BytesMut) {
    // One clock read per batch, as an event loop would do per read.
    let now = Instant::now();
    from.poll_transmit(buf, 1 << 20, Instant::now());
    if buf.starts_with(PREFACE) {
        let _ = buf.split_to(PREFACE.len());
    }
    while let Ok(Some(f)) = Frame::decode(buf, to.local_max_frame_size()) {
        to.recv_frame(f, now).expect("clean exchange");
    }
    buf.clear();
}

/// A client and a server past the preface and both SETTINGS exchanges,
/// their events drained, and the buffer that carries their bytes.
pub fn pair() -> (Connection, Connection, BytesMut) {
    let mut c = Connection::new(Role::Client, Config::default(), Instant::now());
    let mut s = Connection::new(Role::Server, Config::default(), Instant::now());
    let mut buf = BytesMut::with_capacity(1 << 20);
    for _ in 0..3 {
        pipe(&mut c, &mut s, &mut buf);
        pipe(&mut s, &mut c, &mut buf);
    }
    while c.poll_event().is_some() {}
    while s.poll_event().is_some() {}
    (c, s, buf)
}
