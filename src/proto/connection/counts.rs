//! Active-stream counters (§5.1.2): which streams count toward the
//! concurrency limits, kept in line with each stream's state.

use crate::proto::stream::{Stream, StreamState};
use crate::proto::Role;

/// Active-stream counters (§5.1.2).
#[derive(Debug, Default)]
pub(super) struct Counts {
    /// Locally initiated streams counting toward the peer's limit.
    pub(super) local: usize,
    /// Peer-initiated streams counting toward our limit.
    pub(super) peer: usize,
    /// Streams in reserved (remote): pushes the peer announced.
    pub(super) reserved_remote: usize,
}

/// Whether a stream counts toward a concurrency limit (§5.1.2) — while it
/// is open or half-closed, and while a closed stream still has output to
/// write (the peer has not seen it end) — and whether it is a reserved
/// (remote) push.
fn counted<A>(s: &Stream<A>) -> (bool, bool) {
    let active = s.state.is_active() || (s.state == StreamState::Closed && s.has_output());
    (active, s.state == StreamState::ReservedRemote)
}

pub(super) fn uncount(c: &mut Counts, role: Role, id: u32, active: bool, reserved: bool) {
    let local = is_local(role, id);
    if active {
        if local {
            c.local = c.local.saturating_sub(1);
        } else {
            c.peer = c.peer.saturating_sub(1);
        }
    }
    if reserved {
        c.reserved_remote = c.reserved_remote.saturating_sub(1);
    }
}

fn is_local(role: Role, id: u32) -> bool {
    match role {
        Role::Client => id % 2 == 1,
        Role::Server => id % 2 == 0,
    }
}

/// Brings the counters in line with the stream's state (`s.counted`).
pub(super) fn recount<A>(c: &mut Counts, role: Role, s: &mut Stream<A>) {
    let now = counted(s);
    if now == s.counted {
        return;
    }
    let (was_active, was_reserved) = s.counted;
    uncount(c, role, s.id, was_active, was_reserved);
    let local = is_local(role, s.id);
    if now.0 {
        if local {
            c.local += 1;
        } else {
            c.peer += 1;
        }
    }
    if now.1 {
        c.reserved_remote += 1;
    }
    s.counted = now;
}
