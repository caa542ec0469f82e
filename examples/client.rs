//! An HTTP/2 client written with h2actor: a small curl and a small h2load in
//! one file. h2c with prior knowledge for `http://` (or the HTTP/1.1
//! upgrade with `--upgrade`), TLS with ALPN `h2` for `https://`; one
//! connection for all the URLs. The code to copy when you write your own.
//!
//! ```text
//! client [-v] [--no-push] [--upgrade] [-X METHOD] [-H 'name: value']...
//!        [-d DATA | -d @FILE | -d @-] [-n N [-c C]] [--cacert FILE | --insecure]
//!        [--timeout SECS] [--connect-timeout SECS] URL...
//!
//! cargo run --release --example client -- -v http://127.0.0.1:8080/ http://127.0.0.1:8080/push
//! cargo run --release --example client -- -d @notes.txt -H 'content-type: text/plain' http://127.0.0.1:8080/echo
//! cargo run --release --example client -- -n 10000 -c 100 http://127.0.0.1:8080/
//! cargo run --release --example client -- --upgrade -v http://127.0.0.1:8080/ http://127.0.0.1:8080/bytes/10
//! cargo run --release --example client -- --cacert /tmp/h2actor-server-PID/cert.pem https://localhost:8443/
//! ```
//!
//! # What it does
//!
//! Without `-n`, every URL is one concurrent stream and stdout gets the
//! response bodies only, in the order of the URLs (each pushed response
//! after the request that brought it). `-v` prints each status, header
//! fields and trailers on stderr.
//!
//! With `-n N`, it makes N requests in total over one connection, taking
//! the URLs in turn (h2load's `-n`), at most C at a time (`-c C`, default
//! 1; h2load's `-m`, streams in flight, not its `-c`, connections; the
//! server's `MAX_CONCURRENT_STREAMS` bounds it too). Bodies are not
//! printed: stderr gets a summary like h2load's (requests done and failed,
//! requests per second, latency min/mean/max/p50/p99, bytes of bodies) and
//! stdout stays empty. `-v` adds the connection's counters (connections
//! made, requests retried, PING round trip).
//!
//! - `-d DATA` sends DATA as the request body; `-d @FILE` the file's
//!   contents, `-d @-` standard input (each at most 256 MiB). A body makes
//!   the method `POST` unless `-X` says otherwise.
//! - `-H 'name: value'` adds a header field to every request (repeatable).
//!   A name or value HTTP does not allow, a pseudo-header, or a field that
//!   HTTP/2 forbids (`connection`, `transfer-encoding`, ..., RFC 9113
//!   §8.2.2) is a usage error.
//! - `-X METHOD` sets the method (default `GET`, or `POST` with `-d`).
//! - `--upgrade` starts with an HTTP/1.1 request carrying `Upgrade: h2c`
//!   (RFC 7540 §3.2). Without `-n` the first URL is that request (so it
//!   must be a `GET`, `HEAD` or `OPTIONS` without body): after `101
//!   Switching Protocols` its response comes on stream 1 and the other URLs
//!   go on new streams; a server that answers anything else fails every URL
//!   with that status. With `-n` the upgrade is an `OPTIONS` request of its
//!   own, as the library's `Client` makes it.
//! - `--timeout SECS`: each request must be answered within SECS (default
//!   30); one that is not is reset (CANCEL) and reported, saying whether
//!   the server sent anything at all. `--connect-timeout SECS` bounds the
//!   TCP connection and the TLS handshake (default 10); with `-n` it is
//!   also how long the client keeps reconnecting to a server that is down
//!   before requests fail (`ClientBuilder::reconnect_for`).
//! - `-v` also asks for trailers (`te: trailers`), which it prints.
//! - `https://` URLs: the server's certificate is checked against the
//!   system's trusted roots, or only against `--cacert FILE`; `--insecure`
//!   checks nothing (for tests). The URL's host is sent as SNI.
//!
//! Exit status: 0 when every request got a whole response (whatever its
//! status, as with curl without `-f`), 1 when any did not (a reset, a lost
//! connection, no connection at all), 2 for a usage error. A failure is
//! printed with the stream it used and why, as a sentence:
//! `client: [stream 1] GET /: refused by GOAWAY (last stream id 0)`,
//! `client: [stream 3] GET /big: reset by the peer: CANCEL`,
//! `client: [stream 1] GET /: connection lost (127.0.0.1:8443): the peer
//! reset the TCP connection`.
//!
//! # How it is built
//!
//! Two ways, because the two modes want different things:
//!
//! - **One request per URL** ([`fetch`]): a [`Collector`] actor is the
//!   subscriber of a connection made here. Each request runs in its own
//!   task: `OpenStream` (waits for a stream slot), register the stream with
//!   the collector, then one `SendMessage` with head and body. The stream
//!   id is assigned when the head is written, so the tasks may run in any
//!   order. Notifications are keyed by the stream's `H2Stream`. This
//!   path sees everything the connection does, pushed responses included,
//!   and never sends a request twice: what you ask for is what goes out.
//! - **Many requests** ([`load`]): the library's supervised
//!   [`h2actor::client::Client`], one actor per origin. It queues requests
//!   while the server's stream limit is reached, reconnects after a GOAWAY
//!   or a lost connection and re-sends the requests the server did not
//!   process (REFUSED_STREAM, above GOAWAY's last stream id). `GET` and
//!   `HEAD` are marked idempotent, as browsers do, so they are re-sent after
//!   a connection loss too. It refuses server pushes, which a load test does
//!   not want anyway (push is off for it). Each request is one [`Fetch`]
//!   message; the latency is from sending it to the whole response (time
//!   queued in the client at the server's stream limit included). The
//!   client's defaults hold: 30 s for a whole exchange, response bodies up
//!   to 16 MiB (collected whole, counted, then dropped).
//!
//! The interop tests run the built binary (`tests/interop_our_client.rs`,
//! `interop_tls.rs`, `conformance_client.rs`, `api_user.rs`).

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use futures::stream::StreamExt;
use h2actor::actor::GetStats;
use h2actor::client::{Client, Fetch, FetchError, GetClientStats, Origin, Response};
use h2actor::prelude::*;
use h2actor::transport::H2cLimits;
use h2actor::{GetStreamId, ResetCause, TlsClient, TlsError};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;

