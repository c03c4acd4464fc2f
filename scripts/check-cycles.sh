#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make layers`: no dependency cycle among the files of one source folder.
# Usage: check-cycles.sh DIR [BUILD_DIR]     (e.g. check-cycles.sh src/conf build)
#
# Two graphs, both must be acyclic:
#   includes  a file -> each header of DIR it includes ("conf/conf_util.h"; x.c's
#             own x.h does not count), and a header -> the .c file of the same
#             name (conf_util.h -> conf_util.c)
#   symbols   (when BUILD_DIR/obj/DIR/*.o exist) an object -> each object of DIR
#             that defines a symbol it uses: the calls themselves, whichever
#             header declares them
# A cycle is printed as the files it goes through (tsort finds it).
set -u
dir=${1:?usage: check-cycles.sh DIR [BUILD_DIR]}
B=${2:-build}
dir=${dir%/}
fail=0

# Read "from to" lines; print the loop and fail when they contain one.
acyclic() {   # what
	local out
	out=$(tsort 2>&1 >/dev/null) && return 0
	echo "cycles: $dir: $1 graph has a cycle through:" >&2
	echo "$out" | sed -n 's/^tsort: \([^-].*\)$/  \1/p' | grep -v 'input contains a loop' >&2
	fail=1
}

include_edges() {
	local f path h c
	for f in "$dir"/*.[ch]; do
		[ -e "$f" ] || continue
		echo "$f $f"
		while read -r path; do
			h=src/$path
			# x.c including x.h defines what x.h declares: not a use.
			[ "${h%/*}" = "$dir" ] && [ "${h%.h}" != "${f%.[ch]}" ] && echo "$f $h"
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
		case $f in
		*.h) c=${f%.h}.c; [ -e "$c" ] && echo "$f $c";;
		esac
	done
}

symbol_edges() {
	local o d sym
	declare -A def=()
	for o in "$B/obj/$dir"/*.o; do
		for sym in $(nm --defined-only -g "$o" | awk 'NF==3 {print $3}'); do
			def[$sym]=$o
		done
	done
	for o in "$B/obj/$dir"/*.o; do
		echo "$o $o"
		for sym in $(nm -u "$o" | awk '{print $2}'); do
			d=${def[$sym]:-}
			[ -n "$d" ] && [ "$d" != "$o" ] && echo "$o $d"
		done
	done
}

[ -d "$dir" ] || { echo "cycles: no folder $dir" >&2; exit 1; }
acyclic includes < <(include_edges)
n_obj=0
if ls "$B/obj/$dir"/*.o >/dev/null 2>&1; then
	acyclic symbols < <(symbol_edges)
	n_obj=$(ls "$B/obj/$dir"/*.o | wc -l)
fi
[ $fail -eq 0 ] || { echo "cycles: FAILED (scripts/check-cycles.sh)" >&2; exit 1; }
echo "cycles: $dir: no cycle among $(ls "$dir"/*.[ch] | wc -l) files (includes) and $n_obj objects (symbols)"
