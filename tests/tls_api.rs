//! `TlsServer` / `TlsClient` without external programs: the errors a user
//! sees for bad files, trust by CA file, the dangerous opt-out, ALPN
//! refusals seen from a rustls client, the handshake deadline, certificate
//! reload, and a whole HTTP/2 exchange over TLS on loopback.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use h2actor::prelude::*;
use h2actor::transport::tls::{rustls, TlsError, ALPN_H2};
use h2actor::{TlsClient, TlsServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A fresh temp dir, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "h2actor-tls-api-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("temp dir");
        Dir(path)
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A self-signed certificate for localhost/127.0.0.1 with its own subject name.
struct Cert {
    cert_pem: String,
    key_pem: String,
}

impl Cert {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("names");
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("h2actor tls_api {}", N.fetch_add(1, Ordering::Relaxed)),
        );
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("self-signed");
        Cert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
    fn server(&self) -> TlsServer {
        TlsServer::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes()).expect("server")
    }
    fn client(&self) -> TlsClient {
        TlsClient::with_ca_pem(self.cert_pem.as_bytes()).expect("client")
    }
}

/// A self-signed certificate for `names`, valid from `from` to `until`
/// (`(year, month, day)`), with `CA:TRUE` when `ca` (what
/// `openssl req -x509 -newkey ...` makes).
fn cert_with(names: &[&str], ca: bool, from: (i32, u8, u8), until: (i32, u8, u8)) -> Cert {
    static N: AtomicU32 = AtomicU32::new(0);
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names).expect("names");
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("h2actor tls_api ca {}", N.fetch_add(1, Ordering::Relaxed)),
    );
    if ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    params.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
    params.not_after = rcgen::date_time_ymd(until.0, until.1, until.2);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed");
    Cert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// What `client` gets connecting as `name` to a server showing `server`'s
/// certificate.
fn handshake_as(server: &Cert, client: TlsClient, name: &'static str) -> Result<(), TlsError> {
    let server = Arc::new(server.server());
    rt().block_on(async {
        let (_, c) =
            one_handshake(server, |tcp| async move { client.connect(name, tcp).await }).await;
        c.map(|_| ())
    })
}

const LOCAL: &[&str] = &["localhost", "127.0.0.1"];
const LONG_AGO: (i32, u8, u8) = (2000, 1, 1);
const FAR_AHEAD: (i32, u8, u8) = (2090, 1, 1);

/// Item 4 of issue 15: a `CA:TRUE` self-signed certificate, the server's
/// own and the client's only trusted one, is accepted (as by
/// `curl --cacert`); webpki alone refused it with `CaUsedAsEndEntity`.
#[test]
fn a_ca_true_self_signed_certificate_is_accepted_as_its_own_anchor() {
    let cert = cert_with(LOCAL, true, LONG_AGO, FAR_AHEAD);
    handshake_as(&cert, cert.client(), "localhost").expect("by DNS name");
    handshake_as(&cert, cert.client(), "127.0.0.1").expect("by IP address");
    // Beside other trusted certificates in the file.
    let other = Cert::new();
    let both = format!("{}{}", other.cert_pem, cert.cert_pem);
    let client = TlsClient::with_ca_pem(both.as_bytes()).expect("two anchors");
    handshake_as(&cert, client, "localhost").expect("one of two anchors");
}

