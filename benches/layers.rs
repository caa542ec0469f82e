//! The per-request cost of each layer, with allocation counts: one small
//! GET (`/` -> 200, 12-byte body, the request h2load sends), with the system allocator at four depths.
//!
//! | row | what one "request" is |
//! |---|---|
//! | `frame` | encode + decode the exchange's frames (HEADERS, HEADERS, DATA) from ready field blocks |
//! | `hpack` | encode + decode the request's and the response's header lists on warm tables |
//! | `proto` | the whole exchange between a client and a server `proto::Connection` in memory (frames and HPACK included) |
//! | `actor` | our server's actor stack (connection actor, stream actor, a subscriber actor answering \"hello world\") serving the GET over an in-memory pipe, driven by a `proto` client |
//!
//! Each row is cumulative: `proto` contains `frame` and `hpack`, `actor`
//! contains the server half of `proto`. The allocation counts (a counting
//! global allocator, `support/counting.rs`) are printed first, per request,
//! for both sides of the exchange (the `actor` row: server and its driving
//! client together; subtract half the `proto` row for the server alone).
//!
//! ```text
//! cargo bench --bench layers
//! cargo bench --bench layers -- --warm-up-time 1 --measurement-time 3 frame
//! ```

#[path = "support/counting.rs"]
mod counting;
#[path = "support/proto_pair.rs"]
mod proto_pair;

use std::hint::black_box;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use h2actor::frame::{encode_data_head, encode_header_block, BlockStart, Frame, StreamId};
use h2actor::hpack::{Decoder, Encoder, Field, FieldRef};
use h2actor::prelude::{Connection as ConnectionActor, RecvHeaders, SendMessage, Subscriber};
use h2actor::proto::{Config, Connection, Event, Head, Role};
use proto_pair::{pair, pipe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

const MAX_FRAME: u32 = 16_384;
const BODY: &[u8] = b"hello world\n";

/// The request h2load sends for `/`.
const REQUEST: [(&str, &str); 5] = [
    (":method", "GET"),
    (":path", "/"),
    (":scheme", "http"),
    (":authority", "127.0.0.1:8080"),
    ("user-agent", "h2load nghttp2/1.52.0"),
];
/// The example server's answer to it.
const RESPONSE: [(&str, &str); 3] = [
    (":status", "200"),
    ("content-type", "text/plain"),
    ("content-length", "12"),
];

fn refs<'a>(list: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = FieldRef<'a>> + 'a {
    list.iter()
        .map(|(n, v)| FieldRef::new(n.as_bytes(), v.as_bytes()))
}

// ---- frame ----------------------------------------------------------------

struct FrameLayer {
    req_block: BytesMut,
    resp_block: BytesMut,
    wire: BytesMut,
    id: u32,
}

impl FrameLayer {
    fn new() -> Self {
        let mut enc = Encoder::default();
        let (mut req_block, mut resp_block) = (BytesMut::new(), BytesMut::new());
        enc.encode(refs(&REQUEST), &mut req_block);
        enc.encode(refs(&RESPONSE), &mut resp_block);
        FrameLayer {
            req_block,
            resp_block,
            wire: BytesMut::with_capacity(4096),
            id: 1,
        }
    }

    fn request(&mut self) {
        let id = StreamId(self.id);
        self.id = self.id.wrapping_add(2) | 1;
        let headers = |end_stream| BlockStart::Headers {
            end_stream,
            priority: None,
        };
        encode_header_block(
            &mut self.wire,
            id,
            headers(true),
            &self.req_block,
            MAX_FRAME,
        );
        self.decode(1);
        encode_header_block(
            &mut self.wire,
            id,
            headers(false),
            &self.resp_block,
            MAX_FRAME,
        );
        encode_data_head(&mut self.wire, id, BODY.len() as u32, true);
        self.wire.extend_from_slice(BODY);
        self.decode(2);
    }

