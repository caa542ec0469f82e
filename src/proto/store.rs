//! Where streams live: a table keyed by stream id (one slot for the first
//! stream, then a hash map of boxed streams with a cheap hasher: ids are
//! small integers and the entries are bounded by MAX_CONCURRENT_STREAMS),
//! and a bounded memory of closed streams (as runs of ids) used to classify
//! late frames (RFC 9113 §5.1, "closed").
//!
//! This is the crate's one stream table. The layer above keeps its own
//! per-stream state in each stream's application slot (`Stream::app`, of
//! the `A` in `Connection<A>`; the actor layer's `StreamEntry`), so one
//! lookup finds both. A stream leaves the map as soon as both sides are
//! done or it is reset (the §5.1 rules and the concurrency counts rely on
//! that); its slot then travels in the stream's terminal event
//! (`Event::Finished`/`Event::RecvReset`), where `Connection::app_mut` still
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
///
/// A slot for one stream before a hash map of boxed streams. A
/// `HashMap<u32, Stream<A>>` makes room for four entries at its first
/// insert, 1.2 KiB per connection for what is most often one open stream
/// (a `Stream<StreamEntry>` is 256 bytes), and its power-of-two tables
/// with 7/8 load keep up to twice the streams' size (nine streams: sixteen
/// entries of 260 bytes). So each stream is its own allocation (a box, as
/// big as the stream), the first in the slot while it is free (a
/// connection without streams pays one pointer), the others in a map of
/// 16-byte entries. A lookup compares the slot's id first: one compare
/// more than the map alone. (A vector of streams with an id index, tried
/// first, cost ~4% more instructions per request under `h2load -m 32`:
/// moves of whole streams on removal and index upkeep.) The iteration
/// order is unspecified, as a map's.
#[derive(Debug)]
pub struct StreamMap<A = ()> {
    first: Option<Box<Stream<A>>>,
    rest: HashMap<u32, Box<Stream<A>>, IdBuildHasher>,
}

impl<A> Default for StreamMap<A> {
    fn default() -> Self {
        StreamMap {
            first: None,
            rest: HashMap::default(),
        }
    }
}

impl<A> StreamMap<A> {
    /// Number of streams.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// No stream at all.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.first.is_none() && self.rest.is_empty()
    }

    /// The stream `id`.
    #[inline]
    pub fn get(&self, id: &u32) -> Option<&Stream<A>> {
        match &self.first {
            Some(s) if s.id == *id => Some(s),
            _ if self.rest.is_empty() => None,
            _ => self.rest.get(id).map(|s| &**s),
        }
    }

    /// The stream `id`, mutably.
    #[inline]
    pub fn get_mut(&mut self, id: &u32) -> Option<&mut Stream<A>> {
        match &mut self.first {
            Some(s) if s.id == *id => Some(s),
            _ if self.rest.is_empty() => None,
            _ => self.rest.get_mut(id).map(|s| &mut **s),
        }
    }

    /// Whether stream `id` is here.
    #[inline]
    pub fn contains_key(&self, id: &u32) -> bool {
        self.get(id).is_some()
    }

    /// Stores `stream` (whose `id` is `id`); returns the stream it replaces.
    ///
    /// Streams go in and come out boxed: a `Stream<StreamEntry>` is ~256
    /// bytes, and moving one by value into and out of its box cost a
    /// `memcpy` call each way (callgrind: five per request, with the moves
    /// of the caller's `Option<Stream>`).
    #[inline]
    pub fn insert(&mut self, id: u32, stream: Box<Stream<A>>) -> Option<Box<Stream<A>>> {
        debug_assert_eq!(stream.id, id);
        let in_first = self.first.as_ref().is_some_and(|s| s.id == id);
        if !in_first && (self.first.is_some() || self.rest.contains_key(&id)) {
            return self.rest.insert(id, stream);
        }
        self.first.replace(stream)
    }

    /// Takes stream `id` out.
    #[inline]
    pub fn remove(&mut self, id: &u32) -> Option<Box<Stream<A>>> {
        if self.first.as_ref().is_some_and(|s| s.id == *id) {
            return self.first.take();
        }
        self.rest.remove(id)
    }

    /// Every stream with its id, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&u32, &Stream<A>)> + '_ {
        let first = self.first.iter().map(|s| (&s.id, &**s));
        first.chain(self.rest.iter().map(|(id, s)| (id, &**s)))
    }

    /// Every stream id, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &u32> + '_ {
        self.first.iter().map(|s| &s.id).chain(self.rest.keys())
    }

    /// Every stream, mutably, in no particular order (`Stream::id` is its
    /// key).
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Stream<A>> + '_ {
        let first = self.first.iter_mut().map(|s| &mut **s);
        first.chain(self.rest.values_mut().map(|s| &mut **s))
    }
}

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

