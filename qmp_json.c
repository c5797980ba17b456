/* SPDX-License-Identifier: MIT */
/*
 * qmp_json.c: a strict JSON reader and a writer that keep numbers as
 * text (see qmp_json.h for the representation).
 *
 * The reader is iterative: open containers sit on a fixed stack of
 * QMP_JSON_MAX_DEPTH entries, so no input can exhaust the C stack.  A
 * container is attached to its parent as soon as it opens, so that
 * freeing the root frees everything on an error.  Strings are scanned
 * for runs of plain bytes eight at a time; a string without escapes is
 * copied once, straight from the input, which keeps a 64 MiB base64
 * reply about as cheap as a memcpy.
 *
 * Number comparison never converts to a double.  A number is seen as
 * sign, significant digits D (leading and trailing zeros dropped) and
 * an "order" O such that its value is 0.D * 10^O.  Two nonzero numbers
 * of the same sign compare by O first, then by D digit by digit.  O is
 * the exponent as written plus a correction bounded by the text's
 * length; the exponent may have any number of digits, so O is computed
 * as a decimal string when it does not fit in 64 bits.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qmp_json.h"

#define NUM_MARK	0xFF	/* first byte of a kept number */

/*
 * Returns v without its const: jansson's iteration macros take a plain
 * pointer, though they only read.
 */
static json_t *
mutable(const json_t *v)
{
	union { const json_t *c; json_t *m; } u;

	u.c = v;
	return u.m;
}

/* ---- Kept numbers --------------------------------------------------- */

/*
 * Returns how many bytes of s[0..len) form a JSON number, 0 when none
 * does; *why says what is wrong when the number is cut short.
 */
static size_t
number_span(const char *s, size_t len, const char **why)
{
	size_t i = 0;

	*why = NULL;
#define DIGIT(j)	((j) < len && s[j] >= '0' && s[j] <= '9')
	if (i < len && s[i] == '-')
		i++;
	if (!DIGIT(i)) {
		*why = "a digit must follow '-'";
		return 0;
	}
	if (s[i] == '0') {
		i++;
		if (DIGIT(i)) {
			*why = "no digit may follow a leading 0";
			return 0;
		}
	} else
		while (DIGIT(i))
			i++;
	if (i < len && s[i] == '.') {
		i++;
		if (!DIGIT(i)) {
			*why = "digits must follow '.'";
			return 0;
		}
		while (DIGIT(i))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (!DIGIT(i)) {
			*why = "the exponent needs digits";
			return 0;
		}
		while (DIGIT(i))
			i++;
	}
#undef DIGIT
	return i;
}

/* Returns a kept number for text known to be valid (new), or NULL. */
static json_t *
number_make(const char *text, size_t len, char *small, size_t smallsize)
{
	char *buf = small;
	json_t *v;

	if (len + 1 > smallsize && (buf = malloc(len + 1)) == NULL)
		return NULL;
	buf[0] = (char)NUM_MARK;
	memcpy(buf + 1, text, len);
	v = json_stringn_nocheck(buf, len + 1);
	if (buf != small)
		free(buf);
	return v;
}

json_t *
qmp_json_number_new(const char *text, size_t len)
{
	const char *why;
	char small[64];

	if (text == NULL || len == 0 || number_span(text, len, &why) != len)
		return NULL;
	return number_make(text, len, small, sizeof(small));
}

const char *
qmp_json_number_text(const json_t *v)
{
	const char *s;

	if (!json_is_string(v) || json_string_length(v) < 2)
		return NULL;
	s = json_string_value(v);
	return (unsigned char)s[0] == NUM_MARK ? s + 1 : NULL;
}

int
qmp_json_is_number(const json_t *v)
{
	return json_is_number(v) || qmp_json_number_text(v) != NULL;
}

int
qmp_json_is_string(const json_t *v)
{
	return json_is_string(v) && qmp_json_number_text(v) == NULL;
}

