# SPDX-License-Identifier: MIT
# qmpctl: a QEMU Monitor Protocol client for shell scripts.
#
# Needs GNU make 4.0 or later: the "!=" shell assignments below are not in
# GNU make 3.x, and the fuzz targets use a pattern rule.  BSD make (bmake)
# also builds, checks, installs and cleans, but cannot build the fuzz targets.

# The version, in one place: the file VERSION (see NEWS.md).
VERSION   != cat VERSION
PREFIX     = /usr/local
BINDIR     = $(PREFIX)/bin
MANDIR     = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  = $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR = $(PREFIX)/share/fish/vendor_completions.d
PKG_CONFIG = pkg-config
CC        ?= cc

JANSSON_CFLAGS != $(PKG_CONFIG) --cflags jansson 2>/dev/null || true
JANSSON_LIBS   != $(PKG_CONFIG) --libs jansson 2>/dev/null || echo -ljansson
# Link jansson statically when its archive is there: a one-shot run then
# skips resolving its symbols (measured in bench/: about 4% of a call).
# STATIC_JANSSON=no links it dynamically.
STATIC_JANSSON = auto
JANSSON_LIBDIR != $(PKG_CONFIG) --variable=libdir jansson 2>/dev/null || true
JANSSON_A      != [ -n "$(JANSSON_LIBDIR)" ] && [ -f "$(JANSSON_LIBDIR)/libjansson.a" ] && echo yes || echo no

WARNINGS = -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wvla
# User CPPFLAGS, CFLAGS and LDFLAGS come last and are never replaced.
CFLAGS  ?= -O2 -g
QCFLAGS  = -std=c11 -D_GNU_SOURCE -DQMPCTL_VERSION='"$(VERSION)"' \
	   $(WARNINGS) $(JANSSON_CFLAGS) $(CPPFLAGS) $(CFLAGS)
QLDLIBS_auto_yes = -Wl,-Bstatic -ljansson -Wl,-Bdynamic
QLDLIBS_auto_no  = $(JANSSON_LIBS)
QLDLIBS_no_yes   = $(JANSSON_LIBS)
QLDLIBS_no_no    = $(JANSSON_LIBS)
QLDLIBS  = $(QLDLIBS_$(STATIC_JANSSON)_$(JANSSON_A))

SAN      = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all

# The protocol library, then the command line.
LIB_SRCS = qmp_addr.c qmp_framer.c qmp_transport.c qmp_core.c qmp_json.c
SRCS = qmpctl.c input.c output.c events.c introspect.c jobs.c progress.c \
       until.c trace.c screen.c keys.c guestexec.c agent.c base64.c \
       cli_io.c $(LIB_SRCS)
HDRS = qmpctl.h qmp_core.h qmp_framer.h qmp_conn.h qmp_json.h base64.h \
       cli_io.h

all: qmpctl

# The product's sources, one line: for tests that build a variant of qmpctl.
srcs:
	@echo $(SRCS)

qmpctl: $(SRCS) $(HDRS)
	$(CC) $(QCFLAGS) $(LDFLAGS) -o $@ $(SRCS) $(QLDLIBS)

# The same program with AddressSanitizer and UndefinedBehaviorSanitizer.
qmpctl-asan: $(SRCS) $(HDRS)
	$(CC) $(QCFLAGS) -O1 -g $(SAN) $(LDFLAGS) -o $@ $(SRCS) $(QLDLIBS)

# Table-driven checks of qmp_json.c (reader, writer, number comparison),
# built plain and with the sanitizers; "make unit" runs both.
tests/unit_json: tests/unit_json.c qmp_json.c qmp_json.h
	$(CC) $(QCFLAGS) -I. $(LDFLAGS) -o $@ tests/unit_json.c qmp_json.c \
	    $(QLDLIBS)

tests/unit_json-asan: tests/unit_json.c qmp_json.c qmp_json.h
	$(CC) $(QCFLAGS) -I. -O1 -g $(SAN) $(LDFLAGS) -o $@ tests/unit_json.c \
	    qmp_json.c $(QLDLIBS)

# Every unit test program, plain and sanitized: the pure parts of the
# library (addresses, framer, JSON) and base64.  make check runs them first.
unit: tests/unit tests/unit-asan tests/unit_json tests/unit_json-asan \
    tests/base64_test
	@tests/unit
	@tests/unit-asan
	@tests/unit_json
	@tests/unit_json-asan
	@tests/base64_test

tests/fakepeer: tests/fakepeer.c
	$(CC) -std=c11 -D_GNU_SOURCE $(WARNINGS) $(CFLAGS) $(LDFLAGS) \
	    -o $@ tests/fakepeer.c

