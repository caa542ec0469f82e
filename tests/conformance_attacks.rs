//! End-to-end: the denial-of-service cases of RFC 9113 §10.5 (and
//! CVE-2023-44487, rapid reset) against the test server over real TCP. Each
//! attack is bounded (a fixed number of frames written in one go) and ends
//! either with GOAWAY ENHANCE_YOUR_CALM that reaches the peer, or with the
//! server's memory provably bounded (its connection stats), and the server
//! keeps serving. Legitimate bursts of the same frames must not trip the
//! limits.

mod support;

use std::time::{Duration, Instant};

use bytes::BytesMut;
use h2actor::frame::{ErrorCode, Frame, Setting};
use support::raw_peer::*;

/// Reads frames until the connection closes (or `limit`), returning the
/// GOAWAY codes seen and the number of frames read.
fn drain_until_closed(p: &mut Peer, limit: Duration) -> (Vec<ErrorCode>, usize) {
    let deadline = Instant::now() + limit;
    let mut goaways = Vec::new();
    let mut n = 0;
    loop {
        match p.recv_within(deadline.saturating_duration_since(Instant::now())) {
            Ok(Frame::GoAway(g)) => goaways.push(g.error_code),
            Ok(_) => n += 1,
            Err(Closed::Eof) => return (goaways, n),
            Err(Closed::Timeout) => panic!(
                "still open after {limit:?}: goaways {goaways:?}, {n} frames, last {:?}",
                p.log.last()
            ),
        }
    }
}

fn encode_all(frames: impl IntoIterator<Item = Frame>) -> BytesMut {
    let mut b = BytesMut::new();
    for f in frames {
        f.encode(&mut b);
    }
    b
}

// ---------------------------------------------------------------------------
// CVE-2023-44487 rapid reset

#[test]
fn cve_2023_44487_rapid_reset_is_enhance_your_calm() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut id = 1u32;
    let mut calm = false;
    // At most 5,000 streams, in batches of 100, reading what comes back.
    'outer: for _ in 0..50 {
        let mut frames = Vec::new();
        for _ in 0..100 {
            let block = p.encode(&get_fields("/bytes/100000"));
            frames.push(headers_frame(id, &block, true, true));
            frames.push(rst(id, ErrorCode::CANCEL));
            id += 2;
        }
        p.send_all(frames);
        while let Ok(f) = p.recv_within(Duration::from_millis(5)) {
            if let Frame::GoAway(g) = f {
                assert_eq!(g.error_code, ErrorCode::ENHANCE_YOUR_CALM);
                calm = true;
                break 'outer;
            }
        }
    }
    if !calm {
        p.expect_goaway(ErrorCode::ENHANCE_YOUR_CALM);
    } else {
        p.expect_connection_closed();
    }
    assert!(id < 2 * 5000, "detected after {} streams", id / 2);
    s.assert_healthy();
}

#[test]
fn rapid_reset_detector_ignores_resets_after_complete_responses() {
    // Resetting (or WINDOW_UPDATE-ing) streams whose response is complete
    // is harmless (§5.1 allows it shortly after END_STREAM): 600 of them.
    let s = ConfServer::start();
    let mut p = s.peer();
    for i in 0..600u32 {
        let id = 2 * i + 1;
        p.get_ok(id);
        p.send(rst(id, ErrorCode::CANCEL));
    }
    p.assert_alive();
}

#[test]
fn many_sequential_requests_on_one_connection_are_fine() {
    let s = ConfServer::start();
    let mut p = s.peer();
    for i in 0..1000u32 {
        p.get_ok(2 * i + 1);
    }
    // Streams are forgotten once closed: nothing accumulates per request
    // (the last one may still be finishing).
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let stats = s.stats(0).expect("stats");
        if stats.streams == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{stats:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// §10.5 control-frame floods

#[test]
fn s10_5_ping_flood_without_reading_is_enhance_your_calm() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let flood = encode_all((0..20_000u32).map(|i| {
        let mut payload = [0u8; 8];
        payload[..4].copy_from_slice(&i.to_be_bytes());
        ping(payload)
    }));
    p.send_raw(&flood);
    let (goaways, acks) = drain_until_closed(&mut p, Duration::from_secs(5));
    assert_eq!(goaways, vec![ErrorCode::ENHANCE_YOUR_CALM], "{acks} frames");
    assert!(acks < 20_000, "every PING was answered: no limit hit");
    s.assert_healthy();
}

#[test]
fn s10_5_settings_flood_without_reading_is_enhance_your_calm() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let flood = encode_all((0..20_000).map(|_| settings(&[Setting::MaxConcurrentStreams(100)])));
    p.send_raw(&flood);
    let (goaways, _) = drain_until_closed(&mut p, Duration::from_secs(5));
    assert_eq!(goaways, vec![ErrorCode::ENHANCE_YOUR_CALM]);
    s.assert_healthy();
}

