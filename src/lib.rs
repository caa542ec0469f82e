//! # h2actor
//!
//! HTTP/2 (RFC 9113, HPACK RFC 7541) where every connection is an actix
//! actor ([`Connection`]) and every stream is a child actor ([`H2Stream`]:
//! a handle with `do_send`/`send` like an actor's `Addr`, whose messages the
//! connection handles one at a time, in order; no task or mailbox per stream).
//! You send a stream [`SendHeaders`], [`SendData`], [`SendMessage`],
//! [`SendTrailers`] or [`Promise`]; a [`Subscriber`] actor of yours receives
//! [`RecvHeaders`], [`RecvData`], [`RecvTrailers`], [`RecvPromise`],
//! [`RecvReset`], [`GoAway`] and [`Closed`], each carrying its stream's
//! handle and its connection's [`ConnectionId`]. Code that is not an actor
//! uses [`Session`], the shape of the Julia package HTTP2.jl: `put_act`,
//! `take_evt`, in the same vocabulary.
//!
//! One `use` brings the 26 names a server or a client touches ([`prelude`]),
//! none of them clashing with `actix::prelude::*`; the rest (`Error`,
//! `Session`, `StreamIo`, TLS, priorities) are at the crate root:
//!
//! ```
//! use actix::prelude::*;
//! use h2actor::prelude::*;
//! ```
//!
//! # A server and a client
//!
//! The server answers every request with `hello world`; the client sends
//! one GET and prints what comes back. They talk over an in-memory pipe
//! here; `examples/server.rs` and `examples/client.rs` are the same over
//! TCP (`tokio::net::TcpStream` in place of the pipe, or [`Listener`] for
//! many connections on all cores).
//!
//! ```
//! use actix::prelude::*;
//! use h2actor::prelude::*;
//!
//! /// Answers every request. Handling `RecvHeaders` is enough: the other
//! /// notifications take their defaults (see `Subscriber`).
//! struct Hello;
//! impl Actor for Hello {
//!     type Context = Context<Self>;
//! }
//! impl Handler<RecvHeaders> for Hello {
//!     type Result = ();
//!     fn handle(&mut self, req: RecvHeaders, _: &mut Context<Self>) {
//!         let response = http::Response::new(());
//!         req.stream.do_send(SendMessage::new(response).body("hello world\n"));
//!     }
//! }
//!
//! /// Collects one response and hands it over when its body ends.
//! struct Collect {
//!     body: Vec<u8>,
//!     done: Option<tokio::sync::oneshot::Sender<(http::StatusCode, Vec<u8>)>>,
//!     status: http::StatusCode,
//! }
//! impl Actor for Collect {
//!     type Context = Context<Self>;
//! }
//! impl Handler<RecvHeaders> for Collect {
//!     type Result = ();
//!     fn handle(&mut self, msg: RecvHeaders, _: &mut Context<Self>) {
//!         if let Head::Response(r) = msg.head {
//!             self.status = r.status();
//!         }
//!     }
//! }
//! impl Handler<RecvData> for Collect {
//!     type Result = ();
//!     fn handle(&mut self, msg: RecvData, _: &mut Context<Self>) {
//!         self.body.extend_from_slice(&msg.data);
//!         if msg.end_stream {
//!             if let Some(done) = self.done.take() {
//!                 let _ = done.send((self.status, std::mem::take(&mut self.body)));
//!             }
//!         }
//!     }
//! }
//!
//! #[actix_rt::main]
//! async fn main() {
//!     let (server_io, client_io) = tokio::io::duplex(64 * 1024);
//!     let _server = Connection::builder(Role::Server)
//!         .start(server_io, Subscriber::new(&Hello.start()));
//!
//!     let (tx, rx) = tokio::sync::oneshot::channel();
//!     let collect = Collect { body: Vec::new(), done: Some(tx), status: http::StatusCode::OK }.start();
//!     let client = Connection::builder(Role::Client)
//!         .start(client_io, Subscriber::new(&collect).data(&collect));
//!     let request = http::Request::get("http://localhost/").body(()).unwrap();
//!     client.send(SendRequest::new(request)).await.unwrap().unwrap();
//!     let (status, body) = rx.await.unwrap();
//!     assert_eq!(status, 200);
//!     assert_eq!(body, b"hello world\n");
//!     client.do_send(Close { code: ErrorCode::NO_ERROR });
//! }
//! ```
//!
//! The same with [`Session`] is in its docs.
//!
//! # Performance
//!
//! A small request costs the server about five short-lived allocations
//! (the `http` heads, the stream's entry, the connection's mailbox
//! envelope), so the global allocator still matters: the example server
//! sets mimalloc, which measured 1.44x more requests per CPU-second than
//! glibc's malloc when a request cost twenty (`BENCHMARKS.md` in the
//! repository). The library itself picks no allocator; in your
//! binary it is one line:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
//! ```
//!
//! (The example server goes one step further with a small wrapper over
//! `libmimalloc-sys`, `examples/shared/natural_mimalloc.rs` in the
//! repository: the `mimalloc` crate sends every allocation through
//! mimalloc's aligned entry points, which over-allocate most sizes once a
//! page runs out; the wrapper measured 4% fewer instructions per request.)
//!
//! DATA payloads of 2 KiB and more are written to the socket from your
//! `Bytes` without a copy (vectored writes from the connection's write queue):
//! hand bodies over as `Bytes` you already hold (`Bytes::from_static`,
//! `Bytes::from(vec)`), not as slices to copy.
//!
//! Receiving over a long round trip: a stream receives at most one window
//! per round trip (1 MiB by default: 25 MiB/s at 40 ms). With
//! [`Config::adaptive_window`] the windows grow to what the link carries,
//! measured with PINGs (8x faster 256 MiB uploads at 40 ms in
//! `benches/bdp.rs`):
//!
//! ```
//! use h2actor::{Config, Connection, Role};
//!
//! let builder = Connection::builder(Role::Server).config(Config {
//!     adaptive_window: Some(64 << 20), // grow up to 64 MiB
//!     ..Config::default()
//! });
//! # let _ = builder;
//! ```
//!
//! # Modules
//!
//! | module | owns |
//! |---|---|
//! | [`actor`] | the `Connection` and `H2Stream` actors, the messages, `Session`, `Listener` |
//! | [`frame`] | typed frames (RFC 9113 §4, §6): decode and encode over bytes, no I/O |
//! | [`hpack`] | header compression (RFC 7541): encoder and decoder contexts |
//! | [`transport`] | where byte streams meet frames: the frame codec; TLS with ALPN `h2` ([`TlsServer`], [`TlsClient`]); the HTTP/1.1 `Upgrade: h2c` handshake beside prior knowledge |
//!
//! The protocol itself is a state machine without I/O (module `proto`,
//! internal: not part of the API; the `unstable` feature makes it and the
//! frame and HPACK internals public, for tests, benches and fuzzing).
#![warn(missing_docs)]

