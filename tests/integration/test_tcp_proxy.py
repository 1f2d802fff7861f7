"""The userspace TCP stack and the L4 proxy ("mode":
"tcp") against the Linux kernel's TCP on both sides.

    sl-client (Linux TCP, tcp_client.py)
        -> 198.18.0.1:9000 sluice, mode tcp, round robin
        -> 198.18.1.2:9000 / 198.18.1.3:9000 echo (backends.py) in sl-backend

One gateway serves the whole module (only one process may drive the veth
ends). Its config also has two listeners whose only backend is dead: 9001
refuses (nothing listens on 198.18.1.4:9000, the kernel answers RST) and
9002 never answers (nft drops everything to 198.18.1.9:9000 while the test
runs). The tests run in file order; the last one checks that everything the
others did has drained: no connections left, mbufs back at the baseline.

Sizes can be turned down for a slow machine with SLUICE_BULK_MB (default
200) and SLUICE_LOSS_MB (default 200). 200 MB under 3% loss each way moves
in about 80-90 s. It used to stall in about half the runs: frames handed to
the AF_XDP PMD sat in its TX ring for 6-85 s. The workers now kick each
AF_XDP TX queue every millisecond (lib/worker, docs/performance.md), and
the lossy run completes.
"""

import os
import subprocess
import time

import pytest

from harness import tcp_env
from harness.sluice_env import (BACKEND_NS, CLIENT_NS, GW_CLIENT_IP, PY, NftTable,
                                last_json, ns_popen, read_line, running_gateway,
                                stop_proc, wait_until)
from harness.tcp_env import (BACKEND_PORT, BLACKHOLE_ADDR, CLIENT,
                             DEAD_CONNECT_TIMEOUT_MS, MBUF_SLACK, PORT_BLACKHOLE,
                             PORT_ECHO, PORT_REFUSE, check_stream, client, delta,
                             tcp_config, tcp_total)

# The echo backends fixture of the L4 harness, bound here so that pytest finds it.
echo_backends = tcp_env.echo_backends

CLOSE_MARGIN_S = 2.5              # on top of connect_timeout_ms

BULK_BYTES = int(os.environ.get("SLUICE_BULK_MB", "200")) * 1000 * 1000
LOSS_BYTES = int(os.environ.get("SLUICE_LOSS_MB", "200")) * 1000 * 1000

# Flood sources and the legitimate client are kept apart so that only the
# flood's SYN-ACKs are dropped (else the kernel in sl-client would answer
# them with RST and empty the gateway's SYN backlog for it).
FLOOD_SRCS = [f"198.18.0.{h}" for h in range(4, 10)]
LEGIT_SRC = "198.18.0.2"
RR_SRCS = ["198.18.0.2", "198.18.0.3", "198.18.0.4", "198.18.0.5"]


@pytest.fixture(scope="module")
def tcp_gw(testbed, echo_backends, tmp_path_factory):
    work = tmp_path_factory.mktemp("tcpgw")
    with running_gateway(tcp_config(work / "sluice-tcp.json"), work, settle=2) as gw:
        yield gw


def test_a_bulk_echo_sha256(tcp_gw, echo_backends):
    before = tcp_total(tcp_gw)
    res = client("stream", "--addr", GW_CLIENT_IP, "--port", PORT_ECHO,
                 "--bytes", BULK_BYTES, "--seed", 1, "--timeout", 300,
                 "--stall", 30, timeout=330)
    check_stream(res, BULK_BYTES)
    after = tcp_total(tcp_gw)
    assert delta(before, after, "l4_sessions") >= 1
    assert delta(before, after, "passive_opens") >= 1
    assert delta(before, after, "active_opens") >= 1
    assert echo_backends.alive()
    print(f"bulk: {BULK_BYTES} bytes each way in {res['seconds']} s "
          f"({res['mbit_s']} Mbit/s each way)")


