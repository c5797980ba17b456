/* SPDX-License-Identifier: MIT */
/*
 * fuzz_framer: the framer (qmp_framer_*) on arbitrary bytes in arbitrary
 * chunkings, and the reader and writer of qmp_json.c on every message it
 * hands out, against json_loadb.
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
 *  - qmp_framer_parse (qmp_json_loadb, which keeps numbers as text):
 *    writing what it parsed, compact and pretty, and reading that again
 *    gives an equal value (qmp_json_equal) with the same number texts,
 *    and every number's characters in the output occur in the input;
 *  - it agrees with json_loadb: what jansson accepts, it accepts (unless
 *    nested deeper than QMP_JSON_MAX_DEPTH, 1024, where jansson allows
 *    2048, or the error is at a NUL byte: jansson's lexer drops a NUL
 *    that follows a number or literal, "{\"a\":1\0}") with the same strings and numbers of the same value (a real
 *    as strtod reads the text); what jansson rejects, it rejects, except
 *    numbers jansson cannot hold (integers beyond 64 bits, reals beyond
 *    a double).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qmp_core.h"
#include "qmp_framer.h"
#include "qmp_json.h"

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
 * Checks that a and b (read from a's output) hold the same number texts,
 * in the same places, and that each occurs in out and in the input.
 */
static void
same_numbers(const json_t *a, const json_t *b, const char *out, size_t outlen,
    const char *in, size_t inlen)
{
	const char *ta = qmp_json_number_text(a), *tb = qmp_json_number_text(b);
	const char *key;
	json_t *item;
	size_t i;

	if (ta != NULL || tb != NULL) {
		check(ta != NULL && tb != NULL && strcmp(ta, tb) == 0,
		    "a number changed its characters through the writer");
		check(memmem(out, outlen, ta, strlen(ta)) != NULL,
		    "a number's characters are not in the output");
		check(memmem(in, inlen, ta, strlen(ta)) != NULL,
		    "a number's characters are not in the input");
		return;
	}
	check(json_typeof(a) == json_typeof(b), "the writer changed a type");
	if (json_is_object(a)) {
		json_object_foreach((json_t *)(uintptr_t)a, key, item)
			same_numbers(item, json_object_get(b, key), out,
			    outlen, in, inlen);
	} else if (json_is_array(a)) {
		for (i = 0; i < json_array_size(a); i++)
			same_numbers(json_array_get(a, i), json_array_get(b, i),
			    out, outlen, in, inlen);
	}
}

/* Writes v (compact or pretty), reads it back and compares. */
static void
roundtrip(const json_t *v, int pretty, const char *in, size_t inlen)
{
	char *out = NULL;
	size_t outlen = 0;
	json_error_t jerr;
	json_t *w;
	FILE *fp;

	fp = open_memstream(&out, &outlen);
	check(fp != NULL, "open_memstream");
	check(qmp_json_write(fp, v, pretty) == 0, "qmp_json_write failed");
	check(fclose(fp) == 0, "fclose");
	w = qmp_json_loadb(out, outlen, 0, &jerr);
	check(w != NULL, "the writer's output does not parse");
	check(qmp_json_equal(v, w), "the writer's output reads back different");
	same_numbers(v, w, out, outlen, in, inlen);
	if (!pretty) {
		size_t n;
		char *d = qmp_json_dumps(v, &n);

		check(d != NULL && n == outlen && memcmp(d, out, n) == 0,
		    "qmp_json_dumps differs from qmp_json_write");
		free(d);
	}
	json_decref(w);
	free(out);
}

/*
 * Returns 1 when ours (from qmp_json_loadb) and theirs (from json_loadb)
 * hold the same strings, the same structure and numbers of equal value.
 */
