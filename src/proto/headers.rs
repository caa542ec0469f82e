//! HTTP semantics over HTTP/2 fields (RFC 9113 §8): the checks that make a
//! received message malformed (§8.1.1, §8.2, §8.3), the conversion between
//! HPACK fields and `http` types, and the same checks on what we send.
//!
//! A malformed received message is a stream error PROTOCOL_ERROR (§8.1.1);
//! a malformed message we are asked to send is `UserError::Malformed`. Both
//! carry a short static reason.

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};

use crate::hpack::{Field, FieldRef};

use super::Protocol;

/// Why a message is malformed.
pub type Malformed = &'static str;

/// RFC 9113 §8.2.1: a field name MUST NOT contain 0x00-0x20, 'A'-'Z',
/// 0x7f-0xff, nor a colon (pseudo-header names are checked by the caller).
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|&b| b > 0x20 && b < 0x7f && !b.is_ascii_uppercase() && b != b':')
}

/// RFC 9113 §8.2.1: a field value MUST NOT contain NUL, CR or LF, nor start
/// or end with SP or HTAB.
pub fn valid_value(value: &[u8]) -> bool {
    if !visible_ascii(value) && value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n') {
        return false;
    }
    !matches!(value.first(), Some(b' ' | b'\t')) && !matches!(value.last(), Some(b' ' | b'\t'))
}

/// RFC 9113 §8.2.2: connection-specific fields make a message malformed.
fn is_connection_specific(name: &HeaderName) -> bool {
    name == header::CONNECTION
        || name == header::TRANSFER_ENCODING
        || name == header::UPGRADE
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

/// Parses one content-length value (digits only; a list of equal values is
/// accepted, RFC 9110 §8.6).
fn parse_content_length(v: &[u8]) -> Option<u64> {
    let mut result: Option<u64> = None;
    for part in v.split(|&b| b == b',') {
        let part = trim(part);
        if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = part
            .iter()
            .fold(0u64, |acc, &d| acc * 10 + (d - b'0') as u64);
        match result {
            Some(prev) if prev != n => return None,
            _ => result = Some(n),
        }
    }
    result
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The regular field names the request path looks at besides those
/// `add_field` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Other,
    /// `host` (§8.3.1: stands in for, or must equal, `:authority`).
    Host,
    /// `priority` (RFC 9218 §5).
    Priority,
}

/// How a received field value fares against RFC 9113 §8.2.1 and the `http`
/// crate's own `HeaderValue` rule, in one pass over its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueCheck {
    /// Only visible ASCII, SP and HTAB, and no SP/HTAB at either end: valid
    /// for §8.2.1, for `HeaderValue`, and UTF-8.
    Ascii,
    /// Valid, but with obs-text (0x80-0xff): `HeaderValue` takes it, it may
    /// not be UTF-8.
    ObsText,
    /// NUL, CR or LF anywhere, or SP/HTAB at an end (§8.2.1).
    Malformed,
    /// Another control character (0x01-0x1f but HTAB, or 0x7f): allowed by
    /// §8.2.1, refused by `HeaderValue` (malformed here, as it always was).
    Control,
}

/// Whether every octet of `value` is visible ASCII or SP (0x20-0x7e):
/// eight at a time, the common case of every check below. `false` says
/// only that the octet-by-octet check must decide.
#[inline]
fn visible_ascii(value: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut words = value.chunks_exact(8);
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        let x = u64::from_ne_bytes(a);
        // Per octet, with no borrow between octets while none is 0x80 or
        // more (checked first): x - 0x20 sets the high bit iff x < 0x20;
        // (x ^ 0x7f) - 1 sets it iff x == 0x7f.
        if x & HIGH != 0
            || x.wrapping_sub(ONES * 0x20) & HIGH != 0
            || (x ^ (ONES * 0x7f)).wrapping_sub(ONES) & !(x ^ (ONES * 0x7f)) & HIGH != 0
        {
            return false;
        }
    }
    words.remainder().iter().all(|&b| (0x20..0x7f).contains(&b))
}

fn check_value(value: &[u8]) -> ValueCheck {
    if visible_ascii(value) {
        return if matches!(value.first(), Some(b' ')) || matches!(value.last(), Some(b' ')) {
            ValueCheck::Malformed
        } else {
            ValueCheck::Ascii
        };
    }
    let mut high = false;
    let mut control = false;
    for &b in value {
        if b < 0x20 || b == 0x7f {
            if b == 0 || b == b'\r' || b == b'\n' {
                return ValueCheck::Malformed;
            }
            control |= b != b'\t';
        }
        high |= b >= 0x80;
    }
    if matches!(value.first(), Some(b' ' | b'\t')) || matches!(value.last(), Some(b' ' | b'\t')) {
        ValueCheck::Malformed
    } else if control {
        ValueCheck::Control
    } else if high {
        ValueCheck::ObsText
    } else {
        ValueCheck::Ascii
    }
}

