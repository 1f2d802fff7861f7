"""The graceful stop: SIGTERM, or /sluice/drain_all,
drains the gateway. Under keep-alive load, no request sent before the
drain fails: exchanges in progress finish (with Connection: close), new
connections are refused with RST, /sluice/ready (and the exporter's
sluice_ready) flips to 0 at once, and the process exits 0 when nothing is
left, well within shutdown.grace_ms. The grace ending, or a second
SIGTERM, resets what remains and exits at once; a tcp-mode session goes
on until it ends."""

import json
import signal
import subprocess
import time

import pytest

from harness.ctl_env import Exporter, ctl
from harness.prom_text import parse
from harness.sluice_env import (CLIENT_NS, PEERS, PY, Backend, Gateway, in_ns,
                                ns_popen, read_line, stop_proc, wait_until,
                                write_config)
from harness.balancing_env import ADDRS, GW, Backends

FAST, SLOW, HANG, ECHO = ADDRS[0:2], ADDRS[2], ADDRS[3], ADDRS[4]
ECHO_PORT = 9000
SLOW_MS = 4000        # a request in flight at the SIGTERM holds the drain open


@pytest.fixture(scope="module")
def backends(testbed, tmp_path_factory):
    b = Backends(tmp_path_factory.mktemp("faults") / "faults.json")
    for a in FAST + [SLOW, HANG]:
        b.start(a)
    b.set_faults({FAST[0]: "slow:5", FAST[1]: "slow:5",
                  SLOW: f"slow:{SLOW_MS}", HANG: "hang"})
    yield b
    b.stop()


@pytest.fixture(scope="module")
def echo(testbed):
    e = Backend("echo", [ECHO], ECHO_PORT).start()
    yield e
    e.stop()


@pytest.fixture
def make_gw(backends, echo, tmp_path):
    made = []

    def make(grace_ms):
        def pool(name, addrs):
            return {"name": name, "backends": [{"address": a, "port": 8080}
                                               for a in addrs]}
        cfg = write_config(
            tmp_path / "drain.json",
            pools=[pool("fast", FAST), pool("slow", [SLOW]), pool("hang", [HANG]),
                   {"name": "echo", "backends": [{"address": ECHO,
                                                  "port": ECHO_PORT}]}],
            listeners=[{"name": "web", "address": GW, "port": 80, "mode": "http",
                        "pool": "fast",
                        # By path (the backends answer these whoever they are):
                        "routes": [{"path_prefix": "/bytes/", "pool": "slow"},
                                   {"path_prefix": "/status/", "pool": "hang"}]},
                       {"name": "echo", "address": GW, "port": ECHO_PORT,
                        "mode": "tcp", "pool": "echo"}],
            http={"response_timeout_ms": 60000},
            shutdown={"grace_ms": grace_ms})
        g = Gateway(cfg, tmp_path)
        made.append(g)
        g.start()
        return g

    yield make
    for g in made:
        g.stop(signal.SIGKILL)
        g.cleanup()


def pool_inflight(g, name):
    return g.tel.query("/sluice/pools")[name]["inflight"]


def ready(g):
    return g.tel.query("/sluice/ready")


def connect_refused(n, port=80):
    """n connects from the client namespace; how many were refused (RST)."""
    code = ("import socket\nr = 0\n"
            f"for _ in range({n}):\n"
            "    try:\n"
            f"        socket.create_connection(('{GW}', {port}), timeout=5).close()\n"
            "    except ConnectionRefusedError:\n"
            "        r += 1\n"
            "print(r)\n")
    return int(in_ns(CLIENT_NS, PY, "-c", code, timeout=60).stdout.strip())


def curl_bg(path):
    """One request from the client namespace, in the background; its
    communicate() gives the status code (000: no answer)."""
    return ns_popen(CLIENT_NS, "curl", "-s", "-o", "/dev/null", "-w",
                    "%{http_code}", "--max-time", "60", f"http://{GW}{path}")


def hang_request():
    """A request the backend never answers."""
    return curl_bg("/status/200")


