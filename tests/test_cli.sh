#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_cli.sh -- the command line around the protocol: KEY=VALUE and
# KEY:=JSON operands, --list-commands, --describe, a few event and option
# rules the documentation states, and the bash completion.
# Run from the project root:  bash tests/test_cli.sh [-- testName...]
#
# Peers: qemu-system-x86_64 -machine none, qemu-storage-daemon, qemu-ga
# (started with the block list of qmp-notes.md and sent only read-only
# commands), and tests/fakepeer where the bytes sent must be seen.  Each test
# starts its own and tearDown kills them by pid.

. tests/lib.sh

QSD_BIN=${QSD_BIN:-qemu-storage-daemon}
QGA_BIN=${QGA_BIN:-qemu-ga}
# qemu-ga acts on THE HOST: it is started with QGA_BLOCK (lib.sh).

# Facts checked by hand against QEMU 7.2.22, qemu-storage-daemon and qemu-ga:
#   query-commands: 216 names on -machine none, 74 on qemu-storage-daemon
#   guest-info marks commands blocked with -b as "enabled": false
#   qemu-ga has no query-qmp-schema: CommandNotFound
#   blockdev-add size="1048576" (a string): GenericError "Invalid parameter type"

oneTimeSetUp() {
  local q tool
  require_built "$QMPCTL" make
  require_built "$FAKEPEER" "make tests/fakepeer"
  for tool in jq python3 "$QSD_BIN" "$QGA_BIN"; do
    if ! command -v "$tool" >/dev/null; then
      echo "test_cli.sh: $tool not installed" >&2
      exit 1
    fi
  done
  # The completion runs "qmpctl" from PATH: make that the binary under test.
  q=$(realpath -- "$QMPCTL") || exit 1
  mkdir -p "$T/bin"
  printf '#!/bin/sh\nexec %q "$@"\n' "$q" >"$T/bin/qmpctl"
  chmod +x "$T/bin/qmpctl"
}

# ---------------------------------------------------------------- peers

# start_qsd NAME: qemu-storage-daemon with a monitor on $T/NAME.sock and two
# null-co nodes, n0 and n1.  Sets QSD_PID and QSD_SOCK.
start_qsd() {
  QSD_SOCK=$T/$1.sock
  "$QSD_BIN" --chardev "socket,id=m,path=$QSD_SOCK,server=on,wait=off" \
    --monitor chardev=m \
    --blockdev driver=null-co,node-name=n0,size=1048576 \
    --blockdev driver=null-co,node-name=n1,size=1048576 \
    </dev/null >"$T/$1.log" 2>&1 &
  QSD_PID=$!
  track_pid "$QSD_PID"
  wait_until 10 _sock_or_dead "$QSD_SOCK" "$QSD_PID" && unix_listening "$QSD_SOCK"
}

# start_qga: qemu-ga listening on $T/qga.sock, with the block list.
# Sets QGA_PID and QGA_SOCK.
start_qga() {
  QGA_SOCK=$T/qga.sock
  mkdir -p "$T/qga-state"
  rm -f "$QGA_SOCK"
  "$QGA_BIN" -m unix-listen -p "$QGA_SOCK" -t "$T/qga-state" -l "$T/qga.log" \
    -b "$QGA_BLOCK" </dev/null >"$T/qga.out" 2>&1 &
  QGA_PID=$!
  track_pid "$QGA_PID"
  wait_until 10 _sock_or_dead "$QGA_SOCK" "$QGA_PID" && unix_listening "$QGA_SOCK"
}

# start_peer: the fake peer on $T/fp.sock: it greets, negotiates, answers
# one command with {} and exits.  What it received goes to $T/recv.
start_peer() {
  rm -f "$T/fp.sock" "$T/fp.pid" "$T/recv"
  printf '%s\n' greet negotiate expect 'send {"return": {}, "id": $ID}\r\n' \
    >"$T/fp.script"
  "$FAKEPEER" -u "$T/fp.sock" -r "$T/recv" -P "$T/fp.pid" -T "$PEER_LIFE" "$T/fp.script" \
    2>"$T/fp.err" &
  PEER_PID=$!
  track_pid "$PEER_PID"
  wait_for "$T/fp.pid" 5
}

# sent_args ARGS...: run qmpctl -c x ARGS against a fresh fake peer (rc,
# $T/out, $T/err as run_q), and set SENT to the "arguments" of the last
# command the peer received, as compact JSON.
sent_args() {
  SENT=
  if ! start_peer; then
    fail "fake peer did not start: $(cat "$T/fp.err")"
    return 1
  fi
  run_q -t 10 -s "$T/fp.sock" -c x "$@"
  if ! wait_exit "$PEER_PID" 10; then
    fail "fake peer did not finish: $(cat "$T/fp.err")"
    return 1
  fi
  SENT=$(jq -c -s '.[-1].arguments' "$T/recv")
}

# lines_of FILE: FILE's lines joined by "|", for short messages.
lines_of() { tr '\n' '|' <"$1"; }

# ---------------------------------------------------------------- operands

