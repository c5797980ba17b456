#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_agent_exec.sh -- the guest agent modes for CI: --wait for an
# agent that answers late, --exec, --get and --put, against a real qemu-ga
# 7.2 and the fake peer; and base64.c's unit tests.
# Run from the project root:  bash tests/test_agent_exec.sh [-- testName...]
#
# DANGER: qemu-ga run here acts on THIS machine.  guest-exec and
# guest-file-write are enabled ONLY on the qemu-ga of start_exec_agent
# (tests/lib.sh): run as the unprivileged user 65534, in a fresh folder of
# mode 0700 that only that user owns.  The programs it runs work only on
# files in that folder ($XA_DIR), or on none (sleep, kill $$, cat of
# stdin), and --put writes only there.  The one qemu-ga run as root
# (root_agent) keeps the whole block list, and --exec and --put sent to it
# are refused: --put is checked to leave its file alone.
#
# Facts checked by hand against qemu-ga 7.2.22:
#   guest-exec-status: {"exited": false} while running; once exited,
#       "exitcode" or "signal" (no exitcode then), "out-data"/"err-data"
#       only when the stream was not empty
#   captured output is cut at 16 MiB (16777216 bytes) a stream: the agent
#       reads the rest and drops it, "out-truncated": true, and the program
#       runs to its end (its exit code is kept)
#   a program given no input-data reads /dev/null; guest-exec searches PATH
#   guest-exec of a missing program: GenericError "Guest agent command
#       failed, error was 'Failed to execute child process ...'"
#   guest-file-open mode "w" creates the file (mode 0666 less the agent's
#       umask) or empties it; guest-file-read returns "buf-b64" "" at eof

. tests/lib.sh

QGA_BIN=${QGA_BIN:-$(command -v qemu-ga || echo /usr/sbin/qemu-ga)}
B64TEST=${B64TEST:-tests/base64_test}
# The whole block list of qmp-notes.md, for the qemu-ga run as root.
ROOT_BLOCK=$XA_BLOCK,guest-exec,guest-file-write

