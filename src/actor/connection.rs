//! The `Connection` actor: one per HTTP/2 connection.
//!
//! It owns the shared [`Core`] (the protocol state machine with both HPACK
//! contexts, the stream table and the coalescing write buffer) and drives
//! the read side itself:
//!
//! - **Driver**: a hand-written `ActorFuture` spawned in the actor's
//!   context that owns the whole transport (no split halves) and, in each
//!   poll, reads then writes (`connection/driver.rs`). Reading: its
//!   `BytesMut` buffer is held only while bytes are in it or arriving (see
//!   `bufpool`) and decoded with [`FrameCodec`]; compared with
//!   `ctx.add_stream(FramedRead::new(..))` it reads the codec's max frame
//!   size straight from `proto.local_max_frame_size()` before every frame,
//!   hands each frame to the protocol without a message, processes up to
//!   64 frames per turn (actix's stream handler stops at 16), and after a
//!   connection error keeps draining the socket so closing it does not
//!   turn into a TCP RST that could destroy the GOAWAY in flight. Writing
//!   ([`super::writer`]): the bounded write queue, drained after the
//!   mailbox and the read phase of the same turn, so a turn's frames cost
//!   one write and the task never wakes itself to write.
//! - **Lingering close**: once the write side has flushed and shut the
//!   write half down, the actor keeps reading (and discarding) until the
//!   peer closes too, for at most [`LINGER`], for the same reason: closing
//!   a socket with unread input sends RST, and a peer receiving RST may
//!   drop our last frames (the GOAWAY) before its application reads them.
//! - **Streams**: the messages sent to an [`H2Stream`] handle come through
//!   this actor's mailbox and are handled here (`streams.rs`), one at a
//!   time, in order: a stream has no task or mailbox of its own.
//! - **Timers**: `proto.poll_timeout()` becomes one `ctx.run_later`,
//!   re-armed at the end of every turn that moved the next deadline
//!   earlier; work done outside the actor's turn (a `Session`, a
//!   subscriber's `RecvData` handled) that moves it earlier wakes the
//!   actor, whose timer watch re-arms (`connection/timer.rs`). The
//!   deadlines are [`Timeouts`](crate::Timeouts) (handshake, idle,
//!   keepalive, stalled streams) and the protocol's own (SETTINGS ACK,
//!   graceful shutdown); a timeout that ends
//!   the connection flushes its GOAWAY and is reported in `Closed` as
//!   [`CloseReason::Timeout`].
//!
//! Closing: `Close` queues GOAWAY and lets the streams finish; the write
//! side flushes everything and shuts the write half down, and only then
//! does the actor stop. A second `Close`, or `close_timeout`,
//! forces it (open streams are reset). `Closed` goes to the subscriber
//! exactly once, from `stopped`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::Decoder;

use super::bufpool;
use super::core::{Core, EventQueue, Limits, OpenKind, Proto, ReplyNow, WriteState};
use super::listener::stats::{ConnCounters, Counters};
use super::messages::*;
use super::reply::Reply;
use super::stream::ConnLink;
use super::writer::WriteSide;
use super::{H2Stream, Subscriber};
use crate::frame::DEFAULT_MAX_FRAME_SIZE;
use crate::proto::{self, Config, ConnectionError, Role};
use crate::transport::{CodecError, FrameCodec, H2cAccepted, H2cError, H2cLimits, H2cUpgrade};

mod driver;
mod streams;
mod timer;
use driver::{Driver, UpgradeRequest};
mod upgrade;
use upgrade::Begin;

/// Frames handled per turn before the reader yields to other work.
const FRAMES_PER_TURN: usize = 64;
/// Longest wait for the peer's close after our last frame is out.
pub(crate) const LINGER: Duration = Duration::from_millis(500);
/// Free space kept in the read buffer before each read.
const READ_RESERVE: usize = bufpool::READ_CAPACITY / 2;

