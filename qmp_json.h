/* SPDX-License-Identifier: MIT */
/*
 * qmp_json.h: JSON in which every number keeps the characters it was
 * written with.
 *
 * jansson holds an integer in 64 signed bits and a real in a double, so
 * 18446744073709551615 would be refused and 0.1 would come back as
 * 0.10000000000000001.  The reader here builds ordinary jansson values
 * except for numbers: a number is kept as its text, in a jansson string
 * whose first byte is 0xFF followed by the number's exact characters.
 * 0xFF never occurs in valid UTF-8, and every real string is checked to
 * be valid UTF-8, so such a string cannot stand for text: a "kept
 * number" is unambiguous.  The writer prints a kept number verbatim,
 * and the comparisons take its exact decimal value, never a double.
 *
 * Code that looks at values must therefore ask qmp_json_is_string()
 * (a real string) or qmp_json_is_number() rather than json_is_string()
 * or json_is_number().
 *
 * Nothing here prints, exits or keeps global state.
 */
#ifndef QMP_JSON_H
#define QMP_JSON_H

#include <stdio.h>

#include <jansson.h>

/* Containers nested deeper than this are an error (QEMU's own limit). */
#define QMP_JSON_MAX_DEPTH		1024

/*
 * The memory budget of qmp_json_loadb: the values read from a text of len
 * bytes may take at most QMP_JSON_MEMORY_FACTOR * len +
 * QMP_JSON_MEMORY_BASE bytes, as estimated while reading (jansson spends
 * about 230 bytes on an empty object, so "[{},{},...]" would otherwise
 * cost 78 times its size).  Past it, the text is refused.
 */
#define QMP_JSON_MEMORY_FACTOR		8
#define QMP_JSON_MEMORY_BASE		((size_t)64 << 20)

/* Flags for qmp_json_loadb. */
#define QMP_JSON_REJECT_DUPLICATES	0x1	/* a key twice in one object */
#define QMP_JSON_DECODE_ANY		0x2	/* any value, not only {} or [] */

/*
 * Parses buf[0..len) as one JSON text (RFC 8259, strictly: whitespace
 * around it only).  Returns the value (new), or NULL with err->text
 * saying what is wrong and err->position the byte offset where
 * (err->line and err->column, 1-based, count bytes).  Without
 * QMP_JSON_DECODE_ANY the text must be an object or an array.  Strings
 * may hold NUL (\u0000), object keys may not.  A later duplicate key
 * replaces the earlier one unless QMP_JSON_REJECT_DUPLICATES is given.
 * A text whose values are over the memory budget (above) is refused,
 * with json_error_code(err) json_error_out_of_memory.
 */
json_t *qmp_json_loadb(const char *buf, size_t len, unsigned flags,
    json_error_t *err);

/*
 * Returns a kept number (new) holding text[0..len), or NULL when that is
 * not exactly one JSON number or memory ran out.
 */
json_t *qmp_json_number_new(const char *text, size_t len);
/* Returns the characters of a kept number (NUL-terminated), or NULL. */
const char *qmp_json_number_text(const json_t *v);
/*
 * Returns the text of v when v is a string that is text (not a kept
 * number), NUL-terminated (it may hold NUL: json_string_length says how
 * long), or NULL for anything else: the one way to read a string.
 */
const char *qmp_json_string(const json_t *v);
/* Returns 1 for a kept number, a jansson integer or a jansson real. */
int qmp_json_is_number(const json_t *v);
/* Returns 1 for a string that is text, not a kept number. */
int qmp_json_is_string(const json_t *v);
/*
 * Returns 0 with *out set when v is a number whose exact value is an
 * integer that fits in a long long (1, 1.0, 1e2, -0), else -1.
 */
int qmp_json_int(const json_t *v, long long *out);
/*
 * Returns 0 with *out set to the double nearest to the number v (what a
 * server that holds it as a double, as QEMU does a number with a fraction
 * or an exponent, will see), or -1 when v is no number or that double is
 * not finite (1e400).
 */
int qmp_json_double(const json_t *v, double *out);
/*
 * Compares two JSON number texts by exact decimal value: returns <0, 0
 * or >0.  -0 equals 0; 1, 1.0 and 1e0 are equal.  Text that is not a
 * number orders after every number (and compares by bytes among itself).
 */
int qmp_json_number_cmp(const char *a, size_t alen, const char *b,
    size_t blen);
/*
 * Returns 1 when a and b are the same JSON value: like json_equal, but
 * numbers compare by exact value, a kept number with a jansson integer
 * or real as well.
 */
int qmp_json_equal(const json_t *a, const json_t *b);

/*
 * Writes v as JSON to fp: compact ({"a":1,"b":[2,3]}) or, with pretty,
 * indented by two spaces a level with ": " after keys.  Strings are
 * UTF-8 with only '"', '\\' and bytes below 0x20 escaped; kept numbers
 * are written verbatim, once checked to be exactly one JSON number (a
 * marked string that is not is an error, never text injected into the
 * output).  Returns 0, or -1 when writing failed or v holds such a
 * string.
 */
int qmp_json_write(FILE *fp, const json_t *v, int pretty);
/*
 * Returns v written compactly as a NUL-terminated text (free() it) with
 * its length in *len, or NULL when memory ran out or v holds a marked
 * string that is not a number (see qmp_json_write).
 */
char *qmp_json_dumps(const json_t *v, size_t *len);

#endif
