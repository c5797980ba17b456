/* SPDX-License-Identifier: MIT */
/*
 * progress.c: what goes on while --wait-job or --wait-migration waits.
 *
 * The wait polls (query-jobs, query-migrate) at the period the options
 * ask for, and between polls reads events: wait_pause ends at the next
 * poll, on an event that concerns the wait, at the deadline, on a signal
 * or on a --fail-event.  Each poll gives a sample: progress_sample
 * writes it to --progress as one JSON line (QEMU's numbers as it sent
 * them), redraws the line on a terminal, and watches --stall.
 *
 * With --cancel, the commands of the wait are shielded from signals (a
 * signal that broke off a command would leave the connection out of step
 * and the job impossible to cancel): the signal ends the wait at the
 * next pause instead.  grace_start then gives the cancel its own
 * deadline and lets only a further signal end it.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "qmp_json.h"
#include "qmpctl.h"

#define LINE_MS_DEFAULT	1000	/* --progress lines, without --interval */
#define TTY_MS		250	/* the terminal line's poll, by default */
#define TTY_MIN_MS	200	/* and its redraws, at most this often */
#define RATE_MS		1000	/* the rate is measured over this, at least */

/* Returns seconds as whole milliseconds, rounded up (at least 1). */
static int64_t
ms_of(double seconds)
{
	int64_t ms = (int64_t)(seconds * 1000);

	if ((double)ms < seconds * 1000)
		ms++;
	return ms > 0 ? ms : 1;
}

/*
 * Starts watching a wait: opens --progress, decides whether to draw the
 * terminal line and how often to poll, and with --cancel shields the
 * commands from signals and lets the connection outlive -t by the
 * grace.  Returns QX_OK, or the status of a failure to open the file.
 */
int
progress_start(struct run *r)
{
	const struct options *o = r->o;
	struct progress *p = &r->prog;
	int rc;

	p->rate = -1;
	p->moved_at = qmp_now_ms();
	if ((rc = open_stream(r, o->progress, &p->file)) != QX_OK)
		return rc;
	p->tty = o->progress == NULL && isatty(STDERR_FILENO);
	if (o->interval > 0)
		p->period = ms_of(o->interval);
	else if (o->progress != NULL || o->stall > 0)
		p->period = LINE_MS_DEFAULT;
	else if (p->tty)
		p->period = TTY_MS;
	if (o->stall > 0 && p->period > ms_of(o->stall) / 2)
		p->period = ms_of(o->stall) / 2 > 0 ? ms_of(o->stall) / 2 : 1;
	p->next_line = qmp_now_ms();
	if (o->cancel) {
		p->shielded = 1;
		if (r->deadline != 0)
			qmp_set_deadline(r->q, r->deadline +
			    ms_of(o->cancel_grace));
	}
	return QX_OK;
}

/* Erases the terminal line, if one is drawn. */
void
progress_erase(struct run *r)
{
	if (!r->prog.drawn)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	r->prog.drawn = 0;
}

/*
 * Ends the watch: erases the terminal line and closes --progress.
 * Returns rc, or QX_LOCAL (after saying why) when rc is QX_OK and the
 * file could not be written.
 */
int
progress_end(struct run *r, int rc)
{
	struct progress *p = &r->prog;

	progress_erase(r);
	json_decref(p->moved);
	p->moved = NULL;
	if (p->file != NULL && p->file != stderr && fclose(p->file) != 0 &&
	    p->file_errno == 0)
		p->file_errno = errno;
	p->file = NULL;
	if (p->file_errno != 0 && !(p->file_errno == EINTR &&
	    qmpctl_signal)) {
		say("%s: %s", r->o->progress, strerror(p->file_errno));
		if (rc == QX_OK)
			rc = QX_LOCAL;
	}
	return rc;
}

/* Returns a number's value as a double (for the terminal line), or 0. */
double
number_of(const json_t *v)
{
	const char *t = qmp_json_number_text(v);

	return t != NULL ? strtod(t, NULL) : 0;
}

/* Returns the wall-clock time as a JSON number with microseconds (new). */
static json_t *
time_now(void)
{
	struct timespec ts;
	char buf[64];
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(buf, sizeof(buf), "%lld.%06ld", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000);
	return must(qmp_json_number_new(buf, (size_t)n));
}

