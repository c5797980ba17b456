#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages that qmpctl needs, only when something is
# missing.  "check": build and test; "demo": build and run the demo;
# "deb": build the Debian package; "rpm": build the RPM (make rpm-check).
set -eu

what=${1:-check}
missing=

need() {	# need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}

need cc gcc
need make make
need pkg-config pkg-config
pkg-config --exists jansson 2>/dev/null || missing="$missing libjansson-dev"
if [ "$what" = rpm ]; then
	need rpmbuild rpm
	need gzip gzip
elif [ "$what" = deb ]; then
	need dpkg-buildpackage dpkg-dev
	need dh debhelper
	# dpkg-buildpackage asks for build-essential, not just a compiler.
	dpkg-query -W -f '${db:Status-Status}' build-essential 2>/dev/null |
	    grep -qx installed || missing="$missing build-essential"
else
	need qemu-system-x86_64 qemu-system-x86
	need jq jq
fi
if [ "$what" = check ]; then
	need qemu-storage-daemon qemu-system-common
	need qemu-img qemu-utils	# images for the job tests and recipes
	[ -x /usr/sbin/qemu-ga ] || need qemu-ga qemu-guest-agent
	need shunit2 shunit2
	need socat socat
	need mandoc mandoc
	need valgrind valgrind
	need man man-db
	need zsh zsh
	need fish fish
	[ -x /usr/bin/time ] || missing="$missing time"
	# make check-portable: musl (Alpine) and 32-bit builds, syntax only.
	need musl-gcc musl-tools
	if [ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] &&
	    ! printf '#include <stdio.h>\n' |
	    cc -m32 -fsyntax-only -x c - 2>/dev/null; then
		missing="$missing gcc-multilib"
	fi
fi

[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root; run: sudo apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
