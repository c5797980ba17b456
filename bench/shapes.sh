#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/shapes.sh: peak memory against message size, by reply shape.
#
#     bash bench/shapes.sh [QMPCTL]        (default bench/qmpctl)
#
# Serves one reply of each shape and size from the fake peer to QMPCTL
# (run by bench/timeit -x, stdout to /dev/null) and prints a Markdown table:
# the exit status, the peak RSS (median of SHAPES_RUNS, default 3) and its
# ratio to the message.  The shapes are the widest a peer can send for its
# size (many empty objects, many one-digit numbers, arrays nested to the
# 1024-level limit, over and over) and one long string, the narrowest.
# bench/run.sh calls it for section 5; it also runs alone (about a minute)
# once bench/qmpctl, bench/fakepeer and bench/timeit are built
# (make -f bench/bench.mk bench/qmpctl bench/fakepeer bench/timeit).

set -u
QMPCTL=${1:-bench/qmpctl}
FAKEPEER=${FAKEPEER:-bench/fakepeer}
RUNS=${SHAPES_RUNS:-3}
SIZES=${SHAPES_MIB:-1 4 16}
T=$(mktemp -d /tmp/qmpctl-shapes.XXXXXX) || exit 1
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$T"' EXIT

# The 1022 nested arrays that, inside {"return": [...]}, reach depth 1024.
DEEP=$(printf '%1022s' '' | tr ' ' '[')$(printf '%1022s' '' | tr ' ' ']')

# script SHAPE BYTES: writes the peer's script for about BYTES of SHAPE.
script() {
	local unit k
	printf 'greet\nnegotiate\nexpect\n' >"$T/fp.script"
	case $1 in
	string)	printf 'big %s\n' "$2" >>"$T/fp.script"; return ;;
	objects)	unit='{}' ;;
	digits)	unit='1' ;;
	deep)	unit=$DEEP ;;
	esac
	k=$(( $2 / (${#unit} + 1) ))
	printf 'send {"return": [%s\nrepeat %s ,%s\nsend ]}\\r\\n\n' \
	    "$unit" "$k" "$unit" >>"$T/fp.script"
}

# measure: one run of QMPCTL against the peer; prints timeit's line.
measure() {
	rm -f "$T/fp.pid" "$T/fp.sock"
	$FAKEPEER -u "$T/fp.sock" -P "$T/fp.pid" -T 300 "$T/fp.script" \
	    2>/dev/null &
	PID=$!
	while [ ! -e "$T/fp.pid" ]; do
		kill -0 "$PID" 2>/dev/null || { echo "shapes: peer died" >&2; exit 1; }
		read -r -t 0.01 <> <(:) || :
	done
	bench/timeit -x "$QMPCTL" -t 120 -s "$T/fp.sock" -c query-status \
	    2>/dev/null
	kill "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
}

echo "| shape | message MiB | exit | peak RSS MiB | RSS / message | CPU s |"
echo "|---|---|---|---|---|---|"
for shape in objects digits deep string; do
	sizes=$SIZES
	[ "$shape" = string ] && sizes="$SIZES 64"
	for mib in $sizes; do
		bytes=$((mib * 1048576))
		script "$shape" "$bytes"
		: >"$T/runs"
		for ((r = 0; r < RUNS; r++)); do
			measure >>"$T/runs"
		done
		sort -n -k2 "$T/runs" | awk -v n="$RUNS" -v shape="$shape" \
		    -v mib="$mib" -v bytes="$bytes" 'NR == int((n + 1) / 2) {
			printf "| %s | %d | %d | %.1f | %.2f | %.3f |\n", shape,
			    mib, $4, $2 / 1024, $2 * 1024 / bytes, $3 }'
	done
done
