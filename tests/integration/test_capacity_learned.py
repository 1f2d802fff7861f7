"""Learned capacity and the reload preflight: a
backend whose latency departs once the load on it rises gets a
capacity_learned in /sluice/backends, and a reload whose new weights would
send it more than that at the current load is refused unless forced."""

import json

from harness.sluice_env import (CLIENT_NS, PEERS, PY, TapPorts, ns_popen, stop_proc,
                                wait_until, write_config)
from harness import balancing_env
from harness.balancing_env import ADDRS, GW, backends_of, load, pool

# Fixtures of the balancing harness, bound here so that pytest finds them.
backends, make_gw = balancing_env.backends, balancing_env.make_gw


def busy_load(n, c):
    """A background load, bounded in count (and by the caller's stop)."""
    return ns_popen(CLIENT_NS, PY, str(PEERS / "http_load.py"),
                    "--url", f"http://{GW}:80/whoami", "-n", str(n),
                    "-c", str(c), "--timeout", "5")


def test_learned_capacity_refuses_an_overloading_reload(make_gw, backends, tmp_path):
    # Adaptive concurrency off: the test needs the load to queue on b2, and
    # its limit (2x what it learned) would spill the excess to b3, which
    # then learns a capacity of its own (test_concurrency_limit covers that).
    pools = [pool("cap", ADDRS[:2], concurrency={"enabled": False})]
    g = make_gw(pools)
    # b2 answers in 10 ms: with 4 clients about 3-4 of them wait on it, and
    # that is its baseline, over some 10 s (the learner wants 20 ticks of
    # 500 ms before it says anything).
    backends.set_faults({f"{ADDRS[0]}:8080": "slow:10"})
    res = load(n=8000, c=4)
    assert res["status"].get("200", 0) >= 7950, json.dumps(res)
    assert backends_of(g, "cap")["b2"]["capacity_learned"] == 0
    # Three times the clients and b2 at 40 ms (4x its baseline): latency
    # departs above the in-flight level it was fine at. The preflight judges
    # the pool's in flight now x the new share, which must clear the learned
    # level (at most 5) by a margin on any machine. With 8 clients and 3:2
    # (60%) it came to 4.2-4.8 against a learned 5 on a faster machine, and
    # the reload went through: the Python clients keep about 8-9 requests in
    # flight whatever their number. Now 12 clients and 4:1 (80%): about 7
    # against at most 5. The count outlasts the test (stopped in finally).
    backends.set_faults({f"{ADDRS[0]}:8080": "slow:40"})
    bg = busy_load(40000, 12)
    try:
        assert wait_until(lambda: backends_of(g, "cap")["b2"]["capacity_learned"] > 0,
                          25), json.dumps((backends_of(g, "cap")["b2"], bg.poll()))
        b = backends_of(g, "cap")
        learned = b["b2"]["capacity_learned"]
        # It learned the level it was fine at, not the overload.
        assert 2 <= learned <= 5, b["b2"]
        assert b["b3"]["capacity_learned"] == 0, b["b3"]
        assert float(b["b2"]["inflight_avg"]) > learned * 1.5, b["b2"]
        # 4:1 is within skew_warn_ratio (80% against a capacity share of 50%:
        # 1.6x, under 1.75x): only the preflight objects to it.
        pools[0]["backends"][0]["weight"] = 4
        pools[0]["backends"][1]["weight"] = 1
        cfg = write_config(tmp_path / "bal.json", pools=pools,
                           listeners=[{"name": "web", "address": GW, "port": 80,
                                       "mode": "http", "pool": "cap"}],
                           http={"response_timeout_ms": 600, "upstream_idle_s": 5})
        if g.config != str(cfg):
            TapPorts.config(cfg)      # the gateway reads the taps' copy
        assert bg.poll() is None, "the load ended before the reload"
        r = g.tel.query("/sluice/reload")
        assert r["outcome"] == "rejected_warnings", (r, backends_of(g, "cap"))
        text = json.dumps(r["warnings"])
        assert "b2 would get 80.0% of cap's requests" in text, r
        assert "in flight at the current load, its learned capacity is" in text, r
        assert backends_of(g, "cap")["b2"]["effective_weight"] == 1
        r = g.tel.query("/sluice/reload,force")
        assert r["outcome"] == "applied_with_warnings", r
        assert wait_until(lambda: backends_of(g, "cap")["b2"]["effective_weight"] == 4,
                          5), backends_of(g, "cap")
        b = backends_of(g, "cap")
        # What was learned stays with the backend across the generation.
        assert b["b2"]["capacity_learned"] > 0, b["b2"]
    finally:
        stop_proc(bg)
        backends.set_faults({})