#[test]
fn s10_5_window_update_flood_is_enhance_your_calm() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let flood = encode_all((0..20_000).map(|_| window_update(0, 1)));
    p.send_raw(&flood);
    let (goaways, _) = drain_until_closed(&mut p, Duration::from_secs(5));
    // (the increments add up to 20,000 + the window: no overflow)
    assert_eq!(goaways, vec![ErrorCode::ENHANCE_YOUR_CALM]);
    s.assert_healthy();
}

#[test]
fn s10_5_empty_data_flood_is_enhance_your_calm() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut f = get_fields("/echo");
    f[0].1 = "POST".into();
    p.send_headers(1, &f, false);
    let flood = encode_all((0..20_000).map(|_| data(1, b"", false)));
    p.send_raw(&flood);
    let (goaways, _) = drain_until_closed(&mut p, Duration::from_secs(5));
    assert_eq!(goaways, vec![ErrorCode::ENHANCE_YOUR_CALM]);
    s.assert_healthy();
}

#[test]
fn s10_5_unknown_frame_flood_is_enhance_your_calm() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let one = raw_frame(0xee, 0, 0, b"x");
    let flood: Vec<u8> = one
        .iter()
        .copied()
        .cycle()
        .take(one.len() * 20_000)
        .collect();
    p.send_raw(&flood);
    let (goaways, _) = drain_until_closed(&mut p, Duration::from_secs(5));
    assert_eq!(goaways, vec![ErrorCode::ENHANCE_YOUR_CALM]);
    s.assert_healthy();
}

#[test]
fn s6_7_burst_of_pings_read_by_the_peer_is_answered() {
    // A legitimate burst: 200 PINGs in one segment, each answered.
    let s = ConfServer::start();
    let mut p = s.peer();
    let burst = encode_all((0..200u32).map(|i| {
        let mut payload = [0u8; 8];
        payload[..4].copy_from_slice(&i.to_be_bytes());
        ping(payload)
    }));
    p.send_raw(&burst);
    for i in 0..200u32 {
        let mut payload = [0u8; 8];
        payload[..4].copy_from_slice(&i.to_be_bytes());
        p.expect_ping_ack(payload);
    }
    p.get_ok(1);
}

// ---------------------------------------------------------------------------
// Field blocks: CONTINUATION floods and huge header lists

#[test]
fn s10_5_endless_continuation_is_ended_by_the_block_limit() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    let mut frames = vec![headers_frame(1, &block, true, false)];
    let junk = lit(b"x-junk", &[b'j'; 16_000]);
    // 8 MiB at most; the server's block limit is far below.
    for _ in 0..512 {
        frames.push(continuation(1, &junk, false));
    }
    p.send_all(frames);
    let g = p.expect(is_goaway, "GOAWAY");
    let Frame::GoAway(g) = g else { unreachable!() };
    assert_eq!(g.error_code, ErrorCode::ENHANCE_YOUR_CALM);
    assert!(p.write_errors <= 1);
    p.expect_connection_closed();
    s.assert_healthy();
}

#[test]
fn s10_5_endless_empty_continuations_are_enhance_your_calm() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let block = p.encode(&get_fields("/"));
    p.send(headers_frame(1, &block, true, false));
    p.send_raw(&encode_all(
        (0..20_000).map(|_| continuation(1, b"", false)),
    ));
    let (goaways, _) = drain_until_closed(&mut p, Duration::from_secs(5));
    assert_eq!(goaways, vec![ErrorCode::ENHANCE_YOUR_CALM]);
    s.assert_healthy();
}

