#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_io.sh -- the files and descriptors qmpctl is given, held
# against hostile surroundings: trace and events files that hold secrets
# (mode 0600, no symbolic link, no file of someone else's), $QMPCTL_TRACE
# appended whole lines at a time by runs in parallel, -t through readers
# that stop reading, and --put's stdin checked before the guest file is
# emptied.  Run from the project root:
#
#     bash tests/test_io.sh [testName...]
#
# Peers: the fake peer (tests/fakepeer).  No test needs a wall-clock bound:
# a wait that -t does not end is caught by the status (timeout(1)'s 124
# instead of 8).
# shellcheck disable=SC2016  # $ID, $ARGSID are the fake peer's

. tests/lib.sh

oneTimeSetUp() {
  require_built "$QMPCTL" make
  require_built "$FAKEPEER" "make tests/fakepeer"
  command -v jq >/dev/null || { echo "test_io.sh: jq not installed" >&2; exit 1; }
}

# mode_of PATH: the permission bits of PATH in octal (600).
mode_of() { stat -c %a "$1" 2>/dev/null; }

# ------------------------------------------------------- class 1: secrets

# New trace and events files are 0600 whatever the umask: they hold every
# message, secrets included.
test_output_files_owner_only() {
  local u
  for u in 022 000; do
    rm -f "$T/t" "$T/e" "$T/env"
    ( umask "$u"; exec "$QMPCTL" -t 5 -s "$T/none.sock" --trace "$T/t" \
        --events "$T/e" -c query-status ) >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    assert_fails 3 'none.sock' "umask $u: no server"
    assertEquals "umask $u: --trace FILE mode" 600 "$(mode_of "$T/t")"
    assertEquals "umask $u: --events FILE mode" 600 "$(mode_of "$T/e")"
    ( umask "$u"; QMPCTL_TRACE=$T/env exec "$QMPCTL" -t 5 -s "$T/none.sock" \
        -c query-status ) >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    assert_rc 3 "umask $u: \$QMPCTL_TRACE"
    assertEquals "umask $u: \$QMPCTL_TRACE mode" 600 "$(mode_of "$T/env")"
  done
  # A umask that takes the owner's bits too: still 0600.
  rm -f "$T/t"
  ( umask 777; exec "$QMPCTL" -t 5 -s "$T/none.sock" --trace "$T/t" \
      -c query-status ) >"$T/out" 2>"$T/err" </dev/null
  assertEquals "umask 777: --trace FILE mode" 600 "$(mode_of "$T/t")"
}

# refused WHAT ERE ARGS...: qmpctl ARGS ends with status 9 and the one
# line ERE, before connecting (no server is there: connecting would be 3).
refused() {
  local what=$1 ere=$2
  shift 2
  run_q -t 5 -s "$T/none.sock" "$@" -c query-status </dev/null
  assert_fails 9 "$ere" "$what"
}

# Paths another user could have prepared are refused: a symbolic link
# (never followed), a file with another hard link, one owned by someone
# else, a socket, a directory.
test_output_files_refused() {
  : >"$T/target"
  ln -s "$T/target" "$T/link"
  refused "--trace symlink" '^qmpctl: .*/link: a symbolic link: not followed$' \
    --trace "$T/link"
  refused "--events symlink" '^qmpctl: .*/link: a symbolic link: not followed$' \
    --events "$T/link"
  ln -s "$T/nowhere" "$T/dangling"
  refused "--trace dangling symlink" 'dangling: a symbolic link: not followed$' \
    --trace "$T/dangling"
  assertFalse "the dangling link's target must not be created" "[ -e $T/nowhere ]"
  QMPCTL_TRACE=$T/link refused "\$QMPCTL_TRACE symlink" \
    'link: a symbolic link: not followed$'
  echo keep >"$T/target"
  ln "$T/target" "$T/hard"
  refused "--trace hard link" '^qmpctl: .*/hard: a file with other hard links: refused$' \
    --trace "$T/hard"
  assertEquals "the linked file is untouched" keep "$(cat "$T/target")"
  mkdir "$T/dir"
  refused "--trace directory" '^qmpctl: .*/dir: Is a directory$' --trace "$T/dir"
  if [[ $(id -u) == 0 ]]; then
    echo theirs >"$T/theirs"
    chown nobody "$T/theirs"
    refused "--events owned by nobody" \
      '^qmpctl: .*/theirs: owned by another user: refused$' --events "$T/theirs"
    assertEquals "their file is untouched" theirs "$(cat "$T/theirs")"
  else
    echo "test_io.sh: not root: the other-owner case is skipped" >&2
  fi
}

