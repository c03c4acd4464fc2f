#!/bin/bash
# SPDX-License-Identifier: MIT
# Where latency builds under load in wiresocket's tunnel: while one TCP stream
# fills the tunnel A->B and A pings B (10 ms apart), sample every queue on the
# path a few times a second and print a compact table.
#
#   [A] iperf3 -> TCP socket -> TUN qdisc -> TUN ring -> wsd (tx batch) -> UDP socket
#       -> veth -> [B] backlog -> UDP socket -> wsd (rx batch) -> TUN write -> TCP
#
#   bench/queues.sh [--rounds N] [--time S] [--interval S] [--mtu N] [--cc ALGO] [--keep]
# (defaults: 3 rounds of 6 s, samples every 0.25 s, MTU 1420, the namespace's
# default TCP congestion control; --cc passes iperf3 -C ALGO, e.g. cubic)
# Needs root, iperf3, ping, ip, ss, tc, $BUILD/wsd; perf (optional) counts the
# daemons' system calls for the batch sizes. The same topology and wsd
# configuration as bench/tunnel.sh; the same safety rules (this run's
# namespaces only, 198.18.0.0/16 and 198.19.0.0/16 only, own PIDs only,
# everything bounded by `timeout`, torn down on exit). See docs/performance.md,
# "Where latency builds under load", for what the columns mean.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
WSD=$BUILD/wsd WS=$BUILD/ws
ROUNDS=3 SECS=6 IVL=0.25 MTU=1420 KEEP=0 CC=
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--time) SECS=$2; shift ;;
	--interval) IVL=$2; shift ;;
	--mtu) MTU=$2; shift ;;
	--keep) KEEP=1 ;;
	--cc) CC=$2; shift ;;
	-h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/queues.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $SECS =~ ^[1-9][0-9]*$ && $SECS -ge 3 && $MTU =~ ^[1-9][0-9]*$ ]] ||
	{ echo "bench/queues.sh: --rounds, --mtu need a positive integer, --time one >= 3" >&2; exit 2; }
[[ $CC =~ ^[a-z0-9_]*$ ]] || { echo "bench/queues.sh: --cc: a congestion control name" >&2; exit 2; }
[[ $IVL =~ ^0?\.[0-9]+$|^[1-9]$ ]] || { echo "bench/queues.sh: --interval: seconds, e.g. 0.25" >&2; exit 2; }

