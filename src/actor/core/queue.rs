//! The event queue of a [`Session`](super::super::Session) or of a
//! [`Client`](crate::client::Client)'s connection: the connection pushes
//! every notification here instead of sending it to a subscriber (no
//! actix envelope per notification), and the session's `take_evt` or the
//! client's drain pops them, on the same thread.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

use super::super::messages::{Error, Event, SendRequest};
use super::super::stream::H2Stream;

/// What the connection tells the owner of its queue. (Most items are
/// events, the large variant: boxing it would cost an allocation each.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Item {
    /// A notification.
    Event(Event),
    /// The answer to the client's request number `u64` (see
    /// [`EventQueue::send_request`]): its stream, or why it was not sent.
    Opened(u64, Result<H2Stream, Error>),
}

/// The events of a session or client connection, filled by the connection
/// (see the module docs).
#[derive(Default)]
pub(crate) struct EventQueue {
    items: RefCell<VecDeque<Item>>,
    waker: RefCell<Option<Waker>>,
    closed: Cell<bool>,
    /// A client's requests, for the connection to take in its next turn
    /// (no actix envelope, no reply channel: answered as `Item::Opened`).
    requests: RefCell<VecDeque<(u64, SendRequest)>>,
    /// The connection's task, woken for `requests`.
    conn_waker: RefCell<Option<Waker>>,
}

impl EventQueue {
    pub fn push(&self, ev: Event) {
        self.push_item(Item::Event(ev));
    }

    pub fn push_item(&self, item: Item) {
        self.items.borrow_mut().push_back(item);
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

    /// Client: hands request number `job` to the connection, which answers
    /// with `Item::Opened(job, ..)`, or, if it stops first, not at all.
    pub fn send_request(&self, job: u64, req: SendRequest) {
        let mut q = self.requests.borrow_mut();
        let was_empty = q.is_empty();
        q.push_back((job, req));
        drop(q);
        // The connection takes every request at each turn: one wake-up
        // per batch.
        if was_empty {
            if let Some(w) = &*self.conn_waker.borrow() {
                w.wake_by_ref();
            }
        }
    }

    /// Connection: the next request of the client.
    pub fn take_request(&self) -> Option<(u64, SendRequest)> {
        self.requests.borrow_mut().pop_front()
    }

    /// Connection: its task's waker (for `send_request`).
    pub fn set_conn_waker(&self, w: &Waker) {
        *self.conn_waker.borrow_mut() = Some(w.clone());
    }

    /// The connection stopped: nothing more is pushed.
    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// The next event; `Ready(None)` once the connection stopped and the
    /// queue is empty.
    pub fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        loop {
            match self.poll_item(cx) {
                Poll::Ready(Some(Item::Event(ev))) => return Poll::Ready(Some(ev)),
                // Only a client's connection answers requests here.
                Poll::Ready(Some(Item::Opened(..))) => continue,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// The next item; `Ready(None)` once the connection stopped and the
    /// queue is empty.
    pub fn poll_item(&self, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        if let Some(item) = self.items.borrow_mut().pop_front() {
            return Poll::Ready(Some(item));
        }
        if self.closed.get() {
            return Poll::Ready(None);
        }
        let mut w = self.waker.borrow_mut();
        match &*w {
            Some(old) if old.will_wake(cx.waker()) => {}
            _ => *w = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}