def test_drain_under_load_loses_no_request(make_gw):
    grace_ms = 15000
    g = make_gw(grace_ms)
    st = ready(g)
    assert (st["ready"], st["state"]) == (1, "running"), st
    assert st["grace_ms"] == grace_ms, st
    load = ns_popen(CLIENT_NS, PY, str(PEERS / "drain_load.py"), "--host", GW,
                    "-c", "6", "--slow", "2", "--slow-path", "/bytes/16",
                    "--seconds", "45")
    slow = None
    try:
        assert (read_line(load, 30) or "").strip() == "ready", stop_proc(load)
        # Both slow load connections and one more request, sent now so that
        # it has most of its 4 s to go, are in flight: the drain cannot be
        # over before the checks below.
        slow = curl_bg("/bytes/16")
        assert wait_until(lambda: pool_inflight(g, "slow") >= 3,
                          timeout=10, step=0.02), g.tel.query("/sluice/pools")
        assert load.poll() is None, "the load ended before the drain"
        t_drain = time.monotonic()
        g.proc.send_signal(signal.SIGTERM)
        st = wait_until(lambda: (s := ready(g))["ready"] == 0 and s,
                        timeout=10, step=0.01)
        assert st and st["state"] == "draining", st
        assert st["drain_reason"] == "SIGTERM", st
        st = wait_until(lambda: (s := ready(g))["workers_draining"] == s["workers"]
                        and s, timeout=10, step=0.01)
        assert st, ready(g)
        # The slow exchanges hold the drain open: new connections bounce.
        assert connect_refused(5) == 5
        st = ready(g)
        assert st["state"] == "draining" and st["refused"] >= 5, st
        assert st["conns_left"] >= 1, st
        rc = g.wait_exit(grace_ms / 1000 + 15)
        t_exit = time.monotonic() - t_drain
        out, _ = load.communicate(timeout=60)
        slow_code, _ = slow.communicate(timeout=60)
    finally:
        for p in (load, slow):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    res = json.loads(out.strip().splitlines()[-1])
    log = g.log()
    assert rc == 0, log[-3000:]
    # Done on its own (nothing left), long before the grace would end.
    assert "drain over (done)" in log, log[-3000:]
    assert t_exit < grace_ms / 1000, t_exit
    before = [f for f in res["failures"] if f[0] < t_drain]
    assert before == [], (before, res["failures"][:10])
    sent_before = [r for r in res["answered"] if r[0] < t_drain]
    assert len(sent_before) >= 20, res["ok"]
    assert all(r[3] == 200 for r in res["answered"]), \
        [r for r in res["answered"] if r[3] != 200][:10]
    # The slow requests in flight at the SIGTERM were answered after it,
    # and told the client the connection closes.
    slow_late = [r for r in sent_before if r[2].startswith("/bytes/") and r[1] > t_drain]
    assert slow_late, [r for r in res["answered"] if r[2].startswith("/bytes/")]
    assert all(r[4] for r in slow_late), slow_late
    # The fast connections ended at a refused reconnect: the drain said
    # close, the client came back while the slow ones held the drain open,
    # and was turned away.
    assert res["refused"] >= 6, {k: v for k, v in res.items() if k != "answered"}
    assert "drain started (SIGTERM)" in log
    assert slow_code.strip() == "200", slow_code


def test_second_sigterm_ends_the_drain_at_once(make_gw):
    g = make_gw(30000)
    e = Exporter("--prefix", g.prefix).start()
    hang = hang_request()
    try:
        status, _, body = e.get()
        assert status == 200 and parse(body)["sluice_ready"].value() == 1, body
        r = ctl("ready", prefix=g.prefix)
        assert (r.returncode, r.stdout) == (0, "ready (running)\n"), r
        assert wait_until(lambda: pool_inflight(g, "hang") >= 1,
                          timeout=10, step=0.02), g.tel.query("/sluice/pools")
        g.proc.send_signal(signal.SIGTERM)
        st = wait_until(lambda: (s := ready(g))["ready"] == 0 and
                        s["workers_draining"] == s["workers"] and s,
                        timeout=10, step=0.01)
        assert st and st["state"] == "draining" and st["conns_left"] >= 1, ready(g)
        status, _, body = e.get()
        assert status == 200 and parse(body)["sluice_ready"].value() == 0, body
        r = ctl("ready", prefix=g.prefix)
        assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
        assert r.stdout.startswith("not ready (draining: SIGTERM"), r.stdout
        # The hung exchange holds the drain: it is still there a while on.
        time.sleep(1.0)
        assert g.proc.poll() is None, g.log()[-2000:]
        assert hang.poll() is None
        t0 = time.monotonic()
        g.proc.send_signal(signal.SIGTERM)
        rc = g.wait_exit(15)
        took = time.monotonic() - t0
        code, _ = hang.communicate(timeout=30)
    finally:
        e.stop()
        if hang.poll() is None:
            hang.kill()
            hang.wait()
    log = g.log()
    assert rc == 0, log[-3000:]
    # At once: the 30 s grace had 28 s to go.
    assert took < 10, took
    assert "drain over (forced)" in log, log[-3000:]
    assert "1 connection(s) reset" in log, log[-3000:]
    # The client learnt at once too: reset, no answer (curl prints 000).
    assert hang.returncode != 0 and code.strip() == "000", (hang.returncode, code)


