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

/* ---- The framer: bytes in, complete top-level JSON objects out ----- */

/*
 * One linear pass over the bytes: each byte is looked at once, whatever
 * the chunking.  Top-level whitespace is skipped; any other byte outside
 * an object is an error.  Storage never grows beyond max + 1 bytes.
 */
struct qmp_framer {
	char *buf;
	size_t cap;		/* allocated bytes */
	size_t len;		/* bytes held */
	size_t start;		/* where the message being scanned starts */
	size_t scan;		/* next byte to look at */
	size_t max;		/* largest message accepted */
	size_t limit;		/* largest allocation, max + 1 */
	int depth;		/* nesting inside the current message */
	int in_str, esc;
	int skip_to_ff;		/* discard bytes through the next 0xFF */
	int ff_is_space;	/* 0xFF between messages is skipped (agent) */
	int saw_greeting;	/* skip_to_ff discarded a QMP greeting */
	unsigned mark;		/* bytes of '{"QMP":' matched while skipping */
	int handed;		/* a message was handed out and is consumed next */
	/* Told of every byte dropped while skipping (0xFF, stale bytes). */
	void (*on_skip)(void *ctx, const char *bytes, size_t n);
	void *skip_ctx;
	const char *why;	/* static text describing the last error */
	unsigned char bad;	/* the offending byte, for errors */
};

enum qmp_frame { QMP_FRAME_MORE, QMP_FRAME_MSG, QMP_FRAME_ERROR,
    QMP_FRAME_TOOBIG };

/* Sets up an empty framer accepting messages of at most max bytes. */
void qmp_framer_init(struct qmp_framer *, size_t max);
void qmp_framer_free(struct qmp_framer *);
/* Forgets everything held and any partial message. */
void qmp_framer_reset(struct qmp_framer *);
/*
 * Returns where to put more bytes and sets *n to how many fit (at least
 * one), or NULL with *n 0: the message in progress already fills the
 * limit when len >= limit, else memory ran out.
 */
char *qmp_framer_space(struct qmp_framer *, size_t *n);
/* Records that n bytes were written at the place qmp_framer_space gave. */
void qmp_framer_commit(struct qmp_framer *, size_t n);
/*
 * Scans what is held.  Returns QMP_FRAME_MSG with *msg and *len set to one
 * complete object (valid until the next call), QMP_FRAME_MORE when more
 * bytes are needed, QMP_FRAME_TOOBIG when the message in progress is over
 * the limit, or QMP_FRAME_ERROR with f->why and f->bad set.
 */
enum qmp_frame qmp_framer_next(struct qmp_framer *, const char **msg,
    size_t *len);
/* Bytes held that were not handed out as messages yet. */
size_t qmp_framer_pending(const struct qmp_framer *);
/* Frees a large buffer once its last message was used and nothing is left. */
void qmp_framer_shrink(struct qmp_framer *);
/*
 * Parses a message the framer handed out (msg, len) with qmp_json_loadb
 * (numbers kept as written; a later duplicate key wins, as in jansson).
 * Returns the value (new), or NULL with *err set.
 */
json_t *qmp_framer_parse(const struct qmp_framer *, const char *msg,
    size_t len, json_error_t *err);

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
 * has not elapsed (nor the deadline passed), tries again.  A path that
 * is not a socket fails at once.  For fd:N, takes descriptor N (which
 * must be a connected stream socket) as the connection.
 */
enum qmp_status qmp_connect(struct qmp *, const struct qmp_addr *a,
    int64_t wait_ms);
/*
 * Listens on a (unix or tcp) and accepts one connection, within the
 * deadline.  A unix socket file is made owner-only (the umask is set to
 * 077 around bind(2)), and removed again once the connection is
 * accepted, or on failure.
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
 * qmp_sync_agent: before, or once the connection was lost, QMP_EUSAGE.
 *
 * Which message is the reply: in lockstep (oob off) commands go without
 * an id unless cmd has one, and the reply is the first non-event message
 * without an id.  With oob on, an id is sent (cmd's own, or a number of
 * the connection's) and the reply is the one carrying it.  Either way,
 * events meanwhile go to the event handler; a reply with an id that was
 * not sent is somebody else's and dropped; an error without an id is
 * taken as the answer, since QEMU sends one when it could not read the
 * command; a "return" without an id, when an id was sent, is QMP_EPROTO.
 * Ids compare by JSON value, numbers by exact value (1 = 1.0).
 *
 * QMP_OK: *reply is the reply object (new).  QMP_ECOMMAND: *reply is the
 * reply object holding "error" (new), and qmp_errmsg() is "CLASS: DESC".
 * Otherwise *reply is NULL.  A failure other than QMP_ECOMMAND or
 * QMP_EUSAGE leaves the connection unusable.
 */
enum qmp_status qmp_execute(struct qmp *, json_t *cmd, const int *fds,
    size_t nfds, json_t **reply);

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
