#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/loaded.sh COMMAND [ARGS...]: run COMMAND on a machine made busy on
# purpose, and exit with its status.  LOAD busy loops (default three per
# processor: with the suite's own JOBS, about four runnable processes per
# core) run beside it; they are stopped by pid when COMMAND ends, however
# it ends, and each also stops by itself once this script is gone (even
# killed with SIGKILL), so none is ever left behind.
#
#     sh tests/loaded.sh sh tests/run.sh        (make check-loaded)
#     LOAD=8 sh tests/loaded.sh bash tests/test_cli.sh
set -u
[ $# -gt 0 ] || { echo "usage: tests/loaded.sh COMMAND [ARGS...]" >&2; exit 2; }
ncpu=$(nproc 2>/dev/null || echo 1)
: "${LOAD:=$((3 * ncpu))}"
case $LOAD in ''|*[!0-9]*) echo "tests/loaded.sh: LOAD=$LOAD: want a number" >&2; exit 2 ;; esac

me=$$
pids=
stop_loops() {
	[ -n "$pids" ] && kill $pids 2>/dev/null
	pids=
}
trap stop_loops EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

i=0
while [ "$i" -lt "$LOAD" ]; do
	# Busy, and gone within a moment of this script.
	sh -c 'while kill -0 "$1" 2>/dev/null; do :; done' busy "$me" </dev/null &
	pids="$pids $!"
	i=$((i + 1))
done
echo "tests/loaded.sh: $LOAD busy loops on $ncpu processors beside: $*" >&2
"$@"
rc=$?
stop_loops
exit "$rc"
