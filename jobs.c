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
 * The call path: the event callback on_event (events.c) hands every
 * event to note_wait_event, which records what concerns the job in
 * r->job and counts it in events_since_query; follow_job sleeps in
 * wait_pause (progress.c) until that count is nonzero or the next poll
 * is due, and query_job asks again.
 *
 * A migration is followed through query-migrate, asked again at once
 * after a MIGRATION event (sent only with the "events" capability) and
 * otherwise after a pause that grows from 10 ms to 500 ms.
 *
 * With --cancel, a wait that ends without reaching its goal (-t, a
 * signal, a --fail-event, --stall) cancels what it waited for with
 * job-cancel or migrate_cancel, and waits for it to stop within the
 * grace (progress.c's grace_start).  job-cancel ends a mirror, even a
 * "ready" one, without switching to the copy: the copy is abandoned.
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

enum { S_UNDEFINED = 0, S_PAUSED = 3, S_READY = 4, S_STANDBY = 5,
    S_WAITING = 6, S_PENDING = 7,
    S_ABORTING = 8, S_CONCLUDED = 9, S_NULL = 10 };

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
	if (s < 0 || r->job.aborted || s == S_ABORTING || t == S_PAUSED ||
	    t == S_STANDBY || t == S_ABORTING || t == S_UNDEFINED)
		return 0;
	return statuses[s].place > statuses[t].place;
}

/* Replaces *slot's reference with a new one to v. */
static void
replace_ref(json_t **slot, json_t *v)
{
	json_incref(v);
	json_decref(*slot);
	*slot = v;
}

/* Returns the index of the status in a job's entry or event, or -1. */
static int
status_of(const json_t *job)
{
	return status_index(qmp_json_string(json_object_get(job,
	    "status")));
}

/* Notes the job's status s, from an event or from query-jobs. */
static void
note_status(struct run *r, int s)
{
	if (s == S_ABORTING)
		r->job.aborted = 1;
	if (reached(r, s))
		r->job.reached = 1;
}

/* Returns 1 when member key of data is the string id. */
static int
names(json_t *data, const char *key, const char *id)
{
	json_t *v = json_object_get(data, key);

	return qmp_json_is_string(v) && strcmp(qmp_json_string(v), id) == 0;
}

/*
 * Called by the event callback on_event for every event while a job or
 * a migration is waited for: records in r->job what concerns the job
 * (and counts it in events_since_query, which wakes follow_job), and
 * counts MIGRATION events.
 */
void
note_wait_event(struct run *r, json_t *event)
{
	const char *name = qmp_json_string(json_object_get(event, "event"));
	json_t *data = json_object_get(event, "data");
	const char *id = r->o->job_id;

	if (name != NULL && strcmp(name, "MIGRATION") == 0)
		r->migration_events++;
	if (name == NULL || id == NULL || !json_is_object(data))
		return;
	if (strcmp(name, "JOB_STATUS_CHANGE") == 0 && names(data, "id", id)) {
		note_status(r, status_of(data));
		replace_ref(&r->job.last, data);
	} else if ((strcmp(name, "BLOCK_JOB_COMPLETED") == 0 ||
	    strcmp(name, "BLOCK_JOB_CANCELLED") == 0) &&
	    names(data, "device", id)) {
		r->job.cancelled = strcmp(name, "BLOCK_JOB_CANCELLED") == 0;
		replace_ref(&r->job.end, data);
	} else
		return;
	r->job.seen = 1;
	r->job.events_since_query = 1;
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
		if (names(j, "id", r->o->job_id))
			return j;
	return NULL;
}

/*
 * Looks the job up in query-jobs.  Returns QX_OK with *entry set to its
 * entry (new) or NULL when there is none, or the failure's status
 * (quiet: not reported).  QEMU may send events of the job that are newer
 * than the result before the result: after such events (counted by
 * note_wait_event), it asks again.
 */
static int
query_job(struct run *r, json_t **entry, int quiet)
{
	json_t *jobs;
	int rc;

	*entry = NULL;
	do {
		json_decref(*entry);
		*entry = NULL;
		r->job.events_since_query = 0;
		rc = wait_call(r, "query-jobs", NULL, &jobs, quiet);
		if (rc != QX_OK)
			return rc;
		*entry = json_incref(job_entry(r, jobs));
		json_decref(jobs);
	} while (r->job.events_since_query);
	if (*entry != NULL) {
		note_status(r, status_of(*entry));
		replace_ref(&r->job.last, *entry);
	}
	return QX_OK;
}

