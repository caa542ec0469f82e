//! Flood limits (RFC 9113 §10.5, and rapid reset, CVE-2023-44487): every
//! counter that tells a peer doing work for us from a peer making us do
//! work, in one place. Each check answers `Err(reason)` when the peer went
//! too far; the connection turns that into a connection error
//! ENHANCE_YOUR_CALM. Time comes in as `now`: nothing here reads a clock.

use std::time::{Duration, Instant};

/// Frames that cost us work but carry no request or body (PING, SETTINGS,
/// WINDOW_UPDATE, PRIORITY, empty DATA, unknown types, RST_STREAM on closed
/// streams) tolerated within [`CHEAP_FRAME_WINDOW`] without any useful
/// frame in between. Generous: legitimate peers stay far below it.
pub const MAX_CHEAP_FRAMES: u32 = 10_000;
/// RST_STREAM frames we may have queued in answer to the peer and not yet
/// written (a peer that provokes resets without reading them is flooding).
pub const MAX_PENDING_RESETS: usize = 1_000;
/// The time window of [`MAX_CHEAP_FRAMES`].
pub const CHEAP_FRAME_WINDOW: Duration = Duration::from_secs(10);

/// Why the peer is cut off (the GOAWAY's debug text).
pub(crate) type Flood = &'static str;

/// The flood counters of one connection.
#[derive(Debug)]
pub(crate) struct FloodGuards {
    /// The most PING or SETTINGS ACKs that may wait unsent.
    max_pending_acks: usize,
    /// Cheap frames since the last useful one (or the window start).
    cheap_frames: u32,
    cheap_window_start: Instant,
    /// PING ACKs queued and not yet transmitted.
    ping_acks_pending: usize,
    /// SETTINGS ACKs queued and not yet transmitted.
    settings_acks_pending: usize,
    /// RST_STREAM frames queued and not yet transmitted.
    rst_pending: usize,
    /// Peer streams opened (or promised) in the current window, and how
    /// many of them were wasted (rapid reset, refused pushes), the last one
    /// how.
    wasted_window: u64,
    wasted: u64,
    last_waste: Waste,
}

impl FloodGuards {
    /// Fresh counters; `max_pending_pings` bounds unsent PING and SETTINGS
    /// ACKs (at least 1).
    pub(crate) fn new(max_pending_pings: usize, now: Instant) -> Self {
        FloodGuards {
            max_pending_acks: max_pending_pings.max(1),
            cheap_frames: 0,
            cheap_window_start: now,
            ping_acks_pending: 0,
            settings_acks_pending: 0,
            rst_pending: 0,
            wasted_window: 0,
            wasted: 0,
            last_waste: Waste::PeerReset,
        }
    }

    /// Counts a frame that gives us work without progress. Past
    /// [`MAX_CHEAP_FRAMES`], the count starts over if [`CHEAP_FRAME_WINDOW`]
    /// has passed since the window began, and is a flood otherwise.
    pub(crate) fn cheap_frame(&mut self, now: Instant) -> Result<(), Flood> {
        self.cheap_frames += 1;
        if self.cheap_frames > MAX_CHEAP_FRAMES {
            if now.saturating_duration_since(self.cheap_window_start) > CHEAP_FRAME_WINDOW {
                self.cheap_frames = 0;
                self.cheap_window_start = now;
            } else {
                return Err("too many control or empty frames (§10.5)");
            }
        }
        Ok(())
    }

    /// A frame that makes progress (a request, body bytes, DATA we sent):
    /// cheap frames before it were legitimate.
    pub(crate) fn useful_frame(&mut self) {
        self.cheap_frames = 0;
    }

    /// We queued a PING ACK (§6.7).
    pub(crate) fn ping_ack_queued(&mut self) -> Result<(), Flood> {
        self.ping_acks_pending += 1;
        if self.ping_acks_pending > self.max_pending_acks {
            return Err("PING flood: too many ACKs pending (§10.5)");
        }
        Ok(())
    }

    /// We queued a SETTINGS ACK (§6.5.3).
    pub(crate) fn settings_ack_queued(&mut self) -> Result<(), Flood> {
        self.settings_acks_pending += 1;
        if self.settings_acks_pending > self.max_pending_acks {
            return Err("SETTINGS flood: too many ACKs pending (§10.5)");
        }
        Ok(())
    }

    /// We queued an RST_STREAM; see [`FloodGuards::check_resets`].
    pub(crate) fn rst_queued(&mut self) {
        self.rst_pending += 1;
    }

    /// A peer that provokes RST_STREAMs faster than it reads them: the
    /// queue of unsent resets is bounded by [`MAX_PENDING_RESETS`].
    pub(crate) fn check_resets(&self) -> Result<(), Flood> {
        if self.rst_pending > MAX_PENDING_RESETS {
            return Err("too many RST_STREAM frames pending (§10.5)");
        }
        Ok(())
    }

    /// Everything queued was handed to the transport: nothing is pending.
    pub(crate) fn flushed(&mut self) {
        self.ping_acks_pending = 0;
        self.settings_acks_pending = 0;
        self.rst_pending = 0;
    }

    /// The peer opened a stream, or promised one (the window of
    /// [`FloodGuards::peer_stream_wasted`]); `max_concurrent` is our
    /// SETTINGS_MAX_CONCURRENT_STREAMS.
    pub(crate) fn peer_stream_opened(&mut self, max_concurrent: u32) {
        let (window, _) = wasted_stream_limits(max_concurrent);
        self.wasted_window += 1;
        if self.wasted_window > window {
            self.wasted_window = 1;
            self.wasted = 0;
        }
    }

