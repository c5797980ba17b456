#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_faults.sh -- the fault matrix: hostile peers and bad input.
# Run from the project root:
#
#     bash tests/test_faults.sh                 every case
#     FAULTS='greet-close reply-nul' bash tests/test_faults.sh
#     QMPCTL=./qmpctl-asan bash tests/test_faults.sh
#
# Each directory tests/faults/NAME/ is one case and becomes one shunit2 test,
# test_NAME (dashes turned into underscores).  A case is data only:
#
#   title          one line saying what the case checks
#   peer           the fake peer's script (tests/fakepeer.c).  Absent: the
#                  case is local (usage errors and the like), and the driver
#                  starts a "probe" peer instead, which proves afterwards that
#                  qmpctl never connected: it must still be waiting, and the
#                  first connection it accepts must be the driver's probe.
#   peer_tcp       (empty) the peer listens on a loopback tcp port (-p) so
#                  that it can send a real RST; @SOCK@ is then 127.0.0.1:PORT
#   args           qmpctl's arguments: one line of shell words.  @SOCK@ is
#                  the peer's address, @T@ a fresh directory for the case.
#                  "-t 10" is added unless a -t/--timeout is given (under
#                  valgrind 10 times FAULTS_TIME_SCALE).
#   stdin          qmpctl's standard input (default /dev/null)
#   stdout_to      closed (>&-), full (>/dev/full) or pipe (| head -c1);
#                  default a file, checked as below
#   expect_rc      the exact exit status
#   expect_stdout  the exact stdout; or expect_jq, a jq filter that must
#                  print true on it; neither: stdout must be empty
#   expect_stderr  an extended regexp the one line on stderr must match;
#                  absent: stderr must be empty
#   expect_hint    an extended regexp the one "qmpctl: hint: " line that
#                  follows it must match; absent: no hint line
#   expect_sent    the exact bytes the peer must have received (the peer's
#                  recvlog), read once the peer has seen the close
#   expect_sent_jq a jq filter that must print true on the messages the
#                  peer received, as one array (jq -s; 0xFF bytes dropped),
#                  read once the peer has seen the close: for checks that
#                  the random sync id keeps out of expect_sent
#   expect_time    "MIN MAX": the run's wall time in seconds (for a signal
#                  case, from the signal to the exit): at least MIN (a
#                  deadline it must wait for), at most MIN plus (MAX - MIN)
#                  times the slowdown measured around the run (tests/lib.sh:
#                  MAX itself on an idle machine); such a run is killed
#                  at twice that bound plus 5 s instead of at 20 s
#   max_rss_mb     the largest resident set allowed (plain build only)
#   signal         INT or TERM: start qmpctl in the background, and send it
#                  this signal once the recvlog matches the extended regexp
#                  in signal_wait (or once the path in signal_wait_path
#                  exists); it must exit at once with 128+N, and the peer
#                  must see the connection close
#   signal_wait_wchan  instead, send it once /proc/PID/wchan (where qmpctl
#                  sleeps in the kernel) matches this extended regexp
#   signal_wait_wchar  instead, send it once qmpctl wrote at least this many
#                  bytes (/proc/PID/io's wchar): a stalled stdout is full
#   fifo           names, one a line, of FIFOs made in @T@ before the run
#   stdout_stall   (empty) in a signal case, stdout is a FIFO that nobody
#                  reads, so that qmpctl blocks writing once it is full
#   expect_gone    a path (with @T@) that must not exist afterwards
#
# Under valgrind (QMPCTL=tests/faults/valgrind-qmpctl) time limits are
# multiplied by FAULTS_TIME_SCALE (default 5 there, 1 otherwise) and RSS is
# not measured; FAULTS_SKIP_SIGNALS=1 skips the signal cases.

. tests/lib.sh

FAULTS_DIR=${FAULTS_DIR:-tests/faults}

case $QMPCTL in
*valgrind*) F_VALGRIND=1 ;;
*) F_VALGRIND= ;;
esac
case $QMPCTL in
*asan*|*valgrind*) F_MEASURE_RSS= ;;
*) F_MEASURE_RSS=1 ;;
esac
FAULTS_TIME_SCALE=${FAULTS_TIME_SCALE:-${F_VALGRIND:+5}}
FAULTS_TIME_SCALE=${FAULTS_TIME_SCALE:-1}

# The probe peer: answers the first message it gets with a marker.
F_PROBE_SCRIPT='expect
send {"probe": "ok"}\r\n'
F_PROBE_MSG='{"probe":1}'

