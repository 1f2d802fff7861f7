#!/usr/bin/env bash
# Sluice, HAProxy 2.6 and NGINX 1.22 under ONE load generator: sluice-loadgen
# plays the clients and the backend for all three, with the same requests
# (GET /, a 64-byte answer, -c connections) and the same shapes:
#
#   sluice   loadgen net_vhost0/1 <vhost-user> net_virtio_user0/1 [worker]
#   kernel   loadgen net_af_packet0/1 on slbpc0/slbpb0 <veth> slbpc1/slbpb1
#            in namespace sl-bench-px [haproxy | nginx]
#            (--pmd tap: the loadgen runs in sl-bench-px on net_tap0/1, so
#            the taps are the proxy's interfaces; no veth)
#
# The proxy alone has CPU 1: HAProxy (nbthread 1) and NGINX
# (worker_processes 1) under taskset, Sluice's one worker lcore. The loadgen
# lcore, this script and Sluice's control thread have CPU 0. RPS puts the
# kernel's receive work on the CPU of whoever reads: rps_cpus of the
# proxy-side ends is CPU 1's mask, of the loadgen-side ends CPU 0's, so the
# proxy's core holds its process AND its kernel network work.
#
# Each proxy adds X-Forwarded-For, X-Forwarded-Proto, Via and X-Request-Id
# (Sluice always does; HAProxy: option forwardfor, set-header,
# unique-id-header; NGINX: proxy_set_header) and keeps backend connections
# alive.
#
# CPU: the proxy CPU's non-idle time in /proc/stat (user, nice, system, irq,
# softirq; steal is shown apart and not counted) over a window inside the
# load, against the requests the proxy itself counted over the same window
# (HAProxy's CumReq, NGINX's stub_status, Sluice's /sluice/http):
# scripts/bench_window.py. Sluice busy-polls, so its whole core is the
# window's length; its busy cycles (/sluice/lcores) are the work it did; and
# "sluice-adaptive" (runtime.idle adaptive) sleeps when idle, so its
# /proc/stat time means work, as a kernel proxy's does.
#
# Shapes: keepalive (closed loop), newconn (a new connection per request),
# rate (keep-alive, open loop at --rate requests/s, latency from intended
# send times). Runs alternate (each proxy once per shape per round) for -r
# rounds; the tables give medians and [min-max] (scripts/bench_report.py).
#
# usage: scripts/bench.sh [-t SECONDS] [-c CONNECTIONS] [-r ROUNDS]
#          [--rate REQ_PER_S] [--pmd af_packet|tap] [--shapes LIST]
#          [--proxies LIST] [--json FILE] [--wrk]
#   -t     seconds of load per run (2..120, default 5)
#   -c     connections (default 64)
#   -r     rounds (default 3)
#   --rate the open-loop rate (default 5000; one all three sustain)
#   --shapes   of keepalive,newconn,rate (default all)
#   --proxies  of sluice,sluice-adaptive,haproxy,nginx (default all)
#   --json     write every run and the summary to FILE
#   --wrk      then run scripts/bench-wrk.sh, the old kernel-wrk-over-veth
#              table (process CPU only), for reference
# Must run as root, under the netns lock (flock /tmp/sluice-netns.lock).
# SLUICE_BIN and SLUICE_LOADGEN_BIN pick other builds. Exit 0 when every run
# gave every figure, 1 otherwise (the tables still print).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

DUR=5
CONNS=64
ROUNDS=3
RATE=5000
PMD=af_packet
SHAPES=keepalive,newconn,rate
PROXIES=sluice,sluice-adaptive,haproxy,nginx
JSON_OUT=
WRK=0
usage() {
	sed -n '/^# usage:/,/^# SLUICE_BIN/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	-t) DUR=${2:-}; shift 2 ;;
	-c) CONNS=${2:-}; shift 2 ;;
	-r) ROUNDS=${2:-}; shift 2 ;;
	--rate) RATE=${2:-}; shift 2 ;;
	--pmd) PMD=${2:-}; shift 2 ;;
	--shapes) SHAPES=${2:-}; shift 2 ;;
	--proxies) PROXIES=${2:-}; shift 2 ;;
	--json) JSON_OUT=${2:-}; shift 2 ;;
	--wrk) WRK=1; shift ;;
	-h|--help) usage ;;
	*) echo "bench.sh: unknown option $1" >&2; usage ;;
	esac
