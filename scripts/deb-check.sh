#!/bin/sh
# SPDX-License-Identifier: MIT
# scripts/deb-check.sh: build the Debian package (scripts/deb-build.sh, in a
# scratch copy), check the files it holds and that it depends on libjansson,
# install it with dpkg -i, run /usr/bin/qmpctl and see that bash, zsh and
# fish find their completions, then remove it with dpkg -r.
#
# The install part needs root, and refuses to run when qmpctl is already
# installed in /usr (as a package or by "make install PREFIX=/usr"); an
# install under /usr/local is left alone, and checked to be unchanged.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/qmpctl-deb-check.XXXXXX")
installed=
cleanup() {
	if [ -n "$installed" ]; then
		dpkg -r qmpctl >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "deb-check: $*" >&2
	exit 1
}

start=$(date +%s)
deb=$(sh "$top/scripts/deb-build.sh" "$work/out")
version=$(cd "$top" && dpkg-parsechangelog -S Version)

# The files it holds: the program, the man page, the three completions,
# the copyright; and nothing outside /usr, nothing in /usr/local.
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||' >"$work/contents"
for f in /usr/bin/qmpctl /usr/share/man/man1/qmpctl.1.gz \
    /usr/share/bash-completion/completions/qmpctl \
    /usr/share/zsh/vendor-completions/_qmpctl \
    /usr/share/fish/vendor_completions.d/qmpctl.fish \
    /usr/share/doc/qmpctl/copyright; do
	grep -qx "$f" "$work/contents" || fail "$(basename "$deb") lacks $f"
done
stray=$(grep -vE '^(/usr(/.*)?)?$' "$work/contents" || true)
[ -z "$stray" ] || fail "files outside /usr: $stray"
! grep -q '^/usr/local' "$work/contents" || fail "files in /usr/local"
echo "deb-check: $(basename "$deb"): $(grep -c . "$work/contents") entries," \
    "$(du -k "$deb" | cut -f 1) KiB"

depends=$(dpkg-deb -f "$deb" Depends)
echo "deb-check: Depends: $depends"
case $depends in
*libjansson*) ;;
*) fail "Depends does not name libjansson (linked statically?): $depends" ;;
esac

if [ "$(id -u)" != 0 ]; then
	echo "deb-check: not root: dpkg -i and dpkg -r skipped" >&2
	exit 0
fi
status=$(dpkg-query -W -f '${db:Status-Status}' qmpctl 2>/dev/null || true)
case $status in
'' | not-installed) ;;
*) fail "a qmpctl package is already on this machine ($status): not touching it" ;;
esac
[ ! -e /usr/bin/qmpctl ] ||
    fail "/usr/bin/qmpctl exists (make install PREFIX=/usr?): not touching it"

# What a /usr/local install holds now, to compare after.
local_sums() {
	for f in /usr/local/bin/qmpctl /usr/local/share/man/man1/qmpctl.1 \
	    /usr/local/share/bash-completion/completions/qmpctl \
	    /usr/local/share/zsh/vendor-completions/_qmpctl \
	    /usr/local/share/fish/vendor_completions.d/qmpctl.fish; do
		if [ -e "$f" ]; then md5sum "$f"; else echo "absent $f"; fi
	done
}
local_sums >"$work/local.before"

installed=yes
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -i failed"; }
got=$(/usr/bin/qmpctl --version | head -n 1) || fail "/usr/bin/qmpctl --version failed"
[ "$got" = "qmpctl $version" ] ||
    fail "/usr/bin/qmpctl --version says '$got', not 'qmpctl $version'"
echo "deb-check: installed; /usr/bin/qmpctl --version: $got"

# The shells find the completions where the package put them.
export XDG_CONFIG_HOME="$work/xdg" XDG_DATA_HOME="$work/xdg" XDG_CACHE_HOME="$work/xdg"
if [ -f /usr/share/bash-completion/bash_completion ]; then
	got=$(bash -c '. /usr/share/bash-completion/bash_completion
	    __load_completion qmpctl && complete -p qmpctl' 2>&1) || true
	[ "$got" = "complete -F _qmpctl qmpctl" ] ||
	    fail "bash-completion does not load the completion: $got"
else
	echo "deb-check: bash-completion is not installed: its loader not tried" >&2
fi
if command -v zsh >/dev/null 2>&1; then
	got=$(HOME=$work zsh -f -c 'autoload -Uz compinit && compinit -u -D &&
	    print -r -- $_comps[qmpctl]' 2>&1) || true
	[ "$got" = _qmpctl ] || fail "zsh's compinit does not find _qmpctl: $got"
fi
if command -v fish >/dev/null 2>&1; then
	got=$(HOME=$work fish -c 'complete -C "qmpctl --versio"' 2>&1 | cut -f 1) || true
	[ "$got" = --version ] || fail "fish does not load qmpctl.fish: $got"
fi

dpkg -r qmpctl >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -r failed"; }
installed=
while read -r f; do
	case $f in /usr/bin/* | /usr/share/*/*qmpctl*)
		[ ! -e "$f" ] || fail "$f is still there after dpkg -r" ;;
	esac
done <"$work/contents"
status=$(dpkg-query -W -f '${db:Status-Status}' qmpctl 2>/dev/null || true)
case $status in
'' | not-installed | config-files) ;;
*) fail "after dpkg -r, the package is still $status" ;;
esac
local_sums >"$work/local.after"
cmp -s "$work/local.before" "$work/local.after" ||
    fail "the /usr/local install changed: $(diff "$work/local.before" "$work/local.after")"
echo "deb-check: removed; all good in $(($(date +%s) - start)) s"
