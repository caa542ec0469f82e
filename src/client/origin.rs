//! Where a [`Client`](super::Client) connects: scheme, host and port of a
//! URL (RFC 9110 §4.3.1 "origin"), and how HTTP/2 is started there.

use std::fmt;

use http::Uri;

/// How HTTP/2 starts on a connection to an origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `http://`: h2c, the client preface right away ("prior knowledge",
    /// RFC 9113 §3.3).
    PriorKnowledge,
    /// `https://`: TLS with ALPN `h2` (RFC 9113 §3.2).
    Tls,
}

/// An origin: scheme, host and port. Parsed from any absolute URL; its path
/// is ignored.
///
/// ```
/// use h2actor::client::{Mode, Origin};
/// let o: Origin = "http://127.0.0.1:8080/index.html".parse().unwrap();
/// assert_eq!(o.host(), "127.0.0.1");
/// assert_eq!(o.port(), 8080);
/// assert_eq!(o.mode(), Mode::PriorKnowledge);
/// assert_eq!(o.to_string(), "http://127.0.0.1:8080");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    mode: Mode,
    host: String,
    port: u16,
}

/// A URL that names no origin we can connect to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an http:// or https:// URL with a host: {0}")]
pub struct BadOrigin(pub String);

impl Origin {
    /// The origin of an absolute `http://` or `https://` URI.
    pub fn from_uri(uri: &Uri) -> Result<Origin, BadOrigin> {
        let bad = || BadOrigin(uri.to_string());
        let (mode, default_port) = match uri.scheme_str() {
            Some("http") => (Mode::PriorKnowledge, 80),
            Some("https") => (Mode::Tls, 443),
            _ => return Err(bad()),
        };
        let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(bad)?;
        // `[::1]` comes back with its brackets; connecting wants them off.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Ok(Origin {
            mode,
            host: host.to_owned(),
            port: uri.port_u16().unwrap_or(default_port),
        })
    }

    /// How HTTP/2 starts here.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The host name or address (without brackets for IPv6).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (the scheme's default if the URL gave none).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `:scheme` of requests to this origin.
    pub fn scheme(&self) -> &'static str {
        match self.mode {
            Mode::PriorKnowledge => "http",
            Mode::Tls => "https",
        }
    }

    /// `:authority` of requests to this origin (`host:port`, IPv6 in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme(), self.authority())
    }
}

impl std::str::FromStr for Origin {
    type Err = BadOrigin;
    fn from_str(s: &str) -> Result<Origin, BadOrigin> {
        let uri: Uri = s.parse().map_err(|_| BadOrigin(s.to_owned()))?;
        Origin::from_uri(&uri)
    }
}

impl TryFrom<&str> for Origin {
    type Error = BadOrigin;
    fn try_from(s: &str) -> Result<Origin, BadOrigin> {
        s.parse()
    }
}

impl TryFrom<&Uri> for Origin {
    type Error = BadOrigin;
    fn try_from(u: &Uri) -> Result<Origin, BadOrigin> {
        Origin::from_uri(u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ports_and_ipv6() {
        let o: Origin = "https://example.com/x".parse().unwrap();
        assert_eq!((o.port(), o.mode()), (443, Mode::Tls));
        let o: Origin = "http://[::1]:8443/".parse().unwrap();
        assert_eq!(o.host(), "::1");
        assert_eq!(o.authority(), "[::1]:8443");
        assert_eq!(o.to_string(), "http://[::1]:8443");
    }

    #[test]
    fn refuses_what_is_not_an_origin() {
        for s in ["/relative", "ftp://h/", "mailto:x@y", "http:///nohost"] {
            assert!(s.parse::<Origin>().is_err(), "{s}");
        }
    }
}
