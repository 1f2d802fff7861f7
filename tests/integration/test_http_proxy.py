"""The HTTP/1.1 proxy end to end: curl, wrk and raw sockets in sl-client;
Python backends (tests/integration/peers/http_backend.py) in sl-backend."""

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from harness.sluice_env import (BACKEND_NS, CLIENT_NS, PEERS, PY, in_ns, running_gateway,
                                ns_popen, read_line, stop_proc, wait_until,
                                write_config)

GW = "198.18.0.1"


@pytest.fixture(scope="module")
def backends(testbed):
    proc = ns_popen(BACKEND_NS, PY, str(PEERS / "http_backend.py"),
                    "--addr", "198.18.1.2", "--addr", "198.18.1.3",
                    "--addr", "198.18.1.4", "--port", "8080")
    assert (read_line(proc, 15) or "").strip() == "ready"
    yield
    stop_proc(proc)


NGINX_CONF = """
user root;
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  keepalive_requests 100000;
  client_body_temp_path {dir};
  proxy_temp_path {dir};
  fastcgi_temp_path {dir};
  uwsgi_temp_path {dir};
  scgi_temp_path {dir};
  server {{
    listen 198.18.1.6:8080;
    location / {{ return 200 "hello from nginx\\n"; }}
    location /file {{ alias {dir}/file.bin; }}
  }}
}}
"""


@pytest.fixture(scope="module")
def nginx(testbed, tmp_path_factory):
    d = tmp_path_factory.mktemp("nginx")
    (d / "file.bin").write_bytes(bytes(range(256)) * 4096)
    (d / "nginx.conf").write_text(NGINX_CONF.format(dir=d))
    proc = ns_popen(BACKEND_NS, "nginx", "-c", str(d / "nginx.conf"), "-p", str(d))
    ok = wait_until(lambda: in_ns(BACKEND_NS, "ss", "-ltn").stdout.count("198.18.1.6:8080"), 10)
    assert ok, stop_proc(proc)
    yield d
    stop_proc(proc)


