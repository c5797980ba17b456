/* SPDX-License-Identifier: MIT */
/*
 * unit_json.c: table-driven checks of qmp_json.c, the reader, writer and
 * exact number comparison.  Prints "N passed, N failed"; exit status 1
 * when anything failed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp_json.h"

static int passed, failed;

static void
check(int ok, const char *what, const char *detail)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
}

/* Parses in (length n) and returns its compact or pretty text. */
static char *
roundtrip(const char *in, size_t n, unsigned flags, int pretty,
    json_error_t *err)
{
	json_t *v = qmp_json_loadb(in, n, flags, err);
	char *out = NULL;
	size_t size = 0;
	FILE *fp;

	if (v == NULL)
		return NULL;
	fp = open_memstream(&out, &size);
	if (fp == NULL || qmp_json_write(fp, v, pretty) < 0)
		abort();
	fclose(fp);
	json_decref(v);
	return out;
}

/* Text in, exactly this text out. */
static const struct {
	const char *in, *out;
	unsigned flags;
	int pretty;
} writes[] = {
	{ "{\"a\":18446744073709551615}", "{\"a\":18446744073709551615}", 0, 0 },
	{ "[18446744073709551615, -9223372036854775809, "
	  "12345678901234567890123, 1e400, 4.9e-324, 1.0, -0.0, 0.1, 2E+10, "
	  "0, -0, 1E-2, 1e+0]",
	  "[18446744073709551615,-9223372036854775809,12345678901234567890123,"
	  "1e400,4.9e-324,1.0,-0.0,0.1,2E+10,0,-0,1E-2,1e+0]", 0, 0 },
	{ " \r\n\t{ \"a\" : [ 1 , 2 ] , \"b\" : { } , \"c\":[ ] } \n",
	  "{\"a\":[1,2],\"b\":{},\"c\":[]}", 0, 0 },
	{ "{\"a\":[1,{}],\"b\":[],\"c\":{\"d\":0.50}}",
	  "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": [],\n  \"c\": {\n"
	  "    \"d\": 0.50\n  }\n}", 0, 1 },
	{ "[\"\\u00e9\\ud83d\\ude00\\u00E9\", \"\\u0000x\", \"a\\/b\"]",
	  "[\"\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9\",\"\\u0000x\",\"a/b\"]", 0, 0 },
	{ "[\"\\\"\\\\\\b\\f\\n\\r\\t\\u001f\x7f\"]",
	  "[\"\\\"\\\\\\b\\f\\n\\r\\t\\u001F\x7f\"]", 0, 0 },
	{ "[\"\xe2\x82\xac\xf4\x8f\xbf\xbf\xed\x9f\xbf\"]",
	  "[\"\xe2\x82\xac\xf4\x8f\xbf\xbf\xed\x9f\xbf\"]", 0, 0 },
	{ "[true,false,null]", "[true,false,null]", 0, 0 },
	{ " 12 ", "12", QMP_JSON_DECODE_ANY, 0 },
	{ "\"x\"", "\"x\"", QMP_JSON_DECODE_ANY, 0 },
	{ "{\"a\":1,\"a\":2}", "{\"a\":2}", 0, 0 },
	{ "{\"a\":{\"a\":1},\"b\":{\"a\":1}}", "{\"a\":{\"a\":1},\"b\":{\"a\":1}}",
	  QMP_JSON_REJECT_DUPLICATES, 0 },
};

