"""The bulk echo under loss at full size: 200 MB through "mode": "tcp", echoed
back, with 3% random loss each way injected by nftables in sl-client, must
arrive byte-exact.

It runs on net_tap ports; test_tcp_proxy.py does the same on af_xdp. Two
PMDs with different TX paths (a tap file descriptor, an XSK ring) show that
what recovers from the loss is Sluice's TCP, not one driver's timing.
SLUICE_TAP_LOSS_MB turns the size down for a slow machine (default 200).
"""

import os

import pytest

from harness import tcp_env as tp
from harness.sluice_env import CLIENT_NS, GW_CLIENT_IP, NftTable, running_gateway, wait_until

# The same echo backends (a module-scoped fixture: this module gets its own).
echo_backends = tp.echo_backends

LOSS_BYTES = int(os.environ.get("SLUICE_TAP_LOSS_MB", "200")) * 1000 * 1000


@pytest.fixture(scope="module")
def tap_gw(testbed, echo_backends, tmp_path_factory):
    work = tmp_path_factory.mktemp("tcpgw-tap")
    with running_gateway(tp.tcp_config(work / "sluice-tcp.json"), work, pmd="tap") as gw:
        yield gw


def test_200mb_under_loss_on_tap(tap_gw, echo_backends):
    before = tp.tcp_total(tap_gw)
    body = ("  chain in  { type filter hook input priority 0; "
            "numgen random mod 100 < 3 drop; }\n"
            "  chain out { type filter hook output priority 0; "
            "numgen random mod 100 < 3 drop; }")
    with NftTable(CLIENT_NS, "loss", body):
        res = tp.client("stream", "--addr", GW_CLIENT_IP, "--port", tp.PORT_ECHO,
                        "--bytes", LOSS_BYTES, "--seed", 3, "--timeout", 480,
                        "--stall", 120, timeout=510)
    tp.check_stream(res, LOSS_BYTES)
    after = tp.tcp_total(tap_gw)
    fast = tp.delta(before, after, "retransmits_fast")
    rto = tp.delta(before, after, "retransmits_timeout")
    # 3% of the segments to the client were dropped: the gateway resent.
    assert fast + rto > 0, after
    # Everything closes: no connection and no L4 session left behind.
    assert wait_until(lambda: (t := tp.tcp_total(tap_gw))["conns_active"] == 0
                      and t["l4_active"] == 0, timeout=30, step=0.5), \
        tp.tcp_total(tap_gw)
    print(f"loss on tap: {LOSS_BYTES} bytes in {res['seconds']} s; "
          f"retransmits fast {fast}, timeout {rto}")
