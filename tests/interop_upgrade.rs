//! The HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2; RFC 9113 §3.1 deprecates it,
//! §3 keeps prior knowledge) on the test server's plain port, against real
//! peers: curl 7.88 (`--http2` on an `http://` URL upgrades), `nghttp -u`,
//! our client's upgrade against our server and against a server built on
//! Python `h2`'s upgrade support (nghttpd has none: our client reports its
//! answer as a clear error). Plus what a plain port does with everything
//! else: plain HTTP/1.1 gets the documented 505, bytes that are not HTTP/1.x
//! an HTTP/2 GOAWAY(PROTOCOL_ERROR) and a close (an invalid preface, RFC 9113
//! §3.4), oversized heads a 431, and a silent client is cut by the deadline.
//! curl and nghttp meet the example server binary, as the README runs it;
//! the rest the tests' server (`support/site.rs`).

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use http::{Method, StatusCode, Uri};
use support::client::{Exchange, Job, Options};
use support::harness::{self, Need::Program, Need::Python};
use support::{
    curl_body_and_meta, fetch, python_h2c_upgrade_server, run, site, tool, TempDir, TestServer,
};

/// The tests of the README's promise run the example server binary.
const EXAMPLE_SERVER: harness::Need =
    harness::Need::Check("the example server binary", support::example_server_built);

const LIMIT: Duration = Duration::from_secs(30);

fn uri(addr: SocketAddr, path: &str) -> Uri {
    format!("http://{addr}{path}").parse().expect("uri")
}

/// Runs `curl --http2` (upgrade, no prior knowledge) and splits its output
/// into (body, "STATUS HTTP_VERSION").
fn curl(args: &[&str]) -> (Vec<u8>, String) {
    let mut cmd = Command::new(tool("curl"));
    cmd.args(["--max-time", "20"]).args(args);
    curl_body_and_meta(&mut cmd, LIMIT)
}

fn curl_upgrade_get() {
    let server = support::ExampleServer::start(&[]);
    let (body, meta) = curl(&["--http2", &server.url("/")]);
    assert_eq!(meta, "200 2", "upgraded to HTTP/2");
    assert_eq!(body, site::HELLO);
    // A response larger than curl 7.88's 32 KiB upgrade buffer: the server
    // answers stream 1 only after the client's preface (else curl fails
    // with "connection buffer size is too small").
    let (body, meta) = curl(&["--http2", &server.url("/bytes/1000000")]);
    assert_eq!(meta, "200 2");
    assert_eq!(body.len(), 1_000_000);
    assert!(body
        .iter()
        .enumerate()
        .all(|(i, &b)| b == site::pattern_byte(i as u64)));
    // HEAD over the upgrade: GET's header fields, no content.
    let out = run(
        Command::new(tool("curl"))
            .args(["-sS", "--http2", "--max-time", "20", "-I"])
            .arg(server.url("/bytes/100")),
        LIMIT,
    );
    let head = out.stdout_str().to_ascii_lowercase();
    assert!(head.contains("http/1.1 101"), "{head}");
    assert!(head.contains("http/2 200"), "{head}");
    assert!(head.contains("content-length: 100\r\n"), "{head}");
}

/// The library's `Listener` (`--threads 2`) sniffs too.
fn curl_upgrade_through_the_listener() {
    let server = TestServer::start_threads(2);
    for _ in 0..4 {
        let (body, meta) = curl(&["--http2", &server.url("/")]);
        assert_eq!(meta, "200 2");
        assert_eq!(body, site::HELLO);
    }
    let (_, meta) = curl(&["--http1.1", &server.url("/")]);
    assert_eq!(meta, "505 1.1");
}

/// curl 7.88 sends a POST body inside the upgrade request (RFC 7540 §3.2:
/// read in full before the switch); the server hands it to `/echo` as the
/// body of stream 1.
fn curl_upgrade_post_echo() {
    let server = support::ExampleServer::start(&[]);
    let dir = TempDir::new("curl-upgrade");
    for len in [13, 60_000] {
        let data = support::test_body(len);
        let file = dir.write("post.bin", &data);
        let arg = format!("@{}", file.display());
        let (body, meta) = curl(&["--http2", "--data-binary", &arg, &server.url("/echo")]);
        assert_eq!(meta, "200 2", "{len} bytes");
        assert!(body == data, "echoed {} bytes of {len}", body.len());
    }
    // Above the 64 KiB limit: 413 over HTTP/1.1, no upgrade.
    let data = support::test_body(70_000);
    let file = dir.write("big.bin", &data);
    let arg = format!("@{}", file.display());
    let (_, meta) = curl(&["--http2", "--data-binary", &arg, &server.url("/echo")]);
    assert_eq!(meta, "413 1.1");
}

