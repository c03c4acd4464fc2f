#!/bin/bash
# SPDX-License-Identifier: MIT
# What wsup, wsdown and ws say instead of failing silently:
# 1. a config writable by group or others is refused (its hooks run as root);
# 2. a peer with no Endpoint, on an interface with no ListenPort, can never
#    connect: wsup says so at the end (and says nothing when either is set);
# 3. `ws link del` of an interface wsup brought up refuses, points to wsdown
#    and leaves the tunnel up;
# 4. wsdown from another namespace names both namespaces by their ip-netns names;
# 5. ws showconf lists the peers in the order of the config.
source "$(dirname "$0")/lib.sh"

A=${PFX}a
ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
ka=$(genkey); pb=$(pubkey <<<"$(genkey)")
conf_a() { # conf_a PORT_LINE ENDPOINT_LINE [EXTRA]
	cat >"$TMP/$A.conf" <<-EOF
	[Interface]
	PrivateKey = $ka
	$1
	Address = 198.19.0.1/24
	${3:-}
	[Peer]
	PublicKey = $pb
	AllowedIPs = 198.19.0.2/32
	$2
	EOF
	chmod 600 "$TMP/$A.conf"
}
up() { n a "$WSUP" "$TMP/$A.conf" 2>"$TMP/out" || { cat "$TMP/out" >&2; fail "wsup: $*"; }; }
down() { n a "$WSDOWN" "$A" 2>"$TMP/out" || { cat "$TMP/out" >&2; fail "wsdown"; }; }

# ---- 1. writable config --------------------------------------------------------------
for mode in 620 602; do
	conf_a "ListenPort = 51820" "Endpoint = 198.18.0.2:51820" "PostUp = true"
	chmod "$mode" "$TMP/$A.conf"
	rc=0
	n a "$WSUP" "$TMP/$A.conf" 2>"$TMP/out" || rc=$?
	[ "$rc" = 0 ] && down
	assert_eq "$rc" 1 "wsup exit status, config mode $mode (stderr: $(cat "$TMP/out"))"
	grep -q "$TMP/$A.conf is writable by .* (mode 0$mode): whoever can write it can run commands as root" "$TMP/out" ||
		fail "no reason for mode $mode: $(cat "$TMP/out")"
	! grep -q '^\[#\]' "$TMP/out" || fail "wsup ran commands with a writable config"
done
log "1. a config writable by group or others: refused: ok"

# ---- 2. a peer that can never connect ------------------------------------------------
conf_a "" ""
up "no ListenPort, no Endpoint"
grep -q "warning: peer $pb (line 6) can never connect: it has no Endpoint here, and $A has no ListenPort" "$TMP/out" ||
	fail "no never-connect warning: $(cat "$TMP/out")"
down
conf_a "ListenPort = 51820" ""
up "ListenPort, no Endpoint"
! grep -q "can never connect" "$TMP/out" || fail "warned with a ListenPort"
down
conf_a "" "Endpoint = 198.18.0.2:51820"
up "Endpoint, no ListenPort"
! grep -q "can never connect" "$TMP/out" || fail "warned with an Endpoint"
log "2. a peer that can never connect: warned, and only then: ok"

# ---- 3. ws link del of a wsup interface ------------------------------------------------
rc=0
n a "$WS" link del "$A" 2>"$TMP/out" || rc=$?
assert_eq "$rc" 1 "ws link del of a wsup interface"
grep -q "link del: '$A' was brought up by wsup (/run/wiresocket/$A.wsup exists): take it down with 'wsdown $A'" "$TMP/out" ||
	fail "no pointer to wsdown: $(cat "$TMP/out")"
ipn a link show "$A" >/dev/null 2>&1 || fail "ws link del took $A down anyway"
ws_get "$A" >/dev/null || fail "the daemon of $A is gone"
log "3. ws link del refuses a wsup interface, points to wsdown: ok"

# ---- 4. wsdown from another namespace --------------------------------------------------
rc=0
n b "$WSDOWN" "$A" 2>"$TMP/out" || rc=$?
assert_eq "$rc" 1 "wsdown from another namespace"
grep -q "'$A' was brought up in another network namespace, '${PFX}a' ([0-9]*:[0-9]*) (this is '${PFX}b' ([0-9]*:[0-9]*)): run wsdown there" "$TMP/out" ||
	fail "namespaces not named: $(cat "$TMP/out")"
down
log "4. wsdown from another namespace names both: ok"

# ---- 5. peers in config order ------------------------------------------------------------
{
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51821\n' "$ka"
	for i in 1 2 3 4; do
		printf '[Peer]\nPublicKey = %s\nAllowedIPs = 198.19.0.%d/32\n' "$(pubkey <<<"$(genkey)")" $((10 + i))
	done
} >"$TMP/order.conf"
chmod 600 "$TMP/order.conf"
start_wsd a "$TMP/order.conf" "${PFX}o"
"$WS" showconf "${PFX}o" >"$TMP/shown.conf"
assert_eq "$(grep '^PublicKey' "$TMP/shown.conf" | tr -d ' ')" "$(grep '^PublicKey' "$TMP/order.conf" | tr -d ' ')" "peer order of ws showconf"
log "5. ws showconf lists the peers in config order: ok"
