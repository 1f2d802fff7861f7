"""What the core read commands report is true of the running gateway:
/sluice/info (version, config path and digest, pools), /sluice/ports (the
ports, their addresses, MACs and counters), /sluice/lcores (cycle accounting
and adaptive sleeps) and /sluice/arp's paging. (That every command has the
documented fields and types is test_telemetry_read.py's job.)"""

import re
from pathlib import Path

from harness.sluice_env import CLIENT_NS, GW_CLIENT_IP, REPO, in_ns, run


def test_telemetry_info(gateway):
    info = gateway.tel.query("/sluice/info")
    assert info["version"] == run([str(REPO / "build/app/sluice"), "--version"]
                                  ).stdout.split()[1]
    assert info["config_path"] == gateway.config
    assert re.fullmatch(r"[0-9a-f]{64}", info["config_sha256"])
    import hashlib
    assert info["config_sha256"] == hashlib.sha256(
        Path(gateway.config).read_bytes()).hexdigest()
    assert info["workers"] == 1 and info["ports"] == 2
    assert info["uptime_ms"] > 0
    assert 0 < info["mbufs_in_use"] < info["mbufs_total"]
    assert info["idle_policy"] == "adaptive"


def test_telemetry_ports(gateway):
    ports = {k: v for k, v in gateway.tel.query("/sluice/ports").items()
             if isinstance(v, dict)}
    assert set(ports) == {"net_af_xdp0", "net_af_xdp1"}
    p0 = ports["net_af_xdp0"]
    assert p0["address"] == "198.18.0.1/24"
    assert p0["link"] == "up"
    assert p0["mac"].lower() == Path("/sys/class/net/slc0/address").read_text().strip()
    for key in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
                "drop_ip_bad_cksum", "drop_eth_unknown_type", "drops_total"):
        assert isinstance(p0[key], int), key


def test_telemetry_lcores(gateway):
    in_ns(CLIENT_NS, "ping", "-c", "20", "-i", "0.01", GW_CLIENT_IP, check=False)
    lcores = {k: v for k, v in gateway.tel.query("/sluice/lcores").items()
              if isinstance(v, dict)}
    assert list(lcores) == ["1"]
    lc = lcores["1"]
    assert lc["packets"] >= 20
    assert lc["busy_cycles"] > 0 and lc["idle_cycles"] > lc["busy_cycles"]
    assert lc["cycles_per_packet"] == lc["busy_cycles"] // lc["packets"]
    assert lc["busy_pct_x100"] == (lc["busy_cycles"] * 10000 //
                                   (lc["busy_cycles"] + lc["idle_cycles"]))
    # Adaptive idle really sleeps when there is nothing to do.
    assert lc["sleeps"] > 0


def test_telemetry_arp_paging(gateway):
    in_ns(CLIENT_NS, "ping", "-c", "1", GW_CLIENT_IP, check=False)
    page0 = gateway.tel.query("/sluice/arp,0")
    assert page0["page"] == 0 and page0["total"] >= 1 and page0["pages"] >= 1
    empty = gateway.tel.query("/sluice/arp,99")
    assert empty["page"] == 99
    assert not [v for v in empty.values() if isinstance(v, dict)]
    bad = gateway.tel.query("/sluice/arp,notanumber")
    assert bad is None or not isinstance(bad, dict) or "total" not in bad