done
bench_check_tc
[ "$DUR" -ge 2 ] || { echo "-t must be at least 2 (the window is t - 1 s)" >&2; exit 2; }
case "$ROUNDS" in ''|*[!0-9]*|0) echo "-r takes a count >= 1" >&2; exit 2 ;; esac
case "$RATE" in ''|*[!0-9]*|0) echo "--rate takes requests/s >= 1" >&2; exit 2 ;; esac
case "$PMD" in af_packet|tap) ;; *) echo "--pmd is af_packet or tap" >&2; exit 2 ;; esac
for s in ${SHAPES//,/ }; do
	case "$s" in keepalive|newconn|rate) ;; *) echo "unknown shape $s" >&2; exit 2 ;; esac
done
for p in ${PROXIES//,/ }; do
	case "$p" in sluice|sluice-adaptive|haproxy|nginx) ;; *) echo "unknown proxy $p" >&2; exit 2 ;; esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench.sh: must run as root" >&2; exit 1; }

SL_BIN=${SLUICE_BIN:-build/app/sluice}
LG_BIN=${SLUICE_LOADGEN_BIN:-build/app/sluice-loadgen}
if [ ! -x "$SL_BIN" ] || [ ! -x "$LG_BIN" ]; then
	scripts/build.sh >/dev/null
fi
SL_BIN=$(realpath "$SL_BIN")
LG_BIN=$(realpath "$LG_BIN")

PROXY_CPU=1
LG_CPU=0
PROXY_MASK=$(printf '%x' $((1 << PROXY_CPU)))
LG_MASK=$(printf '%x' $((1 << LG_CPU)))
# This script and everything it starts: CPU 0. The proxy is moved to CPU 1
# (taskset), Sluice's worker by EAL's -l.
taskset -cp "$LG_CPU" $$ >/dev/null

NS=sl-bench-px
# Root-side (loadgen) and namespace-side (proxy) ends; the taps of --pmd tap.
VC0=slbpc0 VC1=slbpc1 VB0=slbpb0 VB1=slbpb1
TAPC=slbtc0 TAPB=slbtb0
WORK=$(mktemp -d /tmp/sl-bench.XXXXXX)
GWP=sl-bench-gw-$$
LGP=sl-bench-lg-$$
NFT_TABLE=sl_bench_px
NS_OURS=0
VETH_OURS=0
NFT_OURS=0
cleanup() {
	bench_kill_all
	if [ "$NFT_OURS" = 1 ]; then nft delete table netdev "$NFT_TABLE" 2>/dev/null || true; fi
	if [ "$VETH_OURS" = 1 ]; then
		ip link del "$VC0" 2>/dev/null || true
		ip link del "$VB0" 2>/dev/null || true
	fi
	if [ "$NS_OURS" = 1 ]; then ip netns del "$NS" 2>/dev/null || true; fi
	rm -rf "/var/run/dpdk/$GWP" "/var/run/dpdk/$LGP" "$WORK"
}
# INT and TERM end the run (the EXIT trap then cleans up once): a trap
# that only cleaned up would let the script carry on afterwards.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stop_pid PID: TERM, up to 5 s, then KILL; reaped and dropped from PIDS so
# that the exit trap never signals a PID the kernel has handed on.
stop_pid() {
	local p=$1 i keep=()
	kill -TERM "$p" 2>/dev/null || true
	for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	for i in "${PIDS[@]}"; do [ "$i" = "$p" ] || keep+=("$i"); done
	PIDS=("${keep[@]}")
}
# wait_for SECONDS CMD...: CMD until it succeeds, polled every 50 ms.
wait_for() {
	local n=$(($1 * 20)) i
	shift
	for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.05; done
	return 1
}
nonempty() { [ -s "$1" ]; }

# --- the proxies' namespace ---------------------------------------------
if bench_ns_exists "$NS"; then
	echo "bench.sh: namespace $NS exists (another bench.sh running, or one that was killed);" \
	     "not touching it. Remove it with: ip netns del $NS" >&2
	exit 1
