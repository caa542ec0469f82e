//! `Listener`: accepts TCP connections on several threads, one actix
//! [`Arbiter`](https://docs.rs/actix/0.13/actix/struct.Arbiter.html) per thread, starts a [`Connection`] actor for each, keeps
//! count of them, and shuts them all down gracefully.
//!
//! ```no_run
//! use std::time::Duration;
//! use actix::prelude::*;
//! use h2actor::prelude::*;
//! use h2actor::actor::Listener;
//!
//! struct Hello;
//! impl Actor for Hello {
//!     type Context = Context<Self>;
//! }
//! impl Handler<RecvHeaders> for Hello {
//!     type Result = ();
//!     fn handle(&mut self, req: RecvHeaders, _: &mut Context<Self>) {
//!         req.stream.do_send(SendMessage::new(http::Response::new(())).body("hello\n"));
//!     }
//! }
//!
//! # #[actix_rt::main] async fn main() -> std::io::Result<()> {
//! let listener = Listener::builder("127.0.0.1:8080".parse().unwrap())
//!     .max_connections(5_000)
//!     // called on the accepting arbiter for every connection: start its
//!     // handler actor there and say where its notifications go
//!     .start(|_peer| Subscriber::new(&Hello.start()))?;
//! println!("listening on {}", listener.local_addr());
//! // Until SIGINT or SIGTERM, then GOAWAY and 10 s for requests in flight
//! // (or call `listener.shutdown(grace)` yourself, when you choose):
//! let report = listener.run_until_signal(Duration::from_secs(10)).await;
//! println!("{report:?}; {}", listener.stats());
//! # Ok(()) }
//! ```
//!
//! # Defaults
//!
//! | setting | default | what it bounds |
//! |---|---|---|
//! | [`threads`](ListenerBuilder::threads) | one per core (`std::thread::available_parallelism`) | arbiters accepting on the one socket; a connection and its streams stay on the arbiter that accepted it |
//! | [`max_connections`](ListenerBuilder::max_connections) | [`DEFAULT_MAX_CONNECTIONS`] (10,000) | connections open at once, over all arbiters; beyond it new ones are closed at accept |
//! | the step between accept and HTTP/2 | [`DEFAULT_HANDSHAKE_TIMEOUT`](crate::transport::DEFAULT_HANDSHAKE_TIMEOUT) (10 s) | set on the transport: [`TlsServer::handshake_timeout`] for [`tls`](ListenerBuilder::tls), [`H2cLimits::handshake_timeout`] for [`h2c_upgrade`](ListenerBuilder::h2c_upgrade); the socket is closed and counted in [`ListenerStats::handshakes_failed`] |
//! | [`reuse_port`](ListenerBuilder::reuse_port) | off | `SO_REUSEPORT` (unix): several processes bind the same port |
//! | [`notsent_lowat`](ListenerBuilder::notsent_lowat) | [`DEFAULT_NOTSENT_LOWAT`] (16 KiB) | `TCP_NOTSENT_LOWAT` (Linux): bytes written to a socket and not yet sent, so urgent responses overtake a download (RFC 9218) |
//! | listen backlog | 1,024 | connections the kernel queues before `accept` (the usual 128 overflowed here with 256 simultaneous connects) |
//! | grace of [`shutdown`](Listener::shutdown) | chosen by the caller (the example server: 10 s) | how long in-flight streams may run after the GOAWAY |
//!
//! The socket is bound with `tokio::net::TcpSocket` (`SO_REUSEADDR`, so a
//! restarted server binds at once, and optionally `SO_REUSEPORT`) and
//! shared by all arbiters: each waits in `accept` on the same socket and the
//! kernel hands every new connection to one of them.
//!
//! # Two handshakes, one deadline each
//!
//! A connection passes two handshakes, and each has one deadline, set in
//! one place:
//!
//! - **Transport**: the TLS handshake (ALPN `h2`), or on a plain port the
//!   HTTP/1.1 sniff (prior knowledge or `Upgrade: h2c`, the 101 written).
//!   Its deadline belongs to the transport you hand the listener,
//!   [`TlsServer::handshake_timeout`] or [`H2cLimits::handshake_timeout`]
//!   (both 10 s by default), so a `TlsServer` bounds its handshakes the
//!   same way in a listener and in an accept loop of your own. The listener
//!   adds no timer of its own around them. A plain port without the
//!   upgrade ([`h2c_upgrade(None)`](ListenerBuilder::h2c_upgrade)) has no
//!   transport handshake.
//! - **HTTP/2**: the peer's connection preface and first SETTINGS
//!   ([`Timeouts::handshake`](crate::Timeouts::handshake), 10 s, in the
//!   connection's [`Config`](crate::Config)), from when the connection
//!   actor starts.
//!
//! # Beyond `max_connections`: closed at accept
//!
//! A connection over the limit is accepted and closed at once, before any
//! TLS or HTTP/2 byte: the client sees its connection closed (and may retry
//! elsewhere or later), and the server spends neither a handshake nor a
//! connection's buffers on it. The alternative (accept, send SETTINGS and
//! GOAWAY(REFUSED_STREAM), close) would tell HTTP/2 clients politely but
//! costs a TLS handshake and a read of the preface per refused connection,
//! exactly the work the limit is there to shed. A refusal is counted in
//! [`ListenerStats::connections_refused`] and logged at `warn` at most once
//! a second. Not accepting at all is worse: connections would pile up in
//! the kernel's backlog and wait there with no answer.
//!
//! # Graceful shutdown
//!
//! [`Listener::shutdown`] stops accepting (the listening socket is closed:
//! new connections are refused by the kernel), sends every connection the
//! two-step GOAWAY of RFC 9113 §6.8 (a first GOAWAY with the last stream id
//! 2^31-1 and a PING; when the PING comes back, the final GOAWAY with the
//! last stream id the connection processed: streams the client opens later
//! are refused), lets open streams finish until the grace period ends,
//! then forces what is left (open streams reset with CANCEL, GOAWAY,
//! close), and resolves when every connection is gone.
//!
//! # Failure isolation
//!
//! Each accepted socket gets its own task for the handshake and the
//! user's subscriber function; each connection is its own actor, each of
//! its streams a child actor. A panic in the work for a stream resets that stream
//! (INTERNAL_ERROR); a panic in a connection actor, in a user's actor, or
//! in the subscriber function ends that task only (tokio catches it; the
//! arbiter's thread and its other connections go on), and the
//! connection's bookkeeping (its slot in `max_connections`, its registry
//! entry, its open streams in the stats) is released by a guard dropped
//! with it. The accept loops run no user code.

