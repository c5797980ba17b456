#!/bin/sh
# SPDX-License-Identifier: MIT
# make dist: writes qmpctl-VERSION.tar.gz (or OUT), the release tarball:
# the files of scripts/files.sh (git ls-files in a checkout, MANIFEST in a
# release) under qmpctl-VERSION/, plus MANIFEST, their list.  The same tree
# gives the same bytes: names sorted, every mtime that of the last commit
# (in a release: MANIFEST's, which the tarball set to it), owner and group
# 0 by number, modes 644 and 755, gzip -n.
#
#     sh scripts/dist.sh [OUT]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
version=$(cat VERSION)
name=qmpctl-$version
out=${1:-$name.tar.gz}
case $out in /*) ;; *) out=$top/$out ;; esac

sh scripts/files.sh >/dev/null	# fails, with its message, outside a tree
if [ "$(git rev-parse --show-toplevel 2>/dev/null || :)" = "$top" ]; then
	epoch=$(git log -1 --format=%ct)
	if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
		echo "dist: note: tracked files changed since the last commit" \
		    "are shipped as they are now" >&2
	fi
else
	epoch=$(stat -c %Y MANIFEST)
fi

mkdir -p build
stage=$(mktemp -d "$top/build/dist.XXXXXX")
trap 'rm -rf "$stage"' EXIT
sh scripts/files.sh >"$stage/list"
mkdir "$stage/$name"
tar -C "$top" -cf - --no-recursion -T "$stage/list" | tar -C "$stage/$name" -xf -
{
	echo "# The files of $name, written by make dist (scripts/dist.sh)."
	cat "$stage/list"
} >"$stage/$name/MANIFEST"

tar -C "$stage" --sort=name --format=gnu --mtime="@$epoch" \
    --owner=0 --group=0 --numeric-owner --mode='u+rwX,go=rX,go-w' \
    -cf - "$name" | gzip -n -9 >"$out.tmp"
mv "$out.tmp" "$out"
echo "dist: ${out#"$top"/}: $(wc -l <"$stage/list") files and MANIFEST," \
    "mtime $(date -u -d "@$epoch" '+%Y-%m-%d %H:%M:%S UTC')"