oneTimeSetUp() {
  local tool
  if [[ ! -x ${QMPCTL%% *} ]]; then
    echo "test_faults.sh: $QMPCTL not found or not executable (run make)" >&2
    exit 1
  fi
  require_built "$FAKEPEER" "make tests/fakepeer"
  for tool in jq socat; do
    if ! command -v "$tool" >/dev/null; then
      echo "test_faults.sh: $tool not installed" >&2
      exit 1
    fi
  done
  if [[ -n $F_MEASURE_RSS && ! -x /usr/bin/time ]]; then
    echo "test_faults.sh: /usr/bin/time missing (apt-get install time):" \
      "RSS limits not checked" >&2
    F_MEASURE_RSS=
  fi
  printf '%s\n' "$F_PROBE_SCRIPT" >"$T/probe.script"
}

# ---------------------------------------------------------------- helpers

# f_has FILE: the case has FILE.
f_has() { [[ -e $F_CASE/$1 ]]; }

# f_line FILE: the first line of the case's FILE, without its newline.
f_line() {
  local line
  IFS= read -r line <"$F_CASE/$1"
  printf '%s' "$line"
}

# f_subst TEXT: TEXT with @SOCK@ and @T@ replaced.
f_subst() {
  local s=$1
  s=${s//@SOCK@/$F_ADDR}
  s=${s//@T@/$F_DIR}
  printf '%s' "$s"
}

# f_start_peer SCRIPT: start the fake peer on the case's socket (or tcp
# port) with SCRIPT, wait for its pidfile, and set F_PEER and F_ADDR.
f_start_peer() {
  local script=$1 port
  local -a where
  if f_has peer_tcp; then
    where=(-p "$F_DIR/port")
  else
    where=(-u "$F_DIR/s")
  fi
  "$FAKEPEER" "${where[@]}" -r "$F_DIR/recv" -P "$F_DIR/pid" -T "$PEER_LIFE" \
    "$script" 2>"$F_DIR/peer.err" &
  F_PEER=$!
  track_pid "$F_PEER"
  if ! wait_until 5 _f_peer_up; then
    fail "the fake peer did not start: $(cat "$F_DIR/peer.err")"
    return 1
  fi
  if f_has peer_tcp; then
    port=$(cat "$F_DIR/port")
    F_ADDR=127.0.0.1:$port
  else
    F_ADDR=$F_DIR/s
  fi
}
_f_peer_up() { [[ -s $F_DIR/pid ]] || ! pid_alive "$F_PEER"; }

# f_argv: set F_ARGV from the case's args, with the default -t.
f_argv() {
  local line a
  line=$(f_subst "$(f_line args)")
  eval "F_ARGV=($line)"
  for a in "${F_ARGV[@]}"; do
    case $a in -t|-t?*|--timeout|--timeout=*) return 0 ;; esac
  done
  F_ARGV=(-t "$(( 10 * FAULTS_TIME_SCALE ))" "${F_ARGV[@]}")
}

# f_run: run qmpctl as the case says; sets rc, F_SECS, F_RSS_KB.
f_run() {
  local in=/dev/null start lo hi limit=$(( 10 * FAULTS_TIME_SCALE + 10 ))
  prompt_begin
  # A case with a time limit is killed soon after it, not at 20 s.
  if f_has expect_time; then
    read -r lo hi <"$F_CASE/expect_time"
    limit=$(( (${hi%.*} + 1) * FAULTS_TIME_SCALE * 2 * PROMPT_SLOW / 100 + 5 ))
  else
    limit=$(( limit * PROMPT_SLOW / 100 ))
  fi
  local -a pre=(timeout -k 2 "$limit")
  f_has stdin && in=$F_CASE/stdin
  [[ -n $F_MEASURE_RSS ]] && f_has max_rss_mb &&
    pre+=(/usr/bin/time -f %M -o "$F_DIR/rss")
  : >"$T/out"
  _now_us; start=$REPLY
  case $(f_has stdout_to && f_line stdout_to) in
  closed)
    "${pre[@]}" "$QMPCTL" "${F_ARGV[@]}" <"$in" >&- 2>"$T/err"
    rc=$? ;;
  full)
    "${pre[@]}" "$QMPCTL" "${F_ARGV[@]}" <"$in" >/dev/full 2>"$T/err"
    rc=$? ;;
  pipe)
    "${pre[@]}" "$QMPCTL" "${F_ARGV[@]}" <"$in" 2>"$T/err" |
      head -c 1 >"$F_DIR/head"
    rc=${PIPESTATUS[0]} ;;
  '')
    "${pre[@]}" "$QMPCTL" "${F_ARGV[@]}" <"$in" >"$T/out" 2>"$T/err"
    rc=$? ;;
  *)
    fail "bad stdout_to: $(f_line stdout_to)"
    return 1 ;;
  esac
  _now_us; F_SECS=$(( REPLY - start ))
  prompt_end
  F_RSS_KB=
  [[ -s $F_DIR/rss ]] && F_RSS_KB=$(tail -n 1 "$F_DIR/rss")
  return 0
}

