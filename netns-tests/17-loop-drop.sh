#!/bin/bash
# SPDX-License-Identifier: MIT
# A routing loop through the daemon's own tunnel: once a's peer b has b's own
# endpoint address in its AllowedIPs and a route sends that address into the
# tunnel, a's encapsulated packets to b come back in through a's TUN. The
# daemon drops them (tx_loop_dropped) instead of sealing them again, so the
# TUN carries a handful of packets, not hundreds of thousands a second.
#
#   [a] 198.18.0.1 ---veth--- 198.18.0.2 [b]      tunnel 198.19.0.1 <-> 198.19.0.2
source "$(dirname "$0")/lib.sh"

ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
ka=$(genkey); kb=$(genkey); pb=$(pubkey <<<"$kb")
write_conf "$TMP/a.conf" "$ka" 51820 "$pb" "198.19.0.2/32" "198.18.0.2:51820"
write_conf "$TMP/b.conf" "$kb" 51820 "$(pubkey <<<"$ka")" "198.19.0.1/32" "198.18.0.1:51820"
start_wsd a "$TMP/a.conf" "${PFX}a" -m 1420
start_wsd b "$TMP/b.conf" "${PFX}b" -m 1420
for s in a:1 b:2; do
	ns=${s%:*}
	ipn "$ns" addr add "198.19.0.${s#*:}/24" dev "${PFX}$ns"
	ipn "$ns" link set "${PFX}$ns" mtu 1420 up
done
wait_for 10 n a ping -c 1 -W 1 198.19.0.2 || fail "no tunnel"

tun_tx() { ip -n "${PFX}a" -s -j link show dev "${PFX}a" | jq '.[0].stats64.tx.packets'; }
loops() { ws_get "${PFX}a" | awk -F= '$1 == "tx_loop_dropped" { print $2 }'; }
assert_eq "$(loops)" 0 "tx_loop_dropped before the loop"

# The loop: b's endpoint is in b's AllowedIPs and routed into the tunnel.
"$WS" peer set "${PFX}a" "$pb" allowed-ips 198.19.0.2/32,198.18.0.2/32 || fail "ws peer set"
before=$(tun_tx)
ipn a route add 198.18.0.2/32 dev "${PFX}a"
n a timeout 5 ping -c 3 -i 0.2 -W 1 198.19.0.2 >/dev/null 2>&1 || true
sleep 0.5
after=$(tun_tx)
ipn a route del 198.18.0.2/32 dev "${PFX}a"   # ends a loop, should there be one
dropped=$(loops)
log "TUN tx packets while looped: $((after - before)); tx_loop_dropped: $dropped"
[ "$((after - before))" -lt 200 ] || fail "the TUN carried $((after - before)) packets in ~1.5 s: a routing loop"
[ "$dropped" -ge 1 ] || fail "no looped packet was dropped and counted"
grep -q "routing loop" "$TMP/${PFX}a.log" || fail "the loop was not logged"
[ "$(grep -c "routing loop" "$TMP/${PFX}a.log")" = 1 ] || fail "the loop was logged more than once"

# Back to normal: the tunnel carries traffic again.
"$WS" peer set "${PFX}a" "$pb" allowed-ips 198.19.0.2/32 || fail "ws peer set"
wait_for 10 n a ping -c 1 -W 1 198.19.0.2 || fail "tunnel dead after the loop was removed"
log "loop detected, dropped ($dropped), logged once; tunnel fine afterwards"
