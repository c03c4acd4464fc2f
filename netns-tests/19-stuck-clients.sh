#!/bin/bash
# SPDX-License-Identifier: MIT
# Control socket clients that never send, send a byte at a time, or never
# read their (large) reply do not stall the daemon: sockets are non-blocking,
# each request has deadlines (2 s to arrive, 5 s for the reply to drain), and
# the ctl loop serves everything else meanwhile.
#
#   [a] 198.18.0.1/24 ----veth---- 198.18.0.2/24 [b]
#   tunnel a: 198.19.0.1/24, peer b and 2,000 idle peers (a `get` reply of
#             about 770 KB, more than the socket buffers hold)
#   tunnel b: 198.19.0.2/24, Endpoint 198.18.0.1:51820
#
# 1. For 8 s, 8 stuck clients hold every slot: 3 connect and never send, 3
#    send `get=1` and never read, 2 send one byte every 1.9 s (each of them
#    re-connects as soon as it is dropped). Meanwhile `ws show` (the whole
#    770 KB reply) answers within 3 s every half second, and b's daemon is
#    restarted: a answers its new handshake, b -> a pings within 3 s.
# 2. The deadlines: a silent client is told errno=110 (ETIMEDOUT) and closed
#    2 s after it connected, so is a trickling one; a client that never reads
#    is dropped 5 s after its request (it then finds less than the reply).
source "$(dirname "$0")/lib.sh"

ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"

ka=$(genkey); kb=$(genkey)
pa=$(pubkey <<<"$ka"); pb=$(pubkey <<<"$kb")
write_conf "$TMP/a.conf" "$ka" 51820 "$pb" "198.19.0.2/32" "198.18.0.2:51820"
# 2,000 idle peers: random public keys (no private key is needed for them).
python3 - "$TMP/a.conf" <<'EOF'
import base64, os, sys
with open(sys.argv[1], "a") as f:
    for i in range(2000):
        key = base64.b64encode(os.urandom(32)).decode()
        f.write(f"[Peer]\nPublicKey = {key}\nAllowedIPs = 198.19.{10 + i // 250}.{1 + i % 250}/32\n")
EOF
write_conf "$TMP/b.conf" "$kb" 51820 "$pa" "198.19.0.1/32" "198.18.0.1:51820"
start_wsd a "$TMP/a.conf" "${PFX}a" -m 1420
start_wsd b "$TMP/b.conf" "${PFX}b" -m 1420
ipn a addr add 198.19.0.1/24 dev "${PFX}a"; ipn a link set "${PFX}a" mtu 1420 up
ipn b addr add 198.19.0.2/24 dev "${PFX}b"; ipn b link set "${PFX}b" mtu 1420 up
wait_secs 10 n a ping -c 1 -W 1 198.19.0.2 || fail "a -> b"
full=$(ws_get "${PFX}a" | wc -c)
[ "$full" -gt 500000 ] || fail "the get reply is only $full bytes"
log "tunnel up; a's get reply is $full bytes"

cat >"$TMP/stuck.py" <<'EOF'
# stuck.py SOCK SECONDS: hold 8 stuck clients on SOCK for SECONDS, each
# re-connecting once dropped; print what the daemon did to the first of
# each kind (seconds to being closed, bytes received, first line).
import select, socket, sys, time
path, secs = sys.argv[1], float(sys.argv[2])
kinds = ["silent"] * 3 + ["noread"] * 3 + ["trickle"] * 2
start = time.monotonic()
def connect(kind):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(path)
    s.setblocking(False)
    if kind == "noread":
        s.sendall(b"get=1\n\n")
    return {"kind": kind, "sock": s, "t0": time.monotonic(), "sent": 0, "got": b"", "n": 0}
