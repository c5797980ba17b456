/* SPDX-License-Identifier: MIT */
/*
 * jobs.c: --wait-job and --wait-migration, the waits that end on a state
 * rather than on one event.
 *
 * A job is followed through its JOB_STATUS_CHANGE events from the start
 * of the connection (those that come while the commands run count) and
 * through query-jobs, which says where it is now and, once it concluded,
 * whether it failed.  A job dismissed automatically leaves query-jobs as
 * it ends: then its BLOCK_JOB_COMPLETED or BLOCK_JOB_CANCELLED event, or
 * the "aborting" status on its way, says how it ended.
 *
 * A migration is followed through query-migrate, asked again at once
 * after a MIGRATION event (sent only with the "events" capability) and
 * otherwise after a pause that grows from 10 ms to 500 ms.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "qmpctl.h"

/*
 * QEMU's JobStatus, with each status's place in a job's life: a status
 * of a higher place comes after it.  paused and standby are running and
 * ready, held.
 */
static const struct {
	const char *name;
	int place;
} statuses[] = {
	{ "undefined", 0 }, { "created", 1 }, { "running", 2 },
	{ "paused", 2 }, { "ready", 3 }, { "standby", 3 }, { "waiting", 4 },
	{ "pending", 5 }, { "aborting", 6 }, { "concluded", 7 },
	{ "null", 8 },
};

enum { S_UNDEFINED = 0, S_PAUSED = 3, S_STANDBY = 5, S_ABORTING = 8,
    S_CONCLUDED = 9, S_NULL = 10 };

#define NSTATUSES	(sizeof(statuses) / sizeof(statuses[0]))
#define PAUSE_MIN_MS	10
#define PAUSE_MAX_MS	500

