#!/usr/bin/env python3
"""A bounded HTTP/1.1 load client for the balancing tests (standard library).

usage: http_load.py --url http://H:P/path -n N [-c C] [--header K:V ...]
                    [--rate R] [--timeout S] [--body-key] [--latencies]
Sends exactly N requests over C keep-alive connections (reconnecting after
errors or "Connection: close") and prints one JSON line:
  {"status": {"200": n, ...}, "errors": n, "overloaded": {reason: n},
   "bodies": {body: n} (with --body-key), "retry_after": {value: n}, "p50_ms", "p99_ms", "max_ms",
   "seconds"}
--latencies adds "lat_by_body": {body: [ms, ...]} (with --body-key), for
tests that judge one set of backends' tail.
--rate R paces the whole run to R requests/s (open loop per connection).
"""
import argparse
import http.client
import json
import threading
import time
from urllib.parse import urlsplit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("-n", type=int, required=True)
    ap.add_argument("-c", type=int, default=1)
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--body-key", action="store_true")
    ap.add_argument("--latencies", action="store_true")
    a = ap.parse_args()
    u = urlsplit(a.url)
    host, port = u.hostname, u.port or 80
    path = u.path or "/"
    headers = dict(h.split(":", 1) for h in a.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    lock = threading.Lock()
    res = {"status": {}, "errors": 0, "overloaded": {}, "bodies": {},
           "retry_after": {}}
    if a.latencies:
        res["lat_by_body"] = {}
    lat = []
    left = [a.n]
    start = time.monotonic()

    def take():
        with lock:
            if left[0] == 0:
                return None
            left[0] -= 1
            return a.n - left[0] - 1

    def worker():
        conn = None
        while True:
            i = take()
            if i is None:
                break
            if a.rate:
                due = start + i / a.rate
                d = due - time.monotonic()
                if d > 0:
                    time.sleep(d)
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=a.timeout)
                conn.request("GET", path, headers=headers)
                r = conn.getresponse()
                body = r.read()
                dt = (time.monotonic() - t0) * 1000
                with lock:
                    k = str(r.status)
                    res["status"][k] = res["status"].get(k, 0) + 1
                    ov = r.getheader("x-sluice-overloaded")
                    if ov:
                        res["overloaded"][ov] = res["overloaded"].get(ov, 0) + 1
                    ra = r.getheader("retry-after")
                    if ra:
                        res["retry_after"][ra] = res["retry_after"].get(ra, 0) + 1
                    if a.body_key and r.status == 200:
                        b = body.decode(errors="replace").strip()
                        res["bodies"][b] = res["bodies"].get(b, 0) + 1
                        if a.latencies:
                            res["lat_by_body"].setdefault(b, []).append(round(dt, 2))
                    lat.append(dt)
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                with lock:
                    res["errors"] += 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(a.c)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat.sort()
    res["seconds"] = round(time.monotonic() - start, 3)
    res["p50_ms"] = round(lat[len(lat) // 2], 2) if lat else None
    res["p99_ms"] = round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2) if lat else None
    res["max_ms"] = round(lat[-1], 2) if lat else None
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
