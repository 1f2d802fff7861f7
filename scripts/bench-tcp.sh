#!/usr/bin/env bash
# Throughput through Sluice's L4 proxy ("mode": "tcp") against a direct
# kernel-to-kernel connection on the same testbed.
#
#   sluice:  sl-client --veth--> slc0 [sluice, mode tcp] slb0 --veth--> sink in sl-backend
#   direct:  sl-client --------- extra veth pair (198.18.2.0/24) -------> sink in sl-backend
#
# The extra veth pair gets the same offload settings as the testbed's
# (checksum/TSO/GSO/GRO off; DIRECT_OFFLOADS=on leaves the kernel defaults), so
# both paths carry MTU-sized segments. The sender is tests/integration/
# peers/tcp_client.py blast (N streams, each sends for -t seconds, half-closes and
# reads the byte count from the sink, tests/integration/peers/backends.py sink).
# Goodput = bytes the sink counted / time until the last count came back.
# For Sluice, busy cycles per byte = delta of busy_cycles summed over the
# worker lcores in /sluice/lcores, divided by those bytes.
#
# usage: scripts/bench-tcp.sh [-t SECONDS] [-n "1 64"] [-i adaptive|busy] [--direct-only]
# Every run is bounded (-t seconds plus a fixed grace); everything the script
# starts or creates is removed in a trap. Run as root, after a build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DURATION=10
STREAM_SET="1 64"
IDLE=adaptive
DIRECT_ONLY=0
while [ $# -gt 0 ]; do
	case "$1" in
	-t) DURATION=$2; shift 2 ;;
	-n) STREAM_SET=$2; shift 2 ;;
	-i) IDLE=$2; shift 2 ;;
	--direct-only) DIRECT_ONLY=1; shift ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "usage: $0 [-t SECONDS] [-n \"1 64\"] [-i adaptive|busy] [--direct-only]" >&2; exit 2 ;;
	esac
done
case "$IDLE" in adaptive|busy) ;; *) echo "-i must be adaptive or busy" >&2; exit 2 ;; esac
case "$DURATION" in ''|*[!0-9]*) echo "-t takes whole seconds" >&2; exit 2 ;; esac
if [ "$DURATION" -lt 1 ] || [ "$DURATION" -gt 120 ]; then
	echo "-t must be 1..120" >&2
	exit 2
fi

# The topology; the defaults are scripts/testbed.sh's. Only 198.18.0.0/15.
CLIENT_NS=${CLIENT_NS:-sl-client}
BACKEND_NS=${BACKEND_NS:-sl-backend}
GW_CLIENT_IF=${GW_CLIENT_IF:-slc0}
GW_BACKEND_IF=${GW_BACKEND_IF:-slb0}
GW_CLIENT_ADDR=${GW_CLIENT_ADDR:-198.18.0.1/24}
GW_BACKEND_ADDR=${GW_BACKEND_ADDR:-198.18.1.1/24}
BACKEND_ADDR=${BACKEND_ADDR:-198.18.1.2}
DIRECT_IF=${DIRECT_IF:-slbd}
DIRECT_CLIENT_ADDR=${DIRECT_CLIENT_ADDR:-198.18.2.2/24}
DIRECT_BACKEND_ADDR=${DIRECT_BACKEND_ADDR:-198.18.2.3/24}
DIRECT_OFFLOADS=${DIRECT_OFFLOADS:-off}
PORT=${PORT:-9100}
SLUICE=${SLUICE_BIN:-$ROOT/build/app/sluice}
PY=/usr/bin/python3

for a in "$GW_CLIENT_ADDR" "$GW_BACKEND_ADDR" "$BACKEND_ADDR" \
	 "$DIRECT_CLIENT_ADDR" "$DIRECT_BACKEND_ADDR"; do
	case "$a" in 198.18.*|198.19.*) ;; *) echo "$a is outside 198.18.0.0/15" >&2; exit 2 ;; esac
done

