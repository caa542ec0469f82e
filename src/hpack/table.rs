//! The decoder's dynamic table (RFC 7541 §2.3.2, §4): a FIFO of entries,
//! newest first, whose size (RFC 7541 §4.1: name + value + 32 per entry) never
//! exceeds the current maximum.

use bytes::Bytes;
use std::collections::VecDeque;

/// Per-entry overhead counted by RFC 7541 §4.1.
pub const ENTRY_OVERHEAD: usize = 32;

/// Size of an entry as RFC 7541 §4.1 counts it.
#[inline]
pub fn entry_size(name: usize, value: usize) -> usize {
    name.saturating_add(value).saturating_add(ENTRY_OVERHEAD)
}

/// The dynamic table. Entries are `Bytes` so that a look-up is a reference
/// count increment, not a copy.
#[derive(Debug)]
pub struct DynamicTable {
    entries: VecDeque<(Bytes, Bytes)>,
    size: usize,
    max_size: usize,
}

impl DynamicTable {
    /// An empty table holding at most `max_size` bytes.
    pub fn new(max_size: usize) -> Self {
        DynamicTable {
            entries: VecDeque::new(),
            size: 0,
            max_size,
        }
    }

    /// Current size (RFC 7541 §4.1).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Current maximum size (the last dynamic table size update).
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entry `i`, 0 = newest (dynamic index 62 is `get(0)`).
    #[inline]
    pub fn get(&self, i: usize) -> Option<&(Bytes, Bytes)> {
        self.entries.get(i)
    }

    /// Applies a dynamic table size update (RFC 7541 §4.3, §6.3): evicts the
    /// oldest entries until the table fits.
    pub fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
    }

    /// Adds an entry (RFC 7541 §4.4): evicts until it fits; an entry larger
    /// than the maximum empties the table and is not added.
    pub fn insert(&mut self, name: Bytes, value: Bytes) {
        let size = entry_size(name.len(), value.len());
        if size > self.max_size {
            self.entries.clear();
            self.size = 0;
            return;
        }
        self.evict_to(self.max_size - size);
        self.size += size;
        if self.entries.len() == self.entries.capacity() {
            // From one entry, doubling: a peer that indexes one or two
            // fields costs room for those, not four (64 bytes each).
            self.entries.reserve_exact(self.entries.len().max(1));
        }
        self.entries.push_front((name, value));
    }

    /// Empties the table as inserting an entry of `size` > max would; used
    /// when the decoder dropped the oversized strings without keeping them.
    pub fn insert_oversized(&mut self) {
        self.entries.clear();
        self.size = 0;
    }

    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            match self.entries.pop_back() {
                Some((n, v)) => self.size -= entry_size(n.len(), v.len()),
                None => {
                    self.size = 0;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn insert_evicts_oldest_first() {
        let mut t = DynamicTable::new(100);
        t.insert(b("a"), b("1")); // 34
        t.insert(b("b"), b("2")); // 34
        assert_eq!(t.size(), 68);
        t.insert(b("c"), b("3")); // 102 > 100: evicts "a"
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(0).unwrap().0, b("c"));
        assert_eq!(t.get(1).unwrap().0, b("b"));
        assert_eq!(t.size(), 68);
    }

    #[test]
    fn entry_larger_than_the_table_empties_it() {
        let mut t = DynamicTable::new(40);
        t.insert(b("a"), b("1"));
        t.insert(b("name"), b("a value too large"));
        assert!(t.is_empty());
        assert_eq!(t.size(), 0);
    }

    #[test]
    fn size_update_evicts() {
        let mut t = DynamicTable::new(4096);
        t.insert(b("a"), b("1"));
        t.insert(b("b"), b("2"));
        t.set_max_size(40);
        assert_eq!(t.len(), 1);
        t.set_max_size(0);
        assert!(t.is_empty());
    }
}
