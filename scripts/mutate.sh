#!/bin/sh
# SPDX-License-Identifier: MIT
# scripts/mutate.sh -- mutation testing: do the tests notice a wrong edit?
#
#     make mutate                          every mutant in tests/mutants.txt
#     MUTANTS='match-prefix sync-any-id' make mutate   a few, by name
#     MUTATE_FULL=no make mutate           targeted tests only (quick look)
#
# Each mutant in tests/mutants.txt (its header says the format) is one edit
# of one file: an ORIGINAL snippet that must occur exactly once, and its
# REPLACEMENT.  For each, the tracked tree (git ls-files) is copied to a
# scratch directory, the edit applied, qmpctl built, and the mutant's own
# tests run; only when it survives them does the whole suite run
# (QMPCTL=./qmpctl sh tests/run.sh in the copy).  Printed per mutant:
#
#     killed (by TEST)    a test failed: good
#     survived            every test passed: a test is missing
#     stale               the snippet no longer occurs exactly once (not
#                         counted: fix the list)
#     does not compile    not counted either: fix the list
#
# and at the end the score, killed / (killed + survived).  Exit status: 0
# when every mutant was killed, 1 when one survived, 2 for a setup error
# or a stale or non-compiling mutant.
set -u
cd "$(dirname "$0")/.." || exit 2
LIST=${MUTANTS_FILE:-tests/mutants.txt}
: "${MUTANTS:=}" "${MUTATE_FULL:=yes}"
MAKE=${MAKE:-make}

for tool in git perl; do
	if ! command -v "$tool" >/dev/null; then
		echo "mutate.sh: $tool not installed" >&2
		exit 2
	fi
done
[ -r "$LIST" ] || { echo "mutate.sh: $LIST missing" >&2; exit 2; }

SCRATCH=$(mktemp -d /tmp/qmpctl-mutate.XXXXXX) || exit 2
trap 'rm -rf "$SCRATCH"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
BASE=$SCRATCH/base
WORK=$SCRATCH/work
LOG=$SCRATCH/log

# The tracked tree as it is in the working copy, built once: each mutant
# starts from a copy of it, so only qmpctl is built again.
mkdir -p "$BASE"
git ls-files -z | tar --null -T - -cf - | tar -C "$BASE" -xf - || exit 2
if ! (cd "$BASE" && $MAKE -s qmpctl tests/fakepeer) >"$LOG" 2>&1; then
	echo "mutate.sh: the unmutated tree does not build:" >&2
	cat "$LOG" >&2
	exit 2
fi

# split_list: the mutants as records on stdout, one per line, fields
# separated by \037: name, file, tests, original, replacement (snippet
# lines joined by \036).
split_list() {
	perl -e '
		my (@m, $cur, %seen);
		while (my $l = <STDIN>) {
			chomp $l;
			next if $l =~ /^#/ || ($l =~ /^\s*$/ && !$cur);
			if ($l =~ /^mutant\s+(\S+)\s*$/) {
				die "mutants: line $.: $1 named twice\n"
				    if $seen{$1}++;
				$cur = { name => $1, file => "", tests => "",
				    orig => [], repl => [] };
				push @m, $cur;
			} elsif (!$cur) {
				die "mutants: line $.: expected \"mutant NAME\"\n";
			} elsif ($l =~ /^file\s+(\S+)\s*$/) {
				$cur->{file} = $1;
			} elsif ($l =~ /^tests\s+(.*?)\s*$/) {
				$cur->{tests} .= " $1";
			} elsif ($l =~ /^-(.*)$/s) {
				push @{$cur->{orig}}, $1;
			} elsif ($l =~ /^\+(.*)$/s) {
				push @{$cur->{repl}}, $1;
			} elsif ($l =~ /^\s*$/) {
				undef $cur;
			} else {
				die "mutants: line $.: cannot read \"$l\"\n";
			}
		}
		for my $x (@m) {
			die "mutants: $x->{name}: no file, tests or snippet\n"
			    if $x->{file} eq "" || $x->{tests} eq "" ||
			    !@{$x->{orig}};
			print join("\037", $x->{name}, $x->{file},
			    $x->{tests} =~ s/^\s+//r,
			    join("\036", @{$x->{orig}}),
			    join("\036", @{$x->{repl}})), "\n";
		}
	' <"$LIST"
}

