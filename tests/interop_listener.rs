//! The supervised listener against real peers: the example server binary
//! (`target/release/examples/server`) under SIGTERM with a curl download in
//! flight, a second signal that forces, and h2load's traffic checked
//! against the listener's stats.

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use h2actor::actor::Listener;
use h2actor::frame::ErrorCode;
use support::harness::{self, Need::Check, Need::Program};
use support::{free_port, run, site, tool, wait_for_port, ChildGuard, TempDir};

/// The example server binary (built by the README's test command).
fn server_binary() -> PathBuf {
    support::example_path(&format!("server{}", std::env::consts::EXE_SUFFIX))
}

fn server_binary_built() -> Result<(), String> {
    support::example_built("server")
}

const SERVER_BIN: harness::Need = Check("the example server binary", server_binary_built);

/// The example server on a free port, its output in `dir/server.log`.
fn spawn_server(dir: &TempDir, extra: &[&str]) -> (ChildGuard, SocketAddr) {
    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    (spawn_server_at(dir, addr, extra), addr)
}

/// The example server on `addr` (appending to `dir/server.log`).
fn spawn_server_at(dir: &TempDir, addr: SocketAddr, extra: &[&str]) -> ChildGuard {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("server.log"))
        .expect("log file");
    let child = Command::new(server_binary())
        .args(["--addr", &addr.to_string(), "--threads", "2"])
        .args(extra)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("start the example server");
    let guard = ChildGuard(child);
    wait_for_port(addr, Duration::from_secs(10));
    guard
}

fn server_log(dir: &TempDir) -> String {
    std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill(2) on our own child's pid.
    let r = unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    assert_eq!(r, 0, "kill({}, {sig})", child.id());
}

/// Waits (bounded) for `child` to exit.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A curl download of `/bytes/{len}` at `rate`, in the background.
fn spawn_download(addr: SocketAddr, len: u64, rate: &str, out: &std::path::Path) -> ChildGuard {
    let child = Command::new(tool("curl"))
        .args(["-sS", "--http2-prior-knowledge", "--max-time", "30"])
        .args(["--limit-rate", rate, "-o"])
        .arg(out)
        .arg(format!("http://{addr}/bytes/{len}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start curl");
    ChildGuard(child)
}

/// SIGTERM with a download in flight: curl gets the whole body (exit 0),
/// new connections are refused meanwhile, the server exits 0 once drained;
/// SIGUSR1 logs the stats first.
fn sigterm_lets_a_curl_download_finish_then_the_server_exits_0() {
    const LEN: u64 = 24_000_000;
    let dir = TempDir::new("sigterm");
    let (mut server, addr) = spawn_server(&dir, &["--grace", "20"]);
    let body = dir.path().join("body.bin");
    // About 3 s at 8 MB/s: surely in flight when the signal comes.
    let mut curl = spawn_download(addr, LEN, "8M", &body);
    std::thread::sleep(Duration::from_millis(800));
    signal(&server.0, libc::SIGUSR1);
    std::thread::sleep(Duration::from_millis(100));
    signal(&server.0, libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(300));
    // The listening socket is closed: curl cannot connect (exit 7).
    let late = run(
        Command::new(tool("curl"))
            .args(["-sS", "--http2-prior-knowledge", "--max-time", "5"])
            .arg(format!("http://{addr}/")),
        Duration::from_secs(10),
    );
    assert_eq!(
        late.status.code(),
        Some(7),
        "a new connection during the drain: {}",
        late.stderr
    );
    let curl_status = wait_exit(&mut curl.0, Duration::from_secs(20)).expect("curl finished");
    let mut curl_err = String::new();
    if let Some(mut e) = curl.0.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut curl_err);
    }
    assert!(
        curl_status.success(),
        "curl {curl_status}: {curl_err}\nserver log:\n{}",
        server_log(&dir)
    );
    let got = std::fs::read(&body).expect("body file");
    assert_eq!(got.len() as u64, LEN, "whole body");
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, b)| *b == site::pattern_byte(i as u64)),
        "body content"
    );
    let status = wait_exit(&mut server.0, Duration::from_secs(10)).expect("server exited");
    let log = server_log(&dir);
    assert_eq!(status.code(), Some(0), "server exit; log:\n{log}");
    assert!(log.contains("stats"), "SIGUSR1 logged the stats:\n{log}");
    assert!(
        log.contains("shutdown: done") && log.contains("forced=0"),
        "drained without forcing:\n{log}"
    );
}

