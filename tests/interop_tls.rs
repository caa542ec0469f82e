//! HTTP/2 over TLS (RFC 9113 §3.2, ALPN "h2") against real peers: curl,
//! nghttp, openssl s_client, nghttpd, Node's `http2`, the `h2` crate over
//! tokio-rustls, and our own client. Certificates are made with rcgen for
//! `localhost` and `127.0.0.1` in a temp dir; the test server
//! (`support/site.rs`) serves with them, as `server --cert --key` does; the
//! example server binary's own `--tls` certificate is checked by running it.

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2actor::transport::tls::rustls;
use h2actor::{TlsClient, TlsServer};
use http::{Method, Request, StatusCode, Uri};
use support::client::{self, Exchange, Job, Options};
use support::harness::{self, Need::Check, Need::Program};
use support::{
    curl_body_and_meta, example_client_built, example_path, run, site, tool, Cert, TempDir,
    TestServer,
};

const LIMIT: Duration = Duration::from_secs(30);

fn start(cert: &Cert) -> TestServer {
    TestServer::start_tls(1, cert.server())
}

/// The example server binary with `--tls` (a self-signed certificate of its
/// own, for localhost), as a user runs it, and the certificate it says it
/// wrote.
fn example_server_tls() -> (support::ExampleServer, std::path::PathBuf) {
    let server = support::ExampleServer::start(&["--tls"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = server.log();
        let said = "self-signed certificate for localhost written to ";
        if let Some(path) = log.lines().find_map(|line| line.strip_prefix(said)) {
            let path = path.strip_suffix(" (removed on exit)").unwrap_or(path);
            return (server, path.into());
        }
        assert!(Instant::now() < deadline, "no certificate path in:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const EXAMPLE_SERVER: harness::Need =
    Check("the example server binary", support::example_server_built);

fn https(addr: SocketAddr, path: &str) -> String {
    format!("https://localhost:{}{path}", addr.port())
}

/// curl over TLS, `localhost` pinned to 127.0.0.1; returns (body, "STATUS VERSION").
fn curl(cert: &Cert, addr: SocketAddr, args: &[&str]) -> (Vec<u8>, String) {
    let resolve = format!("localhost:{}:127.0.0.1", addr.port());
    let mut cmd = Command::new(tool("curl"));
    cmd.args(["--http2", "--max-time", "20", "--resolve", &resolve])
        .arg("--cacert")
        .arg(&cert.cert)
        .args(args);
    curl_body_and_meta(&mut cmd, LIMIT)
}

fn curl_http2_get_and_post_over_tls() {
    let cert = Cert::new();
    let server = start(&cert);
    let (body, meta) = curl(&cert, server.addr, &[&https(server.addr, "/")]);
    assert_eq!(meta, "200 2", "status and HTTP version");
    assert_eq!(body, site::HELLO);

    let data = support::test_body(300_000);
    let file = cert.dir.write("post.bin", &data);
    let arg = format!("@{}", file.display());
    let url = https(server.addr, "/echo");
    let (body, meta) = curl(&cert, server.addr, &["--data-binary", &arg, &url]);
    assert_eq!(meta, "200 2");
    assert!(
        body == data,
        "echoed {} of {} bytes",
        body.len(),
        data.len()
    );
}

/// The same through the library's `Listener` with `.tls(..)` (2 arbiters), with
/// two requests on one connection (curl reuses TLS h2 connections: the
/// second transfer makes no new connect).
fn curl_over_tls_listener_two_threads() {
    let cert = Cert::new();
    let server = TestServer::start_tls(2, cert.server());
    let resolve = format!("localhost:{}:127.0.0.1", server.addr.port());
    let (a, b) = (cert.dir.0.join("a"), cert.dir.0.join("b"));
    let out = run(
        Command::new(tool("curl"))
            .args(["-sS", "--http2", "--max-time", "20", "--resolve", &resolve])
            .arg("--cacert")
            .arg(&cert.cert)
            .args(["-w", "%{http_code} %{http_version} %{num_connects}\n"])
            .arg("-o")
            .arg(&a)
            .arg(https(server.addr, "/"))
            .arg("-o")
            .arg(&b)
            .arg(https(server.addr, "/bytes/100000")),
        LIMIT,
    );
    assert!(out.status.success(), "curl failed: {}", out.stderr);
    assert_eq!(out.stdout_str(), "200 2 1\n200 2 0\n");
    assert_eq!(std::fs::read(&a).expect("a"), site::HELLO);
    assert_eq!(std::fs::read(&b).expect("b").len(), 100_000);
}

/// A client offering only `http/1.1` gets the alert no_application_protocol
/// (RFC 7301 §3.2), not a hang and not an HTTP/1.1 answer.
fn curl_http11_only_gets_no_application_protocol() {
    let cert = Cert::new();
    let server = start(&cert);
    let resolve = format!("localhost:{}:127.0.0.1", server.addr.port());
    let started = Instant::now();
    let out = run(
        Command::new(tool("curl"))
            .args([
                "-sS",
                "--http1.1",
                "--max-time",
                "10",
                "--resolve",
                &resolve,
            ])
            .arg("--cacert")
            .arg(&cert.cert)
            .arg(https(server.addr, "/")),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(35), "curl: {}", out.stderr);
    assert!(
        out.stderr.contains("no application protocol"),
        "curl said: {}",
        out.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused at once"
    );
    assert!(out.stdout.is_empty());
}

/// `openssl s_client` with ALPN `http/1.1` and with no ALPN at all: both get
/// the alert (rustls alone lets a client without ALPN through).
fn openssl_no_alpn_and_http11_get_the_alert() {
    let cert = Cert::new();
    let server = start(&cert);
    let connect = format!("127.0.0.1:{}", server.addr.port());
    for alpn in [None, Some("http/1.1"), Some("http/1.1,spdy/3")] {
        let mut cmd = Command::new(tool("openssl"));
        cmd.args(["s_client", "-connect", &connect, "-servername", "localhost"]);
        if let Some(alpn) = alpn {
            cmd.args(["-alpn", alpn]);
        }
        let out = run(&mut cmd, LIMIT);
        let all = format!("{}{}", out.stderr, out.stdout_str());
        assert!(
            all.contains("alert no application protocol") && all.contains("alert number 120"),
            "ALPN {alpn:?}: openssl said:\n{all}"
        );
        assert!(!out.status.success(), "ALPN {alpn:?}: s_client succeeded");
    }
    // And with h2 offered the handshake completes with ALPN h2.
    let out = run(
        Command::new(tool("openssl"))
            .args(["s_client", "-connect", &connect, "-servername", "localhost"])
            .args(["-alpn", "h2", "-CAfile"])
            .arg(&cert.cert),
        LIMIT,
    );
    let text = out.stdout_str();
    assert!(
        text.contains("ALPN protocol: h2"),
        "openssl said:\n{text}{}",
        out.stderr
    );
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
}

/// nghttp (it does not verify certificates) over TLS: GET, a download, a POST.
fn nghttp_over_tls() {
    let cert = Cert::new();
    let server = start(&cert);
    let base = format!("https://127.0.0.1:{}", server.addr.port());
    let out = run(Command::new(tool("nghttp")).arg(format!("{base}/")), LIMIT);
    assert!(out.status.success(), "nghttp: {}", out.stderr);
    assert_eq!(out.stdout, site::HELLO);

    let out = run(
        Command::new(tool("nghttp")).arg(format!("{base}/bytes/1000000")),
        LIMIT,
    );
    assert!(out.status.success(), "nghttp: {}", out.stderr);
    assert_eq!(out.stdout.len(), 1_000_000);
    assert!(out
        .stdout
        .iter()
        .enumerate()
        .all(|(i, &b)| b == site::pattern_byte(i as u64)));

    let data = support::test_body(200_000);
    let file = cert.dir.write("upload.bin", &data);
    let out = run(
        Command::new(tool("nghttp"))
            .arg("-d")
            .arg(&file)
            .arg(format!("{base}/echo")),
        LIMIT,
    );
    assert!(out.status.success(), "nghttp: {}", out.stderr);
    assert!(out.stdout == data, "echoed {} bytes", out.stdout.len());

    // -v shows the negotiated protocol.
    let out = run(
        Command::new(tool("nghttp")).args(["-v", &format!("{base}/")]),
        LIMIT,
    );
    let text = out.stdout_str();
    assert!(text.contains("The negotiated protocol: h2"), "{text}");
}

/// Our client (`support/client.rs`) over `TlsClient` to `addr`,
/// with `server_name` as SNI.
fn fetch_tls(
    addr: SocketAddr,
    tls: TlsClient,
    server_name: &'static str,
    jobs: Vec<Job>,
) -> Vec<Exchange> {
    support::in_actix(LIMIT, async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let _ = tcp.set_nodelay(true);
        let stream = tls.connect(server_name, tcp).await.expect("TLS handshake");
        client::fetch(stream, jobs, Options::default()).await
    })
}

fn uri(addr: SocketAddr, path: &str) -> Uri {
    format!("https://localhost:{}{path}", addr.port())
        .parse()
        .expect("uri")
}

fn ok(ex: &Exchange) {
    assert!(ex.error.is_none(), "stream {}: {:?}", ex.id, ex.error);
    assert_eq!(ex.status, Some(StatusCode::OK), "{} {}", ex.method, ex.path);
}

fn our_client_against_nghttpd_tls() {
    let cert = Cert::new();
    let docs = TempDir::new("nghttpd-tls");
    let file = support::test_body(2 << 20);
    docs.write("data.bin", &file);
    docs.write("index.html", site::HELLO);
    let (_server, addr) = support::nghttpd(&docs, Some(&cert), &[]);
    let got = fetch_tls(
        addr,
        cert.client(),
        "localhost",
        vec![
            Job::get(uri(addr, "/data.bin")),
            Job::get(uri(addr, "/")),
            Job::get(uri(addr, "/missing")),
        ],
    );
    assert_eq!(got.len(), 3);
    ok(&got[0]);
    assert!(got[0].body[..] == file[..], "{} bytes", got[0].body.len());
    ok(&got[1]);
    assert_eq!(&got[1].body[..], site::HELLO);
    assert_eq!(got[2].status, Some(StatusCode::NOT_FOUND));

    // Trusting another CA only, the same server is refused.
    let other = Cert::new();
    let err = support::in_actix(LIMIT, async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        other.client().connect("localhost", tcp).await.err()
    });
    let err = err.expect("an untrusted certificate must fail").to_string();
    assert!(err.contains("is signed by an unknown authority"), "{err}");
}

fn our_client_against_our_tls_server() {
    let cert = Cert::new();
    let server = start(&cert);
    let data = Bytes::from(support::test_body(500_000));
    let got = fetch_tls(
        server.addr,
        cert.client(),
        "localhost",
        vec![
            Job::get(uri(server.addr, "/")),
            Job {
                method: Method::POST,
                uri: uri(server.addr, "/echo"),
                body: Some(data.clone()),
            },
            Job::get(uri(server.addr, "/trailers")),
            Job::get(uri(server.addr, "/push")),
        ],
    );
    // /, /echo, /trailers, /push and the pushed /pushed.css.
    assert_eq!(got.len(), 5, "{got:?}");
    got.iter().for_each(ok);
    assert_eq!(&got[0].body[..], site::HELLO);
    assert!(
        got[1].body[..] == data[..],
        "echo of {} bytes",
        got[1].body.len()
    );
    assert_eq!(
        got[2]
            .trailers
            .as_ref()
            .and_then(|t| t.get("x-trailer-test")),
        Some(&http::HeaderValue::from_static("ok"))
    );
    assert_eq!(&got[3].body[..], site::PUSH_PAGE);
    assert_eq!(got[4].path, site::PUSHED_PATH);
    assert_eq!(&got[4].body[..], site::PUSHED_CSS);

    // By IP address (the certificate has 127.0.0.1 too) and unverified.
    let got = fetch_tls(
        server.addr,
        cert.client(),
        "127.0.0.1",
        vec![Job::get(uri(server.addr, "/"))],
    );
    ok(&got[0]);
    let got = fetch_tls(
        server.addr,
        TlsClient::dangerous_no_verification(),
        "example.invalid",
        vec![Job::get(uri(server.addr, "/"))],
    );
    ok(&got[0]);
}

/// The example client binary end to end (its `main` parses `https://`,
/// `--cacert`, `--insecure`; built by the README's test command).
fn example_client_binary_over_tls() {
    let cert = Cert::new();
    let server = start(&cert);
    let exe = example_path("client");
    let url = format!("https://127.0.0.1:{}/", server.addr.port());
    let out = run(
        Command::new(&exe).arg("--cacert").arg(&cert.cert).arg(&url),
        LIMIT,
    );
    assert!(out.status.success(), "client: {}", out.stderr);
    assert_eq!(out.stdout, site::HELLO, "stdout is the body only");
    // Without --cacert the system roots do not know this certificate.
    let out = run(Command::new(&exe).arg(&url), LIMIT);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr
            .contains("the server's certificate is signed by an unknown authority"),
        "{}",
        out.stderr
    );
    let out = run(Command::new(&exe).arg("--insecure").arg(&url), LIMIT);
    assert!(out.status.success(), "client: {}", out.stderr);
    assert_eq!(out.stdout, site::HELLO);
    // -n: the same trust through the library's Client, 100 requests.
    let out = run(
        Command::new(&exe)
            .args(["-n", "100", "-c", "10", "--cacert"])
            .arg(&cert.cert)
            .arg(&url),
        LIMIT,
    );
    assert!(out.status.success(), "client: {}", out.stderr);
    assert!(out.stdout.is_empty(), "-n prints no body");
    assert!(
        out.stderr
            .contains("requests: 100 total, 100 done, 0 failed"),
        "{}",
        out.stderr
    );
}

/// The `h2` crate's client over tokio-rustls (ALPN h2, our CA) against our server.
fn h2_crate_client_over_tokio_rustls() {
    let cert = Cert::new();
    let server = start(&cert);
    let pem = std::fs::read(&cert.cert).expect("cert");
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.expect("PEM")).expect("root");
    }
    let provider = h2actor::transport::tls::crypto_provider();
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let addr = server.addr;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let run = async {
            let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
            let tls = connector.connect(name, tcp).await.expect("TLS");
            assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
            let (mut client, conn) = h2::client::handshake(tls).await.expect("h2 handshake");
            tokio::spawn(async move {
                let _ = conn.await;
            });
            let url = format!("https://localhost:{}/", addr.port());
            let req = Request::get(&url).body(()).expect("request");
            let (resp, _) = client.send_request(req, true).expect("send");
            let resp = resp.await.expect("response");
            assert_eq!(resp.status(), StatusCode::OK);
            let body = read_body(resp.into_body()).await;
            assert_eq!(body, site::HELLO);

            let data = support::test_body(200_000);
            let req = Request::post(format!("{url}echo"))
                .body(())
                .expect("request");
            let (resp, mut send) = client.send_request(req, false).expect("send");
            let upload = data.clone();
            tokio::spawn(async move {
                for chunk in upload.chunks(16_384) {
                    send.reserve_capacity(chunk.len());
                    loop {
                        match futures::future::poll_fn(|cx| send.poll_capacity(cx)).await {
                            Some(Ok(n)) if n >= chunk.len() => break,
                            Some(Ok(_)) => continue,
                            _ => return,
                        }
                    }
                    if send
                        .send_data(Bytes::copy_from_slice(chunk), false)
                        .is_err()
                    {
                        return;
                    }
                }
                let _ = send.send_data(Bytes::new(), true);
            });
            let resp = resp.await.expect("response");
            assert_eq!(resp.status(), StatusCode::OK);
            let body = read_body(resp.into_body()).await;
            assert!(
                body == data,
                "echoed {} of {} bytes",
                body.len(),
                data.len()
            );
        };
        tokio::time::timeout(LIMIT, run).await.expect("in time");
    });
}

