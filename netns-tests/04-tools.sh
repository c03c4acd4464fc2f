#!/bin/bash
# SPDX-License-Identifier: MIT
# The test tools themselves: wsrelay (impairment relay acting as a NAT) and
# wsflood (paced sender: handshake flood, replay, numbered probes).
#
#   [c] 198.18.1.1 ---veth--- 198.18.1.2 [r] 198.18.2.1 ---veth--- 198.18.2.2 [s]
#       fd18:1::1              fd18:1::2      198.18.2.3             fd18:2::2
#                                             fd18:2::1
#   s has no route to 198.18.1.0/24 (nor fd18:1::/64): replies reach c only
#   through the relay's mappings. s runs a UDP echo (socat), a sink and wsd.
#
# (a) relay without impairment: 1000 numbered datagrams come back complete and
#     in order, over IPv4 and IPv6; two clients at once get their own echoes
#     (two mappings); s sees only the relay's address, and -b moves it; the
#     counters come on SIGUSR1 and on exit.
# (b) relay with -x 10 -u 5 -r 10 -d 5 -j 3 and a fixed seed: loss, duplicates
#     and reordering in plausible amounts, and the same seed gives the same
#     decisions.
# (c) wsflood against a sink: the -t bound (sent within 30% of RATE x t), the
#     -n bound, replay mode, and refusal of addresses outside the test ranges.
# (d) wsflood at 10000/s (bursts of 256, so the queue passes 128 on a fast machine too) for 3 s against wsd: cookie replies come back and
#     wsd counts them (cookie_replies_sent).
source "$(dirname "$0")/lib.sh"

RELAY=$TOOLS/wsrelay
FLOOD=$TOOLS/wsflood
[ -x "$RELAY" ] && [ -x "$FLOOD" ] || fail "no tools in $TOOLS (make $TOOLS/wsrelay $TOOLS/wsflood)"

ns_add c r s
veth c cr r rc
veth r rs s sr
ipn c addr add 198.18.1.1/24 dev "${PFX}cr"
ipn r addr add 198.18.1.2/24 dev "${PFX}rc"
ipn r addr add 198.18.2.1/24 dev "${PFX}rs"
ipn r addr add 198.18.2.3/24 dev "${PFX}rs"
ipn s addr add 198.18.2.2/24 dev "${PFX}sr"
ipn c addr add fd18:1::1/64 dev "${PFX}cr" nodad
ipn r addr add fd18:1::2/64 dev "${PFX}rc" nodad
ipn r addr add fd18:2::1/64 dev "${PFX}rs" nodad
ipn s addr add fd18:2::2/64 dev "${PFX}sr" nodad

# Where s's UDP comes from, counted by nftables in s.
n s nft -f - <<'EOF'
table inet wstools {
	counter from_relay_a {}
	counter from_relay_b {}
	counter from_relay_v6 {}
	counter from_client_net {}
	counter sink {}
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr 198.18.2.1 udp dport 7000 counter name from_relay_a
		ip saddr 198.18.2.3 udp dport 7000 counter name from_relay_b
		ip6 saddr fd18:2::1 udp dport 7000 counter name from_relay_v6
		ip saddr 198.18.1.0/24 counter name from_client_net
		ip6 saddr fd18:1::/64 counter name from_client_net
		udp dport 9000 counter name sink
	}
}
EOF
nft_count() { n s nft list counter inet wstools "$1" | awk '/packets/ { print $2; exit }'; }

# field LINE_PREFIX KEY FILE: value of KEY=V on the last line starting with LINE_PREFIX.
field() { grep "^$1" "$3" | tail -n 1 | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }
# word KEY FILE: the number after KEY on wsflood's output lines.
word() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) v = $(i + 1) } END { print v }' "$2"; }
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ] || fail "$4: $1 not in [$2, $3]"; }

# UDP echo servers on s (wsflood -m echo: one socket, replies in arrival order
# to each source), and a sink.
ip netns exec "${PFX}s" "$FLOOD" -m echo -b 198.18.2.2:7000 -t 55 >"$TMP/echo4.out" &
PIDS+=($!)
ip netns exec "${PFX}s" "$FLOOD" -m echo -b '[fd18:2::2]:7000' -t 55 >"$TMP/echo6.out" &
PIDS+=($!)
ip netns exec "${PFX}s" socat -u UDP4-RECV:9000,bind=198.18.2.2 OPEN:/dev/null &
PIDS+=($!)
wait_for 5 n s sh -c "ss -uln | grep -q 198.18.2.2:9000 && ss -uln | grep -q 198.18.2.2:7000 && ss -uln | grep -q '\[fd18:2::2\]:7000'" ||
	fail "echo servers or sink did not start"

