"""Helpers shared by test_sluicectl.py and test_exporter.py: run the two
operator tools, start HTTP backends for the shipped example config, send a
counted number of requests through the gateway, scrape the exporter."""

import json
import os
import re
import subprocess
import urllib.error
import urllib.request

from harness.sluice_env import (BACKEND_NS, CLIENT_NS, PEERS, PY, REPO, in_ns,
                                ns_popen, read_line, stop_proc)

SLUICECTL = REPO / "scripts" / "sluicectl"
EXPORTER = REPO / "scripts" / "sluice-exporter"
GW = "198.18.0.1"
# conf/sluice.json: web = .2 .3 .4, api = .5, all on port 8080.
WEB_ADDRS = ["198.18.1.2", "198.18.1.3", "198.18.1.4"]
API_ADDR = "198.18.1.5"


def ctl(*args, prefix=None, env=None, timeout=60, python=None):
    """Run sluicectl (through its #! line unless python is given)."""
    cmd = ([python, str(SLUICECTL)] if python else [str(SLUICECTL)])
    if prefix is not None:
        cmd += ["--prefix", prefix]
    cmd += [str(a) for a in args]
    e = dict(os.environ)
    e.pop("SLUICE_PREFIX", None)
    e.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=e)


def ctl_json(*args, prefix=None):
    r = ctl("--json", *args, prefix=prefix)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return json.loads(r.stdout)


class HttpBackends:
    """tests/integration/peers/http_backend.py on every backend address of the
    example config, one process (in sl-backend)."""

    def __init__(self, addrs=WEB_ADDRS + [API_ADDR], port=8080):
        self.cmd = [PY, str(PEERS / "http_backend.py"), "--port", str(port),
                    "--lifetime", "900"]
        for a in addrs:
            self.cmd += ["--addr", a]
        self.proc = None

    def start(self):
        self.proc = ns_popen(BACKEND_NS, *self.cmd)
        line = read_line(self.proc, 15)
        if (line or "").strip() != "ready":
            _, o, e = stop_proc(self.proc)
            raise RuntimeError(f"http backends did not come up: {line!r} {o} {e}")
        return self

    def stop(self):
        if self.proc is not None:
            stop_proc(self.proc)


def load(n, path="/whoami", c=1, rate=0, timeout=120):
    """Exactly n requests through the gateway; the load client's summary."""
    args = [PY, str(PEERS / "http_load.py"), "--url", f"http://{GW}{path}",
            "-n", str(n), "-c", str(c), "--body-key"]
    if rate:
        args += ["--rate", str(rate)]
    r = in_ns(CLIENT_NS, *args, timeout=timeout)
    return json.loads(r.stdout.strip().splitlines()[-1])


def load_async(n, path="/whoami", c=1, rate=0):
    """The same, in the background: a Popen to wait on."""
    args = [PY, str(PEERS / "http_load.py"), "--url", f"http://{GW}{path}",
            "-n", str(n), "-c", str(c)]
    if rate:
        args += ["--rate", str(rate)]
    return ns_popen(CLIENT_NS, *args)


class Exporter:
    """scripts/sluice-exporter on 127.0.0.1 and a free port."""

    def __init__(self, *args):
        self.args = [str(EXPORTER), "--listen", "127.0.0.1:0", *args]
        self.proc = None
        self.url = None

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = read_line(self.proc, 15) or ""
        m = re.search(r"(http://127\.0\.0\.1:\d+)/metrics", line)
        if not m:
            _, o, e = stop_proc(self.proc)
            raise RuntimeError(f"exporter did not start: {line!r} {o} {e}")
        self.url = m.group(1)
        return self

    def get(self, path="/metrics", method="GET"):
        """(status, headers, body) of one request, 4xx/5xx included."""
        req = urllib.request.Request(self.url + path, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM; (returncode, stdout, stderr)."""
        if self.proc is not None:
            return stop_proc(self.proc)
        return None
