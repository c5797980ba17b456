#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_peers.sh -- qmpctl's ways of reaching a peer, against a real
# QEMU 7.2 (qemu-system-x86_64 -machine none) and the scripted fake peer:
# --listen (QEMU connects to us), --pass-fd, --hmp, --oob, --greeting,
# vsock addresses, and the guest agent's sync and silent close (fake peer).
# Run from the project root:  bash tests/test_peers.sh [-- testName...]
#
# Facts checked by hand against QEMU 7.2.22 (-machine none):
#   -chardev socket,id=m,path=P,reconnect=1 -mon chardev=m,mode=control
#       connects out to a listening client, retrying every second
#   add-fd: {"fd": 12, "fdset-id": 0}; the fdset, having no user, is gone
#       once the client disconnects (the next client's query-fdsets is [])
#   getfd: the named fd belongs to the monitor and survives the disconnect
#       until closefd; with two fds in one message QEMU keeps the first and
#       closes the second
#   getfd without SCM_RIGHTS: GenericError "No file descriptor supplied via
#       SCM_RIGHTS"
#   human-monitor-command "info status": "VM status: running\r\n"; "stop"
#       answers ""; an unknown HMP command is a successful reply whose text
#       says "unknown command: ..."
#   exec-oob query-yank: [{"type": "chardev", "id": "compat_monitor0"}];
#       exec-oob query-status: GenericError "The command query-status does
#       not support OOB"
#   vsock: this machine (a VM) has /dev/vsock; connecting to the host (CID
#       2) on a port nobody serves is reset at once (ECONNRESET).  There is
#       no vsock loopback here, so no vsock peer could be served.

# shellcheck source=tests/lib.sh disable=SC2016  # $ID, $ARGSID are the fake peer's, jq's $vars are jq's
. tests/lib.sh

oneTimeSetUp() {
  require_built "$QMPCTL" make
  require_built "$FAKEPEER" "make tests/fakepeer"
  # The greeting must give the major version that --version shows.
  QMAJOR=$(bin_version "$QEMU_BIN")
  QMAJOR=${QMAJOR%%.*}
}

# ---------------------------------------------------------------- helpers

# pe_vm: start a QEMU with its QMP monitor on $T/vm.sock.  Sets PE_VM_PID
# and PE_VM_SOCK.
pe_vm() {
  rm -f "$T/vm.sock"
  start_qemu vm || return 1
  PE_VM_PID=$QEMU_PID
  PE_VM_SOCK=$QEMU_SOCK
}

# pe_bg ARGS...: run "$QMPCTL" ARGS in the background (its own -t bounds
# it; it is tracked, so tearDown kills it at worst), stdout to $T/out and
# stderr to $T/err.  Sets PE_QPID.
pe_bg() {
  : >"$T/out"
  "$QMPCTL" "$@" >"$T/out" 2>"$T/err" </dev/null &
  PE_QPID=$!
  track_pid "$PE_QPID"
}

# pe_bg_wait [SECONDS]: wait (default 15 s) for the pe_bg client; its exit
# status goes to $rc ("hung" if it did not end).
pe_bg_wait() {
  if wait_exit "$PE_QPID" "${1:-15}"; then
    rc=$exit_status
  else
    rc=hung
  fi
}

_pe_peer_ready() { [[ -s $1 ]] || ! pid_alive "$2"; }

# pe_peer NAME LINE...: start the fake peer on the unix socket $T/NAME.sock
# with the script LINEs, logging what it receives to $T/NAME.recv, and wait
# until it listens.  Sets PE_PEER_PID and PE_SOCK.
pe_peer() {
  local name=$1
  shift
  printf '%s\n' "$@" >"$T/$name.script"
  rm -f "$T/$name.pidf" "$T/$name.recv"
  "$FAKEPEER" -u "$T/$name.sock" -r "$T/$name.recv" -P "$T/$name.pidf" \
    -T "$PEER_LIFE" "$T/$name.script" 2>"$T/$name.peer-err" </dev/null &
  PE_PEER_PID=$!
  track_pid "$PE_PEER_PID"
  PE_SOCK=$T/$name.sock
  wait_until 5 _pe_peer_ready "$T/$name.pidf" "$PE_PEER_PID" &&
    [[ -S $PE_SOCK ]] && pid_alive "$PE_PEER_PID"
}

# pe_peer_exit NAME [WHAT]: the fake peer ended, with status 0.
pe_peer_exit() {
  assert_that "${2:+$2: }the fake peer must end" wait_exit "$PE_PEER_PID" 5
  assertEquals "${2:+$2: }fake peer exit status; its stderr: $(cat "$T/$1.peer-err")" \
    0 "$exit_status"
}

