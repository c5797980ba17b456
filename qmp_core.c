/* SPDX-License-Identifier: MIT */
/*
 * qmp_core.c: the session of the QEMU Monitor Protocol library: the
 * greeting, capabilities negotiation, the guest agent's sync, commands
 * and their replies, events.  Bytes move through the transport
 * (qmp_transport.c); addresses are parsed in qmp_addr.c, messages framed
 * in qmp_framer.c and read and written by qmp_json.c.  See qmp_core.h;
 * the error convention is in qmp_conn.h.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qmp_conn.h"
#include "qmp_json.h"

static enum qmp_status check_ready(struct qmp *);
static enum qmp_status settle(struct qmp *, enum qmp_status);

const char *
qmp_strerror(enum qmp_status st)
{
	switch (st) {
	case QMP_OK:		return "success";
	case QMP_ECOMMAND:	return "the command failed";
	case QMP_EUSAGE:	return "usage error";
	case QMP_ECONNECT:	return "cannot connect";
	case QMP_EGREETING:	return "no valid greeting";
	case QMP_ENEGOTIATE:	return "capabilities negotiation failed";
	case QMP_ECLOSED:	return "connection lost before the reply";
	case QMP_EPROTO:	return "protocol error";
	case QMP_ETIMEOUT:	return "timed out";
	case QMP_ELOCAL:	return "local failure";
	case QMP_ECANCEL:	return "interrupted";
	case QMP_EMISUSE:	return "library call out of order";
	}
	return "unknown status";
}

/* ---- The connection ------------------------------------------------- */

/*
 * The framer's skip handler: traces bytes dropped while skipping to the
 * agent's 0xFF, and refuses the read once they hold a QMP greeting (an
 * agent stays quiet; a QEMU monitor greets).
 */
static void
dropped(void *ctx, const char *bytes, size_t n)
{
	static const char mark[] = "{\"QMP\":";
	struct qmp *q = ctx;
	size_t i;

	qmpi_trace(q, QMP_TRACE_RECV, 0, bytes, n, 0);
	for (i = 0; i < n && q->refused == QMP_OK; i++) {
		if (bytes[i] == mark[q->mark])
			q->mark++;
		else
			q->mark = bytes[i] == '{';
		if (q->mark == sizeof(mark) - 1) {
			q->cause = QMP_CAUSE_MONITOR;
			q->refused = qmpi_fail(q, QMP_EGREETING, "%s: sent a QMP "
			    "greeting: this is a QEMU monitor, not a guest "
			    "agent", q->name);
		}
	}
}

struct qmp *
qmp_new(void)
{
	struct qmp *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	q->fd = -1;
	q->cancel_fd = -1;
	q->max_size = QMP_DEFAULT_MAX_SIZE;
	if ((q->fr = qmp_framer_new(q->max_size)) == NULL) {
		free(q);
		return NULL;
	}
	qmp_framer_on_skip(q->fr, dropped, q);
	return q;
}

void
qmp_free(struct qmp *q)
{
	if (q == NULL)
		return;
	if (q->fd >= 0)
		close(q->fd);
	qmp_framer_free(q->fr);
	json_decref(q->greeting);
	json_decref(q->last_id);
	free(q);
}

void
qmp_set_max_size(struct qmp *q, size_t max)
{
	q->max_size = max;
	qmp_framer_set_max(q->fr, max);
}

void
qmp_set_event_handler(struct qmp *q, qmp_event_fn *fn, void *ctx)
{
	q->on_event = fn;
	q->event_ctx = ctx;
}

void
qmp_set_trace(struct qmp *q, qmp_trace_fn *fn, void *ctx)
{
	q->on_trace = fn;
	q->trace_ctx = ctx;
}

const char *
qmp_errmsg(const struct qmp *q)
{
	return q->err;
}

enum qmp_cause
qmp_cause(const struct qmp *q)
{
	return q->cause;
}

json_t *
qmp_greeting(struct qmp *q)
{
	return q->greeting;
}

/*
 * Reads and parses the next message into *out (new).  Returns as
 * qmpi_read_frame, plus QMP_EPROTO for JSON that does not parse.
 */