/// One request to make.
#[derive(Debug, Clone)]
struct Job {
    /// The method.
    method: Method,
    /// Absolute `http://` or `https://` URI.
    uri: Uri,
    /// Request body; `None` sends the HEADERS with END_STREAM.
    body: Option<Bytes>,
}

impl Job {
    /// The path (and query) of the URI.
    fn path(&self) -> String {
        self.uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned()
    }

    /// The request head of this job, with `headers` added.
    fn request(&self, headers: &HeaderMap) -> Request<()> {
        let mut req = Request::new(());
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = headers.clone();
        req
    }
}

/// What came back on one stream.
#[derive(Debug, Default)]
struct Exchange {
    /// The stream's id (0 if the request never got one).
    id: StreamId,
    /// `Some(associated stream)` for a pushed response.
    pushed_by: Option<StreamId>,
    /// The request's method.
    method: String,
    /// The request's path.
    path: String,
    /// Final status (1xx responses are skipped).
    status: Option<StatusCode>,
    /// The final response's header fields.
    headers: HeaderMap,
    /// The response body.
    body: BytesMut,
    /// The trailer fields, if any.
    trailers: Option<HeaderMap>,
    /// Why the exchange did not complete, if it did not.
    error: Option<String>,
    done: bool,
    /// Output order: (job index, 0) for a request, (the associated request's
    /// job index, promised id) for a pushed response.
    key: (usize, u32),
}

/// Client options.
#[derive(Debug, Clone)]
struct Options {
    /// Advertise SETTINGS_ENABLE_PUSH = 1 (one request per URL only; the
    /// load path never takes pushes).
    enable_push: bool,
    /// Start with the HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2) instead of
    /// prior knowledge: the first job (a `GET`, `HEAD` or `OPTIONS` without
    /// body) is the upgrade request and is answered on stream 1; the others
    /// go on streams 3, 5, ... once HTTP/2 runs.
    upgrade: bool,
    /// Header fields sent with every request (`-H`).
    headers: HeaderMap,
    /// Time for each request's whole exchange (they all start at once).
    timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            enable_push: true,
            upgrade: false,
            headers: HeaderMap::new(),
            timeout: Duration::from_secs(30),
        }
    }
}

// --------------------------------------------------------- the collector

/// The subscriber of the client connection: collects every exchange.
struct Collector {
    exchanges: HashMap<H2Stream, Exchange>,
    /// Requests that never got a stream.
    failures: Vec<Exchange>,
    pending_jobs: usize,
    /// Method and path of each job, for the ones that never got a stream.
    jobs: Vec<(String, String)>,
    /// The time ran out: whatever registers from now on is given up.
    expired: Option<String>,
    /// "host:port", for the errors that name the connection.
    peer: String,
    conn: Option<Addr<Connection>>,
    done: Option<oneshot::Sender<Vec<Exchange>>>,
}

impl Actor for Collector {
    type Context = Context<Self>;
}

/// A request task opened `stream` for job `index`.
#[derive(Message)]
#[rtype(result = "()")]
struct Register {
    index: usize,
    stream: H2Stream,
    method: String,
    path: String,
}

/// A request task is over (its exchange goes on in the notifications);
/// `Err` if the request could not be sent.
#[derive(Message)]
#[rtype(result = "()")]
struct Sent {
    index: usize,
    stream: Option<H2Stream>,
    /// The id the stream got when its HEADERS went out.
    id: Option<StreamId>,
    result: Result<(), String>,
}

impl Register {
    fn new(index: usize, stream: H2Stream, job: &Job) -> Self {
        Register {
            index,
            stream,
            method: job.method.to_string(),
            path: job.path(),
        }
    }
}

impl Collector {
    fn finish(&mut self, stream: &H2Stream, error: Option<String>) {
        if let Some(ex) = self.exchanges.get_mut(stream) {
            if !ex.done {
                ex.done = true;
                ex.error = ex.error.take().or(error);
            }
        }
        self.maybe_done();
    }