# pe_not_connected NAME [WHAT]: the fake peer is still waiting for a
# client and received nothing: qmpctl never connected.
pe_not_connected() {
  assert_that "${2:+$2: }qmpctl must not have connected (the peer ended)" \
    pid_alive "$PE_PEER_PID"
  assertEquals "${2:+$2: }bytes received by the peer" "" "$(cat "$T/$1.recv" 2>/dev/null)"
}

# pe_recv_jq NAME FILTER [WHAT]: FILTER, run on the array of the JSON
# values the peer received (after a leading 0xFF, if any), gives true.
pe_recv_jq() {
  local got
  if [[ $(head -c 1 "$T/$1.recv" | od -An -tx1 | tr -d ' \n') == ff ]]; then
    got=$(tail -c +2 "$T/$1.recv" | jq -cs "$2" 2>&1)
  else
    got=$(jq -cs "$2" "$T/$1.recv" 2>&1)
  fi
  assertEquals "${3:+$3: }jq '$2' on what the peer received: [$(cat -v "$T/$1.recv")]" \
    true "$got"
}

# pe_first_byte_ff NAME [WHAT]: the peer's first received byte is 0xFF.
pe_first_byte_ff() {
  assertEquals "${2:+$2: }first byte sent must be 0xff" "ff" \
    "$(head -c 1 "$T/$1.recv" | od -An -tx1 | tr -d ' \n')"
}

# pe_bytes WANT-PRINTF-FORMAT [WHAT]: stdout is exactly these bytes.
pe_bytes() {
  # shellcheck disable=SC2059
  printf "$1" >"$T/want"
  assert_that "${2:+$2: }stdout bytes: want [$(od -An -c "$T/want")] got [$(od -An -c "$T/out")]; $(ctx)" \
    cmp -s "$T/want" "$T/out"
}

# ---------------------------------------------------------------- --listen

test_listen_unix() {
  local sock=$T/l.sock
  # $QMP_SOCKET names a client address: --listen does not mind it.
  QMP_SOCKET=$T/elsewhere.sock pe_bg --listen "unix:$sock" -t 10 -c query-status
  assert_that "qmpctl --listen must create $sock" wait_for "$sock" 5
  assertTrue "$sock must be a socket" "[ -S '$sock' ]"
  spawn_qemu lq -chardev "socket,id=m,path=$sock,reconnect=1" \
    -mon chardev=m,mode=control
  pe_bg_wait 15
  assert_ok "--listen unix"
  assert_jq '.status == "running" and .running == true' "--listen unix"
  assert_compact "--listen unix"
  assertFalse "the listening socket file must be gone afterwards" "[ -e '$sock' ]"
}

test_listen_unix_with_pass_fd() {
  # fd passing over an accepted connection.
  local sock=$T/lf.sock
  echo data >"$T/file"
  pe_bg --listen "$sock" -t 10 --pass-fd 3 -c getfd -a '{"fdname":"lf0"}' 3<"$T/file"
  assert_that "qmpctl --listen must create $sock" wait_for "$sock" 5
  spawn_qemu lfq -chardev "socket,id=m,path=$sock,reconnect=1" \
    -mon chardev=m,mode=control
  local qpid=$QEMU_PID
  pe_bg_wait 15
  assert_ok "--listen with --pass-fd"
  assertEquals "--listen with --pass-fd; $(ctx)" '{}' "$(cat "$T/out")"
  assert_that "QEMU must hold $T/file after getfd" pe_holds "$qpid" "$T/file"
  assertFalse "the listening socket file must be gone afterwards" "[ -e '$sock' ]"
}

test_listen_nobody_connects() {
  local sock=$T/nobody.sock ms
  prompt_begin
  run_q --listen "unix:$sock" -t 0.5 -c query-status
  prompt_end; ms=$PROMPT_MS
  assert_fails 8 'nobody\.sock.*timed out' "--listen, nobody connects"
  assert_prompt "-t 0.5 must end the run" 500 2500
  assertTrue "-t 0.5 must not end before 0.45 s, took ${ms} ms" "[ $ms -ge 450 ]"
  assertFalse "the socket file must be removed on timeout" "[ -e '$sock' ]"
}

