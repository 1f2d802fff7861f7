#!/usr/bin/env bash
# Install dependencies, build, and run every test: unit (meson test) and
# integration (pytest on the namespace testbed). Ends with "N passed, N failed".
# Must run as root on Debian 12.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# Every process this run starts inherits SLUICE_TEST_RUN. At exit, what is
# still alive with it (a gateway or peer a failed test left behind) is this
# run's by construction and is stopped; nothing else on the machine is.
export SLUICE_TEST_RUN="$$.$(date +%s%N)"
# --stop-leftovers MARKER runs only the exit cleanup's process part, for
# the processes of the run whose marker is MARKER, and changes nothing
# else (no testbed down): the good-citizen test uses it to show that the
# cleanup stops its own and only its own.
if [ "${1:-}" = "--stop-leftovers" ]; then
	[ -n "${2:-}" ] || { echo "usage: $0 [--stop-leftovers MARKER]" >&2; exit 2; }
	SLUICE_TEST_RUN=$2
fi
# The gateways this run starts keep their incident bundles here, not in
# the machine's /var/lib/sluice/incidents (the recorder is always on).
SLUICE_INCIDENTS_DIR=$(mktemp -d /tmp/sluice-test-incidents.XXXXXX)
export SLUICE_INCIDENTS_DIR
own_pids() {
	local e pid
	for e in /proc/[0-9]*/environ; do
		pid=${e#/proc/}
		pid=${pid%/environ}
		{ [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ]; } && continue
		grep -qzx "SLUICE_TEST_RUN=$SLUICE_TEST_RUN" "$e" 2>/dev/null && echo "$pid"
	done
}
stop_own_leftovers() {
	local pids
	pids=$(own_pids)
	[ -z "$pids" ] && return 0
	echo "test.sh: stopping what this run left running: $pids"
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
	sleep 2
	pids=$(own_pids)
	# shellcheck disable=SC2086
	[ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
}
if [ "${1:-}" = "--stop-leftovers" ]; then
	rmdir "$SLUICE_INCIDENTS_DIR"
	stop_own_leftovers
	exit 0
fi
cleanup() {
	stop_own_leftovers
	rm -rf "$SLUICE_INCIDENTS_DIR"
	"$ROOT/scripts/testbed.sh" down >/dev/null 2>&1 || true
}
# INT and TERM end the run (the EXIT trap then cleans up once): a trap
# that only cleaned up would let the script carry on afterwards.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== dependencies"
scripts/deps.sh || { echo "deps.sh failed"; echo "0 passed, 1 failed"; exit 1; }

echo "== build"
if ! scripts/build.sh; then
	echo "build failed"
	echo "0 passed, 1 failed"
	exit 1
fi

passed=0
failed=0

echo "== unit tests (meson test)"
meson test -C build --suite unit --print-errorlogs --num-processes 1
# testlog.json has one JSON object per test.
read -r up uf < <(/usr/bin/python3 - <<'PY'
import json
p = f = 0
for line in open("build/meson-logs/testlog.json"):
    r = json.loads(line)["result"]
    if r == "OK":
        p += 1
    elif r not in ("SKIP",):
        f += 1
print(p, f)
PY
)
passed=$((passed + up))
failed=$((failed + uf))

echo "== unit tests under ASan+UBSan"
# clang, with UB fatal (-fno-sanitize-recover): a test that trips ASan,
# LeakSanitizer or UBSan fails. docs/fuzzing.md.
asan_ok=1
if [ ! -f build-asan/build.ninja ]; then
	CC=clang meson setup build-asan -Db_sanitize=address,undefined \
		-Dc_args=-fno-sanitize-recover=undefined -Db_lundef=false >/dev/null ||
		asan_ok=0
fi
if [ "$asan_ok" -eq 1 ] && ninja -C build-asan >/tmp/sluice-build-asan.log 2>&1; then
	rm -f build-asan/meson-logs/testlog.json
	UBSAN_OPTIONS=print_stacktrace=1 meson test -C build-asan --suite unit \
		--print-errorlogs --num-processes 1
	read -r ap af < <(/usr/bin/python3 - <<'PY'
import json
p = f = 0
try:
    for line in open("build-asan/meson-logs/testlog.json"):
        r = json.loads(line)["result"]
        if r == "OK":
            p += 1
        elif r not in ("SKIP",):
            f += 1
except OSError:
    f = 1
print(p, f)
PY
)
	passed=$((passed + ap))
	failed=$((failed + af))
else
	echo "ASan+UBSan build failed"
	tail -30 /tmp/sluice-build-asan.log
	failed=$((failed + 1))
fi

echo "== fuzz (60 s per target)"
# One pass or fail per libFuzzer target (tests/fuzz, scripts/fuzz.sh).
# (Not `tee /dev/stderr`: that reopens the file stderr names, truncating a
# log that `test.sh > log 2>&1` writes and overwriting it from its start.)
fuzz_line=$(scripts/fuzz.sh 60 | tee >(cat >&2) | grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed$' | tail -1)
if [ -n "$fuzz_line" ]; then
	read -r fp ff < <(sed -E 's/^fuzz: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/' <<<"$fuzz_line")
	passed=$((passed + fp))
	failed=$((failed + ff))
else
	echo "fuzz.sh gave no summary"
	failed=$((failed + 1))
fi

echo "== integration tests (pytest)"
rm -f build/pytest.xml
/usr/bin/python3 -m pytest tests/integration -v -p no:cacheprovider \
	--junitxml=build/pytest.xml
rc=$?
if [ -f build/pytest.xml ]; then
	read -r ip if_ < <(/usr/bin/python3 - <<'PY'
import xml.etree.ElementTree as ET
t = ET.parse("build/pytest.xml").getroot()
suites = [t] if t.tag == "testsuite" else list(t)
n = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skip = sum(int(s.get("skipped", 0)) for s in suites)
print(n - bad - skip, bad + skip)
PY
)
	passed=$((passed + ip))
	failed=$((failed + if_))
else
	echo "pytest produced no report (exit $rc)"
	failed=$((failed + 1))
fi
# pytest exit 5 means it collected nothing: that is a failure here.
if [ "$rc" -ne 0 ] && [ "${if_:-0}" -eq 0 ]; then
	failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
