//! [`H2Stream`]: the handle of one HTTP/2 stream, the child actor of its
//! [`Connection`](super::Connection) in the user's model.
//!
//! In memory a stream is not an actor of its own: its handle is the
//! connection's address plus the stream's id (as h2's `OpaqueStreamRef`
//! is), and a message to it goes through the connection's mailbox, wrapped
//! in an [`OnStream`], to a handler of the connection that acts on the
//! stream's entry in the protocol's table. A stream therefore costs no
//! task, no mailbox and no allocation of its own; cloning a handle is one
//! atomic increment. What the model promises holds: messages to a stream
//! are handled one at a time, in the order they were sent (the
//! connection's mailbox is one FIFO); `send(..).await` returns the typed
//! reply; and a panic in the work done for one stream resets that stream
//! (INTERNAL_ERROR), never the connection.
//!
//! Two kinds of stream are tracked by their handles, because nothing else
//! keeps them: a client stream from `OpenStream` (it holds a slot of the
//! peer's MAX_CONCURRENT_STREAMS and has no id until its first HEADERS),
//! and a stream we promised with `Promise` (reserved, until its first
//! HEADERS). When every handle of such a stream is dropped first, the slot
//! is given back, or the promised stream is reset (CANCEL). Every other
//! stream is held by its connection while it is open.
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

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use std::future::Future;

use actix::dev::{OneshotSender, ToEnvelope};
use actix::prelude::*;

use super::messages::*;
use super::Connection;
use crate::frame::{ErrorCode, StreamId};

/// One HTTP/2 stream: the handle its connection's notifications carry
/// (`RecvHeaders::stream`, ...) and that `OpenStream`, `SendRequest` and
/// `Promise` return. Send it [`SendHeaders`], [`SendData`],
/// [`SendMessage`], [`SendTrailers`], [`Promise`], [`Reset`],
/// [`UpdatePriority`], [`ReleaseCapacity`], [`GetStreamId`] or
/// [`Subscribe`] with [`do_send`](H2Stream::do_send) or
/// [`send`](H2Stream::send), as to an actor's `Addr`.
///
/// It is small and cheap to clone (the connection's address and the
/// stream's id), `Send`, and `Eq + Hash`: a good key for per-stream state.
///
/// ```no_run
/// # use actix::prelude::*;
/// # use h2actor::prelude::*;
/// # use h2actor::Error;
/// async fn answer(req: RecvHeaders) -> Result<(), MailboxError> {
///     let ok = http::Response::new(());
///     // Handled by the connection, in order with this stream's other
///     // messages; the reply says whether the protocol took the head.
///     let taken: Result<(), Error> = req
///         .stream
///         .send(SendHeaders { head: ok.into(), end_stream: false })
///         .await?;
///     if taken.is_ok() {
///         req.stream.do_send(SendData {
///             data: "hello\n".into(),
///             end_stream: true,
///         });
///     }
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct H2Stream {
    link: Arc<ConnLink>,
    key: Key,
}

/// The connection a handle reaches: one per connection, shared by all
/// its streams' handles.
pub(crate) struct ConnLink {
    pub addr: Addr<Connection>,
    pub id: ConnectionId,
}

/// Which stream of the connection a handle names.
#[derive(Clone)]
pub(crate) enum Key {
    /// A stream the connection holds while it is open.
    Id(StreamId),
    /// A stream only its handles hold (see the module docs).
    Tracked(Arc<Tracked>),
}

/// A stream only its handles hold: reserved by `OpenStream` (no id yet) or
/// promised by us (no HEADERS yet).
pub(crate) struct Tracked {
    link: Arc<ConnLink>,
    state: Mutex<TrackedState>,
}

/// What a [`Tracked`] stream's handles share. Only the connection's
/// handlers touch it (one at a time): the mutex is never contended.
pub(crate) struct TrackedState {
    /// `None` for a client stream that has not sent its HEADERS yet.
    pub id: Option<StreamId>,
    /// Holds a slot of the peer's MAX_CONCURRENT_STREAMS without an id.
    pub reserved: bool,
    /// Given up (`Reset`) before its HEADERS: every action fails with this.
    pub abandoned: Option<ErrorCode>,
    /// The subscriber chosen at `OpenStream`, until the stream has an id.
    pub subscriber: Option<Subscriber>,
}

/// Every handle of a tracked stream is gone (see the module docs).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) enum HandlesDropped {
    /// A reserved slot without an id: give it back.
    Unreserve,
    /// A stream with an id: reset it (CANCEL) if it is still open.
    Stream(StreamId),
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let st = match self.state.get_mut() {
            Ok(st) => st,
            Err(p) => p.into_inner(),
        };
        let msg = if st.reserved {
            HandlesDropped::Unreserve
        } else if let (Some(id), None) = (st.id, st.abandoned) {
            HandlesDropped::Stream(id)
        } else {
            return;
        };
        self.link.addr.do_send(msg);
    }
}

impl Tracked {
    pub fn lock(&self) -> MutexGuard<'_, TrackedState> {
        match self.state.lock() {
            Ok(g) => g,
            // A handler panicked while holding it: the state is still
            // what that handler left, which is all we need.
            Err(p) => p.into_inner(),
        }
    }
}

/// A message on its way to a stream: what [`H2Stream::send`] and
/// [`H2Stream::do_send`] put in the connection's mailbox, with the sender
/// of its reply (`None` for `do_send`), so the connection's handler
/// answers it while it holds the stream's state. Users never build one;
/// it appears in the bounds of `send` and `do_send`.
pub struct OnStream<M: Message> {
    pub(crate) key: Key,
    pub(crate) msg: M,
    pub(crate) reply: Option<OneshotSender<M::Result>>,
}

