#!/bin/bash
# SPDX-License-Identifier: MIT
# Side-by-side tunnel benchmark: wiresocket (wsd) against wireguard-go and the
# raw veth underlay (and, with --others, fastd, Nebula, OpenVPN and tinc when
# they are installed), between two network namespaces on this machine.
#
#   [A] 198.18.0.1/24 ---- veth, MTU 1500 ---- 198.18.0.2/24 [B]
#       tunnel 198.19.0.1/24 (MTU 1420)         tunnel 198.19.0.2/24
#
# Every contender gets fresh namespaces; contenders are interleaved within each
# round (round 1: raw, wireguard-go, wiresocket, ...; round 2: the same), and
# each cell of the table is the median (min-max) over the rounds. Measures, A to
# B: TCP iperf3 with 1 and 4 streams, CPU-seconds per Gbit of the tunnel
# daemons (both ends, all threads: utime+stime from /proc/PID/stat before and
# after each TCP run), UDP with 64-byte payloads at full rate (packets per
# second received, loss), ping RTT (average and 99th percentile) on the idle
# tunnel, and ping under load: while one TCP stream fills the path, ping RTT
# unmarked and marked DSCP EF (ping -Q 0xb8), with the stream's throughput.
#
#   bench/tunnel.sh [--smoke] [--rounds N] [--time S] [--pings N] [--mtu N]
#                   [--load-pings N] [--only LIST] [--others] [--keep]
# Needs root, iperf3, ping (iputils), ip (iproute2); wireguard-go and
# wireguard-tools for that contender (skipped with a note when absent).
#
# Safety: only namespaces and interfaces named with this run's prefix, only
# 198.18.0.0/16 (underlay) and 198.19.0.0/16 (overlay) addresses, only PIDs this
# script started are signalled, every iperf3 and ping is bounded by `timeout`,
# and everything is torn down on exit (trap EXIT).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
WSD=$BUILD/wsd
WS=$BUILD/ws
WG_GO=${WG_GO:-wireguard-go}
WG=${WG:-wg}

ROUNDS=3 SECS=10 PINGS=500 MTU=1420 SMOKE=0 OTHERS=0 KEEP=0 ONLY=""
LPINGS=200 LRAMP=0.5 LSECS=""  # ping under load: pings, ramp-up before them (s), stream length (s)
usage() {
	sed -n '/^#   bench\/tunnel.sh/,/^#                   \[/p' "$0" | sed 's/^# *//'
	cat <<-'EOF'
	  --smoke     1 round, 2 s per measurement, 50 pings, 30 loaded pings in 1 s streams
	              (what `make check` runs)
	  --rounds N  rounds (default 3); --time S: seconds per iperf3 run (default 10)
	  --pings N   pings per RTT measurement (default 500, at 5 ms intervals)
	  --load-pings N  pings per loaded-RTT measurement (default 200, at 10 ms intervals)
	  --mtu N     tunnel MTU (default 1420; the underlay is 1500)
	  --only L    comma-separated contenders: raw,wireguard-go,wiresocket,fastd,nebula,openvpn,tinc
	  --others    also fastd, nebula, openvpn and tinc (each skipped when not installed)
	  --keep      keep the scratch directory (configs, daemon logs, iperf3 JSON)
	EOF
}
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) SMOKE=1 ROUNDS=1 SECS=2 PINGS=50 LPINGS=30 LRAMP=0.25 LSECS=1 ;;
	--rounds) ROUNDS=$2; shift ;;
	--time) SECS=$2; shift ;;
	--pings) PINGS=$2; shift ;;
	--load-pings) LPINGS=$2; LSECS=""; shift ;;
	--mtu) MTU=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--others) OTHERS=1 ;;
	--keep) KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench/tunnel.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
for v in ROUNDS SECS PINGS LPINGS MTU; do
	o=--${v,,}; [ "$v" = LPINGS ] && o=--load-pings
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench/tunnel.sh: $o needs a positive integer" >&2; exit 2; }
done
# The loaded stream outlasts the pings: ramp-up, the pings (10 ms apart, 50%
# slack: a stream on raw veth leaves ping little CPU), then 1.5 s to spare;
# iperf3 takes whole seconds.
[ -n "$LSECS" ] || LSECS=$(awk -v n="$LPINGS" -v r="$LRAMP" 'BEGIN { t = r + n * 0.015 + 1.5; printf "%d", (t == int(t) ? t : int(t) + 1) }')

log() { echo "[$(date +%T)] $*" >&2; }
die() { echo "bench/tunnel.sh: $*" >&2; exit 1; }

# --- prerequisites ---------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root (it creates network namespaces)"
missing=""
for c in ip iperf3 ping timeout awk ss; do command -v "$c" >/dev/null 2>&1 || missing="$missing $c"; done
[ -z "$missing" ] || die "missing:$missing. Install them with \`make bench-deps\` (Debian: apt-get install iproute2 iperf3 iputils-ping)."
ping -V 2>&1 | grep -q iputils || die "ping is not iputils' ping (apt-get install iputils-ping)"

