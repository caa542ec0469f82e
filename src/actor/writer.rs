//! The write side of a connection: drains the connection's coalescing
//! buffer into the transport, inside the connection actor's own turn.
//!
//! The connection's driver (`connection/driver.rs`, one item of the
//! actor's context that owns the whole transport) reads first, then writes
//! with [`WriteSide::poll`]. Actix polls the actor's mailbox before its
//! items, so every frame produced in a turn (by the stream messages just
//! handled and the frames just read) goes out in one `write` at the end of
//! that turn: no task of its own, no wake-up per batch, no syscall per
//! frame. Within the turn `Core::flush_due` says the write is coming
//! anyway, so the task does not wake itself; what runs after the driver
//! (the actor's own timers) wakes it once (`Core::wake`).
//!
//! Why not actix's `FramedWrite`: on tokio sockets it never sees
//! `WouldBlock` and buffers without bound, and it drops buffered bytes when
//! the actor stops right after `close()`. This writer:
//! - pulls from `proto::Connection::poll_transmit` only while the buffer is
//!   under `max_write_buffer`: when the peer stops reading, the socket
//!   returns `Pending`, the buffer stays full, DATA stays queued in the
//!   protocol and `SendData` replies stay pending (backpressure, bounded
//!   memory);
//! - on `WriteState::Shutdown` (or once the protocol is finished) writes
//!   everything left, the final GOAWAY included, shuts the write half down
//!   and only then reports, and the actor stops (or lingers, see
//!   `connection`).
//!
//! The write queue (`proto::WriteQueue`) holds frame heads, control frames
//! and small payloads copied into one buffer, and DATA payloads of at least
//! [`COPY_THRESHOLD`] bytes as slices of the user's `Bytes` (not copied):
//! one `writev` (`poll_write_vectored`) sends up to [`MAX_IOVECS`] segments,
//! and a partial write advances through them. A transport without vectored
//! writes (`is_write_vectored()` false) gets a queue that copies everything,
//! so each `write` still takes one contiguous buffer.
//!
//! The copy buffer exists only while there is something in it: [`pull`]
//! takes one from the thread's pool when the protocol has frames to write,
//! and gives it back as soon as the queue is empty again (see
//! [`super::bufpool`]).

use std::pin::Pin;
use std::task::{Context, Poll};

use std::io::IoSlice;

use bytes::Buf;
use tokio::io::AsyncWrite;

use super::bufpool;
use super::connection::io_reason;
use super::core::{Core, WriteState};

/// DATA payloads of at least this many bytes are written from the user's
/// `Bytes` instead of being copied. Measured here (writer CPU per frame,
/// 9-byte head + payload over loopback TCP, copy-then-`write` vs `writev`
/// with an `iovec` each): copying is cheaper up to 1 KiB (160 vs 290 ns),
/// even at 2 KiB (320-360 vs 315-540 ns), and dearer from 4 KiB (720-960
/// vs 525-700 ns).
pub(crate) const COPY_THRESHOLD: usize = crate::proto::write_queue::DEFAULT_COPY_THRESHOLD;

/// Most segments handed to one `writev` (Linux allows 1024).
pub(crate) const MAX_IOVECS: usize = 64;

/// Pulls frames from the protocol into the write buffer (up to
/// `max_write_buffer`), with a buffer from the thread's pool while there is
/// something to write; an empty write buffer is given back at once.
///
/// The pooled buffer is taken when streams have output (DATA, trailers):
/// `poll_transmit` then copies the encoded control frames and field
/// blocks in (a few dozen bytes for a response's HEADERS) and the protocol
/// keeps its small buffer for the next ones. With only those pending, it
/// swaps its own buffer into the queue instead (no copy, no pooled
/// buffer): an idle connection's SETTINGS and ACKs never take a pooled
/// buffer, so many connections handshaking at once do not make the pool
/// allocate more. Before, a response's HEADERS took that swap path too: at
/// one request per turn the protocol's buffer was then allocated for
/// every response, regrown twice for the DATA behind it, and dropped (too
/// small for the pool). The pooled buffer never goes to the protocol (it
/// swaps only into a queue that has no buffer).
pub(crate) fn pull(c: &mut Core) {
    if c.wbuf.buffer_capacity() == 0 && c.proto.streams_want_transmit() {
        c.wbuf.set_buffer(bufpool::take_write());
    }
    c.pull_transmit();
    give_back_if_empty(c);
}

