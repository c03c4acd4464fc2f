#!/bin/bash
# SPDX-License-Identifier: MIT
# Hostile but legal traffic shapes through a tunnel of two ASan+UBSan daemons
# (TUN offloads on, as by default); afterwards neither sanitizer reported
# anything and the tunnel still carries a checksummed 10 MB TCP transfer.
#
#   [a] 198.18.0.1 ---veth--- 198.18.0.2 [b]
#   tunnel a: 198.19.0.1/24 fd19::1/64  <->  tunnel b: 198.19.0.2/24 fd19::2/64   (MTU 1420)
#
# 1. TCP with a tiny MSS, both ways (iperf3 -M, and -R): MSS 88 makes every
#    64 KB super-packet from the TUN about 860 segments (76 bytes of payload
#    after the TCP timestamps option), MSS 536 about 125
#    (MSS="88 536" by default; the environment may name others).
# 2. 64 KiB UDP datagrams (iperf3 -u -l 65507) and 65000-byte pings over
#    IPv4 and IPv6: IP fragments, 46 of them per datagram, through the tunnel.
# 3. IPv6 extension headers (wsraw: hop-by-hop, destination options, an
#    atomic fragment header, a chain of all of them, eight destination
#    options headers), every datagram delivered and its headers seen intact
#    by nftables in b; fragmented ICMPv6 (ping -6 -s 3000); IPv4 options
#    (ping -R, ping -T tsonly).
# 4. ICMP echo of every size from 0 to the MTU (IPv4: 0..1392, IPv6:
#    0..1372 bytes of payload), each answered with its payload (wsraw -m echo).
# 5. Bad checksums (wsraw on a raw socket in a, to b through the tunnel): of
#    16 same-size UDP datagrams of one flow (what the receive side coalesces),
#    3 with a wrong checksum, over IPv4 and IPv6: exactly the 13 good ones
#    reach b's socket and b's kernel counts exactly 3 checksum errors (a bad
#    one merged into good ones would come out with a fresh, valid checksum);
#    4 TCP SYNs, 2 of them bad: exactly 2 TCP checksum errors in b.
# 6. 10 MB of TCP a -> b with the right checksum; both daemons stop cleanly.
# After every step both daemons must still run, with no sanitizer report.
source "$(dirname "$0")/lib.sh"
WSD=$BUILD/asan/wsd
RAW=$TOOLS/wsraw
MSS=${MSS:-88 536}
[ -x "$WSD" ] || fail "no ASan daemon at $WSD (make $WSD)"
[ -x "$RAW" ] || fail "no $RAW (make $RAW)"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
A=${PFX}a B=${PFX}b

for args in "-m udp -s 198.19.0.1 -d 192.0.2.1:9" "-m syn -s 10.0.0.1 -d 198.19.0.2:9" \
	"-m udp -s 2001:db8::1 -d [fd19::2]:9" "-m recv -b 0.0.0.0:9" "-m echo -d 8.8.8.8 -l 1"; do
	rc=0; "$RAW" $args >/dev/null 2>&1 || rc=$?
	assert_eq "$rc" 2 "wsraw $args (outside the test ranges)"
done

ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
ka=$(genkey); kb=$(genkey)
write_conf "$TMP/a.conf" "$ka" 51820 "$(pubkey <<<"$kb")" "198.19.0.2/32, fd19::2/128" "198.18.0.2:51820"
write_conf "$TMP/b.conf" "$kb" 51820 "$(pubkey <<<"$ka")" "198.19.0.1/32, fd19::1/128" "198.18.0.1:51820"
start_wsd a "$TMP/a.conf" "$A" -m 1420
start_wsd b "$TMP/b.conf" "$B" -m 1420
for s in a:1 b:2; do
	ns=${s%:*}
	ipn "$ns" addr add "198.19.0.${s#*:}/24" dev "${PFX}$ns"
	ipn "$ns" addr add "fd19::${s#*:}/64" dev "${PFX}$ns" nodad
	ipn "$ns" link set "${PFX}$ns" mtu 1420 up
done
wait_for 10 n a ping -c 1 -W 1 198.19.0.2 || fail "no tunnel"

