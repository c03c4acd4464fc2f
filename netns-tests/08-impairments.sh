#!/bin/bash
# SPDX-License-Identifier: MIT
# TCP and the control channel through a lossy, slow, reordering, duplicating
# path; then fragmented TCP through the same path without the loss.
#
#   [a] 198.18.1.1 ---veth--- 198.18.1.2 [r] 198.18.2.1 ---veth--- 198.18.2.2 [b]
#                              wsrelay 198.18.1.2:7000 -> 198.18.2.2:51820
#   tunnel a: 198.19.0.1/24, MTU 1420        tunnel b: 198.19.0.2/24, MTU 1420, MaxPacketSize 1280
#
# a's Endpoint for b is the relay; b learns the relay's address. In r,
# nftables drops 5% of the tunnel's datagrams in each direction, and wsrelay
# adds 20 +- 5 ms of delay, reorders 5% and duplicates 1% (both directions).
#
# (1) 10 MB of TCP from a to b (full-size packets in one Data message each)
#     arrive with the right checksum; then CTL_SECONDS (20) more of the same
#     path with pings both ways, so channel 0 carries a few more of its own
#     pings and pongs (one each way every 5 s) under loss.
# (2) b's MaxPacketSize (1280) is below MTU + 45, so every full-size packet b
#     sends goes as two DataFragments, the first of exactly 1280 bytes,
#     counted in r. With the loss rules off (delay, reordering and
#     duplication stay), 4 MB of TCP from b to a, paced at 2 MB/s, arrive
#     with the right checksum, and every full-size packet was fragmented: no
#     datagram from b above 1280 bytes, a 1280-byte fragment per 1420-byte
#     share of the data. Why no loss and a pace: a receiver keeps at most 64
#     partial frames and forgets one only after 20 s (DECISIONS 23), and new
#     frames beyond that are dropped, whose other fragments then pin slots
#     too. Every lost fragment pins a slot, and with +-5 ms of jitter an
#     unpaced stream has more than 64 frames half-arrived at once: either
#     way the session's fragmented traffic stops for 20 s at a time.
# (3) Channel 0 lost nothing: after it drains, each side's control.rx equals
#     the other's control.tx, and control.resets did not move.
# Printed: transfer times and rates, datagrams dropped, duplicated and
# reordered, control messages, retransmits, RTT.
source "$(dirname "$0")/lib.sh"
RELAY=$TOOLS/wsrelay
[ -x "$RELAY" ] || fail "no $RELAY (make $RELAY)"
SIZE=10000000
FRAG_SIZE=4000000
CTL_SECONDS=${CTL_SECONDS:-20}

ns_add a r b
veth a ar r ra
veth r rb b br
ipn a addr add 198.18.1.1/24 dev "${PFX}ar"
ipn r addr add 198.18.1.2/24 dev "${PFX}ra"
ipn r addr add 198.18.2.1/24 dev "${PFX}rb"
ipn b addr add 198.18.2.2/24 dev "${PFX}br"

# In r: b's datagrams counted by size, then the loss (its own chain, so that
# flushing it turns the loss off).
n r nft -f - <<EOF
table inet wsloss {
	counter frag_full {}
	counter too_big {}
	counter lost_c2s {}
	counter lost_s2c {}
	chain loss {
		iifname "${PFX}ra" udp dport 7000 numgen random mod 100 < 5 counter name lost_c2s drop
		iifname "${PFX}rb" udp sport 51820 numgen random mod 100 < 5 counter name lost_s2c drop
	}
	chain input {
		type filter hook input priority 0; policy accept;
		iifname "${PFX}rb" udp sport 51820 udp length 1288 counter name frag_full
		iifname "${PFX}rb" udp sport 51820 udp length > 1288 counter name too_big
		jump loss
	}
}
EOF
nft_count() { n r nft list counter inet wsloss "$1" | awk '/packets/ { print $2; exit }'; }

ip netns exec "${PFX}r" "$RELAY" -l 198.18.1.2:7000 -s 198.18.2.2:51820 -b 198.18.2.1 \
	-d 20 -j 5 -r 5 -u 1 -S 8 -t 150 2>"$TMP/relay.log" &
relay=$!
PIDS+=($relay)
wait_for 5 n r sh -c "ss -uln | grep -q 198.18.1.2:7000" || fail "relay did not start"

ka=$(genkey); kb=$(genkey)
write_conf "$TMP/a.conf" "$ka" 51820 "$(pubkey <<<"$kb")" "198.19.0.2/32" "198.18.1.2:7000"
write_conf "$TMP/b.conf" "$kb" 51820 "$(pubkey <<<"$ka")" "198.19.0.1/32"
sed -i '/^ListenPort/a MaxPacketSize = 1280' "$TMP/b.conf"
start_wsd a "$TMP/a.conf" "${PFX}a" -m 1420
start_wsd b "$TMP/b.conf" "${PFX}b" -m 1420
for s in a:1 b:2; do
	ipn "${s%:*}" addr add "198.19.0.${s#*:}/24" dev "${PFX}${s%:*}"
	ipn "${s%:*}" link set "${PFX}${s%:*}" mtu 1420 up
done
peer() { "$WS" -j show "$1" | jq -c '.[0].peers[0]'; }
pf() { jq -r "$2" <<<"$1"; }
assert_eq "$("$WS" -j show "${PFX}b" | jq .[0].max_packet_size)" 1280 "b's max_packet_size"
wait_for 15 n a ping -c 1 -W 1 198.19.0.2 || fail "no tunnel through the impaired path"
b_ctl_rx() { [ "$(peer "${PFX}b" | jq .control.rx)" -gt 0 ]; }
wait_for 10 b_ctl_rx || fail "b received no control message"
resets_a=$(pf "$(peer "${PFX}a")" .control.resets)
resets_b=$(pf "$(peer "${PFX}b")" .control.resets)

