#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_jobs.sh -- --wait-job, --wait-migration and --ready-fd against
# real servers: qemu-storage-daemon for block jobs, QEMU for migrations;
# tests/fakepeer only for the migration poll's pacing.
# Run from the project root:  bash tests/test_jobs.sh [-- testName...]
#
# Facts checked by hand against QEMU 7.2.22 (qemu-storage-daemon and
# qemu-system-x86_64):
#   blockdev-backup to a qcow2 node over blkdebug with inject-error on
#     write_aio (errno 5): JOB_STATUS_CHANGE created, running, paused,
#     running; BLOCK_JOB_ERROR {"operation":"write","action":"report"};
#     aborting; BLOCK_JOB_COMPLETED {..., "error":"Input/output error"};
#     concluded (then null unless auto-dismiss is false).  query-jobs then
#     holds {"status":"concluded", "error":"Input/output error", ...}.
#   blockdev-mirror sync=full: created, running, ready, and it stays ready;
#     job-complete: waiting, pending, BLOCK_JOB_COMPLETED, concluded.
#   A backup of 16 MiB with "speed": 1 copies its first chunk, then sleeps
#     (one of 1 MiB may finish at once); block-job-set-speed with speed 0
#     lets it finish at once.  job-cancel: aborting, BLOCK_JOB_CANCELLED,
#     concluded; kept, its entry has "error": "Operation canceled".
#   query-migrate before any migration: {}.  migrate exec:cat >/dev/null on
#     -machine none: "completed" at once.  migrate exec:exit 1 on
#     -machine pc -accel tcg -m 32 -S: "failed", with error-desc "Unable to
#     write to command: Broken pipe".

. tests/lib.sh

QSD_BIN=${QSD_BIN:-qemu-storage-daemon}

oneTimeSetUp() {
  local tool
  require_built "$QMPCTL" make
  require_built "$FAKEPEER" "make tests/fakepeer"
  for tool in "$QSD_BIN" qemu-img qemu-io jq; do
    command -v "$tool" >/dev/null || { echo "test_jobs.sh: $tool not found" >&2; exit 1; }
  done
}

# ---------------------------------------------------------------- helpers

# jb_qsd: start_job_qsd (tests/lib.sh: qemu-storage-daemon with two
# monitors and the nodes src, tgt, bad, nul, big and nul16).  Sets QSD_PID,
# QSD_SOCK, QSD2_SOCK and JB_DIR.
jb_qsd() { start_job_qsd test_jobs.sh && JB_DIR=$JOB_DIR; }

# jb_vm NAME [ARGS...]: a QEMU with monitors on $VM_SOCK and $VM2_SOCK.
jb_vm() { start_vm2 "$@"; }

# jb_lines N [WHAT]: stdout has exactly N lines.
jb_lines() {
  assertEquals "${2:+$2: }stdout lines; $(ctx)" "$1" "$(wc -l <"$T/out")"
}

# jb_line N FILTER [WHAT]: jq FILTER is true on line N of stdout.
jb_line() {
  sed -n "${1}p" "$T/out" >"$T/line"
  assert_that "${3:+$3: }stdout line $1: jq '$2'; $(ctx)" _jq_true "$2" "$T/line"
}

# jb_backup ID TARGET [KEY=VALUE...]: the operands of a full backup of src.
jb_backup() {
  local id=$1 target=$2
  shift 2
  JB_ARGS=(-c blockdev-backup "job-id=$id" device=src "target=$target" sync=full "$@")
}

# jb_slow_backup ID [KEY=VALUE...]: start a backup of big to nul16 that
# crawls (speed 1 byte/s) on the second monitor, without waiting for it.
jb_slow_backup() {
  local id=$1
  shift
  run_q -t 10 -s "$QSD2_SOCK" -c blockdev-backup "job-id=$id" device=big \
    target=nul16 sync=full speed:=1 "$@"
  assert_ok "start the slow backup $id"
}

# jb_watch OUT FIFO ARGS...: run qmpctl ARGS --ready-fd 3 in the
# background with descriptor 3 open on FIFO (opened by the child, so the
# caller does not block), its stdout to $T/OUT.out and stderr to
# $T/OUT.err; sets BG_PID (tracked).
jb_watch() {
  local out=$1 fifo=$2
  shift 2
  "$QMPCTL" "$@" --ready-fd 3 >"$T/$out.out" 2>"$T/$out.err" </dev/null 3>"$fifo" &
  BG_PID=$!
  track_pid "$BG_PID"
}

