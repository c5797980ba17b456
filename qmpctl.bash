# Bash completion for qmpctl.  Completes options (none after "--", where
# --exec's program starts); with -s ADDR (or QMP_SOCKET) given, completes
# -c and --describe from the server itself.

_qmpctl_addr()
{
	local i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		-s) printf '%s\n' "${COMP_WORDS[i + 1]}"; return ;;
		--socket)
			# Bash splits "--socket=ADDR" into "--socket" "=" "ADDR".
			if [ "${COMP_WORDS[i + 1]}" = = ]; then
				printf '%s\n' "${COMP_WORDS[i + 2]}"
			else
				printf '%s\n' "${COMP_WORDS[i + 1]}"
			fi
			return ;;
		--socket=*) printf '%s\n' "${COMP_WORDS[i]#--socket=}"; return ;;
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

_qmpctl()
{
	local cur prev addr names qga=
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}

	case $prev in
	-s|--socket|--listen)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	-a|--args|--events)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	-c|--command|--describe)
		addr=$(_qmpctl_addr)
		[ -n "$addr" ] || return
		_qmpctl_has --qga && qga=--qga
		names=$(qmpctl -s "$addr" $qga -t 2 --list-commands 2>/dev/null)
		COMPREPLY=($(compgen -W "$names" -- "$cur"))
		return ;;
	-t|--timeout|--wait|--max-size|--count|--pass-fd|--hmp|--match|\
	--wait-event|--fail-event|--get|--put)
		# Guest paths and free text: nothing to offer.
		return ;;
	esac
	# After "--" come --exec's program and its arguments, not options.
	local i
	for ((i = 1; i < COMP_CWORD; i++)); do
		[ "${COMP_WORDS[i]}" = -- ] && return
	done
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(qmpctl --help 2>/dev/null |
		    grep -o -- '--[a-z][a-z-]*' | sort -u) \
		    -s -c -a -t -n -p -f -r -k -h -V" \
		    -- "$cur"))
	fi
}
complete -F _qmpctl qmpctl
