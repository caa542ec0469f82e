//! Large bodies, byte for byte, through the test server's write path: DATA
//! payloads of 2 KiB or more go out as slices of the `Bytes` the handler
//! sent, by vectored writes (no copy into a write buffer), over h2c and over
//! TLS (tokio-rustls, whose `poll_write_vectored` turns them into records).
//! A frame out of order, a payload written twice or a partial write
//! advanced wrongly would show as a wrong byte here: the download's pattern
//! (`abc…z`) and the upload's (`i * 7 % 251`) do not repeat at frame sizes.

mod support;

use std::process::Command;
use std::time::Duration;

use support::harness::{self, Need::Program};
use support::{curl_body_and_meta, run, site, tool, Cert, TestServer};

const LIMIT: Duration = Duration::from_secs(60);
const DOWNLOAD: usize = 64 << 20;
const UPLOAD: usize = 16 << 20;

/// curl with `args`; returns (body, "STATUS HTTP_VERSION").
fn curl(args: &[&str]) -> (Vec<u8>, String) {
    let mut cmd = Command::new(tool("curl"));
    cmd.args(["--max-time", "50"]).args(args);
    curl_body_and_meta(&mut cmd, LIMIT)
}

fn assert_pattern(body: &[u8], len: usize) {
    assert_eq!(body.len(), len, "body length");
    if let Some(i) = body
        .iter()
        .enumerate()
        .position(|(i, &b)| b != site::pattern_byte(i as u64))
    {
        panic!("byte {i} of {len} is wrong");
    }
}

fn assert_echo(body: &[u8], sent: &[u8]) {
    assert_eq!(body.len(), sent.len(), "echoed length");
    if let Some(i) = body.iter().zip(sent).position(|(a, b)| a != b) {
        panic!("echoed byte {i} differs");
    }
}

fn curl_downloads_64_mib_over_h2c() {
    let server = TestServer::start();
    let url = server.url(&format!("/bytes/{DOWNLOAD}"));
    let (body, meta) = curl(&["--http2-prior-knowledge", &url]);
    assert_eq!(meta, "200 2");
    assert_pattern(&body, DOWNLOAD);
}

fn curl_posts_16_mib_to_echo_over_h2c() {
    let server = TestServer::start();
    let dir = support::TempDir::new("bulk");
    let data = support::test_body(UPLOAD);
    let arg = format!("@{}", dir.write("post.bin", &data).display());
    let url = server.url("/echo");
    let (body, meta) = curl(&["--http2-prior-knowledge", "--data-binary", &arg, &url]);
    assert_eq!(meta, "200 2");
    assert_echo(&body, &data);
}

fn nghttp_downloads_64_mib_over_h2c() {
    let server = TestServer::start();
    let url = server.url(&format!("/bytes/{DOWNLOAD}"));
    let out = run(Command::new(tool("nghttp")).arg(&url), LIMIT);
    assert!(out.status.success(), "nghttp failed: {}", out.stderr);
    assert_pattern(&out.stdout, DOWNLOAD);
}

fn curl_downloads_64_mib_and_posts_16_mib_over_tls() {
    let cert = Cert::new();
    let server = TestServer::start_tls(1, cert.server());
    let port = server.addr.port();
    let resolve = format!("localhost:{port}:127.0.0.1");
    let cacert = cert.cert.display().to_string();
    let tls = ["--http2", "--resolve", &resolve, "--cacert", &cacert];

    let url = format!("https://localhost:{port}/bytes/{DOWNLOAD}");
    let (body, meta) = curl(&[&tls[..], &[&url]].concat());
    assert_eq!(meta, "200 2");
    assert_pattern(&body, DOWNLOAD);

    let data = support::test_body(UPLOAD);
    let arg = format!("@{}", cert.dir.write("post.bin", &data).display());
    let url = format!("https://localhost:{port}/echo");
    let (body, meta) = curl(&[&tls[..], &["--data-binary", &arg, &url]].concat());
    assert_eq!(meta, "200 2");
    assert_echo(&body, &data);
}

fn main() {
    harness::main(harness::tests![
        curl_downloads_64_mib_over_h2c: [Program("curl")],
        curl_posts_16_mib_to_echo_over_h2c: [Program("curl")],
        nghttp_downloads_64_mib_over_h2c: [Program("nghttp")],
        curl_downloads_64_mib_and_posts_16_mib_over_tls: [Program("curl")],
    ]);
}