test_operands_against_qemu() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$QEMU_SOCK" -c qom-get path=/machine property=type
  assert_ok "qom-get path=/machine property=type"
  assertEquals "qom-get with operands; $(ctx)" '"none-machine"' "$(cat "$T/out")"

  # Operands and -a together: the operand wins.
  run_q -t 10 -s "$QEMU_SOCK" -c qom-get -a '{"path":"/nonexistent","property":"type"}' \
    path=/machine
  assert_ok "-a with an operand over it"
  assertEquals "-a with an operand over it; $(ctx)" '"none-machine"' "$(cat "$T/out")"
}

test_operands_against_qsd() {
  start_qsd qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  run_q -t 10 -s "$QSD_SOCK" -c blockdev-add driver=null-co node-name=n2 size:=1048576
  assert_ok "blockdev-add with size:=1048576"
  assertEquals "blockdev-add; $(ctx)" '{}' "$(cat "$T/out")"

  run_q -t 10 -s "$QSD_SOCK" -c query-named-block-nodes
  assert_ok "query-named-block-nodes"
  assert_jq 'any(.[]; ."node-name" == "n2")' "the new node n2 is there"

  # KEY=VALUE is a string, always: QEMU refuses a string size.
  run_q -t 10 -s "$QSD_SOCK" -c blockdev-add driver=null-co node-name=n3 size=1048576
  assert_cmd_error GenericError "size=1048576 is sent as a string"
  assertEquals "the hint names size:=1048576; $(ctx)" \
    "qmpctl: hint: KEY=VALUE sends a string; for a JSON value write size:=1048576" \
    "$(sed -n 2p "$T/err")"
}

test_operands_build_objects() {
  sent_args file.driver=x file.filename=y
  assert_ok "file.driver=x file.filename=y"
  assertEquals "dotted keys; $(ctx)" '{"file":{"driver":"x","filename":"y"}}' "$SENT"

  sent_args -a '{"x":1,"o":{"p":1}}' x=2 o.q:=3
  assert_ok "-a with operands"
  assertEquals "operands win over -a, objects merged; $(ctx)" \
    '{"x":"2","o":{"p":1,"q":3}}' "$SENT"

  # Every operand starts again from the top.
  sent_args a.b.c=1 d=2 a.b.e:=3 a.f:=true
  assert_ok "nested paths"
  assertEquals "nested paths; $(ctx)" '{"a":{"b":{"c":"1","e":3},"f":true},"d":"2"}' "$SENT"

  # := takes any JSON value; = always a string, = in the value included.
  sent_args n:=1.5 z:=null l:='[1,"a"]' o:='{"k":{}}' s=1 e= q=a=b t=true
  assert_ok "value kinds"
  assertEquals "value kinds; $(ctx)" \
    '{"n":1.5,"z":null,"l":[1,"a"],"o":{"k":{}},"s":"1","e":"","q":"a=b","t":"true"}' "$SENT"

  # A non-object in -a is replaced by the operand's object.
  sent_args -a '{"o":5}' o.q=1
  assert_ok "operand object over a non-object"
  assertEquals "operand object over a non-object; $(ctx)" '{"o":{"q":"1"}}' "$SENT"
}

test_operand_usage_errors_send_nothing() {
  assert_that "trap listener must start" start_trap || return 0
  local s=$T/trap.sock
  run_q -t 10 -s "$s" -c x a=1 a=2
  assert_fails 2 "^qmpctl: key 'a' given twice" "a key given twice"
  run_q -t 10 -s "$s" -c x a:=1 a=2
  assert_fails 2 "^qmpctl: key 'a' given twice" "a key given twice, once with :="
  run_q -t 10 -s "$s" -c x a=1 a.b=2
  assert_fails 2 "^qmpctl: key 'a' is used both as a value and as an object" "a=1 a.b=2"
  run_q -t 10 -s "$s" -c x a.b=2 a=1
  assert_fails 2 "^qmpctl: key 'a' is used both as a value and as an object" "a.b=2 a=1"
  run_q -t 10 -s "$s" -c x k:=notjson
  assert_fails 2 "^qmpctl: operand 'k:=notjson': invalid JSON" "k:=notjson"
  run_q -t 10 -s "$s" -c x k:=
  assert_fails 2 "invalid JSON" "k:= with nothing"
  run_q -t 10 -s "$s" -c x noequals
  assert_fails 2 "^qmpctl: operand 'noequals': expected KEY=VALUE or KEY:=JSON" "no ="
  local bad
  for bad in =1 .a=1 a.=1 a..b=1 :=1; do
    run_q -t 10 -s "$s" -c x "$bad"
    assert_fails 2 "bad key|invalid|expected" "bad key $bad"
  done
  run_q -t 10 -s "$s" a=1
  assert_fails 2 "^qmpctl: operand 'a=1' needs -c NAME" "operand without -c"
  run_q -t 10 -s "$s" --hmp 'info status' a=1
  assert_fails 2 "needs -c" "operand with --hmp"
  run_q -t 10 -s "$s" -c x -a '{"a":1}' a.b=1 a.b=2
  assert_fails 2 "given twice" "given twice after -a"
  assertEquals "usage errors must be found before connecting: connections made" \
    "" "$(cat "$T/trap.log" 2>/dev/null)"
}

