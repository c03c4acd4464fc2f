#!/bin/bash
# SPDX-License-Identifier: MIT
# Runtime changes: `ws peer add/set/del` on a live hub, other peers undisturbed.
#
#   [a] 198.18.0.2 --+
#   [b] 198.18.0.3 --+-- bridge 198.18.0.1 [h]     hub tunnel 198.19.0.1/24
#   [c] 198.18.0.4 --+
#   tunnels: a 198.19.0.2, b 198.19.0.3, c 198.19.0.4 (later also 198.19.0.5)
#
# The hub starts with a and b; both handshake and then ping the hub every
# 0.2 s for the whole run. c runs a daemon with the hub as its peer, but the
# hub does not know c:
# 1. c cannot reach the hub.
# 2. `ws peer add` c with allowed-ips 198.19.0.4/32 and its endpoint: the hub
#    reaches c and c the hub; a second add of the same key fails.
# 3. `ws peer set` c's allowed-ips to 198.19.0.5/32: the hub no longer routes
#    to .4 and drops what c sends from .4 (rx_dropped counts exactly those
#    pings), .5 works both ways, and c's session was kept (no new handshake).
# 4. `ws peer del` c: gone from `ws -j show`, unreachable both ways, c's
#    daemon got the Disconnect (no session left); set on it now fails.
# Throughout: a's and b's latest_handshake and handshake counters, on the
# hub and on their own daemons, never change, they stay connected, and
# their pings lose nothing (at most the one in flight when they are
# stopped). Budget 60 s.
source "$(dirname "$0")/lib.sh"

H=${PFX}h
ns_add h a b c
ipn h link add "${PFX}br" type bridge
ipn h link set "${PFX}br" up
ipn h addr add 198.18.0.1/24 dev "${PFX}br"
host=2
for x in a b c; do
	veth h "h$x" "$x" "${x}h"
	ipn h link set "${PFX}h$x" master "${PFX}br"
	ipn "$x" addr add "198.18.0.$host/24" dev "${PFX}${x}h"
	host=$((host + 1))
done

kh=$(genkey); ph=$(pubkey <<<"$kh")
for x in a b c; do
	eval "k$x=\$(genkey)"
	eval "p$x=\$(pubkey <<<\"\$k$x\")"
	eval "write_conf \"$TMP/$x.conf\" \"\$k$x\" 51820 \"$ph\" 198.19.0.0/24 198.18.0.1:51820"
done
{
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n' "$kh"
	printf '[Peer]\nPublicKey = %s\nAllowedIPs = 198.19.0.2/32\n' "$pa"
	printf '[Peer]\nPublicKey = %s\nAllowedIPs = 198.19.0.3/32\n' "$pb"
} >"$TMP/h.conf"
chmod 600 "$TMP/h.conf"

start_wsd h "$TMP/h.conf" "$H"
ipn h addr add 198.19.0.1/24 dev "$H"
ipn h link set "$H" up
host=2
for x in a b c; do
	start_wsd "$x" "$TMP/$x.conf" "${PFX}$x"
	ipn "$x" addr add "198.19.0.$host/24" dev "${PFX}$x"
	ipn "$x" link set "${PFX}$x" up
	host=$((host + 1))
done

n a ping -c 2 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "a -> hub"
n b ping -c 2 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "b -> hub"
# snap: latest handshake and handshake counters of a and b, on the hub and at home.
snap() {
	local x p
	for x in a b; do
		eval "p=\$p$x"
		wsj_peer "$H" "$p" '"\(.latest_handshake) \(.handshakes.initiated) \(.handshakes.completed) \(.connected)"'
		wsj "${PFX}$x" '.peers[0] | "\(.latest_handshake) \(.handshakes.initiated) \(.handshakes.completed) \(.connected)"'
	done | paste -sd' '
}
before=$(snap)
# Per peer: on the hub "time 0 1 true" (responder), at home "time 1 1 true".
awk '{ for (i = 0; i < 16; i += 8) if ($(i+2) != 0 || $(i+3) != 1 || $(i+4) != "true" || $(i+6) != 1 ||
	$(i+7) != 1 || $(i+8) != "true") exit 1 }' <<<"$before" ||
	fail "a and b should each have made one handshake and be connected: $before"
for x in a b; do
	ip netns exec "${PFX}$x" ping -i 0.2 -W 2 198.19.0.1 >"$TMP/ping-$x" 2>&1 &
	eval "ping_$x=$!"
	PIDS+=($!)
done

# --- 1. c unknown to the hub -------------------------------------------------------
assert_eq "$(wsj "$H" '.peers | length')" 2 "hub's peers at start"
n c ping -c 1 -W 1 198.19.0.1 >/dev/null && fail "c reached the hub before it was added"
log "1. c unknown to the hub: unreachable"

