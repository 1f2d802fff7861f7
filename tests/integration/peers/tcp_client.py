#!/usr/bin/env python3
"""TCP clients for the integration tests and scripts/bench-tcp.sh.

Run inside the client namespace (ip netns exec sl-client /usr/bin/python3
tests/integration/peers/tcp_client.py MODE ...). Every mode is bounded in time and
in count, and prints one JSON object on stdout as its last line (rr with
--hold also prints a {"phase": "connected", ...} line before that).

Modes:
  stream    one connection; one thread sends --bytes of deterministic data
            then half-closes, another receives the echo; sha256 of both.
  rr        --conns concurrent connections (all open at once), each doing
            --exchanges request/response rounds of --size bytes, every
            payload unique to (connection, exchange), checked byte for byte.
  dead      --conns connections to a listener whose backend is dead; records
            how and when each was closed (eof, reset, refused) or that it hung.
  legit     for --seconds, connect, exchange one unique message, close; again.
  synflood  raw IPv4 SYNs at --rate per second for --seconds (at most
            --max-packets), from random ports of the --src addresses.
  blast     --streams connections to a sink backend (backends.py sink), each
            sending for --seconds then half-closing and reading the sink's
            byte count: goodput for the benchmark.
"""

import argparse
import asyncio
import hashlib
import json
import os
import random
import resource
import socket
import struct
import sys
import threading
import time

CHUNK = 64 * 1024


def out(obj):
    print(json.dumps(obj), flush=True)


def raise_nofile(want=1 << 16):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for new_soft, new_hard in ((max(soft, want), max(hard, want)),
                               (max(soft, min(want, hard)), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, new_hard))
            return new_soft
        except (ValueError, OSError):
            continue
    return soft


def src_list(arg):
    return [a for a in (arg or "").split(",") if a]


# ---------------------------------------------------------------- stream

def stream_chunks(total, seed):
    """Deterministic data: a seeded 64 KiB block, each copy stamped with its
    index, so a lost, duplicated or reordered chunk changes the hash."""
    base = random.Random(seed).randbytes(CHUNK)
    i = 0
    left = total
    while left > 0:
        chunk = struct.pack("!Q", i) + base[8:]
        if left < CHUNK:
            chunk = chunk[:left]
        yield chunk
        left -= len(chunk)
        i += 1


def cmd_stream(a):
    deadline = time.monotonic() + a.timeout
    res = {"mode": "stream", "bytes": a.bytes, "sent": 0, "received": 0,
           "eof": False, "error": None}
    t0 = time.monotonic()
    try:
        s = socket.create_connection((a.addr, a.port), timeout=a.connect_timeout,
                                     source_address=(a.src, 0) if a.src else None)
    except OSError as e:
        res["error"] = f"connect: {e!r}"
        out(res)
        return 1
    # Per-operation stall bound; the overall bound is the deadline.
    s.settimeout(a.stall)
    sent_h = hashlib.sha256()
    recv_h = hashlib.sha256()
    errors = []

    def sender():
        try:
            for chunk in stream_chunks(a.bytes, a.seed):
                if time.monotonic() > deadline:
                    raise TimeoutError("deadline while sending")
                s.sendall(chunk)
                sent_h.update(chunk)
                res["sent"] += len(chunk)
            s.shutdown(socket.SHUT_WR)
        except Exception as e:  # reported, never raised past the thread
            errors.append(f"send: {e!r}")

    def receiver():
        buf = bytearray(256 * 1024)
        view = memoryview(buf)
        try:
            while res["received"] < a.bytes:
                if time.monotonic() > deadline:
                    raise TimeoutError("deadline while receiving")
                n = s.recv_into(buf)
                if n == 0:
                    return
                recv_h.update(view[:n])
                res["received"] += n
            # Everything is back: the echo side should now close (FIN).
            s.settimeout(a.eof_wait)
            extra = s.recv(1)
            res["eof"] = extra == b""
            if extra:
                res["received"] += len(extra)
                recv_h.update(extra)
        except socket.timeout:
            if res["received"] >= a.bytes:
                res["eof"] = False
            else:
                errors.append("recv: stalled")
        except Exception as e:
            errors.append(f"recv: {e!r}")

    ts = threading.Thread(target=sender, daemon=True)
    tr = threading.Thread(target=receiver, daemon=True)
    ts.start()
    tr.start()
    for t in (ts, tr):
        t.join(max(0.0, deadline - time.monotonic()) + a.eof_wait + 1)
    if ts.is_alive() or tr.is_alive():
        errors.append("timeout: transfer did not finish in time")
    res["seconds"] = round(time.monotonic() - t0, 3)
    res["sent_sha256"] = sent_h.hexdigest()
    res["recv_sha256"] = recv_h.hexdigest()
    res["mbit_s"] = round(res["received"] * 8 / 1e6 / max(res["seconds"], 1e-9), 1)
    res["error"] = "; ".join(errors) or None
    out(res)
    sys.stdout.flush()
    # Threads may still be blocked in a syscall: leave without joining them.
    os._exit(0 if res["error"] is None else 1)