@pytest.fixture(scope="module")
def gw(testbed, backends, nginx, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("http")
    cfg = write_config(
        tmp / "http.json",
        tcp={"time_wait_s": 1},
        http={"header_timeout_ms": 1000, "response_timeout_ms": 4000,
              "client_idle_s": 2, "upstream_idle_s": 2},
        access_log={"path": str(tmp / "access.log")},
        pools=[{"name": "app", "backends": [{"address": "198.18.1.2", "port": 8080},
                                            {"address": "198.18.1.3", "port": 8080}]},
               {"name": "api", "backends": [{"address": "198.18.1.4", "port": 8080}]},
               {"name": "dead", "backends": [{"address": "198.18.1.5", "port": 8080}]},
               {"name": "nginx", "backends": [{"address": "198.18.1.6", "port": 8080}]}],
        listeners=[{"name": "web", "address": GW, "port": 80, "mode": "http",
                    "pool": "app",
                    "routes": [{"path_prefix": "/api/", "pool": "api"},
                               {"host": "dead.example", "pool": "dead"},
                               {"host": "*.api.example", "pool": "api"},
                               {"host": "nginx.test", "pool": "nginx"}]},
                   {"name": "strict", "address": GW, "port": 81, "mode": "http",
                    "routes": [{"path_prefix": "/only/", "pool": "app"}]}])
    with running_gateway(cfg, tmp) as g:
        g.access_log = tmp / "access.log"
        yield g


def curl(*args, timeout=60):
    r = in_ns(CLIENT_NS, "curl", "-s", "--max-time", "30", *args,
              check=False, timeout=timeout)
    return r.stdout


def code(*args):
    return curl("-o", "/dev/null", "-w", "%{http_code}", *args)


def raw(payload, port=80, read_timeout=3.0):
    """Send raw bytes, return everything read until close or timeout."""
    prog = ("import socket, sys\n"
            f"s = socket.create_connection(('{GW}', {port}), timeout={read_timeout})\n"
            "s.sendall(sys.stdin.buffer.read())\n"
            "out = b''\n"
            "try:\n"
            "    while True:\n"
            "        d = s.recv(65536)\n"
            "        if not d: break\n"
            "        out += d\n"
            "except OSError:\n"
            "    pass\n"
            "sys.stdout.buffer.write(out)\n")
    r = subprocess.run(["ip", "netns", "exec", CLIENT_NS, PY, "-c", prog],
                       input=payload, capture_output=True, timeout=30)
    return r.stdout


def test_get_and_forwarding_headers(gw):
    out = curl("-H", "X-Custom: Keep Me  Exact", "-H", "Connection: keep-alive, X-Hop",
               "-H", "X-Hop: drop me", f"http://{GW}/headers")
    seen = json.loads(out)
    names = {k.lower(): v for k, v in seen["headers"]}
    assert seen["request_line"] == "GET /headers HTTP/1.1"
    assert names["x-custom"] == "Keep Me  Exact"
    assert names["x-forwarded-for"] == "198.18.0.2"
    assert names["x-forwarded-proto"] == "http"
    assert names["via"] == "1.1 sluice"
    assert names["host"] == GW
    assert "x-request-id" in names
    assert "x-hop" not in names and "connection" not in names


def test_existing_forwarded_for_and_request_id_kept(gw):
    out = curl("-H", "X-Forwarded-For: 203.0.113.9", "-H", "X-Request-Id: abc-123",
               f"http://{GW}/headers")
    names = {k.lower(): v for k, v in json.loads(out)["headers"]}
    assert names["x-forwarded-for"] == "203.0.113.9, 198.18.0.2"
    assert names["x-request-id"] == "abc-123"


def test_routing_by_path_and_host(gw):
    assert curl(f"http://{GW}/api/whoami") == "198.18.1.4"
    assert curl("-H", "Host: v1.api.example", f"http://{GW}/whoami") == "198.18.1.4"
    assert curl(f"http://{GW}/whoami") in ("198.18.1.2", "198.18.1.3")
    assert code(f"http://{GW}:81/elsewhere") == "404"
    assert code(f"http://{GW}:81/only/whoami") == "200"


def test_dead_backend_is_503(gw):
    assert code("-H", "Host: dead.example", f"http://{GW}/") == "503"


def test_backend_reset_is_502_and_hang_is_504(gw):
    assert code(f"http://{GW}/reset") == "502"
    assert code(f"http://{GW}/hang") == "504"


def test_post_and_chunked_uploads_are_exact(gw, tmp_path):
    data = os.urandom(50 * 1000 * 1000)
    f = tmp_path / "body.bin"
    f.write_bytes(data)
    want = hashlib.sha256(data).hexdigest()
    got = json.loads(curl("--data-binary", f"@{f}", f"http://{GW}/hash"))
    assert got == {"sha256": want, "len": len(data)}
    got = json.loads(curl("-H", "Transfer-Encoding: chunked", "--data-binary",
                          f"@{f}", f"http://{GW}/hash"))
    assert got == {"sha256": want, "len": len(data)}


@pytest.mark.parametrize("kind", ["bytes", "chunked", "close"])
def test_downloads_are_exact(gw, kind):
    n = 50 * 1000 * 1000
    prog = ("import hashlib, subprocess, sys\n"
            f"out = subprocess.run(['curl', '-s', '--max-time', '60', 'http://{GW}/{kind}/{n}'],"
            " capture_output=True).stdout\n"
            "print(len(out), hashlib.sha256(out).hexdigest())\n")
    out = in_ns(CLIENT_NS, PY, "-c", prog, timeout=90).stdout.split()
    pattern = (bytes(range(256)) * 64)
    full, rest = divmod(n, len(pattern))
    want = hashlib.sha256(pattern * full + pattern[:rest]).hexdigest()
    assert out == [str(n), want]


def test_expect_100_continue(gw, tmp_path):
    f = tmp_path / "body.bin"
    f.write_bytes(b"z" * 200000)
    out = in_ns(CLIENT_NS, "curl", "-sv", "--max-time", "30", "-H",
                "Expect: 100-continue", "--data-binary", f"@{f}",
                f"http://{GW}/hash", check=False).stderr
    assert "< HTTP/1.1 100 Continue" in out, out
    assert "< HTTP/1.1 200 OK" in out


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(gw, status):
    out = raw(b"GET /status/%d HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /bytes/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % status)
    first, _, rest = out.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 %d" % status)
    # The next response follows at once: no body bytes in between.
    assert rest.startswith(b"HTTP/1.1 200"), rest[:80]
    assert rest.endswith(b"\r\n\r\n" + bytes(range(7)))


def test_http10_client_gets_unchunked_body(gw):
    out = raw(b"GET /chunked/20000 HTTP/1.0\r\nHost: x\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"chunked" not in head.lower() and b"Connection: close" in head
    assert body == (bytes(range(256)) * 79)[:20000]


def test_head_has_no_body(gw):
    out = raw(b"HEAD /bytes/1000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"Content-Length: 1000" in head
    assert body == b""


def test_pipelined_requests_answered_in_order(gw):
    req = b"".join(b"GET /bytes/%d HTTP/1.1\r\nHost: x\r\n\r\n" % n for n in (10, 20, 30))
    req += b"GET /bytes/40 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    out = raw(req)
    lengths = [int(line.split(b":")[1]) for line in out.split(b"\r\n")
               if line.lower().startswith(b"content-length:")]
    assert lengths == [10, 20, 30, 40]


def test_keep_alive_many_requests_one_connection(gw):
    prog = ("import http.client\n"
            f"c = http.client.HTTPConnection('{GW}', 80, timeout=10)\n"
            "ok = 0\n"
            "for i in range(10000):\n"
            "    c.request('GET', '/bytes/100')\n"
            "    r = c.getresponse()\n"
            "    ok += r.status == 200 and len(r.read()) == 100\n"
            "print(ok)\n")
    before = gw.tel.query("/sluice/http")
    assert in_ns(CLIENT_NS, PY, "-c", prog, timeout=240).stdout.strip() == "10000"
    after = gw.tel.query("/sluice/http")
    assert after["client_conns"] == before["client_conns"] + 1
    assert after["upstream_reused"] - before["upstream_reused"] >= 9900


@pytest.mark.parametrize("payload,status", [
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", b"400"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", b"400"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n folded: header\r\n\r\n", b"400"),
    (b"GET / HTTP/1.1\r\n\r\n", b"400"),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", b"505"),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414"),
])
def test_malformed_requests(gw, payload, status):
    out = raw(payload)
    assert out.startswith(b"HTTP/1.1 " + status), out[:200]
    # And the gateway keeps serving.
    assert code(f"http://{GW}/bytes/5") == "200"


CORPUS = sorted((Path(__file__).resolve().parents[1] / "http").glob("*.req"))


def test_malformed_corpus_replayed(gw):
    """Every request of tests/http gets its status from the running gateway,
    which keeps serving afterwards."""
    assert len(CORPUS) >= 40
    prog = r"""
import json, socket, sys
cases = json.load(sys.stdin)
out = {}
for name, hexbytes in cases:
    s = socket.create_connection(('198.18.0.1', 80), timeout=5)
    try:
        s.sendall(bytes.fromhex(hexbytes))
    except OSError:
        pass
    got = b''
    try:
        while b'\r\n' not in got:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except OSError:
        pass
    s.close()
    out[name] = got.split(b'\r\n')[0].decode(errors='replace')
print(json.dumps(out))
"""
    cases = [[p.stem, p.read_bytes().hex()] for p in CORPUS]
    r = subprocess.run(["ip", "netns", "exec", CLIENT_NS, PY, "-c", prog],
                       input=json.dumps(cases), capture_output=True, text=True,
                       timeout=300)
    got = json.loads(r.stdout)
    wrong = {}
    for p in CORPUS:
        want = p.with_suffix(".status").read_text().strip()
        if not got[p.stem].startswith(f"HTTP/1.1 {want} "):
            wrong[p.stem] = (want, got[p.stem])
    assert not wrong, wrong
    assert code(f"http://{GW}/bytes/5") == "200"


def test_slowloris_500_connections_get_408_while_others_are_served(gw):
    prog = r"""
import socket, time, threading, http.client
conns = []
for i in range(500):
    s = socket.create_connection(('198.18.0.1', 80), timeout=10)
    s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ')
    conns.append(s)
# A normal client is served while the 500 dribble.
served = 0
for i in range(20):
    c = http.client.HTTPConnection('198.18.0.1', 80, timeout=5)
    c.request('GET', '/bytes/10')
    served += c.getresponse().status == 200
    c.close()
timeouts = 0
for s in conns:
    try:
        s.sendall(b'a')   # one more dribble: the 408 may already be there
    except OSError:
        pass
deadline = time.time() + 10
for s in conns:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        timeouts += s.recv(64).startswith(b'HTTP/1.1 408')
    except OSError:
        pass
    s.close()
print(served, timeouts)
"""
    before = gw.tel.query("/sluice/http")["err_408"]
    out = in_ns(CLIENT_NS, PY, "-c", prog, timeout=120).stdout.split()
    assert out == ["20", "500"], out
    assert gw.tel.query("/sluice/http")["err_408"] - before == 500


def test_latency_percentiles_in_telemetry(gw):
    for _ in range(20):
        code(f"http://{GW}/api/whoami")
    routes = gw.tel.query("/sluice/routes")
    api = [v for v in routes.values()
           if isinstance(v, dict) and v.get("match") == "*/api/"][0]
    assert api["pool"] == "api" and api["requests"] >= 20
    assert 0 < api["total_p50_us"] <= api["total_p99_us"] <= api["total_max_us"]
    assert api["upstream_p50_us"] <= api["total_p50_us"]
    http = gw.tel.query("/sluice/http")
    assert 0 < http["total_p50_us"] <= http["total_p999_us"]
    be = gw.tel.query("/sluice/backends,api")
    (only,) = [v for v in be.values() if isinstance(v, dict)]
    assert only["address"] == "198.18.1.4:8080" and only["requests"] >= 20
    assert "error" in gw.tel.query("/sluice/backends,nosuchpool")


def test_slow_header_gets_408(gw):
    prog = ("import socket, time\n"
            f"s = socket.create_connection(('{GW}', 80), timeout=5)\n"
            "s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n')\n"
            "out = b''\n"
            "try:\n"
            "    while True:\n"
            "        d = s.recv(4096)\n"
            "        if not d: break\n"
            "        out += d\n"
            "except OSError:\n"
            "    pass\n"
            "print(out.split(b'\\r\\n')[0].decode())\n")
    assert in_ns(CLIENT_NS, PY, "-c", prog).stdout.strip() == "HTTP/1.1 408 Request Timeout"


def test_wrk_load_no_errors_then_drained(gw):
    out = in_ns(CLIENT_NS, "wrk", "-t1", "-c32", "-d3s", f"http://{GW}/bytes/19",
                timeout=60).stdout
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    http = wait_until(lambda: (h := gw.tel.query("/sluice/http"))["inflight"] == 0
                      and h["clients"] == 0 and h, 10)
    assert http, gw.tel.query("/sluice/http")
    tcp = wait_until(lambda: (t := gw.tel.query("/sluice/tcp")["total"])
                     ["l4_active"] == 0 and t, 10)
    assert tcp


def test_nginx_backend_under_wrk(gw, nginx):
    assert curl("-H", "Host: nginx.test", f"http://{GW}/") == "hello from nginx\n"
    size = curl("-H", "Host: nginx.test", "-o", "/dev/null", "-w",
                "%{http_code} %{size_download}", f"http://{GW}/file")
    assert size == f"200 {256 * 4096}"
    out = in_ns(CLIENT_NS, "wrk", "-t1", "-c64", "-d3s", "-H", "Host: nginx.test",
                f"http://{GW}/", timeout=60).stdout
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    assert int(out.split(" requests in ")[0].split()[-1]) > 1000, out


def test_ab_keep_alive(gw):
    out = in_ns(CLIENT_NS, "ab", "-q", "-k", "-n", "2000", "-c", "8",
                f"http://{GW}/bytes/100", timeout=120).stdout
    assert "Complete requests:      2000" in out, out
    assert "Failed requests:        0" in out, out
    assert "Non-2xx responses" not in out, out


def test_access_log_has_http_fields(gw):
    code(f"http://{GW}/api/whoami")
    recs = wait_until(lambda: [json.loads(l) for l in gw.access_log.read_text().splitlines()
                               if '"/api/whoami"' in l], 5)
    assert recs, "no record for /api/whoami"
    r = recs[-1]
    assert r["status"] == 200 and r["backend"] == "198.18.1.4:8080"
    assert r["route"] == 0 and r["term"] == "done"
    assert r["method"] == "GET" and r["path"] == "/api/whoami"
    assert r["bytes_out"] > 0 and r["total_ms"] >= r["upstream_ms"] >= 0


def test_idle_client_and_pooled_backend_connections_are_closed(gw):
    prog = ("import socket, time\n"
            f"s = socket.create_connection(('{GW}', 80), timeout=10)\n"
            "s.sendall(b'GET /bytes/3 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
            "first = b''\n"
            "while not first.endswith(bytes(range(3))):\n"
            "    first += s.recv(4096)\n"
            "t0 = time.time()\n"
            "rest = s.recv(4096)\n"
            "print(first.split(b'\\r\\n')[0].decode(), repr(rest), round(time.time() - t0))\n")
    out = in_ns(CLIENT_NS, PY, "-c", prog, timeout=30).stdout.split()
    # The keep-alive client is closed after client_idle_s (2 s) of silence.
    assert out[:3] == ["HTTP/1.1", "200", "OK"] and out[3] == "b''", out
    assert 1 <= int(out[4]) <= 4, out
    closed = wait_until(lambda: gw.tel.query("/sluice/http")["upstream_idle_closed"] > 0, 5)
    assert closed


def test_tables_and_mbufs_back_to_baseline(gw):
    """Last: every connection of every test above is gone, and the mbufs
    are back (within a burst held by the NIC rings and mempool caches)."""
    tcp = wait_until(lambda: (t := gw.tel.query("/sluice/tcp")["total"])
                     ["conns_active"] == 0 and t, 15)
    assert tcp, gw.tel.query("/sluice/tcp")["total"]
    http = gw.tel.query("/sluice/http")
    assert http["inflight"] == 0 and http["clients"] == 0
    used = wait_until(lambda: abs(gw.tel.query("/sluice/info")["mbufs_in_use"]
                                  - gw.mbuf_baseline) <= 32, 10)
    assert used, (gw.tel.query("/sluice/info")["mbufs_in_use"], gw.mbuf_baseline)