    fn decode(&mut self, frames: usize) {
        for _ in 0..frames {
            match Frame::decode(&mut self.wire, MAX_FRAME) {
                Ok(Some(f)) => {
                    black_box(f);
                }
                other => panic!("frame layer: {other:?}"),
            }
        }
    }
}

// ---- hpack ----------------------------------------------------------------

struct HpackLayer {
    client_enc: Encoder,
    server_dec: Decoder,
    server_enc: Encoder,
    client_dec: Decoder,
    block: BytesMut,
    fields: Vec<Field>,
}

impl HpackLayer {
    fn new() -> Self {
        let mut l = HpackLayer {
            client_enc: Encoder::default(),
            server_dec: Decoder::new(4096, 64 << 10),
            server_enc: Encoder::default(),
            client_dec: Decoder::new(4096, 64 << 10),
            block: BytesMut::with_capacity(1024),
            fields: Vec::with_capacity(16),
        };
        // Warm: the tables hold what every later request refers to.
        for _ in 0..3 {
            l.request();
        }
        l
    }

    fn request(&mut self) {
        self.block.clear();
        self.client_enc.encode(refs(&REQUEST), &mut self.block);
        self.fields.clear();
        self.server_dec
            .decode(&self.block, &mut self.fields)
            .expect("our own block decodes");
        black_box(&self.fields);
        self.block.clear();
        self.server_enc.encode(refs(&RESPONSE), &mut self.block);
        self.fields.clear();
        self.client_dec
            .decode(&self.block, &mut self.fields)
            .expect("our own block decodes");
        black_box(&self.fields);
    }
}

// ---- proto ----------------------------------------------------------------

fn request_head() -> Head {
    let mut b = http::Request::get("http://127.0.0.1:8080/");
    b = b.header("user-agent", "h2load nghttp2/1.52.0");
    Head::Request(b.body(()).expect("static request"))
}

struct ProtoLayer {
    client: Connection,
    server: Connection,
    buf: BytesMut,
}

impl ProtoLayer {
    fn new() -> Self {
        let (client, server, buf) = pair();
        let mut l = ProtoLayer {
            client,
            server,
            buf,
        };
        for _ in 0..3 {
            l.request();
        }
        l
    }

    fn request(&mut self) {
        let (c, s) = (&mut self.client, &mut self.server);
        let id = c.open_stream().expect("room for a stream");
        c.send_headers(id, request_head(), true, Instant::now())
            .expect("a fresh stream takes HEADERS");
        pipe(c, s, &mut self.buf);
        while let Some(ev) = s.poll_event() {
            if let Event::RecvHeaders { id, .. } = ev {
                let resp = http::Response::builder()
                    .header("content-type", "text/plain")
                    .header("content-length", "12")
                    .body(())
                    .expect("static response");
                s.send_headers(id, Head::Response(resp), false, Instant::now())
                    .expect("an open stream takes HEADERS");
                s.send_data(id, Bytes::from_static(BODY), true, Instant::now())
                    .expect("an open stream takes DATA");
            }
        }
        pipe(s, c, &mut self.buf);
        while let Some(ev) = c.poll_event() {
            if let Event::RecvData { id, data, .. } = ev {
                c.release_capacity(id, data.len());
                black_box(data);
            }
        }
        // WINDOW_UPDATEs go back, as they would on a socket.
        pipe(c, s, &mut self.buf);
        while s.poll_event().is_some() {}
    }
}

// ---- actor ----------------------------------------------------------------

/// The smallest server application: every request gets "hello world\n".
/// (Not the example server: it sets its own global allocator.)
struct Hello;
impl Actor for Hello {
    type Context = actix::Context<Self>;
}
impl Handler<RecvHeaders> for Hello {
    type Result = ();
    fn handle(&mut self, msg: RecvHeaders, _: &mut Self::Context) {
        let resp = http::Response::builder()
            .header("content-type", "text/plain")
            .header("content-length", "12")
            .body(())
            .expect("static response");
        msg.stream
            .do_send(SendMessage::new(resp).body(Bytes::from_static(BODY)));
    }
}

