//! Our client actor against our server actor, over `tokio::io::duplex` and
//! over loopback TCP: requests, bodies under flow control (RFC 9113 §5.2),
//! trailers (§8.1), push (§8.4), RST_STREAM (§6.4), PING (§6.7), GOAWAY
//! (§6.8), the preface check (§3.4), and the bounds of the actor layer.

#[path = "actor_support/mod.rs"]
mod support;

use std::time::Duration;

use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use h2actor::actor::{
    Builder, Close, CloseReason, Connection, ConnectionStats, Error, GetStats, H2Stream,
    OpenStream, Ping, Reset, SendData, SendHeaders, Subscriber,
};
use h2actor::frame::{Frame, Settings, WindowUpdate, PREFACE};
use h2actor::proto::Config;
use h2actor::{ErrorCode, Role, StreamId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use support::*;

struct Pair {
    server: Addr<Connection>,
    server_notes: mpsc::UnboundedReceiver<Note>,
    client: Addr<Connection>,
    client_notes: mpsc::UnboundedReceiver<Note>,
}

fn start_server<IO>(io: IO, b: Builder) -> (Addr<Connection>, mpsc::UnboundedReceiver<Note>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = TestServer { seen: tx }.start();
    (b.start(io, Subscriber::all(&handler)), rx)
}

fn duplex_pair(server: Builder, client: Builder) -> Pair {
    let (a, b) = tokio::io::duplex(64 << 10);
    let (server, server_notes) = start_server(a, server);
    let (col, client_notes) = Collector::start_new();
    let client = client.start(b, Subscriber::all(&col));
    Pair {
        server,
        server_notes,
        client,
        client_notes,
    }
}

async fn tcp_pair(server: Builder, client: Builder) -> Pair {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let c = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (s, _) = l.accept().await.unwrap();
    let (server, server_notes) = start_server(s, server);
    let (col, client_notes) = Collector::start_new();
    let client = client.start(c, Subscriber::all(&col));
    Pair {
        server,
        server_notes,
        client,
        client_notes,
    }
}

fn server() -> Builder {
    Connection::builder(Role::Server)
}
fn client() -> Builder {
    Connection::builder(Role::Client)
}

fn small_windows() -> Config {
    Config {
        initial_window_size: 1024,
        connection_window_size: 65_535,
        ..Config::default()
    }
}

async fn closed_reason(rx: &mut mpsc::UnboundedReceiver<Note>) -> CloseReason {
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("no Closed notification")
            .expect("channel closed");
        if let Note::Closed(c) = n {
            return c.reason;
        }
    }
}

#[actix_rt::test]
async fn get_request_response_over_duplex() {
    let p = duplex_pair(server(), client());
    let got = request(&p.client, get("/"), None).await;
    assert_eq!(got.status, Some(http::StatusCode::OK));
    assert_eq!(&got.body[..], b"hello world\n");
    let got = request(&p.client, get("/nope"), None).await;
    assert_eq!(got.status, Some(http::StatusCode::NOT_FOUND));
}

#[actix_rt::test]
async fn get_request_response_over_tcp() {
    let p = tcp_pair(server(), client()).await;
    let got = request(&p.client, get("/"), None).await;
    assert_eq!(got.status, Some(http::StatusCode::OK));
    assert_eq!(&got.body[..], b"hello world\n");
}

#[actix_rt::test]
async fn large_bodies_both_ways_under_small_windows_flow_control_5_2() {
    let p = tcp_pair(
        server().config(small_windows()),
        client().config(small_windows()),
    )
    .await;
    let n = 3 << 20;
    let got = request(&p.client, get(&format!("/bytes/{n}")), None).await;
    assert_eq!(got.body.len(), n);
    assert!(got.body.iter().enumerate().all(|(i, b)| *b == byte_at(i)));
    let body = pattern(2 << 20);
    let got = request(&p.client, post("/echo"), Some(body.clone())).await;
    assert_eq!(got.body.len(), body.len());
    assert!(got.body[..] == body[..], "echoed body differs");
}

#[actix_rt::test]
async fn large_bodies_over_duplex() {
    let p = duplex_pair(
        server().config(small_windows()),
        client().config(small_windows()),
    );
    let body = pattern(1 << 20);
    let got = request(&p.client, post("/echo"), Some(body.clone())).await;
    assert!(got.body[..] == body[..]);
}

#[actix_rt::test]
async fn many_concurrent_streams_on_one_connection() {
    let p = tcp_pair(server(), client()).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let c = p.client.clone();
        let path = if i % 2 == 0 {
            "/".to_string()
        } else {
            format!("/bytes/{}", 1000 + i)
        };
        tasks.push(actix_rt::spawn(async move {
            (i, request(&c, get(&path), None).await)
        }));
    }
    for t in tasks {
        let (i, got) = t.await.unwrap();
        assert_eq!(got.status, Some(http::StatusCode::OK));
        if i % 2 == 0 {
            assert_eq!(&got.body[..], b"hello world\n");
        } else {
            assert_eq!(got.body.len(), 1000 + i);
        }
    }
}

