#!/bin/bash
# tests/test_readme.sh -- the "Recipes for CI" in README.md, run as written.
# Run from the project root:  bash tests/test_readme.sh [testName...]
#
# Each recipe is the fenced block that follows a line
# "<!-- recipe: NAME -->".  It is extracted unchanged and run with bash,
# under timeout(1), with "qmpctl" on PATH standing for $QMPCTL, and with
# TMPDIR pointing at a directory of its own: afterwards that directory must
# be empty (the recipe cleaned up) and no process may still run from it (the
# recipe stopped what it started).  Anything left over is killed by pid.

. tests/lib.sh

README=${README:-README.md}
QGA_BIN=${QGA_BIN:-qemu-ga}
# qemu-ga acts on the host: it is started with QGA_BLOCK (lib.sh), the block
# list of /work/shared/qmp-notes.md.

oneTimeSetUp() {
  local q
  require_built "$QMPCTL" make
  # The recipes call "qmpctl": make that the binary under test.
  q=$(realpath -- "$QMPCTL") || exit 1
  mkdir -p "$T/bin" "$T/recipes"
  printf '#!/bin/sh\nexec %q "$@"\n' "$q" >"$T/bin/qmpctl"
  chmod +x "$T/bin/qmpctl"
  extract_recipes "$README" "$T/recipes" || exit 1
}

# extract_recipes FILE DIR: write each recipe of FILE to DIR/NAME.sh and the
# names, in order, to DIR/names.  A marker without a fenced block after it
# is an error.
extract_recipes() {
  awk -v dir="$2" '
    state == 0 && /^<!-- recipe: [A-Za-z0-9_-]+ -->$/ {
      name = $3; state = 1; next
    }
    state == 1 && /^```/ { state = 2; out = dir "/" name ".sh"; printf "" >out; print name >>(dir "/names"); next }
    state == 1 && NF { printf "recipe %s: no fenced block after its marker\n", name >"/dev/stderr"; bad = 1; state = 0 }
    state == 2 && /^```[ \t]*$/ { close(out); state = 0; next }
    state == 2 { print >>out }
    END {
      if (state != 0) { printf "recipe %s: unterminated\n", name >"/dev/stderr"; bad = 1 }
      exit bad
    }' "$1"
}

# run_recipe NAME [VAR=VALUE...]: run the recipe with bash in $T/run-NAME
# (also its TMPDIR), with the given environment; stdout to $T/out, stderr to
# $T/err, exit status in $rc.  Then check that it left nothing behind.
run_recipe() {
  local name=$1 dir=$T/run-$1 left pid
  shift
  mkdir -p "$dir/tmp"
  : >"$T/out"
  (cd "$dir" && env PATH="$T/bin:$PATH" TMPDIR="$dir/tmp" "$@" \
    timeout -k 2 30 bash "$T/recipes/$name.sh" >"$T/out" 2>"$T/err" </dev/null)
  rc=$?
  # Processes still running from the recipe's temp dir: it leaked them.
  left=$(pgrep -f -- "$dir/tmp/" | tr '\n' ' ')
  assertEquals "recipe $name: processes left running from its temp dir" "" "$left"
  for pid in $left; do kill -KILL "$pid" 2>/dev/null; done
  assertEquals "recipe $name: files left in its TMPDIR" "" "$(ls -A "$dir/tmp")"
}

# assert_recipe_ok NAME: the recipe's run ended with status 0.
assert_recipe_ok() {
  assert_rc 0 "recipe $1"
}

# ---------------------------------------------------------------- the list

test_at_least_four_recipes() {
  local n
  n=$(wc -l <"$T/recipes/names")
  assertTrue "README must have at least 4 recipes, has $n: $(tr '\n' ' ' <"$T/recipes/names")" \
    "[ $n -ge 4 ]"
  assertEquals "recipe names must be unique" "" "$(sort "$T/recipes/names" | uniq -d)"
  local name
  for name in qemu-version block-job shutdown guest-file; do
    assert_that "recipe $name must be in README" grep -qx -- "$name" "$T/recipes/names"
  done
  # Every recipe follows the house rules: set -eu, -t on each qmpctl call,
  # no sleep.
  while read -r name; do
    assertEquals "recipe $name: first line" "set -eu" "$(head -n 1 "$T/recipes/$name.sh")"
    assertEquals "recipe $name: qmpctl calls without -t" "" \
      "$(grep -E '(^|[ $(])qmpctl ' "$T/recipes/$name.sh" | grep -vE -- ' -t [0-9]')"
    assertEquals "recipe $name: sleeps" "" "$(grep -wE 'sleep' "$T/recipes/$name.sh")"
  done <"$T/recipes/names"
}

