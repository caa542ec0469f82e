//! Memory per connection and per stream, measured from the outside: the
//! example server and the anchors (the h2 crate's `examples/h2_anchor`,
//! nghttpd, h2o), one after the other in the same run, each as a child
//! process, its `VmRSS` read from `/proc/PID/status` before and after this
//! client opens N connections, and again after each connection opens one
//! request stream that stays open.
//!
//! ```text
//! cargo build --release --example server --example h2_anchor
//! cargo bench --bench memory                      # 10,000 connections: ours, h2, nghttpd, h2o
//! MEM_N=2000 SERVERS="ours h2o" cargo bench --bench memory
//! BEFORE_BIN=../old/target/release/examples/server SERVERS="ours before nghttpd" \
//!     cargo bench --bench memory                  # a before/after comparison in one run
//! FLAT=1 cargo bench --bench memory               # also: RSS over 1,000,000 requests on 100 connections
//! OUT=target/bench/memory.tsv cargo bench --bench memory   # the figures as TSV too (benches/chart.py)
//! ```
//!
//! Servers (`SERVERS`, default `ours h2 nghttpd h2o`): `ours`
//! (`examples/server`), `before` (`BEFORE_BIN`, an older `examples/server`),
//! `h2` (`examples/h2_anchor`, the h2 crate on tokio), `nghttpd`
//! (`nghttpd --no-tls`), `h2o` (Debian's h2o 2.2.5, from a generated
//! config: plain listener, `file.dir`, no access log, `max-connections`
//! 100000 and `http2-idle-timeout` 600 s so that neither its default
//! connection cap of 1024 nor its 10 s idle timeout cuts the idle
//! connections). Each runs with `MEM_THREADS` threads (default 1).
//!
//! Phases, per server, on fresh processes:
//! 1. **idle**: N connections, each sends the preface and an empty SETTINGS,
//!    waits for the server's SETTINGS (answers it with an ACK) and for the
//!    ACK of its own; then nothing. (RSS after − RSS before) / N.
//! 2. **stream**: on each of them, `HEADERS` of `POST /echo` without
//!    END_STREAM (stream 1): the request never ends, its stream stays open
//!    (ours answers with response HEADERS and waits for the body).
//!    (RSS after − RSS of phase 1) / N.
//! 3. **closed**: every connection closed; the RSS left.
//! 4. with `FLAT=1` (needs h2load), on a fresh server process:
//!    `h2load -n FLAT_N -c 100 -m 1 -t 1 /` (`FLAT_N` default 1,000,000):
//!    RSS when h2load reports 10% done (after the first 100,000 requests)
//!    against RSS when it reports 100% done, and the peak (VmHWM).
//!
//! RSS is read once it has stopped moving (two samples 250 ms apart within
//! 16 KiB). RLIMIT_NOFILE is raised to its hard limit here (the servers
//! inherit it; h2o raises its own); N plus 100 must stay below it, or the
//! bench says so and stops (`ulimit -Hn`, as root `ulimit -n 100000`, or a
//! smaller `MEM_N`).
//!
//! `MEM_STREAMS=K` opens K streams per connection in phase 2 (ids 1, 3,
//! ...; default 1, at most 100, the servers' stream limit): with one, the
//! figure includes what a connection allocates for its first stream only
//! (its stream tables, HPACK tables); `MEM_N=1000 MEM_STREAMS=10` shows
//! the cost of one more stream. `MEM_STREAMS=0` stops after phase 1.
//! `SERVERS=external EXT_PORT=P EXT_PID=PID` measures a server started by
//! hand instead (e.g. under `heaptrack`, whose report then shows where the
//! bytes of the connections go; its RSS figures include heaptrack's own).
//!
//! Run with `cargo bench` only: under `cargo test` (no `--bench` argument)
//! it does nothing.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Connections being set up at once (below every listen backlog here).
const CONNECTING: usize = 128;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("memory: run with `cargo bench --bench memory` (skipped under cargo test)");
        return;
    }
    let n: usize = env_or("MEM_N", 10_000);
    let servers = std::env::var("SERVERS").unwrap_or_else(|_| "ours h2 nghttpd h2o".into());
    let flat = std::env::var("FLAT").is_ok_and(|v| v == "1");
    let flat_n: u64 = env_or("FLAT_N", 1_000_000);
    let threads: usize = env_or("MEM_THREADS", 1usize).max(1);
    let nofile = raise_nofile();
    if (n as u64) + 100 > nofile {
        eprintln!(
            "memory: MEM_N={n} needs more than RLIMIT_NOFILE={nofile} descriptors \
             (the hard limit, `ulimit -Hn`): raise it (as root: `ulimit -n 100000`) \
             or lower MEM_N"
        );
        std::process::exit(2);
    }
    let examples = examples_dir();
    let tmp = tempdir();
    let docroot = tmp.join("www");
    std::fs::create_dir_all(&docroot).expect("docroot");
    for d in [&tmp, &docroot] {
        // World-readable for h2o, which drops to the user nobody as root.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755));
    }
    std::fs::write(docroot.join("index.html"), b"hello world\n").expect("docroot");
    let env = ServerEnv {
        examples,
        tmp: tmp.clone(),
        docroot,
        threads,
    };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rows = Vec::new();
    let fail = |name: &str, e: io::Error| -> ! {
        eprintln!("memory: {name}: {e}");
        std::process::exit(1);
    };
    for (i, name) in servers.split_whitespace().enumerate() {
        let port = 18490 + i as u16;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        if name == "external" {
            // A server started by hand (e.g. under heaptrack) on EXT_PORT,
            // its process EXT_PID: only the connection phases run.
            let addr = ([127, 0, 0, 1], env_or("EXT_PORT", 0u16)).into();
            let row = rt.block_on(measure(name, addr, env_or("EXT_PID", 0), n));
            rows.push(row.unwrap_or_else(|e| fail(name, e)));
            continue;
        }
        let mut server = start_server(name, port, &env).unwrap_or_else(|e| fail(name, e));
        let row = rt.block_on(measure(name, addr, server.id(), n));
        stop(&mut server);
        let mut row = row.unwrap_or_else(|e| fail(name, e));
        if flat {
            // On a fresh process: what the first phases left behind
            // would hide any growth.
            let mut server = start_server(name, port, &env).unwrap_or_else(|e| fail(name, e));
            let r = rt
                .block_on(wait_listening(addr))
                .and_then(|()| flat_run(name, addr, server.id(), flat_n));
            stop(&mut server);
            row.flat = Some(r.unwrap_or_else(|e| fail(name, e)));
        }
        rows.push(row);
    }
    let _ = std::fs::remove_dir_all(&tmp);

    println!();
    println!(
        "memory, {n} connections ({} cores, load average {})",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "{:<9} {:>11} {:>15} {:>15} {:>15} {:>13} {:>22}",
        "server",
        "start KiB",
        "KiB/idle conn",
        "KiB/open stream",
        "all open KiB",
        "closed KiB",
        "flat 10%/end/peak KiB"
    );
    for r in &rows {
        println!(
            "{:<9} {:>11} {:>15.2} {:>15.2} {:>15} {:>13} {:>22}",
            r.name,
            r.start,
            r.per_idle(n),
            r.per_stream(n),
            r.streams,
            r.closed,
            r.flat
                .map_or("-".into(), |(a, b, c)| format!("{a}/{b}/{c}")),
        );
    }
    if flat {
        println!(
            "(flat: h2load -n {flat_n} -c 100 -m 1: RSS after the first 10% of the requests / at the end / VmHWM)"
        );
    }
    if let Ok(out) = std::env::var("OUT") {
        if let Err(e) = write_tsv(Path::new(&out), &rows, n, threads, flat_n) {
            eprintln!("memory: writing {out}: {e}");
            std::process::exit(1);
        }
        println!("figures written to {out}");
    }
}

