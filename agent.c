/* SPDX-License-Identifier: MIT */
/*
 * agent.c: what the guest agent does for a CI job besides single
 * commands: run a program in the guest and hand back its output and
 * exit status (--exec), and copy a file out of the guest (--get) or into
 * it (--put).  The data travels as base64, file data in chunks, so that
 * a file of any size passes in bounded memory.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base64.h"
#include "qmpctl.h"

#define FILE_CHUNK	((size_t)1 << 20)  /* bytes per guest-file-read/write */
#define POLL_FIRST_MS	5	/* first pause between guest-exec-status */
#define POLL_MAX_MS	250	/* longest pause */
#define CLOSE_GRACE_MS	1000	/* guest-file-close after -t or a signal */
#define DECODE_PIECE	65536	/* base64 characters decoded at a time */

/* Returns the milliseconds left before -t's deadline: -1 none, 0 passed. */
static int64_t
ms_left(const struct run *r)
{
	int64_t left;

	if (r->deadline == 0)
		return -1;
	left = r->deadline - qmp_now_ms();
	return left > 0 ? left : 0;
}

/*
 * Reports that writing to name (stdout or stderr) failed with err.
 * Returns the status: QX_PIPE, without a message, for a reader that
 * left stdout; QX_TIMEOUT; 128+N; otherwise QX_LOCAL.
 */
static int
write_failed(const char *name, int err)
{
	if (err == EPIPE && strcmp(name, "stdout") == 0 && !qmpctl_signal)
		return QX_PIPE;
	return io_failure(name, err, IO_WRITE, QX_LOCAL);
}

/*
 * Decodes str (borrowed: a base64 string, or NULL for none) and writes
 * the bytes to fd, a piece at a time.  what names the member for
 * messages.  Returns QX_OK with *bytes set, or after a message the
 * failure's status: QX_PROTO for text that is not base64.
 */
static int
write_decoded(const struct run *r, int fd, const char *name, json_t *str,
    const char *what, size_t *bytes)
{
	unsigned char out[DECODE_PIECE / 4 * 3];
	const char *s = qmp_json_string(str);
	size_t i, n = json_string_length(str), piece, got;

	*bytes = 0;
	if (str != NULL && (s == NULL || n % 4 != 0)) {
		say("%s: not a base64 string", what);
		return QX_PROTO;
	}
	for (i = 0; i < n; i += piece) {
		piece = n - i < DECODE_PIECE ? n - i : DECODE_PIECE;
		got = b64_decode(s + i, piece, out);
		if (got == (size_t)-1 || (i + piece < n &&
		    got != piece / 4 * 3)) {
			say("%s: not a base64 string", what);
			return QX_PROTO;
		}
		if (io_write_all(r, fd, out, got) < 0)
			return write_failed(name, errno);
		*bytes += got;
	}
	return QX_OK;
}

/*
 * Runs the agent command name with args (stolen).  Returns QX_OK with
 * *ret the return value (new), or after a message on stderr the
 * failure's status: QX_COMMAND when the agent answered with an error.
 */
static int
agent_call(struct run *r, const char *name, json_t *args, json_t **ret)
{
	enum qmp_status st;

	st = qmp_call(r->q, name, args, ret);
	json_decref(args);
	if (st == QMP_OK)
		return QX_OK;
	json_decref(*ret);
	*ret = NULL;
	say_failure(r);
	return exit_status(st);
}

/*
 * Returns 0 with *v the integer member key of obj, or -1 after a message
 * naming the command when obj has no such member.
 */
static int
int_member(json_t *obj, const char *key, const char *cmd, json_int_t *v)
{
	long long x;

	if (qmp_json_int(json_object_get(obj, key), &x) != 0) {
		say("%s: the reply has no \"%s\" integer", cmd, key);
		return -1;
	}
	*v = (json_int_t)x;
	return 0;
}

/* ---- --exec --------------------------------------------------------- */

