#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_qsd.sh -- qmpctl against qemu-storage-daemon 7.2 and 10.0 (QSD): the
# same greeting and negotiation as QEMU, a smaller command set.
# Run from the project root:  bash tests/test_qsd.sh [-- testName...]
#
# Each test gets its own daemon with one null-co node n0 and its monitor on
# $T/qsd.sock, started in setUp and killed (by pid) in tearDown.
#
# Facts checked by hand against qemu-storage-daemon 7.2.22:
#   greeting {"QMP": {"version": {"qemu": {"major": 7, ...}}, "capabilities": ["oob"]}}
#   74 commands; no query-status, no human-monitor-command, no query-yank
#   blockdev-add of a node-name in use: GenericError "Duplicate nodes with
#       node-name='n1'"; nodes outlive the connection that added them
#   quit: {} and the daemon exits 0, with no SHUTDOWN event; it removes its
#       socket file
#   blockdev-backup n0 -> n1: JOB_STATUS_CHANGE ... BLOCK_JOB_COMPLETED

# shellcheck source=tests/lib.sh
. tests/lib.sh

QSD_BIN=${QSD_BIN:-qemu-storage-daemon}

oneTimeSetUp() {
  require_built "$QMPCTL" make
  if ! command -v "$QSD_BIN" >/dev/null; then
    echo "test_qsd.sh: $QSD_BIN not found" >&2
    exit 1
  fi
  # query-version must give the major version that --version shows.
  QMAJOR=$(bin_version "$QSD_BIN")
  QMAJOR=${QMAJOR%%.*}
}

# qsd_start: start the daemon with node n0 and its monitor on $T/qsd.sock,
# and wait (10 s) for the socket.  Sets QSD_PID and QSD_SOCK.
qsd_start() {
  QSD_SOCK=$T/qsd.sock
  rm -f "$QSD_SOCK"
  "$QSD_BIN" --chardev "socket,id=m,path=$QSD_SOCK,server=on,wait=off" \
    --monitor chardev=m \
    --blockdev driver=null-co,node-name=n0,size=1048576 \
    </dev/null >"$T/qsd.log" 2>&1 &
  QSD_PID=$!
  track_pid "$QSD_PID"
  if wait_until 10 _sock_or_dead "$QSD_SOCK" "$QSD_PID" && unix_listening "$QSD_SOCK"; then
    return 0
  fi
  echo "test_qsd.sh: the daemon did not come up: $(cat "$T/qsd.log")" >&2
  stop_pid "$QSD_PID"
  return 1
}

setUp() {
  qsd_start || fail "setUp: could not start qemu-storage-daemon"
  return 0
}

# qsd_lines N [WHAT]: rc 0, no stderr, stdout exactly N lines.
qsd_lines() {
  assert_rc 0 "$2"
  assert_no_stderr "$2"
  assertEquals "${2:+$2: }number of lines; $(ctx)" "$1" "$(wc -l <"$T/out")"
}

# qsd_jq_all FILTER [WHAT]: FILTER on the array of stdout's lines is true.
qsd_jq_all() {
  local got
  got=$(jq -cs "$1" "$T/out" 2>&1)
  assertEquals "${2:+$2: }jq -s '$1'; $(ctx)" true "$got"
}

# ---------------------------------------------------------------- tests

test_qsd_greeting() {
  run_q -s "$QSD_SOCK" -t 10 --greeting </dev/null
  assert_ok "--greeting"
  assert_jq '.QMP.version.qemu.major == '"$QMAJOR"'' "--greeting"
  assert_jq '.QMP.capabilities == ["oob"]' "--greeting"
  assert_compact "--greeting"

  # The greeting's version is the one query-version gives.
  run_q -s "$QSD_SOCK" -t 10 --greeting -c query-version
  qsd_lines 2 "--greeting -c query-version"
  qsd_jq_all '.[0].QMP.version == .[1] and .[1].qemu.major == '"$QMAJOR"'' \
    "--greeting -c query-version"
}

test_qsd_negotiation() {
  # qmpctl negotiates before the first command: a qmp_capabilities of our
  # own is then refused as in command mode.
  run_q -s "$QSD_SOCK" -t 10 -c qmp_capabilities
  assert_cmd_error CommandNotFound "a second qmp_capabilities"

  # Negotiating oob works (the greeting offers it); QSD's commands do not
  # allow oob execution, so the command itself is refused: status 1, not 5.
  run_q -s "$QSD_SOCK" -t 10 --oob -c query-version
  assert_cmd_error GenericError "--oob query-version"
  assert_jq '.desc | test("OOB")' "--oob query-version"

  # Replies carry qmpctl's ids.
  run_q -s "$QSD_SOCK" -t 10 --full -c query-version
  assert_ok "--full"
  assert_jq '(has("id") | not) and .return.qemu.major == '"$QMAJOR"'' "--full: no id in lockstep"
}

