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

WARNINGS = -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wvla
# User CFLAGS and LDFLAGS come last and are never replaced.
CFLAGS  ?= -O2 -g
QCFLAGS  = -std=c11 -D_GNU_SOURCE -DQMPCTL_VERSION='"$(VERSION)"' \
	   $(WARNINGS) $(JANSSON_CFLAGS) $(CFLAGS)
QLDLIBS  = $(JANSSON_LIBS)

SAN      = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all

SRCS = qmpctl.c qmp_core.c
HDRS = qmp_core.h

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
