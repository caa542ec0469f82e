//! `Listener`: accepts TCP connections on several threads, one actix
//! [`Arbiter`] per thread, and starts a [`Connection`](super::Connection) actor for each.
//!
//! The socket is bound with `tokio::net::TcpSocket` (SO_REUSEADDR, listen
//! backlog 1024: the default backlog of 128 overflowed here with 256
//! simultaneous connects) and shared by all arbiters: each one waits in
//! `accept` on the same listening socket and the kernel hands every new
//! connection to one of them. A connection and its streams then live on
//! the arbiter that accepted it. Each accepted connection is sniffed in its
//! own task ([`Builder::accept_h2c`]): HTTP/2 with prior knowledge or the
//! HTTP/1.1 `Upgrade: h2c`, anything else answered in HTTP/1.1 and closed.
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
use tokio::net::{TcpSocket, TcpStream};

use crate::transport::H2cLimits;

use super::{Builder, Subscriber};

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
                            actix::spawn(serve_plain(
                                io,
                                peer,
                                builder.clone(),
                                subscriber.clone(),
                            ));
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

/// One accepted plain connection, in its own task (a slow client never
/// holds up accepting): HTTP/2 with prior knowledge, or the HTTP/1.1
/// `Upgrade: h2c` (RFC 7540 §3.2), or an HTTP/1.1 answer and close (see
/// [`Builder::accept_h2c`]).
async fn serve_plain<F>(io: TcpStream, peer: SocketAddr, builder: Builder, subscriber: Arc<F>)
where
    F: Fn(SocketAddr) -> Subscriber,
{
    let _ = io.set_nodelay(true);
    let limits = H2cLimits::default();
    if let Err(e) = builder.accept_h2c(io, &limits, || subscriber(peer)).await {
        tracing::debug!(%peer, error = %e, "connection not served");
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        for a in &self.arbiters {
            a.stop();
        }
    }
}