    fn maybe_done(&mut self) {
        if self.pending_jobs > 0 || !self.exchanges.values().all(|e| e.done) {
            return;
        }
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

/// The requests' time ran out (`--timeout`); `why` says how far the
/// connection got.
#[derive(Message)]
#[rtype(result = "()")]
struct Expire {
    why: String,
}

impl Handler<Expire> for Collector {
    type Result = ();
    fn handle(&mut self, msg: Expire, _: &mut Context<Self>) {
        if self.done.is_none() {
            return;
        }
        for (stream, ex) in self.exchanges.iter_mut().filter(|(_, ex)| !ex.done) {
            stream.do_send(Reset {
                code: ErrorCode::CANCEL,
            });
            ex.done = true;
            ex.error = Some(msg.why.clone());
        }
        // Jobs still waiting for a stream (or whose HEADERS are not out).
        let seen: std::collections::HashSet<usize> = self
            .exchanges
            .values()
            .map(|ex| ex.key.0)
            .chain(self.failures.iter().map(|ex| ex.key.0))
            .collect();
        for (index, (method, path)) in self.jobs.iter().enumerate() {
            if !seen.contains(&index) {
                self.failures.push(Exchange {
                    method: method.clone(),
                    path: path.clone(),
                    error: Some(msg.why.clone()),
                    done: true,
                    key: (index, 0),
                    ..Default::default()
                });
            }
        }
        self.expired = Some(msg.why);
        self.pending_jobs = 0;
        self.maybe_done();
    }
}

impl Handler<Register> for Collector {
    type Result = ();
    fn handle(&mut self, msg: Register, _: &mut Context<Self>) {
        if self.expired.is_some() {
            // Too late: the job is reported as timed out already.
            msg.stream.do_send(Reset {
                code: ErrorCode::CANCEL,
            });
            return;
        }
        let ex = Exchange {
            method: msg.method,
            path: msg.path,
            key: (msg.index, 0),
            ..Exchange::default()
        };
        self.exchanges.insert(msg.stream, ex);
    }
}

impl Handler<Sent> for Collector {
    type Result = ();
    fn handle(&mut self, msg: Sent, _: &mut Context<Self>) {
        if self.expired.is_some() {
            return;
        }
        self.pending_jobs -= 1;
        if let (Some(stream), Some(id)) = (&msg.stream, msg.id) {
            if let Some(ex) = self.exchanges.get_mut(stream) {
                ex.id = id;
            }
        }
        match (msg.result, msg.stream) {
            (Ok(()), _) => self.maybe_done(),
            (Err(why), Some(stream)) => self.finish(&stream, Some(why)),
            (Err(why), None) => {
                let key = (msg.index, 0);
                self.failures.push(Exchange {
                    error: Some(why),
                    done: true,
                    key,
                    ..Default::default()
                });
                self.maybe_done();
            }
        }
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
        let why = match &msg.cause {
            // Name the connection: a TCP reset is not an HTTP/2 reset.
            ResetCause::Connection(reason) => format!("connection lost ({}): {reason}", self.peer),
            _ => msg.describe(),
        };
        self.finish(&msg.stream, Some(why));
    }
}

impl Handler<Closed> for Collector {
    type Result = ();
    fn handle(&mut self, msg: Closed, ctx: &mut Context<Self>) {
        let why = format!("connection closed ({}): {}", self.peer, msg.reason);
        for ex in self.exchanges.values_mut().filter(|ex| !ex.done) {
            ex.done = true;
            ex.error = Some(why.clone());
        }
        self.pending_jobs = 0;
        self.conn = None;
        self.maybe_done();
        ctx.stop();
    }
}

// ------------------------------------------------------------ requests

/// After `limit`: the requests not answered yet are given up, with what
/// the connection says of the server (did it even send its SETTINGS?).
async fn expire_after(limit: Duration, conn: Addr<Connection>, collector: Addr<Collector>) {
    tokio::time::sleep(limit).await;
    let secs = limit.as_secs_f64();
    let why = match conn.send(GetStats).await {
        Ok(stats) if !stats.peer_settings => format!(
            "no response within {secs} s: the server accepted the connection but has sent nothing (not even its SETTINGS)"
        ),
        _ => format!("no response within {secs} s (--timeout)"),
    };
    collector.do_send(Expire { why });
}

/// One request: open a stream, register it, send head and body at once.
async fn request(
    conn: Addr<Connection>,
    collector: Addr<Collector>,
    index: usize,
    job: Job,
    headers: HeaderMap,
) {
    let stream = match conn.send(OpenStream::default()).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            return collector.do_send(Sent {
                index,
                stream: None,
                id: None,
                result: Err(format!("open stream: {e}")),
            })
        }
        Err(e) => {
            return collector.do_send(Sent {
                index,
                stream: None,
                id: None,
                result: Err(format!("open stream: {e}")),
            })
        }
    };
    collector.do_send(Register::new(index, stream.clone(), &job));
    let message = SendMessage::new(job.request(&headers)).body(job.body.unwrap_or_default());
    let result = match stream.send(message).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("send request: {e}")),
        Err(e) => Err(format!("send request: {e}")),
    };
    // The id, for the labels of what comes back.
    let id = stream.send(GetStreamId).await.ok().flatten();
    collector.do_send(Sent {
        index,
        stream: Some(stream),
        id,
        result,
    });
}

