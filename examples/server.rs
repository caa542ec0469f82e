//! An HTTP/2 server (h2c: prior knowledge or the HTTP/1.1 upgrade, on one
//! plain port; or TLS with ALPN `h2`) written with h2actor's actors: the
//! code to copy when you write your own.
//!
//! ```text
//! cargo run --release --example server -- --addr 127.0.0.1:8080 [--threads N]
//!     [--max-connections N] [--reuse-port] [--grace SECS] [--stats SECS]
//!     [--adaptive-window MIB]
//! curl --http2-prior-knowledge http://127.0.0.1:8080/
//! curl --http2 http://127.0.0.1:8080/          # HTTP/1.1 Upgrade: h2c
//! RUST_LOG=h2actor=debug,server=debug cargo run --release --example server
//! kill -USR1 $PID   # log the listener's counters
//! kill -TERM $PID   # graceful shutdown: GOAWAY, requests finish (--grace, 10 s), exit 0
//!
//! # TLS with a self-signed certificate for localhost (it prints the curl command)
//! cargo run --release --example server -- --tls
//! # TLS with your certificate chain and key (PEM)
//! cargo run --release --example server -- --addr 0.0.0.0:8443 --cert cert.pem --key key.pem
//! ```
//!
//! | request | response |
//! |---|---|
//! | `GET /` | 200 `text/plain` `hello world\n` |
//! | `GET /bytes/N` | N bytes (`abc…z` repeated) streamed under flow control |
//! | `POST /echo` | the request body streamed back as it arrives |
//! | `POST /sink` | the request body read and dropped, then 200 with its byte count |
//! | `GET /push` | a small page, plus `/pushed.css` pushed when the client allows push |
//! | `GET /delay/MS` | `hello world\n` after MS milliseconds (at most 60,000): for timeouts |
//! | `GET /pushed.css` | the stylesheet `/push` pushes, for clients that disable push (browsers) |
//! | `GET /trailers` | a short body, then the trailer field `x-trailer-test: ok` |
//! | `HEAD` on any of them | the header fields `GET` would send, no content |
//! | anything else | 404 |
//!
//! How it is built: one [`Site`] actor per thread is the subscriber of the
//! streams of every connection on that thread (an actor per connection
//! works too, at ~1 KiB more per idle connection). It receives a `RecvHeaders` per
//! request and answers on the request's stream (`msg.stream`, an
//! `H2Stream`) with `SendMessage` (a whole response), or
//! `SendHeaders` + awaited `SendData` (a streamed one). It subscribes to
//! `RecvData`, `RecvTrailers` and `RecvReset` too, for `/echo`.
//!
//! Backpressure: connections are built with `auto_release(false)`, so the
//! receive windows reopen only as `/echo` hands each chunk on; every
//! `SendData` of a streamed body is awaited before the next one is sent.
//! Serving: h2actor's `Listener`, N arbiters (one thread each, `--threads`,
//! default one per core) accepting on one socket; a connection stays on the
//! thread that took it. SIGTERM or SIGINT shuts down gracefully (the socket
//! closes, every connection gets GOAWAY, requests in flight finish within
//! `--grace` seconds, then the process exits 0); a second signal forces.
//! That is `Listener::run_until_signal(grace)`.
//!
//! TLS: each accepted socket goes through [`TlsServer::accept`] in a task
//! of its own (ALPN `h2` or the alert `no_application_protocol`, under a
//! handshake deadline), then becomes a connection like a plain one.
//! `--tls` without `--cert`/`--key` makes a self-signed certificate with
//! the `rcgen` crate (a dev-dependency: only this example needs it) for
//! `localhost`, `127.0.0.1` and `::1`, a server certificate (`serverAuth`,
//! no basic constraints, no key usage) that curl, our client and browsers
//! accept once trusted (`curl --cacert`, `client --cacert`; Firefox or
//! Chromium: import it as a CA, `certutil -A -t "C,," -i cert.pem`). Its
//! directory is removed when the server exits.
//!
//! The interop tests run this example's binary as the README's run
//! command starts it (`tests/interop_curl.rs`, `interop_nghttp.rs`,
//! `interop_listener.rs`, ...).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use h2actor::actor::ShutdownReport;
use h2actor::prelude::*;
use h2actor::{Builder, ReleaseCapacity, TlsServer};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};

