#!/bin/bash
# SPDX-License-Identifier: MIT
# Site-to-site: two LANs joined by two gateways (wsup/wsdown, Table = auto).
#
#   [la] 198.18.10.2/24 ---- 198.18.10.1/24 [ga] 198.18.0.1/24 ---- 198.18.0.2/24 [gb] 198.18.20.1/24 ---- 198.18.20.2/24 [lb]
#        198.18.11.2/24      198.18.11.1/24                                                                   default via gb
#        default via ga
#   tunnel ga: 198.19.0.1/32, AllowedIPs 198.19.0.2/32, 198.18.20.0/24 (Endpoint 198.18.0.2:51820)
#   tunnel gb: 198.19.0.2/32, AllowedIPs 198.19.0.1/32, 198.18.10.0/24 (Endpoint 198.18.0.1:51820)
#   ga and gb forward (ip_forward=1); the underlay has no route to either LAN.
#
# 1. wsup installs exactly the AllowedIPs routes; la and lb reach each other,
#    and only through the tunnel (nft counts what leaves ga by which link).
# 2. Not routed: from la's second subnet 198.18.11.0/24 (not in gb's AllowedIPs
#    for ga) nothing reaches lb and gb's rx_dropped for ga rises by exactly the
#    number of pings; a destination outside the AllowedIPs (198.18.30.0/24) is
#    not routed into the tunnel, and even with a route forced onto ga's tunnel
#    device ga's daemon sends nothing for it (no peer holds it).
# 3. Restart: kill -9 gb's daemon, wsdown + wsup on gb, ga untouched (same
#    daemon PID): la -> lb works again within 10 s; then the same with ga.
#
# PersistentKeepalive = 5 on both gateways (as site-to-site links normally set
# it). With the defaults the 10 s bound cannot be met when the restarted
# gateway has nothing to send: it never initiates, and the other side only
# notices the dead session after 15 s without a reply (DECISIONS 29; measured
# about 16 s for gb's restart without it). With it, the restarted daemon
# handshakes as soon as it starts (traffic resumes within milliseconds).
source "$(dirname "$0")/lib.sh"

GA=${PFX}ga GB=${PFX}gb
ns_add la ga gb lb
veth la l0 ga l1
veth ga u0 gb u1
veth gb m1 lb m0
ipn la addr add 198.18.10.2/24 dev "${PFX}l0"
ipn la addr add 198.18.11.2/24 dev "${PFX}l0"
ipn la route add default via 198.18.10.1
ipn ga addr add 198.18.10.1/24 dev "${PFX}l1"
ipn ga addr add 198.18.11.1/24 dev "${PFX}l1"
ipn ga addr add 198.18.0.1/24 dev "${PFX}u0"
ipn gb addr add 198.18.0.2/24 dev "${PFX}u1"
ipn gb addr add 198.18.20.1/24 dev "${PFX}m1"
ipn lb addr add 198.18.20.2/24 dev "${PFX}m0"
ipn lb route add default via 198.18.20.1
n ga sysctl -q net.ipv4.ip_forward=1
n gb sysctl -q net.ipv4.ip_forward=1

ka=$(genkey); kb=$(genkey)
pa=$(pubkey <<<"$ka"); pb=$(pubkey <<<"$kb")
gw_conf() { # gw_conf IFNAME PRIV ADDRESS PEER_PUB ALLOWED ENDPOINT
	cat >"$TMP/$1.conf" <<-EOF
	[Interface]
	PrivateKey = $2
	ListenPort = 51820
	Address = $3
	Table = auto
	[Peer]
	PublicKey = $4
	AllowedIPs = $5
	Endpoint = $6
	PersistentKeepalive = 5
	EOF
	chmod 600 "$TMP/$1.conf"
}
gw_conf "$GA" "$ka" 198.19.0.1/32 "$pb" "198.19.0.2/32, 198.18.20.0/24" 198.18.0.2:51820
gw_conf "$GB" "$kb" 198.19.0.2/32 "$pa" "198.19.0.1/32, 198.18.10.0/24" 198.18.0.1:51820

# wsup/wsdown NS IFNAME: inside NS, stderr shown only on failure.
wsup() { n "$1" "$WSUP" "$TMP/$2.conf" 2>"$TMP/out" || { cat "$TMP/out" >&2; fail "wsup $2"; }; }
wsdown() { n "$1" "$WSDOWN" "$2" 2>"$TMP/out" || { cat "$TMP/out" >&2; fail "wsdown $2"; }; }
wsd_pid() { cat "/run/wiresocket/$1.pid"; }
ping1() { local ns=$1; shift; n "$ns" ping -c 1 -W 1 "$@" >/dev/null 2>&1; }   # ping1 NS [ARGS] DEST

# What leaves ga for lb's LAN and for 198.18.30.0/24, by interface; what gb's
# tunnel delivers for 198.18.30.0/24.
n ga nft -f - <<EOF
table inet s2s {
	counter lanb_tunnel {}
	counter lanb_underlay {}
	counter stray_tunnel {}
	chain post {
		type filter hook postrouting priority 0; policy accept;
		oifname "$GA" ip daddr 198.18.20.0/24 counter name lanb_tunnel
		oifname "${PFX}u0" ip daddr 198.18.20.0/24 counter name lanb_underlay
		oifname "$GA" ip daddr 198.18.30.0/24 counter name stray_tunnel
	}
}
EOF
n gb nft -f - <<EOF
table inet s2s {
	counter stray_in {}
	chain pre {
		type filter hook prerouting priority 0; policy accept;
		iifname "$GB" ip daddr 198.18.30.0/24 counter name stray_in
	}
}
EOF
nft_count() { n "$1" nft list counter inet s2s "$2" | awk '/packets/ { print $2; exit }'; }

