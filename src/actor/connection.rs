//! The `Connection` actor: one per HTTP/2 connection.
//!
//! It owns the shared [`Core`] (the protocol state machine with both HPACK
//! contexts, the stream table and the coalescing write buffer) and drives
//! the read side itself:
//!
//! - **Reader**: a hand-written `ActorFuture` spawned in the actor's context
//!   that owns the read half and its `BytesMut` buffer and decodes with
//!   [`FrameCodec`]. Compared with `ctx.add_stream(FramedRead::new(..))` it
//!   reads the codec's max frame size straight from
//!   `proto.local_max_frame_size()` before every frame (no shared cell),
//!   hands each frame to the protocol without a message, processes up to 64
//!   frames per turn (actix's stream handler stops at 16), and after a
//!   connection error keeps draining the socket so closing it does not turn
//!   into a TCP RST that could destroy the GOAWAY in flight.
//! - **Lingering close**: once the writer has flushed and shut the write
//!   half down, the actor keeps reading (and discarding) until the peer
//!   closes too, for at most [`LINGER`], for the same reason: closing a
//!   socket with unread input sends RST, and a peer receiving RST may drop
//!   our last frames (the GOAWAY) before its application reads them.
//! - **Writer**: a separate task ([`super::writer`]) with the bounded buffer.
//! - **Timers**: `proto.poll_timeout()` becomes one `ctx.run_later`.
//!
//! Closing: `Close` queues GOAWAY and lets the streams finish; the writer
//! flushes everything, shuts the write half down and sends `WriterDone`,
//! and only then does the actor stop. A second `Close`, or `close_timeout`,
//! forces it (open streams are reset). `Closed` goes to the subscriber
//! exactly once, from `stopped`.

use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::Decoder;

use super::core::{Core, CoreRef, EventQueue, Limits, OpenKind, WriteState};
use super::messages::*;
use super::reply::Reply;
use super::runner::StreamRunner;

use super::writer::{Writer, WriterDone};
use super::{H2Stream, Subscriber};
use crate::frame::DEFAULT_MAX_FRAME_SIZE;
use crate::proto::{self, Config, ConnectionError, Role};
use crate::transport::{CodecError, FrameCodec};

/// Frames handled per turn before the reader yields to other work.
const FRAMES_PER_TURN: usize = 64;
/// Longest wait for the peer's close after our last frame is out.
pub(crate) const LINGER: Duration = Duration::from_millis(500);
/// Free space kept in the read buffer before each read.
const READ_RESERVE: usize = 32 << 10;

/// One HTTP/2 connection as an actor. Start it with [`Connection::builder`].
pub struct Connection {
    core: CoreRef,
    /// Keeps the mailbox open: the actor stops only through `ctx.stop()`,
    /// after its writer has flushed.
    self_addr: Option<Addr<Connection>>,
    timer: Option<(Instant, SpawnHandle)>,
    close_timeout: Duration,
    forced: bool,
    /// The read loop is still running.
    reading: bool,
    /// The writer is done: read and discard until EOF, then stop.
    lingering: bool,
}

impl Actor for Connection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.arm_timer(ctx);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.self_addr = None;
        let mut c = self.core.borrow_mut();
        c.set_reason(CloseReason::Done);
        c.write_state = WriteState::Abort;
        if let Some(w) = c.writer_waker.take() {
            w.wake();
        }
        c.shutdown_all();
        tracing::debug!(conn = %c.id, reason = ?c.close_reason, "connection closed");
        c.deliver_closed();
    }
}

impl Connection {
    /// Start configuring a connection for `role`.
    pub fn builder(role: Role) -> Builder {
        Builder {
            role,
            config: Config::default(),
            skip_preface: false,
            auto_release: true,
            max_write_buffer: 256 << 10,
            max_pending_open_streams: 1024,
            max_queued_sends: 16,
            close_timeout: Duration::from_secs(5),
        }
    }

