#!/usr/bin/env python3
"""A recording HTTP/1.1 origin for the differential smuggling test,
standard library only: http.server's parser, not the gateway's.

usage: record_origin.py --listen ADDR:PORT [--listen ...] --log FILE
                        [--lifetime S]

Prints "ready" once listening on every address. Each request it reads
becomes one JSON line in FILE, written before the response is sent:

  {"kind": "complete" | "rejected" | "aborted", "addr": A, "port": P,
   "conn": N,
   "method": ..., "target": ..., "version": ..., "headers": [[name, value]],
   "body": hex, "why": ...}

complete: the head ended with its blank line and the body was read whole by
its framing (Transfer-Encoding chunked, else Content-Length, else none).
rejected: this parser refused what it got (the gateway forwarded something
another parser does not frame as it did). aborted: the connection ended
before the request did (the gateway cut a request it had begun to forward).

A complete request is answered 200 "ok\n" with X-Peer: python and
X-Peer-Target: the first 200 bytes of its target, so that the client can
tell which request each of its responses answers (whole, a long target
would make a field line the gateway rightly refuses in a response).
"""
import argparse
import http.client
import itertools
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The gateway adds four fields to what it accepted (up to 100 fields):
# http.client's cap of 100 would reject what the gateway rightly forwards.
http.client._MAXHEADERS = 1000

LOG = {"file": None, "lock": threading.Lock()}
CONN_IDS = itertools.count(1)


def record(rec):
    with LOG["lock"]:
        LOG["file"].write(json.dumps(rec) + "\n")
        LOG["file"].flush()


class Tracking:
    """rfile wrapper that remembers whether a readline hit end of stream,
    which http.client.parse_headers cannot tell from the blank line."""

    def __init__(self, f):
        self.f = f
        self.eof = False

    def readline(self, limit=-1):
        line = self.f.readline(limit)
        self.eof = line == b""
        return line

    def read(self, n=-1):
        data = self.f.read(n)
        self.eof = len(data) < n if n >= 0 else True
        return data

    def __getattr__(self, name):
        return getattr(self.f, name)


class BodyError(Exception):
    def __init__(self, kind, why):
        super().__init__(why)
        self.kind, self.why = kind, why


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def setup(self):
        super().setup()
        self.rfile = Tracking(self.rfile)
        self.conn_id = next(CONN_IDS)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except OSError:
            # A reset between requests (the gateway dropping a pooled
            # connection): nothing was begun, nothing to record.
            self.close_connection = True

    def base(self, kind, why=None):
        rec = {"kind": kind, "addr": self.server.server_address[0],
               "port": self.server.server_address[1],
               "conn": self.conn_id, "time": time.time(),
               "method": getattr(self, "command", None),
               "target": getattr(self, "path", None),
               "version": getattr(self, "request_version", None),
               "raw_line": self.raw_requestline.decode("latin-1")
               if getattr(self, "raw_requestline", None) else None}
        hdrs = getattr(self, "headers", None)
        rec["headers"] = [[k, v] for k, v in hdrs.items()] if hdrs else None
        if why:
            rec["why"] = why
        return rec

    def send_error(self, code, message=None, explain=None):
        # http.server refusing the request line or the fields.
        if self.rfile.eof:
            record(self.base("aborted", f"eof ({code} {message})"))
        else:
            record(self.base("rejected", f"{code} {message}"))
        self.close_connection = True
        try:
            super().send_error(code, message, explain)
        except OSError:
            pass

    def parse_request(self):
        try:
            ok = super().parse_request()
        except OSError as e:
            record(self.base("aborted", f"fields: {e}"))
            self.close_connection = True
            return False
        if ok and self.rfile.eof:
            # The fields ran into the end of the stream, not a blank line.
            record(self.base("aborted", "eof in fields"))
            self.close_connection = True
            return False
        return ok

    def read_exact(self, n):
        try:
            data = self.rfile.read(n)
        except OSError as e:
            raise BodyError("aborted", f"body: {e}")
        if len(data) < n:
            raise BodyError("aborted", f"eof after {len(data)} of {n} body bytes")
        return data

    def read_chunked(self):
        out = bytearray()
        while True:
            line = self.rfile.readline(65537)
            if not line.endswith(b"\n"):
                raise BodyError("aborted" if self.rfile.eof or not line else
                                "rejected", f"chunk size line {line[:40]!r}")
            size_s = line.split(b";", 1)[0].strip()
            try:
                size = int(size_s, 16)
            except ValueError:
                raise BodyError("rejected", f"chunk size {line[:40]!r}")
            if size_s.startswith((b"-", b"+", b"0x", b"0X")):
                raise BodyError("rejected", f"chunk size {line[:40]!r}")
            if size == 0:
                while True:
                    t = self.rfile.readline(65537)
                    if t in (b"\r\n", b"\n"):
                        return bytes(out)
                    if not t.endswith(b"\n"):
                        raise BodyError("aborted", "eof in trailers")
            out += self.read_exact(size)
            end = self.rfile.readline(65537)
            if end not in (b"\r\n", b"\n"):
                raise BodyError("aborted" if not end else "rejected",
                                f"after chunk data {end[:40]!r}")

    def read_body(self):
        te = self.headers.get_all("Transfer-Encoding") or []
        cl = self.headers.get_all("Content-Length") or []
        if te:
            codings = [c.strip().lower() for v in te for c in v.split(",")]
            if codings[-1] != "chunked":
                raise BodyError("rejected", f"transfer-encoding {te!r}")
            return self.read_chunked()
        if cl:
            if len(set(v.strip() for v in cl)) != 1 or not cl[0].strip().isdigit():
                raise BodyError("rejected", f"content-length {cl!r}")
            return self.read_exact(int(cl[0].strip()))
        return b""

    def handle_any(self):
        try:
            body = self.read_body()
        except OSError as e:
            record(self.base("aborted", f"body: {e}"))
            self.close_connection = True
            return
        except BodyError as e:
            record(self.base(e.kind, e.why))
            self.close_connection = True
            return
        rec = self.base("complete")
        rec["body"] = body.hex()
        record(rec)
        reply = b"ok\n"
        self.send_response(200)
        self.send_header("X-Peer", "python")
        self.send_header("X-Peer-Target", self.path[:200])
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply)

    def __getattr__(self, name):
        # Every method (GET, POST, PATCH, FOO...) is recorded alike.
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", action="append", required=True,
                    help="ADDR:PORT (repeat for several)")
    ap.add_argument("--log", required=True)
    ap.add_argument("--lifetime", type=float, default=600)
    a = ap.parse_args()
    LOG["file"] = open(a.log, "a")
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    for listen in a.listen:
        addr, port = listen.rsplit(":", 1)
        s = ThreadingHTTPServer((addr, int(port)), Handler)
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("ready", flush=True)
    time.sleep(a.lifetime)
    sys.exit(0)


if __name__ == "__main__":
    main()