/// `n` GETs (`in_flight` at a time) from a `proto` client to the example
/// server's actors over an in-memory pipe; returns the time they took.
async fn actor_requests(n: usize, in_flight: usize) -> Duration {
    let (s_io, mut c_io) = tokio::io::duplex(1 << 16);
    let hello = Hello.start();
    let _server = ConnectionActor::builder(Role::Server).start(s_io, Subscriber::new(&hello));
    let mut client = Connection::new(Role::Client, Config::default(), Instant::now());
    let mut out = BytesMut::with_capacity(1 << 16);
    let mut inb = BytesMut::with_capacity(1 << 16);
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        let batch = in_flight.min(n - done);
        for _ in 0..batch {
            let id = client.open_stream().expect("room for a stream");
            client
                .send_headers(id, request_head(), true, Instant::now())
                .expect("a fresh stream takes HEADERS");
        }
        let mut left = batch;
        while left > 0 {
            client.poll_transmit(&mut out, 1 << 20, Instant::now());
            if !out.is_empty() {
                c_io.write_all(&out).await.expect("in-memory pipe");
                out.clear();
            }
            if c_io.read_buf(&mut inb).await.expect("in-memory pipe") == 0 {
                panic!("the server closed the connection");
            }
            let now = Instant::now();
            while let Ok(Some(f)) = Frame::decode(&mut inb, client.local_max_frame_size()) {
                client.recv_frame(f, now).expect("a clean server");
            }
            while let Some(ev) = client.poll_event() {
                if let Event::RecvData {
                    id,
                    data,
                    end_stream,
                } = ev
                {
                    client.release_capacity(id, data.len());
                    if end_stream {
                        left -= 1;
                    }
                }
            }
        }
        done += batch;
    }
    start.elapsed()
}

// ---- allocation table and criterion -----------------------------------------

const UNITS: u64 = 10_000;

fn allocation_table() {
    let mut f = FrameLayer::new();
    let frame = counting::per_unit(UNITS, || (0..UNITS).for_each(|_| f.request()));
    let mut h = HpackLayer::new();
    let hpack = counting::per_unit(UNITS, || (0..UNITS).for_each(|_| h.request()));
    let mut p = ProtoLayer::new();
    let proto = counting::per_unit(UNITS, || (0..UNITS).for_each(|_| p.request()));
    let sys = actix::System::new();
    sys.block_on(actor_requests(1_000, 32)); // warm the thread's pools
    let actor = counting::per_unit(UNITS, || {
        sys.block_on(actor_requests(UNITS as usize, 32));
    });
    println!("allocations per request (both sides of the exchange):");
    println!("| layer | allocations | bytes allocated |");
    println!("|---|---|---|");
    for (name, (a, b)) in [
        ("frame", frame),
        ("hpack", hpack),
        ("proto", proto),
        (
            "actor (32 in flight, incl. one connection's setup / 10,000)",
            actor,
        ),
    ] {
        println!("| {name} | {a:.2} | {b:.0} |");
    }
}

fn bench(c: &mut Criterion) {
    allocation_table();
    let mut g = c.benchmark_group("layers_per_request");
    g.throughput(Throughput::Elements(1));
    let mut f = FrameLayer::new();
    g.bench_function("frame", |b| b.iter(|| f.request()));
    let mut h = HpackLayer::new();
    g.bench_function("hpack", |b| b.iter(|| h.request()));
    let mut p = ProtoLayer::new();
    g.bench_function("proto", |b| b.iter(|| p.request()));
    g.finish();

    let mut g = c.benchmark_group("layers_per_1000_requests");
    g.throughput(Throughput::Elements(1_000));
    g.sample_size(20);
    g.bench_function("actor (32 in flight)", |b| {
        b.iter_custom(|iters| {
            let sys = actix::System::new();
            (0..iters)
                .map(|_| sys.block_on(actor_requests(1_000, 32)))
                .sum()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
