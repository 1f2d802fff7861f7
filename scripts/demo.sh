#!/usr/bin/env bash
# Sluice demo on the reference testbed: install, build, bring up the
# namespaces, run the gateway, send traffic and show live telemetry.
# Bounded: it runs for about 30 seconds and cleans up everything it made.
# Must run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PREFIX=sluice-demo
CONF=${SLUICE_CONF:-conf/sluice.json}
LOG=$(mktemp /tmp/sluice-demo.XXXXXX.log)
# Incident bundles of the demo gateway stay in a scratch directory.
SLUICE_INCIDENTS_DIR=$(mktemp -d /tmp/sluice-demo-incidents.XXXXXX)
export SLUICE_INCIDENTS_DIR
GW_PID=
# shellcheck source=scripts/pidfile.sh
. "$ROOT/scripts/pidfile.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

tel() {
	# One telemetry command through the stock client, pretty-printed.
	echo "$1" | dpdk-telemetry.py -f "$PREFIX" 2>/dev/null |
		/usr/bin/python3 -c '
import json, sys
limit = int(sys.argv[1])
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        print("\n".join(json.dumps(json.loads(line), indent=2).splitlines()[:limit]))' "${2:-60}"
}

ECHO_PID=
NGINX_PID=
TESTBED_WAS_UP=no
ip netns list 2>/dev/null | grep -qE '^sl-(client|backend)( |$)' && TESTBED_WAS_UP=yes
NGX_DIR=$(mktemp -d /tmp/sluice-demo-nginx.XXXXXX)
cleanup() {
	[ -n "$ECHO_PID" ] && kill "$ECHO_PID" 2>/dev/null || true
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
	rm -rf "$NGX_DIR"
	if [ -n "$GW_PID" ] && kill -0 "$GW_PID" 2>/dev/null; then
		kill -TERM "$GW_PID" 2>/dev/null || true
		wait "$GW_PID" 2>/dev/null || true
	fi
	rm -rf "/var/run/dpdk/$PREFIX"
	rm -f /dev/hugepages/${PREFIX}map_* 2>/dev/null || true
	rm -f "$LOG"
	rm -rf "$SLUICE_INCIDENTS_DIR"
	pidfile_clear
	# A testbed that was up before the demo is left up.
	[ "$TESTBED_WAS_UP" = yes ] || "$ROOT/scripts/testbed.sh" down >/dev/null 2>&1 || true
}
# INT and TERM end the run (the EXIT trap then cleans up once): a trap
# that only cleaned up would let the script carry on afterwards.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# What a demo that was killed outright left running (its pidfiles say
# which processes, and only those) would hold the DPDK prefix and ports.
pidfile_dir demo
pidfile_stop_stale

say "Installing dependencies"
scripts/deps.sh
# Build progress: ninja's "[done/total] ..." lines on one line that
# updates on a terminal (every 25th line and the last elsewhere), and
# everything else (meson's configure, warnings, errors) as it comes. A
# first build takes minutes on a small machine: it must not look hung.
build_progress() {
	local line last='' n=0 tty=no
	[ -t 1 ] && tty=yes
	while IFS= read -r line; do
		case $line in
		\[[0-9]*/[0-9]*\]*)
			n=$((n + 1))
			last=$line
			if [ "$tty" = yes ]; then
				printf '\r\033[K%.100s' "$line"
			elif [ $((n % 25)) -eq 1 ]; then
				echo "$line"
				last=
			fi ;;
		*)
			[ "$tty" = yes ] && [ -n "$last" ] && printf '\n' && last=
			echo "$line" ;;
		esac
	done
	if [ -n "$last" ]; then
		if [ "$tty" = yes ]; then printf '\n'; else echo "$last"; fi
	fi
	return 0
}
say "Building"
scripts/build.sh 2>&1 | build_progress
echo "build/app/sluice built"

say "Checking the configuration before it runs"
build/app/sluice --check-config "$CONF"

say "Bringing up the testbed"
scripts/testbed.sh up

say "Starting two echo backends in sl-backend (198.18.1.2-3:9000)"
ip netns exec sl-backend /usr/bin/python3 tests/integration/peers/backends.py echo \
	--addr 198.18.1.2 --addr 198.18.1.3 --port 9000 --lifetime 120 >/dev/null &
ECHO_PID=$!
pidfile_add echo "$ECHO_PID"

say "Starting three nginx backends in sl-backend (198.18.1.2-4:8080)"
cat > "$NGX_DIR/nginx.conf" <<EOF
user root; worker_processes 1; daemon off; pid $NGX_DIR/pid; error_log $NGX_DIR/err;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 100000;
  client_body_temp_path $NGX_DIR; proxy_temp_path $NGX_DIR; fastcgi_temp_path $NGX_DIR;
  uwsgi_temp_path $NGX_DIR; scgi_temp_path $NGX_DIR;
  server { listen 198.18.1.2:8080; location / { return 200 "web1 says hello\n"; } }
  server { listen 198.18.1.3:8080; location / { return 200 "web2 says hello\n"; } }
  server { listen 198.18.1.4:8080; location / { return 200 "web3 says hello\n"; } } }
EOF
ip netns exec sl-backend nginx -c "$NGX_DIR/nginx.conf" -p "$NGX_DIR" &
NGINX_PID=$!
pidfile_add nginx "$NGINX_PID"

