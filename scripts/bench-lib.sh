# shellcheck shell=bash
# What the benchmark scripts share: the -t/-c options, the processes a run
# must not leave behind, and reading one telemetry command. Sourced, not run.

# -t SECONDS (1..120) and -c CONNECTIONS into DUR and CONNS; the caller sets
# the defaults first. Exits 2 with a usage line on anything else.
bench_parse_tc() {
	while [ $# -gt 0 ]; do
		case "$1" in
		-t) DUR=$2; shift 2 ;;
		-c) CONNS=$2; shift 2 ;;
		*) echo "usage: $0 [-t SECONDS] [-c CONNECTIONS]" >&2; exit 2 ;;
		esac
	done
	bench_check_tc
}

# DUR and CONNS as bench_parse_tc accepts them, or exit 2 with a message.
bench_check_tc() {
	case "$DUR" in ''|*[!0-9]*) echo "-t takes whole seconds" >&2; exit 2 ;; esac
	case "$CONNS" in ''|*[!0-9]*) echo "-c takes a count" >&2; exit 2 ;; esac
	[ "$DUR" -ge 1 ] && [ "$DUR" -le 120 ] || { echo "-t must be 1..120" >&2; exit 2; }
	[ "$CONNS" -ge 1 ] || { echo "-c must be at least 1" >&2; exit 2; }
}

# bench_ns_exists NAME: whether network namespace NAME exists.
bench_ns_exists() {
	ip netns list | awk '{ print $1 }' | grep -qx -- "$1"
}

# Every process a run starts goes into PIDS; bench_kill_all [GRACE_S] stops
# them from the caller's cleanup trap: TERM, then KILL what is still there
# after GRACE_S seconds (default 0.5; valgrind needs longer to write out).
PIDS=()
# The benchmarks' gateways keep incident bundles in a scratch directory,
# removed with the run's processes, not in /var/lib/sluice/incidents.
if [ -z "${SLUICE_INCIDENTS_DIR:-}" ]; then
	SLUICE_INCIDENTS_DIR=$(mktemp -d /tmp/sluice-bench-incidents.XXXXXX)
	BENCH_INCIDENTS_OWNED=1
fi
export SLUICE_INCIDENTS_DIR
bench_kill_all() {
	local p alive i tries
	tries=$(awk -v g="${1:-0.5}" 'BEGIN { printf "%d", g * 10 }')
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for ((i = 0; i < tries; i++)); do
		alive=0
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	# After the gateways are gone: a stopping gateway freezes its open incident.
	if [ -n "${BENCH_INCIDENTS_OWNED:-}" ]; then rm -rf "$SLUICE_INCIDENTS_DIR"; fi
}

# bench_tel FILE_PREFIX COMMAND: the JSON of the command's reply value, from
# the DPDK telemetry socket of the process started with --file-prefix
# (scripts/sluice_telemetry.py, the client sluicectl and the exporter use).
bench_tel() {
	timeout 20 python3 "$(dirname "${BASH_SOURCE[0]}")/sluice_telemetry.py" \
		--prefix "$1" "$2"
}

# bench_virtio_conf FILE LISTENERS SETTINGS_JSON: the gateway config of a
# run under sluice-loadgen: ports net_virtio_user0 (198.18.0.1, clients)
# and net_virtio_user1 (198.18.1.1, backends), a pool "lg" with the
# loadgen's backend 198.18.1.2:8080, LISTENERS http listeners on ports 80,
# 81, ...; SETTINGS_JSON adds or replaces top-level sections (runtime,
# memory, tcp, http).
bench_virtio_conf() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
path, k, settings = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
c = {"version": 1,
     "ports": [{"name": "net_virtio_user0", "address": "198.18.0.1/24"},
               {"name": "net_virtio_user1", "address": "198.18.1.1/24"}],
     "pools": [{"name": "lg", "backends": [{"address": "198.18.1.2", "port": 8080}]}],
     "listeners": [{"name": "web%s" % (i or ""), "address": "198.18.0.1",
                    "port": 80 + i, "mode": "http", "pool": "lg"} for i in range(k)]}
c.update(settings)
json.dump(c, open(path, "w"))
PY
}