async fn read_body(mut body: h2::RecvStream) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("body chunk");
        let _ = body.flow_control().release_capacity(chunk.len());
        out.extend_from_slice(&chunk);
    }
    out
}

const NODE_CLIENT: &str = r#"
const http2 = require('http2');
const fs = require('fs');
const [url, caFile] = process.argv.slice(2);
const session = http2.connect(url, { ca: fs.readFileSync(caFile) });
session.on('error', (e) => { console.error('session error', e); process.exit(2); });
function request(headers, body) {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined });
    const chunks = [];
    let status = 0;
    req.on('response', (h) => { status = h[':status']; });
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}
(async () => {
  const echoBody = Buffer.alloc(100000);
  for (let i = 0; i < echoBody.length; i++) echoBody[i] = (i * 7) % 251;
  const [root, echo] = await Promise.all([
    request({ ':path': '/' }),
    request({ ':method': 'POST', ':path': '/echo' }, echoBody),
  ]);
  console.log(JSON.stringify({
    alpn: session.alpnProtocol,
    root: { status: root.status, body: root.body.toString() },
    echo: { status: echo.status, same: echo.body.equals(echoBody) },
  }));
  session.close();
})().catch((e) => { console.error(e); process.exit(1); });
"#;

fn node_http2_connect_with_ca() {
    let cert = Cert::new();
    let server = start(&cert);
    let script = cert.dir.write("client.js", NODE_CLIENT.as_bytes());
    // 127.0.0.1, not localhost: Node 20 may try ::1 first, where nothing listens.
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    let out = run(
        Command::new(tool("node"))
            .arg(&script)
            .arg(&url)
            .arg(&cert.cert),
        LIMIT,
    );
    assert!(
        out.status.success(),
        "node: {}{}",
        out.stderr,
        out.stdout_str()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON from node");
    assert_eq!(v["alpn"], "h2");
    assert_eq!(v["root"]["status"], 200);
    assert_eq!(
        v["root"]["body"],
        std::str::from_utf8(site::HELLO).expect("utf8")
    );
    assert_eq!(v["echo"]["status"], 200);
    assert_eq!(v["echo"]["same"], true);

    // Without the CA, Node refuses the self-signed certificate.
    let plain = cert.dir.write(
        "noca.js",
        NODE_CLIENT
            .replace("{ ca: fs.readFileSync(caFile) }", "{}")
            .as_bytes(),
    );
    let out = run(
        Command::new(tool("node")).arg(&plain).arg(&url).arg("-"),
        LIMIT,
    );
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("SELF_SIGNED") || out.stderr.contains("self-signed"),
        "{}",
        out.stderr
    );
}