test_listen_interrupted() {
  local sock=$T/sig.sock
  pe_bg --listen "unix:$sock" -t 10 -c query-status
  assert_that "qmpctl --listen must create $sock" wait_for "$sock" 5
  kill -TERM "$PE_QPID"
  pe_bg_wait 5
  assert_fails 143 'interrupted' "--listen, SIGTERM while waiting"
  assertFalse "the socket file must be removed on SIGTERM" "[ -e '$sock' ]"
}

test_listen_path_taken() {
  # A file already at the path: cannot listen (3), and it is not removed.
  echo keep >"$T/taken"
  run_q --listen "$T/taken" -t 5 -c query-status
  assert_fails 3 'taken.*[Aa]ddress already in use' "--listen on an existing file"
  assertEquals "--listen must not remove a file it did not create" keep "$(cat "$T/taken" 2>/dev/null)"

  run_q --listen "$T/no-such-dir/l.sock" -t 5 -c query-status
  assert_fails 3 'no-such-dir/l\.sock' "--listen in a missing directory"
}

test_listen_tcp() {
  local port _try
  for _try in 1 2 3 4 5; do
    port=$(free_port 127.0.0.1)
    pe_bg --listen "127.0.0.1:$port" -t 10 -c query-status
    wait_listen "$PE_QPID" "$port" 5 && break
    pe_bg_wait 5    # lost the port race: it failed with 3; try again
    port=
  done
  assertNotNull "qmpctl --listen must listen on a free port" "$port"
  [[ -n $port ]] || return 0
  spawn_qemu ltq -chardev "socket,id=m,host=127.0.0.1,port=$port,reconnect=1" \
    -mon chardev=m,mode=control
  pe_bg_wait 15
  assert_ok "--listen tcp"
  assert_jq '.status == "running"' "--listen tcp"
  assertFalse "nothing must listen on $port afterwards" \
    "ss -ltnH 'sport = :$port' | grep -q ."
}

test_listen_usage_errors() {
  run_q -s "$T/x.sock" --listen "unix:$T/u.sock" -t 5 -c query-status
  assert_fails 2 '' "-s with --listen"
  run_q --listen "unix:$T/u.sock" --wait 1 -t 5 -c query-status
  assert_fails 2 '' "--listen with --wait"
  run_q --listen vsock:2:1234 -t 5 -c query-status
  assert_fails 2 'vsock' "--listen vsock:2:1234"
  run_q -t 5 --listen
  assert_fails 2 '' "--listen without a value"
  assertFalse "a usage error must not create the socket" "[ -e '$T/u.sock' ]"
}

# ---------------------------------------------------------------- --pass-fd

