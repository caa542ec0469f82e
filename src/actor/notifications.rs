//! The notifications a [`Subscriber`](super::Subscriber) receives: one
//! message per event of a stream or a connection, and [`Event`], any of
//! them.

use actix::prelude::*;
use bytes::Bytes;
use http::HeaderMap;

use super::{ConnectionId, H2Stream};
#[allow(unused_imports)] // for the doc links
use super::{ReleaseCapacity, Reset};
use crate::frame::{ErrorCode, StreamId};
use crate::proto::{ConnectionError, Head};

// ------------------------------------------------ notifications -> subscriber

/// A request (server) or response (client, 1xx included) arrived
/// (HTTP2.jl `EvtRecvHeaders`).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RecvHeaders {
    /// The stream: answer or send more on it.
    pub stream: H2Stream,
    /// The connection it came on.
    pub conn: ConnectionId,
    /// The stream's id (unique within `conn` only).
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
    /// The stream.
    pub stream: H2Stream,
    /// The connection it came on.
    pub conn: ConnectionId,
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
    /// The stream.
    pub stream: H2Stream,
    /// The connection it came on.
    pub conn: ConnectionId,
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
    pub stream: H2Stream,
    /// The connection it came on.
    pub conn: ConnectionId,
    /// The associated stream's id.
    pub id: StreamId,
    /// The promised (even, reserved remote) stream: its response arrives
    /// as notifications for `promised_id`; send it [`Reset`] to refuse.
    pub promised: H2Stream,
    /// The promised stream's id.
    pub promised_id: StreamId,
    /// The request the server will answer on the promised stream.
    pub request: http::Request<()>,
}

/// The stream ended before it completed. `cause` says how: an RST_STREAM
/// (the peer's when `remote`, else ours), the peer's GOAWAY refusing it
/// (`code` REFUSED_STREAM, `remote` true: not processed, safe to retry), or
/// the connection ending under it (every stream still open hears this,
/// with `code` the GOAWAY's code or CANCEL). Its `Display` is a sentence
/// for a user:
///
/// ```
/// # use h2actor::{CloseReason, ErrorCode, ResetCause, StreamId};
/// let refused = ResetCause::GoAway { last_stream_id: StreamId(5) };
/// assert_eq!(refused.describe(ErrorCode::REFUSED_STREAM, true),
///            "refused by GOAWAY (last stream id 5)");
/// let lost = ResetCause::Connection(CloseReason::Io("Connection reset by peer (os error 104)".into()));
/// assert_eq!(lost.describe(ErrorCode::CANCEL, true),
///            "connection lost: Connection reset by peer (os error 104)");
/// ```
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RecvReset {
    /// The stream (to find what you kept for it).
    pub stream: H2Stream,
    /// The connection it came on.
    pub conn: ConnectionId,
    /// The stream's id.
    pub id: StreamId,
    /// The RST_STREAM error code (`CANCEL` when the connection ended
    /// without a connection error).
    pub code: ErrorCode,
    /// True when the peer reset it, refused it by GOAWAY, or closed the
    /// connection; false when this side did.
    pub remote: bool,
    /// How the stream ended: see [`ResetCause`].
    pub cause: ResetCause,
}

impl RecvReset {
    /// What happened, as a sentence: "reset by the peer: CANCEL",
    /// "refused by GOAWAY (last stream id 5)", "connection lost: ...".
    pub fn describe(&self) -> String {
        self.cause.describe(self.code, self.remote)
    }
}

/// How a stream ended early (see [`RecvReset`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResetCause {
    /// An RST_STREAM frame: the peer's, or ours (after a stream error, a
    /// [`Reset`], a timeout).
    Stream,
    /// The peer's GOAWAY refused the stream: its id is above
    /// `last_stream_id`, so the peer did not process it (RFC 9113 §6.8).
    GoAway {
        /// The GOAWAY's last stream id.
        last_stream_id: StreamId,
    },
    /// The connection ended under the stream; no RST_STREAM crossed the
    /// wire for it.
    Connection(CloseReason),
}

