//! `Session`: HTTP2.jl's shape (`put_act!`, `take_evt!`) for code that is not
//! an actor.
//!
//! Contract: `Session::new(io, role, config)` (must be called inside an actix
//! system / `actix_rt`), `put_act(Action)` returns at once,
//! `take_evt().await -> Option<Event>`, `next_free_stream_identifier().await`,
//! `close()`. `Action` and `Event` mirror HTTP2.jl's `Act*`/`Evt*` with stream
//! ids: `Action::{SendHeaders{id, head, end_stream}, SendData{id, data,
//! end_stream}, SendTrailers{id, trailers}, Promise{id, promised_id, request},
//! Reset{id, code}, Ping, GoAway{code}}`, `Event::{RecvHeaders{id, head,
//! end_stream}, RecvData{id, data, end_stream}, RecvTrailers{id, trailers},
//! Promise{id, promised_id, request}, Reset{id, code, remote}, GoAway{..},
//! PingAck{rtt}, Error{..}, Closed{reason}}`.
//!
//! How it works: the session runs a [`Connection`] actor with
//! `auto_release(false)` whose subscriber is a small sink actor that turns
//! notifications into [`Event`]s on a bounded channel (kept in order: when
//! the channel is full the sink waits, and since no received byte is given
//! back to the flow-control windows before [`Session::take_evt`] returns
//! it, a slow taker slows the peer instead of growing memory). `put_act`
//! sends the action to the stream's actor and returns; a failure comes back
//! later as [`Event::Error`]. The session keeps a map from stream id to
//! stream actor while a stream is in use, so ids work as in HTTP2.jl.
//!
//! Server push: `Action::Promise { id, promised_id, request }` — the server's
//! promised ids are 2, 4, 6, … in the order of the promises (RFC 9113
//! §5.1.1); actions for `promised_id` may be put right after the promise
//! (they wait until the promised stream exists). A `promised_id` other than
//! the one the protocol assigns is reported as `Event::Error`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use http::HeaderMap;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use super::messages::{self as msg, CloseReason, SendError, Subscriber};
use super::{Builder, Connection, Stream};
use crate::frame::{ErrorCode, StreamId};
use crate::proto::{Config, Head, Role, UserError};

/// Events buffered between the connection and [`Session::take_evt`].
pub const EVENT_CAPACITY: usize = 256;

/// What the user asks the session to do (HTTP2.jl `Act*`).
///
/// A client sending a POST with a body and trailers, then a PING:
///
/// ```no_run
/// use bytes::Bytes;
/// use h2actor::actor::session::{Action, Event};
/// use h2actor::actor::Session;
/// use h2actor::proto::Config;
/// use h2actor::Role;
///
/// #[actix_rt::main]
/// async fn main() {
///     let tcp = tokio::net::TcpStream::connect("127.0.0.1:8080").await.unwrap();
///     let mut session = Session::new(tcp, Role::Client, Config::default());
///     let id = session.next_free_stream_identifier().await.unwrap();
///     let request = http::Request::post("http://127.0.0.1:8080/upload")
///         .header("te", "trailers")
///         .body(())
///         .unwrap();
///     session.put_act(Action::SendHeaders { id, head: request.into(), end_stream: false });
///     let data = Bytes::from_static(b"some bytes");
///     session.put_act(Action::SendData { id, data, end_stream: false });
///     let mut trailers = http::HeaderMap::new();
///     trailers.insert("x-checksum", http::HeaderValue::from_static("1234"));
///     session.put_act(Action::SendTrailers { id, trailers });
///     session.put_act(Action::Ping);
///     while let Some(evt) = session.take_evt().await {
///         match evt {
///             Event::PingAck { rtt } => println!("rtt {rtt:?}"),
///             Event::Error { id, error } => eprintln!("stream {id}: {error}"),
///             Event::Closed { .. } => break,
///             other => println!("{other:?}"),
///         }
///     }
/// }
/// ```
#[derive(Debug)]
pub enum Action {
    /// Send a request or response head (`ActSendHeaders`).
    SendHeaders {
        /// The stream: from [`Session::next_free_stream_identifier`]
        /// (client), an [`Event::RecvHeaders`] (server), or a promise.
        id: StreamId,
        /// The request (client) or response (server; 1xx heads may precede
        /// the final one).
        head: Head,
        /// Set END_STREAM: no body or trailers follow.
        end_stream: bool,
    },
    /// Send body bytes (`ActSendData`).
    SendData {
        /// The stream, after its head was put.
        id: StreamId,
        /// The bytes, any length (split to the peer's MAX_FRAME_SIZE).
        data: Bytes,
        /// Set END_STREAM on the last DATA frame.
        end_stream: bool,
    },
    /// Send trailers, ending the stream.
    SendTrailers {
        /// The stream, after its head (and body).
        id: StreamId,
        /// The trailer fields (no pseudo-headers, RFC 9113 §8.1).
        trailers: HeaderMap,
    },
    /// Server push on `id` (`ActPromise`): `promised_id` is the next even id.
    Promise {
        /// The client-opened stream the push is associated with.
        id: StreamId,
        /// The id the push will use: 2, 4, 6, … in the order of the
        /// promises (RFC 9113 §5.1.1); another value is reported as
        /// [`Event::Error`].
        promised_id: StreamId,
        /// The request the push answers: GET or HEAD, no body, with an
        /// authority (RFC 9113 §8.4.1).
        request: http::Request<()>,
    },
    /// Reset a stream.
    Reset {
        /// The stream to reset.
        id: StreamId,
        /// The RST_STREAM error code, e.g. `CANCEL` (RFC 9113 §7).
        code: ErrorCode,
    },
    /// Send a PING; `Event::PingAck` answers.
    Ping,
    /// Graceful close with this code (as [`Session::close`]).
    GoAway {
        /// The GOAWAY error code; `NO_ERROR` for a normal shutdown.
        code: ErrorCode,
    },
}

