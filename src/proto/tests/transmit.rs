//! What `poll_transmit` writes: frame sizes (§4.2), DATA order and limits, trailers behind DATA (§8.1).

use super::*;

#[test]
fn s6_5_2_max_frame_size_splits_data() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(1 << 20)]);
    s.recv_frame(window_update(0, 1 << 20), t0()).unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 40_000]), true, t0())
        .unwrap();
    assert_eq!(
        data_lens(&drain(&mut s)),
        vec![(1, 16_384, false), (1, 16_384, false), (1, 7_232, true)]
    );
}

#[test]
fn s6_5_2_peer_max_frame_size_is_used_for_data() {
    let (mut s, _) = server_responding(vec![
        Setting::InitialWindowSize(1 << 20),
        Setting::MaxFrameSize(32_768),
    ]);
    s.recv_frame(window_update(0, 1 << 20), t0()).unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 40_000]), true, t0())
        .unwrap();
    assert_eq!(
        data_lens(&drain(&mut s)),
        vec![(1, 32_768, false), (1, 7_232, true)]
    );
}

#[test]
fn s6_10_large_field_block_is_split_into_continuations() {
    let (mut s, mut p) = server_with(Config::default(), vec![]);
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    let mut resp = Response::builder().status(200);
    for i in 0..10 {
        resp = resp.header(format!("x-h{i}"), "v".repeat(3000));
    }
    s.send_headers(
        StreamId(1),
        Head::Response(resp.body(()).unwrap()),
        true,
        t0(),
    )
    .unwrap();
    let frames = drain(&mut s);
    let Frame::Headers(h) = &frames[0] else {
        panic!()
    };
    assert!(!h.end_headers);
    assert!(h.end_stream);
    let mut block = BytesMut::from(&h.block[..]);
    for f in &frames[1..] {
        let Frame::Continuation(c) = f else {
            panic!("only CONTINUATION may follow: {f:?}")
        };
        block.extend_from_slice(&c.block);
    }
    assert!(matches!(frames.last(), Some(Frame::Continuation(c)) if c.end_headers));
    assert_eq!(p.decode(&block).len(), 11);
}

#[test]
fn data_of_incremental_streams_is_sent_round_robin() {
    let (mut s, mut p) = server_with(Config::default(), vec![Setting::InitialWindowSize(1 << 20)]);
    s.recv_frame(window_update(0, 1 << 20), t0()).unwrap();
    for id in [1, 3, 5] {
        s.recv_frame(headers(id, p.block(GET), true), t0()).unwrap();
        s.set_priority(StreamId(id), crate::priority::Priority::new(3, true));
        s.send_headers(StreamId(id), response(200), false, t0())
            .unwrap();
        s.send_data(StreamId(id), Bytes::from(vec![0u8; 40_000]), true, t0())
            .unwrap();
    }
    let order: Vec<u32> = data_lens(&drain(&mut s)).iter().map(|d| d.0).collect();
    assert_eq!(order, vec![1, 3, 5, 1, 3, 5, 1, 3, 5]);
}

#[test]
fn poll_transmit_stops_near_limit() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(1 << 20)]);
    s.recv_frame(window_update(0, 1 << 20), t0()).unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 100_000]), true, t0())
        .unwrap();
    let mut buf = BytesMut::new();
    s.poll_transmit(&mut buf, 20_000, t0());
    assert!(buf.len() >= 20_000 && buf.len() < 20_000 + 16_384 + 9);
    assert!(s.wants_transmit());
}

#[test]
fn data_sent_reported_only_when_written() {
    let (mut s, _) = server_responding(vec![]);
    s.send_data(StreamId(1), Bytes::from_static(b"hello"), false, t0())
        .unwrap();
    assert!(events(&mut s).is_empty());
    drain(&mut s);
    assert!(matches!(
        events(&mut s)[..],
        [Event::DataSent {
            id: StreamId(1),
            len: 5
        }]
    ));
}

#[test]
fn s8_1_trailers_are_sent_after_queued_data() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(3)]);
    s.send_data(StreamId(1), Bytes::from_static(b"hello"), false, t0())
        .unwrap();
    let mut t = HeaderMap::new();
    t.insert("x-trailer-test", HeaderValue::from_static("ok"));
    s.send_trailers(StreamId(1), t, t0()).unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 3, false)]);
    s.recv_frame(window_update(1, 10), t0()).unwrap();
    let frames = drain(&mut s);
    assert_eq!(data_lens(&frames), vec![(1, 2, false)]);
    let Some(Frame::Headers(h)) = frames.last() else {
        panic!("{frames:?}")
    };
    assert!(h.end_stream);
    assert!(matches!(
        events(&mut s).last(),
        Some(Event::Finished { .. })
    ));
}

