//! The HTTP/1.1 `Upgrade: h2c` handshake (RFC 7540 §3.2) and prior
//! knowledge on the same plain port (RFC 9113 §3.3).
//!
//! RFC 9113 §3.1 deprecates the upgrade, but curl uses it by default for
//! `http://` URLs with `--http2`, `nghttp -u` and HTTP2.jl speak it, so a
//! plain port serves both ways in:
//!
//! - **Server**: [`accept_h2c`] reads just enough of a freshly accepted
//!   connection to tell what it is:
//!   - the HTTP/2 client preface (`PRI * HTTP/2.0…`, prior knowledge) →
//!     [`H2cAccepted::PriorKnowledge`] with the bytes read so far replayed
//!     by a [`Rewind`];
//!   - bytes that are neither the preface nor an HTTP/1.x request line
//!     (`METHOD SP target SP HTTP/1.x`, see below) → the same: they are an
//!     invalid HTTP/2 preface, which the HTTP/2 connection refuses with
//!     GOAWAY(PROTOCOL_ERROR) and a close (RFC 9113 §3.4), as it does on a
//!     port without the upgrade;
//!   - an HTTP/1.1 request with `Upgrade: h2c` (one token of the list,
//!     case-insensitive), `Connection: Upgrade, HTTP2-Settings` and exactly
//!     one `HTTP2-Settings` (§3.2.1) → its body is read (RFC 7540 §3.2: a
//!     request body is sent in full before the switch), `101 Switching
//!     Protocols` is written, and [`H2cAccepted::Upgrade`] hands back the
//!     connection with the request ([`H2cUpgrade`]), which becomes stream 1
//!     ([`Builder::upgraded`](crate::actor::Builder::upgraded), then
//!     `start`);
//!   - any other HTTP/1.x request gets one well-formed HTTP/1.1 answer
//!     with `Connection: close`, and the connection is closed
//!     ([`H2cError::Refused`]; see the table below).
//! - **Client**: [`upgrade_h2c`] writes a `GET`/`HEAD`/`OPTIONS` request
//!   with `Upgrade: h2c` and our `HTTP2-Settings`, and reads the response
//!   head: `101` → the connection continues in HTTP/2, the response to that
//!   request arriving on stream 1
//!   ([`Builder::upgraded_client`](crate::actor::Builder::upgraded_client),
//!   then `start`);
//!   any other status → [`H2cError::NotUpgraded`] with that status (the
//!   response body is not read).
//!
//! [`Builder::accept_h2c`](crate::actor::Builder::accept_h2c) and
//! [`Builder::connect_h2c`](crate::actor::Builder::connect_h2c) do the
//! handshake and start the connection actor in one call.
//!
//! # What the server answers
//!
//! | the client sent | answer |
//! |---|---|
//! | the HTTP/2 preface | nothing: HTTP/2 starts (prior knowledge) |
//! | an upgrade request as above, body ≤ [`H2cLimits::max_body_size`] | `101 Switching Protocols`, then HTTP/2 with the request as stream 1 |
//! | an HTTP/1.x request without a complete upgrade (no `Upgrade: h2c`, no `HTTP2-Settings`, two of them, `Connection` without both options, HTTP/1.0, `Transfer-Encoding`, `CONNECT`) | `505 HTTP Version Not Supported` with a text body saying how to speak HTTP/2 here |
//! | an upgrade whose `HTTP2-Settings` is not base64url, not a whole number of settings, or holds an invalid value; two different `Content-Length`s; no `Host` | `400 Bad Request` |
//! | a `Content-Length` above [`H2cLimits::max_body_size`] | `413 Content Too Large` |
//! | more than [`H2cLimits::max_headers`] header fields, or a head larger than [`H2cLimits::max_head_size`] | `431 Request Header Fields Too Large` |
//! | a request line of HTTP/1.x whose head is malformed (httparse rejects it) | `400 Bad Request` |
//! | a request line longer than [`H2cLimits::max_head_size`] | `431 Request Header Fields Too Large` |
//! | bytes that are neither the preface nor an HTTP/1.x request line (a wrong preface, h2spec's `INVALID CONNECTION PREFACE`, a TLS ClientHello, `GET / HTTP/2.0`) | HTTP/2: SETTINGS, then GOAWAY `PROTOCOL_ERROR`, and the connection is closed (RFC 9113 §3.4) |
//! | nothing complete within [`H2cLimits::handshake_timeout`] | the connection is closed without an answer |
//!
//! "An HTTP/1.x request line" is decided from its shape alone, byte by byte
//! as it arrives (RFC 9112 §3): a method (a token), one space, a target
//! (visible characters), one space, `HTTP/1.` and a digit, then CRLF or
//! LF, after any empty lines (RFC 9112 §2.2). At the first byte that cannot
//! fit that shape (or the preface), the bytes go to HTTP/2.
//!
//! A missing or duplicated `HTTP2-Settings` is "not an upgrade" (§3.2.1: the
//! server MUST NOT upgrade), so the request is an ordinary HTTP/1.1 request
//! and gets the 505; a present but undecodable one makes the request
//! malformed: 400. An upgrade with `Transfer-Encoding` (a chunked body) is
//! not taken: 505, so the client can retry with prior knowledge or a
//! `Content-Length` body. After a refusal the server shuts its sending side
//! down and discards what the client still sends for up to half a second
//! before closing, so the answer is not lost to a TCP reset.
//!
//! With `Expect: 100-continue` on an upgrade with a body (curl sends it for
//! larger bodies), `100 Continue` is written before the body is read.
//!
//! ```no_run
//! use h2actor::transport::{accept_h2c, H2cAccepted, H2cLimits};
//! # async fn f(tcp: tokio::net::TcpStream) {
//! match accept_h2c(tcp, &H2cLimits::default()).await {
//!     Ok(H2cAccepted::PriorKnowledge(io)) => { /* Builder::start(io, ..) */ }
//!     Ok(H2cAccepted::Upgrade(io, upgrade)) => {
//!         println!("upgraded: {} {}", upgrade.request.method(), upgrade.request.uri());
//!         /* Builder::upgraded(upgrade)?.start(io, ..) */
//!     }
//!     Err(e) => println!("not HTTP/2: {e}"),
//! }
//! # }
//! ```

