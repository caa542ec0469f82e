//! `Core`: the state of one connection, shared by its [`Connection`] actor,
//! its [`Stream`] child actors and its writer task. All of them run on the
//! same arbiter thread, so the sharing is an `Rc<RefCell<_>>`: a stream
//! actor acts on the protocol directly (no extra message per action), and
//! the writer pulls encoded frames from the protocol once per turn.
//!
//! No borrow of the core is ever held across an `.await` or while user code
//! runs (notifications are queued with `do_send`/`send`, never handled
//! synchronously), so the `RefCell` cannot be borrowed twice.
//!
//! Bounds kept here: the write buffer (`max_write_buffer`, the writer stops
//! pulling from the protocol above it), the queue of `OpenStream` waiting
//! for a stream slot (`max_pending_open`), the `SendData`/`SendTrailers`
//! waiting per stream for room in the protocol's send buffer
//! (`max_queued_sends`), pending pings (the protocol's `max_pending_pings`),
//! and notifications deferred behind a `RecvData` the subscriber has not
//! handled yet (bounded by our receive window: their bytes are not released).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};
use std::task::Waker;
use std::time::{Duration, Instant};

use actix::dev::OneshotSender;
use actix::{Addr, Message, Recipient, WeakAddr};
use bytes::{Bytes, BytesMut};
use http::HeaderMap;

use super::messages::*;
use super::runner::SpawnerRef;
use super::{Connection, Stream};
use crate::frame::{ErrorCode, StreamId};
use crate::proto::{self, Event, UserError};

pub(crate) type CoreRef = Rc<RefCell<Core>>;
pub(crate) type WeakCore = Weak<RefCell<Core>>;

/// Notes kept per stream before the deferred queue switches to coalescing
/// DATA into one buffer (so a flood of tiny frames costs bytes, not notes).
const MAX_DEFERRED_NOTES: usize = 32;

/// Hashing for the stream table: ids are small distinct integers, so one
/// multiply spreads them well; SipHash showed in profiles.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHash;

impl std::hash::BuildHasher for IdHash {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Limits of the actor layer (the protocol's own limits live in `proto::Config`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_write_buffer: usize,
    pub max_pending_open: usize,
    pub max_queued_sends: usize,
}

/// Where a deferred reply's sender goes (see [`super::Reply`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot {
    /// A stream's `sending` FIFO: complete once `until` bytes of the stream
    /// were written (cumulative count).
    Sending(StreamId, u64),
    /// The last entry of a stream's `waiting` queue.
    Waiting(StreamId),
    /// The last queued `OpenStream`.
    Open,
    /// The last pending ping.
    Ping,
}

/// A `SendData` handed to the protocol whose sender waits for a reply:
/// resolved when the stream's written byte count reaches `until`. A
/// `do_send` (no reply wanted) leaves no entry at all: no allocation.
struct PendingSend {
    until: u64,
    tx: OneshotSender<Result<(), SendError>>,
}

/// A `SendData`/`SendTrailers` waiting for room in the protocol's per-stream
/// send buffer (keeps the order of the stream's actions).
enum Waiting {
    Data {
        data: Bytes,
        end_stream: bool,
        tx: Option<OneshotSender<Result<(), SendError>>>,
    },
    Trailers {
        trailers: HeaderMap,
        tx: Option<OneshotSender<Result<(), SendError>>>,
    },
}

impl Waiting {
    fn fail(self, err: SendError) {
        let tx = match self {
            Waiting::Data { tx, .. } | Waiting::Trailers { tx, .. } => tx,
        };
        if let Some(tx) = tx {
            let _ = tx.send(Err(err));
        }
    }
}

/// A notification kept back while a `RecvData` of the same stream is with
/// the subscriber (auto-release mode), so the order is kept.
enum Note {
    Data {
        data: Bytes,
        end_stream: bool,
    },
    DataBuf {
        buf: BytesMut,
        end_stream: bool,
    },
    Trailers(HeaderMap),
    Promise {
        promised: OpenedStream,
        request: http::Request<()>,
    },
    Reset {
        code: ErrorCode,
        remote: bool,
    },
}