#[actix_rt::test]
async fn trailers_end_the_stream_8_1() {
    let p = duplex_pair(server(), client());
    let got = request(&p.client, get("/trailers"), None).await;
    assert_eq!(&got.body[..], b"body");
    let t = got.trailers.expect("trailers");
    assert_eq!(t.get("x-trailer-test").unwrap(), "ok");
}

#[actix_rt::test]
async fn server_push_is_delivered_as_recv_promise_8_4() {
    let p = duplex_pair(server(), client());
    let (col, mut rx) = Collector::start_new();
    let opened = p
        .client
        .send(OpenStream {
            subscriber: Some(Subscriber::all(&col)),
        })
        .await
        .unwrap()
        .unwrap();
    opened
        .send(SendHeaders {
            head: get("/push"),
            end_stream: true,
        })
        .await
        .unwrap()
        .unwrap();
    let mut page = BytesMut::new();
    let mut pushed = BytesMut::new();
    let mut promised_id = None;
    let mut done = 0;
    while done < 2 {
        let n = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        match n {
            Note::Promise(p) => {
                assert_eq!(p.request.uri().path(), "/pushed");
                assert!(p.promised_id.is_server_initiated());
                promised_id = Some(p.promised_id);
            }
            Note::Data {
                id,
                data,
                end_stream,
            } => {
                if Some(id) == promised_id {
                    pushed.extend_from_slice(&data);
                } else {
                    page.extend_from_slice(&data);
                }
                if end_stream {
                    done += 1;
                }
            }
            _ => {}
        }
    }
    assert_eq!(&page[..], b"page");
    assert_eq!(&pushed[..], b"pushed body");
}

#[actix_rt::test]
async fn reset_mid_body_resets_the_stream_not_the_connection_6_4() {
    let mut p = tcp_pair(
        server().config(small_windows()),
        client().config(small_windows()),
    )
    .await;
    let (col, mut rx) = Collector::start_new();
    let opened = p
        .client
        .send(OpenStream {
            subscriber: Some(Subscriber::all(&col)),
        })
        .await
        .unwrap()
        .unwrap();
    opened
        .send(SendHeaders {
            head: get("/bytes/10000000"),
            end_stream: true,
        })
        .await
        .unwrap()
        .unwrap();
    // First DATA, then reset. The stream's id (assigned when its HEADERS
    // were written) comes with its notifications.
    let id = loop {
        match rx.recv().await.unwrap() {
            Note::Data { id, .. } => break id,
            _ => continue,
        }
    };
    opened.do_send(Reset {
        code: ErrorCode::CANCEL,
    });
    // The server hears RST_STREAM(CANCEL) from the client.
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), p.server_notes.recv())
            .await
            .unwrap()
            .unwrap();
        if let Note::Reset {
            id: rid,
            code,
            remote,
        } = n
        {
            assert_eq!(rid, id);
            assert_eq!(code, ErrorCode::CANCEL);
            assert!(remote);
            break;
        }
    }
    // The connection goes on.
    let got = request(&p.client, get("/"), None).await;
    assert_eq!(&got.body[..], b"hello world\n");
}

#[actix_rt::test]
async fn ping_resolves_with_the_round_trip_time_6_7() {
    let p = duplex_pair(server(), client());
    let rtt = p.client.send(Ping).await.unwrap().unwrap();
    assert!(rtt < Duration::from_secs(2));
    let rtt = p.server.send(Ping).await.unwrap().unwrap();
    assert!(rtt < Duration::from_secs(2));
}

#[actix_rt::test]
async fn pending_pings_are_bounded() {
    // The peer never answers (nobody reads its end): after
    // max_pending_pings unanswered PINGs, Ping is QueueFull.
    let (_peer, io) = tokio::io::duplex(1 << 20);
    let (col, _rx) = Collector::start_new();
    let conn = client().start(io, Subscriber::all(&col));
    let reqs: Vec<_> = (0..40).map(|_| conn.send(Ping)).collect();
    let mut full = 0;
    let mut pending = 0;
    for r in reqs {
        match tokio::time::timeout(Duration::from_millis(100), r).await {
            Ok(Ok(Err(Error::QueueFull))) => full += 1,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => pending += 1,
        }
    }
    assert_eq!(pending, Config::default().max_pending_pings);
    assert_eq!(full, 40 - pending);
}

#[actix_rt::test]
async fn graceful_close_lets_streams_in_flight_finish_6_8() {
    let mut p = tcp_pair(
        server().config(small_windows()),
        client().config(small_windows()),
    )
    .await;
    let c = p.client.clone();
    let n = 1 << 20;
    let req = actix_rt::spawn(async move { request(&c, get(&format!("/bytes/{n}")), None).await });
    // Wait for the server to see the request, then close it gracefully.
    loop {
        if let Note::Headers { .. } = p.server_notes.recv().await.unwrap() {
            break;
        }
    }
    p.server.do_send(Close {
        code: ErrorCode::NO_ERROR,
    });
    let got = req.await.unwrap();
    assert_eq!(got.body.len(), n, "the stream in flight finished");
    // The client heard GOAWAY, both ends closed cleanly.
    let mut saw_goaway = false;
    loop {
        let note = tokio::time::timeout(Duration::from_secs(10), p.client_notes.recv())
            .await
            .unwrap()
            .unwrap();
        match note {
            Note::GoAway(g) => {
                assert_eq!(g.code, ErrorCode::NO_ERROR);
                saw_goaway = true;
            }
            Note::Closed(c) => {
                assert_eq!(c.reason, CloseReason::Done);
                break;
            }
            _ => {}
        }
    }
    assert!(saw_goaway);
    assert_eq!(closed_reason(&mut p.server_notes).await, CloseReason::Done);
    // Exactly once.
    tokio::time::sleep(Duration::from_millis(50)).await;
    while let Ok(n) = p.server_notes.try_recv() {
        assert!(!matches!(n, Note::Closed(_)), "second Closed");
    }
}

