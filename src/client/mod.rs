//! A client that heals itself: one [`Client`] actor per origin. Send it
//! [`Fetch`] messages; it connects on first use, multiplexes the requests
//! as streams of one connection, queues them (boundedly) while the server's
//! `MAX_CONCURRENT_STREAMS` is reached, and reconnects with exponential
//! backoff and jitter after a failure or a GOAWAY.
//!
//! ```no_run
//! use actix::prelude::*;
//! use h2actor::client::{Client, Fetch};
//!
//! #[actix_rt::main]
//! async fn main() {
//!     let client = Client::builder("http://127.0.0.1:8080".parse().unwrap()).start();
//!     let response = client.send(Fetch::get("/").idempotent(true)).await.unwrap().unwrap();
//!     println!("{} {:?}", response.head.status, response.body);
//! }
//! ```
//!
//! # Outages and retries: only the safe ones, always within a time budget
//!
//! While the server is down (restarting, say), requests wait in the queue
//! and the client keeps reconnecting with backoff (100 ms doubling to 2 s,
//! with jitter). Refused connections use up time, not attempts: a request
//! fails with [`FetchError::Connect`] only once it has waited
//! [`ClientBuilder::reconnect_for`] (default 10 s) for a connection, or at
//! its own deadline ([`Fetch::timeout`], default 30 s), whichever comes
//! first. With the defaults, an outage of up to 8 s is ridden out without
//! a failure (the last reconnect comes at most one backoff step, 2 s, after
//! the server is back), and most outages up to 10 s are. Errors that
//! waiting cannot fix (a certificate the client does not trust, a server
//! that does not speak h2) fail the waiting requests at once.
//!
//! A request is sent again, on the next connection and within that budget,
//! whenever the server cannot have processed it:
//!
//! - the connection failed (or could not be made) before the request's
//!   HEADERS were handed to it;
//! - the server refused the stream: RST_STREAM `REFUSED_STREAM`, or a GOAWAY
//!   whose last stream id is below the request's stream (both mean "not
//!   processed", RFC 9113 §8.7 and §6.8). (At most 16 times in a row, so a
//!   server that refuses everything cannot keep a request cycling.)
//!
//! Anything else (a reset with another code, a connection lost while the
//! request was in flight) is reported as an error and never silently
//! repeated, unless the request is marked [`Fetch::idempotent`]: then it is
//! also retried after those, up to [`ClientBuilder::max_attempts`] sends in
//! all (RFC 9110 §9.2.2 lets a client repeat an idempotent request). Which
//! requests are idempotent is the caller's call. A request cut off by a
//! connection that died under it fails with [`FetchError::ConnectionLost`];
//! a stream the server reset keeps its code ([`FetchError::Reset`]).
//!
//! # Supervision
//!
//! The actor implements actix's `Supervised`: start it with
//! `actix::Supervisor::start(|_| builder.build())` to have it restarted
//! after it stops; requests in flight when it stops fail with
//! [`FetchError::ClientStopped`]. (actix restarts an actor that stopped, not
//! one whose handler panicked; the client's handlers do not panic on
//! anything from the network.)

mod builder;
mod collect;
mod connect;
mod fetch;
mod handlers;
mod one_call;
mod origin;
mod reply;
mod streams;

pub use builder::ClientBuilder;
pub use collect::{CollectReply, MAX_COLLECTED_BODY};
pub use fetch::{ClientStats, Fetch, FetchError, GetClientStats, Response};
pub use one_call::{request, request_with};

pub use origin::{BadOrigin, Mode, Origin};
pub use reply::FetchReply;
use reply::{PtrHash, Replies, Reply};
use streams::Body;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::Uri;

use crate::actor::{
    Close, CloseReason, Closed, Connection, ConnectionId, Error, Event, EventQueue, GoAway,
    H2Stream, Item, RecvData, RecvHeaders, RecvPromise, RecvReset, RecvTrailers, Reset,
    SendRequest,
};
use crate::frame::ErrorCode;
use crate::proto::UserError;

/// Requests handed to the connection and not answered yet, at most (and
/// at most the connection's `max_pending_open_streams`, beyond which it
/// would refuse them); the rest wait in the client's queue. Large enough
/// for the connection to write a whole batch of requests at once (with
/// 16, the first version's mailbox capacity, it wrote 14 requests per
/// `sendto` where the h2 crate writes 94).
const DISPATCH_WINDOW: usize = 256;

/// How often requests whose callers gave up are looked for (see
/// `Client::sweep_abandoned`; a DATA frame for one is noticed at once).
const ABANDON_SWEEP: Duration = Duration::from_millis(250);