# pe_holds PID FILE: process PID has a descriptor open on FILE.
pe_holds() {
  local l
  for l in /proc/"$1"/fd/*; do
    [[ $(readlink "$l" 2>/dev/null) == "$2" ]] && return 0
  done
  return 1
}

test_pass_fd_add_fd() {
  pe_vm || { fail "could not start QEMU"; return 0; }
  echo data >"$T/file"
  run_q -s "$PE_VM_SOCK" -t 10 -c add-fd --pass-fd 3 3<"$T/file"
  assert_ok "add-fd --pass-fd 3"
  assert_jq '(.fd | type == "number") and (.["fdset-id"] | type == "number")' "add-fd"
  assert_jq 'keys == ["fd", "fdset-id"]' "add-fd"
  cp "$T/out" "$T/add"

  # QEMU 7.2 drops an fdset nobody uses when the client that added it
  # disconnects: the next client sees none.  QEMU 9.1 and later keep it
  # until remove-fd (QEMU's "monitor: Stop removing non-duplicated fds",
  # for migration's file: URIs): the next client sees it, and remove-fd
  # from there closes it.
  run_q -s "$PE_VM_SOCK" -t 10 -c query-fdsets
  assert_ok "query-fdsets in the next connection"
  if qemu_at_least 9.1; then
    assert_jq 'length == 1 and .[0].fds[0].fd == '"$(jq .fd "$T/add")"'' \
      "QEMU >= 9.1: the fdset outlives the connection"
    assertTrue "QEMU >= 9.1: QEMU still holds $T/file" "pe_holds $PE_VM_PID '$T/file'"
    run_q -s "$PE_VM_SOCK" -t 10 -c remove-fd fdset-id:="$(jq '.["fdset-id"]' "$T/add")"
    assert_ok "remove-fd in a later connection"
  else
    assertEquals "the unused fdset is gone after the disconnect; $(ctx)" '[]' "$(cat "$T/out")"
  fi
  assertFalse "QEMU must not hold $T/file any more" "pe_holds $PE_VM_PID '$T/file'"
}

test_pass_fd_batch() {
  pe_vm || { fail "could not start QEMU"; return 0; }
  echo data >"$T/file"
  run_q -s "$PE_VM_SOCK" -t 10 --pass-fd 3 3<"$T/file" <<'EOF'
{"execute": "add-fd", "arguments": {"opaque": "pe-file"}}
{"execute": "query-fdsets"}
{"execute": "remove-fd", "arguments": {"fdset-id": 0}}
{"execute": "query-fdsets"}
EOF
  assert_rc 0 "add-fd, query-fdsets, remove-fd in one batch"
  assert_no_stderr "batch"
  assertEquals "batch: 4 lines; $(ctx)" 4 "$(wc -l <"$T/out")"
  local got
  got=$(jq -cs '(.[0] | has("fd") and .["fdset-id"] == 0)
    and .[1] == [{"fds": [{"fd": .[0].fd, "opaque": "pe-file"}], "fdset-id": 0}]
    and .[2] == {} and .[3] == []' "$T/out" 2>&1)
  assertEquals "batch results; $(ctx)" true "$got"
}

test_pass_fd_getfd_closefd() {
  pe_vm || { fail "could not start QEMU"; return 0; }
  echo data >"$T/file"
  run_q -s "$PE_VM_SOCK" -t 10 --pass-fd 3 3<"$T/file" <<'EOF'
{"execute": "getfd", "arguments": {"fdname": "f0"}}
{"execute": "closefd", "arguments": {"fdname": "f0"}}
EOF
  assert_rc 0 "getfd then closefd"
  assert_no_stderr "getfd then closefd"
  assertEquals "getfd then closefd; $(ctx)" "$(printf '{}\n{}')" "$(cat "$T/out")"
  assertFalse "after closefd QEMU must not hold $T/file" "pe_holds $PE_VM_PID '$T/file'"

  run_q -s "$PE_VM_SOCK" -t 10 -c closefd -a '{"fdname": "f0"}'
  assert_cmd_error GenericError "closefd of a closed name"

  # A named fd belongs to the monitor: it survives the disconnect.
  run_q -s "$PE_VM_SOCK" -t 10 -c getfd -a '{"fdname": "f1"}' --pass-fd 3 3<"$T/file"
  assert_ok "getfd f1"
  assertEquals "getfd f1; $(ctx)" '{}' "$(cat "$T/out")"
  assert_that "QEMU must hold $T/file after getfd" pe_holds "$PE_VM_PID" "$T/file"
  run_q -s "$PE_VM_SOCK" -t 10 -c closefd -a '{"fdname": "f1"}'
  assert_ok "closefd f1 in another connection"
  assertEquals "closefd f1; $(ctx)" '{}' "$(cat "$T/out")"
}

test_pass_fd_two_descriptors() {
  # getfd takes one descriptor; given two, QEMU 7.2 keeps the first and
  # closes the other.  qmpctl passes both and reports success.
  pe_vm || { fail "could not start QEMU"; return 0; }
  echo A >"$T/A"
  echo B >"$T/B"
  run_q -s "$PE_VM_SOCK" -t 10 -c getfd -a '{"fdname": "two"}' \
    --pass-fd 3 --pass-fd 4 3<"$T/A" 4<"$T/B"
  assert_ok "getfd with two --pass-fd"
  assertEquals "getfd with two --pass-fd; $(ctx)" '{}' "$(cat "$T/out")"
  assert_that "QEMU keeps the first descriptor" pe_holds "$PE_VM_PID" "$T/A"
  assertFalse "QEMU closed the second descriptor" "pe_holds $PE_VM_PID '$T/B'"
}

test_pass_fd_bad_descriptor() {
  pe_peer bad greet negotiate expect 'send {"return": {}, "id": $ID}\r\n' ||
    { fail "fake peer did not start"; return 0; }
  run_q -s "$PE_SOCK" -t 5 -c getfd -a '{"fdname": "x"}' --pass-fd 9 9<&-
  assert_fails 9 '^qmpctl: --pass-fd 9: Bad file descriptor$' "--pass-fd 9, not open"
  run_q -s "$PE_SOCK" -t 5 -c getfd -a '{"fdname": "x"}' --pass-fd 0 --pass-fd 9 9<&- </dev/null
  assert_fails 9 '^qmpctl: --pass-fd 9: Bad file descriptor$' "--pass-fd 0 --pass-fd 9"
  pe_not_connected bad "a bad --pass-fd"
}

test_pass_fd_closed_low_descriptor() {
  # Descriptors 3 and 4, closed in the caller, must be refused like any
  # other closed one, and not be mistaken for descriptors qmpctl opened
  # for itself (its signal pipe takes the lowest free numbers).
  local n
  for n in 3 4; do
    pe_peer "low$n" greet negotiate expect 'send {"return": {}, "id": $ID}\r\n' ||
      { fail "fake peer did not start"; return 0; }
    run_q -s "$PE_SOCK" -t 5 -c getfd -a '{"fdname": "x"}' --pass-fd "$n" 3<&- 4<&-
    assert_fails 9 "^qmpctl: --pass-fd $n: Bad file descriptor\$" "--pass-fd $n, not open"
    pe_not_connected "low$n" "--pass-fd $n, not open"
  done
}

test_pass_fd_usage_errors() {
  pe_peer use greet negotiate expect 'send {"return": {}, "id": $ID}\r\n' ||
    { fail "fake peer did not start"; return 0; }
  local port
  port=$(free_port 127.0.0.1)
  run_q -s "127.0.0.1:$port" -t 5 -c getfd -a '{"fdname": "x"}' --pass-fd 0 </dev/null
  assert_fails 2 'unix' "--pass-fd on a tcp address"
  run_q -s "vsock:2:1234" -t 5 -c getfd -a '{"fdname": "x"}' --pass-fd 0 </dev/null
  assert_fails 2 'unix' "--pass-fd on a vsock address"
  run_q -s "$PE_SOCK" -t 5 -c getfd --pass-fd -1
  assert_fails 2 'pass-fd' "--pass-fd -1"
  run_q -s "$PE_SOCK" -t 5 -c getfd --pass-fd x
  assert_fails 2 'pass-fd' "--pass-fd x"
  pe_not_connected use "--pass-fd usage errors"
}

test_getfd_without_descriptor() {
  pe_vm || { fail "could not start QEMU"; return 0; }
  run_q -s "$PE_VM_SOCK" -t 10 -c getfd -a '{"fdname": "nofd"}'
  assert_cmd_error GenericError "getfd without --pass-fd"
  assert_jq '.desc | test("SCM_RIGHTS")' "getfd without --pass-fd"
}

test_pass_fd_command_bytes() {
  # With --pass-fd the command's bytes are the usual ones (the fake peer
  # reads with read(), so the descriptor itself is dropped unseen; QEMU
  # taking it is checked above).
  pe_peer fd1 greet negotiate expect 'send {"return": {}, "id": $ID}\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  echo data >"$T/file"
  run_q -s "$PE_SOCK" -t 5 -c getfd -a '{"fdname": "p"}' --pass-fd 3 3<"$T/file"
  assert_ok "--pass-fd to the fake peer"
  pe_peer_exit fd1 "--pass-fd to the fake peer"
  pe_recv_jq fd1 'length == 2 and .[1] == {"execute": "getfd", "arguments": {"fdname": "p"}}' \
    "--pass-fd to the fake peer"
}

# ---------------------------------------------------------------- --hmp

test_hmp_info_status() {
  pe_vm || { fail "could not start QEMU"; return 0; }
  run_q -s "$PE_VM_SOCK" -t 10 --hmp 'info status'
  assert_rc 0 "--hmp 'info status'"
  assert_no_stderr "--hmp 'info status'"
  pe_bytes 'VM status: running\r\n' "--hmp 'info status'"

  # The text is printed as it came: "stop" answers an empty string.
  run_q -s "$PE_VM_SOCK" -t 10 --hmp stop
  assert_rc 0 "--hmp stop"
  assert_no_stderr "--hmp stop"
  pe_bytes '' "--hmp stop"

  run_q -s "$PE_VM_SOCK" -t 10 --hmp 'info status'
  assert_rc 0 "--hmp 'info status' after stop"
  pe_bytes 'VM status: paused\r\n' "--hmp 'info status' after stop"

  # -r changes nothing; --full shows the reply object.
  run_q -s "$PE_VM_SOCK" -t 10 --hmp 'info status' -r
  assert_rc 0 "--hmp -r"
  pe_bytes 'VM status: paused\r\n' "--hmp -r"
  run_q -s "$PE_VM_SOCK" -t 10 --hmp 'info status' --full
  assert_ok "--hmp --full"
  assert_jq '. == {"return": "VM status: paused\r\n"}' "--hmp --full: no id in lockstep"

  run_q_to /dev/full -s "$PE_VM_SOCK" -t 10 --hmp 'info status'
  assert_rc 9 "--hmp >/dev/full"
  assert_err_line 'stdout' "--hmp >/dev/full"
}

test_hmp_unknown_command() {
  # HMP reports its errors in the text of a successful QMP reply: qmpctl
  # cannot tell, and exits 0.
  pe_vm || { fail "could not start QEMU"; return 0; }
  run_q -s "$PE_VM_SOCK" -t 10 --hmp 'info no-such-thing'
  assert_rc 0 "--hmp 'info no-such-thing'"
  assert_no_stderr "--hmp 'info no-such-thing'"
  pe_bytes "unknown command: 'info no-such-thing'\\r\\n" "--hmp 'info no-such-thing'"
}

test_hmp_usage_errors() {
  pe_peer hmp greet negotiate expect 'send {"return": "", "id": $ID}\r\n' ||
    { fail "fake peer did not start"; return 0; }
  run_q -s "$PE_SOCK" -t 5 --hmp 'info status' -c query-status
  assert_fails 2 'hmp' "--hmp with -c"
  run_q -s "$PE_SOCK" -t 5 --hmp 'info status' -a '{}'
  assert_fails 2 '' "--hmp with -a"
  run_q -s "$PE_SOCK" -t 5 --hmp
  assert_fails 2 '' "--hmp without a value"
  pe_not_connected hmp "--hmp usage errors"
}

test_hmp_sends_human_monitor_command() {
  pe_peer hmps greet negotiate expect 'send {"return": "out\\r\\n", "id": $ID}\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q -s "$PE_SOCK" -t 5 --hmp 'info "x"'
  assert_rc 0 "--hmp to the fake peer"
  assert_no_stderr "--hmp to the fake peer"
  pe_bytes 'out\r\n' "--hmp to the fake peer"
  pe_peer_exit hmps "--hmp to the fake peer"
  pe_recv_jq hmps '.[1].execute == "human-monitor-command" and .[1].arguments == {"command-line": "info \"x\""}' \
    "--hmp to the fake peer"
}

# ---------------------------------------------------------------- --oob

test_oob_query_yank() {
  pe_vm || { fail "could not start QEMU"; return 0; }
  run_q -s "$PE_VM_SOCK" -t 10 --oob -c query-yank
  assert_ok "--oob query-yank"
  assert_jq 'type == "array" and length >= 1' "--oob query-yank"
  assert_jq 'any(.[]; .type == "chardev")' "--oob query-yank"

  run_q -s "$PE_VM_SOCK" -t 10 --oob -c query-yank --full
  assert_ok "--oob query-yank --full"
  assert_jq '(.return | type == "array") and (.id | type == "number")' "--oob --full"

  # A command that does not allow oob: the server's error.
  run_q -s "$PE_VM_SOCK" -t 10 --oob -c query-status
  assert_cmd_error GenericError "--oob query-status"
  assert_jq '.desc | test("OOB")' "--oob query-status"
}

test_oob_what_is_sent() {
  pe_peer oob greet negotiate expect 'send {"return": [], "id": $ID}\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q -s "$PE_SOCK" -t 5 --oob -c query-yank
  assert_ok "--oob to the fake peer"
  assertEquals "--oob to the fake peer; $(ctx)" '[]' "$(cat "$T/out")"
  pe_peer_exit oob "--oob to the fake peer"
  pe_recv_jq oob 'length == 2
    and .[0].execute == "qmp_capabilities" and .[0].arguments == {"enable": ["oob"]}
    and .[1]["exec-oob"] == "query-yank" and (.[1] | has("execute") | not)
    and (.[1].id != null)' "--oob to the fake peer"
}

test_oob_not_offered() {
  pe_peer nooob \
    'send {"QMP": {"version": {"qemu": {"micro": 2, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}\r\n' \
    wait_close || { fail "fake peer did not start"; return 0; }
  run_q -s "$PE_SOCK" -t 5 --oob -c query-yank
  assert_fails 5 'oob' "--oob, greeting without oob"
  assert_err_line 'not offer' "--oob, greeting without oob"
  pe_peer_exit nooob "--oob, greeting without oob"
  assertEquals "nothing may be sent, not even qmp_capabilities" "" "$(cat "$T/nooob.recv")"
}

# ---------------------------------------------------------------- --greeting

test_greeting_alone() {
  pe_vm || { fail "could not start QEMU"; return 0; }
  run_q -s "$PE_VM_SOCK" -t 10 --greeting </dev/null
  assert_ok "--greeting"
  assert_jq '.QMP.version.qemu.major == '"$QMAJOR"'' "--greeting"
  assert_jq '.QMP.capabilities == ["oob"]' "--greeting"
  assert_jq 'keys == ["QMP"]' "--greeting"
  assert_compact "--greeting"

  run_q_to /dev/full -s "$PE_VM_SOCK" -t 10 --greeting </dev/null
  assert_rc 9 "--greeting >/dev/full"
  assert_err_line 'stdout' "--greeting >/dev/full"
}

test_greeting_with_command() {
  pe_vm || { fail "could not start QEMU"; return 0; }
  run_q -s "$PE_VM_SOCK" -t 10 --greeting -c query-version
  assert_rc 0 "--greeting -c query-version"
  assert_no_stderr "--greeting -c query-version"
  assertEquals "--greeting -c: two lines; $(ctx)" 2 "$(wc -l <"$T/out")"
  local got
  got=$(jq -cs 'length == 2 and .[0].QMP.version.qemu.major == '"$QMAJOR"'
    and .[1].qemu.major == '"$QMAJOR"' and .[0].QMP.version == .[1]' "$T/out" 2>&1)
  assertEquals "--greeting -c: the greeting, then the return; $(ctx)" true "$got"

  # And with --oob: the greeting offered it, so it is used.
  run_q -s "$PE_VM_SOCK" -t 10 --greeting --oob -c query-yank
  assert_rc 0 "--greeting --oob"
  got=$(jq -cs 'length == 2 and (.[0].QMP.capabilities | index("oob")) != null
    and (.[1] | type == "array")' "$T/out" 2>&1)
  assertEquals "--greeting --oob; $(ctx)" true "$got"
}

# ---------------------------------------------------------------- vsock

test_vsock_addresses() {
  # This machine has no vsock loopback: only the parsing and the connect
  # failure can be checked.  CID 2 is the host; nothing serves the port.
  run_q -s vsock:2:1234 -t 2 -c query-status
  assert_fails 3 '^qmpctl: vsock:2:1234: ' "vsock:2:1234"

  local a
  for a in vsock:x:1 vsock:1 vsock: vsock:1: vsock:4294967296:1 'vsock:1:1 '; do
    run_q -s "$a" -t 2 -c query-status
    assert_fails 2 'vsock:CID:PORT' "address '$a'"
  done
}

# ---------------------------------------------------------------- the agent (fake)

# The fake agent's sync answer: 0xFF, then the return of the id qmpctl put
# in guest-sync-delimited's arguments.
PE_SYNC='send \xff{"return": $ARGSID}\n'

# pe_sent_sync_then NAME CMD [WHAT]: the peer received 0xFF,
# guest-sync-delimited with a numeric arguments.id, then command CMD.
pe_sent_sync_then() {
  pe_first_byte_ff "$1" "$3"
  pe_recv_jq "$1" "length == 2
    and .[0].execute == \"guest-sync-delimited\"
    and (.[0].arguments.id | type == \"number\" and . > 0)
    and (.[0] | has(\"id\") | not)
    and .[1].execute == \"$2\"" "$3"
}

test_qga_silent_close_is_success() {
  local cmd
  for cmd in guest-shutdown guest-suspend-hybrid; do
    pe_peer qs expect "$PE_SYNC" expect close ||
      { fail "fake peer did not start"; return 0; }
    run_q --qga -s "$PE_SOCK" -t 5 -c "$cmd"
    assert_rc 0 "$cmd, closed without a reply"
    assertEquals "$cmd: stdout must be empty; $(ctx)" "" "$(cat "$T/out")"
    assert_err_line "^qmpctl: $cmd: .*closed the connection without a reply" "$cmd"
    pe_peer_exit qs "$cmd"
    pe_sent_sync_then qs "$cmd" "$cmd"
  done
}

test_qga_closed_before_the_command_was_sent() {
  # The agent answers the sync and closes at once; qmpctl is held stopped
  # meanwhile, so guest-shutdown meets a closed socket (EPIPE) and never
  # reaches the agent.  That is no success: the command was lost.
  pe_peer qcb expect 'sleep 500' "$PE_SYNC" close ||
    { fail "fake peer did not start"; return 0; }
  pe_bg --qga -s "$PE_SOCK" -t 10 -c guest-shutdown
  assert_that "the sync must reach the peer" \
    wait_file_match "$T/qcb.recv" 'guest-sync-delimited' 5
  kill -STOP "$PE_QPID"
  assert_that "the peer must answer the sync and close" wait_exit "$PE_PEER_PID" 5
  local peer_rc=$exit_status
  kill -CONT "$PE_QPID"
  pe_bg_wait 15
  assertEquals "fake peer exit status: $(cat "$T/qcb.peer-err")" 0 "$peer_rc"
  pe_recv_jq qcb 'length == 1 and .[0].execute == "guest-sync-delimited"' \
    "the peer closed before guest-shutdown was sent"
  assert_fails 6 'guest-shutdown|[Bb]roken pipe|sending' \
    "guest-shutdown sent after the agent closed"
}

test_qga_trickled_sync_and_reply() {
  # Every byte in its own write: the 0xFF sentinel and the messages split
  # at every possible place.
  pe_peer qtr expect 'trickle 1 {"return": 7}\n\xff{"return": $ARGSID}\n' \
    expect 'trickle 1 {"return": {"ok": "y"}, "id": $ID}\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q --qga -s "$PE_SOCK" -t 10 -c guest-ping
  assert_ok "trickled sync and reply"
  assertEquals "trickled sync and reply; $(ctx)" '{"ok":"y"}' "$(cat "$T/out")"
  pe_peer_exit qtr "trickled"
}

test_qga_close_on_other_command_is_lost() {
  pe_peer qp expect "$PE_SYNC" expect close ||
    { fail "fake peer did not start"; return 0; }
  run_q --qga -s "$PE_SOCK" -t 5 -c guest-ping
  assert_fails 6 'closed' "guest-ping, closed without a reply"
  pe_peer_exit qp "guest-ping"
  pe_sent_sync_then qp guest-ping "guest-ping"
}

test_qga_shutdown_error_reply() {
  # guest-shutdown refused: the error is an error, not a success.
  pe_peer qe expect "$PE_SYNC" expect \
    'send {"error": {"class": "GenericError", "desc": "refused"}, "id": $ID}\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q --qga -s "$PE_SOCK" -t 5 -c guest-shutdown
  assert_cmd_error GenericError "guest-shutdown answered with an error"
  assertEquals "guest-shutdown error; $(ctx)" 'qmpctl: GenericError: refused' "$(cat "$T/err")"
  pe_peer_exit qe "guest-shutdown error"
}

test_qga_close_during_sync() {
  pe_peer qc expect close || { fail "fake peer did not start"; return 0; }
  run_q --qga -s "$PE_SOCK" -t 5 -c guest-shutdown
  assert_fails 4 'guest-sync-delimited' "closed during the sync"
  pe_peer_exit qc "closed during the sync"
  pe_first_byte_ff qc "closed during the sync"
  pe_recv_jq qc 'length == 1 and .[0].execute == "guest-sync-delimited"' "closed during the sync"
}

test_qga_stale_answers_before_sync() {
  # Replies and garbage from an earlier client, a stale sync answer with
  # another id and a stray error, each after its own 0xFF, then the real
  # answer; then a reply to somebody else before ours.
  pe_peer qst expect \
    'send {"return": {}, "id": "old-1"}\ngarbage ]]} "\xff{"return": 1}\n\xff{"error": {"class": "GenericError", "desc": "stale"}}\n\xff{"return": $ARGSID}\n' \
    expect \
    'send {"return": {"stale": true}, "id": "other"}\n{"return": {"v": 1}, "id": $ID}\n' \
    wait_close || { fail "fake peer did not start"; return 0; }
  run_q --qga -s "$PE_SOCK" -t 5 -c guest-info
  assert_ok "stale answers before the sync"
  assertEquals "stale answers before the sync; $(ctx)" '{"v":1}' "$(cat "$T/out")"
  pe_peer_exit qst "stale answers"
  pe_sent_sync_then qst guest-info "stale answers"
}

test_qga_sync_answer_without_sentinel() {
  # Without the 0xFF sentinel the answer is not taken: it could be stale.
  pe_peer qn expect 'send {"return": $ARGSID}\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q --qga -s "$PE_SOCK" -t 0.3 -c guest-ping
  assert_fails 8 'timed out.*guest-sync-delimited' "sync answer without 0xFF"
  pe_peer_exit qn "sync answer without 0xFF"
}

test_qga_no_reply_and_no_close() {
  # guest-suspend-* has no success reply; if the channel stays open (the
  # guest suspended, QEMU still running) qmpctl can only time out.
  pe_peer qh expect "$PE_SYNC" expect wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q --qga -s "$PE_SOCK" -t 0.3 -c guest-suspend-ram
  assert_fails 8 'timed out' "guest-suspend-ram, no reply, no close"
  pe_peer_exit qh "guest-suspend-ram, no reply, no close"
}

. shunit2
