/* SPDX-License-Identifier: MIT */
/*
 * events.c: which events to wait for and what to do with them.
 *
 * --wait-event and --fail-event each start an alternative: a set of
 * event names and the --match tests given after it.  An event that
 * satisfies a failure alternative ends the run with QX_FAILED; one that
 * satisfies a success alternative is printed and counted.  --events logs
 * every event.  Events that come while a command runs are held and
 * printed after its result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qmp_json.h"
#include "qmpctl.h"

/*
 * Awaited events held while a command runs, at most, with --count 0.
 * Past it, the oldest are dropped and the run says how many at the end:
 * memory stays bounded whatever the server sends.  With --count N, the
 * N events asked for are held, whatever N (never more: later ones are
 * not taken).
 */
#define HELD_MAX	1024

/* Returns the member of event's "data" at the dotted path key, or NULL. */
static json_t *
data_member(json_t *event, const char *key)
{
	json_t *v = json_object_get(event, "data");
	const char *dot;

	while (v != NULL) {
		dot = strchr(key, '.');
		if (dot == NULL)
			return json_object_get(v, key);
		v = json_object_getn(v, key, (size_t)(dot - key));
		key = dot + 1;
	}
	return NULL;
}

/*
 * Returns 1 when v (borrowed; NULL: absent) passes the test m: --match on
 * an event's data, and --until on a command's return value.
 */
int
match_passes(json_t *v, const struct match *m)
{
	switch (m->kind) {
	case MATCH_PRESENT:
		return v != NULL && !json_is_null(v);
	case MATCH_ABSENT:
		return v == NULL || json_is_null(v);
	case MATCH_VALUE:
		break;
	}
	if (v == NULL)
		return 0;
	/* Numbers by exact value: 1 = 1.0 = 1e0, never through a double. */
	if (m->value != NULL && qmp_json_equal(v, m->value))
		return 1;
	/* A string equal to the text as given: device=drive0 for "drive0". */
	return qmp_json_is_string(v) && strcmp(qmp_json_string(v),
	    m->text) == 0;
}

/* Returns 1 when the event passes the --match test m. */
static int
event_matches(json_t *event, const struct match *m)
{
	return match_passes(data_member(event, m->key), m);
}

/* Returns 1 when the event satisfies the alternative a. */
static int
alt_matches(json_t *event, const char *name, const struct alt *a)
{
	size_t i;
	int found = 0;

	for (i = 0; a->names[i] != NULL && !found; i++)
		found = strcmp(a->names[i], name) == 0;
	if (!found)
		return 0;
	for (i = 0; i < a->nmatches; i++)
		if (!event_matches(event, &a->matches[i]))
			return 0;
	return 1;
}

/*
 * Returns what the event is to this run: EVENT_FAIL when it satisfies a
 * failure alternative (checked first), EVENT_WANTED when it satisfies a
 * success one, else EVENT_OTHER.
 */
enum event_kind
event_kind(const struct options *o, json_t *event)
{
	const char *name = qmp_json_string(json_object_get(event, "event"));
	size_t i;
	int pass;

	if (name == NULL)
		return EVENT_OTHER;
	for (pass = 1; pass >= 0; pass--)
		for (i = 0; i < o->nalts; i++)
			if (o->alts[i].fail == pass &&
			    alt_matches(event, name, &o->alts[i]))
				return pass ? EVENT_FAIL : EVENT_WANTED;
	return EVENT_OTHER;
}

