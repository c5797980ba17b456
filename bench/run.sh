#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/run.sh: measures qmpctl's speed against a floor client, socat and
# jq, and writes the tables to bench/RESULTS.md (also printed).  Run it
# through `make bench`, which builds what it needs; see bench/README.md.
#
# Knobs (environment): BENCH_N one-shot runs per client (200),
# BENCH_BATCH commands in the batch (10000), BENCH_RUNS repeats of the batch
# and large-reply measurements (5), BENCH_CG_MIB size in MiB of the reply
# profiled under callgrind (4).
set -eu

N=${BENCH_N:-200}
BATCH=${BENCH_BATCH:-10000}
RUNS=${BENCH_RUNS:-5}
CG_MIB=${BENCH_CG_MIB:-4}
QMPCTL=bench/qmpctl
FAKEPEER=bench/fakepeer
OUT=bench/RESULTS.md
QS='{"execute":"query-status"}'
ROUNDS=$N		# one-shot runs interleaved run by run
# qemu-ga acts on this host as root: everything but reading is blocked.
QGA_BLOCK=guest-shutdown,guest-suspend-disk,guest-suspend-ram,guest-suspend-hybrid,guest-set-time,guest-fsfreeze-freeze,guest-fsfreeze-freeze-list,guest-fsfreeze-thaw,guest-fstrim,guest-set-vcpus,guest-set-user-password,guest-set-memory-blocks,guest-ssh-add-authorized-keys,guest-ssh-remove-authorized-keys,guest-exec,guest-file-write
QGA_COUNT=50331648	# 48 MiB, the most one guest-file-read returns

for tool in qemu-system-x86_64 jq socat valgrind callgrind_annotate; do
	command -v "$tool" >/dev/null || { echo "bench: $tool missing (make deps)" >&2; exit 1; }
done
QGA=$(command -v qemu-ga || echo /usr/sbin/qemu-ga)
[ -x "$QGA" ] || { echo "bench: qemu-ga missing (make deps)" >&2; exit 1; }
for f in $QMPCTL $FAKEPEER bench/floor bench/timeit bench/qmpctl-static-jansson; do
	[ -x "$f" ] || { echo "bench: $f not built (make bench)" >&2; exit 1; }
done

T=$(mktemp -d /tmp/qmpctl-bench.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf 'bench: %s\n' "$*" >&2; }

# wait_file PATH: wait up to 5 s for PATH to appear.
wait_file() {
	local i
	for ((i = 0; i < 500; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.01
	done
	echo "bench: $1 did not appear" >&2
	return 1
}

# stop PID: SIGTERM and reap a process this script started.
stop() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	local keep=() p
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# stats FILE COLUMN [FACTOR]: print "median q1 q3 min max" of the column,
# each multiplied by FACTOR (quartiles interpolated linearly).
stats() {
	awk -v c="$2" '{ print $c }' "$1" | sort -g | awk -v m="${3:-1}" '
	function q(p,   pos, lo) {
		pos = 1 + (NR - 1) * p; lo = int(pos)
		return lo >= NR ? v[NR] : v[lo] + (pos - lo) * (v[lo + 1] - v[lo])
	}
	{ v[NR] = $1 * m }
	END { printf "%.6g %.6g %.6g %.6g %.6g\n", q(.5), q(.25), q(.75), v[1], v[NR] }'
}

# per FILE NUMERATOR: a file of NUMERATOR/seconds for each run of FILE.
per() { awk -v k="$2" '{ printf "%.6f\n", k / $1 }' "$1" >"$1.rate"; echo "$1.rate"; }

# ratio A B: A/B with 3 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# verdict OK: "yes" or "**no**".
verdict() { if [ "$1" = 1 ]; then echo yes; else echo "**no**"; fi; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b) ? 1 : 0 }'; }

git_rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- qmpctl.c qmp_core.c qmp_core.h 2>/dev/null || git_rev="$git_rev + uncommitted changes"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)

