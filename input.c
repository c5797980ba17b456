/* SPDX-License-Identifier: MIT */
/*
 * input.c: what the user gives qmpctl to send: the -a arguments (inline,
 * @FILE or @-), the KEY=VALUE and KEY:=JSON operands, and the command
 * objects of a batch on standard input.  Anything malformed is a usage
 * error (status 2) before anything is sent.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "qmp_json.h"
#include "qmpctl.h"

/*
 * Reports that reading name failed with err (io_read's errno).  Returns
 * the status: QX_TIMEOUT, 128+N, or QX_USAGE for unreadable input.
 */
static int
read_failed(const char *name, int err)
{
	if (err == ETIMEDOUT || (err == EINTR && qmpctl_signal))
		return io_failure(name, err, IO_READ, QX_LOCAL);
	return usage_failure("%s: %s", name, strerror(err));
}

/*
 * Reads all of fd into a new NUL-terminated buffer of at most
 * run->o->max_size bytes.  Returns QX_OK with *buf (free it) and *len
 * set, or after a message the failure's status: QX_USAGE for too much or
 * unreadable input, QX_TIMEOUT, 128+N on signal N, QX_LOCAL.
 */
int
read_input(const struct run *run, int fd, const char *name, char **buf,
    size_t *len)
{
	size_t cap = 0, n = 0, max = run->o->max_size;
	char *nbuf;
	ssize_t r;
	int rc = QX_OK;

	*buf = NULL;
	for (;;) {
		if (cap - n < 2) {
			size_t ncap = cap ? cap * 2 : 65536;

			if (ncap > max + 2)
				ncap = max + 2;
			if (ncap <= cap) {
				rc = usage_failure("%s: more than %zu bytes "
				    "(see --max-size)", name, max);
				break;
			}
			if ((nbuf = realloc(*buf, ncap)) == NULL) {
				say("%s: out of memory", name);
				rc = QX_LOCAL;
				break;
			}
			*buf = nbuf;
			cap = ncap;
		}
		r = io_read(run, fd, *buf + n, cap - n - 1);
		if (r > 0)
			n += (size_t)r;
		else if (r == 0)
			break;
		else {
			rc = read_failed(name, errno);
			break;
		}
	}
	if (rc != QX_OK) {
		free(*buf);
		*buf = NULL;
		return rc;
	}
	(*buf)[n] = '\0';
	*len = n;
	return QX_OK;
}

/*
 * Opens path for reading without blocking in open(2), which waits for a
 * writer when path is a FIFO: the waiting is left to io_read, which
 * keeps to the deadline and gives way to signals.  Returns the
 * descriptor, or -1 with errno set.
 */
static int
open_input(const char *path)
{
	return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
}

/* Returns the arguments object given with -a (new), or exits. */
json_t *
load_args(const struct run *r, const char *spec)
{
	json_error_t jerr;
	const char *name = "-a";
	char *text = NULL;
	size_t len;
	json_t *v;
	int fd, rc;

	/* Numbers stay as written; a duplicate key is an error, as in QEMU. */
	if (spec[0] == '@') {
		name = spec[1] == '-' && spec[2] == '\0' ? "stdin" : spec + 1;
		if (strcmp(name, "stdin") == 0 && spec[1] == '-')
			fd = STDIN_FILENO;
		else if ((fd = open_input(spec + 1)) < 0)
			usage_error("%s: %s", spec + 1, strerror(errno));
		rc = read_input(r, fd, name, &text, &len);
		if (fd != STDIN_FILENO)
			close(fd);
		if (rc != QX_OK)
			exit(rc);
		v = qmp_json_loadb(text, len, QMP_JSON_REJECT_DUPLICATES |
		    QMP_JSON_DECODE_ANY, &jerr);
		free(text);
	} else
		v = qmp_json_loadb(spec, strlen(spec), QMP_JSON_REJECT_DUPLICATES |
		    QMP_JSON_DECODE_ANY, &jerr);
	if (v == NULL)
		usage_error("%s: invalid JSON: %s (line %d, column %d)", name,
		    jerr.text, jerr.line, jerr.column);
	if (!json_is_object(v)) {
		const char *what = json_is_array(v) ? "an array" :
		    qmp_json_is_number(v) ? "a number" : json_is_string(v) ?
		    "a string" : json_is_boolean(v) ? "a boolean" : "null";

		json_decref(v);
		usage_error("%s: valid JSON, but %s: the arguments must be a "
		    "JSON object", name, what);
	}
	return v;
}

/* ---- Commands from standard input ---------------------------------- */

/*
 * Checks that cmd is a QMP command object.  Returns NULL when it is, or
 * a static description of what is wrong.
 */
