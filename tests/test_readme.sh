#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_readme.sh -- the recipes of RECIPES.md, the README's First
# steps pasted whole into a shell, and the man page's examples, run as written.
# Run from the project root:  bash tests/test_readme.sh [-- testName...]
#
# Each recipe is the fenced block that follows a line
# "<!-- recipe: NAME -->".  It is extracted unchanged and run with bash,
# under timeout(1), with "qmpctl" on PATH standing for $QMPCTL, and with
# TMPDIR pointing at a directory of its own: afterwards that directory must
# be empty (the recipe cleaned up) and no process may still run from it (the
# recipe stopped what it started).  Anything left over is killed by pid.

. tests/lib.sh

RECIPES=${RECIPES:-RECIPES.md}
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
  extract_recipes "$RECIPES" "$T/recipes" || exit 1
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
    timeout -k 2 "$(lim 30)" bash "$T/recipes/$name.sh" >"$T/out" 2>"$T/err" </dev/null)
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
  assertTrue "RECIPES.md must have at least 4 recipes, has $n: $(tr '\n' ' ' <"$T/recipes/names")" \
    "[ $n -ge 4 ]"
  assertEquals "recipe names must be unique" "" "$(sort "$T/recipes/names" | uniq -d)"
  local name
  for name in qemu-version block-job backup-fails mirror job-timeout migration-fails shutdown boot-test guest-file guest-wait guest-test many-vms; do
    assert_that "recipe $name must be in RECIPES.md" grep -qx -- "$name" "$T/recipes/names"
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

# ---------------------------------------------------------------- jobs

test_recipe_backup_fails() {
  run_recipe backup-fails
  assert_recipe_ok backup-fails
  assertEquals "backup-fails: stdout; $(ctx)" \
    "backup j1 failed: Input/output error" "$(cat "$T/out")"
  assertEquals "backup-fails: stderr; $(ctx)" \
    "qmpctl: job j1 failed: Input/output error" "$(cat "$T/err")"
}

test_recipe_mirror() {
  run_recipe mirror
  assert_recipe_ok mirror
  assertEquals "mirror: stdout; $(ctx)" \
    "$(printf 'job m1: ready\njob m1: completed')" "$(cat "$T/out")"
  assert_no_stderr mirror
}

# --cancel and --dismiss: a job cut short by -t leaves nothing behind.
test_recipe_job_timeout() {
  run_recipe job-timeout
  assert_recipe_ok job-timeout
  assertEquals "job-timeout: stdout; $(ctx)" \
    "$(printf 'status 8: qmpctl: job j2 cancelled, and dismissed\njobs left: []')" "$(cat "$T/out")"
  assert_no_stderr job-timeout
}

test_recipe_migration_fails() {
  run_recipe migration-fails
  assert_recipe_ok migration-fails
  assertEquals "migration-fails: stdout; $(ctx)" \
    "$(printf 'migration: failed\nthe guest stays here: prelaunch')" "$(cat "$T/out")"
  assert_that "migration-fails: stderr is error-desc; $(ctx)" \
    grep -qxE 'qmpctl: migration failed: .+' "$T/err"
  assertEquals "migration-fails: one stderr line; $(ctx)" 1 "$(wc -l <"$T/err")"
}

# ---------------------------------------------------------------- (c)

test_recipe_shutdown() {
  run_recipe shutdown
  assert_recipe_ok shutdown
  assertEquals "shutdown: stdout; $(ctx)" \
    "$(printf 'SHUTDOWN: host-qmp-quit\nQEMU exited with status 0')" "$(cat "$T/out")"
  assert_no_stderr shutdown
}

# ---------------------------------------------------------------- screen

