//! Starting a connection from the HTTP/1.1 `Upgrade: h2c` handshake
//! (RFC 7540 §3.2): the `Builder` options for both roles and the
//! one-call shorthands. The handshake itself is in
//! [`crate::transport::upgrade`].

use super::*;

/// How a connection begins (see [`Builder::start`]).
#[derive(Debug, Clone, Default)]
pub(super) enum Begin {
    /// With the connection preface (prior knowledge, TLS).
    #[default]
    Preface,
    /// Server: after answering this upgrade request with 101.
    Upgraded(Box<H2cUpgrade>),
    /// Client: after our upgrade request got its 101; `head`: it was a
    /// `HEAD` (its response carries no content).
    UpgradedClient { head: bool },
}

/// Starting a connection from the HTTP/1.1 `Upgrade: h2c` handshake
/// (RFC 7540 §3.2; the handshake itself is in [`crate::transport::upgrade`]).
impl Builder {
    /// Server: the connection begins after [`accept_h2c`] answered an
    /// upgrade request with 101; then [`start`](Self::start) it over the
    /// stream `accept_h2c` returned. The request becomes stream 1 (RFC
    /// 7540 §3.2), half-closed (remote), and the subscriber receives it
    /// exactly as any other request: a `RecvHeaders` for stream 1
    /// (`end_stream: true` when it had no body, else one `RecvData` with the
    /// whole body and `end_stream`), so the handler answers it on
    /// `msg.stream` as usual. Its `request.version()` is HTTP/1.1, the only
    /// trace of how it came. It is delivered once the client's first frame
    /// after its preface is in, so no response bytes reach a client still
    /// reading HTTP/1.1 (curl 7.88 fails when more than 32 KiB come with
    /// the 101).
    ///
    /// The client's settings from `HTTP2-Settings` apply at once (the 101
    /// acknowledged them); the client still sends the connection preface
    /// (RFC 7540 §3.5), which this connection expects whatever
    /// [`skip_preface`](Self::skip_preface) says, and the server's SETTINGS
    /// go out first.
    ///
    /// `Err` (checked here, before anything starts, so the transport is
    /// still yours) when this is not a server builder, or when a setting is
    /// out of range (only possible for an `H2cUpgrade` made by hand:
    /// `accept_h2c` answers those with 400).
    ///
    /// ```no_run
    /// # use h2actor::prelude::*;
    /// # use h2actor::transport::{accept_h2c, H2cAccepted, H2cLimits};
    /// # async fn f(tcp: tokio::net::TcpStream, subscriber: Subscriber) -> Result<(), Box<dyn std::error::Error>> {
    /// let builder = Connection::builder(Role::Server);
    /// let conn = match accept_h2c(tcp, &H2cLimits::default()).await? {
    ///     H2cAccepted::PriorKnowledge(io) => builder.start(io, subscriber),
    ///     H2cAccepted::Upgrade(io, upgrade) => builder.upgraded(upgrade)?.start(io, subscriber),
    /// };
    /// # let _ = conn; Ok(()) }
    /// ```
    ///
    /// A builder is a configuration that may start many connections (a
    /// listener clones its builder for each): keep `upgraded` for the one
    /// connection it belongs to.
    ///
    /// [`accept_h2c`]: crate::transport::accept_h2c
    pub fn upgraded(mut self, upgrade: H2cUpgrade) -> Result<Self, Error> {
        if self.role != Role::Server {
            return Err(proto::UserError::WrongRole(Role::Server).into());
        }
        for s in &upgrade.settings {
            proto::settings::check_value(s).map_err(|(_, r)| proto::UserError::Malformed(r))?;
        }
        self.begin = Begin::Upgraded(Box::new(upgrade));
        Ok(self)
    }