const char *
qmp_json_string(const json_t *v)
{
	return qmp_json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- Exact numeric values ------------------------------------------- */

/* A number text taken apart; see the comment at the top. */
struct num {
	int neg;
	const char *ip, *fp;	/* integer and fraction digits */
	size_t il, fl;
	int eneg;		/* exponent sign */
	const char *ep;		/* exponent digits, leading zeros dropped */
	size_t el;
	size_t s, e;		/* significant digits [s, e) of ip+fp */
};

/* The i-th digit of the integer digits followed by the fraction digits. */
static char
num_digit(const struct num *n, size_t i)
{
	return i < n->il ? n->ip[i] : n->fp[i - n->il];
}

/* Takes a valid number text apart.  Returns 0, or -1 when not valid. */
static int
num_parse(const char *t, size_t len, struct num *n)
{
	const char *why;
	size_t i = 0;

	if (len == 0 || number_span(t, len, &why) != len)
		return -1;
	memset(n, 0, sizeof(*n));
	if (t[i] == '-') {
		n->neg = 1;
		i++;
	}
	n->ip = t + i;
	while (i < len && t[i] >= '0' && t[i] <= '9')
		i++;
	n->il = (size_t)(t + i - n->ip);
	n->fp = t + i;
	if (i < len && t[i] == '.') {
		n->fp = t + ++i;
		while (i < len && t[i] >= '0' && t[i] <= '9')
			i++;
		n->fl = (size_t)(t + i - n->fp);
	}
	if (i < len) {			/* 'e' or 'E' */
		i++;
		if (t[i] == '+' || t[i] == '-')
			n->eneg = t[i++] == '-';
		while (i < len && t[i] == '0')
			i++;
		n->ep = t + i;
		n->el = len - i;
	}
	for (n->s = 0; n->s < n->il + n->fl && num_digit(n, n->s) == '0';
	    n->s++)
		;
	for (n->e = n->il + n->fl; n->e > n->s && num_digit(n, n->e - 1) ==
	    '0'; n->e--)
		;
	return 0;
}

/* A signed decimal integer of any size: digits without leading zeros. */
struct big {
	int neg;
	char *d;
	size_t n;		/* 0: the value is zero */
	char small[48];
};

static void
big_free(struct big *b)
{
	if (b->d != b->small)
		free(b->d);
}

/* Returns -1, 0 or 1 comparing digit strings without leading zeros. */
static int
mag_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c;

	if (an != bn)
		return an < bn ? -1 : 1;
	c = memcmp(a, b, an);
	return (c > 0) - (c < 0);
}

/* Returns the length of the rn digits at r once their leading zeros go. */
static size_t
mag_trim(char *r, size_t rn)
{
	size_t i;

	for (i = 0; i < rn && r[i] == '0'; i++)
		;
	memmove(r, r + i, rn - i);
	return rn - i;
}

/*
 * Writes the sum of the digit strings a and b in the rn digits at r,
 * right to left.  Returns its length without leading zeros.
 */
static size_t
mag_add(const char *a, size_t an, const char *b, size_t bn, char *r,
    size_t rn)
{
	size_t i;
	int carry = 0;

	for (i = 0; i < rn; i++) {
		int s = carry;

		if (i < an)
			s += a[an - 1 - i] - '0';
		if (i < bn)
			s += b[bn - 1 - i] - '0';
		r[rn - 1 - i] = (char)('0' + s % 10);
		carry = s / 10;
	}
	return mag_trim(r, rn);
}

/*
 * Writes a minus b (digit strings, a the larger) in the rn digits at r,
 * right to left.  Returns its length without leading zeros.
 */
static size_t
mag_sub(const char *a, size_t an, const char *b, size_t bn, char *r,
    size_t rn)
{
	size_t i;
	int carry = 0;

	for (i = 0; i < rn; i++) {
		int s = -carry;

		if (i < an)
			s += a[an - 1 - i] - '0';
		if (i < bn)
			s -= b[bn - 1 - i] - '0';
		carry = s < 0;
		r[rn - 1 - i] = (char)('0' + s + 10 * carry);
	}
	return mag_trim(r, rn);
}

/*
 * Sets *o to the order of n (its exponent plus the position of its first
 * significant digit), exactly.  Returns 0, or -1 when memory ran out.
 */
static int
num_order(const struct num *n, struct big *o)
{
	char kd[24], *r;
	size_t kn, rn, an;
	long long k = (long long)n->il - (long long)n->s;
	unsigned long long ku;
	int kneg = k < 0, c;
	const char *a;

	ku = kneg ? 0ULL - (unsigned long long)k : (unsigned long long)k;
	kn = ku == 0 ? 0 : (size_t)snprintf(kd, sizeof(kd), "%llu", ku);
	o->neg = 0;
	o->d = o->small;
	o->n = 0;
	rn = (n->el > kn ? n->el : kn) + 1;
	if (rn > sizeof(o->small) && (o->d = malloc(rn)) == NULL) {
		o->d = o->small;
		return -1;
	}
	r = o->d;
	if (n->el == 0 || kn == 0) {
		/* One of the two is zero: the sum is the other. */
		a = n->el == 0 ? kd : n->ep;
		an = n->el == 0 ? kn : n->el;
		o->neg = n->el == 0 ? kneg : n->eneg;
		memcpy(r, a, an);
		o->n = an;
		return 0;
	}
	if (n->eneg == kneg) {
		/* Same sign: add the magnitudes. */
		o->neg = kneg;
		o->n = mag_add(n->ep, n->el, kd, kn, r, rn);
	} else {
		/* Opposite signs: the larger magnitude minus the smaller. */
		c = mag_cmp(n->ep, n->el, kd, kn);
		if (c == 0)
			return 0;
		o->neg = c > 0 ? n->eneg : kneg;
		o->n = c > 0 ? mag_sub(n->ep, n->el, kd, kn, r, rn) :
		    mag_sub(kd, kn, n->ep, n->el, r, rn);
	}
	if (o->n == 0)
		o->neg = 0;
	return 0;
}