/// A client that connects and says nothing neither blocks other clients
/// (the handshake runs in a task of its own) nor lives past the handshake
/// deadline.
fn silent_client_neither_blocks_nor_lingers() {
    use std::io::Read;
    let cert = Cert::new();
    let tls = TlsServer::from_pem_files(&cert.cert, &cert.key)
        .expect("config")
        .handshake_timeout(Duration::from_millis(500));
    let server = TestServer::start_tls(1, Arc::new(tls));
    let mut silent = std::net::TcpStream::connect(server.addr).expect("connect");
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let started = Instant::now();
    let (body, meta) = curl(&cert, server.addr, &[&https(server.addr, "/")]);
    assert_eq!(meta, "200 2");
    assert_eq!(body, site::HELLO);
    let mut buf = [0u8; 16];
    let n = silent.read(&mut buf).expect("closed, not timed out");
    assert_eq!(n, 0, "the server closes a silent client");
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(3),
        "closed after {waited:?}, deadline 500 ms"
    );
}

// ------------------------------------- certificates users actually make

/// A self-signed certificate as `openssl req -x509 -newkey rsa:2048
/// -nodes` makes it (with `CA:TRUE`), for the names of `san`
/// (`subjectAltName` syntax).
fn openssl_cert(san: &str) -> Cert {
    let dir = TempDir::new("openssl-cert");
    let (cert, key) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
    let out = run(
        Command::new(tool("openssl"))
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .args(["-days", "30", "-subj", "/CN=localhost", "-addext"])
            .arg(format!("subjectAltName={san}")),
        LIMIT,
    );
    assert!(out.status.success(), "openssl req: {}", out.stderr);
    let text = run(
        Command::new(tool("openssl"))
            .args(["x509", "-noout", "-text", "-in"])
            .arg(&cert),
        LIMIT,
    );
    assert!(
        text.stdout_str().contains("CA:TRUE"),
        "openssl made no CA:TRUE certificate: {}",
        text.stdout_str()
    );
    Cert { dir, cert, key }
}

