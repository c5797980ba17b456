/* SPDX-License-Identifier: MIT */
/*
 * guestexec.c: guest programs that run on after the call.  --exec
 * --detach starts a program and prints its pid; --exec-status PID
 * collects it later, as --exec would have at its end.  --env passes
 * environment variables, --merged asks qemu-ga 8.1 and later for one
 * stream of stdout and stderr in their order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qmp_json.h"
#include "qmpctl.h"

/* Adds --env's NAME=VALUE to o, or exits with a usage error. */
void
add_env(struct options *o, const char *arg)
{
	const char **n;
	const char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg)
		usage_error("--env: expected NAME=VALUE, got '%s'", arg);
	if (!valid_utf8(arg, strlen(arg)))
		usage_error("--env: '%.*s' is not valid UTF-8", (int)(eq - arg),
		    arg);
	n = must(realloc(o->env, (o->nenv + 1) * sizeof(*n)));
	o->env = n;
	o->env[o->nenv++] = arg;
}

/* The rules of --detach, --env, --merged and --exec-status; exits. */
void
check_exec_options(const struct options *o)
{
	if ((o->detach || o->nenv > 0 || o->merged) && !o->exec)
		usage_error("--detach, --env and --merged go with --exec");
	if (o->exec_status_pid < 0 || o->exec)
		return;		/* --exec with it: check_agent_options says */
	if (o->noperands > 0)
		usage_error("operand '%s': --exec-status takes none",
		    o->operands[0]);
}

/* Adds --env and --merged to guest-exec's arguments args (borrowed). */
void
exec_extra_args(const struct options *o, json_t *args)
{
	json_t *env;
	size_t i;

	if (o->merged && json_object_set_new(args, "capture-output",
	    must(json_string("merged"))) < 0)
		must(NULL);
	if (o->nenv == 0)
		return;
	env = must(json_array());
	for (i = 0; i < o->nenv; i++)
		if (json_array_append_new(env,
		    must(json_string(o->env[i]))) < 0)
			must(NULL);
	if (json_object_set_new(args, "env", env) < 0)
		must(NULL);
}

/*
 * Returns 1 when the agent's guest-info says a version before 8.1, the
 * first to take capture-output "merged"; copies the version to buf.
 */
static int
agent_before_8_1(struct run *r, char *buf, size_t len)
{
	json_t *info = NULL, *v;
	int major = 0, minor = 0, old = 0;

	if (qmp_call(r->q, "guest-info", NULL, &info) == QMP_OK &&
	    qmp_json_is_string(v = json_object_get(info, "version")) &&
	    sscanf(qmp_json_string(v), "%d.%d", &major, &minor) == 2) {
		snprintf(buf, len, "%s", qmp_json_string(v));
		old = major < 8 || (major == 8 && minor < 1);
	}
	json_decref(info);
	return old;
}

/*
 * Runs guest-exec with args (stolen).  Returns QX_OK with *pid set, or
 * after a message the failure's status; an agent that refuses --merged
 * because it is older than 8.1 is told apart.
 */
int
start_program(struct run *r, json_t *args, json_int_t *pid)
{
	enum qmp_status st;
	json_t *ret = NULL;
	char version[64];
	long long p;

	st = qmp_call(r->q, "guest-exec", args, &ret);
	json_decref(args);
	if (st == QMP_ECOMMAND && r->o->merged &&
	    agent_before_8_1(r, version, sizeof(version))) {
		json_decref(ret);
		say("the agent is too old for --merged: qemu-ga %s; 8.1 and "
		    "later take capture-output \"merged\" (%s)", version,
		    qmp_errmsg(r->q));
		return QX_COMMAND;
	}
	if (st != QMP_OK) {
		json_decref(ret);
		say_failure(r);
		return exit_status(st);
	}
	if (qmp_json_int(json_object_get(ret, "pid"), &p) != 0) {
		json_decref(ret);
		say("guest-exec: the reply has no \"pid\" integer");
		return QX_PROTO;
	}
	json_decref(ret);
	*pid = (json_int_t)p;
	return QX_OK;
}

/* Prints {"pid": N} for --detach.  Returns the exit status. */
int
detached(struct run *r, json_int_t pid)
{
	json_t *v = must(json_pack("{s:I}", "pid", pid));
	int rc = QX_OK;

	if (print_json(r, v) < 0)
		rc = stdout_failed(r, errno);
	json_decref(v);
	return rc;
}

/*
 * --exec-status: waits for the program pid, then writes its output and
 * takes its exit status, as --exec does at its end.  Returns QX_OK with
 * r->exec_status set, or after a message qmpctl's failure status.
 */
int
agent_exec_status(struct run *r, json_int_t pid)
{
	json_t *status = NULL;
	int rc;

	if ((rc = await_exit(r, pid, &status)) != QX_OK)
		return rc;
	rc = exec_output(r, status);
	json_decref(status);
	return rc;
}
