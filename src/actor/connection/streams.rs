//! The work of a stream's messages: what an [`H2Stream`] handle sends
//! arrives here, wrapped in an [`OnStream`], through the connection's
//! mailbox (one FIFO: a stream's messages are handled in the order they
//! were sent), and acts on the stream's entry in the core.
//!
//! A panic in that work resets the stream it was for (INTERNAL_ERROR) and
//! answers its message with `Error::Reset(INTERNAL_ERROR)`; the connection
//! and its other streams go on.

use std::panic::{catch_unwind, AssertUnwindSafe};

use actix::prelude::*;

use super::super::core::{Core, ReplyNow};
use super::super::messages::*;
use super::super::stream::{HandlesDropped, Key, OnStream};
use super::super::stream_io::Attach;
use super::Connection;
use crate::frame::{ErrorCode, StreamId};
use crate::proto::{Head, UserError};
use actix::dev::OneshotSender;

/// The id a handle names now, or why no action can be taken on it.
fn resolve(key: &Key) -> Result<StreamId, Error> {
    match key {
        Key::Id(id) => Ok(*id),
        Key::Tracked(t) => {
            let st = t.lock();
            match (st.abandoned, st.id) {
                (Some(code), _) => Err(Error::Reset(code)),
                (None, Some(id)) => Ok(id),
                (None, None) => Err(Error::User(UserError::InvalidState {
                    id: StreamId::ZERO,
                    state: "idle (send the stream's HEADERS first)",
                })),
            }
        }
    }
}

/// A client stream from `OpenStream` that has not sent its HEADERS.
fn is_reserved(key: &Key) -> bool {
    match key {
        Key::Id(_) => false,
        Key::Tracked(t) => t.lock().reserved,
    }
}

impl Connection {
    /// Runs `f` on the core for the stream `key` names. A panic in `f`
    /// resets that stream (see the module docs).
    fn on_stream<R>(
        &mut self,
        key: &Key,
        f: impl FnOnce(&mut Core, StreamId) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let id = resolve(key)?;
        match catch_unwind(AssertUnwindSafe(|| f(self.turn(), id))) {
            Ok(r) => r,
            Err(_) => {
                let c = &mut self.core;
                crate::log_limit::limited!(error, conn = %c.id, stream = %id, "panic in the work for a stream: resetting it (INTERNAL_ERROR)");
                c.stream_abandoned(id, true);
                Err(Error::Reset(ErrorCode::INTERNAL_ERROR))
            }
        }
    }

    /// Sends the head: the first HEADERS of a reserved client stream open
    /// it (and assign its id), later ones go on the stream.
    fn head(&mut self, key: &Key, head: Head, end_stream: bool) -> Result<StreamId, Error> {
        if is_reserved(key) {
            let c = self.turn();
            let Some(link) = c.link.clone() else {
                return Err(Error::ConnectionClosed);
            };
            let stream = super::super::H2Stream::new(link, key.clone());
            return c.open_reserved(stream, head, end_stream);
        }
        self.on_stream(key, |c, id| {
            c.send_headers(id, head, end_stream).map(|()| id)
        })
    }

    /// Answers an action on the stream `key` names: at once, or (for a
    /// `SendData` whose bytes are not written yet) once they are, through
    /// the stream's pending sends. A refused action nobody awaits
    /// (`do_send`) resets the stream (see `Core::unheard`).
    fn answer(
        &mut self,
        key: &Key,
        tx: Option<OneshotSender<Result<(), Error>>>,
        r: Result<ReplyNow<()>, Error>,
    ) {
        let r = match r {
            Ok(ReplyNow::Later(slot)) => {
                if let Some(tx) = tx {
                    self.turn().fill_unit(slot, tx);
                }
                return;
            }
            Ok(ReplyNow::Now(r)) => r,
            Err(e) => Err(e),
        };
        match (tx, r) {
            (Some(tx), r) => {
                let _ = tx.send(r);
            }
            (None, Ok(())) => {}
            (None, Err(e)) => {
                if let Ok(id) = resolve(key) {
                    self.turn().unheard(id, &e);
                }
            }
        }
    }
}

impl Handler<OnStream<SendHeaders>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<SendHeaders>, _: &mut Self::Context) {
        let r = self.head(&m.key, m.msg.head, m.msg.end_stream);
        self.answer(&m.key, m.reply, r.map(|_| ReplyNow::Now(Ok(()))));
    }
}

impl Handler<OnStream<SendData>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<SendData>, _: &mut Self::Context) {
        let SendData { data, end_stream } = m.msg;
        let r = self.on_stream(&m.key, |c, id| Ok(c.send_data(id, data, end_stream)));
        self.answer(&m.key, m.reply, r);
    }
}

