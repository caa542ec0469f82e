//! The supervised `Client` (one actor per origin) heals itself, and retries
//! only what is safe (RFC 9113 §8.7, §6.8): against a scripted server that
//! counts what it processed, and against the example server killed and
//! restarted mid-run.

mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use h2actor::client::{Client, Fetch, FetchError, GetClientStats};
use h2actor::frame::{
    Data, ErrorCode, Frame, GoAway, Headers, RstStream, Setting, Settings, StreamId,
    MAX_MAX_FRAME_SIZE, PREFACE,
};
use h2actor::hpack::{Decoder, Encoder, FieldRef};

use support::{in_actix, TestServer};

const LIMIT: Duration = Duration::from_secs(30);

// ------------------------------------------------------- a scripted server

/// What the scripted server does with the requests of one connection.
#[derive(Clone, Copy, Debug)]
enum Script {
    /// Answer each: 200, body = the path.
    Answer,
    /// Refuse every second request with RST_STREAM REFUSED_STREAM (not
    /// processed), answer the others.
    RefuseEverySecond,
    /// Wait for `n` requests, process and answer only the first, then
    /// GOAWAY with that one as the last stream id, and close.
    GoAwayAfter(usize),
    /// Process the first request (count it), then drop the connection
    /// without answering.
    DropAfterFirst,
    /// Never answer; count RST_STREAM frames received as "RST <code>".
    Silent,
    /// Like `Silent`, with SETTINGS_MAX_CONCURRENT_STREAMS = 1: a second
    /// request waits inside our connection for a stream slot.
    SilentOneStream,
}

/// A blocking HTTP/2 server on 127.0.0.1 that follows `scripts` (one per
/// connection, the last one repeats) and counts the requests it processed
/// per path.
struct Scripted {
    addr: SocketAddr,
    processed: Arc<Mutex<HashMap<String, usize>>>,
}

impl Scripted {
    fn start(scripts: Vec<Script>) -> Scripted {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let processed = Arc::new(Mutex::new(HashMap::new()));
        let counts = processed.clone();
        std::thread::spawn(move || {
            for (i, conn) in l.incoming().enumerate() {
                let Ok(tcp) = conn else { return };
                let script = scripts[i.min(scripts.len() - 1)];
                let counts = counts.clone();
                std::thread::spawn(move || serve_one(tcp, script, counts));
            }
        });
        Scripted { addr, processed }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn processed(&self) -> HashMap<String, usize> {
        self.processed.lock().unwrap().clone()
    }
}

fn serve_one(mut tcp: TcpStream, script: Script, counts: Arc<Mutex<HashMap<String, usize>>>) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 16 << 10];
    let mut enc = Encoder::default();
    let mut dec = Decoder::default();
    let mut out = BytesMut::new();
    let params = match script {
        Script::SilentOneStream => vec![Setting::MaxConcurrentStreams(1)],
        _ => vec![],
    };
    Frame::Settings(Settings { ack: false, params }).encode(&mut out);
    let mut preface_seen = false;
    let mut seen = 0usize;
    let mut waiting: Vec<(StreamId, String)> = Vec::new();
    loop {
        if !out.is_empty() {
            if tcp.write_all(&out).is_err() {
                return;
            }
            out.clear();
        }
        match tcp.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if !preface_seen {
            if buf.len() < PREFACE.len() {
                continue;
            }
            let _ = buf.split_to(PREFACE.len());
            preface_seen = true;
        }
        while let Ok(Some(f)) = Frame::decode(&mut buf, MAX_MAX_FRAME_SIZE) {
            match f {
                Frame::Settings(s) if !s.ack => Frame::Settings(Settings::ack()).encode(&mut out),
                Frame::Headers(h) => {
                    let mut fields = Vec::new();
                    if dec.decode(&h.block, &mut fields).is_err() {
                        return;
                    }
                    let path = fields
                        .iter()
                        .find(|f| &f.name[..] == b":path")
                        .map(|f| String::from_utf8_lossy(&f.value).into_owned())
                        .unwrap_or_default();
                    seen += 1;
                    let answer =
                        |id: StreamId, path: &str, enc: &mut Encoder, out: &mut BytesMut| {
                            *counts.lock().unwrap().entry(path.to_owned()).or_default() += 1;
                            let mut block = BytesMut::new();
                            enc.encode([FieldRef::new(b":status", b"200")], &mut block);
                            Frame::Headers(Headers {
                                stream_id: id,
                                block: block.freeze(),
                                end_stream: false,
                                end_headers: true,
                                priority: None,
                                pad_len: None,
                            })
                            .encode(out);
                            Frame::Data(Data {
                                stream_id: id,
                                data: Bytes::copy_from_slice(path.as_bytes()),
                                end_stream: true,
                                pad_len: None,
                            })
                            .encode(out);
                        };
                    match script {
                        Script::Answer => answer(h.stream_id, &path, &mut enc, &mut out),
                        Script::RefuseEverySecond if seen % 2 == 0 => Frame::RstStream(RstStream {
                            stream_id: h.stream_id,
                            error_code: ErrorCode::REFUSED_STREAM,
                        })
                        .encode(&mut out),
                        Script::RefuseEverySecond => answer(h.stream_id, &path, &mut enc, &mut out),
                        Script::GoAwayAfter(n) => {
                            waiting.push((h.stream_id, path));
                            if waiting.len() == n {
                                let (first, p) = waiting[0].clone();
                                answer(first, &p, &mut enc, &mut out);
                                Frame::GoAway(GoAway {
                                    last_stream_id: first,
                                    error_code: ErrorCode::NO_ERROR,
                                    debug_data: Bytes::new(),
                                })
                                .encode(&mut out);
                                let _ = tcp.write_all(&out);
                                std::thread::sleep(Duration::from_millis(100));
                                return;
                            }
                        }
                        Script::DropAfterFirst => {
                            *counts.lock().unwrap().entry(path).or_default() += 1;
                            return;
                        }
                        Script::Silent | Script::SilentOneStream => {}
                    }
                }
                Frame::RstStream(r) => {
                    let key = format!("RST {}", r.error_code);
                    *counts.lock().unwrap().entry(key).or_default() += 1;
                }
                _ => {}
            }
        }
    }
}

