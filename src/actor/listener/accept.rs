//! The accept path of one connection: what happens between `accept(2)` and
//! a running [`Connection`] actor, in ONE task spawned per accepted socket
//! on the accepting arbiter:
//!
//! ```text
//! accept ─▶ slot (max_connections) ─▶ spawn ─▶ handshake() ─▶ start()
//!                                     │        (within the transport's handshake_timeout)
//!                                     │        Handshake::Start { io, builder } ─▶ Connection actor
//!                                     │        Handshake::Done ─▶ nothing to start (the step answered or closed)
//!                                     └ the slot travels along and is dropped with the connection
//! ```
//!
//! [`handshake`] holds the steps that come before HTTP/2 frames: it sets
//! `TCP_NODELAY`, then either the TLS handshake (ALPN `h2`, [`TlsServer`])
//! or, on a plain port, the HTTP/1.1 sniff ([`accept_h2c`]: the preface
//! means prior knowledge; `Upgrade: h2c` gets 101 and its request becomes
//! stream 1; any other HTTP/1.1 request is answered there and the step
//! ends with [`Handshake::Done`]). Their configuration is in
//! [`AcceptConfig`], which every accept task shares.
//!
//! [`TlsServer`]: crate::transport::TlsServer
//! [`accept_h2c`]: crate::transport::accept_h2c

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::{Shared, Slot};
use crate::actor::connection::Drain;
use crate::actor::{Builder, Subscriber};
use crate::transport::{accept_h2c, H2cAccepted, H2cError, H2cLimits, H2cUpgrade, TlsServer};

/// A byte stream a connection can run over (TCP, TLS over TCP, a rewound
/// stream after the HTTP/1.1 sniff, ...).
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + 'static> Io for T {}

/// The transport a handshake step hands on.
pub(crate) type BoxIo = Box<dyn Io>;

/// What the handshake step made of an accepted socket.
// Made once per connection and moved once: the size does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Handshake {
    /// Start an HTTP/2 connection over `io`, configured by `builder` (the
    /// listener's).
    Start {
        /// The transport, ready for HTTP/2 frames (or the client preface).
        io: BoxIo,
        /// How to configure the connection.
        builder: Builder,
        /// The HTTP/1.1 request that asked for `Upgrade: h2c` (stream 1).
        upgrade: Option<H2cUpgrade>,
    },
    /// The step finished with the socket itself (it answered an HTTP/1.1
    /// request): nothing to start.
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
    /// `TCP_NOTSENT_LOWAT` for accepted sockets (see
    /// `ListenerBuilder::notsent_lowat`).
    pub notsent_lowat: Option<u32>,
    /// TLS for every connection, if set.
    pub tls: Option<Arc<TlsServer>>,
    /// Plain port: accept the h2c upgrade under these limits (`None`: the
    /// preface only).
    pub h2c: Option<H2cLimits>,
}

/// Sets `TCP_NOTSENT_LOWAT`; a kernel without it keeps its default (the
/// connection works the same, its unsent bytes are just not bounded).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn set_notsent_lowat(tcp: &TcpStream, bytes: u32) {
    if let Err(e) = socket2::SockRef::from(tcp).set_tcp_notsent_lowat(bytes) {
        tracing::debug!(%e, "TCP_NOTSENT_LOWAT not set");
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn set_notsent_lowat(_: &TcpStream, _: u32) {}

/// The handshake step (the seam: see the module docs). Bounded by the
/// transport's own deadline (`TlsServer::handshake_timeout`,
/// `H2cLimits::handshake_timeout`; no timer is added here); an error or
/// the timeout closes the socket and counts in `handshakes_failed`.
async fn handshake(tcp: TcpStream, peer: SocketAddr, cfg: &AcceptConfig) -> io::Result<Handshake> {
    // The writer coalesces frames already; with Nagle's algorithm a small
    // WINDOW_UPDATE or PING ACK could wait for the peer's delayed ACK.
    tcp.set_nodelay(true)?;
    if let Some(n) = cfg.notsent_lowat {
        set_notsent_lowat(&tcp, n);
    }
    let builder = cfg.builder.clone();
    if let Some(tls) = &cfg.tls {
        let io = tls.accept(tcp).await.map_err(io::Error::other)?;
        return Ok(Handshake::Start {
            io: Box::new(io),
            builder,
            upgrade: None,
        });
    }
    let Some(limits) = &cfg.h2c else {
        return Ok(Handshake::Start {
            io: Box::new(tcp),
            builder,
            upgrade: None,
        });
    };
    match accept_h2c(tcp, limits).await {
        Ok(H2cAccepted::PriorKnowledge(io)) => Ok(Handshake::Start {
            io: Box::new(io),
            builder,
            upgrade: None,
        }),
        Ok(H2cAccepted::Upgrade(io, upgrade)) => Ok(Handshake::Start {
            io: Box::new(io),
            builder,
            upgrade: Some(upgrade),
        }),
        Err(H2cError::Refused { status, reason }) => {
            tracing::debug!(%peer, %status, reason, "HTTP/1.1 request answered, not upgraded");
            Ok(Handshake::Done)
        }
        Err(e) => Err(io::Error::other(e)),
    }
}

/// The task spawned per accepted socket: handshake, then start.
pub(crate) async fn serve_one(
    tcp: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    cfg: Arc<AcceptConfig>,
    shared: Arc<Shared>,
) {
    let (io, builder, upgrade) = match handshake(tcp, peer, &cfg).await {
        Ok(Handshake::Start {
            io,
            builder,
            upgrade,
        }) => (io, builder, upgrade),
        Ok(Handshake::Done) => return,
        Err(e) => {
            shared.handshake_failed();
            tracing::debug!(%peer, error = %e, "handshake failed");
            return;
        }
    };
    start(io, builder, upgrade, peer, slot, &cfg, shared);
}

/// Starts the connection actor on this arbiter and registers it (the
/// registry entry and the slot are dropped with the actor). A connection
/// that starts while the listener drains gets the drain at once.
#[allow(clippy::too_many_arguments)]
fn start(
    io: BoxIo,
    builder: Builder,
    upgrade: Option<H2cUpgrade>,
    peer: SocketAddr,
    mut slot: Slot,
    cfg: &AcceptConfig,
    shared: Arc<Shared>,
) {
    let builder = match upgrade {
        None => builder,
        Some(upgrade) => match builder.upgraded(upgrade) {
            Ok(upgraded) => upgraded,
            Err(e) => {
                // Not reachable: `accept_h2c` checked the HTTP2-Settings,
                // and a listener's builder is a server's.
                tracing::debug!(%peer, error = %e, "upgraded connection not started");
                return;
            }
        },
    };
    let subscriber = (cfg.subscriber)(peer);
    builder.start_supervised(io, subscriber, move |id, addr| {
        if let Some(grace) = shared.register(id, addr) {
            addr.do_send(Drain(grace));
        }
        slot.id = Some(id);
        Box::new(slot)
    });
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    /// `ListenerBuilder::notsent_lowat`: the option reaches the socket.
    #[test]
    fn notsent_lowat_is_set_on_the_socket() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let (client, accepted) = tokio::join!(TcpStream::connect(addr), l.accept());
            let (tcp, _) = accepted.unwrap();
            let _client = client.unwrap();
            set_notsent_lowat(&tcp, 16 * 1024);
            let got = socket2::SockRef::from(&tcp).tcp_notsent_lowat().unwrap();
            assert_eq!(got, 16 * 1024);
        });
    }
}
