"""Balancing and protection end to end: policies, limits, breakers,
outlier ejection, panic, health checks, retries, imbalance alarms and rate
limits, against real Python backends in sl-backend whose faults are injected
through a file (http_backend.py --faults), and nginx."""

import time

from harness import balancing_env
from harness.balancing_env import ADDRS, GW, backends_of, drained, events, load, pool
from harness.sluice_env import CLIENT_NS, ns_popen, wait_until

# Fixtures of the balancing harness, bound here so that pytest finds them.
backends, make_gw = balancing_env.backends, balancing_env.make_gw


def test_weights_1_2_3_spread_within_2pct(make_gw):
    g = make_gw([pool("w", ADDRS[:3], [1, 2, 3])])
    res = load(n=6000, c=8)
    assert res["status"] == {"200": 6000}, res
    got = {k: v for k, v in res["bodies"].items()}
    for addr, w in zip(ADDRS[:3], [1, 2, 3]):
        expected = 6000 * w / 6
        assert abs(got.get(addr, 0) - expected) <= 0.02 * expected, got
    # Telemetry tells the same story, per backend.
    b = backends_of(g, "w")
    assert [b[f"b{a.rsplit('.', 1)[1]}"]["status_2xx"] for a in ADDRS[:3]] == \
        [got[a] for a in ADDRS[:3]], b
    drained(g)


def test_random_and_maglev_policies(make_gw):
    g = make_gw([pool("r", ADDRS[:3], [1, 2, 3], policy="random"),
                 pool("m", ADDRS[:4], policy="maglev",
                      hash_key={"source": "header", "name": "X-User"})],
                [{"name": "r", "address": GW, "port": 80, "mode": "http", "pool": "r"},
                 {"name": "m", "address": GW, "port": 81, "mode": "http", "pool": "m"}])
    res = load(n=3000, c=8)
    assert res["status"] == {"200": 3000}, res
    shares = [res["bodies"].get(a, 0) / 3000 for a in ADDRS[:3]]
    for s, w in zip(shares, [1, 2, 3]):
        assert abs(s - w / 6) < 0.05, shares
    # Maglev: one user always lands on one backend; users spread.
    seen = {}
    for u in range(12):
        r = load(port=81, n=20, c=2, headers=[f"X-User: user-{u}"])
        assert r["status"] == {"200": 20} and len(r["bodies"]) == 1, r
        seen[u] = next(iter(r["bodies"]))
    assert len(set(seen.values())) >= 2, seen
    drained(g)


def test_backend_answering_500_is_ejected(make_gw, backends):
    g = make_gw([pool("e", ADDRS[:3],
                      outlier={"consecutive_5xx": 3, "max_ejection_pct": 50,
                               "base_ejection_ms": 60000},
                      breaker={"consecutive_failures": 0, "error_rate_pct": 0})])
    backends.set_faults({ADDRS[2]: "500"})
    res = load(path="/status/200", n=60, c=1)
    assert res["status"].get("500", 0) >= 3, res
    ev = events(g, "ejection")
    assert any(e["backend"] == "b4" and "ejected" in e["text"] for e in ev), ev
    assert backends_of(g, "e")["b4"]["state"] == "ejected"
    # Once ejected, the pool serves from the others only.
    res = load(path="/status/200", n=60, c=2)
    assert res["status"] == {"200": 60}, res
    drained(g)


def test_hanging_backend_gets_504_then_ejection(make_gw, backends):
    g = make_gw([pool("h", ADDRS[:3],
                      outlier={"consecutive_gateway": 2, "max_ejection_pct": 50},
                      breaker={"consecutive_failures": 0, "error_rate_pct": 0},
                      retry={"attempts": 0})])
    backends.set_faults({ADDRS[1]: "hang"})
    res = load(n=30, c=1)
    assert 1 <= res["status"].get("504", 0) <= 3, res
    assert res["status"].get("200", 0) >= 27, res
    assert backends_of(g, "h")["b3"]["fail_timeout"] >= 2
    assert any(e["backend"] == "b3" and "gateway" in e["text"]
               for e in events(g, "ejection"))
    res = load(n=30, c=2)
    assert res["status"] == {"200": 30}, res