# _is_png FILE: FILE is a whole PNG (signature first, IEND last).
_is_png() {
  [[ $(od -An -tx1 -N8 "$1" 2>/dev/null | tr -d ' \n') == 89504e470d0a1a0a ]] &&
    [[ $(tail -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 49454e44ae426082 ]]
}

test_recipe_boot_test() {
  run_recipe boot-test
  assert_recipe_ok boot-test
  assertEquals "boot-test: stdout; $(ctx)" \
    "$(printf 'guest reset: guest-reset\npictures: before.png after.png')" "$(cat "$T/out")"
  assert_no_stderr boot-test
  assert_that "boot-test: before.png is a PNG" _is_png "$T/run-boot-test/before.png"
  assert_that "boot-test: after.png is a PNG" _is_png "$T/run-boot-test/after.png"
  assertEquals "boot-test: only the pictures in its directory" "after.png before.png tmp " \
    "$(ls -A "$T/run-boot-test" | tr '\n' ' ')"
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

# make demo: it runs, every command it prints reads back in a shell as
# the words it ran (so a newcomer can paste it), with -s and -t shown.
test_demo_commands_paste_back() {
  timeout -k 2 "$(lim 60)" sh scripts/demo.sh "$QMPCTL" >"$T/demo" 2>&1 </dev/null
  rc=$?
  assertEquals "make demo's script: exit status; [$(tail -n 5 "$T/demo")]" 0 "$rc"
  grep '^\$ qmpctl ' "$T/demo" >"$T/demo.cmds"
  assertTrue "the demo shows at least 8 commands" "[ $(wc -l <"$T/demo.cmds") -ge 8 ]"
  local line n=0 bad=
  while IFS= read -r line; do
    n=$((n + 1))
    # Parse the line as a shell would; it must hold -s and -t.
    eval "set -- ${line#\$ }" 2>/dev/null || { bad="$bad [$line]"; continue; }
    case " $* " in *" -s "*" -t "*) ;; *) bad="$bad [$line]" ;; esac
  done <"$T/demo.cmds"
  assertEquals "commands that do not paste back or lack -s/-t" "" "$bad"
  assert_that "the demo shows the shorthand" grep -q 'property=type' "$T/demo.cmds"
  assert_that "the demo shows --hmp" grep -q -- "--hmp 'info status'" "$T/demo.cmds"
  assert_that "the demo shows a command and its event" grep -q -- '-c stop --wait-event STOP' "$T/demo.cmds"
  assertEquals "only no-such-command fails" 1 "$(grep -c '^(exit status 1)' "$T/demo")"
  assertEquals "the other runs succeed" "$(( $(wc -l <"$T/demo.cmds") - 1 ))" \
    "$(grep -c '^(exit status 0)' "$T/demo")"
}

# ---------------------------------------------------------------- (e)

# start_vms NAME...: one QEMU per NAME, its monitor on $T/vms/NAME.sock.
start_vms() {
  local name
  mkdir -p "$T/vms"
  for name in "$@"; do
    start_qemu_unix "$name" "$T/vms/$name.sock" \
      -qmp "unix:$T/vms/$name.sock,server=on,wait=off" || return 1
  done
}

# assert_vm_line SOCK: stdout has exactly one line for SOCK, "SOCK JSON",
# and the JSON says the VM is running.
assert_vm_line() {
  local lines
  lines=$(grep -cF -- "$1 " "$T/out")
  assertEquals "many-vms: lines for $1; $(ctx)" 1 "$lines"
  assertEquals "many-vms: status of $1; $(ctx)" running \
    "$(grep -F -- "$1 " "$T/out" | cut -d ' ' -f 2- | jq -r .status 2>&1)"
}

test_recipe_many_vms() {
  assert_that "three QEMUs must start" start_vms vm1 vm2 vm3 || return 0
  run_recipe many-vms VM_DIR="$T/vms"
  assert_recipe_ok many-vms
  assert_no_stderr many-vms
  assertEquals "many-vms: one line per VM; $(ctx)" 3 "$(wc -l <"$T/out")"
  local name
  for name in vm1 vm2 vm3; do
    assert_vm_line "$T/vms/$name.sock"
  done
}

test_recipe_many_vms_one_dead() {
  # A socket nobody listens on: its line holds the error, the others are
  # answered all the same, and the recipe fails.
  assert_that "two QEMUs must start" start_vms vm1 vm2 || return 0
  python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
    "$T/vms/dead.sock"
  run_recipe many-vms VM_DIR="$T/vms"
  assertEquals "many-vms with a dead socket: xargs's status; $(ctx)" 123 "$rc"
  assertEquals "many-vms with a dead socket: one line per socket; $(ctx)" 3 "$(wc -l <"$T/out")"
  assert_vm_line "$T/vms/vm1.sock"
  assert_vm_line "$T/vms/vm2.sock"
  assert_that "many-vms: the dead socket's line has the error; $(ctx)" \
    grep -qE "^$T/vms/dead.sock qmpctl: .*Connection refused" "$T/out"
}

