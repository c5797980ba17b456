/* SPDX-License-Identifier: MIT */
/*
 * screen.c: --screendump, and the steps (--screendump, --keys, --type)
 * that run in the order given.
 *
 * QEMU writes the picture into a descriptor qmpctl passes it (add-fd,
 * screendump to /dev/fdset/N, remove-fd), so the file is the caller's
 * wherever QEMU runs and as whatever user.  The descriptor is that of a
 * temporary file in the file's directory (a memfd for stdout), renamed
 * over the file once the PNG is checked whole: the file appears whole
 * or not at all.
 *
 * QEMU 7.2 runs screendump as a coroutine, but writes the file and
 * closes its copy of the descriptor (fclose) before it replies; a full
 * disk can still leave a PNG cut short without an error, so the PNG's
 * chunks are walked up to IEND, which must end the file exactly.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "qmp_json.h"
#include "qmpctl.h"

/* A picture being taken. */
struct shot {
	const char *path;	/* as given; "-" for stdout */
	char *tmp;		/* the temporary file's name, or NULL */
	int rfd;		/* the file, for reading it back */
	int wfd;		/* the same file, write-only, for QEMU */
	long long fdset;	/* add-fd's fdset, or -1 */
	unsigned long width, height;
	off_t size;
};

/*
 * Opens the temporary file of s->path (a hidden name in the same
 * directory) or, for stdout, a memfd.  Returns QX_OK, or after a message
 * QX_LOCAL.
 */
static int
open_shot(struct shot *s)
{
	const char *slash = strrchr(s->path, '/');
	char proc[64];
	mode_t mask;

	if (strcmp(s->path, "-") == 0)
		s->rfd = memfd_create("qmpctl-screendump", MFD_CLOEXEC);
	else {
		if (asprintf(&s->tmp, "%.*s.%s.XXXXXX", slash ? (int)(slash -
		    s->path + 1) : 0, s->path, slash ? slash + 1 : s->path) < 0)
			must(NULL);
		s->rfd = mkostemp(s->tmp, O_CLOEXEC);
		/* The mode a new file gets, not mkstemp's 0600. */
		mask = umask(0);
		umask(mask);
		if (s->rfd >= 0 && fchmod(s->rfd, 0666 & ~mask) < 0) {
			say("%s: %s", s->tmp, strerror(errno));
			return QX_LOCAL;
		}
	}
	if (s->rfd < 0) {
		say("%s: cannot create a temporary file for it: %s",
		    s->tmp ? s->path : "stdout", strerror(errno));
		free(s->tmp);
		s->tmp = NULL;
		return QX_LOCAL;
	}
	/* QEMU opens /dev/fdset/N write-only: it wants a write-only one. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", s->rfd);
	if ((s->wfd = open(proc, O_WRONLY | O_CLOEXEC)) < 0) {
		say("%s: %s", proc, strerror(errno));
		return QX_LOCAL;
	}
	return QX_OK;
}

/* Closes the descriptors of s and removes its temporary file, if any. */
static void
close_shot(struct shot *s)
{
	if (s->wfd >= 0)
		close(s->wfd);
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->tmp != NULL)
		unlink(s->tmp);
	free(s->tmp);
	s->tmp = NULL;
	s->rfd = s->wfd = -1;
}

/*
 * Runs command name with args (stolen) and descriptors fds[0..nfds).
 * Returns QX_OK with *ret the return value (new), or the failure's
 * status: QX_COMMAND with *ret the error object (new), else *ret NULL,
 * after a message.
 */
static int
call(struct run *r, const char *name, json_t *args, const int *fds,
    size_t nfds, json_t **ret)
{
	json_t *cmd, *reply = NULL;
	enum qmp_status st;

	cmd = must(json_pack("{s:s, s:o}", "execute", name, "arguments",
	    args));
	st = qmp_execute(r->q, cmd, fds, nfds, &reply);
	json_decref(cmd);
	*ret = json_incref(json_object_get(reply, st == QMP_OK ? "return" :
	    "error"));
	json_decref(reply);
	if (st != QMP_OK && st != QMP_ECOMMAND) {
		json_decref(*ret);
		*ret = NULL;
	}
	if (st != QMP_OK)
		say_failure(r);
	return exit_status(st);
}

