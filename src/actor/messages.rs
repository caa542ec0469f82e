//! The vocabulary: what a user sends to an [`H2Stream`] or a [`Connection`],
//! and the notifications ([`Event`]) a [`Subscriber`] receives. [`Session`]
//! speaks the same words: its `take_evt` returns the same [`Event`]s and its
//! `put_act` takes the same stream messages.
//!
//! [`Session`]: super::Session
//! [`Connection`]: super::Connection

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use http::HeaderMap;

// The notifications (their own file), by every path they had here.
pub use super::notifications::*;
use super::H2Stream;
use crate::frame::{ErrorCode, Setting, StreamId};
use crate::proto::{Head, UserError};

/// Why a message to a stream or a connection failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The protocol refused the action (the connection is unaffected).
    #[error(transparent)]
    User(#[from] UserError),
    /// The stream was reset (by either side) before the action completed.
    #[error("stream reset: {0}")]
    Reset(ErrorCode),
    /// The connection is gone.
    #[error("connection closed")]
    ConnectionClosed,
    /// A bounded queue is full (too many streams waiting for a slot, too
    /// many sends waiting on one stream, too many pings in flight).
    #[error("queue full")]
    QueueFull,
}

impl From<MailboxError> for Error {
    /// The actor that should have answered is gone: its connection closed.
    fn from(_: MailboxError) -> Self {
        Error::ConnectionClosed
    }
}

/// Tells connections apart: stream ids repeat across connections, so an
/// actor serving many of them keys its state by `(ConnectionId, StreamId)`
/// or by the stream's [`H2Stream`] handle (which is `Eq + Hash`). Unique within
/// the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ConnectionId(u64);

impl ConnectionId {
    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ConnectionId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The number behind the identity (as printed: `conn#N`).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

// ------------------------------------------------------------------ Subscriber

/// Where notifications go. [`Subscriber::new`] takes the actor that handles
/// [`RecvHeaders`], the one notification every user needs; add the others
/// you handle with the builder methods, on the same actor or another one.
/// What nobody subscribed to gets a documented default:
///
/// | notification | default when not subscribed |
/// |---|---|
/// | [`RecvData`] | its bytes go back to the flow-control windows and are dropped |
/// | [`RecvTrailers`] | dropped |
/// | [`RecvPromise`] | the pushed stream is refused (RST_STREAM CANCEL) |
/// | [`RecvReset`] | logged (`tracing` debug) |
/// | [`GoAway`] | logged (`tracing` debug for NO_ERROR, info with an error code) |
/// | [`Closed`] | logged (`tracing` debug) |
///
/// ```
/// use actix::prelude::*;
/// use h2actor::prelude::*;
///
/// /// Answers every request with "hello world" (GETs have no body, so
/// /// RecvHeaders is all it needs).
/// struct Hello;
/// impl Actor for Hello {
///     type Context = Context<Self>;
/// }
/// impl Handler<RecvHeaders> for Hello {
///     type Result = ();
///     fn handle(&mut self, msg: RecvHeaders, _: &mut Context<Self>) {
///         let response = http::Response::new(());
///         msg.stream.do_send(SendMessage::new(response).body("hello world\n"));
///     }
/// }
///
/// # actix_rt::System::new().block_on(async {
/// let subscriber = Subscriber::new(&Hello.start());
/// // Pass it to `Connection::builder(role).start(io, subscriber)`.
/// # let _ = subscriber;
/// # });
/// ```
#[derive(Clone)]
pub struct Subscriber {
    /// Shared, so that a clone (one per connection, from a handler shared
    /// by many connections) is a reference count rather than up to seven
    /// boxed recipients (~100 bytes each).
    pub(crate) r: Arc<Recipients>,
}

/// The recipients of a [`Subscriber`] (`None`: the default applies).
#[derive(Clone, Default)]
pub(crate) struct Recipients {
    pub headers: Option<Recipient<RecvHeaders>>,
    pub data: Option<Recipient<RecvData>>,
    pub trailers: Option<Recipient<RecvTrailers>>,
    pub promise: Option<Recipient<RecvPromise>>,
    pub reset: Option<Recipient<RecvReset>>,
    pub go_away: Option<Recipient<GoAway>>,
    pub closed: Option<Recipient<Closed>>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("data", &self.r.data.is_some())
            .field("trailers", &self.r.trailers.is_some())
            .field("promise", &self.r.promise.is_some())
            .field("reset", &self.r.reset.is_some())
            .field("go_away", &self.r.go_away.is_some())
            .field("closed", &self.r.closed.is_some())
            .finish()
    }
}

