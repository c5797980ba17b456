# SPDX-License-Identifier: MIT
# Bash completion for qmpctl.  Completes options; with -s ADDR (or
# QMP_SOCKET) given, completes -c and --describe from the server itself.

# Every option of qmpctl, in two lists: those without an argument, and those
# that take one.  A new option goes into one of them; an argument the case
# in _qmpctl does not know is left for the user to type.
_qmpctl_flags='
	-p --pretty -f --full -r --raw -k --keep-going -n --no-stdin --qga --oob
	--greeting --list-commands --json --wait-migration --exec -h --help -V
	--version --cancel --dismiss --finalize --detach --merged'
_qmpctl_with_arg='
	-s --socket -c --command -a --args -t --timeout --wait --max-size
	--wait-event --fail-event --match --count --events --listen --pass-fd
	--hmp --describe --trace --wait-job --ready-fd --get --put
	--cancel-grace --progress --interval --stall --until --exec-status
	--env --screendump --screen-device --screen-head --keys --type --hold
	--key-delay'

# _qmpctl_word WORD: WORD as typed on the line, without its quotes or
# backslashes, and with a leading ~/ expanded.
# The key names of --keys: QEMU's QKeyCode.
_qmpctl_keys='
	unmapped shift shift_r alt alt_r ctrl ctrl_r menu esc 1 2 3 4 5 6 7 8 9
	0 minus equal backspace tab q w e r t y u i o p bracket_left
	bracket_right ret a s d f g h j k l semicolon apostrophe grave_accent
	backslash z x c v b n m comma dot slash asterisk spc caps_lock f1 f2 f3
	f4 f5 f6 f7 f8 f9 f10 num_lock scroll_lock kp_divide kp_multiply
	kp_subtract kp_add kp_enter kp_decimal sysrq kp_0 kp_1 kp_2 kp_3 kp_4
	kp_5 kp_6 kp_7 kp_8 kp_9 less f11 f12 print home pgup pgdn end left up
	down right insert delete stop again props undo front copy open paste
	find cut lf help meta_l meta_r compose pause ro hiragana henkan yen
	muhenkan katakanahiragana kp_comma kp_equals power sleep wake audionext
	audioprev audiostop audioplay audiomute volumeup volumedown mediaselect
	mail calculator computer ac_home ac_back ac_forward ac_refresh
	ac_bookmarks lang1 lang2 f13 f14 f15 f16 f17 f18 f19 f20 f21 f22 f23
	f24'

_qmpctl_word()
{
	local w=$1
	case $w in
	\'*\') w=${w:1:${#w}-2} ;;
	\"*\") w=${w:1:${#w}-2} ;;
	*\\*) w=$(printf '%s\n' "$w" | sed 's/\\\(.\)/\1/g') ;;
	esac
	printf '%s\n' "${w/#\~\//$HOME/}"
}

_qmpctl_addr()
{
	local i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		-s) _qmpctl_word "${COMP_WORDS[i + 1]}"; return ;;
		--socket)
			# Bash splits "--socket=ADDR" into "--socket" "=" "ADDR".
			if [ "${COMP_WORDS[i + 1]}" = = ]; then
				_qmpctl_word "${COMP_WORDS[i + 2]}"
			else
				_qmpctl_word "${COMP_WORDS[i + 1]}"
			fi
			return ;;
		--socket=*) _qmpctl_word "${COMP_WORDS[i]#--socket=}"; return ;;
		esac
	done
	printf '%s\n' "${QMP_SOCKET:-}"
}

_qmpctl_has()
{
	local w
	for w in "${COMP_WORDS[@]}"; do
		[ "$w" = "$1" ] && return 0
	done
	return 1
}

# _qmpctl_jobs: the ids of the server's jobs, one a line.
_qmpctl_jobs()
{
	local addr
	addr=$(_qmpctl_addr)
	[ -n "$addr" ] || return
	qmpctl -s "$addr" -t 2 -n -c query-jobs 2>/dev/null |
	    grep -o '"id":"[^"]*"' | sed 's/^"id":"//; s/"$//'
}

_qmpctl()
{
	local cur prev addr names qga= w
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	# "--opt=VALUE" arrives as "--opt" "=" "VALUE".
	if [ "$cur" = = ]; then
		cur=
	elif [ "$prev" = = ] && [ "$COMP_CWORD" -ge 2 ]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi

	case $prev in
	-s|--socket|--listen|--events|--trace|--screendump)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return ;;
	-a|--args)
		# JSON is typed; @FILE names a file.
		case $cur in
		@*)
			compopt -o filenames 2>/dev/null
			mapfile -t COMPREPLY < <(compgen -f -P @ -- "${cur#@}") ;;
		esac
		return ;;
	-c|--command|--describe)
		addr=$(_qmpctl_addr)
		[ -n "$addr" ] || return
		_qmpctl_has --qga && qga=--qga
		names=$(qmpctl -s "$addr" $qga -t 2 --list-commands 2>/dev/null)
		COMPREPLY=($(compgen -W "$names" -- "$cur"))
		return ;;
	--keys)
		# The key name after the last - or , of the combos.
		local head=${cur%"${cur##*[-,]}"}
		COMPREPLY=($(compgen -P "$head" -W "$_qmpctl_keys" \
		    -- "${cur##*[-,]}"))
		return ;;
	--wait-job)
		# ID from the server's query-jobs; after ID:, a job status.
		if [[ $cur == *:* ]]; then
			COMPREPLY=($(compgen -P "${cur%%:*}:" -W "created running \
			    paused ready standby waiting pending aborting \
			    concluded null" -- "${cur#*:}"))
		else
			COMPREPLY=($(compgen -W "$(_qmpctl_jobs)" -- "$cur"))
		fi
		return ;;
	esac
	for w in $_qmpctl_with_arg; do
		[ "$prev" = "$w" ] && return
	done
	# After "--" come --exec's program and its arguments, not options.
	local i
	for ((i = 1; i < COMP_CWORD; i++)); do
		[ "${COMP_WORDS[i]}" = -- ] && return
	done
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$_qmpctl_flags $_qmpctl_with_arg" \
		    -- "$cur"))
	fi
}
complete -F _qmpctl qmpctl
