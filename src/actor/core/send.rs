//! Stream actions (the messages to an [`H2Stream`](super::super::H2Stream)): the
//! first HEADERS of a client stream (which assigns its id), DATA under the
//! per-stream queue bound, trailers, push, reset, release; and the filling
//! of deferred replies.

use actix::dev::OneshotSender;
use bytes::Bytes;
use http::HeaderMap;

use super::super::messages::{Error, ResetCause, SendMessage, Subscriber};
use super::super::stream::{H2Stream, Key};
use super::table::{PendingSend, ReplyNow, Slot, StreamEntry, Waiting};
use super::{Core, WriteState};
use crate::frame::{ErrorCode, StreamId};
use crate::proto::{Head, UserError};

impl Core {
    /// Opens a client stream now and writes its head (its id is the next
    /// one: ids reach the wire in increasing order by construction).
    /// `stream` is the stream's handle if it exists already (`OpenStream`).
    /// On a refused head the stream is dropped without a trace (§5.1.1 lets
    /// the unused id go).
    pub(super) fn open_with_head(
        &mut self,
        stream: Option<H2Stream>,
        subscriber: Option<Subscriber>,
        head: Head,
        end_stream: bool,
    ) -> Result<(StreamId, H2Stream), Error> {
        if self.write_state != WriteState::Open || self.link.is_none() {
            return Err(Error::ConnectionClosed);
        }
        let id = self.proto.open_stream()?;
        let now = self.now();
        if let Err(e) = self.proto.send_head(id, &head, None, end_stream, now) {
            let _ = self.proto.reset(id, ErrorCode::CANCEL, now);
            return Err(e.into());
        }
        let Some(stream) = stream.or_else(|| self.handle(id)) else {
            return Err(Error::ConnectionClosed); // not reachable: `link` is set
        };
        let entry = StreamEntry::new(Some(&stream), subscriber, true);
        if self.proto.set_app(id, entry).is_err() {
            // Not reachable: the stream was just opened and its head queued.
            return Err(Error::User(UserError::UnknownStream(id)));
        }
        self.kick();
        Ok((id, stream))
    }

    /// The first `SendHeaders`/`SendMessage` of a stream from `OpenStream`:
    /// its slot was reserved, now it gets its id (recorded in the handles'
    /// shared state, with the subscriber chosen at `OpenStream`).
    pub fn open_reserved(
        &mut self,
        stream: H2Stream,
        head: Head,
        end_stream: bool,
    ) -> Result<StreamId, Error> {
        let tracked = match stream.key() {
            Key::Tracked(t) => t.clone(),
            Key::Id(id) => {
                return Err(Error::User(UserError::InvalidState {
                    id: *id,
                    state: "open (its HEADERS were sent already)",
                }))
            }
        };
        let subscriber = tracked.lock().subscriber.clone();
        let (id, _) = self.open_with_head(Some(stream), subscriber, head, end_stream)?;
        self.reserved = self.reserved.saturating_sub(1);
        let mut st = tracked.lock();
        st.id = Some(id);
        st.reserved = false;
        st.subscriber = None;
        Ok(id)
    }

    /// A later HEADERS (response, 1xx, or a pushed response's head).
    pub fn send_headers(
        &mut self,
        id: StreamId,
        head: Head,
        end_stream: bool,
    ) -> Result<(), Error> {
        let r = self.put_headers(id, &head, None, end_stream);
        self.kick();
        r
    }

    /// `send_headers` without the kick (the caller kicks once at the end);
    /// `length` is declared as `content-length` if the head has none.
    fn put_headers(
        &mut self,
        id: StreamId,
        head: &Head,
        length: Option<u64>,
        end_stream: bool,
    ) -> Result<(), Error> {
        let now = self.now();
        self.proto.send_head(id, head, length, end_stream, now)?;
        // A pushed stream is held from its first HEADERS on.
        if let Some(e) = self.proto.app_mut(id) {
            e.dest.hold();
        }
        Ok(())
    }

    /// `UpdatePriority`: the stream's place in our scheduler; a client's
    /// PRIORITY_UPDATE goes out with the next write.
    pub fn update_priority(
        &mut self,
        id: StreamId,
        p: crate::priority::Priority,
    ) -> Result<(), Error> {
        self.proto.update_priority(id, p).map_err(Error::User)?;
        self.kick();
        Ok(())
    }