/// ... but only when it is itself trusted, for its names, in its time.
#[test]
fn a_ca_true_certificate_is_still_checked_for_trust_name_and_time() {
    let cert = cert_with(LOCAL, true, LONG_AGO, FAR_AHEAD);
    // Another CA:TRUE certificate trusted instead: refused, in words.
    let e = handshake_as(
        &cert,
        cert_with(LOCAL, true, LONG_AGO, FAR_AHEAD).client(),
        "localhost",
    )
    .expect_err("not this anchor");
    assert_eq!(
        e.to_string(),
        "TLS handshake failed: the server's certificate is a CA certificate (CA:TRUE), \
         not a server certificate, and is not itself one of the trusted certificates"
    );
    // The wrong name.
    let e = handshake_as(&cert, cert.client(), "example.com").expect_err("wrong name");
    assert_eq!(
        e.to_string(),
        "TLS handshake failed: the server's certificate is not valid for the name \
         example.com (it is for localhost, 127.0.0.1)"
    );
    let named = cert_with(&["example.com"], true, LONG_AGO, FAR_AHEAD);
    let e = handshake_as(&named, named.client(), "127.0.0.1").expect_err("wrong address");
    assert_eq!(
        e.to_string(),
        "TLS handshake failed: the server's certificate is not valid for the name \
         127.0.0.1 (it is for example.com)"
    );
    // Expired, and not valid yet.
    let old = cert_with(LOCAL, true, LONG_AGO, (2001, 1, 1));
    let e = handshake_as(&old, old.client(), "localhost").expect_err("expired");
    assert_eq!(
        e.to_string(),
        "TLS handshake failed: the server's certificate has expired (valid until \
         2001-01-01 00:00:00 UTC)"
    );
    let young = cert_with(LOCAL, true, (2089, 1, 1), FAR_AHEAD);
    let e = handshake_as(&young, young.client(), "localhost").expect_err("not yet");
    assert_eq!(
        e.to_string(),
        "TLS handshake failed: the server's certificate is not valid yet (valid from \
         2089-01-01 00:00:00 UTC)"
    );
    match e {
        TlsError::ServerCertificate { server, error } => {
            assert_eq!(server, "localhost");
            assert!(
                matches!(error, rustls::CertificateError::NotValidYetContext { .. }),
                "{error:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// The same words for an ordinary (`CA:FALSE`) certificate that expired.
#[test]
fn an_expired_server_certificate_says_so() {
    let old = cert_with(LOCAL, false, LONG_AGO, (2001, 1, 1));
    let e = handshake_as(&old, old.client(), "localhost").expect_err("expired");
    assert_eq!(
        e.to_string(),
        "TLS handshake failed: the server's certificate has expired (valid until \
         2001-01-01 00:00:00 UTC)"
    );
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Accepts one connection with `server` and returns what `accept` gave,
/// while `client` runs against it. Both under a 10 s deadline.
async fn one_handshake<C, F, T>(
    server: Arc<TlsServer>,
    client: C,
) -> (
    Result<h2actor::transport::tls::ServerTlsStream<TcpStream>, TlsError>,
    T,
)
where
    C: FnOnce(TcpStream) -> F,
    F: std::future::Future<Output = T>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accept = async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        server.accept(tcp).await
    };
    let connect = async move {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        client(tcp).await
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(accept, connect)
    })
    .await
    .expect("handshake within 10 s")
}

#[test]
fn bad_files_give_errors_that_name_them() {
    let dir = Dir::new();
    let cert = Cert::new();
    let cert_file = dir.write("cert.pem", &cert.cert_pem);
    let key_file = dir.write("key.pem", &cert.key_pem);
    let missing = dir.0.join("nope.pem");

    let e = TlsServer::from_pem_files(&missing, &key_file).unwrap_err();
    assert!(
        matches!(
            e,
            TlsError::ReadFile {
                what: "certificate",
                ..
            }
        ),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with("cannot read certificate file ") && msg.contains("nope.pem"),
        "{msg}"
    );

    let e = TlsServer::from_pem_files(&cert_file, &missing).unwrap_err();
    assert!(
        e.to_string().starts_with("cannot read private key file "),
        "{e}"
    );

    // The key file given as the certificate: no certificate in it.
    let e = TlsServer::from_pem_files(&key_file, &key_file).unwrap_err();
    assert!(matches!(e, TlsError::NoCertificate { .. }), "{e:?}");
    assert!(e.to_string().contains("key.pem"), "{e}");

    // The certificate given as the key: no key in it.
    let e = TlsServer::from_pem_files(&cert_file, &cert_file).unwrap_err();
    assert!(matches!(e, TlsError::NoPrivateKey { .. }), "{e:?}");
    assert!(e.to_string().contains("cert.pem"), "{e}");

    // A section cut short.
    let cut = dir.write("cut.pem", &cert.cert_pem[..cert.cert_pem.len() - 30]);
    let e = TlsServer::from_pem_files(&cut, &key_file).unwrap_err();
    assert!(matches!(e, TlsError::BadPem { .. }), "{e:?}");

    // Another certificate's key.
    let other = Cert::new();
    let e = TlsServer::from_pem(cert.cert_pem.as_bytes(), other.key_pem.as_bytes()).unwrap_err();
    assert!(matches!(e, TlsError::Config(_)), "{e:?}");

    // A CA file that is missing, or holds no certificate.
    let e = TlsClient::with_ca_file(&missing).unwrap_err();
    assert!(e.to_string().starts_with("cannot read CA file "), "{e}");
    let e = TlsClient::with_ca_file(&key_file).unwrap_err();
    assert!(matches!(e, TlsError::NoCertificate { .. }), "{e:?}");

    // And the good pair loads.
    TlsServer::from_pem_files(&cert_file, &key_file).expect("good pair");
    TlsClient::with_ca_file(&cert_file).expect("good CA");
}

#[test]
fn ca_file_trusts_its_server_only_and_checks_the_name() {
    let cert = Cert::new();
    let server = Arc::new(cert.server());
    rt().block_on(async {
        let client = cert.client();
        let (s, c) = one_handshake(server.clone(), |tcp| async move {
            client.connect("localhost", tcp).await
        })
        .await;
        let c = c.expect("trusted by its CA");
        assert_eq!(c.get_ref().1.alpn_protocol(), Some(ALPN_H2));
        assert_eq!(
            s.expect("server side").get_ref().1.alpn_protocol(),
            Some(ALPN_H2)
        );

        // Another CA: refused.
        let other = Cert::new().client();
        let (_, c) = one_handshake(server.clone(), |tcp| async move {
            other.connect("localhost", tcp).await
        })
        .await;
        let e = c.expect_err("another CA");
        assert!(matches!(e, TlsError::ServerCertificate { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "TLS handshake failed: the server's certificate is signed by an unknown \
             authority (none of the trusted certificates issued it)"
        );

        // The right CA, the wrong name.
        let client = cert.client();
        let (_, c) = one_handshake(server.clone(), |tcp| async move {
            client.connect("example.com", tcp).await
        })
        .await;
        let e = c.expect_err("wrong name");
        assert_eq!(
            e.to_string(),
            "TLS handshake failed: the server's certificate is not valid for the name \
             example.com (it is for localhost, 127.0.0.1)"
        );

        // An IPv6 literal in brackets (a URL's host) is a name: checked
        // against the certificate, which has no ::1.
        let client = cert.client();
        let (_, c) = one_handshake(server.clone(), |tcp| async move {
            client.connect("[::1]", tcp).await
        })
        .await;
        let e = c.expect_err("::1 is not in the certificate");
        assert!(
            e.to_string().contains(
                "certificate is not valid for the name ::1 (it is for localhost, 127.0.0.1)"
            ),
            "{e}"
        );

        // Garbage is no name.
        let client = cert.client();
        let (_, c) = one_handshake(server.clone(), |tcp| async move {
            client.connect("bad name!", tcp).await
        })
        .await;
        assert!(matches!(c, Err(TlsError::InvalidServerName(_))), "{c:?}");
    });
}

#[test]
fn dangerous_no_verification_accepts_any_certificate() {
    let cert = Cert::new();
    let server = Arc::new(cert.server());
    rt().block_on(async {
        let client = TlsClient::dangerous_no_verification();
        let (s, c) = one_handshake(server, |tcp| async move {
            client.connect("not-the-name.example", tcp).await
        })
        .await;
        assert!(s.is_ok() && c.is_ok(), "{s:?} {:?}", c.err());
    });
}

#[test]
fn system_roots_load_and_refuse_a_self_signed_server() {
    // Debian's ca-certificates (.ci/run installs it).
    let client = TlsClient::with_system_roots().expect("system roots");
    let server = Arc::new(Cert::new().server());
    rt().block_on(async {
        let (_, c) = one_handshake(server, |tcp| async move {
            client.connect("localhost", tcp).await
        })
        .await;
        let e = c.expect_err("self-signed is not in the system roots");
        assert!(
            e.to_string().contains("signed by an unknown authority"),
            "{e}"
        );
    });
}

/// A rustls client config (ring) trusting `cert`, offering `alpn`.
fn rustls_client(cert: &Cert, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).unwrap())
        .unwrap();
    let mut config =
        rustls::ClientConfig::builder_with_provider(h2actor::transport::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// RFC 7301 §3.2: no overlap, or no ALPN at all, gets the fatal alert
/// no_application_protocol; the server returns a typed error.
#[test]
fn a_client_without_h2_gets_no_application_protocol() {
    let cert = Cert::new();
    let server = Arc::new(cert.server());
    let offers: [&[&[u8]]; 3] = [&[], &[b"http/1.1"], &[b"http/1.1", b"spdy/3"]];
    rt().block_on(async {
        for alpn in offers {
            let connector = rustls_client(&cert, alpn);
            let (s, c) = one_handshake(server.clone(), |tcp| async move {
                let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                connector.connect(name, tcp).await
            })
            .await;
            let e = c.expect_err("refused");
            let alert = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .cloned();
            assert_eq!(
                alert,
                Some(rustls::Error::AlertReceived(
                    rustls::AlertDescription::NoApplicationProtocol
                )),
                "offer {alpn:?}: {e}"
            );
            match (alpn.is_empty(), s) {
                (true, Err(TlsError::NoAlpnOffered)) => {}
                (false, Err(TlsError::AlpnMismatch { offered })) => {
                    assert_eq!(offered.len(), alpn.len());
                    assert_eq!(offered[0], "http/1.1");
                }
                (_, other) => panic!("offer {alpn:?}: server gave {other:?}"),
            }
        }
    });
}

/// A server that does not choose h2 (nothing configured): our client says so.
#[test]
fn client_refuses_a_server_that_does_not_choose_h2() {
    let cert = Cert::new();
    use rustls::pki_types::pem::PemObject;
    let certs =
        vec![rustls::pki_types::CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).unwrap()];
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(h2actor::transport::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let client = cert.client();
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serve = async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut s = acceptor.accept(tcp).await.expect("plain rustls server");
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf).await;
        };
        let connect = async move {
            let tcp = TcpStream::connect(addr).await.unwrap();
            client.connect("localhost", tcp).await
        };
        let (_, c) = tokio::join!(serve, connect);
        let e = c.expect_err("no h2");
        assert!(
            matches!(e, TlsError::AlpnNotAgreed { chosen: None }),
            "{e:?}"
        );
        assert!(e.to_string().contains("did not agree to HTTP/2"), "{e}");
    });

    // And TlsServer::from_config forces h2 on a config that had none.
    let forced = TlsServer::from_config(Arc::new(
        rustls::ServerConfig::builder_with_provider(h2actor::transport::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![
                    rustls::pki_types::CertificateDer::from_pem_slice(cert.cert_pem.as_bytes())
                        .unwrap(),
                ],
                rustls::pki_types::PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
    ));
    assert_eq!(forced.config().alpn_protocols, vec![ALPN_H2.to_vec()]);
}

#[test]
fn handshake_deadline_ends_a_silent_or_slow_client() {
    let server = Arc::new(
        Cert::new()
            .server()
            .handshake_timeout(Duration::from_millis(200)),
    );
    rt().block_on(async {
        let started = Instant::now();
        // Connects, sends half a record header, then nothing.
        let (s, mut tcp) = one_handshake(server, |mut tcp| async move {
            tcp.write_all(&[22, 3, 1]).await.unwrap();
            tcp
        })
        .await;
        assert!(matches!(s, Err(TlsError::Timeout(_))), "{s:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        // The server dropped the socket: EOF (or reset) on the client.
        let mut buf = [0u8; 8];
        let n = tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf))
            .await
            .expect("closed in time");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    });
}

