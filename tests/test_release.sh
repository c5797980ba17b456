#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_release.sh -- what a release rests on: the version in one place
# (VERSION) and every copy that must follow it, -V's jansson lines, the
# licence check, the file list of make dist, --help's JSON written as the
# program writes it, and the man page's option examples accepted by the
# option parser.
# Run from the project root:  bash tests/test_release.sh [-- testName...]
#
# make dist, make distcheck and make rpm-check themselves are run by CI
# (.ci/run): each builds the program again, too slow for this file.

. tests/lib.sh

oneTimeSetUp() {
  require_built "$QMPCTL" make
  VERSION=$(cat VERSION)
}

# ---------------------------------------------------------------- version

test_version_file() {
  assertEquals "VERSION is one line" 1 "$(wc -l <VERSION)"
  assert_that "VERSION is MAJOR.MINOR.PATCH: [$VERSION]" \
    grep -qxE '[0-9]+\.[0-9]+\.[0-9]+' VERSION
}

# Every copy of the version that cannot be generated from VERSION says the
# same (NEWS.md says how a release changes them together).
test_version_copies_agree() {
  assertEquals "debian/changelog's version" "$VERSION" \
    "$(sed -n '1s/^qmpctl (\([^)]*\)).*/\1/p' debian/changelog)"
  assertEquals "qmpctl.spec's Version" "$VERSION" \
    "$(sed -n 's/^Version:[[:space:]]*//p' qmpctl.spec)"
  assertEquals "qmpctl.1's .Os" "qmpctl $VERSION" "$(sed -n 's/^\.Os //p' qmpctl.1)"
  assertEquals "NEWS.md's first release" "## $VERSION" \
    "$(grep -m 1 -E '^## [0-9]' NEWS.md | cut -d ' ' -f 1-2)"
  assert_that "NEWS.md has an Unreleased section above the releases" \
    awk '/^## Unreleased$/ { u = 1 } /^## [0-9]/ { exit !u }' NEWS.md
  assert_that "qmpctl.c takes the version from the build, with no default" \
    grep -q '^#error "QMPCTL_VERSION is not defined' qmpctl.c
}

# jansson_header_version: JANSSON_VERSION of the jansson.h the build uses.
jansson_header_version() {
  local inc
  inc=$(pkg-config --variable=includedir jansson 2>/dev/null)
  sed -n 's/^#define JANSSON_VERSION "\(.*\)"$/\1/p' "${inc:-/usr/include}/jansson.h"
}

test_version_output() {
  local jv
  jv=$(jansson_header_version)
  assertNotNull "JANSSON_VERSION in jansson.h" "$jv"
  run_q -V
  assert_rc 0 "-V"
  assert_no_stderr "-V"
  assertEquals "-V: the version, then jansson's" \
    "$(printf 'qmpctl %s\nbuilt with jansson %s' "$VERSION" "$jv")" "$(cat "$T/out")"
  run_q --version
  assertEquals "--version is -V" \
    "$(printf 'qmpctl %s\nbuilt with jansson %s' "$VERSION" "$jv")" "$(cat "$T/out")"
}

# A qmpctl linked with the shared libjansson, run with a jansson_version_str
# that says 2.99 (LD_PRELOAD): -V names both.
test_version_running_jansson_differs() {
  local jv
  jv=$(jansson_header_version)
  # shellcheck disable=SC2046
  cc -std=c11 -D_GNU_SOURCE -DQMPCTL_VERSION="\"$VERSION\"" \
    $(pkg-config --cflags jansson) -o "$T/qd" $(make -s srcs) \
    $(pkg-config --libs jansson) \
    2>"$T/cc.err" || { fail "cc: $(cat "$T/cc.err")"; return 0; }
  printf 'const char *jansson_version_str(void);\n%s\n' \
    'const char *jansson_version_str(void) { return "2.99"; }' >"$T/shim.c"
  cc -shared -fPIC -o "$T/shim.so" "$T/shim.c" || { fail "cc shim"; return 0; }
  LD_PRELOAD=$T/shim.so "$T/qd" -V >"$T/out" 2>"$T/err"
  rc=$?
  assert_rc 0 "-V with another jansson at run time"
  assertEquals "-V with another jansson at run time" \
    "$(printf 'qmpctl %s\nbuilt with jansson %s, running with jansson 2.99' "$VERSION" "$jv")" \
    "$(cat "$T/out")"
}

