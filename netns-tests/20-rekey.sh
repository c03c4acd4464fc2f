#!/bin/bash
# SPDX-License-Identifier: MIT
# parallel: yes
# timeout: 540
# Real rekeys under steady traffic, with the ASan+UBSan daemons: nothing is
# lost while the sessions turn over.
#
#   [a] 198.18.0.1/24 ----veth---- 198.18.0.2/24 [b]
#   tunnel a: 198.19.0.1/24 (Endpoint b: a initiates)   tunnel b: 198.19.0.2/24 (no Endpoint)
#
# a pings b every 0.2 s for PING_SECONDS (400): 2000 echoes. a's current
# session is its own (it initiated it), so a renews it on the first packet it
# sends once the session is 180 s old (REKEY_AFTER_TIME, DECISIONS 29): two
# new handshakes, about 180 s and 360 s after the first. b, the responder,
# never rekeys on its own.
#
# Asserted: every echo answered (2000 of 2000); `ws -j show` sampled every 5 s
# on both sides says connected each time, and `latest_handshake` takes exactly
# three values on a, each new one 178..200 s after the one before, and the
# same (within a second) on b; a counts 3 completed handshakes; both daemons stop cleanly with no
# sanitizer report.
#
# It runs for about 7 minutes: netns-tests/run.sh starts it in the background
# (the "parallel: yes" line above) and collects it after the other scenarios.
source "$(dirname "$0")/lib.sh"
PING_SECONDS=${PING_SECONDS:-400}
WSD=$BUILD/asan/wsd
[ -x "$WSD" ] || fail "no ASan daemon at $WSD (make $WSD)"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
A=${PFX}a B=${PFX}b

ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
ka=$(genkey); kb=$(genkey)
write_conf "$TMP/a.conf" "$ka" 51820 "$(pubkey <<<"$kb")" "198.19.0.2/32" "198.18.0.2:51820"
write_conf "$TMP/b.conf" "$kb" 51820 "$(pubkey <<<"$ka")" "198.19.0.1/32"
start_wsd b "$TMP/b.conf" "$B" -m 1420
start_wsd a "$TMP/a.conf" "$A" -m 1420
for s in a:1 b:2; do
	ipn "${s%:*}" addr add "198.19.0.${s#*:}/24" dev "${PFX}${s%:*}"
	ipn "${s%:*}" link set "${PFX}${s%:*}" mtu 1420 up
done
wait_for 10 n a ping -c 1 -W 1 198.19.0.2 || fail "no tunnel"

# peer_state IFNAME: "LATEST_HANDSHAKE CONNECTED COMPLETED" of its one peer.
peer_state() { "$WS" -j show "$1" | jq -r '.[0].peers[0] | "\(.latest_handshake) \(.connected) \(.handshakes.completed)"'; }
read -r h0 c0 n0 <<<"$(peer_state "$A")"
assert_eq "$c0 $n0" "true 1" "a: connected, handshakes completed before the pings"
count=$((PING_SECONDS * 5))
ip netns exec "${PFX}a" timeout $((PING_SECONDS + 30)) ping -q -i 0.2 -W 2 -c "$count" 198.19.0.2 >"$TMP/ping" 2>&1 &
ping_pid=$!
PIDS+=($ping_pid)
t0=$(date +%s)
log "pinging b every 0.2 s for $PING_SECONDS s; first handshake at $h0"

# Every 5 s while the ping runs (bounded): both sides' state; the values of
# a's latest_handshake in order, and b's.
hs_a=($h0) hs_b=()
for ((i = 0; i < (PING_SECONDS + 40) / 5; i++)); do
	kill -0 "$ping_pid" 2>/dev/null || break
	read -r ha ca _ <<<"$(peer_state "$A")"
	read -r hb cb _ <<<"$(peer_state "$B")"
	assert_eq "$ca $cb" "true true" "connected on a and b $(( $(date +%s) - t0 )) s into the pings"
	[ "$ha" = "${hs_a[-1]}" ] || { hs_a+=("$ha"); log "a: new handshake at $ha ($(( ha - h0 )) s after the first)"; }
	[ "${#hs_b[@]}" -gt 0 ] && [ "$hb" = "${hs_b[-1]}" ] || hs_b+=("$hb")
	sleep 5
done
rc=0; wait "$ping_pid" || rc=$?
summary=$(grep -E 'packets transmitted|rtt' "$TMP/ping" | tr '\n' ' ')
log "ping: $summary"
grep -q "^$count packets transmitted, $count received," "$TMP/ping" || fail "echoes lost or unanswered across the rekeys: $summary"
assert_eq "$rc" 0 "ping exit status"

assert_eq "${#hs_a[@]}" 3 "values of a's latest_handshake (${hs_a[*]})"
for k in 1 2; do
	gap=$(( hs_a[k] - hs_a[k - 1] ))
	[ "$gap" -ge 178 ] && [ "$gap" -le 200 ] || fail "rekey $k came $gap s after the handshake before it (${hs_a[*]})"
done
# b's clock reads each handshake on its side of the exchange: the same second, or the next.
assert_eq "${#hs_b[@]}" 3 "values of b's latest_handshake (${hs_b[*]})"
for k in 0 1 2; do
	d=$(( hs_b[k] - hs_a[k] ))
	[ "$d" -ge -1 ] && [ "$d" -le 1 ] || fail "b's latest_handshake values ${hs_b[*]}, a's ${hs_a[*]}"
done
assert_eq "$(peer_state "$A" | cut -d' ' -f3)" 3 "handshakes completed on a"
log "latest_handshake ${hs_a[*]}: rekeys after $(( hs_a[1] - hs_a[0] )) s and $(( hs_a[2] - hs_a[1] )) s; $count of $count echoes answered"

# Clean stop: a sanitizer report makes the daemon exit 99 (or abort).
for ifn in "$A" "$B"; do
	eval "pid=\$WSD_PID_$ifn"
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	if [ "$rc" != 0 ] || grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$TMP/$ifn.log"; then
		tail -50 "$TMP/$ifn.log" >&2
		fail "$ifn: sanitizer report or exit status $rc"
	fi
done
PIDS=()
log "rekey: all checks passed"