    fn arm_timer(&mut self, ctx: &mut Context<Self>) {
        let next = self.core.borrow().proto.poll_timeout();
        if self.timer.as_ref().map(|t| t.0) == next {
            return;
        }
        if let Some((_, h)) = self.timer.take() {
            ctx.cancel_future(h);
        }
        if let Some(at) = next {
            let delay = at.saturating_duration_since(Instant::now());
            let h = ctx.run_later(delay, |act, ctx| {
                act.timer = None;
                let r = {
                    let mut c = act.core.borrow_mut();
                    let r = c.proto.handle_timeout(Instant::now());
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
            let mut c = self.core.borrow_mut();
            c.set_reason(CloseReason::Error(e));
            c.write_state = WriteState::Shutdown;
            c.kick();
        }
        self.stop_after_timeout(ctx);
    }

    fn stop_after_timeout(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(self.close_timeout, |act, ctx| {
            act.core
                .borrow_mut()
                .set_reason(CloseReason::Io("timed out flushing the last frames".into()));
            ctx.stop();
        });
    }

    fn on_eof(&mut self, ctx: &mut Context<Self>) {
        {
            let mut c = self.core.borrow_mut();
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
        self.core.borrow_mut().set_reason(CloseReason::Io(e));
        ctx.stop();
    }

    fn force_close(&mut self, ctx: &mut Context<Self>) {
        if self.forced {
            return;
        }
        self.forced = true;
        {
            let mut c = self.core.borrow_mut();
            c.reset_all_streams();
            c.write_state = WriteState::Shutdown;
            c.kick();
        }
        self.stop_after_timeout(ctx);
    }
}

/// Configures and starts a [`Connection`]: `Connection::builder(role)`,
/// then the setters below (each documents its default), then `start`.
///
/// ```no_run
/// # use h2actor::prelude::*;
/// # fn f(tcp: tokio::net::TcpStream, subscriber: Subscriber) {
/// let config = Config { max_concurrent_streams: 100, ..Config::default() };
/// let conn = Connection::builder(Role::Server)
///     .config(config)
///     .max_write_buffer(128 << 10)
///     .start(tcp, subscriber);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    role: Role,
    config: Config,
    skip_preface: bool,
    auto_release: bool,
    max_write_buffer: usize,
    max_pending_open_streams: usize,
    max_queued_sends: usize,
    close_timeout: Duration,
}

impl Builder {
    /// Protocol settings and limits (default: `Config::default()`).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }
    /// Server: the client preface was already consumed (HTTP/1.1 upgrade).
    /// Default false.
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
    /// notifications go to `subscriber`.
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

    /// As `start`, also giving the identity the connection's notifications
    /// will carry (for [`crate::client::Client`]).
    pub(crate) fn start_identified<IO>(
        self,
        io: IO,
        subscriber: Subscriber,
    ) -> (Addr<Connection>, super::ConnectionId)
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let (addr, core) = self.start_with(io, subscriber, None);
        let id = core.borrow().id;
        (addr, id)
    }

    /// As `start`; with `session`, every notification goes to that queue.
    pub(crate) fn start_with<IO>(
        self,
        io: IO,
        subscriber: Subscriber,
        session: Option<std::rc::Rc<EventQueue>>,
    ) -> (Addr<Connection>, CoreRef)
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let (read, write) = tokio::io::split(io);
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
        let proto = proto::Connection::new(self.role, self.config, Instant::now());
        let core = Core::shared(proto, subscriber, self.auto_release, limits);
        core.borrow_mut().session = session;
        let close_timeout = self.close_timeout;
        let handle = core.clone();
        let addr = Connection::create(move |ctx| {
            let addr = ctx.address();
            core.borrow_mut().conn = Some(addr.downgrade());
            actix_rt::spawn(Writer::new(write, core.clone()));
            let spawner = core.borrow().spawner.clone();
            ctx.spawn(StreamRunner::new(spawner));
            ctx.spawn(ReadLoop {
                io: read,
                buf: BytesMut::with_capacity(READ_RESERVE * 2),
                codec,
                draining: false,
            });
            Connection {
                core,
                self_addr: Some(addr),
                timer: None,
                close_timeout,
                forced: false,
                reading: true,
                lingering: false,
            }
        });
        (addr, handle)
    }
}

/// The read side (see the module docs).
struct ReadLoop<R> {
    io: R,
    buf: BytesMut,
    codec: FrameCodec,
    /// After a connection error: read and discard until EOF.
    draining: bool,
}

impl<R: AsyncRead + Unpin> ActorFuture<Connection> for ReadLoop<R> {
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut Connection,
        ctx: &mut Context<Connection>,
        task: &mut std::task::Context<'_>,
    ) -> Poll<()> {
        let this = self.get_mut();
        let mut frames = 0;
        loop {
            if this.draining || act.lingering {
                this.buf.clear();
            } else {
                let max = act.core.borrow().proto.local_max_frame_size();
                this.codec.set_max_frame_size(max);
                let decoded = this.codec.decode(&mut this.buf);
                let result = match decoded {
                    Ok(Some(item)) => {
                        let mut c = act.core.borrow_mut();
                        let r = match item {
                            Ok(frame) => c.proto.recv_frame(frame, Instant::now()),
                            Err(malformed) => c.proto.recv_malformed(malformed, Instant::now()),
                        };
                        // Control frames the peer asked for (PING and
                        // SETTINGS ACKs, RST_STREAMs) go to the write buffer
                        // as they appear while it has room: the protocol's
                        // flood limits (§10.5) count answers that cannot be
                        // written, not a burst read in one turn.
                        if c.proto.has_pending_control() && c.wbuf.len() < c.limits.max_write_buffer
                        {
                            c.pull_transmit();
                            if let Some(w) = &c.writer_waker {
                                w.wake_by_ref();
                            }
                        }
                        c.kick();
                        Some(r)
                    }
                    Ok(None) => None,
                    Err(CodecError::Frame(e)) => {
                        let mut c = act.core.borrow_mut();
                        let r = c.proto.recv_malformed(e.clone(), Instant::now());
                        c.kick();
                        // A connection-scoped malformation always ends the
                        // connection, whatever the protocol answered.
                        Some(r.and(Err(ConnectionError {
                            code: e.code(),
                            reason: e.to_string(),
                            remote: false,
                        })))
                    }
                    Err(CodecError::Io(e)) => {
                        act.reading = false;
                        act.on_io_error(e.to_string(), ctx);
                        return Poll::Ready(());
                    }
                };
                match result {
                    Some(Ok(())) => {
                        frames += 1;
                        if frames >= FRAMES_PER_TURN {
                            act.arm_timer(ctx);
                            task.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                        continue;
                    }
                    Some(Err(e)) => {
                        act.connection_error(e, ctx);
                        this.draining = true;
                        continue;
                    }
                    None => act.arm_timer(ctx),
                }
            }
            if this.buf.capacity() - this.buf.len() < READ_RESERVE {
                this.buf.reserve(READ_RESERVE);
            }
            match tokio_util::io::poll_read_buf(Pin::new(&mut this.io), task, &mut this.buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => {
                    act.reading = false;
                    if act.lingering {
                        ctx.stop();
                    } else if !this.draining {
                        act.on_eof(ctx);
                    }
                    return Poll::Ready(());
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => {
                    act.reading = false;
                    if act.lingering {
                        ctx.stop();
                    } else if !this.draining {
                        act.on_io_error(e.to_string(), ctx);
                    }
                    return Poll::Ready(());
                }
            }
        }
    }
}

// ------------------------------------------------------------------ handlers

impl Handler<WriterDone> for Connection {
    type Result = ();
    fn handle(&mut self, msg: WriterDone, ctx: &mut Self::Context) {
        match msg.0 {
            Err(e) => {
                tracing::debug!(error = %e, "write failed");
                self.core.borrow_mut().set_reason(CloseReason::Io(e));
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
    type Result = Reply<Addr<H2Stream>>;
    fn handle(&mut self, msg: OpenStream, _: &mut Self::Context) -> Self::Result {
        let r = self
            .core
            .borrow_mut()
            .open(OpenKind::Stream(msg.subscriber));
        Reply::new(&self.core, r)
    }
}

impl Handler<SendRequest> for Connection {
    type Result = Reply<Addr<H2Stream>>;
    fn handle(&mut self, msg: SendRequest, _: &mut Self::Context) -> Self::Result {
        let r = self
            .core
            .borrow_mut()
            .open(OpenKind::Request(Box::new(msg)));
        Reply::new(&self.core, r)
    }
}

impl Handler<Ping> for Connection {
    type Result = Reply<Duration>;
    fn handle(&mut self, _: Ping, _: &mut Self::Context) -> Self::Result {
        let r = self.core.borrow_mut().ping();
        Reply::new(&self.core, r)
    }
}

impl Handler<Close> for Connection {
    type Result = ();
    fn handle(&mut self, msg: Close, ctx: &mut Self::Context) {
        let first = {
            let mut c = self.core.borrow_mut();
            if c.closing {
                false
            } else {
                c.closing = true;
                c.proto.go_away(msg.code, Bytes::new());
                c.kick();
                true
            }
        };
        if first {
            let d = self.close_timeout;
            ctx.run_later(d, |act, ctx| act.force_close(ctx));
        } else {
            self.force_close(ctx);
        }
    }
}

impl Handler<UpdateSettings> for Connection {
    type Result = Result<(), Error>;
    fn handle(&mut self, msg: UpdateSettings, ctx: &mut Self::Context) -> Self::Result {
        let r = {
            let mut c = self.core.borrow_mut();
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
        self.core.borrow_mut().subscriber = msg.0;
    }
}

impl Handler<GetStats> for Connection {
    type Result = MessageResult<GetStats>;
    fn handle(&mut self, _: GetStats, _: &mut Self::Context) -> Self::Result {
        let c = self.core.borrow();
        MessageResult(ConnectionStats {
            conn: c.id,
            write_buffered: c.wbuf.len(),
            write_buffer_high_water: c.wbuf_high_water,
            streams: c.stream_entries(),
            pending_sends: c.pending_sends(),
        })
    }
}