static enum qmp_status
read_msg(struct qmp *q, json_t **out, const char *what)
{
	enum qmp_status st;
	json_error_t jerr;
	const char *m;
	size_t len;

	*out = NULL;
	st = qmpi_read_frame(q, &m, &len, what);
	if (st != QMP_OK)
		return st;
	*out = qmp_framer_parse(m, len, &jerr);
	qmp_framer_shrink(q->fr);
	if (*out == NULL && json_error_code(&jerr) == json_error_out_of_memory)
		return qmpi_fail(q, QMP_EPROTO, "%s: message refused: %s",
		    q->name, jerr.text);
	if (*out == NULL)
		return qmpi_fail(q, QMP_EPROTO, "%s: malformed message: %s",
		    q->name, jerr.text);
	return QMP_OK;
}

/* Returns 1 when msg is an event, after giving it to the handler. */
static int
take_event(struct qmp *q, json_t *msg)
{
	if (!qmp_json_is_string(json_object_get(msg, "event")))
		return 0;
	if (q->on_event != NULL)
		q->on_event(q->event_ctx, msg);
	return 1;
}

enum qmp_status
qmp_pump(struct qmp *q)
{
	enum qmp_status st;
	json_t *msg;

	if ((st = check_ready(q)) != QMP_OK)
		return st;
	st = settle(q, read_msg(q, &msg, "waiting for an event"));
	if (st != QMP_OK)
		return st;
	take_event(q, msg);
	json_decref(msg);
	return QMP_OK;
}

enum qmp_status
qmp_pump_until(struct qmp *q, int64_t until, int *got)
{
	int64_t deadline = q->deadline;
	enum qmp_status st;
	json_t *msg;

	*got = 0;
	if ((st = check_ready(q)) != QMP_OK)
		return st;
	if (until != 0 && (deadline == 0 || until < deadline))
		q->deadline = until;
	st = read_msg(q, &msg, "waiting for an event");
	q->deadline = deadline;
	/* Only the pause ended: a message in progress stays in the framer. */
	if (st == QMP_ETIMEOUT && (deadline == 0 || qmp_now_ms() < deadline))
		return QMP_OK;
	/* Nothing was outstanding: the caller may go on after a cancel. */
	if (st == QMP_ECANCEL)
		return st;
	if ((st = settle(q, st)) != QMP_OK)
		return st;
	*got = 1;
	take_event(q, msg);
	json_decref(msg);
	return QMP_OK;
}

int
qmp_command_sent(const struct qmp *q)
{
	return q->cmd_sent;
}

void
qmp_set_sync_ids(struct qmp *q, long long first)
{
	q->sync_next = first;
}

/* Returns a fresh positive id for guest-sync-delimited. */
static long long
sync_id(struct qmp *q)
{
	struct timespec ts;
	unsigned long long x;

	if (q->sync_next > 0)
		return q->sync_next++;
	clock_gettime(CLOCK_REALTIME, &ts);
	x = (unsigned long long)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
	    (unsigned long long)getpid() << 32 ^ (unsigned long long)ts.tv_sec ^
	    (unsigned long long)++q->next_id << 17;
	x ^= x >> 29;
	return (long long)(x % 2000000000ULL) + 1;
}

/*
 * Sends 0xFF and guest-sync-delimited with a fresh id, and arms the
 * framer to drop everything up to the 0xFF that precedes the answer.
 */
static enum qmp_status
send_sync(struct qmp *q, long long id)
{
	char buf[128];
	int n;

	n = snprintf(buf, sizeof(buf), "\xff{\"execute\":"
	    "\"guest-sync-delimited\",\"arguments\":{\"id\":%lld}}", id);
	const char *held;
	size_t nheld;

	held = qmp_framer_held(q->fr, &nheld);
	if (qmp_framer_pending(q->fr) > 0)
		qmpi_trace(q, QMP_TRACE_RECV, 0, held, nheld, 0);
	qmp_framer_reset(q->fr);
	qmp_framer_skip_to_ff(q->fr);
	qmp_framer_ff_blank(q->fr, 1);
	q->mark = 0;
	qmpi_trace(q, QMP_TRACE_SEND, 0, buf, 1, 0);
	qmpi_trace(q, QMP_TRACE_SEND, 1, buf + 1, (size_t)n - 1, 0);
	return qmpi_send(q, buf, (size_t)n, NULL, 0);
}

/*
 * Reads until the answer to the sync with this id, or until the
 * monotonic time until (0: the deadline only).  Returns QMP_OK, or
 * QMP_ETIMEOUT when until came first, or a failure.
 */
