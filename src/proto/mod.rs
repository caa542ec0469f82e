//! The HTTP/2 protocol (RFC 9113 §3–§8) as a state machine without I/O.
//!
//! [`Connection`] takes decoded frames ([`Connection::recv_frame`]) and user
//! actions (`send_headers`, `send_data`, ...), and hands out encoded bytes to
//! write ([`Connection::poll_transmit`]) and [`Event`]s to deliver
//! ([`Connection::poll_event`]). It owns both HPACK contexts, every stream's
//! state and both directions of flow control. It knows nothing of actix or
//! sockets, so every rule is tested by driving it frame by frame; the actor
//! layer is a thin shell that moves bytes and messages.
//!
//! Time comes in as `now: Instant` on every entry point that needs it
//! ([`Connection::new`], [`Connection::recv_frame`],
//! [`Connection::recv_malformed`], [`Connection::update_settings`],
//! [`Connection::go_away_graceful`], [`Connection::handle_timeout`]); no
//! clock is read inside `proto`, so a test moves time by adding to `now`.
//!
//! ## Files
//! - `connection.rs`: the [`Connection`] struct, `new`, accessors,
//!   `poll_event`, and the helpers every path shares (connection and stream
//!   errors, closing streams, giving back receive credit, stream counts).
//!   Its `impl` continues by concern in `connection/`:
//!   - `recv.rs`: `recv_frame` dispatch and malformed frames, DATA,
//!     RST_STREAM, SETTINGS (and applying them), PING, GOAWAY,
//!     WINDOW_UPDATE.
//!   - `recv_headers.rs`: field blocks (HEADERS, PUSH_PROMISE,
//!     CONTINUATION), HPACK decoding, requests, responses, trailers and
//!     promises as received.
//!   - `transmit.rs`: `poll_transmit`, `poll_transmit_vectored`,
//!     `wants_transmit`.
//!   - `actions.rs`: the user actions (`open_stream`, `send_headers`,
//!     `send_data`, `send_trailers`, `push_promise`, `reset`,
//!     `release_capacity`, `ping`, `update_settings`).
//!   - `shutdown.rs`: timers (`poll_timeout`, `handle_timeout`), `go_away`,
//!     `go_away_graceful`, `is_finished`.
//!   - `upgrade.rs`: HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2).
//!   - `app.rs`: the application slot of each stream (`app`, `set_app`,
//!     `take_app`, `apps`).
//!   - `counts.rs`: the active-stream counters (§5.1.2).
//!   - `bdp.rs`: the adaptive receive window (`Config::adaptive_window`):
//!     BDP PINGs, windows grown by SETTINGS and WINDOW_UPDATE.
//! - `guards.rs`: `FloodGuards`, every flood counter (§10.5, rapid reset).
//! - `stream.rs`: stream states (§5.1) and per-stream bookkeeping.
//! - `flow.rs`: [`FlowWindow`], signed windows with checked arithmetic (§6.9).
//! - `settings.rs`: settings in effect on each side, value checks (§6.5.2).
//! - `headers.rs`: §8 message checks and fields <-> `http` types.
//! - `store.rs`: the crate's one stream table (each stream with the
//!   application slot `A` of [`Connection<A>`](Connection), where the actor
//!   layer keeps its per-stream entry), the bounded memory of closed
//!   streams, and the crate's one hasher for stream ids (`IdBuildHasher`).
//! - `write_queue.rs`: [`WriteQueue`], frames to write with DATA payloads
//!   referenced, not copied (for vectored writes).
//! - `tests/`: rule-by-rule tests, one file per concern, each test named
//!   after the RFC section it checks.
//!
//! ## Choices where the RFC leaves room
//! - Our settings take effect when acknowledged, except
//!   MAX_CONCURRENT_STREAMS and ENABLE_PUSH, enforced from the start (a peer
//!   that opens streams before reading our SETTINGS gets REFUSED_STREAM,
//!   which is safe to retry).
//! - Frames on a closed stream (§5.1): ignored after we reset it (DATA still
//!   counts toward the connection window and is given back at once);
//!   DATA/HEADERS after the peer ended or reset it are a connection error
//!   STREAM_CLOSED; HEADERS on a peer id below the highest seen that was
//!   never opened is PROTOCOL_ERROR (§5.1.1). Closed ids are remembered as
//!   runs (consecutive ids closed the same way share one), at most
//!   `max_reset_streams` runs.
//! - A field block above `max_header_block_size` (HEADERS + CONTINUATION) is
//!   a connection error ENHANCE_YOUR_CALM: it cannot be skipped without
//!   breaking HPACK state. A decoded header list above
//!   `max_header_list_size` is answered with 431 (server) or RST_STREAM
//!   CANCEL / REFUSED_STREAM (client), the connection goes on.
//! - A malformed request is answered with RST_STREAM PROTOCOL_ERROR (not a
//!   400) and never reported to the user.
//! - Flood limits (§10.5), all connection errors ENHANCE_YOUR_CALM: more
//!   than `max_pending_pings` PING or SETTINGS ACKs unsent; more than
//!   [`MAX_PENDING_RESETS`] provoked RST_STREAMs unsent; more than
//!   [`MAX_CHEAP_FRAMES`] frames without progress (PING, SETTINGS,
//!   WINDOW_UPDATE, PRIORITY, empty DATA, unknown types) in
//!   [`CHEAP_FRAME_WINDOW`]; peer streams wasted above 2 x
//!   MAX_CONCURRENT_STREAMS (100 to 50,000) per 4 x that many opened or
//!   promised: reset by the peer before we answered them (rapid reset,
//!   CVE-2023-44487), or pushes we refused or reset before their response
//!   ended (a push flood); see [`Config::max_concurrent_streams`].
//! - Receive windows reopen when the user releases at least half of the
//!   window (stream: our INITIAL_WINDOW_SIZE; connection:
//!   `connection_window_size`); padding is released at once; what a stream
//!   held unreleased when it closes goes back to the connection window. A
//!   window (stream or connection) that equals what a body's content-length
//!   still needs gets one octet more at once, so it never closes exactly
//!   with the body's last byte (nghttp2, hence Node, writes no END_STREAM
//!   DATA frame into a shut window; Node then resets the stream).
//! - A client stream reset with NO_ERROR once its DATA reached the
//!   response's content-length ends as if END_STREAM had come (an
//!   `Event::RecvData` with `end_stream`, then the `Event::RecvReset`; §8.1).
//! - Shutdown: [`Connection::go_away`] sends one GOAWAY with the last peer
//!   stream seen; [`Connection::go_away_graceful`] does the two-step
//!   shutdown of §6.8 (2^31-1 + PING, then the real last id).
//! - HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2) is [`Connection::upgrade`].
//! - A GOAWAY received with an error code is treated like NO_ERROR here (the
//!   peer closes the socket); streams above its last id are reported as
//!   `Reset { code: REFUSED_STREAM, remote: true }`.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;

