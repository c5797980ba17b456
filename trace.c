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
 * changes what qmpctl does: a failure to write it is said once, at the
 * end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* The trace handler: one line for what went over the wire. */
void
on_trace(void *ctx, int dir, int is_msg, const char *bytes, size_t len,
    size_t nfds)
{
	struct run *r = ctx;
	struct timespec ts;
	json_t *msg = NULL;
	FILE *fp = r->trace;

	if (fp == NULL || r->trace_errno != 0)
		return;
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
	if (fflush(fp) != 0 || ferror(fp))
		r->trace_errno = errno ? errno : EIO;
}

/*
 * Opens the trace that --trace or $QMPCTL_TRACE names (- for stderr; an
 * empty $QMPCTL_TRACE is none).  Returns QX_OK, or the status after a
 * message.
 */
int
open_trace(struct run *r)
{
	if (r->o->trace != NULL && *r->o->trace == '\0')
		return QX_OK;
	return open_stream(r, r->o->trace, &r->trace);
}

/* Closes the trace.  Returns 0, or -1 after saying why it failed. */
int
close_trace(struct run *r)
{
	if (r->trace != NULL && r->trace != stderr && fclose(r->trace) != 0 &&
	    r->trace_errno == 0)
		r->trace_errno = errno;
	r->trace = NULL;
	if (r->trace_errno == 0 || (r->trace_errno == EINTR && qmpctl_signal))
		return 0;
	say("%s: %s", r->o->trace, strerror(r->trace_errno));
	return -1;
}
