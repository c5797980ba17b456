#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_agent.sh -- qmpctl --qga against a real guest agent (qemu-ga
# 7.2) on a unix-listen socket, plus --qga against a QEMU monitor.
# Run from the project root:  bash tests/test_agent.sh [-- testName...]
#
# DANGER: qemu-ga run here acts on THIS machine, as root.  It is started
# only with the block list of /work/shared/qmp-notes.md (QGA_BLOCK, lib.sh),
# its state under $T, and ag_start refuses to go on unless guest-info shows
# every blocked command disabled.  Only read-only commands are sent; the
# one blocked command sent (guest-exec) carries no arguments, so it could
# not run anything even if it were enabled.
#
# Facts checked by hand against qemu-ga 7.2.22:
#   guest-ping -> {}; qmp_capabilities -> CommandNotFound
#   a blocked command -> CommandNotFound "Command guest-exec has been
#       disabled"
#   guest-file-read of 48 MiB: a 64 MiB reply (base64) on one line
#   a client that leaves with "{"execute":"guest-ping"" unfinished leaves
#       that in the agent's parser: the next client's command is swallowed
#       unless it first resets the parser with 0xFF (guest-sync-delimited)
#   a client that closes while the agent is writing a big reply makes
#       qemu-ga exit ("error reading channel"): each test gets its own agent

# shellcheck source=tests/lib.sh disable=SC2016  # $ID is the fake peer's
. tests/lib.sh

AG_BIN=${QGA_BIN:-$(command -v qemu-ga || echo /usr/sbin/qemu-ga)}

oneTimeSetUp() {
  require_built "$QMPCTL" make
  if [[ ! -x $AG_BIN ]]; then
    echo "test_agent.sh: qemu-ga not found (apt-get install qemu-guest-agent)" >&2
    exit 1
  fi
  require_built "$FAKEPEER" "make tests/fakepeer"
}

# ---------------------------------------------------------------- helpers

