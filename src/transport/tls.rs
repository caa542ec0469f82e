//! HTTP/2 over TLS (RFC 9113 §3.2): rustls with ALPN `h2`, server and client.
//!
//! - [`TlsServer`] accepts TLS connections that agree on ALPN `h2`. A
//!   client that offers only other protocols (`http/1.1`), or none at all,
//!   gets the fatal TLS alert `no_application_protocol` (RFC 7301 §3.2) and
//!   a log line; the handshake runs under a deadline, so a silent client
//!   cannot hold it. Its certificate can be replaced while it serves
//!   ([`TlsServer::reload_pem_files`]).
//! - [`TlsClient`] connects with SNI and ALPN `h2`, verifies the server
//!   against the system's trusted roots, a CA file of yours (which may hold
//!   the server's own self-signed certificate, even one with `CA:TRUE`, as
//!   `curl --cacert` allows), or (tests only) not at all. It fails with
//!   [`TlsError::ServerCertificate`] saying what is wrong with a refused
//!   certificate, and with [`TlsError::AlpnNotAgreed`] when the server does
//!   not choose `h2`.
//!
//! Both hand back a tokio-rustls stream ([`ServerTlsStream`],
//! [`ClientTlsStream`]) that [`crate::Connection`]'s builder takes like any
//! byte stream. When the connection ends, its writer shuts the stream down,
//! which sends TLS `close_notify` before the TCP FIN.
//!
//! Cryptography is rustls's `ring` provider, chosen explicitly (not the
//! process-wide default); TLS 1.3 and 1.2 are on, and every TLS 1.2 suite
//! rustls offers is an ECDHE AEAD suite, as RFC 9113 §9.2.2 requires.
//! Certificates and keys are read from PEM (`BEGIN CERTIFICATE`, and
//! `BEGIN PRIVATE KEY`, `BEGIN RSA PRIVATE KEY` or `BEGIN EC PRIVATE KEY`).
//!
//! # A server and a client
//!
//! ```no_run
//! use std::sync::Arc;
//! use actix::prelude::*;
//! use h2actor::prelude::*;
//! use h2actor::{TlsClient, TlsServer};
//!
//! # struct Site;
//! # impl Actor for Site { type Context = Context<Self>; }
//! # impl Handler<RecvHeaders> for Site { type Result = (); fn handle(&mut self, _: RecvHeaders, _: &mut Context<Self>) {} }
//! #[actix_rt::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Server: one TLS handshake per accepted socket, then a Connection.
//!     let tls = Arc::new(TlsServer::from_pem_files("cert.pem", "key.pem")?);
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
//!     let server_tls = tls.clone();
//!     actix::spawn(async move {
//!         while let Ok((tcp, _peer)) = listener.accept().await {
//!             let tls = server_tls.clone();
//!             // In its own task: a slow handshake never blocks accepting.
//!             actix::spawn(async move {
//!                 match tls.accept(tcp).await {
//!                     Ok(stream) => {
//!                         let site = Site.start();
//!                         Connection::builder(Role::Server).start(stream, Subscriber::new(&site));
//!                     }
//!                     Err(e) => eprintln!("refused: {e}"),
//!                 }
//!             });
//!         }
//!     });
//!     // (`Listener::builder(addr).tls(..)` does all of this on every core.)
//!
//!     // Client: verify the server against cert.pem (a self-signed
//!     // certificate is its own CA), SNI "localhost", ALPN h2.
//!     let client = TlsClient::with_ca_file("cert.pem")?;
//!     let tcp = tokio::net::TcpStream::connect("127.0.0.1:8443").await?;
//!     let stream = client.connect("localhost", tcp).await?;
//!     # let subscriber: Subscriber = unimplemented!();
//!     let conn = Connection::builder(Role::Client).start(stream, subscriber);
//!     # let _ = conn;
//!     Ok(())
//! }
//! ```

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_rustls::{LazyConfigAcceptor, TlsConnector};

use super::verify;
use super::DEFAULT_HANDSHAKE_TIMEOUT;

/// The TLS stream a [`TlsServer`] hands back (tokio-rustls).
pub use tokio_rustls::server::TlsStream as ServerTlsStream;

/// The TLS stream a [`TlsClient`] hands back (tokio-rustls).
pub use tokio_rustls::client::TlsStream as ClientTlsStream;

