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

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;

use crate::frame::{ErrorCode, Frame, Setting, StreamId};

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

/// The protocol state of one connection.
#[derive(Debug)]
pub struct Connection {
    _private: (),
}

impl Connection {
    /// A new connection. A client queues the preface and its SETTINGS; a
    /// server queues its SETTINGS (the preface is checked by the codec).
    pub fn new(role: Role, config: Config) -> Self {
        let _ = (role, config);
        todo!()
    }

    /// Our role.
    pub fn role(&self) -> Role {
        todo!()
    }

    /// Processes one frame from the peer. On `Err` the connection is over:
    /// GOAWAY is queued (flush `poll_transmit`, then close the socket).
    pub fn recv_frame(&mut self, frame: Frame) -> Result<(), ConnectionError> {
        let _ = frame;
        todo!()
    }

    /// Processes a malformed frame reported by the codec (`frame::Error`):
    /// a stream error queues RST_STREAM, a connection error GOAWAY.
    pub fn recv_malformed(&mut self, err: crate::frame::Error) -> Result<(), ConnectionError> {
        let _ = err;
        todo!()
    }

    /// Appends bytes to write to `dst` until it holds at least `limit` bytes
    /// or nothing is left to send: control frames first, then HEADERS, then
    /// DATA across streams in turn, within the flow-control windows.
    pub fn poll_transmit(&mut self, dst: &mut BytesMut, limit: usize) {
        let _ = (dst, limit);
        todo!()
    }

    /// True when `poll_transmit` has something to write.
    pub fn wants_transmit(&self) -> bool {
        todo!()
    }

    /// The next event for the user.
    pub fn poll_event(&mut self) -> Option<Event> {
        todo!()
    }

    /// When `handle_timeout` must next be called (the SETTINGS ACK deadline).
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }

    /// Fires expired timers; a missing SETTINGS ACK is a connection error
    /// SETTINGS_TIMEOUT.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnectionError> {
        let _ = now;
        todo!()
    }

    /// The frame size our codec must accept now (our acknowledged
    /// SETTINGS_MAX_FRAME_SIZE).
    pub fn local_max_frame_size(&self) -> u32 {
        todo!()
    }

    /// Client: reserves the next stream id. `Err(StreamLimit)` while the
    /// peer's SETTINGS_MAX_CONCURRENT_STREAMS is reached (queue and retry when
    /// [`Connection::can_open_stream`] says so).
    pub fn open_stream(&mut self) -> Result<StreamId, UserError> {
        todo!()
    }

    /// True when `open_stream` would succeed.
    pub fn can_open_stream(&self) -> bool {
        todo!()
    }

    /// Sends a request (client, on an id from `open_stream`) or a response
    /// (server; 1xx responses may precede the final one). Checks RFC 9113 §8
    /// (pseudo-headers, no connection-specific fields, `te: trailers` only).
    pub fn send_headers(
        &mut self,
        id: StreamId,
        head: Head,
        end_stream: bool,
    ) -> Result<(), UserError> {
        let _ = (id, head, end_stream);
        todo!()
    }

    /// Queues body bytes; they go out as DATA frames (split to the peer's
    /// MAX_FRAME_SIZE) as the windows allow, and `Event::DataSent` reports them.
    pub fn send_data(
        &mut self,
        id: StreamId,
        data: Bytes,
        end_stream: bool,
    ) -> Result<(), UserError> {
        let _ = (id, data, end_stream);
        todo!()
    }

    /// Queues trailers (after the queued data), ending the stream.
    pub fn send_trailers(&mut self, id: StreamId, trailers: HeaderMap) -> Result<(), UserError> {
        let _ = (id, trailers);
        todo!()
    }

    /// Server: promises a pushed response on `id` (RFC 9113 §8.4). Returns the
    /// promised (even) stream id, on which the server then sends the response.
    pub fn push_promise(
        &mut self,
        id: StreamId,
        request: http::Request<()>,
    ) -> Result<StreamId, UserError> {
        let _ = (id, request);
        todo!()
    }

    /// Resets a stream (RST_STREAM with `code`), dropping its queued data.
    pub fn reset(&mut self, id: StreamId, code: ErrorCode) -> Result<(), UserError> {
        let _ = (id, code);
        todo!()
    }

    /// The user consumed `n` bytes of DATA on `id`: reopen our receive windows
    /// (WINDOW_UPDATE on the stream and on the connection, batched).
    pub fn release_capacity(&mut self, id: StreamId, n: usize) {
        let _ = (id, n);
        todo!()
    }

    /// Sends a PING; `Event::PingAck` reports the answer.
    pub fn ping(&mut self, payload: [u8; 8]) -> Result<(), UserError> {
        let _ = payload;
        todo!()
    }

    /// Sends new local settings (applied when the peer ACKs them).
    pub fn update_settings(&mut self, params: Vec<Setting>) -> Result<(), UserError> {
        let _ = params;
        todo!()
    }

    /// Graceful shutdown: GOAWAY(code) with the last peer stream processed;
    /// no new streams; open ones finish. See [`Connection::is_finished`].
    pub fn go_away(&mut self, code: ErrorCode, debug_data: Bytes) {
        let _ = (code, debug_data);
        todo!()
    }

    /// True when the connection has nothing left to do: a GOAWAY was sent or
    /// received and no stream is open, or a connection error occurred. Write
    /// what `poll_transmit` still has, then close.
    pub fn is_finished(&self) -> bool {
        todo!()
    }

    /// Number of open streams (both directions).
    pub fn active_streams(&self) -> usize {
        todo!()
    }
}
