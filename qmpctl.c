/* SPDX-License-Identifier: MIT */
/*
 * qmpctl: run QEMU Monitor Protocol commands from a shell.
 *
 * This file holds main, the one table of options (which drives both
 * getopt_long and --help), the checks across options, and the run:
 * connect, handshake, commands, events.  The protocol lives in
 * qmp_core.c; the other parts are listed in qmpctl.h.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "qmp_core.h"
#include "qmp_json.h"
#include "qmpctl.h"

/* The version is in one place, the file VERSION; the Makefile passes it. */
#ifndef QMPCTL_VERSION
#error "QMPCTL_VERSION is not defined: build with make (it reads VERSION)"
#endif

volatile sig_atomic_t qmpctl_signal;
volatile sig_atomic_t qmpctl_signal_again;
/* The write end of the pipe that wakes a waiting poll on a signal. */
static int signal_pipe = -1;

/* ---- The options ---------------------------------------------------- */

enum {
	OPT_WAIT = 256, OPT_MAX_SIZE, OPT_WAIT_EVENT, OPT_FAIL_EVENT,
	OPT_MATCH, OPT_EVENTS, OPT_COUNT, OPT_QGA, OPT_LISTEN, OPT_PASS_FD,
	OPT_HMP, OPT_OOB, OPT_GREETING, OPT_LIST_COMMANDS, OPT_DESCRIBE,
	OPT_JSON, OPT_WAIT_JOB, OPT_WAIT_MIGRATION, OPT_READY_FD, OPT_TRACE,
	OPT_EXEC, OPT_GET, OPT_PUT, OPT_CANCEL, OPT_CANCEL_GRACE, OPT_DISMISS,
	OPT_FINALIZE, OPT_PROGRESS, OPT_INTERVAL, OPT_STALL, OPT_UNTIL,
	OPT_SCREENDUMP, OPT_SCREEN_DEVICE, OPT_SCREEN_HEAD, OPT_KEYS, OPT_HOLD,
	OPT_TYPE, OPT_KEY_DELAY, OPT_DETACH, OPT_EXEC_STATUS, OPT_ENV,
	OPT_MERGED,
};

/* --key-delay's default: ten keys a second, which firmware keeps up with. */
#define KEY_DELAY_MS	100

/*
 * Every option, in the order --help shows them.  An entry without a name
 * is a heading.  The man page, the README and the completion scripts are
 * checked against this table by tests/test_cli.sh.
 */