# apply FILE ORIG REPL: replaces the one occurrence of ORIG in FILE.
# Returns 0, or 3 when ORIG does not occur exactly once.
apply() {
	MUT_ORIG=$2 MUT_REPL=$3 perl -0777 -e '
		my ($o, $r) = ($ENV{MUT_ORIG}, $ENV{MUT_REPL});
		s/\036/\n/g for $o, $r;
		my $f = shift;
		open(my $in, "<", $f) or exit 3;
		my $t = <$in>;
		close $in;
		# White space in the snippet matches any white space.
		my $re = join("\\s+", map { quotemeta } split(/\s+/, $o, -1));
		my $n = () = $t =~ /$re/g;
		if ($n != 1) { print STDERR "found $n times\n"; exit 3; }
		$t =~ s/$re/$r/;
		open(my $out, ">", $f) or exit 2;
		print $out $t;
		close $out or exit 2;
	' "$1"
}

# run_spec SPEC: runs one targeted test in the current directory.
#   faults:A,B        the fault cases A and B
#   test_X.sh         a whole test file
#   test_X.sh:fn,fn2  some of its tests
# Returns 0 when they pass.
run_spec() {
	case $1 in
	faults:*)
		FAULTS=$(printf '%s' "${1#faults:}" | tr ',' ' ') \
		    QMPCTL=./qmpctl timeout 600 bash tests/test_faults.sh ;;
	*:*)
		QMPCTL=./qmpctl timeout 600 bash "tests/${1%%:*}" -- \
		    $(printf '%s' "${1#*:}" | tr ',' ' ') ;;
	*)
		QMPCTL=./qmpctl timeout 600 bash "tests/$1" ;;
	esac >"$LOG" 2>&1 || return 1
	# shunit2 exits 0 when no test ran (a renamed test): that is a failure
	# of the list, not a pass.
	if ! grep -q '^Ran [1-9]' "$LOG"; then
		echo "mutate.sh: $1: no test ran" >&2
		return 2
	fi
	grep -q '^OK' "$LOG"
}

