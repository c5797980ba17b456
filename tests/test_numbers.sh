#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_numbers.sh -- every JSON number goes through with the
# characters it was written with (replies, events, the greeting, --events,
# -a, KEY:=JSON, batches), and --match and ids compare numbers by exact
# value.  Run from the project root:  bash tests/test_numbers.sh [-- testName...]
#
# Outputs are compared byte for byte with cmp, never through jq, which
# may round numbers.
#
# Facts checked by hand against QEMU 7.2:
#   -machine pc with -device loader,id=ld,addr=0x1000,data=0xffffffffffffffff,
#     data-len=8: qom-list /machine/peripheral/ld lists "data" (uint64);
#     qom-get of it is 18446744073709551615
#   -machine none: qom-get /machine/unattached/system[0] "size" is
#     18446744073709551615 (the system memory region spans 2^64 bytes)
#   qemu-storage-daemon: block-set-write-threshold {"node-name": "n0",
#     "write-threshold": 18446744073709551615} returns {} (the argument is a
#     uint64); query-named-block-nodes then shows "write_threshold": -1,
#     since that field is an int64 in QEMU's schema: the same 64 bits.
#     9223372036854775807 shows back as itself.

. tests/lib.sh

# Every form of number, as a server may print them, and qmpctl's rendering.
NU_NUMS='[18446744073709551615, -9223372036854775809, 12345678901234567890123, 1e400, 4.9e-324, 1.0, -0.0, 0.1, 2E+10]'
NU_COMPACT='[18446744073709551615,-9223372036854775809,12345678901234567890123,1e400,4.9e-324,1.0,-0.0,0.1,2E+10]'

oneTimeSetUp() {
  require_built "$QMPCTL" make
  require_built "$FAKEPEER" "make tests/fakepeer"
}

# nu_exact FILE TEXT [WHAT]: FILE holds exactly the bytes of TEXT.
nu_exact() {
  printf '%s' "$2" >"$T/want"
  assert_that "${3:+$3: }$(basename "$1") must be exactly [$2], is [$(head -c 600 "$1")]; $(ctx)" \
    cmp -s "$T/want" "$1"
}

# nu_reply TEXT ARGS...: a peer answers the command with TEXT (a reply
# line for the peer's script, $ID standing for the command's id), and
# qmpctl runs with ARGS against it.
nu_reply() {
  local reply=$1
  shift
  start_fakepeer greet negotiate expect "send $reply" wait_close ||
    { fail "fake peer did not start"; return 1; }
  run_q -s "$PEER_SOCK" "$@"
}

# An event line for a peer script, with DATA as its data.
nu_event() {
  printf 'send {"timestamp": {"seconds": 1795312832, "microseconds": 1}, "event": "%s", "data": %s}\\r\\n' "$1" "$2"
}

# ================================================================ from the server

test_reply_numbers_exact() {
  local reply='{"return": {"n": '"$NU_NUMS"', "u": 18446744073709551615}, "id": $ID}\r\n'

  nu_reply "$reply" -c x || return 0
  assert_rc 0 "every number form"
  assert_no_stderr "every number form"
  nu_exact "$T/out" '{"n":'"$NU_COMPACT"',"u":18446744073709551615}
' "compact"
  fakepeer_done "compact"

  nu_reply "$reply" -c x --pretty || return 0
  assert_rc 0 "--pretty"
  nu_exact "$T/out" '{
  "n": [
    18446744073709551615,
    -9223372036854775809,
    12345678901234567890123,
    1e400,
    4.9e-324,
    1.0,
    -0.0,
    0.1,
    2E+10
  ],
  "u": 18446744073709551615
}
' "--pretty"
  fakepeer_done "--pretty"

  nu_reply "$reply" -c x --full || return 0
  assert_rc 0 "--full"
  nu_exact "$T/out" '{"return":{"n":'"$NU_COMPACT"',"u":18446744073709551615},"id":null}
' "--full"
  fakepeer_done "--full"

  # --raw prints a number as it came (it only unquotes strings).
  nu_reply '{"return": 12345678901234567890123, "id": $ID}\r\n' -c x --raw || return 0
  assert_rc 0 "--raw"
  nu_exact "$T/out" '12345678901234567890123
