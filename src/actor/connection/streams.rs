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

use super::super::core::Core;
use super::super::messages::*;
use super::super::reply::Reply;
use super::super::stream::{HandlesDropped, Key, OnStream};
use super::super::stream_io::Attach;
use super::Connection;
use crate::frame::{ErrorCode, StreamId};
use crate::proto::{Head, UserError};

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
        let core = self.core.clone();
        match catch_unwind(AssertUnwindSafe(|| f(&mut self.turn(), id))) {
            Ok(r) => r,
            Err(_) => {
                let mut c = core.borrow_mut();
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
            let mut c = self.turn();
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

    /// The reply of an action on the stream `key` names.
    fn reply_for(&self, key: &Key, r: Result<Reply<()>, Error>) -> Reply<()> {
        let reply = r.unwrap_or_else(|e| Reply::now(Err(e)));
        match resolve(key) {
            Ok(id) => reply.on_stream(&std::rc::Rc::downgrade(&self.core), id),
            Err(_) => reply,
        }
    }
}

impl Handler<OnStream<SendHeaders>> for Connection {
    type Result = Reply<()>;
    fn handle(&mut self, m: OnStream<SendHeaders>, _: &mut Self::Context) -> Self::Result {
        let r = self.head(&m.key, m.msg.head, m.msg.end_stream);
        self.reply_for(&m.key, r.map(|_| Reply::now(Ok(()))))
    }
}

impl Handler<OnStream<SendData>> for Connection {
    type Result = Reply<()>;
    fn handle(&mut self, m: OnStream<SendData>, _: &mut Self::Context) -> Self::Result {
        let weak = std::rc::Rc::downgrade(&self.core);
        let SendData { data, end_stream } = m.msg;
        let r = self.on_stream(&m.key, |c, id| {
            Ok(Reply::weak(weak, c.send_data(id, data, end_stream)))
        });
        self.reply_for(&m.key, r)
    }
}

impl Handler<OnStream<SendMessage>> for Connection {
    type Result = Reply<()>;
    fn handle(&mut self, m: OnStream<SendMessage>, _: &mut Self::Context) -> Self::Result {
        let weak = std::rc::Rc::downgrade(&self.core);
        let key = m.key;
        let mut msg = m.msg;
        if !is_reserved(&key) {
            let r = self.on_stream(&key, |c, id| {
                Ok(Reply::weak(weak, c.send_message(id, msg)?))
            });
            return self.reply_for(&key, r);
        }
        // A client stream's first message: the head opens it.
        // Its priority goes out in its `priority` header (`prepare`), and
        // schedules its body here.
        let headers_end = msg.prepare(false);
        if let Err(e) = self.head(&key, msg.head, headers_end) {
            return self.reply_for(&key, Err(e));
        }
        let (priority, body, trailers) = (msg.priority, msg.body, msg.trailers);
        let r = self.on_stream(&key, |c, id| {
            if let Some(p) = priority {
                c.proto.set_priority(id, p);
            }
            Ok(Reply::weak(weak, c.send_rest(id, body, trailers)?))
        });
        self.reply_for(&key, r)
    }
}

impl Handler<OnStream<SendTrailers>> for Connection {
    type Result = Reply<()>;
    fn handle(&mut self, m: OnStream<SendTrailers>, _: &mut Self::Context) -> Self::Result {
        let weak = std::rc::Rc::downgrade(&self.core);
        let trailers = m.msg.trailers;
        let r = self.on_stream(&m.key, |c, id| {
            Ok(Reply::weak(weak, c.send_trailers(id, trailers)))
        });
        self.reply_for(&m.key, r)
    }
}

impl Handler<OnStream<Promise>> for Connection {
    type Result = Result<super::super::H2Stream, Error>;
    fn handle(&mut self, m: OnStream<Promise>, _: &mut Self::Context) -> Self::Result {
        let request = m.msg.request;
        self.on_stream(&m.key, |c, id| {
            c.push_promise(id, request, true).map(|(_, stream)| stream)
        })
    }
}

impl Handler<OnStream<Reset>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<Reset>, _: &mut Self::Context) {
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
    type Result = Result<(), Error>;
    fn handle(&mut self, m: OnStream<UpdatePriority>, _: &mut Self::Context) -> Self::Result {
        let p = m.msg.0;
        self.on_stream(&m.key, |c, id| c.update_priority(id, p))
    }
}

impl Handler<OnStream<ReleaseCapacity>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<ReleaseCapacity>, _: &mut Self::Context) {
        let n = m.msg.n;
        let _ = self.on_stream(&m.key, |c, id| {
            c.release(id, n);
            Ok(())
        });
    }
}

impl Handler<OnStream<GetStreamId>> for Connection {
    type Result = Option<StreamId>;
    fn handle(&mut self, m: OnStream<GetStreamId>, _: &mut Self::Context) -> Option<StreamId> {
        resolve(&m.key).ok()
    }
}

impl Handler<OnStream<Subscribe>> for Connection {
    type Result = ();
    fn handle(&mut self, m: OnStream<Subscribe>, _: &mut Self::Context) {
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
    type Result = Result<bool, Error>;
    fn handle(&mut self, m: OnStream<Attach>, ctx: &mut Self::Context) -> Self::Result {
        let auto = self.core.borrow().auto_release;
        let sub = OnStream {
            key: m.key,
            msg: Subscribe(m.msg.0),
        };
        <Self as Handler<OnStream<Subscribe>>>::handle(self, sub, ctx);
        Ok(auto)
    }
}

impl Handler<HandlesDropped> for Connection {
    type Result = ();
    fn handle(&mut self, m: HandlesDropped, _: &mut Self::Context) {
        let mut c = self.turn();
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
        let conn = self.core.borrow().id;
        let _ = self.on_stream(&m.key, |_, id| -> Result<(), Error> {
            panic!("{conn} stream {id}: PanicForTest")
        });
    }
}
