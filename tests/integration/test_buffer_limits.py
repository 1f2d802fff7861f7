"""Buffer accounting end to end (lib/tcp/tcp_mem.c): a hostile client in
sl-client (198.18.0.2, tests/integration/hostile_client.py) opens many
connections with TCP_NODELAY and sends 1-byte segments on them, after a
request whose backend never answers (HTTP listener, /hang) or to a tcp-mode
listener whose backend never reads (silent_backend.py). Each segment would
pin an mbuf of its own. The test checks that:

  - what the gateway holds (the mbuf pool over its baseline, and
    /sluice/tcp mbufs_held) never passes the address's share,
    tcp.max_addr_mbufs per worker, while the attack sends many times that
    many segments;
  - a normal client (curl from 198.18.0.3) is served all along;
  - once the hostile connections are gone, the pool and the connection
    tables are back at their baseline.
"""

import json
import time

import pytest

from sluice_env import (BACKEND_NS, CLIENT_NS, GW_CLIENT_IP, HERE, PY, in_ns,
                        ns_popen, read_line, running_gateway, stop_proc,
                        wait_until, write_config)

HOSTILE_SRC, NORMAL_SRC = "198.18.0.2", "198.18.0.3"
HTTP_BACKEND, SILENT_BACKEND = "198.18.1.2", "198.18.1.7"
PORT_HTTP, PORT_TCP, SILENT_PORT = 8000, 9100, 9100
MAX_ADDR_MBUFS, MAX_CONN_MBUFS = 512, 64
HOSTILE_CONNS = 64
ATTACK_S, HOLD_S = 8, 2
# What else may sit in the pool: a burst in an AF_XDP fill ring or a cache
# refill (as test_tcp_proxy), the normal client's few connections, and the
# one mbuf per hostile connection the HTTP proxy takes out of the queue
# while it waits on the backend.
SLACK = 32 + 64 + HOSTILE_CONNS


@pytest.fixture(scope="module")
def peers(testbed):
    web = ns_popen(BACKEND_NS, PY, str(HERE / "http_backend.py"),
                   "--addr", HTTP_BACKEND, "--port", "8080", "--lifetime", "600")
    silent = ns_popen(BACKEND_NS, PY, str(HERE / "silent_backend.py"),
                      "--addr", SILENT_BACKEND, "--port", str(SILENT_PORT),
                      "--lifetime", "600")
    try:
        assert (read_line(web, 15) or "").strip() == "ready"
        assert (read_line(silent, 15) or "").strip() == "ready"
        yield
    finally:
        stop_proc(web)
        stop_proc(silent)


