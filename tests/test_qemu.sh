#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_qemu.sh -- qmpctl against a real QEMU (qemu-system-x86_64 7.2 and 10.0).
# Run from the project root:  bash tests/test_qemu.sh [-- testName...]
#
# Each test gets its own cheap QEMU (-machine none, no devices) with a QMP
# monitor on $T/vm.sock, started in setUp and killed (by pid) in tearDown.

. tests/lib.sh

# Facts checked by hand with socat against QEMU 7.2.22 (-machine none):
#   query-status -> {"status": "running", "singlestep": false, "running": true}
#     (10.0: no singlestep, removed after its deprecation in 8.1)
#   qom-get /machine type -> "none-machine"
#   query-qmp-schema -> ~207 KB on one line, 1051 entries
#   qom-list /nonexistent -> DeviceNotFound; unknown command -> CommandNotFound
#   pretty=on: {} comes as "{\r\n    }", messages span many lines
#   -qmp tcp:[::1]:P does not parse on 7.2; -chardev socket,host=::1,... works

oneTimeSetUp() {
  require_built "$QMPCTL" make
  # query-version must give the major version that --version shows.
  QMAJOR=$(bin_version "$QEMU_BIN")
  QMAJOR=${QMAJOR%%.*}
}

setUp() {
  start_qemu vm || fail "setUp: could not start QEMU"
  VM_PID=$QEMU_PID
  VM_SOCK=$QEMU_SOCK
  return 0
}

# vm_still_works [WHAT]: the test's QEMU still answers query-status.
vm_still_works() {
  run_q -t 10 -s "$VM_SOCK" -c query-status
  assert_ok "${1:+$1: }QEMU still answers afterwards"
  assert_jq '.status == "running"' "${1:+$1: }QEMU still answers afterwards"
}

# ---------------------------------------------------------------- 1

test_query_status() {
  run_q -t 10 -s "$VM_SOCK" -c query-status
  assert_ok "query-status"
  assert_jq '.status == "running" and .running == true' "query-status"
  # QEMU 10.0 removed StatusInfo's singlestep (deprecated since 8.1).
  if qemu_at_least 10.0; then
    assert_jq 'keys == ["running", "status"]' "query-status (QEMU 10)"
  else
    assert_jq 'keys == ["running", "singlestep", "status"]' "query-status (QEMU 7.2)"
  fi
  assert_compact "query-status"

  # The unix: prefix addresses the same socket.
  run_q -t 10 -s "unix:$VM_SOCK" -c query-status
  assert_ok "unix:PATH"
  assert_jq '.status == "running"' "unix:PATH"
}

test_pretty_and_raw_flags() {
  run_q -t 10 -s "$VM_SOCK" -c query-status
  assert_ok "compact reference"
  local compact
  compact=$(cat "$T/out")

  run_q -t 10 -s "$VM_SOCK" -c query-status --pretty
  assert_rc 0 "--pretty"
  assert_no_stderr "--pretty"
  assertTrue "--pretty must span several lines; $(ctx)" "[ $(wc -l <"$T/out") -gt 1 ]"
  assertEquals "--pretty: same value as compact; $(ctx)" "$compact" "$(jq -c . "$T/out")"

  run_q -t 10 -s "$VM_SOCK" -c query-status -p
  assert_rc 0 "-p"
  assertEquals "-p: same value as compact; $(ctx)" "$compact" "$(jq -c . "$T/out")"

  # -r only changes string results: an object is still printed as JSON.
  run_q -t 10 -s "$VM_SOCK" -c query-status -r
  assert_ok "-r on an object result"
  assertEquals "-r on an object result; $(ctx)" "$compact" "$(cat "$T/out")"
}

# ---------------------------------------------------------------- 2