/* Writes s's --progress line, {"time": ..., then s->line's members}. */
static void
write_line(struct run *r, const struct sample *s)
{
	struct progress *p = &r->prog;
	json_t *obj = must(json_object()), *v;
	const char *key;

	if (json_object_set_new(obj, "time", time_now()) < 0)
		must(NULL);
	json_object_foreach(s->line, key, v)
		if (json_object_set(obj, key, v) < 0)
			must(NULL);
	errno = 0;
	if (qmp_json_write(p->file, obj, 0) < 0 || fputc('\n', p->file) ==
	    EOF || fflush(p->file) != 0)
		p->file_errno = errno ? errno : EIO;
	json_decref(obj);
}

/*
 * Makes buf safe to draw: control characters, C0, DEL and C1 (as UTF-8,
 * U+0080 to U+009F), become spaces.
 */
static void
tty_safe(char *buf)
{
	unsigned char *p = (unsigned char *)buf;

	for (; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			p[0] = ' ';
			p[1] = ' ';
		}
}

/* Returns the terminal's width in columns, or 80. */
static size_t
tty_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		return ws.ws_col;
	return 80;
}

/*
 * Draws s on the terminal line: its label and status, the percentage,
 * done/total in MiB and the rate, cut to the terminal's width.
 */
static void
draw_line(struct run *r, const struct sample *s, int64_t now)
{
	struct progress *p = &r->prog;
	char buf[512];
	size_t n, w = tty_width() - 1;
	double mib = 1024.0 * 1024.0;

	if (p->rate_at == 0 || now - p->rate_at >= RATE_MS) {
		if (p->rate_at != 0)
			p->rate = (s->done - p->rate_value) * 1000 /
			    (double)(now - p->rate_at);
		p->rate_value = s->done;
		p->rate_at = now;
	}
	n = (size_t)snprintf(buf, sizeof(buf), "%s %s", s->label, s->status);
	if (s->total > 0 && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		    "  %.1f%%  %.1f/%.1f MiB", s->percent, s->done / mib,
		    s->total / mib);
	if (p->rate >= 0 && n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, "  %.1f MiB/s",
		    p->rate / mib);
	tty_safe(buf);
	fprintf(stderr, "\r%.*s\033[K", (int)(w < sizeof(buf) ? w :
	    sizeof(buf)), buf);
	fflush(stderr);
	p->drawn = 1;
	p->last_draw = now;
}

/*
 * Takes one poll's sample: notes whether s->moving changed (for
 * --stall), writes the --progress line when one is due, and redraws
 * the terminal line.  Returns QX_OK, or END_STALL when the value has
 * not changed for --stall's seconds.
 */
int
progress_sample(struct run *r, const struct sample *s)
{
	struct progress *p = &r->prog;
	int64_t now = qmp_now_ms();
	int same;

	same = p->moved == NULL ? s->moving == NULL : s->moving != NULL &&
	    qmp_json_equal(p->moved, s->moving);
	if (!same || s->idle) {
		json_incref(s->moving);
		json_decref(p->moved);
		p->moved = s->moving;
		p->moved_at = now;
	}
	if (p->file != NULL && p->file_errno == 0 && now >= p->next_line) {
		write_line(r, s);
		p->next_line += r->o->interval > 0 ? ms_of(r->o->interval) :
		    LINE_MS_DEFAULT;
		if (p->next_line <= now)
			p->next_line = now + 1;
	}
	if (p->tty && (!p->drawn || now - p->last_draw >= TTY_MIN_MS))
		draw_line(r, s, now);
	if (r->o->stall > 0 && now - p->moved_at >= ms_of(r->o->stall))
		return END_STALL;
	return QX_OK;
}

/*
 * Says that what (a job, the migration) made no progress for --stall's
 * seconds, with the value it stayed at.
 */
void
say_stalled(struct run *r, const char *what, const char *status)
{
	const char *at = qmp_json_number_text(r->prog.moved);

	progress_erase(r);
	say("%s made no progress for %g s (it is %s%s%s)", what,
	    r->o->stall, status, at ? ", at " : "", at ? at : "");
}

