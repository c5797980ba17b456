#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_edges.sh -- behaviours that wrong edits planted in the code
# once got past the whole suite (issue 24), each held here by a test that
# fails when it breaks (tests/mutants.txt plants those edits again):
#
#   --exec: the program's stdout and stderr, each to its own, byte for byte;
#   base64 of every tail length (3k, 3k+1, 3k+2 bytes) for --put and the
#     input of --exec, in one chunk and across chunk boundaries;
#   --get with a small --max-size on a file of many chunks;
#   a unix socket path that holds a colon is a path, not HOST:PORT;
#   the agent's framer after a resync that follows a partial stale message
#     (tests/unit.c, run from here so that make mutate runs it too);
#   --wait-migration when another client cancels the migration.
#
# The held-events cap, numbers whose comparison needs a carry, the
# siblings of --wait-job ID:STATUS and DEL in server text are fault cases:
# tests/faults/event-held-cap-drops-oldest, match-number-carry, job-wait-*,
# reply-error-del.  (Ids with such exponents are past a double's range,
# which QEMU cannot echo: they are refused before sending, see
# usage-id-past-double.)
#
# Run from the project root:  bash tests/test_edges.sh [-- testName...]
# The tests with a real qemu-ga run it as user 65534 (start_exec_agent,
# tests/lib.sh), which needs root; without root they are skipped.

. tests/lib.sh

oneTimeSetUp() {
  local tool
  require_built "${QMPCTL%% *}" make
  require_built "$FAKEPEER" "make tests/fakepeer"
  for tool in jq qemu-ga setpriv base64 flock; do
    command -v "$tool" >/dev/null || { echo "test_edges.sh: $tool not found" >&2; exit 1; }
  done
}

# ed_xa: a qemu-ga with guest-exec and guest-file-write (start_exec_agent),
# once per file; returns 1 (the test skipped) without root.
ed_xa() {
  if [[ $(id -u) != 0 ]]; then
    startSkipping
    return 1
  fi
  if [[ -n ${XA_PID:-} ]] && pid_alive "$XA_PID"; then
    return 0
  fi
  start_exec_agent || { fail "could not start qemu-ga as 65534"; return 1; }
  # One agent for the whole file: not stopped by tearDown.
  untrack_pid "$XA_PID"
  ED_XA_PID=$XA_PID
}

oneTimeTearDown() {
  [[ -n ${ED_XA_PID:-} ]] && { track_pid "$ED_XA_PID"; ED_XA_PID=; }
  lib_cleanup
}

# xq ARGS...: run_q --qga against that agent.
xq() { run_q --qga -s "$XA_SOCK" "$@"; }

# ed_peer_at PATH LINE...: a fake peer with the script LINEs on the unix
# socket PATH (its folder made); waits for its pidfile.  Sets PEER_PID,
# PEER_RECV and PEER_ERR.
ed_peer_at() {
  local path=$1 name=$T/edpeer$(( ++ED_NPEERS ))
  shift
  mkdir -p "${path%/*}"
  PEER_RECV=$name.recv PEER_ERR=$name.err
  printf '%s\n' "$@" >"$name.script"
  "$FAKEPEER" -u "$path" -r "$PEER_RECV" -P "$name.pid" -T "$PEER_LIFE" \
    "$name.script" 2>"$PEER_ERR" &
  PEER_PID=$!
  track_pid "$PEER_PID"
  wait_until 5 _peer_up "$name.pid" "$PEER_PID" && [[ -s $name.pid ]]
}
ED_NPEERS=0

# ---------------------------------------------------------------- --exec