/// The rows as TSV: `#` lines, a header, one line per server (KiB; `NA`
/// where a phase did not run).
fn write_tsv(path: &Path, rows: &[Row], n: usize, threads: usize, flat_n: u64) -> io::Result<()> {
    use std::fmt::Write as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# memory.rs: {n} connections, {threads} server thread(s), flat run {flat_n} requests"
    );
    let _ = writeln!(
        t,
        "server\tconns\tstreams_per_conn\tstart_kib\tkib_per_idle_conn\tkib_per_open_stream\tall_open_kib\tclosed_kib\tflat_10pct_kib\tflat_end_kib\tflat_peak_kib"
    );
    for r in rows {
        let (a, b, c) = r
            .flat
            .map_or(("NA".into(), "NA".into(), "NA".into()), |(a, b, c)| {
                (a.to_string(), b.to_string(), c.to_string())
            });
        let stream = if r.per_conn == 0 {
            "NA".to_string()
        } else {
            format!("{:.2}", r.per_stream(n))
        };
        let _ = writeln!(
            t,
            "{}\t{n}\t{}\t{}\t{:.2}\t{stream}\t{}\t{}\t{a}\t{b}\t{c}",
            r.name,
            r.per_conn,
            r.start,
            r.per_idle(n),
            r.streams,
            r.closed
        );
    }
    std::fs::write(path, t)
}

