#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_screen.sh -- --screendump, --keys and --type against a real
# qemu-system-x86_64 7.2 (-machine pc, TCG, a VGA: SeaBIOS draws in text
# mode, 720x400), QEMU's own input trace, and the fake peer for a server
# without PNG screendumps.
# Run from the project root:  bash tests/test_screen.sh [-- testName...]
#
# Facts checked by hand against QEMU 7.2.22:
#   screendump runs as a coroutine but writes the file and closes its
#       descriptor before it replies; a full disk is its error "PNG
#       creation failed. Unable to close file: No space left on device"
#   /dev/fdset/N is opened write-only: add-fd needs a write-only descriptor
#   -machine none: GenericError "There is no console to take a screendump from"
#   send-key's events show in the trace as
#       "input_event_key_qcode con -1, key qcode ctrl, down 1"
#   a stopped VM's virtual clock stands still, and so does the cursor's
#       blinking: two pictures of it are the same bytes

. tests/lib.sh

# A machine with a display, cheap otherwise.
VGA_ARGS=(-machine pc -accel tcg -m 32 -nodefaults -display none -no-user-config)

oneTimeSetUp() {
  local tool
  require_built "$QMPCTL" make
  require_built "$FAKEPEER" "make tests/fakepeer"
  for tool in jq od setpriv script; do
    command -v "$tool" >/dev/null || { echo "test_screen.sh: $tool not installed" >&2; exit 1; }
  done
  if [[ $(id -u) != 0 ]]; then
    echo "test_screen.sh: must run as root (QEMU as user 65534, tmpfs mounts)" >&2
    exit 1
  fi
  MOUNTS=()
}

tearDown() {
  local m
  stop_all
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; done
  MOUNTS=()
}

# ---------------------------------------------------------------- helpers

# start_vga NAME [ARGS...]: QEMU with a VGA and a monitor on $T/NAME.sock.
start_vga() {
  local QEMU_BASE_ARGS=("${VGA_ARGS[@]}")
  start_qemu "$@" -device VGA,id=vga0
}

# png_size FILE: print "WIDTH HEIGHT" from FILE's IHDR chunk.
png_size() {
  local b
  read -ra b < <(od -An -tu1 -j16 -N8 "$1")
  echo "$(( b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3] )) $(( b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7] ))"
}

# is_png FILE: FILE starts with the PNG signature and ends with IEND.
is_png() {
  [[ $(od -An -tx1 -N8 "$1" | tr -d ' \n') == 89504e470d0a1a0a ]] &&
    [[ $(tail -c 12 "$1" | od -An -tx1 | tr -d ' \n') == 0000000049454e44ae426082 ]]
}

# _text_mode SOCK DIR: a picture taken now is 720x400 (SeaBIOS's text mode).
_text_mode() {
  "$QMPCTL" -t 5 -s "$1" --screendump "$2/probe.png" >/dev/null 2>&1 </dev/null &&
    [[ $(png_size "$2/probe.png") == "720 400" ]]
}

# wait_text_mode SOCK DIR: wait (30 s) until SeaBIOS has set its text mode.
wait_text_mode() {
  wait_until 30 _text_mode "$1" "$2" && rm -f "$2/probe.png"
}