/// The rustls crate h2actor is built with, for building your own
/// [`rustls::ServerConfig`](https://docs.rs/rustls/0.23/rustls/server/struct.ServerConfig.html) or [`rustls::ClientConfig`](https://docs.rs/rustls/0.23/rustls/client/struct.ClientConfig.html) of the
/// same version.
pub use rustls;

/// The ALPN protocol id of HTTP/2 over TLS (RFC 9113 §3.2).
pub const ALPN_H2: &[u8] = b"h2";

/// The fatal alert `no_application_protocol` (RFC 7301 §3.2) as a plaintext
/// TLS record: content type alert (21), legacy version TLS 1.2 (RFC 8446
/// §5.1), length 2, level fatal (2), description 120. Alerts sent before
/// the keys are agreed are not encrypted.
const NO_APPLICATION_PROTOCOL_RECORD: [u8; 7] = [21, 3, 3, 0, 2, 2, 120];

/// Why a TLS set-up or handshake failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate, key or CA file could not be read.
    #[error("cannot read {what} file {}: {source}", path.display())]
    ReadFile {
        /// "certificate", "private key" or "CA".
        what: &'static str,
        /// The path given.
        path: PathBuf,
        /// Why reading failed.
        source: io::Error,
    },
    /// The PEM text is malformed (a section without its END line, bad base64).
    #[error("malformed PEM in {origin}: {reason}")]
    BadPem {
        /// Where the PEM came from: a file name, or "the given PEM".
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No `BEGIN CERTIFICATE` section.
    #[error("no certificate (-----BEGIN CERTIFICATE-----) in {origin}")]
    NoCertificate {
        /// Where the PEM came from.
        origin: String,
    },
    /// No private key section of a kind rustls reads.
    #[error(
        "no private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY) in {origin}"
    )]
    NoPrivateKey {
        /// Where the PEM came from.
        origin: String,
    },
    /// rustls refused the configuration (e.g. the key does not match the
    /// certificate, an unsupported key type, a CA certificate it cannot parse).
    #[error("TLS configuration rejected: {0}")]
    Config(rustls::Error),
    /// No trusted root certificate could be loaded from the system.
    #[error("no trusted root certificates found on this system ({0}); install ca-certificates or give a CA file")]
    NoSystemRoots(String),
    /// The name given to [`TlsClient::connect`] is neither a DNS name nor an
    /// IP address.
    #[error("invalid TLS server name {0:?}")]
    InvalidServerName(String),
    /// Server side: the client offered no ALPN at all, so it cannot have
    /// meant HTTP/2; it got the alert `no_application_protocol`.
    #[error("client offered no ALPN protocol (HTTP/2 over TLS needs \"h2\"); sent no_application_protocol")]
    NoAlpnOffered,
    /// Server side: the client offered ALPN protocols, none of them `h2`; it
    /// got the alert `no_application_protocol`.
    #[error("client offered ALPN {offered:?}, not \"h2\"; sent no_application_protocol")]
    AlpnMismatch {
        /// The protocols the client offered, lossily as text.
        offered: Vec<String>,
    },
    /// Client side: the handshake completed but the server did not choose
    /// `h2` (it chose nothing, or another protocol): it does not speak
    /// HTTP/2 over TLS on this port.
    #[error("server did not agree to HTTP/2: ALPN {}", match .chosen { Some(p) => format!("{p:?} chosen instead of \"h2\""), None => "not answered (no protocol chosen)".to_owned() })]
    AlpnNotAgreed {
        /// The protocol the server chose, if any.
        chosen: Option<String>,
    },
    /// The handshake failed: a TLS alert, a peer that is not speaking TLS,
    /// a reset connection. (A server certificate the client refuses is
    /// [`TlsError::ServerCertificate`].)
    #[error("TLS handshake failed: {0}")]
    Handshake(io::Error),
    /// Client side: the server's certificate was refused. The message says
    /// why in words: it names another host, it has expired, no trusted
    /// certificate issued it...
    ///
    /// ```
    /// use h2actor::transport::tls::{rustls::CertificateError, TlsError};
    ///
    /// let e = TlsError::ServerCertificate {
    ///     server: "127.0.0.1".into(),
    ///     error: CertificateError::NotValidForName,
    /// };
    /// assert_eq!(
    ///     e.to_string(),
    ///     "TLS handshake failed: the server's certificate is not valid for the name 127.0.0.1"
    /// );
    /// ```
    #[error(
        "TLS handshake failed: the server's certificate {}",
        verify::describe(error, server)
    )]
    ServerCertificate {
        /// The name the client asked for (the URL's host).
        server: String,
        /// What rustls found wrong with the certificate.
        error: rustls::CertificateError,
    },
    /// The handshake did not finish in time.
    #[error("TLS handshake did not finish within {0:?}")]
    Timeout(Duration),
}

