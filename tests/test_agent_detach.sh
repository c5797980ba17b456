#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_agent_detach.sh -- guest programs that run on after the call:
# --exec --detach, --exec-status, --env and --merged, against a real
# qemu-ga 7.2 run as the unprivileged user 65534 (start_exec_agent in
# tests/lib.sh; see the warning at the top of test_agent_exec.sh).  The
# programs run only on files in the agent's own folder ($XA_DIR).
# Run from the project root:  bash tests/test_agent_detach.sh [-- testName...]
#
# Facts checked by hand against qemu-ga 7.2.22:
#   guest-exec "env" is the program's whole environment, not an addition
#   capture-output "merged" (8.1): GenericError "Invalid parameter type for
#       'capture-output', expected: boolean"
#   guest-exec-status of a pid it does not know: GenericError "Invalid
#       parameter 'pid'"; nor does it know a pid once it reported it exited

. tests/lib.sh

oneTimeSetUp() {
  local tool
  require_built "$QMPCTL" make
  for tool in "${QGA_BIN:-qemu-ga}" setpriv jq; do
    command -v "$tool" >/dev/null || { echo "test_agent_detach.sh: $tool not installed" >&2; exit 1; }
  done
  if [[ $(id -u) != 0 ]]; then
    echo "test_agent_detach.sh: must run as root (to start qemu-ga as user 65534)" >&2
    exit 1
  fi
}

# tearDown: the programs the agent still runs (a test that failed before
# they ended) are stopped by pid first, then everything else.
tearDown() {
  local p
  if [[ -n ${XA_PID:-} ]] && pid_alive "$XA_PID"; then
    for p in $(ps -o pid= --ppid "$XA_PID"); do
      track_pid "$p"
    done
  fi
  stop_all
}

# xa: start the qemu-ga of start_exec_agent, or fail the test.
xa() {
  start_exec_agent && return 0
  fail "could not start qemu-ga as user 65534"
  return 1
}

# xq ARGS...: run_q --qga against that agent.
xq() { run_q --qga -s "$XA_SOCK" "$@"; }

# xa_script NAME TEXT: a shell script NAME in $XA_DIR for the agent to run.
xa_script() {
  printf '#!/bin/sh\n%s\n' "$2" >"$XA_DIR/$1"
  chmod 755 "$XA_DIR/$1"
}

# detach ARGS...: --exec --detach -- ARGS; sets PID from {"pid": N}.
# The agent runs on this machine: the program is this machine's process
# PID, tracked so that tearDown stops it if the test ends before it does.
detach() {
  xq -n --exec --detach -- "$@"
  PID=$(jq -r 'if (.pid | type) == "number" then .pid else empty end' "$T/out" 2>/dev/null)
  [[ -z $PID ]] || track_pid "$PID"
}

test_detach_then_status() {
  xa || return 0
  # The program waits for a line on a FIFO in the agent's folder.
  mkfifo "$XA_DIR/go" && chown 65534:65534 "$XA_DIR/go"
  xa_script job.sh "read -r x <'$XA_DIR/go'; echo \"got \$x\"; echo to-stderr >&2; exit 3"
  detach "$XA_DIR/job.sh"
  assert_ok "--exec --detach"
  assert_jq '(keys == ["pid"]) and (.pid | type == "number")' "--detach prints {\"pid\": N}"
  assert_compact "--detach"
  [[ -n $PID ]] || return 0

  # Still running: --exec-status waits within -t, then gives up, and says
  # the program runs on.
  prompt_begin
  xq -t 0.5 --exec-status "$PID"
  prompt_end
  assert_fails 255 "^qmpctl: timed out; the program runs on in the guest as pid $PID\$" \
    "--exec-status of a running program, -t 0.5"
  assertTrue "-t 0.5 must not end the wait early, took $PROMPT_MS ms" "[ $PROMPT_MS -ge 400 ]"
  assert_prompt "-t 0.5 must end the wait" 500 4500

  echo go >"$XA_DIR/go"
  xq -t 10 --exec-status "$PID"
  assert_rc 3 "--exec-status: the program's exit status"
  assertEquals "--exec-status: its stdout" "got go" "$(cat "$T/out")"
  assertEquals "--exec-status: its stderr" "to-stderr" "$(cat "$T/err")"

  # Once collected, the agent forgets it.
  xq --exec-status "$PID"
  assert_fails 255 "^qmpctl: GenericError: $(qga_unknown_pid_re)\$" "--exec-status twice"
}

