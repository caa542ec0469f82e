//! The HTTP/1.1 side of the server's handshake: the request line's shape
//! (RFC 9112 §3), the request head (RFC 7540 §3.2) and `HTTP2-Settings`
//! in base64url (RFC 7540 §3.2.1, RFC 4648 §5).

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Request, StatusCode, Uri};

use crate::frame::{kind, FrameHead, Setting, Settings, StreamId};

use super::{H2cLimits, H2cUpgrade, Refusal};

/// Whether the first bytes of a plain connection are an HTTP/1.x request
/// line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RequestLine {
    /// `method SP request-target SP HTTP/1.x` and its line end.
    Http1,
    /// A beginning of one: more bytes will tell.
    Maybe,
    /// Not one, whatever follows.
    Not,
}

/// Decides whether `buf` starts with an HTTP/1.x request line (RFC 9112
/// §3: `method SP request-target SP HTTP-version CRLF`, the method a token,
/// the target visible characters, the version `HTTP/1.` and a digit; a
/// bare LF ends a line too, and empty lines before it are skipped, §2.2).
/// Only the shape is checked, byte by byte as it arrives: a request line
/// of that shape is HTTP/1.x even if its head is malformed later (a 400),
/// anything else is not, from its first byte that cannot fit.
pub(super) fn request_line(buf: &[u8]) -> RequestLine {
    use RequestLine::*;
    fn tchar(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
    }
    // One element, then the SP after it: Err(verdict) if it is not there.
    fn element(line: &[u8], ok: impl Fn(u8) -> bool) -> Result<&[u8], RequestLine> {
        let n = line.iter().take_while(|&&b| ok(b)).count();
        match line.get(n) {
            None => Err(Maybe),
            Some(b' ') if n > 0 => Ok(&line[n + 1..]),
            Some(_) => Err(Not),
        }
    }
    let start = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let line = &buf[start..];
    let line = match element(line, tchar) {
        Ok(rest) => rest,
        Err(v) => return v,
    };
    let version = match element(line, |b| b > b' ' && b != 0x7f) {
        Ok(rest) => rest,
        Err(v) => return v,
    };
    const V: &[u8] = b"HTTP/1.";
    let n = version.len().min(V.len());
    if version[..n] != V[..n] {
        return Not;
    }
    match &version[n..] {
        [] => Maybe,
        [d, ..] if !d.is_ascii_digit() => Not,
        [_] | [_, b'\r'] => Maybe,
        [_, b'\n', ..] | [_, b'\r', b'\n', ..] => Http1,
        _ => Not,
    }
}

/// What a request head said.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per connection
pub(super) enum Parsed {
    /// Not complete yet.
    Partial,
    Refuse(Refusal),
    Upgrade {
        head_len: usize,
        upgrade: H2cUpgrade,
        body_len: usize,
        expect_continue: bool,
    },
}

/// The comma-separated tokens of every field `name` (RFC 9110 §5.6.1),
/// lower-cased, empty elements skipped.
pub(super) fn tokens<'a>(
    headers: &'a [httparse::Header<'a>],
    name: &'a str,
) -> impl Iterator<Item = String> + 'a {
    headers
        .iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
        .flat_map(|h| h.value.split(|&b| b == b','))
        .map(|t| String::from_utf8_lossy(t).trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
}

