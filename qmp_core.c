/* SPDX-License-Identifier: MIT */
/*
 * qmp_core.c: the connection of the QEMU Monitor Protocol library: the
 * transport (connect, listen, send, read a framed message, deadlines and
 * cancelling), then the session (greeting, negotiation, the agent's
 * sync, commands and their replies, events).  Addresses are parsed in
 * qmp_addr.c, messages framed in qmp_framer.c and read and written by
 * qmp_json.c.  See qmp_core.h.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/vm_sockets.h>
#endif

#include "qmp_core.h"
#include "qmp_json.h"

static enum qmp_status attach_inherited(struct qmp *,
    const struct qmp_addr *);
static enum qmp_status check_ready(struct qmp *);
static enum qmp_status settle(struct qmp *, enum qmp_status);

/* Where a connection is: each call says in which state it may be made. */
enum qmp_state {
	QMP_STATE_NEW,		/* not connected yet */
	QMP_STATE_CONNECTED,	/* connected, no handshake yet */
	QMP_STATE_READY,	/* commands may be sent */
	QMP_STATE_BROKEN,	/* lost, or out of step: only qmp_free */
};

struct qmp {
	enum qmp_state state;
	enum qmp_cause cause;		/* more on the last failure */
	int oob;			/* oob enabled: replies may overtake */
	int fd;
	int cancel_fd;
	const volatile sig_atomic_t *cancel_flag;	/* nonzero: cancelled */
	int is_unix;
	int64_t deadline;		/* monotonic ms, 0 = none */
	struct qmp_framer fr;
	size_t max_size;
	unsigned long next_id;
	long long sync_next;		/* the next sync id, or 0: random */
	json_t *greeting;
	json_t *last_id;		/* the id of the last command, if any */
	int sent;			/* sent since the last read: poll first */
	int cmd_sent;			/* the last command went out whole */
	qmp_event_fn *on_event;
	void *event_ctx;
	qmp_trace_fn *on_trace;
	void *trace_ctx;
	char name[512];			/* the address, for messages */
	char err[1024];
};

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
	}
	return "unknown status";
}

/* ---- The connection ------------------------------------------------- */

/*
 * Formats the failure description and returns st.  The arguments may
 * point into q->err itself (to wrap an earlier message).
 */