GW_IP=${GW_CLIENT_ADDR%/*}
DIRECT_IP=${DIRECT_BACKEND_ADDR%/*}
PREFIX=sl-bench-tcp-$$
WORK=$(mktemp -d /tmp/sluice-bench-tcp.XXXXXX)
SINK_PID=
GW_PID=
TESTBED_OURS=0
DIRECT_MADE=0

cleanup() {
	set +e
	if [ -n "$GW_PID" ] && kill -0 "$GW_PID" 2>/dev/null; then
		kill -TERM "$GW_PID"
		for _ in $(seq 50); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$GW_PID" 2>/dev/null
		wait "$GW_PID" 2>/dev/null
	fi
	if [ -n "$SINK_PID" ] && kill -0 "$SINK_PID" 2>/dev/null; then
		kill -TERM "$SINK_PID"
		wait "$SINK_PID" 2>/dev/null
	fi
	if [ "$DIRECT_MADE" = 1 ]; then
		ip -n "$CLIENT_NS" link del "${DIRECT_IF}0" 2>/dev/null
	fi
	rm -rf "/var/run/dpdk/$PREFIX"
	rm -f /dev/hugepages/"${PREFIX}"map_* 2>/dev/null
	if [ "$TESTBED_OURS" = 1 ]; then
		"$ROOT/scripts/testbed.sh" down >/dev/null 2>&1
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }

ns_exists() { ip netns list | grep -qE "^$1( |$)"; }

if ! ns_exists "$CLIENT_NS" || ! ns_exists "$BACKEND_NS"; then
	if [ "$CLIENT_NS" = sl-client ] && [ "$BACKEND_NS" = sl-backend ]; then
		"$ROOT/scripts/testbed.sh" up >/dev/null
		TESTBED_OURS=1
	else
		echo "namespaces $CLIENT_NS / $BACKEND_NS do not exist" >&2
		exit 1
	fi
fi

if [ "$DIRECT_ONLY" = 0 ]; then
	[ -x "$SLUICE" ] || { echo "$SLUICE is missing: build first" >&2; exit 1; }
	if pgrep -f -- "iface=$GW_CLIENT_IF(,|\$| )" >/dev/null; then
		echo "another process already drives $GW_CLIENT_IF; stop it first" >&2
		exit 1
	fi
fi

# --- the direct path: one more veth pair between the two namespaces -------
if ip -n "$CLIENT_NS" link show "${DIRECT_IF}0" >/dev/null 2>&1; then
	echo "${DIRECT_IF}0 already exists in $CLIENT_NS (left over?); remove it first" >&2
	exit 1
fi
ip link add "${DIRECT_IF}0" netns "$CLIENT_NS" type veth peer name "${DIRECT_IF}1" netns "$BACKEND_NS"
DIRECT_MADE=1
ip -n "$CLIENT_NS" addr add "$DIRECT_CLIENT_ADDR" dev "${DIRECT_IF}0"
ip -n "$BACKEND_NS" addr add "$DIRECT_BACKEND_ADDR" dev "${DIRECT_IF}1"
ip -n "$CLIENT_NS" link set "${DIRECT_IF}0" up
ip -n "$BACKEND_NS" link set "${DIRECT_IF}1" up
if [ "$DIRECT_OFFLOADS" = off ]; then
	for side in "$CLIENT_NS:${DIRECT_IF}0" "$BACKEND_NS:${DIRECT_IF}1"; do
		ns=${side%%:*} ifc=${side#*:}
		ip netns exec "$ns" ethtool -K "$ifc" tx off tso off gso off >/dev/null 2>&1 || true
		ip netns exec "$ns" ethtool -K "$ifc" rx off gro off >/dev/null 2>&1 || true
	done
fi

# --- the sink, on the backend address and on the direct address -----------
sink_addrs=(--addr "$DIRECT_IP")
[ "$DIRECT_ONLY" = 1 ] || sink_addrs+=(--addr "$BACKEND_ADDR")
ip netns exec "$BACKEND_NS" "$PY" tests/integration/peers/backends.py sink \
	"${sink_addrs[@]}" --port "$PORT" --lifetime 3600 >"$WORK/sink.log" 2>&1 &
SINK_PID=$!
for _ in $(seq 100); do grep -q ready "$WORK/sink.log" && break; sleep 0.1; done
grep -q ready "$WORK/sink.log" || { echo "sink did not start:"; cat "$WORK/sink.log"; exit 1; } >&2

# --- the gateway ------------------------------------------------------------
tel() {	# tel COMMAND -> JSON of the reply
	"$PY" - "$PREFIX" "$1" <<'PY'
import json, sys
sys.path.insert(0, "tests/integration")
from harness.sluice_env import Telemetry
print(json.dumps(Telemetry(sys.argv[1]).query(sys.argv[2])))
PY
}

if [ "$DIRECT_ONLY" = 0 ]; then
	"$PY" - "$WORK/bench.json" "$IDLE" "$GW_CLIENT_ADDR" "$GW_BACKEND_ADDR" \
		"$BACKEND_ADDR" "$PORT" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from harness.sluice_env import REPO, write_config
import json
path, idle, gwc, gwb, backend, port = sys.argv[1:]
conf = json.loads((REPO / "conf" / "sluice.json").read_text())
runtime = dict(conf["runtime"], idle=idle)
ports = [dict(conf["ports"][0], address=gwc), dict(conf["ports"][1], address=gwb)]
write_config(path, runtime=runtime, ports=ports,
             pools=[{"name": "sink", "backends": [
                 {"name": "sink1", "address": backend, "port": int(port)}]}],
             listeners=[{"name": "bench", "address": gwc.split("/")[0],
                         "port": int(port), "mode": "tcp", "pool": "sink"}])
PY
	eal="-l 0,1 --no-pci --file-prefix $PREFIX --vdev net_af_xdp0,iface=$GW_CLIENT_IF --vdev net_af_xdp1,iface=$GW_BACKEND_IF"
	if [ "${SLUICE_NO_HUGE:-0}" = 1 ] || [ "$(cat /run/sluice/hugepages 2>/dev/null)" != yes ]; then
		eal="$eal --no-huge -m 1024"
	fi
	# shellcheck disable=SC2086
	"$SLUICE" $eal -- -c "$WORK/bench.json" >"$WORK/sluice.log" 2>&1 &
	GW_PID=$!
	up=0
	for _ in $(seq 300); do
		kill -0 "$GW_PID" 2>/dev/null || break
		if grep -q "running:" "$WORK/sluice.log" && tel /sluice/info >/dev/null 2>&1; then
			up=1; break
		fi
		sleep 0.1
	done
	[ "$up" = 1 ] || { echo "sluice did not come up:"; cat "$WORK/sluice.log"; exit 1; } >&2
	sleep 1
fi

# --- runs ---------------------------------------------------------------------
busy_cycles() {
	tel /sluice/lcores | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(sum(v["busy_cycles"] for v in d.values() if isinstance(v, dict)))'
}

RESULTS="$WORK/results"
: >"$RESULTS"
run_one() {	# run_one PATH_NAME ADDR STREAMS
	local name=$1 addr=$2 n=$3 b0=0 b1=0 out
	[ "$name" = direct ] || b0=$(busy_cycles)
	out=$(timeout $((DURATION + 90)) ip netns exec "$CLIENT_NS" "$PY" \
		tests/integration/peers/tcp_client.py blast --addr "$addr" --port "$PORT" \
		--streams "$n" --seconds "$DURATION" --connect-timeout 5 2>"$WORK/blast.err" | tail -n 1) || true
	[ "$name" = direct ] || b1=$(busy_cycles)
	[ -n "$out" ] || out='{"bytes": 0, "seconds": 0, "gbit_s": 0, "errors": ["no result (timeout?)"]}'
	echo "$name $n $((b1 - b0)) $out" >>"$RESULTS"
}

paths="direct"
[ "$DIRECT_ONLY" = 1 ] || paths="direct sluice"
for n in $STREAM_SET; do
	for p in $paths; do
		if [ "$p" = direct ]; then run_one direct "$DIRECT_IP" "$n"
		else run_one sluice "$GW_IP" "$n"; fi
		sleep 1
	done
done

tsc_hz=0
if [ "$DIRECT_ONLY" = 0 ]; then
	tsc_hz=$(tel /sluice/info | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("tsc_hz", 0))')
	kill -0 "$GW_PID" 2>/dev/null || { echo "sluice exited during the runs:" >&2; tail -20 "$WORK/sluice.log" >&2; }
fi

"$PY" - "$RESULTS" "$DURATION" "$IDLE" "$tsc_hz" "$DIRECT_OFFLOADS" <<'PY'
import json, sys, time
path, dur, idle, tsc_hz, offl = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
rows = []
for line in open(path):
    name, n, busy, js = line.split(" ", 3)
    rows.append((name, int(n), int(busy), json.loads(js)))
print(f"bench-tcp: {dur} s per run, sink backend, sluice idle={idle}, "
      f"direct offloads {offl}, {time.strftime('%Y-%m-%d %H:%M')}")
hdr = f"{'path':<8} {'streams':>7} {'Gbit/s':>8} {'MB':>9} {'secs':>6} {'busy cyc/byte':>13} {'busy s':>7} {'vs direct':>9}  notes"
print(hdr)
print("-" * len(hdr))
direct = {n: r["gbit_s"] for name, n, _, r in rows if name == "direct"}
for name, n, busy, r in rows:
    cpb = f"{busy / r['bytes']:.2f}" if name != "direct" and r["bytes"] else "-"
    bsec = f"{busy / tsc_hz:.2f}" if name != "direct" and tsc_hz else "-"
    rel = (f"{100 * r['gbit_s'] / direct[n]:.0f}%" if name != "direct" and direct.get(n)
           else "-")
    notes = "; ".join(r.get("errors") or [])[:60]
    print(f"{name:<8} {n:>7} {r['gbit_s']:>8.3f} {r['bytes'] / 1e6:>9.1f} "
          f"{r['seconds']:>6.2f} {cpb:>13} {bsec:>7} {rel:>9}  {notes}")
PY