struct StreamEntry {
    /// Held while the stream is in use, so the actor lives at least as long
    /// as its stream. A stream we opened (`OpenStream`, `Promise`) is only
    /// held from its first HEADERS on: if the user drops every address
    /// before that, the actor stops and the reserved stream is released.
    strong: Option<Addr<Stream>>,
    weak: WeakAddr<Stream>,
    subscriber: Option<Box<Subscriber>>,
    sending: VecDeque<PendingSend>,
    /// Bytes of this stream handed to the protocol / reported written.
    queued_total: u64,
    sent_total: u64,
    waiting: VecDeque<Waiting>,
    data_in_flight: bool,
    deferred: VecDeque<Note>,
    /// The protocol closed or reset the stream; the entry goes once the
    /// deferred notifications are out.
    closed: bool,
}

impl StreamEntry {
    fn new(addr: Addr<Stream>, subscriber: Option<Subscriber>, hold: bool) -> Self {
        StreamEntry {
            weak: addr.downgrade(),
            strong: hold.then_some(addr),
            // Boxed: most streams use the connection's subscriber, and the
            // entry is moved in and out of the table.
            subscriber: subscriber.map(Box::new),
            sending: VecDeque::new(),
            queued_total: 0,
            sent_total: 0,
            waiting: VecDeque::new(),
            data_in_flight: false,
            deferred: VecDeque::new(),
            closed: false,
        }
    }

    fn addr(&self) -> Option<Addr<Stream>> {
        match &self.strong {
            Some(a) => Some(a.clone()),
            None => self.weak.upgrade(),
        }
    }

    fn fail_sends(&mut self, err: &SendError) {
        for p in self.sending.drain(..) {
            let _ = p.tx.send(Err(err.clone()));
        }
        for w in self.waiting.drain(..) {
            w.fail(err.clone());
        }
    }
}

struct PendingOpen {
    subscriber: Option<Subscriber>,
    tx: Option<OneshotSender<Result<OpenedStream, SendError>>>,
}

struct PendingPing {
    payload: [u8; 8],
    sent: Instant,
    tx: Option<OneshotSender<Result<Duration, SendError>>>,
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

thread_local! {
    static LIVE_STREAMS: Cell<usize> = const { Cell::new(0) };
}

/// Stream actors alive on the current thread (for leak checks).
pub(crate) fn live_streams() -> usize {
    LIVE_STREAMS.with(|c| c.get())
}
pub(crate) fn stream_born() {
    LIVE_STREAMS.with(|c| c.set(c.get() + 1));
}
pub(crate) fn stream_died() {
    LIVE_STREAMS.with(|c| c.set(c.get().saturating_sub(1)));
}

/// The shared connection state. See the module docs.
pub(crate) struct Core {
    pub proto: proto::Connection,
    streams: HashMap<StreamId, StreamEntry, IdHash>,
    pub subscriber: Subscriber,
    pub auto_release: bool,
    me: WeakCore,
    pub conn: Option<WeakAddr<Connection>>,
    /// Where new stream actors go (see `runner`).
    pub spawner: SpawnerRef,
    pub limits: Limits,
    /// The coalescing write buffer (filled by `poll_transmit`, drained by the writer).
    pub wbuf: BytesMut,
    /// Largest size the write buffer reached (for tests of the bound).
    pub wbuf_high_water: usize,
    pub writer_waker: Option<Waker>,
    pub write_state: WriteState,
    opens: VecDeque<PendingOpen>,
    pings: VecDeque<PendingPing>,
    ping_seq: u64,
    /// Our GOAWAY is out (graceful close in progress).
    pub closing: bool,
    /// Why the connection ends (first cause wins).
    pub close_reason: Option<CloseReason>,
    /// A stream slot may have freed: retry the queued `OpenStream`s.
    slot_freed: bool,
}

impl Core {
    pub fn new(
        proto: proto::Connection,
        subscriber: Subscriber,
        auto_release: bool,
        limits: Limits,
    ) -> CoreRef {
        Rc::new_cyclic(|me| {
            RefCell::new(Core {
                proto,
                streams: HashMap::default(),
                subscriber,
                auto_release,
                me: me.clone(),
                conn: None,
                spawner: SpawnerRef::default(),
                limits,
                wbuf: BytesMut::with_capacity(limits.max_write_buffer.min(64 << 10) + 1024),
                wbuf_high_water: 0,
                writer_waker: None,
                write_state: WriteState::Open,
                opens: VecDeque::new(),
                pings: VecDeque::new(),
                ping_seq: 0,
                closing: false,
                close_reason: None,
                slot_freed: false,
            })
        })
    }

    /// Number of streams with a live entry (open, or notifications pending).
    pub fn stream_entries(&self) -> usize {
        self.streams.len()
    }