#[test]
fn data_frames_stay_near_the_transmit_limit_with_huge_peer_frames() {
    let (mut s, _) = server_responding(vec![
        Setting::InitialWindowSize(frame::MAX_WINDOW_SIZE),
        Setting::MaxFrameSize(MAX_MAX_FRAME_SIZE),
    ]);
    s.recv_frame(window_update(0, 1 << 30), t0()).unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 4 << 20]), true, t0())
        .unwrap();
    let mut buf = BytesMut::new();
    s.poll_transmit(&mut buf, 100_000, t0());
    assert!(buf.len() <= 100_000 + 9, "{}", buf.len());
}

#[test]
fn end_stream_goes_out_while_the_connection_window_is_shut() {
    let (mut s, mut p) = server_with(Config::default(), vec![Setting::InitialWindowSize(1 << 20)]);
    for id in [1, 3] {
        s.recv_frame(headers(id, p.block(GET), true), t0()).unwrap();
        s.send_headers(StreamId(id), response(200), false, t0())
            .unwrap();
    }
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 70_000]), true, t0())
        .unwrap();
    let sent: usize = data_lens(&drain(&mut s)).iter().map(|d| d.1).sum();
    assert_eq!(sent, 65_535);
    // stream 1 waits for the connection window; stream 3 ends with no data
    s.send_data(StreamId(3), Bytes::new(), true, t0()).unwrap();
    assert!(s.wants_transmit());
    assert_eq!(data_lens(&drain(&mut s)), vec![(3, 0, true)]);
    assert_eq!(s.queued_bytes(StreamId(1)), 70_000 - 65_535);
    s.recv_frame(window_update(0, 10_000), t0()).unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 70_000 - 65_535, true)]);
}

#[test]
fn empty_data_with_end_stream_is_sent_without_window() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(0)]);
    s.send_data(StreamId(1), Bytes::new(), true, t0()).unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(1, 0, true)]);
}

#[test]
fn s8_1_request_trailers_from_client_are_sent_after_body() {
    let (mut c, mut p) = client_with_open_stream();
    c.send_data(StreamId(1), Bytes::from_static(b"body"), false, t0())
        .unwrap();
    let mut t = HeaderMap::new();
    t.insert("grpc-status", HeaderValue::from_static("0"));
    c.send_trailers(StreamId(1), t, t0()).unwrap();
    let frames = drain(&mut c);
    assert_eq!(data_lens(&frames), vec![(1, 4, false)]);
    let Some(Frame::Headers(h)) = frames.last() else {
        panic!("{frames:?}")
    };
    assert!(h.end_stream);
    let _ = &mut p;
}

// ---------------------------------------------------------------------------
// `poll_transmit_vectored`: the same frames, large payloads not copied.

/// One `writev` of at most `max` bytes (over at most 64 segments).
fn write_once(q: &mut WriteQueue, max: usize) -> Vec<u8> {
    let mut io = [std::io::IoSlice::new(&[]); 64];
    let n = q.chunks_vectored(&mut io);
    let mut out = Vec::new();
    for s in &io[..n] {
        let take = (max - out.len()).min(s.len());
        out.extend_from_slice(&s[..take]);
    }
    q.advance(out.len());
    out
}

/// Every byte left in `q`, written by `writev`s of at most `max` bytes.
fn write_out(q: &mut WriteQueue, max: usize) -> BytesMut {
    let mut out = BytesMut::new();
    while !q.is_empty() {
        out.extend_from_slice(&write_once(q, max));
    }
    out
}

fn decode_all(mut buf: BytesMut) -> Vec<Frame> {
    let mut out = Vec::new();
    while let Some(f) = Frame::decode(&mut buf, MAX_MAX_FRAME_SIZE).unwrap() {
        out.push(f);
    }
    assert!(buf.is_empty(), "trailing bytes");
    out
}

