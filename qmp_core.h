/* SPDX-License-Identifier: MIT */
/*
 * qmp_core.h: the QEMU Monitor Protocol, without a user interface.
 *
 * Nothing here prints, exits or keeps global state.  Every call that can
 * fail returns an enum qmp_status and leaves a one-line description of
 * what failed and where in the connection, for qmp_errmsg(), and where
 * it helps, a cause for qmp_cause().
 *
 * The common case, from this header alone:
 *
 *	struct qmp_addr a;
 *	struct qmp *q = qmp_new();
 *	json_t *ret;
 *
 *	if (qmp_parse_address("/run/vm.sock", &a, err, sizeof(err)) ||
 *	    qmp_connect(q, &a, 0) || qmp_handshake(q, 0) ||
 *	    qmp_call(q, "query-status", NULL, &ret))
 *		fprintf(stderr, "%s\n", qmp_errmsg(q));
 *	...
 *	json_decref(ret);
 *	qmp_free(q);
 *
 * References follow jansson's rules: "new" means the caller owns the
 * reference and must json_decref() it, "borrowed" means it stays owned by
 * the connection and is valid until the connection is freed.
 *
 * What comes back: the replies, events and greeting are jansson values
 * read by qmp_json.c, in which every number keeps the characters the
 * server wrote (18446744073709551615 and 0.1 survive digit for digit).
 * jansson's own accessors do not know that representation: read them
 * only with qmp_json.h's accessors (qmp_json_string for a string,
 * qmp_json_number_text, qmp_json_int, qmp_json_double,
 * qmp_json_number_cmp, qmp_json_equal) and write them with qmp_json_write or qmp_json_dumps.
 * json_string_value, json_integer_value, json_real_value,
 * json_number_value, json_equal, json_dumps and json_dumpf give wrong
 * answers on them, and `make check` refuses them outside qmp_json.c.
 * Objects, arrays, true, false and null are plain jansson values.  A
 * message is at most qmp_set_max_size bytes, and its values at most 8
 * times that plus 64 MiB of memory (qmp_json.h's budget): past either,
 * the call fails with QMP_EPROTO, whatever the message's shape.
 *
 * The headers: this one is the session (connect, handshake, commands,
 * events) and its addresses, which only the session consumes and which
 * share its statuses; qmp_json.h is the JSON reader and writer;
 * qmp_framer.h the message framer, usable alone.  qmp_conn.h is private
 * to the library.
 */
#ifndef QMP_CORE_H
#define QMP_CORE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <jansson.h>

#include "qmp_json.h"

/* What went wrong, by kind. */
enum qmp_status {
	QMP_OK = 0,
	QMP_ECOMMAND,	/* the server answered the command with an error */
	QMP_EUSAGE,	/* the caller's address or input is unusable */
	QMP_ECONNECT,	/* no connection could be made */
	QMP_EGREETING,	/* the peer did not greet as a QMP server */
	QMP_ENEGOTIATE,	/* qmp_capabilities failed */
	QMP_ECLOSED,	/* connection lost before the reply */
	QMP_EPROTO,	/* malformed or unusable message, or over the size limit */
	QMP_ETIMEOUT,	/* the deadline passed */
	QMP_ELOCAL,	/* a local failure: memory, a descriptor, a system call */
	QMP_ECANCEL,	/* the cancel descriptor or flag said stop */
	QMP_EMISUSE,	/* the caller broke the API's rules: a call out of
			   order (a command before the handshake, a second
			   connect, a call after a failure that left the
			   connection unusable).  A bug in the caller, never
			   something a user typed: report it as internal. */
};

/* More on the last failure, where a caller can say something useful. */
enum qmp_cause {
	QMP_CAUSE_NONE,
	QMP_CAUSE_SIZE_LIMIT,	/* a message was over qmp_set_max_size */
	QMP_CAUSE_NO_GREETING,	/* connected, but no greeting came: QEMU
				   serves one client at a time */
	QMP_CAUSE_MONITOR,	/* the agent's peer is a QEMU monitor */
	QMP_CAUSE_AGENT_SILENT,	/* the agent never answered the sync */
};

/* Returns a short static description of a status. */
const char *qmp_strerror(enum qmp_status);

/* ---- Addresses ---------------------------------------------------- */

enum qmp_addr_kind { QMP_ADDR_UNIX, QMP_ADDR_TCP, QMP_ADDR_VSOCK,
    QMP_ADDR_FD };

