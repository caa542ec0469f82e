//! A raw HTTP/2 peer for the conformance suite (`tests/conformance_*.rs`):
//! a blocking TCP client that writes frames encoded with `h2actor::frame`
//! (or any bytes at all) and reads the server's frames back with
//! `Frame::decode`, every read bounded by a deadline ([`TIMEOUT`]).
//!
//! [`ConfServer`] runs the test server (`site.rs`, the routes of
//! `examples/server.rs` as the tests' own fixture) in-process on 127.0.0.1:0, on a named thread, and
//! records (1) a panic on that thread (the process must never panic on
//! anything from the wire) and (2) the address of every connection actor,
//! so tests can read its [`ConnectionStats`] (bounded buffers).
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix::Addr;
use bytes::{BufMut, Bytes, BytesMut};
use h2actor::actor::{Connection, ConnectionStats, GetStats};
use h2actor::frame::{
    Continuation, Data, ErrorCode, Frame, FrameHead, GoAway, Headers, Ping, PrioritySpec,
    RstStream, Setting, Settings, StreamId, WindowUpdate, MAX_MAX_FRAME_SIZE, PREFACE,
};
use h2actor::hpack::{self, Decoder, Encoder, Field, FieldRef};

use super::site;

/// How long any single expectation waits for the server.
pub const TIMEOUT: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------
// The server under test

static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();
static SERVER_N: AtomicUsize = AtomicUsize::new(0);

/// Records panics of server threads (named `conformance-server-N`), then
/// runs the default hook.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(name) = std::thread::current().name() {
                if name.starts_with("conformance-server-") {
                    PANICS
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(format!("{name}: {info}"));
                }
            }
            default(info)
        }));
    });
}

/// The test server on its own actix system thread, port picked by the OS.
pub struct ConfServer {
    pub addr: SocketAddr,
    name: String,
    system: actix::System,
    conns: Arc<Mutex<Vec<Addr<Connection>>>>,
    thread: Option<JoinHandle<()>>,
}

/// Starts one accepted connection (on the server's actix thread).
pub type StartConn = Arc<dyn Fn(tokio::net::TcpStream) -> Addr<Connection> + Send + Sync>;

impl ConfServer {
    pub fn start() -> Self {
        Self::start_with(Arc::new(site::start_connection))
    }