' "--raw, a number"
  fakepeer_done "--raw"

  # An error reply with numbers in it.
  nu_reply '{"error": {"class": "GenericError", "desc": "no", "n": 1E400}, "id": $ID}\r\n' -c x || return 0
  assert_rc 1 "an error reply"
  nu_exact "$T/out" '{"class":"GenericError","desc":"no","n":1E400}
' "an error reply"
  fakepeer_done "an error reply"
}

test_event_numbers_exact() {
  start_fakepeer greet negotiate expect 'send {"return": {}, "id": $ID}\r\n' \
    "$(nu_event WANTED "{\"n\": $NU_NUMS}")" wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q -s "$PEER_SOCK" -c x --wait-event WANTED --events "$T/ev.log"
  assert_rc 0 "event numbers"
  assert_no_stderr "event numbers"
  local line='{"timestamp":{"seconds":1795312832,"microseconds":1},"event":"WANTED","data":{"n":'"$NU_COMPACT"'}}'
  nu_exact "$T/out" "{}
$line
" "--wait-event"
  nu_exact "$T/ev.log" "$line
" "--events"
  fakepeer_done "event numbers"

  start_fakepeer greet negotiate expect 'send {"return": {}, "id": $ID}\r\n' \
    "$(nu_event WANTED '{"n": 1E+2}')" wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q -s "$PEER_SOCK" -c x --wait-event WANTED --pretty
  assert_rc 0 "event --pretty"
  nu_exact "$T/out" '{}
{
  "timestamp": {
    "seconds": 1795312832,
    "microseconds": 1
  },
  "event": "WANTED",
  "data": {
    "n": 1E+2
  }
}
' "event --pretty"
  fakepeer_done "event --pretty"
}

test_greeting_numbers_exact() {
  start_fakepeer 'send {"QMP": {"version": {"qemu": {"micro": 18446744073709551615, "minor": 0.1, "major": 7.0}, "package": ""}, "capabilities": []}}\r\n' \
    negotiate expect 'send {"return": -0.0, "id": $ID}\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q -s "$PEER_SOCK" --greeting -c x
  assert_rc 0 "greeting numbers"
  assert_no_stderr "greeting numbers"
  nu_exact "$T/out" '{"QMP":{"version":{"qemu":{"micro":18446744073709551615,"minor":0.1,"major":7.0},"package":""},"capabilities":[]}}
-0.0
' "--greeting"
  fakepeer_done "greeting numbers"
}

# ================================================================ from the user

test_user_numbers_sent_as_written() {
  nu_reply '{"return": {}, "id": $ID}\r\n' -c x \
    -a '{"a": 18446744073709551615, "b": 0.1}' c:=1e400 'd:={"e": [-0.0, 2E+10]}' ||
    return 0
  assert_rc 0 "-a and KEY:=JSON"
  fakepeer_done "-a and KEY:=JSON"
  nu_exact "$PEER_RECV" '{"execute":"qmp_capabilities"}{"execute":"x","arguments":{"a":18446744073709551615,"b":0.1,"c":1e400,"d":{"e":[-0.0,2E+10]}}}' \
    "-a and KEY:=JSON"

  printf '{"n": -9223372036854775809, "f": 4.9e-324}' >"$T/args.json"
  nu_reply '{"return": {}, "id": $ID}\r\n' -c x -a @"$T/args.json" || return 0
  assert_rc 0 "-a @FILE"
  fakepeer_done "-a @FILE"
  nu_exact "$PEER_RECV" '{"execute":"qmp_capabilities"}{"execute":"x","arguments":{"n":-9223372036854775809,"f":4.9e-324}}' \
    "-a @FILE"

  start_fakepeer greet negotiate expect 'send {"return": {}, "id": $ID}\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q -s "$PEER_SOCK" -c x -a @- <<<'{"n": 12345678901234567890123}'
  assert_rc 0 "-a @-"
  fakepeer_done "-a @-"
  nu_exact "$PEER_RECV" '{"execute":"qmp_capabilities"}{"execute":"x","arguments":{"n":12345678901234567890123}}' \
    "-a @-"

  # A batch: the id the user gave is kept too, as written.
  start_fakepeer greet negotiate expect 'send {"return": 1, "id": $ID}\r\n' \
    expect 'send {"return": 2, "id": $ID}\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q -s "$PEER_SOCK" <<<'{"execute": "x", "arguments": {"n": 1.0, "m": 1E-7}}
{"execute": "y", "id": 18446744073709551615}'
  assert_rc 0 "batch"
  nu_exact "$T/out" '1
2
' "batch"
  fakepeer_done "batch"
  nu_exact "$PEER_RECV" '{"execute":"qmp_capabilities"}{"execute":"x","arguments":{"n":1.0,"m":1E-7}}{"execute":"y","id":18446744073709551615}' \
    "batch"
}

