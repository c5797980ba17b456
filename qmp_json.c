/*
 * qmp_json.c: JSON text in and out for the protocol library.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qmp_json.h"

/* Bytes that a JSON string cannot hold as they are. */
static const unsigned char needs_escape[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* Returns 0 after writing s as a JSON string literal to fp, -1 on error. */
static int
write_string(FILE *fp, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, run;
	unsigned char c;
	char esc[7];

	if (putc('"', fp) == EOF)
		return -1;
	while (i < n) {
		/* Copy a run of bytes that need no escape in one go. */
		for (run = i; run < n && !needs_escape[(unsigned char)s[run]];
		    run++)
			;
		if (run > i && fwrite(s + i, 1, run - i, fp) != run - i)
			return -1;
		if (run == n)
			break;
		c = (unsigned char)s[run];
		esc[0] = '\\';
		esc[2] = '\0';
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
			esc[6] = '\0';
		}
		if (fputs(esc, fp) == EOF)
			return -1;
		i = run + 1;
	}
	return putc('"', fp) == EOF ? -1 : 0;
}

/*
 * Returns 0 after writing v as JSON to fp, compact or indented by two
 * spaces a level (as jansson would), -1 on error.  Strings are copied in
 * runs, which keeps multi-megabyte replies fast.
 */
static int
write_json(FILE *fp, json_t *v, int pretty, int depth)
{
	const char *key;
	json_t *item;
	size_t i, n;
	char *text;
	int r;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		n = json_is_object(v) ? json_object_size(v) :
		    json_array_size(v);
		if (putc(json_is_object(v) ? '{' : '[', fp) == EOF)
			return -1;
		i = 0;
		if (json_is_object(v)) {
			json_object_foreach(v, key, item) {
				if ((i++ > 0 && putc(',', fp) == EOF) ||
				    (pretty && fprintf(fp, "\n%*s",
				    2 * (depth + 1), "") < 0) ||
				    write_string(fp, key, strlen(key)) < 0 ||
				    fputs(pretty ? ": " : ":", fp) == EOF ||
				    write_json(fp, item, pretty, depth + 1) < 0)
					return -1;
			}
		} else {
			json_array_foreach(v, n, item) {
				if ((i++ > 0 && putc(',', fp) == EOF) ||
				    (pretty && fprintf(fp, "\n%*s",
				    2 * (depth + 1), "") < 0) ||
				    write_json(fp, item, pretty, depth + 1) < 0)
					return -1;
			}
		}
		if (pretty && i > 0 && fprintf(fp, "\n%*s", 2 * depth, "") < 0)
			return -1;
		return putc(json_is_object(v) ? '}' : ']', fp) == EOF ? -1 : 0;
	case JSON_STRING:
		return write_string(fp, json_string_value(v),
		    json_string_length(v));
	case JSON_INTEGER:
		return fprintf(fp, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v)) < 0 ? -1 : 0;
	case JSON_TRUE:
		return fputs("true", fp) == EOF ? -1 : 0;
	case JSON_FALSE:
		return fputs("false", fp) == EOF ? -1 : 0;
	case JSON_NULL:
		return fputs("null", fp) == EOF ? -1 : 0;
	default:
		/* Reals: jansson's own formatting. */
		if ((text = json_dumps(v, JSON_ENCODE_ANY)) == NULL)
			return -1;
		r = fputs(text, fp) == EOF ? -1 : 0;
		free(text);
		return r;
	}
}

int
qmp_json_write(FILE *fp, const json_t *v, int pretty)
{
	return write_json(fp, (json_t *)(uintptr_t)v, pretty, 0);
}

int
qmp_json_int(const json_t *v, long long *out)
{
	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 0;
}

char *
qmp_json_dumps(const json_t *v, size_t *len)
{
	char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (t != NULL && len != NULL)
		*len = strlen(t);
	return t;
}

json_t *
qmp_json_loadb(const char *text, size_t len, unsigned flags,
    json_error_t *err)
{
	return json_loadb(text, len, (flags & QMP_JSON_DECODE_ANY ? JSON_DECODE_ANY :
	    0) | (flags & QMP_JSON_REJECT_DUPLICATES ? JSON_REJECT_DUPLICATES : 0), err);
}

int
qmp_json_is_number(const json_t *v)
{
	return json_is_number(v);
}

int
qmp_json_equal(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	return json_equal(a, b);
}

int
qmp_json_is_string(const json_t *v)
{
	return json_is_string(v);
}