# dir_is DIR NAMES...: DIR holds exactly NAMES (dot files too), sorted.
dir_is() {
  local want=
  (( $# < 2 )) || want=$(printf '%s ' "${@:2}")
  [[ $(ls -A "$1" | tr '\n' ' ') == "$want" ]]
}

# small_mount DIR OPTS: a tmpfs on DIR (made), unmounted in tearDown.
small_mount() {
  mkdir -p "$1" && mount -t tmpfs -o "$2" tmpfs "$1" && MOUNTS+=("$1")
}

# trace_lines LOG [SKIP]: the key events of QEMU's trace LOG, "qcode
# down", one a line, after the first SKIP (QEMU writes on at its own
# offset: the log cannot be emptied in between).
trace_lines() {
  sed -n 's/^input_event_key_qcode con -1, key qcode \(.*\), down \([01]\)$/\1 \2/p' "$1" |
    tail -n +$(( ${2:-0} + 1 ))
}
_trace_count() { [[ $(trace_lines "$1" | wc -l) -ge $2 ]]; }
# trace_since LOG SKIP: trace_lines joined with "|".
trace_since() { trace_lines "$1" "$2" | tr '\n' '|'; }

# png_peer CUT: a QMP server on $T/png.sock (python3) that takes the
# descriptor add-fd passes, writes a 3x2 PNG into it cut to CUT bytes
# (0: whole; -N: N bytes short; +N: N bytes of junk after it) and says
# screendump succeeded.  Sets PNG_PEER; the whole PNG goes to $T/whole.png.
png_peer() {
  rm -f "$T/png.sock"
  python3 - "$T/png.sock" "$T/whole.png" "$1" <<'PY' 2>"$T/png-peer.err" &
import json, os, socket, struct, sys, zlib
path, whole, cut = sys.argv[1], sys.argv[2], int(sys.argv[3])
def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data)))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)) +
       chunk(b"IDAT", zlib.compress(b"\0" + b"\xff" * 9 + b"\0" + b"\x00" * 9)) +
       chunk(b"IEND", b""))
open(whole, "wb").write(png)
png = png[:cut] if cut < 0 else png + b"junk" * cut
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(1)
c, _ = s.accept()
buf, fds = "", []
def next_msg():
    global buf
    while True:
        try:
            obj, end = json.JSONDecoder().raw_decode(buf.lstrip())
            buf = buf.lstrip()[end:]
            return obj
        except ValueError:
            data, f, _, _ = socket.recv_fds(c, 65536, 4)
            if not data:
                sys.exit(1)
            buf += data.decode()
            fds.extend(f)
c.sendall(b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}\r\n')
for want in ["qmp_capabilities", "add-fd", "screendump", "remove-fd"]:
    m = next_msg()
    if m.get("execute") != want:
        sys.exit("expected %s, got %s" % (want, m))
    ret = {"fdset-id": 0, "fd": 7} if want == "add-fd" else {}
    if want == "screendump":
        os.write(fds[0], png)
    c.sendall(json.dumps({"return": ret}).encode() + b"\r\n")
PY
  PNG_PEER=$!
  track_pid "$PNG_PEER"
  wait_until 5 _sock_or_dead "$T/png.sock" "$PNG_PEER" && unix_listening "$T/png.sock"
}

# ---------------------------------------------------------------- pictures

test_screendump_png_check() {
  # Written by another process into the passed descriptor: a whole PNG is
  # taken as it is, one cut short or with bytes after IEND is refused.
  mkdir -p "$T/pics-screendump_png_check"
  assert_that "the python peer must start" png_peer 0 || return 0
  run_q -s "$T/png.sock" --screendump "$T/pics-screendump_png_check/whole.png"
  assert_ok "a whole PNG"
  assertEquals "a whole PNG: the size" '{"width":3,"height":2,"bytes":'"$(stat -c %s "$T/whole.png")"'}' \
    "$(cat "$T/out")"
  assert_that "a whole PNG: the same bytes" cmp -s "$T/whole.png" "$T/pics-screendump_png_check/whole.png"
  assert_that "the peer saw the four commands; $(cat "$T/png-peer.err")" wait_exit "$PNG_PEER" 5
  assertEquals "the peer's status; $(cat "$T/png-peer.err")" 0 "$exit_status"
  local cut
  for cut in -12 -1 1; do
    assert_that "the python peer must start" png_peer "$cut" || return 0
    run_q -s "$T/png.sock" --screendump "$T/pics-screendump_png_check/cut.png"
    assert_fails 9 "^qmpctl: --screendump: QEMU's picture is not a whole PNG \\([0-9]+ bytes\\)" \
      "a PNG cut at $cut"
    assert_that "a PNG cut at $cut: nothing left" dir_is "$T/pics-screendump_png_check" whole.png
    assert_that "the peer got remove-fd; $(cat "$T/png-peer.err")" wait_exit "$PNG_PEER" 5
  done
}