#[actix_rt::test]
async fn second_close_forces_the_connection_down() {
    let mut p = duplex_pair(server(), client());
    let (col, _rx) = Collector::start_new();
    let opened = p
        .client
        .send(OpenStream {
            subscriber: Some(Subscriber::all(&col)),
        })
        .await
        .unwrap()
        .unwrap();
    opened
        .send(SendHeaders {
            head: get("/hang"),
            end_stream: true,
        })
        .await
        .unwrap()
        .unwrap();
    loop {
        if let Note::Headers { .. } = p.server_notes.recv().await.unwrap() {
            break;
        }
    }
    p.server.do_send(Close {
        code: ErrorCode::NO_ERROR,
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(p.server.connected(), "graceful close waits for the stream");
    p.server.do_send(Close {
        code: ErrorCode::NO_ERROR,
    });
    let reason = closed_reason(&mut p.server_notes).await;
    assert_eq!(reason, CloseReason::Done);
}

#[actix_rt::test]
async fn close_timeout_forces_the_close() {
    let mut p = duplex_pair(server().close_timeout(Duration::from_millis(200)), client());
    let (col, _rx) = Collector::start_new();
    let opened = p
        .client
        .send(OpenStream {
            subscriber: Some(Subscriber::all(&col)),
        })
        .await
        .unwrap()
        .unwrap();
    opened
        .send(SendHeaders {
            head: get("/hang"),
            end_stream: true,
        })
        .await
        .unwrap()
        .unwrap();
    loop {
        if let Note::Headers { .. } = p.server_notes.recv().await.unwrap() {
            break;
        }
    }
    p.server.do_send(Close {
        code: ErrorCode::NO_ERROR,
    });
    let t0 = std::time::Instant::now();
    let _ = closed_reason(&mut p.server_notes).await;
    assert!(t0.elapsed() < Duration::from_secs(3));
}

/// Reads everything the server writes until it closes; returns the frames.
async fn read_all_frames(io: &mut tokio::net::TcpStream) -> Vec<Frame> {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout_at(deadline, io.read(&mut chunk))
            .await
            .expect("server did not close")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Ok(Some(f)) = Frame::decode(&mut buf, 1 << 20) {
            frames.push(f);
        }
    }
    frames
}

#[actix_rt::test]
async fn bad_preface_gets_goaway_protocol_error_before_close_3_4() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (s, _) = l.accept().await.unwrap();
    let (_server, mut notes) = start_server(s, server());
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let frames = read_all_frames(&mut c).await;
    let goaway = frames
        .iter()
        .find_map(|f| match f {
            Frame::GoAway(g) => Some(g.clone()),
            _ => None,
        })
        .expect("GOAWAY received before the socket closed");
    assert_eq!(goaway.error_code, ErrorCode::PROTOCOL_ERROR);
    match closed_reason(&mut notes).await {
        CloseReason::Error(e) => assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR),
        other => panic!("{other:?}"),
    }
}

