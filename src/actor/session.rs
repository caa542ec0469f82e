//! [`Session`]: HTTP2.jl's shape (`put_act!`, `take_evt!`) for code that is
//! not an actor, in the same vocabulary as the actors: `put_act` takes the
//! stream messages ([`SendHeaders`], [`SendData`], [`SendMessage`],
//! [`SendTrailers`], [`Promise`], [`Reset`]) with a stream id, and
//! `take_evt` returns the notifications as an [`Event`].
//!
//! A session is a handle on a [`Connection`] actor (every connection is an
//! actor) and talks to it as everything else does: its actions are
//! messages to the connection, answered in the connection's turn, and the
//! connection delivers events straight into the session's queue, on the
//! same thread, with no channel or extra task in between. The queue needs
//! no bound of its own: DATA counts against the receive windows until
//! `take_evt` returns it (a slow taker slows the peer), and every other
//! event is bounded by the stream limits.

use std::future::poll_fn;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};

use super::core::{Core, EventQueue, ReplyNow};
use super::messages::*;
use super::stream::{ConnLink, Key};
use super::{Builder, Connection, H2Stream};
use crate::frame::{ErrorCode, StreamId};
use crate::proto::{Role, UserError};

/// A stream action for [`Session::put_act`] (HTTP2.jl's `Act*`): the same
/// messages an [`H2Stream`] actor takes. Each converts with `into()`.
#[derive(Debug)]
pub enum Action {
    /// `ActSendHeaders`.
    SendHeaders(SendHeaders),
    /// `ActSendData`.
    SendData(SendData),
    /// Head, body and trailers at once.
    SendMessage(SendMessage),
    /// Trailers, ending the stream.
    SendTrailers(SendTrailers),
    /// `ActPromise`: server push.
    Promise(Promise),
    /// RST_STREAM.
    Reset(Reset),
}

macro_rules! action_from {
    ($($m:ident),*) => {$(
        impl From<$m> for Action {
            fn from(m: $m) -> Self {
                Action::$m(m)
            }
        }
    )*};
}
action_from!(
    SendHeaders,
    SendData,
    SendMessage,
    SendTrailers,
    Promise,
    Reset
);

/// The HTTP2.jl-shaped handle (see the module docs). Created inside an
/// actix system (`#[actix_rt::main]`, `System::new()`); not `Send`: it
/// lives on the connection's thread.
///
/// ```
/// use h2actor::prelude::*;
/// use h2actor::{Event, Session};
///
/// #[actix_rt::main]
/// async fn main() {
///     let (server_io, client_io) = tokio::io::duplex(64 * 1024);
///
///     // Server: answer each request with "hello world".
///     let mut server = Session::new(server_io, Connection::builder(Role::Server));
///     actix_rt::spawn(async move {
///         while let Some(evt) = server.take_evt().await {
///             if let Event::RecvHeaders(req) = evt {
///                 let answer = SendMessage::new(http::Response::new(())).body("hello world\n");
///                 server.put_act(req.id, answer).await.unwrap();
///             }
///         }
///     });
///
///     // Client: one GET (its id comes from `next_free_stream_identifier`).
///     let mut client = Session::new(client_io, Connection::builder(Role::Client));
///     let id = client.next_free_stream_identifier().await.unwrap();
///     let request = http::Request::get("http://localhost/").body(()).unwrap();
///     let head = SendHeaders { head: request.into(), end_stream: true };
///     client.put_act(id, head).await.unwrap();
///     let mut body = Vec::new();
///     while let Some(evt) = client.take_evt().await {
///         match evt {
///             Event::RecvHeaders(h) => println!("{:?}", h.head),
///             Event::RecvData(d) => {
///                 body.extend_from_slice(&d.data);
///                 if d.end_stream {
///                     break;
///                 }
///             }
///             _ => {}
///         }
///     }
///     assert_eq!(body, b"hello world\n");
/// }
/// ```
pub struct Session {
    conn: Addr<Connection>,
    link: Arc<ConnLink>,
    queue: Rc<EventQueue>,
    /// Client: the slot held for the next stream (see
    /// [`Session::next_free_stream_identifier`]).
    next: Option<H2Stream>,
}

