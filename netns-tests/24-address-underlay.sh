#!/bin/bash
# SPDX-License-Identifier: MIT
# An Address equal to an underlay address is refused (the tunnel would share
# the underlay's source address; the peer drops what it sends), before
# anything is done; an Address inside an underlay subnet comes up with a
# warning saying why it may not work. IPv6 link-local addresses are ignored.
source "$(dirname "$0")/lib.sh"

A=${PFX}a
ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
ipn a addr add fd18::1/64 dev "${PFX}va" nodad
ka=$(genkey); pb=$(pubkey <<<"$(genkey)")
conf_a() { # conf_a ADDRESS
	cat >"$TMP/$A.conf" <<-EOF
	[Interface]
	PrivateKey = $ka
	ListenPort = 51820
	Address = $1
	[Peer]
	PublicKey = $pb
	AllowedIPs = 198.19.0.2/32
	Endpoint = 198.18.0.2:51820
	EOF
	chmod 600 "$TMP/$A.conf"
}
for addr in 198.18.0.1/24 198.18.0.1/32 fd18::1/64; do
	conf_a "198.19.0.1/24, $addr"
	rc=0
	n a "$WSUP" "$TMP/$A.conf" 2>"$TMP/out" || rc=$?
	if [ "$rc" = 0 ]; then n a "$WSDOWN" "$A" >/dev/null 2>&1 || true; fi
	assert_eq "$rc" 1 "wsup exit status, Address $addr (stderr: $(cat "$TMP/out"))"
	grep -q "Address $addr is already the address of ${PFX}va" "$TMP/out" || fail "no reason for $addr: $(cat "$TMP/out")"
	! grep -q '^\[#\]' "$TMP/out" || fail "wsup ran commands before refusing $addr"
	! ipn a link show "$A" >/dev/null 2>&1 || fail "$A left behind"
done
log "Address equal to an underlay address: refused: ok"

conf_a "198.18.0.9/32, fe80::9/64"
n a "$WSUP" "$TMP/$A.conf" 2>"$TMP/out" || { cat "$TMP/out" >&2; fail "wsup refused an Address inside the underlay subnet"; }
grep -q "warning: Address 198.18.0.9/32 is inside the subnet of ${PFX}va (198.18.0.1/24)" "$TMP/out" ||
	fail "no warning: $(cat "$TMP/out")"
! grep -q "fe80::9" <(grep warning "$TMP/out") || fail "a link-local Address was warned about"
n a "$WSDOWN" "$A" 2>"$TMP/out" || { cat "$TMP/out" >&2; fail "wsdown"; }
log "Address inside an underlay subnet: up, with a warning: ok"
