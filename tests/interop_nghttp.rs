//! Our server against nghttp (nghttp2-client), h2c with prior knowledge: the
//! example server binary, as the README's "Try it" runs it.

mod support;

use std::process::Command;
use std::time::Duration;

use support::harness::{self, Need::Program};
use support::{run, site, tool, ExampleServer, TempDir};

/// The tests of the README's promise run the example server binary.
const EXAMPLE_SERVER: harness::Need =
    harness::Need::Check("the example server binary", support::example_server_built);

const LIMIT: Duration = Duration::from_secs(30);

fn nghttp(bin: &std::path::Path, args: &[&str]) -> support::Output {
    let out = run(Command::new(bin).args(["-t", "20"]).args(args), LIMIT);
    assert!(
        out.status.success(),
        "nghttp {args:?} failed ({}):\n{}\n{}",
        out.status,
        out.stdout_str(),
        out.stderr
    );
    out
}

fn nghttp_get_root() {
    let bin = tool("nghttp");
    let server = ExampleServer::start(&[]);
    let out = nghttp(&bin, &[&server.url("/")]);
    assert_eq!(out.stdout, site::HELLO);
}

fn nghttp_post_echo_returns_the_body() {
    let bin = tool("nghttp");
    let server = ExampleServer::start(&[]);
    let dir = TempDir::new("nghttp");
    let data = support::test_body(2_000_000);
    let file = dir.write("post.bin", &data);
    let out = nghttp(&bin, &["-d", file.to_str().unwrap(), &server.url("/echo")]);
    assert!(
        out.stdout == data,
        "echoed {} bytes, sent {}",
        out.stdout.len(),
        data.len()
    );
}

/// Both directions under tiny windows: nghttp advertises 1 KiB stream
/// windows (`-w 10`, SETTINGS_INITIAL_WINDOW_SIZE, RFC 9113 §6.9.2) and a
/// 64 KiB connection window, and uploads 3 MB to `/echo`.
fn nghttp_post_echo_with_1_kib_windows() {
    let bin = tool("nghttp");
    let server = ExampleServer::start(&[]);
    let dir = TempDir::new("nghttp-small");
    let data = support::test_body(3_000_000);
    let file = dir.write("post.bin", &data);
    let out = nghttp(
        &bin,
        &[
            "-w",
            "10",
            "-W",
            "16",
            "-d",
            file.to_str().unwrap(),
            &server.url("/echo"),
        ],
    );
    assert!(
        out.stdout == data,
        "echoed {} bytes, sent {}",
        out.stdout.len(),
        data.len()
    );
}

/// RFC 9113 §8.4: nghttp enables push by default; `/push` must arrive as a
/// PUSH_PROMISE on stream 1 promising stream 2, then the pushed response.
fn nghttp_receives_push_promise_and_pushed_response() {
    let bin = tool("nghttp");
    let server = ExampleServer::start(&[]);
    let out = nghttp(&bin, &["-nv", &server.url("/push")]);
    let log = out.stdout_str();
    assert!(
        log.contains("recv PUSH_PROMISE frame"),
        "no PUSH_PROMISE:\n{log}"
    );
    assert!(
        log.contains("(padlen=0, promised_stream_id=2)"),
        "not promising stream 2:\n{log}"
    );
    assert!(
        log.contains(&format!(":path: {}", site::PUSHED_PATH)),
        "{log}"
    );
    assert!(log.contains("recv HEADERS frame <length="), "{log}");
    assert!(
        log.contains("stream_id=2>"),
        "no frame on the pushed stream:\n{log}"
    );
    // The pushed stream's response status and its END_STREAM.
    let pushed = log
        .lines()
        .filter(|l| l.contains("recv DATA frame") && l.contains("stream_id=2>"))
        .count();
    assert!(pushed >= 1, "no DATA on the pushed stream:\n{log}");
}

/// With push disabled (SETTINGS_ENABLE_PUSH = 0, RFC 9113 §6.5.2) the page
/// comes alone.
fn nghttp_without_push_gets_the_page_only() {
    let bin = tool("nghttp");
    let server = ExampleServer::start(&[]);
    let out = nghttp(&bin, &["-v", "--no-push", &server.url("/push")]);
    let log = out.stdout_str();
    assert!(!log.contains("PUSH_PROMISE"), "{log}");
    assert!(log.contains("</html>"), "{log}");
}

