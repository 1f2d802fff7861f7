"""Request smuggling, differentially: hostile requests go through the
gateway's HTTP listeners to backends whose parsers are not ours (Python's
http.server, nginx, HAProxy; tests/integration/peers/), and each backend's
record of what it parsed must match what the gateway accepted.

For every case the gateway's answers on the client connection say which
requests it accepted (the responses that came from the backend, told by
X-Peer) and which it refused (its own error responses). The backend must
have read exactly the accepted requests, in order, each with the method,
target and body the gateway meant, received on the pool the gateway routed
it to, with Host, X-Forwarded-For (client address last), Via and
X-Request-Id as the gateway sets them; and it must have read nothing else:
no request smuggled in a body, no request its own parser refused. The only
thing allowed beyond that is one request cut short, when the gateway
refused a request whose head it had already forwarded (a bad chunk).

Cases: the corpus tests/http/*.req (each refused with its .status) and the
cases below. One gateway, one of each backend, one client run per backend
for the whole module; one test per (backend, case).
"""

import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from peers.recording import HaproxyPeer, NginxPeer, PythonPeer
from harness.sluice_env import CLIENT_NS, PEERS, PY, running_gateway, write_config

GW = "198.18.0.1"
# Backend kind -> (its address in sl-backend, the gateway port it is behind).
KINDS = {"python": ("198.18.1.2", 80), "nginx": ("198.18.1.3", 81),
         "haproxy": ("198.18.1.4", 82)}
# Each kind listens on one port per pool; the port a request arrived on
# says where the gateway routed it.
POOL_PORT = {"default": 8080, "a": 8081, "b": 8082, "api": 8083}
ORIGIN_PORT = {"nginx": 19081, "haproxy": 19080}

CORPUS = sorted((Path(__file__).resolve().parents[1] / "http").glob("*.req"))


@dataclass(frozen=True)
class Req:
    """A request as the backend must read it. target and host may be a
    tuple of acceptable values; host None skips the Host check."""
    method: str
    target: object
    body: bytes = b""
    pool: str = "default"
    host: object = "x"
    xff_count: int = None


@dataclass(frozen=True)
class Case:
    """outcomes: the acceptable ones, each a list of (status, Req) per
    response on the client connection, Req None for the gateway's own.
    split: offsets where data is cut into separately sent parts."""
    name: str
    data: bytes
    outcomes: tuple
    split: tuple = ()

    def parts(self):
        cuts = (0, *self.split, len(self.data))
        return [self.data[a:b] for a, b in zip(cuts, cuts[1:])]


def http(*lines, body=b"", eol=b"\r\n"):
    head = eol.join(ln.encode("latin-1") if isinstance(ln, str) else ln for ln in lines)
    return head + eol + eol + body


def chunked(*chunks):
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


def refused(status=400):
    return [(status, None)]


# A complete request hidden in a body: the backend must never read it.
INNER = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
GET_B = http("GET /b HTTP/1.1", "Host: x", "Connection: close")
R_B = Req("GET", "/b")


def connection_cases():
    """Connection naming a field the framing or the gateway depends on:
    refused, or the token ignored for that field (RFC 9110 7.6.1 lets a
    proxy keep fields it must understand)."""
    def c(name, data, req):
        return Case(name, data, (refused(), [(200, req)]))
    return [
        c("conn_content_length",
          http("POST /a HTTP/1.1", "Host: x", "Connection: content-length",
               f"Content-Length: {len(INNER)}", body=INNER), Req("POST", "/a", INNER)),
        c("conn_content_length_in_list",
          http("POST /a HTTP/1.1", "Host: x", "Connection: keep-alive, Content-Length",
               f"Content-Length: {len(INNER)}", body=INNER), Req("POST", "/a", INNER)),
        c("conn_transfer_encoding",
          http("POST /a HTTP/1.1", "Host: x", "Connection: transfer-encoding",
               "Transfer-Encoding: chunked", body=chunked(INNER)), Req("POST", "/a", INNER)),
        c("conn_host",
          http("GET /a HTTP/1.1", "Host: x", "Connection: host"), Req("GET", "/a")),
        c("conn_x_forwarded_for",
          http("GET /a HTTP/1.1", "Host: x", "X-Forwarded-For: 203.0.113.7",
               "Connection: x-forwarded-for"), Req("GET", "/a")),
        c("conn_via",
          http("GET /a HTTP/1.1", "Host: x", "Via: 1.0 fred", "Connection: via"),
          Req("GET", "/a")),
        c("conn_x_request_id",
          http("GET /a HTTP/1.1", "Host: x", "X-Request-Id: client-chosen-1",
               "Connection: x-request-id"), Req("GET", "/a")),
        c("conn_all_added_fields",
          http("GET /a HTTP/1.1", "Host: x", "X-Forwarded-For: 203.0.113.7",
               "Via: 1.0 fred", "X-Request-Id: r-1",
               "Connection: x-forwarded-for, via, x-request-id"), Req("GET", "/a")),
    ]


