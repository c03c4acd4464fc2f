#!/bin/bash
# SPDX-License-Identifier: MIT
# The Debian package end to end (make deb-check; root): build it, lintian
# (any error or warning fails), its files against `make install`
# (tests/deb/check.sh), install it, check the system user, /etc/wiresocket,
# the completion and the unit (systemd-analyze verify, where systemd is
# installed), then a smoke test from the installed paths: two private network
# namespaces of this run, /usr/bin/wsup FILE in each, a ping through the
# tunnel, /usr/bin/ws show, /usr/bin/wsdown FILE. Then purge, and remove the
# _wiresocket user if this run created it (purge leaves it, as Debian does).
# Refuses to run where wiresocket is installed already (package or
# make install PREFIX=/usr): it would be replaced and purged.
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { echo "deb-check: $*"; }
die() { echo "deb-check: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs and purges the package)"
state=$(dpkg-query -W -f='${db:Status-Status}' wiresocket 2>/dev/null || true)
if [ -n "$state" ] && [ "$state" != not-installed ]; then
	die "refusing: the package wiresocket is on this machine ($(dpkg-query -W -f='${Version}, ${db:Status-Status}' wiresocket)); this test would replace and purge it"
fi
for f in /usr/bin/ws /usr/bin/wsd /usr/bin/wsup /usr/bin/wsdown /usr/lib/systemd/system/wsup@.service; do
	[ ! -e "$f" ] && [ ! -L "$f" ] ||
		die "refusing: $f exists (installed by hand?); this test would overwrite it and purge it"
done
user_before=$(getent passwd _wiresocket || true)
group_before=$(getent group _wiresocket || true)
skipped=0 passed=0
ok() { passed=$((passed + 1)); say "ok: $*"; }
skip() { skipped=$((skipped + 1)); say "SKIP: $*"; }

# ---- build, lint, compare ----------------------------------------------------------
t0=$(date +%s)
make -s deb DEB_FLAGS=-J2 >/tmp/ws-deb-build.log 2>&1 || { tail -40 /tmp/ws-deb-build.log; die "make deb failed (log: /tmp/ws-deb-build.log)"; }
deb=$(ls build/wiresocket_*.deb)
changes=$(ls build/wiresocket_*.changes)
ok "built $deb in $(($(date +%s) - t0)) s"
out=$(lintian --fail-on error,warning --info --pedantic "$changes" 2>&1) ||
	{ echo "$out"; die "lintian reported errors or warnings"; }
say "lintian --info --pedantic $changes:"
echo "${out:-(nothing)}" | sed 's/^/    /'
say "lintian overrides (debian/wiresocket.lintian-overrides): $(grep -v '^#' debian/wiresocket.lintian-overrides | cut -d' ' -f2 | tr '\n' ' ')"
ok "lintian: no error, no warning"
bash tests/deb/check.sh "$deb"
ok "the package's files are make install's"

# ---- install -----------------------------------------------------------------------
# shellcheck source=../../netns-tests/lib.sh
source netns-tests/lib.sh
WS=/usr/bin/ws WSUP=/usr/bin/wsup WSDOWN=/usr/bin/wsdown
A=${PFX}a B=${PFX}b
installed=0
teardown() {
	set +e
	if [ "$installed" = 1 ]; then
		for i in "$A" "$B"; do
			[ -e "/run/wiresocket/$i.wsup" ] && ip netns exec "$PFX${i: -1}" "$WSDOWN" "$TMP/$i.conf" >/dev/null 2>&1
		done
	fi
	cleanup
	if [ "$installed" = 1 ]; then
		dpkg --purge wiresocket >/tmp/ws-deb-purge.log 2>&1 || cat /tmp/ws-deb-purge.log >&2
	fi
	# A user and group this run created go again; one that was there stays.
	if [ -z "$user_before" ] && getent passwd _wiresocket >/dev/null; then
		userdel _wiresocket || say "WARNING: could not remove the user _wiresocket this run created (a process of another test uses it?)"
	fi
	if [ -z "$group_before" ] && getent group _wiresocket >/dev/null; then groupdel _wiresocket 2>/dev/null; fi
}
trap teardown EXIT

installed=1
dpkg -i "$deb" >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; die "dpkg -i $deb failed"; }
ok "installed"
for f in /usr/bin/ws /usr/bin/wsd /usr/bin/wsup /usr/share/man/man8/ws.8.gz \
	/usr/share/bash-completion/completions/ws /usr/share/doc/wiresocket/examples/hub.conf; do
	[ -f "$f" ] || die "$f is not installed"
done
[ "$(readlink -f /usr/bin/wsdown)" = /usr/bin/wsup ] || die "/usr/bin/wsdown is not a link to wsup"
[ "$(stat -c '%a %U' /etc/wiresocket)" = "700 root" ] || die "/etc/wiresocket: $(stat -c '%a %U' /etc/wiresocket), expected 700 root"
pw=$(getent passwd _wiresocket) || die "postinst did not create the user _wiresocket"
IFS=: read -r _ _ uid _ _ home shell <<<"$pw"
[ "$uid" -lt 1000 ] && [ "$home" = /nonexistent ] && [ ! -e /nonexistent ] && [ "$shell" = /usr/sbin/nologin ] ||
	die "_wiresocket is not a system user without home and login shell: $pw"