/* Returns the index of the status called name, or -1. */
static int
status_index(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < NSTATUSES; i++)
		if (strcmp(statuses[i].name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * Takes --wait-job ID[:STATUS] into o; arg is changed (cut at the last
 * colon).  Exits with a usage error for an empty ID, a status that is
 * not one of QEMU's, or a second --wait-job.
 */
void
parse_wait_job(struct options *o, char *arg)
{
	char *colon = strrchr(arg, ':');

	if (o->job_id != NULL)
		usage_error("--wait-job: given twice (one job per call)");
	o->job_target = S_CONCLUDED;
	if (colon != NULL) {
		*colon = '\0';
		o->job_target = status_index(colon + 1);
		if (o->job_target < 0)
			usage_error("--wait-job: unknown job status '%s' (one "
			    "of created, running, paused, ready, standby, "
			    "waiting, pending, aborting, concluded, null)",
			    colon + 1);
	}
	if (*arg == '\0')
		usage_error("--wait-job: empty job id");
	o->job_id = arg;
}

/*
 * Returns 1 when a job at status s has reached the awaited status: it
 * is that status, or one that comes after it in a job's life.  A held
 * status (paused, standby), aborting and undefined are reached only by
 * being them; a job that is failing reaches nothing else.
 */
static int
reached(const struct run *r, int s)
{
	int t = r->o->job_target;

	if (s == t)
		return 1;
	if (s < 0 || r->job_aborted || s == S_ABORTING || t == S_PAUSED ||
	    t == S_STANDBY || t == S_ABORTING || t == S_UNDEFINED)
		return 0;
	return statuses[s].place > statuses[t].place;
}

/* Replaces *slot's reference with a new one to v. */
static void
keep(json_t **slot, json_t *v)
{
	json_incref(v);
	json_decref(*slot);
	*slot = v;
}

/* Notes the job's status s, from an event or from query-jobs. */
static void
note_status(struct run *r, int s)
{
	if (s == S_ABORTING)
		r->job_aborted = 1;
	if (reached(r, s))
		r->job_reached = 1;
}

/*
 * The event handler's part for --wait-job and --wait-migration: notes
 * what concerns the job, and counts MIGRATION events.
 */
void
watch_event(struct run *r, json_t *event)
{
	const char *name = qmp_json_string(json_object_get(event, "event"));
	json_t *data = json_object_get(event, "data");
	const char *id = r->o->job_id;

	if (name != NULL && strcmp(name, "MIGRATION") == 0)
		r->migration_events++;
	if (name == NULL || id == NULL || !json_is_object(data))
		return;
	if (strcmp(name, "JOB_STATUS_CHANGE") == 0 && qmp_json_is_string(
	    json_object_get(data, "id")) && strcmp(qmp_json_string(
	    json_object_get(data, "id")), id) == 0) {
		note_status(r, status_index(qmp_json_string(
		    json_object_get(data, "status"))));
		keep(&r->job_last, data);
	} else if ((strcmp(name, "BLOCK_JOB_COMPLETED") == 0 ||
	    strcmp(name, "BLOCK_JOB_CANCELLED") == 0) && qmp_json_is_string(
	    json_object_get(data, "device")) && strcmp(qmp_json_string(
	    json_object_get(data, "device")), id) == 0) {
		r->job_cancelled = strcmp(name, "BLOCK_JOB_CANCELLED") == 0;
		keep(&r->job_end, data);
	} else
		return;
	r->job_seen = 1;
	r->job_changed = 1;
}

/*
 * Returns the entry of the job in query-jobs' result jobs (borrowed), or
 * NULL.
 */
static json_t *
job_entry(const struct run *r, json_t *jobs)
{
	json_t *j;
	size_t i;

	json_array_foreach(jobs, i, j)
		if (qmp_json_is_string(json_object_get(j, "id")) &&
		    strcmp(qmp_json_string(json_object_get(j, "id")),
		    r->o->job_id) == 0)
			return j;
	return NULL;
}

/*
 * Looks the job up in query-jobs.  Returns QX_OK with *entry set to its
 * entry (new) or NULL when there is none, or the failure's status.  QEMU
 * may send events of the job that are newer than the result before the
 * result: after such events, it asks again.
 */
static int
find_job(struct run *r, json_t **entry)
{
	json_t *jobs;
	int rc;

	*entry = NULL;
	do {
		json_decref(*entry);
		*entry = NULL;
		r->job_changed = 0;
		if ((rc = call_or_report(r, "query-jobs", &jobs)) != QX_OK)
			return rc;
		*entry = json_incref(job_entry(r, jobs));
		json_decref(jobs);
	} while (r->job_changed);
	if (*entry != NULL)
		note_status(r, status_index(qmp_json_string(
		    json_object_get(*entry, "status"))));
	return QX_OK;
}

/*
 * Returns 1 when the wait is over: the job reached the status, or ended
 * (concluded, or gone from query-jobs; for a wait for "null", only gone).
 */
static int
settled(const struct run *r, json_t *entry)
{
	int s;

	if (r->job_reached || entry == NULL)
		return 1;
	s = status_index(qmp_json_string(json_object_get(entry, "status")));
	return s == S_CONCLUDED && r->o->job_target != S_NULL;
}

/* Prints v as the job's final state.  Returns 0, or stdout's status. */
static int
print_state(struct run *r, json_t *v)
{
	if (print_json(r->o, v) < 0)
		return stdout_failed(r, errno);
	return QX_OK;
}

/*
 * Ends the wait: prints the job's state (its query-jobs entry, or for a
 * job that is gone the data of its last event) and says how it ended.
 * Returns QX_OK, QX_FAILED for a job that failed, or QX_COMMAND for one
 * that ended without reaching the status.
 */
static int
finish_job(struct run *r, json_t *entry)
{
	const char *id = r->o->job_id, *err;
	json_t *state = entry ? entry : r->job_end ? r->job_end : r->job_last;
	int rc;

	err = qmp_json_string(json_object_get(state, "error"));
	if ((rc = print_state(r, state)) != QX_OK)
		return rc;
	if (err != NULL)
		say("job %s failed: %s", id, err);
	else if (r->job_cancelled)
		say("job %s failed: it was cancelled", id);
	else if (r->job_aborted && entry == NULL)
		say("job %s failed (it was dismissed: its error is gone)", id);
	else if (r->job_aborted)
		say("job %s failed", id);
	else if (r->job_reached)
		return QX_OK;
	else {
		say("job %s ended without reaching %s", id,
		    statuses[r->o->job_target].name);
		return QX_COMMAND;
	}
	return QX_FAILED;
}

/* Reports a failure while waiting for the job.  Returns its status. */
static int
job_wait_failed(struct run *r, enum qmp_status st)
{
	const char *now = qmp_json_string(json_object_get(r->job_last,
	    "status"));

	if (st != QMP_ETIMEOUT) {
		say_failure(r);
		return exit_status(st);
	}
	say("timed out waiting for job %s to reach %s%s%s%s", r->o->job_id,
	    statuses[r->o->job_target].name, now ? " (it is " : "",
	    now ? now : "", now ? ")" : "");
	return QX_TIMEOUT;
}

/*
 * Waits until the job reaches the status of --wait-job, or ends.
 * Returns the exit status: QX_OK, QX_FAILED for a job that failed,
 * QX_COMMAND for one there is no trace of or that ended before the
 * status, else the failure's.
 */
int
wait_job(struct run *r)
{
	enum qmp_status st;
	json_t *entry;
	int rc;

	if ((rc = find_job(r, &entry)) != QX_OK)
		return rc;
	if (entry != NULL)
		keep(&r->job_last, entry);
	if (entry == NULL && !r->job_seen) {
		say("no job %s", r->o->job_id);
		return QX_COMMAND;
	}
	while (!settled(r, entry)) {
		json_decref(entry);
		while (!r->job_changed)
			if ((st = qmp_pump(r->q)) != QMP_OK)
				return job_wait_failed(r, st);
		if ((rc = find_job(r, &entry)) != QX_OK)
			return rc;
		if (entry != NULL)
			keep(&r->job_last, entry);
	}
	rc = finish_job(r, entry);
	json_decref(entry);
	return rc;
}

/* ---- Migrations ------------------------------------------------------ */

/*
 * Waits ms milliseconds for a MIGRATION event, taking other events as
 * they come.  Returns QX_OK, or the status of a failure (reported, with
 * the last status seen, last).
 */
static int
migration_pause(struct run *r, int ms, const char *last)
{
	int64_t until = qmp_now_ms() + ms;
	enum qmp_status st;
	int got = 1;

	while (got && r->migration_events == 0) {
		st = qmp_pump_until(r->q, until, &got);
		if (st == QMP_ETIMEOUT) {
			say("timed out waiting for the migration to end (it "
			    "is %s)", last);
			return QX_TIMEOUT;
		}
		if (st != QMP_OK) {
			say_failure(r);
			return exit_status(st);
		}
	}
	return QX_OK;
}

/*
 * Says how a migration that ended with status s went.  Returns QX_OK for
 * "completed", QX_FAILED for "failed" and "cancelled", or -1 while it
 * goes on.
 */
static int
migration_end(json_t *info, const char *s)
{
	const char *desc;

	if (strcmp(s, "completed") == 0)
		return QX_OK;
	if (strcmp(s, "failed") != 0 && strcmp(s, "cancelled") != 0)
		return -1;
	desc = qmp_json_string(json_object_get(info, "error-desc"));
	if (desc != NULL)
		say("migration %s: %s", s, desc);
	else
		say("migration %s", s);
	return QX_FAILED;
}

/*
 * Waits until query-migrate says "completed", "failed" or "cancelled",
 * and prints its result.  Returns QX_OK, QX_FAILED, or the failure's
 * status.
 */
int
wait_migration(struct run *r)
{
	char last[64];
	json_t *info;
	const char *s;
	int rc, ms = PAUSE_MIN_MS;

	for (;;) {
		r->migration_events = 0;
		if ((rc = call_or_report(r, "query-migrate", &info)) != QX_OK)
			return rc;
		s = qmp_json_string(json_object_get(info, "status"));
		if (s == NULL)
			s = "none";	/* no migration yet: {} */
		if ((rc = migration_end(info, s)) >= 0) {
			if (print_json(r->o, info) < 0)
				rc = stdout_failed(r, errno);
			json_decref(info);
			return rc;
		}
		snprintf(last, sizeof(last), "%s", s);
		json_decref(info);
		if ((rc = migration_pause(r, ms, last)) != QX_OK)
			return rc;
		ms = ms * 2 < PAUSE_MAX_MS ? ms * 2 : PAUSE_MAX_MS;
	}
}