impl ResetCause {
    /// The sentence a user reads for a stream that ended this way with
    /// `code`, reset by the peer (`remote`) or by us.
    pub fn describe(&self, code: ErrorCode, remote: bool) -> String {
        match self {
            ResetCause::Stream if remote => format!("reset by the peer: {code}"),
            ResetCause::Stream => format!("reset by us: {code}"),
            ResetCause::GoAway { last_stream_id } => {
                format!("refused by GOAWAY (last stream id {last_stream_id})")
            }
            ResetCause::Connection(reason) => format!("connection lost: {reason}"),
        }
    }
}

/// The peer sent GOAWAY (HTTP2.jl `EvtGoaway`).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct GoAway {
    /// The connection.
    pub conn: ConnectionId,
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
    /// One of the connection's [`Timeouts`](crate::Timeouts) ended it:
    /// `Idle` after a graceful GOAWAY NO_ERROR (streams that crossed it were
    /// served), `Handshake` and `Keepalive` after a GOAWAY naming the cause.
    Timeout(crate::Timeout),
}

impl std::fmt::Display for CloseReason {
    /// A sentence: "closed gracefully", "the peer closed the connection
    /// with GOAWAY PROTOCOL_ERROR (...)", the transport's error, ...
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Done => f.write_str("closed gracefully"),
            CloseReason::Error(e) => {
                let who = if e.remote {
                    "the peer closed"
                } else {
                    "we closed"
                };
                write!(f, "{who} the connection with GOAWAY {}", e.code)?;
                if !e.reason.is_empty() {
                    write!(f, " ({})", e.reason)?;
                }
                Ok(())
            }
            CloseReason::Io(e) => f.write_str(e),
            CloseReason::Timeout(t) => write!(f, "timed out: {t}"),
        }
    }
}

/// The connection actor stopped: the last notification of a connection.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Closed {
    /// The connection.
    pub conn: ConnectionId,
    /// Why it stopped.
    pub reason: CloseReason,
    /// The peer's SETTINGS had arrived (RFC 9113 §3.4). False when the
    /// connection ended before the peer said anything in HTTP/2: not an
    /// HTTP/2 peer, a TLS port spoken to in cleartext, a server going down.
    pub peer_settings: bool,
}

/// Any notification: what [`Session::take_evt`](super::Session::take_evt)
/// returns (HTTP2.jl's `Evt*`), one variant per notification type.
#[derive(Debug)]
pub enum Event {
    /// See [`RecvHeaders`].
    RecvHeaders(RecvHeaders),
    /// See [`RecvData`].
    RecvData(RecvData),
    /// See [`RecvTrailers`].
    RecvTrailers(RecvTrailers),
    /// See [`RecvPromise`].
    RecvPromise(RecvPromise),
    /// See [`RecvReset`].
    RecvReset(RecvReset),
    /// See [`GoAway`].
    GoAway(GoAway),
    /// See [`Closed`].
    Closed(Closed),
}

impl Event {
    /// The stream the event is about (`None` for `GoAway` and `Closed`).
    pub fn stream(&self) -> Option<&H2Stream> {
        match self {
            Event::RecvHeaders(m) => Some(&m.stream),
            Event::RecvData(m) => Some(&m.stream),
            Event::RecvTrailers(m) => Some(&m.stream),
            Event::RecvPromise(m) => Some(&m.stream),
            Event::RecvReset(m) => Some(&m.stream),
            Event::GoAway(_) | Event::Closed(_) => None,
        }
    }

    /// The id of the stream the event is about (`None` for `GoAway` and
    /// `Closed`).
    pub fn stream_id(&self) -> Option<StreamId> {
        match self {
            Event::RecvHeaders(m) => Some(m.id),
            Event::RecvData(m) => Some(m.id),
            Event::RecvTrailers(m) => Some(m.id),
            Event::RecvPromise(m) => Some(m.id),
            Event::RecvReset(m) => Some(m.id),
            Event::GoAway(_) | Event::Closed(_) => None,
        }
    }
}
