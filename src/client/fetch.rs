//! What a user sends a [`Client`] and gets back: [`Fetch`], its
//! [`Response`] or [`FetchError`], and [`GetClientStats`] / [`ClientStats`].

use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use http::HeaderMap;

#[allow(unused_imports)] // for the doc links
use super::{Client, ClientBuilder};
use crate::frame::ErrorCode;

/// One request to a [`Client`]: the request (a path or an absolute URL of
/// the client's origin), whether it may be retried after a connection loss,
/// and its timeouts. The reply is the whole [`Response`]. Dropping the
/// `send` future before the answer gives the request up: its stream is
/// reset (CANCEL) within a quarter of a second, or at its next DATA frame.
///
/// A `Fetch` can also go straight to a [`Connection`](crate::Connection)
/// (one request, no retries, the whole response in the reply), for
/// message-driven code that does not stream bodies: see
/// [`CollectReply`](super::CollectReply).
#[derive(Debug)]
pub struct Fetch {
    /// The request; its body is sent as one piece.
    pub request: http::Request<Bytes>,
    /// Retry it after a connection loss or a reset too (default false).
    pub idempotent: bool,
    /// Time for the whole exchange, from this message to the end of the
    /// body (default: the client's [`ClientBuilder::timeout`]).
    pub timeout: Option<Duration>,
}

impl Fetch {
    /// A request. Its URI may be a path (`/index.html`) or an absolute URL
    /// of the client's origin.
    pub fn new(request: http::Request<Bytes>) -> Self {
        Fetch {
            request,
            idempotent: false,
            timeout: None,
        }
    }

    /// `GET uri` with no body.
    pub fn get(uri: impl AsRef<str>) -> Self {
        let mut request = http::Request::new(Bytes::new());
        *request.uri_mut() = uri.as_ref().parse().unwrap_or_default();
        Fetch::new(request)
    }

    /// `POST uri` with `body`.
    pub fn post(uri: impl AsRef<str>, body: impl Into<Bytes>) -> Self {
        let mut request = http::Request::new(body.into());
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = uri.as_ref().parse().unwrap_or_default();
        Fetch::new(request)
    }

    /// Marks the request idempotent (see the module docs on retries).
    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }

    /// Time for the whole exchange.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }
}

impl Message for Fetch {
    type Result = Result<Response, FetchError>;
}

/// A whole response.
#[derive(Debug)]
pub struct Response {
    /// Status, version and header fields (1xx responses are skipped).
    pub head: http::response::Parts,
    /// The body, whole.
    pub body: Bytes,
    /// The trailer fields, if the server sent any.
    pub trailers: Option<HeaderMap>,
    /// How many times the request was sent (1 unless it was retried).
    pub attempts: u32,
}

/// Why a [`Fetch`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// No connection could be made while the request waited
    /// ([`ClientBuilder::reconnect_for`], its deadline), or the failure was
    /// one waiting cannot fix (the server's certificate is not trusted).
    #[error("cannot connect to {origin}: {reason}")]
    Connect {
        /// The origin.
        origin: String,
        /// The last failure.
        reason: String,
    },
    /// The server reset the stream with RST_STREAM and this code (not
    /// REFUSED_STREAM: see [`FetchError::Refused`]).
    #[error("stream reset by the server: {0}")]
    Reset(ErrorCode),
    /// The server refused the request (RST_STREAM REFUSED_STREAM, or a
    /// GOAWAY whose last stream id is below it: not processed) every time
    /// it was sent within its budget. Says which.
    #[error("the server refused the request without processing it: {0}")]
    Refused(String),
    /// The connection ended while the request was in flight (the peer
    /// closed it, the TCP connection was reset, a connection error), and
    /// the request is not idempotent (the server may have processed it) or
    /// its retries ran out. Says why the connection ended.
    #[error("connection lost while the request was in flight: {0}")]
    ConnectionLost(String),
    /// The request did not complete in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The response body passed [`ClientBuilder::max_body`].
    #[error("response body larger than {0} bytes")]
    BodyTooLarge(usize),
    /// Too many requests waiting ([`ClientBuilder::max_queued`]).
    #[error("too many requests queued")]
    QueueFull,
    /// The request cannot be sent as given.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The client actor stopped.
    #[error("the client stopped")]
    ClientStopped,
}

/// Counters of a [`Client`] (message [`GetClientStats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Connections made (1 unless it reconnected).
    pub connections: u64,
    /// Responses delivered.
    pub completed: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Requests sent again (see the module docs on retries).
    pub retries: u64,
    /// Requests waiting for a connection (or for their turn to be handed
    /// to it: at most 256 are on their way to it at a time).
    pub queued: usize,
    /// Requests on the wire.
    pub in_flight: usize,
    /// Round-trip time from the last PING acknowledged.
    pub rtt: Option<Duration>,
}

/// Ask a [`Client`] for its [`ClientStats`].
#[derive(Debug, Message)]
#[rtype(result = "ClientStats")]
pub struct GetClientStats;
