"""Live change through telemetry: hot reload (telemetry and SIGHUP),
rollback, the running config, drain / maintenance / enable, breaker open and
reset, adding and removing backends, counter resets. Each change is checked
by what a real client sees, against Python backends in sl-backend. A reload
refuses a config with warnings unless forced (never by SIGHUP), and every
outcome is an answer, a log line, an event and a counter."""

import hashlib
import importlib.machinery
import importlib.util
import json
import re
import signal
import time

import pytest

from harness.sluice_env import (BACKEND_NS, CLIENT_NS, PEERS, PY, REPO, Gateway, in_ns,
                                ns_popen, read_line, stop_proc, wait_until,
                                write_config)

GW = "198.18.0.1"
ADDRS = [f"198.18.1.{i}" for i in range(2, 10)]


@pytest.fixture(scope="module")
def backends(testbed, tmp_path_factory):
    faults = tmp_path_factory.mktemp("faults") / "faults.json"
    faults.write_text("{}")
    procs = []
    for a in ADDRS:
        p = ns_popen(BACKEND_NS, PY, str(PEERS / "http_backend.py"),
                     "--addr", a, "--port", "8080", "--faults", str(faults))
        assert (read_line(p, 15) or "").strip() == "ready"
        procs.append(p)
    yield
    for p in procs:
        stop_proc(p)


def pool(name, addrs, weights=None, **kw):
    p = {"name": name, "backends": [
        {"name": f"b{a.rsplit('.', 1)[1]}", "address": a, "port": 8080,
         "weight": (weights[i] if weights else 1)} for i, a in enumerate(addrs)]}
    p.update(kw)
    return p


def config(path, pools, routes=None, listener_port=80):
    """The listener takes pools[0]. Without `routes`, every other pool gets
    a route of its own, so that no pool is unused (a warning, which a
    reload refuses)."""
    listener = {"name": "web", "address": GW, "port": listener_port,
                "mode": "http", "pool": pools[0]["name"]}
    if routes is None:
        routes = [{"path_prefix": f"/{p['name']}/", "pool": p["name"]}
                  for p in pools[1:]]
    if routes:
        listener["routes"] = routes
    return write_config(path, pools=pools, listeners=[listener],
                        http={"response_timeout_ms": 2000, "upstream_idle_s": 5})


@pytest.fixture
def gw(testbed, backends, tmp_path):
    path = tmp_path / "live.json"
    config(path, [pool("a", ADDRS[:2]), pool("b", ADDRS[2:3])])
    g = Gateway(path, tmp_path)
    g.path = path
    g.start()
    yield g
    g.stop()
    g.cleanup()


def load(path="/whoami", n=100, c=4):
    r = in_ns(CLIENT_NS, PY, str(PEERS / "http_load.py"), "--url",
              f"http://{GW}{path}", "-n", str(n), "-c", str(c), "--body-key",
              timeout=120)
    return json.loads(r.stdout.strip().splitlines()[-1])


def config_text(g):
    first = g.tel.query("/sluice/config")
    text = "".join(first["text"])
    for page in range(1, first["pages"]):
        text += "".join(g.tel.query(f"/sluice/config,{page}")["text"])
    return first, text


def events(g, kind):
    out, after = [], 0
    while True:
        ev = g.tel.query(f"/sluice/events,{after}")
        rows = [v for v in ev.values() if isinstance(v, dict)]
        if not rows:
            return [e for e in out if e["kind"] == kind]
        out += rows
        after = ev["next"]


def test_config_shows_the_running_file(gw):
    info, text = config_text(gw)
    raw = gw.path.read_bytes()
    assert text.encode() == raw
    assert info["sha256"] == hashlib.sha256(raw).hexdigest()
    assert info["generation"] == 1 and info["source"] == "start-up"
    assert info["has_previous"] == 0
    assert abs(info["loaded_at_unix"] - time.time()) < 120
    assert "error" in gw.tel.query("/sluice/config,99")
    assert "error" in gw.tel.query("/sluice/config,x")


