//! The send path: [`Connection::poll_transmit`] writes pending control
//! frames and field blocks, then DATA from ready streams in RFC 9218 priority order
//! (`schedule.rs`) within
//! both flow-control windows (§5.2, §6.9); trailers queued behind DATA are
//! HPACK-encoded only when written, so blocks reach the wire in encoding
//! order (§4.3).

use std::time::Instant;

use bytes::{Buf, BytesMut};

use crate::proto::WriteQueue;

use crate::frame::{self, encode_data_head, encode_header_block_with, BlockStart, StreamId};

use super::{recount, timers, Connection};
use crate::proto::headers;
use crate::proto::Event;

/// Most capacity `pending` (encoded control frames and field blocks) keeps
/// between turns: a few response field blocks (a small response's HEADERS
/// is 10-60 bytes) without an allocation each, and no more than this in an
/// idle connection.
const PENDING_KEEP: usize = 256;

impl<A> Connection<A> {
    /// Appends bytes to write to `dst` until it holds at least `limit` bytes
    /// or nothing is left to send: control frames first, then HEADERS, then
    /// DATA by stream priority (RFC 9218 §10), within the flow-control windows.
    ///
    /// Every payload is copied into `dst`; [`Connection::poll_transmit_vectored`]
    /// writes the same frames without copying large DATA payloads.
    ///
    /// `now` dates what writing finds: a stream whose window is found shut
    /// with DATA queued starts its stall timer (§6.9), a stream that ends
    /// with its last frame may start the idle timer.
    pub fn poll_transmit(&mut self, dst: &mut BytesMut, limit: usize, now: Instant) {
        let mut q = WriteQueue::flat(std::mem::take(dst));
        self.poll_transmit_vectored(&mut q, limit, now);
        *dst = q.into_flat();
    }