# Both daemons alive and their logs free of sanitizer reports, after STEP.
sane() {
	local ifn pid
	for ifn in "$A" "$B"; do
		eval "pid=\$WSD_PID_$ifn"
		if ! kill -0 "$pid" 2>/dev/null || grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$TMP/$ifn.log"; then
			tail -40 "$TMP/$ifn.log" >&2
			fail "$1: $ifn's daemon died or its sanitizer reported (log above)"
		fi
	done
}
# One iperf3 server per run in b (-1), bounded; the client's JSON in $TMP/iperf.json.
iperf() { # iperf NAME ARGS...
	local name=$1 srv
	shift
	n b timeout 30 iperf3 -s -1 -p 5201 -B "$IPERF_DST" >/dev/null 2>&1 &
	srv=$!
	PIDS+=($srv)
	wait_for 5 n b sh -c "ss -ltn | grep -qF '$IPERF_DST:5201'" || fail "$name: iperf3 server did not start"
	n a timeout 25 iperf3 -c "$IPERF_DST" -p 5201 -J --connect-timeout 3000 "$@" >"$TMP/iperf.json" 2>"$TMP/iperf.err" ||
		{ sane "$name"; cat "$TMP/iperf.err" "$TMP/iperf.json" >&2; fail "$name: iperf3 failed"; }
	wait "$srv" || true
	sane "$name"
}
ping_all() { # ping_all NAME ARGS...: every echo answered
	local name=$1
	shift
	n a ping -q "$@" >"$TMP/ping.txt" 2>&1 || { sane "$name"; cat "$TMP/ping.txt" >&2; fail "$name: pings lost"; }
	sane "$name"
}

