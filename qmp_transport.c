/* SPDX-License-Identifier: MIT */
/*
 * qmp_transport.c: the transport of the QEMU Monitor Protocol library:
 * connect, listen, attach a descriptor, wait with a deadline and a cancel
 * descriptor, send (with descriptors passed), read one framed message.
 * It knows nothing of what the messages mean: that is the session's
 * (qmp_core.c).  The error convention is in qmp_conn.h.
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

#include "qmp_conn.h"

static enum qmp_status attach_inherited(struct qmp *,
    const struct qmp_addr *);

/*
 * Formats the failure description and returns st.  The arguments may
 * point into q->err itself (to wrap an earlier message).
 */
enum qmp_status
qmpi_fail(struct qmp *q, enum qmp_status st, const char *fmt, ...)
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

void
qmp_set_deadline(struct qmp *q, int64_t deadline_ms)
{
	q->deadline = deadline_ms;
}

void
qmpi_trace(struct qmp *q, int dir, int is_msg, const char *bytes, size_t n,
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

int
qmpi_cancelled(const struct qmp *q)
{
	return q->cancel_flag != NULL && *q->cancel_flag != 0;
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
		if (qmpi_cancelled(q))
			return qmpi_fail(q, QMP_ECANCEL, "%s: interrupted %s",
			    q->name, what);
		left = time_left(q);
		if (left == 0)
			return qmpi_fail(q, QMP_ETIMEOUT, "%s: timed out %s",
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
			return qmpi_fail(q, QMP_ELOCAL, "poll: %s", strerror(errno));
		if (r < 0)
			continue;
		if (q->cancel_fd >= 0 && pfd[n - 1].revents != 0)
			return qmpi_fail(q, QMP_ECANCEL, "%s: interrupted %s",
			    q->name, what);
		if (r > 0)
			return QMP_OK;
		if (ms >= 0 && (time_left(q) != 0 || q->deadline == 0))
			return QMP_OK;
	}
}

/*
 * Tries one connect, putting the socket in *fdp.  Returns QMP_OK, or
 * QMP_ECONNECT with the system error number in *why (and no message yet:
 * the caller names the address), or the status of the wait, with its
 * message.
 */
static enum qmp_status
try_connect(struct qmp *q, const struct sockaddr *sa, socklen_t salen,
    int proto, int *fdp, int *why)
{
	enum qmp_status st;
	int fd, e;
	socklen_t elen = sizeof(e);

	*fdp = -1;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    proto);
	if (fd < 0) {
		*why = errno;
		return QMP_ECONNECT;
	}
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
		*why = e;
		return QMP_ECONNECT;
	}
	*fdp = fd;
	return QMP_OK;
}

/*
 * Connects to a unix socket path, as try_connect.  A path that exists but
 * is no socket is ENOTSOCK at once, not a refusal worth waiting for.
 */
static enum qmp_status
connect_unix(struct qmp *q, const struct qmp_addr *a, int *fdp, int *why)
{
	struct sockaddr_un sun;
	enum qmp_status st;
	struct stat sb;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, a->path, strlen(a->path) + 1);
	st = try_connect(q, (struct sockaddr *)&sun, sizeof(sun), 0, fdp, why);
	if (st == QMP_ECONNECT && *why == ECONNREFUSED &&
	    stat(a->path, &sb) == 0 && !S_ISSOCK(sb.st_mode))
		*why = ENOTSOCK;
	return st;
}

/* Connects to a vsock address, as try_connect. */
static enum qmp_status
connect_vsock(struct qmp *q, const struct qmp_addr *a, int *fdp, int *why)
{
#ifdef AF_VSOCK
	struct sockaddr_vm svm;

	memset(&svm, 0, sizeof(svm));
	svm.svm_family = AF_VSOCK;
	svm.svm_cid = a->cid;
	svm.svm_port = a->vport;
	return try_connect(q, (struct sockaddr *)&svm, sizeof(svm), 0, fdp,
	    why);
#else
	(void)q;
	(void)a;
	*fdp = -1;
	*why = EAFNOSUPPORT;
	return QMP_ECONNECT;
#endif
}

