#!/usr/bin/env bash
# Capacity of ONE gateway worker lcore at saturation, under sluice-loadgen
# (no kernel in the path: the gateway on net_virtio_user, the loadgen on the
# net_vhost ends, playing both the clients and the backend):
#   - keep-alive requests/s (closed loop, -c connections);
#   - new connections/s (one request per connection);
#   - gateway cycles per request: the worker's busy cycles over the run
#     (/sluice/lcores) divided by the requests it read (/sluice/http);
#   - memory per idle established connection at 100k and 1M connections
#     (/sluice/memory: RSS and DPDK heap, with and without them).
# The gateway busy-polls its worker on CPU 1; the loadgen busy-polls CPU 0,
# which it shares with the gateway's control thread. Two cores in all: the
# loadgen does about the gateway's TCP work per request on its own core,
# so whichever of the two is busier bounds req/s; the report says which.
#
# usage: scripts/bench-capacity.sh [-t SECONDS] [-c CONNECTIONS]
# (SLUICE_BIN / SLUICE_LOADGEN_BIN pick other builds; SL_CAP_DEBUG=DIR keeps
# the last shape's logs and raw counters there; IDLE_SIZES="100000 1000000"
# picks the idle-connection counts.)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
DUR=5
CONNS=64
bench_parse_tc "$@"
SL_BIN=${SLUICE_BIN:-build/app/sluice}
LG_BIN=${SLUICE_LOADGEN_BIN:-build/app/sluice-loadgen}

WORK=$(mktemp -d /tmp/sl-cap.XXXXXX)
GWP=sl-cap-gw-$$
LGP=sl-cap-lg-$$
cleanup() {
	bench_kill_all
	rm -rf "/var/run/dpdk/$GWP" "/var/run/dpdk/$LGP" "$WORK"
}
# INT and TERM end the run (the EXIT trap then cleans up once): a trap
# that only cleaned up would let the script carry on afterwards.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_virtio_conf "$WORK/gw.json" 1 \
	'{ "runtime": { "idle": "busy" }, "memory": { "mbufs": 32768 }, "tcp": { "time_wait_s": 1 } }'

tel() { bench_tel "$GWP" "$1"; }