# ---- 1. TCP with a tiny MSS, both ways ----------------------------------------------
IPERF_DST=198.19.0.2
for m in $MSS; do
	for dir in a-b b-a; do
		iperf "MSS $m $dir" -M "$m" -t 3 $([ $dir = a-b ] || echo -R)
		mbit=$(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$TMP/iperf.json")
		[ "$mbit" -gt 0 ] || fail "MSS $m $dir: nothing received"
		log "1. TCP MSS $m, ${dir/-/ -> }: $mbit Mbit/s"
	done
done

# ---- 2. 64 KiB UDP datagrams and IP fragments -----------------------------------------
iperf "UDP 65507" -u -l 65507 -b 50M -t 3
got=$(jq '.end.sum.packets - .end.sum.lost_packets' "$TMP/iperf.json")
[ "$got" -gt 0 ] || fail "no 65507-byte UDP datagram arrived"
log "2. UDP, 65507-byte datagrams at 50 Mbit/s: $got of $(jq .end.sum.packets "$TMP/iperf.json") arrived"
ping_all "ping -s 65000" -c 3 -i 0.2 -W 3 -s 65000 198.19.0.2
ping_all "ping -6 -s 65000" -c 3 -i 0.2 -W 3 -s 65000 fd19::2
log "2. 65000-byte pings over IPv4 and IPv6 (fragmented): all answered"

# ---- 3. IPv6 extension headers, IPv4 options ---------------------------------------------
n b nft -f - <<EOF
table inet wsshape {
	counter with_hbh {}
	counter with_dst {}
	counter with_frag {}
	chain pre {
		type filter hook prerouting priority 0; policy accept;
		iifname "$B" udp dport 7000 exthdr hbh exists counter name with_hbh
		iifname "$B" udp dport 7000 exthdr dst exists counter name with_dst
		iifname "$B" udp dport 7000 exthdr frag exists counter name with_frag
	}
}
EOF
nft_count() { n b nft list counter inet wsshape "$1" | awk '/packets/ { print $2; exit }'; }
# recv_start ADDR:PORT COUNT [SECONDS]: a wsraw receiver in b until COUNT datagrams
# came or SECONDS (5) passed; results in $TMP/recv.txt.
recv_start() {
	rm -f "$TMP/recv.txt"   # before the child opens it: no "ready" of the last one
	ip netns exec "${PFX}b" "$RAW" -m recv -b "$1" -n "$2" -t "${3:-5}" >"$TMP/recv.txt" &
	RECV_PID=$!
	PIDS+=($RECV_PID)
	wait_for 5 grep -q ready "$TMP/recv.txt" || fail "wsraw receiver did not start"
}
# recv_wait: wait for it (not in a subshell: it is this shell's child); RECEIVED is its count.
recv_wait() { wait "$RECV_PID" || true; RECEIVED=$(awk '/^received/ { print $2 }' "$TMP/recv.txt"); }
h0=$(nft_count with_hbh) d0=$(nft_count with_dst) f0=$(nft_count with_frag)
for chain in h o f hof oooooooo; do
	recv_start '[fd19::2]:7000' 10
	n a "$RAW" -m udp -s fd19::1 -d '[fd19::2]:7000' -n 10 -l 200 -e "$chain" >/dev/null || fail "wsraw -e $chain"
	recv_wait
	assert_eq "$RECEIVED" 10 "datagrams with extension headers '$chain' delivered"
	sane "extension headers $chain"
done
# h, hof: hop-by-hop; o, hof, oooooooo: destination options; f, hof: fragment.
assert_eq "$(( $(nft_count with_hbh) - h0 )) $(( $(nft_count with_dst) - d0 )) $(( $(nft_count with_frag) - f0 ))" "20 30 20" \
	"datagrams seen in b with a hop-by-hop, a destination options, a fragment header"
ping_all "ping -6 -s 3000" -c 3 -i 0.2 -W 2 -s 3000 fd19::2
ping_all "ping -R" -c 3 -i 0.2 -W 2 -R 198.19.0.2
ping_all "ping -T tsonly" -c 3 -i 0.2 -W 2 -T tsonly 198.19.0.2
log "3. IPv6 hop-by-hop, destination options, atomic fragment, chains of them: all delivered intact;" \
	"fragmented ICMPv6, IPv4 record-route and timestamp options: all answered"

# ---- 4. ICMP of every size up to the MTU ---------------------------------------------------
sweep() { # sweep DST MAX: one echo of each payload size 0..MAX, each answered with its payload (wsraw)
	n a "$RAW" -m echo -d "$1" -l "$2" -t 3 >"$TMP/sweep" ||
		{ sane "ICMP sweep $1"; cat "$TMP/sweep" >&2; fail "ICMP echo of every size to $1"; }
	sane "ICMP sweep $1"
}
t=$(ms_now)
sweep 198.19.0.2 $((1420 - 28))
sweep fd19::2 $((1420 - 48))
log "4. ICMP echo of every size, 0..1392 bytes (IPv4) and 0..1372 (IPv6): all answered in $(( $(ms_now) - t )) ms"

# ---- 5. bad checksums ---------------------------------------------------------------------------
# snmp ROW FIELD, snmp6 FIELD: a counter of b's /proc/net/snmp (two-line rows), /proc/net/snmp6.
snmp() { n b awk -v r="$1" -v f="$2" '$1 == r":" { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 } else print $c[f] }' /proc/net/snmp; }
snmp6() { n b awk -v f="$1" '$1 == f { print $2 }' /proc/net/snmp6; }
for fam in 4 6; do
	if [ $fam = 4 ]; then src=198.19.0.1 dst=198.19.0.2 dstp=198.19.0.2:7001; else src=fd19::1 dst=fd19::2 dstp='[fd19::2]:7001'; fi
	# Both MIBs: measured on kernel 6.18, the bad IPv6 datagrams are counted under
	# Udp InCsumErrors, not Udp6InCsumErrors.
	errs() { echo $(( $(snmp Udp InCsumErrors) + $(snmp6 Udp6InCsumErrors) )); }
	e0=$(errs)
	recv_start "$dstp" 16 2
	n a "$RAW" -m udp -s "$src" -d "$dstp" -n 16 -l 1000 -x 3,8,15 >/dev/null || fail "wsraw bad UDP checksums (IPv$fam)"
	recv_wait
	assert_eq "$RECEIVED" 13 "good UDP datagrams delivered of 16 (IPv$fam)"
	assert_eq "$(( $(errs) - e0 ))" 3 "UDP checksum errors counted in b (IPv$fam)"
	sane "bad UDP checksums IPv$fam"
done
t0=$(snmp Tcp InCsumErrors)
n a "$RAW" -m syn -s 198.19.0.1 -d 198.19.0.2:7002 -n 4 -x 1,2 >/dev/null || fail "wsraw bad TCP checksums"
tcp_errs() { [ "$(( $(snmp Tcp InCsumErrors) - t0 ))" -ge 2 ]; }
wait_for 3 tcp_errs || true
assert_eq "$(( $(snmp Tcp InCsumErrors) - t0 ))" 2 "TCP checksum errors counted in b"
sane "bad TCP checksums"
log "5. bad checksums: 13 of 16 UDP datagrams delivered and 3 checksum errors in b (IPv4 and IPv6), 2 bad TCP SYNs of 4 counted"

# ---- 6. still a working tunnel ---------------------------------------------------------------------
head -c 10000000 /dev/urandom >"$TMP/blob"
want=$(sha256sum <"$TMP/blob" | cut -d' ' -f1)
n b socat -u TCP-LISTEN:5001,bind=198.19.0.2,reuseaddr "OPEN:$TMP/recv,creat,trunc" &
rpid=$!
PIDS+=($rpid)
wait_for 5 n b sh -c "ss -ltn | grep -qF 198.19.0.2:5001" || fail "receiver did not start"
timeout 60 ip netns exec "${PFX}a" socat -u "OPEN:$TMP/blob" TCP:198.19.0.2:5001 || { sane "10 MB"; fail "10 MB a -> b not sent"; }
wait $rpid
assert_eq "$(sha256sum <"$TMP/recv" | cut -d' ' -f1)" "$want" "checksum of 10 MB a -> b after the shapes"
sane "10 MB transfer"
log "6. 10 MB of TCP a -> b after all the shapes: checksum ok"

# Clean stop: a sanitizer report makes the daemon exit 99 (or abort).
for ifn in "$A" "$B"; do
	eval "pid=\$WSD_PID_$ifn"
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	if [ "$rc" != 0 ] || grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$TMP/$ifn.log"; then
		tail -50 "$TMP/$ifn.log" >&2
		fail "$ifn: sanitizer report or exit status $rc"
	fi
done
PIDS=()
log "hostile shapes: no sanitizer report from either daemon, both stopped cleanly"