static const struct option_def {
	const char *name;	/* long name, or NULL for a heading */
	int key;		/* the short letter, or an OPT_ value */
	const char *arg;	/* the argument's name, or NULL for none */
	const char *help;	/* lines separated by \n */
} option_defs[] = {
	{ NULL, 0, NULL, "Where:" },
	{ "socket", 's', "ADDR", "server address (default: $QMP_SOCKET): "
	    "PATH,\nunix:PATH, HOST:PORT, tcp:HOST:PORT, [IPV6]:PORT,\n"
	    "vsock:CID:PORT, fd:N (an inherited socket)" },
	{ "timeout", 't', "SECONDS", "bound the whole run (fractions "
	    "allowed;\n0: none, the default)" },
	{ "wait", OPT_WAIT, "SECONDS", "retry the connect while the socket "
	    "is\nmissing or refusing, for up to SECONDS" },
	{ "listen", OPT_LISTEN, "ADDR", "wait for QEMU to connect to ADDR, "
	    "instead of -s" },
	{ "qga", OPT_QGA, NULL, "the peer is the guest agent (qemu-ga): no\n"
	    "greeting, synchronise with guest-sync-delimited" },
	{ NULL, 0, NULL, "What to run:" },
	{ "command", 'c', "NAME", "the command to run" },
	{ "args", 'a', "JSON", "its arguments, a JSON object; @FILE reads "
	    "them\nfrom FILE, @- from standard input" },
	{ "until", OPT_UNTIL, "TEST", "run -c again until its return passes "
	    "TEST,\nthen print it (repeatable: all must pass;\n--match's "
	    "syntax; for an array return, one\nelement must pass them all)" },
	{ "hmp", OPT_HMP, "TEXT", "run a human monitor command and print its "
	    "text" },
	{ "no-stdin", 'n', NULL, "never read standard input (commands, or "
	    "the\ninput for --exec)" },
	{ "keep-going", 'k', NULL, "in a batch, run the rest after a command "
	    "error" },
	{ "pass-fd", OPT_PASS_FD, "N", "pass descriptor N with the command "
	    "(unix\nsockets; repeatable)" },
	{ "oob", OPT_OOB, NULL, "enable out-of-band execution and use "
	    "exec-oob" },
	{ NULL, 0, NULL, "In the guest (with --qga):" },
	{ "exec", OPT_EXEC, NULL, "run PROG [ARG...], given after --, in "
	    "the\nguest; print its output, exit with its status\n(255: "
	    "qmpctl failed); stdin is its input\nunless -n" },
	{ "get", OPT_GET, "PATH", "copy the guest file PATH to stdout" },
	{ "put", OPT_PUT, "PATH", "copy stdin to the guest file PATH "
	    "(replacing it);\nprint {\"bytes\":N}" },
	{ "detach", OPT_DETACH, NULL, "with --exec, start the program, print "
	    "{\"pid\":N}\nand exit 0 without waiting for it" },
	{ "exec-status", OPT_EXEC_STATUS, "PID", "wait (within -t) for the "
	    "program PID started\nwith --detach, then end as --exec would" },
	{ "env", OPT_ENV, "NAME=VALUE", "with --exec, the program's "
	    "environment\n(repeatable; the agent passes only these)" },
	{ "merged", OPT_MERGED, NULL, "with --exec, one stream of stdout and "
	    "stderr in\ntheir order, on stdout (qemu-ga 8.1 and later)" },
	{ NULL, 0, NULL, "Screen and keyboard (in the order given):" },
	{ "screendump", OPT_SCREENDUMP, "FILE", "write a PNG of the display "
	    "to FILE (- for\nstdout), whole or not at all; print\n"
	    "{\"width\":W,\"height\":H,\"bytes\":N} for a file" },
	{ "screen-device", OPT_SCREEN_DEVICE, "ID", "with --screendump, the "
	    "display device ID" },
	{ "screen-head", OPT_SCREEN_HEAD, "N", "with --screen-device, its "
	    "head N" },
	{ "keys", OPT_KEYS, "COMBOS", "press each comma-separated combo of "
	    "QEMU key\nnames joined by -, as in ctrl-alt-delete,ret" },
	{ "type", OPT_TYPE, "TEXT", "type TEXT on a US keyboard (\\n: ret, "
	    "\\t: tab,\n\\\\: a backslash)" },
	{ "hold", OPT_HOLD, "MS", "hold each combo down MS milliseconds "
	    "(send-key's\nhold-time; default: QEMU's)" },
	{ "key-delay", OPT_KEY_DELAY, "MS", "pause MS milliseconds between "
	    "combos and\ncharacters (default 100)" },
	{ NULL, 0, NULL, "What the server offers:" },
	{ "list-commands", OPT_LIST_COMMANDS, NULL, "print the names of the "
	    "commands it accepts" },
	{ "describe", OPT_DESCRIBE, "NAME", "describe a command's or event's "
	    "arguments and\nreturn type, from the server's schema" },
	{ "json", OPT_JSON, NULL, "with --describe, print the resolved schema "
	    "as JSON" },
	{ "greeting", OPT_GREETING, NULL, "print the server's greeting first" },
	{ NULL, 0, NULL, "Output:" },
	{ "pretty", 'p', NULL, "indent the output" },
	{ "full", 'f', NULL, "print whole reply objects, not just the return "
	    "value" },
	{ "raw", 'r', NULL, "print a string result as bare text, like jq -r" },
	{ "max-size", OPT_MAX_SIZE, "BYTES", "largest message accepted from "
	    "the server\n(suffix K, M or G; default 128M)" },
	{ NULL, 0, NULL, "Events:" },
	{ "wait-event", OPT_WAIT_EVENT, "NAMES", "after the commands, wait "
	    "for an event with one\nof these comma-separated names, and print "
	    "it;\neach --wait-event starts an alternative" },
	{ "fail-event", OPT_FAIL_EVENT, "NAMES", "an event that means the "
	    "operation failed: print\nit and exit with status 10" },
	{ "match", OPT_MATCH, "TEST", "KEY=VALUE: data.KEY (dotted for nesting) "
	    "equals\nVALUE, as JSON or as a string; KEY: present, not\n"
	    "null; !KEY: absent or null.  Belongs to the\n--wait-event or "
	    "--fail-event before it" },
	{ "count", OPT_COUNT, "N", "print N matching events (default 1; 0: "
	    "until the\ndeadline or a signal)" },
	{ "events", OPT_EVENTS, "FILE", "write every event seen to FILE (- "
	    "for stderr)" },
	{ NULL, 0, NULL, "Jobs and migrations:" },
	{ "wait-job", OPT_WAIT_JOB, "ID[:STATUS]", "after the commands, wait "
	    "until job ID\nreaches STATUS (default concluded; ready for\n"
	    "a mirror), and print its state" },
	{ "wait-migration", OPT_WAIT_MIGRATION, NULL, "after the commands, "
	    "wait until the migration\nends, and print query-migrate's "
	    "result" },
	{ "cancel", OPT_CANCEL, NULL, "when the wait ends otherwise (-t, a "
	    "signal,\n--fail-event, --stall), cancel the job or\nmigration "
	    "and wait for it to stop (a ready\nmirror is abandoned, never "
	    "completed)" },
	{ "cancel-grace", OPT_CANCEL_GRACE, "SECONDS", "how long --cancel "
	    "waits for it to stop\n(default 5)" },
	{ "dismiss", OPT_DISMISS, NULL, "with --wait-job, dismiss the job "
	    "once it\nconcluded and its state was printed" },
	{ "finalize", OPT_FINALIZE, NULL, "with --wait-job, finalize the job "
	    "when it is\npending (auto-finalize false)" },
	{ "progress", OPT_PROGRESS, "FILE", "write the job's or migration's "
	    "progress to FILE\n(- for stderr), one JSON line a poll" },
	{ "interval", OPT_INTERVAL, "SECONDS", "the period of --progress and "
	    "the polls (default\n1), and of --until's tries (default: from "
	    "50 ms,\ngrowing to 1 s)" },
	{ "stall", OPT_STALL, "SECONDS", "fail (status 8) when the job's or "
	    "migration's\nprogress stays the same for SECONDS" },
	{ "ready-fd", OPT_READY_FD, "N", "once connected, before the first "
	    "command, write\na newline to descriptor N and close it" },
	{ NULL, 0, NULL, "Other:" },
	{ "trace", OPT_TRACE, "FILE", "write every message sent and received "
	    "to FILE\n(- for stderr), one JSON object a line; also\n"
	    "$QMPCTL_TRACE, which appends" },
	{ "help", 'h', NULL, "print this help and exit" },
	{ "version", 'V', NULL, "print the version and exit" },
};

#define NDEFS	(sizeof(option_defs) / sizeof(option_defs[0]))

