//! The actors: [`Connection`] (one per HTTP/2 connection: owns the codec, both
//! HPACK contexts via [`crate::proto::Connection`], and the bounded write
//! buffer) and [`Stream`] (one child actor per stream), the messages between
//! them and their users, and [`Session`], the HTTP2.jl-shaped handle for code
//! that is not an actor.
//!
//! How the pieces share work (all on the connection's arbiter thread):
//!
//! ```text
//!  socket ─read─▶ Connection actor (ReadLoop) ─recv_frame─▶ ┌──────────────┐
//!                                                           │ Core:        │
//!  user ─SendData─▶ Stream actor ───── send_data ─────────▶ │ proto, write │
//!                                                           │ buffer,      │
//!  subscriber ◀── RecvHeaders / RecvData / … ◀── events ─── │ stream table │
//!                                                           └──────┬───────┘
//!  socket ◀─ one write per turn ◀─ Writer task (poll_transmit) ◀───┘
//! ```
//!
//! # Backpressure and bounds
//!
//! | what | bound | beyond it |
//! |---|---|---|
//! | write buffer | `Builder::max_write_buffer` (+ one frame) | the writer stops pulling frames from the protocol; DATA stays queued, `SendData` replies stay pending |
//! | DATA queued per stream in the protocol | `Config::max_send_buffer_per_stream` (a `SendData` on an empty queue is always taken) | the `SendData` waits in the stream's queue |
//! | `SendData`/`SendTrailers` waiting per stream | `Builder::max_queued_sends` | `SendError::QueueFull` |
//! | `OpenStream` waiting for a slot (peer's MAX_CONCURRENT_STREAMS) | `Builder::max_pending_open_streams` | `SendError::QueueFull` |
//! | unanswered `Ping`s | `Config::max_pending_pings` | `SendError::QueueFull` |
//! | received DATA not yet handled | the receive windows (`Config::initial_window_size`, `connection_window_size`) | the peer must wait (flow control) |
//! | `Session` events not taken | `session::EVENT_CAPACITY`, then the receive windows | the peer must wait |
//!
//! Receive side: with `auto_release` (the default) a `RecvData` is sent to
//! the subscriber with `send()` and its bytes go back to the windows when
//! the subscriber's handler has run; while one `RecvData` of a stream is with
//! the subscriber, later notifications of that stream wait (in order) in the
//! connection. A slow subscriber therefore slows the peer instead of growing
//! its mailbox. Measured cost against `do_send`: none visible (3 × 64 MiB
//! downloads: 0.07–0.10 s of client CPU either way; the DATA frames are 16 KiB).
//! With `auto_release(false)` the subscriber sends `ReleaseCapacity` (or
//! `ReleaseStreamCapacity` to the connection) itself.
//!
//! CONTRACT (written first so the actors, the examples and the interop tests
//! can be built in parallel): the message types in `messages.rs` and the
//! signatures here are what examples and tests use.

mod messages;
pub use messages::*;

mod core;
mod reply;
mod runner;
pub use reply::Reply;
mod writer;

mod connection;
pub use connection::{Builder, Connection};

mod stream;
#[doc(hidden)]
pub use stream::PanicForTest;
pub use stream::Stream;

pub mod session;
pub use session::Session;

pub mod listener;
pub use listener::Listener;
