//! The write scheduler of RFC 9218 §10: which stream's DATA goes next.
//!
//! Streams with output wait in one binary heap ordered by
//! `(urgency, incremental, turn)`: lower urgencies first (§4.1); within one
//! urgency the non-incremental streams first, one at a time in stream-id
//! order (their `turn` is their id, so the one being sent stays in front
//! until it is done), then the incremental ones in turn (their `turn` is a
//! counter taken at each push, so a stream served goes behind the others:
//! round robin, §4.2). Putting non-incremental streams ahead of incremental
//! ones of the same urgency is our choice (§10 leaves it open): their bytes
//! are of no use until the whole response is there.
//!
//! Removal is lazy: each push gets a fresh `seq`, kept in the stream
//! ([`Stream::sched_seq`](super::stream::Stream::sched_seq)); an entry whose
//! stream is gone, not ready, or holds another `seq` (its priority changed)
//! is skipped when popped. [`Scheduler::needs_compaction`] tells when stale
//! entries outnumber live ones, so memory stays bounded under a flood of
//! PRIORITY_UPDATE frames. With every stream at the default priority this
//! is a heap of ids: `O(log n)` per frame for `n` ready streams.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::priority::Priority;

/// One heap entry: (ordering key, seq, stream id).
type Entry = Reverse<(u64, u32, u32)>;

/// Ready streams by RFC 9218 priority (see the module docs).
#[derive(Debug, Default)]
pub struct Scheduler {
    heap: BinaryHeap<Entry>,
    counter: u64,
}

fn key(p: Priority, turn: u64) -> u64 {
    (u64::from(p.urgency.min(7)) << 61)
        | (u64::from(p.incremental) << 60)
        | (turn & ((1 << 60) - 1))
}

impl Scheduler {
    /// Queues stream `id` at priority `p`; returns the entry's seq, which
    /// the caller keeps in the stream to recognize the live entry.
    pub fn push(&mut self, id: u32, p: Priority) -> u32 {
        self.counter += 1;
        let turn = if p.incremental {
            self.counter
        } else {
            u64::from(id)
        };
        let seq = self.counter as u32;
        self.heap.push(Reverse((key(p, turn), seq, id)));
        seq
    }

    /// Takes the first entry: (stream id, seq). The caller skips it if it
    /// is stale (see the module docs).
    pub fn pop(&mut self) -> Option<(u32, u32)> {
        self.heap.pop().map(|Reverse((_, seq, id))| (id, seq))
    }

    /// Entries, live and stale.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no entry is queued.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        self.heap.clear();
    }

    /// The queued (stream id, seq) pairs, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.heap.iter().map(|Reverse((_, seq, id))| (*id, *seq))
    }

    /// Keeps only the entries `live(id, seq)` accepts.
    pub fn retain(&mut self, mut live: impl FnMut(u32, u32) -> bool) {
        self.heap.retain(|Reverse((_, seq, id))| live(*id, *seq));
    }

    /// True when the heap holds many more entries than `live` streams.
    pub fn needs_compaction(&self, live: usize) -> bool {
        self.heap.len() > 2 * live + 64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(s: &mut Scheduler) -> Vec<u32> {
        std::iter::from_fn(|| s.pop().map(|(id, _)| id)).collect()
    }

    #[test]
    fn rfc9218_s10_lower_urgency_first() {
        let mut s = Scheduler::default();
        s.push(1, Priority::new(5, false));
        s.push(3, Priority::new(0, false));
        s.push(5, Priority::new(7, true));
        s.push(7, Priority::new(3, true));
        assert_eq!(order(&mut s), vec![3, 7, 1, 5]);
    }

    #[test]
    fn rfc9218_s10_non_incremental_streams_of_one_urgency_go_in_id_order() {
        let mut s = Scheduler::default();
        for id in [9, 3, 7, 1] {
            s.push(id, Priority::default());
        }
        // The first one served and queued again stays in front.
        assert_eq!(s.pop().map(|e| e.0), Some(1));
        s.push(1, Priority::default());
        assert_eq!(order(&mut s), vec![1, 3, 7, 9]);
    }

    #[test]
    fn rfc9218_s10_incremental_streams_of_one_urgency_take_turns() {
        let mut s = Scheduler::default();
        for id in [5, 1, 3] {
            s.push(id, Priority::new(2, true));
        }
        let mut served = Vec::new();
        for _ in 0..6 {
            let (id, _) = s.pop().unwrap();
            served.push(id);
            s.push(id, Priority::new(2, true));
        }
        assert_eq!(served, vec![5, 1, 3, 5, 1, 3]);
    }

    #[test]
    fn non_incremental_go_before_incremental_of_the_same_urgency() {
        let mut s = Scheduler::default();
        s.push(1, Priority::new(3, true));
        s.push(3, Priority::new(3, false));
        assert_eq!(order(&mut s), vec![3, 1]);
    }

    #[test]
    fn each_push_has_its_own_seq_and_retain_drops_the_stale() {
        let mut s = Scheduler::default();
        let a = s.push(1, Priority::default());
        let b = s.push(1, Priority::new(0, false));
        assert_ne!(a, b);
        s.retain(|_, seq| seq == b);
        assert_eq!(s.len(), 1);
        assert_eq!(s.pop(), Some((1, b)));
        assert!(!s.needs_compaction(0));
        for i in 0..65 {
            s.push(i, Priority::default());
        }
        assert!(s.needs_compaction(0));
        assert!(!s.needs_compaction(1000));
    }
}
