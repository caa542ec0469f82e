//! The actors: [`Connection`] (one per HTTP/2 connection: owns the codec,
//! both HPACK contexts via the protocol state machine, and the bounded write
//! queue, whose large DATA payloads are the user's own `Bytes`) and [`H2Stream`] (the handle of one stream, a child actor in the user's model that costs no task or mailbox of its own), the messages
//! between them and their users, [`Session`] (the HTTP2.jl-shaped handle for
//! code that is not an actor) and [`Listener`] (many connections on many
//! cores).
//!
//! How the pieces share work (all on the connection's arbiter thread):
//!
//! ```text
//!  socket ─read─▶ Connection actor (driver) ─recv_frame──▶ ┌──────────────┐
//!                                                           │ Core:        │
//!  user ─SendData─▶ H2Stream ─▶ Connection's mailbox ──────▶ │ proto, write │
//!  Session::put_act ─▶ Connection's mailbox ──────────────▶ │ buffer,      │
//!  subscriber ◀── RecvHeaders / RecvData / … ◀── events ─── │ stream table │
//!  Session::take_evt ◀── event queue ◀──────────────────────│              │
//!                                                           └──────┬───────┘
//!  socket ◀─ one writev per turn ◀─ its driver (WriteQueue) ◀──────┘
//! ```
//!
//! # Backpressure and bounds
//!
//! | what | bound | beyond it |
//! |---|---|---|
//! | write buffer | `Builder::max_write_buffer` (+ one frame) | the writer stops pulling frames from the protocol; DATA stays queued, `SendData` replies stay pending |
//! | DATA queued per stream in the protocol | `Config::max_send_buffer_per_stream` (a `SendData` on an empty queue is always taken) | the `SendData` waits in the stream's queue |
//! | `SendData`/`SendTrailers` waiting per stream | `Builder::max_queued_sends` | `Error::QueueFull` |
//! | `OpenStream`/`SendRequest` waiting for a slot (peer's MAX_CONCURRENT_STREAMS) | `Builder::max_pending_open_streams` | `Error::QueueFull` |
//! | unanswered `Ping`s | `Config::max_pending_pings` | `Error::QueueFull` |
//! | received DATA not yet handled (or not taken from a `Session`) | the receive windows (`Config::initial_window_size`, `connection_window_size`) | the peer must wait (flow control) |
//! | time a stream's DATA may wait for a shut send window | `Timeouts::stalled_stream` (30 s) | RST_STREAM CANCEL, its DATA freed, pending `SendData` fail with `Error::Reset` |
//! | time without streams, a silent peer, no preface | `Timeouts::idle` (60 s), `keepalive` (30 s + 20 s), `handshake` (10 s) | GOAWAY and close (see [`Builder`]) |
//!
//! Receive side: with `auto_release` (the default) a `RecvData` is sent to
//! the subscriber with `send()` and its bytes go back to the windows when
//! the subscriber's handler has run; while one `RecvData` of a stream is with
//! the subscriber, later notifications of that stream wait (in order) in the
//! connection. A slow subscriber therefore slows the peer instead of growing
//! its mailbox. With `auto_release(false)` the subscriber sends
//! `ReleaseCapacity` itself.
//!
//! A stream as a byte pipe: [`StreamIo`] (tokio's `AsyncRead +
//! AsyncWrite`, e.g. a WebSocket over an extended CONNECT, RFC 8441) keeps
//! these bounds: at most two received DATA frames wait in it beyond the
//! windows, and one write of at most 64 KiB is in flight.

mod messages;
mod notifications;
pub use messages::*;

mod core;
mod reply;
pub use reply::Reply;
/// I/O buffers held only while a connection is busy.
mod bufpool;
mod writer;

mod connection;
pub use connection::{Builder, Connection};
pub(crate) use core::{EventQueue, Item};

mod stream;
pub use stream::{H2Stream, OnStream, StreamRequest};

mod stream_io;
#[cfg(feature = "test-hooks")]
#[doc(hidden)]
pub use stream::PanicForTest;
pub use stream_io::StreamIo;

pub mod session;
pub use session::{Action, Session};

pub mod listener;
pub use listener::{Listener, ListenerBuilder, ListenerStats, ShutdownReport};