/// Checks a regular (non-pseudo) received field and appends it to `map`,
/// tracking content-length; says whether it was `host` or `priority`.
/// The value's bytes are taken from `f`, not cloned: a clone and its drop
/// are two atomic operations on the decoder's buffer, for every field.
fn add_field(
    map: &mut HeaderMap,
    f: &mut Field,
    content_length: &mut Option<u64>,
) -> Result<Seen, Malformed> {
    // `from_lowercase` with no `"` takes exactly the names `valid_name` and
    // `HeaderName::from_bytes` took together before: tchar octets
    // (RFC 9110 §5.6.2) with no uppercase letter (§8.2.1), which leaves
    // out controls, SP, DEL, 0x80-0xff and ':' as §8.2.1 asks (and `(`,
    // `,` ..., refused by `from_bytes` already; `from_lowercase` lets `"`
    // through, `from_bytes` did not). One table pass over the name instead
    // of two; `valid_name` only picks the message.
    let name = match HeaderName::from_lowercase(&f.name) {
        Ok(name) if !f.name.contains(&b'"') => name,
        _ if valid_name(&f.name) => return Err("invalid field name"),
        _ => return Err("invalid field name (§8.2.1)"),
    };
    let check = check_value(&f.value);
    match check {
        ValueCheck::Malformed => return Err("invalid field value (§8.2.1)"),
        ValueCheck::Control => return Err("invalid field value"),
        ValueCheck::Ascii | ValueCheck::ObsText => {}
    }
    let mut seen = Seen::Other;
    if name == header::HOST {
        seen = Seen::Host;
    } else if name == header::TE && !f.value.eq_ignore_ascii_case(b"trailers") {
        return Err("te other than \"trailers\" (§8.2.2)");
    } else if name == header::CONTENT_LENGTH {
        let n = parse_content_length(&f.value).ok_or("invalid content-length")?;
        match *content_length {
            Some(prev) if prev != n => return Err("conflicting content-length"),
            _ => *content_length = Some(n),
        }
    } else if is_connection_specific(&name) {
        return Err("connection-specific field (§8.2.2)");
    } else if name.as_str() == "priority" {
        seen = Seen::Priority;
    }
    let mut value = if check == ValueCheck::Ascii {
        // SAFETY: `from_maybe_shared_unchecked` asks for valid UTF-8, and
        // `check_value` found only visible ASCII, SP and HTAB (ASCII is
        // UTF-8). That is also every octet `HeaderValue` accepts in its
        // checked constructors (it refuses NUL, CR, LF, the other controls
        // and DEL), so the value keeps the invariants `http` relies on,
        // and the RFC 9113 §8.2.1 rules (no NUL, CR or LF; no SP or HTAB
        // at either end) were checked above. `f.value` is a `Bytes` (a
        // slice of the HPACK decoder's output): taken as is, no copy, and
        // no second pass over it.
        unsafe { HeaderValue::from_maybe_shared_unchecked(std::mem::take(&mut f.value)) }
    } else {
        // obs-text need not be UTF-8: the checked constructor.
        HeaderValue::from_maybe_shared(std::mem::take(&mut f.value))
            .map_err(|_| "invalid field value")?
    };
    if f.never_index {
        value.set_sensitive(true);
    }
    map.try_append(name, value).map_err(|_| "too many fields")?;
    Ok(seen)
}

/// A pseudo-header's value, taken from `f` (see [`add_field`]).
fn set_once(slot: &mut Option<Bytes>, f: &mut Field) -> Result<(), Malformed> {
    if slot.is_some() {
        return Err("duplicate pseudo-header (§8.3)");
    }
    if !visible_ascii(&f.value) && f.value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n') {
        return Err("invalid pseudo-header value (§8.2.1)");
    }
    *slot = Some(std::mem::take(&mut f.value));
    Ok(())
}

/// A received request head: the request and its content-length.
#[derive(Debug)]
pub struct RecvRequest {
    /// The request: method, URI and headers from the field block.
    pub request: Request<()>,
    /// The `content-length` value, when present (repeated equal values are
    /// folded, §8.1.1); the body is checked against it.
    pub content_length: Option<u64>,
    /// A `priority` field came (RFC 9218 §5): without one, the stream's
    /// priority is the default and nobody needs to look it up.
    pub priority: bool,
}