/* Returns -1, 0 or 1 comparing two signed big integers. */
static int
big_cmp(const struct big *a, const struct big *b)
{
	int an = a->n == 0 ? 0 : a->neg ? -1 : 1;
	int bn = b->n == 0 ? 0 : b->neg ? -1 : 1;

	if (an != bn)
		return an < bn ? -1 : 1;
	if (an == 0)
		return 0;
	return an * mag_cmp(a->d, a->n, b->d, b->n);
}

int
qmp_json_number_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	struct num x, y;
	struct big ox, oy;
	int sx, sy, c;
	size_t i;

	if (num_parse(a, alen, &x) < 0 || num_parse(b, blen, &y) < 0) {
		if (num_parse(a, alen, &x) == 0)
			return -1;
		if (num_parse(b, blen, &y) == 0)
			return 1;
		c = memcmp(a, b, alen < blen ? alen : blen);
		return c != 0 ? (c > 0) - (c < 0) : (alen > blen) - (alen < blen);
	}
	sx = x.s == x.e ? 0 : x.neg ? -1 : 1;
	sy = y.s == y.e ? 0 : y.neg ? -1 : 1;
	if (sx != sy || sx == 0)
		return sx < sy ? -1 : sx > sy;
	/* Same sign, both nonzero: by order, then digit by digit. */
	if (num_order(&x, &ox) < 0 || num_order(&y, &oy) < 0) {
		/* Out of memory: fall back to the digits alone. */
		big_free(&ox);
		c = 0;
	} else {
		c = big_cmp(&ox, &oy);
		big_free(&ox);
		big_free(&oy);
	}
	for (i = 0; c == 0 && i < x.e - x.s && i < y.e - y.s; i++)
		c = (num_digit(&x, x.s + i) > num_digit(&y, y.s + i)) -
		    (num_digit(&x, x.s + i) < num_digit(&y, y.s + i));
	if (c == 0)
		c = (x.e - x.s > y.e - y.s) - (x.e - x.s < y.e - y.s);
	return sx * c;
}

/*
 * Returns in buf the text of a number value (kept, integer or real) and
 * its length in *len, or NULL when v is no number.  A real is written
 * with all the digits of its exact binary value.
 */
static const char *
number_text(const json_t *v, char *buf, size_t size, size_t *len)
{
	const char *t = qmp_json_number_text(v);
	int n;

	if (t != NULL) {
		*len = json_string_length(v) - 1;
		return t;
	}
	if (json_is_integer(v))
		n = snprintf(buf, size, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else if (json_is_real(v))
		n = snprintf(buf, size, "%.767e", json_real_value(v));
	else
		return NULL;
	if (n < 0 || (size_t)n >= size)
		return NULL;
	*len = (size_t)n;
	return buf;
}

int
qmp_json_int(const json_t *v, long long *out)
{
	char buf[800];
	const char *t;
	size_t len, i, nd;
	struct num n;
	struct big o;
	unsigned long long u = 0;
	long long ord;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if ((t = number_text(v, buf, sizeof(buf), &len)) == NULL ||
	    num_parse(t, len, &n) < 0)
		return -1;
	if (n.s == n.e) {
		*out = 0;
		return 0;
	}
	if (num_order(&n, &o) < 0)
		return -1;
	/* A nonzero integer has an order of 1 to 19 digits. */
	ord = o.neg || o.n == 0 || o.n > 2 ? -1 : o.n == 1 ? o.d[0] - '0' :
	    (o.d[0] - '0') * 10 + (o.d[1] - '0');
	big_free(&o);
	nd = n.e - n.s;
	if (ord < 1 || ord > 19 || (long long)nd > ord)
		return -1;
	for (i = 0; i < (size_t)ord; i++) {
		unsigned d = i < nd ? (unsigned)(num_digit(&n, n.s + i) - '0') :
		    0;

		if (u > (ULLONG_MAX - d) / 10)
			return -1;
		u = u * 10 + d;
	}
	if (n.neg) {
		if (u > (unsigned long long)LLONG_MAX + 1)
			return -1;
		*out = u == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN :
		    -(long long)u;
	} else {
		if (u > (unsigned long long)LLONG_MAX)
			return -1;
		*out = (long long)u;
	}
	return 0;
}

int
qmp_json_double(const json_t *v, double *out)
{
	char buf[800];
	const char *t;
	size_t len;

	if ((t = number_text(v, buf, sizeof(buf), &len)) == NULL)
		return -1;
	*out = strtod(t, NULL);
	return isfinite(*out) ? 0 : -1;
}

/*
 * Returns 1 when a or b is a number and both are equal numbers, 0 when
 * one is a number and they differ, -1 when neither is a number.  Kept out
 * of qmp_json_equal's recursion, whose frames stay small.
 */
static int __attribute__((noinline))
numbers_equal(const json_t *a, const json_t *b)
{
	char abuf[800], bbuf[800];
	const char *at, *bt;
	size_t alen, blen;

	at = number_text(a, abuf, sizeof(abuf), &alen);
	bt = number_text(b, bbuf, sizeof(bbuf), &blen);
	if (at == NULL && bt == NULL)
		return -1;
	return at != NULL && bt != NULL &&
	    qmp_json_number_cmp(at, alen, bt, blen) == 0;
}

int
qmp_json_equal(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *item;
	size_t i;
	int r;

	if (a == NULL || b == NULL)
		return 0;
	if (a == b)
		return 1;
	if ((r = numbers_equal(a, b)) >= 0)
		return r;
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach(mutable(a), key, item)
			if (!qmp_json_equal(item, json_object_get(b, key)))
				return 0;
		return 1;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!qmp_json_equal(json_array_get(a, i),
			    json_array_get(b, i)))
				return 0;
		return 1;
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		    memcmp(json_string_value(a), json_string_value(b),
		    json_string_length(a)) == 0;
	default:
		return 1;	/* true, false, null */
	}
}