# ---------------------------------------------------------------- licence

# check-spdx.sh on a release-like tree (MANIFEST, no git): a source without
# its line fails, naming it; data and documents are not sources.
test_spdx_check() {
  local d=$T/spdx
  mkdir -p "$d/scripts" "$d/tests/faults/c1" "$d/fuzz/corpus/x"
  cp scripts/files.sh scripts/check-spdx.sh "$d/scripts/"
  printf '/* SPDX-License-Identifier: MIT */\nint a;\n' >"$d/a.c"
  printf 'int b;\n' >"$d/b.c"
  printf '#!/bin/sh\n# SPDX-License-Identifier: MIT\n:\n' >"$d/s.sh"
  printf '#!/bin/sh\n:\n' >"$d/tests/faults/c1/peer"
  printf '#!/bin/sh\n:\n' >"$d/tool"
  printf 'data\n' >"$d/fuzz/corpus/x/1"
  printf '# Title\n' >"$d/README.md"
  printf '%s\n' a.c b.c s.sh tests/faults/c1/peer tool fuzz/corpus/x/1 README.md \
    scripts/files.sh scripts/check-spdx.sh >"$d/MANIFEST"
  sh "$d/scripts/check-spdx.sh" "$d" >"$T/out" 2>"$T/err"
  rc=$?
  assert_rc 1 "check-spdx with two sources lacking the line"
  assertEquals "check-spdx names them; $(ctx)" \
    "$(printf '%s\n' 'check-spdx: b.c: no "SPDX-License-Identifier: MIT" line at the top' \
      'check-spdx: tool: no "SPDX-License-Identifier: MIT" line at the top' \
      'check-spdx: 2 of 6 sources lack their licence line')" "$(cat "$T/err")"
  sed -i '1i /* SPDX-License-Identifier: MIT */' "$d/b.c"
  sed -i '1a # SPDX-License-Identifier: MIT' "$d/tool"
  sh "$d/scripts/check-spdx.sh" "$d" >"$T/out" 2>"$T/err"
  rc=$?
  assert_rc 0 "check-spdx once every source has its line"
  assertEquals "check-spdx: the count" \
    "check-spdx: 6 sources, each with its licence line" "$(cat "$T/out")"
}

test_spdx_check_of_this_tree() {
  sh scripts/check-spdx.sh >"$T/out" 2>"$T/err"
  rc=$?
  assert_rc 0 "scripts/check-spdx.sh on the tree; $(ctx)"
}

# ---------------------------------------------------------------- dist

# In git, the list is git ls-files; in a release, MANIFEST.  The build's
# outputs are never in it.
test_dist_file_list() {
  sh scripts/files.sh >"$T/files" 2>"$T/err"
  rc=$?
  assert_rc 0 "files.sh"
  local f
  for f in VERSION LICENSE NEWS.md Makefile qmpctl.c qmpctl.1 qmpctl.spec \
      debian/rules scripts/dist.sh tests/lib.sh completions/_qmpctl; do
    assert_that "the release holds $f" grep -qx -- "$f" "$T/files"
  done
  for f in qmpctl qmpctl-asan tests/fakepeer MANIFEST; do
    assertFalse "the release does not hold $f" "grep -qx -- '$f' '$T/files'"
  done
  if git rev-parse --show-toplevel >/dev/null 2>&1 &&
      [[ $(git rev-parse --show-toplevel) == "$PWD" ]]; then
    assertEquals "in git: the files git tracks" \
      "$(git ls-files | LC_ALL=C sort)" "$(cat "$T/files")"
  fi
  assertEquals "sorted" "$(LC_ALL=C sort "$T/files")" "$(cat "$T/files")"
}

# ---------------------------------------------------------------- --help

