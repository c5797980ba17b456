#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_leaks.sh -- no leak on the paths that drop messages, with the
# normal build too.  The sanitized build (QMPCTL=./qmpctl-asan) finds leaks
# in every test; this file finds them without it: it runs the plain build
# under valgrind (and the sanitized one as it is, LeakSanitizer watching).
# Each run goes through the places where a message is read and dropped:
# events before the reply, replies to somebody else, stale agent answers,
# events that do not match, a batch.  Skipped without valgrind.

. tests/lib.sh

oneTimeSetUp() {
  require_built "$QMPCTL" make
  require_built "$FAKEPEER" "make tests/fakepeer"
  case $QMPCTL in
  *asan*|*valgrind*) LK_WRAP=() ;;
  *)
    if ! command -v valgrind >/dev/null; then
      echo "test_leaks.sh: valgrind not installed: skipped" >&2
      LK_SKIP=1
    fi
    LK_WRAP=(valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect
      --error-exitcode=99 --quiet) ;;
  esac
}

setUp() { [[ -z ${LK_SKIP:-} ]] || startSkipping; }

# lk_run WHAT EXPECT_RC ARGS...: run qmpctl (under valgrind for the plain
# build) with ARGS; it must exit with EXPECT_RC and report no leak.
lk_run() {
  local what=$1 want=$2
  shift 2
  timeout -k 2 "$(lim 60)" "${LK_WRAP[@]}" "$QMPCTL" -t 30 -s "$PEER_SOCK" "$@" \
    >"$T/out" 2>"$T/err"
  rc=$?
  assertEquals "$what: exit status (99: valgrind found an error); $(ctx)" \
    "$want" "$rc"
  assert_that "$what: no leak reported; $(ctx)" \
    _lk_clean "$T/err"
}
_lk_clean() { ! grep -qE 'LeakSanitizer|definitely lost|indirectly lost|ERROR SUMMARY: [1-9]' "$1"; }

EV='{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "E", "data": {"d": "x"}}\r\n'

test_no_leak_dropping_messages() {
  # Events before the reply, replies with ids never sent, then the answer.
  start_fakepeer greet negotiate expect \
    "send $EV$EV{\"return\": 1, \"id\": 5}\\r\\n{\"error\": {\"class\": \"X\", \"desc\": \"y\"}, \"id\": \"z\"}\\r\\n$EV{\"return\": {\"a\": [1]}}\\r\\n" \
    hang || { fail "fake peer did not start"; return 0; }
  lk_run "lockstep, dropped messages" 0 -c q

  # --oob: the same around our id; an error without an id is the answer.
  start_fakepeer greet negotiate expect \
    "send $EV{\"return\": 1, \"id\": 99}\\r\\n{\"return\": 2, \"id\": \$ID}\\r\\n" \
    expect "send $EV{\"return\": 3, \"id\": 98}\\r\\n{\"error\": {\"class\": \"X\", \"desc\": \"y\"}}\\r\\n" \
    hang || { fail "fake peer did not start"; return 0; }
  lk_run "--oob batch, dropped messages, error" 1 --oob \
    <<<'{"execute": "a"} {"execute": "b"}'

  # A batch command with its own id answered by an id-less return.
  start_fakepeer greet negotiate expect "send $EV{\"return\": 1, \"id\": 2}\\r\\n{\"return\": 1}\\r\\n" \
    hang || { fail "fake peer did not start"; return 0; }
  lk_run "id-less return for a command with an id" 7 \
    <<<'{"execute": "a", "id": 1}'
}

test_no_leak_events_and_agent() {
  # Events that do not match, then one that does.
  start_fakepeer greet negotiate expect 'send {"return": {}}\r\n' \
    "send $EV${EV/\"x\"/\"w\"}${EV/\"E\"/\"F\"}" hang ||
    { fail "fake peer did not start"; return 0; }
  lk_run "--wait-event with --match" 0 -c go --wait-event E --match d=w

  # The agent: stale answers before the sync's, 0xFF between replies.
  start_fakepeer expect \
    'send {"return": 17}\n\xff{"return": 5}\n\xff{"return": $ARGSID}\n\xff' \
    expect 'send \xff{"return": {}}\n' hang ||
    { fail "fake peer did not start"; return 0; }
  lk_run "--qga, stale answers" 0 --qga -c guest-ping
}

. shunit2
