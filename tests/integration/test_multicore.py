"""Two worker lcores on this 2-core machine, on
af_xdp and on tap ports.

EAL gets the main lcore and two workers on two CPUs (--lcores '0@0,1@1,2@0',
adaptive idle so they share). af_xdp on a veth has one queue (DPDK 22.11's
PMD counts a device's "combined" channels, and a veth reports none), so
worker 0 receives everything there and steers; net_tap gets one queue per
worker and the kernel spreads flows over them. Neither port has RSS we can
program, so both run software steering: client flows by a Toeplitz hash of
the 4-tuple, replies to upstream connections by the ephemeral block of
their destination port.

Each module-scoped gateway carries HTTP (new connections, keep-alive, large
bodies both ways) and TCP-mode (concurrent echo sessions, a bulk stream)
traffic, then checks: both lcores carried connections; no packet lacked an
owner; packets were steered and nothing was lost in the rings; the ports'
steering totals are the sum of the lcores'; and afterwards the connection
tables are empty and the mbufs back at their baseline.

test_proxy_suites_on_two_workers.py runs the HTTP and TCP suites themselves with two
workers on each PMD."""

import hashlib

import pytest

from harness.sluice_env import (BACKEND_NS, CLIENT_NS, PEERS, PY, Backend, running_gateway,
                                in_ns, last_json, ns_popen, read_line, stop_proc,
                                wait_until, write_config)

GW = "198.18.0.1"
PMDS = ("af_xdp", "tap")
STEER_KEYS = ("steered_out", "steered_in", "steer_no_owner")
MBUF_SLACK = 64


@pytest.fixture(scope="module")
def backends(testbed):
    http = ns_popen(BACKEND_NS, PY, str(PEERS / "http_backend.py"),
                    "--addr", "198.18.1.2", "--addr", "198.18.1.3",
                    "--port", "8080", "--lifetime", "900")
    assert (read_line(http, 15) or "").strip() == "ready"
    echo = Backend("echo", ["198.18.1.2", "198.18.1.3"], 9000, lifetime=900).start()
    yield
    stop_proc(http)
    echo.stop()


@pytest.fixture(scope="module", params=PMDS)
def gw(request, testbed, backends, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"mc-{request.param}")
    cfg = write_config(
        tmp / "mc.json",
        tcp={"time_wait_s": 1},
        http={"client_idle_s": 2, "upstream_idle_s": 2},
        pools=[{"name": "app", "backends": [{"address": "198.18.1.2", "port": 8080},
                                            {"address": "198.18.1.3", "port": 8080}]},
               {"name": "echo", "backends": [{"address": "198.18.1.2", "port": 9000},
                                             {"address": "198.18.1.3", "port": 9000}]}],
        listeners=[{"name": "web", "address": GW, "port": 80, "mode": "http",
                    "pool": "app"},
                   {"name": "echo", "address": GW, "port": 9000, "mode": "tcp",
                    "pool": "echo"}])
    with running_gateway(cfg, tmp, workers=2, pmd=request.param) as g:
        yield g


def lcores(gw):
    rows = gw.tel.query("/sluice/lcores")
    return {k: v for k, v in rows.items() if isinstance(v, dict)}


def ports(gw):
    rows = gw.tel.query("/sluice/ports")
    return {k: v for k, v in rows.items() if isinstance(v, dict)}


def tcp_rows(gw):
    t = gw.tel.query("/sluice/tcp")
    return t["total"], {k: v for k, v in t.items()
                        if k != "total" and isinstance(v, dict)}


