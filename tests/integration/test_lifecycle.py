"""The gateway's lifecycle, with a gateway per test: start-up announcements,
ARP failure handling, clean stops, and refusing to start when misconfigured.
These cannot share a gateway: only one process may drive slc0 at a time."""

import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

import sluice_telemetry
from harness.sluice_env import (CLIENT_NS, GW_CLIENT_IP, PEERS, REPO, Gateway,
                                arp_entries, in_ns, port_stats, run, wait_until,
                                write_config)


def test_unresolvable_next_hop_is_counted(gateway_factory, tmp_path):
    """A neighbour that never answers: its queued packet is dropped with
    arp_unresolved after `retries` requests, and nothing hangs."""
    cfg = write_config(tmp_path / "c.json", arp={"retry_ms": 100, "retries": 2})
    gw = gateway_factory(cfg)
    ours = port_stats(gw, "net_af_xdp0")["mac"]
    # Make 198.18.0.8 unanswerable: the kernel will not reply for it.
    in_ns(CLIENT_NS, "ip", "neigh", "replace", GW_CLIENT_IP, "lladdr", ours,
          "nud", "permanent", "dev", "slc1")
    in_ns(CLIENT_NS, "sysctl", "-qw", "net.ipv4.conf.slc1.arp_ignore=8")
    try:
        in_ns(CLIENT_NS, "ping", "-c", "1", "-W", "1", "-I", "198.18.0.8",
              GW_CLIENT_IP, check=False)
        stats = wait_until(lambda: (s := port_stats(gw, "net_af_xdp0"))
                           ["drop_arp_unresolved"] >= 1 and s, timeout=5, step=0.05)
    finally:
        in_ns(CLIENT_NS, "sysctl", "-qw", "net.ipv4.conf.slc1.arp_ignore=0")
        in_ns(CLIENT_NS, "ip", "neigh", "del", GW_CLIENT_IP, "dev", "slc1",
              check=False)
    assert stats, "the unanswered ARP never produced an arp_unresolved drop"
    assert stats["arp_requests_sent"] >= 2
    assert "198.18.0.8" not in arp_entries(gw)