    /// As `start`, each accepted connection started by `start_conn` (the
    /// demo site with other settings or timeouts, another subscriber).
    pub fn start_with(start_conn: StartConn) -> Self {
        super::init_tracing();
        install_panic_hook();
        let name = format!(
            "conformance-server-{}",
            SERVER_N.fetch_add(1, Ordering::Relaxed)
        );
        let conns: Arc<Mutex<Vec<Addr<Connection>>>> = Arc::default();
        let conns2 = conns.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let runner = actix::System::new();
                let started = runner.block_on(async move {
                    let listener = site::bind(([127, 0, 0, 1], 0).into())?;
                    let addr = listener.local_addr()?;
                    actix::spawn(async move {
                        loop {
                            if let Ok((tcp, _)) = listener.accept().await {
                                let conn = start_conn(tcp);
                                conns2.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
                            }
                        }
                    });
                    Ok::<_, std::io::Error>((addr, actix::System::current()))
                });
                let ok = started.is_ok();
                let _ = tx.send(started);
                if ok {
                    let _ = runner.run();
                }
            })
            .expect("spawn server thread");
        let (addr, system) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("server thread did not report")
            .expect("server could not listen");
        ConfServer {
            addr,
            name,
            system,
            conns,
            thread: Some(thread),
        }
    }

    /// A new raw peer connected to this server (no bytes sent yet).
    pub fn connect(&self) -> Peer {
        Peer::connect(self.addr)
    }

    /// A new raw peer after the handshake with default settings.
    pub fn peer(&self) -> Peer {
        let mut p = self.connect();
        p.handshake();
        p
    }

    /// Panics recorded on the server thread so far.
    pub fn panics(&self) -> Vec<String> {
        PANICS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|p| p.starts_with(&format!("{}:", self.name)))
            .cloned()
            .collect()
    }

    /// The server never panicked and still serves `GET /` on a new connection.
    pub fn assert_healthy(&self) {
        assert_eq!(self.panics(), Vec::<String>::new(), "the server panicked");
        let mut p = self.peer();
        p.get_ok(1);
    }

    /// The stats of the `i`-th accepted connection (in accept order).
    pub fn stats(&self, i: usize) -> Option<ConnectionStats> {
        let addr = self
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(i)?
            .clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(futures::executor::block_on(addr.send(GetStats)).ok());
        });
        rx.recv_timeout(TIMEOUT).ok().flatten()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.conns.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Drop for ConfServer {
    fn drop(&mut self) {
        self.system.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------
// Frame builders

pub fn sid(n: u32) -> StreamId {
    StreamId(n)
}

/// A raw frame: header + payload exactly as given (any type, flags, length).
pub fn raw_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    FrameHead::new(kind, flags, StreamId(stream), payload.len() as u32).encode(&mut b);
    b.put_slice(payload);
    b.to_vec()
}

/// A raw frame with the reserved bit of the stream id set (§4.1).
pub fn raw_frame_reserved_bit(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = raw_frame(kind, flags, stream, payload);
    v[5] |= 0x80;
    v
}

pub fn settings(params: &[Setting]) -> Frame {
    Frame::Settings(Settings {
        ack: false,
        params: params.to_vec(),
    })
}

pub fn settings_ack() -> Frame {
    Frame::Settings(Settings::ack())
}

pub fn ping(payload: [u8; 8]) -> Frame {
    Frame::Ping(Ping {
        ack: false,
        payload,
    })
}

pub fn data(stream: u32, body: &[u8], end_stream: bool) -> Frame {
    Frame::Data(Data {
        stream_id: StreamId(stream),
        data: Bytes::copy_from_slice(body),
        end_stream,
        pad_len: None,
    })
}

pub fn rst(stream: u32, code: ErrorCode) -> Frame {
    Frame::RstStream(RstStream {
        stream_id: StreamId(stream),
        error_code: code,
    })
}

pub fn window_update(stream: u32, increment: u32) -> Frame {
    Frame::WindowUpdate(WindowUpdate {
        stream_id: StreamId(stream),
        increment,
    })
}

pub fn goaway(last: u32, code: ErrorCode) -> Frame {
    Frame::GoAway(GoAway {
        last_stream_id: StreamId(last),
        error_code: code,
        debug_data: Bytes::new(),
    })
}

pub fn priority(stream: u32, dependency: u32) -> Frame {
    Frame::Priority(h2actor::frame::Priority {
        stream_id: StreamId(stream),
        spec: PrioritySpec {
            dependency: StreamId(dependency),
            exclusive: false,
            weight: 15,
        },
    })
}

pub fn headers_frame(stream: u32, block: &[u8], end_stream: bool, end_headers: bool) -> Frame {
    Frame::Headers(Headers {
        stream_id: StreamId(stream),
        block: Bytes::copy_from_slice(block),
        end_stream,
        end_headers,
        priority: None,
        pad_len: None,
    })
}

pub fn continuation(stream: u32, block: &[u8], end_headers: bool) -> Frame {
    Frame::Continuation(Continuation {
        stream_id: StreamId(stream),
        block: Bytes::copy_from_slice(block),
        end_headers,
    })
}

/// HPACK: a literal field without indexing, new name (RFC 7541 §6.2.2), no
/// Huffman. Leaves no trace in either dynamic table, and may carry anything
/// (uppercase names, pseudo-headers in any order).
pub fn lit(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    b.put_u8(0x00);
    hpack::integer::encode(&mut b, 7, 0, name.len());
    b.put_slice(name);
    hpack::integer::encode(&mut b, 7, 0, value.len());
    b.put_slice(value);
    b.to_vec()
}

/// A hand-written block of literal fields (see [`lit`]).
pub fn lit_block(fields: &[(&str, &str)]) -> Vec<u8> {
    fields
        .iter()
        .flat_map(|(n, v)| lit(n.as_bytes(), v.as_bytes()))
        .collect()
}

/// The four pseudo-headers of `GET path`, as (name, value) pairs.
pub fn get_fields(path: &str) -> Vec<(String, String)> {
    vec![
        (":method".into(), "GET".into()),
        (":scheme".into(), "http".into()),
        (":authority".into(), "localhost".into()),
        (":path".into(), path.into()),
    ]
}

// ---------------------------------------------------------------------------
// The peer

/// How a wait for the server ended without the expected frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// EOF or connection reset.
    Eof,
    /// Nothing within the deadline.
    Timeout,
}

