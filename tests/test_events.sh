#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_events.sh -- events (--wait-event, --match, --count, --events)
# and batches of commands on stdin.
# Run from the project root:  bash tests/test_events.sh [-- testName...]
#
# Servers: a cheap QEMU (-machine none) with TWO QMP monitors, so that one
# client can watch on the first while another sends commands on the second
# (each monitor serves one client at a time, but every negotiated monitor
# gets every event); qemu-storage-daemon with two null-co nodes for real
# block jobs; and tests/fakepeer for what QEMU will not do on demand.
#
# Facts checked by hand with socat against QEMU 7.2.22:
#   stop, cont, system_reset, system_powerdown, quit: the event (STOP,
#     RESUME, RESET, POWERDOWN, SHUTDOWN) comes BEFORE the return.
#   RESET data: {"guest": false, "reason": "host-qmp-system-reset"};
#   SHUTDOWN data: {"guest": false, "reason": "host-qmp-quit"}.
#   qemu-storage-daemon, blockdev-backup n0 -> n1 sync=full: the return, then
#     JOB_STATUS_CHANGE created, running, paused, running, waiting, pending,
#     BLOCK_JOB_COMPLETED {"device","len","offset","speed","type":"backup"},
#     JOB_STATUS_CHANGE concluded, null.  auto-dismiss defaults to true: the
#     job is gone at once (query-jobs: []) and its id can be used again.
#     With "auto-dismiss": false it stays "concluded"; reusing its id is
#     GenericError "Job ID 'j1' already in use" until job-dismiss (which
#     sends JOB_STATUS_CHANGE null).

. tests/lib.sh

EV_N=0          # numbers the servers, so that no socket path is reused

oneTimeSetUp() {
  require_built "$QMPCTL" make
  require_built "$FAKEPEER" "make tests/fakepeer"
}

# ---------------------------------------------------------------- helpers

# ev_vm: start a QEMU with a QMP monitor on $VM_SOCK and a second one on
# $VM2_SOCK; wait for both sockets.  Sets VM_PID, VM_SOCK, VM2_SOCK.
ev_vm() {
  local name=vm$(( ++EV_N ))
  VM2_SOCK=$T/$name-2.sock
  start_qemu "$name" -qmp "unix:$VM2_SOCK,server=on,wait=off" || return 1
  VM_PID=$QEMU_PID
  VM_SOCK=$QEMU_SOCK
  wait_until 5 unix_listening "$VM2_SOCK"
}

# ev_vm_status: print the VM's run state (via the second monitor).
ev_vm_status() {
  timeout "$(lim 20)" "$QMPCTL" -t 10 -s "$VM2_SOCK" -c query-status | jq -r .status
}

# ev_start_qsd: start qemu-storage-daemon with the null-co nodes n0 and n1
# and its monitor on $QSD_SOCK; wait (10 s) for the socket.  Sets QSD_PID.
ev_start_qsd() {
  local name=qsd$(( ++EV_N ))
  QSD_SOCK=$T/$name.sock
  qemu-storage-daemon \
    --chardev "socket,id=m,path=$QSD_SOCK,server=on,wait=off" \
    --monitor chardev=m \
    --blockdev driver=null-co,node-name=n0,size=1048576 \
    --blockdev driver=null-co,node-name=n1,size=1048576 \
    </dev/null >"$T/$name.log" 2>&1 &
  QSD_PID=$!
  track_pid "$QSD_PID"
  if wait_until 10 _sock_or_dead "$QSD_SOCK" "$QSD_PID" && unix_listening "$QSD_SOCK"; then
    return 0
  fi
  echo "test_events.sh: qemu-storage-daemon did not come up; its log:" >&2
  sed 's/^/    /' "$T/$name.log" >&2
  stop_pid "$QSD_PID"
  return 1
}

# ev_ev SECONDS NAME DATA: print the text of an event for a fake peer
# script line (with a literal \r\n for the peer to decode).
ev_ev() {
  printf '{"timestamp": {"seconds": %s, "microseconds": 0}, "event": "%s", "data": %s}\\r\\n' "$@"
}

# The fake peer's reply to the last command it read.
EV_RETURN='send {"return": {}, "id": $ID}\r\n'

# ev_sent FILTER [WHAT]: jq -s FILTER over what the fake peer received
# (all the client's messages, as an array) gives true.
ev_sent() {
  assert_that "${2:+$2: }sent: jq -s '$1' on [$(head -c 600 "$PEER_RECV")]" \
    _ev_jq_slurp_true "$1" "$PEER_RECV"
}
_ev_jq_slurp_true() { [[ $(jq -s "$1" "$2" 2>/dev/null) == true ]]; }

# ev_nlines N [WHAT]: stdout has exactly N lines, the last one complete.
ev_nlines() {
  assertEquals "${2:+$2: }stdout line count; $(ctx)" "$1" "$(wc -l <"$T/out")"
  assertEquals "${2:+$2: }stdout must end in a newline; $(ctx)" "" "$(tail -c 1 "$T/out")"
}

# ev_line N FILTER [WHAT]: line N of stdout is one JSON value on which jq
# FILTER gives true.
ev_line() {
  sed -n "${1}p" "$T/out" >"$T/line"
  assert_that "${3:+$3: }stdout line $1: jq '$2' on [$(cat "$T/line")]; $(ctx)" \
    _jq_true "$2" "$T/line"
}

# ev_file_line FILE N FILTER [WHAT]: the same, on line N of FILE.
ev_file_line() {
  sed -n "${2}p" "$1" >"$T/line"
  assert_that "${4:+$4: }$(basename "$1") line $2: jq '$3' on [$(cat "$T/line")]" \
    _jq_true "$3" "$T/line"
}

# An event object as qmpctl prints it: compact, with a timestamp.
EV_IS_EVENT='(.event | type == "string") and (.timestamp.seconds | type == "number") and (.timestamp.microseconds | type == "number")'

# ================================================================ QEMU