def test_reload_adds_a_route(gw):
    assert set(load("/whoami", n=20)["bodies"]) == set(ADDRS[:2])
    config(gw.path, [pool("a", ADDRS[:2]), pool("b", ADDRS[2:3])],
           routes=[{"path_prefix": "/whoami", "pool": "b"}])
    r = gw.tel.query("/sluice/reload")
    assert r["result"] == "applied", r
    assert r["generation"] == 2 and r["errors"] == []
    assert r["sha256"] == hashlib.sha256(gw.path.read_bytes()).hexdigest()
    res = load("/whoami", n=40)
    assert res["bodies"] == {ADDRS[2]: 40}, res
    # Everything else still takes the listener's pool.
    assert load("/health", n=10)["status"] == {"200": 10}
    assert any("applied" in e["text"] and "generation 2" in e["text"]
               for e in events(gw, "config"))
    # The same bytes again: nothing to do.
    assert gw.tel.query("/sluice/reload")["result"] == "unchanged"
    info, text = config_text(gw)
    assert info["generation"] == 2 and info["has_previous"] == 1
    assert '"path_prefix": "/whoami"' in text


def test_invalid_and_restart_only_reloads_change_nothing(gw):
    good = gw.path.read_text()
    bad = json.loads(good)
    bad["pools"][0]["backends"][0]["port"] = 70000
    gw.path.write_text(json.dumps(bad))
    r = gw.tel.query("/sluice/reload")
    assert r["result"] == "rejected" and r["generation"] == 1, r
    assert any("/pools/0/backends/0/port" in e for e in r["errors"]), r
    # A listener's port needs a restart: said so, and refused.
    config(gw.path, [pool("a", ADDRS[:2]), pool("b", ADDRS[2:3])], listener_port=81)
    r = gw.tel.query("/sluice/reload")
    assert r["result"] == "rejected", r
    assert any("restart" in e for e in r["errors"]), r
    assert load(n=20)["status"] == {"200": 20}
    assert gw.tel.query("/sluice/config")["generation"] == 1
    ev = events(gw, "config")
    assert sum("rejected" in e["text"] for e in ev) == 2, ev
    # Counted as rejections for errors, logged with the finding.
    st = reload_status(gw)
    assert st["reloads"]["rejected_errors"] == 2, st
    assert st["last_reload_successful"] == 0 and st["last_errors"] >= 1, st
    assert "restart" in st["last_findings"], st
    assert re.search(r"reload \(telemetry\) rejected: \d+ error\(s\)", gw.log()), \
        gw.log()[-2000:]
    assert "/pools/0/backends/0/port" in gw.log()


def wrk_failures(out):
    failed = 0
    for line in out.splitlines():
        if "Non-2xx" in line:
            failed += int(line.split(":")[1])
        if "Socket errors" in line:
            failed += sum(int(x) for x in re.findall(r"\d+", line))
    return failed


def test_reload_invalid_rollback_under_wrk_load(gw):
    """Valid, then invalid, then rollback, under continuous load: no failed
    request, no reset connection, and the invalid config never serves."""
    valid = [pool("a", ADDRS[:2] + [ADDRS[3]], [1, 1, 2]), pool("b", ADDRS[2:3])]
    wrk = ns_popen(CLIENT_NS, "wrk", "-t1", "-c16", "-d9s", f"http://{GW}/whoami")
    try:
        time.sleep(1.5)
        config(gw.path, valid)
        r1 = gw.tel.query("/sluice/reload")
        time.sleep(1.5)
        # Invalid: a new backend at .9 plus an error; .9 must never answer.
        bad = json.loads(gw.path.read_text())
        bad["pools"][0]["backends"].append(
            {"name": "b9", "address": ADDRS[7], "port": 8080, "weight": 50})
        bad["pools"][1]["policy"] = "no-such-policy"
        gw.path.write_text(json.dumps(bad))
        r2 = gw.tel.query("/sluice/reload")
        during = load(n=200, c=4)
        time.sleep(1.0)
        r3 = gw.tel.query("/sluice/rollback")
        out, err = wrk.communicate(timeout=60)
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    assert r1["result"] == "applied", r1
    assert r2["result"] == "rejected" and r2["errors"], r2
    assert r3["result"] == "applied" and r3["generation"] == 3, r3
    assert ADDRS[7] not in during["bodies"], during
    assert ADDRS[3] in during["bodies"], during
    assert during["status"] == {"200": 200}, during
    assert "Requests/sec" in out, out + err
    assert wrk_failures(out) == 0, out
    # Rolled back to the start-up config: the new backend gets nothing now.
    res = load(n=60)
    assert set(res["bodies"]) <= set(ADDRS[:2]), res
    info = gw.tel.query("/sluice/config")
    assert info["source"] == "rollback"
    # b5 left with the rollback: it is listed (as removed) only until it has
    # drained, and nothing may be left in flight to it either way.
    def b5_gone():
        b = gw.tel.query("/sluice/backends,a")
        return "b5" not in b and b
    b = wait_until(b5_gone, timeout=10, step=0.2)
    assert b, gw.tel.query("/sluice/backends,a")
    assert {"b2", "b3"} <= set(b), b