/// The figures of one server (KiB of VmRSS).
struct Row {
    name: String,
    start: u64,
    idle: u64,
    streams: u64,
    closed: u64,
    /// Streams opened per connection.
    per_conn: u32,
    /// RSS after 10% of the flat run's requests, at its end, its VmHWM.
    flat: Option<(u64, u64, u64)>,
}

impl Row {
    /// KiB per idle connection.
    fn per_idle(&self, n: usize) -> f64 {
        (self.idle as f64 - self.start as f64) / n as f64
    }

    /// KiB per open stream.
    fn per_stream(&self, n: usize) -> f64 {
        (self.streams as f64 - self.idle as f64) / (n as f64 * self.per_conn.max(1) as f64)
    }
}

async fn measure(name: &str, addr: SocketAddr, pid: u32, n: usize) -> io::Result<Row> {
    wait_listening(addr).await?;
    // One connection and request first, so what the first connection
    // allocates once for the process (thread locals, tables) is not
    // counted per connection.
    let mut warm = handshake(addr).await?;
    open_stream(&mut warm, addr, 1).await?;
    drop(warm);
    let start = settled_rss(pid).await?;
    eprintln!("{name}: start {start} KiB; opening {n} connections");
    let t = Instant::now();
    let mut conns: Vec<TcpStream> = stream::iter(0..n)
        .map(|_| handshake(addr))
        .buffer_unordered(CONNECTING)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<io::Result<_>>()?;
    let idle = settled_rss(pid).await?;
    eprintln!(
        "{name}: {n} idle connections in {:.1} s: {idle} KiB, {:.2} KiB each",
        t.elapsed().as_secs_f64(),
        (idle as f64 - start as f64) / n as f64
    );
    let per_conn: u32 = env_or("MEM_STREAMS", 1u32).min(100);
    if per_conn == 0 {
        // Idle connections only (e.g. for a heap profile of them).
        return Ok(Row {
            name: name.into(),
            start,
            idle,
            streams: idle,
            closed: idle,
            per_conn,
            flat: None,
        });
    }
    for c in conns.iter_mut() {
        for k in 0..per_conn {
            open_stream(c, addr, 2 * k + 1).await?;
        }
    }
    let streams = settled_rss(pid).await?;
    eprintln!(
        "{name}: {per_conn} open stream(s) each: {streams} KiB, {:.2} KiB per stream",
        (streams as f64 - idle as f64) / (n as f64 * per_conn as f64)
    );
    drop(conns);
    let closed = settled_rss(pid).await?;
    eprintln!("{name}: all closed: {closed} KiB");
    Ok(Row {
        name: name.into(),
        start,
        idle,
        streams,
        closed,
        per_conn,
        flat: None,
    })
}