test_stop_event_comes_before_reply() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$VM_SOCK" -c stop --wait-event STOP
  assert_rc 0 "stop --wait-event STOP"
  assert_no_stderr "stop --wait-event STOP"
  ev_nlines 2 "stop --wait-event STOP"
  assertEquals "line 1 is the return value; $(ctx)" '{}' "$(sed -n 1p "$T/out")"
  ev_line 2 "$EV_IS_EVENT and .event == \"STOP\" and (has(\"data\") | not)" "stop"
  assertEquals "the event line is compact; $(ctx)" \
    "$(sed -n 2p "$T/out" | jq -c .)" "$(sed -n 2p "$T/out")"
  assertEquals "the VM is paused" paused "$(ev_vm_status)"

  run_q -t 10 -s "$VM_SOCK" -c cont --wait-event RESUME
  assert_rc 0 "cont --wait-event RESUME"
  assert_no_stderr "cont"
  ev_nlines 2 "cont"
  assertEquals "cont: line 1; $(ctx)" '{}' "$(sed -n 1p "$T/out")"
  ev_line 2 "$EV_IS_EVENT and .event == \"RESUME\"" "cont"
  assertEquals "the VM runs again" running "$(ev_vm_status)"

  # Several names: the first of them that comes is printed.
  run_q -t 10 -s "$VM_SOCK" -c stop --wait-event RESUME,STOP,RESET
  assert_rc 0 "stop --wait-event RESUME,STOP,RESET"
  ev_nlines 2 "stop, several names"
  ev_line 2 '.event == "STOP"' "stop, several names"

  # --pretty indents the event too.
  run_q -t 10 -s "$VM_SOCK" -c cont --wait-event RESUME --pretty
  assert_rc 0 "cont --pretty"
  assertEquals "--pretty: two values; $(ctx)" 2 "$(jq -s length "$T/out")"
  assert_that "--pretty: the event is indented; $(ctx)" grep -q '^  "event": "RESUME"' "$T/out"

  # Given again, --wait-event adds an alternative: either one counts.
  run_q -t 10 -s "$VM_SOCK" -c stop --wait-event RESUME --wait-event STOP
  assert_rc 0 "--wait-event RESUME --wait-event STOP, after stop"
  ev_nlines 2 "two alternatives"
  ev_line 2 '.event == "STOP"' "two alternatives"
  # Each --match belongs to the --wait-event before it: RESUME's match
  # fails, STOP's has none, so only STOP could end the wait.
  run_q -t 0.5 -s "$VM_SOCK" -c query-status --wait-event STOP \
    --wait-event RESUME --match reason=never
  assert_rc 8 "alternatives with a match that cannot hold"
  assert_err_line '^qmpctl: .*timed out waiting for event STOP or RESUME' \
    "the timeout names every alternative"
}

test_reset_with_match() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$VM_SOCK" -c system_reset --wait-event RESET \
    --match reason=host-qmp-system-reset
  assert_rc 0 "system_reset --match reason=host-qmp-system-reset"
  assert_no_stderr "system_reset"
  ev_nlines 2 "system_reset"
  assertEquals "system_reset: line 1; $(ctx)" '{}' "$(sed -n 1p "$T/out")"
  ev_line 2 "$EV_IS_EVENT and .event == \"RESET\" and .data.reason == \"host-qmp-system-reset\"" \
    "system_reset"

  # A JSON value in --match: data.guest is false.
  run_q -t 10 -s "$VM_SOCK" -c system_reset --wait-event RESET --match guest=false
  assert_rc 0 "system_reset --match guest=false"
  ev_nlines 2 "--match guest=false"
  ev_line 2 '.event == "RESET" and .data.guest == false' "--match guest=false"

  # A --match no RESET satisfies: the return line, then a timeout.
  prompt_begin
  run_q -t 0.5 -s "$VM_SOCK" -c system_reset --wait-event RESET --match reason=guest-reset
  prompt_end
  assert_rc 8 "non-matching --match"
  assertEquals "non-matching --match: stdout holds the return line only; $(ctx)" \
    '{}' "$(cat "$T/out")"
  assert_err_line '^qmpctl: .*timed out.*RESET' "non-matching --match"
  assert_prompt "-t 0.5 must end the wait" 500 2500
}

test_powerdown_event() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$VM_SOCK" -c system_powerdown --wait-event POWERDOWN
  assert_rc 0 "system_powerdown --wait-event POWERDOWN"
  assert_no_stderr "system_powerdown"
  ev_nlines 2 "system_powerdown"
  assertEquals "system_powerdown: line 1; $(ctx)" '{}' "$(sed -n 1p "$T/out")"
  ev_line 2 "$EV_IS_EVENT and .event == \"POWERDOWN\"" "system_powerdown"
}

test_quit_waits_for_shutdown() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$VM_SOCK" -c quit --wait-event SHUTDOWN
  assert_rc 0 "quit --wait-event SHUTDOWN"
  assert_no_stderr "quit"
  ev_nlines 2 "quit"
  assertEquals "quit: line 1; $(ctx)" '{}' "$(sed -n 1p "$T/out")"
  ev_line 2 "$EV_IS_EVENT and .event == \"SHUTDOWN\"" "quit"
  ev_line 2 '(has("data") | not) or .data.reason == "host-qmp-quit"' "quit: reason"
  assert_that "QEMU must exit after quit" wait_exit "$VM_PID" 10
  assertEquals "QEMU exit status after quit" 0 "$exit_status"
}

test_count_zero_server_quits() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  "$QMPCTL" -t 10 -s "$VM_SOCK" --greeting --wait-event SHUTDOWN --count 0 \
    >"$T/w.out" 2>"$T/w.err" </dev/null &
  local w=$!
  track_pid "$w"
  assert_that "the watcher must be negotiated; [$(cat "$T/w.err")]" \
    wait_file_match "$T/w.out" '"QMP"' 5
  run_q -t 10 -s "$VM2_SOCK" -c quit
  assert_ok "quit on the second monitor"
  assert_that "the watcher must end when QEMU closes" wait_exit "$w" 5
  # README: a close ends even a --count 0 watch with status 6.
  assertEquals "--count 0, QEMU quits: exit status; stderr [$(cat "$T/w.err")]" 6 "$exit_status"
  assertEquals "--count 0, QEMU quits: stdout lines; [$(cat "$T/w.out")]" 2 "$(wc -l <"$T/w.out")"
  ev_file_line "$T/w.out" 2 "$EV_IS_EVENT and .event == \"SHUTDOWN\"" "--count 0, QEMU quits"
  assertEquals "--count 0, QEMU quits: one stderr line; [$(cat "$T/w.err")]" 1 "$(wc -l <"$T/w.err")"
  assert_that "--count 0, QEMU quits: stderr [$(cat "$T/w.err")]" \
    grep -qE '^qmpctl: .*[Cc]losed' "$T/w.err"
  assert_that "QEMU must exit after quit" wait_exit "$VM_PID" 10
}