use std::io;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::header;
use http::{Method, Request, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::frame::{Setting, Settings};
use crate::proto::{self, Config};

mod parse;
mod rewind;

use parse::{base64url_encode, parse_request, request_line, tokens, Parsed, RequestLine};
pub use rewind::Rewind;

/// The HTTP/2 client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How long a refused connection's leftover input is discarded before
/// closing (see the module docs).
const LINGER: Duration = Duration::from_millis(500);

/// The body of the 505 answer to an HTTP/1.1 request without an upgrade.
pub const NOT_HTTP2_TEXT: &str = "This server speaks HTTP/2 only. On this plain (h2c) port, \
send the HTTP/2 connection preface first (prior knowledge, e.g. curl --http2-prior-knowledge), \
or upgrade from HTTP/1.1 with Upgrade: h2c, Connection: Upgrade, HTTP2-Settings and one \
HTTP2-Settings header field (RFC 7540 section 3.2, e.g. curl --http2 or nghttp -u).\n";

/// Limits of the HTTP/1.1 part of a connection, server and client side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H2cLimits {
    /// Most header fields in a request (or response) head. Default 64.
    pub max_headers: usize,
    /// Largest head, request line and header fields together, in bytes.
    /// Default 16 KiB.
    pub max_head_size: usize,
    /// Largest `Content-Length` body of an upgrade request (beyond: 413).
    /// Default 64 KiB.
    pub max_body_size: usize,
    /// Deadline for the whole exchange before HTTP/2 starts: reading the
    /// preface or the request (head and body) and writing the 101, or an
    /// HTTP/1.1 refusal (client: writing the request and reading the
    /// response head). Beyond it the connection is closed:
    /// [`H2cError::Timeout`]. The one transport deadline of a plain port:
    /// a [`Listener`](crate::Listener) adds none of its own. Default
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`](super::DEFAULT_HANDSHAKE_TIMEOUT) (10 s).
    pub handshake_timeout: Duration,
}

impl Default for H2cLimits {
    fn default() -> Self {
        H2cLimits {
            max_headers: 64,
            max_head_size: 16 << 10,
            max_body_size: 64 << 10,
            handshake_timeout: super::DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }
}

/// An upgrade request the server accepted (and answered with 101): it
/// becomes stream 1 of the HTTP/2 connection
/// ([`Builder::upgraded`](crate::actor::Builder::upgraded)).
#[derive(Debug, Clone)]
pub struct H2cUpgrade {
    /// The request: method, `http://HOST/target` URI (the `Host` field
    /// became the authority), version HTTP/1.1 (how it came), and its
    /// header fields without the hop-by-hop ones (`Connection`, the fields
    /// it lists, `Upgrade`, `HTTP2-Settings`, `Host`, `Keep-Alive`,
    /// `Proxy-Connection`, `TE`, `Expect`), as an HTTP/2 request would
    /// carry them.
    pub request: Request<()>,
    /// The request body (empty without `Content-Length`).
    pub body: Bytes,
    /// The client's SETTINGS from `HTTP2-Settings` (RFC 7540 §3.2.1).
    pub settings: Vec<Setting>,
}

