/* SPDX-License-Identifier: MIT */
/*
 * until.c: --until, one command (-c) run again until its return value
 * passes every test, then printed.
 *
 * A test has --match's syntax and meaning (KEY=VALUE, numbers by exact
 * value; KEY present and not null; !KEY absent or null), applied to the
 * return value instead of an event's data.  A dotted KEY walks objects
 * by member name and arrays by index: devices.0.name.  When the return
 * value is an array (query-jobs, query-block, qom-list), a test whose
 * KEY starts with an index (0.status, !0) looks at the array as a
 * whole; all the other tests must pass on one and the same element, so
 * that --until id=j1 --until status=concluded on query-jobs waits until
 * job j1 concluded.
 *
 * The pause between tries grows from 50 ms to 1 s, or is --interval;
 * events that come meanwhile are taken as usual (--events logs them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qmp_json.h"
#include "qmpctl.h"

#define UNTIL_MIN_MS	50
#define UNTIL_MAX_MS	1000
#define LAST_MAX	1000	/* bytes of the last value in a message */

/* Takes --until TEST into o, or exits with a usage error. */
void
add_until(struct options *o, const char *s)
{
	struct match *m;

	o->untils = must(reallocarray(o->untils, o->nuntils + 1,
	    sizeof(*o->untils)));
	m = &o->untils[o->nuntils++];
	memset(m, 0, sizeof(*m));
	if (parse_match(m, s) < 0)
		usage_error("--until: expected KEY=VALUE, KEY or !KEY with a "
		    "KEY such as status, a.b or 0.id, got '%s'", s);
}

/* Frees what add_until allocated. */
void
free_untils(struct options *o)
{
	size_t i;

	for (i = 0; i < o->nuntils; i++) {
		free(o->untils[i].key);
		json_decref(o->untils[i].value);
	}
	free(o->untils);
}

/*
 * Returns the index that the path component key[0..n) stands for, or -1
 * when it is not a decimal index.
 */
static long
index_of(const char *key, size_t n)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 9)
		return -1;
	for (i = 0; i < n; i++) {
		if (key[i] < '0' || key[i] > '9')
			return -1;
		v = v * 10 + (key[i] - '0');
	}
	return v;
}

/*
 * Returns the member of v at the dotted path key (borrowed), walking
 * objects by name and arrays by index, or NULL.
 */
static json_t *
member(json_t *v, const char *key)
{
	const char *dot;
	size_t n;
	long i;

	while (v != NULL) {
		dot = strchr(key, '.');
		n = dot ? (size_t)(dot - key) : strlen(key);
		if (json_is_array(v))
			v = (i = index_of(key, n)) < 0 ? NULL :
			    json_array_get(v, (size_t)i);
		else
			v = json_object_getn(v, key, n);
		if (dot == NULL)
			return v;
		key = dot + 1;
	}
	return NULL;
}

/* Returns 1 when v passes the test m (as --match on an event's data). */
static int
passes(json_t *v, const struct match *m)
{
	return match_passes(member(v, m->key), m);
}

/* Returns 1 when the test's key starts with an array index. */
static int
starts_with_index(const struct match *m)
{
	const char *dot = strchr(m->key, '.');

	return index_of(m->key, dot ? (size_t)(dot - m->key) :
	    strlen(m->key)) >= 0;
}

/* Returns 1 when v passes every test, of the element tests (each) too. */
static int
passes_all(const struct options *o, json_t *v, int elements)
{
	size_t i;

	for (i = 0; i < o->nuntils; i++)
		if ((!elements || !starts_with_index(&o->untils[i])) &&
		    !passes(v, &o->untils[i]))
			return 0;
	return 1;
}

/*
 * Returns 1 when the return value ret satisfies --until: every test,
 * and for an array, the tests without an index on one element.
 */
static int
satisfied(const struct options *o, json_t *ret)
{
	size_t i, n = 0;
	json_t *e;

	if (!json_is_array(ret))
		return passes_all(o, ret, 0);
	for (i = 0; i < o->nuntils; i++) {
		if (!starts_with_index(&o->untils[i]))
			n++;
		else if (!passes(ret, &o->untils[i]))
			return 0;
	}
	if (n == 0)
		return 1;
	json_array_foreach(ret, i, e)
		if (passes_all(o, e, 1))
			return 1;
	return 0;
}

/*
 * Says that the wait ended (how: "timed out" or "interrupted") with the
 * last return value seen, compact and cut to LAST_MAX bytes.
 */
static void
say_until_end(const struct run *r, const char *how, json_t *last)
{
	size_t len = 0;
	char *text = last ? qmp_json_dumps(last, &len) : NULL;

	say("%s waiting for %s to pass --until (last: %.*s%s)", how,
	    r->o->command, text ? (int)(len < LAST_MAX ? len : LAST_MAX) : 4,
	    text ? text : "none", len > LAST_MAX ? "..." : "");
	free(text);
}

/*
 * Pauses ms milliseconds before the next try, taking events.  Returns
 * QX_OK, or the status of the deadline, a signal or a failure, after
 * saying it (last: the last return value seen).
 */
static int
until_pause(struct run *r, int ms, json_t *last)
{
	int64_t until = qmp_now_ms() + ms;
	enum qmp_status st;
	int got;

	if (r->deadline != 0 && until > r->deadline)
		until = r->deadline;
	while (qmp_now_ms() < until) {
		st = qmp_pump_until(r->q, until, &got);
		if (st == QMP_OK)
			continue;
		if (st == QMP_ETIMEOUT || st == QMP_ECANCEL)
			say_until_end(r, st == QMP_ETIMEOUT ? "timed out" :
			    "interrupted", last);
		else
			say_failure(r);
		return exit_status(st);
	}
	if (r->deadline != 0 && qmp_now_ms() >= r->deadline) {
		say_until_end(r, "timed out", last);
		return QX_TIMEOUT;
	}
	return QX_OK;
}

/*
 * Runs cmd (stolen) until its return value satisfies every --until,
 * then prints it.  Returns QX_OK, QX_COMMAND at the first error of the
 * command, QX_TIMEOUT at the deadline (the last value said), or the
 * status of another failure.
 */
int
run_until(struct run *r, json_t *cmd)
{
	const struct options *o = r->o;
	json_t *reply = NULL, *last = NULL;
	enum qmp_status st;
	int rc, ms = UNTIL_MIN_MS;

	for (;;) {
		st = qmp_execute(r->q, cmd, NULL, 0, &reply);
		if (st == QMP_ETIMEOUT || st == QMP_ECANCEL) {
			say_until_end(r, st == QMP_ETIMEOUT ? "timed out" :
			    "interrupted", json_object_get(last, "return"));
			rc = exit_status(st);
			break;
		}
		if (st != QMP_OK || satisfied(o, json_object_get(reply,
		    "return"))) {
			rc = print_reply(r, st, reply);
			break;
		}
		json_decref(last);
		last = reply;
		reply = NULL;
		if (o->interval > 0)
			ms = (int)(o->interval * 1000 + 0.5);
		rc = until_pause(r, ms, json_object_get(last, "return"));
		if (rc != QX_OK)
			break;
		ms = ms * 2 < UNTIL_MAX_MS ? ms * 2 : UNTIL_MAX_MS;
	}
	json_decref(reply);
	json_decref(last);
	json_decref(cmd);
	return rc;
}