def curl_status(path="/whoami"):
    r = in_ns(CLIENT_NS, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
              "--max-time", "10", f"http://{GW}{path}", timeout=30)
    return r.stdout.strip()


def test_drain_cancel_returns_to_running_and_a_later_sigterm_drains_anew(make_gw):
    g = make_gw(30000)
    hang = hang_request()
    try:
        assert wait_until(lambda: pool_inflight(g, "hang") >= 1,
                          timeout=10, step=0.02), g.tel.query("/sluice/pools")
        r = ctl("drain-cancel", prefix=g.prefix)
        assert (r.returncode, r.stdout) == (1, "not draining\n"), r
        assert g.tel.query("/sluice/drain_all")["result"] == "draining"
        st = wait_until(lambda: (s := ready(g))["workers_draining"] == s["workers"]
                        and s, timeout=10, step=0.01)
        assert st and st["state"] == "draining", ready(g)
        assert connect_refused(3) == 3
        # Called off: the hung exchange still holds the drain open, so
        # it is not over; back to running, and new clients are served.
        r = ctl("drain-cancel", prefix=g.prefix)
        assert r.returncode == 0 and r.stdout.startswith("cancelled"), r
        st = ready(g)
        assert (st["ready"], st["state"]) == (1, "running"), st
        assert wait_until(lambda: connect_refused(3) == 0, timeout=5, step=0.1)
        assert curl_status() == "200"
        assert g.proc.poll() is None
        assert "drain cancelled after" in g.log()
        # A SIGTERM now is a new drain of its own, not the second SIGTERM
        # that forces one: the hung exchange keeps it open.
        g.proc.send_signal(signal.SIGTERM)
        st = wait_until(lambda: (s := ready(g))["ready"] == 0 and s,
                        timeout=10, step=0.01)
        assert st and st["state"] == "draining", ready(g)
        assert st["drain_reason"] == "SIGTERM", st
        time.sleep(1.0)
        assert g.proc.poll() is None, g.log()[-2000:]
        # Its second SIGTERM forces it.
        g.proc.send_signal(signal.SIGTERM)
        rc = g.wait_exit(15)
        hang.communicate(timeout=30)
    finally:
        if hang.poll() is None:
            hang.kill()
            hang.wait()
    log = g.log()
    assert rc == 0, log[-3000:]
    assert "drain over (forced)" in log, log[-3000:]
    # Only the second drain ended; the first was called off.
    assert log.count("sluice: drain over (") == 1, log[-3000:]


def test_drain_all_command_and_grace_end(make_gw):
    # Long enough for the sluicectl call below to reach a gateway that is
    # still draining on a loaded machine (a Python start can take a second
    # or more there); at 1.5 s the gateway had sometimes exited already.
    grace_ms = 5000
    g = make_gw(grace_ms)
    hang = hang_request()
    try:
        assert wait_until(lambda: pool_inflight(g, "hang") >= 1,
                          timeout=10, step=0.02), g.tel.query("/sluice/pools")
        t0 = time.monotonic()
        r = g.tel.query("/sluice/drain_all")
        assert r == {"result": "draining", "grace_ms": grace_ms}, r
        st = ready(g)
        assert st["ready"] == 0 and st["drain_reason"] == "telemetry", st
        r = ctl("drain-all", prefix=g.prefix)
        assert r.returncode == 0 and r.stdout.startswith("already draining"), r
        rc = g.wait_exit(grace_ms / 1000 + 15)
        took = time.monotonic() - t0
        code, _ = hang.communicate(timeout=30)
    finally:
        if hang.poll() is None:
            hang.kill()
            hang.wait()
    log = g.log()
    assert rc == 0, log[-3000:]
    # Not before the grace: the hung exchange had it all.
    assert took >= grace_ms / 1000 * 0.9, took
    assert "drain over (grace)" in log, log[-3000:]
    assert code.strip() == "000", code


