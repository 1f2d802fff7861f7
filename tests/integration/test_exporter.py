"""scripts/sluice-exporter against a running gateway (output checked by
promtool and by the strict parser in prom_text.py, values that move with
real requests), against no gateway (sluice_up 0, the exporter lives on),
and the alert rules in conf/alerts (promtool check and unit tests, every
metric they use present in a live scrape)."""

import importlib.machinery
import importlib.util
import math
import re
import shutil
import subprocess

import pytest

from harness.ctl_env import EXPORTER, Exporter, HttpBackends, ctl, load
from peers.fake_telemetry import FakeTelemetry
from harness.prom_text import PromTextError, parse
from harness.sluice_env import REPO, wait_until

RULES = REPO / "conf" / "alerts" / "sluice.rules.yml"
# At 1 m (the slow alerts) and at the 5 s the fast ones are tuned for.
RULE_TESTS = sorted((REPO / "conf" / "alerts").glob("sluice.rules*.test.yml"))

# Families an operator relies on; each must be in every scrape of a live gateway.
REQUIRED = {
    "sluice_up": "gauge", "sluice_build_info": "gauge", "sluice_uptime_seconds": "gauge",
    "sluice_port_rx_packets_total": "counter", "sluice_port_drops_total": "counter",
    "sluice_lcore_busy_seconds_total": "counter", "sluice_lcore_busy_cycles_total": "counter",
    "sluice_tcp_established_total": "counter", "sluice_tcp_connections": "gauge",
    "sluice_http_requests_total": "counter", "sluice_http_responses_by_class_total": "counter",
    "sluice_http_gateway_errors_total": "counter", "sluice_http_shed_total": "counter",
    "sluice_http_overloaded_total": "counter", "sluice_http_latency_seconds": "summary",
    "sluice_route_requests_total": "counter", "sluice_route_latency_seconds": "summary",
    "sluice_pool_imbalance_alarm": "gauge", "sluice_pool_refused_total": "counter",
    "sluice_backend_requests_total": "counter", "sluice_backend_responses_total": "counter",
    "sluice_backend_failures_total": "counter", "sluice_backend_state": "gauge",
    "sluice_backend_breaker_state": "gauge", "sluice_backend_up": "gauge",
    "sluice_backend_effective_weight": "gauge", "sluice_backend_share_ratio": "gauge",
    "sluice_backend_share_deviation_ratio": "gauge", "sluice_backend_latency_seconds": "summary",
    "sluice_breaker_consecutive_failures": "gauge", "sluice_events_total": "counter",
    "sluice_memory_rss_bytes": "gauge", "sluice_memory_heap_bytes": "gauge",
    "sluice_conn_table_slots": "gauge", "sluice_conn_table_in_use": "gauge",
}