def test_max_ejection_pct_never_empties_and_panic(make_gw, backends):
    g = make_gw([pool("p", ADDRS[:4], panic_threshold_pct=50,
                      outlier={"consecutive_5xx": 2, "max_ejection_pct": 100},
                      breaker={"consecutive_failures": 0, "error_rate_pct": 0})])
    backends.set_faults({a: "500" for a in ADDRS[1:4]})
    load(path="/status/200", n=80, c=1)
    b = backends_of(g, "p")
    ejected = [k for k, v in b.items() if v["ejected"]]
    # 100% allows at most n-1 = 3, and only the failing three qualify.
    assert sorted(ejected) == ["b3", "b4", "b5"], b
    p = g.tel.query("/sluice/pools")["p"]
    assert p["panic"] == 1 and p["healthy"] == 1, p
    assert any("entered panic" in e["text"] for e in events(g, "panic"))
    # In panic every backend takes traffic again: some 500s come back.
    res = load(path="/status/200", n=40, c=1)
    assert res["status"].get("500", 0) > 0 and res["status"].get("200", 0) > 0, res


def test_least_request_sends_less_to_slow_backend(make_gw, backends):
    g = make_gw([pool("lr", ADDRS[:2], policy="least_request",
                      breaker={"consecutive_failures": 0, "error_rate_pct": 0})])
    backends.set_faults({ADDRS[1]: "slow:100"})
    res = load(n=400, c=8)
    assert res["status"] == {"200": 400}, res
    slow = res["bodies"].get(ADDRS[1], 0)
    # Round robin would give it 200; least-request must give it far fewer.
    assert slow < 100, res
    drained(g)


def test_breaker_opens_on_refusals_then_recovers(make_gw, backends):
    g = make_gw([pool("br", ADDRS[:2],
                      breaker={"consecutive_failures": 3, "cooldown_ms": 500,
                               "half_open_probes": 1},
                      outlier={"consecutive_5xx": 0, "consecutive_gateway": 0})])
    backends.set_faults({ADDRS[1]: "503"})
    res = load(path="/status/200", n=40, c=1)
    # 503 is retried on the other backend: clients see only 200s.
    assert res["status"] == {"200": 40}, res
    ev = events(g, "breaker")
    assert any(e["backend"] == "b3" and e["text"].startswith("opened") for e in ev), ev
    assert g.tel.query("/sluice/breakers,br")["1"]["state"] in ("open", "half_open")
    backends.set_faults({})
    # After the cooldown a probe succeeds and the breaker closes.
    def closed():
        load(path="/status/200", n=4, c=1)
        return g.tel.query("/sluice/breakers,br")["1"]["state"] == "closed"
    assert wait_until(closed, 10, 0.3)
    assert any(e["text"].startswith("closed") for e in events(g, "breaker"))
    assert g.tel.query("/sluice/pools")["br"]["retries"] >= 1


def test_limits_and_rate_limits_answer_fast(make_gw, backends):
    g = make_gw([pool("lim", ADDRS[:1], limits={"max_inflight": 2})],
                [{"name": "web", "address": GW, "port": 80, "mode": "http",
                  "pool": "lim",
                  "routes": [{"path_prefix": "/limited", "pool": "lim",
                              "rate_limit": {"rps": 5, "burst": 5}}]}])
    backends.set_faults({ADDRS[0]: "slow:300"})
    res = load(n=40, c=10)
    over = res["status"].get("503", 0)
    assert over > 0 and res["status"].get("200", 0) > 0, res
    assert res["overloaded"] == {"pool_max_inflight": over}, res
    assert res["retry_after"] == {"1": over}, res
    p = g.tel.query("/sluice/pools")["lim"]
    assert p["refused_pool_max_inflight"] == over
    backends.set_faults({})
    res = load(path="/limited/x", n=30, c=1)
    assert res["status"].get("429", 0) >= 20, res
    assert 5 <= res["status"].get("404", 0) <= 7, res   # /limited/x: 404 at backend
    assert g.tel.query("/sluice/http")["err_429"] == res["status"]["429"]
    drained(g)


