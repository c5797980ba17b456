#!/bin/bash
# SPDX-License-Identifier: MIT
# fuzz/mkcorpus.sh -- rebuilds the seed corpus fuzz/corpus/TARGET/ from the
# real transcripts in fuzz/transcripts/ (see fuzz/capture.sh) and a few
# hand-written addresses.  Run from anywhere; it is idempotent.
#
#   framer/NAME    "\x03\xff\xff\xff" + transcript: default limit, large
#                  chunks; NAME-bytes: "\x03\x00\x00\x00", one byte a chunk;
#                  NAME-small: "\x02\x06\x0f\x00", a 1 KiB limit
#   client/NAME    "\x00" + transcript ("\x02" for the guest agent, "\x09"
#                  for a second seed with oob and an event handler)
#   framer/synthetic-long-strings*: not transcripts; strings over 4 KiB
#   framer/synthetic-numbers: not a transcript; every form of number
#   address/N      one address each
set -u
cd "$(dirname "$0")" || exit 2

rm -rf corpus
mkdir -p corpus/framer corpus/client corpus/address

for t in transcripts/*; do
	[ -f "$t" ] || continue
	name=$(basename "$t")
	{ printf '\003\377\377\377'; cat "$t"; } >"corpus/framer/$name"
	{ printf '\003\000\000\000'; cat "$t"; } >"corpus/framer/$name-bytes"
	{ printf '\002\006\017\000'; cat "$t"; } >"corpus/framer/$name-small"
	case $name in
	qga-*)
		{ printf '\006\377\377\377'; cat "$t"; } \
		    >"corpus/framer/$name-skipff"
		{ printf '\002'; cat "$t"; } >"corpus/client/$name"
		;;
	*)
		{ printf '\000'; cat "$t"; } >"corpus/client/$name"
		{ printf '\011'; cat "$t"; } >"corpus/client/$name-oob-events"
		;;
	esac
done

# Long plain strings (the reader copies them whole): one as a
# value, one in an array, one as a key, one with an escape (not plain).
long=$(head -c 5000 /dev/zero | tr '\0' 'A')
printf '\003\377\377\377{"return": {"data": "%s", "list": ["%s", 1], "%s": 2, "esc": "%s\\n"}, "id": "qmpctl-2"}\r\n' \
    "$long" "$long" "$long" "$long" >corpus/framer/synthetic-long-strings
printf '\002\020\001\377{"return": "%s"}{"return": "%s", "x": "%s"}' \
    "$long" "$long" "$long" >corpus/framer/synthetic-long-strings-chunked

# Numbers in every form (kept as text by qmp_json), escapes and UTF-8.
printf '\003\377\377\377{"return": {"n": [18446744073709551615, -9223372036854775809, 12345678901234567890123, 1e400, 4.9e-324, 1.0, -0.0, 0.1, 2E+10, 0, 1e-99999999999999999999]}, "id": 1.0}\r\n{"event": "X", "data": {"s": "\\u00e9\\ud83d\\ude00\\u0000\\"\\\\", "t": true, "f": false, "z": null, "o": {}, "a": []}, "timestamp": {"seconds": 1, "microseconds": 2}}\r\n' \
    >corpus/framer/synthetic-numbers

i=0
while IFS= read -r a; do
	i=$((i + 1))
	printf '%s' "$a" >"corpus/address/$i"
done <<'EOF'
/run/vm/qmp.sock
unix:/run/vm/qmp.sock
unix:relative.sock
qmp.sock
127.0.0.1:4444
tcp:127.0.0.1:4444
localhost:4444
tcp:localhost:65535
[::1]:4444
tcp:[::1]:4444
[fe80::1%lo]:1
vsock:3:1234
vsock:4294967295:4294967295
::1:4444
[::1]
127.0.0.1:0
127.0.0.1:65536
host:
:4444
tcp::1
unix:
./a:b
EOF
echo "mkcorpus.sh: $(find corpus -type f | wc -l) files," \
    "$(du -sk corpus | cut -f1) KiB"