mod accept;
mod signal;
pub(crate) mod stats;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix::WeakAddr;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{watch, Notify};

pub use stats::{CodeCounts, ListenerStats};

use super::connection::Drain;
use super::{Builder, Connection, ConnectionId, Subscriber};
use crate::transport::{H2cLimits, TlsServer};
use crate::Role;
use accept::{AcceptConfig, SubscriberFn};
use stats::Counters;

/// Listen backlog (see the module docs).
pub(crate) const BACKLOG: u32 = 1024;

/// Default of [`ListenerBuilder::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// A multi-threaded acceptor and supervisor of HTTP/2 server connections
/// (see the [module docs](self)). Dropping it stops its arbiters, and with
/// them every connection, without GOAWAY: call [`shutdown`](Self::shutdown)
/// first for a graceful end.
pub struct Listener {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    arbiters: Vec<Arbiter>,
}

/// Configures a [`Listener`]: [`Listener::builder`], the setters (each
/// documents its default), then [`start`](Self::start).
#[derive(Debug, Clone)]
pub struct ListenerBuilder {
    addr: SocketAddr,
    threads: Option<usize>,
    connection: Builder,
    max_connections: usize,
    reuse_port: bool,
    notsent_lowat: Option<u32>,
    tls: Option<Arc<TlsServer>>,
    h2c: Option<H2cLimits>,
}

/// Default of [`ListenerBuilder::notsent_lowat`]: 16 KiB.
pub const DEFAULT_NOTSENT_LOWAT: u32 = 16 * 1024;

