//! Shared helpers of the tests: the tests' own server ([`site`]) and
//! client ([`client`]) run in-process, the example binaries run as a user
//! runs them ([`ExampleServer`], [`example_path`]), external tools run with
//! a deadline, temporary directories, child guards.
//!
//! Tools: a target whose tests need an external program (curl, nghttp,
//! nghttpd, h2load, node) is `harness = false` and runs them with
//! [`harness::main`], listing each test's programs; a test whose program is
//! missing shows as ignored with the reason, or FAILS if `CI=true`. The test
//! body finds the program with [`tool`].
#![allow(dead_code)]

// The examples are the code a user copies: no test includes them. The
// tests that check an example run its binary (`example_path`).
pub mod client;
pub mod delay_proxy;
pub mod harness;
pub mod raw_peer;
pub mod site;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Logs to the test's captured output when RUST_LOG is set.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_test_writer()
        .try_init();
}

/// The path of the external program `name`, which the test listed as
/// `Program(name)` (so the harness made sure it is there).
pub fn tool(name: &str) -> PathBuf {
    harness::program(name)
}

/// What a finished program printed.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Output {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Runs `cmd` to completion, killing it (and failing the test) after `limit`.
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
                panic!("{cmd:?} did not finish within {limit:?}; stderr:\n{stderr}");
            }
        }
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned(),
    }
}

/// Runs `curl` (a `Command` already holding the caller's own options and
/// URL) with `-sS -w "\n%{http_code} %{http_version}"`, within `limit`;
/// fails the test if curl fails. Returns the body and "STATUS VERSION"
/// (e.g. "200 2").
#[allow(dead_code)]
pub fn curl_body_and_meta(curl: &mut Command, limit: Duration) -> (Vec<u8>, String) {
    let out = run(
        curl.args(["-sS", "-w", "\n%{http_code} %{http_version}"]),
        limit,
    );
    assert!(out.status.success(), "{curl:?} failed: {}", out.stderr);
    let split = out
        .stdout
        .iter()
        .rposition(|&b| b == b'\n')
        .expect("curl printed the -w line");
    let meta = String::from_utf8_lossy(&out.stdout[split + 1..]).into_owned();
    (out.stdout[..split].to_vec(), meta)
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

/// A background program killed when the guard drops.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `nghttpd` on 127.0.0.1 serving `docs` (h2c by prior knowledge,
/// or TLS with `cert`), with `extra` options (e.g. `-p/=/style.css`), and
/// waits until it listens.
#[allow(dead_code)]
pub fn nghttpd(docs: &TempDir, tls: Option<&Cert>, extra: &[&str]) -> (ChildGuard, SocketAddr) {
    // A port can still be lost to another process between `free_port` and
    // nghttpd's bind; nghttpd then exits at once, and we try another port.
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new(tool("nghttpd"));
        cmd.args(["-a", "127.0.0.1"])
            .args(extra)
            .arg("-d")
            .arg(docs.path());
        match tls {
            None => cmd.arg("--no-tls").arg(port.to_string()),
            Some(c) => cmd.arg(port.to_string()).arg(&c.key).arg(&c.cert),
        };
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nghttpd");
        let mut guard = ChildGuard(child);
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(_)) = guard.0.try_wait() {
                break; // it could not bind: next port
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                // Make sure the listener we reached is nghttpd's own.
                std::thread::sleep(Duration::from_millis(30));
                if let Ok(None) = guard.0.try_wait() {
                    return (guard, addr);
                }
                break;
            }
            assert!(
                Instant::now() < deadline,
                "nghttpd does not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("nghttpd could not start on any of 5 ports");
}

/// The first line a child started with a piped stdout prints, within
/// `limit` (`None` if it prints none in time).
pub fn first_line(child: &mut ChildGuard, limit: Duration) -> Option<String> {
    use std::io::{BufRead, BufReader};
    let stdout = child.0.stdout.take()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(limit).ok()
}

/// Starts a peer that listens on a port of its choosing and prints it as
/// its first line of output (Node's `listen(0)`, the Python peers), and
/// returns its guard and that port; fails the test if no port comes within
/// `limit`. The peer's stderr goes to the test's.
pub fn spawn_reporting_port(cmd: &mut Command, limit: Duration) -> (ChildGuard, u16) {
    let mut child = ChildGuard(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}")),
    );
    let line = first_line(&mut child, limit)
        .unwrap_or_else(|| panic!("{cmd:?} printed no port within {limit:?}"));
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{cmd:?} printed {line:?}, not a port"));
    (child, port)
}