test_wait_timeout_after_return() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  # stop sends STOP, never RESUME.
  local ms
  prompt_begin
  run_q -t 0.5 -s "$VM_SOCK" -c stop --wait-event RESUME
  prompt_end; ms=$PROMPT_MS
  assert_rc 8 "stop --wait-event RESUME"
  assertEquals "the return value is printed before the wait; $(ctx)" '{}' "$(cat "$T/out")"
  assert_err_line '^qmpctl: .*timed out.*RESUME' "stop --wait-event RESUME"
  assertTrue "-t 0.5 must not end before 0.45 s: took $ms ms" "[ $ms -ge 450 ]"
  assert_prompt "-t 0.5 must end the wait" 500 2500
  assertEquals "stop took effect" paused "$(ev_vm_status)"
}

test_command_error_does_not_wait() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  # -t 30: waiting for it is far over the bound, even on a busy machine.
  prompt_begin
  run_q -t 30 -s "$VM_SOCK" -c no-such-command --wait-event STOP
  prompt_end
  assert_cmd_error CommandNotFound "a failed command with --wait-event"
  assert_prompt "a failed command must not wait for the event" 0 2500
}

test_events_file_batch() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$VM_SOCK" --events "$T/events.log" \
    <<<'{"execute":"stop"} {"execute":"cont"} {"execute":"system_reset"}'
  assert_rc 0 "batch with --events FILE"
  assert_no_stderr "batch with --events FILE"
  assertEquals "batch: three return lines; $(ctx)" "$(printf '{}\n{}\n{}')" "$(cat "$T/out")"
  assertEquals "--events: exactly three lines; [$(cat "$T/events.log")]" \
    3 "$(wc -l <"$T/events.log")"
  assertEquals "--events: the events in order; [$(cat "$T/events.log")]" \
    'STOP RESUME RESET' "$(jq -r .event "$T/events.log" | tr '\n' ' ' | sed 's/ $//')"
  ev_file_line "$T/events.log" 1 "$EV_IS_EVENT" "--events"
  ev_file_line "$T/events.log" 3 '.data.reason == "host-qmp-system-reset"' "--events"
  assertEquals "--events lines are compact" \
    "$(jq -c . "$T/events.log")" "$(cat "$T/events.log")"

  # The file is replaced, not appended to.
  run_q -t 10 -s "$VM_SOCK" -c stop --events "$T/events.log"
  assert_ok "-c stop --events FILE"
  assertEquals "--events: one event; [$(cat "$T/events.log")]" 1 "$(wc -l <"$T/events.log")"
  ev_file_line "$T/events.log" 1 '.event == "STOP"' "--events, second run"

  # --events with --wait-event: every event goes to the file, the awaited
  # ones to stdout as well.
  run_q -t 10 -s "$VM_SOCK" -c cont --wait-event RESUME --events "$T/events.log"
  assert_rc 0 "--wait-event with --events"
  ev_nlines 2 "--wait-event with --events"
  assertEquals "the printed event is the logged one" \
    "$(cat "$T/events.log")" "$(sed -n 2p "$T/out")"

  # A file that cannot be created: a local failure, before connecting.
  run_q -t 10 -s "$T/missing.sock" -c stop --events "$T/no/such/dir/ev.log"
  assert_fails 9 'no/such/dir/ev\.log' "--events in a missing directory"

  # A file that cannot be written: the output still comes, then status 9.
  run_q -t 10 -s "$VM_SOCK" -c stop --events /dev/full
  assert_rc 9 "--events /dev/full"
  assertEquals "--events /dev/full: the return is printed; $(ctx)" '{}' "$(cat "$T/out")"
  assert_err_line '^qmpctl: /dev/full: ' "--events /dev/full"
}

test_events_to_stderr() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$VM_SOCK" -c stop --events -
  assert_rc 0 "--events -"
  assertEquals "--events -: stdout; $(ctx)" '{}' "$(cat "$T/out")"
  assert_one_line "$T/err" "--events -"
  assert_that "--events -: stderr holds the STOP event; $(ctx)" \
    _jq_true "$EV_IS_EVENT and .event == \"STOP\"" "$T/err"

  run_q -t 10 -s "$VM_SOCK" -c cont --events - --wait-event RESUME
  assert_rc 0 "--events - --wait-event RESUME"
  ev_nlines 2 "--events - --wait-event RESUME"
  assertEquals "the same event on stdout and stderr; $(ctx)" \
    "$(cat "$T/err")" "$(sed -n 2p "$T/out")"
}

test_watch_count_two() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  # The watcher holds the first monitor; --greeting makes it print the
  # greeting once negotiated, that is, once QEMU sends it events.
  "$QMPCTL" -t 10 -n -s "$VM_SOCK" --greeting --wait-event STOP,RESUME \
    --count 2 --events "$T/w.log" >"$T/w.out" 2>"$T/w.err" \
    <<<'{"execute":"quit"}' &
  local w=$!
  track_pid "$w"
  assert_that "the watcher must be negotiated; [$(cat "$T/w.err")]" \
    wait_file_match "$T/w.out" '"QMP"' 5

  run_q -t 10 -s "$VM2_SOCK" \
    <<<'{"execute":"system_reset"} {"execute":"stop"} {"execute":"query-status"} {"execute":"cont"}'
  assert_rc 0 "the batch on the second monitor"
  assert_that "the watcher must end after two events" wait_exit "$w" 5
  assertEquals "watcher: exit status; stderr [$(cat "$T/w.err")]" 0 "$exit_status"
  assertEquals "watcher: stderr" "" "$(cat "$T/w.err")"
  assertEquals "watcher: three lines; [$(cat "$T/w.out")]" 3 "$(wc -l <"$T/w.out")"
  ev_file_line "$T/w.out" 1 '.QMP.version.qemu.major | type == "number"' "watcher"
  ev_file_line "$T/w.out" 2 "$EV_IS_EVENT and .event == \"STOP\"" "watcher"
  ev_file_line "$T/w.out" 3 "$EV_IS_EVENT and .event == \"RESUME\"" "watcher"
  assertEquals "watcher --events: every event; [$(cat "$T/w.log")]" \
    'RESET STOP RESUME' "$(jq -r .event "$T/w.log" | tr '\n' ' ' | sed 's/ $//')"
  # -n: stdin is not read, so the quit there was not run.
  assertEquals "-n must not run stdin's quit" running "$(ev_vm_status)"
}

