//! A gRPC server on h2actor's actors, with raw bytes for messages (no
//! protobuf): any gRPC client can call it with identity serializers.
//!
//! ```text
//! cargo run --release --example grpc -- --addr 127.0.0.1:50051
//! ```
//!
//! It speaks h2c with prior knowledge (what grpcio's `insecure_channel`
//! uses) and serves three methods of the service `echo.Echo`:
//!
//! | method | request message | response |
//! |---|---|---|
//! | `/echo.Echo/Unary` | any bytes | the same bytes |
//! | `/echo.Echo/Count` (server streaming) | `N`, decimal text (at most 10,000,000) | N messages: `1`, `2`, ... `N` |
//! | `/echo.Echo/Sleep` | `MS`, decimal text (at most 60,000) | the request after MS milliseconds |
//!
//! ```python
//! import grpc
//! ch = grpc.insecure_channel("127.0.0.1:50051")
//! unary = ch.unary_unary("/echo.Echo/Unary", request_serializer=None, response_deserializer=None)
//! print(unary(b"hello", timeout=5))                                   # b'hello'
//! count = ch.unary_stream("/echo.Echo/Count", request_serializer=None, response_deserializer=None)
//! print(list(count(b"3", timeout=5)))                                 # [b'1', b'2', b'3']
//! ```
//!
//! How a call goes (the gRPC "PROTOCOL-HTTP2" document):
//!
//! - The request is a POST whose path names the method, with
//!   `content-type: application/grpc` (and `grpc-timeout` if the client set
//!   a deadline). Its body is a sequence of length-prefixed messages: one
//!   byte "compressed" flag, four bytes of big-endian length, the message.
//!   A message may span several DATA frames, and one frame may hold
//!   several messages: [`Call::take_messages`] reassembles them.
//! - The response is `:status 200` with `content-type: application/grpc`,
//!   the messages in the same framing, then trailers with `grpc-status`
//!   (0 for OK) and `grpc-message` (percent-encoded). A call that fails
//!   before any message (an unknown method, a bad request) gets a
//!   "trailers-only" response: one HEADERS frame with the status in it.
//! - A deadline (`grpc-timeout: 200m`) becomes a timer; when it fires the
//!   call ends with `grpc-status: 4` (DEADLINE_EXCEEDED). A client that
//!   gives up (its deadline, or `call.cancel()`) sends RST_STREAM CANCEL:
//!   the service hears `RecvReset` and drops the call, timers and sender
//!   included.
//!
//! The actors: one [`EchoService`] per connection is the subscriber of its
//! streams (`RecvHeaders`, `RecvData`, `RecvTrailers`, `RecvReset`,
//! `Closed`) and keeps a [`Call`] per stream, keyed by the stream's
//! `H2Stream`. It answers with `SendHeaders`, `SendData` and
//! `SendTrailers` on that stream. `Count` streams its messages from a
//! future that awaits each `SendData`: it resolves only once the data is
//! inside the client's flow-control window, so a client that reads slowly
//! slows the sender down and nothing piles up in memory.
//!
//! Limits: a request message larger than [`MAX_MESSAGE`] ends the call
//! with RESOURCE_EXHAUSTED as soon as its length prefix arrives (the bytes
//! are never buffered); compressed messages get UNIMPLEMENTED.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use actix::prelude::*;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use h2actor::prelude::*;
use h2actor::Error;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};

/// The largest request message accepted: grpcio's default limit (4 MiB)
/// and a little room. Beyond it the call ends with RESOURCE_EXHAUSTED.
pub const MAX_MESSAGE: usize = (4 << 20) + (64 << 10);
/// The largest `N` that `Count` takes.
pub const MAX_COUNT: u64 = 10_000_000;
/// The longest `Sleep`, in milliseconds.
pub const MAX_SLEEP_MS: u64 = 60_000;
/// `Count` hands its messages to `SendData` in batches of about this many
/// bytes: one awaited message per batch, not per gRPC message.
const BATCH: usize = 16 << 10;

// ------------------------------------------------------------ gRPC basics