# A socket given as --events or $QMPCTL_TRACE is an error at once, not a
# wait (until -t) for a FIFO's reader; nothing is sent.
test_output_socket_refused_at_once() {
  start_fakepeer greet negotiate expect 'send {"return": {}}\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q -t 30 -s "$PEER_SOCK" --events "$PEER_SOCK" -c query-status </dev/null
  assert_fails 9 "^qmpctl: $PEER_SOCK: a socket, not a file or a FIFO\$" "--events SOCKET"
  QMPCTL_TRACE=$PEER_SOCK run_q -t 30 -s "$PEER_SOCK" -c query-status </dev/null
  assert_fails 9 "^qmpctl: $PEER_SOCK: a socket, not a file or a FIFO\$" "\$QMPCTL_TRACE=SOCKET"
  assertEquals "nothing was sent" "" "$(cat "$PEER_RECV" 2>/dev/null)"
}

# An existing file of the caller's: --trace and --events empty it (one
# run's record), $QMPCTL_TRACE appends to it (a CI job's record); its mode
# stays as its owner set it.
test_existing_file_truncated_or_appended() {
  start_fakepeer greet negotiate expect 'send {"return": {}}\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  echo old >"$T/t"
  chmod 640 "$T/t"
  run_q -t 5 -s "$PEER_SOCK" --trace "$T/t" -c query-status </dev/null
  assert_ok "--trace over an existing file"
  assertEquals "--trace empties it first: 5 lines of this run" 5 "$(wc -l <"$T/t")"
  assertEquals "its mode stays" 640 "$(mode_of "$T/t")"
  start_fakepeer greet negotiate expect 'send {"return": {}}\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  echo '{"old":1}' >"$T/env"
  QMPCTL_TRACE=$T/env run_q -t 5 -s "$PEER_SOCK" -c query-status </dev/null
  assert_ok "\$QMPCTL_TRACE over an existing file"
  assertEquals "\$QMPCTL_TRACE appends: the old line stays first" '{"old":1}' \
    "$(head -n 1 "$T/env")"
  assertEquals "\$QMPCTL_TRACE appends: 1 + 5 lines" 6 "$(wc -l <"$T/env")"
}

# ------------------------------------------------- class 4: parallel runs

# Runs in parallel (xargs -P) append whole lines to one $QMPCTL_TRACE:
# every line is one JSON object, none lost; each reply's line is longer
# than a pipe's atomic write, so a line written in pieces would tear.
test_trace_env_parallel_whole_lines() {
  local i n=6 pids=() socks=() bad
  for (( i = 0; i < n; i++ )); do
    start_fakepeer greet negotiate expect 'big 200000' wait_close ||
      { fail "fake peer $i did not start"; return 0; }
    socks+=("$PEER_SOCK")
  done
  for (( i = 0; i < n; i++ )); do
    QMPCTL_TRACE=$T/par timeout -k 2 "$(lim 30)" "$QMPCTL" -t 20 -s "${socks[i]}" \
      -c query-status >"$T/out$i" 2>"$T/err$i" </dev/null &
    pids+=($!)
  done
  for (( i = 0; i < n; i++ )); do
    wait "${pids[i]}"
    assertEquals "run $i: status; stderr [$(cat "$T/err$i")]" 0 $?
  done
  assertEquals "every run's 5 lines are there" $(( 5 * n )) "$(wc -l <"$T/par")"
  bad=$(jq -c 'select((.dir | type) != "string")' "$T/par" 2>&1 | head -c 300)
  assertEquals "every line is one JSON object" "" "$bad"
  assertEquals "every reply whole: $n lines with the 200000-byte string" "$n" \
    "$(jq -r 'select(.msg.return | type == "string") | .msg.return | length' \
      "$T/par" 2>/dev/null | grep -c '^200000$')"
}

# ------------------------------------------- class 3: -t through readers

# stall_fifo NAME: make the FIFO $T/NAME and hold it open read-write in
# this shell, read by nobody; sets STALL_FD.
stall_fifo() {
  mkfifo "$T/$1"
  exec {STALL_FD}<>"$T/$1"
}

# A reader of stdout that stops reading: -t ends the run with status 8.
test_deadline_stdout_stalled() {
  start_fakepeer greet negotiate expect 'big 1000000' wait_close ||
    { fail "fake peer did not start"; return 0; }
  stall_fifo out.fifo
  run_q_to "$T/out.fifo" -t 1 -s "$PEER_SOCK" -c query-status </dev/null
  exec {STALL_FD}>&-
  assert_rc 8 "stdout stalled"
  assert_err_line '^qmpctl: stdout: timed out writing$' "stdout stalled"
}

