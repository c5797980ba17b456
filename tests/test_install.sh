#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_install.sh -- make install / make uninstall into a staging
# directory (DESTDIR), with PREFIX, BINDIR, MANDIR, BASHCOMPDIR, ZSHCOMPDIR
# and FISHCOMPDIR.
# Run from the project root:  bash tests/test_install.sh [-- testName...]
#
# The install target depends on qmpctl, so make may rebuild it first; the
# installed binary is always the plain build, whatever QMPCTL says.

. tests/lib.sh

TOP=$(pwd)

oneTimeSetUp() {
  if [[ ! -f $TOP/Makefile || ! -f $TOP/qmpctl.1 ]]; then
    echo "test_install.sh: run it from the project root" >&2
    exit 1
  fi
  # The man page is rendered with man(1) (man-db); mandoc is the fallback.
  if command -v man >/dev/null; then
    RENDER=(man -l)
  elif command -v mandoc >/dev/null; then
    echo "test_install.sh: man(1) not installed (apt-get install man-db):" \
      "rendering with mandoc instead" >&2
    RENDER=(mandoc -Tutf8)
  else
    echo "test_install.sh: neither man nor mandoc is installed" >&2
    exit 1
  fi
}

# mk ARGS...: make -s -C "$TOP" ARGS, output in $T/make.out, status in $rc.
mk() {
  timeout -k 2 "$(lim 120)" make -s -C "$TOP" "$@" >"$T/make.out" 2>&1 </dev/null
  rc=$?
}

# render FILE: the man page FILE as plain text.
render() {
  MANWIDTH=80 "${RENDER[@]}" "$1" 2>/dev/null | sed 's/.\x08//g'
}

# files_under DIR: every file and symlink below DIR, relative, sorted.
files_under() {
  (cd "$1" && find . \( -type f -o -type l \) | sort)
}

# check_zsh_completion DIR: DIR/_qmpctl is completions/_qmpctl, mode 644,
# and zsh's compinit, given DIR in fpath, takes it for qmpctl.
check_zsh_completion() {
  assertEquals "zsh completion mode" 644 "$(stat -c %a "$1/_qmpctl")"
  assert_that "the zsh completion is completions/_qmpctl" cmp -s completions/_qmpctl "$1/_qmpctl"
  if ! command -v zsh >/dev/null; then
    echo "test_install.sh: zsh is not installed (apt-get install zsh): not loading $1/_qmpctl" >&2
    return 0
  fi
  assertEquals "zsh's compinit finds _qmpctl in $1" _qmpctl \
    "$(HOME=$T timeout -k 2 "$(lim 20)" zsh -f -c 'fpath=("$1" $fpath)
      autoload -Uz compinit && compinit -u -D && print -r -- $_comps[qmpctl]' _ "$1" 2>&1)"
}

# check_fish_completion DIR BINDIR: DIR/qmpctl.fish is completions/qmpctl.fish,
# mode 644, and fish, given DIR in fish_complete_path, loads it for the
# qmpctl in BINDIR (fish loads completions only for commands it finds).
check_fish_completion() {
  assertEquals "fish completion mode" 644 "$(stat -c %a "$1/qmpctl.fish")"
  assert_that "the fish completion is completions/qmpctl.fish" cmp -s completions/qmpctl.fish \
    "$1/qmpctl.fish"
  if ! command -v fish >/dev/null; then
    echo "test_install.sh: fish is not installed (apt-get install fish): not loading $1/qmpctl.fish" >&2
    return 0
  fi
  assertEquals "fish loads qmpctl.fish from $1" "--version" \
    "$(PATH=$2:$PATH XDG_CONFIG_HOME=$T/xdg XDG_DATA_HOME=$T/xdg timeout -k 2 "$(lim 20)" fish --no-config -c \
      'set fish_complete_path $argv[1]; complete -C "qmpctl --versio"' "$1" 2>&1 | cut -f 1)"
}

