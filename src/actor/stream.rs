//! The `Stream` child actor. (Skeleton: implemented by the actor layer.)

use actix::prelude::*;

/// One HTTP/2 stream as a child actor of its [`super::Connection`].
pub struct Stream {
    _private: (),
}

impl Actor for Stream {
    type Context = Context<Self>;
}
