//! What the actor layer keeps per stream, beside the protocol's own stream
//! state: the stream's actor, its subscriber, the replies waiting for its
//! bytes to be written, and the notifications kept back to keep their order.
//! An entry lives from the stream's first HEADERS (sent or received) until
//! its last notification is out; the protocol's entry may go earlier.
//!
//! Why beside, not inside, the protocol's table (`proto::store`): the
//! protocol forgets a stream the moment both sides are done or it is
//! reset (that is what its limits and the §5.1 rules count), while a
//! notification of that stream may still be waiting behind a `RecvData`
//! the subscriber has not handled. This table holds only what the actor
//! layer needs (the actor, the subscriber, reply slots, kept-back
//! notifications), never protocol state.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix::dev::OneshotSender;
use actix::{Addr, WeakAddr};
use bytes::{Bytes, BytesMut};
use http::HeaderMap;

use super::super::messages::{
    ConnectionId, Error, Event, RecvData, RecvPromise, RecvReset, RecvTrailers, SendRequest,
    Subscriber,
};
use super::super::H2Stream;
use crate::frame::{ErrorCode, StreamId};

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
pub(super) struct PendingSend {
    pub until: u64,
    pub tx: OneshotSender<Result<(), Error>>,
}

/// A `SendData`/`SendTrailers` waiting for room in the protocol's per-stream
/// send buffer (keeps the order of the stream's actions).
pub(super) enum Waiting {
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

/// A notification kept back while a `RecvData` of the same stream is with
/// the subscriber (auto-release mode), so the order is kept.
pub(super) enum Note {
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
        promised: Addr<H2Stream>,
        promised_id: StreamId,
        request: http::Request<()>,
    },
    Reset {
        code: ErrorCode,
        remote: bool,
    },
}

impl Note {
    /// The notification this note becomes.
    pub fn into_event(self, conn: ConnectionId, id: StreamId, stream: Addr<H2Stream>) -> Event {
        match self {
            Note::Data { data, end_stream } => Event::RecvData(RecvData {
                stream,
                conn,
                id,
                data,
                end_stream,
            }),
            Note::DataBuf { buf, end_stream } => Event::RecvData(RecvData {
                stream,
                conn,
                id,
                data: buf.freeze(),
                end_stream,
            }),
            Note::Trailers(trailers) => Event::RecvTrailers(RecvTrailers {
                stream,
                conn,
                id,
                trailers,
            }),
            Note::Promise {
                promised,
                promised_id,
                request,
            } => Event::RecvPromise(RecvPromise {
                stream,
                conn,
                id,
                promised,
                promised_id,
                request,
            }),
            Note::Reset { code, remote } => Event::RecvReset(RecvReset {
                stream,
                conn,
                id,
                code,
                remote,
            }),
        }
    }

    /// Received bytes this note holds (to give back if it is dropped).
    pub fn data_len(&self) -> usize {
        match self {
            Note::Data { data, .. } => data.len(),
            Note::DataBuf { buf, .. } => buf.len(),
            _ => 0,
        }
    }
}

pub(super) struct StreamEntry {
    /// Held while the stream is in use, so the actor lives at least as long
    /// as its stream. A pushed stream we promise is only held from its
    /// first HEADERS on: if the user drops every address before that, the
    /// actor stops and the reserved stream is released.
    pub strong: Option<Addr<H2Stream>>,
    pub weak: WeakAddr<H2Stream>,
    pub subscriber: Option<Box<Subscriber>>,
    pub sending: VecDeque<PendingSend>,
    /// Bytes of this stream handed to the protocol / reported written.
    pub queued_total: u64,
    pub sent_total: u64,
    pub waiting: VecDeque<Waiting>,
    pub data_in_flight: bool,
    pub deferred: VecDeque<Note>,
    /// The peer ended its side (END_STREAM seen): the reader has its end.
    pub recv_done: bool,
    /// The protocol closed or reset the stream; the entry goes once the
    /// deferred notifications are out.
    pub closed: bool,
}

impl StreamEntry {
    pub fn new(addr: Addr<H2Stream>, subscriber: Option<Subscriber>, hold: bool) -> Self {
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
            recv_done: false,
            closed: false,
        }
    }

    pub fn addr(&self) -> Option<Addr<H2Stream>> {
        match &self.strong {
            Some(a) => Some(a.clone()),
            None => self.weak.upgrade(),
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

    /// Keeps `note` back (see [`Note`]), coalescing DATA past a few notes.
    pub fn defer(&mut self, note: Note) {
        let q = &mut self.deferred;
        if q.len() >= MAX_DEFERRED_NOTES {
            if let Note::Data { data, end_stream } = note {
                match q.back_mut() {
                    Some(Note::DataBuf {
                        buf,
                        end_stream: end,
                    }) => {
                        buf.extend_from_slice(&data);
                        *end = end_stream;
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
                    }
                    _ => q.push_back(Note::Data { data, end_stream }),
                }
                return;
            }
        }
        q.push_back(note);
    }
}

/// What a queued open becomes once a stream slot is free.
pub(crate) enum OpenKind {
    /// `OpenStream`: a stream actor holding a slot, id assigned later.
    Stream(Option<Subscriber>),
    /// `SendRequest`: opened and its head written at once.
    Request(Box<SendRequest>),
}

pub(super) struct PendingOpen {
    pub kind: OpenKind,
    pub tx: Option<OneshotSender<Result<Addr<H2Stream>, Error>>>,
}

pub(super) struct PendingPing {
    pub payload: [u8; 8],
    pub sent: Instant,
    pub tx: Option<OneshotSender<Result<Duration, Error>>>,
}
