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
 *   jobs.c        --wait-job and --wait-migration
 *   trace.c       --trace: what went over the wire
 *   agent.c       --exec, --get and --put: programs and files in the guest
 *   guestexec.c   --exec's --detach, --env and --merged, and --exec-status
 *   screen.c      --screendump, and the steps run in the order given
 *   keys.c        --keys and --type: send-key
 *   base64.c      base64 for the agent's data (base64.h)
 */
#ifndef QMPCTL_H
#define QMPCTL_H

#include <signal.h>
#include <stdio.h>

#include <jansson.h>

#include "qmp_core.h"

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
	const char *trace;	/* --trace FILE or $QMPCTL_TRACE */
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

/* The run's state, passed to whatever needs it. */
struct run {
	const struct options *o;
	struct qmp *q;
	int64_t deadline;	/* CLOCK_MONOTONIC ms for -t, or 0 */
	int cancel_fd;		/* readable once a signal came */
	int stdout_done;	/* stdout failed and was reported */
	/* commands from stdin */
	struct qmp_framer in;
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
	/* --wait-job: what events said of the job */
	int job_seen;		/* an event named it */
	int job_changed;	/* one did since the last look */
	int job_reached;	/* it reached the awaited status */
	int job_aborted;	/* it went through "aborting" */
	int job_cancelled;	/* BLOCK_JOB_CANCELLED came for it */
	json_t *job_last;	/* its last JOB_STATUS_CHANGE data, or NULL */
	json_t *job_end;	/* its BLOCK_JOB_COMPLETED/CANCELLED data */
	/* --wait-migration */
	int migration_events;	/* MIGRATION events since the last look */
	FILE *trace;		/* --trace */
	int trace_errno;	/* the first failure writing it */
	/* --exec */
	int exec_status;	/* the program's exit status, once known */
};

/* The signal that asked us to stop, or 0.  Set by the signal handler. */
extern volatile sig_atomic_t qmpctl_signal;

/* output.c */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
int usage_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void say_failure(const struct run *);
void *must(void *p);
int exit_status(enum qmp_status);
int stdout_failed(struct run *, int err);
int print_json(const struct options *, json_t *v);
int report(struct run *, enum qmp_status, json_t *reply);
int finish_stdout(struct run *, int rc);
int open_output(const struct run *, const char *path);
void setup_stdout(int cancel_fd);
FILE *signal_stream(int fd, int cancel_fd);
int open_stream(const struct run *, const char *name, FILE **fp);

/* input.c */
int read_input(const struct run *, int fd, const char *name, char **buf,
    size_t *len);
int wait_input(const struct run *, int fd, const char *name);
json_t *load_args(const struct run *, const char *spec);
json_t *operand_args(int argc, char **argv, json_t *base);
int next_command(struct run *, json_t **cmd);
int valid_utf8(const char *s, size_t n);

/* events.c */
void add_alt(struct options *, const char *opt, const char *list, int fail);
void add_match(struct options *, const char *s);
void attach_matches(struct options *);
void free_alts(struct options *);
enum event_kind event_kind(const struct options *, json_t *event);
void on_event(void *ctx, json_t *event);
int wait_events(struct run *);

/* jobs.c */
void parse_wait_job(struct options *, char *arg);
void watch_event(struct run *, json_t *event);
int wait_job(struct run *);
int wait_migration(struct run *);
/* trace.c */
void on_trace(void *ctx, int dir, int is_msg, const char *bytes, size_t len,
    size_t nfds);
int open_trace(struct run *);
int close_trace(struct run *);

/* introspect.c */
int query(struct run *, const char *name, json_t **reply);
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