/// A second signal forces: the server exits 0 at once, the slow download
/// is cut (curl fails).
fn a_second_signal_forces_the_shutdown() {
    let dir = TempDir::new("sigterm2");
    let (mut server, addr) = spawn_server(&dir, &["--grace", "30"]);
    let body = dir.path().join("body.bin");
    // 24 MB at 1 MB/s: would take 24 s.
    let mut curl = spawn_download(addr, 24_000_000, "1M", &body);
    std::thread::sleep(Duration::from_millis(800));
    signal(&server.0, libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(500));
    // Still draining: the download goes on.
    assert!(
        server.0.try_wait().ok().flatten().is_none(),
        "server exited before the grace:\n{}",
        server_log(&dir)
    );
    let forced_at = Instant::now();
    signal(&server.0, libc::SIGINT);
    let status = wait_exit(&mut server.0, Duration::from_secs(10)).expect("server exited");
    let log = server_log(&dir);
    assert_eq!(status.code(), Some(0), "server exit; log:\n{log}");
    assert!(
        forced_at.elapsed() < Duration::from_secs(8),
        "forced shutdown took {:?}",
        forced_at.elapsed()
    );
    assert!(log.contains("second signal"), "{log}");
    let curl_status = wait_exit(&mut curl.0, Duration::from_secs(10)).expect("curl finished");
    assert!(!curl_status.success(), "the cut download cannot succeed");
}

/// h2load's traffic, counted by the listener: 20 connections, 2,000
/// streams, no resets, one GOAWAY NO_ERROR per connection.
fn h2load_traffic_matches_the_listener_stats() {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runner = actix::System::new();
        let listener = runner.block_on(async {
            Listener::builder(([127, 0, 0, 1], 0).into())
                .threads(2)
                .connection(site::builder())
                .start(|_| site::Site::subscriber())
        });
        let _ = tx.send(listener.map(|l| (l, actix::System::current())));
        let _ = runner.run();
    });
    let (listener, system) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("server thread")
        .expect("listen");
    let out = run(
        Command::new(tool("h2load"))
            .args(["-n", "2000", "-c", "20", "-m", "10"])
            .arg(format!("http://{}/", listener.local_addr())),
        Duration::from_secs(60),
    );
    let text = out.stdout_str();
    assert!(out.status.success(), "h2load: {}\n{text}", out.stderr);
    assert!(
        text.contains("2000 succeeded"),
        "h2load did not succeed everywhere:\n{text}"
    );
    // h2load has closed its connections: wait for the server to see it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let s = loop {
        let s = listener.stats();
        if s.connections_open == 0 || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    println!("h2load -n 2000 -c 20 -m 10: {s}");
    assert_eq!(s.connections_open, 0, "{s}");
    assert_eq!(s.connections_accepted, 20, "{s}");
    assert_eq!(s.connections_refused, 0, "{s}");
    assert_eq!(s.streams_total, 2000, "{s}");
    assert_eq!(s.streams_open, 0, "{s}");
    assert_eq!(s.resets_sent.total(), 0, "{s}");
    assert_eq!(s.resets_received.total(), 0, "{s}");
    // h2load ends each connection with GOAWAY NO_ERROR.
    assert_eq!(s.goaways_received.get(ErrorCode::NO_ERROR), 20, "{s}");
    assert_eq!(s.goaways_received.total(), 20, "{s}");
    assert!(s.bytes_out >= 2000 * site::HELLO.len() as u64, "{s}");
    drop(listener);
    system.stop();
    let _ = thread.join();
}