/// What [`Listener::shutdown`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Connections open when the shutdown started.
    pub connections: usize,
    /// Connections still open when the grace period ended, and forced.
    pub forced: usize,
    /// Connections still open when `shutdown` gave up waiting for the
    /// forced ones (0 unless a transport does not close).
    pub left: usize,
}

impl ListenerBuilder {
    /// Arbiters (threads) accepting on the socket, at least one. Default:
    /// one per core (`std::thread::available_parallelism`).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n.max(1));
        self
    }

    /// The configuration of every connection. Default
    /// `Connection::builder(Role::Server)`. How each connection begins is
    /// the listener's to find out (prior knowledge, an h2c upgrade, TLS):
    /// an [`upgraded`](Builder::upgraded) option on `builder` is dropped.
    pub fn connection(mut self, builder: Builder) -> Self {
        self.connection = builder.with_preface();
        self
    }

    /// Connections open at once, over all arbiters (those still in their
    /// handshake included). Beyond it a new connection is closed at
    /// accept (see the module docs). Default [`DEFAULT_MAX_CONNECTIONS`]
    /// (10,000). Each connection also costs two file descriptors' worth of
    /// `RLIMIT_NOFILE` headroom at most (`ulimit -n`): raise that limit too.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets `SO_REUSEPORT` (unix; ignored elsewhere): several processes
    /// (or listeners) may bind the same address and port, and the kernel
    /// spreads new connections among them. That is how to run one server
    /// process per machine slice, or restart one without a gap. Every
    /// socket sharing the port must set it. Default false.
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// Sets `TCP_NOTSENT_LOWAT` on every accepted socket (Linux and
    /// Android; ignored elsewhere): the kernel keeps at most about this
    /// many bytes written but not yet sent, so the bytes of a large
    /// download wait in our write scheduler rather than in the socket
    /// buffer, and a more urgent response (RFC 9218 priorities) overtakes
    /// them soon after it is ready. `None` leaves the system default
    /// (`net.ipv4.tcp_notsent_lowat`, normally unlimited). Default
    /// [`DEFAULT_NOTSENT_LOWAT`] (16 KiB, as h2o and Cloudflare use).
    pub fn notsent_lowat(mut self, bytes: Option<u32>) -> Self {
        self.notsent_lowat = bytes;
        self
    }

    /// Serve HTTP/2 over TLS: every connection starts with the TLS
    /// handshake of `tls` (ALPN `h2`: a client that offers no ALPN or only
    /// `http/1.1` gets the `no_application_protocol` alert), within
    /// [`TlsServer::handshake_timeout`]. Default: no TLS (h2c).
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use h2actor::prelude::*;
    /// # use h2actor::{actor::Listener, TlsServer};
    /// # fn sub() -> Subscriber { unimplemented!() }
    /// # fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let tls = TlsServer::from_pem_files("cert.pem", "key.pem")?
    ///     .handshake_timeout(std::time::Duration::from_secs(5));
    /// let listener = Listener::builder("0.0.0.0:8443".parse()?)
    ///     .tls(Arc::new(tls))
    ///     .start(|_peer| sub())?;
    /// # Ok(()) }
    /// ```
    pub fn tls(mut self, tls: Arc<TlsServer>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// On a plain (h2c) port, what a connection may start with: with
    /// `Some(limits)` (the default, `H2cLimits::default()`) the HTTP/2
    /// preface (prior knowledge) or an HTTP/1.1 request with
    /// `Upgrade: h2c` (RFC 7540 §3.2, what `curl --http2` sends), read
    /// under `limits` (the deadline: [`H2cLimits::handshake_timeout`]); any other HTTP/1.1 request gets a short
    /// `505 HTTP Version Not Supported` (see [`crate::transport::upgrade`]).
    /// With `None`, only the preface: anything else is a connection error
    /// at the first frame. Not used with [`tls`](Self::tls) (ALPN chose h2).
    pub fn h2c_upgrade(mut self, limits: Option<H2cLimits>) -> Self {
        self.h2c = limits;
        self
    }

    /// Binds, listens, and starts the arbiters. For every connection,
    /// `subscriber` is called on the accepting arbiter with the peer's
    /// address and returns where that connection's notifications go (start
    /// the handler actor there, e.g. `Subscriber::new(&Handler.start())`).
    /// Must be called inside an actix system.
    pub fn start<F>(self, subscriber: F) -> io::Result<Listener>
    where
        F: Fn(SocketAddr) -> Subscriber + Send + Sync + 'static,
    {
        let socket = if self.addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
        if self.reuse_port {
            socket.set_reuseport(true)?;
        }
        socket.bind(self.addr)?;
        let listener = socket.listen(BACKLOG)?;
        let local_addr = listener.local_addr()?;
        let std_listener = listener.into_std()?;

        let threads = self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        let counters = Arc::new(Counters::default());
        let (stop_tx, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            counters: counters.clone(),
            max_connections: self.max_connections,
            registry: Mutex::new(Registry::default()),
            drained: Notify::new(),
            stop_tx,
            accepting: AtomicUsize::new(0),
            accept_stopped: Notify::new(),
            close_bound: self.connection.close_timeout_value() + super::connection::LINGER,
        });
        let cfg = Arc::new(AcceptConfig {
            builder: self.connection.counters(counters),
            subscriber: Arc::new(subscriber) as Arc<SubscriberFn>,
            notsent_lowat: self.notsent_lowat,
            tls: self.tls,
            h2c: self.h2c,
        });
        let mut arbiters = Vec::with_capacity(threads);
        for _ in 0..threads {
            let l = std_listener.try_clone()?;
            let shared2 = shared.clone();
            let cfg = cfg.clone();
            let stop = shared.stop_tx.subscribe();
            shared.accepting.fetch_add(1, Ordering::SeqCst);
            let arbiter = Arbiter::new();
            arbiter.spawn(async move {
                let _alive = AcceptLoopGuard(shared2.clone());
                match TcpListener::from_std(l) {
                    Ok(l) => accept_loop(l, shared2, cfg, stop).await,
                    Err(e) => tracing::error!(error = %e, "listener: cannot register the socket"),
                }
            });
            arbiters.push(arbiter);
        }
        Ok(Listener {
            local_addr,
            shared,
            arbiters,
        })
    }
}