/// `h2load -n FLAT_N -c 100 -m 1` on `/`: (RSS when h2load reports 10%
/// done, RSS when it reports 100% done (its connections still open), VmHWM
/// at its end). h2load prints its "progress: N% done" lines as it goes;
/// RSS is read as each arrives.
fn flat_run(name: &str, addr: SocketAddr, pid: u32, flat_n: u64) -> io::Result<(u64, u64, u64)> {
    use std::io::BufRead;
    let url = format!("http://{addr}/");
    let mut child = Command::new("h2load")
        .args([
            "-n",
            &flat_n.to_string(),
            "-c",
            "100",
            "-m",
            "1",
            "-t",
            "1",
            &url,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let t = Instant::now();
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("no stdout"))?;
    let (mut at_10, mut end) = (None, None);
    let mut out = String::new();
    let mut series = Vec::new();
    for line in io::BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(pct) = line
            .strip_prefix("progress: ")
            .and_then(|l| l.strip_suffix("% done"))
        {
            let now = rss(pid)?;
            series.push(format!("{pct}%: {now}"));
            match pct {
                "10" => at_10 = Some(now),
                "100" => end = Some(now),
                _ => {}
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    let status = child.wait()?;
    if !status.success() || !out.contains(" 0 failed, 0 errored") {
        return Err(io::Error::other(format!("h2load against {name}: {out}")));
    }
    let peak = status_kib(pid, "VmHWM:")?;
    eprintln!(
        "{name}: h2load -n {flat_n} -c 100 in {:.1} s, RSS KiB at {}; peak {peak}",
        t.elapsed().as_secs_f64(),
        series.join(", ")
    );
    let (Some(at_10), Some(end)) = (at_10, end) else {
        return Err(io::Error::other(
            "h2load printed no 10% or 100% progress line",
        ));
    };
    Ok((at_10, end, peak))
}

/// Connects, sends the preface and an empty SETTINGS, and returns once the
/// server's SETTINGS (acknowledged) and its ACK of ours are in.
async fn handshake(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut out = PREFACE.to_vec();
    out.extend_from_slice(&frame_head(0, 0x4, 0, 0));
    s.write_all(&out).await?;
    let (mut settings, mut acked) = (false, false);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(settings && acked) {
        let mut head = [0u8; 9];
        tokio::time::timeout_at(deadline.into(), s.read_exact(&mut head))
            .await
            .map_err(|_| io::Error::other("no SETTINGS from the server within 10 s"))??;
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).await?;
        match (head[3], head[4] & 1) {
            (0x4, 0) => {
                settings = true;
                s.write_all(&frame_head(0, 0x4, 1, 0)).await?;
            }
            (0x4, _) => acked = true,
            (0x7, _) => return Err(io::Error::other("GOAWAY during the handshake")),
            _ => {}
        }
    }
    Ok(s)
}

/// HEADERS of `POST /echo` on stream `id`, END_HEADERS without END_STREAM
/// (HPACK: indexed `:method POST`, `:scheme http`; literal `:path`,
/// `:authority` with indexed names, not added to the table).
async fn open_stream(s: &mut TcpStream, addr: SocketAddr, id: u32) -> io::Result<()> {
    let authority = addr.to_string();
    let mut block = vec![0x83, 0x86, 0x04, 5];
    block.extend_from_slice(b"/echo");
    block.extend_from_slice(&[0x01, authority.len() as u8]);
    block.extend_from_slice(authority.as_bytes());
    let mut out = frame_head(block.len(), 0x1, 0x4, id).to_vec();
    out.extend_from_slice(&block);
    s.write_all(&out).await
}

fn frame_head(len: usize, ty: u8, flags: u8, stream: u32) -> [u8; 9] {
    let l = (len as u32).to_be_bytes();
    let s = stream.to_be_bytes();
    [l[1], l[2], l[3], ty, flags, s[0], s[1], s[2], s[3]]
}

/// VmRSS of `pid`, KiB.
fn rss(pid: u32) -> io::Result<u64> {
    status_kib(pid, "VmRSS:")
}

/// The field `key` (e.g. `VmHWM:`) of `/proc/PID/status`, KiB.
fn status_kib(pid: u32, key: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("no {key} in /proc/{pid}/status")))
}

