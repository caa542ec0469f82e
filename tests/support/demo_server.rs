//! The demo server: the routes of `examples/server.rs`, shared verbatim with the
//! interop tests (`#[path]`-included by both) so the tests drive exactly the
//! code the README's run command starts.
//!
//! One [`DemoConnection`] actor per HTTP/2 connection subscribes to every
//! stream of that connection and answers:
//!
//! | request | response |
//! |---|---|
//! | `GET /` | 200 `text/plain` `hello world\n` |
//! | `GET /bytes/N` | N bytes (`abc…z` repeated, see [`pattern_byte`]) streamed under flow control |
//! | `POST /echo` | the request body streamed back as it arrives |
//! | `GET /push` | a small HTML page, plus `/pushed.css` pushed when the client allows push |
//! | `GET /trailers` | a short body, then the trailer field `x-trailer-test: ok` |
//! | `HEAD /` (any `HEAD`) | the headers of `GET /` (404 for other paths), no content |
//! | anything else | 404 |
//!
//! Backpressure: connections are built with `auto_release(false)`, so the
//! receive windows reopen only as the handler consumes request bodies (for
//! `/echo`: once the chunk is handed to the echoing `SendData`), and every
//! `SendData` of a streamed body is awaited before the next one is sent.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::OnceLock;

use actix::prelude::*;
use bytes::Bytes;
use h2actor::actor::{
    Builder, Closed, Connection, GoAway, Listener, Promise, RecvData, RecvHeaders, RecvPromise,
    RecvReset, RecvTrailers, ReleaseCapacity, Reset, SendData, SendHeaders, SendMessage,
    SendTrailers, Stream, Subscriber,
};
use h2actor::{ErrorCode, Head, Role, StreamId};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
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
/// Largest `N` accepted by `/bytes/N` (1 GiB).
pub const MAX_BYTES: u64 = 1 << 30;
/// Size of each `SendData` of `/bytes/N`: about 64 KiB (the protocol layer
/// cuts it into MAX_FRAME_SIZE frames), a multiple of 26 so every chunk is a
/// slice of one shared buffer and the body stays `abc…z…`. Each awaited
/// `SendData` costs a message round trip: with 16 KiB chunks the 64 MiB
/// download ran at ~0.7 GB/s here, with 64 KiB at ~1.3–1.8 GB/s.
pub const CHUNK: usize = 26 * 2520;
/// Listen backlog (the default 128 overflowed with 256 simultaneous connects).
pub const BACKLOG: u32 = 1024;

