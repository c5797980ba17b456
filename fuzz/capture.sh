#!/bin/bash
# SPDX-License-Identifier: MIT
# fuzz/capture.sh -- records what real servers send, for the seed corpus.
# Run from the project root:  bash fuzz/capture.sh
#
# Starts, one after the other, a QEMU (-machine none) with a plain and a
# pretty=on monitor, a qemu-storage-daemon and a qemu-ga (with the block
# list from /work/shared/qmp-notes.md: it runs on THIS host), sends each a
# fixed list of commands with socat, and writes the server's bytes, exactly
# as received, to fuzz/transcripts/NAME.  Then it rebuilds fuzz/corpus/
# from the transcripts (see fuzz/mkcorpus.sh).
#
# The ids follow what the fuzz_client target's calls send: none for
# qmp_capabilities, 1 for query-status, 2 for query-version (qemu-ga: 1
# and 2 after the sync).  Rerun this script if qmp_execute's ids change.
set -u
cd "$(dirname "$0")/.." || exit 2

OUT=fuzz/transcripts
D=$(mktemp -d /tmp/qmpcap.XXXXXX) || exit 1
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
mkdir -p "$OUT"

# wait_sock PATH: wait up to 10 s for a socket while $PID lives.
wait_sock() {
	for _ in $(seq 1000); do
		[ -S "$1" ] && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.01
	done
	echo "capture.sh: no socket $1" >&2
	exit 1
}

# talk SOCK NAME: send stdin to SOCK (keeping our side open for a second,
# so that every reply arrives before we half-close), save the replies.
talk() {
	local input
	input=$(cat; printf x)
	{ printf '%s' "${input%x}"; sleep 1; } |
	    timeout 10 socat -t 2 - "UNIX-CONNECT:$1" >"$OUT/$2"
	echo "capture.sh: $OUT/$2: $(wc -c <"$OUT/$2") bytes"
}

# stop: kill the server by pid.
stop() {
	kill "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
}

QEMU_CMDS='{"execute":"qmp_capabilities"}
{"execute":"query-status","id":1}
{"execute":"query-version","id":2}
{"execute":"stop","id":3}
{"execute":"cont","id":4}
{"execute":"no-such-command","id":5}
{"execute":"qom-list","arguments":{"path":"/nonexistent"},"id":6}
{"execute":"qom-get","arguments":{"path":"/machine","property":"type"},"id":"qmpctl-7"}
{"execute":"human-monitor-command","arguments":{"command-line":"info version"},"id":{"n":[8]}}
{"execute":"system_reset","id":9}
{"execute":"query-status","id":1}
'
# An id-less error (the parser resynchronising on a control byte), then
# the same for a second client that talks before negotiating.
QEMU_TAIL=$'\x1b{"execute":"query-status"}\n'

# ---- QEMU, plain monitor
qemu-system-x86_64 -machine none -nodefaults -display none -no-user-config \
    -qmp "unix:$D/q.sock,server=on,wait=off" </dev/null >"$D/q.log" 2>&1 &
PID=$!
wait_sock "$D/q.sock"
printf '%s%s' "$QEMU_CMDS" "$QEMU_TAIL" | talk "$D/q.sock" qemu-session
printf '%s\n' '{"execute":"query-status","id":1}' \
    '{"execute":"qmp_capabilities"}' \
    '{"execute":"qmp_capabilities","id":2}' \
    '{"execute":"quit","id":3}' | talk "$D/q.sock" qemu-unnegotiated
stop

# ---- QEMU, pretty=on monitor
qemu-system-x86_64 -machine none -nodefaults -display none -no-user-config \
    -chardev "socket,id=m,path=$D/p.sock,server=on,wait=off" \
    -mon chardev=m,mode=control,pretty=on </dev/null >"$D/p.log" 2>&1 &
PID=$!
wait_sock "$D/p.sock"
printf '%s%s' "$QEMU_CMDS" "$QEMU_TAIL" | talk "$D/p.sock" qemu-pretty-session
stop

# ---- qemu-storage-daemon: no query-status (an error), a backup job
qemu-storage-daemon --chardev "socket,id=m,path=$D/s.sock,server=on,wait=off" \
    --monitor chardev=m \
    --blockdev driver=null-co,node-name=n0,size=1048576 \
    --blockdev driver=null-co,node-name=n1,size=1048576 \
    </dev/null >"$D/s.log" 2>&1 &
PID=$!
wait_sock "$D/s.sock"
printf '%s\n' '{"execute":"qmp_capabilities"}' \
    '{"execute":"query-status","id":1}' \
    '{"execute":"query-version","id":2}' \
    '{"execute":"query-named-block-nodes","arguments":{"flat":true},"id":3}' \
    '{"execute":"blockdev-backup","arguments":{"job-id":"j0","device":"n0","target":"n1","sync":"full"},"id":4}' \
    '{"execute":"query-jobs","id":5}' |
    talk "$D/s.sock" qsd-session
stop

# ---- qemu-ga, with every dangerous command blocked; only sync, ping, info
BLOCK=guest-shutdown,guest-suspend-disk,guest-suspend-ram,guest-suspend-hybrid,guest-set-time,guest-fsfreeze-freeze,guest-fsfreeze-freeze-list,guest-fsfreeze-thaw,guest-fstrim,guest-set-vcpus,guest-set-user-password,guest-set-memory-blocks,guest-ssh-add-authorized-keys,guest-ssh-remove-authorized-keys,guest-exec,guest-file-write
mkdir -p "$D/gastate"
qemu-ga -m unix-listen -p "$D/ga.sock" -t "$D/gastate" -l "$D/ga.log" \
    -b "$BLOCK" </dev/null >/dev/null 2>&1 &
PID=$!
wait_sock "$D/ga.sock"
printf '\xff%s%s%s' \
    '{"execute":"guest-sync-delimited","arguments":{"id":123456}}' \
    '{"execute":"guest-ping","id":1}' \
    '{"execute":"guest-info","id":2}' | talk "$D/ga.sock" qga-session
stop

bash fuzz/mkcorpus.sh
