//! The one-call server (HTTP2.jl's `serve`): [`serve`]`(addr, handler)`
//! runs an HTTP/2 server on all cores whose handler is an async function
//! from a whole request to a whole response, until SIGINT or SIGTERM, then
//! shuts down gracefully (GOAWAY, requests in flight finish within the
//! grace period).
//!
//! ```no_run
//! use bytes::Bytes;
//!
//! #[actix_rt::main]
//! async fn main() -> std::io::Result<()> {
//!     h2actor::serve("127.0.0.1:8080".parse().unwrap(), |req: http::Request<Bytes>| async move {
//!         let body = format!("hello {}\n", req.uri().path());
//!         http::Response::new(Bytes::from(body))
//!     })
//!     .await?;
//!     Ok(())
//! }
//! ```
//!
//! The plain port speaks h2c by prior knowledge and by the HTTP/1.1
//! upgrade (`curl --http2`); [`Serve::tls`] makes it HTTP/2 over TLS. For
//! streaming bodies, push or trailers, write a subscriber actor and use
//! [`Listener`] directly (see `examples/server.rs`): this helper collects
//! each request body whole (up to [`Serve::max_body`], beyond it `413`).

use std::collections::HashMap;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytes::{Bytes, BytesMut};

use crate::actor::{
    H2Stream, Listener, ListenerBuilder, RecvData, RecvHeaders, RecvReset, RecvTrailers,
    SendMessage, ShutdownReport, Subscriber,
};
use crate::proto::Head;
use crate::transport::TlsServer;

/// Runs an HTTP/2 server on `addr` answering every request with `handler`;
/// configure it with the [`Serve`] setters, then `.await` it (inside an
/// actix system: `#[actix_rt::main]`). It resolves after SIGINT or SIGTERM
/// (or [`Serve::until`]) once the graceful shutdown is done; a second
/// signal forces it ([`Listener::run_until_signal`]). To send it requests
/// from the same program, wait for [`Serve::on_start`] (the README's
/// one-call example does).
pub fn serve<F, Fut>(addr: SocketAddr, handler: F) -> Serve<F>
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Bytes>> + 'static,
{
    Serve {
        listener: Listener::builder(addr),
        handler,
        max_body: 16 << 20,
        grace: Duration::from_secs(10),
        until: None,
        on_start: None,
    }
}

type Until = Pin<Box<dyn Future<Output = ()>>>;

/// A server being configured by [`serve`]; `.await` runs it.
pub struct Serve<F> {
    listener: ListenerBuilder,
    handler: F,
    max_body: usize,
    grace: Duration,
    until: Option<Until>,
    on_start: Option<Box<dyn FnOnce(SocketAddr)>>,
}

impl<F, Fut> Serve<F>
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Bytes>> + 'static,
{
    /// HTTP/2 over TLS with ALPN `h2` (see [`TlsServer`]).
    pub fn tls(mut self, tls: Arc<TlsServer>) -> Self {
        self.listener = self.listener.tls(tls);
        self
    }
    /// Largest request body collected; beyond it the answer is `413` and
    /// the stream is reset. Default 16 MiB.
    pub fn max_body(mut self, n: usize) -> Self {
        self.max_body = n;
        self
    }
    /// How long requests in flight may run after the shutdown begins.
    /// Default 10 s.
    pub fn grace(mut self, d: Duration) -> Self {
        self.grace = d;
        self
    }
    /// Any other listener setting (threads, limits, the connections'
    /// [`Builder`](crate::Builder)).
    pub fn listener(mut self, f: impl FnOnce(ListenerBuilder) -> ListenerBuilder) -> Self {
        self.listener = f(self.listener);
        self
    }
    /// Shut down when `signal` resolves too (besides SIGINT and SIGTERM).
    pub fn until(mut self, signal: impl Future<Output = ()> + 'static) -> Self {
        self.until = Some(Box::pin(signal));
        self
    }
    /// Called with the bound address once the server listens (port 0 picks
    /// one).
    pub fn on_start(mut self, f: impl FnOnce(SocketAddr) + 'static) -> Self {
        self.on_start = Some(Box::new(f));
        self
    }

    /// Runs the server (see [`serve`]).
    pub async fn run(self) -> io::Result<ShutdownReport> {
        let handler = Arc::new(self.handler);
        let max_body = self.max_body;
        let listener = self.listener.start(move |_peer| {
            let h = handler.clone();
            let a = Exchange::<F> {
                handler: h,
                max_body,
                bodies: HashMap::new(),
            }
            .start();
            Subscriber::new(&a).data(&a).trailers(&a).reset(&a)
        })?;
        tracing::info!(addr = %listener.local_addr(), "serving");
        if let Some(f) = self.on_start {
            f(listener.local_addr());
        }
        let until = self
            .until
            .unwrap_or_else(|| Box::pin(std::future::pending()));
        Ok(listener.run_until_signal_or(self.grace, until).await)
    }
}

