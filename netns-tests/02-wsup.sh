#!/bin/bash
# SPDX-License-Identifier: MIT
# wsup / wsdown between two namespaces.
#
#   [a] 198.18.0.1/24 ----veth---- 198.18.0.2/24 [b]
#        fd18::1/64                 fd18::2/64
#        default via b, mtu 1450    lo: 198.18.1.2  (b's "public" address, reached by a
#        peer-b.test = 198.18.1.2                    only through its default route)
#                                       198.18.2.1, fd18:2::1  ("the internet")
#   tunnel a: 198.19.0.1/24 fd19::1/64      tunnel b: 198.19.0.2/24 fd19::2/64
#
# 1. wsup on both ends from generated configs: addresses (IPv6 usable at once),
#    MTU (route MTU - 100 on a, MTU = 1380 on b), link up, one route per
#    AllowedIPs most specific first, hooks with %i, DNS through resolvconf (a
#    stub on PATH), ping both ways; wsdown restores routes and rules exactly.
# 2. Full tunnel on a (AllowedIPs = 0.0.0.0/0, ::/0) with table 51821 taken:
#    table 51822, fwmark 51822 set through the control socket, the rule pairs
#    for both families, src_valid_mark; b's Endpoint is a DNS name (hosts file)
#    reachable only through a's default route: MTU 1450 - 100, and the
#    handshake itself needs the fwmark; the underlay still works; "the
#    internet" is reached through the tunnel; wsdown restores.
# 3. PostUp = false: wsup exits 1 and leaves nothing (link, route, rule, daemon,
#    run files).
# 4. wsdown after the daemon was killed -9 cleans everything; wsdown of an
#    interface that is not up fails; a second wsup of a live interface fails
#    and leaves the first alone.
source "$(dirname "$0")/lib.sh"

A=${PFX}a B=${PFX}b
ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
ipn a addr add fd18::1/64 dev "${PFX}va" nodad
ipn b addr add fd18::2/64 dev "${PFX}vb" nodad
ipn a route add default via 198.18.0.2 mtu 1450
ipn a -6 route add default via fd18::2
ipn b addr add 198.18.1.2/32 dev lo
ipn b addr add 198.18.2.1/32 dev lo
ipn b addr add fd18:2::1/128 dev lo
# Table 51821 is in use on a: the full tunnel must take the next one.
ipn a route add 198.18.99.0/24 dev "${PFX}va" table 51821

# a resolves b's name through its own hosts file (ip netns exec bind-mounts it).
mkdir -p "/etc/netns/${PFX}a"
trap 'rm -rf "/etc/netns/${PFX}a"; cleanup' EXIT
printf '127.0.0.1 localhost\n198.18.1.2 peer-b.test\n' >"/etc/netns/${PFX}a/hosts"

ka=$(genkey); kb=$(genkey)
pa=$(pubkey <<<"$ka"); pb=$(pubkey <<<"$kb")

# A resolvconf stub: wsup must never touch the host's DNS.
mkdir -p "$TMP/bin"
cat >"$TMP/bin/resolvconf" <<EOF
#!/bin/sh
echo "resolvconf \$*" >>"$TMP/resolvconf.log"
[ "\$1" = -a ] && cat >>"$TMP/resolvconf.log"
exit 0
EOF
chmod +x "$TMP/bin/resolvconf"

# wsup/wsdown NS FILE: run inside NS with the stub first on PATH; stderr kept in $TMP/out.
wsup() { n "$1" env PATH="$TMP/bin:$PATH" "$WSUP" "$2" 2>"$TMP/out" || { cat "$TMP/out" >&2; return 1; }; }
wsdown() { n "$1" env PATH="$TMP/bin:$PATH" "$WSDOWN" "$2" 2>"$TMP/out" || { cat "$TMP/out" >&2; return 1; }; }
# wsup_fails NS FILE: wsup must exit 1.
wsup_fails() {
	local rc=0
	n "$1" env PATH="$TMP/bin:$PATH" "$WSUP" "$2" 2>"$TMP/out" || rc=$?
	[ "$rc" = 1 ] || { cat "$TMP/out" >&2; fail "wsup $2: exit status $rc, expected 1"; }
}

