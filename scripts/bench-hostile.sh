#!/usr/bin/env bash
# The worst-case buffer holder against Sluice, on the reference testbed: a
# client (198.18.0.2 in sl-client, tests/integration/peers/hostile_client.py)
# opens CONNECTIONS connections with TCP_NODELAY and sends 1-byte segments
# on them for SECONDS, once behind an HTTP request whose backend never
# answers and once to a tcp-mode listener whose backend never reads. Each
# segment would pin an mbuf if buffers were counted in bytes only. While it
# runs, a normal client (curl from 198.18.0.3) is served and timed.
#
# Prints, for each listener: the address's share of the pool
# (tcp.max_addr_mbufs x workers), the peak of mbufs in use over the idle
# baseline and of /sluice/tcp mbufs_held, the segments the attack sent, what
# was packed and capped, and the normal client's requests served and their
# slowest time; then whether the pool came back to its baseline.
#
# usage: scripts/bench-hostile.sh [-t SECONDS] [-c CONNECTIONS] [--no-caps]
#   --no-caps  leave tcp.max_*_mbufs out of the config (a binary that
#              predates them, given as SLUICE_BIN, to compare)
# Bounded: SECONDS is 1..120, the attack then holds 2 s and resets its
# connections. Everything started is stopped in a trap (the testbed too, if
# this script brought it up). Run as root, after a build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

DUR=8
CONNS=64
CAPS=1
args=()
for a in "$@"; do
	if [ "$a" = --no-caps ]; then CAPS=0; else args+=("$a"); fi
done
bench_parse_tc "${args[@]+"${args[@]}"}"

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
export SLUICE_BIN=${SLUICE_BIN:-$ROOT/build/app/sluice}
[ -x "$SLUICE_BIN" ] || { echo "$SLUICE_BIN is missing: build first" >&2; exit 1; }
if pgrep -f -- "iface=slc0(,|\$| )" >/dev/null; then
	echo "another process already drives slc0; stop it first" >&2
	exit 1
fi

TESTBED_OURS=0
cleanup() {
	set +e
	bench_kill_all 5
	[ "$TESTBED_OURS" = 1 ] && "$ROOT/scripts/testbed.sh" down >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! ip netns list | grep -qE '^sl-client( |$)' || ! ip netns list | grep -qE '^sl-backend( |$)'; then
	"$ROOT/scripts/testbed.sh" up >/dev/null
	TESTBED_OURS=1
fi

# The Python side stops the gateway and the peers itself (finally blocks);
# the trap covers it in turn.
/usr/bin/python3 - "$DUR" "$CONNS" "$CAPS" <<'PY' &
import json, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, "tests/integration")
from harness.buffer_attack import (HTTP_HANG, PORT_HTTP, PORT_TCP, attack,
                                   buffer_config, running_peers, tcp_total)
from harness.sluice_env import running_gateway

dur, conns, caps = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
work = Path(tempfile.mkdtemp(prefix="sluice-bench-hostile."))
with running_peers(), running_gateway(buffer_config(work / "c.json", caps=caps),
                                      work, settle=2) as gw:
    print(f"pool: {gw.tel.query('/sluice/info')['mbufs_total']} mbufs, "
          f"idle baseline {gw.mbuf_baseline} in use; caps {'on' if caps else 'off'}")
    for name, port, req in (("http (request waits on /hang)", PORT_HTTP, HTTP_HANG),
                            ("tcp mode (backend never reads)", PORT_TCP, "")):
        try:
            f = attack(gw, port, req, conns, dur, 2)
        except AssertionError as e:
            # A gateway with its pool gone may not even take the connections.
            print(f"{name}: the attack could not run: {e}", flush=True)
            continue
        print(f"{name}: share {f['share']} mbufs; peak in use over baseline "
              f"{f['peak_pool_over_baseline']}, peak mbufs_held "
              f"{f['peak_mbufs_held']}; attack {f['hostile']['conns']} conns, "
              f"{f['hostile']['sends']} 1-byte sends, {f['segments_in']} segments in; "
              f"packed rcv {f['rcv_packed_mbufs']} snd {f['snd_packed_mbufs']}, "
              f"capped addr {f['addr_mbufs_capped']} conn {f['conn_mbufs_capped']} "
              f"mem {f['rcv_mem_dropped']}, no_mbuf drops {f['no_mbuf_drops']}; "
              f"normal client {f['normal_ok']}/{f['normal_tries']} served, "
              f"slowest {f['normal_slowest_s']} s", flush=True)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            t = tcp_total(gw)
            used = gw.tel.query("/sluice/info")["mbufs_in_use"]
            if t["conns_active"] == 0 and used <= gw.mbuf_baseline + 32:
                break
            time.sleep(0.5)
        print(f"  after: conns_active {t['conns_active']}, mbufs in use {used} "
              f"(baseline {gw.mbuf_baseline}), mbufs_held {t.get('mbufs_held', '-')}",
              flush=True)
PY
PIDS+=($!)
wait "${PIDS[0]}"