static const char *
check_command(json_t *cmd)
{
	const char *key;
	json_t *v;
	int names = 0;

	if (!json_is_object(cmd))
		return "not a JSON object";
	json_object_foreach(cmd, key, v) {
		if (strcmp(key, "execute") == 0 ||
		    strcmp(key, "exec-oob") == 0) {
			if (!qmp_json_is_string(v))
				return "\"execute\" (or \"exec-oob\") must be "
				    "a string";
			names++;
		} else if (strcmp(key, "arguments") == 0) {
			if (!json_is_object(v))
				return "\"arguments\" must be an object";
		} else if (strcmp(key, "id") != 0)
			return "unknown member (expected execute or exec-oob, "
			    "arguments, id)";
		else if (!qmp_id_echoable(v))
			return "\"id\" holds a number past the range of a "
			    "double, which QEMU cannot echo";
	}
	if (names != 1)
		return "needs exactly one \"execute\" or \"exec-oob\" "
		    "member";
	return NULL;
}


/*
 * Reads more of stdin into the framer.  Returns QX_OK (r->in_eof set at
 * the end), or the exit status after a message.
 */
static int
read_stdin(struct run *r)
{
	size_t room;
	ssize_t n;
	char *p;

	p = qmp_framer_space(r->in, &room);
	if (p == NULL) {
		say("stdin: out of memory");
		return QX_LOCAL;
	}
	n = io_read(r, STDIN_FILENO, p, room);
	if (n > 0)
		qmp_framer_commit(r->in, (size_t)n);
	else if (n == 0)
		r->in_eof = 1;
	else
		return read_failed("stdin", errno);
	return QX_OK;
}

/*
 * Reads the next command object from stdin into *cmd (new), or NULL at
 * the end.  Returns QX_OK, or the exit status after a message: QX_USAGE
 * for input that is not a command, nothing of it sent.
 */
int
next_command(struct run *r, json_t **cmd)
{
	const char *m, *why;
	json_error_t jerr;
	enum qmp_frame fr;
	size_t len;
	int rc;

	*cmd = NULL;
	for (;;) {
		fr = qmp_framer_next(r->in, &m, &len);
		if (fr == QMP_FRAME_MSG)
			break;
		if (fr == QMP_FRAME_ERROR || fr == QMP_FRAME_TOOBIG ||
		    (r->in_eof && qmp_framer_pending(r->in) > 0)) {
			if (fr == QMP_FRAME_ERROR)
				return usage_failure("stdin: command %lu: "
				    "expected a JSON object", r->in_count + 1);
			if (fr == QMP_FRAME_TOOBIG)
				return usage_failure("stdin: command %lu is over "
				    "%zu bytes (see --max-size)",
				    r->in_count + 1, qmp_framer_max(r->in));
			return usage_failure("stdin: command %lu: incomplete "
			    "JSON at the end of input", r->in_count + 1);
		}
		if (r->in_eof)
			return QX_OK;
		if ((rc = read_stdin(r)) != QX_OK)
			return rc;
	}
	r->in_count++;
	/* Numbers stay as written; a duplicate key is an error, as in QEMU. */
	*cmd = qmp_json_loadb(m, len, QMP_JSON_REJECT_DUPLICATES, &jerr);
	if (*cmd == NULL)
		return usage_failure("stdin: command %lu: invalid JSON: %s",
		    r->in_count, jerr.text);
	if ((why = check_command(*cmd)) != NULL) {
		json_decref(*cmd);
		*cmd = NULL;
		return usage_failure("stdin: command %lu: %s", r->in_count,
		    why);
	}
	return QX_OK;
}

/* ---- Operands: KEY=VALUE and KEY:=JSON ---------------------------- */

struct operand {
	const char *key;	/* points into argv; ends at keylen */
	size_t keylen;
	json_t *value;		/* new */
};

/* Returns 1 when s[0..n) is valid UTF-8 (what a JSON string holds). */
int
valid_utf8(const char *s, size_t n)
{
	json_t *v = json_stringn(s, n);

	json_decref(v);
	return v != NULL;
}

/* Returns 1 when key a names b or an object holding b (dot boundary). */
static int
key_covers(const struct operand *a, const struct operand *b)
{
	return a->keylen <= b->keylen &&
	    memcmp(a->key, b->key, a->keylen) == 0 &&
	    (a->keylen == b->keylen || b->key[a->keylen] == '.');
}