# ---- 1. one-shot latency against a real QEMU --------------------------

say "starting QEMU"
qemu-system-x86_64 -machine none -nodefaults -display none -no-user-config \
    -qmp "unix:$T/vm.sock,server=on,wait=off" 2>"$T/qemu.log" &
QEMU_PID=$!
PIDS+=("$QEMU_PID")
wait_file "$T/vm.sock"
$QMPCTL --wait 5 -t 10 -s "$T/vm.sock" -c query-status >/dev/null

# Clients: name, then the command.  "floor" sends the very bytes qmpctl
# sends (no ids, in lockstep); "floor -i" adds ids, as qmpctl once did, to
# show what they cost QEMU, which reads one byte at a time; "--version" is
# start-up alone, and /bin/true the cost of creating a process at all.
ONESHOT=(qmpctl floor "floor -i" socat qmpctl-static-jansson)
declare -A CMD=(
	[qmpctl]="$QMPCTL -s $T/vm.sock -c query-status"
	[qmpctl-static-jansson]="bench/qmpctl-static-jansson -s $T/vm.sock -c query-status"
	[qmpctl-static]="bench/qmpctl-static -s $T/vm.sock -c query-status"
	[floor]="bench/floor $T/vm.sock $QS"
	[floor -i]="bench/floor -i $T/vm.sock $QS"
	[socat]="bash bench/socat-oneshot.sh $T/vm.sock"
	[qmpctl --version]="$QMPCTL --version"
	[qmpctl-static-jansson --version]="bench/qmpctl-static-jansson --version"
	[qmpctl-static --version]="bench/qmpctl-static --version"
	[/bin/true]="/bin/true"
)
if [ -x bench/qmpctl-static ]; then
	ONESHOT+=(qmpctl-static)
	STARTUP=("qmpctl --version" "qmpctl-static-jansson --version" "qmpctl-static --version" /bin/true)
else
	STARTUP=("qmpctl --version" "qmpctl-static-jansson --version" /bin/true)
fi

say "one-shot latency: $N runs each of ${ONESHOT[*]}, ${STARTUP[*]}"
per_round=$(( (N + ROUNDS - 1) / ROUNDS ))
declare -A F
i=0
for c in "${ONESHOT[@]}" "${STARTUP[@]}"; do
	F[$c]=$T/lat.$i
	i=$((i + 1))
	: >"${F[$c]}"
	# shellcheck disable=SC2086
	bench/timeit -w 20 ${CMD[$c]} >/dev/null
done
for ((r = 0; r < ROUNDS; r++)); do
	for c in "${ONESHOT[@]}" "${STARTUP[@]}"; do
		# shellcheck disable=SC2086
		bench/timeit -n "$per_round" ${CMD[$c]} >>"${F[$c]}"
	done
done

# ---- 2. batch throughput ----------------------------------------------

say "batch: $BATCH query-status over one connection, $RUNS runs each"
for ((i = 0; i < BATCH; i++)); do echo "$QS"; done >"$T/batch.in"
: >"$T/batch.qmpctl"
: >"$T/batch.floor"
: >"$T/batch.floori"
for ((r = 0; r < RUNS; r++)); do
	bench/timeit -i "$T/batch.in" $QMPCTL -s "$T/vm.sock" >>"$T/batch.qmpctl"
	bench/timeit bench/floor -n "$BATCH" "$T/vm.sock" "$QS" >>"$T/batch.floor"
	bench/timeit bench/floor -i -n "$BATCH" "$T/vm.sock" "$QS" >>"$T/batch.floori"
done

