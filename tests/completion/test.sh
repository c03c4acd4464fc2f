#!/bin/bash
# SPDX-License-Identifier: MIT
# The bash completion of completions/ws: for each sample command line, set
# COMP_LINE/COMP_POINT/COMP_WORDS/COMP_CWORD as bash does, call the function
# `complete -p` names for the command, and compare COMPREPLY (sorted) with
# the expected words exactly. Interfaces come from a scratch run directory,
# config names from a scratch /etc directory (WS_RUN_DIR, WS_CONF_DIR), peer
# keys from a stand-in `ws` on PATH that prints the `ws show IFACE dump`
# format. Prints "N passed, M failed"; exits 1 on any failure.
set -u
export LC_ALL=C
COMPLETION=${1:-$(cd "$(dirname "$0")/../.." && pwd)/completions/ws}
TMP=$(mktemp -d /tmp/ws-completion.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

K1='xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg='
K2='HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw='
K3='TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0='
OWN='mY0rq/TMGbOJpTbDEOoROCd0X5zhNH7pXWHEJ10oU0s='

mkdir -p "$TMP/run" "$TMP/etc" "$TMP/bin" "$TMP/cwd/sub" "$TMP/cwd/dir.conf"
: >"$TMP/run/wg0.sock"; : >"$TMP/run/wg0.pid"; : >"$TMP/run/wg0.wsup"
: >"$TMP/run/wg1.sock"; : >"$TMP/run/wg1.pid"
: >"$TMP/run/a=b.sock"
: >"$TMP/run/stale.pid"; : >"$TMP/run/old.wsup.bak"
: >"$TMP/etc/home.conf"; : >"$TMP/etc/work.conf"; : >"$TMP/etc/notes.txt"
mkdir "$TMP/etc/dir.conf"
: >"$TMP/cwd/x.conf"; : >"$TMP/cwd/notes.txt"
# A stand-in ws: only `ws show IFACE dump`, in ws's dump format (the
# interface's line first, then one line per peer, the public key first).
cat >"$TMP/bin/ws" <<EOF
#!/bin/sh
[ \$# = 3 ] && [ "\$1" = show ] && [ "\$3" = dump ] || exit 1
case \$2 in
wg0) printf '%s\t51820\toff\t1420\t1465\t2\t4\t3\t1\n' '$OWN'
     printf '%s\t198.18.0.2:51820\t198.19.0.2/32\t1795500000\t1229\t3482\t25\n' '$K1'
     printf '%s\t(none)\t198.19.0.3/32\t0\t0\t0\toff\n' '$K2' ;;
wg1) printf '%s\t51821\toff\t1420\t1465\t2\t4\t3\t1\n' '$OWN'
     printf '%s\t(none)\t198.19.1.2/32\t0\t0\t0\toff\n' '$K3' ;;
*) echo "ws: no such interface" >&2; exit 1 ;;
esac
EOF
chmod +x "$TMP/bin/ws"
export PATH="$TMP/bin:$PATH" WS_RUN_DIR="$TMP/run" WS_CONF_DIR="$TMP/etc"
cd "$TMP/cwd" || exit 1

# shellcheck source=../../completions/ws
source "$COMPLETION" || { echo "cannot source $COMPLETION"; exit 1; }

pass=0 failed=0
# check LINE [EXPECTED...]: completing at the end of LINE yields exactly EXPECTED.
check() {
	local line=$1 spec func got want
	shift
	COMP_LINE=$line
	COMP_POINT=${#line}
	# As bash splits (COMP_WORDBREAKS): '=' and ':' are words of their own.
	read -r -a COMP_WORDS <<<"$(sed 's/[=:][=:]*/ & /g' <<<"$line")"
	[[ -z $line || $line == *' ' ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	# As bash looks compspecs up: the command as typed, then its basename.
	spec=$(complete -p "${COMP_WORDS[0]}" 2>/dev/null || complete -p "${COMP_WORDS[0]##*/}" 2>/dev/null)
	func=$(sed -n 's/.* -F \([^ ]*\) .*/\1/p' <<<"$spec")
	COMPREPLY=()
	if [[ -z $func ]]; then
		got="(no completion for ${COMP_WORDS[0]})"
	else
		"$func" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}"
		got=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
	fi
	want=$( (($#)) && printf '%s\n' "$@" | sort)
	if [[ $got == "$want" ]]; then
		pass=$((pass + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: '$line'"
		echo "  expected: $(tr '\n' ' ' <<<"$want")"
		echo "  got:      $(tr '\n' ' ' <<<"$got")"
	fi
}

OBJECTS=(genkey help link peer pubkey show showconf)
# objects, options, unique prefixes
check 'ws ' "${OBJECTS[@]}"
check 'ws p' peer pubkey
check 'ws sh' show showconf
check 'ws -' -json -stats -help -version
check 'ws -j ' "${OBJECTS[@]}"
check 'ws -j -s s' show showconf
check 'ws x'
check 'ws help ' "${OBJECTS[@]}"
check 'ws genkey '
# commands of link and peer
check 'ws peer ' add del help set show
check 'ws peer s' set show
check 'ws link ' add del help show
check 'ws li d' del
check 'ws link x'
# interface names: *.sock in WS_RUN_DIR
check 'ws link del ' a=b wg0 wg1
check 'ws link del w' wg0 wg1
check 'ws show ' a=b wg0 wg1
check 'ws show wg1' wg1
check 'ws show a=' b
check 'ws show wg0 ' dump
check 'ws show wg0 dump '
check 'ws showconf ' a=b wg0 wg1
check 'ws link show wg0 ' config
check 'ws link add new ' config
check 'ws link add new config ' dir.conf sub x.conf notes.txt
check 'ws peer add ' a=b wg0 wg1
check 'ws peer add wg0 '
# peer keys of the interface named, abbreviated words understood
check 'ws peer show wg0 ' "$K1" "$K2"
check 'ws pe sh wg0 ' "$K1" "$K2"
check 'ws peer del wg1 ' "$K3"
check 'ws peer set wg0 xT' "$K1"
check 'ws peer set nosuch '
check 'ws p s wg0 '
check 'ws peer s wg0 '
# keywords after the key ('=' ends the key: one word, not three)
check "ws peer set wg0 $K1 " allowed-ips endpoint persistent-keepalive
check "ws peer set wg0 $K1 e" endpoint
check "ws peer set wg0 $K1 allowed-ips 198.19.0.0/24 " endpoint persistent-keepalive
check "ws peer add wg0 $K2 al 198.19.0.2/32 endpoint 198.18.0.2:51820 " persistent-keepalive
check "ws peer set wg0 $K1 persistent-keepalive " 25 off
check "ws peer set wg0 $K1 endpoint "
check "ws peer del wg0 $K1 "
# wsup: config names, *.conf files and directories; wsdown: what wsup brought up
check 'wsup ' home work dir.conf sub x.conf
check 'wsup h' home
check 'wsup x' x.conf
check 'wsup s' sub
check 'wsup home '
check 'wsdown ' wg0 dir.conf sub x.conf
check 'wsdown w' wg0
check '/usr/bin/wsdown w' wg0

echo "completion: $pass passed, $failed failed"
[ "$failed" = 0 ]