use crate::frame::{ErrorCode, Setting, StreamId};

mod connection;
pub mod flow;
mod guards;
pub mod headers;
pub mod schedule;
pub mod settings;
mod store;
pub mod stream;
#[cfg(test)]
mod tests;
pub mod write_queue;

// Used by the crate or only by tests, benches and fuzzing (`unstable`).
#[cfg_attr(not(feature = "unstable"), allow(unused_imports))]
pub use connection::{Connection, BDP_PING, MAX_IDLE_PRIORITIES, MAX_QUEUED_CHUNKS};
#[cfg_attr(not(feature = "unstable"), allow(unused_imports))]
pub use flow::FlowWindow;
#[cfg_attr(not(feature = "unstable"), allow(unused_imports))]
pub use guards::{CHEAP_FRAME_WINDOW, MAX_CHEAP_FRAMES, MAX_PENDING_RESETS};
#[cfg_attr(not(feature = "unstable"), allow(unused_imports))]
pub use settings::SettingsState;
#[cfg_attr(not(feature = "unstable"), allow(unused_imports))]
pub use stream::StreamState;
pub use write_queue::WriteQueue;

/// Which end of the connection we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Opens odd streams, sends the preface.
    Client,
    /// Opens even (pushed) streams, expects the preface.
    Server,
}