/* Text in, an error whose message holds this. */
static const struct {
	const char *in;
	unsigned flags;
	const char *msg;
	int pos;	/* expected byte offset, or -1 */
} errors[] = {
	{ "[01]", 0, "invalid number '01': no digit may follow a leading 0", 1 },
	{ "[1.]", 0, "invalid number '1.': digits must follow '.'", 1 },
	{ "[-]", 0, "invalid number '-': a digit must follow '-'", 1 },
	{ "[1e]", 0, "invalid number '1e': the exponent needs digits", 1 },
	{ "[1e+]", 0, "the exponent needs digits", 1 },
	{ "[-01]", 0, "leading 0", 1 },
	{ "[.5]", 0, "expected a JSON value, got '.'", 1 },
	{ "[+1]", 0, "expected a JSON value, got '+'", 1 },
	{ "[NaN]", 0, "expected a JSON value", 1 },
	{ "[Infinity]", 0, "expected a JSON value", 1 },
	{ "[-Infinity]", 0, "invalid number", 1 },
	{ "[1,]", 0, "expected a JSON value, got ']'", 3 },
	{ "{\"a\":1,}", 0, "expected a string (an object key), got '}'", 7 },
	{ "{\"a\" 1}", 0, "expected ':'", 5 },
	{ "[1 2]", 0, "expected ',' or ']' in an array, got '2'", 3 },
	{ "{\"a\":1 \"b\"}", 0, "expected ',' or '}' in an object", 7 },
	{ "[tru]", 0, "expected a JSON value, got 't'", 1 },
	{ "[1] x", 0, "data after the JSON text: 'x'", 4 },
	{ "[1][2]", 0, "data after the JSON text", 3 },
	{ "", 0, "expected '{' or '[', got the end of the input", 0 },
	{ "", QMP_JSON_DECODE_ANY, "unexpected end of the input", 0 },
	{ "1", 0, "expected '{' or '['", 0 },
	{ "[1", 0, "got the end of the input", 2 },
	{ "[\"abc", 0, "a string is not closed", 1 },
	{ "[\"a\nb\"]", 0, "control character 0x0A in a string", 3 },
	{ "[\"\\x\"]", 0, "invalid escape '\\x'", 2 },
	{ "[\"\\u12\"]", 0, "\\u needs four hex digits", 2 },
	{ "[\"\\ud800\"]", 0, "lone high surrogate \\uD800", 2 },
	{ "[\"\\ud800\\u0041\"]", 0, "lone high surrogate", 2 },
	{ "[\"\\udc00\"]", 0, "lone low surrogate \\uDC00", 2 },
	{ "{\"a\\u0000\":1}", 0, "NUL (\\u0000) in an object key", 1 },
	{ "[\"\xff\"]", 0, "invalid UTF-8 (byte 0xFF)", 2 },
	{ "[\"\xc0\x80\"]", 0, "invalid UTF-8 (byte 0xC0)", 2 },
	{ "[\"\xed\xa0\x80\"]", 0, "invalid UTF-8 (byte 0xED)", 2 },
	{ "[\"\xf4\x90\x80\x80\"]", 0, "invalid UTF-8", 2 },
	{ "[\"\xe2\x82\"]", 0, "invalid UTF-8", 2 },
	{ "[\"\x80\"]", 0, "invalid UTF-8", 2 },
	{ "\xef\xbb\xbf[]", 0, "expected '{' or '['", 0 },
	{ "{\"a\":1,\"b\":2,\"a\":3}", QMP_JSON_REJECT_DUPLICATES,
	  "duplicate key \"a\"", 13 },
	{ "[{\"x\\n\":1,\"x\\n\":2}]", QMP_JSON_REJECT_DUPLICATES,
	  "duplicate key \"x?\"", 10 },
};

/* Two number texts and the sign of their comparison. */
static const struct {
	const char *a, *b;
	int cmp;
} cmps[] = {
	{ "1", "1.0", 0 }, { "1", "1e0", 0 }, { "1.0", "1e0", 0 },
	{ "100", "1e2", 0 }, { "1E+2", "100.000", 0 }, { "-0.0", "0", 0 },
	{ "-0", "0e-5", 0 }, { "0.00001e5", "1", 0 }, { "123.45", "12345e-2", 0 },
	{ "12", "1.2e1", 0 }, { "2E+10", "20000000000", 0 },
	{ "18446744073709551614", "18446744073709551615", -1 },
	{ "9007199254740992", "9007199254740993", -1 },
	{ "-9223372036854775809", "-9223372036854775808", -1 },
	{ "1e400", "1e401", -1 }, { "1e400", "9.99e399", 1 },
	{ "1e-99999999999999999999", "0", 1 },
	{ "-1e-99999999999999999999", "0", -1 },
	{ "1e-99999999999999999999", "1e-99999999999999999998", -1 },
	{ "-1e99999999999999999999", "-1e99999999999999999998", -1 },
	{ "10e99999999999999999999", "1e100000000000000000000", 0 },
	{ "0.1e-99999999999999999999", "1e-100000000000000000000", 0 },
	{ "1e9223372036854775807", "1e9223372036854775808", -1 },
	{ "1e-9223372036854775808", "1e-9223372036854775809", 1 },
	{ "1e00000000000000000000000001", "10", 0 },
	{ "-5", "3", -1 }, { "3", "-5", 1 }, { "1.5", "1.50001", -1 },
	{ "0.1", "0.10000000000000001", -1 }, { "4.9e-324", "5e-324", -1 },
	{ "1000", "999.9999", 1 }, { "-1000", "-999.9999", -1 },
	{ "1", "x", -1 }, { "x", "1", 1 },
};

