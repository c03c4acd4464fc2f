#!/bin/bash
# SPDX-License-Identifier: MIT
# Config errors stop wsup before it does anything.
#
#   [e] (one namespace, no links but lo)
#
# For each error class wsup exits 1 with exactly "wsup: FILE:LINE: Key: ..."
# on stderr, echoes no "[#]" step, and leaves no interface, route, rule,
# process or run file. Bad names and missing files fail the same way.
source "$(dirname "$0")/lib.sh"

ns_add e
E=${PFX}e
F=$TMP/$E.conf
k=$(genkey)
kp=$(genkey | pubkey)
long=$(printf 'x%.0s' {1..200})

snapshot() {
	ipn e -4 route show table all
	ipn e -6 route show table all
	ipn e -4 rule show
	ipn e -6 rule show
	ipn e link show
}
snapshot >"$TMP/before"

# expect_error MESSAGE -- LINE...: write LINE... to $F, run wsup $F, expect MESSAGE.
expect_error() {
	local want=$1 rc=0
	shift 2
	printf '%s\n' "$@" >"$F"
	chmod 600 "$F"
	n e "$WSUP" "$F" >"$TMP/stdout" 2>"$TMP/stderr" || rc=$?
	assert_eq "$rc" 1 "exit status for '$want'"
	assert_eq "$(cat "$TMP/stderr")" "wsup: $want" "message"
	[ ! -s "$TMP/stdout" ] || fail "stdout not empty: $(cat "$TMP/stdout")"
	assert_nothing_done
}
assert_nothing_done() {
	snapshot >"$TMP/after"
	diff -u "$TMP/before" "$TMP/after" >&2 || fail "routes, rules or links changed"
	! pgrep -f "wsd .* $E\$" >/dev/null || fail "a wsd for $E runs"
	! ls /run/wiresocket/"$E".* >/dev/null 2>&1 || fail "run files left: $(ls /run/wiresocket/"$E".*)"
}

I="[Interface]"
P="PrivateKey = $k"
expect_error "$F:3: Foo: unknown key in [Interface]" -- \
	"$I" "$P" "Foo = bar"
expect_error "$F:5: AllowedIPs: '198.19.0.300/32' is not a prefix" -- \
	"$I" "$P" "[Peer]" "PublicKey = $kp" "AllowedIPs = 198.19.0.300/32"
expect_error "$F:6: AllowedIPs: '198.19.0.0/33' is not a prefix" -- \
	"$I" "$P" "[Peer]" "PublicKey = $kp" "AllowedIPs = 198.19.0.1/32," "  198.19.0.0/33"
expect_error "$F:4: PublicKey: 'abc' is not a base64-encoded 32-byte key" -- \
	"$I" "$P" "[Peer]" "PublicKey = abc"
expect_error "$F:2: PrivateKey: not a base64-encoded 32-byte key (value not shown)" -- \
	"$I" "PrivateKey = ${k%??}"
expect_error "$F:3: ListenPort: '65536' is not a port (0-65535)" -- \
	"$I" "$P" "ListenPort = 65536"
expect_error "$F:4: ListenPort: set twice (first on line 3) '51822'" -- \
	"$I" "$P" "ListenPort = 51821" "ListenPort = 51822"
expect_error "$F:5: Endpoint: set twice (first on line 4) '198.18.0.2:51820'" -- \
	"$I" "$P" "[Peer]" "Endpoint = 198.18.0.1:51820" "Endpoint = 198.18.0.2:51820" "PublicKey = $kp"
expect_error "$F:3: PublicKey: missing in this [Peer]" -- \
	"$I" "$P" "[Peer]" "AllowedIPs = 198.19.0.1/32" "[Peer]" "PublicKey = $kp"
expect_error "$F:3: line is 209 characters long, the limit is 199 (write long lists as repeated keys or indented continuation lines)" -- \
	"$I" "$P" "PostUp = $long" "[Peer]" "PublicKey = $kp"
expect_error "$F:3: PostUp: ' ;' starts a comment, so 'a ; b' would be cut to 'a': remove the space before ';' or put the commands in a script" -- \
	"$I" "$P" "PostUp = a ; b"
expect_error "$F: PrivateKey: missing in [Interface] (give PrivateKey or PrivateKeyFile)" -- \
	"$I" "ListenPort = 51820"
expect_error "$F:3: MTU: '1279' is not an MTU (1280-65535, or 0 for the default)" -- \
	"$I" "$P" "MTU = 1279"
expect_error "$F:5: Endpoint: '198.18.0.1' is not an endpoint (host:port, a.b.c.d:port or [v6addr]:port)" -- \
	"$I" "$P" "[Peer]" "PublicKey = $kp" "Endpoint = 198.18.0.1"
expect_error "$F:3: Table: 'mian' is not a routing table (auto, off, main or 1-4294967294)" -- \
	"$I" "$P" "Table = mian"
expect_error "$F:3: PublicKey: belongs in [Peer], not in [Interface]" -- \
	"$I" "$P" "PublicKey = $kp"
log "config errors: exit 1, exact FILE:LINE: Key: message, nothing done: ok"

# Names and files.
expect_usage() { # expect_usage MESSAGE ARG
	local rc=0
	n e "$WSUP" "$2" 2>"$TMP/stderr" || rc=$?
	assert_eq "$rc" 1 "exit status for $2"
	assert_eq "$(cat "$TMP/stderr")" "wsup: $1" "message"
	assert_nothing_done
}
expect_usage "'bad name' is not an interface name (1-15 of a-z A-Z 0-9 _ = + . -)" "bad name"
expect_usage "'$TMP/abcdefghijklmnop.conf': a config file must be named IFNAME.conf, IFNAME being 1-15 of a-z A-Z 0-9 _ = + . -" "$TMP/abcdefghijklmnop.conf"
expect_usage "$TMP/${PFX}x.conf: cannot read: No such file or directory" "$TMP/${PFX}x.conf"
expect_usage "/etc/wiresocket/${PFX}x.conf: cannot read: No such file or directory" "${PFX}x"
log "bad names and missing files: exit 1, nothing done: ok"
