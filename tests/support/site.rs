//! The tests' server: the routes of `examples/server.rs`, written here as
//! the tests' own fixture (the example is the code a user copies; the tests
//! that check the example itself run its binary, see `ExampleServer`).
//!
//! | request | response |
//! |---|---|
//! | `GET /` | 200 [`HELLO`] |
//! | `GET /bytes/N` | N bytes ([`pattern_byte`]) in awaited `SendData`s |
//! | `POST /echo` | the request body streamed back as it arrives |
//! | `POST /sink` | the request body dropped, then its byte count |
//! | `GET /push` | [`PUSH_PAGE`], with [`PUSHED_PATH`] pushed when allowed |
//! | `GET /pushed.css` | [`PUSHED_CSS`] |
//! | `GET /delay/MS` | [`HELLO`] after MS milliseconds |
//! | `GET /trailers` | [`TRAILERS_BODY`], then `x-trailer-test: ok` |
//! | `HEAD` on any of them | the head `GET` sends, no content |
//! | anything else | 404 |
//!
//! Self-contained (no `super::`): `benches/client_paths.rs` includes it too.
#![allow(dead_code)] // each target uses a part

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use h2actor::prelude::*;
use h2actor::{Builder, ReleaseCapacity, TlsServer};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Body of `GET /`.
pub const HELLO: &[u8] = b"hello world\n";
/// Body of `GET /trailers`.
pub const TRAILERS_BODY: &[u8] = b"trailers follow\n";
/// Body of `GET /push`.
pub const PUSH_PAGE: &[u8] =
    b"<!doctype html>\n<html><head><link rel=\"stylesheet\" href=\"/pushed.css\"></head>\
<body>pushed</body></html>\n";
/// Path of the pushed resource.
pub const PUSHED_PATH: &str = "/pushed.css";
/// Body of the pushed resource.
pub const PUSHED_CSS: &[u8] = b"body { color: green }\n";
/// Each `SendData` of `/bytes/N` (as the example server's: 26 × 10080).
const CHUNK: usize = 26 * 10080;

/// Byte `i` of every `/bytes/N` body.
pub fn pattern_byte(i: u64) -> u8 {
    b'a' + (i % 26) as u8
}