/// What the session reports (HTTP2.jl `Evt*`).
#[derive(Debug)]
pub enum Event {
    /// A request (server) or response (client) head (`EvtRecvHeaders`).
    RecvHeaders {
        /// The stream's id (a server answers with actions on it).
        id: StreamId,
        /// The request (server side) or response (client side; 1xx
        /// included, each its own event).
        head: Head,
        /// The peer set END_STREAM: no body or trailers follow.
        end_stream: bool,
    },
    /// Body bytes (`EvtRecvData`). Their flow-control credit goes back to
    /// the peer when this event is taken.
    RecvData {
        /// The stream's id.
        id: StreamId,
        /// One DATA frame's payload, padding removed; may be empty.
        data: Bytes,
        /// The peer set END_STREAM: the body is complete.
        end_stream: bool,
    },
    /// Trailers; the stream's receiving side is done.
    RecvTrailers {
        /// The stream's id.
        id: StreamId,
        /// The trailer fields.
        trailers: HeaderMap,
    },
    /// Client: the server promised a push on `promised_id` (`EvtPromise`).
    Promise {
        /// The stream the PUSH_PROMISE came on (the associated request).
        id: StreamId,
        /// The even id on which the pushed response will arrive as
        /// `RecvHeaders`/`RecvData` events; `Action::Reset` refuses it.
        promised_id: StreamId,
        /// The request the server will answer on `promised_id`.
        request: http::Request<()>,
    },
    /// A stream was reset (`remote`: by the peer, or refused by its GOAWAY).
    Reset {
        /// The stream's id.
        id: StreamId,
        /// The RST_STREAM error code (REFUSED_STREAM from a GOAWAY: safe to
        /// retry, RFC 9113 §8.7).
        code: ErrorCode,
        /// True when the peer reset or refused it, false when this side did.
        remote: bool,
    },
    /// The peer sent GOAWAY (`EvtGoaway`).
    GoAway {
        /// The highest stream id the peer may have processed (RFC 9113
        /// §6.8); streams above it are reported as `Reset`.
        last_stream_id: StreamId,
        /// Why the peer closes: `NO_ERROR` for a graceful shutdown.
        code: ErrorCode,
        /// Opaque diagnostic bytes from the peer; may be empty.
        debug_data: Bytes,
    },
    /// The answer to `Action::Ping`.
    PingAck {
        /// Time from queuing the PING to handling its ACK.
        rtt: Duration,
    },
    /// An action failed (`id` 0 for connection-level actions).
    Error {
        /// The action's stream, or `StreamId::ZERO` for `Action::Ping`.
        id: StreamId,
        /// Why it failed.
        error: SendError,
    },
    /// The connection is over; `take_evt` returns `None` after this.
    Closed {
        /// Why it ended.
        reason: CloseReason,
    },
}