# base64.c's unit tests, run by tests/test_agent_exec.sh.
tests/base64_test: tests/base64_test.c base64.c base64.h
	$(CC) -std=c11 -D_GNU_SOURCE $(WARNINGS) $(CFLAGS) $(SAN) $(LDFLAGS) \
	    -o $@ tests/base64_test.c base64.c

# Unit tests of the address parser and the framer (tests/unit.c), built
# like qmpctl and like qmpctl-asan.
UNIT_SRCS = tests/unit.c $(LIB_SRCS)

tests/unit: $(UNIT_SRCS) $(HDRS)
	$(CC) $(QCFLAGS) -I. $(LDFLAGS) -o $@ $(UNIT_SRCS) $(QLDLIBS)

tests/unit-asan: $(UNIT_SRCS) $(HDRS)
	$(CC) $(QCFLAGS) -I. -O1 -g $(SAN) $(LDFLAGS) -o $@ $(UNIT_SRCS) \
	    $(QLDLIBS)

# The product sources compile without a warning with musl-gcc (Alpine)
# and with -m32 (i386, armhf), syntax only; a missing compiler is a skip,
# said.  See scripts/check-portable.sh.
check-portable:
	@sh scripts/check-portable.sh -std=c11 -D_GNU_SOURCE \
	    -DQMPCTL_VERSION='"$(VERSION)"' $(WARNINGS) -- $(SRCS)

# No product file but qmp_json.c calls jansson's readers and writers that
# do not know kept numbers (json_string_value, json_dumps, ...): see
# scripts/check-json-api.sh.  make check runs it first.
check-json-api:
	@sh scripts/check-json-api.sh $(SRCS) $(HDRS)

# Installs the Debian packages the tests need, when any is missing.
deps:
	@sh scripts/deps.sh check

# Runs the unit tests (both builds), then every test script against the
# normal build and the sanitized one, in one pool of JOBS (default 3)
# scripts at a time (tests/run.sh).
check: deps
	@sh scripts/check-spdx.sh
	@$(MAKE) -s check-json-api
	@$(MAKE) -s check-portable
	@$(MAKE) -s unit
	@$(MAKE) -s qmpctl qmpctl-asan tests/fakepeer tests/base64_test
	@BUILDS="./qmpctl ./qmpctl-asan" sh tests/run.sh
	@if [ -x $(QEMU10_DIR)/bin/qemu-system-x86_64 ]; then \
	    $(MAKE) -s check-qemu10; fi

# ---- Release (release block) ----
# make dist: qmpctl-$(VERSION).tar.gz, reproducible, with the files git
# tracks (from a release tarball: those of its MANIFEST); scripts/dist.sh.
# make distcheck: that tarball builds, tests, installs and uninstalls on
# its own (scripts/distcheck.sh).  make rpm: the RPM of qmpctl.spec built
# from the tarball into build/rpm, its files compared with make install's
# (scripts/rpm-check.sh).  check-spdx: every source has its licence line.
dist:
	@sh scripts/dist.sh

distcheck:
	@sh scripts/distcheck.sh

rpm-check:
	@sh scripts/deps.sh rpm
	@sh scripts/rpm-check.sh

check-spdx:
	@sh scripts/check-spdx.sh

.PHONY: dist distcheck rpm-check check-spdx
# ---- end of the release block ----

# ---- QEMU 10.0 (release block) ----
# The second QEMU the tests run against: 10.0 from bookworm-backports,
# fetched and unpacked into QEMU10_DIR by scripts/qemu10.sh with a private
# apt configuration (nothing is installed).  check-qemu10 runs the test
# files that talk to a real qemu-system-x86_64, qemu-storage-daemon or
# qemu-ga with QEMU10_DIR/bin first on PATH (normal build only: the
# sanitized one adds nothing that depends on the server's version).  make
# check runs it too when QEMU10_DIR is there.
QEMU10_DIR   = build/qemu10
QEMU10_TESTS = tests/test_qemu.sh tests/test_qsd.sh tests/test_agent.sh \
	       tests/test_agent_exec.sh tests/test_jobs.sh \
	       tests/test_events.sh tests/test_cli.sh tests/test_peers.sh \
	       tests/test_numbers.sh tests/test_trace.sh tests/test_readme.sh \
	       tests/test_completion.sh tests/test_lifecycle.sh \
	       tests/test_screen.sh tests/test_agent_detach.sh

qemu10:
	@sh scripts/qemu10.sh $(QEMU10_DIR)

check-qemu10: qemu10
	@$(MAKE) -s qmpctl tests/fakepeer tests/base64_test
	@echo "QEMU $$(cat $(QEMU10_DIR)/version):"
	@PATH="$$(cd $(QEMU10_DIR)/bin && pwd):$$PATH" TESTS="$(QEMU10_TESTS)" \
	    BUILDS=./qmpctl sh tests/run.sh

