//! The state machine alone, a client `Connection` piped into a server
//! `Connection` in memory (encode, decode, HPACK, stream bookkeeping; no
//! I/O): the cost of one GET -> 200 "hello world\n" exchange on a warm
//! connection, and DATA throughput with windows released as data arrives.
//!
//!     cargo bench --bench proto -- --warm-up-time 1 --measurement-time 3

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use h2actor::proto::{Connection, Event, Head};
use http::{Request, Response};

#[path = "support/proto_pair.rs"]
mod proto_pair;
use proto_pair::{pair, pipe};

fn exchange(c: &mut Connection, s: &mut Connection, buf: &mut BytesMut, req: &Request<()>) {
    let id = c.open_stream().unwrap();
    let r = Request::builder()
        .method(req.method())
        .uri(req.uri().clone())
        .body(())
        .unwrap();
    c.send_headers(id, Head::Request(r), true, std::time::Instant::now())
        .unwrap();
    pipe(c, s, buf);
    while let Some(ev) = s.poll_event() {
        if let Event::RecvHeaders { id, .. } = ev {
            let resp = Response::builder()
                .header("content-type", "text/plain")
                .body(())
                .unwrap();
            s.send_headers(id, Head::Response(resp), false, std::time::Instant::now())
                .unwrap();
            s.send_data(
                id,
                Bytes::from_static(b"hello world\n"),
                true,
                std::time::Instant::now(),
            )
            .unwrap();
        }
    }
    pipe(s, c, buf);
    while let Some(ev) = c.poll_event() {
        if let Event::RecvData { id, data, .. } = ev {
            c.release_capacity(id, data.len());
            black_box(data);
        }
    }
}

fn bench(c: &mut Criterion) {
    let (mut cl, mut sv, mut buf) = pair();
    let req = Request::get("http://127.0.0.1:8080/").body(()).unwrap();
    c.bench_function("proto: GET -> 200 hello world (client+server)", |b| {
        b.iter(|| exchange(&mut cl, &mut sv, &mut buf, &req))
    });

    let mut g = c.benchmark_group("proto: DATA 1 MiB server -> client");
    g.throughput(Throughput::Bytes(1 << 20));
    let body = Bytes::from(vec![b'x'; 1 << 20]);
    let (mut cl, mut sv, mut buf) = pair();
    g.bench_function("16 KiB frames", |b| {
        b.iter(|| {
            let id = cl.open_stream().unwrap();
            let req = Request::get("http://x/bytes").body(()).unwrap();
            cl.send_headers(id, Head::Request(req), true, std::time::Instant::now())
                .unwrap();
            pipe(&mut cl, &mut sv, &mut buf);
            while sv.poll_event().is_some() {}
            sv.send_headers(
                id,
                Head::Response(Response::new(())),
                false,
                std::time::Instant::now(),
            )
            .unwrap();
            sv.send_data(id, body.clone(), true, std::time::Instant::now())
                .unwrap();
            let mut done = false;
            while !done {
                pipe(&mut sv, &mut cl, &mut buf);
                while let Some(ev) = cl.poll_event() {
                    if let Event::RecvData {
                        id,
                        data,
                        end_stream,
                    } = ev
                    {
                        cl.release_capacity(id, data.len());
                        done |= end_stream;
                    }
                }
                pipe(&mut cl, &mut sv, &mut buf);
                while sv.poll_event().is_some() {}
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