/*
 * Connects to each address a tcp address stands for in turn, as
 * try_connect; *why is the last attempt's reason.  A name that does not
 * resolve is QMP_ECONNECT with its message composed here and *why 0.
 */
static enum qmp_status
connect_tcp(struct qmp *q, const struct qmp_addr *a, int *fdp, int *why)
{
	struct addrinfo hints, *res, *ai;
	enum qmp_status st = QMP_ECONNECT;
	int r, one = 1;

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
		*why = 0;
		return qmpi_fail(q, QMP_ECONNECT, "%s: %s", a->text,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	}
	*why = EHOSTUNREACH;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		st = try_connect(q, ai->ai_addr, ai->ai_addrlen,
		    ai->ai_protocol, fdp, why);
		if (st != QMP_ECONNECT)
			break;
	}
	freeaddrinfo(res);
	if (st == QMP_OK)
		setsockopt(*fdp, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return st;
}

/*
 * Tries every address a stands for once, putting the socket in *fdp.
 * Returns QMP_OK; QMP_ECONNECT with the reason in *why (0: the message
 * is composed already, else none is yet); or the failure of a wait, with
 * its message.
 */
static enum qmp_status
connect_once(struct qmp *q, const struct qmp_addr *a, int *fdp, int *why)
{
	*why = 0;
	if (a->kind == QMP_ADDR_UNIX)
		return connect_unix(q, a, fdp, why);
	if (a->kind == QMP_ADDR_VSOCK)
		return connect_vsock(q, a, fdp, why);
	return connect_tcp(q, a, fdp, why);
}

/* Returns 1 for a reason to try connecting again: nobody listens yet. */
static int
worth_waiting(int why)
{
	return why == ENOENT || why == ECONNREFUSED || why == EAGAIN;
}

/*
 * Waits pause ms before the next try of a connect that failed with why,
 * within until (0: none).  Returns QMP_OK to try again, or the failure
 * with its message composed whole: the reason of the last try, and when
 * the deadline cut the wait short, that it did.
 */
static enum qmp_status
connect_retry(struct qmp *q, int64_t until, int pause, int why)
{
	enum qmp_status st;

	if (!worth_waiting(why) || until == 0 || qmp_now_ms() >= until)
		return qmpi_fail(q, QMP_ECONNECT, "%s: %s", q->name,
		    strerror(why));
	st = wait_fd(q, -1, 0, pause, "waiting for the socket");
	if (st == QMP_ETIMEOUT)
		return qmpi_fail(q, QMP_ETIMEOUT, "%s: timed out waiting for "
		    "the socket (%s)", q->name, strerror(why));
	return st;
}

enum qmp_status
qmp_connect(struct qmp *q, const struct qmp_addr *a, int64_t wait_ms)
{
	int64_t until = wait_ms > 0 ? qmp_now_ms() + wait_ms : 0;
	enum qmp_status st;
	int fd, why, pause = 10;

	if (q->state != QMP_STATE_NEW)
		return qmpi_fail(q, QMP_EMISUSE, "qmp_connect: already "
		    "connected");
	if (a->kind == QMP_ADDR_FD)
		return attach_inherited(q, a);
	snprintf(q->name, sizeof(q->name), "%s",
	    a->kind == QMP_ADDR_UNIX ? a->path : a->text);
	for (;;) {
		st = connect_once(q, a, &fd, &why);
		if (st != QMP_ECONNECT || why == 0)
			break;
		if ((st = connect_retry(q, until, pause, why)) != QMP_OK)
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
 * Opens a listening unix socket at a->path, owner-only, into *fdp.
 * Returns QMP_OK, or QMP_ECONNECT with q->err set; *created says whether
 * the socket file was made.  The file is made owner-only by chmod(2)
 * between bind(2) and listen(2): no connection can be made before
 * listen(2), and the process umask is left alone.
 */
static enum qmp_status
listen_unix(struct qmp *q, const struct qmp_addr *a, int *fdp, int *created)
{
	struct sockaddr_un sun;
	int fd, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, a->path, strlen(a->path) + 1);
	*fdp = -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    (*created = 1, chmod(a->path, 0700)) < 0 || listen(fd, 1) < 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		if (*created)
			unlink(a->path);
		*created = 0;
		return qmpi_fail(q, QMP_ECONNECT, "%s: %s", a->path,
		    strerror(e));
	}
	*fdp = fd;
	return QMP_OK;
}

