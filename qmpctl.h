/* SPDX-License-Identifier: MIT */
/*
 * qmpctl.h: what the parts of the command line share (not the protocol,
 * which is qmp_core.h).
 *
 *   qmpctl.c      main, the option table, checks across options, the run
 *   input.c       what the user gives: -a, KEY=VALUE operands, stdin
 *   output.c      stdout and stderr: results, messages, the exit status map
 *   events.c      --wait-event, --match, --count, --events
 *   introspect.c  --list-commands and --describe
 *   jobs.c        --wait-job and --wait-migration, --cancel, --dismiss,
 *                 --finalize
 *   progress.c    while they wait: --progress, the terminal line, --stall,
 *                 the poll's clock and --cancel's grace
 *   until.c       --until: a command run again until its return passes
 *   trace.c       --trace: what went over the wire
 *   agent.c       --exec, --get and --put: programs and files in the guest
 *   guestexec.c   --exec's --detach, --env and --merged, and --exec-status
 *   screen.c      --screendump, and the steps run in the order given
 *   keys.c        --keys and --type: send-key
 *   base64.c      base64 for the agent's data (base64.h)
 *   cli_io.c      waits, reads and writes within -t and until a signal
 *                 (cli_io.h)
 */
#ifndef QMPCTL_H
#define QMPCTL_H

#include <signal.h>
#include <stdio.h>

#include <jansson.h>

#include "cli_io.h"
#include "qmp_core.h"
#include "qmp_framer.h"

/*
 * Exit statuses, as documented in qmpctl.1 and README.md.  Named QX_ so
 * as not to clash with <sysexits.h>.  A signal N gives 128+N.
 */
enum {
	QX_OK = 0,
	QX_COMMAND = 1,		/* the server answered with an error */
	QX_USAGE = 2,
	QX_CONNECT = 3,
	QX_GREETING = 4,
	QX_NEGOTIATE = 5,
	QX_CLOSED = 6,
	QX_PROTO = 7,
	QX_TIMEOUT = 8,
	QX_LOCAL = 9,
	QX_FAILED = 10,		/* the server reported that the operation failed:
				   a --fail-event, a job or a migration */
	QX_PIPE = 141,		/* stdout is a pipe whose reader left */
	QX_EXEC_OWN = 255,	/* --exec: a failure of qmpctl, not the program */
};

/* One --match test on an event's data. */
struct match {
	enum { MATCH_VALUE, MATCH_PRESENT, MATCH_ABSENT } kind;
	char *key;		/* dotted path into the event's "data" */
	const char *text;	/* KEY=VALUE: the value as given */
	json_t *value;		/* KEY=VALUE: the value parsed as JSON, or NULL */
	size_t alt;		/* the alternative it belongs to */
};

/* One --wait-event or --fail-event and the --match tests that follow it. */
struct alt {
	int fail;		/* --fail-event */
	char *list;		/* the names as given */
	char **names;		/* split, NULL-terminated */
	struct match *matches;
	size_t nmatches;
};

enum event_kind { EVENT_OTHER, EVENT_WANTED, EVENT_FAIL };

/* One --screendump, --keys or --type, run in the order given. */
enum step_kind { STEP_SCREENDUMP, STEP_KEYS, STEP_TYPE };
struct step {
	enum step_kind kind;
	const char *arg;	/* FILE, COMBO[,COMBO...] or TEXT */
};

