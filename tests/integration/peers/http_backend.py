#!/usr/bin/env python3
"""A small HTTP/1.1 backend for the proxy tests, standard library only.

usage: http_backend.py --addr A [--addr B ...] --port P [--lifetime S]
Prints "ready" once listening. Paths:
  /headers          JSON of the request line and fields as received
  /whoami           the address the request arrived on
  /hash             sha256 and length of the request body (Content-Length
                    or chunked)
  /bytes/N          N bytes of a repeating pattern (Content-Length)
  /chunked/N        N bytes, chunked
  /close/N          N bytes delimited by closing the connection
  /status/N         an empty response with status N
  /reset            closes the connection without answering (RST)
  /hang             never answers (until the lifetime ends)
  /health           200 "ok" (or what the fault mode says)

--faults FILE makes addresses misbehave, for the balancing tests: FILE holds
JSON {"198.18.1.3[:port]": "500" | "503" | "hang" | "slow:MS" | "ok"} and is
re-read whenever it changes. A faulty address answers every path that way,
except /health, which fails only when "ADDR/health" is itself faulted: a
backend whose health check passes while its real traffic fails.

"capacity:N:MS[:SHED_MS[:DIE_S[:DEAD_S]]]" models a backend that exhausts:
it serves at most N requests at once, each in MS; beyond N, requests wait
in a FIFO queue. One that waited SHED_MS (default 1000) is answered 503
with Retry-After. Once the queue has been non-empty for DIE_S seconds on
end (default 3) the backend dies: for DEAD_S seconds (default 5) it
resets every connection, /health included, then comes back empty. Its
counters (served, queued_max, shed_503, deaths, exhausted_s) and, as
"sojourn", [done wall-clock time, ms waited in its queue, ms from arrival
to done] of its last 2000 requests served go to FILE.<addr>_<port>.stats
(JSON) at every 503 and death, every 50 served, and within a second after
any served.
"""
import argparse
import collections
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATTERN = bytes(range(256)) * 64


def pattern(n):
    full, rest = divmod(n, len(PATTERN))
    return PATTERN * full + PATTERN[:rest]


FAULTS = {"path": None, "mtime": None, "map": {}}
SOJOURN_KEPT = 2000
FAULTS_LOCK = threading.Lock()


