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
//! CONTRACT (written first so the actors, the examples and the interop tests
//! can be built in parallel): the message types in `messages.rs` and the
//! signatures here are what examples and tests use.

mod messages;
pub use messages::*;

mod core;
mod reply;
pub use reply::Reply;
mod writer;

mod connection;
pub use connection::{Builder, Connection};

mod stream;
pub use stream::Stream;

pub mod session;
pub use session::Session;

pub mod listener;
pub use listener::Listener;
