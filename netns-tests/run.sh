#!/bin/bash
# SPDX-License-Identifier: MIT
# Run the network-namespace scenarios (all, or those named): one line each,
# then "N passed, M failed". Needs root.
#
# A scenario whose file has the line "# parallel: yes" (a long one that
# mostly waits, like 20-rekey) is started first, in the background, and
# collected after the others: its line comes last. "# timeout: SECONDS" in a
# file replaces SCENARIO_TIMEOUT (default 300) for that scenario. Each
# scenario logs to /tmp/ws-netns-NAME.log.
set -u
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "netns-tests: must run as root" >&2; exit 1; }
if [ $# -gt 0 ]; then tests=("$@"); else tests=([0-9][0-9]-*.sh); fi
pass=0 failed=0 total_start=$(date +%s)
bg_names=() bg_pids=() bg_starts=()
# Interrupted: end the background scenarios too (each cleans up on its way out).
trap 'for p in "${bg_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done; exit 130' INT TERM

limit() { sed -n 's/^# timeout: \([0-9][0-9]*\)$/\1/p' "$1" 2>/dev/null | head -n 1 | grep . || echo "${SCENARIO_TIMEOUT:-300}"; }
log_of() { echo "/tmp/ws-netns-${1%.sh}.log"; }
# result NAME STATUS START: the scenario's line (and its log's tail when it failed).
result() {
	if [ "$2" = 0 ]; then pass=$((pass + 1)); status=ok; else failed=$((failed + 1)); status=FAIL; fi
	printf '%-28s %-4s %4ss\n' "${1%.sh}" "$status" "$(( $(date +%s) - $3 ))"
	[ "$status" = ok ] || sed 's/^/    /' "$(log_of "$1")" | tail -40
}

for t in "${tests[@]}"; do
	t=${t%.sh}.sh
	[ -f "$t" ] && grep -q '^# parallel: yes$' "$t" || continue
	timeout "$(limit "$t")" bash "$t" >"$(log_of "$t")" 2>&1 &
	bg_names+=("$t") bg_pids+=($!) bg_starts+=("$(date +%s)")
	printf '%-28s (in the background, collected at the end)\n' "${t%.sh}"
done
for t in "${tests[@]}"; do
	t=${t%.sh}.sh
	[ -f "$t" ] && grep -q '^# parallel: yes$' "$t" && continue
	start=$(date +%s)
	rc=0; timeout "$(limit "$t")" bash "$t" >"$(log_of "$t")" 2>&1 || rc=$?
	result "$t" "$rc" "$start"
done
for i in "${!bg_pids[@]}"; do
	rc=0; wait "${bg_pids[i]}" || rc=$?
	result "${bg_names[i]}" "$rc" "${bg_starts[i]}"
done
echo "netns total: $(( $(date +%s) - total_start ))s"
echo "$pass passed, $failed failed"
[ "$failed" = 0 ]