class Exhaustible:
    """One address's capacity model (see "capacity:" above)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.busy = 0
        self.queue = []             # tickets, first come first served
        self.next_ticket = 0
        self.queued_since = None    # when the queue last became non-empty
        self.dead_until = 0.0
        self.stats = {"served": 0, "queued_max": 0, "shed_503": 0,
                      "deaths": 0, "exhausted_s": 0.0}
        # (wall-clock time done, ms waited in the queue, ms from arrival
        # to done) of the last requests served
        self.sojourn = collections.deque(maxlen=SOJOURN_KEPT)

    def dead(self):
        return time.monotonic() < self.dead_until

    def serve(self, n, ms, shed_ms, die_s, dead_s):
        """'ok' once served, '503' when shed, 'dead' when it died."""
        arrived = time.monotonic()
        waited = 0.0
        with self.cond:
            if self.dead():
                return "dead"
            if self.busy >= n or self.queue:
                t = self.next_ticket
                self.next_ticket += 1
                self.queue.append(t)
                if self.queued_since is None:
                    self.queued_since = time.monotonic()
                self.stats["queued_max"] = max(self.stats["queued_max"], len(self.queue))
                end = time.monotonic() + shed_ms / 1000
                while not (self.queue[0] == t and self.busy < n):
                    now = time.monotonic()
                    if self.dead():
                        self.queue.remove(t)
                        return "dead"
                    if self.queued_since is not None and now - self.queued_since > die_s:
                        self.dead_until = now + dead_s
                        self.stats["deaths"] += 1
                        self.stats["exhausted_s"] += now - self.queued_since
                        self.queue.clear()
                        self.queued_since = None
                        self.cond.notify_all()
                        return "dead"
                    if now >= end:
                        self.queue.remove(t)
                        self.stats["shed_503"] += 1
                        self.cond.notify_all()
                        return "503"
                    self.cond.wait(min(0.05, max(0.001, end - now)))
                self.queue.pop(0)
                waited = time.monotonic() - arrived
                if not self.queue and self.queued_since is not None:
                    self.stats["exhausted_s"] += time.monotonic() - self.queued_since
                    self.queued_since = None
            self.busy += 1
        time.sleep(ms / 1000)
        with self.cond:
            self.busy -= 1
            self.stats["served"] += 1
            self.sojourn.append((round(time.time(), 3), round(waited * 1000, 2),
                                 round((time.monotonic() - arrived) * 1000, 2)))
            self.cond.notify_all()
        return "ok"


EXHAUST = {}
EXHAUST_LOCK = threading.Lock()


def exhaustible(addr):
    with EXHAUST_LOCK:
        return EXHAUST.setdefault(addr, Exhaustible())


def write_stats(addr):
    """FILE.<addr>_<port>.stats: one file per address (one process may not
    hold them all)."""
    if FAULTS["path"] is None:
        return
    e = EXHAUST[addr]
    with e.cond:
        data = dict(e.stats)
        data["sojourn"] = list(e.sojourn)
    out = "%s.%s.stats" % (FAULTS["path"], addr.replace(":", "_"))
    with open(out + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(out + ".tmp", out)


def stats_writer():
    """Every second, the stats of each capacity model that served since:
    a test that waits two seconds after its load reads all of it."""
    written = {}
    while True:
        time.sleep(1)
        with EXHAUST_LOCK:
            models = list(EXHAUST.items())
        for addr, e in models:
            if written.get(addr) != e.stats["served"]:
                written[addr] = e.stats["served"]
                write_stats(addr)


def fault_for(addr, port, path):
    faults = FAULTS["path"]
    if faults is None:
        return "ok"
    with FAULTS_LOCK:
        try:
            m = os.stat(faults).st_mtime_ns
            if m != FAULTS["mtime"]:
                with open(faults) as f:
                    FAULTS["map"] = json.load(f)
                FAULTS["mtime"] = m
        except (OSError, ValueError):
            FAULTS["map"] = {}
        m = FAULTS["map"]
        # A backend that lies: /health answers well unless faulted itself.
        if path == "/health":
            f = m.get(f"{addr}:{port}", m.get(addr, "ok"))
            # An exhausted backend that died answers nothing, health included.
            if f.startswith("capacity:") and exhaustible(f"{addr}:{port}").dead():
                return "reset"
            return m.get(f"{addr}/health", "ok")
        return m.get(f"{addr}:{port}", m.get(addr, "ok"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def reply(self, status, body=b"", ctype="text/plain", chunked=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 7000):
                part = body[i:i + 7000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    def handle_any(self):
        path = self.path.split("?")[0]
        # Routed prefixes reach us unchanged: serve /api/x and /only/x as /x.
        for prefix in ("/api", "/only"):
            if path.startswith(prefix + "/"):
                path = path[len(prefix):]
        body = self.read_body()
        fault = fault_for(*self.connection.getsockname()[:2], path)
        if fault.startswith("capacity:") and path != "/health":
            parts = [float(x) for x in fault[9:].split(":")]
            n, ms, shed_ms, die_s, dead_s = (parts + [1000, 3, 5][len(parts) - 2:])[:5]
            addr = "%s:%d" % self.connection.getsockname()[:2]
            e = exhaustible(addr)
            outcome = e.serve(int(n), ms, shed_ms, die_s, dead_s)
            if outcome != "ok" or e.stats["served"] % 50 == 0:
                write_stats(addr)
            if outcome == "503":
                self.send_response(503)
                self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "9")
                self.end_headers()
                self.wfile.write(b"overload\n")
                return
            if outcome == "dead":
                fault = "reset"
            else:
                fault = "ok"
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if fault in ("500", "503"):
            self.reply(int(fault), b"fault injected\n")
            return
        if fault == "hang":
            time.sleep(3600)
            return
        if fault.startswith("slow:"):
            time.sleep(int(fault[5:]) / 1000)
        if path == "/health":
            self.reply(200, b"ok\n")
        elif path == "/headers":
            data = {"request_line": self.requestline,
                    "headers": [[k, v] for k, v in self.headers.items()]}
            self.reply(200, json.dumps(data).encode(), "application/json")
        elif path == "/whoami":
            self.reply(200, self.connection.getsockname()[0].encode())
        elif path == "/hash":
            self.reply(200, json.dumps({"sha256": hashlib.sha256(body).hexdigest(),
                                        "len": len(body)}).encode(),
                       "application/json")
        elif path.startswith("/bytes/"):
            self.reply(200, pattern(int(path[7:])), "application/octet-stream")
        elif path.startswith("/chunked/"):
            self.reply(200, pattern(int(path[9:])), "application/octet-stream",
                       chunked=True)
        elif path.startswith("/status/"):
            self.reply(int(path[8:]))
        elif path.startswith("/close/"):
            # HTTP/1.1 without Content-Length: the body ends at close.
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(pattern(int(path[7:])))
            self.close_connection = True
        elif path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        elif path == "/hang":
            time.sleep(3600)
        else:
            self.reply(404, b"no such path\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", action="append", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--lifetime", type=float, default=600)
    ap.add_argument("--faults", default=None)
    a = ap.parse_args()
    FAULTS["path"] = a.faults
    servers = []
    for addr in a.addr:
        ThreadingHTTPServer.daemon_threads = True
        ThreadingHTTPServer.request_queue_size = 1024
        s = ThreadingHTTPServer((addr, a.port), Handler)
        threading.Thread(target=s.serve_forever, daemon=True).start()
        servers.append(s)
    print("ready", flush=True)
    if a.faults:
        threading.Thread(target=stats_writer, daemon=True).start()
    time.sleep(a.lifetime)
    sys.exit(0)


if __name__ == "__main__":
    main()