/// Issue 15 item 4: a certificate from `openssl req -x509` (CA:TRUE),
/// served by our server, is accepted by `TlsClient::with_ca_file` (by name
/// and by address), by a `Client` and by `request_with`. Before, webpki
/// refused it: `invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))`.
fn openssl_ca_true_certificate_is_accepted_by_our_clients() {
    let cert = openssl_cert("DNS:localhost,IP:127.0.0.1");
    let server = start(&cert);
    for name in ["localhost", "127.0.0.1"] {
        let got = fetch_tls(
            server.addr,
            cert.client(),
            name,
            vec![Job::get(uri(server.addr, "/"))],
        );
        ok(&got[0]);
        assert_eq!(&got[0].body[..], site::HELLO);
    }
    // The one-call client, from a thread without a runtime.
    let url = format!("https://127.0.0.1:{}/", server.addr.port());
    let r = futures::executor::block_on(h2actor::request_with(
        h2actor::client::Fetch::get(&url),
        cert.client(),
    ))
    .expect("request_with");
    assert_eq!(r.head.status, StatusCode::OK);
    assert_eq!(&r.body[..], site::HELLO);
    // The supervised client.
    let origin = format!("https://localhost:{}", server.addr.port());
    let tls = cert.client();
    let r = support::in_actix(LIMIT, async move {
        let client = h2actor::client::Client::builder(origin.parse().expect("origin"))
            .tls(tls)
            .start();
        client
            .send(h2actor::client::Fetch::get("/trailers"))
            .await
            .expect("client alive")
    })
    .expect("Client");
    assert_eq!(r.head.status, StatusCode::OK);
    assert_eq!(&r.body[..], site::TRAILERS_BODY);
}

