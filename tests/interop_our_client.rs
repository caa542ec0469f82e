//! Our client (`support/client.rs`, and the example client binary) against
//! nghttpd, the `h2` crate as server, Node's `http2` server, and our own
//! server (push).

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode, Uri};
use support::client::{Exchange, Job, Options};
use support::harness::{self, Need::Check, Need::Program};
use support::{fetch, site, tool, TempDir, TestServer};

const LIMIT: Duration = Duration::from_secs(30);

fn uri(addr: SocketAddr, path: &str) -> Uri {
    format!("http://{addr}{path}").parse().expect("uri")
}

fn ok(ex: &Exchange) {
    assert!(ex.error.is_none(), "stream {}: {:?}", ex.id, ex.error);
    assert_eq!(
        ex.status,
        Some(StatusCode::OK),
        "stream {} {}",
        ex.id,
        ex.path
    );
}

fn our_client_against_nghttpd() {
    let dir = TempDir::new("nghttpd");
    let file = support::test_body(3 << 20);
    dir.write("data.bin", &file);
    dir.write("index.html", site::HELLO);
    let (_server, addr) = support::nghttpd(&dir, None, &[]);
    let got = fetch(
        addr,
        vec![
            Job::get(uri(addr, "/data.bin")),
            Job::get(uri(addr, "/")),
            Job::get(uri(addr, "/missing")),
        ],
        Options::default(),
        LIMIT,
    );
    assert_eq!(got.len(), 3);
    ok(&got[0]);
    assert!(
        got[0].body[..] == file[..],
        "got {} bytes of {}",
        got[0].body.len(),
        file.len()
    );
    ok(&got[1]);
    assert_eq!(&got[1].body[..], site::HELLO);
    assert_eq!(got[2].status, Some(StatusCode::NOT_FOUND));
}

/// A small `h2`-crate server: answers every request with
/// `h2 server: METHOD PATH (N request bytes)\n`, and a trailer.
async fn h2_server(listener: tokio::net::TcpListener) {
    let (tcp, _) = listener.accept().await.expect("accept");
    let mut conn = h2::server::handshake(tcp)
        .await
        .expect("h2 server handshake");
    while let Some(req) = conn.accept().await {
        let (req, mut respond) = req.expect("request");
        tokio::spawn(async move {
            let (parts, mut body) = req.into_parts();
            let mut n = 0;
            while let Some(chunk) = body.data().await {
                let chunk = chunk.expect("request body");
                n += chunk.len();
                let _ = body.flow_control().release_capacity(chunk.len());
            }
            let resp = http::Response::builder()
                .status(200)
                .body(())
                .expect("response");
            let mut send = respond.send_response(resp, false).expect("send_response");
            let text = format!(
                "h2 server: {} {} ({n} request bytes)\n",
                parts.method,
                parts.uri.path()
            );
            send.send_data(Bytes::from(text), false).expect("send_data");
            let mut trailers = http::HeaderMap::new();
            trailers.insert("x-from", http::HeaderValue::from_static("h2"));
            send.send_trailers(trailers).expect("send_trailers");
        });
    }
}

fn our_client_against_h2_crate_server() {
    support::init_tracing();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = rt.spawn(h2_server(listener));
    let got = fetch(
        addr,
        vec![
            Job::get(uri(addr, "/a")),
            Job {
                method: Method::POST,
                uri: uri(addr, "/b"),
                body: Some(Bytes::from(support::test_body(200_000))),
            },
        ],
        Options::default(),
        LIMIT,
    );
    assert_eq!(got.len(), 2);
    ok(&got[0]);
    assert_eq!(&got[0].body[..], b"h2 server: GET /a (0 request bytes)\n");
    ok(&got[1]);
    assert_eq!(
        &got[1].body[..],
        b"h2 server: POST /b (200000 request bytes)\n"
    );
    for ex in &got {
        let trailers = ex.trailers.as_ref().expect("trailers");
        assert_eq!(
            trailers.get("x-from").map(|v| v.as_bytes()),
            Some(&b"h2"[..])
        );
    }
    server.abort();
    rt.shutdown_timeout(Duration::from_secs(5));
}