test_query_version() {
  run_q -t 10 -s "$VM_SOCK" -c query-version
  assert_ok "-c query-version"
  assert_jq '.qemu.major == '"$QMAJOR"' and (.qemu.minor | type == "number")' "-c query-version"
  assert_jq '.package | type == "string"' "-c query-version"

  # The command object on stdin.
  run_q -t 10 -s "unix:$VM_SOCK" <<<'{"execute":"query-version"}'
  assert_ok "stdin query-version"
  assert_jq '.qemu.major == '"$QMAJOR"'' "stdin query-version"

  # --full: the whole reply object.
  run_q -t 10 -s "$VM_SOCK" -c query-version --full
  assert_ok "--full"
  assert_jq '.return.qemu.major == '"$QMAJOR"' and (has("id") | not)' "--full: no id in lockstep"
  assert_jq 'has("error") | not' "--full"

  run_q -t 10 -s "$VM_SOCK" -c query-version -f
  assert_ok "-f"
  assert_jq '.return.qemu.major == '"$QMAJOR"' and (has("id") | not)' "-f"
}

test_stdin_command_with_arguments() {
  run_q -t 10 -s "$VM_SOCK" \
    <<<'{"execute": "qom-get", "arguments": {"path": "/machine", "property": "type"}}'
  assert_ok "stdin with arguments"
  assertEquals "stdin with arguments; $(ctx)" '"none-machine"' "$(cat "$T/out")"
}

# ---------------------------------------------------------------- 3

test_qom_get_and_raw() {
  run_q -t 10 -s "$VM_SOCK" -c qom-get -a '{"path":"/machine","property":"type"}'
  assert_ok "qom-get"
  assertEquals "qom-get; $(ctx)" '"none-machine"' "$(cat "$T/out")"

  run_q -t 10 -s "$VM_SOCK" -c qom-get -a '{"path":"/machine","property":"type"}' -r
  assert_ok "qom-get -r"
  assertEquals "qom-get -r: bare string; $(ctx)" 'none-machine' "$(cat "$T/out")"

  run_q -t 10 -s "$VM_SOCK" -c qom-get -a '{"path":"/machine","property":"type"}' --raw
  assert_ok "qom-get --raw"
  assertEquals "qom-get --raw: bare string; $(ctx)" 'none-machine' "$(cat "$T/out")"
}

# ---------------------------------------------------------------- 4

test_large_reply_qmp_schema() {
  run_q -t 10 -s "$VM_SOCK" -c query-qmp-schema
  assert_ok "query-qmp-schema"
  assert_jq 'type == "array" and length > 500' "query-qmp-schema"
  assert_jq 'all(.[]; has("name") and has("meta-type"))' "query-qmp-schema"
  local bytes
  bytes=$(wc -c <"$T/out")
  assertTrue "query-qmp-schema: expected > 100000 bytes, got $bytes; rc=$rc stderr=[$(cat "$T/err")]" \
    "[ $bytes -gt 100000 ]"
}

# ---------------------------------------------------------------- 5, 6

test_unknown_command() {
  run_q -t 10 -s "$VM_SOCK" -c no-such-command
  assert_cmd_error CommandNotFound "unknown command"
  assert_err_line '^qmpctl: CommandNotFound: ' "unknown command"

  # Same via stdin.
  run_q -t 10 -s "$VM_SOCK" <<<'{"execute":"no-such-command"}'
  assert_cmd_error CommandNotFound "unknown command on stdin"

  vm_still_works
}

test_bad_qom_path() {
  run_q -t 10 -s "$VM_SOCK" -c qom-list -a '{"path":"/nonexistent"}'
  assert_cmd_error DeviceNotFound "qom-list /nonexistent"

  # --full shows the whole error reply.
  run_q -t 10 -s "$VM_SOCK" -c qom-list -a '{"path":"/nonexistent"}' --full
  assert_rc 1 "--full error"
  assert_one_line "$T/out" "--full error"
  assert_jq '.error.class == "DeviceNotFound" and (has("id") | not)' "--full error"
  assert_err_line '^qmpctl: DeviceNotFound: ' "--full error"
}

test_bad_arguments_generic_error() {
  # A missing mandatory argument: QEMU answers GenericError.
  run_q -t 10 -s "$VM_SOCK" -c qom-get -a '{"path":"/machine"}'
  assert_cmd_error GenericError "qom-get without property"
}