/// What [`accept_h2c`] found on a new connection.
#[derive(Debug)]
// One per connection, moved once: boxing the request would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum H2cAccepted<IO> {
    /// The HTTP/2 preface, or bytes that are not an HTTP/1.x request: start
    /// HTTP/2 on this (the bytes read are replayed; HTTP/2 checks the
    /// preface and refuses a wrong one with GOAWAY PROTOCOL_ERROR, RFC 9113
    /// §3.4).
    PriorKnowledge(Rewind<IO>),
    /// An upgrade, answered with 101: start HTTP/2 with the request as
    /// stream 1. The client's preface follows (RFC 7540 §3.5).
    Upgrade(Rewind<IO>, H2cUpgrade),
}

/// Why the HTTP/1.1 part did not lead to HTTP/2.
#[derive(Debug, thiserror::Error)]
pub enum H2cError {
    /// Server: the client was answered with this HTTP/1.1 status and the
    /// connection closed (see the module docs for which status when).
    #[error("answered HTTP/1.1 {status}: {reason}")]
    Refused {
        /// The status written.
        status: StatusCode,
        /// Why, for logs.
        reason: &'static str,
    },
    /// Client: the server answered the upgrade request with this status
    /// instead of 101 (it may serve the request over HTTP/1.1; the body of
    /// that response is not read).
    #[error("the server did not upgrade: HTTP/1.1 {0}")]
    NotUpgraded(StatusCode),
    /// Client: the response was not valid HTTP/1.1, or exceeded the limits.
    #[error("invalid HTTP/1.1 response: {0}")]
    InvalidResponse(&'static str),
    /// Client: the request cannot be sent as an upgrade.
    #[error("cannot upgrade this request: {0}")]
    InvalidRequest(&'static str),
    /// Nothing complete within [`H2cLimits::handshake_timeout`].
    #[error("timed out")]
    Timeout,
    /// The peer closed the connection first.
    #[error("the peer closed the connection")]
    Closed,
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The upgraded connection could not start (an `HTTP2-Settings` value
    /// the protocol refused).
    #[error("cannot start the upgraded connection: {0}")]
    Start(String),
}

// ------------------------------------------------------------------ server

/// Server side: reads the start of a new plain connection and tells prior
/// knowledge from an `Upgrade: h2c` request (answered with 101) from
/// anything else (answered with an HTTP/1.1 error status and closed). It
/// reads only what it needs: the 24 preface bytes, or the request's head
/// and `Content-Length` body; bytes after those are replayed by the
/// returned [`Rewind`]. The module docs list every answer.
///
/// Bounded by `limits`: header count, head size, body size, and one
/// deadline for all of it.
pub async fn accept_h2c<IO>(mut io: IO, limits: &H2cLimits) -> Result<H2cAccepted<IO>, H2cError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let deadline = tokio::time::Instant::now() + limits.handshake_timeout;
    let read = tokio::time::timeout_at(deadline, read_start(&mut io, limits)).await;
    let sniffed = match read {
        Err(_) => return Err(H2cError::Timeout),
        Ok(r) => r?,
    };
    let refusal = match sniffed {
        Sniffed::Preface(buf) => return Ok(H2cAccepted::PriorKnowledge(Rewind::new(buf, io))),
        Sniffed::Upgrade(upgrade, rest) => {
            let answer =
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
            match tokio::time::timeout_at(deadline, write_all_flush(&mut io, answer)).await {
                Err(_) => return Err(H2cError::Timeout),
                Ok(r) => r?,
            }
            tracing::debug!(method = %upgrade.request.method(), uri = %upgrade.request.uri(), body = upgrade.body.len(), "h2c upgrade");
            return Ok(H2cAccepted::Upgrade(Rewind::new(rest, io), upgrade));
        }
        Sniffed::Refuse(r) => r,
    };
    tracing::debug!(status = %refusal.status, reason = refusal.reason, "HTTP/1.1 request refused");
    let answer = refusal.response();
    let _ = tokio::time::timeout(limits.handshake_timeout, async {
        write_all_flush(&mut io, &answer).await?;
        io.shutdown().await?;
        // Lingering close: drain what the client still sends (a body we did
        // not read) so closing does not send a TCP reset that could destroy
        // the answer before the client reads it.
        let _ = tokio::time::timeout(LINGER, async {
            let mut sink = [0u8; 4096];
            while io.read(&mut sink).await? > 0 {}
            Ok::<_, io::Error>(())
        })
        .await;
        Ok::<_, io::Error>(())
    })
    .await;
    Err(H2cError::Refused {
        status: refusal.status,
        reason: refusal.reason,
    })
}

async fn write_all_flush<IO: AsyncWrite + Unpin>(io: &mut IO, b: &[u8]) -> io::Result<()> {
    io.write_all(b).await?;
    io.flush().await
}

/// What the start of a connection was.
#[allow(clippy::large_enum_variant)] // one per connection
enum Sniffed {
    /// The preface, or bytes that are not HTTP/1.x (these bytes, for
    /// HTTP/2 to check).
    Preface(Bytes),
    /// An upgrade request, and the bytes read after its body.
    Upgrade(H2cUpgrade, Bytes),
    /// To be answered with an HTTP/1.1 error and closed.
    Refuse(Refusal),
}

/// An HTTP/1.1 error answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Refusal {
    status: StatusCode,
    reason: &'static str,
    /// The request was a HEAD: no content in the answer.
    head: bool,
}

impl Refusal {
    fn new(status: StatusCode, reason: &'static str) -> Self {
        Refusal {
            status,
            reason,
            head: false,
        }
    }

