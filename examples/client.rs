//! An HTTP/2 client written with h2actor's actors: h2c with prior knowledge
//! for `http://` (or the HTTP/1.1 upgrade with `--upgrade`), TLS with ALPN
//! `h2` for `https://`; one connection, every URL its own concurrent
//! stream, pushed responses collected too. The code to copy when you write
//! your own.
//!
//! ```text
//! cargo run --release --example client -- [-v] [--no-push] [--upgrade] [-d DATA] [--cacert FILE | --insecure] URL...
//! cargo run --release --example client -- -v http://127.0.0.1:8080/ http://127.0.0.1:8080/push
//! cargo run --release --example client -- --upgrade -v http://127.0.0.1:8080/ http://127.0.0.1:8080/bytes/10
//! cargo run --release --example client -- --cacert /tmp/h2actor-server-PID/cert.pem https://localhost:8443/
//! ```
//!
//! `--upgrade` sends the first URL as an HTTP/1.1 `GET` with `Upgrade:
//! h2c` (RFC 7540 §3.2): after `101 Switching Protocols` its response comes
//! on stream 1 and the other URLs go on new streams; a server that answers
//! anything else fails every URL with that status.
//!
//! `https://` URLs: the server's certificate is checked against the system's
//! trusted roots, or only against `--cacert FILE`; `--insecure` checks
//! nothing (for tests). The URL's host is sent as SNI.
//!
//! stdout gets the response bodies only, in the order of the URLs (each
//! pushed response after the request that brought it). `-v` prints each
//! status, header fields and trailers on stderr. `-d DATA` POSTs DATA to
//! every URL. Exit status 1 when any exchange failed.
//!
//! How it is built: a [`Collector`] actor is the subscriber of the
//! connection. Each request runs in its own task: `OpenStream` (waits for a
//! stream slot), register the stream with the collector, then one
//! `SendMessage` with head and body. The stream id is assigned when the
//! head is written, so the tasks may run in any order. Notifications are
//! keyed by the stream's `Addr<H2Stream>`.
//!
//! The interop tests include this file (`tests/support/mod.rs`).

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

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
    /// The method.
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
    /// The stream's id (0 if the request never got one).
    pub id: StreamId,
    /// `Some(associated stream)` for a pushed response.
    pub pushed_by: Option<StreamId>,
    /// The request's method.
    pub method: String,
    /// The request's path.
    pub path: String,
    /// Final status (1xx responses are skipped).
    pub status: Option<StatusCode>,
    /// The final response's header fields.
    pub headers: HeaderMap,
    /// The response body.
    pub body: BytesMut,
    /// The trailer fields, if any.
    pub trailers: Option<HeaderMap>,
    /// Why the exchange did not complete, if it did not.
    pub error: Option<String>,
    done: bool,
    /// Output order: (job index, 0) for a request, (the associated request's
    /// job index, promised id) for a pushed response.
    key: (usize, u32),
}

/// Client options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Advertise SETTINGS_ENABLE_PUSH = 1.
    pub enable_push: bool,
    /// Start with the HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2) instead of
    /// prior knowledge: the first job (a `GET`, `HEAD` or `OPTIONS` without
    /// body) is the upgrade request and is answered on stream 1; the others
    /// go on streams 3, 5, ... once HTTP/2 runs.
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

// --------------------------------------------------------- the collector

/// The subscriber of the client connection: collects every exchange.
struct Collector {
    exchanges: HashMap<Addr<H2Stream>, Exchange>,
    /// Requests that never got a stream.
    failures: Vec<Exchange>,
    pending_jobs: usize,
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
    stream: Addr<H2Stream>,
    method: String,
    path: String,
}

/// A request task is over (its exchange goes on in the notifications);
/// `Err` if the request could not be sent.
#[derive(Message)]
#[rtype(result = "()")]
struct Sent {
    index: usize,
    stream: Option<Addr<H2Stream>>,
    result: Result<(), String>,
}

impl Register {
    fn new(index: usize, stream: Addr<H2Stream>, job: &Job) -> Self {
        Register {
            index,
            stream,
            method: job.method.to_string(),
            path: job.path(),
        }
    }
}

impl Job {
    /// The path (and query) of the URI.
    fn path(&self) -> String {
        self.uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned()
    }

    /// The request head of this job.
    fn request(&self) -> Request<()> {
        let mut req = Request::new(());
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        req
    }
}