impl Subscriber {
    /// [`RecvHeaders`] to `addr`; the other notifications take their
    /// defaults (see the type's docs) until you add them.
    pub fn new<A>(addr: &Addr<A>) -> Self
    where
        A: Actor<Context = Context<A>> + Handler<RecvHeaders>,
    {
        Subscriber {
            r: Arc::new(Recipients {
                headers: Some(addr.clone().recipient()),
                ..Recipients::default()
            }),
        }
    }

    /// Nobody: every notification takes its default (requests are refused).
    pub(crate) fn none() -> Self {
        Subscriber { r: Arc::default() }
    }

    /// Every notification to `addr` (it handles all seven).
    pub fn all<A>(addr: &Addr<A>) -> Self
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
        Subscriber::new(addr)
            .data(addr)
            .trailers(addr)
            .promise(addr)
            .reset(addr)
            .go_away(addr)
            .closed(addr)
    }

    /// [`RecvData`] to `addr`.
    pub fn data<A>(mut self, addr: &Addr<A>) -> Self
    where
        A: Actor<Context = Context<A>> + Handler<RecvData>,
    {
        Arc::make_mut(&mut self.r).data = Some(addr.clone().recipient());
        self
    }

    /// [`RecvTrailers`] to `addr`.
    pub fn trailers<A>(mut self, addr: &Addr<A>) -> Self
    where
        A: Actor<Context = Context<A>> + Handler<RecvTrailers>,
    {
        Arc::make_mut(&mut self.r).trailers = Some(addr.clone().recipient());
        self
    }

    /// [`RecvPromise`] to `addr` (client: accept server pushes).
    pub fn promise<A>(mut self, addr: &Addr<A>) -> Self
    where
        A: Actor<Context = Context<A>> + Handler<RecvPromise>,
    {
        Arc::make_mut(&mut self.r).promise = Some(addr.clone().recipient());
        self
    }

    /// [`RecvReset`] to `addr`.
    pub fn reset<A>(mut self, addr: &Addr<A>) -> Self
    where
        A: Actor<Context = Context<A>> + Handler<RecvReset>,
    {
        Arc::make_mut(&mut self.r).reset = Some(addr.clone().recipient());
        self
    }

    /// [`GoAway`] to `addr`.
    pub fn go_away<A>(mut self, addr: &Addr<A>) -> Self
    where
        A: Actor<Context = Context<A>> + Handler<GoAway>,
    {
        Arc::make_mut(&mut self.r).go_away = Some(addr.clone().recipient());
        self
    }

    /// [`Closed`] to `addr`.
    pub fn closed<A>(mut self, addr: &Addr<A>) -> Self
    where
        A: Actor<Context = Context<A>> + Handler<Closed>,
    {
        Arc::make_mut(&mut self.r).closed = Some(addr.clone().recipient());
        self
    }
}

// ------------------------------------------------------------ user -> H2Stream

