# qmpctl: a QEMU Monitor Protocol client for shell scripts.

VERSION    = 0.1.0
PREFIX     = /usr/local
BINDIR     = $(PREFIX)/bin
MANDIR     = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
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
# User CFLAGS and LDFLAGS come last and are never replaced.
CFLAGS  ?= -O2 -g
QCFLAGS  = -std=c11 -D_GNU_SOURCE -DQMPCTL_VERSION='"$(VERSION)"' \
	   $(WARNINGS) $(JANSSON_CFLAGS) $(CFLAGS)
QLDLIBS_auto_yes = -Wl,-Bstatic -ljansson -Wl,-Bdynamic
QLDLIBS_auto_no  = $(JANSSON_LIBS)
QLDLIBS_no_yes   = $(JANSSON_LIBS)
QLDLIBS_no_no    = $(JANSSON_LIBS)
QLDLIBS  = $(QLDLIBS_$(STATIC_JANSSON)_$(JANSSON_A))

SAN      = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all

SRCS = qmpctl.c input.c output.c events.c introspect.c trace.c qmp_core.c \
       qmp_json.c
HDRS = qmpctl.h qmp_core.h qmp_json.h

all: qmpctl

qmpctl: $(SRCS) $(HDRS)
	$(CC) $(QCFLAGS) $(LDFLAGS) -o $@ $(SRCS) $(QLDLIBS)

# The same program with AddressSanitizer and UndefinedBehaviorSanitizer.
qmpctl-asan: $(SRCS) $(HDRS)
	$(CC) $(QCFLAGS) -O1 -g $(SAN) $(LDFLAGS) -o $@ $(SRCS) $(QLDLIBS)

tests/fakepeer: tests/fakepeer.c
	$(CC) -std=c11 -D_GNU_SOURCE $(WARNINGS) $(CFLAGS) $(LDFLAGS) \
	    -o $@ tests/fakepeer.c

# Installs the Debian packages the tests need, when any is missing.
deps:
	@sh scripts/deps.sh check

# Runs every test against the normal build, then against the sanitized one.
check: deps
	@$(MAKE) -s qmpctl qmpctl-asan tests/fakepeer
	@QMPCTL=./qmpctl sh tests/run.sh
	@QMPCTL=./qmpctl-asan sh tests/run.sh

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

build/fuzz/fuzz_framer: fuzz/fuzz_framer.c qmp_core.c qmp_json.c $(HDRS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(JANSSON_CFLAGS) -o $@ fuzz/fuzz_framer.c \
	    qmp_core.c qmp_json.c $(QLDLIBS)

build/fuzz/fuzz_client: fuzz/fuzz_client.c qmp_core.c qmp_json.c $(HDRS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(JANSSON_CFLAGS) -o $@ fuzz/fuzz_client.c \
	    qmp_core.c qmp_json.c $(QLDLIBS)

build/fuzz/fuzz_address: fuzz/fuzz_address.c qmp_core.c qmp_json.c $(HDRS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(JANSSON_CFLAGS) -o $@ fuzz/fuzz_address.c \
	    qmp_core.c qmp_json.c $(QLDLIBS)

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

# Mutation testing: each mutant of tests/mutants.txt built and run against
# its tests, then the suite (about 3 minutes; not part of check).
# MUTANTS='NAME ...' runs some only.  See tests/MUTATION.md.
mutate: deps
	@sh scripts/mutate.sh

.PHONY: mutate

install: qmpctl
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(BASHCOMPDIR)
	cp -f qmpctl $(DESTDIR)$(BINDIR)/qmpctl
	chmod 755 $(DESTDIR)$(BINDIR)/qmpctl
	cp -f qmpctl.1 $(DESTDIR)$(MANDIR)/man1/qmpctl.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/qmpctl.1
	cp -f qmpctl.bash $(DESTDIR)$(BASHCOMPDIR)/qmpctl
	chmod 644 $(DESTDIR)$(BASHCOMPDIR)/qmpctl

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/qmpctl $(DESTDIR)$(MANDIR)/man1/qmpctl.1 \
	    $(DESTDIR)$(BASHCOMPDIR)/qmpctl

lint:
	mandoc -Tlint -W warning qmpctl.1

clean:
	rm -f qmpctl qmpctl-asan tests/fakepeer *.o

.PHONY: all deps check demo install uninstall lint clean