def test_backend_killed_under_wrk_load(make_gw, backends):
    # Outlier ejection off: this test is about the breaker and health checks
    # (an ejection would keep the backend out for base_ejection_ms).
    g = make_gw([pool("hc", ADDRS[:3], slow_start_ms=1000,
                      outlier={"consecutive_5xx": 0, "consecutive_gateway": 0},
                      breaker={"consecutive_failures": 3, "cooldown_ms": 2000},
                      health_check={"type": "http", "path": "/health",
                                    "interval_ms": 200, "timeout_ms": 100,
                                    "rise": 2, "fall": 2})])
    assert wait_until(lambda: all(v["health_checks"] >= 2 for v in
                                  backends_of(g, "hc").values()), 10)
    wrk = ns_popen(CLIENT_NS, "wrk", "-t1", "-c8", "-d4s", f"http://{GW}/whoami")
    time.sleep(1.5)
    backends.kill(ADDRS[2])
    try:
        out, err = wrk.communicate(timeout=30)
        assert wait_until(lambda: backends_of(g, "hc")["b4"]["health"] == "down", 10)
        ev = events(g)
        assert any(e["backend"] == "b4" and e["kind"] == "health" and
                   e["text"].startswith("down") for e in ev), ev
        assert any(e["backend"] == "b4" and e["kind"] == "breaker" and
                   e["text"].startswith("opened") for e in ev), ev
        # None fails: the requests in flight at the kill (reset or closed
        # unanswered) and the refused connects after it are retried on the
        # other backends (test_retry.py counts how).
        failed = 0
        for line in out.splitlines():
            if "Non-2xx" in line:
                failed += int(line.split(":")[1])
            if "Socket errors" in line:
                failed += sum(int(x.split()[1].rstrip(",")) for x in
                              line.split(":", 1)[1].split(",") if x.strip())
        assert failed == 0, out
        assert "requests in" in out, out
        assert g.tel.query("/sluice/pools")["hc"]["retries"] > 0
        res = load(n=60, c=4)
        assert res["status"] == {"200": 60} and ADDRS[2] not in res["bodies"], res
    finally:
        backends.start(ADDRS[2])
    assert wait_until(lambda: backends_of(g, "hc")["b4"]["health"] == "up", 10)
    assert any(e["backend"] == "b4" and e["text"] == "up after 2 passed checks (slow start)"
               for e in events(g, "health"))
    # Its breaker (opened while it was dead, its cooldown backed off by
    # failed probes) half-opens, a probe succeeds, and it takes traffic again.
    assert wait_until(lambda: load(n=40, c=4)["bodies"].get(ADDRS[2], 0) > 0,
                      20, 0.5), (backends_of(g, "hc")["b4"], [(e["kind"], e["backend"], e["text"]) for e in events(g)], g.tel.query("/sluice/breakers,hc"))
    res = load(n=200, c=4)
    assert res["status"] == {"200": 200} and res["bodies"].get(ADDRS[2], 0) > 0, res