#[actix_rt::test]
async fn non_reading_peer_keeps_the_write_buffer_bounded_and_senddata_pending() {
    // A raw client: preface, SETTINGS with a huge window, a request for a
    // large body, then it never reads.
    let limit = 32 << 10;
    let (mut raw, io) = tokio::io::duplex(16 << 10);
    let (server_addr, _notes) = start_server(io, server().max_write_buffer(limit));
    let mut out = BytesMut::new();
    out.extend_from_slice(PREFACE);
    Frame::Settings(Settings {
        ack: false,
        params: vec![h2actor::frame::Setting::InitialWindowSize((1 << 31) - 1)],
    })
    .encode(&mut out);
    Frame::WindowUpdate(WindowUpdate {
        stream_id: StreamId::ZERO,
        increment: (1 << 31) - 1 - 65_535,
    })
    .encode(&mut out);
    raw.write_all(&out).await.unwrap();
    // A request through our own encoder: use a client proto to build it.
    let mut proto =
        h2actor::proto::Connection::new(Role::Client, Config::default(), std::time::Instant::now());
    let id = proto.open_stream().unwrap();
    proto
        .send_headers(id, get("/bytes/100000000"), true, std::time::Instant::now())
        .unwrap();
    let mut req = BytesMut::new();
    proto.poll_transmit(&mut req, 1 << 20, std::time::Instant::now());
    // Skip the client preface and SETTINGS our proto produced: send only
    // frames after them (HEADERS is the last frame written).
    let mut rest = req.split_off(PREFACE.len());
    let mut headers = None;
    while let Ok(Some(f)) = Frame::decode(&mut rest, 1 << 20) {
        if let Frame::Headers(_) = f {
            headers = Some(f);
        }
    }
    let mut hb = BytesMut::new();
    headers.expect("HEADERS").encode(&mut hb);
    raw.write_all(&hb).await.unwrap();
    // Let the server run against the full pipe for a while.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats: ConnectionStats = server_addr.send(GetStats).await.unwrap();
    assert!(
        stats.write_buffer_high_water <= limit + 16_384 + 9 + 1024,
        "write buffer grew to {}",
        stats.write_buffer_high_water
    );
    assert!(stats.write_buffer_high_water >= limit / 2, "{stats:?}");
    // The handler awaits each 16 KiB SendData: one stays pending.
    assert_eq!(stats.pending_sends, 1, "{stats:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats2: ConnectionStats = server_addr.send(GetStats).await.unwrap();
    assert_eq!(
        stats2.write_buffer_high_water,
        stats.write_buffer_high_water
    );
    assert_eq!(stats2.pending_sends, 1);
    drop(raw);
}

#[actix_rt::test]
async fn senddata_stays_pending_while_the_peer_window_is_closed() {
    // The client's receive window is 1 KiB and its subscriber never
    // releases (auto_release off): a 64 KiB SendData on the server cannot
    // complete.
    let cfg = Config {
        initial_window_size: 1024,
        ..Config::default()
    };
    let p = duplex_pair(server(), client().config(cfg).auto_release(false));
    let (col, _rx) = Collector::start_new();
    let opened = p
        .client
        .send(OpenStream {
            subscriber: Some(Subscriber::all(&col)),
        })
        .await
        .unwrap()
        .unwrap();
    // Client sends a body to the server's /echo; the server's echo SendData
    // of 64 KiB stays pending.
    opened
        .send(SendHeaders {
            head: post("/echo"),
            end_stream: false,
        })
        .await
        .unwrap()
        .unwrap();
    let body = pattern(60_000);
    opened
        .send(SendData {
            data: body,
            end_stream: false,
        })
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got_stats: ConnectionStats = p.server.send(GetStats).await.unwrap();
    assert!(got_stats.streams >= 1);
    // The server's echo of 60,000 bytes cannot fit a 1 KiB window nobody
    // reopens: its SendData is still pending.
    assert_eq!(got_stats.pending_sends, 1, "{got_stats:?}");
}

#[actix_rt::test]
async fn listener_serves_connections_on_several_arbiters() {
    use h2actor::actor::Listener;
    let listener = Listener::builder("127.0.0.1:0".parse().unwrap())
        .threads(2)
        .connection(server())
        .start(|_| {
            let (tx, _rx) = mpsc::unbounded_channel();
            Subscriber::all(&TestServer { seen: tx }.start())
        })
        .unwrap();
    let addr = listener.local_addr();
    for _ in 0..4 {
        let io = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (col, _rx) = Collector::start_new();
        let c = client().start(io, Subscriber::all(&col));
        let got = request(&c, get("/"), None).await;
        assert_eq!(&got.body[..], b"hello world\n");
    }
}

#[actix_rt::test]
async fn missing_settings_ack_is_settings_timeout_6_5_3() {
    // A raw peer sends the preface and an empty SETTINGS but never ACKs ours.
    let (mut raw, io) = tokio::io::duplex(64 << 10);
    let cfg = Config {
        settings_timeout: Duration::from_millis(200),
        ..Config::default()
    };
    let (_server, mut notes) = start_server(io, server().config(cfg));
    let mut out = BytesMut::new();
    out.extend_from_slice(PREFACE);
    Frame::Settings(Settings::default()).encode(&mut out);
    raw.write_all(&out).await.unwrap();
    let mut buf = BytesMut::new();
    let mut goaway = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while goaway.is_none() {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout_at(deadline, raw.read(&mut chunk))
            .await
            .expect("no GOAWAY")
            .unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Ok(Some(f)) = Frame::decode(&mut buf, 1 << 20) {
            if let Frame::GoAway(g) = f {
                goaway = Some(g);
            }
        }
    }
    assert_eq!(
        goaway.expect("GOAWAY").error_code,
        ErrorCode::SETTINGS_TIMEOUT
    );
    drop(raw);
    match closed_reason(&mut notes).await {
        CloseReason::Error(e) => assert_eq!(e.code, ErrorCode::SETTINGS_TIMEOUT),
        other => panic!("{other:?}"),
    }
}

#[actix_rt::test]
async fn open_stream_beyond_the_queue_is_queue_full() {
    let cfg = Config {
        max_concurrent_streams: 1,
        ..Config::default()
    };
    let mut p = duplex_pair(server().config(cfg), client().max_pending_open_streams(2));
    // Settle the SETTINGS exchange.
    p.client.send(Ping).await.unwrap().unwrap();
    let first = p.client.send(OpenStream::default()).await.unwrap().unwrap();
    let q1 = p.client.send(OpenStream::default());
    let q2 = p.client.send(OpenStream::default());
    let over = p.client.send(OpenStream::default()).await.unwrap();
    assert_eq!(over.err(), Some(Error::QueueFull));
    // Finish the first stream: a queued one gets its slot.
    first
        .send(SendHeaders {
            head: get("/"),
            end_stream: true,
        })
        .await
        .unwrap()
        .unwrap();
    let second = tokio::time::timeout(Duration::from_secs(5), q1)
        .await
        .expect("queued OpenStream resolved")
        .unwrap()
        .unwrap();
    // Ids are assigned when the HEADERS are written: read them from the
    // responses (the connection's subscriber gets them).
    let first_id = response_id(&mut p.client_notes, None).await;
    // `second` is given up before its HEADERS: it never takes an id, and its
    // slot goes to the next queued stream.
    second.do_send(Reset {
        code: ErrorCode::CANCEL,
    });
    let third = tokio::time::timeout(Duration::from_secs(5), q2)
        .await
        .expect("queued OpenStream resolved")
        .unwrap()
        .unwrap();
    third
        .send(SendHeaders {
            head: get("/"),
            end_stream: true,
        })
        .await
        .unwrap()
        .unwrap();
    let third_id = response_id(&mut p.client_notes, Some(first_id)).await;
    assert!(third_id > first_id);
}

/// The id of the next response head in `rx` whose id is not `skip`.
async fn response_id(rx: &mut mpsc::UnboundedReceiver<Note>, skip: Option<StreamId>) -> StreamId {
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("no response")
            .expect("collector gone");
        if let Note::Headers { id, .. } = n {
            if Some(id) != skip {
                return id;
            }
        }
    }
}