# ---------------------------------------------------------------- --list-commands

test_list_commands_qemu() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$QEMU_SOCK" --list-commands
  assert_rc 0 "--list-commands"
  assert_no_stderr "--list-commands"
  assert_that "--list-commands has query-status; $(ctx)" grep -qx query-status "$T/out"
  assert_that "--list-commands has qmp_capabilities; $(ctx)" grep -qx qmp_capabilities "$T/out"
  assert_that "--list-commands is sorted (C locale); $(ctx)" env LC_ALL=C sort -c "$T/out"
  assertEquals "--list-commands has no duplicates" "" "$(sort "$T/out" | uniq -d)"
  # The same names as query-commands.
  cp "$T/out" "$T/names"
  run_q -t 10 -s "$QEMU_SOCK" -c query-commands
  assert_ok "query-commands"
  assertEquals "--list-commands is query-commands' names" \
    "$(jq -r '.[].name' "$T/out" | LC_ALL=C sort)" "$(cat "$T/names")"
}

test_list_commands_qsd() {
  start_qsd qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  run_q -t 10 -s "$QSD_SOCK" --list-commands
  assert_rc 0 "--list-commands on qsd"
  assert_no_stderr "--list-commands on qsd"
  assert_that "qsd has blockdev-add; $(ctx)" grep -qx blockdev-add "$T/out"
  assert_that "qsd has blockdev-backup; $(ctx)" grep -qx blockdev-backup "$T/out"
  assertFalse "qsd has no query-status; $(ctx)" "grep -qx query-status '$T/out'"
  assert_that "qsd list is sorted (C locale); $(ctx)" env LC_ALL=C sort -c "$T/out"
}

test_list_commands_qga() {
  assert_that "qemu-ga must start; $(cat "$T/qga.out" 2>/dev/null)" start_qga || return 0
  # What the agent itself says: blocked commands are there, disabled.
  run_q -t 10 --qga -s "$QGA_SOCK" -c guest-info
  assert_ok "guest-info"
  assert_jq 'any(.supported_commands[]; .name == "guest-exec" and .enabled == false)' \
    "guest-info: guest-exec is listed as disabled"
  assert_jq 'any(.supported_commands[]; .name == "guest-ping" and .enabled == true)' \
    "guest-info: guest-ping is enabled"
  local want
  want=$(jq -r '.supported_commands[] | select(.enabled) | .name' "$T/out" | LC_ALL=C sort)

  run_q -t 10 --qga -s "$QGA_SOCK" --list-commands
  assert_rc 0 "--qga --list-commands"
  assert_no_stderr "--qga --list-commands"
  assert_that "qga list has guest-ping; $(ctx)" grep -qx guest-ping "$T/out"
  assert_that "qga list has guest-info; $(ctx)" grep -qx guest-info "$T/out"
  local blocked
  for blocked in guest-exec guest-file-write guest-shutdown guest-set-time; do
    assertFalse "qga list must leave out the blocked $blocked; $(ctx)" \
      "grep -qx $blocked '$T/out'"
  done
  assertEquals "qga list is guest-info's enabled commands, sorted" "$want" "$(cat "$T/out")"
}

test_introspection_usage_errors() {
  assert_that "trap listener must start" start_trap || return 0
  local s=$T/trap.sock
  run_q -t 10 -s "$s" --list-commands -c query-status
  assert_fails 2 "exclude" "--list-commands -c"
  run_q -t 10 -s "$s" --describe query-status --hmp 'info status'
  assert_fails 2 "exclude" "--describe --hmp"
  run_q -t 10 -s "$s" --list-commands --wait-event STOP
  assert_fails 2 "exclude" "--list-commands --wait-event"
  run_q -t 10 -s "$s" --list-commands --describe query-status
  assert_fails 2 "exclude each other" "--list-commands --describe"
  run_q -t 10 -s "$s" --list-commands --json
  assert_fails 2 "^qmpctl: --json goes with --describe" "--json without --describe"
  run_q -t 10 -s "$s" --describe
  assert_fails 2 "needs a value" "--describe without a name"
  assertEquals "usage errors must be found before connecting: connections made" \
    "" "$(cat "$T/trap.log" 2>/dev/null)"
}

# ---------------------------------------------------------------- --describe