    /// Send replies still pending, over all streams.
    pub fn pending_sends(&self) -> usize {
        self.streams
            .values()
            .map(|e| e.sending.len() + e.waiting.len())
            .sum()
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
        if self.proto.wants_transmit()
            || self.proto.is_finished()
            || self.write_state != WriteState::Open
        {
            if let Some(w) = &self.writer_waker {
                w.wake_by_ref();
            }
        }
    }

    /// Writer side: append encoded frames to the write buffer while it is
    /// under its limit, delivering the events this produces (DataSent).
    pub fn pull_transmit(&mut self) {
        let limit = self.limits.max_write_buffer;
        loop {
            if self.wbuf.len() >= limit {
                break;
            }
            self.proto.poll_transmit(&mut self.wbuf, limit);
            self.process_events();
            if !self.proto.wants_transmit() {
                break;
            }
        }
        if self.wbuf.len() > self.wbuf_high_water {
            self.wbuf_high_water = self.wbuf.len();
        }
    }

    // ------------------------------------------------------------ streams

    /// Starts the child actor for a stream the peer opened and registers it.
    pub fn new_stream(&mut self, id: StreamId, subscriber: Option<Subscriber>) -> Addr<Stream> {
        let addr = Stream::start_child(self.me.clone(), &self.spawner, id);
        self.streams
            .insert(id, StreamEntry::new(addr.clone(), subscriber, true));
        addr
    }

    /// Starts the child actor for a stream we open (held from its first
    /// HEADERS on, see `StreamEntry::strong`).
    fn new_local_stream(&mut self, id: StreamId, subscriber: Option<Subscriber>) -> Addr<Stream> {
        let addr = Stream::start_child(self.me.clone(), &self.spawner, id);
        self.streams
            .insert(id, StreamEntry::new(addr.clone(), subscriber, false));
        addr
    }

    /// Our HEADERS went out on `id`: from now on the stream holds its actor.
    pub fn headers_sent(&mut self, id: StreamId) {
        if let Some(e) = self.streams.get_mut(&id) {
            if e.strong.is_none() {
                e.strong = e.weak.upgrade();
            }
        }
    }

    pub fn stream_subscriber(&self, id: StreamId) -> Option<Subscriber> {
        self.streams
            .get(&id)
            .and_then(|e| e.subscriber.as_deref().cloned())
    }

    pub fn set_stream_subscriber(&mut self, id: StreamId, s: Subscriber) {
        if let Some(e) = self.streams.get_mut(&id) {
            e.subscriber = Some(Box::new(s));
        }
    }

    /// True while the stream has an entry that is not closed.
    pub fn stream_is_open(&self, id: StreamId) -> bool {
        self.streams.get(&id).is_some_and(|e| !e.closed)
    }

    /// `SendData` from a stream actor.
    pub fn send_data(&mut self, id: StreamId, data: Bytes, end_stream: bool) -> ReplyNow<()> {
        let max_queued = self.limits.max_queued_sends;
        let Some(entry) = self.streams.get_mut(&id) else {
            return ReplyNow::Now(Err(self.gone_error(id)));
        };
        if entry.closed {
            return ReplyNow::Now(Err(SendError::User(UserError::UnknownStream(id))));
        }
        let len = data.len();
        if !entry.waiting.is_empty() {
            if entry.waiting.len() >= max_queued {
                return ReplyNow::Now(Err(SendError::QueueFull));
            }
            entry.waiting.push_back(Waiting::Data {
                data,
                end_stream,
                tx: None,
            });
            return ReplyNow::Later(Slot::Waiting(id));
        }
        // The protocol accepts any size on an empty queue; only keep a copy
        // of the handle (a refcount) when it may refuse.
        let retry = if entry.queued_total == entry.sent_total {
            None
        } else {
            Some(data.clone())
        };
        match self.proto.send_data(id, data, end_stream) {
            Ok(()) => {
                entry.queued_total += len as u64;
                let until = entry.queued_total;
                let done = entry.sent_total >= until;
                self.kick();
                if done {
                    return ReplyNow::Now(Ok(()));
                }
                ReplyNow::Later(Slot::Sending(id, until))
            }
            Err(UserError::SendBufferFull(_)) if retry.is_some() => {
                if max_queued == 0 {
                    return ReplyNow::Now(Err(SendError::QueueFull));
                }
                entry.waiting.push_back(Waiting::Data {
                    data: retry.unwrap_or_default(),
                    end_stream,
                    tx: None,
                });
                ReplyNow::Later(Slot::Waiting(id))
            }
            Err(e) => ReplyNow::Now(Err(e.into())),
        }
    }