/// A message head crossing the public edge, in `http` crate types.
///
/// Requests carry `:method`, `:scheme`, `:authority`, `:path` in the
/// `Request`'s method and URI (and `:protocol`, RFC 8441, as a [`Protocol`]
/// extension); responses carry `:status`.
#[derive(Debug)]
pub enum Head {
    /// A request: sent by clients (and promised by servers, §8.4),
    /// received by servers.
    Request(http::Request<()>),
    /// A response (1xx informational or final): sent by servers, received
    /// by clients.
    Response(http::Response<()>),
}

impl From<http::Request<()>> for Head {
    fn from(r: http::Request<()>) -> Self {
        Head::Request(r)
    }
}

impl From<http::Response<()>> for Head {
    fn from(r: http::Response<()>) -> Self {
        Head::Response(r)
    }
}

/// The `:protocol` pseudo-header of an extended CONNECT (RFC 8441), kept in
/// the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol(pub Bytes);

/// Local settings and limits. Every queue and buffer in `proto` is bounded by
/// one of these.
#[derive(Debug, Clone)]
pub struct Config {
    /// SETTINGS_HEADER_TABLE_SIZE we advertise, in bytes as RFC 7541 §4.1
    /// counts them: the most the peer's encoder may use for our decoder's
    /// dynamic table (RFC 9113 §6.5.2). Default 4,096.
    pub header_table_size: u32,
    /// Client: SETTINGS_ENABLE_PUSH we advertise (false refuses server push
    /// from the start). A server never sends it and ignores this value.
    pub enable_push: bool,
    /// SETTINGS_MAX_CONCURRENT_STREAMS we advertise: how many streams the
    /// peer may have open at once (§5.1.2); enforced from the start. Default 256.
    ///
    /// It also sets the flood bound on peer streams that end without doing
    /// their work (§10.5): of every 4 x `max_concurrent_streams` streams
    /// the peer opens or promises, at most 2 x `max_concurrent_streams`
    /// (never fewer than 100, never more than 50,000; with the default,
    /// 512 of every 1,024) may be
    /// - server: reset by the peer before we answered them (rapid reset,
    ///   CVE-2023-44487);
    /// - client: pushes we refused (RST_STREAM REFUSED_STREAM when
    ///   `max_concurrent_streams` are already reserved, or a malformed
    ///   promise) or reset before their response ended (CANCEL when no one
    ///   takes pushes).
    ///
    /// One more ends the connection with GOAWAY ENHANCE_YOUR_CALM (a reset
    /// of ours is judged at the next PUSH_PROMISE). A client that wants no
    /// pushes at all sets `enable_push: false`: then the first promise is a
    /// connection error PROTOCOL_ERROR (§6.6).
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE we advertise: each stream's receive
    /// window in bytes (§6.9.2), capped at 2^31-1. Default 1 MiB.
    pub initial_window_size: u32,
    /// Our connection-level receive window (raised from 65,535 by a
    /// WINDOW_UPDATE on stream 0 right after our SETTINGS).
    pub connection_window_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE we advertise: the largest frame payload in
    /// bytes we accept, clamped to 16,384..=16,777,215 (§4.2, §6.5.2).
    pub max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce, in bytes as
    /// RFC 7541 §4.1 counts them (name + value + 32 per field). Default 64 KiB.
    pub max_header_list_size: u32,
    /// Our own cap on the HPACK encoder's dynamic table.
    pub encoder_table_size: u32,
    /// How long the peer has to acknowledge our SETTINGS (SETTINGS_TIMEOUT).
    pub settings_timeout: Duration,
    /// Bytes a stream may have queued by `send_data` and not yet written; a
    /// `send_data` on an empty queue is always accepted whatever its size.
    pub max_send_buffer_per_stream: usize,
    /// Our PINGs awaiting ACK; the peer's PINGs whose ACKs are unsent.
    pub max_pending_pings: usize,
    /// How many runs of closed (ended or reset) stream ids are remembered, so
    /// that late frames on them are told apart from frames on never-opened
    /// ids (§5.1). Consecutive ids closed the same way share one run (12
    /// bytes), so a connection that ended thousands of streams in order keeps
    /// one; the lowest ids are forgotten first.
    pub max_reset_streams: usize,
    /// Bound on a field block being assembled from HEADERS + CONTINUATION.
    pub max_header_block_size: usize,
    /// Deadlines that shed silent, idle, dead and stalled peers; see
    /// [`Timeouts`] for each default. Default `Timeouts::default()`.
    pub timeouts: Timeouts,
    /// The adaptive receive window: `Some(cap)` grows the stream and
    /// connection receive windows to the bandwidth-delay product measured
    /// with PINGs while DATA arrives, up to `cap` bytes (at most 2^31-1).
    /// For uploads over links with a long round trip, where a fixed window
    /// caps each stream at `window / RTT` (1 MiB over 40 ms: 25 MiB/s).
    /// What a peer may send unread grows with it, up to `cap` per stream
    /// and per connection. Default `None`: the windows stay as set above.
    ///
    /// ```
    /// use h2actor::Config;
    ///
    /// let config = Config {
    ///     adaptive_window: Some(16 << 20),
    ///     ..Config::default()
    /// };
    /// # let _ = config;
    /// ```
    pub adaptive_window: Option<u32>,
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 in our first SETTINGS (RFC 8441
    /// §3): a server that sets it accepts extended CONNECT, a request with
    /// `:protocol` (a [`Protocol`] in the request's extensions), e.g. a
    /// WebSocket (`:protocol = websocket`, RFC 8441 §4) that a browser then
    /// opens over this same connection. The stream becomes a byte pipe once
    /// answered with a 2xx: see [`StreamIo`](crate::StreamIo). Once sent it
    /// cannot be taken back (RFC 8441 §3). Default false.
    ///
    /// ```
    /// use h2actor::Config;
    ///
    /// let config = Config {
    ///     enable_connect_protocol: true,
    ///     ..Config::default()
    /// };
    /// # let _ = config;
    /// ```
    pub enable_connect_protocol: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            header_table_size: 4096,
            enable_push: true,
            max_concurrent_streams: 256,
            initial_window_size: 1 << 20,
            connection_window_size: 4 << 20,
            max_frame_size: crate::frame::DEFAULT_MAX_FRAME_SIZE,
            max_header_list_size: 64 << 10,
            encoder_table_size: 4096,
            settings_timeout: Duration::from_secs(10),
            max_send_buffer_per_stream: 1 << 20,
            max_pending_pings: 16,
            max_reset_streams: 1024,
            max_header_block_size: 256 << 10,
            timeouts: Timeouts::default(),
            adaptive_window: None,
            enable_connect_protocol: false,
        }
    }
}