/* ---- The reader ----------------------------------------------------- */

/* A growing byte buffer for strings that hold escapes. */
struct sbuf {
	char *p;
	size_t len, cap;
};

struct reader {
	const unsigned char *buf, *p, *end;
	unsigned flags;
	json_error_t *err;
	int failed;
	size_t cost, budget;	/* estimated bytes of the values, and limit */
	struct sbuf key, val;
	json_t *stack[QMP_JSON_MAX_DEPTH];
};

/* Records the first error, at position at. */
static void
fail_at(struct reader *r, const unsigned char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
fail_at(struct reader *r, const unsigned char *at, const char *fmt, ...)
{
	const unsigned char *q;
	json_error_t *e = r->err;
	va_list ap;

	if (r->failed)
		return;
	r->failed = 1;
	if (e == NULL)
		return;
	memset(e, 0, sizeof(*e));
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text) - 1, fmt, ap);
	va_end(ap);
	snprintf(e->source, sizeof(e->source), "<buffer>");
	e->position = at - r->buf;
	e->line = 1;
	e->column = 1;
	for (q = r->buf; q < at; q++) {
		if (*q == '\n') {
			e->line++;
			e->column = 1;
		} else
			e->column++;
	}
}

/* Returns 0 after appending n bytes to b, -1 when memory ran out. */
static int
sbuf_add(struct sbuf *b, const void *s, size_t n)
{
	size_t ncap;
	char *np;

	if (n == 0)
		return 0;
	if (b->cap - b->len < n) {
		if (n > SIZE_MAX / 2 - b->len)
			return -1;
		ncap = b->cap < 256 ? 256 : b->cap;
		while (ncap - b->len < n)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL)
			return -1;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

/* 1 for bytes a string holds as they are: ASCII 0x20-0x7F but '"', '\\'. */
static const unsigned char plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

#define ONES	(~(uint64_t)0 / 255)		/* 0x0101...01 */
#define HIGHS	(ONES * 0x80)			/* 0x8080...80 */

/*
 * Returns the first byte at or after p that is not plain, or end.  Eight
 * bytes at a time: a word holds no quote, backslash, control or 8-bit
 * byte when none of these tests sees one (each may see a byte that is
 * not there, never miss one that is).
 */
static const unsigned char *
skip_plain(const unsigned char *p, const unsigned char *end)
{
	uint64_t w, q, bs;

	while (end - p >= 8) {
		memcpy(&w, p, 8);
		q = w ^ (ONES * '"');
		bs = w ^ (ONES * '\\');
		if ((((q - ONES) & ~q) | ((bs - ONES) & ~bs) |
		    (w - ONES * 0x20) | w) & HIGHS)
			break;
		p += 8;
	}
	while (p < end && plain[*p])
		p++;
	return p;
}

/* Returns the length of a valid UTF-8 sequence at p (not ASCII), or 0. */
static size_t
utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t n, i;

	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;	/* no UTF-16 surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;	/* nothing above U+10FFFF */
	} else
		return 0;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

