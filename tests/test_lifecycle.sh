#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_lifecycle.sh -- what happens around --wait-job and
# --wait-migration (--cancel, --cancel-grace, --dismiss, --finalize,
# --progress, --interval, --stall, the terminal line) and --until, against
# real servers: qemu-storage-daemon for block jobs, QEMU 7.2 for
# migrations and --until, qemu-ga for --until on the agent.
# Run from the project root:  bash tests/test_lifecycle.sh [-- testName...]
#
# Facts checked by hand against QEMU 7.2.22:
#   A backup of 16 MiB with "speed": 1 copies its first 64 KiB and then
#     stays at current-progress 65536; job-cancel ends it at once
#     (aborting, BLOCK_JOB_CANCELLED, concluded with "error": "Operation
#     canceled").
#   job-cancel on a "ready" mirror: BLOCK_JOB_CANCELLED; an NBD export of
#     the source stays on the source (job-complete would move it to the
#     target: query-block-exports then names the target).
#   A job with auto-finalize false stops at "pending" until job-finalize.
#   migrate to a unix socket whose peer never reads (-machine pc -m 32
#     -S): "active", ram.transferred stays put once the socket buffer is
#     full; migrate_cancel shuts the socket down: "cancelled" at once.
#   migrate to exec: a program that never reads: migrate_cancel cannot
#     interrupt the write, the migration stays "cancelling" until the
#     program exits.

. tests/lib.sh

QSD_BIN=${QSD_BIN:-qemu-storage-daemon}
QGA_BIN=${QGA_BIN:-$(command -v qemu-ga || echo /usr/sbin/qemu-ga)}

oneTimeSetUp() {
  local tool
  require_built "$QMPCTL" make
  require_built "$FAKEPEER" "make tests/fakepeer"
  for tool in "$QSD_BIN" qemu-img qemu-io jq script "$QGA_BIN"; do
    command -v "$tool" >/dev/null || { echo "test_lifecycle.sh: $tool not found" >&2; exit 1; }
  done
}

# ---------------------------------------------------------------- helpers

# lc_qsd: start_job_qsd (tests/lib.sh: qemu-storage-daemon with two
# monitors and the nodes src, tgt, bad, nul, big and nul16).  Sets QSD_PID,
# QSD_SOCK, QSD2_SOCK and LC_DIR.
lc_qsd() { start_job_qsd test_lifecycle.sh && LC_DIR=$JOB_DIR; }

# lc_vm NAME [ARGS...]: a QEMU with monitors on $VM_SOCK and $VM2_SOCK.
lc_vm() { start_vm2 "$@"; }

# lc_jobs: query-jobs on the second monitor, into $T/jobs.
lc_jobs() {
  timeout -k 2 "$(lim 10)" "$QMPCTL" -t 5 -s "$QSD2_SOCK" -c query-jobs >"$T/jobs" 2>&1 </dev/null
}

# lc_jobs_are FILTER WHAT: jq FILTER is true on query-jobs now.
lc_jobs_are() {
  lc_jobs
  assert_that "$2: query-jobs: jq '$1' on [$(cat "$T/jobs")]" _jq_true "$1" "$T/jobs"
}

# lc_err LINE...: stderr is exactly these lines.
lc_err() {
  assertEquals "stderr; $(ctx)" "$(printf '%s\n' "$@")" "$(cat "$T/err")"
}

# lc_slow ID [KEY=VALUE...]: the operands of a backup of big to nul16
# that crawls (speed 1 byte/s: it stays at 65536 of 16777216).
lc_slow() {
  local id=$1
  shift
  LC_ARGS=(-c blockdev-backup "job-id=$id" device=big target=nul16 sync=full speed:=1 "$@")
}

# lc_bg OUT ARGS...: run qmpctl ARGS in the background, stdout to
# $T/OUT.out, stderr to $T/OUT.err; sets BG_PID (tracked).
lc_bg() {
  local out=$1
  shift
  "$QMPCTL" "$@" >"$T/$out.out" 2>"$T/$out.err" </dev/null &
  BG_PID=$!
  track_pid "$BG_PID"
}