static enum qmp_status
await_sync(struct qmp *q, long long id, int64_t until)
{
	int64_t deadline = q->deadline;
	enum qmp_status st;
	json_t *msg;
	long long got;

	if (until != 0 && (deadline == 0 || until < deadline))
		q->deadline = until;
	for (;;) {
		st = read_msg(q, &msg, "waiting for guest-sync-delimited");
		if (st != QMP_OK)
			break;
		got = 0;
		if (qmp_json_int(json_object_get(msg, "return"), &got) == 0 &&
		    got == id) {
			json_decref(msg);
			break;
		}
		/* A stale answer: the next one starts with 0xFF too. */
		json_decref(msg);
		qmp_framer_skip_to_ff(q->fr);
	}
	q->deadline = deadline;
	return st;
}

enum qmp_status
qmp_sync_agent(struct qmp *q, int64_t wait_ms)
{
	int64_t start = qmp_now_ms(), until, pause = 50;
	enum qmp_status st;
	long long id;

	q->cause = QMP_CAUSE_NONE;
	if (q->state != QMP_STATE_CONNECTED)
		return qmpi_fail(q, QMP_EMISUSE, "qmp_sync_agent: not "
		    "connected, or synchronised already");
	q->refused = QMP_OK;
	for (;;) {
		id = sync_id(q);
		if ((st = send_sync(q, id)) != QMP_OK)
			break;
		/* Without a wait, one sync and the deadline. */
		until = wait_ms > 0 ? qmp_now_ms() + pause : 0;
		if (until > start + wait_ms)
			until = start + wait_ms;
		st = await_sync(q, id, until);
		if (st != QMP_ETIMEOUT || wait_ms <= 0 ||
		    (q->deadline != 0 && qmp_now_ms() >= q->deadline))
			break;
		if (qmp_now_ms() >= start + wait_ms) {
			q->cause = QMP_CAUSE_AGENT_SILENT;
			st = qmpi_fail(q, QMP_ETIMEOUT, "%s: the agent did not answer "
			    "guest-sync-delimited in %lld ms", q->name,
			    (long long)wait_ms);
			break;
		}
		pause = pause < 1000 ? pause * 2 : 1000;
	}
	if (st == QMP_ECLOSED)
		return QMP_EGREETING;	/* the message says what closed */
	if (st == QMP_OK)
		q->state = QMP_STATE_READY;
	return st;
}

static enum qmp_status execute(struct qmp *, json_t *, const int *, size_t,
    json_t **);

/*
 * Reads the greeting, giving the events before it to the handler, and
 * checks that it has a "QMP" object with a "version" object and a
 * "capabilities" array.  Returns QMP_OK with it in *out (new), or a
 * failure.
 */
static enum qmp_status
read_greeting(struct qmp *q, json_t **out)
{
	enum qmp_status st;
	json_t *msg, *qmp, *caps;

	*out = NULL;
	for (;;) {
		st = read_msg(q, &msg, "waiting for the greeting");
		if (st == QMP_ECLOSED || st == QMP_EPROTO)
			return qmpi_fail(q, QMP_EGREETING, "no QMP greeting: %s",
			    q->err);
		if (st == QMP_ETIMEOUT)
			q->cause = QMP_CAUSE_NO_GREETING;
		if (st != QMP_OK)
			return st;
		if (!take_event(q, msg))
			break;
		json_decref(msg);
	}
	qmp = json_object_get(msg, "QMP");
	if (!json_is_object(qmp)) {
		json_decref(msg);
		return qmpi_fail(q, QMP_EGREETING,
		    "%s: no QMP greeting: the first message has no \"QMP\" "
		    "object", q->name);
	}
	caps = json_object_get(qmp, "capabilities");
	if (!json_is_object(json_object_get(qmp, "version")) ||
	    !json_is_array(caps)) {
		json_decref(msg);
		return qmpi_fail(q, QMP_EGREETING,
		    "%s: no QMP greeting: \"QMP\" lacks a \"version\" object "
		    "or a \"capabilities\" array", q->name);
	}
	*out = msg;
	return QMP_OK;
}

