//! The connection state machine: every rule of RFC 9113 §3–§8 that concerns
//! the order and meaning of frames, without I/O.
//!
//! Received frames go through [`Connection::recv_frame`]; user actions are
//! methods; output is one byte buffer ([`Connection::poll_transmit`]) and a
//! queue of [`Event`]s. Control frames and field blocks are encoded as soon
//! as they are decided (into `pending`, flushed first); DATA is written
//! straight into the caller's buffer at transmit time, one frame per stream
//! in turn, within both flow-control windows. HPACK blocks are encoded in
//! the order they reach the wire (trailers queued behind DATA are encoded
//! when they are written), so the peer's decoder stays in sync.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode};
use tracing::{debug, trace};

use crate::frame::{
    self, encode_data_head, encode_header_block, BlockStart, ErrorCode, Frame, GoAway, Ping,
    RstStream, Setting, Settings, StreamId, WindowUpdate, DEFAULT_INITIAL_WINDOW_SIZE,
    MAX_WINDOW_SIZE, PREFACE,
};
use crate::hpack::{Decoder, DecoderError, Encoder, Field, FieldRef};

use super::flow::FlowWindow;
use super::headers::{self, Malformed};
use super::settings::{self, SettingsState};
use super::store::{CloseCause, RecentlyClosed, StreamMap};
use super::stream::{RecvPhase, SendPhase, Stream, StreamState};
use super::{Config, ConnectionError, Event, Head, Role, UserError};

/// Frames that cost us work but carry no request or body (PING, SETTINGS,
/// WINDOW_UPDATE, PRIORITY, empty DATA, unknown types, RST_STREAM on closed
/// streams) tolerated within [`CHEAP_FRAME_WINDOW`] without any useful
/// frame in between. Generous: legitimate peers stay far below it.
pub const MAX_CHEAP_FRAMES: u32 = 10_000;
/// RST_STREAM frames we may have queued in answer to the peer and not yet
/// written (a peer that provokes resets without reading them is flooding).
pub const MAX_PENDING_RESETS: usize = 1_000;
/// Chunks (`send_data` calls) a stream may have queued and not written.
pub const MAX_QUEUED_CHUNKS: usize = 1_024;
/// The time window of [`MAX_CHEAP_FRAMES`].
pub const CHEAP_FRAME_WINDOW: Duration = Duration::from_secs(10);

/// A field block being assembled from HEADERS/PUSH_PROMISE + CONTINUATION
/// (RFC 9113 §4.3, §6.10).
#[derive(Debug)]
struct PartialBlock {
    stream_id: u32,
    kind: BlockKind,
    buf: BytesMut,
    frames: usize,
}

#[derive(Debug, Clone, Copy)]
enum BlockKind {
    Headers { end_stream: bool },
    PushPromise { promised: u32 },
}

/// Active-stream counters (§5.1.2).
#[derive(Debug, Default)]
struct Counts {
    /// Locally initiated streams counting toward the peer's limit.
    local: usize,
    /// Peer-initiated streams counting toward our limit.
    peer: usize,
    /// Streams in reserved (remote): pushes the peer announced.
    reserved_remote: usize,
}

/// The protocol state of one connection.
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    encoder: Encoder,
    decoder: Decoder,
    /// Our settings in effect (acknowledged by the peer).
    local: SettingsState,
    /// Our SETTINGS frames awaiting ACK, with when they were sent.
    pending_settings: VecDeque<(Vec<Setting>, Instant)>,
    /// The peer's settings in effect.
    peer: SettingsState,
    /// The peer's first frame (a SETTINGS, §3.4) has arrived.
    peer_settings_seen: bool,

    streams: StreamMap,
    closed: RecentlyClosed,
    counts: Counts,
    /// The next id we open or promise.
    next_local_id: u32,
    /// The highest locally initiated id whose HEADERS/PUSH_PROMISE is sent.
    last_local_sent: u32,
    /// The highest peer-initiated id seen (opened, refused or reserved).
    last_peer_id: u32,

    /// What we may still send on the connection.
    conn_send: FlowWindow,
    /// What the peer may still send on the connection.
    conn_recv: FlowWindow,
    /// Connection-level bytes released and not yet announced.
    conn_release_pending: u32,
    /// The connection receive window we keep reopening to.
    conn_target: u32,

    block: Option<PartialBlock>,
    /// Encoded control frames and field blocks, written before any DATA.
    pending: BytesMut,
    /// Scratch for HPACK output.
    hpack_buf: BytesMut,
    /// Scratch for HPACK input.
    fields: Vec<Field>,
    /// Streams with queued output, in round-robin order.
    ready: VecDeque<u32>,
    events: VecDeque<Event>,

    /// Our PINGs awaiting ACK.
    pings_out: VecDeque<[u8; 8]>,
    /// PING ACKs queued and not yet transmitted.
    ping_acks_pending: usize,
    /// SETTINGS ACKs queued and not yet transmitted.
    settings_acks_pending: usize,
    /// RST_STREAM frames queued and not yet transmitted.
    rst_pending: usize,
    cheap_frames: u32,
    cheap_window_start: Instant,
    /// Rapid reset (CVE-2023-44487): peer streams opened and reset by the
    /// peer before we answered, in the current window of opened streams.
    rr_opened: u64,
    rr_resets: u64,

    goaway_sent: Option<u32>,
    goaway_recv: Option<u32>,
    /// Two-step shutdown (§6.8): the first GOAWAY (2^31-1) is out and the
    /// final one goes when the PING sent with it comes back, or at this
    /// deadline.
    shutdown_deadline: Option<Instant>,
    error: Option<ConnectionError>,
}

/// The payload of the PING that follows a first, open-ended GOAWAY.
const SHUTDOWN_PING: [u8; 8] = *b"h2a-shut";

fn is_informational(s: StatusCode) -> bool {
    s.is_informational()
}