# lc_bg_done RC WHAT: the background qmpctl exits (20 s) with status RC;
# its output becomes $T/out and $T/err for the assertions.
lc_bg_done() {
  assert_that "$2: qmpctl must exit" wait_exit "$BG_PID" 20
  rc=$exit_status
  cp "$T/bg.out" "$T/out"
  cp "$T/bg.err" "$T/err"
  assert_rc "$1" "$2"
}

# lc_started FILE: FILE has at least one line (the wait has started).
lc_started() { [[ -s $1 ]] && [[ $(wc -l <"$1") -ge 1 ]]; }

# ---------------------------------------------------------------- --cancel

test_cancel_on_deadline() {
  lc_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  # Without --cancel (today's behaviour), the job keeps running.
  lc_slow j0
  run_q -t 2 -s "$QSD_SOCK" "${LC_ARGS[@]}" --wait-job j0
  assert_rc 8 "no --cancel"
  lc_err 'qmpctl: timed out waiting for job j0 to reach concluded (it is running)'
  lc_jobs_are 'map(select(.id == "j0")) | .[0].status == "running"' "no --cancel"
  run_q -s "$QSD_SOCK" -c job-cancel id=j0 --wait-job j0
  assert_rc 10 "cancel j0 by hand"

  # With it: cancelled before qmpctl exits, the status still 8.
  lc_slow j1 auto-dismiss:=false
  run_q -t 2 -s "$QSD_SOCK" "${LC_ARGS[@]}" --wait-job j1 --cancel
  assert_rc 8 "--cancel at -t"
  lc_err 'qmpctl: timed out waiting for job j1 to reach concluded (it is running)' \
    'qmpctl: job j1 cancelled'
  assertEquals "stdout: the command's return only; $(ctx)" '{}' "$(cat "$T/out")"
  lc_jobs_are '[.[] | select(.status != "concluded")] == [] and
    (map(select(.id == "j1")) | .[0].error == "Operation canceled")' "--cancel at -t"

  # --dismiss as well: nothing is left.
  lc_slow j2 auto-dismiss:=false
  run_q -t 2 -s "$QSD_SOCK" "${LC_ARGS[@]}" --wait-job j2 --cancel --dismiss
  assert_rc 8 "--cancel --dismiss at -t"
  lc_err 'qmpctl: timed out waiting for job j2 to reach concluded (it is running)' \
    'qmpctl: job j2 cancelled, and dismissed'
  lc_jobs_are 'map(select(.id == "j2")) == []' "--cancel --dismiss at -t"
}

# lc_cancel_signal SIG STATUS: a wait with --cancel ended by SIG, sent
# once its first --progress line shows that the wait has started.
lc_cancel_signal() {
  local sig=$1 status=$2 id=s$1
  lc_slow "$id"
  lc_bg bg -t 20 -s "$QSD_SOCK" "${LC_ARGS[@]}" --wait-job "$id" --cancel \
    --progress "$T/$id.progress"
  assert_that "$sig: the wait must start" wait_until 10 lc_started "$T/$id.progress"
  kill -s "$sig" "$BG_PID"
  lc_bg_done "$status" "SIG$sig"
  lc_err "qmpctl: interrupted waiting for job $id to reach concluded (it is running)" \
    "qmpctl: job $id cancelled"
  lc_jobs_are "map(select(.id == \"$id\")) == []" "SIG$sig, auto-dismissed"
}

test_cancel_on_signals() {
  lc_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  lc_cancel_signal TERM 143
  lc_cancel_signal INT 130
  lc_cancel_signal HUP 129
}

