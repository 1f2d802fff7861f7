"""A port that stops receiving: the RX watchdog
(lib/port/port_watch.c) detects it, counts it in /sluice/ports and restarts
the port; the gateway keeps serving without a restart.

How the stall is provoked, honestly: a test-only telemetry command
(/sluice/test_mbuf_hold, registered only when SLUICE_TEST_HOOKS=1 is in the
gateway's environment) takes every mbuf out of the pool, which is the state
a suspected cause leaves the AF_XDP PMD in: it cannot allocate
the mbufs that replace what it receives, so it receives nothing, and the
kernel counts what arrives. Releasing them is what ends that stall; what
the test checks is that the watchdog sees and reports it, and that the
port receives again afterwards, without a restart."""

import os
import time

import pytest

from harness import tcp_env as tp
from harness.sluice_env import (BACKEND_NS, CLIENT_NS, GW_CLIENT_IP, PEERS, PY,
                                NftTable, in_ns, ns_popen, read_line, running_gateway,
                                stop_proc, wait_until, write_config)

LOSS_BODY = ("  chain in  { type filter hook input priority 0; "
             "numgen random mod 100 < 3 drop; }\n"
             "  chain out { type filter hook output priority 0; "
             "numgen random mod 100 < 3 drop; }")


@pytest.fixture(params=["af_xdp", "tap"])
def hook_gw(request, testbed, tmp_path, monkeypatch):
    monkeypatch.setenv("SLUICE_TEST_HOOKS", "1")
    cfg = write_config(tmp_path / "c.json")
    with running_gateway(cfg, tmp_path, pmd=request.param) as gw:
        gw.client_port = "net_tap0" if request.param == "tap" else "net_af_xdp0"
        yield gw


def ping(count, interval="0.05"):
    out = in_ns(CLIENT_NS, "ping", "-c", str(count), "-i", interval, "-W", "1",
                GW_CLIENT_IP, check=False, timeout=60).stdout
    for line in out.splitlines():
        if "received" in line:
            return int(line.split(",")[1].split()[0])
    return 0


def test_rx_stall_detected_counted_and_recovered(hook_gw):
    gw = hook_gw
    port = lambda: gw.tel.query("/sluice/ports")[gw.client_port]  # noqa: E731
    assert ping(3) == 3, gw.log()
    before = port()
    assert before["rx_stalls"] == 0 and before["rx_stalled"] == 0
    held = gw.tel.query("/sluice/test_mbuf_hold")["held"]
    assert held > 1000, held
    # Keep frames arriving while the pool is empty.
    flood = ns_popen(CLIENT_NS, "ping", "-c", "400", "-i", "0.01", "-W", "1",
                     GW_CLIENT_IP)
    try:
        stalled = wait_until(lambda: (p := port())["rx_stalls"] >= 1
                             and p["rx_stalled"] == 1 and p, timeout=10, step=0.1)
        assert stalled, f"no stall detected: {port()}\n" + gw.log()[-2000:]
        assert stalled["rx_stalls_pool_empty"] >= 1, stalled
        if gw.pmd != "tap":     # tap is not restarted (port_watch.c says why)
            restarted = wait_until(lambda: port()["rx_stall_restarts"] >= 1,
                                   timeout=3)
            assert restarted, port()
    finally:
        released = gw.tel.query("/sluice/test_mbuf_release")["released"]
        stop_proc(flood)
    assert released == held
    # Receiving again, without a restart: every ping answered.
    assert wait_until(lambda: ping(1) == 1, timeout=5), gw.log()[-2000:]
    assert ping(5) == 5
    after = port()
    assert after["rx_stalled"] == 0 and after["rx_stall_ms"] == 0, after
    assert after["rx_stall_recoveries"] >= 1, after
    assert "RX stalled" in gw.log() and "receiving again" in gw.log()
    # The mbufs came back: the pool is where it was.
    assert wait_until(lambda: gw.tel.query("/sluice/info")["mbufs_in_use"]
                      <= gw.mbuf_baseline + 64, timeout=10), \
        (gw.tel.query("/sluice/info"), gw.mbuf_baseline)


