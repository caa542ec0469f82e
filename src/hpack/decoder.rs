//! Header block decoding (RFC 7541 §3, §6).
//!
//! All literal strings of one block are decoded into ONE buffer, reserved once
//! per block; every string is then a `Bytes` slice of it (a reference count,
//! no allocation). Fields found in the static or dynamic table are `Bytes`
//! clones. A block therefore costs at most two allocations: the buffer and
//! the shared header `bytes` creates the first time the buffer is split.
//! The decoder keeps the buffer between blocks: once every slice of the
//! previous block is dropped (the caller cleared its list and no table entry
//! points into it), `reserve` reuses the same memory and a block costs none.

use super::integer;
use super::static_table::{self, STATIC_LEN};
use super::table::{entry_size, ENTRY_OVERHEAD};
use super::{huffman, Decoder, DecoderError, Field};
use bytes::{Bytes, BytesMut};

/// The most string buffer capacity kept between blocks.
const KEEP_LIMIT: usize = 16 * 1024;

/// A table entry that would keep a decode buffer larger than this alive is
/// copied out of it instead (see `Decoder::insert`).
const PIN_LIMIT: usize = 4096;

/// How one literal field is represented (RFC 7541 §6.2).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Literal {
    Incremental,
    WithoutIndexing,
    NeverIndexed,
}

/// Per-block decoding state.
struct Block<'a> {
    src: &'a [u8],
    pos: usize,
    /// Shared output buffer for this block's strings (lazily reserved).
    buf: &'a mut BytesMut,
    /// Sum of RFC 7541 §4.1 sizes of the fields so far.
    list_size: usize,
    /// The header list passed the limit: stop appending to `out`.
    over: bool,
    /// Capacity of `buf` once reserved for this block (what its strings
    /// keep alive); 0 before the first string.
    reserved: usize,
    /// Header list limit + table size: the most string bytes worth keeping.
    limit_hint: usize,
    /// Least capacity of a new buffer (`Decoder::set_min_chunk`).
    min_chunk: usize,
}

impl Decoder {
    pub(super) fn decode_block(
        &mut self,
        src: &[u8],
        out: &mut Vec<Field>,
    ) -> Result<(), DecoderError> {
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.decode_with(src, out, &mut buf);
        // Keep a usual-sized buffer for the next block; let a large one go
        // (an idle connection should not hold on to its largest block).
        if buf.capacity() <= KEEP_LIMIT {
            self.buf = buf;
        }
        r
    }

    fn decode_with(
        &mut self,
        src: &[u8],
        out: &mut Vec<Field>,
        buf: &mut BytesMut,
    ) -> Result<(), DecoderError> {
        let mut b = Block {
            src,
            pos: 0,
            buf,
            list_size: 0,
            over: false,
            reserved: 0,
            limit_hint: 0,
            min_chunk: self.min_chunk,
        };
        b.limit_hint = self
            .max_header_list_size
            .saturating_add(self.max_table_size);

        // RFC 7541 §4.2: size updates come first. When our setting dropped
        // below the table's current maximum since the last block, the peer
        // must signal "the smallest maximum table size that occurs in that
        // interval": one of the updates here must be at or below it.
        let required = self.min_setting < self.table.max_size();
        let mut smallest_update = usize::MAX;
        while let Some(&first) = src.get(b.pos) {
            if first & 0xe0 != 0x20 {
                break;
            }
            let n = integer::decode(src, &mut b.pos, 5)?;
            if n > self.max_table_size {
                return Err(DecoderError::SizeUpdateTooLarge(n));
            }
            self.table.set_max_size(n);
            smallest_update = smallest_update.min(n);
        }
        if required && smallest_update > self.min_setting {
            return Err(DecoderError::SizeUpdateMissing);
        }
        self.min_setting = self.max_table_size;

        while let Some(&first) = src.get(b.pos) {
            if first & 0x80 != 0 {
                // Indexed header field, RFC 7541 §6.1.
                let index = integer::decode(src, &mut b.pos, 7)?;
                let (name, value) = self.lookup(index)?;
                self.push(&mut b, out, name, value, false);
            } else if first & 0x40 != 0 {
                // Literal with incremental indexing, RFC 7541 §6.2.1.
                self.literal(&mut b, out, 6, Literal::Incremental)?;
            } else if first & 0x20 != 0 {
                // RFC 7541 §4.2: "MUST occur at the beginning of the first
                // header block following the change".
                return Err(DecoderError::SizeUpdateNotAtStart);
            } else if first & 0x10 != 0 {
                // Literal never indexed, RFC 7541 §6.2.3.
                self.literal(&mut b, out, 4, Literal::NeverIndexed)?;
            } else {
                // Literal without indexing, RFC 7541 §6.2.2.
                self.literal(&mut b, out, 4, Literal::WithoutIndexing)?;
            }
        }
        if b.over {
            return Err(DecoderError::HeaderListTooLarge(self.max_header_list_size));
        }
        Ok(())
    }

    /// Static or dynamic entry `index` (RFC 7541 §2.3.3); 0 and anything past
    /// both tables are errors.
    #[inline]
    fn lookup(&self, index: usize) -> Result<(Bytes, Bytes), DecoderError> {
        if index <= STATIC_LEN {
            return static_table::get(index).ok_or(DecoderError::InvalidIndex(index));
        }
        match self.table.get(index - STATIC_LEN - 1) {
            Some((n, v)) => Ok((n.clone(), v.clone())),
            None => Err(DecoderError::InvalidIndex(index)),
        }
    }