test_describe_command() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$QEMU_SOCK" --describe blockdev-backup
  assert_rc 0 "--describe blockdev-backup"
  assert_no_stderr "--describe blockdev-backup"
  assertEquals "first line; $(ctx)" "command blockdev-backup" "$(sed -n 1p "$T/out")"
  assertEquals "second line; $(ctx)" "arguments:" "$(sed -n 2p "$T/out")"
  assert_that "job-id is an optional str; $(ctx)" grep -qx '  job-id: optional str' "$T/out"
  assert_that "device is a str; $(ctx)" grep -qx '  device: str' "$T/out"
  assert_that "target is a str; $(ctx)" grep -qx '  target: str' "$T/out"
  assert_that "sync is an enum with full; $(ctx)" \
    grep -qxE '  sync: enum \((.*, )?full(, .*)?\)' "$T/out"
  assert_that "speed is an optional int; $(ctx)" grep -qx '  speed: optional int' "$T/out"
  # x-perf: a nested object, its members two spaces further in.
  assert_that "x-perf is an optional object; $(ctx)" grep -qx '  x-perf: optional object' "$T/out"
  assert_that "x-perf's members are indented; $(ctx)" \
    grep -qx '    max-workers: optional int' "$T/out"
  assertEquals "last line; $(ctx)" "returns: {}" "$(tail -n 1 "$T/out")"

  run_q -t 10 -s "$QEMU_SOCK" --describe query-status
  assert_rc 0 "--describe query-status"
  # QEMU 10.0 removed StatusInfo's singlestep (deprecated since 8.1).
  local members='  running: bool|  singlestep: bool|'
  qemu_at_least 10.0 && members='  running: bool|'
  assertEquals "--describe query-status; $(ctx)" \
    "command query-status|arguments: none|returns: object|$members" \
    "$(sed -n "1,$(( 3 + $(tr -cd '|' <<<"$members" | wc -c) ))p" "$T/out" | tr '\n' '|')"
  assert_that "status: an enum with running; $(ctx)" \
    grep -qxE '  status: enum \((.*, )?running(, .*)?\)' "$T/out"

  # A command that allows out-of-band execution says so.
  run_q -t 10 -s "$QEMU_SOCK" --describe migrate-pause
  assert_rc 0 "--describe migrate-pause"
  assertEquals "--describe migrate-pause; $(ctx)" \
    "command migrate-pause|arguments: none|returns: {}|allowed out-of-band|" \
    "$(lines_of "$T/out")"
}

test_describe_event() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$QEMU_SOCK" --describe JOB_STATUS_CHANGE
  assert_rc 0 "--describe JOB_STATUS_CHANGE"
  assert_no_stderr "--describe JOB_STATUS_CHANGE"
  assertEquals "an event: 4 lines; $(ctx)" 4 "$(wc -l <"$T/out")"
  assertEquals "first lines; $(ctx)" "event JOB_STATUS_CHANGE|data:|  id: str|" \
    "$(sed -n 1,3p "$T/out" | tr '\n' '|')"
  assert_that "status: an enum with concluded; $(ctx)" \
    grep -qxE '  status: enum \((.*, )?concluded(, .*)?\)' "$T/out"

  run_q -t 10 -s "$QEMU_SOCK" --describe STOP
  assert_rc 0 "--describe STOP"
  assertEquals "--describe STOP; $(ctx)" "event STOP|data: none|" "$(lines_of "$T/out")"
}

test_describe_json() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$QEMU_SOCK" --describe query-status --json
  assert_ok "--describe query-status --json"
  assert_compact "--describe --json"
  assert_jq '.name == "query-status" and ."meta-type" == "command"' "--json: name, meta-type"
  assert_jq 'any(.returns.members[]; .name == "running" and .type == "bool" and .optional == false)' \
    "--json: returns.members has running"
  assert_jq '(.returns.members[] | select(.name == "status") | .type.enum) | index("running") != null' \
    "--json: status is an enum"
  assert_jq '.arguments == {"members": []} and ."allow-oob" == false' "--json: no arguments"

  run_q -t 10 -s "$QEMU_SOCK" --describe JOB_STATUS_CHANGE --json
  assert_ok "--describe JOB_STATUS_CHANGE --json"
  assert_jq '."meta-type" == "event" and (has("returns") | not)' "--json on an event"
  assert_jq '[.arguments.members[].name] == ["id", "status"]' "--json on an event: data"

  # -p spreads it over lines; the value stays the same.
  run_q -t 10 -s "$QEMU_SOCK" --describe query-status --json
  cp "$T/out" "$T/compact"
  run_q -t 10 -s "$QEMU_SOCK" --describe query-status --json -p
  assert_rc 0 "--describe --json -p"
  assertTrue "--json -p spans lines; $(ctx)" "[ $(wc -l <"$T/out") -gt 1 ]"
  assertEquals "--json -p: same value" "$(cat "$T/compact")" "$(jq -c . "$T/out")"
}

test_describe_union_on_qsd() {
  start_qsd qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  run_q -t 10 -s "$QSD_SOCK" --describe blockdev-add
  assert_rc 0 "--describe blockdev-add on qsd"
  assert_no_stderr "--describe blockdev-add on qsd"
  assertEquals "first line; $(ctx)" "command blockdev-add" "$(sed -n 1p "$T/out")"
  assert_that "driver is an enum with null-co; $(ctx)" \
    grep -qxE '  driver: enum \((.*, )?null-co(, .*)?\)' "$T/out"
  assert_that "a 'when driver is' block for null-co; $(ctx)" \
    grep -qx '  when driver is "null-co":' "$T/out"
  assertEquals "null-co's size follows, indented; $(ctx)" "    size: optional int" \
    "$(grep -x -A1 '  when driver is "null-co":' "$T/out" | sed -n 2p)"
  assertTrue "many 'when driver is' blocks; $(ctx)" \
    "[ $(grep -c '^  when driver is "' "$T/out") -gt 30 ]"
  assertEquals "last line; $(ctx)" "returns: {}" "$(tail -n 1 "$T/out")"

  run_q -t 10 -s "$QSD_SOCK" --describe blockdev-add --json
  assert_ok "--describe blockdev-add --json"
  assert_jq '.arguments.variants.tag == "driver"' "--json: the union's tag"
  assert_jq 'any(.arguments.variants.cases."null-co".members[]; .name == "size" and .type == "int")' \
    "--json: the null-co case"
}