/// Send a request or response head (HTTP2.jl `ActSendHeaders`). Resolves when
/// the HEADERS are handed to the write buffer.
///
/// A client stream from [`OpenStream`] gets its stream id here, when its
/// first HEADERS are written: streams opened from many tasks may send their
/// heads in any order (RFC 9113 §5.1.1 is kept by construction).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), Error>")]
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
/// use h2actor::prelude::*;
/// use h2actor::Error;
///
/// /// Streams `chunks` as the body, one at a time: each `send` resolves only
/// /// when the peer's window took the chunk, so memory stays bounded.
/// async fn upload(stream: H2Stream, chunks: Vec<Bytes>) -> Result<(), Error> {
///     let last = chunks.len().saturating_sub(1);
///     for (i, data) in chunks.into_iter().enumerate() {
///         stream.send(SendData { data, end_stream: i == last }).await??;
///     }
///     Ok(())
/// }
/// ```
#[derive(Debug, Message)]
#[rtype(result = "Result<(), Error>")]
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
/// When the body is complete (no trailers, or trailers after it) and the
/// head declares no `content-length`, one is added (RFC 9110 §8.6), so the
/// peer knows the size up front. A response to a HEAD request (or a 204 or
/// 304) goes without its body, as RFC 9110 §9.3.2 wants: a handler can
/// answer HEAD and GET alike. Resolves when the body is in the write
/// buffer.
///
/// ```
/// # use h2actor::prelude::*;
/// let answer = SendMessage::new(http::Response::new(())).body("hello world\n");
/// # let _ = answer;
/// ```
#[derive(Debug, Message)]
#[rtype(result = "Result<(), Error>")]
pub struct SendMessage {
    /// The request or final response head, as in [`SendHeaders::head`].
    pub head: Head,
    /// The whole body; empty for none (then the HEADERS or trailers end
    /// the stream).
    pub body: Bytes,
    /// Trailer fields sent after the body (no pseudo-headers, RFC 9113
    /// §8.1); `None` to end the stream with the body.
    pub trailers: Option<HeaderMap>,
    /// The stream's RFC 9218 priority (see [`UpdatePriority`]): for a
    /// response, its place in the server's write scheduler; for a request,
    /// a `priority` header is added (unless the head has one, or the
    /// priority is the default, §4). `None`: as the request asked.
    pub priority: Option<crate::priority::Priority>,
}

impl SendMessage {
    /// A message with this head, no body and no trailers.
    pub fn new(head: impl Into<Head>) -> Self {
        SendMessage {
            head: head.into(),
            body: Bytes::new(),
            trailers: None,
            priority: None,
        }
    }
    /// Sets the priority (RFC 9218): a response is scheduled by it, a
    /// request asks for it with a `priority` header.
    ///
    /// ```
    /// # use h2actor::prelude::*;
    /// use h2actor::priority::Priority;
    /// // Small and urgent: sent before less urgent responses.
    /// let css = SendMessage::new(http::Response::new(()))
    ///     .body("body { color: red }")
    ///     .priority(Priority::new(0, false));
    /// # let _ = css;
    /// ```
    pub fn priority(mut self, p: crate::priority::Priority) -> Self {
        self.priority = Some(p);
        self
    }
    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
    /// Sets the trailers.
    pub fn trailers(mut self, trailers: HeaderMap) -> Self {
        self.trailers = Some(trailers);
        self
    }

    /// Makes the message what goes on the wire: no body for a response to
    /// a HEAD (`head_request`; its length is still declared, as GET would)
    /// or for a 204 or 304. Returns whether the HEADERS end the stream, and
    /// the `content-length` to declare when the head has none (as
    /// documented): the protocol writes it out with the head's fields
    /// (`proto::Connection::send_head`), the head is not changed.
    pub(crate) fn prepare(&mut self, head_request: bool) -> (bool, Option<u64>) {
        let bodiless = matches!(&self.head, Head::Response(r)
            if r.status() == http::StatusCode::NO_CONTENT || r.status() == http::StatusCode::NOT_MODIFIED);
        let declare = (!bodiless && !self.body.is_empty()).then_some(self.body.len() as u64);
        if head_request || bodiless {
            self.body = Bytes::new();
        }
        if let (Some(p), Head::Request(r)) = (self.priority, &mut self.head) {
            let name = http::header::HeaderName::from_static("priority");
            let field = p.to_field();
            if !field.is_empty() && !r.headers().contains_key(&name) {
                if let Ok(v) = http::HeaderValue::from_str(&field) {
                    r.headers_mut().insert(name, v);
                }
            }
        }
        (self.body.is_empty() && self.trailers.is_none(), declare)
    }

    /// [`SendMessage::prepare`] for a head that opens a client stream: the
    /// `content-length` goes into the head itself.
    pub(crate) fn prepare_in_head(&mut self) -> bool {
        let (end, declare) = self.prepare(false);
        if let Some(n) = declare {
            set_content_length(&mut self.head, n as usize);
        }
        end
    }
}

/// Adds `content-length` to a head whose complete body is `len` bytes, when
/// the head declares none (RFC 9110 §8.6). Only for a non-empty body: an
/// empty one may answer a HEAD or be a 204/304, whose length must not be 0.
pub(crate) fn set_content_length(head: &mut Head, len: usize) {
    if len == 0 {
        return;
    }
    let headers = match head {
        Head::Request(r) => r.headers_mut(),
        Head::Response(r) => r.headers_mut(),
    };
    // `contains_key` then `insert`: cheaper than `entry` when the header is
    // there already, the common case of servers that set it themselves.
    if !headers.contains_key(http::header::CONTENT_LENGTH) {
        headers.insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from(len as u64),
        );
    }
}