/* Returns 1 when the capabilities of the greeting msg hold "oob". */
static int
offers_oob(json_t *msg)
{
	json_t *caps = json_object_get(json_object_get(msg, "QMP"),
	    "capabilities");
	const char *cap;
	size_t i;
	int has_oob = 0;

	for (i = 0; i < json_array_size(caps); i++)
		if ((cap = qmp_json_string(json_array_get(caps, i))) != NULL &&
		    strcmp(cap, "oob") == 0)
			has_oob = 1;
	return has_oob;
}

enum qmp_status
qmp_handshake(struct qmp *q, unsigned flags)
{
	enum qmp_status st;
	json_t *msg, *cmd, *reply = NULL;
	int has_oob;

	q->cause = QMP_CAUSE_NONE;
	if (q->state != QMP_STATE_CONNECTED)
		return qmpi_fail(q, QMP_EMISUSE, "qmp_handshake: not "
		    "connected, or greeted already");
	if ((st = read_greeting(q, &msg)) != QMP_OK)
		return st;
	has_oob = offers_oob(msg);
	q->greeting = msg;

	if ((flags & QMP_NEGOTIATE_OOB) && !has_oob)
		return qmpi_fail(q, QMP_ENEGOTIATE,
		    "%s: the server does not offer the oob capability",
		    q->name);
	if (flags & QMP_NEGOTIATE_OOB)
		cmd = json_pack("{s:s, s:{s:[s]}}", "execute",
		    "qmp_capabilities", "arguments", "enable", "oob");
	else
		cmd = json_pack("{s:s}", "execute", "qmp_capabilities");
	if (cmd == NULL)
		return qmpi_fail(q, QMP_ELOCAL, "out of memory");
	st = execute(q, cmd, NULL, 0, &reply);
	json_decref(cmd);
	json_decref(reply);
	switch (st) {
	case QMP_OK:
		q->state = QMP_STATE_READY;
		q->oob = (flags & QMP_NEGOTIATE_OOB) != 0;
		return QMP_OK;
	case QMP_ECOMMAND:
		return qmpi_fail(q, QMP_ENEGOTIATE, "%s: negotiation refused: %.900s",
		    q->name, q->err);
	case QMP_ECLOSED:
		return qmpi_fail(q, QMP_ENEGOTIATE, "%.1000s during negotiation",
		    q->err);
	default:
		return st;
	}
}

/* Returns 1 when err is an object with string "class" and "desc". */
static int
valid_error(json_t *err)
{
	return json_is_object(err) &&
	    qmp_json_is_string(json_object_get(err, "class")) &&
	    qmp_json_is_string(json_object_get(err, "desc"));
}

/*
 * Returns buf holding the JSON string str with every control character
 * (NUL and the C1 set included) turned into a space, cut to fit on a
 * character boundary: safe for a terminal.
 */
static const char *
printable(json_t *str, char *buf, size_t size)
{
	const unsigned char *s = (const unsigned char *)qmp_json_string(str);
	size_t n = json_string_length(str), i;

	if (n >= size) {
		/* Cut on a character boundary. */
		for (n = size - 1; n > 0 && (s[n] & 0xc0) == 0x80; n--)
			;
	}
	for (i = 0; i < n; i++) {
		buf[i] = s[i] < 0x20 || s[i] == 0x7f ? ' ' : (char)s[i];
		if (s[i] == 0xc2 && i + 1 < n && s[i + 1] < 0xa0) {
			/* C1 controls, U+0080 to U+009F. */
			buf[i] = buf[i + 1] = ' ';
			i++;
		}
	}
	buf[n] = '\0';
	return buf;
}

/*
 * Returns the text to send for cmd (new, NUL-terminated), with an "id"
 * added when one is needed and cmd has none: with oob on, replies can
 * overtake each other and only ids pair them.  In lockstep, the first
 * reply is the answer, and no id saves bytes: QEMU reads its input a
 * byte at a time.  *id is set to the id sent (borrowed from cmd, or the
 * connection's), or NULL.
 */