/// A stream the session knows.
enum Known {
    Ready {
        addr: Addr<Stream>,
        local_done: bool,
        remote_done: bool,
    },
    /// A promised stream not created yet: actions wait here in order.
    Pending(Vec<Action>),
}

#[derive(Default)]
struct Shared {
    streams: HashMap<StreamId, Known>,
}

impl Shared {
    fn insert(&mut self, id: StreamId, addr: Addr<Stream>, local_done: bool, remote_done: bool) {
        self.streams.insert(
            id,
            Known::Ready {
                addr,
                local_done,
                remote_done,
            },
        );
    }

    /// Marks one side of `id` done; forgets the stream when both are.
    fn done(&mut self, id: StreamId, local: bool) {
        if let Some(Known::Ready {
            local_done,
            remote_done,
            ..
        }) = self.streams.get_mut(&id)
        {
            if local {
                *local_done = true;
            } else {
                *remote_done = true;
            }
            if *local_done && *remote_done {
                self.streams.remove(&id);
            }
        }
    }
}

/// The HTTP2.jl-shaped handle. See the module docs.
pub struct Session {
    conn: Addr<Connection>,
    shared: Rc<RefCell<Shared>>,
    events: mpsc::Receiver<Event>,
    errors: mpsc::WeakSender<Event>,
}

impl Session {
    /// A session over `io` (any byte stream) in `role` with `config`. Must be
    /// called inside an actix system (`#[actix_rt::main]`, `System::new()`).
    pub fn new<IO>(io: IO, role: Role, config: Config) -> Session
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        Session::with_builder(io, Connection::builder(role).config(config))
    }

    /// As [`Session::new`] with every [`Builder`] option (`auto_release` is
    /// forced off: the session releases on `take_evt`).
    pub fn with_builder<IO>(io: IO, builder: Builder) -> Session
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let (tx, rx) = mpsc::channel(EVENT_CAPACITY);
        let errors = tx.downgrade();
        let shared = Rc::new(RefCell::new(Shared::default()));
        let sink = Sink {
            tx,
            shared: shared.clone(),
        }
        .start();
        let conn = builder
            .auto_release(false)
            .start(io, Subscriber::new(&sink));
        Session {
            conn,
            shared,
            events: rx,
            errors,
        }
    }

    /// The connection actor under this session.
    pub fn connection(&self) -> &Addr<Connection> {
        &self.conn
    }

    /// Client: opens the next stream and returns its id (HTTP2.jl
    /// `next_free_stream_identifier`). Waits while the peer's stream limit is
    /// reached (the wait is bounded: `SendError::QueueFull` beyond it).
    pub async fn next_free_stream_identifier(&self) -> Result<StreamId, SendError> {
        let opened = self
            .conn
            .send(msg::OpenStream::default())
            .await
            .map_err(|_| SendError::ConnectionClosed)??;
        self.shared
            .borrow_mut()
            .insert(opened.id, opened.stream, false, false);
        Ok(opened.id)
    }

    /// Queues an action and returns at once (HTTP2.jl `put_act!`); a failure
    /// comes back as [`Event::Error`].
    pub fn put_act(&self, action: Action) {
        match action {
            Action::Ping => {
                let req = self.conn.send(msg::Ping);
                let errors = self.errors.clone();
                actix_rt::spawn(async move {
                    let ev = match req.await {
                        Ok(Ok(rtt)) => Event::PingAck { rtt },
                        Ok(Err(error)) => Event::Error {
                            id: StreamId::ZERO,
                            error,
                        },
                        Err(_) => Event::Error {
                            id: StreamId::ZERO,
                            error: SendError::ConnectionClosed,
                        },
                    };
                    report(&errors, ev).await;
                });
            }
            Action::GoAway { code } => self.conn.do_send(msg::Close { code }),
            other => {
                let id = action_stream(&other);
                let known = {
                    let mut sh = self.shared.borrow_mut();
                    match sh.streams.get_mut(&id) {
                        Some(Known::Ready { addr, .. }) => Some(addr.clone()),
                        Some(Known::Pending(queue)) => {
                            queue.push(other);
                            return;
                        }
                        None => None,
                    }
                };
                match known {
                    Some(addr) => dispatch(&self.shared, &self.errors, id, addr, other),
                    None => {
                        let errors = self.errors.clone();
                        actix_rt::spawn(async move {
                            let error = SendError::User(UserError::UnknownStream(id));
                            report(&errors, Event::Error { id, error }).await;
                        });
                    }
                }
            }
        }
    }

    /// The next event (HTTP2.jl `take_evt!`); `None` once the connection is
    /// closed and every event was taken. Taking a `RecvData` gives its bytes
    /// back to the flow-control windows.
    pub async fn take_evt(&mut self) -> Option<Event> {
        let ev = self.events.recv().await?;
        if let Event::RecvData { id, data, .. } = &ev {
            if !data.is_empty() {
                self.conn.do_send(msg::ReleaseStreamCapacity {
                    id: *id,
                    n: data.len(),
                });
            }
        }
        Some(ev)
    }

    /// Graceful close (HTTP2.jl `close`): GOAWAY(NO_ERROR), let the open
    /// streams finish, then close. `take_evt` ends with `Event::Closed`.
    pub fn close(&self) {
        self.conn.do_send(msg::Close {
            code: ErrorCode::NO_ERROR,
        });
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}