# A gateway waits for its vhost peer before it runs: start both, and wait
# until it runs. gw_lg_start CONFIG GW_MB LG_MB LOADGEN_ARGS... sets GW, LG.
gw_lg_start() {
	local cf=$1 gw_mb=$2 lg_mb=$3
	shift 3
	rm -f "$WORK"/*.sock "$WORK/lg.json"
	"$SL_BIN" -l 0,1 --no-pci --file-prefix "$GWP" --no-huge -m "$gw_mb" \
		--vdev "net_virtio_user0,path=$WORK/c.sock,queues=1,server=1" \
		--vdev "net_virtio_user1,path=$WORK/b.sock,queues=1,server=1" \
		-- -c "$cf" > "$WORK/gw.log" 2>&1 &
	GW=$!
	PIDS+=($GW)
	for _ in $(seq 1 100); do [ -S "$WORK/c.sock" ] && break; sleep 0.1; done
	"$LG_BIN" -l 0 --no-pci --file-prefix "$LGP" --no-huge -m "$lg_mb" \
		--vdev "net_vhost0,iface=$WORK/c.sock,client=1" \
		--vdev "net_vhost1,iface=$WORK/b.sock,client=1" -- \
		--client net_vhost0 --server net_vhost1 --json --hold 30 "$@" \
		> "$WORK/lg.json" 2> "$WORK/lg.err" &
	LG=$!
	PIDS+=($LG)
	for _ in $(seq 1 300); do grep -qs "running:" "$WORK/gw.log" && break; sleep 0.1; done
	sleep 0.5
}
gw_lg_stop() {
	kill -TERM "$GW"; wait "$GW" 2>/dev/null || true
	kill -TERM "$LG"; wait "$LG" 2>/dev/null || true
}
# The worker's busy cycles and the requests the gateway read: "busy requests".
busy_and_requests() {
	paste <(tel /sluice/lcores) <(tel /sluice/http) | python3 -c '
import json, sys
a, b = sys.stdin.read().split("\t")
l = json.loads(a); h = json.loads(b)
print(sum(v["busy_cycles"] for v in l.values() if isinstance(v, dict) and "busy_cycles" in v),
      h["requests"])'
}


# One gateway and one loadgen per shape; prints "req/s conns/s p50 p99
# cycles/req gw_busy% lg_busy% errors req/cpu-s" (requests per busy
# CPU-second: the TSC rate over cycles/request).
run_shape() {
	local b0 b1 r0 r1 tsc
	gw_lg_start "$WORK/gw.json" 1024 512 --warmup 5 -c "$CONNS" -d "$DUR" "$@"
	read -r b0 r0 < <(busy_and_requests)
	for _ in $(seq 1 $((DUR * 10 + 200))); do [ -s "$WORK/lg.json" ] && break; sleep 0.1; done
	read -r b1 r1 < <(busy_and_requests)
	tsc=$(tel /sluice/info | python3 -c 'import json,sys; print(json.load(sys.stdin)["tsc_hz"])')
	gw_lg_stop
	[ -n "${SL_CAP_DEBUG:-}" ] && cp "$WORK/gw.log" "$WORK/lg.err" "$WORK/lg.json" "$SL_CAP_DEBUG/" && echo "$b0 $b1 $r0 $r1 $tsc" > "$SL_CAP_DEBUG/tel.txt"
	python3 - "$WORK/lg.json" "$b0" "$b1" "$r0" "$r1" "$tsc" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
b0, b1, r0, r1, tsc = (int(x) for x in sys.argv[2:])
req = r1 - r0
# "-" when the first read came after the load (a starved script): no figure.
cyc = (b1 - b0) / req if req else 0
# the gateway worker's busy share over the loadgen's measured window
gw_busy = 100.0 * (b1 - b0) / tsc / r["elapsed_s"] if r["elapsed_s"] else 0
print(f'{r["requests_per_s"]:.0f} {r["connections_per_s"]:.0f} '
      f'{r["latency_us"]["p50"]:.0f} {r["latency_us"]["p99"]:.0f} '
      f'{f"{cyc:.0f}" if cyc else "-"} '
      f'{min(gw_busy, 100):.0f} {r["busy_pct"]:.0f} {r["errors_total"]} '
      f'{f"{tsc / cyc:.0f}" if cyc else "-"}')
PY
}

# Memory per idle connection: a gateway sized for N clients (max_conns 2N:
# each client may need an upstream connection) holding N established,
# silent connections from the loadgen (--idle-conns). Prints
# "established open_s rss0 rss_n heap_min heap_n tables tcp_slots clients".
run_idle() {
	local n=$1 k=$((n / 60000 + 1)) mem=$(( (n * 2 / 1024) + 1024 ))
	local settings='"runtime": { "idle": "busy" }, "memory": { "mbufs": 32768 },
	  "http": { "header_timeout_ms": 600000, "client_idle_s": 600 }'
	bench_virtio_conf "$WORK/idle.json" "$k" "{ $settings,
	  \"tcp\": { \"time_wait_s\": 1, \"max_conns\": $((2 * n + 4096)), \"syn_backlog\": 4096 } }"
	bench_virtio_conf "$WORK/idle.json.min" 1 "{ $settings,
	  \"tcp\": { \"time_wait_s\": 1, \"max_conns\": 4096, \"syn_backlog\": 4096 } }"
	mem_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
	local heap_min rss0 heap_n rss_n tables slots clients est open_s
	# The heap a minimal gateway allocates: what N connections add is the rest.
	gw_lg_start "$WORK/idle.json.min" "$mem" "$mem" --warmup 3 -c 1 -d 1
	heap_min=$(tel /sluice/memory | mem_field heap_alloc_bytes)
	gw_lg_stop
	# Sized for N; RSS read in the warm-up, before the idle connections.
	gw_lg_start "$WORK/idle.json" "$mem" "$mem" --warmup 3 --idle-conns "$n" --idle-ports "$k" \
		--idle-window 128 --connect-timeout 30000 -c 1 -d 5
	rss0=$(tel /sluice/memory | mem_field rss_bytes)
	for _ in $(seq 1 1200); do
		grep -q "idle connections established" "$WORK/lg.err" && break
		kill -0 "$LG" 2>/dev/null || break
		sleep 0.1
	done
	sleep 1   # the run (-d 5) keeps one connection busy meanwhile
	tel /sluice/memory > "$WORK/mem.json"
	heap_n=$(mem_field heap_alloc_bytes < "$WORK/mem.json")
	rss_n=$(mem_field rss_bytes < "$WORK/mem.json")
	tables=$(mem_field conn_tables_bytes < "$WORK/mem.json")
	slots=$(mem_field tcp_slots < "$WORK/mem.json")
	clients=$(mem_field http_clients < "$WORK/mem.json")
	for _ in $(seq 1 600); do [ -s "$WORK/lg.json" ] && break; sleep 0.1; done
	gw_lg_stop
	[ -n "${SL_CAP_DEBUG:-}" ] && cp "$WORK/gw.log" "$WORK/lg.err" "$WORK/lg.json" "$WORK/mem.json" "$SL_CAP_DEBUG/"
	read -r est open_s < <(python3 -c 'import json,sys
try:
    i = json.load(open(sys.argv[1]))["idle"]; print(i["established"], i["open_s"])
except Exception:
    print(0, 0)' "$WORK/lg.json")
	echo "$est $open_s $rss0 $rss_n $heap_min $heap_n $tables $slots $clients"
}

ka=$(run_shape)
nc=$(run_shape --new-conn)
printf "\nCapacity of one gateway worker under sluice-loadgen (virtio_user/vhost), %d connections, %ds, 64-byte body, %s\n" \
	"$CONNS" "$DUR" "$(date -u +%F)"
printf "%-22s %10s %10s %8s %8s %12s %8s %8s %7s %12s\n" shape "req/s" "conns/s" "p50 us" "p99 us" "cycles/req" "gw busy%" "lg busy%" errors "req/cpu-s"
for row in "keep-alive|$ka" "new-conn-per-request|$nc"; do
	name=${row%%|*}
	# shellcheck disable=SC2086
	set -- ${row#*|}
	printf "%-22s %10s %10s %8s %8s %12s %8s %8s %7s %12s\n" "$name" "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9"
done
# For scripts/bench.sh: requests per CPU-second of each shape.
[ -n "${SL_CAP_OUT:-}" ] && echo "${ka##* } ${nc##* }" > "$SL_CAP_OUT"

# Memory per idle connection at IDLE_SIZES (default 100000 and 1000000).
printf "\nMemory per idle established connection (HTTP keep-alive clients, no request in flight), %s\n" "$(date -u +%F)"
printf "%-9s %11s %8s %12s %12s %12s %14s %14s\n" conns established "open s" "RSS MB" "RSS+ B/conn" "heap+ B/conn" "tables B/conn" "clients held"
for n in ${IDLE_SIZES:-100000 1000000}; do
	# shellcheck disable=SC2046
	set -- $(run_idle "$n")
	printf "%-9s %11s %8s %12s %12s %12s %14s %14s\n" "$n" "$1" "$2" \
		"$(( $4 / 1048576 ))" \
		"$(echo "$4 $3 $1" | awk '{ if ($3 > 0) printf "%.0f", ($1 - $2) / $3; else print "-" }')" \
		"$(echo "$6 $5 $1" | awk '{ if ($3 > 0) printf "%.0f", ($1 - $2) / $3; else print "-" }')" \
		"$(echo "$7 $1" | awk '{ if ($2 > 0) printf "%.0f", $1 / $2; else print "-" }')" "$9"
done