test_recipe_guest_wait() {
  assert_that "qemu-ga must start; $(cat "$T/qga.out" 2>/dev/null)" start_qga || return 0
  run_recipe guest-wait QGA_SOCKET="$T/qga.sock"
  assert_recipe_ok guest-wait
  assertEquals "guest-wait: stdout; $(ctx)" \
    "guest agent $("$QGA_BIN" -V | sed -n 's/^QEMU Guest Agent \([^ ]*\).*/\1/p') is up" \
    "$(cat "$T/out")"
  assert_no_stderr guest-wait
}

# guest_test_recipe STATUS: the guest-test recipe, run against a qemu-ga
# with guest-exec enabled (start_exec_agent: user 65534, a folder of its
# own), with a suite in that folder that writes its log there and exits
# with STATUS.
guest_test_recipe() {
  printf '#!/bin/sh\necho "suite ran" >"$1"\necho "1 test, status %s" >>"$1"\necho "running the suite"\nexit %s\n' \
    "$1" "$1" >"$XA_DIR/suite.sh"
  chmod 755 "$XA_DIR/suite.sh"
  sed -e "s|^suite=.*|suite=$XA_DIR/suite.sh|" -e "s|^log=.*|log=$XA_DIR/suite.log|" \
    "$T/recipes/guest-test.sh" >"$T/recipes/guest-test-here.sh"
  run_recipe guest-test-here QGA_SOCKET="$XA_SOCK"
}

test_recipe_guest_test() {
  assert_that "qemu-ga (user 65534) must start" start_exec_agent || return 0
  assert_that "the recipe must set suite=" grep -q '^suite=' "$T/recipes/guest-test.sh"
  assert_that "the recipe must set log=" grep -q '^log=' "$T/recipes/guest-test.sh"
  guest_test_recipe 0
  assert_rc 0 "guest-test, suite passing"
  assertEquals "guest-test, suite passing: stdout; $(ctx)" \
    "$(printf 'running the suite\nguest tests: status 0, 2 log lines')" "$(cat "$T/out")"
  assert_no_stderr "guest-test, suite passing"
  assertEquals "guest-test: the log fetched" \
    "$(printf 'suite ran\n1 test, status 0')" "$(cat "$T/run-guest-test-here/guest-tests.log")"

  rm -rf "$T/run-guest-test-here"
  guest_test_recipe 3
  assert_rc 3 "guest-test, suite failing with 3"
  assertEquals "guest-test, suite failing: stdout; $(ctx)" \
    "$(printf 'running the suite\nguest tests: status 3, 2 log lines')" "$(cat "$T/out")"
}

# ---------------------------------------------------------------- examples

# doc_examples FILE KIND SOCK: the examples of FILE that run qmpctl on the
# socket SOCK and show their output, as records "CMD\tOUTPUT" (newlines in
# OUTPUT as \n) in $T/examples.  KIND readme: indented blocks, each line
# "$ qmpctl ..." followed by its output; KIND man: the same inside
# .Bd -literal.  Examples whose output is cut ("...") or that redirect
# are left out.
doc_examples() {
  awk -v kind="$2" -v sock="$3" '
    function flush() {
      if (cmd != "" && out != "" && index(cmd, sock) && out !~ /\.\.\./ &&
          cmd !~ /[<>|]/)
        printf "%s\t%s\n", cmd, out
      cmd = ""; out = ""
    }
    kind == "man" && /^\.Bd -literal/ { inblock = 1; next }
    kind == "man" && /^\.Ed/ { flush(); inblock = 0; next }
    kind == "readme" { inblock = /^    / ; if (!inblock) { flush(); next } sub(/^    /, "") }
    !inblock { next }
    /^\$ qmpctl / { flush(); cmd = substr($0, 3); next }
    /^\$ / { flush(); next }
    cmd != "" { out = out (out == "" ? "" : "\\n") $0 }
    END { flush() }' "$1" >"$T/examples"
}