/// Issue 15, item 7: a log flood is a denial of service. A rapid-reset
/// attacker (CVE-2023-44487: HEADERS then RST_STREAM, 100 at a time) that
/// reconnects after every GOAWAY, for 6 s, against the example server at
/// its default log level: the server answers each connection with GOAWAY
/// ENHANCE_YOUR_CALM and writes a bounded number of lines, not one per
/// stream or per connection (before the fix: one WARN per reset stream
/// whose response the handler sent, over a million lines in 6 s).
fn example_server_logs_stay_quiet_under_rapid_reset_with_reconnect() {
    use support::raw_peer::{get_fields, headers_frame, rst, Closed, Peer};
    let dir = TempDir::new("rapid-reset-log");
    let (mut server, addr) = spawn_server(&dir, &[]);
    let before = server_log(&dir).lines().count();
    let attack_for = Duration::from_secs(6);
    let end = Instant::now() + attack_for;
    let (mut connections, mut calm, mut streams) = (0usize, 0usize, 0u64);
    while Instant::now() < end {
        let Ok(tcp) = std::net::TcpStream::connect(addr) else {
            continue;
        };
        let mut p = Peer::from_stream(tcp);
        p.handshake();
        connections += 1;
        let mut id = 1u32;
        'conn: while Instant::now() < end && id < 20_000 {
            let mut frames = Vec::with_capacity(200);
            for _ in 0..100 {
                let block = p.encode(&get_fields("/"));
                frames.push(headers_frame(id, &block, true, true));
                frames.push(rst(id, ErrorCode::CANCEL));
                id += 2;
                streams += 1;
            }
            p.send_all(frames);
            loop {
                match p.recv_within(Duration::from_millis(2)) {
                    Ok(h2actor::frame::Frame::GoAway(g)) => {
                        if g.error_code == ErrorCode::ENHANCE_YOUR_CALM {
                            calm += 1;
                        }
                        break 'conn;
                    }
                    Ok(_) => {}
                    Err(Closed::Timeout) => break,
                    Err(Closed::Eof) => break 'conn,
                }
            }
            if p.write_errors > 0 {
                break;
            }
        }
    }
    // Let the server write whatever it still has to say.
    std::thread::sleep(Duration::from_millis(500));
    let log = server_log(&dir);
    let lines = log.lines().count() - before;
    eprintln!(
        "{connections} connections, {streams} streams reset, {calm} GOAWAY(ENHANCE_YOUR_CALM); {lines} log lines"
    );
    assert!(
        calm >= 10 && connections >= 10,
        "the attack did not run: {connections} connections, {calm} GOAWAY(ENHANCE_YOUR_CALM)"
    );
    let head: String = log
        .lines()
        .skip(before)
        .take(20)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        lines < 100,
        "{lines} log lines in {attack_for:?} of attack (first ones:\n{head})"
    );
    // And it still serves.
    let mut p = Peer::connect(addr);
    p.handshake();
    p.get_ok(1);
    let _ = server.0.kill();
}