/// RFC 9113 §8.1: trailers as a HEADERS frame with END_STREAM after the DATA.
fn nghttp_receives_trailers() {
    let bin = tool("nghttp");
    let server = ExampleServer::start(&[]);
    let out = nghttp(&bin, &["-v", &server.url("/trailers")]);
    let log = out.stdout_str();
    assert!(log.contains("x-trailer-test: ok"), "{log}");
    assert!(log.contains(std::str::from_utf8(site::TRAILERS_BODY).unwrap().trim()));
}

/// Many concurrent streams on one connection (`-m` repeats each URI).
fn nghttp_many_concurrent_streams() {
    let bin = tool("nghttp");
    let server = ExampleServer::start(&[]);
    let out = nghttp(
        &bin,
        &["-n", "-v", "-m", "100", &server.url("/bytes/100000")],
    );
    let log = out.stdout_str();
    let sent = log
        .lines()
        .filter(|l| l.contains("send HEADERS frame"))
        .count();
    assert_eq!(sent, 100, "{log}");
    // Every stream ends with a DATA frame carrying END_STREAM (flags 0x01).
    let done = log
        .lines()
        .filter(|l| l.contains("recv DATA frame") && l.contains("flags=0x01"))
        .count();
    assert_eq!(done, 100, "{log}");
}

/// The stream ids of the DATA frames in an `nghttp -v` log, in order.
fn data_streams(log: &str) -> Vec<u32> {
    log.lines()
        .filter(|l| l.contains("recv DATA frame"))
        .filter_map(|l| {
            l.split("stream_id=")
                .nth(1)?
                .trim_end_matches('>')
                .parse()
                .ok()
        })
        .collect()
}

/// RFC 9218 with nghttp as the client: it reads SETTINGS_NO_RFC7540_PRIORITIES
/// = 1 from our server (§2.1), and 20 downloads asked for with
/// `priority: u=1, i` (incremental, §4.2) share the connection in turn
/// (§10): the DATA frames switch streams most of the time; asked for with
/// `u=1` (not incremental) the responses come mostly one after another.
fn nghttp_incremental_priority_streams_take_turns() {
    let bin = tool("nghttp");
    let server = ExampleServer::start(&[]);
    // (switches between streams, DATA frames) of 20 downloads at `priority`.
    let run = |priority: &str| {
        let header = format!("priority: {priority}");
        let url = server.url("/bytes/100000");
        let out = nghttp(
            &bin,
            &[
                "-n",
                "-v",
                "--no-rfc7540-pri",
                "-H",
                &header,
                "-m",
                "20",
                &url,
            ],
        );
        let log = out.stdout_str();
        assert!(
            log.contains("[SETTINGS_NO_RFC7540_PRIORITIES(0x09):1]"),
            "{log}"
        );
        let ids = data_streams(&log);
        let switches = ids.windows(2).filter(|w| w[0] != w[1]).count();
        (switches, ids.len(), ids)
    };
    let (switches, frames, ids) = run("u=1, i");
    assert!(
        switches * 2 > frames,
        "incremental: {switches} switches in {frames} DATA frames: {ids:?}"
    );
    // Measured: 139 switches in 140 frames incremental, 27 in 166 not.
    let (switches, frames, ids) = run("u=1");
    assert!(
        switches * 2 < frames,
        "non-incremental: {switches} switches in {frames} DATA frames: {ids:?}"
    );
}

fn main() {
    harness::main(harness::tests![
        nghttp_get_root: [Program("nghttp"), EXAMPLE_SERVER],
        nghttp_post_echo_returns_the_body: [Program("nghttp"), EXAMPLE_SERVER],
        nghttp_post_echo_with_1_kib_windows: [Program("nghttp"), EXAMPLE_SERVER],
        nghttp_receives_push_promise_and_pushed_response: [Program("nghttp"), EXAMPLE_SERVER],
        nghttp_without_push_gets_the_page_only: [Program("nghttp"), EXAMPLE_SERVER],
        nghttp_receives_trailers: [Program("nghttp"), EXAMPLE_SERVER],
        nghttp_many_concurrent_streams: [Program("nghttp"), EXAMPLE_SERVER],
        nghttp_incremental_priority_streams_take_turns: [Program("nghttp"), EXAMPLE_SERVER],
    ]);
}