def backend_op(g, op, name, pool_name="a"):
    return g.tel.query(f"/sluice/{op},{pool_name},{name}")


def test_drain_then_enable(gw):
    r = backend_op(gw, "drain", "b3")
    assert r["admin"] in ("draining", "drained"), r
    assert r["effective_weight"] == 0
    res = load(n=100)
    assert res["bodies"] == {ADDRS[0]: 100}, res
    assert wait_until(lambda: backend_op(gw, "drain", "b3")["admin"] == "drained", 5)
    assert any(e["backend"] == "b3" and e["text"].startswith("drained")
               for e in events(gw, "admin"))
    r = backend_op(gw, "enable", "b3")
    assert r["admin"] == "enabled", r
    assert wait_until(lambda: ADDRS[1] in load(n=40)["bodies"], 5)


def test_maintenance_and_breaker_commands(gw):
    assert backend_op(gw, "maintenance", "b3")["admin"] == "maintenance"
    assert load(n=60)["bodies"] == {ADDRS[0]: 60}
    assert backend_op(gw, "enable", "b3")["admin"] == "enabled"
    r = backend_op(gw, "breaker_open", "b3")
    assert r["breaker"] == "open", r
    assert load(n=60)["bodies"] == {ADDRS[0]: 60}
    r = backend_op(gw, "breaker_reset", "b3")
    assert r["breaker"] == "closed", r
    assert wait_until(lambda: ADDRS[1] in load(n=40)["bodies"], 5)
    kinds = [e["text"] for e in events(gw, "breaker")]
    assert any("forced open" in t for t in kinds) and any("reset" in t for t in kinds)
    for bad in ("/sluice/drain", "/sluice/drain,a", "/sluice/drain,zz,b3",
                "/sluice/enable,a,nope", "/sluice/breaker_open,a"):
        assert "error" in gw.tel.query(bad), bad


def test_add_and_remove_backend(gw):
    r = gw.tel.query(f"/sluice/add_backend,a,b9,{ADDRS[7]}:8080,2")
    assert r["result"] == "applied", r
    assert wait_until(lambda: ADDRS[7] in load(n=60)["bodies"], 5)
    info, text = config_text(gw)
    assert info["source"] == "add_backend" and ADDRS[7] in text
    # The validator judges runtime changes too.
    r = gw.tel.query("/sluice/add_backend,a,b9,198.18.1.8:8080")
    assert r["result"] == "rejected" and r["errors"], r
    assert "error" in gw.tel.query("/sluice/add_backend,a,bx,198.18.1.8")
    assert "error" in gw.tel.query("/sluice/add_backend,a,bx,198.18.1.8:99999")
    r = gw.tel.query("/sluice/add_backend,nopool,bx,198.18.1.8:8080")
    assert r["result"] == "rejected", r
    r = gw.tel.query("/sluice/remove_backend,a,b9")
    assert r["result"] == "applied", r
    res = load(n=80)
    assert ADDRS[7] not in res["bodies"] and res["status"] == {"200": 80}, res
    assert "error" in gw.tel.query("/sluice/drain,a,b9")   # gone by name
    # Re-adding it brings the same slot back to life.
    assert gw.tel.query(f"/sluice/add_backend,a,b9,{ADDRS[7]}:8080")["result"] == "applied"
    assert wait_until(lambda: ADDRS[7] in load(n=60)["bodies"], 5)


