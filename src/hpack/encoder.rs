//! Header block encoding (RFC 7541 §6) and the encoder's own view of the
//! dynamic table, with hash indexes so that a look-up does not scan it.
//!
//! Choices, per field:
//! 1. sensitive (caller's flag, `authorization`, `proxy-authorization`, a
//!    cookie shorter than 20 octets, RFC 7541 §7.1.3) -> literal never indexed;
//! 2. full match in the static, then the dynamic table -> indexed;
//! 3. otherwise a literal, naming the field by index when the name is known,
//!    added to the dynamic table when the [`Indexing`] policy says so;
//! 4. each string Huffman-coded as the [`Huffman`] policy says (by default
//!    only when strictly shorter).

use super::integer;
use super::static_table;
use super::table::entry_size;
use super::{huffman as hcode, Encoder, FieldRef, DEFAULT_TABLE_SIZE};
use bytes::{BufMut, BytesMut};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// When the encoder adds a literal field to the dynamic table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Indexing {
    /// The default. Index a field unless it would take more than 3/4 of the
    /// table, or its name usually carries a value unique to one message
    /// (`:path`, `content-length`, `etag`, `age`, `if-modified-since`,
    /// `if-none-match`, `location`, `set-cookie`, `content-range`,
    /// `x-request-id`: about the names nghttp2 and the h2 crate leave out of
    /// their tables); such a value is indexed only the second time it is seen among
    /// the last 32 such values, so that one-off values never evict the
    /// entries that repeat on every request (cookies, user-agent, ...) while
    /// a value that does repeat (a polled `:path`) still ends up indexed.
    #[default]
    Adaptive,
    /// Index every non-sensitive field that is not already in a table (the
    /// choices of the RFC 7541 Appendix C examples).
    Always,
    /// Never add to the dynamic table (literal without indexing).
    Never,
}

/// When the encoder Huffman-codes a string literal (RFC 7541 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Huffman {
    /// The default: only when strictly shorter than the raw octets (a tie
    /// is sent raw: same size, cheaper to decode).
    #[default]
    WhenShorter,
    /// Also on a tie (what RFC 7541 C.6.2 does for `307`).
    WhenNotLonger,
    /// Never (RFC 7541 C.2, C.3, C.5).
    Never,
}

/// Number of recent volatile field hashes remembered for "second sight".
const RECENT: usize = 32;

/// One entry of the encoder's table.
#[derive(Debug)]
struct Entry {
    /// name followed by value
    data: Box<[u8]>,
    name_len: usize,
    name_hash: u64,
    field_hash: u64,
    /// Insertion number: the dynamic index is `inserted - id + 61`.
    id: u64,
}

impl Entry {
    fn name(&self) -> &[u8] {
        &self.data[..self.name_len]
    }
    fn value(&self) -> &[u8] {
        &self.data[self.name_len..]
    }
    fn size(&self) -> usize {
        entry_size(self.name_len, self.data.len() - self.name_len)
    }
}

/// Keys are already hashes: pass them through.
#[derive(Default)]
pub(super) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdMap = HashMap<u64, u64, BuildHasherDefault<IdentityHasher>>;

/// The encoder's copy of the dynamic table (RFC 7541 §2.3.2), oldest first.
#[derive(Debug, Default)]
pub(super) struct EncoderTable {
    entries: VecDeque<Entry>,
    size: usize,
    capacity: usize,
    inserted: u64,
    /// Field hash or name hash -> id of the newest entry with that hash:
    /// one map for both (one table per connection, not two). A lookup
    /// checks the entry's bytes, so a field hash equal to another entry's
    /// name hash only loses a match; eviction removes a key only while it
    /// still names the evicted entry.
    ids: IdMap,
}

impl EncoderTable {
    fn new(capacity: usize) -> Self {
        EncoderTable {
            capacity,
            ..Default::default()
        }
    }

    fn entry(&self, id: u64) -> Option<&Entry> {
        let oldest = self.entries.front()?.id;
        self.entries
            .get(usize::try_from(id.checked_sub(oldest)?).ok()?)
    }

    /// HPACK index of entry `id` (RFC 7541 §2.3.3): 62 is the newest.
    fn index_of(&self, id: u64) -> usize {
        (self.inserted - id) as usize + static_table::STATIC_LEN
    }

    fn find_field(&self, hash: u64, name: &[u8], value: &[u8]) -> Option<usize> {
        let id = *self.ids.get(&hash)?;
        let e = self.entry(id)?;
        (e.name() == name && e.value() == value).then(|| self.index_of(id))
    }

    fn find_name(&self, hash: u64, name: &[u8]) -> Option<usize> {
        let id = *self.ids.get(&hash)?;
        let e = self.entry(id)?;
        (e.name() == name).then(|| self.index_of(id))
    }

    fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        self.evict_to(capacity);
    }

    /// RFC 7541 §4.4, mirrored exactly from the decoder's side.
    fn insert(&mut self, name: &[u8], value: &[u8], name_hash: u64, field_hash: u64) {
        let size = entry_size(name.len(), value.len());
        if size > self.capacity {
            self.evict_to(0);
            return;
        }
        self.evict_to(self.capacity - size);
        let id = self.inserted;
        self.inserted += 1;
        let mut data = Vec::with_capacity(name.len() + value.len());
        data.extend_from_slice(name);
        data.extend_from_slice(value);
        if self.entries.len() == self.entries.capacity() {
            // From one entry, doubling: a connection that sends one or two
            // fields worth indexing keeps room for those, not four.
            self.entries.reserve_exact(self.entries.len().max(1));
        }
        self.entries.push_back(Entry {
            data: data.into_boxed_slice(),
            name_len: name.len(),
            name_hash,
            field_hash,
            id,
        });
        self.size += size;
        self.ids.insert(field_hash, id);
        self.ids.insert(name_hash, id);
    }

    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            let Some(e) = self.entries.pop_front() else {
                self.size = 0;
                break;
            };
            self.size -= e.size();
            for key in [e.field_hash, e.name_hash] {
                if self.ids.get(&key) == Some(&e.id) {
                    self.ids.remove(&key);
                }
            }
        }
    }
}

/// A dynamic table size change waiting for the next block (RFC 7541 §4.2).
#[derive(Debug, Clone, Copy)]
pub(super) struct PendingUpdate {
    /// smallest value seen since the last block
    min: usize,
    /// latest value
    last: usize,
}

/// Per-encoder state, kept in `Encoder`.
#[derive(Debug)]
pub(super) struct EncoderState {
    pub(super) table: EncoderTable,
    /// Our own cap on the table (`Encoder::new`).
    own_cap: usize,
    /// The table size the peer's decoder works with (the last update we sent,
    /// initially the default 4096, RFC 7541 §4.2 / RFC 9113 §6.5.2).
    peer_capacity: usize,
    pending: Option<PendingUpdate>,
    huffman: Huffman,
    indexing: Indexing,
    /// Hashes of recent volatile fields that were not indexed (their low
    /// 32 bits: a false match only indexes a value early; 128 bytes less
    /// per connection than whole hashes).
    recent: [u32; RECENT],
    recent_next: usize,
}

impl EncoderState {
    pub(super) fn new(own_cap: usize) -> Self {
        let mut state = EncoderState {
            table: EncoderTable::new(0),
            own_cap,
            peer_capacity: DEFAULT_TABLE_SIZE,
            pending: None,
            huffman: Huffman::WhenShorter,
            indexing: Indexing::Adaptive,
            recent: [0; RECENT],
            recent_next: 0,
        };
        state.assume_peer_capacity(DEFAULT_TABLE_SIZE);
        state
    }

    /// The peer's decoder starts with a table of `n` octets. When our cap is
    /// smaller, the first block says so with a size update (RFC 7541 §6.3),
    /// so that both tables hold exactly the same entries.
    fn assume_peer_capacity(&mut self, n: usize) {
        self.peer_capacity = n;
        let cap = self.own_cap.min(n);
        self.table.set_capacity(cap);
        self.pending = (cap < n).then_some(PendingUpdate {
            min: cap,
            last: cap,
        });
    }
}

impl Encoder {
    /// Builder: when to Huffman-code strings (default [`Huffman::WhenShorter`]).
    pub fn with_huffman(mut self, huffman: Huffman) -> Self {
        self.state.huffman = huffman;
        self
    }

    /// Builder: the indexing policy (default [`Indexing::Adaptive`]).
    pub fn with_indexing(mut self, indexing: Indexing) -> Self {
        self.state.indexing = indexing;
        self
    }

    /// Builder: the table size the peer's decoder starts with, when it is not
    /// the protocol default 4096 (RFC 9113 §6.5.2) because both ends agreed
    /// on another one beforehand, as RFC 7541 Appendix C.5 and C.6 assume
    /// (256). Call it before the first `encode`.
    pub fn with_initial_peer_table_size(mut self, n: usize) -> Self {
        self.state.assume_peer_capacity(n);
        self
    }

    /// Size of the encoder's dynamic table (RFC 7541 §4.1).
    pub fn table_size(&self) -> usize {
        self.state.table.size
    }

    /// Current maximum size of the encoder's dynamic table.
    pub fn table_capacity(&self) -> usize {
        self.state.table.capacity
    }

    /// Number of entries in the encoder's dynamic table.
    pub fn table_len(&self) -> usize {
        self.state.table.entries.len()
    }

    pub(super) fn peer_size_changed(&mut self, n: usize) {
        let s = &mut self.state;
        let target = n.min(s.own_cap);
        s.pending = Some(match s.pending {
            None => PendingUpdate {
                min: target,
                last: target,
            },
            Some(p) => PendingUpdate {
                min: p.min.min(target),
                last: target,
            },
        });
    }

