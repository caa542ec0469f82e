//! Our supervised `Client` (one origin actor, one connection) against the
//! `h2` crate's client, on the same server in the same run: N small GETs,
//! C in flight, each client in this process in turn; wall time and this
//! process's CPU time (getrusage) per client.
//!
//! ```text
//! cargo build --release --examples && cargo bench --bench client_vs_h2
//! N=200000 C=100 ROUNDS=3 cargo bench --bench client_vs_h2
//! SERVER=nghttpd N=1000000 cargo bench --bench client_vs_h2
//! ALLOC=mimalloc SERVER=nghttpd cargo bench --bench client_vs_h2   # both clients on mimalloc
//! ```
//!
//! The server is `target/release/examples/server --threads 1` as a child
//! process. Under `cargo test` (no `--bench` argument) it does nothing.
//!
//! `ONLY=ours` (or `ONLY=theirs`) runs one client only, e.g. under
//! `valgrind --tool=callgrind` to count the client's instructions alone
//! (the server is another process). Heap allocations per request are
//! counted by a global allocator wrapper and printed with each round.

#[path = "../examples/shared/natural_mimalloc.rs"]
mod natural_mimalloc;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use h2actor::client::{Client, Fetch};

/// The allocator of both clients, counting allocations (one relaxed atomic
/// add each): the system's, or mimalloc with `ALLOC=mimalloc` (as the
/// server comparison runs both servers on mimalloc, through the examples'
/// `NaturalMiMalloc`). Chosen once, at the
/// first allocation, before any memory is handed out, so every `dealloc`
/// goes to the allocator that made the block.
struct Counting;
static ALLOCS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// 0: not chosen yet, 1: system, 2: mimalloc.
static CHOSEN: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

fn use_mimalloc() -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    match CHOSEN.load(Relaxed) {
        0 => {
            // SAFETY: getenv with a NUL-terminated name; it does not
            // allocate. Read before any allocation (and so any thread).
            let v = unsafe { libc::getenv(c"ALLOC".as_ptr()) };
            // SAFETY: a non-null getenv result is a NUL-terminated string.
            let mi =
                !v.is_null() && unsafe { std::ffi::CStr::from_ptr(v) }.to_bytes() == b"mimalloc";
            CHOSEN.store(if mi { 2 } else { 1 }, Relaxed);
            mi
        }
        c => c == 2,
    }
}

// SAFETY: forwards to the chosen allocator unchanged.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if use_mimalloc() {
            natural_mimalloc::NaturalMiMalloc.alloc(l)
        } else {
            std::alloc::System.alloc(l)
        }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        if use_mimalloc() {
            natural_mimalloc::NaturalMiMalloc.dealloc(p, l)
        } else {
            std::alloc::System.dealloc(p, l)
        }
    }
    unsafe fn realloc(&self, p: *mut u8, l: std::alloc::Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if use_mimalloc() {
            natural_mimalloc::NaturalMiMalloc.realloc(p, l, n)
        } else {
            std::alloc::System.realloc(p, l, n)
        }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.load(std::sync::atomic::Ordering::Relaxed)
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cpu() -> Duration {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn ours(addr: SocketAddr, n: usize, c: usize) -> usize {
    actix::System::new().block_on(async move {
        let client = Client::builder(format!("http://{addr}").parse().unwrap()).start();
        let mut ok = 0;
        let mut next = 0;
        let mut inflight = futures::stream::FuturesUnordered::new();
        use futures::StreamExt;
        while ok < n {
            while next < n && inflight.len() < c {
                inflight.push(client.send(Fetch::get("/")));
                next += 1;
            }
            match inflight.next().await {
                Some(Ok(Ok(r))) if r.head.status == 200 => ok += 1,
                Some(other) => panic!("request failed: {other:?}"),
                None => break,
            }
        }
        ok
    })
}

fn theirs(addr: SocketAddr, n: usize, c: usize) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let (client, conn) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(conn);
        let mut ok = 0;
        let mut next = 0;
        let mut inflight = futures::stream::FuturesUnordered::new();
        use futures::StreamExt;
        while ok < n {
            while next < n && inflight.len() < c {
                let mut client = client.clone();
                let uri = format!("http://{addr}/");
                inflight.push(async move {
                    client = client.ready().await.unwrap();
                    let req = http::Request::get(uri).body(()).unwrap();
                    let (resp, _) = client.send_request(req, true).unwrap();
                    let resp = resp.await.unwrap();
                    let status = resp.status();
                    let mut body = resp.into_body();
                    while let Some(chunk) = body.data().await {
                        let chunk = chunk.unwrap();
                        let _ = body.flow_control().release_capacity(chunk.len());
                    }
                    status
                });
                next += 1;
            }
            match inflight.next().await {
                Some(s) if s == 200 => ok += 1,
                Some(s) => panic!("status {s}"),
                None => break,
            }
        }
        ok
    })
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let (n, c, rounds) = (env("N", 100_000), env("C", 100), env("ROUNDS", 3));
    let exe = std::env::current_exe().unwrap();
    let server = exe
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples/server");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    // SERVER=nghttpd: nghttpd --no-tls serving a directory whose index.html
    // is "hello world\n" (a server neither client's authors wrote).
    let which = std::env::var("SERVER").unwrap_or_else(|_| "ours".into());
    let docroot = std::env::temp_dir().join(format!("client_vs_h2-{}", std::process::id()));
    let mut child = if which == "nghttpd" {
        std::fs::create_dir_all(&docroot).unwrap();
        std::fs::write(docroot.join("index.html"), "hello world\n").unwrap();
        Command::new("nghttpd")
            .args(["--no-tls", "-a", "127.0.0.1", "-d"])
            .arg(&docroot)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("nghttpd: {e} (apt-get install nghttp2-server)"))
    } else {
        Command::new(&server)
            .args(["--addr", &addr.to_string(), "--threads", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (cargo build --release --examples)",
                    server.display()
                )
            })
    };
    while std::net::TcpStream::connect(addr).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let served_by = if which == "nghttpd" {
        "nghttpd --no-tls (one worker)"
    } else {
        "examples/server --threads 1"
    };
    let alloc = if use_mimalloc() {
        "mimalloc"
    } else {
        "system (glibc)"
    };
    println!("{n} GETs /, {c} in flight, one connection, server {served_by}, allocator {alloc}");
    let only = std::env::var("ONLY").unwrap_or_default();
    for round in 1..=rounds {
        for (name, key, run) in [
            ("h2actor Client", "ours", ours as fn(_, _, _) -> _),
            ("h2 crate client", "theirs", theirs),
        ] {
            if !only.is_empty() && only != key {
                continue;
            }
            let (t0, c0, a0) = (Instant::now(), cpu(), allocs());
            let done = run(addr, n, c);
            let (wall, cpu, a) = (t0.elapsed(), cpu() - c0, allocs() - a0);
            println!(
                "round {round} {name:16} {done} ok  {:>9.0} req/s  {:>9.0} req per client CPU-s  {:>5.1} allocs/req",
                done as f64 / wall.as_secs_f64(),
                done as f64 / cpu.as_secs_f64(),
                a as f64 / done.max(1) as f64
            );
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&docroot);
}
