"""Shared helpers for the integration tests: the built binary, the testbed,
a running gateway and its telemetry socket. Standard library only."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "scripts"))
import sluice_telemetry  # noqa: E402  (scripts/, the one telemetry client)
SLUICE = Path(os.environ.get("SLUICE_BIN", REPO / "build" / "app" / "sluice"))
TESTBED = REPO / "scripts" / "testbed.sh"
RUNTIME_DIR = Path("/var/run/dpdk")
HUGE_DIR = Path("/dev/hugepages")

CLIENT_NS = "sl-client"
BACKEND_NS = "sl-backend"
GW_CLIENT_IP = "198.18.0.1"
GW_BACKEND_IP = "198.18.1.1"


def hugepages_available():
    """deps.sh records whether it could set hugepages up; else look ourselves."""
    marker = Path("/run/sluice/hugepages")
    if marker.exists():
        return marker.read_text().strip() == "yes"
    try:
        free = int(re.search(r"HugePages_Free:\s+(\d+)",
                             Path("/proc/meminfo").read_text()).group(1))
    except (AttributeError, OSError):
        return False
    return free >= 64 and os.path.ismount(HUGE_DIR)


def run(cmd, check=True, timeout=60, **kw):
    """Run a command (list), return CompletedProcess with text output."""
    return subprocess.run(cmd, check=check, timeout=timeout, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def in_ns(ns, *cmd, **kw):
    return run(["ip", "netns", "exec", ns, *cmd], **kw)


class Telemetry:
    """The gateway's telemetry socket through scripts/sluice_telemetry.py,
    the client sluicectl and the exporter use: one connection per query, so
    a test holds none of the gateway's few client slots between queries.
    Errors are sluice_telemetry.TelemetryError, an OSError."""

    def __init__(self, prefix, timeout=5.0):
        self.path = sluice_telemetry.socket_path(prefix)
        self.timeout = timeout

    def session(self):
        """One connection for many queries (a with-block)."""
        return sluice_telemetry.Telemetry(self.path, self.timeout)

    def query(self, cmd):
        with self.session() as tel:
            return tel.query(cmd)


# SLUICE_TEST_WORKERS=N runs every Gateway with N worker lcores (EAL
# --lcores mapping N+1 lcores onto this machine's CPUs; the example config's
# "adaptive" idle policy lets them share cores). SLUICE_TEST_PMD=tap drives
# the testbed through net_tap ports instead of af_xdp (TapPorts below).
TEST_WORKERS = int(os.environ.get("SLUICE_TEST_WORKERS", "1"))
TEST_PMD = os.environ.get("SLUICE_TEST_PMD", "af_xdp")


def eal_lcores(workers):
    """EAL --lcores for the main lcore plus `workers` workers, lcore i on
    CPU i mod ncpu: '0@0,1@1,2@0' for two workers on two CPUs."""
    ncpu = os.cpu_count() or 1
    return ",".join(f"{i}@{i % ncpu}" for i in range(workers + 1))


class TapPorts:
    """The testbed through net_tap instead of af_xdp: the gateway creates
    the taps sltc0/sltb0 (one kernel queue per worker), and attach() moves
    their kernel ends into sl-client/sl-backend with the addresses and
    routes the veths had (the veth peers are flushed meanwhile). detach()
    puts the testbed back (scripts/testbed.sh up is idempotent)."""

    SIDES = ((CLIENT_NS, "sltc0", "slc1", "198.18.0", "198.18.1.0/24", GW_CLIENT_IP),
             (BACKEND_NS, "sltb0", "slb1", "198.18.1", "198.18.0.0/24", GW_BACKEND_IP))
    RENAME = {"net_af_xdp0": "net_tap0", "net_af_xdp1": "net_tap1"}

    @staticmethod
    def vdevs():
        return ["--vdev", "net_tap0,iface=sltc0", "--vdev", "net_tap1,iface=sltb0"]

    @classmethod
    def config(cls, path):
        """A copy of the config whose af_xdp ports are the taps."""
        conf = json.loads(Path(path).read_text())
        for p in conf.get("ports", []):
            p["name"] = cls.RENAME.get(p["name"], p["name"])
        out = Path(str(path) + ".tap.json")
        out.write_text(json.dumps(conf, indent=2))
        return str(out)

    @classmethod
    def attach(cls):
        for ns, tap, veth, net, other, gw in cls.SIDES:
            run(["ip", "link", "set", tap, "netns", ns])
            in_ns(ns, "ip", "addr", "flush", "dev", veth)
            in_ns(ns, "sysctl", "-qw", f"net.ipv6.conf.{tap}.disable_ipv6=1", check=False)
            for h in range(2, 10):
                in_ns(ns, "ip", "addr", "replace", f"{net}.{h}/24", "dev", tap)
            in_ns(ns, "ip", "link", "set", tap, "up")
            # Partial checksums would reach DPDK unfinished (TESTBED.md).
            in_ns(ns, "ethtool", "-K", tap, "tx", "off", "tso", "off", "gso", "off",
                  check=False)
            in_ns(ns, "ip", "route", "replace", other, "via", gw, "dev", tap)

    @staticmethod
    def detach():
        # The taps die with the gateway's file descriptors; bring the
        # veth side back as the testbed made it.
        run([str(TESTBED), "up"], check=False)


class Gateway:
    """A sluice process on the testbed. Always stop() it (fixtures do).
    `workers` and `pmd` default to SLUICE_TEST_WORKERS and SLUICE_TEST_PMD;
    a test that passes `lcores` itself keeps EAL's -l with it."""

    def __init__(self, config_path, workdir, extra_eal=(), lcores=None,
                 workers=None, pmd=None):
        self.prefix = f"sl-it-{os.getpid()}-{int(time.time() * 1000) % 100000}"
        self.workers = workers or (1 if lcores else TEST_WORKERS)
        self.pmd = pmd or TEST_PMD
        self.config = str(config_path)
        if self.pmd == "tap":
            self.config = TapPorts.config(self.config)
            ports = TapPorts.vdevs()
        else:
            ports = ["--vdev", "net_af_xdp0,iface=slc0",
                     "--vdev", "net_af_xdp1,iface=slb0"]
        self.log_path = Path(workdir) / f"{self.prefix}.log"
        if lcores is not None or self.workers == 1:
            cores = ["-l", lcores or "0,1"]
        else:
            cores = ["--lcores", eal_lcores(self.workers)]
        eal = [*cores, "--no-pci", "--file-prefix", self.prefix, *ports, *extra_eal]
        if not hugepages_available():
            eal += ["--no-huge", "-m", "1024"]
        self.cmd = [str(SLUICE), *eal, "--", "-c", self.config]
        self.proc = None
        self.tel = Telemetry(self.prefix)
        self.returncode = None
        self.stop_seconds = None
        self._tap_attached = False

    def start(self, wait=True, timeout=30):
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdout=self._log,
                                     stderr=subprocess.STDOUT, text=True)
        if not wait:
            return self
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluice exited with {self.proc.returncode}:\n"
                                   + self.log())
            if "running:" in self.log():
                try:
                    self.tel.query("/sluice/info")
                    if self.pmd == "tap" and not self._tap_attached:
                        self._tap_attached = True
                        TapPorts.attach()
                    return self
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError("sluice did not come up in time:\n" + self.log())

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_exit(self, timeout):
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self, sig=signal.SIGTERM, timeout=2.0):
        """Signal the gateway; return (exit code or None, seconds taken)."""
        if self.proc is None:
            return None, 0.0
        if self.proc.poll() is None:
            t0 = time.monotonic()
            self.proc.send_signal(sig)
            rc = self.wait_exit(timeout)
            self.stop_seconds = time.monotonic() - t0
        else:
            rc = self.proc.returncode
            self.stop_seconds = 0.0
        self.returncode = rc
        return rc, self.stop_seconds

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.pmd == "tap":
            TapPorts.detach()
        if getattr(self, "_log", None):
            self._log.close()
        # EAL leaves its runtime dir and hugepage files behind; remove ours.
        run(["rm", "-rf", str(RUNTIME_DIR / self.prefix)], check=False)
        for f in HUGE_DIR.glob(f"{self.prefix}map_*"):
            f.unlink(missing_ok=True)