test_count_zero_ends_at_deadline() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  local ms
  prompt_begin
  run_q -t 1 -s "$VM_SOCK" -c stop --wait-event STOP,RESUME --count 0
  prompt_end; ms=$PROMPT_MS
  assert_rc 0 "--count 0 -t 1"
  assert_no_stderr "--count 0 -t 1"
  ev_nlines 2 "--count 0 -t 1"
  assertEquals "--count 0: line 1; $(ctx)" '{}' "$(sed -n 1p "$T/out")"
  ev_line 2 '.event == "STOP"' "--count 0"
  assertTrue "--count 0 -t 1 must not end before the deadline, took $ms ms" \
    "[ $ms -ge 950 ]"
  assert_prompt "--count 0 -t 1 must end at the deadline" 1000 3000
}

test_count_zero_sigint() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  "$QMPCTL" -t 15 -s "$VM_SOCK" --greeting --wait-event STOP --count 0 \
    --events "$T/w.log" >"$T/w.out" 2>"$T/w.err" </dev/null &
  local w=$!
  track_pid "$w"
  assert_that "the watcher must be negotiated; [$(cat "$T/w.err")]" \
    wait_file_match "$T/w.out" '"QMP"' 5

  # An event while watching is printed (and logged) at once.
  run_q -t 10 -s "$VM2_SOCK" -c stop
  assert_ok "stop on the second monitor"
  assert_that "the watcher prints STOP as it arrives; [$(cat "$T/w.out")]" \
    wait_file_match "$T/w.out" '"STOP"' 5
  assert_that "--events is written as events arrive; [$(cat "$T/w.log")]" \
    wait_file_match "$T/w.log" '"STOP"' 5
  run_q -t 10 -s "$VM2_SOCK" -c cont
  assert_ok "cont on the second monitor"
  assert_that "--events logs RESUME as well; [$(cat "$T/w.log")]" \
    wait_file_match "$T/w.log" '"RESUME"' 5
  assert_that "the watcher still runs" pid_alive "$w"

  prompt_begin
  kill -INT "$w"
  assert_that "SIGINT must end the watcher" wait_exit "$w" 5
  prompt_end
  assertEquals "SIGINT with --count 0: exit status; stderr [$(cat "$T/w.err")]" 0 "$exit_status"
  assert_prompt "SIGINT must end the watcher promptly" 0 2000
  assertEquals "SIGINT with --count 0: stderr" "" "$(cat "$T/w.err")"
  assertEquals "watcher: greeting and STOP; [$(cat "$T/w.out")]" 2 "$(wc -l <"$T/w.out")"
  ev_file_line "$T/w.out" 2 "$EV_IS_EVENT and .event == \"STOP\"" "watcher"
  assertEquals "watcher --events; [$(cat "$T/w.log")]" 2 "$(wc -l <"$T/w.log")"

  # The monitor is free again.
  run_q -t 10 -s "$VM_SOCK" -c query-status
  assert_ok "the first monitor after the watcher"
}

test_batch_thousand_commands() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  # Per group of five: query-status (running), stop, query-status (paused),
  # cont, an unknown command named after its position.
  local i running paused
  running=$(qemu_status running true)
  paused=$(qemu_status paused false)
  : >"$T/batch.json"; : >"$T/want.out"; : >"$T/want.err"
  for (( i = 0; i < 1000; i += 5 )); do
    printf '%s\n' '{"execute":"query-status"}' '{"execute":"stop"}' \
      '{"execute":"query-status"}' '{"execute":"cont"}' \
      "{\"execute\":\"no-such-$(( i + 4 ))\"}" >>"$T/batch.json"
    printf '%s\n' "$running" '{}' "$paused" '{}' \
      "{\"class\":\"CommandNotFound\",\"desc\":\"The command no-such-$(( i + 4 )) has not been found\"}" \
      >>"$T/want.out"
    printf 'qmpctl: CommandNotFound: The command no-such-%d has not been found\n' \
      $(( i + 4 )) >>"$T/want.err"
  done
  run_q -t 15 -s "$VM_SOCK" -k <"$T/batch.json"
  assert_rc 1 "1000 commands with -k"
  assertEquals "1000 commands: stdout lines; rc=$rc" 1000 "$(wc -l <"$T/out")"
  # Each line is one JSON value, equal to the expected one.
  assertEquals "1000 commands: line by line" \
    "$(jq -c -S -R 'fromjson' "$T/want.out")" \
    "$(jq -c -S -R 'fromjson' "$T/out" 2>&1)"
  assertEquals "1000 commands: stderr, one line per command error" \
    "$(cat "$T/want.err")" "$(cat "$T/err")"
  assertEquals "the VM runs after the batch" running "$(ev_vm_status)"
}

test_batch_layouts() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  local want
  want=$(printf '%s\n' '{}' '"none-machine"' "$(qemu_status paused false)" '{}')

  # Pretty-printed over many lines, with CRLF and tabs.
  printf '{\r\n\t"execute": "stop"\r\n}\r\n\r\n{\n  "execute": "qom-get",\n  "arguments": {\n    "path": "/machine",\n    "property": "type"\n  }\n}\n{\n "execute"\n :\n "query-status"\n}\n  {"execute":\n"cont"}\n' \
    >"$T/pretty.json"
  run_q -t 10 -s "$VM_SOCK" <"$T/pretty.json"
  assert_rc 0 "pretty-printed batch"
  assert_no_stderr "pretty-printed batch"
  assertEquals "pretty-printed batch; $(ctx)" "$want" "$(cat "$T/out")"

  # Back to back, no separator at all, no final newline.
  printf '%s' '{"execute":"stop"}{"arguments":{"property":"type","path":"/machine"},"execute":"qom-get"}{"execute":"query-status"}{"execute":"cont"}' \
    >"$T/b2b.json"
  run_q -t 10 -s "$VM_SOCK" <"$T/b2b.json"
  assert_rc 0 "back-to-back batch"
  assert_no_stderr "back-to-back batch"
  assertEquals "back-to-back batch; $(ctx)" "$want" "$(cat "$T/out")"

  # --pretty output of a batch: each result indented, all of them valid.
  run_q -t 10 -s "$VM_SOCK" --pretty <"$T/b2b.json"
  assert_rc 0 "back-to-back batch --pretty"
  assertEquals "--pretty batch: the same values; $(ctx)" \
    "$want" "$(jq -c . "$T/out")"
}