test_exec_streams_apart_byte_exact_fake_agent() {
  # Bytes no text tool keeps: NUL, 0xFF, a trailing empty line.
  printf 'out\n\000\377 1\n\n' >"$T/want.out"
  printf 'err\001\n\n' >"$T/want.err"
  start_fakepeer expect 'send \xff{"return": $ARGSID}\n' \
    expect 'send {"return": {"pid": 7}}\n' \
    expect "send {\"return\": {\"exited\": true, \"exitcode\": 0, \"out-data\": \"$(base64 -w0 <"$T/want.out")\", \"err-data\": \"$(base64 -w0 <"$T/want.err")\"}}\\n" \
    wait_close || { fail "fake peer did not start"; return 0; }
  run_q --qga -s "$PEER_SOCK" -n --exec -- /bin/prog
  assert_rc 0 "--exec, fake agent"
  assert_that "--exec: stdout is out-data, byte for byte; got [$(od -c "$T/out" | head -3)]" \
    cmp -s "$T/want.out" "$T/out"
  assert_that "--exec: stderr is err-data, byte for byte; got [$(od -c "$T/err" | head -3)]" \
    cmp -s "$T/want.err" "$T/err"
  fakepeer_done "--exec, fake agent"
}

test_exec_streams_apart_byte_exact_real_agent() {
  ed_xa || return 0
  printf '#!/bin/sh\n%s\n' \
    "printf 'o1\\n\\000\\377'; printf 'e1\\001\\n\\n' >&2; printf 'o2\\n\\n'; exit 3" \
    >"$XA_DIR/both.sh"
  chmod 755 "$XA_DIR/both.sh"
  printf 'o1\n\000\377o2\n\n' >"$T/want.out"
  printf 'e1\001\n\n' >"$T/want.err"
  xq -n --exec -- "$XA_DIR/both.sh"
  assert_rc 3 "--exec both.sh"
  assert_that "--exec both.sh: stdout byte for byte; got [$(od -c "$T/out" | head -3)]" \
    cmp -s "$T/want.out" "$T/out"
  assert_that "--exec both.sh: stderr byte for byte; got [$(od -c "$T/err" | head -3)]" \
    cmp -s "$T/want.err" "$T/err"
}

# ---------------------------------------------------------------- base64

test_base64_tails_put_and_exec_input() {
  ed_xa || return 0
  local n
  # --put: 3k, 3k+1, 3k+2 bytes in one chunk; then a full chunk of 1 MiB
  # (3k+1) followed by a tail of 2, 3 and 4 bytes in a second one.
  for n in 3000 3001 3002 1048578 1048579 1048580; do
    head -c "$n" /dev/urandom >"$T/in"
    xq -t 30 --put "$XA_DIR/p.bin" <"$T/in"
    assert_ok "--put of $n bytes"
    assert_that "--put of $n bytes: the guest file is the same" cmp -s "$T/in" "$XA_DIR/p.bin"
  done
  rm -f "$XA_DIR/p.bin"
  # --exec input through a pipe: read in pieces of 64 KiB (3k+1) and less.
  for n in 0 1 2 3000 3001 3002 196608 196609 196610; do
    head -c "$n" /dev/urandom >"$T/in"
    xq -t 30 --exec -- /bin/cat < <(cat "$T/in")
    assert_rc 0 "--exec cat of $n bytes"
    assert_no_stderr "--exec cat of $n bytes"
    assert_that "--exec cat of $n bytes: the same bytes back" cmp -s "$T/in" "$T/out"
  done
}

# ---------------------------------------------------------------- --get

test_get_small_max_size_many_chunks() {
  ed_xa || return 0
  # 256K: each guest-file-read asks for less than 192 KiB, so that its
  # reply (base64 and the JSON around it) fits; 1.5 MiB is nine reads.
  head -c 1572865 /dev/urandom >"$XA_DIR/g.bin"
  xq -t 30 --max-size 256K --get "$XA_DIR/g.bin"
  assert_rc 0 "--get --max-size 256K"
  assert_no_stderr "--get --max-size 256K"
  assert_that "--get --max-size 256K: the same bytes" cmp -s "$XA_DIR/g.bin" "$T/out"
  rm -f "$XA_DIR/g.bin"
}

# ---------------------------------------------------------------- addresses

_ed_status_peer() {
  ed_peer_at "$1" greet negotiate expect \
    'send {"return": {"status": "running"}, "id": $ID}\r\n' wait_close
}