/// One HTTP/2 connection as an actor. Start it with [`Connection::builder`].
pub struct Connection {
    core: Core,
    /// `stopped` has run (see the `Drop` impl). The mailbox stays open
    /// without an address of the actor's own: `Core::link` holds one for
    /// the actor's whole life (an `Addr` is two allocations, ~80 bytes), so
    /// the actor stops only through `ctx.stop()`, after its writer has
    /// flushed.
    stopped: bool,
    timer: Option<(Instant, SpawnHandle)>,
    close_timeout: Duration,
    forced: bool,
    /// The read loop is still running.
    reading: bool,
    /// The writer is done: read and discard until EOF, then stop.
    lingering: bool,
    /// Dropped with the actor, whether it stopped or panicked: the
    /// listener's bookkeeping of this connection (see [`Builder::start_supervised`]).
    _guard: Option<Box<dyn std::any::Any>>,
}

impl Actor for Connection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.spawn(timer::TimerWatch);
        self.arm_timer(ctx);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.stopped = true;
        Self::finish(&mut self.core, CloseReason::Done);
    }
}

/// A connection actor dropped without `stopped` (it panicked, or its
/// arbiter stopped) still ends its writer, resets its streams, tells its
/// subscriber `Closed`, and drops its guard: one failing connection leaves
/// nothing behind that another would trip over.
impl Drop for Connection {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        let id = self.core.id;
        crate::log_limit::limited!(error, conn = %id, "connection actor dropped without stopping (panic?)");
        Self::finish(
            &mut self.core,
            CloseReason::Io("the connection actor panicked".into()),
        );
    }
}

impl Connection {
    /// The core, borrowed by a handler of the actor's mailbox: the
    /// driver's write phase runs after the mailbox in this same turn
    /// (actix polls the mailbox before the context's items), so nothing
    /// done here needs to wake the task to be written (see
    /// `Core::flush_due`). Only for mailbox handlers: a timer's callback
    /// runs after the driver and must let `kick` wake it.
    pub(super) fn turn(&mut self) -> &mut Core {
        self.core.set_flush_due(true);
        &mut self.core
    }

    /// The end of a connection: stop the writer, fail what is pending, tell
    /// the subscriber.
    fn finish(c: &mut Core, reason: CloseReason) {
        c.set_reason(reason);
        c.write_state = WriteState::Abort;
        c.task_waker = None;
        c.shutdown_all();
        tracing::debug!(conn = %c.id, reason = ?c.close_reason, "connection closed");
        c.deliver_closed();
        // Its streams no longer count as open in the listener's stats.
        c.stats = None;
    }

    /// Start configuring a connection for `role`.
    pub fn builder(role: Role) -> Builder {
        Builder {
            role,
            config: Config::default(),
            proto_config: Arc::new(Config::default()),
            skip_preface: false,
            auto_release: true,
            max_write_buffer: 256 << 10,
            max_pending_open_streams: 1024,
            max_queued_sends: 16,
            close_timeout: Duration::from_secs(5),
            begin: Begin::Preface,
            counters: None,
        }
    }

