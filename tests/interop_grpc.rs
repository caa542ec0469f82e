//! gRPC both ways against Python's `grpcio` (gRPC C-core: an HTTP/2 stack
//! of its own), raw bytes for messages (identity serializers, no protobuf):
//!
//! - grpcio clients (`tests/peers/grpc_client.py`) call the example server
//!   binary `target/release/examples/grpc`, as a user runs it: a unary
//!   echo, 1,000 concurrent calls, a 4 MiB message (and one over the
//!   limit), the server-streaming `Count` with N = 1,000, a deadline that
//!   expires, a streaming call cancelled after 5 of 1,000,000 messages,
//!   an unknown method and a compressed message;
//! - our `Client`, and a `Fetch` sent to a `Connection`, call a grpcio
//!   server (`tests/peers/grpc_server.py`): POST with `content-type:
//!   application/grpc`, `te: trailers` and a framed body; the framed answer
//!   and `grpc-status` in the trailers (or, for an unknown method, in the
//!   head of a trailers-only response).

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use h2actor::client::{Client, Fetch, Response};
use support::harness::{self, Need, Need::Check, Need::Python};
use support::{ChildGuard, TempDir};

const LIMIT: Duration = Duration::from_secs(120);

// ------------------------------------------------------------ our server

/// The example gRPC server binary (built by the README's test command).
fn grpc_binary() -> PathBuf {
    support::example_path(&format!("grpc{}", std::env::consts::EXE_SUFFIX))
}

fn grpc_binary_built() -> Result<(), String> {
    support::example_built("grpc")
}

const GRPC_BIN: Need = Check("the example gRPC server binary", grpc_binary_built);

/// The example server on a port of its choosing, its log (stderr) in a file.
struct Server {
    _child: ChildGuard,
    addr: SocketAddr,
    dir: TempDir,
}