/// What a `GET` route answers (a `HEAD` sends its head only).
enum Answer {
    Fixed(StatusCode, &'static str, Bytes),
    Bytes(u64),
    Trailers,
    Push,
    Delay(Duration),
}

fn route_get(path: &str) -> Answer {
    let text = |status, body: &'static [u8]| Answer::Fixed(status, "text/plain", body.into());
    let number = |prefix: &str| path.strip_prefix(prefix)?.parse::<u64>().ok();
    match path {
        "/" => text(StatusCode::OK, HELLO),
        "/trailers" => Answer::Trailers,
        "/push" => Answer::Push,
        PUSHED_PATH => Answer::Fixed(StatusCode::OK, "text/css", PUSHED_CSS.into()),
        _ => match (number("/delay/"), number("/bytes/")) {
            (Some(ms), _) if ms <= 60_000 => Answer::Delay(Duration::from_millis(ms)),
            (_, Some(n)) if n <= 1 << 30 => Answer::Bytes(n),
            _ if path.starts_with("/delay/") || path.starts_with("/bytes/") => {
                text(StatusCode::BAD_REQUEST, b"bad number\n")
            }
            _ => not_found(),
        },
    }
}

fn not_found() -> Answer {
    Answer::Fixed(StatusCode::NOT_FOUND, "text/plain", "not found\n".into())
}

/// A response head; `len` becomes `content-length`.
fn response(status: StatusCode, content_type: &'static str, len: Option<u64>) -> Response<()> {
    let mut r = Response::new(());
    *r.status_mut() = status;
    let headers = r.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(len) = len {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    r
}

fn head_of(answer: &Answer) -> Response<()> {
    match answer {
        Answer::Fixed(status, ty, body) => response(*status, ty, Some(body.len() as u64)),
        Answer::Bytes(n) => response(StatusCode::OK, "application/octet-stream", Some(*n)),
        Answer::Trailers => response(StatusCode::OK, "text/plain", None),
        Answer::Push => response(StatusCode::OK, "text/html", Some(PUSH_PAGE.len() as u64)),
        Answer::Delay(_) => response(StatusCode::OK, "text/plain", Some(HELLO.len() as u64)),
    }
}

/// The subscriber of every connection on one thread.
#[derive(Default)]
pub struct Site {
    /// `/echo` streams: chunks waiting to go back, and whether one is in flight.
    echoes: HashMap<H2Stream, (VecDeque<(Bytes, bool)>, bool)>,
    /// `/sink` streams: bytes received so far.
    sinks: HashMap<H2Stream, u64>,
}

impl Actor for Site {
    type Context = Context<Self>;
}

thread_local! {
    static SITE: RefCell<Option<(Addr<Site>, Subscriber)>> = const { RefCell::new(None) };
}

impl Site {
    /// The subscriber for a new connection: this thread's `Site` (started
    /// with the thread's first connection, or again in a new actix system).
    pub fn subscriber() -> Subscriber {
        SITE.with_borrow_mut(|site| match site {
            Some((addr, subscriber)) if addr.connected() => subscriber.clone(),
            _ => {
                let addr = Site::default().start();
                let subscriber = Subscriber::new(&addr)
                    .data(&addr)
                    .trailers(&addr)
                    .reset(&addr)
                    .closed(&addr);
                *site = Some((addr, subscriber.clone()));
                subscriber
            }
        })
    }

    fn route(&mut self, stream: H2Stream, req: Request<()>, end: bool, ctx: &mut Context<Self>) {
        let path = req.uri().path();
        match (req.method(), path) {
            (&Method::GET, _) => self.answer(stream, &req, route_get(path), ctx),
            (&Method::HEAD, _) => stream.do_send(SendHeaders {
                head: head_of(&route_get(path)).into(),
                end_stream: true,
            }),
            (&Method::POST, "/echo") => {
                let head = response(StatusCode::OK, "application/octet-stream", None);
                stream.do_send(SendHeaders {
                    head: head.into(),
                    end_stream: end,
                });
                if !end {
                    self.echoes.insert(stream, Default::default());
                }
            }
            (&Method::POST, "/sink") if end => {
                let zero = Answer::Fixed(StatusCode::OK, "text/plain", "0\n".into());
                self.answer(stream, &req, zero, ctx)
            }
            (&Method::POST, "/sink") => {
                self.sinks.insert(stream, 0);
            }
            _ => self.answer(stream, &req, not_found(), ctx),
        }
    }

    fn answer(
        &mut self,
        stream: H2Stream,
        req: &Request<()>,
        answer: Answer,
        ctx: &mut Context<Self>,
    ) {
        let head = head_of(&answer);
        match answer {
            Answer::Fixed(_, _, body) => stream.do_send(SendMessage::new(head).body(body)),
            Answer::Bytes(n) => {
                ctx.spawn(stream_bytes(stream, head, n).into_actor(self));
            }
            Answer::Delay(d) => {
                ctx.run_later(d, move |_, _| {
                    stream.do_send(SendMessage::new(head).body(HELLO));
                });
            }
            Answer::Trailers => {
                // Three messages on purpose: HEADERS, DATA, trailing HEADERS.
                stream.do_send(SendHeaders {
                    head: head.into(),
                    end_stream: false,
                });
                stream.do_send(SendData {
                    data: Bytes::from_static(TRAILERS_BODY),
                    end_stream: false,
                });
                let mut trailers = HeaderMap::new();
                trailers.insert("x-trailer-test", HeaderValue::from_static("ok"));
                stream.do_send(SendTrailers { trailers });
            }
            Answer::Push => {
                ctx.spawn(push(stream, pushed_request(req)).into_actor(self));
            }
        }
    }

    /// Sends the next queued chunk of an echo stream back, one at a time;
    /// its bytes go back to the receive windows as it is handed on.
    fn pump(&mut self, stream: H2Stream, ctx: &mut Context<Self>) {
        let Some((queue, in_flight)) = self.echoes.get_mut(&stream) else {
            return;
        };
        if *in_flight {
            return;
        }
        let Some((data, end_stream)) = queue.pop_front() else {
            return;
        };
        *in_flight = true;
        if !data.is_empty() {
            stream.do_send(ReleaseCapacity { n: data.len() });
        }
        let send = stream.send(SendData { data, end_stream });
        ctx.spawn(send.into_actor(self).map(move |res, site, ctx| match res {
            Ok(Ok(())) if !end_stream => {
                if let Some((_, in_flight)) = site.echoes.get_mut(&stream) {
                    *in_flight = false;
                }
                site.pump(stream, ctx);
            }
            _ => {
                site.echoes.remove(&stream);
            }
        }));
    }
}

/// `/bytes/N`: N bytes in chunks of [`CHUNK`], each `SendData` awaited.
async fn stream_bytes(stream: H2Stream, head: Response<()>, n: u64) {
    static PATTERN: OnceLock<Bytes> = OnceLock::new();
    let chunk = PATTERN.get_or_init(|| {
        (0..CHUNK as u64)
            .map(pattern_byte)
            .collect::<Vec<u8>>()
            .into()
    });
    let head = SendHeaders {
        head: head.into(),
        end_stream: n == 0,
    };
    if !matches!(stream.send(head).await, Ok(Ok(()))) {
        return;
    }
    let mut left = n;
    while left > 0 {
        let len = left.min(CHUNK as u64);
        left -= len;
        let data = chunk.slice(..len as usize);
        let end_stream = left == 0;
        if !matches!(stream.send(SendData { data, end_stream }).await, Ok(Ok(()))) {
            return;
        }
    }
}

/// The request a push of `/pushed.css` answers: the page's scheme and authority.
fn pushed_request(req: &Request<()>) -> Option<Request<()>> {
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let authority = req
        .uri()
        .authority()
        .map(|a| a.as_str())
        .or(host)
        .unwrap_or("localhost");
    let scheme = req.uri().scheme_str().unwrap_or("http");
    Request::get(format!("{scheme}://{authority}{PUSHED_PATH}"))
        .body(())
        .ok()
}

/// `/push`: PUSH_PROMISE first (RFC 9113 §8.4), then the page, then the
/// pushed response; a client that disabled push gets the page only.
async fn push(stream: H2Stream, request: Option<Request<()>>) {
    let pushed = match request {
        Some(request) => match stream.send(Promise { request }).await {
            Ok(Ok(pushed)) => Some(pushed),
            Ok(Err(_)) => None,
            Err(_) => return,
        },
        None => None,
    };
    let page = response(StatusCode::OK, "text/html", None);
    stream.do_send(SendMessage::new(page).body(PUSH_PAGE));
    if let Some(pushed) = pushed {
        let css = response(StatusCode::OK, "text/css", None);
        pushed.do_send(SendMessage::new(css).body(PUSHED_CSS));
    }
}

impl Handler<RecvHeaders> for Site {
    type Result = ();
    fn handle(&mut self, msg: RecvHeaders, ctx: &mut Context<Self>) {
        match msg.head {
            Head::Request(req) => self.route(msg.stream, req, msg.end_stream, ctx),
            Head::Response(_) => msg.stream.do_send(Reset {
                code: ErrorCode::PROTOCOL_ERROR,
            }),
        }
    }
}

impl Handler<RecvData> for Site {
    type Result = ();
    fn handle(&mut self, msg: RecvData, ctx: &mut Context<Self>) {
        if let Some((queue, _)) = self.echoes.get_mut(&msg.stream) {
            queue.push_back((msg.data, msg.end_stream));
            self.pump(msg.stream, ctx);
            return;
        }
        if !msg.data.is_empty() {
            msg.stream.do_send(ReleaseCapacity { n: msg.data.len() });
        }
        if let Some(n) = self.sinks.get_mut(&msg.stream) {
            *n += msg.data.len() as u64;
            if msg.end_stream {
                let body = Bytes::from(format!("{n}\n"));
                self.sinks.remove(&msg.stream);
                let head = response(StatusCode::OK, "text/plain", Some(body.len() as u64));
                msg.stream.do_send(SendMessage::new(head).body(body));
            }
        }
    }
}

impl Handler<RecvTrailers> for Site {
    type Result = ();
    fn handle(&mut self, msg: RecvTrailers, ctx: &mut Context<Self>) {
        if let Some((queue, _)) = self.echoes.get_mut(&msg.stream) {
            queue.push_back((Bytes::new(), true));
            self.pump(msg.stream, ctx);
        }
    }
}

impl Handler<RecvReset> for Site {
    type Result = ();
    fn handle(&mut self, msg: RecvReset, _: &mut Context<Self>) {
        self.echoes.remove(&msg.stream);
        self.sinks.remove(&msg.stream);
    }
}

impl Handler<Closed> for Site {
    type Result = ();
    fn handle(&mut self, _: Closed, _: &mut Context<Self>) {}
}

/// The settings of every connection: the receive windows reopen only as
/// the `Site` hands data on (`/echo`) or drops it.
pub fn builder() -> Builder {
    Connection::builder(Role::Server).auto_release(false)
}

/// Serves one accepted connection on the current arbiter.
pub fn start_connection(tcp: TcpStream) -> Addr<Connection> {
    let _ = tcp.set_nodelay(true);
    builder().start(tcp, Site::subscriber())
}

/// Binds with a backlog of 1024 (128 overflowed with 256 simultaneous connects).
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// How [`serve_with`] listens.
#[derive(Debug, Clone)]
pub struct Options {
    pub addr: SocketAddr,
    /// Arbiters; `None`: one per core.
    pub threads: Option<usize>,
    /// HTTP/2 over TLS (ALPN `h2`) instead of h2c.
    pub tls: Option<Arc<TlsServer>>,
    /// `Config::adaptive_window`.
    pub adaptive_window: Option<u32>,
}

impl Options {
    pub fn new(addr: SocketAddr) -> Self {
        Options {
            addr,
            threads: None,
            tls: None,
            adaptive_window: None,
        }
    }
}

/// Serves inside a running actix system with h2actor's `Listener`, a
/// [`Site`] per thread; the listener serves as long as it lives.
pub fn serve_with(options: &Options) -> io::Result<Listener> {
    let config = Config {
        adaptive_window: options.adaptive_window,
        ..Config::default()
    };
    let mut listener = Listener::builder(options.addr).connection(builder().config(config));
    if let Some(n) = options.threads {
        listener = listener.threads(n);
    }
    if let Some(tls) = &options.tls {
        listener = listener.tls(tls.clone());
    }
    listener.start(|_peer| Site::subscriber())
}
