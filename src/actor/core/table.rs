//! What the actor layer keeps per stream: its subscriber (and, for the
//! streams only their handles hold, the handles' shared state), the replies waiting for its bytes to be written, and the
//! notifications kept back to keep their order.
//!
//! One table: a [`StreamEntry`] is the application slot of the protocol's
//! own stream (`proto::Stream::app`, in `proto::store`'s `StreamMap`), so a
//! stream's protocol state and its entry are one lookup and are forgotten
//! together. It is set at the stream's first HEADERS (sent or received) or
//! its PUSH_PROMISE, and found with `proto.app(id)` / `app_mut(id)`.
//!
//! The protocol forgets a stream the moment both sides are done or it is
//! reset (its limits and the §5.1 rules count on that), while events of
//! that stream queued before (DATA, trailers) are delivered after the
//! protocol call returns. So the entry leaves with the stream's terminal
//! event (`Event::Finished`/`Event::RecvReset` carry it, and `app_mut` finds it
//! there until the event is polled): when the core takes that event it
//! owns the entry and ends it.
//!
//! One thing may outlive the protocol's stream: notifications kept back
//! behind a `RecvData` the subscriber has not handled yet (auto-release
//! mode). They live in a [`Backlog`], shared (`Rc`) between the entry and
//! the driver's wait for that `RecvData`. If the entry ends meanwhile, the
//! backlog takes who the notes go to (a [`Dest`]) and the wait brings it
//! back (`Core::data_handled`, from the driver), which delivers the rest: no
//! second table.
//! Such backlogs count as entries in `ConnectionStats::streams`; they are
//! reachable only from their wait, so a `Subscribe` sent to the stream
//! after it ended no longer redirects them. When the connection ends
//! first (`shutdown_all`), the stream was complete: its last notes go out
//! after the `RecvData` still with the subscriber, without waiting for it
//! to be handled (`Core::flush_orphan`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

use std::sync::{Arc, Weak};

use actix::dev::OneshotSender;
use bytes::{Bytes, BytesMut};
use http::HeaderMap;

use super::super::messages::{Error, Event, SendRequest, Subscriber};
use super::super::stream::{ConnLink, H2Stream, Key, Tracked};
use crate::frame::StreamId;

/// Notes kept per stream before the deferred queue switches to coalescing
/// DATA into one buffer (so a flood of tiny frames costs bytes, not notes).
const MAX_DEFERRED_NOTES: usize = 32;

/// A reply known now, or one whose sender is filled into a [`Slot`] once the
/// handler returns (see [`super::super::Reply`]).
pub(crate) enum ReplyNow<T> {
    Now(Result<T, Error>),
    Later(Slot),
}

/// Where a deferred reply's sender goes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot {
    /// A stream's `sending` FIFO: complete once `until` bytes of the stream
    /// were written (cumulative count).
    Sending(StreamId, u64),
    /// The last entry of a stream's `waiting` queue.
    Waiting(StreamId),
    /// The last queued `OpenStream` / `SendRequest`.
    Open,
    /// The last pending ping.
    Ping,
}

/// A `SendData` handed to the protocol whose sender waits for a reply:
/// resolved when the stream's written byte count reaches `until`. A
/// `do_send` (no reply wanted) leaves no entry at all: no allocation.
pub(crate) struct PendingSend {
    pub until: u64,
    pub tx: OneshotSender<Result<(), Error>>,
}

/// A `SendData`/`SendTrailers` waiting for room in the protocol's per-stream
/// send buffer (keeps the order of the stream's actions).
pub(crate) enum Waiting {
    Data {
        data: Bytes,
        end_stream: bool,
        tx: Option<OneshotSender<Result<(), Error>>>,
    },
    Trailers {
        trailers: HeaderMap,
        tx: Option<OneshotSender<Result<(), Error>>>,
    },
}

impl Waiting {
    pub fn fail(self, err: Error) {
        let tx = match self {
            Waiting::Data { tx, .. } | Waiting::Trailers { tx, .. } => tx,
        };
        if let Some(tx) = tx {
            let _ = tx.send(Err(err));
        }
    }
    pub fn set_tx(&mut self, sender: OneshotSender<Result<(), Error>>) {
        match self {
            Waiting::Data { tx, .. } | Waiting::Trailers { tx, .. } => *tx = Some(sender),
        }
    }
}

/// Received bytes a notification holds (to give back if it is dropped).
pub(crate) fn unread(ev: &Event) -> usize {
    match ev {
        Event::RecvData(d) => d.data.len(),
        _ => 0,
    }
}

/// Who hears a stream's notifications: its subscriber, with the stream's
/// handle.
pub(crate) struct Dest {
    /// For a stream only its handles hold (see `stream.rs`): their shared
    /// state. A stream we promise is held weakly until its first HEADERS
    /// (if the user drops every handle before, the stream is reset), then
    /// strongly. `None`: the handle is the connection and the id.
    pub tracked: Option<TrackedRef>,
    /// The stream's own subscriber (else the connection's). Boxed: most
    /// streams use the connection's.
    pub subscriber: Option<Box<Subscriber>>,
}

