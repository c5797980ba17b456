/* SPDX-License-Identifier: MIT */
/*
 * output.c: what qmpctl writes.  Results go to stdout as JSON; every
 * failure is one line on stderr; the exit status says which kind.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
 * Makes buf safe for one line of a terminal: control characters (C0,
 * DEL and the 8-bit C1 set, U+0080 to U+009F) and bytes that are not
 * UTF-8 become spaces, and a character cut by the end of the buffer is
 * dropped whole.
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
		if (i < n) {
			if (p[i] == '\0') {
				*p = '\0';	/* cut in the middle */
				return;
			}
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
		say("hint: another client may hold the monitor: QEMU serves "
		    "one at a time");
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
		return 128 + (qmpctl_signal ? qmpctl_signal : SIGINT);
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
	if (qmpctl_signal) {
		/* A signal came while a slow reader held stdout. */
		if (!r->stdout_done)
			say("stdout: interrupted writing");
		r->stdout_done = 128 + qmpctl_signal;
		return r->stdout_done;
	}
	if (err == EPIPE) {
		r->stdout_done = QX_PIPE;
		return QX_PIPE;
	}
	if (!r->stdout_done)
		say("stdout: %s", strerror(err ? err : EIO));
	r->stdout_done = QX_LOCAL;
	return QX_LOCAL;
}

/* Returns 0 after writing v as one JSON text and a newline, -1 on error. */
int
print_json(const struct options *o, json_t *v)
{
	if (o->raw && qmp_json_is_string(v)) {
		size_t n = json_string_length(v);

		if (fwrite(qmp_json_string(v), 1, n, stdout) != n)
			return -1;
	} else if (qmp_json_write(stdout, v, o->pretty) < 0)
		return -1;
	if (putchar('\n') == EOF || fflush(stdout) != 0)
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
	const char *eq;

	if (op == NULL)
		return;
	eq = strchr(op, '=');
	say("hint: KEY=VALUE sends a string; for a JSON value write %.*s:=%s",
	    (int)(eq - op), op, eq + 1);
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
	if (print_json(r->o, out) < 0)
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
	int bad = fflush(stdout) != 0 || ferror(stdout);
	int e = errno;

	if (fclose(stdout) != 0 && !bad) {
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
 * Opens path for writing (created, emptied) without blocking in open(2),
 * which waits for a reader when path is a FIFO: while it has none, tries
 * again after a growing pause, within the deadline and until a signal.
 * Returns the descriptor (blocking), or -1 with errno set (ETIMEDOUT for
 * the deadline, EINTR for a signal).
 */
int
open_output(const struct run *r, const char *path)
{
	int fd, ms = 1;

	for (;;) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		    O_NONBLOCK, 0666);
		if (fd >= 0) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			return fd;
		}
		if (errno != ENXIO)
			return -1;
		if (r->deadline != 0 && qmp_now_ms() >= r->deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		/* Sleeps, but wakes at once on a signal (the pipe). */
		poll(&(struct pollfd){ r->cancel_fd, POLLIN, 0 }, 1, ms);
		if (qmpctl_signal) {
			errno = EINTR;
			return -1;
		}
		ms = ms < 100 ? ms * 2 : 100;
	}
}

/* A stream whose writes give way to signals: see signal_stream. */
struct sigstream {
	int fd;
	int cancel_fd;		/* readable once a signal came */
	int owns_fd;		/* close fd with the stream */
};

/*
 * Writes all of buf to the stream's descriptor.  A write blocked by a
 * reader that does not read is cut short by a signal (no SA_RESTART), but
 * stdio would write the rest again and block again: this gives up
 * instead, with EINTR, once a signal came.  Returns n, or on failure the
 * bytes written before it, fewer than n, with errno set: never -1, which
 * glibc's large-write path takes for a huge count and reads past the
 * caller's buffer with.
 */