fn action_stream(a: &Action) -> StreamId {
    match a {
        Action::SendHeaders { id, .. }
        | Action::SendData { id, .. }
        | Action::SendTrailers { id, .. }
        | Action::Promise { id, .. }
        | Action::Reset { id, .. } => *id,
        Action::Ping | Action::GoAway { .. } => StreamId::ZERO,
    }
}

async fn report(errors: &mpsc::WeakSender<Event>, ev: Event) {
    if let Some(tx) = errors.upgrade() {
        let _ = tx.send(ev).await;
    }
}

/// Sends `action` to the stream actor; failures become `Event::Error`.
fn dispatch(
    shared: &Rc<RefCell<Shared>>,
    errors: &mpsc::WeakSender<Event>,
    id: StreamId,
    addr: Addr<Stream>,
    action: Action,
) {
    let errors = errors.clone();
    match action {
        Action::SendHeaders {
            head, end_stream, ..
        } => {
            if end_stream {
                shared.borrow_mut().done(id, true);
            }
            let req = addr.send(msg::SendHeaders { head, end_stream });
            actix_rt::spawn(async move { check(&errors, id, req.await).await });
        }
        Action::SendData {
            data, end_stream, ..
        } => {
            if end_stream {
                shared.borrow_mut().done(id, true);
            }
            let req = addr.send(msg::SendData { data, end_stream });
            actix_rt::spawn(async move { check(&errors, id, req.await).await });
        }
        Action::SendTrailers { trailers, .. } => {
            shared.borrow_mut().done(id, true);
            let req = addr.send(msg::SendTrailers { trailers });
            actix_rt::spawn(async move { check(&errors, id, req.await).await });
        }
        Action::Reset { code, .. } => {
            shared.borrow_mut().streams.remove(&id);
            addr.do_send(msg::Reset { code });
        }
        Action::Promise {
            promised_id,
            request,
            ..
        } => {
            shared
                .borrow_mut()
                .streams
                .insert(promised_id, Known::Pending(Vec::new()));
            let req = addr.send(msg::Promise { request });
            let shared = shared.clone();
            actix_rt::spawn(async move {
                let r = match req.await {
                    Ok(r) => r,
                    Err(_) => Err(SendError::ConnectionClosed),
                };
                let queued = match shared.borrow_mut().streams.remove(&promised_id) {
                    Some(Known::Pending(q)) => q,
                    _ => Vec::new(),
                };
                match r {
                    Ok(opened) => {
                        // The client never sends on a pushed stream.
                        shared
                            .borrow_mut()
                            .insert(opened.id, opened.stream.clone(), false, true);
                        if opened.id != promised_id {
                            let error = SendError::User(UserError::InvalidState {
                                id: promised_id,
                                state: "not the next promised stream id",
                            });
                            report(&errors, Event::Error { id, error }).await;
                        }
                        for a in queued {
                            let target = action_stream(&a);
                            let addr = match shared.borrow().streams.get(&target) {
                                Some(Known::Ready { addr, .. }) => Some(addr.clone()),
                                _ => None,
                            };
                            match addr {
                                Some(addr) => dispatch(&shared, &errors, target, addr, a),
                                None => {
                                    let error = SendError::User(UserError::UnknownStream(target));
                                    report(&errors, Event::Error { id: target, error }).await;
                                }
                            }
                        }
                    }
                    Err(error) => {
                        report(&errors, Event::Error { id, error }).await;
                        for a in queued {
                            let target = action_stream(&a);
                            let error = SendError::User(UserError::UnknownStream(target));
                            report(&errors, Event::Error { id: target, error }).await;
                        }
                    }
                }
            });
        }
        Action::Ping | Action::GoAway { .. } => {}
    }
}