/// Turns the fields of a request (HEADERS on a new stream, or PUSH_PROMISE)
/// into an `http::Request` after the §8.3.1 checks. `connect_protocol` is our
/// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §4: `:protocol` needs it).
///
/// The fields' values are taken (moved into the request): `fields` is left
/// with empty values.
pub fn request_from_fields(
    fields: &mut [Field],
    connect_protocol: bool,
) -> Result<RecvRequest, Malformed> {
    let (mut method, mut scheme, mut authority, mut path, mut protocol) =
        (None, None, None, None, None);
    // §8.3: the pseudo-header fields come first; the map is sized for the
    // regular ones (none: no allocation at all).
    let pseudo = fields
        .iter()
        .take_while(|f| f.name.first() == Some(&b':'))
        .count();
    let mut headers = HeaderMap::with_capacity((fields.len() - pseudo).min(64));
    let mut content_length = None;
    for f in &mut fields[..pseudo] {
        match &f.name[..] {
            b":method" => set_once(&mut method, f)?,
            b":scheme" => set_once(&mut scheme, f)?,
            b":authority" => set_once(&mut authority, f)?,
            b":path" => set_once(&mut path, f)?,
            b":protocol" => set_once(&mut protocol, f)?,
            b":status" => return Err(":status in a request (§8.3)"),
            _ => return Err("unknown pseudo-header (§8.3)"),
        }
    }
    // Whether a `host` field came (its first value is the map's), and a
    // `priority` field. Without :authority, the first `host` value stands
    // in for it (§8.3.1): its bytes are kept as they are (a reference
    // count, no copy) before the map takes them.
    let mut has_host = false;
    let mut stand_in: Option<Bytes> = None;
    let mut priority = false;
    for f in &mut fields[pseudo..] {
        if f.name.first() == Some(&b':') {
            return Err("pseudo-header after a regular field (§8.3)");
        }
        if authority.is_none() && stand_in.is_none() && &f.name[..] == b"host" {
            stand_in = Some(f.value.clone());
        }
        match add_field(&mut headers, f, &mut content_length)? {
            Seen::Host => has_host = true,
            Seen::Priority => priority = true,
            Seen::Other => {}
        }
    }
    let method = method.ok_or("missing :method (§8.3.1)")?;
    let method = Method::from_bytes(&method).map_err(|_| "invalid :method")?;
    // §8.3.1: `host` stands in for a missing :authority; both present and
    // different is malformed.
    if let (Some(a), true) = (&authority, has_host) {
        if headers.get(header::HOST).is_some_and(|h| a != h.as_bytes()) {
            return Err(":authority and host differ (§8.3.1)");
        }
    }
    // §8.3.1: no userinfo ("user@") in :authority for http/https.
    if authority.as_ref().is_some_and(|a| a.contains(&b'@')) {
        return Err(":authority with userinfo (§8.3.1)");
    }
    let authority = authority.or(stand_in);
    let mut parts = http::uri::Parts::default();
    if method == Method::CONNECT && protocol.is_none() {
        // §8.5: only :method and :authority.
        if scheme.is_some() || path.is_some() {
            return Err("CONNECT with :scheme or :path (§8.5)");
        }
        let a = authority.ok_or("CONNECT without :authority (§8.5)")?;
        parts.authority = Some(Authority::from_maybe_shared(a).map_err(|_| "invalid :authority")?);
    } else {
        if protocol.is_some() {
            if !connect_protocol {
                return Err(":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441)");
            }
            if method != Method::CONNECT {
                return Err(":protocol on a method other than CONNECT (RFC 8441)");
            }
        }
        let s = scheme.ok_or("missing :scheme (§8.3.1)")?;
        let p = path.ok_or("missing :path (§8.3.1)")?;
        if p.is_empty() {
            return Err("empty :path (§8.3.1)");
        }
        if p[0] != b'/' && !(&p[..] == b"*" && method == Method::OPTIONS) {
            return Err(":path neither absolute nor \"*\" for OPTIONS (§8.3.1)");
        }
        if protocol.is_some() && authority.is_none() {
            return Err("extended CONNECT without :authority (RFC 8441)");
        }
        parts.path_and_query =
            Some(PathAndQuery::from_maybe_shared(p).map_err(|_| "invalid :path")?);
        if let Some(a) = authority {
            parts.scheme = Some(Scheme::try_from(&s[..]).map_err(|_| "invalid :scheme")?);
            parts.authority =
                Some(Authority::from_maybe_shared(a).map_err(|_| "invalid :authority")?);
        }
    }
    let uri = Uri::from_parts(parts).map_err(|_| "invalid request target")?;
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = http::Version::HTTP_2;
    *request.headers_mut() = headers;
    if let Some(p) = protocol {
        request.extensions_mut().insert(Protocol(p));
    }
    Ok(RecvRequest {
        request,
        content_length,
        priority,
    })
}

