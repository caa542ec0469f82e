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
    /// Receives each request (server) or response head (client, 1xx included).
    pub headers: Recipient<RecvHeaders>,
    /// Receives body chunks, in order, one `RecvData` per DATA payload.
    pub data: Recipient<RecvData>,
    /// Receives trailers (a HEADERS with END_STREAM after the body).
    pub trailers: Recipient<RecvTrailers>,
    /// Client: receives the server's PUSH_PROMISEs (RFC 9113 §8.4).
    pub promise: Recipient<RecvPromise>,
    /// Receives stream resets, by either side or by a refusing GOAWAY.
    pub reset: Recipient<RecvReset>,
    /// Receives the peer's GOAWAY frames (connection-level).
    pub go_away: Recipient<GoAway>,
    /// Receives the one `Closed` when the connection actor stops.
    pub closed: Recipient<Closed>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscriber")
    }
}

impl Subscriber {
    /// All notifications to one actor.
    ///
    /// ```
    /// use actix::prelude::*;
    /// use h2actor::actor::*;
    ///
    /// /// Logs what arrives and ignores it.
    /// struct Log;
    /// impl Actor for Log {
    ///     type Context = Context<Self>;
    /// }
    /// macro_rules! log_all {
    ///     ($($m:ty),*) => {$(
    ///         impl Handler<$m> for Log {
    ///             type Result = ();
    ///             fn handle(&mut self, msg: $m, _: &mut Context<Self>) {
    ///                 println!("{msg:?}");
    ///             }
    ///         }
    ///     )*};
    /// }
    /// log_all!(RecvHeaders, RecvData, RecvTrailers, RecvPromise, RecvReset, GoAway, Closed);
    ///
    /// # actix_rt::System::new().block_on(async {
    /// let subscriber = Subscriber::new(&Log.start());
    /// // Pass it to `Connection::builder(role).start(io, subscriber)`, to
    /// // `OpenStream { subscriber: Some(..) }` or to `Subscribe(..)`.
    /// # let _ = subscriber;
    /// # });
    /// ```
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
    /// A request (client) or response (server; 1xx heads may precede the
    /// final one); the pseudo-headers come from it (RFC 9113 §8.3).
    pub head: Head,
    /// Set END_STREAM on the HEADERS: no body and no trailers follow.
    pub end_stream: bool,
}

/// Send body bytes (HTTP2.jl `ActSendData`). Resolves once all of `data` is
/// inside the peer's flow-control window and handed to the write buffer: the
/// backpressure to await. Large bodies are split to the peer's MAX_FRAME_SIZE.
///
/// ```no_run
/// use actix::prelude::*;
/// use bytes::Bytes;
/// use h2actor::actor::{SendData, SendError, Stream};
///
/// /// Streams `chunks` as the body, one at a time: each `send` resolves only
/// /// when the peer's window took the chunk, so memory stays bounded.
/// async fn upload(stream: Addr<Stream>, chunks: Vec<Bytes>) -> Result<(), SendError> {
///     let last = chunks.len().saturating_sub(1);
///     for (i, data) in chunks.into_iter().enumerate() {
///         let msg = SendData { data, end_stream: i == last };
///         stream.send(msg).await.map_err(|_| SendError::ConnectionClosed)??;
///     }
///     Ok(())
/// }
/// ```
#[derive(Debug, Message)]
#[rtype(result = "Result<(), SendError>")]
pub struct SendData {
    /// The body bytes; any length (split into frames by the connection).
    /// Empty with `end_stream` sends an empty DATA with END_STREAM.
    pub data: Bytes,
    /// Set END_STREAM on the last DATA frame: the body (and the stream's
    /// sending side) ends here.
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
    /// The request or final response head, as in [`SendHeaders::head`].
    pub head: Head,
    /// The whole body; empty for none (then the HEADERS or trailers end
    /// the stream).
    pub body: Bytes,
    /// Trailer fields sent after the body (no pseudo-headers, RFC 9113
    /// §8.1); `None` to end the stream with the body.
    pub trailers: Option<HeaderMap>,
}

/// Send trailers after the body; ends the stream.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), SendError>")]
pub struct SendTrailers {
    /// The trailer fields (no pseudo-headers, RFC 9113 §8.1), sent as a
    /// HEADERS frame with END_STREAM.
    pub trailers: HeaderMap,
}

/// Server push (HTTP2.jl `ActPromise`): PUSH_PROMISE on this stream; returns the
/// promised stream, on which to send the pushed response.
#[derive(Debug, Message)]
#[rtype(result = "Result<OpenedStream, SendError>")]
pub struct Promise {
    /// The request the pushed response answers: GET or HEAD, no body, with
    /// an authority (RFC 9113 §8.4.1).
    pub request: http::Request<()>,
}

