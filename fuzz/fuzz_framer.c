/*
 * fuzz_framer: the framer (qmp_framer_*) on arbitrary bytes in arbitrary
 * chunkings, and json_loadb on every message it hands out.
 *
 * Input: byte 0 chooses the limit (bits 0-1: 16, 1024, 8192 bytes or the
 * default 128 MiB) and the mode (bit 2: skip to the first 0xFF, as for the
 * guest agent; bit 3: 0xFF between messages counts as a blank, as after
 * the agent's sync); bytes 1-3 give the chunk sizes (cycled, each 1-256);
 * the rest is the stream.  A seed made from a transcript starts with a
 * header such as "\x03\xff\xff\xff" (default limit, large chunks).
 *
 * The stream is framed twice: in the chunks the header asks for, and in
 * chunks as large as the framer allows.  Checked:
 *  - every message is a piece of the input, starts with '{', ends with
 *    '}' or ']' (the framer counts brackets without pairing them, so
 *    "{]" is a message, which json_loadb then rejects), is at most the
 *    limit, and only blanks lie between messages;
 *  - messages never overlap and the framer never reports more bytes than
 *    it was given;
 *  - both chunkings hand out the same messages and end the same way (the
 *    framer looks at each byte once, whatever the chunking);
 *  - qmp_framer_space always offers room until the framer has said
 *    TOOBIG or ERROR;
 *  - qmp_framer_parse (which copies long plain strings past the JSON
 *    parser) gives exactly what json_loadb gives, value or failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qmp_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXMSGS	4096

struct run {
	size_t off[MAXMSGS];	/* input offset of each message */
	size_t len[MAXMSGS];
	size_t n;		/* messages recorded (at most MAXMSGS) */
	size_t total;		/* messages seen */
	enum qmp_frame end;	/* MORE (input used up), ERROR or TOOBIG */
	size_t pending;
	unsigned char bad;
	const char *why;
};

static int ff_blank;	/* 0xFF between messages is a blank (bit 3) */

static int
blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    (c == 0xff && ff_blank);
}

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_framer: invariant broken: %s\n", what);
		abort();
	}
}

/*
 * Frames in[0..n) into r with chunk sizes from sizes[0..3) (0: as large as
 * the framer allows).
 */
static void
frame(const unsigned char *in, size_t n, size_t max, int skip_ff,
    const unsigned char *sizes, struct run *r)
{
	struct qmp_framer f;
	size_t fed = 0, room, k, msglen, base, off, prev_end = 0, i;
	unsigned long chunkno = 0;
	const char *msg;
	enum qmp_frame st;
	json_error_t jerr;
	json_t *v, *w;
	char *p;
	int first = 1;

	memset(r, 0, sizeof(*r));
	qmp_framer_init(&f, max);
	f.skip_to_ff = skip_ff;
	f.ff_is_space = ff_blank;
	for (;;) {
		st = qmp_framer_next(&f, &msg, &msglen);
		if (st == QMP_FRAME_MSG) {
			/* f.buf[0] holds input byte fed - f.len. */
			check(f.len <= fed, "more bytes held than fed");
			base = fed - f.len;
			check(msg >= f.buf && msg + msglen <= f.buf + f.len,
			    "message outside the buffer");
			off = base + (size_t)(msg - f.buf);
			check(msglen >= 2, "message shorter than {}");
			check(msglen <= max, "message over the limit");
			/* Brackets are only counted: "{]" ends a message too. */
			check(msg[0] == '{' && (msg[msglen - 1] == '}' ||
			    msg[msglen - 1] == ']'), "message not bracketed");
			check(memcmp(msg, in + off, msglen) == 0,
			    "message is not the input's bytes");
			check(first || off >= prev_end, "messages overlap");
			if (skip_ff && first) {
				/* Blanks only, after the first 0xFF. */
				const unsigned char *ff;

				ff = memchr(in, 0xff, off);
				check(ff != NULL, "a message before the 0xFF");
				prev_end = (size_t)(ff - in) + 1;
			}
			for (i = prev_end; i < off; i++)
				check(blank(in[i]),
				    "non-blank between messages");
			prev_end = off + msglen;
			first = 0;
			if (r->n < MAXMSGS) {
				r->off[r->n] = off;
				r->len[r->n] = msglen;
				r->n++;
			}
			r->total++;
			v = json_loadb(msg, msglen, JSON_ALLOW_NUL, &jerr);
			w = qmp_framer_parse(&f, msg, msglen, &jerr);
			check((v == NULL) == (w == NULL),
			    "qmp_framer_parse and json_loadb disagree");
			if (v != NULL) {
				check(json_is_object(v), "parsed a non-object");
				check(json_equal(v, w),
				    "qmp_framer_parse differs from json_loadb");
			}
			json_decref(v);
			json_decref(w);
			continue;
		}
		if (st == QMP_FRAME_ERROR || st == QMP_FRAME_TOOBIG) {
			r->end = st;
			if (st == QMP_FRAME_ERROR) {
				r->bad = f.bad;
				r->why = f.why;
				check(f.why != NULL, "an error without a reason");
				/* '{' only for a greeting found while skipping. */
				check(!blank(f.bad) && (f.bad != '{' ||
				    f.saw_greeting), "error on a blank or a brace");
			}
			break;
		}
		check(st == QMP_FRAME_MORE, "unknown frame status");
		if (fed == n) {
			r->end = QMP_FRAME_MORE;
			r->pending = qmp_framer_pending(&f);
			check(r->pending <= n, "more pending than fed");
			break;
		}
		p = qmp_framer_space(&f, &room);
		check(p != NULL && room > 0, "no room although MORE");
		k = n - fed;
		if (k > room)
			k = room;
		if (sizes != NULL && k > (size_t)sizes[chunkno % 3] + 1)
			k = (size_t)sizes[chunkno % 3] + 1;
		chunkno++;
		memcpy(p, in + fed, k);
		qmp_framer_commit(&f, k);
		fed += k;
	}
	check(fed <= n, "fed more than the input");
	qmp_framer_free(&f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[4] = { 16, 1024, 8192, QMP_DEFAULT_MAX_SIZE };
	static struct run a, b;
	size_t max, i;
	int skip_ff;

	if (size < 4)
		return 0;
	max = maxes[data[0] & 3];
	skip_ff = (data[0] & 4) != 0;
	ff_blank = (data[0] & 8) != 0;
	frame(data + 4, size - 4, max, skip_ff, data + 1, &a);
	frame(data + 4, size - 4, max, skip_ff, NULL, &b);

	check(a.total == b.total, "chunkings differ in message count");
	check(a.end == b.end, "chunkings end differently");
	check(a.pending == b.pending, "chunkings leave different pending");
	check(a.bad == b.bad && a.why == b.why,
	    "chunkings fail on different bytes");
	for (i = 0; i < a.n; i++)
		check(a.off[i] == b.off[i] && a.len[i] == b.len[i],
		    "chunkings hand out different messages");
	return 0;
}