    /// Arms one `run_later` for the protocol's next deadline. A timer
    /// already armed for an earlier time is kept: deadlines that only move
    /// later (keepalive, pushed back by every frame received) would
    /// otherwise cost a new timer per read turn; the early one fires,
    /// finds nothing due (cheap) and arms the real one.
    fn arm_timer(&mut self, ctx: &mut Context<Self>) {
        let next = {
            let c = &mut self.core;
            let next = c.proto.poll_timeout();
            let armed = self.timer.as_ref().map(|t| t.0);
            let keep = match (armed, next) {
                (Some(a), Some(n)) => a <= n,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if keep {
                c.timer_at = armed;
                return;
            }
            c.timer_at = next;
            next
        };
        if let Some((_, h)) = self.timer.take() {
            ctx.cancel_future(h);
        }
        if let Some(at) = next {
            let delay = at.saturating_duration_since(Instant::now());
            let h = ctx.run_later(delay, |act, ctx| {
                act.timer = None;
                let r = {
                    let c = &mut act.core;
                    let r = c.proto.handle_timeout(Instant::now());
                    if let Some(t) = c.proto.timed_out() {
                        // Before the connection error's own reason: the
                        // timeout is the cause the user needs.
                        c.set_reason(CloseReason::Timeout(t));
                    }
                    c.kick();
                    r
                };
                if let Err(e) = r {
                    act.connection_error(e, ctx);
                }
                act.arm_timer(ctx);
            });
            self.timer = Some((at, h));
        }
    }

    /// A connection error: GOAWAY is queued by the protocol; the writer
    /// flushes it and closes. The timeout bounds a peer that does not read.
    fn connection_error(&mut self, e: ConnectionError, ctx: &mut Context<Self>) {
        tracing::debug!(error = %e, "connection error");
        {
            let c = &mut self.core;
            c.set_reason(CloseReason::Error(e));
            c.write_state = WriteState::Shutdown;
            c.kick();
        }
        self.stop_after_timeout(ctx);
    }

    fn stop_after_timeout(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(self.close_timeout, |act, ctx| {
            act.core
                .set_reason(CloseReason::Io("timed out flushing the last frames".into()));
            ctx.stop();
        });
    }

    fn on_eof(&mut self, ctx: &mut Context<Self>) {
        {
            let c = &mut self.core;
            let clean = c.proto.is_finished() || c.proto.active_streams() == 0;
            c.set_reason(if clean {
                CloseReason::Done
            } else {
                CloseReason::Io("the peer closed the connection".into())
            });
            c.write_state = WriteState::Shutdown;
            c.kick();
        }
        self.stop_after_timeout(ctx);
    }

    fn on_io_error(&mut self, e: String, ctx: &mut Context<Self>) {
        tracing::debug!(error = %e, "read failed");
        self.core.set_reason(CloseReason::Io(e));
        ctx.stop();
    }

    fn force_close(&mut self, ctx: &mut Context<Self>) {
        if self.forced {
            return;
        }
        self.forced = true;
        {
            let c = &mut self.core;
            c.reset_all_streams();
            c.write_state = WriteState::Shutdown;
            c.kick();
        }
        self.stop_after_timeout(ctx);
    }
}

/// Configures and starts a [`Connection`]: `Connection::builder(role)`,
/// then the setters below (each documents its default), then
/// [`start`](Self::start), the one way a connection starts: over TCP, TLS,
/// an in-memory pipe, after the HTTP/1.1 upgrade
/// ([`upgraded`](Self::upgraded), [`upgraded_client`](Self::upgraded_client)),
/// under a [`Session`](crate::Session) ([`Session::new`](crate::Session::new)
/// takes a builder) or a [`Listener`](super::Listener)
/// ([`ListenerBuilder::connection`](super::ListenerBuilder::connection)).
///
/// ```no_run
/// # use h2actor::prelude::*;
/// # use std::time::Duration;
/// # use h2actor::Timeouts;
/// # fn f(tcp: tokio::net::TcpStream, subscriber: Subscriber) {
/// let config = Config {
///     max_concurrent_streams: 100,
///     timeouts: Timeouts { idle: Some(Duration::from_secs(120)), ..Timeouts::default() },
///     ..Config::default()
/// };
/// let conn = Connection::builder(Role::Server)
///     .config(config)
///     .max_write_buffer(128 << 10)
///     .start(tcp, subscriber);
/// # }
/// ```
///
/// # Limits and timeouts
///
/// Every connection sheds peers that would otherwise hold it forever
/// ([`Timeouts`](crate::Timeouts), in [`Config::timeouts`], all on by
/// default, each can be turned off). The steps before HTTP/2 (a TLS handshake, the HTTP/1.1
/// `Upgrade: h2c` exchange) have their own deadline, set on the transport
/// ([`crate::transport`]: `handshake_timeout`):
///
/// | timeout | default | what happens |
/// |---|---|---|
/// | handshake: the peer's preface and first SETTINGS | 10 s | GOAWAY PROTOCOL_ERROR, `Closed` with `CloseReason::Timeout(Timeout::Handshake)` |
/// | idle: no stream at all | 60 s | GOAWAY NO_ERROR (a server: two-step, so a crossing request is served), then `Closed` with `Timeout(Idle)` |
/// | keepalive: the peer silent | PING after 30 s, 20 s to answer | GOAWAY NO_ERROR, `Closed` with `Timeout(Keepalive)`; open streams hear `RecvReset` CANCEL |
/// | stalled stream: DATA queued, send window shut | 30 s | RST_STREAM CANCEL on that stream; its pending `SendData` replies fail with `Error::Reset(CANCEL)`; the subscriber hears `RecvReset { remote: false }` |
/// | SETTINGS ACK (`Config::settings_timeout`) | 10 s | GOAWAY SETTINGS_TIMEOUT |
/// | the final flush of a closing connection ([`Builder::close_timeout`]) | 5 s | the socket is closed anyway |
#[derive(Debug, Clone)]
pub struct Builder {
    role: Role,
    config: Config,
    /// `config`, shared by the connections this builder (and its clones)
    /// starts.
    proto_config: Arc<Config>,
    skip_preface: bool,
    auto_release: bool,
    max_write_buffer: usize,
    max_pending_open_streams: usize,
    max_queued_sends: usize,
    close_timeout: Duration,
    /// How the connection begins: the preface, or after an h2c upgrade.
    begin: Begin,
    /// The listener's counters (set by the `Listener`).
    counters: Option<Arc<Counters>>,
}

impl Builder {
    /// Protocol settings and limits, the connection's deadlines included
    /// ([`Config::timeouts`]: handshake, idle, keepalive, stalled streams;
    /// the table above sums them up). Default: `Config::default()`.
    pub fn config(mut self, config: Config) -> Self {
        self.proto_config = Arc::new(config.clone());
        self.config = config;
        self
    }
    /// Server: the client preface was already consumed by the caller.
    /// Default false. Not for the HTTP/1.1 upgrade: there the client sends
    /// its preface after the 101 (RFC 7540 §3.5); use
    /// [`upgraded`](Self::upgraded).
    pub fn skip_preface(mut self, skip: bool) -> Self {
        self.skip_preface = skip;
        self
    }
    /// Give received DATA back to the flow-control windows once the
    /// subscriber has handled its `RecvData` (default true), or only on
    /// `ReleaseCapacity` (false). With true, the connection `send`s each
    /// `RecvData` and releases its bytes when the handler has run, so a slow
    /// subscriber slows the peer instead of growing its mailbox.
    pub fn auto_release(mut self, auto: bool) -> Self {
        self.auto_release = auto;
        self
    }
    /// Bytes buffered for writing before the connection stops pulling from
    /// the protocol (write backpressure). Default 256 KiB.
    pub fn max_write_buffer(mut self, n: usize) -> Self {
        self.max_write_buffer = n;
        self
    }
    /// Client: `OpenStream`s and `SendRequest`s waiting for a stream slot
    /// (beyond: `Error::QueueFull`). Default 1,024.
    pub fn max_pending_open_streams(mut self, n: usize) -> Self {
        self.max_pending_open_streams = n;
        self
    }
    /// The limit set by [`Builder::max_pending_open_streams`].
    pub(crate) fn pending_open_limit(&self) -> usize {
        self.max_pending_open_streams
    }
    /// Per stream: `SendData`/`SendTrailers` waiting while the protocol's
    /// send buffer for the stream is full (beyond: `Error::QueueFull`). A
    /// `SendData` is accepted at once when nothing of the stream is
    /// pending. Default 16.
    pub fn max_queued_sends(mut self, n: usize) -> Self {
        self.max_queued_sends = n;
        self
    }
    /// How long a graceful close (or the final flush) may take before it is
    /// forced. Default 5 s.
    pub fn close_timeout(mut self, d: Duration) -> Self {
        self.close_timeout = d;
        self
    }
    /// Starts the connection actor over `io` on the current arbiter;
    /// notifications go to `subscriber`. How it begins is this builder's:
    /// with the preface (the default; a server expects the client's, unless
    /// [`skip_preface`](Self::skip_preface)), or after the HTTP/1.1 upgrade
    /// ([`upgraded`](Self::upgraded) for a server,
    /// [`upgraded_client`](Self::upgraded_client) for a client).
    ///
    /// For a `tokio::net::TcpStream`, call `set_nodelay(true)` first (the
    /// [`super::Listener`] does): the writer already coalesces frames, and
    /// with Nagle's algorithm a small WINDOW_UPDATE or PING ACK can wait for
    /// the peer's delayed ACK (BENCHMARKS.md has the figures).
    pub fn start<IO>(self, io: IO, subscriber: Subscriber) -> Addr<Connection>
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        self.start_with(io, subscriber, None).0
    }

