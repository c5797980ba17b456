#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_replies.sh -- what qmpctl takes from a server, against the fake
# peer: long strings decode as short ones, which message is the reply, exact
# --match values, 0xFF between agent replies, stdin commands with both
# execute and exec-oob.  These back the fault cases of the same names (in
# tests/faults/) with a second, independent test each, so that a mutant
# (make mutate) that one of them misses is still caught.

. tests/lib.sh

oneTimeSetUp() {
  require_built "$QMPCTL" make
  require_built "$FAKEPEER" "make tests/fakepeer"
}

# rp_ev SECONDS NAME DATA: an event's text for a peer script line.
rp_ev() {
  printf '{"timestamp": {"seconds": %s, "microseconds": 0}, "event": "%s", "data": %s}\\r\\n' "$@"
}

# rp_run_reply TEXT ARGS...: qmpctl ARGS against a peer that answers the
# command with TEXT (a peer script text).
rp_run_reply() {
  local text=$1
  shift
  start_fakepeer greet negotiate expect "send $text" hang ||
    { fail "fake peer did not start"; return 1; }
  run_q -t 5 -s "$PEER_SOCK" "$@"
}

# ------------------------------------------------- long strings, short ones

# The pad: plain ASCII, long enough that the string is a long one (4096
# bytes and more) whichever side of the escapes it stands.
RP_PAD=$(printf '%05000d' 0 | tr 0 p)

# The strings' bodies as the server writes them (peer script escapes:
# \\ is one backslash on the wire).
RP_BODIES=(
  'new\\nline'
  'e acute \\u00e9 and raw \xc3\xa9'
  'a smile \\ud83d\\ude00'
  'quote \\" and backslash \\\\ and slash \\/'
  'tab\\t cr\\r bs\\b ff\\f'
  'brackets } ] { [ and an escaped quote \\"} in a string'
)

# rp_unpad [FILE]: FILE (or stdin) without the pads.
rp_unpad() { perl -pe 's/p{5000}//g' "$@"; }

test_long_strings_decode_as_short_ones() {
  local body short long where
  for body in "${RP_BODIES[@]}"; do
    for where in back both; do
      # A reply, printed as JSON.
      rp_run_reply '{"return": {"s": "'"$body"'"}, "id": $ID}\r\n' -c q
      assert_rc 0 "short [$body]"
      short=$(cat "$T/out")
      case $where in
      back) long=$body$RP_PAD ;;
      both) long=$RP_PAD$body$RP_PAD ;;
      esac
      rp_run_reply '{"return": {"s": "'"$long"'"}, "id": $ID}\r\n' -c q
      assert_rc 0 "long [$body] ($where)"
      assertEquals "long [$body] ($where): the pad aside, as the short one" \
        "$short" "$(rp_unpad "$T/out")"
    done

    # An event, printed by --wait-event; and -r, the bare string.
    start_fakepeer greet negotiate expect 'send {"return": {}}\r\n' \
      "send $(rp_ev 1 E '{"s": "'"$body"'"}')$(rp_ev 2 E '{"s": "'"$RP_PAD$body"'"}')" \
      hang || { fail "fake peer did not start"; return 0; }
    run_q -t 5 -s "$PEER_SOCK" -c go --wait-event E --count 2
    assert_rc 0 "events [$body]"
    assertEquals "event: the long string as the short one [$body]" \
      "$(sed -n '2s/"seconds":1/"seconds":2/p' "$T/out")" \
      "$(sed -n 3p "$T/out" | rp_unpad)"

    rp_run_reply '{"return": "'"$body"'"}\r\n' -r -c q
    short=$(od -An -c "$T/out")
    rp_run_reply '{"return": "'"$RP_PAD$body$RP_PAD"'"}\r\n' -r -c q
    assertEquals "-r: the long string's bytes as the short one's [$body]" \
      "$short" "$(rp_unpad "$T/out" | od -An -c)"
  done
}

test_long_strings_bad_utf8_refused() {
  local bad
  for bad in '\xff\xfe' '\xc3(' '\xed\xa0\x80' '\xf8\x88\x80\x80\x80' \
      '\\udc00' '\\ud800x'; do
    rp_run_reply '{"return": "'"$bad"'"}\r\n' -c q
    assert_rc 7 "short [$bad]"
    rp_run_reply '{"return": "'"$RP_PAD$bad"'"}\r\n' -c q
    assert_rc 7 "long, at the end [$bad]"
    assertEquals "long [$bad]: nothing on stdout" "" "$(cat "$T/out")"
    start_fakepeer greet negotiate expect 'send {"return": {}}\r\n' \
      "send $(rp_ev 1 E '{"s": "'"$bad$RP_PAD"'"}')" hang ||
      { fail "fake peer did not start"; return 0; }
    run_q -t 5 -s "$PEER_SOCK" -c go --wait-event E
    assert_rc 7 "long, in an event [$bad]"
  done
}

# ------------------------------------------------- which message is the reply