test_unix_path_with_colon() {
  local q
  # A colon in a folder's name, and in the file's.
  _ed_status_peer "$T/vm:1/qmp.sock" || { fail "fake peer did not start"; return 0; }
  run_q -s "$T/vm:1/qmp.sock" -c query-status
  assert_ok "a path with vm:1/ in it"
  assert_jq '.status == "running"' "a path with vm:1/ in it"
  fakepeer_done "vm:1/qmp.sock"

  _ed_status_peer "$T/a:b.sock" || { fail "fake peer did not start"; return 0; }
  run_q -s "$T/a:b.sock" -c query-status
  assert_ok "a path ending in a:b.sock"
  fakepeer_done "a:b.sock"

  # Relative: ./a:b.sock from the socket's folder.
  _ed_status_peer "$T/a:b.sock" || { fail "fake peer did not start"; return 0; }
  q=$(realpath "${QMPCTL%% *}")
  (cd "$T" && exec timeout -k 2 "$(lim 20)" "$q" -t 10 -s ./a:b.sock -c query-status) \
    >"$T/out" 2>"$T/err" </dev/null
  rc=$?
  assert_ok "./a:b.sock"
  assert_jq '.status == "running"' "./a:b.sock"
  fakepeer_done "./a:b.sock"
}

# ---------------------------------------------------------------- framer

test_agent_framer_resync_after_partial_stale_message() {
  # tests/unit.c: "agent: resync after a partial stale message", with the
  # rest of the framer's and address parser's tables.  Built here when
  # needed (flock: the two builds of make check run this side by side).
  local st
  flock tests/unit.c make -s tests/unit >"$T/make.out" 2>&1
  st=$?
  assertEquals "make tests/unit: $(cat "$T/make.out")" 0 "$st"
  tests/unit >"$T/unit.out" 2>&1
  st=$?
  assertEquals "tests/unit: $(cat "$T/unit.out")" 0 "$st"
}

# ---------------------------------------------------------------- migration

test_migration_cancelled_elsewhere() {
  # RAM to migrate (64 MiB) at 4 KiB/s: the migration stays active until
  # cancelled.  (A destination that never reads would not do: QEMU's
  # migration thread blocked writing to it stays "cancelling".)
  start_qemu vm -qmp "unix:$T/vm-2.sock,server=on,wait=off" \
    -machine pc -accel tcg -m 64 -S || { fail "could not start QEMU"; return 0; }
  wait_for "$T/vm-2.sock" 5
  local vm=$QEMU_SOCK vm2=$T/vm-2.sock
  run_q -s "$vm" -c migrate-set-parameters max-bandwidth:=4096
  assert_ok "migrate-set-parameters"
  run_q -s "$vm" -c migrate 'uri=exec:cat >/dev/null'
  assert_ok "migrate, slowly"
  run_q -s "$vm" -c query-migrate
  assert_jq '.status == "active"' "the migration is active"

  rm -f "$T/ready"; mkfifo "$T/ready"
  "$QMPCTL" -t 30 -s "$vm" -n --wait-migration --ready-fd 3 \
    >"$T/w.out" 2>"$T/w.err" </dev/null 3>"$T/ready" &
  local w=$!
  track_pid "$w"
  assertEquals "the watcher's readiness line" "[]" \
    "$(timeout "$(lim 10)" bash -c 'IFS= read -r l <"$1" && printf "[%s]" "$l"' _ "$T/ready")"

  # -t 30: ending there would be far over the bound below.
  prompt_begin
  run_q -s "$vm2" -c migrate_cancel
  assert_ok "migrate_cancel on the second monitor"
  assert_that "the watcher must end" wait_exit "$w" 30
  prompt_end
  assertEquals "watcher: status; $(cat "$T/w.err")" 10 "$exit_status"
  assertEquals "watcher: stderr" "qmpctl: migration cancelled" "$(cat "$T/w.err")"
  assert_that "watcher: the cancelled state [$(cat "$T/w.out")]" \
    _jq_true '.status == "cancelled"' "$T/w.out"
  assert_prompt "--wait-migration must end once the migration is cancelled" 0 3000
}

. shunit2
