//! Where streams live: a hash map keyed by stream id (with a cheap hasher:
//! ids are small integers and the number of entries is bounded by
//! MAX_CONCURRENT_STREAMS), and a bounded memory of recently closed streams
//! used to classify late frames (RFC 9113 §5.1, "closed").
//!
//! This is the crate's one stream table. The layer above keeps its own
//! per-stream state in each stream's application slot (`Stream::app`, of
//! the `A` in `Connection<A>`; the actor layer's `StreamEntry`), so one
//! lookup finds both. A stream leaves the map as soon as both sides are
//! done or it is reset (the §5.1 rules and the concurrency counts rely on
//! that); its slot then travels in the stream's terminal event
//! (`Event::Closed`/`Event::Reset`), where `Connection::app_mut` still
//! finds it until the event is polled.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use super::stream::Stream;

/// The crate's one hasher for stream ids: a multiply for `u32` keys (and
/// `StreamId`, whose derived `Hash` is one `write_u32`). Peer-chosen ids
/// cannot degrade it badly: entries are bounded by our concurrency limit and
/// ids are strictly increasing. SipHash showed in profiles.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // Fold the high half down: the table indexes by the low bits, and
        // those of a product depend only on the low bits of the id (all
        // odd for client streams).
        self.0 ^ (self.0 >> 32)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// `HashMap<K, V, IdBuildHasher>` for `u32` or `StreamId` keys.
pub(crate) type IdBuildHasher = BuildHasherDefault<IdHasher>;

/// The stream table: the crate's only one. Each [`Stream`] carries the
/// application's slot `A` (the actor layer's per-stream entry), so a
/// stream's protocol state and what the layer above keeps for it are found
/// with one lookup and are forgotten together.
pub type StreamMap<A = ()> = HashMap<u32, Stream<A>, IdBuildHasher>;

/// How a stream we no longer keep was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCause {
    /// We sent RST_STREAM: frames the peer had in flight are ignored
    /// (minimal processing, §5.1 "closed").
    LocalReset,
    /// The peer reset it, or both sides ended it: more DATA or HEADERS is a
    /// peer error (STREAM_CLOSED).
    Done,
}

/// A bounded memory of recently closed stream ids (oldest forgotten first).
#[derive(Debug)]
pub struct RecentlyClosed {
    order: VecDeque<u32>,
    causes: HashMap<u32, CloseCause, IdBuildHasher>,
    cap: usize,
    /// The highest id ever forgotten: a closed id at or below it that is not
    /// remembered may be one we forgot (so late frames on it are ignored);
    /// above it, an unknown closed id was never opened.
    forgotten_max: u32,
}

impl RecentlyClosed {
    /// Remembers at most `cap` streams.
    pub fn new(cap: usize) -> Self {
        RecentlyClosed {
            order: VecDeque::new(),
            causes: HashMap::default(),
            cap: cap.max(1),
            forgotten_max: 0,
        }
    }

    /// Remembers `id` as closed by `cause` (a later cause replaces an earlier).
    pub fn insert(&mut self, id: u32, cause: CloseCause) {
        if let Some(c) = self.causes.get_mut(&id) {
            *c = cause;
            return;
        }
        while self.order.len() >= self.cap {
            if let Some(old) = self.order.pop_front() {
                self.causes.remove(&old);
                self.forgotten_max = self.forgotten_max.max(old);
            }
        }
        self.order.push_back(id);
        self.causes.insert(id, cause);
    }

    /// How `id` was closed, if still remembered.
    pub fn get(&self, id: u32) -> Option<CloseCause> {
        self.causes.get(&id).copied()
    }

    /// True if `id`, closed and not remembered, may have been forgotten.
    pub fn maybe_forgotten(&self, id: u32) -> bool {
        id <= self.forgotten_max
    }

    /// Number of remembered streams.
    #[allow(dead_code)]
    pub fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recently_closed_is_bounded_and_forgets_oldest() {
        let mut r = RecentlyClosed::new(3);
        for id in [1, 3, 5, 7] {
            r.insert(id, CloseCause::LocalReset);
        }
        assert_eq!(r.len(), 3);
        assert_eq!(r.get(1), None);
        assert!(r.maybe_forgotten(1));
        assert!(!r.maybe_forgotten(3));
        assert_eq!(r.get(7), Some(CloseCause::LocalReset));
        r.insert(7, CloseCause::Done);
        assert_eq!(r.get(7), Some(CloseCause::Done));
        assert_eq!(r.len(), 3);
    }
}

#[cfg(test)]
mod hasher_tests {
    use std::hash::BuildHasher;

    use super::*;
    use crate::frame::StreamId;

    #[test]
    fn stream_id_hashes_like_its_u32() {
        let b = IdBuildHasher::default();
        for n in [0, 1, 2, 3, 1_000_001, StreamId::MAX.0] {
            assert_eq!(b.hash_one(StreamId(n)), b.hash_one(n));
        }
        let mut m: HashMap<StreamId, u32, IdBuildHasher> = HashMap::default();
        m.insert(StreamId(7), 7);
        assert_eq!(m.get(&StreamId(7)), Some(&7));
    }

    #[test]
    fn odd_ids_spread_over_even_and_odd_buckets() {
        // Client stream ids are all odd: the low bits of the hash (the
        // bucket index) must still take every value.
        let b = IdBuildHasher::default();
        let mut seen = [false; 64];
        for n in (1u32..1024).step_by(2) {
            seen[(b.hash_one(n) & 63) as usize] = true;
        }
        assert!(seen.iter().all(|&x| x), "{seen:?}");
    }
}
