#!/usr/bin/env bash
# Configure (once) and build. Used by test.sh and demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
	meson setup build
fi
ninja -C build