/*
 * Returns 1 when the wait is over: the job reached the status, or ended
 * (concluded, or gone from query-jobs; for a wait for "null", only gone).
 */
static int
settled(const struct run *r, json_t *entry)
{
	if (r->job.reached || entry == NULL)
		return 1;
	return status_of(entry) == S_CONCLUDED && r->o->job_target != S_NULL;
}

/*
 * Runs the job verb name (job-finalize, job-dismiss, job-cancel) on the
 * job.  Returns QX_OK, or the failure's status (quiet: not reported).
 */
static int
job_verb(struct run *r, const char *name, int quiet)
{
	json_t *args = must(json_pack("{s:s}", "id", r->o->job_id)), *ret;
	int rc;

	rc = wait_call(r, name, args, &ret, quiet);
	json_decref(args);
	json_decref(ret);
	return rc;
}

/* --finalize: sends job-finalize once the job waits in "pending". */
static int
finalize_pending(struct run *r, json_t *entry)
{
	if (!r->o->finalize || r->job.finalize_sent ||
	    status_of(entry) != S_PENDING)
		return QX_OK;
	r->job.finalize_sent = 1;
	return job_verb(r, "job-finalize", 0);
}

/* Copies member key of from to to as name, when there is one. */
static void
copy_member(json_t *to, const char *name, json_t *from, const char *key)
{
	json_t *v = json_object_get(from, key);

	if (v != NULL && json_object_set(to, name, v) < 0)
		must(NULL);
}

/*
 * Hands the job's entry to progress_sample: {"id", "type", "status",
 * "current", "total"} with QEMU's numbers.  Returns its answer.
 */
static int
sample_job(struct run *r, json_t *entry)
{
	json_t *line = must(json_object());
	json_t *cur = json_object_get(entry, "current-progress");
	json_t *total = json_object_get(entry, "total-progress");
	const char *type = qmp_json_string(json_object_get(entry, "type"));
	struct sample s = { 0 };
	char label[256];
	int rc;

	copy_member(line, "id", entry, "id");
	copy_member(line, "type", entry, "type");
	copy_member(line, "status", entry, "status");
	copy_member(line, "current", entry, "current-progress");
	copy_member(line, "total", entry, "total-progress");
	snprintf(label, sizeof(label), "job %s (%s)", r->o->job_id,
	    type ? type : "?");
	s.label = label;
	s.status = statuses[status_of(entry) < 0 ? 0 :
	    status_of(entry)].name;
	s.moving = cur;
	s.idle = status_of(entry) == S_READY || status_of(entry) == S_STANDBY ||
	    status_of(entry) == S_WAITING || status_of(entry) == S_PENDING;
	s.done = number_of(cur);
	s.total = number_of(total);
	s.percent = s.total > 0 ? 100 * s.done / s.total : 0;
	s.line = line;
	rc = progress_sample(r, &s);
	json_decref(line);
	return rc;
}

/*
 * Follows the job until the wait is over.  Returns QX_OK with *entry its
 * last query-jobs entry (new; NULL once it is gone), an END_ value for a
 * wait that ended without reaching its goal, or a failure's status.
 */
static int
follow_job(struct run *r, json_t **entry)
{
	int64_t next;
	int rc;

	while (!settled(r, *entry)) {
		if ((rc = finalize_pending(r, *entry)) != QX_OK)
			return rc;
		if ((rc = sample_job(r, *entry)) != QX_OK)
			return rc;
		next = r->prog.period ? qmp_now_ms() + r->prog.period : 0;
		rc = wait_pause(r, next, &r->job.events_since_query);
		if (rc != QX_OK)
			return rc;
		json_decref(*entry);
		if ((rc = query_job(r, entry, 0)) != QX_OK)
			return rc;
	}
	return QX_OK;
}