# ---------------------------------------------------------------- 7

test_pretty_monitor() {
  local sock=$T/pv.sock
  start_qemu_unix pv "$sock" \
    -chardev "socket,id=m,path=$sock,server=on,wait=off" \
    -mon chardev=m,mode=control,pretty=on || { fail "could not start pretty QEMU"; return 0; }

  run_q -t 10 -s "$sock" -c query-status
  assert_ok "pretty monitor: query-status"
  assert_jq '.status == "running" and .running == true' "pretty monitor: query-status"
  assert_compact "pretty monitor: query-status"

  # stop: a STOP event comes first, then an empty object spread over lines.
  run_q -t 10 -s "$sock" -c stop
  assert_ok "pretty monitor: stop"
  assertEquals "pretty monitor: stop; $(ctx)" '{}' "$(cat "$T/out")"

  run_q -t 10 -s "$sock" -c query-status
  assert_ok "pretty monitor: after stop"
  assert_jq '.status == "paused" and .running == false' "pretty monitor: after stop"

  run_q -t 10 -s "$sock" -c query-qmp-schema
  assert_ok "pretty monitor: query-qmp-schema"
  assert_jq 'type == "array" and length > 500' "pretty monitor: query-qmp-schema"

  run_q -t 10 -s "$sock" -c no-such-command
  assert_cmd_error CommandNotFound "pretty monitor: unknown command"
}

# ---------------------------------------------------------------- 8

test_tcp_ipv4() {
  start_qemu_tcp v4 127.0.0.1 || { fail "could not start QEMU on tcp 127.0.0.1"; return 0; }
  local port=$QEMU_PORT addr names
  names="127.0.0.1:$port tcp:127.0.0.1:$port"
  # A host name goes through getaddrinfo; that needs the machine to know
  # "localhost" (/etc/hosts), which a bare chroot may not.
  if getent ahosts localhost | grep -q '^127\.0\.0\.1 '; then
    names="$names localhost:$port tcp:localhost:$port"
  else
    echo "  (localhost does not resolve to 127.0.0.1 here: host names not tested)"
  fi
  for addr in $names; do
    run_q -t 10 -s "$addr" -c query-status
    assert_ok "$addr"
    assert_jq '.status == "running"' "$addr"
  done
}

test_tcp_ipv6() {
  start_qemu_tcp v6 ::1 || { fail "could not start QEMU on tcp ::1"; return 0; }
  local port=$QEMU_PORT addr
  for addr in "[::1]:$port" "tcp:[::1]:$port"; do
    run_q -t 10 -s "$addr" -c query-status
    assert_ok "$addr"
    assert_jq '.status == "running"' "$addr"
  done

  # localhost:PORT with QEMU on ::1 only: the client must try every address
  # getaddrinfo gives (127.0.0.1 is refused, ::1 answers).  Only meaningful
  # where localhost resolves to ::1 as well.
  if getent ahosts localhost | grep -q '^::1 '; then
    run_q -t 10 -s "localhost:$port" -c query-status
    assert_ok "localhost:$port (QEMU on ::1 only)"
    assert_jq '.status == "running"' "localhost:$port (QEMU on ::1 only)"
  else
    echo "  (localhost does not resolve to ::1 here: multi-address fallback not tested)"
    startSkipping
    assertTrue "skipped" 0
    endSkipping
  fi
}

# ---------------------------------------------------------------- 9