/// Byte `i` of every `/bytes/N` body.
pub fn pattern_byte(i: u64) -> u8 {
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

fn response(status: StatusCode, content_type: &'static str, len: Option<u64>) -> Head {
    let mut r = Response::new(());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(len) = len {
        r.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    Head::Response(r)
}

/// A response whose whole body is known: one `SendMessage` (HEADERS + DATA),
/// not awaited (the common case of the request-rate benchmark).
fn respond_fixed(
    stream: &Addr<Stream>,
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) {
    let head = response(status, content_type, Some(body.len() as u64));
    stream.do_send(SendMessage {
        head,
        body,
        trailers: None,
    });
}

/// One `/echo` stream: received chunks waiting to be sent back, one in flight.
struct Echo {
    stream: Addr<Stream>,
    queue: VecDeque<(Bytes, bool)>,
    in_flight: bool,
}

/// The handler of one connection: the subscriber of all its streams.
#[derive(Default)]
pub struct DemoConnection {
    echoes: HashMap<StreamId, Echo>,
}

impl Actor for DemoConnection {
    type Context = Context<Self>;
}

impl DemoConnection {
    fn route(
        &mut self,
        id: StreamId,
        stream: Addr<Stream>,
        req: Request<()>,
        end_stream: bool,
        ctx: &mut Context<Self>,
    ) {
        let path = req.uri().path();
        tracing::debug!(%id, method = %req.method(), path, "request");
        match (req.method(), path) {
            // RFC 9110 §9.3.2: a HEAD response has the GET response's
            // header fields and no content.
            (&Method::HEAD, _) => {
                let head = match path {
                    "/" => response(StatusCode::OK, "text/plain", Some(HELLO.len() as u64)),
                    _ => response(StatusCode::NOT_FOUND, "text/plain", None),
                };
                stream.do_send(SendHeaders {
                    head,
                    end_stream: true,
                });
            }
            (&Method::GET, "/") => respond_fixed(
                &stream,
                StatusCode::OK,
                "text/plain",
                Bytes::from_static(HELLO),
            ),
            (&Method::GET, "/trailers") => {
                // Three messages on purpose (`SendMessage` could do it in one):
                // this route exercises SendHeaders, SendData and SendTrailers.
                stream.do_send(SendHeaders {
                    head: response(StatusCode::OK, "text/plain", None),
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
            (&Method::GET, "/push") => self.push(stream, &req, ctx),
            (&Method::POST, "/echo") => {
                let mut r = Response::new(());
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                stream.do_send(SendHeaders {
                    head: Head::Response(r),
                    end_stream,
                });
                if !end_stream {
                    self.echoes.insert(
                        id,
                        Echo {
                            stream,
                            queue: VecDeque::new(),
                            in_flight: false,
                        },
                    );
                }
            }
            (&Method::GET, p) if p.starts_with("/bytes/") => {
                match p["/bytes/".len()..].parse::<u64>() {
                    Ok(n) if n <= MAX_BYTES => {
                        ctx.spawn(actix::fut::wrap_future(stream_bytes(stream, n)));
                    }
                    _ => respond_fixed(
                        &stream,
                        StatusCode::BAD_REQUEST,
                        "text/plain",
                        Bytes::from(format!("/bytes/N takes 0 <= N <= {MAX_BYTES}\n")),
                    ),
                }
            }
            _ => respond_fixed(
                &stream,
                StatusCode::NOT_FOUND,
                "text/plain",
                Bytes::from_static(b"not found\n"),
            ),
        }
    }

    /// `GET /push`: PUSH_PROMISE for `/pushed.css` first (RFC 9113 §8.4: before
    /// the response that refers to it), then the page, then the pushed
    /// response. A client that disabled push gets the page only.
    fn push(&mut self, stream: Addr<Stream>, req: &Request<()>, ctx: &mut Context<Self>) {
        let scheme = req.uri().scheme_str().unwrap_or("http").to_owned();
        let authority = req
            .uri()
            .authority()
            .map(|a| a.as_str().to_owned())
            .or_else(|| {
                req.headers()
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "localhost".to_owned());
        let promised_req = Uri::builder()
            .scheme(scheme.as_str())
            .authority(authority.as_str())
            .path_and_query(PUSHED_PATH)
            .build()
            .ok()
            .and_then(|uri| {
                Request::builder()
                    .method(Method::GET)
                    .uri(uri)
                    .body(())
                    .ok()
            });
        ctx.spawn(actix::fut::wrap_future(async move {
            let promised = match promised_req {
                Some(request) => match stream.send(Promise { request }).await {
                    Ok(Ok(p)) => Some(p),
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "push not possible, page only");
                        None
                    }
                    Err(_) => return,
                },
                None => None,
            };
            respond_fixed(
                &stream,
                StatusCode::OK,
                "text/html",
                Bytes::from_static(PUSH_PAGE),
            );
            if let Some(p) = promised {
                respond_fixed(
                    &p.stream,
                    StatusCode::OK,
                    "text/css",
                    Bytes::from_static(PUSHED_CSS),
                );
            }
        }));
    }

    /// Sends the next queued chunk of echo stream `id` back, if none is in
    /// flight. The chunk's bytes are given back to the receive windows when it
    /// is handed to `SendData`: at most one window plus one chunk is buffered.
    fn pump(&mut self, id: StreamId, ctx: &mut Context<Self>) {
        let Some(echo) = self.echoes.get_mut(&id) else {
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
            echo.stream.do_send(ReleaseCapacity { n: data.len() });
        }
        let send = echo.stream.send(SendData { data, end_stream });
        ctx.spawn(actix::fut::wrap_future(send).map(
            move |res, act: &mut Self, ctx: &mut Context<Self>| match res {
                Ok(Ok(())) if !end_stream => {
                    if let Some(echo) = act.echoes.get_mut(&id) {
                        echo.in_flight = false;
                    }
                    act.pump(id, ctx);
                }
                _ => {
                    act.echoes.remove(&id);
                }
            },
        ));
    }
}

/// `GET /bytes/N`: N bytes in chunks of [`CHUNK`], each `SendData` awaited
/// (it resolves once the chunk is inside the peer's window: backpressure).
async fn stream_bytes(stream: Addr<Stream>, n: u64) {
    let head = response(StatusCode::OK, "application/octet-stream", Some(n));
    if !matches!(
        stream
            .send(SendHeaders {
                head,
                end_stream: n == 0
            })
            .await,
        Ok(Ok(()))
    ) {
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

impl Handler<RecvHeaders> for DemoConnection {
    type Result = ();
    fn handle(&mut self, msg: RecvHeaders, ctx: &mut Context<Self>) {
        match msg.head {
            Head::Request(req) => self.route(msg.id, msg.stream, req, msg.end_stream, ctx),
            Head::Response(_) => msg.stream.do_send(Reset {
                code: ErrorCode::PROTOCOL_ERROR,
            }),
        }
    }
}

impl Handler<RecvData> for DemoConnection {
    type Result = ();
    fn handle(&mut self, msg: RecvData, ctx: &mut Context<Self>) {
        if let Some(echo) = self.echoes.get_mut(&msg.id) {
            echo.queue.push_back((msg.data, msg.end_stream));
            self.pump(msg.id, ctx);
        } else if !msg.data.is_empty() {
            // A body nobody reads: give its bytes straight back.
            msg.stream.do_send(ReleaseCapacity { n: msg.data.len() });
        }
    }
}

impl Handler<RecvTrailers> for DemoConnection {
    type Result = ();
    fn handle(&mut self, msg: RecvTrailers, ctx: &mut Context<Self>) {
        if let Some(echo) = self.echoes.get_mut(&msg.id) {
            echo.queue.push_back((Bytes::new(), true));
            self.pump(msg.id, ctx);
        }
    }
}

impl Handler<RecvPromise> for DemoConnection {
    type Result = ();
    fn handle(&mut self, msg: RecvPromise, _: &mut Context<Self>) {
        // Servers never receive PUSH_PROMISE (the protocol layer rejects it).
        msg.promised.stream.do_send(Reset {
            code: ErrorCode::REFUSED_STREAM,
        });
    }
}

impl Handler<RecvReset> for DemoConnection {
    type Result = ();
    fn handle(&mut self, msg: RecvReset, _: &mut Context<Self>) {
        tracing::debug!(id = %msg.id, code = ?msg.code, remote = msg.remote, "stream reset");
        self.echoes.remove(&msg.id);
    }
}

impl Handler<GoAway> for DemoConnection {
    type Result = ();
    fn handle(&mut self, msg: GoAway, _: &mut Context<Self>) {
        tracing::debug!(last = %msg.last_stream_id, code = ?msg.code, "peer sent GOAWAY");
    }
}

impl Handler<Closed> for DemoConnection {
    type Result = ();
    fn handle(&mut self, msg: Closed, ctx: &mut Context<Self>) {
        tracing::debug!(reason = ?msg.reason, "connection closed");
        ctx.stop();
    }
}

/// Serves one accepted connection on the current arbiter.
pub fn start_connection(tcp: TcpStream) -> Addr<Connection> {
    let _ = tcp.set_nodelay(true);
    let handler = DemoConnection::default().start();
    builder().start(tcp, Subscriber::new(&handler))
}

/// Binds with an explicit backlog of [`BACKLOG`].
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Accepts connections forever on the current arbiter.
pub async fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((tcp, peer)) => {
                tracing::trace!(%peer, "accepted");
                start_connection(tcp);
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// A running demo server: its address, and (with several threads) the
/// [`Listener`] whose arbiters must live as long as it serves.
pub struct Serving {
    pub addr: SocketAddr,
    pub listener: Option<Listener>,
}

/// The connection settings of every demo connection.
pub fn builder() -> Builder {
    Connection::builder(Role::Server).auto_release(false)
}

/// Starts serving `addr` (port 0 picks one) inside a running actix system.
/// `threads == 1`: the current arbiter accepts and runs every connection.
/// `threads > 1`: the library's [`Listener`], that many arbiters (one thread
/// each) accepting on one shared socket; a connection never leaves the
/// thread that accepted it.
pub async fn serve(addr: SocketAddr, threads: usize) -> io::Result<Serving> {
    if threads <= 1 {
        let listener = bind(addr)?;
        let addr = listener.local_addr()?;
        actix::spawn(accept_loop(listener));
        return Ok(Serving {
            addr,
            listener: None,
        });
    }
    let listener = Listener::bind(addr, threads, builder(), |_peer| {
        Subscriber::new(&DemoConnection::default().start())
    })?;
    Ok(Serving {
        addr: listener.local_addr(),
        listener: Some(listener),
    })
}