/// Per-connection deadlines, all driven by the `now` the state machine is
/// given (no clock is read inside). `None` (or a zero duration) turns one
/// off. The defaults suit a server facing the internet and are safe for a
/// client; the table in the README repeats them.
///
/// | field | default | when it fires |
/// |---|---|---|
/// | `handshake` | 10 s | GOAWAY PROTOCOL_ERROR, connection closed |
/// | `idle` | 60 s | GOAWAY NO_ERROR (server: in two steps), closed when done |
/// | `keepalive` | PING after 30 s of silence, 20 s for the ACK | GOAWAY NO_ERROR, connection closed |
/// | `stalled_stream` | 30 s | RST_STREAM CANCEL on that stream |
///
/// ```
/// use std::time::Duration;
/// use h2actor::{Config, Timeouts};
///
/// // A server for slow mobile clients: longer idle time, no keepalive.
/// let config = Config {
///     timeouts: Timeouts {
///         idle: Some(Duration::from_secs(300)),
///         keepalive: None,
///         ..Timeouts::default()
///     },
///     ..Config::default()
/// };
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long the peer has, from the connection's start, to send its
    /// connection preface and first SETTINGS frame (RFC 9113 §3.4: a server
    /// waits for the client's preface, a client for the server's SETTINGS).
    /// When it passes, the connection ends with GOAWAY PROTOCOL_ERROR (a
    /// missing preface is treated as an invalid one, §3.4). Default 10 s.
    pub handshake: Option<Duration>,
    /// How long the connection may have no stream at all (open, half-closed,
    /// reserved, or a client's id not yet used) before it is shut down
    /// gracefully with GOAWAY NO_ERROR (§6.8): a server does the two-step
    /// shutdown (so a request crossing the GOAWAY is still served), a client
    /// sends one GOAWAY. The connection closes once no stream is left. The
    /// clock starts when the connection starts and again each time its last
    /// stream ends, so a peer that sends its preface and then nothing is
    /// closed too. Default 60 s. A client that keeps a connection for later
    /// requests sets `None` (or a longer time) here.
    pub idle: Option<Duration>,
    /// Liveness checks: after [`Keepalive::interval`] without any frame from
    /// the peer, a PING goes out; if no frame at all (the ACK or any other)
    /// arrives within [`Keepalive::timeout`], the peer is taken for dead and
    /// the connection ends with GOAWAY NO_ERROR. Default: PING after 30 s,
    /// 20 s for the answer, so a vanished peer is noticed within 50 s. The
    /// cost is one 17-byte PING per 30 s of silence.
    ///
    /// Servers that police PING rates (gRPC's keepalive enforcement allows
    /// one PING per 5 minutes by default) answer frequent PINGs with GOAWAY
    /// ENHANCE_YOUR_CALM: a client of such a server sets `None` or an
    /// interval of at least 5 minutes.
    pub keepalive: Option<Keepalive>,
    /// How long a stream may have DATA queued while its send window, or the
    /// connection's, stays at zero or below (the peer does not read, or
    /// does not give credit back) before it is reset with RST_STREAM CANCEL.
    /// Its queued DATA is freed and the sender's pending `SendData` replies
    /// fail with `Error::Reset(CANCEL)`. When the connection window is the
    /// one shut, every stream with DATA queued is reset. The clock restarts
    /// each time the window opens (a slow reader is not reset, one that
    /// stops reading is). Default 30 s.
    ///
    /// CANCEL (§7: "the stream is no longer needed") and not
    /// FLOW_CONTROL_ERROR: a peer may keep its window closed as long as it
    /// likes (§5.2.2), which breaks no rule; this is our decision to give up,
    /// as Go's `WriteTimeout` or nginx's `send_timeout` are.
    pub stalled_stream: Option<Duration>,
}