# --- 2. peer add ---------------------------------------------------------------
"$WS" peer add "$H" "$pc" allowed-ips 198.19.0.4/32 endpoint 198.18.0.4:51820 || fail "ws peer add"
rc=0; "$WS" peer add "$H" "$pc" allowed-ips 198.19.0.9/32 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "a second ws peer add of c succeeded"
assert_eq "$(wsj "$H" '.peers | length')" 3 "hub's peers after add"
assert_eq "$(wsj_peer "$H" "$pc" '.allowed_ips | join(",")')" 198.19.0.4/32 "c's allowed ips"
wait_for 15 n h ping -c 1 -W 1 198.19.0.4 || fail "hub -> c after peer add"
n c ping -c 3 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "c -> hub after peer add"
assert_eq "$(wsj_peer "$H" "$pc" .connected)" true "c connected"
c_hs=$(wsj_peer "$H" "$pc" .handshakes.completed)
log "2. ws peer add: c reachable both ways ($c_hs handshake)"

# --- 3. peer set allowed-ips --------------------------------------------------------
"$WS" peer set "$H" "$pc" allowed-ips 198.19.0.5/32 || fail "ws peer set"
ipn c addr add 198.19.0.5/32 dev "${PFX}c"
assert_eq "$(wsj_peer "$H" "$pc" '.allowed_ips | join(",")')" 198.19.0.5/32 "c's allowed ips after set"
n h ping -c 1 -W 1 198.19.0.4 >/dev/null && fail "hub still routes to c's old address"
drop0=$(wsj_peer "$H" "$pc" .rx_dropped)
n c ping -c 2 -i 0.2 -W 1 -I 198.19.0.4 198.19.0.1 >/dev/null && fail "hub accepted c's old address"
wait_for 5 sh -c "[ \"\$(\"$WS\" -j show $H | jq -r --arg k '$pc' '.[0].peers[] | select(.public_key == \$k) | .rx_dropped')\" -ge $((drop0 + 2)) ]" ||
	fail "the hub did not count c's 2 packets from 198.19.0.4 as dropped"
assert_eq "$(wsj_peer "$H" "$pc" .rx_dropped)" $((drop0 + 2)) "packets dropped from c's old address"
n c ping -c 3 -i 0.2 -W 2 -I 198.19.0.5 198.19.0.1 >/dev/null || fail "c -> hub from the new address"
n h ping -c 3 -i 0.2 -W 2 198.19.0.5 >/dev/null || fail "hub -> c's new address"
assert_eq "$(wsj_peer "$H" "$pc" .handshakes.completed)" "$c_hs" "c's handshakes after peer set (session kept)"
log "3. ws peer set: old address refused both ways (2 dropped), new address works, c's session kept"

# --- 4. peer del ---------------------------------------------------------------
"$WS" peer del "$H" "$pc" || fail "ws peer del"
assert_eq "$(wsj "$H" '.peers | length')" 2 "hub's peers after del"
assert_eq "$(wsj_peer "$H" "$pc" .public_key)" "" "c in ws -j show after del"
wait_for 5 sh -c "[ \"\$(\"$WS\" -j show ${PFX}c | jq '.[0].peers[0].sessions')\" = 0 ]" ||
	fail "c still has a session after the hub removed it (no Disconnect?)"
n h ping -c 1 -W 1 198.19.0.5 >/dev/null && fail "hub -> c after del"
n c ping -c 1 -W 1 -I 198.19.0.5 198.19.0.1 >/dev/null && fail "c -> hub after del"
rc=0; "$WS" peer set "$H" "$pc" allowed-ips 198.19.0.5/32 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "ws peer set of a deleted peer succeeded"
log "4. ws peer del: c gone, unreachable both ways, c's daemon has no session left"

# --- a and b throughout ----------------------------------------------------------
for x in a b; do
	eval "pid=\$ping_$x"
	kill -INT "$pid"
	wait "$pid" || true
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1/p' "$TMP/ping-$x")
	recv=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\2/p' "$TMP/ping-$x")
	[ -n "$sent" ] && [ "$sent" -ge 10 ] || fail "$x: too few background pings: $(tail -3 "$TMP/ping-$x")"
	[ $((sent - recv)) -le 1 ] || fail "$x: background pings lost: $recv of $sent received"
	log "$x: $recv of $sent background pings answered during the changes"
done
after=$(snap)
assert_eq "$after" "$before" "a's and b's latest_handshake, handshakes initiated/completed, connected (hub, own)"
log "a and b: latest handshake and counters unchanged ($before)"