/// Not TLS at all (an h2c preface on a TLS port): a clean error, no hang.
#[test]
fn plaintext_on_a_tls_port_is_a_handshake_error() {
    let server = Arc::new(Cert::new().server());
    rt().block_on(async {
        let (s, _) = one_handshake(server, |mut tcp| async move {
            tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                .await
                .unwrap();
            let mut buf = Vec::new();
            let _ = tcp.read_to_end(&mut buf).await;
        })
        .await;
        assert!(matches!(s, Err(TlsError::Handshake(_))), "{s:?}");
    });
}

#[test]
fn reload_swaps_the_certificate_for_new_handshakes() {
    let dir = Dir::new();
    let (a, b) = (Cert::new(), Cert::new());
    let (a_cert, a_key) = (
        dir.write("a.pem", &a.cert_pem),
        dir.write("a.key", &a.key_pem),
    );
    let (b_cert, b_key) = (
        dir.write("b.pem", &b.cert_pem),
        dir.write("b.key", &b.key_pem),
    );
    let server = Arc::new(TlsServer::from_pem_files(&a_cert, &a_key).unwrap());
    rt().block_on(async {
        let trusts_b = b.client();
        let (_, c) = one_handshake(server.clone(), |tcp| async move {
            trusts_b.connect("localhost", tcp).await
        })
        .await;
        assert!(c.is_err(), "A is served, the client trusts B only");

        // A failed reload keeps the old certificate.
        let e = server.reload_pem_files(&b_cert, &a_key).unwrap_err();
        assert!(matches!(e, TlsError::Config(_)), "{e:?}");
        let trusts_a = a.client();
        let (_, c) = one_handshake(server.clone(), |tcp| async move {
            trusts_a.connect("localhost", tcp).await
        })
        .await;
        assert!(c.is_ok(), "still A: {:?}", c.err());

        server.reload_pem_files(&b_cert, &b_key).expect("reload B");
        let trusts_b = b.client();
        let (_, c) = one_handshake(server.clone(), |tcp| async move {
            trusts_b.connect("localhost", tcp).await
        })
        .await;
        assert!(c.is_ok(), "B after reload: {:?}", c.err());
        assert_eq!(server.config().alpn_protocols, vec![ALPN_H2.to_vec()]);
    });
}

