//! Our server against Node's built-in `http2` client (h2c: `http2.connect`
//! with an `http://` URL uses prior knowledge), and our clients against
//! Node's `http2` server (`tests/peers/node_sized_server.js`).

mod support;

use std::process::Command;
use std::time::Duration;

use h2actor::client::{Client, Fetch};
use support::client::{self, Job, Options};
use support::harness::{self, Need::Program};
use support::{in_actix, run, site, tool, Cert, ChildGuard, TempDir, TestServer};

const CLIENT_JS: &str = r#"
const http2 = require('http2');
const [url, echoLen] = process.argv.slice(2);
const session = http2.connect(url);
session.on('error', (e) => { console.error('session error', e); process.exit(2); });
function request(headers, body) {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined });
    const chunks = [];
    let status = 0, trailers = null;
    req.on('response', (h) => { status = h[':status']; });
    req.on('trailers', (t) => { trailers = t; });
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve({ status, body: Buffer.concat(chunks), trailers }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}
(async () => {
  const echoBody = Buffer.alloc(Number(echoLen));
  for (let i = 0; i < echoBody.length; i++) echoBody[i] = (i * 7) % 251;
  const [root, echo, trailers] = await Promise.all([
    request({ ':path': '/' }),
    request({ ':method': 'POST', ':path': '/echo' }, echoBody),
    request({ ':path': '/trailers' }),
  ]);
  console.log(JSON.stringify({
    root: { status: root.status, body: root.body.toString() },
    echo: { status: echo.status, len: echo.body.length, same: echo.body.equals(echoBody) },
    trailers: { status: trailers.status, body: trailers.body.toString(),
                trailer: trailers.trailers && trailers.trailers['x-trailer-test'] },
  }));
  session.close();
})().catch((e) => { console.error(e); process.exit(1); });
"#;

fn node_http2_client_get_echo_trailers() {
    let node = tool("node");
    let server = TestServer::start();
    let dir = TempDir::new("node-client");
    let script = dir.write("client.js", CLIENT_JS.as_bytes());
    let out = run(
        Command::new(node)
            .arg(&script)
            .arg(server.url(""))
            .arg("1000000"),
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "node failed: {}\n{}",
        out.stderr,
        out.stdout_str()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON from node");
    assert_eq!(v["root"]["status"], 200);
    assert_eq!(v["root"]["body"], std::str::from_utf8(site::HELLO).unwrap());
    assert_eq!(v["echo"]["status"], 200);
    assert_eq!(v["echo"]["len"], 1_000_000);
    assert_eq!(v["echo"]["same"], true);
    assert_eq!(v["trailers"]["status"], 200);
    assert_eq!(
        v["trailers"]["body"],
        std::str::from_utf8(site::TRAILERS_BODY).unwrap()
    );
    assert_eq!(v["trailers"]["trailer"], "ok");
}

// ---------------------------------------------------------------------------
// Node's server and bodies at the edges of our receive window (issue 15,
// item 3). nghttp2 (under Node) writes no DATA frame to a stream whose
// window is 0, not even the empty END_STREAM one; Node's server then ends
// the stream with RST_STREAM(NO_ERROR) one event-loop turn after the body.
// A body of exactly our initial stream window (1 MiB), or of twice it,
// used to end that way in about one run of ten (h2c and TLS alike here;
// more often in the issue's runs), reported as `reset by peer: NO_ERROR`.

/// Exactly the initial stream window, twice it, and odd sizes around it.
const SIZES: [usize; 5] = [
    1 << 20,
    2 << 20,
    (1 << 20) - 1,
    (1 << 20) + 1,
    (3 << 20) + 17,
];
/// Runs per size and transport, each on a connection of its own.
const RUNS: usize = 50;
const SIZED_LIMIT: Duration = Duration::from_secs(120);

/// What `node_sized_server.js` sends for `/N`: byte i is (i * 31 + 7) & 0xff.
fn sized_body(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(31) + 7) as u8).collect()
}