    pub(super) fn encode_block<'a, I>(&mut self, fields: I, dst: &mut BytesMut)
    where
        I: IntoIterator<Item = FieldRef<'a>>,
    {
        let s = &mut self.state;
        if let Some(p) = s.pending.take() {
            // RFC 7541 §4.2: the smallest size since the last block first,
            // then the final one.
            let mut cur = s.peer_capacity;
            if p.min < cur && p.min < p.last {
                integer::encode(dst, 5, 0x20, p.min);
                cur = p.min;
                s.table.set_capacity(cur.min(s.own_cap));
            }
            if p.last != cur {
                integer::encode(dst, 5, 0x20, p.last);
                cur = p.last;
            }
            s.peer_capacity = cur;
            s.table.set_capacity(cur.min(s.own_cap));
        }
        for f in fields {
            s.encode_field(f, dst);
        }
    }
}

impl EncoderState {
    fn encode_field(&mut self, f: FieldRef<'_>, dst: &mut BytesMut) {
        let (name, value) = (f.name, f.value);
        let sensitive = f.sensitive || is_sensitive(name, value);
        let stat = static_table::find(name, value);
        if !sensitive {
            if let Some((_, Some(i))) = stat {
                integer::encode(dst, 7, 0x80, i);
                return;
            }
        }
        let name_hash = hash(0, name);
        let field_hash = hash(name_hash, value);
        if !sensitive {
            if let Some(i) = self.table.find_field(field_hash, name, value) {
                integer::encode(dst, 7, 0x80, i);
                return;
            }
        }
        // Static name indices are smaller and never evicted: prefer them.
        let name_index = match stat {
            Some((i, _)) => Some(i),
            None => self.table.find_name(name_hash, name),
        };
        if sensitive {
            literal(dst, 4, 0x10, name_index, name, value, self.huffman);
        } else if self.should_index(name, value, field_hash) {
            literal(dst, 6, 0x40, name_index, name, value, self.huffman);
            self.table.insert(name, value, name_hash, field_hash);
        } else {
            literal(dst, 4, 0x00, name_index, name, value, self.huffman);
        }
    }

    fn should_index(&mut self, name: &[u8], value: &[u8], field_hash: u64) -> bool {
        match self.indexing {
            Indexing::Always => true,
            Indexing::Never => false,
            Indexing::Adaptive => {
                let size = entry_size(name.len(), value.len());
                if size.saturating_mul(4) > self.table.capacity.saturating_mul(3) {
                    return false;
                }
                if !is_volatile(name) {
                    return true;
                }
                // Second sight: a volatile value seen recently is indexed.
                if self.recent.contains(&(field_hash as u32)) {
                    return true;
                }
                self.recent[self.recent_next] = field_hash as u32;
                self.recent_next = (self.recent_next + 1) % RECENT;
                false
            }
        }
    }
}

/// Names whose values usually differ from one message to the next.
fn is_volatile(name: &[u8]) -> bool {
    matches!(
        name,
        b":path"
            | b"content-length"
            | b"etag"
            | b"age"
            | b"if-modified-since"
            | b"if-none-match"
            | b"location"
            | b"set-cookie"
            | b"content-range"
            | b"x-request-id"
    )
}

/// Fields never indexed on our own initiative (RFC 7541 §7.1.3): credentials,
/// and short cookies (a small value space can be guessed by probing the table).
fn is_sensitive(name: &[u8], value: &[u8]) -> bool {
    match name {
        b"authorization" | b"proxy-authorization" => true,
        b"cookie" => value.len() < 20,
        _ => false,
    }
}

/// A literal field (RFC 7541 §6.2): representation bits `flags` with a
/// `prefix`-bit name index, or 0 and a literal name.
fn literal(
    dst: &mut BytesMut,
    prefix: u8,
    flags: u8,
    name_index: Option<usize>,
    name: &[u8],
    value: &[u8],
    huffman: Huffman,
) {
    match name_index {
        Some(i) => integer::encode(dst, prefix, flags, i),
        None => {
            dst.put_u8(flags);
            string(dst, name, huffman);
        }
    }
    string(dst, value, huffman);
}

/// A string literal (RFC 7541 §5.2), Huffman-coded as the policy says.
fn string(dst: &mut BytesMut, s: &[u8], policy: Huffman) {
    if policy != Huffman::Never {
        let n = hcode::encoded_len(s);
        if n < s.len() || (n == s.len() && policy == Huffman::WhenNotLonger) {
            integer::encode(dst, 7, 0x80, n);
            dst.reserve(n);
            hcode::encode(s, dst);
            return;
        }
    }
    integer::encode(dst, 7, 0, s.len());
    dst.extend_from_slice(s);
}

/// A fast non-cryptographic hash (multiply-rotate over 8-octet words). A
/// collision only costs a missed match: every hit is verified.
fn hash(seed: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    // The last 0-7 octets, zero-padded, as a little-endian word: a byte
    // loop (a variable-length `copy_from_slice` here was a `memcpy` call,
    // two per field encoded).
    let mut last = 0u64;
    for (i, &b) in chunks.remainder().iter().enumerate() {
        last |= u64::from(b) << (8 * i);
    }
    h = (h.rotate_left(5) ^ last).wrapping_mul(K);
    h ^ (h >> 29)
}
