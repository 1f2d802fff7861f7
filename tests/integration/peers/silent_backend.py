#!/usr/bin/env python3
"""A backend that takes connections and never reads from them: what it is
sent fills its kernel's receive buffer, then the sender's window shuts.

usage: silent_backend.py --addr A --port P [--rcvbuf B] [--lifetime S]
Prints "ready" once listening; exits after --lifetime seconds (a bound) or
on SIGTERM. Standard library only.
"""
import argparse
import signal
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rcvbuf", type=int, default=4096,
                    help="receive buffer of each connection: small, so the "
                         "window shuts soon")
    ap.add_argument("--lifetime", type=float, default=600)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    s.bind((a.addr, a.port))
    # Never accept: the kernel completes handshakes into the backlog and
    # acknowledges data until each connection's receive buffer is full.
    s.listen(4096)
    print("ready", flush=True)
    time.sleep(min(a.lifetime, 3600))


if __name__ == "__main__":
    main()
