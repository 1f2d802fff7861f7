"""conf/grafana/sluice.json, the Grafana dashboard: a well-formed dashboard
model (layout, data source, template variables, every query filtered by
the exporter chosen), covering what an operator needs, and every query in
it valid PromQL that returns data from a real Prometheus scraping
sluice-exporter in front of a running gateway with traffic through it. A
rejected and an applied reload give the annotations something to mark.

Template variables are filled in as Grafana would with "All" selected:
each query variable's values are read from Prometheus (label_values) and
joined into an escaped regex; the interval variables become short ranges,
since Prometheus here scrapes every second."""

import json
import re
import time
from pathlib import Path

import pytest

from harness.ctl_env import Exporter, HttpBackends, load_async
from peers.prom_server import PROMETHEUS, Prometheus
from harness.sluice_env import REPO, stop_proc, wait_until

DASHBOARD = REPO / "conf" / "grafana" / "sluice.json"
INTERVALS = {"__rate_interval": "15s", "__interval": "5s", "__range": "1m",
             "__range_s": "60", "__interval_ms": "5000"}
GRID_WIDTH = 24
# Metrics the dashboard must chart (the operator's overview and the root-cause alarm).
COVERED = [
    "sluice_route_requests_total", "sluice_backend_requests_total",
    "sluice_backend_responses_total", "sluice_http_responses_by_class_total",
    "sluice_route_request_duration_seconds_bucket",
    "sluice_backend_request_duration_seconds_bucket",
    "sluice_backend_share_ratio", "sluice_backend_expected_share_ratio",
    "sluice_backend_breaker_state", "sluice_backend_ejected",
    "sluice_backend_admin_state", "sluice_lcore_busy_seconds_total",
    "sluice_port_drops_total", "sluice_conn_table_in_use",
    "sluice_backend_rootcause_alarm", "sluice_pool_rootcause_alarm",
    "sluice_backend_capacity_skew_ratio",
]
METRIC = re.compile(r"\b(sluice_[a-z0-9_]+)(\{[^}]*\})?")
VARIABLE = re.compile(r"\$(?:\{([A-Za-z_]\w*)(?::\w+)?\}|([A-Za-z_]\w*))")


def dashboard():
    return json.loads(DASHBOARD.read_text())


def queries(d):
    """(where, expr) of every panel target, rows' collapsed panels included."""
    out = []
    for p in d["panels"]:
        for q in [p] + p.get("panels", []):
            for t in q.get("targets", []):
                out.append((f"panel {q['title']!r} {t.get('refId')}", t.get("expr")))
    return out


def annotations(d):
    return [(f"annotation {a['name']!r}", a["expr"])
            for a in d["annotations"]["list"] if a.get("expr")]


def variables(d):
    return {v["name"]: v for v in d["templating"]["list"]}


def var_query(v):
    q = v["query"]
    return q["query"] if isinstance(q, dict) else q


# ---- the model itself ------------------------------------------------------

