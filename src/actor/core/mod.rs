//! `Core`: the state of one connection, a field of its [`Connection`]
//! actor and of nothing else: the actor's handlers (which also do the
//! work of its streams' messages and of its [`Session`]'s actions) and the
//! items of its context (the driver that reads and writes, the timers)
//! borrow it from the actor, one at a time, in the actor's turn. A stream
//! handle ([`H2Stream`]) and a `Session` never touch it: their messages go
//! through the connection's mailbox. What the core shares outside the
//! actor is small and closed: the event queue of a session or of a
//! `Client`'s connection (`queue.rs`; a client's requests come in through
//! it too, taken by the driver at each turn), the
//! reply slots of queued opens and pings ([`Parked`]), and a stream's
//! notifications kept back behind a `RecvData` still with its subscriber
//! (`Backlog`, shared with the driver's wait for that `RecvData`).
//!
//! One stream table: the protocol's (`proto::store`). The actor layer's
//! per-stream state, a `StreamEntry` (the stream's subscriber,
//! reply slots, notifications kept back), is the application slot of the
//! protocol's stream ([`Proto`] is `proto::Connection<StreamEntry>`): one
//! lookup finds both, and the entry leaves with the stream's terminal
//! event (see `table.rs`).
//!
//! The files: `table.rs` (the per-stream entries and how they end),
//! `send.rs` (stream actions:
//! headers, data, trailers, push, reset, release), `open.rs` (opening client
//! streams within the peer's limit, pings), `deliver.rs` (protocol events to
//! notifications, in order, with the subscriber defaults).
//!
//! Bounds kept here: the write buffer (`max_write_buffer`, the writer stops
//! pulling from the protocol above it), the queue of `OpenStream` /
//! `SendRequest` waiting for a stream slot (`max_pending_open`), the
//! `SendData`/`SendTrailers` waiting per stream for room in the protocol's
//! send buffer (`max_queued_sends`), pending pings (the protocol's
//! `max_pending_pings`), and notifications deferred behind a `RecvData` the
//! subscriber has not handled yet (bounded by our receive window: their
//! bytes are not released).
//!
//! [`Connection`]: super::Connection
//! [`H2Stream`]: super::H2Stream
//! [`Session`]: super::Session

mod deliver;
mod open;
mod queue;
mod send;
mod table;

pub(crate) use queue::{EventQueue, Item};

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

use crate::proto::WriteQueue;

use super::listener::stats::ConnCounters;
use super::messages::*;
use super::stream::{ConnLink, H2Stream, Key};
use crate::frame::{ErrorCode, StreamId};
use crate::proto;

use table::{BacklogRef, PendingOpen, PendingPing, StreamEntry};
pub(crate) use table::{OpenKind, Parked, ReplyNow};

/// The protocol state machine, with the actor layer's entry as each
/// stream's application slot: the one stream table.
pub(crate) type Proto = proto::Connection<StreamEntry>;

/// A `RecvData` with the subscriber (auto-release mode): resolves to its
/// stream's backlog, its byte count, and whether it was handled, for
/// [`Core::data_handled`]. Polled by the connection's driver.
pub(crate) struct Handled {
    backlog: Option<BacklogRef>,
    /// Boxed: the request holds a timer that must not move (one
    /// allocation, as the task that awaited it before cost).
    req: std::pin::Pin<Box<actix::dev::RecipientRequest<RecvData>>>,
    n: usize,
}

impl std::future::Future for Handled {
    type Output = (BacklogRef, usize, bool);
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let ok = match self.req.as_mut().poll(cx) {
            std::task::Poll::Pending => return std::task::Poll::Pending,
            std::task::Poll::Ready(r) => r.is_ok(),
        };
        match self.backlog.take() {
            Some(b) => std::task::Poll::Ready((b, self.n, ok)),
            // Polled again after it was ready: a bug of the caller.
            None => std::task::Poll::Pending,
        }
    }
}

/// Limits of the actor layer (the protocol's own limits live in `proto::Config`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_write_buffer: usize,
    pub max_pending_open: usize,
    pub max_queued_sends: usize,
}

