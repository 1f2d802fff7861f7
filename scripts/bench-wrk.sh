#!/usr/bin/env bash
# The kernel-wrk comparison (scripts/bench.sh --wrk runs it; scripts/bench.sh
# alone is the same-generator comparison, the one to quote): HTTP/1.1
# proxying, side by side in one run: Sluice, HAProxy and NGINX in front of
# the same nginx backend, driven by the same wrk over veth.
#
#   sluice:  sl-client --veth--> slc0 [sluice] slb0 --veth--> nginx in sl-backend
#   kernel:  sl-client --veth--> sl-proxy [haproxy | nginx] --veth--> nginx in sl-backend
#
# The kernel proxies get their own namespace and veth pairs (198.18.8.0/24
# client side, 198.18.9.0/24 backend side) with the testbed's offload
# settings. Every proxy runs one worker (HAProxy nbthread 1, NGINX
# worker_processes 1, Sluice one worker lcore) and keeps backend connections
# alive. The load is wrk with 64 keep-alive connections and a 19-byte body.
#
# Requests per CPU-second: for HAProxy and NGINX, requests divided by the
# user+system CPU time of their processes (/proc/PID/stat) during the run,
# which leaves out the softirq work the kernel does for them in other
# contexts (so it undercounts them); for Sluice, requests divided by the
# worker's busy cycles / TSC rate (/sluice/lcores). Two cores only: wrk, the
# backend and the proxy share them, so req/s is bounded by wrk.
#
# The testbed (scripts/testbed.sh) is brought up if it is not, and taken
# down at the end only then: a testbed that was up before is left as it was.
#
# usage: scripts/bench-wrk.sh [-t SECONDS] [-c CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
DUR=10
CONNS=64
bench_parse_tc "$@"

WORK=$(mktemp -d /tmp/sluice-bench.XXXXXX)
PREFIX=sluice-bench
TESTBED_STARTED=0
PROXY_NS_OURS=0
cleanup() {
	bench_kill_all
	# The veths live in sl-proxy and go with it.
	if [ "$PROXY_NS_OURS" = 1 ]; then ip netns del sl-proxy 2>/dev/null || true; fi
	rm -rf "/var/run/dpdk/$PREFIX" /dev/hugepages/${PREFIX}map_* "$WORK"
	if [ "$TESTBED_STARTED" = 1 ]; then
		"$ROOT/scripts/testbed.sh" down >/dev/null 2>&1 || true
	fi
}
# INT and TERM end the run (the EXIT trap then cleans up once): a trap
# that only cleaned up would let the script carry on afterwards.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/build.sh >/dev/null
if ! { bench_ns_exists sl-client && bench_ns_exists sl-backend; }; then
	TESTBED_STARTED=1
fi
scripts/testbed.sh up >/dev/null
if bench_ns_exists sl-proxy; then
	echo "bench-wrk: namespace sl-proxy exists (another bench-wrk.sh running?); not touching it" >&2
	exit 1
fi

# The kernel proxies' namespace and links.
ip netns add sl-proxy
PROXY_NS_OURS=1
ip link add slpc0 netns sl-proxy type veth peer name slpc1 netns sl-client
ip link add slpb0 netns sl-proxy type veth peer name slpb1 netns sl-backend
ip netns exec sl-proxy ip link set lo up
for spec in "sl-proxy slpc0 198.18.8.1" "sl-client slpc1 198.18.8.2" \
	    "sl-proxy slpb0 198.18.9.1" "sl-backend slpb1 198.18.9.2"; do
	set -- $spec
	ip netns exec "$1" ip addr add "$3/24" dev "$2"
	ip netns exec "$1" ip link set "$2" up
	ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true
done

# The backend: one nginx, a 19-byte body, on every backend-side address.
mkdir -p "$WORK/be" "$WORK/np"
cat > "$WORK/be/nginx.conf" <<EOF
user root; worker_processes 1; daemon off; pid $WORK/be/pid; error_log $WORK/be/err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $WORK/be; proxy_temp_path $WORK/be; fastcgi_temp_path $WORK/be;
  uwsgi_temp_path $WORK/be; scgi_temp_path $WORK/be;
  server { listen 8080 reuseport; location / { return 200 "hello from nginx!!\n"; } } }
EOF
ip netns exec sl-backend nginx -c "$WORK/be/nginx.conf" -p "$WORK/be" &
PIDS+=($!)

# NGINX as the proxy.
cat > "$WORK/np/nginx.conf" <<EOF
user root; worker_processes 1; daemon off; pid $WORK/np/pid; error_log $WORK/np/err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $WORK/np; proxy_temp_path $WORK/np; fastcgi_temp_path $WORK/np;
  uwsgi_temp_path $WORK/np; scgi_temp_path $WORK/np;
  upstream be { server 198.18.9.2:8080; keepalive 128; }
  server { listen 198.18.8.1:8081;
    location / { proxy_pass http://be; proxy_http_version 1.1;
                 proxy_set_header Connection ""; } } }
EOF
# HAProxy as the proxy.
cat > "$WORK/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 198.18.8.1:8080
  default_backend be