getent group _wiresocket >/dev/null || die "no group _wiresocket"
ok "_wiresocket: uid $uid, home $home (absent), shell $shell; /etc/wiresocket 0700 root"
for c in ws wsup wsdown; do
	[ "$(readlink -f "/usr/share/bash-completion/completions/$c")" = /usr/share/bash-completion/completions/ws ] ||
		die "completion for $c is not /usr/share/bash-completion/completions/ws"
done
bash tests/completion/test.sh /usr/share/bash-completion/completions/ws >"$TMP/completion.log" ||
	{ cat "$TMP/completion.log"; die "the installed completion fails its test"; }
ok "installed completion: $(tail -1 "$TMP/completion.log")"

# ---- the unit ----------------------------------------------------------------------
if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze verify: systemd is not installed here"
else
	man_opt=()
	command -v man >/dev/null || { man_opt=(--man=no); say "man is not installed: verify without checking Documentation="; }
	out=$(systemd-analyze verify "${man_opt[@]}" /usr/lib/systemd/system/wsup@.service 2>&1) ||
		{ echo "$out"; die "systemd-analyze verify wsup@.service failed"; }
	[ -z "$out" ] || { echo "$out"; die "systemd-analyze verify wsup@.service: warnings"; }
	ok "systemd-analyze verify /usr/lib/systemd/system/wsup@.service: clean"
fi

# ---- smoke test in two namespaces of this run -------------------------------------
ns_add a b
veth a va b vb
ipn a addr add 198.18.0.1/24 dev "${PFX}va"
ipn b addr add 198.18.0.2/24 dev "${PFX}vb"
ka=$("$WS" genkey); kb=$("$WS" genkey)
pa=$("$WS" pubkey <<<"$ka"); pb=$("$WS" pubkey <<<"$kb")
# conf NAME PRIV ADDRESS PEER_PUB PEER_ADDRESS ENDPOINT
conf() {
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\nAddress = %s/24\n[Peer]\nPublicKey = %s\nAllowedIPs = %s/32\nEndpoint = %s:51820\n' \
		"$2" "$3" "$4" "$5" "$6" >"$TMP/$1.conf"
	chmod 600 "$TMP/$1.conf"
}
conf "$A" "$ka" 198.19.0.1 "$pb" 198.19.0.2 198.18.0.2
conf "$B" "$kb" 198.19.0.2 "$pa" 198.19.0.1 198.18.0.1
n a "$WSUP" "$TMP/$A.conf" 2>"$TMP/up-a.log" || { cat "$TMP/up-a.log"; die "/usr/bin/wsup $A failed"; }
n b "$WSUP" "$TMP/$B.conf" 2>"$TMP/up-b.log" || { cat "$TMP/up-b.log"; die "/usr/bin/wsup $B failed"; }
grep -q "^\[#\] /usr/bin/wsd " "$TMP/up-a.log" || { cat "$TMP/up-a.log"; die "wsup did not start /usr/bin/wsd"; }
n a ping -c 3 -i 0.2 -W 2 198.19.0.2 >"$TMP/ping.log" 2>&1 || { cat "$TMP/ping.log"; die "no ping through the tunnel"; }
show=$(n a "$WS" show "$A") || die "/usr/bin/ws show $A failed"
grep -q "peer: $pb" <<<"$show" && grep -q "latest handshake" <<<"$show" ||
	{ echo "$show"; die "ws show $A: no peer $pb with a handshake"; }
pid=$(cat "/run/wiresocket/$A.pid")
ok "wsup, ping through the tunnel, ws show (wsd pid $pid runs as $(ps -o user= -p "$pid"))"
n a "$WSDOWN" "$TMP/$A.conf" 2>"$TMP/down-a.log" || { cat "$TMP/down-a.log"; die "/usr/bin/wsdown $A failed"; }
n b "$WSDOWN" "$TMP/$B.conf" 2>"$TMP/down-b.log" || { cat "$TMP/down-b.log"; die "/usr/bin/wsdown $B failed"; }
! ipn a link show "$A" >/dev/null 2>&1 || die "$A still exists after wsdown"
# Gone, or a zombie that this machine's PID 1 has not reaped.
[ ! -e "/proc/$pid" ] || grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" || die "wsd $pid still runs after wsdown"
ok "wsdown: interface and daemon gone"

# ---- purge -------------------------------------------------------------------------
dpkg --purge wiresocket >"$TMP/purge.log" 2>&1 || { cat "$TMP/purge.log"; die "dpkg --purge failed"; }
installed=0
for f in /usr/bin/ws /usr/bin/wsd /usr/bin/wsup /usr/bin/wsdown /etc/wiresocket /usr/lib/systemd/system/wsup@.service \
	/usr/share/bash-completion/completions/ws; do
	[ ! -e "$f" ] && [ ! -L "$f" ] || die "$f is left after purge"
done
getent passwd _wiresocket >/dev/null || die "purge removed the user _wiresocket (it should stay)"
ok "purged: files gone, the user _wiresocket kept (removed again below if this run created it)"
say "$passed passed, 0 failed, $skipped skipped"
