//! `Reply`: the response type of messages that may complete later
//! (`SendData`, `SendTrailers`, `OpenStream`, `SendRequest`, `Ping`).
//!
//! Instead of a future per message (actix's `ResponseFuture` spawns a task
//! even for `do_send`), the handler either answers at once or parks the
//! message's own reply sender in the connection's queue (the FIFO of pending
//! sends of a stream, the `OpenStream` queue, the pending pings), where the
//! connection completes it. A `do_send` costs no task and no allocation.

use std::time::Duration;

use actix::dev::{MessageResponse, OneshotSender};
use actix::Context;

use super::core::{CoreRef, Later, ReplyNow, WeakCore};
use super::messages::*;
use super::stream::OnStream;
use super::{Connection, H2Stream};
use std::rc::Rc;

use crate::frame::StreamId;
use crate::proto::UserError;

/// The reply of a message that may complete later (see the module docs).
pub struct Reply<T> {
    core: WeakCore,
    inner: ReplyNow<T>,
    /// The stream to reset when the action failed and nobody listens for the
    /// reply (`do_send`): otherwise the stream would stay open for ever.
    stream: Option<StreamId>,
}

impl<T> Reply<T> {
    pub(crate) fn new(core: &CoreRef, inner: ReplyNow<T>) -> Self {
        Reply {
            core: Rc::downgrade(core),
            inner,
            stream: None,
        }
    }
    pub(crate) fn weak(core: WeakCore, inner: ReplyNow<T>) -> Self {
        Reply {
            core,
            inner,
            stream: None,
        }
    }
    pub(crate) fn now(r: Result<T, Error>) -> Self {
        Reply {
            core: WeakCore::new(),
            inner: ReplyNow::Now(r),
            stream: None,
        }
    }
    /// The reply of an action on stream `id` (see the `stream` field).
    pub(crate) fn on_stream(mut self, core: &WeakCore, id: StreamId) -> Self {
        if self.core.upgrade().is_none() {
            self.core = core.clone();
        }
        self.stream = Some(id);
        self
    }
    /// Nobody awaits this reply (`do_send`). A refused stream action would
    /// otherwise go unseen and leave the stream open until the peer gives
    /// up, so the stream is reset with INTERNAL_ERROR (RFC 9113 §5.4.2).
    fn unheard(self) {
        let (ReplyNow::Now(Err(err)), Some(id)) = (&self.inner, self.stream) else {
            return;
        };
        if matches!(
            err,
            Error::ConnectionClosed | Error::Reset(_) | Error::User(UserError::UnknownStream(_))
        ) {
            return; // the stream is over already
        }
        if let Some(core) = self.core.upgrade() {
            core.run_or_defer(Later::Unheard { id });
        }
    }
}

macro_rules! reply_for {
    ($actor:ty, $msg:ty, $t:ty, |$core:ident, $slot:ident, $tx:ident| $fill:expr) => {
        impl MessageResponse<$actor, $msg> for Reply<$t> {
            fn handle(self, _: &mut Context<$actor>, tx: Option<OneshotSender<Result<$t, Error>>>) {
                let Some($tx) = tx else {
                    self.unheard();
                    return;
                };
                match self.inner {
                    ReplyNow::Now(r) => {
                        let _ = $tx.send(r);
                    }
                    ReplyNow::Later($slot) => match self.core.upgrade() {
                        Some(core) => {
                            let $core = &mut *core.borrow_mut();
                            $fill
                        }
                        None => {
                            let _ = $tx.send(Err(Error::ConnectionClosed));
                        }
                    },
                }
            }
        }
    };
}

reply_for!(Connection, OnStream<SendHeaders>, (), |core, slot, tx| core
    .fill_unit(slot, tx));
reply_for!(Connection, OnStream<SendData>, (), |core, slot, tx| core
    .fill_unit(slot, tx));
reply_for!(Connection, OnStream<SendTrailers>, (), |core, slot, tx| {
    core.fill_unit(slot, tx)
});
reply_for!(Connection, OnStream<SendMessage>, (), |core, slot, tx| core
    .fill_unit(slot, tx));
reply_for!(Connection, OpenStream, H2Stream, |core, slot, tx| {
    let _ = slot;
    core.fill_open(tx)
});
reply_for!(Connection, SendRequest, H2Stream, |core, slot, tx| {
    let _ = slot;
    core.fill_open(tx)
});
reply_for!(Connection, Ping, Duration, |core, slot, tx| {
    let _ = slot;
    core.fill_ping(tx)
});
