//! How a [`Fetch`](super::Fetch) is answered without a task per request.
//!
//! actix answers a message through a oneshot channel it makes for each
//! `send`. The usual way to answer later (`ResponseFuture`) spawns a tokio
//! task per message that awaits a second channel: per request one task,
//! one boxed future and one more channel (a profile of the client showed
//! about a tenth of its instructions there). Instead the handler returns a
//! [`FetchReply`] that shares one small slot with the request's job: actix
//! puts its sender into the slot right after the handler returns, and the
//! client answers through it when the response is complete.
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
    /// `do_send` wants no answer).
    attached: bool,
    tx: Option<OneshotSender<Outcome>>,
    /// An answer given before actix attached its sender.
    early: Option<Outcome>,
    /// The job answered (its `Reply` dropped without an answer tells the
    /// caller `ClientStopped`, as a dropped channel did before).
    answered: bool,
}

/// The job's end of the slot: answers the caller once.
pub(super) struct Reply(Rc<RefCell<Slot>>);

/// What the [`Client`] returns to actix for a [`Fetch`]: the caller's
/// answer comes when the response is complete (or the request failed).
/// The caller sees `Result<Response, FetchError>` as usual; this type only
/// names the handler's return value.
pub struct FetchReply(Rc<RefCell<Slot>>);

impl Reply {
    /// A job's reply and the handler's return value, sharing one slot.
    pub(super) fn new() -> (Reply, FetchReply) {
        let slot = Rc::new(RefCell::new(Slot::default()));
        (Reply(slot.clone()), FetchReply(slot))
    }

    /// Answers the caller (now, or as soon as actix hands over its sender).
    pub(super) fn send(self, outcome: Outcome) {
        self.answer(outcome);
    }

    fn answer(&self, outcome: Outcome) {
        let mut s = self.0.borrow_mut();
        if s.answered {
            return;
        }
        s.answered = true;
        if !s.attached {
            s.early = Some(outcome);
        } else if let Some(tx) = s.tx.take() {
            let _ = tx.send(outcome);
        }
    }

    /// The caller stopped waiting (dropped the `send` future).
    pub(super) fn is_closed(&self) -> bool {
        self.0.borrow().tx.as_ref().is_some_and(|tx| tx.is_closed())
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.answer(Err(FetchError::ClientStopped));
    }
}

impl MessageResponse<Client, Fetch> for FetchReply {
    fn handle(self, _: &mut Context<Client>, tx: Option<OneshotSender<Outcome>>) {
        let mut s = self.0.borrow_mut();
        s.attached = true;
        match (s.early.take(), tx) {
            (Some(outcome), Some(tx)) => {
                let _ = tx.send(outcome);
            }
            (None, tx) => s.tx = tx,
            (Some(_), None) => {}
        }
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