/// The gRPC status codes this server uses (`grpc-status`).
mod code {
    pub const OK: u32 = 0;
    pub const INVALID_ARGUMENT: u32 = 3;
    pub const DEADLINE_EXCEEDED: u32 = 4;
    pub const RESOURCE_EXHAUSTED: u32 = 8;
    pub const UNIMPLEMENTED: u32 = 12;
    pub const INTERNAL: u32 = 13;
}

/// How a call ends: `grpc-status` and `grpc-message`.
#[derive(Debug)]
struct Status {
    code: u32,
    message: String,
}

impl Status {
    fn ok() -> Self {
        Status::new(code::OK, "")
    }

    fn new(code: u32, message: impl Into<String>) -> Self {
        Status {
            code,
            message: message.into(),
        }
    }

    /// The status as header fields (trailers, or a trailers-only head).
    fn fields(&self, fields: &mut HeaderMap) {
        fields.insert("grpc-status", HeaderValue::from(self.code));
        if !self.message.is_empty() {
            // Percent-encoded ASCII: always a valid header value.
            if let Ok(v) = HeaderValue::from_str(&percent_encode(&self.message)) {
                fields.insert("grpc-message", v);
            }
        }
    }

    fn trailers(&self) -> HeaderMap {
        let mut trailers = HeaderMap::new();
        self.fields(&mut trailers);
        trailers
    }
}

/// `grpc-message` encoding: bytes outside printable ASCII, and `%`, as
/// `%XX` (gRPC PROTOCOL-HTTP2, "Responses").
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `grpc-timeout`: at most 8 digits and a unit (`H`ours, `M`inutes,
/// `S`econds, `m`illi-, `u` micro-, `n` nanoseconds), e.g. `100m`, `5S`.
fn parse_timeout(value: &[u8]) -> Option<Duration> {
    let (&unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // At most 8 digits: fits a u64 with room for any unit below.
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Appends one length-prefixed message: flag 0 (not compressed), the
/// length as 4 bytes big-endian, the bytes.
fn put_message(out: &mut BytesMut, message: &[u8]) {
    out.reserve(5 + message.len());
    out.put_u8(0);
    out.put_u32(message.len() as u32);
    out.put_slice(message);
}

/// The head of every response: `:status 200`, `content-type: application/grpc`.
fn grpc_head() -> Response<()> {
    let mut head = Response::new(());
    head.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    head
}

// ----------------------------------------------------------------- calls

/// The methods of `echo.Echo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rpc {
    Unary,
    Count,
    Sleep,
}

impl Rpc {
    fn from_path(path: &str) -> Option<Rpc> {
        match path {
            "/echo.Echo/Unary" => Some(Rpc::Unary),
            "/echo.Echo/Count" => Some(Rpc::Count),
            "/echo.Echo/Sleep" => Some(Rpc::Sleep),
            _ => None,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Rpc::Unary => "/echo.Echo/Unary",
            Rpc::Count => "/echo.Echo/Count",
            Rpc::Sleep => "/echo.Echo/Sleep",
        }
    }
}

/// One call in progress.
struct Call {
    rpc: Rpc,
    /// Request bytes received but not yet a whole message.
    buf: BytesMut,
    /// The request message (every method here takes exactly one).
    request: Option<Bytes>,
    /// The client ended its side of the stream.
    request_ended: bool,
    /// The response head went out: a status now goes in trailers.
    headers_sent: bool,
    /// The `grpc-timeout` timer.
    deadline: Option<SpawnHandle>,
    /// The work under way: `Sleep`'s timer or `Count`'s sender.
    work: Option<SpawnHandle>,
    /// Messages handed to the connection so far (`Count`), for the log.
    sent: Rc<Cell<u64>>,
}

impl Call {
    fn new(rpc: Rpc) -> Self {
        Call {
            rpc,
            buf: BytesMut::new(),
            request: None,
            request_ended: false,
            headers_sent: false,
            deadline: None,
            work: None,
            sent: Rc::new(Cell::new(0)),
        }
    }

    /// Takes the whole messages out of `buf`. A status is how the call
    /// must end instead (a message too large, compressed, or one too many).
    fn take_messages(&mut self) -> Result<(), Status> {
        while self.buf.len() >= 5 {
            let flag = self.buf[0];
            let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]);
            let len = len as usize;
            if flag == 1 {
                return Err(Status::new(
                    code::UNIMPLEMENTED,
                    "compressed messages are not supported: send them uncompressed",
                ));
            }
            if flag != 0 {
                return Err(Status::new(
                    code::INTERNAL,
                    format!("message flag {flag} is neither 0 nor 1"),
                ));
            }
            if len > MAX_MESSAGE {
                return Err(Status::new(
                    code::RESOURCE_EXHAUSTED,
                    format!("request message of {len} bytes is larger than the limit of {MAX_MESSAGE} bytes"),
                ));
            }
            if self.buf.len() < 5 + len {
                return Ok(()); // the rest comes in later DATA frames
            }
            self.buf.advance(5);
            let message = self.buf.split_to(len).freeze();
            if self.request.replace(message).is_some() {
                return Err(Status::new(
                    code::INTERNAL,
                    format!("{} takes exactly one request message", self.rpc.path()),
                ));
            }
        }
        Ok(())
    }
}