// ------------------------------------------- a whole exchange, both sides ours

struct Hello;
impl Actor for Hello {
    type Context = Context<Self>;
}
impl Handler<RecvHeaders> for Hello {
    type Result = ();
    fn handle(&mut self, req: RecvHeaders, _: &mut Context<Self>) {
        let scheme = match &req.head {
            Head::Request(r) => r.uri().scheme_str().unwrap_or("-").to_owned(),
            Head::Response(_) => "-".to_owned(),
        };
        let body = format!("hello over {scheme}\n");
        req.stream
            .do_send(SendMessage::new(http::Response::new(())).body(body));
    }
}

struct Collect(Option<tokio::sync::oneshot::Sender<Vec<u8>>>, Vec<u8>);
impl Actor for Collect {
    type Context = Context<Self>;
}
impl Handler<RecvHeaders> for Collect {
    type Result = ();
    fn handle(&mut self, _: RecvHeaders, _: &mut Context<Self>) {}
}
impl Handler<RecvData> for Collect {
    type Result = ();
    fn handle(&mut self, msg: RecvData, _: &mut Context<Self>) {
        self.1.extend_from_slice(&msg.data);
        if msg.end_stream {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(std::mem::take(&mut self.1));
            }
        }
    }
}

/// `ListenerBuilder::tls` and `TlsClient` + `Connection`: a request over TLS,
/// its `:scheme` https, and a GOAWAY/close_notify ending both sides.
#[test]
fn listener_with_tls_and_client_connection() {
    let cert = Cert::new();
    let server = Arc::new(cert.server());
    let client = cert.client();
    actix::System::new().block_on(async move {
        let listener = Listener::builder("127.0.0.1:0".parse().unwrap())
            .threads(1)
            .tls(server)
            .start(|_| Subscriber::new(&Hello.start()))
            .expect("bind");
        let addr = listener.local_addr();
        let body = tokio::time::timeout(Duration::from_secs(10), async move {
            let tcp = TcpStream::connect(addr).await.unwrap();
            let tls = client.connect("localhost", tcp).await.expect("TLS");
            let (tx, rx) = tokio::sync::oneshot::channel();
            let collect = Collect(Some(tx), Vec::new()).start();
            let conn = Connection::builder(Role::Client)
                .start(tls, Subscriber::new(&collect).data(&collect));
            let req = http::Request::get(format!("https://localhost:{}/", addr.port()))
                .body(())
                .unwrap();
            conn.send(SendRequest::new(req)).await.unwrap().unwrap();
            let body = rx.await.unwrap();
            conn.do_send(Close {
                code: ErrorCode::NO_ERROR,
            });
            body
        })
        .await
        .expect("in time");
        assert_eq!(body, b"hello over https\n");
        drop(listener);
    });
}

