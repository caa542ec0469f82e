//! RFC 9218 Extensible Priorities: the `priority` field and PRIORITY_UPDATE
//! as received by a server, and the write scheduler's order (§10).

use super::*;
use crate::frame::PriorityUpdate;
use crate::priority::Priority as Prio;

fn update(id: u32, field: &'static str) -> Frame {
    Frame::PriorityUpdate(PriorityUpdate {
        prioritized: StreamId(id),
        field: Bytes::from_static(field.as_bytes()),
    })
}

fn get_with_priority(p: &mut Peer, value: &str) -> Bytes {
    let mut f = GET.to_vec();
    f.push(("priority", value));
    p.block(&f)
}

/// A server with large windows, stream `id` opened with `prio` (a
/// `priority` field value, or none) for each entry, each response of
/// `len` bytes queued.
fn server_sending(streams: &[(u32, Option<&str>)], len: usize) -> Connection {
    let (mut s, mut p) = server_with(Config::default(), vec![Setting::InitialWindowSize(1 << 20)]);
    s.recv_frame(window_update(0, 1 << 20), t0()).unwrap();
    for &(id, prio) in streams {
        let b = match prio {
            Some(v) => get_with_priority(&mut p, v),
            None => p.block(GET),
        };
        s.recv_frame(headers(id, b, true), t0()).unwrap();
        s.send_headers(StreamId(id), response(200), false, t0())
            .unwrap();
        s.send_data(StreamId(id), Bytes::from(vec![0u8; len]), true, t0())
            .unwrap();
    }
    s
}

fn data_order(frames: &[Frame]) -> Vec<u32> {
    data_lens(frames).iter().map(|d| d.0).collect()
}

#[test]
fn rfc9218_s5_the_request_priority_field_sets_the_stream_priority() {
    let s = server_sending(&[(1, Some("u=5, i")), (3, None), (5, Some("u=9, x"))], 1);
    assert_eq!(s.priority(StreamId(1)), Some(Prio::new(5, true)));
    assert_eq!(s.priority(StreamId(3)), Some(Prio::default()));
    assert_eq!(s.priority(StreamId(5)), Some(Prio::default()));
}

#[test]
fn rfc9218_s10_lower_urgency_is_sent_first() {
    let mut s = server_sending(&[(1, Some("u=5")), (3, Some("u=0")), (5, None)], 40_000);
    assert_eq!(data_order(&drain(&mut s)), vec![3, 3, 3, 5, 5, 5, 1, 1, 1]);
}

#[test]
fn rfc9218_s10_non_incremental_streams_of_one_urgency_finish_one_at_a_time_in_id_order() {
    let mut s = server_sending(&[(1, None), (3, None), (5, None)], 40_000);
    assert_eq!(data_order(&drain(&mut s)), vec![1, 1, 1, 3, 3, 3, 5, 5, 5]);
}

#[test]
fn rfc9218_s10_incremental_streams_of_one_urgency_take_turns() {
    let mut s = server_sending(&[(1, Some("i")), (3, Some("i")), (5, Some("i"))], 40_000);
    assert_eq!(data_order(&drain(&mut s)), vec![1, 3, 5, 1, 3, 5, 1, 3, 5]);
}

#[test]
fn rfc9218_s10_a_stream_blocked_on_its_window_does_not_block_less_urgent_ones() {
    // Stream windows of 1,000 bytes: the urgent stream sends 1,000 and
    // waits; the others go on within their own windows.
    let (mut s, mut p) = server_with(Config::default(), vec![Setting::InitialWindowSize(1000)]);
    for (id, v) in [(1, "u=7"), (3, "u=0")] {
        s.recv_frame(headers(id, get_with_priority(&mut p, v), true), t0())
            .unwrap();
        s.send_headers(StreamId(id), response(200), false, t0())
            .unwrap();
        s.send_data(StreamId(id), Bytes::from(vec![0u8; 5000]), true, t0())
            .unwrap();
    }
    assert_eq!(
        data_lens(&drain(&mut s)),
        vec![(3, 1000, false), (1, 1000, false)]
    );
    s.recv_frame(window_update(3, 4000), t0()).unwrap();
    assert_eq!(data_lens(&drain(&mut s)), vec![(3, 4000, true)]);
}

#[test]
fn rfc9218_s10_control_frames_are_never_behind_data() {
    let mut s = server_sending(&[(1, Some("u=0"))], 40_000);
    s.recv_frame(ping(false, [7; 8]), t0()).unwrap();
    let frames = drain(&mut s);
    let first_data = frames.iter().position(|f| matches!(f, Frame::Data(_)));
    let ack = frames
        .iter()
        .position(|f| matches!(f, Frame::Ping(p) if p.ack));
    assert!(ack < first_data, "{frames:?}");
}

#[test]
fn rfc9218_s7_1_priority_update_reorders_an_open_stream() {
    let mut s = server_sending(&[(1, None), (3, Some("u=5"))], 40_000);
    let mut buf = BytesMut::new();
    s.poll_transmit(&mut buf, 20_000, t0());
    s.recv_frame(update(3, "u=1"), t0()).unwrap();
    assert_eq!(s.priority(StreamId(3)), Some(Prio::new(1, false)));
    let mut rest = decode_frames(buf);
    rest.extend(drain(&mut s));
    // Stream 1 had started (two frames out); stream 3 now goes before the rest.
    assert_eq!(data_order(&rest), vec![1, 1, 3, 3, 3, 1]);
}