/// The cryptography h2actor's TLS uses: rustls's `ring` provider, chosen
/// explicitly (never the process-wide default, whose lookup panics when two
/// providers are compiled in). Use it to build a
/// [`rustls::ServerConfig`](https://docs.rs/rustls/0.23/rustls/server/struct.ServerConfig.html) or
/// [`rustls::ClientConfig`](https://docs.rs/rustls/0.23/rustls/client/struct.ClientConfig.html) of your own for
/// [`TlsServer::from_config`] or [`TlsClient::from_config`].
///
/// ```
/// use h2actor::transport::tls::{crypto_provider, rustls, TlsClient};
///
/// let config = rustls::ClientConfig::builder_with_provider(crypto_provider())
///     .with_safe_default_protocol_versions()
///     .unwrap()
///     .with_root_certificates(rustls::RootCertStore::empty())
///     .with_no_client_auth();
/// let client = TlsClient::from_config(std::sync::Arc::new(config));
/// # let _ = client;
/// ```
pub fn crypto_provider() -> Arc<CryptoProvider> {
    // rustls 0.23.48 deprecates `ring::default_provider` because ring has
    // no post-quantum key exchange; its replacement is the aws-lc-rs
    // provider, which h2actor does not build (slower to compile, and two
    // providers in one binary break the default-provider lookup). The
    // `allow` keeps builds against 0.23.48 and later warning-free; older
    // 0.23 releases have no deprecation to allow.
    #[allow(deprecated)]
    let provider = ring::default_provider();
    Arc::new(provider)
}

fn provider() -> Arc<CryptoProvider> {
    crypto_provider()
}

/// Reads `path` whole, naming it in the error.
fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::ReadFile {
        what,
        path: path.to_owned(),
        source,
    })
}

fn pem_error(origin: &str, e: rustls::pki_types::pem::Error) -> TlsError {
    TlsError::BadPem {
        origin: origin.to_owned(),
        reason: e.to_string(),
    }
}

/// Every `CERTIFICATE` section of `pem`, in order; at least one.
fn parse_certs(pem: &[u8], origin: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(origin, e))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            origin: origin.to_owned(),
        });
    }
    Ok(certs)
}

/// The first private key of `pem` (PKCS#8, PKCS#1 or SEC1).
fn parse_key(pem: &[u8], origin: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    match PrivateKeyDer::from_pem_slice(pem) {
        Ok(key) => Ok(key),
        Err(rustls::pki_types::pem::Error::NoItemsFound) => Err(TlsError::NoPrivateKey {
            origin: origin.to_owned(),
        }),
        Err(e) => Err(pem_error(origin, e)),
    }
}

/// A server config for `certs` + `key` with ALPN `h2` only.
fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(TlsError::Config)?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(config)
}

fn server_config_from_pem(
    cert_pem: &[u8],
    cert_origin: &str,
    key_pem: &[u8],
    key_origin: &str,
) -> Result<ServerConfig, TlsError> {
    let certs = parse_certs(cert_pem, cert_origin)?;
    let key = parse_key(key_pem, key_origin)?;
    server_config(certs, key)
}

/// `config` with its ALPN list set to `h2` only.
fn force_h2_server(config: Arc<ServerConfig>) -> Arc<ServerConfig> {
    if config.alpn_protocols == [ALPN_H2] {
        return config;
    }
    let mut config = Arc::unwrap_or_clone(config);
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Arc::new(config)
}

