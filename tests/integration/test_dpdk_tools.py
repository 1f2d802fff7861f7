"""The stock DPDK tools against the gateway: dpdk-telemetry.py runs every
/sluice read command and its help, dpdk-dumpcap attaches as a secondary and
captures a ping (or, on a --no-huge primary, is refused as documented)."""

import json
import re
import subprocess
import time

from harness.sluice_env import CLIENT_NS, GW_CLIENT_IP, hugepages_available, in_ns, run


def test_stock_dpdk_telemetry_py(gateway):
    """Operators use the stock client: every /sluice read command works there.
    (That `/` lists exactly what docs/operations.md lists is
    test_telemetry_read.py's job; write commands are not sent here.)"""
    listing = gateway.tel.query("/")
    cmds = ["/sluice/arp", "/sluice/backends", "/sluice/breakers",
            "/sluice/conns", "/sluice/events", "/sluice/health", "/sluice/http",
            "/sluice/info", "/sluice/lcores", "/sluice/pools",
            "/sluice/ports", "/sluice/routes", "/sluice/set_weight",
            "/sluice/tcp"]
    assert set(cmds) <= set(listing), sorted(set(cmds) - set(listing))
    # set_weight without parameters answers its usage and changes nothing.
    script = "\n".join([c if c != "/sluice/backends" else "/sluice/backends,web"
                         for c in cmds] + [f"/help,{c}" for c in cmds]) + "\n"
    out = run(["dpdk-telemetry.py", "-f", gateway.prefix], input=script,
              timeout=30).stdout
    for c in cmds:
        m = re.search(r'\{"%s": (\{.*?\})\}\n' % re.escape(c), out)
        assert m, f"{c} missing from dpdk-telemetry.py output"
        json.loads(m.group(1))
        assert f'"/help": {{"{c}": "' in out


def test_dpdk_dumpcap_captures(gateway, tmp_path):
    """The stock dpdk-dumpcap attaches as a secondary and captures a ping."""
    out = tmp_path / "cap.pcapng"
    dumpcap = subprocess.Popen(
        ["dpdk-dumpcap", "--file-prefix", gateway.prefix, "-i", "net_af_xdp0",
         "-c", "6", "-w", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(2)   # let it attach before the traffic starts
        in_ns(CLIENT_NS, "ping", "-c", "5", "-i", "0.2", GW_CLIENT_IP, check=False)
        text, _ = dumpcap.communicate(timeout=20)
    finally:
        if dumpcap.poll() is None:
            dumpcap.kill()
            dumpcap.wait()
    if not hugepages_available():
        # Documented limit: a --no-huge primary shares no memory with
        # secondaries, so dumpcap cannot attach at all.
        assert dumpcap.returncode != 0, text
        return
    assert dumpcap.returncode == 0, text
    assert re.search(r"received/dropped on interface 'net_af_xdp0': 6/0", text), text
    shown = run(["tshark", "-r", str(out)]).stdout
    assert "Echo (ping) request" in shown and "Echo (ping) reply" in shown, shown
