"""A port that stops receiving (issue 12, defect 6): the RX watchdog
(lib/port/port_watch.c) detects it, counts it in /sluice/ports and restarts
the port; the gateway keeps serving without a restart.

How the stall is provoked, honestly: a test-only telemetry command
(/sluice/test_mbuf_hold, registered only when SLUICE_TEST_HOOKS=1 is in the
gateway's environment) takes every mbuf out of the pool, which is the state
the issue's candidate cause leaves the AF_XDP PMD in: it cannot allocate
the mbufs that replace what it receives, so it receives nothing, and the
kernel counts what arrives. Releasing them is what ends that stall; what
the test checks is that the watchdog sees and reports it, and that the
port receives again afterwards, without a restart."""

import time

import pytest

from sluice_env import (CLIENT_NS, GW_CLIENT_IP, in_ns, ns_popen,
                        running_gateway, stop_proc, wait_until, write_config)


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