# An --events FIFO whose reader stops reading: status 8, said.
test_deadline_events_fifo_stalled() {
  start_fakepeer greet negotiate expect \
    'repeat 3000 {"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 1}}\r\n' \
    'send {"return": {}}\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  stall_fifo ev.fifo
  run_q -t 1 -s "$PEER_SOCK" --events "$T/ev.fifo" -c query-status </dev/null
  exec {STALL_FD}>&-
  assert_rc 8 "--events FIFO stalled"
  assert_that "--events FIFO stalled: said; $(ctx)" \
    grep -q "^qmpctl: $T/ev.fifo: timed out writing\$" "$T/err"
}

# A --trace FIFO whose reader stops reading: status 8, said.
test_deadline_trace_fifo_stalled() {
  start_fakepeer greet negotiate expect 'big 300000' wait_close ||
    { fail "fake peer did not start"; return 0; }
  stall_fifo tr.fifo
  run_q -t 1 -s "$PEER_SOCK" --trace "$T/tr.fifo" -c query-status </dev/null
  exec {STALL_FD}>&-
  assert_rc 8 "--trace FIFO stalled"
  assert_that "--trace FIFO stalled: said; $(ctx)" \
    grep -q "^qmpctl: $T/tr.fifo: timed out writing the trace\$" "$T/err"
}

# A --ready-fd pipe that is full: status 8, said, no command sent.
test_deadline_ready_fd_full() {
  start_fakepeer greet negotiate wait_close ||
    { fail "fake peer did not start"; return 0; }
  stall_fifo ready.fifo
  # Fill the pipe: 64 KiB, its whole capacity, then nothing more fits.
  head -c 65536 /dev/zero >&"$STALL_FD"
  run_q -t 1 -s "$PEER_SOCK" --ready-fd 3 -c query-status 3>"$T/ready.fifo" </dev/null
  exec {STALL_FD}>&-
  assert_fails 8 '^qmpctl: --ready-fd 3: timed out writing$' "--ready-fd full"
  assertEquals "no command sent" '{"execute":"qmp_capabilities"}' "$(cat "$PEER_RECV")"
}

# A large -a @FILE that is read in time but parsed past -t: a local
# time-out before connecting, never blamed on the server.  -t is half the
# time the same run takes without one (a calibration in this run): the
# file is read in a small part of it (2 MB), parsing takes the rest (a
# million numbers).
test_deadline_large_args_file() {
  start_fakepeer greet negotiate expect 'send {"return": {}}\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  # Half a million values (within the memory budget: about 45 MB) take
  # milliseconds to read and parse on any machine, and longer the busier
  # it is: a 1 ms deadline always ends in the input.
  { printf '{"a":['; head -c 500000 /dev/zero | tr '\0' '1' | sed 's/1/1,/g'
    printf '1]}'; } >"$T/big.json"
  run_q -t 60 -s "$T/none.sock" -c query-status -a "@$T/big.json" </dev/null
  assert_fails 3 'none\.sock' "the same input with time to spare: read, then no server"
  run_q -t 0.001 -s "$PEER_SOCK" -c query-status -a "@$T/big.json" </dev/null
  assert_fails 8 '^qmpctl: (timed out reading the input, before connecting|.*/big\.json: timed out reading)$' \
    "-a @FILE read or parsed past -t 0.001"
  assertEquals "no hint about the server; $(ctx)" 0 "$(grep -c hint "$T/err")"
  assertEquals "nothing was sent" "" "$(cat "$PEER_RECV" 2>/dev/null)"
}

# f_secs_of US: microseconds US as seconds with 3 decimals, at least 0.001.
f_secs_of() {
  local us=$(( $1 < 1000 ? 1000 : $1 ))
  printf '%d.%03d' $(( us / 1000000 )) $(( us % 1000000 / 1000 ))
}

# --------------------------------------------- class 6: --put's stdin

# --put with a stdin that cannot be read (a directory, closed, write-only)
# is a usage error before connecting: no guest-file-open, which would
# empty the guest file.
test_put_unreadable_stdin_sends_nothing() {
  start_fakepeer expect 'send {"return": {}}\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q -t 5 --qga -s "$PEER_SOCK" --put /tmp/f <"$T"
  assert_fails 2 '^qmpctl: --put copies stdin, which is a directory \(see --help\)$' \
    "--put < DIRECTORY"
  timeout -k 2 "$(lim 20)" "$QMPCTL" -t 5 --qga -s "$PEER_SOCK" --put /tmp/f \
    >"$T/out" 2>"$T/err" <&-
  rc=$?
  assert_fails 2 '^qmpctl: --put copies stdin, which is closed \(see --help\)$' \
    "--put <&-"
  run_q -t 5 --qga -s "$PEER_SOCK" --put /tmp/f 0>>"$T/wo"
  assert_fails 2 '^qmpctl: --put copies stdin, which is not open for reading \(see --help\)$' \
    "--put 0>FILE"
  assertEquals "nothing was sent" "" "$(cat "$PEER_RECV" 2>/dev/null)"
}

. shunit2
