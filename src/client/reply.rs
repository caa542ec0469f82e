//! How a [`Fetch`](super::Fetch) is answered without a task per request.
//!
//! actix answers a message through a oneshot channel it makes for each
//! `send`. The usual way to answer later (`ResponseFuture`) spawns a tokio
//! task per message that awaits a second channel: per request one task,
//! one boxed future and one more channel (a profile of the client showed
//! about a tenth of its instructions there). Instead the handler returns a
//! [`FetchReply`] that shares one small slot with the request's job: actix
//! puts its sender into the slot right after the handler returns, and the
//! client answers through it when the response is complete. The slots
//! are entries of one table per client, reused, so a request costs no
//! allocation here.
//!
//! Also here: [`PtrHash`], the hasher of the client's maps, whose keys are
//! the client's own (stream handles, job numbers), not the peer's.

use std::cell::RefCell;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

use actix::dev::{MessageResponse, OneshotSender};
use actix::prelude::Context;

use super::{Client, Fetch, FetchError, Response};

type Outcome = Result<Response, FetchError>;

#[derive(Default)]
struct Slot {
    /// actix has called [`FetchReply`]'s `handle` (with `tx` or without:
    /// `do_send` wants no answer), or dropped it.
    attached: bool,
    tx: Option<OneshotSender<Outcome>>,
    /// An answer given before actix attached its sender.
    early: Option<Outcome>,
    /// The job answered (its `Reply` dropped without an answer tells the
    /// caller `ClientStopped`, as a dropped channel did before).
    answered: bool,
}

impl Slot {
    /// Both ends are done with it: it may serve another request.
    fn spent(&self) -> bool {
        self.attached && self.answered
    }
}

/// The reply slots of a client's requests: one table, its entries reused
/// (a slot per request would be an allocation per request).
#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<usize>,
}

/// The client's reply slots (shared by the client's jobs and the
/// [`FetchReply`]s actix holds for a moment).
#[derive(Default, Clone)]
pub(super) struct Replies(Rc<RefCell<Table>>);

impl Replies {
    fn release_if_spent(t: &mut Table, i: usize) {
        if t.slots[i].spent() {
            t.slots[i] = Slot::default();
            t.free.push(i);
        }
    }
}

/// The job's end of its slot: answers the caller once.
pub(super) struct Reply {
    table: Replies,
    i: usize,
    /// Answered: the slot may serve another request already.
    done: bool,
}

/// What the [`Client`] returns to actix for a [`Fetch`]: the caller's
/// answer comes when the response is complete (or the request failed).
/// The caller sees `Result<Response, FetchError>` as usual; this type only
/// names the handler's return value.
pub struct FetchReply {
    table: Replies,
    i: usize,
    /// Attached: the slot may serve another request already.
    done: bool,
}

impl Reply {
    /// A job's reply and the handler's return value, sharing one slot of
    /// `table`.
    pub(super) fn new(table: &Replies) -> (Reply, FetchReply) {
        let i = {
            let mut t = table.0.borrow_mut();
            match t.free.pop() {
                Some(i) => i,
                None => {
                    t.slots.push(Slot::default());
                    t.slots.len() - 1
                }
            }
        };
        (
            Reply {
                table: table.clone(),
                i,
                done: false,
            },
            FetchReply {
                table: table.clone(),
                i,
                done: false,
            },
        )
    }

    /// Answers the caller (now, or as soon as actix hands over its sender).
    pub(super) fn send(mut self, outcome: Outcome) {
        self.answer(outcome);
    }

    fn answer(&mut self, outcome: Outcome) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let mut t = self.table.0.borrow_mut();
        let s = &mut t.slots[self.i];
        s.answered = true;
        if !s.attached {
            s.early = Some(outcome);
            return;
        }
        if let Some(tx) = s.tx.take() {
            // The caller's task is woken, not run: no re-entry here.
            let _ = tx.send(outcome);
        }
        Replies::release_if_spent(&mut t, self.i);
    }

    /// The caller stopped waiting (dropped the `send` future).
    pub(super) fn is_closed(&self) -> bool {
        self.table.0.borrow().slots[self.i]
            .tx
            .as_ref()
            .is_some_and(|tx| tx.is_closed())
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.answer(Err(FetchError::ClientStopped));
    }
}

impl FetchReply {
    fn attach(&mut self, tx: Option<OneshotSender<Outcome>>) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let mut t = self.table.0.borrow_mut();
        let s = &mut t.slots[self.i];
        s.attached = true;
        match (s.early.take(), tx) {
            (Some(outcome), Some(tx)) => {
                let _ = tx.send(outcome);
            }
            (None, tx) => s.tx = tx,
            (Some(_), None) => {}
        }
        Replies::release_if_spent(&mut t, self.i);
    }
}

impl Drop for FetchReply {
    fn drop(&mut self) {
        // Not handed to actix after all: nobody will attach a sender.
        self.attach(None);
    }
}

impl MessageResponse<Client, Fetch> for FetchReply {
    fn handle(mut self, _: &mut Context<Client>, tx: Option<OneshotSender<Outcome>>) {
        self.attach(tx);
    }
}

/// FxHash's step (multiply by a large odd constant after a rotate): the
/// maps are keyed by pointers and counters this process made, so no
/// flooding resistance is needed, and SipHash showed in the profile.
#[derive(Default, Clone, Copy)]
pub(super) struct PtrHasher(u64);

impl Hasher for PtrHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn finish(&self) -> u64 {
        // The product's high bits are the well-mixed ones, and pointers
        // have their low bits zero: bring the high bits down, where the
        // table takes its bucket index (as rustc-hash 2 does).
        self.0.rotate_left(26)
    }
}

/// The `BuildHasher` of the client's maps.
pub(super) type PtrHash = BuildHasherDefault<PtrHasher>;
