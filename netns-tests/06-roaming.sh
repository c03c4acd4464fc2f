#!/bin/bash
# SPDX-License-Identifier: MIT
# Roaming laptop: the client's public address and port change mid-transfer,
# then the server moves and its DNS name follows.
#
#   [c] 198.18.1.1/24 ---veth--- 198.18.1.2/24 [r] 198.18.2.1/24 ---veth--- 198.18.2.2/24 [s]
#       default via r                               198.18.2.3/24          (later 198.18.3.2/24,
#                                                   (later 198.18.3.1/24)   default via r)
#   r runs wsrelay (a NAT): listens on 198.18.1.2:51820, forwards to s from -b.
#   s has no route to c's network: c reaches it only through the relay.
#   tunnel c: 198.19.0.1/24, Endpoint = server.test:51820 (c's hosts file:
#             198.18.1.2, the relay), PersistentKeepalive = 5, no ListenPort
#   tunnel s: 198.19.0.2/24, ListenPort 51820, no Endpoint for c
#
# 1. The NAT rebinds mid-transfer: 20 MB of TCP from c to s, paced at 4 MB/s
#    (about 5 s), and when a quarter has arrived the relay is replaced by one
#    bound to 198.18.2.3 (a new mapping: new address, new port). s learns the
#    new endpoint from the first authenticated packet (ws show -j endpoint on
#    s: 198.18.2.1:P1 -> 198.18.2.3:P2, with no new handshake), and the
#    transfer completes with the right checksum.
# 2. The server moves: s's address becomes 198.18.3.2 (routed by r, no NAT),
#    the relay goes away, and server.test is rewritten in place to 198.18.3.2.
#    While c's user keeps trying (a ping a second), c declares the session
#    dead (15 s without a reply to its data), retries, re-resolves the name
#    before the attempt after the failed one (DECISIONS 29, 30), and
#    reconnects: asserted within 30 s (about 20 s by those rules); c's
#    endpoint becomes 198.18.3.2:51820 and s's becomes c's own 198.18.1.1.
#    Nothing is done on either daemon. (The ping makes the timing the same
#    as for a user; an idle client notices too, through its control-channel
#    pings, which count as data sent.)
source "$(dirname "$0")/lib.sh"

C=${PFX}c S=${PFX}s
RELAY=$TOOLS/wsrelay
[ -x "$RELAY" ] || fail "no $RELAY"
ns_add c r s
veth c c0 r r0
veth r r1 s s0
ipn c addr add 198.18.1.1/24 dev "${PFX}c0"
ipn c route add default via 198.18.1.2
ipn r addr add 198.18.1.2/24 dev "${PFX}r0"
ipn r addr add 198.18.2.1/24 dev "${PFX}r1"
ipn r addr add 198.18.2.3/24 dev "${PFX}r1"
ipn s addr add 198.18.2.2/24 dev "${PFX}s0"
n r sysctl -q net.ipv4.ip_forward=1

# c resolves server.test through its own hosts file (ip netns exec bind-mounts
# it); it is rewritten in place later, so the running daemon sees the change.
HOSTS=/etc/netns/${PFX}c/hosts
mkdir -p "/etc/netns/${PFX}c"
trap 'rm -rf "/etc/netns/${PFX}c"; cleanup' EXIT
printf '127.0.0.1 localhost\n198.18.1.2 server.test\n' >"$HOSTS"

kc=$(genkey); ks=$(genkey)
pc=$(pubkey <<<"$kc"); ps=$(pubkey <<<"$ks")
write_conf "$TMP/s.conf" "$ks" 51820 "$pc" "198.19.0.1/32"
cat >"$TMP/c.conf" <<EOF
[Interface]
PrivateKey = $kc
[Peer]
PublicKey = $ps
AllowedIPs = 198.19.0.2/32
Endpoint = server.test:51820
PersistentKeepalive = 5
EOF
chmod 600 "$TMP/c.conf"

# start_relay BIND: the NAT, from 198.18.1.2:51820 to s, outbound from BIND.
start_relay() {
	ip netns exec "${PFX}r" "$RELAY" -l 198.18.1.2:51820 -s 198.18.2.2:51820 -b "$1" -t 80 2>>"$TMP/relay.log" &
	RELAY_PID=$!
	PIDS+=("$RELAY_PID")
	wait_for 5 n r sh -c "ss -uln | grep -q '198.18.1.2:51820 '" || { cat "$TMP/relay.log" >&2; fail "relay did not start"; }
}
hs_completed() { pj "$1" handshakes | jq -r .completed; }
addr_of() { echo "${1%:*}"; }

# The TUN's MTU is the daemon's -m (as wsup sets it).
start_wsd s "$TMP/s.conf" "$S" -m 1420
start_relay 198.18.2.1
start_wsd c "$TMP/c.conf" "$C" -m 1420
ipn s addr add 198.19.0.2/24 dev "$S"; ipn s link set "$S" mtu 1420 up
ipn c addr add 198.19.0.1/24 dev "$C"; ipn c link set "$C" mtu 1420 up
wait_secs 10 n c ping -c 1 -W 1 198.19.0.2 || fail "c -> s through the relay"
ep1=$(pj "$S" endpoint)
assert_eq "$(addr_of "$ep1")" 198.18.2.1 "s's endpoint for c (the NAT's address)"
assert_eq "$(pj "$C" endpoint)" 198.18.1.2:51820 "c's endpoint for s"
assert_eq "$(pj "$C" endpoint_config)" server.test:51820 "c's configured endpoint"
hs0=$(hs_completed "$S")
log "up through the NAT: s sees c at $ep1"