impl<F, Fut> IntoFuture for Serve<F>
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Bytes>> + 'static,
{
    type Output = io::Result<ShutdownReport>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<ShutdownReport>>>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// One connection's subscriber: collects each request, calls the handler,
/// sends the response.
struct Exchange<F> {
    handler: Arc<F>,
    max_body: usize,
    bodies: HashMap<H2Stream, (http::Request<()>, BytesMut)>,
}

impl<F: 'static> Actor for Exchange<F> {
    type Context = Context<Self>;
}

impl<F, Fut> Exchange<F>
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Bytes>> + 'static,
{
    fn answer(&mut self, stream: H2Stream, req: http::Request<()>, body: Bytes) {
        let (parts, ()) = req.into_parts();
        let fut = (self.handler)(http::Request::from_parts(parts, body));
        actix::spawn(async move {
            let (head, body) = fut.await.into_parts();
            let head = http::Response::from_parts(head, ());
            stream.do_send(SendMessage::new(head).body(body));
        });
    }
}

impl<F, Fut> Handler<RecvHeaders> for Exchange<F>
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Bytes>> + 'static,
{
    type Result = ();
    fn handle(&mut self, msg: RecvHeaders, _: &mut Context<Self>) {
        let Head::Request(req) = msg.head else { return };
        if msg.end_stream {
            self.answer(msg.stream, req, Bytes::new());
        } else {
            self.bodies.insert(msg.stream, (req, BytesMut::new()));
        }
    }
}

impl<F, Fut> Handler<RecvData> for Exchange<F>
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Bytes>> + 'static,
{
    type Result = ();
    fn handle(&mut self, msg: RecvData, _: &mut Context<Self>) {
        let Some((_, body)) = self.bodies.get_mut(&msg.stream) else {
            return;
        };
        if body.len() + msg.data.len() > self.max_body {
            self.bodies.remove(&msg.stream);
            let mut r = http::Response::new(());
            *r.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
            // A response may come before the request is complete (RFC 9113
            // §8.1); what the client still sends is released and dropped.
            msg.stream
                .do_send(SendMessage::new(r).body("request body too large\n"));
            return;
        }
        body.extend_from_slice(&msg.data);
        if msg.end_stream {
            if let Some((req, body)) = self.bodies.remove(&msg.stream) {
                self.answer(msg.stream, req, body.freeze());
            }
        }
    }
}

impl<F, Fut> Handler<RecvTrailers> for Exchange<F>
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Bytes>> + 'static,
{
    type Result = ();
    fn handle(&mut self, msg: RecvTrailers, _: &mut Context<Self>) {
        if let Some((req, body)) = self.bodies.remove(&msg.stream) {
            self.answer(msg.stream, req, body.freeze());
        }
    }
}

impl<F: 'static> Handler<RecvReset> for Exchange<F> {
    type Result = ();
    fn handle(&mut self, msg: RecvReset, _: &mut Context<Self>) {
        self.bodies.remove(&msg.stream);
    }
}
