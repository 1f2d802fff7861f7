"""sluice-loadgen against a real gateway, no kernel in the path: the gateway
takes two net_virtio_user ports (server=1, so it owns the sockets), the load
generator the net_vhost ends (client=1) and plays both the clients and the
backend. Each test runs its own pair and checks what the loadgen reports
against the gateway's telemetry, then that the gateway is back at baseline.

The gateway is stopped while the loadgen still holds the links (--hold): a
net_virtio_user in server mode whose peer has gone can die at close in DPDK
22.11 (SIGPIPE, or a panic in the interrupt thread)."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness.sluice_env import (REPO, RUNTIME_DIR, Gateway, read_line, stop_proc,
                                wait_until)

LOADGEN = Path(os.environ.get("SLUICE_LOADGEN_BIN",
                              REPO / "build" / "app" / "sluice-loadgen"))

GW_CONF = {
    "version": 1,
    "runtime": {"idle": "adaptive"},
    "memory": {"mbufs": 16384},
    "tcp": {"time_wait_s": 1},
    "http": {"client_idle_s": 5, "upstream_idle_s": 2},
    "ports": [{"name": "net_virtio_user0", "address": "198.18.0.1/24", "tx_desc": 128},
              {"name": "net_virtio_user1", "address": "198.18.1.1/24", "tx_desc": 128}],
    "pools": [{"name": "lg", "backends": [
        {"name": "lg1", "address": "198.18.1.2", "port": 8080},
        {"name": "lg2", "address": "198.18.1.2", "port": 8081}]}],
    "listeners": [{"name": "web", "address": "198.18.0.1", "port": 80,
                   "mode": "http", "pool": "lg"}],
}


def loadgen_cmd(prefix, sockdir, *args):
    return [str(LOADGEN), "-l", "0", "--no-pci", "--file-prefix", prefix,
            "--no-huge", "-m", "512",
            "--vdev", f"net_vhost0,iface={sockdir}/client.sock,client=1",
            "--vdev", f"net_vhost1,iface={sockdir}/backend.sock,client=1",
            "--", "--client", "net_vhost0", "--server", "net_vhost1",
            "--listen", "8080,8081", "--idle", "adaptive", "--json", *args]


class Bed:
    """A gateway on virtio_user ports and a loadgen on the vhost ends."""

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        # Socket paths must stay short (108 bytes): not under pytest's tmp.
        self.sockdir = Path(tempfile.mkdtemp(prefix="sl-lg-", dir="/tmp"))
        cfg = self.tmp / "gw.json"
        cfg.write_text(json.dumps(GW_CONF))
        self.gw = Gateway(cfg, self.tmp, lcores="0,1", pmd="virtio_user")
        # The gateway is not on the testbed: its ports are virtio_user.
        self.gw.cmd = [
            str(self.gw.cmd[0]), "-l", "0,1", "--no-pci",
            "--file-prefix", self.gw.prefix, "--no-huge", "-m", "1024",
            "--vdev", f"net_virtio_user0,path={self.sockdir}/client.sock,queues=1,server=1",
            "--vdev", f"net_virtio_user1,path={self.sockdir}/backend.sock,queues=1,server=1",
            "--", "-c", str(cfg)]
        self.lg_prefix = self.gw.prefix.replace("sl-it-", "sl-lg-")
        self.lg = None
        self.lg_err = None
        self.report = None
        self.baseline = None

    def run(self, *args, timeout=60):
        """Start both, wait for the loadgen's report; leave both running."""
        self.gw.start(wait=False)
        # The gateway's virtio_user (server=1) waits in probe for the peer.
        wait_until(lambda: (self.sockdir / "client.sock").exists()
                   or self.gw.proc.poll() is not None, 10)
        self.lg_err = open(self.tmp / "loadgen.err", "w")
        self.lg = subprocess.Popen(
            loadgen_cmd(self.lg_prefix, self.sockdir, "--warmup", "1.5",
                        "--hold", "120", *args),
            stdout=subprocess.PIPE, stderr=self.lg_err, text=True)
        up = wait_until(lambda: "running:" in self.gw.log() and self.info(), 20)
        assert up, self.gw.log()[-3000:]
        self.baseline = self.gw.tel.query("/sluice/info")["mbufs_in_use"]
        line = read_line(self.lg, timeout)
        assert line, "no report from sluice-loadgen:\n" + self.errors()
        self.report = json.loads(line)
        return self.report

    def info(self):
        try:
            return self.gw.tel.query("/sluice/info")
        except (OSError, ValueError):
            return None

    def errors(self):
        try:
            return (self.tmp / "loadgen.err").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    # virtio frees sent mbufs lazily (when its TX ring runs low), so after
    # the load each TX ring may still hold up to its size. A leak of one
    # mbuf per request would go far past this (thousands per run).
    MBUF_SLACK = 32 + 2 * 128

    def back_to_baseline(self):
        """Every gateway connection closed, mbufs back within the TX rings."""
        tcp = wait_until(lambda: (t := self.gw.tel.query("/sluice/tcp")["total"])
                         ["conns_active"] == 0 and t, 15)
        assert tcp, self.gw.tel.query("/sluice/tcp")["total"]
        http = self.gw.tel.query("/sluice/http")
        assert http["inflight"] == 0 and http["clients"] == 0, http
        used = wait_until(lambda: abs(self.gw.tel.query("/sluice/info")["mbufs_in_use"]
                                      - self.baseline) <= self.MBUF_SLACK, 10)
        assert used, (self.gw.tel.query("/sluice/info")["mbufs_in_use"], self.baseline)

    def stop(self):
        """Gateway first, while the loadgen still holds the links."""
        rc, _ = self.gw.stop(timeout=5)
        lg_rc = None
        if self.lg is not None:
            lg_rc, _, _ = stop_proc(self.lg, timeout=10)
        return rc, lg_rc

    def cleanup(self):
        self.gw.stop(sig=signal.SIGKILL, timeout=5)
        self.gw.cleanup()
        if self.lg is not None and self.lg.poll() is None:
            self.lg.kill()
            self.lg.wait(timeout=10)
        if self.lg is not None and self.lg.stdout:
            self.lg.stdout.close()
        if self.lg_err is not None:
            self.lg_err.close()
        subprocess.run(["rm", "-rf", str(RUNTIME_DIR / self.lg_prefix)], check=False)
        shutil.rmtree(self.sockdir, ignore_errors=True)


