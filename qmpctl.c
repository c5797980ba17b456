/*
 * qmpctl: run QEMU Monitor Protocol commands from a shell.
 *
 * This file owns the command line, the messages, the output format and
 * the exit status; the protocol lives in qmp_core.c.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "qmp_core.h"

#ifndef QMPCTL_VERSION
#define QMPCTL_VERSION "0.1.0"
#endif

/* Exit statuses, as documented in qmpctl.1 and README.md. */
enum {
	EX_OK = 0,
	EX_COMMAND = 1,
	EX_USAGE = 2,
	EX_CONNECT = 3,
	EX_GREETING = 4,
	EX_NEGOTIATE = 5,
	EX_CLOSED = 6,
	EX_PROTO = 7,
	EX_TIMEOUT = 8,
	EX_LOCAL = 9,
};

static const char *progname = "qmpctl";

static struct {
	const char *addr;
	const char *command;
	const char *args;
	double timeout;		/* seconds, 0 = none */
	double wait;		/* seconds to retry the connect */
	size_t max_size;
	int pretty, full, raw;
	int keep_going;
	int qga, oob, greeting;
	int json, list_commands;
	const char *hmp, *describe;
} opt;

static volatile sig_atomic_t caught_signal;
static int stdout_failed;	/* reported once, at the first failure */
static int64_t deadline;	/* CLOCK_MONOTONIC ms for -t, or 0 */
static int sigpipe_fds[2] = { -1, -1 };

/* Returns nothing: prints "qmpctl: MESSAGE" on one line of stderr. */
static void
warnx_(const char *fmt, ...)
{
	va_list ap;
	char buf[2048], *p;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One line, whatever the server put in its text. */
	for (p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	fprintf(stderr, "%s: %s\n", progname, buf);
}

/* Does not return: reports a usage error and exits with status 2. */
static void
usage_error(const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	warnx_("%s (see --help)", buf);
	exit(EX_USAGE);
}

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: qmpctl [-s ADDR | --listen ADDR] [options] -c NAME [-a JSON|@FILE|@-]\n"
"              [KEY=VALUE | KEY:=JSON ...]\n"
"       qmpctl [-s ADDR] [options] --hmp TEXT\n"
"       qmpctl [-s ADDR] [options] < COMMANDS.json\n"
"       qmpctl [-s ADDR] [options] --wait-event NAME[,NAME...]\n"
"       qmpctl [-s ADDR] [options] --list-commands | --describe NAME [--json]\n"
"\n"
"Run QEMU Monitor Protocol commands and print their results as JSON.\n"
"\n"
"  -s, --socket ADDR     server address (default: $QMP_SOCKET): PATH,\n"
"                        unix:PATH, HOST:PORT, tcp:HOST:PORT, [IPV6]:PORT\n"
"  -c, --command NAME    the command to run\n"
"  -a, --args JSON       its arguments, a JSON object; @FILE reads them\n"
"                        from FILE, @- from standard input\n"
"  -t, --timeout SECONDS bound the whole run (fractions allowed; 0: none)\n"
"      --wait SECONDS    retry the connect while the socket is missing or\n"
"                        refusing, for up to SECONDS\n"
"      --max-size BYTES  largest message accepted from the server\n"
"                        (suffix K, M or G; default 128M)\n"
"  -p, --pretty          indent the output\n"
"  -f, --full            print whole reply objects, not just the return value\n"
"  -r, --raw             print a string result as bare text, like jq -r\n"
"  -k, --keep-going      in a batch, run the rest after a command error\n"
"      --wait-event NAMES after the commands, wait for an event with one\n"
"                        of these comma-separated names, and print it\n"
"      --match KEY=VALUE only events whose data.KEY (dotted for nesting)\n"
"                        equals VALUE, as JSON or as a string; repeatable\n"
"      --count N         print N matching events (default 1; 0: until the\n"
"                        deadline or a signal)\n"
"      --events FILE     write every event seen to FILE (- for stderr)\n"
"      --qga             the peer is the guest agent (qemu-ga): no greeting,\n"
"                        synchronise with guest-sync-delimited\n"
"      --listen ADDR     wait for QEMU to connect to ADDR, instead of -s\n"
"      --pass-fd N       pass descriptor N with the command (unix sockets;\n"
"                        repeatable)\n"
"      --hmp TEXT        run a human monitor command and print its text\n"
"      --oob             enable out-of-band execution and use exec-oob\n"
"      --greeting        print the server's greeting first\n"
"      --list-commands   print the names of the commands the server accepts\n"
"      --describe NAME   describe a command's or event's arguments and\n"
"                        return type, from the server's schema\n"
"      --json            with --describe, print the resolved schema as JSON\n"
"  -h, --help            print this help and exit\n"
"  -V, --version         print the version and exit\n"
"\n"
"Operands after -c build its arguments: KEY=VALUE sets a string,\n"
"KEY:=JSON a JSON value; a dotted KEY reaches into nested objects.\n"
"Without -c, standard input holds QMP command objects such as\n"
"{\"execute\": \"query-status\"}, run in order over one connection.\n"
"\n"
"Exit status: 0 success, 1 the server answered with an error, 2 usage,\n"
"3 cannot connect, 4 no valid greeting, 5 negotiation failed, 6 connection\n"
"lost before the reply, 7 protocol error, 8 timeout, 9 local failure,\n"
"128+N killed by signal N (SIGINT, SIGTERM).\n");
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

static void
on_signal(int sig)
{
	int e = errno;
	char c = 0;

	if (caught_signal == 0)
		caught_signal = sig;
	if (write(sigpipe_fds[1], &c, 1) < 0) {
		/* The pipe is full: a wake-up is already pending. */
	}
	errno = e;
}

/*
 * Returns nothing; routes SIGINT and SIGTERM to the cancel pipe.  Called
 * once the descriptors the user named were checked, so that the pipe
 * cannot stand in for one of them.
 */
