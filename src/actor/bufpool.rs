//! Read and write buffers only while a connection is busy.
//!
//! A connection holds its read buffer and its write buffer only while bytes
//! pass through them: the read loop gives its buffer back when the socket has
//! nothing more to read and no partial frame is left; the writer gives the
//! write buffer back as soon as it is empty. An idle connection (or one whose
//! streams are all waiting) therefore holds no I/O buffer at all. Given back,
//! a buffer goes to a small pool of its thread (each arbiter is one thread,
//! and a connection stays on its arbiter), from which the next busy
//! connection of that thread takes it: a few buffers serve many connections
//! in turn, and they are already resident.
//!
//! Without this, every connection kept a 64 KiB read buffer and a 65 KiB
//! write buffer for its whole life; only the pages it had touched counted in
//! RSS, but that was ~20 KiB per idle connection (BENCHMARKS.md, "Memory").
//!
//! The pools are bounded ([`POOLED`] buffers of each kind per thread); a
//! buffer that cannot be reused whole (it still shares its allocation with
//! `Bytes` handed to a user, or it is not of the pool's size) is simply
//! dropped.

use std::cell::RefCell;

use bytes::BytesMut;

/// Buffers of each kind kept per thread.
pub(crate) const POOLED: usize = 16;
/// Capacity of a new read buffer.
pub(crate) const READ_CAPACITY: usize = 64 << 10;
/// Capacity of a new write buffer: the writer pulls frames while it holds
/// less than `max_write_buffer` (256 KiB by default); most turns write far
/// less than this, a larger turn grows it.
pub(crate) const WRITE_CAPACITY: usize = (64 << 10) + 1024;
/// Pooled buffers above this capacity are dropped instead (a rare turn that
/// grew one should not pin the memory).
const MAX_POOLED_CAPACITY: usize = 4 * WRITE_CAPACITY;

thread_local! {
    static READ: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
    static WRITE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// A read buffer with at least `READ_CAPACITY / 2` bytes free.
pub(crate) fn take_read() -> BytesMut {
    READ.with(|p| p.borrow_mut().pop())
        .unwrap_or_else(|| BytesMut::with_capacity(READ_CAPACITY))
}

/// An empty write buffer.
pub(crate) fn take_write() -> BytesMut {
    WRITE
        .with(|p| p.borrow_mut().pop())
        .unwrap_or_else(|| BytesMut::with_capacity(WRITE_CAPACITY))
}

/// Gives an empty read buffer back (see the module docs).
pub(crate) fn give_read(buf: BytesMut) {
    give(&READ, buf, READ_CAPACITY / 2);
}

/// Gives an empty write buffer back (see the module docs).
pub(crate) fn give_write(buf: BytesMut) {
    give(&WRITE, buf, WRITE_CAPACITY);
}

fn give(
    pool: &'static std::thread::LocalKey<RefCell<Vec<BytesMut>>>,
    mut buf: BytesMut,
    room: usize,
) {
    debug_assert!(buf.is_empty());
    // `try_reclaim` is true when the buffer can take `room` bytes without
    // allocating: either it has them free already, or it is the sole owner
    // of its allocation and can move back to its start.
    if buf.capacity() > MAX_POOLED_CAPACITY || !buf.is_empty() || !buf.try_reclaim(room) {
        return;
    }
    // `try_with`: while the thread is exiting, the pool may be gone.
    let _ = pool.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOLED {
            p.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    #[test]
    fn a_given_buffer_is_taken_again() {
        let mut b = take_write();
        let ptr = b.as_ptr();
        b.put_slice(b"frames");
        b.clear();
        give_write(b);
        assert_eq!(take_write().as_ptr(), ptr);
    }

    #[test]
    fn a_buffer_still_shared_with_frozen_bytes_is_not_pooled_unless_it_has_room() {
        let mut b = take_read();
        b.put_bytes(0, READ_CAPACITY - 10);
        let frozen = b.split().freeze();
        // 10 bytes left: not enough room, and the allocation is shared.
        give_read(b);
        let again = take_read();
        assert!(again.capacity() >= READ_CAPACITY / 2);
        assert_ne!(again.as_ptr(), frozen.as_ptr());
    }

    #[test]
    fn the_pool_is_bounded() {
        let bufs: Vec<_> = (0..POOLED + 4).map(|_| take_write()).collect();
        for b in bufs {
            give_write(b);
        }
        assert_eq!(WRITE.with(|p| p.borrow().len()), POOLED);
    }

    #[test]
    fn small_buffers_are_dropped() {
        READ.with(|p| p.borrow_mut().clear());
        give_read(BytesMut::with_capacity(100));
        assert_eq!(READ.with(|p| p.borrow().len()), 0);
    }
}
