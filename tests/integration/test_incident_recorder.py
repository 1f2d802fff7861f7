"""The incident flight recorder (lib/incident) end to end: a gateway with a
2 s after-window and its bundles in tmp_path. A breaker forced open opens an
incident; once the window closes the bundle is on disk with the running
config and its sha256, the previous generation and the diff a reload made,
the events (the trigger among them), snapshots before and after, and a
timeline naming the backend; /sluice/incidents, /sluice/incident,<id> and
`sluicectl incident list|show` say the same. At most max_bundles bundles
stay (the oldest of the recorder's own go, nothing else in the directory),
and a directory that cannot be written leaves the incident listed with an
error while the gateway keeps serving."""

import hashlib
import json
import re
import subprocess
import time

import pytest

from harness.sluice_env import (BACKEND_NS, CLIENT_NS, PEERS, PY, REPO, Gateway, in_ns,
                                ns_popen, read_line, stop_proc, wait_until,
                                write_config)
from test_telemetry_read import doc_schema

GW = "198.18.0.1"
ADDRS = ["198.18.1.2", "198.18.1.3"]
SLUICECTL = REPO / "scripts" / "sluicectl"
BUNDLE_RE = re.compile(r"^incident-\d{8}T\d{6}Z-\d+-\d+$")
FILES = {"incident.json", "timeline.txt", "events.json", "snapshots.json",
         "config.json", "config.sha256", "previous-config.json", "config.diff"}


class Faults:
    """http_backend.py's --faults file: which address misbehaves, and how."""

    def __init__(self, path):
        self.path = path
        self.set({})

    def set(self, m):
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(m))
        tmp.replace(self.path)


@pytest.fixture(scope="module")
def backends(testbed, tmp_path_factory):
    faults = Faults(tmp_path_factory.mktemp("faults") / "faults.json")
    procs = []
    for a in ADDRS:
        p = ns_popen(BACKEND_NS, PY, str(PEERS / "http_backend.py"), "--addr", a,
                     "--port", "8080", "--lifetime", "600",
                     "--faults", str(faults.path))
        assert (read_line(p, 15) or "").strip() == "ready"
        procs.append(p)
    yield faults
    faults.set({})
    for p in procs:
        stop_proc(p)


def config(path, weights, incidents):
    pools = [{"name": "web", "backends": [
        {"name": f"b{i + 1}", "address": a, "port": 8080, "weight": w}
        for i, (a, w) in enumerate(zip(ADDRS, weights))]}]
    listeners = [{"name": "web", "address": GW, "port": 80, "mode": "http",
                  "pool": "web"}]
    return write_config(path, pools=pools, listeners=listeners,
                        incidents=incidents)


@pytest.fixture
def make_gw(backends, tmp_path):
    made = []
    backends.set({})

    def make(incidents, weights=(1, 1)):
        cfg = config(tmp_path / "inc.json", weights, incidents)
        g = Gateway(cfg, tmp_path)
        g.path = cfg
        g.start()
        made.append(g)
        return g

    yield make
    backends.set({})
    for g in made:
        g.stop()
        g.cleanup()


def load(n=40):
    r = in_ns(CLIENT_NS, PY, str(PEERS / "http_load.py"), "--url",
              f"http://{GW}:80/whoami", "-n", str(n), "-c", "2", "--body-key",
              timeout=60)
    return json.loads(r.stdout.strip().splitlines()[-1])


def incidents(g):
    return g.tel.query("/sluice/incidents")


def rows(d):
    return sorted((v for v in d.values() if isinstance(v, dict)),
                  key=lambda r: r["id"])


def frozen(g, n):
    """The listing once n incidents are no longer open."""
    def done():
        d = incidents(g)
        r = rows(d)
        return d if len(r) >= n and all(x["state"] != "open" for x in r[:n]) else None
    return wait_until(done, timeout=15, step=0.2)