/// VmRSS once two samples 250 ms apart differ by at most 16 KiB (at most 10 s).
async fn settled_rss(pid: u32) -> io::Result<u64> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut last = rss(pid)?;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = rss(pid)?;
        if now.abs_diff(last) <= 16 {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}

async fn wait_listening(addr: SocketAddr) -> io::Result<()> {
    for _ in 0..150 {
        if TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(io::Error::other(format!("nothing listens on {addr}")))
}

/// SIGTERM, up to 5 s for the server to exit (h2o then reaps its helper
/// process), then SIGKILL.
fn stop(server: &mut Child) {
    // SAFETY: kill(2) on the id of our own child, not yet reaped.
    unsafe { libc::kill(server.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = server.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = server.kill();
    let _ = server.wait();
}

/// Where the servers come from and what they serve.
struct ServerEnv {
    /// `target/release/examples`.
    examples: PathBuf,
    /// This run's temporary directory (h2o's config goes here).
    tmp: PathBuf,
    /// The directory nghttpd and h2o serve (`index.html`).
    docroot: PathBuf,
    /// Server threads.
    threads: usize,
}

fn start_server(name: &str, port: u16, env: &ServerEnv) -> io::Result<Child> {
    let addr = format!("127.0.0.1:{port}");
    let threads = env.threads.to_string();
    let built = |bin: PathBuf| {
        if bin.exists() {
            Ok(bin)
        } else {
            Err(io::Error::other(format!(
                "{} is missing: cargo build --release --example server --example h2_anchor",
                bin.display()
            )))
        }
    };
    let ours = |bin: PathBuf| {
        Command::new(built(bin)?)
            .args([
                "--addr",
                &addr,
                "--threads",
                &threads,
                "--max-connections",
                "100000",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    };
    match name {
        "ours" => ours(env.examples.join("server")),
        "before" => ours(
            std::env::var_os("BEFORE_BIN")
                .ok_or_else(|| io::Error::other("BEFORE_BIN is not set"))?
                .into(),
        ),
        "h2" => Command::new(built(env.examples.join("h2_anchor"))?)
            .args(["--addr", &addr, "--threads", &threads])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn(),
        "nghttpd" => Command::new("nghttpd")
            .args(["--no-tls", "-n", &threads, "-a", "127.0.0.1", "-d"])
            .arg(&env.docroot)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn(),
        "h2o" => {
            // Started as root, h2o drops to the user nobody: the docroot
            // must be world-readable (main makes it 0755).
            // It also starts a helper (a perl crash handler) as its child;
            // the RSS measured is h2o's own process.
            let conf = env.tmp.join(format!("h2o-{port}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "listen:\n  host: 127.0.0.1\n  port: {port}\nnum-threads: {threads}\n\
                     max-connections: 100000\nhttp2-idle-timeout: 600\n\
                     hosts:\n  default:\n    paths:\n      /:\n        file.dir: {}\n",
                    env.docroot.display()
                ),
            )?;
            Command::new("h2o")
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
        }
        other => Err(io::Error::other(format!(
            "unknown server {other} (ours, before, h2, nghttpd, h2o)"
        ))),
    }
}

/// `target/release/examples`, beside this bench's own executable.
fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/release/deps/memory-HASH
    exe.parent()
        .and_then(Path::parent)
        .map(|p| p.join("examples"))
        .expect("target dir")
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("h2actor-memory-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Raises RLIMIT_NOFILE's soft limit to the hard one; returns it.
fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) != 0 {
            return 1024;
        }
        l.rlim_cur = l.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        l.rlim_cur
    }
}