test_which_message_is_the_reply() {
  # Lockstep: no id goes out, for the negotiation or the command.
  rp_run_reply '{"return": {"a": 1}}\r\n' -c q
  assert_rc 0 "lockstep"
  assertEquals "lockstep: nothing sent holds an id" "false" \
    "$(jq -s 'any(.[]; has("id"))' "$PEER_RECV")"

  # Lockstep: a reply with an id we did not send is dropped, whatever it
  # holds; an error without an id is the answer.
  rp_run_reply '{"return": 5, "id": 0}\r\n{"error": {"class": "X", "desc": "y"}, "id": "q"}\r\n{"error": {"class": "CommandNotFound", "desc": "no q"}}\r\n' -c q
  assert_rc 1 "lockstep, error without an id"
  assertEquals "lockstep, error without an id: stdout" \
    '{"class":"CommandNotFound","desc":"no q"}' "$(cat "$T/out")"

  # --oob: an id goes out; replies with other ids are dropped; an error
  # without an id is the answer; a return without an id is a protocol
  # error; the reply with our id is the answer.
  rp_run_reply '{"return": 5, "id": 2}\r\n{"return": 6, "id": "1"}\r\n{"return": 7, "id": $ID}\r\n' --oob -c q
  assert_rc 0 "--oob, other ids first"
  assertEquals "--oob: the reply with our id" 7 "$(cat "$T/out")"
  assertEquals "--oob: the command carries an id" true \
    "$(jq -s '.[-1] | has("id") and has("exec-oob")' "$PEER_RECV")"
  rp_run_reply '{"return": 5, "id": 99}\r\n{"error": {"class": "GenericError", "desc": "bad"}}\r\n' --oob -c q
  assert_rc 1 "--oob, error without an id"
  assertEquals "--oob, error without an id: stdout" \
    '{"class":"GenericError","desc":"bad"}' "$(cat "$T/out")"
  rp_run_reply '{"return": 5}\r\n{"return": 7, "id": $ID}\r\n' --oob -c q
  assert_rc 7 "--oob, return without an id"
  assertEquals "--oob, return without an id: nothing on stdout" "" "$(cat "$T/out")"

  # A batch command with its own id (a number: 3.0 is the same id).
  start_fakepeer greet negotiate expect 'send {"return": 1, "id": 4}\r\n{"return": 2, "id": 3.0}\r\n' \
    expect 'send {"return": 9}\r\n' hang ||
    { fail "fake peer did not start"; return 0; }
  run_q -t 5 -s "$PEER_SOCK" <<<'{"execute": "a", "id": 3} {"execute": "b", "id": 4}'
  assert_rc 7 "batch with ids"
  assertEquals "batch with ids: the first answered, the second's idless return refused" \
    2 "$(cat "$T/out")"
}

# ------------------------------------------------- --match values are exact

test_match_is_exact() {
  local v
  for v in drive0-backup xdrive0 driv Drive0 'drive0 ' drive00; do
    start_fakepeer greet negotiate expect 'send {"return": {}}\r\n' \
      "send $(rp_ev 1 JOB_READY '{"device": "'"$v"'"}')$(rp_ev 2 JOB_READY '{"device": "drive0"}')" \
      hang || { fail "fake peer did not start"; return 0; }
    run_q -t 5 -s "$PEER_SOCK" -c go --wait-event JOB --wait-event JOB_READY \
      --match device=drive0 --fail-event JOB_READY --match device=drive
    assert_rc 0 "--match device=drive0 with [$v] first"
    assertEquals "--match device=drive0 with [$v] first: the drive0 event" \
      2 "$(sed -n 2p "$T/out" | jq .timestamp.seconds)"
  done
}

# ------------------------------------------------- execute with exec-oob

test_execute_with_exec_oob_refused() {
  local cmd
  for cmd in '{"execute": "a", "exec-oob": "a"}' '{"exec-oob": "b", "execute": "b", "id": 1}'; do
    start_fakepeer greet negotiate expect 'send {"return": {}}\r\n' hang ||
      { fail "fake peer did not start"; return 0; }
    run_q -t 5 -s "$PEER_SOCK" --oob <<<"$cmd"
    assert_rc 2 "[$cmd]"
    assert_that "[$cmd]: the refusal on stderr; $(ctx)" \
      grep -q 'needs exactly one "execute"' "$T/err"
    assertEquals "[$cmd]: nothing sent" "" "$(cat "$PEER_RECV" 2>/dev/null)"
  done

  # The second command of a batch: the first ran, the second is not sent.
  start_fakepeer greet negotiate expect 'send {"return": {}}\r\n' hang ||
    { fail "fake peer did not start"; return 0; }
  run_q -t 5 -s "$PEER_SOCK" <<<'{"execute": "ok"} {"exec-oob": "c", "arguments": {}, "execute": "c"}'
  assert_rc 2 "the second command with both"
  assertEquals "the second command with both: the first's result" '{}' "$(cat "$T/out")"
  assertEquals "the second command with both: only the first sent" \
    '{"execute":"qmp_capabilities"}{"execute":"ok"}' "$(cat "$PEER_RECV")"
}

# ------------------------------------------------- the agent's 0xFF

test_agent_ff_between_replies() {
  local how
  for how in send sendslow; do
    # Before the sync's answer: an earlier client's reply, a stale sync
    # answer, and half a message up to the next 0xFF, all dropped.
    start_fakepeer expect "send {\"return\": 5}\\n\\xff{\"return\": 3}\\n{\"half\": \"x}\\xff{\"return\": \$ARGSID}\\n\\xff\\xff" \
      expect "$how {\"return\": 1}\\xff\\n\\xff" \
      expect "$how \\xff\\xff\\xff{\"return\": 2}" \
      expect "$how \\xff{\"return\": 3}\\xff" hang ||
      { fail "fake peer did not start"; return 0; }
    run_q -t 5 --qga -s "$PEER_SOCK" <<<'{"execute": "a"} {"execute": "b"} {"execute": "c"}'
    assert_rc 0 "0xFF around agent replies ($how)"
    assertEquals "0xFF around agent replies ($how): stdout" "1 2 3" \
      "$(tr '\n' ' ' <"$T/out" | sed 's/ $//')"
  done
}

. shunit2