static enum qmp_status
fail(struct qmp *q, enum qmp_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum qmp_status
fail(struct qmp *q, enum qmp_status st, const char *fmt, ...)
{
	char buf[sizeof(q->err)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memcpy(q->err, buf, sizeof(buf));
	return st;
}

int64_t
qmp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
	qmp_framer_init(&q->fr, q->max_size);
	return q;
}

void
qmp_free(struct qmp *q)
{
	if (q == NULL)
		return;
	if (q->fd >= 0)
		close(q->fd);
	qmp_framer_free(&q->fr);
	json_decref(q->greeting);
	json_decref(q->last_id);
	free(q);
}

void
qmp_set_deadline(struct qmp *q, int64_t deadline_ms)
{
	q->deadline = deadline_ms;
}

void
qmp_set_max_size(struct qmp *q, size_t max)
{
	q->max_size = max;
	q->fr.max = max;
	q->fr.limit = max < SIZE_MAX ? max + 1 : max;
}

void
qmp_set_event_handler(struct qmp *q, qmp_event_fn *fn, void *ctx)
{
	q->on_event = fn;
	q->event_ctx = ctx;
}

/* Hands bytes the framer dropped to the trace, as raw bytes. */
static void
trace_skip(void *ctx, const char *bytes, size_t n)
{
	struct qmp *q = ctx;

	q->on_trace(q->trace_ctx, QMP_TRACE_RECV, 0, bytes, n, 0);
}

void
qmp_set_trace(struct qmp *q, qmp_trace_fn *fn, void *ctx)
{
	q->on_trace = fn;
	q->trace_ctx = ctx;
	q->fr.on_skip = fn != NULL ? trace_skip : NULL;
	q->fr.skip_ctx = q;
}

/* Traces bytes sent or received: a message (is_msg) or raw bytes. */
static void
trace(struct qmp *q, int dir, int is_msg, const char *bytes, size_t n,
    size_t nfds)
{
	if (q->on_trace != NULL)
		q->on_trace(q->trace_ctx, dir, is_msg, bytes, n, nfds);
}

void
qmp_set_cancel_fd(struct qmp *q, int fd)
{
	q->cancel_fd = fd;
}

void
qmp_set_cancel_flag(struct qmp *q, const volatile sig_atomic_t *flag)
{
	q->cancel_flag = flag;
}

/* Returns 1 when the caller asked to stop (a signal, say). */
static int
cancelled(const struct qmp *q)
{
	return q->cancel_flag != NULL && *q->cancel_flag != 0;
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

/* Returns the poll timeout left before the deadline, -1 for none. */
static int
time_left(const struct qmp *q)
{
	int64_t left;

	if (q->deadline == 0)
		return -1;
	left = q->deadline - qmp_now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/*
 * Waits until fd is ready for events, or ms milliseconds passed (-1: no
 * limit besides the deadline; fd -1: only the pause).  Returns QMP_OK,
 * or QMP_ETIMEOUT, QMP_ECANCEL or QMP_ELOCAL with a message saying what
 * was being waited for.
 */
static enum qmp_status
wait_fd(struct qmp *q, int fd, short events, int ms, const char *what)
{
	struct pollfd pfd[2];
	int left, n, r;

	for (;;) {
		if (cancelled(q))
			return fail(q, QMP_ECANCEL, "%s: interrupted %s",
			    q->name, what);
		left = time_left(q);
		if (left == 0)
			return fail(q, QMP_ETIMEOUT, "%s: timed out %s",
			    q->name, what);
		if (ms >= 0 && (left < 0 || ms < left))
			left = ms;
		n = 0;
		if (fd >= 0) {
			pfd[n].fd = fd;
			pfd[n].events = events;
			pfd[n].revents = 0;
			n++;
		}
		if (q->cancel_fd >= 0) {
			pfd[n].fd = q->cancel_fd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			n++;
		}
		r = poll(pfd, (nfds_t)n, left);
		if (r < 0 && errno != EINTR)
			return fail(q, QMP_ELOCAL, "poll: %s", strerror(errno));
		if (r < 0)
			continue;
		if (q->cancel_fd >= 0 && pfd[n - 1].revents != 0)
			return fail(q, QMP_ECANCEL, "%s: interrupted %s",
			    q->name, what);
		if (r > 0)
			return QMP_OK;
		if (ms >= 0 && (time_left(q) != 0 || q->deadline == 0))
			return QMP_OK;
	}
}

/*
 * Tries one connect, putting the socket in *fdp.  Returns QMP_OK, or
 * QMP_ECONNECT with errno set (and no message yet: the caller names the
 * address), or the status of the wait with its message.
 */
static enum qmp_status
try_connect(struct qmp *q, int family, int type, int proto,
    const struct sockaddr *sa, socklen_t salen, int *fdp)
{
	enum qmp_status st;
	int fd, e;
	socklen_t elen = sizeof(e);

	*fdp = -1;
	fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	if (fd < 0)
		return QMP_ECONNECT;
	if (connect(fd, sa, salen) == 0) {
		*fdp = fd;
		return QMP_OK;
	}
	e = errno;
	if (e == EINPROGRESS || e == EINTR) {
		st = wait_fd(q, fd, POLLOUT, -1, "connecting");
		if (st != QMP_OK) {
			close(fd);
			return st;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
			e = errno;
	}
	if (e != 0) {
		close(fd);
		errno = e;
		return QMP_ECONNECT;
	}
	*fdp = fd;
	return QMP_OK;
}

/*
 * Connects to a unix socket path.  A path that exists but is no socket
 * is ENOTSOCK at once, not a refusal worth waiting for.
 */
static enum qmp_status
connect_unix(struct qmp *q, const struct qmp_addr *a, int *fdp)
{
	struct sockaddr_un sun;
	enum qmp_status st;
	struct stat sb;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, a->path, strlen(a->path) + 1);
	st = try_connect(q, AF_UNIX, SOCK_STREAM, 0, (struct sockaddr *)&sun,
	    sizeof(sun), fdp);
	if (st == QMP_ECONNECT && errno == ECONNREFUSED &&
	    stat(a->path, &sb) == 0 && !S_ISSOCK(sb.st_mode))
		errno = ENOTSOCK;
	if (st == QMP_ECONNECT)
		fail(q, QMP_ECONNECT, "%s: %s", a->path, strerror(errno));
	return st;
}

/*
 * Tries every address a stands for once, putting the socket in *fdp.
 * Returns QMP_OK, or a failure with q->err set; for QMP_ECONNECT errno
 * holds the last attempt's reason.
 */
static enum qmp_status
connect_once(struct qmp *q, const struct qmp_addr *a, int *fdp)
{
	struct addrinfo hints, *res, *ai;
	enum qmp_status st = QMP_ECONNECT;
	int e = 0, r, one = 1;

	if (a->kind == QMP_ADDR_UNIX)
		return connect_unix(q, a, fdp);
	if (a->kind == QMP_ADDR_VSOCK) {
#ifdef AF_VSOCK
		struct sockaddr_vm svm;

		memset(&svm, 0, sizeof(svm));
		svm.svm_family = AF_VSOCK;
		svm.svm_cid = a->cid;
		svm.svm_port = a->vport;
		st = try_connect(q, AF_VSOCK, SOCK_STREAM, 0,
		    (struct sockaddr *)&svm, sizeof(svm), fdp);
#else
		errno = EAFNOSUPPORT;
#endif
		if (st == QMP_ECONNECT)
			fail(q, QMP_ECONNECT, "%s: %s", a->text,
			    strerror(errno));
		return st;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	r = getaddrinfo(a->host, a->port, &hints, &res);
	if (r == EAI_ADDRFAMILY || r == EAI_NONAME) {
		/* AI_ADDRCONFIG hides ::1 on hosts with only loopback. */
		hints.ai_flags = AI_NUMERICSERV;
		r = getaddrinfo(a->host, a->port, &hints, &res);
	}
	if (r != 0) {
		fail(q, QMP_ECONNECT, "%s: %s", a->text,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		errno = EHOSTUNREACH;
		return QMP_ECONNECT;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		st = try_connect(q, ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol, ai->ai_addr, ai->ai_addrlen, fdp);
		if (st != QMP_ECONNECT)
			break;
		e = errno;
	}
	freeaddrinfo(res);
	if (st == QMP_ECONNECT) {
		fail(q, QMP_ECONNECT, "%s: %s", a->text, strerror(e));
		errno = e;
	} else if (st == QMP_OK)
		setsockopt(*fdp, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return st;
}

enum qmp_status
qmp_connect(struct qmp *q, const struct qmp_addr *a, int64_t wait_ms)
{
	int64_t until = wait_ms > 0 ? qmp_now_ms() + wait_ms : 0;
	enum qmp_status st;
	int fd, pause = 10;
	size_t n;

	if (q->state != QMP_STATE_NEW)
		return fail(q, QMP_EUSAGE, "already connected");
	if (a->kind == QMP_ADDR_FD)
		return attach_inherited(q, a);
	snprintf(q->name, sizeof(q->name), "%s",
	    a->kind == QMP_ADDR_UNIX ? a->path : a->text);
	for (;;) {
		st = connect_once(q, a, &fd);
		if (st != QMP_ECONNECT)
			break;
		if (errno != ENOENT && errno != ECONNREFUSED &&
		    errno != EAGAIN)
			return QMP_ECONNECT;
		if (until == 0 || qmp_now_ms() >= until)
			return QMP_ECONNECT;
		n = strlen(q->err);
		st = wait_fd(q, -1, 0, pause, "waiting for the socket");
		if (st == QMP_ETIMEOUT) {
			/* Keep the reason the last try gave. */
			q->err[n] = '\0';
			snprintf(q->err + n, sizeof(q->err) - n,
			    " (timed out waiting)");
		}
		if (st != QMP_OK)
			return st;
		if (pause < 100)
			pause *= 2;
	}
	if (st != QMP_OK)
		return st;
	q->fd = fd;
	q->is_unix = a->kind == QMP_ADDR_UNIX;
	q->state = QMP_STATE_CONNECTED;
	return QMP_OK;
}

/*
 * Opens a listening unix socket at a->path, owner-only.  Returns it, or
 * -1 with q->err set; *created says whether the socket file was made.
 */
static int
listen_unix(struct qmp *q, const struct qmp_addr *a, int *created)
{
	struct sockaddr_un sun;
	int fd, e, r;
	mode_t mask;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, a->path, strlen(a->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	/*
	 * Owner-only, whatever the umask: whoever connects can be handed
	 * the descriptors passed with commands.  (umask is the process's;
	 * it is put back at once.)
	 */
	mask = umask(077);
	r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(mask);
	if (r < 0 || (*created = 1, listen(fd, 1)) < 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		if (*created)
			unlink(a->path);
		*created = 0;
		fail(q, QMP_ECONNECT, "%s: %s", a->path, strerror(e));
		return -1;
	}
	return fd;
}

/*
 * Opens a listening socket on the first address the tcp address a stands
 * for that takes one.  Returns it, or -1 with q->err set.
 */
static int
listen_tcp(struct qmp *q, const struct qmp_addr *a)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, e = 0, r, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	r = getaddrinfo(a->host, a->port, &hints, &res);
	if (r != 0) {
		fail(q, QMP_ECONNECT, "%s: %s", a->text,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 1) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fail(q, QMP_ECONNECT, "%s: %s", a->text, strerror(e));
	return fd;
}

/*
 * Opens a listening socket for a.  Returns it, or -1 with q->err set;
 * *created says whether a unix socket file was made.
 */
static int
open_listener(struct qmp *q, const struct qmp_addr *a, int *created)
{
	*created = 0;
	if (a->kind == QMP_ADDR_UNIX)
		return listen_unix(q, a, created);
	if (a->kind != QMP_ADDR_TCP) {
		fail(q, QMP_EUSAGE, "%s: can only listen on unix or tcp",
		    a->text);
		return -1;
	}
	return listen_tcp(q, a);
}

enum qmp_status
qmp_listen(struct qmp *q, const struct qmp_addr *a)
{
	enum qmp_status st = QMP_OK;
	int lfd, fd, created, one = 1;

	if (q->state != QMP_STATE_NEW)
		return fail(q, QMP_EUSAGE, "already connected");
	snprintf(q->name, sizeof(q->name), "%s",
	    a->kind == QMP_ADDR_UNIX ? a->path : a->text);
	if ((lfd = open_listener(q, a, &created)) < 0)
		return a->kind == QMP_ADDR_UNIX || a->kind == QMP_ADDR_TCP ?
		    QMP_ECONNECT : QMP_EUSAGE;
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			break;
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR && errno != ECONNABORTED) {
			st = fail(q, QMP_ECONNECT, "%s: accept: %s", q->name,
			    strerror(errno));
			break;
		}
		st = wait_fd(q, lfd, POLLIN, -1, "waiting for a connection");
		if (st != QMP_OK)
			break;
	}
	close(lfd);
	if (created)
		unlink(a->path);
	if (st != QMP_OK)
		return st;
	if (a->kind == QMP_ADDR_TCP)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	q->fd = fd;
	q->is_unix = a->kind == QMP_ADDR_UNIX;
	q->state = QMP_STATE_CONNECTED;
	return QMP_OK;
}

/* Room for the most descriptors one message passes, aligned. */
union fd_room {
	char buf[CMSG_SPACE(sizeof(int) * 253)];
	struct cmsghdr align;
};

/*
 * Sends what sendmsg(2) takes of buf, with the nfds (at most 253)
 * descriptors fds attached in u.  Returns what sendmsg(2) returns.
 */
static ssize_t
send_fds(int fd, const char *buf, size_t len, const int *fds, size_t nfds,
    union fd_room *u)
{
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *cm;

	memset(&mh, 0, sizeof(mh));
	memset(u, 0, sizeof(*u));
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u->buf;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

/*
 * Returns the failure for a send that failed with errno, descriptors
 * still to pass when nfds > 0: QMP_ECLOSED, or QMP_ELOCAL.
 */
static enum qmp_status
send_failed(struct qmp *q, size_t nfds)
{
	if (errno == EPIPE || errno == ECONNRESET)
		return fail(q, QMP_ECLOSED, "%s: %s while sending", q->name,
		    strerror(errno));
	if (errno == EINVAL && nfds > 0)
		return fail(q, QMP_ELOCAL, "passing a descriptor: %s",
		    strerror(errno));
	return fail(q, QMP_ECLOSED, "%s: %s", q->name, strerror(errno));
}

/*
 * Writes all of buf, attaching fds to the first byte sent.  Returns
 * QMP_OK, QMP_ECLOSED, QMP_ETIMEOUT, QMP_ECANCEL or QMP_ELOCAL.
 */
static enum qmp_status
send_all(struct qmp *q, const char *buf, size_t len, const int *fds,
    size_t nfds)
{
	enum qmp_status st;
	size_t off = 0;
	ssize_t n;

	q->sent = 1;
	while (off < len) {
		if (nfds > 0) {
			union fd_room u;

			if (nfds > 253)
				return fail(q, QMP_EUSAGE,
				    "too many descriptors to pass");
			n = send_fds(q->fd, buf + off, len - off, fds, nfds,
			    &u);
			if (n < 0 && errno == EBADF)
				return fail(q, QMP_ELOCAL,
				    "passing a descriptor: %s",
				    strerror(errno));
		} else
			n = send(q->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += (size_t)n;
			if (n > 0)
				nfds = 0;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			st = wait_fd(q, q->fd, POLLOUT, -1, "sending");
			if (st != QMP_OK)
				return st;
			continue;
		}
		if (errno == ENOTSOCK && nfds == 0) {
			n = write(q->fd, buf + off, len - off);
			if (n >= 0) {
				off += (size_t)n;
				continue;
			}
		}
		return send_failed(q, nfds);
	}
	return QMP_OK;
}

/* Fails with QMP_EPROTO for a message over the size limit. */
static enum qmp_status
over_limit(struct qmp *q)
{
	q->cause = QMP_CAUSE_SIZE_LIMIT;
	return fail(q, QMP_EPROTO, "%s: message over the size limit of %zu "
	    "bytes", q->name, q->fr.max);
}

/*
 * Returns the failure for what the framer found, QMP_FRAME_ERROR or
 * QMP_FRAME_TOOBIG: QMP_EPROTO, the bytes traced for an error.
 */
static enum qmp_status
frame_failed(struct qmp *q, enum qmp_frame fr)
{
	if (fr == QMP_FRAME_TOOBIG)
		return over_limit(q);
	trace(q, QMP_TRACE_RECV, 0, q->fr.buf + q->fr.start,
	    q->fr.len - q->fr.start, 0);
	if (q->fr.bad >= 0x20 && q->fr.bad < 0x7f)
		return fail(q, QMP_EPROTO,
		    "%s: malformed message: %s, got '%c'",
		    q->name, q->fr.why, q->fr.bad);
	return fail(q, QMP_EPROTO,
	    "%s: malformed message: %s, got byte 0x%02x",
	    q->name, q->fr.why, q->fr.bad);
}

/*
 * Returns the failure when the framer has no room for more bytes:
 * QMP_ELOCAL when memory ran out, else QMP_EPROTO for the size limit.
 */
static enum qmp_status
no_room(struct qmp *q)
{
	if (q->fr.len < q->fr.limit)
		return fail(q, QMP_ELOCAL, "out of memory");
	return over_limit(q);
}

/*
 * Returns QMP_ECLOSED for a connection the peer closed, saying whether a
 * message was cut short.
 */
static enum qmp_status
closed_by_peer(struct qmp *q, const char *what)
{
	if (qmp_framer_pending(&q->fr) > 0)
		return fail(q, QMP_ECLOSED,
		    "%s: connection closed in the middle of a message %s",
		    q->name, what);
	return fail(q, QMP_ECLOSED, "%s: connection closed by the server %s",
	    q->name, what);
}

/*
 * Returns the next complete message as raw bytes in *msg and *len (valid
 * until the next read).  Failure: QMP_ECLOSED (q->err says whether it was
 * a close or a reset), QMP_EPROTO (framing or size), QMP_ETIMEOUT,
 * QMP_ECANCEL, QMP_ELOCAL.
 */
static enum qmp_status
read_frame(struct qmp *q, const char **msg, size_t *len, const char *what)
{
	enum qmp_frame fr;
	char *p;
	size_t room;
	ssize_t n;
	enum qmp_status st;

	for (;;) {
		/*
		 * Looked at before every message and every read, so that a
		 * peer that keeps every read full cannot delay a signal.
		 */
		if (cancelled(q))
			return fail(q, QMP_ECANCEL, "%s: interrupted %s",
			    q->name, what);
		fr = qmp_framer_next(&q->fr, msg, len);
		if (fr == QMP_FRAME_MSG) {
			trace(q, QMP_TRACE_RECV, 1, *msg, *len, 0);
			return QMP_OK;
		}
		if (fr == QMP_FRAME_ERROR || fr == QMP_FRAME_TOOBIG)
			return frame_failed(q, fr);
		if ((p = qmp_framer_space(&q->fr, &room)) == NULL)
			return no_room(q);
		/* A peer that never stops sending must not outlive the deadline. */
		if (q->deadline != 0 && qmp_now_ms() >= q->deadline)
			return fail(q, QMP_ETIMEOUT, "%s: timed out %s",
			    q->name, what);
		if (q->sent) {
			/* The answer cannot be there yet: skip a failed read. */
			q->sent = 0;
			st = wait_fd(q, q->fd, POLLIN, -1, what);
			if (st != QMP_OK)
				return st;
		}
		n = read(q->fd, p, room);
		if (n > 0) {
			qmp_framer_commit(&q->fr, (size_t)n);
			/* The socket was emptied: the next read would fail. */
			q->sent = (size_t)n < room;
			continue;
		}
		if (n == 0)
			return closed_by_peer(q, what);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			st = wait_fd(q, q->fd, POLLIN, -1, what);
			if (st != QMP_OK)
				return st;
			continue;
		}
		return fail(q, QMP_ECLOSED, "%s: %s %s", q->name,
		    strerror(errno), what);
	}
}

/*
 * Reads and parses the next message into *out (new).  Returns as
 * read_frame, plus QMP_EPROTO for JSON that does not parse.
 */
static enum qmp_status
read_msg(struct qmp *q, json_t **out, const char *what)
{
	enum qmp_status st;
	json_error_t jerr;
	const char *m;
	size_t len;

	*out = NULL;
	st = read_frame(q, &m, &len, what);
	if (st != QMP_OK)
		return st;
	*out = qmp_framer_parse(&q->fr, m, len, &jerr);
	qmp_framer_shrink(&q->fr);
	if (*out == NULL)
		return fail(q, QMP_EPROTO, "%s: malformed message: %s",
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

void
qmp_attach_fd(struct qmp *q, int fd, const char *name, int is_unix)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	q->fd = fd;
	q->is_unix = is_unix;
	q->state = QMP_STATE_CONNECTED;
	snprintf(q->name, sizeof(q->name), "%s", name);
}

/*
 * Takes descriptor a->fd, inherited from the caller's parent, as the
 * connection, once it is known to be a connected stream socket.
 */
static enum qmp_status
attach_inherited(struct qmp *q, const struct qmp_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type;
	socklen_t tlen = sizeof(type);

	snprintf(q->name, sizeof(q->name), "%s", a->text);
	if (fcntl(a->fd, F_GETFD) < 0)
		return fail(q, QMP_ECONNECT, "%s: %s", q->name,
		    strerror(errno));
	if (getsockopt(a->fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0)
		return fail(q, QMP_ECONNECT, "%s: %s", q->name,
		    strerror(errno));
	if (type != SOCK_STREAM)
		return fail(q, QMP_ECONNECT, "%s: not a stream socket",
		    q->name);
	if (getpeername(a->fd, (struct sockaddr *)&ss, &len) < 0)
		return fail(q, QMP_ECONNECT, "%s: %s", q->name,
		    strerror(errno));
	qmp_attach_fd(q, a->fd, a->text, ss.ss_family == AF_UNIX);
	return QMP_OK;
}

int
qmp_command_sent(const struct qmp *q)
{
	return q->cmd_sent;
}

int
qmp_is_unix(const struct qmp *q)
{
	return q->is_unix;
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
	if (qmp_framer_pending(&q->fr) > 0)
		trace(q, QMP_TRACE_RECV, 0, q->fr.buf + q->fr.start,
		    qmp_framer_pending(&q->fr), 0);
	qmp_framer_reset(&q->fr);
	q->fr.skip_to_ff = 1;
	q->fr.ff_is_space = 1;
	trace(q, QMP_TRACE_SEND, 0, buf, 1, 0);
	trace(q, QMP_TRACE_SEND, 1, buf + 1, (size_t)n - 1, 0);
	return send_all(q, buf, (size_t)n, NULL, 0);
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
		q->fr.skip_to_ff = 1;
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
		return fail(q, QMP_EUSAGE, "not connected, or synchronised "
		    "already");
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
			st = fail(q, QMP_ETIMEOUT, "%s: the agent did not answer "
			    "guest-sync-delimited in %lld ms", q->name,
			    (long long)wait_ms);
			break;
		}
		pause = pause < 1000 ? pause * 2 : 1000;
	}
	if (st == QMP_ECLOSED)
		return fail(q, QMP_EGREETING, "%.1000s", q->err);
	if (st == QMP_EPROTO && q->fr.saw_greeting) {
		q->cause = QMP_CAUSE_MONITOR;
		return fail(q, QMP_EGREETING, "%s: sent a QMP greeting: this "
		    "is a QEMU monitor, not a guest agent", q->name);
	}
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
			return fail(q, QMP_EGREETING, "no QMP greeting: %s",
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
		return fail(q, QMP_EGREETING,
		    "%s: no QMP greeting: the first message has no \"QMP\" "
		    "object", q->name);
	}
	caps = json_object_get(qmp, "capabilities");
	if (!json_is_object(json_object_get(qmp, "version")) ||
	    !json_is_array(caps)) {
		json_decref(msg);
		return fail(q, QMP_EGREETING,
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
	size_t i;
	int has_oob = 0;

	for (i = 0; i < json_array_size(caps); i++)
		if (json_is_string(json_array_get(caps, i)) &&
		    strcmp(json_string_value(json_array_get(caps, i)),
		    "oob") == 0)
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
		return fail(q, QMP_EUSAGE, "not connected, or greeted already");
	if ((st = read_greeting(q, &msg)) != QMP_OK)
		return st;
	has_oob = offers_oob(msg);
	q->greeting = msg;

	if ((flags & QMP_NEGOTIATE_OOB) && !has_oob)
		return fail(q, QMP_ENEGOTIATE,
		    "%s: the server does not offer the oob capability",
		    q->name);
	if (flags & QMP_NEGOTIATE_OOB)
		cmd = json_pack("{s:s, s:{s:[s]}}", "execute",
		    "qmp_capabilities", "arguments", "enable", "oob");
	else
		cmd = json_pack("{s:s}", "execute", "qmp_capabilities");
	if (cmd == NULL)
		return fail(q, QMP_ELOCAL, "out of memory");
	st = execute(q, cmd, NULL, 0, &reply);
	json_decref(cmd);
	json_decref(reply);
	switch (st) {
	case QMP_OK:
		q->state = QMP_STATE_READY;
		q->oob = (flags & QMP_NEGOTIATE_OOB) != 0;
		return QMP_OK;
	case QMP_ECOMMAND:
		return fail(q, QMP_ENEGOTIATE, "%s: negotiation refused: %.900s",
		    q->name, q->err);
	case QMP_ECLOSED:
		return fail(q, QMP_ENEGOTIATE, "%.1000s during negotiation",
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
	const unsigned char *s = (const unsigned char *)json_string_value(str);
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
			return fail(q, QMP_EPROTO,
			    "%s: message is neither a reply nor an event",
			    q->name);
		}
		if (err != NULL && json_object_get(msg, "return") != NULL) {
			json_decref(msg);
			return fail(q, QMP_EPROTO,
			    "%s: reply holds both \"return\" and \"error\"",
			    q->name);
		}
		mid = json_object_get(msg, "id");
		if (json_is_null(mid))
			mid = NULL;	/* an echo of "no id" */
		if (mid != NULL && (id == NULL || !qmp_json_equal(mid, id))) {
			/*
			 * A reply to somebody else's command.  Ids compare
			 * by JSON value with numbers by exact value: QEMU
			 * answers "id": 1.0 with "id": 1.
			 */
			json_decref(msg);
			continue;
		}
		if (mid == NULL && err == NULL && id != NULL) {
			json_decref(msg);
			return fail(q, QMP_EPROTO, "%s: reply without an id",
			    q->name);
		}
		*reply = msg;
		if (err == NULL)
			return QMP_OK;
		if (!valid_error(err)) {
			*reply = NULL;
			json_decref(msg);
			return fail(q, QMP_EPROTO, "%s: error reply without a "
			    "\"class\" and \"desc\" string", q->name);
		}
		return fail(q, QMP_ECOMMAND, "%s: %s",
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
		return fail(q, QMP_EUSAGE,
		    "%s: descriptors can be passed on unix sockets only",
		    q->name);
	if ((text = command_text(q, cmd, &id, &len)) == NULL)
		return fail(q, QMP_ELOCAL, "out of memory");
	q->cmd_sent = 0;
	trace(q, QMP_TRACE_SEND, 1, text, len, nfds);
	st = send_all(q, text, len, fds, nfds);
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
	if (st != QMP_OK && st != QMP_ECOMMAND && st != QMP_EUSAGE)
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
	return fail(q, QMP_EUSAGE, q->state == QMP_STATE_BROKEN ?
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
		return fail(q, QMP_ELOCAL, "out of memory");
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
