#!/bin/bash
# SPDX-License-Identifier: MIT
# wsup refuses an AllowedIPs that would route a peer's Endpoint into the
# tunnel itself (the daemon's own UDP would loop through its TUN).
#
#   [a] 198.18.0.1/24 fd18::1/64 ----veth---- 198.18.0.2/24 fd18::2/64 [b]
#       default via b                          lo: 198.18.1.2 (reached by a through
#       peer-b.test = 198.18.1.2                    its default route only)
#
# Refused, exit 1, nothing left behind: a /32 equal to the endpoint; a /24
# holding an endpoint reached through the default route; a DNS Endpoint
# whose address is inside AllowedIPs; IPv6 (/128 equal to the endpoint).
# Accepted: a /23 holding the endpoint when a more specific connected route
# keeps it on the underlay, and a full tunnel (wsup routes it around); both
# carry traffic and the tunnel sends only a bounded number of packets.
#
# Traffic is bounded: should wsup wrongly accept a looping config, the test
# takes the interface down at once, before any packet is sent.
source "$(dirname "$0")/lib.sh"

A=${PFX}a B=${PFX}b
ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
ipn a addr add fd18::1/64 dev "${PFX}va" nodad
ipn b addr add fd18::2/64 dev "${PFX}vb" nodad
ipn a route add default via 198.18.0.2
ipn b addr add 198.18.1.2/32 dev lo
mkdir -p "/etc/netns/${PFX}a"
trap 'rm -rf "/etc/netns/${PFX}a"; cleanup' EXIT
printf '127.0.0.1 localhost\n198.18.1.2 peer-b.test\n' >"/etc/netns/${PFX}a/hosts"

ka=$(genkey); kb=$(genkey)
pa=$(pubkey <<<"$ka"); pb=$(pubkey <<<"$kb")

conf_a() { # conf_a ALLOWED ENDPOINT
	cat >"$TMP/$A.conf" <<-EOF
	[Interface]
	PrivateKey = $ka
	ListenPort = 51820
	Address = 198.19.0.1/24, fd19::1/64
	[Peer]
	PublicKey = $pb
	AllowedIPs = $1
	Endpoint = $2
	EOF
	chmod 600 "$TMP/$A.conf"
}
write_conf "$TMP/$B.conf" "$kb" 51820 "$pa" "198.19.0.1/32, fd19::1/128"

snapshot() { ipn a -4 route show table all; ipn a -6 route show table all; ipn a -4 rule; ipn a -6 rule; }
no_tentative() { [ -z "$(ip -n "$PFX$1" -6 addr show tentative)" ]; }
wait_for 10 no_tentative a || fail "a: IPv6 DAD did not finish"
snapshot >"$TMP/before"

# refused ALLOWED ENDPOINT WANT: wsup exits 1 naming the loop; a is as before.
refused() {
	local rc=0 host=${2%:*}
	host=${host#[}; host=${host%]}
	conf_a "$1" "$2"
	n a "$WSUP" "$TMP/$A.conf" 2>"$TMP/out" || rc=$?
	if [ "$rc" = 0 ]; then
		n a "$WSDOWN" "$A" >/dev/null 2>&1 || true   # before any traffic: no loop runs
		fail "wsup accepted AllowedIPs '$1' with Endpoint '$2' (a routing loop)"
	fi
	assert_eq "$rc" 1 "wsup exit status for AllowedIPs '$1'"
	grep -q "routing loop: the Endpoint $host ($3) of peer $pb" "$TMP/out" ||
		fail "no routing-loop message for '$1': $(cat "$TMP/out")"
	grep -q "by AllowedIPs $4 " "$TMP/out" || fail "the message does not name $4: $(cat "$TMP/out")"
	snapshot >"$TMP/after"
	diff -u "$TMP/before" "$TMP/after" >&2 || fail "routes left behind after refusing '$1'"
	! ipn a link show "$A" >/dev/null 2>&1 || fail "$A left behind"
	[ ! -e "/run/wiresocket/$A.wsup" ] || fail "state file left behind"
}

refused "198.19.0.2/32, 198.18.0.2/32" "198.18.0.2:51820" 198.18.0.2 198.18.0.2/32
refused "198.19.0.2/32, 198.18.1.0/24" "198.18.1.2:51820" 198.18.1.2 198.18.1.0/24
refused "198.19.0.2/32, 198.18.1.2/32" "peer-b.test:51820" 198.18.1.2 198.18.1.2/32
refused "198.19.0.2/32, fd18::2/128" "[fd18::2]:51820" fd18::2 fd18::2/128
refused "0.0.0.0/0, 198.18.0.2/32" "198.18.0.2:51820" 198.18.0.2 198.18.0.2/32
log "an Endpoint inside AllowedIPs (v4, v6, DNS, with a full tunnel): refused: ok"

# Accepted: the connected /24 is more specific than the /23, so the endpoint stays on the underlay.
start_wsd b "$TMP/$B.conf" "$B"
ipn b addr add 198.19.0.2/24 dev "$B"
ipn b link set "$B" up
accepted() {
	conf_a "$1" "$2"
	n a "$WSUP" "$TMP/$A.conf" 2>"$TMP/out" || { cat "$TMP/out" >&2; fail "wsup refused AllowedIPs '$1'"; }
	n a ping -c 2 -i 0.2 -W 2 198.19.0.2 >/dev/null || fail "no ping through the tunnel with '$1'"
	tx=$(ws_peer_field "$A" tx_packets)
	[ "$tx" -lt 100 ] || fail "the tunnel sent $tx packets for 2 pings with '$1'"
	n a "$WSDOWN" "$A" 2>"$TMP/out" || { cat "$TMP/out" >&2; fail "wsdown"; }
}
accepted "198.19.0.2/32, 198.18.0.0/23" "198.18.0.2:51820"
accepted "0.0.0.0/0" "198.18.0.2:51820"
snapshot >"$TMP/after"
diff -u "$TMP/before" "$TMP/after" >&2 || fail "routes differ after wsdown"
log "a /23 behind a connected /24, and a full tunnel: accepted, no loop: ok"