test_batch_stops_at_first_error() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$VM_SOCK" \
    <<<'{"execute":"query-status"} {"execute":"no-such-command"} {"execute":"stop"}'
  assert_rc 1 "batch without -k"
  ev_nlines 2 "batch without -k"
  ev_line 1 '.status == "running"' "batch without -k"
  ev_line 2 '.class == "CommandNotFound" and (.desc | type == "string")' "batch without -k"
  assert_err_line '^qmpctl: CommandNotFound: ' "batch without -k"
  assertEquals "the stop after the error must not run" running "$(ev_vm_status)"

  # The same batch with -k runs the stop; the status is the error's.
  run_q -t 10 -s "$VM_SOCK" -k \
    <<<'{"execute":"query-status"} {"execute":"no-such-command"} {"execute":"stop"}'
  assert_rc 1 "batch with -k"
  ev_nlines 3 "batch with -k"
  ev_line 2 '.class == "CommandNotFound"' "batch with -k"
  assertEquals "batch with -k: line 3; $(ctx)" '{}' "$(sed -n 3p "$T/out")"
  assert_err_line '^qmpctl: CommandNotFound: ' "batch with -k"
  assertEquals "with -k the stop runs" paused "$(ev_vm_status)"
}

test_batch_full_keeps_ids() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$VM_SOCK" --full -k <<'EOF'
{"execute":"stop","id":42}
{"execute":"query-status","id":{"x":1}}
{"id":"mine","execute":"no-such-command"}
{"execute":"cont"}
{"execute":"query-status","arguments":{},"id":[1,"a",null]}
EOF
  assert_rc 1 "--full -k batch"
  ev_nlines 5 "--full -k batch"
  ev_line 1 '. == {"return":{},"id":42}' "--full: numeric id"
  ev_line 2 '.id == {"x":1} and .return.status == "paused" and (keys == ["id","return"])' \
    "--full: object id"
  ev_line 3 '.id == "mine" and .error.class == "CommandNotFound"' "--full: error with id"
  ev_line 4 '. == {"return": {}}' \
    "--full: no id in lockstep, none echoed"
  ev_line 5 '.id == [1,"a",null] and .return.status == "running"' "--full: array id"
  assert_err_line '^qmpctl: CommandNotFound: ' "--full -k batch"

  # Without --full the ids are not shown.
  run_q -t 10 -s "$VM_SOCK" <<<'{"execute":"query-status","id":42}'
  assert_ok "a command with an id, without --full"
  assert_jq ". == $(qemu_status running true)" "without --full"
}

test_batch_malformed_second_command() {
  ev_vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$VM_SOCK" <<<'{"execute":"stop"} {"execute":5} {"execute":"cont"}'
  assert_rc 2 "second command malformed"
  assertEquals "the first command ran and printed; $(ctx)" '{}' "$(cat "$T/out")"
  assert_err_line '^qmpctl: .*command 2' "second command malformed"
  assertEquals "the first command took effect" paused "$(ev_vm_status)"

  # Invalid JSON and an unknown member, later in the batch.
  run_q -t 10 -s "$VM_SOCK" <<<'{"execute":"cont"} {"execute":"query-status"} {"execute":"stop",}'
  assert_rc 2 "third command invalid JSON"
  ev_nlines 2 "third command invalid JSON"
  ev_line 2 '.status == "running"' "third command invalid JSON"
  assert_err_line '^qmpctl: .*command 3' "third command invalid JSON"
  assertEquals "the malformed stop did not run" running "$(ev_vm_status)"

  run_q -t 10 -s "$VM_SOCK" <<<'{"execute":"stop"} {"execute":"cont","extra":1}'
  assert_rc 2 "second command with an unknown member"
  assertEquals "unknown member: the first ran; $(ctx)" '{}' "$(cat "$T/out")"
  assert_err_line '^qmpctl: .*command 2' "second command with an unknown member"
  assertEquals "the cont with an unknown member did not run" paused "$(ev_vm_status)"

  # Truncated at the end of input.
  run_q -t 10 -s "$VM_SOCK" <<<'{"execute":"cont"} {"execute":"stop"'
  assert_rc 2 "truncated second command"
  assertEquals "truncated: the first ran; $(ctx)" '{}' "$(cat "$T/out")"
  assert_err_line '^qmpctl: .*command 2' "truncated second command"
  assertEquals "the truncated stop did not run" running "$(ev_vm_status)"
}

# ================================================================ qemu-storage-daemon

test_qsd_job_events() {
  ev_start_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  local backup='{"job-id":"j0","device":"n0","target":"n1","sync":"full"}'

  run_q -t 15 -s "$QSD_SOCK" -c blockdev-backup -a "$backup" \
    --wait-event JOB_STATUS_CHANGE --match id=j0 --match status=concluded \
    --events "$T/qsd.log"
  assert_rc 0 "blockdev-backup, wait for concluded"
  assert_no_stderr "blockdev-backup, wait for concluded"
  ev_nlines 2 "blockdev-backup, wait for concluded"
  assertEquals "blockdev-backup: line 1; $(ctx)" '{}' "$(sed -n 1p "$T/out")"
  ev_line 2 "$EV_IS_EVENT and .event == \"JOB_STATUS_CHANGE\" and .data == {\"status\":\"concluded\",\"id\":\"j0\"}" \
    "blockdev-backup"
  # The job's events came after the return, and were all logged.
  ev_file_line "$T/qsd.log" 1 '.event == "JOB_STATUS_CHANGE" and .data.status == "created"' \
    "blockdev-backup --events"
  assert_that "the printed event is among the logged ones; [$(cat "$T/qsd.log")]" \
    grep -qxF -- "$(sed -n 2p "$T/out")" "$T/qsd.log"

  # auto-dismiss (the default) removed the job: its id is free again.
  run_q -t 10 -s "$QSD_SOCK" -c query-jobs
  assert_ok "query-jobs after the job"
  assert_jq '. == []' "query-jobs after the job"

  run_q -t 15 -s "$QSD_SOCK" -c blockdev-backup -a "$backup" \
    --wait-event BLOCK_JOB_COMPLETED --match device=j0
  assert_rc 0 "blockdev-backup again, wait for BLOCK_JOB_COMPLETED"
  assert_no_stderr "BLOCK_JOB_COMPLETED"
  ev_nlines 2 "BLOCK_JOB_COMPLETED"
  assertEquals "BLOCK_JOB_COMPLETED: line 1; $(ctx)" '{}' "$(sed -n 1p "$T/out")"
  ev_line 2 "$EV_IS_EVENT and .event == \"BLOCK_JOB_COMPLETED\" and .data.device == \"j0\" and .data.type == \"backup\" and .data.offset == 1048576 and .data.len == 1048576" \
    "BLOCK_JOB_COMPLETED"
}

