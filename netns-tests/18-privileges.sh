#!/bin/bash
# SPDX-License-Identifier: MIT
# wsd's containment: the user, the capability and the seccomp filter it runs
# with, its start-up refusals, and the secrets it keeps.
#
#   [a] 198.18.15.1 ---- veth ---- 198.18.15.2 [b]     tunnel 198.19.15.1 <-> .2
#
# 1. Refusals, each exit 1 with one line and nothing left behind (no
#    interface, no run file): a -m or -w value that is not a whole number in
#    range; -u with a user that does not exist; a drop that fails (wsd started
#    without CAP_SETUID and CAP_SETGID) unless -D, which starts with a warning.
# 2. a and b run as the default user (_wiresocket, else nobody): in every
#    thread uid and gid (real, effective, saved, fs) are that user's, no
#    supplementary groups, CapPrm = CapEff = CapBnd = CAP_NET_ADMIN only,
#    no inheritable or ambient capability, NoNewPrivs 1, Seccomp 2.
# 3. Under that filter the tunnel carries ping, TCP and UDP both ways; ws
#    show, peer set and add/del work; an endpoint given as a name resolves
#    from /etc/hosts of a's namespace, and through DNS (resolv.conf -> b:
#    first port unreachable, then wsdns answering); `set fwmark` changes
#    SO_MARK at run time (ss shows it) and back; the daemon is still alive,
#    with all its threads, and no "Bad system call".
# 4. SIGTERM: wsd exits 0; it cannot remove its run files from the root-only
#    run directory, so the next wsd on that name starts over them, and
#    `ws link del` stops a forked daemon and removes them. With -u root wsd
#    stays uid 0 (CAP_NET_ADMIN only, seccomp on) and removes them itself.
# 5. A running wsd (foreground and forked) holds its private key exactly
#    once, on a locked page (the parsed configuration is wiped once the
#    device has it).
# Budget 60 s (takes ~15).
source "$(dirname "$0")/lib.sh"

ns_add a b
veth a ab b ba
ipn a addr add 198.18.15.1/24 dev "${PFX}ab"
ipn b addr add 198.18.15.2/24 dev "${PFX}ba"
A=${PFX}a B=${PFX}b
ka=$(genkey); pa=$(pubkey <<<"$ka"); kb=$(genkey); pb=$(pubkey <<<"$kb")
write_conf "$TMP/a.conf" "$ka" 51820 "$pb" 198.19.15.2/32 198.18.15.2:51820
write_conf "$TMP/b.conf" "$kb" 51820 "$pa" 198.19.15.1/32
# Name resolution inside a's namespace only (ip netns exec bind-mounts these).
mkdir -p "/etc/netns/$A"
echo "198.18.15.2 peer-b.wiresocket.test" >"/etc/netns/$A/hosts"
printf 'nameserver 198.18.15.2\noptions timeout:1 attempts:1\n' >"/etc/netns/$A/resolv.conf"
trap 'rm -rf "/etc/netns/$A"; cleanup' EXIT

if getent passwd _wiresocket >/dev/null; then USER_NAME=_wiresocket; else USER_NAME=nobody; fi
UID_WANT=$(id -u "$USER_NAME"); GID_WANT=$(id -g "$USER_NAME")
NET_ADMIN=0000000000001000

# expect_refusal MESSAGE [ENV_CMD...] -- ARGS...: wsd -f ARGS... exits 1 with MESSAGE.
expect_refusal() {
	local want=$1 rc=0 pre=()
	shift
	while [ "$1" != -- ]; do pre+=("$1"); shift; done
	shift
	# Bounded: a wsd that wrongly starts is ended after 5 s (status 124).
	n a timeout 5 "${pre[@]}" "$WSD" -f "$@" "$TMP/a.conf" "$A" >"$TMP/stdout" 2>"$TMP/stderr" || rc=$?
	assert_eq "$rc" 1 "exit status of wsd $*"
	assert_eq "$(cat "$TMP/stderr")" "$want" "message of wsd $*"
	[ ! -s "$TMP/stdout" ] || fail "stdout not empty: $(cat "$TMP/stdout")"
	! ipn a link show "$A" >/dev/null 2>&1 || fail "wsd $* left interface $A"
	! ls /run/wiresocket/"$A".* >/dev/null 2>&1 || fail "wsd $* left run files"
}