/// Makes every request of `jobs` (each with `options.headers`) over one
/// connection on `io`, concurrently, and returns the exchanges in the order
/// of `jobs`, each request followed by the responses pushed on its stream.
/// Must run inside an actix system.
async fn fetch<IO>(io: IO, peer: String, jobs: Vec<Job>, options: Options) -> Vec<Exchange>
where
    IO: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let (tx, rx) = oneshot::channel();
    let collector = Collector {
        exchanges: HashMap::new(),
        failures: Vec::new(),
        pending_jobs: jobs.len(),
        jobs: jobs
            .iter()
            .map(|j| (j.method.to_string(), j.path()))
            .collect(),
        expired: None,
        peer,
        conn: None,
        done: Some(tx),
    };
    let collector = Collector::create(|_| collector);
    let subscriber = Subscriber::new(&collector)
        .data(&collector)
        .trailers(&collector)
        .promise(&collector)
        .reset(&collector)
        .closed(&collector);
    let config = Config {
        enable_push: options.enable_push,
        ..Config::default()
    };
    let builder = Connection::builder(Role::Client).config(config);
    let mut first = 0;
    let conn = if options.upgrade && !jobs.is_empty() {
        // HTTP/1.1 first: the first job is the upgrade request, answered on
        // stream 1 (RFC 7540 §3.2). Register it before yielding, so the
        // collector knows the stream before its response comes.
        let limits = H2cLimits::default();
        match builder
            .connect_h2c(io, &jobs[0].request(&options.headers), &limits, subscriber)
            .await
        {
            Ok((conn, stream1)) => {
                collector.do_send(Register::new(0, stream1.clone(), &jobs[0]));
                collector.do_send(Sent {
                    index: 0,
                    stream: Some(stream1),
                    id: Some(StreamId(1)),
                    result: Ok(()),
                });
                first = 1;
                conn
            }
            Err(e) => {
                let why = format!("h2c upgrade: {e}");
                return jobs
                    .iter()
                    .enumerate()
                    .map(|(index, job)| Exchange {
                        method: job.method.to_string(),
                        path: job.path(),
                        error: Some(why.clone()),
                        done: true,
                        key: (index, 0),
                        ..Exchange::default()
                    })
                    .collect();
            }
        }
    } else {
        builder.start(io, subscriber)
    };
    collector.do_send(SetConn(conn.clone()));
    actix::spawn(expire_after(
        options.timeout,
        conn.clone(),
        collector.clone(),
    ));
    if jobs.is_empty() {
        conn.do_send(Close {
            code: ErrorCode::NO_ERROR,
        });
        return Vec::new();
    }
    for (index, job) in jobs.into_iter().enumerate().skip(first) {
        let headers = options.headers.clone();
        actix::spawn(request(
            conn.clone(),
            collector.clone(),
            index,
            job,
            headers,
        ));
    }
    rx.await.unwrap_or_default()
}

/// Gives the collector the connection to close when everything is done.
#[derive(Message)]
#[rtype(result = "()")]
struct SetConn(Addr<Connection>);

impl Handler<SetConn> for Collector {
    type Result = ();
    fn handle(&mut self, msg: SetConn, _: &mut Context<Self>) {
        if self.done.is_some() {
            self.conn = Some(msg.0);
        }
    }
}

// -------------------------------------------------------- many requests

/// `-n N -c C`: how many requests, how many at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Load {
    /// Requests in total; the URLs are taken in turn.
    requests: usize,
    /// Requests in flight at most (the server's `MAX_CONCURRENT_STREAMS`
    /// bounds it too: the client queues the rest).
    concurrency: usize,
}

/// Distinct error messages a [`LoadReport`] keeps; further ones are
/// counted under "other errors".
const MAX_ERROR_KINDS: usize = 16;

/// What a [`load`] run measured.
#[derive(Debug, Default)]
struct LoadReport {
    /// From the first request to the last answer.
    elapsed: Duration,
    /// Requests made.
    total: usize,
    /// The latency of every request that got a whole response, sorted.
    latencies: Vec<Duration>,
    /// Requests that did not get a whole response.
    failed: usize,
    /// Responses by status class: `status_classes[2]` counts the 2xx.
    status_classes: [usize; 10],
    /// Bytes of response bodies received.
    body_bytes: u64,
    /// Why requests failed, with how many failed so.
    errors: BTreeMap<String, usize>,
}

impl LoadReport {
    /// Requests that got a whole response (any status).
    fn done(&self) -> usize {
        self.latencies.len()
    }

