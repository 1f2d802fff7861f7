"""Learned capacity and the reload preflight (issue 13 items 1 and 3): a
backend whose latency departs once the load on it rises gets a
capacity_learned in /sluice/backends, and a reload whose new weights would
send it more than that at the current load is refused unless forced."""

import json

from sluice_env import (CLIENT_NS, HERE, PY, TapPorts, ns_popen, stop_proc,
                        wait_until, write_config)
from test_balancing import ADDRS, GW, backends, backends_of, load, make_gw, pool  # noqa: F401


def busy_load(n, c):
    """A background load, bounded in count (and by the caller's stop)."""
    return ns_popen(CLIENT_NS, PY, str(HERE / "http_load.py"),
                    "--url", f"http://{GW}:80/whoami", "-n", str(n),
                    "-c", str(c), "--timeout", "5")


def test_learned_capacity_refuses_an_overloading_reload(make_gw, backends, tmp_path):
    pools = [pool("cap", ADDRS[:2])]
    g = make_gw(pools)
    # b2 answers in 10 ms: with 4 clients about 3-4 of them wait on it, and
    # that is its baseline, over some 10 s (the learner wants 20 ticks of
    # 500 ms before it says anything).
    backends.set_faults({f"{ADDRS[0]}:8080": "slow:10"})
    res = load(n=8000, c=4)
    assert res["status"].get("200", 0) >= 7950, json.dumps(res)
    assert backends_of(g, "cap")["b2"]["capacity_learned"] == 0
    # Twice the clients and b2 at 40 ms (4x its baseline): latency departs
    # above the in-flight level it was fine at.
    backends.set_faults({f"{ADDRS[0]}:8080": "slow:40"})
    bg = busy_load(6000, 8)
    try:
        assert wait_until(lambda: backends_of(g, "cap")["b2"]["capacity_learned"] > 0,
                          25), json.dumps((backends_of(g, "cap")["b2"], bg.poll()))
        b = backends_of(g, "cap")
        learned = b["b2"]["capacity_learned"]
        # It learned the level it was fine at, not the overload.
        assert 2 <= learned <= 5, b["b2"]
        assert b["b3"]["capacity_learned"] == 0, b["b3"]
        assert float(b["b2"]["inflight_avg"]) > learned * 1.5, b["b2"]
        # 3:2 is within skew_warn_ratio: only the preflight objects to it.
        pools[0]["backends"][0]["weight"] = 3
        pools[0]["backends"][1]["weight"] = 2
        cfg = write_config(tmp_path / "bal.json", pools=pools,
                           listeners=[{"name": "web", "address": GW, "port": 80,
                                       "mode": "http", "pool": "cap"}],
                           http={"response_timeout_ms": 600, "upstream_idle_s": 5})
        if g.config != str(cfg):
            TapPorts.config(cfg)      # the gateway reads the taps' copy
        r = g.tel.query("/sluice/reload")
        assert r["outcome"] == "rejected_warnings", r
        text = json.dumps(r["warnings"])
        assert "b2 would get 60.0% of cap's requests" in text, r
        assert "in flight at the current load, its learned capacity is" in text, r
        assert backends_of(g, "cap")["b2"]["effective_weight"] == 1
        r = g.tel.query("/sluice/reload,force")
        assert r["outcome"] == "applied_with_warnings", r
        assert wait_until(lambda: backends_of(g, "cap")["b2"]["effective_weight"] == 3,
                          5), backends_of(g, "cap")
        b = backends_of(g, "cap")
        # What was learned stays with the backend across the generation.
        assert b["b2"]["capacity_learned"] > 0, b["b2"]
    finally:
        stop_proc(bg)
        backends.set_faults({})
