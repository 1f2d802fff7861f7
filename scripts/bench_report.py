#!/usr/bin/env python3
"""The tables of scripts/bench.sh: every run's figures, then per shape and
proxy the median and [min-max] over the rounds, the ratios of Sluice's
requests per CPU-second to HAProxy's and NGINX's, and a key=value summary
(and with --json, all of it as one JSON file).

Each run directory holds meta.json (written by bench.sh), win.json
(scripts/bench_window.py) and lg.json (sluice-loadgen --json). A run gives
a figure only from what was measured: a missing file, a window that ended
after the load, zero requests counted or zero CPU leave the figure out, and
the exit status is 1 when any figure is missing or any request failed.

usage: bench_report.py --runs DIR --duration S --connections N --rate R
       --pmd PMD [--json FILE]
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

SHAPE_TITLES = {
    "keepalive": "keep-alive, closed loop",
    "newconn": "a new connection per request, closed loop",
    "rate": "keep-alive, open loop at a fixed rate",
}
PROXY_TITLES = {
    "sluice": "sluice (busy)",
    "sluice-adaptive": "sluice adaptive",
    "haproxy": "haproxy 2.6",
    "nginx": "nginx 1.22",
}
# Figures every run of a proxy must give (errors must be 0, the rest > 0).
COMMON = ("req_s", "window_requests", "cpu_s", "cpu_pct", "req_per_cpu_s",
          "p50_us", "p99_us", "p99_9_us", "lg_busy_pct")
REQUIRED = {
    "sluice": COMMON + ("busy_s", "busy_pct", "req_per_busy_s", "cycles_per_req",
                        "proc_stat_cpu_pct"),
    "sluice-adaptive": COMMON + ("busy_s", "busy_pct", "req_per_busy_s", "cycles_per_req"),
    "haproxy": COMMON + ("softirq_pct", "own_pct"),
    "nginx": COMMON + ("softirq_pct", "own_pct"),
}


CLEAN_OTHER_PCT = 5.0


def load(path):
    try:
        text = path.read_text().strip()
        return json.loads(text.splitlines()[-1]) if text else None
    except (OSError, ValueError, IndexError):
        return None


def figures(meta, win, lg):
    """The run's figures and the reasons any is missing."""
    f, why = {}, []
    px = meta["proxy"]
    f["loadavg1"] = meta["loadavg"][0]
    if lg is None or "requests_per_s" not in lg:
        why.append("no loadgen report")
    else:
        f["req_s"] = lg["requests_per_s"]
        f["errors"] = lg["errors_total"]
        f["lg_busy_pct"] = lg["busy_pct"]
        lat = lg["latency_us"]
        f["p50_us"], f["p99_us"], f["p99_9_us"] = lat["p50"], lat["p99"], lat["p99_9"]
        if lg["errors_total"]:
            why.append(f"{lg['errors_total']} failed requests: "
                       + ", ".join(f"{k} {v}" for k, v in lg["errors"].items() if v))
    if win is None or "error" in win:
        why.append("no window: " + (win or {}).get("error", "bench_window.py gave nothing"))
        return f, why
    if not win["in_load"]:
        why.append("the window ended after the load (a starved script?)")
        return f, why
    req, w = win["requests"], win["window_s"]
    f["window_s"] = w
    f["window_requests"] = req
    if px == "sluice":
        # A busy-polling worker owns its core: the window is its CPU time.
        cpu = w
        f["proc_stat_cpu_pct"] = 100 * win["cpu_s"] / w
    else:
        cpu = win["cpu_s"]
    f["cpu_s"] = cpu
    f["cpu_pct"] = 100 * cpu / w
    f["steal_pct"] = 100 * win["cpu_steal_s"] / w
    if px in ("haproxy", "nginx") and cpu > 0:
        f["softirq_pct"] = 100 * win["cpu_softirq_s"] / cpu
    # The proxy's threads and ksoftirqd on CPU 1, and at least how much of
    # CPU 1's non-idle time went to other tasks (softirq and irq time are
    # all counted as the proxy's, so this is a lower bound).
    own = win["own_s"] + win["softirqd_s"]
    f["own_pct"] = 100 * own / w
    f["other_pct"] = 100 * max(0.0, win["cpu_s"] - own - win["cpu_softirq_s"]
                               - win["cpu_irq_s"]) / w
    if req > 0 and cpu > 0:
        f["req_per_cpu_s"] = req / cpu
    if "busy_s" in win:
        f["busy_s"] = win["busy_s"]
        f["busy_pct"] = 100 * win["busy_s"] / w
        if req > 0 and win["busy_s"] > 0:
            f["req_per_busy_s"] = req / win["busy_s"]
            f["cycles_per_req"] = win["busy_s"] * win["tsc_hz"] / req
    f["cpu0_kernel_pct"] = 100 * win["cpu0_kernel_s"] / w
    for k in REQUIRED[px]:
        if not f.get(k):
            why.append(f"{k} not measured")
    return f, why


