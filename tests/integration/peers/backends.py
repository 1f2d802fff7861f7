#!/usr/bin/env python3
"""Small TCP backends for the integration tests and benchmarks.

Run one inside the backend namespace, for example:

    ip netns exec sl-backend /usr/bin/python3 tests/integration/peers/backends.py \
        echo --addr 198.18.1.2 --addr 198.18.1.3 --port 9000

Modes:
  echo  writes back every byte it reads. On EOF from the peer it finishes
        writing what is buffered, then closes (so a half-close by the client
        comes back as a FIN after the last echoed byte).
  sink  reads and discards. On EOF it answers with the number of bytes it
        received, as decimal ASCII and a newline, then closes. A sender that
        half-closes and reads that line learns exactly how much arrived.

Prints "ready" on stdout once every address is listening. Exits by itself
after --lifetime seconds (a bound, in case a test runner dies), or on SIGTERM
or SIGINT. Standard library only; one asyncio loop handles thousands of
concurrent connections.
"""

import argparse
import asyncio
import resource
import signal
import socket
import sys

BACKLOG = 4096
READ_SIZE = 256 * 1024


def raise_nofile(want=1 << 16):
    """Raise RLIMIT_NOFILE as far as we may (root may raise the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for new_soft, new_hard in ((max(soft, want), max(hard, want)),
                               (max(soft, min(want, hard)), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, new_hard))
            return new_soft
        except (ValueError, OSError):
            continue
    return soft


def tune(transport):
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


class Echo(asyncio.Protocol):
    """Echo with backpressure: stop reading while the write side is full."""

    def connection_made(self, transport):
        self.t = transport
        tune(transport)
        transport.set_write_buffer_limits(high=1 << 20, low=1 << 18)

    def data_received(self, data):
        self.t.write(data)

    def pause_writing(self):
        self.t.pause_reading()

    def resume_writing(self):
        self.t.resume_reading()

    def eof_received(self):
        # Returning False closes the transport once its buffer is flushed.
        return False

    def connection_lost(self, exc):
        pass


class Sink(asyncio.BufferedProtocol):
    """Discard into one reused buffer; report the byte count on EOF."""

    def __init__(self, buf):
        self.buf = buf
        self.count = 0

    def connection_made(self, transport):
        self.t = transport
        tune(transport)

    def get_buffer(self, sizehint):
        return self.buf

    def buffer_updated(self, nbytes):
        self.count += nbytes

    def eof_received(self):
        self.t.write(b"%d\n" % self.count)
        return False

    def connection_lost(self, exc):
        pass


async def serve(args):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    sink_buf = memoryview(bytearray(READ_SIZE))
    if args.mode == "echo":
        factory = Echo
    else:
        def factory():
            return Sink(sink_buf)
    servers = []
    for addr in args.addr:
        srv = await loop.create_server(factory, addr, args.port,
                                       backlog=BACKLOG, reuse_address=True,
                                       start_serving=True)
        servers.append(srv)
    print("ready", flush=True)
    try:
        await asyncio.wait_for(stop, timeout=args.lifetime)
    except asyncio.TimeoutError:
        print(f"lifetime of {args.lifetime}s reached, exiting", file=sys.stderr)
    for srv in servers:
        srv.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=("echo", "sink"))
    ap.add_argument("--addr", action="append", required=True,
                    help="address to listen on (repeat for several)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--lifetime", type=float, default=1800.0,
                    help="exit by itself after this many seconds")
    args = ap.parse_args()
    raise_nofile()
    try:
        asyncio.run(serve(args))
    except OSError as e:
        print(f"backends.py: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
