#!/bin/sh
# SPDX-License-Identifier: MIT
# Starts a throwaway qemu-system-x86_64 (no kernel, no disk), runs qmpctl
# against its monitor, and stops it again.  Every command is printed as it
# can be pasted back into a shell (quoted), with the socket and -t shown.
set -u
qmpctl=${1:-./qmpctl}
dir=$(mktemp -d /tmp/qmpctl-demo.XXXXXX)
sock=$dir/qmp.sock
qemu_pid=

cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

qemu-system-x86_64 -machine none -nodefaults -display none -no-user-config \
    -qmp "unix:$sock,server=on,wait=off" &
qemu_pid=$!

# quote WORD: WORD as the shell reads it back (in single quotes if needed).
quote() {
	case $1 in
	*[!A-Za-z0-9_./:=,@%+-]* | '')
		printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
	*)	printf '%s' "$1" ;;
	esac
}

# run ARGS...: print "$ qmpctl ARGS" quoted, run it, show its exit status.
run() {
	printf '\n$ qmpctl'
	for a in "$@"; do
		printf ' %s' "$(quote "$a")"
	done
	printf '\n'
	"$qmpctl" "$@"
	printf '(exit status %s)\n' "$?"
}

echo "QEMU started (pid $qemu_pid); its QMP socket is $sock"
echo "(qmpctl stands for $qmpctl below)"
s=$sock
run -s "$s" -t 10 --wait 5 -c query-status
run -s "$s" -t 5 -c query-version --pretty
run -s "$s" -t 5 -c qom-get path=/machine property=type
run -s "$s" -t 5 -c qom-get -a '{"path":"/machine","property":"type"}'
run -s "$s" -t 5 --hmp 'info status'
run -s "$s" -t 5 -c stop --wait-event STOP
run -s "$s" -t 5 -c cont --wait-event RESUME
printf '\n$ echo %s | qmpctl -s %s -t 5 | jq .qemu.major\n' \
    "$(quote '{"execute":"query-version"}')" "$(quote "$s")"
echo '{"execute":"query-version"}' | "$qmpctl" -s "$s" -t 5 | jq .qemu.major
run -s "$s" -t 5 -c no-such-command
run -s "$s" -t 5 -c quit
wait "$qemu_pid"
echo "QEMU exited with status $?"
qemu_pid=
