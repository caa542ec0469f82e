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
//! meanwhile later notifications of that stream wait here (in order), so a
//! slow subscriber slows the peer instead of growing its mailbox.

use actix::{Addr, Message, Recipient};
use bytes::Bytes;

use super::super::messages::*;
use super::super::H2Stream;
use super::table::{Note, StreamEntry};
use super::{Core, Later, WeakCore};
use crate::frame::{ErrorCode, StreamId};
use crate::proto::{self, Event as ProtoEvent, UserError};

/// What became of a notification.
enum Outcome {
    Delivered,
    /// A `RecvData` is with the subscriber; later notes of its stream wait.
    InFlight,
    /// The recipient is gone: reset the stream.
    Gone,
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

    fn on_event(&mut self, ev: ProtoEvent) {
        match ev {
            ProtoEvent::Headers {
                id,
                head,
                end_stream,
            } => self.on_headers(id, head, end_stream),
            ProtoEvent::Data {
                id,
                data,
                end_stream,
            } => {
                if let Some(e) = self.streams.get_mut(&id) {
                    e.recv_done |= end_stream;
                    self.note(id, Note::Data { data, end_stream });
                } else if !data.is_empty() {
                    // Nobody to give it to (we reset the stream meanwhile).
                    self.proto.release_capacity(id, data.len());
                }
            }
            ProtoEvent::Trailers { id, trailers } => {
                if let Some(e) = self.streams.get_mut(&id) {
                    e.recv_done = true;
                }
                self.note(id, Note::Trailers(trailers));
            }
            ProtoEvent::Promise {
                id,
                promised_id,
                request,
            } => {
                let sub = self
                    .streams
                    .get(&id)
                    .and_then(|e| e.subscriber.as_deref().cloned());
                let promised = H2Stream::start_child(
                    self.me.clone(),
                    &self.spawner,
                    self.id,
                    Some(promised_id),
                );
                self.streams
                    .insert(promised_id, StreamEntry::new(promised.clone(), sub, true));
                let note = Note::Promise {
                    promised,
                    promised_id,
                    request,
                };
                self.note(id, note);
            }
            ProtoEvent::Reset { id, code, remote } => {
                if let Some(e) = self.streams.get_mut(&id) {
                    e.fail_sends(&Error::Reset(code));
                    e.closed = true;
                    // After a complete response, a peer's NO_ERROR reset
                    // only stops our sending (RFC 9113 §8.1): the reader
                    // already had its end, and the senders hear the reset.
                    if !(remote && code == ErrorCode::NO_ERROR && e.recv_done) {
                        self.note(id, Note::Reset { code, remote });
                    }
                }
                self.maybe_remove(id);
                self.slot_freed = true;
            }
            ProtoEvent::Closed { id } => {
                if let Some(e) = self.streams.get_mut(&id) {
                    // Everything was written (both END_STREAMs are out).
                    for p in e.sending.drain(..) {
                        let _ = p.tx.send(Ok(()));
                    }
                    for w in e.waiting.drain(..) {
                        w.fail(Error::User(UserError::UnknownStream(id)));
                    }
                    e.closed = true;
                }
                self.maybe_remove(id);
                self.slot_freed = true;
            }
            ProtoEvent::DataSent { id, len } => {
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

    fn on_headers(&mut self, id: StreamId, head: proto::Head, end_stream: bool) {
        let addr = match self.streams.get_mut(&id) {
            Some(e) => {
                e.recv_done |= end_stream;
                match e.addr() {
                    Some(a) => a,
                    None => {
                        // Its actor is stopping: nobody can answer.
                        self.subscriber_gone(id);
                        return;
                    }
                }
            }
            None => {
                let addr = H2Stream::start_child(self.me.clone(), &self.spawner, self.id, Some(id));
                let mut e = StreamEntry::new(addr.clone(), None, true);
                e.recv_done = end_stream;
                self.streams.insert(id, e);
                addr
            }
        };
        let msg = RecvHeaders {
            stream: addr,
            conn: self.id,
            id,
            head,
            end_stream,
        };
        if let Some(q) = &self.session {
            q.push(Event::RecvHeaders(msg));
            return;
        }
        let delivered = match &self.sub_of(id).headers {
            Some(r) => send_to(r, msg),
            None => {
                tracing::debug!(conn = %self.id, %id, "no subscriber for headers: refusing the stream");
                false
            }
        };
        if !delivered {
            self.subscriber_gone(id);
        }
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
        if let Some(q) = &self.session {
            q.push(Event::GoAway(msg));
            return;
        }
        match &self.subscriber.go_away {
            Some(r) => r.do_send(msg),
            // A graceful GOAWAY is routine (every client that leaves sends
            // one): debug; one with an error code says something went wrong.
            None if msg.code == ErrorCode::NO_ERROR => {
                tracing::debug!(conn = %msg.conn, last_stream_id = %msg.last_stream_id, "GOAWAY from the peer")
            }
            None => {
                tracing::info!(conn = %msg.conn, last_stream_id = %msg.last_stream_id, code = %msg.code, "GOAWAY from the peer")
            }
        }
    }

    fn sub_of(&self, id: StreamId) -> &Subscriber {
        self.streams
            .get(&id)
            .and_then(|e| e.subscriber.as_deref())
            .unwrap_or(&self.subscriber)
    }

    /// Delivers a notification, or keeps it behind a `RecvData` still with
    /// the subscriber so the stream's order holds.
    fn note(&mut self, id: StreamId, note: Note) {
        let Some(e) = self.streams.get_mut(&id) else {
            return;
        };
        if e.data_in_flight || !e.deferred.is_empty() {
            e.defer(note);
            return;
        }
        self.deliver_note(id, note);
        self.maybe_remove(id);
    }

    /// Sends one note to the stream's subscriber (a gone subscriber resets
    /// the stream; an unsubscribed notification takes its default).
    fn deliver_note(&mut self, id: StreamId, note: Note) {
        let Some(e) = self.streams.get(&id) else {
            return;
        };
        let Some(stream) = e.addr() else {
            // The actor is stopping (every address dropped): drop the note.
            self.give_back(id, note.data_len());
            self.subscriber_gone(id);
            return;
        };
        let conn = self.id;
        let outcome = if let Some(q) = &self.session {
            q.push(session_event(conn, id, stream, note));
            Outcome::Delivered
        } else {
            let sub = e.subscriber.as_deref().unwrap_or(&self.subscriber);
            match note {
                Note::Data { data, end_stream } => {
                    self.deliver_data(sub.data.clone(), id, stream, data, end_stream)
                }
                Note::DataBuf { buf, end_stream } => {
                    self.deliver_data(sub.data.clone(), id, stream, buf.freeze(), end_stream)
                }
                Note::Trailers(trailers) => match &sub.trailers {
                    Some(r) => sent(send_to(
                        r,
                        RecvTrailers {
                            stream,
                            conn,
                            id,
                            trailers,
                        },
                    )),
                    None => Outcome::Delivered,
                },
                Note::Promise {
                    promised,
                    promised_id,
                    request,
                } => match &sub.promise {
                    Some(r) => sent(send_to(
                        r,
                        RecvPromise {
                            stream,
                            conn,
                            id,
                            promised,
                            promised_id,
                            request,
                        },
                    )),
                    None => {
                        tracing::debug!(%conn, %promised_id, "push not subscribed: refused");
                        self.reset_stream(promised_id, ErrorCode::CANCEL, false);
                        Outcome::Delivered
                    }
                },
                Note::Reset { code, remote } => {
                    let msg = RecvReset {
                        stream,
                        conn,
                        id,
                        code,
                        remote,
                    };
                    if let Some(r) = &sub.reset {
                        send_to(r, msg);
                    } else {
                        tracing::debug!(%conn, %id, %code, remote, "stream reset");
                    }
                    Outcome::Delivered
                }
            }
        };
        match outcome {
            Outcome::InFlight => {
                if let Some(e) = self.streams.get_mut(&id) {
                    e.data_in_flight = true;
                }
            }
            Outcome::Delivered => {}
            Outcome::Gone => self.subscriber_gone(id),
        }
    }

    /// Delivers DATA. With auto-release the bytes go back to the windows
    /// when the subscriber has *handled* the message (`send` + completion),
    /// so a slow subscriber slows the peer; later notes wait meanwhile.
    /// Unsubscribed DATA is released and dropped.
    fn deliver_data(
        &mut self,
        to: Option<Recipient<RecvData>>,
        id: StreamId,
        stream: Addr<H2Stream>,
        data: Bytes,
        end_stream: bool,
    ) -> Outcome {
        let n = data.len();
        let Some(to) = to else {
            if n > 0 {
                self.proto.release_capacity(id, n);
            }
            return Outcome::Delivered;
        };
        if !to.connected() {
            self.give_back(id, n);
            return Outcome::Gone;
        }
        let msg = RecvData {
            stream,
            conn: self.id,
            id,
            data,
            end_stream,
        };
        if !self.auto_release {
            to.do_send(msg);
            return Outcome::Delivered;
        }
        let req = to.send(msg);
        let me: WeakCore = self.me.clone();
        actix_rt::spawn(async move {
            let ok = req.await.is_ok();
            if let Some(core) = me.upgrade() {
                core.run_or_defer(Later::DataHandled { id, n, ok });
            }
        });
        Outcome::InFlight
    }

    /// The subscriber finished handling a `RecvData` (auto-release mode).
    pub(super) fn data_handled(&mut self, id: StreamId, n: usize, ok: bool) {
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
            tracing::debug!(conn = %self.id, %id, "subscriber gone: resetting the stream");
            self.reset_stream(id, ErrorCode::CANCEL, false);
        } else if let Some(e) = self.streams.remove(&id) {
            self.give_back(id, e.deferred.iter().map(Note::data_len).sum());
        }
    }

    pub(super) fn maybe_remove(&mut self, id: StreamId) {
        if let Some(e) = self.streams.get(&id) {
            if e.closed && !e.data_in_flight && e.deferred.is_empty() {
                self.streams.remove(&id);
            }
        }
    }

    /// `RecvReset` for a stream taken out of the table (connection end,
    /// forced close), delivered at once.
    pub(super) fn deliver_reset_now(
        &mut self,
        id: StreamId,
        e: &StreamEntry,
        code: ErrorCode,
        remote: bool,
    ) {
        let Some(stream) = e.addr() else { return };
        let msg = RecvReset {
            stream,
            conn: self.id,
            id,
            code,
            remote,
        };
        if let Some(q) = &self.session {
            q.push(Event::RecvReset(msg));
            return;
        }
        let sub = e.subscriber.as_deref().unwrap_or(&self.subscriber);
        match &sub.reset {
            Some(r) => {
                send_to(r, msg);
            }
            None => tracing::debug!(conn = %self.id, %id, %code, "stream reset: connection ended"),
        }
    }
}

/// A note as a `Session` event (the session releases DATA when it is taken).
fn session_event(conn: ConnectionId, id: StreamId, stream: Addr<H2Stream>, note: Note) -> Event {
    match note {
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

fn sent(ok: bool) -> Outcome {
    if ok {
        Outcome::Delivered
    } else {
        Outcome::Gone
    }
}