def exporter_text(g):
    """One scrape of scripts/sluice-exporter, in process."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader(
        "sluice_exporter", str(REPO / "scripts" / "sluice-exporter"))
    spec = importlib.util.spec_from_loader("sluice_exporter", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    text, err = mod.Exporter(g.tel.path, 5.0).collect()
    assert err is None, err
    return text


def ctl(g, *args):
    return subprocess.run([PY, str(SLUICECTL), "--prefix", g.prefix, *args],
                          text=True, capture_output=True, timeout=30)


def test_breaker_opens_an_incident_frozen_to_a_bundle(make_gw, tmp_path):
    inc_dir = tmp_path / "incidents"
    g = make_gw({"dir": str(inc_dir), "before_s": 5, "after_s": 2,
                 "max_bundles": 2})
    # Two changes within a second: the bundle's previous config is the one
    # just before the running one, and the diff is between those two.
    assert load()["status"] == {"200": 40}
    for weights in ((1, 2), (1, 3)):
        config(g.path, weights, {"dir": str(inc_dir), "before_s": 5,
                                 "after_s": 2, "max_bundles": 2})
        r = g.tel.query("/sluice/reload")
        assert r["result"] == "applied", r
        time.sleep(0.2)
    # Let the recorder see it and take a few snapshots with traffic.
    time.sleep(2.5)
    assert load()["status"] == {"200": 40}
    d = incidents(g)
    assert d["started"] == 0 and rows(d) == [] and d["snapshots"] >= 3, d
    assert not inc_dir.exists(), "nothing is written before an incident"

    t_open = time.monotonic()
    r = g.tel.query("/sluice/breaker_open,web,b1")
    assert "error" not in r, r
    d = wait_until(lambda: rows(incidents(g)), timeout=3)
    assert d and d[0]["state"] == "open" and d[0]["trigger"] == "breaker", d
    assert d[0]["backends"] == "web/b1"
    time.sleep(0.5)
    load(20)       # traffic inside the after-window: all on b2 now
    d = frozen(g, 1)
    assert d, incidents(g)
    took = time.monotonic() - t_open
    assert 2.0 <= took < 6.0, took
    # Every field /sluice/incidents has is documented, and none is missing.
    sch = doc_schema()["/sluice/incidents"]
    assert {k for k, v in d.items() if not isinstance(v, dict)} == \
        {n for n, _ in sch["reply"]}
    inc = rows(d)[0]
    assert set(inc) == {n for n, _ in sch["row"]}
    assert inc["state"] == "frozen" and inc["write_error"] == "", inc
    assert d["started"] == 1 and d["bundles_written"] == 1
    assert d["bundle_write_errors"] == 0 and d["open"] == 0
    assert "forced open" in inc["trigger_text"]

    bundle = inc_dir / inc["name"]
    assert inc["path"] == str(bundle) and BUNDLE_RE.match(inc["name"])
    assert {p.name for p in bundle.iterdir()} == FILES
    assert inc["bytes"] == sum(p.stat().st_size for p in bundle.iterdir())
    # The running config, byte for byte, and its hash.
    cfg = (bundle / "config.json").read_bytes()
    sha = hashlib.sha256(cfg).hexdigest()
    assert cfg == g.path.read_bytes()
    assert (bundle / "config.sha256").read_text() == f"{sha}  config.json\n"
    assert g.tel.query("/sluice/config")["sha256"] == sha
    manifest = json.loads((bundle / "incident.json").read_text())
    assert manifest["config"]["sha256"] == sha and manifest["config"]["generation"] == 3
    prev = (bundle / "previous-config.json").read_bytes()
    assert manifest["previous_config"]["sha256"] == hashlib.sha256(prev).hexdigest()
    assert manifest["previous_config"]["generation"] == 2
    assert json.loads(prev)["pools"][0]["backends"][1]["weight"] == 2
    assert (bundle / "config.diff").read_text() == \
        "/pools/0/backends/1/weight: 2 -> 3\n"
    assert "not recorded" in manifest["packets"]
    # The events of the window: the reload, then the trigger.
    ev = json.loads((bundle / "events.json").read_text())
    kinds = [(e["kind"], e["backend"]) for e in ev]
    assert ("breaker", "b1") in kinds and ("config", "") in kinds, kinds
    trig = next(e for e in ev if e["kind"] == "breaker")
    assert "forced open" in trig["text"] and trig["time_us"] == inc["start_us"]
    # Snapshots before and after, each naming both backends.
    snap = json.loads((bundle / "snapshots.json").read_text())
    assert len(snap["before"]) >= 3 and len(snap["after"]) >= 2, \
        (len(snap["before"]), len(snap["after"]))
    assert manifest["snapshots"]["before"] == len(snap["before"])
    assert manifest["snapshots"]["after"] == len(snap["after"])
    for f in snap["before"] + snap["after"]:
        assert [b["backend"] for b in f["backends"]] == ["b1", "b2"]
    last_before = {b["backend"]: b for b in snap["before"][-1]["backends"]}
    assert last_before["b1"]["state"] == "healthy"
    assert last_before["b2"]["weight"] == 3
    assert sum(b["requests_per_s"] for f in snap["before"] for b in f["backends"]) >= 40
    after = {b["backend"]: b for b in snap["after"][-1]["backends"]}
    assert after["b1"]["state"] == "breaker_open" and after["b1"]["breaker"] == "open"
    assert after["b2"]["requests"] - last_before["b2"]["requests"] >= 20
    assert any(b["p99_us"] > 0 for f in snap["after"] for b in f["backends"])
    # The timeline names the backend, the trigger and the change.
    tl = (bundle / "timeline.txt").read_text().splitlines()
    assert tl[0].startswith("incident 1: breaker web/b1: forced open"), tl[0]
    assert any("breaker web/b1: forced open" in l for l in tl[2:]), tl
    assert any("web/b1 healthy -> breaker_open" in l for l in tl), tl
    assert any("changed: web/b2 weight 2 -> 3" in l for l in tl), tl
    # Telemetry's timeline is the file's, line for line.
    t = g.tel.query("/sluice/incident,1")
    assert t["id"] == 1 and t["state"] == "frozen" and t["path"] == str(bundle)
    assert t["lines"] == [l[:127] for l in tl]
    assert "error" in g.tel.query("/sluice/incident,99")
    assert "error" in g.tel.query("/sluice/incident,x")
    # sluicectl.
    r = ctl(g, "incident", "show", "1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:len(tl)] == [l[:127] for l in tl]
    assert f"bundle: {bundle}" in r.stdout
    r = ctl(g, "incident", "list")
    assert r.returncode == 0 and "web/b1" in r.stdout and "frozen" in r.stdout, r
    r = ctl(g, "--json", "incident", "list")
    listed = json.loads(r.stdout)
    assert [i["id"] for i in listed["incidents"]] == [1]
    assert listed["bundles_written"] == 1
    assert ctl(g, "incident", "show", "7").returncode == 1

    # The count bound: two more incidents, max_bundles 2. Something else in
    # the directory is not the recorder's and stays.
    (inc_dir / "keep-me").mkdir()
    (inc_dir / "incident-notes.txt").write_text("mine\n")
    for n in (2, 3):
        assert "error" not in g.tel.query("/sluice/breaker_reset,web,b1")
        time.sleep(0.3)
        assert "error" not in g.tel.query("/sluice/breaker_open,web,b1")
        assert frozen(g, n), incidents(g)
    d = incidents(g)
    assert d["started"] == 3 and d["bundles_written"] == 3
    assert d["bundles_pruned"] == 1
    names = sorted(p.name for p in inc_dir.iterdir() if BUNDLE_RE.match(p.name))
    assert names == sorted(r["name"] for r in rows(d)[1:]), (names, rows(d))
    assert not bundle.exists()
    assert (inc_dir / "keep-me").is_dir()
    assert (inc_dir / "incident-notes.txt").read_text() == "mine\n"
    assert not [p for p in inc_dir.iterdir() if p.name.startswith(".")]
    text = exporter_text(g)
    for event, n in (("started", 3), ("bundle_written", 3),
                     ("bundle_write_error", 0), ("bundle_pruned", 1)):
        assert f'sluice_incidents_total{{event="{event}"}} {n}' in text, event
    assert g.proc.poll() is None


def test_unwritable_directory_is_an_error_not_a_crash(make_gw, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the directory should be\n")
    g = make_gw({"dir": str(blocker / "incidents"), "before_s": 3, "after_s": 1,
                 "max_bundle_bytes": 65536})
    time.sleep(1.5)
    assert "error" not in g.tel.query("/sluice/breaker_open,web,b2")
    d = frozen(g, 1)
    assert d, incidents(g)
    inc = rows(d)[0]
    assert inc["state"] == "error" and inc["path"] == "" and inc["bytes"] == 0
    assert "cannot create" in inc["write_error"], inc
    assert d["bundle_write_errors"] == 1 and d["bundles_written"] == 0
    # The timeline is still kept in memory, and the gateway still serves.
    t = g.tel.query("/sluice/incident,1")
    assert t["state"] == "error" and t["lines"][0].startswith("incident 1: breaker web/b2")
    r = ctl(g, "incident", "show", "1")
    assert r.returncode == 0 and "no bundle: cannot create" in r.stdout, r
    assert load(20)["status"] == {"200": 20}
    assert g.proc.poll() is None


def test_failing_backend_incident_names_it_and_its_5xx(make_gw, backends, tmp_path):
    """A backend that answers 503 is ejected or its breaker opens on its
    own: the incident names it, and the timeline shows its 5xx second by
    second."""
    inc_dir = tmp_path / "incidents"
    g = make_gw({"dir": str(inc_dir), "before_s": 4, "after_s": 2})
    time.sleep(1.5)
    assert load(20)["status"] == {"200": 20}
    backends.set({ADDRS[1]: "503"})
    load(60)
    d = frozen(g, 1)
    assert d, incidents(g)
    inc = rows(d)[0]
    assert inc["trigger"] in ("ejection", "breaker"), inc
    assert inc["backends"].startswith("web/b2"), inc
    assert inc["state"] == "frozen", inc
    tl = (inc_dir / inc["name"] / "timeline.txt").read_text().splitlines()
    assert tl[0].startswith(f"incident 1: {inc['trigger']} web/b2: "), tl[0]
    fives = [l for l in tl if re.search(r" s web/b2 .*\b[1-9][0-9]* 5xx", l)]
    assert fives, tl
    assert not [l for l in tl if re.search(r" s web/b1 .*5xx", l)], tl
    snap = json.loads((inc_dir / inc["name"] / "snapshots.json").read_text())
    b2 = [b for f in snap["before"] + snap["after"] for b in f["backends"]
          if b["backend"] == "b2"]
    assert sum(b["failures_per_s"] for b in b2) >= 1
    assert b2[-1]["state"] in ("ejected", "breaker_open", "breaker_half_open")