/// Two streams with large and small DATA, trailers, a PING to answer.
fn busy_server() -> Connection {
    let (mut s, mut p) = server_with(Config::default(), vec![Setting::InitialWindowSize(1 << 20)]);
    s.recv_frame(window_update(0, 1 << 20), t0()).unwrap();
    for id in [1, 3] {
        s.recv_frame(headers(id, p.block(GET), true), t0()).unwrap();
        s.send_headers(StreamId(id), response(200), false, t0())
            .unwrap();
    }
    s.send_data(StreamId(1), Bytes::from(vec![1u8; 40_000]), false, t0())
        .unwrap();
    s.send_data(StreamId(3), Bytes::from_static(b"small"), false, t0())
        .unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![2u8; 2_000]), false, t0())
        .unwrap();
    s.send_data(StreamId(3), Bytes::from(vec![3u8; 20_000]), true, t0())
        .unwrap();
    let mut t = HeaderMap::new();
    t.insert("x-trailer-test", HeaderValue::from_static("ok"));
    s.send_trailers(StreamId(1), t, t0()).unwrap();
    s.recv_frame(ping(false, *b"12345678"), t0()).unwrap();
    s
}

#[test]
fn vectored_transmit_writes_the_same_bytes_as_poll_transmit() {
    for limit in [1, 10_000, 30_000, usize::MAX] {
        let mut flat_conn = busy_server();
        let mut vec_conn = busy_server();
        let mut flat = BytesMut::new();
        let mut vectored = BytesMut::new();
        let mut q = WriteQueue::new();
        for _ in 0..100 {
            let (fl, ql) = (flat.len(), q.len());
            flat_conn.poll_transmit(&mut flat, fl.saturating_add(limit), t0());
            vec_conn.poll_transmit_vectored(&mut q, ql.saturating_add(limit), t0());
            // The writer takes odd-sized bites between turns.
            vectored.extend_from_slice(&write_once(&mut q, 7_777));
            if !flat_conn.wants_transmit() && !vec_conn.wants_transmit() {
                break;
            }
        }
        assert!(!vec_conn.wants_transmit());
        vectored.extend_from_slice(&write_out(&mut q, usize::MAX));
        assert_eq!(flat.len(), vectored.len(), "limit {limit}");
        assert!(flat == vectored, "limit {limit}: different bytes");
        assert_eq!(
            format!("{:?}", events(&mut flat_conn)),
            format!("{:?}", events(&mut vec_conn))
        );
    }
}

#[test]
fn vectored_transmit_shares_large_payloads_and_copies_small_ones() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(1 << 20)]);
    s.recv_frame(window_update(0, 1 << 20), t0()).unwrap();
    let big = Bytes::from(vec![9u8; 40_000]);
    s.send_data(StreamId(1), big.clone(), false, t0()).unwrap();
    s.send_data(StreamId(1), Bytes::from_static(b"tiny"), true, t0())
        .unwrap();
    let mut q = WriteQueue::new();
    s.poll_transmit_vectored(&mut q, usize::MAX, t0());
    // head, 16 KiB, head, 16 KiB, head, 7,232 bytes, head + "tiny".
    assert_eq!(q.segments(), 7);
    let mut io = [std::io::IoSlice::new(&[]); 8];
    assert_eq!(q.chunks_vectored(&mut io), 7);
    for (i, at) in [(1, 0), (3, 16_384), (5, 32_768)] {
        assert_eq!(
            io[i].as_ptr(),
            big[at..].as_ptr(),
            "segment {i} is a slice of the user's bytes"
        );
    }
    assert_eq!(io[6].len(), 9 + 4);
    assert_eq!(
        data_lens(&decode_all(write_out(&mut q, usize::MAX))),
        vec![
            (1, 16_384, false),
            (1, 16_384, false),
            (1, 7_232, false),
            (1, 4, true)
        ]
    );
}

#[test]
fn vectored_transmit_stops_near_limit() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(1 << 20)]);
    s.recv_frame(window_update(0, 1 << 20), t0()).unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 100_000]), true, t0())
        .unwrap();
    let mut q = WriteQueue::new();
    s.poll_transmit_vectored(&mut q, 20_000, t0());
    assert!(
        q.len() >= 20_000 && q.len() < 20_000 + 16_384 + 9,
        "{}",
        q.len()
    );
    assert!(s.wants_transmit());
}

