#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_trace.sh -- what scripts lean on when a step fails: --trace
# (and $QMPCTL_TRACE), -s fd:N (an inherited, connected socket), and the
# hints after an error.  Run from the project root:
#
#     bash tests/test_trace.sh [-- testName...]
#
# Peers: qemu-system-x86_64 -machine none, qemu-storage-daemon, and the
# fake peer (tests/fakepeer) where exact bytes matter.
# shellcheck disable=SC2016  # $ID, $ARGSID are the fake peer's

. tests/lib.sh

QSD_BIN=${QSD_BIN:-qemu-storage-daemon}

oneTimeSetUp() {
  require_built "$QMPCTL" make
  require_built "$FAKEPEER" "make tests/fakepeer"
  for tool in jq python3 "$QSD_BIN"; do
    command -v "$tool" >/dev/null || { echo "test_trace.sh: $tool not installed" >&2; exit 1; }
  done
}

# tr_seq FILE: the trace as "dir:what" words, what being the command, the
# event, return, error, greeting or raw:TEXT, joined by spaces.
tr_seq() {
  jq -r '.dir + ":" + (if has("raw") then "raw:" + (.raw | tojson)
    elif .msg.execute then .msg.execute
    elif .msg.event then .msg.event
    elif .msg.QMP then "greeting"
    elif .msg | has("return") then "return"
    elif .msg | has("error") then "error" else "?" end)
    + (if .fds then "+fds" + (.fds | tostring) else "" end)' "$1" |
    tr '\n' ' ' | sed 's/ $//'
}

# tr_valid FILE: every line is one JSON object with a numeric time and a
# dir, and either msg or raw.
tr_valid() {
  local n
  n=$(jq -c 'select((.time | type) == "number" and (.dir == "send" or .dir == "recv")
    and ((has("msg")) != (has("raw"))))' "$1" | wc -l)
  [[ $n -gt 0 && $n -eq $(wc -l <"$1") ]]
}

test_trace_one_shot_and_batch() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$QEMU_SOCK" --trace "$T/t1" -c stop --wait-event STOP
  assert_rc 0 "stop --wait-event STOP --trace"
  assert_no_stderr "--trace does not print"
  assertEquals "stdout as without --trace; $(ctx)" 2 "$(wc -l <"$T/out")"
  assert_that "every trace line is valid; [$(cat "$T/t1")]" tr_valid "$T/t1"
  assertEquals "one-shot: the exact sequence" \
    "recv:greeting send:qmp_capabilities recv:return send:stop recv:STOP recv:return" \
    "$(tr_seq "$T/t1")"
  assertEquals "the message sent, as sent" '{"execute":"stop"}' \
    "$(jq -c 'select(.dir == "send" and .msg.execute == "stop") | .msg' "$T/t1")"

  # $QMPCTL_TRACE, a batch; times never go back.
  QMPCTL_TRACE=$T/t2 run_q -t 10 -s "$QEMU_SOCK" \
    <<<'{"execute":"cont"} {"execute":"query-status","id":"q"}'
  assert_rc 0 "a batch with \$QMPCTL_TRACE"
  assertEquals "batch: the exact sequence" \
    "recv:greeting send:qmp_capabilities recv:return send:cont recv:RESUME recv:return send:query-status recv:return" \
    "$(tr_seq "$T/t2")"
  assertEquals "the user's id is traced" '"q"' \
    "$(jq -c 'select(.dir == "recv" and .msg.id) | .msg.id' "$T/t2")"
  assertEquals "times never go back" true \
    "$(jq -s '[.[].time] | . == sort' "$T/t2")"

  # - is stderr; stdout stays pure JSON.
  run_q -t 10 -s "$QEMU_SOCK" --trace - -c query-status
  assert_rc 0 "--trace -"
  assert_jq '.status == "running"' "--trace -: stdout"
  assertEquals "--trace -: five lines on stderr" 5 "$(wc -l <"$T/err")"
}

test_trace_garbage_and_agent() {
  # Garbage instead of a reply: traced raw, then the protocol error.
  start_fakepeer greet negotiate expect 'send @@junk\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q -t 5 -s "$PEER_SOCK" --trace "$T/g" -c query-status
  assert_fails 7 "malformed message" "garbage"
  assertEquals "garbage: the sequence" \
    'recv:greeting send:qmp_capabilities recv:return send:query-status recv:raw:"@@junk\r\n"' \
    "$(tr_seq "$T/g")"

  # The agent: 0xFF both ways, raw; stale bytes before the sentinel too.
  start_fakepeer expect 'send {"return": 1}\n\xff{"return": $ARGSID}\n' expect \
    'send {"return": {}, "id": $ID}\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q -t 5 --qga -s "$PEER_SOCK" --trace "$T/a" -c guest-ping
  assert_ok "--qga --trace"
  assertEquals "agent: the sequence" \
    "$(printf 'send:raw:"\303\277" send:guest-sync-delimited recv:raw:"{\\"return\\": 1}\\n\303\277" recv:return send:guest-ping recv:return')" \
    "$(tr_seq "$T/a")"
}