fi
if nft list table netdev "$NFT_TABLE" >/dev/null 2>&1; then
	echo "bench.sh: nft table netdev $NFT_TABLE exists and is not this run's; not touching it" >&2
	exit 1
fi
for d in "$VC0" "$VB0"; do
	if ip link show "$d" >/dev/null 2>&1; then
		echo "bench.sh: interface $d exists and is not this run's; not touching it" >&2
		exit 1
	fi
done
needs_kernel=0
case ",$PROXIES," in *,haproxy,*|*,nginx,*) needs_kernel=1 ;; esac
# ns_if_setup DEV ADDR: a proxy-side interface in the namespace: its
# address, full checksums on what it sends (the loadgen takes frames as
# they are: a partial checksum would fail), and RPS onto the proxy's CPU.
ns_if_setup() {
	ip netns exec "$NS" ip addr replace "$2" dev "$1"
	ip netns exec "$NS" ip link set "$1" up
	ip netns exec "$NS" ethtool -K "$1" tx off tso off gso off gro off >/dev/null 2>&1 || true
	ip netns exec "$NS" sh -c "echo $PROXY_MASK > /sys/class/net/$1/queues/rx-0/rps_cpus"
}
if [ "$needs_kernel" = 1 ]; then
	ip netns add "$NS"
	NS_OURS=1
	ip netns exec "$NS" ip link set lo up
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	if [ "$PMD" = af_packet ]; then
		VETH_OURS=1
		ip link add "$VC0" type veth peer name "$VC1" netns "$NS"
		ip link add "$VB0" type veth peer name "$VB1" netns "$NS"
		for d in "$VC0" "$VB0"; do
			# The loadgen's ends: no address, no IPv6, nothing forwarded.
			sysctl -qw "net.ipv6.conf.$d.disable_ipv6=1"
			sysctl -qw "net.ipv4.conf.$d.forwarding=0"
			ip link set "$d" up
			ethtool -K "$d" tx off tso off gso off gro off >/dev/null 2>&1 || true
			echo "$LG_MASK" > "/sys/class/net/$d/queues/rx-0/rps_cpus"
		done
		# The netdev ingress hook runs after AF_PACKET has its copy: the
		# root namespace's stack never sees the test traffic.
		NFT_OURS=1
		nft -f - <<EOF
table netdev $NFT_TABLE {
  chain c { type filter hook ingress device "$VC0" priority 0; policy drop; }
  chain b { type filter hook ingress device "$VB0" priority 0; policy drop; }
}
EOF
		ns_if_setup "$VC1" 198.18.8.1/24
		ns_if_setup "$VB1" 198.18.9.1/24
	fi
fi

# --- configurations -------------------------------------------------------
mkdir -p "$WORK/ngx"
# Both kernel proxies listen on 8080 in the namespace (one at a time), on
# every address: the taps of --pmd tap appear only with each run's loadgen.
cat > "$WORK/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
  stats socket $WORK/hap.sock level admin
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 30s
  http-reuse always
frontend fe
  bind 0.0.0.0:8080
  maxconn 4096
  option forwardfor
  http-request set-header X-Forwarded-Proto http
  http-request set-header Via "1.1 haproxy"
  unique-id-format %{+X}o\ %Ts-%rt
  unique-id-header X-Request-Id
  default_backend be
backend be
  server b1 198.18.9.2:8080
EOF
cat > "$WORK/ngx/nginx.conf" <<EOF
user root; worker_processes 1; daemon off; pid $WORK/ngx/pid; error_log $WORK/ngx/err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 60s;
  client_body_temp_path $WORK/ngx; proxy_temp_path $WORK/ngx; fastcgi_temp_path $WORK/ngx;
  uwsgi_temp_path $WORK/ngx; scgi_temp_path $WORK/ngx;
  upstream be { server 198.18.9.2:8080; keepalive 128; keepalive_requests 1000000; }
  server { listen 8080 backlog=4096;
    location / { proxy_pass http://be; proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header Via "1.1 nginx";
      proxy_set_header X-Request-Id \$request_id; } }
  server { listen unix:$WORK/ngx/status.sock;
    location /stub_status { stub_status; } } }