impl Handler<OnStream<SendMessage>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<SendMessage>, _: &mut Self::Context) {
        let OnStream {
            key,
            mut msg,
            reply,
        } = m;
        if !is_reserved(&key) {
            let r = self.on_stream(&key, |c, id| c.send_message(id, &mut msg));
            return self.answer(&key, reply, r);
        }
        // A client stream's first message: the head opens it.
        // Its priority goes out in its `priority` header (`prepare`), and
        // schedules its body here.
        let headers_end = msg.prepare_in_head();
        if let Err(e) = self.head(&key, msg.head, headers_end) {
            return self.answer(&key, reply, Err(e));
        }
        let (priority, body, trailers) = (msg.priority, msg.body, msg.trailers);
        let r = self.on_stream(&key, |c, id| {
            if let Some(p) = priority {
                c.proto.set_priority(id, p);
            }
            c.send_rest(id, body, trailers)
        });
        self.answer(&key, reply, r)
    }
}

impl Handler<OnStream<SendTrailers>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<SendTrailers>, _: &mut Self::Context) {
        let trailers = m.msg.trailers;
        let r = self.on_stream(&m.key, |c, id| Ok(c.send_trailers(id, trailers)));
        self.answer(&m.key, m.reply, r);
    }
}

impl Handler<OnStream<Promise>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<Promise>, _: &mut Self::Context) {
        let request = m.msg.request;
        let r = self.on_stream(&m.key, |c, id| {
            c.push_promise(id, request, true).map(|(_, stream)| stream)
        });
        OnStream::<Promise>::answer(m.reply, r);
    }
}

impl Handler<OnStream<Reset>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<Reset>, _: &mut Self::Context) {
        // Nothing to report but that it was handled, which it is by the
        // end of this call (nothing runs in between).
        OnStream::<Reset>::answer(m.reply, ());
        let code = m.msg.code;
        if let Key::Tracked(t) = &m.key {
            let mut st = t.lock();
            if st.reserved {
                // Given up before its HEADERS: its slot frees, and every
                // later action on it fails with this code.
                st.reserved = false;
                st.abandoned = Some(code);
                drop(st);
                self.turn().unreserve();
                return;
            }
        }
        let _ = self.on_stream(&m.key, |c, id| {
            c.reset_stream(id, code, true);
            Ok(())
        });
    }
}

impl Handler<OnStream<UpdatePriority>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<UpdatePriority>, _: &mut Self::Context) {
        let p = m.msg.0;
        let r = self.on_stream(&m.key, |c, id| c.update_priority(id, p));
        OnStream::<UpdatePriority>::answer(m.reply, r);
    }
}

impl Handler<OnStream<ReleaseCapacity>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<ReleaseCapacity>, _: &mut Self::Context) {
        OnStream::<ReleaseCapacity>::answer(m.reply, ());
        let n = m.msg.n;
        let _ = self.on_stream(&m.key, |c, id| {
            c.release(id, n);
            Ok(())
        });
    }
}

impl Handler<OnStream<GetStreamId>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<GetStreamId>, _: &mut Self::Context) {
        OnStream::<GetStreamId>::answer(m.reply, resolve(&m.key).ok());
    }
}

impl Handler<OnStream<Subscribe>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<Subscribe>, _: &mut Self::Context) {
        OnStream::<Subscribe>::answer(m.reply, ());
        let sub = m.msg.0;
        if let Key::Tracked(t) = &m.key {
            let mut st = t.lock();
            if st.id.is_none() {
                st.subscriber = Some(sub);
                return;
            }
        }
        let _ = self.on_stream(&m.key, |c, id| {
            c.set_stream_subscriber(id, sub);
            Ok(())
        });
    }
}

impl Handler<OnStream<Attach>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<Attach>, ctx: &mut Self::Context) {
        let auto = self.core.auto_release;
        let sub = OnStream {
            key: m.key,
            msg: Subscribe(m.msg.0),
            reply: None,
        };
        <Self as Handler<OnStream<Subscribe>>>::handle(self, sub, ctx);
        OnStream::<Attach>::answer(m.reply, Ok(auto));
    }
}

impl Handler<HandlesDropped> for Connection {
    type Result = ();
    fn handle(&mut self, m: HandlesDropped, _: &mut Self::Context) {
        let c = self.turn();
        match m {
            HandlesDropped::Unreserve => c.unreserve(),
            HandlesDropped::Stream(id) => c.stream_abandoned(id, false),
        }
    }
}

#[cfg(feature = "test-hooks")]
impl Handler<OnStream<super::super::stream::PanicForTest>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<super::super::stream::PanicForTest>, _: &mut Self::Context) {
        OnStream::<super::super::stream::PanicForTest>::answer(m.reply, ());
        let conn = self.core.id;
        let _ = self.on_stream(&m.key, |_, id| -> Result<(), Error> {
            panic!("{conn} stream {id}: PanicForTest")
        });
    }
}
