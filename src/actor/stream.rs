//! The [`H2Stream`] child actor: one per HTTP/2 stream, started by its
//! [`Connection`](super::Connection) on the same arbiter (for a server when
//! the request HEADERS arrive, for a client on `OpenStream`/`SendRequest`,
//! for a push on `Promise` / PUSH_PROMISE).
//!
//! It acts on the connection's shared core directly (same thread), so a
//! `SendHeaders` or `SendData` costs one message, not two. It has no task of
//! its own: the connection's [`runner`](super::runner) polls it.
//!
//! Lifetime: the connection holds its address while the stream is open
//! (for a stream we open, from its first HEADERS on) or while notifications
//! for it are still queued; once the stream is closed or reset and every
//! holder of an `Addr<H2Stream>` has dropped it, actix stops the actor. If
//! it stops or dies (panic) while its stream is still open, it resets that
//! stream (CANCEL, or INTERNAL_ERROR after a panic in one of its handlers),
//! never the connection. A client stream from `OpenStream` has no id until
//! its first HEADERS: dropped before that, it only gives its slot back.
//!
//! `SendData` policy: a `SendData` is handed to the protocol at once when
//! the protocol's send buffer for the stream accepts it (always when
//! nothing of the stream is pending); otherwise it waits in a per-stream
//! queue of at most `Builder::max_queued_sends` actions (beyond it:
//! `Error::QueueFull`). It resolves when all its bytes are inside the
//! peer's window and in the write buffer. `SendHeaders`, `Promise` and
//! `Reset` resolve when the protocol has accepted them.
//!
//! A refused action (`SendHeaders`, `SendData`, `SendMessage`,
//! `SendTrailers`) sent with `do_send` has nobody to report its error to:
//! the stream is then reset with INTERNAL_ERROR (RFC 9113 §5.4.2) rather
//! than left open until the peer gives up. Awaited with `send`, the error
//! is returned and the stream stays as it was.

use actix::prelude::*;

use super::core::{self, Later, WeakCore};
use super::messages::*;
use super::reply::Reply;
use super::runner::{Spawner, SpawnerRef};
use crate::frame::{ErrorCode, StreamId};
use crate::proto::{Head, UserError};

/// One HTTP/2 stream as a child actor of its [`Connection`](super::Connection).
/// Send it [`SendHeaders`], [`SendData`], [`SendMessage`], [`SendTrailers`],
/// [`Promise`], [`Reset`], [`ReleaseCapacity`] or [`Subscribe`]. An
/// `Addr<H2Stream>` is `Eq + Hash`: a good key for per-stream state.
pub struct H2Stream {
    core: WeakCore,
    conn: ConnectionId,
    /// `None` for a client stream that has not sent its HEADERS yet.
    id: Option<StreamId>,
    /// Holds a slot of the peer's MAX_CONCURRENT_STREAMS without an id.
    reserved: bool,
    /// Given up (`Reset`) before its HEADERS: every action fails with this.
    abandoned: Option<ErrorCode>,
    /// The subscriber chosen at `OpenStream`, until the stream has an id.
    subscriber: Option<Box<Subscriber>>,
    /// Set while one of our handlers runs: if the actor is dropped with it
    /// set, a handler panicked (reset with INTERNAL_ERROR).
    busy: bool,
}

impl Actor for H2Stream {
    type Context = Context<Self>;
}

impl H2Stream {
    fn start(spawner: &SpawnerRef, this: H2Stream) -> Addr<H2Stream> {
        let mut ctx = Context::new();
        // Unbounded mailbox: a user's `send()`s are then never parked and
        // re-ordered behind later `do_send`s. What it holds is bounded by
        // the per-stream queue limits.
        ctx.set_mailbox_capacity(0);
        core::stream_born();
        let fut = ctx.into_future(this);
        let addr = fut.address();
        Spawner::spawn(spawner, fut);
        addr
    }

    /// A stream with an id (peer-opened, pushed, or opened with its head).
    pub(crate) fn start_child(
        core: WeakCore,
        spawner: &SpawnerRef,
        conn: ConnectionId,
        id: Option<StreamId>,
    ) -> Addr<H2Stream> {
        let this = H2Stream {
            core,
            conn,
            id,
            reserved: false,
            abandoned: None,
            subscriber: None,
            busy: false,
        };
        H2Stream::start(spawner, this)
    }