test_describe_not_found() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$QEMU_SOCK" --describe nosuch
  assert_fails 1 "" "--describe nosuch"
  assertEquals "--describe nosuch: message" \
    "qmpctl: nosuch: no such command or event in the server's schema" "$(cat "$T/err")"
  # A type of the schema is neither a command nor an event.
  run_q -t 10 -s "$QEMU_SOCK" --describe int
  assert_fails 1 "^qmpctl: int: no such command or event" "--describe int"
}

test_describe_on_qga_fails() {
  assert_that "qemu-ga must start; $(cat "$T/qga.out" 2>/dev/null)" start_qga || return 0
  run_q -t 10 --qga -s "$QGA_SOCK" --describe guest-ping
  assert_cmd_error CommandNotFound "--qga --describe: the agent has no query-qmp-schema"
  assert_jq '.desc | test("query-qmp-schema")' "--qga --describe: names query-qmp-schema"
  # The agent still answers afterwards.
  run_q -t 10 --qga -s "$QGA_SOCK" -c guest-ping
  assert_ok "guest-ping after --describe"
  assertEquals "guest-ping; $(ctx)" '{}' "$(cat "$T/out")"
}

# ---------------------------------------------------------------- events

test_events_order_and_deadline() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  # STOP comes before stop's return: it counts, and prints after it.
  run_q -t 10 -s "$QEMU_SOCK" -c stop --wait-event STOP
  assert_rc 0 "stop --wait-event STOP"
  assert_no_stderr "stop --wait-event STOP"
  assertEquals "two lines; $(ctx)" 2 "$(wc -l <"$T/out")"
  assertEquals "the return first; $(ctx)" '{}' "$(sed -n 1p "$T/out")"
  assertEquals "then the event; $(ctx)" STOP "$(sed -n 2p "$T/out" | jq -r .event)"

  # --count 0: every matching event until the deadline, then status 0.
  run_q -t 0.5 -s "$QEMU_SOCK" -c cont --wait-event RESUME --count 0
  assert_rc 0 "--count 0 ends at the deadline with 0"
  assert_no_stderr "--count 0 at the deadline"
  assertEquals "--count 0: the return and RESUME; $(ctx)" '{}|RESUME|' \
    "$(jq -r 'if .event then .event else tojson end' "$T/out" | tr '\n' '|')"

  # Without --count 0, the deadline is a timeout.
  run_q -t 0.3 -s "$QEMU_SOCK" --wait-event STOP
  assert_fails 8 "^qmpctl: timed out waiting for event STOP" "no STOP within -t"

  # The server closes before the event came: 6, also with --count 0.
  run_q -t 10 -s "$QEMU_SOCK" -c quit --wait-event RESET --count 0
  assert_rc 6 "quit --wait-event RESET"
  assertEquals "quit's return is printed; $(ctx)" '{}' "$(cat "$T/out")"
  assert_err_line "closed" "quit --wait-event RESET"
}

test_events_match_on_qsd() {
  start_qsd qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  run_q -t 10 -s "$QSD_SOCK" -c blockdev-backup job-id=j0 device=n0 target=n1 sync=full \
    --wait-event JOB_STATUS_CHANGE --match id=j0 --match status=concluded --events "$T/events"
  assert_rc 0 "blockdev-backup --wait-event"
  assert_no_stderr "blockdev-backup --wait-event"
  assertEquals "two lines; $(ctx)" 2 "$(wc -l <"$T/out")"
  assertEquals "the return first; $(ctx)" '{}' "$(sed -n 1p "$T/out")"
  assertEquals "then the concluded event; $(ctx)" '{"status":"concluded","id":"j0"}' \
    "$(sed -n 2p "$T/out" | jq -c .data)"
  # --events got every event, the ones before concluded included.
  assert_that "--events has created; $(cat "$T/events")" \
    grep -q '"status":"created"' "$T/events"
  assert_that "--events has BLOCK_JOB_COMPLETED; $(cat "$T/events")" \
    grep -q '"event":"BLOCK_JOB_COMPLETED"' "$T/events"

  # A --match value that parses as JSON is compared as JSON.
  run_q -t 10 -s "$QSD_SOCK" -c blockdev-backup job-id=j1 device=n0 target=n1 sync=full \
    --wait-event BLOCK_JOB_COMPLETED --match device=j1 --match len=1048576
  assert_rc 0 "--match len=1048576"
  assertEquals "--match on a number; $(ctx)" 1048576 "$(sed -n 2p "$T/out" | jq .data.len)"

  # --count N prints N, in order.
  run_q -t 10 -s "$QSD_SOCK" -c blockdev-backup job-id=j2 device=n0 target=n1 sync=full \
    --wait-event JOB_STATUS_CHANGE --match id=j2 --count 2
  assert_rc 0 "--count 2"
  assertEquals "--count 2; $(ctx)" '{}|created|running|' \
    "$(jq -r 'if .event then .data.status else tojson end' "$T/out" | tr '\n' '|')"
}

