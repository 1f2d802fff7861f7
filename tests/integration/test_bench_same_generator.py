"""scripts/bench.sh end to end at toy sizes: Sluice (busy and adaptive),
HAProxy and NGINX under the same sluice-loadgen, in all three shapes, one
round. The figures are not judged (no performance is asserted); what is
checked is that every figure the script prints was measured: none missing,
none zero where a measurement cannot be zero, every proxy present, the
requests each proxy counted in its window > 0, its CPU > 0, and RPS put
kernel receive work on the proxy's CPU. Then that the run left nothing of
its own behind. And scripts/bench-wrk.sh, the old wrk-over-veth table,
still runs and leaves a testbed it did not start as it found it."""

import json
import os
import re
import subprocess

import pytest

from harness.sluice_env import BACKEND_NS, CLIENT_NS, REPO, RUNTIME_DIR, run

BENCH = REPO / "scripts" / "bench.sh"
PROXIES = ("sluice", "sluice-adaptive", "haproxy", "nginx")
SHAPES = ("keepalive", "newconn", "rate")
# What each proxy's row must give, > 0 (bench_report.py's REQUIRED).
COMMON = ("req_s", "window_requests", "cpu_s", "cpu_pct", "req_per_cpu_s",
          "p50_us", "p99_us", "p99_9_us", "lg_busy_pct")
MUST = {
    "sluice": COMMON + ("busy_s", "busy_pct", "req_per_busy_s", "cycles_per_req"),
    "sluice-adaptive": COMMON + ("busy_s", "busy_pct", "req_per_busy_s", "cycles_per_req"),
    "haproxy": COMMON + ("softirq_pct", "own_pct"),
    "nginx": COMMON + ("softirq_pct", "own_pct"),
}
# Figures that may honestly be 0: failed requests (must be), CPU time other
# tasks took, steal, and the loadgen side's kernel time on vhost-user.
MAY_BE_ZERO = ("errors", "other_pct", "steal_pct", "cpu0_kernel_pct")