test_cancel_ready_mirror_does_not_pivot() {
  lc_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  # An NBD export of src shows which node serves: a pivot would move it.
  run_q -s "$QSD_SOCK" -c nbd-server-start \
    addr:="{\"type\":\"unix\",\"data\":{\"path\":\"$LC_DIR/nbd.sock\"}}"
  assert_ok "nbd-server-start"
  run_q -s "$QSD_SOCK" -c block-export-add type=nbd id=e1 node-name=src
  assert_ok "block-export-add"
  run_q -s "$QSD_SOCK" -c blockdev-mirror job-id=m1 device=src target=tgt \
    sync=full --wait-job m1:ready
  assert_rc 0 "mirror to ready"
  # Ready, it waits for job-complete: --stall does not count that time.
  run_q -t 1 -s "$QSD_SOCK" -n --wait-job m1 --cancel --events "$T/events" --stall 0.3
  assert_rc 8 "ready mirror, --cancel"
  lc_err 'qmpctl: timed out waiting for job m1 to reach concluded (it is ready)' \
    'qmpctl: job m1 cancelled'
  assert_that "BLOCK_JOB_CANCELLED came for m1: [$(cat "$T/events")]" \
    grep -q '"event":"BLOCK_JOB_CANCELLED".*"device":"m1"' "$T/events"
  lc_jobs_are '. == []' "ready mirror, --cancel"
  run_q -s "$QSD_SOCK" -c query-block-exports
  assert_jq '.[0].id == "e1" and .[0]."node-name" == "src"' "the export stays on the source"
}

test_cancel_grace_runs_out() {
  # A migration to a program that never reads cannot be cancelled until
  # the program exits: it stays "cancelling".
  lc_vm lcg -machine pc -accel tcg -m 32 -S || { fail "could not start QEMU"; return 0; }
  local pidf=$T/dst.pid
  run_q -t 20 -s "$VM_SOCK" -c migrate "uri=exec:echo \$\$ >$pidf; exec sleep 30" \
    --wait-migration --stall 1 --cancel --cancel-grace 1
  [[ -s $pidf ]] && track_pid "$(cat "$pidf")"
  assert_rc 8 "migration that cannot be cancelled"
  assert_that "first line: the stall; $(ctx)" \
    grep -qE '^qmpctl: the migration made no progress for 1 s \(it is active, at [0-9]+\)$' "$T/err"
  assertEquals "second line: the grace ran out; $(ctx)" \
    'qmpctl: migration did not stop within 1 s of migrate_cancel (it is cancelling)' \
    "$(sed -n 2p "$T/err")"
  assertEquals "two lines on stderr; $(ctx)" 2 "$(wc -l <"$T/err")"
}

test_second_signal_ends_the_grace() {
  lc_vm lcs -machine pc -accel tcg -m 32 -S || { fail "could not start QEMU"; return 0; }
  local pidf=$T/dst.pid
  lc_bg bg -t 60 -s "$VM_SOCK" -c migrate "uri=exec:echo \$\$ >$pidf; exec sleep 30" \
    --wait-migration --cancel --cancel-grace 30 --progress "$T/m.progress"
  assert_that "the wait must start" wait_until 10 lc_started "$T/m.progress"
  assert_that "the destination must start" wait_until 10 lc_started "$pidf"
  track_pid "$(cat "$pidf")"
  kill -TERM "$BG_PID"
  # The grace has started once the first signal was reported.
  assert_that "the first signal must be reported" \
    wait_file_match "$T/bg.err" '^qmpctl: interrupted waiting for the migration' 10
  kill -INT "$BG_PID"
  # Promptness, compared with the grace: exit long before its 30 s.
  assert_that "a second signal must end qmpctl long before the grace" wait_exit "$BG_PID" 15
  rc=$exit_status
  cp "$T/bg.out" "$T/out"; cp "$T/bg.err" "$T/err"
  assert_rc 143 "second signal"
  assertEquals "first line; $(ctx)" \
    'qmpctl: interrupted waiting for the migration to end (it is active)' "$(sed -n 1p "$T/err")"
  # The status, when query-migrate answered before the second signal.
  assert_that "second line; $(ctx)" grep -qxE \
    'qmpctl: migration: interrupted again while it was being cancelled( \(it is cancelling\))?' \
    <(sed -n 2p "$T/err")
  assertEquals "two lines on stderr; $(ctx)" 2 "$(wc -l <"$T/err")"
}