/// Reset the stream with RST_STREAM(code).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Reset {
    /// The RST_STREAM error code, e.g. `CANCEL` when the answer is no
    /// longer wanted (RFC 9113 §7).
    pub code: ErrorCode,
}

/// Give back `n` bytes of received DATA to the flow-control windows. Only
/// needed when the connection was built with `auto_release(false)`.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ReleaseCapacity {
    /// Bytes consumed (counted as `RecvData::data.len()`); more than the
    /// stream holds unreleased is capped at that.
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
    /// The stream's id (odd when a client opened it, even when pushed).
    pub id: StreamId,
    /// The stream's actor: send it [`SendHeaders`], [`SendData`], etc.
    pub stream: Addr<Stream>,
}

/// Client: open a new stream (HTTP2.jl `next_free_stream_identifier`). Queued
/// (boundedly) while the peer's SETTINGS_MAX_CONCURRENT_STREAMS is reached.
/// Notifications for it go to `subscriber`, or to the connection's subscriber.
///
/// Stream ids go on the wire in increasing order (RFC 9113 §5.1.1): send
/// the first HEADERS of opened streams in the order they were opened. A
/// stream whose HEADERS would follow a higher id's is refused with
/// `UserError::StreamIdOrder` (open and send its HEADERS together, e.g. with
/// [`SendMessage`], and let bodies run concurrently). A stream dropped
/// before its HEADERS gives its slot back.
#[derive(Debug, Message, Default)]
#[rtype(result = "Result<OpenedStream, SendError>")]
pub struct OpenStream {
    /// Where this stream's notifications go; `None` for the connection's
    /// subscriber.
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
    /// The GOAWAY error code: `NO_ERROR` for a normal shutdown (RFC 9113
    /// §6.8).
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
    /// The stream's actor: answer or send more on it.
    pub stream: Addr<Stream>,
    /// The stream's id.
    pub id: StreamId,
    /// The request (server side) or response (client side).
    pub head: Head,
    /// The peer set END_STREAM: no body or trailers follow.
    pub end_stream: bool,
}

/// Body bytes arrived (HTTP2.jl `EvtRecvData`).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RecvData {
    /// The stream's actor.
    pub stream: Addr<Stream>,
    /// The stream's id.
    pub id: StreamId,
    /// One DATA frame's payload, padding removed; may be empty. With
    /// `auto_release(false)` give its length back by [`ReleaseCapacity`].
    pub data: Bytes,
    /// The peer set END_STREAM: the body is complete (no trailers follow).
    pub end_stream: bool,
}

/// Trailers arrived; the stream's receiving side is done.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RecvTrailers {
    /// The stream's actor.
    pub stream: Addr<Stream>,
    /// The stream's id.
    pub id: StreamId,
    /// The trailer fields.
    pub trailers: HeaderMap,
}

/// Client: the server promised a pushed response (HTTP2.jl `EvtPromise`).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RecvPromise {
    /// The actor of the stream the PUSH_PROMISE came on (the associated
    /// request's stream).
    pub stream: Addr<Stream>,
    /// The associated stream's id.
    pub id: StreamId,
    /// The promised (even, reserved remote) stream: its response arrives
    /// as notifications for `promised.id`; send it [`Reset`] to refuse.
    pub promised: OpenedStream,
    /// The request the server will answer on the promised stream.
    pub request: http::Request<()>,
}

/// The stream was reset. `remote` when the peer did it; a GOAWAY that refuses
/// the stream shows as `code` REFUSED_STREAM with `remote` true (safe to retry).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RecvReset {
    /// The stream's id.
    pub id: StreamId,
    /// The RST_STREAM error code (`CANCEL` when the connection ended
    /// without a connection error).
    pub code: ErrorCode,
    /// True when the peer reset it, refused it by GOAWAY, or closed the
    /// connection; false when this side did.
    pub remote: bool,
}

/// The peer sent GOAWAY (HTTP2.jl `EvtGoaway`).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct GoAway {
    /// The highest stream id the peer may have processed; our streams above
    /// it were not and are reset with REFUSED_STREAM (RFC 9113 §6.8).
    pub last_stream_id: StreamId,
    /// Why the peer closes: `NO_ERROR` for a graceful shutdown.
    pub code: ErrorCode,
    /// Opaque diagnostic bytes from the peer (often text); may be empty.
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
    /// Why it stopped.
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
    /// The stream the bytes were received on.
    pub id: StreamId,
    /// Bytes consumed; capped at what the stream holds unreleased.
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
