"""An h2c server that accepts the HTTP/1.1 upgrade (RFC 7540 §3.2), built on
the Python `h2` library's own upgrade support
(`H2Connection.initiate_upgrade_connection`): the peer of
tests/interop_upgrade.rs for our client's `--upgrade` (nghttpd has no h2c
upgrade). It prints its port on stdout, then answers every request on every
connection with `python h2: METHOD PATH on stream N\n`.

The HTTP/1.1 head is split by hand (one request, no body): what is tested is
the HTTP/2 side after the 101, which is h2's.
"""
import socket
import sys
import threading

import h2.config
import h2.connection
import h2.events


def respond(conn, stream_id, method, path):
    body = f"python h2: {method} {path} on stream {stream_id}\n".encode()
    conn.send_headers(
        stream_id,
        [(":status", "200"), ("content-type", "text/plain"), ("content-length", str(len(body)))],
    )
    conn.send_data(stream_id, body, end_stream=True)


def serve(sock):
    sock.settimeout(10)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk or len(buf) > 16384:
            return
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    fields = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        fields[name.strip().lower()] = value.strip()
    if "h2c" not in fields.get("upgrade", "").lower() or "http2-settings" not in fields:
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.initiate_upgrade_connection(fields["http2-settings"])
    respond(conn, 1, method, target)
    sock.sendall(conn.data_to_send())
    data = rest
    while True:
        if data:
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    h = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                         for k, v in event.headers}
                    respond(conn, event.stream_id, h[":method"], h[":path"])
                elif isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.ConnectionTerminated):
                    sock.sendall(conn.data_to_send())
                    return
            sock.sendall(conn.data_to_send())
        data = sock.recv(65536)
        if not data:
            return


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(listener.getsockname()[1], flush=True)
    while True:
        sock, _ = listener.accept()

        def run(s=sock):
            try:
                serve(s)
            except Exception as e:  # a test failure shows on stderr
                print(f"h2c_upgrade_server: {e!r}", file=sys.stderr, flush=True)
            finally:
                s.close()

        threading.Thread(target=run, daemon=True).start()


if __name__ == "__main__":
    main()
