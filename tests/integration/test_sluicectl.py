"""scripts/sluicectl against a running gateway (the shipped example config,
Python HTTP backends, real requests through the testbed), against no
gateway at all, and against a stand-in telemetry socket for the answers a
real gateway cannot be made to give on demand (commands still to land, a
gateway that vanishes mid-`top`)."""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from harness.ctl_env import (SLUICECTL, WEB_ADDRS, HttpBackends, ctl, ctl_json, load,
                             load_async)
from peers.fake_telemetry import FakeTelemetry
from harness.sluice_env import PY, read_line, stop_proc, wait_until

NO_GW = f"sl-none-{os.getpid()}"


@pytest.fixture(scope="module")
def http_backends(testbed):
    b = HttpBackends().start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def gw(http_backends, gateway):
    return gateway


def web_requests(prefix):
    b = ctl_json("backends", "web", prefix=prefix)
    return {name: row["requests"] for name, row in b.items()}


def columns(header, line, names):
    """Start offsets of the named columns in header, and the text of line
    under each (tables are aligned, so every row splits at the same place)."""
    starts = [header.index(n) for n in names]
    return [line[s:].split()[0] if line[s:].strip() else "" for s in starts]


# ---- against a running gateway ----------------------------------------------

def test_status_human(gw):
    r = ctl("status", prefix=gw.prefix)
    assert r.returncode == 0, r.stderr
    info = gw.tel.query("/sluice/info")
    out = r.stdout
    assert f"Sluice {info['version']}, pid {info['pid']}" in out, out
    assert info["config_path"] in out and info["config_sha256"][:12] in out
    assert re.search(r"^LCORE\s+WORKER\s+BUSY%\(avg\)", out, re.M), out
    lc = next(k for k, v in gw.tel.query("/sluice/lcores").items()
              if isinstance(v, dict))
    assert re.search(rf"^\s*{lc}\s+0\s+\d+\.\d\d\s", out, re.M), out
    for pool, policy in (("web", "round_robin"), ("api", "round_robin"),
                         ("echo", "round_robin")):
        assert re.search(rf"^{pool}\s+{policy}\s", out, re.M), out
    assert r.stderr == ""


def test_status_json(gw):
    s = ctl_json("status", prefix=gw.prefix)
    assert set(s) == {"info", "lcores", "http", "pools"}
    assert s["info"]["pid"] == gw.proc.pid
    assert {k for k, v in s["pools"].items() if isinstance(v, dict)} == {"web", "api", "echo"}
    lcores = [v for v in s["lcores"].values() if isinstance(v, dict)]
    assert lcores and all("busy_pct" in lc for lc in lcores)
    assert "requests" in s["http"] and "total_p99_us" in s["http"]


def test_backends_count_the_requests_sent(gw):
    before = web_requests(gw.prefix)
    res = load(30)
    assert res["status"] == {"200": 30}, res
    after = web_requests(gw.prefix)
    assert sum(after.values()) - sum(before.values()) == 30, (before, after)
    assert set(after) == {"web1", "web2", "web3"}

    r = ctl("backends", "web", prefix=gw.prefix)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    header = lines[0]
    assert header.split()[:2] == ["BACKEND", "ADDRESS"]
    assert {"STATE", "HEALTH", "BREAKER", "REQUESTS", "SHARE"} <= set(header.split())
    rows = {ln.split()[0]: ln for ln in lines[1:]}
    assert set(rows) == {"web1", "web2", "web3"}
    for name, addr in zip(("web1", "web2", "web3"), WEB_ADDRS):
        got = columns(header, rows[name], ["ADDRESS", "STATE", "BREAKER", "REQUESTS"])
        assert got == [f"{addr}:8080", "healthy", "closed", str(after[name])], \
            (got, r.stdout)


