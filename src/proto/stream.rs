//! One stream's state: the RFC 9113 §5.1 state, both flow-control windows,
//! the send queue and what the message layer (§8) needs to check the body.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;

use super::flow::FlowWindow;

/// Stream states, RFC 9113 §5.1 ("idle" here is a locally reserved id whose
/// HEADERS are not sent yet; peer idle streams are never stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    /// Client: an id reserved by `open_stream` whose HEADERS are not sent yet.
    Idle,
    /// Server: promised by our PUSH_PROMISE; its response is not sent yet.
    ReservedLocal,
    /// Client: promised by the server's PUSH_PROMISE; its response is awaited.
    ReservedRemote,
    /// Both sides may send.
    Open,
    /// We sent END_STREAM; the peer may still send.
    HalfClosedLocal,
    /// The peer sent END_STREAM; we may still send.
    HalfClosedRemote,
    /// Both sides are done, or the stream was reset.
    Closed,
}

impl StreamState {
    /// The RFC's name, for errors and logs.
    pub fn name(self) -> &'static str {
        match self {
            StreamState::Idle => "idle",
            StreamState::ReservedLocal => "reserved (local)",
            StreamState::ReservedRemote => "reserved (remote)",
            StreamState::Open => "open",
            StreamState::HalfClosedLocal => "half-closed (local)",
            StreamState::HalfClosedRemote => "half-closed (remote)",
            StreamState::Closed => "closed",
        }
    }

    /// Counts toward MAX_CONCURRENT_STREAMS (§5.1.2: open and half-closed).
    /// A locally reserved idle id counts too, so `open_stream` cannot hand
    /// out more ids than the peer allows.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            StreamState::Idle
                | StreamState::Open
                | StreamState::HalfClosedLocal
                | StreamState::HalfClosedRemote
        )
    }

    /// The peer may still send DATA/trailers on it.
    pub fn recv_open(self) -> bool {
        matches!(self, StreamState::Open | StreamState::HalfClosedLocal)
    }

    /// We may still queue DATA/trailers on it.
    pub fn send_open(self) -> bool {
        matches!(self, StreamState::Open | StreamState::HalfClosedRemote)
    }

    /// The state after we end our side.
    pub fn close_local(self) -> StreamState {
        match self {
            StreamState::Open => StreamState::HalfClosedLocal,
            StreamState::HalfClosedRemote | StreamState::Closed => StreamState::Closed,
            other => other,
        }
    }

    /// The state after the peer ends its side.
    pub fn close_remote(self) -> StreamState {
        match self {
            StreamState::Open => StreamState::HalfClosedRemote,
            StreamState::HalfClosedLocal | StreamState::Closed => StreamState::Closed,
            other => other,
        }
    }
}

/// Where the receiving side of the message is (RFC 9113 §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvPhase {
    /// Waiting for the request/response head (after 1xx: still waiting).
    Head,
    /// Head received; DATA, then maybe trailers.
    Body,
}

/// Where the sending side of the message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendPhase {
    /// No final head sent yet (1xx responses may have been).
    Head,
    /// Final head sent; DATA and trailers may follow.
    Body,
}