def test_dashboard_is_a_grafana_model():
    d = dashboard()
    assert isinstance(d["schemaVersion"], int) and d["schemaVersion"] >= 36
    assert d["uid"] and d["title"]
    assert d.get("id") is None, "an exported model has no instance id"
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    boxes = []
    for p in d["panels"]:
        g = p["gridPos"]
        assert {"x", "y", "w", "h"} <= set(g), p["title"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= GRID_WIDTH, p["title"]
        for other, og in boxes:
            overlap = (g["x"] < og["x"] + og["w"] and og["x"] < g["x"] + g["w"]
                       and g["y"] < og["y"] + og["h"] and og["y"] < g["y"] + g["h"])
            assert not overlap, (p["title"], other)
        boxes.append((p["title"], g))
        if p["type"] == "row":
            continue
        # One templated data source: provisioning and import both work.
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert refs and len(refs) == len(set(refs)), p["title"]
        for t in p["targets"]:
            assert t["datasource"] == p["datasource"] and t["expr"].strip(), p["title"]
    v = variables(d)
    assert v["datasource"]["type"] == "datasource" and v["datasource"]["query"] == "prometheus"
    for name, source in (("instance", "sluice_up"), ("pool", "sluice_pool_info"),
                         ("backend", "sluice_backend_info")):
        assert v[name]["type"] == "query" and v[name]["multi"] and v[name]["includeAll"]
        assert re.fullmatch(rf"label_values\({source}\b.*, {name}\)", var_query(v[name])), name
    assert '$pool' in var_query(v["backend"]), "backends follow the pool chosen"
    for a in d["annotations"]["list"]:
        if a.get("expr"):
            assert a["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_every_query_follows_the_variables():
    """Each metric selector is filtered by the exporter chosen, so a
    Prometheus with many gateways shows the selected one; every variable a
    query uses is defined (or one of Grafana's own)."""
    d = dashboard()
    defined = set(variables(d)) | set(INTERVALS)
    for where, expr in queries(d) + annotations(d):
        names = METRIC.findall(expr)
        assert names, (where, expr)
        for name, sel in names:
            assert 'instance=~"$instance"' in sel, (where, name)
        for braced, bare in VARIABLE.findall(expr):
            assert (braced or bare) in defined, (where, braced or bare)


def test_dashboard_covers_what_an_operator_needs():
    d = dashboard()
    used = {n for _, e in queries(d) for n, _ in METRIC.findall(e)}
    missing = [m for m in COVERED if m not in used]
    assert not missing, missing
    text = " ".join(e for _, e in queries(d))
    assert "histogram_quantile(0.5," in text and "histogram_quantile(0.99," in text
    assert 'class="5xx"' in text
    marks = {n for _, e in annotations(d) for n, _ in METRIC.findall(e)}
    assert "sluice_config_generation" in marks


# ---- against a real Prometheus ----------------------------------------------

@pytest.fixture(scope="module")
def http_backends(testbed):
    b = HttpBackends().start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def gw(http_backends, gateway):
    return gateway


@pytest.fixture(scope="module")
def exporter(gw):
    e = Exporter("--prefix", gw.prefix).start()
    yield e
    e.stop()


@pytest.fixture(scope="module")
def prom(exporter, tmp_path_factory):
    assert PROMETHEUS.exists(), "prometheus missing: scripts/deps.sh installs Debian's"
    target = exporter.url.split("//", 1)[1]
    p = Prometheus(tmp_path_factory.mktemp("prom"), target).start()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def traffic(gw):
    """Bounded background load to both HTTP pools for the module's length."""
    procs = [load_async(1500, "/whoami", c=2, rate=40),
             load_async(300, "/api/whoami", rate=8)]
    yield procs
    for p in procs:
        stop_proc(p)


def instant(prom, expr):
    return prom.api("query", query=expr)


def has_data(answer):
    """At least one finite value in an instant or range answer."""
    data = answer.get("data", {})
    rows = data.get("result", [])
    if data.get("resultType") == "scalar":
        rows = [{"value": rows}]
    vals = [v for r in rows for v in ([r["value"]] if "value" in r else r.get("values", []))]
    return any(v[1] not in ("NaN", "+Inf", "-Inf") for v in vals)


def prom_regex(values):
    """Grafana's Prometheus formatting of a multi-value variable: each value
    regex-escaped (with the backslash doubled, for PromQL's string), joined."""
    esc = [re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\\\1", v) for v in values]
    return esc[0] if len(esc) == 1 else "(" + "|".join(esc) + ")"


def fill(expr, values):
    def sub(m):
        name = m.group(1) or m.group(2)
        if name in INTERVALS:
            return INTERVALS[name]
        return values[name] if name in values else m.group(0)
    return VARIABLE.sub(sub, expr)


def resolve(prom, d):
    """Each query variable, in order, as Grafana resolves it with All."""
    values = {}
    for name, v in variables(d).items():
        if v["type"] != "query":
            continue
        m = re.fullmatch(r"label_values\((.+), *(\w+)\)", var_query(v))
        assert m, var_query(v)
        selector = fill(m.group(1), values)
        r = prom.api(f"label/{m.group(2)}/values", **{"match[]": selector})
        assert r["status"] == "success", (name, selector, r)
        assert r["data"], (name, selector, "no values")
        values[name] = prom_regex(r["data"])
    return values


def scraped(prom):
    r = instant(prom, "sluice_up")
    return r.get("status") == "success" and any(
        x["value"][1] == "1" for x in r["data"]["result"])


def reload_twice(gw):
    """A reload the gateway rejects (a port out of range), then one it
    applies (a route added): the annotations' two kinds of mark."""
    path = Path(gw.config)
    good = json.loads(path.read_text())
    bad = json.loads(json.dumps(good))
    bad["pools"][0]["backends"][0]["port"] = 70000
    path.write_text(json.dumps(bad, indent=2))
    r = gw.tel.query("/sluice/reload")
    assert r["result"] == "rejected", r
    time.sleep(3)               # scraped on both sides of each change
    good["listeners"][0]["routes"].append({"path_prefix": "/dash/", "pool": "api"})
    path.write_text(json.dumps(good, indent=2))
    r = gw.tel.query("/sluice/reload")
    assert r["result"] == "applied", r
    return r["generation"]


@pytest.fixture(scope="module")
def live(gw, prom, traffic):
    """Prometheus has scraped the gateway under load, through two reloads;
    (time the reloads began, the variables' values)."""
    assert wait_until(lambda: scraped(prom), timeout=20, step=0.5), \
        "prometheus never scraped sluice_up 1"
    t0 = time.time()
    assert reload_twice(gw) == 2
    time.sleep(3)
    return t0, resolve(prom, dashboard())


def test_variables_resolve_to_the_gateway(prom, exporter, live):
    _, values = live
    d = dashboard()
    pools = prom.api("label/pool/values",
                     **{"match[]": fill(re.search(r"\((.+),", var_query(
                         variables(d)["pool"])).group(1), values)})["data"]
    assert {"web", "api", "echo"} <= set(pools), pools
    web = prom.api("label/backend/values", **{"match[]": fill(
        re.search(r"\((.+),", var_query(variables(d)["backend"])).group(1),
        dict(values, pool="web"))})["data"]
    assert set(web) == {"web1", "web2", "web3"}, web
    assert values["instance"] == prom_regex([exporter.url.split("//", 1)[1]])


def test_every_query_is_valid_and_returns_data(prom, live):
    """Each panel query, instant (as a stat or table runs it, and the last
    point of a graph), and each annotation over the time since the reloads
    (a range query, as Grafana runs annotations); rate() windows fill
    within the deadline."""
    t0, values = live
    d = dashboard()
    pending = {w: fill(e, values) for w, e in queries(d)}
    marks = {w: fill(e, values) for w, e in annotations(d)}
    for where, expr in {**pending, **marks}.items():
        left = VARIABLE.findall(re.sub(r'"\$\d+"', "", expr))
        assert not left, (where, left, expr)
    last = {}
    deadline = time.monotonic() + 30
    while (pending or marks) and time.monotonic() < deadline:
        for where, expr in list(pending.items()):
            r = instant(prom, expr)
            assert r["status"] == "success", (where, expr, r.get("error"))
            if has_data(r):
                del pending[where]
            else:
                last[where] = (expr, r["data"])
        for where, expr in list(marks.items()):
            r = prom.api("query_range", query=expr, start=t0 - 10,
                         end=time.time(), step=1)
            assert r["status"] == "success", (where, expr, r.get("error"))
            if has_data(r):
                del marks[where]
            else:
                last[where] = (expr, r["data"])
        if pending or marks:
            time.sleep(1)
    assert not pending and not marks, {w: last.get(w) for w in [*pending, *marks]}