test_detach_killed_by_signal() {
  xa || return 0
  detach /bin/sh -c 'echo before; kill -KILL $$'
  assert_ok "--detach of a program that is killed"
  [[ -n $PID ]] || return 0
  xq --exec-status "$PID"
  assert_rc 137 "--exec-status: killed by SIGKILL is 128+9"
  assertEquals "--exec-status: the output before" before "$(cat "$T/out")"
  assert_no_stderr "--exec-status, SIGKILL"
}

test_exec_status_unknown_pid() {
  xa || return 0
  xq --exec-status 999999
  assert_fails 255 "^qmpctl: GenericError: $(qga_unknown_pid_re)\$" "--exec-status of an unknown pid"
}

test_env() {
  xa || return 0
  xq -n --env FOO=bar --env 'TWO=a b=c' --env EMPTY= --exec -- /usr/bin/env
  assert_rc 0 "--env with /usr/bin/env"
  assert_no_stderr "--env"
  assertEquals "--env: the program's whole environment" \
    "$(printf 'FOO=bar\nTWO=a b=c\nEMPTY=')" "$(cat "$T/out")"
  # With --detach too.
  xq -n --env GREETING=hello --exec --detach -- /bin/sh -c 'echo "$GREETING"'
  assert_ok "--env --detach"
  PID=$(jq .pid "$T/out")
  track_pid "$PID"
  xq --exec-status "$PID"
  assert_rc 0 "--exec-status of the --env program"
  assertEquals "--env reached the detached program" hello "$(cat "$T/out")"
}

# qemu-ga 8.1 added capture-output "merged": 7.2 refuses it (the message
# says the agent is too old), 10.0 gives stdout and stderr as one stream.
test_merged_on_old_agent() {
  xa || return 0
  if version_at_least "$(bin_version "${QGA_BIN:-qemu-ga}")" 8.1; then
    xq -n --merged --exec -- /bin/sh -c 'echo a; echo b >&2; echo c'
    assert_rc 0 "--merged on qemu-ga 8.1 or later"
    assert_no_stderr "--merged: stderr is in stdout"
    assertEquals "--merged: one stream, in order" "$(printf 'a\nb\nc')" "$(cat "$T/out")"
    return 0
  fi
  local msg='^qmpctl: the agent is too old for --merged: qemu-ga 7\.2\.[0-9]+; 8\.1 and later take capture-output "merged" \(GenericError: .*\)$'
  xq -n --merged --exec --detach -- /bin/true
  assert_fails 1 "$msg" "--merged --detach on qemu-ga 7.2"
  # Waiting for the program, every failure of the run is 255.
  xq -n --merged --exec -- /bin/true
  assert_fails 255 "$msg" "--merged --exec on qemu-ga 7.2"
}

test_detach_usage_errors_send_nothing() {
  start_trap || { fail "trap listener did not start"; return 0; }
  local s=$T/trap.sock
  run_q --qga -s "$s" --detach -c guest-ping
  assert_fails 2 'go with --exec' "--detach without --exec"
  run_q --qga -s "$s" --env A=b -c guest-ping
  assert_fails 2 'go with --exec' "--env without --exec"
  run_q --qga -s "$s" --merged --get /x
  assert_fails 2 'go with --exec' "--merged without --exec"
  run_q --qga -s "$s" --env =b --exec -- /bin/true
  assert_fails 2 "--env: expected NAME=VALUE, got '=b'" "--env =b"
  run_q --qga -s "$s" --env AB --exec -- /bin/true
  assert_fails 2 "--env: expected NAME=VALUE, got 'AB'" "--env AB"
  run_q --qga -s "$s" --exec-status 0
  assert_fails 2 '--exec-status: expected a number from 1' "--exec-status 0"
  run_q --qga -s "$s" --exec-status 12 x
  assert_fails 2 "operand 'x'" "--exec-status with an operand"
  run_q -s "$s" --exec-status 12
  assert_fails 2 'need --qga' "--exec-status without --qga"
  run_q --qga -s "$s" --exec-status 12 --exec -- /bin/true
  assert_fails 2 'exclude each other' "--exec-status with --exec"
  assertEquals "usage errors must not connect" "" "$(cat "$T/trap.log" 2>/dev/null)"
}

. shunit2