# ---- 1. routes from AllowedIPs, LAN to LAN through the tunnel ------------------
wsup ga "$GA"
wsup gb "$GB"
assert_eq "$(ipn ga -4 route show dev "$GA" | sort)" "$(printf '198.18.20.0/24 scope link \n198.19.0.2 scope link ')" "ga's routes"
assert_eq "$(ipn gb -4 route show dev "$GB" | sort)" "$(printf '198.18.10.0/24 scope link \n198.19.0.1 scope link ')" "gb's routes"
wait_secs 10 ping1 la 198.18.20.2 || fail "la -> lb: no reply within 10 s of wsup"
log "first reply la -> lb after ${WAITED_MS} ms"
n la ping -c 5 -i 0.2 -W 2 198.18.20.2 >/dev/null || fail "la -> lb"
n lb ping -c 5 -i 0.2 -W 2 198.18.10.2 >/dev/null || fail "lb -> la"
n ga ping -c 2 -i 0.2 -W 2 198.19.0.2 >/dev/null || fail "ga -> gb overlay"
[ "$(nft_count ga lanb_tunnel)" -ge 10 ] || fail "la -> lb did not leave ga by the tunnel: $(nft_count ga lanb_tunnel)"
assert_eq "$(nft_count ga lanb_underlay)" 0 "packets for lb's LAN leaving ga by the underlay"
assert_eq "$(pj "$GA" connected)$(pj "$GB" connected)" truetrue "connected on both gateways"
log "1. routes from AllowedIPs; la <-> lb through the tunnel ($(nft_count ga lanb_tunnel) packets, 0 on the underlay): ok"

# ---- 2. not routed ---------------------------------------------------------------
drop0=$(pj "$GB" rx_dropped)
! n la ping -c 3 -i 0.2 -W 1 -I 198.18.11.2 198.18.20.2 >/dev/null 2>&1 || fail "198.18.11.2 (outside gb's AllowedIPs for ga) reached lb"
drops=$(( $(pj "$GB" rx_dropped) - drop0 ))
assert_eq "$drops" 3 "gb's rx_dropped for 3 pings from 198.18.11.2"
n la ping -c 1 -W 2 198.18.20.2 >/dev/null || fail "la -> lb after the refused source"
! has_route=$(ipn ga route get 198.18.30.2 2>&1) || fail "ga has a route to 198.18.30.2: $has_route"
! ping1 la 198.18.30.2 || fail "198.18.30.2 answered"
assert_eq "$(nft_count ga stray_tunnel)" 0 "packets for 198.18.30.0/24 into ga's tunnel"
# Forced onto the tunnel device: the daemon finds no peer for it and drops it.
ipn ga route add 198.18.30.0/24 dev "$GA"
! n la ping -c 3 -i 0.2 -W 1 198.18.30.2 >/dev/null 2>&1 || fail "198.18.30.2 answered through a forced route"
assert_eq "$(nft_count ga stray_tunnel)" 3 "packets for 198.18.30.0/24 given to ga's TUN"
n ga ping -c 1 -W 2 198.19.0.2 >/dev/null || fail "ga -> gb after the stray packets"
assert_eq "$(nft_count gb stray_in)" 0 "packets for 198.18.30.0/24 coming out of gb's tunnel"
ipn ga route del 198.18.30.0/24 dev "$GA"
log "2. source 198.18.11.2: gb dropped $drops of 3 (rx_dropped); 198.18.30.0/24: no route, and 0 of 3 forced packets crossed: ok"

# ---- 3. restart either gateway; the other is not touched -------------------------
restart() { # restart NS IFNAME: kill -9 its daemon, wsdown, wsup
	local pid
	pid=$(wsd_pid "$2")
	kill -KILL "$pid"
	wait_for 5 sh -c "! kill -0 $pid" || fail "$2's daemon survived kill -9"
	wsdown "$1" "$2"
	wsup "$1" "$2"
}
other_pid=$(wsd_pid "$GA")
restart gb "$GB"
wait_secs 10 ping1 la 198.18.20.2 || fail "la -> lb did not resume within 10 s of gb's restart"
gb_ms=$WAITED_MS
assert_eq "$(wsd_pid "$GA")" "$other_pid" "ga's daemon PID"
n lb ping -c 2 -i 0.2 -W 2 198.18.10.2 >/dev/null || fail "lb -> la after gb's restart"
other_pid=$(wsd_pid "$GB")
restart ga "$GA"
wait_secs 10 ping1 la 198.18.20.2 || fail "la -> lb did not resume within 10 s of ga's restart"
ga_ms=$WAITED_MS
assert_eq "$(wsd_pid "$GB")" "$other_pid" "gb's daemon PID"
n lb ping -c 2 -i 0.2 -W 2 198.18.10.2 >/dev/null || fail "lb -> la after ga's restart"
assert_eq "$(nft_count ga lanb_underlay)" 0 "packets for lb's LAN leaving ga by the underlay"
log "3. traffic resumed ${gb_ms} ms after gb's wsup, ${ga_ms} ms after ga's (other side untouched): ok"
wsdown gb "$GB"
wsdown ga "$GA"
log "site-to-site: all checks passed"
