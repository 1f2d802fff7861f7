#!/usr/bin/env bash
# The load shape that once wedged a port (issue 12, defect 6), repeated:
# a bulk echo under 3% random loss each way (nft in sl-client) through a
# "mode": "tcp" listener to a thread-per-connection echo server
# (tests/integration/peers/threaded_echo.py), then 2,000 x 10 short exchanges
# from another client. Each round is
# tests/integration/test_port_recovery.py::test_threaded_echo_under_loss_then_short_exchanges
# on a fresh gateway, which asserts that every byte and every exchange came
# back, that no port stalled with an empty pool, and that the tables and
# the mbuf pool are back at their baseline.
#
# usage: scripts/bench-loss.sh [-n ROUNDS] [-m MB] [-p "af_xdp tap"]
# Defaults: 3 rounds of 200 MB per PMD. Each round is bounded (timeout
# 600 s); the test's fixtures remove what they start. Run as root, after a
# build (SLUICE_BIN picks the binary, as for the tests), and alone on the
# testbed: take /tmp/sluice-netns.lock when others share the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3
MB=200
PMDS="af_xdp tap"
while [ $# -gt 0 ]; do
	case "$1" in
	-n) ROUNDS=$2; shift 2 ;;
	-m) MB=$2; shift 2 ;;
	-p) PMDS=$2; shift 2 ;;
	*) echo "usage: $0 [-n ROUNDS] [-m MB] [-p \"af_xdp tap\"]" >&2; exit 2 ;;
	esac
done

fail=0
for pmd in $PMDS; do
	for r in $(seq 1 "$ROUNDS"); do
		out=$(SLUICE_RECOVERY_LOSS_MB=$MB timeout 600 /usr/bin/python3 -m pytest \
			"tests/integration/test_port_recovery.py::test_threaded_echo_under_loss_then_short_exchanges[$pmd]" \
			-q -s -p no:cacheprovider 2>&1) && rc=0 || rc=$?
		line=$(grep -o "threaded echo on .*" <<<"$out" || true)
		if [ "$rc" -eq 0 ]; then
			echo "$pmd round $r: pass: ${line#threaded echo on }"
		else
			fail=$((fail + 1))
			echo "$pmd round $r: FAIL (exit $rc)"
			grep -E "^E " <<<"$out" | head -15
		fi
	done
done
echo "bench-loss: $fail failed round(s)"
[ "$fail" -eq 0 ]