/// The example client's `--cacert` with the same kind of file.
fn example_client_takes_an_openssl_certificate() {
    let cert = openssl_cert("DNS:localhost,IP:127.0.0.1");
    let server = start(&cert);
    let url = format!("https://127.0.0.1:{}/", server.addr.port());
    let out = run(
        Command::new(example_path("client"))
            .arg("--cacert")
            .arg(&cert.cert)
            .arg(&url),
        LIMIT,
    );
    assert!(out.status.success(), "client: {}", out.stderr);
    assert_eq!(out.stdout, site::HELLO);
    // And a certificate for another name says so in words.
    let other = openssl_cert("DNS:example.com");
    let server = start(&other);
    let url = format!("https://127.0.0.1:{}/", server.addr.port());
    let out = run(
        Command::new(example_path("client"))
            .arg("--cacert")
            .arg(&other.cert)
            .arg(&url),
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.contains(
            "TLS handshake failed: the server's certificate is not valid for the name \
             127.0.0.1 (it is for example.com)"
        ),
        "{}",
        out.stderr
    );
}

/// The errors users see, in words: the wrong name, an untrusted CA:TRUE
/// certificate; through `request_with` too (as `FetchError::Connect`).
fn openssl_certificates_that_do_not_fit_give_sentences() {
    let named = openssl_cert("DNS:example.com");
    let server = start(&named);
    let addr = server.addr;
    let tls = named.client();
    let err = support::in_actix(LIMIT, async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tls.connect("127.0.0.1", tcp).await.err()
    })
    .expect("the wrong name must fail");
    assert_eq!(
        err.to_string(),
        "TLS handshake failed: the server's certificate is not valid for the name \
         127.0.0.1 (it is for example.com)"
    );
    let url = format!("https://127.0.0.1:{}/", addr.port());
    let e = futures::executor::block_on(h2actor::request_with(
        h2actor::client::Fetch::get(&url),
        named.client(),
    ))
    .expect_err("the wrong name");
    assert!(
        e.to_string()
            .contains("the server's certificate is not valid for the name 127.0.0.1"),
        "{e}"
    );
    // Trusting another openssl certificate: this one is a CA certificate
    // that is not trusted itself.
    let other = openssl_cert("DNS:localhost,IP:127.0.0.1");
    let tls = other.client();
    let err = support::in_actix(LIMIT, async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tls.connect("localhost", tcp).await.err()
    })
    .expect("an untrusted certificate must fail");
    assert_eq!(
        err.to_string(),
        "TLS handshake failed: the server's certificate is a CA certificate (CA:TRUE), \
         not a server certificate, and is not itself one of the trusted certificates"
    );
}