# f_recv_matches: the recvlog matches the case's signal_wait regexp.
f_recv_matches() { _file_has "$F_DIR/recv" "$(f_line signal_wait)"; }

# f_run_signal: run qmpctl in the background, send it the case's signal
# once it is waiting, and collect its exit; sets rc and F_SECS.
f_run_signal() {
  local in=/dev/null pid sig start
  sig=$(f_line signal)
  f_has stdin && in=$F_CASE/stdin
  : >"$T/out"
  if f_has stdout_stall; then
    # Held open read-write by this shell, read by nobody.
    mkfifo "$F_DIR/stall"
    exec {F_STALL}<>"$F_DIR/stall"
    "$QMPCTL" "${F_ARGV[@]}" <"$in" >"$F_DIR/stall" 2>"$T/err" &
  else
    "$QMPCTL" "${F_ARGV[@]}" <"$in" >"$T/out" 2>"$T/err" &
  fi
  pid=$!
  track_pid "$pid"
  if f_has signal_wait_path; then
    wait_until 10 test -e "$(f_subst "$(f_line signal_wait_path)")"
  elif f_has signal_wait_wchan; then
    wait_until 10 _f_wchan "$pid" "$(f_line signal_wait_wchan)"
  elif f_has signal_wait_wchar; then
    wait_until 10 _f_wchar "$pid" "$(f_line signal_wait_wchar)"
  else
    wait_until 10 f_recv_matches
  fi || {
    fail "qmpctl never reached the wait; recvlog=[$(cat "$F_DIR/recv" 2>/dev/null)] $(ctx)"
    return 1
  }
  prompt_begin
  _now_us; start=$REPLY
  kill -s "$sig" "$pid"
  if ! wait_exit "$pid" 5; then
    fail "qmpctl did not exit within 5 s of SIG$sig"
    kill -KILL "$pid" 2>/dev/null
    wait_exit "$pid" 5
    rc=
    return 1
  fi
  rc=$exit_status
  _now_us; F_SECS=$(( REPLY - start ))
  prompt_end
  if f_has stdout_stall; then
    exec {F_STALL}>&-
  fi
}
_f_sent_jq() {
  [[ $(tr -d '\377' <"$F_DIR/recv" | jq -s "$1" 2>/dev/null) == true ]]
}
_f_wchan() { grep -qE -- "$2" "/proc/$1/wchan" 2>/dev/null; }
_f_wchar() {
  local w
  w=$(sed -n 's/^wchar: //p' "/proc/$1/io" 2>/dev/null)
  [[ -n $w && $w -ge $2 ]]
}

# f_secs US: print microseconds US as seconds with 3 decimals.
f_secs() { printf '%d.%03d' $(( $1 / 1000000 )) $(( $1 % 1000000 / 1000 )); }

# ---------------------------------------------------------------- one case

