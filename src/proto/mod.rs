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
//! CONTRACT (skeleton written first so that `proto` and `actor` can be built
//! in parallel): these names and signatures are what `actor` uses.
//! Implementations may add items (and split this file) but not change these.
//!
//! ## Files
//! - `connection.rs`: the state machine (receive path, send path, user actions).
//! - `stream.rs`: stream states (§5.1) and per-stream bookkeeping.
//! - `flow.rs`: [`FlowWindow`], signed windows with checked arithmetic (§6.9).
//! - `settings.rs`: settings in effect on each side, value checks (§6.5.2).
//! - `headers.rs`: §8 message checks and fields <-> `http` types.
//! - `store.rs`: the stream table and the bounded memory of closed streams.
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
//!   never opened is PROTOCOL_ERROR (§5.1.1). A bounded number
//!   (`max_reset_streams`) of closed streams is remembered.
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
//!   [`CHEAP_FRAME_WINDOW`]; peer resets of streams we had not answered
//!   above 2 x MAX_CONCURRENT_STREAMS (at least 100) per 4 x that many
//!   opened streams (rapid reset, CVE-2023-44487).
//! - Receive windows reopen when the user releases at least half of the
//!   window (stream: our INITIAL_WINDOW_SIZE; connection:
//!   `connection_window_size`); padding is released at once; what a stream
//!   held unreleased when it closes goes back to the connection window.
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
pub mod headers;
pub mod settings;
mod store;
pub mod stream;
#[cfg(test)]
mod tests;

pub use connection::{
    Connection, CHEAP_FRAME_WINDOW, MAX_CHEAP_FRAMES, MAX_PENDING_RESETS, MAX_QUEUED_CHUNKS,
};
pub use flow::FlowWindow;
pub use settings::SettingsState;
pub use stream::StreamState;

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
    Request(http::Request<()>),
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
    /// SETTINGS_HEADER_TABLE_SIZE we advertise (decoder table cap).
    pub header_table_size: u32,
    /// SETTINGS_ENABLE_PUSH we advertise (clients; servers always send 0... or omit).
    pub enable_push: bool,
    /// SETTINGS_MAX_CONCURRENT_STREAMS we advertise (peer-initiated streams).
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE we advertise (per-stream receive window).
    pub initial_window_size: u32,
    /// Our connection-level receive window (raised from 65,535 by a
    /// WINDOW_UPDATE on stream 0 right after our SETTINGS).
    pub connection_window_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE we advertise.
    pub max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce.
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
    /// Locally opened streams waiting for headers/slot, reset streams kept to
    /// recognise late frames, and other bookkeeping bounds.
    pub max_reset_streams: usize,
    /// Bound on a field block being assembled from HEADERS + CONTINUATION.
    pub max_header_block_size: usize,
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
        }
    }
}

/// A connection error (RFC 9113 §5.4.1): GOAWAY with `code` has been queued
/// (if `remote` is false) and the connection must close once it is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("connection error {code} ({}): {reason}", if *remote { "from peer" } else { "local" })]
pub struct ConnectionError {
    pub code: ErrorCode,
    pub reason: String,
    /// True when the peer closed the connection with this code.
    pub remote: bool,
}

/// A user action the state machine refuses. The connection is unaffected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("the peer's SETTINGS_MAX_CONCURRENT_STREAMS is reached")]
    StreamLimit,
    #[error("stream ids exhausted")]
    StreamIdsExhausted,
    #[error("stream {0} does not exist or is closed")]
    UnknownStream(StreamId),
    #[error("stream {id}: not allowed in state {state}")]
    InvalidState { id: StreamId, state: &'static str },
    #[error("stream {0}: a higher stream id already sent its headers")]
    StreamIdOrder(StreamId),
    #[error("the peer disabled server push")]
    PushDisabled,
    #[error("only a {0:?} may do this")]
    WrongRole(Role),
    #[error("send buffer of stream {0} is full")]
    SendBufferFull(StreamId),
    #[error("too many pings awaiting acknowledgement")]
    TooManyPings,
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    #[error("connection is going away")]
    GoingAway,
    #[error("connection is closed")]
    Closed,
}

/// What the state machine tells its user.
#[derive(Debug)]
pub enum Event {
    /// A request (server side), or a response (client side; 1xx informational
    /// ones included, each its own event), on `id`.
    Headers {
        id: StreamId,
        head: Head,
        end_stream: bool,
    },
    /// Body bytes on `id`. Their length counts against our receive windows
    /// until given back with [`Connection::release_capacity`] (padding is
    /// given back by the state machine itself).
    Data {
        id: StreamId,
        data: Bytes,
        end_stream: bool,
    },
    /// Trailers (a HEADERS with END_STREAM after the head).
    Trailers { id: StreamId, trailers: HeaderMap },
    /// Client side: the server promised `promised_id` (reserved remote) on `id`.
    Promise {
        id: StreamId,
        promised_id: StreamId,
        request: http::Request<()>,
    },
    /// The stream ended abnormally: reset by the peer (`remote`), or by us
    /// after a stream error (RST_STREAM already queued), or refused by a
    /// GOAWAY whose last stream id is below it (`code` REFUSED_STREAM,
    /// `remote` true: safe to retry on another connection).
    Reset {
        id: StreamId,
        code: ErrorCode,
        remote: bool,
    },
    /// The stream closed normally (both sides sent END_STREAM).
    Closed { id: StreamId },
    /// `len` bytes given to `send_data` on `id` were written to the transmit
    /// buffer (the backpressure signal the user awaits).
    DataSent { id: StreamId, len: usize },
    /// The peer sent GOAWAY.
    GoAway {
        last_stream_id: StreamId,
        code: ErrorCode,
        debug_data: Bytes,
    },
    /// The ACK for one of our PINGs.
    PingAck { payload: [u8; 8] },
    /// The peer's SETTINGS frame was applied (and ACKed).
    RemoteSettings { params: Vec<Setting> },
    /// The peer acknowledged our SETTINGS.
    SettingsAcked,
}