# QEMU echoes an id by value, re-serialised: 1.0 comes back as 1.
test_batch_ids_by_value() {
  start_fakepeer greet negotiate \
    expect 'send {"return": "a", "id": 1}\r\n' \
    expect 'send {"return": "b", "id": 100}\r\n' \
    expect 'send {"return": "c", "id": 0}\r\n' \
    expect 'send {"return": "not mine", "id": 18446744073709551614}\r\n' \
    'send {"return": "d", "id": 18446744073709551615}\r\n' \
    expect 'send {"return": "not mine", "id": {"n": 2}}\r\n' \
    'send {"return": "e", "id": {"n": 1}}\r\n' wait_close ||
    { fail "fake peer did not start"; return 0; }
  run_q -s "$PEER_SOCK" <<<'{"execute": "a", "id": 1.0}
{"execute": "b", "id": 1e2}
{"execute": "c", "id": -0.0}
{"execute": "d", "id": 18446744073709551615}
{"execute": "e", "id": {"n": 10e-1}}'
  assert_rc 0 "ids by value"
  assert_no_stderr "ids by value"
  nu_exact "$T/out" '"a"
"b"
"c"
"d"
"e"
' "ids by value"
  fakepeer_done "ids by value"
}

# ================================================================ --match

# nu_match DATA1 DATA2 MATCH: two WANTED events with DATA1 and DATA2, then
# qmpctl --wait-event WANTED --match MATCH; stdout goes to $T/out.
nu_match() {
  start_fakepeer greet negotiate expect 'send {"return": {}, "id": $ID}\r\n' \
    "$(nu_event WANTED "$1")" "$(nu_event WANTED "$2")" wait_close ||
    { fail "fake peer did not start"; return 1; }
  run_q -s "$PEER_SOCK" -c x --wait-event WANTED --match "$3"
  assert_rc 0 "--match $3"
  fakepeer_done "--match $3"
}

# nu_matched K MATCH: the event printed is the one whose data.k is K.
nu_matched() {
  assert_that "--match $2 picks k=$1; $(ctx)" grep -qF "\"k\":\"$1\"" "$T/out"
}

test_match_numbers_exactly() {
  nu_match '{"offset": 18446744073709551615, "k": "a"}' \
    '{"offset": 18446744073709551614, "k": "b"}' offset=18446744073709551614 &&
    nu_matched b offset=18446744073709551614
  nu_match '{"offset": 18446744073709551614, "k": "a"}' \
    '{"offset": 18446744073709551615, "k": "b"}' offset=18446744073709551615 &&
    nu_matched b offset=18446744073709551615
  # 2^53 and 2^53 + 1 are the same double.
  nu_match '{"offset": 9007199254740993, "k": "a"}' \
    '{"offset": 9007199254740992, "k": "b"}' offset=9007199254740992 &&
    nu_matched b offset=9007199254740992
  nu_match '{"n": 0.1, "k": "a"}' \
    '{"n": 0.10000000000000001, "k": "b"}' n=0.10000000000000001 &&
    nu_matched b n=0.10000000000000001
  # The same value written differently.
  nu_match '{"n": 2, "k": "a"}' '{"n": 1.0, "k": "b"}' n=1 && nu_matched b n=1
  nu_match '{"n": 2, "k": "a"}' '{"n": 1, "k": "b"}' n=1.0 && nu_matched b n=1.0
  nu_match '{"n": 2, "k": "a"}' '{"n": 1, "k": "b"}' n=1e0 && nu_matched b n=1e0
  nu_match '{"n": 1e401, "k": "a"}' '{"n": 10e399, "k": "b"}' n=1e400 && nu_matched b n=1e400
  nu_match '{"n": 1, "k": "a"}' '{"n": 0, "k": "b"}' n=-0.0 && nu_matched b n=-0.0
  # Inside a JSON value too.
  nu_match '{"s": {"x": [1, 2.5]}, "k": "a"}' '{"s": {"x": [1.0, 25e-1]}, "k": "b"}' \
    's={"x":[1,2.50]}' && nu_matched a 's={"x":[1,2.50]}'
}