/// Body of `GET /`.
const HELLO: &[u8] = b"hello world\n";
/// Body of `GET /trailers`.
const TRAILERS_BODY: &[u8] = b"trailers follow\n";
/// Body of `GET /push`.
const PUSH_PAGE: &[u8] =
    b"<!doctype html>\n<html><head><link rel=\"stylesheet\" href=\"/pushed.css\"></head>\
<body>pushed</body></html>\n";
/// Path of the pushed resource.
const PUSHED_PATH: &str = "/pushed.css";
/// Body of the pushed resource.
const PUSHED_CSS: &[u8] = b"body { color: green }\n";
/// Largest `N` accepted by `/bytes/N` (1 GiB).
const MAX_BYTES: u64 = 1 << 30;
/// Size of each `SendData` of `/bytes/N`: about 256 KiB (the connection
/// cuts it into frames and writes them with one `writev`), a multiple of 26
/// so every chunk is a slice of one shared buffer. Each awaited `SendData`
/// costs a message round trip and leaves the writer one chunk to write:
/// 16 KiB chunks capped a 64 MiB download at ~0.7 GB/s here; 64 KiB ones
/// gave 1.6 to 6.5 GB/s from run to run (median of 5: 3.8); 256 KiB ones
/// 5.2 GB/s (BENCHMARKS.md).
const CHUNK: usize = 26 * 10080;

/// Byte `i` of every `/bytes/N` body.
fn pattern_byte(i: u64) -> u8 {
    b'a' + (i % 26) as u8
}

fn pattern_chunk() -> Bytes {
    static CHUNK_BYTES: OnceLock<Bytes> = OnceLock::new();
    CHUNK_BYTES
        .get_or_init(|| {
            (0..CHUNK as u64)
                .map(pattern_byte)
                .collect::<Vec<u8>>()
                .into()
        })
        .clone()
}

// ------------------------------------------------------------------ routes