const NODE_SERVER_JS: &str = r#"
const http2 = require('http2');
const server = http2.createServer();
server.on('stream', (stream, headers) => {
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  stream.on('end', () => {
    const n = Buffer.concat(chunks).length;
    stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-from': 'node' }));
    stream.end(`node: ${headers[':method']} ${headers[':path']} (${n} request bytes)\n`);
  });
});
server.listen(0, '127.0.0.1', () => { console.log(server.address().port); });
"#;

fn our_client_against_node_http2_server() {
    let node = tool("node");
    let dir = TempDir::new("node-server");
    let script = dir.write("server.js", NODE_SERVER_JS.as_bytes());
    let (_child, port) =
        support::spawn_reporting_port(Command::new(node).arg(&script), Duration::from_secs(15));
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let got = fetch(
        addr,
        vec![
            Job::get(uri(addr, "/x")),
            Job {
                method: Method::POST,
                uri: uri(addr, "/y"),
                body: Some(Bytes::from(support::test_body(100_000))),
            },
        ],
        Options::default(),
        LIMIT,
    );
    assert_eq!(got.len(), 2);
    ok(&got[0]);
    assert_eq!(&got[0].body[..], b"node: GET /x (0 request bytes)\n");
    ok(&got[1]);
    assert_eq!(&got[1].body[..], b"node: POST /y (100000 request bytes)\n");
    for ex in &got {
        let trailers = ex.trailers.as_ref().expect("trailers");
        assert_eq!(
            trailers.get("x-from").map(|v| v.as_bytes()),
            Some(&b"node"[..])
        );
    }
}

/// RFC 9113 §8.4: our client (push enabled) receives the promise of
/// `/pushed.css` on stream 1 and the pushed response on stream 2.
fn our_client_receives_push_from_our_server() {
    let server = TestServer::start();
    let got = fetch(
        server.addr,
        vec![Job::get(uri(server.addr, "/push"))],
        Options::default(),
        LIMIT,
    );
    assert_eq!(got.len(), 2, "{got:?}");
    ok(&got[0]);
    assert_eq!(&got[0].body[..], site::PUSH_PAGE);
    ok(&got[1]);
    assert_eq!(got[1].pushed_by, Some(got[0].id));
    assert_eq!(got[1].path, site::PUSHED_PATH);
    assert!(got[1].id.is_server_initiated());
    assert_eq!(&got[1].body[..], site::PUSHED_CSS);
}

/// RFC 9113 §6.5.2 SETTINGS_ENABLE_PUSH = 0: the server must not push.
fn our_client_without_push_gets_the_page_only() {
    let server = TestServer::start();
    let got = fetch(
        server.addr,
        vec![Job::get(uri(server.addr, "/push"))],
        Options {
            enable_push: false,
            ..Options::default()
        },
        LIMIT,
    );
    assert_eq!(got.len(), 1, "{got:?}");
    ok(&got[0]);
    assert_eq!(&got[0].body[..], site::PUSH_PAGE);
}

/// Our client and our server on every route at once: concurrent streams,
/// a large download, an echo, trailers, a 404.
fn our_client_against_our_server_all_routes() {
    let server = TestServer::start();
    let a = server.addr;
    let upload = Bytes::from(support::test_body(3 << 20));
    let mut jobs = vec![
        Job::get(uri(a, "/bytes/5000000")),
        Job {
            method: Method::POST,
            uri: uri(a, "/echo"),
            body: Some(upload.clone()),
        },
        Job::get(uri(a, "/trailers")),
        Job::get(uri(a, "/nope")),
    ];
    jobs.extend((0..100).map(|_| Job::get(uri(a, "/"))));
    let got = fetch(a, jobs, Options::default(), LIMIT);
    assert_eq!(got.len(), 104);
    ok(&got[0]);
    assert_eq!(got[0].body.len(), 5_000_000);
    assert!(got[0]
        .body
        .iter()
        .enumerate()
        .all(|(i, &b)| b == site::pattern_byte(i as u64)));
    ok(&got[1]);
    assert!(
        got[1].body[..] == upload[..],
        "echo: {} bytes",
        got[1].body.len()
    );
    ok(&got[2]);
    assert_eq!(&got[2].body[..], site::TRAILERS_BODY);
    let trailers = got[2].trailers.as_ref().expect("trailers");
    assert_eq!(
        trailers.get("x-trailer-test").map(|v| v.as_bytes()),
        Some(&b"ok"[..])
    );
    assert_eq!(got[3].status, Some(StatusCode::NOT_FOUND));
    for ex in &got[4..] {
        ok(ex);
        assert_eq!(&ex.body[..], site::HELLO);
    }
}