log "1. refusals"
expect_refusal "wsd: -m: 'abc' is not an MTU (1280..65535)" -- -m abc
expect_refusal "wsd: -m: '1279' is not an MTU (1280..65535)" -- -m 1279
expect_refusal "wsd: -m: '65536' is not an MTU (1280..65535)" -- -m 65536
expect_refusal "wsd: -m: '1400x' is not an MTU (1280..65535)" -- -m 1400x
expect_refusal "wsd: -m: '-1400' is not an MTU (1280..65535)" -- -m -1400
expect_refusal "wsd: -m: '99999999999999999999' is not an MTU (1280..65535)" -- -m 99999999999999999999
expect_refusal "wsd: -m: '' is not an MTU (1280..65535)" -- -m ''
expect_refusal "wsd: -w: 'abc' is not a number of workers (1..1024)" -- -w abc
expect_refusal "wsd: -w: '0' is not a number of workers (1..1024)" -- -w 0
expect_refusal "wsd: -w: '1025' is not a number of workers (1..1024)" -- -w 1025
expect_refusal "wsd: -w: ' 2' is not a number of workers (1..1024)" -- -w ' 2'
expect_refusal "wsd: -u: nosuchuser-ws: no such user" -- -u nosuchuser-ws
NOSETID=(setpriv --inh-caps=-setuid,-setgid --bounding-set=-setuid,-setgid)
expect_refusal "wsd: $A: cannot drop privileges to user $USER_NAME: Operation not permitted (-D starts anyway)" \
	"${NOSETID[@]}" --
log "   -D: a failed drop starts, with a warning"
ip netns exec "$PFX"a "${NOSETID[@]}" "$WSD" -f -D "$TMP/a.conf" "$A" 2>"$TMP/d.log" &
PIDS+=($!); dpid=$!
wait_for 10 ws_get "$A" || { cat "$TMP/d.log" >&2; fail "wsd -D did not start"; }
grep -q "warning: $A: cannot drop privileges to user $USER_NAME: Operation not permitted; running anyway (-D)" \
	"$TMP/d.log" || fail "no -D warning: $(cat "$TMP/d.log")"
stop_pid "$dpid"
rm -f /run/wiresocket/"$A".* # left by the failed drop's daemon, as by any daemon that is not root

log "2. both daemons run as $USER_NAME ($UID_WANT:$GID_WANT), CAP_NET_ADMIN only, seccomp on"
start_wsd b "$TMP/b.conf" "$B"
start_wsd a "$TMP/a.conf" "$A"
ipn a addr add 198.19.15.1/24 dev "$A"; ipn a link set "$A" up
ipn b addr add 198.19.15.2/24 dev "$B"; ipn b link set "$B" up
APID=$(eval echo "\$WSD_PID_$A"); BPID=$(eval echo "\$WSD_PID_$B")
grep -q "info: $A: running as user $USER_NAME (uid $UID_WANT), CAP_NET_ADMIN only, seccomp allow-list on" \
	"$TMP/$A.log" || fail "no privileges line: $(cat "$TMP/$A.log")"