test_event_option_usage_errors() {
  assert_that "trap listener must start" start_trap || return 0
  local s=$T/trap.sock
  run_q -t 10 -s "$s" -c stop --match id=x
  assert_fails 2 "^qmpctl: --match needs --wait-event" "--match alone"
  run_q -t 10 -s "$s" -c stop --count 2
  assert_fails 2 "^qmpctl: --count needs --wait-event" "--count alone"
  run_q -t 10 -s "$s" --wait-event STOP --count -1
  assert_fails 2 "--count" "--count -1"
  run_q -t 10 -s "$s" --wait-event ,
  assert_fails 2 "no event name" "--wait-event ,"
  run_q -t 10 -s "$s" --wait-event STOP --match '!'
  assert_fails 2 "KEY=VALUE" "--match '!' without a key"
  assertEquals "usage errors must be found before connecting: connections made" \
    "" "$(cat "$T/trap.log" 2>/dev/null)"
}

# ---------------------------------------------------------------- addresses

test_vsock_and_listen_rules() {
  run_q -t 10 --listen vsock:2:1234 -c query-status
  assert_fails 2 "vsock" "--listen on vsock"
  run_q -t 10 -s vsock:x:1 -c query-status
  assert_fails 2 "vsock:CID:PORT" "vsock with a bad CID"
  run_q -t 10 -s vsock:2 -c query-status
  assert_fails 2 "vsock:CID:PORT" "vsock without a port"
  run_q -t 10 -s vsock:2:1234 --pass-fd 0 -c getfd fdname=x
  assert_fails 2 "unix sockets only" "--pass-fd on vsock"
  run_q -t 10 -s "$T/x.sock" --listen "$T/y.sock" -c query-status
  assert_fails 2 "exclude" "-s and --listen"
  run_q -t 10 --wait 1 --listen "$T/y.sock" -c query-status
  assert_fails 2 "exclude" "--wait and --listen"

  # --listen: the socket file is there while waiting, and gone after.
  run_q -t 0.3 --listen "$T/l.sock" -c query-status
  assert_fails 8 "timed out" "--listen with nobody connecting"
  assertFalse "--listen removes its socket file on failure" "[ -e '$T/l.sock' ]"
}

test_listen_accepts_qemu() {
  local sock=$T/l.sock qpid
  timeout -k 2 "$(lim 20)" "$QMPCTL" -t 10 --listen "$sock" -c query-status \
    >"$T/out" 2>"$T/err" </dev/null &
  qpid=$!
  track_pid "$qpid"
  assert_that "qmpctl must create $sock" wait_until 5 test -S "$sock"
  spawn_qemu lq -chardev "socket,id=m,path=$sock,reconnect=1" -mon chardev=m,mode=control
  assert_that "qmpctl must finish" wait_exit "$qpid" 10
  rc=$exit_status
  assert_ok "--listen"
  assert_jq '.status == "running"' "--listen"
  assertFalse "--listen removes its socket file once accepted" "[ -e '$sock' ]"
}

# ---------------------------------------------------------------- bugs found

# -t bounds reading -a @- as it bounds reading commands from stdin.
test_timeout_bounds_args_from_stdin() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  mkfifo "$T/fifo"
  exec 8<>"$T/fifo"          # a writer that never writes nor closes
  # Bounded here at a few seconds (124 then), so that the bug costs little
  # time: 3 s times the slowdown, past the bound checked below.
  prompt_begin
  timeout -k 1 $(( 3 * LIB_SLOW / 100 + 1 )) "$QMPCTL" -t 0.3 -s "$QEMU_SOCK" -c qom-get -a @- \
    <"$T/fifo" >"$T/out" 2>"$T/err"
  rc=$?
  prompt_end
  exec 8>&-
  assert_fails 8 "stdin" "-t 0.3 with -a @- that never ends"
  assert_prompt "-t 0.3 must end the run soon after 0.3 s" 300 900
}

