#!/bin/sh
# SPDX-License-Identifier: MIT
# scripts/deb-build.sh [OUTDIR]: build the Debian package of qmpctl and put
# the .deb files in OUTDIR (default build/deb); print the path of the
# qmpctl .deb on stdout.
#
# dpkg-buildpackage writes its results next to the source tree and cleans
# the tree, so it works on a scratch copy of the source files (tracked or
# new, not the ignored build outputs), which is removed afterwards: the
# working tree is left as it was.  Needs dpkg-dev, debhelper and the
# Build-Depends of debian/control; no root.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-build/deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

for tool in dpkg-buildpackage dh; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "deb-build: $tool not found (apt-get install dpkg-dev debhelper)" >&2
		exit 1
	fi
done

version=$(cd "$top" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/qmpctl-deb.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
src=$scratch/qmpctl-$version
mkdir "$src"

# The source files: what git knows or would add, else the whole tree but
# for .git and build/.
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard) |
	    (cd "$top" && xargs -0 sh -c 'for f; do
		[ -e "$f" ] && printf "%s\n" "$f"; done' _) >"$scratch/files"
	tar -C "$top" -cf - -T "$scratch/files" | tar -C "$src" -xf -
else
	tar -C "$top" --exclude=./.git --exclude=./build -cf - . |
	    tar -C "$src" -xf -
fi

start=$(date +%s)
if ! (cd "$src" && dpkg-buildpackage -b -us -uc) >"$scratch/build.log" 2>&1; then
	echo "deb-build: dpkg-buildpackage failed; the end of its log:" >&2
	tail -n 40 "$scratch/build.log" >&2
	exit 1
fi
echo "deb-build: built in $(($(date +%s) - start)) s" >&2

deb=qmpctl_${version}_$arch.deb
if [ ! -f "$scratch/$deb" ]; then
	echo "deb-build: $deb was not made; made: $(ls "$scratch")" >&2
	exit 1
fi
cp "$scratch"/*.deb "$out"/
printf '%s\n' "$out/$deb"