def load_exporter_module():
    loader = importlib.machinery.SourceFileLoader("sluice_exporter", str(EXPORTER))
    spec = importlib.util.spec_from_loader("sluice_exporter", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def promtool(*args, stdin=None):
    tool = shutil.which("promtool")
    assert tool, "promtool missing: scripts/deps.sh installs Debian's prometheus"
    return subprocess.run([tool, *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


def total(fam, **labels):
    return sum(v for _, _, v in fam.select(**labels))


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


def scrape(e):
    status, headers, body = e.get()
    assert status == 200, body
    return parse(body), body


# ---- a running gateway -------------------------------------------------------

def test_scrape_passes_promtool_and_strict_parser(exporter):
    load(5)
    status, headers, body = exporter.get()
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    r = promtool("check", "metrics", stdin=body)
    assert r.returncode == 0, r.stdout + r.stderr
    fams = parse(body)
    assert fams["sluice_up"].value() == 1
    for name, mtype in REQUIRED.items():
        assert name in fams, name
        assert fams[name].type == mtype, (name, fams[name].type)
        assert fams[name].help, name
    # Every label operations.md documents is in use.
    used = {k for f in fams.values() for _, lab, _ in f.samples for k in lab}
    assert {"pool", "backend", "route", "listener", "lcore", "port", "reason"} <= used


def test_values_match_telemetry(exporter, gw):
    fams, _ = scrape(exporter)
    info = gw.tel.query("/sluice/info")
    assert fams["sluice_build_info"].value(version=info["version"],
                                           idle_policy=info["idle_policy"]) == 1
    assert fams["sluice_config_info"].value(path=info["config_path"],
                                            sha256=info["config_sha256"]) == 1
    pools = gw.tel.query("/sluice/pools")
    for pool in ("web", "api", "echo"):
        assert fams["sluice_pool_backends"].value(pool=pool) == pools[pool]["backends"]
    web = {k: v for k, v in gw.tel.query("/sluice/backends,web").items()
           if isinstance(v, dict)}
    for name, b in web.items():
        st = fams["sluice_backend_state"]
        assert st.value(pool="web", backend=name, state=b["state"]) == 1
        assert total(st, pool="web", backend=name) == 1       # one-hot
        assert fams["sluice_backend_breaker_state"].value(
            pool="web", backend=name, state="closed") == 1
        assert fams["sluice_backend_up"].value(pool="web", backend=name) == 1
        assert fams["sluice_backend_info"].value(
            pool="web", backend=name, address=b["address"]) == 1
        assert math.isclose(fams["sluice_backend_expected_share_ratio"].value(
            pool="web", backend=name), b["expected_share_permille"] / 1000)
    lat = fams["sluice_route_latency_seconds"]
    p99 = lat.select(route="(default)", phase="total", quantile="0.99")
    assert len(p99) == 1 and p99[0][2] > 0
    for lc, row in gw.tel.query("/sluice/lcores").items():
        if not isinstance(row, dict):
            continue
        assert fams["sluice_lcore_busy_seconds_total"].select(lcore=lc)


def test_counters_move_with_requests(exporter):
    before, _ = scrape(exporter)
    res = load(25)
    assert res["status"] == {"200": 25}, res
    after, _ = scrape(exporter)

    def d(name, **lab):
        return total(after[name], **lab) - total(before[name], **lab)

    assert d("sluice_http_requests_total") == 25
    assert d("sluice_http_responses_by_class_total", **{"class": "2xx"}) == 25
    assert d("sluice_http_responses_by_class_total", **{"class": "5xx"}) == 0
    assert d("sluice_backend_requests_total", pool="web") == 25
    assert d("sluice_backend_responses_total", pool="web", **{"class": "2xx"}) == 25
    assert d("sluice_route_requests_total", route="(default)", pool="web") == 25
    assert d("sluice_route_requests_total", pool="api") == 0
    assert d("sluice_port_rx_packets_total", port="net_af_xdp0") >= 25
    assert d("sluice_port_tx_packets_total", port="net_af_xdp1") >= 25
    assert d("sluice_lcore_packets_total") >= 50
    assert d("sluice_lcore_busy_seconds_total") > 0
    assert d("sluice_exporter_scrapes_total") == 1
    assert d("sluice_uptime_seconds") > 0

    # Histograms: _count moves with the requests, +Inf equals _count, and
    # the buckets are cumulative (the strict parser checks that too).
    def hist(name, suffix, **lab):
        return sum(v for n, l, v in after[name].select(**lab) if n == name + suffix) - \
            sum(v for n, l, v in before[name].select(**lab) if n == name + suffix)
    assert hist("sluice_http_request_duration_seconds", "_count", phase="total") == 25
    assert hist("sluice_route_request_duration_seconds", "_count", route="(default)",
                phase="upstream") == 25
    assert hist("sluice_backend_request_duration_seconds", "_count", pool="web",
                phase="total") == 25
    assert hist("sluice_http_request_duration_seconds", "_sum", phase="total") > 0
    fam = after["sluice_http_request_duration_seconds"]
    inf = [v for n, l, v in fam.select(phase="total", le="+Inf")]
    cnt = [v for n, l, v in fam.select(phase="total")
           if n == "sluice_http_request_duration_seconds_count"]
    assert inf == cnt and inf[0] > 0
    les = sorted((float(l["le"]), v) for n, l, v in fam.select(phase="total")
                 if n.endswith("_bucket") and l["le"] != "+Inf")
    assert [b for b, _ in les][:2] == [0.00025, 0.0005] and les[-1][0] == 10.0
    assert [v for _, v in les] == sorted(v for _, v in les)


def test_weight_change_and_event_show(exporter, gw):
    before, _ = scrape(exporter)
    r = ctl("set-weight", "web", "web1", "0", prefix=gw.prefix)
    assert r.returncode == 0, r.stderr
    try:
        def disabled():
            f, _ = scrape(exporter)
            return f if f["sluice_backend_effective_weight"].value(
                pool="web", backend="web1") == 0 else None
        after = wait_until(disabled, 5)
        assert after, "effective weight never reached 0"
        assert after["sluice_backend_state"].value(pool="web", backend="web1",
                                                   state="disabled") == 1
        assert after["sluice_backend_state"].value(pool="web", backend="web1",
                                                   state="healthy") == 0
        assert after["sluice_events_total"].value() > before["sluice_events_total"].value()
    finally:
        assert ctl("set-weight", "web", "web1", "1", prefix=gw.prefix).returncode == 0


def test_telemetry_fully_mapped(gw):
    """Every field the gateway publishes is exported or deliberately left
    out (IGNORED in the exporter, with the reason): a field added to
    telemetry fails here until the exporter knows it."""
    mod = load_exporter_module()
    listed = gw.tel.query("/")
    single = {"info": "/sluice/info", "http": "/sluice/http", "events": "/sluice/events",
              "memory": "/sluice/memory"}
    tables = {"ports": "/sluice/ports", "lcores": "/sluice/lcores",
              "tcp": "/sluice/tcp", "routes": "/sluice/routes",
              "pools": "/sluice/pools", "backends": "/sluice/backends,web",
              "breakers": "/sluice/breakers", "latency": "/sluice/latency"}
    if "/sluice/health" in listed:
        tables["health"] = "/sluice/health,web"
    missing = {}
    for sec, cmd in list(single.items()) + list(tables.items()):
        reply = gw.tel.query(cmd)
        assert isinstance(reply, dict) and "error" not in reply, (cmd, reply)
        rows = [v for v in reply.values() if isinstance(v, dict)]
        if sec in tables:
            assert rows, (cmd, reply)
        else:
            rows = []
        for row in rows + [reply]:
            gap = mod.unmapped(sec, row)
            if gap:
                missing.setdefault(sec, set()).update(gap)
    assert missing == {}, f"telemetry fields the exporter does not know: {missing}"


# The exporter's tables whose HELP is the gateway's /sluice/schema text:
# (table, schema section). Values are a metric name or (divisor, metric).
SCHEMA_TABLES = (("PORT_COUNTERS", "port_counters"), ("PORT_GAUGES", "port_gauges"),
                 ("LCORE_COUNTERS", "lcore_counters"), ("LCORE_GAUGES", "lcore_gauges"),
                 ("POOL_COUNTERS", "pool_counters"), ("POOL_GAUGES", "pool_gauges"),
                 ("BACKEND_COUNTERS", "backend_counters"),
                 ("BACKEND_GAUGES", "backend_gauges"), ("BACKEND_RATIOS", "backend_gauges"),
                 ("BREAKER_GAUGES", "breaker_gauges"), ("HEALTH_GAUGES", "health_gauges"))
# Single fields export_ports() maps by hand.
PORT_SINGLES = {"queues": "sluice_port_queues", "mtu": "sluice_port_mtu_bytes",
                "speed_mbps": "sluice_port_speed_bytes",
                "rx_stall_ms": "sluice_port_rx_stall_seconds"}
ROW_SECTIONS = {s for _, s in SCHEMA_TABLES}


def live_schema(gw):
    with gw.tel.session() as tel:
        listing = tel.query("/sluice/schema")
        return {s: tel.query(f"/sluice/schema,{s}") for s in listing}


def help_copies(source, texts):
    """The texts that the exporter's source holds as a string literal of
    their own, or anywhere at all when they are long enough to be a copy."""
    return sorted(t for t in texts
                  if f'"{t}"' in source or f"'{t}'" in source
                  or (len(t) >= 20 and t in source))


def test_row_help_comes_from_the_gateway_schema(exporter, gw):
    """HELP of every per-port, per-lcore, per-pool, per-backend, breaker
    and health-check field is the gateway's /sluice/schema text, word for
    word, and the exporter's source holds no copy of those texts."""
    mod = load_exporter_module()
    sections = live_schema(gw)
    assert ROW_SECTIONS <= set(sections), set(sections)
    for name in ROW_SECTIONS:
        s = sections[name]
        want = "counter" if name.endswith("_counters") else "gauge"
        assert s["type"] == want and s["section"] == name, s
        assert s["help"], name
    fams, _ = scrape(exporter)
    expected = {}
    for table, section in SCHEMA_TABLES:
        for key, v in getattr(mod, table).items():
            metric = v[1] if isinstance(v, tuple) else v
            assert key in sections[section]["help"], (section, key)
            expected[metric] = sections[section]["help"][key]
    for key, metric in PORT_SINGLES.items():
        expected[metric] = sections["port_gauges"]["help"][key]
    assert len(expected) >= 110
    # /sluice/health lists only the pools that have a health check, and
    # this gateway's config has none: those families may be absent.
    checked = {v[1] for v in mod.HEALTH_GAUGES.values()}
    wrong = {n: (fams[n].help if n in fams else None, h) for n, h in expected.items()
             if (n not in fams and n not in checked) or (n in fams and fams[n].help != h)}
    assert wrong == {}
    # One field of each kind of row, spelled out.
    assert fams["sluice_backend_concurrency_limit"].help == \
        sections["backend_gauges"]["help"]["concurrency_limit"]
    assert fams["sluice_pool_panic_entries_total"].help == \
        sections["pool_counters"]["help"]["panic_entries"]
    assert fams["sluice_port_hw_rx_missed_total"].help == \
        sections["port_counters"]["help"]["hw_rx_missed"]
    assert fams["sluice_lcore_shedding"].help == sections["lcore_gauges"]["help"]["shedding"]
    # No copy of those texts in the exporter; the check finds one when there is.
    source = EXPORTER.read_text()
    texts = {t for n in ROW_SECTIONS for t in sections[n]["help"].values()}
    assert help_copies(source, texts) == []
    sample = sections["backend_gauges"]["help"]["effective_weight"]
    assert help_copies(source + f'\n    "x": ("y", "{sample}"),\n', texts) == [sample]
    assert help_copies(source + '\nm.gauge("sluice_port_mtu_bytes", "MTU of the port, bytes")\n',
                       texts) == ["MTU of the port, bytes"]


def test_every_backend_field_has_a_schema_entry(gw):
    """Every field a /sluice/backends row publishes, other than its texts,
    its latency quantiles and the status_/fail_ families (their HELP is the
    family's), has a meaning in backend_counters or backend_gauges; and
    every key those sections describe is published."""
    mod = load_exporter_module()
    sections = live_schema(gw)
    described = set(sections["backend_counters"]["help"]) | \
        set(sections["backend_gauges"]["help"])
    assert not set(sections["backend_counters"]["help"]) & \
        set(sections["backend_gauges"]["help"])
    texts = {"name", "address", "health", "state", "breaker", "admin",
             "last_health_check", "rootcause"}
    rows = [v for v in gw.tel.query("/sluice/backends,web").values() if isinstance(v, dict)]
    assert rows
    for row in rows:
        fields = {k for k in row if k not in texts and k not in mod.latency_keys()
                  and not k.startswith(("status_", "fail_"))}
        assert len(fields) >= 30, fields
        assert sorted(fields - described) == []
        assert sorted(described - set(row)) == []


def test_alert_rules_use_exported_metrics(exporter):
    r = promtool("check", "rules", str(RULES))
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr
    assert len(RULE_TESTS) >= 2, RULE_TESTS
    r = promtool("test", "rules", *map(str, RULE_TESTS))
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr
    fams, _ = scrape(exporter)
    text = RULES.read_text()
    used = set(re.findall(r"\b(sluice_[a-z0-9_]+)", text))
    assert used, text
    assert used <= set(fams), f"rules use metrics no scrape has: {used - set(fams)}"
    alerts = set(re.findall(r"^\s*- alert: (\w+)", text, re.M))
    for want in ("SluiceGatewayDown", "SluiceRootCause", "SluicePoolImbalance",
                 "SluiceBreakerOpen",
                 "SluiceHigh5xxRate", "SluiceLcoreBusy", "SluiceShedding",
                 "SluiceBackendDown", "SluiceBackendEjected"):
        assert want in alerts, want
    # The runbook names every alert.
    ops = (REPO / "docs" / "operations.md").read_text()
    assert [a for a in sorted(alerts) if a not in ops] == []


def test_other_paths_and_head(exporter):
    status, _, body = exporter.get("/nope")
    assert status == 404
    status, headers, body = exporter.get("/")
    assert status == 200 and "/metrics" in body
    status, headers, body = exporter.get("/metrics", method="HEAD")
    assert status == 200 and body == "" and int(headers["Content-Length"]) > 1000


# ---- no gateway, a gateway that comes and goes --------------------------------

def test_no_gateway_sluice_up_0_and_keeps_running():
    e = Exporter("--prefix", "sl-none-exporter").start()
    try:
        for i in range(1, 4):
            status, headers, body = e.get()
            assert status == 200
            fams = parse(body)
            assert fams["sluice_up"].value() == 0
            assert fams["sluice_exporter_scrape_errors_total"].value() == i
            assert "sluice_http_requests_total" not in fams
            assert ("# sluice-exporter: no Sluice gateway at /var/run/dpdk/"
                    "sl-none-exporter/dpdk_telemetry.v2: is it running?") in body
            assert promtool("check", "metrics", stdin=body).returncode == 0
        assert e.alive()
    finally:
        rc, out, err = e.stop()
    assert rc == 0, err              # SIGTERM: a clean exit


def test_no_gateway_503_when_asked():
    e = Exporter("--prefix", "sl-none-exporter", "--down-status", "503").start()
    try:
        status, _, body = e.get()
        assert status == 503
        assert "no Sluice gateway" in body and "sluice_up 0" in body
        assert e.alive()
    finally:
        e.stop()


def test_gateway_going_and_coming_back(tmp_path):
    path = tmp_path / "tel.sock"
    handlers = {"/sluice/info": {"version": "0.1.0", "uptime_ms": 5000, "tsc_hz": 1000},
                "/sluice/http": {"requests": 7}}
    e = Exporter("--socket", str(path)).start()
    try:
        with FakeTelemetry(path, handlers):
            fams, _ = scrape(e)
            assert fams["sluice_up"].value() == 1
            assert fams["sluice_http_requests_total"].value() == 7
        fams, _ = scrape(e)
        assert fams["sluice_up"].value() == 0
        with FakeTelemetry(path, handlers):
            fams, _ = scrape(e)
            assert fams["sluice_up"].value() == 1
        assert e.alive()
    finally:
        e.stop()


def test_not_a_sluice_gateway(tmp_path):
    """A DPDK process without /sluice/ commands (a testpmd on the prefix)."""
    path = tmp_path / "tel.sock"
    e = Exporter("--socket", str(path)).start()
    try:
        with FakeTelemetry(path, {"/ethdev/list": [0]}):
            fams, body = scrape(e)
        assert fams["sluice_up"].value() == 0
        assert "not a Sluice gateway" in body
    finally:
        e.stop()


def test_label_values_escaped_and_pages_followed(tmp_path):
    path = tmp_path / "tel.sock"
    odd = 'we"ird\\pool\nname'
    b = {"address": "198.18.1.2:8080", "weight": 1, "state": "healthy", "health": "up",
         "breaker": "closed", "requests": 3, "status_2xx": 3, "fail_reset": 1}

    def backends(params):
        page = int(params.split(",")[1]) if "," in params else 0
        return {f"b{page}": b, "page": page, "pages": 2}

    handlers = {"/sluice/info": {"version": "0.1.0", "uptime_ms": 1},
                "/sluice/routes": {"0": {"listener": "l", "match": odd, "pool": odd,
                                         "requests": 2, "total_p99_us": 1500}},
                "/sluice/pools": {"big": {"policy": "random", "backends": 2}},
                "/sluice/backends": backends}
    e = Exporter("--socket", str(path)).start()
    try:
        with FakeTelemetry(path, handlers):
            status, _, body = e.get()
    finally:
        e.stop()
    assert status == 200
    assert promtool("check", "metrics", stdin=body).returncode == 0, body
    fams = parse(body)
    assert fams["sluice_route_requests_total"].value(listener="l", route=odd, pool=odd) == 2
    assert fams["sluice_route_latency_seconds"].select(quantile="0.99")[0][2] == 0.0015
    assert {lab["backend"] for _, lab, _ in fams["sluice_backend_requests_total"].samples} \
        == {"b0", "b1"}
    assert fams["sluice_backend_failures_total"].value(pool="big", backend="b1",
                                                       kind="reset") == 1


def test_refuses_non_loopback_listen():
    for addr in ("0.0.0.0:0", "198.18.0.1:0", ":::0"):
        r = subprocess.run([str(EXPORTER), "--listen", addr], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 2, (addr, r.stderr)
        assert "not a loopback address" in r.stderr and "--allow-remote" in r.stderr
    r = subprocess.run([str(EXPORTER), "--listen", "127.0.0.1:http-alt:x"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    # A name that resolves to loopback is fine (the last --listen wins).
    e = Exporter("--listen", "localhost:0").start()
    try:
        assert e.get()[0] == 200
    finally:
        e.stop()


def test_prom_text_parser_is_strict():
    """The parser the tests lean on rejects what Prometheus would."""
    good = '# HELP a_total x\n# TYPE a_total counter\na_total{l="v\\"q\\\\\\n"} 1\n'
    assert parse(good)["a_total"].value(l='v"q\\\n') == 1
    bad = [
        "a 1\n",                                               # no HELP/TYPE
        "# HELP a x\n# TYPE a counter\na 1\n",                 # counter not _total
        "# HELP a_total x\n# TYPE a_total gauge\na_total 1\n",  # gauge _total
        '# HELP a x\n# TYPE a gauge\na{l="\\t"} 1\n',          # bad escape
        "# HELP a x\n# TYPE a gauge\na 1\na 2\n",              # duplicate series
        "# HELP a x\n# TYPE a gauge\na 1\n# HELP b x\n# TYPE b gauge\nb 1\na 2\n",
        "# HELP a x\n# TYPE a gauge\na 1",                     # no final newline
        "# HELP a x\n# TYPE a gauge\na{quantile=\"0.5\"} 1\n",  # quantile on a gauge
        "# HELP a x\n# TYPE a summary\na 1\n",                 # summary without quantile
        "# HELP 9a x\n# TYPE 9a gauge\n",                      # bad name
        '# HELP a x\n# TYPE a gauge\na{__x="1"} 1\n',          # reserved label
        '# HELP a x\n# TYPE a gauge\na{l="1",l="2"} 1\n',      # label twice
        "# HELP a x\n# TYPE a gauge\na one\n",                 # bad value
        "# HELP a x\n# TYPE a histogram\na_bucket{le=\"1\"} 2\n",  # no +Inf
        "# HELP a x\n# TYPE a gauge\n# TYPE a gauge\na 1\n",   # TYPE twice
    ]
    for text in bad:
        with pytest.raises(PromTextError):
            parse(text)
