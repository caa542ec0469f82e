//! RFC 9218 Extensible Priorities end to end: a raw-frame client against
//! the test server (`support/site.rs`) over real TCP. The download is
//! held by flow control (the client gives no credit), requests pile up
//! behind it, then one WINDOW_UPDATE lets the server choose what goes
//! first: the urgency the client asked for (the `priority` header, §5, or a
//! PRIORITY_UPDATE frame, §7.1), not the order of arrival.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use h2actor::frame::{Frame, PriorityUpdate, Setting, StreamId};
use support::raw_peer::*;

fn get_with_priority(p: &mut Peer, stream: u32, path: &str, priority: &str) {
    let mut f = get_fields(path);
    f.push(("priority".into(), priority.into()));
    p.send_headers(stream, &f, true);
}

fn priority_update(stream: u32, field: &'static str) -> Frame {
    Frame::PriorityUpdate(PriorityUpdate {
        prioritized: StreamId(stream),
        field: Bytes::from_static(field.as_bytes()),
    })
}

/// Reads until `n` bytes of DATA came on `stream` in all (no credit given
/// back): the server's windows are then shut.
fn read_data(p: &mut Peer, stream: u32, n: usize) {
    let mut got = 0;
    while got < n {
        match p.recv() {
            Ok(Frame::Data(d)) if d.stream_id.0 == stream => got += d.data.len(),
            Ok(_) => {}
            Err(e) => panic!("waiting for DATA on {stream}: {e:?}; {:?}", p.tail()),
        }
    }
}

/// Reads until HEADERS came on every one of `streams`.
fn await_heads(p: &mut Peer, streams: &[u32]) {
    let mut left: Vec<u32> = streams.to_vec();
    while !left.is_empty() {
        match p.recv() {
            Ok(Frame::Headers(h)) => left.retain(|s| *s != h.stream_id.0),
            Ok(Frame::Data(d)) => panic!("DATA on {} with the windows shut", d.stream_id),
            Ok(_) => {}
            Err(e) => panic!("waiting for HEADERS on {left:?}: {e:?}; {:?}", p.tail()),
        }
    }
}

/// The DATA frames (stream, length, END_STREAM) read until `done` says so
/// or 5 s pass, giving no credit back.
fn data_frames(
    p: &mut Peer,
    done: impl Fn(&[(u32, usize, bool)]) -> bool,
) -> Vec<(u32, usize, bool)> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut out = Vec::new();
    while !done(&out) {
        match p.recv_within(deadline.saturating_duration_since(Instant::now())) {
            Ok(Frame::Data(d)) => out.push((d.stream_id.0, d.data.len(), d.end_stream)),
            Ok(Frame::GoAway(g)) => panic!("GOAWAY {:?}", g.error_code),
            Ok(_) => {}
            Err(e) => panic!("DATA frames {out:?}: {e:?}; {:?}", p.tail()),
        }
    }
    out
}

/// A download of `u=5` that has used the whole connection window (65,535
/// bytes, never given back) on stream 1.
fn stalled_download(server: &ConfServer) -> Peer {
    let mut p = server.connect();
    p.handshake_with(&[Setting::InitialWindowSize(1 << 20)]);
    get_with_priority(&mut p, 1, "/bytes/4000000", "u=5");
    read_data(&mut p, 1, 65_535);
    p
}

#[test]
fn rfc9218_s10_urgent_responses_overtake_a_flow_controlled_download() {
    let server = ConfServer::start();
    let mut p = stalled_download(&server);
    let small = [3, 5, 7, 9, 11];
    for s in small {
        get_with_priority(&mut p, s, "/", "u=0");
    }
    // Their heads go out; their bodies wait for the connection window,
    // behind stream 1's queued DATA.
    await_heads(&mut p, &small);
    p.send(window_update(0, 1 << 20));
    let frames = data_frames(&mut p, |f| f.iter().filter(|d| d.2).count() == small.len());
    let first_download = frames.iter().position(|d| d.0 == 1);
    assert_eq!(
        first_download, None,
        "the download resumed before the u=0 responses ended: {frames:?}"
    );
    // And it does resume.
    let more = data_frames(&mut p, |f| !f.is_empty());
    assert_eq!(more[0].0, 1);
    server.assert_healthy();
}

#[test]
fn rfc9218_s5_default_urgency_responses_still_go_after_u0_and_before_u7() {
    // The order of the scheduler across three urgencies, one WINDOW_UPDATE.
    let server = ConfServer::start();
    let mut p = stalled_download(&server);
    get_with_priority(&mut p, 3, "/", "u=7");
    p.send_get(5, "/"); // no field: u=3
    get_with_priority(&mut p, 7, "/", "u=1");
    await_heads(&mut p, &[3, 5, 7]);
    p.send(window_update(0, 1 << 20));
    let frames = data_frames(&mut p, |f| f.iter().filter(|d| d.2).count() == 3);
    let order: Vec<u32> = frames.iter().filter(|d| d.2).map(|d| d.0).collect();
    // Stream 1 (u=5) may interleave with 3 (u=7)'s turn, never before 5, 7.
    assert_eq!(&order[..2], &[7, 5], "{frames:?}");
    let download_at = frames.iter().position(|d| d.0 == 1).unwrap_or(usize::MAX);
    let five_done = frames.iter().position(|d| d.0 == 5 && d.2).unwrap();
    assert!(download_at > five_done, "{frames:?}");
    server.assert_healthy();
}

#[test]
fn rfc9218_s7_1_priority_update_raises_a_download_over_another() {
    let server = ConfServer::start();
    let mut p = stalled_download(&server);
    // A second download at the default urgency 3, queued behind the shut
    // connection window: without the update it would go before stream 1.
    p.send_get(3, "/bytes/200000");
    await_heads(&mut p, &[3]);
    std::thread::sleep(Duration::from_millis(300)); // its first SendData
    p.send_all([priority_update(1, "u=0"), window_update(0, 1 << 20)]);
    let frames = data_frames(&mut p, |f| f.iter().map(|d| d.1).sum::<usize>() >= 150_000);
    assert!(
        frames
            .iter()
            .take_while(|d| d.0 == 1)
            .map(|d| d.1)
            .sum::<usize>()
            >= 150_000,
        "stream 1 should have gone first: {frames:?}"
    );
    server.assert_healthy();
}

#[test]
fn rfc9218_s7_1_without_the_update_the_default_urgency_download_goes_first() {
    // The control for the test above: same frames, no PRIORITY_UPDATE.
    let server = ConfServer::start();
    let mut p = stalled_download(&server);
    p.send_get(3, "/bytes/200000");
    await_heads(&mut p, &[3]);
    std::thread::sleep(Duration::from_millis(300));
    p.send(window_update(0, 1 << 20));
    let frames = data_frames(&mut p, |f| !f.is_empty());
    assert_eq!(frames[0].0, 3, "{frames:?}");
    server.assert_healthy();
}

#[test]
fn rfc9218_s7_1_priority_update_on_a_stream_is_a_connection_error() {
    let server = ConfServer::start();
    let mut p = server.peer();
    p.send_raw(&raw_frame(0x10, 0, 1, &[0, 0, 0, 1, b'u', b'=', b'0']));
    p.expect_goaway(h2actor::ErrorCode::PROTOCOL_ERROR);
    server.assert_healthy();
}

#[test]
fn rfc9218_s2_1_the_server_sends_no_rfc7540_priorities() {
    let server = ConfServer::start();
    let p = server.peer();
    assert!(
        p.server_settings
            .contains(&Setting::NoRfc7540Priorities(true)),
        "{:?}",
        p.server_settings
    );
}
