//! WebSockets over HTTP/2 (RFC 8441): a TLS server that serves a page at
//! `/` whose JavaScript opens `wss://<same origin>/ws`, and accepts that
//! WebSocket as an extended CONNECT (`:method = CONNECT`, `:protocol =
//! websocket`) on the page's own HTTP/2 connection. Each WebSocket's stream
//! becomes a byte pipe ([`StreamIo`]) handed to `tokio-tungstenite`, which
//! echoes every message.
//!
//! ```text
//! cargo run --release --example websocket -- --addr 127.0.0.1:8443
//! chromium --ignore-certificate-errors https://127.0.0.1:8443/
//! ```
//!
//! The page sends 1,000 messages of 1 B to 64 KiB (deterministic sizes and
//! bytes, every fifth one text), checks every echo and writes the result
//! into `<div id=result>` (`ok 1000 ...` or what went wrong): the browser
//! test (`tests/interop_chromium.rs`) reads it with `--dump-dom`.
//!
//! The certificate is self-signed for `localhost` and `127.0.0.1` (made
//! with `rcgen` at start), so a browser needs `--ignore-certificate-errors`
//! or an exception. A browser opens a WebSocket over HTTP/2 only when the
//! server's SETTINGS carry SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441
//! §3): that is `Config::enable_connect_protocol`.

use std::net::SocketAddr;
use std::sync::Arc;

use actix::prelude::*;
use futures::{SinkExt, StreamExt};
use h2actor::prelude::*;
use h2actor::{Error, TlsServer};
use h2actor::{Protocol, StreamIo};
use tokio_tungstenite::tungstenite::protocol::{Role as WsRole, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

/// The page: opens the WebSocket, sends the messages, checks the echoes.
const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>h2actor WebSocket echo</title></head>
<body>
<h1>WebSocket over HTTP/2 echo</h1>
<div id="result">pending</div>
<script>
const N = 1000;
// Deterministic sizes: 1 B, 64 KiB, and 998 in between.
function size(i) {
  if (i === 0) return 1;
  if (i === 1) return 65536;
  return 1 + ((i * 7919 + i * i * 104729) % 65536);
}
// Deterministic bytes (xorshift seeded by the index); every fifth message
// is text (ASCII letters), the others binary.
function message(i) {
  const n = size(i);
  let x = (i * 2654435761) >>> 0 || 1;
  const b = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[k] = (i % 5 === 0) ? 97 + (x % 26) : x & 255;
  }
  return (i % 5 === 0) ? new TextDecoder().decode(b) : b;
}
function same(got, want) {
  if (typeof want === 'string') return got === want;
  if (!(got instanceof ArrayBuffer)) return false;
  const g = new Uint8Array(got);
  if (g.length !== want.length) return false;
  for (let k = 0; k < g.length; k++) if (g[k] !== want[k]) return false;
  return true;
}
const result = document.getElementById('result');
const started = performance.now();
const ws = new WebSocket('wss://' + location.host + '/ws');
ws.binaryType = 'arraybuffer';
let next = 0, got = 0, bytes = 0, failed = false;
const sent = [];
function fail(why) {
  if (!failed) { failed = true; result.textContent = 'fail ' + why; }
  try { ws.close(); } catch (e) {}
}
// Keep at most 64 messages unanswered: bounded on both sides.
function pump() {
  while (!failed && next < N && next - got < 64) {
    const m = message(next++);
    sent.push(m);
    ws.send(m);
  }
}
ws.onopen = pump;
ws.onmessage = (e) => {
  const want = sent.shift();
  if (!same(e.data, want)) return fail('echo ' + got + ' differs (size ' + size(got) + ')');
  bytes += (typeof want === 'string') ? want.length : want.length;
  got++;
  if (got === N) {
    const ms = Math.round(performance.now() - started);
    result.textContent = 'ok ' + got + ' bytes ' + bytes + ' ms ' + ms;
    ws.close(1000, 'done');
  } else {
    pump();
  }
};
ws.onerror = () => fail('websocket error after ' + got);
ws.onclose = (e) => { if (got < N) fail('closed after ' + got + ' (code ' + e.code + ')'); };
</script>
</body></html>
"#;

/// The subscriber of every connection: serves the page and accepts the
/// WebSockets.
struct Site;

impl Actor for Site {
    type Context = Context<Self>;
}

fn status(code: u16) -> SendMessage {
    let head = http::Response::builder()
        .status(code)
        .body(())
        .expect("a valid status");
    SendMessage::new(head)
}

