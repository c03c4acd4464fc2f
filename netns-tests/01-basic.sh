#!/bin/bash
# SPDX-License-Identifier: MIT
# Basic tunnel between two namespaces, daemons started directly (wsd -f).
#
#   [a] 198.18.0.1/24 ----veth---- 198.18.0.2/24 [b]
#        fd18::1/64                 fd18::2/64
#   tunnel a: 198.19.0.1/24 fd19::1/64      tunnel b: 198.19.0.2/24 fd19::2/64
#
# ping both ways over v4 and v6 overlays (and over a v6 underlay), a 100 MB TCP
# transfer with its checksum, the control socket's view (connected, handshake,
# RTT), then kill -9 b's daemon, restart it, and traffic resumes with nothing
# done on a.
source "$(dirname "$0")/lib.sh"

ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
ipn a addr add fd18::1/64 dev "${PFX}va" nodad
ipn b addr add fd18::2/64 dev "${PFX}vb" nodad

ka=$(genkey); kb=$(genkey)
pa=$(pubkey <<<"$ka"); pb=$(pubkey <<<"$kb")
write_conf "$TMP/a.conf" "$ka" 51820 "$pb" "198.19.0.2/32, fd19::2/128" "198.18.0.2:51820"
write_conf "$TMP/b.conf" "$kb" 51820 "$pa" "198.19.0.1/32, fd19::1/128" "[fd18::1]:51820"

up() { # up NS IFNAME V4 V6
	ipn "$1" addr add "$3/24" dev "$2"
	ipn "$1" addr add "$4/64" dev "$2" nodad
	ipn "$1" link set "$2" mtu 1420 up
}
start_wsd a "$TMP/a.conf" "${PFX}a" -m 1420
start_wsd b "$TMP/b.conf" "${PFX}b" -m 1420
up a "${PFX}a" 198.19.0.1 fd19::1
up b "${PFX}b" 198.19.0.2 fd19::2

# b speaks first, to its Endpoint [fd18::1]: the session runs over the IPv6
# underlay, and a learns b's address from it (a's own Endpoint for b is IPv4).
n b ping -c 3 -i 0.2 -W 2 fd19::1 >/dev/null
n a ping -c 3 -i 0.2 -W 2 198.19.0.2 >/dev/null
n b ping -c 3 -i 0.2 -W 2 198.19.0.1 >/dev/null
n a ping -c 3 -i 0.2 -W 2 fd19::2 >/dev/null
log "ping v4 and v6 both ways: ok"
assert_eq "$(ws_peer_field "${PFX}b" endpoint)" "[fd18::1]:51820" "b's endpoint for a"
assert_eq "$(ws_peer_field "${PFX}a" endpoint)" "[fd18::2]:51820" "a's endpoint for b (roaming)"
assert_eq "$(ws_peer_field "${PFX}a" connected)" "true" "a: peer connected"
[ "$(ws_peer_field "${PFX}a" last_handshake_time_sec)" -gt 0 ] || fail "no handshake time"
wait_for 10 sh -c "[ -n \"\$(printf 'get=1\n\n' | socat -t 5 - UNIX-CONNECT:/run/wiresocket/${PFX}a.sock | grep ^rtt_us=)\" ]" ||
	fail "no RTT after 10 s"

# 100 MB of TCP through the tunnel, checksummed.
head -c 100000000 /dev/urandom >"$TMP/blob"
want=$(sha256sum <"$TMP/blob" | cut -d' ' -f1)
n b socat -u TCP-LISTEN:5001,bind=198.19.0.2,reuseaddr "OPEN:$TMP/recv,creat,trunc" &
rpid=$!
PIDS+=($rpid)
wait_for 5 n b sh -c "ss -ltn | grep -q 198.19.0.2:5001"
start=$(date +%s.%N)
timeout 60 ip netns exec "${PFX}a" socat -u "OPEN:$TMP/blob" TCP:198.19.0.2:5001
wait $rpid
secs=$(echo "$(date +%s.%N) - $start" | bc)
got=$(sha256sum <"$TMP/recv" | cut -d' ' -f1)
assert_eq "$got" "$want" "checksum of 100 MB through the tunnel"
log "100 MB TCP: checksum ok ($(echo "scale=2; 800 / $secs" | bc) Mbit/s)"
rm -f "$TMP/blob" "$TMP/recv"

# Restart b's daemon the hard way; a is not touched.
eval "old=\$WSD_PID_${PFX}b"
kill -KILL "$old"; wait "$old" 2>/dev/null || true
start_wsd b "$TMP/b.conf" "${PFX}b" -m 1420
up b "${PFX}b" 198.19.0.2 fd19::2
wait_for 20 n b ping -c 1 -W 1 198.19.0.1 || fail "b -> a did not resume after restart"
wait_for 20 n a ping -c 1 -W 1 198.19.0.2 || fail "a -> b did not resume after restart"
log "restart of b: traffic resumed"
