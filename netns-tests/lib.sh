#!/bin/bash
# SPDX-License-Identifier: MIT
# Helpers for the network-namespace scenarios. Source it from NN-name.sh.
#
# Safety (every scenario): traffic only between namespaces made here (veth,
# bridges), addresses only in 198.18.0.0/15 and fd18::/16-fd19::/16, every
# namespace and interface named with this run's prefix, daemons ended by PID,
# every loop bounded, and everything torn down on exit (trap).
set -euo pipefail

WS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$WS_ROOT/build}
WSD=$BUILD/wsd
WS=$BUILD/ws
WSUP=$BUILD/wsup
WSDOWN=$BUILD/wsdown
TOOLS=$BUILD/tools
# Interface names are global to the machine (/run is shared): keep them short and unique.
PFX=${PFX:-w$(printf '%05d' $(( $$ % 100000 )))}
TMP=$(mktemp -d "/tmp/ws-$PFX.XXXXXX")
NETNS=()
PIDS=()
VERBOSE=${VERBOSE:-0}

log() { echo "[$(date +%T)] $*" >&2; }
pp() { [ "$VERBOSE" = 1 ] && echo "[+] $*" >&2; "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# n NS CMD...: run CMD in namespace NS of this run.
n() { local ns=$1; shift; pp ip netns exec "$PFX$ns" "$@"; }
# ipn NS ARGS...: `ip` in namespace NS.
ipn() { local ns=$1; shift; pp ip -n "$PFX$ns" "$@"; }

ns_add() {
	local ns
	for ns in "$@"; do
		pp ip netns add "$PFX$ns"
		NETNS+=("$PFX$ns")
		ipn "$ns" link set lo up
	done
}

# veth NS1 IF1 NS2 IF2: a veth pair between two namespaces, both ends up.
veth() {
	pp ip link add "$PFX$2" netns "$PFX$1" type veth peer name "$PFX$4" netns "$PFX$3"
	ipn "$1" link set "$PFX$2" up
	ipn "$3" link set "$PFX$4" up
}

# A private key for a test peer (base64), and its public key.
genkey() { if [ -x "$WS" ]; then "$WS" genkey; else wg genkey; fi; }
pubkey() { if [ -x "$WS" ]; then "$WS" pubkey; else wg pubkey; fi; }

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# start_wsd NS CONF IFNAME [ARGS...]: wsd in the foreground of NS, logged to $TMP/IFNAME.log.
start_wsd() {
	local ns=$1 conf=$2 ifname=$3
	shift 3
	ip netns exec "$PFX$ns" "$WSD" -f "$@" "$conf" "$ifname" 2>>"$TMP/$ifname.log" &
	PIDS+=($!)
	eval "WSD_PID_$ifname=$!"
	# Ready when its control socket answers (a stale socket file of a killed daemon does not).
	wait_for 10 ws_get "$ifname" || { cat "$TMP/$ifname.log" >&2; fail "wsd $ifname did not start"; }
}

# stop_pid PID: SIGTERM, then SIGKILL after 5 s; only processes this run started.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# ws_get IFNAME: the control socket's `get` reply.
ws_get() { printf 'get=1\n\n' | socat -t 5 - "UNIX-CONNECT:/run/wiresocket/$1.sock"; }
# ws_peer_field IFNAME FIELD: FIELD of the first peer in the get reply.
ws_peer_field() { ws_get "$1" | awk -F= -v f="$2" 'seen && $1 == f { print substr($0, length(f) + 2); exit } $1 == "public_key" { n++ } n == 2 { seen = 1 }'; }

assert_eq() { [ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"; }

cleanup() {
	local pid ns
	set +e
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	for ns in "${NETNS[@]}"; do ip netns pids "$ns" 2>/dev/null | while read -r pid; do kill -KILL "$pid" 2>/dev/null; done; ip netns del "$ns" 2>/dev/null; done
	rm -f /run/wiresocket/"$PFX"*
	[ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMP"
	# Nothing of this run may remain.
	if ip netns list | grep -q "^$PFX"; then echo "LEAK: namespaces $(ip netns list | grep "^$PFX")" >&2; fi
}
trap cleanup EXIT

# Config of one side of a two-peer tunnel: write_conf FILE PRIV PORT PEER_PUB ALLOWED [ENDPOINT] [EXTRA]
write_conf() {
	local file=$1 priv=$2 port=$3 pub=$4 allowed=$5 endpoint=${6:-} extra=${7:-}
	{
		echo "[Interface]"
		echo "PrivateKey = $priv"
		echo "ListenPort = $port"
		echo "[Peer]"
		echo "PublicKey = $pub"
		echo "AllowedIPs = $allowed"
		[ -n "$endpoint" ] && echo "Endpoint = $endpoint"
		[ -n "$extra" ] && echo "$extra"
	} >"$file"
	chmod 600 "$file"
}

# --- ws show -j helpers (01-basic, 12-scale, 13-runtime-change) -------------------
# wsj IFNAME FILTER: jq -r FILTER applied to the interface object of `ws -j show IFNAME`.
wsj() { "$WS" -j show "$1" | jq -r ".[0] | $2"; }
# wsj_peer IFNAME PUBKEY FILTER: jq -r FILTER applied to that peer's object (nothing if absent).
wsj_peer() { "$WS" -j show "$1" | jq -r --arg k "$2" ".[0].peers[] | select(.public_key == \$k) | $3"; }

# --- helpers of 05-site-to-site, 06-roaming, 07-outage ------------------------------
# pj IFNAME KEY: KEY of the first peer in `ws -j show IFNAME`, strings bare,
# everything else as JSON (true, false, null, numbers, compact objects).
pj() {
	"$WS" -j show "$1" | jq -r --arg k "$2" '.[0].peers[0][$k] | if type == "string" then . else tojson end'
}
# pj_is IFNAME KEY VALUE: that peer's KEY is VALUE (for wait_for / wait_secs).
pj_is() { [ "$(pj "$1" "$2")" = "$3" ]; }
# ms_now: a wall clock in milliseconds.
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_secs SECONDS CMD...: poll CMD (every 0.1 s) until it succeeds, for at
# most SECONDS of wall-clock time (however long CMD takes); WAITED_MS is the
# time it took. Status 1 on timeout.
wait_secs() {
	local limit=$1 t0 i
	shift
	t0=$(ms_now)
	for ((i = 0; i <= limit * 10; i++)); do
		if "$@" >/dev/null 2>&1; then WAITED_MS=$(( $(ms_now) - t0 )); return 0; fi
		WAITED_MS=$(( $(ms_now) - t0 ))
		[ "$WAITED_MS" -lt $(( limit * 1000 )) ] || return 1
		sleep 0.1
	done
	return 1
}