/// A raw client connection.
pub struct Peer {
    pub tcp: TcpStream,
    buf: BytesMut,
    /// HPACK encoder for well-formed requests (its table mirrors the server's decoder).
    pub enc: Encoder,
    /// HPACK decoder for the server's field blocks (every block is decoded
    /// as it arrives, to keep the table in sync).
    pub dec: Decoder,
    /// A server field block being assembled from HEADERS + CONTINUATION.
    block: Option<(StreamId, BytesMut)>,
    /// Decoded server field blocks, per stream, in arrival order.
    pub decoded: Vec<(StreamId, Vec<Field>)>,
    /// The server's SETTINGS parameters (from its first SETTINGS frame).
    pub server_settings: Vec<Setting>,
    /// Every frame received so far (for failure messages).
    pub log: Vec<String>,
    /// Write errors seen (the server may close while we write).
    pub write_errors: usize,
    /// DATA received per stream, and whether the stream ended (END_STREAM
    /// on HEADERS or DATA), whoever read the frame.
    bodies: std::collections::HashMap<u32, (Vec<u8>, bool)>,
    closed: bool,
}

impl Peer {
    pub fn connect(addr: SocketAddr) -> Peer {
        let tcp = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect");
        Peer::from_stream(tcp)
    }

    /// A peer over a connection already made (e.g. after an HTTP/1.1
    /// upgrade's 101).
    pub fn from_stream(tcp: TcpStream) -> Peer {
        let _ = tcp.set_nodelay(true);
        tcp.set_write_timeout(Some(TIMEOUT)).expect("write timeout");
        Peer {
            tcp,
            buf: BytesMut::with_capacity(64 << 10),
            enc: Encoder::default(),
            dec: Decoder::default(),
            block: None,
            decoded: Vec::new(),
            server_settings: Vec::new(),
            log: Vec::new(),
            write_errors: 0,
            bodies: Default::default(),
            closed: false,
        }
    }

    /// Plays the server on the next connection to `listener` (our client
    /// under test): reads the client preface, sends SETTINGS (`params`),
    /// reads the client's SETTINGS and ACKs it. (`server_settings` then
    /// holds the client's parameters.)
    pub fn accept_client(listener: &std::net::TcpListener, params: &[Setting]) -> Peer {
        let (mut tcp, _) = listener.accept().expect("accept");
        tcp.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
        let mut preface = [0u8; 24];
        tcp.read_exact(&mut preface).expect("the client preface");
        assert_eq!(&preface[..], PREFACE, "the client preface");
        let mut p = Peer::from_stream(tcp);
        p.send(settings(params));
        let s = p.expect(
            |f| matches!(f, Frame::Settings(s) if !s.ack),
            "the client's SETTINGS",
        );
        if let Frame::Settings(s) = s {
            p.server_settings = s.params;
        }
        p.send(settings_ack());
        p
    }

    // --- writing ---------------------------------------------------------

