//! Shared pieces of the actor tests: a test server handler, a collecting
//! subscriber, and helpers that run one request.
#![allow(dead_code)]

use std::time::Duration;

use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use h2actor::actor::SendMessage;
use h2actor::actor::{
    Closed, Connection, GoAway, H2Stream, OpenStream, Promise, RecvData, RecvHeaders, RecvPromise,
    RecvReset, RecvTrailers, SendData, SendHeaders, SendTrailers, Subscriber,
};
use h2actor::{ErrorCode, Head, StreamId};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use tokio::sync::mpsc;

/// Chunk size of `/bytes/N`.
pub const CHUNK: usize = 16 << 10;

pub fn byte_at(i: usize) -> u8 {
    (i % 251) as u8
}

pub fn pattern(n: usize) -> Bytes {
    (0..n).map(byte_at).collect::<Vec<u8>>().into()
}

// ------------------------------------------------------------------ server

/// Routes: `GET /` hello, `GET /bytes/N`, `POST /echo`, `GET /trailers`,
/// `GET /push`, `GET /hang` (headers, then nothing), else 404. Counts what
/// it saw in `seen`.
pub struct TestServer {
    pub seen: mpsc::UnboundedSender<Note>,
}

impl Actor for TestServer {
    type Context = Context<Self>;
}

fn ok_head() -> Head {
    Head::Response(Response::new(()))
}

async fn stream_bytes(stream: H2Stream, n: usize) {
    if !matches!(
        stream
            .send(SendHeaders {
                head: ok_head(),
                end_stream: n == 0
            })
            .await,
        Ok(Ok(()))
    ) {
        return;
    }
    let body = pattern(n);
    let mut off = 0;
    while off < n {
        let end = (off + CHUNK).min(n);
        let r = stream
            .send(SendData {
                data: body.slice(off..end),
                end_stream: end == n,
            })
            .await;
        if !matches!(r, Ok(Ok(()))) {
            return;
        }
        off = end;
    }
}

impl Handler<RecvHeaders> for TestServer {
    type Result = ();
    fn handle(&mut self, m: RecvHeaders, ctx: &mut Context<Self>) {
        let Head::Request(req) = &m.head else { return };
        let path = req.uri().path().to_owned();
        let method = req.method().clone();
        let stream = m.stream.clone();
        let _ = self.seen.send(Note::Headers {
            id: m.id,
            head: m.head,
            end_stream: m.end_stream,
        });
        match (method, path.as_str()) {
            (Method::GET, "/") => {
                stream.do_send(SendHeaders {
                    head: ok_head(),
                    end_stream: false,
                });
                stream.do_send(SendData {
                    data: Bytes::from_static(b"hello world\n"),
                    end_stream: true,
                });
            }
            (Method::GET, p) if p.starts_with("/bytes/") => {
                let n: usize = p["/bytes/".len()..].parse().unwrap_or(0);
                ctx.spawn(actix::fut::wrap_future(stream_bytes(stream, n)));
            }
            (Method::POST, "/echo") => {
                stream.do_send(SendHeaders {
                    head: ok_head(),
                    end_stream: m.end_stream,
                });
            }
            (Method::GET, "/trailers") => {
                stream.do_send(SendHeaders {
                    head: ok_head(),
                    end_stream: false,
                });
                stream.do_send(SendData {
                    data: Bytes::from_static(b"body"),
                    end_stream: false,
                });
                let mut t = HeaderMap::new();
                t.insert("x-trailer-test", HeaderValue::from_static("ok"));
                stream.do_send(SendTrailers { trailers: t });
            }
            (Method::GET, "/push") => {
                ctx.spawn(actix::fut::wrap_future(async move {
                    let req = Request::get("http://localhost/pushed").body(()).unwrap();
                    let pushed = stream.send(Promise { request: req }).await;
                    stream.do_send(SendHeaders {
                        head: ok_head(),
                        end_stream: false,
                    });
                    stream.do_send(SendData {
                        data: Bytes::from_static(b"page"),
                        end_stream: true,
                    });
                    if let Ok(Ok(p)) = pushed {
                        p.do_send(SendHeaders {
                            head: ok_head(),
                            end_stream: false,
                        });
                        p.do_send(SendData {
                            data: Bytes::from_static(b"pushed body"),
                            end_stream: true,
                        });
                    }
                }));
            }
            (Method::GET, "/msg") => stream.do_send(SendMessage {
                head: ok_head(),
                body: Bytes::from_static(b"one message"),
                trailers: None,
                priority: None,
            }),
            (Method::GET, "/msg-empty") => stream.do_send(SendMessage {
                head: ok_head(),
                body: Bytes::new(),
                trailers: None,
                priority: None,
            }),
            (Method::GET, "/msg-trailers") => {
                let mut t = HeaderMap::new();
                t.insert("x-trailer-test", HeaderValue::from_static("ok"));
                stream.do_send(SendMessage {
                    head: ok_head(),
                    body: pattern(100_000),
                    trailers: Some(t),
                    priority: None,
                })
            }
            (Method::GET, "/hang") => {
                stream.do_send(SendHeaders {
                    head: ok_head(),
                    end_stream: false,
                });
            }
            _ => {
                let mut r = Response::new(());
                *r.status_mut() = StatusCode::NOT_FOUND;
                stream.do_send(SendHeaders {
                    head: Head::Response(r),
                    end_stream: true,
                });
            }
        }
    }
}

