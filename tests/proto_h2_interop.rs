//! The sans-IO `proto::Connection` against the `h2` crate, over an in-memory
//! duplex pipe, driven by a minimal loop (no actors): checks that what the
//! state machine writes is HTTP/2 a real implementation accepts, and that it
//! accepts what a real implementation writes (flow control with small
//! windows, large bodies both ways, trailers, many concurrent streams).

#[path = "support/harness.rs"]
mod harness;

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use h2actor::proto::{Config, Connection, Event, Head, Role, UserError};
use h2actor::transport::FrameCodec;
use h2actor::{ErrorCode, StreamId};
use http::{HeaderMap, HeaderValue, Request, Response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio_util::codec::Decoder;

/// What the test server does with a request.
#[derive(Default)]
struct ServerApp {
    /// Echo bodies waiting for room in the send queue.
    waiting: HashMap<StreamId, VecDeque<(Bytes, bool)>>,
    echo: HashMap<StreamId, bool>,
}

impl ServerApp {
    fn flush(&mut self, conn: &mut Connection, id: StreamId) {
        let Some(q) = self.waiting.get_mut(&id) else {
            return;
        };
        while let Some((data, end)) = q.pop_front() {
            match conn.send_data(id, data.clone(), end, Instant::now()) {
                Ok(()) => {}
                Err(UserError::SendBufferFull(_)) => {
                    q.push_front((data, end));
                    break;
                }
                Err(e) => panic!("send_data: {e}"),
            }
        }
    }

    fn on_event(&mut self, conn: &mut Connection, ev: Event) {
        match ev {
            Event::RecvHeaders {
                id,
                head,
                end_stream,
            } => {
                let Head::Request(req) = *head else {
                    panic!("a server receives requests");
                };
                let path = req.uri().path().to_string();
                if path == "/echo" {
                    conn.send_headers(
                        id,
                        Head::Response(Response::new(())),
                        end_stream,
                        Instant::now(),
                    )
                    .unwrap();
                    self.echo.insert(id, true);
                    self.waiting.insert(id, VecDeque::new());
                } else if let Some(n) = path.strip_prefix("/bytes/") {
                    let n: usize = n.parse().unwrap();
                    conn.send_headers(id, Head::Response(Response::new(())), false, Instant::now())
                        .unwrap();
                    conn.send_data(id, Bytes::from(vec![b'b'; n]), true, Instant::now())
                        .unwrap();
                } else if path == "/trailers" {
                    conn.send_headers(id, Head::Response(Response::new(())), false, Instant::now())
                        .unwrap();
                    conn.send_data(id, Bytes::from_static(b"body"), false, Instant::now())
                        .unwrap();
                    let mut t = HeaderMap::new();
                    t.insert("x-trailer-test", HeaderValue::from_static("ok"));
                    conn.send_trailers(id, t, Instant::now()).unwrap();
                } else {
                    let resp = Response::builder()
                        .header("content-type", "text/plain")
                        .body(())
                        .unwrap();
                    conn.send_headers(id, Head::Response(resp), false, Instant::now())
                        .unwrap();
                    conn.send_data(
                        id,
                        Bytes::from_static(b"hello world\n"),
                        true,
                        Instant::now(),
                    )
                    .unwrap();
                }
            }
            Event::RecvData {
                id,
                data,
                end_stream,
            } => {
                if self.echo.contains_key(&id) {
                    self.waiting
                        .entry(id)
                        .or_default()
                        .push_back((data, end_stream));
                    self.flush(conn, id);
                } else {
                    conn.release_capacity(id, data.len());
                }
            }
            Event::DataSent { id, len } if self.echo.contains_key(&id) => {
                // echoed bytes left: the request bytes are consumed
                conn.release_capacity(id, len);
                self.flush(conn, id);
            }
            Event::Finished { id, .. } | Event::RecvReset { id, .. } => {
                self.echo.remove(&id);
                self.waiting.remove(&id);
            }
            _ => {}
        }
    }
}

/// Runs a `Connection` over `io` until the peer closes or the connection
/// finishes, handing every event to `on_event`.
async fn drive<IO: AsyncRead + AsyncWrite + Unpin>(
    mut conn: Connection,
    mut io: IO,
    mut on_event: impl FnMut(&mut Connection, Event),
) -> Connection {
    let mut codec = if conn.role() == Role::Server {
        FrameCodec::server(conn.local_max_frame_size())
    } else {
        FrameCodec::new(conn.local_max_frame_size())
    };
    let mut rbuf = BytesMut::with_capacity(64 << 10);
    let mut wbuf = BytesMut::with_capacity(64 << 10);
    loop {
        while conn.wants_transmit() {
            conn.poll_transmit(&mut wbuf, 256 << 10, Instant::now());
            while let Some(ev) = conn.poll_event() {
                on_event(&mut conn, ev);
            }
            if io.write_all(&wbuf).await.is_err() {
                return conn;
            }
            wbuf.clear();
        }
        if conn.is_finished() {
            let _ = io.shutdown().await;
            return conn;
        }
        match io.read_buf(&mut rbuf).await {
            Ok(0) | Err(_) => return conn,
            Ok(_) => {}
        }
        loop {
            codec.set_max_frame_size(conn.local_max_frame_size());
            let item = match codec.decode(&mut rbuf) {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(e) => panic!("codec: {e}"),
            };
            let r = match item {
                Ok(frame) => conn.recv_frame(frame, Instant::now()),
                Err(malformed) => conn.recv_malformed(malformed, Instant::now()),
            };
            r.expect("no connection error with a conforming peer");
        }
        while let Some(ev) = conn.poll_event() {
            on_event(&mut conn, ev);
        }
    }
}

fn server_task(io: DuplexStream, config: Config) -> tokio::task::JoinHandle<Connection> {
    tokio::spawn(async move {
        let mut app = ServerApp::default();
        drive(
            Connection::new(Role::Server, config, Instant::now()),
            io,
            move |c, ev| app.on_event(c, ev),
        )
        .await
    })
}

async fn h2_client(io: DuplexStream, window: u32) -> h2::client::SendRequest<Bytes> {
    let (send, conn) = h2::client::Builder::new()
        .initial_window_size(window)
        .initial_connection_window_size(window.max(65_535))
        .handshake::<_, Bytes>(io)
        .await
        .expect("h2 handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    send
}

async fn read_body(mut body: h2::RecvStream) -> (Vec<u8>, Option<HeaderMap>) {
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("body chunk");
        body.flow_control().release_capacity(chunk.len()).unwrap();
        out.extend_from_slice(&chunk);
    }
    let trailers = body.trailers().await.expect("trailers");
    (out, trailers)
}

#[tokio::main(flavor = "current_thread")]
async fn h2_client_gets_hello_world_from_proto_server() {
    let (a, b) = tokio::io::duplex(1 << 16);
    let server = server_task(b, Config::default());
    let mut client = h2_client(a, 65_535).await;
    let req = Request::get("http://example.com/").body(()).unwrap();
    let (resp, _) = client.send_request(req, true).unwrap();
    let resp = resp.await.expect("response");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    let (body, _) = read_body(resp.into_body()).await;
    assert_eq!(body, b"hello world\n");
    drop(client);
    let conn = server.await.unwrap();
    assert!(conn.error().is_none());
}

#[tokio::main(flavor = "current_thread")]
async fn h2_client_echo_of_several_mib_with_1_kib_windows() {
    let (a, b) = tokio::io::duplex(1 << 16);
    let small = Config {
        initial_window_size: 1024,
        connection_window_size: 65_535,
        ..Config::default()
    };
    let server = server_task(b, small);
    let mut client = h2_client(a, 1024).await;
    let req = Request::post("http://example.com/echo").body(()).unwrap();
    let (resp, mut send) = client.send_request(req, false).unwrap();
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let to_send = Bytes::from(body.clone());
    let sender = tokio::spawn(async move {
        let mut rest = to_send;
        while !rest.is_empty() {
            send.reserve_capacity(rest.len().min(64 << 10));
            let cap = std::future::poll_fn(|cx| send.poll_capacity(cx))
                .await
                .expect("capacity")
                .expect("capacity ok");
            let chunk = rest.split_to(cap.min(rest.len()));
            send.send_data(chunk, rest.is_empty()).unwrap();
        }
    });
    let resp = resp.await.expect("response");
    assert_eq!(resp.status(), 200);
    let (echoed, _) = read_body(resp.into_body()).await;
    sender.await.unwrap();
    assert_eq!(echoed.len(), body.len());
    assert!(echoed == body, "echo differs");
    drop(client);
    let conn = server.await.unwrap();
    assert!(conn.error().is_none());
}

#[tokio::main(flavor = "current_thread")]
async fn h2_client_many_concurrent_downloads_and_trailers() {
    let (a, b) = tokio::io::duplex(1 << 16);
    let server = server_task(b, Config::default());
    let client = h2_client(a, 65_535).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let mut c = client.clone();
        tasks.push(tokio::spawn(async move {
            c = c.ready().await.unwrap();
            let path = if i % 10 == 0 {
                "/trailers".to_string()
            } else {
                format!("/bytes/{}", 1000 * i + 1)
            };
            let req = Request::get(format!("http://example.com{path}"))
                .body(())
                .unwrap();
            let (resp, _) = c.send_request(req, true).unwrap();
            let resp = resp.await.unwrap();
            let (body, trailers) = read_body(resp.into_body()).await;
            if i % 10 == 0 {
                assert_eq!(body, b"body");
                assert_eq!(trailers.unwrap()["x-trailer-test"], "ok");
            } else {
                assert_eq!(body.len(), 1000 * i + 1);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    drop(client);
    let conn = server.await.unwrap();
    assert!(conn.error().is_none());
}

#[tokio::main(flavor = "current_thread")]
async fn h2_client_reset_mid_body_leaves_connection_usable() {
    let (a, b) = tokio::io::duplex(1 << 16);
    let server = server_task(b, Config::default());
    let mut client = h2_client(a, 65_535).await;
    let req = Request::get("http://example.com/bytes/5000000")
        .body(())
        .unwrap();
    let (resp, _) = client.send_request(req, true).unwrap();
    let resp = resp.await.unwrap();
    let mut body = resp.into_body();
    let first = body.data().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(body); // h2 resets the stream (CANCEL)
    let req = Request::get("http://example.com/").body(()).unwrap();
    client = client.ready().await.unwrap();
    let (resp, _) = client.send_request(req, true).unwrap();
    let (body, _) = read_body(resp.await.unwrap().into_body()).await;
    assert_eq!(body, b"hello world\n");
    drop(client);
    let conn = server.await.unwrap();
    assert!(conn.error().is_none());
}

/// Our client against an h2 server: GET with a body, POST echo.
#[tokio::main(flavor = "current_thread")]
async fn proto_client_against_h2_server() {
    let (a, b) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let mut srv = h2::server::Builder::new()
            .initial_window_size(1024)
            .handshake::<_, Bytes>(b)
            .await
            .unwrap();
        while let Some(req) = srv.accept().await {
            let (req, mut respond) = req.unwrap();
            tokio::spawn(async move {
                let path = req.uri().path().to_string();
                let (body, _) = read_body(req.into_body()).await;
                let mut send = respond.send_response(Response::new(()), false).unwrap();
                let out = if path == "/echo" {
                    Bytes::from(body)
                } else {
                    Bytes::from(vec![b'z'; 200_000])
                };
                send.send_data(out, true).unwrap();
            });
        }
    });
    let mut results: HashMap<StreamId, (u16, Vec<u8>, bool)> = HashMap::new();
    let mut client = Connection::new(Role::Client, Config::default(), Instant::now());
    let get = client.open_stream().unwrap();
    client
        .send_headers(
            get,
            Head::Request(Request::get("http://x/big").body(()).unwrap()),
            true,
            Instant::now(),
        )
        .unwrap();
    let post = client.open_stream().unwrap();
    client
        .send_headers(
            post,
            Head::Request(Request::post("http://x/echo").body(()).unwrap()),
            false,
            Instant::now(),
        )
        .unwrap();
    client
        .send_data(post, Bytes::from(vec![b'e'; 100_000]), true, Instant::now())
        .unwrap();
    let mut done = 0;
    let conn = drive(client, a, |c, ev| match ev {
        Event::RecvHeaders {
            id,
            head,
            end_stream,
        } => {
            let Head::Response(r) = *head else {
                panic!("a client receives responses");
            };
            results.entry(id).or_default().0 = r.status().as_u16();
            if end_stream {
                done += 1;
            }
        }
        Event::RecvData {
            id,
            data,
            end_stream,
        } => {
            c.release_capacity(id, data.len());
            let e = results.entry(id).or_default();
            e.1.extend_from_slice(&data);
            e.2 = end_stream;
            if end_stream {
                done += 1;
                if done == 2 {
                    c.go_away(ErrorCode::NO_ERROR, Bytes::new(), Instant::now());
                }
            }
        }
        Event::RecvReset { id, code, .. } => panic!("stream {id} reset {code}"),
        _ => {}
    })
    .await;
    assert!(conn.error().is_none());
    assert_eq!(results[&get].0, 200);
    assert_eq!(results[&get].1.len(), 200_000);
    assert_eq!(results[&post].1, vec![b'e'; 100_000]);
    assert!(results[&post].2);
}

/// A TCP listener serving every connection with the bare state machine.
async fn tcp_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let _ = sock.set_nodelay(true);
            tokio::spawn(async move {
                let mut app = ServerApp::default();
                let conn = drive(
                    Connection::new(Role::Server, Config::default(), Instant::now()),
                    sock,
                    move |c, ev| app.on_event(c, ev),
                )
                .await;
                assert!(conn.error().is_none(), "{:?}", conn.error());
            });
        }
    });
    addr
}