# Everything routing-related in NS, for exact before/after comparisons.
snapshot() {
	ipn "$1" -4 route show table all
	ipn "$1" -6 route show table all
	ipn "$1" -4 rule show
	ipn "$1" -6 rule show
}
# No trace of interface IF in NS: link, routes, rules to its table, daemon, run files.
assert_gone() {
	local ns=$1 ifname=$2
	! ipn "$ns" link show "$ifname" >/dev/null 2>&1 || fail "$ifname still exists"
	! pgrep -f "wsd .* $ifname\$" >/dev/null || fail "a wsd for $ifname still runs"
	! ls /run/wiresocket/"$ifname".* >/dev/null 2>&1 || fail "run files left: $(ls /run/wiresocket/"$ifname".*)"
}
# has PATTERN CMD...: CMD's output matches (read whole: no SIGPIPE under pipefail).
has() { local pat=$1 out; shift; out=$("$@") || return 1; grep -q -- "$pat" <<<"$out"; }
assert_same() { # assert_same FILE1 FILE2 WHAT
	diff -u "$1" "$2" >&2 || fail "$3 differ"
}

conf_a() { # conf_a ALLOWED ENDPOINT [EXTRA LINES]
	cat >"$TMP/$A.conf" <<-EOF
	[Interface]
	PrivateKey = $ka
	ListenPort = 51820
	Address = 198.19.0.1/24, fd19::1/64
	${3:-}
	[Peer]
	PublicKey = $pb
	AllowedIPs = $1
	Endpoint = $2
	EOF
	chmod 600 "$TMP/$A.conf"
}
conf_b() { # conf_b [ENDPOINT]
	cat >"$TMP/$B.conf" <<-EOF
	[Interface]
	PrivateKey = $kb
	ListenPort = 51820
	Address = 198.19.0.2/24
	Address = fd19::2/64
	MTU = 1380
	[Peer]
	PublicKey = $pa
	AllowedIPs = 198.19.0.1/32,
	  fd19::1/128
	${1:+Endpoint = $1}
	EOF
	chmod 600 "$TMP/$B.conf"
}

# The underlay's link-local addresses must be settled before the snapshot.
no_tentative() { [ -z "$(ip -n "$PFX$1" -6 addr show tentative)" ]; }
wait_for 10 no_tentative a || fail "a: IPv6 DAD did not finish"
wait_for 10 no_tentative b || fail "b: IPv6 DAD did not finish"
snapshot a >"$TMP/a.before"
snapshot b >"$TMP/b.before"

# ---- 1. a plain tunnel ------------------------------------------------------------
conf_a "198.19.10.0/24, 198.19.0.2/32, fd19::2/128" "198.18.0.2:51820" "DNS = 198.19.0.53, example.test
PreUp = echo %i >$TMP/preup
PostUp = echo up %i >>$TMP/hooks
PreDown = echo predown %i >>$TMP/hooks
PostDown = echo postdown %i >>$TMP/hooks"
conf_b "[fd18::1]:51820"
wsup a "$TMP/$A.conf"
cp "$TMP/out" "$TMP/up-a.log"
wsup b "$TMP/$B.conf"

has "198.19.0.1/24 fd19::1/64" ipn a -br addr show dev "$A" || fail "a's addresses: $(ipn a -br addr show dev "$A")"
! has tentative ipn a addr show dev "$A" || fail "a's IPv6 address is tentative"
has "mtu 1400 " ipn a link show "$A" || fail "a's MTU is not 1500 - 100: $(ipn a link show "$A")"
has "mtu 1380 " ipn b link show "$B" || fail "b's MTU is not the configured 1380"
has "[<,]UP[,>]" ipn a link show "$A" || fail "a's link is not up"
assert_eq "$(ipn a -4 route show dev "$A" proto boot | sort)" "$(printf '198.19.0.2 scope link \n198.19.10.0/24 scope link ')" "a's IPv4 AllowedIPs routes"
has "^fd19::2 " ipn a -6 route show dev "$A" || fail "a has no route to fd19::2"
has "^198.19.0.1 " ipn b -4 route show dev "$B" || fail "b has no route to 198.19.0.1"
# Echoed, most specific first.
assert_eq "$(grep -o 'route add [^ ]*' "$TMP/up-a.log" | tr '\n' ' ')" \
	"route add fd19::2/128 route add 198.19.0.2/32 route add 198.19.10.0/24 " "route order"
