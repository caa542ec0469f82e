//! Messages: user -> [`Stream`], user -> [`Connection`], and the notifications
//! a subscriber receives.

use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use http::HeaderMap;

use super::{Connection, Stream};
use crate::frame::{ErrorCode, Setting, StreamId};
use crate::proto::{ConnectionError, Head, UserError};

/// Why a message to a stream or connection failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The protocol refused the action (the connection is unaffected).
    #[error(transparent)]
    User(#[from] UserError),
    /// The stream was reset (by either side) before the action completed.
    #[error("stream reset: {0}")]
    Reset(ErrorCode),
    /// The connection is gone.
    #[error("connection closed")]
    ConnectionClosed,
    /// A bounded queue is full (e.g. too many streams waiting for a slot).
    #[error("queue full")]
    QueueFull,
}

/// Where notifications go: a bundle of recipients, usually one actor that
/// handles all of them. Build it with [`Subscriber::new`].
#[derive(Clone)]
pub struct Subscriber {
    pub headers: Recipient<RecvHeaders>,
    pub data: Recipient<RecvData>,
    pub trailers: Recipient<RecvTrailers>,
    pub promise: Recipient<RecvPromise>,
    pub reset: Recipient<RecvReset>,
    pub go_away: Recipient<GoAway>,
    pub closed: Recipient<Closed>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscriber")
    }
}

impl Subscriber {
    /// All notifications to one actor.
    pub fn new<A>(addr: &Addr<A>) -> Self
    where
        A: Actor<Context = Context<A>>
            + Handler<RecvHeaders>
            + Handler<RecvData>
            + Handler<RecvTrailers>
            + Handler<RecvPromise>
            + Handler<RecvReset>
            + Handler<GoAway>
            + Handler<Closed>,
    {
        Subscriber {
            headers: addr.clone().recipient(),
            data: addr.clone().recipient(),
            trailers: addr.clone().recipient(),
            promise: addr.clone().recipient(),
            reset: addr.clone().recipient(),
            go_away: addr.clone().recipient(),
            closed: addr.clone().recipient(),
        }
    }
}

// ---------------------------------------------------------------- user -> Stream

/// Send a request or response head (HTTP2.jl `ActSendHeaders`). Resolves when
/// the HEADERS are handed to the write buffer.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), SendError>")]
pub struct SendHeaders {
    pub head: Head,
    pub end_stream: bool,
}

/// Send body bytes (HTTP2.jl `ActSendData`). Resolves once all of `data` is
/// inside the peer's flow-control window and handed to the write buffer: the
/// backpressure to await. Large bodies are split to the peer's MAX_FRAME_SIZE.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), SendError>")]
pub struct SendData {
    pub data: Bytes,
    pub end_stream: bool,
}

/// A whole message in one actor message: HEADERS, then `body` as DATA (if
/// not empty), then `trailers` (if any); the last of them ends the stream.
/// Same effect as `SendHeaders` + `SendData` + `SendTrailers`, with one
/// message instead of up to three (what a server answering small requests
/// wants). Resolves like `SendData`: when the body is in the write buffer.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), SendError>")]
pub struct SendMessage {
    pub head: Head,
    pub body: Bytes,
    pub trailers: Option<HeaderMap>,
}

/// Send trailers after the body; ends the stream.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), SendError>")]
pub struct SendTrailers {
    pub trailers: HeaderMap,
}

/// Server push (HTTP2.jl `ActPromise`): PUSH_PROMISE on this stream; returns the
/// promised stream, on which to send the pushed response.
#[derive(Debug, Message)]
#[rtype(result = "Result<OpenedStream, SendError>")]
pub struct Promise {
    pub request: http::Request<()>,
}

/// Reset the stream with RST_STREAM(code).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Reset {
    pub code: ErrorCode,
}

/// Give back `n` bytes of received DATA to the flow-control windows. Only
/// needed when the connection was built with `auto_release(false)`.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ReleaseCapacity {
    pub n: usize,
}

/// Redirect this stream's notifications to another subscriber.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Subscribe(pub Subscriber);

// ------------------------------------------------------------ user -> Connection

