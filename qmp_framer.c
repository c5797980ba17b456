/* SPDX-License-Identifier: MIT */
/*
 * qmp_framer.c: bytes in, complete top-level JSON objects out, in one
 * linear pass (see qmp_framer.h).  Parsing the objects is qmp_json.c's.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qmp_framer.h"
#include "qmp_json.h"

struct qmp_framer {
	char *buf;
	size_t cap;		/* allocated bytes */
	size_t len;		/* bytes held */
	size_t start;		/* where the message being scanned starts */
	size_t scan;		/* next byte to look at */
	size_t max;		/* largest message accepted */
	size_t limit;		/* largest allocation, max + 1 */
	int depth;		/* nesting inside the current message */
	int in_str, esc;
	int skip_to_ff;		/* discard bytes through the next 0xFF */
	int ff_is_space;	/* 0xFF between messages is skipped (agent) */
	int handed;		/* a message was handed out and is consumed next */
	qmp_skip_fn *on_skip;	/* told of every byte dropped */
	void *skip_ctx;
	const char *why;	/* static text describing the last error */
	unsigned char bad;	/* the offending byte, for errors */
};

struct qmp_framer *
qmp_framer_new(size_t max)
{
	struct qmp_framer *f = calloc(1, sizeof(*f));

	if (f != NULL)
		qmp_framer_set_max(f, max);
	return f;
}

void
qmp_framer_set_max(struct qmp_framer *f, size_t max)
{
	f->max = max;
	f->limit = max < SIZE_MAX ? max + 1 : max;
}

size_t
qmp_framer_max(const struct qmp_framer *f)
{
	return f->max;
}

void
qmp_framer_free(struct qmp_framer *f)
{
	if (f == NULL)
		return;
	free(f->buf);
	free(f);
}

void
qmp_framer_ff_blank(struct qmp_framer *f, int on)
{
	f->ff_is_space = on;
}

void
qmp_framer_skip_to_ff(struct qmp_framer *f)
{
	f->skip_to_ff = 1;
}

void
qmp_framer_on_skip(struct qmp_framer *f, qmp_skip_fn *fn, void *ctx)
{
	f->on_skip = fn;
	f->skip_ctx = ctx;
}

const char *
qmp_framer_error(const struct qmp_framer *f, unsigned char *bad)
{
	*bad = f->bad;
	return f->why;
}

const char *
qmp_framer_held(const struct qmp_framer *f, size_t *n)
{
	*n = f->len - f->start;
	return f->buf != NULL ? f->buf + f->start : "";
}

int
qmp_framer_full(const struct qmp_framer *f)
{
	return f->len >= f->limit;
}

void
qmp_framer_reset(struct qmp_framer *f)
{
	f->len = f->start = f->scan = 0;
	f->depth = f->in_str = f->esc = 0;
	f->skip_to_ff = 0;
	f->handed = 0;
}

size_t
qmp_framer_pending(const struct qmp_framer *f)
{
	return f->len - f->start;
}

char *
qmp_framer_space(struct qmp_framer *f, size_t *n)
{
	size_t want, ncap;
	char *nbuf;

	*n = 0;
	if (f->handed) {
		f->start = f->scan;
		f->handed = 0;
	}
	/* Move the message in progress to the front before growing. */
	if (f->start > 0) {
		memmove(f->buf, f->buf + f->start, f->len - f->start);
		f->len -= f->start;
		f->scan -= f->start;
		f->start = 0;
	}
	if (f->len >= f->limit)
		return NULL;
	if (f->cap - f->len < 4096 && f->cap < f->limit) {
		want = f->cap < 65536 ? 65536 : f->cap * 2;
		if (want < f->cap || want > f->limit)
			want = f->limit;
		ncap = want;
		nbuf = realloc(f->buf, ncap);
		if (nbuf == NULL)
			return NULL;	/* out of memory: len < limit */
		f->buf = nbuf;
		f->cap = ncap;
	}
	*n = f->cap - f->len;
	if (*n > f->limit - f->len)
		*n = f->limit - f->len;
	return f->buf + f->len;
}

void
qmp_framer_commit(struct qmp_framer *f, size_t n)
{
	f->len += n;
}

/* Bytes that end a run of string bytes the framer skips: '"' and '\\'. */
static const unsigned char str_special[256] = {
	['"'] = 1, ['\\'] = 1,
};

/*
 * Returns the index of the first '"' or '\\' in b[i..end), or end.  Eight
 * bytes at a time: (x - 0x01..01) & ~x & 0x80..80 is nonzero exactly
 * when a byte of x is zero, and x is the word XORed with the byte sought.
 */
static size_t
skip_string_bytes(const unsigned char *b, size_t i, size_t end)
{
	const uint64_t ones = ~(uint64_t)0 / 255, highs = ones * 0x80;
	uint64_t w, q, bs;

	while (end - i >= 8) {
		memcpy(&w, b + i, 8);
		q = w ^ (ones * '"');
		bs = w ^ (ones * '\\');
		if ((((q - ones) & ~q) | ((bs - ones) & ~bs)) & highs)
			break;
		i += 8;
	}
	while (i < end && !str_special[b[i]])
		i++;
	return i;
}

