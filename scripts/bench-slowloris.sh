#!/usr/bin/env bash
# Slowloris at full scale: 10,000 unfinished request heads held against one
# gateway while a normal client is served (scripts/bench_slowloris.py says
# what is measured). Prints one JSON line per round.
#
# usage: scripts/bench-slowloris.sh [--count N] [--hold SECONDS] [--normal REQUESTS]
# Bounded (every slow connection is closed after --hold seconds); brings the
# testbed up, and down again only if it was not up before. Run as root, after
# a build.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 scripts/bench_slowloris.py "$@"