# A large reply of many small values, which takes the JSON parser's path:
# query-qmp-schema, ~200 KB.
say "large reply: query-qmp-schema from QEMU, $((4 * RUNS)) runs each"
SCHEMA='{"execute":"query-qmp-schema"}'
bench/floor "$T/vm.sock" "$SCHEMA" >"$T/raw.schema"
for f in qmpctl floor jq pipe; do : >"$T/big.schema.$f"; done
for ((r = 0; r < 4 * RUNS; r++)); do
	bench/timeit $QMPCTL -s "$T/vm.sock" -c query-qmp-schema >>"$T/big.schema.qmpctl"
	bench/timeit bench/floor "$T/vm.sock" "$SCHEMA" >>"$T/big.schema.floor"
	bench/timeit jq -c .return "$T/raw.schema" >>"$T/big.schema.jq"
done
valgrind --tool=callgrind --callgrind-out-file="$T/cg.schema" \
    bench/qmpctl-static-jansson -s "$T/vm.sock" -c query-qmp-schema \
    >/dev/null 2>"$T/vg.err"
schema_ir=$(sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$T/vg.err")

# ---- 4a. instruction counts of one-shot runs --------------------------

# ir FILE COMMAND...: append the Ir total of one run under callgrind.
ir() {
	local f=$1
	shift
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" \
	    >/dev/null 2>"$T/vg.err"
	sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$T/vg.err" >>"$f"
}

say "callgrind: one-shot and start-up instruction counts"
i=0
declare -A IR
for c in "${ONESHOT[@]}" "${STARTUP[@]}"; do
	# bash + socat is not ours to count; floor -i is floor's code.
	[ "$c" = socat ] || [ "$c" = "floor -i" ] && continue
	IR[$c]=$T/ir.$i
	i=$((i + 1))
	: >"${IR[$c]}"
	for r in 1 2 3; do
		# shellcheck disable=SC2086
		ir "${IR[$c]}" ${CMD[$c]}
	done
done
valgrind --tool=callgrind --callgrind-out-file="$T/cg.oneshot" \
    $QMPCTL -s "$T/vm.sock" -c query-status >/dev/null 2>&1
stop "$QEMU_PID"

# ---- 3. large replies -------------------------------------------------

# peer SIZE TIMEIT-ARGS...: serve one `big SIZE` reply from the fake peer
# to a client run by timeit.
peer() {
	local size=$1 pid
	shift
	printf 'greet\nnegotiate\nexpect\nbig %s\n' "$size" >"$T/fp.script"
	rm -f "$T/fp.pid"
	$FAKEPEER -u "$T/fp.sock" -P "$T/fp.pid" -T 300 "$T/fp.script" &
	pid=$!
	PIDS+=("$pid")
	wait_file "$T/fp.pid"	# written once it listens
	"$@"
	wait "$pid" || { echo "bench: fake peer failed" >&2; return 1; }
	stop "$pid"
}

# The fixed cost of a run (start, connect, handshake): an empty string.
say "large reply: the fixed cost, an empty string, $RUNS runs"
: >"$T/big.0.qmpctl"
for ((r = 0; r < RUNS; r++)); do
	peer 0 bench/timeit $QMPCTL -s "$T/fp.sock" -c query-status >>"$T/big.0.qmpctl"
done

SIZES=(1 4 16 64)
for mib in "${SIZES[@]}"; do
	bytes=$((mib * 1048576))
	say "large reply: $mib MiB from the fake peer, $RUNS runs each"
	peer "$bytes" bench/floor "$T/fp.sock" "$QS" >"$T/raw.$mib"
	for f in qmpctl floor jq pipe; do : >"$T/big.$mib.$f"; done
	for ((r = 0; r < RUNS; r++)); do
		peer "$bytes" bench/timeit $QMPCTL -s "$T/fp.sock" -c query-status >>"$T/big.$mib.qmpctl"
		peer "$bytes" bench/timeit bench/floor "$T/fp.sock" "$QS" >>"$T/big.$mib.floor"
		bench/timeit jq -c .return "$T/raw.$mib" >>"$T/big.$mib.jq"
		if [ "$mib" = 64 ]; then
			peer "$bytes" bench/timeit -p $QMPCTL -s "$T/fp.sock" -c query-status >>"$T/big.$mib.pipe"
		fi
	done
done

say "large reply: guest-file-read of 48 MiB from qemu-ga, $RUNS runs each"
mkdir "$T/ga-state"
head -c "$QGA_COUNT" /dev/urandom >"$T/file48"
"$QGA" -m unix-listen -p "$T/ga.sock" -t "$T/ga-state" -l "$T/ga.log" \
    -b "$QGA_BLOCK" &
QGA_PID=$!
PIDS+=("$QGA_PID")
wait_file "$T/ga.sock"

# ga_read TIMEIT-ARGS... -- CLIENT: open the file, time one whole read by
# CLIENT (qmpctl, floor), close it.
ga_read() {
	local h targs=() client
	while [ "$1" != -- ]; do targs+=("$1"); shift; done
	client=$2
	h=$($QMPCTL --wait 5 -t 10 --qga -s "$T/ga.sock" -c guest-file-open \
	    -a "{\"path\":\"$T/file48\",\"mode\":\"r\"}")
	case $client in
	qmpctl)	bench/timeit "${targs[@]}" $QMPCTL -t 60 --qga -s "$T/ga.sock" \
		    -c guest-file-read -a "{\"handle\":$h,\"count\":$QGA_COUNT}" ;;
	floor)	bench/timeit "${targs[@]}" bench/floor -g "$T/ga.sock" \
		    "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":$h,\"count\":$QGA_COUNT}}" ;;
	raw)	bench/floor -g "$T/ga.sock" \
		    "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":$h,\"count\":$QGA_COUNT}}" ;;
	esac
	$QMPCTL -t 10 --qga -s "$T/ga.sock" -c guest-file-close \
	    -a "{\"handle\":$h}" >/dev/null
}
ga_read -- raw >"$T/raw.qga"
for f in qmpctl floor jq pipe; do : >"$T/big.qga.$f"; done
for ((r = 0; r < RUNS; r++)); do
	ga_read -- qmpctl >>"$T/big.qga.qmpctl"
	ga_read -- floor >>"$T/big.qga.floor"
	bench/timeit jq -c .return "$T/raw.qga" >>"$T/big.qga.jq"
	ga_read -p -- qmpctl >>"$T/big.qga.pipe"