# run_examples WHAT SOCK: run each example of $T/examples with SOCK turned
# into $QEMU_SOCK, and compare its stdout (timestamps aside) with the text.
# The docs show QEMU 7.2's query-status; QEMU 10.0 no longer has its member
# singlestep (always false, deprecated since 8.1): it is left out of both
# sides (example_norm).
run_examples() {
  local what=$1 sock=$2 cmd want got n=0
  while IFS=$'\t' read -r cmd want; do
    n=$((n + 1))
    cmd=${cmd//$sock/$QEMU_SOCK}
    got=$(PATH="$T/bin:$PATH" timeout -k 2 "$(lim 20)" bash -c "$cmd" 2>"$T/ex.err" </dev/null |
      tr -d '\r' | example_norm)
    want=$(printf '%b' "$want" | example_norm)
    assertEquals "$what example: $cmd" "$want" "$got"
  done <"$T/examples"
  assertTrue "$what: at least 3 examples run, $n did" "[ $n -ge 3 ]"
}

# example_norm: an example's output with timestamps as TIME, without
# QEMU 7.2's singlestep member.
example_norm() {
  sed -E 's/"seconds":[0-9]+,"microseconds":[0-9]+/TIME/; s/"singlestep":false,//
    /^  singlestep: bool$/d'
}

# readme_block MARKER: print the fenced block of README.md that follows
# the line "<!-- MARKER -->", unchanged.
readme_block() {
  awk -v m="<!-- $1 -->" '
    $0 == m { state = 1; next }
    state == 1 && /^```/ { state = 2; next }
    state == 2 && /^```[ \t]*$/ { exit }
    state == 2 { print }' README.md
}

# The README's First steps, pasted whole into a shell: a directory with
# "make" that builds nothing and "qmpctl" standing for $QMPCTL (so that
# "make && export PATH=$PWD:$PATH" holds as written), and the socket in $T
# instead of /tmp/vm.sock (files run side by side).  What it prints is the
# README's output block, timestamps and QEMU 7.2's singlestep aside; the
# QEMU it started is gone afterwards.
test_readme_first_steps_paste() {
  local dir=$T/paste q pids
  mkdir -p "$dir"
  q=$(realpath -- "$QMPCTL") || return 1
  printf '#!/bin/sh\nexec %q "$@"\n' "$q" >"$dir/qmpctl"
  chmod +x "$dir/qmpctl"
  printf 'all:\n\t@:\n' >"$dir/Makefile"
  readme_block first-steps | sed "s#/tmp/vm\.sock#$T/vm.sock#g" >"$dir/block.sh"
  readme_block first-steps-output >"$dir/want"
  assertTrue "README: the first-steps block" "[ -s $dir/block.sh ]"
  assertTrue "README: the first-steps output block" "[ -s $dir/want ]"
  (cd "$dir" && timeout -k 2 30 bash -s <block.sh >"$T/out" 2>"$T/err")
  rc=$?
  assertEquals "first steps pasted: status; $(ctx)" 0 "$rc"
  assertEquals "first steps pasted: stderr" "" "$(cat "$T/err")"
  assertEquals "first steps pasted: what it prints" \
    "$(example_norm <"$dir/want")" "$(example_norm <"$T/out")"
  # quit stopped the QEMU it started.
  _no_qemu_on() { ! pgrep -f -- "$T/vm.sock" >/dev/null; }
  assert_that "the QEMU of the first steps has exited" wait_until 10 _no_qemu_on
  pids=$(pgrep -f -- "$T/vm.sock" | tr '\n' ' ')
  for q in $pids; do kill -KILL "$q" 2>/dev/null; done
}

test_man_examples() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  doc_examples qmpctl.1 man /run/vm/qmp.sock
  run_examples qmpctl.1 /run/vm/qmp.sock
}

# The messages the docs quote are the program's: each quoted
# "qmpctl: ..." text, up to its first placeholder, is in the sources.
test_quoted_messages_exist() {
  local msg part missing=
  grep -ohE '`qmpctl: [^`]+`' README.md RECIPES.md | tr -d '`' >"$T/quoted"
  grep -ohE '^\.Ql qmpctl: .*' qmpctl.1 |
    sed -E 's/^\.Ql //; s/\\&//g; s/ [.,;:]$//' >>"$T/quoted"
  assertTrue "the docs quote messages" "[ -s $T/quoted ]"
  while IFS= read -r msg; do
    part=${msg#qmpctl: }
    # The server's own text (CLASS: DESC) is not ours.
    case $part in [A-Z]*) continue ;; esac
    # Up to the first placeholder (NAME, N, ...) or path.
    part=$(printf '%s' "$part" | sed -E 's/( [A-Z]{2,}\b| [0-9]+\b|\/|\.\.\.).*//')
    [ ${#part} -ge 6 ] || continue
    # Each word may also be a %s of the format string.
    part=$(printf '%s' "$part" | sed -E 's/[][().*+?^$\\]/\\&/g; s/[a-z][a-z-]*/(&|%[a-z.0-9]*s)/g')
    grep -qE -- "$part" ./*.c || missing="$missing [$msg]"
  done <"$T/quoted"
  assertEquals "quoted messages not found in the sources" "" "$missing"
}

. shunit2