/// Runs a command off the runtime, feeding `stdin`.
async fn run(cmd: &'static str, args: Vec<String>, stdin: Vec<u8>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new(cmd)
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&stdin);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    })
    .await
    .unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn nghttp_client_against_proto_server() {
    let addr = tcp_server().await;
    let out = run(
        "nghttp",
        vec![
            "-nv".into(),
            format!("http://{addr}/"),
            format!("http://{addr}/bytes/100000"),
        ],
        Vec::new(),
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(":status: 200"), "{text}");
    assert!(!text.contains("RST_STREAM"), "{text}");
    let out = run(
        "nghttp",
        vec!["-d".into(), "-".into(), format!("http://{addr}/echo")],
        vec![b'q'; 300_000],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 300_000);
    assert!(out.stdout.iter().all(|&b| b == b'q'));
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn h2load_against_proto_server_has_no_failures() {
    // PROTO_H2LOAD="-n 1200000 -c 16 -m 32 -t 1" for a measurement
    // (cargo test --release --test proto_h2_interop h2load -- --nocapture).
    let args = std::env::var("PROTO_H2LOAD").unwrap_or_else(|_| "-n 20000 -c 4 -m 16".into());
    let n = args
        .split_whitespace()
        .skip_while(|a| *a != "-n")
        .nth(1)
        .unwrap_or("0")
        .to_string();
    let addr = tcp_server().await;
    let mut argv: Vec<String> = args.split_whitespace().map(String::from).collect();
    argv.push(format!("http://{addr}/"));
    let out = run("h2load", argv, Vec::new()).await;
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}");
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("{n} succeeded, 0 failed, 0 errored")),
        "{text}"
    );
}

fn main() {
    use harness::Need::Program;
    harness::main(harness::tests![
        h2_client_gets_hello_world_from_proto_server,
        h2_client_echo_of_several_mib_with_1_kib_windows,
        h2_client_many_concurrent_downloads_and_trailers,
        h2_client_reset_mid_body_leaves_connection_usable,
        proto_client_against_h2_server,
        nghttp_client_against_proto_server: [Program("nghttp")],
        h2load_against_proto_server_has_no_failures: [Program("h2load")],
    ]);
}