# jb_read_ready FIFO: read the readiness line from FIFO within 10 s;
# prints what was read and returns read's status.
jb_read_ready() {
  timeout "$(lim 10)" bash -c 'IFS= read -r line <"$1" && printf "[%s]" "$line"' _ "$1"
}

# ---------------------------------------------------------------- block jobs

test_backup_succeeds() {
  jb_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  # Dismissed automatically: the event's data is the final state.
  jb_backup j1 nul
  run_q -t 10 -s "$QSD_SOCK" "${JB_ARGS[@]}" --wait-job j1
  assert_rc 0 "backup, auto-dismissed"
  assert_no_stderr "backup, auto-dismissed"
  jb_lines 2 "backup, auto-dismissed"
  jb_line 1 '. == {}' "backup, auto-dismissed"
  jb_line 2 '.device == "j1" and .type == "backup" and .offset == 1048576 and (has("error") | not)' \
    "backup, auto-dismissed"

  # Kept: the query-jobs entry, concluded.
  jb_backup j2 tgt auto-dismiss:=false
  run_q -t 10 -s "$QSD_SOCK" "${JB_ARGS[@]}" --wait-job j2:concluded
  assert_rc 0 "backup, kept"
  assert_no_stderr "backup, kept"
  jb_lines 2 "backup, kept"
  jb_line 2 '.id == "j2" and .status == "concluded" and .type == "backup" and (has("error") | not)' \
    "backup, kept"
  # The job stays until the user dismisses it.
  run_q -t 10 -s "$QSD_SOCK" -c job-dismiss id=j2
  assert_ok "job-dismiss"
}

test_backup_fails() {
  jb_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  jb_backup j1 bad
  run_q -t 10 -s "$QSD_SOCK" "${JB_ARGS[@]}" --wait-job j1
  assert_rc 10 "failing backup, auto-dismissed"
  assert_err_line '^qmpctl: job j1 failed: Input/output error$' "failing backup, auto-dismissed"
  jb_lines 2 "failing backup, auto-dismissed"
  jb_line 2 '.device == "j1" and .error == "Input/output error"' "failing backup, auto-dismissed"

  jb_backup j2 bad auto-dismiss:=false
  run_q -t 10 -s "$QSD_SOCK" "${JB_ARGS[@]}" --wait-job j2
  assert_rc 10 "failing backup, kept"
  assert_err_line '^qmpctl: job j2 failed: Input/output error$' "failing backup, kept"
  jb_lines 2 "failing backup, kept"
  jb_line 2 '.id == "j2" and .status == "concluded" and .error == "Input/output error"' \
    "failing backup, kept"

  # A job that fails before the awaited status reaches nothing.
  jb_backup j3 bad
  run_q -t 10 -s "$QSD_SOCK" "${JB_ARGS[@]}" --wait-job j3:pending
  assert_rc 10 "failing backup awaited at pending"
  assert_err_line '^qmpctl: job j3 failed: Input/output error$' "failing backup awaited at pending"

  # A command that fails starts no wait: status 1, its error.
  jb_backup j4 no-such-node
  run_q -t 10 -s "$QSD_SOCK" "${JB_ARGS[@]}" --wait-job j4
  assert_cmd_error GenericError "backup to a node that does not exist"
}

test_mirror_ready_then_complete() {
  jb_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  run_q -t 10 -s "$QSD_SOCK" -c blockdev-mirror job-id=m1 device=src target=tgt \
    sync=full --wait-job m1:ready
  assert_rc 0 "mirror to ready"
  assert_no_stderr "mirror to ready"
  jb_lines 2 "mirror to ready"
  jb_line 2 '.id == "m1" and .type == "mirror" and .status == "ready"' "mirror to ready"

  # Ready again in a later call: at once.
  run_q -t 10 -s "$QSD_SOCK" -n --wait-job m1:ready
  assert_ok "mirror still ready"
  assert_jq '.status == "ready"' "mirror still ready"

  # job-complete in a second call; the job is dismissed automatically.
  run_q -t 10 -s "$QSD_SOCK" -c job-complete id=m1 --wait-job m1:concluded
  assert_rc 0 "job-complete"
  assert_no_stderr "job-complete"
  jb_lines 2 "job-complete"
  jb_line 2 '.device == "m1" and .type == "mirror" and (has("error") | not)' "job-complete"
  run_q -t 10 -s "$QSD_SOCK" -c query-jobs
  assertEquals "no job left; $(ctx)" '[]' "$(cat "$T/out")"

  # The target holds the source's data.
  stop_pid "$QSD_PID"
  assert_that "the mirror's target equals its source" \
    qemu-img compare -q -f qcow2 -F qcow2 "$JB_DIR/src.qcow2" "$JB_DIR/tgt.qcow2"
}

