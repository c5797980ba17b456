#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_completion.sh -- the completions in completions/ for bash, zsh
# and fish: each one parses in its shell, offers exactly the options that
# "qmpctl --help" lists, and completes the command names after -c and
# --describe from a running QEMU (or qemu-ga with --qga).
# Run from the project root:  bash tests/test_completion.sh [-- testName...]
#
# Completion is really run: bash calls _qmpctl with COMP_WORDS set, fish
# answers "complete -C LINE", and zsh runs compinit in a pseudo-terminal
# (tests/complete.zsh).  The checks of a shell that is not installed are
# skipped, with a message on stderr.  (test_cli.sh has more bash cases.)

. tests/lib.sh

QGA_BIN=${QGA_BIN:-qemu-ga}
# qemu-ga acts on THE HOST: everything that changes anything stays blocked.
QGA_BLOCK=guest-shutdown,guest-suspend-disk,guest-suspend-ram,guest-suspend-hybrid,guest-set-time,guest-fsfreeze-freeze,guest-fsfreeze-freeze-list,guest-fsfreeze-thaw,guest-fstrim,guest-set-vcpus,guest-set-user-password,guest-set-memory-blocks,guest-ssh-add-authorized-keys,guest-ssh-remove-authorized-keys,guest-exec,guest-file-write

BASH_COMP=completions/qmpctl.bash
ZSH_COMP=completions/_qmpctl
FISH_COMP=completions/qmpctl.fish

oneTimeSetUp() {
  local q f
  require_built "$QMPCTL" make
  for f in "$BASH_COMP" "$ZSH_COMP" "$FISH_COMP"; do
    if [[ ! -f $f ]]; then
      echo "test_completion.sh: $f not found (run from the project root)" >&2
      exit 1
    fi
  done
  # The completions run "qmpctl" from PATH: make that the binary under test.
  q=$(realpath -- "$QMPCTL") || exit 1
  mkdir -p "$T/bin" "$T/xdg/config" "$T/xdg/data" "$T/xdg/cache"
  printf '#!/bin/sh\nexec %q "$@"\n' "$q" >"$T/bin/qmpctl"
  chmod +x "$T/bin/qmpctl"
  # Every option --help lists, short and long, one a line.
  "$QMPCTL" --help 2>/dev/null | sed -nE \
    -e 's/^  (-[A-Za-z0-9]), (--[a-z0-9-]+).*/\1\n\2/p' \
    -e 's/^      (--[a-z0-9-]+).*/\1/p' | LC_ALL=C sort -u >"$T/help.opts"
}

# have SHELL: true when SHELL is installed; otherwise say so and skip the
# rest of the test's assertions.
have() {
  command -v "$1" >/dev/null && return 0
  echo "test_completion.sh: $1 is not installed (apt-get install $1):" \
    "${FUNCNAME[1]} skips its $1 checks" >&2
  startSkipping
  assertTrue "$1 is installed" false    # counted as skipped
  return 1
}

# in_env CMD...: CMD with qmpctl on PATH, no QMP_SOCKET (unless the caller
# exports COMP_QMP_SOCKET), fish's files in $T/xdg, a 30 s bound.
in_env() {
  local sock=()
  [[ -z ${COMP_QMP_SOCKET:-} ]] || sock=(QMP_SOCKET="$COMP_QMP_SOCKET")
  timeout -k 2 "$(lim 30)" env -u QMP_SOCKET "${sock[@]}" \
    PATH="$T/bin:$PATH" XDG_CONFIG_HOME="$T/xdg/config" \
    XDG_DATA_HOME="$T/xdg/data" XDG_CACHE_HOME="$T/xdg/cache" "$@" </dev/null
}

# The completers: each writes the matches for a command line, one a line,
# sorted, to $T/out; the exit status goes to $rc and stderr to $T/err.