/* Prints v as the job's final state.  Returns 0, or stdout's status. */
static int
print_state(struct run *r, json_t *v)
{
	if (print_json(r, v) < 0)
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
	json_t *state = entry ? entry : r->job.end ? r->job.end : r->job.last;
	int rc;

	err = qmp_json_string(json_object_get(state, "error"));
	if ((rc = print_state(r, state)) != QX_OK)
		return rc;
	if (err != NULL)
		say("job %s failed: %s", id, err);
	else if (r->job.cancelled)
		say("job %s failed: it was cancelled", id);
	else if (r->job.aborted && entry == NULL)
		say("job %s failed (it was dismissed: its error is gone)", id);
	else if (r->job.aborted)
		say("job %s failed", id);
	else if (r->job.reached)
		return QX_OK;
	else {
		say("job %s ended without reaching %s", id,
		    statuses[r->o->job_target].name);
		return QX_COMMAND;
	}
	return QX_FAILED;
}

/*
 * --dismiss: sends job-dismiss when the job is concluded and still
 * there (one dismissed automatically needs nothing).  Returns QX_OK, or
 * the failure's status.
 */
static int
dismiss_concluded(struct run *r, json_t *entry, int quiet)
{
	if (!r->o->dismiss || entry == NULL || status_of(entry) != S_CONCLUDED)
		return QX_OK;
	return job_verb(r, "job-dismiss", quiet);
}

/*
 * Says why the wait for the job ended without reaching its goal (end,
 * an END_ value).  Returns the exit status that stands for it.
 */
static int
say_job_end(struct run *r, int end)
{
	const char *now = qmp_json_string(json_object_get(r->job.last,
	    "status"));
	char what[160];

	snprintf(what, sizeof(what), "job %s", r->o->job_id);
	if (end == END_FAIL_EVENT)
		return fail_event_ended(r);
	if (end == END_STALL) {
		say_stalled(r, what, now ? now : "?");
		return QX_TIMEOUT;
	}
	say("%s waiting for job %s to reach %s%s%s%s", end == END_SIGNAL ?
	    "interrupted" : "timed out", r->o->job_id,
	    statuses[r->o->job_target].name, now ? " (it is " : "",
	    now ? now : "", now ? ")" : "");
	return end == END_SIGNAL ? io_signal_status() : QX_TIMEOUT;
}

/*
 * Says how the cancel went, after it failed with status rc (or, with
 * end, that the grace ended), with the job's status seen since the
 * cancel, if any.  Returns 128+N when a signal ended the grace, else 0.
 */
static int
say_cancel_failed(struct run *r, int rc, int end)
{
	const char *id = r->o->job_id;
	const char *now = qmp_json_string(json_object_get(r->job.last,
	    "status"));
	char its[96] = "";

	if (now != NULL)
		snprintf(its, sizeof(its), " (it is %s)", now);
	if (end == END_SIGNAL || rc == io_signal_status()) {
		say("job %s: interrupted again while it was being cancelled%s",
		    id, its);
		return io_signal_status();
	}
	if (end == END_DEADLINE || rc == QX_TIMEOUT)
		say("job %s did not stop within %g s of job-cancel%s", id,
		    r->o->cancel_grace, its);
	else
		say("job %s: %s", id, qmp_errmsg(r->q));
	return 0;
}

/*
 * Waits, within the grace, until the cancelled job has stopped
 * (concluded, or gone).  Returns QX_OK with *entry its last entry (new,
 * or NULL), an END_ value, or a failure's status.
 */
static int
wait_stopped(struct run *r, json_t **entry)
{
	int rc, ms = PAUSE_MIN_MS;

	for (;;) {
		if ((rc = query_job(r, entry, 1)) != QX_OK)
			return rc;
		if (*entry == NULL || status_of(*entry) == S_CONCLUDED)
			return QX_OK;
		json_decref(*entry);
		*entry = NULL;
		rc = wait_pause(r, qmp_now_ms() + ms,
		    &r->job.events_since_query);
		if (rc != QX_OK)
			return rc;
		ms = ms * 2 < PAUSE_MAX_MS ? ms * 2 : PAUSE_MAX_MS;
	}
}

/*
 * --cancel: cancels the job with job-cancel and waits, within the
 * grace, until it has stopped; then --dismiss dismisses it.  Says what
 * was done.  Returns 128+N when a further signal ended the grace, else
 * 0 (the wait's status stands).
 */