test_qsd_job_without_auto_dismiss() {
  ev_start_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  local backup='{"job-id":"j1","device":"n0","target":"n1","sync":"full","auto-dismiss":false}'

  run_q -t 15 -s "$QSD_SOCK" -c blockdev-backup -a "$backup" \
    --wait-event JOB_STATUS_CHANGE --match id=j1 --match status=concluded
  assert_rc 0 "backup without auto-dismiss"
  ev_nlines 2 "backup without auto-dismiss"
  ev_line 2 '.data == {"status":"concluded","id":"j1"}' "backup without auto-dismiss"

  # The concluded job stays, and holds its id.
  run_q -t 10 -s "$QSD_SOCK" -c query-jobs
  assert_ok "query-jobs"
  assert_jq 'length == 1 and .[0].id == "j1" and .[0].status == "concluded"' "query-jobs"
  # -t 30: waiting for it is far over the bound, even on a busy machine.
  prompt_begin
  run_q -t 30 -s "$QSD_SOCK" -c blockdev-backup -a "$backup" \
    --wait-event JOB_STATUS_CHANGE --match id=j1
  prompt_end
  assert_cmd_error GenericError "the id of a concluded job"
  assert_prompt "a refused command must not wait for events" 0 5000

  # job-dismiss: the job goes to "null" (an event after the return).
  run_q -t 10 -s "$QSD_SOCK" -c job-dismiss -a '{"id":"j1"}' \
    --wait-event JOB_STATUS_CHANGE --match status=null --match id=j1
  assert_rc 0 "job-dismiss"
  ev_nlines 2 "job-dismiss"
  ev_line 2 '.data == {"status":"null","id":"j1"}' "job-dismiss"

  # The id is free; a number in --match compares as JSON with offset.
  run_q -t 15 -s "$QSD_SOCK" -c blockdev-backup \
    -a '{"job-id":"j1","device":"n0","target":"n1","sync":"full"}' \
    --wait-event BLOCK_JOB_COMPLETED --match device=j1 --match offset=1048576
  assert_rc 0 "backup after job-dismiss"
  ev_nlines 2 "backup after job-dismiss"
  ev_line 2 '.event == "BLOCK_JOB_COMPLETED" and .data.device == "j1" and .data.offset == 1048576' \
    "backup after job-dismiss"
}

# ================================================================ fake peer

test_peer_event_split_across_reads() {
  start_fakepeer greet negotiate expect "$EV_RETURN" \
    'send {"error": {"class": "GenericError", "desc": "JSON parse error"}}\r\n' \
    'send {"return": {}, "id": "not-ours"}\r\n' \
    "sendslow $(ev_ev 1 WANTED '{"id": "j9", "s": "a \\"quoted\\" {brace} [x]"}')" \
    "sendslow $(ev_ev 2 WANTED '{"id": "j0", "s": "}{\\\\"}')" \
    "send $(ev_ev 3 WANTED '{"id": "j0"}')" \
    wait_close || { fail "fake peer did not start"; return 0; }
  run_q -t 10 -s "$PEER_SOCK" -c go --wait-event WANTED --match id=j0 --events "$T/ev.log"
  assert_rc 0 "event split across reads"
  assert_no_stderr "event split across reads"
  ev_nlines 2 "event split across reads"
  assertEquals "line 1; $(ctx)" '{}' "$(sed -n 1p "$T/out")"
  ev_line 2 '. == {"timestamp":{"seconds":2,"microseconds":0},"event":"WANTED","data":{"id":"j0","s":"}{\\"}}' \
    "event split across reads"
  assertEquals "--events: the two slow events; [$(cat "$T/ev.log")]" 2 "$(wc -l <"$T/ev.log")"
  ev_file_line "$T/ev.log" 1 '.data.s == "a \"quoted\" {brace} [x]"' "--events"
  fakepeer_done "event split across reads"
  ev_sent 'map(.execute) == ["qmp_capabilities", "go"]' "event split across reads"
}

test_peer_event_flood_before_match() {
  start_fakepeer greet negotiate expect "$EV_RETURN" \
    "repeat 5000 $(ev_ev 1 WANTED '{"n": 0}')" \
    "repeat 5000 $(ev_ev 1 NOISE '{"n": 1}')" \
    "send $(ev_ev 2 WANTED '{"n": 1}')" \
    "send $(ev_ev 3 WANTED '{"n": 1}')" \
    wait_close || { fail "fake peer did not start"; return 0; }
  prompt_begin
  run_q -t 15 -s "$PEER_SOCK" -c go --wait-event WANTED --match n=1 --events "$T/ev.log"
  prompt_end
  assert_rc 0 "a flood of 10000 events before the match"
  assert_no_stderr "flood"
  ev_nlines 2 "flood"
  assertEquals "flood: line 1; $(ctx)" '{}' "$(sed -n 1p "$T/out")"
  ev_line 2 '.event == "WANTED" and .data.n == 1 and .timestamp.seconds == 2' "flood"
  assertEquals "--events: the flood and the match" 10001 "$(wc -l <"$T/ev.log")"
  ev_file_line "$T/ev.log" 10001 '.timestamp.seconds == 2' "--events after a flood"
  assert_prompt "the flood of 10000 events" 0 10000
  fakepeer_done "flood"
  ev_sent 'map(.execute) == ["qmp_capabilities", "go"]' "flood"
}

test_peer_close_before_event() {
  start_fakepeer greet negotiate expect "$EV_RETURN" \
    "send $(ev_ev 1 OTHER '{}')" close || { fail "fake peer did not start"; return 0; }
  run_q -t 10 -s "$PEER_SOCK" -c go --wait-event WANTED
  assert_rc 6 "close before the event"
  assertEquals "close before the event: the return line; $(ctx)" '{}' "$(cat "$T/out")"
  assert_err_line '^qmpctl: .*[Cc]losed' "close before the event"
  fakepeer_done "close before the event"
  ev_sent 'map(.execute) == ["qmp_capabilities", "go"]' "close before the event"

  # A protocol error while waiting: status 7, the return line printed.
  start_fakepeer greet negotiate expect "$EV_RETURN" \
    'send {"event": tr}\r\n' hang || { fail "fake peer did not start"; return 0; }
  run_q -t 10 -s "$PEER_SOCK" -c go --wait-event WANTED
  assert_rc 7 "malformed message while waiting"
  assertEquals "malformed message: the return line; $(ctx)" '{}' "$(cat "$T/out")"
  assert_err_line '' "malformed message while waiting"
  fakepeer_done "malformed message while waiting"
}

