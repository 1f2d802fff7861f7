#!/usr/bin/env bash
# Instructions per proxied HTTP keep-alive request in the gateway's worker,
# counted by valgrind's callgrind (repeatable on this machine, unlike cycles).
#
# The gateway runs under `valgrind --tool=callgrind --separate-threads=yes`
# on two net_virtio_user ports; sluice-loadgen (native, on the net_vhost
# ends) plays the clients and the backend and sends exactly -n keep-alive
# requests over -c connections after --warmup. Only the worker thread's
# counts are used, in two windows:
#   load: from a zero of the counters after the gateway has started (the
#         loadgen is attached and still in its warm-up) to after the
#         loadgen's last answer and the close of its connections;
#   idle: the next 3 s, the loadgen still attached but silent: the cost of
#         one empty poll.
# Requests are the gateway's own count (/sluice/http "requests") over the
# load window; the gateway is idle at both ends of it, so the count is exact.
# Polls are counted by callgrind (calls of sl_arp_tick, once per loop
# turn), busy polls by the worker (/sluice/lcores).
#
# The worker sleeps after every empty poll ("idle": "adaptive", idle_polls
# 1): under valgrind the gateway is the slow side, and busy polling would
# make empty polls most of what it executes. The loadgen sleeps when idle
# too (--idle adaptive), so a run takes about one core, not two.
#
# Printed: Ir per request gross (everything the worker executed in the load
# window, divided by requests) and net (less the load window's empty polls
# at the idle window's cost per empty poll, its sleep call included: their
# share depends on how fast each side ran, not on the request);
# then the top functions by exclusive and inclusive Ir per request.
#
# usage: scripts/profile.sh [-n REQUESTS] [-c CONNECTIONS] [-k TOP]
# env: SLUICE_BIN, SLUICE_LOADGEN_BIN pick other builds; SL_PROF_KEEP=DIR
# keeps the callgrind files and logs there (callgrind_annotate them).
# Bounded: every wait has a limit; processes and /var/run/dpdk/<prefix>
# directories are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
REQS=20000
CONNS=4
TOP=20
while [ $# -gt 0 ]; do
	case "$1" in
	-n) REQS=$2; shift 2 ;;
	-c) CONNS=$2; shift 2 ;;
	-k) TOP=$2; shift 2 ;;
	*) echo "usage: $0 [-n REQUESTS] [-c CONNECTIONS] [-k TOP]" >&2; exit 2 ;;
	esac
done
[ "$REQS" -ge 100 ] && [ "$REQS" -le 1000000 ] || { echo "-n must be 100..1000000" >&2; exit 2; }
[ "$CONNS" -ge 1 ] && [ "$CONNS" -le 256 ] || { echo "-c must be 1..256" >&2; exit 2; }
command -v valgrind > /dev/null || { echo "valgrind is not installed" >&2; exit 2; }
SL_BIN=${SLUICE_BIN:-build/app/sluice}
LG_BIN=${SLUICE_LOADGEN_BIN:-build/app/sluice-loadgen}

