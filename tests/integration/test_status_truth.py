"""What the gateway says a backend is, against what it is: HEALTH without a
health check, STATE after a return to service with slow_start_ms 0, and the
healthy count that /sluice/pools, sluicectl status, sluicectl top and the
exporter must agree on (one definition: in rotation, docs/operations.md).
The example config's web pool has no health check and no slow start."""

import json
import time

import pytest

from harness.ctl_env import Exporter, HttpBackends, ctl, ctl_json
from harness.prom_text import parse
from harness.sluice_env import wait_until

IN_ROTATION = {"healthy", "slow_start"}


@pytest.fixture(scope="module")
def http_backends(testbed):
    b = HttpBackends().start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def gw(http_backends, gateway):
    return gateway


def web_backends(gw):
    return ctl_json("backends", "web", prefix=gw.prefix)


def test_health_unknown_without_health_check(gw):
    rows = web_backends(gw)
    assert set(rows) == {"web1", "web2", "web3"}
    for name, b in rows.items():
        assert b["health"] == "unknown", (name, b)
        assert b["state"] == "healthy", (name, b)
    r = ctl("backends", "web", prefix=gw.prefix)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    col = lines[0].split().index("HEALTH")
    assert [ln.split()[col] for ln in lines[1:]] == ["unknown"] * 3, r.stdout


def test_no_slow_start_when_slow_start_ms_is_0(gw):
    r = ctl("maintenance", "web", "web2", prefix=gw.prefix)
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        assert wait_until(lambda: web_backends(gw)["web2"]["state"] == "maintenance", 5)
    finally:
        r = ctl("enable", "web", "web2", prefix=gw.prefix)
        assert r.returncode == 0, r.stdout + r.stderr
    seen = set()
    end = time.monotonic() + 2.5
    while time.monotonic() < end:
        seen.add(web_backends(gw)["web2"]["state"])
        time.sleep(0.1)
    assert seen == {"healthy"}, seen


def exporter_healthy(gw):
    e = Exporter("--prefix", gw.prefix).start()
    try:
        status, _, body = e.get()
    finally:
        e.stop()
    assert status == 200, body
    got = parse(body)["sluice_pool_healthy_backends"].select(pool="web")
    assert len(got) == 1, got
    return int(got[0][2])


def test_healthy_counts_agree_with_an_open_breaker(gw):
    r = ctl("breaker", "open", "web", "web3", prefix=gw.prefix)
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        rows = web_backends(gw)
        assert rows["web3"]["state"] == "breaker_open", rows["web3"]
        truth = sum(b["state"] in IN_ROTATION for b in rows.values())
        assert truth == 2, {k: b["state"] for k, b in rows.items()}
        pools = gw.tel.query("/sluice/pools")
        web = next(v for v in pools.values()
                   if isinstance(v, dict) and v.get("name") == "web")
        status = ctl_json("status", prefix=gw.prefix)["pools"]["web"]
        r = ctl("top", "-n", "1", "--interval", "0.3", "--json",
                prefix=gw.prefix, timeout=30)
        assert r.returncode == 0, r.stderr
        top = json.loads(r.stdout.strip().splitlines()[-1])["pools"]["web"]
        got = {"pools": web["healthy"], "status": status["healthy"],
               "top": top["healthy"], "exporter": exporter_healthy(gw)}
        assert got == {k: truth for k in got}, got
        assert top["backends_total"] == 3
    finally:
        r = ctl("breaker", "reset", "web", "web3", prefix=gw.prefix)
        assert r.returncode == 0, r.stdout + r.stderr