# ag_start: start qemu-ga on $T/ga.sock with the block list and check, with
# guest-info, that every blocked command it knows is disabled; if not, stop
# it at once.  Sets AG_PID and AG_SOCK.
ag_start() {
  AG_SOCK=$T/ga.sock
  rm -f "$AG_SOCK"
  mkdir -p "$T/ga-state" || return 1
  "$AG_BIN" -m unix-listen -p "$AG_SOCK" -t "$T/ga-state" -f "$T/ga.pid" \
    -l "$T/ga.log" -b "$QGA_BLOCK" </dev/null >"$T/ga.out" 2>&1 &
  AG_PID=$!
  track_pid "$AG_PID"
  if ! wait_until 5 _sock_or_dead "$AG_SOCK" "$AG_PID" ||
      ! pid_alive "$AG_PID"; then
    echo "test_agent.sh: qemu-ga did not start: $(cat "$T/ga.out" "$T/ga.log")" >&2
    stop_pid "$AG_PID"
    return 1
  fi
  timeout -k 2 "$(lim 10)" "$QMPCTL" --qga -t 5 -s "$AG_SOCK" -c guest-info \
    >"$T/ga-info" 2>"$T/ga-info.err" </dev/null
  local safe
  safe=$(jq --arg b "$QGA_BLOCK" '($b | split(",")) as $bl
    | [.supported_commands[] | select(.name as $n | any($bl[]; . == $n))]
    | length >= 10 and all(.[]; .enabled == false)' "$T/ga-info" 2>&1)
  if [[ $safe != true ]]; then
    echo "test_agent.sh: qemu-ga does not show the blocked commands disabled; stopped it;" \
      "guest-info: [$(head -c 300 "$T/ga-info")] [$(cat "$T/ga-info.err")] jq: [$safe]" >&2
    stop_pid "$AG_PID"
    return 1
  fi
}

# ag_file_open PATH: open PATH read-only on the agent; the handle goes to
# AG_HANDLE.  Returns 1 (after failing the test) if that did not work.
ag_file_open() {
  AG_HANDLE=
  run_q --qga -s "$AG_SOCK" -t 10 -c guest-file-open \
    -a "{\"path\": \"$1\", \"mode\": \"r\"}"
  assert_ok "guest-file-open $1"
  assert_jq 'type == "number"' "guest-file-open $1"
  [[ $rc == 0 ]] || return 1
  AG_HANDLE=$(cat "$T/out")
}

# ag_b64_is FILE [WHAT]: stdout's .["buf-b64"], decoded, is FILE's content.
ag_b64_is() {
  jq -r '.["buf-b64"]' "$T/out" | base64 -d >"$T/decoded" 2>"$T/b64.err"
  assert_that "${2:+$2: }decoded buf-b64 must equal $1 ($(wc -c <"$T/decoded") bytes decoded; $(cat "$T/b64.err"))" \
    cmp -s "$1" "$T/decoded"
  rm -f "$T/decoded"
}

_ag_peer_ready() { [[ -s $1 ]] || ! pid_alive "$2"; }

# ag_trap: a fake peer on $T/trap.sock that records what it receives in
# $T/trap.recv.  Sets AG_TRAP_PID.
ag_trap() {
  printf '%s\n' expect 'send {"return": {}, "id": $ID}\n' >"$T/trap.script"
  "$FAKEPEER" -u "$T/trap.sock" -r "$T/trap.recv" -P "$T/trap.pidf" -T "$PEER_LIFE" \
    "$T/trap.script" 2>"$T/trap.err" </dev/null &
  AG_TRAP_PID=$!
  track_pid "$AG_TRAP_PID"
  wait_until 5 _ag_peer_ready "$T/trap.pidf" "$AG_TRAP_PID" && pid_alive "$AG_TRAP_PID"
}

# ---------------------------------------------------------------- tests

test_agent_ping() {
  ag_start || { fail "could not start qemu-ga"; return 0; }
  run_q --qga -s "$AG_SOCK" -t 10 -c guest-ping
  assert_ok "guest-ping"
  assertEquals "guest-ping; $(ctx)" '{}' "$(cat "$T/out")"

  run_q --qga -s "unix:$AG_SOCK" -t 10 -c guest-ping --full
  assert_ok "guest-ping --full"
  # In lockstep, qmpctl sends no id: the reply has none.
  assert_jq 'keys == ["return"] and .return == {}' \
    "guest-ping --full"

  # The command on stdin, with the caller's own id.
  run_q --qga -s "$AG_SOCK" -t 10 --full <<<'{"execute": "guest-ping", "id": "mine"}'
  assert_ok "guest-ping on stdin"
  assert_jq '. == {"return": {}, "id": "mine"}' "guest-ping on stdin"
}

test_agent_wait_for_socket() {
  # qmpctl first, the agent's socket later: --wait retries the connect.
  timeout -k 2 "$(lim 20)" "$QMPCTL" --qga --wait 10 -t 10 -s "$T/ga.sock" -c guest-ping \
    >"$T/out" 2>"$T/err" </dev/null &
  local qpid=$!
  track_pid "$qpid"
  ag_start || { fail "could not start qemu-ga"; return 0; }
  assert_that "qmpctl --wait must end" wait_exit "$qpid" 15
  rc=$exit_status
  assert_ok "--qga --wait 10"
  assertEquals "--qga --wait 10; $(ctx)" '{}' "$(cat "$T/out")"
}

test_agent_info_and_osinfo() {
  ag_start || { fail "could not start qemu-ga"; return 0; }
  local ver
  ver=$("$AG_BIN" -V 2>/dev/null | sed -n 's/^QEMU Guest Agent \([^ ]*\).*/\1/p')

  run_q --qga -s "$AG_SOCK" -t 10 -c guest-info
  assert_ok "guest-info"
  assert_jq '.version | type == "string"' "guest-info"
  assert_jq ".version == \"$ver\"" "guest-info: the version qemu-ga -V shows"
  assert_jq '.supported_commands | length > 20' "guest-info"
  assert_jq 'any(.supported_commands[]; .name == "guest-ping" and .enabled)' "guest-info"
  assert_jq 'any(.supported_commands[]; .name == "guest-exec" and (.enabled | not))' "guest-info"
  assert_compact "guest-info"

  run_q --qga -s "$AG_SOCK" -t 10 -c guest-get-osinfo
  assert_ok "guest-get-osinfo"
  assert_jq ".[\"kernel-release\"] == \"$(uname -r)\" and .machine == \"$(uname -m)\"" \
    "guest-get-osinfo: this machine's kernel"

  # Several commands over one connection, synchronised once.
  run_q --qga -s "$AG_SOCK" -t 10 <<'EOF'
{"execute": "guest-ping"}
{"execute": "guest-get-host-name"}
{"execute": "guest-get-time"}
EOF
  assert_rc 0 "batch"
  assert_no_stderr "batch"
  assertEquals "batch: 3 lines; $(ctx)" 3 "$(wc -l <"$T/out")"
  local got
  got=$(jq -cs --arg h "$(hostname)" --argjson now "$(date +%s)" \
    'length == 3 and .[0] == {} and .[1] == {"host-name": $h}
     and ((.[2] / 1e9) - $now | fabs) < 60' "$T/out" 2>&1)
  assertEquals "batch results; $(ctx)" true "$got"
}

test_agent_list_commands() {
  ag_start || { fail "could not start qemu-ga"; return 0; }
  # --list-commands: the enabled commands of guest-info, sorted; the
  # blocked ones are left out.
  run_q --qga -s "$AG_SOCK" -t 10 --list-commands
  assert_rc 0 "--qga --list-commands"
  assert_no_stderr "--qga --list-commands"
  assert_that "--list-commands must be sorted; $(ctx)" \
    env LC_ALL=C sort -c "$T/out"
  assertEquals "--list-commands: guest-info's enabled commands; $(ctx)" \
    "$(jq -r '.supported_commands[] | select(.enabled) | .name' "$T/ga-info" | LC_ALL=C sort)" \
    "$(cat "$T/out")"
  assert_that "guest-ping is listed" grep -qx guest-ping "$T/out"
  local blocked
  blocked=$(tr ',' '\n' <<<"$QGA_BLOCK" | grep -Fxf - "$T/out")
  assertEquals "no blocked command may be listed" "" "$blocked"

  # The agent has no query-qmp-schema: --describe gets its error.
  run_q --qga -s "$AG_SOCK" -t 10 --describe guest-ping
  assert_cmd_error CommandNotFound "--qga --describe"
}

test_agent_file_read() {
  ag_start || { fail "could not start qemu-ga"; return 0; }
  printf 'line one\nline two\n\000\377 end' >"$T/small"
  ag_file_open "$T/small" || return 0
  local h=$AG_HANDLE

  run_q --qga -s "$AG_SOCK" -t 10 -c guest-file-read -a "{\"handle\": $h, \"count\": 4096}"
  assert_ok "guest-file-read"
  assert_jq '.count == 24 and .eof == true' "guest-file-read"
  ag_b64_is "$T/small" "guest-file-read"

  run_q --qga -s "$AG_SOCK" -t 10 -c guest-file-close -a "{\"handle\": $h}"
  assert_ok "guest-file-close"
  assertEquals "guest-file-close; $(ctx)" '{}' "$(cat "$T/out")"

  # The handle is gone now: the agent's error.
  run_q --qga -s "$AG_SOCK" -t 10 -c guest-file-close -a "{\"handle\": $h}"
  assert_cmd_error GenericError "guest-file-close of a closed handle"

  run_q --qga -s "$AG_SOCK" -t 10 -c guest-file-open \
    -a "{\"path\": \"$T/no-such-file\", \"mode\": \"r\"}"
  assert_cmd_error GenericError "guest-file-open of a missing file"
}

test_agent_file_read_48mib() {
  ag_start || { fail "could not start qemu-ga"; return 0; }
  head -c 50331648 /dev/urandom >"$T/big"
  ag_file_open "$T/big" || return 0

  # A 64 MiB reply, well under the default --max-size of 128M.
  run_q --qga -s "$AG_SOCK" -t 60 -c guest-file-read \
    -a "{\"handle\": $AG_HANDLE, \"count\": 50331648}"
  assert_ok "48 MiB guest-file-read"
  # One jq pass over the 64 MiB: the check, then the data.
  local ok=
  {
    read -r ok
    base64 -d >"$T/decoded" 2>"$T/b64.err"
  } < <(jq -r '(.count == 50331648 and keys == ["buf-b64", "count", "eof"]),
    .["buf-b64"]' "$T/out" 2>"$T/jq.err")
  assertEquals "48 MiB guest-file-read: count and keys; $(cat "$T/jq.err")" true "$ok"
  assert_that "48 MiB guest-file-read: decoded buf-b64 must equal the file ($(wc -c <"$T/decoded") bytes decoded; $(cat "$T/b64.err"))" \
    cmp -s "$T/big" "$T/decoded"
  rm -f "$T/decoded"

  run_q --qga -s "$AG_SOCK" -t 10 -c guest-file-close -a "{\"handle\": $AG_HANDLE}"
  assert_ok "guest-file-close"

  # A read over --max-size 1M: a protocol error naming the option.  (2 MiB,
  # not 48: the check is the same, and the agent needs ~2 s to encode 48 MiB
  # before it sends a byte.)
  ag_file_open "$T/big" || return 0
  run_q --qga -s "$AG_SOCK" -t 60 --max-size 1M -c guest-file-read \
    -a "{\"handle\": $AG_HANDLE, \"count\": 2097152}"
  assert_fails 7 '--max-size' "48 MiB read with --max-size 1M"
  assert_err_line '1048576' "48 MiB read with --max-size 1M"
  rm -f "$T/big" "$T/out"
}

test_agent_errors() {
  ag_start || { fail "could not start qemu-ga"; return 0; }
  # A blocked command: the agent refuses it without acting.  No arguments,
  # so even an enabled guest-exec could not run anything.
  run_q --qga -s "$AG_SOCK" -t 10 -c guest-exec -a '{}'
  assert_cmd_error CommandNotFound "blocked guest-exec"
  assert_jq ".desc == \"$(QGA_BIN=$AG_BIN qga_disabled_desc guest-exec)\"" "blocked guest-exec"

  run_q --qga -s "$AG_SOCK" -t 10 -c guest-no-such-command
  assert_cmd_error CommandNotFound "unknown command"

  # The agent has no capabilities negotiation.
  run_q --qga -s "$AG_SOCK" -t 10 -c qmp_capabilities
  assert_cmd_error CommandNotFound "qmp_capabilities"

  run_q --qga -s "$AG_SOCK" -t 10 -c guest-file-read -a '{"handle": 999999, "count": 1}'
  assert_cmd_error GenericError "guest-file-read of an unknown handle"

  # The agent still answers.
  run_q --qga -s "$AG_SOCK" -t 10 -c guest-ping
  assert_ok "guest-ping after the errors"
}

test_agent_sync_commands_by_hand() {
  # guest-sync and guest-sync-delimited are ordinary (read-only) commands
  # too.  The agent puts its 0xFF sentinel before the reply of
  # guest-sync-delimited, also when the user sends it.
  ag_start || { fail "could not start qemu-ga"; return 0; }
  run_q --qga -s "$AG_SOCK" -t 10 -c guest-sync -a '{"id": 4242}'
  assert_ok "guest-sync by hand"
  assertEquals "guest-sync by hand; $(ctx)" '4242' "$(cat "$T/out")"

  run_q --qga -s "$AG_SOCK" -t 10 -c guest-sync-delimited -a '{"id": 4243}'
  assert_ok "guest-sync-delimited by hand"
  assertEquals "guest-sync-delimited by hand; $(ctx)" '4243' "$(cat "$T/out")"
}

test_agent_stale_partial_command() {
  ag_start || { fail "could not start qemu-ga"; return 0; }
  # Round 1: an earlier client sends half a command and goes away without
  # reading.  Round 2: a whole command, then half of one; this client
  # reads until the agent hangs up, since qemu-ga 7.2 (unix-listen) exits
  # when a client leaves before its reply is read (see the top).
  local i
  for i in 1 2; do
    if [[ $i == 1 ]]; then
      printf '{"execute":"guest-ping"' |
        timeout -k 2 "$(lim 5)" socat -u - "UNIX-CONNECT:$AG_SOCK" >/dev/null 2>"$T/socat.err"
    else
      printf '{"execute":"guest-info"}{"execute":"guest-ping"' |
        timeout -k 2 "$(lim 5)" socat -t 5 - "UNIX-CONNECT:$AG_SOCK" >"$T/stale.out" 2>"$T/socat.err"
    fi
    assertEquals "round $i: the stale client must have sent its bytes: $(cat "$T/socat.err")" \
      0 "$?"
    run_q --qga -s "$AG_SOCK" -t 10 -c guest-ping
    assert_ok "round $i: guest-ping after a client left half a command"
    assertEquals "round $i: exactly the ping's reply, nothing stale; $(ctx)" \
      '{}' "$(cat "$T/out")"
  done
  assert_that "round 2: the stale client got the guest-info reply" \
    _jq_true '.return.version | type == "string"' "$T/stale.out"
  assert_that "qemu-ga must still run" pid_alive "$AG_PID"
}

test_agent_against_qemu_monitor() {
  # A QEMU monitor greets where an agent stays quiet, and never sends the
  # 0xFF sentinel: qmpctl recognises the greeting and stops at once with
  # status 4, instead of waiting until -t.
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  # -t 30: waiting for it is far over the bound below, even on a busy
  # machine.
  prompt_begin
  run_q --qga -s "$QEMU_SOCK" -t 30 -c guest-ping
  prompt_end
  assert_fails 4 'QEMU monitor, not a guest agent' "--qga against a QEMU monitor"
  assert_prompt "it must not wait for -t 30" 0 2500

  run_q -s "$QEMU_SOCK" -t 10 -c query-status
  assert_ok "QEMU still answers a QMP client afterwards"
  assert_jq '.status == "running"' "QEMU still answers afterwards"
}

test_agent_usage_errors() {
  ag_trap || { fail "fake peer did not start"; return 0; }
  local s=$T/trap.sock
  run_q --qga -s "$s" -t 5 --greeting -c guest-ping
  assert_fails 2 'greeting' "--qga --greeting"
  run_q --qga -s "$s" -t 5 --greeting </dev/null
  assert_fails 2 'greeting' "--qga --greeting without -c"
  run_q --qga -s "$s" -t 5 --oob -c guest-ping
  assert_fails 2 'oob' "--qga --oob"
  run_q --qga -s "$s" -t 5 --hmp 'info status'
  assert_fails 2 'hmp' "--qga --hmp"
  assert_that "usage errors must not connect (the peer ended)" pid_alive "$AG_TRAP_PID"
  assertEquals "usage errors must send nothing" "" "$(cat "$T/trap.recv" 2>/dev/null)"

  run_q --qga -s "$T/no-agent.sock" -t 5 -c guest-ping
  assert_fails 3 'no-agent\.sock' "--qga, no agent"
}

. shunit2