def pattern(n):
    block = bytes(range(256)) * 64
    return (block * (n // len(block) + 1))[:n]


def test_two_workers_and_software_steering(gw):
    info = gw.tel.query("/sluice/info")
    assert info["workers"] == 2
    assert len(lcores(gw)) == 2
    for name, p in ports(gw).items():
        assert p["steering"] == "software", (name, p["steering"])
        # af_xdp on a veth: one queue; tap: one per worker.
        assert p["queues"] == (1 if gw.pmd == "af_xdp" else 2), (name, p["queues"])
    assert "software steering" in gw.log()


def test_http_new_connections_and_bodies(gw, tmp_path):
    """Many short connections (each from a new source port, so the flow
    hash spreads them), then large bodies both ways."""
    prog = ("import subprocess, sys\n"
            "codes = [subprocess.run(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}',"
            " '--max-time', '10', 'http://198.18.0.1/bytes/2000'], capture_output=True,"
            " text=True).stdout for _ in range(60)]\n"
            "print(' '.join(codes))\n")
    codes = in_ns(CLIENT_NS, PY, "-c", prog, timeout=300).stdout.split()
    assert codes == ["200"] * 60, codes
    big = 3_000_000
    down = tmp_path / "down.bin"
    in_ns(CLIENT_NS, "curl", "-s", "--max-time", "60", "-o", str(down),
          f"http://{GW}/bytes/{big}", timeout=90)
    assert down.read_bytes() == pattern(big)
    up = tmp_path / "up.bin"
    up.write_bytes(pattern(2_000_000))
    out = in_ns(CLIENT_NS, "curl", "-s", "--max-time", "60", "--data-binary",
                f"@{up}", f"http://{GW}/hash", timeout=90).stdout
    assert hashlib.sha256(up.read_bytes()).hexdigest() in out, out


def test_http_keep_alive(gw):
    urls = []
    for i in range(50):
        urls += ["-o", "/dev/null", f"http://{GW}/bytes/{100 + i}"]
    # One curl, one connection: every request after the first reuses it.
    out = in_ns(CLIENT_NS, "curl", "-s", "--max-time", "60", "-w",
                "%{http_code} %{num_connects}\\n", *urls, timeout=90).stdout.split("\n")
    out = [line.split() for line in out if line.strip()]
    assert [c for c, _ in out] == ["200"] * 50, out
    assert sum(int(n) for _, n in out) == 1, out


def test_tcp_mode_concurrent_echo_and_stream(gw):
    client = str(PEERS / "tcp_client.py")
    r = in_ns(CLIENT_NS, PY, client, "rr", "--addr", GW, "--port", "9000",
              "--conns", "64", "--exchanges", "5", "--size", "3000",
              "--timeout", "60", check=False, timeout=120)
    res = last_json(r.stdout)
    assert res is not None and res["ok"] == 64 and not res["errors"] \
        and not res["bad_payload"], (r.stdout[-2000:], r.stderr[-2000:])
    r = in_ns(CLIENT_NS, PY, client, "stream", "--addr", GW, "--port", "9000",
              "--bytes", str(8 * 1024 * 1024), "--seed", "7", "--timeout", "120",
              "--stall", "30", check=False, timeout=150)
    res = last_json(r.stdout)
    assert res is not None and res["error"] is None, (r.stdout[-2000:], r.stderr[-2000:])
    assert res["recv_sha256"] == res["sent_sha256"] and res["eof"], res


def test_both_lcores_carry_connections(gw):
    total, per = tcp_rows(gw)
    assert len(per) == 2, per
    for lcore, t in per.items():
        # Client connections (by the flow hash) and upstream ones (opened
        # by each lcore for its own clients) on both lcores.
        assert t["passive_opens"] > 0, (lcore, t)
        assert t["active_opens"] > 0, (lcore, t)
        assert t["established"] > 0, (lcore, t)
        assert t["l4_sessions"] > 0, (lcore, t)
    for key in ("passive_opens", "active_opens", "established", "l4_sessions"):
        assert total[key] == sum(t[key] for t in per.values()), key


def test_steering_counters(gw):
    """Let the rings drain (nothing in flight), then: no owner-less
    packet, no ring overflow, every packet handed out was taken in, and
    the ports' totals are the sum of the lcores'."""
    def settled():
        lc, pt = lcores(gw), ports(gw)
        out = sum(v["steered_out"] for v in lc.values())
        inn = sum(v["steered_in"] for v in lc.values())
        full = sum(v["steer_ring_full"] for v in lc.values())
        return (lc, pt) if out == inn + full else None
    got = wait_until(settled, timeout=10, step=0.2)
    assert got, (lcores(gw), ports(gw))
    lc, pt = got
    for k, v in lc.items():
        assert v["steer_no_owner"] == 0, (k, v)
        assert v["steer_ring_full"] == 0, (k, v)
        assert v["packets"] > 0, (k, v)
    for name, p in pt.items():
        assert p["steer_no_owner"] == 0 and p["drop_steer_ring_full"] == 0, (name, p)
    # The flow hash and the kernel's queue choice (tap) or the single
    # queue (af_xdp) disagree for about half the client segments, and the
    # replies to the other worker's upstream connections are handed over.
    # On tap both workers receive, so both steer; on af_xdp worker 0
    # receives everything, so only worker 1 is handed packets.
    by_worker = {v["worker"]: v for v in lc.values()}
    assert sum(v["steered_in"] for v in lc.values()) > 100, lc
    assert by_worker[1]["steered_in"] > 0, lc
    if gw.pmd == "tap":
        assert by_worker[0]["steered_in"] > 0, lc
    else:
        assert by_worker[1]["steered_out"] == 0 and by_worker[0]["steered_in"] == 0, lc
    for key in STEER_KEYS:
        assert sum(p[key] for p in pt.values()) == sum(v[key] for v in lc.values()), key
    assert (sum(p["drop_steer_ring_full"] for p in pt.values())
            == sum(v["steer_ring_full"] for v in lc.values()))
    if gw.pmd == "af_xdp":
        # One queue: worker 1 receives nothing itself and sends through
        # worker 0.
        assert all(p["tx_handed_off"] > 0 for p in pt.values()), pt


def test_neighbours_known_to_both_workers(gw):
    """ARP goes to every worker: each has the client and the backends."""
    arp = gw.tel.query("/sluice/arp")
    rows = {v["ip"]: v for v in arp.values() if isinstance(v, dict)}
    for ip in ("198.18.1.2", "198.18.1.3"):
        assert ip in rows and rows[ip]["state"] == "reachable", rows
        assert rows[ip]["workers"] == 2, rows[ip]


def test_tables_empty_and_mbufs_at_baseline(gw):
    def drained():
        total, per = tcp_rows(gw)
        if total["conns_active"] or total["l4_active"]:
            return None
        return per
    per = wait_until(drained, timeout=30, step=0.5)
    assert per, tcp_rows(gw)
    for lcore, t in per.items():
        assert t["conns_active"] == 0 and t["l4_active"] == 0, (lcore, t)
    http = gw.tel.query("/sluice/http")
    assert http["inflight"] == 0 and http["clients"] == 0, http
    base = gw.mbuf_baseline
    ok = wait_until(lambda: gw.tel.query("/sluice/info")["mbufs_in_use"]
                    <= base + MBUF_SLACK, timeout=20, step=0.5)
    assert ok, (gw.tel.query("/sluice/info")["mbufs_in_use"], base)