# -------------------------------------------------------------------- rr

def rr_payload(i, j, size):
    head = b"%08d:%04d:" % (i, j)
    body = bytes((i * 31 + j * 7 + k) & 0xFF for k in range(size - len(head) - 1))
    return head + body + b"\n"


async def rr_main(a):
    srcs = src_list(a.src)
    n = a.conns
    res = {"mode": "rr", "conns": n, "exchanges": a.exchanges, "connected": 0,
           "ok": 0, "bad_payload": 0, "errors": {}, "samples": []}
    conns = [None] * n
    connect_sem = asyncio.Semaphore(a.connect_parallel)
    t0 = time.monotonic()

    def fail(kind, i, e):
        res["errors"][kind] = res["errors"].get(kind, 0) + 1
        if len(res["samples"]) < 10:
            res["samples"].append(f"conn {i}: {kind}: {e!r}")

    async def connect(i):
        src = (srcs[i % len(srcs)], 0) if srcs else None
        async with connect_sem:
            try:
                conns[i] = await asyncio.wait_for(
                    asyncio.open_connection(a.addr, a.port, local_addr=src),
                    a.connect_timeout)
                res["connected"] += 1
            except Exception as e:
                fail("connect", i, e)

    try:
        await asyncio.wait_for(asyncio.gather(*(connect(i) for i in range(n))),
                               a.connect_phase_timeout)
    except asyncio.TimeoutError:
        fail("connect-phase-timeout", -1, "")
    res["connect_seconds"] = round(time.monotonic() - t0, 3)
    if a.hold:
        out({"phase": "connected", "connected": res["connected"]})
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline),
                                   a.hold_timeout)
        except asyncio.TimeoutError:
            pass

    async def exchange(i):
        if conns[i] is None:
            return
        reader, writer = conns[i]
        try:
            for j in range(a.exchanges):
                msg = rr_payload(i, j, a.size)
                writer.write(msg)
                await writer.drain()
                got = await asyncio.wait_for(reader.readexactly(len(msg)),
                                             a.stall)
                if got != msg:
                    res["bad_payload"] += 1
                    fail("payload", i, got[:24])
                    return
            writer.write_eof()
            tail = await asyncio.wait_for(reader.read(1), a.stall)
            if tail != b"":
                fail("trailing", i, tail)
                return
            res["ok"] += 1
        except Exception as e:
            fail(type(e).__name__, i, e)
        finally:
            writer.close()

    t1 = time.monotonic()
    left = max(1.0, a.timeout - (t1 - t0))
    try:
        await asyncio.wait_for(asyncio.gather(*(exchange(i) for i in range(n))),
                               left)
    except asyncio.TimeoutError:
        fail("overall-timeout", -1, "")
    res["exchange_seconds"] = round(time.monotonic() - t1, 3)
    return res


def cmd_rr(a):
    raise_nofile(a.conns * 2 + 256)
    res = asyncio.run(rr_main(a))
    out(res)
    return 0 if res["ok"] == a.conns else 1


# ------------------------------------------------------------------ dead