    /// Appends a field unless the list is (or now becomes) too large.
    #[inline]
    fn push(
        &self,
        b: &mut Block<'_>,
        out: &mut Vec<Field>,
        name: Bytes,
        value: Bytes,
        never_index: bool,
    ) {
        if b.over {
            return;
        }
        b.list_size = b
            .list_size
            .saturating_add(entry_size(name.len(), value.len()));
        if b.list_size > self.max_header_list_size {
            b.over = true;
            return;
        }
        out.push(Field {
            name,
            value,
            never_index,
        });
    }

    fn literal(
        &mut self,
        b: &mut Block<'_>,
        out: &mut Vec<Field>,
        prefix: u8,
        kind: Literal,
    ) -> Result<(), DecoderError> {
        let index = integer::decode(b.src, &mut b.pos, prefix)?;
        // How many name + value bytes are worth keeping: what still fits in
        // the header list, or, for an entry to index, what fits in the table.
        // Longer strings are validated and dropped, never stored.
        let out_budget = if b.over {
            0
        } else {
            self.max_header_list_size
                .saturating_sub(b.list_size)
                .saturating_sub(ENTRY_OVERHEAD)
        };
        let table_budget = if kind == Literal::Incremental {
            self.table.max_size().saturating_sub(ENTRY_OVERHEAD)
        } else {
            0
        };
        let keep = out_budget.max(table_budget);

        let name = if index == 0 {
            read_string(b, keep)?
        } else {
            Some(self.lookup(index)?.0)
        };
        let value_budget = match &name {
            Some(n) if n.len() <= keep => keep - n.len(),
            _ => 0,
        };
        let value = read_string(b, value_budget)?;
        match (name, value) {
            (Some(name), Some(value)) if name.len() + value.len() <= keep => {
                if kind == Literal::Incremental {
                    self.insert(b, name.clone(), value.clone());
                }
                self.push(b, out, name, value, kind == Literal::NeverIndexed);
            }
            _ => {
                // Larger than both budgets: past the list limit, and (when
                // indexing) larger than the table, which it empties (§4.4).
                b.over = true;
                if kind == Literal::Incremental {
                    self.table.insert_oversized();
                }
            }
        }
        Ok(())
    }

    /// Adds to the dynamic table. Entries normally share the block's buffer;
    /// when that buffer is large compared to the entry, the entry is copied so
    /// that a small entry cannot keep a large buffer alive for long.
    fn insert(&mut self, b: &Block<'_>, name: Bytes, value: Bytes) {
        let size = entry_size(name.len(), value.len());
        if b.reserved > PIN_LIMIT && size.saturating_mul(4) < b.reserved {
            self.table.insert(copy_out(name), copy_out(value));
        } else {
            self.table.insert(name, value);
        }
    }
}

/// A copy of `b` owning its own memory (static `Bytes` stay as they are).
fn copy_out(b: Bytes) -> Bytes {
    if b.is_empty() {
        Bytes::new()
    } else {
        Bytes::copy_from_slice(&b)
    }
}

/// Reads a string literal (RFC 7541 §5.2). Returns `None` when it is valid but
/// longer than `budget` decoded octets (then nothing is stored).
#[inline]
fn read_string(b: &mut Block<'_>, budget: usize) -> Result<Option<Bytes>, DecoderError> {
    let huffman = b.src.get(b.pos).ok_or(DecoderError::Truncated)? & 0x80 != 0;
    let len = integer::decode(b.src, &mut b.pos, 7)?;
    let end = b.pos.checked_add(len).ok_or(DecoderError::StringTooLong)?;
    let raw = b.src.get(b.pos..end).ok_or(DecoderError::StringTooLong)?;
    b.pos = end;
    if raw.is_empty() {
        return Ok(Some(Bytes::new()));
    }
    if !huffman {
        if len > budget {
            return Ok(None);
        }
        reserve(b, len);
        b.buf.extend_from_slice(raw);
        return Ok(Some(b.buf.split().freeze()));
    }
    if budget == 0 {
        huffman::validate(raw)?;
        return Ok(None);
    }
    reserve(b, len);
    if huffman::decode_bounded(raw, b.buf, budget)? {
        Ok(Some(b.buf.split().freeze()))
    } else {
        Ok(None)
    }
}

/// Reserves the block's string buffer on first use: enough for the current
/// string (`current` octets, already consumed) and every remaining one even if
/// all were Huffman-coded (at most 8/5 expansion; the Huffman decoder's
/// scratch needs up to 2x of the current string), but never more than the
/// limits let the block keep. The previous block's memory is reused when
/// nothing refers to it any more and it is not much larger than needed;
/// otherwise a right-sized buffer is allocated (`BytesMut::reserve` would
/// keep the largest size ever seen).
#[inline]
fn reserve(b: &mut Block<'_>, current: usize) {
    if b.reserved == 0 {
        let remaining = b.src.len().saturating_sub(b.pos).saturating_add(current);
        let n = remaining
            .min(b.limit_hint)
            .saturating_mul(2)
            .saturating_add(64);
        let reusable = b.buf.capacity() >= n || b.buf.try_reclaim(n);
        let chunk = n.max(b.min_chunk);
        if !reusable || b.buf.capacity() > PIN_LIMIT.max(chunk.saturating_mul(4)) {
            *b.buf = BytesMut::with_capacity(chunk);
        }
        b.reserved = b.buf.capacity().max(1);
    }
}
