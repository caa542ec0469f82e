//! The demo client: one HTTP/2 connection (h2c, prior knowledge), every
//! request as its own concurrent stream, pushed responses collected too.
//! Shared verbatim by `examples/client.rs` and the interop tests
//! (`#[path]`-included by both).
#![allow(dead_code)]

use std::collections::HashMap;

use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use h2actor::actor::{
    Close, Closed, Connection, GoAway, OpenStream, RecvData, RecvHeaders, RecvPromise, RecvReset,
    RecvTrailers, SendData, SendHeaders, Subscriber,
};
use h2actor::proto::Config;
use h2actor::{ErrorCode, Head, Role, StreamId};
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;

/// One request to make.
#[derive(Debug, Clone)]
pub struct Job {
    pub method: Method,
    /// Absolute `http://` URI.
    pub uri: Uri,
    /// Request body; `None` sends the HEADERS with END_STREAM.
    pub body: Option<Bytes>,
}

impl Job {
    /// `GET uri`.
    pub fn get(uri: Uri) -> Self {
        Job {
            method: Method::GET,
            uri,
            body: None,
        }
    }
}

/// What came back on one stream.
#[derive(Debug, Default)]
pub struct Exchange {
    pub id: StreamId,
    /// `Some(associated stream)` for a pushed response.
    pub pushed_by: Option<StreamId>,
    pub method: String,
    pub path: String,
    /// Final status (1xx responses are skipped).
    pub status: Option<StatusCode>,
    pub headers: HeaderMap,
    pub body: BytesMut,
    pub trailers: Option<HeaderMap>,
    /// Why the exchange did not complete, if it did not.
    pub error: Option<String>,
    done: bool,
    /// Output order: (index of the job, 0) for a request, (index of the
    /// associated request's job, promised id) for a pushed response.
    key: (usize, u32),
}

/// Client options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Advertise SETTINGS_ENABLE_PUSH = 1.
    pub enable_push: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { enable_push: true }
    }
}

/// Registers a stream the client opened.
#[derive(Message)]
#[rtype(result = "()")]
struct Register {
    index: usize,
    id: StreamId,
    method: String,
    path: String,
}

/// A request could not be sent.
#[derive(Message)]
#[rtype(result = "()")]
struct Failed {
    index: usize,
    id: Option<StreamId>,
    why: String,
}

/// No more requests will be registered.
#[derive(Message)]
#[rtype(result = "()")]
struct AllSent;

/// The subscriber of the client connection: collects every exchange.
struct Collector {
    exchanges: HashMap<StreamId, Exchange>,
    failures: Vec<Exchange>,
    all_sent: bool,
    conn: Option<Addr<Connection>>,
    done: Option<oneshot::Sender<Vec<Exchange>>>,
}

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Collector {
    fn finish_stream(&mut self, id: StreamId, error: Option<String>) {
        if let Some(ex) = self.exchanges.get_mut(&id) {
            if !ex.done {
                ex.done = true;
                if ex.error.is_none() {
                    ex.error = error;
                }
            }
        }
        self.maybe_done();
    }

    fn maybe_done(&mut self) {
        if self.all_sent && self.exchanges.values().all(|e| e.done) {
            self.deliver();
        }
    }

    fn deliver(&mut self) {
        let Some(tx) = self.done.take() else { return };
        let mut out = std::mem::take(&mut self.failures);
        out.extend(self.exchanges.drain().map(|(_, ex)| ex));
        out.sort_by_key(|ex| ex.key);
        if let Some(conn) = self.conn.take() {
            conn.do_send(Close {
                code: ErrorCode::NO_ERROR,
            });
        }
        let _ = tx.send(out);
    }
}

impl Handler<Register> for Collector {
    type Result = ();
    fn handle(&mut self, msg: Register, _: &mut Context<Self>) {
        self.exchanges.insert(
            msg.id,
            Exchange {
                id: msg.id,
                method: msg.method,
                path: msg.path,
                key: (msg.index, 0),
                ..Exchange::default()
            },
        );
    }
}

impl Handler<Failed> for Collector {
    type Result = ();
    fn handle(&mut self, msg: Failed, _: &mut Context<Self>) {
        match msg.id {
            Some(id) => self.finish_stream(id, Some(msg.why)),
            None => self.failures.push(Exchange {
                error: Some(msg.why),
                done: true,
                key: (msg.index, 0),
                ..Exchange::default()
            }),
        }
    }
}

impl Handler<AllSent> for Collector {
    type Result = ();
    fn handle(&mut self, _: AllSent, _: &mut Context<Self>) {
        self.all_sent = true;
        self.maybe_done();
    }
}

impl Handler<RecvHeaders> for Collector {
    type Result = ();
    fn handle(&mut self, msg: RecvHeaders, _: &mut Context<Self>) {
        let Some(ex) = self.exchanges.get_mut(&msg.id) else {
            return;
        };
        match msg.head {
            Head::Response(resp) if resp.status().is_informational() => return,
            Head::Response(resp) => {
                ex.status = Some(resp.status());
                ex.headers = resp.headers().clone();
            }
            Head::Request(_) => ex.error = Some("got a request head".into()),
        }
        if msg.end_stream {
            self.finish_stream(msg.id, None);
        }
    }
}

