"""Adaptive per-backend concurrency with spill-over: a
misweighted pool (10:1, the favourite slow) spreads by capacity instead of
queueing on its favourite, with no 503 while the other backend has
headroom, and the pool's max_inflight cap no longer refuses what that
backend could take. With concurrency off, the same load is refused."""

import json

from harness.sluice_env import wait_until
from harness import balancing_env
from harness.balancing_env import ADDRS, backends_of, events, load, pool

# Fixtures of the balancing harness, bound here so that pytest finds them.
backends, make_gw = balancing_env.backends, balancing_env.make_gw


def misweighted(enabled):
    # b2: weight 10, capacity 2 (limit 2); b3: weight 1, capacity 8 (limit
    # 8). The pool cap of 6 is under the 8 clients' in flight.
    p = pool("mis", ADDRS[:2], [10, 1], limits={"max_inflight": 6},
             concurrency={"enabled": enabled, "min": 1, "headroom": 1.0},
             skew_warn_ratio=1000, retry={"attempts": 0})
    p["backends"][0]["capacity"] = 2
    p["backends"][1]["capacity"] = 8
    return p


def test_misweighted_pool_spills_to_the_backend_with_headroom(make_gw, backends):
    g = make_gw([misweighted(True)])
    # The limits are published with the first 500 ms evaluation.
    assert wait_until(lambda: backends_of(g, "mis")["b2"]["concurrency_limit"] == 2,
                      10), backends_of(g, "mis")
    b = backends_of(g, "mis")
    assert b["b3"]["concurrency_limit"] == 8, b["b3"]
    backends.set_faults({f"{ADDRS[0]}:8080": "slow:40"})
    # 8 clients, one request each at a time: at most 2 on b2, so at most 6
    # on b3, under its limit of 8: nothing may be refused, on any machine.
    res = load(n=2000, c=8)
    pools = g.tel.query("/sluice/pools")["mis"]
    assert res["status"] == {"200": 2000}, (res, pools)
    refused = {k: v for k, v in pools.items() if k.startswith("refused_") and v}
    assert refused == {}, pools
    # The weights promise b3 1/11 (9%); b2 takes at most 2 at 40 ms each
    # (50/s), so b3 serves most: judged at 30%, over three times its weight.
    got_b3 = res["bodies"].get(ADDRS[1], 0)
    assert got_b3 > 0.3 * 2000, (res["bodies"], pools)
    assert pools["concurrency_spilled"] > 0.2 * 2000, pools
    # Per backend: b2 is the one passed over at its limit (b3 only in the
    # instants b2 held fewer than 2 and all 8 clients sat on b3).
    b = backends_of(g, "mis")
    spilled = pools["concurrency_spilled"]
    assert b["b2"]["concurrency_passed"] >= 0.9 * spilled, (b, pools)
    assert b["b3"]["concurrency_passed"] <= 0.1 * spilled, (b, pools)


def test_without_concurrency_the_pool_cap_refuses(make_gw, backends):
    """The contrast: the same pool and load with concurrency off queues on
    the slow favourite, and its stuck requests fill the pool cap."""
    g = make_gw([misweighted(False)])
    assert backends_of(g, "mis")["b2"]["concurrency_limit"] == 0
    backends.set_faults({f"{ADDRS[0]}:8080": "slow:40"})
    res = load(n=1000, c=8)
    pools = g.tel.query("/sluice/pools")["mis"]
    assert pools["refused_pool_max_inflight"] > 0, json.dumps((res, pools))
    assert pools["concurrency_spilled"] == 0, pools


def test_a_backend_slow_without_errors_is_judged_and_recovers(make_gw, backends):
    """b4 answers every request, only 100 ms where its peers take about
    one: no error opens its breaker or ejects it. Within seconds it is
    judged slow (an event with its latency against its peers'), and its
    share is quartered before it fails; fast again, it recovers."""
    g = make_gw([pool("sl", ADDRS[:3])])
    backends.set_faults({f"{ADDRS[2]}:8080": "slow:100"})
    try:
        # Bounded: about 2 s of 8 clients waiting on b4 a third of the time
        # until it is judged, then the rest at a ninth.
        res = load(n=3000, c=8)
        assert res["status"] == {"200": 3000}, res
        b = backends_of(g, "sl")
        assert b["b4"]["slow"] == 1 and b["b4"]["slow_entries"] == 1, b["b4"]
        assert (b["b2"]["effective_weight"], b["b3"]["effective_weight"],
                b["b4"]["effective_weight"]) == (4, 4, 1), b
        ev = [e for e in events(g, "slow") if e["backend"] == "b4"]
        assert ev and ev[0]["text"].startswith("slow: latency 1"), ev
        assert "share /4" in ev[0]["text"], ev
        # Judged on latency alone: no breaker, no ejection, no 5xx.
        assert not [e for e in events(g) if e["kind"] in ("breaker", "ejection")], \
            events(g)
        assert b["b4"]["status_5xx"] == 0, b["b4"]
        # Its share now: a ninth of the picks (1 of 4 + 4 + 1), against a
        # third before.
        res = load(n=900, c=8)
        assert res["status"] == {"200": 900}, res
        assert res["bodies"].get(ADDRS[2], 0) < 900 / 9 * 1.6, res["bodies"]
    finally:
        backends.set_faults({})

    def recovered():
        load(n=300, c=8)
        return backends_of(g, "sl")["b4"]["slow"] == 0
    assert wait_until(recovered, 20, 0.2), backends_of(g, "sl")["b4"]
    b = backends_of(g, "sl")
    assert [b[k]["effective_weight"] for k in ("b2", "b3", "b4")] == [1, 1, 1], b
    ev = [e["text"] for e in events(g, "slow") if e["backend"] == "b4"]
    assert len(ev) == 2 and ev[1].startswith("recovered: latency"), ev
