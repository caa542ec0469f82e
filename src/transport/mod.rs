//! The transport layer: where byte streams meet frames.
//!
//! [`crate::frame`] is pure (typed frames, decoding from and encoding into
//! byte buffers) and `proto` (internal) is a state machine without I/O; this
//! module holds what touches the I/O ecosystem on the way to a socket:
//! [`FrameCodec`], the tokio-util `Decoder`/`Encoder` that cuts a read
//! buffer into frames (checking the client preface on a server, RFC 9113
//! §3.4) and writes frames out; [`tls`], HTTP/2 over TLS with ALPN "h2"
//! (§3.2), [`TlsServer`] and [`TlsClient`]; and the HTTP/1.1
//! `Upgrade: h2c` handshake beside prior knowledge on one plain port
//! ([`accept_h2c`], [`upgrade_h2c`]).
//!
//! ## Files
//! - `codec.rs`: [`FrameCodec`] and [`CodecError`].
//! - `tls.rs`: [`TlsServer`], [`TlsClient`], [`TlsError`] (rustls, `ring`).
//! - `verify.rs`: the server certificate check of a CA file (a self-signed
//!   certificate that is its own trust anchor) and the words of its errors.
//! - `upgrade.rs`: the h2c upgrade (RFC 7540 §3.2), server and client side.

mod codec;
pub mod tls;
pub mod upgrade;
mod verify;

pub use codec::{CodecError, FrameCodec};

/// The default deadline of every transport handshake, the steps before
/// HTTP/2 frames: a TLS handshake ([`TlsServer::handshake_timeout`],
/// [`TlsClient::handshake_timeout`]) and the HTTP/1.1 `Upgrade: h2c`
/// exchange ([`H2cLimits::handshake_timeout`]). 10 s. Each is set on the
/// transport and holds wherever it runs (a [`Listener`](crate::Listener),
/// a [`Client`](crate::client::Client), your own accept loop); the
/// HTTP/2 handshake after it has its own,
/// [`Timeouts::handshake`](crate::Timeouts::handshake).
pub const DEFAULT_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
pub use tls::{TlsClient, TlsError, TlsServer};
pub use upgrade::{accept_h2c, upgrade_h2c, H2cAccepted, H2cError, H2cLimits, H2cUpgrade, Rewind};