def stats(vals):
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "n": len(vals)}


def fmt(v):
    if v is None:
        return "-"
    if float(v).is_integer() and abs(v) < 100:
        return str(int(v))
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def cell(s):
    if s is None:
        return "-"
    if s["n"] == 1 or s["min"] == s["max"]:
        return fmt(s["median"])
    return f"{fmt(s['median'])} [{fmt(s['min'])}-{fmt(s['max'])}]"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--duration", type=int, required=True)
    ap.add_argument("--connections", type=int, required=True)
    ap.add_argument("--rate", type=int, required=True)
    ap.add_argument("--pmd", required=True)
    ap.add_argument("--json")
    a = ap.parse_args()

    runs, missing = [], []
    for d in sorted(Path(a.runs).iterdir()):
        meta = load(d / "meta.json")
        if meta is None:
            continue
        f, why = figures(meta, load(d / "win.json"), load(d / "lg.json"))
        runs.append({**meta, "figures": f, "problems": why, "window": load(d / "win.json")})
        for w in why:
            missing.append(f"run {meta['n']} ({meta['shape']}, {meta['proxy']}): {w}")
    shapes = list(dict.fromkeys(r["shape"] for r in runs))
    proxies = list(dict.fromkeys(r["proxy"] for r in runs))
    rounds = max((r["round"] for r in runs), default=0)

    summary = {}
    for s in shapes:
        summary[s] = {}
        for p in proxies:
            rs = [r for r in runs if r["shape"] == s and r["proxy"] == p]
            keys = dict.fromkeys(k for r in rs for k in r["figures"])
            summary[s][p] = {k: stats([r["figures"][k] for r in rs if k in r["figures"]])
                             for k in keys}

    def med(s, p, k):
        return summary.get(s, {}).get(p, {}).get(k, {}).get("median")

    def per_round(s, p1, k1, p2, k2):
        out = []
        for rnd in range(1, rounds + 1):
            x = [r["figures"].get(k1) for r in runs
                 if r["shape"] == s and r["proxy"] == p1 and r["round"] == rnd]
            y = [r["figures"].get(k2) for r in runs
                 if r["shape"] == s and r["proxy"] == p2 and r["round"] == rnd]
            if x and y and x[0] and y[0]:
                out.append(x[0] / y[0])
        return out

    pairs = [("sluice_whole_core", "sluice", "req_per_cpu_s"),
             ("sluice_busy", "sluice", "req_per_busy_s"),
             ("sluice_adaptive", "sluice-adaptive", "req_per_cpu_s")]
    ratios = {}
    for s in shapes:
        ratios[s] = {}
        for name, p1, k1 in pairs:
            for p2 in ("haproxy", "nginx"):
                num, den = med(s, p1, k1), med(s, p2, "req_per_cpu_s")
                if num and den:
                    ratios[s][f"{name}_vs_{p2}"] = {
                        "of_medians": num / den,
                        "same_round": per_round(s, p1, k1, p2, "req_per_cpu_s")}

    print(f"\nSame generator (sluice-loadgen) for every proxy: {a.connections} connections, "
          f"{a.duration} s per run, {rounds} round(s), GET / with a 64-byte answer;")
    print(f"kernel proxies via {a.pmd} on CPU 1 with RPS; Sluice via vhost-user, worker on CPU 1. "
          "Medians [min-max].")
    print("CPU: CPU 1's non-idle time in /proc/stat over the window (Sluice busy: the whole "
          "core); requests: counted by the proxy in the window.")
    print("CPU0 kernel %: system+irq+softirq share of the loadgen's CPU (the kernel work "
          "of its side).")
    print("other %: at least this share of CPU 1 went to tasks other than the proxy "
          "(a machine shared with other work shows here).")
    for s in shapes:
        title = SHAPE_TITLES[s] + (f" ({a.rate} requests/s)" if s == "rate" else "")
        la = [r["figures"]["loadavg1"] for r in runs if r["shape"] == s]
        print(f"\n{title}; load average before the runs {min(la):.2f}-{max(la):.2f}")
        cols = [("req/s", "req_s"), ("CPU1 %", "cpu_pct"), ("req/CPU-s", "req_per_cpu_s"),
                ("busy %", "busy_pct"), ("req/busy-s", "req_per_busy_s"),
                ("cycles/req", "cycles_per_req"), ("softirq %", "softirq_pct"),
                ("other %", "other_pct")]
        lat = [("p50 us", "p50_us"), ("p99 us", "p99_us"), ("p99.9 us", "p99_9_us"),
               ("errors", "errors"), ("lg busy %", "lg_busy_pct"),
               ("CPU0 kernel %", "cpu0_kernel_pct")]
        for group in (cols, lat):
            rows = [[PROXY_TITLES[p]] + [cell(summary[s][p].get(k)) for _, k in group]
                    for p in proxies]
            head = ["proxy"] + [h for h, _ in group]
            width = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
            for row in [head] + rows:
                print("  " + "  ".join(str(x).rjust(w) if i else str(x).ljust(w)
                                       for i, (x, w) in enumerate(zip(row, width))))
        if ratios[s]:
            print("  ratios of requests per CPU-second (of the medians; same-round range):")
            for name, r in ratios[s].items():
                sr = r["same_round"]
                rng = f" [{min(sr):.1f}-{max(sr):.1f}]" if len(sr) > 1 else ""
                print(f"    {name.replace('_', ' ')}: {r['of_medians']:.1f}x{rng}")

    # A shared machine: the runs in which no other task took CPU 1.
    print(f"\nRuns with other % < {CLEAN_OTHER_PCT:g} only (CPU 1 to the proxy): "
          "medians of requests per CPU-second (runs)")
    clean = {}
    for s in shapes:
        clean[s] = {}
        for p in proxies:
            rs = [r["figures"] for r in runs if r["shape"] == s and r["proxy"] == p
                  and r["figures"].get("other_pct", 100) < CLEAN_OTHER_PCT]
            for k in ("req_per_cpu_s", "req_per_busy_s"):
                vals = [f[k] for f in rs if k in f]
                if vals:
                    clean[s].setdefault(p, {})[k] = stats(vals)
        cells = []
        for p in proxies:
            c = clean[s].get(p, {}).get("req_per_cpu_s")
            b = clean[s].get(p, {}).get("req_per_busy_s")
            busy = f", per busy-s {fmt(b['median'])}" if b else ""
            cells.append(f"{p} {fmt(c['median'])}{busy} ({c['n']})" if c else f"{p} -")
        print(f"  {s}: " + ", ".join(cells))

    print("\n== summary (key=value; medians)")
    for s in shapes:
        for p in proxies:
            for k, v in summary[s][p].items():
                print(f"{s}.{p}.{k}={v['median']:.6g}")
        for name, r in ratios[s].items():
            print(f"ratio.{s}.{name}={r['of_medians']:.4g}")
    print(f"complete={0 if missing else 1}")
    if missing:
        print("\nbench.sh: figures missing or runs failed:", file=sys.stderr)
        for m in missing:
            print("  " + m, file=sys.stderr)
    if a.json:
        Path(a.json).write_text(json.dumps({
            "meta": {"duration_s": a.duration, "connections": a.connections,
                     "rate": a.rate, "pmd": a.pmd, "rounds": rounds,
                     "shapes": shapes, "proxies": proxies},
            "runs": runs, "summary": summary, "ratios": ratios,
            "clean_other_pct": CLEAN_OTHER_PCT, "clean": clean,
            "complete": not missing, "missing": missing}, indent=1))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