clients = [connect(k) for k in kinds]
first = {}
while time.monotonic() - start < secs:
    for i, c in enumerate(clients):
        now = time.monotonic()
        if c["kind"] == "trickle" and now - c["t0"] >= 1.9 * (c["sent"] + 1) and c["sent"] < 5:
            try:
                c["sock"].send(b"get=1\n\n"[c["sent"]:c["sent"] + 1]); c["sent"] += 1
            except OSError:
                pass
        if c["kind"] == "noread" and not c.get("hup"):
            # Never reads; notes when the daemon hangs up, then drains.
            p = select.poll()
            p.register(c["sock"], select.POLLRDHUP)
            if not p.poll(0):
                continue
            c["hup"] = now
        try:
            data = c["sock"].recv(1 << 20)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if data:
            c["got"] += data
            continue
        first.setdefault(c["kind"], (round(c.get("hup", now) - c["t0"], 2), len(c["got"]), c["got"][:20]))
        c["sock"].close()
        clients[i] = connect(c["kind"])
    time.sleep(0.02)
for k in ("silent", "noread", "trickle"):
    t, n, head = first.get(k, (-1, 0, b""))
    print(k, t, n, head.decode(errors="replace").split("\n")[0] or "-")
EOF

# ---- 1. stuck clients hold every slot; everything else goes on -------------------------
python3 "$TMP/stuck.py" "/run/wiresocket/${PFX}a.sock" 9 >"$TMP/stuck.out" 2>&1 &
SPID=$!
PIDS+=("$SPID")
sleep 0.5
slowest=0
for ((i = 0; i < 14; i++)); do
	t0=$(ms_now)
	got=$(timeout 10 "$WS" -j show "${PFX}a" | jq '.[0].peers | length') || fail "ws show failed while clients are stuck (probe $i)"
	ms=$(( $(ms_now) - t0 ))
	[ "$ms" -gt "$slowest" ] && slowest=$ms
	assert_eq "$got" 2001 "peers in ws show"
	[ "$ms" -lt 3000 ] || fail "ws show took $ms ms while clients are stuck (probe $i)"
	if [ "$i" = 3 ]; then
		eval "bpid=\$WSD_PID_${PFX}b"
		kill -KILL "$bpid"
		wait "$bpid" 2>/dev/null || true
		start_wsd b "$TMP/b.conf" "${PFX}b" -m 1420
		ipn b addr add 198.19.0.2/24 dev "${PFX}b"; ipn b link set "${PFX}b" mtu 1420 up
		wait_secs 3 n b ping -c 1 -W 1 198.19.0.1 || fail "b -> a: no handshake within 3 s while clients are stuck"
		hs_ms=$WAITED_MS
	fi
	sleep 0.5
done
wait "$SPID" || fail "stuck.py failed: $(cat "$TMP/stuck.out")"
log "1. ws show (2,001 peers) at most $slowest ms while 8 clients were stuck; b's new handshake served in $hs_ms ms"

# ---- 2. the deadlines -------------------------------------------------------------------
cat "$TMP/stuck.out" >&2
read -r _ st sn sl < <(grep '^silent ' "$TMP/stuck.out")
read -r _ nt nn _ < <(grep '^noread ' "$TMP/stuck.out")
read -r _ tt tn tl < <(grep '^trickle ' "$TMP/stuck.out")
in_range() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x <= hi) }'; }
in_range "$st" 1.9 3.0 || fail "a silent client was closed after $st s (want about 2)"
assert_eq "$sl" "errno=110" "what a silent client is told"
in_range "$tt" 1.9 3.0 || fail "a trickling client was closed after $tt s (want about 2)"
assert_eq "$tl" "errno=110" "what a trickling client is told"
in_range "$nt" 5.0 7.5 || fail "a client that never reads was dropped after $nt s (want about 5)"
[ "$nn" -lt "$full" ] || fail "a client that never reads got the whole reply ($nn bytes)"
n a ping -c 2 -i 0.2 -W 2 198.19.0.2 >/dev/null || fail "a -> b after the stuck clients"
log "2. silent client closed after $st s ($sl), trickling after $tt s ($tl), non-reading after $nt s ($nn of $full bytes)"