/*
 * Hands QEMU the write-only descriptor with add-fd.  Returns QX_OK with
 * s->fdset set, or after a message the failure's status.
 */
static int
pass_descriptor(struct run *r, struct shot *s)
{
	json_t *ret;
	int rc;

	if (!qmp_is_unix(r->q))
		return usage_failure("--screendump: %s is no unix socket, and "
		    "only a unix socket can pass QEMU the descriptor to write "
		    "the picture to", r->o->addr);
	rc = call(r, "add-fd", must(json_pack("{s:s}", "opaque",
	    "qmpctl --screendump")), &s->wfd, 1, &ret);
	if (rc == QX_OK && qmp_json_int(json_object_get(ret, "fdset-id"),
	    &s->fdset) != 0) {
		say("add-fd: the reply has no \"fdset-id\" integer");
		s->fdset = -1;
		rc = QX_PROTO;
	}
	json_decref(ret);
	/* QEMU holds its own copy now. */
	close(s->wfd);
	s->wfd = -1;
	return rc;
}

/* Returns 1 when v is the JSON string s. */
static int
is_str(json_t *v, const char *s)
{
	return qmp_json_is_string(v) && strcmp(qmp_json_string(v), s) == 0;
}

/* Returns the schema entry (borrowed) named name, or NULL. */
static json_t *
entry_named(json_t *schema, json_t *name)
{
	json_t *e;
	size_t i;

	json_array_foreach(schema, i, e)
		if (qmp_json_equal(json_object_get(e, "name"), name))
			return e;
	return NULL;
}

/* Returns 1 when the server's schema gives screendump a png format. */
static int
schema_has_png(struct run *r)
{
	json_t *schema = NULL, *e, *m, *fmt = NULL, *v, *name;
	size_t i;
	int png = 0;

	if (qmp_call(r->q, "query-qmp-schema", NULL, &schema) != QMP_OK) {
		json_decref(schema);
		return 1;	/* no schema: no better explanation */
	}
	name = must(json_string("screendump"));
	e = entry_named(schema, name);
	json_decref(name);
	e = entry_named(schema, json_object_get(e, "arg-type"));
	json_array_foreach(json_object_get(e, "members"), i, m)
		if (is_str(json_object_get(m, "name"), "format"))
			fmt = json_object_get(m, "type");
	e = fmt != NULL ? entry_named(schema, fmt) : NULL;
	json_array_foreach(json_object_get(e, "values"), i, v)
		png |= is_str(v, "png");
	json_decref(schema);
	return png;
}

/*
 * Has QEMU write the picture into fdset s->fdset as a PNG.  Returns
 * QX_OK, or after a message the failure's status.
 */
static int
take_picture(struct run *r, struct shot *s)
{
	const struct options *o = r->o;
	json_t *args, *ret;
	char file[64];
	int rc;

	snprintf(file, sizeof(file), "/dev/fdset/%lld", s->fdset);
	args = must(json_pack("{s:s, s:s}", "filename", file, "format",
	    "png"));
	if (o->screen_device != NULL && json_object_set_new(args, "device",
	    must(json_string(o->screen_device))) < 0)
		must(NULL);
	if (o->screen_head >= 0 && json_object_set_new(args, "head",
	    must(json_integer(o->screen_head))) < 0)
		must(NULL);
	rc = call(r, "screendump", args, NULL, 0, &ret);
	if (rc == QX_COMMAND && is_str(json_object_get(ret, "class"),
	    "GenericError") && !schema_has_png(r))
		say("hint: this server's screendump cannot write PNG (QEMU "
		    "7.1 and later can)");
	json_decref(ret);
	return rc;
}

/*
 * Removes fdset s->fdset from QEMU, whatever happened since add-fd, as
 * long as the connection is in step.  Returns QX_OK, or after a message
 * the failure's status.
 */
static int
drop_descriptor(struct run *r, struct shot *s)
{
	json_t *ret;
	int rc;

	if (s->fdset < 0)
		return QX_OK;
	rc = call(r, "remove-fd", must(json_pack("{s:I}", "fdset-id",
	    (json_int_t)s->fdset)), NULL, 0, &ret);
	json_decref(ret);
	s->fdset = -1;
	return rc;
}

/* Returns the big-endian 32-bit number at p. */
static unsigned long
be32(const unsigned char *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
	    (unsigned long)p[2] << 8 | p[3];
}