# ================================================================ real servers

# Ids QEMU holds as doubles come back as "%.17g" writes them; each is still
# its command's reply, and an id past a double's range is refused unsent.
test_float_ids_against_qemu() {
  start_qemu none || { fail "could not start QEMU"; return 0; }
  run_q -t 10 -s "$QEMU_SOCK" -f <<<'{"execute":"query-status","id":0.1}
{"execute":"query-status","id":1e2}
{"execute":"query-status","id":18446744073709551616}
{"execute":"query-status","id":[0.3,{"a":-0.0}]}'
  assert_rc 0 "float ids"
  assert_no_stderr "float ids"
  sed -E 's/.*,"id":(.*)\}$/\1/' "$T/out" >"$T/ids"
  nu_exact "$T/ids" "$(printf '%s\n' 0.10000000000000001 100 \
    1.8446744073709552e+19 '[0.29999999999999999,{"a":-0}]')
" "float ids"
  run_q -t 10 -s "$QEMU_SOCK" <<<'{"execute":"query-status","id":1e400}'
  assert_fails 2 '^qmpctl: stdin: command 1: "id" holds a number past the range of a double, which QEMU cannot echo \(see --help\)$' "id 1e400"
  stop_pid "$QEMU_PID"
}

test_qemu_uint64_property() {
  start_qemu loader -machine pc -accel tcg -S \
    -device loader,id=ld,addr=0x1000,data=0xffffffffffffffff,data-len=8 ||
    { fail "could not start QEMU"; return 0; }
  run_q -s "$QEMU_SOCK" -c qom-get path=/machine/peripheral/ld property=data
  assert_rc 0 "qom-get of a loader's data"
  assert_no_stderr "qom-get of a loader's data"
  nu_exact "$T/out" '18446744073709551615
' "qom-get of a loader's data"
  run_q -s "$QEMU_SOCK" -c qom-get path=/machine/peripheral/ld property=data --pretty --full
  assert_rc 0 "--full --pretty"
  nu_exact "$T/out" '{
  "return": 18446744073709551615
}
' "--full --pretty"
  run_q -s "$QEMU_SOCK" -c quit
  stop_pid "$QEMU_PID"

  start_qemu none || { fail "could not start QEMU"; return 0; }
  run_q -s "$QEMU_SOCK" -c qom-get 'path=/machine/unattached/system[0]' property=size
  assert_rc 0 "qom-get of system[0] size"
  nu_exact "$T/out" '18446744073709551615
' "qom-get of system[0] size"
  run_q -s "$QEMU_SOCK" -c quit
  stop_pid "$QEMU_PID"
}

_nu_sock_or_dead() { [[ -S $1 ]] || ! pid_alive "$2"; }

test_qsd_write_threshold() {
  local sock=$T/qsd.sock
  qemu-storage-daemon --chardev "socket,id=m,path=$sock,server=on,wait=off" \
    --monitor chardev=m --blockdev driver=null-co,node-name=n0,size=1048576 \
    </dev/null >"$T/qsd.log" 2>&1 &
  local pid=$!
  track_pid "$pid"
  if ! wait_until 10 _nu_sock_or_dead "$sock" "$pid" || [[ ! -S $sock ]]; then
    fail "qemu-storage-daemon did not come up: $(cat "$T/qsd.log")"
    return 0
  fi
  run_q -s "$sock" -c block-set-write-threshold node-name=n0 \
    write-threshold:=18446744073709551615
  assert_rc 0 "block-set-write-threshold"
  nu_exact "$T/out" '{}
' "block-set-write-threshold"
  run_q -s "$sock" -c query-named-block-nodes
  assert_rc 0 "query-named-block-nodes"
  # QEMU reports the threshold as an int64: 2^64 - 1 reads -1.
  assert_that "write_threshold as QEMU prints it; $(ctx)" \
    grep -qF '"write_threshold":-1,' "$T/out"
  run_q -s "$sock" -c block-set-write-threshold node-name=n0 \
    write-threshold:=9223372036854775807
  assert_rc 0 "block-set-write-threshold 2^63 - 1"
  run_q -s "$sock" -c query-named-block-nodes
  assert_that "write_threshold comes back exactly; $(ctx)" \
    grep -qF '"write_threshold":9223372036854775807,' "$T/out"
  run_q -s "$sock" -c quit
  stop_pid "$pid"
}

. shunit2