oneTimeSetUp() {
  local tool
  require_built "$QMPCTL" make
  require_built "$FAKEPEER" "make tests/fakepeer"
  require_built "$B64TEST" "make tests/base64_test"
  for tool in "$QGA_BIN" setpriv jq sha256sum; do
    if ! command -v "$tool" >/dev/null; then
      echo "test_agent_exec.sh: $tool not installed" >&2
      exit 1
    fi
  done
  if [[ $(id -u) != 0 ]]; then
    echo "test_agent_exec.sh: must run as root (to start qemu-ga as user 65534)" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------- helpers

# xa: start the qemu-ga of start_exec_agent, or fail the test.
xa() {
  start_exec_agent && return 0
  fail "could not start qemu-ga as user 65534"
  return 1
}

# xq ARGS...: run_q --qga against that agent.
xq() { run_q --qga -s "$XA_SOCK" "$@"; }

# xa_fds_on FILE: print how many descriptors the agent holds on FILE.
xa_fds_on() {
  local n=0 fd
  for fd in /proc/"$XA_PID"/fd/*; do
    [[ $(readlink "$fd") == "$1" ]] && n=$(( n + 1 ))
  done
  echo "$n"
}

# xa_script NAME TEXT: a shell script NAME in $XA_DIR for the agent to run.
xa_script() {
  printf '#!/bin/sh\n%s\n' "$2" >"$XA_DIR/$1"
  chmod 755 "$XA_DIR/$1"
}

# assert_out_is TEXT [WHAT]: stdout is exactly TEXT (plus nothing).
assert_out_is() {
  assertEquals "${2:+$2: }stdout; $(ctx)" "$1" "$(cat "$T/out")"
}

_ra_up() { [[ -S $RA_SOCK ]] || ! pid_alive "$RA_PID"; }

# root_agent: qemu-ga as root on $T/ra.sock with the WHOLE block list,
# checked with guest-info as in test_agent.sh.  Sets RA_PID and RA_SOCK.
root_agent() {
  RA_SOCK=$T/ra.sock
  rm -f "$RA_SOCK"
  mkdir -p "$T/ra-state"
  "$QGA_BIN" -m unix-listen -p "$RA_SOCK" -t "$T/ra-state" -l "$T/ra.log" \
    -b "$ROOT_BLOCK" </dev/null >"$T/ra.out" 2>&1 &
  RA_PID=$!
  track_pid "$RA_PID"
  if ! wait_until 10 _ra_up || ! pid_alive "$RA_PID"; then
    fail "qemu-ga (root) did not start: $(cat "$T/ra.out")"
    return 1
  fi
  timeout -k 2 "$(lim 10)" "$QMPCTL" --qga -t 5 -s "$RA_SOCK" -c guest-info \
    >"$T/ra-info" 2>&1 </dev/null
  if ! _jq_true '[.supported_commands[] | select(.name == "guest-exec"
      or .name == "guest-file-write" or .name == "guest-shutdown")]
      | length == 3 and all(.[]; .enabled == false)' "$T/ra-info"; then
    stop_pid "$RA_PID"
    fail "qemu-ga (root) does not show its block list; stopped it"
    return 1
  fi
}

# _is_agent_sleep PID: PID runs sleep as user 65534.
_is_agent_sleep() {
  [[ -n $1 && $(cat "/proc/$1/comm" 2>/dev/null) == sleep ]] && _xa_uids_are "$1" 65534
}

# peer SCRIPT-LINES...: the fake peer (start_fakepeer) running these lines,
# or a failure.
peer() {
  start_fakepeer "$@" </dev/null ||
    { fail "fake peer did not start: $(cat "$PEER_ERR")"; return 1; }
}

# sent_jq FILTER: FILTER is true on what the peer received (jq -s, 0xFF
# bytes dropped), once the peer has ended.
sent_jq() {
  wait_until 5 _pid_gone "$PEER_PID"
  [[ $(tr -d '\377' <"$PEER_RECV" | jq -s "$1" 2>/dev/null) == true ]]
}

# ---------------------------------------------------------------- base64

test_base64_unit() {
  local n
  "$B64TEST" >"$T/out" 2>"$T/err"
  rc=$?
  assert_rc 0 "base64_test vectors"
  assertEquals "base64_test vectors: failures" "" "$(cat "$T/out" "$T/err")"
  # Every length from 0 to 7 and a long one, against coreutils.
  for n in 0 1 2 3 4 5 6 7 100001; do
    head -c "$n" /dev/urandom >"$T/plain"
    assertEquals "encode $n bytes" "$(base64 -w0 "$T/plain")" \
      "$("$B64TEST" encode <"$T/plain")"
    base64 -w0 "$T/plain" | "$B64TEST" decode >"$T/back"
    assert_that "decode $n bytes" cmp -s "$T/plain" "$T/back"
  done
  printf 'Zm9v\n' | "$B64TEST" decode >/dev/null 2>&1
  assertEquals "a line break is malformed" 1 "$?"
}

# ---------------------------------------------------------------- --wait

test_wait_for_late_agent() {
  # The agent (the fake peer) ignores the first two syncs, as an agent in a
  # guest that is still booting would, and answers the third.
  peer expect expect expect 'send \xff{"return": $ARGSID}\n' \
    expect 'send {"return": {}}\n' wait_close || return 0
  run_q --qga --wait 5 -t 10 -s "$PEER_SOCK" -c guest-ping
  assert_ok "--qga --wait 5, agent answering late"
  assert_out_is '{}' "--qga --wait 5"
  assert_that "three syncs with fresh ids, then guest-ping; got [$(tr -d '\377' <"$PEER_RECV")]" \
    sent_jq 'map(.execute) == ["guest-sync-delimited", "guest-sync-delimited",
      "guest-sync-delimited", "guest-ping"]
      and (.[0:3] | map(.arguments.id) | unique | length) == 3'
}

test_wait_too_short() {
  local ms
  peer hang || return 0
  prompt_begin
  run_q --qga --wait 0.3 -t 10 -s "$PEER_SOCK" -c guest-ping
  prompt_end; ms=$PROMPT_MS
  # N ms: what was left of --wait once connected.
  assert_fails 8 '^qmpctl: .*/peer[0-9]+\.sock: the agent did not answer guest-sync-delimited in [0-9]+ ms: is qemu-ga running in the guest\?$' \
    "--wait 0.3, silent agent"
  assertTrue "--wait 0.3 must not end before 0.25 s, took ${ms} ms" "[ $ms -ge 250 ]"
  assert_prompt "--wait 0.3 must end soon after 0.3 s" 300 2700

  # Without --wait, the same agent is a plain timeout of -t.
  peer hang || return 0
  run_q --qga -t 0.5 -s "$PEER_SOCK" -c guest-ping
  assert_fails 8 'timed out waiting for guest-sync-delimited$' "-t 0.5, silent agent"
}

test_wait_then_exec() {
  # --wait and --exec together, against the fake peer: the stdin given is
  # sent as input-data, and the program's status passes through.
  peer expect expect 'send \xff{"return": $ARGSID}\n' \
    expect 'send {"return": {"pid": 77}}\n' \
    expect 'send {"return": {"exited": true, "exitcode": 5, "out-data": "b2sK"}}\n' \
    wait_close || return 0
  printf 'in\n' >"$T/in"
  run_q --qga --wait 5 -t 10 -s "$PEER_SOCK" --exec -- /bin/cat <"$T/in"
  assert_rc 5 "--wait --exec"
  assert_out_is ok "--wait --exec"
  assert_no_stderr "--wait --exec"
  assert_that "guest-exec with input-data; got [$(tr -d '\377' <"$PEER_RECV")]" \
    sent_jq '.[2] == {"execute": "guest-exec", "arguments": {"path": "/bin/cat",
      "arg": [], "capture-output": true, "input-data": "aW4K"}}'
}