/* Prints one event on stdout.  Returns 0, or -1 with errno set. */
static int
print_event(struct run *r, json_t *event)
{
	if (r->out_errno)
		return -1;
	if (print_json(r, event) < 0) {
		r->out_errno = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

/*
 * Takes an awaited event: a failure is kept for the end; a success is
 * counted, and printed now or held until the result.  Only --count 0
 * (every event) can fill the hold: then the oldest is dropped.  With
 * --count N, no more than N are ever held, and none is dropped.
 */
static void
take_awaited(struct run *r, json_t *event, enum event_kind k)
{
	if (k == EVENT_FAIL) {
		if (r->failed == NULL)
			r->failed = json_incref(event);
		return;
	}
	if (r->o->count > 0 && r->counted >= r->o->count)
		return;
	r->counted++;
	if (r->live) {
		print_event(r, event);
		return;
	}
	if (r->o->count == 0 && json_array_size(r->held) >= HELD_MAX) {
		json_array_remove(r->held, 0);
		r->dropped++;
	}
	if (json_array_append(r->held, event) < 0)
		must(NULL);	/* out of memory: says so and exits */
}

/* The event handler: logs every event and takes the awaited ones. */
void
on_event(void *ctx, json_t *event)
{
	struct run *r = ctx;
	enum event_kind k;

	if (r->log != NULL && r->log_errno == 0 &&
	    (qmp_json_write(r->log, event, 0) < 0 ||
	    fputc('\n', r->log) == EOF || fflush(r->log) != 0)) {
		r->log_errno = errno ? errno : EIO;
		/* A reader that stopped reading: said now, status 8 at the end. */
		if (r->log_errno == ETIMEDOUT)
			io_failure(r->o->events_log, ETIMEDOUT, IO_WRITE,
			    QX_TIMEOUT);
	}
	if (r->o->job_id != NULL || r->o->wait_migration)
		note_wait_event(r, event);
	if (r->o->nalts == 0)
		return;
	k = event_kind(r->o, event);
	if (k != EVENT_OTHER)
		take_awaited(r, event, k);
}

/*
 * Fills m (zeroed by the caller) from the test s: KEY=VALUE, KEY (present
 * and not null) or !KEY (absent or null), as --match and --until take it.
 * Returns 0, or -1 for a key that is empty or has an empty part.
 */
int
parse_match(struct match *m, const char *s)
{
	const char *eq = strchr(s, '=');

	if (eq != NULL) {
		m->kind = MATCH_VALUE;
		m->key = must(strndup(s, (size_t)(eq - s)));
		m->text = eq + 1;
		m->value = qmp_json_loadb(eq + 1, strlen(eq + 1),
		    QMP_JSON_DECODE_ANY, NULL);
	} else if (s[0] == '!') {
		m->kind = MATCH_ABSENT;
		m->key = must(strdup(s + 1));
	} else {
		m->kind = MATCH_PRESENT;
		m->key = must(strdup(s));
	}
	if (m->key[0] == '\0' || m->key[0] == '.' ||
	    m->key[strlen(m->key) - 1] == '.' || strstr(m->key, "..") != NULL)
		return -1;
	return 0;
}

/*
 * Adds a --match to the latest alternative (or keeps it for the first
 * one, when none was given yet).  s is a test as parse_match takes it.
 * Exits on a usage error.
 */
void
add_match(struct options *o, const char *s)
{
	struct match *m;

	o->matches = must(reallocarray(o->matches, o->nmatches + 1,
	    sizeof(*o->matches)));
	m = &o->matches[o->nmatches++];
	memset(m, 0, sizeof(*m));
	m->alt = o->nalts > 0 ? o->nalts - 1 : 0;
	if (parse_match(m, s) < 0)
		usage_error("--match: expected KEY=VALUE, KEY or !KEY with a "
		    "KEY such as device or a.b, got '%s'", s);
}

/* Starts an alternative for --wait-event (fail 0) or --fail-event (1). */
void
add_alt(struct options *o, const char *opt, const char *list, int fail)
{
	struct alt *a;
	char *copy, *tok, *save = NULL;
	size_t n = 1, i = 0;
	const char *p;

	for (p = list; *p != '\0'; p++)
		n += *p == ',';
	o->alts = must(reallocarray(o->alts, o->nalts + 1, sizeof(*o->alts)));
	a = &o->alts[o->nalts++];
	memset(a, 0, sizeof(*a));
	a->fail = fail;
	a->names = must(calloc(n + 1, sizeof(*a->names)));
	a->list = copy = must(strdup(list));
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		a->names[i++] = tok;
	if (i == 0)
		usage_error("%s: no event name given", opt);
}

/* Hands each --match to its alternative, once the options are read. */
void
attach_matches(struct options *o)
{
	size_t i;
	struct alt *a;

	if (o->nalts == 0)
		return;		/* check_options says so */
	for (i = 0; i < o->nmatches; i++) {
		a = &o->alts[o->matches[i].alt];
		a->matches = must(reallocarray(a->matches, a->nmatches + 1,
		    sizeof(*a->matches)));
		a->matches[a->nmatches++] = o->matches[i];
	}
}

/* Frees what add_alt and add_match allocated. */
void
free_alts(struct options *o)
{
	size_t i;

	for (i = 0; i < o->nmatches; i++) {
		free(o->matches[i].key);
		json_decref(o->matches[i].value);
	}
	for (i = 0; i < o->nalts; i++) {
		free(o->alts[i].names);
		free(o->alts[i].list);
		free(o->alts[i].matches);
	}
	free(o->matches);
	free(o->alts);
}

/*
 * Says on stderr that the failure event (borrowed) came, with its
 * "error" member when it has one.  Returns QX_FAILED.
 */
int
say_event_failure(json_t *event)
{
	const char *name = qmp_json_string(json_object_get(event, "event"));
	json_t *err = data_member(event, "error");

	if (qmp_json_is_string(err))
		say("event %s reports a failure: %s", name,
		    qmp_json_string(err));
	else
		say("event %s reports a failure", name);
	return QX_FAILED;
}

/* Returns the exit status for the failure event the run saw, after
 * printing it. */
static int
report_failure(struct run *r)
{
	print_event(r, r->failed);
	return say_event_failure(r->failed);
}

/* Reports a timeout while waiting, naming every event awaited. */
static void
say_timeout(const struct options *o)
{
	char names[512] = "";
	size_t i, n = 0;

	for (i = 0; i < o->nalts && n < sizeof(names); i++)
		if (!o->alts[i].fail)
			n += (size_t)snprintf(names + n, sizeof(names) - n,
			    "%s%s", n ? " or " : "", o->alts[i].list);
	say("timed out waiting for event %s%s", names,
	    o->nmatches > 0 ? " matching --match" : "");
}

/*
 * Prints what was held while the commands ran, then waits for the rest
 * of the awaited events.  Returns the exit status: 0 once --count events
 * were printed (or, with --count 0, at the deadline or a signal),
 * QX_FAILED for a failure event, else the failure's.
 */
int
wait_events(struct run *r)
{
	enum qmp_status st;
	size_t i;

	r->live = 1;
	if (r->dropped > 0)
		say("%lu awaited events came while the commands ran; the "
		    "oldest %lu were dropped", (unsigned long)
		    (r->dropped + json_array_size(r->held)), r->dropped);
	for (i = 0; i < json_array_size(r->held); i++)
		print_event(r, json_array_get(r->held, i));
	json_array_clear(r->held);
	for (;;) {
		if (r->out_errno)
			return stdout_failed(r, r->out_errno);
		if (r->failed != NULL)
			return report_failure(r);
		if (r->o->count > 0 && r->counted >= r->o->count)
			return QX_OK;
		st = qmp_pump(r->q);
		if (st == QMP_OK)
			continue;
		if (r->o->count == 0 &&
		    (st == QMP_ETIMEOUT || st == QMP_ECANCEL))
			return QX_OK;
		if (st == QMP_ETIMEOUT)
			say_timeout(r->o);
		else
			say_failure(r);
		return exit_status(st);
	}
}