    /// The latency below which `p` percent of the answered requests came
    /// (nearest rank); `None` if none was answered.
    fn percentile(&self, p: f64) -> Option<Duration> {
        let n = self.latencies.len();
        if n == 0 {
            return None;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        Some(self.latencies[rank.clamp(1, n) - 1])
    }

    fn record(&mut self, latency: Duration, result: Result<Response, FetchError>) {
        match result {
            Ok(response) => {
                self.latencies.push(latency);
                let class = usize::from(response.head.status.as_u16() / 100);
                self.status_classes[class.min(9)] += 1;
                self.body_bytes += response.body.len() as u64;
            }
            Err(e) => {
                self.failed += 1;
                let why = e.to_string();
                if self.errors.contains_key(&why) || self.errors.len() < MAX_ERROR_KINDS {
                    *self.errors.entry(why).or_default() += 1;
                } else {
                    *self.errors.entry("other errors".into()).or_default() += 1;
                }
            }
        }
    }

    /// Writes the summary, in the shape of h2load's:
    ///
    /// ```text
    /// finished in 52.31ms, 3823.35 req/s, 42.00KB/s
    /// requests: 200 total, 200 done, 0 failed
    /// status codes: 200 2xx, 0 3xx, 0 4xx, 0 5xx
    /// traffic: 2.34KB (2400) of response bodies
    ///                      min       max      mean       p50       p99
    /// time for request:  1.02ms    9.87ms    2.46ms    2.21ms    9.01ms
    /// ```
    fn summary(&self, w: &mut impl Write) -> std::io::Result<()> {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(
            w,
            "finished in {}, {:.2} req/s, {}/s",
            human_duration(self.elapsed),
            self.done() as f64 / secs,
            human_bytes(self.body_bytes as f64 / secs)
        )?;
        writeln!(
            w,
            "requests: {} total, {} done, {} failed",
            self.total,
            self.done(),
            self.failed
        )?;
        let c = &self.status_classes;
        write!(
            w,
            "status codes: {} 2xx, {} 3xx, {} 4xx, {} 5xx",
            c[2], c[3], c[4], c[5]
        )?;
        let other: usize = c[..2].iter().chain(&c[6..]).sum();
        if other > 0 {
            write!(w, ", {other} other")?;
        }
        writeln!(w)?;
        writeln!(
            w,
            "traffic: {} ({}) of response bodies",
            human_bytes(self.body_bytes as f64),
            self.body_bytes
        )?;
        let show = |d: Option<Duration>| d.map_or_else(|| "-".to_owned(), human_duration);
        let mean =
            (self.done() > 0).then(|| self.latencies.iter().sum::<Duration>() / self.done() as u32);
        writeln!(
            w,
            "{:17}{:>10}{:>10}{:>10}{:>10}{:>10}",
            "", "min", "max", "mean", "p50", "p99"
        )?;
        writeln!(
            w,
            "{:17}{:>10}{:>10}{:>10}{:>10}{:>10}",
            "time for request:",
            show(self.latencies.first().copied()),
            show(self.latencies.last().copied()),
            show(mean),
            show(self.percentile(50.0)),
            show(self.percentile(99.0))
        )?;
        for (why, n) in &self.errors {
            writeln!(w, "errors: {n} x {why}")?;
        }
        Ok(())
    }
}

/// `12us`, `3.45ms`, `1.20s`, as h2load writes them.
fn human_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0}us")
    } else if us < 1e6 {
        format!("{:.2}ms", us / 1e3)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}

/// `512B`, `2.34KB`, `1.01MB`, `3.00GB` (powers of 1024, as h2load).
fn human_bytes(n: f64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1024.0 {
        return format!("{n:.0}B");
    }
    let mut v = n / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.2}{}", UNITS[unit])
}

/// `job` (with `headers`) as a message to a [`Client`]. `GET` and `HEAD`
/// are idempotent: the client may re-send them after a connection loss.
fn fetch_message(job: &Job, headers: &HeaderMap) -> Fetch {
    let mut request = http::Request::new(job.body.clone().unwrap_or_default());
    *request.method_mut() = job.method.clone();
    *request.uri_mut() = job.uri.clone();
    *request.headers_mut() = headers.clone();
    let idempotent = matches!(job.method, Method::GET | Method::HEAD);
    Fetch::new(request).idempotent(idempotent)
}

/// One request to `client`, timed from sending to the whole response.
async fn timed(client: Addr<Client>, fetch: Fetch) -> (Duration, Result<Response, FetchError>) {
    let start = Instant::now();
    let result = client
        .send(fetch)
        .await
        .unwrap_or(Err(FetchError::ClientStopped));
    (start.elapsed(), result)
}