/* Prints --help: the synopsis, then the table. */
static void
usage(void)
{
	const struct option_def *d;
	const char *line, *nl;
	char left[40];
	size_t i;

	fputs("usage: qmpctl [-s ADDR] [options] -c NAME [-a JSON|@FILE|@-] "
	    "[KEY=VALUE | KEY:=JSON ...]\n"
	    "       qmpctl [-s ADDR] [options] < COMMANDS.json\n"
	    "       qmpctl [-s ADDR] [options] --hmp TEXT\n"
	    "       qmpctl [-s ADDR] [options] --list-commands | --describe "
	    "NAME [--json]\n"
	    "       qmpctl --qga [-s ADDR] [options] --exec [--detach] -- PROG "
	    "[ARG...]\n"
	    "       qmpctl --qga [-s ADDR] [options] --exec-status PID\n"
	    "       qmpctl --qga [-s ADDR] [options] --get PATH | --put PATH\n"
	    "       qmpctl [-s ADDR] [options] --screendump FILE | --keys COMBOS "
	    "| --type TEXT ...\n"
	    "\n"
	    "Run QEMU Monitor Protocol commands and print their results as "
	    "JSON.\n", stdout);
	for (i = 0; i < NDEFS; i++) {
		d = &option_defs[i];
		if (d->name == NULL) {
			printf("\n%s%s", d->help, *d->help ? "\n" : "");
			continue;
		}
		snprintf(left, sizeof(left), "%c%c%c --%s%s%s",
		    d->key < 256 ? '-' : ' ', d->key < 256 ? d->key : ' ',
		    d->key < 256 ? ',' : ' ', d->name, d->arg ? " " : "",
		    d->arg ? d->arg : "");
		/* A long left column goes on a line of its own. */
		if (strlen(left) > 21)
			printf("  %s\n", left);
		for (line = d->help; line != NULL; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			printf("  %-22s%.*s\n", line == d->help &&
			    strlen(left) <= 21 ? left : "",
			    nl ? (int)(nl - line) : (int)strlen(line), line);
		}
	}
	fputs("\n"
	    "Operands after -c build its arguments: KEY=VALUE sets a string,\n"
	    "KEY:=JSON a JSON value; a dotted KEY reaches into nested objects.\n"
	    "Without -c, standard input holds QMP command objects such as\n"
	    "{\"execute\":\"query-status\"}, run in order over one connection.\n"
	    "\n"
	    "Exit status: 0 success, 1 the server answered with an error, 2 "
	    "usage,\n3 cannot connect, 4 no valid greeting, 5 negotiation "
	    "failed, 6 connection\nlost before the reply, 7 protocol error, "
	    "8 timeout (or --stall), 9 local\nfailure, 10 a --fail-event came or the job or "
	    "migration failed, 141 stdout's\nreader left, 128+N killed by "
	    "signal N (SIGHUP, SIGINT, SIGTERM).\n"
	    "With --exec: the program's status, 128+N if signal N killed it, "
	    "2 usage,\n255 any other failure of qmpctl's.\n"
	    "\n"
	    "See qmpctl(1) for the whole manual.\n", stdout);
}

/* Returns the seconds in s, or exits with a usage error naming opt. */
static double
parse_seconds(const char *name, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	/* Plain decimal only: strtod would also take hex and "infinity". */
	if (strspn(s, "0123456789.eE+-") != strlen(s) ||
	    end == s || *end != '\0' || errno != 0 || !(v >= 0 && v <= 1e8))
		usage_error("%s: invalid number of seconds: '%s'", name, s);
	return v;
}

/* Returns the seconds in s, more than 0, or exits naming opt. */
static double
positive_seconds(const char *name, const char *s)
{
	double v = parse_seconds(name, s);

	if (v < 0.001)
		usage_error("%s: expected at least 0.001 seconds, got '%s'",
		    name, s);
	return v;
}

/* Returns seconds as whole milliseconds, rounded up. */
static int64_t
to_ms(double seconds)
{
	int64_t ms = (int64_t)(seconds * 1000);

	return (double)ms < seconds * 1000 ? ms + 1 : ms;
}

/* Returns the byte count in s (suffix K, M, G), or exits. */
static size_t
parse_size(const char *name, const char *s)
{
	unsigned long long v, mul = 1;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		usage_error("%s: invalid size: '%s'", name, s);
	v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k': case 'K': mul = 1ULL << 10; end++; break;
	case 'm': case 'M': mul = 1ULL << 20; end++; break;
	case 'g': case 'G': mul = 1ULL << 30; end++; break;
	default: break;
	}
	if (errno != 0 || *end != '\0' || v == 0 ||
	    v > (unsigned long long)(SIZE_MAX / 4) / mul)
		usage_error("%s: invalid size: '%s'", name, s);
	return (size_t)(v * mul);
}

/* Returns the number in s within [lo, hi], or exits naming the option. */
static long
parse_long(const char *name, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < lo || v > hi)
		usage_error("%s: expected a number from %ld to %ld, got '%s'",
		    name, lo, hi, s);
	return v;
}

/* Returns 1 for agent commands whose success may be a silent close. */
static int
closes_on_success(const char *name)
{
	return name != NULL && (strcmp(name, "guest-shutdown") == 0 ||
	    strncmp(name, "guest-suspend-", 14) == 0);
}

/* Builds getopt_long's tables from option_defs. */
static void
getopt_tables(struct option *longopts, char *shortopts)
{
	const struct option_def *d;
	size_t i, n = 0;
	char *p = shortopts;

	*p++ = ':';
	for (i = 0; i < NDEFS; i++) {
		d = &option_defs[i];
		if (d->name == NULL)
			continue;
		longopts[n].name = d->name;
		longopts[n].has_arg = d->arg ? required_argument : no_argument;
		longopts[n].flag = NULL;
		longopts[n].val = d->key;
		n++;
		if (d->key < 256) {
			*p++ = (char)d->key;
			if (d->arg)
				*p++ = ':';
		}
	}
	memset(&longopts[n], 0, sizeof(longopts[n]));
	*p = '\0';
}

/*
 * Prints the version: "qmpctl VERSION", then the jansson it was built
 * with, and the one it runs with when that differs (a shared libjansson
 * updated since; jansson_version_str came in jansson 2.13).
 */
static void
print_version(void)
{
	const char *running = JANSSON_VERSION;

#if JANSSON_VERSION_HEX >= 0x020d00
	running = jansson_version_str();
#endif
	printf("qmpctl %s\n", QMPCTL_VERSION);
	if (strcmp(running, JANSSON_VERSION) == 0)
		printf("built with jansson %s\n", JANSSON_VERSION);
	else
		printf("built with jansson %s, running with jansson %s\n",
		    JANSSON_VERSION, running);
}

/* Prints the version, or --help, and exits. */
static void
print_and_exit(int c)
{
	struct run r = { 0 };

	r.out = stdout;
	if (c == 'h')
		usage();
	else
		print_version();
	exit(finish_stdout(&r, QX_OK));
}

/*
 * Takes one of the options of what goes on around a wait (--cancel ...
 * --until) into o, or exits with a usage error.
 */