/// A received response head.
#[derive(Debug)]
pub struct RecvResponse {
    /// The response: status and headers from the field block.
    pub response: Response<()>,
    /// The `content-length` value, when present (§8.1.1).
    pub content_length: Option<u64>,
}

/// Turns the fields of a response into an `http::Response` (§8.3.2).
/// The fields' values are taken, as [`request_from_fields`] does.
pub fn response_from_fields(fields: &mut [Field]) -> Result<RecvResponse, Malformed> {
    let mut status = None;
    let mut headers = HeaderMap::with_capacity(fields.len().min(64));
    let mut content_length = None;
    let mut regular_seen = false;
    for f in fields.iter_mut() {
        if f.name.first() == Some(&b':') {
            if regular_seen {
                return Err("pseudo-header after a regular field (§8.3)");
            }
            match &f.name[..] {
                b":status" => set_once(&mut status, f)?,
                b":method" | b":scheme" | b":authority" | b":path" | b":protocol" => {
                    return Err("request pseudo-header in a response (§8.3)")
                }
                _ => return Err("unknown pseudo-header (§8.3)"),
            }
        } else {
            regular_seen = true;
            add_field(&mut headers, f, &mut content_length)?;
        }
    }
    let status = status.ok_or("missing :status (§8.3.2)")?;
    if status.len() != 3 {
        return Err("invalid :status");
    }
    let status = StatusCode::from_bytes(&status).map_err(|_| "invalid :status")?;
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return Err("101 is not used in HTTP/2 (§8.6)");
    }
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = http::Version::HTTP_2;
    *response.headers_mut() = headers;
    Ok(RecvResponse {
        response,
        content_length,
    })
}

/// Turns trailer fields into a `HeaderMap` (§8.1: no pseudo-headers).
/// The fields' values are taken, as [`request_from_fields`] does.
pub fn trailers_from_fields(fields: &mut [Field]) -> Result<HeaderMap, Malformed> {
    let mut map = HeaderMap::with_capacity(fields.len().min(64));
    let mut cl = None;
    for f in fields.iter_mut() {
        if f.name.first() == Some(&b':') {
            return Err("pseudo-header in trailers (§8.1)");
        }
        add_field(&mut map, f, &mut cl)?;
    }
    Ok(map)
}

/// Checks regular fields we are about to send (§8.2) and returns the header
/// list size they add (RFC 7541 §4.1 accounting). `skip_host` leaves `host`
/// out (it became :authority).
pub fn check_outgoing(headers: &HeaderMap, skip_host: bool) -> Result<usize, Malformed> {
    check_outgoing_head(headers, skip_host).map(|h| h.size)
}

/// [`check_outgoing`] for a message head, in the same pass: also the
/// content-length it declares (the first `content-length` value, parsed
/// after trimming; unparsable: `None`, not checked). A second look-up of
/// `content-length` cost ~250 instructions per response.
pub fn check_outgoing_head(
    headers: &HeaderMap,
    skip_host: bool,
) -> Result<OutgoingHead, Malformed> {
    let mut size = 0;
    let mut declared = None;
    let mut length_seen = false;
    for (name, value) in headers {
        if skip_host && name == header::HOST {
            continue;
        }
        if name == header::CONTENT_LENGTH && !length_seen {
            length_seen = true;
            declared = value.to_str().ok().and_then(|v| v.trim().parse().ok());
        } else if is_connection_specific(name) {
            return Err("connection-specific field (§8.2.2)");
        }
        if name == header::TE && !value.as_bytes().eq_ignore_ascii_case(b"trailers") {
            return Err("te other than \"trailers\" (§8.2.2)");
        }
        if !valid_value(value.as_bytes()) {
            return Err("invalid field value (§8.2.1)");
        }
        size += name.as_str().len() + value.len() + 32;
    }
    Ok(OutgoingHead {
        size,
        declared,
        has_length: length_seen,
    })
}