/* Returns the value of 4 hex digits at p, or -1. */
static long
hex4(const unsigned char *p, const unsigned char *end)
{
	long v = 0;
	int i;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		unsigned char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Returns the UTF-8 encoding of code point cp in out and its length. */
static size_t
utf8_put(unsigned long cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * Decodes the four hex digits at *pp of the \u escape at q, with the low
 * surrogate escape that must follow a high one, and sets *pp past them.
 * Returns the code point, or -1 on error.
 */
static long
read_uescape(struct reader *r, const unsigned char *q,
    const unsigned char **pp)
{
	const unsigned char *p = *pp, *end = r->end;
	long cp, lo;

	if ((cp = hex4(p, end)) < 0) {
		fail_at(r, q, "\\u needs four hex digits");
		return -1;
	}
	p += 4;
	if (cp >= 0xDC00 && cp <= 0xDFFF) {
		fail_at(r, q, "lone low surrogate \\u%04lX", cp);
		return -1;
	}
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
		    (lo = hex4(p + 2, end)) < 0xDC00 || lo > 0xDFFF) {
			fail_at(r, q, "lone high surrogate \\u%04lX", cp);
			return -1;
		}
		p += 6;
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	*pp = p;
	return cp;
}

/*
 * Decodes the escape whose backslash q is at into out, sets *pp past it
 * and *nul when it is a NUL.  Returns the number of bytes put in out, or
 * 0 on error.
 */
static size_t
read_escape(struct reader *r, const unsigned char *q,
    const unsigned char **pp, char *out, int *nul)
{
	const unsigned char *p = q + 1;
	long cp;

	if (p == r->end) {
		fail_at(r, r->p, "a string is not closed");
		return 0;
	}
	switch (*p++) {
	case '"': out[0] = '"'; break;
	case '\\': out[0] = '\\'; break;
	case '/': out[0] = '/'; break;
	case 'b': out[0] = '\b'; break;
	case 'f': out[0] = '\f'; break;
	case 'n': out[0] = '\n'; break;
	case 'r': out[0] = '\r'; break;
	case 't': out[0] = '\t'; break;
	case 'u':
		if ((cp = read_uescape(r, q, &p)) < 0)
			return 0;
		*nul |= cp == 0;
		*pp = p;
		return utf8_put((unsigned long)cp, out);
	default:
		fail_at(r, q, "invalid escape '\\%c'", p[-1] > 0x20 &&
		    p[-1] < 0x7F ? p[-1] : '?');
		return 0;
	}
	*pp = p;
	return 1;
}

/*
 * Reads the string whose opening quote r->p is at.  Sets *s and *n to its
 * decoded bytes: in the input itself when it holds no escape, else in b.
 * *nul is set when it holds a NUL.  Returns 0, or -1 on error.
 */
static int
read_string(struct reader *r, struct sbuf *b, const char **s, size_t *n,
    int *nul)
{
	const unsigned char *p = r->p + 1, *seg = p, *end = r->end, *q;
	char out[8];
	size_t k;
	int copied = 0;

	*nul = 0;
	b->len = 0;
	for (;;) {
		p = skip_plain(p, end);
		if (p == end) {
			fail_at(r, r->p, "a string is not closed");
			return -1;
		}
		if (*p == '"')
			break;
		if (*p >= 0x80) {
			if ((k = utf8_len(p, end)) == 0) {
				fail_at(r, p, "invalid UTF-8 (byte 0x%02X) in a "
				    "string", *p);
				return -1;
			}
			p += k;
			continue;
		}
		if (*p < 0x20) {
			fail_at(r, p, "control character 0x%02X in a string "
			    "(write it as \\u%04X)", *p, *p);
			return -1;
		}
		/* A backslash: keep what came before, then decode. */
		if (sbuf_add(b, seg, (size_t)(p - seg)) < 0)
			goto nomem;
		copied = 1;
		q = p;
		if ((k = read_escape(r, q, &p, out, nul)) == 0)
			return -1;
		if (sbuf_add(b, out, k) < 0)
			goto nomem;
		seg = p;
	}
	if (copied) {
		if (sbuf_add(b, seg, (size_t)(p - seg)) < 0)
			goto nomem;
		*s = b->p;
		*n = b->len;
	} else {
		*s = (const char *)seg;
		*n = (size_t)(p - seg);
	}
	r->p = p + 1;
	return 0;
nomem:
	fail_at(r, r->p, "out of memory");
	return -1;
}

/* Returns the first byte at or after p that is not JSON whitespace. */
static const unsigned char *
skip_ws(const unsigned char *p, const unsigned char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' ||
	    *p == '\t'))
		p++;
	return p;
}

/* Returns a short printable form of the byte at p, for messages. */
static const char *
show_byte(const unsigned char *p, const unsigned char *end, char *buf)
{
	if (p == end)
		return "the end of the input";
	if (*p > 0x20 && *p < 0x7F)
		snprintf(buf, 8, "'%c'", *p);
	else
		snprintf(buf, 8, "0x%02X", *p);
	return buf;
}

/*
 * Reads the key whose opening quote r->p is at, its ':' and the space
 * after.  Sets *key and *klen.  Returns 0, or -1 on error.
 */
static int
read_key(struct reader *r, json_t *obj, const char **key, size_t *klen)
{
	const unsigned char *at = r->p;
	char sb[8];
	int nul;

	if (r->p == r->end || *r->p != '"') {
		fail_at(r, r->p, "expected a string (an object key), got %s",
		    show_byte(r->p, r->end, sb));
		return -1;
	}
	if (read_string(r, &r->key, key, klen, &nul) < 0)
		return -1;
	if (nul) {
		fail_at(r, at, "NUL (\\u0000) in an object key is not "
		    "supported");
		return -1;
	}
	if ((r->flags & QMP_JSON_REJECT_DUPLICATES) &&
	    json_object_getn(obj, *key, *klen) != NULL) {
		char shown[64];
		size_t i;

		for (i = 0; i < *klen && i < sizeof(shown) - 4; i++)
			shown[i] = (unsigned char)(*key)[i] < 0x20 ||
			    (*key)[i] == 0x7F ? '?' : (*key)[i];
		if (i < *klen)
			memcpy(shown + i, "...", 4);
		else
			shown[i] = '\0';
		fail_at(r, at, "duplicate key \"%s\"", shown);
		return -1;
	}
	r->p = skip_ws(r->p, r->end);
	if (r->p == r->end || *r->p != ':') {
		fail_at(r, r->p, "expected ':' after an object key, got %s",
		    show_byte(r->p, r->end, sb));
		return -1;
	}
	r->p = skip_ws(r->p + 1, r->end);
	return 0;
}