static int
cancel_job(struct run *r)
{
	const char *id = r->o->job_id;
	json_t *entry = NULL;
	int rc, ended;

	grace_start(r);
	json_decref(r->job.last);	/* from now on: what the cancel did */
	r->job.last = NULL;
	rc = job_verb(r, "job-cancel", 1);
	if (rc != QX_OK && rc != QX_COMMAND)
		return say_cancel_failed(r, rc, 0);
	if (rc == QX_COMMAND)	/* it may have ended meanwhile */
		say("job %s: job-cancel: %s", id, qmp_errmsg(r->q));
	rc = wait_stopped(r, &entry);
	if (rc != QX_OK) {
		json_decref(entry);
		return say_cancel_failed(r, rc > 0 ? rc : 0, rc < 0 ? rc : 0);
	}
	ended = entry != NULL ? json_object_get(entry, "error") == NULL :
	    !r->job.cancelled && !r->job.aborted;
	if ((rc = dismiss_concluded(r, entry, 1)) != QX_OK) {
		json_decref(entry);
		return say_cancel_failed(r, rc, 0);
	}
	say("job %s %s%s", id, ended ? "ended before the cancel took "
	    "effect" : "cancelled", r->o->dismiss && entry != NULL ?
	    ", and dismissed" : "");
	json_decref(entry);
	return 0;
}

/*
 * Waits until the job reaches the status of --wait-job, or ends; with
 * --finalize finalizes it, with --dismiss dismisses it, with --cancel
 * cancels it when the wait ends otherwise.  Returns the exit status:
 * QX_OK, QX_FAILED for a job that failed or a --fail-event, QX_COMMAND
 * for one there is no trace of or that ended before the status, else
 * the failure's (QX_TIMEOUT for -t and --stall, 128+N for a signal).
 */
int
wait_job(struct run *r)
{
	json_t *entry = NULL;
	int rc, cancel_rc;

	if ((rc = progress_start(r)) != QX_OK)
		return rc;
	rc = query_job(r, &entry, 0);
	if (rc == QX_OK && entry == NULL && !r->job.seen) {
		say("no job %s", r->o->job_id);
		rc = QX_COMMAND;
	} else if (rc == QX_OK)
		rc = follow_job(r, &entry);
	if (rc == QX_OK) {
		progress_erase(r);
		rc = finish_job(r, entry);
		cancel_rc = dismiss_concluded(r, entry, 0);
		rc = rc == QX_OK ? cancel_rc : rc;
	} else if (rc < 0) {
		progress_erase(r);
		rc = say_job_end(r, rc);
		if (r->o->cancel && (cancel_rc = cancel_job(r)) != 0)
			rc = cancel_rc;
	}
	json_decref(entry);
	return progress_end(r, rc);
}

/* ---- Migrations ------------------------------------------------------ */

/* Returns the status in query-migrate's result info ("none" for {}). */
static const char *
migration_status(json_t *info)
{
	const char *s = qmp_json_string(json_object_get(info, "status"));

	return s != NULL ? s : "none";	/* no migration yet: {} */
}

/* Returns 1 for a status a migration ends in. */
static int
migration_over(const char *s)
{
	return strcmp(s, "completed") == 0 || strcmp(s, "failed") == 0 ||
	    strcmp(s, "cancelled") == 0;
}

/*
 * Says how a migration that ended with status s went.  Returns QX_OK for
 * "completed", QX_FAILED for "failed" and "cancelled".
 */
static int
migration_end(json_t *info, const char *s)
{
	const char *desc;

	if (strcmp(s, "completed") == 0)
		return QX_OK;
	desc = qmp_json_string(json_object_get(info, "error-desc"));
	if (desc != NULL)
		say("migration %s: %s", s, desc);
	else
		say("migration %s", s);
	return QX_FAILED;
}

/*
 * Hands query-migrate's result to progress_sample: {"status",
 * "transferred", "remaining", "total", "mbps"} from its "ram", with
 * QEMU's numbers.  Returns its answer.
 */
static int
sample_migration(struct run *r, json_t *info)
{
	json_t *line = must(json_object());
	json_t *ram = json_object_get(info, "ram");
	struct sample s = { 0 };
	int rc;

	copy_member(line, "status", info, "status");
	copy_member(line, "transferred", ram, "transferred");
	copy_member(line, "remaining", ram, "remaining");
	copy_member(line, "total", ram, "total");
	copy_member(line, "mbps", ram, "mbps");
	s.label = "migration";
	s.status = migration_status(info);
	s.moving = json_object_get(ram, "transferred");
	s.done = number_of(s.moving);
	s.total = number_of(json_object_get(ram, "total"));
	s.percent = s.total > 0 ? 100 * (s.total - number_of(
	    json_object_get(ram, "remaining"))) / s.total : 0;
	s.line = line;
	rc = progress_sample(r, &s);
	json_decref(line);
	return rc;
}