test_screendump_file() {
  start_vga vm || { fail "could not start QEMU"; return 0; }
  mkdir -p "$T/pics1"
  assert_that "SeaBIOS must reach its text mode (720x400)" wait_text_mode "$QEMU_SOCK" "$T/pics1"
  run_q -s "$QEMU_SOCK" --screendump "$T/pics1/boot.png"
  assert_ok "--screendump FILE"
  assert_that "a whole PNG" is_png "$T/pics1/boot.png"
  assertEquals "IHDR: the display's size" "720 400" "$(png_size "$T/pics1/boot.png")"
  assertEquals "stdout: the size and the bytes" \
    "{\"width\":720,\"height\":400,\"bytes\":$(stat -c %s "$T/pics1/boot.png")}" "$(cat "$T/out")"
  assert_that "only the file in its directory, no temporary file" dir_is "$T/pics1" boot.png
  (umask 027; timeout -k 2 "$(lim 20)" "$QMPCTL" -t 10 -s "$QEMU_SOCK" --screendump "$T/pics1/m.png" \
    >/dev/null 2>&1 </dev/null)
  assertEquals "the file has the mode a new file gets (0666 less umask 027)" 640 \
    "$(stat -c %a "$T/pics1/m.png" 2>&1)"
  rm -f "$T/pics1/m.png"
  # A second picture replaces the file, and -p indents the line.
  run_q -p -s "$QEMU_SOCK" --screendump "$T/pics1/boot.png"
  assert_rc 0 "--screendump over an existing file"
  assertEquals "-p: indented" 5 "$(wc -l <"$T/out")"
  # The device and its head, by name.
  run_q -s "$QEMU_SOCK" --screendump "$T/pics1/dev.png" --screen-device vga0 --screen-head 0
  assert_ok "--screen-device vga0 --screen-head 0"
  assert_that "--screen-device: a whole PNG" is_png "$T/pics1/dev.png"
}

test_screendump_stdout_same_bytes() {
  start_vga vm || { fail "could not start QEMU"; return 0; }
  mkdir -p "$T/pics2"
  assert_that "SeaBIOS must reach its text mode" wait_text_mode "$QEMU_SOCK" "$T/pics2"
  # Stopped, the picture stands still (the cursor blinks on the guest's clock).
  run_q -s "$QEMU_SOCK" -c stop
  assert_ok "stop"
  run_q -s "$QEMU_SOCK" --screendump "$T/pics2/a.png"
  assert_ok "--screendump FILE"
  run_q_to "$T/stdout.png" -s "$QEMU_SOCK" --screendump -
  assert_rc 0 "--screendump -"
  assert_no_stderr "--screendump -"
  assert_that "- gives the same bytes as the file" cmp -s "$T/pics2/a.png" "$T/stdout.png"
  assert_that "nothing left in the directory but the file" dir_is "$T/pics2" a.png
}

test_screendump_qemu_as_other_user() {
  # QEMU runs as 65534; the picture goes into a folder of mode 0700 that
  # only root can write, and is root's.
  # QEMU's socket in a folder of its user's, under a 0755 parent.
  local parent
  parent=$(mktemp -d /tmp/qmpctl-xa.XXXXXX) || { fail "mktemp"; return 0; }
  XA_PARENTS+=("$parent")
  chmod 755 "$parent"
  NOBODY_DIR=$parent/q
  mkdir -m 700 "$NOBODY_DIR" && chown 65534:65534 "$NOBODY_DIR"
  mkdir -m 700 "$T/private"
  local QEMU_BIN_SAVED=$QEMU_BIN
  QEMU_BIN=$T/qemu-as-nobody
  printf '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups %q "$@"\n' \
    "$QEMU_BIN_SAVED" >"$QEMU_BIN"
  chmod 755 "$QEMU_BIN"
  start_vga_unix_as_nobody
  QEMU_BIN=$QEMU_BIN_SAVED
  [[ -n $QEMU_SOCK ]] || { fail "could not start QEMU as 65534"; return 0; }
  assert_that "QEMU runs as 65534" _xa_uids_are "$QEMU_PID" 65534
  assert_that "SeaBIOS must reach its text mode" wait_text_mode "$QEMU_SOCK" "$T/private"
  # By name, QEMU cannot write there.
  run_q -s "$QEMU_SOCK" -c screendump filename="$T/private/byname.ppm"
  assert_cmd_error GenericError "screendump by name into the private folder"
  assert_that "screendump by name: Permission denied; $(ctx)" grep -q 'Permission denied' "$T/err"
  run_q -s "$QEMU_SOCK" --screendump "$T/private/shot.png"
  assert_ok "--screendump into the private folder"
  assert_that "a whole PNG" is_png "$T/private/shot.png"
  assertEquals "the file is the caller's" "0 0" "$(stat -c '%u %g' "$T/private/shot.png")"
  assert_that "nothing else in the folder" dir_is "$T/private" shot.png
}