/// Issue 15, item 1: the supervised `Client` with its defaults rides out a
/// server restart. 2,000 idempotent GETs, 50 in flight, paced over ~3 s;
/// the example server is killed (SIGKILL: connections reset, no GOAWAY)
/// and started again on the same port `outage` later. Every GET succeeds
/// (queued ones wait through the refused reconnects, those in flight are
/// re-sent). Non-idempotent downloads in flight when the server dies fail
/// with `ConnectionLost`, never a reset the server did not send.
fn client_rides_out_restart(outage: Duration) {
    use futures::StreamExt;
    use h2actor::client::{Client, Fetch, FetchError, Origin};
    let dir = TempDir::new("restart");
    let (server, addr) = spawn_server(&dir, &[]);
    let server = std::sync::Arc::new(std::sync::Mutex::new(server));
    let killer = {
        let server = server.clone();
        let dir_path = dir.path().to_path_buf();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1000));
            let mut s = server.lock().expect("server");
            let _ = s.0.kill();
            let _ = s.0.wait();
            let killed = Instant::now();
            std::thread::sleep(outage);
            let dir = TempDir(dir_path);
            *s = spawn_server_at(&dir, addr, &[]);
            std::mem::forget(dir);
            killed
        })
    };
    let origin: Origin = format!("http://{addr}").parse().expect("origin");
    let (gets, posts) = support::in_actix(Duration::from_secs(90), async move {
        let client = Client::builder(origin).start();
        // Non-idempotent requests the server answers after 5 s: in flight
        // when it dies.
        let posts: Vec<_> = (0..4)
            .map(|_| {
                let r = client.send(Fetch::get("/delay/5000").timeout(Duration::from_secs(60)));
                async move { r.await.unwrap_or(Err(FetchError::ClientStopped)) }
            })
            .collect();
        let posts = futures::future::join_all(posts);
        let start = tokio::time::Instant::now();
        let gets = futures::stream::iter(0..2000u32)
            .map(|i| {
                let client = client.clone();
                async move {
                    tokio::time::sleep_until(start + Duration::from_micros(1500) * i).await;
                    let r = client.send(Fetch::get("/").idempotent(true)).await;
                    r.unwrap_or(Err(FetchError::ClientStopped))
                }
            })
            .buffer_unordered(50)
            .collect::<Vec<_>>();
        let (gets, posts) = futures::join!(gets, posts);
        (gets, posts)
    });
    let killed = killer.join().expect("killer");
    let failed: Vec<String> = gets
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    eprintln!(
        "outage {outage:?}: {} GETs ok, {} failed; downloads: {:?}",
        gets.len() - failed.len(),
        failed.len(),
        posts
            .iter()
            .map(|r| r.as_ref().map(|r| r.body.len()).map_err(|e| e.to_string()))
            .collect::<Vec<_>>()
    );
    assert!(
        failed.is_empty(),
        "{} of 2000 GETs failed, first: {:?}",
        failed.len(),
        failed.first()
    );
    for p in &posts {
        match p {
            Err(FetchError::ConnectionLost(why)) => assert!(!why.is_empty()),
            other => panic!("a download in flight when the server died: {other:?}"),
        }
    }
    let _ = killed;
}

fn client_rides_out_a_server_restart_of_half_a_second() {
    client_rides_out_restart(Duration::from_millis(500));
}

fn client_rides_out_a_server_restart_of_three_seconds() {
    client_rides_out_restart(Duration::from_secs(3));
}

// ------------------------------------------- Listener::run_until_signal

/// The environment variable that makes this test binary the child of the
/// `run_until_signal` tests: its value is the stop mode ("signal": only
/// signals; "stdin": also the end of its stdin). Signals go to that child,
/// never to the test process.
const CHILD: &str = "H2ACTOR_RUN_UNTIL_SIGNAL_CHILD";

/// The child: the demo site on a `Listener` (one thread), its port on the
/// first line of stdout, then `run_until_signal` (or `_or` the end of
/// stdin); prints the report and exits 0.
fn run_until_signal_child(mode: &str) {
    let system = actix::System::new();
    let report = system.block_on(async {
        let listener = Listener::builder(([127, 0, 0, 1], 0).into())
            .threads(1)
            .start(|_peer| site::Site::subscriber())
            .expect("listen");
        println!("{}", listener.local_addr().port());
        let grace = Duration::from_secs(5);
        if mode == "stdin" {
            let stdin_closed = async {
                let _ = tokio::task::spawn_blocking(|| {
                    std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new())
                })
                .await;
            };
            listener.run_until_signal_or(grace, stdin_closed).await
        } else {
            listener.run_until_signal(grace).await
        }
    });
    println!(
        "report connections={} forced={} left={}",
        report.connections, report.forced, report.left
    );
}

/// Starts the child in `mode`; returns it, its port, and the rest of its
/// output line by line.
fn spawn_child(mode: &str) -> (ChildGuard, u16, mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = ChildGuard(
        Command::new(std::env::current_exe().expect("test executable"))
            .env(CHILD, mode)
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the child"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the child's port")
        .parse()
        .expect("a port");
    (child, port, rx)
}

/// The child's next line of output, within 10 s.
fn child_line(lines: &mpsc::Receiver<String>) -> String {
    lines
        .recv_timeout(Duration::from_secs(10))
        .expect("a line from the child")
}