    /// Client: the connection begins after [`upgrade_h2c`] got its 101 for
    /// a request with `method`; then [`start`](Self::start) it over the
    /// stream `upgrade_h2c` returned, with the same [`Config`] (its
    /// `HTTP2-Settings` were ours). Stream 1 is the upgrade request,
    /// half-closed (local); its response arrives at the subscriber as
    /// `RecvHeaders` (then `RecvData`, ...) for stream 1, whose `stream`
    /// is its handle. `method` tells whether the response carries content
    /// (not for `HEAD`). Our preface and SETTINGS go out first (RFC 7540
    /// §3.5); later requests open streams 3, 5, ... as usual.
    /// [`connect_h2c`](Self::connect_h2c) does both steps in one call.
    ///
    /// `Err` when this is not a client builder (checked here, before
    /// anything starts).
    ///
    /// [`upgrade_h2c`]: crate::transport::upgrade_h2c
    pub fn upgraded_client(mut self, method: &http::Method) -> Result<Self, Error> {
        if self.role != Role::Client {
            return Err(proto::UserError::WrongRole(Role::Client).into());
        }
        self.begin = Begin::UpgradedClient {
            head: method == http::Method::HEAD,
        };
        Ok(self)
    }

    /// The connection begins with the preface again: for the listener and
    /// the client, which decide per connection how it begins (a builder
    /// handed to them with an upgrade option would otherwise start every
    /// connection as that one upgrade).
    pub(crate) fn with_preface(mut self) -> Self {
        self.begin = Begin::Preface;
        self
    }

    /// Every start goes through here: the protocol state as `begin` says
    /// (the upgrade applied), the actor, and for an upgraded client the
    /// handle of stream 1.
    #[allow(clippy::type_complexity)]
    pub(super) fn start_begun<IO>(
        mut self,
        io: IO,
        subscriber: Subscriber,
        session: Option<std::rc::Rc<EventQueue>>,
        on_start: Option<
            Box<dyn FnOnce(ConnectionId, &Addr<Connection>) -> Box<dyn std::any::Any>>,
        >,
    ) -> (Addr<Connection>, Arc<ConnLink>, Option<H2Stream>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let mut proto = self.new_proto();
        let upgraded = match std::mem::take(&mut self.begin) {
            Begin::Preface => Upgraded::No,
            Begin::Upgraded(upgrade) => {
                let H2cUpgrade {
                    request,
                    body,
                    settings,
                } = *upgrade;
                self.skip_preface = false;
                // Role and values were checked by `upgraded`; a fresh
                // protocol state refuses nothing else.
                match proto.upgrade(Some(settings), request.method() == http::Method::HEAD) {
                    Ok(_) => Upgraded::Server(Box::new((request, body))),
                    Err(e) => {
                        tracing::error!(error = %e, "h2c upgrade not applied");
                        Upgraded::No
                    }
                }
            }
            Begin::UpgradedClient { head } => match proto.upgrade(None, head) {
                Ok(_) => Upgraded::Client,
                Err(e) => {
                    tracing::error!(error = %e, "h2c upgrade not applied");
                    Upgraded::No
                }
            },
        };
        let client_stream = matches!(upgraded, Upgraded::Client);
        let (addr, link) = self.start_inner(io, subscriber, session, proto, upgraded, on_start);
        let stream1 = client_stream.then(|| {
            H2Stream::new(
                link.clone(),
                super::super::stream::Key::Id(crate::frame::StreamId(1)),
            )
        });
        (addr, link, stream1)
    }