test_install_and_uninstall_with_prefix() {
  local root=$T/root
  mk install DESTDIR="$root" PREFIX=/usr
  assertEquals "make install; $(cat "$T/make.out")" 0 "$rc"
  assertEquals "installed files" \
    "$(printf '%s\n' ./usr/bin/qmpctl ./usr/share/bash-completion/completions/qmpctl \
      ./usr/share/fish/vendor_completions.d/qmpctl.fish ./usr/share/man/man1/qmpctl.1 \
      ./usr/share/zsh/vendor-completions/_qmpctl)" "$(files_under "$root")"

  # The binary runs from where it was put.
  run_q_to "$T/out" -t 5 --version
  local want
  want=$(cat "$T/out")
  "$root/usr/bin/qmpctl" --version >"$T/out" 2>"$T/err"
  rc=$?
  assert_rc 0 "installed qmpctl --version"
  assert_no_stderr "installed qmpctl --version"
  assertEquals "installed qmpctl --version; $(ctx)" "$want" "$(cat "$T/out")"
  assert_that "installed qmpctl is executable" test -x "$root/usr/bin/qmpctl"
  assertEquals "binary mode" 755 "$(stat -c %a "$root/usr/bin/qmpctl")"

  # The man page renders, and is the one of the tree.
  assertEquals "man page mode" 644 "$(stat -c %a "$root/usr/share/man/man1/qmpctl.1")"
  assert_that "the man page is qmpctl.1" cmp -s qmpctl.1 "$root/usr/share/man/man1/qmpctl.1"
  render "$root/usr/share/man/man1/qmpctl.1" >"$T/man.txt"
  assert_that "rendered man page has its NAME line; $(head -c 300 "$T/man.txt")" \
    grep -qE '^ *qmpctl .* run QEMU Monitor Protocol commands' "$T/man.txt"
  assert_that "rendered man page has EXIT STATUS" grep -q '^EXIT STATUS' "$T/man.txt"
  assert_that "rendered man page has --wait-event" grep -q -- '--wait-event' "$T/man.txt"

  # The completion files are those of completions/, and load.
  local comp=$root/usr/share/bash-completion/completions/qmpctl
  assertEquals "completion mode" 644 "$(stat -c %a "$comp")"
  assert_that "the completion file is qmpctl.bash" cmp -s completions/qmpctl.bash "$comp"
  assertEquals "the completion registers _qmpctl" "complete -F _qmpctl qmpctl" \
    "$(bash -c 'source "$1" && complete -p qmpctl' _ "$comp" 2>&1)"
  check_zsh_completion "$root/usr/share/zsh/vendor-completions"
  check_fish_completion "$root/usr/share/fish/vendor_completions.d" "$root/usr/bin"

  # Installing again over it is fine.
  mk install DESTDIR="$root" PREFIX=/usr
  assertEquals "make install twice; $(cat "$T/make.out")" 0 "$rc"

  mk uninstall DESTDIR="$root" PREFIX=/usr
  assertEquals "make uninstall; $(cat "$T/make.out")" 0 "$rc"
  assertEquals "make uninstall leaves no file" "" "$(files_under "$root")"

  # Uninstalling what is not there is not an error.
  mk uninstall DESTDIR="$root" PREFIX=/usr
  assertEquals "make uninstall twice; $(cat "$T/make.out")" 0 "$rc"
}

test_install_default_prefix_under_destdir() {
  local root=$T/def
  mk install DESTDIR="$root"
  assertEquals "make install (default PREFIX); $(cat "$T/make.out")" 0 "$rc"
  assertEquals "installed under /usr/local" \
    "$(printf '%s\n' ./usr/local/bin/qmpctl \
      ./usr/local/share/bash-completion/completions/qmpctl \
      ./usr/local/share/fish/vendor_completions.d/qmpctl.fish \
      ./usr/local/share/man/man1/qmpctl.1 \
      ./usr/local/share/zsh/vendor-completions/_qmpctl)" "$(files_under "$root")"
  mk uninstall DESTDIR="$root"
  assertEquals "make uninstall (default PREFIX); $(cat "$T/make.out")" 0 "$rc"
  assertEquals "make uninstall leaves no file" "" "$(files_under "$root")"
}

test_install_dir_overrides() {
  local root=$T/over
  local vars=(DESTDIR="$root" PREFIX=/opt/q BINDIR=/opt/q/sbin MANDIR=/opt/q/man
    BASHCOMPDIR=/etc/bash_completion.d ZSHCOMPDIR=/opt/q/zsh FISHCOMPDIR=/opt/q/fish)
  mk install "${vars[@]}"
  assertEquals "make install with overrides; $(cat "$T/make.out")" 0 "$rc"
  assertEquals "installed where the variables say" \
    "$(printf '%s\n' ./etc/bash_completion.d/qmpctl ./opt/q/fish/qmpctl.fish \
      ./opt/q/man/man1/qmpctl.1 ./opt/q/sbin/qmpctl ./opt/q/zsh/_qmpctl)" \
    "$(files_under "$root")"
  "$root/opt/q/sbin/qmpctl" --version >"$T/out" 2>"$T/err"
  rc=$?
  assert_rc 0 "qmpctl --version from BINDIR"
  assert_no_stderr "qmpctl --version from BINDIR"
  assertEquals "qmpctl --version from BINDIR: the version first" \
    "qmpctl $(cat VERSION)" "$(head -n 1 "$T/out")"
  render "$root/opt/q/man/man1/qmpctl.1" >"$T/man.txt"
  assert_that "man page from MANDIR renders" grep -q '^EXIT STATUS' "$T/man.txt"
  check_zsh_completion "$root/opt/q/zsh"
  check_fish_completion "$root/opt/q/fish" "$root/opt/q/sbin"

  mk uninstall "${vars[@]}"
  assertEquals "make uninstall with overrides; $(cat "$T/make.out")" 0 "$rc"
  assertEquals "make uninstall with overrides leaves no file" "" "$(files_under "$root")"
}

. shunit2