/* Number texts and qmp_json_int's verdict. */
static const struct {
	const char *text;
	int ok;
	long long value;
} ints[] = {
	{ "1.0", 1, 1 }, { "1e2", 1, 100 }, { "-0", 1, 0 }, { "-0.0e7", 1, 0 },
	{ "100e-2", 1, 1 }, { "9223372036854775807", 1, LLONG_MAX },
	{ "-9223372036854775808", 1, LLONG_MIN },
	{ "92233720368547758.07e2", 1, LLONG_MAX },
	{ "9223372036854775808", 0, 0 }, { "-9223372036854775809", 0, 0 },
	{ "18446744073709551615", 0, 0 }, { "1.5", 0, 0 }, { "1e19", 0, 0 },
	{ "1e-1", 0, 0 }, { "1e99999999999999999999", 0, 0 },
	{ "123456", 1, 123456 },
};

/* Two texts and whether qmp_json_equal takes them for the same value. */
static const struct {
	const char *a, *b;
	int eq;
} equals[] = {
	{ "{\"id\":1.0}", "{\"id\":1}", 1 },
	{ "[1e2,-0.0]", "[100,0]", 1 },
	{ "{\"a\":1,\"b\":[true,null,\"s\"]}", "{\"b\":[true,null,\"s\"],\"a\":1}",
	  1 },
	{ "{\"a\":\"x\"}", "{\"a\":\"y\"}", 0 },
	{ "[\"1\"]", "[1]", 0 },
	{ "[1]", "[1,1]", 0 },
	{ "{\"a\":1}", "{\"b\":1}", 0 },
	{ "[18446744073709551615]", "[18446744073709551614]", 0 },
	{ "[\"a\\u0000b\"]", "[\"a\\u0000c\"]", 0 },
	{ "[{}]", "[[]]", 0 },
};

static void
test_writes(void)
{
	json_error_t err;
	size_t i;
	char *out;

	for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		out = roundtrip(writes[i].in, strlen(writes[i].in),
		    writes[i].flags, writes[i].pretty, &err);
		check(out != NULL && strcmp(out, writes[i].out) == 0,
		    writes[i].in, out ? out : err.text);
		free(out);
	}
}

static void
test_errors(void)
{
	json_error_t err;
	char what[200];
	size_t i;
	json_t *v;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		v = qmp_json_loadb(errors[i].in, strlen(errors[i].in),
		    errors[i].flags, &err);
		snprintf(what, sizeof(what), "error for %s", errors[i].in);
		check(v == NULL && strstr(err.text, errors[i].msg) != NULL &&
		    (errors[i].pos < 0 || err.position == errors[i].pos),
		    what, v ? "parsed" : err.text);
		if (v == NULL && errors[i].pos >= 0 &&
		    err.position != errors[i].pos)
			printf("  position %d\n", err.position);
		json_decref(v);
	}
}

/* Nesting: 1024 levels parse, 1025 do not, 100000 fail cleanly. */
static void
test_depth(void)
{
	static const size_t depths[] = { 1024, 1025, 100000 };
	json_error_t err;
	size_t i, d;
	char *s;
	json_t *v;

	for (i = 0; i < 3; i++) {
		d = depths[i];
		s = malloc(2 * d);
		memset(s, '[', d);
		memset(s + d, ']', d);
		v = qmp_json_loadb(s, 2 * d, 0, &err);
		check((v != NULL) == (d <= QMP_JSON_MAX_DEPTH) &&
		    (v != NULL || strstr(err.text, "nested deeper") != NULL),
		    "nesting depth", v ? NULL : err.text);
		json_decref(v);
		free(s);
	}
}

