#!/bin/bash
# SPDX-License-Identifier: MIT
# DNS set but resolvconf not installed: wsup fails (as wg-quick does) with the
# install hint, before it changes anything; on a full tunnel it says that the
# queries would leak. Without DNS the same PATH brings the tunnel up.
source "$(dirname "$0")/lib.sh"

A=${PFX}a
ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
ka=$(genkey); pb=$(pubkey <<<"$(genkey)")
# A PATH with sh and nothing else: no resolvconf, whatever the host has.
mkdir -p "$TMP/bin"
ln -s "$(command -v sh)" "$TMP/bin/sh"
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
snapshot() { ipn a -4 route show table all; ipn a -4 rule; ipn a -6 rule; }
snapshot >"$TMP/before"
for allowed in "0.0.0.0/0" "198.19.0.2/32"; do
	conf_a "$allowed" "DNS = 198.19.0.53"
	rc=0
	n a env PATH="$TMP/bin" "$WSUP" "$TMP/$A.conf" 2>"$TMP/out" || rc=$?
	if [ "$rc" = 0 ]; then n a "$WSDOWN" "$A" >/dev/null 2>&1 || true; fi
	assert_eq "$rc" 1 "wsup exit status, DNS without resolvconf, AllowedIPs $allowed (stderr: $(cat "$TMP/out"))"
	grep -q "DNS is set but resolvconf is not installed (install openresolv or resolvconf" "$TMP/out" ||
		fail "no install hint: $(cat "$TMP/out")"
	if [ "$allowed" = 0.0.0.0/0 ]; then
		grep -q "every DNS query would leave through the underlay" "$TMP/out" || fail "no leak reason: $(cat "$TMP/out")"
	fi
	! grep -q '^\[#\]' "$TMP/out" || fail "wsup ran commands before refusing: $(cat "$TMP/out")"
	! ipn a link show "$A" >/dev/null 2>&1 || fail "$A left behind"
	snapshot >"$TMP/after"
	diff -u "$TMP/before" "$TMP/after" >&2 || fail "routes or rules changed"
done
log "DNS without resolvconf: refused with the hint, nothing done: ok"
conf_a "0.0.0.0/0"
n a env PATH="$TMP/bin" "$WSUP" "$TMP/$A.conf" 2>"$TMP/out" || { cat "$TMP/out" >&2; fail "wsup without DNS"; }
n a env PATH="$TMP/bin" "$WSDOWN" "$A" 2>"$TMP/out" || { cat "$TMP/out" >&2; fail "wsdown"; }
log "no DNS, same PATH: up and down: ok"