# One echo session, driven line by line from the test: "send X" sends X and
# prints what came back; "close" closes it.
ECHO_CLIENT = f"""
import socket, sys
s = socket.create_connection(('{GW}', {ECHO_PORT}), timeout=10)
print('open', flush=True)
for line in sys.stdin:
    cmd = line.split()
    if cmd[0] == 'close':
        s.close()
        print('closed', flush=True)
        break
    s.sendall(cmd[1].encode())
    got = b''
    while len(got) < len(cmd[1]):
        got += s.recv(100)
    print('echo', got.decode(), flush=True)
"""


def test_tcp_mode_session_goes_on_while_draining(make_gw):
    """L4: a session open at the SIGTERM keeps working through the drain
    (new sessions are refused) and the gateway exits once it ends."""
    g = make_gw(20000)
    c = ns_popen(CLIENT_NS, PY, "-c", ECHO_CLIENT, stdin=subprocess.PIPE)
    try:
        assert (read_line(c, 15) or "").strip() == "open", stop_proc(c)
        c.stdin.write("send before\n")
        c.stdin.flush()
        assert (read_line(c, 15) or "").strip() == "echo before"
        g.proc.send_signal(signal.SIGTERM)
        st = wait_until(lambda: (s := ready(g))["ready"] == 0 and
                        s["workers_draining"] == s["workers"] and s,
                        timeout=10, step=0.01)
        assert st and st["conns_left"] >= 1, ready(g)
        assert connect_refused(3, ECHO_PORT) == 3
        c.stdin.write("send during\n")
        c.stdin.flush()
        assert (read_line(c, 15) or "").strip() == "echo during"
        assert g.proc.poll() is None, g.log()[-2000:]
        c.stdin.write("close\n")
        c.stdin.flush()
        assert (read_line(c, 15) or "").strip() == "closed"
        rc = g.wait_exit(15)
    finally:
        stop_proc(c)
    log = g.log()
    assert rc == 0, log[-3000:]
    assert "drain over (done)" in log, log[-3000:]


# A keep-alive client that sent one request and now waits: prints the
# status, then how its connection ended once the gateway closes it.
IDLE_CLIENT = f"""
import socket
s = socket.create_connection(('{GW}', 80), timeout=30)
s.sendall(b'GET /whoami HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
got = b''
while b'\\r\\n\\r\\n' not in got:
    got += s.recv(4096)
print(got.split()[1].decode(), flush=True)
try:
    while s.recv(4096):
        pass
    print('eof', flush=True)
except OSError as e:
    print('error', e, flush=True)
"""


def test_idle_keepalive_connection_closed_by_the_drain(make_gw):
    g = make_gw(20000)
    idle = ns_popen(CLIENT_NS, PY, "-c", IDLE_CLIENT)
    slow = None
    try:
        assert (read_line(idle, 15) or "").strip() == "200", stop_proc(idle)
        assert g.tel.query("/sluice/http")["clients"] == 1
        # A slow exchange keeps the gateway up to be asked afterwards.
        slow = curl_bg("/bytes/16")
        assert wait_until(lambda: pool_inflight(g, "slow") >= 1,
                          timeout=10, step=0.02), g.tel.query("/sluice/pools")
        t0 = time.monotonic()
        g.proc.send_signal(signal.SIGTERM)
        # Closed by the gateway with a FIN (not reset), about 500 ms on.
        assert (read_line(idle, 15) or "").strip() == "eof"
        took = time.monotonic() - t0
        st = ready(g)
        assert st["state"] == "draining" and st["idle_closed"] == 1, st
        rc = g.wait_exit(30)
        slow_code, _ = slow.communicate(timeout=30)
    finally:
        for p in (idle, slow):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    assert 0.3 < took < 10, took
    assert rc == 0, g.log()[-3000:]
    assert slow_code.strip() == "200"
    assert "drain over (done)" in g.log()
