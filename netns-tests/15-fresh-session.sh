#!/bin/bash
# SPDX-License-Identifier: MIT
# A fresh session on a lossless link: its control channel needs no
# retransmission and no reset, and both sides have an RTT within 3 s.
#
#   [a] 198.18.0.1/24 ----veth---- 198.18.0.2/24 [b]
#   tunnel a: 198.19.0.1/24                tunnel b: 198.19.0.2/24
#
# Three rounds: a starts the handshake (a ping), then b (after both daemons
# restarted), then both at once. Each time, `ws -j show` on both sides within
# 3 s: control retransmits 0, resets 0, and a measured rtt_us.
# Then b with a wrong public key for a: a's log says why it drops b's
# handshake (bad MAC1).
source "$(dirname "$0")/lib.sh"

ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"

ka=$(genkey); kb=$(genkey)
pa=$(pubkey <<<"$ka"); pb=$(pubkey <<<"$kb")
write_conf "$TMP/a.conf" "$ka" 51820 "$pb" "198.19.0.2/32" "198.18.0.2:51820"
write_conf "$TMP/b.conf" "$kb" 51820 "$pa" "198.19.0.1/32" "198.18.0.1:51820"

start() {
	start_wsd a "$TMP/a.conf" "${PFX}a" -v
	start_wsd b "$TMP/b.conf" "${PFX}b" -v
	ipn a addr add 198.19.0.1/24 dev "${PFX}a" 2>/dev/null || true
	ipn b addr add 198.19.0.2/24 dev "${PFX}b" 2>/dev/null || true
	ipn a link set "${PFX}a" up
	ipn b link set "${PFX}b" up
}
stop() {
	stop_pid "$(eval echo "\$WSD_PID_${PFX}a")"
	stop_pid "$(eval echo "\$WSD_PID_${PFX}b")"
}
# fresh IFNAME PUB: the peer's control counters are clean and it has an RTT.
fresh() {
	local j
	j=$("$WS" -j show "$1" | jq -c --arg k "$2" '.[0].peers[] | select(.public_key == $k)')
	jq -e '.rtt_us | type == "number"' <<<"$j" >/dev/null || return 1
	jq -e '.control.retransmits == 0 and .control.resets == 0' <<<"$j" >/dev/null ||
		{ echo "$1: $(jq -c .control <<<"$j")" >&2; return 2; }
}
check() { # check ROUND
	local r
	for side in "${PFX}a $pb" "${PFX}b $pa"; do
		set -- $side
		r=0; wait_secs 3 fresh "$1" "$2" || r=$?
		[ "$r" = 0 ] || { cat "$TMP/${PFX}a.log" "$TMP/${PFX}b.log" >&2; fail "round $ROUND: $1: $("$WS" -j show "$1" | jq -c '.[0].peers[0] | {rtt_us, control}')"; }
	done
	log "round $ROUND: both sides clean, rtt a $(wsj_peer "${PFX}a" "$pb" .rtt_us) us, b $(wsj_peer "${PFX}b" "$pa" .rtt_us) us"
}

ROUND=a-initiates
start
n a ping -c 1 -W 2 198.19.0.2 >/dev/null
check
stop

ROUND=b-initiates
start
n b ping -c 1 -W 2 198.19.0.1 >/dev/null
check
stop

ROUND=both-at-once
start
# Both dial at once: the first packet of one side may go out on the session the
# other then replaces, so each side sends three and needs one answered.
n a ping -c 3 -i 0.2 -W 2 198.19.0.2 >/dev/null & p1=$!
n b ping -c 3 -i 0.2 -W 2 198.19.0.1 >/dev/null & p2=$!
wait $p1 || fail "round $ROUND: a -> b: no reply"
wait $p2 || fail "round $ROUND: b -> a: no reply"
check
stop

ROUND=wrong-key
write_conf "$TMP/b.conf" "$kb" 51820 "$(genkey | pubkey)" "198.19.0.1/32" "198.18.0.1:51820"
: >"$TMP/${PFX}a.log"
start
n b ping -c 2 -i 0.5 -W 1 198.19.0.1 >/dev/null 2>&1 || true
wait_for 5 grep -q "handshake initiation from 198.18.0.2:51820 dropped: bad MAC1" "$TMP/${PFX}a.log" ||
	{ cat "$TMP/${PFX}a.log" >&2; fail "wrong key: a does not log why it drops b's handshake"; }
assert_eq "$(grep -c "dropped: bad MAC1" "$TMP/${PFX}a.log")" 1 "bad MAC1 lines (rate-limited)"
stop
log "ok"