pub(crate) enum TrackedRef {
    Strong(Arc<Tracked>),
    Weak(Weak<Tracked>),
}

impl Dest {
    /// The handle notifications of stream `id` carry; `None` when only its
    /// handles held it and they are gone.
    pub fn stream(&self, link: &Option<Arc<ConnLink>>, id: StreamId) -> Option<H2Stream> {
        let link = link.clone()?;
        let key = match &self.tracked {
            None => Key::Id(id),
            Some(TrackedRef::Strong(t)) => Key::Tracked(t.clone()),
            Some(TrackedRef::Weak(w)) => Key::Tracked(w.upgrade()?),
        };
        Some(H2Stream::new(link, key))
    }

    /// From now on the entry holds the stream (its first HEADERS are out).
    pub fn hold(&mut self) {
        if let Some(TrackedRef::Weak(w)) = &self.tracked {
            if let Some(t) = w.upgrade() {
                self.tracked = Some(TrackedRef::Strong(t));
            }
        }
    }

    /// The stream's subscriber, or the connection's `conn`.
    pub fn sub<'a>(&'a self, conn: &'a Subscriber) -> &'a Subscriber {
        self.subscriber.as_deref().unwrap_or(conn)
    }
}

/// A stream's notifications kept back while one of its `RecvData` is with
/// the subscriber (see the module docs).
pub(crate) struct Backlog {
    pub id: StreamId,
    /// A `RecvData` of this stream is with the subscriber.
    pub in_flight: bool,
    pub notes: VecDeque<Event>,
    /// Set when the stream's entry ended (its terminal event) while a
    /// `RecvData` was in flight: who the notes left go to.
    pub orphan: Option<Dest>,
}

pub(crate) type BacklogRef = Rc<RefCell<Backlog>>;

impl Backlog {
    pub fn new(id: StreamId) -> BacklogRef {
        Rc::new(RefCell::new(Backlog {
            id,
            in_flight: false,
            notes: VecDeque::new(),
            orphan: None,
        }))
    }

    /// A new note must wait behind the ones in flight or kept back.
    pub fn busy(&self) -> bool {
        self.in_flight || !self.notes.is_empty()
    }

    /// Drops the notes kept back; returns the received bytes they held.
    pub fn clear(&mut self) -> usize {
        self.notes.drain(..).map(|n| unread(&n)).sum()
    }

    /// Keeps `ev` back, coalescing DATA into the last `RecvData` past a
    /// few notifications (a flood of tiny frames then costs bytes, not
    /// notifications).
    pub fn defer(&mut self, ev: Event) {
        let q = &mut self.notes;
        if q.len() >= MAX_DEFERRED_NOTES {
            if let (Event::RecvData(next), Some(Event::RecvData(last))) = (&ev, q.back_mut()) {
                // Grown in place once it is ours alone (the first time it
                // is a slice of the read buffer: copied once).
                let mut buf = match std::mem::take(&mut last.data).try_into_mut() {
                    Ok(buf) => buf,
                    Err(shared) => BytesMut::from(&shared[..]),
                };
                buf.extend_from_slice(&next.data);
                last.data = buf.freeze();
                last.end_stream |= next.end_stream;
                return;
            }
        }
        q.push_back(ev);
    }
}

/// A `VecDeque` allocated (with its box) at its first push, for queues
/// most streams never use: 8 bytes in the entry while empty. The methods
/// are the `VecDeque` ones the core uses.
#[allow(clippy::box_collection)] // the point: 8 bytes while unused
pub(crate) struct BoxedDeque<T>(Option<Box<VecDeque<T>>>);

impl<T> Default for BoxedDeque<T> {
    fn default() -> Self {
        BoxedDeque(None)
    }
}

impl<T> BoxedDeque<T> {
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |q| q.len())
    }
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|q| q.is_empty())
    }
    pub fn push_back(&mut self, v: T) {
        self.0.get_or_insert_with(Default::default).push_back(v);
    }
    pub fn push_front(&mut self, v: T) {
        self.0.get_or_insert_with(Default::default).push_front(v);
    }
    pub fn front(&self) -> Option<&T> {
        self.0.as_ref()?.front()
    }
    pub fn pop_front(&mut self) -> Option<T> {
        self.0.as_mut()?.pop_front()
    }
    pub fn back_mut(&mut self) -> Option<&mut T> {
        self.0.as_mut()?.back_mut()
    }
    /// Every element, in order; the queue's memory goes with them.
    pub fn drain(&mut self, _: std::ops::RangeFull) -> impl Iterator<Item = T> {
        self.0.take().into_iter().flat_map(|q| *q)
    }
}