    /// `SendTrailers` from a stream actor (ordered after queued data).
    pub fn send_trailers(&mut self, id: StreamId, trailers: HeaderMap) -> ReplyNow<()> {
        let max_queued = self.limits.max_queued_sends.max(1);
        let Some(entry) = self.streams.get_mut(&id) else {
            return ReplyNow::Now(Err(self.gone_error(id)));
        };
        if !entry.waiting.is_empty() {
            if entry.waiting.len() >= max_queued {
                return ReplyNow::Now(Err(SendError::QueueFull));
            }
            entry
                .waiting
                .push_back(Waiting::Trailers { trailers, tx: None });
            return ReplyNow::Later(Slot::Waiting(id));
        }
        let r = self.proto.send_trailers(id, trailers).map_err(Into::into);
        self.kick();
        ReplyNow::Now(r)
    }

    fn gone_error(&self, id: StreamId) -> SendError {
        if self.write_state != WriteState::Open {
            SendError::ConnectionClosed
        } else {
            SendError::User(UserError::UnknownStream(id))
        }
    }

    /// Moves waiting actions into the protocol as its send buffer frees.
    fn pump_waiting(&mut self, id: StreamId) {
        let Some(entry) = self.streams.get_mut(&id) else {
            return;
        };
        while let Some(w) = entry.waiting.pop_front() {
            match w {
                Waiting::Data {
                    data,
                    end_stream,
                    tx,
                } => {
                    let len = data.len();
                    match self.proto.send_data(id, data.clone(), end_stream) {
                        Ok(()) => {
                            entry.queued_total += len as u64;
                            if let Some(tx) = tx {
                                if entry.sent_total >= entry.queued_total {
                                    let _ = tx.send(Ok(()));
                                } else {
                                    entry.sending.push_back(PendingSend {
                                        until: entry.queued_total,
                                        tx,
                                    });
                                }
                            }
                        }
                        Err(UserError::SendBufferFull(_)) => {
                            entry.waiting.push_front(Waiting::Data {
                                data,
                                end_stream,
                                tx,
                            });
                            break;
                        }
                        Err(e) => {
                            if let Some(tx) = tx {
                                let _ = tx.send(Err(e.into()));
                            }
                        }
                    }
                }
                Waiting::Trailers { trailers, tx } => {
                    let r = self.proto.send_trailers(id, trailers).map_err(Into::into);
                    if let Some(tx) = tx {
                        let _ = tx.send(r);
                    }
                }
            }
        }
    }

    /// The user resets a stream: RST_STREAM, pending sends fail, the entry goes.
    pub fn user_reset(&mut self, id: StreamId, code: ErrorCode) {
        let _ = self.proto.reset(id, code);
        if let Some(mut e) = self.streams.remove(&id) {
            e.fail_sends(&SendError::Reset(code));
            self.drop_deferred(id, e.deferred);
        }
        self.slot_freed = true;
        self.kick();
    }

    /// A stream actor stopped or panicked while its stream was open.
    pub fn stream_actor_gone(&mut self, id: StreamId, panicked: bool) {
        if self.stream_is_open(id) {
            let code = if panicked {
                ErrorCode::INTERNAL_ERROR
            } else {
                ErrorCode::CANCEL
            };
            tracing::debug!(%id, ?code, "stream actor gone: resetting its stream");
            self.user_reset(id, code);
        }
    }

    /// Notes dropped with their stream: give their bytes back to the
    /// connection window so it does not shrink for good.
    fn drop_deferred(&mut self, id: StreamId, notes: VecDeque<Note>) {
        if !self.auto_release {
            return;
        }
        for n in notes {
            match n {
                Note::Data { data, .. } if !data.is_empty() => {
                    self.proto.release_capacity(id, data.len())
                }
                Note::DataBuf { buf, .. } if !buf.is_empty() => {
                    self.proto.release_capacity(id, buf.len())
                }
                _ => {}
            }
        }
    }

    pub fn release(&mut self, id: StreamId, n: usize) {
        if n > 0 {
            self.proto.release_capacity(id, n);
            self.kick();
        }
    }