# With --wait-event or --greeting and no -c, qmpctl does not read stdin: it
# just waits, or just greets (the issue's "Without -c, just wait").  A
# command on stdin is therefore never sent.
# Stdin holds a batch, and --wait-event applies after it (issue: a batch
# then the wait); -n turns stdin off, and says so by running nothing.
test_wait_event_after_stdin_batch() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  run_q -t 5 -s "$QEMU_SOCK" --wait-event STOP <<<'{"execute":"stop"}'
  assert_rc 0 "--wait-event STOP with stop on stdin"
  assert_no_stderr "--wait-event STOP after a batch"
  assertEquals "the return, then the event; $(ctx)" '{}|STOP|' \
    "$(jq -r 'if .event then .event else tojson end' "$T/out" | tr '\n' '|')"
  run_q -t 5 -s "$QEMU_SOCK" -c query-status
  assert_jq '.status == "paused"'

  # -n: stdin is not read, so cont never runs and the wait times out.
  run_q -t 0.5 -n -s "$QEMU_SOCK" --wait-event RESUME <<<'{"execute":"cont"}'
  assert_rc 8 "-n --wait-event RESUME"
  assertEquals "-n: nothing on stdout; $(ctx)" '' "$(cat "$T/out")"
  run_q -t 5 -s "$QEMU_SOCK" -c query-status
  assert_jq '.status == "paused"' "-n must not run stdin's cont"

  # --greeting reads the batch too.
  run_q -t 5 -s "$QEMU_SOCK" --greeting <<<'{"execute":"cont"}'
  assert_rc 0 "--greeting with a command on stdin"
  assertEquals "the greeting, then the return; $(ctx)" 'greeting|other|' \
    "$(jq -r 'if .QMP then "greeting" else "other" end' "$T/out" | tr '\n' '|')"
  run_q -t 5 -s "$QEMU_SOCK" -c query-status
  assert_jq '.status == "running"'

  # An empty stdin with a wait is no error: nothing to run, then the wait.
  run_q -t 0.5 -s "$QEMU_SOCK" --wait-event STOP </dev/null
  assert_rc 8 "--wait-event STOP, empty stdin"
}

# One source for the options: the table in qmpctl.c drives --help; the man
# page's option list and the README's options table must name exactly the
# same options, with the same short letters.
opt_set_help() {
  "$QMPCTL" --help | grep -oE -- '^(  -[a-zA-Z], |      )--[a-z-]+' |
    sed -E 's/^ +//; s/, / /' | sort
}
opt_set_man() {
  grep -oE '^\.It Fl ([a-zA-Z] , Fl )?\\-[a-z-]+' qmpctl.1 |
    sed -E 's/^\.It Fl //; s/ , Fl \\-/ --/; s/^\\-/--/; s/^([a-zA-Z]) /-\1 /' | sort
}
opt_set_readme() {
  grep -oE '^\| `(-[a-zA-Z]`, `)?--[a-z-]+' README.md |
    sed -E 's/^\| `//; s/`, `/ /' | sort
}
test_options_agree_everywhere() {
  opt_set_help >"$T/help.opts"
  opt_set_man >"$T/man.opts"
  opt_set_readme >"$T/readme.opts"
  assertTrue "--help lists options; [$(cat "$T/help.opts")]" "[ $(wc -l <"$T/help.opts") -ge 25 ]"
  assertEquals "the man page's options are --help's" \
    "$(cat "$T/help.opts")" "$(cat "$T/man.opts")"
  assertEquals "the README's options are --help's" \
    "$(cat "$T/help.opts")" "$(cat "$T/readme.opts")"
  run_q -t 10 --help
  assert_rc 0 "--help"
  assert_that "--help must show the KEY=VALUE / KEY:=JSON operands" grep -q 'KEY:=JSON' "$T/out"
  assertEquals "--help ends by pointing to the manual" "See qmpctl(1) for the whole manual." \
    "$(tail -n 1 "$T/out")"
}

# ---------------------------------------------------------------- completion