// ------------------------------------------------------------- the actor

/// The service of one connection: the subscriber of its streams.
#[derive(Default)]
pub struct EchoService {
    calls: HashMap<H2Stream, Call>,
}

impl Actor for EchoService {
    type Context = Context<Self>;
}

impl EchoService {
    /// The subscriber of a new connection: a service of its own.
    pub fn subscriber() -> Subscriber {
        let addr = EchoService::default().start();
        Subscriber::new(&addr)
            .data(&addr)
            .trailers(&addr)
            .reset(&addr)
            .closed(&addr)
    }

    fn start_call(
        &mut self,
        stream: H2Stream,
        req: Request<()>,
        end: bool,
        ctx: &mut Context<Self>,
    ) {
        if req.method() != Method::POST {
            return http_error(
                stream,
                StatusCode::METHOD_NOT_ALLOWED,
                "gRPC calls are POSTs\n",
            );
        }
        let grpc = req
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        if !grpc {
            let why = "content-type must be application/grpc\n";
            return http_error(stream, StatusCode::UNSUPPORTED_MEDIA_TYPE, why);
        }
        let path = req.uri().path();
        let Some(rpc) = Rpc::from_path(path) else {
            let status = Status::new(code::UNIMPLEMENTED, format!("unknown method {path}"));
            tracing::info!(path, "unknown method");
            return trailers_only(stream, status, end);
        };
        let mut call = Call::new(rpc);
        if let Some(value) = req.headers().get("grpc-timeout") {
            let Some(limit) = parse_timeout(value.as_bytes()) else {
                let status = Status::new(code::INTERNAL, "malformed grpc-timeout");
                return trailers_only(stream, status, end);
            };
            let on = stream.clone();
            call.deadline = Some(ctx.run_later(limit, move |act, ctx| {
                let status = Status::new(code::DEADLINE_EXCEEDED, "deadline exceeded");
                act.finish(&on, status, ctx);
            }));
        }
        tracing::debug!(path, "call");
        self.calls.insert(stream.clone(), call);
        if end {
            self.request_ended(stream, ctx);
        }
    }

    /// The client ended its side: run the method on its request message.
    fn request_ended(&mut self, stream: H2Stream, ctx: &mut Context<Self>) {
        let Some(call) = self.calls.get_mut(&stream) else {
            return;
        };
        call.request_ended = true;
        if !call.buf.is_empty() {
            let status = Status::new(code::INTERNAL, "the request ended inside a message");
            return self.finish(&stream, status, ctx);
        }
        let Some(request) = call.request.take() else {
            let status = Status::new(code::INTERNAL, "the request carried no message");
            return self.finish(&stream, status, ctx);
        };
        match call.rpc {
            Rpc::Unary => self.reply(stream, request, ctx),
            Rpc::Sleep => match number(&request, MAX_SLEEP_MS) {
                Some(ms) => {
                    let on = stream.clone();
                    let timer = ctx.run_later(Duration::from_millis(ms), move |act, ctx| {
                        act.reply(on, request, ctx);
                    });
                    call.work = Some(timer);
                }
                None => {
                    let why = format!("Sleep takes milliseconds, 0 to {MAX_SLEEP_MS}");
                    self.finish(&stream, Status::new(code::INVALID_ARGUMENT, why), ctx);
                }
            },
            Rpc::Count => match number(&request, MAX_COUNT) {
                Some(n) => {
                    stream.do_send(SendHeaders {
                        head: grpc_head().into(),
                        end_stream: false,
                    });
                    call.headers_sent = true;
                    let counting = count(stream.clone(), n, call.sent.clone());
                    let on = stream.clone();
                    let work = ctx.spawn(counting.into_actor(self).map(move |sent, act, ctx| {
                        match sent {
                            Ok(()) => act.finish(&on, Status::ok(), ctx),
                            // The stream is gone (reset, connection closed).
                            Err(e) => {
                                tracing::debug!(error = %e, "Count stopped");
                                act.drop_call(&on, ctx);
                            }
                        }
                    }));
                    if let Some(call) = self.calls.get_mut(&stream) {
                        call.work = Some(work);
                    }
                }
                None => {
                    let why = format!("Count takes a decimal number, 0 to {MAX_COUNT}");
                    self.finish(&stream, Status::new(code::INVALID_ARGUMENT, why), ctx);
                }
            },
        }
    }