def test_reset_counters(gw):
    load(n=50)
    assert gw.tel.query("/sluice/http")["requests"] >= 50
    r = gw.tel.query("/sluice/reset_counters")
    assert r["result"] == "reset"
    assert wait_until(lambda: gw.tel.query("/sluice/http")["requests"] == 0, 3)
    assert sum(b["status_2xx"] for b in gw.tel.query("/sluice/backends,a").values()
               if isinstance(b, dict)) == 0
    load(n=10)
    assert gw.tel.query("/sluice/http")["requests"] == 10
    assert "error" in gw.tel.query("/sluice/reset_counters,x")


def test_sighup_reloads(gw):
    config(gw.path, [pool("a", ADDRS[:2]), pool("b", ADDRS[2:3])],
           routes=[{"path_prefix": "/whoami", "pool": "b"}])
    gw.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: gw.tel.query("/sluice/config")["generation"] == 2, 5)
    assert load("/whoami", n=10)["bodies"] == {ADDRS[2]: 10}
    assert gw.proc.poll() is None
    assert any("SIGHUP" in e["text"] for e in events(gw, "config"))


def test_sluicectl_write_commands(gw):
    from harness.ctl_env import ctl, ctl_json
    r = ctl_json("drain", "a", "b3", prefix=gw.prefix)
    assert r["admin"] in ("draining", "drained"), r
    assert load(n=40)["bodies"] == {ADDRS[0]: 40}
    assert ctl_json("enable", "a", "b3", prefix=gw.prefix)["admin"] == "enabled"
    assert ctl_json("breaker", "open", "a", "b3", prefix=gw.prefix)["breaker"] == "open"
    assert ctl_json("breaker", "reset", "a", "b3", prefix=gw.prefix)["breaker"] == "closed"
    config(gw.path, [pool("a", ADDRS[:2]), pool("b", ADDRS[2:3])],
           routes=[{"path_prefix": "/whoami", "pool": "b"}])
    r = ctl("reload", prefix=gw.prefix)
    assert r.returncode == 0 and "applied" in r.stdout, (r.stdout, r.stderr)
    r = ctl("config", "--text", prefix=gw.prefix)
    # sluicectl ends the text with a newline when the file has none.
    assert r.returncode == 0 and r.stdout.rstrip("\n") == gw.path.read_text().rstrip("\n"), r.stderr
    gw.path.write_text("{ not json")
    r = ctl("reload", prefix=gw.prefix)
    assert r.returncode != 0 and "invalid JSON" in r.stdout + r.stderr, r
    r = ctl("rollback", prefix=gw.prefix)
    assert r.returncode == 0 and "applied" in r.stdout, (r.stdout, r.stderr)
    assert set(load(n=20)["bodies"]) <= set(ADDRS[:2])
    r = ctl("drain", "a", "nope", prefix=gw.prefix)
    assert r.returncode != 0 and "no backend" in r.stdout + r.stderr


def test_telemetry_socket_is_root_only(gw):
    import os
    import stat
    d = os.path.dirname(gw.tel.path)
    st = os.stat(d)
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) & 0o077 == 0, oct(st.st_mode)


def test_backends_alike_after_sanitising_keep_both_rows(gw):
    """Two names that telemetry's key sanitising maps alike ("web.1" and
    "web_1") must both be listed, each row with its exact name."""
    p = pool("a", ADDRS[:2])
    p["backends"][0]["name"] = "web.1"
    p["backends"][1]["name"] = "web_1"
    config(gw.path, [p, pool("b", ADDRS[2:3])])
    r = gw.tel.query("/sluice/reload")
    assert r["result"] == "applied", r
    def rows():
        b = gw.tel.query("/sluice/backends,a")
        r = {k: v for k, v in b.items() if isinstance(v, dict)}
        # b2 and b3 left with the reload; they are listed until drained.
        return r if len(r) == 2 else None
    r = wait_until(rows, timeout=10, step=0.2)
    assert r, gw.tel.query("/sluice/backends,a")
    assert sorted(v["name"] for v in r.values()) == ["web.1", "web_1"], r


# ---- warnings: refused unless forced ----------------------------------------

UNUSED_POOL = 'pool "spare" is not used by any listener'