    /// A client stream holding a slot; its id comes with its first HEADERS.
    pub(crate) fn start_reserved(
        core: WeakCore,
        spawner: &SpawnerRef,
        conn: ConnectionId,
        subscriber: Option<Subscriber>,
    ) -> Addr<H2Stream> {
        let this = H2Stream {
            core,
            conn,
            id: None,
            reserved: true,
            abandoned: None,
            subscriber: subscriber.map(Box::new),
            busy: false,
        };
        H2Stream::start(spawner, this)
    }

    /// Stream actors alive on the current thread (each arbiter is one
    /// thread). Tests use it to check that no actor leaks per request.
    pub fn live_count() -> usize {
        core::live_streams()
    }

    /// Runs `f` on the core with this stream's id; `Err` when the stream
    /// has no id (yet, or any more) or the connection is gone.
    fn with_id<R>(
        &mut self,
        f: impl FnOnce(&mut core::Core, StreamId) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let id = match (self.id, self.abandoned) {
            (_, Some(code)) => return Err(Error::Reset(code)),
            (Some(id), None) => id,
            (None, None) => {
                return Err(Error::User(UserError::InvalidState {
                    id: StreamId::ZERO,
                    state: "idle (send the stream's HEADERS first)",
                }))
            }
        };
        let Some(core) = self.core.upgrade() else {
            return Err(Error::ConnectionClosed);
        };
        self.busy = true;
        let r = f(&mut core.borrow_mut(), id);
        self.busy = false;
        r
    }

    /// Sends the head: the first HEADERS of a reserved client stream open
    /// it (and assign its id), later ones go on the stream.
    fn head(
        &mut self,
        ctx: &mut Context<Self>,
        head: Head,
        end_stream: bool,
    ) -> Result<StreamId, Error> {
        if self.reserved {
            let Some(core) = self.core.upgrade() else {
                return Err(Error::ConnectionClosed);
            };
            let sub = self.subscriber.as_deref().cloned();
            let id = core
                .borrow_mut()
                .open_reserved(ctx.address(), sub, head, end_stream)?;
            self.reserved = false;
            self.subscriber = None;
            self.id = Some(id);
            return Ok(id);
        }
        self.with_id(|c, id| c.send_headers(id, head, end_stream).map(|()| id))
    }

    fn reply_for(&self, r: Result<Reply<()>, Error>) -> Reply<()> {
        let reply = r.unwrap_or_else(|e| Reply::now(Err(e)));
        match self.id {
            Some(id) => reply.on_stream(&self.core, id),
            None => reply,
        }
    }
}

impl Drop for H2Stream {
    fn drop(&mut self) {
        core::stream_died();
        tracing::trace!(conn = %self.conn, id = ?self.id, "stream actor dropped");
        let Some(core) = self.core.upgrade() else {
            return;
        };
        if self.reserved {
            core.run_or_defer(Later::Unreserve);
        } else if let Some(id) = self.id {
            core.run_or_defer(Later::StreamGone {
                id,
                panicked: self.busy,
            });
        }
    }
}

impl Handler<SendHeaders> for H2Stream {
    type Result = Reply<()>;
    fn handle(&mut self, msg: SendHeaders, ctx: &mut Self::Context) -> Self::Result {
        let r = self.head(ctx, msg.head, msg.end_stream);
        self.reply_for(r.map(|_| Reply::now(Ok(()))))
    }
}

impl Handler<SendData> for H2Stream {
    type Result = Reply<()>;
    fn handle(&mut self, msg: SendData, _: &mut Self::Context) -> Self::Result {
        let weak = self.core.clone();
        let r =
            self.with_id(|c, id| Ok(Reply::weak(weak, c.send_data(id, msg.data, msg.end_stream))));
        self.reply_for(r)
    }
}