/// `--threads 2`: the library's `Listener` with two arbiters; eight
/// connections at once, each with a few streams, all answered.
fn our_client_against_our_server_with_two_threads() {
    let server = TestServer::start_threads(2);
    let a = server.addr;
    let clients: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                let jobs = vec![
                    Job::get(uri(a, "/")),
                    Job::get(uri(a, "/bytes/300000")),
                    Job::get(uri(a, "/trailers")),
                ];
                fetch(a, jobs, Options::default(), LIMIT)
            })
        })
        .collect();
    for c in clients {
        let got = c.join().expect("client thread");
        assert_eq!(got.len(), 3);
        got.iter().for_each(ok);
        assert_eq!(&got[0].body[..], site::HELLO);
        assert_eq!(got[1].body.len(), 300_000);
        assert!(got[2].trailers.is_some());
    }
}

/// RFC 9113 §8.4 from the client side against nghttpd: `-p/=/style.css`
/// pushes the stylesheet with the page; our client collects it.
fn our_client_receives_push_from_nghttpd() {
    let dir = TempDir::new("nghttpd-push");
    dir.write("index.html", site::HELLO);
    dir.write("style.css", site::PUSHED_CSS);
    let (_server, addr) = support::nghttpd(&dir, None, &["-p/=/style.css"]);
    let got = fetch(
        addr,
        vec![Job::get(uri(addr, "/"))],
        Options::default(),
        LIMIT,
    );
    assert_eq!(got.len(), 2, "{got:?}");
    ok(&got[0]);
    assert_eq!(&got[0].body[..], site::HELLO);
    ok(&got[1]);
    assert_eq!(got[1].pushed_by, Some(got[0].id));
    assert_eq!(got[1].path, "/style.css");
    assert_eq!(&got[1].body[..], site::PUSHED_CSS);
}

// ------------------------------------------- the example client's command line

/// The example client binary with `args`, as a user runs it.
fn client_binary(args: &[&str]) -> support::Output {
    support::run(
        Command::new(support::example_path("client")).args(args),
        LIMIT,
    )
}

/// The numbers of the summary's `requests: T total, D done, F failed` line.
fn summary_counts(stderr: &str) -> (usize, usize, usize) {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("requests: "))
        .unwrap_or_else(|| panic!("no requests line in:\n{stderr}"));
    let n: Vec<usize> = line
        .split(", ")
        .map(|part| {
            let (n, _) = part.split_once(' ').expect("N word");
            n.parse().expect("a count")
        })
        .collect();
    assert_eq!(n.len(), 3, "{line}");
    (n[0], n[1], n[2])
}

/// The summary line that starts with `prefix`, e.g. `status codes: `.
fn summary_line<'a>(stderr: &'a str, prefix: &str) -> &'a str {
    stderr
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{stderr}"))
}

/// An `h2`-crate server that answers each request with the request's
/// header fields, one `name: value` line each, in the order received.
async fn h2_header_echo_server(listener: tokio::net::TcpListener) {
    let (tcp, _) = listener.accept().await.expect("accept");
    let mut conn = h2::server::handshake(tcp)
        .await
        .expect("h2 server handshake");
    while let Some(req) = conn.accept().await {
        let (req, mut respond) = req.expect("request");
        let mut text = String::new();
        for (name, value) in req.headers() {
            text += &format!("{name}: {}\n", value.to_str().unwrap_or("<bytes>"));
        }
        let resp = http::Response::builder().body(()).expect("response");
        let mut send = respond.send_response(resp, false).expect("send_response");
        send.send_data(Bytes::from(text), true).expect("send_data");
    }
}

