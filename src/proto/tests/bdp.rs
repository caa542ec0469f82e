//! The adaptive receive window (`Config::adaptive_window`, see
//! `connection/bdp.rs`): BDP PINGs while DATA arrives, and windows raised
//! by SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113 §6.9.2) and a connection
//! WINDOW_UPDATE (§6.9.1) when the window is what limits the peer.

use super::*;
use crate::proto::BDP_PING;

const MIB: u32 = 1 << 20;

fn adaptive(cap: u32) -> Config {
    Config {
        adaptive_window: Some(cap),
        ..no_timeouts()
    }
}

/// A server with request stream 1 open (its body to come).
fn open(config: Config) -> (Connection, Peer) {
    let (mut s, mut p) = server_with(config, vec![]);
    let b = p.block(POST);
    s.recv_frame(headers(1, b, false), t0()).unwrap();
    events(&mut s);
    drain(&mut s);
    (s, p)
}

fn bdp_pings(frames: &[Frame]) -> usize {
    frames
        .iter()
        .filter(|f| matches!(f, Frame::Ping(p) if !p.ack && p.payload == BDP_PING))
        .count()
}

fn ack() -> Frame {
    ping(true, BDP_PING)
}

fn initial_window_sent(frames: &[Frame]) -> Option<u32> {
    frames.iter().find_map(|f| match f {
        Frame::Settings(s) if !s.ack => s.params.iter().find_map(|p| match p {
            Setting::InitialWindowSize(n) => Some(*n),
            _ => None,
        }),
        _ => None,
    })
}

/// Sends `total` bytes of DATA on stream 1 in frames of 16 KiB at `at`.
fn send_body(s: &mut Connection, total: usize, at: Instant) -> Result<(), ConnectionError> {
    let mut left = total;
    while left > 0 {
        let n = left.min(16_384);
        s.recv_frame(data_n(1, n, false), at)?;
        left -= n;
    }
    Ok(())
}

#[test]
fn off_by_default_no_bdp_ping() {
    let (mut s, _) = open(no_timeouts());
    send_body(&mut s, 64 << 10, t0()).unwrap();
    assert_eq!(bdp_pings(&drain(&mut s)), 0);
}

#[test]
fn s6_9_2_a_window_the_peer_fills_in_one_round_trip_is_doubled() {
    let (mut s, _) = open(adaptive(16 * MIB));
    // The first DATA sends the BDP PING; the peer fills 800 KiB of the
    // 1 MiB stream window before the ACK comes back 40 ms later.
    send_body(&mut s, 800 << 10, t0()).unwrap();
    assert_eq!(bdp_pings(&drain(&mut s)), 1);
    s.recv_frame(ack(), t0() + Duration::from_millis(40))
        .unwrap();
    let out = drain(&mut s);
    assert_eq!(initial_window_sent(&out), Some(1600 << 10));
    // The connection window (4 MiB) is already larger: no WINDOW_UPDATE.
    assert!(!out.iter().any(|f| matches!(f, Frame::WindowUpdate(_))));
    // The peer may use the larger window as soon as it reads the SETTINGS,
    // before we see its ACK (§6.9.2): 1600 KiB in all on stream 1 is fine.
    let t1 = t0() + Duration::from_millis(41);
    send_body(&mut s, 800 << 10, t1).unwrap();
    s.recv_frame(settings_ack(), t1).unwrap();
    assert!(drain(&mut s)
        .iter()
        .all(|f| !matches!(f, Frame::RstStream(_))));
    // The ACK did not add the difference a second time: one byte more is
    // beyond the stream's window (§6.9.1).
    s.recv_frame(data_n(1, 1, false), t1).unwrap();
    assert_eq!(
        rst_code(&drain(&mut s), 1),
        Some(ErrorCode::FLOW_CONTROL_ERROR)
    );
}

#[test]
fn s6_9_1_the_connection_window_grows_with_the_stream_window() {
    let config = Config {
        initial_window_size: 3 * MIB,
        ..adaptive(64 * MIB)
    };
    let (mut s, _) = open(config);
    send_body(&mut s, 2560 << 10, t0()).unwrap();
    s.recv_frame(ack(), t0() + Duration::from_millis(40))
        .unwrap();
    let out = drain(&mut s);
    assert_eq!(initial_window_sent(&out), Some(5 * MIB));
    // The connection window (4 MiB) follows: one more MiB.
    assert!(out.contains(&window_update(0, MIB)), "{out:?}");
}

#[test]
fn a_window_that_does_not_limit_the_peer_stays() {
    let (mut s, _) = open(adaptive(16 * MIB));
    send_body(&mut s, 100 << 10, t0()).unwrap();
    drain(&mut s);
    s.recv_frame(ack(), t0() + Duration::from_millis(40))
        .unwrap();
    assert_eq!(initial_window_sent(&drain(&mut s)), None);
}

#[test]
fn growth_stops_at_the_cap_and_so_do_the_pings() {
    let (mut s, _) = open(adaptive(1536 << 10));
    send_body(&mut s, 900 << 10, t0()).unwrap();
    drain(&mut s);
    s.recv_frame(ack(), t0() + Duration::from_millis(40))
        .unwrap();
    assert_eq!(initial_window_sent(&drain(&mut s)), Some(1536 << 10));
    // At the cap: no more samples.
    send_body(&mut s, 16 << 10, t0() + Duration::from_secs(1)).unwrap();
    assert_eq!(bdp_pings(&drain(&mut s)), 0);
}

#[test]
fn samples_are_spaced_by_two_round_trips_or_50_ms() {
    let (mut s, _) = open(adaptive(16 * MIB));
    send_body(&mut s, 16 << 10, t0()).unwrap();
    assert_eq!(bdp_pings(&drain(&mut s)), 1);
    // Bytes while the PING is out: no second PING.
    send_body(&mut s, 16 << 10, t0()).unwrap();
    assert_eq!(bdp_pings(&drain(&mut s)), 0);
    let acked = t0() + Duration::from_millis(1);
    s.recv_frame(ack(), acked).unwrap();
    send_body(&mut s, 16 << 10, acked + Duration::from_millis(10)).unwrap();
    assert_eq!(bdp_pings(&drain(&mut s)), 0);
    send_body(&mut s, 16 << 10, acked + Duration::from_millis(50)).unwrap();
    assert_eq!(bdp_pings(&drain(&mut s)), 1);
}

#[test]
fn s10_5_only_the_ack_we_asked_for_skips_the_flood_count() {
    // An ACK with the BDP payload and no BDP PING out is an unexpected
    // ACK like any other: ignored, and counted as a cheap frame.
    let (mut s, _) = open(adaptive(16 * MIB));
    let mut r = Ok(());
    for _ in 0..100_000 {
        r = s.recv_frame(ack(), t0());
        if r.is_err() {
            break;
        }
    }
    assert_conn_error(&mut s, r, ErrorCode::ENHANCE_YOUR_CALM);
}
