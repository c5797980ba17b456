/* SPDX-License-Identifier: MIT */
/*
 * output.c: what qmpctl writes.  Results go to stdout as JSON; every
 * failure is one line on stderr; the exit status says which kind.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "qmp_json.h"
#include "qmpctl.h"

/*
 * Returns 1 when the second byte b of a sequence led by lead keeps it
 * valid UTF-8: not overlong (E0 80-9F, F0 80-8F), not a surrogate
 * (ED A0-BF), not past U+10FFFF (F4 90-BF).
 */
static int
second_ok(unsigned char lead, unsigned char b)
{
	return !(lead == 0xe0 && b < 0xa0) && !(lead == 0xed && b >= 0xa0) &&
	    !(lead == 0xf0 && b < 0x90) && !(lead == 0xf4 && b >= 0x90);
}

/*
 * Makes buf safe for one line of a terminal: control characters (C0,
 * DEL and the 8-bit C1 set, U+0080 to U+009F) and bytes that are not
 * UTF-8 (overlong forms, surrogates and code points past U+10FFFF
 * included) become spaces, and a character cut by the end of the buffer
 * is dropped whole.
 */
static void
one_line(char *buf)
{
	unsigned char *p = (unsigned char *)buf;
	size_t n, i;

	for (; *p != '\0'; p += n) {
		n = *p < 0x80 ? 1 : *p >= 0xf0 && *p < 0xf5 ? 4 :
		    *p >= 0xe0 ? 3 : *p >= 0xc2 ? 2 : 0;
		if (n == 0 || *p >= 0xf5) {
			*p = ' ';
			n = 1;
			continue;
		}
		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				break;
		if (i < n && p[i] == '\0') {
			*p = '\0';	/* cut in the middle */
			return;
		}
		if (i < n || !second_ok(p[0], p[1])) {
			*p = ' ';
			n = 1;
			continue;
		}
		if (n == 1 && (*p < 0x20 || *p == 0x7f))
			*p = ' ';
		else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			p[0] = p[1] = ' ';
	}
}

/*
 * Prints "qmpctl: MESSAGE" on one line of stderr.  warnx(3) would do but
 * for two things: it names the program as invoked (qmpctl-asan in the
 * tests), and the message often quotes the server, which must not reach
 * the terminal with its control characters.
 */
void
say(const char *fmt, ...)
{
	va_list ap;
	char buf[2048];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	one_line(buf);
	fprintf(stderr, "qmpctl: %s\n", buf);
}