test_args_from_file_and_stdin() {
  printf '%s\n' '{"path": "/machine", "property": "type"}' >"$T/args.json"

  run_q -t 10 -s "$VM_SOCK" -c qom-get -a "@$T/args.json"
  assert_ok "-a @FILE"
  assertEquals "-a @FILE; $(ctx)" '"none-machine"' "$(cat "$T/out")"

  run_q -t 10 -s "$VM_SOCK" -c qom-get -a @- <"$T/args.json"
  assert_ok "-a @-"
  assertEquals "-a @-; $(ctx)" '"none-machine"' "$(cat "$T/out")"

  # Arguments spread over several lines are fine too.
  printf '{\n  "path": "/machine",\n  "property": "type"\n}\n' >"$T/args2.json"
  run_q -t 10 -s "$VM_SOCK" -c qom-get -a "@$T/args2.json"
  assert_ok "-a @FILE multi-line"
  assertEquals "-a @FILE multi-line; $(ctx)" '"none-machine"' "$(cat "$T/out")"
}

test_args_file_errors() {
  # A missing @FILE: a local problem found before anything is sent -> usage.
  run_q -t 10 -s "$VM_SOCK" -c qom-get -a "@$T/no-such-args.json"
  assert_fails 2 'no-such-args\.json' "-a @missing-file"

  # A file holding a non-object.
  printf '[1]\n' >"$T/arr.json"
  run_q -t 10 -s "$VM_SOCK" -c qom-get -a "@$T/arr.json"
  assert_fails 2 '' "-a @FILE with an array"

  # Empty stdin for -a @-.
  run_q -t 10 -s "$VM_SOCK" -c qom-get -a @- </dev/null
  assert_fails 2 '' "-a @- with empty stdin"

  vm_still_works
}

# ---------------------------------------------------------------- 10

test_wait_for_socket() {
  local sock=$T/late.sock qpid
  # qmpctl first, against a socket that does not exist yet...
  timeout -k 2 "$(lim 20)" "$QMPCTL" -t 10 --wait 10 -s "$sock" -c query-status \
    >"$T/out" 2>"$T/err" </dev/null &
  qpid=$!
  track_pid "$qpid"
  # ...then QEMU.
  start_qemu late || { fail "could not start QEMU 'late'"; return 0; }
  wait "$qpid"
  rc=$?
  untrack_pid "$qpid"
  assert_ok "--wait 10"
  assert_jq '.status == "running"' "--wait 10"
}

test_wait_expires() {
  # Nothing appears: --wait gives up after its own deadline -> cannot connect.
  run_q -t 10 --wait 0.3 -s "$T/never.sock" -c query-status
  assert_fails 3 'never\.sock' "--wait 0.3 on a missing socket"

  # -t shorter than --wait: the whole-run bound wins -> timeout.
  run_q -t 0.3 --wait 10 -s "$T/never.sock" -c query-status
  assert_fails 8 '[Tt]ime' "-t 0.3 --wait 10 on a missing socket"
}

# ---------------------------------------------------------------- 11

test_quit() {
  run_q -t 10 -s "$VM_SOCK" -c quit
  assert_ok "quit"
  assertEquals "quit; $(ctx)" '{}' "$(cat "$T/out")"
  assert_that "QEMU must exit after quit" wait_exit "$VM_PID" 10
  assertEquals "QEMU exit status after quit" 0 "$exit_status"
}

# ---------------------------------------------------------------- 12

test_busy_monitor_times_out() {
  # Hold the monitor: socat connected, receiving (never sending, never
  # closing); wait until it has the greeting, i.e. QEMU really serves it.
  socat -u "UNIX-CONNECT:$VM_SOCK" "CREATE:$T/held" </dev/null 2>"$T/holder.err" &
  local hpid=$!
  track_pid "$hpid"
  assert_that "holder must receive the greeting; $(cat "$T/holder.err" 2>/dev/null)" \
    wait_file_match "$T/held" '"QMP"' 5

  local ms
  prompt_begin
  run_q -t 0.5 -s "$VM_SOCK" -c query-status
  prompt_end; ms=$PROMPT_MS
  assert_fails 8 '[Tt][Ii][Mm][Ee]' "second client on a busy monitor"
  assertEquals "a hint names the likely cause; $(ctx)" \
    "qmpctl: hint: the guest agent never greets (add --qga); a QEMU monitor does not while another client holds it (QEMU serves one at a time)" \
    "$(sed -n 2p "$T/err")"
  assert_prompt "-t 0.5 must end the run" 500 2500
  assertTrue "-t 0.5 must not end before 0.5 s, took ${ms} ms" "[ $ms -ge 450 ]"

  # Release the monitor: the next client gets it.
  stop_pid "$hpid"
  run_q -t 10 --wait 5 -s "$VM_SOCK" -c query-status
  assert_ok "after the holder left"
  assert_jq '.status == "running"' "after the holder left"
}