# ---------------------------------------------------------------- --exec

test_exec_status() {
  xa || return 0
  xq -n --exec -- /usr/bin/id -u
  assert_ok "--exec id -u"
  assert_out_is 65534 "--exec id -u: the program runs as the agent's user"

  xq -n --exec -- /bin/sh -c 'exit 3'
  assert_rc 3 "--exec exit 3"
  assert_no_stderr "--exec exit 3"

  xq -n --exec -- /bin/sh -c 'kill -TERM $$'
  assert_rc 143 "--exec, killed by SIGTERM"
  assert_no_stderr "--exec, killed by SIGTERM"

  # Programs are searched in PATH, and start in the agent's directory.
  xq -n --exec -- pwd
  assert_ok "--exec pwd"
  assert_out_is "$XA_DIR" "--exec pwd"
}

test_exec_stdout_and_stderr_apart() {
  xa || return 0
  xa_script both.sh 'printf "out 1\n"; printf "err 1\n" >&2; printf "out 2"; exit 4'
  xq -n --exec -- "$XA_DIR/both.sh"
  assert_rc 4 "both.sh"
  assertEquals "both.sh: stdout" "$(printf 'out 1\nout 2')" "$(cat "$T/out")"
  assertEquals "both.sh: stderr" "err 1" "$(cat "$T/err")"
  assertEquals "both.sh: no newline added at the end" "2" "$(tail -c 1 "$T/out")"
}

test_exec_stdin() {
  xa || return 0
  # Binary stdin reaches the program byte for byte, and comes back so.
  printf 'line\n\000\001\377end' >"$T/in"
  xq --exec -- /bin/cat <"$T/in"
  assert_rc 0 "cat of stdin"
  assert_no_stderr "cat of stdin"
  assert_that "cat of stdin: the same bytes back; $(ctx)" cmp -s "$T/in" "$T/out"

  # -n: nothing is sent, and the program reads /dev/null.
  xq -n --exec -- /bin/cat <"$T/in"
  assert_rc 0 "cat with -n"
  assert_out_is '' "cat with -n"

  # Over --max-size: qmpctl's failure, 255, before anything runs.
  head -c 5000 /dev/zero >"$T/in"
  xq --max-size 4K --exec -- /bin/cat <"$T/in"
  assert_fails 255 '^qmpctl: stdin: more than 4096 bytes' "stdin over --max-size"
}