/// What the writer does once the buffer is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteState {
    /// Keep writing what the protocol produces.
    Open,
    /// Write what is left (the protocol's last frames included), then shut
    /// the write half down and report.
    Shutdown,
    /// Stop now (the actor is gone or the transport failed).
    Abort,
}

/// The connection's state. See the module docs.
pub(crate) struct Core {
    /// The protocol, and in it the stream table (see the module docs).
    pub proto: Proto,
    pub id: ConnectionId,
    /// Backlogs of ended streams waiting for a `RecvData` to be handled
    /// (counted with the stream entries).
    lingering: usize,
    /// `shutdown_all` ran: backlogs of ended streams are dropped.
    streams_shut: bool,
    pub subscriber: Subscriber,
    /// A `Session` or a `Client` takes every notification from this queue
    /// instead (and a `Client` puts its requests there).
    pub session: Option<Rc<EventQueue>>,
    pub auto_release: bool,
    /// What stream handles reach the connection by (set when the actor
    /// is created, before any stream exists).
    pub link: Option<Arc<ConnLink>>,
    pub limits: Limits,
    /// The write queue (filled by `poll_transmit_vectored`, drained by the
    /// writer): frame heads and small payloads copied, large DATA payloads
    /// referenced (see `proto::WriteQueue`).
    pub wbuf: WriteQueue,
    /// Largest size the write buffer reached (for tests of the bound).
    pub wbuf_high_water: usize,
    /// Wakes the connection actor's task (registered by its driver at each
    /// poll): its driver then writes, and its timer watch re-arms.
    pub task_waker: Option<Waker>,
    /// The driver's write phase, and the timer watch after it, are still
    /// to come in the actor's current turn: set by the mailbox handlers
    /// (`Connection::turn`) and by the driver before it reads, cleared
    /// when it has written, and set by [`Core::wake`] when it wakes the
    /// task. While it is set, nothing wakes the task (a task that wakes
    /// itself is polled once more for nothing).
    pub flush_due: bool,
    /// The time this turn's protocol calls are stamped with ([`Core::now`]):
    /// read once per turn, while `flush_due` holds, instead of once per
    /// frame and per send. `clock_gettime` was 3% of the server's time at
    /// `h2load -c 16 -m 32` (perf, cpu-clock), three calls per request.
    turn_now: Option<Instant>,
    pub write_state: WriteState,
    opens: VecDeque<PendingOpen>,
    /// Client streams opened (`OpenStream`) that have not sent HEADERS:
    /// they hold a slot of the peer's MAX_CONCURRENT_STREAMS but no id yet.
    reserved: usize,
    pings: VecDeque<PendingPing>,
    ping_seq: u64,
    /// Our GOAWAY is out (graceful close in progress).
    pub closing: bool,
    /// Why the connection ends (first cause wins).
    pub close_reason: Option<CloseReason>,
    /// A stream slot may have freed: retry the queued opens.
    slot_freed: bool,
    /// When the actor's timer fires (kept by `Connection::arm_timer`).
    pub timer_at: Option<Instant>,
    /// The listener's counters, for connections a `Listener` started.
    pub stats: Option<ConnCounters>,
    /// The `RecvData` with subscribers (auto-release mode), polled by the
    /// driver in the actor's turn (no task of their own); at the end,
    /// the notes still kept behind them go out at once (`shutdown_all`).
    /// Created by the first such wait: a `FuturesUnordered` allocates
    /// ~150 bytes when made, which most connections never need.
    pub handled: Option<futures::stream::FuturesUnordered<Handled>>,
}