    pub fn push_promise(
        &mut self,
        id: StreamId,
        request: http::Request<()>,
    ) -> Result<OpenedStream, SendError> {
        let pid = self.proto.push_promise(id, request)?;
        let sub = self.stream_subscriber(id);
        let stream = self.new_local_stream(pid, sub);
        self.kick();
        Ok(OpenedStream { id: pid, stream })
    }

    // --------------------------------------------------- connection actions

    /// `OpenStream`: now if a slot is free, else queued (boundedly).
    pub fn open_stream(&mut self, subscriber: Option<Subscriber>) -> ReplyNow<OpenedStream> {
        if self.closing || self.write_state != WriteState::Open {
            return ReplyNow::Now(Err(SendError::ConnectionClosed));
        }
        if self.opens.is_empty() {
            match self.proto.open_stream() {
                Ok(id) => {
                    let stream = self.new_local_stream(id, subscriber);
                    return ReplyNow::Now(Ok(OpenedStream { id, stream }));
                }
                Err(UserError::StreamLimit) => {}
                Err(e) => return ReplyNow::Now(Err(e.into())),
            }
        }
        if self.opens.len() >= self.limits.max_pending_open {
            return ReplyNow::Now(Err(SendError::QueueFull));
        }
        self.opens.push_back(PendingOpen {
            subscriber,
            tx: None,
        });
        ReplyNow::Later(Slot::Open)
    }

    fn retry_opens(&mut self) {
        while !self.opens.is_empty() {
            if self
                .opens
                .front()
                .is_some_and(|p| p.tx.as_ref().is_some_and(|t| t.is_closed()))
            {
                self.opens.pop_front();
                continue;
            }
            if !self.proto.can_open_stream() {
                break;
            }
            let Some(p) = self.opens.pop_front() else {
                break;
            };
            let r = match self.proto.open_stream() {
                Ok(id) => {
                    let stream = self.new_local_stream(id, p.subscriber);
                    Ok(OpenedStream { id, stream })
                }
                Err(UserError::StreamLimit) => {
                    self.opens.push_front(p);
                    break;
                }
                Err(e) => Err(e.into()),
            };
            if let Some(tx) = p.tx {
                let _ = tx.send(r);
            }
        }
    }

    /// `Ping`: bounded by the protocol's pending-ping limit.
    pub fn ping(&mut self) -> ReplyNow<Duration> {
        if self.write_state != WriteState::Open {
            return ReplyNow::Now(Err(SendError::ConnectionClosed));
        }
        self.ping_seq = self.ping_seq.wrapping_add(1);
        let payload = self.ping_seq.to_be_bytes();
        match self.proto.ping(payload) {
            Ok(()) => {
                self.pings.push_back(PendingPing {
                    payload,
                    sent: Instant::now(),
                    tx: None,
                });
                self.kick();
                ReplyNow::Later(Slot::Ping)
            }
            Err(UserError::TooManyPings) => ReplyNow::Now(Err(SendError::QueueFull)),
            Err(e) => ReplyNow::Now(Err(e.into())),
        }
    }

    /// Fills the sender of a deferred reply into its slot.
    pub fn fill_unit(&mut self, slot: Slot, tx: OneshotSender<Result<(), SendError>>) {
        match slot {
            Slot::Sending(id, until) => match self.streams.get_mut(&id) {
                Some(e) if e.sent_total < until => e.sending.push_back(PendingSend { until, tx }),
                Some(_) => {
                    let _ = tx.send(Ok(()));
                }
                None => {
                    let _ = tx.send(Err(SendError::ConnectionClosed));
                }
            },
            Slot::Waiting(id) => {
                if let Some(w) = self.streams.get_mut(&id).and_then(|e| e.waiting.back_mut()) {
                    match w {
                        Waiting::Data { tx: t, .. } | Waiting::Trailers { tx: t, .. } => {
                            *t = Some(tx)
                        }
                    }
                }
            }
            Slot::Open | Slot::Ping => {}
        }
    }

    pub fn fill_open(&mut self, tx: OneshotSender<Result<OpenedStream, SendError>>) {
        if let Some(p) = self.opens.back_mut() {
            p.tx = Some(tx);
        }
    }

    pub fn fill_ping(&mut self, tx: OneshotSender<Result<Duration, SendError>>) {
        if let Some(p) = self.pings.back_mut() {
            p.tx = Some(tx);
        }
    }

    // ------------------------------------------------------------- events

