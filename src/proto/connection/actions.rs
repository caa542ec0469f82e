//! User actions: open a stream, send a head, body, trailers or a push
//! promise (§8), reset a stream (§6.4), give back receive capacity (§6.9),
//! ping (§6.7) and change our settings (§6.5). Each checks the stream's
//! §5.1 state and the peer's limits and answers a [`UserError`] without
//! touching the connection when refused.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use crate::frame::{self, BlockStart, ErrorCode, Frame, Ping, Setting, Settings, StreamId};
use crate::hpack::FieldRef;
use crate::priority::Priority;

use super::{recount, Connection};
use crate::proto::guards::Waste;
use crate::proto::headers::{self, Length, Malformed};
use crate::proto::settings;
use crate::proto::store::CloseCause;
use crate::proto::stream::{RecvPhase, SendPhase, Stream, StreamState};
use crate::proto::{Event, Head, Role, UserError};

/// Chunks (`send_data` calls) a stream may have queued and not written.
pub const MAX_QUEUED_CHUNKS: usize = 1_024;

/// The peer's SETTINGS_MAX_CONCURRENT_STREAMS assumed by
/// [`Connection::open_capacity`] before its SETTINGS arrive.
pub const ASSUMED_PEER_MAX_STREAMS: u32 = 100;

impl<A> Connection<A> {
    /// Client: reserves the next stream id. `Err(StreamLimit)` while the
    /// peer's SETTINGS_MAX_CONCURRENT_STREAMS is reached (queue and retry when
    /// [`Connection::can_open_stream`] says so).
    pub fn open_stream(&mut self) -> Result<StreamId, UserError> {
        self.check_open()?;
        let id = self.next_local_id;
        self.next_local_id += 2;
        let mut s = Stream::boxed(
            id,
            StreamState::Idle,
            self.peer.initial_window_size,
            self.local.initial_window_size,
        );
        recount(&mut self.counts, self.role, &mut s);
        self.insert_stream(id, s);
        Ok(StreamId(id))
    }

    fn check_open(&self) -> Result<(), UserError> {
        self.check_usable()?;
        if self.role != Role::Client {
            return Err(UserError::WrongRole(Role::Client));
        }
        if self.goaway_sent.is_some() || self.goaway_recv.is_some() {
            return Err(UserError::GoingAway);
        }
        if self.next_local_id > StreamId::MAX.0 {
            return Err(UserError::StreamIdsExhausted);
        }
        if self.counts.local >= self.peer.max_concurrent_streams as usize {
            return Err(UserError::StreamLimit);
        }
        Ok(())
    }

    /// True when `open_stream` would succeed.
    pub fn can_open_stream(&self) -> bool {
        self.check_open().is_ok()
    }

    /// The id `open_stream` assigns next (client), or the next promised id
    /// (server).
    pub fn next_stream_id(&self) -> StreamId {
        StreamId(self.next_local_id)
    }

