//! The accept path of one connection: what happens between `accept(2)` and
//! a running [`Connection`] actor, in ONE task spawned per accepted socket
//! on the accepting arbiter:
//!
//! ```text
//! accept ─▶ slot (max_connections) ─▶ spawn ─▶ handshake() ─▶ start()
//!                                     │        (under handshake_timeout)
//!                                     │        Handshake::Start { io, builder } ─▶ Connection actor
//!                                     │        Handshake::Done ─▶ nothing to start (the step answered or closed)
//!                                     └ the slot travels along and is dropped with the connection
//! ```
//!
//! [`handshake`] is the seam for the steps that come before HTTP/2 frames:
//! today it only sets `TCP_NODELAY`; a TLS handshake (ALPN `h2`) and the
//! HTTP/1.1 sniff (preface → prior knowledge; `Upgrade: h2c` → 101 and
//! `skip_preface`; any other HTTP/1.1 → a short answer and
//! [`Handshake::Done`]) plug in there, returning a boxed transport. Their
//! configuration goes into [`AcceptConfig`], which every accept task shares.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::{Shared, Slot};
use crate::actor::connection::Drain;
use crate::actor::{Builder, Subscriber};

/// A byte stream a connection can run over (TCP, TLS over TCP, a rewound
/// stream after the HTTP/1.1 sniff, ...).
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + 'static> Io for T {}

/// The transport a handshake step hands on.
pub(crate) type BoxIo = Box<dyn Io>;

/// What the handshake step made of an accepted socket.
pub(crate) enum Handshake {
    /// Start an HTTP/2 connection over `io`, configured by `builder` (the
    /// listener's; a step may adjust it, e.g. `skip_preface(true)` after an
    /// h2c upgrade).
    Start {
        /// The transport, ready for HTTP/2 frames (or the client preface).
        io: BoxIo,
        /// How to configure the connection.
        builder: Builder,
    },
    /// The step finished with the socket itself (it answered an HTTP/1.1
    /// request, or refused the client): nothing to start.
    #[allow(dead_code)] // the TLS and upgrade steps produce it
    Done,
}

/// Where the subscriber of each new connection comes from (the user's
/// function, called on the accepting arbiter with the peer's address).
pub(crate) type SubscriberFn = dyn Fn(SocketAddr) -> Subscriber + Send + Sync;

/// What every accept task of a listener shares.
pub(crate) struct AcceptConfig {
    /// The connections' configuration (with the listener's counters).
    pub builder: Builder,
    pub subscriber: Arc<SubscriberFn>,
    /// Bound on [`handshake`].
    pub handshake_timeout: Duration,
}

/// The handshake step (the seam: see the module docs). Runs under
/// `handshake_timeout`; an error or the timeout closes the socket and
/// counts in `handshakes_failed`.
async fn handshake(tcp: TcpStream, _peer: SocketAddr, cfg: &AcceptConfig) -> io::Result<Handshake> {
    // The writer coalesces frames already; with Nagle's algorithm a small
    // WINDOW_UPDATE or PING ACK could wait for the peer's delayed ACK.
    tcp.set_nodelay(true)?;
    Ok(Handshake::Start {
        io: Box::new(tcp),
        builder: cfg.builder.clone(),
    })
}

/// The task spawned per accepted socket: handshake, then start.
pub(crate) async fn serve_one(
    tcp: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    cfg: Arc<AcceptConfig>,
    shared: Arc<Shared>,
) {
    let step = tokio::time::timeout(cfg.handshake_timeout, handshake(tcp, peer, &cfg)).await;
    let (io, builder) = match step {
        Ok(Ok(Handshake::Start { io, builder })) => (io, builder),
        Ok(Ok(Handshake::Done)) => return,
        Ok(Err(e)) => {
            shared.handshake_failed();
            tracing::debug!(%peer, error = %e, "handshake failed");
            return;
        }
        Err(_) => {
            shared.handshake_failed();
            tracing::debug!(%peer, timeout = ?cfg.handshake_timeout, "handshake timed out");
            return;
        }
    };
    start(io, builder, peer, slot, &cfg, shared);
}

/// Starts the connection actor on this arbiter and registers it (the
/// registry entry and the slot are dropped with the actor). A connection
/// that starts while the listener drains gets the drain at once.
fn start(
    io: BoxIo,
    builder: Builder,
    peer: SocketAddr,
    mut slot: Slot,
    cfg: &AcceptConfig,
    shared: Arc<Shared>,
) {
    let subscriber = (cfg.subscriber)(peer);
    builder.start_supervised(io, subscriber, move |id, addr| {
        if let Some(grace) = shared.register(id, addr) {
            addr.do_send(Drain(grace));
        }
        slot.id = Some(id);
        Box::new(slot)
    });
}