impl Connection {
    /// A new connection. A client queues the preface and its SETTINGS; a
    /// server queues its SETTINGS (the preface is checked by the codec).
    pub fn new(role: Role, config: Config) -> Self {
        let now = Instant::now();
        // Enforced from the start (the peer learns them with our first
        // SETTINGS; a peer that opens streams before reading it gets
        // REFUSED_STREAM, which is safe to retry).
        let local = SettingsState {
            max_concurrent_streams: config.max_concurrent_streams,
            enable_push: config.enable_push && role == Role::Client,
            ..SettingsState::default()
        };
        let decoder = Decoder::new(
            crate::hpack::DEFAULT_TABLE_SIZE,
            config.max_header_list_size as usize,
        );
        let encoder = Encoder::new(config.encoder_table_size as usize);
        let conn_target = config
            .connection_window_size
            .clamp(DEFAULT_INITIAL_WINDOW_SIZE, MAX_WINDOW_SIZE);
        let mut c = Connection {
            role,
            encoder,
            decoder,
            local,
            pending_settings: VecDeque::new(),
            peer: SettingsState::default(),
            peer_settings_seen: false,
            streams: StreamMap::default(),
            closed: RecentlyClosed::new(config.max_reset_streams),
            counts: Counts::default(),
            next_local_id: if role == Role::Client { 1 } else { 2 },
            last_local_sent: 0,
            last_peer_id: 0,
            conn_send: FlowWindow::new(DEFAULT_INITIAL_WINDOW_SIZE),
            conn_recv: FlowWindow::new(conn_target),
            conn_release_pending: 0,
            conn_target,
            block: None,
            pending: BytesMut::with_capacity(4096),
            hpack_buf: BytesMut::with_capacity(1024),
            fields: Vec::new(),
            ready: VecDeque::new(),
            events: VecDeque::new(),
            pings_out: VecDeque::new(),
            ping_acks_pending: 0,
            settings_acks_pending: 0,
            rst_pending: 0,
            cheap_frames: 0,
            cheap_window_start: now,
            rr_opened: 0,
            rr_resets: 0,
            goaway_sent: None,
            goaway_recv: None,
            shutdown_deadline: None,
            error: None,
            config,
        };
        // §3.4: the client preface, then SETTINGS from both sides.
        if role == Role::Client {
            c.pending.extend_from_slice(PREFACE);
        }
        let params = settings::initial_params(role == Role::Client, &c.config);
        Frame::Settings(Settings {
            ack: false,
            params: params.clone(),
        })
        .encode(&mut c.pending);
        c.pending_settings.push_back((params, now));
        // §6.9.2: the connection window only grows by WINDOW_UPDATE.
        if conn_target > DEFAULT_INITIAL_WINDOW_SIZE {
            Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::ZERO,
                increment: conn_target - DEFAULT_INITIAL_WINDOW_SIZE,
            })
            .encode(&mut c.pending);
        }
        c
    }

    /// HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2): the upgrade request becomes
    /// stream 1, half-closed (local) for the client and half-closed
    /// (remote) for the server, whose response comes on it. Call right
    /// after [`Connection::new`], before any frame.
    ///
    /// A server passes the client's `HTTP2-Settings` (decoded): they apply
    /// at once and are acknowledged by the 101 response itself, not by a
    /// SETTINGS ACK; the client's preface SETTINGS still follows. A client
    /// passes `None`. `head_request`: the upgrade request was a HEAD (its
    /// response carries no content).
    pub fn upgrade(
        &mut self,
        http2_settings: Option<Vec<Setting>>,
        head_request: bool,
    ) -> Result<StreamId, UserError> {
        self.check_usable()?;
        if self.next_local_id > 2 || self.last_peer_id != 0 || self.peer_settings_seen {
            return Err(UserError::InvalidState {
                id: StreamId(1),
                state: "upgrade after the connection started",
            });
        }
        if let Some(params) = http2_settings {
            if self.role != Role::Server {
                return Err(UserError::WrongRole(Role::Server));
            }
            for p in &params {
                settings::check_value(p).map_err(|(_, r)| UserError::Malformed(r))?;
            }
            self.apply_peer(&params)
                .map_err(|_| UserError::Malformed("invalid HTTP2-Settings"))?;
        }
        let state = match self.role {
            Role::Client => StreamState::HalfClosedLocal,
            Role::Server => StreamState::HalfClosedRemote,
        };
        let mut s = Stream::new(
            1,
            state,
            self.peer.initial_window_size,
            self.local.initial_window_size,
        );
        s.head_request = head_request;
        match self.role {
            Role::Client => {
                s.send_phase = SendPhase::Body;
                s.end_queued = true;
                s.end_sent = true;
                self.next_local_id = 3;
                self.last_local_sent = 1;
            }
            Role::Server => {
                s.recv_phase = RecvPhase::Body;
                s.peer_initiated = true;
                self.last_peer_id = 1;
            }
        }
        recount(&mut self.counts, self.role, &mut s);
        self.streams.insert(1, s);
        Ok(StreamId(1))
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The peer's settings currently in effect.
    pub fn peer_settings(&self) -> SettingsState {
        self.peer
    }

    /// Our settings currently in effect (acknowledged by the peer).
    pub fn local_settings(&self) -> SettingsState {
        self.local
    }

    /// The state of stream `id`, if we keep it.
    pub fn stream_state(&self, id: StreamId) -> Option<StreamState> {
        self.streams.get(&id.0).map(|s| s.state)
    }

    /// How many bytes we may send on `id` now (both windows), if it exists.
    pub fn send_capacity(&self, id: StreamId) -> Option<u32> {
        self.streams
            .get(&id.0)
            .map(|s| s.send_window.available().min(self.conn_send.available()))
    }

    /// Bytes queued by `send_data` on `id` and not written yet.
    pub fn queued_bytes(&self, id: StreamId) -> usize {
        self.streams.get(&id.0).map_or(0, |s| s.queued_bytes)
    }

    /// The connection error that ended the connection, if any.
    pub fn error(&self) -> Option<&ConnectionError> {
        self.error.as_ref()
    }

    // ----------------------------------------------------------------------
    // helpers

    fn is_local_id(&self, id: u32) -> bool {
        match self.role {
            Role::Client => id % 2 == 1,
            Role::Server => id != 0 && id % 2 == 0,
        }
    }

    /// §5.1: an id neither side has used yet.
    fn is_idle(&self, id: u32) -> bool {
        if self.is_local_id(id) {
            id >= self.next_local_id
        } else {
            id > self.last_peer_id
        }
    }

    /// Records a connection error: GOAWAY(code) is queued, every later call
    /// fails with the same error.
    fn conn_error(&mut self, code: ErrorCode, reason: &str) -> ConnectionError {
        if let Some(e) = &self.error {
            return e.clone();
        }
        debug!(%code, reason, "connection error");
        // §6.8: the last stream id never grows from one GOAWAY to the next.
        let last = self
            .goaway_sent
            .map_or(self.last_peer_id, |g| g.min(self.last_peer_id));
        Frame::GoAway(GoAway {
            last_stream_id: StreamId(last),
            error_code: code,
            debug_data: Bytes::copy_from_slice(reason.as_bytes()),
        })
        .encode(&mut self.pending);
        self.goaway_sent = Some(last);
        self.ready.clear();
        let e = ConnectionError {
            code,
            reason: reason.to_string(),
            remote: false,
        };
        self.error = Some(e.clone());
        e
    }

    fn queue_rst(&mut self, id: u32, code: ErrorCode) {
        self.rst_pending += 1;
        Frame::RstStream(RstStream {
            stream_id: StreamId(id),
            error_code: code,
        })
        .encode(&mut self.pending);
    }

    /// A stream error (§5.4.2): RST_STREAM(code), the stream forgotten, the
    /// user told if it knew the stream.
    fn stream_error(&mut self, id: u32, code: ErrorCode, reason: &str) {
        debug!(stream = id, %code, reason, "stream error");
        if self
            .streams
            .get(&id)
            .is_some_and(|s| s.state == StreamState::Idle)
        {
            // Never sent anything on it: no RST_STREAM on an idle stream (§6.4).
            self.remove_stream(id, CloseCause::LocalReset);
            self.events.push_back(Event::Reset {
                id: StreamId(id),
                code,
                remote: false,
            });
            return;
        }
        self.queue_rst(id, code);
        if self.remove_stream(id, CloseCause::LocalReset).is_some() {
            self.events.push_back(Event::Reset {
                id: StreamId(id),
                code,
                remote: false,
            });
        } else {
            self.closed.insert(id, CloseCause::LocalReset);
        }
    }

    /// Forgets a stream, giving back to the connection window what the user
    /// had not released.
    fn remove_stream(&mut self, id: u32, cause: CloseCause) -> Option<Stream> {
        let mut s = self.streams.remove(&id)?;
        let (was_active, was_reserved) = s.counted;
        s.state = StreamState::Closed;
        s.clear_queue();
        uncount(&mut self.counts, self.role, id, was_active, was_reserved);
        let unreleased = s.unreleased;
        self.release_conn(unreleased);
        self.closed.insert(id, cause);
        Some(s)
    }

    /// Removes `id` if both sides are done with it.
    fn maybe_finish(&mut self, id: u32) {
        if let Some(s) = self.streams.get(&id) {
            if s.state == StreamState::Closed && !s.has_output() {
                self.remove_stream(id, CloseCause::Done);
                self.events.push_back(Event::Closed { id: StreamId(id) });
            }
        }
    }

    /// Connection-level receive credit given back (batched, §6.9).
    fn release_conn(&mut self, n: u32) {
        if n == 0 || self.error.is_some() {
            return;
        }
        self.conn_release_pending = self.conn_release_pending.saturating_add(n);
        if self.conn_release_pending >= (self.conn_target / 2).max(1) {
            let inc = self.conn_release_pending;
            self.conn_release_pending = 0;
            if self.conn_recv.increase(inc).is_ok() {
                Frame::WindowUpdate(WindowUpdate {
                    stream_id: StreamId::ZERO,
                    increment: inc,
                })
                .encode(&mut self.pending);
            }
        }
    }

    /// Stream-level receive credit given back (batched).
    fn release_stream(&mut self, id: u32, n: u32) {
        let threshold = (self.local.initial_window_size / 2).max(1);
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if n == 0 || !s.state.recv_open() {
            return;
        }
        s.release_pending = s.release_pending.saturating_add(n);
        if s.release_pending >= threshold {
            let inc = s.release_pending;
            s.release_pending = 0;
            if s.recv_window.increase(inc).is_ok() {
                Frame::WindowUpdate(WindowUpdate {
                    stream_id: StreamId(id),
                    increment: inc,
                })
                .encode(&mut self.pending);
            }
        }
    }

    /// Counts a frame that gives us work without progress (§10.5).
    fn cheap_frame(&mut self) -> Result<(), ConnectionError> {
        self.cheap_frames += 1;
        if self.cheap_frames > MAX_CHEAP_FRAMES {
            let now = Instant::now();
            if now.duration_since(self.cheap_window_start) > CHEAP_FRAME_WINDOW {
                self.cheap_frames = 0;
                self.cheap_window_start = now;
            } else {
                return Err(self.conn_error(
                    ErrorCode::ENHANCE_YOUR_CALM,
                    "too many control or empty frames (§10.5)",
                ));
            }
        }
        Ok(())
    }

    fn useful_frame(&mut self) {
        self.cheap_frames = 0;
    }

    fn recount(&mut self, id: u32) {
        let role = self.role;
        if let Some(s) = self.streams.get_mut(&id) {
            recount(&mut self.counts, role, s);
        }
    }

    fn mark_ready(&mut self, id: u32) {
        if let Some(s) = self.streams.get_mut(&id) {
            if !s.in_ready && s.has_output() {
                s.in_ready = true;
                self.ready.push_back(id);
            }
        }
    }

    // ----------------------------------------------------------------------
    // receiving

    /// Processes one frame from the peer. On `Err` the connection is over:
    /// GOAWAY is queued (flush `poll_transmit`, then close the socket).
    pub fn recv_frame(&mut self, frame: Frame) -> Result<(), ConnectionError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        trace!(?frame, "recv");
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
            Frame::Data(d) => self.recv_data(d),
            Frame::Headers(h) => self.recv_headers(h),
            Frame::Priority(_) => self.cheap_frame(), // §5.3.2: parsed and ignored
            Frame::RstStream(r) => self.recv_rst(r),
            Frame::Settings(s) => self.recv_settings(s),
            Frame::PushPromise(p) => self.recv_push_promise(p),
            Frame::Ping(p) => self.recv_ping(p),
            Frame::GoAway(g) => self.recv_goaway(g),
            Frame::WindowUpdate(w) => self.recv_window_update(w),
            Frame::Continuation(c) => self.recv_continuation(c),
            Frame::Unknown(_) => self.cheap_frame(), // §4.1, §5.5: ignored
        };
        r.and_then(|()| self.check_rst_flood())
    }

    /// A peer that provokes RST_STREAMs faster than it reads them (§10.5):
    /// the queue of unsent resets is bounded.
    fn check_rst_flood(&mut self) -> Result<(), ConnectionError> {
        if self.rst_pending > MAX_PENDING_RESETS {
            return Err(self.conn_error(
                ErrorCode::ENHANCE_YOUR_CALM,
                "too many RST_STREAM frames pending (§10.5)",
            ));
        }
        Ok(())
    }

    /// Processes a malformed frame reported by the codec (`frame::Error`):
    /// a stream error queues RST_STREAM, a connection error GOAWAY.
    pub fn recv_malformed(&mut self, err: frame::Error) -> Result<(), ConnectionError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
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
                self.cheap_frame()?;
                if !self.is_local_id(id) && id > self.last_peer_id {
                    // The reset closes the idle stream (§5.1).
                    self.last_peer_id = id;
                }
                self.stream_error(id, code, reason);
                self.check_rst_flood()
            }
        }
    }

    fn recv_data(&mut self, d: frame::Data) -> Result<(), ConnectionError> {
        let id = d.stream_id.0;
        if id == 0 {
            return Err(self.conn_error(ErrorCode::PROTOCOL_ERROR, "DATA on stream 0 (§6.1)"));
        }
        let flow = d.flow_len();
        if d.data.is_empty() && !d.end_stream {
            self.cheap_frame()?;
        } else {
            self.useful_frame();
        }
        // §6.9.1: the connection window counts every DATA frame, even on
        // closed streams.
        if !self.conn_recv.consume(flow) {
            return Err(self.conn_error(
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA beyond the connection flow-control window (§6.9.1)",
            ));
        }
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
        let too_long = s.expected_len.is_some_and(|n| s.received_len > n);
        let too_short = d.end_stream && s.expected_len.is_some_and(|n| s.received_len != n);
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
        self.events.push_back(Event::Data {
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
        }
        Ok(())
    }

    /// The peer ended its side of `id`.
    fn end_remote(&mut self, id: u32) {
        let role = self.role;
        if let Some(s) = self.streams.get_mut(&id) {
            s.state = s.state.close_remote();
            recount(&mut self.counts, role, s);
        }
        self.maybe_finish(id);
    }

    fn recv_headers(&mut self, h: frame::Headers) -> Result<(), ConnectionError> {
        let id = h.stream_id.0;
        if id == 0 {
            return Err(self.conn_error(ErrorCode::PROTOCOL_ERROR, "HEADERS on stream 0 (§6.2)"));
        }
        self.useful_frame();
        let kind = BlockKind::Headers {
            end_stream: h.end_stream,
        };
        if h.end_headers {
            return self.on_block(id, kind, h.block);
        }
        self.start_block(id, kind, h.block)
    }

    fn start_block(
        &mut self,
        id: u32,
        kind: BlockKind,
        first: Bytes,
    ) -> Result<(), ConnectionError> {
        if first.len() > self.config.max_header_block_size {
            return Err(self.block_too_large());
        }
        let mut buf = BytesMut::with_capacity(first.len() * 2);
        buf.extend_from_slice(&first);
        self.block = Some(PartialBlock {
            stream_id: id,
            kind,
            buf,
            frames: 1,
        });
        Ok(())
    }

    /// A field block beyond `max_header_block_size`: the block cannot be
    /// skipped without breaking HPACK state, so this is a connection error
    /// ENHANCE_YOUR_CALM (CONTINUATION flood protection, §10.5).
    fn block_too_large(&mut self) -> ConnectionError {
        self.conn_error(
            ErrorCode::ENHANCE_YOUR_CALM,
            "field block larger than max_header_block_size (§10.5)",
        )
    }

    fn recv_continuation(&mut self, c: frame::Continuation) -> Result<(), ConnectionError> {
        let Some(b) = self.block.as_mut() else {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "CONTINUATION without a preceding HEADERS or PUSH_PROMISE (§6.10)",
            ));
        };
        b.frames += 1;
        // Bound the frame count too: empty CONTINUATIONs cost work and add
        // nothing (§10.5).
        let max_frames = 16 + self.config.max_header_block_size / 1024;
        if b.buf.len() + c.block.len() > self.config.max_header_block_size || b.frames > max_frames
        {
            return Err(self.block_too_large());
        }
        b.buf.extend_from_slice(&c.block);
        if !c.end_headers {
            return Ok(());
        }
        let Some(b) = self.block.take() else {
            return Ok(());
        };
        self.on_block(b.stream_id, b.kind, b.buf.freeze())
    }

    /// A complete field block: decode it first (HPACK state must follow
    /// every block, §4.3), then apply it to the stream.
    fn on_block(&mut self, id: u32, kind: BlockKind, block: Bytes) -> Result<(), ConnectionError> {
        let mut fields = std::mem::take(&mut self.fields);
        fields.clear();
        let too_large = match self.decoder.decode(&block, &mut fields) {
            Ok(()) => false,
            Err(DecoderError::HeaderListTooLarge(_)) => true,
            Err(e) => {
                self.fields = fields;
                let reason = format!("HPACK: {e} (§4.3)");
                return Err(self.conn_error(ErrorCode::COMPRESSION_ERROR, &reason));
            }
        };
        let r = match kind {
            BlockKind::Headers { end_stream } => {
                self.on_headers(id, end_stream, &fields, too_large)
            }
            BlockKind::PushPromise { promised } => {
                self.on_push_promise(id, promised, &fields, too_large)
            }
        };
        fields.clear();
        self.fields = fields;
        r
    }

    fn on_headers(
        &mut self,
        id: u32,
        end_stream: bool,
        fields: &[Field],
        too_large: bool,
    ) -> Result<(), ConnectionError> {
        let max_concurrent = self.local.max_concurrent_streams as usize;
        let Some(s) = self.streams.get_mut(&id) else {
            return self.on_headers_unknown(id, end_stream, fields, too_large);
        };
        match s.state {
            StreamState::Idle | StreamState::ReservedLocal => {
                return Err(self.conn_error(
                    ErrorCode::PROTOCOL_ERROR,
                    "HEADERS on an idle or reserved (local) stream (§5.1)",
                ));
            }
            StreamState::HalfClosedRemote | StreamState::Closed => {
                self.stream_error(
                    id,
                    ErrorCode::STREAM_CLOSED,
                    "HEADERS after END_STREAM (§5.1)",
                );
                return Ok(());
            }
            StreamState::ReservedRemote => {
                // §8.4.2: the pushed response opens the reserved stream,
                // within our MAX_CONCURRENT_STREAMS (§5.1.2).
                if self.counts.peer >= max_concurrent {
                    self.stream_error(
                        id,
                        ErrorCode::REFUSED_STREAM,
                        "pushed stream beyond MAX_CONCURRENT_STREAMS (§5.1.2)",
                    );
                    return Ok(());
                }
                s.state = StreamState::HalfClosedLocal;
                let role = self.role;
                recount(&mut self.counts, role, s);
            }
            StreamState::Open | StreamState::HalfClosedLocal => {}
        }
        let Some(s) = self.streams.get_mut(&id) else {
            return Ok(());
        };
        if too_large {
            self.stream_error(id, ErrorCode::CANCEL, "header list larger than our limit");
            return Ok(());
        }
        match s.recv_phase {
            RecvPhase::Head => {
                // A response (client, or a pushed response).
                let r = match headers::response_from_fields(fields) {
                    Ok(r) => r,
                    Err(m) => {
                        self.stream_error(id, ErrorCode::PROTOCOL_ERROR, m);
                        return Ok(());
                    }
                };
                let status = r.response.status();
                if is_informational(status) {
                    // §8.1: any number of 1xx before the final response,
                    // never ending the stream.
                    if end_stream {
                        self.stream_error(
                            id,
                            ErrorCode::PROTOCOL_ERROR,
                            "1xx response with END_STREAM (§8.1)",
                        );
                        return Ok(());
                    }
                    self.events.push_back(Event::Headers {
                        id: StreamId(id),
                        head: Head::Response(r.response),
                        end_stream: false,
                    });
                    return Ok(());
                }
                // §8.1.1: responses without content may still carry a
                // content-length; their DATA must be empty.
                let no_body = s.head_request
                    || status == StatusCode::NO_CONTENT
                    || status == StatusCode::NOT_MODIFIED;
                s.expected_len = if no_body { Some(0) } else { r.content_length };
                s.recv_phase = RecvPhase::Body;
                if end_stream && s.expected_len.is_some_and(|n| n != 0) {
                    self.stream_error(
                        id,
                        ErrorCode::PROTOCOL_ERROR,
                        "content-length with no DATA (§8.1.1)",
                    );
                    return Ok(());
                }
                self.events.push_back(Event::Headers {
                    id: StreamId(id),
                    head: Head::Response(r.response),
                    end_stream,
                });
            }
            RecvPhase::Body => {
                // Trailers (§8.1): END_STREAM and no pseudo-headers.
                if !end_stream {
                    self.stream_error(
                        id,
                        ErrorCode::PROTOCOL_ERROR,
                        "trailers without END_STREAM (§8.1)",
                    );
                    return Ok(());
                }
                if s.expected_len.is_some_and(|n| n != s.received_len) {
                    self.stream_error(
                        id,
                        ErrorCode::PROTOCOL_ERROR,
                        "DATA does not match content-length (§8.1.1)",
                    );
                    return Ok(());
                }
                let trailers = match headers::trailers_from_fields(fields) {
                    Ok(t) => t,
                    Err(m) => {
                        self.stream_error(id, ErrorCode::PROTOCOL_ERROR, m);
                        return Ok(());
                    }
                };
                self.events.push_back(Event::Trailers {
                    id: StreamId(id),
                    trailers,
                });
            }
        }
        if end_stream {
            self.end_remote(id);
        }
        Ok(())
    }

    /// HEADERS on a stream we do not keep: a new peer stream, or a late or
    /// illegal frame.
    fn on_headers_unknown(
        &mut self,
        id: u32,
        end_stream: bool,
        fields: &[Field],
        too_large: bool,
    ) -> Result<(), ConnectionError> {
        let peer_may_open = self.role == Role::Server && !self.is_local_id(id);
        if !self.is_idle(id) {
            return match self.closed.get(id) {
                Some(CloseCause::LocalReset) => Ok(()),
                None if self.closed.maybe_forgotten(id) => Ok(()),
                Some(CloseCause::Done) => Err(self.conn_error(
                    ErrorCode::STREAM_CLOSED,
                    "HEADERS on a closed stream (§5.1)",
                )),
                None if peer_may_open => Err(self.conn_error(
                    ErrorCode::PROTOCOL_ERROR,
                    "new stream id not greater than previous ones (§5.1.1)",
                )),
                None => Err(self.conn_error(
                    ErrorCode::STREAM_CLOSED,
                    "HEADERS on a closed stream (§5.1)",
                )),
            };
        }
        if !peer_may_open {
            // §5.1 idle: HEADERS on a server-initiated (or our own) idle
            // stream.
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "HEADERS opening a stream the peer may not open (§5.1, §5.1.1)",
            ));
        }
        // A new request stream; lower idle ids are now closed (§5.1.1).
        self.last_peer_id = id;
        if self.goaway_sent.is_some_and(|last| id > last) {
            // §6.8: streams above our GOAWAY's last id are ignored.
            self.closed.insert(id, CloseCause::LocalReset);
            return Ok(());
        }
        self.rapid_reset_window_open();
        if too_large {
            // §8.2 / RFC 6585: answer 431 and stop reading the request.
            self.refuse_431(id, end_stream);
            return Ok(());
        }
        if self.counts.peer >= self.local.max_concurrent_streams as usize {
            // §5.1.2: stream error REFUSED_STREAM (safe to retry).
            self.stream_error(
                id,
                ErrorCode::REFUSED_STREAM,
                "beyond our SETTINGS_MAX_CONCURRENT_STREAMS (§5.1.2)",
            );
            return Ok(());
        }
        let r = match headers::request_from_fields(fields, self.local.enable_connect_protocol) {
            Ok(r) => r,
            Err(m) => {
                self.stream_error(id, ErrorCode::PROTOCOL_ERROR, m);
                return Ok(());
            }
        };
        if end_stream && r.content_length.is_some_and(|n| n != 0) {
            self.stream_error(
                id,
                ErrorCode::PROTOCOL_ERROR,
                "content-length with no DATA (§8.1.1)",
            );
            return Ok(());
        }
        let state = if end_stream {
            StreamState::HalfClosedRemote
        } else {
            StreamState::Open
        };
        let mut s = Stream::new(
            id,
            state,
            self.peer.initial_window_size,
            self.local.initial_window_size,
        );
        s.recv_phase = RecvPhase::Body;
        s.peer_initiated = true;
        s.head_request = r.request.method() == Method::HEAD;
        s.expected_len = r.content_length;
        recount(&mut self.counts, self.role, &mut s);
        self.streams.insert(id, s);
        self.events.push_back(Event::Headers {
            id: StreamId(id),
            head: Head::Request(r.request),
            end_stream,
        });
        Ok(())
    }

    /// A request whose header list passed our limit: 431 with END_STREAM
    /// (and RST_STREAM NO_ERROR if the request goes on, §8.1).
    fn refuse_431(&mut self, id: u32, end_stream: bool) {
        debug!(stream = id, "request header list too large: 431");
        let status = FieldRef {
            name: b":status",
            value: b"431",
            sensitive: false,
        };
        self.hpack_buf.clear();
        self.encoder.encode([status], &mut self.hpack_buf);
        encode_header_block(
            &mut self.pending,
            StreamId(id),
            BlockStart::Headers {
                end_stream: true,
                priority: None,
            },
            &self.hpack_buf,
            self.peer.max_frame_size,
        );
        if !end_stream {
            self.queue_rst(id, ErrorCode::NO_ERROR);
        }
        self.closed.insert(id, CloseCause::LocalReset);
    }

    fn rapid_reset_window_open(&mut self) {
        let (window, _) = self.rapid_reset_limits();
        self.rr_opened += 1;
        if self.rr_opened > window {
            self.rr_opened = 1;
            self.rr_resets = 0;
        }
    }

    /// (window of opened streams, resets allowed in it).
    fn rapid_reset_limits(&self) -> (u64, u64) {
        let budget = (2 * self.local.max_concurrent_streams as u64).clamp(100, 50_000);
        (2 * budget, budget)
    }

    fn recv_push_promise(&mut self, p: frame::PushPromise) -> Result<(), ConnectionError> {
        let id = p.stream_id.0;
        // §8.4: only servers push; a client that disabled push rejects it.
        if self.role == Role::Server {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "PUSH_PROMISE received by a server (§8.4)",
            ));
        }
        if !self.local.enable_push {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "PUSH_PROMISE while SETTINGS_ENABLE_PUSH is 0 (§6.6)",
            ));
        }
        if id == 0 {
            return Err(
                self.conn_error(ErrorCode::PROTOCOL_ERROR, "PUSH_PROMISE on stream 0 (§6.6)")
            );
        }
        self.useful_frame();
        let kind = BlockKind::PushPromise {
            promised: p.promised_id.0,
        };
        if p.end_headers {
            return self.on_block(id, kind, p.block);
        }
        self.start_block(id, kind, p.block)
    }

    fn on_push_promise(
        &mut self,
        id: u32,
        promised: u32,
        fields: &[Field],
        too_large: bool,
    ) -> Result<(), ConnectionError> {
        // §6.6: the associated stream must be open or half-closed (local).
        let assoc_ok = match self.streams.get(&id) {
            Some(s) => matches!(s.state, StreamState::Open | StreamState::HalfClosedLocal),
            None => false,
        };
        let assoc_reset = !assoc_ok
            && !self.streams.contains_key(&id)
            && self.is_local_id(id)
            && !self.is_idle(id)
            && match self.closed.get(id) {
                Some(CloseCause::LocalReset) => true,
                Some(CloseCause::Done) => false,
                None => self.closed.maybe_forgotten(id),
            };
        if !assoc_ok && !assoc_reset {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "PUSH_PROMISE on a stream that is neither open nor half-closed (local) (§6.6)",
            ));
        }
        // §5.1.1 / §6.6: the promised id is a new server-initiated id.
        if promised % 2 != 0 || promised == 0 || promised <= self.last_peer_id {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "PUSH_PROMISE with an invalid promised stream id (§6.6)",
            ));
        }
        self.last_peer_id = promised;
        if assoc_reset {
            // §5.1 closed: the promise still reserves the stream; cancel it.
            self.queue_rst(promised, ErrorCode::CANCEL);
            self.closed.insert(promised, CloseCause::LocalReset);
            return Ok(());
        }
        if too_large {
            self.queue_rst(promised, ErrorCode::REFUSED_STREAM);
            self.closed.insert(promised, CloseCause::LocalReset);
            return Ok(());
        }
        let limit = self.local.max_concurrent_streams as usize;
        if self.counts.peer + self.counts.reserved_remote >= limit {
            self.queue_rst(promised, ErrorCode::REFUSED_STREAM);
            self.closed.insert(promised, CloseCause::LocalReset);
            return Ok(());
        }
        let r = match headers::request_from_fields(fields, false) {
            Ok(r) => r,
            Err(m) => {
                debug!(promised, m, "malformed promised request");
                self.queue_rst(promised, ErrorCode::PROTOCOL_ERROR);
                self.closed.insert(promised, CloseCause::LocalReset);
                return Ok(());
            }
        };
        // §8.4.1: promised requests are safe, cacheable and without content.
        let method = r.request.method();
        if (*method != Method::GET && *method != Method::HEAD)
            || r.content_length.is_some_and(|n| n > 0)
        {
            self.queue_rst(promised, ErrorCode::PROTOCOL_ERROR);
            self.closed.insert(promised, CloseCause::LocalReset);
            return Ok(());
        }
        let mut s = Stream::new(
            promised,
            StreamState::ReservedRemote,
            self.peer.initial_window_size,
            self.local.initial_window_size,
        );
        s.head_request = *method == Method::HEAD;
        recount(&mut self.counts, self.role, &mut s);
        self.streams.insert(promised, s);
        self.events.push_back(Event::Promise {
            id: StreamId(id),
            promised_id: StreamId(promised),
            request: r.request,
        });
        Ok(())
    }

    fn recv_rst(&mut self, r: RstStream) -> Result<(), ConnectionError> {
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
            return self.cheap_frame();
        };
        if s.state == StreamState::Idle {
            return Err(self.conn_error(
                ErrorCode::PROTOCOL_ERROR,
                "RST_STREAM on an idle stream (§6.4)",
            ));
        }
        // CVE-2023-44487: count resets of streams we had not answered yet.
        if s.peer_initiated && s.send_phase == SendPhase::Head {
            self.rr_resets += 1;
            let (_, budget) = self.rapid_reset_limits();
            if self.rr_resets > budget {
                return Err(self.conn_error(
                    ErrorCode::ENHANCE_YOUR_CALM,
                    "too many streams reset by the peer (rapid reset)",
                ));
            }
        }
        self.remove_stream(id, CloseCause::Done);
        self.events.push_back(Event::Reset {
            id: StreamId(id),
            code: r.error_code,
            remote: true,
        });
        Ok(())
    }

    fn recv_settings(&mut self, s: Settings) -> Result<(), ConnectionError> {
        if s.ack {
            // §6.5.3: our oldest outstanding SETTINGS now applies.
            match self.pending_settings.pop_front() {
                Some((params, _)) => self.apply_local(&params)?,
                None => debug!("SETTINGS ACK without outstanding SETTINGS: ignored"),
            }
            self.events.push_back(Event::SettingsAcked);
            return self.cheap_frame();
        }
        self.peer_settings_seen = true;
        self.cheap_frame()?;
        self.settings_acks_pending += 1;
        if self.settings_acks_pending > self.config.max_pending_pings.max(1) {
            return Err(self.conn_error(
                ErrorCode::ENHANCE_YOUR_CALM,
                "SETTINGS flood: too many ACKs pending (§10.5)",
            ));
        }
        self.apply_peer(&s.params)?;
        Frame::Settings(Settings::ack()).encode(&mut self.pending);
        self.events
            .push_back(Event::RemoteSettings { params: s.params });
        Ok(())
    }

    /// Applies the peer's settings in order (§6.5.3).
    fn apply_peer(&mut self, params: &[Setting]) -> Result<(), ConnectionError> {
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
                    for (id, st) in self.streams.iter_mut() {
                        if st.send_window.adjust(delta).is_err() {
                            overflow = true;
                            break;
                        }
                        if delta > 0 && st.has_output() && !st.in_ready {
                            wake.push(*id);
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
                    let delta = n as i64 - self.local.initial_window_size as i64;
                    self.local.initial_window_size = n;
                    let mut overflow = false;
                    for st in self.streams.values_mut() {
                        overflow |= st.recv_window.adjust(delta).is_err();
                    }
                    if overflow {
                        return Err(self.conn_error(
                            ErrorCode::FLOW_CONTROL_ERROR,
                            "our INITIAL_WINDOW_SIZE change overflows a window (§6.9.2)",
                        ));
                    }
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

    fn recv_ping(&mut self, p: Ping) -> Result<(), ConnectionError> {
        self.cheap_frame()?;
        if p.ack {
            if p.payload == SHUTDOWN_PING && self.shutdown_deadline.is_some() {
                // In-flight streams have arrived: the final GOAWAY.
                self.shutdown_deadline = None;
                self.go_away(ErrorCode::NO_ERROR, Bytes::new());
                return Ok(());
            }
            if let Some(pos) = self.pings_out.iter().position(|x| *x == p.payload) {
                self.pings_out.remove(pos);
                self.events.push_back(Event::PingAck { payload: p.payload });
            }
            return Ok(());
        }
        // §6.7: answer with the same payload; bounded (§10.5).
        self.ping_acks_pending += 1;
        if self.ping_acks_pending > self.config.max_pending_pings.max(1) {
            return Err(self.conn_error(
                ErrorCode::ENHANCE_YOUR_CALM,
                "PING flood: too many ACKs pending (§10.5)",
            ));
        }
        Frame::Ping(Ping {
            ack: true,
            payload: p.payload,
        })
        .encode(&mut self.pending);
        Ok(())
    }

    fn recv_goaway(&mut self, g: GoAway) -> Result<(), ConnectionError> {
        self.cheap_frame()?;
        let last = g.last_stream_id.0;
        let last = self.goaway_recv.map_or(last, |prev| prev.min(last));
        self.goaway_recv = Some(last);
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
            self.remove_stream(id, CloseCause::Done);
            self.events.push_back(Event::Reset {
                id: StreamId(id),
                code: ErrorCode::REFUSED_STREAM,
                remote: true,
            });
        }
        Ok(())
    }

    fn recv_window_update(&mut self, w: WindowUpdate) -> Result<(), ConnectionError> {
        let id = w.stream_id.0;
        self.cheap_frame()?;
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
        self.mark_ready(id);
        Ok(())
    }

    // ----------------------------------------------------------------------
    // sending

    /// Appends bytes to write to `dst` until it holds at least `limit` bytes
    /// or nothing is left to send: control frames first, then HEADERS, then
    /// DATA across streams in turn, within the flow-control windows.
    pub fn poll_transmit(&mut self, dst: &mut BytesMut, limit: usize) {
        if !self.pending.is_empty() {
            if dst.is_empty() {
                std::mem::swap(dst, &mut self.pending);
            } else {
                dst.extend_from_slice(&self.pending);
                self.pending.clear();
            }
        }
        self.ping_acks_pending = 0;
        self.settings_acks_pending = 0;
        self.rst_pending = 0;
        if self.error.is_some() {
            return;
        }
        let max_frame = self.peer.max_frame_size as usize;
        // Once the connection window is found shut, one full rotation of the
        // list still writes what needs no window (trailers, empty END_STREAM)
        // and keeps the order; then we stop.
        let mut rotation_left: Option<usize> = None;
        while dst.len() < limit {
            if let Some(left) = rotation_left.as_mut() {
                if *left == 0 {
                    break;
                }
                *left -= 1;
            }
            let Some(id) = self.ready.pop_front() else {
                break;
            };
            let Some(s) = self.streams.get_mut(&id) else {
                continue;
            };
            if !s.in_ready {
                continue;
            }
            if s.queue.is_empty() {
                s.in_ready = false;
                if let Some(t) = s.trailers.take() {
                    self.hpack_buf.clear();
                    self.encoder
                        .encode(headers::regular_fields(&t, false), &mut self.hpack_buf);
                    encode_header_block(
                        dst,
                        StreamId(id),
                        BlockStart::Headers {
                            end_stream: true,
                            priority: None,
                        },
                        &self.hpack_buf,
                        self.peer.max_frame_size,
                    );
                    s.end_sent = true;
                } else if s.end_queued && !s.end_sent {
                    encode_data_head(dst, StreamId(id), 0, true);
                    s.end_sent = true;
                }
                recount(&mut self.counts, self.role, s);
                self.maybe_finish(id);
                continue;
            }
            let window = self.conn_send.available().min(s.send_window.available()) as usize;
            if window == 0 {
                if s.send_window.available() == 0 {
                    // Parked until a WINDOW_UPDATE or SETTINGS reopens it.
                    s.in_ready = false;
                    continue;
                }
                // The connection window is shut: DATA waits everywhere.
                self.ready.push_back(id);
                if rotation_left.is_none() {
                    rotation_left = Some(self.ready.len() - 1);
                }
                continue;
            }
            let queue_len = s.queue.len();
            let Some(front) = s.queue.front_mut() else {
                continue;
            };
            // Frames stay near `limit` (a peer allowing 16 MiB frames does
            // not make us overrun the caller's write buffer).
            let room = (limit - dst.len()).max(frame::DEFAULT_MAX_FRAME_SIZE as usize);
            let n = front.len().min(window).min(max_frame).min(room);
            let last_chunk = n == front.len() && queue_len == 1;
            let end = last_chunk && s.end_queued && s.trailers.is_none();
            encode_data_head(dst, StreamId(id), n as u32, end);
            dst.extend_from_slice(&front[..n]);
            if n == front.len() {
                s.queue.pop_front();
            } else {
                front.advance(n);
            }
            s.queued_bytes -= n;
            s.send_window.consume(n as u32);
            self.conn_send.consume(n as u32);
            self.cheap_frames = 0;
            self.events.push_back(Event::DataSent {
                id: StreamId(id),
                len: n,
            });
            if end {
                s.end_sent = true;
            }
            if s.has_output() {
                self.ready.push_back(id);
            } else {
                s.in_ready = false;
            }
            recount(&mut self.counts, self.role, s);
            self.maybe_finish(id);
        }
    }

    /// True when control frames (ACKs, RST_STREAM, WINDOW_UPDATE, GOAWAY)
    /// wait to be written: cheaper than [`Connection::wants_transmit`], for
    /// a caller that moves them to its write buffer as they appear.
    pub fn has_pending_control(&self) -> bool {
        !self.pending.is_empty()
    }

    /// True when `poll_transmit` has something to write.
    pub fn wants_transmit(&self) -> bool {
        if !self.pending.is_empty() {
            return true;
        }
        if self.error.is_some() {
            return false;
        }
        let conn_open = self.conn_send.available() > 0;
        self.ready.iter().any(|id| {
            self.streams.get(id).is_some_and(|s| {
                s.in_ready && (s.queue.is_empty() || (conn_open && s.send_window.available() > 0))
            })
        })
    }

    /// The next event for the user.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When `handle_timeout` must next be called (the SETTINGS ACK deadline).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.error.is_some() {
            return None;
        }
        let settings = self
            .pending_settings
            .front()
            .map(|(_, sent)| *sent + self.config.settings_timeout);
        match (settings, self.shutdown_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fires expired timers; a missing SETTINGS ACK is a connection error
    /// SETTINGS_TIMEOUT.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnectionError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.shutdown_deadline.is_some_and(|d| now >= d) {
            // No PING ACK in time: close the door anyway.
            self.shutdown_deadline = None;
            self.go_away(ErrorCode::NO_ERROR, Bytes::new());
        }
        let settings_deadline = self
            .pending_settings
            .front()
            .map(|(_, sent)| *sent + self.config.settings_timeout);
        if settings_deadline.is_some_and(|deadline| now >= deadline) {
            return Err(self.conn_error(
                ErrorCode::SETTINGS_TIMEOUT,
                "SETTINGS not acknowledged in time (§6.5.3)",
            ));
        }
        Ok(())
    }

    /// The frame size our codec must accept now (our acknowledged
    /// SETTINGS_MAX_FRAME_SIZE).
    pub fn local_max_frame_size(&self) -> u32 {
        self.local.max_frame_size
    }

    fn check_usable(&self) -> Result<(), UserError> {
        if self.error.is_some() {
            return Err(UserError::Closed);
        }
        Ok(())
    }

    /// Client: reserves the next stream id. `Err(StreamLimit)` while the
    /// peer's SETTINGS_MAX_CONCURRENT_STREAMS is reached (queue and retry when
    /// [`Connection::can_open_stream`] says so).
    pub fn open_stream(&mut self) -> Result<StreamId, UserError> {
        self.check_open()?;
        let id = self.next_local_id;
        self.next_local_id += 2;
        let mut s = Stream::new(
            id,
            StreamState::Idle,
            self.peer.initial_window_size,
            self.local.initial_window_size,
        );
        recount(&mut self.counts, self.role, &mut s);
        self.streams.insert(id, s);
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

    /// The id `open_stream` assigns next (client), or the next promised id
    /// (server).
    pub fn next_stream_id(&self) -> StreamId {
        StreamId(self.next_local_id)
    }

    /// True when `open_stream` would succeed.
    pub fn can_open_stream(&self) -> bool {
        self.check_open().is_ok()
    }

    /// Client: how many more streams `open_stream` would accept now (0 while
    /// the peer's SETTINGS_MAX_CONCURRENT_STREAMS is reached, §5.1.2), or
    /// why no stream can be opened at all (going away, ids exhausted, ...).
    pub fn open_capacity(&self) -> Result<usize, UserError> {
        match self.check_open() {
            Ok(()) => {
                Ok((self.peer.max_concurrent_streams as usize).saturating_sub(self.counts.local))
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
    pub fn send_headers(
        &mut self,
        id: StreamId,
        head: Head,
        end_stream: bool,
    ) -> Result<(), UserError> {
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
                    headers::request_pseudo(&req, self.peer.enable_connect_protocol)
                        .map_err(UserError::Malformed)?;
                let size = headers::check_outgoing(req.headers(), folded)
                    .map_err(UserError::Malformed)?
                    + headers::pseudo_size(&pseudo);
                self.check_list_size(size)?;
                self.hpack_buf.clear();
                self.encoder.encode(
                    pseudo
                        .iter()
                        .flatten()
                        .copied()
                        .chain(headers::regular_fields(req.headers(), folded)),
                    &mut self.hpack_buf,
                );
                encode_header_block(
                    &mut self.pending,
                    id,
                    BlockStart::Headers {
                        end_stream,
                        priority: None,
                    },
                    &self.hpack_buf,
                    self.peer.max_frame_size,
                );
                self.last_local_sent = raw;
                let head_request = req.method() == Method::HEAD;
                let send_expected = declared_length(req.headers());
                if let Some(s) = self.streams.get_mut(&raw) {
                    s.send_expected = send_expected;
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
                let size = headers::check_outgoing(resp.headers(), false)
                    .map_err(UserError::Malformed)?
                    + 32
                    + 7
                    + 3;
                self.check_list_size(size)?;
                let st = FieldRef {
                    name: b":status",
                    value: status.as_str().as_bytes(),
                    sensitive: false,
                };
                self.hpack_buf.clear();
                self.encoder.encode(
                    std::iter::once(st).chain(headers::regular_fields(resp.headers(), false)),
                    &mut self.hpack_buf,
                );
                encode_header_block(
                    &mut self.pending,
                    id,
                    BlockStart::Headers {
                        end_stream,
                        priority: None,
                    },
                    &self.hpack_buf,
                    self.peer.max_frame_size,
                );
                let no_body =
                    status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
                let send_expected = declared_length(resp.headers());
                if let Some(s) = self.streams.get_mut(&raw) {
                    if !informational {
                        // §8.1.1: a response to HEAD, a 204 or a 304 has no
                        // content whatever its content-length says.
                        s.send_expected = if s.head_request || no_body {
                            Some(0)
                        } else {
                            send_expected
                        };
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
    pub fn send_data(
        &mut self,
        id: StreamId,
        data: Bytes,
        end_stream: bool,
    ) -> Result<(), UserError> {
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
        if let Some(n) = s.send_expected {
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
        self.mark_ready(id.0);
        self.recount(id.0);
        Ok(())
    }

    /// Queues trailers (after the queued data), ending the stream.
    pub fn send_trailers(&mut self, id: StreamId, trailers: HeaderMap) -> Result<(), UserError> {
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
        if s.send_expected.is_some_and(|n| n != s.sent_len) {
            return Err(UserError::Malformed(
                "DATA shorter than the content-length sent (§8.1.1)",
            ));
        }
        let queue_empty = s.queue.is_empty();
        let size = headers::check_outgoing(&trailers, false).map_err(UserError::Malformed)?;
        self.check_list_size(size)?;
        if queue_empty {
            // Nothing ahead of it: encode now, in wire order.
            self.hpack_buf.clear();
            self.encoder.encode(
                headers::regular_fields(&trailers, false),
                &mut self.hpack_buf,
            );
            encode_header_block(
                &mut self.pending,
                id,
                BlockStart::Headers {
                    end_stream: true,
                    priority: None,
                },
                &self.hpack_buf,
                self.peer.max_frame_size,
            );
        }
        if let Some(s) = self.streams.get_mut(&id.0) {
            s.end_queued = true;
            s.state = s.state.close_local();
            if queue_empty {
                s.end_sent = true;
            } else {
                s.trailers = Some(trailers);
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
        self.hpack_buf.clear();
        self.encoder.encode(
            pseudo
                .iter()
                .flatten()
                .copied()
                .chain(headers::regular_fields(request.headers(), folded)),
            &mut self.hpack_buf,
        );
        encode_header_block(
            &mut self.pending,
            id,
            BlockStart::PushPromise {
                promised_id: StreamId(promised),
            },
            &self.hpack_buf,
            self.peer.max_frame_size,
        );
        self.last_local_sent = promised;
        let mut s = Stream::new(
            promised,
            StreamState::ReservedLocal,
            self.peer.initial_window_size,
            self.local.initial_window_size,
        );
        recount(&mut self.counts, self.role, &mut s);
        self.streams.insert(promised, s);
        Ok(StreamId(promised))
    }

    /// Resets a stream (RST_STREAM with `code`), dropping its queued data.
    pub fn reset(&mut self, id: StreamId, code: ErrorCode) -> Result<(), UserError> {
        self.check_usable()?;
        let Some(s) = self.streams.get(&id.0) else {
            return Err(UserError::UnknownStream(id));
        };
        if s.state != StreamState::Idle {
            self.queue_rst(id.0, code);
        }
        self.remove_stream(id.0, CloseCause::LocalReset);
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

    /// Sends new local settings (applied when the peer ACKs them).
    pub fn update_settings(&mut self, params: Vec<Setting>) -> Result<(), UserError> {
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
        self.pending_settings.push_back((params, Instant::now()));
        Ok(())
    }

    /// The two-step graceful shutdown of RFC 9113 §6.8: a GOAWAY with last
    /// stream id 2^31-1 and a PING now (streams the peer has in flight are
    /// still accepted); the final GOAWAY, with the last stream processed,
    /// when the PING ACK arrives (one round trip later) or after
    /// `settings_timeout`. Then as [`Connection::go_away`].
    pub fn go_away_graceful(&mut self) {
        if self.error.is_some() || self.goaway_sent.is_some() {
            return;
        }
        Frame::GoAway(GoAway {
            last_stream_id: StreamId::MAX,
            error_code: ErrorCode::NO_ERROR,
            debug_data: Bytes::new(),
        })
        .encode(&mut self.pending);
        Frame::Ping(Ping {
            ack: false,
            payload: SHUTDOWN_PING,
        })
        .encode(&mut self.pending);
        self.shutdown_deadline = Some(Instant::now() + self.config.settings_timeout);
    }

    /// Graceful shutdown: GOAWAY(code) with the last peer stream processed;
    /// no new streams; open ones finish. See [`Connection::is_finished`].
    pub fn go_away(&mut self, code: ErrorCode, debug_data: Bytes) {
        if self.error.is_some() {
            return;
        }
        let last = self.last_peer_id;
        Frame::GoAway(GoAway {
            last_stream_id: StreamId(last),
            error_code: code,
            debug_data,
        })
        .encode(&mut self.pending);
        self.goaway_sent = Some(self.goaway_sent.map_or(last, |p| p.min(last)));
        self.shutdown_deadline = None;
    }

    /// True when the connection has nothing left to do: a GOAWAY was sent or
    /// received and no stream is open, or a connection error occurred. Write
    /// what `poll_transmit` still has, then close.
    pub fn is_finished(&self) -> bool {
        self.error.is_some()
            || ((self.goaway_sent.is_some() || self.goaway_recv.is_some())
                && self.shutdown_deadline.is_none()
                && self.streams.is_empty())
    }

    /// Number of open streams (both directions).
    pub fn active_streams(&self) -> usize {
        self.streams.len()
    }
}

/// The content-length a head we send declares (unparsable: not checked).
fn declared_length(h: &HeaderMap) -> Option<u64> {
    h.get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn malformed(m: Malformed) -> UserError {
    UserError::Malformed(m)
}

/// Whether a stream counts toward a concurrency limit (§5.1.2) — while it
/// is open or half-closed, and while a closed stream still has output to
/// write (the peer has not seen it end) — and whether it is a reserved
/// (remote) push.
fn counted(s: &Stream) -> (bool, bool) {
    let active = s.state.is_active() || (s.state == StreamState::Closed && s.has_output());
    (active, s.state == StreamState::ReservedRemote)
}

fn uncount(c: &mut Counts, role: Role, id: u32, active: bool, reserved: bool) {
    let local = is_local(role, id);
    if active {
        if local {
            c.local = c.local.saturating_sub(1);
        } else {
            c.peer = c.peer.saturating_sub(1);
        }
    }
    if reserved {
        c.reserved_remote = c.reserved_remote.saturating_sub(1);
    }
}

fn is_local(role: Role, id: u32) -> bool {
    match role {
        Role::Client => id % 2 == 1,
        Role::Server => id % 2 == 0,
    }
}

/// Brings the counters in line with the stream's state (`s.counted`).
fn recount(c: &mut Counts, role: Role, s: &mut Stream) {
    let now = counted(s);
    if now == s.counted {
        return;
    }
    let (was_active, was_reserved) = s.counted;
    uncount(c, role, s.id, was_active, was_reserved);
    let local = is_local(role, s.id);
    if now.0 {
        if local {
            c.local += 1;
        } else {
            c.peer += 1;
        }
    }
    if now.1 {
        c.reserved_remote += 1;
    }
    s.counted = now;
}