# transfer FROM TO TO_ADDR BYTES SECONDS [SOCAT_OPTS]: TCP with a checksum; sets $secs.
transfer() {
	local from=$1 to=$2 addr=$3 bytes=$4 limit=$5 opts=${6:-} want rpid start
	head -c "$bytes" /dev/urandom >"$TMP/blob"
	want=$(sha256sum <"$TMP/blob" | cut -d' ' -f1)
	n "$to" socat -u "TCP-LISTEN:5001,bind=$addr,reuseaddr" "OPEN:$TMP/recv,creat,trunc" &
	rpid=$!
	PIDS+=($rpid)
	wait_for 5 n "$to" sh -c "ss -ltn | grep -q $addr:5001" || fail "receiver did not start"
	start=$(date +%s.%N)
	timeout "$limit" ip netns exec "$PFX$from" socat -u "OPEN:$TMP/blob" "TCP:$addr:5001$opts" ||
		fail "$from -> $to: $bytes bytes not sent in $limit s ($(stat -c %s "$TMP/recv" 2>/dev/null || echo 0) arrived)"
	wait $rpid
	secs=$(echo "$(date +%s.%N) - $start" | bc)
	assert_eq "$(sha256sum <"$TMP/recv" | cut -d' ' -f1)" "$want" "checksum of $bytes bytes $from -> $to"
	rm -f "$TMP/blob" "$TMP/recv"
}
rate() { echo "scale=2; $1 * 8 / $secs / 1000000" | bc; }

# (1) 10 MB from a to b through all the impairments.
transfer a b 198.19.0.2 "$SIZE" 90
log "(1) 10 MB TCP a -> b through 5% loss, 20+-5 ms, 5% reordering, 1% duplication:" \
	"checksum ok in $(printf %.1f "$secs") s ($(rate "$SIZE") Mbit/s);" \
	"nft dropped $(nft_count lost_c2s) a->b, $(nft_count lost_s2c) b->a"

pings() { # NS DST OUT: pings for CTL_SECONDS
	n "$1" ping -q -i 0.1 -w "$CTL_SECONDS" "$2" >"$3" 2>&1 || true
}
pings a 198.19.0.2 "$TMP/ping_a" &
p1=$!
pings b 198.19.0.1 "$TMP/ping_b"
wait $p1
ploss() { sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$1"; }
log "(1) $CTL_SECONDS s of pings through the same path: $(ploss "$TMP/ping_a")% lost a -> b, $(ploss "$TMP/ping_b")% b -> a"

# (2) Fragmented, from b to a, without the loss.
n r nft flush chain inet wsloss loss
frag0=$(nft_count frag_full); big0=$(nft_count too_big)
# SO_MAX_PACING_RATE (SOL_SOCKET 1, option 47), bytes per second.
transfer b a 198.19.0.1 "$FRAG_SIZE" 60 ",setsockopt-int=1:47:2000000"
frag=$(( $(nft_count frag_full) - frag0 ))
assert_eq "$(( $(nft_count too_big) - big0 ))" 0 "datagrams from b above 1280 bytes"
[ "$frag" -ge $((FRAG_SIZE / 1420)) ] || fail "$frag fragments of 1280 bytes from b, want >= $((FRAG_SIZE / 1420))"
log "(2) 4 MB TCP b -> a, every full-size packet in two fragments ($frag of 1280 bytes), 20+-5 ms," \
	"5% reordering, 1% duplication, paced at 16 Mbit/s: checksum ok in $(printf %.1f "$secs") s ($(rate "$FRAG_SIZE") Mbit/s)"

# (3) Channel 0 lost nothing: once it drains, what one side sent the other delivered.
ctl_drained() {
	local pa pb
	pa=$(peer "${PFX}a"); pb=$(peer "${PFX}b")
	[ "$(pf "$pa" .control.tx)" = "$(pf "$pb" .control.rx)" ] && [ "$(pf "$pb" .control.tx)" = "$(pf "$pa" .control.rx)" ]
}
wait_for 15 ctl_drained || fail "control channel: a $(peer "${PFX}a" | jq -c .control), b $(peer "${PFX}b" | jq -c .control)"
pa=$(peer "${PFX}a"); pb=$(peer "${PFX}b")
assert_eq "$(pf "$pa" .control.resets)" "$resets_a" "a's control resets"
assert_eq "$(pf "$pb" .control.resets)" "$resets_b" "b's control resets"
[ "$(pf "$pa" .control.tx)" -gt 0 ] && [ "$(pf "$pb" .control.tx)" -gt 0 ] || fail "no control traffic"
assert_eq "$(pf "$pa" .connected)$(pf "$pb" .connected)" truetrue "both connected"

kill -USR1 "$relay"
wait_for 5 grep -q '^wsrelay: SIGUSR1 ' "$TMP/relay.log" || fail "no relay counters"
rf() { grep "^wsrelay: $1" "$TMP/relay.log" | tail -n 1 | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }
log "relay: duplicated $(rf c2s duplicated)/$(rf s2c duplicated), reordered $(rf c2s reordered)/$(rf s2c reordered) (a->b/b->a)"
log "(3) control channel: a sent $(pf "$pa" .control.tx) (b delivered $(pf "$pb" .control.rx)), b sent $(pf "$pb" .control.tx)" \
	"(a delivered $(pf "$pa" .control.rx)); retransmits a $(pf "$pa" .control.retransmits) b $(pf "$pb" .control.retransmits);" \
	"resets unchanged ($resets_a, $resets_b); rtt a $(pf "$pa" .rtt_us) us b $(pf "$pb" .rtt_us) us"