/// A bounded memory of closed stream ids, kept as runs.
///
/// Stream ids of one side grow by 2 (§5.1.1), and most streams close in
/// about the order they opened and the same way (both sides ended), so the
/// closed ids of a connection form a few runs `lo, lo+2, ..., hi` with one
/// cause each: a run is 12 bytes however many streams it covers. Before,
/// every closed id had its own entry (a `HashMap` plus a `VecDeque` of up to
/// `max_reset_streams` = 1024 ids): ~22 KiB that a busy connection kept
/// after its first thousand requests (the c256 benchmark's 256 connections
/// held ~5.6 MiB of it).
///
/// The bound is on runs: at most `cap`, the lowest ids forgotten first. A
/// peer can fragment the runs (closing streams alternately by END_STREAM
/// and by RST_STREAM), and then memory is bounded by `cap` runs, no worse
/// than one entry per id.
#[derive(Debug)]
pub struct RecentlyClosed {
    /// Runs of even ids (index 0) and of odd ids (index 1), each sorted by
    /// id, disjoint and never adjacent with the same cause.
    runs: [VecDeque<Run>; 2],
    cap: usize,
    /// The highest id ever forgotten: a closed id at or below it that is not
    /// remembered may be one we forgot (so late frames on it are ignored);
    /// above it, an unknown closed id was never opened.
    forgotten_max: u32,
}

/// Closed ids `lo, lo + 2, ..., hi` (one parity), all closed by `cause`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    lo: u32,
    hi: u32,
    cause: CloseCause,
}

impl RecentlyClosed {
    /// Remembers at most `cap` runs of closed ids.
    pub fn new(cap: usize) -> Self {
        RecentlyClosed {
            runs: [VecDeque::new(), VecDeque::new()],
            cap: cap.max(1),
            forgotten_max: 0,
        }
    }

    /// Remembers `id` as closed by `cause` (a later cause replaces an earlier).
    pub fn insert(&mut self, id: u32, cause: CloseCause) {
        let runs = &mut self.runs[(id & 1) as usize];
        // The first run starting above `id`; the one before may hold it.
        let i = runs.partition_point(|r| r.lo <= id);
        if i > 0 && id <= runs[i - 1].hi {
            let r = runs[i - 1];
            if r.cause != cause {
                // Split the run around `id` (rare: a stream that ended and
                // was then reset by us, or the reverse).
                // The run becomes `id` alone, with what was above and
                // below it on either side.
                runs[i - 1] = Run {
                    lo: id,
                    hi: id,
                    cause,
                };
                if id < r.hi {
                    runs.insert(i, Run { lo: id + 2, ..r });
                }
                if r.lo < id {
                    runs.insert(i - 1, Run { hi: id - 2, ..r });
                }
            }
        } else {
            let joins_prev = i > 0 && runs[i - 1].hi + 2 == id && runs[i - 1].cause == cause;
            let joins_next = i < runs.len() && runs[i].lo == id + 2 && runs[i].cause == cause;
            match (joins_prev, joins_next) {
                (true, true) => {
                    runs[i - 1].hi = runs[i].hi;
                    runs.remove(i);
                }
                (true, false) => runs[i - 1].hi = id,
                (false, true) => runs[i].lo = id,
                (false, false) => runs.insert(
                    i,
                    Run {
                        lo: id,
                        hi: id,
                        cause,
                    },
                ),
            }
        }
        while self.runs[0].len() + self.runs[1].len() > self.cap {
            // Forget the run with the lowest ids.
            let side = match (self.runs[0].front(), self.runs[1].front()) {
                (Some(a), Some(b)) => usize::from(b.lo < a.lo),
                (Some(_), None) => 0,
                _ => 1,
            };
            if let Some(old) = self.runs[side].pop_front() {
                self.forgotten_max = self.forgotten_max.max(old.hi);
            }
        }
    }

