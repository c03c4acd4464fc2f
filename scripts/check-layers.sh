#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make layers`: the layer rules of docs/architecture.md, checked on the tree
# (includes) and on the core objects (symbols). Usage: check-layers.sh [BUILD_DIR]
#
#   cmd -> daemon -> {os, conf} -> core
#   core    includes core, and of the system only the headers in CORE_SYS (types,
#           strings, memory, address types); <sodium.h>/<blake2.h> only in
#           core/crypto.c; its objects call no libc function outside CORE_LIBC
#           (no syscall: no clock, thread, file, socket, DNS) and no ws_ function
#           that core does not define
#   conf    includes conf and core; of its objects only conf_load.o opens or
#           reads a file
#   os      includes os and core
#   daemon  includes daemon, os, conf and core
#   cmd/ws, cmd/wsup never include daemon/ headers
#   every include of a src header names its folder ("core/noise.h", -Isrc only);
#   outside src/ no include climbs out of its folder ("../x"): a test harness
#   header is named alone ("test.h"), a program's as "ws/ws.h" (-Icmd)
set -u
B=${1:-build}
fail=0
err() { echo "layers: $*" >&2; fail=1; }

CORE_SYS=" stdint.h stddef.h stdbool.h stdatomic.h stdarg.h string.h strings.h errno.h stdlib.h
	stdio.h ctype.h limits.h assert.h sys/types.h sys/socket.h netinet/in.h arpa/inet.h
	linux/virtio_net.h "
CORE_LIBC=" memcpy memmove memset memcmp memchr strlen strnlen strchr strrchr strcmp strncmp
	strcpy strncpy strstr strspn strcspn strtol strtoul strtoll strtoull snprintf sprintf
	vsnprintf malloc calloc realloc free qsort bsearch abort inet_ntop inet_pton
	__errno_location __stack_chk_fail __assert_fail __popcountdi2 __popcountsi2 "
CRYPTO_LIBS='^(sodium_|crypto_|randombytes_|blake2)'

may_include() {   # layer -> the layers its files may include
	case $1 in
	core) echo " core ";;
	conf) echo " conf core ";;
	os) echo " os core ";;
	daemon) echo " daemon os conf core ";;
	esac
}

# includes FILE: one "q path" or "s path" line per #include (quoted / system)
includes() {
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/q \1/p
		s/^[[:space:]]*#[[:space:]]*include[[:space:]]*<\([^>]*\)>.*/s \1/p' "$1"
}

for f in src/*; do
	case $f in
	src/core|src/conf|src/os|src/daemon) ;;
	*) err "$f: every source lives in src/core, src/conf, src/os or src/daemon";;
	esac
done

# The layers.
for f in src/*/*.[ch]; do
	layer=${f#src/}; layer=${layer%%/*}
	ok=$(may_include "$layer")
	while read -r kind path; do
		if [ "$kind" = q ]; then
			case $path in
			*/*/*|../*) err "$f: \"$path\": name a layer folder, not a path"; continue;;
			*/*) ;;
			*) err "$f: \"$path\" does not name its folder"; continue;;
			esac
			[ -e "src/$path" ] || { err "$f: \"$path\": no such file"; continue; }
			case $ok in *" ${path%%/*} "*) ;;
			*) err "$f: includes \"$path\": $layer may include only$ok";;
			esac
		else
			case $path in
			sodium.h|blake2.h)
				[ "$f" = src/core/crypto.c ] || err "$f: <$path> only in src/core/crypto.c";;
			*)
				if [ "$layer" = core ]; then
					case $CORE_SYS in *[[:space:]]"$path"[[:space:]]*) ;;
					*) err "$f: <$path> is not for core (it may use:$(echo $CORE_SYS))";;
					esac
				fi;;
			esac
		fi
	done < <(includes "$f")
done

# Outside src/: folders named, and the clients stay off the daemon.
while IFS= read -r f; do
	while read -r kind path; do
		[ "$kind" = q ] || continue
		case $path in
		*src/*) err "$f: \"$path\": with -Isrc, name the layer (\"core/x.h\")"; continue;;
		../*|*/../*) err "$f: \"$path\": no relative path (\"core/x.h\" from src, \"test.h\" from tests, \"ws/ws.h\" from cmd)"; continue;;
		esac
		base=${path##*/}
		if [ "$path" = "$base" ] && [ ! -e "$(dirname "$f")/$base" ] && ls src/*/"$base" >/dev/null 2>&1; then
			err "$f: \"$base\" does not name its folder"
		fi
		case $f:$path in
		cmd/ws/*:daemon/*|cmd/wsup/*:daemon/*) err "$f: includes \"$path\": ws and wsup never include daemon headers";;
		esac
	done < <(includes "$f")
done < <(find cmd tests bench -name '*.[ch]' -not -path '*/corpus/*' | sort)

# Core's objects: no syscall, no reach into other layers.
objs=$(ls "$B"/obj/src/core/*.o 2>/dev/null)
if [ -z "$objs" ]; then
	err "no $B/obj/src/core/*.o: build them first (make layers does)"
else
	defined=" $(nm --defined-only -g $objs 2>/dev/null | awk 'NF==3 {print $3}' | tr '\n' ' ') "
	for o in $objs; do
		for sym in $(nm -u "$o" | awk '{print $2}'); do
			case $defined in *" $sym "*) continue;; esac
			case $CORE_LIBC in *[[:space:]]"$sym"[[:space:]]*) continue;; esac
			case $sym in __*_chk) continue;; esac
			if [ "${o##*/}" = crypto.o ] && [[ $sym =~ $CRYPTO_LIBS ]]; then continue; fi
			src=src/core/$(basename "$o" .o).c
			case $sym in
			ws_*) err "$src: calls $sym, which core does not define";;
			*) err "$src: calls $sym (not a pure libc function; pass its result in, or move the call to os/ or daemon/)";;
			esac
		done
	done
fi

# Conf: only conf_load.c opens files, so the parse (and the config fuzzer, which
# links conf without conf_load.o) cannot open a path its input names.
CONF_FILE_CALLS='^(open|open64|openat|openat64|fopen|fopen64|creat|stat|fstat|lstat|read|mmap)$'
for o in "$B"/obj/src/conf/*.o; do
	[ -e "$o" ] && [ "${o##*/}" != conf_load.o ] || continue
	for sym in $(nm -u "$o" | awk '{print $2}'); do
		[[ $sym =~ $CONF_FILE_CALLS ]] &&
			err "src/conf/$(basename "$o" .o).c: calls $sym (only conf_load.c opens or reads files)"
	done
done

if [ $fail -ne 0 ]; then
	echo "layers: FAILED (rules: scripts/check-layers.sh, docs/architecture.md)" >&2
	exit 1
fi
echo "layers: $(ls src/*/*.[ch] | wc -l) files in core/conf/os/daemon follow the include rules; core makes no syscall"
