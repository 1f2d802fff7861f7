#!/usr/bin/env python3
"""A thread-per-connection echo server (socketserver.ThreadingTCPServer),
the shape of many simple backends: each thread blocks in recv() and in
sendall(), so while it writes it does not read, and the kernel's receive
buffer fills. tests/integration/peers/backends.py echo is asyncio and reads and
writes at once; a stall that only this shape provoked went unnoticed.

    threaded_echo.py --addr 198.18.1.2 --addr 198.18.1.3 --port 9000

Prints "ready" once every address listens; exits after --lifetime s.
Standard library only."""

import argparse
import socket
import socketserver
import sys
import threading


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        while True:
            try:
                data = s.recv(65536)
            except OSError:
                return
            if not data:
                break
            try:
                s.sendall(data)
            except OSError:
                return
        # The client half-closed: so do we, after the last echoed byte.
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 4096


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", action="append", required=True)
    ap.add_argument("--port", type=int, default=9000)
    ap.add_argument("--lifetime", type=float, default=1800.0)
    a = ap.parse_args()
    servers = [Server((addr, a.port), Echo) for addr in a.addr]
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait(a.lifetime)
    for srv in servers:
        srv.shutdown()
    sys.exit(0)


if __name__ == "__main__":
    main()
