"""scripts/sluice_telemetry.py, the one telemetry client (sluicectl, the
exporter, these tests and the benchmarks use it): what it says when there is
no gateway, when the socket is not DPDK's, when the gateway goes away, when
an answer cannot be read or is too big, when nothing answers; that it
follows pages. And /sluice/schema, the counters' meanings from the gateway:
it describes every counter the exporter takes its HELP from, and nothing the
gateway does not publish."""

import importlib.machinery
import importlib.util
import json
import os
import socket
import subprocess
import threading

import pytest

import sluice_telemetry
from harness.ctl_env import EXPORTER, SLUICECTL, HttpBackends, ctl, load
from peers.fake_telemetry import FakeTelemetry
from harness.prom_text import parse
from harness.sluice_env import PY, REPO
from sluice_telemetry import Telemetry, TelemetryError

CLIENT = REPO / "scripts" / "sluice_telemetry.py"


class OddSocket:
    """A SEQPACKET listener whose every connection is handed to serve(conn):
    the misbehaving peers a real gateway cannot be made to be."""

    def __init__(self, path, serve):
        self.path, self.serve = str(path), serve
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.stop = False
        self.conns = []
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(conn)
            try:
                self.serve(conn)
            except OSError:
                pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()
        os.unlink(self.path)
        return False


HELLO = json.dumps({"version": "DPDK 22.11 (test)", "pid": 1,
                    "max_output_len": 1024}).encode()


def answer_with(payload):
    """Greet, then answer every command with payload (bytes)."""
    def serve(conn):
        conn.settimeout(5)
        conn.send(HELLO)
        while conn.recv(1024):
            conn.send(payload)
    return serve


def errors(tel, cmd):
    with pytest.raises(TelemetryError) as e:
        tel.query(cmd)
    return e.value


# ---- error paths, no gateway needed -----------------------------------------

def test_no_socket(tmp_path):
    path = tmp_path / "none.sock"
    e = errors(Telemetry(path), "/sluice/info")
    assert e.unreachable and isinstance(e, OSError)
    assert str(e) == f"no Sluice gateway at {path}: is it running? (--prefix?)"
    # By prefix: the socket DPDK makes for --file-prefix.
    tel = Telemetry.for_prefix("sl-none-client")
    assert tel.path == "/var/run/dpdk/sl-none-client/dpdk_telemetry.v2"
    assert "no Sluice gateway at /var/run/dpdk/sl-none-client/" in str(errors(tel, "/"))


def test_not_a_telemetry_socket(tmp_path):
    with OddSocket(tmp_path / "t.sock", lambda c: c.send(b"220 smtp ready")):
        e = errors(Telemetry(tmp_path / "t.sock", timeout=5), "/")
    assert e.unreachable and "is not a DPDK telemetry v2 socket" in str(e)


def test_closed_at_once(tmp_path):
    """DPDK closes a connection over its client limit without a greeting."""
    with OddSocket(tmp_path / "t.sock", lambda c: c.close()):
        e = errors(Telemetry(tmp_path / "t.sock", timeout=5), "/")
    assert e.unreachable and "closed the connection at once" in str(e)


def test_unreadable_reply(tmp_path):
    with OddSocket(tmp_path / "t.sock", answer_with(b'{"/sluice/info": {"a": 1')):
        tel = Telemetry(tmp_path / "t.sock", timeout=5)
        e = errors(tel, "/sluice/info")
        tel.close()
    assert not e.unreachable and "unreadable answer to /sluice/info" in str(e)


def test_reply_too_big_is_an_error_and_the_session_goes_on(tmp_path):
    """A reply over the buffer (max_output_len + slack) is not parsed from
    its first part: SEQPACKET cuts it, MSG_TRUNC says so."""
    big = json.dumps({"/x": "y" * (1024 + sluice_telemetry.SLACK + 100)}).encode()
    small = json.dumps({"/y": 7}).encode()

    def serve(conn):
        conn.settimeout(5)
        conn.send(HELLO)
        while True:
            cmd = conn.recv(1024)
            if not cmd:
                return
            conn.send(big if cmd == b"/x" else small)

    with OddSocket(tmp_path / "t.sock", serve):
        with Telemetry(tmp_path / "t.sock", timeout=5) as tel:
            assert tel.max_len == 1024
            e = errors(tel, "/x")
            assert not e.unreachable and "over the" in str(e) and "max_output_len 1024" in str(e)
            assert tel.query("/y") == 7       # still one reply per command


def test_no_answer_times_out(tmp_path):
    def greet_only(conn):
        conn.send(HELLO)

    with OddSocket(tmp_path / "t.sock", greet_only):
        e = errors(Telemetry(tmp_path / "t.sock", timeout=0.5), "/sluice/info")
    assert e.unreachable and str(e) == "no answer to /sluice/info within 0.5 s"