/// Parses a request head (RFC 9112 §2-§3) and decides what it is.
pub(super) fn parse_request(buf: &[u8], limits: &H2cLimits) -> Parsed {
    let mut fields = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut req = httparse::Request::new(&mut fields);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Ok(httparse::Status::Complete(n)) => n,
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Refuse(Refusal::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "too many header fields",
            ))
        }
        Err(_) => {
            return Parsed::Refuse(Refusal::new(
                StatusCode::BAD_REQUEST,
                "not an HTTP/1.1 request",
            ))
        }
    };
    if head_len > limits.max_head_size {
        return Parsed::Refuse(Refusal::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request head too large",
        ));
    }
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Parsed::Refuse(Refusal::new(
            StatusCode::BAD_REQUEST,
            "incomplete request line",
        ));
    };
    let headers = &*req.headers;
    let is_head = method == "HEAD";
    let refuse = |status, reason| {
        Parsed::Refuse(Refusal {
            status,
            reason,
            head: is_head,
        })
    };
    let not_h2 = |reason| refuse(StatusCode::HTTP_VERSION_NOT_SUPPORTED, reason);

    // RFC 7540 §3.2: Upgrade: h2c, with HTTP2-Settings as a connection option.
    if version != 1 {
        return not_h2("HTTP/1.0 request");
    }
    if !tokens(headers, "upgrade").any(|t| t == "h2c") {
        return not_h2("HTTP/1.1 request without Upgrade: h2c");
    }
    let connection: Vec<String> = tokens(headers, "connection").collect();
    if !connection.iter().any(|t| t == "upgrade")
        || !connection.iter().any(|t| t == "http2-settings")
    {
        return not_h2("Connection without the Upgrade and HTTP2-Settings options");
    }
    // §3.2.1: exactly one HTTP2-Settings, or no upgrade.
    let mut settings_fields = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("http2-settings"));
    let settings_field = match (settings_fields.next(), settings_fields.next()) {
        (Some(f), None) => f,
        (None, _) => return not_h2("upgrade without HTTP2-Settings"),
        (Some(_), Some(_)) => return not_h2("upgrade with more than one HTTP2-Settings"),
    };
    let Some(settings) = decode_settings(settings_field.value) else {
        return refuse(StatusCode::BAD_REQUEST, "invalid HTTP2-Settings");
    };
    if method == "CONNECT" {
        return not_h2("CONNECT cannot upgrade");
    }
    if headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("transfer-encoding"))
    {
        return not_h2("upgrade with a Transfer-Encoding body");
    }
    // RFC 9112 §6.3: Content-Length (a list of equal values is one value).
    let mut body_len: Option<u64> = None;
    for h in headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("content-length"))
    {
        for v in h.value.split(|&b| b == b',') {
            let v = String::from_utf8_lossy(v);
            let v = v.trim();
            let n = match v.parse::<u64>() {
                Ok(n) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return refuse(StatusCode::BAD_REQUEST, "invalid Content-Length"),
            };
            if body_len.is_some_and(|m| m != n) {
                return refuse(StatusCode::BAD_REQUEST, "differing Content-Length values");
            }
            body_len = Some(n);
        }
    }
    let body_len = body_len.unwrap_or(0);
    if body_len > limits.max_body_size as u64 {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "upgrade request body larger than this server takes",
        );
    }
    let expect_continue = tokens(headers, "expect").any(|t| t == "100-continue");

    // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400.
    let mut hosts = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("host"));
    let host = match (hosts.next(), hosts.next()) {
        (Some(h), None) => h.value,
        _ => return refuse(StatusCode::BAD_REQUEST, "not exactly one Host"),
    };
    let uri = if target.starts_with('/') {
        let Ok(host) = std::str::from_utf8(host) else {
            return refuse(StatusCode::BAD_REQUEST, "invalid Host");
        };
        Uri::builder()
            .scheme("http")
            .authority(host)
            .path_and_query(target)
            .build()
    } else {
        // absolute-form, or `*` for OPTIONS.
        target.parse::<Uri>().map_err(Into::into)
    };
    let Ok(uri) = uri else {
        return refuse(StatusCode::BAD_REQUEST, "invalid request target or Host");
    };
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return refuse(StatusCode::BAD_REQUEST, "invalid method");
    };

    // The fields an HTTP/2 request may carry: hop-by-hop ones dropped
    // (RFC 9113 §8.2.2, RFC 9110 §7.6.1), Host folded into the URI.
    const HOP: [&str; 8] = [
        "connection",
        "upgrade",
        "http2-settings",
        "host",
        "keep-alive",
        "proxy-connection",
        "te",
        "expect",
    ];
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = http::Version::HTTP_11;
    for h in headers {
        let lower = h.name.to_ascii_lowercase();
        if HOP.contains(&lower.as_str()) || connection.contains(&lower) {
            continue;
        }
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(lower.as_bytes()),
            HeaderValue::from_bytes(h.value),
        ) else {
            return refuse(StatusCode::BAD_REQUEST, "invalid header field");
        };
        request.headers_mut().append(name, value);
    }
    Parsed::Upgrade {
        head_len,
        upgrade: H2cUpgrade {
            request,
            body: Bytes::new(),
            settings,
        },
        body_len: body_len as usize,
        expect_continue,
    }
}

/// `HTTP2-Settings` (RFC 7540 §3.2.1): base64url of a SETTINGS payload,
/// validated as any SETTINGS frame (RFC 9113 §6.5).
pub(super) fn decode_settings(value: &[u8]) -> Option<Vec<Setting>> {
    let payload = base64url_decode(value)?;
    let head = FrameHead::new(kind::SETTINGS, 0, StreamId::ZERO, payload.len() as u32);
    Settings::load(head, &Bytes::from(payload))
        .ok()
        .map(|s| s.params)
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url (RFC 4648 §5) without padding, as `HTTP2-Settings` carries it.
pub(super) fn base64url_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(B64URL[(n >> (18 - 6 * i)) as usize & 63] as char);
        }
    }
    out
}

/// Decodes base64url (RFC 4648 §5); trailing `=` padding is tolerated,
/// anything else outside the alphabet (whitespace, `+`, `/`) is refused.
pub(super) fn base64url_decode(s: &[u8]) -> Option<Vec<u8>> {
    let s = match s.iter().position(|&c| c == b'=') {
        Some(i) if s[i..].iter().all(|&c| c == b'=') && s.len() % 4 == 0 && s.len() - i <= 2 => {
            &s[..i]
        }
        Some(_) => return None,
        None => s,
    };
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = B64URL.iter().position(|&a| a == c)? as u32;
            n |= v << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}
