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
type Set = FuturesUnordered<CatchUnwind<AssertUnwindSafe<StreamFut>>>;

/// Where new stream actors go (from anywhere on the connection's thread):
/// straight into the runner's set, or, while the runner is polling it (a
/// stream actor's handler starts another stream: a push), into a queue the
/// runner drains after that poll.
#[derive(Default)]
pub(crate) struct Spawner {
    /// The runner's stream actors, here between its polls. Created with
    /// the first stream (`FuturesUnordered::new` allocates ~0.5 KiB, which
    /// a connection without streams does not need).
    set: Option<Set>,
    /// The runner holds `set` (it is polling it).
    polling: bool,
    /// Started while the runner polls; empty and unallocated otherwise
    /// (a queue that kept its room would hold a few whole `ContextFut`s,
    /// ~1.5 KiB, for the life of the connection).
    queue: Vec<StreamFut>,
    waker: Option<Waker>,
}

pub(crate) type SpawnerRef = Rc<RefCell<Spawner>>;

impl Spawner {
    /// Hands a new stream actor to the runner.
    pub fn spawn(this: &SpawnerRef, fut: StreamFut) {
        let mut s = this.borrow_mut();
        if s.polling {
            s.queue.push(fut);
        } else {
            s.set
                .get_or_insert_with(FuturesUnordered::new)
                .push(AssertUnwindSafe(fut).catch_unwind());
        }
        if let Some(w) = &s.waker {
            w.wake_by_ref();
        }
    }
}

pub(crate) struct StreamRunner {
    spawner: SpawnerRef,
}

impl StreamRunner {
    pub fn new(spawner: SpawnerRef) -> Self {
        StreamRunner { spawner }
    }
}

/// The stream actors end with their runner (with the connection's
/// context), as when the runner owned them.
impl Drop for StreamRunner {
    fn drop(&mut self) {
        let (set, queue) = {
            let mut sp = self.spawner.borrow_mut();
            (sp.set.take(), std::mem::take(&mut sp.queue))
        };
        // Dropped outside the borrow: a stream actor's `Drop` may start
        // or reach other work on this thread.
        drop(set);
        drop(queue);
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
            let mut set = {
                let mut sp = this.spawner.borrow_mut();
                match &sp.waker {
                    Some(w) if w.will_wake(task.waker()) => {}
                    _ => sp.waker = Some(task.waker().clone()),
                }
                // No stream yet: new actors arrive through the waker.
                let Some(set) = sp.set.take() else {
                    return Poll::Pending;
                };
                sp.polling = true;
                set
            };
            // No borrow of the spawner here: stream actors run.
            let r = set.poll_next_unpin(task);
            let started = {
                let mut sp = this.spawner.borrow_mut();
                sp.polling = false;
                let started = !sp.queue.is_empty();
                for fut in std::mem::take(&mut sp.queue) {
                    set.push(AssertUnwindSafe(fut).catch_unwind());
                }
                sp.set = Some(set);
                started
            };
            match r {
                // One stream actor finished (or panicked: already dropped).
                Poll::Ready(Some(r)) => {
                    if r.is_err() {
                        tracing::error!("a stream actor panicked; its stream was reset");
                    }
                }
                // Empty or waiting: poll again only for actors just started.
                Poll::Ready(None) | Poll::Pending => {
                    if !started {
                        return Poll::Pending;
                    }
                }
            }
        }
    }
}