def test_backends_unknown_pool(gw):
    r = ctl("backends", "nope", prefix=gw.prefix)
    assert r.returncode == 1
    assert r.stderr.strip() == "sluicectl: no pool named 'nope' (pools: web, api, echo)"
    assert r.stdout == ""


def test_set_weight_shows_in_backends_events_and_spread(gw):
    r = ctl("set-weight", "web", "web3", "0", prefix=gw.prefix)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("web/web3: weight 0"), r.stdout
    try:
        # The control thread applies it within milliseconds.
        assert wait_until(lambda: ctl_json("backends", "web", prefix=gw.prefix)
                          ["web3"]["effective_weight"] == 0, 5)
        # "weight" in /sluice/backends is still the configured one (reported
        # to the lead); what the balancer uses and the state say it all.
        b = ctl_json("backends", "web", prefix=gw.prefix)
        assert b["web3"]["state"] == "disabled" and b["web1"]["effective_weight"] == 1
        out = ctl("backends", "web", prefix=gw.prefix).stdout.splitlines()
        row = next(ln for ln in out if ln.startswith("web3"))
        assert columns(out[0], row, ["STATE", "EFF"]) == ["disabled", "0"], out
        # A client sees it: web3 gets nothing while its weight is 0.
        before = web_requests(gw.prefix)
        res = load(12)
        assert res["status"] == {"200": 12}, res
        assert WEB_ADDRS[2] not in res["bodies"], res
        after = web_requests(gw.prefix)
        assert after["web3"] == before["web3"]
        assert after["web1"] + after["web2"] - before["web1"] - before["web2"] == 12
        # The event log records who changed what.
        ev = ctl_json("events", prefix=gw.prefix)["events"]
        last = [e for e in ev if e["kind"] == "weight"][-1]
        assert last["pool"] == "web" and last["backend"] == "web3", last
        assert "from 1 to 0" in last["text"], last
        # A raise shows as the effective weight.
        assert ctl("set-weight", "web", "web2", "3", prefix=gw.prefix).returncode == 0
        assert wait_until(lambda: ctl_json("backends", "web", prefix=gw.prefix)
                          ["web2"]["effective_weight"] == 3, 5)
    finally:
        for name in ("web2", "web3"):
            assert ctl("set-weight", "web", name, "1", prefix=gw.prefix).returncode == 0
        assert wait_until(lambda: all(
            b["effective_weight"] == 1
            for b in ctl_json("backends", "web", prefix=gw.prefix).values()), 5)


def test_set_weight_errors(gw):
    r = ctl("set-weight", "web", "zz", "5", prefix=gw.prefix)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == 'sluicectl: /sluice/set_weight: pool "web" has no backend "zz"'
    r = ctl("set-weight", "web", "web1", "5000", prefix=gw.prefix)
    assert r.returncode == 1 and "set_weight" in r.stderr, r.stderr
    assert ctl_json("backends", "web", prefix=gw.prefix)["web1"]["weight"] == 1
    r = ctl("set-weight", "web", "web1", "heavy", prefix=gw.prefix)
    assert r.returncode == 2 and "invalid int value" in r.stderr


def test_events_paging_and_after(gw):
    # Weights that stay within skew_warn_ratio (3 of 1,3,1 would be 1.8x its
    # capacity share: a root-cause event between the weight events).
    for w in (2, 0, 1):
        assert ctl("set-weight", "web", "web2", w, prefix=gw.prefix).returncode == 0
    ev = ctl_json("events", prefix=gw.prefix)
    seqs = [e["seq"] for e in ev["events"]]
    assert seqs == sorted(seqs) and len(seqs) >= 3 and ev["next"] == seqs[-1]
    assert ev["total"] >= len(seqs) and ev["capacity"] > 0
    # --after the last seq: nothing new.
    again = ctl_json("events", "--after", ev["next"], prefix=gw.prefix)
    assert again["events"] == []
    # --after the third from last: exactly those two.
    tail = ctl_json("events", "--after", seqs[-3], prefix=gw.prefix)
    assert [e["seq"] for e in tail["events"]] == seqs[-2:]
    r = ctl("events", "--last", "2", prefix=gw.prefix)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["SEQ", "TIME", "KIND", "POOL", "BACKEND", "TEXT"]
    assert len(lines) == 4 and "weight set from 0 to 1 by an operator" in lines[2], r.stdout
    assert lines[-1].startswith("2 event(s) shown;"), lines


