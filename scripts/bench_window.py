#!/usr/bin/env python3
"""The measuring window of one run of scripts/bench.sh.

Waits until the proxy counts requests (the load has begun), lets it settle,
then reads, at the window's start and at its end and each time as close
together as one process can:
  - the requests the proxy itself counted: HAProxy's CumReq (`show info` on
    its stats socket) or NGINX's stub_status `requests` (over a Unix
    socket; in both, each status query counts itself, so the window's end
    query is taken off), or
    Sluice's /sluice/http `requests` and its worker lcores' busy cycles
    (/sluice/lcores) from its telemetry socket;
  - /proc/stat for the proxy's CPU and CPU 0 (in clock ticks);
  - the time on CPU of the proxy's threads pinned to that CPU and of its
    ksoftirqd (/proc/PID/task/TID/schedstat), to tell how much of that
    CPU's time went to other tasks (a machine shared with other work).
Prints one JSON object. The window is only good when the load was still
running at its end: `in_load` says so (the loadgen's report file was still
empty), and the caller refuses the run otherwise.

usage: bench_window.py --kind sluice|haproxy|nginx --source PREFIX|SOCKET
       --cpu N --settle S --window S --report FILE [--pids PID,...]
       [--timeout S]
"""
import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sluice_telemetry import Telemetry, TelemetryError  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def proc_stat(cpus):
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            name, *vals = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                out[int(name[3:])] = dict(zip(STAT_FIELDS, (int(v) for v in vals)))
    return out


def runtime_ns(pids, cpu):
    """Time on CPU (ns, /proc/PID/task/TID/schedstat) of the threads of
    pids that are pinned to cpu alone: the proxy's own share of it. With
    tick accounting, softirq work done while a thread was current is in
    that thread's time."""
    t = 0
    for p in pids:
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{p}/task/{tid}/status") as f:
                    allowed = next(line.split()[1] for line in f
                                   if line.startswith("Cpus_allowed_list:"))
                if allowed != str(cpu):
                    continue
                with open(f"/proc/{p}/task/{tid}/schedstat") as f:
                    t += int(f.read().split()[0])
            except (OSError, StopIteration, IndexError, ValueError):
                pass
    return t


def ksoftirqd(cpu):
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/comm") as f:
                    if f.read().strip() == f"ksoftirqd/{cpu}":
                        return int(p)
            except OSError:
                pass
    return None