test_fail_event_cancels() {
  lc_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  # on-target-error=stop: the job pauses at the first failed write.
  run_q -s "$QSD_SOCK" -c blockdev-backup job-id=j1 device=src target=bad sync=full \
    on-target-error=stop --wait-job j1 --fail-event BLOCK_JOB_ERROR --match device=j1 --cancel
  assert_rc 10 "--fail-event with --wait-job"
  sed -n 2p "$T/out" >"$T/line"
  assert_that "the failure event is printed; $(ctx)" \
    _jq_true '.event == "BLOCK_JOB_ERROR" and .data.device == "j1"' "$T/line"
  lc_err 'qmpctl: event BLOCK_JOB_ERROR reports a failure' 'qmpctl: job j1 cancelled'
  lc_jobs_are '. == []' "--fail-event, cancelled"
}

# ---------------------------------------------------------------- --dismiss, --finalize

test_dismiss_after_success_and_failure() {
  lc_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  run_q -s "$QSD_SOCK" -c blockdev-backup job-id=j1 device=src target=nul sync=full \
    auto-dismiss:=false --wait-job j1 --dismiss
  assert_rc 0 "success, --dismiss"
  assert_no_stderr "success, --dismiss"
  sed -n 2p "$T/out" >"$T/line"
  assert_that "the final state is printed first; $(ctx)" \
    _jq_true '.id == "j1" and .status == "concluded" and (has("error") | not)' "$T/line"
  lc_jobs_are '. == []' "success, --dismiss"

  run_q -s "$QSD_SOCK" -c blockdev-backup job-id=j2 device=src target=bad sync=full \
    auto-dismiss:=false --wait-job j2 --dismiss
  assert_rc 10 "failure, --dismiss"
  lc_err 'qmpctl: job j2 failed: Input/output error'
  sed -n 2p "$T/out" >"$T/line"
  assert_that "the error is printed before the job goes; $(ctx)" \
    _jq_true '.id == "j2" and .error == "Input/output error"' "$T/line"
  lc_jobs_are '. == []' "failure, --dismiss"

  # Dismissed automatically: nothing to do, no error.
  run_q -s "$QSD_SOCK" -c blockdev-backup job-id=j3 device=src target=nul sync=full \
    --wait-job j3 --dismiss
  assert_rc 0 "auto-dismissed, --dismiss"
  assert_no_stderr "auto-dismissed, --dismiss"
}

test_finalize_pending_job() {
  lc_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  # Without --finalize, the job waits at pending until -t.
  run_q -s "$QSD_SOCK" -c blockdev-backup job-id=j1 device=src target=nul \
    sync=full auto-finalize:=false auto-dismiss:=false
  assert_ok "start j1"
  run_q -s "$QSD_SOCK" -c query-jobs --until id=j1 --until status=pending
  assert_rc 0 "j1 reaches pending"
  run_q -t 0.5 -s "$QSD_SOCK" -n --wait-job j1
  assert_rc 8 "pending, no --finalize"
  lc_err 'qmpctl: timed out waiting for job j1 to reach concluded (it is pending)'
  run_q -s "$QSD_SOCK" -n --wait-job j1 --finalize --dismiss --trace "$T/trace"
  assert_rc 0 "--finalize later"
  assert_no_stderr "--finalize later"
  assert_jq '.id == "j1" and .status == "concluded"' "--finalize later"
  lc_jobs_are '. == []' "--finalize --dismiss"
  assert_that "job-finalize then job-dismiss were sent" \
    _jq_true '[.[] | select(.dir == "send") | .msg.execute | select(. == "job-finalize" or . == "job-dismiss")] == ["job-finalize", "job-dismiss"]' \
    <(jq -s . "$T/trace")

  # Both at once, from the start.
  run_q -s "$QSD_SOCK" -c blockdev-backup job-id=j2 device=src target=nul \
    sync=full auto-finalize:=false auto-dismiss:=false --wait-job j2 --finalize --dismiss
  assert_rc 0 "--finalize --dismiss"
  assert_no_stderr "--finalize --dismiss"
  lc_jobs_are '. == []' "--finalize --dismiss from the start"
}

# ---------------------------------------------------------------- --stall