# start_vga_unix_as_nobody: start_vga with its socket in $NOBODY_DIR
# (which 65534 owns); sets QEMU_SOCK, empty on failure.
start_vga_unix_as_nobody() {
  local QEMU_BASE_ARGS=("${VGA_ARGS[@]}")
  start_qemu_unix vm "$NOBODY_DIR/vm.sock" -qmp "unix:$NOBODY_DIR/vm.sock,server=on,wait=off" \
    -device VGA || QEMU_SOCK=
}

test_screendump_no_display() {
  start_qemu none || { fail "could not start QEMU"; return 0; }
  mkdir -p "$T/pics4"
  run_q -s "$QEMU_SOCK" --screendump "$T/pics4/none.png"
  assert_fails 1 '^qmpctl: GenericError: There is no console to take a screendump from$' \
    "-machine none"
  assert_that "no file and no temporary file" dir_is "$T/pics4"
  run_q -s "$QEMU_SOCK" --screendump -
  assert_fails 1 '^qmpctl: GenericError: There is no console' "-machine none, stdout"
  # No descriptor is left in QEMU: the fdset was removed.
  run_q -s "$QEMU_SOCK" -c query-fdsets
  assert_ok "query-fdsets"
  assertEquals "no fdset left; $(ctx)" "[]" "$(cat "$T/out")"
}

test_screendump_no_such_device() {
  start_vga vm || { fail "could not start QEMU"; return 0; }
  mkdir -p "$T/pics5"
  run_q -s "$QEMU_SOCK" --screendump "$T/pics5/x.png" --screen-device nope
  assert_fails 1 "^qmpctl: DeviceNotFound: Device 'nope' not found$" "--screen-device nope"
  assert_that "no file and no temporary file" dir_is "$T/pics5"
}

test_screendump_write_fails() {
  start_vga vm || { fail "could not start QEMU"; return 0; }
  mkdir -p "$T/pics6"
  assert_that "SeaBIOS must reach its text mode" wait_text_mode "$QEMU_SOCK" "$T/pics6"
  # A full device: QEMU's write fails, and nothing is left.
  assert_that "a 4 KiB tmpfs" small_mount "$T/full" size=4k || return 0
  head -c 4096 /dev/zero >"$T/full/fill" 2>/dev/null
  run_q -s "$QEMU_SOCK" --screendump "$T/full/shot.png"
  assert_fails 1 '^qmpctl: GenericError: .*No space left on device$' "a full device"
  assert_that "a full device: no file, no temporary file" dir_is "$T/full" fill
  # A read-only directory: the temporary file cannot be made.
  assert_that "a read-only tmpfs" small_mount "$T/ro" ro || return 0
  run_q -s "$QEMU_SOCK" --screendump "$T/ro/shot.png"
  assert_fails 9 "^qmpctl: $T/ro/shot.png: cannot create a temporary file for it: Read-only file system\$" \
    "a read-only directory"
  assert_that "a read-only directory: nothing there" dir_is "$T/ro"
  # stdout on a full device: status 9, and the run says so.
  timeout -k 2 "$(lim 20)" "$QMPCTL" -t 10 -s "$QEMU_SOCK" --screendump - >/dev/full 2>"$T/err" </dev/null
  rc=$?
  : >"$T/out"
  assert_fails 9 '^qmpctl: stdout: No space left on device$' "--screendump - >/dev/full"
}

