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
"""
import argparse
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
FAULTS_LOCK = threading.Lock()


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
    time.sleep(a.lifetime)
    sys.exit(0)


if __name__ == "__main__":
    main()
