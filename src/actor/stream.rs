//! The `Stream` child actor: one per HTTP/2 stream, started by its
//! [`super::Connection`] on the same arbiter (for a server when the request
//! HEADERS arrive, for a client on `OpenStream`, for a push on `Promise` /
//! PUSH_PROMISE).
//!
//! It acts on the connection's shared core directly (same thread), so a
//! `SendHeaders` or `SendData` costs one message, not two. It has no task of
//! its own: the connection's [`super::runner`] polls it. Its lifetime: the
//! connection holds its address while the stream is open (for a stream we
//! open, from its first HEADERS on) or while notifications for it are still
//! queued; once the stream is closed or reset and every holder of an
//! `Addr<Stream>` has dropped it, actix stops the actor. If it stops or dies (panic) while its stream is still open,
//! it resets that stream — CANCEL, or INTERNAL_ERROR after a panic in one
//! of its handlers — never the connection.
//!
//! `SendData` policy: a `SendData` is handed to the protocol at once when
//! the protocol's send buffer for the stream accepts it (always when
//! nothing of the stream is pending); otherwise it waits in a per-stream
//! queue of at most `Builder::max_queued_sends` actions (beyond it:
//! `SendError::QueueFull`). It resolves when `Event::DataSent` has covered
//! all its bytes, i.e. when they are inside the peer's window and in the
//! write buffer. `SendHeaders`, `Promise` and `Reset` resolve when the
//! protocol has accepted them (they are not flow-controlled).
//!
//! A refused action (`SendHeaders`, `SendData`, `SendMessage`,
//! `SendTrailers`) sent with `do_send` has nobody to report its error to:
//! the stream is then reset with INTERNAL_ERROR (RFC 9113 §5.4.2) rather
//! than left open until the peer gives up. Awaited with `send`, the error
//! is returned and the stream stays as it was.

use actix::prelude::*;

use super::core::{self, ReplyNow, WeakCore};
use super::messages::SendError;
use super::messages::*;
use super::reply::Reply;
use super::runner::{Spawner, SpawnerRef};
use crate::frame::StreamId;

/// One HTTP/2 stream as a child actor of its [`super::Connection`].
pub struct Stream {
    core: WeakCore,
    id: StreamId,
    /// Set while one of our handlers runs: if the actor is dropped with it
    /// set, a handler panicked (reset with INTERNAL_ERROR).
    busy: bool,
}

impl Actor for Stream {
    type Context = Context<Self>;
}

impl Stream {
    /// Builds the actor and hands it to the connection's runner (see
    /// [`super::runner`]): no task of its own.
    pub(crate) fn start_child(core: WeakCore, spawner: &SpawnerRef, id: StreamId) -> Addr<Stream> {
        let mut ctx = Context::new();
        // Unbounded mailbox: a user's `send()`s are then never parked and
        // re-ordered behind later `do_send`s. What it holds is bounded by
        // the per-stream queue limits.
        ctx.set_mailbox_capacity(0);
        core::stream_born();
        let fut = ctx.into_future(Stream {
            core,
            id,
            busy: false,
        });
        let addr = fut.address();
        Spawner::spawn(spawner, fut);
        addr
    }

    /// Stream actors alive on the current thread (each arbiter is one
    /// thread). Tests use it to check that no actor leaks per request.
    pub fn live_count() -> usize {
        core::live_streams()
    }

    fn with_core<R>(
        &mut self,
        closed: impl FnOnce() -> R,
        f: impl FnOnce(&mut core::Core, StreamId) -> R,
    ) -> R {
        let Some(core) = self.core.upgrade() else {
            return closed();
        };
        self.busy = true;
        let r = f(&mut core.borrow_mut(), self.id);
        self.busy = false;
        r
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        core::stream_died();
        if let Some(core) = self.core.upgrade() {
            if let Ok(mut c) = core.try_borrow_mut() {
                c.stream_actor_gone(self.id, self.busy);
            }
        }
    }
}