def run_script(args, timeout):
    p = subprocess.Popen(["bash", *map(str, args)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.terminate()   # its trap cleans up
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    return p, out, err


def test_bench_same_generator_toy_run(tmp_path):
    js = tmp_path / "bench.json"
    p, out, err = run_script([BENCH, "-t", "2", "-r", "1", "-c", "8", "--rate", "1000",
                              "--json", js], timeout=300)
    assert p.returncode == 0, out[-3000:] + err[-3000:]
    d = json.loads(js.read_text())
    assert d["complete"] and d["missing"] == [], d["missing"]
    assert set(d["meta"]["proxies"]) == set(PROXIES)
    assert set(d["summary"]) == set(SHAPES)
    assert len(d["runs"]) == len(PROXIES) * len(SHAPES)
    for r in d["runs"]:
        f = r["figures"]
        assert r["problems"] == [], r
        for k in MUST[r["proxy"]]:
            assert f.get(k, 0) > 0, (r["shape"], r["proxy"], k, f)
        assert f["errors"] == 0, r
        w = r["window"]
        assert w["in_load"] and w["requests"] > 0 and w["cpu_s"] > 0, r
        # The proxy counted, in its window, about what it can have served.
        assert w["requests"] <= f["req_s"] * w["window_s"] * 1.5 + 50, r
        if r["proxy"] in ("haproxy", "nginx"):
            # RPS: receive work on the proxy's CPU, in softirq.
            assert w["cpu_softirq_s"] > 0, r
            assert r["pmd"] == "af_packet"
        else:
            assert r["pmd"] == "vhost"
        if r["shape"] == "rate":
            assert 900 <= f["req_s"] <= 1100, r   # the offered 1000/s, served
    for s in SHAPES:
        for other in ("haproxy", "nginx"):
            for name in ("sluice_whole_core", "sluice_busy", "sluice_adaptive"):
                assert d["ratios"][s][f"{name}_vs_{other}"]["of_medians"] > 0

    # The printed figures: the key=value summary has every proxy and shape,
    # and no value that should be measured is zero.
    kv = dict(re.findall(r"^([a-z]+\.[a-z-]+\.[a-z0-9_]+)=(\S+)$", out, re.M))
    for s in SHAPES:
        for px in PROXIES:
            keys = [k for k in kv if k.startswith(f"{s}.{px}.")]
            assert keys, (s, px)
            for k in keys:
                metric = k.rsplit(".", 1)[1]
                if metric not in MAY_BE_ZERO:
                    assert float(kv[k]) > 0, (k, kv[k])
            assert float(kv[f"{s}.{px}.errors"]) == 0
    ratios = re.findall(r"^ratio\.(\w+)\.(\w+)=(\S+)$", out, re.M)
    assert len(ratios) == len(SHAPES) * 6 and all(float(v) > 0 for *_, v in ratios)
    assert re.search(r"^complete=1$", out, re.M)
    # The tables: a row per proxy per shape, and in the Sluice rows no "-"
    # (the kernel proxies have no busy cycles; Sluice no softirq column).
    def table_rows(title):   # indented by two; the ratio lines by four
        return [line for line in out.splitlines()
                if line.startswith("  " + title) and not line.startswith("   ")]
    for title in ("sluice (busy)", "sluice adaptive", "haproxy 2.6", "nginx 1.22"):
        assert len(table_rows(title)) == 2 * len(SHAPES), (title, table_rows(title))
    for line in table_rows("sluice"):
        assert line.split().count("-") <= 1, line
    # Load average before each run.
    assert len(re.findall(r"^run \d+/12: .* load average [\d.]+ [\d.]+ [\d.]+$",
                          out, re.M)) == 12, out[:3000]

    # Nothing of the run is left.
    assert "sl-bench-px" not in run(["ip", "netns", "list"]).stdout
    links = run(["ip", "-o", "link"]).stdout
    assert "slbpc0" not in links and "slbpb0" not in links
    assert run(["nft", "list", "table", "netdev", "sl_bench_px"], check=False).returncode != 0
    assert not list(RUNTIME_DIR.glob(f"sl-bench-*-{p.pid}")), "runtime dirs left behind"


@pytest.mark.parametrize("args,message", [
    (["-t", "1"], "-t must be at least 2"),
    (["-r", "0"], "-r takes a count"),
    (["--pmd", "af_xdp"], "--pmd is af_packet or tap"),
    (["--shapes", "keepalive,bogus"], "unknown shape bogus"),
    (["--proxies", "envoy"], "unknown proxy envoy"),
    (["--bogus"], "unknown option --bogus"),
])
def test_bench_bad_arguments(args, message):
    p, out, err = run_script([BENCH, *args], timeout=30)
    assert p.returncode == 2 and message in err, (p.returncode, out, err)


def test_bench_refuses_a_namespace_it_does_not_own():
    """A sl-bench-px that is not this run's (another run's, or a killed
    one's) is refused and left as it was."""
    run(["ip", "netns", "add", "sl-bench-px"])
    try:
        p, out, err = run_script([BENCH, "-t", "2", "-r", "1", "--proxies", "haproxy",
                                  "--shapes", "keepalive"], timeout=60)
        assert p.returncode == 1 and "not touching it" in err, (out, err)
        assert "sl-bench-px" in run(["ip", "netns", "list"]).stdout
    finally:
        run(["ip", "netns", "del", "sl-bench-px"], check=False)


def test_bench_wrk_still_runs_and_keeps_the_testbed(testbed):
    """The old table (kernel wrk over veth, process CPU only): three rows of
    numbers, and the testbed that was up before is up after."""
    p, out, err = run_script([REPO / "scripts" / "bench-wrk.sh", "-t", "2", "-c", "8"],
                             timeout=180)
    assert p.returncode == 0, out[-2000:] + err[-2000:]
    assert "Kernel wrk over veth (process CPU only" in out
    for name in ("haproxy", "nginx", "sluice"):
        row = next(line for line in out.splitlines() if line.startswith(name + " ")).split()
        assert float(row[1]) > 0 and int(row[5]) > 0 and float(row[7]) > 0, row
    listed = run(["ip", "netns", "list"]).stdout
    assert CLIENT_NS in listed and BACKEND_NS in listed and "sl-proxy" not in listed
    assert os.path.exists("/sys/class/net/slc0") and os.path.exists("/sys/class/net/slb0")