EOF
for idle in busy adaptive; do
	bench_virtio_conf "$WORK/gw-$idle.json" 1 \
		"{ \"runtime\": { \"idle\": \"$idle\" }, \"memory\": { \"mbufs\": 32768 }, \"tcp\": { \"time_wait_s\": 1 } }"
done

# --- one run ----------------------------------------------------------------
WARMUP=1.5
SETTLE=0.5
WINDOW=$((DUR - 1))
shape_args() {
	case "$1" in
	keepalive) ;;
	newconn) echo --new-conn ;;
	rate) echo -r "$RATE" ;;
	esac
}
lg_common() {
	# shellcheck disable=SC2046   # shape_args is words
	echo --json --warmup "$WARMUP" -c "$CONNS" -d "$DUR" --response-size 64 \
		--link-wait 30 $(shape_args "$1")
}
window() {   # KIND SOURCE PIDS -> $RUN/win.json
	python3 scripts/bench_window.py --kind "$1" --source "$2" --pids "$3" \
		--cpu "$PROXY_CPU" --settle "$SETTLE" --window "$WINDOW" \
		--report "$RUN/lg.json" --timeout 60 > "$RUN/win.json" 2> "$RUN/win.err" || true
}
# The loadgen's report, then its exit status (bounded).
lg_gone() { ! kill -0 "$LG" 2>/dev/null; }
lg_finish() {
	wait_for $((DUR + 40)) nonempty "$RUN/lg.json" || true
	wait_for 20 lg_gone || true
	LG_RC=0
	if lg_gone; then wait "$LG" 2>/dev/null || LG_RC=$?; fi
	stop_pid "$LG"
}

run_sluice() {   # IDLE SHAPE
	local idle=$1 shape=$2 gw
	rm -f "$WORK"/c.sock "$WORK"/b.sock
	"$SL_BIN" -l "$LG_CPU,$PROXY_CPU" --no-pci --file-prefix "$GWP" --no-huge -m 1024 \
		--vdev "net_virtio_user0,path=$WORK/c.sock,queues=1,server=1" \
		--vdev "net_virtio_user1,path=$WORK/b.sock,queues=1,server=1" \
		-- -c "$WORK/gw-$idle.json" > "$RUN/gw.log" 2>&1 &
	gw=$!
	PIDS+=("$gw")
	wait_for 10 test -S "$WORK/c.sock" || true
	# shellcheck disable=SC2046
	"$LG_BIN" -l "$LG_CPU" --no-pci --file-prefix "$LGP" --no-huge -m 512 \
		--vdev "net_vhost0,iface=$WORK/c.sock,client=1" \
		--vdev "net_vhost1,iface=$WORK/b.sock,client=1" -- \
		--client net_vhost0 --server net_vhost1 --hold 60 $(lg_common "$shape") \
		> "$RUN/lg.json" 2> "$RUN/lg.err" &
	LG=$!
	PIDS+=("$LG")
	window sluice "$GWP" "$gw"
	wait_for $((DUR + 40)) nonempty "$RUN/lg.json" || true
	# The gateway first, while its vhost peer still holds the links.
	stop_pid "$gw"
	stop_pid "$LG"
	LG_RC=0
}

tap_setup() {
	wait_for 20 ip netns exec "$NS" ip link show "$TAPB" >/dev/null 2>&1 || return 1
	wait_for 5 ip netns exec "$NS" ip link show "$TAPC" >/dev/null 2>&1 || return 1
	ns_if_setup "$TAPC" 198.18.8.1/24
	ns_if_setup "$TAPB" 198.18.9.1/24
}