grep -q "^\[#\] ip -6 address add fd19::1/64 dev $A nodad$" "$TMP/up-a.log" || fail "no address echo"
assert_eq "$(cat "$TMP/preup")" "$A" "PreUp with %i"
assert_eq "$(cat "$TMP/hooks")" "up $A" "PostUp with %i"
assert_eq "$(cat "$TMP/resolvconf.log")" "$(printf 'resolvconf -a %s -m 0 -x\nnameserver 198.19.0.53\nsearch example.test' "$A")" "resolvconf input"
[ -f "/run/wiresocket/$A.wsup" ] || fail "no state file"
n a ping -c 2 -i 0.2 -W 2 198.19.0.2 >/dev/null
n a ping -c 2 -i 0.2 -W 2 fd19::2 >/dev/null
n b ping -c 2 -i 0.2 -W 2 198.19.0.1 >/dev/null
log "1. wsup: addresses, MTU, routes, hooks, DNS, ping: ok"

# The config may change or vanish: wsdown undoes what wsup did.
mv "$TMP/$A.conf" "$TMP/$A.conf.moved"
wsdown a "$TMP/$A.conf"
grep -q "^\[#\] resolvconf -d $A -f$" "$TMP/out" || fail "no resolvconf -d"
assert_eq "$(tr '\n' ' ' <"$TMP/hooks")" "up $A predown $A postdown $A " "down hooks"
wsdown b "$B"   # by name: only the interface name matters to wsdown
snapshot a >"$TMP/a.after"; snapshot b >"$TMP/b.after"
assert_same "$TMP/a.before" "$TMP/a.after" "a: routes and rules before wsup and after wsdown"
assert_same "$TMP/b.before" "$TMP/b.after" "b: routes and rules before wsup and after wsdown"
assert_gone a "$A"; assert_gone b "$B"
log "1. wsdown: routes and rules restored, nothing left: ok"

