//! `Reply`: the response type of the connection's messages that may
//! complete later (`OpenStream`, `SendRequest`, `Ping`).
//!
//! Instead of a future per message (actix's `ResponseFuture` spawns a task
//! even for `do_send`), the handler either answers at once or queues the
//! message in the connection (the `OpenStream` queue, the pending pings)
//! with a [`Parked`] slot for its reply sender, which actix hands to
//! `Reply` right after the handler returns; the connection completes it
//! from there. A `do_send` costs no task and no allocation.
//!
//! A message to a stream does not need this: its reply sender travels in
//! the message itself (`OnStream`), so the handler answers it, or parks
//! it with the stream's pending sends, while it holds the connection's
//! state.

use std::time::Duration;

use actix::dev::{MessageResponse, OneshotSender};
use actix::Context;

use super::core::Parked;
use super::messages::*;
use super::{Connection, H2Stream};

/// The reply of a message that may complete later (see the module docs).
pub struct Reply<T>(Inner<T>);

enum Inner<T> {
    Now(Result<T, Error>),
    Later(Parked<T>),
}

impl<T> Reply<T> {
    pub(crate) fn now(r: Result<T, Error>) -> Self {
        Reply(Inner::Now(r))
    }
    pub(crate) fn later(slot: Parked<T>) -> Self {
        Reply(Inner::Later(slot))
    }
}

macro_rules! reply_for {
    ($msg:ty, $t:ty) => {
        impl MessageResponse<Connection, $msg> for Reply<$t> {
            fn handle(
                self,
                _: &mut Context<Connection>,
                tx: Option<OneshotSender<Result<$t, Error>>>,
            ) {
                match self.0 {
                    Inner::Now(r) => {
                        if let Some(tx) = tx {
                            let _ = tx.send(r);
                        }
                    }
                    Inner::Later(slot) => slot.set(tx),
                }
            }
        }
    };
}

reply_for!(OpenStream, H2Stream);
reply_for!(SendRequest, H2Stream);
reply_for!(Ping, Duration);
