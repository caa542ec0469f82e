//! The tests' client: every job a concurrent stream over one connection
//! (prior knowledge, or the HTTP/1.1 upgrade to h2c), everything that comes
//! back collected by a subscriber actor, pushed responses included. The
//! example client's own behaviour (its output, its sentences) is tested by
//! running its binary.
#![allow(dead_code)] // each target uses a part

use std::collections::HashMap;

use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use h2actor::prelude::*;
use h2actor::transport::H2cLimits;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;

/// One request to make.
#[derive(Debug, Clone)]
pub struct Job {
    pub method: Method,
    /// Absolute `http://` or `https://` URI.
    pub uri: Uri,
    /// `None`: the HEADERS end the stream.
    pub body: Option<Bytes>,
}

impl Job {
    pub fn get(uri: Uri) -> Self {
        Job {
            method: Method::GET,
            uri,
            body: None,
        }
    }

    fn request(&self) -> Request<()> {
        let mut req = Request::new(());
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        req
    }

    fn exchange(&self, index: usize) -> Exchange {
        Exchange {
            method: self.method.to_string(),
            path: self.uri.path().to_owned(),
            key: (index, 0),
            ..Exchange::default()
        }
    }
}

/// What came back on one stream.
#[derive(Debug, Default)]
pub struct Exchange {
    /// 0 if the request never got a stream id.
    pub id: StreamId,
    /// `Some(associated stream)` for a pushed response.
    pub pushed_by: Option<StreamId>,
    pub method: String,
    pub path: String,
    /// The final status (1xx skipped).
    pub status: Option<StatusCode>,
    pub headers: HeaderMap,
    pub body: BytesMut,
    pub trailers: Option<HeaderMap>,
    /// Why the exchange did not complete.
    pub error: Option<String>,
    done: bool,
    /// Output order: (job index, 0), or (its request's index, promised id).
    key: (usize, u32),
}

#[derive(Debug, Clone)]
pub struct Options {
    /// SETTINGS_ENABLE_PUSH.
    pub enable_push: bool,
    /// Start with `Upgrade: h2c`: the first job is the upgrade request.
    pub upgrade: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            enable_push: true,
            upgrade: false,
        }
    }
}

/// Makes every job over one connection on `io`, concurrently, and returns
/// the exchanges in the order of `jobs`, each request followed by the
/// responses pushed on its stream. Runs inside an actix system.
pub async fn fetch<IO>(io: IO, jobs: Vec<Job>, options: Options) -> Vec<Exchange>
where
    IO: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let (tx, rx) = oneshot::channel();
    let collector = Collector {
        exchanges: HashMap::new(),
        failed: Vec::new(),
        unregistered: jobs.len(),
        done: Some(tx),
    }
    .start();
    let subscriber = Subscriber::all(&collector);
    let config = Config {
        enable_push: options.enable_push,
        ..Config::default()
    };
    let builder = Connection::builder(Role::Client).config(config);
    let mut first = 0;
    let conn = match jobs.first() {
        Some(job) if options.upgrade => {
            let limits = H2cLimits::default();
            match builder
                .connect_h2c(io, &job.request(), &limits, subscriber)
                .await
            {
                Ok((conn, stream1)) => {
                    collector.do_send(Register(0, stream1, job.exchange(0)));
                    first = 1;
                    conn
                }
                Err(e) => {
                    let error = Some(format!("h2c upgrade: {e}"));
                    let failed = |(i, job): (usize, &Job)| Exchange {
                        error: error.clone(),
                        ..job.exchange(i)
                    };
                    return jobs.iter().enumerate().map(failed).collect();
                }
            }
        }
        _ => builder.start(io, subscriber),
    };
    for (index, job) in jobs.into_iter().enumerate().skip(first) {
        actix::spawn(request(conn.clone(), collector.clone(), index, job));
    }
    let got = rx.await.unwrap_or_default();
    conn.do_send(Close {
        code: ErrorCode::NO_ERROR,
    });
    got
}

/// One job: open a stream, register it, send head and body in one message.
async fn request(conn: Addr<Connection>, collector: Addr<Collector>, index: usize, job: Job) {
    let stream = match conn.send(OpenStream::default()).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return collector.do_send(Failed(index, job, format!("open stream: {e}"))),
        Err(e) => return collector.do_send(Failed(index, job, format!("open stream: {e}"))),
    };
    // Before the request goes out: its response cannot come first.
    collector.do_send(Register(index, stream.clone(), job.exchange(index)));
    let message = SendMessage::new(job.request()).body(job.body.unwrap_or_default());
    let why = match stream.send(message).await {
        Ok(Ok(())) => return,
        Ok(Err(e)) => format!("send request: {e}"),
        Err(e) => format!("send request: {e}"),
    };
    collector.do_send(Finish(stream, why));
}