static char *
command_text(struct qmp *q, json_t *cmd, json_t **id, size_t *len)
{
	json_t *copy;
	char *text;

	/* Numbers the caller gave go out with the characters it wrote. */
	*id = json_object_get(cmd, "id");
	if (*id != NULL || !q->oob)
		return qmp_json_dumps(cmd, len);
	/* A short number: the id only has to be unique here. */
	json_decref(q->last_id);
	q->last_id = json_integer((json_int_t)++q->next_id);
	copy = json_copy(cmd);		/* shallow: cmd stays the caller's */
	if (q->last_id == NULL || copy == NULL ||
	    json_object_set(copy, "id", q->last_id) < 0) {
		json_decref(copy);
		return NULL;
	}
	*id = q->last_id;
	text = qmp_json_dumps(copy, len);
	json_decref(copy);
	return text;
}

/*
 * Returns 1 when QEMU's parser holds the number v as a double: one with a
 * fraction or an exponent, or an integer that fits neither int64 nor
 * uint64.  Other integers it keeps, and echoes, exactly.
 */
static int
held_as_double(const json_t *v)
{
	const char *t = qmp_json_number_text(v);
	size_t n;

	if (t == NULL)
		return json_is_real(v);
	if (strpbrk(t, ".eE") != NULL)
		return 1;
	n = strlen(t);
	if (t[0] == '-')
		return qmp_json_number_cmp(t, n, "-9223372036854775808", 20) < 0;
	return qmp_json_number_cmp(t, n, "18446744073709551615", 20) > 0;
}

/*
 * Returns 1 when the id mid of a reply stands for the id sent: the same
 * JSON value, where two numbers match when their values are equal, or,
 * for a number QEMU holds as a double (held_as_double), when the reply's
 * is written as QEMU writes that double, "%.17g": 0.1 comes back as
 * 0.10000000000000001, 1e2 as 100, 18446744073709551616 as
 * 1.8446744073709552e+19.
 */
static int
ids_match(json_t *mid, json_t *id)
{
	const char *key, *t;
	char echo[32];
	json_t *item;
	double d;
	size_t i;

	if (qmp_json_equal(mid, id))
		return 1;
	if (qmp_json_is_number(mid) && qmp_json_is_number(id))
		return held_as_double(id) && qmp_json_double(id, &d) == 0 &&
		    (t = qmp_json_number_text(mid)) != NULL &&
		    snprintf(echo, sizeof(echo), "%.17g", d) > 0 &&
		    strcmp(t, echo) == 0;
	if (json_is_array(mid) && json_is_array(id) &&
	    json_array_size(mid) == json_array_size(id)) {
		for (i = 0; i < json_array_size(id); i++)
			if (!ids_match(json_array_get(mid, i),
			    json_array_get(id, i)))
				return 0;
		return 1;
	}
	if (!json_is_object(mid) || !json_is_object(id) ||
	    json_object_size(mid) != json_object_size(id))
		return 0;
	json_object_foreach(id, key, item)
		if (!ids_match(json_object_get(mid, key), item))
			return 0;
	return 1;
}

int
qmp_id_echoable(json_t *id)
{
	const char *key;
	json_t *item;
	double d;
	size_t i;

	if (qmp_json_is_number(id))
		return qmp_json_double(id, &d) == 0;
	json_array_foreach(id, i, item)
		if (!qmp_id_echoable(item))
			return 0;
	json_object_foreach(id, key, item)
		if (!qmp_id_echoable(item))
			return 0;
	return 1;
}

/*
 * Reads until the reply to the command sent with id (NULL: none).  What
 * is a reply: a message with "return" or "error" (not both) that is not
 * an event.  With an id, the reply carries it; one with another id is
 * somebody else's and dropped; one without an id is an error QEMU sent
 * when it could not read the command, and taken as the answer (a
 * "return" without an id is a protocol error).  Without an id, the first
 * reply with no id (or "id": null) is the answer.
 */