test_trace_passed_descriptor() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$QEMU_SOCK" --trace "$T/f" -c getfd fdname=x --pass-fd 0 </dev/null
  assert_rc 0 "getfd --pass-fd 0 --trace"
  assertEquals "the descriptor is counted" "send:getfd+fds1" \
    "$(tr_seq "$T/f" | grep -o 'send:getfd[^ ]*')"
}

# fd_run ADDR_PATH ARGS...: connect to the unix socket ADDR_PATH in
# python, hand the connected socket to qmpctl as descriptor 5, and run
# qmpctl -s fd:5 ARGS.
fd_run() {
  local path=$1
  shift
  timeout -k 2 "$(lim 20)" python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
os.dup2(s.fileno(), 5)
os.execv(sys.argv[2], [sys.argv[2], "-s", "fd:5"] + sys.argv[3:])
' "$path" "$QMPCTL" "$@" >"$T/out" 2>"$T/err" </dev/null
  rc=$?
}

test_fd_address() {
  # A real QEMU handed one end of a socketpair: the other is fd:N.
  timeout -k 2 "$(lim 20)" python3 -c '
import os, socket, subprocess, sys
a, b = socket.socketpair()
q = subprocess.Popen(["qemu-system-x86_64", "-machine", "none", "-nodefaults",
    "-display", "none", "-no-user-config", "-chardev",
    "socket,id=m,fd=%d" % b.fileno(), "-mon", "chardev=m,mode=control"],
    pass_fds=[b.fileno()])
b.close()
os.dup2(a.fileno(), 7)
r = subprocess.run([sys.argv[1], "-t", "10", "-s", "fd:7", "-c", "quit"],
    pass_fds=[7], stdout=open(sys.argv[2], "w"), stderr=open(sys.argv[3], "w"))
q.wait(timeout=10)
sys.exit(r.returncode)
' "$QMPCTL" "$T/out" "$T/err"
  rc=$?
  assert_ok "QEMU on a socketpair, -s fd:7 -c quit"
  assertEquals "quit's return; $(ctx)" '{}' "$(cat "$T/out")"

  # The fake peer, through a socket connected by someone else; fds pass.
  start_fakepeer greet negotiate expect 'send {"return": {}, "id": $ID}\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  fd_run "$PEER_SOCK" -t 5 -c getfd fdname=p --pass-fd 1
  assert_ok "-s fd:5 to the fake peer with --pass-fd"
  assertEquals "what the peer got" \
    '{"execute":"qmp_capabilities"}{"execute":"getfd","arguments":{"fdname":"p"}}' \
    "$(cat "$PEER_RECV")"

  # Not a socket, not open: status 3, said.
  run_q -t 5 -s fd:5 -c query-status 5</dev/null
  assert_fails 3 '^qmpctl: fd:5: Socket operation on non-socket$' "fd:5 on /dev/null"
  run_q -t 5 -s fd:77 -c query-status
  assert_fails 3 '^qmpctl: fd:77: Bad file descriptor$' "fd:77 not open"
  run_q -t 5 -s fd:x -c query-status
  assert_fails 2 'fd:N' "fd:x"
}

test_hint_for_string_operand() {
  "$QSD_BIN" --chardev "socket,id=m,path=$T/qsd.sock,server=on,wait=off" \
    --monitor chardev=m </dev/null >"$T/qsd.log" 2>&1 &
  local pid=$!
  track_pid "$pid"
  wait_until 10 _sock_or_dead "$T/qsd.sock" "$pid" && [[ -S $T/qsd.sock ]] ||
    { fail "could not start qemu-storage-daemon"; return 0; }
  run_q -t 10 -s "$T/qsd.sock" -c blockdev-add driver=null-co node-name=z \
    read-zeroes=true
  assert_rc 1 "read-zeroes=true"
  assert_jq '.class == "GenericError"' "read-zeroes=true"
  assertEquals "the error, then the hint; $(ctx)" \
    "qmpctl: GenericError: Invalid parameter type for 'read-zeroes', expected: boolean|qmpctl: hint: KEY=VALUE sends a string; for a JSON value write read-zeroes:=true" \
    "$(tr '\n' '|' <"$T/err" | sed 's/|$//')"
  run_q -t 10 -s "$T/qsd.sock" -c blockdev-add driver=null-co node-name=z \
    read-zeroes:=true
  assert_ok "read-zeroes:=true"
  # No hint for a type error the operands did not cause.
  run_q -t 10 -s "$T/qsd.sock" -c blockdev-add \
    -a '{"driver":"null-co","node-name":"y","size":"1"}'
  assert_rc 1 "an error from -a"
  assertEquals "no hint for -a; $(ctx)" 0 "$(grep -c hint "$T/err")"
}