def test_quiet_port_is_not_a_stall(hook_gw):
    """Nothing arrives, nothing is dropped: no stall however long."""
    gw = hook_gw
    time.sleep(1.5)
    for name, p in gw.tel.query("/sluice/ports").items():
        if isinstance(p, dict):
            assert p["rx_stalls"] == 0 and p["rx_stall_restarts"] == 0, (name, p)


# --- The load that showed the stall: a threaded echo server, 3% loss -------

LOSS_BYTES = int(os.environ.get("SLUICE_RECOVERY_LOSS_MB", "100")) * 1000 * 1000
STREAM_SRC, RR_SRC = "198.18.0.2", "198.18.0.3"


@pytest.fixture(params=["af_xdp", "tap"])
def threaded_gw(request, testbed, tmp_path):
    echo = ns_popen(BACKEND_NS, PY, str(PEERS / "threaded_echo.py"),
                    *sum((["--addr", a] for a in tp.ECHO_ADDRS), []),
                    "--port", str(tp.BACKEND_PORT), "--lifetime", "900")
    try:
        assert (read_line(echo, 15) or "").strip() == "ready"
        with running_gateway(tp.tcp_config(tmp_path / "tcp.json"), tmp_path,
                             settle=2, pmd=request.param) as gw:
            gw.client_port = "net_tap0" if request.param == "tap" else "net_af_xdp0"
            yield gw
    finally:
        stop_proc(echo)


def test_threaded_echo_under_loss_then_short_exchanges(threaded_gw):
    """A bulk echo under 3% loss each way through a tcp-mode listener to a
    thread-per-connection echo server (the shape that wedged a port), then
    2,000 x 10 short exchanges from another client, every one answered; the
    ports never stalled with an empty pool, and the tables and the mbuf pool
    are back at their baseline afterwards."""
    gw = threaded_gw
    with NftTable(CLIENT_NS, "loss", LOSS_BODY):
        res = tp.client("stream", "--addr", GW_CLIENT_IP, "--port", tp.PORT_ECHO,
                        "--src", STREAM_SRC, "--bytes", LOSS_BYTES, "--seed", 5,
                        "--timeout", 400, "--stall", 60, timeout=430)
    tp.check_stream(res, LOSS_BYTES)
    rr = tp.client("rr", "--addr", GW_CLIENT_IP, "--port", tp.PORT_ECHO,
                   "--src", RR_SRC, "--conns", 2000, "--exchanges", 10,
                   "--timeout", 120, timeout=150)
    assert rr["connected"] == 2000 and rr["ok"] == 2000, rr
    assert rr["bad_payload"] == 0 and not rr["errors"], rr
    ports = {k: v for k, v in gw.tel.query("/sluice/ports").items()
             if isinstance(v, dict)}
    for name, p in ports.items():
        assert p["rx_stalls_pool_empty"] == 0 and p["rx_stalled"] == 0, (name, p)
    tcp = wait_until(lambda: (t := tp.tcp_total(gw))["conns_active"] == 0
                     and t["l4_active"] == 0 and t, timeout=60, step=0.5)
    assert tcp, tp.tcp_total(gw)
    info = wait_until(lambda: (i := gw.tel.query("/sluice/info"))["mbufs_in_use"]
                      <= gw.mbuf_baseline + tp.MBUF_SLACK and i,
                      timeout=30, step=0.5)
    assert info, (gw.tel.query("/sluice/info")["mbufs_in_use"], gw.mbuf_baseline)
    print(f"threaded echo on {gw.pmd}: {LOSS_BYTES} bytes under loss in "
          f"{res['seconds']} s; rr ok {rr['ok']}/2000 in {rr['exchange_seconds']} s; "
          f"rx_stalls {[p['rx_stalls'] for p in ports.values()]}; "
          f"mbufs {info['mbufs_in_use']} (baseline {gw.mbuf_baseline})")
