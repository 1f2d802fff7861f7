"""The hostile-client scenario that tests/integration/test_buffer_limits.py
checks and scripts/bench-hostile.sh measures: the gateway config, and one
attack (tests/integration/peers/hostile_client.py in sl-client) sampled through
telemetry while a normal client is served. Standard library only."""

import contextlib
import json
import time

from harness.sluice_env import (BACKEND_NS, CLIENT_NS, GW_CLIENT_IP, PEERS, PY, in_ns,
                                ns_popen, read_line, stop_proc, write_config)

HOSTILE_SRC, NORMAL_SRC = "198.18.0.2", "198.18.0.3"
HTTP_BACKEND, SILENT_BACKEND = "198.18.1.2", "198.18.1.7"
PORT_HTTP, PORT_TCP, SILENT_PORT = 8000, 9100, 9100
MAX_ADDR_MBUFS, MAX_CONN_MBUFS = 512, 64
# A request whose backend (http_backend.py) never answers.
HTTP_HANG = "GET /hang HTTP/1.1\\r\\nHost: web\\r\\n\\r\\n"


def buffer_config(path, caps=True):
    """An HTTP listener (PORT_HTTP) and a tcp-mode one (PORT_TCP, to the
    silent backend), a small pool, and the caps (caps=False leaves them
    out: for a binary that predates them)."""
    tcp = {"time_wait_s": 1, "rcv_buf": 65536, "snd_buf": 65536}
    if caps:
        tcp.update(max_conn_mbufs=MAX_CONN_MBUFS, max_addr_mbufs=MAX_ADDR_MBUFS)
    return write_config(
        path,
        memory={"mbufs": 32767, "mbuf_cache": 256, "mbuf_data_size": 2048},
        tcp=tcp,
        # Idle pooled backend connections close soon: checks after an
        # attack want the tables empty.
        http={"response_timeout_ms": 60000, "upstream_idle_s": 1},
        pools=[{"name": "web", "backends": [{"address": HTTP_BACKEND, "port": 8080}]},
               {"name": "silent", "backends": [{"address": SILENT_BACKEND,
                                                "port": SILENT_PORT}]}],
        listeners=[{"name": "web", "address": GW_CLIENT_IP, "port": PORT_HTTP,
                    "mode": "http", "pool": "web"},
                   {"name": "silent", "address": GW_CLIENT_IP, "port": PORT_TCP,
                    "mode": "tcp", "pool": "silent"}])


def tcp_total(gw):
    return gw.tel.query("/sluice/tcp")["total"]


@contextlib.contextmanager
def running_peers():
    """The backends in sl-backend: http_backend.py for the HTTP listener
    (its /hang never answers) and silent_backend.py for the tcp-mode one."""
    web = ns_popen(BACKEND_NS, PY, str(PEERS / "http_backend.py"),
                   "--addr", HTTP_BACKEND, "--port", "8080", "--lifetime", "600")
    silent = ns_popen(BACKEND_NS, PY, str(PEERS / "silent_backend.py"),
                      "--addr", SILENT_BACKEND, "--port", str(SILENT_PORT),
                      "--lifetime", "600")
    try:
        assert (read_line(web, 15) or "").strip() == "ready"
        assert (read_line(silent, 15) or "").strip() == "ready"
        yield
    finally:
        stop_proc(web)
        stop_proc(silent)


def normal_request():
    """One request from the normal client: (ok, seconds)."""
    t0 = time.monotonic()
    r = in_ns(CLIENT_NS, "curl", "-s", "--max-time", "5", "--interface",
              NORMAL_SRC, "-o", "/dev/null", "-w", "%{http_code}",
              f"http://{GW_CLIENT_IP}:{PORT_HTTP}/bytes/4096",
              check=False, timeout=10)
    return r.stdout.strip() == "200", time.monotonic() - t0


def attack(gw, port, request, conns, seconds, hold):
    """Run the hostile client; sample the gateway and serve the normal
    client meanwhile. Returns the figures."""
    workers = gw.tel.query("/sluice/info")["workers"]
    share = workers * MAX_ADDR_MBUFS
    before = tcp_total(gw)
    hostile = ns_popen(CLIENT_NS, PY, str(PEERS / "hostile_client.py"),
                       "--src", HOSTILE_SRC, "--dst", GW_CLIENT_IP,
                       "--port", str(port), "--conns", str(conns),
                       "--seconds", str(seconds), "--hold", str(hold),
                       "--request", request)
    peak_pool = peak_held = 0
    served = []
    try:
        deadline = time.monotonic() + seconds + hold + 30
        while hostile.poll() is None and time.monotonic() < deadline:
            info = gw.tel.query("/sluice/info")
            peak_pool = max(peak_pool, info["mbufs_in_use"] - gw.mbuf_baseline)
            peak_held = max(peak_held, tcp_total(gw).get("mbufs_held", 0))
            served.append(normal_request())
            time.sleep(0.2)
    finally:
        _, out, err = stop_proc(hostile, timeout=30)
    res = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    assert res is not None, err
    after = tcp_total(gw)
    ports = gw.tel.query("/sluice/ports,0")
    fig = {
        "share": share, "peak_pool_over_baseline": peak_pool,
        "peak_mbufs_held": peak_held, "hostile": res,
        "segments_in": after["segments_in"] - before["segments_in"],
        **{k: after.get(k, 0) - before.get(k, 0)
           for k in ("rcv_packed_mbufs", "snd_packed_mbufs", "addr_mbufs_capped",
                     "conn_mbufs_capped", "rcv_mem_dropped")},
        "normal_ok": sum(ok for ok, _ in served), "normal_tries": len(served),
        "normal_slowest_s": round(max((t for _, t in served), default=0), 3),
    }
    fig["no_mbuf_drops"] = sum(p.get("drop_no_mbuf", 0) for p in ports.values()
                               if isinstance(p, dict))
    return fig