fn lossy(protocols: &[Vec<u8>]) -> Vec<String> {
    protocols
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

// ------------------------------------------------------------------ server

/// The server side of HTTP/2 over TLS: a certificate chain, its key, ALPN
/// `h2` and a handshake deadline. Share it between tasks in an `Arc`; call
/// [`accept`](Self::accept) on each accepted socket (in its own task), or
/// hand it to [`ListenerBuilder::tls`](crate::actor::listener::ListenerBuilder::tls).
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use h2actor::TlsServer;
/// let tls = TlsServer::from_pem_files("cert.pem", "key.pem")?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
/// let (tcp, _) = listener.accept().await?;
/// let stream = tls.accept(tcp).await?; // ALPN is h2 here
/// # Ok(()) }
/// ```
pub struct TlsServer {
    /// Swapped whole by a reload; each handshake takes the current one.
    config: RwLock<Arc<ServerConfig>>,
    handshake_timeout: Duration,
}

impl fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServer")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl TlsServer {
    /// Reads a PEM certificate chain (the server's certificate first, then
    /// any intermediates) and a PEM private key.
    ///
    /// Errors name the file: [`TlsError::ReadFile`], [`TlsError::BadPem`],
    /// [`TlsError::NoCertificate`], [`TlsError::NoPrivateKey`], or
    /// [`TlsError::Config`] when the key does not fit the certificate.
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        Ok(Self::from_config(Arc::new(Self::load_files(
            cert_chain.as_ref(),
            key.as_ref(),
        )?)))
    }

    /// As [`from_pem_files`](Self::from_pem_files), from PEM text in memory.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        let config = server_config_from_pem(cert_chain, "the given PEM", key, "the given key PEM")?;
        Ok(Self::from_config(Arc::new(config)))
    }

    /// A rustls configuration of your own (client authentication, session
    /// tickets, a certificate resolver...). Its ALPN list is replaced by
    /// `h2` alone: this server speaks nothing else.
    pub fn from_config(config: Arc<ServerConfig>) -> Self {
        TlsServer {
            config: RwLock::new(force_h2_server(config)),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// How long one handshake may take, from the first byte awaited to the
    /// last ([`DEFAULT_HANDSHAKE_TIMEOUT`], 10 s, unless set); beyond it
    /// [`accept`](Self::accept) fails with [`TlsError::Timeout`] and the
    /// socket is dropped. The one transport deadline of a TLS port: a
    /// [`Listener`](crate::Listener) given this server adds none of its own.
    pub fn handshake_timeout(mut self, limit: Duration) -> Self {
        self.handshake_timeout = limit;
        self
    }

    fn load_files(cert: &Path, key: &Path) -> Result<ServerConfig, TlsError> {
        let cert_pem = read_file("certificate", cert)?;
        let key_pem = read_file("private key", key)?;
        server_config_from_pem(
            &cert_pem,
            &cert.display().to_string(),
            &key_pem,
            &key.display().to_string(),
        )
    }

    /// Replaces the certificate chain and key with those of the given PEM
    /// files, without a restart: handshakes that start afterwards use them,
    /// connections already up keep theirs. On error the old ones stay.
    pub fn reload_pem_files(
        &self,
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<(), TlsError> {
        let config = Self::load_files(cert_chain.as_ref(), key.as_ref())?;
        self.set_config(Arc::new(config));
        tracing::info!(cert = %cert_chain.as_ref().display(), "TLS certificate reloaded");
        Ok(())
    }

    /// Replaces the whole configuration (ALPN forced to `h2`), as
    /// [`reload_pem_files`](Self::reload_pem_files) does.
    pub fn set_config(&self, config: Arc<ServerConfig>) {
        let config = force_h2_server(config);
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = config;
    }

    /// The configuration the next handshake will use.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs the server side of a TLS handshake on `io` (an accepted
    /// `tokio::net::TcpStream`, usually) under the handshake deadline.
    /// Returns the encrypted stream once the client agreed on `h2`.
    ///
    /// A client that offers no ALPN, or no `h2` among its protocols, gets
    /// the fatal alert `no_application_protocol` and this returns
    /// [`TlsError::NoAlpnOffered`] or [`TlsError::AlpnMismatch`] (also
    /// logged at `info`). A client that says nothing in time:
    /// [`TlsError::Timeout`]; anything else: [`TlsError::Handshake`].
    pub async fn accept<IO>(&self, io: IO) -> Result<ServerTlsStream<IO>, TlsError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let limit = self.handshake_timeout;
        match tokio::time::timeout(limit, self.handshake(io)).await {
            Ok(result) => result,
            Err(_) => Err(TlsError::Timeout(limit)),
        }
    }

    async fn handshake<IO>(&self, io: IO) -> Result<ServerTlsStream<IO>, TlsError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        // Read the ClientHello first: rustls itself refuses a client whose
        // ALPN list lacks h2, but accepts one that sends no ALPN at all.
        let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), io)
            .await
            .map_err(TlsError::Handshake)?;
        let offered: Option<Vec<Vec<u8>>> = start
            .client_hello()
            .alpn()
            .map(|protocols| protocols.map(<[u8]>::to_vec).collect());
        let config = self.config();
        match offered {
            None => {
                crate::log_limit::limited!(
                    info,
                    "TLS client offered no ALPN: refused with no_application_protocol"
                );
                let mut io = start.io;
                let _ = io.write_all(&NO_APPLICATION_PROTOCOL_RECORD).await;
                let _ = io.shutdown().await;
                Err(TlsError::NoAlpnOffered)
            }
            Some(offered) if !offered.iter().any(|p| p == ALPN_H2) => {
                let offered = lossy(&offered);
                crate::log_limit::limited!(
                    info,
                    ?offered,
                    "TLS client offered no \"h2\" in ALPN: refused with no_application_protocol"
                );
                // rustls finds no overlap and sends the alert itself.
                match start.into_stream(config).await {
                    Ok(mut stream) => {
                        // Unreachable with ALPN forced to h2; refuse anyway.
                        let _ = stream.shutdown().await;
                        Err(TlsError::AlpnMismatch { offered })
                    }
                    Err(_) => Err(TlsError::AlpnMismatch { offered }),
                }
            }
            Some(_) => {
                let stream = start
                    .into_stream(config)
                    .await
                    .map_err(TlsError::Handshake)?;
                match stream.get_ref().1.alpn_protocol() {
                    Some(p) if p == ALPN_H2 => Ok(stream),
                    other => Err(TlsError::AlpnNotAgreed {
                        chosen: other.map(|p| String::from_utf8_lossy(p).into_owned()),
                    }),
                }
            }
        }
    }
}

