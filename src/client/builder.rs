//! [`ClientBuilder`]: a [`Client`]'s options and their defaults, and
//! `Client::builder`.

use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use http::uri::{Authority, Scheme};

use super::connect::seed;
use super::{Client, ClientStats, Mode, Origin};
#[allow(unused_imports)] // for the doc links
use super::{Fetch, FetchError};
use crate::actor::{Builder, Connection};
use crate::proto::Role;
use crate::transport::TlsClient;

/// Configures a [`Client`]: `Client::builder(origin)`, setters (each says
/// its default), then `start`.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    pub(super) origin: Origin,
    pub(super) connection: Builder,
    pub(super) max_queued: usize,
    pub(super) max_attempts: u32,
    pub(super) reconnect_for: Duration,
    pub(super) backoff: (Duration, Duration),
    pub(super) connect_timeout: Duration,
    pub(super) timeout: Duration,
    pub(super) max_body: usize,
    pub(super) ping_interval: Option<Duration>,
    pub(super) tls: Option<Arc<TlsClient>>,
    pub(super) h2c_upgrade: bool,
}

impl ClientBuilder {
    /// `https://`: how to verify the server (default
    /// [`TlsClient::with_system_roots`], loaded at the first connection).
    /// Use [`TlsClient::with_ca_file`] for a private CA.
    pub fn tls(mut self, tls: TlsClient) -> Self {
        self.tls = Some(Arc::new(tls));
        self
    }
    /// `http://`: start each connection with the HTTP/1.1 upgrade (RFC 7540
    /// §3.2: an `OPTIONS` request with `Upgrade: h2c`, whose answer on
    /// stream 1 is dropped) instead of the preface (prior knowledge).
    /// Default false. For servers that speak h2c only after an upgrade.
    pub fn h2c_upgrade(mut self, on: bool) -> Self {
        self.h2c_upgrade = on;
        self
    }
    /// The connection's settings (default `Connection::builder(Role::Client)`).
    /// Its `auto_release` is not used: the client gives received DATA back
    /// to the flow-control windows itself, as it takes each frame into the
    /// response; nor is an [`upgraded_client`](Builder::upgraded_client)
    /// option: [`h2c_upgrade`](Self::h2c_upgrade) decides how connections
    /// begin.
    pub fn connection(mut self, b: Builder) -> Self {
        self.connection = b.with_preface();
        self
    }
    /// Requests waiting for a connection or a stream slot; beyond,
    /// [`FetchError::QueueFull`]. Default 1,024.
    pub fn max_queued(mut self, n: usize) -> Self {
        self.max_queued = n;
        self
    }
    /// Times an idempotent request may be sent (first try included) when
    /// earlier sends may have been processed (see the module docs). Sends
    /// the server provably did not process, and connections that could not
    /// be made, do not count: those are bounded by time
    /// ([`reconnect_for`](Self::reconnect_for), the request's deadline).
    /// Default 3.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
    /// How long a request waits for a connection while the server cannot
    /// be reached (refused, reset, timed out), reconnecting with
    /// [`backoff`](Self::backoff), before it fails with
    /// [`FetchError::Connect`]; its own deadline still applies. Counted
    /// from when the request was queued (or queued again). Default 10 s:
    /// a server restart of up to ~8 s is ridden out.
    pub fn reconnect_for(mut self, d: Duration) -> Self {
        self.reconnect_for = d;
        self
    }
    /// Reconnect delays: `first`, doubled after each failure up to `max`,
    /// each with up to 50% random jitter off. Default 100 ms, 2 s.
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = (first, max.max(first));
        self
    }
    /// Time to make a connection, from the TCP connect to the first
    /// HTTP/2 byte (TCP, then TLS or the h2c upgrade). Default 10 s. The
    /// TLS handshake inside it also keeps its own deadline,
    /// [`TlsClient::handshake_timeout`] (the transport's one knob), and the
    /// upgrade exchange `H2cLimits::default()`'s.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }
    /// Default time for a whole exchange ([`Fetch::timeout`]). Default 30 s.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
    /// Largest response body collected. Default 16 MiB.
    pub fn max_body(mut self, n: usize) -> Self {
        self.max_body = n;
        self
    }
    /// Measure the round-trip time with a PING this often (and once after
    /// connecting); `None` for never. Default 30 s.
    ///
    /// gRPC servers police PINGs: grpcio (gRPC C-core) by default allows
    /// one per 5 minutes while no call sends data, and after three strikes
    /// closes the connection with GOAWAY ENHANCE_YOUR_CALM
    /// (`too_many_pings`). Measured: with every default, an idle
    /// connection sends a PING at 0 s and two at 30 s (this one and the
    /// connection's keepalive, [`Timeouts::keepalive`](crate::Timeouts)),
    /// then closes itself at 60 s (`Timeouts::idle`): under the limit. A
    /// connection kept open (`idle: None`) got that GOAWAY after 90 s idle
    /// (the client reconnected for the next request). For long-lived
    /// connections to gRPC servers, set `None` here and a keepalive
    /// interval of 5 minutes or more.
    pub fn ping_interval(mut self, d: Option<Duration>) -> Self {
        self.ping_interval = d;
        self
    }
    /// The client actor, not started (for `actix::Supervisor::start`).
    pub fn build(self) -> Client {
        let scheme = match self.origin.mode() {
            Mode::PriorKnowledge => Scheme::HTTP,
            Mode::Tls => Scheme::HTTPS,
        };
        // An origin's authority always parses (host and port came from a URI).
        let authority = Authority::try_from(self.origin.authority()).ok();
        Client {
            scheme,
            authority,
            cfg: self,
            conn: None,
            latest: None,
            connecting: false,
            failures: 0,
            last_failure: String::new(),
            queue: VecDeque::new(),
            dispatching: HashMap::default(),
            streams: HashMap::default(),
            orphans: HashMap::default(),
            next_job: 0,
            stats: ClientStats::default(),
            rng: seed(),
            replies: Default::default(),
            deadlines: BinaryHeap::new(),
            timer: None,
        }
    }
    /// Starts the client on the current arbiter.
    pub fn start(self) -> Addr<Client> {
        self.build().start()
    }
}

impl Client {
    /// Starts configuring a client for `origin`.
    pub fn builder(origin: Origin) -> ClientBuilder {
        ClientBuilder {
            origin,
            connection: Connection::builder(Role::Client),
            max_queued: 1024,
            max_attempts: 3,
            reconnect_for: Duration::from_secs(10),
            backoff: (Duration::from_millis(100), Duration::from_secs(2)),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body: 16 << 20,
            ping_interval: Some(Duration::from_secs(30)),
            tls: None,
            h2c_upgrade: false,
        }
    }
}
