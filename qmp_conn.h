/* SPDX-License-Identifier: MIT */
/*
 * qmp_conn.h: inside the protocol library, what the session (qmp_core.c)
 * and the transport (qmp_transport.c) share: the connection's state and
 * the transport's verbs.  Not installed, not for callers: they have
 * qmp_core.h.
 *
 * The error convention, everywhere in the library: a function that can
 * fail returns an enum qmp_status; a system error number travels as a
 * value (an argument or a field), never through errno from one function
 * to another; and the message a failure leaves for qmp_errmsg() is
 * composed once, by the function that decides the failure, from whole
 * parts.  A caller may wrap a whole message in context ("no QMP greeting:
 * MSG", "MSG during negotiation"), never cut into it or write over part
 * of it.  API misuse is QMP_EMISUSE, never QMP_EUSAGE, which is for what
 * the user gave (an address, a command).
 */
#ifndef QMP_CONN_H
#define QMP_CONN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "qmp_core.h"
#include "qmp_framer.h"

/* Where a connection is: each call says in which state it may be made. */
enum qmp_state {
	QMP_STATE_NEW,		/* not connected yet */
	QMP_STATE_CONNECTED,	/* connected, no handshake yet */
	QMP_STATE_READY,	/* commands may be sent */
	QMP_STATE_BROKEN,	/* lost, or out of step: only qmp_free */
};

struct qmp {
	/* The transport's. */
	int fd;
	int is_unix;
	int cancel_fd;
	const volatile sig_atomic_t *cancel_flag;	/* nonzero: cancelled */
	int64_t deadline;		/* monotonic ms, 0 = none */
	struct qmp_framer *fr;
	int sent;			/* sent since the last read: poll first */
	qmp_trace_fn *on_trace;
	void *trace_ctx;
	char name[512];			/* the address, for messages */
	/* The session's. */
	enum qmp_state state;
	enum qmp_cause cause;		/* more on the last failure */
	int oob;			/* oob enabled: replies may overtake */
	size_t max_size;
	unsigned long next_id;
	long long sync_next;		/* the next sync id, or 0: random */
	unsigned mark;			/* bytes of a greeting seen while
					   skipping to the agent's 0xFF */
	enum qmp_status refused;	/* not QMP_OK: the session refused
					   bytes the framer dropped, and
					   qmpi_read_frame returns this */
	json_t *greeting;
	json_t *last_id;		/* the id of the last command, if any */
	int cmd_sent;			/* the last command went out whole */
	qmp_event_fn *on_event;
	void *event_ctx;
	char err[1024];			/* the last failure, for qmp_errmsg */
};

/*
 * Formats the failure description into q->err and returns st.  The
 * arguments may point into q->err itself.
 */
enum qmp_status qmpi_fail(struct qmp *q, enum qmp_status st,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Traces bytes sent or received: a message (is_msg) or raw bytes. */
void qmpi_trace(struct qmp *q, int dir, int is_msg, const char *bytes,
    size_t n, size_t nfds);
/*
 * Writes all of buf, attaching the nfds descriptors fds to the first byte
 * sent.  Returns QMP_OK, QMP_ECLOSED, QMP_ETIMEOUT, QMP_ECANCEL,
 * QMP_EUSAGE (too many descriptors) or QMP_ELOCAL.
 */
enum qmp_status qmpi_send(struct qmp *q, const char *buf, size_t len,
    const int *fds, size_t nfds);
/*
 * Returns the next complete message as raw bytes in *msg and *len (valid
 * until the next read); what is what is being waited for, for messages
 * ("before the reply").  Failure: QMP_ECLOSED (q->err says whether it
 * was a close or a reset), QMP_EPROTO (framing or size), QMP_ETIMEOUT,
 * QMP_ECANCEL, QMP_ELOCAL.
 */
enum qmp_status qmpi_read_frame(struct qmp *q, const char **msg,
    size_t *len, const char *what);
/* Returns 1 when the caller asked to stop (a signal, say). */
int qmpi_cancelled(const struct qmp *q);

#endif
