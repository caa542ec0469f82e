//! The `Connection` actor. (Skeleton: implemented by the actor layer.)

use actix::prelude::*;
use tokio::io::{AsyncRead, AsyncWrite};

use super::Subscriber;
use crate::proto::{Config, Role};

/// One HTTP/2 connection as an actor.
pub struct Connection {
    _private: (),
}

impl Actor for Connection {
    type Context = Context<Self>;
}

impl Connection {
    /// Start configuring a connection for `role`.
    pub fn builder(role: Role) -> Builder {
        Builder {
            role,
            config: Config::default(),
            skip_preface: false,
            auto_release: true,
            max_write_buffer: 256 << 10,
        }
    }
}

/// Configures and starts a [`Connection`].
#[derive(Debug, Clone)]
pub struct Builder {
    pub role: Role,
    /// Protocol settings and limits.
    pub config: Config,
    /// Server: the client preface was already consumed (HTTP/1.1 upgrade).
    pub skip_preface: bool,
    /// Give received DATA back to the flow-control windows as soon as it is
    /// delivered to the subscriber (default), or only on `ReleaseCapacity`.
    pub auto_release: bool,
    /// Bytes buffered for writing before the connection stops pulling from
    /// the protocol (write backpressure).
    pub max_write_buffer: usize,
}

impl Builder {
    /// Protocol settings and limits.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }
    /// See [`Builder::skip_preface`].
    pub fn skip_preface(mut self, skip: bool) -> Self {
        self.skip_preface = skip;
        self
    }
    /// See [`Builder::auto_release`].
    pub fn auto_release(mut self, auto: bool) -> Self {
        self.auto_release = auto;
        self
    }
    /// See [`Builder::max_write_buffer`].
    pub fn max_write_buffer(mut self, n: usize) -> Self {
        self.max_write_buffer = n;
        self
    }
    /// Starts the connection actor over `io` on the current arbiter;
    /// notifications go to `subscriber`.
    pub fn start<IO>(self, io: IO, subscriber: Subscriber) -> Addr<Connection>
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let _ = (io, subscriber);
        todo!("connection actor")
    }
}
