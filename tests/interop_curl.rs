//! Our server against curl (`--http2-prior-knowledge`, h2c): the example
//! server binary, as the README's "Try it" runs it (the idle-timeout case:
//! the tests' server with its own timeouts). curl 7.88 reuses h2c
//! connections badly, so every request runs on its own connection.

mod support;

use std::process::Command;
use std::time::Duration;

use support::harness::{self, Need::Program};
use support::{curl_body_and_meta, run, site, tool, ExampleServer, TempDir};

/// The tests of the README's promise run the example server binary.
const EXAMPLE_SERVER: harness::Need =
    harness::Need::Check("the example server binary", support::example_server_built);

const LIMIT: Duration = Duration::from_secs(30);

/// Runs curl and splits its output into (body, "STATUS HTTP_VERSION").
fn curl(curl: &std::path::Path, args: &[&str]) -> (Vec<u8>, String) {
    let mut cmd = Command::new(curl);
    cmd.args(["--http2-prior-knowledge", "--max-time", "20"])
        .args(args);
    curl_body_and_meta(&mut cmd, LIMIT)
}

fn curl_get_root_over_h2c_prior_knowledge() {
    let curl_bin = tool("curl");
    let server = ExampleServer::start(&[]);
    let (body, meta) = curl(&curl_bin, &[&server.url("/")]);
    assert_eq!(meta, "200 2", "status and HTTP version");
    assert_eq!(body, site::HELLO);
}

fn curl_post_echo_returns_the_body() {
    let curl_bin = tool("curl");
    let server = ExampleServer::start(&[]);
    let dir = TempDir::new("curl");
    let data = support::test_body(300_000);
    let file = dir.write("post.bin", &data);
    let arg = format!("@{}", file.display());
    let (body, meta) = curl(&curl_bin, &["--data-binary", &arg, &server.url("/echo")]);
    assert_eq!(meta, "200 2");
    assert!(
        body == data,
        "echoed {} bytes, sent {}",
        body.len(),
        data.len()
    );
}

fn curl_get_bytes_and_404() {
    let curl_bin = tool("curl");
    let server = ExampleServer::start(&[]);
    let (body, meta) = curl(&curl_bin, &[&server.url("/bytes/1000000")]);
    assert_eq!(meta, "200 2");
    assert_eq!(body.len(), 1_000_000);
    assert!(body
        .iter()
        .enumerate()
        .all(|(i, &b)| b == site::pattern_byte(i as u64)));
    let (_, meta) = curl(&curl_bin, &[&server.url("/nowhere")]);
    assert_eq!(meta, "404 2");
}

/// `curl -I` (HEAD) on every route GET answers: the header fields GET
/// sends, no content, a clean end of stream (RFC 9110 §9.3.2). Was a 404
/// for `/bytes/100` (issue 6, finding 6).
fn curl_head_on_every_get_route() {
    let curl_bin = tool("curl");
    let server = ExampleServer::start(&[]);
    for (path, length) in [("/", "12"), ("/bytes/100", "100"), ("/push", "")] {
        let out = run(
            Command::new(&curl_bin)
                .args(["-sS", "--http2-prior-knowledge", "--max-time", "20", "-I"])
                .arg(server.url(path)),
            LIMIT,
        );
        assert!(out.status.success(), "curl -I {path}: {}", out.stderr);
        let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
        assert!(head.starts_with("http/2 200"), "{path}: {head}");
        if !length.is_empty() {
            assert!(
                head.contains(&format!("content-length: {length}\r\n")),
                "{path}: {head}"
            );
        }
    }
}

/// curl keeps its connection for the next transfer; the server's idle
/// timeout (300 ms here) ends it with GOAWAY NO_ERROR between the two
/// transfers (`--rate 2/s`: 500 ms apart). curl must exit 0 with both
/// bodies, the second over a new connection (`%{num_connects}` = 1).
/// (Without the timeout, curl 7.88 reuses the h2c connection and fails
/// with "(16) Error in the HTTP2 framing layer", see the module docs.)
fn curl_sees_the_idle_timeout_end_its_connection_cleanly() {
    use std::sync::Arc;
    let curl_bin = tool("curl");
    let server = support::raw_peer::ConfServer::start_with(Arc::new(|tcp| {
        let _ = tcp.set_nodelay(true);
        let timeouts = h2actor::Timeouts {
            idle: Some(Duration::from_millis(300)),
            ..h2actor::Timeouts::disabled()
        };
        site::builder()
            .config(h2actor::Config {
                timeouts,
                ..h2actor::Config::default()
            })
            .start(tcp, site::Site::subscriber())
    }));
    let url = format!("http://{}/", server.addr);
    let out = run(
        Command::new(&curl_bin)
            .args(["-sS", "--http2-prior-knowledge", "--max-time", "20"])
            .args(["--rate", "2/s"])
            .args(["-w", "|%{http_code} %{num_connects}\n"])
            .args([&url, &url]),
        LIMIT,
    );
    assert!(out.status.success(), "curl failed: {}", out.stderr);
    let text = out.stdout_str();
    let hello = String::from_utf8_lossy(site::HELLO);
    assert_eq!(
        text,
        format!("{hello}|200 1\n{hello}|200 1\n"),
        "two transfers, each on its own connection"
    );
    assert_eq!(server.accepted(), 2);
}

/// `/pushed.css` on a plain request too: browsers disable push and fetch
/// the stylesheet `/push` links (it was a 404 before).
fn curl_gets_the_pushed_stylesheet_on_a_plain_request() {
    let curl_bin = tool("curl");
    let server = ExampleServer::start(&[]);
    let (body, meta) = curl(&curl_bin, &[&server.url(site::PUSHED_PATH)]);
    assert_eq!(meta, "200 2");
    assert_eq!(body, site::PUSHED_CSS);
}

fn main() {
    harness::main(harness::tests![
        curl_gets_the_pushed_stylesheet_on_a_plain_request: [Program("curl"), EXAMPLE_SERVER],
        curl_sees_the_idle_timeout_end_its_connection_cleanly: [Program("curl")],
        curl_head_on_every_get_route: [Program("curl"), EXAMPLE_SERVER],
        curl_get_root_over_h2c_prior_knowledge: [Program("curl"), EXAMPLE_SERVER],
        curl_post_echo_returns_the_body: [Program("curl"), EXAMPLE_SERVER],
        curl_get_bytes_and_404: [Program("curl"), EXAMPLE_SERVER],
    ]);
}