def test_gratuitous_arp_at_start(gateway_factory):
    sniff = subprocess.Popen(
        ["ip", "netns", "exec", CLIENT_NS, "/usr/bin/python3",
         str(PEERS / "sniff_arp.py"), "slc1", "8"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert sniff.stdout.readline().strip() == "ready"
        gw = gateway_factory()
        mac = port_stats(gw, "net_af_xdp0")["mac"].lower()
        out, _ = sniff.communicate(timeout=15)
    finally:
        if sniff.poll() is None:
            sniff.kill()
    frames = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    garp = [f for f in frames if f["sip"] == f["tip"] == GW_CLIENT_IP]
    assert garp, f"no gratuitous ARP among {frames}"
    assert garp[0]["sha"] == mac and garp[0]["op"] == 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_stop(gateway_factory, sig):
    gw = gateway_factory()
    in_ns(CLIENT_NS, "ping", "-c", "5", "-i", "0.01", GW_CLIENT_IP, check=False)
    rc, seconds = gw.stop(sig, timeout=5)
    assert rc == 0, gw.log()
    assert seconds < 2.0
    log = gw.log()
    assert "signal received, stopping" in log
    assert "stopped;" in log


def test_missing_port_fails_clearly(gateway_factory, tmp_path):
    conf = json.loads((REPO / "conf" / "sluice.json").read_text())
    conf["ports"][1]["name"] = "net_af_xdp7"
    cfg = write_config(tmp_path / "bad.json", ports=conf["ports"])
    gw = gateway_factory(cfg, start=False)
    gw.start(wait=False)
    rc = gw.wait_exit(30)
    assert rc == 1
    assert re.search(r'port "net_af_xdp7" \(/ports/1/name\) does not exist; '
                     r'DPDK ports: net_af_xdp0, net_af_xdp1', gw.log()), gw.log()


def test_invalid_config_refused_at_start(gateway_factory, tmp_path):
    cfg = write_config(tmp_path / "bad.json", runtime={"idle": "sleepy"})
    gw = gateway_factory(cfg, start=False)
    gw.start(wait=False)
    assert gw.wait_exit(30) == 1
    log = gw.log()
    assert f'{cfg}: /runtime/idle: "sleepy" is not one of "busy", "adaptive"' in log
    assert "is invalid, not starting" in log
    assert "port net_af_xdp0" not in log


def test_tap_port_by_name(gateway_factory, tmp_path):
    """A net_tap port, named in the config like any other, answers ping
    from the kernel side of the tap (the fallback PMD of TESTBED.md)."""
    conf = json.loads((REPO / "conf" / "sluice.json").read_text())
    ports = conf["ports"] + [{"name": "net_tap0", "address": "198.18.4.1/24"}]
    cfg = write_config(tmp_path / "tap.json", ports=ports)
    gw = gateway_factory(cfg, extra_eal=("--vdev", "net_tap0,iface=sltap0"))
    try:
        run(["ip", "addr", "replace", "198.18.4.2/24", "dev", "sltap0"])
        run(["ip", "link", "set", "sltap0", "up"])
        out = run(["ping", "-c", "5", "-i", "0.1", "-W", "1", "-I", "sltap0",
                   "198.18.4.1"], check=False, timeout=30).stdout
    finally:
        run(["ip", "addr", "flush", "dev", "sltap0"], check=False)
    assert "5 received" in out, out + gw.log()
    tap = gw.tel.query("/sluice/ports")["net_tap0"]
    assert tap["address"] == "198.18.4.1/24"
    assert tap["icmp_echo_replies"] >= 5


# Read-only commands a telemetry client (the exporter, a dpdk-telemetry.py
# loop) polls; each reads config, worker or port state that shutdown frees.
HAMMERED = ("/sluice/info", "/sluice/ports", "/sluice/lcores", "/sluice/tcp",
            "/sluice/http", "/sluice/backends", "/sluice/pools",
            "/sluice/memory", "/sluice/arp", "/sluice/conns", "/ethdev/stats,0",
            "/mempool/info,sl_mbuf_s0")


def hammer_telemetry(path, stop, answered, cmds=HAMMERED):
    """Query every command of cmds in turn on one connection until `stop`
    is set or the socket goes away; count the answers in answered[0]. Any
    failure (the gateway stopping mid-reply included) means a new
    connection, as a polling client would make."""
    while not stop.is_set():
        tel = sluice_telemetry.Telemetry(path, timeout=2)
        try:
            for cmd in cmds * 50:
                if stop.is_set():
                    break
                tel.query(cmd)
                answered[0] += 1
        except OSError:            # TelemetryError is one
            time.sleep(0.005)
        finally:
            tel.close()


STOP_ROUNDS = int(os.environ.get("SLUICE_TEST_STOP_ROUNDS", "20"))


def test_stop_while_telemetry_is_queried(testbed, tmp_path):
    """SIGTERM while three telemetry clients query as fast as they can: the
    gateway exits 0 within 2 s every time (the handlers once read config
    and worker state that shutdown had freed: SIGSEGV in 5 of 5)."""
    cfg = write_config(tmp_path / "c.json")
    results = []
    for i in range(STOP_ROUNDS):
        gw = Gateway(cfg, tmp_path)
        stop = threading.Event()
        answered = [0]
        threads = [threading.Thread(target=hammer_telemetry,
                                    args=(gw.tel.path, stop, answered))
                   for _ in range(3)]
        try:
            gw.start()
            for t in threads:
                t.start()
            wait_until(lambda: answered[0] >= 30, timeout=5, step=0.01)
            before = answered[0]
            rc, seconds = gw.stop(signal.SIGTERM, timeout=2.0)
            results.append((rc, round(seconds, 2), before))
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=5)
            gw.cleanup()
        assert before >= 30, f"round {i}: telemetry answered only {before}"
        assert rc == 0, f"round {i}: exit {rc} after {seconds:.2f} s " \
                        f"({results}):\n" + gw.log()[-3000:]
        assert seconds < 2.0, f"round {i}: {seconds:.2f} s to stop"
        assert "stopped;" in gw.log()
    assert len(results) == STOP_ROUNDS


CONF_READERS = ("/sluice/backends", "/sluice/pools", "/sluice/routes",
                "/sluice/http", "/sluice/info", "/sluice/latency",
                "/sluice/breakers", "/sluice/health")


def test_reload_while_telemetry_reads_the_config(testbed, tmp_path):
    """40 reloads, each a new config generation, while two clients read
    config-backed commands without pause: every reload applies, the readers
    get answers throughout, and the gateway stops cleanly. A reload frees a
    generation only after the readers that may hold it have returned;
    MALLOC_PERTURB_ fills freed memory so that a read of a freed config
    would not go unnoticed."""
    conf = json.loads((REPO / "conf" / "sluice.json").read_text())
    cfg = tmp_path / "live.json"
    cfg.write_text(json.dumps(conf))
    gw = Gateway(cfg, tmp_path)
    stop = threading.Event()
    answered = [0]
    old = os.environ.get("MALLOC_PERTURB_")
    os.environ["MALLOC_PERTURB_"] = "165"
    try:
        gw.start()
        threads = [threading.Thread(target=hammer_telemetry,
                                    args=(gw.tel.path, stop, answered,
                                          CONF_READERS))
                   for _ in range(2)]
        for t in threads:
            t.start()
        results = []
        for i in range(40):
            conf["pools"][0]["backends"][0]["weight"] = 1 + i % 2
            conf["pools"][0]["comment"] = f"generation {i}"
            cfg.write_text(json.dumps(conf))
            results.append(gw.tel.query("/sluice/reload")["result"])
        reads = answered[0]
        stop.set()
        for t in threads:
            t.join(timeout=5)
        assert results == ["applied"] * 40, results
        assert reads >= 100, reads
        assert gw.proc.poll() is None, gw.log()[-3000:]
        rc, seconds = gw.stop(signal.SIGTERM, timeout=2.0)
        assert rc == 0 and seconds < 2.0, (rc, seconds, gw.log()[-3000:])
    finally:
        stop.set()
        if old is None:
            os.environ.pop("MALLOC_PERTURB_", None)
        else:
            os.environ["MALLOC_PERTURB_"] = old
        gw.cleanup()