impl Handler<RecvHeaders> for Site {
    type Result = ();
    fn handle(&mut self, req: RecvHeaders, _: &mut Context<Self>) {
        let Head::Request(r) = &req.head else { return };
        let protocol = r.extensions().get::<Protocol>().map(|p| p.0.clone());
        match (r.method(), r.uri().path(), protocol) {
            (&http::Method::GET | &http::Method::HEAD, "/", None) => {
                let head = http::Response::builder()
                    .header("content-type", "text/html; charset=utf-8")
                    .header("cache-control", "no-store")
                    .body(())
                    .expect("a valid head");
                req.stream.do_send(SendMessage::new(head).body(PAGE));
            }
            (&http::Method::CONNECT, "/ws", Some(p)) if &p[..] == b"websocket" => {
                // RFC 8441 §5: the version is that of RFC 6455 (no key,
                // no accept over HTTP/2); anything else is refused.
                let version = r.headers().get("sec-websocket-version");
                if version.is_some_and(|v| v == "13") {
                    actix::spawn(echo(req.stream.clone(), req.conn, req.id));
                } else {
                    let mut answer = status(400);
                    if let Head::Response(h) = &mut answer.head {
                        h.headers_mut().insert(
                            "sec-websocket-version",
                            http::HeaderValue::from_static("13"),
                        );
                    }
                    req.stream.do_send(answer);
                }
            }
            (&http::Method::CONNECT, _, _) => req.stream.do_send(status(404)),
            _ => req.stream.do_send(status(404)),
        }
    }
}

/// Answers the extended CONNECT with 200 and echoes the WebSocket's
/// messages until it closes.
async fn echo(stream: H2Stream, conn: ConnectionId, id: StreamId) {
    // The pipe first, then the 200: the browser sends nothing before it.
    let io = match StreamIo::new(stream.clone()).await {
        Ok(io) => io,
        Err(e) => return tracing::info!(%conn, %id, "websocket: {e}"),
    };
    let ok = http::Response::new(());
    let sent = stream.send(SendHeaders {
        head: ok.into(),
        end_stream: false,
    });
    if let Err(e) = sent.await.map_err(Error::from).and_then(|r| r) {
        return tracing::info!(%conn, %id, "websocket: cannot answer: {e}");
    }
    tracing::info!(%conn, %id, "websocket open (extended CONNECT, RFC 8441)");
    // Bounded: one message at most 1 MiB (the page sends up to 64 KiB).
    let config = WebSocketConfig::default()
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20));
    let mut ws = WebSocketStream::from_raw_socket(io, WsRole::Server, Some(config)).await;
    let (mut messages, mut bytes) = (0u64, 0u64);
    while let Some(m) = ws.next().await {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                tracing::info!(%conn, %id, "websocket: {e}");
                return;
            }
        };
        match m {
            WsMessage::Text(_) | WsMessage::Binary(_) => {
                messages += 1;
                bytes += m.len() as u64;
                // `send` awaits the pipe: the peer's window is the limit.
                if let Err(e) = ws.send(m).await {
                    tracing::info!(%conn, %id, "websocket: {e}");
                    return;
                }
            }
            // Pings are answered by the codec; a Close is answered and
            // ends the stream below.
            _ => {}
        }
    }
    tracing::info!(%conn, %id, messages, bytes, "websocket closed");
    // The codec answered the Close; END_STREAM ends our side.
    let mut io = ws.into_inner();
    let _ = tokio::io::AsyncWriteExt::shutdown(&mut io).await;
}

/// A self-signed certificate for `localhost` and `127.0.0.1`.
fn self_signed() -> Result<TlsServer, String> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let c = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot make a certificate: {e}"))?;
    TlsServer::from_pem(
        c.cert.pem().as_bytes(),
        c.signing_key.serialize_pem().as_bytes(),
    )
    .map_err(|e| e.to_string())
}

const USAGE: &str = "usage: websocket [--addr 127.0.0.1:8443]";

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut addr: SocketAddr = "127.0.0.1:8443".parse().expect("an address");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--addr", Some(v)) => match v.parse() {
                Ok(v) => addr = v,
                Err(e) => return eprintln!("--addr {v}: {e}\n{USAGE}"),
            },
            _ => return eprintln!("{USAGE}"),
        }
    }
    let tls = match self_signed() {
        Ok(tls) => Arc::new(tls),
        Err(e) => return eprintln!("{e}"),
    };
    let system = actix::System::new();
    let r = system.block_on(async move {
        let connection = Connection::builder(Role::Server).config(Config {
            enable_connect_protocol: true,
            ..Config::default()
        });
        let listener = Listener::builder(addr)
            .threads(1)
            .tls(tls)
            .connection(connection)
            .start(|_peer| Subscriber::new(&Site.start()))?;
        // The line the browser test waits for (with the chosen port).
        println!("listening on https://{}/", listener.local_addr());
        tokio::signal::ctrl_c().await?;
        listener.stop();
        std::io::Result::Ok(())
    });
    if let Err(e) = r {
        eprintln!("websocket: {e}");
        std::process::exit(1);
    }
}