/// What a `GET` route answers; a `HEAD` sends the same head without content
/// (RFC 9110 §9.3.2).
enum Answer {
    /// A whole body known now.
    Fixed(StatusCode, &'static str, Bytes),
    /// `/bytes/N`: N bytes streamed under flow control.
    Bytes(u64),
    /// `/trailers`: a body, then trailers.
    Trailers,
    /// `/push`: the page, with `/pushed.css` pushed first.
    Push,
    /// `/delay/MS`: `hello world` after MS milliseconds.
    Delay(Duration),
}

fn route_get(path: &str) -> Answer {
    match path {
        "/" => Answer::Fixed(StatusCode::OK, "text/plain", Bytes::from_static(HELLO)),
        "/trailers" => Answer::Trailers,
        "/push" => Answer::Push,
        p if p.starts_with("/delay/") => match p["/delay/".len()..].parse::<u64>() {
            Ok(ms) if ms <= 60_000 => Answer::Delay(Duration::from_millis(ms)),
            _ => Answer::Fixed(
                StatusCode::BAD_REQUEST,
                "text/plain",
                Bytes::from_static(b"/delay/MS takes 0 <= MS <= 60000\n"),
            ),
        },
        // Also on a plain request: browsers disable push (Chromium and
        // Firefox both), and fetch the stylesheet the page links.
        PUSHED_PATH => Answer::Fixed(StatusCode::OK, "text/css", Bytes::from_static(PUSHED_CSS)),
        p if p.starts_with("/bytes/") => match p["/bytes/".len()..].parse::<u64>() {
            Ok(n) if n <= MAX_BYTES => Answer::Bytes(n),
            _ => Answer::Fixed(
                StatusCode::BAD_REQUEST,
                "text/plain",
                Bytes::from(format!("/bytes/N takes 0 <= N <= {MAX_BYTES}\n")),
            ),
        },
        _ => not_found(),
    }
}

fn not_found() -> Answer {
    Answer::Fixed(
        StatusCode::NOT_FOUND,
        "text/plain",
        Bytes::from_static(b"not found\n"),
    )
}

/// A response head; `len` becomes `content-length`.
fn response(status: StatusCode, content_type: &'static str, len: Option<u64>) -> Response<()> {
    let mut r = Response::new(());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(len) = len {
        r.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    r
}

/// The head `answer` starts with. A `SendMessage` declares its body's
/// length itself (`content-length`, unless the head has one); a body sent
/// in `SendData` chunks declares it here.
fn head_of(answer: &Answer) -> Response<()> {
    match answer {
        Answer::Fixed(status, ty, _) => response(*status, ty, None),
        Answer::Bytes(n) => response(StatusCode::OK, "application/octet-stream", Some(*n)),
        Answer::Trailers => response(StatusCode::OK, "text/plain", None),
        Answer::Push => response(StatusCode::OK, "text/html", None),
        Answer::Delay(_) => response(StatusCode::OK, "text/plain", None),
    }
}

// ------------------------------------------------------------- the actor

/// The handler of every connection on one thread: the subscriber of all
/// their streams.
#[derive(Default)]
struct Site {
    /// `/echo` streams, keyed by their stream's address (ids repeat across
    /// connections; an `H2Stream` does not).
    echoes: HashMap<H2Stream, Echo>,
    /// `/sink` streams (the upload benchmark of `benches/h2load.sh`): bytes
    /// received so far.
    sinks: HashMap<H2Stream, u64>,
}

/// One `/echo` stream: received chunks waiting to be sent back, one in flight.
#[derive(Default)]
struct Echo {
    queue: VecDeque<(Bytes, bool)>,
    in_flight: bool,
}

impl Actor for Site {
    type Context = Context<Self>;
}

thread_local! {
    /// This thread's `Site` and its subscriber (see [`Site::subscriber`]).
    static SITE: RefCell<Option<(Addr<Site>, Subscriber)>> = const { RefCell::new(None) };
}

impl Site {
    /// The subscriber for a new connection: this thread's `Site` actor
    /// (started with the thread's first connection; a connection stays on
    /// the thread that accepted it), subscribed to what it handles (the
    /// rest takes h2actor's defaults). Cloning a subscriber costs a
    /// reference count.
    fn subscriber() -> Subscriber {
        SITE.with_borrow_mut(|site| match site {
            Some((addr, subscriber)) if addr.connected() => subscriber.clone(),
            // None yet, or the Site of an actix system that has stopped.
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
        tracing::debug!(method = %req.method(), path = req.uri().path(), "request");
        match *req.method() {
            Method::GET => self.answer(stream, &req, route_get(req.uri().path()), ctx),
            Method::HEAD => {
                // What GET sends, as one message: for a HEAD the library
                // declares the body's length and leaves the body out
                // (RFC 9110 §9.3.2).
                let answer = route_get(req.uri().path());
                let body = match &answer {
                    Answer::Fixed(_, _, body) => body.clone(),
                    Answer::Delay(_) => Bytes::from_static(HELLO),
                    Answer::Push => Bytes::from_static(PUSH_PAGE),
                    Answer::Bytes(_) | Answer::Trailers => Bytes::new(),
                };
                stream.do_send(SendMessage::new(head_of(&answer)).body(body));
            }
            Method::POST if req.uri().path() == "/echo" => {
                let head = response(StatusCode::OK, "application/octet-stream", None);
                stream.do_send(SendHeaders {
                    head: head.into(),
                    end_stream: end,
                });
                if !end {
                    self.echoes.insert(stream, Echo::default());
                }
            }
            Method::POST if req.uri().path() == "/sink" => {
                if end {
                    let zero = Bytes::from_static(b"0\n");
                    let answer = Answer::Fixed(StatusCode::OK, "text/plain", zero);
                    self.answer(stream, &req, answer, ctx);
                } else {
                    self.sinks.insert(stream, 0);
                }
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
            // One message: HEADERS + DATA (+ END_STREAM).
            Answer::Fixed(_, _, body) => stream.do_send(SendMessage::new(head).body(body)),
            Answer::Bytes(n) => {
                ctx.spawn(stream_bytes(stream, head, n).into_actor(self));
            }
            Answer::Delay(d) => {
                ctx.run_later(d, move |_, _| {
                    stream.do_send(SendMessage::new(head).body(Bytes::from_static(HELLO)));
                });
            }
            Answer::Trailers => {
                // Three messages on purpose (`SendMessage` could do it in one).
                stream.do_send(SendHeaders {
                    head: head.into(),
                    end_stream: false,
                });
                let data = Bytes::from_static(TRAILERS_BODY);
                stream.do_send(SendData {
                    data,
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

    /// Sends the next queued chunk of an echo stream back, if none is in
    /// flight. Its bytes go back to the receive windows when it is handed
    /// to `SendData`: at most one window plus one chunk is buffered.
    fn pump(&mut self, stream: H2Stream, ctx: &mut Context<Self>) {
        let Some(echo) = self.echoes.get_mut(&stream) else {
            return;
        };
        if echo.in_flight {
            return;
        }
        let Some((data, end_stream)) = echo.queue.pop_front() else {
            return;
        };
        echo.in_flight = true;
        if !data.is_empty() {
            stream.do_send(ReleaseCapacity { n: data.len() });
        }
        let send = stream.send(SendData { data, end_stream });
        ctx.spawn(send.into_actor(self).map(move |res, act, ctx| match res {
            Ok(Ok(())) if !end_stream => {
                if let Some(echo) = act.echoes.get_mut(&stream) {
                    echo.in_flight = false;
                }
                act.pump(stream, ctx);
            }
            _ => {
                act.echoes.remove(&stream);
            }
        }));
    }
}

/// `/bytes/N`: N bytes in chunks of [`CHUNK`], each `SendData` awaited (it
/// resolves once the chunk is inside the peer's window: backpressure).
async fn stream_bytes(stream: H2Stream, head: Response<()>, n: u64) {
    let sent = stream
        .send(SendHeaders {
            head: head.into(),
            end_stream: n == 0,
        })
        .await;
    if !matches!(sent, Ok(Ok(()))) {
        return;
    }
    let chunk = pattern_chunk();
    let mut left = n;
    while left > 0 {
        let len = left.min(CHUNK as u64);
        left -= len;
        let data = chunk.slice(..len as usize);
        let sent = stream
            .send(SendData {
                data,
                end_stream: left == 0,
            })
            .await;
        if !matches!(sent, Ok(Ok(()))) {
            tracing::debug!(left, "/bytes stream ended early");
            return;
        }
    }
}

/// The request a push of `/pushed.css` answers: same scheme and authority.
fn pushed_request(req: &Request<()>) -> Option<Request<()>> {
    let authority = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            req.headers()
                .get(http::header::HOST)?
                .to_str()
                .ok()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let uri = Uri::builder()
        .scheme(req.uri().scheme_str().unwrap_or("http"))
        .authority(authority)
        .path_and_query(PUSHED_PATH)
        .build()
        .ok()?;
    Request::get(uri).body(()).ok()
}

/// `/push`: PUSH_PROMISE first (RFC 9113 §8.4: before the response that
/// refers to it), then the page, then the pushed response. A client that
/// disabled push gets the page only.
async fn push(stream: H2Stream, request: Option<Request<()>>) {
    let pushed = match request {
        Some(request) => match stream.send(Promise { request }).await {
            Ok(Ok(pushed)) => Some(pushed),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "push not possible, page only");
                None
            }
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
            // A server never receives a response: the protocol refuses it.
            Head::Response(_) => msg.stream.do_send(Reset {
                code: ErrorCode::PROTOCOL_ERROR,
            }),
        }
    }
}

impl Handler<RecvData> for Site {
    type Result = ();
    fn handle(&mut self, msg: RecvData, ctx: &mut Context<Self>) {
        if let Some(echo) = self.echoes.get_mut(&msg.stream) {
            echo.queue.push_back((msg.data, msg.end_stream));
            self.pump(msg.stream, ctx);
        } else if let Some(n) = self.sinks.get_mut(&msg.stream) {
            // `/sink`: count, give the bytes back, answer the count at the end.
            *n += msg.data.len() as u64;
            if !msg.data.is_empty() {
                msg.stream.do_send(ReleaseCapacity { n: msg.data.len() });
            }
            if msg.end_stream {
                let body = Bytes::from(format!("{n}\n"));
                self.sinks.remove(&msg.stream);
                let head = response(StatusCode::OK, "text/plain", Some(body.len() as u64));
                msg.stream.do_send(SendMessage::new(head).body(body));
            }
        } else if !msg.data.is_empty() {
            // A body nobody reads: give its bytes straight back.
            msg.stream.do_send(ReleaseCapacity { n: msg.data.len() });
        }
    }
}

impl Handler<RecvTrailers> for Site {
    type Result = ();
    fn handle(&mut self, msg: RecvTrailers, ctx: &mut Context<Self>) {
        if let Some(echo) = self.echoes.get_mut(&msg.stream) {
            echo.queue.push_back((Bytes::new(), true));
            self.pump(msg.stream, ctx);
        }
    }
}

impl Handler<RecvReset> for Site {
    type Result = ();
    fn handle(&mut self, msg: RecvReset, _: &mut Context<Self>) {
        tracing::debug!(conn = %msg.conn, id = %msg.id, code = %msg.code, "stream reset");
        // An upload the client gave up: forget it.
        self.echoes.remove(&msg.stream);
        self.sinks.remove(&msg.stream);
    }
}

impl Handler<Closed> for Site {
    type Result = ();
    fn handle(&mut self, msg: Closed, _: &mut Context<Self>) {
        // The Site stays: it serves the thread's other connections.
        tracing::debug!(conn = %msg.conn, reason = ?msg.reason, "connection closed");
    }
}

// -------------------------------------------------------------- serving

/// The settings of every connection.
fn builder() -> Builder {
    Connection::builder(Role::Server).auto_release(false)
}

/// A running server: its address and its [`Listener`] (whose arbiters
/// serve as long as it lives).
struct Serving {
    /// The bound address (the port chosen when binding port 0).
    addr: SocketAddr,
    /// The acceptor and supervisor of the connections.
    listener: Listener,
}

/// How [`serve_with`] listens.
#[derive(Debug, Clone)]
struct Options {
    /// Where to listen.
    addr: SocketAddr,
    /// Arbiters (threads); `None`: one per core.
    threads: Option<usize>,
    /// Connections open at once; `None`: h2actor's default (10,000).
    max_connections: Option<usize>,
    /// `SO_REUSEPORT`: several server processes on one port.
    reuse_port: bool,
    /// HTTP/2 over TLS (ALPN `h2`) instead of h2c.
    tls: Option<Arc<TlsServer>>,
    /// Grow the receive windows to the link's bandwidth-delay product, up
    /// to this many bytes (`Config::adaptive_window`); `None`: fixed.
    adaptive_window: Option<u32>,
}

impl Options {
    /// Defaults for `addr`.
    fn new(addr: SocketAddr) -> Self {
        Options {
            addr,
            threads: None,
            max_connections: None,
            reuse_port: false,
            tls: None,
            adaptive_window: None,
        }
    }
}

/// Starts serving inside a running actix system: h2actor's `Listener`,
/// one arbiter per thread on one socket, a [`Site`] per thread.
fn serve_with(options: &Options) -> io::Result<Serving> {
    let mut connection = builder();
    if let Some(cap) = options.adaptive_window {
        connection = connection.config(Config {
            adaptive_window: Some(cap),
            ..Config::default()
        });
    }
    let mut listener = Listener::builder(options.addr)
        .connection(connection)
        .reuse_port(options.reuse_port);
    if let Some(n) = options.threads {
        listener = listener.threads(n);
    }
    if let Some(n) = options.max_connections {
        listener = listener.max_connections(n);
    }
    if let Some(tls) = &options.tls {
        listener = listener.tls(tls.clone());
    }
    let listener = listener.start(|_peer| Site::subscriber())?;
    Ok(Serving {
        addr: listener.local_addr(),
        listener,
    })
}

/// Serves until SIGTERM or SIGINT, then shuts down gracefully
/// (h2actor's [`Listener::run_until_signal`]: the listening socket closes,
/// every connection gets GOAWAY, requests in flight have `grace` to finish,
/// the rest are reset; a second signal forces at once). SIGUSR1, and every
/// `stats_every` if given, logs the listener's counters meanwhile.
async fn run_until_signalled(
    serving: &Serving,
    grace: Duration,
    stats_every: Option<Duration>,
) -> ShutdownReport {
    let listener = &serving.listener;
    tokio::select! {
        report = listener.run_until_signal(grace) => report,
        never = log_stats(listener, stats_every) => match never {},
    }
}

/// Logs the listener's counters on SIGUSR1 (unix) and every `every`;
/// never returns.
async fn log_stats(listener: &Listener, every: Option<Duration>) -> std::convert::Infallible {
    #[cfg(unix)]
    let mut usr1 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
        .map_err(|e| tracing::warn!("cannot watch SIGUSR1 ({e}): no stats on it"))
        .ok();
    let mut tick = every.map(|d| tokio::time::interval_at(tokio::time::Instant::now() + d, d));
    loop {
        let on_usr1 = async {
            #[cfg(unix)]
            if let Some(usr1) = usr1.as_mut() {
                if usr1.recv().await.is_some() {
                    return;
                }
            }
            std::future::pending::<()>().await
        };
        let on_tick = async {
            match tick.as_mut() {
                Some(t) => {
                    t.tick().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = on_usr1 => {}
            () = on_tick => {}
        }
        tracing::info!(stats = %listener.stats(), "stats");
    }
}

// ------------------------------------------------------------- allocator

/// mimalloc instead of the system's malloc. A small request costs the
/// server about five short-lived allocations (the request's and the
/// response's header maps, the stream's entry, a mailbox envelope); when
/// it cost twenty, glibc's malloc and free were ~26% of the server's
/// instructions per request (BENCHMARKS.md, "Where the time goes"). The library picks no allocator:
/// the choice is your binary's. `#[global_allocator] static A:
/// mimalloc::MiMalloc = mimalloc::MiMalloc;` is the one-line way; the
/// wrapper in `shared/natural_mimalloc.rs` (for `libmimalloc-sys`) avoids
/// mimalloc's over-allocating aligned path, for 4% fewer instructions and a
/// 12% lower peak at 256 connections here. (Cargo.toml enables mimalloc's
/// `no_thp` feature: with transparent huge pages each thread's first arena
/// took a whole 2 MiB page, +8 MiB of RSS at start.)
#[path = "shared/natural_mimalloc.rs"]
mod natural_mimalloc;
#[global_allocator]
static ALLOCATOR: natural_mimalloc::NaturalMiMalloc = natural_mimalloc::NaturalMiMalloc;

// ------------------------------------------------------------------ main

// -------------------------------------------------------------------- TLS

/// The directory of the `--tls` certificate: removed when dropped (on a
/// clean exit, after SIGINT or SIGTERM, and on the error paths of `main`).
struct CertDir {
    dir: PathBuf,
    /// The certificate (the file to give `curl --cacert`, or to import into
    /// a browser's trust store).
    cert: PathBuf,
}

impl Drop for CertDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), "cannot remove the certificate directory: {e}");
        }
    }
}

/// The certificate `--tls` makes: self-signed, for `localhost`,
/// `127.0.0.1` and `::1`, with extended key usage `serverAuth` and neither
/// basic constraints nor key usage. curl (`--cacert`), rustls (our
/// `TlsClient::with_ca_file`), NSS's `certutil` and Chromium accept it
/// trusted as a peer (`P,,`) or as a CA (`C,,`); Firefox as a CA (it takes
/// no self-signed certificate as a trusted peer).
///
/// Why no more extensions (each measured): with `CA:TRUE` webpki and
/// Firefox refuse it as a server's own certificate; with an explicit
/// `CA:FALSE` NSS refuses it as a CA ("Issuer certificate is invalid": it
/// is its own issuer); with a key usage that lacks `keyCertSign` Chromium
/// refuses it as a CA (`ERR_CERT_INVALID`). Without them it is an end
/// entity to webpki and a usable trust anchor to NSS and Chromium.
/// Returns the certificate and key as PEM.
fn self_signed_pem() -> Result<(String, String), String> {
    use rcgen::{
        CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let mut params =
        CertificateParams::new(names).map_err(|e| format!("cannot make a certificate: {e}"))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    // Distinct per run: two certificates with one subject look like one
    // issuer to a trust store.
    dn.push(
        DnType::OrganizationName,
        format!("h2actor example server {}", std::process::id()),
    );
    params.distinguished_name = dn;
    params.is_ca = IsCa::NoCa;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().map_err(|e| format!("cannot make a key: {e}"))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("cannot make a certificate: {e}"))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// [`self_signed_pem`], written as `cert.pem` and `key.pem` into a fresh
/// directory under the system's temp directory (removed when the returned
/// [`CertDir`] is dropped). Returns the server and that directory.
fn self_signed_tls() -> Result<(TlsServer, CertDir), String> {
    let (cert_pem, key_pem) = self_signed_pem()?;
    // `h2actor-server-PID`; later calls in one process (the tests run
    // several at once) add `-N`: each directory is removed by its own drop.
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = match CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
        0 => format!("h2actor-server-{}", std::process::id()),
        n => format!("h2actor-server-{}-{n}", std::process::id()),
    };
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let cert_dir = CertDir {
        cert: dir.join("cert.pem"),
        dir,
    };
    let write = |name: &str, text: &str| -> Result<(), String> {
        let path = cert_dir.dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("cert.pem", &cert_pem)?;
    write("key.pem", &key_pem)?;
    let tls =
        TlsServer::from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).map_err(|e| e.to_string())?;
    Ok((tls, cert_dir))
}

// ------------------------------------------------------------------ main

const USAGE: &str = "usage: server [--addr HOST:PORT] [--threads N] [--max-connections N] \
[--reuse-port] [--grace SECS] [--stats SECS] [--adaptive-window MIB] \
[--tls [--cert FILE --key FILE]]";

fn main() {
    let mut options = Options::new(([127, 0, 0, 1], 8080).into());
    let mut grace = Duration::from_secs(10);
    let mut stats_every = None;
    let (mut tls, mut cert, mut key) = (false, None::<PathBuf>, None::<PathBuf>);
    let mut args = std::env::args().skip(1);
    let secs = |v: Option<String>| {
        v.and_then(|s| s.parse::<f64>().ok())
            .filter(|s| *s >= 0.0 && s.is_finite())
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => match args.next().and_then(|a| a.parse().ok()) {
                Some(a) => options.addr = a,
                None => exit_usage("--addr takes HOST:PORT, e.g. 127.0.0.1:8080"),
            },
            "--threads" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n >= 1 => options.threads = Some(n),
                _ => exit_usage("--threads takes a number >= 1"),
            },
            "--max-connections" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => options.max_connections = Some(n),
                _ => exit_usage("--max-connections takes a number"),
            },
            "--reuse-port" => options.reuse_port = true,
            "--adaptive-window" => match args.next().and_then(|n| n.parse::<u32>().ok()) {
                Some(mib @ 1..=2047) => options.adaptive_window = Some(mib << 20),
                _ => exit_usage("--adaptive-window takes MiB, 1 to 2047, e.g. 16"),
            },
            "--tls" => tls = true,
            "--cert" => {
                cert = Some(
                    args.next()
                        .unwrap_or_else(|| exit_usage("--cert takes FILE"))
                        .into(),
                )
            }
            "--key" => {
                key = Some(
                    args.next()
                        .unwrap_or_else(|| exit_usage("--key takes FILE"))
                        .into(),
                )
            }
            "--grace" => match secs(args.next()) {
                Some(s) => grace = Duration::from_secs_f64(s),
                None => exit_usage("--grace takes seconds, e.g. 10"),
            },
            "--stats" => match secs(args.next()) {
                Some(s) if s > 0.0 => stats_every = Some(Duration::from_secs_f64(s)),
                _ => exit_usage("--stats takes seconds > 0, e.g. 60"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => exit_usage(&format!("unknown argument {other:?}")),
        }
    }
    // --cert/--key: that chain and key; --tls alone: a self-signed certificate.
    let (tls, cert_to_trust) = match (tls, cert, key) {
        (false, None, None) => (None, None),
        (_, Some(cert), Some(key)) => match TlsServer::from_pem_files(&cert, &key) {
            Ok(tls) => (Some(Arc::new(tls)), None),
            Err(e) => exit_usage(&e.to_string()),
        },
        (true, None, None) => match self_signed_tls() {
            Ok((tls, dir)) => (Some(Arc::new(tls)), Some(dir)),
            Err(e) => exit_usage(&e),
        },
        _ => exit_usage("--cert and --key go together"),
    };
    let mode = if tls.is_some() {
        "TLS, ALPN h2"
    } else {
        "h2c: prior knowledge or Upgrade: h2c"
    };
    options.tls = tls;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let system = actix::System::new();
    let result = system.block_on(async {
        let serving = serve_with(&options)?;
        tracing::info!(addr = %serving.addr, "listening ({mode})");
        if let Some(dir) = &cert_to_trust {
            let cert = dir.cert.display();
            println!("self-signed certificate for localhost written to {cert} (removed on exit)");
            let port = serving.addr.port();
            println!("try: curl --cacert {cert} https://localhost:{port}/");
        }
        io::Result::Ok(run_until_signalled(&serving, grace, stats_every).await)
    });
    // Before any exit: `process::exit` runs no destructors.
    drop(cert_to_trust);
    if let Err(e) = result {
        eprintln!("server: cannot serve on {}: {e}", options.addr);
        std::process::exit(1);
    }
}

fn exit_usage(why: &str) -> ! {
    eprintln!("server: {why}\n{USAGE}");
    std::process::exit(2);
}