/// nghttpd (nghttp2 over OpenSSL) serving the openssl certificate: our
/// client trusts it by the file.
fn our_client_against_nghttpd_with_an_openssl_certificate() {
    let cert = openssl_cert("DNS:localhost,IP:127.0.0.1");
    let docs = TempDir::new("nghttpd-openssl");
    docs.write("index.html", site::HELLO);
    let (_server, addr) = support::nghttpd(&docs, Some(&cert), &[]);
    let got = fetch_tls(
        addr,
        cert.client(),
        "localhost",
        vec![Job::get(uri(addr, "/"))],
    );
    ok(&got[0]);
    assert_eq!(&got[0].body[..], site::HELLO);
}

/// The example server's `--tls` certificate: a server certificate by
/// every field (serverAuth, localhost + 127.0.0.1 + ::1, no basic
/// constraints or key usage), which
/// curl takes with `--cacert` and NSS's `certutil` validates for an SSL
/// server, trusted as a peer (`P,,`) or as a CA (`C,,`, how Firefox and
/// Chromium import it). The example server binary with `--tls`.
fn curl_and_certutil_accept_the_example_certificate() {
    let (server, cert) = example_server_tls();
    let text = run(
        Command::new(tool("openssl"))
            .args(["x509", "-noout", "-text", "-in"])
            .arg(&cert),
        LIMIT,
    )
    .stdout_str();
    // No basic constraints: CA:TRUE is refused as a server's own
    // certificate (webpki, Firefox), CA:FALSE as its own issuer by NSS. No
    // key usage: without keyCertSign Chromium refuses it as a CA.
    assert!(!text.contains("Basic Constraints"), "{text}");
    assert!(!text.contains("X509v3 Key Usage"), "{text}");
    for field in [
        "TLS Web Server Authentication",
        "DNS:localhost",
        "IP Address:127.0.0.1",
        "IP Address:0:0:0:0:0:0:0:1",
    ] {
        assert!(text.contains(field), "{field} missing:\n{text}");
    }
    let resolve = format!("localhost:{}:127.0.0.1", server.addr.port());
    let out = run(
        Command::new(tool("curl"))
            .args(["-sS", "--http2", "--max-time", "20", "--resolve", &resolve])
            .arg("--cacert")
            .arg(&cert)
            .arg(https(server.addr, "/")),
        LIMIT,
    );
    assert_eq!(out.stdout, site::HELLO, "curl: {}", out.stderr);
    for trust in ["P,,", "C,,"] {
        let db = TempDir::new("nssdb");
        let db_arg = format!("sql:{}", db.0.display());
        let certutil = |args: &[&str]| {
            let mut cmd = Command::new(tool("certutil"));
            cmd.args(["-d", &db_arg]).args(args);
            run(&mut cmd, LIMIT)
        };
        let out = certutil(&["-N", "--empty-password"]);
        assert!(out.status.success(), "certutil -N: {}", out.stderr);
        let mut add = Command::new(tool("certutil"));
        add.args(["-d", &db_arg, "-A", "-n", "h2actor", "-t", trust, "-i"])
            .arg(&cert);
        let out = run(&mut add, LIMIT);
        assert!(out.status.success(), "certutil -A: {}", out.stderr);
        let out = certutil(&["-V", "-n", "h2actor", "-u", "V"]);
        assert!(
            out.status.success() && out.stdout_str().contains("certificate is valid"),
            "certutil -V with trust {trust}: {} {}",
            out.stdout_str(),
            out.stderr
        );
    }
    let status = server.terminate();
    assert!(status.success(), "SIGTERM: a graceful exit, {status}");
    assert!(
        !cert.exists(),
        "the certificate directory is removed on exit"
    );
}

