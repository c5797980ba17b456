#!/bin/sh
# SPDX-License-Identifier: MIT
# Fetches QEMU 10.0 from Debian bookworm-backports into a directory of the
# build tree (default build/qemu10), without touching the system: apt-get
# runs with a private configuration (its own sources list, state and cache
# under DIR/apt), downloads the .debs and dpkg-deb -x unpacks them into
# DIR/root.  Nothing is installed; the system's apt sources stay as they are.
#
#     sh scripts/qemu10.sh [DIR]    # fetch (again only when DIR/bin is missing)
#
# DIR/bin then holds qemu-system-x86_64, qemu-storage-daemon, qemu-ga,
# qemu-img and qemu-io: small wrappers that run the unpacked binaries with
# their own firmware and keymaps (-L) and modules (QEMU_MODULE_DIR).  Put
# DIR/bin first on PATH to run the tests against QEMU 10 (make check-qemu10).
# The unpacked binaries use the system's bookworm libraries: the backport
# is built against them.
set -eu
cd "$(dirname "$0")/.."

dir=${1:-build/qemu10}
suite=bookworm-backports
mirror=${QEMU10_MIRROR:-http://deb.debian.org/debian}
# qemu-system-x86: qemu-system-x86_64; qemu-system-common: qemu-storage-
# daemon (and the bridge helper); qemu-system-data: firmware and keymaps;
# qemu-system-modules-*: not needed with -display none (no module is loaded);
# qemu-utils: qemu-img, qemu-io; qemu-guest-agent: qemu-ga;
# qemu-block-extra: the block modules (curl, iscsi...), not used by the tests.
pkgs="qemu-system-x86 qemu-system-common qemu-system-data qemu-utils
    qemu-guest-agent"

if [ -x "$dir/bin/qemu-system-x86_64" ] && [ -x "$dir/bin/qemu-ga" ]; then
	exit 0
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
apt=$dir/apt
rm -rf "$apt" "$dir/root" "$dir/bin" "$dir/debs"
mkdir -p "$apt/state/lists/partial" "$apt/cache/archives/partial" \
    "$apt/etc/sources.list.d" "$apt/etc/preferences.d" "$dir/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
    "$mirror $suite main" >"$apt/etc/sources.list"

# The private configuration: only the backports suite, its lists and the
# downloaded files under DIR/apt; the system's status file is only read.
aptq() {
	apt-get -q -o Dir::Etc::SourceList="$apt/etc/sources.list" \
	    -o Dir::Etc::SourceParts="$apt/etc/sources.list.d" \
	    -o Dir::Etc::Preferences="$apt/etc/preferences" \
	    -o Dir::Etc::PreferencesParts="$apt/etc/preferences.d" \
	    -o Dir::State="$apt/state" -o Dir::Cache="$apt/cache" \
	    -o Debug::NoLocking=true -o APT::Sandbox::User=root "$@"
}

echo "qemu10: apt-get update ($suite, private lists in $apt)" >&2
aptq update >"$apt/update.log" 2>&1 || {
	cat "$apt/update.log" >&2
	echo "qemu10: cannot read $suite from $mirror" >&2
	exit 1
}
set --
for p in $pkgs; do set -- "$@" "$p/$suite"; done
echo "qemu10: apt-get download $pkgs" | tr -s ' \n' ' ' >&2
echo >&2
(cd "$dir/debs" && aptq download "$@") >"$apt/download.log" 2>&1 || {
	cat "$apt/download.log" >&2
	exit 1
}
for deb in "$dir"/debs/*.deb; do
	ver=$(dpkg-deb -f "$deb" Version)
	case $ver in
	1:10.0.*) ;;
	*) echo "qemu10: $deb is version $ver, not 1:10.0.x" >&2; exit 1 ;;
	esac
	dpkg-deb -x "$deb" "$dir/root"
done
echo "$ver" >"$dir/version"

# The wrappers: exec keeps the pid (the tests track QEMU by pid).
r=$dir/root
mkdir -p "$dir/bin"
wrap() {	# wrap NAME PATH [ARGS...]
	name=$1 path=$2
	shift 2
	{
		echo '#!/bin/sh'
		echo '# SPDX-License-Identifier: MIT'
		echo "# QEMU $ver from $suite, unpacked by scripts/qemu10.sh."
		echo "QEMU_MODULE_DIR=$r/usr/lib/x86_64-linux-gnu/qemu"
		echo 'export QEMU_MODULE_DIR'
		echo "exec $r$path $* \"\$@\""
	} >"$dir/bin/$name"
	chmod 755 "$dir/bin/$name"
}
wrap qemu-system-x86_64 /usr/bin/qemu-system-x86_64 -L "$r/usr/share/qemu"
wrap qemu-storage-daemon /usr/bin/qemu-storage-daemon
wrap qemu-ga /usr/sbin/qemu-ga
wrap qemu-img /usr/bin/qemu-img
wrap qemu-io /usr/bin/qemu-io
for b in "$dir"/bin/*; do
	"$b" --version >/dev/null 2>&1 || "$b" -V >/dev/null 2>&1 || {
		echo "qemu10: $b does not run:" >&2
		"$b" --version >&2 || :
		exit 1
	}
done
echo "qemu10: QEMU $ver in $dir/bin" >&2