# complete_line CWORD WORD...: source qmpctl.bash in a fresh bash, set
# COMP_WORDS to the WORDs and COMP_CWORD to CWORD, run _qmpctl, and put the
# completions, one a line, in $T/out.
complete_line() {
  local cword=$1
  shift
  timeout -k 2 "$(lim 15)" env -u QMP_SOCKET PATH="$T/bin:$PATH" bash -c '
    source ./completions/qmpctl.bash || exit 99
    COMP_WORDS=("${@:2}")
    COMP_CWORD=$1
    _qmpctl
    (( ${#COMPREPLY[@]} == 0 )) || printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$cword" "$@" >"$T/out" 2>"$T/err" </dev/null
  rc=$?
}

test_completion_options() {
  complete_line 1 qmpctl --wa
  assert_rc 0 "complete --wa"
  assert_no_stderr "complete --wa"
  assertEquals "complete --wa; $(ctx)" "--wait|--wait-event|--wait-job|--wait-migration|" \
    "$(sort "$T/out" | tr '\n' '|')"
  complete_line 1 qmpctl --rea
  assertEquals "complete --rea; $(ctx)" "--ready-fd|" "$(lines_of "$T/out")"

  # --wait-job ID: completes the job statuses.
  complete_line 2 qmpctl --wait-job j1:re
  assertEquals "complete --wait-job j1:re; $(ctx)" "j1:ready|" "$(lines_of "$T/out")"
  complete_line 2 qmpctl --wait-job j1:
  assertEquals "complete --wait-job j1:; $(ctx)" 10 "$(wc -l <"$T/out")"
  complete_line 2 qmpctl --ready-fd ''
  assertEquals "complete --ready-fd: nothing; $(ctx)" "" "$(cat "$T/out")"

  complete_line 1 qmpctl --li
  assertEquals "complete --li; $(ctx)" "--list-commands|--listen|" "$(sort "$T/out" | tr '\n' '|')"
  complete_line 1 qmpctl --de
  assertEquals "complete --de; $(ctx)" "--describe|--detach|" "$(sort "$T/out" | tr '\n' '|')"
  complete_line 1 qmpctl --ex
  assertEquals "complete --ex; $(ctx)" "--exec|--exec-status|" "$(sort "$T/out" | tr '\n' '|')"
  # After "--" come --exec's program and its arguments: no options.
  complete_line 4 qmpctl --qga --exec -- --
  assertEquals "complete after --; $(ctx)" "" "$(cat "$T/out")"
  # Guest paths are not the host's files.
  complete_line 2 qmpctl --get /
  assertEquals "complete --get PATH; $(ctx)" "" "$(cat "$T/out")"

  # Registered for the qmpctl command.
  assertEquals "complete -p qmpctl" "complete -F _qmpctl qmpctl" \
    "$(bash -c 'source ./completions/qmpctl.bash; complete -p qmpctl' 2>&1)"
}

test_completion_commands_from_server() {
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  complete_line 4 qmpctl -s "$QEMU_SOCK" -c query-st
  assert_rc 0 "complete -c query-st"
  assert_no_stderr "complete -c query-st"
  assert_that "complete -c query-st offers query-status; $(ctx)" grep -qx query-status "$T/out"
  assertEquals "complete -c query-st: only query-st*; $(ctx)" "" "$(grep -v '^query-st' "$T/out")"

  # --socket=ADDR comes to the function as "--socket" "=" "ADDR".
  complete_line 5 qmpctl --socket = "$QEMU_SOCK" -c query-statu
  assert_rc 0 "complete after --socket=ADDR"
  assertEquals "complete after --socket=ADDR; $(ctx)" "query-status|" "$(lines_of "$T/out")"

  # The address may come from QMP_SOCKET, and --describe completes too.
  complete_line 2 qmpctl --describe query-versi
  assertEquals "no address, no completion; $(ctx)" "" "$(cat "$T/out")"
  QMP_SOCKET=$QEMU_SOCK timeout -k 2 "$(lim 15)" env PATH="$T/bin:$PATH" bash -c '
    source ./completions/qmpctl.bash; COMP_WORDS=(qmpctl --describe query-versi); COMP_CWORD=2
    _qmpctl; printf "%s\n" "${COMPREPLY[@]}"' >"$T/out" 2>"$T/err" </dev/null
  rc=$?
  assert_rc 0 "complete --describe with QMP_SOCKET"
  assertEquals "complete --describe with QMP_SOCKET; $(ctx)" "query-version" "$(cat "$T/out")"
}

test_completion_job_ids_from_server() {
  start_qsd qsdjobs || { fail "could not start qemu-storage-daemon"; return 0; }
  run_q -t 10 -s "$QSD_SOCK" -c blockdev-backup job-id=back1 device=n0 target=n1 \
    sync=full auto-dismiss:=false --wait-job back1
  assert_rc 0 "a kept job"
  assert_no_stderr "a kept job"
  complete_line 4 qmpctl -s "$QSD_SOCK" --wait-job ba
  assert_rc 0 "complete --wait-job ba"
  assert_no_stderr "complete --wait-job ba"
  assertEquals "complete --wait-job ba; $(ctx)" "back1|" "$(lines_of "$T/out")"
}

test_completion_agent_commands() {
  assert_that "qemu-ga must start; $(cat "$T/qga.out" 2>/dev/null)" start_qga || return 0
  complete_line 5 qmpctl -s "$QGA_SOCK" --qga -c guest-get-t
  assert_rc 0 "complete --qga -c guest-get-t"
  assertEquals "complete --qga -c guest-get-t; $(ctx)" "guest-get-time|guest-get-timezone|" \
    "$(lines_of "$T/out")"
  # Blocked commands are not offered.
  complete_line 5 qmpctl -s "$QGA_SOCK" --qga -c guest-exe
  assertEquals "complete --qga -c guest-exe: guest-exec is blocked; $(ctx)" "guest-exec-status|" \
    "$(lines_of "$T/out")"
}

test_completion_without_server() {
  prompt_begin
  # No address at all: nothing, at once.
  complete_line 2 qmpctl -c ''
  assert_rc 0 "complete -c with no address"
  assertEquals "complete -c with no address; $(ctx)" "" "$(cat "$T/out")"
  assert_no_stderr "complete -c with no address"
  # An address where nobody listens: nothing, and no hang.
  complete_line 4 qmpctl -s "$T/nobody.sock" -c query
  assert_rc 0 "complete -c with a dead address"
  assertEquals "complete -c with a dead address; $(ctx)" "" "$(cat "$T/out")"
  assert_no_stderr "complete -c with a dead address"
  prompt_end
  assert_prompt "completion without a server must be quick" 0 3000
}

. shunit2
