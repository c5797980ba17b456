#!/bin/bash
# SPDX-License-Identifier: MIT
# Tests of the fake QMP peer itself (tests/fakepeer), driven with socat.
# Run from the top directory: bash tests/test_fakepeer.sh [-- testName...]
# It builds nothing: $FAKEPEER (default tests/fakepeer) must exist.

FAKEPEER=${FAKEPEER:-$(dirname "$0")/fakepeer}
# Plain "Ran N tests" / "FAILED (failures=N)" lines for tests/run.sh to
# parse: shunit2 colours them whenever $TERM allows, even into a file.
SHUNIT_COLOR=${SHUNIT_COLOR:-none}
. "$(dirname "$0")/slowdown.sh"

GREETING='{"QMP": {"version": {"qemu": {"micro": 2, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7"}, "capabilities": ["oob"]}}'

oneTimeSetUp() {
	if [ ! -x "$FAKEPEER" ]; then
		echo "test_fakepeer.sh: $FAKEPEER: not built" >&2
		exit 1
	fi
	if ! command -v socat >/dev/null; then
		echo "test_fakepeer.sh: socat not installed" >&2
		exit 1
	fi
}

setUp() {
	T=$(mktemp -d /tmp/fp.XXXXXX) || fail "mktemp"
	PEER_PID=
	PEER_START=
	PEER_RC=
}

tearDown() {
	if [ -n "$PEER_PID" ]; then
		peer_is_ours && kill "$PEER_PID" 2>/dev/null
		wait "$PEER_PID" 2>/dev/null
	fi
	rm -rf "$T"
}

# peer_is_ours: PEER_PID is still the peer start_peer started, not another
# process that got its number after the peer exited.
peer_is_ours() {
	local st
	st=$(cut -d' ' -f22 "/proc/$PEER_PID/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" = "$PEER_START" ]
}

# wait_file FILE: poll every 10 ms, up to 5 s, for FILE to appear while
# the peer lives.  Returns 1 on timeout or if the peer died.
wait_file() {
	local i
	for i in $(seq 500); do
		[ -e "$1" ] && return 0
		kill -0 "$PEER_PID" 2>/dev/null || return 1
		sleep 0.01
	done
	return 1
}

# start_peer ARGS...: start the peer in the background with a pidfile and
# a 60 s self-destruct (ARGS may override -T: a lifetime that a busy machine
# cannot outrun), wait until it listens.
# Sets PEER_PID.  The script is $T/script; stderr goes to $T/err.
start_peer() {
	"$FAKEPEER" -P "$T/pid" -T 60 "$@" "$T/script" 2>"$T/err" &
	PEER_PID=$!
	PEER_START=$(cut -d' ' -f22 "/proc/$PEER_PID/stat" 2>/dev/null)
	wait_file "$T/pid" || fail "peer did not start: $(cat "$T/err")"
}

# start_unix ARGS...: start_peer listening on $T/sock, logging to $T/log.
start_unix() {
	start_peer -u "$T/sock" -r "$T/log" "$@"
}

# peer_wait: wait (up to 5 s) for the peer to exit; set PEER_RC.
peer_wait() {
	local i
	for i in $(seq 500); do
		kill -0 "$PEER_PID" 2>/dev/null || break
		sleep 0.01
	done
	wait "$PEER_PID"
	PEER_RC=$?
	PEER_PID=
}

# script LINES...: write the peer's script, one argument a line.
script() {
	printf '%s\n' "$@" >"$T/script"
}

# client INPUT: send INPUT (printf format) to the unix peer, print replies.
client() {
	printf "$1" | timeout 5 socat -t 5 - "UNIX-CONNECT:$T/sock"
}

test_greeting_and_empty_recvlog() {
	script greet
	start_unix
	client '' >"$T/out"
	printf '%s\r\n' "$GREETING" >"$T/want"
	peer_wait
	assertEquals "exit status" 0 "$PEER_RC"
	assertTrue "greeting text" "cmp $T/want $T/out"
	assertTrue "recvlog created" "[ -e $T/log ]"
	assertTrue "recvlog empty" "[ ! -s $T/log ]"
	assertFalse "socket unlinked" "[ -e $T/sock ]"
}

test_expect_echoes_id() {
	script negotiate
	start_unix
	out=$(client '{"execute":"x","id":"abc"}')
	peer_wait
	assertEquals "exit status" 0 "$PEER_RC"
	assertEquals "reply" "$(printf '{"return": {}, "id": "abc"}\r')" "$out"
	assertEquals "recvlog" '{"execute":"x","id":"abc"}' "$(cat "$T/log")"
}