impl Session {
    /// A session over `io` (any byte stream), configured and begun as
    /// `builder` says: `Session::new(io, Connection::builder(Role::Client))`,
    /// with [`Builder::config`] and every other option, an h2c upgrade
    /// included ([`Builder::upgraded`]). `auto_release` is ignored: a
    /// session gives DATA back when `take_evt` returns it.
    pub fn new<IO>(io: IO, builder: Builder) -> Session
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let queue = Rc::new(EventQueue::default());
        let (conn, link) =
            builder
                .auto_release(false)
                .start_with(io, Subscriber::none(), Some(queue.clone()));
        Session {
            conn,
            link,
            queue,
            next: None,
        }
    }

    /// The connection actor under this session.
    pub fn connection(&self) -> &Addr<Connection> {
        &self.conn
    }

    /// The connection's identity (as in every event).
    pub fn id(&self) -> ConnectionId {
        self.link.id
    }

    /// Asks the connection; its end is `ConnectionClosed`.
    async fn ask<M>(&self, msg: M) -> Result<M::Result, Error>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        Connection: Handler<M>,
    {
        self.conn
            .send(msg)
            .await
            .map_err(|_| Error::ConnectionClosed)
    }

    /// Client: the id the next new stream will use (HTTP2.jl
    /// `next_free_stream_identifier`): put its first `SendHeaders` (or
    /// `SendMessage`) on it. Waits while the peer's
    /// SETTINGS_MAX_CONCURRENT_STREAMS is reached, and holds that slot
    /// until the head is put; calling it again before that returns the same
    /// id.
    pub async fn next_free_stream_identifier(&mut self) -> Result<StreamId, Error> {
        if self.next.is_none() {
            let slot = self.ask(OpenStream { subscriber: None }).await??;
            self.next = Some(slot);
        }
        self.ask(NextStreamId).await
    }

    /// Does `action` on stream `id` (HTTP2.jl `put_act!`) and returns the
    /// id it applied to: `id` itself, or for a `Promise` the promised
    /// stream's id. A refused action comes back as `Err`, with the
    /// connection unaffected. `SendData` is taken whatever the peer's
    /// window (it waits inside the connection, up to
    /// `Builder::max_queued_sends` chunks per stream, then `QueueFull`);
    /// use [`Session::send_data`] to wait for the window instead.
    ///
    /// The action is a message to the connection: this resolves once the
    /// connection has taken it, in the order of the calls.
    pub async fn put_act(
        &mut self,
        id: StreamId,
        action: impl Into<Action>,
    ) -> Result<StreamId, Error> {
        let act = PutAct {
            id,
            action: action.into(),
            slot: self.next.take(),
        };
        let (r, slot) = self.ask(act).await?;
        if slot.is_some() {
            self.next = slot;
        }
        r
    }

    /// Sends body bytes and waits until they are inside the peer's
    /// flow-control window and in the write buffer (backpressure).
    pub async fn send_data(
        &mut self,
        id: StreamId,
        data: Bytes,
        end_stream: bool,
    ) -> Result<(), Error> {
        self.stream(id)
            .send(SendData { data, end_stream })
            .await
            .map_err(|_| Error::ConnectionClosed)?
    }

    /// Sends a PING and waits for its ACK: the round-trip time.
    pub async fn ping(&mut self) -> Result<Duration, Error> {
        self.ask(Ping).await?
    }

    /// The next event (HTTP2.jl `take_evt!`); `None` once the connection is
    /// closed and every event was taken (the last one is `Event::Closed`).
    /// Taking a `RecvData` gives its bytes back to the flow-control windows.
    pub async fn take_evt(&mut self) -> Option<Event> {
        let queue = self.queue.clone();
        let ev = poll_fn(|cx| queue.poll_pop(cx)).await?;
        if let Event::RecvData(d) = &ev {
            self.stream(d.id)
                .do_send(ReleaseCapacity { n: d.data.len() });
        }
        Some(ev)
    }

    /// Graceful close (HTTP2.jl `close`): GOAWAY(NO_ERROR), let the open
    /// streams finish, then close. `take_evt` ends with `Event::Closed`.
    pub fn close(&self) {
        self.conn.do_send(Close {
            code: ErrorCode::NO_ERROR,
        });
    }

    /// The handle of stream `id`.
    fn stream(&self, id: StreamId) -> H2Stream {
        H2Stream::new(self.link.clone(), Key::Id(id))
    }
}