log() { echo "[$(date +%T)] $*" >&2; }
die() { echo "bench/queues.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (it creates network namespaces)"
for c in ip iperf3 ping ss tc timeout awk; do command -v "$c" >/dev/null || die "missing $c (make bench-deps)"; done
[ -x "$WSD" ] && [ -x "$WS" ] || die "no $WSD or $WS (make)"
PERF=${PERF-$(command -v perf || true)}  # PERF= turns perf off

PFX=${PFX:-q$(printf '%05d' $(( $$ % 100000 )))}
TMP=$(mktemp -d "/tmp/ws-queues-$PFX.XXXXXX")
NA=${PFX}a NB=${PFX}b VA=${PFX}va VB=${PFX}vb TA=${PFX}ta TB=${PFX}tb DST=198.19.0.2
PIDS=()
stop_pid() {
	local i
	kill -TERM "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
	for ((i = 0; i < 50; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}
cleanup() {
	local p ns
	set +e
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	for ns in "$NA" "$NB"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	rm -f /run/wiresocket/"$TA".* /run/wiresocket/"$TB".*
	if [ $KEEP = 1 ]; then echo "bench/queues.sh: scratch kept in $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bg() { local out=$1; shift; "$@" >>"$out" 2>&1 & BG_PID=$!; PIDS+=("$BG_PID"); }
wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $end ] || return 1; sleep 0.1; done
}

# --- the tunnel: as bench/tunnel.sh's wiresocket contender --------------------------
ip netns add "$NA" && ip netns add "$NB" || die "ip netns add failed"
ip -n "$NA" link set lo up && ip -n "$NB" link set lo up &&
	ip link add "$VA" netns "$NA" mtu 1500 type veth peer name "$VB" netns "$NB" mtu 1500 &&
	ip -n "$NA" addr add 198.18.0.1/24 dev "$VA" && ip -n "$NB" addr add 198.18.0.2/24 dev "$VB" &&
	ip -n "$NA" link set "$VA" up && ip -n "$NB" link set "$VB" up || die "veth setup failed"
ka=$("$WS" genkey) kb=$("$WS" genkey)
conf() { printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n[Peer]\nPublicKey = %s\nAllowedIPs = %s\nEndpoint = %s\n' \
	"$2" "$("$WS" pubkey <<<"$3")" "$4" "$5" >"$1"; chmod 600 "$1"; }
conf "$TMP/a.conf" "$ka" "$kb" 198.19.0.2/32 198.18.0.2:51820
conf "$TMP/b.conf" "$kb" "$ka" 198.19.0.1/32 198.18.0.1:51820
for s in a b; do
	ns=$NA ifn=$TA; [ $s = b ] && ns=$NB ifn=$TB
	bg "$TMP/wsd-$s.log" ip netns exec "$ns" "$WSD" -f -m "$MTU" "$TMP/$s.conf" "$ifn"
	eval "WPID_$s=$BG_PID"
	wait_for 10 test -S "/run/wiresocket/$ifn.sock" || die "wsd $ifn did not start: $(tail -n 5 "$TMP/wsd-$s.log")"
done
ip -n "$NA" addr add 198.19.0.1/24 dev "$TA" && ip -n "$NB" addr add 198.19.0.2/24 dev "$TB" &&
	ip -n "$NA" link set "$TA" mtu "$MTU" up && ip -n "$NB" link set "$TB" mtu "$MTU" up || die "tunnel addresses failed"
wait_for 10 ip netns exec "$NA" ping -n -c 1 -W 1 "$DST" || die "the tunnel did not come up"
TXQ=$(ip netns exec "$NA" cat "/sys/class/net/$TA/tx_queue_len")
QDISC=$(tc -n "$NA" qdisc show dev "$TA" | awk 'NR == 1 { print $2 }')
[ -n "$CC" ] || CC=$(ip netns exec "$NA" sysctl -n net.ipv4.tcp_congestion_control)
log "tunnel up: wsd A $WPID_a, wsd B $WPID_b; TUN txqueuelen $TXQ, qdisc $QDISC"

# --- one sample ----------------------------------------------------------------------
# Side A: the sender's data socket, the TUN qdisc between two reads of the
# TUN's counters (interpolated to the middle), wsd's UDP socket.
ST=/sys/class/net/$TA/statistics
SAMPLE_A='ss -Htmi state established "( dport = :5201 )"; echo @tc; cat '$ST/tx_bytes' '$ST/tx_packets'; tc -s qdisc show dev '$TA'
cat '$ST/tx_bytes' '$ST/tx_packets' '$ST/tx_dropped'; echo @udp; ss -Huam "( sport = :51820 )"'
# Side B: wsd's UDP socket, UDP counters, the TUN and veth counters, the receiver's socket.
SAMPLE_B='ss -Huam "( sport = :51820 )"; echo @snmp; cat /proc/net/snmp; echo @dev; cat /proc/net/dev
echo @ss; ss -Htmi state established "( sport = :5201 )"; echo @tc; tc -s qdisc show dev '$TB

# parse_a FILE: "cwnd unacked_KB notsent_KB srtt_ms qdisc_KB qdisc_pkts qdisc_drops ring_KB
# udp_wmem_KB tun_tx_dropped ring_err_KB". ring_KB: what left the TUN qdisc for the TUN
# but wsd has not read yet (the TUN's ring), as payload: the qdisc counts
# segments with replicated headers, the TUN super-packets, so 52 header bytes
# (IPv4 + TCP with timestamps) a packet come off both; ring_err_KB: half the
# TUN bytes read between the two counter reads around tc.
parse_a() {
	awk '
	/^@/ { sec = $1; nc = 0; next }
	sec == "" && /bytes_sent:/ {          # the data connection: the one that sent the most
		delete kv2
		for (i = 1; i <= NF; i++) { k = $i; v = $i; sub(/:.*/, "", k); sub(/^[^:]*:/, "", v); kv2[k] = v }
		if (kv2["bytes_sent"] + 0 > sent) {
			sent = kv2["bytes_sent"] + 0; cw = kv2["cwnd"] + 0; ua = kv2["unacked"] + 0; ns = kv2["notsent"] + 0
			mss = ("mss" in kv2) ? kv2["mss"] + 0 : 1368; split(kv2["rtt"], r, "/"); rtt = r[1] + 0
		}
	}
	sec == "@tc" && /^[0-9]+$/ { c[++nc] = $1 + 0 }
	sec == "@tc" && /^ *Sent/ { qs = $2; qsp = $4; for (i = 1; i <= NF; i++) if ($i == "(dropped") { qd = $(i + 1); sub(/,/, "", qd) } }
	sec == "@tc" && /^ *backlog/ { qb = $2; qp = $3; sub(/b$/, "", qb); sub(/p$/, "", qp)
		if (qb ~ /K$/) { sub(/K$/, "", qb); qb *= 1000 } else if (qb ~ /M$/) { sub(/M$/, "", qb); qb *= 1e6 } }
	sec == "@udp" && /^UNCONN/ { wm = $3 }    # Send-Q: sk_wmem_alloc
	END {
		tb = (c[1] + c[3]) / 2; tp = (c[2] + c[4]) / 2
		ring = (qs - 52 * qsp) - (tb - 52 * tp)
		printf "%d %.0f %.0f %.2f %.0f %d %d %.0f %.0f %d %.0f\n", cw, ua * mss / 1000, ns / 1000, rtt, qb / 1000, qp, qd,
			ring / 1000, wm / 1000, c[5], (c[3] - c[1]) / 2000 }' "$1"
}
# parse_b FILE: "udp_rmem_KB udp_drops rcvbuf_errors tun_rx_dropped recvq_KB qdisc_KB"
parse_b() {
	awk -v tb="$TB" '
	/^@/ { sec = $1; next }
	sec == "@dev" { sub(/:/, " "); $0 = $0 }
	sec == "" && /^UNCONN/ { rm = $2 }        # Recv-Q: sk_rmem_alloc less what UDP has read but not yet uncharged
	sec == "" && /skmem/ { match($0, /d[0-9]+\)/); dr = substr($0, RSTART + 1, RLENGTH - 2) }
	sec == "@snmp" && $1 == "Udp:" { if ($2 ~ /^[0-9]+$/) { for (i = 2; i <= NF; i++) if (h[i] == "RcvbufErrors") rb = $i }
		else for (i = 2; i <= NF; i++) h[i] = $i }
	sec == "@dev" && $1 == tb { rd = $5 }
	sec == "@ss" && !/^\t/ && !/^ / { rq = $1 > rq ? $1 : rq }
	sec == "@tc" && /^ *backlog/ { qb = $2; sub(/b$/, "", qb); if (qb ~ /K$/) { sub(/K$/, "", qb); qb *= 1000 } }
	END { printf "%.0f %d %d %d %.0f %.0f\n", rm / 1000, dr, rb, rd, rq / 1000, qb / 1000 }' "$1"
}
elapsed() { awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }'; }
softnet_drops() {
	local d=0 s=0 a b c
	while read -r a b c _; do d=$((d + 16#$b)) s=$((s + 16#$c)); done </proc/net/softnet_stat
	echo "$d $s"
}

# perf_batches PID OUT: count the daemon's system calls for 1 s (tx: TUN reads,
# sendmmsg; rx: recvmmsg, TUN writes; both: polls, i.e. times a thread found
# nothing to do).
perf_batches() {
	[ -n "$PERF" ] || return 0
	timeout -k 2 5 "$PERF" stat --per-thread -x, -e syscalls:sys_enter_read,syscalls:sys_enter_sendmmsg,syscalls:sys_enter_recvmmsg \
		-e syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_poll,syscalls:sys_enter_ppoll -p "$1" -- sleep 1 >/dev/null 2>"$2"
}
# perf_count FILE SYSCALL [BY]: that system call's count in the thread that made the most BY calls
# (sendmmsg: the tx thread; recvmmsg: the rx thread).
perf_count() {
	[ -r "$1" ] || { echo 0; return; }
	awk -F, -v e="syscalls:sys_enter_$2" -v by="syscalls:sys_enter_${3:-$2}" '
		{ n = $2 + 0; k[$1, $4] = n; if ($4 == by && n >= best) { best = n; t = $1 } }
		END { print k[t, e] + 0 }' "$1"
}
# devcount NS IF FIELD: a counter of /proc/net/dev (2 rx bytes, 3 rx packets, 5 rx drop, 10 tx bytes, 11 tx packets, 13 tx drop).
devcount() { ip netns exec "$1" awk -v i="$2" -v c="$3" '{ sub(/:/, " "); $0 = $0 } $1 == i { print $c }' /proc/net/dev; }

# The traced pings: a ping of their own, 100 of them 10 ms apart, of a size no other
# packet on the path has (IP length TP, under 128 so that the event header is 3 bytes),
# all sent and answered inside the trace, so
# the n-th event of each kind belongs to the n-th ping (every queue here is FIFO).
TP=120 TN=100
# perf_trace OUT: tracepoints for the traced pings' packets on the path (everything else,
# the data above all, is filtered out in the kernel by its length) while they run.
perf_trace() {
	[ -n "$PERF" ] || return 0
	timeout -k 2 10 "$PERF" record -q -a -o "$1.data" -e net:net_dev_queue --filter "len == $TP" \
		-e net:net_dev_xmit --filter 'len < 1000' -e net:netif_receive_skb --filter 'len < 1000' \
		-e syscalls:sys_exit_read --filter "ret == $((TP + 10))" -- \
		sh -c "sleep 0.2; ip netns exec $NA ping -n -q -c $TN -i 0.01 -s $((TP - 28)) -W 1 -w 5 $DST; sleep 0.1" >/dev/null 2>&1 &&
		"$PERF" script -i "$1.data" -F pid,time,event,trace >"$1" 2>/dev/null
	rm -f "$1.data"
}
# hops FILE: one line per traced ping, the time (us) of each hop: A qdisc (ping -> TUN
# driver), A TUN ring (-> wsd A reads it), wsd A (read -> sealed datagram on the veth),
# veth + B backlog (-> B's IP stack), B's UDP socket and wsd B's rx batch (-> wsd B writes
# the packet to its TUN; no tracepoint separates the two: a small datagram is copied out
# without one, and its skb is freed later), B echo (-> the reply enters B's TUN), reply
# path (-> A's TUN delivers it).
hops() {
	# On the veth a frame is Ethernet 14, IPv4 20, UDP 8, transport header 16, tag 16 and
	# channel 1 bytes, then per packet an event header (3) and the packet: small packets
	# that met in one tx batch share a frame, so a frame holds a traced pings (TP bytes)
	# and b of the others (84), or is something else (the control channel).
	awk -v ta="$TA" -v tb="$TB" -v va="$VA" -v vb="$VB" -v wa="$WPID_a" -v tp=$TP -v tn=$TN \
		-v fo=$((14 + 20 + 8 + 16 + 16 + 1)) '
		function dev(   d) { d = $0; sub(/.*dev=/, "", d); sub(/ .*/, "", d); return d }
		function ln(   l) { l = $0; sub(/.* len=/, "", l); sub(/ .*/, "", l); return l + 0 }
		function add(k, t, m,   j) { for (j = 0; j < m; j++) { n[k]++; ev[k, n[k]] = t } }
		function frames(l,   a) { l -= fo; for (a = 0; a * (tp + 3) <= l; a++) if ((l - a * (tp + 3)) % 87 == 0) return a; return 0 }
		{ t = $2; sub(/:$/, "", t); t *= 1e6; e = $3 }
		e == "net:net_dev_queue:" && dev() == ta { add(1, t, 1) }
		e == "net:net_dev_xmit:" && dev() == ta && ln() == tp { add(2, t, 1) }
		e == "syscalls:sys_exit_read:" && $1 == wa { add(3, t, 1) }
		e == "net:net_dev_xmit:" && dev() == va { add(4, t, frames(ln())) }
		e == "net:netif_receive_skb:" && dev() == vb { add(5, t, frames(ln() + 14)) }
		e == "net:netif_receive_skb:" && dev() == tb && ln() == tp { add(6, t, 1) }
		e == "net:net_dev_xmit:" && dev() == tb && ln() == tp { add(7, t, 1) }
		e == "net:netif_receive_skb:" && dev() == ta && ln() == tp { add(8, t, 1) }
		END {
			printf "  traced pings seen at each of the 8 points (ping -c %d; with -w it sends more when replies are late):", tn >"/dev/stderr"
			for (k = 1; k <= 8; k++) { printf " %d", n[k] >"/dev/stderr"; if (n[k] != n[1]) bad = 1 }
			# A ping lost, or one that left in a frame with other packets (a short TCP
			# segment), breaks the one-to-one order: such a round is left out.
			if (bad || !n[1]) { printf "; left out\n" >"/dev/stderr"; exit }
			printf "\n" >"/dev/stderr"
			for (i = 1; i <= n[1]; i++) {
				line = ""
				for (k = 2; k <= 8; k++) line = line " " ev[k, i] - ev[k - 1, i]
				print substr(line, 2)
			}
		}' "$1"
}

# --- rounds ----------------------------------------------------------------------------
# Medians without gawk: MED is an awk function, med(i): the median of column i over rows 1..n of v[].
MED='function med(i,   a, k, j, m, x) { m = 0
	for (k = 1; k <= n; k++) { x = v[i, k] + 0; for (j = m; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x; m++ }
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
function mx(i,   k, x) { x = v[i, 1] + 0; for (k = 2; k <= n; k++) if (v[i, k] + 0 > x) x = v[i, k] + 0; return x }'
NP=$(( (SECS - 2) * 100 ))   # pings 10 ms apart, from 0.5 s into the stream to about 1.5 s before its end
SUMMARY=$TMP/summary
: >"$SUMMARY"
for ((R = 1; R <= ROUNDS; R++)); do
	D=$TMP/r$R; mkdir -p "$D"
	read -r sd0 sq0 <<<"$(softnet_drops)"
	ip netns exec "$NB" sh -c "$SAMPLE_B" >"$D/b.base" 2>&1
	read -r _ ud0 rbe0 _ <<<"$(parse_b "$D/b.base")"
	bg "$D/server.log" timeout -k 2 $((SECS + 20)) ip netns exec "$NB" iperf3 -s -1 -p 5201
	spid=$BG_PID
	wait_for 10 sh -c "ip netns exec $NB ss -Hltn 'sport = :5201' | grep -q ." || die "iperf3 server did not start"
	timeout -k 2 $((SECS + 15)) ip netns exec "$NA" iperf3 -c "$DST" -p 5201 -J -t "$SECS" ${CC:+-C "$CC"} >"$D/iperf.json" 2>"$D/client.log" &
	cpid=$!; PIDS+=("$cpid")
	wait_for 5 sh -c "[ \$(ip netns exec $NA ss -Htn state established '( dport = :5201 )' | wc -l) -ge 2 ]"
	sleep 0.5
	timeout -k 2 $((SECS + 10)) ip netns exec "$NA" ping -n -i 0.01 -c "$NP" -W 1 "$DST" >"$D/ping.txt" 2>&1 &
	ppid=$!; PIDS+=("$ppid")
	# perf on both daemons for 1 s, in the middle of the pings
	( sleep 0.7; perf_batches "$WPID_a" "$D/perf-a.txt" & perf_batches "$WPID_b" "$D/perf-b.txt"; wait
	  [ $SECS -ge 5 ] && perf_trace "$D/trace.txt" ) &
	fpid=$!; PIDS+=("$fpid")
	t0=$(date +%s.%N)
	pp0=$(devcount "$NA" "$TA" 11) pb0=$(devcount "$NA" "$TA" 10) pr0=$(devcount "$NB" "$TB" 3)
	n=0
	while kill -0 "$ppid" 2>/dev/null && [ $n -lt $((SECS * 20)) ]; do
		ip netns exec "$NA" sh -c "$SAMPLE_A" >"$D/a.$n" 2>&1
		ip netns exec "$NB" sh -c "$SAMPLE_B" >"$D/b.$n" 2>&1
		echo "$(elapsed) $(parse_a "$D/a.$n") $(parse_b "$D/b.$n")" >>"$D/samples"
		n=$((n + 1))
		sleep "$IVL"
	done
	pp1=$(devcount "$NA" "$TA" 11) pb1=$(devcount "$NA" "$TA" 10) pr1=$(devcount "$NB" "$TB" 3) t1=$(elapsed)
	wait "$fpid"; wait "$ppid"; wait "$cpid"; stop_pid "$spid"
	read -r sd1 sq1 <<<"$(softnet_drops)"
	gbps=$(awk '/"sum_received"/ { s = 1 } s && /"bits_per_second"/ { v = $2; sub(/,/, "", v); print v / 1e9; exit }' "$D/iperf.json")
	read -r got pavg pp99 <<<"$(sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$D/ping.txt" | sort -g |
		awk '{ v[NR] = $1; s += $1 } END { if (!NR) { print 0, 0, 0; exit } i = int(NR * 0.99 + 0.999999); if (i > NR) i = NR; printf "%d %.3f %.3f\n", NR, s / NR, v[i] }')"
	# Batches, from perf's 1 s and the TUN counters over the sampling time: TUN
	# reads (super-packets) per sendmmsg of A's tx thread, KB per sendmmsg, and TUN
	# writes per recvmmsg of B's rx thread; polls: the times each found nothing to do.
	sm=$(perf_count "$D/perf-a.txt" sendmmsg) ra=$(perf_count "$D/perf-a.txt" read sendmmsg)
	pa=$(( $(perf_count "$D/perf-a.txt" poll sendmmsg) + $(perf_count "$D/perf-a.txt" ppoll sendmmsg) ))
	rm=$(perf_count "$D/perf-b.txt" recvmmsg)
	wb=$(( $(perf_count "$D/perf-b.txt" write recvmmsg) + $(perf_count "$D/perf-b.txt" writev recvmmsg) ))
	pb=$(( $(perf_count "$D/perf-b.txt" poll recvmmsg) + $(perf_count "$D/perf-b.txt" ppoll recvmmsg) ))
	read -r txb txk rxb <<<"$(awk -v sm="$sm" -v rm="$rm" -v wb="$wb" -v dp=$((pp1 - pp0)) -v db=$((pb1 - pb0)) -v t="$t1" \
		'BEGIN { printf "%.1f %.0f %.1f\n", (sm && t ? dp / t / sm : 0), (sm && t ? db / t / sm / 1000 : 0), (rm ? wb / rm : 0) }')"
	log "round $R: TCP $gbps Gbit/s; ping $got/$NP replies, avg $pavg ms, p99 $pp99 ms; $n samples; A TUN tx dropped $(devcount "$NA" "$TA" 13), B TUN rx dropped $(devcount "$NB" "$TB" 5); softnet drops +$((sd1 - sd0)), squeezed +$((sq1 - sq0))"
	[ -n "$PERF" ] && log "  perf, 1 s: A tx thread $ra TUN reads, $sm sendmmsg, $pa polls; B rx thread $rm recvmmsg, $wb TUN writes, $pb polls"
	# This round's medians and maxima over the samples (the first skipped: the stream may still ramp).
	awk -v r="$R" -v g="$gbps" -v pa="$pavg" -v p9="$pp99" -v txb="$txb" -v txk="$txk" -v rxb="$rxb" -v pla="$pa" -v plb="$pb" -v ud0="$ud0" -v rbe0="$rbe0" "$MED"'
		NR > 1 { n++; $14 -= ud0; $15 -= rbe0; for (i = 2; i <= NF; i++) v[i, n] = $i; nf = NF }
		END { printf "%d %.2f %s %s", r, g, pa, p9; for (i = 2; i <= nf; i++) printf " %s %s", med(i), mx(i); printf " %s %s %s %d %d\n", txb, txk, rxb, pla, plb }' \
		"$D/samples" >>"$SUMMARY"
	[ -n "${QUEUES_TRACE:-}" ] && cat "$D/samples" >&2
	[ -s "$D/trace.txt" ] && hops "$D/trace.txt" >"$D/hops" && sed "s/^/$R /" "$D/hops" >>"$TMP/hops"
done

# --- report -----------------------------------------------------------------------------
# Summary columns: 1 round, 2 Gbit/s, 3 ping avg, 4 ping p99, then median/max pairs of the
# sample columns: cwnd 5/6, in flight KB 7/8, notsent KB 9/10, srtt 11/12, A qdisc KB 13/14,
# A qdisc pkts 15/16, A qdisc drops 17/18, A ring KB 19/20, A wmem KB 21/22, A TUN tx dropped 23/24,
# ring error KB 25/26, B rmem KB 27/28, B UDP drops 29/30, RcvbufErrors 31/32, B TUN rx dropped 33/34,
# B Recv-Q KB 35/36, B TUN qdisc KB 37/38; then A pkts/batch 39, A KB/batch 40, B TUN writes/recvmmsg 41,
# polls in 1 s of A's tx thread 42 and B's rx thread 43.
echo
echo "## Queues under one TCP stream, wiresocket (wsd at $(git -C "$ROOT" describe --always --dirty 2>/dev/null), MTU $MTU, $ROUNDS round(s) of $SECS s, TCP $CC, samples every $IVL s)"
echo
echo "A's TUN: qdisc $QDISC, txqueuelen $TXQ. Cells: median over the round's samples (max in brackets); ms: that many bytes at the round's TCP throughput."
echo
echo "| round | TCP (Gbit/s) | ping avg / p99 (ms) | TCP srtt (ms) | cwnd (pkts) | in flight (KB) | notsent (KB) | A TUN qdisc (KB) | A TUN ring (KB) | A tx batch (pkts, KB) | A tx polls/s | A UDP Send-Q (KB) | B UDP Recv-Q (KB) | B TUN writes per recvmmsg | B rx polls/s | B UDP drops, RcvbufErrors |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
awk '{ K = $2 * 1e9 / 8 / 1000 / 1000   # KB per ms
	printf "| %d | %.2f | %s / %s | %.2f (%.2f) | %d (%d) | %d (%d), %.2f ms | %d (%d) | %d (%d) | %d (%d) ±%d, %.2f ms | %.1f, %d = %.2f ms | %d | %d (%d) | %d (%d), %.2f ms | %.1f | %d | %d, %d |\n",
		$1, $2, $3, $4, $11, $12, $5, $6, $7, $8, (K ? $7 / K : 0), $9, $10, $13, $14, $19, $20, $25, (K ? $19 / K : 0),
		$39, $40, (K ? $40 / K : 0), $42, $21, $22, $27, $28, (K ? $27 / K : 0), $41, $43, $30, $32 }' "$SUMMARY"
echo
awk "$MED"'{ for (i = 1; i <= NF; i++) v[i, NR] = $i; n = NR }
	END { K = med(2) * 1e9 / 8 / 1e6
		printf "Medians over the rounds: TCP %.2f Gbit/s; ping avg %.3f ms, p99 %.3f ms; TCP srtt %.2f ms; in flight %d KB (%.2f ms);", med(2), med(3), med(4), med(11), med(7), (K ? med(7) / K : 0)
		printf " A TUN qdisc %d KB, A TUN ring %d KB (%.2f ms); A tx batch %.1f pkts, %d KB (%.2f ms); A UDP Send-Q %d KB; B UDP Recv-Q %d KB (%.2f ms).\n",
			med(13), med(19), (K ? med(19) / K : 0), med(39), med(40), (K ? med(40) / K : 0), med(21), med(27), (K ? med(27) / K : 0) }' "$SUMMARY"
if [ -s "$TMP/hops" ]; then
	echo
	echo "Where an echo request and its reply spend their time: $TN pings of $TP bytes a round, 10 ms apart, beside the others, traced with perf; all rounds; µs:"
	echo
	echo "| hop | median | p90 | p99 | max |"
	echo "|---|---|---|---|---|"
	for k in 1 2 3 4 5 6 7 0; do
		case $k in
		1) h="A TUN qdisc (ping's send -> TUN driver)" ;; 2) h="A TUN ring (-> wsd A reads it)" ;;
		3) h="wsd A tx batch (read -> sealed datagram on the veth)" ;; 4) h="veth + B's backlog (-> B's IP stack)" ;;
		5) h="B's UDP socket + wsd B rx batch (-> wsd B writes it to its TUN)" ;;
		6) h="B's kernel answers (-> the reply enters B's TUN)" ;;
		7) h="reply: B TUN, wsd B tx, veth, wsd A rx (-> A's TUN delivers it)" ;; 0) h="total (request queued -> reply delivered)" ;;
		esac
		awk -v k=$k '{ if (k) x = $(k + 1); else { x = 0; for (i = 2; i <= NF; i++) x += $i } print x }' "$TMP/hops" | sort -g |
			awk -v h="$h" '{ v[NR] = $1 } END { if (!NR) exit
				q = int(NR * 0.9 + 0.999999); r = int(NR * 0.99 + 0.999999); if (r > NR) r = NR
				printf "| %s | %.0f | %.0f | %.0f | %.0f |\n", h, v[int((NR + 1) / 2)], v[q], v[r], v[NR] }'
	done
	echo
	echo "$(wc -l <"$TMP/hops") pings traced end to end. Per round, medians (µs) of the sender's side (A's qdisc, ring and tx"
	echo "batch), the receiver's (B's socket and rx batch), B's answer and the reply path, the total, and the receiver's share of the total:"
	echo
	for ((R = 1; R <= ROUNDS; R++)); do
		awk -v r=$R '$1 == r { n++; a[n] = $2 + $3 + $4; b[n] = $6; c[n] = $7 + $8; t[n] = $2 + $3 + $4 + $5 + $6 + $7 + $8 }
			function med(x,   k, j, m, y, s) { for (k = 1; k <= n; k++) { y = x[k]; for (j = k - 1; j > 0 && s[j] > y; j--) s[j + 1] = s[j]; s[j + 1] = y }
				return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2 }
			END { if (n) printf "- round %d: sender %.0f, receiver %.0f, reply %.0f, total %.0f; receiver %.0f%%\n", r, med(a), med(b), med(c), med(t), 100 * med(b) / med(t) }' "$TMP/hops"
	done
fi
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (the run shares them)."