/*
 * Reads the scalar value at r->p (a string, number or literal).  Returns
 * it (new), or NULL on error.
 */
static json_t *
read_scalar(struct reader *r)
{
	static const char *const lits[] = { "true", "false", "null" };
	const unsigned char *p = r->p;
	const char *s, *why;
	char sb[8], small[64];
	size_t n, i;
	json_t *v;
	int nul;

	if (p == r->end) {
		fail_at(r, p, "unexpected end of the input (a value is "
		    "missing)");
		return NULL;
	}
	if (*p == '"') {
		if (read_string(r, &r->val, &s, &n, &nul) < 0)
			return NULL;
		if ((v = json_stringn_nocheck(s, n)) == NULL)
			fail_at(r, p, "out of memory");
		return v;
	}
	if (*p == '-' || (*p >= '0' && *p <= '9')) {
		n = number_span((const char *)p, (size_t)(r->end - p), &why);
		if (n == 0) {
			size_t m = 1;

			while (p + m < r->end && m < 40 && (p[m] == '.' ||
			    p[m] == '+' || p[m] == '-' || p[m] == 'e' ||
			    p[m] == 'E' || (p[m] >= '0' && p[m] <= '9')))
				m++;
			fail_at(r, p, "invalid number '%.*s': %s", (int)m,
			    (const char *)p, why);
			return NULL;
		}
		r->p = p + n;
		if ((v = number_make((const char *)p, n, small,
		    sizeof(small))) == NULL)
			fail_at(r, p, "out of memory");
		return v;
	}
	for (i = 0; i < 3; i++) {
		n = strlen(lits[i]);
		if ((size_t)(r->end - p) >= n && memcmp(p, lits[i], n) == 0) {
			r->p = p + n;
			v = i == 0 ? json_true() : i == 1 ? json_false() :
			    json_null();
			return v;
		}
	}
	fail_at(r, p, "expected a JSON value, got %s",
	    show_byte(p, r->end, sb));
	return NULL;
}

/*
 * Reads the value due at r->p, at depth: opens an object or array, or
 * reads a scalar.  Returns it (new), or NULL on error.
 */
static json_t *
read_value(struct reader *r, size_t depth)
{
	unsigned char c = r->p < r->end ? *r->p : 0;
	json_t *v;

	if (c != '{' && c != '[')
		return read_scalar(r);
	if (depth == QMP_JSON_MAX_DEPTH) {
		fail_at(r, r->p, "nested deeper than %d levels",
		    QMP_JSON_MAX_DEPTH);
		return NULL;
	}
	v = c == '{' ? json_object() : json_array();
	if (v == NULL)
		fail_at(r, r->p, "out of memory");
	r->p++;
	return v;
}

/*
 * Estimated bytes jansson (2.14, 64-bit glibc) allocates for each kind of
 * value, measured: an object with its hash table, an array, a string or
 * number before its bytes, an object member before its key's bytes, an
 * array slot.  true, false and null are shared.
 */
#define COST_OBJECT	232
#define COST_ARRAY	136
#define COST_SCALAR	88
#define COST_MEMBER	96
#define COST_SLOT	16

/*
 * Adds the estimated memory of v, put under a key of klen bytes (an
 * object member) or in an array slot, to r->cost.  Returns 0, or -1 past
 * the budget, with the error set.
 */
static int
count_cost(struct reader *r, const json_t *v, int in_object, size_t klen)
{
	size_t c;

	if (json_is_object(v))
		c = COST_OBJECT;
	else if (json_is_array(v))
		c = COST_ARRAY;
	else if (json_is_string(v))
		c = COST_SCALAR + json_string_length(v);
	else
		c = 0;
	c += in_object ? COST_MEMBER + klen : COST_SLOT;
	r->cost += c;
	if (r->cost <= r->budget)
		return 0;
	fail_at(r, r->p, "over the memory budget: its values would take "
	    "more than %zu bytes (%d times the text's %zu bytes, plus %zu MiB)",
	    r->budget, QMP_JSON_MEMORY_FACTOR, (size_t)(r->end - r->buf),
	    QMP_JSON_MEMORY_BASE >> 20);
	if (r->err != NULL)
		r->err->text[JSON_ERROR_TEXT_LENGTH - 1] =
		    (char)json_error_out_of_memory;
	return -1;
}

/*
 * Adds v (stolen) to the open container parent, under key in an object.
 * Returns 0, or -1 when memory ran out.
 */