/* Says a usage error, pointing to --help.  Returns its status, 2. */
static int say_usage(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

static int
say_usage(const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	say("%s (see --help)", buf);
	return QX_USAGE;
}

/* Reports a usage error.  Returns its status, 2. */
int
usage_failure(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = say_usage(fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * Reports the last failure of the connection, with a hint where the
 * library knows more of the cause.
 */
void
say_failure(const struct run *r)
{
	switch (qmp_cause(r->q)) {
	case QMP_CAUSE_SIZE_LIMIT:
		say("%s (see --max-size)", qmp_errmsg(r->q));
		break;
	case QMP_CAUSE_MONITOR:
		say("%s (drop --qga)", qmp_errmsg(r->q));
		break;
	case QMP_CAUSE_AGENT_SILENT:
		say("%s: is qemu-ga running in the guest?", qmp_errmsg(r->q));
		break;
	case QMP_CAUSE_NO_GREETING:
		say("%s", qmp_errmsg(r->q));
		say("hint: the guest agent never greets (add --qga); a QEMU "
		    "monitor does not while another client holds it (QEMU "
		    "serves one at a time)");
		break;
	default:
		say("%s", qmp_errmsg(r->q));
	}
}

/* Does not return: reports a usage error and exits with status 2. */
void
usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say_usage(fmt, ap);
	va_end(ap);
	exit(QX_USAGE);
}

/* Returns p, or exits with the local-failure status when it is NULL. */
void *
must(void *p)
{
	if (p == NULL) {
		say("out of memory");
		exit(QX_LOCAL);
	}
	return p;
}

/* Returns the exit status for a status of the protocol library. */
int
exit_status(enum qmp_status st)
{
	switch (st) {
	case QMP_OK:		return QX_OK;
	case QMP_ECOMMAND:	return QX_COMMAND;
	case QMP_EUSAGE:	return QX_USAGE;
	case QMP_ECONNECT:	return QX_CONNECT;
	case QMP_EGREETING:	return QX_GREETING;
	case QMP_ENEGOTIATE:	return QX_NEGOTIATE;
	case QMP_ECLOSED:	return QX_CLOSED;
	case QMP_EPROTO:	return QX_PROTO;
	case QMP_ETIMEOUT:	return QX_TIMEOUT;
	case QMP_ELOCAL:	return QX_LOCAL;
	case QMP_EMISUSE:	return QX_LOCAL;	/* internal: a bug */
	case QMP_ECANCEL:
		return io_signal_status();
	}
	return QX_LOCAL;
}

/*
 * Reports that writing to stdout failed with err, once.  A reader that
 * left the pipe (| head -1) is no failure worth a message: that ends the
 * run quietly with QX_PIPE.  Returns the exit status.
 */
int
stdout_failed(struct run *r, int err)
{
	if (r->stdout_done)
		return r->stdout_done;
	if (err == EPIPE && !qmpctl_signal)
		r->stdout_done = QX_PIPE;
	else	/* a signal that came while a slow reader held stdout wins */
		r->stdout_done = io_failure("stdout", qmpctl_signal ? EINTR :
		    err, IO_WRITE, QX_LOCAL);
	return r->stdout_done;
}

/* Returns 0 after writing v as one JSON text and a newline, -1 on error. */
int
print_json(const struct run *r, json_t *v)
{
	FILE *out = r->out;

	if (r->o->raw && qmp_json_is_string(v)) {
		size_t n = json_string_length(v);

		if (fwrite(qmp_json_string(v), 1, n, out) != n)
			return -1;
	} else if (qmp_json_write(out, v, r->o->pretty) < 0)
		return -1;
	if (putc('\n', out) == EOF || fflush(out) != 0)
		return -1;
	return 0;
}

/*
 * Returns the operand KEY=VALUE (a string) whose key the server's error
 * desc names as of the wrong type, or NULL.  QEMU says "Invalid
 * parameter type for 'K', expected: boolean" (or integer, number); K may
 * be the operand's whole dotted key or its last part.
 */
static const char *
string_operand_named(const struct options *o, const char *desc)
{
	static const char pre[] = "Invalid parameter type for '";
	const char *k, *q, *eq, *dot;
	size_t n;
	int i;

	if (strncmp(desc, pre, sizeof(pre) - 1) != 0)
		return NULL;
	k = desc + sizeof(pre) - 1;
	if ((q = strstr(k, "', expected: ")) == NULL ||
	    (strcmp(q + 13, "boolean") != 0 && strcmp(q + 13, "integer") != 0 &&
	    strcmp(q + 13, "number") != 0))
		return NULL;
	n = (size_t)(q - k);
	for (i = 0; i < o->noperands; i++) {
		eq = strchr(o->operands[i], '=');
		if (eq == NULL || (eq > o->operands[i] && eq[-1] == ':'))
			continue;	/* KEY:=JSON is typed already */
		dot = memrchr(o->operands[i], '.', (size_t)(eq - o->operands[i]));
		dot = dot != NULL ? dot + 1 : o->operands[i];
		if (((size_t)(eq - o->operands[i]) == n &&
		    memcmp(o->operands[i], k, n) == 0) ||
		    ((size_t)(eq - dot) == n && memcmp(dot, k, n) == 0))
			return o->operands[i];
	}
	return NULL;
}

/* Says, after a command error, what the user may have meant. */
static void
hint_for_error(const struct options *o, json_t *error)
{
	const char *desc = qmp_json_string(json_object_get(error, "desc"));
	const char *op = desc != NULL ? string_operand_named(o, desc) : NULL;
	int boolean = desc != NULL && strstr(desc, "expected: boolean") != NULL;
	const char *eq;
	json_t *v;

	if (op == NULL)
		return;
	eq = strchr(op, '=');
	/* The value as given only when it is JSON of the type expected. */
	v = qmp_json_loadb(eq + 1, strlen(eq + 1), QMP_JSON_DECODE_ANY, NULL);
	if (boolean ? json_is_boolean(v) : qmp_json_is_number(v))
		say("hint: KEY=VALUE sends a string; for a JSON value write "
		    "%.*s:=%s", (int)(eq - op), op, eq + 1);
	else if (boolean)
		say("hint: KEY=VALUE sends a string; for a boolean write "
		    "%.*s:=true or %.*s:=false", (int)(eq - op), op,
		    (int)(eq - op), op);
	else
		say("hint: KEY=VALUE sends a string; for a number write "
		    "%.*s:=N with N a JSON number, such as %.*s:=1",
		    (int)(eq - op), op, (int)(eq - op), op);
	json_decref(v);
}

/*
 * Prints the result of one command: its return value or its error
 * object on stdout, and for an error a line on stderr.  Returns the exit
 * status it stands for.
 */
int
print_reply(struct run *r, enum qmp_status st, json_t *reply)
{
	json_t *out;

	if (st != QMP_OK && st != QMP_ECOMMAND) {
		say_failure(r);
		return exit_status(st);
	}
	out = r->o->full ? reply : json_object_get(reply,
	    st == QMP_OK ? "return" : "error");
	if (print_json(r, out) < 0)
		return stdout_failed(r, errno);
	if (st == QMP_ECOMMAND) {
		say("%s", qmp_errmsg(r->q));
		hint_for_error(r->o, json_object_get(reply, "error"));
	}
	return exit_status(st);
}

/*
 * Flushes and closes stdout.  Returns rc, or the stdout failure's status
 * when rc is 0 and something did not reach stdout.
 */
int
finish_stdout(struct run *r, int rc)
{
	int bad = fflush(r->out) != 0 || ferror(r->out);
	int e = errno;

	if (fclose(r->out) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (r->stdout_done)
		return rc != QX_OK ? rc : r->stdout_done;
	if (bad) {
		int x = stdout_failed(r, e);

		return rc != QX_OK ? rc : x;
	}
	return rc;
}

/*
 * Puts stdout on an I/O stream (io_stream) in r->out, so that a reader
 * that stops reading holds qmpctl no longer than -t or a signal.
 */
void
setup_stdout(struct run *r)
{
	fflush(stdout);
	r->out = io_stream(r, STDOUT_FILENO, 0);
	if (r->out == NULL)
		r->out = stdout;	/* works, but for a stalled reader */
}

/*
 * Returns NULL when the file open_output opened as fd may be written, or
 * why not: it must be a FIFO, a character device (/dev/null), or a
 * regular file with no other link; a FIFO or a regular file must be the
 * caller's (not one another user put at a guessable path).
 */
static const char *
refuse_output(int fd)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return strerror(errno);
	if (S_ISCHR(sb.st_mode))
		return NULL;
	if (!S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode))
		return S_ISSOCK(sb.st_mode) ? "a socket, not a file or a FIFO" :
		    "not a regular file, a FIFO or a character device";
	if (sb.st_uid != geteuid())
		return "owned by another user: refused";
	if (S_ISREG(sb.st_mode) && sb.st_nlink > 1)
		return "a file with other hard links: refused";
	return NULL;
}

/*
 * Opens path for writing (--events, --trace, $QMPCTL_TRACE) without
 * following a symbolic link and without blocking in open(2), which waits
 * for a reader when path is a FIFO: while it has none, tries again after
 * a growing pause, within the deadline and until a signal.  A new file
 * gets mode 0600 whatever the umask; an existing one must pass
 * refuse_output, and a regular file is emptied unless append (O_APPEND).
 * Returns QX_OK with *fd set (O_NONBLOCK: write it with io_write_all),
 * or the status after a message.
 */
int
open_output(const struct run *r, const char *path, int append, int *fd)
{
	int fl = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
	    (append ? O_APPEND : 0), ms = 1, rc;
	const char *why;
	struct stat sb;

	for (;;) {
		memset(&sb, 0, sizeof(sb));
		if ((*fd = open(path, fl | O_CREAT | O_EXCL, 0600)) >= 0) {
			fchmod(*fd, 0600);
			return QX_OK;
		}
		if (errno == EEXIST)
			*fd = open(path, fl);
		if (*fd >= 0)
			break;
		if (errno == ELOOP) {
			say("%s: a symbolic link: not followed", path);
			return QX_LOCAL;
		}
		if (errno != ENXIO)
			return io_failure(path, errno, IO_OPEN, QX_LOCAL);
		/* ENXIO: a FIFO without a reader, a socket, or a device. */
		if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode)) {
			say("%s: a socket, not a file or a FIFO", path);
			return QX_LOCAL;
		} else if (!S_ISFIFO(sb.st_mode))	/* or gone: sb is 0 */
			return io_failure(path, ENXIO, IO_OPEN, QX_LOCAL);
		if ((rc = io_pause(r, ms)) != QX_OK)
			return io_failure(path, rc == QX_TIMEOUT ? ETIMEDOUT :
			    EINTR, IO_OPEN, QX_LOCAL);
		ms = ms < 100 ? ms * 2 : 100;
	}
	if ((why = refuse_output(*fd)) != NULL ||
	    (!append && fstat(*fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    ftruncate(*fd, 0) < 0 && (why = strerror(errno)) != NULL)) {
		say("%s: %s", path, why);
		close(*fd);
		*fd = -1;
		return QX_LOCAL;
	}
	return QX_OK;
}

/*
 * Opens *fp for the file name names (--events): none for NULL, stderr
 * for "-", else the file as open_output opens it, on an io_stream.
 * Returns QX_OK, or after a message QX_TIMEOUT, 128+N on a signal, or
 * QX_LOCAL.
 */
int
open_stream(const struct run *r, const char *name, FILE **fp)
{
	int fd, rc;

	*fp = NULL;
	if (name == NULL)
		return QX_OK;
	if (strcmp(name, "-") == 0) {
		*fp = stderr;
		return QX_OK;
	}
	if ((rc = open_output(r, name, 0, &fd)) != QX_OK)
		return rc;
	if ((*fp = io_stream(r, fd, 1)) != NULL)
		return QX_OK;
	say("%s: %s", name, strerror(errno));
	close(fd);
	return QX_LOCAL;
}