/* Long strings: plain, with escapes and UTF-8 at the edges of words. */
static void
test_long_strings(void)
{
	static const char *const pieces[] = { "", "\\n", "\xc3\xa9",
	    "\\u00e9", "\xf0\x9f\x98\x80" };
	size_t i, j, n = 100000;
	json_error_t err;
	char *in, *out;

	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		for (j = 0; j < 9; j++) {
			size_t k = strlen(pieces[i]), len = 0;

			in = malloc(n + 64);
			memcpy(in, "[\"", 2);
			len = 2;
			memset(in + len, 'a', n / 2 + j);
			len += n / 2 + j;
			memcpy(in + len, pieces[i], k);
			len += k;
			memset(in + len, 'b', n / 2);
			len += n / 2;
			memcpy(in + len, "\"]", 3);
			len += 2;
			out = roundtrip(in, len, 0, 0, &err);
			if (i == 1 || i == 2 || i == 4 || i == 0)
				check(out != NULL && strcmp(out, in) == 0,
				    "long string", out ? NULL : err.text);
			else
				check(out != NULL && strlen(out) == len - 4,
				    "long string with \\u", out ? NULL :
				    err.text);
			free(out);
			free(in);
		}
	}
}

static void
test_numbers(void)
{
	char what[200];
	long long got;
	size_t i;
	json_t *v;
	int c;

	for (i = 0; i < sizeof(cmps) / sizeof(cmps[0]); i++) {
		c = qmp_json_number_cmp(cmps[i].a, strlen(cmps[i].a), cmps[i].b,
		    strlen(cmps[i].b));
		snprintf(what, sizeof(what), "cmp %s %s", cmps[i].a, cmps[i].b);
		check((c > 0) - (c < 0) == cmps[i].cmp, what, NULL);
		c = qmp_json_number_cmp(cmps[i].b, strlen(cmps[i].b), cmps[i].a,
		    strlen(cmps[i].a));
		check((c > 0) - (c < 0) == -cmps[i].cmp, what, "reversed");
	}
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		v = qmp_json_number_new(ints[i].text, strlen(ints[i].text));
		snprintf(what, sizeof(what), "int %s", ints[i].text);
		got = 42;
		c = v != NULL && qmp_json_int(v, &got) == 0;
		check(v != NULL && c == ints[i].ok && (!c ||
		    got == ints[i].value), what, NULL);
		json_decref(v);
	}
	v = json_integer(-7);
	check(qmp_json_int(v, &got) == 0 && got == -7, "int of an integer",
	    NULL);
	check(qmp_json_is_number(v), "integer is a number", NULL);
	json_decref(v);
	check(qmp_json_number_new("01", 2) == NULL, "number_new 01", NULL);
	check(qmp_json_number_new(" 1", 2) == NULL, "number_new ' 1'", NULL);
	check(qmp_json_number_new("", 0) == NULL, "number_new ''", NULL);
	check(qmp_json_number_new("1 ", 2) == NULL, "number_new '1 '", NULL);
	v = qmp_json_number_new("-1.5e+3", 7);
	check(v != NULL && strcmp(qmp_json_number_text(v), "-1.5e+3") == 0 &&
	    qmp_json_is_number(v) && !qmp_json_is_string(v),
	    "number_new -1.5e+3", NULL);
	json_decref(v);
	v = json_string("1");
	check(qmp_json_number_text(v) == NULL && qmp_json_is_string(v) &&
	    !qmp_json_is_number(v), "a string is no number", NULL);
	json_decref(v);
}

static void
test_equal(void)
{
	json_error_t err;
	json_t *a, *b;
	size_t i;

	for (i = 0; i < sizeof(equals) / sizeof(equals[0]); i++) {
		a = qmp_json_loadb(equals[i].a, strlen(equals[i].a), 0, &err);
		b = qmp_json_loadb(equals[i].b, strlen(equals[i].b), 0, &err);
		check(a != NULL && b != NULL && qmp_json_equal(a, b) ==
		    equals[i].eq && qmp_json_equal(b, a) == equals[i].eq,
		    equals[i].a, equals[i].b);
		json_decref(a);
		json_decref(b);
	}
	/* A kept number against jansson's own integers and reals. */
	a = qmp_json_number_new("1.0", 3);
	b = json_integer(1);
	check(qmp_json_equal(a, b), "1.0 equals jansson 1", NULL);
	json_decref(b);
	b = json_real(1.0);
	check(qmp_json_equal(a, b), "1.0 equals jansson 1.0", NULL);
	json_decref(b);
	json_decref(a);
	a = qmp_json_number_new("0.1", 3);
	b = json_real(0.1);
	check(!qmp_json_equal(a, b), "0.1 is not the double 0.1", NULL);
	json_decref(b);
	json_decref(a);
}