test_job_stall() {
  lc_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  lc_slow j1
  run_q -t 20 -s "$QSD_SOCK" "${LC_ARGS[@]}" --wait-job j1 --stall 1 --cancel
  assert_rc 8 "stalled job"
  lc_err 'qmpctl: job j1 made no progress for 1 s (it is running, at 65536)' \
    'qmpctl: job j1 cancelled'
  lc_jobs_are '. == []' "stalled job, cancelled"
}

test_migration_stall_cancelled() {
  lc_vm lcm -machine pc -accel tcg -m 32 -S || { fail "could not start QEMU"; return 0; }
  # The destination accepts and never reads.
  start_fakepeer "sleep 25000" || { fail "fake peer did not start"; return 0; }
  run_q -t 20 -s "$VM_SOCK" -c migrate "uri=unix:$PEER_SOCK" --wait-migration \
    --stall 2 --cancel --progress "$T/m.progress" --interval 0.5
  assert_rc 8 "stalled migration"
  assert_that "first line: the stall; $(ctx)" \
    grep -qE '^qmpctl: the migration made no progress for 2 s \(it is active, at [0-9]+\)$' "$T/err"
  assertEquals "second line; $(ctx)" 'qmpctl: migration cancelled' "$(sed -n 2p "$T/err")"
  run_q -s "$VM2_SOCK" -c query-migrate
  assert_jq '.status == "cancelled"' "query-migrate after --cancel"
  # The progress lines: the migration's numbers.
  assert_that "at least two progress lines: [$(cat "$T/m.progress")]" \
    test "$(wc -l <"$T/m.progress")" -ge 2
  # (The first may be of "setup", before QEMU counts anything.)
  assert_that "progress lines: time, status, then transferred, remaining, total: [$(cat "$T/m.progress")]" \
    _jq_true 'all(.[]; keys_unsorted[0:2] == ["time","status"]) and
      any(.[]; keys_unsorted[0:5] == ["time","status","transferred","remaining","total"] and .status == "active")' \
    <(jq -s . "$T/m.progress")
}

# ---------------------------------------------------------------- --progress and the terminal line

test_progress_lines_of_a_job() {
  lc_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  # 16 MiB at 8 MiB/s: about two seconds, a line every 0.2 s.
  run_q -t 20 -s "$QSD_SOCK" -c blockdev-backup job-id=j1 device=big target=nul16 \
    sync=full speed:=8388608 --wait-job j1 --progress "$T/p" --interval 0.2 \
    --trace "$T/trace"
  assert_rc 0 "job with --progress"
  assert_no_stderr "job with --progress"
  assert_that "at least two progress lines: [$(cat "$T/p")]" test "$(wc -l <"$T/p")" -ge 2
  assert_that "each line: time, id, type, status, current, total" \
    _jq_true 'all(.[]; keys_unsorted == ["time","id","type","status","current","total"] and .id == "j1" and .type == "backup" and .total == 16777216)' \
    <(jq -s . "$T/p")
  assert_that "current never decreases: [$(cat "$T/p")]" \
    _jq_true '[.[].current] as $c | [range(1; $c | length) | $c[.] >= $c[. - 1]] | all' \
    <(jq -s . "$T/p")
  # Byte-exact: each line's numbers as query-jobs sent them.
  local cur
  for cur in $(grep -o '"current":[0-9]*' "$T/p" | cut -d: -f2 | sort -u); do
    assert_that "current $cur appears as QEMU sent it" \
      grep -qE "\"current-progress\": ?${cur}[,}]" "$T/trace"
  done
  assert_that "the totals are QEMU's text" grep -q '"total":16777216}$' "$T/p"
}