static int
same_as_jansson(const json_t *ours, const json_t *theirs)
{
	const char *t = qmp_json_number_text(ours), *key;
	json_t *item;
	size_t i;

	if (t != NULL) {
		if (json_is_integer(theirs))
			return qmp_json_equal(ours, theirs);
		return json_is_real(theirs) &&
		    strtod(t, NULL) == json_real_value(theirs);
	}
	if (json_typeof(ours) != json_typeof(theirs))
		return 0;
	if (json_is_object(ours)) {
		if (json_object_size(ours) != json_object_size(theirs))
			return 0;
		json_object_foreach((json_t *)(uintptr_t)ours, key, item)
			if (!same_as_jansson(item, json_object_get(theirs,
			    key)))
				return 0;
		return 1;
	}
	if (json_is_array(ours)) {
		if (json_array_size(ours) != json_array_size(theirs))
			return 0;
		for (i = 0; i < json_array_size(ours); i++)
			if (!same_as_jansson(json_array_get(ours, i),
			    json_array_get(theirs, i)))
				return 0;
		return 1;
	}
	return json_equal((json_t *)(uintptr_t)ours,
	    (json_t *)(uintptr_t)theirs);
}

/*
 * Frames in[0..n) into r with chunk sizes from sizes[0..3) (0: as large as
 * the framer allows).
 */
static void
frame(const unsigned char *in, size_t n, size_t max, int skip_ff,
    const unsigned char *sizes, struct run *r)
{
	struct qmp_framer *f;
	size_t fed = 0, room, k, msglen, base, off, prev_end = 0, i;
	unsigned long chunkno = 0;
	const char *msg, *held;
	size_t nheld;
	enum qmp_frame st;
	json_error_t jerr, ourerr;
	json_t *v, *w;
	char *p;
	int first = 1;

	memset(r, 0, sizeof(*r));
	if ((f = qmp_framer_new(max)) == NULL)
		abort();
	if (skip_ff)
		qmp_framer_skip_to_ff(f);
	qmp_framer_ff_blank(f, ff_blank);
	for (;;) {
		st = qmp_framer_next(f, &msg, &msglen);
		if (st == QMP_FRAME_MSG) {
			/* held[0] is input byte fed - nheld. */
			held = qmp_framer_held(f, &nheld);
			check(nheld <= fed, "more bytes held than fed");
			base = fed - nheld;
			check(msg >= held && msg + msglen <= held + nheld,
			    "message outside the buffer");
			off = base + (size_t)(msg - held);
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
			w = qmp_framer_parse(msg, msglen, &ourerr);
			if (v != NULL)
				check(w != NULL || strstr(ourerr.text,
				    "nested deeper") != NULL ||
				    (ourerr.position >= 0 && (size_t)
				    ourerr.position < msglen &&
				    msg[ourerr.position] == '\0'),
				    "json_loadb accepts what qmp_json rejects");
			if (w != NULL && v == NULL)
				check(strstr(jerr.text, "too big") != NULL ||
				    strstr(jerr.text, "overflow") != NULL,
				    "qmp_json accepts what json_loadb rejects");
			if (v != NULL && w != NULL)
				check(same_as_jansson(w, v),
				    "qmp_json and json_loadb read differently");
			if (w != NULL) {
				check(json_is_object(w), "parsed a non-object");
				roundtrip(w, 0, msg, msglen);
				roundtrip(w, 1, msg, msglen);
			}
			json_decref(v);
			json_decref(w);
			continue;
		}
		if (st == QMP_FRAME_ERROR || st == QMP_FRAME_TOOBIG) {
			r->end = st;
			if (st == QMP_FRAME_ERROR) {
				unsigned char b;

				r->why = qmp_framer_error(f, &b);
				r->bad = b;
				check(r->why != NULL, "an error without a reason");
				check(!blank(b) && b != '{',
				    "error on a blank or a brace");
			}
			break;
		}
		check(st == QMP_FRAME_MORE, "unknown frame status");
		if (fed == n) {
			r->end = QMP_FRAME_MORE;
			r->pending = qmp_framer_pending(f);
			check(r->pending <= n, "more pending than fed");
			break;
		}
		p = qmp_framer_space(f, &room);
		check(p != NULL && room > 0, "no room although MORE");
		k = n - fed;
		if (k > room)
			k = room;
		if (sizes != NULL && k > (size_t)sizes[chunkno % 3] + 1)
			k = (size_t)sizes[chunkno % 3] + 1;
		chunkno++;
		memcpy(p, in + fed, k);
		qmp_framer_commit(f, k);
		fed += k;
	}
	check(fed <= n, "fed more than the input");
	qmp_framer_free(f);
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