say "Starting the gateway (log: $LOG)"
# shellcheck disable=SC2046
build/app/sluice $(scripts/eal-args.sh "$PREFIX") -- -c "$CONF" >"$LOG" 2>&1 &
GW_PID=$!
pidfile_add gateway "$GW_PID"
for _ in $(seq 1 100); do
	grep -q "running:" "$LOG" && break
	kill -0 "$GW_PID" 2>/dev/null || { cat "$LOG"; exit 1; }
	sleep 0.1
done
grep "sluice:" "$LOG" || true

say "Ping from the client namespace to the gateway (198.18.0.1)"
ip netns exec sl-client ping -c 20 -i 0.05 198.18.0.1 | tail -n 3
say "Ping from the backend namespace to the gateway (198.18.1.1)"
ip netns exec sl-backend ping -c 5 -i 0.05 198.18.1.1 | tail -n 2

say "TCP mode: 20 connections through 198.18.0.1:9000 to the echo pool"
ip netns exec sl-client /usr/bin/python3 - <<'PY'
import socket
ok = 0
for i in range(20):
    s = socket.create_connection(("198.18.0.1", 9000), timeout=5)
    msg = f"hello {i} through sluice".encode()
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        got += s.recv(100)
    ok += got == msg
    s.close()
print(f"{ok}/20 echoed back intact")
PY
say "Telemetry: /sluice/tcp (totals)"
echo /sluice/tcp | dpdk-telemetry.py -f "$PREFIX" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    if line.startswith("{"):
        t = json.loads(line)["/sluice/tcp"]["total"]
        keys = ("passive_opens", "active_opens", "established", "l4_sessions",
                "l4_bytes_c2s", "l4_bytes_s2c", "conns_active", "conns_time_wait",
                "retransmits_timeout", "mem_per_conn_bytes")
        print("\n".join("  %-22s %s" % (k, t[k]) for k in keys))'

say "HTTP: three requests through 198.18.0.1:80 (round robin over web1-3)"
for _ in 1 2 3; do ip netns exec sl-client curl -s http://198.18.0.1/; done
say "HTTP: wrk, 32 keep-alive connections for 5 seconds"
ip netns exec sl-client wrk -t1 -c32 -d5s http://198.18.0.1/ | sed -n '3,8p'
say "Telemetry: /sluice/backends,web (requests and latency per backend)"
echo /sluice/backends,web | dpdk-telemetry.py -f "$PREFIX" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    if line.startswith("{"):
        for name, b in json.loads(line)["/sluice/backends"].items():
            if not isinstance(b, dict):
                continue
            print("  %-6s %-18s %-9s share=%4.1f%% requests=%-7d p50=%dus p99=%dus p99.9=%dus" % (
                name, b["address"], b["state"], b["share_permille"] / 10,
                b["requests"], b["total_p50_us"], b["total_p99_us"],
                b["total_p999_us"]))'
say "Balancing: take web3 out of rotation at run time (/sluice/set_weight,web,web3,0)"
tel /sluice/set_weight,web,web3,0
sleep 0.2
for _ in 1 2 3 4; do ip netns exec sl-client curl -s http://198.18.0.1/; done
say "Telemetry: /sluice/events (what the gateway decided, and why)"
tel /sluice/events 30
say "Telemetry: /sluice/pools (health, panic, refusals, imbalance)"
tel /sluice/pools 30
say "Telemetry: /sluice/http (first lines)"
tel /sluice/http 12

say "Telemetry: /sluice/info"
tel /sluice/info
say "Telemetry: /sluice/arp (the neighbours the gateway learned)"
tel /sluice/arp
say "Telemetry: /sluice/lcores (busy vs idle cycles per worker)"
tel /sluice/lcores
say "Telemetry: /sluice/ports (first lines)"
tel /sluice/ports 30

say "Live: packets and busy % each second, for 5 seconds, while the client pings"
ip netns exec sl-client ping -c 100 -i 0.1 198.18.0.1 >/dev/null &
PING_PID=$!
pidfile_add ping "$PING_PID"
# Current rates: each line is the difference between two samples a second
# apart (the counters themselves, and busy_pct, are totals since start).
/usr/bin/python3 - "$PREFIX" <<'PY'
import json, subprocess, sys, time

def sample():
    out = subprocess.run(["dpdk-telemetry.py", "-f", sys.argv[1]], input="/sluice/lcores\n",
                         capture_output=True, text=True, timeout=10).stdout
    for line in out.splitlines():
        if line.startswith("{"):
            return {lc: v for lc, v in json.loads(line)["/sluice/lcores"].items()
                    if isinstance(v, dict)}
    return {}

prev, t_prev = sample(), time.monotonic()
for _ in range(5):
    time.sleep(1)
    cur, t = sample(), time.monotonic()
    for lc, v in cur.items():
        p = prev.get(lc)
        if p is None:
            continue
        busy = v["busy_cycles"] - p["busy_cycles"]
        total = busy + v["idle_cycles"] - p["idle_cycles"]
        pkts = v["packets"] - p["packets"]
        print("lcore %s: %6.0f packets/s  busy %5.2f%%  cycles/packet %s" % (
              lc, pkts / (t - t_prev), 100.0 * busy / total if total else 0.0,
              busy // pkts if pkts else "-"))
    prev, t_prev = cur, t
PY
wait "$PING_PID" || true

say "Stopping the gateway (SIGTERM)"
kill -TERM "$GW_PID"
wait "$GW_PID" && echo "sluice exited cleanly"
GW_PID=
tail -n 2 "$LOG"