# start_relay NAME LISTEN_PORT ARGS...: wsrelay in r, stderr to $TMP/NAME.log, pid in RELAY_PID.
start_relay() {
	local name=$1 port=$2
	shift 2
	ip netns exec "${PFX}r" "$RELAY" -t 55 "$@" 2>"$TMP/$name.log" &
	RELAY_PID=$!
	PIDS+=($RELAY_PID)
	wait_for 5 n r sh -c "ss -uln | grep -q ':$port '" || { cat "$TMP/$name.log" >&2; fail "relay $name did not start"; }
}
stop_relay() { stop_pid "$RELAY_PID"; grep -q '^wsrelay: exit ' "$1" || fail "relay did not print its counters on exit"; }
# probe OUT ARGS...: numbered datagrams from c, echoes summarised in OUT.
probe() { local out=$1; shift; n c "$FLOOD" -m seq -w 1000 "$@" >"$out"; }
assert_clean() { # OUT COUNT: every datagram back once, in order, none foreign
	assert_eq "$(sed -n 's/^seq: //p' "$1")" "echoes $2 unique $2 missing 0 duplicates 0 reordered 0 foreign 0" "$1"
}

# --- (a) relay correctness without impairment -----------------------------------
start_relay plain 7001 -l 198.18.1.2:7001 -s 198.18.2.2:7000 -b 198.18.2.1
probe "$TMP/a1" -s 198.18.1.2:7001 -r 2000 -n 1000 -t 5
assert_clean "$TMP/a1" 1000
# Two clients at the same time: two mappings, each gets exactly its own echoes.
probe "$TMP/a2" -s 198.18.1.2:7001 -r 2000 -n 1000 -t 5 -l 64 &
p2=$!
probe "$TMP/a3" -s 198.18.1.2:7001 -r 2000 -n 1000 -t 5 -l 200
wait $p2 || fail "second concurrent probe"
assert_clean "$TMP/a2" 1000
assert_clean "$TMP/a3" 1000
kill -USR1 "$RELAY_PID"
wait_for 5 grep -q '^wsrelay: SIGUSR1 ' "$TMP/plain.log" || fail "no counters on SIGUSR1"
assert_eq "$(field 'wsrelay: SIGUSR1' created "$TMP/plain.log")" 3 "mappings created for 3 clients"
assert_eq "$(field 'wsrelay: c2s' received "$TMP/plain.log")" 3000 "relay c2s received"
assert_eq "$(field 'wsrelay: c2s' forwarded "$TMP/plain.log")" 3000 "relay c2s forwarded"
assert_eq "$(field 'wsrelay: c2s' dropped "$TMP/plain.log")" 0 "relay c2s dropped"
# NAT: s saw 3000 datagrams from the relay's outbound address, none from c's network.
assert_eq "$(nft_count from_relay_a)" 3000 "datagrams at s from 198.18.2.1"
assert_eq "$(nft_count from_client_net)" 0 "datagrams at s from c's network"
stop_relay "$TMP/plain.log"
log "(a) relay: 3 x 1000 datagrams back complete and in order, s saw only 198.18.2.1"

# -b moves the NAT's public address (what a roaming test does between two runs).
start_relay moved 7001 -l 198.18.1.2:7001 -s 198.18.2.2:7000 -b 198.18.2.3
probe "$TMP/a4" -s 198.18.1.2:7001 -r 2000 -n 300 -t 5
assert_clean "$TMP/a4" 300
assert_eq "$(nft_count from_relay_b)" 300 "datagrams at s from 198.18.2.3 (-b)"
assert_eq "$(nft_count from_relay_a)" 3000 "nothing more from 198.18.2.1"
stop_relay "$TMP/moved.log"

# IPv6 on both sides.
start_relay v6 7002 -l '[fd18:1::2]:7002' -s '[fd18:2::2]:7000' -b fd18:2::1
probe "$TMP/a5" -s '[fd18:1::2]:7002' -r 2000 -n 500 -t 5
assert_clean "$TMP/a5" 500
assert_eq "$(nft_count from_relay_v6)" 500 "datagrams at s from fd18:2::1"
assert_eq "$(nft_count from_client_net)" 0 "datagrams at s from c's network"
stop_relay "$TMP/v6.log"
log "(a) relay: -b moved the source to 198.18.2.3; IPv6 relay complete and in order"