done
stop "$QGA_PID"

# ---- 4b. where the instructions go for a large reply ------------------

say "callgrind: a $CG_MIB MiB reply (qmpctl-static-jansson, for symbols)"
peer $((CG_MIB * 1048576)) valgrind --tool=callgrind \
    --callgrind-out-file="$T/cg.big" bench/qmpctl-static-jansson \
    -s "$T/fp.sock" -c query-status >/dev/null 2>"$T/vg.err"
big_ir=$(sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$T/vg.err")

# ---- 5. memory by reply shape -----------------------------------------

say "memory by reply shape (bench/shapes.sh)"
FAKEPEER=$FAKEPEER bash bench/shapes.sh "$QMPCTL" >"$T/shapes.md"

# ---- the report -------------------------------------------------------

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(($(date +%s) - started))

# row NAME FILE FACTOR [DECIMALS]: "| NAME | median | q1–q3 | min–max |"
# of the first column, in FACTOR units, with DECIMALS (3) decimals.
row() {
	local s d=${4:-3}
	read -r -a s <<<"$(stats "$2" 1 "$3")"
	printf "| %s | %.${d}f | %.${d}f–%.${d}f | %.${d}f–%.${d}f |" "$1" "${s[0]}" "${s[1]}" "${s[2]}" "${s[3]}" "${s[4]}"
}
median() { stats "$1" "${2:-1}" "${3:-1}" | cut -d' ' -f1; }

# top FILE COUNT [OPTIONS]: the COUNT heaviest functions in a callgrind
# profile.
top() {
	local f=$1 k=$2
	shift 2
	callgrind_annotate "$@" "$f" 2>/dev/null |
	    awk -v k="$k" '/file:function/ { on = 1; getline; next } on && !NF { exit } on { print; if (++n == k) exit }' |
	    sed -e 's/  */ /g' -e 's/^ //'
}

{
echo "# qmpctl benchmark results"
echo
echo "Written by \`make bench\` (bench/run.sh); see bench/README.md for what each figure means."
echo
echo "| | |"
echo "|---|---|"
echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
echo "| qmpctl | $($QMPCTL --version 2>&1 | head -1), commit $git_rev |"
echo "| CPU | $(nproc) × $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1) |"
echo "| kernel | $(uname -sr) |"
echo "| QEMU | $(qemu-system-x86_64 --version | head -1) |"
echo "| jansson | $(pkg-config --modversion jansson 2>/dev/null || echo unknown) |"
echo "| compiler | $(${CC:-cc} --version | head -1) |"
echo "| load average | $load_start at the start, $load_end at the end |"
echo "| run time | ${elapsed} s (BENCH_N=$N, BENCH_BATCH=$BATCH, BENCH_RUNS=$RUNS, BENCH_CG_MIB=$CG_MIB) |"
if awk -v l="${load_start%% *}" -v m="${load_end%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2 || m > n / 2) }'; then
	echo
	echo "**The machine was busy** (load average over half the processors): wall times"
	echo "include waits for a processor. Compare processor times and instruction"
	echo "counts, or run again on an idle machine."
fi
echo
echo "## 1. One-shot latency"
echo
echo "\`query-status\` on a fresh connection to \`qemu-system-x86_64 -machine none\`,"
echo "$((per_round * ROUNDS)) runs per client, interleaved run by run, after 20 warm-up runs. Milliseconds."
echo
echo "Wall time from spawn to exit (median, IQR, min–max); then the client's own"
echo "processor time (user + system, median), less sensitive to other load."
echo
echo "| client | wall | IQR | min–max | wall / floor | CPU | CPU / floor |"
echo "|---|---|---|---|---|---|---|"
floor_med=$(median "${F[floor]}")
floor_cpu=$(median "${F[floor]}" 3)
for c in "${ONESHOT[@]}" "${STARTUP[@]}"; do
	cpu=$(median "${F[$c]}" 3)
	echo "$(row "$c" "${F[$c]}" 1000) $(ratio "$(median "${F[$c]}")" "$floor_med") |" \
	    "$(awk -v c="$cpu" 'BEGIN { printf "%.3f", c * 1000 }') | $(ratio "$cpu" "$floor_cpu") |"
done
echo
echo "## 2. Batch throughput"
echo
echo "$BATCH \`query-status\` over one connection in lockstep, $RUNS runs. Commands per second."
echo
echo "| client | median | IQR | min–max | median / floor | client CPU µs per command |"
echo "|---|---|---|---|---|---|"
bq=$(per "$T/batch.qmpctl" "$BATCH")
bf=$(per "$T/batch.floor" "$BATCH")
echo "$(row "qmpctl (stdin batch)" "$bq" 1 0) $(ratio "$(median "$bq")" "$(median "$bf")") |" \
    "$(awk -v c="$(median "$T/batch.qmpctl" 3)" -v n="$BATCH" 'BEGIN { printf "%.1f", c * 1e6 / n }') |"
echo "$(row "floor -n $BATCH" "$bf" 1 0) 1.000 |" \
    "$(awk -v c="$(median "$T/batch.floor" 3)" -v n="$BATCH" 'BEGIN { printf "%.1f", c * 1e6 / n }') |"
bi=$(per "$T/batch.floori" "$BATCH")
echo "$(row "floor -i -n $BATCH (qmpctl's bytes)" "$bi" 1 0) $(ratio "$(median "$bi")" "$(median "$bf")") |" \
    "$(awk -v c="$(median "$T/batch.floori" 3)" -v n="$BATCH" 'BEGIN { printf "%.1f", c * 1e6 / n }') |"
echo
echo "## 3. Large replies"
echo
echo "One reply of the given size (\`big N\` from tests/fakepeer: one long plain"
echo "string; guest-file-read of 48 MiB from qemu-ga: base64), $RUNS runs; and"
echo "QEMU's query-qmp-schema (many small values), $((4 * RUNS)) runs. stdout to"
echo "/dev/null, or a pipe to a reader where marked. jq: \`jq -c .return\` on the"
echo "same reply bytes read from a file."
echo "Wall seconds median (min–max); MiB/s and ms per MiB from that median; the"
echo "client's processor seconds (user + system) and peak RSS, medians."
echo
echo "| reply | bytes | client | seconds | MiB/s | ms/MiB | CPU s | peak RSS MiB | RSS / reply |"
echo "|---|---|---|---|---|---|---|---|---|"
for sz in "${SIZES[@]}" qga schema; do
	bytes=$(wc -c <"$T/raw.$sz")
	label="$sz MiB"
	[ "$sz" = qga ] && label="qemu-ga 48 MiB read"
	[ "$sz" = schema ] && label="query-qmp-schema"
	for f in qmpctl pipe floor jq; do
		[ -s "$T/big.$sz.$f" ] || continue
		name=$f
		[ "$f" = pipe ] && name="qmpctl \\| reader"
		read -r -a s <<<"$(stats "$T/big.$sz.$f" 1)"
		rss=$(median "$T/big.$sz.$f" 2)
		cpu=$(median "$T/big.$sz.$f" 3)
		awk -v l="$label" -v b="$bytes" -v n="$name" -v m="${s[0]}" -v lo="${s[3]}" -v hi="${s[4]}" -v r="$rss" -v c="$cpu" 'BEGIN {
			mib = b / 1048576
			printf "| %s | %d | %s | %.3f (%.3f–%.3f) | %.1f | %.2f | %.3f | %.1f | %.2f |\n",
			    l, b, n, m, lo, hi, mib / m, 1000 * m / mib, c, r / 1024, r * 1024 / b }'
	done
done
echo
echo "The fixed cost of a qmpctl run here (\`big 0\`, an empty string): $(median "$T/big.0.qmpctl" 1 1000 | awk '{ printf "%.2f", $1 }') ms"
echo "wall, $(median "$T/big.0.qmpctl" 3 1000 | awk '{ printf "%.2f", $1 }') ms processor."
echo
echo "## 4. Instructions (callgrind, Ir)"
echo
echo "Three runs each under \`valgrind --tool=callgrind\`: median (min–max). The"
echo "one-shot runs talk to the same QEMU as in section 1."
echo
echo "| program | Ir median | min–max | median / floor |"
echo "|---|---|---|---|"
fir=$(median "${IR[floor]}")
for c in "${ONESHOT[@]}" "${STARTUP[@]}"; do
	[ -n "${IR[$c]:-}" ] || continue
	read -r -a s <<<"$(stats "${IR[$c]}" 1)"
	printf '| %s | %.0f | %.0f–%.0f | %s |\n' "$c" "${s[0]}" "${s[3]}" "${s[4]}" "$(ratio "${s[0]}" "$fir")"
done
printf '| qmpctl-static-jansson, one %s MiB reply | %s | (one run) | %s Ir/byte |\n' \
    "$CG_MIB" "$big_ir" "$(ratio "$big_ir" $((CG_MIB * 1048576)))"
printf '| qmpctl-static-jansson -c query-qmp-schema | %s | (one run) | %s Ir/byte |\n' \
    "$schema_ir" "$(ratio "$schema_ir" "$(wc -c <"$T/raw.schema")")"
echo
echo "Heaviest functions (self cost), one-shot \`qmpctl -c query-status\`:"
echo
echo '```'
top "$T/cg.oneshot" 15
echo '```'
echo
echo "Heaviest functions (self cost), one $CG_MIB MiB reply, qmpctl-static-jansson:"
echo
echo '```'
top "$T/cg.big" 12
echo '```'
echo
echo "Same, inclusive cost:"
echo
echo '```'
top "$T/cg.big" 24 --inclusive=yes
echo '```'
echo
echo "Heaviest functions (self cost), \`query-qmp-schema\`, qmpctl-static-jansson:"
echo
echo '```'
top "$T/cg.schema" 15
echo '```'
echo
echo "## 5. Memory by reply shape"
echo
echo "One reply of each shape and size from the fake peer (bench/shapes.sh),"
echo "median of 3 runs: the widest shapes a peer can send for its size (many"
echo "empty objects, many one-digit numbers, arrays nested to the 1024-level"
echo "limit, repeated) and one long string.  The reader refuses (exit 7) a"
echo "message whose values would take more than 8 times its size plus 64 MiB"
echo "(qmp_json.h); without that bound, empty objects cost 78 times their size."
echo
cat "$T/shapes.md"
echo
echo "## Targets"
echo
echo "| target | measured | met |"
echo "|---|---|---|"
r1=$(ratio "$(median "${F[qmpctl]}")" "$floor_med")
echo "| one-shot latency qmpctl / floor ≤ 1.10 | $r1 | $(verdict "$(le "$r1" 1.10)") |"
r2=$(ratio "$(median "$bq")" "$(median "$bf")")
echo "| batch throughput qmpctl / floor ≥ 0.95 | $r2 | $(verdict "$(le 0.95 "$r2")") |"
echo "| (for reference) one-shot qmpctl / floor -i, floor with the ids qmpctl no longer sends | $(ratio "$(median "${F[qmpctl]}")" "$(median "${F[floor -i]}")") | |"
echo "| (for reference) batch qmpctl / floor -i, floor with the ids qmpctl no longer sends | $(ratio "$(median "$bq")" "$(median "$bi")") | |"
spread=$(for sz in "${SIZES[@]}"; do
	awk -v m="$(median "$T/big.$sz.qmpctl")" -v b="$(wc -c <"$T/raw.$sz")" 'BEGIN { print m / (b / 1048576) }'
done | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f", hi / lo }')
echo "| time per MiB 1→64 MiB, max / min ≤ 1.25 | $spread | $(verdict "$(le "$spread" 1.25)") |"
fixed=$(median "$T/big.0.qmpctl")
spread=$(for sz in "${SIZES[@]}"; do
	awk -v m="$(median "$T/big.$sz.qmpctl")" -v f="$fixed" -v b="$(wc -c <"$T/raw.$sz")" 'BEGIN { print (m - f) / (b / 1048576) }'
done | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f", hi / lo }')
echo "| (same, less the fixed cost of an empty reply) | $spread | $(verdict "$(le "$spread" 1.25)") |"
fixed=$(median "$T/big.0.qmpctl" 3)
spread=$(for sz in "${SIZES[@]}"; do
	awk -v m="$(median "$T/big.$sz.qmpctl" 3)" -v f="$fixed" -v b="$(wc -c <"$T/raw.$sz")" 'BEGIN { print (m - f) / (b / 1048576) }'
done | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f", hi / lo }')
echo "| (same, processor time, less the fixed cost) | $spread | $(verdict "$(le "$spread" 1.25)") |"
for sz in 64 qga; do
	rr=$(awk -v r="$(median "$T/big.$sz.qmpctl" 2)" -v b="$(wc -c <"$T/raw.$sz")" 'BEGIN { printf "%.2f", r * 1024 / b }')
	echo "| peak RSS ≤ 3 × reply ($sz) | $rr × | $(verdict "$(le "$rr" 3)") |"
done
for sz in "${SIZES[@]}" qga; do
	rj=$(ratio "$(median "$T/big.$sz.jq")" "$(median "$T/big.$sz.qmpctl")")
	echo "| throughput ≥ jq's ($sz): jq time / qmpctl time | $rj | $(verdict "$(le 1 "$rj")") |"
done
} >"$T/results.md"

cp "$T/results.md" "$OUT"
cat "$OUT"
say "written to $OUT"