test_terminal_line() {
  lc_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  lc_slow j1
  # Under a pseudo-terminal (script(1)): the line is drawn, then erased.
  timeout -k 2 "$(lim 20)" script -qec "$(printf '%q ' "$QMPCTL" -t 2 -s "$QSD_SOCK" \
    "${LC_ARGS[@]}" --wait-job j1 --cancel)" /dev/null </dev/null >"$T/tty" 2>&1
  assert_that "the line is drawn: [$(cat -v "$T/tty")]" \
    grep -q $'\rjob j1 (backup) running  0.4%  0.1/16.0 MiB' "$T/tty"
  assert_that "and erased before the message: [$(cat -v "$T/tty")]" \
    grep -q $'\r\e\\[Kqmpctl: timed out waiting for job j1' "$T/tty"
  # With --progress, a terminal gets no line either.
  lc_slow j3
  timeout -k 2 "$(lim 20)" script -qec "$(printf '%q ' "$QMPCTL" -t 2 -s "$QSD_SOCK" \
    "${LC_ARGS[@]}" --wait-job j3 --cancel --progress "$T/j3.progress")" /dev/null \
    </dev/null >"$T/tty3" 2>&1
  assertEquals "--progress: no line on the terminal; [$(cat -v "$T/tty3")]" \
    "$(printf '{}\r\nqmpctl: timed out waiting for job j3 to reach concluded (it is running)\r\nqmpctl: job j3 cancelled\r')" \
    "$(cat "$T/tty3")"
  assert_that "--progress: the lines went to the file" lc_started "$T/j3.progress"
  # stderr a file: no line, only the messages.
  lc_slow j2
  run_q -t 2 -s "$QSD_SOCK" "${LC_ARGS[@]}" --wait-job j2 --cancel
  assert_rc 8 "stderr a file"
  lc_err 'qmpctl: timed out waiting for job j2 to reach concluded (it is running)' \
    'qmpctl: job j2 cancelled'
}

# ---------------------------------------------------------------- --until

test_until_running_after_cont() {
  lc_vm lcu -S || { fail "could not start QEMU"; return 0; }
  lc_bg bg -t 20 -s "$VM_SOCK" -c query-status --until status=running --until running=true \
    --trace "$T/u.trace"
  # cont once qmpctl has asked at least twice.
  assert_that "qmpctl must poll" wait_until 10 _lc_asked_twice "$T/u.trace"
  run_q -s "$VM2_SOCK" -c cont
  assert_ok "cont"
  lc_bg_done 0 "--until status=running"
  assert_no_stderr "--until status=running"
  assert_jq '.status == "running" and .running == true' "--until status=running"
}
_lc_asked_twice() { [[ $(grep -c '"execute":"query-status"' "$1" 2>/dev/null) -ge 2 ]]; }

test_until_deadline_and_errors() {
  lc_vm lcd -S || { fail "could not start QEMU"; return 0; }
  run_q -t 1.5 -s "$VM_SOCK" -c query-status --until status=running
  local last
  last=$(qemu_status prelaunch false | sed 's/[{}]/\\&/g')
  assert_fails 8 "^qmpctl: timed out waiting for query-status to pass --until \\(last: $last\\)\$" \
    "--until at the deadline"
  # A command error: at once, status 1.
  run_q -t 10 -s "$VM_SOCK" -c qom-get path=/nowhere property=type --until x --trace "$T/e.trace"
  assert_cmd_error DeviceNotFound "--until, a command error"
  assertEquals "tried once; $(ctx)" 1 "$(grep -c '"execute":"qom-get"' "$T/e.trace")"
  # Exact numbers, and into an array: qom-list's elements.
  run_q -s "$VM_SOCK" -c qom-list path=/machine --until name=peripheral \
    --until 'type=child<container>'
  assert_rc 0 "--until on an array"
  assert_jq 'any(.[]; .name == "peripheral")' "--until on an array"
  run_q -t 0.5 -s "$VM_SOCK" -c qom-list path=/machine --until name=peripheral \
    --until type=bool
  assert_fails 8 'timed out waiting for qom-list' "tests pass on one element only"
}

