#!/bin/bash
# SPDX-License-Identifier: MIT
# wsd's start-up refusals, and the secrets it keeps.
#
#   [p] (one namespace, no links but lo)
#
# A bad -m or -w value stops wsd before it does anything: exit 1, one line
# that names the option and the value, no interface, no run file.
# A running wsd (foreground and forked) holds its private key exactly once,
# on a locked page (the parsed configuration is wiped once the device has it).
source "$(dirname "$0")/lib.sh"

ns_add p
P=${PFX}p
CONF=$TMP/$P.conf
KEY=$(genkey)
write_conf "$CONF" "$KEY" 0 "$(genkey | pubkey)" 198.19.15.2/32

# expect_refusal MESSAGE ARGS...: wsd -f ARGS... CONF IFNAME exits 1 with MESSAGE on stderr.
expect_refusal() {
	local want=$1 rc=0
	shift
	# Bounded: a wsd that wrongly starts is ended after 5 s (status 124).
	n p timeout 5 "$WSD" -f "$@" "$CONF" "$P" >"$TMP/stdout" 2>"$TMP/stderr" || rc=$?
	assert_eq "$rc" 1 "exit status of wsd $*"
	assert_eq "$(cat "$TMP/stderr")" "$want" "message of wsd $*"
	[ ! -s "$TMP/stdout" ] || fail "stdout not empty: $(cat "$TMP/stdout")"
	! ipn p link show "$P" >/dev/null 2>&1 || fail "wsd $* left interface $P"
	! ls /run/wiresocket/"$P".* >/dev/null 2>&1 || fail "wsd $* left run files"
}

log "bad option values"
expect_refusal "wsd: -m: 'abc' is not an MTU (1280..65535)" -m abc
expect_refusal "wsd: -m: '1279' is not an MTU (1280..65535)" -m 1279
expect_refusal "wsd: -m: '65536' is not an MTU (1280..65535)" -m 65536
expect_refusal "wsd: -m: '1400x' is not an MTU (1280..65535)" -m 1400x
expect_refusal "wsd: -m: '-1400' is not an MTU (1280..65535)" -m -1400
expect_refusal "wsd: -m: '99999999999999999999' is not an MTU (1280..65535)" -m 99999999999999999999
expect_refusal "wsd: -m: '' is not an MTU (1280..65535)" -m ''
expect_refusal "wsd: -w: 'abc' is not a number of workers (1..1024)" -w abc
expect_refusal "wsd: -w: '0' is not a number of workers (1..1024)" -w 0
expect_refusal "wsd: -w: '1025' is not a number of workers (1..1024)" -w 1025
expect_refusal "wsd: -w: ' 2' is not a number of workers (1..1024)" -w ' 2'

log "good values still start"
start_wsd p "$CONF" "$P" -m 1280 -w 1
assert_eq "$(ws_get "$P" | grep '^mtu=')" "mtu=1280" "MTU of -m 1280"
stop_pid "$(eval echo "\$WSD_PID_$P")"

log "the private key: one copy, locked"
start_wsd p "$CONF" "$P"
assert_eq "$("$TOOLS/wsmemfind" "$(eval echo "\$WSD_PID_$P")" "$KEY" | cut -d' ' -f1-4)" \
	"copies 1 locked 1" "private key copies in the foreground wsd"
stop_pid "$(eval echo "\$WSD_PID_$P")"
n p "$WSD" "$CONF" "$P" || fail "forked wsd did not start"
pid=$(cat "/run/wiresocket/$P.pid")
assert_eq "$("$TOOLS/wsmemfind" "$pid" "$KEY" | cut -d' ' -f1-4)" \
	"copies 1 locked 1" "private key copies in the forked wsd"
kill -TERM "$pid"
wait_for 5 sh -c "! kill -0 $pid" || fail "forked wsd did not stop"

log "ok"
