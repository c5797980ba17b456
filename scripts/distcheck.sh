#!/bin/sh
# SPDX-License-Identifier: MIT
# make distcheck: the release tarball builds and installs on its own.
# Makes it twice (the same bytes, or it fails), unpacks it in a scratch
# directory and there: builds, runs make unit and the licence check, makes
# the tarball again (the same bytes again: a release reproduces itself),
# runs one real-QEMU test file, then make install DESTDIR=... and checks
# the five files (binary, man page, three completions), make uninstall and
# checks that no file is left.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
version=$(cat VERSION)
name=qmpctl-$version
scratch=$(mktemp -d "${TMPDIR:-/tmp}/qmpctl-distcheck.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
fail() { echo "distcheck: $*" >&2; exit 1; }
step() { echo "distcheck: $*"; }

sh scripts/dist.sh "$scratch/a.tar.gz" >/dev/null
sh scripts/dist.sh "$scratch/b.tar.gz" >/dev/null
cmp -s "$scratch/a.tar.gz" "$scratch/b.tar.gz" ||
    fail "two make dist runs gave different bytes"
step "$name.tar.gz: $(wc -c <"$scratch/a.tar.gz") bytes, the same twice"

mkdir "$scratch/src"
tar -C "$scratch/src" -xzf "$scratch/a.tar.gz"
src=$scratch/src/$name
[ -f "$src/MANIFEST" ] || fail "no MANIFEST in the tarball"
log=$scratch/log
run() {	# run WHAT CMD...: CMD in the unpacked tree, its output in the log
	what=$1
	shift
	(cd "$src" && "$@") >"$log" 2>&1 || {
		tail -n 30 "$log" >&2
		fail "$what failed in the unpacked tarball"
	}
}
run "make" make qmpctl
run "make unit" make unit
run "check-spdx" sh scripts/check-spdx.sh
run "make dist" make dist
cmp -s "$scratch/a.tar.gz" "$src/$name.tar.gz" ||
    fail "make dist in the unpacked tarball gave different bytes"
step "built, unit tests passed, and it makes the same tarball again"
run "tests/test_qemu.sh" env TESTS=tests/test_qemu.sh sh tests/run.sh
step "$(tail -n 1 "$log")"

inst=$scratch/inst
run "make install" make install DESTDIR="$inst" PREFIX=/usr
got=$(cd "$inst" && find . ! -type d | LC_ALL=C sort)
want="./usr/bin/qmpctl
./usr/share/bash-completion/completions/qmpctl
./usr/share/fish/vendor_completions.d/qmpctl.fish
./usr/share/man/man1/qmpctl.1
./usr/share/zsh/vendor-completions/_qmpctl"
[ "$got" = "$want" ] || fail "make install put: $got"
v=$("$inst/usr/bin/qmpctl" --version | head -n 1)
[ "$v" = "qmpctl $version" ] || fail "installed qmpctl --version says: $v"
step "make install: the five files; the binary says $v"
run "make uninstall" make uninstall DESTDIR="$inst" PREFIX=/usr
left=$(cd "$inst" && find . ! -type d)
[ -z "$left" ] || fail "make uninstall left: $left"
step "make uninstall: no file left"