# bash_complete FILE WORD...: _qmpctl of FILE, completing the last WORD.
bash_complete() {
  local file=$1
  shift
  in_env bash -c 'source "$1" || exit 99
    shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    _qmpctl
    (( ${#COMPREPLY[@]} == 0 )) || printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$file" "$@" 2>"$T/err" | LC_ALL=C sort -u >"$T/out"
  rc=${PIPESTATUS[0]}
}

# zsh_complete DIR LINE: LINE completed with DIR/_qmpctl (tests/complete.zsh).
zsh_complete() {
  in_env zsh -f tests/complete.zsh "$1" "$T/zsh.raw" "$2" 2>"$T/err"
  rc=$?
  grep -vx '<end>' "$T/zsh.raw" | LC_ALL=C sort -u >"$T/out"
}

# fish_complete FILE LINE: "complete -C LINE" after sourcing FILE.
fish_complete() {
  in_env fish --no-config -c 'source $argv[1]; or exit 99; complete -C $argv[2]' \
    "$1" "$2" 2>"$T/err" | cut -f 1 | LC_ALL=C sort -u >"$T/out"
  rc=${PIPESTATUS[0]}
}

# ---------------------------------------------------------------- parsing

test_help_lists_options() {
  # The list every comparison below is against: it must not come out empty.
  local n
  n=$(wc -l <"$T/help.opts")
  assertTrue "--help must list at least 30 option names, found $n: $(lines_of "$T/help.opts")" \
    "[ $n -ge 30 ]"
  assert_that "--help lists -s" grep -qx -- -s "$T/help.opts"
  assert_that "--help lists --wait-event" grep -qx -- --wait-event "$T/help.opts"
}

test_bash_parses() {
  assert_that "bash -n $BASH_COMP" bash -n "$BASH_COMP"
  assertEquals "the bash completion registers _qmpctl" "complete -F _qmpctl qmpctl" \
    "$(bash -c 'source "$1" && complete -p qmpctl' _ "$BASH_COMP" 2>&1)"
}

test_zsh_parses() {
  have zsh || return 0
  assert_that "zsh -n $ZSH_COMP: $(zsh -n "$ZSH_COMP" 2>&1)" zsh -n "$ZSH_COMP"
  assertEquals "first line of $ZSH_COMP" "#compdef qmpctl" "$(head -n 1 "$ZSH_COMP")"
}

test_fish_parses() {
  have fish || return 0
  assert_that "fish -n $FISH_COMP: $(fish -n "$FISH_COMP" 2>&1)" fish -n "$FISH_COMP"
}

# ---------------------------------------------------------------- options

# lines_of FILE: FILE's lines joined with "|".
lines_of() { tr '\n' '|' <"$1"; }

# assert_same_options SHELL: $T/out holds the same options as --help.
assert_same_options() {
  assertEquals "$1: options --help lists that the completion does not offer" "" \
    "$(LC_ALL=C comm -23 "$T/help.opts" "$T/out" | tr '\n' ' ')"
  assertEquals "$1: options the completion offers that --help does not list" "" \
    "$(LC_ALL=C comm -13 "$T/help.opts" "$T/out" | tr '\n' ' ')"
}

test_bash_options_are_those_of_help() {
  bash_complete "$BASH_COMP" qmpctl -
  assert_rc 0 "bash: complete -"
  assert_no_stderr "bash: complete -"
  assert_same_options bash
}

test_zsh_options_are_those_of_help() {
  have zsh || return 0
  zsh_complete "$PWD/completions" 'qmpctl -'
  assert_rc 0 "zsh: complete -"
  assert_same_options zsh
}

test_fish_options_are_those_of_help() {
  have fish || return 0
  fish_complete "$FISH_COMP" 'qmpctl -'
  assert_rc 0 "fish: complete -"
  assert_no_stderr "fish: complete -"
  assert_same_options fish
}

test_a_missing_option_is_noticed() {
  # The comparison sees the option lists: drop --json from each and it must
  # show up as missing, and as the only difference.
  mkdir -p "$T/mut"
  sed 's/ --json//' "$BASH_COMP" >"$T/mut/qmpctl.bash"
  bash_complete "$T/mut/qmpctl.bash" qmpctl -
  assertEquals "bash without --json" "--json" "$(LC_ALL=C comm -23 "$T/help.opts" "$T/out")"
  assertEquals "bash without --json: nothing else" "" "$(LC_ALL=C comm -13 "$T/help.opts" "$T/out")"
  if have zsh; then
    sed '/^  .--json\[/d' "$ZSH_COMP" >"$T/mut/_qmpctl"
    zsh_complete "$T/mut" 'qmpctl -'
    assertEquals "zsh without --json" "--json" "$(LC_ALL=C comm -23 "$T/help.opts" "$T/out")"
    assertEquals "zsh without --json: nothing else" "" "$(LC_ALL=C comm -13 "$T/help.opts" "$T/out")"
  fi
  endSkipping
  if have fish; then
    sed '/ -l json /d' "$FISH_COMP" >"$T/mut/qmpctl.fish"
    fish_complete "$T/mut/qmpctl.fish" 'qmpctl -'
    assertEquals "fish without --json" "--json" "$(LC_ALL=C comm -23 "$T/help.opts" "$T/out")"
    assertEquals "fish without --json: nothing else" "" "$(LC_ALL=C comm -13 "$T/help.opts" "$T/out")"
  fi
}

test_options_after_others() {
  # Options are offered after other options and their arguments, too.
  bash_complete "$BASH_COMP" qmpctl -t 5 -p --wai
  assertEquals "bash: -t 5 -p --wai; $(ctx)" "--wait|--wait-event|--wait-job|--wait-migration|" "$(lines_of "$T/out")"
  if have zsh; then
    zsh_complete "$PWD/completions" 'qmpctl -t 5 -p --wai'
    assertEquals "zsh: -t 5 -p --wai; $(ctx)" "--wait|--wait-event|--wait-job|--wait-migration|" "$(lines_of "$T/out")"
  fi
  endSkipping
  if have fish; then
    fish_complete "$FISH_COMP" 'qmpctl -t 5 -p --wai'
    assertEquals "fish: -t 5 -p --wai; $(ctx)" "--wait|--wait-event|--wait-job|--wait-migration|" "$(lines_of "$T/out")"
  fi
}

# ---------------------------------------------------------------- arguments

test_file_arguments() {
  # -a @FILE and --events FILE complete file names; -a JSON does not.
  mkdir -p "$T/files"
  : >"$T/files/args-one.json"
  : >"$T/files/args-two.json"
  bash_complete "$BASH_COMP" qmpctl -c x -a "@$T/files/args-o"
  assertEquals "bash: -a @FILE; $(ctx)" "@$T/files/args-one.json|" "$(lines_of "$T/out")"
  bash_complete "$BASH_COMP" qmpctl --events "$T/files/args-t"
  assertEquals "bash: --events FILE; $(ctx)" "$T/files/args-two.json|" "$(lines_of "$T/out")"
  bash_complete "$BASH_COMP" qmpctl --events = "$T/files/args-t"
  assertEquals "bash: --events=FILE; $(ctx)" "$T/files/args-two.json|" "$(lines_of "$T/out")"
  if have zsh; then
    zsh_complete "$PWD/completions" "qmpctl -c x -a @$T/files/args-o"
    assertEquals "zsh: -a @FILE; $(ctx)" "args-one.json|" "$(lines_of "$T/out")"
    zsh_complete "$PWD/completions" "qmpctl --events $T/files/args-t"
    assertEquals "zsh: --events FILE; $(ctx)" "args-two.json|" "$(lines_of "$T/out")"
    zsh_complete "$PWD/completions" "qmpctl -c x -a $T/files/args-o"
    assertEquals "zsh: -a without @ is JSON; $(ctx)" "" "$(cat "$T/out")"
  fi
  endSkipping
  if have fish; then
    fish_complete "$FISH_COMP" "qmpctl -c x -a @$T/files/args-o"
    assertEquals "fish: -a @FILE; $(ctx)" "@$T/files/args-one.json|" "$(lines_of "$T/out")"
    fish_complete "$FISH_COMP" "qmpctl --events $T/files/args-t"
    assertEquals "fish: --events FILE; $(ctx)" "$T/files/args-two.json|" "$(lines_of "$T/out")"
    fish_complete "$FISH_COMP" "qmpctl -c x -a $T/files/args-o"
    assertEquals "fish: -a without @ is JSON; $(ctx)" "" "$(cat "$T/out")"
  fi
}

test_socket_arguments() {
  # -s completes paths; zsh prefers sockets (and directories).
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  bash_complete "$BASH_COMP" qmpctl -s "$T/v"
  assert_that "bash: -s PATH offers the socket; $(ctx)" grep -qx "$T/vm.sock" "$T/out"
  if have zsh; then
    zsh_complete "$PWD/completions" "qmpctl -s $T/v"
    assertEquals "zsh: -s PATH; $(ctx)" "vm.sock|" "$(lines_of "$T/out")"
  fi
  endSkipping
  if have fish; then
    fish_complete "$FISH_COMP" "qmpctl --socket $T/v"
    assert_that "fish: --socket PATH offers the socket; $(ctx)" grep -qx "$T/vm.sock" "$T/out"
  fi
}

test_key_names() {
  # --keys completes QEMU's key names after the last - or , typed.
  bash_complete "$BASH_COMP" qmpctl --keys ret,ctrl-al
  assertEquals "bash: --keys ret,ctrl-al; $(ctx)" "ret,ctrl-alt|ret,ctrl-alt_r|" "$(lines_of "$T/out")"
  bash_complete "$BASH_COMP" qmpctl --keys f2
  assertEquals "bash: --keys f2; $(ctx)" "f2|f20|f21|f22|f23|f24|" "$(lines_of "$T/out")"
  if have zsh; then
    zsh_complete "$PWD/completions" 'qmpctl --keys ret,ctrl-al'
    assertEquals "zsh: --keys ret,ctrl-al; $(ctx)" "alt|alt_r|" "$(lines_of "$T/out")"
  fi
  endSkipping
  if have fish; then
    fish_complete "$FISH_COMP" 'qmpctl --keys ret,ctrl-al'
    assertEquals "fish: --keys ret,ctrl-al; $(ctx)" "ret,ctrl-alt|ret,ctrl-alt_r|" "$(lines_of "$T/out")"
  fi
}

# ---------------------------------------------------------------- commands

test_zsh_commands_from_server() {
  have zsh || return 0
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  local c=$PWD/completions line
  for line in "qmpctl -s $QEMU_SOCK -c query-st" "qmpctl --socket=$QEMU_SOCK -c query-st" \
    "qmpctl -s$QEMU_SOCK -p -c query-st" "qmpctl --socket $QEMU_SOCK --command=query-st"; do
    zsh_complete "$c" "$line"
    assert_rc 0 "zsh: $line"
    assertEquals "zsh: $line; $(ctx)" "query-stats|query-stats-schemas|query-status|" \
      "$(lines_of "$T/out")"
  done
  zsh_complete "$c" "qmpctl -s $QEMU_SOCK --describe query-vers"
  assertEquals "zsh: --describe; $(ctx)" "query-version|" "$(lines_of "$T/out")"
  # The address may come from QMP_SOCKET; without one, no names.
  zsh_complete "$c" "qmpctl -c query-vers"
  assertEquals "zsh: no address, no names; $(ctx)" "" "$(cat "$T/out")"
  COMP_QMP_SOCKET=$QEMU_SOCK zsh_complete "$c" "qmpctl -c query-vers"
  assertEquals "zsh: QMP_SOCKET; $(ctx)" "query-version|" "$(lines_of "$T/out")"
  # -s wins over QMP_SOCKET.
  COMP_QMP_SOCKET=$QEMU_SOCK zsh_complete "$c" "qmpctl -s $T/nobody.sock -c query-vers"
  assertEquals "zsh: -s wins over QMP_SOCKET; $(ctx)" "" "$(cat "$T/out")"
}

test_fish_commands_from_server() {
  have fish || return 0
  start_qemu vm || { fail "could not start QEMU"; return 0; }
  local line
  for line in "qmpctl -s $QEMU_SOCK -c query-st" "qmpctl --socket=$QEMU_SOCK -c query-st" \
    "qmpctl -s$QEMU_SOCK -p -c query-st" "qmpctl --socket $QEMU_SOCK --command=query-st"; do
    fish_complete "$FISH_COMP" "$line"
    # fish offers "--command=NAME" for "--command=PREFIX".
    sed -i 's/^--command=//' "$T/out"
    assert_rc 0 "fish: $line"
    assert_no_stderr "fish: $line"
    assertEquals "fish: $line; $(ctx)" "query-stats|query-stats-schemas|query-status|" \
      "$(lines_of "$T/out")"
  done
  fish_complete "$FISH_COMP" "qmpctl -s $QEMU_SOCK --describe query-vers"
  assertEquals "fish: --describe; $(ctx)" "query-version|" "$(lines_of "$T/out")"
  fish_complete "$FISH_COMP" "qmpctl -c query-vers"
  assertEquals "fish: no address, no names; $(ctx)" "" "$(cat "$T/out")"
  COMP_QMP_SOCKET=$QEMU_SOCK fish_complete "$FISH_COMP" "qmpctl -c query-vers"
  assertEquals "fish: QMP_SOCKET; $(ctx)" "query-version|" "$(lines_of "$T/out")"
  COMP_QMP_SOCKET=$QEMU_SOCK fish_complete "$FISH_COMP" "qmpctl -s $T/nobody.sock -c query-vers"
  assertEquals "fish: -s wins over QMP_SOCKET; $(ctx)" "" "$(cat "$T/out")"
}

test_address_typed_with_quotes() {
  # The address is used as the shell would pass it: quotes and backslashes
  # typed on the line are not part of it, and ~/ is the home directory.
  mkdir -p "$T/my dir"
  start_qemu_unix vm "$T/my dir/vm.sock" -qmp "unix:$T/my dir/vm.sock,server=on,wait=off" ||
    { fail "could not start QEMU"; return 0; }
  local quoted="'$T/my dir/vm.sock'" escaped=${T}/my\\\ dir/vm.sock
  local dq="\"$T/my dir/vm.sock\"" home="~/${T#/}/my\\ dir/vm.sock"
  local w
  for w in "$quoted" "$dq" "$escaped"; do
    bash_complete "$BASH_COMP" qmpctl -s "$w" -c query-vers
    assertEquals "bash: -s $w; $(ctx)" "query-version|" "$(lines_of "$T/out")"
  done
  if have zsh; then
    for w in "$quoted" "$dq" "$escaped"; do
      zsh_complete "$PWD/completions" "qmpctl -s $w -c query-vers"
      assertEquals "zsh: -s $w; $(ctx)" "query-version|" "$(lines_of "$T/out")"
    done
    HOME=/ zsh_complete "$PWD/completions" "qmpctl -s $home -c query-vers"
    assertEquals "zsh: -s $home; $(ctx)" "query-version|" "$(lines_of "$T/out")"
  fi
  endSkipping
  if have fish; then
    for w in "$quoted" "$dq" "$escaped"; do
      fish_complete "$FISH_COMP" "qmpctl -s $w -c query-vers"
      assertEquals "fish: -s $w; $(ctx)" "query-version|" "$(lines_of "$T/out")"
    done
    HOME=/ fish_complete "$FISH_COMP" "qmpctl -s $home -c query-vers"
    assertEquals "fish: -s $home; $(ctx)" "query-version|" "$(lines_of "$T/out")"
  fi
}

# start_qga: qemu-ga listening on $T/qga.sock, with the block list.
start_qga() {
  QGA_SOCK=$T/qga.sock
  mkdir -p "$T/qga-state"
  rm -f "$QGA_SOCK"
  "$QGA_BIN" -m unix-listen -p "$QGA_SOCK" -t "$T/qga-state" -l "$T/qga.log" \
    -b "$QGA_BLOCK" </dev/null >"$T/qga.out" 2>&1 &
  QGA_PID=$!
  track_pid "$QGA_PID"
  wait_until 10 _sock_or_dead "$QGA_SOCK" "$QGA_PID" && [[ -S $QGA_SOCK ]]
}

test_agent_commands() {
  # With --qga on the line, the agent's enabled commands: guest-exec is
  # blocked, so only guest-exec-status is offered.
  assert_that "qemu-ga must start; $(cat "$T/qga.out" 2>/dev/null)" start_qga || return 0
  if have zsh; then
    zsh_complete "$PWD/completions" "qmpctl -s $QGA_SOCK --qga -c guest-exe"
    assertEquals "zsh: --qga -c guest-exe; $(ctx)" "guest-exec-status|" "$(lines_of "$T/out")"
  fi
  endSkipping
  if have fish; then
    fish_complete "$FISH_COMP" "qmpctl -s $QGA_SOCK --qga -c guest-exe"
    assertEquals "fish: --qga -c guest-exe; $(ctx)" "guest-exec-status|" "$(lines_of "$T/out")"
  fi
}

test_dead_server_is_quick() {
  # Nobody listening: no names, no message, and no hang.
  prompt_begin
  if have zsh; then
    zsh_complete "$PWD/completions" "qmpctl -s $T/nobody.sock -c query"
    assert_rc 0 "zsh: dead address"
    assertEquals "zsh: dead address; $(ctx)" "" "$(cat "$T/out")"
  fi
  endSkipping
  if have fish; then
    fish_complete "$FISH_COMP" "qmpctl -s $T/nobody.sock -c query"
    assert_rc 0 "fish: dead address"
    assertEquals "fish: dead address; $(ctx)" "" "$(cat "$T/out")"
    assert_no_stderr "fish: dead address"
  fi
  prompt_end
  assert_prompt "completion against a dead address must be quick" 0 5000
}

. shunit2
