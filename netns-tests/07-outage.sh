#!/bin/bash
# SPDX-License-Identifier: MIT
# Outage: the underlay goes away for 60 s and comes back; the tunnel recovers
# by itself, with the same daemons.
#
#   [a] 198.18.0.1/24 ----veth---- 198.18.0.2/24 [b]
#   tunnel a: 198.19.0.1/24 (Endpoint 198.18.0.2:51820, PersistentKeepalive = 5)
#   tunnel b: 198.19.0.2/24 (no Endpoint: it learns a's)
#
# 1. ping both ways; connected on both sides; the daemons' PIDs.
# 2. a's user keeps pinging b (twice a second, all along); a's underlay link
#    is set down (admin down: a's sends fail, b's link loses carrier).
#    `connected` becomes false on both sides 25 s after the last authenticated
#    packet (DECISIONS 34; the last reply is at most 0.5 s older than the
#    cut): asserted still true 22 s into the outage and false by 29 s; a
#    keeps sending HandshakeInits (at least 5 counted).
# 3. After 60 s the link comes back: within 10 s a reply comes back, both
#    sides are connected and a completes a new handshake; the daemons are the
#    same processes.
#
# The bound: a's data went unanswered, so 15 s into the outage its session
# is dead (DECISIONS 29) and, being persistent, a retries every 5 s
# (+ up to 333 ms) for as long as it takes: a new handshake completes at most
# about 5.3 s after the link returns. The old sessions are still valid after
# 60 s (they expire after 180 s without a packet), so the first ping that
# crosses may already be answered on them. The user traffic fixes the timing
# (an idle tunnel also notices, through the control channel's pings, which
# count as data sent, but then how soon each side hears the other again also
# depends on that channel's retransmission backoff, up to 30 s).
source "$(dirname "$0")/lib.sh"

A=${PFX}a B=${PFX}b OUTAGE=60
ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"

ka=$(genkey); kb=$(genkey)
pa=$(pubkey <<<"$ka"); pb=$(pubkey <<<"$kb")
write_conf "$TMP/a.conf" "$ka" 51820 "$pb" "198.19.0.2/32" "198.18.0.2:51820" "PersistentKeepalive = 5"
write_conf "$TMP/b.conf" "$kb" 51820 "$pa" "198.19.0.1/32"
# b first: a (persistent) sends its first HandshakeInit as it starts.
start_wsd b "$TMP/b.conf" "$B" -m 1420
start_wsd a "$TMP/a.conf" "$A" -m 1420
ipn a addr add 198.19.0.1/24 dev "$A"; ipn a link set "$A" mtu 1420 up
ipn b addr add 198.19.0.2/24 dev "$B"; ipn b link set "$B" mtu 1420 up
eval "pid_a=\$WSD_PID_$A pid_b=\$WSD_PID_$B"
link_pid() { "$WS" -j link show "$1" | jq -r '.[0].pid'; }
hs() { pj "$1" handshakes | jq -r --arg k "$2" '.[$k]'; }

# ---- 1. up -------------------------------------------------------------------------
n a ping -c 3 -i 0.2 -W 2 198.19.0.2 >/dev/null || fail "a -> b"
n b ping -c 3 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "b -> a"
assert_eq "$(pj "$A" connected)$(pj "$B" connected)" truetrue "connected on both sides"
assert_eq "$(link_pid "$A") $(link_pid "$B")" "$pid_a $pid_b" "daemon PIDs (ws link show)"
log "1. tunnel up, connected; daemons $pid_a and $pid_b"