/// One stream. `A` is the application's slot: what the layer above keeps
/// per stream (see [`Connection::app_mut`](super::Connection::app_mut)),
/// `()` when there is none.
#[derive(Debug)]
pub struct Stream<A = ()> {
    /// The stream id (31 bits, §5.1.1).
    pub id: u32,
    /// Where the stream is in the §5.1 state machine.
    pub state: StreamState,
    /// What we may still send (the peer's window for us).
    pub send_window: FlowWindow,
    /// What the peer may still send us.
    pub recv_window: FlowWindow,
    /// Bytes released by the user and not yet announced by WINDOW_UPDATE.
    pub release_pending: u32,
    /// Bytes delivered to the user and not yet released.
    pub unreleased: u32,
    /// Queued body chunks (the front may be partly sent).
    pub queue: ChunkQueue,
    /// Bytes in `queue` not yet written (bounded by
    /// `Config::max_send_buffer_per_stream`).
    pub queued_bytes: usize,
    /// END_STREAM goes on the last queued chunk (or an empty DATA).
    pub end_queued: bool,
    /// Trailers to send once the queue drains.
    ///
    /// Boxed: rare, and a `HeaderMap` inline is 96 bytes in every stream
    /// (times four in a stream map's first allocation).
    pub trailers: Option<Box<HeaderMap>>,
    /// END_STREAM (DATA, HEADERS or trailers) has been written out.
    pub end_sent: bool,
    /// In the connection's scheduler of streams with sendable output.
    pub in_ready: bool,
    /// Its RFC 9218 priority: the request's `priority` field, a
    /// PRIORITY_UPDATE, or what the server set for its response.
    pub priority: crate::priority::Priority,
    /// The seq of its live entry in the scheduler (see `schedule.rs`).
    pub sched_seq: u32,
    /// Where the received message is: head or body (§8.1).
    pub recv_phase: RecvPhase,
    /// Where the sent message is: head or body (§8.1).
    pub send_phase: SendPhase,
    /// content-length of the message being received (§8.1.1), if
    /// `has_expected_len` (an `Option<u64>` in two fields, so the flag
    /// packs with the other small fields: 8 bytes less per stream; see
    /// [`Stream::expected_len`]).
    expected_len: u64,
    has_expected_len: bool,
    /// DATA payload bytes received so far, checked against `expected_len`.
    pub received_len: u64,
    /// Client: the request was HEAD (its response has no body, §8.1.1).
    pub head_request: bool,
    /// content-length of the message we send, if `has_send_expected`
    /// (see [`Stream::send_expected`]).
    send_expected: u64,
    has_send_expected: bool,
    /// DATA payload bytes queued so far, checked against `send_expected`.
    pub sent_len: u64,
    /// Server: the stream's final response is not sent yet; a peer reset now
    /// counts toward the rapid-reset budget.
    pub peer_initiated: bool,
    /// What the connection's counters hold for it: (active, reserved remote).
    pub counted: (bool, bool),
    /// DATA queued while the stream's send window is shut: since when
    /// (`Timeouts::stalled_stream`).
    pub stall: Stall,
    /// The application's state for this stream; handed over in the
    /// stream's terminal event (`Event::Finished`/`Event::RecvReset`) when the
    /// stream is forgotten.
    pub app: Option<A>,
}

/// Whether a stream waits for send window with DATA queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// Not stalled.
    No,
    /// Stalled since this instant.
    Since(Instant),
}

impl<A> Stream<A> {
    /// [`Stream::new`], boxed: the stream table keeps streams boxed
    /// (`store::StreamMap`), and building one straight in its box spares a
    /// move of the whole stream.
    #[inline]
    pub fn boxed(id: u32, state: StreamState, send_window: u32, recv_window: u32) -> Box<Self> {
        Box::new(Stream::new(id, state, send_window, recv_window))
    }

    /// A stream with the given windows.
    pub fn new(id: u32, state: StreamState, send_window: u32, recv_window: u32) -> Self {
        Stream {
            id,
            state,
            send_window: FlowWindow::new(send_window),
            recv_window: FlowWindow::new(recv_window),
            release_pending: 0,
            unreleased: 0,
            queue: ChunkQueue::One(Bytes::new()),
            queued_bytes: 0,
            end_queued: false,
            trailers: None,
            end_sent: false,
            in_ready: false,
            priority: crate::priority::Priority {
                urgency: crate::priority::DEFAULT_URGENCY,
                incremental: false,
            },
            sched_seq: 0,
            recv_phase: RecvPhase::Head,
            send_phase: SendPhase::Head,
            expected_len: 0,
            has_expected_len: false,
            received_len: 0,
            head_request: false,
            send_expected: 0,
            has_send_expected: false,
            sent_len: 0,
            peer_initiated: false,
            counted: (false, false),
            stall: Stall::No,
            app: None,
        }
    }

    /// content-length of the message being received (§8.1.1).
    #[inline]
    pub fn expected_len(&self) -> Option<u64> {
        self.has_expected_len.then_some(self.expected_len)
    }

    /// Sets [`Stream::expected_len`].
    #[inline]
    pub fn set_expected_len(&mut self, len: Option<u64>) {
        self.has_expected_len = len.is_some();
        self.expected_len = len.unwrap_or(0);
    }

    /// content-length of the message we send (checked against `sent_len`).
    #[inline]
    pub fn send_expected(&self) -> Option<u64> {
        self.has_send_expected.then_some(self.send_expected)
    }

    /// Sets [`Stream::send_expected`].
    #[inline]
    pub fn set_send_expected(&mut self, len: Option<u64>) {
        self.has_send_expected = len.is_some();
        self.send_expected = len.unwrap_or(0);
    }

    /// Something is queued for `poll_transmit` on this stream.
    pub fn has_output(&self) -> bool {
        !self.queue.is_empty() || self.trailers.is_some() || (self.end_queued && !self.end_sent)
    }

    /// Drops everything queued (the stream was reset).
    pub fn clear_queue(&mut self) {
        self.queue.clear();
        self.queued_bytes = 0;
        self.trailers = None;
        self.end_queued = false;
    }
}

