//! The connection's driver: one hand-written `ActorFuture` in the actor's
//! context that owns the whole transport (no split halves, no lock between
//! them). Each poll reads and decodes frames and hands them to the
//! protocol, then writes what the turn produced ([`WriteSide`]); actix
//! polls it after the actor's mailbox, so the stream messages handled in
//! the same turn are in that one write (see the module docs of
//! `connection` and of `writer`).

use super::*;
use crate::actor::writer::{WriteEnd, WriteSide};
use futures::stream::StreamExt;

/// The transport and both of its sides (see the module docs).
pub(super) struct Driver<IO> {
    pub(super) io: IO,
    pub(super) buf: BytesMut,
    pub(super) codec: FrameCodec,
    /// After a connection error: read and discard until EOF.
    pub(super) draining: bool,
    /// Server after the h2c upgrade: the request of stream 1, delivered
    /// once the client's first frame (its SETTINGS, after the preface) is
    /// in. Before that the client is still reading HTTP/1.1: curl 7.88
    /// fails ("connection buffer size is too small to store data following
    /// HTTP Upgrade response header") when more than 32 KiB arrive with
    /// the 101, which an early response to stream 1 would send.
    /// Boxed: rare, and ~250 bytes inline in every connection's driver.
    pub(super) upgrade_request: Option<Box<UpgradeRequest>>,
    /// The read side ended (EOF or a transport error).
    pub(super) read_done: bool,
    /// The write side; `None` once it ended.
    pub(super) write: Option<WriteSide>,
}

/// The h2c upgrade request and its body (see `Driver::upgrade_request`).
pub(super) type UpgradeRequest = (http::Request<()>, Bytes);

