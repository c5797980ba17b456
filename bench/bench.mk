# SPDX-License-Identifier: MIT
# bench/bench.mk: builds and runs the benchmark; `make bench` calls it.
# It includes the project's Makefile, so the extra builds of qmpctl below
# use exactly the flags of the main build.

include Makefile

.DEFAULT_GOAL := bench-run

BENCH_BINS = bench/qmpctl bench/fakepeer bench/floor bench/timeit \
	     bench/qmpctl-static-jansson

bench-run: $(BENCH_BINS) bench/qmpctl-static
	@bash bench/run.sh

# Copies of ./qmpctl and tests/fakepeer built the same way, so that a
# rebuild of those in the shared tree cannot change them mid-run.
bench/qmpctl: $(SRCS) $(HDRS)
	$(CC) $(QCFLAGS) $(LDFLAGS) -o $@ $(SRCS) $(QLDLIBS)

bench/fakepeer: tests/fakepeer.c
	$(CC) -std=c11 -D_GNU_SOURCE $(WARNINGS) $(CFLAGS) $(LDFLAGS) \
	    -o $@ tests/fakepeer.c

# The yardstick client: plain cc -O2, no jansson.
bench/floor: bench/floor.c
	$(CC) -O2 -o $@ bench/floor.c

bench/timeit: bench/timeit.c
	$(CC) -O2 -o $@ bench/timeit.c

# qmpctl with jansson linked in statically (libc still shared).
bench/qmpctl-static-jansson: $(SRCS) $(HDRS)
	$(CC) $(QCFLAGS) $(LDFLAGS) -o $@ $(SRCS) \
	    -Wl,-Bstatic -ljansson -Wl,-Bdynamic -lm

# qmpctl fully static, when the system can link it; run.sh skips it if not.
bench/qmpctl-static: $(SRCS) $(HDRS)
	@$(CC) $(QCFLAGS) $(LDFLAGS) -static -o $@ $(SRCS) $(QLDLIBS) \
	    2>/dev/null || { rm -f $@; echo "bench: no static build" >&2; }

bench-clean:
	rm -f $(BENCH_BINS) bench/qmpctl-static

.PHONY: bench-run bench-clean