    /// The protocol state for a new connection, from `config`.
    fn new_proto(&self) -> Proto {
        Proto::with_shared_config(self.role, self.proto_config.clone(), Instant::now())
    }

    /// Listener: the close timeout (to bound a forced shutdown).
    pub(crate) fn close_timeout_value(&self) -> Duration {
        self.close_timeout
    }

    /// Listener: counts this connection's traffic in `counters`.
    pub(crate) fn counters(mut self, counters: Arc<Counters>) -> Self {
        self.counters = Some(counters);
        self
    }

    /// Listener: as `start`; `on_start` runs inside the new actor's
    /// creation with its identity and address and returns a guard that is
    /// dropped with the actor however it ends (stopped, panicked, or its
    /// arbiter stopped): the listener's registry entry and open-connection
    /// count.
    pub(crate) fn start_supervised<IO>(
        self,
        io: IO,
        subscriber: Subscriber,
        on_start: impl FnOnce(ConnectionId, &Addr<Connection>) -> Box<dyn std::any::Any> + 'static,
    ) -> Addr<Connection>
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let on_start = Some(Box::new(on_start) as _);
        self.start_begun(io, subscriber, None, on_start).0
    }

    /// As `start`, also giving the identity the connection's notifications
    /// will carry (for [`crate::client::Client`]).
    /// With `queue`, every notification (and the answer to every request of a `Client`)
    /// goes there.
    pub(crate) fn start_identified<IO>(
        self,
        io: IO,
        subscriber: Subscriber,
        queue: Option<std::rc::Rc<EventQueue>>,
    ) -> (Addr<Connection>, super::ConnectionId)
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let (addr, link) = self.start_with(io, subscriber, queue);
        (addr, link.id)
    }

    /// As `start`; with `session`, every notification goes to that queue.
    pub(crate) fn start_with<IO>(
        self,
        io: IO,
        subscriber: Subscriber,
        session: Option<std::rc::Rc<EventQueue>>,
    ) -> (Addr<Connection>, Arc<ConnLink>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let (addr, link, _) = self.start_begun(io, subscriber, session, None);
        (addr, link)
    }

    /// As `start_with`, over a protocol state prepared by the caller, after
    /// an h2c upgrade or not (see [`Upgraded`]), with the listener's
    /// `on_start` (see `start_supervised`).
    #[allow(clippy::type_complexity)]
    fn start_inner<IO>(
        self,
        io: IO,
        subscriber: Subscriber,
        session: Option<std::rc::Rc<EventQueue>>,
        proto: Proto,
        upgraded: Upgraded,
        on_start: Option<
            Box<dyn FnOnce(ConnectionId, &Addr<Connection>) -> Box<dyn std::any::Any>>,
        >,
    ) -> (Addr<Connection>, Arc<ConnLink>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let codec = if self.role == Role::Server && !self.skip_preface {
            FrameCodec::server(DEFAULT_MAX_FRAME_SIZE)
        } else {
            FrameCodec::new(DEFAULT_MAX_FRAME_SIZE)
        };
        let limits = Limits {
            max_write_buffer: self.max_write_buffer.max(1),
            max_pending_open: self.max_pending_open_streams,
            max_queued_sends: self.max_queued_sends,
        };
        let mut core = Core::new(proto, subscriber, self.auto_release, limits);
        core.session = session;
        core.stats = self.counters.map(ConnCounters::new);
        let upgrade_request = match upgraded {
            Upgraded::Server(req) => {
                if let Some(s) = &mut core.stats {
                    s.upgraded_stream();
                }
                Some(req)
            }
            Upgraded::Client => {
                core.adopt_upgraded_stream();
                None
            }
            Upgraded::No => None,
        };
        let close_timeout = self.close_timeout;
        let id = core.id;
        let mut link = None;
        let addr = Connection::create(|ctx| {
            let l = Arc::new(ConnLink {
                addr: ctx.address(),
                id,
            });
            let guard = on_start.map(|f| f(id, &l.addr));
            core.link = Some(l.clone());
            link = Some(l);
            let write = WriteSide::new(&io, &mut core);
            ctx.spawn(Driver {
                io,
                buf: BytesMut::new(),
                codec,
                draining: false,
                upgrade_request,
                read_done: false,
                write: Some(write),
            });
            Connection {
                core,
                stopped: false,
                timer: None,
                close_timeout,
                forced: false,
                reading: true,
                lingering: false,
                _guard: guard,
            }
        });
        // `create` runs its closure before it returns.
        let link = link.unwrap_or_else(|| {
            Arc::new(ConnLink {
                addr: addr.clone(),
                id,
            })
        });
        (addr, link)
    }
}

