"""grpcio (gRPC C-core, its own HTTP/2 stack) calling examples/grpc.rs with
raw bytes (identity serializers): the peer of tests/interop_grpc.rs.

    python3 grpc_client.py HOST:PORT CASE

Each case asserts what it expects, prints one line `ok CASE ...` with its
figures on success, and exits 1 with the reason otherwise. Every call has a
deadline, so nothing waits forever.
"""
import sys
import time

import grpc

UNARY = "/echo.Echo/Unary"
COUNT = "/echo.Echo/Count"
SLEEP = "/echo.Echo/Sleep"


def unary(ch, path=UNARY):
    return ch.unary_unary(path, request_serializer=None, response_deserializer=None)


def stream(ch, path=COUNT):
    return ch.unary_stream(path, request_serializer=None, response_deserializer=None)


def expect_error(call, code):
    try:
        got = call()
    except grpc.RpcError as e:
        assert e.code() == code, f"expected {code}, got {e.code()}: {e.details()}"
        return e.details()
    raise AssertionError(f"expected {code}, got an answer of {len(got)} bytes")


def case_unary(ch):
    for message in [b"hello gRPC", b"", bytes(range(256)) * 64]:
        got = unary(ch)(message, timeout=10)
        assert got == message, f"sent {len(message)} bytes, got {len(got)} back"
    return "3 calls"


def case_concurrent(ch):
    n = 1000
    messages = [f"{i}:".encode() + bytes([i % 251]) * (i * 37 % 3000) for i in range(n)]
    start = time.monotonic()
    futures = [unary(ch).future(m, timeout=60) for m in messages]
    for i, (f, m) in enumerate(zip(futures, messages)):
        got = f.result()
        assert got == m, f"call {i}: sent {len(m)} bytes, got {len(got)} back"
    took = time.monotonic() - start
    return f"{n} calls in {took:.3f} s"


def case_big(ch):
    message = bytes(range(256)) * ((4 << 20) // 256)  # exactly 4 MiB
    start = time.monotonic()
    got = unary(ch)(message, timeout=30)
    took = time.monotonic() - start
    assert got == message, f"sent {len(message)} bytes, got {len(got)} back"
    # 5 MiB is over the server's limit (4 MiB + 64 KiB).
    details = expect_error(
        lambda: unary(ch)(b"x" * (5 << 20), timeout=30), grpc.StatusCode.RESOURCE_EXHAUSTED
    )
    assert "larger than the limit" in details, details
    return f"{len(message)} bytes in {took:.3f} s; 5 MiB refused: {details}"


def case_count(ch):
    start = time.monotonic()
    got = list(stream(ch)(b"1000", timeout=30))
    took = time.monotonic() - start
    want = [str(i).encode() for i in range(1, 1001)]
    assert got == want, f"{len(got)} messages, first {got[:3]}, last {got[-3:]}"
    assert list(stream(ch)(b"0", timeout=10)) == []
    details = expect_error(lambda: list(stream(ch)(b"ten", timeout=10)), grpc.StatusCode.INVALID_ARGUMENT)
    return f"1000 messages in {took:.3f} s; N=0 none; 'ten': {details}"


def case_deadline(ch):
    assert unary(ch, SLEEP)(b"10", timeout=10) == b"10"
    start = time.monotonic()
    expect_error(lambda: unary(ch, SLEEP)(b"3000", timeout=0.2), grpc.StatusCode.DEADLINE_EXCEEDED)
    took = time.monotonic() - start
    assert took < 1.5, f"the deadline took {took:.3f} s"
    return f"DEADLINE_EXCEEDED after {took:.3f} s"


def case_cancel(ch):
    call = stream(ch)(b"1000000", timeout=60)
    read = []
    for m in call:
        read.append(m)
        if len(read) == 5:
            break
    assert read == [b"1", b"2", b"3", b"4", b"5"], read
    call.cancel()
    assert call.code() == grpc.StatusCode.CANCELLED, call.code()
    # The server is still healthy on the same channel.
    time.sleep(0.3)
    assert unary(ch)(b"after cancel", timeout=10) == b"after cancel"
    return "cancelled after 5 messages"


def case_errors(ch):
    details = expect_error(lambda: unary(ch, "/echo.Echo/Nope")(b"x", timeout=10), grpc.StatusCode.UNIMPLEMENTED)
    assert "unknown method /echo.Echo/Nope" in details, details
    # A compressed message (flag 1) is refused.
    compressed = expect_error(
        lambda: unary(ch)(b"y" * 1000, timeout=10, compression=grpc.Compression.Gzip),
        grpc.StatusCode.UNIMPLEMENTED,
    )
    # Still healthy.
    assert unary(ch)(b"z", timeout=10) == b"z"
    return f"unknown method: {details}; compressed: {compressed}"


def main():
    addr, case = sys.argv[1], sys.argv[2]
    with grpc.insecure_channel(addr) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        figures = globals()[f"case_{case}"](ch)
    print(f"ok {case}: {figures}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED {sys.argv[2]}: {e}", flush=True)
        sys.exit(1)