static int
add_value(struct reader *r, json_t *parent, const char *key, size_t klen,
    json_t *v)
{
	if (json_is_array(parent) ? json_array_append_new(parent, v) < 0 :
	    json_object_setn_new_nocheck(parent, key, klen, v) < 0) {
		fail_at(r, r->p, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * Reads what follows the opening bracket of v: its closing bracket, or
 * the first key of an object.  Returns 1 when v was closed at once, 0
 * when its first value is due, or -1 on error.
 */
static int
open_container(struct reader *r, json_t *v, const char **key, size_t *klen)
{
	r->p = skip_ws(r->p, r->end);
	if (r->p < r->end && *r->p == (json_is_object(v) ? '}' : ']')) {
		r->p++;
		return 1;
	}
	if (json_is_object(v) && read_key(r, v, key, klen) < 0)
		return -1;
	return 0;
}

/*
 * Reads what follows a value: the closing brackets of the containers it
 * ends, then a ',' (and the next key, in an object) or the end of the
 * text.  Returns 0 when a value is due, 1 at the end, or -1 on error.
 */
static int
end_value(struct reader *r, size_t *depth, const char **key, size_t *klen)
{
	json_t *top;
	char sb[8];
	unsigned char c;
	int isobj;

	for (;;) {
		r->p = skip_ws(r->p, r->end);
		if (*depth == 0) {
			if (r->p != r->end) {
				fail_at(r, r->p, "data after the JSON text: %s",
				    show_byte(r->p, r->end, sb));
				return -1;
			}
			return 1;
		}
		top = r->stack[*depth - 1];
		isobj = json_is_object(top);
		c = r->p < r->end ? *r->p : 0;
		if (c == (isobj ? '}' : ']')) {
			r->p++;
			(*depth)--;
			continue;
		}
		if (c != ',') {
			fail_at(r, r->p, "expected ',' or '%c' in an %s, "
			    "got %s", isobj ? '}' : ']', isobj ? "object" :
			    "array", show_byte(r->p, r->end, sb));
			return -1;
		}
		r->p = skip_ws(r->p + 1, r->end);
		if (isobj && read_key(r, top, key, klen) < 0)
			return -1;
		return 0;
	}
}

/*
 * Sets up r to read buf[0..len), its memory budget set from len, and
 * skips the leading blanks.
 */
static void
reader_init(struct reader *r, const char *buf, size_t len, unsigned flags,
    json_error_t *err)
{
	/* Only the stack's used entries are ever read: no need to clear it. */
	r->failed = 0;
	r->key.p = r->val.p = NULL;
	r->key.len = r->key.cap = r->val.len = r->val.cap = 0;
	r->buf = r->p = (const unsigned char *)buf;
	r->end = r->buf + len;
	r->flags = flags;
	r->err = err;
	r->cost = 0;
	r->budget = len > (SIZE_MAX - QMP_JSON_MEMORY_BASE) /
	    QMP_JSON_MEMORY_FACTOR ? SIZE_MAX : len * QMP_JSON_MEMORY_FACTOR +
	    QMP_JSON_MEMORY_BASE;
	r->p = skip_ws(r->p, r->end);
}

json_t *
qmp_json_loadb(const char *buf, size_t len, unsigned flags,
    json_error_t *err)
{
	struct reader rd, *r = &rd;
	json_t *root = NULL, *v;
	const char *key = NULL;
	size_t klen = 0, depth = 0;
	char sb[8];
	int rc;

	reader_init(r, buf, len, flags, err);
	if (!(flags & QMP_JSON_DECODE_ANY) && (r->p == r->end ||
	    (*r->p != '{' && *r->p != '['))) {
		fail_at(r, r->p, "expected '{' or '[', got %s",
		    show_byte(r->p, r->end, sb));
		goto out;
	}
	for (;;) {
		/* A value is due: a container opens or a scalar is read. */
		if ((v = read_value(r, depth)) == NULL)
			goto out;
		if (depth == 0)
			root = v;
		else if (add_value(r, r->stack[depth - 1], key, klen, v) < 0)
			goto out;
		if (count_cost(r, v, depth > 0 &&
		    json_is_object(r->stack[depth - 1]), klen) < 0)
			goto out;
		if (json_is_object(v) || json_is_array(v)) {
			r->stack[depth++] = v;
			if ((rc = open_container(r, v, &key, &klen)) < 0)
				goto out;
			if (rc == 0)
				continue;
			depth--;
		}
		/* A value ended: a ',' or the closing bracket follows. */
		if ((rc = end_value(r, &depth, &key, &klen)) < 0)
			goto out;
		if (rc == 1) {
			free(r->key.p);
			free(r->val.p);
			return root;
		}
	}
out:
	json_decref(root);
	free(r->key.p);
	free(r->val.p);
	return NULL;
}

/* ---- The writer ----------------------------------------------------- */

/* Bytes that a JSON string cannot hold as they are. */
static const unsigned char needs_escape[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
};

/*
 * Returns the index of the first byte of s[i..n) that needs an escape, or
 * n.  Eight bytes at a time, as skip_plain() does.
 */
static size_t
escape_free(const char *s, size_t i, size_t n)
{
	uint64_t w, q, bs;

	while (n - i >= 8) {
		memcpy(&w, s + i, 8);
		q = w ^ (ONES * '"');
		bs = w ^ (ONES * '\\');
		if ((((q - ONES) & ~q) | ((bs - ONES) & ~bs) |
		    ((w - ONES * 0x20) & ~w)) & HIGHS)
			break;
		i += 8;
	}
	while (i < n && !needs_escape[(unsigned char)s[i]])
		i++;
	return i;
}

/*
 * Where the writer puts its bytes: a stdio stream, or (fp NULL) a buffer
 * in memory.
 */
struct sink {
	FILE *fp;
	struct sbuf mem;
};

/* Returns 0 after writing s[0..n) to o, -1 on error. */
static int
put(struct sink *o, const char *s, size_t n)
{
	if (o->fp != NULL && n == 1)
		return putc(*s, o->fp) == EOF ? -1 : 0;
	if (o->fp != NULL)
		return n == 0 || fwrite(s, 1, n, o->fp) == n ? 0 : -1;
	return sbuf_add(&o->mem, s, n);
}

#define PUTS(o, lit)	put((o), (lit), sizeof(lit) - 1)

/* Returns 0 after writing a newline and 2 * depth spaces, -1 on error. */
static int
indent(struct sink *o, int depth)
{
	static const char spaces[] = "\n                                ";
	size_t n = 2 * (size_t)depth, k;

	if (put(o, spaces, 1) < 0)
		return -1;
	for (; n > 0; n -= k) {
		k = n < sizeof(spaces) - 2 ? n : sizeof(spaces) - 2;
		if (put(o, spaces + 1, k) < 0)
			return -1;
	}
	return 0;
}

/* Returns 0 after writing s as a JSON string literal to o, -1 on error. */
static int
write_string(struct sink *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, run;
	unsigned char c;
	char esc[6];
	size_t k;

	if (PUTS(o, "\"") < 0)
		return -1;
	while (i < n) {
		/* Copy a run of bytes that need no escape in one go. */
		run = escape_free(s, i, n);
		if (put(o, s + i, run - i) < 0)
			return -1;
		if (run == n)
			break;
		c = (unsigned char)s[run];
		esc[0] = '\\';
		k = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			k = 6;
		}
		if (put(o, esc, k) < 0)
			return -1;
		i = run + 1;
	}
	return PUTS(o, "\"");
}

/*
 * Writes the string v: a kept number verbatim, once checked to be exactly
 * one JSON number (never text injected into the output), else a quoted
 * string.  Returns 0, or -1 on error.
 */
static int
write_text(struct sink *o, const json_t *v)
{
	const char *num, *why;
	size_t n;

	if ((num = qmp_json_number_text(v)) != NULL) {
		n = json_string_length(v) - 1;
		if (number_span(num, n, &why) != n)
			return -1;
		return put(o, num, n);
	}
	return write_string(o, json_string_value(v), json_string_length(v));
}

/* Returns 0 after writing v at nesting depth, -1 on error. */
static int
write_value(struct sink *o, const json_t *v, int pretty, int depth)
{
	const char *key;
	char buf[32];
	json_t *item;
	size_t i, n;
	char *text;
	int r, isobj;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		isobj = json_is_object(v);
		if (put(o, isobj ? "{" : "[", 1) < 0)
			return -1;
		i = 0;
		if (isobj) {
			json_object_foreach(mutable(v), key, item) {
				if ((i++ > 0 && PUTS(o, ",") < 0) ||
				    (pretty && indent(o, depth + 1) < 0) ||
				    write_string(o, key, strlen(key)) < 0 ||
				    (pretty ? PUTS(o, ": ") : PUTS(o, ":")) < 0 ||
				    write_value(o, item, pretty, depth + 1) < 0)
					return -1;
			}
		} else {
			json_array_foreach(v, n, item) {
				if ((i++ > 0 && PUTS(o, ",") < 0) ||
				    (pretty && indent(o, depth + 1) < 0) ||
				    write_value(o, item, pretty, depth + 1) < 0)
					return -1;
			}
		}
		if (pretty && i > 0 && indent(o, depth) < 0)
			return -1;
		return put(o, isobj ? "}" : "]", 1);
	case JSON_STRING:
		return write_text(o, v);
	case JSON_INTEGER:
		r = snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return r < 0 ? -1 : put(o, buf, (size_t)r);
	case JSON_TRUE:
		return PUTS(o, "true");
	case JSON_FALSE:
		return PUTS(o, "false");
	case JSON_NULL:
		return PUTS(o, "null");
	default:
		/* Reals: jansson's own formatting. */
		if ((text = json_dumps(v, JSON_ENCODE_ANY)) == NULL)
			return -1;
		r = put(o, text, strlen(text));
		free(text);
		return r;
	}
}

int
qmp_json_write(FILE *fp, const json_t *v, int pretty)
{
	struct sink o = { fp, { NULL, 0, 0 } };

	return write_value(&o, v, pretty, 0);
}

char *
qmp_json_dumps(const json_t *v, size_t *len)
{
	struct sink o = { NULL, { NULL, 0, 0 } };

	*len = 0;
	if (write_value(&o, v, 0, 0) < 0 || sbuf_add(&o.mem, "", 1) < 0) {
		free(o.mem.p);
		return NULL;
	}
	*len = o.mem.len - 1;
	return o.mem.p;
}