/// Makes `load.requests` requests through `client`, the `jobs` in turn
/// (each with `headers`), at most `load.concurrency` at a time, and
/// measures them. The responses are counted, not kept. After a request
/// fails because no connection could be made (the client has retried with
/// backoff by then), the rest are not sent and count as failed. Must run
/// inside an actix system.
async fn load(client: &Addr<Client>, jobs: &[Job], headers: &HeaderMap, load: Load) -> LoadReport {
    let mut report = LoadReport {
        total: if jobs.is_empty() { 0 } else { load.requests },
        ..LoadReport::default()
    };
    let started = Instant::now();
    // The client already spent its attempts and backoff on connecting: once
    // a request fails for want of a connection, send no more.
    let unreachable = std::cell::Cell::new(false);
    let requests = (0..report.total)
        .take_while(|_| !unreachable.get())
        .map(|i| {
            let job = &jobs[i % jobs.len()];
            timed(client.clone(), fetch_message(job, headers))
        });
    // At most `concurrency` of these futures run at once; each answer is
    // recorded as it comes.
    let mut answers = futures::stream::iter(requests).buffer_unordered(load.concurrency.max(1));
    while let Some((latency, result)) = answers.next().await {
        if let Err(FetchError::Connect { .. }) = result {
            unreachable.set(true);
        }
        report.record(latency, result);
    }
    let unsent = report.total - report.done() - report.failed;
    if unsent > 0 {
        report.failed += unsent;
        let why = "not sent: no connection to the origin".to_owned();
        report.errors.insert(why, unsent);
    }
    report.elapsed = started.elapsed();
    report.latencies.sort();
    report
}

// ------------------------------------------------------------------ main

const USAGE: &str = "usage: client [-v] [--no-push] [--upgrade] [-X METHOD] [-H 'name: value']... \
[-d DATA | -d @FILE | -d @-] [-n N [-c C]] [--cacert FILE | --insecure] \
[--timeout SECS] [--connect-timeout SECS] URL...";

const HELP: &str = "\
Makes HTTP/2 requests over one connection (h2c for http://, TLS for https://).

Without -n: one request per URL, all at once; stdout gets the response
bodies only, in the order of the URLs (pushed responses after theirs).
With -n: bodies are NOT printed; a latency summary goes to stderr.

  -v               status, header fields and trailers on stderr (asks
                   for trailers with te: trailers; with -n: connections,
                   retries and round-trip time)
  -X METHOD        the method (default GET, or POST with -d)
  -H 'name: value' add a header field to every request (repeatable)
  -d DATA          request body DATA; -d @FILE: the file; -d @-: stdin
  -n N             make N requests in total, taking the URLs in turn
  -c C             at most C requests in flight (default 1; with -n)
  --no-push        tell the server not to push (SETTINGS_ENABLE_PUSH = 0)
  --upgrade        http:// only: start with HTTP/1.1 Upgrade: h2c
  --cacert FILE    https:// only: trust only the CA certificates in FILE
  --insecure       https:// only: do not check the certificate (tests)
  --timeout SECS   each request must complete within SECS (default 30)
  --connect-timeout SECS
                   time to connect, TLS handshake included (default 10)

Exit status: 0 all requests answered (any status), 1 some failed, 2 usage.";

/// The largest request body `-d` takes.
const MAX_DATA: u64 = 256 << 20;
/// The most requests `-n` takes (each one's latency is kept for the
/// percentiles: 16 bytes each).
const MAX_REQUESTS: usize = 10_000_000;

/// How to verify an `https://` server.
#[derive(Debug)]
enum Trust {
    /// The system's trusted roots.
    System,
    /// Only the CA certificates of this PEM file.
    CaFile(String),
    /// Nothing (tests only).
    Insecure,
}

/// The TLS client for `trust`.
fn tls_client(trust: &Trust) -> Result<TlsClient, TlsError> {
    match trust {
        Trust::System => TlsClient::with_system_roots(),
        Trust::CaFile(path) => TlsClient::with_ca_file(path),
        Trust::Insecure => Ok(TlsClient::dangerous_no_verification()),
    }
}

/// The command line, parsed and checked.
#[derive(Debug)]
struct Args {
    verbose: bool,
    options: Options,
    method: Method,
    data: Option<Bytes>,
    trust: Trust,
    uris: Vec<Uri>,
    origin: Origin,
    load: Option<Load>,
    connect_timeout: Duration,
}