    /// A whole unary answer: head, one message, trailers with OK.
    fn reply(&mut self, stream: H2Stream, message: Bytes, ctx: &mut Context<Self>) {
        if self.drop_call(&stream, ctx).is_none() {
            return;
        }
        let mut body = BytesMut::new();
        put_message(&mut body, &message);
        // Three messages in a row: the stream handles them in order.
        stream.do_send(SendHeaders {
            head: grpc_head().into(),
            end_stream: false,
        });
        stream.do_send(SendData {
            data: body.freeze(),
            end_stream: false,
        });
        stream.do_send(SendTrailers {
            trailers: Status::ok().trailers(),
        });
    }

    /// Ends the call with `status` (if it is still on): its timers and
    /// work are cancelled, the status goes out in trailers (or a
    /// trailers-only response).
    fn finish(&mut self, stream: &H2Stream, status: Status, ctx: &mut Context<Self>) {
        let Some(call) = self.drop_call(stream, ctx) else {
            return;
        };
        if status.code != code::OK {
            tracing::info!(
                method = call.rpc.path(),
                code = status.code,
                message = %status.message,
                sent = call.sent.get(),
                "call failed; its state is dropped"
            );
        }
        if call.headers_sent {
            let trailers = SendTrailers {
                trailers: status.trailers(),
            };
            actix::spawn(end_with(
                stream.clone(),
                stream.send(trailers),
                call.request_ended,
            ));
        } else {
            trailers_only(stream.clone(), status, call.request_ended);
        }
    }

    /// Cancels the call's timers and its work, and forgets it.
    fn drop_call(&mut self, stream: &H2Stream, ctx: &mut Context<Self>) -> Option<Call> {
        let call = self.calls.remove(stream)?;
        for handle in [call.deadline, call.work].into_iter().flatten() {
            ctx.cancel_future(handle);
        }
        Some(call)
    }
}

/// A response with only a head, the status in it (a call that fails
/// before any message).
fn trailers_only(stream: H2Stream, status: Status, request_ended: bool) {
    let mut head = grpc_head();
    status.fields(head.headers_mut());
    let answer = SendHeaders {
        head: head.into(),
        end_stream: true,
    };
    actix::spawn(end_with(stream.clone(), stream.send(answer), request_ended));
}

/// Sends the last message of a response; if the client is still sending
/// its request, then asks it to stop with RST_STREAM NO_ERROR (RFC 9113
/// §8.1: a complete response before the complete request).
async fn end_with(
    stream: H2Stream,
    last: impl Future<Output = Result<Result<(), Error>, MailboxError>>,
    request_ended: bool,
) {
    if matches!(last.await, Ok(Ok(()))) && !request_ended {
        stream.do_send(Reset {
            code: ErrorCode::NO_ERROR,
        });
    }
}

/// A plain HTTP error, for requests that are not gRPC calls at all.
fn http_error(stream: H2Stream, status: StatusCode, why: &'static str) {
    let mut head = Response::new(());
    *head.status_mut() = status;
    head.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    stream.do_send(SendMessage::new(head).body(why));
}

/// A request message that is a decimal number up to `max`.
fn number(message: &[u8], max: u64) -> Option<u64> {
    let n: u64 = std::str::from_utf8(message).ok()?.trim().parse().ok()?;
    (n <= max).then_some(n)
}