def test_top_bounded_and_counts_requests(gw):
    client = load_async(400, c=2, rate=100)
    try:
        time.sleep(0.5)
        r = ctl("top", "-n", "3", "--interval", "0.5", "--json",
                prefix=gw.prefix, timeout=30)
    finally:
        rc, out, err = stop_proc(client, timeout=30)
    assert r.returncode == 0, r.stderr
    frames = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert len(frames) == 3
    for f in frames:
        assert 0.3 < f["interval_s"] < 2.0, f["interval_s"]
        for lc in f["lcores"].values():
            assert 0.0 <= lc["busy_pct"] <= 100.0
        assert set(f["pools"]) == {"web", "api", "echo"}
        assert set(f["pools"]["web"]["backends"]) == {"web1", "web2", "web3"}
    # Load at ~100 requests/s was running: the rates see it.
    best = max(f["http"]["requests_per_s"] for f in frames)
    assert 30 <= best <= 200, [f["http"] for f in frames]
    per_backend = max(sum(b["requests_per_s"] for b in f["pools"]["web"]["backends"].values())
                      for f in frames)
    assert per_backend > 20, frames
    assert max(lc["packets_per_s"] for f in frames for lc in f["lcores"].values()) > 0


def test_top_human_frames(gw):
    r = ctl("top", "-n", "2", "--interval", "0.3", prefix=gw.prefix, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("sluice top:") == 2, r.stdout
    assert "\033[" not in r.stdout            # no screen control when piped
    assert re.search(r"^POOL web \(round_robin, 3/3 healthy", r.stdout, re.M)
    assert re.search(r"^BACKEND\s+STATE\s+HEALTH\s+BREAKER\s+W\s+EFF\s+REQ/S\s+SHARE",
                     r.stdout, re.M), r.stdout
    assert re.search(r"^HTTP\s+req/s \d+\.\d", r.stdout, re.M)


def test_top_ctrl_c_exits_cleanly(gw):
    # As from a terminal: SIGINT at its default. A test run started in the
    # background by a shell without job control inherits SIGINT ignored,
    # and Python then installs no KeyboardInterrupt handler at all.
    p = subprocess.Popen([str(SLUICECTL), "--prefix", gw.prefix, "top"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # Ctrl-C once the first frame is out (on a loaded machine that can
    # take longer than a fixed sleep).
    seen = ""
    deadline = time.monotonic() + 15
    while "sluice top:" not in seen and time.monotonic() < deadline:
        line = read_line(p, deadline - time.monotonic())
        if line is None:
            break
        seen += line
    assert "sluice top:" in seen, seen
    p.send_signal(signal.SIGINT)     # what Ctrl-C sends
    out, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    assert "Traceback" not in err and err == ""


def test_drain_enable_maintenance_seen_by_clients(gw):
    r = ctl("drain", "web", "web1", "--wait", "--wait-timeout", "10", prefix=gw.prefix)
    try:
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("web/web1: admin drained"), r.stdout
        b = ctl_json("backends", "web", prefix=gw.prefix)
        assert b["web1"]["admin"] == "drained" and b["web1"]["effective_weight"] == 0
        out = ctl("backends", "web", prefix=gw.prefix).stdout.splitlines()
        row = next(ln for ln in out if ln.startswith("web1"))
        assert columns(out[0], row, ["ADMIN", "EFF"]) == ["drained", "0"], out
        res = load(12)
        assert res["status"] == {"200": 12} and WEB_ADDRS[0] not in res["bodies"], res
        r = ctl("maintenance", "web", "web2", prefix=gw.prefix)
        assert r.returncode == 0 and "admin maintenance" in r.stdout, r.stdout
        res = load(6)
        assert res["status"] == {"200": 6} and set(res["bodies"]) == {WEB_ADDRS[2]}, res
    finally:
        for name in ("web1", "web2"):
            r = ctl("enable", "web", name, prefix=gw.prefix)
            assert r.returncode == 0 and "admin enabled" in r.stdout, r.stdout + r.stderr
    res = load(30)
    assert res["status"] == {"200": 30} and set(res["bodies"]) == set(WEB_ADDRS), res
    kinds = [(e["kind"], e["backend"]) for e in ctl_json("events", prefix=gw.prefix)["events"]]
    assert ("admin", "web1") in kinds and ("admin", "web2") in kinds, kinds
    r = ctl("drain", "web", "zz", prefix=gw.prefix)
    assert r.returncode == 1 and r.stderr.startswith("sluicectl: /sluice/drain: "), r.stderr


def test_breaker_open_and_reset(gw):
    r = ctl("breaker", "open", "web", "web3", prefix=gw.prefix)
    try:
        assert r.returncode == 0 and "breaker open" in r.stdout, r.stdout + r.stderr
        assert ctl_json("backends", "web", prefix=gw.prefix)["web3"]["breaker"] == "open"
        res = load(9)
        assert res["status"] == {"200": 9} and WEB_ADDRS[2] not in res["bodies"], res
    finally:
        r = ctl("breaker", "reset", "web", "web3", prefix=gw.prefix)
        assert r.returncode == 0 and "breaker closed" in r.stdout, r.stdout + r.stderr


def test_config_and_reload(gw):
    info = gw.tel.query("/sluice/info")
    r = ctl("config", "--text", prefix=gw.prefix)
    assert r.returncode == 0 and r.stdout == open(info["config_path"]).read()
    c = ctl_json("config", prefix=gw.prefix)
    assert c["sha256"] == info["config_sha256"] and c["path"] == info["config_path"]
    r = ctl("config", prefix=gw.prefix)
    assert re.search(rf"^sha256\s+{info['config_sha256']}$", r.stdout, re.M), r.stdout
    # The file has not changed: nothing to apply.
    r = ctl("reload", prefix=gw.prefix)
    assert r.returncode == 0 and r.stdout.startswith("reload: unchanged"), r.stdout + r.stderr


def test_raw_commands(gw):
    r = ctl("raw", "/sluice/info", prefix=gw.prefix)
    assert r.returncode == 0 and json.loads(r.stdout)["pid"] == gw.proc.pid
    r = ctl("raw", "/help,/sluice/backends", prefix=gw.prefix)
    assert r.returncode == 0 and "pool" in json.loads(r.stdout)["/sluice/backends"]
    listed = json.loads(ctl("raw", "/", prefix=gw.prefix).stdout)
    assert "/sluice/set_weight" in listed and "/sluice/info" in listed
    r = ctl("raw", "/sluice/nope", prefix=gw.prefix)
    assert r.returncode == 4
    assert r.stderr.strip() == "sluicectl: gateway does not support /sluice/nope (older version?)"
    # A bad parameter: null from older gateways, {"error": ...} from newer.
    r = ctl("raw", "/sluice/backends,nope", prefix=gw.prefix)
    assert r.returncode == 1
    reply = json.loads(r.stdout)
    assert reply is None or "error" in reply, reply


def test_prefix_from_environment_and_socket_path(gw):
    r = ctl("--json", "status", env={"SLUICE_PREFIX": gw.prefix})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["info"]["pid"] == gw.proc.pid
    r = ctl("status", "--json", "--socket", gw.tel.path)
    assert r.returncode == 0 and json.loads(r.stdout)["info"]["pid"] == gw.proc.pid
    r = ctl("status", "--socket", gw.tel.path, prefix=gw.prefix)
    assert r.returncode == 2 and "not both" in r.stderr


def test_permission_denied_for_non_root(gw):
    """The telemetry directory is root-only: anyone else gets told so."""
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                        "--clear-groups", PY, str(SLUICECTL), "--prefix",
                        gw.prefix, "status"],
                       capture_output=True, text=True, timeout=30, cwd="/")
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert r.stderr.strip() == (f"sluicectl: permission denied on {gw.tel.path}: "
                                "the telemetry socket is root-only; run as root")


# ---- with no gateway --------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["status"], ["backends", "web"], ["events"], ["set-weight", "web", "web1", "2"],
    ["drain", "web", "web1"], ["top", "-n", "1"], ["raw", "/"], ["reload"],
    ["config"], ["--json", "status"]])