fn client_for(url: &str) -> Addr<Client> {
    Client::builder(url.parse().expect("origin"))
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .start()
}

// ------------------------------------------------------------------ tests

#[test]
fn a_thousand_requests_over_one_origin_actor_all_answered() {
    let server = TestServer::start();
    let url = server.url("/");
    in_actix(LIMIT, async move {
        let client = client_for(&url);
        let mut tasks = Vec::new();
        for i in 0..1000 {
            let c = client.clone();
            let path = if i % 2 == 0 { "/" } else { "/bytes/1000" };
            tasks.push(async move { (path, c.send(Fetch::get(path)).await) });
        }
        let results = futures::future::join_all(tasks).await;
        for (path, r) in results {
            let resp = r.expect("mailbox").expect("response");
            assert_eq!(resp.head.status, 200, "{path}");
            if path == "/bytes/1000" {
                assert_eq!(resp.body.len(), 1000);
            } else {
                assert_eq!(&resp.body[..], support::site::HELLO);
            }
        }
        let stats = client.send(GetClientStats).await.unwrap();
        assert_eq!(stats.connections, 1, "one connection for one origin");
        assert_eq!(stats.completed, 1000);
        assert_eq!(stats.retries, 0);
    });
}

#[test]
fn a_post_body_and_trailers_come_back_whole() {
    let server = TestServer::start();
    let url = server.url("/");
    in_actix(LIMIT, async move {
        let client = client_for(&url);
        let body = support::test_body(200_000);
        let r = client
            .send(Fetch::post("/echo", body.clone()))
            .await
            .unwrap()
            .expect("echo");
        assert_eq!(r.head.status, 200);
        assert!(
            r.body == body,
            "echoed {} of {} bytes",
            r.body.len(),
            body.len()
        );
        let r = client
            .send(Fetch::get("/trailers"))
            .await
            .unwrap()
            .expect("trailers");
        assert!(r.trailers.is_some(), "trailers delivered: {r:?}");
    });
}

/// The client gives received DATA back to the flow-control windows itself
/// (its connections run with `auto_release(false)`): eight 1 MB downloads
/// at once pass many times both the stream windows and the connection
/// window (RFC 9113 §6.9), so a byte not given back would stall them.
#[test]
fn concurrent_large_downloads_reopen_the_windows() {
    let server = TestServer::start();
    let url = server.url("/");
    in_actix(LIMIT, async move {
        let client = client_for(&url);
        let tasks = (0..8).map(|_| client.send(Fetch::get("/bytes/1000000")));
        for r in futures::future::join_all(tasks).await {
            let r = r.expect("mailbox").expect("response");
            assert_eq!(r.head.status, 200);
            assert_eq!(r.body.len(), 1_000_000);
            assert!(r
                .body
                .iter()
                .enumerate()
                .all(|(i, &b)| b == support::site::pattern_byte(i as u64)));
        }
        // A small body in one DATA frame still comes whole afterwards.
        let r = client.send(Fetch::get("/")).await.unwrap().expect("hello");
        assert_eq!(&r.body[..], support::site::HELLO);
    });
}