def test_b_bulk_echo_under_loss(tcp_gw, echo_backends):
    before = tcp_total(tcp_gw)
    body = ("  chain in  { type filter hook input priority 0; "
            "numgen random mod 100 < 3 drop; }\n"
            "  chain out { type filter hook output priority 0; "
            "numgen random mod 100 < 3 drop; }")
    with NftTable(CLIENT_NS, "loss", body):
        res = client("stream", "--addr", GW_CLIENT_IP, "--port", PORT_ECHO,
                     "--bytes", LOSS_BYTES, "--seed", 2, "--timeout", 480,
                     "--stall", 120, timeout=510)
    check_stream(res, LOSS_BYTES)
    after = tcp_total(tcp_gw)
    rtx = (delta(before, after, "retransmits_fast")
           + delta(before, after, "retransmits_timeout"))
    # 3% of the gateway's segments to the client were dropped: it must have
    # resent some, else the loss was not in the path at all.
    assert rtx > 0, after
    print(f"loss: {LOSS_BYTES} bytes in {res['seconds']} s; retransmits "
          f"fast {delta(before, after, 'retransmits_fast')}, timeout "
          f"{delta(before, after, 'retransmits_timeout')}, out of order "
          f"{delta(before, after, 'ooo_segments')}")


def test_c_2000_concurrent_connections(tcp_gw, echo_backends):
    n = 2000
    before = tcp_total(tcp_gw)
    proc = ns_popen(CLIENT_NS, PY, CLIENT, "rr", "--addr", GW_CLIENT_IP,
                    "--port", str(PORT_ECHO), "--conns", str(n),
                    "--exchanges", "10", "--size", "100",
                    "--src", ",".join(RR_SRCS), "--hold", "--hold-timeout", "30",
                    "--timeout", "150", stdin=subprocess.PIPE)
    try:
        line = read_line(proc, 90)
        phase = last_json(line)
        assert phase and phase.get("phase") == "connected", \
            f"client did not report its connections: {line!r}"
        assert phase["connected"] == n, phase
        # Every connection is open at once: the proxy holds n sessions,
        # each with a client-side and a backend-side connection.
        held = wait_until(lambda: (t := tcp_total(tcp_gw))["l4_active"] >= n and t,
                          timeout=10)
        assert held, f"l4_active never reached {n}: {tcp_total(tcp_gw)}"
        assert held["conns_active"] >= 2 * n, held
        proc.stdin.write("go\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=150)
    finally:
        if proc.poll() is None:
            stop_proc(proc)
    res = last_json(out)
    assert res is not None, err[-2000:]
    assert res["ok"] == n and res["bad_payload"] == 0, res
    after = tcp_total(tcp_gw)
    assert delta(before, after, "l4_sessions") >= n
    print(f"rr: {n} conns connected in {res['connect_seconds']} s, "
          f"10 exchanges each in {res['exchange_seconds']} s")


@pytest.mark.parametrize("kind", ["refused", "timeout"])
def test_d_dead_backend_closes_clients(tcp_gw, kind):
    n = 16
    bound = DEAD_CONNECT_TIMEOUT_MS / 1000 + CLOSE_MARGIN_S
    port = PORT_REFUSE if kind == "refused" else PORT_BLACKHOLE
    counter = f"l4_connect_{kind}"
    before = tcp_total(tcp_gw)
    body = ("  chain in { type filter hook input priority 0; "
            f"ip daddr {BLACKHOLE_ADDR} tcp dport {BACKEND_PORT} drop; }}")
    with NftTable(BACKEND_NS, "sl_blackhole", body):
        res = client("dead", "--addr", GW_CLIENT_IP, "--port", port,
                     "--conns", n, "--hang-after", bound + 5, timeout=60)
        # Each client is refused either after a connect that failed, or
        # up front once the failures have opened the backend's breaker (or
        # ejected it): the control thread decides that asynchronously, so
        # how the 16 divide varies. Counters are read from another thread:
        # give them a moment.
        def accounted(t):
            return delta(before, t, counter) + delta(before, t, "l4_refused_limits")
        after = wait_until(lambda: accounted(t := tcp_total(tcp_gw)) >= n and t,
                           timeout=5) or tcp_total(tcp_gw)
    outcomes = res["outcomes"]
    closed = sum(outcomes.get(k, 0) for k in ("eof", "reset", "refused"))
    assert closed == n, f"not every client was closed: {res}"
    assert res["max_seconds"] <= bound, \
        f"a client waited {res['max_seconds']} s (bound {bound} s): {res}"
    assert delta(before, after, counter) >= 1, (counter, before[counter],
                                                after[counter])
    assert accounted(after) == n, (counter, delta(before, after, counter),
                                   delta(before, after, "l4_refused_limits"))
    print(f"dead backend ({kind}): {outcomes}, slowest close "
          f"{res['max_seconds']} s")


def test_e_syn_flood_legit_clients_get_through(tcp_gw, echo_backends):
    before = tcp_total(tcp_gw)
    lo, hi = FLOOD_SRCS[0], FLOOD_SRCS[-1]
    # Drop the gateway's SYN-ACKs to the flood's sources: no RST goes back,
    # so the half-open entries stay and fill the SYN backlog, as in a real
    # flood from spoofed addresses.
    body = ("  chain in { type filter hook input priority 0; "
            f"ip daddr {lo}-{hi} tcp sport {PORT_ECHO} drop; }}")
    flood = None
    with NftTable(CLIENT_NS, "sl_flood", body):
        try:
            flood = ns_popen(CLIENT_NS, PY, CLIENT, "synflood",
                             "--addr", GW_CLIENT_IP, "--port", str(PORT_ECHO),
                             "--src", ",".join(FLOOD_SRCS), "--seconds", "3",
                             "--rate", "20000", "--max-packets", "100000")
            line = read_line(flood, 10)
            assert line and "flooding" in line, f"flood did not start: {line!r}"
            time.sleep(0.3)
            legit = client("legit", "--addr", GW_CLIENT_IP, "--port", PORT_ECHO,
                           "--src", LEGIT_SRC, "--seconds", 3,
                           "--connect-timeout", 5, timeout=40)
            out, err = flood.communicate(timeout=20)
        finally:
            if flood is not None and flood.poll() is None:
                stop_proc(flood)
        fres = last_json(out)
        during = tcp_total(tcp_gw)
    assert fres and fres["sent"] > 10000, (fres, err[-1000:])
    assert legit["attempts"] >= 3, legit
    assert legit["ok"] == legit["attempts"], legit
    assert delta(before, during, "syncookies_sent") > 0, during
    # The backlog was full of the flood's half-open entries, so the
    # legitimate client got through on a cookie.
    assert delta(before, during, "syncookies_ok") > 0, during
    # And once the flood is over, connecting still works.
    again = client("legit", "--addr", GW_CLIENT_IP, "--port", PORT_ECHO,
                   "--src", LEGIT_SRC, "--seconds", 0.5, "--connect-timeout", 5,
                   timeout=30)
    assert again["attempts"] >= 1 and again["ok"] == again["attempts"], again
    print(f"flood: {fres['sent']} SYNs in {fres['seconds']} s; legit "
          f"{legit['ok']}/{legit['attempts']} ok, slowest "
          f"{legit['max_seconds']} s; cookies sent "
          f"{delta(before, during, 'syncookies_sent')}, ok "
          f"{delta(before, during, 'syncookies_ok')}")


def test_f_tables_empty_and_mbufs_at_baseline(tcp_gw):
    """Runs last: everything the tests above opened has been closed and
    freed (TIME_WAIT is 1 s, half-open flood entries are reset by the
    client's kernel once the flood's drop rule is gone)."""
    def drained():
        t = tcp_gw.tel.query("/sluice/tcp")
        if t["total"]["conns_active"] or t["total"]["l4_active"]:
            return None
        return t
    tcp = wait_until(drained, timeout=60, step=0.5)
    assert tcp, f"connections left: {tcp_total(tcp_gw)}"
    workers = [k for k, v in tcp.items() if k != "total" and isinstance(v, dict)]
    assert workers, tcp
    for k in workers:
        assert tcp[k]["conns_active"] == 0 and tcp[k]["l4_active"] == 0, (k, tcp[k])
        assert tcp[k]["conns_time_wait"] == 0, (k, tcp[k])
    base = tcp_gw.mbuf_baseline
    info = wait_until(lambda: (i := tcp_gw.tel.query("/sluice/info"))
                      ["mbufs_in_use"] <= base + MBUF_SLACK and i,
                      timeout=20, step=0.5)
    assert info, (f"mbufs in use {tcp_gw.tel.query('/sluice/info')['mbufs_in_use']}"
                  f", baseline {base}")
    print(f"drained: mbufs in use {info['mbufs_in_use']} (baseline {base}); "
          f"{tcp['total']['mem_per_conn_bytes']} bytes per connection")
