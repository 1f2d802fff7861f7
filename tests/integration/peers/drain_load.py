#!/usr/bin/env python3
"""Keep-alive HTTP/1.1 load that records when each request was sent, for
the drain tests (standard library only).

usage: drain_load.py --host H --port P [-c C] [--path /x]
                     [--slow N --slow-path /slow/x] [--seconds S]
C connections send GETs to --path back to back, N more to --slow-path.
Each connection reconnects after "Connection: close" (or the server's
close after a complete response) and stops at its first refused connect
(the gateway drains) or after S seconds. Prints "ready" once 20 requests
were answered, then at the end one JSON line:
  {"ok": n, "refused": n, "failures": [[t_send, path, error]],
   "answered": [[t_send, t_done, path, status, conn_close]], ...}
Times are time.monotonic(), the clock the test reads too.
"""
import argparse
import json
import socket
import sys
import threading
import time


def read_response(sock, buf):
    """(status, headers dict, rest) of one Content-Length response."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed before the response head"
                                  if not buf else "closed inside the head")
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed inside the body")
        rest += data
    return status, headers, rest[n:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("-c", type=int, default=4)
    ap.add_argument("--path", default="/whoami")
    ap.add_argument("--slow", type=int, default=0)
    ap.add_argument("--slow-path", default="/slow/whoami")
    ap.add_argument("--seconds", type=float, default=30)
    a = ap.parse_args()
    end = time.monotonic() + a.seconds
    lock = threading.Lock()
    res = {"ok": 0, "refused": 0, "first_refused": None, "failures": [],
           "answered": [], "connects": 0}
    ready = threading.Event()

    def worker(path):
        sock, buf = None, b""
        while time.monotonic() < end:
            if sock is None:
                try:
                    sock = socket.create_connection((a.host, a.port), timeout=10)
                    buf = b""
                    with lock:
                        res["connects"] += 1
                except ConnectionRefusedError:
                    with lock:
                        res["refused"] += 1
                        if res["first_refused"] is None:
                            res["first_refused"] = time.monotonic()
                    return        # draining: nothing new is accepted
                except OSError as e:
                    with lock:
                        res["failures"].append([time.monotonic(), path,
                                                "connect: " + repr(e)])
                    return
            req = (f"GET {path} HTTP/1.1\r\nHost: {a.host}\r\n\r\n").encode()
            t_send = time.monotonic()
            try:
                sock.sendall(req)
                status, headers, buf = read_response(sock, buf)
            except (OSError, ValueError, IndexError) as e:
                with lock:
                    res["failures"].append([t_send, path, repr(e)])
                sock.close()
                sock = None
                continue
            close = headers.get("connection", "").lower() == "close"
            with lock:
                res["ok"] += 1
                res["answered"].append([t_send, time.monotonic(), path,
                                        status, close])
                if res["ok"] >= 20:
                    ready.set()
            if close:
                sock.close()
                sock = None
        if sock is not None:
            sock.close()

    threads = [threading.Thread(target=worker, args=(a.path,), daemon=True)
               for _ in range(a.c)]
    threads += [threading.Thread(target=worker, args=(a.slow_path,), daemon=True)
                for _ in range(a.slow)]
    for t in threads:
        t.start()
    if ready.wait(timeout=a.seconds):
        print("ready", flush=True)
    for t in threads:
        t.join(timeout=max(0.0, end - time.monotonic()) + 15)
    with lock:
        print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