test_screendump_old_server() {
  # A server whose screendump has no "format" (QEMU before 7.1).
  start_fakepeer greet negotiate \
    expect 'send {"return": {"fdset-id": 3, "fd": 25}}\r\n' \
    expect 'send {"error": {"class": "GenericError", "desc": "Parameter '\''format'\'' is unexpected"}}\r\n' \
    expect 'send {"return": [{"name": "screendump", "meta-type": "command", "arg-type": "1", "ret-type": "0"}, {"name": "1", "meta-type": "object", "members": [{"name": "filename", "type": "str"}]}]}\r\n' \
    expect 'send {"return": {}}\r\n' wait_close </dev/null ||
    { fail "fake peer did not start"; return 0; }
  mkdir -p "$T/pics7"
  run_q -s "$PEER_SOCK" --screendump "$T/pics7/old.png"
  assert_rc 1 "a server without PNG screendumps"
  assertEquals "stderr; $(ctx)" \
    "$(printf '%s\n' "qmpctl: GenericError: Parameter 'format' is unexpected" \
      "qmpctl: hint: this server's screendump cannot write PNG (QEMU 7.1 and later can)")" \
    "$(cat "$T/err")"
  assertEquals "stdout; $(ctx)" "" "$(cat "$T/out")"
  fakepeer_done "old server"
  assertEquals "what was sent" \
    '["qmp_capabilities","add-fd","screendump","query-qmp-schema","remove-fd"]' \
    "$(jq -sc 'map(.execute)' "$PEER_RECV")"
  assertEquals "screendump's arguments" '{"filename":"/dev/fdset/3","format":"png"}' \
    "$(jq -sc '.[2].arguments' "$PEER_RECV")"
  assertEquals "remove-fd's arguments" '{"fdset-id":3}' "$(jq -sc '.[4].arguments' "$PEER_RECV")"
  assert_that "no file and no temporary file" dir_is "$T/pics7"
}

test_screendump_not_a_whole_png() {
  # A server that says it wrote the picture but did not (the fake peer
  # drops the descriptor): the check finds no PNG, and nothing is left.
  start_fakepeer greet negotiate \
    expect 'send {"return": {"fdset-id": 0, "fd": 25}}\r\n' \
    expect 'send {"return": {}}\r\n' \
    expect 'send {"return": {}}\r\n' wait_close </dev/null ||
    { fail "fake peer did not start"; return 0; }
  mkdir -p "$T/pics-screendump_not_a_whole_png"
  printf 'old\n' >"$T/pics-screendump_not_a_whole_png/keep.png"
  run_q -s "$PEER_SOCK" --screendump "$T/pics-screendump_not_a_whole_png/keep.png"
  assert_fails 9 "^qmpctl: --screendump: QEMU's picture is not a whole PNG \\(0 bytes\\): a full disk\\?  Nothing was written\$" \
    "an empty picture"
  fakepeer_done "empty picture"
  assertEquals "what was sent" '["qmp_capabilities","add-fd","screendump","remove-fd"]' \
    "$(jq -sc 'map(.execute)' "$PEER_RECV")"
  assertEquals "the file as it was" old "$(cat "$T/pics-screendump_not_a_whole_png/keep.png")"
  assert_that "no temporary file" dir_is "$T/pics-screendump_not_a_whole_png" keep.png
}

