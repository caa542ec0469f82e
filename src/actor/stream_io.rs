//! [`StreamIo`]: one HTTP/2 stream as a byte pipe (tokio's `AsyncRead +
//! AsyncWrite`), for protocols that run over a stream rather than as
//! requests and responses: a WebSocket over an extended CONNECT (RFC 8441),
//! a CONNECT tunnel (RFC 9113 §8.5), a long-lived bidirectional body.
//!
//! How it is wired: [`StreamIo::new`] starts a small forwarding actor and
//! makes it the stream's subscriber (as [`Subscribe`] does), so the stream's
//! later notifications ([`RecvHeaders`], [`RecvData`], [`RecvTrailers`],
//! [`RecvReset`]) reach the pipe through a channel of one item. The
//! forwarding actor's handler returns only when that item is taken by the
//! reader, and with `auto_release` (the default) the connection gives a
//! `RecvData`'s bytes back to the flow-control windows only then: the
//! peer's window follows the reader, and at most two DATA frames (one being
//! read, one in the channel) wait inside the process beyond what the
//! windows allow. With `auto_release(false)` the pipe sends
//! [`ReleaseCapacity`] itself as the reader consumes bytes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use actix::prelude::*;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;

use super::messages::*;
use super::H2Stream;
use crate::frame::ErrorCode;
use crate::proto::Head;

/// The most one `poll_write` takes (one `SendData` in flight at a time).
const MAX_WRITE: usize = 64 << 10;

/// What the forwarding actor hands the reader.
enum Item {
    Head(Head),
    Data(Bytes, bool),
    End,
    Reset(String),
}

/// The stream's subscriber while a [`StreamIo`] reads it.
struct Pipe {
    tx: mpsc::Sender<Item>,
}

impl Actor for Pipe {
    type Context = Context<Self>;
}

impl Pipe {
    /// Forwards `item`; the handler (and so the connection's release of a
    /// `RecvData`) completes when the channel took it. Atomic: items keep
    /// their order whatever the channel's state.
    fn forward(&self, item: Item) -> AtomicResponse<Self, ()> {
        let tx = self.tx.clone();
        AtomicResponse::new(Box::pin(
            async move {
                // A dropped reader: the item has nowhere to go (the
                // `StreamIo`'s drop reset the stream already).
                let _ = tx.send(item).await;
            }
            .into_actor(self),
        ))
    }
}

impl Handler<RecvHeaders> for Pipe {
    type Result = AtomicResponse<Self, ()>;
    fn handle(&mut self, msg: RecvHeaders, _: &mut Context<Self>) -> Self::Result {
        // A head with END_STREAM ends the reading side too.
        let end = msg.end_stream;
        let tx = self.tx.clone();
        AtomicResponse::new(Box::pin(
            async move {
                if tx.send(Item::Head(msg.head)).await.is_ok() && end {
                    let _ = tx.send(Item::End).await;
                }
            }
            .into_actor(self),
        ))
    }
}

impl Handler<RecvData> for Pipe {
    type Result = AtomicResponse<Self, ()>;
    fn handle(&mut self, msg: RecvData, _: &mut Context<Self>) -> Self::Result {
        self.forward(Item::Data(msg.data, msg.end_stream))
    }
}

impl Handler<RecvTrailers> for Pipe {
    type Result = AtomicResponse<Self, ()>;
    fn handle(&mut self, _: RecvTrailers, _: &mut Context<Self>) -> Self::Result {
        self.forward(Item::End)
    }
}

impl Handler<RecvReset> for Pipe {
    type Result = AtomicResponse<Self, ()>;
    fn handle(&mut self, msg: RecvReset, _: &mut Context<Self>) -> Self::Result {
        self.forward(Item::Reset(msg.describe()))
    }
}

/// Internal: make a [`StreamIo`]'s pipe the stream's subscriber; answers
/// whether the connection releases received bytes itself (`auto_release`).
#[derive(Message)]
#[rtype(result = "Result<bool, Error>")]
pub(crate) struct Attach(pub Subscriber);

/// How the reading side ended.
#[derive(Debug, Clone)]
enum ReadEnd {
    Eof,
    Failed(io::ErrorKind, String),
}

type SendFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

