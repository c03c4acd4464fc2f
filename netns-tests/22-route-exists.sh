#!/bin/bash
# SPDX-License-Identifier: MIT
# An AllowedIPs prefix that already has a route through another device (a
# static route via the underlay, a connected subnet, IPv6 with a different
# metric) would keep its traffic leaving unencrypted: wsup refuses, names the
# existing route, echoes no route command it did not run, and leaves nothing
# behind. Table = off is the way to say "I route it myself".
#
#   [a] 198.18.0.1/24 fd18::1/64 ----veth---- 198.18.0.2/24 fd18::2/64 [b]
#       198.18.77.0/24 via 198.18.0.2, fd18:77::/64 via fd18::2
source "$(dirname "$0")/lib.sh"

A=${PFX}a
ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
ipn a addr add fd18::1/64 dev "${PFX}va" nodad
ipn b addr add fd18::2/64 dev "${PFX}vb" nodad
ipn a route add 198.18.77.0/24 via 198.18.0.2
ipn a -6 route add fd18:77::/64 via fd18::2

ka=$(genkey); pb=$(pubkey <<<"$(genkey)")
conf_a() { # conf_a ALLOWED [EXTRA]
	cat >"$TMP/$A.conf" <<-EOF
	[Interface]
	PrivateKey = $ka
	ListenPort = 51820
	Address = 198.19.0.1/24
	${2:-}
	[Peer]
	PublicKey = $pb
	AllowedIPs = $1
	Endpoint = 198.18.0.2:51820
	EOF
	chmod 600 "$TMP/$A.conf"
}
snapshot() { ipn a -4 route show table all; ipn a -6 route show table all; }
no_tentative() { [ -z "$(ip -n "$PFX$1" -6 addr show tentative)" ]; }
wait_for 10 no_tentative a || fail "a: IPv6 DAD did not finish"
snapshot >"$TMP/before"

# refused ALLOWED PREFIX EXISTING
refused() {
	local rc=0
	conf_a "$1"
	n a "$WSUP" "$TMP/$A.conf" 2>"$TMP/out" || rc=$?
	if [ "$rc" = 0 ]; then n a "$WSDOWN" "$A" >/dev/null 2>&1 || true; fi
	assert_eq "$rc" 1 "wsup exit status for AllowedIPs '$1' (stderr: $(cat "$TMP/out"))"
	grep -q "AllowedIPs $2: table main already has the route '$3'" "$TMP/out" ||
		fail "no message naming '$3': $(cat "$TMP/out")"
	! grep -q "^\[#\] ip -[46] route add $2 " "$TMP/out" || fail "a route add for $2 was echoed but not run"
	snapshot >"$TMP/after"
	diff -u "$TMP/before" "$TMP/after" >&2 || fail "routes changed after refusing '$1'"
	! ipn a link show "$A" >/dev/null 2>&1 || fail "$A left behind"
	[ ! -e "/run/wiresocket/$A.wsup" ] || fail "state file left behind"
}
refused "198.19.0.2/32, 198.18.77.0/24" 198.18.77.0/24 "198.18.77.0/24 dev ${PFX}va"
refused "198.19.0.2/32, 198.18.0.0/24" 198.18.0.0/24 "198.18.0.0/24 dev ${PFX}va"
refused "198.19.0.2/32, fd18:77::/64" fd18:77::/64 "fd18:77::/64 dev ${PFX}va"
log "an AllowedIPs prefix routed through another device: refused, named, nothing echoed or left: ok"

# Table = off: the user routes it; wsup adds no route and comes up.
conf_a "198.19.0.2/32, 198.18.77.0/24" "Table = off"
n a "$WSUP" "$TMP/$A.conf" 2>"$TMP/out" || { cat "$TMP/out" >&2; fail "wsup with Table = off"; }
! grep -q "route add" "$TMP/out" || fail "Table = off added routes"
n a "$WSDOWN" "$A" 2>"$TMP/out" || { cat "$TMP/out" >&2; fail "wsdown"; }
snapshot >"$TMP/after"
diff -u "$TMP/before" "$TMP/after" >&2 || fail "routes changed"
log "Table = off: up without routes: ok"