def test_no_gateway(args):
    r = ctl(*args, prefix=NO_GW)
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr == (f"sluicectl: no Sluice gateway at /var/run/dpdk/{NO_GW}/"
                        "dpdk_telemetry.v2: is it running? (--prefix?)\n")


def test_default_prefix_is_rte():
    r = ctl("status", "--socket", "/nonexistent/dpdk_telemetry.v2")
    assert r.returncode == 3 and "/nonexistent/dpdk_telemetry.v2" in r.stderr
    out = subprocess.run([str(SLUICECTL), "--help"], capture_output=True,
                         text=True, timeout=30).stdout
    assert re.search(r"else\s+rte", out), out
    if not os.path.exists("/var/run/dpdk/rte/dpdk_telemetry.v2"):
        r = ctl("status")
        assert r.returncode == 3
        assert "/var/run/dpdk/rte/dpdk_telemetry.v2" in r.stderr


def test_stale_socket_file(tmp_path):
    """A socket file left behind by a dead gateway: nothing listens."""
    path = str(tmp_path / "dpdk_telemetry.v2")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(path)
    try:
        r = ctl("status", "--socket", path)
    finally:
        s.close()
    assert r.returncode == 3
    assert r.stderr.strip() == (f"sluicectl: no Sluice gateway at {path}: "
                                "is it running? (--prefix?)")


