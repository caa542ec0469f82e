//! Every deadline of a connection in one table, [`TimerTable`]: one slot
//! per [`Timer`], `next()` the earliest. The slots are the handshake
//! (RFC 9113 §3.4), the SETTINGS ACK (§6.5.3), the second step of a
//! graceful shutdown (§6.8), idleness (§6.8: a GOAWAY lets an idle
//! connection go), keepalive (§6.7: a PING tests a silent peer) and
//! stalled streams (§5.2, §6.9: DATA queued behind a shut window).
//! [`Connection::poll_timeout`] is the table's `next()`;
//! `handle_timeout` (in `shutdown.rs`) fires the slots that are due.
//!
//! Time comes in as `now`: every entry point that can move a deadline
//! takes it (`recv_frame`, `recv_malformed`, `handle_timeout`, the `send_*`
//! calls, `reset`, `go_away`, `go_away_graceful`, `update_settings`,
//! `poll_transmit`), and stamps [`Timers::now`] with it first; what that
//! call finds (a window shut with DATA queued, the last stream ended) is
//! dated with it and lands in the table at once. So after any call,
//! `poll_timeout` is exact: a driver asks it once at the end of its turn.
//!
//! Cost: `poll_timeout` is a minimum over six slots; `handle_timeout` does
//! no work per stream unless a deadline has passed. Stalled streams sit in
//! an ordered set keyed by (since, id), so the earliest is the first entry
//! (the `Stall` slot); a stream enters it when its window is found shut
//! and leaves it when the window opens or the stream ends.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::debug;

use crate::frame::{ErrorCode, Frame, Ping};
use crate::proto::stream::{Stall, Stream};
use crate::proto::{ConnectionError, Role, Timeout, Timeouts};

use super::Connection;

/// The payload of keepalive PINGs.
pub(super) const KEEPALIVE_PING: [u8; 8] = *b"h2a-live";

/// The deadlines of a connection, one slot each in the [`TimerTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// §3.4: the peer's connection preface and first SETTINGS
    /// (`Timeouts::handshake`).
    Handshake,
    /// §6.5.3: the ACK of our oldest outstanding SETTINGS
    /// (`Config::settings_timeout`).
    SettingsAck,
    /// §6.8: the final GOAWAY of a two-step shutdown, if the PING sent with
    /// the first one is not answered before.
    Shutdown,
    /// No stream for `Timeouts::idle`: GOAWAY (§6.8).
    Idle,
    /// `Timeouts::keepalive`: PING a silent peer (§6.7), or give up on the
    /// answer.
    Keepalive,
    /// `Timeouts::stalled_stream`: the earliest stream (or the connection)
    /// stalled behind a shut window (§5.2, §6.9).
    Stall,
}

impl Timer {
    const COUNT: usize = 6;
}

/// One optional deadline per [`Timer`] (the model is quinn-proto's timer
/// table).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct TimerTable {
    at: [Option<Instant>; Timer::COUNT],
}

impl TimerTable {
    pub(super) fn set(&mut self, t: Timer, at: Instant) {
        self.at[t as usize] = Some(at);
    }

    pub(super) fn stop(&mut self, t: Timer) {
        self.at[t as usize] = None;
    }

    pub(super) fn get(&self, t: Timer) -> Option<Instant> {
        self.at[t as usize]
    }

    /// `t` is set and due at `now`.
    pub(super) fn expired(&self, t: Timer, now: Instant) -> bool {
        self.get(t).is_some_and(|at| now >= at)
    }

    /// The earliest deadline.
    pub(super) fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }
}

/// Timer state (see the module docs).
#[derive(Debug)]
pub(super) struct Timers {
    pub(super) table: TimerTable,
    /// The latest `now` given to an entry point: what the current call
    /// finds is dated with it.
    pub(super) now: Instant,
    /// Our keepalive PING is out, unanswered.
    ping_out: bool,
    /// Stalled streams, earliest first.
    stalled: BTreeSet<(Instant, u32)>,
    /// Since when the connection window is shut with DATA queued.
    conn_stall: Option<Instant>,
    /// `Timeouts::stall_limit`, for the `Stall` slot.
    stall_limit: Option<Duration>,
    /// The timeout that ended (or is ending) the connection.
    pub(super) expired: Option<Timeout>,
}

impl Timers {
    /// The timers of a connection starting at `now`: handshake, idle (no
    /// stream yet) and keepalive run from here.
    pub(super) fn new(now: Instant, to: &Timeouts) -> Self {
        let mut table = TimerTable::default();
        if let Some(h) = to.handshake_limit() {
            table.set(Timer::Handshake, now + h);
        }
        if let Some(idle) = to.idle_limit() {
            table.set(Timer::Idle, now + idle);
        }
        if let Some(k) = to.keepalive_on() {
            table.set(Timer::Keepalive, now + k.interval);
        }
        Timers {
            table,
            now,
            ping_out: false,
            stalled: BTreeSet::new(),
            conn_stall: None,
            stall_limit: to.stall_limit(),
            expired: None,
        }
    }

