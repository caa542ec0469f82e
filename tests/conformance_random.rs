//! End-to-end robustness: many connections, each sending a random mix of
//! valid, odd and (now and then) invalid or out-of-order frames (fixed
//! seeds, reproducible), then a final PING. Whatever the mix, the server must either answer that PING
//! (the connection survived) or send a GOAWAY that reaches us before the
//! close (RFC 9113 §5.4.1); it must never hang, never close silently, and
//! never panic.

mod support;

use std::time::{Duration, Instant};

use h2actor::frame::{kind, ErrorCode, Frame, Setting};
use support::raw_peer::*;

/// xorshift64*: small, deterministic, good enough to pick frames.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// One random frame (or raw bytes) for a connection whose highest stream
/// so far is `*top`.
fn random_frame(r: &mut Rng, p: &mut Peer, top: &mut u32, sent_goaway: &mut bool) -> Vec<u8> {
    let mut b = bytes::BytesMut::new();
    let stream = match r.below(4) {
        0 => 0,
        1 => *top,
        2 => *top + 2,
        _ => 1 + 2 * r.below(8) as u32,
    };
    let f: Frame = match r.below(16) {
        0..=3 => {
            let id = *top + 2;
            *top = id;
            let path = match r.below(4) {
                0 => "/".to_string(),
                1 => format!("/bytes/{}", r.below(70_000)),
                2 => "/echo".to_string(),
                _ => "/trailers".to_string(),
            };
            let mut fields = get_fields(&path);
            if path == "/echo" {
                fields[0].1 = "POST".into();
            }
            let block = p.encode(&fields);
            headers_frame(id, &block, path != "/echo", true)
        }
        4 => {
            let n = r.below(300) as usize;
            data(stream, &r.bytes(n), r.below(2) == 0)
        }
        5 => rst(stream, ErrorCode(r.below(15) as u32)),
        6 => window_update(stream, r.below(3) as u32 * r.below(1 << 20) as u32),
        7 => priority(stream, r.below(10) as u32),
        8 => {
            let s = match r.below(6) {
                0 => Setting::InitialWindowSize(r.below(1 << 20) as u32),
                1 => Setting::MaxFrameSize(16_384 + r.below(1 << 16) as u32),
                2 => Setting::HeaderTableSize(r.below(8192) as u32),
                3 => Setting::MaxConcurrentStreams(r.below(300) as u32),
                4 => Setting::EnablePush(r.below(2) == 0),
                _ => Setting::MaxHeaderListSize(r.below(1 << 20) as u32),
            };
            settings(&[s])
        }
        9 => ping(r.next().to_be_bytes()),
        10 => continuation(stream, &lit(b"x-c", b"1"), r.below(2) == 0),
        11 => {
            // A field block left open half the time.
            let block = lit_block(&[(":method", "GET"), (":scheme", "http"), (":path", "/")]);
            let id = *top + 2;
            *top = id;
            headers_frame(id, &block, true, r.below(2) == 0)
        }
        12 => {
            // Any type, any flags, any payload (lengths kept honest).
            let len = r.below(40) as usize;
            let payload = r.bytes(len);
            return raw_frame(r.below(12) as u8, r.next() as u8, stream, &payload);
        }
        13 => {
            // A malformed request (uppercase name): a stream error.
            let id = *top + 2;
            *top = id;
            let block = lit_block(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                ("X-Bad", "1"),
            ]);
            headers_frame(id, &block, true, true)
        }
        14 => {
            if r.below(8) == 0 {
                *sent_goaway = true;
                goaway(*top, ErrorCode(r.below(3) as u32))
            } else {
                ping(*b"randping")
            }
        }
        _ => {
            // A frame header announcing more than SETTINGS_MAX_FRAME_SIZE
            // (detected from the header alone), or random bytes under an
            // honest header. (Bytes that announce a longer frame than
            // follows just make the server wait for the rest: nothing to
            // detect, so not generated.)
            if r.below(2) == 0 {
                let mut v = raw_frame(r.next() as u8, r.next() as u8, stream, b"");
                v[0] = 1 + r.below(255) as u8; // length >= 65,536
                return v;
            }
            let n = r.below(64) as usize;
            let payload = r.bytes(n);
            return raw_frame(r.next() as u8, r.next() as u8, stream, &payload);
        }
    };
    f.encode(&mut b);
    b.to_vec()
}