impl Server {
    fn start() -> Self {
        let dir = TempDir::new("grpc");
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let mut child = ChildGuard(
            Command::new(grpc_binary())
                .args(["--addr", "127.0.0.1:0"])
                .env("RUST_LOG", "info")
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(log)
                .spawn()
                .expect("start the example gRPC server"),
        );
        // Its first line: "listening on 127.0.0.1:PORT (h2c, prior knowledge)".
        let line = support::first_line(&mut child, Duration::from_secs(10))
            .expect("the gRPC server printed no address within 10 s");
        let addr = line
            .split_whitespace()
            .nth(2)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("the gRPC server printed {line:?}, not its address"));
        Server {
            _child: child,
            addr,
            dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Waits (at most 5 s) for a log line that has every one of `words`.
    fn wait_for_log(&self, words: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log();
            if let Some(line) = log.lines().find(|l| words.iter().all(|w| l.contains(w))) {
                return line.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {words:?} within 5 s; the log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs one case of `tests/peers/grpc_client.py` against `server`; returns
/// its `ok ...` line.
fn grpcio_client(server: &Server, case: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/grpc_client.py");
    let out = support::run(
        Command::new("python3")
            .arg(script)
            .arg(server.addr.to_string())
            .arg(case),
        LIMIT,
    );
    let stdout = out.stdout_str();
    assert!(
        out.status.success(),
        "grpcio case {case} failed: {stdout}\n{}\nthe server's log:\n{}",
        out.stderr,
        server.log()
    );
    println!("{}", stdout.trim());
    stdout
}

fn grpcio_unary_echo() {
    grpcio_client(&Server::start(), "unary");
}

fn grpcio_1000_concurrent_calls_all_echoed() {
    grpcio_client(&Server::start(), "concurrent");
}

/// Exactly 4 MiB goes through; 5 MiB gets RESOURCE_EXHAUSTED, decided on
/// the length prefix.
fn grpcio_4_mib_message_round_trip_and_the_limit() {
    let server = Server::start();
    grpcio_client(&server, "big");
    server.wait_for_log(&["call failed", "code=8", "5242880 bytes"]);
}

fn grpcio_server_streaming_count_1000() {
    grpcio_client(&Server::start(), "count");
}

/// `Sleep` 3 s under a 0.2 s deadline: the client sees DEADLINE_EXCEEDED
/// and the server drops the call, whether grpcio's RST_STREAM CANCEL or
/// our `grpc-timeout` timer came first; its answer is never sent.
fn grpcio_deadline_expires_and_the_server_drops_the_call() {
    let server = Server::start();
    grpcio_client(&server, "deadline");
    let line = server.wait_for_log(&["/echo.Echo/Sleep", "its state is dropped"]);
    println!("server: {line}");
    assert!(
        line.contains("CANCEL") || line.contains("code=4"),
        "neither the client's CANCEL nor our deadline: {line}"
    );
}

/// `Count` N = 1,000,000, cancelled after 5 messages: the server hears
/// RST_STREAM CANCEL, stops its sender, and stays healthy (the same channel
/// makes another call). What it sent before is bounded by the windows.
fn grpcio_cancelled_stream_stops_the_server() {
    let server = Server::start();
    grpcio_client(&server, "cancel");
    let line = server.wait_for_log(&["call cancelled", "/echo.Echo/Count"]);
    let sent: u64 = line
        .split("sent=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no sent=N in {line:?}"));
    println!("server: {line}");
    // A message of up to 7 digits is 12 bytes framed: whatever the windows
    // held, far from the million.
    assert!(sent < 500_000, "the server sent {sent} messages");
    // And it sends nothing more: no other Count line, no crash.
    std::thread::sleep(Duration::from_millis(300));
    let log = server.log();
    assert_eq!(log.matches("/echo.Echo/Count").count(), 1, "{log}");
}

fn grpcio_unknown_method_and_compressed_message_refused() {
    let server = Server::start();
    grpcio_client(&server, "errors");
    server.wait_for_log(&["unknown method", "/echo.Echo/Nope"]);
}

/// Our own deadline timer, without a client that gives up first: a
/// `Fetch` to a `Connection` with `grpc-timeout: 100m` calls `Sleep` for
/// 5 s and gets grpc-status 4 from the server, in a trailers-only response.
fn our_fetch_gets_deadline_exceeded_from_our_server() {
    let server = Server::start();
    let addr = server.addr;
    let (r, took) = support::in_actix(LIMIT, async move {
        let conn = connect(addr).await;
        let mut fetch = grpc_fetch(addr, "/echo.Echo/Sleep", b"5000");
        fetch
            .request
            .headers_mut()
            .insert("grpc-timeout", http::HeaderValue::from_static("100m"));
        let start = Instant::now();
        let r = conn.send(fetch).await.expect("mailbox").expect("Sleep");
        (r, start.elapsed())
    });
    assert_eq!(grpc_status(&r).as_deref(), Some("4"), "{r:?}");
    assert!(took < Duration::from_secs(2), "the deadline took {took:?}");
    server.wait_for_log(&["call failed", "code=4", "/echo.Echo/Sleep"]);
    println!("DEADLINE_EXCEEDED from our server after {took:?}");
}

/// What grpcio never sends, sent with a `Fetch` to a `Connection`: two
/// messages in one unary request, a request cut inside a message, a flag
/// that is neither 0 nor 1, a malformed `grpc-timeout`, and the units of a
/// good one (`100000u` expires, `2H` does not).
fn our_fetch_malformed_calls_get_grpc_statuses() {
    let server = Server::start();
    let addr = server.addr;
    support::in_actix(LIMIT, async move {
        let conn = connect(addr).await;
        let call = |body: Bytes, timeout: Option<&'static str>, path: &str| {
            let mut fetch = grpc_fetch(addr, path, b"");
            *fetch.request.body_mut() = body;
            if let Some(t) = timeout {
                fetch
                    .request
                    .headers_mut()
                    .insert("grpc-timeout", http::HeaderValue::from_static(t));
            }
            let conn = conn.clone();
            async move { conn.send(fetch).await.expect("mailbox").expect("an answer") }
        };
        let message = |r: &Response| {
            let from =
                |h: &http::HeaderMap| h.get("grpc-message")?.to_str().ok().map(str::to_owned);
            r.trailers
                .as_ref()
                .and_then(from)
                .or_else(|| from(&r.head.headers))
                .unwrap_or_default()
        };
        let unary = "/echo.Echo/Unary";

        let mut two = BytesMut::from(&frame(b"one")[..]);
        two.extend_from_slice(&frame(b"two"));
        let r = call(two.freeze(), None, unary).await;
        assert_eq!(grpc_status(&r).as_deref(), Some("13"), "{r:?}");
        assert!(message(&r).contains("exactly one request message"), "{r:?}");

        let cut = frame(b"cut short").slice(..8);
        let r = call(cut, None, unary).await;
        assert_eq!(grpc_status(&r).as_deref(), Some("13"), "{r:?}");
        assert!(message(&r).contains("inside a message"), "{r:?}");

        let mut flag2 = BytesMut::from(&frame(b"x")[..]);
        flag2[0] = 2;
        let r = call(flag2.freeze(), None, unary).await;
        assert_eq!(grpc_status(&r).as_deref(), Some("13"), "{r:?}");

        let r = call(frame(b"x"), Some("5x"), unary).await;
        assert_eq!(grpc_status(&r).as_deref(), Some("13"), "{r:?}");
        assert!(message(&r).contains("grpc-timeout"), "{r:?}");

        let start = Instant::now();
        let r = call(frame(b"3000"), Some("100000u"), "/echo.Echo/Sleep").await;
        assert_eq!(grpc_status(&r).as_deref(), Some("4"), "{r:?}");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );

        let r = call(frame(b"10"), Some("2H"), "/echo.Echo/Sleep").await;
        assert_echo(&r, b"10");
        // An empty message is a message.
        let r = call(frame(b""), None, unary).await;
        assert_echo(&r, b"");
    });
}

// ------------------------------------------------------------ our client

/// A message framed for `application/grpc`: flag 0, length, bytes.
fn frame(message: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + message.len());
    b.put_u8(0);
    b.put_u32(message.len() as u32);
    b.put_slice(message);
    b.freeze()
}