// ------------------------------------------------------------------ client

/// The client side of HTTP/2 over TLS: trusted roots, ALPN `h2`, SNI, a
/// handshake deadline. Build one and share it (it is cheap to clone): the
/// configuration keeps TLS session tickets for resumption.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use h2actor::TlsClient;
/// let tls = TlsClient::with_system_roots()?;
/// let tcp = tokio::net::TcpStream::connect("example.com:443").await?;
/// let stream = tls.connect("example.com", tcp).await?; // ALPN is h2 here
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TlsClient {
    connector: TlsConnector,
    handshake_timeout: Duration,
}

impl fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClient")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl TlsClient {
    /// Verifies servers against the system's trusted roots (on Debian the
    /// `ca-certificates` bundle; `SSL_CERT_FILE` / `SSL_CERT_DIR` override,
    /// read by the `rustls-native-certs` crate). Fails with
    /// [`TlsError::NoSystemRoots`] when none can be loaded.
    pub fn with_system_roots() -> Result<Self, TlsError> {
        let found = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            let why = if found.errors.is_empty() {
                "none found".to_owned()
            } else {
                found
                    .errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            return Err(TlsError::NoSystemRoots(why));
        }
        Self::with_roots(roots)
    }

    /// Verifies servers against the CA certificates of a PEM file only
    /// (for a self-signed server certificate: that certificate itself).
    ///
    /// As with `curl --cacert`, a self-signed certificate that carries
    /// `CA:TRUE` (what `openssl req -x509 -newkey ...` makes) may be both
    /// the trusted certificate and the server's own: it is accepted when
    /// the server presents exactly a certificate of this file, still for
    /// its name (DNS or IP entries) and within its validity period. Any
    /// other certificate must be issued by one in the file.
    ///
    /// A certificate refused fails [`connect`](Self::connect) with
    /// [`TlsError::ServerCertificate`], whose message says why ("the
    /// server's certificate is not valid for the name 127.0.0.1", "... has
    /// expired", "... is signed by an unknown authority ...").
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use h2actor::TlsClient;
    /// // openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
    /// //   -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1
    /// let tls = TlsClient::with_ca_file("cert.pem")?;
    /// let tcp = tokio::net::TcpStream::connect("127.0.0.1:8443").await?;
    /// let stream = tls.connect("localhost", tcp).await?;
    /// # let _ = stream; Ok(()) }
    /// ```
    pub fn with_ca_file(path: impl AsRef<Path>) -> Result<Self, TlsError> {
        let path = path.as_ref();
        let pem = read_file("CA", path)?;
        Self::ca_pem(&pem, &path.display().to_string())
    }

    /// As [`with_ca_file`](Self::with_ca_file), from PEM text in memory.
    pub fn with_ca_pem(pem: &[u8]) -> Result<Self, TlsError> {
        Self::ca_pem(pem, "the given CA PEM")
    }

    fn ca_pem(pem: &[u8], origin: &str) -> Result<Self, TlsError> {
        let anchors = parse_certs(pem, origin)?;
        let mut roots = RootCertStore::empty();
        for cert in &anchors {
            roots.add(cert.clone()).map_err(TlsError::Config)?;
        }
        let provider = provider();
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| TlsError::Config(rustls::Error::General(e.to_string())))?;
        let verifier = Arc::new(verify::AnchorVerifier::new(webpki, anchors));
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Self::from_config(Arc::new(config)))
    }

    fn with_roots(roots: RootCertStore) -> Result<Self, TlsError> {
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self::from_config(Arc::new(config)))
    }

    /// **Tests only: accepts any server certificate**, whoever issued it and
    /// whatever name it carries, so anyone on the path can read and change
    /// the traffic. The handshake signatures are still checked (the server
    /// must hold the key of the certificate it shows). Logs a warning.
    pub fn dangerous_no_verification() -> Self {
        tracing::warn!("TLS server certificates are NOT verified (dangerous_no_verification)");
        let provider = provider();
        let verifier = Arc::new(NoCertificateVerification(provider.clone()));
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Self::from_config(Arc::new(config))
    }

    /// A rustls configuration of your own (client certificates, other
    /// roots...). Its ALPN list is replaced by `h2` alone.
    pub fn from_config(config: Arc<ClientConfig>) -> Self {
        let config = if config.alpn_protocols == [ALPN_H2] {
            config
        } else {
            let mut config = Arc::unwrap_or_clone(config);
            config.alpn_protocols = vec![ALPN_H2.to_vec()];
            Arc::new(config)
        };
        TlsClient {
            connector: TlsConnector::from(config),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// How long one handshake may take ([`DEFAULT_HANDSHAKE_TIMEOUT`], 10
    /// s, unless set); beyond it [`connect`](Self::connect) fails with
    /// [`TlsError::Timeout`]. A [`Client`](crate::client::Client) given
    /// this configuration uses it too, within its `connect_timeout`.
    pub fn handshake_timeout(mut self, limit: Duration) -> Self {
        self.handshake_timeout = limit;
        self
    }

    /// Runs the client side of a TLS handshake on `io` (a connected
    /// `tokio::net::TcpStream`, usually). `server_name` is the host of the
    /// URL: a DNS name (sent as SNI and checked against the certificate) or
    /// an IP address (checked against the certificate's IP entries; IPv6
    /// with or without brackets). Fails with [`TlsError::AlpnNotAgreed`]
    /// when the server does not choose `h2`.
    pub async fn connect<IO>(
        &self,
        server_name: &str,
        io: IO,
    ) -> Result<ClientTlsStream<IO>, TlsError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let host = server_name.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| TlsError::InvalidServerName(server_name.to_owned()))?;
        let limit = self.handshake_timeout;
        let stream = match tokio::time::timeout(limit, self.connector.connect(name, io)).await {
            Err(_) => return Err(TlsError::Timeout(limit)),
            Ok(Err(e)) => return Err(handshake_error(e, host)),
            Ok(Ok(stream)) => stream,
        };
        match stream.get_ref().1.alpn_protocol() {
            Some(p) if p == ALPN_H2 => Ok(stream),
            other => Err(TlsError::AlpnNotAgreed {
                chosen: other.map(|p| String::from_utf8_lossy(p).into_owned()),
            }),
        }
    }
}

/// A failed client handshake: a refused server certificate as
/// [`TlsError::ServerCertificate`], anything else as
/// [`TlsError::Handshake`].
fn handshake_error(e: io::Error, server: &str) -> TlsError {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(error)) => TlsError::ServerCertificate {
            server: server.to_owned(),
            error: error.clone(),
        },
        _ => TlsError::Handshake(e),
    }
}

/// The verifier of [`TlsClient::dangerous_no_verification`]: any
/// certificate passes, signatures are still verified.
#[derive(Debug)]
struct NoCertificateVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoCertificateVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