/* Returns nothing; sets the dotted path of op in obj, making objects. */
static void
set_path(json_t *obj, const struct operand *op)
{
	const char *p = op->key, *end = op->key + op->keylen, *dot;
	char seg[256];
	json_t *child;

	for (;;) {
		dot = memchr(p, '.', (size_t)(end - p));
		if (dot == NULL)
			dot = end;
		snprintf(seg, sizeof(seg), "%.*s", (int)(dot - p), p);
		if (dot == end) {
			json_object_set(obj, seg, op->value);
			return;
		}
		child = json_object_get(obj, seg);
		if (!json_is_object(child)) {
			child = json_object();
			json_object_set_new(obj, seg, child);
		}
		obj = child;
		p = dot + 1;
	}
}

/* Returns nothing; copies src into dst, src winning, objects merged. */
static void
merge_into(json_t *dst, json_t *src)
{
	const char *k;
	json_t *v, *d;

	json_object_foreach(src, k, v) {
		d = json_object_get(dst, k);
		if (json_is_object(d) && json_is_object(v))
			merge_into(d, v);
		else
			json_object_set(dst, k, v);
	}
}

/*
 * Returns s as a message shows it: cut after about 60 bytes, at the
 * start of a character, with "..." after the cut, in buf (size bytes,
 * at least 64), so that the reason after it always fits the line.
 */
static const char *
shown(const char *s, char *buf, size_t size)
{
	size_t n = strlen(s);

	if (n < size - 4)
		return s;
	n = size - 4;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	snprintf(buf, size, "%.*s...", (int)n, s);
	return buf;
}

/*
 * Returns nothing; fills op from the operand s (KEY=VALUE or KEY:=JSON),
 * or exits with a usage error (the operand shown cut, its reason whole).
 */
static void
parse_operand(const char *s, struct operand *op)
{
	json_error_t jerr;
	const char *eq, *p;
	char cut[64];
	const char *sh = shown(s, cut, sizeof(cut));

	if ((eq = strchr(s, '=')) == NULL)
		usage_error("operand '%s': expected KEY=VALUE or "
		    "KEY:=JSON", sh);
	op->key = s;
	op->keylen = (size_t)(eq - s);
	if (!valid_utf8(s, op->keylen))
		usage_error("operand '%s': the key is not valid UTF-8", sh);
	if (eq > s && eq[-1] == ':') {
		op->keylen--;
		op->value = qmp_json_loadb(eq + 1, strlen(eq + 1),
		    QMP_JSON_DECODE_ANY | QMP_JSON_REJECT_DUPLICATES, &jerr);
		if (op->value == NULL)
			usage_error("operand '%s': invalid JSON: %s", sh,
			    jerr.text);
	} else
		op->value = json_string(eq + 1);
	if (op->value == NULL)
		usage_error("operand '%s': the value is not valid UTF-8", sh);
	if (op->keylen == 0 || op->keylen > 255 || s[0] == '.' ||
	    s[op->keylen - 1] == '.')
		usage_error("operand '%s': bad key", sh);
	for (p = s; p < s + op->keylen - 1; p++)
		if (p[0] == '.' && p[1] == '.')
			usage_error("operand '%s': bad key", sh);
}

/*
 * Returns nothing; exits with a usage error when the key of ops[i] is
 * that of an earlier operand, or holds or lies inside one.
 */
static void
check_overlap(const struct operand *ops, int i)
{
	const char *s = ops[i].key;
	int j;

	for (j = 0; j < i; j++) {
		if (ops[j].keylen == ops[i].keylen &&
		    key_covers(&ops[j], &ops[i]))
			usage_error("key '%.*s' given twice",
			    (int)ops[i].keylen, s);
		if (key_covers(&ops[j], &ops[i]) ||
		    key_covers(&ops[i], &ops[j]))
			usage_error("key '%.*s' is used both as a value and "
			    "as an object", (int)(ops[i].keylen <
			    ops[j].keylen ? ops[i].keylen : ops[j].keylen),
			    ops[i].keylen < ops[j].keylen ? s : ops[j].key);
	}
}

/*
 * Returns the arguments built from the operands argv[0..argc) merged over
 * base (stolen; may be NULL), or exits with a usage error.
 */
json_t *
operand_args(int argc, char **argv, json_t *base)
{
	struct operand *ops;
	json_t *args;
	int i;

	if ((ops = calloc((size_t)argc, sizeof(*ops))) == NULL) {
		say("out of memory");
		exit(QX_LOCAL);
	}
	for (i = 0; i < argc; i++) {
		parse_operand(argv[i], &ops[i]);
		check_overlap(ops, i);
	}
	args = base != NULL ? base : json_object();
	{
		json_t *over = json_object();

		for (i = 0; i < argc; i++) {
			set_path(over, &ops[i]);
			json_decref(ops[i].value);
		}
		merge_into(args, over);
		json_decref(over);
	}
	free(ops);
	return args;
}