/// The messages of a framed body; fails the test on a malformed one.
fn unframe(mut body: &[u8]) -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    while !body.is_empty() {
        assert!(body.len() >= 5, "a truncated message prefix: {body:?}");
        assert_eq!(body[0], 0, "a compressed message");
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        assert!(body.len() >= 5 + len, "a truncated message");
        messages.push(body[5..5 + len].to_vec());
        body = &body[5 + len..];
    }
    messages
}

/// A gRPC call as a `Fetch`: POST, `content-type: application/grpc`,
/// `te: trailers`, the framed message.
fn grpc_fetch(addr: SocketAddr, path: &str, message: &[u8]) -> Fetch {
    let mut request = http::Request::new(frame(message));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = format!("http://{addr}{path}").parse().expect("uri");
    let h = request.headers_mut();
    h.insert(
        "content-type",
        http::HeaderValue::from_static("application/grpc"),
    );
    h.insert("te", http::HeaderValue::from_static("trailers"));
    Fetch::new(request).timeout(Duration::from_secs(30))
}

/// `grpc-status` from the trailers, or from the head of a trailers-only
/// response.
fn grpc_status(r: &Response) -> Option<String> {
    let from = |h: &http::HeaderMap| h.get("grpc-status")?.to_str().ok().map(str::to_owned);
    r.trailers
        .as_ref()
        .and_then(from)
        .or_else(|| from(&r.head.headers))
}

/// Checks a successful unary answer carrying `want`.
fn assert_echo(r: &Response, want: &[u8]) {
    assert_eq!(r.head.status, http::StatusCode::OK);
    assert_eq!(r.head.headers["content-type"], "application/grpc");
    let trailers = r.trailers.as_ref().expect("trailers with grpc-status");
    assert_eq!(trailers["grpc-status"], "0", "{trailers:?}");
    assert_eq!(unframe(&r.body), vec![want.to_vec()]);
}

async fn connect(addr: SocketAddr) -> actix::Addr<h2actor::Connection> {
    support::client_connection(addr).await
}

/// `tests/peers/grpc_server.py` on a port of its choosing.
fn grpcio_server() -> (ChildGuard, SocketAddr) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/grpc_server.py");
    let (guard, port) =
        support::spawn_reporting_port(Command::new("python3").arg(script), Duration::from_secs(20));
    (guard, ([127, 0, 0, 1], port).into())
}

