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
use std::future::Future;

use super::{Connection, H2Stream};

type StreamFut = ContextFut<H2Stream, Context<H2Stream>>;
type Item = CatchUnwind<AssertUnwindSafe<StreamFut>>;
type Set = FuturesUnordered<Item>;

/// Where new stream actors go (from anywhere on the connection's thread):
/// straight into the runner's set, or, while the runner is polling it (a
/// stream actor's handler starts another stream: a push), into a queue the
/// runner drains after that poll.
#[derive(Default)]
pub(crate) struct Spawner {
    /// One stream actor kept out of the set, here between the runner's
    /// polls: a new actor takes it when it is free. The set's
    /// `FuturesUnordered::new` allocates a stub task sized for a stream
    /// future (~0.5 KiB, for the connection's life): a connection that
    /// never has two stream actors at once never makes it. Without a waker
    /// of its own, this actor is polled on each turn of the runner (an
    /// idle actor's poll is a look at its empty mailbox).
    first: Option<Pin<Box<Item>>>,
    /// The runner's other stream actors, here between its polls. Created
    /// with the second concurrent stream.
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
    /// Into the free slot, else into the set.
    fn place(&mut self, item: Item) {
        if self.first.is_none() {
            self.first = Some(Box::pin(item));
        } else {
            self.set
                .get_or_insert_with(FuturesUnordered::new)
                .push(item);
        }
    }

    /// Hands a new stream actor to the runner.
    pub fn spawn(this: &SpawnerRef, fut: StreamFut) {
        let mut s = this.borrow_mut();
        if s.polling {
            s.queue.push(fut);
        } else {
            s.place(AssertUnwindSafe(fut).catch_unwind());
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
        let (first, set, queue) = {
            let mut sp = self.spawner.borrow_mut();
            (
                sp.first.take(),
                sp.set.take(),
                std::mem::take(&mut sp.queue),
            )
        };
        // Dropped outside the borrow: a stream actor's `Drop` may start
        // or reach other work on this thread.
        drop(first);
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
            let (mut first, mut set) = {
                let mut sp = this.spawner.borrow_mut();
                match &sp.waker {
                    Some(w) if w.will_wake(task.waker()) => {}
                    _ => sp.waker = Some(task.waker().clone()),
                }
                // No stream yet: new actors arrive through the waker.
                if sp.first.is_none() && sp.set.is_none() {
                    return Poll::Pending;
                }
                sp.polling = true;
                (sp.first.take(), sp.set.take())
            };
            // No borrow of the spawner here: stream actors run. One that
            // finished (or panicked: already dropped) is dropped here.
            let mut panicked = false;
            if let Some(f) = &mut first {
                if let Poll::Ready(r) = f.as_mut().poll(task) {
                    panicked |= r.is_err();
                    first = None;
                }
            }
            let mut set_finished = false;
            if let Some(set) = &mut set {
                if let Poll::Ready(Some(r)) = set.poll_next_unpin(task) {
                    panicked |= r.is_err();
                    set_finished = true;
                }
            }
            if panicked {
                crate::log_limit::limited!(error, "a stream actor panicked; its stream was reset");
            }
            let started = {
                let mut sp = this.spawner.borrow_mut();
                sp.polling = false;
                let started = !sp.queue.is_empty();
                sp.first = first;
                if set.is_some() {
                    sp.set = set;
                }
                for fut in std::mem::take(&mut sp.queue) {
                    sp.place(AssertUnwindSafe(fut).catch_unwind());
                }
                started
            };
            // Poll again for an actor that finished in the set (others may
            // be ready) or for actors just started.
            if !started && !set_finished {
                return Poll::Pending;
            }
        }
    }
}
