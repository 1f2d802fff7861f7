#!/usr/bin/env python3
"""A client that tries to pin the gateway's buffers, for test_buffer_limits
and scripts/bench-hostile.sh. Run it in the client namespace:

    ip netns exec sl-client /usr/bin/python3 tests/integration/peers/hostile_client.py \
        --src 198.18.0.2 --dst 198.18.0.1 --port 8000 --conns 32 --seconds 8

It opens --conns connections from --src (TCP_NODELAY, a small send buffer),
optionally sends one HTTP request on each (--request, e.g. to a path whose
backend never answers), then sends 1-byte segments round robin over all of
them for --seconds or until --max-bytes per connection, keeps them open for
--hold seconds, and resets them all (SO_LINGER 0). Bounded in time and in
bytes; prints one JSON line: connections made, bytes and sends, errors.
Standard library only.
"""
import argparse
import errno
import json
import select
import socket
import struct
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--hold", type=float, default=2.0)
    ap.add_argument("--max-bytes", type=int, default=1 << 20)
    ap.add_argument("--request", default="")
    a = ap.parse_args()
    a.seconds = min(a.seconds, 120.0)
    a.hold = min(a.hold, 60.0)

    socks, errors = [], 0
    for _ in range(a.conns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        s.bind((a.src, 0))
        s.settimeout(5)
        try:
            s.connect((a.dst, a.port))
            if a.request:
                s.sendall(a.request.encode().decode("unicode_escape").encode())
        except OSError:
            errors += 1
            s.close()
            continue
        s.setblocking(False)
        socks.append(s)

    sent = [0] * len(socks)
    sends = 0
    end = time.monotonic() + a.seconds
    live = list(range(len(socks)))
    while live and time.monotonic() < end:
        progressed = False
        for i in list(live):
            if sent[i] >= a.max_bytes:
                live.remove(i)
                continue
            try:
                n = socks[i].send(b"x")
            except BlockingIOError:
                continue
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.ENOBUFS):
                    errors += 1
                    live.remove(i)
                continue
            sent[i] += n
            sends += 1
            progressed = True
        if not progressed:
            # Every window shut: wait for one to open, a little.
            select.select([], [socks[i] for i in live], [], 0.05)
    time.sleep(a.hold)
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    print(json.dumps({"conns": len(socks), "bytes": sum(sent), "sends": sends,
                      "errors": errors}), flush=True)


if __name__ == "__main__":
    main()
