//! Protocol events become notifications, in each stream's order.
//!
//! Every notification goes to the stream's subscriber (or the connection's),
//! or to the `Session` queue when a session owns the connection. What a
//! subscriber did not subscribe to takes the default documented on
//! [`Subscriber`]: DATA released and dropped, trailers dropped, pushes
//! refused, resets and GOAWAY logged.
//!
//! With auto-release (the default) a `RecvData` is sent with `send()` and
//! its bytes go back to the windows once the subscriber's handler has run;
//! meanwhile later notifications of that stream wait in its [`Backlog`]
//! (in order), so a slow subscriber slows the peer instead of growing its
//! mailbox. The backlog goes with the task awaiting the `RecvData`, so it
//! outlives the stream's entry if the stream ends meanwhile.

use actix::dev::RecipientRequest;
use actix::{Message, Recipient};
use bytes::Bytes;

use super::super::messages::*;
use super::super::stream::H2Stream;
use super::table::{Backlog, BacklogRef, Dest, StreamEntry};
use super::{Core, Handled};
use crate::frame::{ErrorCode, StreamId};
use crate::proto::{self, Event as ProtoEvent, UserError};
use std::pin::Pin;

/// What became of a notification, for the caller to finish. (A transient
/// return value: boxing the large `InFlight` would cost an allocation per
/// `RecvData`.)
#[allow(clippy::large_enum_variant)]
enum Outcome {
    Delivered,
    /// A `RecvData` (of `usize` bytes) is with the subscriber: await it;
    /// later notes of its stream wait.
    InFlight(RecipientRequest<RecvData>, usize),
    /// Unsubscribed DATA: give its bytes back to the windows.
    Dropped(usize),
    /// Unsubscribed push: refuse the promised stream.
    Refuse(StreamId),
    /// The recipient is gone: give back what it held unread, reset the stream.
    Gone(usize),
}

impl Core {
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

