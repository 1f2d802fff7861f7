#!/usr/bin/env python3
"""Raw-socket client of the differential smuggling test, run in sl-client.

usage: ip netns exec sl-client python3 raw_client.py < cases.json

stdin: {"gw": ADDR, "port": P, "grace": S, "idle": S, "linger": S,
        "cases": [{"name": ..., "parts": [hex, ...], "responses": N}]}

Each case's bytes go on a fresh connection, each part in one send, 50 ms
apart (so that they arrive as separate segments). The responses are
read and parsed (Content-Length, chunked, or to the close) until the
gateway closes, N have come and nothing more follows within `linger`, or
nothing at all comes for `idle` seconds. Then, after `grace`, a marker
request GET /__mark__/<case>/<try> on a fresh connection: its record at
the backend closes the case's share of the backend's log. A marker answered
with another request's response (X-Peer-Target) is a desync, recorded,
and the marker is sent again (at most 5 tries).

stdout: one JSON object {"cases": [{"name", "client": [ip, port],
"responses": [{"status", "peer", "peer_target", "head"}], "end", "extra",
"markers": [{"path", "status", "peer_target"}]}]}. Bounded: every socket
has a timeout, every loop a count.
"""
import json
import socket
import sys
import time


def parse_one(buf):
    """(response dict, bytes used) for the first complete response in buf,
    or None when more is needed. A response delimited by the close is
    completed by the caller at end of stream."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        status = 0
    fields = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        fields.setdefault(k.strip().lower(), v.strip())
    resp = {"status": status, "peer": fields.get("x-peer"),
            "peer_target": fields.get("x-peer-target"), "head": head[:400]}
    pos = end + 4
    if status in (204, 304) or 100 <= status < 200:
        return resp, pos
    if "chunked" in fields.get("transfer-encoding", "").lower():
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            try:
                size = int(buf[pos:eol].split(b";")[0], 16)
            except ValueError:
                resp["bad_framing"] = True
                return resp, len(buf)
            pos = eol + 2
            if size == 0:
                t = buf.find(b"\r\n\r\n", pos - 2)
                if t < 0:
                    return None
                return resp, t + 4
            if len(buf) < pos + size + 2:
                return None
            pos += size + 2
    if "content-length" in fields:
        try:
            n = int(fields["content-length"])
        except ValueError:
            resp["bad_framing"] = True
            return resp, len(buf)
        if len(buf) < pos + n:
            return None
        return resp, pos + n
    resp["to_close"] = True
    return None


def exchange(gw, port, parts, want, idle, linger):
    res = {"responses": [], "end": None, "extra": ""}
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect((gw, port))
    except OSError as e:
        res["end"] = f"connect: {e}"
        return res
    res["client"] = list(s.getsockname())
    try:
        for n, part in enumerate(parts):
            if n:
                time.sleep(0.05)
            s.sendall(part)
    except OSError as e:
        # 414/431: the gateway may close while we send; read what it said.
        res["send_error"] = str(e)
    buf = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        while True:
            got = parse_one(buf)
            if got is None:
                break
            resp, used = got
            res["responses"].append(resp)
            buf = buf[used:]
        wait = linger if len(res["responses"]) >= want else idle
        s.settimeout(wait)
        try:
            d = s.recv(65536)
        except socket.timeout:
            res["end"] = "count" if len(res["responses"]) >= want else "idle"
            break
        except OSError as e:
            res["end"] = f"reset: {e}"
            break
        if not d:
            res["end"] = "eof"
            break
        buf += d
    else:
        res["end"] = "deadline"
    if buf:
        if buf.startswith(b"HTTP/") and b"\r\n\r\n" in buf:
            # A response delimited by the close (or cut short).
            head = buf[:buf.find(b"\r\n\r\n")]
            lines = head.decode("latin-1").split("\r\n")
            fields = {ln.partition(":")[0].strip().lower(): ln.partition(":")[2].strip()
                      for ln in lines[1:]}
            try:
                status = int(lines[0].split(" ")[1])
            except (IndexError, ValueError):
                status = 0
            res["responses"].append({"status": status, "peer": fields.get("x-peer"),
                                     "peer_target": fields.get("x-peer-target"),
                                     "head": head.decode("latin-1")[:400],
                                     "to_close": True})
        else:
            res["extra"] = buf[:200].decode("latin-1")
    s.close()
    return res


def marker(gw, port, path):
    req = (f"GET {path} HTTP/1.1\r\nHost: marker.test\r\n"
           "Connection: close\r\n\r\n").encode()
    r = exchange(gw, port, [req], 1, 5.0, 0.0)
    first = r["responses"][0] if r["responses"] else {}
    return {"path": path, "status": first.get("status"),
            "peer_target": first.get("peer_target"), "end": r["end"]}


def main():
    job = json.load(sys.stdin)
    gw, port = job["gw"], job["port"]
    out = []
    for i, case in enumerate(job["cases"]):
        r = exchange(gw, port, [bytes.fromhex(p) for p in case["parts"]], case["responses"],
                     job["idle"], job["linger"])
        r["name"] = case["name"]
        time.sleep(job["grace"])
        r["markers"] = []
        for attempt in range(5):
            path = f"/__mark__/{i}/{attempt}"
            m = marker(gw, port, path)
            r["markers"].append(m)
            if m["status"] == 200 and m["peer_target"] == path:
                break
            time.sleep(0.2)
        out.append(r)
    json.dump({"cases": out}, sys.stdout)


if __name__ == "__main__":
    main()