/// A browser: headless Chromium, with the example's certificate in a fresh
/// NSS database (`$HOME/.pki/nssdb`, where Chromium on Linux reads the
/// user's trust), loads the page over HTTP/2 trusting it as a CA (`C,,`,
/// the usual import) and as a peer (`P,,`); not trusting it, it refuses.
/// The certificate `--tls` made before (rcgen's defaults) passed; one with
/// a key usage lacking keyCertSign failed as `C,,` (ERR_CERT_INVALID).
/// The example server binary with `--tls`.
fn chromium_trusts_the_example_certificate() {
    let (server, cert) = example_server_tls();
    let url = https(server.addr, "/");
    for trust in [Some("C,,"), Some("P,,"), None] {
        let home = TempDir::new("chromium-home");
        let nssdb = home.0.join(".pki").join("nssdb");
        std::fs::create_dir_all(&nssdb).expect("nssdb dir");
        let db = format!("sql:{}", nssdb.display());
        let out = run(
            Command::new(tool("certutil")).args(["-d", &db, "-N", "--empty-password"]),
            LIMIT,
        );
        assert!(out.status.success(), "certutil -N: {}", out.stderr);
        if let Some(trust) = trust {
            let out = run(
                Command::new(tool("certutil"))
                    .args(["-d", &db, "-A", "-n", "h2actor", "-t", trust, "-i"])
                    .arg(&cert),
                LIMIT,
            );
            assert!(out.status.success(), "certutil -A: {}", out.stderr);
        }
        let profile = home.0.join("profile");
        let out = run(
            Command::new(tool("chromium"))
                .env("HOME", &home.0)
                .args(["--headless=new", "--no-sandbox", "--disable-gpu"])
                .args([
                    "--no-first-run",
                    "--host-resolver-rules=MAP localhost 127.0.0.1",
                ])
                .arg(format!("--user-data-dir={}", profile.display()))
                .args(["--dump-dom", &url]),
            Duration::from_secs(60),
        );
        let dom = out.stdout_str();
        match trust {
            Some(trust) => assert!(
                dom.contains("hello world"),
                "trusted as {trust}: {dom}\n{}",
                out.stderr
            ),
            None => {
                assert!(!dom.contains("hello world"), "untrusted yet loaded: {dom}");
                assert!(
                    out.stderr.contains("ERR_CERT_AUTHORITY_INVALID"),
                    "{}",
                    out.stderr
                );
            }
        }
    }
}