/// An HTTP/2 stream as a byte pipe with backpressure: tokio's
/// [`AsyncRead`](tokio::io::AsyncRead) + [`AsyncWrite`](tokio::io::AsyncWrite) over an [`H2Stream`](actix::Addr), for what runs
/// *over* a stream: a WebSocket after an extended CONNECT (RFC 8441), a
/// CONNECT tunnel, a long bidirectional body.
///
/// - **Reading** returns the peer's DATA; end of file when the peer ends
///   the stream (END_STREAM or trailers). The peer's flow-control window
///   follows the reader: bytes go back to it as they are read, and at most
///   two DATA frames wait in the pipe.
/// - **Writing** sends DATA: a write is taken at once (up to 64 KiB) and
///   the next write, `flush` or `shutdown` waits until it is inside the
///   peer's window and in the connection's write buffer ([`SendData`]'s
///   backpressure).
/// - **`shutdown`** sends an empty DATA with END_STREAM.
/// - **A reset** of the stream (by the peer, by us, or the connection
///   ending) is an `io::Error` of kind `ConnectionReset` on the next read
///   or write, with [`RecvReset::describe`]'s sentence as its text.
/// - **Dropping** it before both sides ended resets the stream with
///   CANCEL.
///
/// Create it before the exchange that lets the peer send: on a server,
/// before answering the request (the answer is sent on the stream as
/// usual); on a client, before sending the request head (then
/// [`recv_head`](Self::recv_head) gives the response head).
///
/// A WebSocket over HTTP/2 on a server whose [`Config`](crate::Config)
/// has `enable_connect_protocol`: answer the extended CONNECT with 200 and
/// hand the pipe to a WebSocket codec (`examples/websocket.rs` uses
/// `tokio-tungstenite`). Here the pipe just echoes:
///
/// ```no_run
/// use actix::prelude::*;
/// use h2actor::prelude::*;
/// use h2actor::{Protocol, StreamIo};
///
/// async fn accept(req: RecvHeaders) -> std::io::Result<()> {
///     let Head::Request(r) = &req.head else { return Ok(()) };
///     let websocket = r.method() == http::Method::CONNECT
///         && r.extensions().get::<Protocol>().is_some_and(|p| &p.0[..] == b"websocket");
///     if !websocket {
///         req.stream.do_send(SendMessage::new(
///             http::Response::builder().status(400).body(()).unwrap(),
///         ));
///         return Ok(());
///     }
///     let io = StreamIo::new(req.stream.clone()).await?;
///     let ok = http::Response::new(()); // 200: the stream is now the tunnel
///     req.stream
///         .send(SendHeaders { head: ok.into(), end_stream: false })
///         .await
///         .map_err(|e| std::io::Error::other(e.to_string()))?
///         .map_err(|e| std::io::Error::other(e.to_string()))?;
///     // e.g. tokio_tungstenite::WebSocketStream::from_raw_socket(io, Role::Server, None)
///     let (mut read, mut write) = tokio::io::split(io);
///     tokio::io::copy(&mut read, &mut write).await?;
///     tokio::io::AsyncWriteExt::shutdown(&mut write).await
/// }
/// ```
pub struct StreamIo {
    stream: H2Stream,
    rx: mpsc::Receiver<Item>,
    /// The unread rest of the current DATA frame.
    chunk: Bytes,
    read_end: Option<ReadEnd>,
    /// `auto_release(false)`: release what the reader consumes.
    release: bool,
    /// A response head received while reading (client side).
    head: Option<Head>,
    /// The `SendData` in flight.
    write: Option<SendFuture>,
    /// The END_STREAM in flight, or sent (`shut`).
    shutdown: Option<SendFuture>,
    shut: bool,
}

impl std::fmt::Debug for StreamIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamIo")
            .field("buffered", &self.chunk.len())
            .field("read_end", &self.read_end)
            .field("writing", &self.write.is_some())
            .field("shut", &self.shut)
            .finish()
    }
}

fn to_io(e: Error) -> io::Error {
    match e {
        Error::Reset(code) => io::Error::new(
            io::ErrorKind::ConnectionReset,
            format!("stream reset: {code}"),
        ),
        Error::ConnectionClosed => {
            io::Error::new(io::ErrorKind::ConnectionAborted, "connection closed")
        }
        e => io::Error::other(e.to_string()),
    }
}

fn send(stream: &H2Stream, data: Bytes, end_stream: bool) -> SendFuture {
    let req = stream.send(SendData { data, end_stream });
    Box::pin(async move {
        req.await
            .map_err(Error::from)
            .and_then(|r| r)
            .map_err(to_io)
    })
}