test_keep_going_reports_first_failure() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  # A command error, a good one, then a malformed one: the first failure.
  run_q -t 10 -k -s "$QEMU_SOCK" \
    <<<'{"execute":"nope"}{"execute":"query-status"}{"bad":1}'
  assert_rc 1 "-k: command error, then a malformed command"
  assertEquals "-k: both results printed; $(ctx)" 2 "$(wc -l <"$T/out")"
  assert_that "-k: the usage error is said too; $(ctx)" \
    grep -q '^qmpctl: stdin: command 3: ' "$T/err"
  # A writer that stalls after a command error: still 1, not 8.
  ( printf '{"execute":"nope"}'; exec sleep 3 ) |
    timeout -k 2 "$(lim 20)" "$QMPCTL" -t 1 -k -s "$QEMU_SOCK" >"$T/out" 2>"$T/err"
  rc=${PIPESTATUS[1]}
  assert_rc 1 "-k: command error, then stdin stalls"
  assert_that "-k: the stall is said; $(ctx)" \
    grep -q '^qmpctl: stdin: timed out reading$' "$T/err"
}

test_pass_fd_of_closed_stdin() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  timeout -k 2 "$(lim 20)" "$QMPCTL" -t 5 -s "$QEMU_SOCK" -c getfd fdname=x \
    --pass-fd 0 <&- >"$T/out" 2>"$T/err"
  rc=$?
  assert_fails 9 '^qmpctl: --pass-fd 0: Bad file descriptor$' \
    "--pass-fd 0 with stdin closed"
  run_q -t 5 -s "$QEMU_SOCK" -c query-fdsets
  assert_ok "query-fdsets afterwards"
}

# --listen makes its socket owner-only, whatever the umask: whoever
# connects would be handed --pass-fd's descriptors.
test_listen_socket_owner_only() {
  ( umask 000; exec "$QMPCTL" -t 10 --listen "$T/l.sock" -c query-status \
      >"$T/out" 2>"$T/err" </dev/null ) &
  local pid=$!
  track_pid "$pid"
  assert_that "the listening socket must appear" wait_until 5 test -S "$T/l.sock"
  assertEquals "socket mode with umask 000" "srwx------" \
    "$(stat -c %A "$T/l.sock" 2>/dev/null)"
  kill -HUP "$pid"
  assert_that "SIGHUP must end it" wait_exit "$pid" 5
  assertEquals "SIGHUP: status 129" 129 "$exit_status"
  assertFalse "the socket file is removed" "[ -e $T/l.sock ]"
}

# _wrote_at_least PID N: process PID wrote N bytes or more (/proc/PID/io).
_wrote_at_least() {
  local w
  w=$(sed -n 's/^wchar: //p' "/proc/$1/io" 2>/dev/null)
  [[ -n $w && $w -ge $2 ]]
}

# A trace (or --events) on a pipe nobody reads blocks qmpctl's writes: a
# signal must still end it at once, with 128+N.
test_signal_while_trace_blocked() {
  local w fd
  start_fakepeer greet negotiate expect 'big 300000' wait_close ||
    { fail "fake peer did not start"; return 0; }
  mkfifo "$T/tr.fifo"
  exec {fd}<>"$T/tr.fifo"       # held open, never read
  "$QMPCTL" -t 20 -s "$PEER_SOCK" --trace "$T/tr.fifo" -c query-status \
    >"$T/out" 2>"$T/err" </dev/null &
  w=$!
  track_pid "$w"
  assert_that "qmpctl must block writing the trace (about 64 KiB written)" \
    wait_until 10 _wrote_at_least "$w" 60000
  kill -TERM "$w"
  assert_that "SIGTERM must end it within 5 s" wait_exit "$w" 5
  assertEquals "SIGTERM while the trace is blocked: status; [$(cat "$T/err")]" \
    143 "$exit_status"
  exec {fd}>&-
}

. shunit2