impl Handler<RecvData> for TestServer {
    /// Echo: the handler completes when the echoed chunk is accepted, so with
    /// auto-release the peer is slowed by our own send side.
    type Result = ResponseFuture<()>;
    fn handle(&mut self, m: RecvData, _: &mut Context<Self>) -> Self::Result {
        let _ = self.seen.send(Note::Data {
            id: m.id,
            data: m.data.clone(),
            end_stream: m.end_stream,
        });
        let stream = m.stream;
        Box::pin(async move {
            let _ = stream
                .send(SendData {
                    data: m.data,
                    end_stream: m.end_stream,
                })
                .await;
        })
    }
}

impl Handler<RecvTrailers> for TestServer {
    type Result = ();
    fn handle(&mut self, m: RecvTrailers, _: &mut Context<Self>) {
        let _ = self.seen.send(Note::Trailers {
            id: m.id,
            trailers: m.trailers,
        });
    }
}

impl Handler<RecvPromise> for TestServer {
    type Result = ();
    fn handle(&mut self, _: RecvPromise, _: &mut Context<Self>) {}
}

impl Handler<RecvReset> for TestServer {
    type Result = ();
    fn handle(&mut self, m: RecvReset, _: &mut Context<Self>) {
        let _ = self.seen.send(Note::Reset {
            id: m.id,
            code: m.code,
            remote: m.remote,
        });
    }
}

impl Handler<GoAway> for TestServer {
    type Result = ();
    fn handle(&mut self, m: GoAway, _: &mut Context<Self>) {
        let _ = self.seen.send(Note::GoAway(m));
    }
}

impl Handler<Closed> for TestServer {
    type Result = ();
    fn handle(&mut self, m: Closed, _: &mut Context<Self>) {
        let _ = self.seen.send(Note::Closed(m));
    }
}

// --------------------------------------------------------------- collector

/// A notification, as seen by a [`Collector`] or the [`TestServer`].
#[derive(Debug)]
pub enum Note {
    Headers {
        id: StreamId,
        head: Head,
        end_stream: bool,
    },
    Data {
        id: StreamId,
        data: Bytes,
        end_stream: bool,
    },
    Trailers {
        id: StreamId,
        trailers: HeaderMap,
    },
    Promise(RecvPromise),
    Reset {
        id: StreamId,
        code: ErrorCode,
        remote: bool,
    },
    GoAway(GoAway),
    Closed(Closed),
}

/// Forwards every notification to a channel. `stop_on_headers` makes it
/// stop itself at the first response head (a subscriber that goes away).
pub struct Collector {
    pub tx: mpsc::UnboundedSender<Note>,
    pub stop_on_headers: bool,
    /// Handling a `RecvData` takes this long (a slow subscriber).
    pub data_delay: Option<Duration>,
    /// The reply to a `RecvData` waits this long (an async handler): with
    /// auto-release the connection keeps the stream's later notifications
    /// back meanwhile.
    pub hold_data: Option<Duration>,
    /// Panic while handling a `RecvData` (a subscriber that dies).
    pub panic_on_data: bool,
}

impl Collector {
    pub fn start_new() -> (Addr<Collector>, mpsc::UnboundedReceiver<Note>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Collector {
                tx,
                stop_on_headers: false,
                data_delay: None,
                hold_data: None,
                panic_on_data: false,
            }
            .start(),
            rx,
        )
    }
}

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<RecvHeaders> for Collector {
    type Result = ();
    fn handle(&mut self, m: RecvHeaders, ctx: &mut Context<Self>) {
        let _ = self.tx.send(Note::Headers {
            id: m.id,
            head: m.head,
            end_stream: m.end_stream,
        });
        if self.stop_on_headers {
            ctx.stop();
        }
    }
}