/*
 * Builds guest-exec's arguments (new) from the operands, PROG [ARG...],
 * and all of stdin unless -n is given or stdin is a terminal.  Runs
 * before connecting.  Returns QX_OK, or after a message the failure's
 * status.
 */
int
exec_args(struct run *r, json_t **args)
{
	const struct options *o = r->o;
	json_t *argv = must(json_array());
	char *in, *b64;
	size_t len;
	int i, rc;

	for (i = 1; i < o->noperands; i++)
		if (json_array_append_new(argv,
		    must(json_string(o->operands[i]))) < 0)
			must(NULL);
	*args = must(json_pack("{s:s, s:o, s:b}", "path", o->operands[0],
	    "arg", argv, "capture-output", 1));
	exec_extra_args(o, *args);
	if (o->no_stdin || isatty(STDIN_FILENO))
		return QX_OK;
	if ((rc = read_input(r, STDIN_FILENO, "stdin", &in, &len)) != QX_OK) {
		json_decref(*args);
		*args = NULL;
		return rc;
	}
	if (len > 0) {
		b64 = must(malloc(b64_encoded_len(len) + 1));
		len = b64_encode((const unsigned char *)in, len, b64);
		free(in);
		in = NULL;
		if (json_object_set_new(*args, "input-data",
		    must(json_stringn_nocheck(b64, len))) < 0)
			must(NULL);
		free(b64);
	}
	free(in);
	return QX_OK;
}

/* Reports that the program still runs after rc.  Returns rc. */
static int
still_running(json_int_t pid, int rc)
{
	say("%s; the program runs on in the guest as pid %" JSON_INTEGER_FORMAT,
	    rc == QX_TIMEOUT ? "timed out" : "interrupted", pid);
	return rc;
}

/*
 * Polls guest-exec-status for pid until "exited" is true, pausing 5 ms
 * at first and twice as long each time, up to 250 ms.  Returns QX_OK
 * with *status the last return value (new), or after a message the
 * failure's status.
 */
int
await_exit(struct run *r, json_int_t pid, json_t **status)
{
	enum qmp_status st;
	int64_t pause = POLL_FIRST_MS;
	json_t *args;
	int rc;

	for (;;) {
		args = must(json_pack("{s:I}", "pid", pid));
		st = qmp_call(r->q, "guest-exec-status", args, status);
		json_decref(args);
		if (st == QMP_OK && json_is_true(json_object_get(*status,
		    "exited")))
			return QX_OK;
		json_decref(*status);
		*status = NULL;
		if (st == QMP_OK)
			rc = io_pause(r, pause);
		else if (st == QMP_ETIMEOUT || st == QMP_ECANCEL)
			rc = exit_status(st);
		else {
			say_failure(r);
			return exit_status(st);
		}
		if (rc != QX_OK)
			return still_running(pid, rc);
		pause = pause * 2 < POLL_MAX_MS ? pause * 2 : POLL_MAX_MS;
	}
}

/*
 * Takes the program's exit status from status (guest-exec-status's
 * return, borrowed) into r->exec_status: its exit code, or 128+N when
 * signal N killed it.  Returns QX_OK, or after a message QX_PROTO.
 */
static int
take_exit_status(struct run *r, json_t *status)
{
	json_t *code = json_object_get(status, "exitcode");
	json_t *sig = json_object_get(status, "signal");
	long long v = 0;
	int is_sig = qmp_json_int(sig, &v) == 0;

	if (is_sig) {
		if (v > 0 && v < 127) {
			r->exec_status = 128 + (int)v;
			return QX_OK;
		}
	} else if (qmp_json_int(code, &v) == 0) {
		if (v >= 0 && v <= 255) {
			r->exec_status = (int)v;
			return QX_OK;
		}
	} else {
		say("guest-exec-status: neither \"exitcode\" nor \"signal\" "
		    "in the reply");
		return QX_PROTO;
	}
	say("guest-exec-status: %s %lld does not fit in an exit status",
	    is_sig ? "signal" : "exit code", v);
	return QX_PROTO;
}