/// `-H` (repeated) reaches the server, as the `h2` crate receives it: the
/// name in lowercase (RFC 9113 §8.2.1), the value without the blanks around
/// it, the same name twice as two fields; stdout is the body only.
fn example_client_binary_sends_header_fields() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = rt.spawn(h2_header_echo_server(listener));
    let url = format!("http://{addr}/headers");
    let out = client_binary(&[
        "-H",
        "X-Probe:  forty two ",
        "-H",
        "accept: text/plain",
        "-H",
        "x-probe: again",
        &url,
    ]);
    assert!(out.status.success(), "client: {}", out.stderr);
    assert_eq!(
        out.stdout_str(),
        "x-probe: forty two\nx-probe: again\naccept: text/plain\n"
    );
    server.abort();
    rt.shutdown_timeout(Duration::from_secs(5));
}

/// `-d @FILE` posts the file's bytes (1 MiB, more than one window), and
/// `-d @-` standard input: our server's `/echo` sends them back on stdout.
fn example_client_binary_posts_a_file() {
    let server = TestServer::start();
    let dir = TempDir::new("client-data");
    let body = support::test_body(1 << 20);
    let file = dir.write("body.bin", &body);
    let file = file.to_str().expect("utf-8 path");
    let url = server.url("/echo");
    let out = client_binary(&["-d", &format!("@{file}"), &url]);
    assert!(out.status.success(), "client: {}", out.stderr);
    assert!(out.stdout == body, "echo: {} bytes", out.stdout.len());
    // The same from stdin, through a shell redirect.
    let exe = support::example_path("client");
    let out = support::run(
        Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" -d @- "$1" < "$2""#)
            .arg(&exe)
            .arg(&url)
            .arg(file),
        LIMIT,
    );
    assert!(out.status.success(), "client: {}", out.stderr);
    assert!(
        out.stdout == body,
        "echo of stdin: {} bytes",
        out.stdout.len()
    );
    // A file that is not there is the user's mistake: exit 2, nothing sent.
    let out = client_binary(&["-d", "@/nonexistent/h2actor-body", &url]);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("/nonexistent/h2actor-body"),
        "{}",
        out.stderr
    );
}