/*
 * Asks query-migrate until the migration is over (quiet: failures not
 * reported), sampling its progress unless quiet.  Returns QX_OK with
 * *info the last result (new), an END_ value, or a failure's status.
 */
static int
follow_migration(struct run *r, json_t **info, int quiet)
{
	int rc, ms = PAUSE_MIN_MS;

	for (;;) {
		r->migration_events = 0;
		json_decref(*info);
		*info = NULL;
		rc = wait_call(r, "query-migrate", NULL, info, quiet);
		if (rc != QX_OK)
			return rc;
		if (migration_over(migration_status(*info)))
			return QX_OK;
		if (!quiet && (rc = sample_migration(r, *info)) != QX_OK)
			return rc;
		if (r->prog.period > 0 && ms > r->prog.period)
			ms = (int)r->prog.period;
		rc = wait_pause(r, qmp_now_ms() + ms, &r->migration_events);
		if (rc != QX_OK)
			return rc;
		ms = ms * 2 < PAUSE_MAX_MS ? ms * 2 : PAUSE_MAX_MS;
	}
}

/*
 * --cancel: sends migrate_cancel and waits, within the grace, until the
 * migration is over.  Says what was done, with the status seen since the
 * cancel, if any.  Returns 128+N when a further signal ended the grace,
 * else 0 (the wait's status stands).
 */
static int
cancel_migration(struct run *r, json_t **info)
{
	json_t *ret;
	char its[96] = "";
	int rc;

	grace_start(r);
	json_decref(*info);
	*info = NULL;
	rc = wait_call(r, "migrate_cancel", NULL, &ret, 1);
	json_decref(ret);
	if (rc == QX_OK)
		rc = follow_migration(r, info, 1);
	if (*info != NULL)
		snprintf(its, sizeof(its), " (it is %s)", migration_status(*info));
	if (rc == QX_OK && strcmp(migration_status(*info), "cancelled") == 0)
		say("migration cancelled");
	else if (rc == QX_OK)
		say("migration %s before the cancel took effect",
		    migration_status(*info));
	else if (rc == END_SIGNAL || rc == io_signal_status()) {
		say("migration: interrupted again while it was being "
		    "cancelled%s", its);
		return io_signal_status();
	} else if (rc == END_DEADLINE || rc == QX_TIMEOUT)
		say("migration did not stop within %g s of migrate_cancel%s",
		    r->o->cancel_grace, its);
	else
		say("migrate_cancel: %s", qmp_errmsg(r->q));
	return 0;
}

/*
 * Says why the wait for the migration ended without reaching its end
 * (end, an END_ value; last, the last status seen), and with --cancel
 * cancels it.  Returns the exit status.
 */
static int
migration_wait_ended(struct run *r, int end, json_t **info)
{
	char last[64];
	int rc;

	snprintf(last, sizeof(last), "%s", migration_status(*info));
	if (end == END_FAIL_EVENT)
		rc = fail_event_ended(r);
	else if (end == END_STALL) {
		say_stalled(r, "the migration", last);
		rc = QX_TIMEOUT;
	} else {
		say("%s waiting for the migration to end (it is %s)",
		    end == END_SIGNAL ? "interrupted" : "timed out", last);
		rc = end == END_SIGNAL ? io_signal_status() : QX_TIMEOUT;
	}
	if (r->o->cancel && (end = cancel_migration(r, info)) != 0)
		rc = end;
	return rc;
}

/*
 * Waits until query-migrate says "completed", "failed" or "cancelled",
 * and prints its result; with --cancel, cancels a migration whose wait
 * ended otherwise.  Returns QX_OK, QX_FAILED, or the failure's status
 * (QX_TIMEOUT for -t and --stall, 128+N for a signal).
 */
int
wait_migration(struct run *r)
{
	json_t *info = NULL;
	int rc;

	if ((rc = progress_start(r)) != QX_OK)
		return rc;
	rc = follow_migration(r, &info, 0);
	progress_erase(r);
	if (rc == QX_OK) {
		rc = migration_end(info, migration_status(info));
		if (print_json(r, info) < 0)
			rc = stdout_failed(r, errno);
	} else if (rc < 0)
		rc = migration_wait_ended(r, rc, &info);
	json_decref(info);
	return progress_end(r, rc);
}
