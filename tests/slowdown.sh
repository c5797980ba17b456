#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/slowdown.sh -- how loaded the machine is right now, measured, for
# the bounds in time of the test suite (tests/lib.sh, tests/run.sh).
#
# slowdown_pct: sets SLOWDOWN_PCT to the wall time of a reference loop of
# the shell (about 60 ms of processor time, no fork) as a percentage of the
# processor time it used: about 100 on an idle machine, about 400 with four
# runnable processes per core (six busy loops and a test on 2 cores), more
# on a machine that runs other builds too.  Never below 100.  A bound in
# wall time scaled by it holds as well on a busy machine as on an idle one.
#
# Run as a script, it prints that percentage (tests/run.sh scales its
# per-file limit by it).
slowdown_pct() {
  local TIMEFORMAT='%3R %3U %3S' i r u s
  { time for (( i = 0; i < 40000; i++ )); do :; done; } 2>"${T:-/tmp}/.slowdown.$BASHPID"
  read -r r u s <"${T:-/tmp}/.slowdown.$BASHPID"
  rm -f "${T:-/tmp}/.slowdown.$BASHPID"
  r=$(( 10#${r/./} )) u=$(( 10#${u/./} + 10#${s/./} ))
  (( u < 1 )) && u=1
  SLOWDOWN_PCT=$(( r * 100 / u ))
  (( SLOWDOWN_PCT < 100 )) && SLOWDOWN_PCT=100
  return 0
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  slowdown_pct
  echo "$SLOWDOWN_PCT"
fi
