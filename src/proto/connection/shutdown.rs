//! Timers and shutdown: the SETTINGS ACK deadline (§6.5.3), GOAWAY (§6.8)
//! plain and in two steps, and when a connection is finished. Time comes in
//! as `now`; nothing here reads a clock.

use std::time::Instant;

use bytes::Bytes;

use crate::frame::{ErrorCode, Frame, GoAway, Ping, StreamId};

use super::timers::Timer;
use super::Connection;
use crate::proto::ConnectionError;

/// The payload of the PING that follows a first, open-ended GOAWAY.
pub(super) const SHUTDOWN_PING: [u8; 8] = *b"h2a-shut";

impl<A> Connection<A> {
    /// When `handle_timeout` must next be called: the earliest deadline of
    /// the timer table (see `timers.rs`): the handshake (§3.4), the
    /// SETTINGS ACK (§6.5.3), the graceful shutdown's second step (§6.8)
    /// and the [`Timeouts`](crate::proto::Timeouts) (idle, keepalive,
    /// stalled streams). `None` when no timer runs (or after a connection
    /// error). Exact after every call: every entry point that can move a
    /// deadline takes `now`, so a driver asks once, at the end of its turn.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.error.is_some() {
            return None;
        }
        self.timers.table.next()
    }

    /// Fires the timers that have expired at `now`; cheap when none has.
    /// A missing SETTINGS ACK is a connection error SETTINGS_TIMEOUT; the
    /// [`Timeouts`](crate::proto::Timeouts) act as their docs say (on `Err`,
    /// [`Connection::timed_out`] tells which one ended the connection).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnectionError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.tick(now);
        self.fire_handshake(now)?;
        if self.timers.table.expired(Timer::Shutdown, now) {
            // No PING ACK in time: close the door anyway.
            self.timers.table.stop(Timer::Shutdown);
            self.go_away(ErrorCode::NO_ERROR, Bytes::new(), now);
        }
        if self.timers.table.expired(Timer::SettingsAck, now) {
            return Err(self.conn_error(
                ErrorCode::SETTINGS_TIMEOUT,
                "SETTINGS not acknowledged in time (§6.5.3)",
            ));
        }
        self.fire_timers(now)
    }

    /// The two-step graceful shutdown of RFC 9113 §6.8: a GOAWAY with last
    /// stream id 2^31-1 and a PING now (streams the peer has in flight are
    /// still accepted); the final GOAWAY, with the last stream processed,
    /// when the PING ACK arrives (one round trip later) or after
    /// `settings_timeout` after `now`. Then as [`Connection::go_away`].
    pub fn go_away_graceful(&mut self, now: Instant) {
        if self.error.is_some() || self.goaway_sent.is_some() {
            return;
        }
        self.tick(now);
        Frame::GoAway(GoAway {
            last_stream_id: StreamId::MAX,
            error_code: ErrorCode::NO_ERROR,
            debug_data: Bytes::new(),
        })
        .encode(&mut self.pending);
        Frame::Ping(Ping {
            ack: false,
            payload: SHUTDOWN_PING,
        })
        .encode(&mut self.pending);
        self.timers
            .table
            .set(Timer::Shutdown, now + self.config.settings_timeout);
        self.idle_unwatched();
    }

    /// Graceful shutdown: GOAWAY(code) with the last peer stream processed;
    /// no new streams; open ones finish. See [`Connection::is_finished`].
    /// `now`: what the call changes is dated with it (it ends the
    /// two-step shutdown's deadline and idleness, §6.8).
    pub fn go_away(&mut self, code: ErrorCode, debug_data: Bytes, now: Instant) {
        if self.error.is_some() {
            return;
        }
        self.tick(now);
        let last = self.last_peer_id;
        Frame::GoAway(GoAway {
            last_stream_id: StreamId(last),
            error_code: code,
            debug_data,
        })
        .encode(&mut self.pending);
        self.goaway_sent = Some(self.goaway_sent.map_or(last, |p| p.min(last)));
        self.timers.table.stop(Timer::Shutdown);
        self.idle_unwatched();
    }

    /// True when the connection has nothing left to do: a GOAWAY was sent or
    /// received and no stream is open, or a connection error occurred. Write
    /// what `poll_transmit` still has, then close.
    pub fn is_finished(&self) -> bool {
        self.error.is_some()
            || ((self.goaway_sent.is_some() || self.goaway_recv.is_some())
                && !self.shutdown_pending()
                && self.streams.is_empty())
    }
}