/// Parses the arguments after the program name: `Ok(None)` for `--help`,
/// `Err(why)` for a usage error.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut verbose = false;
    let mut options = Options::default();
    let mut method: Option<Method> = None;
    let mut data: Option<Bytes> = None;
    let mut trust = Trust::System;
    let mut uris: Vec<Uri> = Vec::new();
    let (mut requests, mut concurrency) = (None, None);
    let mut connect_timeout = Duration::from_secs(10);
    while let Some(arg) = args.next() {
        let mut value = |what: &str| args.next().ok_or_else(|| format!("{arg} takes {what}"));
        match arg.as_str() {
            "-v" => verbose = true,
            "--no-push" => options.enable_push = false,
            "--upgrade" => options.upgrade = true,
            "-X" => {
                let m = value("METHOD")?;
                method = Some(
                    Method::from_bytes(m.as_bytes())
                        .map_err(|_| format!("-X {m:?}: not a method"))?,
                );
            }
            "-H" => {
                let (name, value) = parse_header(&value("'name: value'")?)?;
                options.headers.append(name, value);
            }
            "-d" => data = Some(read_data(&value("DATA, @FILE or @-")?)?),
            "-n" => requests = Some(parse_count(&arg, &value("N")?, MAX_REQUESTS)?),
            "-c" => concurrency = Some(parse_count(&arg, &value("C")?, u16::MAX.into())?),
            "--cacert" => trust = Trust::CaFile(value("FILE")?),
            "--insecure" => trust = Trust::Insecure,
            "--timeout" => options.timeout = parse_secs(&arg, &value("SECS")?)?,
            "--connect-timeout" => connect_timeout = parse_secs(&arg, &value("SECS")?)?,
            "-h" | "--help" => return Ok(None),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            url => match url.parse::<Uri>() {
                Ok(u) if Origin::from_uri(&u).is_ok() => uris.push(u),
                _ => return Err(format!("not an http:// or https:// URL: {url:?}")),
            },
        }
    }
    let first = uris.first().ok_or("no URL")?;
    let origin = Origin::from_uri(first).map_err(|e| e.to_string())?;
    if uris
        .iter()
        .any(|u| Origin::from_uri(u).as_ref() != Ok(&origin))
    {
        return Err("all URLs must share one scheme, host and port (one connection)".into());
    }
    let https = origin.scheme() == "https";
    if options.upgrade && https {
        return Err("--upgrade is for http:// (over TLS, ALPN chooses h2)".into());
    }
    let load = match (requests, concurrency) {
        (Some(requests), c) => Some(Load {
            requests,
            concurrency: c.unwrap_or(1),
        }),
        (None, Some(_)) => return Err("-c goes with -n".into()),
        (None, None) => None,
    };
    let method = method.unwrap_or(if data.is_some() {
        Method::POST
    } else {
        Method::GET
    });
    // Without -n the first URL is the HTTP/1.1 upgrade request itself.
    let upgrade_first = options.upgrade && load.is_none();
    if upgrade_first
        && (data.is_some() || !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS))
    {
        return Err("--upgrade starts with an HTTP/1.1 GET, HEAD or OPTIONS without body".into());
    }
    if verbose && !options.headers.contains_key(http::header::TE) {
        // Ask for trailers, which -v prints (RFC 9110 §10.1.4).
        options
            .headers
            .insert(http::header::TE, HeaderValue::from_static("trailers"));
    }
    Ok(Some(Args {
        verbose,
        options,
        method,
        data,
        trust,
        uris,
        origin,
        load,
        connect_timeout,
    }))
}

/// `--timeout SECS`, `--connect-timeout SECS`: a positive number of
/// seconds, fractions allowed, at most a day.
fn parse_secs(flag: &str, value: &str) -> Result<Duration, String> {
    match value.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{flag} takes a number of seconds (0 < SECS <= 86400), not {value:?}"
        )),
    }
}

/// `-H 'name: value'`: a header field HTTP/2 lets a client send.
fn parse_header(line: &str) -> Result<(HeaderName, HeaderValue), String> {
    let bad = |why: &str| format!("-H {line:?}: {why}");
    if line.starts_with(':') {
        return Err(bad("pseudo-header fields come from the URL and -X"));
    }
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| bad("not 'name: value'"))?;
    // Names are sent in lowercase (RFC 9113 §8.2.1); `from_bytes` lowers them.
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("not a field name"))?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| bad("not a field value"))?;
    // RFC 9113 §8.2.2: connection-specific fields make a request malformed.
    let connection_specific = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
    ];
    if connection_specific.contains(&name.as_str()) || (name == "te" && value != "trailers") {
        return Err(bad(
            "a connection-specific field, not allowed in HTTP/2 (RFC 9113 §8.2.2)",
        ));
    }
    Ok((name, value))
}

/// `-d DATA`, `-d @FILE`, `-d @-` (stdin): the body, at most [`MAX_DATA`].
fn read_data(arg: &str) -> Result<Bytes, String> {
    let Some(path) = arg.strip_prefix('@') else {
        return Ok(Bytes::from(arg.to_owned()));
    };
    let (source, name): (Box<dyn Read>, &str) = if path == "-" {
        (Box::new(std::io::stdin()), "standard input")
    } else {
        let file = std::fs::File::open(path).map_err(|e| format!("-d @{path}: {e}"))?;
        (Box::new(file), path)
    };
    let mut body = Vec::new();
    source
        .take(MAX_DATA + 1)
        .read_to_end(&mut body)
        .map_err(|e| format!("-d: reading {name}: {e}"))?;
    if body.len() as u64 > MAX_DATA {
        return Err(format!("-d: {name} is larger than {MAX_DATA} bytes"));
    }
    Ok(Bytes::from(body))
}

/// `-n N` or `-c C`: 1 to `max`.
fn parse_count(flag: &str, value: &str, max: usize) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{flag} takes a number from 1 to {max}, not {value:?}"
        )),
    }
}