/// The subscriber of the connection.
struct Collector {
    exchanges: HashMap<H2Stream, Exchange>,
    /// Jobs that never got a stream.
    failed: Vec<Exchange>,
    /// Jobs neither registered nor failed yet.
    unregistered: usize,
    done: Option<oneshot::Sender<Vec<Exchange>>>,
}

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Collector {
    fn finish(&mut self, stream: &H2Stream, error: Option<String>) {
        if let Some(ex) = self.exchanges.get_mut(stream).filter(|ex| !ex.done) {
            ex.done = true;
            ex.error = ex.error.take().or(error);
        }
        self.maybe_done();
    }

    fn maybe_done(&mut self) {
        if self.unregistered > 0 || !self.exchanges.values().all(|ex| ex.done) {
            return;
        }
        if let Some(tx) = self.done.take() {
            let mut all = std::mem::take(&mut self.failed);
            all.extend(self.exchanges.drain().map(|(_, ex)| ex));
            all.sort_by_key(|ex| ex.key);
            let _ = tx.send(all);
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Register(usize, H2Stream, Exchange);

#[derive(Message)]
#[rtype(result = "()")]
struct Failed(usize, Job, String);

#[derive(Message)]
#[rtype(result = "()")]
struct Finish(H2Stream, String);

impl Handler<Register> for Collector {
    type Result = ();
    fn handle(&mut self, Register(_, stream, ex): Register, _: &mut Context<Self>) {
        self.unregistered -= 1;
        self.exchanges.insert(stream, ex);
    }
}

impl Handler<Failed> for Collector {
    type Result = ();
    fn handle(&mut self, Failed(index, job, why): Failed, _: &mut Context<Self>) {
        self.unregistered -= 1;
        self.failed.push(Exchange {
            error: Some(why),
            done: true,
            ..job.exchange(index)
        });
        self.maybe_done();
    }
}

impl Handler<Finish> for Collector {
    type Result = ();
    fn handle(&mut self, Finish(stream, why): Finish, _: &mut Context<Self>) {
        self.finish(&stream, Some(why));
    }
}

impl Handler<RecvHeaders> for Collector {
    type Result = ();
    fn handle(&mut self, msg: RecvHeaders, _: &mut Context<Self>) {
        let Some(ex) = self.exchanges.get_mut(&msg.stream) else {
            return;
        };
        ex.id = msg.id;
        match msg.head {
            Head::Response(resp) if resp.status().is_informational() => return,
            Head::Response(resp) => {
                ex.status = Some(resp.status());
                ex.headers = resp.headers().clone();
            }
            Head::Request(_) => ex.error = Some("got a request head".into()),
        }
        if msg.end_stream {
            self.finish(&msg.stream, None);
        }
    }
}

impl Handler<RecvData> for Collector {
    type Result = ();
    fn handle(&mut self, msg: RecvData, _: &mut Context<Self>) {
        if let Some(ex) = self.exchanges.get_mut(&msg.stream) {
            ex.body.extend_from_slice(&msg.data);
        }
        if msg.end_stream {
            self.finish(&msg.stream, None);
        }
    }
}

impl Handler<RecvTrailers> for Collector {
    type Result = ();
    fn handle(&mut self, msg: RecvTrailers, _: &mut Context<Self>) {
        if let Some(ex) = self.exchanges.get_mut(&msg.stream) {
            ex.trailers = Some(msg.trailers);
        }
        self.finish(&msg.stream, None);
    }
}

impl Handler<RecvPromise> for Collector {
    type Result = ();
    fn handle(&mut self, msg: RecvPromise, _: &mut Context<Self>) {
        let index = self
            .exchanges
            .get(&msg.stream)
            .map_or(usize::MAX, |ex| ex.key.0);
        let pushed = Exchange {
            id: msg.promised_id,
            pushed_by: Some(msg.id),
            method: msg.request.method().to_string(),
            path: msg.request.uri().path().to_owned(),
            key: (index, msg.promised_id.0),
            ..Exchange::default()
        };
        self.exchanges.insert(msg.promised, pushed);
    }
}

impl Handler<RecvReset> for Collector {
    type Result = ();
    fn handle(&mut self, msg: RecvReset, _: &mut Context<Self>) {
        if let Some(ex) = self.exchanges.get_mut(&msg.stream) {
            ex.id = msg.id;
        }
        self.finish(&msg.stream, Some(msg.describe()));
    }
}

impl Handler<GoAway> for Collector {
    type Result = ();
    fn handle(&mut self, _: GoAway, _: &mut Context<Self>) {}
}

impl Handler<Closed> for Collector {
    type Result = ();
    fn handle(&mut self, msg: Closed, _: &mut Context<Self>) {
        // Jobs still opening or sending fail on their own (`Failed`, `Finish`).
        let why = format!("connection closed: {}", msg.reason);
        for ex in self.exchanges.values_mut().filter(|ex| !ex.done) {
            ex.done = true;
            ex.error = Some(why.clone());
        }
        self.maybe_done();
    }
}