async fn check(
    errors: &mpsc::WeakSender<Event>,
    id: StreamId,
    r: Result<Result<(), SendError>, MailboxError>,
) {
    let error = match r {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e,
        Err(_) => SendError::ConnectionClosed,
    };
    report(errors, Event::Error { id, error }).await;
}

/// The session's subscriber: notifications in, ordered events out.
struct Sink {
    tx: mpsc::Sender<Event>,
    shared: Rc<RefCell<Shared>>,
}

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Sink {
    /// Queues `ev`; while the channel is full the sink waits (and so does
    /// every later notification: the order is kept).
    fn emit(&mut self, ev: Event, ctx: &mut Context<Self>) {
        match self.tx.try_send(ev) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(ev)) => {
                let tx = self.tx.clone();
                ctx.wait(
                    async move {
                        let _ = tx.send(ev).await;
                    }
                    .into_actor(self),
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

impl Handler<msg::RecvHeaders> for Sink {
    type Result = ();
    fn handle(&mut self, m: msg::RecvHeaders, ctx: &mut Self::Context) {
        {
            let mut sh = self.shared.borrow_mut();
            if !sh.streams.contains_key(&m.id) {
                sh.insert(m.id, m.stream, false, false);
            }
            if m.end_stream {
                sh.done(m.id, false);
            }
        }
        self.emit(
            Event::RecvHeaders {
                id: m.id,
                head: m.head,
                end_stream: m.end_stream,
            },
            ctx,
        );
    }
}

impl Handler<msg::RecvData> for Sink {
    type Result = ();
    fn handle(&mut self, m: msg::RecvData, ctx: &mut Self::Context) {
        if m.end_stream {
            self.shared.borrow_mut().done(m.id, false);
        }
        self.emit(
            Event::RecvData {
                id: m.id,
                data: m.data,
                end_stream: m.end_stream,
            },
            ctx,
        );
    }
}

impl Handler<msg::RecvTrailers> for Sink {
    type Result = ();
    fn handle(&mut self, m: msg::RecvTrailers, ctx: &mut Self::Context) {
        self.shared.borrow_mut().done(m.id, false);
        self.emit(
            Event::RecvTrailers {
                id: m.id,
                trailers: m.trailers,
            },
            ctx,
        );
    }
}

impl Handler<msg::RecvPromise> for Sink {
    type Result = ();
    fn handle(&mut self, m: msg::RecvPromise, ctx: &mut Self::Context) {
        self.shared
            .borrow_mut()
            .insert(m.promised.id, m.promised.stream, true, false);
        self.emit(
            Event::Promise {
                id: m.id,
                promised_id: m.promised.id,
                request: m.request,
            },
            ctx,
        );
    }
}

impl Handler<msg::RecvReset> for Sink {
    type Result = ();
    fn handle(&mut self, m: msg::RecvReset, ctx: &mut Self::Context) {
        self.shared.borrow_mut().streams.remove(&m.id);
        self.emit(
            Event::Reset {
                id: m.id,
                code: m.code,
                remote: m.remote,
            },
            ctx,
        );
    }
}

impl Handler<msg::GoAway> for Sink {
    type Result = ();
    fn handle(&mut self, m: msg::GoAway, ctx: &mut Self::Context) {
        self.emit(
            Event::GoAway {
                last_stream_id: m.last_stream_id,
                code: m.code,
                debug_data: m.debug_data,
            },
            ctx,
        );
    }
}

impl Handler<msg::Closed> for Sink {
    type Result = ();
    fn handle(&mut self, m: msg::Closed, ctx: &mut Self::Context) {
        self.shared.borrow_mut().streams.clear();
        self.emit(Event::Closed { reason: m.reason }, ctx);
        // Stop once the event is queued: dropping `tx` ends `take_evt`.
        ctx.wait(actix::fut::ready(()).map(|_, _: &mut Sink, ctx: &mut Context<Sink>| ctx.stop()));
    }
}