    fn response(&self) -> Vec<u8> {
        let body = if self.status == StatusCode::HTTP_VERSION_NOT_SUPPORTED {
            NOT_HTTP2_TEXT.to_owned()
        } else {
            format!("{}\n", self.reason)
        };
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or(""),
            body.len()
        )
        .into_bytes();
        if !self.head {
            out.extend_from_slice(body.as_bytes());
        }
        out
    }
}

/// Reads until the start of the connection is known (see [`accept_h2c`]).
async fn read_start<IO>(io: &mut IO, limits: &H2cLimits) -> Result<Sniffed, H2cError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(1024);
    loop {
        // Never read more than the head may hold (plus the preface case).
        let room = limits.max_head_size.max(PREFACE.len()) + 1 - buf.len();
        let n = (&mut *io).take(room as u64).read_buf(&mut buf).await?;
        if n == 0 {
            return Err(H2cError::Closed);
        }
        let common = buf.len().min(PREFACE.len());
        if buf[..common] == PREFACE[..common] {
            if buf.len() >= PREFACE.len() {
                return Ok(Sniffed::Preface(buf.freeze()));
            }
            continue;
        }
        match request_line(&buf) {
            // Neither HTTP/1.x nor the preface: HTTP/2's to refuse (RFC
            // 9113 §3.4: an invalid preface is a connection error
            // PROTOCOL_ERROR), not an HTTP/1.1 400 that an HTTP/2 peer
            // would read as a frame header.
            RequestLine::Not => return Ok(Sniffed::Preface(buf.freeze())),
            RequestLine::Maybe if buf.len() > limits.max_head_size => {
                return Ok(Sniffed::Refuse(Refusal::new(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "request line too large",
                )))
            }
            RequestLine::Maybe => continue,
            RequestLine::Http1 => {}
        }
        match parse_request(&buf, limits) {
            Parsed::Partial if buf.len() > limits.max_head_size => {
                return Ok(Sniffed::Refuse(Refusal::new(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "request head too large",
                )))
            }
            Parsed::Partial => continue,
            Parsed::Refuse(r) => return Ok(Sniffed::Refuse(r)),
            Parsed::Upgrade {
                head_len,
                upgrade,
                body_len,
                expect_continue,
            } => {
                buf.advance(head_len);
                return read_body(io, buf, upgrade, body_len, expect_continue).await;
            }
        }
    }
}