    /// Client: how many more streams `open_stream` would accept now (0 while
    /// the peer's SETTINGS_MAX_CONCURRENT_STREAMS is reached, §5.1.2), or
    /// why no stream can be opened at all (going away, ids exhausted, ...).
    pub fn open_capacity(&self) -> Result<usize, UserError> {
        match self.check_open() {
            Ok(()) => {
                // Until the peer's SETTINGS arrive its limit is unknown
                // ("unlimited", §6.5.2), yet almost every server has one: a
                // burst of opens would be refused (REFUSED_STREAM) beyond
                // it. Assume 100 until then, as Go's and hyper's clients do.
                let limit = if self.peer_settings_seen {
                    self.peer.max_concurrent_streams
                } else {
                    self.peer
                        .max_concurrent_streams
                        .min(ASSUMED_PEER_MAX_STREAMS)
                };
                Ok((limit as usize).saturating_sub(self.counts.local))
            }
            Err(UserError::StreamLimit) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Checks a head against the peer's MAX_HEADER_LIST_SIZE (advisory,
    /// §6.5.2: we refuse rather than have the peer refuse).
    fn check_list_size(&self, size: usize) -> Result<(), UserError> {
        if size > self.peer.max_header_list_size as usize {
            return Err(UserError::Malformed(
                "header list larger than the peer's SETTINGS_MAX_HEADER_LIST_SIZE",
            ));
        }
        Ok(())
    }

    /// Sends a request (client, on an id from `open_stream`) or a response
    /// (server; 1xx responses may precede the final one). Checks RFC 9113 §8
    /// (pseudo-headers, no connection-specific fields, `te: trailers` only).
    ///
    /// `now` dates what the call changes (the last stream ending starts
    /// the idle timer).
    pub fn send_headers(
        &mut self,
        id: StreamId,
        head: Head,
        end_stream: bool,
        now: Instant,
    ) -> Result<(), UserError> {
        self.send_head(id, &head, None, end_stream, now)
    }

    /// [`Connection::send_headers`] with the head borrowed: it is only
    /// read (checked and encoded), and a head is a few hundred bytes that
    /// each move copies. `body_len`, the length of the whole body to
    /// follow, goes out as `content-length` when the head declares none
    /// (RFC 9110 §8.6), without being added to the head's `HeaderMap` (a
    /// hash insert and an allocation per message).
    pub fn send_head(
        &mut self,
        id: StreamId,
        head: &Head,
        body_len: Option<u64>,
        end_stream: bool,
        now: Instant,
    ) -> Result<(), UserError> {
        self.tick(now);
        self.check_usable()?;
        let raw = id.0;
        let Some(s) = self.streams.get(&raw) else {
            return Err(UserError::UnknownStream(id));
        };
        let state = s.state;
        let send_phase = s.send_phase;
        match (self.role, head) {
            (Role::Client, Head::Request(req)) => {
                if state != StreamState::Idle {
                    return Err(UserError::InvalidState {
                        id,
                        state: state.name(),
                    });
                }
                if self.goaway_sent.is_some() {
                    return Err(UserError::GoingAway);
                }
                if raw < self.last_local_sent {
                    return Err(UserError::StreamIdOrder(id));
                }
                let (pseudo, folded) =
                    headers::request_pseudo(req, self.peer.enable_connect_protocol)
                        .map_err(UserError::Malformed)?;
                let out = headers::check_outgoing_head(req.headers(), folded)
                    .map_err(UserError::Malformed)?;
                let (length, send_expected, size) = out.with_body_len(body_len);
                let size = size + headers::pseudo_size(&pseudo);
                self.check_list_size(size)?;
                self.queue_field_block(
                    id,
                    BlockStart::headers(end_stream),
                    pseudo
                        .iter()
                        .flatten()
                        .copied()
                        .chain(headers::regular_fields(req.headers(), folded))
                        .chain(length.as_ref().map(Length::field)),
                );
                self.last_local_sent = raw;
                let head_request = req.method() == Method::HEAD;
                if let Some(s) = self.streams.get_mut(&raw) {
                    s.set_send_expected(send_expected);
                    s.state = StreamState::Open;
                    s.send_phase = SendPhase::Body;
                    s.head_request = head_request;
                    s.recv_phase = RecvPhase::Head;
                    if end_stream {
                        s.state = s.state.close_local();
                        s.end_queued = true;
                        s.end_sent = true;
                    }
                }
            }
            (Role::Server, Head::Response(resp)) => {
                let reserved = state == StreamState::ReservedLocal;
                if !(state.send_open() || reserved) || send_phase != SendPhase::Head {
                    return Err(UserError::InvalidState {
                        id,
                        state: if send_phase == SendPhase::Body {
                            "response already sent"
                        } else {
                            state.name()
                        },
                    });
                }
                let status = resp.status();
                let informational = status.is_informational();
                if status == StatusCode::SWITCHING_PROTOCOLS {
                    return Err(UserError::Malformed("101 is not used in HTTP/2 (§8.6)"));
                }
                if informational && end_stream {
                    return Err(UserError::Malformed(
                        "a 1xx response cannot end the stream (§8.1)",
                    ));
                }
                if reserved && informational {
                    return Err(UserError::Malformed("a pushed response cannot be 1xx"));
                }
                if reserved && self.counts.local >= self.peer.max_concurrent_streams as usize {
                    return Err(UserError::StreamLimit);
                }
                let out = headers::check_outgoing_head(resp.headers(), false)
                    .map_err(UserError::Malformed)?;
                // No length for a 1xx: it has no content (RFC 9110 §15.2).
                let (length, send_expected, size) =
                    out.with_body_len(body_len.filter(|_| !informational));
                let size = size + 32 + 7 + 3;
                self.check_list_size(size)?;
                let st = FieldRef {
                    name: b":status",
                    value: status.as_str().as_bytes(),
                    sensitive: false,
                };
                self.queue_field_block(
                    id,
                    BlockStart::headers(end_stream),
                    std::iter::once(st)
                        .chain(headers::regular_fields(resp.headers(), false))
                        .chain(length.as_ref().map(Length::field)),
                );
                let no_body =
                    status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
                if let Some(s) = self.streams.get_mut(&raw) {
                    if !informational {
                        // §8.1.1: a response to HEAD, a 204 or a 304 has no
                        // content whatever its content-length says.
                        s.set_send_expected(if s.head_request || no_body {
                            Some(0)
                        } else {
                            send_expected
                        });
                    }
                    if reserved {
                        // §8.4.2: the pushed response opens the stream
                        // half-closed (remote).
                        s.state = StreamState::HalfClosedRemote;
                    }
                    if !informational {
                        s.send_phase = SendPhase::Body;
                    }
                    if end_stream {
                        s.state = s.state.close_local();
                        s.end_queued = true;
                        s.end_sent = true;
                    }
                }
            }
            (Role::Client, Head::Response(_)) => return Err(UserError::WrongRole(Role::Server)),
            (Role::Server, Head::Request(_)) => return Err(UserError::WrongRole(Role::Client)),
        }
        self.recount(raw);
        self.maybe_finish(raw);
        Ok(())
    }

    /// Queues body bytes; they go out as DATA frames (split to the peer's
    /// MAX_FRAME_SIZE) as the windows allow, and `Event::DataSent` reports them.
    /// `now` dates what the call changes (DATA queued behind a shut window
    /// starts the stall timer, §6.9).
    pub fn send_data(
        &mut self,
        id: StreamId,
        data: Bytes,
        end_stream: bool,
        now: Instant,
    ) -> Result<(), UserError> {
        self.tick(now);
        self.check_usable()?;
        let max = self.config.max_send_buffer_per_stream;
        let Some(s) = self.streams.get_mut(&id.0) else {
            return Err(UserError::UnknownStream(id));
        };
        if !s.state.send_open() || s.send_phase != SendPhase::Body || s.end_queued {
            return Err(UserError::InvalidState {
                id,
                state: s.state.name(),
            });
        }
        // Bounded in bytes and in chunks (many tiny sends cost memory too).
        if !s.queue.is_empty()
            && (s.queued_bytes + data.len() > max || s.queue.len() >= MAX_QUEUED_CHUNKS)
        {
            return Err(UserError::SendBufferFull(id));
        }
        if let Some(n) = s.send_expected() {
            let total = s.sent_len + data.len() as u64;
            if total > n {
                return Err(UserError::Malformed(
                    "DATA beyond the content-length sent (§8.1.1)",
                ));
            }
            if end_stream && total != n {
                return Err(UserError::Malformed(
                    "DATA shorter than the content-length sent (§8.1.1)",
                ));
            }
        }
        s.sent_len += data.len() as u64;
        if data.is_empty() && !end_stream {
            self.events.push_back(Event::DataSent { id, len: 0 });
            return Ok(());
        }
        if !data.is_empty() {
            s.queued_bytes += data.len();
            s.queue.push_back(data);
        }
        if end_stream {
            s.end_queued = true;
            s.state = s.state.close_local();
        }
        // Queued behind a shut window, `poll_transmit` may not run at all:
        // the stall clock starts here.
        self.check_stall(id.0);
        self.mark_ready(id.0);
        self.recount(id.0);
        Ok(())
    }

    /// Queues trailers (after the queued data), ending the stream. `now`
    /// dates what the call changes (the last stream ending starts the idle
    /// timer).
    pub fn send_trailers(
        &mut self,
        id: StreamId,
        trailers: HeaderMap,
        now: Instant,
    ) -> Result<(), UserError> {
        self.tick(now);
        self.check_usable()?;
        let Some(s) = self.streams.get(&id.0) else {
            return Err(UserError::UnknownStream(id));
        };
        if !s.state.send_open() || s.send_phase != SendPhase::Body || s.end_queued {
            return Err(UserError::InvalidState {
                id,
                state: s.state.name(),
            });
        }
        if s.send_expected().is_some_and(|n| n != s.sent_len) {
            return Err(UserError::Malformed(
                "DATA shorter than the content-length sent (§8.1.1)",
            ));
        }
        let queue_empty = s.queue.is_empty();
        let size = headers::check_outgoing(&trailers, false).map_err(UserError::Malformed)?;
        self.check_list_size(size)?;
        if queue_empty {
            // Nothing ahead of it: encode now, in wire order.
            self.queue_field_block(
                id,
                BlockStart::headers(true),
                headers::regular_fields(&trailers, false),
            );
        }
        if let Some(s) = self.streams.get_mut(&id.0) {
            s.end_queued = true;
            s.state = s.state.close_local();
            if queue_empty {
                s.end_sent = true;
            } else {
                s.trailers = Some(Box::new(trailers));
            }
        }
        self.mark_ready(id.0);
        self.recount(id.0);
        self.maybe_finish(id.0);
        Ok(())
    }

    /// Server: promises a pushed response on `id` (RFC 9113 §8.4). Returns the
    /// promised (even) stream id, on which the server then sends the response.
    pub fn push_promise(
        &mut self,
        id: StreamId,
        request: http::Request<()>,
    ) -> Result<StreamId, UserError> {
        self.check_usable()?;
        if self.role != Role::Server {
            return Err(UserError::WrongRole(Role::Server));
        }
        if !self.peer.enable_push {
            return Err(UserError::PushDisabled);
        }
        if self.goaway_sent.is_some() || self.goaway_recv.is_some() {
            return Err(UserError::GoingAway);
        }
        let Some(s) = self.streams.get(&id.0) else {
            return Err(UserError::UnknownStream(id));
        };
        // §8.4: on a peer-initiated stream, open or half-closed (remote).
        if !s.peer_initiated
            || !matches!(s.state, StreamState::Open | StreamState::HalfClosedRemote)
        {
            return Err(UserError::InvalidState {
                id,
                state: s.state.name(),
            });
        }
        // §8.4.1: safe, cacheable, no content, with an authority.
        let method = request.method();
        if *method != Method::GET && *method != Method::HEAD {
            return Err(UserError::Malformed(
                "a promised request must be safe and cacheable (GET or HEAD) (§8.4.1)",
            ));
        }
        if request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
        {
            return Err(UserError::Malformed(
                "a promised request has no content (§8.4.1)",
            ));
        }
        if self.next_local_id > StreamId::MAX.0 {
            return Err(UserError::StreamIdsExhausted);
        }
        if self.counts.local >= self.peer.max_concurrent_streams as usize {
            return Err(UserError::StreamLimit);
        }
        let (pseudo, folded) = headers::request_pseudo(&request, false).map_err(malformed)?;
        if pseudo[2].is_none() {
            return Err(UserError::Malformed(
                "a promised request needs an authority (§8.4.1)",
            ));
        }
        let size = headers::check_outgoing(request.headers(), folded).map_err(malformed)?
            + headers::pseudo_size(&pseudo);
        self.check_list_size(size)?;
        let promised = self.next_local_id;
        self.next_local_id += 2;
        self.queue_field_block(
            id,
            BlockStart::PushPromise {
                promised_id: StreamId(promised),
            },
            pseudo
                .iter()
                .flatten()
                .copied()
                .chain(headers::regular_fields(request.headers(), folded)),
        );
        self.last_local_sent = promised;
        let mut s = Stream::boxed(
            promised,
            StreamState::ReservedLocal,
            self.peer.initial_window_size,
            self.local.initial_window_size,
        );
        recount(&mut self.counts, self.role, &mut s);
        self.insert_stream(promised, s);
        Ok(StreamId(promised))
    }

    /// Sets stream `id`'s RFC 9218 priority. Our own write scheduler
    /// serves its DATA by it from now on (a server: the response's place
    /// among the others, §10); a client also tells the server with a
    /// PRIORITY_UPDATE frame (§7.1), written with the control frames.
    /// Errors: no such stream (`UnknownStream`), or the connection is
    /// closed or closing.
    pub fn update_priority(&mut self, id: StreamId, p: Priority) -> Result<(), UserError> {
        self.check_usable()?;
        if !self.set_priority(id, p) {
            return Err(UserError::UnknownStream(id));
        }
        if self.role == Role::Client {
            Frame::PriorityUpdate(frame::PriorityUpdate {
                prioritized: id,
                field: Bytes::from(Priority::new(p.urgency, p.incremental).to_field()),
            })
            .encode(&mut self.pending);
        }
        Ok(())
    }

    /// Resets a stream (RST_STREAM with `code`), dropping its queued data
    /// and its application slot (take that first with
    /// [`Connection::take_app`] if it is needed). `now` dates what the call
    /// changes (the last stream ending starts the idle timer).
    pub fn reset(&mut self, id: StreamId, code: ErrorCode, now: Instant) -> Result<(), UserError> {
        self.tick(now);
        self.check_usable()?;
        let Some(s) = self.streams.get(&id.0) else {
            return Err(UserError::UnknownStream(id));
        };
        // A push reset before its response ended counts toward the bound
        // on wasted peer streams (§10.5); over it, the next promise ends
        // the connection (ENHANCE_YOUR_CALM), as a refused one would.
        let push_cut = self.role == Role::Client
            && !self.is_local_id(id.0)
            && (s.state == StreamState::ReservedRemote || s.state.recv_open());
        if s.state != StreamState::Idle {
            self.queue_rst(id.0, code);
        }
        self.remove_stream(id.0, CloseCause::LocalReset);
        if push_cut {
            let mcs = self.local.max_concurrent_streams;
            let _ = self.guards.peer_stream_wasted(mcs, Waste::PushRefused);
        }
        Ok(())
    }

    /// The user consumed `n` bytes of DATA on `id`: reopen our receive windows
    /// (WINDOW_UPDATE on the stream and on the connection, batched).
    ///
    /// Bytes of a stream that is already gone were given back to the
    /// connection window when it closed; releasing them again is a no-op.
    pub fn release_capacity(&mut self, id: StreamId, n: usize) {
        if self.error.is_some() {
            return;
        }
        let Some(s) = self.streams.get_mut(&id.0) else {
            return;
        };
        let n = (n.min(u32::MAX as usize) as u32).min(s.unreleased);
        s.unreleased -= n;
        self.release_stream(id.0, n);
        self.release_conn(n);
    }

    /// Sends a PING; `Event::PingAck` reports the answer.
    pub fn ping(&mut self, payload: [u8; 8]) -> Result<(), UserError> {
        self.check_usable()?;
        if self.pings_out.len() >= self.config.max_pending_pings {
            return Err(UserError::TooManyPings);
        }
        self.pings_out.push_back(payload);
        Frame::Ping(Ping {
            ack: false,
            payload,
        })
        .encode(&mut self.pending);
        Ok(())
    }

    /// Sends new local settings (applied when the peer ACKs them, except a
    /// larger SETTINGS_INITIAL_WINDOW_SIZE: our receive windows grow at
    /// once, as the peer may use them before its ACK reaches us, §6.9.2).
    /// `now` starts their SETTINGS_TIMEOUT (§6.5.3).
    pub fn update_settings(&mut self, params: Vec<Setting>, now: Instant) -> Result<(), UserError> {
        self.tick(now);
        self.check_usable()?;
        for p in &params {
            settings::check_value(p).map_err(|(_, r)| UserError::Malformed(r))?;
            if self.role == Role::Server && *p == Setting::EnablePush(true) {
                return Err(UserError::Malformed(
                    "a server MUST NOT send ENABLE_PUSH = 1 (§6.5.2)",
                ));
            }
        }
        if self.pending_settings.len() >= self.config.max_pending_pings.max(1) {
            return Err(UserError::InvalidState {
                id: StreamId::ZERO,
                state: "too many SETTINGS awaiting acknowledgement",
            });
        }
        Frame::Settings(Settings {
            ack: false,
            params: params.clone(),
        })
        .encode(&mut self.pending);
        self.pending_settings.push_back((params, now));
        self.refresh_settings_timer();
        if let Some(n) = self.pending_initial_window() {
            if n > self.local.initial_window_size {
                // Cannot overflow: a stream's receive window is at most
                // the current initial size, and `n` was checked (§6.5.2).
                let _ = self.set_local_initial_window(n);
            }
        }
        Ok(())
    }
}

fn malformed(m: Malformed) -> UserError {
    UserError::Malformed(m)
}