/* What the command line asked for; filled by qmpctl.c, then read only. */
struct options {
	const char *addr;	/* -s, $QMP_SOCKET, or --listen's */
	const char *listen_addr; /* --listen */
	const char *command;	/* -c */
	const char *args;	/* -a */
	char **given;		/* argv as given, while options are read */
	char **operands;	/* KEY=VALUE and KEY:=JSON */
	int noperands;
	double timeout;		/* seconds, 0 = none */
	double wait;		/* seconds to retry the connect */
	size_t max_size;
	int pretty, full, raw;
	int keep_going;
	int qga, oob, greeting;
	int json, list_commands;
	const char *hmp, *describe;
	int pass_fds[64];
	size_t npass_fds;
	int no_stdin;		/* -n */
	/* the guest agent's programs and files */
	int exec;		/* --exec: the operands are PROG [ARG...] */
	int dashdash;		/* the operands came after "--" */
	const char *get_path;	/* --get */
	const char *put_path;	/* --put */
	/* events */
	struct alt *alts;	/* --wait-event and --fail-event */
	size_t nalts;
	struct match *matches;	/* every --match, in order */
	size_t nmatches;
	long count;		/* events to print; 0: no limit */
	int count_set;
	const char *events_log;	/* --events FILE, - for stderr */
	/* jobs and migrations */
	const char *job_id;	/* --wait-job's ID, or NULL */
	int job_target;		/* the status it waits for (jobs.c's index) */
	int wait_migration;
	int ready_fd;		/* --ready-fd, or -1 */
	int cancel;		/* --cancel */
	double cancel_grace;	/* --cancel-grace, seconds (default 5) */
	int cancel_grace_set;
	int dismiss, finalize;	/* --dismiss, --finalize */
	const char *progress;	/* --progress FILE, - for stderr */
	double interval;	/* --interval, seconds; 0: not given */
	double stall;		/* --stall, seconds; 0: none */
	/* --until */
	struct match *untils;
	size_t nuntils;
	const char *trace;	/* --trace FILE or $QMPCTL_TRACE */
	int trace_append;	/* it came from $QMPCTL_TRACE: append to it */
	/* the screen and the keyboard (screen.c, keys.c) */
	struct step *steps;	/* --screendump, --keys, --type, in order */
	size_t nsteps;
	const char *screen_device; /* --screen-device, or NULL */
	long screen_head;	/* --screen-head, or -1 */
	long hold_ms;		/* --hold, or -1: QEMU's default */
	long key_delay_ms;	/* --key-delay */
	int key_delay_set;
	/* guest programs that run on (guestexec.c) */
	int detach;		/* --detach */
	long long exec_status_pid; /* --exec-status, or -1 */
	const char **env;	/* --env NAME=VALUE, in order */
	size_t nenv;
	int merged;		/* --merged */
};

/*
 * --wait-job: what is known of the job (jobs.c).  note_wait_event, which
 * the event callback on_event calls, writes it; query_job reads it.
 */
struct job_watch {
	int seen;		/* an event named it */
	int events_since_query;	/* one did since query_job last asked */
	int reached;		/* it reached the awaited status */
	int aborted;		/* it went through "aborting" */
	int cancelled;		/* BLOCK_JOB_CANCELLED came for it */
	int finalize_sent;	/* --finalize: job-finalize went out */
	json_t *last;		/* its last query-jobs entry or JOB_STATUS_CHANGE
				   data, or NULL */
	json_t *end;		/* its BLOCK_JOB_COMPLETED/CANCELLED data */
};

/* While a job or a migration is waited for (progress.c). */
struct progress {
	FILE *file;		/* --progress, or NULL */
	int file_errno;		/* the first failure writing it */
	int tty;		/* draw the line on stderr, a terminal */
	int drawn;		/* a line is on the terminal now */
	int64_t period;		/* ms between polls; 0: events only */
	int64_t next_line;	/* when the next --progress line is due */
	int64_t last_draw;	/* when the terminal line was last drawn */
	json_t *moved;		/* the progress value, as last changed */
	int64_t moved_at;	/* when it last changed */
	double rate_value;	/* for the rate: the value at rate_at */
	int64_t rate_at;
	double rate;		/* bytes a second, or -1 while unknown */
	int shielded;		/* commands ignore signals (--cancel) */
	int in_grace;		/* --cancel is waiting for the cancel */
	int grace_signal;	/* the signal that ended the wait, or 0 */
};

/* The run's state, passed to whatever needs it. */
struct run {
	const struct options *o;
	struct qmp *q;
	int64_t deadline;	/* CLOCK_MONOTONIC ms for -t, or 0 */
	int cancel_fd;		/* readable once a signal came */
	FILE *out;		/* stdout, through io_stream */
	int stdout_done;	/* stdout failed and was reported */
	/* commands from stdin */
	struct qmp_framer *in;
	int in_eof;
	unsigned long in_count;
	/* events */
	long counted;		/* awaited events taken */
	int live;		/* commands are done: print events at once */
	json_t *held;		/* awaited events seen while commands ran */
	unsigned long dropped;	/* held events dropped at the bound */
	json_t *failed;		/* the first failure event, or NULL */
	FILE *log;		/* --events */
	int log_errno;		/* the first failure writing it */
	int out_errno;		/* the first failure printing an event */
	struct job_watch job;	/* --wait-job */
	struct progress prog;	/* --wait-job and --wait-migration */
	/* --wait-migration */
	int migration_events;	/* MIGRATION events since the last look */
	int trace_fd;		/* --trace, or -1 */
	int trace_errno;	/* the first failure writing it */
	/* --exec */
	int exec_status;	/* the program's exit status, once known */
};

