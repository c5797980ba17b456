#!/bin/sh
# Runs every tests/test_*.sh with shunit2 and prints one summary line:
# "N passed, N failed".  Exits non-zero when any test failed.
# QMPCTL names the binary under test (default ./qmpctl).
set -u
cd "$(dirname "$0")/.." || exit 2
: "${QMPCTL:=./qmpctl}"
export SHUNIT_COLOR=none
export QMPCTL
passed=0 failed=0 bad_files=
log=$(mktemp /tmp/qmpctl-run.XXXXXX)
for t in tests/test_*.sh; do
	[ -n "${TESTS:-}" ] && case " $TESTS " in *" $t "*) ;; *) continue;; esac
	start=$(date +%s)
	timeout 600 bash "$t" >"$log" 2>&1
	rc=$?
	ran=$(sed -n 's/^Ran \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	# shunit2 counts failed assertions; count the tests that had one.
	nfail=$(awk '/^test[A-Za-z0-9_]*$/ { cur = $0; next }
	    /^(ASSERT|ERROR):/ && cur != "" && !(cur in bad) { bad[cur]; n++ }
	    END { print n + 0 }' "$log")
	: "${ran:=0}" "${nfail:=0}"
	if [ "$rc" != 0 ] && [ "$nfail" = 0 ]; then
		nfail=1	# the script itself died
	fi
	passed=$((passed + ran - nfail))
	failed=$((failed + nfail))
	printf '%-32s %s tests, %s failed, %ss  [%s]\n' "$t" "$ran" "$nfail" \
	    "$(($(date +%s) - start))" "$QMPCTL"
	if [ "$nfail" != 0 ]; then
		bad_files="$bad_files $t"
		sed 's/^/    /' "$log"
	fi
done
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