# failed_files LOG: the failed tests in a run.sh log, as FILE:TEST (FILE
# alone when the file failed without a failed test).
failed_files() {
	awk '/^tests\/test_.*tests, [0-9]+ failed/ {
		if (file != "" && !named) print file
		file = ""; named = 0
		if ($4 != "0") { f = $1; sub(/^tests\//, "", f); file = f }
		next }
	    file != "" && /^    test[A-Za-z0-9_]*$/ { cur = $1; next }
	    file != "" && /^    (ASSERT|ERROR|shunit2:ERROR)/ && cur != "" {
		if (!((file ":" cur) in seen)) print file ":" cur
		seen[file ":" cur]; named = 1; next }
	    END { if (file != "" && !named) print file }' "$1"
}

# base_failures: once, runs the whole suite without a mutant and keeps
# the tests that fail there in $SCRATCH/base-failed: a test that fails
# anyway (a peer missing on this machine) kills no mutant.
base_failures() {
	[ -e "$SCRATCH/base-failed" ] && return
	(cd "$BASE" && QMPCTL=./qmpctl sh tests/run.sh) >"$SCRATCH/base.log" 2>&1
	failed_files "$SCRATCH/base.log" >"$SCRATCH/base-failed"
	echo ":" >>"$SCRATCH/base-failed"	# grep -f wants a line
	if [ "$(wc -l <"$SCRATCH/base-failed")" -gt 1 ]; then
		echo "mutate.sh: failing without a mutant (ignored):" \
		    $(sed '$d' "$SCRATCH/base-failed") >&2
	fi
}

records=$SCRATCH/records
split_list >"$records" || exit 2
if [ -n "$MUTANTS" ]; then
	for name in $MUTANTS; do
		grep -q "^$name$(printf '\037')" "$records" ||
		    { echo "mutate.sh: no mutant $name" >&2; exit 2; }
	done
	awk -F "$(printf '\037')" -v want=" $MUTANTS " \
	    'index(want, " " $1 " ")' "$records" >"$records.some"
	mv "$records.some" "$records"
fi

# The targeted tests must pass without a mutant, or a kill means nothing.
specs=$(cut -d "$(printf '\037')" -f 3 "$records" | tr ' ' '\n' | sort -u)
bad=0
for spec in $specs; do
	(cd "$BASE" && run_spec "$spec") || {
		echo "mutate.sh: $spec fails without a mutant" >&2
		sed 's/^/    /' "$LOG" | tail -n 20 >&2
		bad=1
	}
done
[ "$bad" = 0 ] || exit 2

killed=0 survived=0 stale=0 broken=0 total=0
start=$(date +%s)
while IFS="$(printf '\037')" read -r name file tests orig repl <&3; do
	total=$((total + 1))
	t0=$(date +%s)
	rm -rf "$WORK"
	cp -a "$BASE" "$WORK"
	apply "$WORK/$file" "$orig" "$repl" 2>"$LOG"
	case $? in
	0) ;;
	3)	printf '%-32s stale (%s: snippet %s)\n' "$name" "$file" \
		    "$(cat "$LOG")"
		stale=$((stale + 1))
		continue ;;
	*)	echo "mutate.sh: $name: cannot edit $file" >&2
		exit 2 ;;
	esac
	# The copy's timestamps are the base's: make sees the edit only when
	# the file is newer than qmpctl.
	touch "$WORK/$file"
	if ! (cd "$WORK" && $MAKE -s qmpctl tests/fakepeer) >"$LOG" 2>&1; then
		printf '%-32s does not compile\n' "$name"
		sed 's/^/    /' "$LOG" | head -n 5
		broken=$((broken + 1))
		continue
	fi
	by=
	for spec in $tests; do
		(cd "$WORK" && run_spec "$spec")
		case $? in
		0) ;;
		2) exit 2 ;;
		*) by=$spec; break ;;
		esac
	done
	if [ -z "$by" ] && [ "$MUTATE_FULL" != no ]; then
		base_failures
		(cd "$WORK" && QMPCTL=./qmpctl sh tests/run.sh) >"$LOG" 2>&1
		by=$(failed_files "$LOG" | grep -vxF -f "$SCRATCH/base-failed")
		[ -z "$by" ] || by="suite: $(echo $by | tr ' ' ',')"
	fi
	if [ -n "$by" ]; then
		printf '%-32s killed (by %s)  [%ss]\n' "$name" "$by" \
		    "$(($(date +%s) - t0))"
		killed=$((killed + 1))
	else
		printf '%-32s survived  [%ss]\n' "$name" "$(($(date +%s) - t0))"
		survived=$((survived + 1))
	fi
done 3<"$records"

counted=$((killed + survived))
if [ "$counted" -gt 0 ]; then
	score=$(awk -v k="$killed" -v n="$counted" \
	    'BEGIN { printf "%.1f", 100 * k / n }')
else
	score=-
fi
printf 'mutants: %s, killed %s, survived %s, stale %s, not compiling %s\n' \
    "$total" "$killed" "$survived" "$stale" "$broken"
printf 'score: %s/%s = %s%%  (%ss)\n' "$killed" "$counted" "$score" \
    "$(($(date +%s) - start))"
[ "$stale" = 0 ] && [ "$broken" = 0 ] || exit 2
[ "$survived" = 0 ]