static enum qmp_status
await_reply(struct qmp *q, json_t *id, json_t **reply)
{
	enum qmp_status st;
	json_t *msg, *mid, *err;
	char cls[128], desc[800];

	for (;;) {
		st = read_msg(q, &msg, "before the reply");
		if (st != QMP_OK)
			return st;
		if (take_event(q, msg)) {
			json_decref(msg);
			continue;
		}
		err = json_object_get(msg, "error");
		if (err == NULL && json_object_get(msg, "return") == NULL) {
			json_decref(msg);
			return qmpi_fail(q, QMP_EPROTO,
			    "%s: message is neither a reply nor an event",
			    q->name);
		}
		if (err != NULL && json_object_get(msg, "return") != NULL) {
			json_decref(msg);
			return qmpi_fail(q, QMP_EPROTO,
			    "%s: reply holds both \"return\" and \"error\"",
			    q->name);
		}
		mid = json_object_get(msg, "id");
		if (json_is_null(mid))
			mid = NULL;	/* an echo of "no id" */
		if (mid != NULL && (id == NULL || !ids_match(mid, id))) {
			/* A reply to somebody else's command. */
			json_decref(msg);
			continue;
		}
		if (mid == NULL && err == NULL && id != NULL) {
			json_decref(msg);
			return qmpi_fail(q, QMP_EPROTO, "%s: reply without an id",
			    q->name);
		}
		*reply = msg;
		if (err == NULL)
			return QMP_OK;
		if (!valid_error(err)) {
			*reply = NULL;
			json_decref(msg);
			return qmpi_fail(q, QMP_EPROTO, "%s: error reply without a "
			    "\"class\" and \"desc\" string", q->name);
		}
		return qmpi_fail(q, QMP_ECOMMAND, "%s: %s",
		    printable(json_object_get(err, "class"), cls, sizeof(cls)),
		    printable(json_object_get(err, "desc"), desc,
		    sizeof(desc)));
	}
}

/* Sends cmd and reads its reply, whatever the state (see qmp_execute). */
static enum qmp_status
execute(struct qmp *q, json_t *cmd, const int *fds, size_t nfds,
    json_t **reply)
{
	enum qmp_status st;
	json_t *id;
	char *text;
	size_t len;

	*reply = NULL;
	if (q->is_unix == 0 && nfds > 0)
		return qmpi_fail(q, QMP_EUSAGE,
		    "%s: descriptors can be passed on unix sockets only",
		    q->name);
	if (!qmp_id_echoable(json_object_get(cmd, "id")))
		return qmpi_fail(q, QMP_EUSAGE, "%s: the id holds a number past "
		    "the range of a double, which the server cannot echo",
		    q->name);
	if ((text = command_text(q, cmd, &id, &len)) == NULL)
		return qmpi_fail(q, QMP_ELOCAL, "out of memory");
	q->cmd_sent = 0;
	qmpi_trace(q, QMP_TRACE_SEND, 1, text, len, nfds);
	st = qmpi_send(q, text, len, fds, nfds);
	free(text);
	if (st != QMP_OK)
		return st;
	q->cmd_sent = 1;
	return await_reply(q, id, reply);
}

/* Returns st, after marking the connection broken for a failure that
 * leaves it out of step. */
static enum qmp_status
settle(struct qmp *q, enum qmp_status st)
{
	if (st != QMP_OK && st != QMP_ECOMMAND && st != QMP_EUSAGE &&
	    st != QMP_EMISUSE)
		q->state = QMP_STATE_BROKEN;
	return st;
}

/* Returns QMP_OK when commands may be sent now, else fails. */
static enum qmp_status
check_ready(struct qmp *q)
{
	q->cause = QMP_CAUSE_NONE;
	if (q->state == QMP_STATE_READY)
		return QMP_OK;
	return qmpi_fail(q, QMP_EMISUSE, q->state == QMP_STATE_BROKEN ?
	    "the connection is lost or out of step" :
	    "no handshake yet: call qmp_handshake or qmp_sync_agent first");
}

enum qmp_status
qmp_execute(struct qmp *q, json_t *cmd, const int *fds, size_t nfds,
    json_t **reply)
{
	enum qmp_status st;

	*reply = NULL;
	if ((st = check_ready(q)) != QMP_OK)
		return st;
	return settle(q, execute(q, cmd, fds, nfds, reply));
}

enum qmp_status
qmp_call(struct qmp *q, const char *name, json_t *args, json_t **result)
{
	enum qmp_status st;
	json_t *cmd, *reply = NULL;

	*result = NULL;
	cmd = json_pack("{s:s}", "execute", name);
	if (cmd == NULL || (args != NULL &&
	    json_object_set(cmd, "arguments", args) < 0)) {
		json_decref(cmd);
		return qmpi_fail(q, QMP_ELOCAL, "out of memory");
	}
	st = qmp_execute(q, cmd, NULL, 0, &reply);
	json_decref(cmd);
	if (st == QMP_OK) {
		*result = json_incref(json_object_get(reply, "return"));
		json_decref(reply);
	} else
		*result = reply;
	return st;
}
