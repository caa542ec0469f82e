//! The demo HTTP/2 server (h2c, prior knowledge).
//!
//! ```text
//! cargo run --release --example server -- --addr 127.0.0.1:8080 [--threads N]
//! RUST_LOG=h2actor=debug,server=debug cargo run --release --example server
//! ```
//!
//! Routes: `GET /` (hello world), `GET /bytes/N` (N bytes under flow control),
//! `POST /echo` (the body streamed back), `GET /push` (a page plus a pushed
//! `/pushed.css` when the client allows push), `GET /trailers` (a body then
//! the trailer `x-trailer-test: ok`), anything else 404. The handlers live in
//! `tests/support/demo_server.rs`, shared with the interop tests.
//!
//! `--threads N` runs the library's `Listener`: N arbiters (one thread each)
//! accepting on one shared socket; a connection stays on the thread that
//! accepted it. Without it, the main arbiter accepts and serves everything.

#[path = "../tests/support/demo_server.rs"]
mod demo_server;

use std::net::SocketAddr;

const USAGE: &str = "usage: server [--addr HOST:PORT] [--threads N]";

fn main() {
    let mut addr: SocketAddr = ([127, 0, 0, 1], 8080).into();
    let mut threads = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => match args.next().and_then(|a| a.parse().ok()) {
                Some(a) => addr = a,
                None => exit_usage("--addr takes HOST:PORT, e.g. 127.0.0.1:8080"),
            },
            "--threads" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n >= 1 => threads = n,
                _ => exit_usage("--threads takes a number >= 1"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => exit_usage(&format!("unknown argument {other:?}")),
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let system = actix::System::new();
    // `_serving` holds the listener's arbiters for as long as the system runs.
    let _serving = match system.block_on(demo_server::serve(addr, threads)) {
        Ok(serving) => {
            tracing::info!(addr = %serving.addr, threads, "listening (h2c, prior knowledge)");
            serving
        }
        Err(e) => {
            eprintln!("server: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = system.run() {
        eprintln!("server: {e}");
        std::process::exit(1);
    }
}

fn exit_usage(why: &str) -> ! {
    eprintln!("server: {why}\n{USAGE}");
    std::process::exit(2);
}