/// Gives the write queue's buffer back to the pool if the queue is empty.
fn give_back_if_empty(c: &mut Core) {
    if c.wbuf.buffer_capacity() > 0 {
        if let Some(buf) = c.wbuf.take_buffer() {
            bufpool::give_write(buf);
        }
    }
}

/// How the write side of a connection ended.
pub(crate) enum WriteEnd {
    /// Everything was written and the write half shut down (`Ok`), or the
    /// transport failed (`Err`, the reason as a sentence).
    Done(Result<(), String>),
    /// The connection stopped writing (`WriteState::Abort`): nothing to
    /// report.
    Aborted,
}

/// The write side of a connection: drained in the connection actor's own
/// turn, after its mailbox and its read side (see the module docs).
pub(crate) struct WriteSide {
    /// Bytes written since the last flush.
    unflushed: bool,
    /// `io.is_write_vectored()`, read once.
    vectored: bool,
}

impl WriteSide {
    pub fn new<W: AsyncWrite>(io: &W, core: &mut Core) -> Self {
        let vectored = io.is_write_vectored();
        // Without vectored writes every segment would be a `write` of its
        // own (a TLS record each, on a TLS stream): copy everything instead.
        core.wbuf
            .set_copy_threshold(if vectored { COPY_THRESHOLD } else { usize::MAX });
        WriteSide {
            unflushed: false,
            vectored,
        }
    }

    /// Writes what the protocol has (up to `max_write_buffer` buffered),
    /// until the socket is full (`Pending`, it wakes the task), the buffer
    /// is empty (`Pending`; `Core::wake` wakes the task for more, unless
    /// this turn writes anyway), a budget of writes is spent (`Pending`
    /// and a wake), or the write side ends.
    pub fn poll<W: AsyncWrite + Unpin>(
        &mut self,
        io: &mut W,
        c: &mut Core,
        cx: &mut Context<'_>,
    ) -> Poll<WriteEnd> {
        // Yield after a few writes so one fast connection does not starve
        // the other tasks of its arbiter.
        let mut budget = 32;
        loop {
            budget -= 1;
            if budget == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if c.write_state == WriteState::Abort {
                return Poll::Ready(WriteEnd::Aborted);
            }
            if c.wbuf.len() < c.limits.max_write_buffer {
                pull(c);
            }
            if c.wbuf.is_empty() {
                let finishing = c.write_state == WriteState::Shutdown || c.proto.is_finished();
                if self.unflushed {
                    match Pin::new(&mut *io).poll_flush(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => return self.end(c, Err(io_reason(&e))),
                        Poll::Ready(Ok(())) => self.unflushed = false,
                    }
                }
                if !finishing {
                    return Poll::Pending;
                }
                return match Pin::new(&mut *io).poll_shutdown(cx) {
                    Poll::Pending => Poll::Pending,
                    // A peer that already closed makes shutdown fail: the
                    // bytes are out, which is what matters here.
                    Poll::Ready(_) => self.end(c, Ok(())),
                };
            }
            let r = if self.vectored && c.wbuf.segments() > 1 {
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let n = c.wbuf.chunks_vectored(&mut slices);
                Pin::new(&mut *io).poll_write_vectored(cx, &slices[..n])
            } else {
                Pin::new(&mut *io).poll_write(cx, c.wbuf.chunk())
            };
            match r {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => return self.end(c, Err("write returned 0".into())),
                Poll::Ready(Ok(n)) => {
                    if let Some(s) = &c.stats {
                        s.bytes_out(n);
                    }
                    c.wbuf.advance(n);
                    give_back_if_empty(c);
                    self.unflushed = true;
                }
                Poll::Ready(Err(e)) => return self.end(c, Err(io_reason(&e))),
            }
        }
    }

    fn end(&mut self, c: &mut Core, r: Result<(), String>) -> Poll<WriteEnd> {
        c.write_state = WriteState::Abort;
        Poll::Ready(WriteEnd::Done(r))
    }
}
