//! The `Client`'s messages: `Fetch`, `Close`, `GetClientStats`, and the
//! connection's notifications (keyed by the stream's `H2Stream`).

use std::time::Instant;

use actix::prelude::{ActorContext, Context, Handler, MessageResult};

use super::{
    Client, Close, CloseReason, Closed, ConnectionId, ErrorCode, Event, Fetch, FetchError,
    FetchReply, GetClientStats, GoAway, Job, RecvData, RecvHeaders, RecvPromise, RecvReset,
    RecvTrailers, Reply, Reset,
};

impl Handler<Fetch> for Client {
    type Result = FetchReply;

    fn handle(&mut self, msg: Fetch, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, reply) = Reply::new(&self.replies);
        if self.queue.len() >= self.cfg.max_queued {
            tx.send(Err(FetchError::QueueFull));
            return reply;
        }
        let (parts, body) = match self.prepare(msg.request) {
            Ok(p) => p,
            Err(e) => {
                tx.send(Err(e));
                return reply;
            }
        };
        let timeout = msg.timeout.unwrap_or(self.cfg.timeout);
        self.next_job += 1;
        let id = self.next_job;
        let deadline = Instant::now() + timeout;
        // Not boxed: moving it (the queue, the table of requests being
        // dispatched, the in-flight table) costs less than an allocation.
        self.queue.push_back(Job {
            id,
            parts,
            body,
            idempotent: msg.idempotent,
            attempts: 0,
            refusals: 0,
            queued_at: Instant::now(),
            deadline,
            timeout,
            tx,
            conn: ConnectionId::default(),
        });
        self.watch_deadline(deadline, id, ctx);
        self.pump(ctx);
        reply
    }
}

/// `Close` stops the client: its connection closes gracefully (GOAWAY),
/// requests still queued or in flight fail with [`FetchError::ClientStopped`].
impl Handler<Close> for Client {
    type Result = ();
    fn handle(&mut self, _: Close, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<GetClientStats> for Client {
    type Result = MessageResult<GetClientStats>;
    fn handle(&mut self, _: GetClientStats, _: &mut Context<Self>) -> Self::Result {
        let mut s = self.stats.clone();
        s.queued = self.queue.len();
        s.in_flight = self.streams.len() + self.dispatching.len();
        MessageResult(s)
    }
}

impl Handler<RecvHeaders> for Client {
    type Result = ();
    fn handle(&mut self, m: RecvHeaders, ctx: &mut Context<Self>) {
        self.on_event(Event::RecvHeaders(m), ctx);
    }
}

impl Handler<RecvData> for Client {
    type Result = ();
    fn handle(&mut self, m: RecvData, ctx: &mut Context<Self>) {
        self.on_event(Event::RecvData(m), ctx);
    }
}

impl Handler<RecvTrailers> for Client {
    type Result = ();
    fn handle(&mut self, m: RecvTrailers, ctx: &mut Context<Self>) {
        self.on_event(Event::RecvTrailers(m), ctx);
    }
}

impl Handler<RecvReset> for Client {
    type Result = ();
    fn handle(&mut self, m: RecvReset, ctx: &mut Context<Self>) {
        self.on_event(Event::RecvReset(m), ctx);
    }
}

impl Handler<RecvPromise> for Client {
    type Result = ();
    fn handle(&mut self, m: RecvPromise, _: &mut Context<Self>) {
        // The client does not take pushes: refuse the promised stream.
        m.promised.do_send(Reset {
            code: ErrorCode::CANCEL,
        });
    }
}

impl Handler<GoAway> for Client {
    type Result = ();
    fn handle(&mut self, m: GoAway, ctx: &mut Context<Self>) {
        self.on_go_away(m, ctx);
    }
}

impl Handler<Closed> for Client {
    type Result = ();
    fn handle(&mut self, m: Closed, ctx: &mut Context<Self>) {
        self.on_closed(m, ctx);
    }
}

impl Client {
    pub(super) fn on_go_away(&mut self, m: GoAway, ctx: &mut Context<Self>) {
        if self.conn.as_ref().is_some_and(|l| l.id == m.conn) {
            // New requests go to a new connection; this one finishes what it
            // may (streams above last_stream_id come back as REFUSED_STREAM
            // resets and are re-sent there).
            tracing::debug!(origin = %self.cfg.origin, code = %m.code, last = %m.last_stream_id, "GOAWAY: reconnecting");
            if let Some(live) = self.conn.take() {
                live.addr.do_send(Close {
                    code: ErrorCode::NO_ERROR,
                });
            }
            self.pump(ctx);
        }
    }

    pub(super) fn on_closed(&mut self, m: Closed, ctx: &mut Context<Self>) {
        if self.conn.as_ref().is_some_and(|l| l.id == m.conn) {
            self.conn = None;
        }
        // The latest connection (it may have been dropped as `conn` already,
        // by a request that found it closed).
        if self.latest == Some(m.conn) && !matches!(m.reason, CloseReason::Done) {
            self.failures += 1;
            self.last_failure = m.reason.to_string();
            if !m.peer_settings {
                // Not an HTTP/2 connection after all (the server said
                // nothing in HTTP/2 before it ended): a failed connect,
                // under the same time budget.
                self.last_failure = format!(
                        "{}, before the server sent any HTTP/2 frame (is it an HTTP/2 server, speaking {}?)",
                        m.reason,
                        match self.cfg.origin.mode() {
                            super::Mode::Tls => "TLS",
                            super::Mode::PriorKnowledge => "cleartext h2c",
                        }
                    );
                self.connect_failed(false);
            }
        }
        self.pump(ctx);
    }
}