impl Listener {
    /// Starts configuring a listener on `addr` (port 0: the system picks
    /// one, see [`local_addr`](Self::local_addr)).
    pub fn builder(addr: SocketAddr) -> ListenerBuilder {
        ListenerBuilder {
            addr,
            threads: None,
            connection: Connection::builder(Role::Server),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            reuse_port: false,
            notsent_lowat: Some(DEFAULT_NOTSENT_LOWAT),
            tls: None,
            h2c: Some(H2cLimits::default()),
        }
    }

    /// The bound address (the port chosen when binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A snapshot of the counters of every connection this listener
    /// accepted (cheap: atomic loads).
    pub fn stats(&self) -> ListenerStats {
        self.shared.counters.snapshot()
    }

    /// The running connection with this identity (the `conn` field of
    /// every notification), to send it `Close`, `GetStats`, `Ping`...
    pub fn connection(&self, id: ConnectionId) -> Option<Addr<Connection>> {
        self.shared.lock().conns.get(&id).and_then(|w| w.upgrade())
    }

    /// Graceful shutdown (see the module docs): stop accepting, GOAWAY to
    /// every connection, let streams finish for `grace`, force the rest,
    /// and resolve when all connections are closed (or, if some transport
    /// will not close, once the forced ones have had their close timeout).
    ///
    /// The future does not borrow the listener: spawn it or await it.
    /// Calling `shutdown` again, e.g. with `Duration::ZERO` on a second
    /// signal, shortens the grace of the running shutdown (a second GOAWAY
    /// request forces a connection).
    pub fn shutdown(
        &self,
        grace: Duration,
    ) -> impl Future<Output = ShutdownReport> + Send + 'static {
        let shared = self.shared.clone();
        async move {
            let deadline = Instant::now() + grace;
            // 1. Stop accepting: the loops drop their sockets.
            shared.stop_tx.send_replace(true);
            wait_zero(&shared.accepting, &shared.accept_stopped, None).await;
            // 2. GOAWAY to every connection; those that start from now on
            // get it as they register.
            let conns = {
                let mut reg = shared.lock();
                reg.draining = Some(reg.draining.map_or(deadline, |d| d.min(deadline)));
                reg.live()
            };
            let open = shared.counters.connections_open.load(Ordering::SeqCst);
            tracing::info!(connections = open, ?grace, "shutdown: draining");
            for c in &conns {
                c.do_send(Drain(grace));
            }
            // 3. Wait for them, until the deadline.
            let clean = wait_zero(
                &shared.counters.connections_open,
                &shared.drained,
                Some(deadline),
            )
            .await;
            // 4. Force the rest: a second close request forces.
            let mut forced = 0;
            if !clean {
                let rest = shared.lock().live();
                forced = rest.len();
                tracing::info!(connections = forced, "shutdown: grace over, forcing");
                for c in &rest {
                    c.do_send(Drain(Duration::ZERO));
                }
                let bound = Instant::now() + shared.close_bound + Duration::from_secs(1);
                wait_zero(
                    &shared.counters.connections_open,
                    &shared.drained,
                    Some(bound),
                )
                .await;
            }
            let left = shared.counters.connections_open.load(Ordering::SeqCst);
            tracing::info!(connections = open, forced, left, "shutdown: done");
            ShutdownReport {
                connections: open,
                forced,
                left,
            }
        }
    }

    /// Stops the arbiters at once (their connections are dropped without
    /// GOAWAY). Same as dropping the listener.
    pub fn stop(self) {}
}