    /// Writes raw bytes. Errors (the server closed) are counted, not fatal:
    /// what the server sent before closing is still to be read.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        if self.tcp.write_all(bytes).is_err() {
            self.write_errors += 1;
        }
    }

    pub fn send(&mut self, frame: impl Into<Frame>) {
        let mut b = BytesMut::new();
        frame.into().encode(&mut b);
        self.send_raw(&b);
    }

    pub fn send_all(&mut self, frames: impl IntoIterator<Item = Frame>) {
        let mut b = BytesMut::new();
        for f in frames {
            f.encode(&mut b);
        }
        self.send_raw(&b);
    }

    /// Encodes `fields` with the peer's HPACK encoder (well-formed block).
    pub fn encode(&mut self, fields: &[(String, String)]) -> Vec<u8> {
        let mut b = BytesMut::new();
        self.enc.encode(
            fields
                .iter()
                .map(|(n, v)| FieldRef::new(n.as_bytes(), v.as_bytes())),
            &mut b,
        );
        b.to_vec()
    }

    /// HEADERS (END_HEADERS) with `fields` encoded by our encoder.
    pub fn send_headers(&mut self, stream: u32, fields: &[(String, String)], end_stream: bool) {
        let block = self.encode(fields);
        self.send(headers_frame(stream, &block, end_stream, true));
    }

    /// `GET path` on `stream`, END_STREAM.
    pub fn send_get(&mut self, stream: u32, path: &str) {
        self.send_headers(stream, &get_fields(path), true);
    }

    /// The client preface, our SETTINGS (`params`), the server's SETTINGS
    /// read and ACKed. The server's ACK of ours may come later (skipped by
    /// the `expect_*` helpers).
    pub fn handshake_with(&mut self, params: &[Setting]) {
        let mut b = BytesMut::new();
        b.put_slice(PREFACE);
        settings(params).encode(&mut b);
        self.send_raw(&b);
        let s = self.expect(
            |f| matches!(f, Frame::Settings(s) if !s.ack),
            "the server's SETTINGS",
        );
        if let Frame::Settings(s) = s {
            self.server_settings = s.params;
        }
        self.send(settings_ack());
    }

    pub fn handshake(&mut self) {
        self.handshake_with(&[]);
    }

    // --- reading ---------------------------------------------------------

    /// The next frame from the server within `limit`.
    pub fn recv_within(&mut self, limit: Duration) -> Result<Frame, Closed> {
        let deadline = Instant::now() + limit;
        loop {
            match Frame::decode(&mut self.buf, MAX_MAX_FRAME_SIZE) {
                Ok(Some(f)) => {
                    self.log.push(describe(&f));
                    self.track_block(&f);
                    self.track_body(&f);
                    return Ok(f);
                }
                Ok(None) => {}
                Err(e) => panic!(
                    "the server sent a malformed frame: {e}; log {:?}",
                    self.tail()
                ),
            }
            if self.closed {
                return Err(Closed::Eof);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Closed::Timeout);
            }
            let _ = self.tcp.set_read_timeout(Some(deadline - now));
            let mut chunk = [0u8; 16 << 10];
            match self.tcp.read(&mut chunk) {
                Ok(0) => self.closed = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(Closed::Timeout)
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.closed = true, // reset
            }
        }
    }

    pub fn recv(&mut self) -> Result<Frame, Closed> {
        self.recv_within(TIMEOUT)
    }

    fn track_body(&mut self, f: &Frame) {
        match f {
            Frame::Headers(h) => {
                self.bodies.entry(h.stream_id.0).or_default().1 |= h.end_stream;
            }
            Frame::Data(d) => {
                let e = self.bodies.entry(d.stream_id.0).or_default();
                e.0.extend_from_slice(&d.data);
                e.1 |= d.end_stream;
            }
            _ => {}
        }
    }

    /// Decodes server field blocks as they arrive (HPACK state stays in sync).
    fn track_block(&mut self, f: &Frame) {
        let (id, part, end) = match f {
            Frame::Headers(h) => {
                self.block = Some((h.stream_id, BytesMut::new()));
                (h.stream_id, &h.block, h.end_headers)
            }
            Frame::PushPromise(p) => {
                self.block = Some((p.stream_id, BytesMut::new()));
                (p.stream_id, &p.block, p.end_headers)
            }
            Frame::Continuation(c) => (c.stream_id, &c.block, c.end_headers),
            _ => return,
        };
        let Some((bid, mut block)) = self.block.take() else {
            panic!("CONTINUATION from the server without a field block");
        };
        assert_eq!(bid, id, "server interleaved field blocks");
        block.extend_from_slice(part);
        if end {
            let mut out = Vec::new();
            self.dec
                .decode(&block, &mut out)
                .unwrap_or_else(|e| panic!("server field block does not decode: {e}"));
            self.decoded.push((id, out));
        } else {
            self.block = Some((bid, block));
        }
    }

    /// Reads until a frame matches `pred` (other frames are skipped); panics
    /// with the frames seen when the connection closes or the deadline passes.
    pub fn expect(&mut self, pred: impl Fn(&Frame) -> bool, what: &str) -> Frame {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv_within(left) {
                Ok(f) if pred(&f) => return f,
                Ok(_) => {}
                Err(c) => panic!("expected {what}, got {c:?}; frames seen: {:?}", self.tail()),
            }
        }
    }

    /// GOAWAY with `code` (frames before it are skipped), then the socket
    /// closes (§5.4.1: the GOAWAY reaches us before the close).
    pub fn expect_goaway(&mut self, code: ErrorCode) -> GoAway {
        let f = self.expect(|f| matches!(f, Frame::GoAway(_)), "GOAWAY");
        let Frame::GoAway(g) = f else { unreachable!() };
        assert_eq!(
            g.error_code,
            code,
            "GOAWAY code (debug data {:?}); frames seen: {:?}",
            String::from_utf8_lossy(&g.debug_data),
            self.tail()
        );
        self.expect_connection_closed();
        g
    }

    /// The server closes the connection (EOF or reset) within the deadline;
    /// frames before the close are skipped, but no second GOAWAY with an error.
    pub fn expect_connection_closed(&mut self) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv_within(left) {
                Ok(_) => {}
                Err(Closed::Eof) => return,
                Err(Closed::Timeout) => {
                    panic!(
                        "connection still open after {TIMEOUT:?}; frames: {:?}",
                        self.tail()
                    )
                }
            }
        }
    }

    /// RST_STREAM on `stream` with `code` (frames before it are skipped).
    pub fn expect_rst(&mut self, stream: u32, code: ErrorCode) {
        let f = self.expect(
            |f| matches!(f, Frame::RstStream(r) if r.stream_id.0 == stream) || is_goaway(f),
            &format!("RST_STREAM on {stream}"),
        );
        match f {
            Frame::RstStream(r) => assert_eq!(
                r.error_code,
                code,
                "RST_STREAM code on {stream}; frames: {:?}",
                self.tail()
            ),
            other => panic!(
                "expected RST_STREAM {code:?} on {stream}, got {other:?}; frames: {:?}",
                self.tail()
            ),
        }
    }

    /// A stream error with `code` on `stream`, or a connection error with
    /// `code` (where the RFC allows either, e.g. §5.1 "closed" state).
    /// Returns true for the connection error.
    pub fn expect_stream_or_conn_error(&mut self, stream: u32, code: ErrorCode) -> bool {
        let f = self.expect(
            |f| matches!(f, Frame::RstStream(r) if r.stream_id.0 == stream) || is_goaway(f),
            &format!("RST_STREAM on {stream} or GOAWAY"),
        );
        match f {
            Frame::RstStream(r) => {
                assert_eq!(r.error_code, code, "frames: {:?}", self.tail());
                false
            }
            Frame::GoAway(g) => {
                assert_eq!(g.error_code, code, "frames: {:?}", self.tail());
                self.expect_connection_closed();
                true
            }
            _ => unreachable!(),
        }
    }

    /// PING ACK with `payload`.
    pub fn expect_ping_ack(&mut self, payload: [u8; 8]) {
        let f = self.expect(
            |f| matches!(f, Frame::Ping(p) if p.ack) || is_goaway(f),
            "PING ACK",
        );
        match f {
            Frame::Ping(p) => assert_eq!(p.payload, payload, "PING ACK payload"),
            other => panic!("expected PING ACK, got {other:?}; frames {:?}", self.tail()),
        }
    }

    /// No frame matching `pred` arrives within `limit`, and the connection
    /// stays open (other frames are skipped).
    pub fn expect_none(&mut self, pred: impl Fn(&Frame) -> bool, limit: Duration, what: &str) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv_within(left) {
                Ok(f) if pred(&f) => panic!("unexpected {what}: {f:?}; frames {:?}", self.tail()),
                Ok(_) => {}
                Err(Closed::Timeout) => return,
                Err(Closed::Eof) => panic!("connection closed; frames {:?}", self.tail()),
            }
        }
    }

    /// The connection is still usable: a PING is answered (the cheapest
    /// round trip; no stream state involved).
    pub fn assert_alive(&mut self) {
        let payload = *b"alive?!!";
        self.send(ping(payload));
        self.expect_ping_ack(payload);
    }

    /// The :status and body of the response on `stream` (reads until its
    /// END_STREAM; fails on RST_STREAM/GOAWAY). Received DATA is given back
    /// to the connection and stream windows at once (WINDOW_UPDATE).
    pub fn response(&mut self, stream: u32) -> (u16, Vec<u8>) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if self.bodies.get(&stream).is_some_and(|b| b.1) {
                let status = self
                    .status_of(stream)
                    .unwrap_or_else(|| panic!("no :status on {stream}; {:?}", self.tail()));
                let body = self.bodies.remove(&stream).unwrap_or_default().0;
                return (status, body);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let f = match self.recv_within(left) {
                Ok(f) => f,
                Err(c) => panic!("response on {stream}: {c:?}; frames {:?}", self.tail()),
            };
            match &f {
                Frame::Data(d) => {
                    // Consume as we go: give the bytes back to the windows.
                    let n = d.flow_len();
                    if n > 0 {
                        self.send(window_update(0, n));
                        if !d.end_stream {
                            self.send(window_update(d.stream_id.0, n));
                        }
                    }
                }
                Frame::RstStream(r) if r.stream_id.0 == stream => {
                    panic!(
                        "stream {stream} reset: {:?}; frames {:?}",
                        r.error_code,
                        self.tail()
                    )
                }
                Frame::GoAway(g) => panic!("GOAWAY {:?}; frames {:?}", g.error_code, self.tail()),
                _ => {}
            }
        }
    }

    /// `GET /` on `stream` is answered 200 `hello world\n`.
    pub fn get_ok(&mut self, stream: u32) {
        self.send_get(stream, "/");
        let (status, body) = self.response(stream);
        assert_eq!(status, 200);
        assert_eq!(&body[..], site::HELLO);
    }

    /// `get_ok` when our SETTINGS_INITIAL_WINDOW_SIZE is 0: the stream's
    /// window is opened right after the request.
    pub fn get_ok_with_window(&mut self, stream: u32) {
        self.send_get(stream, "/");
        self.send(window_update(stream, 65_535));
        let (status, body) = self.response(stream);
        assert_eq!(status, 200);
        assert_eq!(&body[..], site::HELLO);
    }

    /// The :status of the last decoded field block on `stream`.
    pub fn status_of(&self, stream: u32) -> Option<u16> {
        self.decoded
            .iter()
            .rev()
            .find(|(id, _)| id.0 == stream)
            .and_then(|(_, fields)| fields.iter().find(|f| &f.name[..] == b":status"))
            .and_then(|f| std::str::from_utf8(&f.value).ok()?.parse().ok())
    }
}