test_qsd_query_version() {
  run_q -s "$QSD_SOCK" -t 10 -c query-version
  assert_ok "query-version"
  assert_jq '.qemu.major == '"$QMAJOR"' and (.qemu.minor | type == "number")' "query-version"
  assert_jq '.package | type == "string"' "query-version"

  run_q -s "unix:$QSD_SOCK" -t 10 <<<'{"execute": "query-version"}'
  assert_ok "query-version on stdin"
  assert_jq '.qemu.major == '"$QMAJOR"'' "query-version on stdin"

  # A large reply (~110 KB on one line).
  run_q -s "$QSD_SOCK" -t 10 -c query-qmp-schema
  assert_ok "query-qmp-schema"
  assert_jq 'type == "array" and length > 100' "query-qmp-schema"
  assert_jq 'any(.[]; .name == "blockdev-add") and all(.[]; .name != "query-status")' \
    "query-qmp-schema"
}

test_qsd_blockdev_add() {
  run_q -s "$QSD_SOCK" -t 10 -c blockdev-add \
    -a '{"driver": "null-co", "node-name": "n1", "size": 1048576}'
  assert_ok "blockdev-add n1"
  assertEquals "blockdev-add n1; $(ctx)" '{}' "$(cat "$T/out")"

  # The node outlives the connection that added it.
  run_q -s "$QSD_SOCK" -t 10 -c query-named-block-nodes
  assert_ok "query-named-block-nodes"
  assert_jq '[.[]["node-name"]] | sort == ["n0", "n1"]' "query-named-block-nodes"
  assert_jq 'all(.[]; .drv == "null-co")' "query-named-block-nodes"

  run_q -s "$QSD_SOCK" -t 10 -c blockdev-add \
    -a '{"driver": "null-co", "node-name": "n1", "size": 1048576}'
  assert_cmd_error GenericError "blockdev-add of a duplicate node-name"

  # A batch over one connection: add, list, delete, list.
  run_q -s "$QSD_SOCK" -t 10 <<'EOF'
{"execute": "blockdev-add", "arguments": {"driver": "null-co", "node-name": "n2"}}
{"execute": "query-named-block-nodes"}
{"execute": "blockdev-del", "arguments": {"node-name": "n2"}}
{"execute": "query-named-block-nodes"}
EOF
  qsd_lines 4 "blockdev batch"
  qsd_jq_all '.[0] == {} and ([.[1][]["node-name"]] | sort) == ["n0", "n1", "n2"]
    and .[2] == {} and ([.[3][]["node-name"]] | sort) == ["n0", "n1"]' "blockdev batch"
}

test_qsd_errors() {
  run_q -s "$QSD_SOCK" -t 10 -c no-such-command
  assert_cmd_error CommandNotFound "unknown command"

  # QSD has no query-status and no human monitor.
  run_q -s "$QSD_SOCK" -t 10 -c query-status
  assert_cmd_error CommandNotFound "query-status"
  run_q -s "$QSD_SOCK" -t 10 --hmp 'info status'
  assert_cmd_error CommandNotFound "--hmp"

  run_q -s "$QSD_SOCK" -t 10 -c blockdev-add -a '{"driver": "null-co"}'
  assert_cmd_error GenericError "blockdev-add without node-name"

  # -k: the batch goes on after the error; status 1.
  run_q -s "$QSD_SOCK" -t 10 -k <<'EOF'
{"execute": "query-status"}
{"execute": "query-version"}
EOF
  assert_rc 1 "-k batch"
  assertEquals "-k batch: two lines; $(ctx)" 2 "$(wc -l <"$T/out")"
  qsd_jq_all '.[0].class == "CommandNotFound" and .[1].qemu.major == '"$QMAJOR"'' "-k batch"
  assert_err_line '^qmpctl: CommandNotFound: ' "-k batch"
}

test_qsd_job_events() {
  run_q -s "$QSD_SOCK" -t 10 -c blockdev-add \
    -a '{"driver": "null-co", "node-name": "n1", "size": 1048576}'
  assert_ok "blockdev-add n1"
  run_q -s "$QSD_SOCK" -t 10 --events "$T/events" --wait-event BLOCK_JOB_COMPLETED \
    -c blockdev-backup -a '{"job-id": "j0", "device": "n0", "target": "n1", "sync": "full"}'
  qsd_lines 2 "blockdev-backup --wait-event BLOCK_JOB_COMPLETED"
  qsd_jq_all '.[0] == {} and .[1].event == "BLOCK_JOB_COMPLETED"
    and .[1].data.device == "j0" and .[1].data.type == "backup"' "blockdev-backup"
  local got
  got=$(jq -cs '[.[] | select(.event == "JOB_STATUS_CHANGE") | .data.status]
    | index(["created"]) == 0 and (index("concluded") != null)' "$T/events" 2>&1)
  assertEquals "--events: JOB_STATUS_CHANGE created ... concluded: $(cat "$T/events")" true "$got"
}

test_qsd_quit() {
  run_q -s "$QSD_SOCK" -t 10 --events "$T/events" -c quit
  assert_ok "quit"
  assertEquals "quit; $(ctx)" '{}' "$(cat "$T/out")"
  assert_that "the daemon must exit after quit" wait_exit "$QSD_PID" 10
  assertEquals "the daemon's exit status after quit" 0 "$exit_status"
  assertTrue "--events FILE must exist" "[ -f '$T/events' ]"
  assertEquals "no SHUTDOWN event (nor any other) from QSD" "" "$(cat "$T/events")"

  run_q -s "$QSD_SOCK" -t 10 -c query-version
  assert_fails 3 'qsd\.sock' "after quit"
}

. shunit2
