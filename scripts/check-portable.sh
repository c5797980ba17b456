#!/bin/sh
# SPDX-License-Identifier: MIT
# scripts/check-portable.sh -- the product sources compile without a
# warning on the two builds that broke unnoticed before: musl (Alpine, the
# usual base of CI containers) and 32-bit (i386, armhf).  Syntax only: no
# musl or 32-bit libjansson is needed.  Run by "make check-portable".
#
#   sh scripts/check-portable.sh CC_FLAGS -- SOURCES...
#
# musl: musl-gcc (Debian's musl-tools) against its own libc headers, a
# staging directory holding what Alpine's linux-headers package installs
# (linux/, asm/, asm-generic/) and jansson's two headers, and nothing else
# of /usr/include, so that no glibc header can stand in for a musl one.
# -m32: gcc -m32 when the multilib headers are there (gcc-multilib).
# A compiler that is missing is a skip, said, not a failure.
set -u

flags=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  flags="$flags $1"
  shift
done
shift
srcs=$*
rc=0
stage=build/portable/include

jansson_dir() {
  for d in $(pkg-config --cflags-only-I jansson 2>/dev/null | sed 's/-I//g') \
    /usr/include /usr/local/include; do
    [ -f "$d/jansson.h" ] && { echo "$d"; return 0; }
  done
  return 1
}

if command -v musl-gcc >/dev/null 2>&1; then
  jd=$(jansson_dir) || { echo "check-portable: jansson.h not found" >&2; exit 1; }
  arch=$(gcc -print-multiarch 2>/dev/null)
  rm -rf "$stage"
  mkdir -p "$stage"
  ln -s "$jd/jansson.h" "$jd/jansson_config.h" /usr/include/linux \
    /usr/include/asm-generic "$stage/"
  if [ -d "/usr/include/$arch/asm" ]; then
    ln -s "/usr/include/$arch/asm" "$stage/asm"
  else
    ln -s /usr/include/asm "$stage/asm"
  fi
  # shellcheck disable=SC2086
  if musl-gcc -fsyntax-only -Werror $flags -I"$stage" $srcs; then
    echo "check-portable: musl-gcc: no warnings"
  else
    echo "check-portable: musl-gcc: FAILED" >&2
    rc=1
  fi
else
  echo "check-portable: musl-gcc missing (apt-get install musl-tools): musl build SKIPPED" >&2
fi

if printf '#include <stdio.h>\n' | ${CC:-cc} -m32 -fsyntax-only -x c - 2>/dev/null; then
  # shellcheck disable=SC2086
  if ${CC:-cc} -m32 -fsyntax-only -Werror $flags $(pkg-config --cflags jansson 2>/dev/null) $srcs; then
    echo "check-portable: -m32: no warnings"
  else
    echo "check-portable: -m32: FAILED" >&2
    rc=1
  fi
else
  echo "check-portable: no 32-bit headers (apt-get install gcc-multilib): -m32 build SKIPPED" >&2
fi
exit $rc