# ---------------------------------------------------------------- 13

test_connect_failures() {
  # Missing socket.
  run_q -t 10 -s "$T/missing.sock" -c query-status
  assert_fails 3 'missing\.sock' "missing socket"
  assert_err_line '[Nn]o such file' "missing socket"

  run_q -t 10 -s "unix:$T/missing.sock" -c query-status
  assert_fails 3 'missing\.sock' "unix:missing socket"

  # A plain file: not a socket, said at once, even with --wait.
  : >"$T/plain"
  run_q -t 10 -s "$T/plain" -c query-status
  assert_fails 3 'plain' "plain file"
  assert_err_line 'plain: Socket operation on non-socket$' "plain file"
  # --wait 30: waiting for it is far over the bound, even on a busy machine.
  prompt_begin
  run_q -t 40 --wait 30 -s "$T/plain" -c query-status
  prompt_end
  assert_fails 3 'plain: Socket operation on non-socket$' "plain file, --wait 30"
  assert_prompt "--wait on a plain file must fail at once" 0 2000

  # A socket file nobody listens on (bound, then the binder exited).
  python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/dead.sock"
  assertTrue "dead.sock must exist" "[ -S '$T/dead.sock' ]"
  run_q -t 10 -s "$T/dead.sock" -c query-status
  assert_fails 3 'dead\.sock' "socket without listener"
  assert_err_line '[Rr]efused' "socket without listener"

  # A TCP port nobody listens on.
  local port
  port=$(free_port 127.0.0.1)
  run_q -t 10 -s "127.0.0.1:$port" -c query-status
  assert_fails 3 '[Rr]efused' "tcp port without listener"

  # An unknown host name.
  run_q -t 10 -s "no-such-host.invalid:4444" -c query-status
  assert_fails 3 '' "unresolvable host"

  vm_still_works
}

# ---------------------------------------------------------------- 14

test_usage_errors() {
  local long
  long=$T/$(printf 'x%.0s' {1..120}).sock

  run_q -t 10 -s "$VM_SOCK" -c qom-get -a '[1]'
  assert_fails 2 '' "-a not an object"

  run_q -t 10 -s "$VM_SOCK" -c qom-get -a '"path"'
  assert_fails 2 '' "-a a string"

  run_q -t 10 -s "$VM_SOCK" -c qom-get -a '{"path": '
  assert_fails 2 '' "-a invalid JSON"

  run_q -t 10 -s "$VM_SOCK" -c qom-get -a '{"a":1} {"b":2}'
  assert_fails 2 '' "-a two objects"

  run_q -t 10 -s "$VM_SOCK" -a '{"path":"/"}' </dev/null
  assert_fails 2 '' "-a without -c"

  run_q -t 10 -s "$VM_SOCK" -c query-status --no-such-option
  assert_fails 2 '' "unknown long option"

  run_q -t 10 -s "$VM_SOCK" -c query-status -Z
  assert_fails 2 '' "unknown short option"

  run_q -t abc -s "$VM_SOCK" -c query-status
  assert_fails 2 '' "-t abc"

  run_q -t -1 -s "$VM_SOCK" -c query-status
  assert_fails 2 '' "-t -1"

  run_q -t 10 --wait xyz -s "$VM_SOCK" -c query-status
  assert_fails 2 '' "--wait xyz"

  run_q -t 10 -s "$VM_SOCK" -c
  assert_fails 2 '' "-c without its value"

  run_q -t 10 -c query-status
  assert_fails 2 '' "no -s and QMP_SOCKET unset"

  run_q -t 10 -s "$long" -c query-status
  assert_fails 2 '' "unix path of ${#long} bytes"

  run_q -t 10 -s "unix:$long" -c query-status
  assert_fails 2 '' "unix:path of ${#long} bytes"

  # stdin commands.
  run_q -t 10 -s "$VM_SOCK" </dev/null
  assert_fails 2 '' "empty stdin"

  run_q -t 10 -s "$VM_SOCK" <<<'hello'
  assert_fails 2 '' "stdin not JSON"

  run_q -t 10 -s "$VM_SOCK" <<<'[{"execute":"query-status"}]'
  assert_fails 2 '' "stdin not an object"

  run_q -t 10 -s "$VM_SOCK" <<<'{"arguments":{}}'
  assert_fails 2 '' "stdin without execute"

  run_q -t 10 -s "$VM_SOCK" <<<'{"execute":"query-status"'
  assert_fails 2 '' "stdin truncated object"

  # None of this occupied or disturbed the monitor.
  vm_still_works "after the usage errors"
}

