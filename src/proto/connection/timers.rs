//! The per-connection deadlines of [`Timeouts`](crate::proto::Timeouts):
//! handshake (§3.4), idle (§6.8), keepalive (§6.7) and stalled streams
//! (§5.2, §6.9). Their state lives in [`Timers`]; `poll_timeout` and
//! `handle_timeout` (in `shutdown.rs`) consult it.
//!
//! Time comes in as `now`. Some transitions happen where no `now` is given
//! (a stream's window found shut in `poll_transmit`, the last stream ending
//! in `send_headers`): they are marked "unstamped" and take the next `now`
//! seen, from any entry point or from [`Connection::observe_time`]; until
//! then [`Connection::poll_timeout`] answers "now", so a driver that calls
//! `handle_timeout` when told never loses one.
//!
//! Cost: `handle_timeout` does no work per stream unless a deadline has
//! passed. Stalled streams sit in an ordered set keyed by (since, id), so
//! the earliest is the first entry; a stream enters it when its window is
//! found shut and leaves it when the window opens or the stream ends.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::debug;

use crate::frame::{ErrorCode, Frame, Ping};
use crate::proto::stream::{Stall, Stream};
use crate::proto::{ConnectionError, Role, Timeout};

use super::Connection;

/// The payload of keepalive PINGs.
pub(super) const KEEPALIVE_PING: [u8; 8] = *b"h2a-live";

/// Timer state (see the module docs).
#[derive(Debug)]
pub(super) struct Timers {
    /// The latest `now` given to any entry point.
    clock: Instant,
    /// When the connection started: the handshake deadline counts from here.
    started: Instant,
    /// When the last frame from the peer arrived (or the start).
    last_recv: Instant,
    /// When our keepalive PING went out, while it waits for an answer.
    ping_sent: Option<Instant>,
    /// Since when no stream exists; `None` while streams exist, or when the
    /// last one has just ended and the next `now` will stamp it.
    idle_since: Option<Instant>,
    /// Stalled streams, earliest first.
    stalled: BTreeSet<(Instant, u32)>,
    /// Streams found stalled since the last `now`.
    unstamped: Vec<u32>,
    /// The connection window is shut with DATA queued.
    conn_stall: Stall,
    /// The timeout that ended (or is ending) the connection.
    pub(super) expired: Option<Timeout>,
}

impl Timers {
    pub(super) fn new(now: Instant) -> Self {
        Timers {
            clock: now,
            started: now,
            last_recv: now,
            ping_sent: None,
            idle_since: Some(now),
            stalled: BTreeSet::new(),
            unstamped: Vec::new(),
            conn_stall: Stall::No,
            expired: None,
        }
    }
}

/// `s` has DATA queued and its send window is shut (found where no `now`
/// is given): it is stamped with the next one.
/// Each stream is in `unstamped` at most once (it enters on `No` ->
/// `Unstamped` and leaves when stamped, unstalled or removed), so the list
/// is bounded by the stream table.
pub(super) fn stall<A>(s: &mut Stream<A>, t: &mut Timers) {
    if s.stall != Stall::No {
        return;
    }
    s.stall = Stall::Unstamped;
    t.unstamped.push(s.id);
}

/// The connection window is shut with DATA queued somewhere.
pub(super) fn conn_stall(t: &mut Timers) {
    if t.conn_stall == Stall::No {
        t.conn_stall = Stall::Unstamped;
    }
}

/// If `s` has DATA queued: its own window shut stalls it, else the
/// connection's shut window stalls the connection.
pub(super) fn watch_stall<A>(s: &mut Stream<A>, conn_shut: bool, t: &mut Timers) {
    if s.queue.is_empty() {
        return;
    }
    if s.send_window.available() == 0 {
        stall(s, t);
    } else if conn_shut {
        conn_stall(t);
    }
}