/// Sends of one request the server refused in a row, at most (see the
/// module docs).
const MAX_REFUSALS: u32 = 16;

/// May a request whose send did not complete go out again?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resend {
    /// It never reached the connection (which ended first): yes, within
    /// its reconnect budget and deadline.
    NotSent,
    /// The server cannot have processed it: yes, within its time budget.
    NotProcessed,
    /// The server may have processed it: if idempotent, within
    /// `max_attempts`.
    MaybeProcessed,
    /// No.
    No,
}

/// Feeds a connection's event queue to the client, in the client's turn:
/// every notification and every answer to a request of that
/// connection, then `conn_ended` once it stopped. (Neither an actix
/// envelope per notification nor a reply channel per request.)
struct Drain {
    queue: std::rc::Rc<EventQueue>,
    conn: ConnectionId,
}

impl ActorFuture<Client> for Drain {
    type Output = ();
    fn poll(
        self: std::pin::Pin<&mut Self>,
        act: &mut Client,
        ctx: &mut Context<Client>,
        task: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        use std::task::Poll;
        let this = self.get_mut();
        loop {
            match this.queue.poll_item(task) {
                Poll::Ready(Some(item)) => act.on_item(item, ctx),
                Poll::Ready(None) => {
                    act.conn_ended(this.conn, ctx);
                    return Poll::Ready(());
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// One origin's client actor (see the module docs).
pub struct Client {
    cfg: ClientBuilder,
    /// `:scheme` and `:authority` of every request, made once.
    scheme: Scheme,
    authority: Option<Authority>,
    conn: Option<Live>,
    /// The last connection made (still `conn`, or just ended).
    latest: Option<ConnectionId>,
    connecting: bool,
    /// Connection attempts failed in a row.
    failures: u32,
    last_failure: String,
    queue: VecDeque<Job>,
    /// Requests (id, deadline) inside a `SendRequest` not answered yet.
    /// (Held here, not in the reply's future, so that their deadlines
    /// apply while the connection holds them back for a stream slot.)
    dispatching: HashMap<u64, Job, PtrHash>,
    streams: HashMap<H2Stream, InFlight, PtrHash>,
    /// Notifications of a stream whose `SendRequest` reply has not come back
    /// yet (bounded by the number of requests dispatching).
    orphans: HashMap<H2Stream, Vec<Event>, PtrHash>,
    next_job: u64,
    stats: ClientStats,
    /// The reply slots of the requests (see `reply`).
    replies: Replies,
    rng: u64,
    /// Every request's deadline (requests that finished are dropped when
    /// their deadline comes up, or when the heap is rebuilt).
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
    /// The one timer, armed at the earliest deadline. (A `run_later` per
    /// request would stay in the actor's context until it fires, and actix
    /// polls every pending item at each wake-up: quadratic under load.)
    timer: Option<(Instant, SpawnHandle)>,
}

struct Live {
    addr: Addr<Connection>,
    id: ConnectionId,
    /// Its event queue: requests go in, notifications come out.
    queue: std::rc::Rc<EventQueue>,
}

struct Job {
    id: u64,
    parts: http::request::Parts,
    body: Bytes,
    idempotent: bool,
    /// Sends that may have been processed (the first one included).
    attempts: u32,
    /// Sends the server refused (not processed), in a row.
    refusals: u32,
    /// When it joined the queue (the reconnect budget counts from here).
    queued_at: Instant,
    deadline: Instant,
    timeout: Duration,
    tx: Reply,
    /// The connection it was last handed to.
    conn: ConnectionId,
}

struct InFlight {
    job: Job,
    head: Option<http::response::Parts>,
    body: Body,
}

impl Client {
    fn pump(&mut self, ctx: &mut Context<Self>) {
        if self.queue.is_empty() {
            return;
        }
        match &self.conn {
            None if !self.connecting => self.connect(ctx),
            None => {}
            Some(_) => {
                let Some(live) = self.conn.take() else { return };
                let window = DISPATCH_WINDOW.min(self.cfg.connection.pending_open_limit().max(1));
                while self.dispatching.len() < window {
                    let Some(job) = self.queue.pop_front() else {
                        break;
                    };
                    self.dispatch(job, &live.queue, live.id);
                }
                self.conn = Some(live);
            }
        }
    }

    fn dispatch(&mut self, mut job: Job, queue: &EventQueue, conn: ConnectionId) {
        if job.attempts + job.refusals > 0 {
            self.stats.retries += 1;
        }
        job.attempts += 1;
        job.conn = conn;
        let mut request = http::Request::new(());
        *request.method_mut() = job.parts.method.clone();
        *request.uri_mut() = job.parts.uri.clone();
        *request.headers_mut() = job.parts.headers.clone();
        let mut req = SendRequest::new(request);
        if !job.body.is_empty() {
            req = req.body(job.body.clone());
        }
        let id = job.id;
        self.dispatching.insert(id, job);
        // No message and no reply channel: the connection takes it from
        // its event queue in its next turn and answers there (`on_opened`),
        // or, if it stops first, not at all (`conn_ended`).
        queue.send_request(id, req);
    }

    /// The connection's answer to request `id`.
    fn on_opened(&mut self, id: u64, r: Result<H2Stream, Error>, ctx: &mut Context<Self>) {
        let Some(job) = self.dispatching.remove(&id) else {
            // Timed out meanwhile: a stream opened since is not wanted.
            if let Ok(stream) = r {
                self.orphans.remove(&stream);
                stream.do_send(Reset {
                    code: ErrorCode::CANCEL,
                });
            }
            return;
        };
        match r {
            Ok(stream) => {
                let notes = if self.orphans.is_empty() {
                    Vec::new()
                } else {
                    self.orphans.remove(&stream).unwrap_or_default()
                };
                self.streams.insert(
                    stream,
                    InFlight {
                        job,
                        head: None,
                        body: Body::default(),
                    },
                );
                for n in notes {
                    self.on_event(n, ctx);
                }
            }
            // Never handed to the connection: not processed, and not an
            // attempt. The connection is ending: use the next.
            Err(Error::ConnectionClosed | Error::User(UserError::GoingAway)) => {
                let conn = job.conn;
                self.not_sent(job, conn);
            }
            Err(Error::QueueFull) => self.fail(job, FetchError::QueueFull),
            Err(e) => self.fail(job, FetchError::BadRequest(e.to_string())),
        }
        self.after_answer(ctx);
    }

    /// A request the connection `conn` did not take (it is ending, or it
    /// stopped before the request reached it): it goes to the next one.
    fn not_sent(&mut self, mut job: Job, conn: ConnectionId) {
        job.attempts -= 1;
        if self.conn.as_ref().is_some_and(|l| l.id == conn) {
            self.conn = None;
        }
        self.retry_or_fail(job, Resend::NotSent, || {
            FetchError::ConnectionLost("the connection closed before the request was sent".into())
        })
    }

    fn after_answer(&mut self, ctx: &mut Context<Self>) {
        // Notes nobody claimed (a stream given up, the h2c upgrade's stream
        // 1) go once no answer is outstanding. Not by whether their
        // connection still runs: a connection that died right after opening
        // a stream sends that stream's `RecvReset` before the answer that
        // names it can be handled, and the request would wait for it for
        // ever.
        if self.dispatching.is_empty() && !self.orphans.is_empty() {
            self.orphans.clear();
        }
        self.pump(ctx);
    }

    /// The connection `conn` stopped and its queue is empty: the requests
    /// it never answered never reached it (its answers all come before its
    /// end), and go to the next connection.
    fn conn_ended(&mut self, conn: ConnectionId, ctx: &mut Context<Self>) {
        if self.conn.as_ref().is_some_and(|l| l.id == conn) {
            self.conn = None;
        }
        let lost: Vec<u64> = self
            .dispatching
            .iter()
            .filter(|(_, j)| j.conn == conn)
            .map(|(id, _)| *id)
            .collect();
        for id in lost {
            if let Some(job) = self.dispatching.remove(&id) {
                self.not_sent(job, conn);
            }
        }
        self.after_answer(ctx);
    }

    /// What a connection's queue delivers.
    fn on_item(&mut self, item: Item, ctx: &mut Context<Self>) {
        match item {
            Item::Opened(id, r) => self.on_opened(id, r, ctx),
            Item::Event(Event::GoAway(m)) => self.on_go_away(m, ctx),
            Item::Event(Event::Closed(m)) => self.on_closed(m, ctx),
            Item::Event(Event::RecvPromise(m)) => {
                // The client does not take pushes: refuse the promised
                // stream.
                m.promised.do_send(Reset {
                    code: ErrorCode::CANCEL,
                });
            }
            Item::Event(ev) => self.on_event(ev, ctx),
        }
    }

    /// Remembers a request's deadline and keeps the one timer at the
    /// earliest.
    fn watch_deadline(&mut self, at: Instant, id: u64, ctx: &mut Context<Self>) {
        // Finished requests leave their entry behind: rebuild from the live
        // ones when they are most of the heap.
        let live = self.queue.len() + self.streams.len() + self.dispatching.len();
        if self.deadlines.len() > 64 && self.deadlines.len() > 4 * live {
            self.deadlines = self
                .queue
                .iter()
                .map(|j| Reverse((j.deadline, j.id)))
                .chain(
                    self.streams
                        .values()
                        .map(|f| Reverse((f.job.deadline, f.job.id))),
                )
                .chain(
                    self.dispatching
                        .values()
                        .map(|j| Reverse((j.deadline, j.id))),
                )
                .collect();
        }
        self.deadlines.push(Reverse((at, id)));
        self.arm_timer(ctx);
    }

    fn arm_timer(&mut self, ctx: &mut Context<Self>) {
        let Some(Reverse((next, _))) = self.deadlines.peek().copied() else {
            return;
        };
        if let Some((armed, handle)) = self.timer {
            if armed <= next {
                return;
            }
            ctx.cancel_future(handle);
        }
        let delay = next.saturating_duration_since(Instant::now());
        let handle = ctx.run_later(delay, |act, ctx| {
            act.timer = None;
            let now = Instant::now();
            while let Some(Reverse((d, id))) = act.deadlines.peek().copied() {
                if d > now {
                    break;
                }
                act.deadlines.pop();
                act.on_timeout(id);
            }
            act.arm_timer(ctx);
        });
        self.timer = Some((next, handle));
    }

    fn on_timeout(&mut self, job_id: u64) {
        if let Some(job) = self.dispatching.remove(&job_id) {
            let t = job.timeout;
            self.fail(job, FetchError::Timeout(t));
            return;
        }
        if let Some(i) = self.queue.iter().position(|j| j.id == job_id) {
            if let Some(job) = self.queue.remove(i) {
                let t = job.timeout;
                self.fail(job, FetchError::Timeout(t));
            }
            return;
        }
        let stream = self
            .streams
            .iter()
            .find(|(_, f)| f.job.id == job_id)
            .map(|(s, _)| s.clone());
        if let Some(stream) = stream {
            if let Some(f) = self.streams.remove(&stream) {
                stream.do_send(Reset {
                    code: ErrorCode::CANCEL,
                });
                let t = f.job.timeout;
                self.fail(f.job, FetchError::Timeout(t));
            }
        }
    }

    /// The request as sent: its URI made absolute in the client's origin.
    fn prepare(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<(http::request::Parts, Bytes), FetchError> {
        let (mut parts, body) = request.into_parts();
        let o = &self.cfg.origin;
        if parts.uri.scheme().is_some() {
            match Origin::from_uri(&parts.uri) {
                Ok(theirs) if theirs == *o => {}
                _ => {
                    return Err(FetchError::BadRequest(format!(
                        "{} is not on this client's origin {o}",
                        parts.uri
                    )))
                }
            }
        } else {
            let path = parts
                .uri
                .path_and_query()
                .filter(|p| p.as_str().starts_with('/'))
                .cloned()
                .unwrap_or_else(|| PathAndQuery::from_static("/"));
            let mut uri = http::uri::Parts::default();
            uri.scheme = Some(self.scheme.clone());
            uri.authority = self.authority.clone();
            uri.path_and_query = Some(path);
            parts.uri = Uri::from_parts(uri).map_err(|e| FetchError::BadRequest(e.to_string()))?;
        }
        Ok((parts, body))
    }
}

impl Actor for Client {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Fetches past actix's default capacity (16) take its slow path
        // (parked sender, address clone, sent again when woken): a profile
        // with 100 in flight showed 4 of 5 there. The mailbox stays bounded
        // (by `max_queued`, the queue's own limit).
        ctx.set_mailbox_capacity(self.cfg.max_queued.max(16));
        ctx.run_interval(ABANDON_SWEEP, |act, _| {
            if !act.streams.is_empty() || !act.queue.is_empty() {
                act.sweep_abandoned();
            }
        });
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        for job in std::mem::take(&mut self.queue) {
            job.tx.send(Err(FetchError::ClientStopped));
        }
        for (_, f) in self.streams.drain() {
            f.job.tx.send(Err(FetchError::ClientStopped));
        }
        for (_, job) in self.dispatching.drain() {
            job.tx.send(Err(FetchError::ClientStopped));
        }
        if let Some(live) = self.conn.take() {
            live.addr.do_send(Close {
                code: ErrorCode::NO_ERROR,
            });
        }
    }
}

impl Supervised for Client {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.conn = None;
        self.connecting = false;
        self.orphans.clear();
    }
}