# Every JSON text --help shows is written as qmpctl writes JSON (compact,
# as jq -c writes it), and the one it prints for --put is what --put
# prints, byte for byte.
test_help_json_as_printed() {
  local j n=0 help_put
  run_q --help
  assert_rc 0 "--help"
  grep -oE '\{[^}]*\}' "$T/out" >"$T/json"
  while IFS= read -r j; do
    n=$((n + 1))
    assertEquals "--help's JSON [$j] is compact" \
      "$(sed -E 's/\b[A-Z]\b/0/g' <<<"$j" | jq -c .)" \
      "$(sed -E 's/\b[A-Z]\b/0/g' <<<"$j")"
  done <"$T/json"
  assertTrue "--help shows JSON ($n)" "[ $n -ge 2 ]"
  help_put=$(grep -oE '\{"bytes"[^}]*\}' "$T/json")
  assertEquals "--help shows --put's line" '{"bytes":N}' "$help_put"
  if [[ $(id -u) != 0 ]]; then
    echo "    (not root: --put against qemu-ga skipped)" >&2
    return 0
  fi
  start_exec_agent || { fail "could not start qemu-ga as user 65534"; return 0; }
  run_q --qga -s "$XA_SOCK" -t 10 --put "$XA_DIR/five" <<<'1234'
  assert_rc 0 "--put of 5 bytes"
  assertEquals "--put prints what --help shows" "${help_put/N/5}" "$(cat "$T/out")"
}

# ---------------------------------------------------------------- man page

# The "For example:" lines under the options of qmpctl.1, with their
# continuation lines joined, one a line.
man_option_examples() {
  awk '
    /^The options are as follows:/ { on = 1 }
    /^\.Ss Operands/ { on = 0 }
    !on { next }
    /^For example:$/ { ex = 1; next }
    ex && /^\.Bd -literal/ { inblock = 1; next }
    inblock && /^\.Ed/ { inblock = 0; ex = 0; next }
    inblock {
      line = $0
      gsub(/\\e$/, "", line)
      if (cont) { sub(/^ +/, "", line); cur = cur line } else cur = line
      cont = ($0 ~ /\\e$/)
      if (!cont) print cur
    }' qmpctl.1
}

# Each option example of qmpctl.1 passes the option checks (which come
# before connecting): run against sockets that do not exist, with -t 1, it
# ends in status 3 (or 8, 255), not 2 (usage).  Every option that takes an
# argument has one.
test_man_option_examples_parse() {
  local ex opt n=0 missing= q
  q=$(realpath -- "$QMPCTL") || return 1
  man_option_examples >"$T/examples"
  while IFS= read -r ex; do
    n=$((n + 1))
    ex=${ex//\/run\/vm\//$T/none-}
    ex=${ex//\/run\/qsd.sock/$T/none-qsd.sock}
    ex=$(sed -E 's/(^| )-t [0-9.]+/\1-t 1/; s/--wait [0-9]+/--wait 0.2/;
      s/127\.0\.0\.1:4444/unix:'"${T//\//\\/}"'\/none-tcp.sock/' <<<"$ex")
    ex=${ex/qmpctl /$q }
    ex=${ex% &}		# run in the foreground, for its status
    (cd "$T" && printf '1234\n' | tee disk.img job.tar >/dev/null &&
      printf '{}\n' >node.json &&
      timeout -k 2 "$(lim 10)" bash -c "$ex" >"$T/out" 2>"$T/err" </dev/null 3>"$T/fd3")
    rc=$?
    # 3: no server there; 8: --listen's wait timed out; 255: --exec's 3.
    assertTrue "man example gets as far as connecting: $ex; $(ctx)" \
      "[ $rc = 3 ] || [ $rc = 8 ] || [ $rc = 255 ]"
  done <"$T/examples"
  for opt in args command count describe events exec fail-event get hmp \
      listen match max-size pass-fd put ready-fd socket timeout trace wait \
      wait-event wait-job cancel-grace env exec-status hold interval \
      key-delay keys progress screen-device screen-head screendump stall \
      type until; do
    grep -q -- "^\.It Fl .*\\\\-$opt\b" qmpctl.1 || continue
    awk -v o="\\\\-$opt" '
      /^\.It Fl / { cur = index($0, o " ") || substr($0, length($0) - length(o) + 1) == o }
      cur && /^For example:$/ { found = 1 }
      END { exit !found }' qmpctl.1 || missing="$missing --$opt"
  done
  assertEquals "options with an argument and no example" "" "$missing"
  assertTrue "man page option examples ($n)" "[ $n -ge 20 ]"
}

. shunit2
