//! Our server under h2load (nghttp2-client): 100,000 requests over 10
//! connections with 10 concurrent streams each, none may fail. The example
//! server binary, as the README's "Try it" runs it.

mod support;

use std::process::Command;
use std::time::Duration;

use support::harness::{self, Need::Program};
use support::{run, tool, ExampleServer};

/// The tests of the README's promise run the example server binary.
const EXAMPLE_SERVER: harness::Need =
    harness::Need::Check("the example server binary", support::example_server_built);

/// Parses h2load's "requests: N total, N started, N done, N succeeded,
/// N failed, N errored, N timeout" line into (name, count) pairs.
fn requests_line(out: &str) -> Vec<(String, u64)> {
    let line = out
        .lines()
        .find(|l| l.starts_with("requests:"))
        .unwrap_or_else(|| panic!("no requests: line in h2load output:\n{out}"));
    line["requests:".len()..]
        .split(',')
        .filter_map(|part| {
            let mut it = part.split_whitespace();
            let n = it.next()?.parse().ok()?;
            Some((it.next()?.to_owned(), n))
        })
        .collect()
}

fn h2load_100k_requests_10_connections_none_failed() {
    let bin = tool("h2load");
    let server = ExampleServer::start(&[]);
    let out = run(
        Command::new(bin)
            .args(["-n", "100000", "-c", "10", "-m", "10", "-N", "20"])
            .arg(server.url("/")),
        Duration::from_secs(180),
    );
    let text = out.stdout_str();
    eprintln!("{text}");
    let counts = requests_line(&text);
    let get = |name: &str| {
        counts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no {name} in {counts:?}"))
    };
    assert_eq!(get("total"), 100_000);
    assert_eq!(get("succeeded"), 100_000, "{text}");
    assert_eq!(get("failed"), 0, "{text}");
    assert_eq!(get("errored"), 0, "{text}");
    assert!(text.contains("status codes: 100000 2xx"), "{text}");
    assert!(
        out.status.success(),
        "h2load exit {}: {}",
        out.status,
        out.stderr
    );
}

fn main() {
    harness::main(harness::tests![
        h2load_100k_requests_10_connections_none_failed: [Program("h2load"), EXAMPLE_SERVER],
    ]);
}
