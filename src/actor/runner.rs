//! `StreamRunner`: drives the [`H2Stream`] child actors of one connection
//! inside the connection actor's own task.
//!
//! `Actor::start` would spawn one tokio task per stream: an aligned
//! allocation (`posix_memalign`, slow in glibc) plus scheduler work for each
//! request (a visible share of the server's CPU in profiles, see
//! BENCHMARKS.md). Instead a
//! stream actor is built with `Context::new().into_future(..)` and its
//! `ContextFut` is polled by this runner, an item of the connection's
//! context: the stream actors of a connection share its task and its turns
//! (they are still actors, with their own mailbox and `Addr`).
//!
//! A panic in a stream actor must not take the connection down: every
//! stream future is wrapped in `catch_unwind`; the panicking actor is
//! dropped, and its `Drop` resets its stream with INTERNAL_ERROR.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use actix::dev::ContextFut;
use actix::prelude::*;
use futures::future::CatchUnwind;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;

use super::{Connection, H2Stream};

type StreamFut = ContextFut<H2Stream, Context<H2Stream>>;

/// New stream actors waiting to be picked up by the runner (filled from
/// anywhere on the connection's thread, drained by the runner).
#[derive(Default)]
pub(crate) struct Spawner {
    queue: Vec<StreamFut>,
    waker: Option<Waker>,
}

pub(crate) type SpawnerRef = Rc<RefCell<Spawner>>;

impl Spawner {
    /// Hands a new stream actor to the runner.
    pub fn spawn(this: &SpawnerRef, fut: StreamFut) {
        let mut s = this.borrow_mut();
        s.queue.push(fut);
        if let Some(w) = &s.waker {
            w.wake_by_ref();
        }
    }
}

pub(crate) struct StreamRunner {
    /// Created with the first stream: `FuturesUnordered::new` allocates
    /// ~0.5 KiB, which a connection without streams does not need.
    set: Option<FuturesUnordered<CatchUnwind<AssertUnwindSafe<StreamFut>>>>,
    spawner: SpawnerRef,
}

impl StreamRunner {
    pub fn new(spawner: SpawnerRef) -> Self {
        StreamRunner { set: None, spawner }
    }
}

impl ActorFuture<Connection> for StreamRunner {
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        _: &mut Connection,
        _: &mut Context<Connection>,
        task: &mut std::task::Context<'_>,
    ) -> Poll<()> {
        let this = self.get_mut();
        loop {
            {
                let mut sp = this.spawner.borrow_mut();
                match &sp.waker {
                    Some(w) if w.will_wake(task.waker()) => {}
                    _ => sp.waker = Some(task.waker().clone()),
                }
                if !sp.queue.is_empty() {
                    let set = this.set.get_or_insert_with(FuturesUnordered::new);
                    // `take`, not `drain`: the queue's room (a few whole
                    // `ContextFut`s, ~1.5 KiB) is not kept for the life of
                    // the connection.
                    for fut in std::mem::take(&mut sp.queue) {
                        set.push(AssertUnwindSafe(fut).catch_unwind());
                    }
                }
            }
            let Some(set) = this.set.as_mut() else {
                return Poll::Pending;
            };
            match set.poll_next_unpin(task) {
                // One stream actor finished (or panicked: already dropped).
                Poll::Ready(Some(r)) => {
                    if r.is_err() {
                        tracing::error!("a stream actor panicked; its stream was reset");
                    }
                }
                // Empty: new actors arrive through the spawner's waker.
                Poll::Ready(None) | Poll::Pending => {
                    if this.spawner.borrow().queue.is_empty() {
                        return Poll::Pending;
                    }
                }
            }
        }
    }
}