static void
take_wait_option(struct options *o, int c, char *arg)
{
	switch (c) {
	case OPT_CANCEL: o->cancel = 1; break;
	case OPT_CANCEL_GRACE:
		o->cancel_grace = parse_seconds("--cancel-grace", arg);
		o->cancel_grace_set = 1;
		break;
	case OPT_DISMISS: o->dismiss = 1; break;
	case OPT_FINALIZE: o->finalize = 1; break;
	case OPT_PROGRESS: o->progress = arg; break;
	case OPT_INTERVAL: o->interval = positive_seconds("--interval", arg);
		break;
	case OPT_STALL: o->stall = positive_seconds("--stall", arg); break;
	default: add_until(o, arg); break;
	}
}

/*
 * Takes one option of the screen, the keyboard or guest programs that
 * run on into o.  Returns 0 when c is none of them.
 */
static int
take_step_option(struct options *o, int c, char *arg)
{
	switch (c) {
	case OPT_DETACH: o->detach = 1; break;
	case OPT_EXEC_STATUS:
		o->exec_status_pid = parse_long("--exec-status", arg, 1,
		    LONG_MAX);
		break;
	case OPT_ENV: add_env(o, arg); break;
	case OPT_MERGED: o->merged = 1; break;
	case OPT_SCREENDUMP: add_step(o, STEP_SCREENDUMP, arg); break;
	case OPT_SCREEN_DEVICE: o->screen_device = arg; break;
	case OPT_SCREEN_HEAD:
		o->screen_head = parse_long("--screen-head", arg, 0, INT_MAX);
		break;
	case OPT_KEYS: add_step(o, STEP_KEYS, arg); break;
	case OPT_TYPE: add_step(o, STEP_TYPE, arg); break;
	case OPT_HOLD: o->hold_ms = parse_long("--hold", arg, 0, 60000); break;
	case OPT_KEY_DELAY:
		o->key_delay_ms = parse_long("--key-delay", arg, 0, 60000);
		o->key_delay_set = 1;
		break;
	default:
		return 0;
	}
	return 1;
}

/* Takes one option into o, or exits with a usage error. */
static void
take_option(struct options *o, int c, char *arg, const char *given)
{
	switch (c) {
	case 's': o->addr = arg; break;
	case 'c': o->command = arg; break;
	case 'a': o->args = arg; break;
	case 't': o->timeout = parse_seconds("-t", arg); break;
	case 'n': o->no_stdin = 1; break;
	case OPT_WAIT: o->wait = parse_seconds("--wait", arg); break;
	case OPT_MAX_SIZE: o->max_size = parse_size("--max-size", arg); break;
	case 'p': o->pretty = 1; break;
	case 'f': o->full = 1; break;
	case 'r': o->raw = 1; break;
	case 'k': o->keep_going = 1; break;
	case OPT_WAIT_EVENT: add_alt(o, "--wait-event", arg, 0); break;
	case OPT_FAIL_EVENT: add_alt(o, "--fail-event", arg, 1); break;
	case OPT_MATCH: add_match(o, arg); break;
	case OPT_EVENTS: o->events_log = arg; break;
	case OPT_COUNT:
		o->count = parse_long("--count", arg, 0, LONG_MAX);
		o->count_set = 1;
		break;
	case OPT_QGA: o->qga = 1; break;
	case OPT_LISTEN: o->listen_addr = arg; break;
	case OPT_PASS_FD:
		if (o->npass_fds == sizeof(o->pass_fds) / sizeof(o->pass_fds[0]))
			usage_error("--pass-fd: at most %zu descriptors",
			    o->npass_fds);
		o->pass_fds[o->npass_fds++] = (int)parse_long("--pass-fd", arg,
		    0, INT_MAX);
		break;
	case OPT_HMP: o->hmp = arg; break;
	case OPT_OOB: o->oob = 1; break;
	case OPT_GREETING: o->greeting = 1; break;
	case OPT_LIST_COMMANDS: o->list_commands = 1; break;
	case OPT_DESCRIBE: o->describe = arg; break;
	case OPT_JSON: o->json = 1; break;
	case OPT_WAIT_JOB: parse_wait_job(o, arg); break;
	case OPT_WAIT_MIGRATION: o->wait_migration = 1; break;
	case OPT_READY_FD:
		o->ready_fd = (int)parse_long("--ready-fd", arg, 3, INT_MAX);
		break;
	case OPT_TRACE: o->trace = arg; o->trace_append = 0; break;
	case OPT_EXEC: o->exec = 1; break;
	case OPT_GET: o->get_path = arg; break;
	case OPT_PUT: o->put_path = arg; break;
	case 'h':
	case 'V':
		print_and_exit(c);
		break;
	case ':':
		usage_error("option %s needs a value", given);
		break;
	default:
		if (c >= OPT_CANCEL && c <= OPT_UNTIL)
			take_wait_option(o, c, arg);
		else if (!take_step_option(o, c, arg))
			usage_error("unknown option %s", given);
	}
}

/* Reads the command line into o, or exits with a usage error. */
static void
parse_options(struct options *o, int argc, char **argv)
{
	struct option longopts[NDEFS + 1];
	char shortopts[2 * NDEFS + 2], given[3] = "-?";
	char **orig;
	int c, i;

	memset(o, 0, sizeof(*o));
	/*
	 * getopt_long reorders argv: keep the order as given (held in o, so
	 * that it stays reachable if an option exits).
	 */
	o->given = orig = must(malloc(sizeof(*orig) * ((size_t)argc + 1)));
	memcpy(orig, argv, sizeof(*orig) * ((size_t)argc + 1));
	o->max_size = QMP_DEFAULT_MAX_SIZE;
	o->trace = getenv("QMPCTL_TRACE");
	o->trace_append = 1;
	o->count = 1;
	o->ready_fd = -1;
	o->cancel_grace = 5;
	o->screen_head = o->hold_ms = o->exec_status_pid = -1;
	o->key_delay_ms = KEY_DELAY_MS;
	getopt_tables(longopts, shortopts);
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		given[1] = (char)optopt;
		take_option(o, c, optarg, c == '?' && optopt != 0 ? given :
		    argv[optind - 1]);
	}
	o->operands = argv + optind;
	o->noperands = argc - optind;
	/* The operands came after "--" when they end argv unmoved. */
	o->dashdash = o->noperands > 0 && strcmp(orig[optind - 1], "--") == 0;
	for (i = optind; i < argc && o->dashdash; i++)
		o->dashdash = orig[i] == argv[i];
	free(orig);
	o->given = NULL;
	attach_matches(o);
}

