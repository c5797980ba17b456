#!/bin/sh
# SPDX-License-Identifier: MIT
# check-json-api.sh FILE...: fails when a product source outside qmp_json.c
# calls one of jansson's functions that do not know qmp_json.c's number
# representation (a number kept as its text in a marked string):
# json_string_value, json_integer_value, json_real_value,
# json_number_value, json_equal, json_dumps, json_dumpf.  Those files read
# values through qmp_json.h's accessors instead (qmp_json_string,
# qmp_json_number_text, qmp_json_int, qmp_json_double, qmp_json_equal,
# qmp_json_write, qmp_json_dumps).  Each offending line is printed as
# FILE:LINE: TEXT.  Exit status 0 when none, 1 otherwise, 2 on usage.

[ $# -gt 0 ] || { echo "usage: check-json-api.sh FILE..." >&2; exit 2; }
bad=0
for f in "$@"; do
	case ${f##*/} in qmp_json.c) continue ;; esac
	[ -r "$f" ] || { echo "check-json-api.sh: $f: cannot read" >&2; exit 2; }
	if grep -nE '(^|[^A-Za-z0-9_])(json_string_value|json_integer_value|json_real_value|json_number_value|json_equal|json_dumps|json_dumpf)[[:space:]]*\(' \
	    "$f" | sed "s|^|$f:|" | grep .; then
		bad=1
	fi
done
if [ $bad -ne 0 ]; then
	echo "check-json-api.sh: the calls above bypass qmp_json.h's accessors" >&2
	exit 1
fi
exit 0