test_id_forms_and_framing() {
	script expect 'send $ID\n' expect 'send $ID\n' expect 'send $ID\n' \
	    expect 'send $ID\n' expect 'send $ID\n'
	start_unix
	# Junk before '{', back-to-back messages, braces and "id" inside
	# strings and nested objects, whitespace around the colon.
	client 'junk\r\n{"execute":"a","id":"}{"}{"arguments":{"id":7,"s":"\\"id\\":"},"id" : {"a":[1,"}"]} }\n{"execute":"id"}{"id":5}{"id":-1.5e3 ,"x":1}' >"$T/out"
	peer_wait
	assertEquals "exit status" 0 "$PEER_RC"
	printf '%s\n' '"}{"' '{"a":[1,"}"]}' null 5 -1.5e3 >"$T/want"
	assertTrue "ids: $(cat "$T/out")" "cmp $T/want $T/out"
}

test_escapes_and_slow_sends() {
	script 'send a\0b\xff\xFE\t\\$ID\x24ID' 'sendslow <\r\n>' \
	    'trickle 5 abc'
	start_unix
	client '' >"$T/out"
	peer_wait
	assertEquals "exit status" 0 "$PEER_RC"
	printf 'a\000b\377\376\t\\null$ID<\r\n>abc' >"$T/want"
	assertTrue "bytes" "cmp $T/want $T/out"
}

test_expect_client_closed() {
	script greet expect 'send never'
	start_unix
	client '{"half": ' >/dev/null
	peer_wait
	assertEquals "exit status" 1 "$PEER_RC"
	assertContains "message" "$(cat "$T/err")" \
	    "fakepeer: expect: client closed"
	assertEquals "recvlog kept" '{"half": ' "$(cat "$T/log")"
}

test_wait_close_then_send() {
	script wait_close 'send after\n'
	start_unix
	# socat half-closes at the end of its input, then still reads.
	out=$(client 'bye')
	peer_wait
	assertEquals "exit status" 0 "$PEER_RC"
	assertEquals "reply after half-close" after "$out"
	assertEquals "recvlog" bye "$(cat "$T/log")"
}

test_tcp_portfile() {
	script greet
	start_peer -p "$T/port"
	port=$(cat "$T/port")
	assertTrue "port number: $port" "[ '$port' -gt 0 ] 2>/dev/null"
	assertFalse "no temporary left" "[ -e $T/port.tmp ]"
	out=$(timeout 5 socat -u "TCP:127.0.0.1:$port" - </dev/null)
	peer_wait
	assertEquals "exit status" 0 "$PEER_RC"
	assertEquals "greeting" "$GREETING$(printf '\r')" "$out"
}

test_tcp6_portfile() {
	script greet
	"$FAKEPEER" -p "$T/port" -6 -P "$T/pid" -T 60 "$T/script" \
	    2>"$T/err" &
	PEER_PID=$!
	if ! wait_file "$T/pid"; then
		peer_wait
		startSkipping
		assertEquals "no ::1 here: $(cat "$T/err")" 2 "$PEER_RC"
		return
	fi
	out=$(timeout 5 socat -u "TCP6:[::1]:$(cat "$T/port")" - </dev/null)
	peer_wait
	assertEquals "exit status" 0 "$PEER_RC"
	assertEquals "greeting" "$GREETING$(printf '\r')" "$out"
}

test_reset_is_a_reset() {
	script greet 'send x' reset
	start_peer -p "$T/port"
	# socat reports a reset on read as a warning (-d), status 0.
	out=$(timeout 5 socat -d -u "TCP:127.0.0.1:$(cat "$T/port")" - \
	    </dev/null 2>"$T/client.err")
	peer_wait
	assertEquals "peer exit status" 0 "$PEER_RC"
	assertContains "client saw a reset" "$(cat "$T/client.err")" \
	    "Connection reset by peer"
	assertEquals "data before the reset" "$GREETING$(printf '\r\nx')" \
	    "$out"
}

test_close_is_not_a_reset() {
	script greet 'send x' close 'send not reached'
	start_peer -p "$T/port"
	out=$(timeout 5 socat -d -u "TCP:127.0.0.1:$(cat "$T/port")" - \
	    </dev/null 2>"$T/client.err")
	rc=$?
	peer_wait
	assertEquals "peer exit status" 0 "$PEER_RC"
	assertEquals "client status" 0 "$rc"
	assertEquals "client saw no error" "" "$(cat "$T/client.err")"
	assertEquals "output" "$GREETING$(printf '\r\nx')" "$out"
}

