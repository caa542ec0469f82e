//! The connection state machine: every rule of RFC 9113 §3–§8 that concerns
//! the order and meaning of frames, without I/O.
//!
//! Received frames go through [`Connection::recv_frame`]; user actions are
//! methods; output is the bytes to write ([`Connection::poll_transmit`]
//! into one buffer, or [`Connection::poll_transmit_vectored`] into a
//! [`super::WriteQueue`] that references large DATA payloads instead of
//! copying them) and a queue of [`Event`]s. Control frames and field blocks
//! are encoded as soon as they are decided (into `pending`, flushed
//! first); DATA frames are written at transmit time, one frame per stream
//! in turn, within both flow-control windows. HPACK blocks are encoded in
//! the order they reach the wire (trailers queued behind DATA are encoded
//! when they are written), so the peer's decoder stays in sync.
//!
//! This file holds the struct, `new`, the accessors and the helpers every
//! path shares; the rest of the `impl` is split by concern into
//! `connection/` (`recv`, `recv_headers`, `transmit`, `actions`,
//! `shutdown`, `upgrade`, `timers`, the application slot in `app`, the
//! §5.1.2 counters in `counts`). Flood counters live in `FloodGuards`.
//! No clock is read here: time comes in as `now`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tracing::debug;

use crate::frame::{
    encode_header_block_with, BlockStart, ErrorCode, Frame, GoAway, RstStream, Setting, Settings,
    StreamId, WindowUpdate, DEFAULT_INITIAL_WINDOW_SIZE, MAX_WINDOW_SIZE, PREFACE,
};
use crate::hpack::{Decoder, Encoder, FieldRef};

use super::flow::FlowWindow;
use super::guards::FloodGuards;
use super::schedule::Scheduler;
use super::settings::{self, SettingsState};
use super::store::{CloseCause, RecentlyClosed, StreamMap};
use super::stream::{RecvPhase, Stream, StreamState};
use super::Head;
use super::{Config, ConnectionError, Event, Role, UserError};
use crate::priority::Priority;

mod actions;
mod app;
mod bdp;
mod counts;
pub use bdp::BDP_PING;
use counts::{recount, uncount, Counts};
mod recv;
mod recv_headers;
mod shutdown;
mod timers;
mod transmit;
mod upgrade;

pub use actions::MAX_QUEUED_CHUNKS;

/// Server: PRIORITY_UPDATE frames for streams not opened yet that are kept
/// (RFC 9218 §7.1 lets a server bound them); older ones are dropped.
pub const MAX_IDLE_PRIORITIES: usize = 16;
use recv_headers::PartialBlock;

/// The protocol state of one connection. `A` is what the layer above keeps
/// per stream, in the stream's own entry (its application slot, see
/// [`Connection::app_mut`]); `()` when there is nothing.
#[derive(Debug)]
pub struct Connection<A = ()> {
    role: Role,
    /// Shared by the connections of one builder (160 bytes each otherwise).
    config: Arc<Config>,
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

    streams: StreamMap<A>,
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

    /// A field block waiting for CONTINUATION frames (boxed: rare, and
    /// 56 bytes inline in every connection).
    block: Option<Box<PartialBlock>>,
    /// Encoded control frames and field blocks, written before any DATA.
    pending: BytesMut,
    /// Streams with queued output, by RFC 9218 priority (`schedule.rs`).
    ready: Scheduler,
    /// Server: priorities from PRIORITY_UPDATE frames for streams not yet
    /// opened (RFC 9218 §7.1), applied when they open; at most
    /// [`MAX_IDLE_PRIORITIES`], the oldest dropped first.
    idle_priorities: Vec<(u32, Priority)>,
    events: VecDeque<Event<A>>,

    /// Our PINGs awaiting ACK.
    pings_out: VecDeque<[u8; 8]>,
    /// Flood counters (§10.5, rapid reset).
    guards: FloodGuards,

    goaway_sent: Option<u32>,
    goaway_recv: Option<u32>,
    /// Every deadline, in one table (see `timers.rs`); the two-step
    /// shutdown (§6.8) is under way while its `Shutdown` slot is set.
    timers: timers::Timers,
    /// The adaptive window's estimator (`Config::adaptive_window`), from
    /// the first DATA on.
    bdp: Option<Box<bdp::Bdp>>,
    error: Option<ConnectionError>,
    /// The box of the last head taken out of a `RecvHeaders` event
    /// ([`Connection::unbox_head`]), for the next one: a received head
    /// costs no allocation of its own while heads keep coming; freed when
    /// the socket goes quiet ([`Connection::release_idle_memory`]).
    spare_head: Option<Box<std::mem::MaybeUninit<Head>>>,
}