test_screendump_usage_errors_send_nothing() {
  start_trap || { fail "trap listener did not start"; return 0; }
  local s=$T/trap.sock
  # stdout a terminal: script(1) gives the run one.
  script -qec "$(printf '%q ' "$QMPCTL" -t 5 -s "$s" --screendump -)" /dev/null \
    >"$T/tty.out" 2>&1 </dev/null
  rc=$?
  assertEquals "--screendump - to a terminal: status" 2 "$rc"
  assert_that "--screendump - to a terminal: the message; [$(cat "$T/tty.out")]" \
    grep -q 'stdout is a terminal' "$T/tty.out"
  run_q -s 127.0.0.1:1 --screendump "$T/x.png"
  assert_fails 2 'only a unix socket can carry: 127.0.0.1:1 is not one' "--screendump over tcp"
  run_q -s "$s" --screendump "$T/x.png" --screen-head 1
  assert_fails 2 '--screen-head needs --screen-device' "--screen-head alone"
  run_q -s "$s" --screen-device vga0 -c query-status
  assert_fails 2 'go with --screendump' "--screen-device without --screendump"
  run_q -s "$s" --screendump "$T/x.png" -c query-status
  assert_fails 2 'exclude -c' "--screendump with -c"
  run_q -s "$s" --screendump - --screendump "$T/x.png"
  assert_fails 2 'excludes other --screendump' "two --screendump, one -"
  run_q -s "$s" --screendump - --wait-event STOP
  assert_fails 2 'excludes other --screendump, the waits' "--screendump - --wait-event"
  run_q -s "$s" --qga --screendump "$T/x.png"
  assert_fails 2 'exclude .*--qga' "--screendump --qga"
  assertEquals "usage errors must not connect" "" "$(cat "$T/trap.log" 2>/dev/null)"
  assertEquals "no file made" "" "$(ls -A "$T" | grep -i 'x\.png')"
}

# ---------------------------------------------------------------- keys

test_keys_and_text_trace() {
  # (Not stopped: QEMU releases held keys on the guest's clock.)
  start_vga vm -trace 'input_event_key*' -D "$T/keys.log" ||
    { fail "could not start QEMU"; return 0; }
  run_q -s "$QEMU_SOCK" --keys ctrl-alt-delete,ret
  assert_rc 0 "--keys ctrl-alt-delete,ret"
  assert_no_stderr "--keys ctrl-alt-delete,ret"
  assertEquals "--keys prints nothing" "" "$(cat "$T/out")"
  assert_that "8 key events in the trace" wait_until 10 _trace_count "$T/keys.log" 8
  assertEquals "--keys ctrl-alt-delete,ret: the events, in order" \
    "ctrl 1|alt 1|delete 1|delete 0|alt 0|ctrl 0|ret 1|ret 0|" \
    "$(trace_since "$T/keys.log" 0)"

  local t0 ms
  t0=${EPOCHREALTIME/./}
  run_q -s "$QEMU_SOCK" --type 'Ab1!\n'
  ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
  assert_rc 0 "--type 'Ab1!\\n'"
  assert_no_stderr "--type 'Ab1!\\n'"
  assert_that "14 key events in the trace" wait_until 10 _trace_count "$T/keys.log" 22
  assertEquals "--type 'Ab1!\\n': the events, in order" \
    "shift 1|a 1|a 0|shift 0|b 1|b 0|1 1|1 0|shift 1|1 1|1 0|shift 0|ret 1|ret 0|" \
    "$(trace_since "$T/keys.log" 8)"
  # Five characters: four pauses of --key-delay's 100 ms.
  assertTrue "--type of 5 characters takes at least 400 ms, took $ms" "[ $ms -ge 400 ]"

  # --keys and --type together, in the order given; --hold and --key-delay.
  run_q -s "$QEMU_SOCK" --type 'x' --keys shift-tab --type '~' --hold 20 --key-delay 0
  assert_rc 0 "--type --keys --type"
  assert_that "10 key events" wait_until 10 _trace_count "$T/keys.log" 32
  assertEquals "--type x --keys shift-tab --type '~'" \
    "x 1|x 0|shift 1|tab 1|tab 0|shift 0|shift 1|grave_accent 1|grave_accent 0|shift 0|" \
    "$(trace_since "$T/keys.log" 22)"
}

