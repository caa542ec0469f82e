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

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Buf;
use tokio::io::AsyncWrite;

use super::core::{CoreRef, WriteState};

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
                c.pull_transmit();
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