# --- run state -------------------------------------------------------------------
PFX=${PFX:-b$(printf '%05d' $(( $$ % 100000 )))}
TMP=$(mktemp -d "/tmp/ws-bench-$PFX.XXXXXX")
PIDS=()   # every background process this run started
NETNS=()  # every namespace this run made
RUN=0     # contender-run counter: names ${PFX}n${RUN}a/b, ${PFX}v${RUN}a/b, ${PFX}t${RUN}a/b
STATUS=0
CLK_TCK=$(getconf CLK_TCK)
declare -A RES   # RES[contender,metric] = "v1 v2 ..." (one value per round)

# stop_pid PID: SIGTERM, then SIGKILL after 5 s; only processes this run started.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# ns_del NS: end what is left in one of our namespaces, then delete it.
ns_del() {
	local pid
	for pid in $(ip netns pids "$1" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	ip netns del "$1" 2>/dev/null
}

cleanup() {
	local pid ns
	set +e
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	for ns in "${NETNS[@]}"; do ns_del "$ns"; done
	rm -f /run/wiresocket/"$PFX"* /var/run/wireguard/"$PFX"* 2>/dev/null
	if [ "$KEEP" = 1 ]; then echo "bench/tunnel.sh: scratch kept in $TMP" >&2; else rm -rf "$TMP"; fi
	if ip netns list | grep -q "^$PFX"; then echo "LEAK: namespaces $(ip netns list | grep "^$PFX" | tr '\n' ' ')" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds, for at most
# SECONDS (plus one run of CMD).
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# wait_sock SOCKET PID: wait up to 10 s for the daemon PID to create SOCKET;
# false at once if PID exits first.
wait_sock() {
	wait_for 10 sh -c "test -S '$1' || ! kill -0 $2" && test -S "$1"
}

# bg LOG CMD...: start CMD in the background (its stdout and stderr to LOG) and
# remember its PID in BG_PID and PIDS. `ip netns exec` execs, so the PID is the
# program's own.
bg() {
	local out=$1
	shift
	"$@" >>"$out" 2>&1 &
	BG_PID=$!
	PIDS+=("$BG_PID")
}

# A private key (base64 of 32 bytes, the same format for wg and ws) and its public key.
genkey() { if [ -x "$WS" ]; then "$WS" genkey; else "$WG" genkey; fi; }
pubkey() { if [ -x "$WS" ]; then "$WS" pubkey; else "$WG" pubkey; fi; }

# cpu_ticks PID...: utime+stime (clock ticks) of these processes, all their threads.
cpu_ticks() {
	local p files=()
	[ $# -gt 0 ] || { echo 0; return 0; }
	for p; do files+=("/proc/$p/stat"); done
	awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }' "${files[@]}"
}

# json_get FILE SECTION FIELD: FIELD of iperf3's "SECTION": { ... } object (the
# end-of-test sums "sum_sent" and "sum_received" occur once, in "end").
json_get() {
	awk -v sec="\"$2\":" -v f="\"$3\":" '
		$1 == sec { in_sec = 1; next }
		in_sec && $1 == f { v = $2; sub(/,$/, "", v); print v; exit }
		in_sec && /}/ { exit }' "$1"
}

# --- topology --------------------------------------------------------------------
# Contender-run names (set by new_pair): NA, NB namespaces; VA, VB veth ends;
# TA, TB tunnel interfaces; DST the address B is measured at; DPIDS the tunnel
# daemons (both ends) whose CPU time is counted.
new_pair() {
	RUN=$((RUN + 1))
	NA=${PFX}n${RUN}a NB=${PFX}n${RUN}b
	VA=${PFX}v${RUN}a VB=${PFX}v${RUN}b
	TA=${PFX}t${RUN}a TB=${PFX}t${RUN}b
	DPIDS=() DST=""
	D=$TMP/run$RUN
	mkdir -p "$D"
	ip netns add "$NA" && NETNS+=("$NA") && ip netns add "$NB" && NETNS+=("$NB") || return 1
	ip -n "$NA" link set lo up && ip -n "$NB" link set lo up &&
		ip link add "$VA" netns "$NA" mtu 1500 type veth peer name "$VB" netns "$NB" mtu 1500 &&
		ip -n "$NA" addr add 198.18.0.1/24 dev "$VA" && ip -n "$NB" addr add 198.18.0.2/24 dev "$VB" &&
		ip -n "$NA" link set "$VA" up && ip -n "$NB" link set "$VB" up
}

# end_pair: stop this run's daemons and delete its namespaces.
end_pair() {
	local pid ns keep=()
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	PIDS=()
	for ns in "$NA" "$NB"; do ns_del "$ns"; done
	for ns in "${NETNS[@]}"; do [ "$ns" = "$NA" ] || [ "$ns" = "$NB" ] || keep+=("$ns"); done
	NETNS=("${keep[@]}")
	rm -f /run/wiresocket/"$TA".* /run/wiresocket/"$TB".* /var/run/wireguard/"$TA".* /var/run/wireguard/"$TB".* 2>/dev/null
}

# tunnel_addrs: overlay addresses on TA/TB, MTU, up.
tunnel_addrs() {
	ip -n "$NA" addr add 198.19.0.1/24 dev "$TA" && ip -n "$NB" addr add 198.19.0.2/24 dev "$TB" &&
		ip -n "$NA" link set "$TA" mtu "$MTU" up && ip -n "$NB" link set "$TB" mtu "$MTU" up &&
		DST=198.19.0.2
}

# --- contenders: up_NAME brings the tunnel up in NA/NB (false on failure) ----------
have_raw() { :; }
up_raw() { DST=198.18.0.2; }
ver_raw() { echo "veth, kernel $(uname -r)"; }

have_wiresocket() { [ -x "$WSD" ] || { SKIP_WHY="no $WSD (build it: make)"; return 1; }; }
# The source the binary was probably built from: the tree when the run started.
WS_VERSION=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')
ver_wiresocket() { echo "wsd at $WS_VERSION ($WSD, $(date -r "$WSD" '+built %F %T' 2>/dev/null))"; }
up_wiresocket() {
	local ka kb side
	ka=$(genkey) && kb=$(genkey) || return 1
	ws_conf "$D/a.conf" "$ka" "$(pubkey <<<"$kb")" 198.19.0.2/32 198.18.0.2:51820 &&
		ws_conf "$D/b.conf" "$kb" "$(pubkey <<<"$ka")" 198.19.0.1/32 198.18.0.1:51820 || return 1
	for side in a b; do
		local ns=$NA ifn=$TA
		[ "$side" = b ] && ns=$NB ifn=$TB
		bg "$D/wsd-$side.log" ip netns exec "$ns" "$WSD" -f -m "$MTU" "$D/$side.conf" "$ifn"
		DPIDS+=("$BG_PID")
		wait_sock "/run/wiresocket/$ifn.sock" "$BG_PID" || { echo "wsd $ifn did not start" >>"$D/wsd-$side.log"; return 1; }
	done
	tunnel_addrs
}
# ws_conf FILE PRIV PEER_PUB ALLOWED ENDPOINT
ws_conf() {
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n[Peer]\nPublicKey = %s\nAllowedIPs = %s\nEndpoint = %s\n' \
		"$2" "$3" "$4" "$5" >"$1" && chmod 600 "$1"
}

have_wireguard_go() {
	command -v "$WG_GO" >/dev/null 2>&1 || { SKIP_WHY="wireguard-go is not installed (apt-get install wireguard-go wireguard-tools, or make bench-deps)"; return 1; }
	command -v "$WG" >/dev/null 2>&1 || { SKIP_WHY="wg is not installed (apt-get install wireguard-tools, or make bench-deps)"; return 1; }
}
ver_wireguard_go() { echo "$("$WG_GO" --version 2>&1 | head -n 1), $("$WG" --version 2>&1 | awk '{ print $1, $2 }')"; }
up_wireguard_go() {
	local ka kb side
	ka=$(genkey) && kb=$(genkey) || return 1
	ws_conf "$D/wg-a.conf" "$ka" "$(pubkey <<<"$kb")" 198.19.0.2/32 198.18.0.2:51820 &&
		ws_conf "$D/wg-b.conf" "$kb" "$(pubkey <<<"$ka")" 198.19.0.1/32 198.18.0.1:51820 || return 1
	for side in a b; do
		local ns=$NA ifn=$TA
		[ "$side" = b ] && ns=$NB ifn=$TB
		# Foreground, so the PID we hold is the daemon's; it creates the TUN in ns.
		WG_PROCESS_FOREGROUND=1 bg "$D/wg-go-$side.log" ip netns exec "$ns" "$WG_GO" "$ifn"
		DPIDS+=("$BG_PID")
		wait_sock "/var/run/wireguard/$ifn.sock" "$BG_PID" || { echo "wireguard-go $ifn did not start" >>"$D/wg-go-$side.log"; return 1; }
		ip netns exec "$ns" "$WG" setconf "$ifn" "$D/wg-$side.conf" >>"$D/wg-go-$side.log" 2>&1 || return 1
	done
	tunnel_addrs
}

# --- optional contenders (--others), each with the package's defaults -------------------
# need CMD... : SKIP_WHY and false unless every command is installed.
need() {
	local c
	for c; do command -v "$c" >/dev/null 2>&1 || { SKIP_WHY="$c is not installed (apt-get install ${PKG:-$c})"; return 1; }; done
}
# start_side NS LOG CMD...: a tunnel daemon in the foreground in NS, counted in DPIDS.
start_side() {
	local ns=$1 out=$2
	shift 2
	bg "$out" ip netns exec "$ns" "$@"
	DPIDS+=("$BG_PID")
}
# wait_listen NS t|u PORT: a TCP or UDP socket listens on PORT in NS (B listens
# before A dials: a first handshake lost to a closed port costs some daemons a
# long retry interval).
wait_listen() { wait_for 10 sh -c "ip netns exec '$1' ss -Hl$2n 'sport = :$3' | grep -q ."; }
# wait_ifs: both tunnel interfaces exist.
wait_ifs() { wait_for 20 ip -n "$NA" link show "$TA" && wait_for 20 ip -n "$NB" link show "$TB"; }

have_fastd() { PKG=fastd need fastd; }
ver_fastd() { echo "$(fastd --version 2>&1 | head -n 1), method salsa2012+umac"; }
up_fastd() {
	local side ifn me remote other
	declare -A pub
	for side in a b; do
		printf 'secret "%s";\n' "$(fastd --generate-key --machine-readable 2>/dev/null)" >"$D/fastd-$side.key" &&
			pub[$side]=$(fastd --show-key --machine-readable --config "$D/fastd-$side.key" 2>>"$D/fastd-$side.log") &&
			[ -n "${pub[$side]}" ] || return 1
	done
	# Only A dials (B accepts A's key from anywhere): when both ends initiate at
	# once, fastd v22 often reports the connection established while no data
	# passes until the next rekey.
	for side in a b; do
		ifn=$TA me=198.18.0.1 remote="remote 198.18.0.2:10000;" other=b
		[ "$side" = b ] && ifn=$TB me=198.18.0.2 remote="" other=a
		cat >"$D/fastd-$side.conf" <<-EOF
		log level info;
		mode tun;
		interface "$ifn";
		method "salsa2012+umac";
		bind $me:10000;
		mtu $MTU;
		include "$D/fastd-$side.key";
		peer "$other" {
			key "${pub[$other]}";
			$remote
		}
		EOF
	done
	start_side "$NB" "$D/fastd-b.log" fastd --config "$D/fastd-b.conf"
	wait_listen "$NB" u 10000 || return 1
	start_side "$NA" "$D/fastd-a.log" fastd --config "$D/fastd-a.conf"
	wait_ifs && tunnel_addrs
}

have_nebula() { PKG=nebula need nebula nebula-cert; }
ver_nebula() { echo "nebula $(nebula -version 2>&1 | awk '{ print $2 }')"; }
up_nebula() {
	local side
	(cd "$D" && nebula-cert ca -name "bench-$PFX" -duration 24h && \
		nebula-cert sign -name a -ip 198.19.0.1/24 -out-crt a.crt -out-key a.key &&
		nebula-cert sign -name b -ip 198.19.0.2/24 -out-crt b.crt -out-key b.key) >>"$D/nebula-a.log" 2>&1 || return 1
	for side in a b; do
		local ifn=$TA me=198.18.0.1 peer=198.18.0.2 pip=198.19.0.2
		[ "$side" = b ] && ifn=$TB me=198.18.0.2 peer=198.18.0.1 pip=198.19.0.1
		cat >"$D/nebula-$side.yml" <<-EOF
		pki:
		  ca: $D/ca.crt
		  cert: $D/$side.crt
		  key: $D/$side.key
		static_host_map:
		  "$pip": ["$peer:4242"]
		lighthouse:
		  am_lighthouse: false
		listen:
		  host: $me
		  port: 4242
		punchy:
		  punch: false
		tun:
		  dev: $ifn
		  mtu: $MTU
		logging:
		  level: warning
		firewall:
		  outbound:
		    - port: any
		      proto: any
		      host: any
		  inbound:
		    - port: any
		      proto: any
		      host: any
		EOF
	done
	# Nebula puts the certificate's address on the interface and brings it up itself.
	start_side "$NB" "$D/nebula-b.log" nebula -config "$D/nebula-b.yml"
	wait_listen "$NB" u 4242 || return 1
	start_side "$NA" "$D/nebula-a.log" nebula -config "$D/nebula-a.yml"
	wait_ifs && DST=198.19.0.2
}

have_openvpn() { PKG="openvpn openssl" need openvpn openssl; }
ver_openvpn() { echo "$(openvpn --version 2>&1 | head -n 1 | awk '{ print $1, $2 }'), p2p TLS, AES-256-GCM, DCO off"; }
up_openvpn() {
	local side fa fb
	for side in a b; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$side" \
			-keyout "$D/ovpn-$side.key" -out "$D/ovpn-$side.crt" >>"$D/openvpn-$side.log" 2>&1 || return 1
	done
	fa=$(openssl x509 -in "$D/ovpn-a.crt" -noout -fingerprint -sha256 | cut -d= -f2)
	fb=$(openssl x509 -in "$D/ovpn-b.crt" -noout -fingerprint -sha256 | cut -d= -f2)
	for side in a b; do
		local ifn=$TA me=198.18.0.1 peer=198.18.0.2 ip=198.19.0.1 pip=198.19.0.2 role=tls-server fp=$fb
		[ "$side" = b ] && ifn=$TB me=198.18.0.2 peer=198.18.0.1 ip=198.19.0.2 pip=198.19.0.1 role=tls-client fp=$fa
		cat >"$D/openvpn-$side.conf" <<-EOF
		dev $ifn
		dev-type tun
		proto udp
		local $me
		lport 1194
		remote $peer 1194
		ifconfig $ip $pip
		tun-mtu $MTU
		$role
		dh none
		cert $D/ovpn-$side.crt
		key $D/ovpn-$side.key
		peer-fingerprint $fp
		data-ciphers AES-256-GCM
		disable-dco
		verb 1
		EOF
	done
	# OpenVPN sets the addresses (point-to-point) and the MTU and brings the link up.
	start_side "$NB" "$D/openvpn-b.log" openvpn --config "$D/openvpn-b.conf"
	wait_listen "$NB" u 1194 || return 1
	start_side "$NA" "$D/openvpn-a.log" openvpn --config "$D/openvpn-a.conf"
	wait_ifs && DST=198.19.0.2
}

have_tinc() { PKG=tinc need tincd; }
ver_tinc() { echo "$(tincd --version 2>&1 | head -n 1), router mode, default cipher"; }
up_tinc() {
	local side
	for side in a b; do
		local dir=$D/tinc-$side ifn=$TA me=198.18.0.1 ip=198.19.0.1 other=b
		[ "$side" = b ] && dir=$D/tinc-b ifn=$TB me=198.18.0.2 ip=198.19.0.2 other=a
		mkdir -p "$dir/hosts"
		printf 'Name = %s\nInterface = %s\nMode = router\nAddressFamily = ipv4\nBindToAddress = %s\nPort = 655\nConnectTo = %s\n' \
			"$side" "$ifn" "$me" "$other" >"$dir/tinc.conf"
		printf 'Address = %s\nPort = 655\nSubnet = %s/32\n' "$me" "$ip" >"$dir/hosts/$side"
		tincd -c "$dir" -K 2048 </dev/null >>"$D/tinc-$side.log" 2>&1 || return 1
	done
	cp "$D/tinc-a/hosts/a" "$D/tinc-b/hosts/a" && cp "$D/tinc-b/hosts/b" "$D/tinc-a/hosts/b" || return 1
	# -D: stay in the foreground; a pidfile of our own (the default is shared by all namespaces).
	start_side "$NB" "$D/tinc-b.log" tincd -c "$D/tinc-b" -D -d0 --pidfile="$D/tinc-b.pid"
	wait_listen "$NB" t 655 || return 1
	start_side "$NA" "$D/tinc-a.log" tincd -c "$D/tinc-a" -D -d0 --pidfile="$D/tinc-a.pid"
	wait_ifs && tunnel_addrs
}

# --- measurements ------------------------------------------------------------------
# iperf_run NAME ARGS...: a one-off iperf3 server in NB, the client in NA, JSON
# in $D/NAME.json; false (with the reason logged) when the test failed.
iperf_run() {
	local name=$1 spid
	shift
	bg "$D/iperf3-server.log" timeout -k 2 $((SECS + 30)) ip netns exec "$NB" iperf3 -s -1 -p 5201
	spid=$BG_PID
	wait_listen "$NB" t 5201 || { log "  iperf3 server did not start"; return 1; }
	timeout -k 2 $((SECS + 20)) ip netns exec "$NA" iperf3 -c "$DST" -p 5201 -J --connect-timeout 3000 -t "$SECS" "$@" \
		>"$D/$name.json" 2>>"$D/iperf3-client.log"
	local rc=$?
	stop_pid "$spid"
	if [ $rc != 0 ] || grep -q '"error":' "$D/$name.json"; then
		log "  iperf3 $name failed (rc $rc): $(grep '"error":' "$D/$name.json" | head -n 1 | tr -s '\t ' ' ')"
		return 1
	fi
}

# put CONTENDER METRIC VALUE
put() { RES[$1,$2]="${RES[$1,$2]:-} $3"; }

# measure_tcp C STREAMS: Gbit/s received, and CPU-s/Gbit of the daemons.
measure_tcp() {
	local c=$1 n=$2 t0 t1 bytes secs
	t0=$(cpu_ticks "${DPIDS[@]}")
	iperf_run "tcp$n" -P "$n" || return 1
	t1=$(cpu_ticks "${DPIDS[@]}")
	bytes=$(json_get "$D/tcp$n.json" sum_received bytes)
	secs=$(json_get "$D/tcp$n.json" sum_received seconds)
	[ -n "$bytes" ] && [ -n "$secs" ] || { log "  tcp$n: no sum_received in iperf3's output"; return 1; }
	local gbits gbps cpu
	gbits=$(awk -v b="$bytes" 'BEGIN { printf "%.6f", b * 8 / 1e9 }')
	gbps=$(awk -v g="$gbits" -v s="$secs" 'BEGIN { printf "%.4f", g / s }')
	put "$c" "tcp$n" "$gbps"
	if [ ${#DPIDS[@]} -gt 0 ]; then
		cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v g="$gbits" 'BEGIN { printf "%.5f", (g > 0 ? d / hz / g : 0) }')
		put "$c" "cpu$n" "$cpu"
		log "  TCP x$n: $gbps Gbit/s, $(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", d / hz }') CPU-s for $gbits Gbit = $cpu CPU-s/Gbit"
	else
		log "  TCP x$n: $gbps Gbit/s"
	fi
}

# measure_udp C: 64-byte payloads at full rate; packets per second received, loss.
measure_udp() {
	local c=$1 pk lost secs pps loss
	iperf_run udp64 -u -b 0 -l 64 || return 1
	pk=$(json_get "$D/udp64.json" sum_received packets)
	lost=$(json_get "$D/udp64.json" sum_received lost_packets)
	secs=$(json_get "$D/udp64.json" sum_received seconds)
	[ -n "$pk" ] && [ -n "$lost" ] && [ -n "$secs" ] || { log "  udp64: no sum_received in iperf3's output"; return 1; }
	pps=$(awk -v p="$pk" -v l="$lost" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? (p - l) / s : 0) }')
	loss=$(awk -v p="$pk" -v l="$lost" 'BEGIN { printf "%.2f", (p > 0 ? 100 * l / p : 100) }')
	put "$c" udp_pps "$pps"
	put "$c" udp_loss "$loss"
	log "  UDP 64 B: $pps pkt/s received, $loss% lost"
}

