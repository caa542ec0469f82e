//! `Listener`: accepts TCP connections on several threads, one actix
//! [`Arbiter`] per thread, and starts a [`Connection`](super::Connection) actor for each.
//!
//! The socket is bound with `tokio::net::TcpSocket` (SO_REUSEADDR, listen
//! backlog 1024: the default backlog of 128 overflowed here with 256
//! simultaneous connects) and shared by all arbiters: each one waits in
//! `accept` on the same listening socket and the kernel hands every new
//! connection to one of them. A connection and its streams then live on
//! the arbiter that accepted it.
//!
//! ```no_run
//! # use h2actor::actor::{Connection, Listener, Subscriber};
//! # use h2actor::Role;
//! # fn subscriber_for(_: std::net::SocketAddr) -> Subscriber { unimplemented!() }
//! # #[actix_rt::main] async fn main() -> std::io::Result<()> {
//! let addr = "127.0.0.1:8080".parse().unwrap();
//! // `subscriber_for` runs on the accepting arbiter: start the handler
//! // actor there (e.g. `Handler.start()`) and return its `Subscriber`.
//! let listener = Listener::bind(addr, 4, Connection::builder(Role::Server), subscriber_for)?;
//! println!("listening on {}", listener.local_addr());
//! # Ok(()) }
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use actix::prelude::*;
use tokio::net::TcpSocket;

use super::{Builder, Subscriber};
use crate::transport::TlsServer;

/// Listen backlog (see the module docs).
pub(crate) const BACKLOG: u32 = 1024;

/// A multi-threaded acceptor. Dropping it stops its arbiters (and with them
/// the connections they run).
pub struct Listener {
    local_addr: SocketAddr,
    arbiters: Vec<Arbiter>,
}

impl Listener {
    /// Binds `addr` and starts `threads` arbiters (at least one) accepting
    /// on it. For every connection, `subscriber` is called on the accepting
    /// arbiter with the peer's address and returns where that connection's
    /// notifications go. Must be called inside an actix system.
    pub fn bind<F>(
        addr: SocketAddr,
        threads: usize,
        builder: Builder,
        subscriber: F,
    ) -> io::Result<Listener>
    where
        F: Fn(SocketAddr) -> Subscriber + Send + Sync + 'static,
    {
        Self::bind_with(addr, threads, builder, None, subscriber)
    }

    /// As [`bind`](Self::bind), serving HTTP/2 over TLS: every accepted
    /// socket first goes through `tls`'s handshake (ALPN `h2`, under its
    /// handshake deadline) in a task of its own, so a slow client never
    /// holds up accepting; a refused or failed handshake is logged and
    /// closed, and `subscriber` is called only for connections that made it.
    pub fn bind_tls<F>(
        addr: SocketAddr,
        threads: usize,
        builder: Builder,
        tls: Arc<TlsServer>,
        subscriber: F,
    ) -> io::Result<Listener>
    where
        F: Fn(SocketAddr) -> Subscriber + Send + Sync + 'static,
    {
        Self::bind_with(addr, threads, builder, Some(tls), subscriber)
    }

    fn bind_with<F>(
        addr: SocketAddr,
        threads: usize,
        builder: Builder,
        tls: Option<Arc<TlsServer>>,
        subscriber: F,
    ) -> io::Result<Listener>
    where
        F: Fn(SocketAddr) -> Subscriber + Send + Sync + 'static,
    {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        let listener = socket.listen(BACKLOG)?;
        let local_addr = listener.local_addr()?;
        let std_listener = listener.into_std()?;
        let subscriber = Arc::new(subscriber);
        let mut arbiters = Vec::new();
        for _ in 0..threads.max(1) {
            let l = std_listener.try_clone()?;
            let builder = builder.clone();
            let subscriber = subscriber.clone();
            let tls = tls.clone();
            let arbiter = Arbiter::new();
            arbiter.spawn(async move {
                let l = match tokio::net::TcpListener::from_std(l) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!(error = %e, "listener: cannot register the socket");
                        return;
                    }
                };
                loop {
                    match l.accept().await {
                        Ok((io, peer)) => {
                            let _ = io.set_nodelay(true);
                            match &tls {
                                None => {
                                    let sub = subscriber(peer);
                                    builder.clone().start(io, sub);
                                }
                                Some(tls) => {
                                    let (tls, builder) = (tls.clone(), builder.clone());
                                    let subscriber = subscriber.clone();
                                    actix::spawn(async move {
                                        let sub = move || subscriber(peer);
                                        start_tls(&tls, builder, io, peer, sub).await;
                                    });
                                }
                            }
                        }
                        Err(e) => {
                            // EMFILE and the like: wait a little, go on.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        }
                    }
                }
            });
            arbiters.push(arbiter);
        }
        Ok(Listener {
            local_addr,
            arbiters,
        })
    }

    /// The bound address (the port chosen when binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the arbiters (their connections are dropped without GOAWAY).
    pub fn stop(self) {}
}

/// The TLS step of one accepted connection (run in a task of its own): the
/// handshake under `tls`'s deadline, then the connection actor on the
/// current arbiter, its subscriber made by `subscriber` only then. A refused
/// or failed handshake is logged and the socket dropped.
pub(crate) async fn start_tls<IO>(
    tls: &TlsServer,
    builder: Builder,
    io: IO,
    peer: SocketAddr,
    subscriber: impl FnOnce() -> Subscriber,
) -> Option<Addr<super::Connection>>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
{
    match tls.accept(io).await {
        Ok(stream) => Some(builder.start(stream, subscriber())),
        Err(e) => {
            tracing::debug!(%peer, error = %e, "TLS connection refused");
            None
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        for a in &self.arbiters {
            a.stop();
        }
    }
}
