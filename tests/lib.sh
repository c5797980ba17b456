# SPDX-License-Identifier: MIT
# tests/lib.sh -- shared helpers for the qmpctl test scripts (bash + shunit2).
#
# Source it at the top of a test script, run from the project root:
#
#     . tests/lib.sh
#     ...tests...
#     . shunit2
#
# It provides a per-script temp dir $T, process tracking (every process a test
# starts is recorded by pid and killed in tearDown), polling helpers with
# deadlines (no sleep-as-synchronisation), QEMU start helpers, run_q (run the
# client with its output captured), and assertion helpers.
#
# Default shunit2 hooks are defined at the end: tearDown -> stop_all and
# oneTimeTearDown -> lib_cleanup.  A script that defines its own must call
# those (they are idempotent: shunit2 may call them more than once).

# shellcheck shell=bash disable=SC2034  # globals set here are for the callers

QMPCTL=${QMPCTL:-./qmpctl}
# Plain "Ran N tests" / "FAILED (failures=N)" lines, also into files.
SHUNIT_COLOR=${SHUNIT_COLOR:-none}
FAKEPEER=${FAKEPEER:-tests/fakepeer}
QEMU_BIN=${QEMU_BIN:-qemu-system-x86_64}
# Cheap QEMU: no machine, no devices, no display, no config file.
QEMU_BASE_ARGS=(-machine none -nodefaults -display none -no-user-config)
# The block list of /work/shared/qmp-notes.md, exactly, for every qemu-ga a
# test starts (qemu-ga -b "$QGA_BLOCK"): qemu-ga acts on THIS host, as
# root, so everything that changes anything stays disabled.  The only copy
# in tests/: use it, never a list of your own.
readonly QGA_BLOCK=guest-shutdown,guest-suspend-disk,guest-suspend-ram,guest-suspend-hybrid,guest-set-time,guest-fsfreeze-freeze,guest-fsfreeze-freeze-list,guest-fsfreeze-thaw,guest-fstrim,guest-set-vcpus,guest-set-user-password,guest-set-memory-blocks,guest-ssh-add-authorized-keys,guest-ssh-remove-authorized-keys,guest-exec,guest-file-write

# Tests must not depend on the caller's environment.
unset QMP_SOCKET

# Short temp dir: unix socket paths must stay below ~100 bytes.
T=$(mktemp -d /tmp/qmpctl-test.XXXXXX) || { echo "lib.sh: mktemp failed" >&2; exit 1; }

# pids started by the current test; killed by stop_all.
LIB_PIDS=()
# The start time of each pid tracked (see track_pid), or "gone".
declare -A LIB_PID_START=()

# tests/run.sh, when it runs this file, names a file in QMPCTL_TEST_DIRS:
# every temp dir made here is noted in it, for run.sh to remove if it had
# to end the file at its time limit.
[[ -n ${QMPCTL_TEST_DIRS:-} ]] && echo "$T" >>"$QMPCTL_TEST_DIRS"

# Until shunit2 installs its own EXIT trap (which runs oneTimeTearDown), make
# sure an early exit still removes $T.
trap lib_cleanup EXIT

# ---------------------------------------------------------------- load

# The machine may be busy (other builds, a second make check, busy loops:
# make check-loaded).  tests/slowdown.sh measures how busy; LIB_SLOW is that
# measure (a percentage, 100 idle) when the file started, or run.sh's.
# Deadlines that a passing test never reaches (waits for a socket, a
# pidfile, an exit; run_q's time-out) are multiplied by it; promptness
# checks measure it again around what they time (prompt_begin below).
. tests/slowdown.sh
if [[ ${QMPCTL_TEST_SLOWDOWN:-} =~ ^[0-9]+$ ]] && (( QMPCTL_TEST_SLOWDOWN >= 100 )); then
  LIB_SLOW=$QMPCTL_TEST_SLOWDOWN
else
  slowdown_pct
  LIB_SLOW=$SLOWDOWN_PCT
fi
# Fake peers and other servers live until the test stops them by pid (or
# run.sh ends the file's process group): never a lifetime a slow machine
# could outrun.  This is fakepeer's -T, a backstop only.
PEER_LIFE=3600

# lim SECONDS: print SECONDS (whole) times the slowdown LIB_SLOW: for the
# time-outs (timeout(1)) that only end a run gone wrong.
lim() { echo $(( $1 * LIB_SLOW / 100 )); }

# prompt_begin: start timing a promptness check; measures the slowdown.
prompt_begin() {
  slowdown_pct
  PROMPT_SLOW=$SLOWDOWN_PCT
  _now_us; PROMPT_T0=$REPLY
}