/* The signal that asked us to stop, or 0.  Set by the signal handler. */
extern volatile sig_atomic_t qmpctl_signal;
/* A signal that came after the first one, or 0 (--cancel's grace). */
extern volatile sig_atomic_t qmpctl_signal_again;

/* output.c */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
int usage_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void say_failure(const struct run *);
void *must(void *p);
int exit_status(enum qmp_status);
int stdout_failed(struct run *, int err);
int print_json(const struct run *, json_t *v);
int print_reply(struct run *, enum qmp_status, json_t *reply);
int finish_stdout(struct run *, int rc);
int open_output(const struct run *, const char *path, int append, int *fd);
void setup_stdout(struct run *);
int open_stream(const struct run *, const char *name, FILE **fp);

/* qmpctl.c */
int call_or_report(struct run *, const char *name, json_t **reply);

/* input.c */
int read_input(const struct run *, int fd, const char *name, char **buf,
    size_t *len);
json_t *load_args(const struct run *, const char *spec);
json_t *operand_args(int argc, char **argv, json_t *base);
int next_command(struct run *, json_t **cmd);
int valid_utf8(const char *s, size_t n);

/* events.c */
void add_alt(struct options *, const char *opt, const char *list, int fail);
void add_match(struct options *, const char *s);
void attach_matches(struct options *);
void free_alts(struct options *);
int match_passes(json_t *v, const struct match *m);
int parse_match(struct match *m, const char *s);
int say_event_failure(json_t *event);
enum event_kind event_kind(const struct options *, json_t *event);
void on_event(void *ctx, json_t *event);
int wait_events(struct run *);

/* jobs.c */
void parse_wait_job(struct options *, char *arg);
void note_wait_event(struct run *, json_t *event);
int wait_job(struct run *);
int wait_migration(struct run *);

/* progress.c */
enum wait_end { END_GOAL = 0, END_DEADLINE = -1, END_SIGNAL = -2,
    END_FAIL_EVENT = -3, END_STALL = -4 };
/* One poll's view of what is waited for (borrowed references). */
struct sample {
	const char *label;	/* "job j1 (backup)", "migration" */
	const char *status;
	json_t *moving;		/* the number --stall watches, or NULL */
	double done, total;	/* bytes, for the terminal line; total 0:
				   unknown */
	double percent;
	int idle;		/* it waits for a command (a ready mirror):
				   --stall does not count this time */
	json_t *line;		/* --progress's members, without "time" */
};
int progress_start(struct run *);
int progress_end(struct run *, int rc);
void progress_erase(struct run *);
int progress_sample(struct run *, const struct sample *);
double number_of(const json_t *v);
void say_stalled(struct run *, const char *what, const char *status);
int wait_pause(struct run *, int64_t until, const int *woken);
int wait_call(struct run *, const char *name, json_t *args, json_t **ret,
    int quiet);
void grace_start(struct run *);
int fail_event_ended(struct run *);

/* until.c */
void add_until(struct options *, const char *test);
void free_untils(struct options *);
int run_until(struct run *, json_t *cmd);
/* trace.c */
void on_trace(void *ctx, int dir, int is_msg, const char *bytes, size_t len,
    size_t nfds);
int open_trace(struct run *);
int close_trace(struct run *);

/* introspect.c */
int describe(struct run *, const char *name);
int list_commands(struct run *);

/* agent.c */
int exec_args(struct run *, json_t **args);
int agent_exec(struct run *, json_t *args);
int exec_exit_status(const struct run *, int rc);
int agent_get(struct run *, const char *path);
int agent_put(struct run *, const char *path);
int await_exit(struct run *, json_int_t pid, json_t **status);
int exec_output(struct run *, json_t *status);

/* guestexec.c */
void add_env(struct options *, const char *arg);
void check_exec_options(const struct options *);
void exec_extra_args(const struct options *, json_t *args);
int start_program(struct run *, json_t *args, json_int_t *pid);
int detached(struct run *, json_int_t pid);
int agent_exec_status(struct run *, json_int_t pid);

/* screen.c */
void add_step(struct options *, int kind, const char *arg);
void check_steps(const struct options *, const struct qmp_addr *addr);
int screendump(struct run *, const char *path);
int run_steps(struct run *);

/* keys.c */
int parse_key_step(int type, const char *arg, json_t **combos, int *qemu8,
    char *err, size_t errlen);
int check_server_keys(struct run *);
int run_key_step(struct run *, int type, const char *arg, int *first);

#endif