.PHONY: qemu10 check-qemu10
# ---- end of the QEMU 10.0 block ----

# The same on a machine made busy on purpose (tests/loaded.sh): LOAD busy
# loops (default three per processor; about four runnable processes per
# core with the suite's own) run beside it, and are stopped when it ends.
# Every test must pass so: bounds in time scale with the load measured in
# the same run (tests/slowdown.sh).
check-loaded: deps
	@$(MAKE) -s unit
	@$(MAKE) -s qmpctl qmpctl-asan tests/fakepeer tests/base64_test
	@BUILDS="./qmpctl ./qmpctl-asan" sh tests/loaded.sh sh tests/run.sh

# Starts a throwaway QEMU and runs qmpctl against it.
demo:
	@sh scripts/deps.sh demo
	@$(MAKE) -s qmpctl
	@sh scripts/demo.sh ./qmpctl

# The fault matrix with qmpctl under valgrind: no memory error, no leak.
check-valgrind: qmpctl tests/fakepeer
	@QMPCTL=tests/faults/valgrind-qmpctl TESTS=tests/test_faults.sh \
	    sh tests/run.sh

# Fuzz targets (clang with libFuzzer, ASan, UBSan), run by fuzz/run.sh:
# "make fuzz" for FUZZ_SECONDS each, "make fuzz-check" for 20 s each.
FUZZ_CC      = clang
FUZZ_SECONDS = 60
FUZZ_CFLAGS  = -std=c11 -D_GNU_SOURCE -g -O1 -I. \
	       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_BINS    = build/fuzz/fuzz_framer build/fuzz/fuzz_client \
	       build/fuzz/fuzz_address

build/fuzz/fuzz_%: fuzz/fuzz_%.c $(LIB_SRCS) $(HDRS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(JANSSON_CFLAGS) -o $@ $< $(LIB_SRCS) \
	    $(QLDLIBS)

fuzz: $(FUZZ_BINS)
	@sh fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz-check: $(FUZZ_BINS)
	@sh fuzz/run.sh 20 $(FUZZ_BINS)

.PHONY: check-valgrind fuzz fuzz-check

# Measures qmpctl's speed and writes bench/RESULTS.md (about 2 minutes; not
# part of check).  See bench/README.md.
bench: deps
	@$(MAKE) -s -f bench/bench.mk bench-run

.PHONY: bench

# The Debian package, built from a scratch copy of the tree: build/deb/.
# deb-check also checks its contents, installs it and removes it (root).
deb:
	@sh scripts/deps.sh deb
	@sh scripts/deb-build.sh build/deb

deb-check:
	@sh scripts/deps.sh deb
	@sh scripts/deb-check.sh

.PHONY: deb deb-check

# Mutation testing: each mutant of tests/mutants.txt built and run against
# its tests, then the suite (about 15 minutes; not part of check).
# MUTANTS='NAME ...' runs some only.  See tests/MUTATION.md.
mutate: deps
	@sh scripts/mutate.sh

.PHONY: mutate

install: qmpctl
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
	    $(DESTDIR)$(FISHCOMPDIR)
	install -m 755 qmpctl $(DESTDIR)$(BINDIR)/qmpctl
	install -m 644 qmpctl.1 $(DESTDIR)$(MANDIR)/man1/qmpctl.1
	install -m 644 completions/qmpctl.bash $(DESTDIR)$(BASHCOMPDIR)/qmpctl
	install -m 644 completions/_qmpctl $(DESTDIR)$(ZSHCOMPDIR)/_qmpctl
	install -m 644 completions/qmpctl.fish $(DESTDIR)$(FISHCOMPDIR)/qmpctl.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/qmpctl $(DESTDIR)$(MANDIR)/man1/qmpctl.1 \
	    $(DESTDIR)$(BASHCOMPDIR)/qmpctl $(DESTDIR)$(ZSHCOMPDIR)/_qmpctl \
	    $(DESTDIR)$(FISHCOMPDIR)/qmpctl.fish

lint:
	mandoc -Tlint -W warning qmpctl.1

# Removes everything the build makes: build/ holds the fuzz targets and
# their artifacts; bench/ the binaries of "make bench".
clean:
	rm -f qmpctl qmpctl-asan tests/fakepeer tests/fakepeer-asan \
	    tests/unit tests/unit-asan tests/unit_json tests/unit_json-asan \
	    tests/base64_test *.o
	rm -f bench/qmpctl bench/fakepeer bench/floor bench/timeit \
	    bench/qmpctl-static-jansson bench/qmpctl-static
	rm -rf build qmpctl-$(VERSION).tar.gz

.PHONY: all srcs deps check check-json-api check-loaded check-portable unit \
	demo install uninstall lint clean