#[test]
fn refused_streams_are_sent_again_and_answered_exactly_once() {
    let server = Scripted::start(vec![Script::RefuseEverySecond]);
    let url = server.url("/");
    in_actix(LIMIT, async move {
        let client = Client::builder(url.parse().unwrap())
            .max_attempts(20)
            .start();
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let c = client.clone();
                async move { c.send(Fetch::post(format!("/r{i}"), "x")).await }
            })
            .collect();
        for r in futures::future::join_all(tasks).await {
            let resp = r.unwrap().expect("every request answered");
            assert_eq!(resp.head.status, 200);
        }
        let stats = client.send(GetClientStats).await.unwrap();
        assert!(stats.retries >= 20, "refused ones were retried: {stats:?}");
    });
    let counts = server.processed();
    assert_eq!(counts.len(), 40);
    assert!(
        counts.values().all(|&n| n == 1),
        "processed once each: {counts:?}"
    );
}

#[test]
fn requests_above_goaway_last_stream_id_are_resent_on_a_new_connection() {
    let server = Scripted::start(vec![Script::GoAwayAfter(5), Script::Answer]);
    let url = server.url("/");
    in_actix(LIMIT, async move {
        let client = client_for(&url);
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let c = client.clone();
                // POST: not idempotent, so only the GOAWAY rule may resend.
                async move { c.send(Fetch::post(format!("/g{i}"), "x")).await }
            })
            .collect();
        for r in futures::future::join_all(tasks).await {
            assert_eq!(r.unwrap().expect("answered").head.status, 200);
        }
        let stats = client.send(GetClientStats).await.unwrap();
        assert_eq!(stats.connections, 2, "{stats:?}");
        assert_eq!(stats.retries, 4, "{stats:?}");
    });
    let counts = server.processed();
    assert_eq!(counts.len(), 5, "{counts:?}");
    assert!(
        counts.values().all(|&n| n == 1),
        "processed once each: {counts:?}"
    );
}

#[test]
fn a_processed_post_is_never_sent_twice_but_an_idempotent_get_is_retried() {
    let server = Scripted::start(vec![Script::DropAfterFirst, Script::Answer]);
    let url = server.url("/");
    in_actix(LIMIT, async move {
        let client = client_for(&url);
        let r = client.send(Fetch::post("/pay", "once")).await.unwrap();
        assert!(
            matches!(
                r,
                Err(FetchError::ConnectionLost(_)) | Err(FetchError::Reset(_))
            ),
            "a POST in flight when the connection died is reported: {r:?}"
        );
    });
    assert_eq!(server.processed().get("/pay"), Some(&1), "sent once");

    let server = Scripted::start(vec![Script::DropAfterFirst, Script::Answer]);
    let url = server.url("/");
    in_actix(LIMIT, async move {
        let client = client_for(&url);
        let r = client
            .send(Fetch::get("/page").idempotent(true))
            .await
            .unwrap()
            .expect("retried on a new connection");
        assert_eq!(r.attempts, 2);
        assert_eq!(&r.body[..], b"/page");
    });
    assert_eq!(server.processed().get("/page"), Some(&2));
}

#[test]
fn connection_refused_fails_after_the_attempt_budget() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    in_actix(LIMIT, async move {
        let client = Client::builder(format!("http://127.0.0.1:{port}").parse().unwrap())
            .max_attempts(3)
            .backoff(Duration::from_millis(10), Duration::from_millis(50))
            .start();
        let r = client.send(Fetch::get("/")).await.unwrap();
        assert!(matches!(r, Err(FetchError::Connect { .. })), "{r:?}");
    });
}