impl Connection {
    /// A new connection. A client queues the preface and its SETTINGS; a
    /// server queues its SETTINGS (the preface is checked by the codec).
    ///
    /// `now` starts the SETTINGS timer (§6.5.3) and the flood window; the
    /// state machine never reads a clock itself.
    pub fn new(role: Role, config: Config, now: Instant) -> Self {
        Self::with_app(role, config, now)
    }
}

/// Least size of a client's HPACK string buffer (see
/// `Decoder::set_min_chunk`): about a dozen typical response heads.
const CLIENT_DECODE_CHUNK: usize = 2048;

impl<A> Connection<A> {
    /// [`Connection::new`] with an application slot of type `A` on every
    /// stream ([`Connection::set_app`]).
    pub fn with_app(role: Role, config: Config, now: Instant) -> Self {
        Self::with_shared_config(role, Arc::new(config), now)
    }

    /// [`Connection::with_app`] with a configuration shared by many
    /// connections (a server's: one allocation, not one per connection).
    pub fn with_shared_config(role: Role, config: Arc<Config>, now: Instant) -> Self {
        // Enforced from the start (the peer learns them with our first
        // SETTINGS; a peer that opens streams before reading it gets
        // REFUSED_STREAM, which is safe to retry).
        let local = SettingsState {
            max_concurrent_streams: config.max_concurrent_streams,
            enable_push: config.enable_push && role == Role::Client,
            ..SettingsState::default()
        };
        let mut decoder = Decoder::new(
            crate::hpack::DEFAULT_TABLE_SIZE,
            config.max_header_list_size as usize,
        );
        if role == Role::Client {
            // A client holds many responses' fields at once (the
            // server's requests are usually done with before the next
            // block): a chunk serves several blocks (see `set_min_chunk`).
            decoder.set_min_chunk(CLIENT_DECODE_CHUNK);
        }
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
            // Grows to the largest field block encoded (most are far
            // smaller than 1 KiB); none is needed before the first.
            ready: Scheduler::default(),
            idle_priorities: Vec::new(),
            events: VecDeque::new(),
            pings_out: VecDeque::new(),
            guards: FloodGuards::new(config.max_pending_pings, now),
            goaway_sent: None,
            goaway_recv: None,
            timers: timers::Timers::new(now, &config.timeouts),
            bdp: None,
            spare_head: None,
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
        c.refresh_settings_timer();
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

    /// The request on `id` was a HEAD: its response has no content
    /// (RFC 9110 §9.3.2, RFC 9113 §8.1.1).
    pub fn is_head_request(&self, id: StreamId) -> bool {
        self.streams.get(&id.0).is_some_and(|s| s.head_request)
    }

    /// The last stream id of the peer's GOAWAY (the lowest, if it sent
    /// several), once one arrived: our streams above it were refused
    /// (RFC 9113 §6.8).
    pub fn goaway_received(&self) -> Option<StreamId> {
        self.goaway_recv.map(StreamId)
    }

    /// The peer's first SETTINGS frame arrived (its side of the §3.4
    /// handshake is done).
    pub fn peer_settings_seen(&self) -> bool {
        self.peer_settings_seen
    }

    /// The §5.1 state of stream `id`, if we still track it.
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
        self.idle_unwatched();
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
        self.guards.rst_queued();
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
            let app = self
                .remove_stream(id, CloseCause::LocalReset)
                .and_then(|s| s.app);
            self.events.push_back(Event::RecvReset {
                id: StreamId(id),
                code,
                remote: false,
                app,
            });
            return;
        }
        self.queue_rst(id, code);
        if let Some(s) = self.remove_stream(id, CloseCause::LocalReset) {
            self.events.push_back(Event::RecvReset {
                id: StreamId(id),
                code,
                remote: false,
                app: s.app,
            });
        } else {
            self.closed.insert(id, CloseCause::LocalReset);
        }
    }

    /// Sets the INITIAL_WINDOW_SIZE our own flow control counts with,
    /// moving every open stream's receive window by the difference (§6.9.2).
    ///
    /// That value is the one the peer last acknowledged, or a larger one we
    /// sent since: the peer may use an increase as soon as it reads our
    /// SETTINGS, before we see its ACK, so an increase counts once sent
    /// (`update_settings`) and a decrease once acknowledged (`apply_local`,
    /// §6.9.2: the receiver "MUST be prepared to receive data that exceeds
    /// this window size" until then).
    pub(super) fn set_local_initial_window(&mut self, n: u32) -> Result<(), ConnectionError> {
        let delta = i64::from(n) - i64::from(self.local.initial_window_size);
        if delta == 0 {
            return Ok(());
        }
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
        Ok(())
    }

    /// The largest INITIAL_WINDOW_SIZE among our SETTINGS not yet
    /// acknowledged.
    pub(super) fn pending_initial_window(&self) -> Option<u32> {
        self.pending_settings
            .iter()
            .flat_map(|(params, _)| params)
            .filter_map(|p| match p {
                Setting::InitialWindowSize(n) => Some(*n),
                _ => None,
            })
            .max()
    }

    /// Forgets a stream, giving back to the connection window what the user
    /// had not released. The caller moves the stream's application slot
    /// into the terminal event it queues (or drops it: `reset`).
    fn remove_stream(&mut self, id: u32, cause: CloseCause) -> Option<Box<Stream<A>>> {
        let mut s = self.streams.remove(&id)?;
        let (was_active, was_reserved) = s.counted;
        s.state = StreamState::Closed;
        s.clear_queue();
        self.timers_stream_removed(&mut s);
        uncount(&mut self.counts, self.role, id, was_active, was_reserved);
        let unreleased = s.unreleased;
        self.release_conn(unreleased);
        self.closed.insert(id, cause);
        Some(s)
    }

    /// Queues a field block of `fields` on stream `id` (HEADERS or
    /// PUSH_PROMISE, CONTINUATIONs past the peer's frame size) with the
    /// control frames, HPACK-encoded straight into place.
    fn queue_field_block<'f>(
        &mut self,
        id: StreamId,
        start: BlockStart,
        fields: impl IntoIterator<Item = FieldRef<'f>>,
    ) {
        let encoder = &mut self.encoder;
        encode_header_block_with(
            &mut self.pending,
            id,
            start,
            self.peer.max_frame_size,
            |dst| encoder.encode(fields, dst),
        );
    }

    /// Adds a stream to the table (the connection is not idle).
    fn insert_stream(&mut self, id: u32, s: Box<Stream<A>>) {
        self.streams.insert(id, s);
        self.timers_stream_added();
    }

    /// Removes `id` if both sides are done with it.
    fn maybe_finish(&mut self, id: u32) {
        if let Some(s) = self.streams.get(&id) {
            if s.state == StreamState::Closed && !s.has_output() {
                let app = self.remove_stream(id, CloseCause::Done).and_then(|s| s.app);
                self.events.push_back(Event::Finished {
                    id: StreamId(id),
                    app,
                });
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
            self.keep_end_open(id);
        }
    }

    /// Keeps a stream's receive window from closing exactly with the last
    /// byte its `content-length` declares (RFC 9113 §8.1.1).
    ///
    /// An END_STREAM that comes as an empty DATA frame needs no window
    /// (§6.9.1: only the payload counts), but nghttp2, and Node's `http2`
    /// on it, will not write any DATA frame to a stream whose window is 0.
    /// Node then closes such a stream with RST_STREAM(NO_ERROR) one event
    /// loop turn after its body was written, before a WINDOW_UPDATE sent on
    /// the body's arrival can reach it. So when the window (the stream's,
    /// or the connection's) is exactly what the body still needs, one more
    /// octet is granted now, while the peer is still sending: its window
    /// stays positive after the body, the END_STREAM goes out. A body
    /// without `content-length` gives nothing to foresee; the windows are
    /// then reopened only as the user reads, as before.
    fn keep_end_open(&mut self, id: u32) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if !s.state.recv_open() || s.recv_phase != RecvPhase::Body || self.error.is_some() {
            return;
        }
        let Some(len) = s.expected_len() else {
            return;
        };
        let left = len.saturating_sub(s.received_len) as i64;
        if s.recv_window.size() == left && s.recv_window.increase(1).is_ok() {
            Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId(id),
                increment: 1,
            })
            .encode(&mut self.pending);
        }
        if self.conn_recv.size() == left && self.conn_recv.increase(1).is_ok() {
            Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::ZERO,
                increment: 1,
            })
            .encode(&mut self.pending);
        }
    }

    /// Counts a frame that gives us work without progress (§10.5).
    fn cheap_frame(&mut self, now: Instant) -> Result<(), ConnectionError> {
        self.guards
            .cheap_frame(now)
            .map_err(|reason| self.conn_error(ErrorCode::ENHANCE_YOUR_CALM, reason))
    }

    /// Turns a flood verdict of [`FloodGuards`] into a connection error.
    fn flood(&mut self, r: Result<(), super::guards::Flood>) -> Result<(), ConnectionError> {
        r.map_err(|reason| self.conn_error(ErrorCode::ENHANCE_YOUR_CALM, reason))
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
                s.sched_seq = self.ready.push(id, s.priority);
            }
        }
    }

    /// Sets stream `id`'s priority (RFC 9218): where its DATA goes in the
    /// write scheduler from now on. False if there is no such stream.
    pub fn set_priority(&mut self, id: StreamId, p: Priority) -> bool {
        let Some(s) = self.streams.get_mut(&id.0) else {
            return false;
        };
        let p = Priority::new(p.urgency, p.incremental);
        if s.priority == p {
            return true;
        }
        s.priority = p;
        if s.in_ready {
            // The old entry goes stale (skipped when popped).
            s.sched_seq = self.ready.push(id.0, p);
            self.compact_ready();
        }
        true
    }

    /// Entries in the scheduler, live and stale (tests: it stays bounded).
    #[cfg(test)]
    pub(crate) fn scheduled_entries(&self) -> usize {
        self.ready.len()
    }

    /// Stream `id`'s priority, if it exists.
    pub fn priority(&self, id: StreamId) -> Option<Priority> {
        self.streams.get(&id.0).map(|s| s.priority)
    }

    /// Drops stale scheduler entries once they outnumber the live ones.
    fn compact_ready(&mut self) {
        if self.ready.needs_compaction(self.streams.len()) {
            let streams = &self.streams;
            self.ready.retain(|id, seq| {
                streams
                    .get(&id)
                    .is_some_and(|s| s.in_ready && s.sched_seq == seq)
            });
        }
    }

    /// The next event for the user.
    pub fn poll_event(&mut self) -> Option<Event<A>> {
        self.events.pop_front()
    }

    /// Frees storage a quiet connection does not need, for a caller whose
    /// peer has gone quiet (the socket has nothing more to read): the
    /// queues used only around SETTINGS and PINGs (~160 bytes kept from the
    /// handshake on), and the event queue while it has room for one event
    /// only (~240 bytes: the peer's SETTINGS, §6.5, or a lone request's
    /// HEADERS). The scratch that bursts of requests grow (the event queue
    /// past one slot, the HPACK buffers) stays: freeing it whenever the
    /// socket went quiet with no stream open cost +11% instructions per
    /// request under `h2load -m 16` (it regrew, through glibc's large-chunk
    /// path, for every burst).
    pub fn release_idle_memory(&mut self) {
        fn free<T>(q: &mut VecDeque<T>) {
            if q.is_empty() && q.capacity() != 0 {
                *q = VecDeque::new();
            }
        }
        free(&mut self.pings_out);
        free(&mut self.pending_settings);
        if self.events.capacity() == 1 {
            free(&mut self.events);
        }
        self.spare_head = None;
    }

    /// A received head, boxed for its event (in the spare box if there is
    /// one).
    pub(crate) fn box_head(&mut self, head: Head) -> Box<Head> {
        let mut b = self.spare_head.take().unwrap_or_else(Box::new_uninit);
        b.write(head);
        // SAFETY: written on the line above.
        unsafe { b.assume_init() }
    }

    /// Whether a box is kept for the next received head.
    #[cfg(test)]
    pub(crate) fn keeps_spare_head(&self) -> bool {
        self.spare_head.is_some()
    }

    /// Takes the head out of a [`Event::RecvHeaders`]'s box and keeps the
    /// box for the next received head (one allocation saved per head).
    pub fn unbox_head(&mut self, head: Box<Head>) -> Head {
        let raw = Box::into_raw(head);
        // SAFETY: `raw` is a `Box<Head>`'s: valid, aligned, initialized. Its
        // value is read out once, and the allocation lives on as a
        // `Box<MaybeUninit<Head>>` (same size and alignment), which never
        // drops a value: the head is owned by the caller alone.
        let (head, spare) = unsafe {
            (
                std::ptr::read(raw),
                Box::from_raw(raw.cast::<std::mem::MaybeUninit<Head>>()),
            )
        };
        self.spare_head = Some(spare);
        head
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

    /// Number of open streams (both directions).
    pub fn active_streams(&self) -> usize {
        self.streams.len()
    }
}