#[actix_rt::test]
async fn senddata_queue_beyond_its_bound_is_queue_full() {
    // The server's window for our stream is 1 KiB and nobody releases it;
    // our protocol buffers at most 16 KiB per stream; 4 more SendData wait.
    let client_cfg = Config {
        max_send_buffer_per_stream: 16 << 10,
        ..Config::default()
    };
    let server_cfg = Config {
        initial_window_size: 1024,
        ..Config::default()
    };
    let p = duplex_pair(
        server().config(server_cfg).auto_release(false),
        client().config(client_cfg).max_queued_sends(4),
    );
    p.client.send(Ping).await.unwrap().unwrap();
    let opened = p.client.send(OpenStream::default()).await.unwrap().unwrap();
    opened
        .send(SendHeaders {
            head: post("/sink"),
            end_stream: false,
        })
        .await
        .unwrap()
        .unwrap();
    let reqs: Vec<_> = (0..12)
        .map(|_| {
            opened.send(SendData {
                data: Bytes::from(vec![7u8; 16 << 10]),
                end_stream: false,
            })
        })
        .collect();
    let mut full = 0;
    let mut pending = 0;
    for r in reqs {
        match tokio::time::timeout(Duration::from_millis(300), r).await {
            Ok(Ok(Err(Error::QueueFull))) => full += 1,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => pending += 1,
        }
    }
    assert!(full > 0, "no QueueFull");
    assert!(pending > 0, "nothing pending");
    assert!(pending <= 4 + 2, "pending={pending}");
}