def test_imbalance_alarm_on_skewed_weights(make_gw):
    # b4 takes 80% where its capacity share is 1/3: 2.4x, over a ratio of 2.
    g = make_gw([pool("sk", ADDRS[:3], [1, 1, 8],
                      imbalance={"window_ms": 4000, "min_requests": 50,
                                 "ratio": 2.0, "hold_ms": 500})])
    # The root cause is in the config: raised before any traffic, naming b4.
    assert wait_until(lambda: g.tel.query("/sluice/pools")["sk"]["rootcause_alarm"] == 1, 3)
    rc = events(g, "rootcause")
    assert rc and rc[0]["backend"] == "b4", rc
    assert "b4 weight 8 of 10, 80.0% of requests vs capacity share 33.3% (2.40x" in rc[0]["text"], rc
    t0 = time.monotonic()
    load(n=400, c=4)
    assert wait_until(lambda: g.tel.query("/sluice/pools")["sk"]["imbalance_alarm"] == 1,
                      5)
    assert time.monotonic() - t0 < 10
    ev = events(g, "imbalance")
    assert ev and "alarm" in ev[0]["text"] and ev[0]["backend"] == "b4", ev
    b = backends_of(g, "sk")["b4"]
    assert b["share_permille"] > 700, b
    assert b["rootcause"] == "skew" and b["rootcause_alarm"] == 1, b
    assert b["capacity_skew_permille"] == 2400 and b["capacity_share_permille"] == 333, b
    assert backends_of(g, "sk")["b2"]["rootcause"] == "none"


def test_no_false_alarm_after_maintenance_and_return(make_gw):
    """Even weights, one backend in maintenance for most of the window and
    back: no imbalance alarm (it was promised nothing while out) and no
    root-cause alarm (the weights are even). Judged on the weights of the
    moment (before), b4 looked 60% short and the event named b2."""
    g = make_gw([pool("mt", ADDRS[:3],
                      imbalance={"window_ms": 6000, "min_requests": 50,
                                 "hold_ms": 500})])
    res = load(n=150, c=4, rate=150)
    assert res["status"] == {"200": 150}, res
    assert "error" not in g.tel.query("/sluice/maintenance,mt,b4")
    res = load(n=600, c=4, rate=150)
    assert res["status"] == {"200": 600} and ADDRS[2] not in res["bodies"], res
    assert "error" not in g.tel.query("/sluice/enable,mt,b4")
    res = load(n=300, c=4, rate=150)
    assert res["status"] == {"200": 300} and res["bodies"].get(ADDRS[2], 0) > 60, res
    # The window (6 s) still holds most of the 4 s b4 was out.
    seen = []
    for _ in range(6):
        p = g.tel.query("/sluice/pools")["mt"]
        seen.append((p["imbalance_alarm"], p["rootcause_alarm"],
                     p["imbalance_worst_deviation"]))
        time.sleep(0.25)
    b4 = backends_of(g, "mt")["b4"]
    assert b4["share_permille"] < 250 and b4["expected_share_permille"] < 250, b4
    assert all(s[:2] == (0, 0) for s in seen), seen
    assert all(float(s[2]) < 0.25 for s in seen), seen
    p = g.tel.query("/sluice/pools")["mt"]
    assert p["imbalance_alarms"] == 0 and p["rootcause_alarms"] == 0, p
    assert [(e["backend"], e["text"]) for e in events(g, "imbalance")
            if "alarm on requests" in e["text"]] == []
    assert events(g, "rootcause") == []


