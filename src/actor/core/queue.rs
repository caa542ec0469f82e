//! The event queue of a [`Session`](super::super::Session): the connection
//! pushes every notification here instead of sending it to a subscriber,
//! and `Session::take_evt` pops them, on the same thread.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

use super::super::messages::Event;

/// The events of a session, filled by its connection (see the module docs).
#[derive(Default)]
pub(crate) struct EventQueue {
    events: RefCell<VecDeque<Event>>,
    waker: RefCell<Option<Waker>>,
    closed: Cell<bool>,
}

impl EventQueue {
    pub fn push(&self, ev: Event) {
        self.events.borrow_mut().push_back(ev);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }
    /// No event follows (the connection stopped).
    pub fn close(&self) {
        self.closed.set(true);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }
}

impl EventQueue {
    /// The next event; `Ready(None)` once the connection stopped and the
    /// queue is empty.
    pub fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        if let Some(ev) = self.events.borrow_mut().pop_front() {
            return Poll::Ready(Some(ev));
        }
        if self.closed.get() {
            return Poll::Ready(None);
        }
        *self.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}
