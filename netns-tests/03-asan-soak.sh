#!/bin/bash
# SPDX-License-Identifier: MIT
# Both daemons built with ASan+UBSan carry a TCP stream and a 64-byte UDP flood
# at the same time for SOAK_SECONDS (default 30); then they stop cleanly and
# neither sanitizer reported anything (leaks included).
#
#   [a] 198.18.0.1 ---veth--- 198.18.0.2 [b]      tunnel 198.19.0.1 <-> 198.19.0.2
source "$(dirname "$0")/lib.sh"
SOAK_SECONDS=${SOAK_SECONDS:-30}
WSD=$BUILD/asan/wsd
[ -x "$WSD" ] || fail "no ASan daemon at $WSD (make $WSD)"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
ka=$(genkey); kb=$(genkey)
write_conf "$TMP/a.conf" "$ka" 51820 "$(pubkey <<<"$kb")" "198.19.0.2/32" "198.18.0.2:51820"
write_conf "$TMP/b.conf" "$kb" 51820 "$(pubkey <<<"$ka")" "198.19.0.1/32" "198.18.0.1:51820"
start_wsd a "$TMP/a.conf" "${PFX}a" -m 1420
start_wsd b "$TMP/b.conf" "${PFX}b" -m 1420
for s in a:1 b:2; do
	ns=${s%:*}
	ipn "$ns" addr add "198.19.0.${s#*:}/24" dev "${PFX}$ns"
	ipn "$ns" link set "${PFX}$ns" mtu 1420 up
done
wait_for 10 n a ping -c 1 -W 1 198.19.0.2 || fail "no tunnel"

n b iperf3 -s -p 5201 -B 198.19.0.2 -1 >/dev/null 2>&1 &
PIDS+=($!)
n b iperf3 -s -p 5202 -B 198.19.0.2 -1 >/dev/null 2>&1 &
PIDS+=($!)
wait_for 5 n b sh -c "ss -ltn | grep -q 198.19.0.2:5202"
n a timeout $((SOAK_SECONDS + 20)) iperf3 -c 198.19.0.2 -p 5201 -t "$SOAK_SECONDS" >"$TMP/tcp.txt" 2>&1 &
tcp=$!
n a timeout $((SOAK_SECONDS + 20)) iperf3 -c 198.19.0.2 -p 5202 -u -l 64 -b 200M -t "$SOAK_SECONDS" >"$TMP/udp.txt" 2>&1 &
udp=$!
wait $tcp || { cat "$TMP/tcp.txt"; fail "TCP stream failed"; }
wait $udp || { cat "$TMP/udp.txt"; fail "UDP flood failed"; }
log "TCP: $(grep -E 'receiver' "$TMP/tcp.txt" | awk '{print $7, $8}')"
log "UDP 64 B: $(grep -E 'receiver' "$TMP/udp.txt" | awk '{print $7, $8, $(NF-1), $NF}')"
n a ping -c 2 -W 2 198.19.0.2 >/dev/null || fail "tunnel dead after the soak"

# Clean stop: a sanitizer report makes the daemon exit 99 (or abort).
for ifn in "${PFX}a" "${PFX}b"; do
	eval "pid=\$WSD_PID_$ifn"
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	if [ "$rc" != 0 ] || grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$TMP/$ifn.log"; then
		tail -50 "$TMP/$ifn.log" >&2
		fail "$ifn: sanitizer report or exit status $rc"
	fi
done
PIDS=()
log "no sanitizer report from either daemon"