def warned_config(path):
    """Valid, with one warning that is not about weights: a pool that no
    listener uses. Its route sends /whoami to pool b, so an applied reload
    shows in the traffic."""
    return config(path, [pool("a", ADDRS[:2]), pool("b", ADDRS[2:3]),
                         pool("spare", ADDRS[4:5])],
                  routes=[{"path_prefix": "/whoami", "pool": "b"}])


def reload_status(g):
    st = g.tel.query("/sluice/reload_status")
    assert isinstance(st, dict) and "error" not in st, st
    return st


def config_events(g):
    return [e["text"] for e in events(g, "config")]


def test_reload_refuses_warnings_unless_forced(gw):
    warned_config(gw.path)
    r = gw.tel.query("/sluice/reload")
    assert r["result"] == "rejected" and r["outcome"] == "rejected_warnings", r
    assert r["generation"] == 1 and r["error_count"] == 0 and r["errors"] == [], r
    assert r["forced"] == 0 and r["warning_count"] == 1, r
    assert any(UNUSED_POOL in w for w in r["warnings"]), r
    # Nothing changed: /whoami still takes the listener's pool.
    assert set(load("/whoami", n=20)["bodies"]) <= set(ADDRS[:2])
    st = reload_status(gw)
    assert st["last_reload_successful"] == 0 and st["strict"] == 0, st
    assert st["reloads"]["applied"] == 0 and st["reloads"]["unchanged"] == 0, st
    assert st["last_outcome"] == "rejected_warnings" and st["last_trigger"] == "telemetry", st
    assert st["last_warnings"] == 1 and st["last_errors"] == 0, st
    assert UNUSED_POOL in st["last_findings"], st
    assert st["reloads"]["rejected_warnings"] == 1, st
    assert st["reloads"]["applied_with_warnings"] == 0 and st["running_warnings"] == 0, st
    assert any("rejected for 1 warning(s)" in t and UNUSED_POOL in t
               for t in config_events(gw)), config_events(gw)
    assert wait_until(lambda: "rejected for 1 warning(s)" in gw.log(), 3)
    assert UNUSED_POOL in gw.log()
    # Only "force" is a parameter: anything else is an error, not a reload.
    assert "error" in gw.tel.query("/sluice/reload,forse")
    assert reload_status(gw)["reloads"]["rejected_warnings"] == 1

    r = gw.tel.query("/sluice/reload,force")
    assert r["result"] == "applied" and r["outcome"] == "applied_with_warnings", r
    assert r["forced"] == 1 and r["generation"] == 2, r
    assert any(UNUSED_POOL in w for w in r["warnings"]), r
    assert load("/whoami", n=10)["bodies"] == {ADDRS[2]: 10}
    st = reload_status(gw)
    assert st["last_reload_successful"] == 1 and st["last_forced"] == 1, st
    assert st["last_outcome"] == "applied_with_warnings" and st["running_warnings"] == 1, st
    assert st["reloads"]["rejected_warnings"] == 1, st
    assert st["reloads"]["applied_with_warnings"] == 1, st
    assert any("applied by force with 1 warning(s)" in t and UNUSED_POOL in t
               for t in config_events(gw)), config_events(gw)
    assert wait_until(lambda: "applied by force with 1 warning(s)" in gw.log(), 3)
    # The same bytes again, not forced: they already run, nothing to do.
    r = gw.tel.query("/sluice/reload")
    assert r["result"] == "unchanged" and r["outcome"] == "unchanged", r
    st = reload_status(gw)
    assert st["reloads"]["unchanged"] == 1 and st["last_reload_successful"] == 1, st
    assert st["running_warnings"] == 1, st
    # A clean config clears the running warnings.
    config(gw.path, [pool("a", ADDRS[:2]), pool("b", ADDRS[2:3])])
    r = gw.tel.query("/sluice/reload")
    assert r["outcome"] == "applied" and r["warnings"] == [], r
    assert reload_status(gw)["running_warnings"] == 0