/// PING-based liveness checks: see [`Timeouts::keepalive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Silence from the peer (no frame of any kind) before a PING is sent.
    /// Default 30 s. Zero turns keepalive off.
    pub interval: Duration,
    /// How long the peer then has to send any frame (the PING ACK, normally)
    /// before the connection is closed as dead. Default 20 s. Zero turns
    /// keepalive off.
    pub timeout: Duration,
}

impl Default for Keepalive {
    fn default() -> Self {
        Keepalive {
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(20),
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            handshake: Some(Duration::from_secs(10)),
            idle: Some(Duration::from_secs(60)),
            keepalive: Some(Keepalive::default()),
            stalled_stream: Some(Duration::from_secs(30)),
        }
    }
}

impl Timeouts {
    /// Every deadline off (only SETTINGS_TIMEOUT, `Config::settings_timeout`,
    /// and the graceful shutdown's deadline remain).
    pub const fn disabled() -> Self {
        Timeouts {
            handshake: None,
            idle: None,
            keepalive: None,
            stalled_stream: None,
        }
    }

    pub(crate) fn handshake_limit(&self) -> Option<Duration> {
        self.handshake.filter(|d| !d.is_zero())
    }

    pub(crate) fn idle_limit(&self) -> Option<Duration> {
        self.idle.filter(|d| !d.is_zero())
    }