fn decode_frames(mut buf: BytesMut) -> Vec<Frame> {
    let mut out = Vec::new();
    while let Ok(Some(f)) = Frame::decode(&mut buf, MAX_MAX_FRAME_SIZE) {
        out.push(f);
    }
    out
}

#[test]
fn rfc9218_s7_1_priority_update_for_an_idle_stream_applies_when_it_opens() {
    let (mut s, mut p) = server();
    s.recv_frame(update(3, "u=0, i"), t0()).unwrap();
    // Later signal wins over the request's own field (§7).
    s.recv_frame(headers(3, get_with_priority(&mut p, "u=6"), true), t0())
        .unwrap();
    assert_eq!(s.priority(StreamId(3)), Some(Prio::new(0, true)));
}

#[test]
fn rfc9218_s7_1_priority_updates_for_idle_streams_are_bounded() {
    let (mut s, mut p) = server();
    for i in 0..(MAX_IDLE_PRIORITIES as u32 + 10) {
        s.recv_frame(update(1001 + 2 * i, "u=1"), t0()).unwrap();
    }
    // The first ten were dropped, the later ones kept.
    s.recv_frame(headers(1001, p.block(GET), true), t0())
        .unwrap();
    assert_eq!(s.priority(StreamId(1001)), Some(Prio::default()));
    let last = 1001 + 2 * (MAX_IDLE_PRIORITIES as u32 + 9);
    s.recv_frame(headers(last, p.block(GET), true), t0())
        .unwrap();
    assert_eq!(s.priority(StreamId(last)), Some(Prio::new(1, false)));
}

#[test]
fn rfc9218_s7_1_idle_prioritized_plus_active_streams_beyond_max_concurrent_is_protocol_error() {
    let config = Config {
        max_concurrent_streams: 3,
        ..Config::default()
    };
    let (mut s, mut p) = server_with(config, vec![]);
    s.recv_frame(headers(1, p.block(GET), false), t0()).unwrap();
    s.recv_frame(update(3, "u=1"), t0()).unwrap();
    s.recv_frame(update(5, "u=1"), t0()).unwrap();
    // The same idle stream again replaces its entry: still 1 + 2.
    s.recv_frame(update(5, "u=2"), t0()).unwrap();
    let r = s.recv_frame(update(7, "u=1"), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rfc9218_s7_1_priority_update_for_a_closed_stream_is_ignored() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.send_headers(StreamId(1), response(200), true, t0())
        .unwrap();
    drain(&mut s);
    s.recv_frame(update(1, "u=0"), t0()).unwrap();
    assert!(!s.is_finished());
    assert!(goaway_code(&drain(&mut s)).is_none());
}

#[test]
fn rfc9218_s7_1_priority_update_received_by_a_client_is_protocol_error() {
    let (mut c, _) = client();
    let r = c.recv_frame(update(1, "u=0"), t0());
    assert_conn_error(&mut c, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rfc9218_s7_1_priority_update_for_a_push_never_promised_is_protocol_error() {
    let (mut s, _) = server();
    let r = s.recv_frame(update(2, "u=0"), t0());
    assert_conn_error(&mut s, r, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rfc9218_s7_1_priority_update_for_a_promised_push_reprioritizes_it() {
    let (mut s, mut p) = server();
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    let promised = s
        .push_promise(StreamId(1), push_request("/style.css"))
        .unwrap();
    s.recv_frame(update(promised.0, "u=2"), t0()).unwrap();
    assert_eq!(s.priority(promised), Some(Prio::new(2, false)));
}

#[test]
fn rfc9218_s7_1_malformed_priority_update_is_a_connection_error() {
    let (mut s, _) = server();
    // The frame layer's verdicts reach the connection as GOAWAYs.
    let mut wire = BytesMut::from(&[0, 0, 2, 0x10, 0, 0, 0, 0, 0, 0, 1][..]);
    let e = Frame::decode(&mut wire, MAX_MAX_FRAME_SIZE).unwrap_err();
    let r = s.recv_malformed(e, t0());
    assert_conn_error(&mut s, r, ErrorCode::FRAME_SIZE_ERROR);
}

#[test]
fn rfc9218_s4_a_malformed_field_in_priority_update_is_ignored() {
    let mut s = server_sending(&[(1, Some("u=2"))], 10);
    s.recv_frame(update(1, "u=1,,"), t0()).unwrap();
    // The whole value is ignored: the defaults, not an error.
    assert_eq!(s.priority(StreamId(1)), Some(Prio::default()));
    assert!(!s.is_finished());
}

#[test]
fn a_flood_of_priority_changes_keeps_the_scheduler_bounded() {
    // The connection window is shut (65,535 sent), so the stream stays
    // queued while its priority keeps changing.
    let (mut s, mut p) = server_with(Config::default(), vec![Setting::InitialWindowSize(1 << 20)]);
    s.recv_frame(headers(1, p.block(GET), true), t0()).unwrap();
    s.send_headers(StreamId(1), response(200), false, t0())
        .unwrap();
    s.send_data(StreamId(1), Bytes::from(vec![0u8; 100_000]), true, t0())
        .unwrap();
    drain(&mut s);
    for i in 0..10_000u32 {
        assert!(s.set_priority(StreamId(1), Prio::new((i % 8) as u8, i % 3 == 0)));
    }
    assert!(s.scheduled_entries() <= 70, "{}", s.scheduled_entries());
    s.recv_frame(window_update(0, 1 << 20), t0()).unwrap();
    let sent: usize = data_lens(&drain(&mut s)).iter().map(|d| d.1).sum();
    assert_eq!(sent, 100_000 - 65_535, "the stream is still served once");
}
