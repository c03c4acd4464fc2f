#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make layers`: no cycle between the modules of a layer (docs/architecture.md,
# "Source layers"). Usage: check-cycles.sh [BUILD_DIR] [LAYER...] (default: daemon)
#
# Two graphs per layer, each must sort (tsort) without a loop:
#  - calls: module A -> module B when A.o uses a symbol that B.o defines (the
#    objects of src/LAYER, built first). This is who drives whom, exactly: a
#    scheduler below the modules it drives, or two modules calling each other,
#    is a loop here, whatever the includes say.
#  - headers: A.h -> B.h when src/LAYER/A.h includes "LAYER/B.h" (headers
#    include what they embed; a loop there cannot even compile cleanly).
# A .c file including a header only for a struct it reads (every daemon file
# includes daemon/device.h and daemon/peer.h) is no edge of the first graph:
# state shared by many modules is not a call into the code that owns it.
set -u
B=${1:-build}
shift || true
layers=${*:-daemon}
fail=0

loop() {   # loop NAME: stdin "A B" pairs; report a loop in them
	local pairs out
	pairs=$(cat)
	[ -n "$pairs" ] || return 0
	out=$(tsort <<<"$pairs" 2>&1 >/dev/null) || true
	if [ -n "$out" ]; then
		echo "cycles: $1 graph has a loop:" >&2
		sed -n 's/^tsort: \([^ :]*\)$/  \1/p' <<<"$out" | awk '!seen[$0]++' >&2
		fail=1
	fi
}

for layer in $layers; do
	objs=
	for c in src/"$layer"/*.c; do   # the objects of today's sources (not of renamed ones)
		o=$B/obj/${c%.c}.o
		[ -e "$o" ] || { echo "cycles: no $o: build it first (make layers does)" >&2; exit 1; }
		objs="$objs $o"
	done
	defs=$(nm -A --defined-only $objs 2>/dev/null | awk 'NF == 3 && $2 ~ /[TDBRC]/ {
		f = $1; sub(/:.*/, "", f); sub(/.*\//, "", f); sub(/\.o$/, "", f); print $3, f }')
	calls=$(for o in $objs; do
		m=$(basename "$o" .o)
		nm -u "$o" | awk -v m="$m" 'NR == FNR { def[$1] = $2; next }
			($2 in def) && def[$2] != m { print m, def[$2] }' <(echo "$defs") -
	done | sort -u)
	loop "$layer calls" <<<"$calls"
	hdrs=$(for h in src/"$layer"/*.h; do
		a=$(basename "$h" .h)
		sed -n "s|^[[:space:]]*#[[:space:]]*include[[:space:]]*\"$layer/\([^\"]*\)\.h\".*|$a \1|p" "$h"
	done | awk '$1 != $2' | sort -u)
	loop "$layer headers" <<<"$hdrs"
	[ $fail -ne 0 ] || echo "cycles: src/$layer: $(wc -l <<<"$calls") module-to-module calls among $(ls src/"$layer"/*.c | wc -l) modules and its headers' includes form no loop"
done
[ $fail -eq 0 ] || { echo "cycles: FAILED (scripts/check-cycles.sh)" >&2; exit 1; }
