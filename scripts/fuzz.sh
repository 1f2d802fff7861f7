#!/usr/bin/env bash
# Run the libFuzzer harnesses of tests/fuzz (docs/fuzzing.md) for a bounded
# time each:
#
#	scripts/fuzz.sh SECONDS_PER_TARGET [TARGET...]
#
# TARGET is a name such as http_request (tests/fuzz/fuzz_http_request.c);
# by default every tests/fuzz/fuzz_*.c. Builds build-fuzz with clang first
# if needed (CC=clang meson setup build-fuzz -Dfuzz=true). Each target
# starts from its seeds in tests/fuzz/corpus/TARGET plus a scratch corpus
# outside the repo ($FUZZ_WORK, default /tmp/sluice-fuzz), which keeps what
# it finds for the next run; crashes and oracle failures are saved there
# too. Prints, per target, "fuzz TARGET: ok|FAILED" with executions and
# coverage (libFuzzer's cov and ft), then "fuzz: N passed, N failed".
# Exits non-zero when any target found something or could not run.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${FUZZ_BUILD:-build-fuzz}
WORK=${FUZZ_WORK:-/tmp/sluice-fuzz}

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -eq 0 ]; then
	echo "usage: $0 SECONDS_PER_TARGET [TARGET...]" >&2
	exit 2
fi
secs=$1
shift
if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in tests/fuzz/fuzz_*.c; do
		t=${f#tests/fuzz/fuzz_}
		targets+=("${t%.c}")
	done
fi

mkdir -p "$WORK"
if [ ! -f "$BUILD/build.ninja" ]; then
	if ! CC=clang meson setup "$BUILD" -Dfuzz=true >"$WORK.setup.log" 2>&1; then
		cat "$WORK.setup.log"
		echo "fuzz: meson setup $BUILD failed"
		echo "fuzz: 0 passed, ${#targets[@]} failed"
		exit 1
	fi
fi
bins=()
for t in "${targets[@]}"; do
	bins+=("tests/fuzz/fuzz_$t")
done
if ! ninja -C "$BUILD" "${bins[@]}"; then
	echo "fuzz: build failed"
	echo "fuzz: 0 passed, ${#targets[@]} failed"
	exit 1
fi

passed=0
failed=0
for t in "${targets[@]}"; do
	dir="$WORK/$t"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	rm -f "$dir"/artifacts/*
	log="$dir/last.log"
	# The scratch corpus comes first: libFuzzer adds new inputs there and
	# only reads the seeds. Leaks are findings (LeakSanitizer per input).
	"$ROOT/$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=25 \
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
		"$dir/corpus" "$ROOT/tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -a -E '^#[0-9]+' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	n_art=$(find "$dir/artifacts" -type f | wc -l)
	summary="${execs:-?} execs (${rate:-?}/s), cov ${cov:-?} ft ${ft:-?}, ${secs} s"
	if [ "$rc" -eq 0 ] && [ "$n_art" -eq 0 ] && [ -n "$execs" ]; then
		echo "fuzz $t: ok, $summary"
		passed=$((passed + 1))
	else
		echo "fuzz $t: FAILED (exit $rc, $n_art finding(s) in $dir/artifacts), $summary"
		# The finding: the oracle or sanitizer report, then the input.
		grep -a -E -A12 'oracle failed|ERROR: |runtime error|SUMMARY' "$log" | head -40
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