/*
 * Writes the program's output from status (borrowed) to stdout and
 * stderr, byte for byte, and says when the agent cut it.  Returns QX_OK
 * with r->exec_status set, or after a message the failure's status.
 */
int
exec_output(struct run *r, json_t *status)
{
	size_t nout = 0, nerr = 0;
	int rc;

	if ((rc = take_exit_status(r, status)) != QX_OK)
		return rc;
	rc = write_decoded(r, STDOUT_FILENO, "stdout", json_object_get(status,
	    "out-data"), "guest-exec-status \"out-data\"", &nout);
	if (rc == QX_PIPE)
		say("stdout: the reader left; the program exited with status "
		    "%d", r->exec_status);
	if (rc != QX_OK)
		return rc;
	rc = write_decoded(r, STDERR_FILENO, "stderr", json_object_get(status,
	    "err-data"), "guest-exec-status \"err-data\"", &nerr);
	if (json_is_true(json_object_get(status, "out-truncated")))
		say("the agent cut the program's stdout after %zu bytes "
		    "(out-truncated)", nout);
	if (json_is_true(json_object_get(status, "err-truncated")))
		say("the agent cut the program's stderr after %zu bytes "
		    "(err-truncated)", nerr);
	return rc;
}

/*
 * Runs guest-exec with args (stolen), waits for the program to end, and
 * copies its output; with --detach, prints its pid instead.  Returns QX_OK with r->exec_status set, or after a
 * message qmpctl's own failure status.
 */
int
agent_exec(struct run *r, json_t *args)
{
	json_t *ret = NULL;
	json_int_t pid;
	int rc;

	if ((rc = start_program(r, args, &pid)) != QX_OK)
		return rc;
	if (r->o->detach)
		return detached(r, pid);
	if ((rc = await_exit(r, pid, &ret)) != QX_OK)
		return rc;
	rc = exec_output(r, ret);
	json_decref(ret);
	return rc;
}

/*
 * Returns the exit status of an --exec or --exec-status run that ended
 * with rc: the program's when rc is QX_OK, else 255 (usage errors exit
 * with 2 before this); with --detach, rc itself.
 */
int
exec_exit_status(const struct run *r, int rc)
{
	if (r->o->detach)
		return rc;	/* no program's status: qmpctl's own */
	return rc == QX_OK ? r->exec_status : QX_EXEC_OWN;
}

/* ---- --get and --put ------------------------------------------------- */

/*
 * Opens path on the agent in mode ("r" or "w").  Returns QX_OK with
 * *handle set, or after a message the failure's status.
 */
static int
file_open(struct run *r, const char *path, const char *mode,
    json_int_t *handle)
{
	long long h;
	json_t *ret;
	int rc;

	rc = agent_call(r, "guest-file-open", must(json_pack("{s:s, s:s}",
	    "path", path, "mode", mode)), &ret);
	if (rc != QX_OK)
		return rc;
	if (qmp_json_int(ret, &h) != 0) {
		json_decref(ret);
		say("guest-file-open: the reply is no handle");
		return QX_PROTO;
	}
	*handle = (json_int_t)h;
	json_decref(ret);
	return QX_OK;
}

/*
 * Closes handle on the agent, also after a failure, as long as the
 * connection is in step: after -t or a signal the close gets a second
 * of its own.  Returns QX_OK, or after a message the failure's status.
 */
static int
file_close(struct run *r, json_int_t handle)
{
	json_t *args = must(json_pack("{s:I}", "handle", handle)), *ret;
	enum qmp_status st;

	if (qmpctl_signal || ms_left(r) == 0) {
		qmp_set_cancel_flag(r->q, NULL);
		qmp_set_cancel_fd(r->q, -1);
		qmp_set_deadline(r->q, qmp_now_ms() + CLOSE_GRACE_MS);
	}
	st = qmp_call(r->q, "guest-file-close", args, &ret);
	json_decref(args);
	json_decref(ret);
	if (st == QMP_OK)
		return QX_OK;
	/* QMP_EMISUSE: the connection broke before, as already reported. */
	if (st != QMP_EMISUSE)
		say_failure(r);
	if (st != QMP_ECOMMAND)
		say("guest file handle %" JSON_INTEGER_FORMAT " stays open in "
		    "the agent", handle);
	return exit_status(st);
}