struct qmp_addr {
	enum qmp_addr_kind kind;
	const char *text;	/* borrowed: what the user wrote, for messages */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char host[256];		/* tcp: host name or address, no brackets */
	char port[6];		/* tcp: decimal port 1-65535 */
	uint32_t cid;		/* vsock */
	uint32_t vport;		/* vsock */
	int fd;			/* fd: an inherited, connected socket */
};

/*
 * Parses "PATH", "unix:PATH", "HOST:PORT", "tcp:HOST:PORT", "[IPV6]:PORT",
 * "vsock:CID:PORT" or "fd:N" into *a.  Returns QMP_OK, or QMP_EUSAGE with a
 * message in err (which is always NUL-terminated when errlen > 0).
 * a->text borrows s.
 */
enum qmp_status qmp_parse_address(const char *s, struct qmp_addr *a,
    char *err, size_t errlen);

/* ---- The connection ----------------------------------------------- */

struct qmp;

/* Called for every event; ev is borrowed for the duration of the call. */
typedef void qmp_event_fn(void *ctx, json_t *ev);

/*
 * Called with what goes over the wire, in order, as it goes: dir is
 * QMP_TRACE_SEND or QMP_TRACE_RECV; is_msg says the bytes are one whole
 * JSON message (else raw bytes: a 0xFF, stale or malformed bytes); nfds
 * counts the descriptors passed with them.
 */
enum { QMP_TRACE_SEND, QMP_TRACE_RECV };
typedef void qmp_trace_fn(void *ctx, int dir, int is_msg, const char *bytes,
    size_t len, size_t nfds);

#define QMP_DEFAULT_MAX_SIZE ((size_t)128 << 20)

/* Returns a new unconnected handle, or NULL when out of memory. */
struct qmp *qmp_new(void);
/* Closes the connection and frees everything, including the greeting. */
void qmp_free(struct qmp *);

/* Bounds every later call: an absolute CLOCK_MONOTONIC time in ms, or 0. */
void qmp_set_deadline(struct qmp *, int64_t deadline_ms);
/* Returns the current CLOCK_MONOTONIC time in milliseconds. */
int64_t qmp_now_ms(void);
void qmp_set_max_size(struct qmp *, size_t);
void qmp_set_event_handler(struct qmp *, qmp_event_fn *, void *ctx);
void qmp_set_trace(struct qmp *, qmp_trace_fn *, void *ctx);
/* The cause of the last failure, or QMP_CAUSE_NONE. */
enum qmp_cause qmp_cause(const struct qmp *);
/* A descriptor that, once readable, makes any waiting call QMP_ECANCEL. */
void qmp_set_cancel_fd(struct qmp *, int fd);
/*
 * A flag (set by a signal handler, say) that, once nonzero, makes any
 * call QMP_ECANCEL at its next message or read.  Use it with the cancel
 * descriptor, which wakes a call that is waiting.
 */
void qmp_set_cancel_flag(struct qmp *, const volatile sig_atomic_t *flag);

/*
 * Connects to a.  While the address is missing or refuses and wait_ms
 * has not elapsed (nor the deadline passed), tries again; when the
 * deadline ends that wait, QMP_ETIMEOUT with "ADDR: timed out waiting for
 * the socket (REASON)", REASON the last try's.  A path that
 * is not a socket fails at once.  For fd:N, takes descriptor N (which
 * must be a connected stream socket) as the connection.
 */
enum qmp_status qmp_connect(struct qmp *, const struct qmp_addr *a,
    int64_t wait_ms);
/*
 * Listens on a (unix or tcp) and accepts one connection, within the
 * deadline.  A unix socket file is made owner-only (chmod 0700 before
 * listen(2); the process umask is not touched), and removed again once
 * the connection is accepted, or on failure.  Failure: QMP_ECONNECT,
 * QMP_EUSAGE (an address that cannot listen), QMP_ETIMEOUT, QMP_ECANCEL,
 * QMP_EMISUSE (already connected).
 */
enum qmp_status qmp_listen(struct qmp *, const struct qmp_addr *a);
/*
 * Uses fd, an already connected stream socket (a socketpair, say), as the
 * connection; the handle owns it from now on.  name is used in messages.
 */
void qmp_attach_fd(struct qmp *, int fd, const char *name, int is_unix);
/* Returns 1 when the connection is on a unix socket (can pass fds). */
int qmp_is_unix(const struct qmp *);

#define QMP_NEGOTIATE_OOB	0x1	/* enable the oob capability */

