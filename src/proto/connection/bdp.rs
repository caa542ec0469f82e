//! The adaptive receive window ([`Config::adaptive_window`]): our receive
//! windows grow to the connection's bandwidth-delay product.
//!
//! A fixed window caps what one stream can receive at `window / RTT`: 1 MiB
//! over a 40 ms round trip is 25 MiB/s whatever the link. With the adaptive
//! window on, the first DATA frame sends a PING with [`BDP_PING`] and the
//! DATA bytes received until its ACK are counted: that is what the peer
//! managed to send in one round trip. If those bytes filled at least two
//! thirds of the stream window, the window was what held the peer back, so
//! it is raised to twice the bytes (at most the configured cap): a SETTINGS
//! with the new SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113 §6.9.2: the peer
//! adds the difference to every open stream's window) and, when the
//! connection window is smaller, a WINDOW_UPDATE on stream 0 (§6.9.1).
//! Windows only grow; samples are taken at most once per
//! [`MIN_SAMPLE_INTERVAL`] (or two round trips), and not at all once the
//! cap is reached.
//!
//! The SETTINGS goes through `update_settings`, under which an increase
//! counts in our own flow control as soon as it is sent (the peer may use
//! it before we see its ACK; see `set_local_initial_window`).
//!
//! Memory stays bounded: the stream and connection windows are what the
//! peer may send us unread, and both stop at the cap.

use std::time::{Duration, Instant};

use tracing::debug;

use crate::frame::{Frame, Ping, Setting, StreamId, WindowUpdate, MAX_WINDOW_SIZE};

use super::Connection;

/// The payload of the PINGs the adaptive window sends
/// ([`Config::adaptive_window`](crate::proto::Config::adaptive_window)):
/// told apart from keepalive, shutdown and user PINGs by it.
pub const BDP_PING: [u8; 8] = *b"h2a:bdp\0";

/// The least time between two samples (a local link's round trip is
/// microseconds; a PING per round trip there would be thousands a second).
pub(crate) const MIN_SAMPLE_INTERVAL: Duration = Duration::from_millis(50);

/// The estimator's state, created with the first DATA frame.
#[derive(Debug)]
pub(crate) struct Bdp {
    /// DATA bytes received since the PING went out.
    bytes: u64,
    /// When the BDP PING in flight went out.
    sent_at: Option<Instant>,
    /// No new sample before this.
    next_sample: Option<Instant>,
    /// Smoothed round-trip time.
    rtt: Option<Duration>,
    /// The best bandwidth seen, bytes per second.
    max_bw: f64,
}

impl<A> Connection<A> {
    /// DATA of `flow` bytes arrived (counted on the connection window).
    pub(super) fn bdp_on_data(&mut self, flow: u32, now: Instant) {
        let Some(cap) = self.config.adaptive_window else {
            return;
        };
        let cap = cap.min(MAX_WINDOW_SIZE);
        if self.local.initial_window_size >= cap || self.goaway_sent.is_some() {
            return;
        }
        let b = self.bdp.get_or_insert_with(|| {
            Box::new(Bdp {
                bytes: 0,
                sent_at: None,
                next_sample: None,
                rtt: None,
                max_bw: 0.0,
            })
        });
        if b.sent_at.is_some() {
            b.bytes += u64::from(flow);
            return;
        }
        if b.next_sample.is_some_and(|t| now < t) {
            return;
        }
        b.bytes = u64::from(flow);
        b.sent_at = Some(now);
        Frame::Ping(Ping {
            ack: false,
            payload: BDP_PING,
        })
        .encode(&mut self.pending);
    }

    /// A PING ACK with [`BDP_PING`] arrived. False if we had none in flight
    /// (the caller then treats it as any unexpected ACK).
    pub(super) fn bdp_on_ack(&mut self, now: Instant) -> bool {
        let Some(cap) = self.config.adaptive_window else {
            return false;
        };
        let cap = cap.min(MAX_WINDOW_SIZE);
        let Some(b) = self.bdp.as_deref_mut() else {
            return false;
        };
        let Some(sent) = b.sent_at.take() else {
            return false;
        };
        let sample = now
            .saturating_duration_since(sent)
            .max(Duration::from_micros(1));
        let rtt = match b.rtt {
            None => sample,
            Some(r) => (r * 7 + sample) / 8,
        };
        b.rtt = Some(rtt);
        b.next_sample = Some(now + (rtt * 2).max(MIN_SAMPLE_INTERVAL));
        let bytes = b.bytes;
        b.bytes = 0;
        let bw = bytes as f64 / sample.as_secs_f64();
        let window = self.local.initial_window_size;
        if (bytes as f64) < f64::from(window) * 2.0 / 3.0 || bw <= b.max_bw {
            return true;
        }
        b.max_bw = bw;
        let new = bytes.saturating_mul(2).min(u64::from(cap)) as u32;
        if new > window {
            debug!(
                old = window,
                new,
                ?rtt,
                "adaptive window: growing the receive windows"
            );
            self.grow_windows(new, now);
        }
        true
    }

    /// Raises every receive window to `new` bytes (see the module docs).
    fn grow_windows(&mut self, new: u32, now: Instant) {
        // The stream windows: a SETTINGS, counted at once by
        // `update_settings` (refused only while too many are unacknowledged:
        // the next sample tries again).
        if self
            .update_settings(vec![Setting::InitialWindowSize(new)], now)
            .is_err()
        {
            return;
        }
        if new > self.conn_target {
            let inc = new - self.conn_target;
            self.conn_target = new;
            if self.conn_recv.increase(inc).is_ok() {
                Frame::WindowUpdate(WindowUpdate {
                    stream_id: StreamId::ZERO,
                    increment: inc,
                })
                .encode(&mut self.pending);
            }
        }
    }
}