/// How a connection came to be, for `Builder::start_inner`.
pub(super) enum Upgraded {
    /// Prior knowledge (or TLS): nothing before the preface.
    No,
    /// Server after the h2c upgrade: the request of stream 1, delivered
    /// once the client's preface is in (see `Driver::upgrade_request`).
    Server(Box<UpgradeRequest>),
    /// Client after the h2c upgrade: stream 1 is the upgrade request.
    Client,
}

impl Connection {
    /// The write side ended: everything is out and the write half shut
    /// down (`Ok`), or the transport failed.
    fn writer_done(&mut self, r: Result<(), String>, ctx: &mut Context<Self>) {
        match r {
            Err(e) => {
                tracing::debug!(error = %e, "write failed");
                self.core.set_reason(CloseReason::Io(e));
                ctx.stop();
            }
            Ok(()) if self.reading => {
                // Lingering close (see the module docs).
                self.lingering = true;
                ctx.run_later(LINGER, |_, ctx| ctx.stop());
            }
            Ok(()) => ctx.stop(),
        }
    }
}

impl Handler<OpenStream> for Connection {
    type Result = Reply<H2Stream>;
    fn handle(&mut self, msg: OpenStream, _: &mut Self::Context) -> Self::Result {
        let c = self.turn();
        match c.open(OpenKind::Stream(msg.subscriber)) {
            ReplyNow::Now(r) => Reply::now(r),
            ReplyNow::Later(_) => Reply::later(c.park_open()),
        }
    }
}