/// Starts `tests/peers/h2c_upgrade_server.py` (Python `h2` answering the
/// HTTP/1.1 upgrade to h2c) and returns its guard and port.
#[allow(dead_code)]
pub fn python_h2c_upgrade_server() -> (ChildGuard, u16) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/peers/h2c_upgrade_server.py"
    );
    spawn_reporting_port(Command::new("python3").arg(script), Duration::from_secs(15))
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "h2actor-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, contents).expect("write temp file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port that was free a moment ago (for peers that cannot report theirs).
///
/// It is taken from below the kernel's ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`): a port handed out by
/// `bind(":0")` comes from that range, so another test binding port 0 in the
/// gap between this check and the peer's own bind could otherwise take it
/// (CI saw exactly that: nghttpd failed to bind, the wait found the other
/// test's listener, and the fetch was refused).
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768);
    if low > 12_000 {
        let span = low - 10_000;
        let seed = std::process::id().wrapping_mul(7919);
        for _ in 0..200 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let port = 10_000 + (seed.wrapping_add(n.wrapping_mul(104_729)) % span);
            if TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
                return port as u16;
            }
        }
    }
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// Waits until something accepts connections on `addr`.
pub fn wait_for_port(addr: SocketAddr, limit: Duration) {
    let deadline = Instant::now() + limit;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on {addr} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `fut` on a fresh current-thread tokio runtime, failing the test
/// if it takes longer than `limit`.
pub fn tokio_run<F: std::future::Future>(limit: Duration, fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(async {
            tokio::time::timeout(limit, fut)
                .await
                .unwrap_or_else(|_| panic!("timed out after {limit:?}"))
        })
}

/// Deterministic test bytes (a different pattern from the server's `/bytes`).
pub fn test_body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// The tests' server ([`site`]) running in-process: an actix system on its own thread,
/// listening on 127.0.0.1 on an ephemeral port. Dropping it stops the system
/// (closing the listener and every connection) and joins the thread.
pub struct TestServer {
    pub addr: SocketAddr,
    system: actix::System,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_threads(1)
    }

    /// The server runs the library's `Listener` with `threads` arbiters.
    pub fn start_threads(threads: usize) -> Self {
        Self::start_options(site::Options {
            threads: Some(threads),
            ..site::Options::new(([127, 0, 0, 1], 0).into())
        })
    }

    /// The server over TLS (ALPN h2) with `tls`.
    pub fn start_tls(threads: usize, tls: std::sync::Arc<h2actor::TlsServer>) -> Self {
        Self::start_options(site::Options {
            threads: Some(threads),
            tls: Some(tls),
            ..site::Options::new(([127, 0, 0, 1], 0).into())
        })
    }

    /// The server with `options` (their `addr` should be port 0).
    pub fn start_options(options: site::Options) -> Self {
        init_tracing();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runner = actix::System::new();
            let started = runner.block_on(async move { site::serve_with(&options) });
            match started {
                Ok(listener) => {
                    let _ = tx.send(Ok((listener.local_addr(), actix::System::current())));
                    let _ = runner.run();
                    // The listener's arbiters live until the system stops.
                    drop(listener);
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
        let (addr, system) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("test server thread did not report")
            .expect("test server could not listen");
        TestServer {
            addr,
            system,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.system.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs `fut` (our client) in a fresh actix system on this thread, failing
/// the test after `limit`.
pub fn in_actix<F, T>(limit: Duration, fut: F) -> T
where
    F: std::future::Future<Output = T>,
{
    actix::System::new().block_on(async move {
        tokio::time::timeout(limit, fut)
            .await
            .unwrap_or_else(|_| panic!("timed out after {limit:?}"))
    })
}

/// A client `Connection` to `addr` whose subscriber ignores what the
/// server starts (for `Fetch`es sent straight to the connection).
#[allow(dead_code)]
pub async fn client_connection(addr: SocketAddr) -> actix::Addr<h2actor::Connection> {
    use actix::Actor;
    struct Ignore;
    impl actix::Actor for Ignore {
        type Context = actix::Context<Self>;
    }
    impl actix::Handler<h2actor::RecvHeaders> for Ignore {
        type Result = ();
        fn handle(&mut self, _: h2actor::RecvHeaders, _: &mut actix::Context<Self>) {}
    }
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _ = tcp.set_nodelay(true);
    h2actor::Connection::builder(h2actor::Role::Client)
        .start(tcp, h2actor::Subscriber::new(&Ignore.start()))
}

/// Connects the tests' client to `addr` and makes `jobs` over one connection.
pub fn fetch(
    addr: SocketAddr,
    jobs: Vec<client::Job>,
    options: client::Options,
    limit: Duration,
) -> Vec<client::Exchange> {
    in_actix(limit, async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let _ = tcp.set_nodelay(true);
        client::fetch(tcp, jobs, options).await
    })
}

/// A self-signed certificate for localhost and 127.0.0.1, as PEM files.
pub struct Cert {
    pub dir: TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Cert {
    /// Each with its own subject name: certificates that share one (as all
    /// of `rcgen::generate_simple_self_signed` do) look like the same
    /// issuer, and a mismatch shows as BadSignature, not UnknownIssuer.
    pub fn new() -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let mut params = rcgen::CertificateParams::new(names).expect("names");
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("h2actor test CA {} {n}", std::process::id()),
        );
        let key_pair = rcgen::KeyPair::generate().expect("key pair");
        let cert_pem = params.self_signed(&key_pair).expect("self-signed").pem();
        let dir = TempDir::new("tls");
        let cert = dir.write("cert.pem", cert_pem.as_bytes());
        let key = dir.write("key.pem", key_pair.serialize_pem().as_bytes());
        Cert { dir, cert, key }
    }

    pub fn server(&self) -> std::sync::Arc<h2actor::TlsServer> {
        std::sync::Arc::new(
            h2actor::TlsServer::from_pem_files(&self.cert, &self.key).expect("TLS server config"),
        )
    }

    pub fn client(&self) -> h2actor::TlsClient {
        h2actor::TlsClient::with_ca_file(&self.cert).expect("TLS client config")
    }
}

/// `target/<profile>/examples/NAME`, next to the test's executable
/// (the README's test command builds them first: `cargo build --release --examples`; `cargo test --all-targets` compiles them only as test binaries). Tests about the
/// example client's command line run this binary.
pub fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    profile_dir.join("examples").join(name)
}

/// The need (`Check`) of the tests that run the example client binary.
pub fn example_client_built() -> Result<(), String> {
    example_built("client")
}

/// The need (`Check`) of the tests that run the example server binary.
pub fn example_server_built() -> Result<(), String> {
    example_built("server")
}

/// The example client binary with `args`, as a user runs it, within
/// `limit`; fails the test (saying how to build it) if it is not built.
pub fn example_client(args: &[&str], limit: Duration) -> Output {
    if let Err(why) = example_client_built() {
        panic!("{why}");
    }
    run(Command::new(example_path("client")).args(args), limit)
}

/// The example server binary (`cargo run --release --example server`)
/// as a user runs it, on a free port of 127.0.0.1, its stdout and stderr
/// in a log file; killed when dropped.
pub struct ExampleServer {
    pub addr: SocketAddr,
    child: ChildGuard,
    dir: TempDir,
}

impl ExampleServer {
    /// Starts `server --addr 127.0.0.1:PORT` with `extra` arguments and
    /// waits until it listens; fails the test (saying how to build it) if
    /// it is not built.
    pub fn start(extra: &[&str]) -> Self {
        if let Err(why) = example_server_built() {
            panic!("{why}");
        }
        let dir = TempDir::new("example-server");
        // The port can be lost between `free_port` and the server's bind:
        // the server then exits at once, and we try another.
        for _ in 0..5 {
            let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
            let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
            let child = Command::new(example_path("server"))
                .args(["--addr", &addr.to_string()])
                .args(extra)
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log file"))
                .stderr(log)
                .spawn()
                .expect("start the example server");
            let mut child = ChildGuard(child);
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.0.try_wait().ok().flatten().is_none() {
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return ExampleServer { addr, child, dir };
                }
                assert!(
                    Instant::now() < deadline,
                    "the example server does not listen on {addr}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("the example server could not start on any of 5 ports");
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// What it printed so far (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// SIGTERM (a graceful shutdown), then its exit status (within 15 s).
    pub fn terminate(mut self) -> ExitStatus {
        self.wait_terminated(Duration::from_secs(15))
            .expect("the example server exits on SIGTERM")
    }

    fn wait_terminated(&mut self, limit: Duration) -> Option<ExitStatus> {
        let child = &mut self.child.0;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        // SAFETY: kill(2) on our own child, not reaped yet.
        if unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) } != 0 {
            return None;
        }
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for ExampleServer {
    /// SIGTERM first, so that it cleans up (`--tls` removes its
    /// certificate's directory); the guard kills it if it lingers.
    fn drop(&mut self) {
        let _ = self.wait_terminated(Duration::from_secs(2));
    }
}

/// Whether the example binary `name` is built (the need of a test that
/// runs it), or why not.
#[allow(dead_code)]
pub fn example_built(name: &str) -> Result<(), String> {
    let path = example_path(&format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        Ok(())
    } else {
        Err(format!(
            "{} not built (run `cargo build --release --all-features --examples` first, as the README's test command does)",
            path.display()
        ))
    }
}