    /// `SendMessage` on a stream with an id: head, body, trailers, one kick.
    /// The message is borrowed, not moved: it is a few hundred bytes,
    /// and each move is a `memcpy` (they were 16% of the server's time at
    /// `h2load -c 16 -m 32`, perf).
    pub fn send_message(
        &mut self,
        id: StreamId,
        msg: &mut SendMessage,
    ) -> Result<ReplyNow<()>, Error> {
        // Only a body can be dropped for a HEAD: look it up only then.
        let head_request = !msg.body.is_empty() && self.proto.is_head_request(id);
        let (headers_end, length) = msg.prepare(head_request);
        if let Some(p) = msg.priority {
            // Before the body is queued: its first frame is scheduled so.
            self.proto.set_priority(id, p);
        }
        if let Err(e) = self.put_headers(id, &msg.head, length, headers_end) {
            self.kick();
            return Err(e);
        }
        self.send_rest(id, std::mem::take(&mut msg.body), msg.trailers.take())
    }

    /// The body and trailers of a `SendMessage` whose head is sent.
    pub fn send_rest(
        &mut self,
        id: StreamId,
        body: Bytes,
        trailers: Option<HeaderMap>,
    ) -> Result<ReplyNow<()>, Error> {
        let has_body = !body.is_empty();
        let mut reply = ReplyNow::Now(Ok(()));
        if has_body {
            reply = self.send_data(id, body, trailers.is_none());
            if let ReplyNow::Now(Err(e)) = reply {
                return Err(e);
            }
        }
        if let Some(trailers) = trailers {
            // Queued after the body (the stream's queue keeps order).
            match self.send_trailers(id, trailers) {
                ReplyNow::Now(Err(e)) => return Err(e),
                ReplyNow::Later(slot) if !has_body => reply = ReplyNow::Later(slot),
                _ => {}
            }
        }
        self.kick();
        Ok(reply)
    }

    /// True while the stream has an entry (its terminal event is not
    /// taken yet).
    pub fn stream_is_open(&self, id: StreamId) -> bool {
        self.proto.app(id).is_some()
    }

    pub fn set_stream_subscriber(&mut self, id: StreamId, s: Subscriber) {
        if let Some(e) = self.proto.app_mut(id) {
            e.dest.subscriber = Some(Box::new(s));
        }
    }

