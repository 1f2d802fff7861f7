"""The read side of telemetry: every /sluice/ read command
answers well-formed JSON with exactly the fields docs/operations.md
documents, with the documented types; counters move with real traffic;
paged tables page into disjoint pages that cover everything and each fit
telemetry's 16 KB; bad parameters answer {"error": ...}; and the commands
`/` lists are the ones the docs list.

The expected fields are read from the "## Telemetry" section of
docs/operations.md (its "| field |" and "| row field |" tables), so the
docs and the appliance cannot drift apart without this failing."""

import json
import re
import socket
import time

import pytest

from harness.sluice_env import (BACKEND_NS, CLIENT_NS, PEERS, PY, REPO, RUNTIME_DIR,
                                Backend, Gateway, in_ns, ns_popen, read_line,
                                stop_proc, wait_until, write_config)

GW = "198.18.0.1"
DOCS = REPO / "docs" / "operations.md"
MAX_OUTPUT = 16 * 1024

N_WEB, N_API = 12, 5           # curls through the default route and /api/
N_BIG = 40                     # backends in the pool that forces paging
N_FILLER_ROUTES = 16
EXTRA_POOLS = [f"edge-{i}.x" for i in range(6)]   # names DPDK cannot key


# ---- what the docs promise --------------------------------------------------

def _cells(line):
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def doc_schema():
    """{command: {"reply": [(name, type)], "row": [(name, type)]}} from the
    field tables under each '#### `/sluice/<cmd>`' heading of the Telemetry
    section."""
    text = DOCS.read_text()
    sec = text[text.index("\n## Telemetry\n"):]
    sec = sec[:sec.index("\n## ", 5)]
    schema, cmd, kind = {}, None, None
    for line in sec.splitlines():
        m = re.match(r"#### `(/sluice/[a-z_]+)", line)
        if m:
            cmd, kind = m.group(1), None
            schema[cmd] = {"reply": [], "row": []}
            continue
        if cmd is None or not line.startswith("|"):
            kind = None if not line.startswith("|") else kind
            continue
        cells = _cells(line)
        if cells[:2] == ["field", "type"]:
            kind = "reply"
        elif cells[:2] == ["row field", "type"]:
            kind = "row"
        elif kind and cells[0].startswith("`"):
            name = cells[0].strip("`").replace("\\|", "|")
            schema[cmd][kind].append((name, cells[1]))
    return schema


def field_matchers(name):
    """Exact names for `a_<x|y>_b`, a regex for a family `drop_<reason>`."""
    m = re.search(r"<([^>]+)>", name)
    if m is None:
        return [name], None
    if "|" in m.group(1):
        # Every `<x|y>` group multiplies out (`<a|b>_le_<1|2>_us`: four names).
        names = []
        for alt in m.group(1).split("|"):
            more, rx = field_matchers(name[:m.start()] + alt + name[m.end():])
            assert rx is None, f"a family inside an alternation: {name}"
            names += more
        return names, None
    return [], re.compile(re.escape(name[:m.start()]) + "[a-z0-9_]+" +
                          re.escape(name[m.end():]) + "$")


def type_ok(value, typ):
    if typ == "integer":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if typ == "signed integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if typ == "string":
        return isinstance(value, str)
    raise AssertionError(f"docs use an unknown type {typ!r}")


def check_fields(obj, fields, where, scalars_only=False):
    """obj holds every documented field with its type, and nothing else."""
    keys = {k for k, v in obj.items() if not (scalars_only and isinstance(v, dict))}
    covered = set()
    for name, typ in fields:
        exact, rx = field_matchers(name)
        hits = exact if rx is None else [k for k in keys if rx.match(k)]
        for k in hits:
            assert k in obj, f"{where}: documented field {k} missing: {sorted(keys)}"
            assert type_ok(obj[k], typ), f"{where}: {k}={obj[k]!r} is not {typ}"
        assert hits, f"{where}: no field matches documented {name}"
        covered |= set(hits)
    assert keys <= covered, f"{where}: undocumented fields {sorted(keys - covered)}"


def rows(reply):
    return {k: v for k, v in reply.items() if isinstance(v, dict)}


# ---- talking to the socket --------------------------------------------------