@pytest.fixture
def bed(tmp_path):
    if not LOADGEN.exists():
        pytest.fail(f"{LOADGEN} is missing: build first")
    b = Bed(tmp_path)
    try:
        yield b
    finally:
        b.cleanup()


def check_run(bed, rep):
    """Zero errors; the gateway saw exactly what the loadgen counted."""
    assert rep["errors_total"] == 0, (rep["errors"], bed.errors())
    assert rep["requests"] > 0 and rep["requests_per_s"] > 0, rep
    assert rep["responses"] == rep["requests"] == rep["issued"], rep
    assert rep["server"]["requests"] == rep["requests"], rep
    http = bed.gw.tel.query("/sluice/http")
    assert http["requests"] == rep["requests"], (http, rep)
    assert http["status_2xx"] == rep["requests"], (http, rep)
    idle = rep.get("idle", {}).get("established", 0)
    assert http["client_conns"] == rep["connections"] + idle, (http, rep)
    lat = rep["latency_us"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99_9"] <= lat["max"], lat
    bed.back_to_baseline()
    gw_rc, lg_rc = bed.stop()
    assert gw_rc == 0, bed.gw.log()[-2000:]
    assert lg_rc == 0, bed.errors()


def test_keep_alive_closed_loop(bed):
    rep = bed.run("-c", "8", "-d", "2")
    assert rep["shape"]["keep_alive"] and not rep["shape"]["open_loop"]
    assert rep["connections"] == 8, rep
    check_run(bed, rep)


def test_new_connection_per_request(bed):
    rep = bed.run("--new-conn", "-c", "8", "-d", "2")
    assert rep["connections"] == rep["requests"], rep
    assert rep["connections_per_s"] > 0
    check_run(bed, rep)


def test_open_loop_fixed_rate(bed):
    rep = bed.run("-r", "1000", "-c", "32", "-d", "2")
    assert rep["shape"]["open_loop"]
    # The schedule is kept: 1000/s for 2 s is 2000 requests (+1 for t=0).
    assert 1990 <= rep["issued"] <= 2001, rep
    check_run(bed, rep)


def test_bodies_and_request_count(bed):
    rep = bed.run("-c", "4", "-n", "300", "-d", "20", "--request-size", "10000",
                  "--response-size", "100000")
    assert rep["requests"] == 300, rep
    assert rep["bytes_in"] >= 300 * 100000, rep
    check_run(bed, rep)


def test_idle_connections_held_through_the_load(bed):
    """--idle-conns: established and silent for the whole run, then closed;
    the gateway held each as a client connection, answered none."""
    rep = bed.run("-c", "2", "-d", "2", "--idle-conns", "3000", "--idle-ports", "1",
                  "--idle-window", "64")
    idle = rep["idle"]
    assert idle["requested"] == idle["connects"] == idle["established"] == 3000, idle
    assert idle["failed"] == idle["closed"] == idle["bytes_in"] == 0, idle
    assert idle["open_s"] > 0, idle
    # check_run: the gateway accepted the load's connections and every idle
    # one, and read requests from the load's only.
    check_run(bed, rep)


@pytest.mark.parametrize("args, message", [
    ([], "behind \"--\""),
    (["--"], "give --client PORT, --server PORT or both"),
    (["--", "--client", "p0", "--bogus"], "unknown option \"--bogus\""),
    (["--", "--client", "p0", "-c", "0"], "--connections \"0\": out of range"),
    (["--", "--client", "p0", "-d", "abc"], "--duration \"abc\": expected a number"),
    (["--", "--client", "p0", "-d", "99999"], "--duration \"99999\": out of range"),
    (["--", "--client", "p0", "--target", "198.18.0.1"], "expected IP:PORT"),
    (["--", "--server", "p1", "--listen", "80,x"], "--listen \"x\""),
    (["--", "--client", "p0", "--client-addr", "10.0.0.300/24"], "--client-addr"),
    (["--", "--client", "p0", "--idle", "lazy"], "expected busy or adaptive"),
    (["--", "--client", "p0", "--server", "p0"], "must be different ports"),
    (["--", "--server", "p1", "--idle-conns", "10"], "--idle-conns needs --client"),
    (["--", "--client", "p0", "--idle-conns", "200000", "--idle-ports", "2"],
     "need --idle-ports 4 or more"),
    (["--", "--client", "p0", "--target", "198.18.0.1:65535", "--idle-conns", "70000"],
     "passes 65535"),
])
def test_bad_arguments(args, message):
    """Refused before EAL starts: a clear message and exit status 2."""
    r = subprocess.run([str(LOADGEN), *args], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert message in r.stderr, r.stderr


def test_bench_capacity_script(tmp_path):
    """scripts/bench-capacity.sh end to end, tiny: both load shapes and one
    idle-memory row come out as numbers (the figures are not judged here)."""
    out = tmp_path / "cap.txt"
    env = dict(os.environ, IDLE_SIZES="2000", SL_CAP_OUT=str(out),
               SLUICE_LOADGEN_BIN=str(LOADGEN))
    # 3 s, not 1: on a loaded machine the script's first telemetry read
    # came after a 1 s load had ended, and a figure was "-".
    p = subprocess.Popen(["bash", str(REPO / "scripts" / "bench-capacity.sh"), "-t", "3",
                          "-c", "8"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    try:
        stdout, stderr = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    r = subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    lines = r.stdout.splitlines()
    for shape in ("keep-alive", "new-conn-per-request"):
        row = next(l for l in lines if l.startswith(shape)).split()
        assert float(row[1]) > 0 and float(row[5]) > 0 and row[8] == "0", row
    row = next(l for l in lines if l.startswith("2000 ")).split()
    assert row[1] == "2000", row           # every idle connection established
    assert 0 < float(row[5]) < 1_000_000, row   # heap bytes per connection
    ka, nc = (float(x) for x in out.read_text().split())
    assert ka > 0 and nc > 0
    # This run's (the script names them after its pid): another bench run
    # on the machine has its own, and they are not ours to judge.
    assert not list(RUNTIME_DIR.glob(f"sl-cap-*-{p.pid}")), "runtime dirs left behind"


def test_help():
    r = subprocess.run([str(LOADGEN), "--help"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0 and "--new-conn" in r.stdout and "--rate" in r.stdout