/*
 * Opens a listening socket on the first address the tcp address a stands
 * for that takes one, into *fdp.  Returns QMP_OK, or QMP_ECONNECT with
 * q->err set.
 */
static enum qmp_status
listen_tcp(struct qmp *q, const struct qmp_addr *a, int *fdp)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, e = EADDRNOTAVAIL, r, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	r = getaddrinfo(a->host, a->port, &hints, &res);
	if (r != 0)
		return qmpi_fail(q, QMP_ECONNECT, "%s: %s", a->text,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
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
	*fdp = fd;
	if (fd < 0)
		return qmpi_fail(q, QMP_ECONNECT, "%s: %s", a->text,
		    strerror(e));
	return QMP_OK;
}

/*
 * Opens a listening socket for a into *fdp.  Returns QMP_OK, QMP_ECONNECT,
 * or QMP_EUSAGE for an address of a kind that cannot listen, with q->err
 * set; *created says whether a unix socket file was made.
 */
static enum qmp_status
open_listener(struct qmp *q, const struct qmp_addr *a, int *fdp,
    int *created)
{
	*created = 0;
	*fdp = -1;
	if (a->kind == QMP_ADDR_UNIX)
		return listen_unix(q, a, fdp, created);
	if (a->kind != QMP_ADDR_TCP)
		return qmpi_fail(q, QMP_EUSAGE,
		    "%s: can only listen on unix or tcp", a->text);
	return listen_tcp(q, a, fdp);
}

/*
 * Accepts one connection on the listening socket lfd, within the
 * deadline, into *fdp.  Returns QMP_OK or a failure with its message.
 */
static enum qmp_status
accept_one(struct qmp *q, int lfd, int *fdp)
{
	enum qmp_status st;

	for (;;) {
		*fdp = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (*fdp >= 0)
			return QMP_OK;
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR && errno != ECONNABORTED)
			return qmpi_fail(q, QMP_ECONNECT, "%s: accept: %s",
			    q->name, strerror(errno));
		st = wait_fd(q, lfd, POLLIN, -1, "waiting for a connection");
		if (st != QMP_OK)
			return st;
	}
}

