#!/bin/bash
# SPDX-License-Identifier: MIT
# All benchmarks: the core micro-benchmark ($BUILD/bench/core), then the
# side-by-side tunnel benchmark (bench/tunnel.sh, as root).
#   bench/run.sh [--smoke] [bench/tunnel.sh options...]
# --smoke goes to both (what `make check` runs: one short round of each); every
# other option goes to bench/tunnel.sh (see bench/README.md).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export BUILD=${BUILD:-$ROOT/build}
CORE=$BUILD/bench/core

smoke=0
for a; do [ "$a" = --smoke ] && smoke=1; done
[ -x "$CORE" ] || { echo "bench/run.sh: no $CORE; build it first (make)" >&2; exit 1; }

start=$(date +%s)
if [ $smoke = 1 ]; then "$CORE" --smoke; else "$CORE"; fi || { echo "bench/run.sh: $CORE failed" >&2; exit 1; }
if [ $smoke = 1 ]; then
	# Every step of the smoke run is bounded on its own (it takes about 25 s);
	# this only keeps `make check` from hanging if something new does not.
	timeout -k 10 120 "$ROOT/bench/tunnel.sh" "$@"
else
	"$ROOT/bench/tunnel.sh" "$@"
fi
rc=$?
echo "bench: done in $(( $(date +%s) - start )) s (exit $rc)" >&2
exit $rc
