//! The connection's timer watch: an item of the actor's context for the
//! actor's whole life, polled on every wake-up of the actor's task, after
//! its mailbox.
//!
//! The protocol's deadlines move only in calls that take `now`; the actor
//! re-arms its one timer (`Connection::arm_timer`) at the end of its own
//! turns. Some work runs outside those turns: a `Session` acting on the
//! core from its own task, a subscriber's `RecvData` handled (the window
//! it releases), the actor's own timers after its driver. When such a call
//! moves the next deadline earlier than the armed timer, the core wakes
//! the actor's task
//! with the waker registered here (`Core::timer_waker`), and this watch
//! re-arms. That replaces a message per move: a wake-up allocates nothing,
//! and several moves before the actor runs cost one re-arm.

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
        task: &mut task::Context<'_>,
    ) -> Poll<()> {
        let rearm = {
            let c = &mut act.core;
            match &c.timer_waker {
                Some(w) if w.will_wake(task.waker()) => {}
                _ => c.timer_waker = Some(task.waker().clone()),
            }
            c.deadline_earlier()
        };
        if rearm {
            act.arm_timer(ctx);
        }
        Poll::Pending
    }
}