/* The event options' own rules; exits with a usage error. */
static void
check_event_options(const struct options *o)
{
	size_t i;
	int waits = 0;

	for (i = 0; i < o->nalts; i++)
		waits += !o->alts[i].fail;
	if (o->nmatches > 0 && o->nalts == 0)
		usage_error("--match needs --wait-event or --fail-event");
	if (o->count_set && waits == 0)
		usage_error("--count needs --wait-event");
	if (o->nalts > 0 && waits == 0 && o->job_id == NULL &&
	    !o->wait_migration)
		usage_error("--fail-event needs --wait-event, --wait-job or "
		    "--wait-migration: it names what ends the wait in failure");
	if ((waits > 0) + (o->job_id != NULL) + o->wait_migration > 1)
		usage_error("--wait-event, --wait-job and --wait-migration "
		    "exclude each other");
	if (o->qga && (o->job_id != NULL || o->wait_migration))
		usage_error("the guest agent has no jobs and no migrations: "
		    "--qga excludes --wait-job and --wait-migration");
	if (o->qga && o->nalts > 0)
		usage_error("the guest agent sends no events: --qga excludes "
		    "--wait-event and --fail-event");
}

/*
 * The rules of --cancel, --dismiss, --finalize, --progress, --interval,
 * --stall and --until; exits with a usage error.
 */
static void
check_wait_options(const struct options *o)
{
	int job_or_migration = o->job_id != NULL || o->wait_migration;

	if (!job_or_migration && (o->cancel || o->progress != NULL ||
	    o->stall > 0))
		usage_error("--cancel, --progress and --stall need --wait-job "
		    "or --wait-migration");
	if (o->cancel_grace_set && !o->cancel)
		usage_error("--cancel-grace needs --cancel");
	if (o->job_id == NULL && (o->dismiss || o->finalize))
		usage_error("--dismiss and --finalize need --wait-job");
	if (o->interval > 0 && !job_or_migration && o->nuntils == 0)
		usage_error("--interval needs --until, --wait-job or "
		    "--wait-migration");
	if (o->nuntils == 0)
		return;
	if (o->command == NULL)
		usage_error("--until needs -c NAME: it runs one command "
		    "again (not a batch, --hmp or --exec)");
	if (o->nalts > 0 || job_or_migration)
		usage_error("--until excludes --wait-event, --fail-event, "
		    "--wait-job and --wait-migration");
	if (o->npass_fds > 0)
		usage_error("--until excludes --pass-fd: a descriptor goes "
		    "with one command only");
}

/*
 * Exits with QX_LOCAL when descriptor fd, given to opt, is not open for
 * writing.  closed: as for check_options.
 */
static void
check_writable(const char *opt, int fd, unsigned closed)
{
	int fl = fcntl(fd, F_GETFL);

	if ((fd < 3 && (closed & 1u << fd)) || fl < 0) {
		say("%s %d: %s", opt, fd, strerror(EBADF));
		exit(QX_LOCAL);
	}
	if ((fl & O_ACCMODE) == O_RDONLY) {
		say("%s %d: not open for writing", opt, fd);
		exit(QX_LOCAL);
	}
}

/*
 * Exits with QX_LOCAL when a descriptor of --pass-fd is not open, or
 * that of --ready-fd is not open for writing.  closed: as for
 * check_options.
 */
static void
check_descriptors(const struct options *o, unsigned closed)
{
	size_t i;

	for (i = 0; i < o->npass_fds; i++)
		if ((o->pass_fds[i] < 3 && (closed & 1u << o->pass_fds[i])) ||
		    fcntl(o->pass_fds[i], F_GETFD) < 0) {
			say("--pass-fd %d: %s", o->pass_fds[i], strerror(EBADF));
			exit(QX_LOCAL);
		}
	if (o->ready_fd >= 0)
		check_writable("--ready-fd", o->ready_fd, closed);
}

/*
 * The rules for descriptors given by number; exits with a usage error
 * when one would serve in two roles: -s fd:N as stdin, stdout or stderr
 * (results would be written into the monitor), or as --ready-fd or
 * --pass-fd, or --ready-fd as a --pass-fd too.
 */
static void
check_fd_roles(const struct options *o, const struct qmp_addr *addr)
{
	int sock = addr->kind == QMP_ADDR_FD ? addr->fd : -1;
	size_t i;

	if (sock >= 0 && sock <= 2)
		usage_error("-s fd:%d: descriptors 0, 1 and 2 are stdin, stdout "
		    "and stderr, not a socket to the server", sock);
	if (sock >= 0 && sock == o->ready_fd)
		usage_error("descriptor %d is both -s fd:%d and --ready-fd",
		    sock, sock);
	for (i = 0; i < o->npass_fds; i++) {
		if (o->pass_fds[i] == sock)
			usage_error("descriptor %d is both -s fd:%d and "
			    "--pass-fd", sock, sock);
		if (o->pass_fds[i] == o->ready_fd)
			usage_error("descriptor %d is both --ready-fd and "
			    "--pass-fd", o->ready_fd);
	}
}

/*
 * Exits with a usage error when --put's stdin cannot be read: closed
 * when qmpctl started (closed: as for check_options), a directory, or
 * open for writing only.  Checked before connecting, so that no
 * guest-file-open (which empties the guest file) is ever sent for it.
 */
static void
check_put_stdin(const struct options *o, unsigned closed)
{
	struct stat sb;
	int fl;

	if (o->put_path == NULL)
		return;
	if (closed & 1u << STDIN_FILENO)
		usage_error("--put copies stdin, which is closed");
	if (fstat(STDIN_FILENO, &sb) == 0 && S_ISDIR(sb.st_mode))
		usage_error("--put copies stdin, which is a directory");
	fl = fcntl(STDIN_FILENO, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) == O_WRONLY)
		usage_error("--put copies stdin, which is not open for reading");
}