/// The id the next new client stream will use.
#[derive(Debug, Message)]
#[rtype(result = "StreamId")]
struct NextStreamId;

impl Handler<NextStreamId> for Connection {
    type Result = MessageResult<NextStreamId>;
    fn handle(&mut self, _: NextStreamId, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.turn().proto.next_stream_id())
    }
}

/// `Session::put_act`: the action, and the slot held for a new client
/// stream (given back, second in the reply, when the action did not use
/// it).
struct PutAct {
    id: StreamId,
    action: Action,
    slot: Option<H2Stream>,
}

impl Message for PutAct {
    type Result = (Result<StreamId, Error>, Option<H2Stream>);
}

impl Handler<PutAct> for Connection {
    type Result = MessageResult<PutAct>;
    fn handle(&mut self, m: PutAct, _: &mut Self::Context) -> Self::Result {
        let PutAct { id, action, slot } = m;
        MessageResult(put_act(self.turn(), id, action, slot))
    }
}

/// The work of `Session::put_act`, on the connection's state.
fn put_act(
    c: &mut Core,
    id: StreamId,
    action: Action,
    slot: Option<H2Stream>,
) -> (Result<StreamId, Error>, Option<H2Stream>) {
    let new_client_stream = c.proto.role() == Role::Client && !c.stream_is_open(id);
    let (head, end, rest) = match action {
        Action::SendHeaders(m) if new_client_stream => (m.head, m.end_stream, None),
        Action::SendMessage(mut m) if new_client_stream => {
            let end = m.prepare_in_head();
            // A request's priority went into its `priority` header.
            (m.head, end, Some((m.body, m.trailers)))
        }
        Action::SendHeaders(m) => {
            return (c.send_headers(id, m.head, m.end_stream).map(|()| id), slot)
        }
        Action::SendMessage(mut m) => {
            let r = c.send_message(id, &mut m).and_then(now).map(|()| id);
            return (r, slot);
        }
        Action::SendData(m) => {
            return (
                now(c.send_data(id, m.data, m.end_stream)).map(|()| id),
                slot,
            )
        }
        Action::SendTrailers(m) => {
            return (now(c.send_trailers(id, m.trailers)).map(|()| id), slot)
        }
        Action::Promise(m) => {
            let r = c
                .push_promise(id, m.request, false)
                .map(|(promised, _)| promised);
            return (r, slot);
        }
        Action::Reset(m) => {
            c.reset_stream(id, m.code, true);
            return (Ok(id), slot);
        }
    };
    // A new client stream: its id must be the next one (§5.1.1).
    if id != c.proto.next_stream_id() {
        return (Err(Error::User(UserError::StreamIdOrder(id))), slot);
    }
    // The slot held by `next_free_stream_identifier`, or one free now.
    let slot = match slot {
        Some(s) => s,
        None => match c.reserve_now() {
            Ok(Some(s)) => s,
            Ok(None) => return (Err(Error::User(UserError::StreamLimit)), None),
            Err(e) => return (Err(e), None),
        },
    };
    let opened = match c.open_reserved(slot, head, end) {
        Ok(opened) => opened,
        Err(e) => return (Err(e), None),
    };
    if let Some((body, trailers)) = rest {
        if let Err(e) = c.send_rest(opened, body, trailers).and_then(now) {
            return (Err(e), None);
        }
    }
    (Ok(opened), None)
}

/// A reply that must be known now (a session does not wait for DATA to be
/// written unless asked to with [`Session::send_data`]).
fn now(r: ReplyNow<()>) -> Result<(), Error> {
    match r {
        ReplyNow::Now(r) => r,
        ReplyNow::Later(_) => Ok(()),
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}
