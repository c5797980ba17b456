#!/bin/bash
# SPDX-License-Identifier: MIT
# socat-oneshot.sh SOCKET: run query-status the way a shell script without
# qmpctl would: socat carries the bytes, bash reads the lines.
#
# `printf ... | socat - UNIX-CONNECT:SOCKET` is not used: socat then waits
# -t seconds (0.5 by default) after stdin ends, and with a short -t it may
# leave before QEMU answers.  Here socat runs as a coprocess with -t0 and
# its stdin is closed only once the reply is in, so it exits at once and
# the time measured is that of the work.  Relies on QEMU's one message per
# line (no pretty=on).  Prints the reply; exits 1 if none came within 5 s.
set -u

coproc S { exec socat -t0 - "UNIX-CONNECT:$1"; }
in=${S[0]} out=${S[1]} pid=$S_PID
printf '%s' '{"execute":"qmp_capabilities"}{"execute":"query-status"}' >&"$out"
n=0
while IFS= read -r -t 5 line <&"$in"; do
	case $line in
	'{"return"'* | '{"error"'*)
		n=$((n + 1))
		if [ "$n" = 2 ]; then
			printf '%s\n' "$line"
			break
		fi
		;;
	esac
done
exec {out}>&-
wait "$pid" 2>/dev/null
[ "$n" = 2 ]