# ---------------------------------------------------------------- (a)

test_recipe_qemu_version() {
  run_recipe qemu-version
  assert_recipe_ok qemu-version
  local v
  v=$(qemu-system-x86_64 --version | sed -n '1s/.*version \([0-9][0-9.]*\).*/\1/p')
  assertEquals "qemu-version: stdout; $(ctx)" "QEMU $v is running" "$(cat "$T/out")"
  assert_no_stderr qemu-version
}

# ---------------------------------------------------------------- (b)

test_recipe_block_job() {
  run_recipe block-job
  assert_recipe_ok block-job
  assertEquals "block-job: stdout; $(ctx)" \
    "$(printf 'job j0: concluded\njob j0: dismissed')" "$(cat "$T/out")"
  assert_no_stderr block-job
}

# ---------------------------------------------------------------- (c)

test_recipe_shutdown() {
  run_recipe shutdown
  assert_recipe_ok shutdown
  assertEquals "shutdown: stdout; $(ctx)" \
    "$(printf 'SHUTDOWN: host-qmp-quit\nQEMU exited with status 0')" "$(cat "$T/out")"
  assert_no_stderr shutdown
}

# ---------------------------------------------------------------- (d)

# start_qga: qemu-ga on $T/qga.sock, with the block list; sets QGA_PID.
start_qga() {
  mkdir -p "$T/qga-state"
  rm -f "$T/qga.sock"
  "$QGA_BIN" -m unix-listen -p "$T/qga.sock" -t "$T/qga-state" -l "$T/qga.log" \
    -b "$QGA_BLOCK" </dev/null >"$T/qga.out" 2>&1 &
  QGA_PID=$!
  track_pid "$QGA_PID"
  wait_until 10 _sock_or_dead "$T/qga.sock" "$QGA_PID" && unix_listening "$T/qga.sock"
}

test_recipe_guest_file() {
  assert_that "qemu-ga must start; $(cat "$T/qga.out" 2>/dev/null)" start_qga || return 0
  run_recipe guest-file QGA_SOCKET="$T/qga.sock"
  assert_recipe_ok guest-file
  assert_that "guest-file: stdout must be /etc/os-release; $(ctx)" cmp -s "$T/out" /etc/os-release
  assert_no_stderr guest-file
}

test_recipe_guest_file_many_chunks() {
  # The same recipe on a file that takes several guest-file-read calls,
  # with bytes of every value in it.
  assert_that "qemu-ga must start; $(cat "$T/qga.out" 2>/dev/null)" start_qga || return 0
  head -c 200000 /dev/urandom >"$T/big.bin"
  sed "s|^file=/etc/os-release\$|file=$T/big.bin|" "$T/recipes/guest-file.sh" \
    >"$T/recipes/guest-file-big.sh"
  assert_that "the recipe must set file=/etc/os-release" \
    grep -q "^file=$T/big.bin\$" "$T/recipes/guest-file-big.sh"
  run_recipe guest-file-big QGA_SOCKET="$T/qga.sock"
  assert_recipe_ok guest-file-big
  assert_that "guest-file, 200000 bytes: stdout must be the file; rc=$rc stderr=[$(cat "$T/err")]" \
    cmp -s "$T/out" "$T/big.bin"
  assert_no_stderr guest-file-big
}

test_recipe_guest_file_needs_socket() {
  # Without QGA_SOCKET the recipe says so and fails, and starts nothing.
  run_recipe guest-file
  assertNotEquals "guest-file without QGA_SOCKET must fail; $(ctx)" 0 "$rc"
  assert_that "guest-file without QGA_SOCKET: the message names it; $(ctx)" \
    grep -q QGA_SOCKET "$T/err"
  assertEquals "guest-file without QGA_SOCKET: stdout; $(ctx)" "" "$(cat "$T/out")"
}

. shunit2