fn main() {
    harness::main(harness::tests![
        chromium_trusts_the_example_certificate: [Program("chromium"), Program("certutil"), EXAMPLE_SERVER],
        openssl_ca_true_certificate_is_accepted_by_our_clients: [Program("openssl")],
        example_client_takes_an_openssl_certificate: [Program("openssl"), Check("the example client binary", example_client_built)],
        openssl_certificates_that_do_not_fit_give_sentences: [Program("openssl")],
        our_client_against_nghttpd_with_an_openssl_certificate: [Program("openssl"), Program("nghttpd")],
        curl_and_certutil_accept_the_example_certificate: [Program("openssl"), Program("curl"), Program("certutil"), EXAMPLE_SERVER],
        curl_http2_get_and_post_over_tls: [Program("curl")],
        curl_over_tls_listener_two_threads: [Program("curl")],
        curl_http11_only_gets_no_application_protocol: [Program("curl")],
        openssl_no_alpn_and_http11_get_the_alert: [Program("openssl")],
        nghttp_over_tls: [Program("nghttp")],
        our_client_against_nghttpd_tls: [Program("nghttpd")],
        our_client_against_our_tls_server,
        example_client_binary_over_tls: [Check("the example client binary", example_client_built)],
        h2_crate_client_over_tokio_rustls,
        node_http2_connect_with_ca: [Program("node")],
        silent_client_neither_blocks_nor_lingers: [Program("curl")],
    ]);
}
