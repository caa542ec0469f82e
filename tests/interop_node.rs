//! Our server against Node's built-in `http2` client (h2c: `http2.connect`
//! with an `http://` URL uses prior knowledge).

mod support;

use std::process::Command;
use std::time::Duration;

use support::harness::{self, Need::Program};
use support::{demo_server, run, tool, TempDir, TestServer};

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
    assert_eq!(
        v["root"]["body"],
        std::str::from_utf8(demo_server::HELLO).unwrap()
    );
    assert_eq!(v["echo"]["status"], 200);
    assert_eq!(v["echo"]["len"], 1_000_000);
    assert_eq!(v["echo"]["same"], true);
    assert_eq!(v["trailers"]["status"], 200);
    assert_eq!(
        v["trailers"]["body"],
        std::str::from_utf8(demo_server::TRAILERS_BODY).unwrap()
    );
    assert_eq!(v["trailers"]["trailer"], "ok");
}

fn main() {
    harness::main(harness::tests![
        node_http2_client_get_echo_trailers: [Program("node")],
    ]);
}