def write_config(path, **overrides):
    """The shipped example with top-level keys replaced."""
    conf = json.loads((REPO / "conf" / "sluice.json").read_text())
    conf.update(overrides)
    Path(path).write_text(json.dumps(conf, indent=2))
    return path


# --- Helpers for tests that run their own processes in the namespaces -------

TESTS = REPO / "tests" / "integration"   # the test modules
PEERS = TESTS / "peers"     # the backends and clients they run (by path)
PY = "/usr/bin/python3"      # Debian's python: the one pytest runs under


def ns_popen(ns, *cmd, **kw):
    """Start a command in a namespace. `ip netns exec` execs the command, so
    the Popen pid is the command's own and signals reach it directly."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("text", True)
    return subprocess.Popen(["ip", "netns", "exec", ns, *cmd], **kw)


def read_line(proc, timeout):
    """One line of proc's stdout within timeout seconds, else None."""
    import select
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([proc.stdout], [], [],
                                max(0.0, end - time.monotonic()))
        if r:
            return proc.stdout.readline()
        if proc.poll() is not None:
            return None
    return None


def stop_proc(proc, timeout=5):
    """SIGTERM, then SIGKILL; return (returncode, stdout, stderr)."""
    if proc.poll() is None:
        proc.terminate()
    try:
        o, e = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        o, e = proc.communicate(timeout=timeout)
    return proc.returncode, o, e