# --- (b) impairments with a fixed seed ------------------------------------------
impaired_run() { # NAME: 1000 probes through -x 10 -u 5 -r 10 -d 5 -j 3 -S 7
	start_relay "$1" 7003 -l 198.18.1.2:7003 -s 198.18.2.2:7000 -x 10 -u 5 -r 10 -d 5 -j 3 -S 7
	probe "$TMP/$1.out" -s 198.18.1.2:7003 -r 1000 -n 1000 -t 5
	stop_relay "$TMP/$1.log"
}
impaired_run imp1
L=$TMP/imp1.log
for k in received lost duplicated delayed_for_reorder reordered forwarded full errors; do
	eval "c_$k=$(field 'wsrelay: c2s' $k "$L")"
	eval "s_$k=$(field 'wsrelay: s2c' $k "$L")"
done
assert_eq "$c_received" 1000 "relay c2s received"
between "$c_lost" 50 150 "c2s lost at 10%"
between "$c_duplicated" 20 80 "c2s duplicated at 5%"
between "$c_delayed_for_reorder" 50 160 "c2s delayed for reordering at 10%"
[ "$c_reordered" -gt 0 ] || fail "c2s: no packet was overtaken"
assert_eq "$c_full$c_errors$s_full$s_errors" 0000 "queue-full drops and send errors"
assert_eq "$c_forwarded" $((c_received - c_lost + c_duplicated)) "c2s forwarded = received - lost + duplicated"
[ "$s_lost" -gt 0 ] && [ "$s_duplicated" -gt 0 ] && [ "$s_reordered" -gt 0 ] || fail "s2c impairments: $(grep 's2c' "$L")"
miss=$(word missing "$TMP/imp1.out"); dups=$(word duplicates "$TMP/imp1.out"); reo=$(word reordered "$TMP/imp1.out")
between "$miss" 100 320 "probes missing after two 10% losses"
[ "$dups" -gt 0 ] && [ "$reo" -gt 0 ] || fail "probe saw no duplicates or no reordering: $(cat "$TMP/imp1.out")"
assert_eq "$(word foreign "$TMP/imp1.out")" 0 "foreign echoes"
# Same seed, same input: the same client-to-server decisions.
impaired_run imp2
for k in lost duplicated delayed_for_reorder; do
	assert_eq "$(field 'wsrelay: c2s' $k "$TMP/imp2.log")" "$(eval echo "\$c_$k")" "c2s $k with the same seed"
done
log "(b) impaired relay: c2s lost $c_lost duplicated $c_duplicated delayed $c_delayed_for_reorder reordered $c_reordered;" \
	"s2c lost $s_lost duplicated $s_duplicated reordered $s_reordered; probes missing $miss duplicates $dups reordered $reo;" \
	"same seed gave the same decisions"

# --- (c) wsflood bounds and rate against a sink ---------------------------------
key=$(genkey); pub=$(pubkey <<<"$key")
before=$(nft_count sink)
t0=$(date +%s%N)
n r "$FLOOD" -s 198.18.2.2:9000 -k "$pub" -r 5000 -n 1000000 -t 2 >"$TMP/c1"
secs=$(( ($(date +%s%N) - t0) / 1000000 ))
sent=$(word sent "$TMP/c1")
between "$sent" 7000 13000 "sent at 5000/s for 2 s"
between "$secs" 1900 4000 "wall time (ms) of a 2 s run"
assert_eq "$(( $(nft_count sink) - before ))" "$sent" "datagrams at the sink"
before=$(nft_count sink)
t0=$(date +%s%N)
n r "$FLOOD" -s 198.18.2.2:9000 -k "$pub" -r 5000 -n 500 -t 10 -w 0 >"$TMP/c2"
secs2=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_eq "$(word sent "$TMP/c2")" 500 "sent with -n 500"
between "$secs2" 50 1500 "wall time (ms) of 500 packets at 5000/s"
assert_eq "$(( $(nft_count sink) - before ))" 500 "datagrams at the sink"
# -c: a sink sends no cookie replies, so expecting one is exit status 1.
rc=0; n r "$FLOOD" -s 198.18.2.2:9000 -k "$pub" -r 1000 -n 10 -t 1 -w 100 -c 1 >/dev/null || rc=$?
assert_eq "$rc" 1 "wsflood -c 1 without cookie replies"
# Replay: the same bytes again and again.
head -c 148 /dev/urandom >"$TMP/capture"
before=$(nft_count sink)
n r "$FLOOD" -s 198.18.2.2:9000 -m replay -f "$TMP/capture" -r 1000 -n 50 -t 5 -w 0 >"$TMP/c3"
assert_eq "$(word sent "$TMP/c3")" 50 "replayed datagrams"
assert_eq "$(( $(nft_count sink) - before ))" 50 "replayed datagrams at the sink"
# Safety: nothing outside the test ranges, as destination or bind address.
for args in "-s 192.0.2.1:9000" "-s [2001:db8::1]:9000" "-s 198.18.2.2:9000 -b 10.0.0.1" "-s [::ffff:198.18.2.2]:9000"; do
	rc=0; n r "$FLOOD" $args -k "$pub" -n 1 -t 1 >/dev/null 2>&1 || rc=$?
	assert_eq "$rc" 2 "wsflood $args"
