//! Uploads over a link with a long round trip: our server with fixed
//! receive windows (1 MiB per stream, 4 MiB per connection, the defaults),
//! the same with the adaptive window (`--adaptive-window 64`, i.e.
//! `Config::adaptive_window: Some(64 MiB)`), and the `h2` crate's server
//! (`examples/h2_anchor`, its default windows), each behind its own
//! `tests/support/delay_proxy` (every byte held `ONE_WAY_MS` in each
//! direction; `tc netem` needs a kernel module these machines lack).
//! `h2load -n UP_N -c 1 -m 1 -d FILE /sink` through each proxy, servers
//! interleaved, `ROUNDS` rounds, medians of MB/s (body bytes / time).
//!
//! ```text
//! cargo build --release --example server --example h2_anchor
//! cargo bench --bench bdp                     # 64 MiB, 20 ms each way, 3 rounds
//! ONE_WAY_MS=50 UP_MIB=256 SERVERS="fixed adaptive" cargo bench --bench bdp
//! ```
//!
//! `SERVERS` (default `fixed adaptive h2`) picks among the three; the `h2`
//! crate's server, with its 64 KiB default windows, takes ~45 s per 64 MiB
//! at 40 ms.
//!
//! Run with `cargo bench` only: under `cargo test` (no `--bench` argument)
//! it does nothing.

#[path = "../tests/support/delay_proxy.rs"]
mod delay_proxy;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use delay_proxy::DelayProxy;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Server {
    name: &'static str,
    child: Child,
    proxy: DelayProxy,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

fn start(name: &'static str, bin: &Path, extra: &[&str], one_way: Duration) -> Server {
    assert!(
        bin.exists(),
        "{} is missing: cargo build --release --example server --example h2_anchor",
        bin.display()
    );
    let addr = free_addr();
    let child = Command::new(bin)
        .args(["--addr", &addr.to_string(), "--threads", "1"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{name} does not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server {
        name,
        child,
        proxy: DelayProxy::start(addr, one_way),
    }
}

/// One h2load run; MB/s of request body (MiB, as h2load counts).
fn upload(server: &Server, file: &Path, n: u64, bytes: u64) -> f64 {
    let out = Command::new("timeout")
        .arg("300")
        .arg("h2load")
        .args(["-n", &n.to_string(), "-c", "1", "-m", "1", "-t", "1", "-d"])
        .arg(file)
        .arg(format!("http://{}/sink", server.proxy.addr))
        .output()
        .expect("run h2load (apt-get install nghttp2-client)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{n} succeeded, 0 failed, 0 errored")),
        "{}: h2load failed:\n{text}",
        server.name
    );
    let secs = text
        .lines()
        .find_map(|l| l.strip_prefix("finished in "))
        .and_then(|l| l.split(',').next())
        .and_then(|t| {
            t.strip_suffix("ms")
                .and_then(|v| v.parse::<f64>().ok())
                .map(|ms| ms / 1000.0)
                .or_else(|| t.strip_suffix('s').and_then(|v| v.parse().ok()))
        })
        .expect("h2load's 'finished in'");
    (n * bytes) as f64 / secs / (1 << 20) as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let one_way = Duration::from_millis(env("ONE_WAY_MS", 20));
    let mib = env("UP_MIB", 64);
    let n = env("UP_N", 1);
    let wanted = std::env::var("SERVERS").unwrap_or_else(|_| "fixed adaptive h2".into());
    let wanted: Vec<&str> = wanted.split_whitespace().collect();
    let rounds = env("ROUNDS", 3) as usize;
    let examples: PathBuf = [env!("CARGO_MANIFEST_DIR"), "target", "release", "examples"]
        .iter()
        .collect();
    let dir = std::env::temp_dir().join(format!("h2actor-bdp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("upload.bin");
    std::fs::write(&file, vec![b'u'; (mib << 20) as usize]).expect("write the upload");

    let mut servers = Vec::new();
    for name in &wanted {
        servers.push(match *name {
            "fixed" => start(
                "ours, fixed windows",
                &examples.join("server"),
                &[],
                one_way,
            ),
            "adaptive" => start(
                "ours, adaptive window",
                &examples.join("server"),
                &["--adaptive-window", "64"],
                one_way,
            ),
            "h2" => start(
                "h2 crate (its defaults)",
                &examples.join("h2_anchor"),
                &[],
                one_way,
            ),
            other => panic!("unknown server {other:?}: fixed, adaptive or h2"),
        });
    }
    println!(
        "uploads of {mib} MiB to /sink, {n} per run, one connection, through a link \
         of {} ms each way ({} ms round trip); {rounds} rounds",
        one_way.as_millis(),
        2 * one_way.as_millis()
    );
    let mut results = vec![Vec::new(); servers.len()];
    for round in 1..=rounds {
        for (i, s) in servers.iter().enumerate() {
            let mbs = upload(s, &file, n, mib << 20);
            println!("round {round} {:<26} {mbs:9.1} MB/s", s.name);
            results[i].push(mbs);
        }
    }
    println!("\nmedians");
    let first = median(results[0].clone());
    for (s, r) in servers.iter().zip(results) {
        let m = median(r);
        println!(
            "  {:<26} {m:9.1} MB/s  {:5.2}x {}",
            s.name,
            m / first,
            servers[0].name
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