/// The actor layer's state of one stream: the application slot of the
/// protocol's stream (see the module docs). Every entry in the table is of
/// a stream the protocol has not ended yet.
pub(crate) struct StreamEntry {
    pub dest: Dest,
    /// Awaited `SendData`s not written out yet; boxed until the first
    /// (many streams never await one): 8 bytes in every entry, not 32.
    pub sending: BoxedDeque<PendingSend>,
    /// Bytes of this stream handed to the protocol / reported written.
    pub queued_total: u64,
    pub sent_total: u64,
    /// Actions waiting for room in the protocol's send buffer: rare (a
    /// full buffer), so boxed (8 bytes in every entry instead of 32).
    pub waiting: BoxedDeque<Waiting>,
    /// Notes kept back; allocated at the first `RecvData` in flight.
    pub backlog: Option<BacklogRef>,
    /// The peer ended its side (END_STREAM seen): the reader has its end.
    pub recv_done: bool,
}

impl StreamEntry {
    /// The entry of a stream whose handle is `stream` (held strongly when
    /// `hold`, see [`Dest::tracked`]).
    pub fn new(stream: Option<&H2Stream>, subscriber: Option<Subscriber>, hold: bool) -> Self {
        let tracked = match stream.map(|s| s.key()) {
            Some(Key::Tracked(t)) if hold => Some(TrackedRef::Strong(t.clone())),
            Some(Key::Tracked(t)) => Some(TrackedRef::Weak(Arc::downgrade(t))),
            _ => None,
        };
        StreamEntry {
            dest: Dest {
                tracked,
                subscriber: subscriber.map(Box::new),
            },
            sending: BoxedDeque::default(),
            queued_total: 0,
            sent_total: 0,
            waiting: BoxedDeque::default(),
            backlog: None,
            recv_done: false,
        }
    }

    pub fn pending_sends(&self) -> usize {
        self.sending.len() + self.waiting.len()
    }

    pub fn fail_sends(&mut self, err: &Error) {
        for p in self.sending.drain(..) {
            let _ = p.tx.send(Err(err.clone()));
        }
        for w in self.waiting.drain(..) {
            w.fail(err.clone());
        }
    }

    /// Drops the notes kept back (the stream ends without them); returns
    /// the received bytes they held.
    pub fn drop_backlog(&self) -> usize {
        self.backlog.as_ref().map_or(0, |b| b.borrow_mut().clear())
    }
}

/// What a queued open becomes once a stream slot is free.
pub(crate) enum OpenKind {
    /// `OpenStream`: a stream holding a slot, id assigned later.
    Stream(Option<Subscriber>),
    /// `SendRequest`: opened and its head written at once.
    Request(Box<SendRequest>),
}

pub(super) struct PendingOpen {
    pub kind: OpenKind,
    pub tx: Parked<H2Stream>,
    /// A `Client`'s request (`EventQueue::send_request`): the answer goes to the
    /// connection's event queue under this number, not to `tx`.
    pub job: Option<u64>,
}

pub(super) struct PendingPing {
    pub payload: [u8; 8],
    pub sent: Instant,
    pub tx: Parked<Duration>,
}

/// The reply sender of a queued `OpenStream`/`SendRequest` or `Ping`:
/// shared by the queue entry and the handler's [`Reply`], which puts the
/// sender actix gives it right after the handler returns (`None` for a
/// `do_send`). A `Cell`: no borrow to hold, so none can be held too long.
///
/// [`Reply`]: super::super::Reply
pub(crate) struct Parked<T>(Rc<Cell<Option<ReplyTx<T>>>>);

/// Where a reply of type `T` goes.
type ReplyTx<T> = OneshotSender<Result<T, Error>>;

impl<T> Parked<T> {
    pub fn new() -> Self {
        Parked(Rc::new(Cell::new(None)))
    }
    pub fn share(&self) -> Self {
        Parked(self.0.clone())
    }
    pub fn set(&self, tx: Option<ReplyTx<T>>) {
        self.0.set(tx);
    }
    /// Whoever awaited the reply has given up.
    pub fn is_closed(&self) -> bool {
        let tx = self.0.take();
        let closed = tx.as_ref().is_some_and(|t| t.is_closed());
        self.0.set(tx);
        closed
    }
    /// Sends `r` to whoever awaits it, if anyone does.
    pub fn send(&self, r: Result<T, Error>) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream's protocol state with this entry fits mimalloc's 224-byte
    /// size class (one allocation per open stream; it was 288 bytes).
    #[test]
    fn stream_with_entry_fits_224_bytes() {
        let size = std::mem::size_of::<crate::proto::stream::Stream<StreamEntry>>();
        assert!(size <= 224, "Stream<StreamEntry> is {size} bytes");
    }

    #[test]
    fn boxed_deque_keeps_order_and_frees_on_drain() {
        let mut q = BoxedDeque::default();
        assert!(q.is_empty() && q.pop_front().is_none() && q.back_mut().is_none());
        q.push_back(2);
        q.push_back(3);
        q.push_front(1);
        *q.back_mut().unwrap() = 4;
        assert_eq!(q.len(), 3);
        assert_eq!(q.pop_front(), Some(1));
        assert_eq!(q.drain(..).collect::<Vec<_>>(), vec![2, 4]);
        assert!(q.is_empty() && q.0.is_none());
    }
}
