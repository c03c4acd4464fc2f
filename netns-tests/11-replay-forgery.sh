#!/bin/bash
# SPDX-License-Identifier: MIT
# Replayed and forged packets change nothing.
#
#   [a] 198.18.0.1 ----------------veth---------------- 198.18.0.2 [b]
#        wsd a -> wsinject 198.18.0.1:7000 -> (from 198.18.0.1:P) -> 198.18.0.2:51820 wsd b
#   tunnel a: 198.19.0.1/24                     tunnel b: 198.19.0.2/24
#
# a's Endpoint for b is wsinject, a relay in a that forwards a's datagrams
# from its own socket (198.18.0.1:P, which b learns as a's endpoint), keeps
# a's HandshakeInit and, while capture is on, a's transport datagrams, and on
# command sends them to b again from that same socket, verbatim (replay) or
# with one bit flipped (forgery): b cannot tell them from a's. It counts the
# genuine transport datagrams and bytes it forwarded, so b's rx_packets and
# rx_bytes for a must equal them exactly whenever nothing is in flight.
#
# Captured: 10 echo requests of a size nothing else uses (IP length 128),
# counted by nftables on b's tunnel as they arrive. Then 3 replays of every
# captured datagram, a replay of the HandshakeInit (DECISIONS 17) and 16
# one-bit forgeries of each (DECISIONS 16: a counter far ahead burns nothing).
# Asserted: b's rx_packets/rx_bytes still equal what a genuinely sent, no
# probe reached b's tunnel twice, b's sessions, latest handshake, completed
# handshakes, endpoint, rx_dropped and control resets are unchanged, b sent
# no HandshakeResp, every injected datagram reached b's socket, and a fresh
# ping still passes. First, wsinject refuses addresses outside the test
# ranges (exit 2), as wsrelay and wsflood do.
source "$(dirname "$0")/lib.sh"

INJECT=$TOOLS/wsinject
[ -x "$INJECT" ] || fail "no $INJECT (make $INJECT)"

ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
for args in "-l 198.18.0.1:7009 -s 192.0.2.1:9000" "-l 0.0.0.0:7009 -s 198.18.0.2:9000" \
	"-l 198.18.0.1:7009 -s 198.18.0.2:9000 -b 10.0.0.1" "-l 198.18.0.1:7009 -s [::ffff:198.18.0.2]:9000"; do
	rc=0; n a "$INJECT" $args -t 1 </dev/null >/dev/null 2>&1 || rc=$?
	assert_eq "$rc" 2 "wsinject $args"
done

# On b: probes (IP length 128) arriving on the tunnel, datagrams to wsd.
n b nft -f - <<EOF
table inet wsreplay {
	counter probes {}
	counter to_wsd {}
	chain input {
		type filter hook input priority 0; policy accept;
		iifname "${PFX}b" ip length 128 icmp type echo-request counter name probes
		udp dport 51820 counter name to_wsd
	}
}
EOF
nft_count() { n b nft list counter inet wsreplay "$1" | awk '/packets/ { print $2; exit }'; }

# wsinject as a coprocess: one command a line, one answer a line (in $INJ_REPLY).
coproc INJ { exec ip netns exec "${PFX}a" "$INJECT" -l 198.18.0.1:7000 -s 198.18.0.2:51820 -S 11 -t 60; }
PIDS+=($INJ_PID)
read -r -t 5 INJ_REPLY <&"${INJ[0]}" && [ "$INJ_REPLY" = ready ] || fail "wsinject did not start"
inj() {
	echo "$*" >&"${INJ[1]}"
	read -r -t 20 INJ_REPLY <&"${INJ[0]}" || fail "wsinject did not answer '$*'"
}
# word KEY LINE: the word after KEY in LINE.
word() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' <<<"$2"; }

ka=$(genkey); kb=$(genkey)
write_conf "$TMP/a.conf" "$ka" 51820 "$(pubkey <<<"$kb")" "198.19.0.2/32" "198.18.0.1:7000"
write_conf "$TMP/b.conf" "$kb" 51820 "$(pubkey <<<"$ka")" "198.19.0.1/32"
start_wsd a "$TMP/a.conf" "${PFX}a" -m 1420
start_wsd b "$TMP/b.conf" "${PFX}b" -m 1420
for s in a:1 b:2; do
	ipn "${s%:*}" addr add "198.19.0.${s#*:}/24" dev "${PFX}${s%:*}"
	ipn "${s%:*}" link set "${PFX}${s%:*}" mtu 1420 up
done
wait_for 10 n a ping -c 1 -W 1 198.19.0.2 || fail "no tunnel through wsinject"

