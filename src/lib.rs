//! # h2actor
//!
//! HTTP/2 (RFC 9113, HPACK RFC 7541) where every connection is an actix actor
//! and every stream is a child actor.
//!
//! | module | owns |
//! |---|---|
//! | [`frame`] | typed frames, decode/encode (pure, no I/O) |
//! | [`hpack`] | header compression contexts |
//! | [`proto`] | the protocol state machine, without I/O |
//! | [`transport`] | byte streams meet frames: the `FrameCodec` |
//! | [`actor`] | the `Connection` and `Stream` actors, messages, `Session`, `Listener` |
//!
//! # Quick start
//!
//! The API is the one of the Julia package HTTP2.jl: make a connection over
//! any byte stream, put actions, take events. Below, HTTP2.jl's server and
//! client examples ported twice: first with [`actor::Session`] (plain async
//! code), then with actors. Each runs a client and a server over an
//! in-memory `tokio::io::duplex` pipe; with TCP, pass a
//! `tokio::net::TcpStream` instead (see `examples/server.rs`).
//!
//! ## With `Session` (HTTP2.jl's `put_act!` / `take_evt!`)
//!
//! ```
//! use bytes::Bytes;
//! use h2actor::actor::session::{Action, Event};
//! use h2actor::actor::Session;
//! use h2actor::proto::Config;
//! use h2actor::{Head, Role};
//!
//! #[actix_rt::main]
//! async fn main() {
//!     let (server_io, client_io) = tokio::io::duplex(64 * 1024);
//!
//!     // Server: take a request, answer with a head and a body.
//!     let mut server = Session::new(server_io, Role::Server, Config::default());
//!     actix_rt::spawn(async move {
//!         while let Some(evt) = server.take_evt().await {
//!             if let Event::RecvHeaders { id, .. } = evt {
//!                 let head = Head::Response(http::Response::new(()));
//!                 server.put_act(Action::SendHeaders { id, head, end_stream: false });
//!                 let data = Bytes::from_static(b"hello world\n");
//!                 server.put_act(Action::SendData { id, data, end_stream: true });
//!             }
//!         }
//!     });
//!
//!     // Client: one GET, then take the response events.
//!     let mut client = Session::new(client_io, Role::Client, Config::default());
//!     let id = client.next_free_stream_identifier().await.unwrap();
//!     let request = http::Request::get("http://localhost/").body(()).unwrap();
//!     client.put_act(Action::SendHeaders { id, head: request.into(), end_stream: true });
//!     let mut body = Vec::new();
//!     while let Some(evt) = client.take_evt().await {
//!         match evt {
//!             Event::RecvHeaders { head: Head::Response(r), .. } => assert_eq!(r.status(), 200),
//!             Event::RecvData { data, end_stream, .. } => {
//!                 body.extend_from_slice(&data);
//!                 if end_stream {
//!                     break;
//!                 }
//!             }
//!             _ => {}
//!         }
//!     }
//!     assert_eq!(body, b"hello world\n");
//!     client.close();
//! }
//! ```
//!
//! ## With actors
//!
//! A subscriber is any actor that handles the notifications
//! ([`actor::RecvHeaders`], [`actor::RecvData`], …). Each stream is an
//! `Addr<`[`actor::Stream`]`>` to which you send [`actor::SendHeaders`],
//! [`actor::SendData`] (its reply resolves when the bytes are inside the
//! peer's flow-control window: await it for backpressure), and so on.
//!
//! ```
//! use actix::prelude::*;
//! use bytes::Bytes;
//! use h2actor::actor::*;
//! use h2actor::{Head, Role};
//!
//! /// Answers every request with "hello world".
//! struct Hello;
//! impl Actor for Hello {
//!     type Context = Context<Self>;
//! }
//! impl Handler<RecvHeaders> for Hello {
//!     type Result = ();
//!     fn handle(&mut self, msg: RecvHeaders, _: &mut Context<Self>) {
//!         let head = Head::Response(http::Response::new(()));
//!         msg.stream.do_send(SendHeaders { head, end_stream: false });
//!         let data = Bytes::from_static(b"hello world\n");
//!         msg.stream.do_send(SendData { data, end_stream: true });
//!     }
//! }
//!
//! /// Prints responses; forwards the body's end to a channel.
//! struct Printer(tokio::sync::mpsc::UnboundedSender<Bytes>);
//! impl Actor for Printer {
//!     type Context = Context<Self>;
//! }
//! impl Handler<RecvHeaders> for Printer {
//!     type Result = ();
//!     fn handle(&mut self, msg: RecvHeaders, _: &mut Context<Self>) {
//!         if let Head::Response(r) = msg.head {
//!             println!("stream {}: {}", msg.id, r.status());
//!         }
//!     }
//! }
//! impl Handler<RecvData> for Printer {
//!     type Result = ();
//!     fn handle(&mut self, msg: RecvData, _: &mut Context<Self>) {
//!         let _ = self.0.send(msg.data);
//!     }
//! }
//! // The other notifications are not used here.
//! macro_rules! ignore {
//!     ($($a:ty: $($m:ty),*;)*) => {$($(
//!         impl Handler<$m> for $a {
//!             type Result = ();
//!             fn handle(&mut self, _: $m, _: &mut Context<Self>) {}
//!         }
//!     )*)*};
//! }
//! ignore! {
//!     Hello: RecvData, RecvTrailers, RecvPromise, RecvReset, GoAway, Closed;
//!     Printer: RecvTrailers, RecvPromise, RecvReset, GoAway, Closed;
//! }
//!
//! #[actix_rt::main]
//! async fn main() {
//!     let (server_io, client_io) = tokio::io::duplex(64 * 1024);
//!     let server = Connection::builder(Role::Server)
//!         .start(server_io, Subscriber::new(&Hello.start()));
//!
//!     let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
//!     let client = Connection::builder(Role::Client)
//!         .start(client_io, Subscriber::new(&Printer(tx).start()));
//!     let opened = client.send(OpenStream::default()).await.unwrap().unwrap();
//!     let request = http::Request::get("http://localhost/").body(()).unwrap();
//!     opened
//!         .stream
//!         .send(SendHeaders { head: request.into(), end_stream: true })
//!         .await
//!         .unwrap()
//!         .unwrap();
//!     assert_eq!(rx.recv().await.unwrap(), "hello world\n");
//!     client.do_send(Close { code: h2actor::ErrorCode::NO_ERROR });
//!     let _ = server;
//! }
//! ```
//!
//! Many connections on many cores: [`actor::Listener`] binds a socket and
//! runs one actix arbiter per thread, each accepting and starting
//! [`actor::Connection`] actors.
#![warn(missing_docs)]

pub mod actor;
pub mod frame;
pub mod hpack;
pub mod proto;
pub mod transport;

pub use frame::{ErrorCode, StreamId};
pub use proto::{Head, Role};