impl Collector {
    fn finish(&mut self, stream: &Addr<H2Stream>, error: Option<String>) {
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

impl Handler<Register> for Collector {
    type Result = ();
    fn handle(&mut self, msg: Register, _: &mut Context<Self>) {
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
        self.pending_jobs -= 1;
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
        let who = if msg.remote { "peer" } else { "us" };
        self.finish(&msg.stream, Some(format!("reset by {who}: {}", msg.code)));
    }
}

impl Handler<Closed> for Collector {
    type Result = ();
    fn handle(&mut self, msg: Closed, ctx: &mut Context<Self>) {
        let why = format!("connection closed: {:?}", msg.reason);
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

/// One request: open a stream, register it, send head and body at once.
async fn request(conn: Addr<Connection>, collector: Addr<Collector>, index: usize, job: Job) {
    let stream = match conn.send(OpenStream::default()).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            return collector.do_send(Sent {
                index,
                stream: None,
                result: Err(format!("open stream: {e}")),
            })
        }
        Err(e) => {
            return collector.do_send(Sent {
                index,
                stream: None,
                result: Err(format!("open stream: {e}")),
            })
        }
    };
    collector.do_send(Register::new(index, stream.clone(), &job));
    let message = SendMessage::new(job.request()).body(job.body.unwrap_or_default());
    let result = match stream.send(message).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("send request: {e}")),
        Err(e) => Err(format!("send request: {e}")),
    };
    collector.do_send(Sent {
        index,
        stream: Some(stream),
        result,
    });
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
        pending_jobs: jobs.len(),
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
            .connect_h2c(io, &jobs[0].request(), &limits, subscriber)
            .await
        {
            Ok((conn, stream1)) => {
                collector.do_send(Register::new(0, stream1.clone(), &jobs[0]));
                collector.do_send(Sent {
                    index: 0,
                    stream: Some(stream1),
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
    if jobs.is_empty() {
        conn.do_send(Close {
            code: ErrorCode::NO_ERROR,
        });
        return Vec::new();
    }
    for (index, job) in jobs.into_iter().enumerate().skip(first) {
        actix::spawn(request(conn.clone(), collector.clone(), index, job));
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

// ------------------------------------------------------------------ main

const USAGE: &str =
    "usage: client [-v] [--no-push] [--upgrade] [-d DATA] [--cacert FILE | --insecure] URL...";

/// How to verify an `https://` server.
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

fn main() {
    let mut verbose = false;
    let mut data: Option<Bytes> = None;
    let mut options = Options::default();
    let mut uris: Vec<Uri> = Vec::new();
    let mut trust = Trust::System;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-v" => verbose = true,
            "--no-push" => options.enable_push = false,
            "--upgrade" => options.upgrade = true,
            "-d" => match args.next() {
                Some(d) => data = Some(Bytes::from(d)),
                None => exit_usage("-d takes DATA"),
            },
            "--cacert" => match args.next() {
                Some(file) => trust = Trust::CaFile(file),
                None => exit_usage("--cacert takes FILE"),
            },
            "--insecure" => trust = Trust::Insecure,
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            url => match url.parse::<Uri>() {
                Ok(u)
                    if matches!(u.scheme_str(), Some("http" | "https"))
                        && u.authority().is_some() =>
                {
                    uris.push(u)
                }
                _ => exit_usage(&format!("not an http:// or https:// URL: {url:?}")),
            },
        }
    }
    let Some(first) = uris.first() else {
        exit_usage("no URL")
    };
    if options.upgrade && data.is_some() {
        exit_usage("--upgrade starts with an HTTP/1.1 GET: no -d");
    }
    let authority = first
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let https = first.scheme_str() == Some("https");
    if options.upgrade && https {
        exit_usage("--upgrade is for http:// (over TLS, ALPN chooses h2)");
    }
    if uris.iter().any(|u| {
        u.authority().map(|a| a.as_str()) != Some(authority.as_str())
            || u.scheme_str() != first.scheme_str()
    }) {
        exit_usage("all URLs must share one scheme and authority (one connection)");
    }
    let host = first
        .host()
        .unwrap_or("localhost")
        .trim_matches(|c| c == '[' || c == ']')
        .to_owned();
    let port = first.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tls = if https {
        match tls_client(&trust) {
            Ok(tls) => Some(tls),
            Err(e) => {
                eprintln!("client: {e}");
                std::process::exit(1);
            }
        }
    } else {
        None
    };

    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    let method = if data.is_some() {
        Method::POST
    } else {
        Method::GET
    };
    let jobs: Vec<Job> = uris
        .into_iter()
        .map(|uri| Job {
            method: method.clone(),
            uri,
            body: data.clone(),
        })
        .collect();
    let system = actix::System::new();
    let result = system.block_on(async move {
        let connect = tokio::net::TcpStream::connect((host.as_str(), port));
        let tcp = tokio::time::timeout(Duration::from_secs(10), connect)
            .await
            .map_err(|_| "connect timed out".to_owned())?
            .map_err(|e| format!("connect {host}:{port}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        match tls {
            None => Ok::<_, String>(fetch(tcp, jobs, options).await),
            // SNI and certificate check by the URL's host, ALPN h2.
            Some(tls) => match tls.connect(&host, tcp).await {
                Ok(stream) => Ok(fetch(stream, jobs, options).await),
                Err(e) => Err(format!("TLS with {host}:{port}: {e}")),
            },
        }
    });
    let exchanges = match result {
        Ok(x) => x,
        Err(e) => {
            eprintln!("client: {e}");
            std::process::exit(1);
        }
    };
    let failed = print(
        &exchanges,
        verbose,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr(),
    );
    if failed {
        std::process::exit(1);
    }
}

/// Writes the bodies to `out`, in order, and nothing else; with `verbose`,
/// each exchange's status line, header fields and trailers to `err`, where
/// errors always go. Returns true if an exchange failed (or none ran).
pub fn print(
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

fn exit_usage(why: &str) -> ! {
    eprintln!("client: {why}\n{USAGE}");
    std::process::exit(2);
}