    /// Delivers every pending protocol event.
    pub fn process_events(&mut self) {
        while let Some(ev) = self.proto.poll_event() {
            self.on_event(ev);
        }
        if self.slot_freed {
            self.slot_freed = false;
            self.retry_opens();
        }
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Headers {
                id,
                head,
                end_stream,
            } => {
                let addr = match self.streams.get(&id).map(|e| e.addr()) {
                    Some(Some(a)) => a,
                    Some(None) => {
                        // Its actor is stopping: nobody can answer.
                        self.subscriber_gone(id);
                        return;
                    }
                    None => self.new_stream(id, None),
                };
                let gone = {
                    let sub = self.sub_of(id);
                    let r = deliver(
                        &sub.headers,
                        RecvHeaders {
                            stream: addr,
                            id,
                            head,
                            end_stream,
                        },
                    );
                    matches!(r, DataOutcome::Gone)
                };
                if gone {
                    self.subscriber_gone(id);
                }
            }
            Event::Data {
                id,
                data,
                end_stream,
            } => self.on_data(id, data, end_stream),
            Event::Trailers { id, trailers } => self.note(id, Note::Trailers(trailers)),
            Event::Promise {
                id,
                promised_id,
                request,
            } => {
                let sub = self.stream_subscriber(id);
                let stream = self.new_stream(promised_id, sub);
                let promised = OpenedStream {
                    id: promised_id,
                    stream,
                };
                self.note(id, Note::Promise { promised, request });
            }
            Event::Reset { id, code, remote } => {
                if let Some(e) = self.streams.get_mut(&id) {
                    e.fail_sends(&SendError::Reset(code));
                    e.closed = true;
                }
                self.note(id, Note::Reset { code, remote });
                self.slot_freed = true;
            }
            Event::Closed { id } => {
                if let Some(e) = self.streams.get_mut(&id) {
                    // Everything was written (both END_STREAMs are out).
                    for p in e.sending.drain(..) {
                        let _ = p.tx.send(Ok(()));
                    }
                    for w in e.waiting.drain(..) {
                        w.fail(SendError::User(UserError::UnknownStream(id)));
                    }
                    e.closed = true;
                }
                self.maybe_remove(id);
                self.slot_freed = true;
            }
            Event::DataSent { id, len } => {
                if let Some(e) = self.streams.get_mut(&id) {
                    e.sent_total += len as u64;
                    while e.sending.front().is_some_and(|p| p.until <= e.sent_total) {
                        if let Some(p) = e.sending.pop_front() {
                            let _ = p.tx.send(Ok(()));
                        }
                    }
                    if !e.waiting.is_empty() {
                        self.pump_waiting(id);
                    }
                }
            }
            Event::GoAway {
                last_stream_id,
                code,
                debug_data,
            } => {
                if code != ErrorCode::NO_ERROR {
                    self.set_reason(CloseReason::Error(proto::ConnectionError {
                        code,
                        reason: String::from_utf8_lossy(&debug_data).into_owned(),
                        remote: true,
                    }));
                }
                for p in self.opens.drain(..) {
                    if let Some(tx) = p.tx {
                        let _ = tx.send(Err(SendError::User(UserError::GoingAway)));
                    }
                }
                self.subscriber.go_away.do_send(GoAway {
                    last_stream_id,
                    code,
                    debug_data,
                });
            }
            Event::PingAck { payload } => {
                if let Some(i) = self.pings.iter().position(|p| p.payload == payload) {
                    if let Some(p) = self.pings.remove(i) {
                        if let Some(tx) = p.tx {
                            let _ = tx.send(Ok(p.sent.elapsed()));
                        }
                    }
                }
            }
            Event::RemoteSettings { .. } => self.slot_freed = true,
            Event::SettingsAcked => {}
        }
    }

    fn sub_of(&self, id: StreamId) -> &Subscriber {
        self.streams
            .get(&id)
            .and_then(|e| e.subscriber.as_deref())
            .unwrap_or(&self.subscriber)
    }

    fn on_data(&mut self, id: StreamId, data: Bytes, end_stream: bool) {
        let n = data.len();
        if !self.streams.contains_key(&id) {
            // Nobody to give it to (the stream was reset by us meanwhile).
            if n > 0 {
                self.proto.release_capacity(id, n);
            }
            return;
        }
        self.note(id, Note::Data { data, end_stream });
    }