/// Send trailers after the body; ends the stream.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), Error>")]
pub struct SendTrailers {
    /// The trailer fields (no pseudo-headers, RFC 9113 §8.1), sent as a
    /// HEADERS frame with END_STREAM.
    pub trailers: HeaderMap,
}

/// Server push (HTTP2.jl `ActPromise`): PUSH_PROMISE on this stream; returns
/// the promised stream, to which you send the pushed response.
#[derive(Debug, Message)]
#[rtype(result = "Result<H2Stream, Error>")]
pub struct Promise {
    /// The request the pushed response answers: GET or HEAD, no body, with
    /// an authority (RFC 9113 §8.4.1).
    pub request: http::Request<()>,
}

/// Reset the stream with RST_STREAM(code). On a stream that has not sent its
/// HEADERS yet nothing goes on the wire: the stream is just given up.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Reset {
    /// The RST_STREAM error code, e.g. `CANCEL` when the answer is no
    /// longer wanted (RFC 9113 §7).
    pub code: ErrorCode,
}

/// Change a stream's RFC 9218 priority (urgency 0–7, lower first, and
/// whether its response is useful in pieces).
///
/// On a **server** it places the response among the others in the
/// connection's write scheduler: lower urgency first, incremental
/// responses of one urgency in turn, the others one at a time (RFC 9218
/// §10). The request's `priority` field and the client's PRIORITY_UPDATE
/// frames set it too; the last word wins. (To tell intermediaries, add a
/// `priority` response header with [`Priority::to_field`], §5.)
///
/// On a **client** it also sends a PRIORITY_UPDATE frame (§7.1) asking the
/// server to reorder the response, e.g. when an image scrolls into view.
/// To set a request's priority from the start, give it a `priority` header
/// (`u=0, i`).
///
/// Resolves once the change is made (the frame is queued); `Err` if the
/// stream is over or its HEADERS are not sent yet.
///
/// ```no_run
/// use actix::prelude::*;
/// use h2actor::prelude::*;
/// use h2actor::{Error, UpdatePriority};
/// use h2actor::priority::Priority;
///
/// // A server answering a large download: let small requests pass it.
/// async fn send_bulk(stream: H2Stream, body: bytes::Bytes) -> Result<(), Error> {
///     stream.send(UpdatePriority(Priority::new(6, false))).await??;
///     stream.send(SendMessage::new(http::Response::new(())).body(body)).await?
/// }
/// ```
///
/// [`Priority::to_field`]: crate::priority::Priority::to_field
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Result<(), Error>")]
pub struct UpdatePriority(pub crate::priority::Priority);

/// Give back `n` bytes of received DATA to the flow-control windows. Only
/// needed when the connection was built with `auto_release(false)`.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ReleaseCapacity {
    /// Bytes consumed (counted as `RecvData::data.len()`); more than the
    /// stream holds unreleased is capped at that.
    pub n: usize,
}

/// Ask an [`H2Stream`] for its id: `None` for a client stream whose
/// HEADERS have not been written yet (ids are assigned then, RFC 9113
/// §5.1.1), e.g. to label a request you opened with [`OpenStream`].
///
/// ```no_run
/// # use actix::prelude::*;
/// # use h2actor::prelude::*;
/// # use h2actor::GetStreamId;
/// # async fn label(stream: H2Stream) -> Result<(), MailboxError> {
/// let id = stream.send(GetStreamId).await?;
/// println!("[stream {}]", id.map_or(0, |id| id.0));
/// # Ok(()) }
/// ```
#[derive(Debug, Message)]
#[rtype(result = "Option<StreamId>")]
pub struct GetStreamId;

/// Send to an [`H2Stream`]: its later notifications go to this subscriber.
/// Send to a [`Connection`](super::Connection): new peer-initiated streams and the
/// connection's own notifications ([`GoAway`], [`Closed`]) go to it.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Subscribe(pub Subscriber);

// ---------------------------------------------------------- user -> Connection

