"""The L4 proxy tests' plumbing, shared by test_tcp_proxy (af_xdp),
test_tcp_loss_tap (net_tap) and test_port_recovery: the mode-tcp config
(an echo pool, a backend that refuses, one that never answers), the echo
backends fixture, tcp_client.py in sl-client and the checks of its
results, and /sluice/tcp's totals."""

import pytest

from harness.sluice_env import (CLIENT_NS, GW_CLIENT_IP, PEERS, PY, Backend, in_ns,
                                last_json, write_config)

CLIENT = str(PEERS / "tcp_client.py")
ECHO_ADDRS = ["198.18.1.2", "198.18.1.3"]
BACKEND_PORT = 9000
PORT_ECHO, PORT_REFUSE, PORT_BLACKHOLE = 9000, 9001, 9002
REFUSE_ADDR = "198.18.1.4"        # in sl-backend, nothing listens: RST
BLACKHOLE_ADDR = "198.18.1.9"     # in sl-backend, nft drops: no answer
DEAD_CONNECT_TIMEOUT_MS = 1000

# mbufs_in_use may differ from the baseline by what sits in an AF_XDP fill
# ring or a mempool cache refill: at most one burst.
MBUF_SLACK = 32


def tcp_config(path):
    tcp = {
        # Short TIME_WAIT so that the final check sees empty tables soon.
        "time_wait_s": 1,
        # A small SYN backlog: the flood test needs cookies to engage.
        "syn_backlog": 64,
    }
    pools = [
        {"name": "echo", "backends": [
            {"name": f"echo{i + 1}", "address": a, "port": BACKEND_PORT}
            for i, a in enumerate(ECHO_ADDRS)]},
        {"name": "refuse", "connect_timeout_ms": DEAD_CONNECT_TIMEOUT_MS,
         "backends": [{"name": "closed", "address": REFUSE_ADDR,
                       "port": BACKEND_PORT}]},
        {"name": "blackhole", "connect_timeout_ms": DEAD_CONNECT_TIMEOUT_MS,
         "backends": [{"name": "silent", "address": BLACKHOLE_ADDR,
                       "port": BACKEND_PORT}]},
    ]
    listeners = [
        {"name": "echo", "address": GW_CLIENT_IP, "port": PORT_ECHO,
         "mode": "tcp", "pool": "echo"},
        {"name": "refuse", "address": GW_CLIENT_IP, "port": PORT_REFUSE,
         "mode": "tcp", "pool": "refuse"},
        {"name": "blackhole", "address": GW_CLIENT_IP, "port": PORT_BLACKHOLE,
         "mode": "tcp", "pool": "blackhole"},
    ]
    return write_config(path, tcp=tcp, pools=pools, listeners=listeners)


@pytest.fixture(scope="module")
def echo_backends(testbed):
    be = Backend("echo", ECHO_ADDRS, BACKEND_PORT)
    be.start()
    yield be
    be.stop()



def tcp_total(gw):
    return gw.tel.query("/sluice/tcp")["total"]


def delta(before, after, key):
    return after[key] - before[key]


def client(mode, *args, timeout=60):
    """Run tcp_client.py in sl-client; return its JSON result."""
    r = in_ns(CLIENT_NS, PY, CLIENT, mode, *map(str, args),
              check=False, timeout=timeout)
    res = last_json(r.stdout)
    assert res is not None, f"{mode}: no result (rc {r.returncode}):\n" \
                            f"{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return res


def check_stream(res, nbytes):
    assert res["error"] is None, res
    assert res["sent"] == nbytes, res
    assert res["received"] == nbytes, res
    assert res["recv_sha256"] == res["sent_sha256"], res
    # The client half-closed after its last byte; the backend then closed,
    # and that FIN must have come back through the proxy.
    assert res["eof"], f"no FIN after the echoed data: {res}"
