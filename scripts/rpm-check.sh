#!/bin/sh
# SPDX-License-Identifier: MIT
# make rpm-check: builds the RPM of qmpctl.spec from the release tarball
# (make dist) with rpmbuild -bb --nodeps in a scratch _topdir (Debian's
# rpm package builds RPMs; --nodeps because the build dependencies are
# Debian packages here), then checks its files: the program files are
# exactly those of make install (the man page compressed), the documents
# those of debian/docs, the licence LICENSE, the same as the Debian
# package's (built too, when dpkg-buildpackage is there; licence files
# aside), and it requires libjansson.
# The RPM is left in build/rpm/.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
fail() { echo "rpm-check: $*" >&2; exit 1; }
command -v rpmbuild >/dev/null || fail "rpmbuild not found (apt-get install rpm)"
version=$(cat VERSION)
specver=$(sed -n 's/^Version:[[:space:]]*//p' qmpctl.spec)
[ "$specver" = "$version" ] || fail "qmpctl.spec has Version $specver, VERSION $version"

work=$(mktemp -d "${TMPDIR:-/tmp}/qmpctl-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/SOURCES"
sh scripts/dist.sh "$work/SOURCES/qmpctl-$version.tar.gz" >/dev/null
start=$(date +%s)
rpmbuild -bb --nodeps --define "_topdir $work" qmpctl.spec \
    >"$work/build.log" 2>&1 || {
	tail -n 40 "$work/build.log" >&2
	fail "rpmbuild failed"
}
rpm=$(find "$work/RPMS" -name "qmpctl-$version-*.rpm" ! -name '*debug*' | head -n 1)
[ -n "$rpm" ] || fail "no RPM built"
echo "rpm-check: $(basename "$rpm") built in $(($(date +%s) - start)) s"

# What differs by distribution is made alike: the doc and licence
# directories with or without -VERSION (rpm's _docdir_fmt), the man page
# compressed or not (the distribution's brp scripts), rpm's build-id links.
norm() {
	sed -E "s#^/usr/share/(doc|licenses)/qmpctl-$version(/|\$)#/usr/share/\1/qmpctl\2#
	    s#/man1/qmpctl\.1\.gz\$#/man1/qmpctl.1#
	    \#^/usr/lib/\.build-id(/|\$)#d" | LC_ALL=C sort
}
rpm -qlp "$rpm" 2>/dev/null | norm >"$work/rpm.files"
make -s install DESTDIR="$work/inst" PREFIX=/usr >/dev/null
(cd "$work/inst" && find . ! -type d | sed 's|^\.||') | norm >"$work/install.files"
{
	cat "$work/install.files"
	sed 's|^|/usr/share/doc/qmpctl/|' debian/docs
	echo /usr/share/licenses/qmpctl/LICENSE
} | LC_ALL=C sort >"$work/want.files"
# rpm lists the directories it owns too: /usr/share/doc/qmpctl and
# /usr/share/licenses/qmpctl.
grep -vx '/usr/share/doc/qmpctl\|/usr/share/licenses/qmpctl' "$work/rpm.files" \
    >"$work/rpm.plain" || :
if ! cmp -s "$work/want.files" "$work/rpm.plain"; then
	diff -u "$work/want.files" "$work/rpm.plain" >&2 || :
	fail "the RPM's files (+) differ from make install's, debian/docs and LICENSE (-)"
fi
echo "rpm-check: its $(wc -l <"$work/rpm.plain") files are make install's," \
    "debian/docs and LICENSE"
# The Debian package, built from the same tree, holds the same files: the
# program's, and README.md and NEWS.md; each distribution adds its own
# licence file (RPM: LICENSE; Debian: copyright, and changelog.gz).
if command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null; then
	deb=$(sh scripts/deb-build.sh "$work/deb")
	dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\.||' | grep -v '/$' |
	    sed -E 's/\.gz$//' |
	    grep -vx '/usr/share/doc/qmpctl/copyright\|/usr/share/doc/qmpctl/changelog' |
	    LC_ALL=C sort >"$work/deb.files"
	grep -v '^/usr/share/licenses/' "$work/rpm.plain" >"$work/rpm.nolicence"
	if ! cmp -s "$work/deb.files" "$work/rpm.nolicence"; then
		diff -u "$work/deb.files" "$work/rpm.nolicence" >&2 || :
		fail "the RPM's files (+) differ from the Debian package's (-)"
	fi
	echo "rpm-check: the Debian package holds the same files" \
	    "(but for each one's licence file)"
else
	echo "rpm-check: no dpkg-buildpackage: the Debian package not compared" >&2
fi
rpm -qp --requires "$rpm" 2>/dev/null | grep -q 'libjansson' ||
    fail "the RPM does not require libjansson (linked statically?)"
mkdir -p build/rpm
cp "$rpm" build/rpm/
echo "rpm-check: build/rpm/$(basename "$rpm")"