    /// Server, one call per accepted plain connection: [`accept_h2c`]
    /// (prior knowledge or the h2c upgrade, anything else answered in
    /// HTTP/1.1 and closed, all within [`H2cLimits::handshake_timeout`]),
    /// then [`start`](Self::start), after [`upgraded`](Self::upgraded) for
    /// an upgrade: a shorthand for the match in `upgraded`'s example.
    /// `subscriber` is called only when HTTP/2 starts. Run it in its own
    /// task per connection (`actix::spawn`), so a slow client never holds
    /// up accepting.
    ///
    /// ```no_run
    /// # use h2actor::prelude::*;
    /// # use h2actor::transport::H2cLimits;
    /// # fn handler() -> Subscriber { unimplemented!() }
    /// # async fn f(listener: tokio::net::TcpListener) {
    /// while let Ok((tcp, _)) = listener.accept().await {
    ///     actix::spawn(async move {
    ///         let builder = Connection::builder(Role::Server);
    ///         if let Err(e) = builder.accept_h2c(tcp, &H2cLimits::default(), handler).await {
    ///             tracing::debug!(error = %e, "not served");
    ///         }
    ///     });
    /// }
    /// # }
    /// ```
    ///
    /// [`accept_h2c`]: crate::transport::accept_h2c
    pub async fn accept_h2c<IO, F>(
        self,
        io: IO,
        limits: &H2cLimits,
        subscriber: F,
    ) -> Result<Addr<Connection>, H2cError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
        F: FnOnce() -> Subscriber,
    {
        match crate::transport::accept_h2c(io, limits).await? {
            H2cAccepted::PriorKnowledge(io) => Ok(self.start(io, subscriber())),
            H2cAccepted::Upgrade(io, upgrade) => Ok(self
                .upgraded(upgrade)
                .map_err(|e| H2cError::Start(e.to_string()))?
                .start(io, subscriber())),
        }
    }

    /// Client, one call: [`upgrade_h2c`] with this builder's config (so the
    /// `HTTP2-Settings` sent are the connection's), then
    /// [`upgraded_client`](Self::upgraded_client) and
    /// [`start`](Self::start). `request` (`GET`, `HEAD` or `OPTIONS`,
    /// absolute `http://` URI) is answered on the returned stream (stream
    /// 1). The HTTP/1.1 exchange is bounded by
    /// [`H2cLimits::handshake_timeout`].
    ///
    /// ```no_run
    /// # use h2actor::prelude::*;
    /// # use h2actor::transport::H2cLimits;
    /// # async fn f(subscriber: Subscriber) -> Result<(), Box<dyn std::error::Error>> {
    /// let tcp = tokio::net::TcpStream::connect("127.0.0.1:8080").await?;
    /// let request = http::Request::get("http://127.0.0.1:8080/").body(())?;
    /// let (conn, stream1) = Connection::builder(Role::Client)
    ///     .connect_h2c(tcp, &request, &H2cLimits::default(), subscriber)
    ///     .await?;
    /// // The response comes as RecvHeaders for `stream1`; more requests:
    /// // conn.send(SendRequest::new(..)).
    /// # Ok(()) }
    /// ```
    ///
    /// [`upgrade_h2c`]: crate::transport::upgrade_h2c
    pub async fn connect_h2c<IO>(
        self,
        io: IO,
        request: &http::Request<()>,
        limits: &H2cLimits,
        subscriber: Subscriber,
    ) -> Result<(Addr<Connection>, H2Stream), H2cError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        self.connect_h2c_with(io, request, limits, subscriber, None)
            .await
    }

    /// As [`connect_h2c`](Builder::connect_h2c); with `queue`, every
    /// notification goes there (the `Client`'s connections).
    pub(crate) async fn connect_h2c_with<IO>(
        self,
        io: IO,
        request: &http::Request<()>,
        limits: &H2cLimits,
        subscriber: Subscriber,
        queue: Option<std::rc::Rc<EventQueue>>,
    ) -> Result<(Addr<Connection>, H2Stream), H2cError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let builder = self
            .upgraded_client(request.method())
            .map_err(|e| H2cError::Start(e.to_string()))?;
        let io = crate::transport::upgrade_h2c(io, request, &builder.config, limits).await?;
        match builder.start_begun(io, subscriber, queue, None) {
            (addr, _, Some(stream1)) => Ok((addr, stream1)),
            (_, _, None) => Err(H2cError::Start("the connection closed at once".into())),
        }
    }
}