# fault_run NAME: run the case tests/faults/NAME and check everything it
# expects.
fault_run() {
  local name=$1 what want lo hi
  F_CASE=$FAULTS_DIR/$name
  F_DIR=$T/c$(( ++F_SEQ ))
  mkdir -p "$F_DIR"
  what="[$name]"
  if f_has fifo; then
    while read -r want; do
      mkfifo "$F_DIR/$want"
    done <"$F_CASE/fifo"
  fi

  if f_has peer; then
    f_start_peer "$F_CASE/peer" || return 0
  else
    f_start_peer "$T/probe.script" || return 0
  fi
  f_argv
  if f_has signal; then
    f_run_signal || return 0
  else
    f_run || return 0
  fi

  # Exit status, stdout, stderr.
  assert_rc "$(f_line expect_rc)" "$what"
  if f_has stdout_to; then
    :
  elif f_has expect_stdout; then
    assert_that "$what stdout must be exactly [$(cat "$F_CASE/expect_stdout")]; $(ctx)" \
      cmp -s "$F_CASE/expect_stdout" "$T/out"
  elif f_has expect_jq; then
    assert_that "$what jq '$(cat "$F_CASE/expect_jq")' on stdout; $(ctx)" \
      _jq_true "$(cat "$F_CASE/expect_jq")" "$T/out"
  else
    assertEquals "$what stdout must be empty; $(ctx)" "" "$(head -c 300 "$T/out")"
  fi
  if f_has expect_stderr; then
    assert_err_line "$(f_line expect_stderr)" "$what"
  else
    assert_no_stderr "$what"
  fi
  if f_has expect_hint; then
    assertEquals "$what one hint line; $(ctx)" 1 "$(grep -c '^qmpctl: hint: ' "$T/err")"
    assert_that "$what the hint must match /$(f_line expect_hint)/; $(ctx)" \
      grep -qE -- "$(f_line expect_hint)" "$T/err"
  else
    assertEquals "$what no hint line; $(ctx)" 0 "$(grep -c '^qmpctl: hint: ' "$T/err")"
  fi

  # Time and memory.
  if f_has expect_time; then
    read -r lo hi <"$F_CASE/expect_time"
    _us_from_secs "$lo"; lo=$REPLY
    _us_from_secs "$hi"
    hi=$(( lo + (REPLY * FAULTS_TIME_SCALE - lo) * PROMPT_SLOW / 100 ))
    assertTrue "$what wall time $(f_secs "$F_SECS") s, want $(f_secs "$lo")..$(f_secs "$hi") s (slowdown $PROMPT_SLOW%)" \
      "[ $F_SECS -ge $lo ] && [ $F_SECS -le $hi ]"
  fi
  if [[ -n $F_MEASURE_RSS ]] && f_has max_rss_mb; then
    want=$(f_line max_rss_mb)
    assertTrue "$what max RSS ${F_RSS_KB:-?} KiB, want at most $want MiB" \
      "[ -n '$F_RSS_KB' ] && [ '${F_RSS_KB:-0}' -le $(( want * 1024 )) ]"
    echo "    $name: max RSS ${F_RSS_KB:-?} KiB, $(f_secs "$F_SECS") s" >&2
  fi
  if f_has signal && f_has peer; then
    # qmpctl is gone; the peer must see its connection close.
    assert_that "$what the peer must see the connection close" \
      wait_until 5 _pid_gone "$F_PEER"
  fi
  if f_has expect_gone; then
    want=$(f_subst "$(f_line expect_gone)")
    assertFalse "$what $want must not be left behind" "[ -e '$want' ]"
  fi

  # What reached the peer.
  if ! f_has peer; then
    f_check_probe "$what"
  elif f_has expect_sent; then
    # The peer ends once it reads the close; then its log is complete.
    if ! wait_until 5 _pid_gone "$F_PEER"; then
      fail "$what the peer did not see the close; recvlog=[$(cat "$F_DIR/recv")]"
    fi
    assert_that "$what the peer must have received exactly [$(cat "$F_CASE/expect_sent")], got [$(cat "$F_DIR/recv")]" \
      cmp -s "$F_CASE/expect_sent" "$F_DIR/recv"
  elif f_has expect_sent_jq; then
    if ! wait_until 5 _pid_gone "$F_PEER"; then
      fail "$what the peer did not see the close; recvlog=[$(cat "$F_DIR/recv")]"
    fi
    assert_that "$what jq '$(cat "$F_CASE/expect_sent_jq")' on what the peer received: [$(tr -d '\377' <"$F_DIR/recv")]" \
      _f_sent_jq "$(cat "$F_CASE/expect_sent_jq")"
  fi
  stop_pid "$F_PEER"
}

# f_check_probe WHAT: qmpctl never connected to the probe peer: it is still
# waiting, and the first client it serves is ours.
f_check_probe() {
  local got
  assert_that "$1 no connection may be made: the probe peer ended; $(cat "$F_DIR/peer.err")" \
    pid_alive "$F_PEER"
  got=$(printf '%s' "$F_PROBE_MSG" |
    timeout "$(lim 5)" socat -t 5 - "UNIX-CONNECT:$F_DIR/s" 2>&1)
  assertEquals "$1 the probe must be the peer's first client" \
    '{"probe": "ok"}' "$(printf '%s' "$got" | tr -d '\r')"
  assertEquals "$1 nothing may be sent before the probe" \
    "$F_PROBE_MSG" "$(cat "$F_DIR/recv")"
}

# ---------------------------------------------------------------- suite

# f_testname NAME: the shunit2 function name for case NAME.
f_testname() {
  local n=${1//[^A-Za-z0-9_]/_}
  printf 'test_%s' "$n"
}

suite() {
  local d name fn
  F_SEQ=0
  for d in "$FAULTS_DIR"/*/; do
    name=$(basename "$d")
    if [[ -n ${FAULTS:-} && " $FAULTS " != *" $name "* ]]; then
      continue
    fi
    [[ -f $d/expect_rc ]] || continue
    if [[ -e $d/signal && -n ${FAULTS_SKIP_SIGNALS:-} ]]; then
      echo "test_faults.sh: skipping signal case $name" >&2
      continue
    fi
    fn=$(f_testname "$name")
    eval "$fn() { fault_run '$name'; }"
    suite_addTest "$fn"
  done
}

. shunit2