    /// How `id` was closed, if still remembered.
    pub fn get(&self, id: u32) -> Option<CloseCause> {
        let runs = &self.runs[(id & 1) as usize];
        let i = runs.partition_point(|r| r.lo <= id);
        (i > 0 && id <= runs[i - 1].hi).then(|| runs[i - 1].cause)
    }

    /// True if `id`, closed and not remembered, may have been forgotten.
    pub fn maybe_forgotten(&self, id: u32) -> bool {
        id <= self.forgotten_max
    }

    /// Number of remembered streams.
    #[allow(dead_code)]
    pub fn len(&self) -> usize {
        self.runs
            .iter()
            .flatten()
            .map(|r| ((r.hi - r.lo) / 2 + 1) as usize)
            .sum()
    }

    /// Number of runs kept (what the bound counts).
    #[allow(dead_code)]
    pub fn runs(&self) -> usize {
        self.runs[0].len() + self.runs[1].len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use CloseCause::{Done, LocalReset};

    #[test]
    fn streams_closed_in_order_the_same_way_share_one_run() {
        let mut r = RecentlyClosed::new(3);
        for id in (1..2000).step_by(2) {
            r.insert(id, Done);
        }
        assert_eq!(r.len(), 1000);
        assert_eq!(r.runs(), 1);
        assert_eq!(r.get(1), Some(Done));
        assert_eq!(r.get(1999), Some(Done));
        assert_eq!(r.get(2001), None);
        // even ids (server push) are their own runs
        assert_eq!(r.get(2), None);
        assert!(!r.maybe_forgotten(1));
    }

    #[test]
    fn out_of_order_closes_merge_once_the_gap_fills() {
        let mut r = RecentlyClosed::new(8);
        for id in [1, 5, 9, 3, 7] {
            r.insert(id, Done);
        }
        assert_eq!(r.runs(), 1);
        assert_eq!(r.len(), 5);
        assert_eq!(r.get(7), Some(Done));
    }

    #[test]
    fn a_later_cause_replaces_an_earlier_and_splits_the_run() {
        let mut r = RecentlyClosed::new(8);
        for id in [1, 3, 5, 7, 9] {
            r.insert(id, Done);
        }
        r.insert(5, LocalReset);
        assert_eq!(r.runs(), 3);
        assert_eq!(
            [1, 3, 5, 7, 9].map(|id| r.get(id)),
            [
                Some(Done),
                Some(Done),
                Some(LocalReset),
                Some(Done),
                Some(Done)
            ]
        );
        r.insert(1, LocalReset);
        r.insert(9, LocalReset);
        assert_eq!(r.get(1), Some(LocalReset));
        assert_eq!(r.get(3), Some(Done));
        assert_eq!(r.get(9), Some(LocalReset));
        assert_eq!(r.len(), 5);
    }

    #[test]
    fn runs_are_bounded_and_the_lowest_ids_are_forgotten_first() {
        // Alternating causes: no two neighbours share a run.
        let mut r = RecentlyClosed::new(3);
        for (k, id) in [1, 3, 5, 7].into_iter().enumerate() {
            r.insert(id, if k % 2 == 0 { LocalReset } else { Done });
        }
        assert_eq!(r.runs(), 3);
        assert_eq!(r.get(1), None);
        assert!(r.maybe_forgotten(1));
        assert!(!r.maybe_forgotten(3));
        assert_eq!(r.get(3), Some(Done));
        assert_eq!(r.get(7), Some(Done));
        // both parities count toward the bound; the lowest run goes first
        r.insert(2, LocalReset);
        assert_eq!(r.runs(), 3);
        assert_eq!(r.get(2), None);
        assert!(r.maybe_forgotten(2));
        assert_eq!(r.get(3), Some(Done));
        r.insert(9, LocalReset);
        assert_eq!(r.get(3), None);
        assert!(r.maybe_forgotten(3));
        assert_eq!(r.get(5), Some(LocalReset));
        assert_eq!(r.get(9), Some(LocalReset));
    }
}

#[cfg(test)]
mod map_tests {
    use super::*;
    use crate::proto::StreamState;

