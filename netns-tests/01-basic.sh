#!/bin/bash
# SPDX-License-Identifier: MIT
# Basic tunnel between two namespaces, daemons started directly (wsd -f).
#
#   [a] 198.18.0.1/24 ----veth---- 198.18.0.2/24 [b]
#        fd18::1/64                 fd18::2/64
#   tunnel a: 198.19.0.1/24 fd19::1/64      tunnel b: 198.19.0.2/24 fd19::2/64
#
# 1. IPv6 underlay: b speaks first to its Endpoint [fd18::1]:51820 (a's Endpoint
#    for b is IPv4; a learns b's IPv6 address). ping both ways over the v4 and
#    v6 overlays, a 100 MB TCP transfer over the v4 overlay with its checksum,
#    and `ws -j show` on both sides: connected, a recent latest_handshake, a
#    measured rtt_us, sessions >= 1, one completed handshake, the endpoints.
# 2. IPv4 underlay: kill -9 b's daemon and restart it with Endpoint
#    198.18.0.1:51820; nothing is done on a. Traffic resumes, a's endpoint for
#    b moves to 198.18.0.2:51820, pings over both overlays, 10 MB of TCP over
#    the v6 overlay with its checksum, and the same `ws -j show` checks (a
#    newer handshake on a).
source "$(dirname "$0")/lib.sh"

ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
ipn a addr add fd18::1/64 dev "${PFX}va" nodad
ipn b addr add fd18::2/64 dev "${PFX}vb" nodad

ka=$(genkey); kb=$(genkey)
pa=$(pubkey <<<"$ka"); pb=$(pubkey <<<"$kb")
write_conf "$TMP/a.conf" "$ka" 51820 "$pb" "198.19.0.2/32, fd19::2/128" "198.18.0.2:51820"
write_conf "$TMP/b.conf" "$kb" 51820 "$pa" "198.19.0.1/32, fd19::1/128" "[fd18::1]:51820"
write_conf "$TMP/b4.conf" "$kb" 51820 "$pa" "198.19.0.1/32, fd19::1/128" "198.18.0.1:51820"

up() { # up NS IFNAME V4 V6
	ipn "$1" addr add "$3/24" dev "$2"
	ipn "$1" addr add "$4/64" dev "$2" nodad
	ipn "$1" link set "$2" mtu 1420 up
}
start_wsd a "$TMP/a.conf" "${PFX}a" -m 1420
start_wsd b "$TMP/b.conf" "${PFX}b" -m 1420
up a "${PFX}a" 198.19.0.1 fd19::1
up b "${PFX}b" 198.19.0.2 fd19::2

