"""The HTTP proxy against hostile clients and lying backends: what it
rewrites cannot be used to smuggle, routes cannot be bypassed, slow clients
cannot take the exchanges or the buffers, and garbage is refused at once.
Raw sockets in sl-client; http_backend.py and a lying backend in sl-backend."""

import json
import subprocess

import pytest

from harness.sluice_env import (BACKEND_NS, CLIENT_NS, PEERS, PY, NftTable, in_ns,
                                ns_popen, read_line, running_gateway, stop_proc,
                                wait_until, write_config)

GW = "198.18.0.1"
LIAR = "198.18.1.7"

# A lying backend: answers every request with the bytes given for its path.
LIAR_PROG = r"""
import socket, sys, threading
ANSWERS = {
    b"/badchunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    b"/extra": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nevil!",
    b"/switch": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\nConnection: upgrade\r\n\r\nraw bytes",
}
def serve(c):
    data = b""
    c.settimeout(10)
    try:
        while b"\r\n\r\n" not in data:
            d = c.recv(65536)
            if not d:
                return
            data += d
        path = data.split(b" ")[1]
        c.sendall(ANSWERS.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
        c.recv(1)
    except OSError:
        pass
    finally:
        c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080))
s.listen(64)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


@pytest.fixture(scope="module")
def backends(testbed):
    proc = ns_popen(BACKEND_NS, PY, str(PEERS / "http_backend.py"),
                    "--addr", "198.18.1.2", "--addr", "198.18.1.4",
                    "--port", "8080")
    liar = ns_popen(BACKEND_NS, PY, "-c", LIAR_PROG, LIAR)
    assert (read_line(proc, 15) or "").strip() == "ready"
    assert (read_line(liar, 15) or "").strip() == "ready"
    yield
    stop_proc(liar)
    stop_proc(proc)


def conf(path, **http):
    h = {"header_timeout_ms": 8000, "response_timeout_ms": 4000,
         "client_idle_s": 5, "upstream_idle_s": 2}
    h.update(http)
    return write_config(
        path, tcp={"time_wait_s": 1}, http=h,
        pools=[{"name": "app", "backends": [{"address": "198.18.1.2", "port": 8080}]},
               {"name": "api", "backends": [{"address": "198.18.1.4", "port": 8080}]},
               {"name": "liar", "backends": [{"address": LIAR, "port": 8080}]},
               {"name": "blackhole", "connect_timeout_ms": 4000,
                "backends": [{"address": "198.18.1.8", "port": 8080}]}],
        listeners=[{"name": "web", "address": GW, "port": 80, "mode": "http",
                    "pool": "app",
                    "routes": [{"path_prefix": "/api/", "pool": "api"},
                               {"host": "a.example", "pool": "api"},
                               {"host": "liar.example", "pool": "liar"},
                               {"host": "blackhole.example", "pool": "blackhole"}]}])


@pytest.fixture(scope="module")
def gw(testbed, backends, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    # max_inflight is fixed at start: small, so that slow heads holding
    # exchanges (as they did) would starve everyone quickly.
    cfg = conf(tmp / "hostile.json", max_inflight=64)
    with running_gateway(cfg, tmp) as g:
        g.cfg_path = tmp / "hostile.json"
        yield g


def reload_with(g, **http):
    conf(g.cfg_path, max_inflight=64, **http)
    r = g.tel.query("/sluice/reload")
    assert r["result"] in ("applied", "unchanged"), r


def http_stats(g):
    return g.tel.query("/sluice/http")


def raw(payload, read_timeout=3.0, src=None):
    """Send raw bytes from sl-client; everything read until close or timeout,
    and the seconds it took to the first byte."""
    prog = ("import socket, sys, time\n"
            f"s = socket.socket()\n"
            f"s.settimeout({read_timeout})\n"
            + (f"s.bind(('{src}', 0))\n" if src else "") +
            f"s.connect(('{GW}', 80))\n"
            "t0 = time.monotonic()\n"
            "s.sendall(sys.stdin.buffer.read())\n"
            "out = b''\n"
            "first = -1.0\n"
            "try:\n"
            "    while True:\n"
            "        d = s.recv(65536)\n"
            "        if not d: break\n"
            "        if first < 0: first = time.monotonic() - t0\n"
            "        out += d\n"
            "except OSError:\n"
            "    pass\n"
            "sys.stderr.write('%f' % first)\n"
            "sys.stdout.buffer.write(out)\n")
    r = subprocess.run(["ip", "netns", "exec", CLIENT_NS, PY, "-c", prog],
                       input=payload, capture_output=True, timeout=60)
    return r.stdout, float(r.stderr.decode().strip().splitlines()[-1] or -1)


def statuses(out):
    """Status codes of the responses in out, in order."""
    codes, rest = [], out
    while rest.startswith(b"HTTP/1.1 "):
        codes.append(int(rest[9:12]))
        head, _, rest = rest.partition(b"\r\n\r\n")
        n = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v)
        rest = rest[n:]
    return codes


def forwarded(g):
    s = http_stats(g)
    return s["upstream_connects"] + s["upstream_reused"]


SMUGGLED = b"GET /whoami HTTP/1.1\r\nHost: a\r\n\r\n"


@pytest.mark.parametrize("named", ["content-length", "Transfer-Encoding", "host",
                                   "x-forwarded-for", "via", "x-request-id",
                                   "x-forwarded-proto"])
def test_connection_naming_a_field_the_proxy_relies_on_is_400(gw, named):
    before = http_stats(gw)
    if named.lower() == "transfer-encoding":
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)
        framing = b"Transfer-Encoding: chunked\r\n"
    else:
        body = SMUGGLED
        framing = b"Content-Length: %d\r\n" % len(body)
    req = (b"POST /hash HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, "
           + named.encode() + b"\r\n" + framing + b"\r\n" + body)
    out, _ = raw(req)
    assert statuses(out) == [400], out[:300]
    after = http_stats(gw)
    assert after["conn_forbidden"] == before["conn_forbidden"] + 1
    assert after["upstream_connects"] + after["upstream_reused"] == \
        before["upstream_connects"] + before["upstream_reused"]


def test_several_connection_fields_are_one_list(gw):
    # "Connection: x" and "Connection: content-length" must not join into
    # "xcontent-length" and slip past the check.
    req = (b"POST /hash HTTP/1.1\r\nHost: a\r\nConnection: x\r\n"
           b"Connection: content-length\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED)
           + SMUGGLED)
    out, _ = raw(req)
    assert statuses(out) == [400], out[:300]


def test_connection_named_ordinary_field_is_stripped(gw):
    req = (b"GET /headers HTTP/1.1\r\nHost: a\r\nConnection: x-secret\r\n"
           b"X-Secret: 1\r\nX-Kept: 2\r\n\r\n")
    out, _ = raw(req)
    assert statuses(out) == [200]
    names = [k.lower() for k, _ in json.loads(out.partition(b"\r\n\r\n")[2])["headers"]]
    assert "x-secret" not in names and "x-kept" in names


def test_head_grown_past_the_buffer_is_431_never_clipped(gw):
    # Within every limit as sent (8,186-byte request line, 100 fields of at
    # most 16,384 bytes); over the proxy's head buffer once each of the 98
    # X-Forwarded-For fields gets ", 198.18.0.2" appended.
    line = b"GET /" + b"a" * 8170 + b" HTTP/1.1\r\n"
    xff = b"".join(b"X-Forwarded-For: " + b"%03d" % i + b"1" * 144 + b"\r\n"
                   for i in range(98))
    chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)
    req = line + b"Host: a\r\n" + xff + b"Transfer-Encoding: chunked\r\n\r\n" + chunk
    assert len(xff) + 9 + 28 <= 16384
    before = http_stats(gw)
    out, _ = raw(req)
    assert statuses(out) == [431], out[:300]
    after = http_stats(gw)
    assert after["head_overflow"] == before["head_overflow"] + 1
    assert forwarded(gw) == before["upstream_connects"] + before["upstream_reused"]


def whoami(target, host):
    out, _ = raw(b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    assert statuses(out) == [200], out[:300]
    return out.partition(b"\r\n\r\n")[2]


def test_absolute_form_routes_on_its_authority(gw):
    # a.example routes to the api pool (198.18.1.4); the default is 1.2.
    assert whoami(b"http://a.example/whoami", b"b.example") == b"198.18.1.4"
    assert whoami(b"/whoami", b"a.example") == b"198.18.1.4"
    assert whoami(b"/whoami", b"b.example") == b"198.18.1.2"
    assert whoami(b"http://b.example/api/whoami", b"b.example") == b"198.18.1.4"


def test_absolute_form_authority_replaces_host(gw):
    out, _ = raw(b"GET http://a.example/headers?x=1 HTTP/1.1\r\nHost: b.example\r\n\r\n")
    assert statuses(out) == [200]
    got = json.loads(out.partition(b"\r\n\r\n")[2])
    hosts = [v for k, v in got["headers"] if k.lower() == "host"]
    assert hosts == ["a.example"], got
    assert got["request_line"] == "GET /headers?x=1 HTTP/1.1", got


def test_dot_segments_are_removed_before_routing(gw):
    assert whoami(b"/x/../api/whoami", b"b.example") == b"198.18.1.4"
    assert whoami(b"/api/../whoami", b"b.example") == b"198.18.1.2"
    out, _ = raw(b"GET /x/./../api/headers HTTP/1.1\r\nHost: b\r\n\r\n")
    got = json.loads(out.partition(b"\r\n\r\n")[2])
    # What the backend got is what was routed.
    assert got["request_line"] == "GET /api/headers HTTP/1.1", got
    # Encoded dots are not dot-segments: /%2e%2e/api/ is not /api/.
    out, _ = raw(b"GET /%2e%2e/api/whoami HTTP/1.1\r\nHost: b\r\n\r\n")
    assert out.partition(b"\r\n\r\n")[2] != b"198.18.1.4"


def test_connect_is_refused_not_tunnelled(gw):
    before = forwarded(gw)
    out, _ = raw(b"CONNECT 198.18.1.2:8080 HTTP/1.1\r\nHost: 198.18.1.2:8080\r\n\r\n")
    assert statuses(out) == [501], out[:200]
    assert forwarded(gw) == before


def test_tls_client_hello_is_400_at_once(gw):
    hello = bytes.fromhex("16030100c4010000c00303") + bytes(range(14, 46)) * 4
    out, first = raw(hello, read_timeout=12)
    assert statuses(out) == [400], out[:100]
    # The head timeout is 8 s: the answer came from the first byte.
    assert 0 <= first < 2.0, first


def test_invalid_first_byte_is_400_at_once(gw):
    out, first = raw(b"\x00\x01\x02 no crlf here", read_timeout=12)
    assert statuses(out) == [400]
    assert 0 <= first < 2.0, first


def test_malformed_chunk_from_backend_is_502(gw):
    out, _ = raw(b"GET /badchunk HTTP/1.1\r\nHost: liar.example\r\n\r\n")
    assert statuses(out) == [502], out[:300]


def test_unasked_101_from_backend_is_502(gw):
    out, _ = raw(b"GET /switch HTTP/1.1\r\nHost: liar.example\r\n\r\n")
    assert statuses(out) == [502], out[:300]
    assert b"raw bytes" not in out


@pytest.mark.parametrize("request_bytes,status", [
    # No Host in HTTP/1.1: refused once the head is parsed.
    (b"HEAD / HTTP/1.1\r\n\r\n", 400),
    # A target the parser refuses on the request line, before it has the
    # method (found by fuzz_proxy): the HEAD is known from the bytes.
    (b"HEAD x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    # Refused by the head scan, before any exchange exists.
    (b"\r\nHEAD /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
], ids=["no_host", "bad_target", "line_too_long"])
def test_gateway_error_to_head_has_no_body(gw, request_bytes, status):
    out, _ = raw(request_bytes)
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status), out[:200]
    assert body == b"", out[:200]


@pytest.mark.parametrize("partial,length", [
    # The head timeout fires before the method is known (found by
    # fuzz_proxy: "HEAD" one byte every 300 ms): the 408 neither has a
    # body nor promises one, which reads right whatever the method is.
    (b"HEA", b"0"),
    # Known not to be HEAD: the 408 keeps its text.
    (b"GET / HT", b"16"),
], ids=["maybe_head", "get"])
def test_head_timeout_before_the_method_is_known(gw, partial, length):
    out, first = raw(partial, read_timeout=20)
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), out[:200]
    assert b"\r\nContent-Length: " + length + b"\r\n" in head + b"\r\n", out[:200]
    assert len(body) == int(length), out[:200]


def test_bytes_after_a_backend_response_never_reach_the_client(gw):
    out, _ = raw(b"GET /extra HTTP/1.1\r\nHost: liar.example\r\n\r\n"
                 b"GET /extra HTTP/1.1\r\nHost: liar.example\r\n\r\n", read_timeout=4)
    assert b"evil" not in out, out
    assert statuses(out)[0] == 200


def slow(count, src, hold, stagger_ms=0, head=None):
    args = [PY, str(PEERS / "slow_clients.py"), "--addr", GW, "--port", "80",
            "--src", src, "--count", str(count), "--hold", str(hold),
            "--stagger-ms", str(stagger_ms)]
    if head is not None:
        args += ["--head", head]
    p = ns_popen(CLIENT_NS, *args)
    assert (read_line(p, 90) or "").strip() == "open", stop_proc(p)
    return p


def slow_result(p):
    try:
        o, _ = p.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        stop_proc(p)
        raise
    return json.loads(o.strip().splitlines()[-1])


def curl_codes(n, src="198.18.0.2"):
    r = in_ns(CLIENT_NS, "sh", "-c",
              f"for i in $(seq {n}); do curl -s -o /dev/null -w '%{{http_code}}\\n' "
              f"--max-time 5 --interface {src} http://{GW}/whoami; done",
              check=False, timeout=300)
    return r.stdout.split()


def back_to_baseline(g):
    def ok():
        i = g.tel.query("/sluice/info")
        return i["mbufs_in_use"] <= g.mbuf_baseline + 64 and \
            http_stats(g)["clients"] == 0
    return wait_until(ok, 20)


def test_slow_heads_take_no_exchange(gw):
    reload_with(gw)
    # 300 unfinished heads against 64 exchanges: before, every one held an
    # exchange from its first byte and normal clients got 503.
    p = slow(300, "198.18.0.5", hold=12)
    codes = curl_codes(60)
    res = slow_result(p)
    assert res["opened"] == 300 and res["failed"] == 0, res
    assert codes == ["200"] * 60, codes
    assert back_to_baseline(gw)


def test_oldest_slow_heads_close_first_when_buffers_run_short(gw):
    reload_with(gw, slow_head_mbufs=60)
    before = http_stats(gw)["slow_heads_evicted"]
    p = slow(150, "198.18.0.6", hold=8, stagger_ms=5)
    codes = curl_codes(20)
    res = slow_result(p)
    evicted = http_stats(gw)["slow_heads_evicted"] - before
    assert codes == ["200"] * 20, codes
    assert evicted >= 150 - 60 - 5, (evicted, res)
    assert res["status"].get("408", 0) >= 150 - 60 - 5, res
    # Oldest first: the first ones opened are the ones closed.
    early = set(res["closed_order"][: 80])
    assert early <= set(range(100)), res["closed_order"][:80]
    assert back_to_baseline(gw)


def test_slow_heads_per_client_address_are_capped(gw):
    reload_with(gw, max_slow_heads_per_client=40)
    before = http_stats(gw)["slow_heads_per_client"]
    p = slow(100, "198.18.0.7", hold=6, stagger_ms=3)
    # Another address is not affected by the first one's share.
    q = slow(30, "198.18.0.8", hold=6)
    codes = curl_codes(10)
    res, res2 = slow_result(p), slow_result(q)
    capped = http_stats(gw)["slow_heads_per_client"] - before
    assert capped == 60, (capped, res)
    assert res["status"].get("408", 0) == 60, res
    assert res2["status"].get("408", 0) == 0, res2
    assert codes == ["200"] * 10, codes
    assert back_to_baseline(gw)


def test_head_timeout_still_408(gw):
    reload_with(gw, header_timeout_ms=1500)
    out, first = raw(b"GET / HTTP/1.1\r\nHost: a\r\n", read_timeout=6)
    assert statuses(out) == [408]
    assert 1.0 < first < 4.0, first
    reload_with(gw)


def test_slow_head_the_client_gives_up_is_released_at_once(gw):
    reload_with(gw)
    p = slow(200, "198.18.0.9", hold=1)
    res = slow_result(p)
    assert res["opened"] == 200 and res["closed"] == 0, res
    # Their FINs came with the head unfinished: nothing waits for the 8 s
    # head timeout.
    assert wait_until(lambda: http_stats(gw)["clients"] == 0, 3), http_stats(gw)
    assert back_to_baseline(gw)


def test_body_for_a_backend_still_connecting_is_bounded(gw):
    # The backend never answers SYN: before, the whole body the client sent
    # meanwhile was copied into the exchange's queue (up to max_body).
    reload_with(gw)
    prog = ("import socket, time\n"
            f"s = socket.create_connection(('{GW}', 80))\n"
            "s.sendall(b'POST /hash HTTP/1.1\\r\\nHost: blackhole.example\\r\\n'\n"
            "          b'Content-Length: 8000000\\r\\n\\r\\n')\n"
            "s.settimeout(0.2)\n"
            "end = time.monotonic() + 2.5\n"
            "sent = 0\n"
            "while time.monotonic() < end:\n"
            "    try:\n"
            "        sent += s.send(b'x' * 65536)\n"
            "    except socket.timeout:\n"
            "        pass\n"
            "print(sent, flush=True)\n"
            "time.sleep(2)\n")
    with NftTable(BACKEND_NS, "sl_blackhole",
                  "chain in { type filter hook input priority 0; "
                  "ip daddr 198.18.1.8 tcp dport 8080 drop; }"):
        p = ns_popen(CLIENT_NS, PY, "-c", prog)
        sent = int((read_line(p, 20) or "0").strip())
        held = gw.tel.query("/sluice/info")["mbufs_in_use"] - gw.mbuf_baseline
        stop_proc(p)
    # The client's window plus one send buffer, not the megabytes it sent
    # (its kernel buffered the rest).
    assert sent > 500_000, sent
    assert held < 400, (held, sent)
    assert back_to_baseline(gw)