fn node_sized_server(tls: Option<&Cert>) -> (ChildGuard, u16) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/peers/node_sized_server.js"
    );
    let mut cmd = Command::new(tool("node"));
    cmd.arg(script);
    if let Some(c) = tls {
        cmd.arg(&c.key).arg(&c.cert);
    }
    support::spawn_reporting_port(&mut cmd, Duration::from_secs(15))
}

/// `Client` (a fresh one, so a fresh connection, per run): every body
/// whole, no error.
fn client_takes_node_bodies_at_window_edges(tls: bool) {
    let cert = tls.then(Cert::new);
    let (_node, port) = node_sized_server(cert.as_ref());
    let scheme = if tls { "https" } else { "http" };
    let origin = format!("{scheme}://127.0.0.1:{port}");
    in_actix(SIZED_LIMIT, async move {
        let mut report = Vec::new();
        for n in SIZES {
            let want = sized_body(n);
            let mut failed = Vec::new();
            for _ in 0..RUNS {
                let mut b = Client::builder(origin.parse().unwrap());
                if let Some(c) = &cert {
                    b = b.tls(c.client());
                }
                let client = b.start();
                match client.send(Fetch::get(format!("/{n}"))).await.unwrap() {
                    Ok(r) if r.body[..] == want[..] => {}
                    Ok(r) => failed.push(format!("{} bytes of {n}", r.body.len())),
                    Err(e) => failed.push(e.to_string()),
                }
            }
            if !failed.is_empty() {
                report.push(format!(
                    "{n}: {} of {RUNS} failed: {failed:?}",
                    failed.len()
                ));
            }
        }
        assert!(report.is_empty(), "{report:#?}");
    });
}

fn client_h2c_takes_node_bodies_at_window_edges() {
    client_takes_node_bodies_at_window_edges(false);
}

fn client_tls_takes_node_bodies_at_window_edges() {
    client_takes_node_bodies_at_window_edges(true);
}

/// The actor API (the tests' client, `support/client.rs`: a subscriber
/// actor and its handlers), one connection per run: every body whole, no error, no reset
/// notification.
fn actor_api_takes_node_bodies_at_window_edges(tls: bool) {
    let cert = tls.then(Cert::new);
    let (_node, port) = node_sized_server(cert.as_ref());
    in_actix(SIZED_LIMIT, async move {
        let mut report = Vec::new();
        for n in SIZES {
            let want = sized_body(n);
            let uri: http::Uri = format!("http://127.0.0.1:{port}/{n}").parse().unwrap();
            let mut failed = Vec::new();
            for _ in 0..RUNS {
                let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .expect("connect");
                let _ = tcp.set_nodelay(true);
                let jobs = vec![Job::get(uri.clone())];
                let got = match &cert {
                    None => client::fetch(tcp, jobs, Options::default()).await,
                    Some(c) => {
                        let s = c.client().connect("127.0.0.1", tcp).await.expect("TLS");
                        client::fetch(s, jobs, Options::default()).await
                    }
                };
                match &got[..] {
                    [ex] if ex.error.is_none() && ex.body[..] == want[..] => {}
                    [ex] => failed.push(format!("{} bytes of {n}: {:?}", ex.body.len(), ex.error)),
                    _ => failed.push(format!("{} exchanges", got.len())),
                }
            }
            if !failed.is_empty() {
                report.push(format!(
                    "{n}: {} of {RUNS} failed: {failed:?}",
                    failed.len()
                ));
            }
        }
        assert!(report.is_empty(), "{report:#?}");
    });
}

fn actor_api_h2c_takes_node_bodies_at_window_edges() {
    actor_api_takes_node_bodies_at_window_edges(false);
}

fn actor_api_tls_takes_node_bodies_at_window_edges() {
    actor_api_takes_node_bodies_at_window_edges(true);
}

fn main() {
    harness::main(harness::tests![
        node_http2_client_get_echo_trailers: [Program("node")],
        client_h2c_takes_node_bodies_at_window_edges: [Program("node")],
        client_tls_takes_node_bodies_at_window_edges: [Program("node")],
        actor_api_h2c_takes_node_bodies_at_window_edges: [Program("node")],
        actor_api_tls_takes_node_bodies_at_window_edges: [Program("node")],
    ]);
}