test_until_on_qsd_and_agent() {
  lc_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  run_q -s "$QSD_SOCK" -c blockdev-backup job-id=j1 device=src target=nul sync=full \
    auto-dismiss:=false
  assert_ok "backup"
  run_q -s "$QSD_SOCK" -c query-jobs --until id=j1 --until status=concluded
  assert_rc 0 "--until on query-jobs"
  assert_jq 'map(select(.id == "j1")) | .[0].status == "concluded"' "--until on query-jobs"
  run_q -s "$QSD_SOCK" -c job-dismiss id=j1
  run_q -s "$QSD_SOCK" -c query-jobs --until '!0' --interval 0.05
  assert_ok "--until !0: no job"
  assertEquals "no job; $(ctx)" '[]' "$(cat "$T/out")"

  # The guest agent (started with the block list of qmp-notes.md).
  mkdir -p "$T/ga-state"
  "$QGA_BIN" -m unix-listen -p "$T/ga.sock" -t "$T/ga-state" -l "$T/ga.log" \
    -b "$QGA_BLOCK" </dev/null >"$T/ga.out" 2>&1 &
  track_pid $!
  wait_for "$T/ga.sock" 5 || { fail "qemu-ga did not start"; return 0; }
  run_q --qga -s "$T/ga.sock" -c guest-info --until version --until supported_commands.0.name
  assert_rc 0 "--until on the agent"
  assert_jq '.version | type == "string"' "--until on the agent"
}

# ---------------------------------------------------------------- usage

test_bad_input() {
  assert_that "trap listener must start" start_trap || return 0
  local s=$T/trap.sock
  run_q -s "$s" -c query-status --cancel
  assert_fails 2 '^qmpctl: --cancel, --progress and --stall need --wait-job or --wait-migration' "--cancel alone"
  run_q -s "$s" -c query-status --stall 2
  assert_fails 2 '^qmpctl: --cancel, --progress and --stall need' "--stall alone"
  run_q -s "$s" -c query-status --progress -
  assert_fails 2 '^qmpctl: --cancel, --progress and --stall need' "--progress alone"
  run_q -s "$s" -c query-status --dismiss
  assert_fails 2 '^qmpctl: --dismiss and --finalize need --wait-job' "--dismiss alone"
  run_q -s "$s" -c x --wait-migration --finalize
  assert_fails 2 '^qmpctl: --dismiss and --finalize need --wait-job' "--finalize with --wait-migration"
  run_q -s "$s" -c x --wait-job j1 --cancel-grace 3
  assert_fails 2 '^qmpctl: --cancel-grace needs --cancel' "--cancel-grace alone"
  run_q -s "$s" -c x --wait-job j1 --cancel --cancel-grace x
  assert_fails 2 "^qmpctl: --cancel-grace: invalid number of seconds: 'x'" "--cancel-grace x"
  run_q -s "$s" -c query-status --interval 1
  assert_fails 2 '^qmpctl: --interval needs --until, --wait-job or --wait-migration' "--interval alone"
  run_q -s "$s" -c query-status --until status=running --interval 0
  assert_fails 2 "^qmpctl: --interval: expected at least 0.001 seconds, got '0'" "--interval 0"
  run_q -s "$s" -c query-status --until status=running --interval -1
  assert_fails 2 "^qmpctl: --interval: invalid number of seconds: '-1'" "--interval -1"
  run_q -s "$s" --wait-job j1 --stall 0
  assert_fails 2 "^qmpctl: --stall: expected at least 0.001 seconds" "--stall 0"
  run_q -s "$s" --until status=running <<<'{"execute":"query-status"}'
  assert_fails 2 '^qmpctl: --until needs -c NAME' "--until with a batch"
  run_q -s "$s" --hmp 'info status' --until x
  assert_fails 2 '^qmpctl: --until needs -c NAME' "--until with --hmp"
  run_q -s "$s" -c query-status --until x --wait-event STOP
  assert_fails 2 '^qmpctl: --until excludes --wait-event' "--until with --wait-event"
  run_q -s "$s" -c query-jobs --until x --wait-job j1
  assert_fails 2 '^qmpctl: --until excludes' "--until with --wait-job"
  run_q -s "$s" -c query-status --until a..b
  assert_fails 2 "^qmpctl: --until: expected KEY=VALUE, KEY or !KEY" "--until a..b"
  assertEquals "nothing connected to the server: [$(cat "$T/trap.log" 2>/dev/null)]" \
    "" "$(cat "$T/trap.log" 2>/dev/null)"
}

. shunit2