#[test]
fn s10_5_1_header_list_above_max_header_list_size_is_refused_and_connection_survives() {
    // §10.5.1: SETTINGS_MAX_HEADER_LIST_SIZE is advisory; we decode the
    // block (HPACK state stays in sync) and answer 431 (RFC 6585) instead
    // of serving it; the connection goes on.
    let s = ConfServer::start();
    let mut p = s.peer();
    let limit = p
        .server_settings
        .iter()
        .find_map(|s| match s {
            Setting::MaxHeaderListSize(n) => Some(*n as usize),
            _ => None,
        })
        .expect("the server advertises SETTINGS_MAX_HEADER_LIST_SIZE");
    let mut fields = get_fields("/");
    let value = "v".repeat(8000);
    for i in 0..(limit / 8000 + 2) {
        fields.push((format!("x-big-{i}"), value.clone()));
    }
    let block = p.encode(&fields);
    // Split into frames of 16,384 (HEADERS + CONTINUATIONs).
    let chunks: Vec<&[u8]> = block.chunks(16_384).collect();
    let mut frames = vec![headers_frame(1, chunks[0], true, chunks.len() == 1)];
    for (i, c) in chunks.iter().enumerate().skip(1) {
        frames.push(continuation(1, c, i == chunks.len() - 1));
    }
    p.send_all(frames);
    let f = p.expect(
        |f| {
            matches!(f, Frame::Headers(h) if h.stream_id.0 == 1)
                || matches!(f, Frame::RstStream(r) if r.stream_id.0 == 1)
                || is_goaway(f)
        },
        "431 or RST_STREAM on 1",
    );
    match f {
        Frame::Headers(_) => assert_eq!(p.status_of(1), Some(431)),
        Frame::RstStream(r) => assert_eq!(r.error_code, ErrorCode::REFUSED_STREAM),
        other => panic!("connection error for a large header list: {other:?}"),
    }
    // Both HPACK contexts still in sync: the next requests work.
    p.get_ok(3);
    p.get_ok(5);
    s.assert_healthy();
}

#[test]
fn s10_5_1_header_list_just_below_the_limit_is_served() {
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut fields = get_fields("/");
    fields.push(("x-big".into(), "v".repeat(40_000)));
    let block = p.encode(&fields);
    let chunks: Vec<&[u8]> = block.chunks(16_384).collect();
    let mut frames = vec![headers_frame(1, chunks[0], true, false)];
    for (i, c) in chunks.iter().enumerate().skip(1) {
        frames.push(continuation(1, c, i == chunks.len() - 1));
    }
    p.send_all(frames);
    let (status, _) = p.response(1);
    assert_eq!(status, 200);
}

// ---------------------------------------------------------------------------
// Slow readers: the server's buffers stay bounded

#[test]
fn slow_reader_keeps_the_servers_write_buffer_bounded() {
    let s = ConfServer::start();
    let mut p = s.connect();
    // Windows wide open: only the socket slows the server down.
    p.handshake_with(&[Setting::InitialWindowSize(0x7fff_ffff)]);
    p.send(window_update(0, 0x7fff_ffff - 65_535));
    for id in [1u32, 3, 5, 7] {
        p.send_get(id, "/bytes/200000000");
    }
    std::thread::sleep(Duration::from_millis(800));
    let stats = s.stats(0).expect("stats");
    eprintln!("slow reader, 4 streams of 200 MB: {stats:?}");
    // Builder::max_write_buffer (256 KiB) plus one frame at most.
    assert!(
        stats.write_buffer_high_water <= (256 << 10) + 16_384 + 9 + 4096,
        "{stats:?}"
    );
    assert!(stats.streams <= 4, "{stats:?}");
    // Now read a while: data flows, the buffer stays bounded.
    let deadline = Instant::now() + Duration::from_millis(300);
    while let Ok(_f) = p.recv_within(deadline.saturating_duration_since(Instant::now())) {}
    let stats = s.stats(0).expect("stats");
    assert!(
        stats.write_buffer_high_water <= (256 << 10) + 16_384 + 9 + 4096,
        "{stats:?}"
    );
    drop(p);
    s.assert_healthy();
}

#[test]
fn non_reading_peer_uploading_a_whole_window_is_bounded() {
    // A client that uploads to /echo as much as the server's window allows
    // and never reads the echo: the echo blocks on our window (65,535), the
    // server stops reopening its receive window (auto_release off), so what
    // it holds is bounded by its windows; nothing else grows.
    let s = ConfServer::start();
    let mut p = s.peer();
    let window = p
        .server_settings
        .iter()
        .find_map(|s| match s {
            Setting::InitialWindowSize(n) => Some(*n as usize),
            _ => None,
        })
        .unwrap_or(65_535);
    let mut f = get_fields("/echo");
    f[0].1 = "POST".into();
    p.send_headers(1, &f, false);
    let chunk = vec![7u8; 16_384];
    let frames: Vec<Frame> = (0..window / chunk.len())
        .map(|_| data(1, &chunk, false))
        .collect();
    p.send_all(frames);
    assert_eq!(p.write_errors, 0);
    std::thread::sleep(Duration::from_millis(300));
    let stats = s.stats(0).expect("stats");
    assert!(
        stats.write_buffer_high_water <= (256 << 10) + 16_384 + 9 + 4096,
        "{stats:?}"
    );
    assert!(stats.pending_sends <= 1, "{stats:?}");
    p.assert_alive();
    drop(p);
    s.assert_healthy();
}