test_mirror_awaited_ready_ends_first() {
  # A backup is never "ready", but concluded comes after it: reached.
  jb_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  jb_backup j1 nul auto-dismiss:=false
  run_q -t 10 -s "$QSD_SOCK" "${JB_ARGS[@]}" --wait-job j1:ready
  assert_rc 0 "a backup awaited at ready"
  jb_line 2 '.status == "concluded"' "a backup awaited at ready"
  # paused is reached only by being it: the concluded job never will be.
  run_q -t 10 -s "$QSD_SOCK" -n --wait-job j1:paused
  assert_rc 1 "a concluded job awaited at paused"
  assert_jq '.status == "concluded"' "a concluded job awaited at paused"
  assert_err_line '^qmpctl: job j1 ended without reaching paused$' "a concluded job awaited at paused"
}

test_job_waited_in_later_call() {
  jb_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  # Concluded with auto-dismiss false: reported at once, both ways.
  jb_backup j1 nul auto-dismiss:=false
  run_q -t 10 -s "$QSD_SOCK" "${JB_ARGS[@]}"
  assert_ok "start j1"
  jb_backup j2 bad auto-dismiss:=false
  run_q -t 10 -s "$QSD_SOCK" "${JB_ARGS[@]}"
  assert_ok "start j2"
  prompt_begin
  run_q -t 10 -s "$QSD_SOCK" -n --wait-job j1
  assert_ok "a concluded job, later"
  assert_jq '.id == "j1" and .status == "concluded"' "a concluded job, later"
  run_q -t 10 -s "$QSD_SOCK" -n --wait-job j2
  assert_rc 10 "a failed job, later"
  assert_jq '.id == "j2" and .error == "Input/output error"' "a failed job, later"
  assert_err_line '^qmpctl: job j2 failed: Input/output error$' "a failed job, later"
  prompt_end
  assert_prompt "two waits for ended jobs" 0 3000

  # Auto-dismissed once it ended: no trace of it is left.
  jb_backup j3 nul
  run_q -t 10 -s "$QSD_SOCK" "${JB_ARGS[@]}" --wait-job j3
  assert_rc 0 "j3 ran"
  run_q -t 10 -s "$QSD_SOCK" -n --wait-job j3
  assert_fails 1 '^qmpctl: no job j3$' "an auto-dismissed job, later"
  run_q -t 10 -s "$QSD_SOCK" -n --wait-job never-started
  assert_fails 1 '^qmpctl: no job never-started$' "a job that never was"
}