/* Returns how many of --exec, --get and --put o holds. */
static int
agent_modes(const struct options *o)
{
	return !!o->exec + (o->get_path != NULL) + (o->put_path != NULL) +
	    (o->exec_status_pid >= 0);
}

/* The rules of --exec, --get and --put; exits with a usage error. */
static void
check_agent_options(const struct options *o)
{
	const char *path = o->get_path ? o->get_path : o->put_path;
	int i;

	check_exec_options(o);
	if (agent_modes(o) == 0)
		return;
	if (agent_modes(o) > 1)
		usage_error("--exec, --exec-status, --get and --put exclude "
		    "each other");
	if (!o->qga)
		usage_error("--exec, --exec-status, --get and --put need "
		    "--qga");
	if (o->command != NULL || o->args != NULL || o->nalts > 0 ||
	    o->list_commands || o->describe != NULL || o->keep_going ||
	    o->npass_fds > 0 || o->events_log != NULL)
		usage_error("--exec, --get and --put exclude -c, -a, -k, "
		    "--wait-event, --fail-event, --events, --list-commands, "
		    "--describe and --pass-fd");
	if (o->full || o->raw || (o->pretty && o->put_path == NULL &&
	    !o->detach))
		usage_error("--exec and --get print the data as it is: they "
		    "exclude -p, -f and -r (--put takes -p)");
	if (path != NULL && (*path == '\0' || !valid_utf8(path,
	    strlen(path))))
		usage_error("%s: the guest path must be non-empty UTF-8",
		    o->get_path ? "--get" : "--put");
	if (!o->exec && o->noperands > 0)
		usage_error("operand '%s': --get and --put take none",
		    o->operands[0]);
	if (o->exec && (o->noperands == 0 || !o->dashdash))
		usage_error("--exec: give the program after --, as in "
		    "--exec -- PROG [ARG...]");
	for (i = 0; i < o->noperands; i++)
		if (!valid_utf8(o->operands[i], strlen(o->operands[i])))
			usage_error("--exec: argument %d is not valid UTF-8",
			    i);
	if (o->put_path != NULL && o->no_stdin)
		usage_error("--put copies stdin: it excludes -n");
	if (o->put_path != NULL && isatty(STDIN_FILENO))
		usage_error("--put copies stdin, which is a terminal: "
		    "redirect it from the file");
}

/*
 * Checks everything the user gave before anything is sent, and exits
 * with a usage error at the first problem.  closed has bit N set when
 * descriptor N was closed when qmpctl started.
 */
static void
check_options(struct options *o, struct qmp_addr *addr, unsigned closed)
{
	char err[512];

	if (o->noperands > 0 && o->command == NULL && agent_modes(o) == 0)
		usage_error("operand '%s' needs -c NAME", o->operands[0]);
	if (o->listen_addr != NULL && o->addr != NULL)
		usage_error("-s and --listen exclude each other");
	if (o->listen_addr != NULL)
		o->addr = o->listen_addr;
	if (o->addr == NULL)
		o->addr = getenv("QMP_SOCKET");
	if (o->addr == NULL || *o->addr == '\0')
		usage_error("no server address: give -s ADDR or set "
		    "QMP_SOCKET");
	if (qmp_parse_address(o->addr, addr, err, sizeof(err)) != QMP_OK)
		usage_error("%s", err);
	if (o->listen_addr != NULL && addr->kind == QMP_ADDR_VSOCK)
		usage_error("--listen: vsock addresses cannot be listened on");
	if (o->listen_addr != NULL && o->wait > 0)
		usage_error("--wait and --listen exclude each other");
	if (o->args != NULL && o->command == NULL)
		usage_error("-a needs -c NAME");
	if (o->command != NULL && *o->command == '\0')
		usage_error("-c: empty command name");
	if (o->command != NULL && !valid_utf8(o->command,
	    strlen(o->command)))
		usage_error("-c: the name is not valid UTF-8");
	if (o->hmp != NULL && !valid_utf8(o->hmp, strlen(o->hmp)))
		usage_error("--hmp: the text is not valid UTF-8");
	if (o->hmp != NULL && o->command != NULL)
		usage_error("--hmp and -c exclude each other");
	if (o->full && o->raw)
		usage_error("--full and --raw exclude each other");
	if ((o->list_commands || o->describe != NULL) &&
	    (o->command != NULL || o->hmp != NULL || o->nalts > 0 ||
	    o->job_id != NULL || o->wait_migration))
		usage_error("--list-commands and --describe exclude -c, --hmp "
		    "and the waits");
	if (o->list_commands && o->describe != NULL)
		usage_error("--list-commands and --describe exclude each other");
	if (o->json && o->describe == NULL)
		usage_error("--json goes with --describe");
	if (o->qga && (o->oob || o->greeting))
		usage_error("the guest agent has no greeting and no oob: "
		    "--qga excludes --oob and --greeting");
	if (o->qga && o->hmp != NULL)
		usage_error("the guest agent has no human monitor: --qga "
		    "excludes --hmp");
	check_event_options(o);
	check_wait_options(o);
	check_agent_options(o);
	check_steps(o, addr);
	if (o->npass_fds > 0 && addr->kind != QMP_ADDR_UNIX &&
	    addr->kind != QMP_ADDR_FD)
		usage_error("--pass-fd works on unix sockets only");
	check_fd_roles(o, addr);
	check_put_stdin(o, closed);
	check_descriptors(o, closed);
}


static void
on_signal(int sig)
{
	int e = errno;
	char c = 0;

	if (qmpctl_signal == 0)
		qmpctl_signal = sig;
	else
		qmpctl_signal_again = sig;
	if (write(signal_pipe, &c, 1) < 0) {
		/* The pipe is full: a wake-up is already pending. */
	}
	errno = e;
}

/*
 * Routes SIGHUP, SIGINT and SIGTERM to the flag and the pipe, and
 * returns the pipe's read end.  Called once the descriptors the user
 * named were checked, so that the pipe cannot stand in for one of them.
 */