/// Our `Client` (default settings) calls grpcio: a unary echo, 1,000
/// concurrent calls, a 1 MiB message, `Count` 1,000 (a framed stream of
/// messages) and an unknown method (grpc-status 12).
fn our_client_calls_a_grpcio_server() {
    let (_server, addr) = grpcio_server();
    support::in_actix(LIMIT, async move {
        let client = Client::builder(format!("http://{addr}").parse().expect("origin")).start();
        let r = client
            .send(grpc_fetch(addr, "/echo.Echo/Unary", b"hello grpcio"))
            .await
            .expect("mailbox")
            .expect("Unary");
        assert_echo(&r, b"hello grpcio");

        let start = Instant::now();
        let calls = (0..1000).map(|i| {
            let message = format!("call {i}").into_bytes();
            let fetch = grpc_fetch(addr, "/echo.Echo/Unary", &message);
            let client = client.clone();
            async move { (message, client.send(fetch).await) }
        });
        for (message, r) in futures::future::join_all(calls).await {
            assert_echo(&r.expect("mailbox").expect("Unary"), &message);
        }
        println!("1000 concurrent calls in {:?}", start.elapsed());

        let big: Vec<u8> = support::test_body(1 << 20);
        let r = client
            .send(grpc_fetch(addr, "/echo.Echo/Unary", &big))
            .await
            .expect("mailbox")
            .expect("1 MiB");
        assert_echo(&r, &big);

        let r = client
            .send(grpc_fetch(addr, "/echo.Echo/Count", b"1000"))
            .await
            .expect("mailbox")
            .expect("Count");
        assert_eq!(grpc_status(&r).as_deref(), Some("0"));
        let messages = unframe(&r.body);
        let want: Vec<Vec<u8>> = (1..=1000).map(|i| i.to_string().into_bytes()).collect();
        assert_eq!(messages, want);

        let r = client
            .send(grpc_fetch(addr, "/echo.Echo/Nope", b"x"))
            .await
            .expect("mailbox")
            .expect("an answer");
        assert_eq!(r.head.status, http::StatusCode::OK);
        assert_eq!(grpc_status(&r).as_deref(), Some("12"), "{r:?}");
    });
}

/// A `Fetch` sent straight to a `Connection` calls grpcio: a unary echo and
/// an unknown method.
fn connection_fetch_calls_a_grpcio_server() {
    let (_server, addr) = grpcio_server();
    support::in_actix(LIMIT, async move {
        let conn = connect(addr).await;
        let r = conn
            .send(grpc_fetch(addr, "/echo.Echo/Unary", b"over one connection"))
            .await
            .expect("mailbox")
            .expect("Unary");
        assert_echo(&r, b"over one connection");
        let r = conn
            .send(grpc_fetch(addr, "/echo.Echo/Nope", b""))
            .await
            .expect("mailbox")
            .expect("an answer");
        assert_eq!(grpc_status(&r).as_deref(), Some("12"), "{r:?}");
    });
}

fn main() {
    harness::main(harness::tests![
        grpcio_unary_echo: [Python("grpc"), GRPC_BIN],
        grpcio_1000_concurrent_calls_all_echoed: [Python("grpc"), GRPC_BIN],
        grpcio_4_mib_message_round_trip_and_the_limit: [Python("grpc"), GRPC_BIN],
        grpcio_server_streaming_count_1000: [Python("grpc"), GRPC_BIN],
        grpcio_deadline_expires_and_the_server_drops_the_call: [Python("grpc"), GRPC_BIN],
        grpcio_cancelled_stream_stops_the_server: [Python("grpc"), GRPC_BIN],
        grpcio_unknown_method_and_compressed_message_refused: [Python("grpc"), GRPC_BIN],
        our_fetch_gets_deadline_exceeded_from_our_server: [GRPC_BIN],
        our_fetch_malformed_calls_get_grpc_statuses: [GRPC_BIN],
        our_client_calls_a_grpcio_server: [Python("grpc")],
        connection_fetch_calls_a_grpcio_server: [Python("grpc")],
    ]);
}