/// Usage errors exit 2 with the reason on stderr, before connecting (the
/// URL's port has no server).
fn example_client_binary_rejects_bad_arguments() {
    let url = format!("http://127.0.0.1:{}/", support::free_port());
    let cases: &[(&[&str], &str)] = &[
        (&["-H", "no colon"], "not 'name: value'"),
        (&["-H", "bad name: x"], "not a field name"),
        (&["-H", "x-a: line\u{1}break"], "not a field value"),
        (&["-H", ":path: /x"], "pseudo-header"),
        (&["-H", "connection: close"], "§8.2.2"),
        (&["-H", "te: gzip"], "§8.2.2"),
        (&["-X", "GE T"], "not a method"),
        (&["-n", "0"], "-n takes a number"),
        (&["-c", "5"], "-c goes with -n"),
        (&["--upgrade", "-d", "x"], "--upgrade starts with"),
        (&["--bogus"], "unknown option"),
    ];
    for (args, why) in cases {
        let out = client_binary(&[args, &[url.as_str()][..]].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(why), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("usage: client"), "{}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    // `te: trailers` is the one `te` HTTP/2 allows: not a usage error (the
    // connection then fails: exit 1).
    let out = client_binary(&["-H", "te: trailers", &url]);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
}

/// `-n 200 -c 10` against our server: 200 answered, none failed, no body
/// on stdout, the traffic is 200 bodies of `hello world\n`; `-v` adds the
/// client's counters (one connection). Two URLs are taken in turn, and a
/// 404 counts as answered.
fn example_client_binary_load_against_our_server() {
    let server = TestServer::start();
    let out = client_binary(&["-n", "200", "-c", "10", "-v", &server.url("/")]);
    assert!(out.status.success(), "client: {}", out.stderr);
    assert!(out.stdout.is_empty(), "with -n no body is printed");
    assert_eq!(summary_counts(&out.stderr), (200, 200, 0), "{}", out.stderr);
    let traffic = summary_line(&out.stderr, "traffic: ");
    let hello = 200 * site::HELLO.len();
    assert!(traffic.contains(&format!("({hello})")), "{traffic}");
    assert!(
        summary_line(&out.stderr, "time for request:").contains("ms")
            || summary_line(&out.stderr, "time for request:").contains("us"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("client: 1 connection(s)"),
        "{}",
        out.stderr
    );

    let out = client_binary(&[
        "-n",
        "200",
        "-c",
        "10",
        &server.url("/bytes/100"),
        &server.url("/nope"),
    ]);
    assert!(out.status.success(), "client: {}", out.stderr);
    assert_eq!(summary_counts(&out.stderr), (200, 200, 0), "{}", out.stderr);
    assert_eq!(
        summary_line(&out.stderr, "status codes: "),
        "status codes: 100 2xx, 0 3xx, 100 4xx, 0 5xx"
    );

    // -d and -H in the load path: 50 POSTs of 10,000 bytes to /echo.
    let dir = TempDir::new("client-load-data");
    let file = dir.write("body.bin", &support::test_body(10_000));
    let data = format!("@{}", file.display());
    let out = client_binary(&[
        "-n",
        "50",
        "-c",
        "5",
        "-d",
        &data,
        "-H",
        "x-load: 1",
        &server.url("/echo"),
    ]);
    assert!(out.status.success(), "client: {}", out.stderr);
    assert_eq!(summary_counts(&out.stderr), (50, 50, 0), "{}", out.stderr);
    let traffic = summary_line(&out.stderr, "traffic: ");
    assert!(traffic.contains("(500000)"), "{traffic}");
}

/// `-n 200 -c 10` against nghttpd (its own stream limit and flow control):
/// all 200 answered with its file.
fn example_client_binary_load_against_nghttpd() {
    let dir = TempDir::new("nghttpd-load");
    dir.write("index.html", site::HELLO);
    let (_server, addr) = support::nghttpd(&dir, None, &[]);
    let out = client_binary(&["-n", "200", "-c", "10", &format!("http://{addr}/")]);
    assert!(out.status.success(), "client: {}", out.stderr);
    assert!(out.stdout.is_empty());
    assert_eq!(summary_counts(&out.stderr), (200, 200, 0), "{}", out.stderr);
    assert_eq!(
        summary_line(&out.stderr, "status codes: "),
        "status codes: 200 2xx, 0 3xx, 0 4xx, 0 5xx"
    );
    let hello = 200 * site::HELLO.len();
    let traffic = summary_line(&out.stderr, "traffic: ");
    assert!(traffic.contains(&format!("({hello})")), "{traffic}");
}

/// No server: every request fails, the summary says so and the exit status
/// is 1, once the client has tried to connect for `--connect-timeout`
/// (its reconnect budget: a restarting server would have been waited for)
/// and not per request (it stops sending once the origin is unreachable).
fn example_client_binary_load_without_a_server_fails() {
    let url = format!("http://127.0.0.1:{}/", support::free_port());
    let started = std::time::Instant::now();
    let out = client_binary(&["-n", "100", "-c", "4", "--connect-timeout", "2", &url]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert_eq!(summary_counts(&out.stderr), (100, 0, 100), "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot connect") && out.stderr.contains("connection refused"),
        "{}",
        out.stderr
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(8),
        "{took:?}"
    );
}

/// Issue 15, item 10: a `Fetch` sent straight to a `Connection` gets the
/// whole response in its reply (head, body, trailers), against nghttpd (a
/// 3 MiB body, past the initial windows; a 404) and our server (trailers,
/// asked for with `te: trailers`).
fn connection_fetch_collects_whole_responses() {
    use h2actor::client::Fetch;
    use support::client_connection as connect;
    let dir = TempDir::new("nghttpd-collect");
    let file = support::test_body(3 << 20);
    dir.write("data.bin", &file);
    let (_nghttpd, ng) = support::nghttpd(&dir, None, &[]);
    let ours = TestServer::start();
    let ours_addr = ours.addr;
    support::in_actix(LIMIT, async move {
        let conn = connect(ng).await;
        let (big, missing) = futures::join!(
            conn.send(Fetch::get(format!("http://{ng}/data.bin"))),
            conn.send(Fetch::get(format!("http://{ng}/missing")))
        );
        let big = big.expect("mailbox").expect("nghttpd /data.bin");
        assert_eq!(big.head.status, StatusCode::OK);
        assert!(
            big.body[..] == file[..],
            "{} bytes of {}",
            big.body.len(),
            file.len()
        );
        let missing = missing.expect("mailbox").expect("nghttpd /missing");
        assert_eq!(missing.head.status, StatusCode::NOT_FOUND);

        let conn = connect(ours_addr).await;
        let mut request = http::Request::new(Bytes::new());
        *request.uri_mut() = format!("http://{ours_addr}/trailers").parse().unwrap();
        request
            .headers_mut()
            .insert("te", http::HeaderValue::from_static("trailers"));
        let r = conn
            .send(Fetch::new(request))
            .await
            .expect("mailbox")
            .expect("/trailers");
        assert_eq!(r.head.status, StatusCode::OK);
        assert!(!r.body.is_empty());
        let trailers = r.trailers.expect("trailers");
        assert_eq!(trailers["x-trailer-test"], "ok");
    });
}

/// The two short examples a user reads in a minute: `hello_server` answers
/// curl and `hello_client` (a `Fetch` sent to a `Connection`).
fn hello_examples_talk_to_each_other_and_to_curl() {
    let addr: SocketAddr = ([127, 0, 0, 1], support::free_port()).into();
    let server = std::process::Command::new(support::example_path("hello_server"))
        .arg(addr.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start hello_server");
    let _server = support::ChildGuard(server);
    support::wait_for_port(addr, Duration::from_secs(10));
    let out = support::run(
        Command::new(support::example_path("hello_client")).arg(format!("http://{addr}/")),
        LIMIT,
    );
    assert!(out.status.success(), "hello_client: {}", out.stderr);
    let stdout = out.stdout_str();
    assert!(stdout.starts_with("200 OK\nhello world ("), "{stdout}");
    let out = support::run(
        Command::new(tool("curl"))
            .args(["-sS", "--http2-prior-knowledge"])
            .arg(format!("http://{addr}/")),
        LIMIT,
    );
    assert!(out.status.success(), "curl: {}", out.stderr);
    assert!(
        out.stdout_str().starts_with("hello world ("),
        "{}",
        out.stdout_str()
    );
}

fn hello_examples_built() -> Result<(), String> {
    for name in ["hello_server", "hello_client"] {
        let p = support::example_path(name);
        if !p.is_file() {
            return Err(format!(
                "{} not built (the README's test command builds the examples first)",
                p.display()
            ));
        }
    }
    Ok(())
}

fn main() {
    harness::main(harness::tests![
        our_client_against_nghttpd: [Program("nghttpd")],
        connection_fetch_collects_whole_responses: [Program("nghttpd")],
        hello_examples_talk_to_each_other_and_to_curl: [Program("curl"), Check("the hello examples", hello_examples_built)],
        our_client_against_h2_crate_server,
        our_client_against_node_http2_server: [Program("node")],
        our_client_receives_push_from_our_server,
        our_client_without_push_gets_the_page_only,
        our_client_against_our_server_all_routes,
        our_client_against_our_server_with_two_threads,
        our_client_receives_push_from_nghttpd: [Program("nghttpd")],
        example_client_binary_sends_header_fields: [Check("the example client binary", support::example_client_built)],
        example_client_binary_posts_a_file: [Check("the example client binary", support::example_client_built)],
        example_client_binary_rejects_bad_arguments: [Check("the example client binary", support::example_client_built)],
        example_client_binary_load_against_our_server: [Check("the example client binary", support::example_client_built)],
        example_client_binary_load_against_nghttpd: [Program("nghttpd"), Check("the example client binary", support::example_client_built)],
        example_client_binary_load_without_a_server_fails: [Check("the example client binary", support::example_client_built)],
    ]);
}