impl Handler<RecvData> for Collector {
    type Result = ResponseFuture<()>;
    fn handle(&mut self, m: RecvData, ctx: &mut Context<Self>) -> Self::Result {
        if self.panic_on_data {
            panic!("subscriber panics (on purpose)");
        }
        let _ = self.tx.send(Note::Data {
            id: m.id,
            data: m.data,
            end_stream: m.end_stream,
        });
        if let Some(d) = self.data_delay {
            // Block the actor (not the thread) for `d`.
            ctx.wait(actix::fut::wrap_future(tokio::time::sleep(d)));
        }
        let hold = self.hold_data;
        Box::pin(async move {
            if let Some(d) = hold {
                tokio::time::sleep(d).await;
            }
        })
    }
}

impl Handler<RecvTrailers> for Collector {
    type Result = ();
    fn handle(&mut self, m: RecvTrailers, _: &mut Context<Self>) {
        let _ = self.tx.send(Note::Trailers {
            id: m.id,
            trailers: m.trailers,
        });
    }
}

impl Handler<RecvPromise> for Collector {
    type Result = ();
    fn handle(&mut self, m: RecvPromise, _: &mut Context<Self>) {
        let _ = self.tx.send(Note::Promise(m));
    }
}

impl Handler<RecvReset> for Collector {
    type Result = ();
    fn handle(&mut self, m: RecvReset, _: &mut Context<Self>) {
        let _ = self.tx.send(Note::Reset {
            id: m.id,
            code: m.code,
            remote: m.remote,
        });
    }
}

impl Handler<GoAway> for Collector {
    type Result = ();
    fn handle(&mut self, m: GoAway, _: &mut Context<Self>) {
        let _ = self.tx.send(Note::GoAway(m));
    }
}

impl Handler<Closed> for Collector {
    type Result = ();
    fn handle(&mut self, m: Closed, _: &mut Context<Self>) {
        let _ = self.tx.send(Note::Closed(m));
    }
}

// ---------------------------------------------------------------- requests

/// A response as the client saw it.
#[derive(Debug, Default)]
pub struct Got {
    pub status: Option<StatusCode>,
    pub body: BytesMut,
    pub trailers: Option<HeaderMap>,
    pub reset: Option<ErrorCode>,
}

pub fn get(path: &str) -> Head {
    Head::Request(
        Request::get(format!("http://localhost{path}"))
            .body(())
            .unwrap(),
    )
}

pub fn post(path: &str) -> Head {
    Head::Request(
        Request::post(format!("http://localhost{path}"))
            .body(())
            .unwrap(),
    )
}

/// Reads notes of one stream until it ends.
pub async fn collect(rx: &mut mpsc::UnboundedReceiver<Note>) -> Got {
    let mut got = Got::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let note = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("response timed out")
            .expect("collector gone");
        match note {
            Note::Headers {
                head: Head::Response(r),
                end_stream,
                ..
            } => {
                got.status = Some(r.status());
                if end_stream {
                    return got;
                }
            }
            Note::Data {
                data, end_stream, ..
            } => {
                got.body.extend_from_slice(&data);
                if end_stream {
                    return got;
                }
            }
            Note::Trailers { trailers, .. } => {
                got.trailers = Some(trailers);
                return got;
            }
            Note::Reset { code, .. } => {
                got.reset = Some(code);
                return got;
            }
            _ => {}
        }
    }
}

/// One request on `conn` with its own collector; `body` is sent in chunks
/// of `CHUNK`, each awaited.
pub async fn request(conn: &Addr<Connection>, head: Head, body: Option<Bytes>) -> Got {
    let (col, mut rx) = Collector::start_new();
    let s = conn
        .send(OpenStream {
            subscriber: Some(Subscriber::all(&col)),
        })
        .await
        .expect("mailbox")
        .expect("open stream");
    let has_body = body.as_ref().is_some_and(|b| !b.is_empty());
    s.send(SendHeaders {
        head,
        end_stream: !has_body,
    })
    .await
    .unwrap()
    .unwrap();
    if let Some(body) = body.filter(|b| !b.is_empty()) {
        let n = body.len();
        let mut off = 0;
        while off < n {
            let end = (off + CHUNK).min(n);
            s.send(SendData {
                data: body.slice(off..end),
                end_stream: end == n,
            })
            .await
            .unwrap()
            .unwrap();
            off = end;
        }
    }
    drop(s);
    collect(&mut rx).await
}

/// Waits until `f` is true (polling every 10 ms, at most `secs` seconds).
pub async fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    f()
}
