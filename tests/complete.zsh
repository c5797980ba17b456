#!/bin/zsh -f
# SPDX-License-Identifier: MIT
# tests/complete.zsh DIR OUT LINE: complete LINE in an interactive zsh with
# compinit and fpath=(DIR ...), as if TAB were pressed at its end, and write
# every match the completion functions offered to OUT, one a line, followed
# by a line "<end>".  Exits 1 if that did not happen within 20 seconds.
#
# The interactive zsh runs in a pseudo-terminal (zsh/zpty).  A compadd
# function in front of the builtin records the matches; a widget bound to
# ^T runs complete-word and then writes "<end>".
zmodload zsh/zpty zsh/datetime || exit 2
dir=$1 out=$2 line=$3
: >"$out" || exit 2

zpty t zsh -f -i || exit 2
{
  zpty -w t "PS1='' RPS1=''; unsetopt autolist listambiguous beep; fpath=(${(q)dir} \$fpath)"
  zpty -w t 'autoload -Uz compinit && compinit -u -D'
  zpty -w t "OUT=${(q)out}"
  # A call that only asks (-O, -A or -D before any --) is passed on as it is.
  zpty -w t 'compadd() {
    local -a got
    local opts=${argv[1,${argv[(i)--]}-1]}
    if [[ " $opts" == *" "-[OAD]* ]]; then builtin compadd "$@"; return; fi
    builtin compadd -O got "$@"
    (( $#got )) && print -rl -- $got >>$OUT
    builtin compadd "$@"
  }'
  zpty -w t '_t_complete() { zle complete-word; print -r -- "<end>" >>$OUT }'
  zpty -w t 'zle -N _t_complete; bindkey "^T" _t_complete'
  zpty -w -n t "$line"$'\x14'

  deadline=$(( EPOCHREALTIME + 20 ))
  while ! grep -qx '<end>' "$out"; do
    while zpty -rt t junk; do :; done
    if (( EPOCHREALTIME > deadline )); then
      print -u2 "complete.zsh: no completion for '$line' within 20 s"
      exit 1
    fi
    sleep 0.02
  done
} always {
  zpty -d t
}
