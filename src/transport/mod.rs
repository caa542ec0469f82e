//! The transport layer: where byte streams meet frames.
//!
//! [`crate::frame`] is pure (typed frames, decoding from and encoding into
//! byte buffers) and [`crate::proto`] is a state machine without I/O; this
//! module holds what touches the I/O ecosystem on the way to a socket.
//! Today that is [`FrameCodec`], the tokio-util `Decoder`/`Encoder` that
//! cuts a read buffer into frames (checking the client preface on a
//! server, RFC 9113 §3.4) and writes frames out, and [`tls`]: HTTP/2 over
//! TLS with ALPN "h2" (§3.2), [`TlsServer`] and [`TlsClient`].
//!
//! ## Files
//! - `codec.rs`: [`FrameCodec`] and [`CodecError`].
//! - `tls.rs`: [`TlsServer`], [`TlsClient`], [`TlsError`] (rustls, `ring`).

mod codec;
pub mod tls;

pub use codec::{CodecError, FrameCodec};
pub use tls::{TlsClient, TlsError, TlsServer};