/*
 * Checks that the file holds one whole PNG: the signature, IHDR first,
 * chunks up to IEND, and nothing after it.  Sets s->width, s->height and
 * s->size.  Returns QX_OK, or after a message QX_LOCAL.
 */
static int
check_png(struct shot *s)
{
	static const unsigned char sig[8] = "\x89PNG\r\n\x1a\n";
	unsigned char b[8 + 8 + 13];
	struct stat sb = { 0 };
	off_t at = 8;
	unsigned long len = 0;

	if (fstat(s->rfd, &sb) < 0 || pread(s->rfd, b, sizeof(b), 0) !=
	    (ssize_t)sizeof(b) || memcmp(b, sig, 8) != 0 ||
	    memcmp(b + 12, "IHDR", 4) != 0 || be32(b + 8) != 13)
		goto bad;
	s->width = be32(b + 16);
	s->height = be32(b + 20);
	while (at + 12 <= sb.st_size) {
		if (pread(s->rfd, b, 8, at) != 8)
			goto bad;
		len = be32(b);
		at += 12 + (off_t)len;
		if (memcmp(b + 4, "IEND", 4) == 0)
			break;
	}
	if (memcmp(b + 4, "IEND", 4) != 0 || len != 0 || at != sb.st_size)
		goto bad;
	s->size = sb.st_size;
	return QX_OK;
bad:
	say("--screendump: QEMU's picture is not a whole PNG (%lld bytes): "
	    "a full disk?  Nothing was written", (long long)sb.st_size);
	return QX_LOCAL;
}

/*
 * Writes buf[0..n) to stdout, within the deadline and until a signal.
 * Returns QX_OK, or the failure's status (QX_PIPE quietly).
 */
static int
write_stdout(struct run *r, const char *buf, size_t n)
{
	if (io_write_all(r, STDOUT_FILENO, buf, n) == 0)
		return QX_OK;
	return stdout_failed(r, errno);
}

/*
 * Writes the picture held in s->rfd to stdout.  Returns QX_OK, or after
 * a message the failure's status.
 */
static int
copy_to_stdout(struct run *r, struct shot *s)
{
	char buf[65536];
	off_t at = 0;
	ssize_t n;
	int rc;

	while (at < s->size) {
		n = pread(s->rfd, buf, sizeof(buf), at);
		if (n <= 0) {
			say("memfd: %s", strerror(n < 0 ? errno : EIO));
			return QX_LOCAL;
		}
		if ((rc = write_stdout(r, buf, (size_t)n)) != QX_OK)
			return rc;
		at += n;
	}
	return QX_OK;
}

/*
 * Gives the finished picture its place: stdout, or the file (synced,
 * then renamed over path), and prints {"width":W,"height":H,"bytes":N}
 * for a file.  Returns QX_OK, or after a message the failure's status.
 */
static int
deliver(struct run *r, struct shot *s)
{
	json_t *v;
	int rc = QX_OK;

	if (s->tmp == NULL)
		return copy_to_stdout(r, s);
	if (fdatasync(s->rfd) < 0 || rename(s->tmp, s->path) < 0) {
		say("%s: %s", s->path, strerror(errno));
		return QX_LOCAL;
	}
	free(s->tmp);
	s->tmp = NULL;
	v = must(json_pack("{s:I, s:I, s:I}", "width", (json_int_t)s->width,
	    "height", (json_int_t)s->height, "bytes", (json_int_t)s->size));
	if (print_json(r, v) < 0)
		rc = stdout_failed(r, errno);
	json_decref(v);
	return rc;
}

/*
 * Takes a picture of the display into path ("-": stdout).  Returns
 * QX_OK, or after a message the status of the first failure; nothing
 * is left at path, nor a temporary file, on failure.
 */
int
screendump(struct run *r, const char *path)
{
	struct shot s = { path, NULL, -1, -1, -1, 0, 0, 0 };
	int rc, dropped;

	rc = open_shot(&s);
	if (rc == QX_OK)
		rc = pass_descriptor(r, &s);
	if (rc == QX_OK)
		rc = take_picture(r, &s);
	/* After a failure of the connection itself, QEMU drops the fdset. */
	dropped = rc == QX_OK || rc == QX_COMMAND ? drop_descriptor(r, &s) :
	    QX_OK;
	if (rc == QX_OK)
		rc = dropped;
	if (rc == QX_OK)
		rc = check_png(&s);
	if (rc == QX_OK)
		rc = deliver(r, &s);
	close_shot(&s);
	return rc;
}