backend be
  server b1 198.18.9.2:8080
EOF

cat > "$WORK/pct.lua" <<'EOF'
done = function(summary, latency, requests)
  io.write(string.format("PCT %d %d %d %d\n", latency:percentile(50),
    latency:percentile(99), latency:percentile(99.9), summary.requests))
end
EOF

# CPU seconds (user+system) of a process tree's pids.
cpu_of() {
	local t=0 p
	for p in "$@"; do
		for q in $p $(pgrep -P "$p" 2>/dev/null); do
			[ -r "/proc/$q/stat" ] || continue
			t=$((t + $(awk '{print $14 + $15}' "/proc/$q/stat")))
		done
	done
	echo "$t"
}

run_wrk() {   # url -> "rps p50 p99 p999 requests"
	ip netns exec sl-client wrk -t1 -c"$CONNS" -d"${DUR}s" -s "$WORK/pct.lua" "$1" \
		> "$WORK/wrk.out" 2>&1 || true
	awk '/Requests\/sec/ {rps=$2} /^PCT/ {p50=$2; p99=$3; p999=$4; n=$5}
	     END {printf "%s %s %s %s %s\n", rps, p50, p99, p999, n}' "$WORK/wrk.out"
}

HZ=$(getconf CLK_TCK)
declare -A ROWS

bench_kernel() {   # name pid url
	local c0 c1 out
	sleep 1
	ip netns exec sl-client wrk -t1 -c8 -d1s "$3" >/dev/null 2>&1 || true   # warm up
	c0=$(cpu_of "$2")
	out=$(run_wrk "$3")
	c1=$(cpu_of "$2")
	[ -n "$(echo $out)" ] || { echo "bench: $1 produced no result:"; cat "$WORK/wrk.out"; }
	ROWS[$1]="$out $(echo "$c0 $c1 $HZ" | awk '{printf "%.3f", ($2-$1)/$3}')"
}

ip netns exec sl-proxy haproxy -f "$WORK/haproxy.cfg" -db >/dev/null 2>&1 &
HAP=$!
PIDS+=("$HAP")
bench_kernel haproxy "$HAP" "http://198.18.8.1:8080/"
kill "$HAP" 2>/dev/null || true

ip netns exec sl-proxy nginx -c "$WORK/np/nginx.conf" -p "$WORK/np" &
NGP=$!
PIDS+=("$NGP")
bench_kernel nginx "$NGP" "http://198.18.8.1:8081/"
kill "$NGP" 2>/dev/null || true

# Sluice, busy-polling its one worker as in production.
python3 - "$WORK/sluice.json" <<'EOF'
import json, sys
c = json.load(open("conf/sluice.json"))
c["runtime"] = {"idle": "busy"}
c["pools"] = [{"name": "web", "backends": [{"address": "198.18.1.2", "port": 8080}]}]
c["listeners"] = [{"name": "http", "address": "198.18.0.1", "port": 80,
                   "mode": "http", "pool": "web"}]
json.dump(c, open(sys.argv[1], "w"))
EOF
# shellcheck disable=SC2046
build/app/sluice $(scripts/eal-args.sh "$PREFIX") -- -c "$WORK/sluice.json" \
	> "$WORK/sluice.log" 2>&1 &
SL=$!
PIDS+=("$SL")
for _ in $(seq 1 100); do grep -qs "running:" "$WORK/sluice.log" && break; sleep 0.1; done
busy() {
	# Rows are dicts; "total", "page" and "pages" sit beside them.
	bench_tel "$PREFIX" /sluice/lcores | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(v["busy_cycles"] for v in d.values() if isinstance(v, dict)))'
}
TSC=$(bench_tel "$PREFIX" /sluice/info | python3 -c 'import json, sys; print(json.load(sys.stdin)["tsc_hz"])')
ip netns exec sl-client wrk -t1 -c8 -d1s http://198.18.0.1/ >/dev/null 2>&1 || true
b0=$(busy)
out=$(run_wrk "http://198.18.0.1/")
b1=$(busy)
ROWS[sluice]="$out $(echo "$b0 $b1 $TSC" | awk '{printf "%.3f", ($2-$1)/$3}')"
kill -INT "$SL"; wait "$SL" 2>/dev/null || true

printf "\nKernel wrk over veth (process CPU only; Sluice on af_xdp, busy cycles), HTTP keep-alive, %d connections, %ds, 19-byte body, %s\n" "$CONNS" "$DUR" "$(date -u +%F)"
printf "%-8s %10s %9s %9s %10s %10s %9s %14s\n" proxy req/s "p50 us" "p99 us" "p99.9 us" requests "cpu s" "req/cpu-s"
for name in haproxy nginx sluice; do
	set -- ${ROWS[$name]}
	printf "%-8s %10s %9s %9s %10s %10s %9s %14s\n" "$name" "$1" "$2" "$3" "$4" "$5" "$6" \
		"$(echo "$5 $6" | awk '{ if ($2 > 0) printf "%.0f", $1/$2; else print "-" }')"
done