# measure_ping C: PINGS echo requests 5 ms apart; average and 99th percentile RTT (ms).
measure_ping() {
	local c=$1 out got
	timeout -k 2 $((PINGS / 100 + 15)) ip netns exec "$NA" ping -n -c "$PINGS" -i 0.005 -W 1 -w $((PINGS / 100 + 10)) "$DST" \
		>"$D/ping.txt" 2>&1
	out=$(ping_stats "$D/ping.txt") || { log "  ping: no replies"; return 1; }
	read -r got avg p99 <<<"$out"
	put "$c" rtt_avg "$avg"
	put "$c" rtt_p99 "$p99"
	[ "$got" -ge $((PINGS * 9 / 10)) ] || log "  ping: only $got of $PINGS replies"
	log "  ping: $got replies, avg $avg ms, p99 $p99 ms"
}

# ping_stats FILE: "replies avg p99" (ms; p99 by nearest rank) of ping's output, false without replies.
ping_stats() {
	sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$1" | sort -g |
		awk '{ v[NR] = $1; s += $1 } END { if (NR == 0) exit 1; i = int(NR * 0.99 + 0.999999); if (i > NR) i = NR; printf "%d %.4f %.4f\n", NR, s / NR, v[i] }'
}

# streaming NS: the iperf3 client in NS has its data connection (a second one to port 5201).
streaming() { [ "$(ip netns exec "$1" ss -Htn state established '( dport = :5201 )' | wc -l)" -ge 2 ]; }