def test_sighup_never_forces(gw):
    warned_config(gw.path)
    gw.proc.send_signal(signal.SIGHUP)
    assert wait_until(
        lambda: any("SIGHUP" in t for t in config_events(gw)), 5), config_events(gw)
    assert gw.tel.query("/sluice/config")["generation"] == 1
    st = reload_status(gw)
    assert st["reloads"]["rejected_warnings"] == 1, st
    assert st["last_trigger"] == "SIGHUP" and st["last_reload_successful"] == 0, st
    assert st["last_forced"] == 0, st
    assert set(load("/whoami", n=20)["bodies"]) <= set(ADDRS[:2])
    assert any("reload (SIGHUP) rejected for 1 warning(s)" in t
               for t in config_events(gw)), config_events(gw)
    # The signal's findings also go to stderr, as --check-config prints them.
    assert wait_until(lambda: f"/pools/2: warning: {UNUSED_POOL}" in gw.log(), 3), \
        gw.log()[-2000:]
    assert gw.proc.poll() is None


def test_sluicectl_reload_refuses_warnings_unless_forced(gw):
    from harness.ctl_env import ctl
    warned_config(gw.path)
    r = ctl("reload", prefix=gw.prefix)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "reload: rejected for 1 warning(s)" in r.stderr, r.stderr
    assert UNUSED_POOL in r.stderr and "sluicectl reload --force" in r.stderr, r.stderr
    assert gw.tel.query("/sluice/config")["generation"] == 1
    r = ctl("status", prefix=gw.prefix)
    assert r.returncode == 0 and "last reload rejected warnings (telemetry, " in r.stdout, \
        (r.stdout, r.stderr)
    r = ctl("reload", "--force", prefix=gw.prefix)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert r.stdout.startswith("reload: applied by force with 1 warning(s) "
                               "(generation 2"), r.stdout
    assert UNUSED_POOL in r.stdout
    assert load("/whoami", n=10)["bodies"] == {ADDRS[2]: 10}
    r = ctl("status", prefix=gw.prefix)
    assert "last reload applied with warnings" in r.stdout, r.stdout
    assert "the running config has 1 warning(s)" in r.stdout, r.stdout
    # rollback has no --force: it is the way back, never gated by warnings.
    assert ctl("rollback", "--force", prefix=gw.prefix).returncode == 2


def test_reload_outcomes_are_metrics(gw):
    from harness.ctl_env import Exporter
    from harness.prom_text import parse
    mod_path = REPO / "scripts" / "sluice-exporter"
    loader = importlib.machinery.SourceFileLoader("sluice_exporter", str(mod_path))
    mod = importlib.util.module_from_spec(
        importlib.util.spec_from_loader("sluice_exporter", loader))
    loader.exec_module(mod)
    # Every field of /sluice/reload_status is exported or ignored with a reason.
    assert mod.unmapped("reload_status", reload_status(gw)) == []

    e = Exporter("--prefix", gw.prefix).start()
    try:
        def scrape():
            status, _, body = e.get()
            assert status == 200, body
            f = parse(body)
            assert "sluice_config_last_reload_successful" in f, body
            return f

        def reloads(f, result):
            return f["sluice_config_reloads_total"].value(result=result)

        f = scrape()
        assert f["sluice_config_last_reload_successful"].value() == 1
        assert f["sluice_config_warnings"].value() == 0
        assert reloads(f, "rejected_warnings") == 0 and reloads(f, "applied") == 0
        warned_config(gw.path)
        gw.tel.query("/sluice/reload")
        f = scrape()
        assert f["sluice_config_last_reload_successful"].value() == 0
        assert f["sluice_config_last_reload_warnings"].value() == 1
        assert f["sluice_config_warnings"].value() == 0
        assert reloads(f, "rejected_warnings") == 1
        assert abs(f["sluice_config_last_reload_timestamp_seconds"].value()
                   - time.time()) < 60
        gw.tel.query("/sluice/reload,force")
        f = scrape()
        assert f["sluice_config_last_reload_successful"].value() == 1
        assert f["sluice_config_warnings"].value() == 1
        assert reloads(f, "applied_with_warnings") == 1
        gw.path.write_text("{ not json")
        gw.tel.query("/sluice/reload")
        f = scrape()
        assert f["sluice_config_last_reload_successful"].value() == 0
        assert f["sluice_config_last_reload_errors"].value() == 1
        assert reloads(f, "rejected_errors") == 1
        assert f["sluice_config_warnings"].value() == 1   # still what runs
        # Force never applies errors.
        r = gw.tel.query("/sluice/reload,force")
        assert r["outcome"] == "rejected_errors" and r["forced"] == 1, r
        assert reloads(scrape(), "rejected_errors") == 2
    finally:
        e.stop()


