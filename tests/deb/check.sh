#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/deb/check.sh DEB: the package's files are exactly those of
# `make install DESTDIR=... PREFIX=/usr`: the same paths, types, modes and
# symlink targets (man pages compressed by the package), and the same
# contents for everything but the ELF programs (stripped and built with
# other flags in the package). Only the files Debian adds are ignored: the
# copyright, changelog.Debian.gz and the lintian overrides.
set -euo pipefail
export LC_ALL=C
deb=${1:?usage: tests/deb/check.sh DEB}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d /tmp/ws-debcheck.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

make -s install DESTDIR="$tmp/inst" PREFIX=/usr >/dev/null
dpkg-deb -x "$deb" "$tmp/deb"

# "TYPE+MODE PATH[ -> TARGET]" for each entry of a tree, man pages without .gz.
listing() {
	(cd "$1" && find . -mindepth 1 \( -type l -printf '%M %p -> %l\n' \) -o -printf '%M %p\n') | normalise
}
# Man pages without .gz, the root and the files only Debian adds left out.
normalise() {
	sed -E 's#^(.* \./usr/share/man/[^ ]*)\.gz#\1#; s#( -> [^ ]*)\.gz$#\1#' |
		grep -vE ' \./?$| \./usr/share/doc/wiresocket/(copyright|changelog\.Debian\.gz)$| \./usr/share/lintian(/|$)' |
		sort
}

# Paths, types, modes, links: as dpkg-deb -c lists them, and as unpacked.
listing "$tmp/inst" >"$tmp/inst.list"
listing "$tmp/deb" >"$tmp/deb.list"
dpkg-deb -c "$deb" | awk '{ p = $6; for (i = 7; i <= NF; i++) p = p " " $i; print $1, p }' |
	sed -E 's#/( |$)#\1#' | normalise >"$tmp/debc.list"
fail=0
if ! diff -u "$tmp/inst.list" "$tmp/debc.list" >"$tmp/diff" ||
	! diff -u "$tmp/inst.list" "$tmp/deb.list" >>"$tmp/diff"; then
	echo "deb-check: the package's files differ from make install's (- make install, + package):"
	cat "$tmp/diff"
	fail=1
fi

# Contents of everything that is not a program.
while read -r mode path _; do
	[ "${mode:0:1}" = - ] || continue
	inst="$tmp/inst/$path"
	pkg="$tmp/deb/$path"
	case $path in ./usr/share/man/*) pkg="$pkg.gz" ;; esac
	[ -e "$pkg" ] || continue  # reported above
	head -c 4 "$inst" | grep -q $'^\x7fELF' && continue
	case $pkg in
	*.gz) gzip -dc "$pkg" | cmp -s - "$inst" ;;
	*) cmp -s "$pkg" "$inst" ;;
	esac || { echo "deb-check: $path: the package's content differs from make install's"; fail=1; }
done <"$tmp/inst.list"

[ "$fail" = 0 ] && echo "deb-check: $(wc -l <"$tmp/inst.list") entries match make install PREFIX=/usr"
exit "$fail"