test_exec_big_output() {
  xa || return 0
  head -c 3M /dev/urandom >"$XA_DIR/data"
  local t0 ms
  t0=${EPOCHREALTIME/./}
  xq -t 30 -n --exec -- /bin/cat "$XA_DIR/data"
  ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
  echo "    --exec cat of 3 MiB: ${ms} ms" >&2
  assert_rc 0 "cat of 3 MiB"
  assert_no_stderr "cat of 3 MiB"
  assertEquals "cat of 3 MiB: sha256" "$(sha256sum <"$XA_DIR/data")" \
    "$(sha256sum <"$T/out")"

  # The sum computed in the guest agrees.
  xq -n --exec -- /usr/bin/sha256sum "$XA_DIR/data"
  assert_ok "sha256sum in the guest"
  assertEquals "sha256sum in the guest" "$(sha256sum "$XA_DIR/data")" "$(cat "$T/out")"
}

test_exec_output_cap() {
  xa || return 0
  # qemu-ga keeps 16 MiB of a stream: 17 MiB is cut, with one line about it.
  head -c 17M /dev/urandom >"$XA_DIR/data"
  xa_script cap.sh "cat '$XA_DIR/data'; echo done >&2; exit 6"
  local t0 ms
  t0=${EPOCHREALTIME/./}
  xq -t 60 -n --exec -- "$XA_DIR/cap.sh"
  ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
  echo "    --exec cat of 17 MiB (16 MiB kept): ${ms} ms" >&2
  assert_rc 6 "17 MiB: the program's status"
  assertEquals "17 MiB: 16 MiB kept" 16777216 "$(wc -c <"$T/out")"
  assert_that "17 MiB: the first 16 MiB, byte for byte" \
    cmp -s "$T/out" <(head -c 16777216 "$XA_DIR/data")
  if qga_reports_cut; then
    assertEquals "17 MiB: stderr" \
      "$(printf "done\nqmpctl: the agent cut the program's stdout after 16777216 bytes (out-truncated)")" \
      "$(cat "$T/err")"
  else	# qemu-ga 10.0.0 to 10.0.3: cut, but out-truncated is false
    assertEquals "17 MiB: stderr (qemu-ga does not report the cut)" done "$(cat "$T/err")"
  fi
  rm -f "$XA_DIR/data" "$T/out"
}