    fn on_event(&mut self, ev: ProtoEvent<StreamEntry>) {
        match ev {
            ProtoEvent::RecvHeaders {
                id,
                head,
                end_stream,
            } => self.on_headers(id, head, end_stream),
            ProtoEvent::RecvData {
                id,
                data,
                end_stream,
            } => {
                if let Some(data) = self.note_data(id, data, end_stream) {
                    // Nobody to give it to (we reset the stream meanwhile).
                    if !data.is_empty() {
                        self.proto.release_capacity(id, data.len());
                    }
                }
            }
            ProtoEvent::RecvTrailers { id, trailers } => {
                if let Some(e) = self.proto.app_mut(id) {
                    e.recv_done = true;
                }
                let conn = self.id;
                self.note(id, 0, |stream| {
                    Event::RecvTrailers(RecvTrailers {
                        stream,
                        conn,
                        id,
                        trailers,
                    })
                });
            }
            ProtoEvent::RecvPromise {
                id,
                promised_id,
                request,
            } => {
                let sub = self
                    .proto
                    .app(id)
                    .and_then(|e| e.dest.subscriber.as_deref().cloned());
                let Some(promised) = self.handle(promised_id) else {
                    return; // not reachable: the actor exists
                };
                let entry = StreamEntry::new(None, sub, true);
                if self.proto.set_app(promised_id, entry).is_err() {
                    // Not reachable: the promised stream, or its terminal
                    // event, is behind this event.
                    tracing::debug!(conn = %self.id, %promised_id, "promised stream already forgotten");
                }
                let conn = self.id;
                self.note(id, 0, |stream| {
                    Event::RecvPromise(RecvPromise {
                        stream,
                        conn,
                        id,
                        promised,
                        promised_id,
                        request: *request,
                    })
                });
            }
            ProtoEvent::RecvReset {
                id,
                code,
                remote,
                app,
            } => {
                if let Some(mut e) = app {
                    e.fail_sends(&Error::Reset(code));
                    // After a complete response, a peer's NO_ERROR reset
                    // only stops our sending (RFC 9113 §8.1): the reader
                    // already had its end, and the senders hear the reset.
                    let told = !(remote && code == ErrorCode::NO_ERROR && e.recv_done);
                    // A GOAWAY refused it when its id is above the GOAWAY's
                    // last stream id (RFC 9113 §6.8; the protocol reports
                    // those as the peer's REFUSED_STREAM).
                    let cause = match self.proto.goaway_received() {
                        Some(last) if remote && code == ErrorCode::REFUSED_STREAM && id > last => {
                            ResetCause::GoAway {
                                last_stream_id: last,
                            }
                        }
                        _ => ResetCause::Stream,
                    };
                    self.end_entry(id, e, told.then_some((code, remote, cause)));
                }
                self.slot_freed = true;
            }
            ProtoEvent::Finished { id, app } => {
                if let Some(mut e) = app {
                    // Everything was written (both END_STREAMs are out).
                    for p in e.sending.drain(..) {
                        let _ = p.tx.send(Ok(()));
                    }
                    for w in e.waiting.drain(..) {
                        w.fail(Error::User(UserError::UnknownStream(id)));
                    }
                    self.end_entry(id, e, None);
                }
                self.slot_freed = true;
            }
            ProtoEvent::DataSent { id, len } => {
                if let Some(e) = self.proto.app_mut(id) {
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
            ProtoEvent::GoAway {
                last_stream_id,
                code,
                debug_data,
            } => self.on_go_away(last_stream_id, code, debug_data),
            ProtoEvent::PingAck { payload } => self.ping_acked(payload),
            ProtoEvent::RemoteSettings { .. } => self.slot_freed = true,
            ProtoEvent::SettingsAcked => {}
        }
    }

    fn on_headers(&mut self, id: StreamId, head: Box<proto::Head>, end_stream: bool) {
        // A stream that starts here has the connection's subscriber.
        let mut fresh = false;
        let addr = match self.proto.app_mut(id) {
            Some(e) => {
                e.recv_done |= end_stream;
                match e.dest.stream(&self.link, id) {
                    Some(a) => a,
                    None => {
                        // Every handle is gone: nobody can answer.
                        self.subscriber_gone(id);
                        return;
                    }
                }
            }
            None => {
                let Some(addr) = self.handle(id) else {
                    return; // not reachable: the actor exists
                };
                let mut e = StreamEntry::new(None, None, true);
                e.recv_done = end_stream;
                if self.proto.set_app(id, e).is_err() {
                    // Not reachable: the stream, or its terminal event, is
                    // behind its HEADERS event.
                    tracing::debug!(conn = %self.id, %id, "headers of a forgotten stream");
                }
                fresh = true;
                addr
            }
        };
        let msg = RecvHeaders {
            stream: addr,
            conn: self.id,
            id,
            head: self.proto.unbox_head(head),
            end_stream,
        };
        // Straight to the recipient, not through `route`'s `Event`: each
        // move of a 288-byte notification is a `memcpy`.
        let sub = if fresh {
            &self.subscriber
        } else {
            self.sub_of(id)
        };
        let outcome = if self.session.is_some() {
            self.route(sub, Event::RecvHeaders(msg))
        } else {
            self.headers_to(sub, msg)
        };
        self.finish(id, outcome, None);
    }

    /// A `RecvHeaders` to `sub`'s recipient for it; without one the
    /// stream is refused.
    fn headers_to(&self, sub: &Subscriber, m: RecvHeaders) -> Outcome {
        match &sub.r.headers {
            // `do_send` here, not through `send_to`: one move fewer of the
            // 264-byte message.
            Some(r) if r.connected() => {
                r.do_send(m);
                Outcome::Delivered
            }
            Some(_) => Outcome::Gone(0),
            None => {
                tracing::debug!(conn = %self.id, id = %m.id, "no subscriber for headers: refusing the stream");
                Outcome::Gone(0)
            }
        }
    }

    /// The HTTP/1.1 upgrade request (RFC 7540 §3.2), already stream 1 in
    /// the protocol, goes to the subscriber as any request would: its head,
    /// then its body as one `RecvData` with the end of the stream. The body
    /// never passed through flow control, so releasing it is a no-op.
    pub fn deliver_upgrade_request(&mut self, request: http::Request<()>, body: Bytes) {
        let id = StreamId(1);
        let end_stream = body.is_empty();
        self.on_headers(id, Box::new(proto::Head::Request(request)), end_stream);
        if !end_stream {
            // Without an entry the subscriber refused the request already.
            let _ = self.note_data(id, body, true);
        }
        self.kick();
    }

    /// A `RecvData` for stream `id`, delivered or kept back in order; the
    /// data comes back when the stream has no entry (nobody to give it to).
    fn note_data(&mut self, id: StreamId, data: Bytes, end_stream: bool) -> Option<Bytes> {
        let Some(e) = self.proto.app_mut(id) else {
            return Some(data);
        };
        e.recv_done |= end_stream;
        let (conn, n) = (self.id, data.len());
        self.note(id, n, |stream| {
            Event::RecvData(RecvData {
                stream,
                conn,
                id,
                data,
                end_stream,
            })
        });
        None
    }

    fn on_go_away(&mut self, last_stream_id: StreamId, code: ErrorCode, debug_data: Bytes) {
        if code != ErrorCode::NO_ERROR {
            self.set_reason(CloseReason::Error(proto::ConnectionError {
                code,
                reason: String::from_utf8_lossy(&debug_data).into_owned(),
                remote: true,
            }));
        }
        self.fail_opens(Error::User(UserError::GoingAway));
        let msg = GoAway {
            conn: self.id,
            last_stream_id,
            code,
            debug_data,
        };
        self.route(&self.subscriber, Event::GoAway(msg));
    }

    fn sub_of(&self, id: StreamId) -> &Subscriber {
        match self.proto.app(id) {
            Some(e) => e.dest.sub(&self.subscriber),
            None => &self.subscriber,
        }
    }

    /// Delivers the notification `make` builds with stream `id`'s handle,
    /// or keeps it behind a `RecvData` still with the subscriber so the
    /// stream's order holds. When every handle of the stream is gone (a
    /// promise of ours dropped), its `unread` bytes go back and the stream
    /// is reset.
    fn note(&mut self, id: StreamId, unread: usize, make: impl FnOnce(H2Stream) -> Event) {
        let Some(e) = self.proto.app(id) else {
            return;
        };
        let Some(stream) = e.dest.stream(&self.link, id) else {
            self.give_back(id, unread);
            self.subscriber_gone(id);
            return;
        };
        let ev = make(stream);
        if let Some(b) = &e.backlog {
            let mut b = b.borrow_mut();
            if b.busy() {
                b.defer(ev);
                return;
            }
        }
        self.deliver_note(id, ev);
    }

    /// Sends one notification of stream `id` to its subscriber (a gone
    /// subscriber resets the stream; an unsubscribed notification takes its
    /// default).
    fn deliver_note(&mut self, id: StreamId, ev: Event) {
        let Some(e) = self.proto.app(id) else {
            return;
        };
        let sub = e.dest.sub(&self.subscriber);
        let outcome = self.route(sub, ev);
        self.finish(id, outcome, None);
    }

    /// The stream's terminal event took its entry out of the table: the
    /// last notification (`RecvReset`, if `reset`) goes now, or, while a
    /// `RecvData` of the stream is with the subscriber, after the notes kept
    /// back: the backlog keeps them and who they go to.
    fn end_entry(
        &mut self,
        id: StreamId,
        e: StreamEntry,
        reset: Option<(ErrorCode, bool, ResetCause)>,
    ) {
        let StreamEntry { dest, backlog, .. } = e;
        if let Some(b) = backlog {
            let mut bl = b.borrow_mut();
            if bl.busy() {
                if let (Some((code, remote, cause)), Some(stream)) =
                    (reset, dest.stream(&self.link, id))
                {
                    bl.defer(Event::RecvReset(RecvReset {
                        stream,
                        conn: self.id,
                        id,
                        code,
                        remote,
                        cause,
                    }));
                }
                bl.orphan = Some(dest);
                let in_flight = bl.in_flight;
                drop(bl);
                if in_flight {
                    self.lingering += 1;
                } else {
                    self.drain_orphan(b);
                }
                return;
            }
        }
        if let Some((code, remote, cause)) = reset {
            self.deliver_reset_now(id, &dest, code, remote, cause);
        }
    }

    /// Delivers the notes of an ended stream's backlog, up to the next
    /// `RecvData` in flight (which takes the backlog along again).
    fn drain_orphan(&mut self, b: BacklogRef) {
        let id = b.borrow().id;
        loop {
            let Some(note) = b.borrow_mut().notes.pop_front() else {
                break;
            };
            let outcome = {
                let bl = b.borrow();
                let Some(dest) = bl.orphan.as_ref() else {
                    return;
                };
                self.route(dest.sub(&self.subscriber), note)
            };
            if !self.finish(id, outcome, Some(&b)) {
                if b.borrow().in_flight {
                    return; // the task brings the backlog back
                }
                break;
            }
        }
        // Everything is out: let go of the handle and the subscriber.
        b.borrow_mut().orphan = None;
    }

    /// The connection ends while the subscriber still has a `RecvData` of a
    /// stream that ended already (complete): that `RecvData` may still be
    /// waiting for room in the subscriber's mailbox (inside `req`), and the
    /// stream's last notes are kept behind it. A task of its own sees the
    /// `RecvData` delivered, then sends the rest after it, in order;
    /// nothing is released any more (the connection is gone).
    pub(super) fn flush_orphan(
        &mut self,
        b: Option<BacklogRef>,
        req: Pin<Box<RecipientRequest<RecvData>>>,
    ) {
        let rest = b.and_then(|b| {
            let mut b = b.borrow_mut();
            let dest = b.orphan.take()?;
            Some((
                dest.sub(&self.subscriber).clone(),
                std::mem::take(&mut b.notes),
            ))
        });
        actix_rt::spawn(async move {
            let _ = req.await;
            let Some((sub, notes)) = rest else {
                return;
            };
            for note in notes {
                let _ = match note {
                    Event::RecvData(m) => sub.r.data.as_ref().map(|r| send_to(r, m)),
                    Event::RecvTrailers(m) => sub.r.trailers.as_ref().map(|r| send_to(r, m)),
                    Event::RecvReset(m) => sub.r.reset.as_ref().map(|r| send_to(r, m)),
                    Event::RecvHeaders(m) => sub.r.headers.as_ref().map(|r| send_to(r, m)),
                    Event::RecvPromise(m) => sub.r.promise.as_ref().map(|r| send_to(r, m)),
                    // Connection-wide: never kept in a stream's backlog.
                    Event::GoAway(_) | Event::Closed(_) => None,
                };
            }
        });
    }

    /// Awaits the subscriber's handling of a `RecvData` of `n` bytes, then
    /// gives them back and delivers what waited ([`Core::data_handled`]):
    /// the wait goes to the connection's driver, which polls it in the
    /// actor's turn (no task of its own).
    fn await_handled(&mut self, b: BacklogRef, req: RecipientRequest<RecvData>, n: usize) {
        b.borrow_mut().in_flight = true;
        self.handled
            .get_or_insert_with(Default::default)
            .push(Handled {
                backlog: Some(b),
                req: Box::pin(req),
                n,
            });
        // The driver takes it in this turn, or must be woken to.
        self.wake();
    }

    /// Hands `ev` to the session queue, to `sub`'s recipient for it, or to
    /// the default (see [`Subscriber`]). With auto-release a `RecvData` is
    /// sent with `send()` and its bytes go back to the windows when the
    /// subscriber has *handled* it, so a slow subscriber slows the peer.
    fn route(&self, sub: &Subscriber, ev: Event) -> Outcome {
        if let Some(q) = &self.session {
            q.push(ev);
            return Outcome::Delivered;
        }
        let conn = self.id;
        match ev {
            Event::RecvHeaders(m) => self.headers_to(sub, m),
            Event::RecvData(m) => {
                let n = m.data.len();
                match &sub.r.data {
                    None => Outcome::Dropped(n),
                    Some(r) if !r.connected() => Outcome::Gone(n),
                    Some(r) if !self.auto_release => {
                        r.do_send(m);
                        Outcome::Delivered
                    }
                    Some(r) => Outcome::InFlight(r.send(m), n),
                }
            }
            Event::RecvTrailers(m) => match &sub.r.trailers {
                Some(r) => sent(send_to(r, m), 0),
                None => Outcome::Delivered,
            },
            Event::RecvPromise(m) => match &sub.r.promise {
                Some(r) => sent(send_to(r, m), 0),
                None => {
                    tracing::debug!(%conn, promised_id = %m.promised_id, "push not subscribed: refused");
                    Outcome::Refuse(m.promised_id)
                }
            },
            Event::RecvReset(m) => {
                match &sub.r.reset {
                    Some(r) => {
                        send_to(r, m);
                    }
                    None => {
                        tracing::debug!(%conn, id = %m.id, code = %m.code, remote = m.remote, "stream reset")
                    }
                }
                Outcome::Delivered
            }
            Event::GoAway(m) => {
                match &sub.r.go_away {
                    Some(r) => r.do_send(m),
                    // A graceful GOAWAY is routine (every client that leaves
                    // sends one); one with an error code says something
                    // went wrong.
                    None if m.code == ErrorCode::NO_ERROR => {
                        tracing::debug!(%conn, last_stream_id = %m.last_stream_id, "GOAWAY from the peer")
                    }
                    None => {
                        crate::log_limit::limited!(info, %conn, last_stream_id = %m.last_stream_id, code = %m.code, "GOAWAY from the peer")
                    }
                }
                Outcome::Delivered
            }
            Event::Closed(m) => {
                match &sub.r.closed {
                    Some(r) => r.do_send(m),
                    None => tracing::debug!(%conn, reason = ?m.reason, "connection closed"),
                }
                Outcome::Delivered
            }
        }
    }

    /// Does what `route` left for stream `id`. `ended` is the backlog of a
    /// stream whose entry ended already (its notes go out from there).
    /// False when no more notes of the stream go out now (one is in
    /// flight, or nobody is left to take them).
    fn finish(&mut self, id: StreamId, outcome: Outcome, ended: Option<&BacklogRef>) -> bool {
        match outcome {
            Outcome::Delivered => true,
            Outcome::InFlight(req, n) => {
                let b = match ended {
                    Some(b) => {
                        self.lingering += 1;
                        b.clone()
                    }
                    None => match self.proto.app_mut(id) {
                        Some(e) => e.backlog.get_or_insert_with(|| Backlog::new(id)).clone(),
                        // Not reachable (the note was just routed from it).
                        None => Backlog::new(id),
                    },
                };
                self.await_handled(b, req, n);
                false
            }
            Outcome::Dropped(n) => {
                if n > 0 {
                    self.proto.release_capacity(id, n);
                }
                true
            }
            Outcome::Refuse(promised_id) => {
                self.reset_stream(promised_id, ErrorCode::CANCEL, false);
                true
            }
            Outcome::Gone(n) => {
                match ended {
                    Some(b) => {
                        let rest = b.borrow_mut().clear();
                        self.give_back(id, n + rest);
                    }
                    None => {
                        self.give_back(id, n);
                        self.subscriber_gone(id);
                    }
                }
                false
            }
        }
    }

    /// The subscriber finished handling a `RecvData` (auto-release mode).
    pub(crate) fn data_handled(&mut self, b: BacklogRef, n: usize, ok: bool) {
        let id = b.borrow().id;
        if n > 0 {
            // Give the bytes back even if the stream is gone: the connection
            // window counts them too.
            self.proto.release_capacity(id, n);
        }
        b.borrow_mut().in_flight = false;
        let ended = b.borrow().orphan.is_some();
        if ended {
            // The stream's entry ended meanwhile: the backlog has the rest.
            self.lingering = self.lingering.saturating_sub(1);
            if ok && !self.streams_shut {
                self.drain_orphan(b);
            } else {
                // Its subscriber is gone, or the connection ended every
                // stream: the rest is dropped.
                let rest = b.borrow_mut().clear();
                self.give_back(id, rest);
                b.borrow_mut().orphan = None;
            }
        } else {
            if !ok {
                self.subscriber_gone(id);
            }
            // Drain the notes kept back, up to the next DATA in flight.
            while let Some(note) = self.next_kept_note(id) {
                self.deliver_note(id, note);
            }
        }
        self.kick();
    }

    /// The next note kept back of a live stream, unless a `RecvData` of it
    /// is in flight.
    fn next_kept_note(&self, id: StreamId) -> Option<Event> {
        let mut b = self.proto.app(id)?.backlog.as_ref()?.borrow_mut();
        if b.in_flight {
            return None;
        }
        b.notes.pop_front()
    }

    /// The subscriber of a stream is gone: reset that stream (CANCEL), never
    /// the connection.
    fn subscriber_gone(&mut self, id: StreamId) {
        if self.stream_is_open(id) {
            tracing::debug!(conn = %self.id, %id, "subscriber gone: resetting the stream");
            self.reset_stream(id, ErrorCode::CANCEL, false);
        }
    }

    /// `RecvReset` for a stream taken out of the table (its terminal event,
    /// connection end, forced close), delivered at once.
    pub(super) fn deliver_reset_now(
        &mut self,
        id: StreamId,
        dest: &Dest,
        code: ErrorCode,
        remote: bool,
        cause: ResetCause,
    ) {
        let Some(stream) = dest.stream(&self.link, id) else {
            return;
        };
        let msg = RecvReset {
            stream,
            conn: self.id,
            id,
            code,
            remote,
            cause,
        };
        self.route(dest.sub(&self.subscriber), Event::RecvReset(msg));
    }

    /// The connection actor stopped: `Closed`, its last notification.
    pub fn deliver_closed(&mut self) {
        let closed = Closed {
            conn: self.id,
            reason: self.close_reason.clone().unwrap_or(CloseReason::Done),
            peer_settings: self.proto.peer_settings_seen(),
        };
        self.route(&self.subscriber, Event::Closed(closed));
        if let Some(q) = &self.session {
            q.close();
        }
    }
}

/// Queues a notification; false when the recipient is gone.
fn send_to<M>(r: &Recipient<M>, m: M) -> bool
where
    M: Message<Result = ()> + Send + 'static,
{
    if r.connected() {
        r.do_send(m);
        true
    } else {
        false
    }
}

/// `Delivered`, or `Gone` with the `unread` bytes the recipient held.
fn sent(ok: bool, unread: usize) -> Outcome {
    if ok {
        Outcome::Delivered
    } else {
        Outcome::Gone(unread)
    }
}