impl Core {
    pub fn new(proto: Proto, subscriber: Subscriber, auto_release: bool, limits: Limits) -> Core {
        Core {
            proto,
            id: ConnectionId::next(),
            lingering: 0,
            streams_shut: false,
            subscriber,
            session: None,
            auto_release,
            link: None,
            limits,
            // Empty until there is something to write (`writer::pull`).
            wbuf: WriteQueue::new(),
            wbuf_high_water: 0,
            task_waker: None,
            flush_due: false,
            turn_now: None,
            write_state: WriteState::Open,
            opens: VecDeque::new(),
            reserved: 0,
            pings: VecDeque::new(),
            ping_seq: 0,
            closing: false,
            close_reason: None,
            slot_freed: false,
            timer_at: None,
            stats: None,
            handled: None,
        }
    }

    /// A stream action sent with `do_send` (nobody awaits its reply) was
    /// refused with `err`: it would otherwise go unseen and leave the
    /// stream open until the peer gives up, so the stream is reset with
    /// INTERNAL_ERROR (RFC 9113 §5.4.2).
    pub fn unheard(&mut self, id: StreamId, err: &Error) {
        if matches!(
            err,
            Error::ConnectionClosed
                | Error::Reset(_)
                | Error::User(crate::proto::UserError::UnknownStream(_))
        ) {
            return; // the stream is over already
        }
        // A stream the peer reset (or that ended otherwise) before the
        // action came is over already: nothing to reset, and nothing the
        // user did wrong (a peer that resets streams quickly makes this
        // routine; RFC 9113 §5.4.2 needs no second RST_STREAM).
        if !self.stream_is_open(id) {
            tracing::trace!(conn = %self.id, stream = %id, "refused action on a stream that is over already");
            return;
        }
        crate::log_limit::limited!(warn, conn = %self.id, stream = %id, "an action sent without awaiting its reply was refused: resetting the stream (INTERNAL_ERROR)");
        self.reset_stream(id, ErrorCode::INTERNAL_ERROR, true);
    }

    /// The handle of stream `id` (`None` before the actor exists).
    pub fn handle(&self, id: StreamId) -> Option<H2Stream> {
        Some(H2Stream::new(self.link.clone()?, Key::Id(id)))
    }

    /// Number of streams with a live entry (open, or notifications pending).
    pub fn stream_entries(&self) -> usize {
        self.proto.apps().count() + self.lingering
    }

    /// Send replies still pending, over all streams.
    pub fn pending_sends(&self) -> usize {
        self.proto.apps().map(|(_, e)| e.pending_sends()).sum()
    }

    pub fn set_reason(&mut self, reason: CloseReason) {
        if self.close_reason.is_none() {
            self.close_reason = Some(reason);
        }
    }

    /// After any change to the protocol: deliver its events and wake the
    /// writer if there is something to write (or to finish).
    pub fn kick(&mut self) {
        self.process_events();
        self.deadline_moved();
        if let Some(s) = &mut self.stats {
            s.sync_streams(self.proto.active_streams());
        }
        if self.proto.wants_transmit()
            || self.proto.is_finished()
            || self.write_state != WriteState::Open
        {
            self.wake();
        }
    }

    /// Makes sure the driver's write phase and the timer watch run: they
    /// do anyway when `flush_due` (see the field); otherwise wakes the
    /// actor's task.
    pub fn wake(&mut self) {
        if !self.flush_due {
            if let Some(w) = &self.task_waker {
                w.wake_by_ref();
                self.set_flush_due(true);
            }
        }
    }

    /// Sets or clears `flush_due`. A change either way starts or ends a
    /// turn, and with it the turn's clock ([`Core::now`]).
    pub fn set_flush_due(&mut self, due: bool) {
        if self.flush_due != due {
            self.flush_due = due;
            self.turn_now = None;
        }
    }

    /// The time for the protocol's calls (deadlines, flood windows): one
    /// reading of the clock per turn of the actor (while `flush_due` holds:
    /// its mailbox messages, then its read and write phases, all in one
    /// poll of its task, which handles a bounded number of each). Outside
    /// a turn (a timer's callback), the clock itself. The deadlines are
    /// seconds; a turn is microseconds.
    pub fn now(&mut self) -> Instant {
        if !self.flush_due {
            return Instant::now();
        }
        *self.turn_now.get_or_insert_with(Instant::now)
    }

