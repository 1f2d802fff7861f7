#!/usr/bin/env python3
"""Slowloris at full scale (run by scripts/bench-slowloris.sh).

On the reference testbed: one gateway, one backend, N slow connections
(unfinished request heads, spread over the client addresses 198.18.0.3-9)
held for the whole run while a normal client on 198.18.0.2 sends requests
one after another. Two rounds: the shipped per-address cap
(http.max_slow_heads_per_client, 256), and no cap, where every slow head is
held. Prints, per round: slow connections held and closed (by status),
normal requests served, mbufs in use at the peak and after, and the
gateway's slow-head counters. Bounded: every process it starts is stopped.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))

from harness.sluice_env import (BACKEND_NS, CLIENT_NS, PEERS, PY, TESTBED, Gateway,  # noqa: E402
                                in_ns, ns_popen, read_line, run, stop_proc, wait_until,
                                write_config)

GW = "198.18.0.1"
SRCS = [f"198.18.0.{h}" for h in range(3, 10)]


def config(path, cap):
    return write_config(
        path, tcp={"time_wait_s": 1},
        http={"header_timeout_ms": 120000, "client_idle_s": 5,
              "max_slow_heads_per_client": cap},
        pools=[{"name": "app", "backends": [{"address": "198.18.1.2", "port": 8080}]}],
        listeners=[{"name": "web", "address": GW, "port": 80, "mode": "http",
                    "pool": "app"}])


def normal_requests(n):
    r = in_ns(CLIENT_NS, "sh", "-c",
              f"for i in $(seq {n}); do curl -s -o /dev/null -w '%{{http_code}}\\n' "
              f"--max-time 5 --interface 198.18.0.2 http://{GW}/whoami; done",
              check=False, timeout=600)
    codes = r.stdout.split()
    return sum(1 for c in codes if c == "200"), len(codes)


def round_(tmp, cap, count, hold, normal):
    cfg = config(tmp / f"slow-{cap}.json", cap)
    g = Gateway(cfg, tmp)
    procs = []
    try:
        g.start()
        time.sleep(1)
        base = g.tel.query("/sluice/info")["mbufs_in_use"]
        per = count // len(SRCS)
        for i, src in enumerate(SRCS):
            n = per + (1 if i < count % len(SRCS) else 0)
            procs.append(ns_popen(CLIENT_NS, PY, str(PEERS / "slow_clients.py"),
                                  "--addr", GW, "--port", "80", "--src", src,
                                  "--count", str(n), "--hold", str(hold),
                                  "--window", "128"))
        for p in procs:
            assert (read_line(p, 120) or "").strip() == "open"
        time.sleep(1)
        peak = g.tel.query("/sluice/info")["mbufs_in_use"]
        held_http = g.tel.query("/sluice/http")
        served, sent = normal_requests(normal)
        results = []
        for p in procs:
            o, _ = p.communicate(timeout=hold + 120)
            results.append(json.loads(o.strip().splitlines()[-1]))
        procs = []
        http = g.tel.query("/sluice/http")
        after = wait_until(lambda: (lambda i: i if i["mbufs_in_use"] <= base + 64
                                    and g.tel.query("/sluice/http")["clients"] == 0
                                    else None)(g.tel.query("/sluice/info")), 30)
        end_info = g.tel.query("/sluice/info")
        end_http = g.tel.query("/sluice/http")
        end_tcp = g.tel.query("/sluice/tcp")
        status = {}
        for r in results:
            for k, v in r["status"].items():
                status[k] = status.get(k, 0) + v
        return {
            "cap": cap,
            "slow_opened": sum(r["opened"] for r in results),
            "slow_failed": sum(r["failed"] for r in results),
            "slow_open_at_end": sum(r["open_at_end"] for r in results),
            "slow_closed_by_status": status,
            "clients_during": held_http["clients"],
            "normal_served": served, "normal_sent": sent,
            "mbufs_base": base, "mbufs_peak": peak,
            "mbufs_pool": g.tel.query("/sluice/info").get("mbufs_total"),
            "back_to_baseline": bool(after),
            "mbufs_after": end_info["mbufs_in_use"],
            "clients_after": end_http["clients"],
            "tcp_after": {k: v for k, v in end_tcp.items()
                          if k in ("conns", "established", "time_wait") or "conn" in k},
            "slow_heads_per_client": http["slow_heads_per_client"],
            "slow_heads_evicted": http["slow_heads_evicted"],
        }
    finally:
        for p in procs:
            stop_proc(p)
        g.stop()
        g.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--hold", type=float, default=25)
    ap.add_argument("--normal", type=int, default=300)
    a = ap.parse_args()
    a.count = min(a.count, 50000)
    tmp = Path(tempfile.mkdtemp(prefix="sl-bench-slow."))
    # Take the testbed down afterwards only if this run brought it up.
    had_testbed = CLIENT_NS in run(["ip", "netns", "list"]).stdout
    run([str(TESTBED), "up"])
    backend = ns_popen(BACKEND_NS, PY, str(PEERS / "http_backend.py"),
                       "--addr", "198.18.1.2", "--port", "8080")
    try:
        assert (read_line(backend, 15) or "").strip() == "ready"
        for cap in (256, 0):
            print(json.dumps(round_(tmp, cap, a.count, a.hold, a.normal)), flush=True)
    finally:
        stop_proc(backend)
        run(["rm", "-rf", str(tmp)], check=False)
        if not had_testbed:
            run([str(TESTBED), "down"], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
