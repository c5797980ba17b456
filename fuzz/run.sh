#!/bin/sh
# SPDX-License-Identifier: MIT
# fuzz/run.sh SECONDS TARGET...: runs each libFuzzer TARGET (a binary named
# fuzz_NAME, built by "make fuzz") for SECONDS, one after the other, from
# the seed corpus fuzz/corpus/NAME/.  New inputs go to a scratch directory,
# never into the seed corpus.  Exits non-zero if any target crashed, leaked,
# hung (-timeout=10 per input) or ran out of memory; the input that did it
# is kept in build/fuzz/artifacts/.  Prints the executions per target.
set -u
[ $# -ge 2 ] || { echo "usage: fuzz/run.sh SECONDS TARGET..." >&2; exit 2; }
secs=$1
shift
cd "$(dirname "$0")/.." || exit 2

work=$(mktemp -d /tmp/qmpctl-fuzz.XXXXXX) || exit 2
trap 'rm -rf "$work"' EXIT
mkdir -p build/fuzz/artifacts
failed=

for bin in "$@"; do
	name=$(basename "$bin")
	name=${name#fuzz_}
	case $name in
	client)  max_len=16384 ;;
	address) max_len=512 ;;
	*)       max_len=8192 ;;
	esac
	mkdir -p "$work/$name"
	log=$work/$name.log
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len="$max_len" -print_final_stats=1 \
	    -artifact_prefix="build/fuzz/artifacts/$name-" \
	    "$work/$name" "fuzz/corpus/$name" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ "$rc" -ne 0 ]; then
		failed="$failed $name"
		echo "fuzz_$name: FAILED (status $rc) after ${runs:-?} runs:"
		grep -E 'ERROR|invariant|SUMMARY|artifact|Test unit' "$log" |
		    head -n 20 | sed 's/^/    /'
	else
		echo "fuzz_$name: ${runs:-?} runs in ${secs} s, no failure"
	fi
done
[ -z "$failed" ] || { echo "fuzz: failed:$failed"; exit 1; }