# prompt_end: sets PROMPT_MS to the milliseconds since prompt_begin, and
# PROMPT_SLOW to the larger of the slowdowns measured then and now.
prompt_end() {
  _now_us; PROMPT_MS=$(( (REPLY - PROMPT_T0) / 1000 ))
  slowdown_pct
  (( SLOWDOWN_PCT > PROMPT_SLOW )) && PROMPT_SLOW=$SLOWDOWN_PCT
  return 0
}

# assert_prompt WHAT FLOOR_MS SLACK_MS: after prompt_end, the time taken
# is at most FLOOR_MS (what the check waits for on purpose, a -t say) plus
# SLACK_MS (enough on an idle machine, with a wide margin) times the
# slowdown: on a machine four times oversubscribed, four times SLACK_MS.
assert_prompt() {
  local bound=$(( $2 + $3 * PROMPT_SLOW / 100 ))
  assertTrue "$1: took $PROMPT_MS ms, want at most $bound ms ($2 + $3 ms x slowdown $PROMPT_SLOW%)" \
    "[ $PROMPT_MS -le $bound ]"
}

# ---------------------------------------------------------------- fake peer

# start_fakepeer LINE...: start tests/fakepeer with the script LINEs on a
# fresh unix socket, and wait (5 s) for its pidfile.  Sets PEER_SOCK,
# PEER_RECV (what it received), PEER_ERR (its stderr) and PEER_PID.
LIB_NPEERS=0
start_fakepeer() {
  local name=$T/peer$(( ++LIB_NPEERS ))
  PEER_SOCK=$name.sock
  PEER_RECV=$name.recv
  PEER_ERR=$name.err
  printf '%s\n' "$@" >"$name.script"
  "$FAKEPEER" -u "$PEER_SOCK" -r "$PEER_RECV" -P "$name.pid" -T "$PEER_LIFE" \
    "$name.script" 2>"$PEER_ERR" &
  PEER_PID=$!
  track_pid "$PEER_PID"
  wait_until 5 _peer_up "$name.pid" "$PEER_PID" && [[ -s $name.pid ]]
}
_peer_up() { [[ -s $1 ]] || ! pid_alive "$2"; }

# fakepeer_done [WHAT]: the fake peer exits (5 s) with status 0.
fakepeer_done() {
  assert_that "${1:+$1: }fake peer must exit" wait_exit "$PEER_PID" 5
  assertEquals "${1:+$1: }fake peer exit status; its stderr: [$(cat "$PEER_ERR")]" \
    0 "$exit_status"
}

# ---------------------------------------------------------------- time / poll

