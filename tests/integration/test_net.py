"""The network layer (lib/net) on the testbed: the gateway answers ARP and
ping on both ports, resolves neighbours itself, counts every drop by reason,
and gives back the mbufs it used."""

from harness.sluice_env import (BACKEND_NS, CLIENT_NS, GW_BACKEND_IP, GW_CLIENT_IP,
                                arp_entries, in_ns, port_stats, wait_until)


def ns_mac(ns, iface):
    return in_ns(ns, "cat", f"/sys/class/net/{iface}/address").stdout.strip()


def test_ping_100_from_client(gateway):
    out = in_ns(CLIENT_NS, "ping", "-c", "100", "-i", "0.01", "-W", "1",
                GW_CLIENT_IP, timeout=60, check=False).stdout
    assert "100 packets transmitted, 100 received, 0% packet loss" in out, out
    stats = port_stats(gateway, "net_af_xdp0")
    assert stats["icmp_echo_replies"] >= 100


def test_ping_backend_side(gateway):
    out = in_ns(BACKEND_NS, "ping", "-c", "20", "-i", "0.01", "-W", "1",
                GW_BACKEND_IP, timeout=30, check=False).stdout
    assert "20 received, 0% packet loss" in out, out


def test_arp_resolved_both_ways(gateway):
    in_ns(CLIENT_NS, "ping", "-c", "3", "-i", "0.05", GW_CLIENT_IP, check=False)
    ours = port_stats(gateway, "net_af_xdp0")["mac"].lower()
    # The kernel learned our MAC...
    neigh = in_ns(CLIENT_NS, "ip", "neigh", "show", GW_CLIENT_IP).stdout
    assert ours in neigh.lower() and "FAILED" not in neigh, neigh
    # ...and we learned the client's, from its request.
    entry = arp_entries(gateway).get("198.18.0.2")
    assert entry is not None
    assert entry["mac"].lower() == ns_mac(CLIENT_NS, "slc1")
    assert entry["state"] in ("reachable", "stale")
    assert entry["port"] == "net_af_xdp0"


def test_gateway_resolves_unknown_next_hop(gateway):
    """Ping from a source the gateway has never heard ARP from: to answer, it
    must ask for that address itself, and queue the reply until it resolves."""
    ours = port_stats(gateway, "net_af_xdp0")["mac"]
    src = "198.18.0.7"
    assert src not in arp_entries(gateway)
    # A permanent entry means the kernel never ARPs for the gateway.
    in_ns(CLIENT_NS, "ip", "neigh", "replace", GW_CLIENT_IP, "lladdr", ours,
          "nud", "permanent", "dev", "slc1")
    before = port_stats(gateway, "net_af_xdp0")["arp_requests_sent"]
    try:
        out = in_ns(CLIENT_NS, "ping", "-c", "3", "-i", "0.2", "-W", "2",
                    "-I", src, GW_CLIENT_IP, check=False).stdout
    finally:
        in_ns(CLIENT_NS, "ip", "neigh", "del", GW_CLIENT_IP, "dev", "slc1",
              check=False)
    assert "3 received" in out, out
    after = port_stats(gateway, "net_af_xdp0")["arp_requests_sent"]
    assert after >= before + 1
    entry = arp_entries(gateway).get(src)
    assert entry is not None and entry["state"] == "reachable"
    assert entry["mac"].lower() == ns_mac(CLIENT_NS, "slc1")
    assert port_stats(gateway, "net_af_xdp0")["drop_arp_unresolved"] == 0


def udp_send(ns, dst, port):
    code = ("import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM);"
            f"[s.sendto(b'x' * 10, ('{dst}', {port})) for _ in range(5)]")
    in_ns(ns, "/usr/bin/python3", "-c", code)


def test_drops_are_counted_by_reason(gateway):
    before = port_stats(gateway, "net_af_xdp0")
    udp_send(CLIENT_NS, GW_CLIENT_IP, 9999)
    # 3000-byte pings are fragmented by the kernel: we drop fragments.
    in_ns(CLIENT_NS, "ping", "-c", "2", "-i", "0.1", "-W", "1", "-s", "3000",
          GW_CLIENT_IP, check=False)
    # A TCP connect to a port no listener serves: RST, counted.
    in_ns(CLIENT_NS, "/usr/bin/python3", "-c",
          "import socket; s=socket.socket(); s.settimeout(0.5)\n"
          "try: s.connect(('198.18.0.1', 7))\nexcept OSError: pass",
          check=False)
    after = wait_until(lambda: (s := port_stats(gateway, "net_af_xdp0"))
                       ["drop_udp_no_handler"] >= before["drop_udp_no_handler"] + 5 and s,
                       step=0.05)
    assert after, "UDP drops not counted"
    assert after["drop_ip_fragment"] >= before["drop_ip_fragment"] + 4
    assert after["drop_tcp_no_listener"] > before["drop_tcp_no_listener"]
    total = sum(v for k, v in after.items() if k.startswith("drop_"))
    assert after["drops_total"] == total
    assert after["rx_packets"] > before["rx_packets"]


def test_mbufs_back_to_baseline(gateway):
    base = gateway.tel.query("/sluice/info")["mbufs_in_use"]
    in_ns(CLIENT_NS, "ping", "-c", "200", "-i", "0.002", "-s", "1000",
          GW_CLIENT_IP, check=False, timeout=30)
    udp_send(CLIENT_NS, GW_CLIENT_IP, 7)
    assert wait_until(lambda: gateway.tel.query("/sluice/info")["mbufs_in_use"] == base,
                      step=0.05), \
        "mbufs did not return to the baseline"