impl<M: Message> Message for OnStream<M> {
    type Result = ();
}

impl<M: Message> OnStream<M> {
    /// Answers whoever awaits this message's reply, if anyone does.
    pub(crate) fn answer(reply: Option<OneshotSender<M::Result>>, r: M::Result) {
        if let Some(tx) = reply {
            let _ = tx.send(r);
        }
    }
}

/// The reply of [`H2Stream::send`]: resolves to the message's typed reply,
/// or to `Err(MailboxError::Closed)` when the connection stopped before it
/// answered (as `Addr::send`'s `Request`).
#[must_use = "the message is sent either way; await this to see its reply"]
pub struct StreamRequest<R> {
    rx: tokio::sync::oneshot::Receiver<R>,
}

impl<R> Future for StreamRequest<R> {
    type Output = Result<R, MailboxError>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.map_err(|_| MailboxError::Closed))
    }
}

impl<R> std::fmt::Debug for StreamRequest<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamRequest")
    }
}

impl H2Stream {
    pub(crate) fn new(link: Arc<ConnLink>, key: Key) -> H2Stream {
        H2Stream { link, key }
    }

    /// A handle tracking a client stream that holds a slot without an id.
    pub(crate) fn reserved(link: &Arc<ConnLink>, subscriber: Option<Subscriber>) -> H2Stream {
        H2Stream::tracked(link, None, true, subscriber)
    }

    /// A handle tracking a stream we promised (held by its handles until
    /// its first HEADERS).
    pub(crate) fn promised(link: &Arc<ConnLink>, id: StreamId) -> H2Stream {
        H2Stream::tracked(link, Some(id), false, None)
    }

    fn tracked(
        link: &Arc<ConnLink>,
        id: Option<StreamId>,
        reserved: bool,
        subscriber: Option<Subscriber>,
    ) -> H2Stream {
        let t = Tracked {
            link: link.clone(),
            state: Mutex::new(TrackedState {
                id,
                reserved,
                abandoned: None,
                subscriber,
            }),
        };
        H2Stream {
            link: link.clone(),
            key: Key::Tracked(Arc::new(t)),
        }
    }

    pub(crate) fn key(&self) -> &Key {
        &self.key
    }

    /// The stream's id: `None` for a client stream from `OpenStream` whose
    /// HEADERS have not been sent yet. (Also as the [`GetStreamId`]
    /// message, for code written against 0.1.)
    pub fn id(&self) -> Option<StreamId> {
        match &self.key {
            Key::Id(id) => Some(*id),
            Key::Tracked(t) => t.lock().id,
        }
    }

    /// The identity of the stream's connection (as in its notifications).
    pub fn connection_id(&self) -> ConnectionId {
        self.link.id
    }

    /// The stream's connection actor.
    pub fn connection(&self) -> &Addr<Connection> {
        &self.link.addr
    }

    /// Whether the stream's connection is still running (messages sent
    /// after it stopped fail with `MailboxError::Closed`).
    pub fn connected(&self) -> bool {
        self.link.addr.connected()
    }

    /// Sends `msg` to the stream without waiting for its reply (as
    /// `Addr::do_send`). A refused action is logged and resets the stream
    /// (see the module docs); use [`send`](H2Stream::send) to see errors.
    pub fn do_send<M>(&self, msg: M)
    where
        M: Message + Send + 'static,
        M::Result: Send,
        Connection: Handler<OnStream<M>>,
        <Connection as Actor>::Context: ToEnvelope<Connection, OnStream<M>>,
    {
        self.link.addr.do_send(self.wrap(msg, None));
    }

    /// Sends `msg` to the stream; the future resolves to its typed reply
    /// (as `Addr::send`): `Err(MailboxError::Closed)` once the connection
    /// has stopped. The message goes out now, whether or not the future
    /// is awaited.
    pub fn send<M>(&self, msg: M) -> StreamRequest<M::Result>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        Connection: Handler<OnStream<M>>,
        <Connection as Actor>::Context: ToEnvelope<Connection, OnStream<M>>,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.link.addr.do_send(self.wrap(msg, Some(tx)));
        StreamRequest { rx }
    }

    fn wrap<M: Message>(&self, msg: M, reply: Option<OneshotSender<M::Result>>) -> OnStream<M> {
        OnStream {
            key: self.key.clone(),
            msg,
            reply,
        }
    }
}

impl PartialEq for H2Stream {
    fn eq(&self, other: &H2Stream) -> bool {
        self.link.id == other.link.id
            && match (&self.key, &other.key) {
                (Key::Id(a), Key::Id(b)) => a == b,
                (Key::Tracked(a), Key::Tracked(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl Eq for H2Stream {}

impl Hash for H2Stream {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.link.id.as_u64());
        match &self.key {
            Key::Id(id) => state.write_u64(u64::from(id.0)),
            Key::Tracked(t) => state.write_u64(Arc::as_ptr(t) as usize as u64 | 1 << 63),
        }
    }
}

impl std::fmt::Debug for H2Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.id() {
            Some(id) => write!(f, "H2Stream({} stream {id})", self.link.id),
            None => write!(f, "H2Stream({} reserved)", self.link.id),
        }
    }
}

/// Test hook: makes the work done for a stream panic (to check that its
/// stream is reset with INTERNAL_ERROR and the connection goes on).
#[cfg(feature = "test-hooks")]
#[doc(hidden)]
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PanicForTest;