@pytest.mark.parametrize("sub", [
    [], ["status"], ["backends"], ["events"], ["set-weight"], ["drain"],
    ["enable"], ["maintenance"], ["breaker"], ["add-backend"],
    ["remove-backend"], ["reset-counters"], ["reload"], ["rollback"],
    ["config"], ["top"], ["raw"]])
def test_help(sub):
    r = ctl(*sub, "--help")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.startswith("usage: sluicectl"), r.stdout


def test_usage_errors():
    r = ctl()
    assert r.returncode == 2 and "COMMAND" in r.stderr
    r = ctl("breaker", "close", "web", "web1", prefix=NO_GW)
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = ctl("backends", prefix=NO_GW)
    assert r.returncode == 2


# ---- against a stand-in socket: the command set being added ------------------

def backend_state(admin="enabled", inflight=0, **kw):
    d = {"address": "198.18.1.2:8080", "weight": 1, "state": "healthy",
         "health": "up", "breaker": "closed", "effective_weight": 1,
         "inflight": inflight, "active_connections": 1, "admin": admin,
         "requests": 10, "share_permille": 500, "expected_share_permille": 500}
    d.update(kw)
    return d


@pytest.fixture
def fake(tmp_path):
    made = []

    def make(handlers, **kw):
        f = FakeTelemetry(tmp_path / f"fake{len(made)}.sock", handlers, **kw).start()
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


def fctl(f, *args, **kw):
    return ctl("--socket", f.path, *args, **kw)


