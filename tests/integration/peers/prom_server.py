"""Debian's Prometheus, run by a test on its own config, storage and
loopback port (test_dashboard, test_incident_replay)."""

import json
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from harness.sluice_env import stop_proc, wait_until

PROMETHEUS = Path("/usr/bin/prometheus")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """Debian's prometheus on its own config, storage and loopback port,
    scraping one exporter every `interval` (and evaluating `rules`, a
    rules file, as often)."""

    def __init__(self, workdir, target, interval="1s", rules=None):
        self.dir = Path(workdir)
        self.config = self.dir / "prometheus.yml"
        self.config.write_text(
            f"global: {{ scrape_interval: {interval}, evaluation_interval: {interval} }}\n"
            + (f"rule_files: [ '{rules}' ]\n" if rules else "")
            + "scrape_configs:\n"
            "  - job_name: sluice\n"
            f"    static_configs: [ {{ targets: [ '{target}' ] }} ]\n")
        self.proc = None
        self.url = None

    def start(self, timeout=30):
        for _ in range(3):          # the free port may be taken meanwhile
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            self.log = open(self.dir / f"prometheus-{port}.log", "w")
            self.proc = subprocess.Popen(
                [str(PROMETHEUS), f"--config.file={self.config}",
                 f"--storage.tsdb.path={self.dir / f'data-{port}'}",
                 f"--web.listen-address=127.0.0.1:{port}",
                 "--storage.tsdb.retention.time=1h", "--log.level=warn"],
                stdout=self.log, stderr=subprocess.STDOUT)
            if wait_until(self.ready, timeout=timeout, step=0.2):
                return self
            self.stop()
        raise RuntimeError("prometheus did not become ready: "
                           + (self.dir / f"prometheus-{port}.log").read_text()[-2000:])

    def ready(self):
        if self.proc.poll() is not None:
            return True         # gone: start() sees it below
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def api(self, path, **params):
        """The JSON answer of an API call, errors (HTTP 400/422) included."""
        url = f"{self.url}/api/v1/{path}?" + urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            stop_proc(self.proc, timeout=10)
        if getattr(self, "log", None):
            self.log.close()


    def alerts(self, name=None, state="firing"):
        """The alerts in `state` (all with None), of one name or all."""
        got = self.api("alerts").get("data", {}).get("alerts", [])
        return [a for a in got if (name is None or a["labels"].get("alertname") == name)
                and (state is None or a["state"] == state)]