done
for args in "-l 198.18.1.2:7009 -s 192.0.2.1:9000" "-l 0.0.0.0:7009 -s 198.18.2.2:9000" "-l 198.18.1.2:7009 -s 198.18.2.2:9000 -b 10.0.0.1"; do
	rc=0; n r "$RELAY" $args -t 1 >/dev/null 2>&1 || rc=$?
	assert_eq "$rc" 2 "wsrelay $args"
done
log "(c) wsflood: $sent sent at 5000/s in 2 s ($(sed -n 's/.*rate \([0-9]*\) pps.*/\1/p' "$TMP/c1") pps), -n 500 stopped after ${secs2} ms," \
	"replay 50, all counted at the sink; out-of-range addresses refused (exit 2)"

# --- (d) handshake flood against wsd: cookies ------------------------------------
kpeer=$(genkey)
write_conf "$TMP/s.conf" "$key" 51820 "$(pubkey <<<"$kpeer")" "198.19.9.9/32"
start_wsd s "$TMP/s.conf" "${PFX}s"
ws_field() { ws_get "$1" | awk -F= -v f="$2" '$1 == f { print $2; exit }'; }
assert_eq "$(ws_field "${PFX}s" cookie_replies_sent)" 0 "cookie replies before the flood"
ip netns exec "${PFX}r" "$FLOOD" -s 198.18.2.2:51820 -k "$pub" -r 10000 -B 256 -n 30000 -t 3 -c 1 >"$TMP/d1" &
fpid=$!
maxq=0
for ((i = 0; i < 40; i++)); do
	q=$(ws_field "${PFX}s" handshake_queue || true)
	[ -n "$q" ] && [ "$q" -gt "$maxq" ] && maxq=$q
	kill -0 "$fpid" 2>/dev/null || break
	sleep 0.1
done
rc=0; wait "$fpid" || rc=$?
sed 's/^/    wsflood: /' "$TMP/d1" >&2
cookies=$(word cookie_replies "$TMP/d1")
valid=$(word cookie_valid "$TMP/d1")
sent_d=$(word sent "$TMP/d1")
rate_d=$(sed -n 's/.*rate \([0-9]*\) pps.*/\1/p' "$TMP/d1")
daemon=$(ws_field "${PFX}s" cookie_replies_sent)
log "(d) flood: sent $sent_d at $rate_d pps; wsflood got $cookies cookie replies ($valid decrypt);" \
	"wsd cookie_replies_sent $daemon; largest handshake_queue sampled $maxq"
[ "$cookies" -gt 0 ] && [ "$rc" = 0 ] ||
	fail "no cookie reply (exit $rc) at $rate_d pps; largest handshake_queue sampled $maxq (replies start above 128)"
[ "$daemon" -gt 0 ] || fail "wsd counted no cookie reply"
assert_eq "$valid" "$cookies" "cookie replies that decrypt under our MAC1"
assert_eq "$(word foreign "$TMP/d1")" 0 "replies from another address than wsd's"
kill -0 "$(eval echo "\$WSD_PID_${PFX}s")" || fail "wsd died under the flood"
log "tools: all checks passed"