#[test]
fn a_request_that_takes_too_long_times_out_and_its_stream_is_cancelled() {
    let server = Scripted::start(vec![Script::Silent]);
    let url = server.url("/");
    in_actix(LIMIT, async move {
        let client = client_for(&url);
        let r = client
            .send(Fetch::get("/never").timeout(Duration::from_millis(200)))
            .await
            .unwrap();
        assert!(matches!(r, Err(FetchError::Timeout(_))), "{r:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    });
    let counts = server.processed();
    assert_eq!(
        counts.get("RST CANCEL"),
        Some(&1),
        "stream cancelled: {counts:?}"
    );
}

/// A request still waiting for a stream slot (the server allows one stream
/// at a time, RFC 9113 §5.1.2) times out on time too: its deadline runs
/// from the `Fetch`, not from when the connection gets to it.
#[test]
fn a_request_waiting_for_a_stream_slot_times_out_on_time() {
    let server = Scripted::start(vec![Script::SilentOneStream]);
    let url = server.url("/");
    in_actix(LIMIT, async move {
        let client = client_for(&url);
        // The first holds the one slot for 1.5 s; the second, sent once
        // the first has it, has 300 ms and spends them waiting for it.
        let first = client.send(Fetch::get("/a").timeout(Duration::from_millis(1500)));
        let second = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let start = std::time::Instant::now();
            let r = client
                .send(Fetch::get("/b").timeout(Duration::from_millis(300)))
                .await;
            (r, start.elapsed())
        };
        let (a, (b, took)) = futures::join!(first, second);
        assert!(matches!(b, Ok(Err(FetchError::Timeout(_)))), "{b:?}");
        assert!(took < Duration::from_secs(1), "took {took:?}");
        assert!(matches!(a, Ok(Err(FetchError::Timeout(_)))), "{a:?}");
    });
}

// ------------------------------------- the example server killed mid-run

fn spawn_server(addr: SocketAddr) -> Child {
    let child = Command::new(support::example_path("server"))
        .args(["--addr", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run target/release/examples/server (the README's test command builds it first)");
    let mut child = child;
    for _ in 0..200 {
        if TcpStream::connect(addr).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the example server did not start on {addr}");
}

#[test]
fn the_server_killed_and_restarted_mid_run_every_request_succeeds() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = spawn_server(addr);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let killer = std::thread::spawn(move || {
        // Kill after the first batch, restart 300 ms later.
        let _ = rx.recv();
        let _ = server.kill();
        let _ = server.wait();
        std::thread::sleep(Duration::from_millis(300));
        spawn_server(addr)
    });
    in_actix(LIMIT, async move {
        let client = Client::builder(format!("http://{addr}").parse().unwrap())
            .max_attempts(10)
            .backoff(Duration::from_millis(50), Duration::from_millis(400))
            .start();
        for i in 0..20 {
            let r = client.send(Fetch::get("/").idempotent(true)).await.unwrap();
            assert_eq!(r.expect("answered").head.status, 200, "request {i}");
        }
        let _ = tx.send(());
        // Requests sent during the gap succeed once the server is back.
        std::thread::sleep(Duration::from_millis(50));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let c = client.clone();
                async move { c.send(Fetch::get("/").idempotent(true)).await }
            })
            .collect();
        for r in futures::future::join_all(tasks).await {
            assert_eq!(
                r.unwrap().expect("answered after the restart").head.status,
                200
            );
        }
        let stats = client.send(GetClientStats).await.unwrap();
        assert!(stats.connections >= 2, "reconnected: {stats:?}");
    });
    let mut restarted = killer.join().expect("killer thread");
    let _ = restarted.kill();
    let _ = restarted.wait();
}

// ------------------------------------------------ the one-call helper

#[test]
fn one_call_request_works_inside_actix_from_tokio_and_without_a_runtime() {
    let server = TestServer::start();
    let url = server.url("/bytes/10");
    let u = url.clone();
    in_actix(LIMIT, async move {
        let r = h2actor::request(Fetch::get(&u))
            .await
            .expect("inside actix");
        assert_eq!(r.body.len(), 10);
    });
    let u = url.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt
        .block_on(async move { h2actor::request(Fetch::get(&u)).await })
        .expect("from a plain tokio runtime");
    assert_eq!(r.head.status, 200);
    let r = futures::executor::block_on(h2actor::request(Fetch::post(server.url("/echo"), "ping")))
        .expect("without any runtime");
    assert_eq!(&r.body[..], b"ping");
    let bad = futures::executor::block_on(h2actor::request(Fetch::get("/relative")));
    assert!(matches!(bad, Err(FetchError::BadRequest(_))), "{bad:?}");
}

#[test]
fn a_server_that_stops_answering_pings_is_detected_and_replaced() {
    // The scripted server never answers PING: with a short keepalive the
    // connection is declared dead after its first exchange, and the next
    // request goes on a new connection.
    let server = Scripted::start(vec![Script::Answer]);
    let url = server.url("/");
    in_actix(LIMIT, async move {
        let timeouts = h2actor::Timeouts {
            keepalive: Some(h2actor::Keepalive {
                interval: Duration::from_millis(150),
                timeout: Duration::from_millis(150),
            }),
            ..h2actor::Timeouts::default()
        };
        let client = Client::builder(url.parse().unwrap())
            .connection(h2actor::Connection::builder(h2actor::Role::Client).config(
                h2actor::Config {
                    timeouts,
                    ..h2actor::Config::default()
                },
            ))
            .ping_interval(None)
            .start();
        let r = client
            .send(Fetch::get("/one"))
            .await
            .unwrap()
            .expect("first");
        assert_eq!(&r.body[..], b"/one");
        tokio::time::sleep(Duration::from_millis(800)).await;
        let r = client
            .send(Fetch::get("/two"))
            .await
            .unwrap()
            .expect("second");
        assert_eq!(&r.body[..], b"/two");
        let stats = client.send(GetClientStats).await.unwrap();
        assert_eq!(
            stats.connections, 2,
            "the dead connection was replaced: {stats:?}"
        );
    });
}