# ---- 1. the NAT rebinds in the middle of a transfer ---------------------------------
SIZE=20000000
head -c $SIZE /dev/urandom >"$TMP/blob"
want=$(sha256sum <"$TMP/blob" | cut -d' ' -f1)
# pace FILE BYTES_PER_S: FILE on stdout at that pace, 100 kB at a time.
pace() {
	local size chunk=100000 i t0 ahead
	size=$(stat -c %s "$1"); t0=$(ms_now)
	for ((i = 0; i * chunk < size; i++)); do
		dd if="$1" bs=$chunk skip=$i count=1 status=none || return 1
		ahead=$(( t0 + (i + 1) * chunk * 1000 / $2 - $(ms_now) ))
		[ "$ahead" -le 0 ] || sleep "$(printf '%d.%03d' $((ahead / 1000)) $((ahead % 1000)))"
	done
}
ip netns exec "${PFX}s" timeout 60 socat -u TCP-LISTEN:5001,bind=198.19.0.2,reuseaddr "OPEN:$TMP/recv,creat,trunc" &
rpid=$!
PIDS+=("$rpid")
wait_for 5 n s sh -c "ss -ltn | grep -q 198.19.0.2:5001" || fail "receiver did not start"
t0=$(ms_now)
pace "$TMP/blob" 4000000 | ip netns exec "${PFX}c" timeout 60 socat -u - TCP:198.19.0.2:5001 &
spid=$!
PIDS+=("$spid")
received() { [ "$(stat -c %s "$TMP/recv" 2>/dev/null || echo 0)" -ge "$1" ]; }
wait_secs 20 received $((SIZE / 4)) || fail "a quarter of the transfer did not arrive in 20 s"
stop_pid "$RELAY_PID"
start_relay 198.18.2.3
at=$(stat -c %s "$TMP/recv")
new_endpoint() { [ "$(addr_of "$(pj "$S" endpoint)")" = 198.18.2.3 ]; }
wait_secs 5 new_endpoint || fail "s did not learn c's new address: $(pj "$S" endpoint)"
learn_ms=$WAITED_MS
ep2=$(pj "$S" endpoint)
[ "${ep2#*:}" != "${ep1#*:}" ] || fail "the NAT's port did not change ($ep1 -> $ep2)"
wait "$spid" || fail "the sender failed"
wait "$rpid" || fail "the receiver failed"
secs_ms=$(( $(ms_now) - t0 ))
assert_eq "$(sha256sum <"$TMP/recv" | cut -d' ' -f1)" "$want" "checksum of 20 MB across the move"
assert_eq "$(hs_completed "$S")" "$hs0" "handshakes completed on s (the endpoint must come from a transport packet)"
assert_eq "$(pj "$S" endpoint)" "$ep2" "s's endpoint for c after the transfer"
log "1. NAT moved at $at bytes: s's endpoint $ep1 -> $ep2 after $learn_ms ms; 20 MB in $secs_ms ms, checksum ok, no new handshake"
rm -f "$TMP/blob" "$TMP/recv"

# ---- 2. the server moves; its name follows ------------------------------------------
stop_pid "$RELAY_PID"
ipn s addr del 198.18.2.2/24 dev "${PFX}s0"
ipn s addr add 198.18.3.2/24 dev "${PFX}s0"
ipn r addr add 198.18.3.1/24 dev "${PFX}r1"
ipn s route add default via 198.18.3.1
printf '127.0.0.1 localhost\n198.18.3.2 server.test\n' >"$HOSTS"   # in place: same inode
T_MOVE=$(ms_now)
hs1=$(hs_completed "$C")
# The user's traffic: a ping a second, until the first reply.
wait_secs 30 n c ping -c 1 -W 1 198.19.0.2 || fail "c did not reconnect within 30 s of the server's move (c's endpoint $(pj "$C" endpoint))"
back_ms=$(( $(ms_now) - T_MOVE ))
assert_eq "$(pj "$C" endpoint)" 198.18.3.2:51820 "c's endpoint for s after the move"
assert_eq "$(addr_of "$(pj "$S" endpoint)")" 198.18.1.1 "s's endpoint for c (no NAT now)"
assert_eq "$(pj "$C" connected)" true "c connected"
[ "$(hs_completed "$C")" -gt "$hs1" ] || fail "c reconnected without a new handshake"
n s ping -c 1 -W 2 198.19.0.1 >/dev/null || fail "s -> c after the move"
log "2. server moved to 198.18.3.2: c re-resolved server.test and reconnected after $back_ms ms" \
	"(endpoint $(pj "$C" endpoint)); s sees c at $(pj "$S" endpoint)"
log "roaming: all checks passed"