# _us_from_secs SECONDS: sets REPLY to SECONDS ("5", "0.5", "10.25")
# converted to microseconds.
_us_from_secs() {
  local s=$1 int frac
  int=${s%%.*}
  if [[ $s == *.* ]]; then frac=${s#*.}; else frac=; fi
  frac=${frac}000000
  frac=${frac:0:6}
  REPLY=$(( 10#${int:-0} * 1000000 + 10#$frac ))
}

# _now_us: sets REPLY to the current time in microseconds.
_now_us() { REPLY=${EPOCHREALTIME/./}; }

# _nap SECONDS: sleep without a fork (a poll loop forking sleep(1) every
# 10 ms costs a tenth of a core, which the test files running side by side
# feel): read with a timeout from a pipe that nobody ever writes to.
exec {LIB_NAP_FD}<> <(:)
_nap() { read -r -t "$1" -u "$LIB_NAP_FD" _ || :; }

# wait_until SECONDS CMD [ARGS...]: run CMD every 10 ms until it succeeds
# (return 0) or SECONDS (times the slowdown LIB_SLOW) have passed (return 1).
wait_until() {
  local secs=$1 deadline
  shift
  _us_from_secs "$secs"; local span=$(( REPLY * LIB_SLOW / 100 ))
  _now_us; deadline=$(( REPLY + span ))
  while :; do
    "$@" && return 0
    _now_us
    (( REPLY >= deadline )) && return 1
    _nap 0.01
  done
}

# wait_for PATH [SECONDS]: wait until PATH exists (file, socket, fifo...);
# default deadline 5 s.  Returns 1 on timeout.
wait_for() { wait_until "${2:-5}" test -e "$1"; }

# _file_has FILE ERE: FILE exists and has a line matching ERE.
_file_has() { [[ -f $1 ]] && grep -qE -- "$2" "$1"; }

# wait_file_match FILE ERE [SECONDS]: wait until FILE contains a match for the
# extended regexp ERE; default deadline 5 s.
wait_file_match() { wait_until "${3:-5}" _file_has "$1" "$2"; }

# ---------------------------------------------------------------- processes

# _pid_stat PID: sets PID_STATE and PID_START (the state letter, and the
# start time in clock ticks since boot) from /proc/PID/stat, without a fork.
# Returns 1 when there is no such process.
_pid_stat() {
  local s f
  { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
  s=${s##*) }           # the fields after the command name, from the state on
  read -ra f <<<"$s"
  PID_STATE=${f[0]} PID_START=${f[19]}
}

# track_pid PID: record PID so that stop_all kills it, with its start time:
# once it has exited and was reaped, the kernel gives the number to another
# process sooner or later (pid_max is 32768 here, and parallel test files
# fork a lot), which pid_alive must then not take for it, nor stop_pid kill.
track_pid() {
  LIB_PIDS+=("$1")
  if _pid_stat "$1"; then
    LIB_PID_START[$1]=$PID_START
  else
    LIB_PID_START[$1]=gone
  fi
}

# untrack_pid PID: forget PID (after it was reaped by the test).
untrack_pid() {
  local p keep=()
  for p in "${LIB_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  LIB_PIDS=("${keep[@]}")
}

# pid_alive PID: the process exists and is not a zombie; for a pid that
# track_pid recorded, it is also still the process that was tracked.
pid_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  _pid_stat "$1" || return 1
  [[ $PID_STATE != Z && $PID_STATE != X ]] || return 1
  [[ -z ${LIB_PID_START[$1]-} || ${LIB_PID_START[$1]} == "$PID_START" ]]
}

_pid_gone() { ! pid_alive "$1"; }

# wait_exit PID [SECONDS]: wait until PID (a child of this shell) has exited,
# default deadline 5 s; then reap it, store its exit status in $exit_status
# and untrack it.  Returns 1 (and leaves it tracked) on timeout.
wait_exit() {
  exit_status=
  wait_until "${2:-5}" _pid_gone "$1" || return 1
  wait "$1" 2>/dev/null
  exit_status=$?
  untrack_pid "$1"
  return 0
}

# stop_pid PID [SECONDS]: SIGTERM, wait up to SECONDS (default 5), then
# SIGKILL; reap and untrack.
stop_pid() {
  local pid=$1
  if pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    if ! wait_until "${2:-5}" _pid_gone "$pid"; then
      echo "lib.sh: pid $pid ignored SIGTERM, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null
      wait_until 5 _pid_gone "$pid"
    fi
  fi
  wait "$pid" 2>/dev/null
  untrack_pid "$pid"
}

# stop_all: stop every tracked pid (newest first).
stop_all() {
  local i
  for (( i = ${#LIB_PIDS[@]} - 1; i >= 0; i-- )); do
    stop_pid "${LIB_PIDS[i]}"
  done
  LIB_PIDS=()
}

# ---------------------------------------------------------------- tcp ports

# free_port [HOST]: print a currently free TCP port on HOST (default
# 127.0.0.1; IPv6 literals like ::1 work).  There is a window between this
# and the real bind: callers must cope with losing the race (see
# start_qemu_tcp).
free_port() {
  python3 - "${1:-127.0.0.1}" <<'EOF'
import socket, sys
host = sys.argv[1]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.bind((host, 0))
print(s.getsockname()[1])
s.close()
EOF
}

# _pid_listens PID PORT: process PID has a listening TCP socket on PORT
# (checked with ss, so no connection is made).
_pid_listens() {
  ss -ltnpH "sport = :$2" 2>/dev/null | grep -q "pid=$1,"
}

# wait_listen PID PORT [SECONDS]: wait until PID listens on TCP PORT,
# default deadline 10 s; fails early if PID dies.
wait_listen() {
  wait_until "${3:-10}" _listen_or_dead "$1" "$2" || return 1
  _pid_listens "$1" "$2"
}
_listen_or_dead() { _pid_listens "$1" "$2" || ! pid_alive "$1"; }

# ---------------------------------------------------------------- QEMU

# spawn_qemu NAME [ARGS...]: start QEMU in the background with the cheap base
# args plus ARGS (no monitor is added); output goes to $T/NAME.log.  Sets
# QEMU_PID and tracks it.  Does not wait for anything.
spawn_qemu() {
  local name=$1
  shift
  "$QEMU_BIN" "${QEMU_BASE_ARGS[@]}" "$@" </dev/null >"$T/$name.log" 2>&1 &
  QEMU_PID=$!
  track_pid "$QEMU_PID"
}

_qemu_start_failed() {
  echo "lib.sh: QEMU '$1' did not come up: $2; its log:" >&2
  sed 's/^/    /' "$T/$1.log" >&2
  stop_pid "$QEMU_PID"
  return 1
}

# start_qemu_unix NAME SOCKPATH [ARGS...]: start QEMU with the caller's own
# monitor args (in ARGS) listening on the unix socket SOCKPATH, and wait (10 s)
# for it to listen on SOCKPATH.  Sets QEMU_PID and QEMU_SOCK.  E.g. a pretty monitor:
#   start_qemu_unix vm "$T/p.sock" -chardev socket,id=m,path="$T/p.sock",server=on,wait=off \
#       -mon chardev=m,mode=control,pretty=on
start_qemu_unix() {
  local name=$1 sock=$2
  shift 2
  QEMU_SOCK=$sock
  spawn_qemu "$name" "$@"
  if wait_until 10 _sock_or_dead "$sock" "$QEMU_PID" && unix_listening "$sock"; then
    return 0
  fi
  _qemu_start_failed "$name" "no socket $sock"
}

# unix_listening PATH: a socket listens on the unix socket file PATH.  The
# file alone is not enough: bind() creates it, and until the listen() that
# follows, a connect is refused (seen under load with qemu-ga).
unix_listening() {
  [[ -S $1 ]] || return 1
  [[ -r /proc/net/unix ]] || return 0
  # Num RefCount Protocol Flags Type St Inode Path; flag 0x10000: listening
  # (a path may hold spaces: it is the rest of the line after Inode)
  awk -v p="$1" '$4 == "00010000" {
      path = $0
      for (i = 0; i < 7; i++) sub(/^ *[^ ]+ /, "", path)
      if (path == p) { f = 1; exit }
    }
    END { exit !f }' /proc/net/unix
}

# _sock_or_dead PATH PID: PATH listens, or process PID is gone.
_sock_or_dead() { unix_listening "$1" || ! pid_alive "$2"; }

# start_qemu NAME [ARGS...]: start QEMU with a QMP monitor on the unix socket
# $T/NAME.sock (plus extra ARGS) and wait (10 s) for the socket.
# Sets QEMU_PID and QEMU_SOCK.
start_qemu() {
  local name=$1
  shift
  start_qemu_unix "$name" "$T/$name.sock" \
    -qmp "unix:$T/$name.sock,server=on,wait=off" "$@"
}

# start_qemu_tcp NAME HOST [ARGS...]: start QEMU with a QMP monitor on TCP
# HOST (127.0.0.1, ::1, ...) and a free port, and wait (10 s) until QEMU
# listens there.  Retries with a new port if the port was taken meanwhile.
# Sets QEMU_PID, QEMU_HOST and QEMU_PORT.  (-qmp tcp:[::1]:P does not parse
# on QEMU 7.2, hence -chardev host=...,port=....)
start_qemu_tcp() {
  local name=$1 host=$2 try
  shift 2
  QEMU_HOST=$host
  for try in 1 2 3 4 5; do
    QEMU_PORT=$(free_port "$host") || return 1
    spawn_qemu "$name" \
      -chardev "socket,id=qmp0,host=$host,port=$QEMU_PORT,server=on,wait=off" \
      -mon chardev=qmp0,mode=control "$@"
    wait_listen "$QEMU_PID" "$QEMU_PORT" 10 && return 0
    if pid_alive "$QEMU_PID"; then
      _qemu_start_failed "$name" "not listening on [$host]:$QEMU_PORT"
      return 1
    fi
    stop_pid "$QEMU_PID"       # died: most likely lost the port race; retry
  done
  _qemu_start_failed "$name" "no usable port on $host"
}

# ---------------------------------------------------------------- versions

# The tests run against QEMU 7.2 (Debian 12) and 10.0 (bookworm-backports,
# make check-qemu10: build/qemu10/bin first on PATH).  Where the two behave
# differently, the test asks the version and says which does what and why.

# bin_version BIN: print BIN's version, MAJOR.MINOR.MICRO, from its
# --version (qemu-system-x86_64, qemu-storage-daemon, qemu-img) or -V
# (qemu-ga) line.  Prints nothing when BIN does not say.
bin_version() {
  { "$1" --version 2>/dev/null || "$1" -V 2>/dev/null; } </dev/null |
    sed -nE '1s/.*(version|Agent) ([0-9]+\.[0-9]+\.[0-9]+).*/\2/p'
}

# version_at_least VERSION MIN: VERSION (MAJOR.MINOR.MICRO) is MIN or later.
version_at_least() {
  local a b i
  IFS=. read -ra a <<<"$1"
  IFS=. read -ra b <<<"$2"
  for i in 0 1 2; do
    (( 10#${a[i]:-0} > 10#${b[i]:-0} )) && return 0
    (( 10#${a[i]:-0} < 10#${b[i]:-0} )) && return 1
  done
  return 0
}

# qemu_at_least MIN: the QEMU under test ($QEMU_BIN) is version MIN or later.
qemu_at_least() {
  [[ -n ${LIB_QEMU_VERSION:-} ]] || LIB_QEMU_VERSION=$(bin_version "$QEMU_BIN")
  version_at_least "$LIB_QEMU_VERSION" "$1"
}

# qemu_status STATUS RUNNING: query-status's result as QEMU prints it
# (compact, its member order), e.g. qemu_status paused false.  QEMU 10.0
# removed the member singlestep (always false, deprecated since 8.1).
qemu_status() {
  if qemu_at_least 10.0; then
    echo "{\"status\":\"$1\",\"running\":$2}"
  else
    echo "{\"status\":\"$1\",\"singlestep\":false,\"running\":$2}"
  fi
}

# qga_disabled_desc NAME: the desc of qemu-ga's CommandNotFound for NAME,
# a command of its -b block list.  qemu-ga 7.2 says "Command NAME has been
# disabled"; 10.0 adds why: ": the command is not allowed" (its allow and
# block lists were reworked in between).
qga_disabled_desc() {
  local v
  v=$(bin_version "${QGA_BIN:-qemu-ga}")
  if version_at_least "$v" 10.0; then
    echo "Command $1 has been disabled: the command is not allowed"
  else
    echo "Command $1 has been disabled"
  fi
}

# qga_reports_cut: qemu-ga ($QGA_BIN, else qemu-ga) sets guest-exec-status's
# out-truncated when it cut a program's output at 16 MiB.  qemu-ga 10.0.0
# to 10.0.3 cut it but never said so (QEMU's "qga: Fix truncated output
# handling in guest-exec status reporting", in 10.0.4 and 7.2.20).
qga_reports_cut() {
  local v
  v=$(bin_version "${QGA_BIN:-qemu-ga}")
  ! { version_at_least "$v" 10.0.0 && ! version_at_least "$v" 10.0.4; }
}

# qga_unknown_pid_re: a regex of the desc of qemu-ga's GenericError for
# guest-exec-status of a pid it does not know.  7.2 says "Invalid parameter
# 'pid'"; 10.0 says "PID ld does not exist" (sic: its format string lost
# the % of PRId64).
qga_unknown_pid_re() {
  if version_at_least "$(bin_version "${QGA_BIN:-qemu-ga}")" 10.0; then
    echo 'PID (ld|[0-9]+) does not exist'
  else
    echo "Invalid parameter 'pid'"
  fi
}

# ---------------------------------------------------------------- jobs

LIB_JOB_N=0	# numbers the servers, so that no socket path is reused

# start_job_qsd WHO: make the images and start qemu-storage-daemon with
# two monitors ($QSD_SOCK, $QSD2_SOCK) and the nodes
#   src  qcow2 over $T/N/src.qcow2, 1 MiB with 64 KiB of data
#   tgt  qcow2 over $T/N/tgt.qcow2, 1 MiB, empty
#   bad  qcow2 over blkdebug over $T/N/bad.qcow2: every write fails (EIO)
#   nul  null-co, 1 MiB
#   big  qcow2 over $T/N/big.qcow2, 16 MiB with 64 KiB of data, and
#   nul16  null-co, 16 MiB: a backup from big to nul16 with a speed limit
#        copies its first chunk and crawls (not so with 1 MiB)
# WHO names the test file in a message.  Sets QSD_PID and JOB_DIR (a new
# directory under $T each time).
start_job_qsd() {
  JOB_DIR=$T/qsd$(( ++LIB_JOB_N ))
  mkdir -p "$JOB_DIR"
  QSD_SOCK=$JOB_DIR/m1.sock
  QSD2_SOCK=$JOB_DIR/m2.sock
  qemu-img create -q -f qcow2 "$JOB_DIR/src.qcow2" 1M &&
    qemu-io -f qcow2 -c 'write -P 0x5a 0 64k' "$JOB_DIR/src.qcow2" >/dev/null &&
    qemu-img create -q -f qcow2 "$JOB_DIR/tgt.qcow2" 1M &&
    qemu-img create -q -f qcow2 "$JOB_DIR/bad.qcow2" 1M &&
    qemu-img create -q -f qcow2 "$JOB_DIR/big.qcow2" 16M &&
    qemu-io -f qcow2 -c 'write -P 0x5a 0 64k' "$JOB_DIR/big.qcow2" >/dev/null || return 1
  "$QSD_BIN" \
    --chardev "socket,id=m1,path=$QSD_SOCK,server=on,wait=off" --monitor chardev=m1 \
    --chardev "socket,id=m2,path=$QSD2_SOCK,server=on,wait=off" --monitor chardev=m2 \
    --blockdev "driver=qcow2,node-name=src,file.driver=file,file.filename=$JOB_DIR/src.qcow2" \
    --blockdev "driver=qcow2,node-name=tgt,file.driver=file,file.filename=$JOB_DIR/tgt.qcow2" \
    --blockdev "{\"driver\":\"qcow2\",\"node-name\":\"bad\",\"file\":{\"driver\":\"blkdebug\",\"image\":{\"driver\":\"file\",\"filename\":\"$JOB_DIR/bad.qcow2\"},\"inject-error\":[{\"event\":\"write_aio\",\"errno\":5}]}}" \
    --blockdev driver=null-co,node-name=nul,size=1048576 \
    --blockdev "driver=qcow2,node-name=big,file.driver=file,file.filename=$JOB_DIR/big.qcow2" \
    --blockdev driver=null-co,node-name=nul16,size=16777216 \
    </dev/null >"$JOB_DIR/log" 2>&1 &
  QSD_PID=$!
  track_pid "$QSD_PID"
  if wait_until 10 _job_socks_or_dead "$QSD_PID" "$QSD_SOCK" "$QSD2_SOCK" &&
      [[ -S $QSD_SOCK && -S $QSD2_SOCK ]]; then
    return 0
  fi
  echo "$1: qemu-storage-daemon did not come up: $(cat "$JOB_DIR/log")" >&2
  stop_pid "$QSD_PID"
  return 1
}
_job_socks_or_dead() { { [[ -S $2 ]] && [[ -S $3 ]]; } || ! pid_alive "$1"; }

# start_vm2 NAME [ARGS...]: a QEMU with monitors on $VM_SOCK and $VM2_SOCK.
start_vm2() {
  local name=$1$(( ++LIB_JOB_N ))
  shift
  VM2_SOCK=$T/$name-2.sock
  start_qemu "$name" -qmp "unix:$VM2_SOCK,server=on,wait=off" "$@" || return 1
  VM_SOCK=$QEMU_SOCK
  wait_for "$VM2_SOCK" 5
}

# ---------------------------------------------------------------- the client

# run_q_to FILE ARGS...: run "$QMPCTL" ARGS with stdout to FILE and stderr to
# $T/err; the exit status goes to $rc.  Adds "-t 10" unless ARGS carry a -t,
# and bounds the run with timeout(1) at 20 s, or at the -t given plus 10 s
# when that is more, times LIB_SLOW (rc 124 then).  stdin is the
# caller's: use run_q ... <FILE or <<<'json' (not a pipe into run_q: that
# would run it in a subshell and lose $rc).
run_q_to() {
  local outf=$1 a prev= limit=20
  shift
  [[ $outf == "$T/out" ]] || : >"$T/out"    # so ctx() shows no stale output
  local argv=(-t 10 "$@")
  for a in "$@"; do
    case $a in -t|-t?*) argv=("$@") ;; esac
    [[ $prev == -t && $a =~ ^[0-9]+ ]] && (( BASH_REMATCH + 10 > limit )) &&
      limit=$(( BASH_REMATCH + 10 ))
    prev=$a
  done
  limit=$(( limit * LIB_SLOW / 100 ))
  if [[ -t 0 ]]; then     # never read a terminal
    timeout -k 2 "$limit" "$QMPCTL" "${argv[@]}" >"$outf" 2>"$T/err" </dev/null
  else
    timeout -k 2 "$limit" "$QMPCTL" "${argv[@]}" >"$outf" 2>"$T/err"
  fi
  rc=$?
  return 0
}

# run_q ARGS...: run_q_to "$T/out" ARGS...
run_q() { run_q_to "$T/out" "$@"; }

# ---------------------------------------------------------------- assertions

# ctx: a one-paragraph description of the last run, for assertion messages.
ctx() {
  printf 'rc=%s stdout=[%s] stderr=[%s]' "$rc" \
    "$(head -c 300 "$T/out" 2>/dev/null | tr -d '\000')" "$(tr -d '\000' <"$T/err" 2>/dev/null)"
}

# is_one_line FILE: FILE is exactly one non-empty line ending in "\n".
is_one_line() {
  [[ -s $1 ]] && [[ $(wc -l <"$1") -eq 1 ]] && [[ -z $(tail -c 1 "$1") ]]
}

# assert_that MSG CMD [ARGS...]: run CMD; assertTrue MSG on its success.
# (Never write  cmd; assertTrue "...$(x)..." $?  -- the command substitution
# in the message resets $? before assertTrue sees it.)
assert_that() {
  local msg=$1 st
  shift
  "$@"
  st=$?
  assertTrue "$msg" "$st"
}

# assert_rc EXPECTED [WHAT]: the exit status.
assert_rc() {
  assertEquals "${2:+$2: }exit status; $(ctx)" "$1" "$rc"
}

# assert_no_stderr [WHAT]: stderr is empty.
assert_no_stderr() {
  assertEquals "${1:+$1: }stderr must be empty; $(ctx)" "" "$(cat "$T/err")"
}

# assert_one_line FILE [WHAT]: FILE is exactly one line.
assert_one_line() {
  assert_that "${2:+$2: }$(basename "$1") must be exactly one line; $(ctx)" \
    is_one_line "$1"
}

# assert_ok [WHAT]: rc 0, stderr empty, stdout exactly one line.
assert_ok() {
  assert_rc 0 "$1"
  assert_no_stderr "$1"
  assert_one_line "$T/out" "$1"
}

# assert_err_line [ERE] [WHAT]: stderr is exactly one line starting with
# "qmpctl: " (and matching the extended regexp ERE, if given), and perhaps
# "qmpctl: hint: " lines after it.
assert_err_line() {
  local what=${2:+$2: }
  grep -v '^qmpctl: hint: ' "$T/err" >"$T/err.nohint"
  assert_one_line "$T/err.nohint" "$2"
  assertEquals "${what}stderr must start with 'qmpctl: '; $(ctx)" \
    "qmpctl: " "$(head -c 8 "$T/err")"
  if [[ -n $1 ]]; then
    assert_that "${what}stderr must match /$1/; $(ctx)" grep -qE -- "$1" "$T/err.nohint"
  fi
}

# assert_fails RC [ERE] [WHAT]: exit status RC, nothing on stdout, one
# "qmpctl: " line on stderr (matching ERE if given).
assert_fails() {
  assert_rc "$1" "$3"
  assertEquals "${3:+$3: }stdout must be empty; $(ctx)" "" "$(cat "$T/out")"
  assert_err_line "$2" "$3"
}

# assert_cmd_error CLASS [WHAT]: the server's error: rc 1, stdout one line
# {"class":CLASS,"desc":DESC}, stderr exactly "qmpctl: CLASS: DESC".
assert_cmd_error() {
  local what=${2:+$2: } desc
  assert_rc 1 "$2"
  assert_one_line "$T/out" "$2"
  assertEquals "${what}error class; $(ctx)" "$1" "$(jq -r .class "$T/out" 2>/dev/null)"
  assert_that "${what}error desc must be a string; $(ctx)" \
    _jq_true '.desc | type == "string"' "$T/out"
  desc=$(jq -r .desc "$T/out" 2>/dev/null)
  assert_err_line "" "$2"
  assertEquals "${what}stderr; $(ctx)" "qmpctl: $1: $desc" "$(head -n 1 "$T/err")"
}

# _jq_true FILTER FILE: FILE holds one JSON value and FILTER gives exactly
# "true" on it.  (Not jq -e: jq 1.6 -e exits 0 on an empty input.)
_jq_true() { [[ $(jq "$1" "$2" 2>/dev/null) == true ]]; }

# assert_jq FILTER [WHAT]: jq -e FILTER is true on stdout.
assert_jq() {
  assert_that "${2:+$2: }jq '$1' on stdout; $(ctx)" _jq_true "$1" "$T/out"
}

# assert_compact [WHAT]: stdout is byte-identical to jq's compact rendering
# (one line, no whitespace).  Only for outputs without huge numbers.
assert_compact() {
  assert_that "${1:+$1: }stdout must not be empty; $(ctx)" test -s "$T/out"
  assertEquals "${1:+$1: }stdout must be compact JSON; $(ctx)" \
    "$(jq -c . "$T/out" 2>&1)" "$(cat "$T/out")"
}

# ---------------------------------------------------------------- hooks

# lib_cleanup: stop everything and remove $T and the folders of
# start_exec_agent (idempotent).
lib_cleanup() {
  local d
  stop_all
  [[ -n $T && $T == /tmp/qmpctl-test.* ]] && rm -rf "$T"
  for d in "${XA_PARENTS[@]}"; do
    [[ $d == /tmp/qmpctl-xa.* ]] && rm -rf "$d"
  done
  XA_PARENTS=()
  return 0
}

tearDown() { stop_all; }
oneTimeTearDown() { lib_cleanup; }

# start_trap: a unix listener on $T/trap.sock that appends a line to
# $T/trap.log for every connection it accepts (and closes it at once), to
# prove that a usage error connected nowhere.
start_trap() {
  rm -f "$T/trap.sock" "$T/trap.log"
  python3 - "$T/trap.sock" "$T/trap.log" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "a") as f:
        f.write("connection\n")
    c.close()
EOF
  track_pid $!
  wait_until 5 unix_listening "$T/trap.sock"
}

# require_built FILE HOW: stop the script (from oneTimeSetUp) when FILE is
# not an executable, saying how to build it.
require_built() {
  if [[ ! -x $1 ]]; then
    echo "${0##*/}: $1 not found or not executable (run $2)" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------- qemu-ga as nobody

# qemu-ga acts on the machine it runs on.  Run as root it always gets the
# whole block list of /work/shared/qmp-notes.md.  This list is that one LESS
# guest-exec and guest-file-write, and is for start_exec_agent only.
XA_BLOCK=guest-shutdown,guest-suspend-disk,guest-suspend-ram,guest-suspend-hybrid,guest-set-time,guest-fsfreeze-freeze,guest-fsfreeze-freeze-list,guest-fsfreeze-thaw,guest-fstrim,guest-set-vcpus,guest-set-user-password,guest-set-memory-blocks,guest-ssh-add-authorized-keys,guest-ssh-remove-authorized-keys
XA_PARENTS=()

_xa_up() { [[ -S $XA_SOCK ]] || ! pid_alive "$XA_PID"; }

# _xa_uids_are PID UID: the real, effective, saved and file-system uids of
# process PID are all UID.
_xa_uids_are() {
  [[ $(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status" 2>/dev/null) == "$2 $2 $2 $2" ]]
}

# start_exec_agent: start a qemu-ga with guest-exec and guest-file-write
# enabled, the only safe way: as user and group 65534 (nobody) with no
# other groups, in XA_DIR, a fresh folder of mode 0700 owned by 65534 under
# a 0755 parent of its own in /tmp (removed by lib_cleanup); its socket
# (XA_SOCK), state and log are there, and so is its working directory.
# It is stopped again unless it runs as 65534 and guest-info shows
# guest-exec enabled and the rest of the block list disabled.  Sets XA_PID,
# XA_DIR and XA_SOCK.  Tests run programs only on files in XA_DIR and write
# files only there.
start_exec_agent() {
  local parent ok
  parent=$(mktemp -d /tmp/qmpctl-xa.XXXXXX) || return 1
  XA_PARENTS+=("$parent")
  [[ -n ${QMPCTL_TEST_DIRS:-} ]] && echo "$parent" >>"$QMPCTL_TEST_DIRS"
  XA_DIR=$parent/d
  XA_SOCK=$XA_DIR/ga.sock
  chmod 755 "$parent" && mkdir -m 700 "$XA_DIR" &&
    chown 65534:65534 "$XA_DIR" || return 1
  (cd "$XA_DIR" && exec setpriv --reuid=65534 --regid=65534 --clear-groups \
    "${QGA_BIN:-qemu-ga}" -m unix-listen -p "$XA_SOCK" -t "$XA_DIR" \
    -l "$XA_DIR/ga.log" -b "$XA_BLOCK") </dev/null >"$parent/ga.out" 2>&1 &
  XA_PID=$!
  track_pid "$XA_PID"
  if ! wait_until 10 _xa_up || ! pid_alive "$XA_PID" ||
      ! _xa_uids_are "$XA_PID" 65534; then
    echo "lib.sh: qemu-ga as 65534 did not start: $(cat "$parent/ga.out")" >&2
    stop_pid "$XA_PID"
    return 1
  fi
  timeout -k 2 "$(lim 10)" "$QMPCTL" --qga -t 5 -s "$XA_SOCK" -c guest-info \
    >"$parent/info" 2>&1 </dev/null
  ok=$(jq --arg b "$XA_BLOCK" '($b | split(",")) as $bl
    | [.supported_commands[] | select(.name as $n | any($bl[]; . == $n))]
    | length >= 10 and all(.[]; .enabled == false)' "$parent/info" 2>&1)
  if [[ $ok != true ]] || ! _jq_true 'any(.supported_commands[];
      .name == "guest-exec" and .enabled)' "$parent/info"; then
    echo "lib.sh: qemu-ga as 65534 does not show the expected commands; stopped it" >&2
    stop_pid "$XA_PID"
    return 1
  fi
}