class Tel:
    """Raw telemetry client: the reply's text too, to measure its size."""

    def __init__(self, gw):
        self.path = str(RUNTIME_DIR / gw.prefix / "dpdk_telemetry.v2")

    def raw(self, cmd):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(10)
        try:
            s.connect(self.path)
            json.loads(s.recv(4096).decode())
            s.send(cmd.encode())
            return s.recv(4 * MAX_OUTPUT).decode()
        finally:
            s.close()

    def q(self, cmd):
        text = self.raw(cmd)
        assert len(text) < MAX_OUTPUT, f"{cmd}: {len(text)} bytes"
        reply = json.loads(text)
        key = cmd.split(",", 1)[0]
        assert list(reply) == [key], (cmd, text[:200])
        assert isinstance(reply[key], (dict, list)), (cmd, text[:200])
        return reply[key]

    def pages(self, cmd, size):
        """Every page of a paged table: the disjoint union of their rows."""
        first = self.q(cmd)
        total, pages = first["total"], first["pages"]
        assert pages == -(-total // size), (cmd, total, pages)
        got = {}
        for p in range(pages):
            page = self.q(f"{cmd},{p}")
            assert page["page"] == p and page["total"] == total, (cmd, p)
            r = rows(page)
            # Full pages, and the last one holds the remainder: nothing
            # was dropped by telemetry's size limit.
            assert len(r) == min(size, total - p * size), (cmd, p, len(r))
            assert not set(r) & set(got), f"{cmd}: page {p} repeats rows"
            got.update(r)
        beyond = self.q(f"{cmd},{pages}")
        assert beyond["page"] == pages and not rows(beyond)
        assert len(got) == total
        return got


# ---- the gateway under test -------------------------------------------------

def big_name(i):
    # 63 characters (the longest name), with characters DPDK cannot key.
    return f"big-backend.{i:02d}-".ljust(63, "n")


def pools_conf():
    web = {"name": "web", "backends": [
        {"name": "b2", "address": "198.18.1.2", "port": 8080},
        {"name": "b3", "address": "198.18.1.3", "port": 8080}],
        "health_check": {"type": "http", "path": "/health", "interval_ms": 1500,
                         "timeout_ms": 1000, "rise": 1, "fall": 2}}
    api = {"name": "api", "backends": [
        {"name": "a4", "address": "198.18.1.4", "port": 8080}],
        "health_check": {"type": "tcp", "interval_ms": 300, "timeout_ms": 200}}
    # Nobody listens on these: their checks fail and they go down.
    big = {"name": "big", "backends": [
        {"name": big_name(i), "address": f"198.18.1.{2 + i % 8}",
         "port": 8101 + i // 8} for i in range(N_BIG)],
        "health_check": {"type": "tcp", "interval_ms": 1000, "timeout_ms": 300,
                         "fall": 1}}
    echo = {"name": "echo", "backends": [
        {"name": "e5", "address": "198.18.1.5", "port": 9000}]}
    extra = [{"name": n, "backends": [{"address": "198.18.1.6", "port": 8080}]}
             for n in EXTRA_POOLS]
    return [web, api, big, echo] + extra


def listeners_conf():
    routes = [{"path_prefix": "/api/", "pool": "api"},
              {"path_prefix": "/m/", "methods": ["GET", "POST"], "pool": "web",
               "rate_limit": {"rps": 1000, "burst": 100}},
              {"host": "*.example.test", "pool": "web"}]
    routes += [{"path_prefix": f"/r{i:02d}/", "pool": "web"}
               for i in range(N_FILLER_ROUTES)]
    return [{"name": "http", "address": GW, "port": 80, "mode": "http",
             "pool": "web", "routes": routes},
            {"name": "echo", "address": GW, "port": 9000, "mode": "tcp",
             "pool": "echo"}]


N_ROUTE_ROWS = 3 + N_FILLER_ROUTES + 1        # routes and the default


@pytest.fixture(scope="module")
def env(testbed, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("telread")
    http = ns_popen(BACKEND_NS, PY, str(PEERS / "http_backend.py"),
                    "--addr", "198.18.1.2", "--addr", "198.18.1.3",
                    "--addr", "198.18.1.4", "--port", "8080")
    echo = Backend("echo", ["198.18.1.5"], 9000)
    gw = None
    try:
        assert (read_line(http, 15) or "").strip() == "ready"
        echo.start()
        cfg = write_config(tmp / "telread.json", pools=pools_conf(),
                           listeners=listeners_conf(),
                           access_log={"path": str(tmp / "access.log")},
                           tcp={"time_wait_s": 1})
        gw = Gateway(cfg, tmp)
        gw.start()
        tel = Tel(gw)
        # The health checks of web and api pass before traffic starts.
        assert wait_until(lambda: all(
            r["checks"] > 0 and r["state"] == "up"
            for r in tel.pages("/sluice/health,web", 20).values()), 10)
        yield gw, tel
    finally:
        if gw is not None:
            gw.stop()
            gw.cleanup()
        echo.stop()
        stop_proc(http)


def curl(path, host=None):
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
            "--max-time", "10"]
    if host:
        args += ["-H", f"Host: {host}"]
    return in_ns(CLIENT_NS, *args, f"http://{GW}{path}", check=False,
                 timeout=20).stdout


def echo_once():
    prog = ("import socket; s = socket.create_connection(('%s', 9000), 5); "
            "s.sendall(b'telemetry'); print(s.recv(64).decode()); s.close()" % GW)
    return in_ns(CLIENT_NS, PY, "-c", prog, timeout=20).stdout.strip()


@pytest.fixture(scope="module")
def traffic(env):
    """Counters before and after N_WEB + N_API curls and one echo session."""
    gw, tel = env
    before = {"http": tel.q("/sluice/http"), "info": tel.q("/sluice/info"),
              "routes": tel.pages("/sluice/routes", 16),
              "backends": tel.pages("/sluice/backends,web", 8),
              "latency": tel.pages("/sluice/latency", 5),
              "tcp": tel.q("/sluice/tcp")["total"],
              "ports": rows(tel.q("/sluice/ports"))}
    codes = [curl("/whoami") for _ in range(N_WEB)]
    codes += [curl("/api/whoami") for _ in range(N_API)]
    assert codes == ["200"] * (N_WEB + N_API), codes
    assert echo_once() == "telemetry"
    # The control thread judges outcomes asynchronously; the access log
    # writer too.
    assert wait_until(lambda: tel.q("/sluice/info")["access_log_written"] -
                      before["info"]["access_log_written"] >= N_WEB + N_API, 10)
    return before


# ---- the docs and the command list ------------------------------------------

READ_COMMANDS = ["/sluice/info", "/sluice/ports", "/sluice/lcores",
                 "/sluice/arp", "/sluice/tcp", "/sluice/conns", "/sluice/http",
                 "/sluice/routes", "/sluice/backends", "/sluice/pools",
                 "/sluice/breakers", "/sluice/health", "/sluice/events",
                 "/sluice/latency"]
PAGED = {"/sluice/ports": 4, "/sluice/lcores": 16, "/sluice/arp": 64,
         "/sluice/tcp": 4, "/sluice/conns": 24, "/sluice/routes": 16,
         "/sluice/backends": 8, "/sluice/pools": 8, "/sluice/breakers": 20,
         "/sluice/health": 20, "/sluice/latency": 5}


def test_docs_list_exactly_the_registered_commands(env):
    gw, tel = env
    listed = {c for c in tel.q("/") if c.startswith("/sluice/")}
    documented = set(re.findall(r"(?<![\w/])/sluice/[a-z_]+", DOCS.read_text()))
    assert listed == documented, (
        f"registered, not in docs/operations.md: {sorted(listed - documented)}; "
        f"in the docs, not registered: {sorted(documented - listed)}")
    schema = doc_schema()
    for cmd in READ_COMMANDS:
        assert cmd in schema and (schema[cmd]["reply"] or schema[cmd]["row"]), cmd


def test_help_says_what_each_command_returns(env):
    gw, tel = env
    for cmd in READ_COMMANDS:
        text = tel.q(f"/help,{cmd}")[cmd]
        assert 40 <= len(text) < 128, (cmd, text)
        if cmd in PAGED:
            assert f"{PAGED[cmd]} a page" in text or f"{PAGED[cmd]} lcores a page" in text, (cmd, text)
        elif cmd != "/sluice/events":
            assert "No parameters" in text, (cmd, text)


# ---- each read command ------------------------------------------------------

def test_info(env, traffic):
    gw, tel = env
    info = tel.q("/sluice/info")
    check_fields(info, doc_schema()["/sluice/info"]["reply"], "/sluice/info")
    assert info["workers"] == 1 and info["ports"] == 2
    assert info["pools"] == 4 + len(EXTRA_POOLS) and info["listeners"] == 2
    assert info["access_log"].endswith("access.log")
    assert info["access_log_written"] - traffic["info"]["access_log_written"] >= N_WEB + N_API
    assert info["access_log_dropped_full"] == 0 and info["access_log_write_errors"] == 0
    # Every curl's outcome reached the control thread; none was dropped.
    assert wait_until(lambda: tel.q("/sluice/info")["outcomes_processed"] -
                      traffic["info"]["outcomes_processed"] >= N_WEB + N_API, 5)
    assert info["outcomes_dropped"] == 0
    assert 0 < info["mbufs_in_use"] < info["mbufs_total"]


def test_ports(env, traffic):
    gw, tel = env
    sch = doc_schema()["/sluice/ports"]
    reply = tel.q("/sluice/ports")
    check_fields(reply, sch["reply"], "/sluice/ports", scalars_only=True)
    ports = tel.pages("/sluice/ports", 4)
    assert set(ports) == {"net_af_xdp0", "net_af_xdp1"}
    drop_def = (REPO / "lib" / "core" / "sl_drop.def").read_text()
    reasons = re.findall(r'^SL_DROP\(\s*\w+,\s*"([a-z0-9_]+)"', drop_def, re.M)
    for key, p in ports.items():
        check_fields(p, sch["row"], f"/sluice/ports row {key}")
        assert p["name"] == key
        assert {k[5:] for k in p if k.startswith("drop_")} == set(reasons)
        assert p["drops_total"] == sum(p["drop_" + r] for r in reasons)
    p0, was = ports["net_af_xdp0"], traffic["ports"]["net_af_xdp0"]
    assert p0["address"] == "198.18.0.1/24" and p0["link"] == "up"
    # Each curl is at least a SYN, a request, an ACK and a FIN.
    assert p0["rx_packets"] - was["rx_packets"] >= 4 * (N_WEB + N_API)
    assert p0["tx_bytes"] > was["tx_bytes"]


def test_lcores(env, traffic):
    gw, tel = env
    sch = doc_schema()["/sluice/lcores"]
    reply = tel.q("/sluice/lcores")
    check_fields(reply, sch["reply"], "/sluice/lcores", scalars_only=True)
    lcores = tel.pages("/sluice/lcores", 16)
    assert list(lcores) == ["1"]
    lc = lcores["1"]
    check_fields(lc, sch["row"], "/sluice/lcores row")
    assert lc["lcore"] == 1 and lc["worker"] == 0
    assert lc["packets"] > 0 and lc["busy_cycles"] > 0
    assert lc["shedding"] == 0 and lc["outcomes_dropped"] == 0
    assert lc["access_log_queued"] >= N_WEB + N_API
    # Health checks and TCP keep timers armed; ARP knows client and backends.
    assert lc["timers_armed"] > 0 and lc["timers_fired"] > 0
    assert 2 <= lc["arp_entries"] <= lc["arp_table_size"]


def test_arp(env, traffic):
    gw, tel = env
    sch = doc_schema()["/sluice/arp"]
    check_fields(tel.q("/sluice/arp"), sch["reply"], "/sluice/arp", scalars_only=True)
    arp = tel.pages("/sluice/arp", 64)
    ips = [r["ip"] for r in arp.values()]
    for r in arp.values():
        check_fields(r, sch["row"], "/sluice/arp row")
    assert len(ips) == len(set(ips)), "an address is listed twice"
    assert ips == sorted(ips, key=lambda a: tuple(map(int, a.split("."))))
    assert any(a.startswith("198.18.0.") for a in ips)
    assert {"198.18.1.2", "198.18.1.5"} <= set(ips)


def test_tcp(env, traffic):
    gw, tel = env
    sch = doc_schema()["/sluice/tcp"]
    reply = tel.q("/sluice/tcp")
    check_fields(reply, sch["reply"], "/sluice/tcp", scalars_only=True)
    assert reply["workers"] == 1 and reply["pages"] == 1
    assert set(rows(reply)) == {"total", "1"}
    for k, r in rows(reply).items():
        check_fields(r, sch["row"], f"/sluice/tcp row {k}")
    t, was = reply["total"], traffic["tcp"]
    assert t["passive_opens"] - was["passive_opens"] >= N_WEB + N_API + 1
    assert t["l4_sessions"] - was["l4_sessions"] == 1
    assert t["l4_bytes_c2s"] - was["l4_bytes_c2s"] == len("telemetry")
    assert t["mem_per_conn_bytes"] > 0 and t["max_conns"] > 0
    # With one worker, the sum is that worker (no client connects now).
    assert reply["1"]["passive_opens"] == t["passive_opens"]
    assert reply["1"]["max_conns"] == t["max_conns"]
    # Page 1 has only the sum.
    assert set(rows(tel.q("/sluice/tcp,1"))) == {"total"}


def test_memory(env, traffic):
    gw, tel = env
    m = tel.q("/sluice/memory")
    check_fields(m, doc_schema()["/sluice/memory"]["reply"], "/sluice/memory")
    conf = gw.tel.query("/sluice/tcp")["total"]
    # The tables as configured, one worker.
    assert m["tcp_slots"] == conf["max_conns"]
    assert m["tcp_conn_bytes"] == conf["mem_per_conn_bytes"]
    assert m["http_client_slots"] == m["tcp_slots"] // 2
    assert m["conn_tables_bytes"] == (
        m["tcp_slots"] * m["tcp_conn_bytes"]
        + m["http_client_slots"] * m["http_client_bytes"]
        + m["http_exchange_slots"] * m["http_exchange_bytes"]
        + m["l4_session_slots"] * m["l4_session_bytes"])
    assert 0 < m["conn_tables_bytes"] < m["heap_alloc_bytes"] <= m["heap_bytes"]
    assert m["heap_alloc_bytes"] + m["heap_free_bytes"] <= m["heap_bytes"]
    assert m["rss_bytes"] > 0
    assert 0 < m["mbufs_in_use"] < m["mbufs_total"] and m["mbuf_bytes"] >= 2048
    # A client connection held open shows in the gauges, and leaves them.
    before = m["http_clients"]
    prog = ("import socket, sys, time; s = socket.create_connection(('%s', 80), 5); "
            "print('open', flush=True); time.sleep(15)" % GW)
    holder = ns_popen(CLIENT_NS, PY, "-c", prog)
    try:
        assert (read_line(holder, 10) or "").strip() == "open"
        assert wait_until(lambda: tel.q("/sluice/memory")["http_clients"] == before + 1, 5)
        # (Not "one more than before": connections earlier tests left in
        # TIME_WAIT may expire meanwhile, as they did on a loaded CI run.)
        assert tel.q("/sluice/memory")["tcp_conns"] >= 1
    finally:
        stop_proc(holder)
    assert wait_until(lambda: tel.q("/sluice/memory")["http_clients"] == before, 5)


def test_conns(env, traffic):
    gw, tel = env
    sch = doc_schema()["/sluice/conns"]
    # Hold a client connection open so that there is one to see.
    prog = ("import socket, sys, time; s = socket.create_connection(('%s', 80), 5); "
            "print('open', flush=True); time.sleep(15)" % GW)
    holder = ns_popen(CLIENT_NS, PY, "-c", prog)
    try:
        assert (read_line(holder, 10) or "").strip() == "open"
        def mine():
            for p in range(tel.q("/sluice/conns")["pages"]):
                for r in rows(tel.q(f"/sluice/conns,{p}")).values():
                    if r["tuple"].startswith(f"{GW}:80 -> ") and r["state"] == "established":
                        return r
            return None
        r = wait_until(mine, 5)
        assert r, tel.q("/sluice/conns")
        check_fields(r, sch["row"], "/sluice/conns row")
        first = tel.q("/sluice/conns")
        check_fields(first, sch["reply"], "/sluice/conns", scalars_only=True)
        # Connections come and go (health checks), so only the shape of
        # each page is exact: numbered rows of its own range.
        for p in range(first["pages"] + 1):
            page = tel.q(f"/sluice/conns,{p}")
            keys = [int(k) for k in rows(page)]
            assert len(keys) <= 24 and all(24 * p <= k < 24 * (p + 1) for k in keys)
    finally:
        stop_proc(holder)


def test_http(env, traffic):
    gw, tel = env
    http = tel.q("/sluice/http")
    check_fields(http, doc_schema()["/sluice/http"]["reply"], "/sluice/http")
    was = traffic["http"]
    n = N_WEB + N_API
    assert http["requests"] - was["requests"] == n
    assert http["responses"] - was["responses"] == n
    assert http["status_2xx"] - was["status_2xx"] == n
    # test_memory and test_conns each held one more connection open, and
    # made no request.
    assert http["client_conns"] - was["client_conns"] in (n, n + 1, n + 2)
    assert http["status_5xx"] == was["status_5xx"]
    assert 0 < http["total_p50_us"] <= http["total_p99_us"] <= http["total_max_us"]
    assert http["upstream_p50_us"] <= http["total_max_us"]


def test_routes(env, traffic):
    gw, tel = env
    sch = doc_schema()["/sluice/routes"]
    check_fields(tel.q("/sluice/routes"), sch["reply"], "/sluice/routes", scalars_only=True)
    routes = tel.pages("/sluice/routes", 16)
    assert sorted(map(int, routes)) == list(range(N_ROUTE_ROWS))
    for k, r in routes.items():
        check_fields(r, sch["row"], f"/sluice/routes row {k}")
    by_match = {r["match"]: r for r in routes.values()}
    api, dflt = by_match["*/api/"], by_match["(default)"]
    assert api["pool"] == "api" and api["default"] == 0 and api["route"] == 0
    assert dflt["pool"] == "web" and dflt["default"] == 1 and dflt["route"] == 3 + N_FILLER_ROUTES
    assert by_match["*/m/"]["methods"] == "GET,POST" and by_match["*/m/"]["rate_limit_rps"] == 1000
    assert api["methods"] == "*" and api["rate_limit_rps"] == 0
    before = {r["match"]: r["requests"] for r in traffic["routes"].values()}
    assert api["requests"] - before["*/api/"] == N_API
    assert dflt["requests"] - before["(default)"] == N_WEB
    assert 0 < api["total_p50_us"] <= api["total_max_us"]


def test_backends(env, traffic):
    gw, tel = env
    sch = doc_schema()["/sluice/backends"]
    reply = tel.q("/sluice/backends,web")
    check_fields(reply, sch["reply"], "/sluice/backends", scalars_only=True)
    web = tel.pages("/sluice/backends,web", 8)
    assert set(web) == {"b2", "b3"}
    for k, b in web.items():
        check_fields(b, sch["row"], f"/sluice/backends row {k}")
        assert b["name"] == k and b["weight"] == 1
        assert b["state"] == "healthy" and b["health"] == "up"
        assert b["last_health_check"] == "pass: status 200", b
    assert {b["address"] for b in web.values()} == {"198.18.1.2:8080", "198.18.1.3:8080"}
    was = traffic["backends"]
    assert sum(b["requests"] for b in web.values()) - \
        sum(b["requests"] for b in was.values()) == N_WEB
    assert wait_until(lambda: sum(b["status_2xx"] for b in tel.pages(
        "/sluice/backends,web", 8).values()) - sum(b["status_2xx"] for b in was.values()) == N_WEB, 5)


def test_latency_histograms(env, traffic):
    """Row 0 is every route; then routes, then backends; counts move by the
    requests sent; buckets are cumulative and end at or below the count."""
    gw, tel = env
    sch = doc_schema()["/sluice/latency"]
    check_fields(tel.q("/sluice/latency"), sch["reply"], "/sluice/latency", scalars_only=True)
    lat = tel.pages("/sluice/latency", 5)
    for k, r in lat.items():
        check_fields(r, sch["row"], f"/sluice/latency row {k}")
    rows_ = [lat[k] for k in sorted(lat, key=int)]
    assert rows_[0]["scope"] == "all"
    scopes = [r["scope"] for r in rows_]
    assert scopes == sorted(scopes, key=["all", "route", "backend"].index), scopes
    assert scopes.count("route") == N_ROUTE_ROWS
    before = {(r["scope"], r["match"], r["pool"], r["backend"]): r
              for r in traffic["latency"].values()}

    def moved(r, field="total_count"):
        return r[field] - before[(r["scope"], r["match"], r["pool"], r["backend"])][field]
    assert moved(rows_[0]) == N_WEB + N_API
    api = next(r for r in rows_ if r["scope"] == "route" and r["match"] == "*/api/")
    assert moved(api) == N_API and moved(api, "upstream_count") == N_API
    web = [r for r in rows_ if r["scope"] == "backend" and r["pool"] == "web"]
    assert sorted(r["backend"] for r in web) == ["b2", "b3"]
    assert sum(moved(r) for r in web) == N_WEB
    bounds = [250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
              500000, 1000000, 2500000, 5000000, 10000000]
    for r in rows_:
        for phase in ("total", "upstream"):
            cum = [r[f"{phase}_le_{b}_us"] for b in bounds]
            assert cum == sorted(cum) and cum[-1] <= r[f"{phase}_count"], r
    # Local requests take well under 10 s, and some time: every one is in
    # the last bucket, and the sum is positive.
    assert rows_[0]["total_le_10000000_us"] == rows_[0]["total_count"] > 0
    assert rows_[0]["total_sum_us"] > 0


def test_backends_page_a_big_pool(env):
    """40 backends with 63-character names: 5 pages of 8, each under 16 KB,
    together every backend once, keyed by a name DPDK accepts."""
    gw, tel = env
    sch = doc_schema()["/sluice/backends"]
    big = tel.pages("/sluice/backends,big", 8)
    assert sorted(b["name"] for b in big.values()) == sorted(big_name(i) for i in range(N_BIG))
    for k, b in big.items():
        assert re.fullmatch(r"[A-Za-z0-9_/]+", k) and k == b["name"].replace("-", "_").replace(".", "_")
        check_fields(b, sch["row"], f"/sluice/backends,big row {k}")
    # The whole string is tried as a pool name before a page is split off.
    assert tel.q("/sluice/backends,big")["pages"] == 5


def test_pools(env, traffic):
    gw, tel = env
    sch = doc_schema()["/sluice/pools"]
    check_fields(tel.q("/sluice/pools"), sch["reply"], "/sluice/pools", scalars_only=True)
    pools = tel.pages("/sluice/pools", 8)
    names = {p["name"]: k for k, p in pools.items()}
    assert set(names) == {"web", "api", "big", "echo", *EXTRA_POOLS}
    for k, p in pools.items():
        check_fields(p, sch["row"], f"/sluice/pools row {k}")
    assert names["edge-0.x"] == "edge_0_x"
    web, big = pools["web"], pools["big"]
    assert web["policy"] == "round_robin" and web["backends"] == 2 and web["healthy"] == 2
    assert web["refused_none_available"] == 0 and web["panic"] == 0
    # Nothing answers the big pool: every check fails, the pool panics.
    assert wait_until(lambda: tel.q("/sluice/pools")["big"]["backends_down"] == N_BIG, 15)
    big = tel.q("/sluice/pools")["big"]
    assert big["healthy"] == 0 and big["panic"] == 1 and big["panic_entries"] >= 1


def test_breakers(env, traffic):
    gw, tel = env
    sch = doc_schema()["/sluice/breakers"]
    check_fields(tel.q("/sluice/breakers"), sch["reply"], "/sluice/breakers", scalars_only=True)
    every = tel.pages("/sluice/breakers,*", 20)
    n_all = 2 + 1 + N_BIG + 1 + len(EXTRA_POOLS)
    assert sorted(map(int, every)) == list(range(n_all))
    assert tel.q("/sluice/breakers")["total"] == n_all
    for k, r in every.items():
        check_fields(r, sch["row"], f"/sluice/breakers row {k}")
    big = tel.pages("/sluice/breakers,big", 20)
    assert sorted(map(int, big)) == list(range(N_BIG))
    assert {r["backend"] for r in big.values()} == {big_name(i) for i in range(N_BIG)}
    web = rows(tel.q("/sluice/breakers,web"))
    assert [r["backend"] for _, r in sorted(web.items(), key=lambda kv: int(kv[0]))] == ["b2", "b3"]
    for r in web.values():
        assert r["state"] == "closed" and r["consecutive_failures"] == 0
        assert r["open_for_ms"] == 0 and r["ejected"] == 0 and r["ejected_ms_left"] == 0


def test_health(env, traffic):
    gw, tel = env
    sch = doc_schema()["/sluice/health"]
    check_fields(tel.q("/sluice/health"), sch["reply"], "/sluice/health", scalars_only=True)
    checked = tel.pages("/sluice/health", 20)
    # A bare page number pages every pool, as "*" does.
    assert {k: (r["pool"], r["backend"]) for k, r in checked.items()} == \
        {k: (r["pool"], r["backend"]) for k, r in tel.pages("/sluice/health,*", 20).items()}
    # Only pools with checks, unless asked for by name.
    assert len(checked) == 2 + 1 + N_BIG
    for k, r in checked.items():
        check_fields(r, sch["row"], f"/sluice/health row {k}")
        assert r["enabled"] == 1
    by = {(r["pool"], r["backend"]): r for r in checked.values()}
    b2 = by[("web", "b2")]
    assert b2["kind"] == "http" and b2["path"] == "/health"
    assert (b2["interval_ms"], b2["timeout_ms"], b2["rise"], b2["fall"]) == (1500, 1000, 1, 2)
    assert b2["state"] == "up" and b2["fails_in_row"] == 0 and b2["passes_in_row"] >= 1
    assert b2["checks"] >= 1 and b2["failures"] == 0
    assert b2["last_result"] == "pass: status 200" and b2["last_check_age_ms"] < 2000
    a4 = by[("api", "a4")]
    assert a4["kind"] == "tcp" and a4["path"] == "" and a4["state"] == "up"
    assert a4["last_result"].startswith("pass")

    def big_down():
        rs = [r for r in tel.pages("/sluice/health,big", 20).values()]
        return all(r["state"] == "down" and r["fails_in_row"] >= 1 and
                   r["passes_in_row"] == 0 and r["last_result"].startswith("fail")
                   for r in rs) and rs
    assert wait_until(big_down, 15)
    # Checks keep counting.
    c0 = by[("web", "b2")]["checks"]
    assert wait_until(lambda: rows(tel.q("/sluice/health,web"))["0"]["checks"] > c0, 5)
    # A pool without checks, asked for by name.
    (echo,) = rows(tel.q("/sluice/health,echo")).values()
    assert echo["enabled"] == 0 and echo["kind"] == "none"
    assert echo["checks"] == 0 and echo["last_result"] == "no health check"


def test_events(env, traffic):
    gw, tel = env
    sch = doc_schema()["/sluice/events"]
    # The big pool going down logged more than one call's worth.
    assert wait_until(lambda: tel.q("/sluice/events")["total"] > 24, 15)
    seen, after, sizes = [], 0, []
    while True:
        ev = tel.q(f"/sluice/events,{after}")
        check_fields(ev, sch["reply"], "/sluice/events", scalars_only=True)
        r = rows(ev)
        assert len(r) <= 24
        if not r:
            assert ev["next"] == after
            break
        for k, e in r.items():
            check_fields(e, sch["row"], f"/sluice/events row {k}")
            assert int(k) == e["seq"]
        seqs = sorted(e["seq"] for e in r.values())
        assert seqs[0] > after and ev["next"] == seqs[-1]
        seen += seqs
        sizes.append(len(seqs))
        after = ev["next"]
    # Every call but the last is full: nothing lost to the size limit.
    assert all(n == 24 for n in sizes[:-1]), sizes
    assert seen == list(range(1, len(seen) + 1)) and len(seen) > 24
    last = tel.q("/sluice/events")
    assert last["total"] >= len(seen) and last["overwritten"] == 0
    downs = [e for e in rows(tel.q("/sluice/events,0")).values() if e["kind"] == "health"]
    assert downs and downs[0]["pool"] in ("big", "web", "api")
    assert all(e["text_more"] == "" for e in downs)
    now_us = time.time() * 1e6
    assert all(now_us - 600e6 < e["time_us"] <= now_us + 1e6 for e in downs)


# ---- bad parameters ---------------------------------------------------------

@pytest.mark.parametrize("cmd", [
    "/sluice/info,x", "/sluice/http,1",
    "/sluice/ports,x", "/sluice/lcores,-1", "/sluice/arp,1x", "/sluice/tcp,x",
    "/sluice/conns,x", "/sluice/routes,x", "/sluice/pools,x",
    "/sluice/backends", "/sluice/backends,nosuchpool", "/sluice/backends,web,x",
    "/sluice/backends,*", "/sluice/breakers,nosuchpool", "/sluice/breakers,web,x",
    "/sluice/health,nosuchpool", "/sluice/health,*,x", "/sluice/events,x",
    "/sluice/events,-3"])
def test_bad_parameters_answer_an_error(env, cmd):
    gw, tel = env
    reply = tel.q(cmd)
    assert list(reply) == ["error"] and isinstance(reply["error"], str), (cmd, reply)
    assert len(reply["error"]) > 10


def test_page_past_the_end_is_empty_not_an_error(env):
    gw, tel = env
    for cmd in ("/sluice/ports,9", "/sluice/pools,9", "/sluice/backends,web,3",
                "/sluice/breakers,*,99", "/sluice/health,web,1", "/sluice/routes,5"):
        reply = tel.q(cmd)
        assert "error" not in reply and not rows(reply), (cmd, reply)
        assert reply["page"] == int(cmd.rsplit(",", 1)[1]) and reply["total"] > 0