WORK=$(mktemp -d /tmp/sl-prof.XXXXXX)
GWP=sl-prof-gw-$$
LGP=sl-prof-lg-$$
cleanup() {
	bench_kill_all 6
	if [ -n "${SL_PROF_KEEP:-}" ]; then
		mkdir -p "$SL_PROF_KEEP"
		cp "$WORK"/cg.* "$WORK"/*.log "$WORK"/lg.* "$SL_PROF_KEEP"/ 2>/dev/null || true
	fi
	rm -rf "/var/run/dpdk/$GWP" "/var/run/dpdk/$LGP" "$WORK"
}
# INT and TERM end the run (the EXIT trap then cleans up once): a trap
# that only cleaned up would let the script carry on afterwards.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_virtio_conf "$WORK/gw.json" 1 '{ "memory": { "mbufs": 8192 },
  "runtime": { "idle": "adaptive", "idle_polls": 1, "idle_sleep_us": 20 },
  "tcp": { "time_wait_s": 1 } }'

tel() { bench_tel "$GWP" "$1"; }
counters() {   # -> "requests busy_polls polls"
	paste <(tel /sluice/http) <(tel /sluice/lcores) | python3 -c '
import json, sys
a, b = sys.stdin.read().split("\t")
h = json.loads(a); l = json.loads(b)
rows = [v for v in l.values() if isinstance(v, dict) and "busy_polls" in v]
print(h["requests"], sum(v["busy_polls"] for v in rows), sum(v["polls"] for v in rows))'
}
# Dump the counters since the last dump/zero; echo the new worker file.
dump() {
	local before after
	before=$(ls "$WORK"/cg.out.* 2>/dev/null | sort)
	timeout 60 callgrind_control -d "$1" "$GW" > /dev/null 2>&1 || { echo "callgrind_control -d failed" >&2; return 1; }
	for _ in $(seq 1 100); do
		after=$(ls "$WORK"/cg.out.* 2>/dev/null | sort)
		[ "$after" != "$before" ] && break
		sleep 0.1
	done
	sleep 0.5
	for f in $(comm -13 <(echo "$before") <(echo "$after")); do
		grep -q 'sl_worker_main' "$f" && { echo "$f"; return; }
	done
	echo "no worker thread in the dump" >&2
	return 1
}

rm -f "$WORK"/*.sock
# valgrind 3.19 has no AVX-512: Debian's DPDK picks its SIMD paths from
# CPUID, which valgrind answers without it; a build whose own code uses
# AVX-512 stops with SIGILL here.
valgrind --tool=callgrind --separate-threads=yes --dump-instr=no \
	--callgrind-out-file="$WORK/cg.out" \
	"$SL_BIN" -l 0,1 --no-pci --file-prefix "$GWP" --no-huge -m 1024 \
	--vdev "net_virtio_user0,path=$WORK/c.sock,queues=1,server=1" \
	--vdev "net_virtio_user1,path=$WORK/b.sock,queues=1,server=1" \
	-- -c "$WORK/gw.json" > "$WORK/gw.log" 2>&1 &
GW=$!
PIDS+=($GW)
# (it creates b.sock only once the loadgen has attached to c.sock)
for _ in $(seq 1 600); do [ -S "$WORK/c.sock" ] && break; sleep 0.1; done
[ -S "$WORK/c.sock" ] || { echo "gateway did not create its sockets:" >&2; tail "$WORK/gw.log" >&2; exit 1; }
# The load starts WARMUP s after the links come up: time for the idle window.
WARMUP=8
timeout $((REQS / 50 + 300)) "$LG_BIN" -l 0 --no-pci --file-prefix "$LGP" --no-huge -m 512 \
	--vdev "net_vhost0,iface=$WORK/c.sock,client=1" \
	--vdev "net_vhost1,iface=$WORK/b.sock,client=1" -- \
	--client net_vhost0 --server net_vhost1 --json --idle adaptive \
	--warmup $WARMUP --hold 60 --timeout 60000 -c "$CONNS" -n "$REQS" -d 3600 \
	> "$WORK/lg.json" 2> "$WORK/lg.err" &
LG=$!
PIDS+=($LG)
for _ in $(seq 1 600); do grep -q "running:" "$WORK/gw.log" && break; sleep 0.1; done
grep -q "running:" "$WORK/gw.log" || { echo "gateway did not start:" >&2; tail "$WORK/gw.log" >&2; exit 1; }
sleep 2

# load window: from a zero before the loadgen's warm-up ends...
timeout 60 callgrind_control -z "$GW" > /dev/null 2>&1 || { echo "callgrind_control -z failed" >&2; exit 1; }
read -r r1 bp1 p1 < <(counters)
[ "$r1" = 0 ] || { echo "the load began before the counters were zeroed; raise WARMUP" >&2; exit 1; }
# ...to after its last answer
for _ in $(seq 1 $((REQS / 20 + 3000))); do [ -s "$WORK/lg.json" ] && break; sleep 0.1; done
[ -s "$WORK/lg.json" ] || { echo "loadgen did not finish" >&2; tail "$WORK/lg.err" >&2; exit 1; }
sleep 2   # its connections close (FIN) after the report
load_f=$(dump load)
read -r r2 bp2 p2 < <(counters)
# idle window: the loadgen holds its links, nothing else comes
sleep 3
idle_f=$(dump idle)
read -r r3 bp3 p3 < <(counters)
[ "$r3" = "$r2" ] || { echo "requests inside the idle window" >&2; exit 1; }

python3 - "$idle_f" "$load_f" "$WORK/lg.json" "$((r2 - r1))" "$((bp2 - bp1))" "$TOP" <<'PY'
import json, re, subprocess, sys
idle_f, load_f, lg_f = sys.argv[1:4]
reqs, busy_polls, top = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
lg = json.load(open(lg_f))

def total(f):
    for line in open(f):
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise SystemExit(f"{f}: no totals")

def annotate(f, inclusive, total):
    """(Ir, function, object) rows. callgrind_annotate lists a function once
    per source file its code came from (inlined header code apart):
    exclusive costs are summed over those pieces; for inclusive costs the
    largest piece is taken (summing them counts some calls twice), which
    may leave out calls made from inlined code. Without the thread's
    outermost frames, which callgrind charges the whole thread to."""
    out = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}",
                          "--threshold=100", "--auto=no", f], capture_output=True, text=True, check=True).stdout
    agg = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+?)(?::(\S+))?(?:\s+\[(.*)\])?\s*$", line)
        if not m or m.group(2) == "PROGRAM":
            continue
        ir = int(m.group(1).replace(",", ""))
        fn = m.group(3) or m.group(2)
        # the object is left out where the previous line named it
        obj = m.group(4).rsplit("/", 1)[-1] if m.group(4) else None
        if ir >= total and fn != "sl_worker_main":
            continue
        ir0, obj0 = agg.get(fn, (0, None))
        agg[fn] = (max(ir0, ir) if inclusive else ir0 + ir, obj0 or obj)
    return sorted(((ir, fn, obj or "?") for fn, (ir, obj) in agg.items()), reverse=True)

def calls_to(f, name):
    # sum of "calls=N" lines under a cfn= naming `name`
    n, cur = 0, None
    names = {}
    for line in open(f):
        if line.startswith("cfn="):
            m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line.strip())
            if m:
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                cur = names.get(m.group(1))
            else:
                cur = line[4:].strip()
        elif line.startswith("fn="):
            m = re.match(r"fn=\((\d+)\)(?: (.*))?", line.strip())
            if m and m.group(2):
                names[m.group(1)] = m.group(2)
            cur = None
        elif line.startswith("calls=") and cur == name:
            n += int(line.split("=")[1].split()[0])
    return n

if reqs <= 0:
    raise SystemExit("the gateway counted no requests in the load window")
ir_idle, ir_load = total(idle_f), total(load_f)
polls_idle, polls_load = calls_to(idle_f, "sl_arp_tick"), calls_to(load_f, "sl_arp_tick")
per_empty = ir_idle / polls_idle if polls_idle else 0
empty_load = max(polls_load - busy_polls, 0)
net = ir_load - empty_load * per_empty
print(f"loadgen: {lg['requests']} requests, {lg['errors_total']} errors, "
      f"{lg['requests_per_s']:.0f} req/s against the gateway under valgrind, {lg['connections']} connections")
print(f"idle window: {ir_idle:,} Ir over {polls_idle:,} empty polls = {per_empty:,.0f} Ir per empty poll")
print(f"load window: {ir_load:,} Ir, {reqs:,} requests, {polls_load:,} polls "
      f"({busy_polls:,} busy, {empty_load:,} empty: {empty_load * per_empty / ir_load * 100:.1f}% of Ir)")
print(f"Ir per request: gross {ir_load / reqs:,.0f}, net of empty polls {net / reqs:,.0f}")
print(f"busy polls per request: {busy_polls / reqs:.2f}")
for title, incl in (("exclusive", False), ("inclusive", True)):
    print(f"\ntop {top} functions by {title} Ir per request (load window, worker thread)")
    print(f"{'Ir/req':>9} {'%':>6}  function [object]")
    for ir, fn, obj in annotate(load_f, incl, ir_load)[:top]:
        print(f"{ir / reqs:9,.0f} {ir / ir_load * 100:6.2f}  {fn} [{obj}]")
PY
# stop the gateway while the loadgen is still attached (README, "Load generator")
kill -TERM "$GW" 2>/dev/null || true
for _ in $(seq 1 100); do kill -0 "$GW" 2>/dev/null || break; sleep 0.1; done