#[test]
fn s6_7_ping_ack_answered_during_a_partial_write_follows_the_data_in_flight() {
    let (mut s, _) = server_responding(vec![Setting::InitialWindowSize(1 << 20)]);
    s.recv_frame(window_update(0, 1 << 20), t0()).unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![5u8; 40_000]), true, t0())
        .unwrap();
    let mut q = WriteQueue::new();
    s.poll_transmit_vectored(&mut q, 16_384 + 9, t0());
    // The socket took the first DATA head only: what is left is the
    // payload, referenced; the copy buffer is empty (but allocated: the
    // ACK is copied into it, behind the payload).
    let mut out = write_out_n(&mut q, 9);
    s.recv_frame(ping(false, *b"abcdefgh"), t0()).unwrap();
    s.poll_transmit_vectored(&mut q, usize::MAX, t0());
    out.extend_from_slice(&write_out(&mut q, 1000));
    let frames = decode_all(out);
    assert!(matches!(&frames[0], Frame::Data(d) if d.data.len() == 16_384));
    assert!(matches!(&frames[1], Frame::Ping(p) if p.ack && &p.payload == b"abcdefgh"));
    assert_eq!(
        data_lens(&frames[2..]),
        vec![(1, 16_384, false), (1, 7_232, true)]
    );
}

/// Exactly `n` bytes out of `q`.
fn write_out_n(q: &mut WriteQueue, n: usize) -> BytesMut {
    let mut out = BytesMut::new();
    while out.len() < n {
        let c = q.chunk();
        let take = c.len().min(n - out.len());
        out.extend_from_slice(&c[..take]);
        q.advance(take);
    }
    out
}

#[test]
fn field_blocks_reuse_a_small_pending_buffer_when_the_queue_has_its_own() {
    // The actor's writer hands `poll_transmit_vectored` a queue with a
    // (pooled) buffer: the response HEADERS are copied into it, and the
    // protocol keeps its small buffer for the next response instead of
    // allocating one per response.
    let (mut s, mut p) = server_with(Config::default(), vec![]);
    let mut q = WriteQueue::new();
    q.set_buffer(BytesMut::with_capacity(64 << 10));
    for id in [1u32, 3, 5, 7] {
        s.recv_frame(headers(id, p.block(GET), true), t0()).unwrap();
        s.send_headers(StreamId(id), response(200), false, t0())
            .unwrap();
        s.send_data(
            StreamId(id),
            Bytes::from_static(b"hello world\n"),
            true,
            t0(),
        )
        .unwrap();
        s.poll_transmit_vectored(&mut q, usize::MAX, t0());
        let cap = s.pending_capacity();
        // Kept, and small (`PENDING_KEEP`, 256 bytes).
        assert!(cap > 0 && cap <= 256, "{cap}");
        let frames = decode_all(write_out(&mut q, usize::MAX));
        assert!(
            matches!(&frames[0], Frame::Headers(h) if h.stream_id == StreamId(id) && h.end_headers)
        );
        assert_eq!(data_lens(&frames[1..]), vec![(id, 12, true)]);
    }
}

#[test]
fn pending_moves_into_a_queue_without_a_buffer() {
    // A caller that keeps no buffer (a fresh queue per call) still gets the
    // pending bytes without a copy: here the 4 KiB buffer the first
    // SETTINGS were encoded into.
    let mut s = Connection::new(Role::Server, Config::default(), t0());
    let mut q = WriteQueue::new();
    s.poll_transmit_vectored(&mut q, usize::MAX, t0());
    assert!(q.buffer_capacity() >= 4096);
    assert_eq!(s.pending_capacity(), 0);
    let frames = decode_all(write_out(&mut q, usize::MAX));
    assert!(matches!(frames[0], Frame::Settings(_)));
}

#[test]
fn a_large_pending_buffer_is_let_go_once_copied() {
    // Copied into the writer's buffer, the 4 KiB the first SETTINGS were
    // encoded into is not kept by an idle connection.
    let mut s = Connection::new(Role::Server, Config::default(), t0());
    assert!(s.pending_capacity() >= 4096);
    let mut q = WriteQueue::new();
    q.set_buffer(BytesMut::with_capacity(64 << 10));
    s.poll_transmit_vectored(&mut q, usize::MAX, t0());
    assert_eq!(s.pending_capacity(), 0);
    let frames = decode_all(write_out(&mut q, usize::MAX));
    assert!(matches!(frames[0], Frame::Settings(_)));
}