test_job_running_waited_by_a_watcher() {
  # A crawling backup, kept: a watcher on monitor 1 waits for it (it says
  # when it is connected), monitor 2 lets it finish.
  jb_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  jb_slow_backup j1 auto-dismiss:=false
  rm -f "$T/ready"; mkfifo "$T/ready"
  jb_watch w "$T/ready" -t 15 -s "$QSD_SOCK" -n --wait-job j1
  assertEquals "the watcher's readiness line" "[]" "$(jb_read_ready "$T/ready")"
  run_q -t 10 -s "$QSD2_SOCK" -c query-jobs
  assert_jq '.[0].id == "j1" and .[0].status == "running"' "still running once the watcher is ready"
  assert_that "the watcher still waits" pid_alive "$BG_PID"
  run_q -t 10 -s "$QSD2_SOCK" -c block-job-set-speed device=j1 speed:=0
  assert_ok "block-job-set-speed"
  assert_that "the watcher must end" wait_exit "$BG_PID" 10
  assertEquals "watcher: status; $(cat "$T/w.err")" 0 "$exit_status"
  assertEquals "watcher: stderr" "" "$(cat "$T/w.err")"
  assert_that "watcher: the concluded entry [$(cat "$T/w.out")]" \
    _jq_true '.id == "j1" and .status == "concluded"' "$T/w.out"

  # Dismissed automatically while the watcher waits: the event's data.
  jb_slow_backup j2
  rm -f "$T/ready"; mkfifo "$T/ready"
  jb_watch w "$T/ready" -t 15 -s "$QSD_SOCK" -n --wait-job j2
  assertEquals "the second watcher's readiness line" "[]" "$(jb_read_ready "$T/ready")"
  run_q -t 10 -s "$QSD2_SOCK" -c block-job-set-speed device=j2 speed:=0
  assert_ok "block-job-set-speed j2"
  assert_that "the second watcher must end" wait_exit "$BG_PID" 10
  assertEquals "second watcher: status; $(cat "$T/w.err")" 0 "$exit_status"
  assert_that "second watcher: the completion event's data [$(cat "$T/w.out")]" \
    _jq_true '.device == "j2" and .offset == 16777216 and (has("error") | not)' "$T/w.out"

  # Cancelled while the watcher waits: a failure.
  jb_slow_backup j3
  rm -f "$T/ready"; mkfifo "$T/ready"
  jb_watch w "$T/ready" -t 15 -s "$QSD_SOCK" -n --wait-job j3
  assertEquals "the third watcher's readiness line" "[]" "$(jb_read_ready "$T/ready")"
  run_q -t 10 -s "$QSD2_SOCK" -c job-cancel id=j3
  assert_ok "job-cancel"
  assert_that "the third watcher must end" wait_exit "$BG_PID" 10
  assertEquals "third watcher: status; $(cat "$T/w.err")" 10 "$exit_status"
  assertEquals "third watcher: stderr" "qmpctl: job j3 failed: it was cancelled" "$(cat "$T/w.err")"
  assert_that "third watcher: the cancel event's data [$(cat "$T/w.out")]" \
    _jq_true '.device == "j3" and .type == "backup"' "$T/w.out"

  # Cancelled and kept: the entry's error, in the same call as job-cancel.
  jb_slow_backup j4 auto-dismiss:=false
  run_q -t 10 -s "$QSD_SOCK" -c job-cancel id=j4 --wait-job j4
  assert_rc 10 "job-cancel --wait-job, kept"
  jb_line 2 '.id == "j4" and .status == "concluded" and .error == "Operation canceled"' \
    "job-cancel --wait-job, kept"
  assert_err_line '^qmpctl: job j4 failed: Operation canceled$' "job-cancel --wait-job, kept"
}

test_job_wait_timeout() {
  jb_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  jb_slow_backup j1
  local ms
  prompt_begin
  run_q -t 0.5 -s "$QSD_SOCK" -n --wait-job j1
  prompt_end; ms=$PROMPT_MS
  assert_fails 8 '^qmpctl: timed out waiting for job j1 to reach concluded \(it is running\)$' \
    "a crawling job and -t 0.5"
  assertTrue "-t 0.5 must not end before 0.45 s, took $ms ms" "[ $ms -ge 450 ]"
  assert_prompt "-t 0.5" 500 2500
}

test_fail_event_alternatives() {
  jb_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  local -a alts=(--wait-event BLOCK_JOB_COMPLETED --match device=j1 --match '!error'
    --fail-event BLOCK_JOB_COMPLETED --match device=j1 --match error)
  jb_backup j1 bad
  run_q -t 10 -s "$QSD_SOCK" "${JB_ARGS[@]}" "${alts[@]}"
  assert_rc 10 "completion with an error: the failure alternative"
  jb_lines 2 "failure alternative"
  jb_line 2 '.event == "BLOCK_JOB_COMPLETED" and .data.error == "Input/output error"' \
    "failure alternative"
  assert_err_line '^qmpctl: event BLOCK_JOB_COMPLETED reports a failure: Input/output error$' \
    "failure alternative"

  jb_backup j1 nul
  run_q -t 10 -s "$QSD_SOCK" "${JB_ARGS[@]}" "${alts[@]}"
  assert_rc 0 "completion without an error: the success alternative"
  assert_no_stderr "success alternative"
  jb_line 2 '.event == "BLOCK_JOB_COMPLETED" and .data.device == "j1" and (.data | has("error") | not)' \
    "success alternative"
}

