//! A [`Fetch`] sent to a [`Connection`]: the whole response in one reply,
//! for message-driven code that does not need to stream a body. No retries
//! and no reconnects (that is the [`Client`](super::Client)'s job): one
//! request on this connection, its head, body and trailers collected by a
//! small actor that subscribes to the stream, or the reason it failed.
//!
//! ```no_run
//! use actix::prelude::*;
//! use h2actor::client::Fetch;
//! use h2actor::prelude::*;
//!
//! async fn hello(conn: Addr<Connection>) -> Result<(), Box<dyn std::error::Error>> {
//!     let r = conn.send(Fetch::get("http://127.0.0.1:8080/")).await??;
//!     println!("{} {}", r.head.status, String::from_utf8_lossy(&r.body));
//!     Ok(())
//! }
//! ```

use std::time::Duration;

use actix::dev::{MessageResponse, OneshotSender};
use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use tokio::sync::oneshot;

use super::{Fetch, FetchError, Response};
use crate::actor::{
    Connection, Error, H2Stream, RecvData, RecvHeaders, RecvReset, RecvTrailers, ReleaseCapacity,
    Reset, ResetCause, SendRequest, Subscriber,
};
use crate::frame::ErrorCode;
use crate::proto::{Head, UserError};

/// Largest body a `Fetch` to a `Connection` collects (as the `Client`'s
/// default `max_body`); beyond it the stream is reset (CANCEL) and the
/// reply is [`FetchError::BodyTooLarge`].
pub const MAX_COLLECTED_BODY: usize = 16 << 20;

/// Time a `Fetch` to a `Connection` has without [`Fetch::timeout`].
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

type Outcome = Result<Response, FetchError>;

/// Collects one stream's response (its subscriber).
struct Collector {
    tx: Option<oneshot::Sender<Outcome>>,
    head: Option<http::response::Parts>,
    body: BytesMut,
}

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Collector {
    fn finish(&mut self, outcome: Outcome, ctx: &mut Context<Self>) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(outcome);
        }
        ctx.stop();
    }

    fn complete(&mut self, trailers: Option<HeaderMap>, ctx: &mut Context<Self>) {
        let outcome = match self.head.take() {
            Some(head) => Ok(Response {
                head,
                body: std::mem::take(&mut self.body).freeze(),
                trailers,
                attempts: 1,
            }),
            None => Err(FetchError::ConnectionLost(
                "the stream ended without a response head".into(),
            )),
        };
        self.finish(outcome, ctx);
    }
}

impl Handler<RecvHeaders> for Collector {
    type Result = ();
    fn handle(&mut self, m: RecvHeaders, ctx: &mut Context<Self>) {
        let Head::Response(r) = m.head else { return };
        if r.status().is_informational() {
            return;
        }
        self.head = Some(r.into_parts().0);
        if m.end_stream {
            self.complete(None, ctx);
        }
    }
}

impl Handler<RecvData> for Collector {
    type Result = ();
    fn handle(&mut self, m: RecvData, ctx: &mut Context<Self>) {
        if !m.end_stream && !m.data.is_empty() {
            m.stream.do_send(ReleaseCapacity { n: m.data.len() });
        }
        if self.body.len() + m.data.len() > MAX_COLLECTED_BODY {
            m.stream.do_send(Reset {
                code: ErrorCode::CANCEL,
            });
            self.finish(Err(FetchError::BodyTooLarge(MAX_COLLECTED_BODY)), ctx);
            return;
        }
        self.body.extend_from_slice(&m.data);
        if m.end_stream {
            self.complete(None, ctx);
        }
    }
}

impl Handler<RecvTrailers> for Collector {
    type Result = ();
    fn handle(&mut self, m: RecvTrailers, ctx: &mut Context<Self>) {
        self.complete(Some(m.trailers), ctx);
    }
}

impl Handler<RecvReset> for Collector {
    type Result = ();
    fn handle(&mut self, m: RecvReset, ctx: &mut Context<Self>) {
        let err = match &m.cause {
            ResetCause::Connection(reason) => FetchError::ConnectionLost(reason.to_string()),
            _ if m.code == ErrorCode::REFUSED_STREAM && m.remote => {
                FetchError::Refused(m.describe())
            }
            _ => FetchError::Reset(m.code),
        };
        self.finish(Err(err), ctx);
    }
}

