#!/bin/bash
# SPDX-License-Identifier: MIT
# `make demo`: a wiresocket tunnel between two network namespaces, brought up
# with wsup from configs/demo-a.conf and configs/demo-b.conf (fresh keys put in),
# shown, pinged, measured with iperf3 when it is installed, and taken down again.
#
#   [a] 198.18.0.1/24 ----veth---- 198.18.0.2/24 [b]
#   tunnel: 198.19.0.1/24, fd19::1/64     198.19.0.2/24, fd19::2/64
#
# Installs nothing (`make deps` does). Needs root. Everything it creates is named
# after this run and removed on exit, whatever happens.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
WSUP=$BUILD/wsup WSDOWN=$BUILD/wsdown WS=$BUILD/ws
RUN=$(printf '%05d' $(( $$ % 100000 )))
NS_A=wsdemo-$RUN-a NS_B=wsdemo-$RUN-b
IF_A=wsdemo${RUN}a IF_B=wsdemo${RUN}b
TMP=
IPERF_PID=
NETNS=()
UP=()

if [ -t 1 ]; then BOLD=$'\033[1m' NORM=$'\033[0m'; else BOLD='' NORM=''; fi
say() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$NORM"; }
die() { echo "demo: $*" >&2; exit 1; }

cleanup() {
	local ns ifname i
	set +e
	[ -n "$IPERF_PID" ] && kill "$IPERF_PID" 2>/dev/null && wait "$IPERF_PID" 2>/dev/null
	for ((i = ${#UP[@]} - 1; i >= 0; i--)); do
		ns=${UP[i]%% *} ifname=${UP[i]#* }
		ip netns exec "$ns" "$WSDOWN" "$ifname"
	done
	for ns in "${NETNS[@]}"; do ip netns del "$ns"; done
	[ -n "$TMP" ] && rm -rf "$TMP"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || die "run as root (it creates network namespaces)"
for p in "$WSUP" "$WSDOWN" "$BUILD/wsd"; do [ -x "$p" ] || die "$p is missing: run make first"; done
command -v ip >/dev/null || die "ip (iproute2) is missing: run make deps"
if [ -x "$WS" ]; then
	genkey() { "$WS" genkey; }
	pubkey() { "$WS" pubkey; }
elif command -v wg >/dev/null; then
	genkey() { wg genkey; }
	pubkey() { wg pubkey; }
else
	die "$WS is missing: run make first"
fi
TMP=$(mktemp -d /tmp/wsdemo.XXXXXX)

say "Two namespaces joined by a veth pair"
for ns in "$NS_A" "$NS_B"; do
	ip netns add "$ns"
	NETNS+=("$ns")
	ip -n "$ns" link set lo up
done
ip link add veth-a netns "$NS_A" type veth peer name veth-b netns "$NS_B"
ip -n "$NS_A" addr add 198.18.0.1/24 dev veth-a
ip -n "$NS_B" addr add 198.18.0.2/24 dev veth-b
ip -n "$NS_A" link set veth-a up
ip -n "$NS_B" link set veth-b up
echo "$NS_A (198.18.0.1) <-> $NS_B (198.18.0.2)"

say "Keys, and the configs from configs/demo-*.conf"
key_a=$(genkey) key_b=$(genkey)
pub_a=$(pubkey <<<"$key_a") pub_b=$(pubkey <<<"$key_b")
# conf SRC DST PRIVATE PEER_PUBLIC: SRC with its example keys replaced.
conf() {
	(umask 077 && awk -v priv="$3" -v pub="$4" '
		/^[ \t]*PrivateKey[ \t]*=/ { print "PrivateKey = " priv; next }
		/^[ \t]*PublicKey[ \t]*=/ { print "PublicKey = " pub; next }
		{ print }' "$1" >"$2")
}
conf "$ROOT/configs/demo-a.conf" "$TMP/$IF_A.conf" "$key_a" "$pub_b"
conf "$ROOT/configs/demo-b.conf" "$TMP/$IF_B.conf" "$key_b" "$pub_a"
echo "a: public key $pub_a, interface $IF_A"
echo "b: public key $pub_b, interface $IF_B"

say "wsup on both ends"
ip netns exec "$NS_A" "$WSUP" "$TMP/$IF_A.conf"
UP+=("$NS_A $IF_A")
ip netns exec "$NS_B" "$WSUP" "$TMP/$IF_B.conf"
UP+=("$NS_B $IF_B")

say "Ping through the tunnel"
ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 2 198.19.0.2
ip netns exec "$NS_B" ping -c 3 -i 0.2 -W 2 fd19::1

show() { # show NS IFNAME
	echo "--- $1"
	if [ -x "$WS" ]; then
		ip netns exec "$1" "$WS" show "$2"
	else   # the control socket's own reply, private key left out
		printf 'get=1\n\n' | socat -t 5 - "UNIX-CONNECT:/run/wiresocket/$2.sock" | grep -v '^private_key='
	fi
}
say "The tunnel as each side sees it"
show "$NS_A" "$IF_A"
show "$NS_B" "$IF_B"

if command -v iperf3 >/dev/null; then
	say "3 seconds of TCP through the tunnel (iperf3)"
	ip netns exec "$NS_B" iperf3 -s -1 -B 198.19.0.2 >/dev/null &
	IPERF_PID=$!
	for ((i = 0; i < 50; i++)); do
		ip netns exec "$NS_B" ss -ltn | grep -q '198.19.0.2:5201' && break
		sleep 0.1
	done
	ip netns exec "$NS_A" iperf3 -c 198.19.0.2 -t 3
	wait "$IPERF_PID" || true
	IPERF_PID=
else
	say "iperf3 is not installed: no throughput test"
fi

say "wsdown on both ends"
for ((i = ${#UP[@]} - 1; i >= 0; i--)); do
	ip netns exec "${UP[i]%% *}" "$WSDOWN" "${UP[i]#* }"
	unset 'UP[i]'
done
echo
echo "demo: done"