test_peer_event_before_reply() {
  # Two awaited events before the reply, one after; --count 2 prints the
  # return line, then the first two in order.
  start_fakepeer greet negotiate expect \
    "send $(ev_ev 1 WANTED '{"n": 1}')" \
    "send $(ev_ev 2 WANTED '{"n": 2}')" \
    "$EV_RETURN" \
    "send $(ev_ev 3 WANTED '{"n": 3}')" \
    wait_close || { fail "fake peer did not start"; return 0; }
  run_q -t 5 -s "$PEER_SOCK" -c go --wait-event WANTED --count 2
  assert_rc 0 "events before the reply"
  assert_no_stderr "events before the reply"
  ev_nlines 3 "events before the reply"
  assertEquals "line 1 is the return; $(ctx)" '{}' "$(sed -n 1p "$T/out")"
  ev_line 2 '.data.n == 1' "events before the reply"
  ev_line 3 '.data.n == 2' "events before the reply"
  fakepeer_done "events before the reply"
  ev_sent 'map(.execute) == ["qmp_capabilities", "go"] and (.[1] | has("arguments") | not)' \
    "events before the reply"

  # Awaited events only before the reply, nothing after it: the default
  # --count 1 prints the first of them and no more.
  start_fakepeer greet negotiate expect "send $(ev_ev 1 WANTED '{"n": 1}')" \
    "send $(ev_ev 2 WANTED '{"n": 2}')" "$EV_RETURN" hang \
    || { fail "fake peer did not start"; return 0; }
  run_q -t 5 -s "$PEER_SOCK" -c go --wait-event WANTED
  assert_rc 0 "events only before the reply"
  assert_no_stderr "events only before the reply"
  ev_nlines 2 "events only before the reply"
  ev_line 2 '.event == "WANTED" and .data.n == 1' "events only before the reply"
  fakepeer_done "events only before the reply"

  # --count 3 with only two: the two are printed, then a timeout.
  start_fakepeer greet negotiate expect "send $(ev_ev 1 WANTED '{"n": 1}')" "$EV_RETURN" \
    "send $(ev_ev 2 WANTED '{"n": 2}')" hang || { fail "fake peer did not start"; return 0; }
  run_q -t 0.5 -s "$PEER_SOCK" -c go --wait-event WANTED --count 3
  assert_rc 8 "--count 3, two events"
  ev_nlines 3 "--count 3, two events"
  ev_line 3 '.data.n == 2' "--count 3, two events"
  assert_err_line '^qmpctl: .*timed out' "--count 3, two events"
  fakepeer_done "--count 3, two events"
}

test_peer_nested_match() {
  start_fakepeer greet negotiate expect "$EV_RETURN" \
    "send $(ev_ev 1 E '{"a": "flat"}')" \
    "send $(ev_ev 2 E '{"a.b": "y", "a.c.d": 3}')" \
    "send $(ev_ev 3 E '{"a": {"b": "x", "c": {"d": 3}}}')" \
    "send $(ev_ev 4 E '{"a": {"c": {"d": 3}}}')" \
    "send $(ev_ev 5 E '{"a": {"b": "y"}}')" \
    "send $(ev_ev 6 E '{"a": [{"b": "y"}], "c": {"d": 3}}')" \
    "send $(ev_ev 7 E '{"a": {"b": "y", "c": {"d": "3"}}}')" \
    "send $(ev_ev 8 F '{"a": {"b": "y", "c": {"d": 3}}}')" \
    "send $(ev_ev 9 E '{"a": {"b": "y", "c": {"d": 3}}}')" \
    hang || { fail "fake peer did not start"; return 0; }
  # Two matches: both must hold.  data.a.c.d is 3 or "3" (ev 7 and 9).
  run_q -t 5 -s "$PEER_SOCK" -c go --wait-event E --match a.b=y --match a.c.d=3 --count 2
  assert_rc 0 "nested --match"
  assert_no_stderr "nested --match"
  ev_nlines 3 "nested --match"
  ev_line 2 '.timestamp.seconds == 7' "nested --match"
  ev_line 3 '.timestamp.seconds == 9' "nested --match"
  fakepeer_done "nested --match"
}

test_peer_match_json_value() {
  start_fakepeer greet negotiate expect "$EV_RETURN" \
    "send $(ev_ev 1 E '{"offset": 50}')" \
    "send $(ev_ev 2 E '{"offset": "05"}')" \
    "send $(ev_ev 3 E '{"offset": 5.5}')" \
    "send $(ev_ev 4 E '{"offset": [5]}')" \
    "send $(ev_ev 5 E '{"other": 5}')" \
    "send $(ev_ev 6 E '{"offset": 5}')" \
    "send $(ev_ev 7 E '{"offset": " 5"}')" \
    "send $(ev_ev 8 E '{"offset": "5"}')" \
    hang || { fail "fake peer did not start"; return 0; }
  run_q -t 5 -s "$PEER_SOCK" -c go --wait-event E --match offset=5 --count 2
  assert_rc 0 "--match offset=5"
  assert_no_stderr "--match offset=5"
  ev_nlines 3 "--match offset=5"
  ev_line 2 '.timestamp.seconds == 6 and .data.offset == 5' "--match offset=5: the number"
  ev_line 3 '.timestamp.seconds == 8 and .data.offset == "5"' "--match offset=5: the string"
  fakepeer_done "--match offset=5"

  # Other JSON values: true, null, an object; a quoted VALUE is a string.
  start_fakepeer greet negotiate expect "$EV_RETURN" \
    "send $(ev_ev 1 E '{"ok": "yes", "o": {"k": [1, 2]}, "v": null, "s": "x"}')" \
    "send $(ev_ev 2 E '{"ok": true, "o": {"k": [1]}, "v": null, "s": "x"}')" \
    "send $(ev_ev 3 E '{"ok": true, "o": {"k": [1, 2]}, "v": 0, "s": "x"}')" \
    "send $(ev_ev 4 E '{"ok": true, "o": {"k": [1, 2]}, "v": null, "s": "x"}')" \
    hang || { fail "fake peer did not start"; return 0; }
  run_q -t 5 -s "$PEER_SOCK" -c go --wait-event E \
    --match ok=true --match 'o={"k":[1,2]}' --match v=null --match 's="x"'
  assert_rc 0 "--match true, object, null, quoted string"
  assert_no_stderr "--match true, object, null, quoted string"
  ev_nlines 2 "--match true, object, null, quoted string"
  ev_line 2 '.timestamp.seconds == 4' "--match true, object, null, quoted string"
  fakepeer_done "--match true, object, null, quoted string"
}

