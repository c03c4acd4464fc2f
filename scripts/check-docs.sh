#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make layers`: what the docs and comments point at exists in the tree.
#
#   references  "DECISIONS 23" (also "DECISIONS 29-30", "DECISIONS 11, 12") names
#               item 23 of docs/spec/DECISIONS.md; "spec 10", "spec section 9.2",
#               "spec §9.2" a section of docs/spec/wiresocket-v1.md (docs/README.md).
#               Each must exist, in src/ cmd/ tests/ docs/ man/ bench/ netns-tests/
#               and README.md; nothing there points outside the project.
#   file names  every file named in docs/*.md and README.md (src/os/udp.c, a bare
#               tx.c, core/noise.h, bench/run.sh, ...) exists: as written from
#               the top of the tree or the doc's folder, under src/, or, for a bare name, somewhere
#               in src/ cmd/ tests/ bench/ scripts/ docs/ man/.
set -u
fail=0
err() { echo "docs: $*" >&2; fail=1; }
SPEC=docs/spec/wiresocket-v1.md
DEC=docs/spec/DECISIONS.md
for f in $SPEC $DEC; do [ -f "$f" ] || { echo "docs: no $f" >&2; exit 1; }; done

sources() {
	find src cmd tests docs man bench netns-tests README.md -type f \
		-not -path 'docs/spec/*' -not -path '*/corpus/*' -not -path 'tests/vectors/*' | sort
}

# Numbers of a list "11, 12, 15-16" (ranges give both ends).
numbers() { echo "$1" | grep -oE '[0-9]+(\.[0-9]+)*'; }

n_refs=0
while IFS= read -r f; do
	while IFS=: read -r line ref; do
		list=${ref#DECISIONS}
		for n in $(numbers "$list"); do
			n_refs=$((n_refs + 1))
			grep -qE "^$n\. " $DEC || err "$f:$line: \"$ref\": $DEC has no item $n"
		done
	done < <(grep -noE 'DECISIONS( items?)? [0-9]+(-[0-9]+)?((, ?| and )[0-9]+(-[0-9]+)?)*' "$f")
	while IFS=: read -r line ref; do
		list=$(echo "$ref" | sed -E 's/^[Ss]pec( sections?)?//')
		for n in $(numbers "$list"); do
			n_refs=$((n_refs + 1))
			grep -qE "^#+ ${n//./\\.}[. ]" $SPEC || err "$f:$line: \"$ref\": $SPEC has no section $n"
		done
	done < <(grep -noE '[Ss]pec( sections?)? ?§?[0-9]+(\.[0-9]+)*(-[0-9]+(\.[0-9]+)*)?((, ?| and )§?[0-9]+(\.[0-9]+)*(-[0-9]+(\.[0-9]+)*)?)*' "$f")
	while IFS=: read -r line ref; do
		err "$f:$line: \"$ref\" points outside the project"
	done < <(grep -noE 'BRIEF|[Tt]he brief|\.\./shared' "$f")
done < <(sources)

exists() {   # name as written in DOC
	local p=$1 doc=$2
	compgen -G "$p" >/dev/null && return 0
	compgen -G "$(dirname "$doc")/$p" >/dev/null && return 0
	compgen -G "src/$p" >/dev/null && return 0
	case $p in */*) return 1;; esac
	[ -n "$(find src cmd tests bench scripts docs man -name "$p" -print -quit)" ]
}

n_files=0
for f in docs/*.md README.md; do
	while IFS=: read -r line p; do
		case $p in ../*) continue;; esac
		base=${p##*/}
		[[ $base =~ ^[A-Za-z0-9_*-]+\.(c|h|sh|md)$ ]] || continue
		n_files=$((n_files + 1))
		exists "$p" "$f" || err "$f:$line: names $p, which does not exist"
	done < <(grep -noE '(^|[^<A-Za-z0-9_./-])[.]?[A-Za-z0-9_*][A-Za-z0-9_./*-]*\.(c|h|sh|md)\b' "$f" |
		sed -E 's/^([0-9]+):[^.A-Za-z0-9_*]?/\1:/')
done

[ $fail -eq 0 ] || { echo "docs: FAILED (scripts/check-docs.sh)" >&2; exit 1; }
echo "docs: $n_refs references into docs/spec resolve; $n_files file names in docs exist"