impl Handler<SendRequest> for Connection {
    type Result = Reply<H2Stream>;
    fn handle(&mut self, msg: SendRequest, _: &mut Self::Context) -> Self::Result {
        let c = self.turn();
        match c.open_request(msg) {
            ReplyNow::Now(r) => Reply::now(r),
            ReplyNow::Later(_) => Reply::later(c.park_open()),
        }
    }
}

impl Handler<Ping> for Connection {
    type Result = Reply<Duration>;
    fn handle(&mut self, _: Ping, _: &mut Self::Context) -> Self::Result {
        let c = self.turn();
        match c.ping() {
            ReplyNow::Now(r) => Reply::now(r),
            ReplyNow::Later(_) => Reply::later(c.park_ping()),
        }
    }
}

impl Handler<Close> for Connection {
    type Result = ();
    fn handle(&mut self, msg: Close, ctx: &mut Self::Context) {
        self.close(Some(msg.code), self.close_timeout, ctx);
    }
}

/// Listener shutdown: a graceful close with the two-step GOAWAY of RFC 9113
/// §6.8 (GOAWAY 2^31-1 and a PING, then the final GOAWAY), forced after
/// `grace` instead of `close_timeout`. A second one (or a `Close`) forces.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Drain(pub Duration);

impl Handler<Drain> for Connection {
    type Result = ();
    fn handle(&mut self, msg: Drain, ctx: &mut Self::Context) {
        self.close(None, msg.0, ctx);
    }
}