test_deadline_bounds_a_hang() {
	script greet hang
	start_unix -T 1
	slowdown_pct
	slow=$SLOWDOWN_PCT
	t0=$(date +%s%N)
	# Read only: socat -u never half-closes, so only -T ends the hang.
	timeout 5 socat -u "UNIX-CONNECT:$T/sock" - >/dev/null
	peer_wait
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	slowdown_pct
	(( SLOWDOWN_PCT > slow )) && slow=$SLOWDOWN_PCT
	bound=$(( 1000 + 1500 * slow / 100 ))
	assertEquals "exit status" 3 "$PEER_RC"
	# 1 s, and 1.5 s times the slowdown measured around it (tests/lib.sh).
	assertTrue "gone after ${ms} ms, want at most $bound ms (slowdown $slow%)" \
	    "[ $ms -le $bound ]"
	assertContains "message" "$(cat "$T/err")" "deadline"
}

test_deadline_without_client() {
	script greet
	start_unix -T 1
	peer_wait
	assertEquals "exit status" 3 "$PEER_RC"
	assertFalse "socket unlinked" "[ -e $T/sock ]"
}

test_big_deep_repeat() {
	script 'big 1000000' 'deep 5000' 'repeat 10000 {"event": "X"}\r\n'
	start_unix
	n=$(client '' | wc -c)
	peer_wait
	assertEquals "exit status" 0 "$PEER_RC"
	assertEquals "bytes" $((12 + 1000000 + 16 + 10000 + 10000 * 16)) \
	    "$n"
}

test_flood_ends_when_client_leaves() {
	script greet 'flood {"event": "SPAM"}\r\n'
	start_unix
	n=$(timeout 5 socat -u "UNIX-CONNECT:$T/sock" - 2>/dev/null |
	    head -c 300000 | wc -c)
	peer_wait
	assertEquals "exit status" 0 "$PEER_RC"
	assertEquals "bytes read" 300000 "$n"
}

test_bigraw_client_leaves() {
	script 'bigraw 10000000000 {"return": "'
	start_unix
	n=$(timeout 5 socat -u "UNIX-CONNECT:$T/sock" - 2>/dev/null |
	    head -c 100 | wc -c)
	peer_wait
	assertEquals "exit status" 0 "$PEER_RC"
	assertEquals "bytes read" 100 "$n"
}

test_script_errors() {
	for bad in 'bogus' 'send' 'greet now' 'sleep x' 'big -1' \
	    'repeat 3' 'send \q' 'send \x4' 'flood '; do
		printf '# comment\n\ngreet\n%s\n' "$bad" >"$T/script"
		"$FAKEPEER" -u "$T/sock" -P "$T/pid" "$T/script" 2>"$T/err"
		assertEquals "'$bad': status" 2 "$?"
		assertContains "'$bad': line number" "$(cat "$T/err")" \
		    "script:4:"
		assertFalse "'$bad': no pidfile" "[ -e $T/pid ]"
	done
	"$FAKEPEER" "$T/script" 2>/dev/null
	assertEquals "usage" 2 "$?"
	"$FAKEPEER" -u "$T/sock" -6 "$T/script" 2>/dev/null
	assertEquals "-6 with -u" 2 "$?"
	"$FAKEPEER" -u "$T/sock" -T 0 "$T/script" 2>/dev/null
	assertEquals "-T 0" 2 "$?"
	: >"$T/file"
	printf 'greet\n' >"$T/script"
	"$FAKEPEER" -u "$T/file" "$T/script" 2>/dev/null
	assertEquals "refuses to unlink a non-socket" 2 "$?"
	assertTrue "file kept" "[ -e $T/file ]"
}

test_script_on_stdin() {
	printf 'greet\n' | "$FAKEPEER" -u "$T/sock" -P "$T/pid" -T 60 - \
	    2>"$T/err" &
	PEER_PID=$!
	wait_file "$T/pid" || fail "peer did not start: $(cat "$T/err")"
	out=$(client '')
	peer_wait
	assertEquals "exit status" 0 "$PEER_RC"
	assertEquals "greeting" "$GREETING$(printf '\r')" "$out"
}

. shunit2