async def dead_main(a):
    srcs = src_list(a.src)
    res = {"mode": "dead", "conns": a.conns, "outcomes": {}, "max_seconds": 0.0,
           "samples": []}

    async def one(i):
        src = (srcs[i % len(srcs)], 0) if srcs else None
        t0 = time.monotonic()
        kind = None
        writer = None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(a.addr, a.port, local_addr=src),
                a.hang_after)
            writer.write(b"hello %d\n" % i)
            left = a.hang_after - (time.monotonic() - t0)
            data = await asyncio.wait_for(reader.read(4096), max(0.01, left))
            kind = "eof" if data == b"" else "data"
            if kind == "data":
                res["samples"].append(f"conn {i}: got data {data[:32]!r}")
        except asyncio.TimeoutError:
            kind = "hung"
        except ConnectionRefusedError:
            kind = "refused"
        except (ConnectionResetError, BrokenPipeError):
            kind = "reset"
        except OSError as e:
            kind = "oserror"
            res["samples"].append(f"conn {i}: {e!r}")
        finally:
            if writer is not None:
                writer.close()
        dt = time.monotonic() - t0
        res["outcomes"][kind] = res["outcomes"].get(kind, 0) + 1
        res["max_seconds"] = round(max(res["max_seconds"], dt), 3)

    await asyncio.gather(*(one(i) for i in range(a.conns)))
    return res


def cmd_dead(a):
    raise_nofile(a.conns * 2 + 256)
    res = asyncio.run(dead_main(a))
    out(res)
    return 0


# ----------------------------------------------------------------- legit

def cmd_legit(a):
    res = {"mode": "legit", "attempts": 0, "ok": 0, "failures": [],
           "max_seconds": 0.0}
    end = time.monotonic() + a.seconds
    i = 0
    while time.monotonic() < end and i < a.max_attempts:
        i += 1
        res["attempts"] += 1
        t0 = time.monotonic()
        msg = rr_payload(i, 0, 100)
        try:
            with socket.create_connection((a.addr, a.port), timeout=a.connect_timeout,
                                          source_address=(a.src, 0) if a.src else None) as s:
                s.settimeout(a.connect_timeout)
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    d = s.recv(len(msg) - len(got))
                    if not d:
                        break
                    got += d
                if got != msg:
                    raise ValueError(f"echo mismatch ({len(got)} bytes)")
            res["ok"] += 1
        except Exception as e:
            if len(res["failures"]) < 10:
                res["failures"].append(f"attempt {i}: {e!r}")
        res["max_seconds"] = round(max(res["max_seconds"], time.monotonic() - t0), 3)
        time.sleep(a.pause)
    out(res)
    return 0