# ---- 2. the outage ------------------------------------------------------------------
# ping -D: each reply line starts with [UNIX_SECONDS.MICROSECONDS].
ip netns exec "${PFX}a" ping -D -n -i 0.5 -W 1 -w $((OUTAGE + 45)) 198.19.0.2 >"$TMP/ping" 2>&1 &
ping_pid=$!
PIDS+=("$ping_pid")
replies_after() { awk -v t="$1" -F'[][]' '/bytes from/ && $2 * 1000 >= t { n++ } END { exit !(n > 0) }' "$TMP/ping"; }
t=$(ms_now)
wait_secs 5 replies_after "$((t + 500))" || fail "the background ping gets no replies"
ipn a link set "${PFX}va" down
T_DOWN=$(ms_now)
init0=$(hs "$A" initiated)
log "2. underlay down for ${OUTAGE} s"
# When did each side's `connected` turn false? A query started at S that says
# true shows it turned after S; one ended at E that says false, by E.
lo_a=0 lo_b=0 hi_a='' hi_b=''
observe() { # observe a|b IFNAME
	local s e v
	s=$(( $(ms_now) - T_DOWN ))
	v=$(pj "$2" connected) || v=error
	e=$(( $(ms_now) - T_DOWN ))
	case $v in
	true) eval "lo_$1=$s" ;;
	false) eval "hi_$1=$e" ;;
	esac
}
for ((i = 0; i < 400; i++)); do
	[ -n "$hi_a" ] || observe a "$A"
	[ -n "$hi_b" ] || observe b "$B"
	[ -z "$hi_a" ] || [ -z "$hi_b" ] || break
	[ $(( $(ms_now) - T_DOWN )) -lt 35000 ] || break
	sleep 0.1
done
[ "$lo_a" -ge 22000 ] && [ "$lo_b" -ge 22000 ] && [ "${hi_a:-99999}" -le 29000 ] && [ "${hi_b:-99999}" -le 29000 ] ||
	fail "connected turned false between $lo_a and ${hi_a:-never} ms (a), $lo_b and ${hi_b:-never} ms (b) into the outage, expected about 25 s"
log "2. connected turned false between $lo_a and $hi_a ms (a), $lo_b and $hi_b ms (b) into the outage"
left=$(( T_DOWN + OUTAGE * 1000 - $(ms_now) ))
[ "$left" -le 0 ] || sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"   # the outage itself, not a wait
attempts=$(( $(hs "$A" initiated) - init0 ))
done0=$(hs "$A" completed)
[ "$attempts" -ge 5 ] || fail "a sent only $attempts HandshakeInits during the outage"

# ---- 3. the underlay is back ----------------------------------------------------------
ipn a link set "${PFX}va" up
T_UP=$(ms_now)
wait_secs 10 replies_after "$T_UP" || fail "no ping reply within 10 s of the underlay's return"
reply_ms=$WAITED_MS
both_connected() { pj_is "$A" connected true && pj_is "$B" connected true; }
wait_secs 10 both_connected || fail "not connected on both sides within 10 s of the underlay's return (a $(pj "$A" connected), b $(pj "$B" connected))"
conn_ms=$(( $(ms_now) - T_UP ))
new_handshake() { [ "$(hs "$A" completed)" -gt "$done0" ]; }
wait_secs 10 new_handshake || fail "a completed no new handshake within 10 s of the underlay's return"
hs_ms=$(( $(ms_now) - T_UP ))
[ "$conn_ms" -le 10000 ] && [ "$hs_ms" -le 10000 ] || fail "recovery took $conn_ms ms (connected), $hs_ms ms (handshake)"
stop_pid "$ping_pid"
n b ping -c 1 -W 2 198.19.0.1 >/dev/null || fail "b -> a after the outage"
assert_eq "$(link_pid "$A") $(link_pid "$B")" "$pid_a $pid_b" "daemon PIDs after the outage"
kill -0 "$pid_a" && kill -0 "$pid_b" || fail "a daemon died"
log "3. underlay back: first reply after $reply_ms ms, connected on both sides after $conn_ms ms," \
	"new handshake after $hs_ms ms; a sent $attempts HandshakeInits during the outage; same daemons"
log "outage: all checks passed"
