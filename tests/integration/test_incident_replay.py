"""The postmortem, re-enacted (../shared/seeds): a skewed balancer config, one
backend that slows and then fails under load, and a client load that grows.
Sluice must warn at check time, raise the imbalance alarm, open the breaker
and eject the backend, shed rather than collapse, keep serving from the
other backends with a bounded p99, and recover by itself."""

import subprocess
import time

from sluice_env import SLUICE, Gateway, wait_until, write_config
from test_balancing import (ADDRS, GW, backends, events, load,  # noqa: F401
                            pool)

HEAVY = ADDRS[2]          # b4: the backend the misconfiguration overloads


def incident_config(path):
    return write_config(
        path,
        http={"response_timeout_ms": 400, "upstream_idle_s": 5},
        pools=[pool("api", ADDRS[:3], [1, 1, 6], slow_start_ms=1000,
                    limits={"max_inflight": 12},
                    breaker={"consecutive_failures": 5, "cooldown_ms": 1000},
                    retry={"attempts": 1, "on_statuses": ["5xx"]},
                    outlier={"consecutive_5xx": 5, "consecutive_gateway": 3,
                             "max_ejection_pct": 50, "base_ejection_ms": 2000},
                    health_check={"type": "http", "path": "/health",
                                  "interval_ms": 300, "timeout_ms": 200,
                                  "rise": 2, "fall": 2},
                    imbalance={"window_ms": 3000, "min_requests": 50,
                               "ratio": 2.0, "hold_ms": 500})],
        listeners=[{"name": "web", "address": GW, "port": 80, "mode": "http",
                    "pool": "api"}])


def test_incident_replay(testbed, backends, tmp_path):  # noqa: F811
    cfg = incident_config(tmp_path / "incident.json")

    # 1. The skew is flagged before anything runs.
    r = subprocess.run([str(SLUICE), "--check-config", str(cfg)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "warning" in r.stderr and "b4" in r.stderr, r.stderr
    assert subprocess.run([str(SLUICE), "--check-config", str(cfg), "--strict"],
                          capture_output=True, timeout=30).returncode == 1

    g = Gateway(cfg, tmp_path)
    g.start()
    try:
        # 2. Normal load: everything answers, and the spread raises the alarm.
        res = load(n=400, c=4)
        assert res["status"] == {"200": 400}, res
        assert wait_until(lambda: g.tel.query("/sluice/pools")["api"]
                          ["imbalance_alarm"] == 1, 5)
        assert any(e["backend"] == "b4" for e in events(g, "imbalance"))

        # 3. The heavy backend slows down while the load grows: the pool's
        #    in-flight cap sheds the excess at once instead of queueing it.
        backends.set_faults({HEAVY: "slow:300"})
        res = load(n=300, c=24)
        shed = res["status"].get("503", 0)
        assert shed > 0 and res["overloaded"].get("pool_max_inflight") == shed, res
        assert res["errors"] == 0, res

        # 4. Then it fails outright: the breaker opens, outlier detection
        #    ejects it, retries absorb what was in flight.
        backends.set_faults({HEAVY: "500"})
        res = load(n=600, c=8)
        assert res["errors"] == 0, res
        # Retries absorb most failures; what can reach a client is bounded
        # by the failures it takes to judge (5) plus what was in flight (8).
        assert res["status"].get("500", 0) <= 5 + 8, res
        assert wait_until(lambda: g.tel.query("/sluice/backends,api")["b4"]
                          ["state"] in ("ejected", "breaker_open", "down"), 5)
        kinds = {e["kind"] for e in events(g) if e["backend"] == "b4"}
        assert {"ejection", "breaker"} <= kinds, [(e["kind"], e["text"]) for e in events(g)]

        # 5. The others keep serving, fast.
        res = load(n=600, c=8)
        assert res["status"].get("200", 0) >= 590, res
        assert res["p99_ms"] < 200, res
        assert HEAVY not in res["bodies"], res

        # 6. The backend heals; Sluice brings it back by itself.
        backends.set_faults({})
        t0 = time.monotonic()

        def back():
            load(n=20, c=2)
            return g.tel.query("/sluice/backends,api")["b4"]["state"] in (
                "healthy", "slow_start")
        assert wait_until(back, 20, 0.5), g.tel.query("/sluice/backends,api")
        assert time.monotonic() - t0 < 20
        res = load(n=400, c=4)
        assert res["status"] == {"200": 400} and res["bodies"].get(HEAVY, 0) > 0, res
        assert any("returned" in e["text"] or e["text"].startswith("closed")
                   for e in events(g) if e["backend"] == "b4")
    finally:
        g.stop()
        g.cleanup()