    /// New bytes came in: the next call to [`Core::now`] reads the clock
    /// again, so that the frames in them are stamped with their arrival.
    pub fn fresh_clock(&mut self) {
        self.turn_now = None;
    }

    /// Writer side: append encoded frames to the write buffer while it is
    /// under its limit, delivering the events this produces (DataSent).
    pub fn pull_transmit(&mut self) {
        let limit = self.limits.max_write_buffer;
        let start = self.wbuf.len();
        loop {
            if self.wbuf.len() >= limit {
                break;
            }
            let now = self.now();
            self.proto
                .poll_transmit_vectored(&mut self.wbuf, limit, now);
            self.process_events();
            if !self.proto.wants_transmit() {
                break;
            }
        }
        if self.wbuf.len() > self.wbuf_high_water {
            self.wbuf_high_water = self.wbuf.len();
        }
        if let Some(s) = &mut self.stats {
            // The protocol appends whole frames.
            self.wbuf
                .for_each_frame(start, |kind, payload| s.frame_out(kind, payload));
            s.sync_streams(self.proto.active_streams());
        }
        self.deadline_moved();
    }

    /// The protocol's next deadline is earlier than the actor's timer:
    /// true when a call just now (the writer found a stream's window shut,
    /// a stream's last frame ended the last stream, a stream actor queued
    /// DATA behind a shut window) started a deadline before the armed one.
    pub fn deadline_earlier(&self) -> bool {
        match (self.proto.poll_timeout(), self.timer_at) {
            (Some(next), Some(armed)) => next < armed,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// After a call into the protocol: if it moved the next deadline
    /// earlier than the armed timer, the timer watch re-arms, later in
    /// this turn or after a wake (see [`Core::wake`]).
    fn deadline_moved(&mut self) {
        if self.deadline_earlier() {
            self.wake();
        }
    }

    // ------------------------------------------------------------ shutdown

    /// The connection ends: every stream still open hears `RecvReset`,
    /// every pending reply fails with `ConnectionClosed`.
    pub fn shutdown_all(&mut self) {
        let code = match &self.close_reason {
            Some(CloseReason::Error(e)) => e.code,
            _ => ErrorCode::CANCEL,
        };
        // Closed by the peer (or the transport), or by us (our error, our
        // timeout).
        let remote = match &self.close_reason {
            Some(CloseReason::Error(e)) => e.remote,
            Some(CloseReason::Timeout(_)) => false,
            _ => true,
        };
        // Streams that ended already (complete: their last notes are kept
        // behind a `RecvData` still with the subscriber): the rest goes
        // out now, without waiting.
        for h in self.handled.take().into_iter().flatten() {
            self.flush_orphan(h.backlog, h.req);
        }
        self.streams_shut = true;
        self.lingering = 0;
        for (id, mut e) in self.proto.take_apps() {
            e.fail_sends(&Error::ConnectionClosed);
            e.drop_backlog();
            let cause =
                ResetCause::Connection(self.close_reason.clone().unwrap_or(CloseReason::Done));
            self.deliver_reset_now(id, &e.dest, code, remote, cause);
        }
        self.fail_opens(Error::ConnectionClosed);
        for p in self.pings.drain(..) {
            p.tx.send(Err(Error::ConnectionClosed));
        }
    }

    /// Forced close: streams still open are reset (CANCEL) locally.
    pub fn reset_all_streams(&mut self) {
        let ids: Vec<StreamId> = self.proto.apps().map(|(id, _)| id).collect();
        for id in ids {
            if let Some(mut e) = self.proto.take_app(id) {
                let now = self.now();
                let _ = self.proto.reset(id, ErrorCode::CANCEL, now);
                e.fail_sends(&Error::Reset(ErrorCode::CANCEL));
                e.drop_backlog();
                let cause =
                    ResetCause::Connection(self.close_reason.clone().unwrap_or(CloseReason::Done));
                self.deliver_reset_now(id, &e.dest, ErrorCode::CANCEL, false, cause);
            }
        }
    }
}