/// Reads the `body_len` bytes of an upgrade request's body (`buf` holds
/// what was read after the head).
async fn read_body<IO>(
    io: &mut IO,
    mut buf: BytesMut,
    mut upgrade: H2cUpgrade,
    body_len: usize,
    expect_continue: bool,
) -> Result<Sniffed, H2cError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    if body_len > buf.len() {
        if expect_continue {
            write_all_flush(io, b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        buf.reserve(body_len - buf.len());
        while buf.len() < body_len {
            let want = (body_len - buf.len()) as u64;
            if (&mut *io).take(want).read_buf(&mut buf).await? == 0 {
                return Err(H2cError::Closed);
            }
        }
    }
    upgrade.body = buf.split_to(body_len).freeze();
    Ok(Sniffed::Upgrade(upgrade, buf.freeze()))
}

// ------------------------------------------------------------------ client

/// The `HTTP2-Settings` value for `config` (RFC 7540 §3.2.1): the SETTINGS
/// payload a client built with `config` sends in its preface, base64url.
#[cfg(feature = "unstable")]
pub fn http2_settings(config: &Config) -> String {
    settings_header(config)
}

/// See `http2_settings` (public with the `unstable` feature).
pub(crate) fn settings_header(config: &Config) -> String {
    let mut frame = BytesMut::new();
    Settings {
        ack: false,
        params: proto::settings::initial_params(true, config),
    }
    .encode(&mut frame);
    base64url_encode(&frame[crate::frame::HEADER_LEN..])
}

/// Client side: sends `request` (`GET`, `HEAD` or `OPTIONS`, no body, an
/// absolute `http://` URI) as an HTTP/1.1 upgrade request with the
/// `HTTP2-Settings` of `config`, and reads the response head.
///
/// On `101 Switching Protocols` the connection is HTTP/2 from here on:
/// start it with
/// [`Builder::upgraded_client`](crate::actor::Builder::upgraded_client)
/// and `start` (with the same `config`); the response to `request` arrives on
/// stream 1. Any other final status is [`H2cError::NotUpgraded`] (the body of
/// that response is not read; drop the connection). Interim 1xx
/// responses other than 101 are skipped. Header fields of `request` other
/// than hop-by-hop ones are sent too; `Host` comes from the URI.
pub async fn upgrade_h2c<IO>(
    mut io: IO,
    request: &Request<()>,
    config: &Config,
    limits: &H2cLimits,
) -> Result<Rewind<IO>, H2cError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let head = client_request_head(request, config)?;
    let exchange = async {
        write_all_flush(&mut io, &head).await?;
        read_response(&mut io, limits).await
    };
    match tokio::time::timeout(limits.handshake_timeout, exchange).await {
        Err(_) => Err(H2cError::Timeout),
        Ok(Err(e)) => Err(e),
        Ok(Ok(rest)) => Ok(Rewind::new(rest, io)),
    }
}

/// The bytes of an upgrade request.
fn client_request_head(request: &Request<()>, config: &Config) -> Result<Vec<u8>, H2cError> {
    if ![Method::GET, Method::HEAD, Method::OPTIONS].contains(request.method()) {
        return Err(H2cError::InvalidRequest(
            "only GET, HEAD and OPTIONS upgrade (no request body)",
        ));
    }
    let uri = request.uri();
    let authority = uri
        .authority()
        .ok_or(H2cError::InvalidRequest("the URI has no authority"))?;
    if uri.scheme_str().is_some_and(|s| s != "http") {
        return Err(H2cError::InvalidRequest("h2c upgrade is for http:// URIs"));
    }
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: {}\r\n",
        request.method(),
        target,
        authority,
        settings_header(config)
    )
    .into_bytes();
    for (name, value) in request.headers() {
        if name == header::HOST
            || name == header::CONNECTION
            || name == header::UPGRADE
            || name == header::TE
            || name == header::TRANSFER_ENCODING
            || name.as_str() == "http2-settings"
        {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// Reads response heads until a final one (or 101); returns the bytes
/// after the 101's head.
async fn read_response<IO: AsyncRead + Unpin>(
    io: &mut IO,
    limits: &H2cLimits,
) -> Result<Bytes, H2cError> {
    let mut buf = BytesMut::with_capacity(1024);
    let mut total = 0usize;
    loop {
        let mut fields = vec![httparse::EMPTY_HEADER; limits.max_headers];
        let mut resp = httparse::Response::new(&mut fields);
        let parsed = resp.parse(&buf);
        match parsed {
            Ok(httparse::Status::Complete(n)) => {
                let code = resp.code.unwrap_or(0);
                let status = StatusCode::from_u16(code)
                    .map_err(|_| H2cError::InvalidResponse("invalid status code"))?;
                if status == StatusCode::SWITCHING_PROTOCOLS {
                    if !tokens(resp.headers, "upgrade").any(|t| t == "h2c") {
                        return Err(H2cError::InvalidResponse("101 without Upgrade: h2c"));
                    }
                    buf.advance(n);
                    return Ok(buf.freeze());
                }
                if !status.is_informational() {
                    return Err(H2cError::NotUpgraded(status));
                }
                total += n;
                buf.advance(n);
                continue;
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => {
                return Err(H2cError::InvalidResponse("too many header fields"))
            }
            Err(_) => return Err(H2cError::InvalidResponse("not an HTTP/1.1 response")),
        }
        if total + buf.len() > limits.max_head_size {
            return Err(H2cError::InvalidResponse("response head too large"));
        }
        let room = limits.max_head_size + 1 - (total + buf.len());
        if (&mut *io).take(room as u64).read_buf(&mut buf).await? == 0 {
            return Err(H2cError::Closed);
        }
    }
}

#[cfg(test)]
mod tests;