/// Client: open a stream (HTTP2.jl `next_free_stream_identifier`). Resolves
/// with the stream's handle once the peer's SETTINGS_MAX_CONCURRENT_STREAMS
/// leaves room for it (waiting is bounded: `Error::QueueFull` beyond
/// `Builder::max_pending_open_streams`). Its stream id is assigned when its
/// first HEADERS are written, so streams opened from many tasks may send
/// their heads in any order. A stream dropped (every `Addr` gone) or
/// [`Reset`] before its HEADERS leaves no trace and frees its slot.
/// Notifications for it go to `subscriber`, or to the connection's.
#[derive(Debug, Message, Default)]
#[rtype(result = "Result<H2Stream, Error>")]
pub struct OpenStream {
    /// Where this stream's notifications go; `None` for the connection's
    /// subscriber.
    pub subscriber: Option<Subscriber>,
}

/// Client: a whole request in one message: open a stream (waiting for a
/// slot like [`OpenStream`]), send the head, then `body` (if any); the
/// stream ends after them when `end_stream` is set, else send more with
/// [`SendData`] / [`SendTrailers`]. A complete body without a declared
/// `content-length` gets one. Resolves with the stream's handle once the
/// head is in the write buffer.
///
/// ```no_run
/// use actix::prelude::*;
/// use h2actor::prelude::*;
/// use h2actor::Error;
///
/// async fn post(conn: Addr<Connection>, sub: Subscriber) -> Result<H2Stream, Error> {
///     let request = http::Request::post("http://localhost/echo").body(()).unwrap();
///     conn.send(SendRequest::new(request).body("ping").subscriber(sub)).await?
/// }
/// ```
#[derive(Debug, Message)]
#[rtype(result = "Result<H2Stream, Error>")]
pub struct SendRequest {
    /// The request head.
    pub request: http::Request<()>,
    /// The body, sent right after the head; `None` for none.
    pub body: Option<Bytes>,
    /// End the stream after the head and body (default true).
    pub end_stream: bool,
    /// Where the response's notifications go; `None` for the connection's
    /// subscriber.
    pub subscriber: Option<Subscriber>,
}

impl SendRequest {
    /// A request with no body that ends its stream.
    pub fn new(request: http::Request<()>) -> Self {
        SendRequest {
            request,
            body: None,
            end_stream: true,
            subscriber: None,
        }
    }
    /// Sets the body (sent right after the head).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }
    /// Keeps the stream open after the head and body: more [`SendData`] or
    /// [`SendTrailers`] follow on the returned stream.
    pub fn streaming(mut self) -> Self {
        self.end_stream = false;
        self
    }
    /// Sends the response's notifications to `subscriber`.
    pub fn subscriber(mut self, subscriber: Subscriber) -> Self {
        self.subscriber = Some(subscriber);
        self
    }
}

/// Send a PING; resolves with the round-trip time.
#[derive(Debug, Message, Default)]
#[rtype(result = "Result<Duration, Error>")]
pub struct Ping;

/// Graceful close (HTTP2.jl `close`): GOAWAY(code), let open streams finish,
/// flush, then stop. A second `Close` forces it.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Close {
    /// The GOAWAY error code: `NO_ERROR` for a normal shutdown (RFC 9113
    /// §6.8).
    pub code: ErrorCode,
}

/// Change local settings (applied when the peer acknowledges them).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), Error>")]
pub struct UpdateSettings(pub Vec<Setting>);

/// Ask a connection for its [`ConnectionStats`] (tests, monitoring).
#[derive(Debug, Message, Default)]
#[rtype(result = "ConnectionStats")]
pub struct GetStats;

/// A snapshot of a connection's buffers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// The connection's identity, as its notifications carry it.
    pub conn: ConnectionId,
    /// Bytes in the write buffer now.
    pub write_buffered: usize,
    /// The most the write buffer ever held (stays near `max_write_buffer`).
    pub write_buffer_high_water: usize,
    /// Streams the connection still tracks.
    pub streams: usize,
    /// `SendData`/`SendTrailers` replies not given yet (waiting for the
    /// peer's window or for room in the write buffer).
    pub pending_sends: usize,
    /// The peer's first SETTINGS frame arrived (RFC 9113 §3.4): false for a
    /// peer that accepted the connection and has said nothing since.
    pub peer_settings: bool,
}