/// Plain HTTP/1.1 gets the documented 505 with the explanation.
fn curl_http11_gets_505() {
    let server = support::ExampleServer::start(&[]);
    let (body, meta) = curl(&["--http1.1", &server.url("/")]);
    assert_eq!(meta, "505 1.1");
    assert_eq!(body, h2actor::transport::upgrade::NOT_HTTP2_TEXT.as_bytes());
    // Prior knowledge still works on the same port.
    let (body, meta) = curl(&["--http2-prior-knowledge", &server.url("/")]);
    assert_eq!(meta, "200 2");
    assert_eq!(body, site::HELLO);
}

fn nghttp(args: &[&str]) -> support::Output {
    let out = run(
        Command::new(tool("nghttp")).args(["-t", "20"]).args(args),
        LIMIT,
    );
    assert!(
        out.status.success(),
        "nghttp {args:?} failed ({}):\n{}\n{}",
        out.status,
        out.stdout_str(),
        out.stderr
    );
    out
}

fn nghttp_upgrade_get_and_post() {
    let server = support::ExampleServer::start(&[]);
    let out = nghttp(&["-u", &server.url("/")]);
    assert_eq!(out.stdout, site::HELLO);
    let out = nghttp(&["-u", "-v", &server.url("/"), &server.url("/bytes/26")]);
    let log = out.stdout_str();
    assert!(log.contains("HTTP Upgrade success"), "{log}");
    assert!(log.contains("hello world\n"), "{log}");
    assert!(log.contains("abcdefghijklmnopqrstuvwxyz"), "{log}");
    let dir = TempDir::new("nghttp-upgrade");
    let data = support::test_body(50_000);
    let file = dir.write("post.bin", &data);
    let out = nghttp(&[
        "-u",
        "-d",
        file.to_str().expect("utf-8 path"),
        &server.url("/echo"),
    ]);
    assert!(
        out.stdout == data,
        "echoed {} bytes of {}",
        out.stdout.len(),
        data.len()
    );
}

fn ok(ex: &Exchange, id: u32) {
    assert!(ex.error.is_none(), "stream {}: {:?}", ex.id, ex.error);
    assert_eq!(
        ex.status,
        Some(StatusCode::OK),
        "stream {} {}",
        ex.id,
        ex.path
    );
    assert_eq!(ex.id.0, id, "{}", ex.path);
}

fn upgrade() -> Options {
    Options {
        upgrade: true,
        ..Options::default()
    }
}

fn our_client_upgrade_against_our_server() {
    let server = TestServer::start();
    let a = server.addr;
    let got = fetch(
        a,
        vec![
            Job::get(uri(a, "/")),
            Job::get(uri(a, "/bytes/100000")),
            Job::get(uri(a, "/trailers")),
        ],
        upgrade(),
        LIMIT,
    );
    assert_eq!(got.len(), 3);
    ok(&got[0], 1);
    assert_eq!(&got[0].body[..], site::HELLO);
    ok(&got[1], 3);
    assert_eq!(got[1].body.len(), 100_000);
    ok(&got[2], 5);
    assert_eq!(&got[2].body[..], site::TRAILERS_BODY);
    assert!(got[2].trailers.is_some());
    // HEAD as the upgrade request: no content on stream 1.
    let head = Job {
        method: Method::HEAD,
        uri: uri(a, "/bytes/100"),
        body: None,
    };
    let got = fetch(a, vec![head], upgrade(), LIMIT);
    ok(&got[0], 1);
    assert!(got[0].body.is_empty());
    assert_eq!(got[0].headers["content-length"], "100");
}

/// Python `h2` (`initiate_upgrade_connection`) as the upgraded server.
fn our_client_upgrade_against_python_h2() {
    let (_guard, port) = python_h2c_upgrade_server();
    let a: SocketAddr = ([127, 0, 0, 1], port).into();
    let got = fetch(
        a,
        vec![Job::get(uri(a, "/first")), Job::get(uri(a, "/second"))],
        upgrade(),
        LIMIT,
    );
    ok(&got[0], 1);
    assert_eq!(&got[0].body[..], b"python h2: GET /first on stream 1\n");
    ok(&got[1], 3);
    assert_eq!(&got[1].body[..], b"python h2: GET /second on stream 3\n");
}

/// nghttpd speaks prior knowledge only: it answers the upgrade request with
/// HTTP/2 frames. Our client says so and ends, it does not hang.
fn our_client_upgrade_against_nghttpd_fails_clearly() {
    let dir = TempDir::new("nghttpd-upgrade");
    dir.write("index.html", site::HELLO);
    let (_server, a) = support::nghttpd(&dir, None, &[]);
    let t = Instant::now();
    let got = fetch(a, vec![Job::get(uri(a, "/"))], upgrade(), LIMIT);
    let err = got[0].error.as_deref().unwrap_or("");
    assert!(err.starts_with("h2c upgrade:"), "{got:?}");
    assert!(t.elapsed() < Duration::from_secs(5));
    // The same nghttpd with prior knowledge is fine.
    let got = fetch(a, vec![Job::get(uri(a, "/"))], Options::default(), LIMIT);
    ok(&got[0], 1);
}