def test_gateway_gone_mid_session(tmp_path):
    """The gateway answers, then its end of the connection closes (it
    stopped): the next query says so, and the one after connects anew."""
    def answer_once(conn):
        conn.settimeout(5)
        conn.send(HELLO)
        conn.recv(1024)
        conn.send(json.dumps({"/sluice/info": {"version": "0.1.0"}}).encode())
        conn.close()

    with OddSocket(tmp_path / "t.sock", answer_once) as odd:
        tel = Telemetry(tmp_path / "t.sock", timeout=5)
        try:
            assert tel.query("/sluice/info") == {"version": "0.1.0"}
            e = errors(tel, "/sluice/info")
            assert e.unreachable
            assert ("closed the connection (did it stop?)" in str(e)
                    or "lost the gateway" in str(e)), str(e)
            assert tel.sock is None
            assert tel.query("/sluice/info") == {"version": "0.1.0"}
            assert len(odd.conns) == 2
        finally:
            tel.close()


def test_tables_follow_pages_and_null_is_none(tmp_path):
    def backends(params):
        pool, _, page = params.partition(",")
        page = int(page or 0)
        return {f"{pool}-b{page}": {"weight": page}, "page": page, "pages": 3}

    path = tmp_path / "t.sock"
    with FakeTelemetry(path, {"/sluice/backends": backends}) as fake:
        with Telemetry(path, timeout=5) as tel:
            t = tel.get_table("/sluice/backends", "web")
            assert tel.query("/sluice/nothing") is None
            assert tel.has("/sluice/backends") and not tel.has("/sluice/nothing")
    assert sorted(sluice_telemetry.rows_of(t)) == ["web-b0", "web-b1", "web-b2"]
    assert t["pages"] == 3
    assert [c for c in fake.received if c.startswith("/sluice/backends")] == [
        "/sluice/backends,web", "/sluice/backends,web,1", "/sluice/backends,web,2"]