/// Waits up to `secs` for both connections to hold no stream entry (the
/// leak check: a stream costs its connection nothing once it is over).
async fn no_streams_left(p: &Pair, secs: u64) -> (usize, usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let s: ConnectionStats = p.server.send(GetStats).await.unwrap();
        let c: ConnectionStats = p.client.send(GetStats).await.unwrap();
        if (s.streams, c.streams) == (0, 0) || tokio::time::Instant::now() >= deadline {
            return (s.streams, c.streams);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_rt::test]
async fn stream_entries_return_to_zero_after_requests() {
    let p = duplex_pair(server(), client());
    for _ in 0..3 {
        let mut tasks = Vec::new();
        for i in 0..50 {
            let c = p.client.clone();
            let path = if i % 3 == 0 { "/trailers" } else { "/" };
            tasks.push(actix_rt::spawn(async move {
                request(&c, get(path), None).await
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
    assert_eq!(no_streams_left(&p, 5).await, (0, 0), "stream entries left");
}

#[actix_rt::test]
async fn subscriber_gone_resets_that_stream_not_the_connection() {
    let mut p = duplex_pair(
        server().config(small_windows()),
        client().config(small_windows()),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let quitter = Collector {
        tx,
        stop_on_headers: true,
        data_delay: None,
        hold_data: None,
        panic_on_data: false,
    }
    .start();
    let opened = p
        .client
        .send(OpenStream {
            subscriber: Some(Subscriber::all(&quitter)),
        })
        .await
        .unwrap()
        .unwrap();
    opened
        .send(SendHeaders {
            head: get("/bytes/1000000"),
            end_stream: true,
        })
        .await
        .unwrap()
        .unwrap();
    drop(opened);
    // The stream's id comes with its notifications (its subscriber saw the
    // response head before going away).
    let id = response_id(&mut rx, None).await;
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), p.server_notes.recv())
            .await
            .unwrap()
            .unwrap();
        if let Note::Reset { id: rid, code, .. } = n {
            assert_eq!(rid, id);
            assert_eq!(code, ErrorCode::CANCEL);
            break;
        }
    }
    let got = request(&p.client, get("/"), None).await;
    assert_eq!(&got.body[..], b"hello world\n");
}

#[actix_rt::test]
async fn slow_subscriber_slows_the_peer_with_auto_release() {
    // The client's subscriber takes 20 ms per RecvData; with a 1 KiB stream
    // window the server cannot run ahead: the body still arrives whole.
    let p = duplex_pair(server(), client().config(small_windows()));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let slow = Collector {
        tx,
        stop_on_headers: false,
        data_delay: Some(Duration::from_millis(5)),
        hold_data: None,
        panic_on_data: false,
    }
    .start();
    let opened = p
        .client
        .send(OpenStream {
            subscriber: Some(Subscriber::all(&slow)),
        })
        .await
        .unwrap()
        .unwrap();
    opened
        .send(SendHeaders {
            head: get("/bytes/20000"),
            end_stream: true,
        })
        .await
        .unwrap()
        .unwrap();
    let got = collect(&mut rx).await;
    assert_eq!(got.body.len(), 20000);
    // Never more than one window's worth of DATA was outstanding.
}

#[actix_rt::test]
async fn closed_is_sent_once_when_the_peer_disappears() {
    let (a, b) = tokio::io::duplex(64 << 10);
    let (_server, mut notes) = start_server(a, server());
    let (col, _rx) = Collector::start_new();
    let c = client().start(b, Subscriber::all(&col));
    c.send(Ping).await.unwrap().unwrap();
    c.do_send(Close {
        code: ErrorCode::NO_ERROR,
    });
    let reason = closed_reason(&mut notes).await;
    assert_eq!(reason, CloseReason::Done);
}

#[actix_rt::test]
async fn subscriber_panic_resets_that_stream_not_the_connection() {
    let mut p = duplex_pair(
        server().config(small_windows()),
        client().config(small_windows()),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let dies = Collector {
        tx,
        stop_on_headers: false,
        data_delay: None,
        hold_data: None,
        panic_on_data: true,
    }
    .start();
    let opened = p
        .client
        .send(OpenStream {
            subscriber: Some(Subscriber::all(&dies)),
        })
        .await
        .unwrap()
        .unwrap();
    opened
        .send(SendHeaders {
            head: get("/bytes/1000000"),
            end_stream: true,
        })
        .await
        .unwrap()
        .unwrap();
    drop(opened);
    // The stream's id comes with its notifications (its subscriber saw the
    // response head before going away).
    let id = response_id(&mut rx, None).await;
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), p.server_notes.recv())
            .await
            .unwrap()
            .unwrap();
        if let Note::Reset { id: rid, code, .. } = n {
            assert_eq!(rid, id);
            assert_eq!(code, ErrorCode::CANCEL);
            break;
        }
    }
    let got = request(&p.client, get("/"), None).await;
    assert_eq!(&got.body[..], b"hello world\n");
    assert_eq!(no_streams_left(&p, 5).await, (0, 0), "stream entries left");
}

#[actix_rt::test]
async fn peer_goaway_with_an_error_code_is_the_close_reason_6_8() {
    let mut p = duplex_pair(server(), client());
    p.client.send(Ping).await.unwrap().unwrap();
    p.client.do_send(Close {
        code: ErrorCode::ENHANCE_YOUR_CALM,
    });
    match closed_reason(&mut p.server_notes).await {
        CloseReason::Error(e) => {
            assert_eq!(e.code, ErrorCode::ENHANCE_YOUR_CALM);
            assert!(e.remote);
        }
        other => panic!("{other:?}"),
    }
}

#[actix_rt::test]
async fn send_message_sends_head_body_and_trailers_in_one_message() {
    let p = duplex_pair(server(), client().config(small_windows()));
    let got = request(&p.client, get("/msg"), None).await;
    assert_eq!(got.status, Some(http::StatusCode::OK));
    assert_eq!(&got.body[..], b"one message");
    let got = request(&p.client, get("/msg-empty"), None).await;
    assert_eq!(got.status, Some(http::StatusCode::OK));
    assert!(got.body.is_empty());
    let got = request(&p.client, get("/msg-trailers"), None).await;
    assert!(got.body[..] == pattern(100_000)[..]);
    assert_eq!(got.trailers.unwrap().get("x-trailer-test").unwrap(), "ok");
}

#[actix_rt::test]
async fn update_settings_is_applied_and_the_connection_goes_on_6_5() {
    use h2actor::actor::UpdateSettings;
    use h2actor::frame::Setting;
    let p = duplex_pair(server(), client());
    p.client
        .send(UpdateSettings(vec![
            Setting::InitialWindowSize(4096),
            Setting::MaxFrameSize(32_768),
        ]))
        .await
        .unwrap()
        .unwrap();
    // The ACK comes back with the PING's answer at the latest.
    p.client.send(Ping).await.unwrap().unwrap();
    let got = request(&p.client, get("/bytes/200000"), None).await;
    assert_eq!(got.body.len(), 200_000);
}

#[actix_rt::test]
async fn set_subscriber_redirects_connection_notifications() {
    use h2actor::actor::Subscribe;
    let p = duplex_pair(server(), client());
    let (col, mut rx) = Collector::start_new();
    p.client
        .send(Subscribe(Subscriber::all(&col)))
        .await
        .unwrap();
    p.server.do_send(Close {
        code: ErrorCode::NO_ERROR,
    });
    let mut saw_goaway = false;
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        match n {
            Note::GoAway(_) => saw_goaway = true,
            Note::Closed(_) => break,
            _ => {}
        }
    }
    assert!(saw_goaway);
}

#[actix_rt::test]
async fn stream_actor_panic_resets_its_stream_internal_error_not_the_connection() {
    use h2actor::actor::PanicForTest;
    let mut p = duplex_pair(server(), client());
    let (col, _rx) = Collector::start_new();
    let opened = p
        .client
        .send(OpenStream {
            subscriber: Some(Subscriber::all(&col)),
        })
        .await
        .unwrap()
        .unwrap();
    opened
        .send(SendHeaders {
            head: get("/hang"),
            end_stream: false,
        })
        .await
        .unwrap()
        .unwrap();
    opened.do_send(PanicForTest);
    // The stream's id is the one its request arrived on at the server.
    let mut request_id = None;
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), p.server_notes.recv())
            .await
            .unwrap()
            .unwrap();
        if let Note::Headers { id, .. } = n {
            request_id = Some(id);
        }
        if let Note::Reset { id, code, .. } = n {
            assert_eq!(Some(id), request_id);
            assert_eq!(code, ErrorCode::INTERNAL_ERROR);
            break;
        }
    }
    let got = request(&p.client, get("/"), None).await;
    assert_eq!(&got.body[..], b"hello world\n");
}