fn main() {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}\n\n{HELP}");
            return;
        }
        Err(why) => {
            eprintln!("client: {why}\n{USAGE}");
            std::process::exit(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let tls = match args.origin.scheme() {
        "https" => match tls_client(&args.trust) {
            Ok(tls) => Some(tls),
            Err(e) => {
                eprintln!("client: {e}");
                std::process::exit(1);
            }
        },
        _ => None,
    };
    let system = actix::System::new();
    let all_answered = match args.load {
        None => system.block_on(run_once(&args, tls)),
        Some(load) => system.block_on(run_load(&args, tls, load)),
    };
    std::process::exit(if all_answered { 0 } else { 1 });
}

/// The jobs of the command line: one per URL.
fn jobs(args: &Args) -> Vec<Job> {
    args.uris
        .iter()
        .map(|uri| Job {
            method: args.method.clone(),
            uri: uri.clone(),
            body: args.data.clone(),
        })
        .collect()
}

/// Without `-n`: one request per URL over a connection made here, bodies
/// to stdout. True if every request was answered.
async fn run_once(args: &Args, tls: Option<TlsClient>) -> bool {
    let (host, port) = (args.origin.host(), args.origin.port());
    let peer = format!("{host}:{port}");
    let limit = args.connect_timeout;
    let secs = limit.as_secs_f64();
    let connect = tokio::net::TcpStream::connect((host, port));
    let tcp = match tokio::time::timeout(limit, connect).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return fail(format!(
                "cannot connect to {peer}: connection refused (TCP)"
            ))
        }
        Ok(Err(e)) => return fail(format!("cannot connect to {peer}: {e}")),
        Err(_) => {
            return fail(format!(
                "cannot connect to {peer}: no connection within {secs} s (--connect-timeout)"
            ))
        }
    };
    let _ = tcp.set_nodelay(true);
    let (jobs, options) = (jobs(args), args.options.clone());
    let exchanges = match tls {
        None => fetch(tcp, peer, jobs, options).await,
        // SNI and certificate check by the URL's host, ALPN h2; the
        // handshake counts in the connect timeout.
        Some(tls) => match tokio::time::timeout(limit, tls.connect(host, tcp)).await {
            Ok(Ok(stream)) => fetch(stream, peer, jobs, options).await,
            Ok(Err(e)) => return fail(format!("TLS handshake with {peer} failed: {e}")),
            Err(_) => {
                return fail(format!(
                    "TLS handshake with {peer}: not done within {secs} s (--connect-timeout)"
                ))
            }
        },
    };
    let failed = print(
        &exchanges,
        args.verbose,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr(),
    );
    !failed
}

/// With `-n`: the requests through a [`Client`], the summary to stderr.
/// True if every request was answered.
async fn run_load(args: &Args, tls: Option<TlsClient>, load_of: Load) -> bool {
    // A load test wants no pushes; the client would refuse them anyway.
    let config = Config {
        enable_push: false,
        ..Config::default()
    };
    let mut builder = Client::builder(args.origin.clone())
        .connection(Connection::builder(Role::Client).config(config))
        .h2c_upgrade(args.options.upgrade)
        .connect_timeout(args.connect_timeout)
        .reconnect_for(args.connect_timeout)
        .timeout(args.options.timeout)
        .max_queued(load_of.concurrency);
    if let Some(tls) = tls {
        builder = builder.tls(tls);
    }
    let client = builder.start();
    let report = load(&client, &jobs(args), &args.options.headers, load_of).await;
    let mut err = std::io::stderr().lock();
    let _ = report.summary(&mut err);
    if args.verbose {
        if let Ok(stats) = client.send(GetClientStats).await {
            let rtt = stats.rtt.map_or_else(|| "-".to_owned(), human_duration);
            let _ = writeln!(
                err,
                "client: {} connection(s), {} request(s) retried, PING round trip {rtt}",
                stats.connections, stats.retries
            );
        }
    }
    client.do_send(Close {
        code: ErrorCode::NO_ERROR,
    });
    report.failed == 0 && report.done() > 0
}

fn fail(why: String) -> bool {
    eprintln!("client: {why}");
    false
}

/// Writes the bodies to `out`, in order, and nothing else; with `verbose`,
/// each exchange's status line, header fields and trailers to `err`, where
/// errors always go. Returns true if an exchange failed (or none ran).
fn print(
    exchanges: &[Exchange],
    verbose: bool,
    out: &mut impl Write,
    err: &mut impl Write,
) -> bool {
    let mut failed = exchanges.is_empty();
    for ex in exchanges {
        if verbose {
            let pushed = ex
                .pushed_by
                .map(|by| format!(" (pushed on stream {by})"))
                .unwrap_or_default();
            let status = ex.status.map_or_else(|| "-".to_owned(), |s| s.to_string());
            let _ = writeln!(
                err,
                "[stream {}] {} {} -> {status}{pushed}",
                ex.id, ex.method, ex.path
            );
            for (name, value) in &ex.headers {
                let _ = writeln!(err, "{name}: {}", String::from_utf8_lossy(value.as_bytes()));
            }
            for (name, value) in ex.trailers.iter().flatten() {
                let _ = writeln!(
                    err,
                    "(trailer) {name}: {}",
                    String::from_utf8_lossy(value.as_bytes())
                );
            }
        }
        let _ = out.write_all(&ex.body);
        if let Some(e) = &ex.error {
            failed = true;
            let _ = writeln!(
                err,
                "client: [stream {}] {} {}: {e}",
                ex.id, ex.method, ex.path
            );
        }
    }
    let _ = out.flush();
    failed
}