test_batch_then_wait_job() {
  # Stdin's commands run first; the job they start is awaited after.
  jb_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  run_q -t 10 -s "$QSD_SOCK" --wait-job b1 <<'EOF'
{"execute": "blockdev-add", "arguments": {"driver": "null-co", "node-name": "n9", "size": 1048576}}
{"execute": "blockdev-backup", "arguments": {"job-id": "b1", "device": "src", "target": "n9", "sync": "full", "auto-dismiss": false}}
EOF
  assert_rc 0 "batch, then --wait-job"
  assert_no_stderr "batch, then --wait-job"
  jb_lines 3 "batch, then --wait-job"
  jb_line 1 '. == {}' "batch, then --wait-job"
  jb_line 2 '. == {}' "batch, then --wait-job"
  jb_line 3 '.id == "b1" and .status == "concluded"' "batch, then --wait-job"
}

test_wait_job_on_qemu_without_jobs() {
  # Commands of QEMU and the daemon alike; a job id nobody used.
  jb_vm vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$VM_SOCK" -c query-status --wait-job j1
  assertEquals "query-status, then no job; $(ctx)" 1 "$rc"
  jb_line 1 '.status == "running"' "query-status, then no job"
  assert_err_line '^qmpctl: no job j1$' "no job on QEMU"
}

# ---------------------------------------------------------------- migrations

test_migration_completes() {
  jb_vm vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$VM_SOCK" -c migrate 'uri=exec:cat >/dev/null' --wait-migration
  assert_rc 0 "migration to cat"
  assert_no_stderr "migration to cat"
  jb_lines 2 "migration to cat"
  jb_line 1 '. == {}' "migration to cat"
  jb_line 2 '.status == "completed" and (.ram | type == "object")' "migration to cat"
  # Started in an earlier call: reported at once.
  run_q -t 10 -s "$VM_SOCK" -n --wait-migration
  assert_ok "a completed migration, later"
  assert_jq '.status == "completed"' "a completed migration, later"
}

test_migration_fails() {
  jb_vm mig -machine pc -accel tcg -m 32 -S || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$VM_SOCK" -c migrate 'uri=exec:exit 1' --wait-migration
  assert_rc 10 "migration to exit 1"
  assert_err_line '^qmpctl: migration failed: .+' "migration to exit 1"
  jb_lines 2 "migration to exit 1"
  jb_line 2 '.status == "failed" and (.["error-desc"] | type == "string")' "migration to exit 1"
  local desc
  desc=$(sed -n 2p "$T/out" | jq -r '.["error-desc"]')
  assertEquals "stderr carries error-desc" "qmpctl: migration failed: $desc" "$(cat "$T/err")"
  run_q -t 10 -s "$VM_SOCK" -n --wait-migration
  assert_rc 10 "a failed migration, later"
  assert_jq '.status == "failed"' "a failed migration, later"
}

test_migration_none_times_out() {
  jb_vm vm || { fail "could not start QEMU"; return 0; }
  local ms
  prompt_begin
  run_q -t 0.8 -s "$VM_SOCK" -n --wait-migration
  prompt_end; ms=$PROMPT_MS
  assert_fails 8 '^qmpctl: timed out waiting for the migration to end \(it is none\)$' \
    "no migration, -t 0.8"
  assertTrue "-t 0.8 must not end before 0.75 s, took $ms ms" "[ $ms -ge 750 ]"
  assert_prompt "-t 0.8" 800 2200
  # The connection stayed usable across the pauses: QEMU still serves.
  run_q -t 10 -s "$VM_SOCK" -c query-status
  assert_ok "QEMU after the timed-out wait"

  # On qemu-storage-daemon there is no query-migrate: its error.
  jb_qsd || { fail "could not start qemu-storage-daemon"; return 0; }
  run_q -t 10 -s "$QSD_SOCK" -n --wait-migration
  assert_cmd_error CommandNotFound "--wait-migration on the daemon"
}

test_migration_watcher_two_monitors() {
  # The watcher on monitor 1 is connected before the migration starts on
  # monitor 2: it sees "none", then "completed".
  jb_vm vm || { fail "could not start QEMU"; return 0; }
  rm -f "$T/ready"; mkfifo "$T/ready"
  jb_watch w "$T/ready" -t 15 -s "$VM_SOCK" -n --wait-migration
  assertEquals "the watcher's readiness line" "[]" "$(jb_read_ready "$T/ready")"
  run_q -t 10 -s "$VM2_SOCK" -c migrate 'uri=exec:cat >/dev/null'
  assert_ok "migrate on monitor 2"
  assert_that "the watcher must end" wait_exit "$BG_PID" 10
  assertEquals "watcher: status; $(cat "$T/w.err")" 0 "$exit_status"
  assertEquals "watcher: stderr" "" "$(cat "$T/w.err")"
  assert_that "watcher: completed [$(cat "$T/w.out")]" \
    _jq_true '.status == "completed"' "$T/w.out"
}

