#!/bin/sh
# Starts a throwaway qemu-system-x86_64 (no kernel, no disk), runs qmpctl
# against its monitor, and stops it again.
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

run() {
	printf '\n$ %s\n' "$*"
	"$@"
	printf '(exit status %s)\n' "$?"
}

export QMP_SOCKET=$sock
echo "QEMU started (pid $qemu_pid), QMP socket $sock"
run "$qmpctl" --wait 5 -t 10 -c query-status
run "$qmpctl" -c query-version --pretty
run "$qmpctl" -c qom-get -a '{"path":"/machine","property":"type"}'
run "$qmpctl" -r -c human-monitor-command -a '{"command-line":"info status"}'
printf '\n$ echo '\''{"execute":"query-version"}'\'' | %s | jq .qemu.major\n' "$qmpctl"
echo '{"execute":"query-version"}' | "$qmpctl" | jq .qemu.major
run "$qmpctl" -c no-such-command
run "$qmpctl" -c quit
wait "$qemu_pid"
echo "QEMU exited with status $?"
qemu_pid=