test_exec_timeout() {
  xa || return 0
  local ms pid
  prompt_begin
  xq -t 1 -n --exec -- /bin/sleep 30
  prompt_end; ms=$PROMPT_MS
  assert_fails 255 '^qmpctl: timed out; the program runs on in the guest as pid [0-9]+$' \
    "--exec sleep 30 with -t 1"
  assertTrue "-t 1 must not end the run before 0.9 s, took ${ms} ms" "[ $ms -ge 900 ]"
  assert_prompt "-t 1 must end the run in time" 1000 2000
  # The pid named is the sleep, still running, as the agent's user.
  pid=$(sed -n 's/.* as pid \([0-9]*\)$/\1/p' "$T/err")
  assert_that "pid '$pid' must run /bin/sleep as 65534" _is_agent_sleep "$pid"
  [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null
}

test_exec_refused() {
  xa || return 0
  xq -n --exec -- "$XA_DIR/no-such-program"
  assert_fails 255 "^qmpctl: GenericError: .*no-such-program.*No such file or directory" \
    "--exec of a missing program"

  # A qemu-ga run as root has guest-exec and guest-file-write blocked.
  root_agent || return 0
  run_q --qga -s "$RA_SOCK" -n --exec -- /bin/true
  assert_fails 255 "^qmpctl: CommandNotFound: $(qga_disabled_desc guest-exec)\$" \
    "--exec with guest-exec blocked"
  # --put checks guest-info first: the file is not even opened (mode "w"
  # would empty it).
  printf 'keep\n' >"$T/keep"
  run_q --qga -s "$RA_SOCK" --put "$T/keep" <<<'new'
  assert_fails 1 '^qmpctl: guest-file-write is disabled in the guest agent' \
    "--put with guest-file-write blocked"
  assertEquals "--put refused: the file is untouched" keep "$(cat "$T/keep")"
}

# ---------------------------------------------------------------- files

test_put_get_round_trip() {
  xa || return 0
  local t0 ms n
  # Sizes around the 1 MiB chunk, and a few MiB.
  for n in 0 1 1048576 1048577 3145728; do
    head -c "$n" /dev/urandom >"$T/rand"
    t0=${EPOCHREALTIME/./}
    xq -t 30 --put "$XA_DIR/rand.bin" <"$T/rand"
    ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
    assert_ok "--put of $n bytes"
    assert_out_is "{\"bytes\":$n}" "--put of $n bytes"
    assert_that "--put of $n bytes: the guest file is the same" cmp -s "$T/rand" "$XA_DIR/rand.bin"
    [[ $n == 3145728 ]] && echo "    --put of 3 MiB: ${ms} ms" >&2

    t0=${EPOCHREALTIME/./}
    xq -t 30 --get "$XA_DIR/rand.bin"
    ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
    assert_rc 0 "--get of $n bytes"
    assert_no_stderr "--get of $n bytes"
    assert_that "--get of $n bytes: the same bytes" cmp -s "$T/rand" "$T/out"
    [[ $n == 3145728 ]] && echo "    --get of 3 MiB: ${ms} ms" >&2
  done
  assertEquals "no handle left open" 0 "$(xa_fds_on "$XA_DIR/rand.bin")"

  # --put replaces a longer file; -p indents its one line.
  xq -p --put "$XA_DIR/rand.bin" <<<'short'
  assert_rc 0 "--put -p"
  assertEquals "--put -p" "$(printf '{\n  "bytes": 6\n}')" "$(cat "$T/out")"
  assertEquals "--put replaced the file" short "$(cat "$XA_DIR/rand.bin")"
}

test_get_small_max_size() {
  xa || return 0
  # With --max-size 64K each read asks for less, so every reply fits.
  head -c 300000 /dev/urandom >"$XA_DIR/f"
  xq --max-size 64K --get "$XA_DIR/f"
  assert_rc 0 "--get --max-size 64K"
  assert_no_stderr "--get --max-size 64K"
  assert_that "--get --max-size 64K: the same bytes" cmp -s "$XA_DIR/f" "$T/out"
}

test_get_missing_file() {
  xa || return 0
  xq --get "$XA_DIR/nope"
  assert_fails 1 "^qmpctl: GenericError: failed to open file '$XA_DIR/nope' \\(mode: 'r'\\): No such file or directory$" \
    "--get of a missing file"
  xq --put "$XA_DIR/no/such/dir" <<<'x'
  assert_fails 1 "^qmpctl: GenericError: failed to open file .*No such file or directory$" \
    "--put in a missing folder"
}

test_get_closes_after_failures() {
  xa || return 0
  head -c 3M /dev/urandom >"$XA_DIR/f"
  local before
  before=$(ls /proc/"$XA_PID"/fd | wc -l)

  # stdout on /dev/full: status 9, and the handle is closed.
  timeout -k 2 "$(lim 20)" "$QMPCTL" --qga -t 10 -s "$XA_SOCK" --get "$XA_DIR/f" \
    >/dev/full 2>"$T/err" </dev/null
  rc=$?
  assert_fails 9 '^qmpctl: stdout: No space left on device$' "--get >/dev/full"
  assertEquals "--get >/dev/full: no handle left on the file" 0 "$(xa_fds_on "$XA_DIR/f")"

  # A reader that leaves: 141, quietly, and closed.
  timeout -k 2 "$(lim 20)" "$QMPCTL" --qga -t 10 -s "$XA_SOCK" --get "$XA_DIR/f" \
    2>"$T/err" </dev/null | head -c 10 >/dev/null
  rc=${PIPESTATUS[0]}
  assert_rc 141 "--get | head -c 10"
  assert_no_stderr "--get | head -c 10"
  assertEquals "--get | head: no handle left on the file" 0 "$(xa_fds_on "$XA_DIR/f")"

  # A reader that stalls: -t passes while writing; the close still goes out.
  rm -f "$T/stall"
  mkfifo "$T/stall"
  exec {stall}<>"$T/stall"
  timeout -k 2 "$(lim 20)" "$QMPCTL" --qga -t 1 -s "$XA_SOCK" --get "$XA_DIR/f" \
    >"$T/stall" 2>"$T/err" </dev/null
  rc=$?
  exec {stall}>&-
  assert_fails 8 '^qmpctl: stdout: timed out writing$' "--get to a stalled reader"
  assertEquals "--get, stalled reader: no handle left on the file" 0 "$(xa_fds_on "$XA_DIR/f")"

  # The agent holds no more descriptors than before, and still serves.
  assertEquals "the agent's descriptors" "$before" "$(ls /proc/"$XA_PID"/fd | wc -l)"
  xq --get "$XA_DIR/f"
  assert_that "--get still works afterwards" cmp -s "$XA_DIR/f" "$T/out"
}

test_put_closes_after_stdin_timeout() {
  xa || return 0
  # stdin stalls (a FIFO whose writer sends nothing): -t ends the copy,
  # and the close still goes out.
  rm -f "$T/slow-in"
  mkfifo "$T/slow-in"
  exec {held}<>"$T/slow-in"
  printf 'some' >&"$held"
  timeout -k 2 "$(lim 20)" "$QMPCTL" --qga -t 1 -s "$XA_SOCK" --put "$XA_DIR/p" \
    <"$T/slow-in" >"$T/out" 2>"$T/err"
  rc=$?
  exec {held}>&-
  assert_fails 8 '^qmpctl: stdin: timed out reading$' "--put, stdin stalling"
  assertEquals "--put, stdin stalling: no handle left on the file" 0 "$(xa_fds_on "$XA_DIR/p")"
  assertEquals "--put, stdin stalling: what came was written" some "$(cat "$XA_DIR/p")"
}

test_get_timeout_mid_read() {
  # The deadline passes while a read's reply is awaited: the connection is
  # out of step, the close cannot be sent, and the handle is named.
  peer expect 'send \xff{"return": $ARGSID}\n' expect 'send {"return": 1234}\n' \
    hang || return 0
  run_q --qga -t 1 -s "$PEER_SOCK" --get /f
  assert_rc 8 "--get, reply never comes"
  assertEquals "--get, reply never comes: stderr; $(ctx)" \
    "$(printf 'qmpctl: %s: timed out before the reply\nqmpctl: guest file handle 1234 stays open in the agent' "$PEER_SOCK")" \
    "$(cat "$T/err")"
}

test_usage_errors_send_nothing() {
  start_trap || { fail "trap listener did not start"; return 0; }
  local s=$T/trap.sock
  run_q --qga -s "$s" --exec /bin/true
  assert_fails 2 'give the program after --' "--exec without --"
  run_q --qga -s "$s" /bin/true --exec --
  assert_fails 2 'give the program after --' "--exec with the program before --"
  run_q -s "$s" --exec -- /bin/true
  assert_fails 2 'need --qga' "--exec without --qga"
  run_q --qga -s "$s" --get /a --exec -- /bin/true
  assert_fails 2 'exclude each other' "--get with --exec"
  run_q --qga -s "$s" -n --put /a </dev/null
  assert_fails 2 'excludes -n' "--put -n"
  run_q --qga -s "$s" -r --exec -- /bin/true
  assert_fails 2 'exclude -p, -f and -r' "--exec -r"
  assertEquals "usage errors must not connect" "" "$(cat "$T/trap.log" 2>/dev/null)"
}

. shunit2