impl StreamIo {
    /// Makes `stream` a byte pipe: from now on its notifications go to the
    /// returned `StreamIo` (instead of its subscriber so far). Fails when
    /// the connection is gone.
    ///
    /// ```no_run
    /// # use actix::prelude::*;
    /// # use h2actor::prelude::*;
    /// # async fn f(req: RecvHeaders) -> std::io::Result<()> {
    /// let io = h2actor::StreamIo::new(req.stream.clone()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn new(stream: H2Stream) -> io::Result<StreamIo> {
        let (tx, rx) = mpsc::channel(1);
        let pipe = Pipe { tx }.start();
        let sub = Subscriber::new(&pipe)
            .data(&pipe)
            .trailers(&pipe)
            .reset(&pipe);
        let auto = stream
            .send(Attach(sub))
            .await
            .map_err(Error::from)
            .and_then(|r| r)
            .map_err(to_io)?;
        Ok(StreamIo {
            stream,
            rx,
            chunk: Bytes::new(),
            read_end: None,
            release: !auto,
            head: None,
            write: None,
            shutdown: None,
            shut: false,
        })
    }

    /// The stream (to send it [`Reset`], or [`SendTrailers`]
    /// instead of `shutdown`).
    ///
    /// ```no_run
    /// # use actix::prelude::*;
    /// # use h2actor::prelude::*;
    /// # fn f(io: h2actor::StreamIo) {
    /// // Give up on the tunnel: RST_STREAM CANCEL.
    /// io.stream().do_send(Reset { code: ErrorCode::CANCEL });
    /// # }
    /// ```
    pub fn stream(&self) -> &H2Stream {
        &self.stream
    }

    /// Client: waits for the final response head (1xx heads are skipped),
    /// e.g. the 200 that opens an extended CONNECT's tunnel. Check its
    /// status: anything but 2xx means no tunnel (RFC 8441 §5, RFC 9110
    /// §9.3.6).
    ///
    /// ```no_run
    /// # use actix::prelude::*;
    /// # use h2actor::prelude::*;
    /// # async fn f(mut io: h2actor::StreamIo) -> std::io::Result<()> {
    /// let Head::Response(r) = io.recv_head().await? else { unreachable!() };
    /// assert!(r.status().is_success());
    /// # Ok(()) }
    /// ```
    pub async fn recv_head(&mut self) -> io::Result<Head> {
        std::future::poll_fn(|cx| self.poll_head(cx)).await
    }

    fn poll_head(&mut self, cx: &mut TaskContext<'_>) -> Poll<io::Result<Head>> {
        loop {
            if let Some(h) = self.head.take() {
                if !matches!(&h, Head::Response(r) if r.status().is_informational()) {
                    return Poll::Ready(Ok(h));
                }
                continue;
            }
            if let Some(end) = &self.read_end {
                return Poll::Ready(Err(match end {
                    ReadEnd::Failed(kind, text) => io::Error::new(*kind, text.clone()),
                    ReadEnd::Eof => io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the stream ended without a head",
                    ),
                }));
            }
            if !self.chunk.is_empty() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "data before the head",
                )));
            }
            let item = ready!(self.rx.poll_recv(cx));
            self.take(item);
        }
    }

    /// Takes one item from the forwarding actor into the pipe's state.
    fn take(&mut self, item: Option<Item>) {
        match item {
            Some(Item::Head(h)) => self.head = Some(h),
            Some(Item::Data(data, end)) => {
                self.chunk = data;
                if end {
                    self.read_end = Some(ReadEnd::Eof);
                }
            }
            Some(Item::End) => self.read_end = Some(ReadEnd::Eof),
            Some(Item::Reset(text)) => {
                self.read_end = Some(ReadEnd::Failed(io::ErrorKind::ConnectionReset, text))
            }
            None => {
                self.read_end = Some(ReadEnd::Failed(
                    io::ErrorKind::UnexpectedEof,
                    "the stream ended without END_STREAM".into(),
                ))
            }
        }
    }

    /// Waits for the `SendData` in flight, if any.
    fn poll_written(&mut self, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        if let Some(w) = &mut self.write {
            let r = ready!(w.as_mut().poll(cx));
            self.write = None;
            r?;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for StreamIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.chunk.is_empty() {
                let n = this.chunk.len().min(buf.remaining());
                buf.put_slice(&this.chunk.split_to(n));
                if this.release && n > 0 {
                    this.stream.do_send(ReleaseCapacity { n });
                }
                return Poll::Ready(Ok(()));
            }
            match &this.read_end {
                Some(ReadEnd::Eof) => return Poll::Ready(Ok(())),
                Some(ReadEnd::Failed(kind, text)) => {
                    return Poll::Ready(Err(io::Error::new(*kind, text.clone())))
                }
                None => {}
            }
            let item = ready!(this.rx.poll_recv(cx));
            this.take(item);
        }
    }
}

impl AsyncWrite for StreamIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_written(cx))?;
        if this.shut || this.shutdown.is_some() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "write after shutdown",
            )));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = buf.len().min(MAX_WRITE);
        let mut w = send(&this.stream, Bytes::copy_from_slice(&buf[..n]), false);
        match w.as_mut().poll(cx) {
            Poll::Ready(r) => r?,
            Poll::Pending => this.write = Some(w),
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        self.poll_written(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_written(cx))?;
        if this.shut {
            return Poll::Ready(Ok(()));
        }
        let stream = &this.stream;
        let w = this
            .shutdown
            .get_or_insert_with(|| send(stream, Bytes::new(), true));
        let r = ready!(w.as_mut().poll(cx));
        this.shutdown = None;
        this.shut = true;
        Poll::Ready(r)
    }
}

impl Drop for StreamIo {
    fn drop(&mut self) {
        let read_done = matches!(self.read_end, Some(ReadEnd::Eof)) && self.chunk.is_empty();
        let failed = matches!(self.read_end, Some(ReadEnd::Failed(..)));
        let ended = failed || (read_done && self.shut);
        if !ended {
            tracing::debug!("StreamIo dropped before both sides ended: resetting the stream");
            self.stream.do_send(Reset {
                code: ErrorCode::CANCEL,
            });
        }
    }
}