# field FILE NAME: the value of NAME: in a /proc status file, tabs as spaces.
field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$1"; }
check_threads() { # PID UID GID
	local pid=$1 t n=0 f
	for t in /proc/"$pid"/task/*; do
		f=$t/status
		assert_eq "$(field "$f" Uid)" "$2 $2 $2 $2" "Uid of thread $t"
		assert_eq "$(field "$f" Gid)" "$3 $3 $3 $3" "Gid of thread $t"
		assert_eq "$(field "$f" Groups)" "" "Groups of thread $t"
		assert_eq "$(field "$f" CapInh)" 0000000000000000 "CapInh of thread $t"
		assert_eq "$(field "$f" CapPrm)" "$NET_ADMIN" "CapPrm of thread $t"
		assert_eq "$(field "$f" CapEff)" "$NET_ADMIN" "CapEff of thread $t"
		assert_eq "$(field "$f" CapBnd)" "$NET_ADMIN" "CapBnd of thread $t"
		assert_eq "$(field "$f" CapAmb)" 0000000000000000 "CapAmb of thread $t"
		assert_eq "$(field "$f" NoNewPrivs)" 1 "NoNewPrivs of thread $t"
		assert_eq "$(field "$f" Seccomp)" 2 "Seccomp of thread $t"
		n=$((n + 1))
	done
	# ctl, tx, rx and the workers of both directions (default: one pool thread less than the CPUs)
	[ "$n" -ge 3 ] || fail "only $n threads in wsd $pid"
	echo "$n"
}
nthreads=$(check_threads "$APID" "$UID_WANT" "$GID_WANT")
check_threads "$BPID" "$UID_WANT" "$GID_WANT" >/dev/null
log "   $nthreads threads of wsd $A checked"

log "3. traffic and run-time changes under the filter"
n a ping -c 5 -i 0.2 -W 2 198.19.15.2 >/dev/null || fail "ping a -> b"
n b ping -c 5 -i 0.2 -W 2 198.19.15.1 >/dev/null || fail "ping b -> a"
n b timeout 20 iperf3 -s -1 -p 5215 >/dev/null 2>&1 &
sleep 0.3
n a timeout 15 iperf3 -c 198.19.15.2 -p 5215 -t 2 >/dev/null || fail "iperf3 TCP a -> b"
n b timeout 20 iperf3 -s -1 -p 5215 >/dev/null 2>&1 &
sleep 0.3
n a timeout 15 iperf3 -c 198.19.15.2 -p 5215 -t 2 -R >/dev/null || fail "iperf3 TCP b -> a"
n b timeout 20 iperf3 -s -1 -p 5215 >/dev/null 2>&1 &
sleep 0.3
n a timeout 15 iperf3 -c 198.19.15.2 -p 5215 -t 2 -u -b 100M >/dev/null || fail "iperf3 UDP a -> b"
n a "$WS" show "$A" >/dev/null || fail "ws show"
n a "$WS" -j show "$A" >/dev/null || fail "ws -j show"
n a "$WS" showconf "$A" >/dev/null || fail "ws showconf"
n a "$WS" peer set "$A" "$pb" endpoint peer-b.wiresocket.test:51820 || fail "peer set endpoint NAME"
assert_eq "$(wsj_peer "$A" "$pb" .endpoint)" "198.18.15.2:51820" "endpoint resolved from the name"
# No DNS server yet: the query gets a port unreachable.
n a "$WS" peer set "$A" "$pb" endpoint nx.wiresocket.test:51820 >/dev/null 2>&1 || true
# A DNS answer: query, reply and parsing all under the filter.
ip netns exec "$B" "$TOOLS/wsdns" -l 198.18.15.2:53 -a 198.18.15.2 -t 30 2>"$TMP/dns.log" &
PIDS+=($!); dns=$!
wait_for 5 sh -c "ip netns exec ${PFX}b ss -uanH 'sport = :53' | grep -q ."
n a "$WS" peer set "$A" "$pb" endpoint 198.18.15.3:51820 || fail "peer set endpoint (other IP)"
n a "$WS" peer set "$A" "$pb" endpoint peer-b-dns.wiresocket.test:51820 || fail "peer set endpoint DNS name"
assert_eq "$(wsj_peer "$A" "$pb" .endpoint)" "198.18.15.2:51820" "endpoint resolved through DNS"
stop_pid "$dns"
grep -q '^queries [1-9]' "$TMP/dns.log" || fail "no DNS query answered: $(cat "$TMP/dns.log")"
k3=$(genkey | pubkey)
n a "$WS" peer add "$A" "$k3" allowed-ips 198.19.15.9/32 || fail "peer add"
n a "$WS" peer del "$A" "$k3" || fail "peer del"
n a "$WS" peer set "$A" "$pb" endpoint 198.18.15.2:51820 || fail "peer set endpoint IP"
mark_of() { n a ss -uanepH "sport = :51820" | grep -o 'fwmark:0x[0-9a-f]*' | sort -u | tr '\n' ' '; }
printf 'set=1\nfwmark=4660\n\n' | n a socat -t 5 - "UNIX-CONNECT:/run/wiresocket/$A.sock" | grep -qx 'errno=0' ||
	fail "set fwmark refused"
assert_eq "$(ws_get "$A" | grep '^fwmark=')" "fwmark=4660" "fwmark in get"
assert_eq "$(mark_of)" "fwmark:0x1234 " "SO_MARK of wsd's socket"
printf 'set=1\nfwmark=0\n\n' | n a socat -t 5 - "UNIX-CONNECT:/run/wiresocket/$A.sock" | grep -qx 'errno=0' ||
	fail "set fwmark=0 refused"
assert_eq "$(mark_of)" "" "SO_MARK after fwmark=0"
n a ping -c 3 -i 0.2 -W 2 198.19.15.2 >/dev/null || fail "ping after the changes"
kill -0 "$APID" && kill -0 "$BPID" || fail "a daemon died"
assert_eq "$(ls /proc/"$APID"/task | wc -l)" "$nthreads" "threads of wsd $A after the traffic"
! grep -qi 'bad system call' "$TMP"/*.log || fail "a seccomp kill: $(grep -i 'bad system call' "$TMP"/*.log)"

log "4. SIGTERM, run files, -u root"
kill -TERM "$APID"; rc=0; wait "$APID" || rc=$?
assert_eq "$rc" 0 "exit status of wsd after SIGTERM"
[ -e "/run/wiresocket/$A.sock" ] || fail "the unprivileged wsd removed its socket (expected it could not)"
start_wsd a "$TMP/a.conf" "$A" # over the stale files
APID=$(eval echo "\$WSD_PID_$A")
stop_pid "$APID"
n a "$WSD" "$TMP/a.conf" "$A" || fail "forked wsd did not start"
n a "$WS" link del "$A" || fail "ws link del"
! ls /run/wiresocket/"$A".* >/dev/null 2>&1 || fail "ws link del left run files: $(ls /run/wiresocket/"$A".*)"
start_wsd a "$TMP/a.conf" "$A" -u root
APID=$(eval echo "\$WSD_PID_$A")
check_threads "$APID" 0 0 >/dev/null
kill -TERM "$APID"; wait "$APID" || fail "wsd -u root: exit status $?"
! ls /run/wiresocket/"$A".* >/dev/null 2>&1 || fail "wsd -u root left run files"

log "5. the private key: one copy, locked"
start_wsd a "$TMP/a.conf" "$A"
assert_eq "$("$TOOLS/wsmemfind" "$(eval echo "\$WSD_PID_$A")" "$ka" | cut -d' ' -f1-4)" \
	"copies 1 locked 1" "private key copies in the foreground wsd"
stop_pid "$(eval echo "\$WSD_PID_$A")"
n a "$WSD" "$TMP/a.conf" "$A" || fail "forked wsd did not start"
pid=$(cat "/run/wiresocket/$A.pid")
assert_eq "$("$TOOLS/wsmemfind" "$pid" "$ka" | cut -d' ' -f1-4)" \
	"copies 1 locked 1" "private key copies in the forked wsd"
n a "$WS" link del "$A" || fail "ws link del of the forked wsd"

log "ok"
