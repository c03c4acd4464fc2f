#!/bin/bash
# SPDX-License-Identifier: MIT
# A DNS server that never answers does not stall the daemon: names are
# resolved off the thread that serves every peer and the control socket.
#
#   [a] 198.18.0.1/24 ----veth---- 198.18.0.2/24 [b]
#   a's resolv.conf: nameserver 198.18.0.53, a static neighbour entry with a
#   MAC nobody has: every query leaves the veth and is dropped in silence.
#   tunnel a: 198.19.0.1/24, peers b (Endpoint 198.18.0.2:51820) and c (no
#             such daemon; PersistentKeepalive = 1, so a keeps trying it)
#   tunnel b: 198.19.0.2/24, Endpoint 198.18.0.1:51820
#
# 1. c's endpoint is set to stuck.test:51820 over the control socket: the
#    reply comes at once (the lookup runs on), and for the next 8 s, while
#    that lookup and the re-resolutions before c's handshake attempts hang,
#    `ws show` answers within a second every half second.
# 2. Meanwhile b's daemon is restarted (kill -9): a answers its new handshake
#    at once, so b -> a pings within 3 s.
# 3. The lookup gives up (a's log says so); c still has no address. Setting
#    c's endpoint to an address while a lookup may be in flight sticks.
# 4. `ws peer set ... endpoint stuck.test:51820` fails with a message (ws
#    resolves the name itself first) and changes nothing; with a name that
#    resolves (hosts file) it succeeds and wsd applies the name's address.
source "$(dirname "$0")/lib.sh"

ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
ipn a neigh add 198.18.0.53 lladdr 02:00:5e:00:00:53 dev "${PFX}va" nud permanent
mkdir -p "/etc/netns/${PFX}a"
trap 'rm -rf "/etc/netns/${PFX}a"; cleanup' EXIT
printf '127.0.0.1 localhost\n198.18.0.66 known.test\n' >"/etc/netns/${PFX}a/hosts"
printf 'nameserver 198.18.0.53\noptions timeout:3 attempts:2\n' >"/etc/netns/${PFX}a/resolv.conf"
# The resolver really hangs there (a sanity check of the test itself).
t0=$(ms_now)
if n a timeout 20 getent hosts stuck.test >/dev/null; then fail "stuck.test resolved"; fi
hang_ms=$(( $(ms_now) - t0 ))
[ "$hang_ms" -ge 2500 ] || fail "a's DNS did not hang ($hang_ms ms)"

ka=$(genkey); kb=$(genkey); kc=$(genkey)
pa=$(pubkey <<<"$ka"); pb=$(pubkey <<<"$kb"); pc=$(pubkey <<<"$kc")
write_conf "$TMP/a.conf" "$ka" 51820 "$pb" "198.19.0.2/32" "198.18.0.2:51820"
printf '[Peer]\nPublicKey = %s\nAllowedIPs = 198.19.0.3/32\nPersistentKeepalive = 1\n' "$pc" >>"$TMP/a.conf"
write_conf "$TMP/b.conf" "$kb" 51820 "$pa" "198.19.0.1/32" "198.18.0.1:51820"
start_wsd a "$TMP/a.conf" "${PFX}a" -m 1420
start_wsd b "$TMP/b.conf" "${PFX}b" -m 1420
ipn a addr add 198.19.0.1/24 dev "${PFX}a"; ipn a link set "${PFX}a" mtu 1420 up
ipn b addr add 198.19.0.2/24 dev "${PFX}b"; ipn b link set "${PFX}b" mtu 1420 up
wait_secs 10 n a ping -c 1 -W 1 198.19.0.2 || fail "a -> b"
log "tunnel up; a's DNS hangs for $hang_ms ms per lookup"

# ---- 1. a set with a name that hangs is answered at once ------------------------------
t0=$(ms_now)
reply=$(printf 'set=1\npublic_key=%s\nendpoint=stuck.test:51820\n\n' "$pc" |
	timeout 30 socat -t 30 - "UNIX-CONNECT:/run/wiresocket/${PFX}a.sock")