/// How a read phase ended.
enum ReadStep {
    /// The socket has nothing more now (it wakes the task).
    Pending,
    /// A turn's worth of frames was handled: yield, and come back.
    Yield,
    /// The read side is over.
    Done,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> ActorFuture<Connection> for Driver<IO> {
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut Connection,
        ctx: &mut Context<Connection>,
        task: &mut std::task::Context<'_>,
    ) -> Poll<()> {
        let this = self.get_mut();
        // Whatever the read phase produces, the write phase below sends.
        act.core.set_flush_due(true);
        match &act.core.task_waker {
            Some(w) if w.will_wake(task.waker()) => {}
            _ => {
                act.core.task_waker = Some(task.waker().clone());
                if let Some(q) = &act.core.session {
                    q.set_conn_waker(task.waker());
                }
            }
        }
        // A client's requests (through its event queue; see `Client`).
        if act.core.session.is_some() {
            act.core.take_client_requests();
        }
        let mut again = false;
        if !this.read_done {
            match this.read(act, ctx, task) {
                ReadStep::Pending => {}
                ReadStep::Yield => again = true,
                ReadStep::Done => this.read_done = true,
            }
        }
        poll_handled(act, task);
        if let Some(w) = &mut this.write {
            let end = w.poll(&mut this.io, &mut act.core, task);
            act.core.set_flush_due(false);
            // Waits added by the write phase: polled once, so that they
            // wake the task when their `RecvData` is handled.
            if act.core.handled.as_ref().is_some_and(|h| !h.is_empty()) {
                poll_handled(act, task);
            }
            if let Poll::Ready(end) = end {
                this.write = None;
                if let WriteEnd::Done(r) = end {
                    act.writer_done(r, ctx);
                }
            }
        }
        if this.read_done && this.write.is_none() {
            return Poll::Ready(());
        }
        if again {
            task.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

/// Polls the waits for `RecvData` with subscribers (`Core::handled`):
/// each one handled gives its bytes back and lets its stream's next
/// notifications go (`Core::data_handled`, which may add waits).
fn poll_handled(act: &mut Connection, task: &mut std::task::Context<'_>) {
    while let Some(Poll::Ready(Some((backlog, n, ok)))) =
        act.core.handled.as_mut().map(|h| h.poll_next_unpin(task))
    {
        act.core.data_handled(backlog, n, ok);
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Driver<IO> {
    /// The read phase: up to `FRAMES_PER_TURN` frames.
    fn read(
        &mut self,
        act: &mut Connection,
        ctx: &mut Context<Connection>,
        task: &mut std::task::Context<'_>,
    ) -> ReadStep {
        let this = self;
        let mut frames = 0;
        // `frames` when the timer was last re-armed in this turn.
        let mut armed_after = 0;
        loop {
            if this.draining || act.lingering {
                this.buf.clear();
            } else {
                let max = act.core.proto.local_max_frame_size();
                this.codec.set_max_frame_size(max);
                // Nothing to decode in an empty buffer (and the codec would
                // allocate one to wait for a frame header).
                let decoded = if this.buf.is_empty() {
                    Ok(None)
                } else {
                    this.codec.decode(&mut this.buf)
                };
                let result = match decoded {
                    Ok(Some(item)) => {
                        let c = &mut act.core;
                        let r = match item {
                            Ok(frame) => {
                                if let Some(s) = &mut c.stats {
                                    s.frame_in(&frame);
                                }
                                let now = c.now();
                                let r = c.proto.recv_frame(frame, now);
                                if let Some(b) = this.upgrade_request.take() {
                                    let (req, body) = *b;
                                    c.deliver_upgrade_request(req, body);
                                }
                                r
                            }
                            Err(malformed) => {
                                let now = c.now();
                                c.proto.recv_malformed(malformed, now)
                            }
                        };
                        // Control frames the peer asked for (PING and
                        // SETTINGS ACKs, RST_STREAMs) go to the write buffer
                        // as they appear while it has room: the protocol's
                        // flood limits (§10.5) count answers that cannot be
                        // written, not a burst read in one turn.
                        if c.proto.has_pending_control() && c.wbuf.len() < c.limits.max_write_buffer
                        {
                            super::super::writer::pull(c);
                        }
                        c.kick();
                        Some(r)
                    }
                    Ok(None) => None,
                    Err(CodecError::Frame(e)) => {
                        let c = &mut act.core;
                        let now = c.now();
                        let r = c.proto.recv_malformed(e.clone(), now);
                        c.kick();
                        // A connection-scoped malformation always ends the
                        // connection, whatever the protocol answered.
                        Some(r.and(Err(ConnectionError {
                            code: e.code(),
                            reason: e.to_string(),
                            remote: false,
                        })))
                    }
                    Err(CodecError::Io(e)) => {
                        act.reading = false;
                        act.on_io_error(io_reason(&e), ctx);
                        return ReadStep::Done;
                    }
                };
                match result {
                    Some(Ok(())) => {
                        frames += 1;
                        if frames >= FRAMES_PER_TURN {
                            act.arm_timer(ctx);
                            return ReadStep::Yield;
                        }
                        continue;
                    }
                    Some(Err(e)) => {
                        act.connection_error(e, ctx);
                        this.draining = true;
                        continue;
                    }
                    // Frames received may have moved a deadline (keepalive,
                    // idle, handshake); a turn that received none changed
                    // nothing the timers read from the peer side, and the
                    // core wakes the timer watch itself when a user action
                    // or the writer moves one earlier. Re-arming
                    // on every poll cost ~1,000 instructions per request at
                    // c256 (four polls of this task per request).
                    None if frames > armed_after => {
                        armed_after = frames;
                        act.arm_timer(ctx);
                    }
                    None => {}
                }
            }
            if this.buf.capacity() - this.buf.len() < READ_RESERVE {
                if this.buf.is_empty() {
                    // No partial frame to keep: a pooled buffer (see
                    // `bufpool`); the old one, if any, still backs frames
                    // handed on and goes with the last of them.
                    this.buf = bufpool::take_read();
                } else {
                    this.buf.reserve(READ_RESERVE);
                }
            }
            match tokio_util::io::poll_read_buf(Pin::new(&mut this.io), task, &mut this.buf) {
                Poll::Pending => {
                    // Quiet: hold no buffer until the socket is readable
                    // again (a partial frame keeps its buffer).
                    if this.buf.is_empty() {
                        bufpool::give_read(std::mem::take(&mut this.buf));
                        // Nor the protocol's SETTINGS/PING queues.
                        act.core.proto.release_idle_memory();
                    }
                    return ReadStep::Pending;
                }
                Poll::Ready(Ok(0)) => {
                    act.reading = false;
                    if act.lingering {
                        ctx.stop();
                    } else if !this.draining {
                        act.on_eof(ctx);
                    }
                    return ReadStep::Done;
                }
                Poll::Ready(Ok(n)) => {
                    act.core.fresh_clock();
                    if let Some(s) = &act.core.stats {
                        s.bytes_in(n);
                    }
                }
                Poll::Ready(Err(e)) => {
                    act.reading = false;
                    if act.lingering {
                        ctx.stop();
                    } else if !this.draining {
                        act.on_io_error(io_reason(&e), ctx);
                    }
                    return ReadStep::Done;
                }
            }
        }
    }
}

// ------------------------------------------------------------------ handlers