/*
 * Runs the steps (--screendump, --keys, --type) in the order given.
 * Returns QX_OK, or the status of the first failure, after which no
 * step runs.
 */
int
run_steps(struct run *r)
{
	const struct options *o = r->o;
	size_t i;
	int rc, first = 1;

	rc = check_server_keys(r);
	for (i = 0; i < o->nsteps && rc == QX_OK; i++) {
		if (o->steps[i].kind == STEP_SCREENDUMP)
			rc = screendump(r, o->steps[i].arg);
		else
			rc = run_key_step(r, o->steps[i].kind == STEP_TYPE,
			    o->steps[i].arg, &first);
	}
	return rc;
}

/* Adds a step of kind with arg to o (from the option loop). */
void
add_step(struct options *o, int kind, const char *arg)
{
	struct step *n;

	n = must(realloc(o->steps, (o->nsteps + 1) * sizeof(*n)));
	o->steps = n;
	o->steps[o->nsteps].kind = kind;
	o->steps[o->nsteps].arg = arg;
	o->nsteps++;
}

/* Returns how many --screendump steps o holds, and *dash those of "-". */
static size_t
count_screendumps(const struct options *o, size_t *dash)
{
	size_t i, n = 0;

	*dash = 0;
	for (i = 0; i < o->nsteps; i++)
		if (o->steps[i].kind == STEP_SCREENDUMP) {
			n++;
			*dash += strcmp(o->steps[i].arg, "-") == 0;
		}
	return n;
}

/* The rules of --keys and --type and their options; exits on a breach. */
static void
check_key_steps(const struct options *o)
{
	char err[256];
	size_t i, n = 0;

	for (i = 0; i < o->nsteps; i++)
		if (o->steps[i].kind != STEP_SCREENDUMP) {
			n++;
			if (parse_key_step(o->steps[i].kind == STEP_TYPE,
			    o->steps[i].arg, NULL, NULL, err, sizeof(err)) < 0)
				usage_error("%s", err);
		}
	if (n == 0 && (o->hold_ms >= 0 || o->key_delay_set))
		usage_error("--hold and --key-delay go with --keys or --type");
}

/*
 * The rules of the steps; exits with a usage error at the first breach.
 * addr: the parsed server address.
 */
void
check_steps(const struct options *o, const struct qmp_addr *addr)
{
	size_t dash, shots = count_screendumps(o, &dash);

	if ((o->screen_device != NULL || o->screen_head >= 0) && shots == 0)
		usage_error("--screen-device and --screen-head go with "
		    "--screendump");
	if (o->screen_head >= 0 && o->screen_device == NULL)
		usage_error("--screen-head needs --screen-device: QEMU takes "
		    "a head only with a device");
	check_key_steps(o);
	if (o->nsteps == 0)
		return;
	if (o->command != NULL || o->args != NULL || o->hmp != NULL ||
	    o->noperands > 0 || o->keep_going || o->npass_fds > 0 ||
	    o->list_commands || o->describe != NULL || o->qga || o->oob)
		usage_error("--screendump, --keys and --type exclude -c, -a, "
		    "--hmp, operands, -k, --pass-fd, --list-commands, "
		    "--describe, --qga and --oob");
	if (shots > 0 && addr->kind != QMP_ADDR_UNIX &&
	    addr->kind != QMP_ADDR_FD)
		usage_error("--screendump passes QEMU a descriptor to write "
		    "the picture to, which only a unix socket can carry: "
		    "%s is not one", o->addr);
	if (dash > 0 && (shots > 1 || o->nalts > 0 || o->job_id != NULL ||
	    o->wait_migration || o->greeting || o->pretty || o->full ||
	    o->raw))
		usage_error("--screendump - writes the picture to stdout: it "
		    "excludes other --screendump, the waits, --greeting, -p, "
		    "-f and -r");
	if (dash > 0 && isatty(STDOUT_FILENO))
		usage_error("--screendump -: stdout is a terminal: redirect "
		    "it to a file or a pipe");
}