    /// Delivers a notification, or keeps it behind a `RecvData` still with
    /// the subscriber so the stream's order holds.
    fn note(&mut self, id: StreamId, note: Note) {
        let Some(e) = self.streams.get_mut(&id) else {
            return;
        };
        if e.data_in_flight || !e.deferred.is_empty() {
            push_note(&mut e.deferred, note);
            return;
        }
        self.deliver_note(id, note);
        self.maybe_remove(id);
    }

    /// Sends one note to the stream's subscriber (a gone subscriber resets
    /// the stream).
    fn deliver_note(&mut self, id: StreamId, note: Note) {
        let auto_release = self.auto_release;
        let Core {
            streams,
            subscriber,
            me,
            ..
        } = self;
        let Some(e) = streams.get_mut(&id) else {
            return;
        };
        let sub = e.subscriber.as_deref().unwrap_or(subscriber);
        let Some(stream) = e.addr() else {
            // The actor is stopping (every address dropped): drop the note.
            let lost = match &note {
                Note::Data { data, .. } => data.len(),
                Note::DataBuf { buf, .. } => buf.len(),
                _ => 0,
            };
            if lost > 0 {
                self.proto.release_capacity(id, lost);
            }
            self.subscriber_gone(id);
            return;
        };
        let (ok, lost) = match note {
            Note::Data { data, end_stream } => {
                deliver_data(sub, me, auto_release, id, stream, data, end_stream)
            }
            Note::DataBuf { buf, end_stream } => {
                deliver_data(sub, me, auto_release, id, stream, buf.freeze(), end_stream)
            }
            Note::Trailers(trailers) => (
                deliver(
                    &sub.trailers,
                    RecvTrailers {
                        stream,
                        id,
                        trailers,
                    },
                ),
                0,
            ),
            Note::Promise { promised, request } => (
                deliver(
                    &sub.promise,
                    RecvPromise {
                        stream,
                        id,
                        promised,
                        request,
                    },
                ),
                0,
            ),
            Note::Reset { code, remote } => {
                deliver(&sub.reset, RecvReset { id, code, remote });
                (DataOutcome::Delivered, 0)
            }
        };
        match ok {
            DataOutcome::InFlight => e.data_in_flight = true,
            DataOutcome::Delivered => {}
            DataOutcome::Gone => {
                // Nobody will consume these bytes: give them back.
                if lost > 0 {
                    self.proto.release_capacity(id, lost);
                }
                self.subscriber_gone(id);
            }
        }
    }

    /// The subscriber finished handling a `RecvData` (auto-release mode).
    fn data_handled(&mut self, id: StreamId, n: usize, ok: bool) {
        if n > 0 {
            // Give the bytes back even if the stream is gone: the connection
            // window counts them too.
            self.proto.release_capacity(id, n);
        }
        if !ok {
            self.subscriber_gone(id);
        }
        if let Some(e) = self.streams.get_mut(&id) {
            e.data_in_flight = false;
        }
        // Drain the notes kept back, up to the next DATA in flight.
        while let Some(e) = self.streams.get_mut(&id) {
            if e.data_in_flight {
                break;
            }
            let Some(note) = e.deferred.pop_front() else {
                break;
            };
            self.deliver_note(id, note);
        }
        self.maybe_remove(id);
        self.kick();
    }

    /// The subscriber of a stream is gone: reset that stream (CANCEL), never
    /// the connection.
    fn subscriber_gone(&mut self, id: StreamId) {
        if self.stream_is_open(id) {
            tracing::debug!(%id, "subscriber gone: resetting the stream");
            self.user_reset(id, ErrorCode::CANCEL);
        } else if let Some(e) = self.streams.remove(&id) {
            self.drop_deferred(id, e.deferred);
        }
    }

    fn maybe_remove(&mut self, id: StreamId) {
        if let Some(e) = self.streams.get(&id) {
            if e.closed && !e.data_in_flight && e.deferred.is_empty() {
                self.streams.remove(&id);
            }
        }
    }

    // ------------------------------------------------------------ shutdown