# -------------------------------------------------------------- synflood

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def syn_packet(src, dst, sport, dport, seq, ident):
    # TCP: 24-byte header with an MSS option, SYN only.
    opts = struct.pack("!BBH", 2, 4, 1460)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (6 << 4), 0x02,
                      64240, 0, 0) + opts
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, socket.IPPROTO_TCP, len(tcp))
    c = csum(pseudo + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ident, 0x4000,
                     64, socket.IPPROTO_TCP, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp


def cmd_synflood(a):
    srcs = [socket.inet_aton(x) for x in src_list(a.src)]
    dst = socket.inet_aton(a.addr)
    rnd = random.Random(a.seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.SOL_IP, socket.IP_HDRINCL, 1)
    print(json.dumps({"phase": "flooding"}), flush=True)
    sent = 0
    errors = 0
    batch = max(1, a.rate // 100)
    t0 = time.monotonic()
    end = t0 + a.seconds
    while sent < a.max_packets:
        now = time.monotonic()
        if now >= end:
            break
        # Pace: never ahead of rate * elapsed.
        due = int((now - t0) * a.rate) + batch
        while sent < min(due, a.max_packets):
            pkt = syn_packet(rnd.choice(srcs), dst, rnd.randint(1024, 65535),
                             a.port, rnd.getrandbits(32), sent & 0xFFFF)
            try:
                s.sendto(pkt, (a.addr, 0))
            except OSError:
                errors += 1
            sent += 1
        time.sleep(0.01)
    s.close()
    out({"mode": "synflood", "sent": sent, "send_errors": errors,
         "seconds": round(time.monotonic() - t0, 3)})
    return 0


# ----------------------------------------------------------------- blast

def cmd_blast(a):
    raise_nofile(a.streams * 2 + 256)
    payload = random.Random(1).randbytes(256 * 1024)
    results = [None] * a.streams
    socks = []
    try:
        for i in range(a.streams):
            s = socket.create_connection((a.addr, a.port),
                                         timeout=a.connect_timeout)
            s.settimeout(a.stall)
            socks.append(s)
    except OSError as e:
        for s in socks:
            s.close()
        out({"mode": "blast", "streams": a.streams, "seconds": 0, "bytes": 0,
             "sent": 0, "gbit_s": 0.0, "finished": 0,
             "errors": [f"connect {len(socks)}: {e!r}"]})
        return 1
    start = threading.Barrier(a.streams + 1)
    stop_at = [0.0]

    def run(i, s):
        sent = 0
        try:
            start.wait(30)
            view = memoryview(payload)
            while time.monotonic() < stop_at[0]:
                sent += s.send(view)
            s.shutdown(socket.SHUT_WR)
            line = b""
            while not line.endswith(b"\n"):
                d = s.recv(64)
                if not d:
                    break
                line += d
            results[i] = {"sent": sent, "acked": int(line or b"0"),
                          "done": time.monotonic()}
        except Exception as e:
            results[i] = {"sent": sent, "acked": 0, "error": repr(e),
                          "done": time.monotonic()}
        finally:
            s.close()

    threads = [threading.Thread(target=run, args=(i, s), daemon=True)
               for i, s in enumerate(socks)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    stop_at[0] = t0 + a.seconds
    start.wait(30)
    for t in threads:
        t.join(a.seconds + a.stall + 5)
    done = [r for r in results if r]
    acked = sum(r["acked"] for r in done)
    end = max((r["done"] for r in done), default=time.monotonic())
    secs = end - t0
    errs = [r["error"] for r in done if "error" in r]
    out({"mode": "blast", "streams": a.streams, "seconds": round(secs, 3),
         "bytes": acked, "sent": sum(r["sent"] for r in done),
         "gbit_s": round(acked * 8 / 1e9 / max(secs, 1e-9), 3),
         "finished": len(done), "errors": errs[:5]})
    sys.stdout.flush()
    os._exit(0 if not errs and len(done) == a.streams else 1)


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)

    def common(p, port=9000):
        p.add_argument("--addr", default="198.18.0.1")
        p.add_argument("--port", type=int, default=port)
        p.add_argument("--src", default="", help="source address(es), comma separated")
        p.add_argument("--connect-timeout", type=float, default=10.0)
        return p

    p = common(sub.add_parser("stream"))
    p.add_argument("--bytes", type=int, default=200 * 1000 * 1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--stall", type=float, default=60.0,
                   help="give up if one send or recv blocks this long")
    p.add_argument("--eof-wait", type=float, default=10.0)

    p = common(sub.add_parser("rr"))
    p.add_argument("--conns", type=int, default=2000)
    p.add_argument("--exchanges", type=int, default=10)
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--connect-parallel", type=int, default=32)
    p.add_argument("--timeout", type=float, default=150.0)
    p.add_argument("--connect-phase-timeout", type=float, default=60.0,
                   help="bound on opening all the connections")
    p.add_argument("--stall", type=float, default=30.0)
    p.add_argument("--hold", action="store_true",
                   help="once all are connected, print a line and wait for one on stdin")
    p.add_argument("--hold-timeout", type=float, default=30.0)

    p = common(sub.add_parser("dead"))
    p.add_argument("--conns", type=int, default=16)
    p.add_argument("--hang-after", type=float, default=10.0,
                   help="a connection still open after this long counts as hung")

    p = common(sub.add_parser("legit"))
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--max-attempts", type=int, default=10000)
    p.add_argument("--pause", type=float, default=0.05)

    p = common(sub.add_parser("synflood"))
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rate", type=int, default=20000)
    p.add_argument("--max-packets", type=int, default=200000)
    p.add_argument("--seed", type=int, default=7)

    p = common(sub.add_parser("blast"))
    p.add_argument("--streams", type=int, default=1)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--stall", type=float, default=30.0)

    a = ap.parse_args()
    if a.mode == "synflood" and not a.src:
        ap.error("synflood needs --src")
    fn = {"stream": cmd_stream, "rr": cmd_rr, "dead": cmd_dead,
          "legit": cmd_legit, "synflood": cmd_synflood, "blast": cmd_blast}[a.mode]
    sys.exit(fn(a))


if __name__ == "__main__":
    main()