/// A stream opened by [`OpenStream`] or [`Promise`].
#[derive(Debug, Clone)]
pub struct OpenedStream {
    pub id: StreamId,
    pub stream: Addr<Stream>,
}

/// Client: open a new stream (HTTP2.jl `next_free_stream_identifier`). Queued
/// (boundedly) while the peer's SETTINGS_MAX_CONCURRENT_STREAMS is reached.
/// Notifications for it go to `subscriber`, or to the connection's subscriber.
#[derive(Debug, Message, Default)]
#[rtype(result = "Result<OpenedStream, SendError>")]
pub struct OpenStream {
    pub subscriber: Option<Subscriber>,
}

/// Send a PING; resolves with the round-trip time.
#[derive(Debug, Message, Default)]
#[rtype(result = "Result<Duration, SendError>")]
pub struct Ping;

/// Graceful close (HTTP2.jl `close`): GOAWAY(code), let open streams finish,
/// flush, then stop.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Close {
    pub code: ErrorCode,
}

/// Change local settings (applied when the peer acknowledges them).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), SendError>")]
pub struct UpdateSettings(pub Vec<Setting>);

/// Replace the connection's subscriber (for new peer-initiated streams and
/// connection-level notifications).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SetSubscriber(pub Subscriber);

// ------------------------------------------------------ notifications -> subscriber

/// A request (server) or response (client, 1xx included) arrived
/// (HTTP2.jl `EvtRecvHeaders`).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RecvHeaders {
    pub stream: Addr<Stream>,
    pub id: StreamId,
    pub head: Head,
    pub end_stream: bool,
}

/// Body bytes arrived (HTTP2.jl `EvtRecvData`).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RecvData {
    pub stream: Addr<Stream>,
    pub id: StreamId,
    pub data: Bytes,
    pub end_stream: bool,
}

/// Trailers arrived; the stream's receiving side is done.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RecvTrailers {
    pub stream: Addr<Stream>,
    pub id: StreamId,
    pub trailers: HeaderMap,
}

/// Client: the server promised a pushed response (HTTP2.jl `EvtPromise`).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RecvPromise {
    pub stream: Addr<Stream>,
    pub id: StreamId,
    pub promised: OpenedStream,
    pub request: http::Request<()>,
}

/// The stream was reset. `remote` when the peer did it; a GOAWAY that refuses
/// the stream shows as `code` REFUSED_STREAM with `remote` true (safe to retry).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RecvReset {
    pub id: StreamId,
    pub code: ErrorCode,
    pub remote: bool,
}

/// The peer sent GOAWAY (HTTP2.jl `EvtGoaway`).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct GoAway {
    pub last_stream_id: StreamId,
    pub code: ErrorCode,
    pub debug_data: Bytes,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// Graceful: GOAWAY exchanged and all streams finished, or the peer closed
    /// the socket cleanly.
    Done,
    /// A connection error, ours or the peer's.
    Error(ConnectionError),
    /// The transport failed.
    Io(String),
}

/// The connection actor stopped.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Closed {
    pub reason: CloseReason,
}

#[allow(dead_code)]
fn _assert_connection_is_actor(_: Addr<Connection>) {}

// ------------------------------------------------------------ extra messages

/// Give back `n` bytes of received DATA on stream `id`, addressed to the
/// connection (works after the stream actor is gone: the connection window
/// still counts those bytes). Only needed with `auto_release(false)`.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ReleaseStreamCapacity {
    pub id: StreamId,
    pub n: usize,
}

/// Ask a connection for its [`ConnectionStats`] (tests, monitoring).
#[derive(Debug, Message, Default)]
#[rtype(result = "ConnectionStats")]
pub struct GetStats;

/// A snapshot of a connection's buffers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// Bytes in the write buffer now.
    pub write_buffered: usize,
    /// The most the write buffer ever held (stays near `max_write_buffer`).
    pub write_buffer_high_water: usize,
    /// Streams the connection still tracks.
    pub streams: usize,
    /// `SendData`/`SendTrailers` replies not given yet (waiting for the
    /// peer's window or for room in the write buffer).
    pub pending_sends: usize,
}