impl Handler<SendMessage> for H2Stream {
    type Result = Reply<()>;
    fn handle(&mut self, msg: SendMessage, ctx: &mut Self::Context) -> Self::Result {
        let weak = self.core.clone();
        if !self.reserved {
            let r = self.with_id(|c, id| Ok(Reply::weak(weak, c.send_message(id, msg)?)));
            return self.reply_for(r);
        }
        // A client stream's first message: the head opens it.
        let mut msg = msg;
        let headers_end = msg.prepare(false);
        // Its priority is in its `priority` header now (`prepare`).
        let SendMessage {
            head,
            body,
            trailers,
            priority,
        } = msg;
        if let Err(e) = self.head(ctx, head, headers_end) {
            return self.reply_for(Err(e));
        }
        let r = self.with_id(|c, id| {
            if let Some(p) = priority {
                c.proto.set_priority(id, p);
            }
            Ok(Reply::weak(weak, c.send_rest(id, body, trailers)?))
        });
        self.reply_for(r)
    }
}

impl Handler<SendTrailers> for H2Stream {
    type Result = Reply<()>;
    fn handle(&mut self, msg: SendTrailers, _: &mut Self::Context) -> Self::Result {
        let weak = self.core.clone();
        let r = self.with_id(|c, id| Ok(Reply::weak(weak, c.send_trailers(id, msg.trailers))));
        self.reply_for(r)
    }
}

impl Handler<Promise> for H2Stream {
    type Result = Result<Addr<H2Stream>, Error>;
    fn handle(&mut self, msg: Promise, _: &mut Self::Context) -> Self::Result {
        self.with_id(|c, id| c.push_promise(id, msg.request).map(|(_, addr)| addr))
    }
}

impl Handler<Reset> for H2Stream {
    type Result = ();
    fn handle(&mut self, msg: Reset, _: &mut Self::Context) {
        if self.reserved {
            self.reserved = false;
            self.abandoned = Some(msg.code);
            if let Some(core) = self.core.upgrade() {
                core.borrow_mut().unreserve();
            }
            return;
        }
        let _ = self.with_id(|c, id| {
            c.reset_stream(id, msg.code, true);
            Ok(())
        });
    }
}

impl Handler<UpdatePriority> for H2Stream {
    type Result = Result<(), Error>;
    fn handle(&mut self, msg: UpdatePriority, _: &mut Self::Context) -> Self::Result {
        self.with_id(|c, id| c.update_priority(id, msg.0))
    }
}

impl Handler<ReleaseCapacity> for H2Stream {
    type Result = ();
    fn handle(&mut self, msg: ReleaseCapacity, _: &mut Self::Context) {
        let _ = self.with_id(|c, id| {
            c.release(id, msg.n);
            Ok(())
        });
    }
}

impl Handler<GetStreamId> for H2Stream {
    type Result = Option<StreamId>;
    fn handle(&mut self, _: GetStreamId, _: &mut Self::Context) -> Option<StreamId> {
        self.id
    }
}

impl Handler<Subscribe> for H2Stream {
    type Result = ();
    fn handle(&mut self, msg: Subscribe, _: &mut Self::Context) {
        if self.id.is_none() {
            self.subscriber = Some(Box::new(msg.0));
            return;
        }
        let _ = self.with_id(|c, id| {
            c.set_stream_subscriber(id, msg.0);
            Ok(())
        });
    }
}

impl Handler<super::stream_io::Attach> for H2Stream {
    type Result = Result<bool, Error>;
    fn handle(&mut self, msg: super::stream_io::Attach, ctx: &mut Self::Context) -> Self::Result {
        let auto = match self.core.upgrade() {
            Some(core) => core.borrow().auto_release,
            None => return Err(Error::ConnectionClosed),
        };
        <Self as Handler<Subscribe>>::handle(self, Subscribe(msg.0), ctx);
        Ok(auto)
    }
}

/// Test hook: makes the stream actor panic inside a handler (to check that
/// its stream is reset with INTERNAL_ERROR and the connection goes on).
#[cfg(feature = "test-hooks")]
#[doc(hidden)]
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PanicForTest;

#[cfg(feature = "test-hooks")]
impl Handler<PanicForTest> for H2Stream {
    type Result = ();
    fn handle(&mut self, _: PanicForTest, _: &mut Self::Context) {
        let conn = self.conn;
        let _ = self
            .with_id(|_, id| -> Result<(), Error> { panic!("{conn} stream {id}: PanicForTest") });
    }
}