set_ms=$(( $(ms_now) - t0 ))
assert_eq "$reply" "errno=0" "reply to set endpoint=stuck.test:51820"
[ "$set_ms" -lt 1000 ] || fail "set endpoint took $set_ms ms"
T_SET=$(ms_now)
slowest=0
for ((i = 0; i < 16; i++)); do
	t0=$(ms_now)
	timeout 5 "$WS" show "${PFX}a" >/dev/null || fail "ws show failed during the hang"
	ms=$(( $(ms_now) - t0 ))
	[ "$ms" -gt "$slowest" ] && slowest=$ms
	[ "$ms" -lt 1000 ] || fail "ws show took $ms ms while DNS hangs (probe $i)"
	# ---- 2. a new handshake from b, in the middle of the hang -----------------------------
	if [ "$i" = 4 ]; then
		eval "bpid=\$WSD_PID_${PFX}b"
		kill -KILL "$bpid"
		wait "$bpid" 2>/dev/null || true
		start_wsd b "$TMP/b.conf" "${PFX}b" -m 1420
		ipn b addr add 198.19.0.2/24 dev "${PFX}b"; ipn b link set "${PFX}b" mtu 1420 up
		wait_secs 3 n b ping -c 1 -W 1 198.19.0.1 || fail "b -> a: no handshake within 3 s while DNS hangs"
		hs_ms=$WAITED_MS
	fi
	sleep 0.5
done
log "1./2. set answered in $set_ms ms; ws show at most $slowest ms over $(( ($(ms_now) - T_SET) / 1000 )) s; b's new handshake served in $hs_ms ms"

# ---- 3. the lookup gives up; a later address sticks ------------------------------------
wait_secs 20 grep -q "cannot resolve endpoint stuck.test:51820: no answer from DNS" "$TMP/${PFX}a.log" ||
	fail "a did not report the failed lookup: $(tail -5 "$TMP/${PFX}a.log")"
assert_eq "$(wsj_peer "${PFX}a" "$pc" .endpoint)" null "c's endpoint after the failed lookup"
assert_eq "$(wsj_peer "${PFX}a" "$pc" .endpoint_config)" stuck.test:51820 "c's configured endpoint"
reply=$(printf 'set=1\npublic_key=%s\nendpoint=198.18.0.77:51820\n\n' "$pc" |
	timeout 5 socat -t 5 - "UNIX-CONNECT:/run/wiresocket/${PFX}a.sock")
assert_eq "$reply" "errno=0" "reply to set endpoint=198.18.0.77:51820"
sleep 8 # longer than one hanging lookup: any answer still on its way has come
assert_eq "$(wsj_peer "${PFX}a" "$pc" .endpoint)" 198.18.0.77:51820 "c's endpoint set after the name"
n a ping -c 2 -i 0.2 -W 2 198.19.0.2 >/dev/null || fail "a -> b after the hang"
log "3. the lookup failed after its timeout (logged); c's endpoint set later is kept"

# ---- 4. ws checks the name itself -------------------------------------------------------
set +e
msg=$(n a timeout 30 "$WS" peer set "${PFX}a" "$pc" endpoint stuck.test:51820 2>&1)
rc=$?
set -e
assert_eq "$rc" 1 "exit status of ws peer set with a name that does not resolve"
case $msg in
*"endpoint 'stuck.test:51820' does not resolve (no answer from DNS); nothing was changed"*) ;;
*) fail "ws peer set said: $msg" ;;
esac
assert_eq "$(wsj_peer "${PFX}a" "$pc" .endpoint)" 198.18.0.77:51820 "c's endpoint after the refused set"
n a "$WS" peer set "${PFX}a" "$pc" endpoint known.test:4242 || fail "ws peer set with a name in the hosts file"
known() { [ "$(wsj_peer "${PFX}a" "$pc" .endpoint)" = 198.18.0.66:4242 ]; }
wait_secs 2 known || fail "wsd did not apply known.test: $(wsj_peer "${PFX}a" "$pc" .endpoint)"
assert_eq "$(wsj_peer "${PFX}a" "$pc" .endpoint_config)" known.test:4242 "c's configured endpoint"
log "4. ws refused stuck.test ($msg); known.test applied in $WAITED_MS ms"
log "dns-stall: all checks passed"