    /// An entry point was given `now` (never moves back).
    pub(super) fn tick(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    /// The `Stall` slot: the earliest stall plus the limit.
    fn refresh_stall(&mut self) {
        let Some(n) = self.stall_limit else {
            return;
        };
        let first = self.stalled.first().map(|(since, _)| *since);
        let since = match (first, self.conn_stall) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match since {
            Some(since) => self.table.set(Timer::Stall, since + n),
            None => self.table.stop(Timer::Stall),
        }
    }
}

/// `s` has DATA queued and its send window is shut: stalled since now.
pub(super) fn stall<A>(s: &mut Stream<A>, t: &mut Timers) {
    if s.stall != Stall::No {
        return;
    }
    s.stall = Stall::Since(t.now);
    t.stalled.insert((t.now, s.id));
    t.refresh_stall();
}

/// The connection window is shut with DATA queued somewhere.
pub(super) fn conn_stall(t: &mut Timers) {
    if t.conn_stall.is_none() {
        t.conn_stall = Some(t.now);
        t.refresh_stall();
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
    if let Stall::Since(since) = s.stall {
        t.stalled.remove(&(since, s.id));
        t.refresh_stall();
    }
    s.stall = Stall::No;
}

impl<A> Connection<A> {
    /// Which timeout ended the connection, if one did: the actor reports it
    /// as the close reason.
    pub fn timed_out(&self) -> Option<Timeout> {
        self.timers.expired
    }

    /// An entry point was given `now`: what it finds is dated with it.
    pub(super) fn tick(&mut self, now: Instant) {
        self.timers.tick(now);
    }

    /// A frame (well-formed or not) arrived from the peer at `now`: it is
    /// alive (keepalive, §6.7).
    pub(super) fn saw_peer(&mut self, now: Instant) {
        self.tick(now);
        self.timers.ping_out = false;
        if let Some(k) = self.config.timeouts.keepalive_on() {
            let at = self.timers.now + k.interval;
            self.timers.table.set(Timer::Keepalive, at);
        }
    }

    /// The connection window is shut with DATA queued.
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
        if self.timers.conn_stall.take().is_some() {
            self.timers.refresh_stall();
        }
    }

    /// Bookkeeping when a stream enters the table: the connection is not
    /// idle.
    pub(super) fn timers_stream_added(&mut self) {
        self.timers.table.stop(Timer::Idle);
    }

    /// Bookkeeping when a stream leaves the table: the last one gone, the
    /// connection is idle from now.
    pub(super) fn timers_stream_removed(&mut self, s: &mut Stream<A>) {
        unstall(s, &mut self.timers);
        if self.streams.is_empty() && self.idle_watched() {
            if let Some(idle) = self.config.timeouts.idle_limit() {
                let at = self.timers.now + idle;
                self.timers.table.set(Timer::Idle, at);
            }
        }
    }

    /// A GOAWAY went out or came in, or the connection failed: idleness is
    /// no longer watched (it never is again).
    pub(super) fn idle_unwatched(&mut self) {
        self.timers.table.stop(Timer::Idle);
    }

    /// The `SettingsAck` slot: our oldest SETTINGS not acknowledged, plus
    /// `settings_timeout` (§6.5.3).
    pub(super) fn refresh_settings_timer(&mut self) {
        match self.pending_settings.front() {
            Some((_, sent)) => {
                let at = *sent + self.config.settings_timeout;
                self.timers.table.set(Timer::SettingsAck, at);
            }
            None => self.timers.table.stop(Timer::SettingsAck),
        }
    }

    /// The two-step shutdown waits for its PING's answer (§6.8).
    pub(super) fn shutdown_pending(&self) -> bool {
        self.timers.table.get(Timer::Shutdown).is_some()
    }

    /// True when idleness is watched: no GOAWAY either way, no error.
    fn idle_watched(&self) -> bool {
        self.goaway_sent.is_none()
            && self.goaway_recv.is_none()
            && !self.shutdown_pending()
            && self.error.is_none()
    }

    /// Fires the deadlines of the [`Timeouts`](crate::proto::Timeouts)
    /// (keepalive, stalled streams, idle) that have passed at `now`.
    pub(super) fn fire_timers(&mut self, now: Instant) -> Result<(), ConnectionError> {
        self.tick(now);
        let to = self.config.timeouts;
        if let Some(k) = to.keepalive_on() {
            if self.timers.table.expired(Timer::Keepalive, now) {
                if self.timers.ping_out {
                    self.timers.expired = Some(Timeout::Keepalive);
                    let reason = format!(
                        "no answer to a keepalive PING within {}: peer presumed dead",
                        secs(k.timeout)
                    );
                    return Err(self.conn_error(ErrorCode::NO_ERROR, &reason));
                }
                debug!("peer silent: keepalive PING");
                Frame::Ping(Ping {
                    ack: false,
                    payload: KEEPALIVE_PING,
                })
                .encode(&mut self.pending);
                self.timers.ping_out = true;
                self.timers.table.set(Timer::Keepalive, now + k.timeout);
            }
        }
        if let Some(n) = to.stall_limit() {
            if self.timers.table.expired(Timer::Stall, now) {
                self.expire_stalls(now, n);
            }
        }
        // The stall resets above may have begun an idleness (dated now).
        if self.timers.table.expired(Timer::Idle, now)
            && self.streams.is_empty()
            && self.idle_watched()
        {
            debug!("idle: going away");
            self.timers.expired = Some(Timeout::Idle);
            match self.role {
                // A request may cross the GOAWAY: the two-step shutdown
                // still serves it (§6.8).
                Role::Server => self.go_away_graceful(now),
                Role::Client => self.go_away(ErrorCode::NO_ERROR, Bytes::new(), now),
            }
        }
        Ok(())
    }

    /// The handshake deadline (§3.4): checked before the SETTINGS ACK
    /// deadline, so a peer that sent nothing at all is told the real cause.
    pub(super) fn fire_handshake(&mut self, now: Instant) -> Result<(), ConnectionError> {
        let Some(h) = self.config.timeouts.handshake_limit() else {
            return Ok(());
        };
        if !self.peer_settings_seen && self.timers.table.expired(Timer::Handshake, now) {
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
        if self.timers.conn_stall.is_some_and(|since| now >= since + n) {
            self.timers.conn_stall = None;
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
        self.timers.refresh_stall();
    }
}

/// "10s", "1.5s": durations in error texts.
fn secs(d: Duration) -> String {
    format!("{:?}", d)
}