#[test]
fn s10_5_1_hpack_bomb_is_refused_without_decoding_it_all() {
    // One ~4 KB field inserted in the dynamic table, then referenced 2,000
    // times (1 byte each): an 8 MB header list from a 2 KB block. Refused
    // by SETTINGS_MAX_HEADER_LIST_SIZE (431 or REFUSED_STREAM); the
    // connection goes on.
    let s = ConfServer::start();
    let mut p = s.peer();
    let mut block = lit_block(&[
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "localhost"),
        (":path", "/"),
    ]);
    // Literal with incremental indexing, new name: x-bomb: 'b' x 4000.
    block.push(0x40);
    let mut b = BytesMut::new();
    h2actor::hpack::integer::encode(&mut b, 7, 0, 6);
    b.extend_from_slice(b"x-bomb");
    h2actor::hpack::integer::encode(&mut b, 7, 0, 4000);
    b.extend_from_slice(&[b'b'; 4000]);
    block.extend_from_slice(&b);
    block.extend(std::iter::repeat_n(0xbe, 2000)); // index 62 = x-bomb
    let chunks: Vec<&[u8]> = block.chunks(16_384).collect();
    let mut frames = vec![headers_frame(1, chunks[0], true, chunks.len() == 1)];
    for (i, c) in chunks.iter().enumerate().skip(1) {
        frames.push(continuation(1, c, i == chunks.len() - 1));
    }
    p.send_all(frames);
    let f = p.expect(
        |f| {
            matches!(f, Frame::Headers(h) if h.stream_id.0 == 1)
                || matches!(f, Frame::RstStream(r) if r.stream_id.0 == 1)
                || is_goaway(f)
        },
        "431 or RST_STREAM on 1",
    );
    match f {
        Frame::Headers(_) => assert_eq!(p.status_of(1), Some(431)),
        Frame::RstStream(r) => assert_eq!(r.error_code, ErrorCode::REFUSED_STREAM),
        other => panic!("connection error for an HPACK bomb: {other:?}"),
    }
    // The table stays in sync: x-bomb is entry 62 on the server too. The
    // next request refers to it once (a 4 KB field, under the limit).
    let mut next = lit_block(&[
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "localhost"),
        (":path", "/"),
    ]);
    next.push(0xbe);
    p.send(headers_frame(3, &next, true, true));
    assert_eq!(p.response(3).0, 200);
    s.assert_healthy();
}

#[test]
fn s10_5_provoked_resets_without_reading_stay_bounded() {
    // 20,000 malformed requests (each answered with RST_STREAM) written
    // without reading: the answers wait in the socket and a bounded write
    // buffer; past that the server ends the connection (ENHANCE_YOUR_CALM).
    let s = ConfServer::start();
    let mut p = s.peer();
    let bad = lit_block(&[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        ("X-Upper", "1"),
    ]);
    let flood = encode_all((0..20_000u32).map(|i| headers_frame(2 * i + 1, &bad, true, true)));
    p.send_raw(&flood);
    std::thread::sleep(Duration::from_millis(300));
    let stats = s.stats(0).expect("stats");
    assert!(
        stats.write_buffer_high_water <= (256 << 10) + 16_384 + 9 + 4096,
        "{stats:?}"
    );
    // Everything answered, or a clean ENHANCE_YOUR_CALM.
    let mut resets = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match p.recv_within(deadline.saturating_duration_since(Instant::now())) {
            Ok(Frame::RstStream(r)) => {
                assert_eq!(r.error_code, ErrorCode::PROTOCOL_ERROR);
                resets += 1;
                if resets == 20_000 {
                    eprintln!("all 20,000 resets delivered; {stats:?}");
                    p.assert_alive();
                    break;
                }
            }
            Ok(Frame::GoAway(g)) => {
                eprintln!("GOAWAY after {resets} resets; {stats:?}");
                assert_eq!(g.error_code, ErrorCode::ENHANCE_YOUR_CALM);
                p.expect_connection_closed();
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("{e:?} after {resets} resets"),
        }
    }
    s.assert_healthy();
}
