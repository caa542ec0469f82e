#!/usr/bin/env python3
"""RFC 9218 benchmark of issue 16 on one h2c connection (python-hyper h2).

A `u=5` download (DOWNLOAD_PATH, e.g. /bytes/67108864) is read at a limited
rate (--rate MB/s) with large windows (16 MiB, as browsers give); after
--warmup seconds, 20 small `u=0` requests (SMALL_PATH) are sent at once.
Prints the time until all 20 have ended and how many download bytes came
in that time (what sat ahead of them: socket buffers, our write queue).

    benches/priority.py HOST PORT DOWNLOAD_PATH SMALL_PATH [--rate 50] [--runs 5] [--no-priority]
"""
import argparse
import socket
import statistics
import time

import h2.config
import h2.connection
import h2.events
import h2.settings

WINDOW = 16 << 20


def run(host, port, big, small, rate, warmup, n_small, signal=True):
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW})
    conn.increment_flow_control_window(WINDOW - 65535)
    base = [(":method", "GET"), (":scheme", "http"), (":authority", f"{host}:{port}")]
    conn.send_headers(1, base + [(":path", big)] + ([("priority", "u=5")] if signal else []), end_stream=True)
    sock.sendall(conn.data_to_send())
    start = time.monotonic()
    got = 0  # bytes read off the socket, for the rate limit
    sent_small = None
    small_ids = []
    ended = set()
    ahead = 0
    done_at = None
    while done_at is None:
        # token bucket: never more than `rate` bytes per second on average
        allowed = rate * (time.monotonic() - start)
        if got > allowed:
            time.sleep(min(0.01, (got - allowed) / rate))
            continue
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("server closed")
        got += len(data)
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.DataReceived):
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                if ev.stream_id == 1 and sent_small is not None:
                    ahead += len(ev.data)
            if isinstance(ev, h2.events.StreamEnded):
                ended.add(ev.stream_id)
            if isinstance(ev, h2.events.StreamReset):
                raise RuntimeError(f"reset {ev.stream_id}")
        if sent_small is None and time.monotonic() - start >= warmup:
            for i in range(n_small):
                sid = conn.get_next_available_stream_id()
                small_ids.append(sid)
                conn.send_headers(sid, base + [(":path", small)] + ([("priority", "u=0")] if signal else []), end_stream=True)
            sent_small = time.monotonic()
        if sent_small is not None and all(s in ended for s in small_ids):
            done_at = time.monotonic()
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    sock.close()
    return (done_at - sent_small) * 1000, ahead


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("big")
    ap.add_argument("small")
    ap.add_argument("--rate", type=float, default=50, help="MB/s")
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-priority", action="store_true", help="send no priority fields")
    a = ap.parse_args()
    ms, mb = [], []
    for _ in range(a.runs):
        t, ahead = run(a.host, a.port, a.big, a.small, a.rate * 1e6, a.warmup, 20, not a.no_priority)
        ms.append(t)
        mb.append(ahead / 1e6)
    print(f"20 u=0 requests done after (ms): median {statistics.median(ms):.1f}, "
          f"runs {' '.join(f'{x:.1f}' for x in ms)}; download MB ahead: median {statistics.median(mb):.2f}")


if __name__ == "__main__":
    main()