#[actix_rt::test]
async fn an_opened_stream_dropped_before_its_headers_is_released() {
    let cfg = Config {
        max_concurrent_streams: 1,
        ..Config::default()
    };
    let p = duplex_pair(server().config(cfg), client());
    p.client.send(Ping).await.unwrap().unwrap();
    let first = p.client.send(OpenStream::default()).await.unwrap().unwrap();
    // The slot is taken: the next OpenStream waits...
    let next = p.client.send(OpenStream::default());
    drop(first);
    // ...until the unused stream's last handle is dropped and gives the
    // slot back.
    let second = tokio::time::timeout(Duration::from_secs(5), next)
        .await
        .expect("slot released")
        .unwrap()
        .unwrap();
    drop(second);
    let got = request(&p.client, get("/"), None).await;
    assert_eq!(&got.body[..], b"hello world\n");
    assert_eq!(no_streams_left(&p, 5).await, (0, 0), "stream entries left");
}

#[actix_rt::test]
async fn refused_senddata_without_a_listener_resets_the_stream_5_4_2() {
    // A `do_send(SendData)` that the protocol refuses (here: more bytes than
    // the content-length the request declared, RFC 9113 §8.1.1) has nobody
    // to tell: the stream is reset with INTERNAL_ERROR instead of staying
    // open until the peer gives up. The connection goes on.
    let mut p = duplex_pair(server(), client());
    let opened = p.client.send(OpenStream::default()).await.unwrap().unwrap();
    let head = h2actor::Head::Request(
        http::Request::post("http://localhost/echo")
            .header("content-length", "3")
            .body(())
            .unwrap(),
    );
    opened
        .send(SendHeaders {
            head,
            end_stream: false,
        })
        .await
        .unwrap()
        .unwrap();
    opened.do_send(SendData {
        data: Bytes::from_static(b"far more than three bytes"),
        end_stream: true,
    });
    // The stream's id is the one its request arrived on at the server.
    let mut request_id = None;
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), p.server_notes.recv())
            .await
            .expect("the server saw no RST_STREAM: the stream was left open")
            .unwrap();
        if let Note::Headers { id, .. } = n {
            request_id = Some(id);
        }
        if let Note::Reset { id, code, remote } = n {
            assert_eq!(Some(id), request_id);
            assert_eq!(code, ErrorCode::INTERNAL_ERROR);
            assert!(remote);
            break;
        }
    }
    let got = request(&p.client, get("/"), None).await;
    assert_eq!(&got.body[..], b"hello world\n");
}

#[actix_rt::test]
async fn refused_senddata_with_a_listener_is_an_error_not_a_reset() {
    // The same refusal, awaited: the caller gets the error and decides.
    let p = duplex_pair(server(), client());
    let opened = p.client.send(OpenStream::default()).await.unwrap().unwrap();
    let head = h2actor::Head::Request(
        http::Request::post("http://localhost/echo")
            .header("content-length", "3")
            .body(())
            .unwrap(),
    );
    opened
        .send(SendHeaders {
            head,
            end_stream: false,
        })
        .await
        .unwrap()
        .unwrap();
    let r = opened
        .send(SendData {
            data: Bytes::from_static(b"far more than three bytes"),
            end_stream: true,
        })
        .await
        .unwrap();
    assert!(matches!(r, Err(Error::User(_))), "{r:?}");
    // Still open: a correct body goes through.
    opened
        .send(SendData {
            data: Bytes::from_static(b"abc"),
            end_stream: true,
        })
        .await
        .unwrap()
        .unwrap();
}

