#!/bin/bash
# SPDX-License-Identifier: MIT
# Run the network-namespace scenarios (all, or those named): one line each,
# then "N passed, M failed". Needs root.
set -u
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "netns-tests: must run as root" >&2; exit 1; }
if [ $# -gt 0 ]; then tests=("$@"); else tests=([0-9][0-9]-*.sh); fi
pass=0 failed=0 total_start=$(date +%s)
for t in "${tests[@]}"; do
	t=${t%.sh}.sh
	start=$(date +%s)
	if timeout "${SCENARIO_TIMEOUT:-300}" bash "$t" >"/tmp/ws-netns-${t%.sh}.log" 2>&1; then
		pass=$((pass + 1)); status=ok
	else
		failed=$((failed + 1)); status=FAIL
	fi
	printf '%-28s %-4s %4ss\n' "${t%.sh}" "$status" "$(( $(date +%s) - start ))"
	[ "$status" = ok ] || sed 's/^/    /' "/tmp/ws-netns-${t%.sh}.log" | tail -40
done
echo "netns total: $(( $(date +%s) - total_start ))s"
echo "$pass passed, $failed failed"
[ "$failed" = 0 ]
