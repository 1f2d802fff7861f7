"""The balancing tests' plumbing, shared by test_balancing and the tests of
retries, capacity, concurrency, drain and incident replay: one
http_backend.py per backend address in sl-backend with faults injected
through a file (Backends, the module-scoped `backends` fixture), a gateway
factory on given pools (`make_gw`), the pool and load helpers, and reads of
the gateway's backends, events and in-flight gauges."""

import json

import pytest

from harness.sluice_env import (BACKEND_NS, CLIENT_NS, PEERS, PY, Gateway, in_ns,
                                ns_popen, read_line, stop_proc, wait_until,
                                write_config)

GW = "198.18.0.1"
ADDRS = [f"198.18.1.{i}" for i in range(2, 10)]


class Backends:
    """One http_backend.py process per address (so one can be killed)."""

    def __init__(self, faults):
        self.faults = faults
        self.procs = {}
        self.set_faults({})

    def start(self, addr):
        proc = ns_popen(BACKEND_NS, PY, str(PEERS / "http_backend.py"),
                        "--addr", addr, "--port", "8080",
                        "--faults", str(self.faults))
        assert (read_line(proc, 15) or "").strip() == "ready"
        self.procs[addr] = proc

    def kill(self, addr):
        stop_proc(self.procs.pop(addr))

    def set_faults(self, m):
        tmp = self.faults.with_suffix(".tmp")
        tmp.write_text(json.dumps(m))
        tmp.replace(self.faults)

    def exhaustion(self, addr, port=8080):
        """The counters of a "capacity:" backend (http_backend.py), {} before
        its first report."""
        f = self.faults.parent / f"{self.faults.name}.{addr}_{port}.stats"
        try:
            return json.loads(f.read_text())
        except (OSError, ValueError):
            return {}

    def stop(self):
        for p in self.procs.values():
            stop_proc(p)
        self.procs = {}


@pytest.fixture(scope="module")
def backends(testbed, tmp_path_factory):
    b = Backends(tmp_path_factory.mktemp("faults") / "faults.json")
    for a in ADDRS:
        b.start(a)
    yield b
    b.stop()


@pytest.fixture
def make_gw(testbed, backends, tmp_path):
    made = []

    def make(pools, listeners=None, **top):
        backends.set_faults({})
        listeners = listeners or [{"name": "web", "address": GW, "port": 80,
                                   "mode": "http", "pool": pools[0]["name"]}]
        http = top.pop("http", {"response_timeout_ms": 600, "upstream_idle_s": 5})
        cfg = write_config(tmp_path / "bal.json", pools=pools,
                           listeners=listeners, http=http, **top)
        g = Gateway(cfg, tmp_path)
        g.start()
        made.append(g)
        return g

    yield make
    backends.set_faults({})
    for g in made:
        g.stop()
        g.cleanup()


def pool(name, addrs, weights=None, **kw):
    p = {"name": name, "backends": [
        {"name": f"b{a.rsplit('.', 1)[1]}", "address": a, "port": 8080,
         "weight": (weights[i] if weights else 1)} for i, a in enumerate(addrs)]}
    p.update(kw)
    return p


def load(path="/whoami", n=100, c=4, port=80, headers=(), rate=0, timeout=120):
    args = [PY, str(PEERS / "http_load.py"), "--url", f"http://{GW}:{port}{path}",
            "-n", str(n), "-c", str(c), "--body-key"]
    for h in headers:
        args += ["--header", h]
    if rate:
        args += ["--rate", str(rate)]
    r = in_ns(CLIENT_NS, *args, timeout=timeout)
    return json.loads(r.stdout.strip().splitlines()[-1])


def backends_of(g, name):
    """A pool's backend rows (its first page: these pools have few)."""
    return {k: v for k, v in g.tel.query(f"/sluice/backends,{name}").items()
            if isinstance(v, dict)}


def events(g, kind=None):
    out, after = [], 0
    while True:
        ev = g.tel.query(f"/sluice/events,{after}")
        rows = [v for k, v in ev.items() if isinstance(v, dict)]
        if not rows:
            break
        out += rows
        after = ev["next"]
    return [e for e in out if kind is None or e["kind"] == kind]


def drained(g):
    """Nothing left in flight: gauges, connections and mbufs at rest."""
    def ok():
        pools = g.tel.query("/sluice/pools")
        http = g.tel.query("/sluice/http")
        return (all(p["inflight"] == 0 and p["pending"] == 0
                    for p in pools.values() if isinstance(p, dict))
                and http["inflight"] == 0 and http["clients"] == 0)
    assert wait_until(ok, 10), (g.tel.query("/sluice/pools"),
                                g.tel.query("/sluice/http"))
