//! The adaptive receive window (`Config::adaptive_window`) with real peers,
//! over a link with a 40 ms round trip (`support::delay_proxy`): uploads
//! from curl, nghttp and Node's `http2` arrive whole while our windows
//! grow mid-stream (RFC 9113 §6.9.2: the peer adds our new
//! SETTINGS_INITIAL_WINDOW_SIZE's difference to its send windows), and the
//! `h2` crate's client sees its send window pass the initial 1 MiB, which
//! it never does with the adaptive window off.
//! How much faster uploads get is measured in `benches/bdp.rs`.

mod support;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use support::delay_proxy::DelayProxy;
use support::harness::{self, Need::Program};
use support::{run, site, tool, TempDir, TestServer};

const LIMIT: Duration = Duration::from_secs(60);
const ONE_WAY: Duration = Duration::from_millis(20);
const MIB: usize = 1 << 20;

fn server(adaptive: bool) -> TestServer {
    TestServer::start_options(site::Options {
        threads: Some(1),
        adaptive_window: adaptive.then_some(32 << 20),
        ..site::Options::new(([127, 0, 0, 1], 0).into())
    })
}

fn tokio_run<F: Future>(fut: F) -> F::Output {
    support::tokio_run(LIMIT, fut)
}

/// POSTs `len` bytes to `/sink` through `proxy` with the h2 crate; returns
/// the server's count and the largest send capacity the client was given
/// at once (bounded by our stream window).
fn h2_upload(proxy: &DelayProxy, len: usize) -> (String, usize) {
    let addr = proxy.addr;
    tokio_run(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).expect("TCP_NODELAY");
        // Its send buffer (400 KiB by default) would cap what one
        // `poll_capacity` can hand out below any window.
        let (mut client, conn) = h2::client::Builder::new()
            .max_send_buffer_size(64 * MIB)
            .handshake(tcp)
            .await
            .expect("h2 handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("http://{addr}/sink"))
            .body(())
            .expect("request");
        let (response, mut send) = client.send_request(req, false).expect("send_request");
        let mut left = len;
        let mut max_capacity = 0;
        while left > 0 {
            send.reserve_capacity(left.min(64 * MIB));
            let cap = std::future::poll_fn(|cx| send.poll_capacity(cx))
                .await
                .expect("stream still open")
                .expect("capacity");
            max_capacity = max_capacity.max(cap);
            let n = cap.min(left);
            left -= n;
            send.send_data(Bytes::from(vec![b'u'; n]), left == 0)
                .expect("send_data");
        }
        let response = response.await.expect("response");
        assert_eq!(response.status(), StatusCode::OK);
        let mut body = response.into_body();
        let mut text = Vec::new();
        while let Some(chunk) = body.data().await {
            text.extend_from_slice(&chunk.expect("body"));
        }
        (String::from_utf8(text).expect("utf-8"), max_capacity)
    })
}

fn h2_crate_upload_grows_the_send_window_past_its_initial_size() {
    let server = server(true);
    let proxy = DelayProxy::start(server.addr, ONE_WAY);
    let (count, max_capacity) = h2_upload(&proxy, 24 * MIB);
    assert_eq!(count, format!("{}\n", 24 * MIB));
    assert!(
        max_capacity > MIB,
        "the send window never grew past 1 MiB: at most {max_capacity} bytes at once"
    );
}

fn h2_crate_upload_with_fixed_windows_stays_within_1_mib() {
    // The control: the same upload without the adaptive window.
    let server = server(false);
    let proxy = DelayProxy::start(server.addr, ONE_WAY);
    let (count, max_capacity) = h2_upload(&proxy, 4 * MIB);
    assert_eq!(count, format!("{}\n", 4 * MIB));
    assert!(max_capacity <= MIB, "{max_capacity}");
}

/// Runs the upload `command` makes (given the proxy's address and a file
/// of 16 MiB) through a 40 ms link to a server with the adaptive window,
/// and checks the byte count `/sink` answers.
fn upload_through_a_40_ms_link(command: impl FnOnce(SocketAddr, &Path) -> Command) {
    let server = server(true);
    let proxy = DelayProxy::start(server.addr, ONE_WAY);
    let dir = TempDir::new("bdp");
    let file = dir.write("upload.bin", &support::test_body(16 * MIB));
    let out = run(&mut command(proxy.addr, &file), LIMIT);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", 16 * MIB)
    );
}

fn nghttp_upload_through_a_40_ms_link() {
    upload_through_a_40_ms_link(|addr, file| {
        let mut c = Command::new(tool("nghttp"));
        c.arg("-d").arg(file).arg(format!("http://{addr}/sink"));
        c
    });
}

fn curl_upload_through_a_40_ms_link() {
    upload_through_a_40_ms_link(|addr, file| {
        let mut c = Command::new(tool("curl"));
        c.args(["-sS", "--http2-prior-knowledge", "--data-binary"])
            .arg(format!("@{}", file.display()))
            .arg(format!("http://{addr}/sink"));
        c
    });
}

/// Node's `http2` client: POSTs argv[3] bytes to argv[2], prints the answer.
const NODE_UPLOAD_JS: &str = r#"
const http2 = require('http2');
const [url, len] = [process.argv[2], Number(process.argv[3])];
const session = http2.connect(url);
session.on('error', (e) => { console.error(e); process.exit(1); });
const req = session.request({ ':method': 'POST', ':path': '/sink' });
let answer = '';
req.setEncoding('utf8');
req.on('data', (d) => { answer += d; });
req.on('end', () => { process.stdout.write(answer); session.close(); });
const chunk = Buffer.alloc(1 << 16, 0x75);
let left = len;
function write() {
  while (left > 0) {
    const n = Math.min(left, chunk.length);
    left -= n;
    if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
      req.once('drain', write);
      return;
    }
  }
  req.end();
}
write();
"#;

fn node_http2_upload_through_a_40_ms_link() {
    let dir = TempDir::new("bdp-node");
    let script = dir.write("upload.js", NODE_UPLOAD_JS.as_bytes());
    upload_through_a_40_ms_link(|addr, _file| {
        let mut c = Command::new(tool("node"));
        c.arg(&script)
            .arg(format!("http://{addr}"))
            .arg((16 * MIB).to_string());
        c
    });
}

fn main() {
    harness::main(harness::tests![
        h2_crate_upload_grows_the_send_window_past_its_initial_size: [],
        h2_crate_upload_with_fixed_windows_stays_within_1_mib: [],
        nghttp_upload_through_a_40_ms_link: [Program("nghttp")],
        curl_upload_through_a_40_ms_link: [Program("curl")],
        node_http2_upload_through_a_40_ms_link: [Program("node")],
    ]);
}