# ---- 2. full tunnel on a ----------------------------------------------------------
conf_a "0.0.0.0/0, ::/0" "peer-b.test:51820"
conf_b ""
wsup b "$TMP/$B.conf"
wsup a "$TMP/$A.conf"
cp "$TMP/out" "$TMP/up-a.log"
has "mtu 1350 " ipn a link show "$A" || fail "a's MTU is not the route's 1450 - 100: $(ipn a link show "$A")"
T=51822
has "not from all fwmark 0x$(printf %x $T) lookup $T" ipn a -4 rule show || fail "no IPv4 'not fwmark' rule: $(ipn a -4 rule show)"
has "from all lookup main suppress_prefixlength 0" ipn a -4 rule show || fail "no IPv4 suppress rule"
has "not from all fwmark 0x$(printf %x $T) lookup $T" ipn a -6 rule show || fail "no IPv6 'not fwmark' rule"
has "from all lookup main suppress_prefixlength 0" ipn a -6 rule show || fail "no IPv6 suppress rule"
assert_eq "$(ipn a -4 route show table $T)" "default dev $A scope link " "IPv4 table $T"
has "^default dev $A " ipn a -6 route show table $T || fail "no IPv6 default in table $T"
assert_eq "$(ws_get "$A" | grep '^fwmark=')" "fwmark=$T" "the daemon's fwmark"
assert_eq "$(n a cat /proc/sys/net/ipv4/conf/all/src_valid_mark)" 1 "src_valid_mark"
grep -q "^\[#\] sysctl -q net.ipv4.conf.all.src_valid_mark=1$" "$TMP/up-a.log" || fail "no sysctl echo"
# Unmarked traffic goes into the tunnel, the daemon's (marked) out the underlay.
has "dev $A " ipn a route get 198.18.2.1 || fail "198.18.2.1 is not routed into the tunnel"
has "dev ${PFX}va " ipn a route get 198.18.1.2 mark $T || fail "marked traffic does not use the underlay"
n a ping -c 2 -i 0.2 -W 2 198.19.0.2 >/dev/null       # handshake over the default route
n a ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null       # the underlay itself
rx=$(ws_peer_field "$B" rx_bytes)
n a ping -c 2 -i 0.2 -W 2 198.18.2.1 >/dev/null       # "the internet", through the tunnel
n a ping -c 2 -i 0.2 -W 2 fd18:2::1 >/dev/null
[ "$(ws_peer_field "$B" rx_bytes)" -gt "$rx" ] || fail "the pings to 198.18.2.1 did not cross the tunnel"
log "2. full tunnel: table $T, rules, fwmark, no loop, traffic: ok"
wsdown a "$A"
grep -q "^\[#\] ip -4 rule delete not fwmark $T table $T priority [0-9]*$" "$TMP/out" || fail "no rule delete echo"
wsdown b "$B"
snapshot a >"$TMP/a.after"; snapshot b >"$TMP/b.after"
assert_same "$TMP/a.before" "$TMP/a.after" "a: routes and rules after the full tunnel"
assert_same "$TMP/b.before" "$TMP/b.after" "b: routes and rules after the full tunnel"
assert_gone a "$A"; assert_gone b "$B"
log "2. full tunnel wsdown: restored exactly: ok"

# ---- 3. a failing PostUp rolls everything back ------------------------------------
conf_a "0.0.0.0/0, ::/0, 198.19.0.2/32" "198.18.1.2:51820" "PostUp = false"
wsup_fails a "$TMP/$A.conf"
grep -q "PostUp: 'false' failed with exit status 1" "$TMP/out" || fail "no PostUp message: $(cat "$TMP/out")"
grep -q "rule delete" "$TMP/out" || fail "the rollback did not delete the rules"
snapshot a >"$TMP/a.after"
assert_same "$TMP/a.before" "$TMP/a.after" "a: routes and rules after a failed wsup"
assert_gone a "$A"
log "3. PostUp = false: exit 1, rolled back: ok"

# ---- 4. the daemon killed -9, then wsdown; wsdown when not up; wsup twice ----------
conf_a "0.0.0.0/0, ::/0" "198.18.1.2:51820"
wsup b "$TMP/$B.conf"
wsup a "$TMP/$A.conf"
wsup_fails a "$TMP/$A.conf"
grep -q "'$A' already exists" "$TMP/out" || fail "second wsup: $(cat "$TMP/out")"
n a ping -c 1 -W 2 198.19.0.2 >/dev/null || fail "the first wsup suffered from the second"
pid=$(cat "/run/wiresocket/$A.pid")
kill -KILL "$pid"
wait_for 5 sh -c "! ip -n ${PFX}a link show $A" || fail "the TUN outlived its daemon"
wsdown a "$A"
grep -q "^\[#\] rm -f /run/wiresocket/$A.sock /run/wiresocket/$A.pid$" "$TMP/out" || fail "stale run files not removed: $(cat "$TMP/out")"
snapshot a >"$TMP/a.after"
assert_same "$TMP/a.before" "$TMP/a.after" "a: routes and rules after wsdown of a killed daemon"
assert_gone a "$A"
rc=0; n a "$WSDOWN" "$A" 2>"$TMP/out" || rc=$?
assert_eq "$rc" 1 "wsdown of an interface that is not up"
grep -q "'$A' is not up" "$TMP/out" || fail "wsdown not up: $(cat "$TMP/out")"
wsdown b "$B"
assert_gone b "$B"
log "4. kill -9 then wsdown, wsdown when down, wsup twice: ok"