# measure_loaded C TAG TOS: ping under load. One TCP stream A->B (iperf3, as
# for "TCP 1 stream") for LSECS s; LRAMP s after its data connection is up,
# LPINGS pings 10 ms apart with TOS byte TOS (0: unmarked; 0xb8: DSCP EF).
# Records loaded_TAG_avg, loaded_TAG_p99 (ms) and bulk_TAG (Gbit/s of the
# stream over its whole run).
measure_loaded() {
	local c=$1 tag=$2 tos=$3 spid cpid out got avg p99 rc bytes secs gbps late=""
	bg "$D/iperf3-server.log" timeout -k 2 $((LSECS + 30)) ip netns exec "$NB" iperf3 -s -1 -p 5201
	spid=$BG_PID
	wait_listen "$NB" t 5201 || { log "  iperf3 server did not start"; return 1; }
	timeout -k 2 $((LSECS + 20)) ip netns exec "$NA" iperf3 -c "$DST" -p 5201 -J --connect-timeout 3000 -t "$LSECS" \
		>"$D/load-$tag.json" 2>>"$D/iperf3-client.log" &
	cpid=$!
	PIDS+=("$cpid")
	wait_for 5 streaming "$NA" || log "  loaded ping $tag: no data connection seen; pinging anyway"
	sleep "$LRAMP"
	timeout -k 2 $((LPINGS / 100 + 15)) ip netns exec "$NA" ping -n -c "$LPINGS" -i 0.01 -W 1 -Q "$tos" \
		-w $((LPINGS / 100 + 10)) "$DST" >"$D/ping-load-$tag.txt" 2>&1
	kill -0 "$cpid" 2>/dev/null || late=1
	wait "$cpid"
	rc=$?
	stop_pid "$spid"
	if [ $rc != 0 ] || grep -q '"error":' "$D/load-$tag.json"; then
		log "  iperf3 load-$tag failed (rc $rc): $(grep '"error":' "$D/load-$tag.json" | head -n 1 | tr -s '\t ' ' ')"
		return 1
	fi
	bytes=$(json_get "$D/load-$tag.json" sum_received bytes)
	secs=$(json_get "$D/load-$tag.json" sum_received seconds)
	[ -n "$bytes" ] && [ -n "$secs" ] || { log "  load-$tag: no sum_received in iperf3's output"; return 1; }
	gbps=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.4f", (s > 0 ? b * 8 / 1e9 / s : 0) }')
	out=$(ping_stats "$D/ping-load-$tag.txt") || { log "  loaded ping $tag: no replies"; return 1; }
	read -r got avg p99 <<<"$out"
	put "$c" "loaded_${tag}_avg" "$avg"
	put "$c" "loaded_${tag}_p99" "$p99"
	put "$c" "bulk_$tag" "$gbps"
	[ "$got" -ge $((LPINGS * 9 / 10)) ] || log "  loaded ping $tag: only $got of $LPINGS replies"
	[ -z "$late" ] || log "  loaded ping $tag: the TCP stream ended before the last ping (the figures are partly unloaded)"
	log "  ping under load, TOS $tos: $got replies, avg $avg ms, p99 $p99 ms; TCP stream $gbps Gbit/s"
}