impl Handler<RecvData> for Collector {
    type Result = ();
    fn handle(&mut self, msg: RecvData, _: &mut Context<Self>) {
        if let Some(ex) = self.exchanges.get_mut(&msg.id) {
            ex.body.extend_from_slice(&msg.data);
        }
        if msg.end_stream {
            self.finish_stream(msg.id, None);
        }
    }
}

impl Handler<RecvTrailers> for Collector {
    type Result = ();
    fn handle(&mut self, msg: RecvTrailers, _: &mut Context<Self>) {
        if let Some(ex) = self.exchanges.get_mut(&msg.id) {
            ex.trailers = Some(msg.trailers);
        }
        self.finish_stream(msg.id, None);
    }
}

impl Handler<RecvPromise> for Collector {
    type Result = ();
    fn handle(&mut self, msg: RecvPromise, _: &mut Context<Self>) {
        let id = msg.promised.id;
        let index = self
            .exchanges
            .get(&msg.id)
            .map_or(usize::MAX, |ex| ex.key.0);
        self.exchanges.insert(
            id,
            Exchange {
                id,
                pushed_by: Some(msg.id),
                method: msg.request.method().to_string(),
                path: msg.request.uri().path().to_owned(),
                key: (index, id.0),
                ..Exchange::default()
            },
        );
    }
}

impl Handler<RecvReset> for Collector {
    type Result = ();
    fn handle(&mut self, msg: RecvReset, _: &mut Context<Self>) {
        let who = if msg.remote { "peer" } else { "us" };
        self.finish_stream(msg.id, Some(format!("reset by {who}: {:?}", msg.code)));
    }
}

impl Handler<GoAway> for Collector {
    type Result = ();
    fn handle(&mut self, msg: GoAway, _: &mut Context<Self>) {
        tracing::debug!(last = %msg.last_stream_id, code = ?msg.code, "GOAWAY");
    }
}

impl Handler<Closed> for Collector {
    type Result = ();
    fn handle(&mut self, msg: Closed, ctx: &mut Context<Self>) {
        let why = format!("connection closed: {:?}", msg.reason);
        for ex in self.exchanges.values_mut() {
            if !ex.done {
                ex.done = true;
                ex.error = Some(why.clone());
            }
        }
        self.all_sent = true;
        self.conn = None;
        self.maybe_done();
        ctx.stop();
    }
}

/// Makes every request of `jobs` over one connection on `io`, concurrently,
/// and returns the exchanges in the order of `jobs`, each request followed by
/// the responses pushed on its stream. Must run inside an actix system.
pub async fn fetch<IO>(io: IO, jobs: Vec<Job>, options: Options) -> Vec<Exchange>
where
    IO: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let (tx, rx) = oneshot::channel();
    let collector = Collector {
        exchanges: HashMap::new(),
        failures: Vec::new(),
        all_sent: false,
        conn: None,
        done: Some(tx),
    }
    .start();
    let config = Config {
        enable_push: options.enable_push,
        ..Config::default()
    };
    let conn = Connection::builder(Role::Client)
        .config(config)
        .start(io, Subscriber::new(&collector));
    collector.do_send(SetConn(conn.clone()));

    // Streams are opened and their HEADERS sent one after the other: RFC 9113
    // §5.1.1 wants new stream ids used in increasing order, so the HEADERS of
    // stream 5 must not overtake those of stream 3 (the protocol refuses it
    // with `StreamIdOrder`). The bodies then go concurrently.
    for (index, job) in jobs.into_iter().enumerate() {
        let opened = match conn.send(OpenStream::default()).await {
            Ok(Ok(opened)) => opened,
            Ok(Err(e)) => {
                let why = format!("open stream: {e}");
                collector.do_send(Failed {
                    index,
                    id: None,
                    why,
                });
                continue;
            }
            Err(e) => {
                let why = format!("open stream: {e}");
                collector.do_send(Failed {
                    index,
                    id: None,
                    why,
                });
                continue;
            }
        };
        let id = opened.id;
        collector.do_send(Register {
            index,
            id,
            method: job.method.to_string(),
            path: job
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".to_owned()),
        });
        let mut req = Request::new(());
        *req.method_mut() = job.method;
        *req.uri_mut() = job.uri;
        let head = SendHeaders {
            head: Head::Request(req),
            end_stream: job.body.is_none(),
        };
        let sent = match opened.stream.send(head).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(why) = sent {
            let why = format!("send request headers: {why}");
            collector.do_send(Failed {
                index,
                id: Some(id),
                why,
            });
            continue;
        }
        if let Some(data) = job.body {
            let collector = collector.clone();
            actix::spawn(async move {
                let end_stream = true;
                let sent = opened.stream.send(SendData { data, end_stream }).await;
                let why = match sent {
                    Ok(Ok(())) => return,
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => e.to_string(),
                };
                let why = format!("send request body: {why}");
                collector.do_send(Failed {
                    index,
                    id: Some(id),
                    why,
                });
            });
        }
    }
    collector.do_send(AllSent);
    rx.await.unwrap_or_default()
}

/// Gives the collector the connection to close when everything is done.
#[derive(Message)]
#[rtype(result = "()")]
struct SetConn(Addr<Connection>);

impl Handler<SetConn> for Collector {
    type Result = ();
    fn handle(&mut self, msg: SetConn, _: &mut Context<Self>) {
        if !self.all_sent || self.done.is_some() {
            self.conn = Some(msg.0);
        }
    }
}
