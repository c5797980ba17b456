/*
 * qmp_json.h: JSON text in and out for the protocol library.
 */
#ifndef QMP_JSON_H
#define QMP_JSON_H

#include <stdio.h>

#include <jansson.h>

#define QMP_JSON_REJECT_DUPLICATES	0x1	/* a key twice in one object */
#define QMP_JSON_DECODE_ANY		0x2	/* any value, not only {} or [] */

/* Parses text[0..len) into a new value, or returns NULL with *err set. */
json_t *qmp_json_loadb(const char *text, size_t len, unsigned flags,
    json_error_t *err);
/* Returns 1 for a string that is text. */
int qmp_json_is_string(const json_t *v);
/* Returns 1 when v is a number. */
int qmp_json_is_number(const json_t *v);
/* Returns 1 when a and b are equal, numbers by value. */
int qmp_json_equal(const json_t *a, const json_t *b);

/* Returns 0 with *out set when v is an integer that fits, else -1. */
int qmp_json_int(const json_t *v, long long *out);
/* Returns v as compact JSON text (new, NUL-terminated), or NULL. */
char *qmp_json_dumps(const json_t *v, size_t *len);

/* Returns 0 after writing v as JSON to fp, compact or indented, -1 on error. */
int qmp_json_write(FILE *fp, const json_t *v, int pretty);

#endif