def last_json(text):
    """The last line of text that parses as a JSON object (None if none)."""
    for line in reversed((text or "").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


@contextlib.contextmanager
def running_gateway(config_path, workdir, settle=1.0, **kw):
    """A started Gateway for a fixture, stopped and cleaned up after. Once
    start-up traffic has settled (gratuitous ARP, RX rings filled: `settle`
    seconds), what the mbuf pools hold with no connection open is taken as
    g.mbuf_baseline, for tests that check the pools come back to it."""
    g = Gateway(config_path, workdir, **kw)
    try:
        g.start()
        time.sleep(settle)
        g.mbuf_baseline = g.tel.query("/sluice/info")["mbufs_in_use"]
        yield g
    finally:
        g.stop()
        g.cleanup()


def wait_until(pred, timeout=5.0, step=0.1):
    """Poll pred() until it returns something truthy; return its last value."""
    end = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() >= end:
            return value
        time.sleep(step)



def port_stats(gw, name):
    """One port's row of /sluice/ports (name: the DPDK port name)."""
    return gw.tel.query("/sluice/ports")[name]


def arp_entries(gw):
    """The gateway's neighbour table, {ip: row}, from /sluice/arp."""
    reply = gw.tel.query("/sluice/arp")
    return {v["ip"]: v for k, v in reply.items() if isinstance(v, dict)}

class NftTable:
    """An nftables table in a namespace for the length of a with-block,
    deleted on exit even when the block fails. body is the table's content."""

    def __init__(self, ns, name, body, family="inet"):
        self.ns, self.name, self.family, self.body = ns, name, family, body

    def __enter__(self):
        # A table left over by a killed run would make `add` merge into it.
        self.delete()
        in_ns(self.ns, "nft", "-f", "-",
              input=f"table {self.family} {self.name} {{\n{self.body}\n}}\n")
        return self

    def delete(self):
        in_ns(self.ns, "nft", "delete", "table", self.family, self.name,
              check=False)

    def __exit__(self, *exc):
        self.delete()
        return False


class Backend:
    """tests/integration/peers/backends.py (echo or sink) in a namespace."""

    def __init__(self, mode, addrs, port, ns=BACKEND_NS, lifetime=1800):
        self.cmd = [PY, str(PEERS / "backends.py"), mode, "--port", str(port),
                    "--lifetime", str(lifetime)]
        for a in addrs:
            self.cmd += ["--addr", a]
        self.ns = ns
        self.proc = None

    def start(self, timeout=15):
        self.proc = ns_popen(self.ns, *self.cmd)
        line = read_line(self.proc, timeout)
        if line is None or line.strip() != "ready":
            _, o, e = stop_proc(self.proc)
            raise RuntimeError(f"backend did not come up: {line!r} {o} {e}")
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            return stop_proc(self.proc)
        return None