def test_older_gateway_lacks_new_commands(fake):
    f = fake({"/sluice/info": {"version": "0.1.0"}})
    for args, cmd in ((["drain", "web", "web1"], "/sluice/drain"),
                      (["enable", "web", "web1"], "/sluice/enable"),
                      (["maintenance", "web", "web1"], "/sluice/maintenance"),
                      (["breaker", "open", "web", "web1"], "/sluice/breaker_open"),
                      (["reload"], "/sluice/reload"), (["rollback"], "/sluice/rollback"),
                      (["config"], "/sluice/config"),
                      (["reset-counters"], "/sluice/reset_counters"),
                      (["add-backend", "web", "web4", "198.18.1.6:8080"], "/sluice/add_backend")):
        r = fctl(f, *args)
        assert r.returncode == 4, (args, r.stderr)
        assert r.stderr == f"sluicectl: gateway does not support {cmd} (older version?)\n"


def test_drain_enable_maintenance(fake):
    polls = {"n": 0}

    def backends(params):
        polls["n"] += 1
        admin = "drained" if polls["n"] >= 3 else "draining"
        return {"web1": backend_state(admin, inflight=0 if admin == "drained" else 2)}

    f = fake({"/sluice/drain": lambda p: backend_state("draining", inflight=2)
              if p == "web,web1" else {"error": f"no backend {p}"},
              "/sluice/enable": lambda p: backend_state("enabled"),
              "/sluice/maintenance": lambda p: backend_state("maintenance", state="disabled"),
              "/sluice/backends": backends})
    r = fctl(f, "drain", "web", "web1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("web/web1: admin draining, state healthy"), r.stdout
    assert "/sluice/drain,web,web1" in f.received
    r = fctl(f, "drain", "web", "web1", "--wait", "--wait-timeout", "10")
    assert r.returncode == 0 and "admin drained" in r.stdout, (r.stdout, r.stderr)
    assert polls["n"] >= 3
    r = fctl(f, "--json", "maintenance", "web", "web1")
    assert r.returncode == 0 and json.loads(r.stdout)["admin"] == "maintenance"
    r = fctl(f, "enable", "web", "web1")
    assert r.returncode == 0 and "admin enabled" in r.stdout
    r = fctl(f, "drain", "web", "nope")
    assert r.returncode == 1 and r.stderr == "sluicectl: /sluice/drain: no backend web,nope\n"


def test_drain_wait_times_out(fake):
    f = fake({"/sluice/drain": lambda p: backend_state("draining", inflight=3),
              "/sluice/backends": lambda p: {"web1": backend_state("draining", inflight=3)}})
    t0 = time.monotonic()
    r = fctl(f, "drain", "web", "web1", "--wait", "--wait-timeout", "1")
    assert r.returncode == 1
    assert "not drained after 1 s (3 in flight)" in r.stderr
    assert time.monotonic() - t0 < 10


def change(result="applied", generation=2, summary="", errors=()):
    """What /sluice/reload, rollback, add_backend and remove_backend answer."""
    return {"result": result, "generation": generation, "sha256": "ab" * 32,
            "summary": summary, "error_count": len(errors),
            "errors": list(errors), "warnings": []}


def test_breaker_and_backend_membership(fake):
    def add(params):
        pool, name, addr, *w = params.split(",")
        if addr.endswith(":0"):
            return change("rejected", errors=["/pools/0/backends/3/port: must be 1-65535"])
        return change(summary="pools +0 -0, backends +1 -0")

    f = fake({"/sluice/breaker_open": lambda p: backend_state(breaker="open", state="breaker_open"),
              "/sluice/breaker_reset": lambda p: backend_state(),
              "/sluice/add_backend": add,
              "/sluice/remove_backend": lambda p: change(generation=3,
                                                         summary="backends +0 -1"),
              "/sluice/reset_counters": {"result": "reset", "note": "gauges kept"}})
    r = fctl(f, "breaker", "open", "web", "web1")
    assert r.returncode == 0 and "breaker open" in r.stdout
    assert "/sluice/breaker_open,web,web1" in f.received
    r = fctl(f, "breaker", "reset", "web", "web1")
    assert r.returncode == 0 and "breaker closed" in r.stdout
    r = fctl(f, "add-backend", "web", "web4", "198.18.1.6:8080", "--weight", "3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (f"add-backend web/web4: applied (generation 2, sha256 "
                                f"{'ab' * 6}): pools +0 -0, backends +1 -0")
    assert "/sluice/add_backend,web,web4,198.18.1.6:8080,3" in f.received
    r = fctl(f, "add-backend", "web", "web5", "198.18.1.7:0")
    assert r.returncode == 1
    assert "error: /pools/0/backends/3/port: must be 1-65535" in r.stderr
    r = fctl(f, "--json", "remove-backend", "web", "web4")
    assert r.returncode == 0 and json.loads(r.stdout)["generation"] == 3
    r = fctl(f, "reset-counters")
    assert r.returncode == 0 and r.stdout.strip() == "counters reset: gauges kept"


def test_reload_applied_rejected_and_rollback(fake):
    answers = iter([
        # Findings come as "pointer: message" strings or as objects.
        {"result": "applied", "sha256": "ab" * 32, "generation": 2, "errors": [],
         "warnings": [{"pointer": "/pools/0/backends/2/weight", "message": "uneven spread"}]},
        {"result": "rejected", "sha256": "cd" * 32, "generation": 2,
         "errors": ["/pools/0/backends/1/port: must be 1-65535",
                    '/listeners/0/pool: no pool "x"'],
         "warnings": []},
        {"result": "unchanged", "sha256": "ab" * 32, "generation": 2, "errors": [], "warnings": []},
    ])
    f = fake({"/sluice/reload": lambda p: next(answers),
              "/sluice/rollback": {"result": "applied", "sha256": "ef" * 32,
                                   "generation": 3, "summary": "backends +1 -0",
                                   "errors": [], "warnings": []}})
    r = fctl(f, "reload")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"reload: applied (generation 2, sha256 {'ab' * 6})",
        "  warning: /pools/0/backends/2/weight: uneven spread"]
    r = fctl(f, "reload")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "reload: rejected; the running config is unchanged",
        "  error: /pools/0/backends/1/port: must be 1-65535",
        '  error: /listeners/0/pool: no pool "x"']
    r = fctl(f, "--json", "reload")
    assert r.returncode == 0 and json.loads(r.stdout)["result"] == "unchanged"
    r = fctl(f, "rollback")
    assert r.returncode == 0
    assert r.stdout.strip() == f"rollback: applied (generation 3, sha256 {'ef' * 6}): backends +1 -0"