/// When the server connection ends (here after the client's GOAWAY) its
/// writer shuts the TLS stream down: close_notify, then FIN. A client
/// reading to the end sees a clean EOF; without close_notify rustls would
/// report an unexpected EOF (a possible truncation).
#[test]
fn server_connection_ends_with_close_notify() {
    let cert = Cert::new();
    let server = Arc::new(cert.server());
    let connector = rustls_client(&cert, &[b"h2"]);
    actix::System::new().block_on(async move {
        let listener = Listener::builder("127.0.0.1:0".parse().unwrap())
            .threads(1)
            .tls(server)
            .start(|_| Subscriber::new(&Hello.start()))
            .expect("bind");
        let addr = listener.local_addr();
        let read = tokio::time::timeout(Duration::from_secs(10), async move {
            let tcp = TcpStream::connect(addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, tcp).await.expect("TLS");
            let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
            out.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // SETTINGS
            out.extend_from_slice(&[0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // GOAWAY
            tls.write_all(&out).await.unwrap();
            let mut got = Vec::new();
            let end = tls.read_to_end(&mut got).await;
            (end, got)
        })
        .await
        .expect("the server closes in time");
        let (end, got) = read;
        assert!(end.is_ok(), "clean TLS end expected, got {end:?}");
        // HTTP/2 went both ways: its SETTINGS came first.
        assert_eq!(got.get(3), Some(&4), "{got:?}");
        drop(listener);
    });
}