def test_rootcause_alarm_names_a_saturated_backend_above_fair(make_gw, backends):
    """Weights 2,1,1 (b2 at 1.5x its capacity share: within skew_warn_ratio,
    no skew) and b2 slow: the requests pile up on it. The root-cause alarm
    names it as saturated, with its in-flight against its peers', and holds
    while it is ejected by a forced breaker."""
    g = make_gw([pool("sat", ADDRS[:3], [2, 1, 1])])
    assert g.tel.query("/sluice/pools")["sat"]["rootcause_alarm"] == 0
    backends.set_faults({ADDRS[0]: "slow:300"})
    try:
        res = load(n=700, c=16)
        assert res["status"] == {"200": 700}, res
    finally:
        backends.set_faults({})
    # Raised by the pile-up (2 s held), or by the slow-backend judge's
    # verdict (2 s of latency) that cut b2's share and so its pile-up:
    # within a few seconds of the load either way.
    def raised():
        p = g.tel.query("/sluice/pools")["sat"]
        return p["rootcause_alarm"] == 1 and p
    p = wait_until(raised, 5) or g.tel.query("/sluice/pools")["sat"]
    assert p["rootcause_alarm"] == 1 and p["rootcause_backend"] == "b2", p
    assert p["rootcause"] == "saturated", p
    rc = events(g, "rootcause")
    assert rc and rc[0]["backend"] == "b2" and rc[0]["text"].startswith("saturated: b2 weight 2 of 4"), rc
    assert "(1.50x, limit 1.75)" in rc[0]["text"], rc
    # Out of service (breaker forced open): nothing in flight, still raised.
    assert "error" not in g.tel.query("/sluice/breaker_open,sat,b2")
    time.sleep(3)
    p = g.tel.query("/sluice/pools")["sat"]
    assert p["rootcause_alarm"] == 1 and p["rootcause_backend"] == "b2", p
    assert backends_of(g, "sat")["b2"]["rootcause"] == "saturated"


def test_wrong_weight_pushed_at_run_time_raises_imbalance(make_gw):
    g = make_gw([pool("rt", ADDRS[:3],
                      imbalance={"window_ms": 2000, "min_requests": 50,
                                 "ratio": 2.0, "hold_ms": 1000})])
    load(n=300, c=4)
    time.sleep(1.2)
    assert g.tel.query("/sluice/pools")["rt"]["imbalance_alarm"] == 0
    assert g.tel.query("/sluice/pools")["rt"]["rootcause_alarm"] == 0
    assert events(g, "imbalance") == [] and events(g, "rootcause") == []
    r = g.tel.query("/sluice/set_weight,rt,b3,10")
    assert r["weight"] == 10, r
    assert "error" in g.tel.query("/sluice/set_weight,rt,nosuch,1")
    assert "error" in g.tel.query("/sluice/set_weight,rt,b3,-4")
    t0 = time.monotonic()
    # Traffic keeps flowing; the alarm must come within window + hold + slack.
    raised = wait_until(lambda: (load(n=100, c=4) and
                                 g.tel.query("/sluice/pools")["rt"]["imbalance_alarm"] == 1),
                        10, 0.1)
    assert raised, g.tel.query("/sluice/pools")["rt"]
    assert time.monotonic() - t0 < 2.0 + 1.0 + 3.0
    kinds = [e["kind"] for e in events(g)]
    assert kinds.index("weight") < kinds.index("imbalance"), kinds
    assert any(e["backend"] == "b3" for e in events(g, "imbalance"))
    # The root-cause alarm came first: it judges the weight itself.
    assert kinds.index("weight") < kinds.index("rootcause") < kinds.index("imbalance"), kinds
    assert events(g, "rootcause")[0]["backend"] == "b3"


def test_busy_lcore_sheds_and_says_so(make_gw):
    g = make_gw([pool("busy", ADDRS[:2])], overload={"busy_pct": 1,
                                                     "retry_after_s": 7})
    # Long enough to span several 100 ms busy windows: requests take well
    # under a millisecond each, so 300 could end inside the first window.
    res = load(n=3000, c=8)
    shed = g.tel.query("/sluice/http")["shed"]
    assert shed > 0, (res, g.tel.query("/sluice/lcores"))
    # Shedding is a 503 with the configured Retry-After, or a refused SYN.
    assert res["status"].get("503", 0) + res["errors"] > 0, res
    assert any(e["kind"] == "shed" and "busy_pct 1%" in e["text"] for e in events(g))
    assert set(res["retry_after"]) <= {"7"}, res
    assert res["retry_after"].get("7", 0) == res["status"].get("503", 0), res