/// A stream's queued body chunks, in order. Most streams queue one chunk
/// at a time (a response body in one `SendData`): that one is held inline,
/// and a deque is allocated only for a second. (A `VecDeque` allocated
/// room for four at the first chunk: one allocation per response.) It is
/// as small as the `VecDeque` was, 32 bytes: an empty queue is an empty
/// `One` (an empty chunk is never queued), which leaves `Many` the one
/// niche value of the `Bytes`.
#[derive(Debug)]
pub enum ChunkQueue {
    /// No chunk (empty `Bytes`) or one.
    One(Bytes),
    /// Two chunks or more, none empty.
    Many(Box<VecDeque<Bytes>>),
}

impl Default for ChunkQueue {
    fn default() -> Self {
        ChunkQueue::One(Bytes::new())
    }
}

impl ChunkQueue {
    /// Number of chunks.
    pub fn len(&self) -> usize {
        match self {
            ChunkQueue::One(b) => usize::from(!b.is_empty()),
            ChunkQueue::Many(q) => q.len(),
        }
    }

    /// No chunk queued.
    pub fn is_empty(&self) -> bool {
        matches!(self, ChunkQueue::One(b) if b.is_empty())
    }

    /// Appends a chunk (an empty one is not queued).
    pub fn push_back(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        match self {
            ChunkQueue::One(b) if b.is_empty() => *b = chunk,
            ChunkQueue::One(b) => {
                let first = std::mem::take(b);
                *self = ChunkQueue::Many(Box::new(VecDeque::from([first, chunk])));
            }
            ChunkQueue::Many(q) => q.push_back(chunk),
        }
    }

    /// The first chunk.
    pub fn front_mut(&mut self) -> Option<&mut Bytes> {
        match self {
            ChunkQueue::One(b) if b.is_empty() => None,
            ChunkQueue::One(b) => Some(b),
            ChunkQueue::Many(q) => q.front_mut(),
        }
    }

    /// Takes the first chunk out.
    pub fn pop_front(&mut self) -> Option<Bytes> {
        match self {
            ChunkQueue::One(b) if b.is_empty() => None,
            ChunkQueue::One(b) => Some(std::mem::take(b)),
            ChunkQueue::Many(q) => {
                let first = q.pop_front();
                if q.is_empty() {
                    *self = ChunkQueue::default();
                }
                first
            }
        }
    }

    /// Drops every chunk.
    pub fn clear(&mut self) {
        *self = ChunkQueue::default();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunk_queue_keeps_order_and_allocates_only_for_a_second_chunk() {
        let mut q = ChunkQueue::default();
        assert!(q.is_empty() && q.pop_front().is_none() && q.front_mut().is_none());
        q.push_back(Bytes::from_static(b"a"));
        assert!(matches!(q, ChunkQueue::One(_)));
        q.push_back(Bytes::new());
        assert_eq!(q.len(), 1, "an empty chunk is not queued");
        assert_eq!(q.len(), 1);
        q.push_back(Bytes::from_static(b"b"));
        q.push_back(Bytes::from_static(b"c"));
        assert_eq!(q.len(), 3);
        assert_eq!(
            q.front_mut().map(|b| b.clone()),
            Some(Bytes::from_static(b"a"))
        );
        assert_eq!(q.pop_front(), Some(Bytes::from_static(b"a")));
        assert_eq!(q.pop_front(), Some(Bytes::from_static(b"b")));
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop_front(), Some(Bytes::from_static(b"c")));
        assert!(q.is_empty());
        q.push_back(Bytes::from_static(b"d"));
        q.clear();
        assert!(q.is_empty());
        assert_eq!(std::mem::size_of::<ChunkQueue>(), 32);
    }
    use super::*;

    #[test]
    fn s5_1_open_to_half_closed_to_closed() {
        let s = StreamState::Open;
        assert_eq!(s.close_local(), StreamState::HalfClosedLocal);
        assert_eq!(s.close_remote(), StreamState::HalfClosedRemote);
        assert_eq!(s.close_local().close_remote(), StreamState::Closed);
        assert_eq!(s.close_remote().close_local(), StreamState::Closed);
    }

    #[test]
    fn s5_1_2_reserved_streams_do_not_count_toward_concurrency() {
        assert!(!StreamState::ReservedLocal.is_active());
        assert!(!StreamState::ReservedRemote.is_active());
        assert!(StreamState::Open.is_active());
        assert!(StreamState::HalfClosedLocal.is_active());
        assert!(StreamState::HalfClosedRemote.is_active());
    }
}