/// `Count`: the messages `1` to `n`, batched, each batch's `SendData`
/// awaited (backpressure: it resolves when the client's window took it).
async fn count(stream: H2Stream, n: u64, sent: Rc<Cell<u64>>) -> Result<(), Error> {
    let mut batch = BytesMut::with_capacity(BATCH + 32);
    for i in 1..=n {
        put_message(&mut batch, i.to_string().as_bytes());
        if batch.len() >= BATCH || i == n {
            let data = batch.split().freeze();
            stream
                .send(SendData {
                    data,
                    end_stream: false,
                })
                .await??;
            sent.set(i);
        }
    }
    Ok(())
}

impl Handler<RecvHeaders> for EchoService {
    type Result = ();
    fn handle(&mut self, msg: RecvHeaders, ctx: &mut Context<Self>) {
        match msg.head {
            Head::Request(req) => self.start_call(msg.stream, req, msg.end_stream, ctx),
            // A server never receives a response: the protocol refuses it.
            Head::Response(_) => msg.stream.do_send(Reset {
                code: ErrorCode::PROTOCOL_ERROR,
            }),
        }
    }
}

impl Handler<RecvData> for EchoService {
    type Result = ();
    fn handle(&mut self, msg: RecvData, ctx: &mut Context<Self>) {
        // No call: one that ended early; its bytes go back to the windows
        // (the connection's `auto_release`) and are dropped.
        let Some(call) = self.calls.get_mut(&msg.stream) else {
            return;
        };
        call.buf.extend_from_slice(&msg.data);
        if let Err(status) = call.take_messages() {
            return self.finish(&msg.stream, status, ctx);
        }
        if msg.end_stream {
            self.request_ended(msg.stream, ctx);
        }
    }
}

impl Handler<RecvTrailers> for EchoService {
    type Result = ();
    fn handle(&mut self, msg: RecvTrailers, ctx: &mut Context<Self>) {
        self.request_ended(msg.stream, ctx);
    }
}

impl Handler<RecvReset> for EchoService {
    type Result = ();
    fn handle(&mut self, msg: RecvReset, ctx: &mut Context<Self>) {
        // The client gave up (its deadline, `cancel()`), or the connection
        // ended: stop the work and forget the call.
        if let Some(call) = self.drop_call(&msg.stream, ctx) {
            tracing::info!(
                method = call.rpc.path(),
                sent = call.sent.get(),
                "call cancelled: {}; its state is dropped",
                msg.describe()
            );
        }
    }
}

impl Handler<Closed> for EchoService {
    type Result = ();
    fn handle(&mut self, msg: Closed, ctx: &mut Context<Self>) {
        tracing::debug!(conn = %msg.conn, reason = %msg.reason, "connection closed");
        ctx.stop();
    }
}

// ------------------------------------------------------------------ main

const USAGE: &str = "usage: grpc [--addr HOST:PORT] (default 127.0.0.1:50051)";

fn main() {
    let mut addr: SocketAddr = ([127, 0, 0, 1], 50051).into();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => match args.next().and_then(|a| a.parse().ok()) {
                Some(a) => addr = a,
                None => exit_usage("--addr takes HOST:PORT, e.g. 127.0.0.1:50051"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => exit_usage(&format!("unknown argument {other:?}")),
        }
    }
    // Logs on stderr: stdout says where the server listens, nothing else.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let system = actix::System::new();
    let result = system.block_on(async {
        // One arbiter per core; each connection gets its own EchoService.
        let listener = Listener::builder(addr).start(|_peer| EchoService::subscriber())?;
        println!(
            "listening on {} (h2c, prior knowledge)",
            listener.local_addr()
        );
        wait_for_signal().await?;
        tracing::info!("shutting down: calls in flight have 5 s");
        listener.shutdown(Duration::from_secs(5)).await;
        Ok::<_, std::io::Error>(())
    });
    if let Err(e) = result {
        eprintln!("grpc: cannot serve on {addr}: {e}");
        std::process::exit(1);
    }
}

/// Resolves at SIGINT or SIGTERM.
async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

fn exit_usage(why: &str) -> ! {
    eprintln!("grpc: {why}\n{USAGE}");
    std::process::exit(2);
}