# run_contender C: fresh namespaces, the tunnel, every measurement, teardown.
run_contender() {
	local c=$1 fn=${1//-/_} ok=1
	log "$c (round $R/$ROUNDS)"
	if ! new_pair || ! "up_$fn" || ! wait_for 10 ip netns exec "$NA" ping -n -c 1 -W 1 "$DST"; then
		log "  $c: the tunnel did not come up; logs:"
		tail -n 20 "$D"/*.log >&2 2>/dev/null
		put "$c" failed 1
		STATUS=1
		end_pair
		return
	fi
	local p
	for p in "${DPIDS[@]}"; do [ -r "/proc/$p/stat" ] || { log "  $c: daemon $p is gone"; ok=0; }; done
	measure_tcp "$c" 1 || ok=0
	measure_tcp "$c" 4 || ok=0
	measure_udp "$c" || ok=0
	measure_ping "$c" || ok=0
	measure_loaded "$c" plain 0 || ok=0
	measure_loaded "$c" ef 0xb8 || ok=0
	for p in "${DPIDS[@]}"; do kill -0 "$p" 2>/dev/null || { log "  $c: daemon $p died during the run"; ok=0; }; done
	if [ $ok = 0 ]; then
		put "$c" failed 1
		STATUS=1
		tail -n 20 "$D"/*.log >&2 2>/dev/null
	fi
	end_pair
}

# --- statistics and the report -------------------------------------------------------
# stat3 VALUES...: "median min max" (median of an even count: mean of the middle two).
stat3() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR] }'
}
# median C METRIC: the median, or nothing.
median() { local v=${RES[$1,$2]:-}; [ -n "$v" ] && stat3 $v | awk '{ print $1 }'; }
# cell C METRIC PRINTF_FORMAT [SCALE]: "median (min–max)", or "—".
cell() {
	local v=${RES[$1,$2]:-} s
	[ -n "$v" ] || { printf '—'; return; }
	s=$(stat3 $v)
	awk -v s="$s" -v f="$3" -v k="${4:-1}" -v r="$ROUNDS" 'BEGIN {
		split(s, a, " ")
		printf f, a[1] * k
		if (r > 1) { printf " ("; printf f, a[2] * k; printf "–"; printf f, a[3] * k; printf ")" } }'
}
# ratio A B C METRIC: median(A)/median(B) as "1.23x", or "n/a".
ratio() {
	local a b
	a=$(median "$1" "$3") b=$(median "$2" "$3")
	[ -n "$a" ] && [ -n "$b" ] || { printf 'n/a'; return; }
	awk -v a="$a" -v b="$b" 'BEGIN { if (b == 0) printf "n/a"; else printf "%.2fx", a / b }'
}

report() {
	local c
	echo
	echo "## Tunnel benchmark ($([ $SMOKE = 1 ] && echo "smoke: ")$ROUNDS round(s), ${SECS} s per iperf3 run, $PINGS pings, $LPINGS pings under load in ${LSECS} s streams, tunnel MTU $MTU)"
	echo
	echo "Each cell: median (min–max) over the rounds. A to B through the tunnel between two namespaces"
	echo "joined by a veth pair (MTU 1500); CPU-s/Gbit counts both tunnel daemons (all threads, user+system)."
	echo "Loaded RTT: ping while one TCP stream fills the path A->B, unmarked and marked DSCP EF (ping -Q 0xb8);"
	echo "TCP during EF ping: that stream's throughput during the marked run."
	echo
	echo "| contender | TCP 1 stream (Gbit/s) | TCP 4 streams (Gbit/s) | CPU-s/Gbit (1 stream) | CPU-s/Gbit (4 streams) | UDP 64 B (kpkt/s rx) | UDP 64 B loss (%) | RTT avg (ms) | RTT p99 (ms) | loaded RTT avg (ms) | loaded RTT p99 (ms) | loaded EF RTT avg (ms) | loaded EF RTT p99 (ms) | TCP during EF ping (Gbit/s) |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for c in "${RAN[@]}"; do
		printf '| %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" "$([ -n "${RES[$c,failed]:-}" ] && echo ' (FAILED)')" \
			"$(cell "$c" tcp1 %.2f)" "$(cell "$c" tcp4 %.2f)" "$(cell "$c" cpu1 %.3f)" "$(cell "$c" cpu4 %.3f)" \
			"$(cell "$c" udp_pps %.1f 0.001)" "$(cell "$c" udp_loss %.1f)" "$(cell "$c" rtt_avg %.3f)" "$(cell "$c" rtt_p99 %.3f)" \
			"$(cell "$c" loaded_plain_avg %.3f)" "$(cell "$c" loaded_plain_p99 %.3f)" \
			"$(cell "$c" loaded_ef_avg %.3f)" "$(cell "$c" loaded_ef_p99 %.3f)" "$(cell "$c" bulk_ef %.2f)"
	done
	for c in "${SKIPPED[@]}"; do echo; echo "Skipped $c: ${SKIP_NOTE[$c]}."; done
	echo
	echo "| wiresocket ratio (of medians) | TCP 1 | TCP 4 | CPU-s/Gbit 1 | CPU-s/Gbit 4 | UDP 64 B pkt/s | RTT avg | RTT p99 | loaded RTT p99 | loaded EF RTT p99 |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	for c in wireguard-go raw; do
		printf '| wiresocket / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" \
			"$(ratio wiresocket "$c" tcp1)" "$(ratio wiresocket "$c" tcp4)" "$(ratio wiresocket "$c" cpu1)" \
			"$(ratio wiresocket "$c" cpu4)" "$(ratio wiresocket "$c" udp_pps)" "$(ratio wiresocket "$c" rtt_avg)" \
			"$(ratio wiresocket "$c" rtt_p99)" "$(ratio wiresocket "$c" loaded_plain_p99)" "$(ratio wiresocket "$c" loaded_ef_p99)"
	done
	echo
	targets
	echo
	echo "Machine: kernel $(uname -r), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) CPU(s), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); nothing pinned."
	echo "Versions: $(iperf3 --version 2>&1 | head -n 1 | awk '{ print $1, $2 }'); $(ping -V 2>&1 | head -n 1)."
	for c in "${RAN[@]}"; do echo "- $c: $("ver_${c//-/_}")"; done
}

# wiresocket's performance targets (docs/performance.md), against the medians (informational: never a pass/fail).
targets() {
	local w g r
	echo "Targets (informational):"
	for m in "tcp1:TCP 1 stream" "tcp4:TCP 4 streams" "udp_pps:UDP 64 B packets/s"; do
		w=$(median wiresocket "${m%%:*}") g=$(median wireguard-go "${m%%:*}")
		[ -n "$w" ] && [ -n "$g" ] && awk -v w="$w" -v g="$g" -v n="${m#*:}" 'BEGIN {
			r = g > 0 ? w / g : 0
			printf "- %s: %.2fx wireguard-go (target >= 3x): %s\n", n, r, (r >= 3 ? "met" : "not met") }'
	done
	for m in "cpu1:CPU-s/Gbit, 1 stream" "cpu4:CPU-s/Gbit, 4 streams"; do
		w=$(median wiresocket "${m%%:*}") g=$(median wireguard-go "${m%%:*}")
		[ -n "$w" ] && [ -n "$g" ] && awk -v w="$w" -v g="$g" -v n="${m#*:}" 'BEGIN {
			r = g > 0 ? w / g : 0
			printf "- %s: %.2fx wireguard-go'\''s (target <= 0.33x): %s\n", n, r, (r <= 1 / 3 ? "met" : "not met") }'
	done
	w=$(median wiresocket rtt_avg) g=$(median wireguard-go rtt_avg) r=$(median raw rtt_avg)
	[ -n "$w" ] && [ -n "$g" ] && [ -n "$r" ] && awk -v w="$w" -v g="$g" -v r="$r" 'BEGIN {
		printf "- RTT overhead over raw veth: wiresocket %+.3f ms, wireguard-go %+.3f ms (target: no worse): %s\n",
			w - r, g - r, (w - r <= g - r ? "met" : "not met") }'
	w=$(median wiresocket tcp1) r=$(median raw tcp1)
	[ -n "$w" ] && [ -n "$r" ] && awk -v w="$w" -v r="$r" 'BEGIN {
		printf "- TCP 1 stream: %.2fx raw veth (heading for 0.25x)\n", (r > 0 ? w / r : 0) }'
	w=$(median wiresocket loaded_ef_p99)
	[ -n "$w" ] && awk -v w="$w" -v u="$(median wiresocket loaded_plain_p99)" -v g="$(median wireguard-go loaded_ef_p99)" \
		-v gu="$(median wireguard-go loaded_plain_p99)" -v r="$(median raw loaded_ef_p99)" 'BEGIN {
		printf "- ping marked EF under a full TCP stream: wiresocket p99 %.3f ms (target <= 1 ms): %s", w, (w <= 1 ? "met" : "not met")
		if (u != "") printf "; unmarked %.3f ms", u
		if (g != "") printf "; wireguard-go %.3f ms (unmarked %.3f)", g, gu
		if (r != "") printf "; raw veth %.3f ms", r
		printf "\n" }'
	w=$(median wiresocket bulk_ef) g=$(median wiresocket bulk_plain)
	[ -n "$w" ] && [ -n "$g" ] && awk -v w="$w" -v g="$g" 'BEGIN {
		printf "- TCP stream during the marked ping: %.2f Gbit/s, %+.1f%% against the unmarked run'\''s %.2f (target: no fall beyond 5%%)\n",
			w, (g > 0 ? 100 * (w - g) / g : 0), g }'
	return 0
}

# --- main ----------------------------------------------------------------------------
CONTENDERS=(raw wireguard-go wiresocket)
[ "$OTHERS" = 1 ] && CONTENDERS+=(fastd nebula openvpn tinc)
[ -n "$ONLY" ] && IFS=, read -r -a CONTENDERS <<<"$ONLY"
RAN=() SKIPPED=()
declare -A SKIP_NOTE
for c in "${CONTENDERS[@]}"; do
	declare -F "up_${c//-/_}" >/dev/null || die "unknown contender '$c'"
	SKIP_WHY=""
	if "have_${c//-/_}"; then RAN+=("$c"); else SKIPPED+=("$c"); SKIP_NOTE[$c]=$SKIP_WHY; log "skipping $c: $SKIP_WHY"; fi
done
[ ${#RAN[@]} -gt 0 ] || die "no contender to run"
[[ " ${RAN[*]} " == *" wiresocket "* ]] || [ -n "$ONLY" ] || die "wiresocket cannot run: ${SKIP_NOTE[wiresocket]}"

log "tunnel benchmark: ${RAN[*]}; $ROUNDS round(s) of ${SECS} s per iperf3 run; scratch $TMP"
START=$(date +%s)
for ((R = 1; R <= ROUNDS; R++)); do
	for c in "${RAN[@]}"; do run_contender "$c"; done
done
report
log "done in $(( $(date +%s) - START )) s$([ $STATUS = 0 ] || echo '; some measurements FAILED (see above)')"
exit $STATUS