def test_reload_reports_replaced_runtime_weights(gw):
    r = gw.tel.query("/sluice/set_weight,a,b3,7")
    assert "error" not in r, r
    assert wait_until(
        lambda: gw.tel.query("/sluice/backends,a")["b3"]["weight"] == 7, 3)
    # A new file with an unrelated change that leaves b3 at weight 1 as the
    # previous file had it: the run-time weight is kept, nothing overridden.
    config(gw.path, [pool("a", ADDRS[:2]), pool("b", ADDRS[2:3])],
           routes=[{"path_prefix": "/whoami", "pool": "b"}])
    r = gw.tel.query("/sluice/reload")
    assert r["outcome"] == "applied", r
    assert r["weight_overrides_replaced"] == 0, r
    # ...and the result says what it kept.
    assert r["runtime_kept"] == 1 and r["runtime_kept_list"] == "a/b3 weight 7", r
    assert "1 run-time change(s) kept: a/b3 weight 7" in r["summary"], r
    st = reload_status(gw)
    assert st["last_weight_overrides_replaced"] == 0 and st["last_runtime_kept"] == 1, st
    # Give the upstream time to apply the new config, then check 7 stayed.
    assert wait_until(lambda: "/whoami" in config_text(gw)[1], 10)
    time.sleep(1)
    assert gw.tel.query("/sluice/backends,a")["b3"]["weight"] == 7
    # A file that changes b3's weight: the file wins, and the reload says so.
    config(gw.path, [pool("a", ADDRS[:2], weights=[1, 2]), pool("b", ADDRS[2:3])],
           routes=[{"path_prefix": "/whoami", "pool": "b"}])
    r = gw.tel.query("/sluice/reload")
    assert r["outcome"] == "applied", r
    assert r["weight_overrides_replaced"] == 1, r
    assert r["weight_overrides"] == "a/b3 7->2", r
    assert r["runtime_kept"] == 0 and r["runtime_kept_list"] == "", r
    assert "1 run-time weight(s) reverted" in r["summary"], r
    st = reload_status(gw)
    assert st["last_weight_overrides_replaced"] == 1 and st["last_runtime_kept"] == 0, st
    assert any("reverted: a/b3 7->2" in t for t in config_events(gw)), config_events(gw)
    assert wait_until(
        lambda: gw.tel.query("/sluice/backends,a")["b3"]["weight"] == 2, 10)


def test_strict_refuses_even_a_forced_reload(testbed, backends, tmp_path):
    path = tmp_path / "strict.json"
    config(path, [pool("a", ADDRS[:2]), pool("b", ADDRS[2:3])])
    g = Gateway(path, tmp_path)
    g.cmd.append("--strict")
    try:
        g.start()
        assert reload_status(g)["strict"] == 1
        warned_config(path)
        r = g.tel.query("/sluice/reload,force")
        assert r["result"] == "rejected" and r["outcome"] == "rejected_warnings", r
        assert r["generation"] == 1, r
        assert any("rejected for 1 warning(s) (--strict)" in t
                   for t in config_events(g)), config_events(g)
    finally:
        g.stop()
        g.cleanup()


def test_reload_keeps_runtime_maintenance(gw):
    assert backend_op(gw, "maintenance", "b3")["admin"] == "maintenance"
    try:
        # An unrelated change: the run-time maintenance of b3 stays.
        config(gw.path, [pool("a", ADDRS[:2]), pool("b", ADDRS[2:3])],
               routes=[{"path_prefix": "/maint", "pool": "b"}])
        r = gw.tel.query("/sluice/reload")
        assert r["outcome"] == "applied", r
        assert r["runtime_kept"] == 1 and r["runtime_kept_list"] == "a/b3 maintenance", r
        time.sleep(1)
        assert gw.tel.query("/sluice/backends,a")["b3"]["admin"] == "maintenance"
    finally:
        backend_op(gw, "enable", "b3")