static ssize_t
sigstream_write(void *cookie, const char *buf, size_t n)
{
	const struct sigstream *ss = cookie;
	struct pollfd pfd[2] = {
		{ ss->fd, POLLOUT, 0 }, { ss->cancel_fd, POLLIN, 0 } };
	size_t done = 0;
	ssize_t w;

	while (done < n) {
		if (qmpctl_signal) {
			errno = EINTR;
			return (ssize_t)done;
		}
		w = write(ss->fd, buf + done, n - done);
		if (w > 0) {
			done += (size_t)w;
			continue;
		}
		if (w == 0)
			errno = EIO;
		if (w == 0 || (errno != EINTR && errno != EAGAIN))
			return (ssize_t)done;
		if (errno == EAGAIN && poll(pfd, 2, -1) < 0 && errno != EINTR)
			return (ssize_t)done;
	}
	return (ssize_t)n;
}

/*
 * Closes the stream.  One that owns its descriptor (a file's) closes it
 * and frees its state; stdout's state is static and its descriptor stays.
 * Returns 0, or -1 when close failed.
 */
static int
sigstream_close(void *cookie)
{
	struct sigstream *ss = cookie;
	int r = 0;

	if (ss->owns_fd) {
		r = close(ss->fd);
		free(ss);
	}
	return r;
}

/* Returns a stream on the state ss (see signal_stream), or NULL. */
static FILE *
open_sigstream(struct sigstream *ss)
{
	static const cookie_io_functions_t io = {
		.write = sigstream_write, .close = sigstream_close,
	};
	FILE *fp = fopencookie(ss, "w", io);

	if (fp != NULL)
		setvbuf(fp, NULL, _IOFBF, 1 << 16);
	return fp;
}

/*
 * Returns a stream writing to fd, a file it owns (fclose closes fd), whose
 * writes a signal can end (see sigstream_write); or NULL with errno set.
 */
FILE *
signal_stream(int fd, int cancel_fd)
{
	struct sigstream *ss = malloc(sizeof(*ss));
	FILE *fp;

	if (ss == NULL)
		return NULL;
	ss->fd = fd;
	ss->cancel_fd = cancel_fd;
	ss->owns_fd = 1;
	if ((fp = open_sigstream(ss)) == NULL)
		free(ss);
	return fp;
}

/*
 * Puts stdout on a signal stream, so that a signal ends a write that a
 * slow reader blocks.  Its state lives as long as the process.
 */
void
setup_stdout(int cancel_fd)
{
	static struct sigstream out;
	FILE *fp;

	fflush(stdout);
	out.fd = STDOUT_FILENO;
	out.cancel_fd = cancel_fd;
	out.owns_fd = 0;
	if ((fp = open_sigstream(&out)) != NULL)
		stdout = fp;	/* else plain stdout works, but for this case */
}

/*
 * Opens *fp for the file name names (--events, --trace): none for NULL,
 * stderr for "-", else the file (a FIFO waits for its reader within the
 * deadline) as a signal stream.  Returns QX_OK, or after a message
 * QX_TIMEOUT, 128+N on a signal, or QX_LOCAL.
 */
int
open_stream(const struct run *r, const char *name, FILE **fp)
{
	int fd;

	*fp = NULL;
	if (name == NULL)
		return QX_OK;
	if (strcmp(name, "-") == 0) {
		*fp = stderr;
		return QX_OK;
	}
	fd = open_output(r, name);
	if (fd >= 0 && (*fp = signal_stream(fd, r->cancel_fd)) != NULL)
		return QX_OK;
	if (fd >= 0)
		close(fd);
	if (qmpctl_signal) {
		say("%s: interrupted waiting for a reader", name);
		return 128 + qmpctl_signal;
	}
	if (errno == ETIMEDOUT) {
		say("%s: timed out waiting for a reader", name);
		return QX_TIMEOUT;
	}
	say("%s: %s", name, strerror(errno));
	return QX_LOCAL;
}