static void
setup_signals(void)
{
	struct sigaction sa;

	if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		warnx_("pipe: %s", strerror(errno));
		exit(EX_LOCAL);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: blocking reads return */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Returns the exit status for a core status. */
static int
exit_code(enum qmp_status st)
{
	switch (st) {
	case QMP_OK:		return EX_OK;
	case QMP_ECOMMAND:	return EX_COMMAND;
	case QMP_EUSAGE:	return EX_USAGE;
	case QMP_ECONNECT:	return EX_CONNECT;
	case QMP_EGREETING:	return EX_GREETING;
	case QMP_ENEGOTIATE:	return EX_NEGOTIATE;
	case QMP_ECLOSED:	return EX_CLOSED;
	case QMP_EPROTO:	return EX_PROTO;
	case QMP_ETIMEOUT:	return EX_TIMEOUT;
	case QMP_ELOCAL:	return EX_LOCAL;
	case QMP_ECANCEL:
		return 128 + (caught_signal ? caught_signal : SIGINT);
	}
	return EX_LOCAL;
}

/*
 * Returns once fd is readable.  Exits with the timeout status when the
 * deadline passes first, or with 128+N on a signal.
 */
static void
wait_input(int fd, const char *name)
{
	struct pollfd pfd[2] = {
		{ fd, POLLIN, 0 }, { sigpipe_fds[0], POLLIN, 0 } };
	int64_t left;
	int r;

	for (;;) {
		left = deadline == 0 ? -1 : deadline - qmp_now_ms();
		if (deadline != 0 && left <= 0) {
			warnx_("%s: timed out reading", name);
			exit(EX_TIMEOUT);
		}
		r = poll(pfd, 2, left > INT_MAX ? INT_MAX : (int)left);
		if (caught_signal)
			exit(128 + caught_signal);
		if (r > 0)
			return;
		if (r < 0 && errno != EINTR) {
			warnx_("poll: %s", strerror(errno));
			exit(EX_LOCAL);
		}
	}
}

/*
 * Reads all of fd into a new NUL-terminated buffer of at most max bytes.
 * Returns the buffer with *len set, or NULL after reporting (exits with
 * the interrupt status on a signal).
 */
static char *
read_all(int fd, const char *name, size_t max, size_t *len)
{
	char *buf = NULL, *nbuf;
	size_t cap = 0, n = 0;
	ssize_t r;

	for (;;) {
		if (cap - n < 2) {
			size_t ncap = cap ? cap * 2 : 65536;

			if (ncap > max + 2)
				ncap = max + 2;
			if (ncap <= cap) {
				free(buf);
				usage_error("%s: more than %zu bytes "
				    "(see --max-size)", name, max);
			}
			nbuf = realloc(buf, ncap);
			if (nbuf == NULL) {
				free(buf);
				warnx_("%s: out of memory", name);
				exit(EX_LOCAL);
			}
			buf = nbuf;
			cap = ncap;
		}
		wait_input(fd, name);
		r = read(fd, buf + n, cap - n - 1);
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r == 0)
			break;
		if (errno == EINTR && !caught_signal)
			continue;
		if (errno == EINTR)
			exit(128 + caught_signal);
		free(buf);
		usage_error("%s: %s", name, strerror(errno));
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Returns the arguments object given with -a (new), or exits. */
static json_t *
load_args(const char *spec)
{
	json_error_t jerr;
	const char *name = "-a";
	char *text = NULL;
	size_t len;
	json_t *v;
	int fd;

	/* Numbers stay as written; a duplicate key is an error, as in QEMU. */
	if (spec[0] == '@') {
		name = spec[1] == '-' && spec[2] == '\0' ? "stdin" : spec + 1;
		if (strcmp(name, "stdin") == 0 && spec[1] == '-')
			fd = STDIN_FILENO;
		else if ((fd = open(spec + 1, O_RDONLY | O_CLOEXEC)) < 0)
			usage_error("%s: %s", spec + 1, strerror(errno));
		text = read_all(fd, name, opt.max_size, &len);
		if (fd != STDIN_FILENO)
			close(fd);
		v = qmp_json_loadb(text, len, QMP_JSON_REJECT_DUPLICATES,
		    &jerr);
		free(text);
	} else
		v = qmp_json_loadb(spec, strlen(spec),
		    QMP_JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL)
		usage_error("%s: invalid JSON: %s (line %d, column %d)", name,
		    jerr.text, jerr.line, jerr.column);
	if (!json_is_object(v)) {
		json_decref(v);
		usage_error("%s: the arguments must be a JSON object", name);
	}
	return v;
}

/* ---- Commands from standard input ---------------------------------- */

struct input {
	struct qmp_framer fr;
	int eof;
	unsigned long count;	/* commands read so far */
};

/*
 * Checks that cmd is a QMP command object.  Returns NULL when it is, or
 * a static description of what is wrong.
 */
static const char *
check_command(json_t *cmd)
{
	const char *key;
	json_t *v;
	int names = 0;

	if (!json_is_object(cmd))
		return "not a JSON object";
	json_object_foreach(cmd, key, v) {
		if (strcmp(key, "execute") == 0 ||
		    strcmp(key, "exec-oob") == 0) {
			if (!qmp_json_is_string(v))
				return "\"execute\" (or \"exec-oob\") must be "
				    "a string";
			names++;
		} else if (strcmp(key, "arguments") == 0) {
			if (!json_is_object(v))
				return "\"arguments\" must be an object";
		} else if (strcmp(key, "id") != 0)
			return "unknown member (expected execute or exec-oob, "
			    "arguments, id)";
	}
	if (names != 1)
		return "needs exactly one \"execute\" or \"exec-oob\" "
		    "member";
	return NULL;
}


/*
 * Returns the next command object from stdin (new), or NULL at the end.
 * Malformed input is a usage error: it exits with status 2.
 */
static json_t *
next_command(struct input *in)
{
	const char *m;
	json_error_t jerr;
	const char *why;
	enum qmp_frame fr;
	size_t len, room;
	ssize_t r;
	char *p;
	json_t *cmd;

	for (;;) {
		fr = qmp_framer_next(&in->fr, &m, &len);
		if (fr == QMP_FRAME_MSG)
			break;
		if (fr == QMP_FRAME_ERROR)
			usage_error("stdin: command %lu: expected a JSON object",
			    in->count + 1);
		if (fr == QMP_FRAME_TOOBIG)
			usage_error("stdin: command %lu is over %zu bytes "
			    "(see --max-size)", in->count + 1, in->fr.max);
		if (in->eof) {
			if (qmp_framer_pending(&in->fr) > 0)
				usage_error("stdin: command %lu: incomplete JSON "
				    "at the end of input", in->count + 1);
			return NULL;
		}
		p = qmp_framer_space(&in->fr, &room);
		if (p == NULL) {
			warnx_("stdin: out of memory");
			exit(EX_LOCAL);
		}
		wait_input(STDIN_FILENO, "stdin");
		r = read(STDIN_FILENO, p, room);
		if (r > 0)
			qmp_framer_commit(&in->fr, (size_t)r);
		else if (r == 0)
			in->eof = 1;
		else if (errno == EINTR && caught_signal)
			exit(128 + caught_signal);
		else if (errno != EINTR && errno != EAGAIN)
			usage_error("stdin: %s", strerror(errno));
	}
	in->count++;
	/* Numbers stay as written; a duplicate key is an error, as in QEMU. */
	cmd = qmp_json_loadb(m, len, QMP_JSON_REJECT_DUPLICATES, &jerr);
	if (cmd == NULL)
		usage_error("stdin: command %lu: invalid JSON: %s", in->count,
		    jerr.text);
	if ((why = check_command(cmd)) != NULL) {
		json_decref(cmd);
		usage_error("stdin: command %lu: %s", in->count, why);
	}
	return cmd;
}

/* ---- Output ---------------------------------------------------------- */

/* Returns 0 after writing v as one JSON text and a newline, -1 on error. */
static int
print_json(json_t *v)
{
	if (opt.raw && qmp_json_is_string(v)) {
		size_t n = json_string_length(v);

		if (fwrite(json_string_value(v), 1, n, stdout) != n)
			return -1;
	} else if (qmp_json_write(stdout, v, opt.pretty) < 0)
		return -1;
	if (putchar('\n') == EOF)
		return -1;
	return 0;
}

/* Returns 0 when everything written to stdout reached it, else -1. */
static int
finish_stdout(void)
{
	int bad = fflush(stdout) != 0 || ferror(stdout);

	if (fclose(stdout) != 0)
		bad = 1;
	return bad ? -1 : 0;
}

/*
 * Prints the result of one command.  Returns the exit status it stands
 * for (EX_LOCAL when stdout failed).
 */
static int
report(struct qmp *q, enum qmp_status st, json_t *reply)
{
	json_t *out;

	if (st != QMP_OK && st != QMP_ECOMMAND) {
		warnx_("%s", qmp_errmsg(q));
		return exit_code(st);
	}
	out = opt.full ? reply : json_object_get(reply,
	    st == QMP_OK ? "return" : "error");
	if (print_json(out) < 0 || fflush(stdout) != 0) {
		warnx_("stdout: %s", strerror(errno));
		stdout_failed = 1;
		return EX_LOCAL;
	}
	if (st == QMP_ECOMMAND)
		warnx_("%s", qmp_errmsg(q));
	return exit_code(st);
}

/* ---- Events ---------------------------------------------------------- */

struct match {
	char *key;		/* dotted path into the event's "data" */
	const char *text;	/* the value as given */
	json_t *value;		/* the value parsed as JSON, or NULL */
};

static struct {
	char **names;		/* --wait-event names, NULL-terminated */
	struct match *m;
	size_t nm;
	long count;		/* events to print; 0: no limit */
	long printed;
	int live;		/* commands are done: print at once */
	json_t *queue;		/* matches seen while commands ran */
	FILE *log;		/* --events */
	const char *logname;
	int log_failed;
	int out_failed;
} ev;

/* Returns 1 when ev has a member at the dotted path key equal to m. */
static int
event_matches(json_t *event, const struct match *m)
{
	json_t *v = json_object_get(event, "data");
	const char *key = m->key, *dot;

	while (v != NULL) {
		dot = strchr(key, '.');
		if (dot == NULL) {
			v = json_object_get(v, key);
			break;
		}
		v = json_object_getn(v, key, (size_t)(dot - key));
		key = dot + 1;
	}
	if (v == NULL)
		return 0;
	/* Numbers by exact value: 1 = 1.0 = 1e0, never through a double. */
	if (m->value != NULL && qmp_json_equal(v, m->value))
		return 1;
	return qmp_json_is_string(v) &&
	    strcmp(json_string_value(v), m->text) == 0;
}

/* Returns 1 when the event is one --wait-event asked for. */
static int
event_wanted(json_t *event)
{
	const char *name = json_string_value(json_object_get(event, "event"));
	size_t i;
	int found = 0;

	if (ev.names == NULL || name == NULL)
		return 0;
	for (i = 0; ev.names[i] != NULL; i++)
		if (strcmp(ev.names[i], name) == 0)
			found = 1;
	if (!found)
		return 0;
	for (i = 0; i < ev.nm; i++)
		if (!event_matches(event, &ev.m[i]))
			return 0;
	return 1;
}

/* Returns nothing; prints one awaited event if the count allows it. */
static void
print_event(json_t *event)
{
	if (ev.count > 0 && ev.printed >= ev.count)
		return;
	ev.printed++;
	if (ev.out_failed)
		return;
	if (qmp_json_write(stdout, event, opt.pretty) < 0 ||
	    putchar('\n') == EOF || fflush(stdout) != 0)
		ev.out_failed = errno ? errno : EIO;
}

/* The event handler: logs every event and keeps the awaited ones. */
static void
on_event(void *ctx, json_t *event)
{
	(void)ctx;
	if (ev.log != NULL && !ev.log_failed) {
		if (qmp_json_write(ev.log, event, 0) < 0 ||
		    fputc('\n', ev.log) == EOF || fflush(ev.log) != 0)
			ev.log_failed = errno ? errno : EIO;
	}
	if (!event_wanted(event))
		return;
	if (ev.live)
		print_event(event);
	else if (ev.count == 0 || json_array_size(ev.queue) < (size_t)ev.count)
		json_array_append(ev.queue, event);
}

/* Returns nothing; parses KEY=VALUE for --match, or exits. */
static void
add_match(const char *s)
{
	const char *eq = strchr(s, '=');
	struct match *m;

	if (eq == NULL || eq == s)
		usage_error("--match: expected KEY=VALUE, got '%s'", s);
	m = realloc(ev.m, (ev.nm + 1) * sizeof(*ev.m));
	if (m == NULL) {
		warnx_("out of memory");
		exit(EX_LOCAL);
	}
	ev.m = m;
	m = &ev.m[ev.nm++];
	m->key = strndup(s, (size_t)(eq - s));
	m->text = eq + 1;
	m->value = qmp_json_loadb(eq + 1, strlen(eq + 1), QMP_JSON_DECODE_ANY,
	    NULL);
	if (m->key == NULL) {
		warnx_("out of memory");
		exit(EX_LOCAL);
	}
}

/* Returns nothing; splits the --wait-event list, or exits. */
static void
set_wait_events(char *list)
{
	size_t n = 1, i = 0;
	char *p, *tok, *save = NULL;

	for (p = list; *p != '\0'; p++)
		n += *p == ',';
	free(ev.names);
	if ((ev.names = calloc(n + 1, sizeof(*ev.names))) == NULL) {
		warnx_("out of memory");
		exit(EX_LOCAL);
	}
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		ev.names[i++] = tok;
	if (i == 0)
		usage_error("--wait-event: no event name given");
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

/* ---- Argument shorthand: KEY=VALUE and KEY:=JSON operands ---------- */

struct operand {
	const char *key;	/* points into argv; ends at keylen */
	size_t keylen;
	json_t *value;		/* new */
};

/* Returns 1 when key a names b or an object holding b (dot boundary). */
static int
key_covers(const struct operand *a, const struct operand *b)
{
	return a->keylen <= b->keylen &&
	    memcmp(a->key, b->key, a->keylen) == 0 &&
	    (a->keylen == b->keylen || b->key[a->keylen] == '.');
}

/* Returns nothing; sets the dotted path of op in obj, making objects. */
static void
set_path(json_t *obj, const struct operand *op)
{
	const char *p = op->key, *end = op->key + op->keylen, *dot;
	char seg[256];
	json_t *child;

	for (;;) {
		dot = memchr(p, '.', (size_t)(end - p));
		if (dot == NULL)
			dot = end;
		snprintf(seg, sizeof(seg), "%.*s", (int)(dot - p), p);
		if (dot == end) {
			json_object_set(obj, seg, op->value);
			return;
		}
		child = json_object_get(obj, seg);
		if (!json_is_object(child)) {
			child = json_object();
			json_object_set_new(obj, seg, child);
		}
		obj = child;
		p = dot + 1;
	}
}

/* Returns nothing; copies src into dst, src winning, objects merged. */
static void
merge_into(json_t *dst, json_t *src)
{
	const char *k;
	json_t *v, *d;

	json_object_foreach(src, k, v) {
		d = json_object_get(dst, k);
		if (json_is_object(d) && json_is_object(v))
			merge_into(d, v);
		else
			json_object_set(dst, k, v);
	}
}

/*
 * Returns the arguments built from the operands argv[0..argc) merged over
 * base (stolen; may be NULL), or exits with a usage error.
 */
static json_t *
operand_args(int argc, char **argv, json_t *base)
{
	struct operand *ops;
	json_error_t jerr;
	json_t *args;
	const char *eq, *s, *p;
	int i, j;

	if ((ops = calloc((size_t)argc, sizeof(*ops))) == NULL) {
		warnx_("out of memory");
		exit(EX_LOCAL);
	}
	for (i = 0; i < argc; i++) {
		s = argv[i];
		if ((eq = strchr(s, '=')) == NULL)
			usage_error("operand '%s': expected KEY=VALUE or "
			    "KEY:=JSON", s);
		ops[i].key = s;
		ops[i].keylen = (size_t)(eq - s);
		if (eq > s && eq[-1] == ':') {
			ops[i].keylen--;
			ops[i].value = qmp_json_loadb(eq + 1, strlen(eq + 1),
			    QMP_JSON_DECODE_ANY | QMP_JSON_REJECT_DUPLICATES,
			    &jerr);
			if (ops[i].value == NULL)
				usage_error("operand '%s': invalid JSON: %s", s,
				    jerr.text);
		} else
			ops[i].value = json_string(eq + 1);
		if (ops[i].value == NULL)
			usage_error("operand '%s': the value is not valid "
			    "UTF-8", s);
		if (ops[i].keylen == 0 || ops[i].keylen > 255 ||
		    s[0] == '.' || s[ops[i].keylen - 1] == '.')
			usage_error("operand '%s': bad key", s);
		for (p = s; p < s + ops[i].keylen - 1; p++)
			if (p[0] == '.' && p[1] == '.')
				usage_error("operand '%s': bad key", s);
		for (j = 0; j < i; j++) {
			if (ops[j].keylen == ops[i].keylen &&
			    key_covers(&ops[j], &ops[i]))
				usage_error("key '%.*s' given twice",
				    (int)ops[i].keylen, s);
			if (key_covers(&ops[j], &ops[i]) ||
			    key_covers(&ops[i], &ops[j]))
				usage_error("key '%.*s' is used both as a "
				    "value and as an object",
				    (int)(ops[i].keylen < ops[j].keylen ?
				    ops[i].keylen : ops[j].keylen),
				    ops[i].keylen < ops[j].keylen ? s :
				    ops[j].key);
		}
	}
	args = base != NULL ? base : json_object();
	{
		json_t *over = json_object();

		for (i = 0; i < argc; i++) {
			set_path(over, &ops[i]);
			json_decref(ops[i].value);
		}
		merge_into(args, over);
		json_decref(over);
	}
	free(ops);
	return args;
}

/* ---- Introspection: --list-commands and --describe ------------------- */

/*
 * Runs the argument-less command name.  Returns EX_OK with its reply in
 * *reply (new), or the exit status after reporting the failure.
 */
static int
query(struct qmp *q, const char *name, json_t **reply)
{
	enum qmp_status st;
	json_t *cmd;
	int r;

	if ((cmd = json_pack("{s:s}", "execute", name)) == NULL) {
		warnx_("out of memory");
		return EX_LOCAL;
	}
	st = qmp_execute(q, cmd, NULL, 0, reply);
	json_decref(cmd);
	if (st == QMP_OK)
		return EX_OK;
	r = report(q, st, *reply);
	json_decref(*reply);
	*reply = NULL;
	return r;
}

struct schema {
	json_t *byname;		/* name -> schema entry (borrowed refs) */
};

/* Returns a readable name for a builtin's JSON type. */
static const char *
builtin_name(json_t *entry)
{
	static const char *const names[][2] = {
		{ "string", "str" }, { "boolean", "bool" }, { "value", "any" },
	};
	const char *t = json_string_value(json_object_get(entry,
	    "json-type"));
	size_t i;

	if (t == NULL)
		return "?";
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(t, names[i][0]) == 0)
			return names[i][1];
	return t;	/* int, number and null read well as they are */
}

/* Returns the enum's values (borrowed): "values", or names in "members". */
static json_t *
enum_values(json_t *entry, json_t **owned)
{
	json_t *v = json_object_get(entry, "values"), *m, *names;
	size_t i;

	*owned = NULL;
	if (json_is_array(v))
		return v;
	m = json_object_get(entry, "members");
	names = json_array();
	for (i = 0; i < json_array_size(m); i++)
		json_array_append(names, json_object_get(json_array_get(m, i),
		    "name"));
	*owned = names;
	return names;
}

/*
 * Returns the type called name resolved into a JSON tree (new).  stack
 * holds the object types being resolved, to cut cycles with a "ref".
 */
static json_t *
resolve_type(struct schema *s, const char *name, json_t *stack)
{
	json_t *e = json_object_get(s->byname, name), *out, *mem, *m, *t;
	json_t *owned, *vals, *vars;
	const char *meta, *k;
	size_t i;

	if (e == NULL)
		return json_pack("{s:s}", "unknown", name);
	meta = json_string_value(json_object_get(e, "meta-type"));
	if (meta == NULL)
		meta = "";
	if (strcmp(meta, "builtin") == 0)
		return json_string(builtin_name(e));
	if (strcmp(meta, "enum") == 0) {
		vals = enum_values(e, &owned);
		out = json_pack("{s:O}", "enum", vals);
		json_decref(owned);
		return out;
	}
	if (strcmp(meta, "array") == 0) {
		k = json_string_value(json_object_get(e, "element-type"));
		return json_pack("{s:o}", "array",
		    resolve_type(s, k ? k : "", stack));
	}
	if (strcmp(meta, "alternate") == 0) {
		out = json_array();
		mem = json_object_get(e, "members");
		for (i = 0; i < json_array_size(mem); i++) {
			k = json_string_value(json_object_get(
			    json_array_get(mem, i), "type"));
			json_array_append_new(out,
			    resolve_type(s, k ? k : "", stack));
		}
		return json_pack("{s:o}", "alternate", out);
	}
	if (strcmp(meta, "object") != 0)
		return json_pack("{s:s}", "unknown", name);
	for (i = 0; i < json_array_size(stack); i++)
		if (strcmp(json_string_value(json_array_get(stack, i)),
		    name) == 0)
			return json_pack("{s:s}", "ref", name);
	json_array_append_new(stack, json_string(name));
	out = json_object();
	mem = json_array();
	m = json_object_get(e, "members");
	for (i = 0; i < json_array_size(m); i++) {
		json_t *one = json_array_get(m, i);

		k = json_string_value(json_object_get(one, "type"));
		t = json_pack("{s:O, s:o, s:b}", "name",
		    json_object_get(one, "name"), "type",
		    resolve_type(s, k ? k : "", stack), "optional",
		    json_object_get(one, "default") != NULL);
		json_array_append_new(mem, t);
	}
	json_object_set_new(out, "members", mem);
	vars = json_object_get(e, "variants");
	if (json_array_size(vars) > 0) {
		json_t *cases = json_object();

		for (i = 0; i < json_array_size(vars); i++) {
			json_t *one = json_array_get(vars, i);
			const char *c = json_string_value(json_object_get(one,
			    "case"));

			k = json_string_value(json_object_get(one, "type"));
			if (c != NULL)
				json_object_set_new(cases, c,
				    resolve_type(s, k ? k : "", stack));
		}
		json_object_set_new(out, "variants", json_pack("{s:O, s:o}",
		    "tag", json_object_get(e, "tag"), "cases", cases));
	}
	json_array_remove(stack, json_array_size(stack) - 1);
	return out;
}

/* Prints a resolved type: one line, or a line and indented members. */
static void
print_type(FILE *fp, json_t *t, int indent);

/* Prints the members (and variants) of a resolved object type. */
static void
print_members(FILE *fp, json_t *obj, int indent)
{
	json_t *mem = json_object_get(obj, "members"), *vars, *cases, *c;
	const char *k;
	size_t i;

	for (i = 0; i < json_array_size(mem); i++) {
		json_t *one = json_array_get(mem, i);

		fprintf(fp, "%*s%s: %s", indent, "",
		    json_string_value(json_object_get(one, "name")),
		    json_is_true(json_object_get(one, "optional")) ?
		    "optional " : "");
		print_type(fp, json_object_get(one, "type"), indent);
	}
	vars = json_object_get(obj, "variants");
	if (vars == NULL)
		return;
	cases = json_object_get(vars, "cases");
	json_object_foreach(cases, k, c) {
		fprintf(fp, "%*swhen %s is \"%s\":\n", indent, "",
		    json_string_value(json_object_get(vars, "tag")), k);
		print_members(fp, c, indent + 2);
	}
}

static void
print_type(FILE *fp, json_t *t, int indent)
{
	json_t *v;
	size_t i;

	if (json_is_string(t)) {
		fprintf(fp, "%s\n", json_string_value(t));
	} else if ((v = json_object_get(t, "enum")) != NULL) {
		fputs("enum (", fp);
		for (i = 0; i < json_array_size(v); i++)
			fprintf(fp, "%s%s", i ? ", " : "",
			    json_string_value(json_array_get(v, i)));
		fputs(")\n", fp);
	} else if ((v = json_object_get(t, "array")) != NULL) {
		fputs("array of ", fp);
		print_type(fp, v, indent);
	} else if ((v = json_object_get(t, "alternate")) != NULL) {
		fputs("one of:\n", fp);
		for (i = 0; i < json_array_size(v); i++) {
			fprintf(fp, "%*s- ", indent + 2, "");
			print_type(fp, json_array_get(v, i), indent + 4);
		}
	} else if ((v = json_object_get(t, "ref")) != NULL) {
		fputs("object (recursive: the enclosing object above)\n", fp);
	} else if ((v = json_object_get(t, "unknown")) != NULL) {
		fprintf(fp, "%s\n", json_string_value(v));
	} else if (json_array_size(json_object_get(t, "members")) == 0 &&
	    json_object_get(t, "variants") == NULL) {
		fputs("{}\n", fp);
	} else {
		fputs("object\n", fp);
		print_members(fp, t, indent + 2);
	}
}

/*
 * Describes command or event name from the server's schema.  Returns the
 * exit status.
 */
static int
describe(struct qmp *q, const char *name)
{
	struct schema s;
	json_t *reply = NULL, *list, *e, *out, *stack, *tree;
	const char *meta, *k;
	size_t i;
	int r = EX_OK;

	if ((r = query(q, "query-qmp-schema", &reply)) != EX_OK)
		return r;
	list = json_object_get(reply, "return");
	s.byname = json_object();
	for (i = 0; i < json_array_size(list); i++) {
		e = json_array_get(list, i);
		k = json_string_value(json_object_get(e, "name"));
		if (k != NULL)
			json_object_set(s.byname, k, e);
	}
	e = json_object_get(s.byname, name);
	meta = json_string_value(json_object_get(e, "meta-type"));
	if (meta == NULL || (strcmp(meta, "command") != 0 &&
	    strcmp(meta, "event") != 0)) {
		warnx_("%s: no such command or event in the server's schema",
		    name);
		json_decref(s.byname);
		json_decref(reply);
		return EX_COMMAND;
	}
	stack = json_array();
	out = json_pack("{s:s, s:s}", "name", name, "meta-type", meta);
	k = json_string_value(json_object_get(e, "arg-type"));
	json_object_set_new(out, "arguments", resolve_type(&s, k ? k : "",
	    stack));
	if (strcmp(meta, "command") == 0) {
		k = json_string_value(json_object_get(e, "ret-type"));
		json_object_set_new(out, "returns", resolve_type(&s,
		    k ? k : "", stack));
		json_object_set(out, "allow-oob", json_object_get(e,
		    "allow-oob") ? json_object_get(e, "allow-oob") :
		    json_false());
	}
	if (opt.json) {
		if (print_json(out) < 0)
			r = EX_LOCAL;
	} else {
		printf("%s %s\n", meta, name);
		tree = json_object_get(out, "arguments");
		if (json_array_size(json_object_get(tree, "members")) == 0 &&
		    json_object_get(tree, "variants") == NULL)
			printf("%s: none\n", strcmp(meta, "event") == 0 ?
			    "data" : "arguments");
		else {
			printf("%s:\n", strcmp(meta, "event") == 0 ? "data" :
			    "arguments");
			print_members(stdout, tree, 2);
		}
		if (strcmp(meta, "command") == 0) {
			printf("returns: ");
			print_type(stdout, json_object_get(out, "returns"), 0);
			if (json_is_true(json_object_get(out, "allow-oob")))
				printf("allowed out-of-band\n");
		}
		if (ferror(stdout))
			r = EX_LOCAL;
	}
	if (r == EX_LOCAL) {
		warnx_("stdout: %s", strerror(errno));
		stdout_failed = 1;
	}
	json_decref(out);
	json_decref(stack);
	json_decref(s.byname);
	json_decref(reply);
	return r;
}

/* Compares two JSON strings for qsort. */
static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Prints the names of the commands the server accepts, one a line, from
 * query-commands (guest-info's supported_commands for the agent).
 * Returns the exit status.
 */
static int
list_commands(struct qmp *q)
{
	json_t *reply = NULL, *list, *e;
	const char **names;
	size_t i, n = 0;
	int r = EX_OK;

	if ((r = query(q, opt.qga ? "guest-info" : "query-commands",
	    &reply)) != EX_OK)
		return r;
	list = json_object_get(reply, "return");
	if (opt.qga)
		list = json_object_get(list, "supported_commands");
	names = calloc(json_array_size(list) + 1, sizeof(*names));
	if (names == NULL) {
		json_decref(reply);
		warnx_("out of memory");
		return EX_LOCAL;
	}
	for (i = 0; i < json_array_size(list); i++) {
		e = json_array_get(list, i);
		if (opt.qga && json_is_false(json_object_get(e, "enabled")))
			continue;
		if (json_is_string(json_object_get(e, "name")))
			names[n++] = json_string_value(json_object_get(e,
			    "name"));
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++)
		if (printf("%s\n", names[i]) < 0)
			break;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warnx_("stdout: %s", strerror(errno));
		stdout_failed = 1;
		r = EX_LOCAL;
	}
	free(names);
	json_decref(reply);
	return r;
}

/* ---- The run --------------------------------------------------------- */

enum {
	OPT_WAIT = 256, OPT_MAX_SIZE, OPT_WAIT_EVENT, OPT_MATCH, OPT_EVENTS,
	OPT_COUNT, OPT_QGA, OPT_LISTEN, OPT_PASS_FD, OPT_HMP, OPT_OOB,
	OPT_GREETING, OPT_LIST_COMMANDS, OPT_DESCRIBE, OPT_JSON,
};

static const struct option longopts[] = {
	{ "socket",	required_argument,	NULL, 's' },
	{ "command",	required_argument,	NULL, 'c' },
	{ "args",	required_argument,	NULL, 'a' },
	{ "timeout",	required_argument,	NULL, 't' },
	{ "wait",	required_argument,	NULL, OPT_WAIT },
	{ "max-size",	required_argument,	NULL, OPT_MAX_SIZE },
	{ "pretty",	no_argument,		NULL, 'p' },
	{ "full",	no_argument,		NULL, 'f' },
	{ "raw",	no_argument,		NULL, 'r' },
	{ "keep-going",	no_argument,		NULL, 'k' },
	{ "wait-event",	required_argument,	NULL, OPT_WAIT_EVENT },
	{ "match",	required_argument,	NULL, OPT_MATCH },
	{ "events",	required_argument,	NULL, OPT_EVENTS },
	{ "count",	required_argument,	NULL, OPT_COUNT },
	{ "qga",	no_argument,		NULL, OPT_QGA },
	{ "listen",	required_argument,	NULL, OPT_LISTEN },
	{ "pass-fd",	required_argument,	NULL, OPT_PASS_FD },
	{ "hmp",	required_argument,	NULL, OPT_HMP },
	{ "oob",	no_argument,		NULL, OPT_OOB },
	{ "greeting",	no_argument,		NULL, OPT_GREETING },
	{ "list-commands", no_argument,		NULL, OPT_LIST_COMMANDS },
	{ "describe",	required_argument,	NULL, OPT_DESCRIBE },
	{ "json",	no_argument,		NULL, OPT_JSON },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL,		0,			NULL, 0 }
};

/* Returns 1 for agent commands whose success may be a silent close. */
static int
closes_on_success(const char *name)
{
	return name != NULL && (strcmp(name, "guest-shutdown") == 0 ||
	    strncmp(name, "guest-suspend-", 14) == 0);
}

/* Returns a random positive id for guest-sync-delimited. */
static long long
random_id(void)
{
	struct timespec ts;
	unsigned long long x;

	clock_gettime(CLOCK_REALTIME, &ts);
	x = (unsigned long long)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
	    (unsigned long long)getpid() << 32 ^ (unsigned long long)ts.tv_sec;
	x ^= x >> 29;
	return (long long)(x % 2000000000ULL) + 1;
}

static int pass_fds[64];
static size_t npass_fds;

/*
 * Runs cmd (stolen) and prints its result.  Returns the exit status it
 * stands for.
 */
static int
run_command(struct qmp *q, json_t *cmd, int first)
{
	enum qmp_status st;
	json_t *reply = NULL;
	char name[128];
	int r;

	snprintf(name, sizeof(name), "%s", json_string_value(
	    json_object_get(cmd, "execute")) ? json_string_value(
	    json_object_get(cmd, "execute")) : "exec-oob");
	st = qmp_execute(q, cmd, pass_fds, first ? npass_fds : 0, &reply);
	json_decref(cmd);
	if (st == QMP_ECLOSED && opt.qga && closes_on_success(name) &&
	    qmp_command_sent(q)) {
		warnx_("%s: the agent closed the connection without a reply, "
		    "as it does when this command succeeds", name);
		return EX_OK;
	}
	if (st == QMP_OK && opt.hmp != NULL &&
	    qmp_json_is_string(json_object_get(reply, "return")) && !opt.full) {
		json_t *ret = json_object_get(reply, "return");
		size_t n = json_string_length(ret);

		r = EX_OK;
		if (fwrite(json_string_value(ret), 1, n, stdout) != n ||
		    fflush(stdout) != 0) {
			warnx_("stdout: %s", strerror(errno));
			stdout_failed = 1;
			r = EX_LOCAL;
		}
	} else
		r = report(q, st, reply);
	json_decref(reply);
	return r;
}

/*
 * Waits for the awaited events after the commands.  Returns the exit
 * status: 0 once --count events were printed (or, with --count 0, at the
 * deadline or a signal), else the failure's.
 */
static int
wait_events(struct qmp *q)
{
	enum qmp_status st;
	size_t i;

	ev.live = 1;
	for (i = 0; i < json_array_size(ev.queue); i++)
		print_event(json_array_get(ev.queue, i));
	json_array_clear(ev.queue);
	while (ev.count == 0 || ev.printed < ev.count) {
		if (ev.out_failed)
			break;
		st = qmp_pump(q);
		if (st == QMP_OK)
			continue;
		if (ev.count == 0 &&
		    (st == QMP_ETIMEOUT || st == QMP_ECANCEL))
			return EX_OK;
		if (st == QMP_ETIMEOUT) {
			char names[512] = "";
			size_t j, n = 0;

			for (j = 0; ev.names[j] != NULL && n < sizeof(names);
			    j++)
				n += (size_t)snprintf(names + n,
				    sizeof(names) - n, "%s%s", j ? " or " : "",
				    ev.names[j]);
			warnx_("timed out waiting for event %s%s", names,
			    ev.nm > 0 ? " matching --match" : "");
		} else
			warnx_("%s", qmp_errmsg(q));
		return exit_code(st);
	}
	if (ev.out_failed) {
		warnx_("stdout: %s", strerror(ev.out_failed));
		stdout_failed = 1;
		return EX_LOCAL;
	}
	return EX_OK;
}

int
main(int argc, char **argv)
{
	struct qmp_addr addr;
	struct input in;
	struct qmp *q;
	enum qmp_status st;
	json_t *cmd = NULL, *args = NULL;
	const char *listen_addr = NULL;
	char err[512];
	int c, rc = EX_OK, r, first = 1, count_set = 0, closed_stdout;
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	/*
	 * With stdout closed, the socket would become descriptor 1 and the
	 * output would go to the server.  Stand a read-only /dev/null in its
	 * place, so that writes fail, and fail before anything is sent.
	 */
	for (i = 0; i < 3; i++)
		if (fcntl((int)i, F_GETFD) < 0 &&
		    open("/dev/null", i == 0 ? O_WRONLY : O_RDONLY) < 0)
			return EX_LOCAL;
	closed_stdout = (fcntl(STDOUT_FILENO, F_GETFL) & O_ACCMODE) ==
	    O_RDONLY;
	/* Hash seeds need no randomness here; skip jansson's /dev/urandom. */
	json_object_seed((size_t)getpid() * 2654435761u ^ (size_t)qmp_now_ms());
	opt.max_size = QMP_DEFAULT_MAX_SIZE;
	ev.count = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:c:a:t:pfrkhV", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 's': opt.addr = optarg; break;
		case 'c': opt.command = optarg; break;
		case 'a': opt.args = optarg; break;
		case 't': opt.timeout = parse_seconds("-t", optarg); break;
		case OPT_WAIT:
			opt.wait = parse_seconds("--wait", optarg);
			break;
		case OPT_MAX_SIZE:
			opt.max_size = parse_size("--max-size", optarg);
			break;
		case 'p': opt.pretty = 1; break;
		case 'f': opt.full = 1; break;
		case 'r': opt.raw = 1; break;
		case 'k': opt.keep_going = 1; break;
		case OPT_WAIT_EVENT: set_wait_events(optarg); break;
		case OPT_MATCH: add_match(optarg); break;
		case OPT_EVENTS: ev.logname = optarg; break;
		case OPT_COUNT:
			ev.count = parse_long("--count", optarg, 0, LONG_MAX);
			count_set = 1;
			break;
		case OPT_QGA: opt.qga = 1; break;
		case OPT_LISTEN: listen_addr = optarg; break;
		case OPT_PASS_FD:
			if (npass_fds == sizeof(pass_fds) / sizeof(pass_fds[0]))
				usage_error("--pass-fd: at most %zu descriptors",
				    npass_fds);
			pass_fds[npass_fds++] = (int)parse_long("--pass-fd",
			    optarg, 0, INT_MAX);
			break;
		case OPT_HMP: opt.hmp = optarg; break;
		case OPT_OOB: opt.oob = 1; break;
		case OPT_GREETING: opt.greeting = 1; break;
		case OPT_LIST_COMMANDS: opt.list_commands = 1; break;
		case OPT_DESCRIBE: opt.describe = optarg; break;
		case OPT_JSON: opt.json = 1; break;
		case 'h':
			usage(stdout);
			return finish_stdout() == 0 ? EX_OK : EX_LOCAL;
		case 'V':
			printf("qmpctl %s\n", QMPCTL_VERSION);
			return finish_stdout() == 0 ? EX_OK : EX_LOCAL;
		case ':':
			usage_error("option %s needs a value",
			    argv[optind - 1]);
			break;
		default:
			if (optopt != 0)
				usage_error("unknown option -%c", optopt);
			usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (opt.timeout > 0)
		deadline = qmp_now_ms() + to_ms(opt.timeout);
	if (optind < argc && opt.command == NULL)
		usage_error("operand '%s' needs -c NAME", argv[optind]);

	/* Everything the user gave is checked before anything is sent. */
	if (listen_addr != NULL && opt.addr != NULL)
		usage_error("-s and --listen exclude each other");
	if (listen_addr != NULL)
		opt.addr = listen_addr;
	if (opt.addr == NULL)
		opt.addr = getenv("QMP_SOCKET");
	if (opt.addr == NULL || *opt.addr == '\0')
		usage_error("no server address: give -s ADDR or set "
		    "QMP_SOCKET");
	if (qmp_parse_address(opt.addr, &addr, err, sizeof(err)) != QMP_OK)
		usage_error("%s", err);
	if (listen_addr != NULL && addr.kind == QMP_ADDR_VSOCK)
		usage_error("--listen: vsock addresses cannot be listened on");
	if (listen_addr != NULL && opt.wait > 0)
		usage_error("--wait and --listen exclude each other");
	if (opt.args != NULL && opt.command == NULL)
		usage_error("-a needs -c NAME");
	if (opt.hmp != NULL && opt.command != NULL)
		usage_error("--hmp and -c exclude each other");
	if (opt.full && opt.raw)
		usage_error("--full and --raw exclude each other");
	if ((opt.list_commands || opt.describe != NULL) &&
	    (opt.command != NULL || opt.hmp != NULL || ev.names != NULL))
		usage_error("--list-commands and --describe exclude -c, --hmp "
		    "and --wait-event");
	if (opt.list_commands && opt.describe != NULL)
		usage_error("--list-commands and --describe exclude each other");
	if (opt.json && opt.describe == NULL)
		usage_error("--json goes with --describe");
	if (opt.qga && (opt.oob || opt.greeting))
		usage_error("the guest agent has no greeting and no oob: "
		    "--qga excludes --oob and --greeting");
	if (opt.qga && opt.hmp != NULL)
		usage_error("the guest agent has no human monitor: --qga "
		    "excludes --hmp");
	if (ev.nm > 0 && ev.names == NULL)
		usage_error("--match needs --wait-event");
	if (count_set && ev.names == NULL)
		usage_error("--count needs --wait-event");
	if (npass_fds > 0 && addr.kind != QMP_ADDR_UNIX)
		usage_error("--pass-fd works on unix sockets only");
	for (i = 0; i < npass_fds; i++)
		if (fcntl(pass_fds[i], F_GETFD) < 0) {
			warnx_("--pass-fd %d: %s", pass_fds[i],
			    strerror(errno));
			return EX_LOCAL;
		}
	setup_signals();
	if (closed_stdout) {
		warnx_("stdout: %s", strerror(EBADF));
		return EX_LOCAL;
	}
	if ((ev.queue = json_array()) == NULL) {
		warnx_("out of memory");
		return EX_LOCAL;
	}

	qmp_framer_init(&in.fr, opt.max_size);
	in.eof = 0;
	in.count = 0;
	if (opt.command != NULL || opt.hmp != NULL) {
		if (opt.args != NULL)
			args = load_args(opt.args);
		if (optind < argc)
			args = operand_args(argc - optind, argv + optind, args);
		if (opt.hmp != NULL)
			args = json_pack("{s:s}", "command-line", opt.hmp);
		else if (*opt.command == '\0')
			usage_error("-c: empty command name");
		cmd = json_pack("{s:s}", opt.oob ? "exec-oob" : "execute",
		    opt.hmp != NULL ? "human-monitor-command" : opt.command);
		if (cmd == NULL || (args != NULL &&
		    json_object_set_new(cmd, "arguments", args) < 0)) {
			warnx_("out of memory");
			return EX_LOCAL;
		}
	} else if (ev.names == NULL && !opt.greeting && !opt.list_commands &&
	    opt.describe == NULL && (cmd = next_command(&in)) == NULL)
		usage_error("no command: give -c NAME, or a QMP command "
		    "object on stdin");

	if (ev.logname != NULL) {
		if (strcmp(ev.logname, "-") == 0)
			ev.log = stderr;
		else if ((ev.log = fopen(ev.logname, "we")) == NULL) {
			warnx_("%s: %s", ev.logname, strerror(errno));
			json_decref(cmd);
			qmp_framer_free(&in.fr);
			json_decref(ev.queue);
			return EX_LOCAL;
		}
	}
	if ((q = qmp_new()) == NULL) {
		warnx_("out of memory");
		json_decref(cmd);
		return EX_LOCAL;
	}
	qmp_set_deadline(q, deadline);
	qmp_set_max_size(q, opt.max_size);
	qmp_set_cancel_fd(q, sigpipe_fds[0]);
	qmp_set_cancel_flag(q, &caught_signal);
	qmp_set_event_handler(q, on_event, NULL);

	if (listen_addr != NULL)
		st = qmp_listen(q, &addr);
	else
		st = qmp_connect(q, &addr, to_ms(opt.wait));
	if (st == QMP_OK && opt.qga)
		st = qmp_sync_agent(q, random_id());
	else if (st == QMP_OK)
		st = qmp_handshake(q, opt.oob ? QMP_NEGOTIATE_OOB : 0);
	if (st != QMP_OK) {
		warnx_("%s", qmp_errmsg(q));
		rc = exit_code(st);
		json_decref(cmd);
		goto out;
	}
	if (opt.greeting && (print_json(qmp_greeting(q)) < 0 ||
	    fflush(stdout) != 0)) {
		warnx_("stdout: %s", strerror(errno));
		stdout_failed = 1;
		rc = EX_LOCAL;
		json_decref(cmd);
		cmd = NULL;
	}
	if (rc == EX_OK && opt.list_commands)
		rc = list_commands(q);
	if (rc == EX_OK && opt.describe != NULL)
		rc = describe(q, opt.describe);
	while (cmd != NULL) {
		r = run_command(q, cmd, first);
		first = 0;
		if (r != EX_OK && rc == EX_OK)
			rc = r;
		if (r != EX_OK && (!opt.keep_going || r != EX_COMMAND))
			break;
		cmd = opt.command != NULL || opt.hmp != NULL ? NULL :
		    next_command(&in);
	}
	if (rc == EX_OK && ev.names != NULL)
		rc = wait_events(q);
out:
	qmp_free(q);
	qmp_framer_free(&in.fr);
	json_decref(ev.queue);
	if (ev.log != NULL && ev.log != stderr && fclose(ev.log) != 0 &&
	    !ev.log_failed)
		ev.log_failed = errno;
	if (ev.log_failed) {
		warnx_("%s: %s", ev.logname, strerror(ev.log_failed));
		if (rc == EX_OK)
			rc = EX_LOCAL;
	}
	if (finish_stdout() != 0 && !stdout_failed) {
		warnx_("stdout: %s", strerror(errno));
		return EX_LOCAL;
	}
	return rc;
}
