//! Starting a connection from the HTTP/1.1 `Upgrade: h2c` handshake
//! (RFC 7540 §3.2): the `Builder` methods for both roles. The handshake
//! itself is in [`crate::transport::upgrade`].

use super::*;

/// Starting a connection from the HTTP/1.1 `Upgrade: h2c` handshake
/// (RFC 7540 §3.2; the handshake itself is in [`crate::transport::upgrade`]).
impl Builder {
    /// Server: starts the connection after [`accept_h2c`] answered an
    /// upgrade request with 101. The request becomes stream 1 (RFC 7540
    /// §3.2), half-closed (remote), and `subscriber` receives it exactly as
    /// any other request: a `RecvHeaders` for stream 1 (`end_stream: true`
    /// when it had no body, else one `RecvData` with the whole body and
    /// `end_stream`), so the handler answers it on `msg.stream` as usual.
    /// Its `request.version()` is HTTP/1.1, the only trace of how it came.
    /// It is delivered once the client's first frame after its preface is
    /// in, so no response bytes reach a client still reading HTTP/1.1
    /// (curl 7.88 fails when more than 32 KiB come with the 101).
    ///
    /// The client's settings from `HTTP2-Settings` apply at once (the 101
    /// acknowledged them); the client still sends the connection preface
    /// (RFC 7540 §3.5), which this connection expects whatever
    /// [`skip_preface`](Self::skip_preface) says, and the server's SETTINGS
    /// go out first. `Err` when the protocol refuses those settings (not
    /// on a server builder, or a value out of range).
    ///
    /// [`accept_h2c`]: crate::transport::accept_h2c
    pub fn start_upgraded<IO>(
        self,
        io: IO,
        upgrade: H2cUpgrade,
        subscriber: Subscriber,
    ) -> Result<Addr<Connection>, Error>
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        self.start_upgraded_inner(io, upgrade, subscriber, None)
    }

    #[allow(clippy::type_complexity)]
    pub(super) fn start_upgraded_inner<IO>(
        mut self,
        io: IO,
        upgrade: H2cUpgrade,
        subscriber: Subscriber,
        on_start: Option<
            Box<dyn FnOnce(ConnectionId, &Addr<Connection>) -> Box<dyn std::any::Any>>,
        >,
    ) -> Result<Addr<Connection>, Error>
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let H2cUpgrade {
            request,
            body,
            settings,
        } = upgrade;
        let mut proto = self.new_proto();
        proto.upgrade(Some(settings), request.method() == http::Method::HEAD)?;
        self.skip_preface = false;
        let (addr, _) = self.start_inner(
            io,
            subscriber,
            None,
            proto,
            Upgraded::Server(Box::new((request, body))),
            on_start,
        );
        Ok(addr)
    }

    /// Client: starts the connection after [`upgrade_h2c`] got its 101,
    /// with the same [`Config`] (its `HTTP2-Settings` were ours). Stream 1
    /// is the upgrade request, half-closed (local); the returned handle is
    /// its stream, whose response arrives at `subscriber` as `RecvHeaders`
    /// (then `RecvData`, ...) for stream 1. `method` is the upgrade
    /// request's (a `HEAD` response carries no content). Our preface and
    /// SETTINGS go out first (RFC 7540 §3.5); later requests open streams
    /// 3, 5, ... as usual.
    ///
    /// [`upgrade_h2c`]: crate::transport::upgrade_h2c
    pub fn start_upgraded_client<IO>(
        self,
        io: IO,
        method: &http::Method,
        subscriber: Subscriber,
    ) -> Result<(Addr<Connection>, H2Stream), Error>
    where
        IO: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        if self.role != Role::Client {
            return Err(proto::UserError::WrongRole(Role::Client).into());
        }
        let mut proto = self.new_proto();
        proto.upgrade(None, method == http::Method::HEAD)?;
        let (addr, link) = self.start_inner(io, subscriber, None, proto, Upgraded::Client, None);
        let stream = H2Stream::new(
            link,
            super::super::stream::Key::Id(crate::frame::StreamId(1)),
        );
        Ok((addr, stream))
    }

    /// Server, one call per accepted plain connection: [`accept_h2c`]
    /// (prior knowledge or the h2c upgrade, anything else answered in
    /// HTTP/1.1 and closed), then [`start`](Self::start) or
    /// [`start_upgraded`](Self::start_upgraded). `subscriber` is called
    /// only when HTTP/2 starts. Run it in its own task per connection
    /// (`actix::spawn`), so a slow client never holds up accepting.
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
            H2cAccepted::Upgrade(io, upgrade) => self
                .start_upgraded(io, upgrade, subscriber())
                .map_err(|e| H2cError::Start(e.to_string())),
        }
    }

    /// Client, one call: [`upgrade_h2c`] with this builder's config, then
    /// [`start_upgraded_client`](Self::start_upgraded_client). `request`
    /// (`GET`, `HEAD` or `OPTIONS`, absolute `http://` URI) is answered on
    /// the returned stream (stream 1).
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
        let io = crate::transport::upgrade_h2c(io, request, &self.config, limits).await?;
        self.start_upgraded_client(io, request.method(), subscriber)
            .map_err(|e| H2cError::Start(e.to_string()))
    }
}