    /// As [`Connection::poll_transmit`], into a [`WriteQueue`]: frame heads,
    /// control frames and payloads under the queue's copy threshold are
    /// copied, larger DATA payloads are queued as slices of the `Bytes` the
    /// user sent (no copy), for a vectored write. The frames and their order
    /// are the same; `dst.len()` stays near `limit` the same way.
    pub fn poll_transmit_vectored(&mut self, dst: &mut WriteQueue, limit: usize, now: Instant) {
        self.tick(now);
        if !self.pending.is_empty() {
            // Into a queue that has a buffer (the writer's, from its pool),
            // the pending bytes are copied and `pending` keeps its memory
            // for the next field blocks, when that is small: at one request
            // per turn it would otherwise be allocated for every response
            // and then regrown twice in the writer's hands (DATA head and
            // payload). Into a queue without a buffer, a large `pending`
            // moves over as it is (no copy), and so does any `pending` of
            // a caller that keeps no buffer of its own between calls.
            if !dst.swap_buffer_if_empty(&mut self.pending) {
                dst.extend_from_slice(&self.pending);
                self.pending.clear();
            }
            if self.pending.capacity() > PENDING_KEEP {
                // An idle connection keeps no large buffer (the preface and
                // SETTINGS, a burst of control frames or field blocks).
                self.pending = BytesMut::new();
            }
        }
        self.guards.flushed();
        if self.error.is_some() {
            return;
        }
        let max_frame = self.peer.max_frame_size as usize;
        // Streams with DATA met while the connection window is shut: put
        // back once the scheduler has been walked for what needs no window
        // (trailers, empty END_STREAM), which keeps its order.
        let mut conn_blocked: Vec<u32> = Vec::new();
        while dst.len() < limit {
            let Some((id, seq)) = self.ready.pop() else {
                break;
            };
            let Some(s) = self.streams.get_mut(&id) else {
                continue;
            };
            if !s.in_ready || s.sched_seq != seq {
                continue; // stale: done, or queued again elsewhere
            }
            if s.queue.is_empty() {
                s.in_ready = false;
                if let Some(t) = s.trailers.take() {
                    let encoder = &mut self.encoder;
                    encode_header_block_with(
                        dst.buf_mut(),
                        StreamId(id),
                        BlockStart::headers(true),
                        self.peer.max_frame_size,
                        |buf| encoder.encode(headers::regular_fields(&t, false), buf),
                    );
                    s.end_sent = true;
                } else if s.end_queued && !s.end_sent {
                    encode_data_head(dst.buf_mut(), StreamId(id), 0, true);
                    s.end_sent = true;
                }
                recount(&mut self.counts, self.role, s);
                self.maybe_finish(id);
                continue;
            }
            let window = self.conn_send.available().min(s.send_window.available()) as usize;
            if window == 0 {
                let watch_stalls = self.config.timeouts.stall_limit().is_some();
                if s.send_window.available() == 0 {
                    // Parked until a WINDOW_UPDATE or SETTINGS reopens it;
                    // reset if that takes too long. Streams behind it go on.
                    s.in_ready = false;
                    if watch_stalls {
                        timers::stall(s, &mut self.timers);
                    }
                    continue;
                }
                // The connection window is shut: DATA waits everywhere.
                self.conn_stalled();
                conn_blocked.push(id);
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
            encode_data_head(dst.buf_mut(), StreamId(id), n as u32, end);
            if n >= dst.copy_threshold() {
                // A slice of the user's `Bytes`, written from where it is.
                let chunk = if n == front.len() {
                    std::mem::take(front)
                } else {
                    front.split_to(n)
                };
                dst.push_bytes(chunk);
            } else {
                dst.extend_from_slice(&front[..n]);
                front.advance(n);
            }
            if front.is_empty() {
                s.queue.pop_front();
            }
            s.queued_bytes -= n;
            s.send_window.consume(n as u32);
            self.conn_send.consume(n as u32);
            if self.config.timeouts.stall_limit().is_some() {
                // A window used up with DATA left: the writer will not be
                // woken for it again until credit comes.
                let conn_shut = self.conn_send.available() == 0;
                timers::watch_stall(s, conn_shut, &mut self.timers);
            }
            self.guards.useful_frame();
            if self.events.capacity() == 0 {
                // As in `recv_frame`: room for one event to begin with.
                self.events.reserve_exact(1);
            }
            self.events.push_back(Event::DataSent {
                id: StreamId(id),
                len: n,
            });
            if end {
                s.end_sent = true;
            }
            if s.has_output() {
                s.sched_seq = self.ready.push(id, s.priority);
            } else {
                s.in_ready = false;
            }
            recount(&mut self.counts, self.role, s);
            self.maybe_finish(id);
        }
        for id in conn_blocked {
            if let Some(s) = self.streams.get_mut(&id) {
                s.sched_seq = self.ready.push(id, s.priority);
            }
        }
    }

    /// Capacity of the buffer of encoded control frames and field blocks
    /// (tests of its reuse).
    #[cfg(test)]
    pub(crate) fn pending_capacity(&self) -> usize {
        self.pending.capacity()
    }

    /// True when control frames (ACKs, RST_STREAM, WINDOW_UPDATE, GOAWAY)
    /// wait to be written: cheaper than [`Connection::wants_transmit`], for
    /// a caller that moves them to its write buffer as they appear.
    pub fn has_pending_control(&self) -> bool {
        !self.pending.is_empty()
    }

    /// True when `poll_transmit` has something to write.
    pub fn wants_transmit(&self) -> bool {
        !self.pending.is_empty() || self.streams_want_transmit()
    }

    /// True when `poll_transmit` has stream output to write besides what is
    /// already encoded (control frames, field blocks): DATA that fits the
    /// windows, or trailers or an END_STREAM queued behind DATA. A writer
    /// that keeps no buffer of its own between turns takes one for that,
    /// and lets a turn of only encoded bytes move the protocol's buffer
    /// over instead (`poll_transmit_vectored`).
    pub fn streams_want_transmit(&self) -> bool {
        if self.error.is_some() {
            return false;
        }
        let conn_open = self.conn_send.available() > 0;
        self.ready.iter().any(|(id, seq)| {
            self.streams.get(&id).is_some_and(|s| {
                s.in_ready
                    && s.sched_seq == seq
                    && (s.queue.is_empty() || (conn_open && s.send_window.available() > 0))
            })
        })
    }
}
