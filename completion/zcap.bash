# bash completion for zcap(8): commands, options, option values, files.
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# The options of each command are read from `zcap COMMAND --help` (argp's
# own listing, so they never drift from the program); the values of the
# options that take a fixed set are listed here.

# COMMAND: every option of COMMAND, one per line; one that takes a value
# ends with "=" ("--output=", "-o=")
_zcap_options()
{
	"${COMP_WORDS[0]}" "$1" --help 2>/dev/null |
		sed -n 's/^  *\(-[^-], \)\{0,1\}\(--[a-z][a-z0-9-]*\)\(=[A-Z]*\)\{0,1\}.*/\1\2\3/p' |
		while IFS= read -r line; do
			local short=${line%%, *} long=${line#*, }
			[ "$short" = "$line" ] && short=
			case $long in
			*=*) long=${long%%=*}= ;;
			esac
			printf '%s\n' "$long"
			[ -n "$short" ] && printf '%s%s\n' "$short" "${long: -1}" | sed 's/[^=]$//'
		done
}

_zcap_takes_value() # COMMAND OPTION: does OPTION take a separate value?
{
	_zcap_options "$1" | grep -qxF -- "$2="
}

_zcap_values() # COMMAND OPTION CUR: fill COMPREPLY with OPTION's values
{
	local cmd=$1 opt=$2 cur=$3 head
	case $opt in
	--format)
		if [ "$cmd" = lineage ]; then
			COMPREPLY=($(compgen -W "json openlineage prov dot" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "text json pcapng pcap" -- "$cur"))
		fi ;;
	-e | --events)
		# a comma-separated list: complete its last element
		head=
		[[ $cur == *,* ]] && head=${cur%,*},
		COMPREPLY=($(compgen -P "$head" -W "io body xfer fd proc" -- "${cur##*,}")) ;;
	--send-hook)
		COMPREPLY=($(compgen -W "auto kprobe fentry tracepoint" -- "$cur")) ;;
	-o | --output | -r | --read)
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	--user | -Z | --relinquish-privileges)
		COMPREPLY=($(compgen -u -- "$cur")) ;;
	-p | --pid)
		COMPREPLY=($(compgen -W "$(ls /proc | grep '^[0-9][0-9]*$')" -- "$cur")) ;;
	--comm)
		COMPREPLY=($(compgen -W "$(cat /proc/[0-9]*/comm 2>/dev/null | sort -u)" -- "$cur")) ;;
	--cgroup)
		COMPREPLY=($(compgen -d -- "${cur:-$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)/}")) ;;
	*)
		COMPREPLY=() ;;
	esac
}

_zcap()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev= cmd= i
	COMPREPLY=()
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "record read lineage doctor help version" -- "$cur"))
		return
	fi
	cmd=${COMP_WORDS[1]}
	case $cmd in
	help)
		((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W "record read lineage doctor version" -- "$cur"))
		return ;;
	record | read | lineage | doctor) ;;
	*) return ;;
	esac
	# after "--": CMD, then its arguments (files)
	for ((i = 2; i < COMP_CWORD; i++)); do
		if [ "${COMP_WORDS[i]}" = -- ]; then
			if ((i == COMP_CWORD - 1)); then
				COMPREPLY=($(compgen -c -- "$cur"))
			else
				COMPREPLY=($(compgen -f -- "$cur"))
			fi
			return
		fi
	done
	case $cur in
	--*=*)
		_zcap_values "$cmd" "${cur%%=*}" "${cur#*=}"
		return ;;
	-*)
		COMPREPLY=($(compgen -W "$(_zcap_options "$cmd" | sed 's/^\(-[^-]\)=$/\1/')" -- "$cur"))
		# no space after an option that wants "=VALUE"
		[[ ${#COMPREPLY[@]} == 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
		return ;;
	esac
	if [[ $prev == -* ]] && _zcap_takes_value "$cmd" "$prev"; then
		_zcap_values "$cmd" "$prev" "$cur"
		return
	fi
	COMPREPLY=($(compgen -W "$(_zcap_options "$cmd" | sed 's/=$//')" -- "$cur"))
}

complete -F _zcap zcap