    /// The connection ends: every stream still known hears `RecvReset`,
    /// every pending reply fails with `ConnectionClosed`.
    pub fn shutdown_all(&mut self) {
        let code = match &self.close_reason {
            Some(CloseReason::Error(e)) => e.code,
            _ => ErrorCode::CANCEL,
        };
        let remote = !matches!(&self.close_reason, Some(CloseReason::Error(e)) if !e.remote);
        let streams = std::mem::take(&mut self.streams);

        for (id, mut e) in streams {
            e.fail_sends(&SendError::ConnectionClosed);
            if !e.closed {
                let sub = e.subscriber.as_deref().unwrap_or(&self.subscriber);
                deliver(&sub.reset, RecvReset { id, code, remote });
            }
        }
        for p in self.opens.drain(..) {
            if let Some(tx) = p.tx {
                let _ = tx.send(Err(SendError::ConnectionClosed));
            }
        }
        for p in self.pings.drain(..) {
            if let Some(tx) = p.tx {
                let _ = tx.send(Err(SendError::ConnectionClosed));
            }
        }
    }

    /// Forced close: streams still open are reset (CANCEL) locally.
    pub fn reset_all_streams(&mut self) {
        let ids: Vec<StreamId> = self
            .streams
            .iter()
            .filter(|(_, e)| !e.closed)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(mut e) = self.streams.remove(&id) {
                let _ = self.proto.reset(id, ErrorCode::CANCEL);
                e.fail_sends(&SendError::Reset(ErrorCode::CANCEL));
                let sub = e.subscriber.as_deref().unwrap_or(&self.subscriber);
                deliver(
                    &sub.reset,
                    RecvReset {
                        id,
                        code: ErrorCode::CANCEL,
                        remote: false,
                    },
                );
            }
        }
    }
}

/// A reply known now, or one whose sender is filled into a [`Slot`] once the
/// handler returns (see [`super::Reply`]).
pub(crate) enum ReplyNow<T> {
    Now(Result<T, SendError>),
    Later(Slot),
}

fn push_note(q: &mut VecDeque<Note>, note: Note) {
    if q.len() >= MAX_DEFERRED_NOTES {
        if let Note::Data { data, end_stream } = note {
            match q.back_mut() {
                Some(Note::DataBuf {
                    buf,
                    end_stream: end,
                }) => {
                    buf.extend_from_slice(&data);
                    *end = end_stream;
                    return;
                }
                Some(Note::Data {
                    data: last,
                    end_stream: end,
                }) => {
                    let mut buf = BytesMut::with_capacity(last.len() + data.len());
                    buf.extend_from_slice(last);
                    buf.extend_from_slice(&data);
                    let end = *end || end_stream;
                    q.pop_back();
                    q.push_back(Note::DataBuf {
                        buf,
                        end_stream: end,
                    });
                    return;
                }
                _ => {
                    q.push_back(Note::Data { data, end_stream });
                    return;
                }
            }
        }
    }
    q.push_back(note);
}

enum DataOutcome {
    Delivered,
    InFlight,
    Gone,
}

impl From<bool> for DataOutcome {
    fn from(ok: bool) -> Self {
        if ok {
            DataOutcome::Delivered
        } else {
            DataOutcome::Gone
        }
    }
}

/// Queues a notification; false when the recipient is gone.
fn deliver<M>(r: &Recipient<M>, m: M) -> DataOutcome
where
    M: Message<Result = ()> + Send + 'static,
{
    if r.connected() {
        r.do_send(m);
        DataOutcome::Delivered
    } else {
        DataOutcome::Gone
    }
}

/// Delivers DATA. With auto-release the bytes go back to the windows when
/// the subscriber has *handled* the message (`send` + completion), so a slow
/// subscriber slows the peer; later notes of the stream wait meanwhile.
/// Returns the outcome and the byte count (to release if the subscriber is gone).
fn deliver_data(
    sub: &Subscriber,
    me: &WeakCore,
    auto_release: bool,
    id: StreamId,
    stream: Addr<Stream>,
    data: Bytes,
    end_stream: bool,
) -> (DataOutcome, usize) {
    let n = data.len();
    if !sub.data.connected() {
        return (DataOutcome::Gone, n);
    }
    let msg = RecvData {
        stream,
        id,
        data,
        end_stream,
    };
    if !auto_release {
        sub.data.do_send(msg);
        return (DataOutcome::Delivered, 0);
    }
    let req = sub.data.send(msg);
    let me = me.clone();
    actix_rt::spawn(async move {
        let ok = req.await.is_ok();
        if let Some(core) = me.upgrade() {
            match core.try_borrow_mut() {
                Ok(mut c) => c.data_handled(id, n, ok),
                Err(_) => tracing::error!(%id, "core busy: capacity not released"),
            }
        }
    });
    (DataOutcome::InFlight, 0)
}