test_peer_watch_after_batch() {
  # Stdin's command runs first; WANTED, which came while it ran, counts.
  start_fakepeer greet negotiate expect "send $(ev_ev 1 WANTED '{}')" \
    'send {"return": {}}\r\n' wait_close || { fail "fake peer did not start"; return 0; }
  run_q -t 5 -s "$PEER_SOCK" --wait-event WANTED <<<'{"execute":"stop"}'
  assert_rc 0 "a batch, then the wait"
  assert_no_stderr "a batch, then the wait"
  assertEquals "the return, then the event; $(ctx)" '{}|WANTED|' \
    "$(jq -r 'if .event then .event else tojson end' "$T/out" | tr '\n' '|')"
  fakepeer_done "a batch, then the wait"
  ev_sent 'map(.execute) == ["qmp_capabilities", "stop"]' "the batch was sent"

  # -n: stdin is never read; nothing but the negotiation is sent.
  start_fakepeer greet negotiate "send $(ev_ev 1 OTHER '{}')" "send $(ev_ev 2 WANTED '{}')" \
    wait_close || { fail "fake peer did not start"; return 0; }
  run_q -t 5 -n -s "$PEER_SOCK" --wait-event WANTED <<<'{"execute":"stop"}'
  assert_ok "-n: watch only"
  assert_jq '.event == "WANTED" and .timestamp.seconds == 2' "-n: watch only"
  fakepeer_done "-n: watch only"
  ev_sent 'map(.execute) == ["qmp_capabilities"]' "-n sends nothing from stdin"
}

test_peer_signals_while_watching() {
  # --count 1 and SIGINT: interrupted, 130.
  start_fakepeer greet negotiate "send $(ev_ev 1 OTHER '{}')" hang \
    || { fail "fake peer did not start"; return 0; }
  "$QMPCTL" -t 15 -s "$PEER_SOCK" --wait-event WANTED --events "$T/w.log" \
    >"$T/w.out" 2>"$T/w.err" </dev/null &
  local w=$!
  track_pid "$w"
  assert_that "the watcher must see OTHER; [$(cat "$T/w.err")]" \
    wait_file_match "$T/w.log" '"OTHER"' 5
  kill -INT "$w"
  assert_that "SIGINT must end the watcher" wait_exit "$w" 3
  assertEquals "SIGINT with --count 1: exit status; stderr [$(cat "$T/w.err")]" \
    130 "$exit_status"
  assertEquals "SIGINT with --count 1: stdout" "" "$(cat "$T/w.out")"
  assertEquals "SIGINT with --count 1: one stderr line" 1 "$(wc -l <"$T/w.err")"
  assert_that "SIGINT with --count 1: stderr [$(cat "$T/w.err")]" grep -q '^qmpctl: ' "$T/w.err"
  fakepeer_done "SIGINT"

  # --count 0 and SIGTERM: the end of the watch, 0.
  start_fakepeer greet negotiate "send $(ev_ev 1 WANTED '{}')" hang \
    || { fail "fake peer did not start"; return 0; }
  "$QMPCTL" -t 15 -s "$PEER_SOCK" --wait-event WANTED --count 0 \
    >"$T/w.out" 2>"$T/w.err" </dev/null &
  w=$!
  track_pid "$w"
  assert_that "the watcher must print WANTED; [$(cat "$T/w.err")]" \
    wait_file_match "$T/w.out" '"WANTED"' 5
  kill -TERM "$w"
  assert_that "SIGTERM must end the watcher" wait_exit "$w" 3
  assertEquals "SIGTERM with --count 0: exit status; stderr [$(cat "$T/w.err")]" \
    0 "$exit_status"
  assertEquals "SIGTERM with --count 0: stderr" "" "$(cat "$T/w.err")"
  assertEquals "SIGTERM with --count 0: stdout lines" 1 "$(wc -l <"$T/w.out")"
  fakepeer_done "SIGTERM"
}

test_peer_match_long_key_segment() {
  # A data member whose name is 300 bytes long, reached through a dotted
  # --match key.  (Nothing in QMP limits member names.)
  local k
  k=$(printf 'k%.0s' {1..300})
  start_fakepeer greet negotiate expect "$EV_RETURN" \
    "send $(ev_ev 1 E "{\"$k\": {\"b\": 1}}")" hang || { fail "fake peer did not start"; return 0; }
  run_q -t 2 -s "$PEER_SOCK" -c go --wait-event E --match "$k.b=1"
  # One assertion: exit status 0 and two stdout lines (return, event).
  assertEquals "--match with a 300-byte key segment: status and stdout lines; $(ctx)" \
    "0 2" "$rc $(wc -l <"$T/out")"
  fakepeer_done "--match with a 300-byte key segment"
}

test_events_file_untouched_on_usage_error() {
  # A usage error does nothing: an existing --events FILE keeps its content.
  printf 'earlier\n' >"$T/keep.log"
  run_q -t 5 -s "$T/missing.sock" --events "$T/keep.log" -c ''
  assert_fails 2 '' "-c '' with --events"
  run_q -t 5 -s "$T/missing.sock" --events "$T/keep.log" <<<'hello'
  assert_fails 2 '' "stdin not JSON, with --events"
  assertEquals "--events FILE after usage errors" 'earlier' "$(cat "$T/keep.log")"
  return 0
}

test_event_usage_errors() {
  # None of these may connect: the address does not exist (that would be 3).
  local s=$T/missing.sock
  run_q -t 5 -s "$s" -c stop --match a=b
  assert_fails 2 'match' "--match without --wait-event"
  run_q -t 5 -s "$s" -c stop --count 2
  assert_fails 2 'count' "--count without --wait-event"
  run_q -t 5 -s "$s" -c stop --wait-event STOP --count -1
  assert_fails 2 'count' "--count -1"
  run_q -t 5 -s "$s" -c stop --wait-event STOP --count two
  assert_fails 2 'count' "--count two"
  run_q -t 5 -s "$s" -c stop --wait-event STOP --match 'a..b'
  assert_fails 2 'match' "--match with an empty key segment"
  run_q -t 5 -s "$s" -c stop --wait-event STOP --match =v
  assert_fails 2 'match' "--match with an empty key"
  run_q -t 5 -s "$s" -c stop --wait-event ''
  assert_fails 2 'wait-event' "--wait-event ''"
  run_q -t 5 -s "$s" -c stop --wait-event ,
  assert_fails 2 'wait-event' "--wait-event ,"
  run_q -t 5 -s "$s" -c stop --wait-event
  assert_fails 2 '' "--wait-event without its value"
}

. shunit2