    pub(crate) fn keepalive_on(&self) -> Option<Keepalive> {
        self.keepalive
            .filter(|k| !k.interval.is_zero() && !k.timeout.is_zero())
    }

    pub(crate) fn stall_limit(&self) -> Option<Duration> {
        self.stalled_stream.filter(|d| !d.is_zero())
    }
}

/// Which of the [`Timeouts`] ended the connection (a connection's
/// [`Closed`](crate::actor::Closed) notification carries it as
/// [`CloseReason::Timeout`](crate::actor::CloseReason::Timeout)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timeout {
    /// No connection preface and SETTINGS from the peer in time
    /// ([`Timeouts::handshake`]).
    Handshake,
    /// No stream for [`Timeouts::idle`]: shut down gracefully.
    Idle,
    /// No answer to a keepalive PING in time ([`Timeouts::keepalive`]).
    Keepalive,
}

impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Timeout::Handshake => "the peer sent no connection preface (its SETTINGS) in time",
            Timeout::Idle => "idle: no stream for the idle timeout",
            Timeout::Keepalive => "no answer to a keepalive PING in time",
        })
    }
}

/// A connection error (RFC 9113 §5.4.1): GOAWAY with `code` has been queued
/// (if `remote` is false) and the connection must close once it is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("connection error {code} ({}): {reason}", if *remote { "from peer" } else { "local" })]
pub struct ConnectionError {
    /// The GOAWAY error code (RFC 9113 §7), sent or received.
    pub code: ErrorCode,
    /// What went wrong, citing the rule broken (ours), or the peer's GOAWAY
    /// debug data as text (theirs).
    pub reason: String,
    /// True when the peer closed the connection with this code.
    pub remote: bool,
}

/// A user action the state machine refuses. The connection is unaffected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// Client: the peer's SETTINGS_MAX_CONCURRENT_STREAMS streams are open
    /// (RFC 9113 §5.1.2); retry when one closes. Server: no slot for a push.
    #[error("the peer's SETTINGS_MAX_CONCURRENT_STREAMS is reached")]
    StreamLimit,
    /// Every id up to 2^31-1 was used (RFC 9113 §5.1.1): open a new
    /// connection.
    #[error("stream ids exhausted")]
    StreamIdsExhausted,
    /// No stream with this id is open: never opened, already closed, or
    /// reset.
    #[error("stream {0} does not exist or is closed")]
    UnknownStream(StreamId),
    /// The action is not allowed in the stream's current §5.1 state (e.g.
    /// DATA after END_STREAM); `state` is the RFC's name for it.
    #[error("stream {id}: not allowed in state {state}")]
    InvalidState {
        /// The stream (`StreamId::ZERO` for a connection-level action).
        id: StreamId,
        /// The name of the stream's state (RFC 9113 §5.1: `idle`,
        /// `half-closed (local)`...), or what is amiss.
        state: &'static str,
    },
    /// Client: a stream opened later already sent its HEADERS, and ids must
    /// be used in increasing order (RFC 9113 §5.1.1).
    #[error("stream {0}: a higher stream id already sent its headers")]
    StreamIdOrder(StreamId),
    /// Server: the client sent SETTINGS_ENABLE_PUSH = 0 (RFC 9113 §8.4).
    #[error("the peer disabled server push")]
    PushDisabled,
    /// Only the named role may do this (e.g. only a client opens streams,
    /// only a server pushes).
    #[error("only a {0:?} may do this")]
    WrongRole(Role),
    /// The stream already has `Config::max_send_buffer_per_stream` bytes
    /// queued; wait for `Event::DataSent` and retry.
    #[error("send buffer of stream {0} is full")]
    SendBufferFull(StreamId),
    /// `Config::max_pending_pings` of our PINGs await their ACK.
    #[error("too many pings awaiting acknowledgement")]
    TooManyPings,
    /// The message, header or setting breaks a rule of RFC 9113 (§8 for
    /// messages, §6.5.2 for settings); the text names the rule.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// A GOAWAY was sent or received (RFC 9113 §6.8): no new streams.
    #[error("connection is going away")]
    GoingAway,
    /// The connection hit a connection error and accepts no more actions.
    #[error("connection is closed")]
    Closed,
}