/// One frame a well-behaved (if odd) client may send: never a
/// connection error, at most a stream error.
fn benign_frame(r: &mut Rng, p: &mut Peer, top: &mut u32) -> Vec<u8> {
    let f: Frame = match r.below(9) {
        0..=2 => {
            let id = *top + 2;
            *top = id;
            let path = match r.below(3) {
                0 => "/".to_string(),
                1 => format!("/bytes/{}", r.below(70_000)),
                _ => "/trailers".to_string(),
            };
            let block = p.encode(&get_fields(&path));
            headers_frame(id, &block, true, true)
        }
        3 => ping(r.next().to_be_bytes()),
        4 => priority(1 + 2 * r.below(20) as u32, r.below(10) as u32),
        5 => window_update(0, 1 + r.below(1 << 16) as u32),
        6 => settings(&[match r.below(3) {
            0 => Setting::InitialWindowSize(1 + r.below(1 << 20) as u32),
            1 => Setting::MaxFrameSize(16_384 + r.below(1 << 16) as u32),
            _ => Setting::MaxConcurrentStreams(r.below(300) as u32),
        }]),
        7 => {
            let id = *top + 2;
            *top = id;
            let block = lit_block(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                ("X-Bad", "1"),
            ]);
            headers_frame(id, &block, true, true)
        }
        _ => {
            let n = r.below(30) as usize + 1;
            let payload = r.bytes(n);
            return raw_frame(0x20 + r.below(200) as u8, r.next() as u8, 0, &payload);
        }
    };
    let mut b = bytes::BytesMut::new();
    f.encode(&mut b);
    b.to_vec()
}

/// How a connection ended up.
#[derive(Debug, Default)]
struct Tally {
    alive: usize,
    goaway: usize,
    closed_after_our_goaway: usize,
}

fn run_seed(s: &ConfServer, seed: u64, tally: &mut Tally) {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut p = s.peer();
    let mut top = 1u32;
    let mut sent_goaway = false;
    let mut bytes = Vec::new();
    let hostility = 10 + r.below(60);
    for _ in 0..(5 + r.below(30)) {
        if r.below(hostility) == 0 {
            bytes.extend(random_frame(&mut r, &mut p, &mut top, &mut sent_goaway));
        } else {
            bytes.extend(benign_frame(&mut r, &mut p, &mut top));
        }
    }
    bytes.extend(raw_frame(kind::PING, 0, 0, b"final!!!"));
    if std::env::var_os("CONFORMANCE_DEBUG").is_some() {
        eprintln!("seed {seed} sends:");
        let mut b = bytes::BytesMut::from(&bytes[..]);
        loop {
            match Frame::decode(&mut b, 1 << 24) {
                Ok(Some(f)) => eprintln!("  {}", describe(&f)),
                Ok(None) => break,
                Err(e) => {
                    eprintln!("  undecodable: {e} ({} bytes left)", b.len());
                    break;
                }
            }
        }
    }
    p.send_raw(&bytes);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match p.recv_within(left) {
            Ok(Frame::Ping(ping)) if ping.ack && &ping.payload == b"final!!!" => {
                tally.alive += 1;
                return;
            }
            Ok(Frame::GoAway(g)) if g.error_code != ErrorCode::NO_ERROR || !sent_goaway => {
                // A connection error: then the close.
                p.expect_connection_closed();
                tally.goaway += 1;
                return;
            }
            Ok(Frame::Data(d)) => {
                // Keep the server's windows open so nothing stalls on us.
                let n = d.flow_len();
                if n > 0 {
                    p.send(window_update(0, n));
                }
            }
            Ok(_) => {}
            Err(Closed::Eof) if sent_goaway => {
                tally.closed_after_our_goaway += 1;
                return;
            }
            Err(e) => panic!(
                "seed {seed}: {e:?} without GOAWAY or PING ACK; last frames {:?}",
                p.tail()
            ),
        }
    }
}

#[test]
fn random_frame_sequences_end_in_a_pong_or_a_delivered_goaway() {
    let s = ConfServer::start();
    let mut tally = Tally::default();
    // CONFORMANCE_SEEDS=N runs more (the default keeps the suite fast).
    let seeds: u64 = std::env::var("CONFORMANCE_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let first: u64 = std::env::var("CONFORMANCE_FIRST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for seed in first..first + seeds {
        run_seed(&s, seed, &mut tally);
    }
    eprintln!("{tally:?}");
    // The mix must exercise both outcomes.
    if seeds >= 100 {
        assert!(tally.alive > 10 && tally.goaway > 10, "{tally:?}");
    }
    s.assert_healthy();
}