def test_reload_force_and_warning_outcomes(fake):
    """A reload refused for warnings says so and how to force it; --force
    sends /sluice/reload,force and reports what was applied despite them,
    and any run-time weights the file put back."""
    warn = '/pools/2: pool "spare" is not used by any listener'
    answers = {
        "": {"result": "rejected", "outcome": "rejected_warnings", "forced": 0,
             "sha256": "ab" * 32, "generation": 1, "summary": "would change pools +1 -0",
             "error_count": 0, "warning_count": 1, "errors": [], "warnings": [warn]},
        "force": {"result": "applied", "outcome": "applied_with_warnings", "forced": 1,
                  "sha256": "cd" * 32, "generation": 2, "summary": "pools +1 -0",
                  "error_count": 0, "warning_count": 1, "errors": [], "warnings": [warn],
                  "weight_overrides_replaced": 1, "weight_overrides": "web/web1 5->1"},
    }
    f = fake({"/sluice/reload": lambda p: answers[p]})
    r = fctl(f, "reload")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "reload: rejected for 1 warning(s); the running config is unchanged",
        f"  warning: {warn}",
        "  to apply it with its warnings: sluicectl reload --force"]
    assert f.received[-1] == "/sluice/reload"
    r = fctl(f, "reload", "--force")
    assert r.returncode == 0, r.stderr
    assert f.received[-1] == "/sluice/reload,force"
    assert r.stdout.splitlines() == [
        f"reload: applied by force with 1 warning(s) (generation 2, sha256 {'cd' * 6}): "
        "pools +1 -0",
        f"  warning: {warn}",
        "  note: 1 weight(s) set at run time were put back to the file's: web/web1 5->1"]
    r = fctl(f, "--json", "reload", "--force")
    assert r.returncode == 0 and json.loads(r.stdout)["outcome"] == "applied_with_warnings"
    # rollback is the way back: it takes no --force.
    assert fctl(f, "rollback", "--force").returncode == 2