test_usage_errors_do_not_connect() {
  assert_that "trap listener must start" start_trap
  local trap=$T/trap.sock
  run_q -t 10 -s "$trap" -c qom-get -a '[1]'
  assert_rc 2 "-a not an object"
  run_q -t 10 -s "$trap" -c qom-get -a '{"path": '
  assert_rc 2 "-a invalid JSON"
  run_q -t 10 -s "$trap" -a '{}' </dev/null
  assert_rc 2 "-a without -c"
  run_q -t 10 -s "$trap" -c qom-get -a "@$T/no-such-args.json"
  assert_rc 2 "-a @missing-file"
  run_q -t 10 -s "$trap" </dev/null
  assert_rc 2 "empty stdin"
  run_q -t 10 -s "$trap" <<<'hello'
  assert_rc 2 "stdin not JSON"
  run_q -t 10 -s "$trap" <<<'{"arguments":{}}'
  assert_rc 2 "stdin without execute"
  assertEquals "usage errors must be found before connecting: connections made" \
    "" "$(cat "$T/trap.log" 2>/dev/null)"
}

test_help_and_version() {
  run_q -t 10 -h
  assert_rc 0 "-h"
  assert_no_stderr "-h"
  assertTrue "-h prints a usage text; $(ctx)" "grep -q 'usage' '$T/out'"

  # Two lines: the version, then jansson's (test_release.sh checks them).
  run_q -t 10 -V
  assert_rc 0 "-V"
  assert_no_stderr "-V"
  assertEquals "-V: two lines; $(ctx)" 2 "$(wc -l <"$T/out")"
}

# ---------------------------------------------------------------- 15

test_write_error() {
  run_q_to /dev/full -t 10 -s "$VM_SOCK" -c query-status
  assert_rc 9 ">/dev/full"
  assert_err_line '' ">/dev/full"

  # A large reply that cannot fit in one stdio buffer.
  run_q_to /dev/full -t 10 -s "$VM_SOCK" -c query-qmp-schema
  assert_rc 9 ">/dev/full, large reply"
  assert_err_line '' ">/dev/full, large reply"

  vm_still_works
}

# ---------------------------------------------------------------- 16

test_qmp_socket_env() {
  QMP_SOCKET=$VM_SOCK run_q -t 10 -c query-status
  assert_ok "QMP_SOCKET=PATH"
  assert_jq '.status == "running"' "QMP_SOCKET=PATH"

  QMP_SOCKET=unix:$VM_SOCK run_q -t 10 -c query-status
  assert_ok "QMP_SOCKET=unix:PATH"

  # -s wins over QMP_SOCKET.
  QMP_SOCKET=$T/missing.sock run_q -t 10 -s "$VM_SOCK" -c query-status
  assert_ok "-s overrides QMP_SOCKET"

  QMP_SOCKET=$T/missing.sock run_q -t 10 -c query-status
  assert_fails 3 'missing\.sock' "QMP_SOCKET pointing nowhere"
}

. shunit2