impl Handler<SendHeaders> for Stream {
    type Result = Reply<()>;
    fn handle(&mut self, msg: SendHeaders, _: &mut Self::Context) -> Self::Result {
        let (core, id) = (self.core.clone(), self.id);
        Reply::now(self.with_core(
            || Err(SendError::ConnectionClosed),
            |c, id| {
                let r = c.proto.send_headers(id, msg.head, msg.end_stream);
                if r.is_ok() {
                    c.headers_sent(id);
                }
                c.kick();
                r.map_err(Into::into)
            },
        ))
        .on_stream(&core, id)
    }
}

impl Handler<SendData> for Stream {
    type Result = Reply<()>;
    fn handle(&mut self, msg: SendData, _: &mut Self::Context) -> Self::Result {
        let (core, weak, id) = (self.core.clone(), self.core.clone(), self.id);
        self.with_core(
            || Reply::now(Err(SendError::ConnectionClosed)),
            |c, id| Reply::weak(core, c.send_data(id, msg.data, msg.end_stream)),
        )
        .on_stream(&weak, id)
    }
}

impl Handler<SendMessage> for Stream {
    type Result = Reply<()>;
    fn handle(&mut self, msg: SendMessage, _: &mut Self::Context) -> Self::Result {
        let (core, weak, id) = (self.core.clone(), self.core.clone(), self.id);
        self.with_core(
            || Reply::now(Err(SendError::ConnectionClosed)),
            |c, id| {
                let has_body = !msg.body.is_empty();
                let has_trailers = msg.trailers.is_some();
                if let Err(e) = c
                    .proto
                    .send_headers(id, msg.head, !has_body && !has_trailers)
                {
                    return Reply::now(Err(e.into()));
                }
                c.headers_sent(id);
                let mut reply = ReplyNow::Now(Ok(()));
                if has_body {
                    reply = c.send_data(id, msg.body, !has_trailers);
                    if let ReplyNow::Now(Err(e)) = reply {
                        return Reply::now(Err(e));
                    }
                }
                if let Some(trailers) = msg.trailers {
                    // Queued after the body (the stream's queue keeps order).
                    match c.send_trailers(id, trailers) {
                        ReplyNow::Now(Err(e)) => return Reply::now(Err(e)),
                        ReplyNow::Later(slot) if !has_body => reply = ReplyNow::Later(slot),
                        _ => {}
                    }
                }
                c.kick();
                Reply::weak(core, reply)
            },
        )
        .on_stream(&weak, id)
    }
}

impl Handler<SendTrailers> for Stream {
    type Result = Reply<()>;
    fn handle(&mut self, msg: SendTrailers, _: &mut Self::Context) -> Self::Result {
        let (core, weak, id) = (self.core.clone(), self.core.clone(), self.id);
        self.with_core(
            || Reply::now(Err(SendError::ConnectionClosed)),
            |c, id| Reply::weak(core, c.send_trailers(id, msg.trailers)),
        )
        .on_stream(&weak, id)
    }
}

impl Handler<Promise> for Stream {
    type Result = Result<OpenedStream, SendError>;
    fn handle(&mut self, msg: Promise, _: &mut Self::Context) -> Self::Result {
        self.with_core(
            || Err(SendError::ConnectionClosed),
            |c, id| c.push_promise(id, msg.request),
        )
    }
}

impl Handler<Reset> for Stream {
    type Result = ();
    fn handle(&mut self, msg: Reset, _: &mut Self::Context) {
        self.with_core(|| (), |c, id| c.user_reset(id, msg.code));
    }
}

impl Handler<ReleaseCapacity> for Stream {
    type Result = ();
    fn handle(&mut self, msg: ReleaseCapacity, _: &mut Self::Context) {
        self.with_core(|| (), |c, id| c.release(id, msg.n));
    }
}

impl Handler<Subscribe> for Stream {
    type Result = ();
    fn handle(&mut self, msg: Subscribe, _: &mut Self::Context) {
        self.with_core(|| (), |c, id| c.set_stream_subscriber(id, msg.0));
    }
}

/// Test hook: makes the stream actor panic inside a handler (to check that
/// its stream is reset with INTERNAL_ERROR and the connection goes on).
#[doc(hidden)]
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PanicForTest;

impl Handler<PanicForTest> for Stream {
    type Result = ();
    fn handle(&mut self, _: PanicForTest, _: &mut Self::Context) {
        self.with_core(|| (), |_, id| panic!("stream {id}: PanicForTest"));
    }
}
