#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails when a source file lacks its licence line: "SPDX-License-Identifier:
# MIT" in its first line, or in its second when the first is a "#!" or
# "#compdef" line.  make check runs it; it reads the list of
# scripts/files.sh, so it works in a git checkout and in a release tarball.
#
#     sh scripts/check-spdx.sh [DIR]
#
# Sources: code, scripts, build files and the manual page, that is
#   - names ending in .c .h .sh .mk .bash .fish .zsh .py .awk .1 .spec;
#   - Makefile, debian/rules, debian/control, .ci/run, completions/_qmpctl;
#   - any other file whose first line is "#!" (a script).
# Data, never checked: the fault cases (tests/faults/CASE/*), the fuzz
# corpora and transcripts (fuzz/corpus/, fuzz/transcripts/); nor are the
# documents (*.md, LICENSE), VERSION and the Debian files in formats of
# their own (debian/changelog, copyright, docs, source/format).
set -eu
top=$(cd "${1:-$(dirname "$0")/..}" && pwd)
list=$(sh "$(dirname "$0")/files.sh" "$top")
cd "$top"

# is_source FILE: FILE is a source by the rules above.
is_source() {
	case $1 in
	tests/faults/*/*|fuzz/corpus/*|fuzz/transcripts/*) return 1 ;;
	*.c|*.h|*.sh|*.mk|*.bash|*.fish|*.zsh|*.py|*.awk|*.1|*.spec) return 0 ;;
	Makefile|*/Makefile|debian/rules|debian/control|.ci/run) return 0 ;;
	completions/_qmpctl) return 0 ;;
	esac
	[ "$(head -c 2 "$1")" = '#!' ]
}

bad=0 n=0
spdx='SPDX-License-Identifier: MIT'
while IFS= read -r f; do
	is_source "$f" || continue
	n=$((n + 1))
	first=$(head -n 1 "$f")
	case $first in
	*"$spdx"*) continue ;;
	'#!'*|'#compdef'*)
		case $(sed -n 2p "$f") in *"$spdx"*) continue ;; esac ;;
	esac
	echo "check-spdx: $f: no \"$spdx\" line at the top" >&2
	bad=$((bad + 1))
done <<EOT
$list
EOT
if [ "$bad" -ne 0 ]; then
	echo "check-spdx: $bad of $n sources lack their licence line" >&2
	exit 1
fi
echo "check-spdx: $n sources, each with its licence line"