/*
 * Reads the greeting (events before it go to the event handler) and
 * negotiates capabilities.  Failure: QMP_EGREETING, QMP_ENEGOTIATE,
 * QMP_ETIMEOUT, QMP_EPROTO, QMP_ECANCEL.
 */
enum qmp_status qmp_handshake(struct qmp *, unsigned flags);
/*
 * For the guest agent, which has no greeting: sends 0xFF and
 * guest-sync-delimited with a fresh random id, drops everything up to
 * the 0xFF sentinel that precedes the answer (stale replies of earlier
 * clients included), and waits for the return carrying that id.  With
 * wait_ms > 0, an agent that does not answer yet (a guest still booting)
 * is sent a new sync, with a new id, after a pause that grows from 50 ms
 * to 1 s, until wait_ms passed: then QMP_ETIMEOUT with the cause
 * QMP_CAUSE_AGENT_SILENT.
 */
enum qmp_status qmp_sync_agent(struct qmp *, int64_t wait_ms);
/* For tests: sync ids count up from first instead of being random. */
void qmp_set_sync_ids(struct qmp *, long long first);
/*
 * Returns 1 when the last qmp_execute sent the whole command, so that a
 * close while waiting for the reply came after the server had it.
 */
int qmp_command_sent(const struct qmp *);
/* Returns the greeting object (borrowed), or NULL before qmp_handshake. */
json_t *qmp_greeting(struct qmp *);

/*
 * Sends cmd (borrowed, never changed) with the descriptors fds[0..nfds)
 * attached, and waits for its reply.  Only after qmp_handshake or
 * qmp_sync_agent: before, or once the connection was lost, QMP_EMISUSE.
 *
 * Which message is the reply: in lockstep (oob off) commands go without
 * an id unless cmd has one, and the reply is the first non-event message
 * without an id.  With oob on, an id is sent (cmd's own, or a number of
 * the connection's) and the reply is the one carrying it.  Either way,
 * events meanwhile go to the event handler; a reply with an id that was
 * not sent is somebody else's and dropped; an error without an id is
 * taken as the answer, since QEMU sends one when it could not read the
 * command; a "return" without an id, when an id was sent, is QMP_EPROTO.
 * Ids compare by JSON value, numbers by exact value (1 = 1.0) or, as
 * QEMU holds a number with a fraction or an exponent, or an integer past
 * 64 bits, as a double and echoes it as printf's "%.17g" writes it,
 * such a number also matches that text (0.1 matches 0.10000000000000001,
 * 18446744073709551616 matches 1.8446744073709552e+19).  An id holding a number past the range of a
 * double (1e400, which QEMU echoes as inf) is QMP_EUSAGE, nothing sent.
 *
 * QMP_OK: *reply is the reply object (new).  QMP_ECOMMAND: *reply is the
 * reply object holding "error" (new), and qmp_errmsg() is "CLASS: DESC".
 * Otherwise *reply is NULL.  A failure other than QMP_ECOMMAND or
 * QMP_EUSAGE leaves the connection unusable.
 */
enum qmp_status qmp_execute(struct qmp *, json_t *cmd, const int *fds,
    size_t nfds, json_t **reply);

/*
 * Returns 1 when id (borrowed; NULL for none) can go out as a command's
 * id, 0 when it holds a number past the range of a double (1e400), which
 * QEMU would echo as inf, not JSON.
 */
int qmp_id_echoable(json_t *id);

/*
 * The common case: runs command name with args (borrowed; NULL for
 * none).  QMP_OK: *result is the return value (new).  QMP_ECOMMAND:
 * *result is the whole reply, holding "error" (new).  Otherwise NULL.
 */
enum qmp_status qmp_call(struct qmp *, const char *name, json_t *args,
    json_t **result);

/*
 * Reads one message while no command is outstanding: an event goes to the
 * event handler, anything else is dropped.  Used to wait for events.
 */
enum qmp_status qmp_pump(struct qmp *);
/*
 * The same, but waits only until the monotonic time until (ms; 0: the
 * deadline only).  Returns QMP_OK with *got 1 when a message was read,
 * QMP_OK with *got 0 when until came first (the connection stays usable,
 * a message in progress is kept), or a failure as qmp_pump.  After
 * QMP_ECANCEL, too, the connection stays usable (a message in progress
 * is kept): give qmp_set_cancel_flag another flag to go on.
 */
enum qmp_status qmp_pump_until(struct qmp *, int64_t until, int *got);

/* The description of the last failure, without a trailing newline. */
const char *qmp_errmsg(const struct qmp *);

#endif
