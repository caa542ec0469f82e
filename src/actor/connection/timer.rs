//! The connection's timer watch: an item of the actor's context for the
//! actor's whole life, polled on every wake-up of the actor's task, after
//! its mailbox.
//!
//! The protocol's deadlines move only in calls that take `now`; the actor
//! re-arms its one timer (`Connection::arm_timer`) at the end of its own
//! turns. This watch is polled after the driver in every poll of the
//! actor's task, so a deadline moved by the mailbox's handlers or by the
//! driver (frames read, bytes written, a `RecvData` handled) is re-armed
//! in the same turn. Work that runs after the watch (the actor's own
//! timers) wakes the task instead (`Core::wake`, with the waker the
//! driver registers), and the watch re-arms in the next poll. That
//! replaces a message per move: a wake-up allocates nothing, and several
//! moves before the actor runs cost one re-arm.

use std::pin::Pin;
use std::task::{self, Poll};

use actix::prelude::*;

use super::Connection;

pub(super) struct TimerWatch;

impl ActorFuture<Connection> for TimerWatch {
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut Connection,
        ctx: &mut Context<Connection>,
        _: &mut task::Context<'_>,
    ) -> Poll<()> {
        if act.core.deadline_earlier() {
            act.arm_timer(ctx);
        }
        Poll::Pending
    }
}