impl Drop for Listener {
    fn drop(&mut self) {
        for a in &self.arbiters {
            a.stop();
        }
    }
}

// ------------------------------------------------------------- internals

/// State shared by a listener's arbiters, its accept tasks and its
/// connections' guards.
pub(crate) struct Shared {
    counters: Arc<Counters>,
    max_connections: usize,
    registry: Mutex<Registry>,
    /// Notified when `connections_open` drops to 0.
    drained: Notify,
    /// `true`: the accept loops stop.
    stop_tx: watch::Sender<bool>,
    /// Accept loops still running.
    accepting: AtomicUsize,
    /// Notified when `accepting` drops to 0.
    accept_stopped: Notify,
    /// How long a forced connection may take to go.
    close_bound: Duration,
}

/// The live connections, over all arbiters. One lock per connection start
/// and end, and per shutdown: no contention worth a structure per arbiter.
#[derive(Default)]
struct Registry {
    conns: HashMap<ConnectionId, WeakAddr<Connection>>,
    /// Set when a shutdown started: its deadline.
    draining: Option<Instant>,
}

impl Registry {
    fn live(&self) -> Vec<Addr<Connection>> {
        self.conns.values().filter_map(|w| w.upgrade()).collect()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the map inconsistent
        // (single inserts and removes): go on with it.
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new connection is running: returns the grace left if the
    /// listener is draining.
    fn register(&self, id: ConnectionId, addr: &Addr<Connection>) -> Option<Duration> {
        let mut reg = self.lock();
        reg.conns.insert(id, addr.downgrade());
        reg.draining
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    fn handshake_failed(&self) {
        self.counters
            .handshakes_failed
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// One connection's place under `max_connections`, from accept until its
/// actor is gone (dropped with the accept task if the handshake fails,
/// else with the connection actor, whether it stopped or panicked).
pub(crate) struct Slot {
    shared: Arc<Shared>,
    id: Option<ConnectionId>,
}

impl Slot {
    /// Takes a slot if fewer than `max_connections` are open.
    fn take(shared: &Arc<Shared>) -> Option<Slot> {
        let open = &shared.counters.connections_open;
        let mut n = open.load(Ordering::SeqCst);
        loop {
            if n >= shared.max_connections {
                return None;
            }
            match open.compare_exchange_weak(n, n + 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => break,
                Err(now) => n = now,
            }
        }
        shared
            .counters
            .connections_accepted
            .fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            shared: shared.clone(),
            id: None,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.shared.lock().conns.remove(&id);
        }
        if self
            .shared
            .counters
            .connections_open
            .fetch_sub(1, Ordering::SeqCst)
            == 1
        {
            self.shared.drained.notify_waiters();
        }
    }
}

/// Counts an accept loop as running until it ends.
struct AcceptLoopGuard(Arc<Shared>);

impl Drop for AcceptLoopGuard {
    fn drop(&mut self) {
        if self.0.accepting.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.accept_stopped.notify_waiters();
        }
    }
}

/// One arbiter's accept loop: takes a slot, spawns the connection's task.
async fn accept_loop(
    l: TcpListener,
    shared: Arc<Shared>,
    cfg: Arc<AcceptConfig>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            r = l.accept() => r,
        };
        match accepted {
            Ok((tcp, peer)) => match Slot::take(&shared) {
                Some(slot) => {
                    actix_rt::spawn(accept::serve_one(
                        tcp,
                        peer,
                        slot,
                        cfg.clone(),
                        shared.clone(),
                    ));
                }
                None => {
                    let refused = shared
                        .counters
                        .connections_refused
                        .fetch_add(1, Ordering::Relaxed)
                        + 1;
                    crate::log_limit::limited!(
                        warn,
                        %peer,
                        max_connections = shared.max_connections,
                        refused_so_far = refused,
                        "max_connections open: closing new connections at accept"
                    );
                    drop(tcp);
                }
            },
            Err(e) => {
                // EMFILE and the like: back off instead of spinning.
                crate::log_limit::limited!(warn, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    tracing::debug!("accept loop stopped");
}

/// Waits until `counter` is 0 (`notify` fires when it drops to 0), or the
/// deadline passes: true if it reached 0.
async fn wait_zero(counter: &AtomicUsize, notify: &Notify, deadline: Option<Instant>) -> bool {
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if counter.load(Ordering::SeqCst) == 0 {
            return true;
        }
        match deadline {
            Some(d) => {
                if tokio::time::timeout_at(d.into(), notified).await.is_err() {
                    return counter.load(Ordering::SeqCst) == 0;
                }
            }
            None => notified.await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::stats::ConnCounters;
    use super::*;
    use crate::frame::{ErrorCode, Frame, GoAway, RstStream, StreamId};
    use bytes::{Bytes, BytesMut};

    #[test]
    fn frames_out_counts_resets_goaways_and_pushes_by_code() {
        let counters = Arc::new(Counters::default());
        let c = ConnCounters::new(counters.clone());
        let mut buf = BytesMut::new();
        Frame::RstStream(RstStream {
            stream_id: StreamId(1),
            error_code: ErrorCode::CANCEL,
        })
        .encode(&mut buf);
        Frame::GoAway(GoAway {
            last_stream_id: StreamId(3),
            error_code: ErrorCode::NO_ERROR,
            debug_data: Bytes::from_static(b"bye"),
        })
        .encode(&mut buf);
        Frame::RstStream(RstStream {
            stream_id: StreamId(5),
            error_code: ErrorCode(0x77),
        })
        .encode(&mut buf);
        c.frames_out(&buf);
        let s = counters.snapshot();
        assert_eq!(s.resets_sent.get(ErrorCode::CANCEL), 1);
        assert_eq!(s.resets_sent.unknown(), 1);
        assert_eq!(s.resets_sent.total(), 2);
        assert_eq!(s.goaways_sent.get(ErrorCode::NO_ERROR), 1);
        assert_eq!(s.goaways_sent.total(), 1);
        assert_eq!(s.resets_sent.to_string(), "CANCEL=1 unknown=1");
    }

    #[test]
    fn open_streams_are_given_back_when_a_connection_goes() {
        let counters = Arc::new(Counters::default());
        let mut a = ConnCounters::new(counters.clone());
        let mut b = ConnCounters::new(counters.clone());
        a.sync_streams(3);
        b.sync_streams(2);
        a.sync_streams(1);
        assert_eq!(counters.snapshot().streams_open, 3);
        drop(b);
        assert_eq!(counters.snapshot().streams_open, 1);
    }
}