@pytest.fixture(scope="module")
def gw(peers, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("buflimits")
    cfg = write_config(
        tmp / "buflimits.json",
        memory={"mbufs": 32767, "mbuf_cache": 256, "mbuf_data_size": 2048},
        tcp={"time_wait_s": 1, "rcv_buf": 65536, "snd_buf": 65536,
             "max_conn_mbufs": MAX_CONN_MBUFS, "max_addr_mbufs": MAX_ADDR_MBUFS},
        # Idle pooled backend connections close soon: the final check
        # wants the tables empty.
        http={"response_timeout_ms": 60000, "upstream_idle_s": 1},
        pools=[{"name": "web", "backends": [{"address": HTTP_BACKEND, "port": 8080}]},
               {"name": "silent", "backends": [{"address": SILENT_BACKEND,
                                                "port": SILENT_PORT}]}],
        listeners=[{"name": "web", "address": GW_CLIENT_IP, "port": PORT_HTTP,
                    "mode": "http", "pool": "web"},
                   {"name": "silent", "address": GW_CLIENT_IP, "port": PORT_TCP,
                    "mode": "tcp", "pool": "silent"}])
    with running_gateway(cfg, tmp, settle=2) as g:
        yield g


def tcp_total(gw):
    return gw.tel.query("/sluice/tcp")["total"]


def normal_request():
    """One request from the normal client: (ok, seconds)."""
    t0 = time.monotonic()
    r = in_ns(CLIENT_NS, "curl", "-s", "--max-time", "5", "--interface",
              NORMAL_SRC, "-o", "/dev/null", "-w", "%{http_code}",
              f"http://{GW_CLIENT_IP}:{PORT_HTTP}/bytes/4096",
              check=False, timeout=10)
    return r.stdout.strip() == "200", time.monotonic() - t0


def attack(gw, port, request):
    """Run the hostile client; sample the gateway and serve the normal
    client meanwhile. Returns the figures."""
    workers = gw.tel.query("/sluice/info")["workers"]
    share = workers * MAX_ADDR_MBUFS
    before = tcp_total(gw)
    hostile = ns_popen(CLIENT_NS, PY, str(HERE / "hostile_client.py"),
                       "--src", HOSTILE_SRC, "--dst", GW_CLIENT_IP,
                       "--port", str(port), "--conns", str(HOSTILE_CONNS),
                       "--seconds", str(ATTACK_S), "--hold", str(HOLD_S),
                       "--request", request)
    peak_pool = peak_held = 0
    served = []
    try:
        deadline = time.monotonic() + ATTACK_S + HOLD_S + 30
        while hostile.poll() is None and time.monotonic() < deadline:
            info = gw.tel.query("/sluice/info")
            peak_pool = max(peak_pool, info["mbufs_in_use"] - gw.mbuf_baseline)
            peak_held = max(peak_held, tcp_total(gw)["mbufs_held"])
            served.append(normal_request())
            time.sleep(0.2)
    finally:
        _, out, err = stop_proc(hostile, timeout=30)
    res = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    assert res is not None, err
    after = tcp_total(gw)
    fig = {
        "share": share, "peak_pool_over_baseline": peak_pool,
        "peak_mbufs_held": peak_held, "hostile": res,
        "segments_in": after["segments_in"] - before["segments_in"],
        "rcv_packed_mbufs": after["rcv_packed_mbufs"] - before["rcv_packed_mbufs"],
        "snd_packed_mbufs": after["snd_packed_mbufs"] - before["snd_packed_mbufs"],
        "addr_mbufs_capped": after["addr_mbufs_capped"] - before["addr_mbufs_capped"],
        "conn_mbufs_capped": after["conn_mbufs_capped"] - before["conn_mbufs_capped"],
        "rcv_mem_dropped": after["rcv_mem_dropped"] - before["rcv_mem_dropped"],
        "normal_ok": sum(ok for ok, _ in served), "normal_tries": len(served),
        "normal_slowest_s": round(max((t for _, t in served), default=0), 3),
    }
    print(json.dumps(fig))
    return fig


def check_attack(fig):
    share = fig["share"]
    assert fig["hostile"]["conns"] == HOSTILE_CONNS, fig
    # The attack was real: enough 1-byte segments to pin several shares
    # of the pool, had each kept its mbuf.
    assert fig["hostile"]["sends"] >= 3 * share, fig
    assert fig["segments_in"] >= 3 * share, fig
    # Packed on the way: in the receive queue (HTTP, waiting) or in the
    # backend side's send queue (tcp mode splices at once).
    assert fig["rcv_packed_mbufs"] + fig["snd_packed_mbufs"] >= fig["share"], fig
    # ... yet the gateway never held more than the address's share.
    assert fig["peak_mbufs_held"] <= share + 64, fig
    assert fig["peak_pool_over_baseline"] <= share + SLACK, fig
    # The normal client was served all along.
    assert fig["normal_tries"] >= 5, fig
    assert fig["normal_ok"] == fig["normal_tries"], fig


def check_baseline(gw):
    def back():
        t = tcp_total(gw)
        used = gw.tel.query("/sluice/info")["mbufs_in_use"]
        return (t["conns_active"] == 0 and t["mbufs_held"] == 0 and
                used <= gw.mbuf_baseline + 32)
    ok = wait_until(back, timeout=20, step=0.5)
    assert ok, (tcp_total(gw)["conns_active"], tcp_total(gw)["mbufs_held"],
                gw.tel.query("/sluice/info")["mbufs_in_use"], gw.mbuf_baseline,
                json.dumps(gw.tel.query("/sluice/conns")))


def test_http_client_sending_1_byte_segments_holds_its_share(gw):
    fig = attack(gw, PORT_HTTP, "GET /hang HTTP/1.1\\r\\nHost: web\\r\\n\\r\\n")
    check_attack(fig)
    check_baseline(gw)


def test_tcp_mode_client_sending_1_byte_segments_holds_its_share(gw):
    fig = attack(gw, PORT_TCP, "")
    check_attack(fig)
    check_baseline(gw)
