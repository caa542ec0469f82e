//! The transport layer: where byte streams meet frames.
//!
//! [`crate::frame`] is pure (typed frames, decoding from and encoding into
//! byte buffers) and [`crate::proto`] is a state machine without I/O; this
//! module holds what touches the I/O ecosystem on the way to a socket.
//! Today that is [`FrameCodec`], the tokio-util `Decoder`/`Encoder` that
//! cuts a read buffer into frames (checking the client preface on a
//! server, RFC 9113 §3.4) and writes frames out. TLS (with ALPN "h2",
//! §3.2) and the HTTP/1.1 `Upgrade: h2c` handshake will land here later.
//!
//! ## Files
//! - `codec.rs`: [`FrameCodec`] and [`CodecError`].

mod codec;

pub use codec::{CodecError, FrameCodec};