def test_config_pages_are_joined(fake):
    """Pages of 127-byte pieces (telemetry's string limit) join to the text."""
    text = json.dumps({"version": 1, "pools": [{"name": f"p{i}"} for i in range(1000)]},
                      indent=2) + "\n"
    page_bytes = 127 * 100
    pages = [text[i:i + page_bytes] for i in range(0, len(text), page_bytes)]

    def config(params):
        page = int(params or 0)
        body = pages[page]
        return {"path": "/etc/sluice/sluice.json", "sha256": "12" * 32,
                "source": "reload", "loaded_at_unix": 1764650000, "generation": 4,
                "has_previous": 1, "previous_sha256": "34" * 32,
                "previous_loaded_at_unix": 1764640000, "bytes": len(text),
                "page": page, "pages": len(pages),
                "text": [body[i:i + 127] for i in range(0, len(body), 127)]}

    f = fake({"/sluice/config": config}, max_output_len=65536)
    assert len(pages) >= 2
    r = fctl(f, "config", "--text")
    assert r.returncode == 0 and r.stdout == text
    r = fctl(f, "--json", "config")
    c = json.loads(r.stdout)
    assert c["text"] == text and c["generation"] == 4
    assert c["previous"] == {"sha256": "34" * 32, "loaded_at_unix": 1764640000}
    r = fctl(f, "config")
    assert r.returncode == 0
    assert re.search(r"^path\s+/etc/sluice/sluice\.json$", r.stdout, re.M)
    assert re.search(r"^generation\s+4 \(from reload\)$", r.stdout, re.M)
    assert re.search(rf"^previous\s+sha256 {'34' * 32}, loaded .*sluicectl rollback "
                     "returns to it", r.stdout, re.M), r.stdout


def test_backends_follow_pages(fake):
    def backends(params):
        parts = params.split(",")
        page = int(parts[1]) if len(parts) > 1 else 0
        rows = {f"b{page * 2 + i}": backend_state() for i in range(2)}
        return dict(rows, page=page, pages=3)

    f = fake({"/sluice/backends": backends})
    b = json.loads(fctl(f, "--json", "backends", "big").stdout)
    assert sorted(b) == [f"b{i}" for i in range(6)]
    assert f.received[-3:] == ["/sluice/backends,big", "/sluice/backends,big,1",
                               "/sluice/backends,big,2"]


def test_gateway_vanishing_during_top(fake):
    info = {"version": "0.1.0", "uptime_ms": 1000}
    f = fake({"/sluice/info": info, "/sluice/lcores": {}, "/sluice/http": {},
              "/sluice/pools": {}})
    p = subprocess.Popen([str(SLUICECTL), "--socket", f.path, "top", "-n", "50",
                          "--interval", "0.2"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    first = read_line(p, 20)      # a frame was shown: the gateway was there
    assert (first or "").startswith("sluice top:"), first
    threading.Thread(target=f.stop).start()
    out, err = p.communicate(timeout=20)
    assert p.returncode == 3, (out, err)
    assert "Traceback" not in err
    assert err.startswith("sluicectl: ") and f.path in err, err
