//! The receive path for everything but field blocks: the dispatch of
//! [`Connection::recv_frame`] and malformed frames, DATA (§6.1), RST_STREAM
//! (§6.4), SETTINGS (§6.5), PING (§6.7), GOAWAY (§6.8) and WINDOW_UPDATE
//! (§6.9). Field blocks (HEADERS, PUSH_PROMISE, CONTINUATION) are in
//! `recv_headers.rs`.

use std::time::Instant;

use bytes::Bytes;
use tracing::{debug, trace};

use crate::frame::{
    self, ErrorCode, Frame, GoAway, Ping, RstStream, Setting, Settings, StreamId, WindowUpdate,
};

use super::shutdown::SHUTDOWN_PING;
use super::timers::{self, Timer};
use super::{recount, Connection};
use crate::proto::guards::Waste;
use crate::proto::settings;
use crate::proto::store::CloseCause;
use crate::proto::stream::{RecvPhase, SendPhase, StreamState};
use crate::proto::{ConnectionError, Event, Role};

impl<A> Connection<A> {
    /// Processes one frame from the peer, received at `now`. On `Err` the
    /// connection is over: GOAWAY is queued (flush `poll_transmit`, then
    /// close the socket).
    pub fn recv_frame(&mut self, frame: Frame, now: Instant) -> Result<(), ConnectionError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.saw_peer(now);
        trace!(?frame, "recv");
        if self.events.capacity() == 0 {
            // Most frames queue an event (~240 bytes), and a first push
            // makes room for four: room for one is what a quiet
            // connection's frames need (the peer's SETTINGS, a lone
            // request); the first burst grows it as usual. A quiet socket
            // frees it again (`release_idle_memory`).
            self.events.reserve_exact(1);
        }
        // §3.4: the peer's connection preface starts with a SETTINGS frame.
        if !self.peer_settings_seen && !matches!(&frame, Frame::Settings(s) if !s.ack) {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "first frame from the peer is not SETTINGS (§3.4)",
            ));
        }
        // §4.3/§6.10: a field block is a contiguous run of frames.
        if let Some(b) = &self.block {
            let ok = matches!(&frame, Frame::Continuation(c) if c.stream_id.0 == b.stream_id);
            if !ok {
                return Err(self.conn_error(
                    ErrorCode::PROTOCOL_ERROR,
                    "frame other than CONTINUATION inside a field block (§6.10)",
                ));
            }
        }
        let r = match frame {
            Frame::Data(d) => self.recv_data(d, now),
            Frame::Headers(h) => self.recv_headers(h),
            Frame::Priority(p) => self.recv_priority(p, now),
            Frame::RstStream(r) => self.recv_rst(r, now),
            Frame::Settings(s) => self.recv_settings(s, now),
            Frame::PushPromise(p) => self.recv_push_promise(p),
            Frame::Ping(p) => self.recv_ping(p, now),
            Frame::GoAway(g) => self.recv_goaway(g, now),
            Frame::WindowUpdate(w) => self.recv_window_update(w, now),
            Frame::Continuation(c) => self.recv_continuation(c),
            Frame::PriorityUpdate(p) => self.recv_priority_update(p, now),
            Frame::Unknown(_) => self.cheap_frame(now), // §4.1, §5.5: ignored
        };
        r.and_then(|()| self.check_rst_flood())
    }

    /// A peer that provokes RST_STREAMs faster than it reads them (§10.5):
    /// the queue of unsent resets is bounded.
    fn check_rst_flood(&mut self) -> Result<(), ConnectionError> {
        let r = self.guards.check_resets();
        self.flood(r)
    }

    /// Processes a malformed frame reported by the codec (`frame::Error`):
    /// a stream error queues RST_STREAM, a connection error GOAWAY. `now`
    /// as for [`Connection::recv_frame`].
    pub fn recv_malformed(
        &mut self,
        err: frame::Error,
        now: Instant,
    ) -> Result<(), ConnectionError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.saw_peer(now);
        match err {
            frame::Error::Connection { code, reason } => Err(self.conn_error(code, reason)),
            frame::Error::Stream {
                stream_id,
                code,
                reason,
            } => {
                if !self.peer_settings_seen {
                    return Err(self.conn_error(
                        ErrorCode::PROTOCOL_ERROR,
                        "first frame from the peer is not SETTINGS (§3.4)",
                    ));
                }
                if self.block.is_some() {
                    return Err(self.conn_error(
                        ErrorCode::PROTOCOL_ERROR,
                        "frame other than CONTINUATION inside a field block (§6.10)",
                    ));
                }
                let id = stream_id.0;
                if id == 0 {
                    return Err(self.conn_error(code, reason));
                }
                self.cheap_frame(now)?;
                if !self.is_local_id(id) && id > self.last_peer_id {
                    // The reset closes the idle stream (§5.1).
                    self.last_peer_id = id;
                }
                self.stream_error(id, code, reason);
                self.check_rst_flood()
            }
        }
    }

    /// PRIORITY_UPDATE (RFC 9218 §7.1; the frame's own checks are in
    /// `frame::PriorityUpdate::load`). A client receiving one, or a server
    /// receiving one for a push stream it never promised, answers with a
    /// connection error PROTOCOL_ERROR (§7.1). An open stream takes the new
    /// priority; one for a request stream not opened yet is kept (at most
    /// `MAX_IDLE_PRIORITIES`, the oldest dropped) and applied when it
    /// opens, unless the idle streams kept plus the active ones would pass
    /// our SETTINGS_MAX_CONCURRENT_STREAMS: PROTOCOL_ERROR (§7.1); one for
    /// a closed stream is ignored. Each
    /// counts as a frame that gives us work without progress (§10.5).
    fn recv_priority_update(
        &mut self,
        p: frame::PriorityUpdate,
        now: Instant,
    ) -> Result<(), ConnectionError> {
        if self.role == Role::Client {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "PRIORITY_UPDATE received by a client (RFC 9218 §7.1)",
            ));
        }
        let id = p.prioritized.0;
        if self.is_local_id(id) && self.is_idle(id) {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "PRIORITY_UPDATE for a push stream never promised (RFC 9218 §7.1)",
            ));
        }
        self.cheap_frame(now)?;
        let prio = crate::priority::Priority::parse(&p.field);
        if self.streams.get(&id).is_some() {
            self.set_priority(p.prioritized, prio);
        } else if !self.is_local_id(id) && self.is_idle(id) {
            if let Some(e) = self.idle_priorities.iter_mut().find(|(i, _)| *i == id) {
                e.1 = prio;
            } else {
                // §7.1: idle streams prioritized plus active streams must
                // not exceed our SETTINGS_MAX_CONCURRENT_STREAMS (counting
                // the idle ones we keep).
                let idle = self
                    .idle_priorities
                    .len()
                    .min(super::MAX_IDLE_PRIORITIES - 1);
                if self.counts.peer + idle + 1 > self.local.max_concurrent_streams as usize {
                    return Err(self.conn_error(
                        ErrorCode::PROTOCOL_ERROR,
                        "PRIORITY_UPDATE for idle streams beyond SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9218 §7.1)",
                    ));
                }
                if self.idle_priorities.len() >= super::MAX_IDLE_PRIORITIES {
                    self.idle_priorities.remove(0);
                }
                self.idle_priorities.push((id, prio));
            }
        }
        Ok(())
    }

    /// PRIORITY (§6.3): the scheme is deprecated and ignored (§5.3.2),
    /// except that a stream may not depend on itself: a stream error
    /// PROTOCOL_ERROR (RFC 7540 §5.3.1; RFC 9113 dropped the text with the
    /// scheme, but nghttp2, h2o and h2spec still enforce it), answered on
    /// that stream even if it is idle.
    fn recv_priority(&mut self, p: frame::Priority, now: Instant) -> Result<(), ConnectionError> {
        if p.spec.dependency != p.stream_id {
            return self.cheap_frame(now);
        }
        self.recv_malformed(
            frame::Error::Stream {
                stream_id: p.stream_id,
                code: ErrorCode::PROTOCOL_ERROR,
                reason: "PRIORITY: a stream cannot depend on itself (RFC 7540 §5.3.1)",
            },
            now,
        )
    }

    fn recv_data(&mut self, d: frame::Data, now: Instant) -> Result<(), ConnectionError> {
        let id = d.stream_id.0;
        if id == 0 {
            return Err(self.conn_error(ErrorCode::PROTOCOL_ERROR, "DATA on stream 0 (§6.1)"));
        }
        let flow = d.flow_len();
        if d.data.is_empty() && !d.end_stream {
            self.cheap_frame(now)?;
        } else {
            self.guards.useful_frame();
        }
        // §6.9.1: the connection window counts every DATA frame, even on
        // closed streams.
        if !self.conn_recv.consume(flow) {
            return Err(self.conn_error(
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA beyond the connection flow-control window (§6.9.1)",
            ));
        }
        self.bdp_on_data(flow, now);
        let Some(s) = self.streams.get_mut(&id) else {
            if self.is_idle(id) {
                return Err(
                    self.conn_error(ErrorCode::PROTOCOL_ERROR, "DATA on an idle stream (§5.1)")
                );
            }
            self.release_conn(flow);
            return match self.closed.get(id) {
                // §5.1 closed: frames in flight after our RST_STREAM are
                // ignored (their flow-control bytes already given back), and
                // so are frames on streams too old to be remembered.
                Some(CloseCause::LocalReset) => Ok(()),
                None if self.closed.maybe_forgotten(id) => Ok(()),
                _ => {
                    Err(self.conn_error(ErrorCode::STREAM_CLOSED, "DATA on a closed stream (§5.1)"))
                }
            };
        };
        match s.state {
            StreamState::Idle | StreamState::ReservedLocal | StreamState::ReservedRemote => {
                return Err(self.conn_error(
                    ErrorCode::PROTOCOL_ERROR,
                    "DATA on an idle or reserved stream (§5.1)",
                ));
            }
            StreamState::HalfClosedRemote | StreamState::Closed => {
                // §5.1 half-closed (remote): stream error STREAM_CLOSED.
                self.release_conn(flow);
                self.stream_error(id, ErrorCode::STREAM_CLOSED, "DATA after END_STREAM (§5.1)");
                return Ok(());
            }
            StreamState::Open | StreamState::HalfClosedLocal => {}
        }
        if s.recv_phase == RecvPhase::Head {
            self.release_conn(flow);
            self.stream_error(id, ErrorCode::PROTOCOL_ERROR, "DATA before HEADERS (§8.1)");
            return Ok(());
        }
        if !s.recv_window.consume(flow) {
            self.release_conn(flow);
            self.stream_error(
                id,
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA beyond the stream flow-control window (§6.9.1)",
            );
            return Ok(());
        }
        let len = d.data.len() as u32;
        s.received_len += len as u64;
        // §8.1.1: content-length must match the DATA received.
        let too_long = s.expected_len().is_some_and(|n| s.received_len > n);
        let too_short = d.end_stream && s.expected_len().is_some_and(|n| s.received_len != n);
        if too_long || too_short {
            self.release_conn(flow);
            self.stream_error(
                id,
                ErrorCode::PROTOCOL_ERROR,
                "DATA does not match content-length (§8.1.1)",
            );
            return Ok(());
        }
        s.unreleased += len;
        let padding = flow - len;
        self.events.push_back(Event::RecvData {
            id: StreamId(id),
            data: d.data,
            end_stream: d.end_stream,
        });
        if padding > 0 {
            // Padding is never delivered: give it back at once.
            self.release_stream(id, padding);
            self.release_conn(padding);
        }
        if d.end_stream {
            self.end_remote(id);
        } else {
            self.keep_end_open(id);
        }
        Ok(())
    }

    /// The peer ended its side of `id`.
    pub(super) fn end_remote(&mut self, id: u32) {
        let role = self.role;
        if let Some(s) = self.streams.get_mut(&id) {
            s.state = s.state.close_remote();
            recount(&mut self.counts, role, s);
        }
        self.maybe_finish(id);
    }

    fn recv_rst(&mut self, r: RstStream, now: Instant) -> Result<(), ConnectionError> {
        let id = r.stream_id.0;
        if id == 0 {
            return Err(self.conn_error(ErrorCode::PROTOCOL_ERROR, "RST_STREAM on stream 0 (§6.4)"));
        }
        let Some(s) = self.streams.get(&id) else {
            if self.is_idle(id) {
                return Err(self.conn_error(
                    ErrorCode::PROTOCOL_ERROR,
                    "RST_STREAM on an idle stream (§6.4)",
                ));
            }
            // §5.1 closed: may cross our END_STREAM or RST_STREAM.
            return self.cheap_frame(now);
        };
        if s.state == StreamState::Idle {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "RST_STREAM on an idle stream (§6.4)",
            ));
        }
        let complete = self.role == Role::Client
            && r.error_code == ErrorCode::NO_ERROR
            && s.state.recv_open()
            && s.recv_phase == RecvPhase::Body
            && s.expected_len() == Some(s.received_len);
        // CVE-2023-44487: count resets of streams we had not answered yet.
        if s.peer_initiated && s.send_phase == SendPhase::Head {
            let r = self
                .guards
                .peer_stream_wasted(self.local.max_concurrent_streams, Waste::PeerReset);
            self.flood(r)?;
        }
        // §8.1: a server may end a stream with RST_STREAM(NO_ERROR) once
        // its response is complete. "Complete" is an END_STREAM there (the
        // reset then only stops our request body); a response whose DATA
        // reached its content-length (§8.1.1) is complete too (Node sends
        // the reset with the END_STREAM still unwritten): its end is
        // reported as the END_STREAM it stands for, then the reset.
        if complete {
            self.events.push_back(Event::RecvData {
                id: StreamId(id),
                data: Bytes::new(),
                end_stream: true,
            });
        }
        let app = self.remove_stream(id, CloseCause::Done).and_then(|s| s.app);
        self.events.push_back(Event::RecvReset {
            id: StreamId(id),
            code: r.error_code,
            remote: true,
            app,
        });
        Ok(())
    }

    fn recv_settings(&mut self, s: Settings, now: Instant) -> Result<(), ConnectionError> {
        if s.ack {
            // §6.5.3: our oldest outstanding SETTINGS now applies.
            match self.pending_settings.pop_front() {
                Some((params, _)) => self.apply_local(&params)?,
                None => debug!("SETTINGS ACK without outstanding SETTINGS: ignored"),
            }
            self.refresh_settings_timer();
            self.events.push_back(Event::SettingsAcked);
            return self.cheap_frame(now);
        }
        self.peer_settings_seen = true;
        self.timers.table.stop(Timer::Handshake);
        self.cheap_frame(now)?;
        let r = self.guards.settings_ack_queued();
        self.flood(r)?;
        self.apply_peer(&s.params)?;
        Frame::Settings(Settings::ack()).encode(&mut self.pending);
        self.events
            .push_back(Event::RemoteSettings { params: s.params });
        Ok(())
    }

    /// Applies the peer's settings in order (§6.5.3).
    pub(super) fn apply_peer(&mut self, params: &[Setting]) -> Result<(), ConnectionError> {
        for p in params {
            if let Err((code, reason)) = settings::check_value(p) {
                return Err(self.conn_error(code, reason));
            }
            match *p {
                Setting::HeaderTableSize(n) => {
                    self.encoder.set_peer_max_table_size(n as usize);
                    self.peer.header_table_size = n;
                }
                Setting::EnablePush(b) => {
                    // §6.5.2: a server MUST NOT send 1; we also treat any
                    // ENABLE_PUSH from a server as a claim it may not make.
                    if self.role == Role::Client && b {
                        return Err(self.conn_error(
                            ErrorCode::PROTOCOL_ERROR,
                            "server sent SETTINGS_ENABLE_PUSH = 1 (§6.5.2)",
                        ));
                    }
                    self.peer.enable_push = b;
                }
                Setting::MaxConcurrentStreams(n) => self.peer.max_concurrent_streams = n,
                Setting::InitialWindowSize(n) => {
                    // §6.9.2: every stream's send window moves by the delta.
                    let delta = n as i64 - self.peer.initial_window_size as i64;
                    self.peer.initial_window_size = n;
                    let mut overflow = false;
                    let mut wake = Vec::new();
                    let stalls_on = self.config.timeouts.stall_limit().is_some();
                    for st in self.streams.values_mut() {
                        if st.send_window.adjust(delta).is_err() {
                            overflow = true;
                            break;
                        }
                        if st.send_window.available() > 0 {
                            timers::unstall(st, &mut self.timers);
                        } else if stalls_on {
                            timers::watch_stall(st, false, &mut self.timers);
                        }
                        if delta > 0 && st.has_output() && !st.in_ready {
                            wake.push(st.id);
                        }
                    }
                    if overflow {
                        return Err(self.conn_error(
                            ErrorCode::FLOW_CONTROL_ERROR,
                            "SETTINGS_INITIAL_WINDOW_SIZE change overflows a window (§6.9.2)",
                        ));
                    }
                    for id in wake {
                        self.mark_ready(id);
                    }
                }
                Setting::MaxFrameSize(n) => self.peer.max_frame_size = n,
                Setting::MaxHeaderListSize(n) => self.peer.max_header_list_size = n,
                Setting::EnableConnectProtocol(b) => {
                    // RFC 8441 §3: once 1, it cannot go back to 0.
                    if self.peer.enable_connect_protocol && !b {
                        return Err(self.conn_error(
                            ErrorCode::PROTOCOL_ERROR,
                            "SETTINGS_ENABLE_CONNECT_PROTOCOL went from 1 to 0 (RFC 8441 §3)",
                        ));
                    }
                    self.peer.enable_connect_protocol = b;
                }
                Setting::NoRfc7540Priorities(_) => {}
            }
        }
        Ok(())
    }

    /// Our SETTINGS was acknowledged: it takes effect now (§6.5.3).
    fn apply_local(&mut self, params: &[Setting]) -> Result<(), ConnectionError> {
        for p in params {
            match *p {
                Setting::HeaderTableSize(n) => {
                    self.decoder.set_max_table_size(n as usize);
                    self.local.header_table_size = n;
                }
                Setting::EnablePush(b) => self.local.enable_push = b,
                Setting::MaxConcurrentStreams(n) => self.local.max_concurrent_streams = n,
                Setting::InitialWindowSize(n) => {
                    // A larger value sent since counts already (see
                    // `set_local_initial_window`).
                    let n = self.pending_initial_window().map_or(n, |p| p.max(n));
                    self.set_local_initial_window(n)?;
                }
                Setting::MaxFrameSize(n) => self.local.max_frame_size = n,
                Setting::MaxHeaderListSize(n) => {
                    self.decoder.set_max_header_list_size(n as usize);
                    self.local.max_header_list_size = n;
                }
                Setting::EnableConnectProtocol(b) => self.local.enable_connect_protocol = b,
                Setting::NoRfc7540Priorities(_) => {}
            }
        }
        Ok(())
    }

    fn recv_ping(&mut self, p: Ping, now: Instant) -> Result<(), ConnectionError> {
        // The answer to our own BDP PING is not a frame the peer sent
        // unasked: it does not count toward the flood limit (one per PING
        // we sent; an unsolicited one counts as any other).
        if p.ack && p.payload == super::bdp::BDP_PING && self.bdp_on_ack(now) {
            return Ok(());
        }
        self.cheap_frame(now)?;
        if p.ack {
            if p.payload == SHUTDOWN_PING && self.shutdown_pending() {
                // In-flight streams have arrived: the final GOAWAY (it
                // stops the `Shutdown` slot).
                self.go_away(ErrorCode::NO_ERROR, Bytes::new(), now);
                return Ok(());
            }
            if let Some(pos) = self.pings_out.iter().position(|x| *x == p.payload) {
                self.pings_out.remove(pos);
                self.events.push_back(Event::PingAck { payload: p.payload });
            }
            return Ok(());
        }
        // §6.7: answer with the same payload; bounded (§10.5).
        let r = self.guards.ping_ack_queued();
        self.flood(r)?;
        Frame::Ping(Ping {
            ack: true,
            payload: p.payload,
        })
        .encode(&mut self.pending);
        Ok(())
    }

    fn recv_goaway(&mut self, g: GoAway, now: Instant) -> Result<(), ConnectionError> {
        self.cheap_frame(now)?;
        let last = g.last_stream_id.0;
        let last = self.goaway_recv.map_or(last, |prev| prev.min(last));
        self.goaway_recv = Some(last);
        self.idle_unwatched();
        self.events.push_back(Event::GoAway {
            last_stream_id: StreamId(last),
            code: g.error_code,
            debug_data: g.debug_data,
        });
        // §6.8: our streams above last_stream_id were not processed: they
        // are refused (safe to retry elsewhere).
        let mut refused: Vec<u32> = self
            .streams
            .keys()
            .copied()
            .filter(|&id| id > last && self.is_local_id(id))
            .collect();
        refused.sort_unstable();
        for id in refused {
            let app = self.remove_stream(id, CloseCause::Done).and_then(|s| s.app);
            self.events.push_back(Event::RecvReset {
                id: StreamId(id),
                code: ErrorCode::REFUSED_STREAM,
                remote: true,
                app,
            });
        }
        Ok(())
    }

    fn recv_window_update(&mut self, w: WindowUpdate, now: Instant) -> Result<(), ConnectionError> {
        let id = w.stream_id.0;
        self.cheap_frame(now)?;
        if w.increment == 0 {
            // Normally reported by the frame layer (§6.9).
            if id == 0 {
                return Err(self.conn_error(
                    ErrorCode::PROTOCOL_ERROR,
                    "WINDOW_UPDATE increment of 0 (§6.9)",
                ));
            }
            self.stream_error(
                id,
                ErrorCode::PROTOCOL_ERROR,
                "WINDOW_UPDATE increment of 0 (§6.9)",
            );
            return Ok(());
        }
        if id == 0 {
            if self.conn_send.increase(w.increment).is_err() {
                return Err(self.conn_error(
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "connection window above 2^31-1 (§6.9.1)",
                ));
            }
            if self.conn_send.available() > 0 {
                self.conn_unstalled();
            }
            return Ok(());
        }
        let Some(s) = self.streams.get_mut(&id) else {
            if self.is_idle(id) {
                return Err(self.conn_error(
                    ErrorCode::PROTOCOL_ERROR,
                    "WINDOW_UPDATE on an idle stream (§5.1)",
                ));
            }
            return Ok(()); // §5.1 closed: may cross our END_STREAM
        };
        if matches!(s.state, StreamState::Idle | StreamState::ReservedRemote) {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "WINDOW_UPDATE on an idle or reserved (remote) stream (§5.1)",
            ));
        }
        if s.send_window.increase(w.increment).is_err() {
            self.stream_error(
                id,
                ErrorCode::FLOW_CONTROL_ERROR,
                "stream window above 2^31-1 (§6.9.1)",
            );
            return Ok(());
        }
        if s.send_window.available() > 0 {
            timers::unstall(s, &mut self.timers);
        }
        self.mark_ready(id);
        Ok(())
    }
}