impl Peer {
    /// The last frames received, for failure messages.
    pub fn tail(&self) -> &[String] {
        &self.log[self.log.len().saturating_sub(24)..]
    }
}

pub fn is_goaway(f: &Frame) -> bool {
    matches!(f, Frame::GoAway(_))
}

/// One line per frame for failure messages (no payload dumps).
pub fn describe(f: &Frame) -> String {
    match f {
        Frame::Data(d) => format!(
            "DATA s={} len={} es={}",
            d.stream_id,
            d.data.len(),
            d.end_stream
        ),
        Frame::Headers(h) => format!(
            "HEADERS s={} es={} eh={}",
            h.stream_id, h.end_stream, h.end_headers
        ),
        Frame::RstStream(r) => format!("RST_STREAM s={} {:?}", r.stream_id, r.error_code),
        Frame::Settings(s) if s.ack => "SETTINGS ACK".into(),
        Frame::Settings(s) => format!("SETTINGS {:?}", s.params),
        Frame::Ping(p) => format!("PING ack={}", p.ack),
        Frame::GoAway(g) => format!(
            "GOAWAY last={} {:?} {:?}",
            g.last_stream_id,
            g.error_code,
            String::from_utf8_lossy(&g.debug_data)
        ),
        Frame::WindowUpdate(w) => format!("WINDOW_UPDATE s={} +{}", w.stream_id, w.increment),
        other => format!("{other:?}"),
    }
}
