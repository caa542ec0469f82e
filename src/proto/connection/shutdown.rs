//! Timers and shutdown: the SETTINGS ACK deadline (§6.5.3), GOAWAY (§6.8)
//! plain and in two steps, and when a connection is finished. Time comes in
//! as `now`; nothing here reads a clock.

use std::time::Instant;

use bytes::Bytes;

use crate::frame::{ErrorCode, Frame, GoAway, Ping, StreamId};

use super::Connection;
use crate::proto::ConnectionError;

/// The payload of the PING that follows a first, open-ended GOAWAY.
pub(super) const SHUTDOWN_PING: [u8; 8] = *b"h2a-shut";

impl<A> Connection<A> {
    /// When `handle_timeout` must next be called: the earliest of the
    /// SETTINGS ACK deadline, the graceful shutdown's deadline and the
    /// [`Timeouts`](crate::proto::Timeouts) (handshake, idle, keepalive,
    /// stalled streams). `None` when no timer runs (or after a connection
    /// error). A time not after the last `now` given means "now": some
    /// transition waits for the time (see [`Connection::needs_time`]).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.error.is_some() {
            return None;
        }
        let settings = self
            .pending_settings
            .front()
            .map(|(_, sent)| *sent + self.config.settings_timeout);
        [settings, self.shutdown_deadline, self.timers_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fires the timers that have expired at `now`; cheap when none has.
    /// A missing SETTINGS ACK is a connection error SETTINGS_TIMEOUT; the
    /// [`Timeouts`](crate::proto::Timeouts) act as their docs say (on `Err`,
    /// [`Connection::timed_out`] tells which one ended the connection).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnectionError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.observe_time(now);
        self.fire_handshake(now)?;
        if self.shutdown_deadline.is_some_and(|d| now >= d) {
            // No PING ACK in time: close the door anyway.
            self.shutdown_deadline = None;
            self.go_away(ErrorCode::NO_ERROR, Bytes::new());
        }
        let settings_deadline = self
            .pending_settings
            .front()
            .map(|(_, sent)| *sent + self.config.settings_timeout);
        if settings_deadline.is_some_and(|deadline| now >= deadline) {
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
        self.observe_time(now);
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
        self.shutdown_deadline = Some(now + self.config.settings_timeout);
    }

    /// Graceful shutdown: GOAWAY(code) with the last peer stream processed;
    /// no new streams; open ones finish. See [`Connection::is_finished`].
    pub fn go_away(&mut self, code: ErrorCode, debug_data: Bytes) {
        if self.error.is_some() {
            return;
        }
        let last = self.last_peer_id;
        Frame::GoAway(GoAway {
            last_stream_id: StreamId(last),
            error_code: code,
            debug_data,
        })
        .encode(&mut self.pending);
        self.goaway_sent = Some(self.goaway_sent.map_or(last, |p| p.min(last)));
        self.shutdown_deadline = None;
    }

    /// True when the connection has nothing left to do: a GOAWAY was sent or
    /// received and no stream is open, or a connection error occurred. Write
    /// what `poll_transmit` still has, then close.
    pub fn is_finished(&self) -> bool {
        self.error.is_some()
            || ((self.goaway_sent.is_some() || self.goaway_recv.is_some())
                && self.shutdown_deadline.is_none()
                && self.streams.is_empty())
    }
}
