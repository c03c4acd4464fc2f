#!/bin/bash
# SPDX-License-Identifier: MIT
# A handshake flood turns cookies on, costs bounded CPU, and a legitimate peer
# still gets through.
#
#   [f] 198.18.1.1 ---veth--- 198.18.1.2 [s] 198.18.2.2 ---veth--- 198.18.2.1 [c]
#   wsflood                                 wsd s 198.19.0.1            wsd c 198.19.0.2
#
# wsflood in f sends HandshakeInits with random keys and a valid MAC1 for s
# at 10,000/s in bursts of 256 for FLOOD_SECONDS. Once s has sent its first
# CookieReply, c's daemon starts (its Endpoint is s) and pings s: it must
# complete a handshake and get an echo back while the flood still runs,
# within CONNECT_BOUND seconds of its start. (A HandshakeInit that meets the
# flood gets a CookieReply, and DECISIONS 29 makes the retry wait for the 5 s
# handshake timer, so the bound is two of those periods, not one.)
# Asserted too: wsflood got CookieReplies that decrypt, s counted them
# (cookie_replies_sent), s's CPU over the flood stays below CPU_BOUND
# CPU-seconds per second, and s is alive. Printed: flood rate, cookies, CPU,
# connect time.
source "$(dirname "$0")/lib.sh"
FLOOD_SECONDS=${FLOOD_SECONDS:-15}
CONNECT_BOUND=${CONNECT_BOUND:-12}
CPU_BOUND=1.5
FLOOD=$TOOLS/wsflood
[ -x "$FLOOD" ] || fail "no $FLOOD (make $FLOOD)"

ns_add f s c
veth f fs s sf
veth s sc c cs
ipn f addr add 198.18.1.1/24 dev "${PFX}fs"
ipn s addr add 198.18.1.2/24 dev "${PFX}sf"
ipn s addr add 198.18.2.2/24 dev "${PFX}sc"
ipn c addr add 198.18.2.1/24 dev "${PFX}cs"

ks=$(genkey); kc=$(genkey)
ps=$(pubkey <<<"$ks")
write_conf "$TMP/s.conf" "$ks" 51820 "$(pubkey <<<"$kc")" "198.19.0.2/32"
write_conf "$TMP/c.conf" "$kc" 51820 "$ps" "198.19.0.1/32" "198.18.2.2:51820"
start_wsd s "$TMP/s.conf" "${PFX}s" -m 1420
ipn s addr add 198.19.0.1/24 dev "${PFX}s"
ipn s link set "${PFX}s" mtu 1420 up
eval "spid=\$WSD_PID_${PFX}s"
assert_eq "$(cat "/proc/$spid/comm")" wsd "process measured"

field() { ws_get "$1" | awk -F= -v f="$2" '$1 == f { print $2; exit }'; }
word() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) v = $(i + 1) } END { print v }' "$2"; }
# CPU ticks (user + system) of a process, and the clock tick rate.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
now() { date +%s.%N; }
cookies_sent() { [ "$(field "${PFX}s" cookie_replies_sent)" -gt 0 ]; }

assert_eq "$(field "${PFX}s" cookie_replies_sent)" 0 "cookie replies before the flood"
cpu0=$(cpu_ticks "$spid"); t0=$(now)
ip netns exec "${PFX}f" "$FLOOD" -s 198.18.1.2:51820 -k "$ps" -r 10000 -B 256 -n 1000000 \
	-t "$FLOOD_SECONDS" -w 300 >"$TMP/flood.out" &
fpid=$!
PIDS+=($fpid)
wait_for 5 cookies_sent || fail "s sent no CookieReply within 5 s of the flood's start"
log "flood on: s is sending cookie replies"

# The legitimate peer starts now, under the flood.
tc0=$(now)
start_wsd c "$TMP/c.conf" "${PFX}c" -m 1420
ipn c addr add 198.19.0.2/24 dev "${PFX}c"
ipn c link set "${PFX}c" mtu 1420 up
connected=0
for ((i = 0; i < CONNECT_BOUND; i++)); do
	if n c ping -c 1 -W 1 198.19.0.1 >/dev/null 2>&1; then connected=1; break; fi
	[ "$(echo "$(now) - $tc0 < $CONNECT_BOUND" | bc)" = 1 ] || break
done
connect_s=$(printf %.2f "$(echo "$(now) - $tc0" | bc)")
flood_running=0
kill -0 "$fpid" 2>/dev/null && flood_running=1
[ "$connected" = 1 ] || fail "c got no echo from s within $CONNECT_BOUND s under the flood"
assert_eq "$flood_running" 1 "flood still running when c got through"
c_peer=$("$WS" -j show "${PFX}c" | jq -c '.[0].peers[0]')
log "c: echo from s after $connect_s s (handshakes initiated $(jq .handshakes.initiated <<<"$c_peer")," \
	"completed $(jq .handshakes.completed <<<"$c_peer"))"

rc=0; wait "$fpid" || rc=$?
cpu1=$(cpu_ticks "$spid"); t1=$(now)
assert_eq "$rc" 0 "wsflood exit status"
kill -0 "$spid" || fail "wsd s died under the flood"
secs=$(echo "$t1 - $t0" | bc)
cpu_s=$(printf %.2f "$(echo "scale=3; ($cpu1 - $cpu0) / $HZ" | bc)")
cpu_rate=$(printf %.3f "$(echo "scale=4; $cpu_s / $secs" | bc)")
sent=$(word sent "$TMP/flood.out"); rate=$(word rate "$TMP/flood.out")
cookies=$(word cookie_replies "$TMP/flood.out"); valid=$(word cookie_valid "$TMP/flood.out")
daemon=$(field "${PFX}s" cookie_replies_sent)
log "flood: sent $sent at $rate pps; wsflood got $cookies cookie replies ($valid decrypt); s counted $daemon;" \
	"s used $cpu_s CPU-s in $(printf %.1f "$secs") s = $cpu_rate CPU-s/s (bound $CPU_BOUND);" \
	"rate limited $(field "${PFX}s" handshakes_rate_limited), inbox dropped $(field "${PFX}s" inbox_dropped)"
[ "$cookies" -gt 0 ] || fail "wsflood saw no CookieReply"
assert_eq "$valid" "$cookies" "cookie replies that decrypt under our MAC1"
[ "$daemon" -ge "$cookies" ] || fail "s counted $daemon cookie replies, wsflood received $cookies"
[ "$(echo "$cpu_rate < $CPU_BOUND" | bc)" = 1 ] || fail "s used $cpu_rate CPU-s per second of flood (bound $CPU_BOUND)"
# The legitimate session outlived the flood.
n c ping -c 2 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "c -> s after the flood"
assert_eq "$(ws_peer_field "${PFX}s" connected)" true "s: c connected"