test_migration_poll_pacing() {
  # Five "active" answers, then "completed": six query-migrate, with
  # pauses of 10, 20, 40, 80 and 160 ms between them (310 ms).
  local active='send {"return": {"status": "active"}}\r\n' t0 ms
  start_fakepeer greet negotiate expect "$active" expect "$active" expect "$active" \
    expect "$active" expect "$active" expect 'send {"return": {"status": "completed"}}\r\n' \
    wait_close || { fail "fake peer did not start"; return 0; }
  prompt_begin
  run_q -t 10 -s "$PEER_SOCK" -n --wait-migration
  prompt_end; ms=$PROMPT_MS
  assert_ok "paced polls"
  assert_jq '. == {"status": "completed"}' "paced polls"
  assert_that "the peer must end" wait_exit "$PEER_PID" 5
  assertEquals "six query-migrate; [$(cat "$PEER_RECV")]" \
    '["qmp_capabilities","query-migrate","query-migrate","query-migrate","query-migrate","query-migrate","query-migrate"]' \
    "$(jq -cs 'map(.execute)' "$PEER_RECV")"
  assertTrue "pauses of 310 ms in all: not under 300 ms, took $ms ms" "[ $ms -ge 300 ]"
  assert_prompt "pauses of 310 ms in all" 310 2700
  echo "    paced polls: $ms ms for 310 ms of pauses" >&2

  # A MIGRATION event ends a pause at once.  After 7 answers the next
  # pause is 500 ms: the same exchange with and without an event right
  # after the 7th answer, timed alike (so that a loaded machine slows both).
  local a7=("$active" expect "$active" expect "$active" expect "$active" expect
    "$active" expect "$active" expect "$active")
  local ev='send {"event": "MIGRATION", "data": {"status": "completed"}, "timestamp": {"seconds": 1, "microseconds": 0}}\r\n'
  local done='send {"return": {"status": "completed"}}\r\n' plain with
  start_fakepeer greet negotiate expect "${a7[@]}" expect "$done" wait_close ||
    { fail "fake peer did not start"; return 0; }
  t0=${EPOCHREALTIME/./}
  run_q -t 10 -s "$PEER_SOCK" -n --wait-migration
  plain=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
  assert_ok "eight polls"
  assert_that "the peer must end" wait_exit "$PEER_PID" 5
  start_fakepeer greet negotiate expect "${a7[@]}" "$ev" expect "$done" wait_close ||
    { fail "fake peer did not start"; return 0; }
  t0=${EPOCHREALTIME/./}
  run_q -t 10 -s "$PEER_SOCK" -n --wait-migration
  with=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
  assert_ok "a MIGRATION event"
  assert_that "the peer must end" wait_exit "$PEER_PID" 5
  assertEquals "exit status of the peer; $(cat "$PEER_ERR")" 0 "$exit_status"
  assertEquals "eight query-migrate with the event too; [$(cat "$PEER_RECV")]" 9 \
    "$(jq -s 'length' "$PEER_RECV")"
  assertTrue "the event must cut the 500 ms pause: $with ms with it, $plain ms without" \
    "[ $(( with + 250 )) -lt $plain ]"
  echo "    polls: $plain ms for 1130 ms of pauses; $with ms with a MIGRATION event after 630 ms" >&2
}