pings() { # both ways, v4 and v6 overlays
	n b ping -c 3 -i 0.2 -W 2 fd19::1 >/dev/null
	n a ping -c 3 -i 0.2 -W 2 198.19.0.2 >/dev/null
	n b ping -c 3 -i 0.2 -W 2 198.19.0.1 >/dev/null
	n a ping -c 3 -i 0.2 -W 2 fd19::2 >/dev/null
}
# check_peer IFNAME PUBKEY ENDPOINT: what `ws -j show IFNAME` says of the peer.
# Sets HS (its latest_handshake) and RTT.
check_peer() {
	local j now
	# Both sides ping on channel 0 when the session comes up: an RTT comes within a second.
	wait_for 10 sh -c "[ \"\$(\"$WS\" -j show $1 | jq -r '.[0].peers[0].rtt_us | type')\" = number ]" ||
		fail "$1: no rtt_us after 10 s"
	j=$("$WS" -j show "$1" | jq -c --arg k "$2" '.[0].peers[] | select(.public_key == $k)')
	[ -n "$j" ] || fail "$1: peer $2 not in ws -j show"
	now=$(date +%s)
	assert_eq "$(jq -r .connected <<<"$j")" true "$1: connected"
	assert_eq "$(jq -r .endpoint <<<"$j")" "$3" "$1: endpoint"
	HS=$(jq -r .latest_handshake <<<"$j")
	[ "$HS" -gt $((now - 60)) ] && [ "$HS" -le $((now + 1)) ] || fail "$1: latest_handshake $HS not within 60 s of $now"
	RTT=$(jq -r .rtt_us <<<"$j")
	[ "$RTT" -gt 0 ] && [ "$RTT" -lt 50000 ] || fail "$1: rtt_us $RTT"
	jq -e '.sessions >= 1 and .sessions <= 3 and .handshakes.completed >= 1' <<<"$j" >/dev/null ||
		fail "$1: sessions/handshakes: $j"
}
# tcp_check NAME MB FAMILY ADDR: MB of random bytes from a to b's ADDR (4: a.b.c.d,
# 6: [v6]) over TCP, checksummed.
tcp_check() {
	local name=$1 mb=$2 fam=$3 addr=$4 want got rpid start secs
	head -c $((mb * 1000000)) /dev/urandom >"$TMP/blob"
	want=$(sha256sum <"$TMP/blob" | cut -d' ' -f1)
	n b socat -u "TCP$fam-LISTEN:5001,bind=$addr,reuseaddr" "OPEN:$TMP/recv,creat,trunc" &
	rpid=$!
	PIDS+=($rpid)
	wait_for 5 n b sh -c "ss -ltn | grep -qF '$addr:5001'" || fail "$name: listener did not start"
	start=$(date +%s.%N)
	timeout 60 ip netns exec "${PFX}a" socat -u "OPEN:$TMP/blob" "TCP$fam:$addr:5001"
	wait $rpid
	secs=$(echo "$(date +%s.%N) - $start" | bc)
	got=$(sha256sum <"$TMP/recv" | cut -d' ' -f1)
	assert_eq "$got" "$want" "checksum of $mb MB through the tunnel ($name)"
	log "$mb MB TCP over $name: checksum ok ($(echo "scale=2; $mb * 8 / $secs" | bc) Mbit/s)"
	rm -f "$TMP/blob" "$TMP/recv"
}

# --- 1. IPv6 underlay ------------------------------------------------------------
pings
log "IPv6 underlay: ping v4 and v6 overlays both ways: ok"
check_peer "${PFX}b" "$pa" "[fd18::1]:51820"
rtt_b=$RTT
check_peer "${PFX}a" "$pb" "[fd18::2]:51820"
hs1=$HS rtt_a=$RTT
assert_eq "$(wsj_peer "${PFX}a" "$pb" .handshakes.completed)" 1 "a: handshakes completed"
assert_eq "$(wsj_peer "${PFX}b" "$pa" .handshakes.initiated)" 1 "b (initiator): handshakes initiated"
log "ws -j show: connected both sides, handshake at $hs1, rtt_us a->b $rtt_a b->a $rtt_b"
tcp_check "v4 overlay / v6 underlay" 100 4 198.19.0.2

# --- 2. restart of b, IPv4 underlay ----------------------------------------------
# The hard way; a is not touched.
eval "old=\$WSD_PID_${PFX}b"
kill -KILL "$old"; wait "$old" 2>/dev/null || true
start_wsd b "$TMP/b4.conf" "${PFX}b" -m 1420
up b "${PFX}b" 198.19.0.2 fd19::2
wait_for 20 n b ping -c 1 -W 1 198.19.0.1 || fail "b -> a did not resume after restart"
wait_for 20 n a ping -c 1 -W 1 198.19.0.2 || fail "a -> b did not resume after restart"
log "restart of b: traffic resumed"
pings
check_peer "${PFX}b" "$pa" "198.18.0.1:51820"
rtt_b=$RTT
check_peer "${PFX}a" "$pb" "198.18.0.2:51820"
rtt_a=$RTT
[ "$HS" -ge "$hs1" ] || fail "a: latest_handshake went back from $hs1 to $HS"
[ "$(wsj_peer "${PFX}a" "$pb" .handshakes.completed)" -ge 2 ] || fail "a: no new handshake counted after b's restart"
log "IPv4 underlay: ping v4 and v6 overlays both ways, endpoints moved; rtt_us a->b $rtt_a b->a $rtt_b"
tcp_check "v6 overlay / v4 underlay" 10 6 "[fd19::2]"
