//! Flow-control windows (RFC 9113 §5.2, §6.9) as a tiny type with checked
//! arithmetic.
//!
//! A window is signed: a SETTINGS_INITIAL_WINDOW_SIZE change applies its
//! delta to every open stream's window, which may then go negative
//! (§6.9.2); nothing may be sent until WINDOW_UPDATEs make it positive again.
//! A window above 2^31-1 is a FLOW_CONTROL_ERROR (§6.9.1).

use crate::frame::MAX_WINDOW_SIZE;

/// The window would pass 2^31-1 (RFC 9113 §6.9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowOverflow;

/// One flow-control window: what the sender may still send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowWindow(i32);

impl FlowWindow {
    /// A window of `size` octets.
    pub fn new(size: u32) -> Self {
        // Above 2^31-1 no window is valid (§6.9.1): saturate.
        FlowWindow(size.min(MAX_WINDOW_SIZE) as i32)
    }

    /// The signed size (negative after a lowered INITIAL_WINDOW_SIZE).
    pub fn size(self) -> i64 {
        i64::from(self.0)
    }

    /// Octets that may be sent now (0 while the window is not positive).
    pub fn available(self) -> u32 {
        self.0.max(0) as u32
    }

    /// A WINDOW_UPDATE of `inc`: fails if the window would pass 2^31-1.
    pub fn increase(&mut self, inc: u32) -> Result<(), WindowOverflow> {
        self.adjust(inc as i64)
    }

    /// A SETTINGS_INITIAL_WINDOW_SIZE change of `delta` (§6.9.2): may go
    /// negative, fails if it would pass 2^31-1.
    pub fn adjust(&mut self, delta: i64) -> Result<(), WindowOverflow> {
        // Stored in 32 bits (a stream's entry is smaller by 8 bytes): the
        // §6.9.2 arithmetic never takes a window below -(2^31-1) (it is at
        // least 0 before a SETTINGS change of at most 2^31-1), so a result
        // outside i32 is refused like one above the maximum.
        let next = i64::from(self.0) + delta;
        if next > MAX_WINDOW_SIZE as i64 {
            return Err(WindowOverflow);
        }
        self.0 = i32::try_from(next).map_err(|_| WindowOverflow)?;
        Ok(())
    }

    /// Consumes `n` octets. Returns false (and changes nothing) if the window
    /// does not hold `n` octets: the caller turns that into FLOW_CONTROL_ERROR
    /// on the receive side; on the send side it never asks for more than
    /// [`FlowWindow::available`].
    pub fn consume(&mut self, n: u32) -> bool {
        if i64::from(n) > i64::from(self.0) {
            return false;
        }
        self.0 -= n as i32;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s6_9_1_window_increase_to_exactly_max_is_allowed() {
        let mut w = FlowWindow::new(65_535);
        assert!(w.increase(MAX_WINDOW_SIZE - 65_535).is_ok());
        assert_eq!(w.available(), MAX_WINDOW_SIZE);
    }

    #[test]
    fn s6_9_1_window_overflow_past_2_31_minus_1_is_error() {
        let mut w = FlowWindow::new(MAX_WINDOW_SIZE);
        assert_eq!(w.increase(1), Err(WindowOverflow));
        assert_eq!(w.available(), MAX_WINDOW_SIZE, "unchanged on error");
    }

    #[test]
    fn s6_9_2_window_may_go_negative_and_recover() {
        let mut w = FlowWindow::new(65_535);
        assert!(w.consume(60_000));
        w.adjust(16_384 - 65_535).unwrap();
        assert_eq!(w.size(), 5_535 + 16_384 - 65_535);
        assert_eq!(w.available(), 0);
        w.increase(50_000).unwrap();
        assert_eq!(w.available(), (5_535 + 16_384 - 65_535 + 50_000) as u32);
    }

    /// §6.9.2 at its extreme: a window of 0 and INITIAL_WINDOW_SIZE going
    /// from 2^31-1 to 0 gives -(2^31-1), which the 32-bit window holds; a
    /// result below i32 (no §6.9 sequence makes one) is refused, unchanged.
    #[test]
    fn s6_9_2_lowest_window_fits_and_below_it_is_refused() {
        let mut w = FlowWindow::new(MAX_WINDOW_SIZE);
        assert!(w.consume(MAX_WINDOW_SIZE));
        w.adjust(-(MAX_WINDOW_SIZE as i64)).unwrap();
        assert_eq!(w.size(), -(MAX_WINDOW_SIZE as i64));
        assert_eq!(w.available(), 0);
        assert_eq!(w.adjust(-2), Err(WindowOverflow));
        assert_eq!(w.size(), -(MAX_WINDOW_SIZE as i64));
        w.adjust(MAX_WINDOW_SIZE as i64).unwrap();
        assert_eq!(w.size(), 0);
    }

    #[test]
    fn s6_9_consume_more_than_window_is_refused() {
        let mut w = FlowWindow::new(10);
        assert!(!w.consume(11));
        assert!(w.consume(10));
        assert!(!w.consume(1));
        assert!(w.consume(0));
    }
}