test_typing_bounded_by_timeout() {
  start_vga vm -trace 'input_event_key*' -D "$T/keys.log" ||
    { fail "could not start QEMU"; return 0; }
  prompt_begin
  run_q -t 1 -s "$QEMU_SOCK" --key-delay 400 --type 'abcdefgh'
  prompt_end
  assert_fails 8 '^qmpctl: timed out while typing: [1-7] of 8 characters sent$' "--type past -t"
  assertTrue "-t 1 must not end the typing early, took $PROMPT_MS ms" "[ $PROMPT_MS -ge 900 ]"
  assert_prompt "-t 1 must end the typing" 1000 4000
  # A signal ends it too, at once.
  # Every key sent went down and up, before the next run starts.
  local n0 pid
  n0=$(( 2 * $(sed -n 's/.*typing: \([0-9]*\) of.*/\1/p' "$T/err") ))
  assert_that "the keys sent before -t passed: $n0 events" \
    wait_until 10 _trace_count "$T/keys.log" "$n0"
  "$QMPCTL" -t 20 -s "$QEMU_SOCK" --key-delay 5000 --type 'ab' \
    >"$T/out" 2>"$T/err" </dev/null &
  pid=$!
  track_pid "$pid"
  assert_that "the first key must reach QEMU" wait_until 10 _trace_count "$T/keys.log" $(( n0 + 2 ))
  kill -TERM "$pid"
  assert_that "qmpctl must end on SIGTERM" wait_exit "$pid" 5
  rc=$exit_status
  assert_fails 143 '^qmpctl: interrupted while typing: 1 of 2 characters sent$' "--type and SIGTERM"
}

test_keys_refused_send_nothing() {
  start_vga vm -trace 'input_event_key*' -D "$T/keys.log" ||
    { fail "could not start QEMU"; return 0; }
  run_q -s "$QEMU_SOCK" --keys ret,ctrl-foo
  assert_fails 2 "^qmpctl: --keys: unknown key 'foo' " "an unknown key"
  run_q -s "$QEMU_SOCK" --keys ret,
  assert_fails 2 "^qmpctl: --keys: empty key name" "an empty combo"
  run_q -s "$QEMU_SOCK" --type 'abcé'
  assert_fails 2 "^qmpctl: --type: 'é' \\(U\\+00E9\\) has no key on a US keyboard" "é"
  run_q -s "$QEMU_SOCK" --type $'ab\001'
  assert_fails 2 "^qmpctl: --type: U\\+0001 has no key on a US keyboard" "a control character"
  run_q -s "$QEMU_SOCK" --type 'a\q'
  assert_fails 2 "^qmpctl: --type: unknown escape '\\\\q'" "an unknown escape"
  run_q -s "$QEMU_SOCK" --keys ret --type 'ok' --keys 'ctrl-nope'
  assert_fails 2 "unknown key 'nope'" "a bad name in a later step"
  run_q -s "$QEMU_SOCK" --hold 10 -c query-status
  assert_fails 2 "go with --keys or --type" "--hold alone"
  # f13 came with QEMU 8.0: 7.2 is told apart, before any key; 10.0 takes it.
  run_q -s "$QEMU_SOCK" --key-delay 0 --type ab --keys ret,f13
  if qemu_at_least 8.0; then
    assert_rc 0 "f13 on QEMU 8.0 or later"
    assert_that "the f13 events" wait_until 10 _trace_count "$T/keys.log" 8
    assertEquals "a, b, ret and f13 reached QEMU" \
      "a 1|a 0|b 1|b 0|ret 1|ret 0|f13 1|f13 0|" "$(trace_since "$T/keys.log" 0)"
    return 0
  fi
  assert_fails 1 "^qmpctl: --keys: f13 to f24 need QEMU 8.0 or later: nothing was sent$" "f13 on 7.2"
  # The trace proves nothing was sent: a key now is the first event.
  run_q -s "$QEMU_SOCK" --keys esc
  assert_rc 0 "--keys esc"
  assert_that "the esc events" wait_until 10 _trace_count "$T/keys.log" 2
  assertEquals "only esc reached QEMU" "esc 1|esc 0|" "$(trace_since "$T/keys.log" 0)"
}

. shunit2