/// The reply of a [`Fetch`] sent to a [`Connection`]: the caller gets
/// `Result<Response, FetchError>`. Dropping the `send` future before the
/// answer resets the stream (CANCEL), as the request's timeout does.
pub struct CollectReply {
    fetch: Fetch,
}

impl Handler<Fetch> for Connection {
    type Result = CollectReply;
    /// One request on this connection, its whole response in the reply (see
    /// the [`client`](crate::client) docs). The request's URI should be absolute (its
    /// scheme and authority become `:scheme` and `:authority`); its body is
    /// sent whole. [`Fetch::idempotent`] is not used (no retries here);
    /// [`Fetch::timeout`] is (default 30 s).
    fn handle(&mut self, fetch: Fetch, _: &mut Context<Self>) -> CollectReply {
        CollectReply { fetch }
    }
}

impl MessageResponse<Connection, Fetch> for CollectReply {
    fn handle(self, ctx: &mut Context<Connection>, tx: Option<OneshotSender<Outcome>>) {
        let conn = ctx.address();
        ctx.spawn(actix::fut::wrap_future(run(conn, self.fetch, tx)));
    }
}

/// Runs one fetch and answers `tx` (if the caller still waits).
async fn run(conn: Addr<Connection>, fetch: Fetch, mut tx: Option<OneshotSender<Outcome>>) {
    if let Some(outcome) = collect(conn, fetch, &mut tx).await {
        if let Some(tx) = tx {
            let _ = tx.send(outcome);
        }
    }
}

/// Resolves when the caller stops waiting (never for a `do_send`).
async fn caller_gone(tx: &mut Option<OneshotSender<Outcome>>) {
    match tx {
        Some(tx) => tx.closed().await,
        None => std::future::pending().await,
    }
}

/// The outcome, or `None` when the caller gave up (the stream is reset).
async fn collect(
    conn: Addr<Connection>,
    fetch: Fetch,
    tx: &mut Option<OneshotSender<Outcome>>,
) -> Option<Outcome> {
    let limit = fetch.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let deadline = tokio::time::Instant::now() + limit;
    let (done_tx, done_rx) = oneshot::channel();
    let collector = Collector {
        tx: Some(done_tx),
        head: None,
        body: BytesMut::new(),
    }
    .start();
    let sub = Subscriber::new(&collector)
        .data(&collector)
        .trailers(&collector)
        .reset(&collector);
    let (parts, body): (_, Bytes) = fetch.request.into_parts();
    let mut send = SendRequest::new(http::Request::from_parts(parts, ())).subscriber(sub);
    if !body.is_empty() {
        send = send.body(body);
    }
    let opened = tokio::select! {
        r = conn.send(send) => r,
        _ = tokio::time::sleep_until(deadline) => return Some(Err(FetchError::Timeout(limit))),
        _ = caller_gone(tx) => return None,
    };
    let stream: H2Stream = match opened {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Some(Err(open_error(e))),
        Err(_) => {
            return Some(Err(FetchError::ConnectionLost(
                "the connection closed before the request was sent".into(),
            )))
        }
    };
    tokio::select! {
        r = done_rx => Some(r.unwrap_or_else(|_| {
            Err(FetchError::ConnectionLost("the connection is gone".into()))
        })),
        _ = tokio::time::sleep_until(deadline) => {
            stream.do_send(Reset { code: ErrorCode::CANCEL });
            Some(Err(FetchError::Timeout(limit)))
        }
        _ = caller_gone(tx) => {
            // Nobody waits for the answer: the server may stop too.
            stream.do_send(Reset { code: ErrorCode::CANCEL });
            None
        }
    }
}

/// Why a request could not even be sent, in the `Client`'s words.
fn open_error(e: Error) -> FetchError {
    match e {
        Error::ConnectionClosed => {
            FetchError::ConnectionLost("the connection closed before the request was sent".into())
        }
        Error::User(UserError::GoingAway) => {
            FetchError::Refused("the connection is going away (GOAWAY): use a new one".into())
        }
        Error::QueueFull => FetchError::QueueFull,
        Error::Reset(code) => FetchError::Reset(code),
        Error::User(e) => FetchError::BadRequest(e.to_string()),
    }
}