# peer IFNAME: b's (or a's) only peer as JSON.
peer() { "$WS" -j show "$1" | jq -c '.[0].peers[0]'; }
pf() { jq -r "$2" <<<"$1"; }
get_field() { ws_get "$1" | awk -F= -v f="$2" '$1 == f { print $2; exit }'; }
# b's counters for a equal the genuine transport datagrams and bytes wsinject forwarded.
accounted() {
	local p
	inj stats
	p=$(peer "${PFX}b")
	[ "$(pf "$p" .rx_packets)" = "$(word c2s_transport "$INJ_REPLY")" ] &&
		[ "$(pf "$p" .rx_bytes)" = "$(word c2s_transport_bytes "$INJ_REPLY")" ]
}
udp_rcvbuf_errors() { n b awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp; }

# Capture 10 probes.
inj capture on
n a ping -c 10 -i 0.05 -s 100 -W 2 198.19.0.2 >/dev/null || fail "probes lost"
inj capture off
assert_eq "$(nft_count probes)" 10 "probes on b's tunnel"
inj stats
captured=$(word captured "$INJ_REPLY"); inits=$(word inits "$INJ_REPLY")
[ "$captured" -ge 10 ] || fail "captured $captured transport datagrams, want >= 10"
[ "$inits" -ge 1 ] || fail "no HandshakeInit captured"
# The method holds before anything is injected.
wait_for 5 accounted || fail "b's rx counters do not match what a sent before any injection: $(peer "${PFX}b"), $INJ_REPLY"

before=$(peer "${PFX}b"); before_a=$(peer "${PFX}a")
resps0=$(word s2c_resps "$INJ_REPLY")
unknown0=$(get_field "${PFX}b" rx_unknown_index)
to_wsd0=$(nft_count to_wsd); rcvbuf0=$(udp_rcvbuf_errors)
log "before: b rx_packets $(pf "$before" .rx_packets) rx_bytes $(pf "$before" .rx_bytes)," \
	"sessions $(pf "$before" .sessions), handshakes $(pf "$before" .handshakes.completed); captured $captured + $inits init(s)"

inj replay 3
replayed=$(word replayed "$INJ_REPLY")
inj replay-init
replayed_init=$(word replayed "$INJ_REPLY")
inj forge 16
forged=$(word forged "$INJ_REPLY")
assert_eq "$replayed" $((3 * captured)) "replayed datagrams"
assert_eq "$forged" $((16 * (captured + inits))) "forged datagrams"
injected=$((replayed + replayed_init + forged))

# A fresh packet after all of them: it passes (no forged counter moved the
# window), and once its echo is back b has processed everything sent before it.
n a ping -c 1 -W 2 198.19.0.2 >/dev/null || fail "a fresh ping failed after the injections"
wait_for 5 accounted || fail "injected packets were counted: b $(peer "${PFX}b"), wsinject $INJ_REPLY"
after=$(peer "${PFX}b"); after_a=$(peer "${PFX}a")

assert_eq "$(nft_count probes)" 10 "probes on b's tunnel after the replays"
for k in .sessions .latest_handshake .handshakes.completed .handshakes.initiated .endpoint .rx_dropped .control.resets; do
	assert_eq "$(pf "$after" "$k")" "$(pf "$before" "$k")" "b's $k"
done
for k in .sessions .latest_handshake .handshakes.completed .control.resets; do
	assert_eq "$(pf "$after_a" "$k")" "$(pf "$before_a" "$k")" "a's $k"
done
assert_eq "$(word s2c_resps "$INJ_REPLY")" "$resps0" "HandshakeResps from b after the replayed init"
assert_eq "$(word errors "$INJ_REPLY")" 0 "wsinject send errors"
# Every injected datagram reached wsd's socket (none lost to a full buffer)...
to_wsd=$(( $(nft_count to_wsd) - to_wsd0 ))
[ "$to_wsd" -ge "$injected" ] || fail "only $to_wsd datagrams reached b's port, $injected injected"
assert_eq "$(udp_rcvbuf_errors)" "$rcvbuf0" "UDP receive buffer errors in b"
# ...and was looked at: the forgeries with a flipped receiver index are unknown.
unknown=$(( $(get_field "${PFX}b" rx_unknown_index) - unknown0 ))
[ "$unknown" -ge "$captured" ] || fail "rx_unknown_index grew by $unknown, want >= $captured"
log "injected $injected ($replayed replayed, $replayed_init HandshakeInit replayed, $forged forged):" \
	"b rx_packets $(pf "$after" .rx_packets) = genuine $(word c2s_transport "$INJ_REPLY"), probes on the tunnel 10," \
	"unknown index +$unknown, sessions $(pf "$after" .sessions), handshakes $(pf "$after" .handshakes.completed): nothing changed"