/// What [`check_outgoing_head`] found in a head's regular fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutgoingHead {
    /// The header list size they add (RFC 7541 §4.1 accounting).
    pub size: usize,
    /// The first `content-length` value, parsed after trimming; `None`
    /// when there is none or it does not parse.
    pub declared: Option<u64>,
    /// A `content-length` field is there (whether it parses or not).
    pub has_length: bool,
}

impl OutgoingHead {
    /// With `body_len`, the length of the whole body to follow: the
    /// `content-length` field to add when the head declares none (RFC 9110
    /// §8.6), the length the stream may then send, and the header list
    /// size with that field.
    pub fn with_body_len(&self, body_len: Option<u64>) -> (Option<Length>, Option<u64>, usize) {
        match body_len.filter(|_| !self.has_length) {
            Some(n) => {
                let l = Length::new(n);
                let size = self.size + l.field().size();
                (Some(l), Some(n), size)
            }
            None => (None, self.declared, self.size),
        }
    }
}

/// A `content-length` value written out in decimal, without allocating
/// (a `HeaderValue` from a number allocates its bytes).
pub struct Length {
    digits: [u8; 20],
    start: usize,
}

impl Length {
    /// `n` in decimal.
    pub fn new(mut n: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Length { digits, start }
    }

    /// The `content-length` field with this value.
    pub fn field(&self) -> FieldRef<'_> {
        FieldRef {
            name: b"content-length",
            value: &self.digits[self.start..],
            sensitive: false,
        }
    }
}

/// The regular fields of `headers` as HPACK fields.
pub fn regular_fields(headers: &HeaderMap, skip_host: bool) -> impl Iterator<Item = FieldRef<'_>> {
    headers
        .iter()
        .filter(move |(n, _)| !(skip_host && *n == header::HOST))
        .map(|(n, v)| FieldRef {
            name: n.as_str().as_bytes(),
            value: v.as_bytes(),
            sensitive: v.is_sensitive(),
        })
}

fn pseudo<'a>(name: &'static str, value: &'a [u8]) -> FieldRef<'a> {
    FieldRef {
        name: name.as_bytes(),
        value,
        sensitive: false,
    }
}

/// The pseudo-headers of a request we send (§8.3.1), whether `host` is
/// folded into :authority, and the header list size of the pseudo fields.
pub fn request_pseudo<'a>(
    req: &'a Request<()>,
    peer_connect_protocol: bool,
) -> Result<([Option<FieldRef<'a>>; 5], bool), Malformed> {
    let uri = req.uri();
    let method = req.method();
    let host = req.headers().get(header::HOST).map(HeaderValue::as_bytes);
    let authority = uri.authority().map(|a| a.as_str().as_bytes()).or(host);
    if let (Some(a), Some(h)) = (uri.authority(), host) {
        if a.as_str().as_bytes() != h {
            return Err("host differs from the URI's authority (§8.3.1)");
        }
    }
    let protocol = req.extensions().get::<Protocol>();
    let mut out = [None; 5];
    out[0] = Some(pseudo(":method", method.as_str().as_bytes()));
    if *method == Method::CONNECT && protocol.is_none() {
        out[1] = Some(pseudo(
            ":authority",
            authority.ok_or("CONNECT without an authority (§8.5)")?,
        ));
        return Ok((out, true));
    }
    if let Some(p) = protocol {
        if !peer_connect_protocol {
            return Err("the peer did not enable extended CONNECT (RFC 8441)");
        }
        if *method != Method::CONNECT {
            return Err(":protocol on a method other than CONNECT (RFC 8441)");
        }
        if authority.is_none() {
            return Err("extended CONNECT without an authority (RFC 8441)");
        }
        out[4] = Some(pseudo(":protocol", &p.0));
    }
    out[1] = Some(pseudo(
        ":scheme",
        uri.scheme_str().unwrap_or("http").as_bytes(),
    ));
    if let Some(a) = authority {
        out[2] = Some(pseudo(":authority", a));
    }
    let path = match uri.path_and_query() {
        Some(p) if !p.as_str().is_empty() => p.as_str(),
        _ if *method == Method::OPTIONS => "*",
        _ => "/",
    };
    out[3] = Some(pseudo(":path", path.as_bytes()));
    Ok((out, authority.is_some()))
}

/// Header list size of the pseudo fields (RFC 7541 §4.1 accounting).
pub fn pseudo_size(p: &[Option<FieldRef<'_>>]) -> usize {
    p.iter()
        .flatten()
        .map(|f| f.name.len() + f.value.len() + 32)
        .sum()
}

#[cfg(test)]
mod tests;
