#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every tests/test_*.sh with shunit2, JOBS of them at a time, and
# prints one line per file and build, in a fixed order whatever order they
# finish in (each file's log follows its line when it failed), then one
# summary line: "N passed, N failed".  Exits non-zero when any test failed.
#
# QMPCTL names the binary under test (default ./qmpctl).  BUILDS, a
# space-separated list of binaries, runs every file against each of them
# in the same pool (make check: BUILDS="./qmpctl ./qmpctl-asan").
# TESTS="tests/test_a.sh ..." runs only those files.  JOBS (default 3) is
# how many files run at once; JOBS=1 runs them one after the other.
#
# The files can run side by side: each has its own temp dir ($T, lib.sh),
# puts every socket, pidfile and state dir there, and takes tcp ports from
# the kernel (port 0, or free_port and a retry), never a fixed one.
set -u
cd "$(dirname "$0")/.." || exit 2

# One job, run by the pool below: run.sh --job DIR N.  A stray SIGTERM
# must not end it (xargs would then start no more jobs): it is noted in
# the log, once the file is done.
#
# The file runs under timeout(1), which makes it a process group of its
# own (its leader's pid is noted in DIR/N.pgid, for the traps below).  Its
# limit is FILE_LIMIT (default 600) seconds times the machine's slowdown
# when it starts (bash tests/slowdown.sh: 100 idle, 400 four times
# oversubscribed), passed on to the file (QMPCTL_TEST_SLOWDOWN, lib.sh).  At the limit the whole
# group gets SIGTERM, and SIGKILL 10 s later: no QEMU, qemu-ga or fake peer
# it started is left running.  Nor when it ends otherwise: what is left in
# its group is named in the log (a failure) and killed, and its temp dirs
# (noted in DIR/N.dirs by lib.sh) are removed.
if [ "${1:-}" = --job ]; then
	dir=$2 n=$3
	trap 'echo "run.sh: the job got SIGTERM" >>"$dir/$n.log"' TERM
	start=$(date +%s)
	slow=$(bash tests/slowdown.sh 2>/dev/null) || slow=100
	case $slow in ''|*[!0-9]*) slow=100 ;; esac
	limit=$((${FILE_LIMIT:-600} * slow / 100))
	# In the foreground (an asynchronous command would start with SIGINT
	# ignored), noting its pid first: timeout(1) keeps it.
	QMPCTL=$(cat "$dir/$n.build") QMPCTL_TEST_SLOWDOWN=$slow \
	    QMPCTL_TEST_DIRS=$dir/$n.dirs sh -c 'echo "$$" >"$1"; shift
	    exec "$@"' sh "$dir/$n.pgid" timeout -k 10 "$limit" \
	    bash "$(cat "$dir/$n.file")" >"$dir/$n.log" 2>&1 </dev/null
	rc=$?
	[ -d "$dir" ] || exit 0		# run.sh was interrupted, and is gone
	pg=$(cat "$dir/$n.pgid")
	[ "$rc" = 124 ] || [ "$rc" = 137 ] &&
	    echo "run.sh: ended at its limit of $limit s (slowdown $slow%)" >>"$dir/$n.log"
	left=$(pgrep -g "$pg" 2>/dev/null | tr '\n' ' ')
	if [ -n "$left" ]; then
		echo "run.sh: left running in its process group:" >>"$dir/$n.log"
		ps -o pid=,args= -p "$(echo $left | tr ' ' ,)" >>"$dir/$n.log" 2>&1
		kill -KILL "-$pg" 2>/dev/null
		[ "$rc" = 0 ] && rc=1
	fi
	[ -s "$dir/$n.dirs" ] && while read -r d; do
		case $d in /tmp/qmpctl-test.*|/tmp/qmpctl-xa.*) rm -rf "$d" ;; esac
	done <"$dir/$n.dirs"
	echo "$rc $(($(date +%s) - start))" >"$dir/$n.status"
	exit 0
fi

: "${JOBS:=3}"
export SHUNIT_COLOR=none
dir=$(mktemp -d /tmp/qmpctl-run.XXXXXX) || exit 2
# Interrupted (^C, or a TERM to run.sh), the files still running are
# ended with their process groups (their timeout(1)s are not in the
# terminal's foreground group, so ^C alone would not reach them).
stop_jobs() {
	for p in "$dir"/*.pgid; do
		[ -f "$p" ] || continue
		[ -e "${p%.pgid}.status" ] || kill -TERM "-$(cat "$p")" 2>/dev/null
	done
}
trap 'rm -rf "$dir"' EXIT
trap 'stop_jobs; exit 130' INT
trap 'stop_jobs; exit 143' TERM

# The jobs, numbered in the order of the summary: build by build, file by
# file.  QMPCTL may hold spaces (a wrapper and its arguments); BUILDS not.
n=0
add_jobs() {
	for t in tests/test_*.sh; do
		[ -n "${TESTS:-}" ] && case " $TESTS " in *" $t "*) ;; *) continue;; esac
		n=$((n + 1))
		printf '%s\n' "$1" >"$dir/$n.build"
		printf '%s\n' "$t" >"$dir/$n.file"
	done
}
if [ -n "${BUILDS:-}" ]; then
	for b in $BUILDS; do add_jobs "$b"; done
else
	add_jobs "${QMPCTL:-./qmpctl}"
fi

# Started longest first, so that the pool does not end waiting for one
# long file started last: the slow files (and their sanitized runs, which
# are slower still) lead, the rest follow in summary order.
slow="tests/test_faults.sh tests/test_events.sh tests/test_peers.sh
    tests/test_cli.sh tests/test_qemu.sh tests/test_agent.sh"
: >"$dir/order"
for s in $slow; do
	i=$n
	while [ "$i" -gt 0 ]; do	# the last build (ASan in check) first
		[ "$(cat "$dir/$i.file")" = "$s" ] && echo "$i" >>"$dir/order"
		i=$((i - 1))
	done
done
i=1
while [ "$i" -le "$n" ]; do
	grep -qx "$i" "$dir/order" || echo "$i" >>"$dir/order"
	i=$((i + 1))
done

xargs -P "$JOBS" -n 1 sh tests/run.sh --job "$dir" <"$dir/order"

passed=0 failed=0
i=1
while [ "$i" -le "$n" ]; do
	t=$(cat "$dir/$i.file")
	log=$dir/$i.log
	rc=1 secs=0
	[ -s "$dir/$i.status" ] && read -r rc secs <"$dir/$i.status"
	[ -e "$log" ] || echo "run.sh: $t did not run" >"$log"
	ran=$(sed -n 's/^Ran \([0-9]*\) test.*/\1/p' "$log" 2>/dev/null | tail -n 1)
	# shunit2 counts failed assertions; count the tests that had one.
	nfail=$(awk '/^test[A-Za-z0-9_]*$/ { cur = $0; next }
	    /^(ASSERT|ERROR):/ && cur != "" && !(cur in bad) { bad[cur]; n++ }
	    END { print n + 0 }' "$log" 2>/dev/null)
	: "${ran:=0}" "${nfail:=0}"
	if [ "$rc" != 0 ] && [ "$nfail" = 0 ]; then
		nfail=1	# the script itself died
	fi
	[ "$ran" -ge "$nfail" ] && passed=$((passed + ran - nfail))
	failed=$((failed + nfail))
	printf '%-32s %s tests, %s failed, %ss  [%s]\n' "$t" "$ran" "$nfail" \
	    "$secs" "$(cat "$dir/$i.build")"
	if [ "$nfail" != 0 ]; then
		sed 's/^/    /' "$log"
	fi
	i=$((i + 1))
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