/// Opens a stream whose subscriber holds each `RecvData` for `delay`.
async fn open_holding(
    conn: &Addr<Connection>,
    delay: Duration,
) -> (H2Stream, mpsc::UnboundedReceiver<Note>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let h = Collector {
        tx,
        stop_on_headers: false,
        data_delay: None,
        hold_data: Some(delay),
        panic_on_data: false,
    }
    .start();
    let s = conn
        .send(OpenStream {
            subscriber: Some(Subscriber::all(&h)),
        })
        .await
        .unwrap()
        .unwrap();
    (s, rx)
}

#[actix_rt::test]
async fn notes_behind_a_recvdata_in_flight_outlive_the_ended_stream_in_order() {
    // The whole response (7 DATA frames and trailers) arrives while the
    // subscriber still handles the first RecvData: the protocol ends and
    // forgets the stream, its entry leaves the table, and the notes kept
    // back go out from the backlog afterwards, in order, each waiting for
    // the one before (auto-release).
    let p = duplex_pair(server(), client());
    let (s, mut rx) = open_holding(&p.client, Duration::from_millis(40)).await;
    s.send(SendHeaders {
        head: get("/msg-trailers"),
        end_stream: true,
    })
    .await
    .unwrap()
    .unwrap();
    let mut got = Got::default();
    let mut datas = 0;
    while got.trailers.is_none() {
        let note = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("notification in time")
            .expect("collector alive");
        match note {
            Note::Headers { .. } => assert_eq!(datas, 0, "head first"),
            Note::Data { data, .. } => {
                datas += 1;
                got.body.extend_from_slice(&data);
                if datas == 1 {
                    // The rest is kept back: still counted as an entry.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let stats: ConnectionStats = p.client.send(GetStats).await.unwrap();
                    assert_eq!(stats.streams, 1, "{stats:?}");
                }
            }
            Note::Trailers { trailers, .. } => got.trailers = Some(trailers),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(datas > 1, "{datas} RecvData");
    assert_eq!(&got.body[..], &pattern(100_000)[..]);
    assert_eq!(
        got.trailers.as_ref().and_then(|t| t.get("x-trailer-test")),
        Some(&http::HeaderValue::from_static("ok"))
    );
    let stats: ConnectionStats = p.client.send(GetStats).await.unwrap();
    assert_eq!(stats.streams, 0, "{stats:?}");
}

/// Answers every request with a head and 4 bytes, then resets the stream.
struct ResetAfterData;
impl Actor for ResetAfterData {
    type Context = Context<Self>;
}
impl Handler<h2actor::actor::RecvHeaders> for ResetAfterData {
    type Result = ();
    fn handle(&mut self, m: h2actor::actor::RecvHeaders, ctx: &mut Context<Self>) {
        let stream = m.stream;
        stream.do_send(SendHeaders {
            head: h2actor::proto::Head::Response(http::Response::new(())),
            end_stream: false,
        });
        ctx.spawn(actix::fut::wrap_future(async move {
            // Reset only once the DATA is written (a reset drops what is
            // still queued).
            let written = stream
                .send(SendData {
                    data: Bytes::from_static(b"part"),
                    end_stream: false,
                })
                .await;
            assert!(matches!(written, Ok(Ok(()))), "{written:?}");
            stream.do_send(Reset {
                code: ErrorCode::CANCEL,
            });
        }));
    }
}

#[actix_rt::test]
async fn peer_reset_behind_a_recvdata_in_flight_comes_after_it_6_4() {
    // RST_STREAM arrives while the subscriber handles the stream's DATA:
    // the protocol forgets the stream at once, the subscriber hears
    // RecvReset after it handled the RecvData (its terminal notification,
    // in order).
    let (a, b) = tokio::io::duplex(64 << 10);
    let handler = ResetAfterData.start();
    let _server = server().start(a, Subscriber::new(&handler));
    let (col, _notes) = Collector::start_new();
    let client = client().start(b, Subscriber::all(&col));
    let delay = Duration::from_millis(150);
    let (s, mut rx) = open_holding(&client, delay).await;
    s.send(SendHeaders {
        head: get("/"),
        end_stream: true,
    })
    .await
    .unwrap()
    .unwrap();
    let mut seen = Vec::new();
    let mut data_at = None;
    loop {
        let note = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("notification in time")
            .expect("collector alive");
        match note {
            Note::Headers { .. } => seen.push("headers"),
            Note::Data { data, .. } => {
                assert_eq!(&data[..], b"part");
                data_at = Some(tokio::time::Instant::now());
                seen.push("data");
            }
            Note::Reset { code, remote, .. } => {
                assert_eq!((code, remote), (ErrorCode::CANCEL, true));
                let waited = data_at.expect("data first").elapsed();
                assert!(waited >= delay - Duration::from_millis(10), "{waited:?}");
                seen.push("reset");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, ["headers", "data", "reset"]);
    let stats: ConnectionStats = client.send(GetStats).await.unwrap();
    assert_eq!(stats.streams, 0, "{stats:?}");
}