/// Test hook: makes the connection actor itself panic inside a handler
/// (to check that other connections on its arbiter go on).
#[cfg(feature = "test-hooks")]
impl Handler<super::PanicForTest> for Connection {
    type Result = ();
    fn handle(&mut self, _: super::PanicForTest, _: &mut Self::Context) {
        let id = self.core.id;
        panic!("{id}: PanicForTest");
    }
}

impl Connection {
    /// First call: GOAWAY(code), or with `None` the two-step GOAWAY
    /// NO_ERROR; streams finish; forced after `within`. Later calls force.
    fn close(
        &mut self,
        code: Option<crate::frame::ErrorCode>,
        within: Duration,
        ctx: &mut Context<Self>,
    ) {
        let first = {
            let c = &mut self.core;
            if c.closing {
                false
            } else {
                c.closing = true;
                match code {
                    Some(code) => c.proto.go_away(code, Bytes::new(), Instant::now()),
                    None => c.proto.go_away_graceful(Instant::now()),
                }
                c.kick();
                true
            }
        };
        if first {
            self.arm_timer(ctx);
            ctx.run_later(within, |act, ctx| act.force_close(ctx));
        } else {
            self.force_close(ctx);
        }
    }
}

impl Handler<UpdateSettings> for Connection {
    type Result = Result<(), Error>;
    fn handle(&mut self, msg: UpdateSettings, ctx: &mut Self::Context) -> Self::Result {
        let r = {
            let c = &mut self.core;
            let r = c.proto.update_settings(msg.0, Instant::now());
            c.kick();
            r
        };
        self.arm_timer(ctx);
        r.map_err(Into::into)
    }
}

impl Handler<Subscribe> for Connection {
    type Result = ();
    fn handle(&mut self, msg: Subscribe, _: &mut Self::Context) {
        self.core.subscriber = msg.0;
    }
}

impl Handler<GetStats> for Connection {
    type Result = MessageResult<GetStats>;
    fn handle(&mut self, _: GetStats, _: &mut Self::Context) -> Self::Result {
        let c = &self.core;
        MessageResult(ConnectionStats {
            conn: c.id,
            write_buffered: c.wbuf.len(),
            write_buffer_high_water: c.wbuf_high_water,
            streams: c.stream_entries(),
            pending_sends: c.pending_sends(),
            peer_settings: c.proto.peer_settings_seen(),
        })
    }
}

/// A transport error as a user reads it in a [`CloseReason::Io`].
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionReset => "the peer reset the TCP connection".into(),
        ConnectionAborted => "the TCP connection was aborted".into(),
        BrokenPipe => "the peer closed the TCP connection while we were writing".into(),
        UnexpectedEof => "the peer closed the connection in the middle of a record".into(),
        TimedOut => "the TCP connection timed out".into(),
        _ => format!("transport error: {e}"),
    }
}
