//! The writer: a task that owns the write half of the transport and drains
//! the connection's coalescing buffer.
//!
//! Why not actix's `FramedWrite`: on tokio sockets it never sees
//! `WouldBlock` and buffers without bound, and it drops buffered bytes when
//! the actor stops right after `close()`. This writer:
//! - runs once per wake-up, after the actors that woke it have finished
//!   their turn, so every frame produced in that turn goes out in one
//!   `write` (no syscall per frame);
//! - pulls from `proto::Connection::poll_transmit` only while the buffer is
//!   under `max_write_buffer`: when the peer stops reading, the socket
//!   returns `Pending`, the buffer stays full, DATA stays queued in the
//!   protocol and `SendData` replies stay pending (backpressure, bounded
//!   memory);
//! - on `WriteState::Shutdown` (or once the protocol is finished) writes
//!   everything left, the final GOAWAY included, shuts the write half down
//!   and only then tells the actor, which stops.
//!
//! The write buffer exists only while there is something in it: [`pull`]
//! takes one from the thread's pool when the protocol has frames to write,
//! and gives it back as soon as it is empty again (see [`super::bufpool`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Buf;
use tokio::io::AsyncWrite;

use super::bufpool;
use super::core::{Core, CoreRef, WriteState};

/// Pulls frames from the protocol into the write buffer (up to
/// `max_write_buffer`), with a buffer from the thread's pool while there is
/// something to write; an empty write buffer is given back at once.
///
/// When the protocol holds control frames or field blocks and the write
/// buffer is empty, `poll_transmit` swaps its own buffer in instead of
/// copying: then no pooled buffer is taken, so the protocol never keeps one.
pub(crate) fn pull(c: &mut Core) {
    if c.wbuf.capacity() == 0 && !c.proto.has_pending_control() && c.proto.wants_transmit() {
        c.wbuf = bufpool::take_write();
    }
    c.pull_transmit();
    give_back_if_empty(c);
}

/// Gives the write buffer back to the pool if it is empty.
fn give_back_if_empty(c: &mut Core) {
    if c.wbuf.is_empty() && c.wbuf.capacity() > 0 {
        bufpool::give_write(std::mem::take(&mut c.wbuf));
    }
}

/// Sent by the writer to its connection actor when it is done.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub(crate) struct WriterDone(pub Result<(), String>);

pub(crate) struct Writer<W> {
    io: W,
    core: CoreRef,
    /// Bytes written since the last flush.
    unflushed: bool,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    pub fn new(io: W, core: CoreRef) -> Self {
        Writer {
            io,
            core,
            unflushed: false,
        }
    }

    fn finish(&self, r: Result<(), String>) -> Poll<()> {
        let conn = {
            let mut c = self.core.borrow_mut();
            c.writer_waker = None;
            c.write_state = WriteState::Abort;
            c.conn.clone()
        };
        if let Some(addr) = conn.and_then(|w| w.upgrade()) {
            addr.do_send(WriterDone(r));
        }
        Poll::Ready(())
    }
}

impl<W: AsyncWrite + Unpin> Future for Writer<W> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // Yield after a few writes so one fast connection does not starve
        // the other tasks of its arbiter.
        let mut budget = 32;
        loop {
            budget -= 1;
            if budget == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let mut c = this.core.borrow_mut();
            match &c.writer_waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => c.writer_waker = Some(cx.waker().clone()),
            }
            if c.write_state == WriteState::Abort {
                c.writer_waker = None;
                return Poll::Ready(());
            }
            if c.wbuf.len() < c.limits.max_write_buffer {
                pull(&mut c);
            }
            if c.wbuf.is_empty() {
                let finishing = c.write_state == WriteState::Shutdown || c.proto.is_finished();
                drop(c);
                if this.unflushed {
                    match Pin::new(&mut this.io).poll_flush(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => return this.finish(Err(e.to_string())),
                        Poll::Ready(Ok(())) => this.unflushed = false,
                    }
                }
                if !finishing {
                    return Poll::Pending;
                }
                return match Pin::new(&mut this.io).poll_shutdown(cx) {
                    Poll::Pending => Poll::Pending,
                    // A peer that already closed makes shutdown fail: the
                    // bytes are out, which is what matters here.
                    Poll::Ready(_) => this.finish(Ok(())),
                };
            }
            let r = Pin::new(&mut this.io).poll_write(cx, &c.wbuf);
            match r {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => {
                    drop(c);
                    return this.finish(Err("write returned 0".into()));
                }
                Poll::Ready(Ok(n)) => {
                    if let Some(s) = &c.stats {
                        s.bytes_out(n);
                    }
                    c.wbuf.advance(n);
                    give_back_if_empty(&mut c);
                    this.unflushed = true;
                }
                Poll::Ready(Err(e)) => {
                    drop(c);
                    return this.finish(Err(e.to_string()));
                }
            }
        }
    }
}