static void
test_dumps(void)
{
	static const char text[] = "{\"execute\":\"x\",\"arguments\":"
	    "{\"n\":18446744073709551615,\"f\":0.1,\"s\":\"\\u0000\"}}";
	json_error_t err;
	json_t *v;
	char *out;
	size_t len;

	v = qmp_json_loadb(text, strlen(text), QMP_JSON_REJECT_DUPLICATES,
	    &err);
	json_object_set_new(v, "id", json_integer(3));
	out = qmp_json_dumps(v, &len);
	check(out != NULL && len == strlen(out) && strcmp(out, "{\"execute\":"
	    "\"x\",\"arguments\":{\"n\":18446744073709551615,\"f\":0.1,"
	    "\"s\":\"\\u0000\"},\"id\":3}") == 0, "dumps", out);
	free(out);
	json_decref(v);
}

/*
 * A string marked as a kept number whose text is not exactly one JSON
 * number, as someone building a tree by hand could make: the writer
 * refuses it rather than print the text verbatim into the output.
 */
static void
test_forged_numbers(void)
{
	static const char *const forged[] = { "1,\"x\":2", "1 ", "-",
	    "01", "1.", "1e", "0x10", "NaN", "1}{", "\"s\"" };
	char buf[64], *out;
	json_t *v, *o;
	size_t i, len;
	FILE *fp;

	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		buf[0] = (char)0xff;
		memcpy(buf + 1, forged[i], strlen(forged[i]) + 1);
		v = json_stringn_nocheck(buf, strlen(forged[i]) + 1);
		o = json_pack("{s:O}", "n", v);
		out = qmp_json_dumps(o, &len);
		check(out == NULL, "forged number refused by dumps", forged[i]);
		free(out);
		fp = fopen("/dev/null", "w");
		check(fp != NULL && qmp_json_write(fp, o, 1) < 0,
		    "forged number refused by write", forged[i]);
		if (fp != NULL)
			fclose(fp);
		json_decref(o);
		json_decref(v);
	}
	v = qmp_json_number_new("-1.5e+3", 7);
	out = qmp_json_dumps(v, &len);
	check(out != NULL && strcmp(out, "-1.5e+3") == 0, "real number kept",
	    out);
	free(out);
	json_decref(v);
}

/*
 * The layout is jansson's: compact as JSON_COMPACT, pretty as
 * JSON_INDENT(2), on values jansson holds alike (no reals), nested deeper
 * than one line of the writer's spaces.
 */
static void
test_layout(void)
{
	static const char text[] = "{\"a\":[1,{},[],{\"b\":\"x\\ty\"}],"
	    "\"c\":{\"d\":[true,false,null,-5]}}";
	json_error_t err;
	json_t *v, *w;
	char *ours, *theirs;
	size_t i, n;
	FILE *fp;
	int pretty;

	v = json_loads(text, 0, &err);
	for (i = 0; i < 40; i++)
		v = json_pack("{s:o,s:[i]}", "k", v, "l", (int)i);
	for (pretty = 0; pretty < 2; pretty++) {
		ours = NULL;
		fp = open_memstream(&ours, &n);
		qmp_json_write(fp, v, pretty);
		fclose(fp);
		theirs = json_dumps(v, pretty ? JSON_INDENT(2) : JSON_COMPACT);
		check(ours != NULL && theirs != NULL && strcmp(ours, theirs) == 0,
		    pretty ? "pretty layout as jansson's" :
		    "compact layout as jansson's", NULL);
		w = qmp_json_loadb(ours, n, 0, &err);
		check(w != NULL && qmp_json_equal(v, w), "layout reads back",
		    NULL);
		json_decref(w);
		free(ours);
		free(theirs);
	}
	json_decref(v);
}

int
main(void)
{
	test_writes();
	test_errors();
	test_depth();
	test_long_strings();
	test_numbers();
	test_equal();
	test_dumps();
	test_forged_numbers();
	test_layout();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