def unix_exchange(path, request, timeout=2.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    return data.decode(errors="replace")


class Counter:
    """The proxy's own request count (and Sluice's busy cycles)."""

    def __init__(self, kind, source):
        self.kind = kind
        self.source = source
        self.tel = Telemetry.for_prefix(source) if kind.startswith("sluice") else None
        self.tsc_hz = None

    def read(self):
        """(requests, busy_cycles or None)"""
        if self.kind == "haproxy":
            for line in unix_exchange(self.source, b"show info\n").splitlines():
                if line.startswith("CumReq:"):
                    return int(line.split(":", 1)[1]), None
            raise ValueError("no CumReq in HAProxy's show info")
        if self.kind == "nginx":
            reply = unix_exchange(self.source, b"GET /stub_status HTTP/1.0\r\n"
                                  b"Host: stub\r\n\r\n")
            # "Active connections: N\nserver accepts handled requests\n A H R\n..."
            lines = reply.split("\r\n\r\n", 1)[-1].splitlines()
            for i, line in enumerate(lines):
                if line.strip().startswith("server accepts"):
                    return int(lines[i + 1].split()[2]), None
            raise ValueError(f"no stub_status counters in {reply[:200]!r}")
        if self.tsc_hz is None:
            info = self.tel.query("/sluice/info")
            if not isinstance(info, dict):   # null: not registered yet
                raise ValueError("the gateway is not up yet")
            self.tsc_hz = info["tsc_hz"]
        lc = self.tel.query("/sluice/lcores")
        busy = sum(v["busy_cycles"] for v in lc.values()
                   if isinstance(v, dict) and "busy_cycles" in v)
        return self.tel.query("/sluice/http")["requests"], busy


def sample(counter, cpu, pids, softirqd):
    req, busy = counter.read()
    st = proc_stat({0, cpu})
    return {"t": time.monotonic(), "requests": req, "busy_cycles": busy,
            "stat": st[cpu], "stat0": st[0], "own_ns": runtime_ns(pids, cpu),
            "softirqd_ns": runtime_ns([softirqd], cpu) if softirqd else 0}


def nonidle(a, b, fields=("user", "nice", "system", "irq", "softirq")):
    return sum(b[f] - a[f] for f in fields)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", required=True, choices=("sluice", "haproxy", "nginx"))
    ap.add_argument("--source", required=True)
    ap.add_argument("--cpu", type=int, required=True)
    ap.add_argument("--settle", type=float, default=0.5)
    ap.add_argument("--window", type=float, required=True)
    ap.add_argument("--report", required=True, help="the loadgen's report file")
    ap.add_argument("--pids", default="")
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    pids = [int(p) for p in a.pids.split(",") if p]
    counter = Counter(a.kind, a.source)
    end = time.monotonic() + a.timeout
    # HAProxy's and NGINX's status queries count themselves.
    own = 1 if a.kind in ("haproxy", "nginx") else 0
    prev = None
    err = None
    # The load has begun when the proxy's count moves by more than our own
    # query between two reads.
    while time.monotonic() < end:
        try:
            n, _ = counter.read()
            if prev is not None and n - prev > own:
                break
            prev = n
        except (OSError, TelemetryError, ValueError, KeyError) as e:
            err = str(e)
        if os.path.exists(a.report) and os.path.getsize(a.report) > 0:
            break   # the loadgen reported already: the load was missed
        time.sleep(0.02)
    else:
        print(json.dumps({"error": f"no request counted within {a.timeout:g} s"
                          + (f" ({err})" if err else "")}))
        return 1
    time.sleep(a.settle)
    softirqd = ksoftirqd(a.cpu)
    s0 = sample(counter, a.cpu, pids, softirqd)
    time.sleep(a.window)
    s1 = sample(counter, a.cpu, pids, softirqd)
    in_load = not (os.path.exists(a.report) and os.path.getsize(a.report) > 0)
    requests = s1["requests"] - s0["requests"]
    requests -= own   # the end's status query counted itself
    out = {
        "in_load": in_load,
        "window_s": s1["t"] - s0["t"],
        "requests": requests,
        "cpu_s": nonidle(s0["stat"], s1["stat"]) / HZ,
        "cpu_softirq_s": (s1["stat"]["softirq"] - s0["stat"]["softirq"]) / HZ,
        "cpu_irq_s": (s1["stat"]["irq"] - s0["stat"]["irq"]) / HZ,
        "cpu_system_s": (s1["stat"]["system"] - s0["stat"]["system"]) / HZ,
        "cpu_user_s": (s1["stat"]["user"] + s1["stat"]["nice"]
                       - s0["stat"]["user"] - s0["stat"]["nice"]) / HZ,
        "cpu_steal_s": (s1["stat"]["steal"] - s0["stat"]["steal"]) / HZ,
        "own_s": (s1["own_ns"] - s0["own_ns"]) / 1e9,
        "softirqd_s": (s1["softirqd_ns"] - s0["softirqd_ns"]) / 1e9,
        "cpu0_s": nonidle(s0["stat0"], s1["stat0"]) / HZ,
        "cpu0_kernel_s": nonidle(s0["stat0"], s1["stat0"],
                                 ("system", "irq", "softirq")) / HZ,
    }
    if s0["busy_cycles"] is not None:
        out["busy_s"] = (s1["busy_cycles"] - s0["busy_cycles"]) / counter.tsc_hz
        out["tsc_hz"] = counter.tsc_hz
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