/// A GET of `/` by curl (h2c, prior knowledge) to the child; true if 200.
fn curl_ok(port: u16) -> bool {
    let out = run(
        Command::new(tool("curl"))
            .args(["-sS", "--http2-prior-knowledge", "--max-time", "5"])
            .args(["-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("http://127.0.0.1:{port}/")),
        Duration::from_secs(10),
    );
    out.stdout == b"200"
}

/// SIGTERM and SIGINT end `run_until_signal` with a drained report, exit 0.
fn run_until_signal_stops_on_sigterm_and_sigint() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let (mut child, port, lines) = spawn_child("signal");
        assert!(curl_ok(port), "served before the signal");
        std::thread::sleep(Duration::from_millis(200));
        assert!(child.0.try_wait().ok().flatten().is_none(), "still serving");
        signal(&child.0, sig);
        assert_eq!(child_line(&lines), "report connections=0 forced=0 left=0");
        let status = wait_exit(&mut child.0, Duration::from_secs(10)).expect("exited");
        assert_eq!(status.code(), Some(0), "signal {sig}");
    }
}

/// `run_until_signal_or(grace, stop)`: `stop` resolving starts the drain
/// too (here: the child's stdin closed), signals untouched.
fn run_until_signal_or_stops_when_its_future_resolves() {
    let (mut child, port, lines) = spawn_child("stdin");
    assert!(curl_ok(port), "served");
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.0.try_wait().ok().flatten().is_none(), "still serving");
    drop(child.0.stdin.take());
    assert_eq!(child_line(&lines), "report connections=0 forced=0 left=0");
    let status = wait_exit(&mut child.0, Duration::from_secs(10)).expect("exited");
    assert_eq!(status.code(), Some(0));
}

/// `--tls` without a certificate of the user's: its directory is gone once
/// the server exits, after SIGINT as after SIGTERM.
fn tls_certificate_directory_is_removed_on_exit() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let dir = TempDir::new("certdir");
        let (mut server, addr) = spawn_server(&dir, &["--tls"]);
        let cert_dir = std::env::temp_dir().join(format!("h2actor-server-{}", server.0.id()));
        let cert = cert_dir.join("cert.pem");
        assert!(cert.is_file(), "{} while serving", cert.display());
        // It serves with it: curl trusts the file.
        let out = run(
            Command::new(tool("curl"))
                .args(["-sS", "--max-time", "10", "--resolve"])
                .arg(format!("localhost:{}:127.0.0.1", addr.port()))
                .arg("--cacert")
                .arg(&cert)
                .arg(format!("https://localhost:{}/", addr.port())),
            Duration::from_secs(15),
        );
        assert_eq!(out.stdout, site::HELLO, "curl: {}", out.stderr);
        signal(&server.0, sig);
        let status = wait_exit(&mut server.0, Duration::from_secs(10)).expect("exited");
        assert_eq!(status.code(), Some(0), "{}", server_log(&dir));
        assert!(
            !cert_dir.exists(),
            "{} left behind after signal {sig}",
            cert_dir.display()
        );
    }
}

fn main() {
    if let Ok(mode) = std::env::var(CHILD) {
        run_until_signal_child(&mode);
        return;
    }
    harness::main(harness::tests![
        run_until_signal_stops_on_sigterm_and_sigint: [Program("curl")],
        run_until_signal_or_stops_when_its_future_resolves: [Program("curl")],
        tls_certificate_directory_is_removed_on_exit: [Program("curl"), SERVER_BIN],
        sigterm_lets_a_curl_download_finish_then_the_server_exits_0: [Program("curl"), SERVER_BIN],
        a_second_signal_forces_the_shutdown: [Program("curl"), SERVER_BIN],
        h2load_traffic_matches_the_listener_stats: [Program("h2load")],
        example_server_logs_stay_quiet_under_rapid_reset_with_reconnect: [SERVER_BIN],
        client_rides_out_a_server_restart_of_half_a_second: [SERVER_BIN],
        client_rides_out_a_server_restart_of_three_seconds: [SERVER_BIN],
    ]);
}