    /// `SendData` on a stream.
    pub fn send_data(&mut self, id: StreamId, data: Bytes, end_stream: bool) -> ReplyNow<()> {
        let max_queued = self.limits.max_queued_sends;
        let Some(entry) = self.proto.app_mut(id) else {
            return ReplyNow::Now(Err(self.gone_error(id)));
        };
        let len = data.len();
        if !entry.waiting.is_empty() {
            if entry.waiting.len() >= max_queued {
                return ReplyNow::Now(Err(Error::QueueFull));
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
        let retry = (entry.queued_total != entry.sent_total).then(|| data.clone());
        let now = self.now();
        let r = self.proto.send_data(id, data, end_stream, now);
        // Looked up again: the protocol call borrowed the table.
        let Some(entry) = self.proto.app_mut(id) else {
            // Not reachable: a stream with data queued is not forgotten.
            return ReplyNow::Now(r.map_err(Into::into));
        };
        match r {
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
                    return ReplyNow::Now(Err(Error::QueueFull));
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

    /// `SendTrailers` on a stream (ordered after queued data).
    pub fn send_trailers(&mut self, id: StreamId, trailers: HeaderMap) -> ReplyNow<()> {
        let max_queued = self.limits.max_queued_sends.max(1);
        let Some(entry) = self.proto.app_mut(id) else {
            return ReplyNow::Now(Err(self.gone_error(id)));
        };
        if !entry.waiting.is_empty() {
            if entry.waiting.len() >= max_queued {
                return ReplyNow::Now(Err(Error::QueueFull));
            }
            entry
                .waiting
                .push_back(Waiting::Trailers { trailers, tx: None });
            return ReplyNow::Later(Slot::Waiting(id));
        }
        let now = self.now();
        let r = self
            .proto
            .send_trailers(id, trailers, now)
            .map_err(Into::into);
        self.kick();
        ReplyNow::Now(r)
    }

    fn gone_error(&self, id: StreamId) -> Error {
        if self.write_state != WriteState::Open {
            Error::ConnectionClosed
        } else {
            Error::User(UserError::UnknownStream(id))
        }
    }

    /// Moves waiting actions into the protocol as its send buffer frees.
    pub(super) fn pump_waiting(&mut self, id: StreamId) {
        // The entry is looked up again after each protocol call (which
        // borrows the table); this runs only while sends wait for room.
        loop {
            let Some(w) = self.proto.app_mut(id).and_then(|e| e.waiting.pop_front()) else {
                return;
            };
            match w {
                Waiting::Data {
                    data,
                    end_stream,
                    tx,
                } => {
                    let len = data.len();
                    let now = self.now();
                    let r = self.proto.send_data(id, data.clone(), end_stream, now);
                    let Some(entry) = self.proto.app_mut(id) else {
                        // Not reachable: the stream's entry outlives its sends.
                        if let Some(tx) = tx {
                            let _ = tx.send(r.map_err(Into::into));
                        }
                        return;
                    };
                    match r {
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
                            return;
                        }
                        Err(e) => {
                            if let Some(tx) = tx {
                                let _ = tx.send(Err(e.into()));
                            }
                        }
                    }
                }
                Waiting::Trailers { trailers, tx } => {
                    let now = self.now();
                    let r = self
                        .proto
                        .send_trailers(id, trailers, now)
                        .map_err(Into::into);
                    if let Some(tx) = tx {
                        let _ = tx.send(r);
                    }
                }
            }
        }
    }

    /// Resets a stream from this side: RST_STREAM, pending sends fail, the
    /// entry goes. The subscriber hears `RecvReset { remote: false }` (its
    /// terminal notification) when the user asked for it (`Reset`, or a
    /// refused action nobody awaited), not when nobody is left to tell.
    pub fn reset_stream(&mut self, id: StreamId, code: ErrorCode, notify: bool) {
        // The protocol drops the stream's slot with it: take it first.
        let entry = self.proto.take_app(id);
        let now = self.now();
        let _ = self.proto.reset(id, code, now);
        if let Some(mut e) = entry {
            e.fail_sends(&Error::Reset(code));
            let held = e.drop_backlog();
            self.give_back(id, held);
            if notify {
                self.deliver_reset_now(id, &e.dest, code, false, ResetCause::Stream);
            }
        }
        self.slot_freed = true;
        self.kick();
    }

    /// Every handle of a stream only its handles held (a promise before its
    /// HEADERS) is gone, or the work for a stream panicked: reset the
    /// stream if it is still open (CANCEL, or INTERNAL_ERROR after a panic).
    pub fn stream_abandoned(&mut self, id: StreamId, panicked: bool) {
        if self.stream_is_open(id) {
            let code = if panicked {
                ErrorCode::INTERNAL_ERROR
            } else {
                ErrorCode::CANCEL
            };
            tracing::debug!(conn = %self.id, %id, ?code, "stream abandoned: resetting it");
            self.reset_stream(id, code, false);
        }
    }

    /// Received bytes nobody will consume: back to the windows (in
    /// auto-release mode; otherwise the user releases what it was given).
    pub(super) fn give_back(&mut self, id: StreamId, n: usize) {
        if n > 0 && self.auto_release {
            self.proto.release_capacity(id, n);
        }
    }

    pub fn release(&mut self, id: StreamId, n: usize) {
        if n > 0 {
            self.proto.release_capacity(id, n);
            self.kick();
        }
    }

    /// `Promise`: PUSH_PROMISE on `id`. With `tracked` (a handle's
    /// `Promise`) the promised stream is held from its first HEADERS on:
    /// dropping every handle before resets it. A `Session` names streams
    /// by id: its promised streams are held by the connection at once.
    pub fn push_promise(
        &mut self,
        id: StreamId,
        request: http::Request<()>,
        tracked: bool,
    ) -> Result<(StreamId, H2Stream), Error> {
        let Some(link) = self.link.clone() else {
            return Err(Error::ConnectionClosed); // not reachable: `link` is set
        };
        let pid = self.proto.push_promise(id, request)?;
        let sub = self
            .proto
            .app(id)
            .and_then(|e| e.dest.subscriber.as_deref().cloned());
        let stream = if tracked {
            H2Stream::promised(&link, pid)
        } else {
            H2Stream::new(link, Key::Id(pid))
        };
        if self
            .proto
            .set_app(pid, StreamEntry::new(Some(&stream), sub, false))
            .is_err()
        {
            // Not reachable: the promised stream was just reserved.
            return Err(Error::User(UserError::UnknownStream(pid)));
        }
        self.kick();
        Ok((pid, stream))
    }

    /// Fills the sender of a deferred reply into its slot.
    pub fn fill_unit(&mut self, slot: Slot, tx: OneshotSender<Result<(), Error>>) {
        match slot {
            Slot::Sending(id, until) => match self.proto.app_mut(id) {
                Some(e) if e.sent_total < until => e.sending.push_back(PendingSend { until, tx }),
                Some(_) => {
                    let _ = tx.send(Ok(()));
                }
                None => {
                    let _ = tx.send(Err(Error::ConnectionClosed));
                }
            },
            Slot::Waiting(id) => match self.proto.app_mut(id).and_then(|e| e.waiting.back_mut()) {
                Some(w) => w.set_tx(tx),
                None => {
                    let _ = tx.send(Err(Error::ConnectionClosed));
                }
            },
            Slot::Open | Slot::Ping => {}
        }
    }
}