def test_the_tools_share_it(tmp_path):
    """sluicectl and the command-line form (benchmarks) report the client's
    errors with their exit codes: 3 no gateway, 1 an unreadable answer."""
    r = subprocess.run([PY, str(CLIENT), "--socket", str(tmp_path / "no.sock"), "/"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 3 and f"no Sluice gateway at {tmp_path}/no.sock" in r.stderr
    with OddSocket(tmp_path / "t.sock", answer_with(b"not json")):
        r = ctl("raw", "/sluice/info", "--socket", str(tmp_path / "t.sock"))
    assert r.returncode == 1 and "unreadable answer to /sluice/info" in r.stderr, r.stderr
    path = tmp_path / "f.sock"
    with FakeTelemetry(path, {"/sluice/info": {"version": "9"}}):
        r = subprocess.run([PY, str(CLIENT), "--socket", str(path), "/sluice/info"],
                           capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and json.loads(r.stdout) == {"version": "9"}
    for tool in (SLUICECTL, EXPORTER):
        assert "sluice_telemetry" in tool.read_text()


# ---- /sluice/schema on a live gateway ----------------------------------------

def load_exporter():
    loader = importlib.machinery.SourceFileLoader("sluice_exporter_s", str(EXPORTER))
    spec = importlib.util.spec_from_loader("sluice_exporter_s", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def loaded(testbed, gateway):
    b = HttpBackends().start()
    try:
        load(20)
    finally:
        b.stop()
    return gateway


def read_schema(gw):
    with gw.tel.session() as tel:
        listing = tel.query("/sluice/schema")
        sections = {s: tel.query(f"/sluice/schema,{s}") for s in listing}
        bad = tel.query("/sluice/schema,nosuchsection")
    return listing, sections, bad


def test_schema_shape(loaded):
    listing, sections, bad = read_schema(loaded)
    rows = {f"{r}_{t}" for r in ("port", "lcore", "pool", "backend") for t in ("counters", "gauges")}
    assert set(listing) == {"tcp", "l4", "http", "drops", "pool_refused",
                            "pool_retry_refused", "breaker_gauges", "health_gauges"} | rows
    for name, row in listing.items():
        s = sections[name]
        kind = "gauge" if name.endswith("_gauges") else "counter"
        assert s["section"] == name and s["type"] == kind == row["type"]
        assert s["command"] == row["command"] and s["key_prefix"] == row["key_prefix"]
        assert len(s["help"]) == row["entries"] > 0
        for key, text in s["help"].items():
            assert key.startswith(s["key_prefix"])
            assert 5 <= len(text) < 128 and text.strip() == text, (key, text)
    assert list(bad) == ["error"]


def first_row(table):
    rows = list(sluice_telemetry.rows_of(table).values())
    assert rows, table
    return rows[0]


def test_schema_names_only_what_the_gateway_publishes(loaded):
    """Every key the schema describes is in the reply of the command it
    names, and every pattern field there (drop_*, refused_*, ...) is in the
    schema: the lists generate both, so they cannot drift apart."""
    _, sections, _ = read_schema(loaded)
    with loaded.tel.session() as tel:
        replies = {
            "/sluice/tcp": tel.get_table("/sluice/tcp")["total"],
            "/sluice/http": tel.query("/sluice/http"),
            "/sluice/ports": next(iter(sluice_telemetry.rows_of(tel.get_table("/sluice/ports")).values())),
            "/sluice/pools": next(iter(sluice_telemetry.rows_of(tel.get_table("/sluice/pools")).values())),
            "/sluice/lcores": first_row(tel.get_table("/sluice/lcores")),
            "/sluice/backends": first_row(tel.get_table("/sluice/backends", "web")),
            "/sluice/breakers": first_row(tel.get_table("/sluice/breakers")),
            "/sluice/health": first_row(tel.get_table("/sluice/health", "web")),
        }
    for name, s in sections.items():
        reply = replies[s["command"]]
        missing = sorted(k for k in s["help"] if k not in reply)
        assert missing == [], (name, missing)
        if s["key_prefix"]:
            published = {k for k in reply if k.startswith(s["key_prefix"])
                         and not (name == "pool_refused" and k.startswith("retry_refused_"))}
            assert published == set(s["help"]), (name, published ^ set(s["help"]))


def test_schema_covers_every_counter_the_exporter_takes_help_from(loaded):
    """The exporter's HELP for the gateway-declared counters is the
    schema's text, word for word, and every label value of the reason
    families is a key the schema describes."""
    _, sections, _ = read_schema(loaded)
    help_of = {n: s["help"] for n, s in sections.items()}
    mod = load_exporter()
    text, err = mod.Exporter(loaded.tel.path, 10.0).collect()
    assert err is None, err
    fams = parse(text)
    expected = {f"sluice_tcp_{k}_total": help_of["tcp"][k] for k in mod.TCP_COUNTERS}
    expected.update({name: help_of["l4"][k] for k, name in mod.L4_COUNTERS.items()})
    expected.update({name: help_of["http"][k] for k, name in mod.HTTP_COUNTERS.items()})
    assert len(expected) >= 50      # tcp, l4 and http: most of the counters
    wrong = {n: (fams[n].help if n in fams else None, h) for n, h in expected.items()
             if n not in fams or fams[n].help != h}
    assert wrong == {}
    for fam, section, prefix, label in (
            ("sluice_port_drops_total", "drops", "drop_", "reason"),
            ("sluice_pool_refused_total", "pool_refused", "refused_", "reason"),
            ("sluice_pool_retry_refused_total", "pool_retry_refused", "retry_refused_", "reason"),
            ("sluice_http_gateway_errors_total", "http", "err_", "code"),
            ("sluice_http_responses_by_class_total", "http", "status_", "class")):
        values = {lab[label] for _, lab, _ in fams[fam].samples}
        assert values, fam
        unknown = sorted(v for v in values if prefix + v not in help_of[section])
        assert unknown == [], (fam, unknown)
    # The reasons the retry family names are the schema's, not a copy.
    retry = fams["sluice_pool_retry_refused_total"].help
    assert all(k[len("retry_refused_"):] in retry for k in help_of["pool_retry_refused"])
    # The traffic above moved counters the schema describes (not all zero).
    assert fams["sluice_http_requests_total"].value() >= 20
    assert sum(v for _, _, v in fams["sluice_tcp_passive_opens_total"].samples) >= 1


def test_exporter_collector_takes_help_from_the_gateway(tmp_path):
    """The exporter's collector, registered as any prometheus_client
    collector: HELP of a declared counter is whatever the gateway's schema
    says (here a text no copy could hold), read once per gateway process;
    without /sluice/schema the counter is still exported, and says why it
    has no meaning."""
    from prometheus_client import CollectorRegistry, generate_latest
    mod = load_exporter()
    path = tmp_path / "t.sock"
    schema = {"http": {"section": "http", "command": "/sluice/http", "key_prefix": "",
                       "type": "counter", "help": {"requests": "FAKE: requests the fake saw"}}}
    handlers = {"/sluice/info": {"version": "0.1.0", "pid": 42, "uptime_ms": 1},
                "/sluice/http": {"requests": 7},
                "/sluice/schema": lambda params: schema.get(params) if params else
                {"http": {"command": "/sluice/http", "key_prefix": "", "type": "counter",
                          "entries": 1}}}
    collector = mod.SluiceCollector(str(path), 5.0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    with FakeTelemetry(path, handlers) as fake:
        fams = parse(generate_latest(registry).decode())
        parse(generate_latest(registry).decode())
    assert fams["sluice_up"].value() == 1
    assert fams["sluice_http_requests_total"].value() == 7
    assert fams["sluice_http_requests_total"].help == "FAKE: requests the fake saw"
    assert len([c for c in fake.received if c.startswith("/sluice/schema")]) == 2  # once
    del handlers["/sluice/schema"]
    with FakeTelemetry(path, dict(handlers, **{"/sluice/info": {"version": "0.1.0", "pid": 43}})):
        fams = parse(generate_latest(registry).decode())
    assert fams["sluice_http_requests_total"].value() == 7
    assert "does not describe it" in fams["sluice_http_requests_total"].help