    fn stream(id: u32) -> Box<Stream<u32>> {
        let mut s = Stream::boxed(id, StreamState::Open, 65_535, 65_535);
        s.app = Some(id * 10);
        s
    }

    fn check(m: &StreamMap<u32>, model: &HashMap<u32, u32>) {
        assert_eq!(m.len(), model.len());
        assert_eq!(m.is_empty(), model.is_empty());
        for (&id, &app) in model {
            let s = m.get(&id).expect("present");
            assert_eq!((s.id, s.app), (id, Some(app)));
            assert!(m.contains_key(&id));
        }
        let mut seen: Vec<u32> = m
            .iter()
            .map(|(&id, s)| {
                assert_eq!(s.id, id);
                id
            })
            .collect();
        seen.sort_unstable();
        let mut keys: Vec<u32> = m.keys().copied().collect();
        keys.sort_unstable();
        let mut want: Vec<u32> = model.keys().copied().collect();
        want.sort_unstable();
        assert_eq!(seen, want);
        assert_eq!(keys, want);
    }

    /// Inserts, replaces, looks up and removes, in and out of the slot,
    /// checking every entry against a `HashMap` each step.
    #[test]
    fn stream_map_agrees_with_a_hash_map() {
        let mut m: StreamMap<u32> = StreamMap::default();
        let mut model = HashMap::new();
        for id in (1..200u32).step_by(2) {
            assert!(m.insert(id, stream(id)).is_none());
            model.insert(id, id * 10);
            if id % 3 == 0 {
                // Sometimes the slot's stream, sometimes one in the map.
                let gone = m.remove(&id).expect("just inserted");
                assert_eq!(gone.id, id);
                model.remove(&id);
                assert!(!m.contains_key(&id) && m.remove(&id).is_none());
            }
            check(&m, &model);
        }
        // Replacing keeps one entry, in the slot or in the map.
        for id in [1, 7] {
            let mut s = stream(id);
            s.app = Some(7);
            assert_eq!(m.insert(id, s).and_then(|s| s.app), Some(id * 10));
            model.insert(id, 7);
            check(&m, &model);
        }
        for s in m.values_mut() {
            s.app = Some(s.id);
        }
        model.iter_mut().for_each(|(id, app)| *app = *id);
        check(&m, &model);
        let mut ids: Vec<u32> = model.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            assert_eq!(m.remove(&id).map(|s| s.id), Some(id));
            assert!(m.remove(&id).is_none());
            model.remove(&id);
            check(&m, &model);
            // A new stream takes the slot when it is free.
            if id == 1 {
                assert!(m.first.is_none());
                m.insert(1001, stream(1001));
                model.insert(1001, 10010);
                assert_eq!(m.first.as_ref().map(|s| s.id), Some(1001));
                check(&m, &model);
                m.remove(&1001);
                model.remove(&1001);
            }
        }
        assert!(m.get(&1).is_none() && m.get_mut(&1).is_none());
    }

    /// The first stream takes the slot, not a four-entry table (the point
    /// of it).
    #[test]
    fn first_stream_allocates_no_table() {
        let mut m: StreamMap<u32> = StreamMap::default();
        m.insert(1, stream(1));
        assert_eq!(m.rest.capacity(), 0);
        m.insert(3, stream(3));
        assert!(m.rest.capacity() > 0);
        assert_eq!(m.len(), 2);
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