    /// A stream the peer opened ended without doing its work: the peer
    /// reset it before we answered (rapid reset, CVE-2023-44487), or we
    /// refused or reset a stream it promised before its response ended (a
    /// push flood, §10.5). More than 2 x MAX_CONCURRENT_STREAMS (100 to
    /// 50,000) such streams per 4 x that many opened is a flood. One count
    /// for both: a server meets only the first, a client only the second.
    pub(crate) fn peer_stream_wasted(
        &mut self,
        max_concurrent: u32,
        how: Waste,
    ) -> Result<(), Flood> {
        self.wasted += 1;
        self.last_waste = how;
        self.check_wasted(max_concurrent)
    }

    /// Whether [`FloodGuards::peer_stream_wasted`] went over its bound (a
    /// waste counted where no verdict could be given, in a user action, is
    /// judged at the next frame that opens a stream).
    pub(crate) fn check_wasted(&self, max_concurrent: u32) -> Result<(), Flood> {
        let (_, budget) = wasted_stream_limits(max_concurrent);
        if self.wasted > budget {
            return Err(match self.last_waste {
                Waste::PeerReset => "too many streams reset by the peer (rapid reset)",
                Waste::PushRefused => "too many pushed streams refused or reset (§10.5)",
            });
        }
        Ok(())
    }
}

/// How a peer's stream was wasted (the flood's name in the GOAWAY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waste {
    /// Reset by the peer before we answered it (rapid reset).
    PeerReset,
    /// A promised stream we refused or reset before its response ended.
    PushRefused,
}

/// (window of opened streams, wasted streams allowed in it).
pub(crate) fn wasted_stream_limits(max_concurrent: u32) -> (u64, u64) {
    let budget = (2 * max_concurrent as u64).clamp(100, 50_000);
    (2 * budget, budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s10_5_cheap_frames_beyond_the_limit_within_the_window_are_a_flood() {
        let t0 = Instant::now();
        let mut g = FloodGuards::new(16, t0);
        for _ in 0..MAX_CHEAP_FRAMES {
            assert!(g.cheap_frame(t0).is_ok());
        }
        assert!(g.cheap_frame(t0 + CHEAP_FRAME_WINDOW).is_err());
    }

    #[test]
    fn s10_5_cheap_frame_window_starts_over_after_window_of_fake_time() {
        let t0 = Instant::now();
        let mut g = FloodGuards::new(16, t0);
        for _ in 0..MAX_CHEAP_FRAMES {
            g.cheap_frame(t0).unwrap();
        }
        let later = t0 + CHEAP_FRAME_WINDOW + Duration::from_millis(1);
        assert!(
            g.cheap_frame(later).is_ok(),
            "window passed: count restarts"
        );
        for _ in 0..MAX_CHEAP_FRAMES {
            g.cheap_frame(later).unwrap();
        }
        assert!(g.cheap_frame(later).is_err(), "new window, same limit");
    }

    #[test]
    fn s10_5_useful_frame_resets_the_cheap_count() {
        let t0 = Instant::now();
        let mut g = FloodGuards::new(16, t0);
        for _ in 0..3 {
            for _ in 0..MAX_CHEAP_FRAMES {
                g.cheap_frame(t0).unwrap();
            }
            g.useful_frame();
        }
    }

    #[test]
    fn s10_5_pending_acks_and_resets_are_bounded_until_flushed() {
        let mut g = FloodGuards::new(2, Instant::now());
        assert!(g.ping_ack_queued().is_ok());
        assert!(g.ping_ack_queued().is_ok());
        assert!(g.ping_ack_queued().is_err());
        assert!(g.settings_ack_queued().is_ok());
        for _ in 0..=MAX_PENDING_RESETS {
            g.rst_queued();
        }
        assert!(g.check_resets().is_err());
        g.flushed();
        assert!(g.check_resets().is_ok());
        assert!(g.ping_ack_queued().is_ok());
    }

    #[test]
    fn cve_2023_44487_reset_budget_renews_with_each_window_of_opened_streams() {
        let mut g = FloodGuards::new(16, Instant::now());
        // MAX_CONCURRENT_STREAMS 10: budget 100 resets per 200 opened.
        for _ in 0..100 {
            g.peer_stream_opened(10);
            g.peer_stream_wasted(10, Waste::PeerReset).unwrap();
        }
        for _ in 0..100 {
            g.peer_stream_opened(10);
        }
        g.peer_stream_opened(10); // 201st: a new window
        assert!(g.peer_stream_wasted(10, Waste::PeerReset).is_ok());
        let mut g = FloodGuards::new(16, Instant::now());
        for _ in 0..100 {
            g.peer_stream_wasted(10, Waste::PeerReset).unwrap();
        }
        assert!(g.peer_stream_wasted(10, Waste::PeerReset).is_err());
    }

    /// Refused pushes and rapid resets are one count with one bound; the
    /// verdict names the last kind, and stays until the window renews.
    #[test]
    fn s10_5_refused_pushes_count_toward_the_wasted_stream_bound() {
        let mut g = FloodGuards::new(16, Instant::now());
        for _ in 0..100 {
            g.peer_stream_opened(10);
            g.peer_stream_wasted(10, Waste::PushRefused).unwrap();
        }
        g.peer_stream_opened(10);
        let e = g.peer_stream_wasted(10, Waste::PushRefused).unwrap_err();
        assert!(e.contains("pushed"), "{e}");
        assert_eq!(g.check_wasted(10), Err(e));
        assert_eq!(wasted_stream_limits(256), (1024, 512));
        assert_eq!(wasted_stream_limits(0), (200, 100));
        assert_eq!(wasted_stream_limits(u32::MAX), (100_000, 50_000));
    }
}