/* Returns the guest-file-read count whose reply fits in --max-size. */
static size_t
read_count(const struct options *o)
{
	size_t n = o->max_size > 1024 ? (o->max_size - 512) / 4 * 3 : 256;

	return n < FILE_CHUNK ? n : FILE_CHUNK;
}

/*
 * Paces a guest-file-read loop: after a read that gave no data and no end
 * of file (a pipe or device with nothing yet, or a hostile agent), pauses
 * *pause ms, 5 ms at first and twice as long each time up to 250 ms, as
 * guest-exec-status is polled; after data, the pause starts over.
 * Returns QX_OK, or after a message QX_TIMEOUT or 128+N.
 */
static int
pace_read(const struct run *r, size_t got, int64_t *pause)
{
	int rc;

	if (got > 0) {
		*pause = POLL_FIRST_MS;
		return QX_OK;
	}
	if ((rc = io_pause(r, *pause)) != QX_OK) {
		say("guest-file-read: %s while the agent sent no data and no "
		    "end of file", rc == QX_TIMEOUT ? "timed out" :
		    "interrupted");
		return rc;
	}
	*pause = *pause * 2 < POLL_MAX_MS ? *pause * 2 : POLL_MAX_MS;
	return QX_OK;
}

/*
 * Reads handle to its end, writing each chunk to stdout as it comes.
 * Returns QX_OK, or after a message the failure's status.
 */
static int
copy_out(struct run *r, json_int_t handle)
{
	json_t *args, *ret;
	json_int_t count;
	int64_t pause = POLL_FIRST_MS;
	size_t n;
	int rc, eof = 0;

	while (!eof) {
		args = must(json_pack("{s:I, s:I}", "handle", handle, "count",
		    (json_int_t)read_count(r->o)));
		if ((rc = agent_call(r, "guest-file-read", args, &ret)) != QX_OK)
			return rc;
		eof = json_is_true(json_object_get(ret, "eof"));
		rc = int_member(ret, "count", "guest-file-read", &count) < 0 ?
		    QX_PROTO : write_decoded(r, STDOUT_FILENO, "stdout",
		    json_object_get(ret, "buf-b64"), "guest-file-read "
		    "\"buf-b64\"", &n);
		json_decref(ret);
		if (rc == QX_OK && (size_t)count != n) {
			say("guest-file-read: \"count\" is %" JSON_INTEGER_FORMAT
			    " but the data holds %zu bytes", count, n);
			rc = QX_PROTO;
		}
		if (rc == QX_OK && !eof)
			rc = pace_read(r, n, &pause);
		if (rc != QX_OK)
			return rc;
	}
	return QX_OK;
}

/*
 * Copies the guest file path to stdout.  Returns QX_OK, or after a
 * message the status of the first failure.
 */
int
agent_get(struct run *r, const char *path)
{
	json_int_t handle;
	int rc, closed;

	if ((rc = file_open(r, path, "r", &handle)) != QX_OK)
		return rc;
	rc = copy_out(r, handle);
	closed = file_close(r, handle);
	return rc != QX_OK ? rc : closed;
}

/*
 * Reads stdin until buf holds cap bytes, stdin ends, or (once it holds
 * some) stdin has nothing more at once, so that a slow writer's data
 * goes out as it comes and a fast one's in whole chunks.  Waits within
 * the deadline.  Returns QX_OK with *n set (and *eof at the end), or
 * after a message the failure's status.
 */
static int
read_chunk(const struct run *r, unsigned char *buf, size_t cap, size_t *n,
    int *eof)
{
	struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
	ssize_t got;

	*n = 0;
	while (*n < cap && !*eof) {
		if (*n > 0 && poll(&pfd, 1, 0) == 0)
			break;
		got = io_read(r, STDIN_FILENO, buf + *n, cap - *n);
		if (got > 0)
			*n += (size_t)got;
		else if (got == 0)
			*eof = 1;
		else
			return io_failure("stdin", errno, IO_READ, QX_LOCAL);
	}
	return QX_OK;
}