static int
setup_signals(void)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGTERM };
	struct sigaction sa;
	int fds[2];
	size_t i;

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		say("pipe: %s", strerror(errno));
		exit(QX_LOCAL);
	}
	signal_pipe = fds[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: blocking calls return */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	return fds[0];
}

/*
 * Makes the process safe to run: SIGPIPE ignored (a closed pipe is an
 * error to handle), and descriptors 0-2 open, so that a socket can never
 * become stdout.  A closed one gets /dev/null, read-only for stdout and
 * stderr so that writes fail.  Returns the descriptors that were closed,
 * as bits.
 */
static unsigned
prepare_process(void)
{
	unsigned closed = 0;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			closed |= 1u << fd;
			if (open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY) <
			    0)
				exit(QX_LOCAL);
		}
	/* Hash seeds need no randomness here; skip jansson's /dev/urandom. */
	json_object_seed((size_t)getpid() * 2654435761u ^ (size_t)qmp_now_ms());
	return closed;
}

/* ---- The run -------------------------------------------------------- */

/* Returns 1 when the run waits for something after its commands. */
static int
waits(const struct options *o)
{
	return o->nalts > 0 || o->job_id != NULL || o->wait_migration;
}

/* Returns 1 when the commands come from stdin. */
static int
commands_from_stdin(const struct options *o)
{
	if (o->command != NULL || o->hmp != NULL || o->list_commands ||
	    o->describe != NULL || o->no_stdin || agent_modes(o) > 0 ||
	    o->nsteps > 0)
		return 0;
	/* With something else to do, a terminal holds no batch. */
	if (waits(o) || o->greeting)
		return !isatty(STDIN_FILENO);
	return 1;
}

/* Returns the command -c or --hmp asks for (new), or exits. */
static json_t *
build_command(const struct run *r)
{
	const struct options *o = r->o;
	json_t *cmd, *args = NULL;

	if (o->args != NULL)
		args = load_args(r, o->args);
	if (o->noperands > 0)
		args = operand_args(o->noperands, o->operands, args);
	if (o->hmp != NULL)
		args = must(json_pack("{s:s}", "command-line", o->hmp));
	cmd = must(json_pack("{s:s}", o->oob ? "exec-oob" : "execute",
	    o->hmp != NULL ? "human-monitor-command" : o->command));
	if (args != NULL && json_object_set_new(cmd, "arguments", args) < 0)
		must(NULL);
	return cmd;
}

/*
 * Finds the first command: -c or --hmp, or the first on stdin.  Returns
 * QX_OK with *cmd set (NULL when there is none), or a failure status.
 */
static int
first_command(struct run *r, json_t **cmd)
{
	const struct options *o = r->o;
	int rc;

	*cmd = NULL;
	if (o->exec)
		return exec_args(r, cmd);
	if (o->command != NULL || o->hmp != NULL) {
		*cmd = build_command(r);
		return QX_OK;
	}
	if (!commands_from_stdin(o))
		return QX_OK;
	if ((rc = next_command(r, cmd)) != QX_OK)
		return rc;
	if (*cmd == NULL && !waits(o) && !o->greeting)
		return usage_failure("no command: give -c NAME, or a QMP "
		    "command object on stdin");
	return QX_OK;
}

/* Connects and greets (or synchronises with the agent). */
static int
connect_and_greet(struct run *r, const struct qmp_addr *addr)
{
	const struct options *o = r->o;
	int64_t start = qmp_now_ms(), left;
	enum qmp_status st;

	r->q = qmp_new();
	if (r->q == NULL)
		must(NULL);
	qmp_set_deadline(r->q, r->deadline);
	qmp_set_max_size(r->q, o->max_size);
	qmp_set_cancel_fd(r->q, r->cancel_fd);
	qmp_set_cancel_flag(r->q, &qmpctl_signal);
	qmp_set_event_handler(r->q, on_event, r);
	if (r->trace_fd >= 0)
		qmp_set_trace(r->q, on_trace, r);
	if (o->listen_addr != NULL)
		st = qmp_listen(r->q, addr);
	else
		st = qmp_connect(r->q, addr, to_ms(o->wait));
	if (st == QMP_OK && o->qga) {
		/* --wait covers an agent that does not answer yet, too. */
		left = o->wait > 0 ? start + to_ms(o->wait) - qmp_now_ms() : 0;
		st = qmp_sync_agent(r->q, o->wait > 0 && left < 1 ? 1 : left);
	}
	else if (st == QMP_OK)
		st = qmp_handshake(r->q, o->oob ? QMP_NEGOTIATE_OOB : 0);
	if (st != QMP_OK) {
		say_failure(r);
		return exit_status(st);
	}
	if (o->greeting && print_json(r, qmp_greeting(r->q)) < 0)
		return stdout_failed(r, errno);
	return QX_OK;
}

/*
 * Tells --ready-fd's reader that the connection is up: one newline, then
 * the descriptor is closed.  Returns QX_OK, or QX_LOCAL after saying why.
 */
static int
signal_ready(const struct run *r)
{
	int fd = r->o->ready_fd, rc;
	char name[32];

	if (fd < 0)
		return QX_OK;
	snprintf(name, sizeof(name), "--ready-fd %d", fd);
	if (io_write_all(r, fd, "\n", 1) == 0)
		return close(fd) == 0 ? QX_OK :
		    io_failure(name, errno, IO_WRITE, QX_LOCAL);
	rc = io_failure(name, errno, IO_WRITE, QX_LOCAL);
	close(fd);
	return rc;
}

/*
 * Runs cmd (stolen) and prints its result.  Returns the exit status it
 * stands for.
 */