enum qmp_status
qmp_listen(struct qmp *q, const struct qmp_addr *a)
{
	enum qmp_status st;
	int lfd, fd, created, one = 1;

	if (q->state != QMP_STATE_NEW)
		return qmpi_fail(q, QMP_EMISUSE, "qmp_listen: already "
		    "connected");
	snprintf(q->name, sizeof(q->name), "%s",
	    a->kind == QMP_ADDR_UNIX ? a->path : a->text);
	if ((st = open_listener(q, a, &lfd, &created)) != QMP_OK)
		return st;
	st = accept_one(q, lfd, &fd);
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
 * Returns the failure for a send that failed with the system error e,
 * descriptors still to pass when nfds > 0: QMP_ECLOSED, or QMP_ELOCAL.
 */
static enum qmp_status
send_failed(struct qmp *q, size_t nfds, int e)
{
	if (e == EPIPE || e == ECONNRESET)
		return qmpi_fail(q, QMP_ECLOSED, "%s: %s while sending",
		    q->name, strerror(e));
	if (e == EINVAL && nfds > 0)
		return qmpi_fail(q, QMP_ELOCAL, "passing a descriptor: %s",
		    strerror(e));
	return qmpi_fail(q, QMP_ECLOSED, "%s: %s", q->name, strerror(e));
}

enum qmp_status
qmpi_send(struct qmp *q, const char *buf, size_t len, const int *fds,
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
				return qmpi_fail(q, QMP_EUSAGE,
				    "too many descriptors to pass");
			n = send_fds(q->fd, buf + off, len - off, fds, nfds,
			    &u);
			if (n < 0 && errno == EBADF)
				return qmpi_fail(q, QMP_ELOCAL,
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
		return send_failed(q, nfds, errno);
	}
	return QMP_OK;
}

/* Fails with QMP_EPROTO for a message over the size limit. */
static enum qmp_status
over_limit(struct qmp *q)
{
	q->cause = QMP_CAUSE_SIZE_LIMIT;
	return qmpi_fail(q, QMP_EPROTO, "%s: message over the size limit of %zu "
	    "bytes", q->name, qmp_framer_max(q->fr));
}

/*
 * Returns the failure for what the framer found, QMP_FRAME_ERROR or
 * QMP_FRAME_TOOBIG: QMP_EPROTO, the bytes traced for an error.
 */
static enum qmp_status
frame_failed(struct qmp *q, enum qmp_frame fr)
{
	const char *held, *why;
	unsigned char bad;
	size_t n;

	if (fr == QMP_FRAME_TOOBIG)
		return over_limit(q);
	held = qmp_framer_held(q->fr, &n);
	qmpi_trace(q, QMP_TRACE_RECV, 0, held, n, 0);
	why = qmp_framer_error(q->fr, &bad);
	if (bad >= 0x20 && bad < 0x7f)
		return qmpi_fail(q, QMP_EPROTO,
		    "%s: malformed message: %s, got '%c'", q->name, why, bad);
	return qmpi_fail(q, QMP_EPROTO,
	    "%s: malformed message: %s, got byte 0x%02x", q->name, why, bad);
}

/*
 * Returns the failure when the framer has no room for more bytes:
 * QMP_ELOCAL when memory ran out, else QMP_EPROTO for the size limit.
 */
static enum qmp_status
no_room(struct qmp *q)
{
	if (!qmp_framer_full(q->fr))
		return qmpi_fail(q, QMP_ELOCAL, "out of memory");
	return over_limit(q);
}

/*
 * Returns QMP_ECLOSED for a connection the peer closed, saying whether a
 * message was cut short.
 */
static enum qmp_status
closed_by_peer(struct qmp *q, const char *what)
{
	if (qmp_framer_pending(q->fr) > 0)
		return qmpi_fail(q, QMP_ECLOSED,
		    "%s: connection closed in the middle of a message %s",
		    q->name, what);
	return qmpi_fail(q, QMP_ECLOSED, "%s: connection closed by the server %s",
	    q->name, what);
}

enum qmp_status
qmpi_read_frame(struct qmp *q, const char **msg, size_t *len, const char *what)
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
		if (qmpi_cancelled(q))
			return qmpi_fail(q, QMP_ECANCEL, "%s: interrupted %s",
			    q->name, what);
		fr = qmp_framer_next(q->fr, msg, len);
		if (q->refused != QMP_OK)
			return q->refused;
		if (fr == QMP_FRAME_MSG) {
			qmpi_trace(q, QMP_TRACE_RECV, 1, *msg, *len, 0);
			return QMP_OK;
		}
		if (fr == QMP_FRAME_ERROR || fr == QMP_FRAME_TOOBIG)
			return frame_failed(q, fr);
		if ((p = qmp_framer_space(q->fr, &room)) == NULL)
			return no_room(q);
		/* A peer that never stops sending must not outlive the deadline. */
		if (q->deadline != 0 && qmp_now_ms() >= q->deadline)
			return qmpi_fail(q, QMP_ETIMEOUT, "%s: timed out %s",
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
			qmp_framer_commit(q->fr, (size_t)n);
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
		return qmpi_fail(q, QMP_ECLOSED, "%s: %s %s", q->name,
		    strerror(errno), what);
	}
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
		return qmpi_fail(q, QMP_ECONNECT, "%s: %s", q->name,
		    strerror(errno));
	if (getsockopt(a->fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0)
		return qmpi_fail(q, QMP_ECONNECT, "%s: %s", q->name,
		    strerror(errno));
	if (type != SOCK_STREAM)
		return qmpi_fail(q, QMP_ECONNECT, "%s: not a stream socket",
		    q->name);
	if (getpeername(a->fd, (struct sockaddr *)&ss, &len) < 0)
		return qmpi_fail(q, QMP_ECONNECT, "%s: %s", q->name,
		    strerror(errno));
	qmp_attach_fd(q, a->fd, a->text, ss.ss_family == AF_UNIX);
	return QMP_OK;
}

int
qmp_is_unix(const struct qmp *q)
{
	return q->is_unix;
}