/*
 * Writes buf[0..n) to handle, again from where a short write stopped;
 * b64 holds b64_encoded_len(n) + 1 bytes.  Returns QX_OK, or after a
 * message the failure's status.
 */
static int
write_chunk(struct run *r, json_int_t handle, const unsigned char *buf,
    size_t n, char *b64)
{
	json_t *args, *ret;
	json_int_t done;
	size_t len;
	int rc;

	while (n > 0) {
		len = b64_encode(buf, n, b64);
		args = must(json_pack("{s:I, s:o}", "handle", handle,
		    "buf-b64", must(json_stringn_nocheck(b64, len))));
		if ((rc = agent_call(r, "guest-file-write", args, &ret)) != QX_OK)
			return rc;
		rc = int_member(ret, "count", "guest-file-write", &done);
		json_decref(ret);
		if (rc < 0)
			return QX_PROTO;
		if (done <= 0 || (size_t)done > n) {
			say("guest-file-write: the agent wrote %"
			    JSON_INTEGER_FORMAT " of %zu bytes", done, n);
			return QX_PROTO;
		}
		buf += done;
		n -= (size_t)done;
	}
	return QX_OK;
}

/*
 * Copies stdin to handle in chunks.  Returns QX_OK with *total the bytes
 * written, or after a message the failure's status.
 */
static int
copy_in(struct run *r, json_int_t handle, json_int_t *total)
{
	unsigned char *buf = must(malloc(FILE_CHUNK));
	char *b64 = must(malloc(b64_encoded_len(FILE_CHUNK) + 1));
	size_t n;
	int rc = QX_OK, eof = 0;

	*total = 0;
	while (rc == QX_OK && !eof) {
		rc = read_chunk(r, buf, FILE_CHUNK, &n, &eof);
		if (rc == QX_OK && n > 0)
			rc = write_chunk(r, handle, buf, n, b64);
		if (rc == QX_OK)
			*total += (json_int_t)n;
	}
	free(buf);
	free(b64);
	return rc;
}

/*
 * Checks with guest-info that the agent has the command name enabled, so
 * that --put opens (and empties) no file it cannot write.  Returns QX_OK,
 * or after a message QX_COMMAND or the failure's status.
 */
static int
check_enabled(struct run *r, const char *name)
{
	json_t *ret, *cmds, *c;
	size_t i;
	int rc, on = 0;

	if ((rc = agent_call(r, "guest-info", NULL, &ret)) != QX_OK)
		return rc;
	cmds = json_object_get(ret, "supported_commands");
	json_array_foreach(cmds, i, c)
		if (qmp_json_is_string(json_object_get(c, "name")) &&
		    strcmp(qmp_json_string(json_object_get(c, "name")),
		    name) == 0)
			on = json_is_true(json_object_get(c, "enabled"));
	json_decref(ret);
	if (on)
		return QX_OK;
	say("%s is disabled in the guest agent (qemu-ga -b), or unknown to it: "
	    "nothing was opened", name);
	return QX_COMMAND;
}

/*
 * Copies stdin to the guest file path, then prints {"bytes": N}.
 * Returns QX_OK, or after a message the status of the first failure.
 */
int
agent_put(struct run *r, const char *path)
{
	json_int_t handle, total = 0;
	json_t *v;
	int rc, closed;

	if ((rc = check_enabled(r, "guest-file-write")) != QX_OK ||
	    (rc = file_open(r, path, "w", &handle)) != QX_OK)
		return rc;
	rc = copy_in(r, handle, &total);
	closed = file_close(r, handle);
	if (rc == QX_OK)
		rc = closed;
	if (rc != QX_OK)
		return rc;
	v = must(json_pack("{s:I}", "bytes", total));
	if (print_json(r, v) < 0)
		rc = stdout_failed(r, errno);
	json_decref(v);
	return rc;
}