pub mod actor;
pub mod client;
pub mod frame;
pub mod hpack;
mod log_limit;
pub mod priority;
#[cfg(feature = "unstable")]
pub mod proto;
// Without `unstable`, what only tests, benches and fuzzers use is unused.
#[cfg(not(feature = "unstable"))]
#[allow(dead_code)]
mod proto;
pub mod server;
pub mod transport;

pub use actor::*;
pub use client::{request, request_with};
pub use frame::{ErrorCode, Setting, StreamId};
pub use priority::Priority;
pub use proto::{
    Config, ConnectionError, Head, Keepalive, Protocol, Role, Timeout, Timeouts, UserError,
};
pub use server::serve;
pub use transport::{H2cAccepted, H2cError, H2cLimits, H2cUpgrade};
pub use transport::{TlsClient, TlsError, TlsServer};

/// The names a server or a client touches, in one `use`, none of them
/// clashing with `actix::prelude::*` (no `Error`, `Event` or `Builder`:
/// write `h2actor::Error` where a reply's error is named). Twenty-six:
///
/// - the actors and their start: [`Connection`], [`H2Stream`],
///   [`Subscriber`], [`Listener`], [`Role`], [`Config`];
/// - what you send a stream or a connection: [`SendHeaders`], [`SendData`],
///   [`SendMessage`], [`SendTrailers`], [`SendRequest`], [`OpenStream`],
///   [`Promise`], [`Reset`], [`Close`];
/// - what your subscriber receives: [`RecvHeaders`], [`RecvData`],
///   [`RecvTrailers`], [`RecvPromise`], [`RecvReset`], [`GoAway`],
///   [`Closed`];
/// - the words they use: [`Head`], [`ConnectionId`], [`ErrorCode`],
///   [`StreamId`].
///
/// Everything else is at the crate root (`h2actor::Session`,
/// `h2actor::StreamIo`, `h2actor::TlsServer`, `h2actor::Priority`...).
pub mod prelude {
    pub use crate::actor::{
        Close, Closed, Connection, ConnectionId, GoAway, H2Stream, Listener, OpenStream, Promise,
        RecvData, RecvHeaders, RecvPromise, RecvReset, RecvTrailers, Reset, SendData, SendHeaders,
        SendMessage, SendRequest, SendTrailers, Subscriber,
    };
    pub use crate::frame::{ErrorCode, StreamId};
    pub use crate::proto::{Config, Head, Role};
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