run_kernel() {   # haproxy|nginx SHAPE
	local px=$1 shape=$2 pid pids src lgargs
	if [ "$px" = haproxy ]; then
		rm -f "$WORK/hap.sock"
		taskset -c "$PROXY_CPU" ip netns exec "$NS" haproxy -f "$WORK/haproxy.cfg" -db \
			> "$RUN/proxy.log" 2>&1 &
		pid=$!
		src=$WORK/hap.sock
	else
		rm -f "$WORK/ngx/status.sock"
		taskset -c "$PROXY_CPU" ip netns exec "$NS" nginx -c "$WORK/ngx/nginx.conf" \
			-p "$WORK/ngx" > "$RUN/proxy.log" 2>&1 &
		pid=$!
		src=$WORK/ngx/status.sock
	fi
	PIDS+=("$pid")
	wait_for 10 test -S "$src" || true
	sleep 0.2   # NGINX's worker
	# shellcheck disable=SC2046   # the children, one word each
	pids=$(echo "$pid" $(pgrep -P "$pid" || true) | tr ' ' ,)
	lgargs="--client-addr 198.18.8.2/24 --target 198.18.8.1:8080 --server-addr 198.18.9.2/24 --listen 8080"
	if [ "$PMD" = af_packet ]; then
		# shellcheck disable=SC2046,SC2086
		"$LG_BIN" -l "$LG_CPU" --no-pci --file-prefix "$LGP" --no-huge -m 512 \
			--vdev "net_af_packet0,iface=$VC0" --vdev "net_af_packet1,iface=$VB0" -- \
			--client net_af_packet0 --server net_af_packet1 $lgargs $(lg_common "$shape") \
			> "$RUN/lg.json" 2> "$RUN/lg.err" &
		LG=$!
		PIDS+=("$LG")
	else
		# shellcheck disable=SC2046,SC2086
		ip netns exec "$NS" "$LG_BIN" -l "$LG_CPU" --no-pci --file-prefix "$LGP" --no-huge -m 512 \
			--vdev "net_tap0,iface=$TAPC" --vdev "net_tap1,iface=$TAPB" -- \
			--client net_tap0 --server net_tap1 $lgargs $(lg_common "$shape") \
			> "$RUN/lg.json" 2> "$RUN/lg.err" &
		LG=$!
		PIDS+=("$LG")
		tap_setup || echo "bench.sh: the taps did not appear" >> "$RUN/win.err"
	fi
	window "$px" "$src" "$pids"
	lg_finish
	stop_pid "$pid"
}

# --- the runs ---------------------------------------------------------------
mkdir -p "$WORK/runs"
n=0
total=$((ROUNDS * $(echo "${SHAPES//,/ }" | wc -w) * $(echo "${PROXIES//,/ }" | wc -w)))
printf "bench.sh: %d runs of %d s (%s), %d connections, rate %d/s, kernel proxies on %s; %s\n" \
	"$total" "$DUR" "$SHAPES" "$CONNS" "$RATE" "$PMD" "$(date -u '+%F %T UTC')"
for round in $(seq 1 "$ROUNDS"); do
	for shape in ${SHAPES//,/ }; do
		for px in ${PROXIES//,/ }; do
			n=$((n + 1))
			RUN=$WORK/runs/$(printf '%03d' $n)
			mkdir -p "$RUN"
			read -r la1 la5 la15 _ < /proc/loadavg
			printf "run %d/%d: round %d, %-9s %-15s load average %s %s %s\n" \
				"$n" "$total" "$round" "$shape" "$px" "$la1" "$la5" "$la15"
			LG_RC=0
			case "$px" in
			sluice) run_sluice busy "$shape" ;;
			sluice-adaptive) run_sluice adaptive "$shape" ;;
			*) run_kernel "$px" "$shape" ;;
			esac
			printf '{"n": %d, "round": %d, "shape": "%s", "proxy": "%s", "loadavg": [%s, %s, %s], "pmd": "%s", "lg_rc": %d}\n' \
				"$n" "$round" "$shape" "$px" "$la1" "$la5" "$la15" \
				"$( [ "${px#sluice}" != "$px" ] && echo vhost || echo "$PMD")" "$LG_RC" > "$RUN/meta.json"
			if [ -n "${SL_BENCH_KEEP:-}" ]; then mkdir -p "$SL_BENCH_KEEP" && cp -r "$RUN" "$SL_BENCH_KEEP/"; fi
		done
	done
done

rc=0
python3 scripts/bench_report.py --runs "$WORK/runs" --duration "$DUR" --connections "$CONNS" \
	--rate "$RATE" --pmd "$PMD" ${JSON_OUT:+--json "$JSON_OUT"} || rc=$?

if [ "$WRK" = 1 ]; then
	echo
	scripts/bench-wrk.sh -t "$DUR" -c "$CONNS" || rc=1
fi
exit "$rc"
