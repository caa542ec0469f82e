"""A grpcio server (gRPC C-core) with raw-bytes methods: the peer of our
client in tests/interop_grpc.rs. It binds 127.0.0.1 on a port of its
choosing and prints the port as its first line of output.

    /echo.Echo/Unary   the request message back
    /echo.Echo/Count   request N (decimal text): N messages "1" .. "N"

Any other method gets grpc-status 12 (UNIMPLEMENTED) from grpcio itself.
It runs until the test kills it, at most 120 s.
"""
from concurrent import futures

import grpc


def echo(request, context):
    return request


def count(request, context):
    for i in range(1, int(request) + 1):
        yield str(i).encode()


def main():
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(echo),
        "Count": grpc.unary_stream_rpc_method_handler(count),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("echo.Echo", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination(timeout=120)


if __name__ == "__main__":
    main()