void
qmp_framer_shrink(struct qmp_framer *f)
{
	if (f->handed && f->scan == f->len && f->cap > ((size_t)1 << 20)) {
		free(f->buf);
		f->buf = NULL;
		f->cap = f->len = f->start = f->scan = 0;
		f->handed = 0;
	}
}

json_t *
qmp_framer_parse(const char *msg, size_t len, json_error_t *err)
{
	return qmp_json_loadb(msg, len, 0, err);
}

/* Tells the skip handler, if any, of the bytes [from, to) dropped. */
static void
skipped(struct qmp_framer *f, size_t from, size_t to)
{
	if (f->on_skip != NULL && to > from)
		f->on_skip(f->skip_ctx, f->buf + from, to - from);
}

/* Not a result of qmp_framer_next: the helpers below say "go on". */
#define FRAME_GO	(-1)

/*
 * For the agent: drops bytes up to and including the next 0xFF, telling
 * the skip handler.  Returns FRAME_GO with *ip past the 0xFF, or
 * QMP_FRAME_MORE when none came yet.
 */
static int
skip_to_sentinel(struct qmp_framer *f, size_t *ip)
{
	const unsigned char *b = (const unsigned char *)f->buf, *ff;
	size_t i = *ip, end = f->len;

	ff = i < end ? memchr(b + i, 0xff, end - i) : NULL;
	if (ff == NULL) {
		skipped(f, i, end);
		f->start = f->scan = end;
		return QMP_FRAME_MORE;
	}
	skipped(f, i, (size_t)(ff - b) + 1);
	*ip = f->start = (size_t)(ff - b) + 1;
	f->skip_to_ff = 0;
	return FRAME_GO;
}

/*
 * Between messages: skips blanks (and 0xFF after the agent's sync).
 * Returns FRAME_GO with *ip past the '{' that opens the next message,
 * QMP_FRAME_MORE when the bytes ran out, or QMP_FRAME_ERROR for any
 * other byte.
 */
static int
open_message(struct qmp_framer *f, size_t *ip)
{
	const unsigned char *b = (const unsigned char *)f->buf;
	size_t i = *ip, end = f->len;

	while (i < end && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' ||
	    b[i] == '\n' || (b[i] == 0xff && f->ff_is_space))) {
		if (b[i] == 0xff)
			skipped(f, i, i + 1);
		i++;
	}
	f->start = i;
	f->scan = i;
	if (i == end)
		return QMP_FRAME_MORE;
	if (b[i] != '{') {
		f->bad = b[i];
		f->why = "expected a JSON object";
		return QMP_FRAME_ERROR;
	}
	f->depth = 1;
	*ip = i + 1;
	return FRAME_GO;
}

/*
 * Scans the message in progress from i, tracking strings, escapes and
 * depth.  Returns QMP_FRAME_MSG with *msg and *len set when it closes,
 * QMP_FRAME_MORE when the bytes ran out, QMP_FRAME_TOOBIG past the
 * limit, or QMP_FRAME_ERROR for nesting too deep to count.
 */
static enum qmp_frame
scan_message(struct qmp_framer *f, size_t i, const char **msg, size_t *len)
{
	const unsigned char *b = (const unsigned char *)f->buf;
	size_t end = f->len;
	unsigned char c;

	while (i < end) {
		if (f->in_str) {
			if (f->esc) {
				f->esc = 0;
				i++;
				continue;
			}
			/* Skip a run of plain string bytes. */
			if ((i = skip_string_bytes(b, i, end)) == end)
				break;
			if (b[i++] == '"')
				f->in_str = 0;
			else
				f->esc = 1;	/* a backslash */
			continue;
		}
		c = b[i++];
		if (c == '"')
			f->in_str = 1;
		else if ((c == '{' || c == '[') && f->depth == INT_MAX) {
			f->scan = i;
			f->bad = c;
			f->why = "nesting too deep";
			return QMP_FRAME_ERROR;
		} else if (c == '{' || c == '[')
			f->depth++;
		else if ((c == '}' || c == ']') && --f->depth == 0) {
			f->scan = i;
			*msg = f->buf + f->start;
			*len = i - f->start;
			f->handed = 1;
			return *len > f->max ? QMP_FRAME_TOOBIG : QMP_FRAME_MSG;
		}
	}
	f->scan = i;
	return f->scan - f->start > f->max ? QMP_FRAME_TOOBIG : QMP_FRAME_MORE;
}

enum qmp_frame
qmp_framer_next(struct qmp_framer *f, const char **msg, size_t *len)
{
	size_t i = f->scan;
	int r;

	/* A message handed out last time is consumed now. */
	if (f->handed) {
		f->start = i;
		f->handed = 0;
	}
	if (f->skip_to_ff && (r = skip_to_sentinel(f, &i)) != FRAME_GO)
		return (enum qmp_frame)r;
	if (f->depth == 0 && (r = open_message(f, &i)) != FRAME_GO)
		return (enum qmp_frame)r;
	return scan_message(f, i, msg, len);
}

