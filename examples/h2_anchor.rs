//! The benchmark anchor: a minimal server on the `h2` crate (hyperium), to
//! compare h2actor against in `benches/h2load.sh`.
//!
//! ```text
//! cargo run --release --example h2_anchor -- --addr 127.0.0.1:8082 [--threads N]
//! ```
//!
//! Same answers as the demo server for the benchmarked routes: `GET /` ->
//! 200 `text/plain` `hello world\n`, `GET /bytes/N` -> N bytes sent under
//! flow control in ~64 KiB chunks (as the demo server), `POST /echo` -> the
//! request body streamed back as it arrives, `POST /sink` -> the body read
//! and dropped, then 200 with the byte count as text; anything else 404.
//! It runs on a tokio multi-thread runtime with `--threads N` worker
//! threads (default 1; the accept loop and every connection share them, as
//! `examples/server --threads N` shares N arbiters), and binds with the same
//! backlog of 1024. Like the demo server it uses mimalloc as its global
//! allocator.

use std::net::SocketAddr;

use bytes::Bytes;
use h2::server::SendResponse;
use http::{Method, Request, Response, StatusCode};

const HELLO: &[u8] = b"hello world\n";
const CHUNK: usize = 26 * 2520;
const MAX_BYTES: u64 = 1 << 30;

/// The same allocator as `examples/server.rs`, so that the comparison is
/// between the two HTTP/2 stacks, not between two allocators.
#[path = "shared/natural_mimalloc.rs"]
mod natural_mimalloc;
#[global_allocator]
static ALLOCATOR: natural_mimalloc::NaturalMiMalloc = natural_mimalloc::NaturalMiMalloc;

fn main() {
    let mut addr: SocketAddr = ([127, 0, 0, 1], 8082).into();
    let mut threads = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        let ok = match arg.as_str() {
            "--addr" => value.and_then(|a| a.parse().ok()).map(|a| addr = a),
            "--threads" => value
                .and_then(|n| n.parse().ok())
                .filter(|&n| n >= 1)
                .map(|n| threads = n),
            _ => None,
        };
        if ok.is_none() {
            eprintln!("usage: h2_anchor [--addr HOST:PORT] [--threads N]");
            std::process::exit(2);
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket.bind(addr).expect("bind");
        let listener = socket.listen(1024).expect("listen");
        eprintln!(
            "h2_anchor listening on {}",
            listener.local_addr().expect("addr")
        );
        // The accept loop runs as a task too, so everything shares the
        // worker threads (block_on's own future would run on the main thread).
        let accept = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                tokio::spawn(async move {
                    let Ok(mut conn) = h2::server::handshake(tcp).await else {
                        return;
                    };
                    while let Some(Ok((req, mut respond))) = conn.accept().await {
                        // The hello answer needs no waiting: send it inline, as
                        // h2's own examples do; streamed bodies get a task.
                        if req.uri().path() == "/" {
                            hello(&mut respond);
                        } else {
                            tokio::spawn(handle(req, respond));
                        }
                    }
                });
            }
        });
        let _ = accept.await;
    });
}

fn hello(respond: &mut SendResponse<Bytes>) {
    let resp = Response::builder()
        .header("content-type", "text/plain")
        .header("content-length", HELLO.len())
        .body(())
        .expect("static response");
    if let Ok(mut send) = respond.send_response(resp, false) {
        let _ = send.send_data(Bytes::from_static(HELLO), true);
    }
}

async fn handle(req: Request<h2::RecvStream>, mut respond: SendResponse<Bytes>) {
    if req.method() == Method::POST {
        match req.uri().path() {
            "/echo" => return echo(req.into_body(), respond).await,
            "/sink" => return sink(req.into_body(), respond).await,
            _ => {}
        }
    }
    let path = req.uri().path();
    let n = path
        .strip_prefix("/bytes/")
        .and_then(|n| n.parse::<u64>().ok());
    let Some(n) = n.filter(|&n| n <= MAX_BYTES) else {
        let resp = Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(())
            .expect("static response");
        let _ = respond.send_response(resp, true);
        return;
    };
    let resp = Response::builder()
        .header("content-type", "application/octet-stream")
        .header("content-length", n)
        .body(())
        .expect("static response");
    let Ok(mut send) = respond.send_response(resp, n == 0) else {
        return;
    };
    let chunk: Bytes = (0..CHUNK)
        .map(|i| b'a' + (i % 26) as u8)
        .collect::<Vec<u8>>()
        .into();
    let mut left = n;
    while left > 0 {
        let want = left.min(CHUNK as u64) as usize;
        send.reserve_capacity(want);
        let cap = match std::future::poll_fn(|cx| send.poll_capacity(cx)).await {
            Some(Ok(cap)) => cap.min(want),
            _ => return,
        };
        if cap == 0 {
            continue;
        }
        left -= cap as u64;
        if send.send_data(chunk.slice(..cap), left == 0).is_err() {
            return;
        }
    }
}

/// `POST /echo`: each received chunk is sent back once the peer's window
/// has room for it; its bytes return to our receive window only then, so
/// at most a window plus a chunk is buffered (as the demo server does).
async fn echo(mut body: h2::RecvStream, mut respond: SendResponse<Bytes>) {
    let resp = Response::builder()
        .header("content-type", "application/octet-stream")
        .body(())
        .expect("static response");
    let Ok(mut send) = respond.send_response(resp, body.is_end_stream()) else {
        return;
    };
    while let Some(chunk) = std::future::poll_fn(|cx| body.poll_data(cx)).await {
        let Ok(mut chunk) = chunk else { return };
        let len = chunk.len();
        while !chunk.is_empty() {
            send.reserve_capacity(chunk.len());
            let cap = match std::future::poll_fn(|cx| send.poll_capacity(cx)).await {
                Some(Ok(cap)) => cap.min(chunk.len()),
                _ => return,
            };
            if cap == 0 {
                continue;
            }
            if send.send_data(chunk.split_to(cap), false).is_err() {
                return;
            }
        }
        let _ = body.flow_control().release_capacity(len);
    }
    let _ = send.send_data(Bytes::new(), true);
}

/// `POST /sink`: the body read and dropped (its bytes return to the
/// receive window at once), then 200 with the byte count.
async fn sink(mut body: h2::RecvStream, mut respond: SendResponse<Bytes>) {
    let mut n: u64 = 0;
    while let Some(chunk) = std::future::poll_fn(|cx| body.poll_data(cx)).await {
        let Ok(chunk) = chunk else { return };
        n += chunk.len() as u64;
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let text = Bytes::from(format!("{n}\n"));
    let resp = Response::builder()
        .header("content-type", "text/plain")
        .header("content-length", text.len())
        .body(())
        .expect("static response");
    if let Ok(mut send) = respond.send_response(resp, false) {
        let _ = send.send_data(text, true);
    }
}