test_job_events_newer_than_query_jobs() {
  # Seen once under load on QEMU: the job's events (aborting, concluded)
  # came before query-jobs' result, which still said "running".  qmpctl
  # must ask again, not take the stale entry.
  local sc='send {"event": "JOB_STATUS_CHANGE", "timestamp": {"seconds": 1, "microseconds": 0}, "data": {"status": "%s", "id": "j2"}}\r\n'
  # shellcheck disable=SC2059
  start_fakepeer greet negotiate expect 'send {"return": {}}\r\n' \
    expect "$(printf "$sc" aborting)" "$(printf "$sc" concluded)" \
    'send {"return": [{"id": "j2", "status": "running", "type": "backup"}]}\r\n' \
    expect 'send {"return": [{"id": "j2", "status": "concluded", "type": "backup", "error": "Input/output error"}]}\r\n' \
    wait_close || { fail "fake peer did not start"; return 0; }
  run_q -t 10 -s "$PEER_SOCK" -c go --wait-job j2
  assert_rc 10 "stale query-jobs"
  jb_line 2 '.status == "concluded" and .error == "Input/output error"' "stale query-jobs"
  assert_err_line '^qmpctl: job j2 failed: Input/output error$' "stale query-jobs"
  assert_that "the peer must end" wait_exit "$PEER_PID" 5
  assertEquals "the commands sent; [$(cat "$PEER_RECV")]" \
    '["qmp_capabilities","go","query-jobs","query-jobs"]' "$(jq -cs 'map(.execute)' "$PEER_RECV")"
}

# ---------------------------------------------------------------- --ready-fd

test_ready_fd_event_watcher_two_monitors() {
  # A watcher on monitor 1 says when it listens; then monitor 2 acts.
  jb_vm vm || { fail "could not start QEMU"; return 0; }
  rm -f "$T/ready"; mkfifo "$T/ready"
  jb_watch w "$T/ready" -t 15 -s "$VM_SOCK" -n --wait-event STOP
  assertEquals "the watcher's readiness line" "[]" "$(jb_read_ready "$T/ready")"
  run_q -t 10 -s "$VM2_SOCK" -c stop
  assert_ok "stop on monitor 2"
  assert_that "the watcher must end" wait_exit "$BG_PID" 10
  assertEquals "watcher: status; $(cat "$T/w.err")" 0 "$exit_status"
  assert_that "watcher: STOP [$(cat "$T/w.out")]" _jq_true '.event == "STOP"' "$T/w.out"
}

test_ready_fd_closed_after_the_line() {
  # The newline comes before the first command, and the descriptor is
  # closed at once: the reader sees the end while qmpctl still waits for
  # its reply.
  start_fakepeer greet negotiate expect hang || { fail "fake peer did not start"; return 0; }
  rm -f "$T/ready"; mkfifo "$T/ready"
  jb_watch w "$T/ready" -t 10 -s "$PEER_SOCK" -c query-status
  local got
  got=$(timeout "$(lim 10)" bash -c 'IFS= read -r a; s1=$?; IFS= read -r b; printf "%s %s [%s]" "$s1" "$?" "$b"' \
    <"$T/ready")
  assertEquals "a line, then the end of the pipe" "0 1 []" "$got"
  assert_that "qmpctl still waits for the reply" pid_alive "$BG_PID"
  assert_that "the command went out" wait_file_match "$PEER_RECV" query-status 5
  stop_pid "$BG_PID"

  # A failed connect writes nothing: the reader sees only the end.
  run_q -t 5 -s "$T/nobody.sock" -c query-status --ready-fd 3 3>"$T/ready.txt"
  assert_fails 3 'nobody\.sock' "--ready-fd and no server"
  assertEquals "nothing written" 0 "$(stat -c %s "$T/ready.txt")"
  # A regular file is fine too.
  jb_vm vm || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$VM_SOCK" -c query-status --ready-fd 7 7>"$T/ready.txt"
  assert_ok "--ready-fd to a file"
  assertEquals "one newline in the file" "0a" "$(od -An -tx1 "$T/ready.txt" | tr -d ' ')"
}

test_ready_fd_unusable_sends_nothing() {
  start_trap || { fail "could not start the trap"; return 0; }
  run_q -t 5 -s "$T/trap.sock" -c query-status --ready-fd 5 5</dev/null
  assert_fails 9 '^qmpctl: --ready-fd 5: not open for writing$' "--ready-fd read-only"
  run_q -t 5 -s "$T/trap.sock" -c query-status --ready-fd 77
  assert_fails 9 '^qmpctl: --ready-fd 77: Bad file descriptor$' "--ready-fd closed"
  run_q -t 5 -s "$T/trap.sock" -c query-status --ready-fd 1
  assert_fails 2 'ready-fd' "--ready-fd 1"
  run_q -t 5 -s "$T/trap.sock" -c query-status --ready-fd x
  assert_fails 2 'ready-fd' "--ready-fd x"
  assertFalse "nothing may connect; [$(cat "$T/trap.log" 2>/dev/null)]" "[ -s '$T/trap.log' ]"
}

. shunit2