/// Writes `bytes` on a new connection and reads until the server closes
/// (within `limit`); returns what came back and how long it took.
fn exchange_raw(addr: SocketAddr, bytes: &[u8], limit: Duration) -> (String, Duration) {
    let (got, took) = exchange_raw_bytes(addr, bytes, limit);
    (String::from_utf8_lossy(&got).into_owned(), took)
}

/// As `exchange_raw`, the answer as bytes.
fn exchange_raw_bytes(addr: SocketAddr, bytes: &[u8], limit: Duration) -> (Vec<u8>, Duration) {
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(limit)).expect("timeout");
    s.write_all(bytes).expect("write");
    let mut got = Vec::new();
    let r = s.read_to_end(&mut got);
    assert!(
        r.is_ok(),
        "the server did not close within {limit:?}: {r:?}"
    );
    (got, t.elapsed())
}

/// RFC 9113 §3.4: bytes that are neither HTTP/1.x nor the preface are an
/// invalid preface: the server's SETTINGS, a GOAWAY(PROTOCOL_ERROR), and
/// the close; no HTTP/1.1 answer (an HTTP/2 peer would read it as a frame).
fn not_http1_is_answered_goaway_protocol_error_and_closed() {
    use h2actor::frame::{ErrorCode, Frame, MAX_MAX_FRAME_SIZE};
    let server = TestServer::start();
    for input in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage"[..], // a TLS ClientHello
        &[0u8; 64],
        b"INVALID CONNECTION PREFACE\r\n\r\n", // h2spec 3.5 #2
    ] {
        let (got, took) = exchange_raw_bytes(server.addr, input, Duration::from_secs(3));
        assert!(took < Duration::from_secs(2), "{took:?}");
        let mut buf = bytes::BytesMut::from(&got[..]);
        let mut frames = Vec::new();
        while let Ok(Some(f)) = Frame::decode(&mut buf, MAX_MAX_FRAME_SIZE) {
            frames.push(f);
        }
        assert!(buf.is_empty(), "{input:?}: not frames: {got:?}");
        assert!(
            matches!(&frames[..], [Frame::Settings(_), .., Frame::GoAway(g)] if g.error_code == ErrorCode::PROTOCOL_ERROR),
            "{input:?}: {frames:?}"
        );
    }
}

fn oversized_heads_get_431_quickly() {
    let server = TestServer::start();
    let many: String = (0..200).map(|i| format!("X-{i}: v\r\n")).collect();
    let req = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    let (got, took) = exchange_raw(server.addr, req.as_bytes(), Duration::from_secs(3));
    assert!(
        got.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{got:?}"
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    // One endless line: cut at 16 KiB, not read forever.
    let req = format!("GET /{} HTTP/1.1\r\n", "a".repeat(100_000));
    let (got, took) = exchange_raw(server.addr, req.as_bytes(), Duration::from_secs(3));
    assert!(got.starts_with("HTTP/1.1 431 "), "{got:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// A client that connects and says nothing is closed at the deadline
/// (`H2cLimits::timeout`, 300 ms here), without an answer.
fn silent_client_is_cut_by_the_deadline() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (result_tx, result_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let system = actix::System::new();
        system.block_on(async move {
            let listener = site::bind(([127, 0, 0, 1], 0).into()).expect("bind");
            let _ = tx.send((
                listener.local_addr().expect("addr"),
                actix::System::current(),
            ));
            actix::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    let result_tx = result_tx.clone();
                    actix::spawn(async move {
                        let limits = h2actor::transport::H2cLimits {
                            handshake_timeout: Duration::from_millis(300),
                            ..Default::default()
                        };
                        let r = site::builder()
                            .accept_h2c(tcp, &limits, site::Site::subscriber)
                            .await;
                        let _ = result_tx.send(format!("{:?}", r.err()));
                    });
                }
            });
        });
        let _ = system.run();
    });
    let (addr, system) = rx.recv_timeout(Duration::from_secs(10)).expect("server");
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let mut got = Vec::new();
    let r = s.read_to_end(&mut got);
    let took = t.elapsed();
    system.stop();
    let _ = thread.join();
    assert!(r.is_ok(), "not closed: {r:?}");
    assert!(got.is_empty(), "{got:?}");
    let result = result_rx.recv_timeout(Duration::from_secs(1));
    assert_eq!(result.as_deref(), Ok("Some(Timeout)"));
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

fn main() {
    harness::main(harness::tests![
        curl_upgrade_get: [Program("curl"), EXAMPLE_SERVER],
        curl_upgrade_post_echo: [Program("curl"), EXAMPLE_SERVER],
        curl_upgrade_through_the_listener: [Program("curl")],
        curl_http11_gets_505: [Program("curl"), EXAMPLE_SERVER],
        nghttp_upgrade_get_and_post: [Program("nghttp"), EXAMPLE_SERVER],
        our_client_upgrade_against_our_server,
        our_client_upgrade_against_python_h2: [Python("h2")],
        our_client_upgrade_against_nghttpd_fails_clearly: [Program("nghttpd")],
        not_http1_is_answered_goaway_protocol_error_and_closed,
        oversized_heads_get_431_quickly,
        silent_client_is_cut_by_the_deadline,
    ]);
}