/// What the state machine tells its user. `A` is the application's
/// per-stream slot of [`Connection<A>`](Connection) (`()` without one): a
/// stream's terminal event (`RecvReset`, `Finished`) hands it back.
#[derive(Debug)]
pub enum Event<A = ()> {
    /// A request (server side), or a response (client side; 1xx informational
    /// ones included, each its own event), on `id`.
    RecvHeaders {
        /// The stream's id.
        id: StreamId,
        /// The request or response; boxed, so that an event is small to
        /// move from the queue to its user (a head is 224 bytes, and each
        /// move of it was a `memcpy`).
        head: Box<Head>,
        /// The peer set END_STREAM: no body or trailers follow.
        end_stream: bool,
    },
    /// Body bytes on `id`. Their length counts against our receive windows
    /// until given back with [`Connection::release_capacity`] (padding is
    /// given back by the state machine itself).
    RecvData {
        /// The stream's id.
        id: StreamId,
        /// One DATA frame's payload, padding removed; may be empty.
        data: Bytes,
        /// The peer set END_STREAM: the body is complete.
        end_stream: bool,
    },
    /// Trailers (a HEADERS with END_STREAM after the head).
    RecvTrailers {
        /// The stream's id.
        id: StreamId,
        /// The trailer fields (pseudo-headers are refused, §8.1).
        trailers: HeaderMap,
    },
    /// Client side: the server promised `promised_id` (reserved remote) on `id`.
    RecvPromise {
        /// The stream the PUSH_PROMISE came on (the associated request).
        id: StreamId,
        /// The even id the pushed response will arrive on (§8.4).
        promised_id: StreamId,
        /// The request the server will answer on `promised_id` (boxed as
        /// `RecvHeaders::head` is).
        request: Box<http::Request<()>>,
    },
    /// The stream ended abnormally: reset by the peer (`remote`), or by us
    /// after a stream error (RST_STREAM already queued), or refused by a
    /// GOAWAY whose last stream id is below it (`code` REFUSED_STREAM,
    /// `remote` true: safe to retry on another connection).
    RecvReset {
        /// The stream's id.
        id: StreamId,
        /// The RST_STREAM error code (§7).
        code: ErrorCode,
        /// True when the peer reset or refused it, false when we did.
        remote: bool,
        /// The application's slot of the stream, if one was set
        /// ([`Connection::set_app`]): the stream is forgotten, its slot
        /// goes to whoever takes this event.
        app: Option<A>,
    },
    /// The stream closed normally (both sides sent END_STREAM).
    Finished {
        /// The stream's id.
        id: StreamId,
        /// The application's slot of the stream, as in `Reset`.
        app: Option<A>,
    },
    /// `len` bytes given to `send_data` on `id` were written to the transmit
    /// buffer (the backpressure signal the user awaits).
    DataSent {
        /// The stream's id.
        id: StreamId,
        /// Body bytes written out (DATA payload, without padding).
        len: usize,
    },
    /// The peer sent GOAWAY.
    GoAway {
        /// The highest stream id the peer may have processed (§6.8).
        last_stream_id: StreamId,
        /// Why the peer closes: `NO_ERROR` for a graceful shutdown.
        code: ErrorCode,
        /// Opaque diagnostic bytes from the peer; may be empty.
        debug_data: Bytes,
    },
    /// The ACK for one of our PINGs.
    PingAck {
        /// The 8 opaque bytes given to [`Connection::ping`], echoed back.
        payload: [u8; 8],
    },
    /// The peer's SETTINGS frame was applied (and ACKed).
    RemoteSettings {
        /// The parameters, in the order the peer sent them.
        params: Vec<Setting>,
    },
    /// The peer acknowledged our SETTINGS.
    SettingsAcked,
}