static int
run_command(struct run *r, json_t *cmd, int first)
{
	const struct options *o = r->o;
	enum qmp_status st;
	json_t *reply = NULL, *ret;
	char name[128];
	size_t n;
	int rc;

	snprintf(name, sizeof(name), "%s", qmp_json_string(
	    json_object_get(cmd, "execute")) ? qmp_json_string(
	    json_object_get(cmd, "execute")) : "exec-oob");
	st = qmp_execute(r->q, cmd, o->pass_fds, first ? o->npass_fds : 0,
	    &reply);
	json_decref(cmd);
	if (st == QMP_ECLOSED && o->qga && closes_on_success(name) &&
	    qmp_command_sent(r->q)) {
		say("%s: the agent closed the connection without a reply, "
		    "as it does when this command succeeds", name);
		return QX_OK;
	}
	ret = json_object_get(reply, "return");
	if (st == QMP_OK && o->hmp != NULL && qmp_json_is_string(ret) &&
	    !o->full) {
		n = json_string_length(ret);
		rc = QX_OK;
		if (fwrite(qmp_json_string(ret), 1, n, r->out) != n ||
		    fflush(r->out) != 0)
			rc = stdout_failed(r, errno);
	} else
		rc = print_reply(r, st, reply);
	json_decref(reply);
	return rc;
}

/*
 * Runs the argument-less command name.  Returns QX_OK with its reply in
 * *reply (new), or the exit status after reporting the failure.
 */
int
call_or_report(struct run *r, const char *name, json_t **reply)
{
	enum qmp_status st;
	int rc;

	st = qmp_call(r->q, name, NULL, reply);
	if (st == QMP_OK)
		return QX_OK;
	rc = print_reply(r, st, *reply);
	json_decref(*reply);
	*reply = NULL;
	return rc;
}

/*
 * Runs cmd (stolen) and then the rest of the batch.  Returns the status
 * of the first failure (a later one is reported, not returned).
 */
static int
run_commands(struct run *r, json_t *cmd)
{
	int rc = QX_OK, one, first = 1;

	while (cmd != NULL) {
		one = run_command(r, cmd, first);
		first = 0;
		cmd = NULL;
		if (one != QX_OK && rc == QX_OK)
			rc = one;
		if (one != QX_OK && (!r->o->keep_going || one != QX_COMMAND))
			break;
		if (commands_from_stdin(r->o)) {
			one = next_command(r, &cmd);
			if (one != QX_OK && rc == QX_OK)
				rc = one;
		}
	}
	return rc;
}

/* Does what the options ask once connected.  Returns the exit status. */
static int
act_on_options(struct run *r, json_t *cmd)
{
	const struct options *o = r->o;
	int rc = QX_OK;

	if (o->exec)
		rc = agent_exec(r, cmd);
	else if (o->get_path != NULL)
		rc = agent_get(r, o->get_path);
	else if (o->put_path != NULL)
		rc = agent_put(r, o->put_path);
	else if (o->exec_status_pid >= 0)
		rc = agent_exec_status(r, (json_int_t)o->exec_status_pid);
	else if (o->nsteps > 0)
		rc = run_steps(r);
	else if (o->list_commands)
		rc = list_commands(r);
	else if (o->describe != NULL)
		rc = describe(r, o->describe);
	else if (o->nuntils > 0)
		rc = run_until(r, cmd);
	else
		rc = run_commands(r, cmd);
	/* Before --wait-event: --fail-event may go with these two. */
	if (rc == QX_OK && o->job_id != NULL)
		rc = wait_job(r);
	else if (rc == QX_OK && o->wait_migration)
		rc = wait_migration(r);
	else if (rc == QX_OK && o->nalts > 0)
		rc = wait_events(r);
	return rc;
}

/* Frees the run and settles the exit status: the first failure wins. */
static int
end_run(struct run *r, int rc)
{
	int trc;

	qmp_free(r->q);
	if ((trc = close_trace(r)) != QX_OK && rc == QX_OK)
		rc = trc;
	qmp_framer_free(r->in);
	json_decref(r->held);
	json_decref(r->failed);
	json_decref(r->job.last);
	json_decref(r->job.end);
	if (r->log != NULL && r->log != stderr && fclose(r->log) != 0 &&
	    r->log_errno == 0)
		r->log_errno = errno;
	if (r->log_errno == ETIMEDOUT && rc == QX_OK)
		rc = QX_TIMEOUT;	/* said when it happened */
	else if (r->log_errno != 0 && r->log_errno != ETIMEDOUT &&
	    !(r->log_errno == EINTR && qmpctl_signal)) {
		say("%s: %s", r->o->events_log, strerror(r->log_errno));
		if (rc == QX_OK)
			rc = QX_LOCAL;
	}
	return finish_stdout(r, rc);
}

int
main(int argc, char **argv)
{
	struct options o;
	struct qmp_addr addr;
	struct run r = { 0 };
	json_t *cmd = NULL;
	unsigned closed;
	int rc;

	closed = prepare_process();
	parse_options(&o, argc, argv);
	check_options(&o, &addr, closed);
	r.o = &o;
	r.cancel_fd = setup_signals();
	if (o.timeout > 0)
		r.deadline = qmp_now_ms() + to_ms(o.timeout);
	if (closed & 1u << STDOUT_FILENO) {
		say("stdout: %s", strerror(EBADF));
		return (o.exec && !o.detach) || o.exec_status_pid >= 0 ?
		    QX_EXEC_OWN : QX_LOCAL;
	}
	r.trace_fd = -1;
	setup_stdout(&r);
	r.held = must(json_array());
	r.in = must(qmp_framer_new(o.max_size));
	rc = first_command(&r, &cmd);
	if (rc == QX_OK && r.deadline != 0 && qmp_now_ms() >= r.deadline) {
		say("timed out reading the input, before connecting");
		rc = QX_TIMEOUT;
	}
	if (rc == QX_OK)
		rc = open_stream(&r, o.events_log, &r.log);
	if (rc == QX_OK)
		rc = open_trace(&r);
	if (rc == QX_OK)
		rc = connect_and_greet(&r, &addr);
	if (rc == QX_OK)
		rc = signal_ready(&r);
	if (rc == QX_OK)
		rc = act_on_options(&r, cmd);
	else
		json_decref(cmd);
	rc = end_run(&r, rc);
	if (o.exec || o.exec_status_pid >= 0)
		rc = exec_exit_status(&r, rc);
	free_alts(&o);
	free_untils(&o);
	free(o.steps);
	free(o.env);
	return rc;
}