/// `s`'s send window opened, or it ended: it is no longer stalled.
pub(super) fn unstall<A>(s: &mut Stream<A>, t: &mut Timers) {
    match s.stall {
        Stall::Since(since) => {
            t.stalled.remove(&(since, s.id));
        }
        Stall::Unstamped => {
            if let Some(pos) = t.unstamped.iter().position(|&id| id == s.id) {
                t.unstamped.swap_remove(pos);
            }
        }
        Stall::No => {}
    }
    s.stall = Stall::No;
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl<A> Connection<A> {
    /// Which timeout ended the connection, if one did: the actor reports it
    /// as the close reason.
    pub fn timed_out(&self) -> Option<Timeout> {
        self.timers.expired
    }

    /// True when something happened where no `now` was given (a stream's
    /// send window found shut, the last stream ended) and the timers need
    /// the time: call [`Connection::observe_time`], then
    /// [`Connection::poll_timeout`] may be earlier than before.
    pub fn needs_time(&self) -> bool {
        (self.config.timeouts.idle_limit().is_some()
            && self.streams.is_empty()
            && self.timers.idle_since.is_none())
            || !self.timers.unstamped.is_empty()
            || self.timers.conn_stall == Stall::Unstamped
    }

    /// Tells the state machine the time without firing any timer: stamps
    /// the transitions [`Connection::needs_time`] reports. Every entry point
    /// that takes `now` does this too.
    pub fn observe_time(&mut self, now: Instant) {
        if now > self.timers.clock {
            self.timers.clock = now;
        }
        let now = self.timers.clock;
        let t = &mut self.timers;
        if t.idle_since.is_none() && self.streams.is_empty() {
            t.idle_since = Some(now);
        }
        if t.conn_stall == Stall::Unstamped {
            t.conn_stall = Stall::Since(now);
        }
        for id in t.unstamped.drain(..) {
            if let Some(s) = self.streams.get_mut(&id) {
                if s.stall == Stall::Unstamped {
                    s.stall = Stall::Since(now);
                    t.stalled.insert((now, id));
                }
            }
        }
    }

    /// A frame (well-formed or not) arrived from the peer at `now`: it is
    /// alive (keepalive).
    pub(super) fn saw_peer(&mut self, now: Instant) {
        self.observe_time(now);
        self.timers.last_recv = self.timers.clock;
        self.timers.ping_sent = None;
    }

    /// The connection window is shut with DATA queued (no `now` here).
    pub(super) fn conn_stalled(&mut self) {
        if self.config.timeouts.stall_limit().is_some() {
            conn_stall(&mut self.timers);
        }
    }

    /// Starts the stall clock of `id` (or the connection's) if it has DATA
    /// queued behind a shut window. Called where windows shrink or DATA is
    /// queued; a shut window with DATA queued makes `wants_transmit` false,
    /// so `poll_transmit` alone would never see it.
    pub(super) fn check_stall(&mut self, id: u32) {
        if self.config.timeouts.stall_limit().is_none() {
            return;
        }
        let conn_shut = self.conn_send.available() == 0;
        if let Some(s) = self.streams.get_mut(&id) {
            watch_stall(s, conn_shut, &mut self.timers);
        }
    }

    /// The connection window opened.
    pub(super) fn conn_unstalled(&mut self) {
        self.timers.conn_stall = Stall::No;
    }

    /// Bookkeeping when a stream leaves the table.
    pub(super) fn timers_stream_removed(&mut self, s: &mut Stream<A>) {
        unstall(s, &mut self.timers);
        if self.streams.is_empty() {
            self.timers.idle_since = None;
        }
    }

    /// True when idleness is watched: no GOAWAY either way, no error.
    fn idle_watched(&self) -> bool {
        self.goaway_sent.is_none()
            && self.goaway_recv.is_none()
            && self.shutdown_deadline.is_none()
            && self.error.is_none()
    }

    /// The earliest deadline of the [`Timeouts`](crate::proto::Timeouts).
    pub(super) fn timers_deadline(&self) -> Option<Instant> {
        let to = &self.config.timeouts;
        let t = &self.timers;
        if self.needs_time() {
            return Some(t.clock);
        }
        let mut next = None;
        if let Some(h) = to.handshake_limit() {
            if !self.peer_settings_seen {
                next = earliest(next, Some(t.started + h));
            }
        }
        if let Some(idle) = to.idle_limit() {
            if self.streams.is_empty() && self.idle_watched() {
                next = earliest(next, t.idle_since.map(|s| s + idle));
            }
        }
        if let Some(k) = to.keepalive_on() {
            let at = match t.ping_sent {
                Some(sent) => sent + k.timeout,
                None => t.last_recv + k.interval,
            };
            next = earliest(next, Some(at));
        }
        if let Some(n) = to.stall_limit() {
            next = earliest(next, t.stalled.first().map(|(since, _)| *since + n));
            if let Stall::Since(since) = t.conn_stall {
                next = earliest(next, Some(since + n));
            }
        }
        next
    }

    /// Fires the deadlines of the [`Timeouts`](crate::proto::Timeouts) that
    /// have passed at `now`.
    pub(super) fn fire_timers(&mut self, now: Instant) -> Result<(), ConnectionError> {
        self.observe_time(now);
        let to = self.config.timeouts;
        if let Some(k) = to.keepalive_on() {
            match self.timers.ping_sent {
                Some(sent) if now >= sent + k.timeout => {
                    self.timers.expired = Some(Timeout::Keepalive);
                    let reason = format!(
                        "no answer to a keepalive PING within {}: peer presumed dead",
                        secs(k.timeout)
                    );
                    return Err(self.conn_error(ErrorCode::NO_ERROR, &reason));
                }
                None if now >= self.timers.last_recv + k.interval => {
                    debug!("peer silent: keepalive PING");
                    Frame::Ping(Ping {
                        ack: false,
                        payload: KEEPALIVE_PING,
                    })
                    .encode(&mut self.pending);
                    self.timers.ping_sent = Some(now);
                }
                _ => {}
            }
        }
        if let Some(n) = to.stall_limit() {
            self.expire_stalls(now, n);
        }
        if let Some(idle) = to.idle_limit() {
            // Stamp an idleness the stall resets above may have begun.
            self.observe_time(now);
            let due = self.timers.idle_since.is_some_and(|s| now >= s + idle);
            if due && self.streams.is_empty() && self.idle_watched() {
                debug!("idle: going away");
                self.timers.expired = Some(Timeout::Idle);
                match self.role {
                    // A request may cross the GOAWAY: the two-step shutdown
                    // still serves it (§6.8).
                    Role::Server => self.go_away_graceful(now),
                    Role::Client => self.go_away(ErrorCode::NO_ERROR, Bytes::new()),
                }
            }
        }
        Ok(())
    }

    /// The handshake deadline: checked before the SETTINGS ACK deadline, so
    /// a peer that sent nothing at all is told the real cause.
    pub(super) fn fire_handshake(&mut self, now: Instant) -> Result<(), ConnectionError> {
        let Some(h) = self.config.timeouts.handshake_limit() else {
            return Ok(());
        };
        if !self.peer_settings_seen && now >= self.timers.started + h {
            self.timers.expired = Some(Timeout::Handshake);
            let reason = format!(
                "no connection preface and SETTINGS from the peer within {} (§3.4)",
                secs(h)
            );
            return Err(self.conn_error(ErrorCode::PROTOCOL_ERROR, &reason));
        }
        Ok(())
    }

    /// Resets the streams stalled for `n` or more at `now`.
    fn expire_stalls(&mut self, now: Instant, n: Duration) {
        let reason = "send window shut with DATA queued for too long (stalled stream)";
        while let Some(&(since, id)) = self.timers.stalled.first() {
            if now < since + n {
                break;
            }
            self.timers.stalled.pop_first();
            if let Some(s) = self.streams.get_mut(&id) {
                s.stall = Stall::No;
            }
            self.stream_error(id, ErrorCode::CANCEL, reason);
        }
        if let Stall::Since(since) = self.timers.conn_stall {
            if now >= since + n {
                self.timers.conn_stall = Stall::No;
                let mut ids: Vec<u32> = self
                    .streams
                    .iter()
                    .filter(|(_, s)| !s.queue.is_empty())
                    .map(|(id, _)| *id)
                    .collect();
                ids.sort_unstable();
                for id in ids {
                    self.stream_error(id, ErrorCode::CANCEL, reason);
                }
            }
        }
    }
}

/// "10s", "1.5s": durations in error texts.
fn secs(d: Duration) -> String {
    format!("{:?}", d)
}