/* Returns 1 when the wait is to stop for a signal. */
static int
signalled(const struct run *r)
{
	if (r->prog.in_grace)
		return qmpctl_signal_again != 0 ||
		    qmpctl_signal != r->prog.grace_signal;
	return qmpctl_signal != 0;
}

/*
 * Waits until the monotonic time until (ms; 0: no limit of its own), or
 * until *woken is nonzero (an event concerning the wait came), taking
 * the events that come.  Returns QX_OK then, END_DEADLINE at the
 * deadline, END_SIGNAL on a signal, END_FAIL_EVENT when a --fail-event
 * came (not within the grace), or the status of a failure of the
 * connection after reporting it.  The terminal line is erased before
 * anything is said.
 */
int
wait_pause(struct run *r, int64_t until, const int *woken)
{
	enum qmp_status st;
	int64_t now, stop;
	int got;

	for (;;) {
		if (r->failed != NULL && !r->prog.in_grace)
			return END_FAIL_EVENT;
		if (*woken)
			return QX_OK;
		if (signalled(r))
			return END_SIGNAL;
		now = qmp_now_ms();
		if (r->deadline != 0 && now >= r->deadline)
			return END_DEADLINE;
		if (until != 0 && now >= until)
			return QX_OK;
		stop = until;
		if (r->deadline != 0 && (stop == 0 || r->deadline < stop))
			stop = r->deadline;
		st = qmp_pump_until(r->q, stop, &got);
		if (st == QMP_ECANCEL)
			return END_SIGNAL;
		if (st == QMP_ETIMEOUT)
			return END_DEADLINE;
		if (st != QMP_OK) {
			progress_erase(r);
			say_failure(r);
			return exit_status(st);
		}
	}
}

/*
 * Runs command name with args (borrowed; NULL for none) for the wait,
 * shielded from signals when progress_start said so.  Returns QX_OK with
 * the return value in *ret (new), or the exit status of the failure:
 * reported as a command's result would be, or, quiet, not at all (then
 * qmp_errmsg says what it was).
 */
int
wait_call(struct run *r, const char *name, json_t *args, json_t **ret,
    int quiet)
{
	enum qmp_status st;
	int rc;

	if (r->prog.shielded) {
		qmp_set_cancel_flag(r->q, NULL);
		qmp_set_cancel_fd(r->q, -1);
	}
	st = qmp_call(r->q, name, args, ret);
	if (r->prog.shielded) {
		qmp_set_cancel_flag(r->q, &qmpctl_signal);
		qmp_set_cancel_fd(r->q, r->cancel_fd);
	}
	if (st == QMP_OK)
		return QX_OK;
	progress_erase(r);
	rc = exit_status(st);
	if (!quiet)
		rc = print_reply(r, st, *ret);
	json_decref(*ret);
	*ret = NULL;
	return rc;
}

/*
 * Starts --cancel's grace: from now on the run's deadline is the
 * grace's end, a further signal (and only that) ends a call at once, and
 * the commands are no longer shielded.
 */
void
grace_start(struct run *r)
{
	struct progress *p = &r->prog;
	char c;

	progress_erase(r);
	p->shielded = 0;
	p->in_grace = 1;
	p->grace_signal = qmpctl_signal;
	/* Empty the wake-up pipe: only a signal from now on may wake. */
	while (read(r->cancel_fd, &c, 1) == 1)
		continue;
	r->deadline = qmp_now_ms() + ms_of(r->o->cancel_grace);
	qmp_set_deadline(r->q, r->deadline);
	qmp_set_cancel_flag(r->q, p->grace_signal ? &qmpctl_signal_again :
	    &qmpctl_signal);
	qmp_set_cancel_fd(r->q, r->cancel_fd);
}

/*
 * Ends the wait on the --fail-event that came: prints it and says what
 * it reports.  Returns QX_FAILED.
 */
int
fail_event_ended(struct run *r)
{
	progress_erase(r);
	if (print_json(r, r->failed) < 0)
		stdout_failed(r, errno);
	return say_event_failure(r->failed);
}