def truncation_cases():
    """A head that fills the parser's limits (8 KiB request line, 16 KiB of
    fields), n X-Forwarded-For fields that each grow by ', <client>' at the
    gateway, and Transfer-Encoding: chunked, which the gateway writes after
    them: a head cut to fit a buffer loses its framing, and the chunk data,
    a request, would be read as the next one. Within the limits: 431, or
    forwarded whole. Beyond 100 fields: 431."""
    out = []
    for n in (62, 75, 85, 97, 120, 200):
        target = "/t/" + "a" * (8190 - len("POST /t/ HTTP/1.1\r\n"))
        fixed = ["Host: x", "Transfer-Encoding: chunked"]
        room = 16370 - sum(len(f) + 2 for f in fixed)
        size = max(len("X-Forwarded-For: ") + 8, room // n) - 2
        xff = [("X-Forwarded-For: 10.0.0.1, " + "b" * size)[:size] for _ in range(n)]
        data = http(f"POST {target} HTTP/1.1", *fixed, *xff, body=chunked(INNER))
        outcomes = [refused(431)]
        if n + len(fixed) <= 100:
            outcomes.append([(200, Req("POST", target, INNER, xff_count=n))])
        out.append(Case(f"head_truncation_{n}_xff", data, tuple(outcomes)))
    return out


def absolute_form_cases():
    """RFC 9112 3.2.2: the target's authority replaces Host, for routing
    and at the backend; origin-form or absolute-form may be forwarded."""
    return [
        Case("absolute_form_host_differs",
             http("GET http://a.example/x HTTP/1.1", "Host: b.example", "Connection: close"),
             ([(200, Req("GET", ("/x", "http://a.example/x"), pool="a",
                         host="a.example"))],)),
        Case("absolute_form_with_port",
             http("GET http://a.example:8080/x HTTP/1.1", "Host: b.example",
                  "Connection: close"),
             ([(200, Req("GET", ("/x", "http://a.example:8080/x"), pool="a",
                         host=("a.example", "a.example:8080")))],)),
        Case("absolute_form_same_host",
             http("GET http://a.example/y HTTP/1.1", "Host: a.example", "Connection: close"),
             ([(200, Req("GET", ("/y", "http://a.example/y"), pool="a",
                         host="a.example"))],)),
        Case("absolute_form_routes_by_its_path",
             http("GET http://c.example/api/x HTTP/1.1", "Host: a.example",
                  "Connection: close"),
             ([(200, Req("GET", ("/api/x", "http://c.example/api/x"), pool="api",
                         host="c.example"))],)),
    ]


def path_cases():
    """Dot-segments are removed before routing (RFC 3986 5.2.4) and the
    backend gets the path that was routed; %2F and %2E stay data, never
    separators: routed as they are, or refused."""
    def get(target):
        return http(f"GET {target} HTTP/1.1", "Host: x", "Connection: close")

    def routed(name, target, want, pool, also_refused=False):
        outcomes = [[(200, Req("GET", want, pool=pool))]]
        if also_refused:
            outcomes.append(refused())
        return Case(name, get(target), tuple(outcomes))
    return [
        routed("dot_dot_into_api", "/x/../api/x", "/api/x", "api"),
        routed("dot_dot_out_of_api", "/api/../x", "/x", "default"),
        routed("single_dot_segment", "/./api/x", "/api/x", "api"),
        routed("dot_dot_in_the_middle", "/api/v/../x", "/api/x", "api"),
        routed("dot_dot_above_root", "/../api/x", "/api/x", "api", also_refused=True),
        routed("dot_dot_query_untouched", "/x/../api/x?a=/../b", "/api/x?a=/../b", "api"),
        routed("encoded_slash", "/api%2Fx", "/api%2Fx", "default", also_refused=True),
        routed("encoded_dot_dot", "/x/%2E%2E/api/x", "/x/%2E%2E/api/x", "default",
               also_refused=True),
        routed("encoded_dot_dot_lower", "/x/%2e%2e/api/x", "/x/%2e%2e/api/x", "default",
               also_refused=True),
        routed("dot_dot_then_encoded_slash", "/x/..%2Fapi/x", "/x/..%2Fapi/x", "default",
               also_refused=True),
    ]


def framing_cases():
    """Pipelining, bodies that look like requests, chunk extensions and
    trailers, obs-fold, bare CR and LF."""
    many = [bytes((i * 7 + j) % 256 for j in range(n)) for i, n in
            enumerate((1, 10, 4096, 20000))]
    te_hello = ("POST /a HTTP/1.1", "Host: x", "Transfer-Encoding: chunked")
    hello = Req("POST", "/a", b"hello")
    return [
        Case("plain_get", http("GET /plain HTTP/1.1", "Host: x", "Connection: close"),
             ([(200, Req("GET", "/plain"))],)),
        Case("post_content_length",
             http("POST /cl HTTP/1.1", "Host: x", "Content-Length: 5", "Connection: close",
                  body=b"hello"), ([(200, Req("POST", "/cl", b"hello"))],)),
        Case("get_with_body",
             http("GET /g HTTP/1.1", "Host: x", "Content-Length: 5", "Connection: close",
                  body=b"hello"), ([(200, Req("GET", "/g", b"hello"))],)),
        Case("cl_body_holds_a_request",
             http("POST /a HTTP/1.1", "Host: x", f"Content-Length: {len(INNER)}",
                  body=INNER) + GET_B,
             ([(200, Req("POST", "/a", INNER)), (200, R_B)],)),
        Case("cl_zero_then_request",
             http("POST /a HTTP/1.1", "Host: x", "Content-Length: 0") + GET_B,
             ([(200, Req("POST", "/a")), (200, R_B)],)),
        Case("chunked_body_holds_a_request",
             http(*te_hello, body=chunked(INNER)) + GET_B,
             ([(200, Req("POST", "/a", INNER)), (200, R_B)],)),
        Case("chunked_empty_then_request", http(*te_hello, body=b"0\r\n\r\n") + GET_B,
             ([(200, Req("POST", "/a")), (200, R_B)],)),
        Case("chunked_many_chunks", http(*te_hello, body=chunked(*many)) + GET_B,
             ([(200, Req("POST", "/a", b"".join(many))), (200, R_B)],)),
        Case("chunk_extensions",
             http(*te_hello, body=b'5;name=value\r\nhello\r\n6;q="x y";z\r\n world\r\n'
                  b"0;last=1\r\n\r\n") + GET_B,
             ([(200, Req("POST", "/a", b"hello world")), (200, R_B)],)),
        Case("chunked_trailers",
             http(*te_hello, body=b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\nX-Other: two\r\n\r\n")
             + GET_B, ([(200, hello), (200, R_B)],)),
        Case("chunk_size_leading_zeros",
             http(*te_hello, body=b"0005\r\nhello\r\n000\r\n\r\n") + GET_B,
             ([(200, hello), (200, R_B)],)),
        Case("chunk_size_upper_hex",
             http(*te_hello, body=b"A\r\n0123456789\r\n0\r\n\r\n") + GET_B,
             ([(200, Req("POST", "/a", b"0123456789")), (200, R_B)],)),
        Case("pipelined_three",
             http("GET /p1 HTTP/1.1", "Host: x")
             + http("POST /p2 HTTP/1.1", "Host: x", "Content-Length: 3", body=b"abc")
             + http("GET /p3 HTTP/1.1", "Host: x", "Connection: close"),
             ([(200, Req("GET", "/p1")), (200, Req("POST", "/p2", b"abc")),
               (200, Req("GET", "/p3"))],)),
        Case("pipelined_crlf_between",
             http("GET /a HTTP/1.1", "Host: x") + b"\r\n" + GET_B,
             ([(200, Req("GET", "/a")), (200, R_B)],
              [(200, Req("GET", "/a")), (400, None)])),
        Case("pipelined_bare_lf_between",
             http("GET /a HTTP/1.1", "Host: x") + b"\n" + GET_B,
             ([(200, Req("GET", "/a")), (200, R_B)],
              [(200, Req("GET", "/a")), (400, None)])),
        Case("request_then_garbage",
             http("GET /a HTTP/1.1", "Host: x") + b"GARBAGE\r\n\r\n",
             ([(200, Req("GET", "/a")), (400, None)], [(200, Req("GET", "/a"))])),
        Case("request_then_binary_garbage",
             http("GET /a HTTP/1.1", "Host: x") + b"\x00\x01\xff\xfe\r\n\r\n",
             ([(200, Req("GET", "/a")), (400, None)], [(200, Req("GET", "/a"))])),
        Case("body_with_bare_cr_and_lf",
             http("POST /a HTTP/1.1", "Host: x", "Content-Length: 12", "Connection: close",
                  body=b"a\rb\nc\r\n\r\nd\n\n"),
             ([(200, Req("POST", "/a", b"a\rb\nc\r\n\r\nd\n\n"))],)),
        Case("obs_fold_hides_content_length",
             http("POST /a HTTP/1.1", "Host: x", "X-A: b",
                  f" Content-Length: {len(INNER)}", body=INNER),
             (refused(), [(200, Req("POST", "/a")), (200, Req("GET", "/smuggled"))])),
        Case("obs_fold_transfer_encoding_value",
             http("POST /a HTTP/1.1", "Host: x", "Transfer-Encoding:", " chunked",
                  "Connection: close", body=chunked(b"hello")),
             (refused(), [(200, hello)])),
        Case("obs_fold_tab",
             http("GET /a HTTP/1.1", "Host: x", "X-A: 1", "\t2", "Connection: close"),
             (refused(), [(200, Req("GET", "/a"))])),
        Case("bare_lf_everywhere",
             http("GET /a HTTP/1.1", "Host: x", "Connection: close", eol=b"\n"),
             (refused(), [(200, Req("GET", "/a"))])),
        Case("bare_lf_in_trailer",
             http(*te_hello, "Connection: close", body=b"5\r\nhello\r\n0\r\nX-T: 1\n\r\n"),
             (refused(), [(200, hello)])),
        Case("bare_lf_after_last_chunk",
             http(*te_hello, "Connection: close", body=b"5\r\nhello\r\n0\n\n"),
             (refused(), [(200, hello)])),
        Case("bare_cr_after_chunk_size",
             http(*te_hello, "Connection: close", body=b"5\rhello\r\n0\r\n\r\n"),
             (refused(),)),
        Case("bare_cr_in_chunk_extension",
             http(*te_hello, "Connection: close", body=b"5;a=b\rc\r\nhello\r\n0\r\n\r\n"),
             (refused(),)),
    ]


def more_cases():
    """Edges of framing and routing that a lax or a strict parser may each
    take its own way."""
    return [
        Case("cl_leading_zeros",
             http("POST /a HTTP/1.1", "Host: x", "Content-Length: 005", "Connection: close",
                  body=b"hello"), ([(200, Req("POST", "/a", b"hello"))], refused())),
        Case("trailer_named_content_length",
             http("POST /a HTTP/1.1", "Host: x", "Transfer-Encoding: chunked",
                  body=b"5\r\nhello\r\n0\r\nContent-Length: 40\r\n\r\n") + GET_B,
             ([(200, Req("POST", "/a", b"hello")), (200, R_B)], refused())),
        Case("host_upper_case",
             http("GET /h HTTP/1.1", "Host: A.EXAMPLE", "Connection: close"),
             ([(200, Req("GET", "/h", pool="a", host="a.example"))],)),
        Case("host_with_port",
             http("GET /h HTTP/1.1", "Host: a.example:80", "Connection: close"),
             ([(200, Req("GET", "/h", pool="a", host="a.example:80"))],)),
        Case("absolute_form_userinfo",
             http("GET http://u@a.example/x HTTP/1.1", "Host: b.example", "Connection: close"),
             (refused(), [(200, Req("GET", ("/x", "http://u@a.example/x", "http://a.example/x"),
                                    pool="a", host="a.example"))])),
    ]


def split_cases(cases):
    """Some cases again, cut into parts sent apart: where a part ends must
    not change what the gateway accepts. A cut is an offset, or the
    position of a byte string (before it)."""
    by_name = {c.name: c for c in cases}
    cuts = {
        "conn_content_length": [b"\r\n\r\n", b"GET /smuggled"],
        "head_truncation_85_xff": [4000, 12000, b"\r\n\r\n", b"23\r\n"],
        "cl_body_holds_a_request": [b"GET /smuggled", b"GET /b"],
        "chunked_body_holds_a_request": [b"\r\nGET /smuggled", b"smuggled", b"\r\n0\r\n\r\n"],
        "chunk_extensions": [b"=value", b"x y", b"0;last"],
        "pipelined_three": [b"\r\n\r\nPOST", b"abc"],
        "obs_fold_hides_content_length": [b" Content-Length"],
        "chunked_trailers": [b"X-Trailer", b"\r\n\r\nGET /b"],
    }
    out = []
    for name, marks in cuts.items():
        c = by_name[name]
        offs = sorted(m if isinstance(m, int) else c.data.index(m) for m in marks)
        out.append(Case(name + "_split", c.data, c.outcomes, tuple(offs)))
    return out


def corpus_cases():
    return [Case(p.stem, p.read_bytes(),
                 (refused(int(p.with_suffix(".status").read_text())),))
            for p in CORPUS]


CASES = (corpus_cases() + connection_cases() + truncation_cases()
         + absolute_form_cases() + path_cases() + framing_cases() + more_cases())
CASES += split_cases(CASES)


# ---- running it ---------------------------------------------------------

def gateway_config(path, log):
    off = {"breaker": {"consecutive_failures": 0, "error_rate_pct": 0},
           "outlier": {"consecutive_5xx": 0, "consecutive_gateway": 0,
                       "success_rate_min_hosts": 0},
           # A replayed request would be read twice: one try only.
           "retry": {"attempts": 0}}
    pools, listeners = [], []
    for kind, (addr, port) in KINDS.items():
        for pool, bport in POOL_PORT.items():
            pools.append({"name": f"{kind}-{pool}", **off,
                          "backends": [{"address": addr, "port": bport}]})
        listeners.append({"name": kind, "address": GW, "port": port, "mode": "http",
                          "pool": f"{kind}-default",
                          "routes": [{"host": "a.example", "pool": f"{kind}-a"},
                                     {"host": "b.example", "pool": f"{kind}-b"},
                                     {"path_prefix": "/api/", "pool": f"{kind}-api"}]})
    return write_config(path, tcp={"time_wait_s": 1},
                        http={"header_timeout_ms": 1000, "response_timeout_ms": 3000,
                              "client_idle_s": 2, "upstream_idle_s": 2},
                        access_log={"path": str(log)}, pools=pools, listeners=listeners)


def run_client(kind):
    job = {"gw": GW, "port": KINDS[kind][1], "grace": 0.05, "idle": 2.0,
           "linger": 0.15,
           "cases": [{"name": c.name, "parts": [p.hex() for p in c.parts()],
                      "responses": max(len(o) for o in c.outcomes)} for c in CASES]}
    r = subprocess.run(["ip", "netns", "exec", CLIENT_NS, PY,
                        str(PEERS / "raw_client.py")],
                       input=json.dumps(job), capture_output=True, text=True, timeout=170)
    if r.returncode != 0:
        raise RuntimeError(f"raw_client for {kind} failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout)["cases"]


MARK = re.compile(r"^/__mark__/(\d+)/(\d+)$")


def split_by_markers(records, n):
    """Each case's records: those after the previous case's last marker,
    up to its own last marker (markers left out)."""
    last = {}
    for i, r in enumerate(records):
        m = MARK.match(r.get("target") or "")
        if m:
            last[int(m.group(1))] = i
    out, start = [], 0
    for case in range(n):
        end = last.get(case)
        if end is None:
            out.append(None)      # no marker reached the backend
            continue
        out.append([r for r in records[start:end]
                    if not MARK.match(r.get("target") or "")])
        start = end + 1
    return out


@pytest.fixture(scope="module")
def differential(testbed, tmp_path_factory):
    """Runs every case through the gateway to every backend once; gives
    {kind: [(client result, backend records) per case]}."""
    tmp = tmp_path_factory.mktemp("smuggle")
    peers = []
    try:
        for kind, (addr, _) in KINDS.items():
            d = tmp / kind
            d.mkdir()
            ports = list(POOL_PORT.values())
            peer = (PythonPeer(d, addr, ports) if kind == "python" else
                    NginxPeer(d, addr, ports, ORIGIN_PORT[kind]) if kind == "nginx" else
                    HaproxyPeer(d, addr, ports, ORIGIN_PORT[kind]))
            peers.append(peer)
            peer.start()
        cfg = gateway_config(tmp / "sluice.json", tmp / "access.log")
        with running_gateway(cfg, tmp) as g:
            results, errors = {}, []

            def drive(kind):
                try:
                    results[kind] = run_client(kind)
                except Exception as e:     # reported below, in the test thread
                    errors.append(f"{kind}: {e}")
            threads = [threading.Thread(target=drive, args=(k,)) for k in KINDS]
            for t in threads:
                t.start()
            for t in threads:
                t.join(180)
            assert not errors, errors
            time.sleep(0.5)   # the last log lines
            out = {}
            for peer in peers:
                segs = split_by_markers(peer.records(), len(CASES))
                out[peer.name] = list(zip(results[peer.name], segs))
            out["gateway_alive"] = g.proc.poll() is None
        write_summary(tmp / "summary.txt", out)
        yield out
    finally:
        for peer in peers:
            peer.stop()


def write_summary(path, out):
    """One line per backend and case (what the gateway answered, what the
    backend read), for reading a run at a glance."""
    lines = []
    for kind in KINDS:
        for client, records in out[kind]:
            seen = " ".join(f"{r['kind']}:{r['method']}:{(r['target'] or '')[:40]}"
                            for r in records or [])
            lines.append(f"{kind:8} {client['name']:40} "
                         f"{[r['status'] for r in client['responses']]} {seen}")
    Path(path).write_text("\n".join(lines) + "\n")


# ---- judging ------------------------------------------------------------

def one_of(value, allowed):
    return value in (allowed if isinstance(allowed, tuple) else (allowed,))


def field_values(rec, name):
    return [v for k, v in rec["fields"] or [] if k == name]


def check_request(rec, want, client_ip):
    """What is wrong with the backend's record rec of the accepted want."""
    p = []
    if rec["method"] != want.method:
        p.append(f"method {rec['method']!r}, want {want.method!r}")
    if not one_of(rec["target"], want.target):
        p.append(f"target {rec['target']!r}, want {want.target!r}")
    if rec["body"] != want.body:
        p.append(f"body {rec['body']!r:.120}, want {want.body!r:.120}")
    if rec["port"] != POOL_PORT[want.pool]:
        p.append(f"reached port {rec['port']}, want pool {want.pool} ({POOL_PORT[want.pool]})")
    hosts = field_values(rec, "host")
    if want.host is not None and (len(hosts) != 1 or
                                  not one_of(hosts[0].lower(), want.host)):
        p.append(f"Host {hosts}, want {want.host!r}")
    xff = field_values(rec, "x-forwarded-for")
    chain = [e.strip() for v in xff for e in v.split(",")]
    if not chain or chain[-1] != client_ip:
        p.append(f"X-Forwarded-For {xff}, want {client_ip} last")
    if want.xff_count is not None and (
            len(xff) != want.xff_count or
            any(not v.endswith(", " + client_ip) for v in xff)):
        p.append(f"{len(xff)} X-Forwarded-For fields, want {want.xff_count} "
                 f"each ending in {client_ip}")
    if not any("sluice" in v for v in field_values(rec, "via")):
        p.append(f"Via {field_values(rec, 'via')}, want the gateway's")
    if not any(v.strip() for v in field_values(rec, "x-request-id")):
        p.append("no X-Request-Id")
    return p


def check_outcome(kind, outcome, client, records):
    p = []
    got = [r["status"] for r in client["responses"]]
    want = [s for s, _ in outcome]
    if got != want:
        p.append(f"gateway answered {got}, want {want}")
    for i, ((_, req), resp) in enumerate(zip(outcome, client["responses"])):
        if req is None and resp["peer"]:
            p.append(f"response {i} came from the backend, want the gateway's own")
        if req is not None:
            targets = req.target if isinstance(req.target, tuple) else (req.target,)
            if resp["peer"] != kind:
                p.append(f"response {i} is not the backend's")
            elif resp["peer_target"] not in [t[:200] for t in targets]:
                p.append(f"response {i} answers {resp['peer_target']!r:.100}, "
                         f"want {req.target!r:.100}")
    if client.get("extra"):
        p.append(f"bytes after the responses: {client['extra']!r:.80}")
    accepted = [req for _, req in outcome if req is not None]
    complete = [r for r in records if r["kind"] == "complete"]
    if len(complete) != len(accepted):
        p.append(f"backend read {len(complete)} requests, gateway accepted {len(accepted)}")
    for i, (rec, req) in enumerate(zip(complete, accepted)):
        p += [f"request {i}: {e}" for e in check_request(rec, req, client["client"][0])]
    for r in records:
        if r["kind"] == "rejected":
            p.append(f"backend refused what it was sent: {r['why']}")
    cut = [r for r in records if r["kind"] == "aborted"]
    if cut and (len(cut) > 1 or all(req is not None for _, req in outcome)):
        p.append(f"backend saw {len(cut)} request(s) cut short")
    return p


def desynced(client):
    """The markers after the case that got some other request's answer."""
    return [m for m in client["markers"]
            if not (m["status"] == 200 and m["peer_target"] == m["path"])]


def describe(client, records):
    lines = [f"client {client.get('client')} ended {client['end']}:"]
    for r in client["responses"]:
        lines.append(f"  answer {r['status']} peer={r['peer']} "
                     f"peer_target={(r['peer_target'] or '')[:100]!r}")
    for m in desynced(client):
        lines.append(f"  marker {m['path']} got {m['status']} for "
                     f"{(m['peer_target'] or '')[:100]!r} (desync)")
    lines.append("backend read:")
    for r in records:
        lines.append(f"  {r['kind']} {r['method']} {(r['target'] or '')[:100]!r} "
                     f"body={r['body']!r:.100} port={r['port']} {r.get('why') or ''}")
    if not records:
        lines.append("  nothing")
    return "\n".join(lines)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("kind", list(KINDS))
def test_backend_read_what_the_gateway_accepted(differential, kind, case):
    i = CASES.index(case)
    client, records = differential[kind][i]
    assert client["name"] == case.name
    assert records is not None, f"no marker of case {case.name} reached the {kind} backend"
    problems = []
    desync = desynced(client)
    if desync:
        problems.append(f"{len(desync)} marker request(s) after the case, on fresh "
                        "connections, did not get their own answer from the backend")
    verdicts = [check_outcome(kind, o, client, records) for o in case.outcomes]
    if not desync and any(not v for v in verdicts):
        return
    problems += [f"outcome {n}: " + "; ".join(v) for n, v in enumerate(verdicts)]
    pytest.fail("\n".join(problems) + "\n" + describe(client, records), pytrace=False)


def test_corpus_and_cases_all_ran(differential):
    """The harness itself: every case was sent to every backend, and the
    gateway outlived them."""
    assert len(CORPUS) >= 90
    assert differential["gateway_alive"]
    for kind in KINDS:
        assert [c["name"] for c, _ in differential[kind]] == [c.name for c in CASES]
