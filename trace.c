/* SPDX-License-Identifier: MIT */
/*
 * trace.c: --trace FILE (or $QMPCTL_TRACE): every message in either
 * direction, one JSON object a line, written as it happens:
 *
 *   {"time": 1796058144.485354, "dir": "send", "msg": {...}}
 *   {"time": 1796058144.485360, "dir": "recv", "raw": "\u00ff"}
 *
 * "msg" holds a whole message, compact; "raw" holds bytes that were not
 * one (the agent's 0xFF, stale or malformed bytes), a character a byte
 * (U+0000 to U+00FF), so that any bytes make a valid JSON string.
 * "fds" counts descriptors passed with a message.  The trace never
 * changes what qmpctl does: a failure to write it is said once, when it
 * happens; only a trace that holds the run to -t's deadline (a reader
 * that stopped reading) ends it with status 8.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "qmp_json.h"
#include "qmpctl.h"

/* Writes the bytes as a JSON string, one character a byte. */
static void
write_raw(FILE *fp, const char *bytes, size_t n)
{
	const unsigned char *b = (const unsigned char *)bytes;
	size_t i;

	putc('"', fp);
	for (i = 0; i < n; i++) {
		if (b[i] == '"' || b[i] == '\\')
			fprintf(fp, "\\%c", b[i]);
		else if (b[i] >= 0x20 && b[i] < 0x7f)
			putc(b[i], fp);
		else
			fprintf(fp, "\\u%04x", b[i]);
	}
	putc('"', fp);
}

/*
 * Writes one trace line, whole, in one write(2) where the file takes it
 * so (a regular file: with $QMPCTL_TRACE's O_APPEND, parallel runs
 * interleave whole lines only).  A failure is said once, at once; it
 * changes the exit status only at -t's deadline (see close_trace).
 */
static void
put_line(struct run *r, const char *line, size_t n)
{
	if (io_write_all(r, r->trace_fd, line, n) == 0)
		return;
	r->trace_errno = errno ? errno : EIO;
	if (r->trace_errno == EINTR && qmpctl_signal)
		return;		/* the signal is the run's end */
	if (r->trace_errno == ETIMEDOUT)
		say("%s: timed out writing the trace", r->o->trace);
	else
		say("%s: %s (the trace stops here; the run goes on)",
		    r->o->trace, strerror(r->trace_errno));
}

/* The trace handler: one line for what went over the wire. */
void
on_trace(void *ctx, int dir, int is_msg, const char *bytes, size_t len,
    size_t nfds)
{
	struct run *r = ctx;
	struct timespec ts;
	json_t *msg = NULL;
	char *line = NULL;
	size_t n = 0;
	FILE *fp;

	if (r->trace_fd < 0 || r->trace_errno != 0)
		return;
	if ((fp = open_memstream(&line, &n)) == NULL) {
		r->trace_errno = errno ? errno : ENOMEM;
		say("%s: %s (the trace stops here; the run goes on)",
		    r->o->trace, strerror(r->trace_errno));
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	if (is_msg)
		msg = qmp_json_loadb(bytes, len, QMP_JSON_DECODE_ANY, NULL);
	fprintf(fp, "{\"time\":%lld.%06ld,\"dir\":\"%s\",",
	    (long long)ts.tv_sec, ts.tv_nsec / 1000,
	    dir == QMP_TRACE_SEND ? "send" : "recv");
	if (msg != NULL) {
		fputs("\"msg\":", fp);
		qmp_json_write(fp, msg, 0);
		json_decref(msg);
	} else {
		fputs("\"raw\":", fp);
		write_raw(fp, bytes, len);
	}
	if (nfds > 0)
		fprintf(fp, ",\"fds\":%zu", nfds);
	fputs("}\n", fp);
	if (fclose(fp) == 0)
		put_line(r, line, n);
	free(line);
}

/*
 * Opens the trace that --trace or $QMPCTL_TRACE names (- for stderr; an
 * empty $QMPCTL_TRACE is none): --trace empties a file, $QMPCTL_TRACE
 * appends to it.  Returns QX_OK, or the status after a message.
 */
int
open_trace(struct run *r)
{
	const char *name = r->o->trace;

	r->trace_fd = -1;
	if (name == NULL || *name == '\0')
		return QX_OK;
	if (strcmp(name, "-") == 0) {
		r->trace_fd = STDERR_FILENO;
		return QX_OK;
	}
	return open_output(r, name, r->o->trace_append, &r->trace_fd);
}

/*
 * Closes the trace.  Returns QX_TIMEOUT when writing it met -t's
 * deadline (said already), else QX_OK: any other failure was said and
 * changes nothing else.
 */
int
close_trace(struct run *r)
{
	if (r->trace_fd > STDERR_FILENO && close(r->trace_fd) != 0 &&
	    r->trace_errno == 0) {
		r->trace_errno = errno;
		say("%s: %s", r->o->trace, strerror(errno));
	}
	r->trace_fd = -1;
	return r->trace_errno == ETIMEDOUT ? QX_TIMEOUT : QX_OK;
}
