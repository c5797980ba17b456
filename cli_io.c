/* SPDX-License-Identifier: MIT */
/*
 * cli_io.c: the command line's one I/O layer (cli_io.h).  A descriptor
 * is waited for with poll(2) beside the signal pipe and within the
 * deadline; nothing here blocks in read(2) or write(2) on a pipe or a
 * socket that poll has not said is ready.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_io.h"
#include "qmpctl.h"

/* Returns the exit status of the signal that came: 128+N (SIGINT's if none). */
int
io_signal_status(void)
{
	return 128 + (qmpctl_signal ? qmpctl_signal : SIGINT);
}

/*
 * Waits until fd is ready for events (POLLIN, POLLOUT).  Returns 0, or
 * -1 with errno set: ETIMEDOUT once the deadline passed, EINTR once a
 * signal came, else poll's.
 */
int
io_wait(const struct run *r, int fd, short events)
{
	struct pollfd pfd[2] = {
		{ fd, events, 0 }, { r->cancel_fd, POLLIN, 0 } };
	int64_t left;
	int n;

	for (;;) {
		if (qmpctl_signal) {
			errno = EINTR;
			return -1;
		}
		left = r->deadline == 0 ? -1 : r->deadline - qmp_now_ms();
		if (r->deadline != 0 && left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(pfd, r->cancel_fd >= 0 ? 2 : 1,
		    left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0 && pfd[0].revents != 0 && !qmpctl_signal)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/*
 * Pauses for ms milliseconds, or less when the deadline or a signal
 * comes first.  Returns QX_OK, QX_TIMEOUT or 128+N, without a message.
 */
int
io_pause(const struct run *r, int64_t ms)
{
	int64_t left = r->deadline == 0 ? -1 : r->deadline - qmp_now_ms();

	if (left >= 0 && left < ms)
		ms = left;
	if (!qmpctl_signal && ms > 0)
		poll(&(struct pollfd){ r->cancel_fd, POLLIN, 0 },
		    r->cancel_fd >= 0 ? 1 : 0, ms > INT_MAX ? INT_MAX : (int)ms);
	if (qmpctl_signal)
		return io_signal_status();
	if (r->deadline != 0 && qmp_now_ms() >= r->deadline)
		return QX_TIMEOUT;
	return QX_OK;
}

/*
 * Reads up to n bytes of fd once it is readable.  Returns the bytes
 * read, 0 at the end of the input, or -1 with errno set (as io_wait's,
 * or read's).
 */
ssize_t
io_read(const struct run *r, int fd, void *buf, size_t n)
{
	ssize_t got;

	for (;;) {
		if (io_wait(r, fd, POLLIN) < 0)
			return -1;
		got = read(fd, buf, n);
		if (got >= 0)
			return got;
		if (errno == EINTR && qmpctl_signal)
			return -1;
		if (errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

/*
 * Returns the most bytes one write(2) to fd may ask for without
 * blocking once poll said POLLOUT: PIPE_BUF for a blocking pipe or
 * socket (which takes that much then), else no limit (a regular file or
 * a device does not wait for a reader; a non-blocking descriptor says
 * EAGAIN instead of waiting).
 */
static size_t
write_piece(int fd)
{
	struct stat sb;
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK) && fstat(fd, &sb) == 0 &&
	    (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode)))
		return PIPE_BUF;
	return SIZE_MAX;
}

/*
 * Writes all of buf[0..n) to fd, piece bytes at most a write(2), as
 * io_write_all does.  Returns 0, or -1 with errno set.
 */
static int
write_pieces(const struct run *r, int fd, const char *p, size_t n,
    size_t piece)
{
	ssize_t w;

	while (n > 0) {
		if (piece != SIZE_MAX && io_wait(r, fd, POLLOUT) < 0)
			return -1;
		if (qmpctl_signal) {
			errno = EINTR;
			return -1;
		}
		w = write(fd, p, n < piece ? n : piece);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w == 0) {
			errno = EIO;
			return -1;
		} else if (errno == EAGAIN) {
			if (io_wait(r, fd, POLLOUT) < 0)
				return -1;
		} else if (errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * Writes all of buf[0..n) to fd, waiting for a slow reader within the
 * deadline and until a signal.  A regular file gets it in one write(2)
 * (whole lines for O_APPEND).  Returns 0, or -1 with errno set
 * (ETIMEDOUT, EINTR for a signal, or write's).
 */
int
io_write_all(const struct run *r, int fd, const void *buf, size_t n)
{
	return write_pieces(r, fd, buf, n, write_piece(fd));
}

/*
 * Says on stderr why an I/O on name failed with err, and returns the
 * status: 128+N after a signal ("interrupted ..."), QX_TIMEOUT after
 * the deadline ("timed out ..."), else other.
 */
int
io_failure(const char *name, int err, enum io_doing doing, int other)
{
	static const char *const timed[] = {
		"timed out reading", "timed out writing",
		"timed out waiting for a reader" };
	static const char *const cut[] = {
		"interrupted waiting for input", "interrupted writing",
		"interrupted waiting for a reader" };

	if (qmpctl_signal && (err == EINTR || err == ETIMEDOUT || err == 0)) {
		say("%s: %s", name, cut[doing]);
		return io_signal_status();
	}
	if (err == ETIMEDOUT) {
		say("%s: %s", name, timed[doing]);
		return QX_TIMEOUT;
	}
	say("%s: %s", name, strerror(err ? err : EIO));
	return other;
}

/* A stream whose writes go through io_write_all: see io_stream. */
struct iostream {
	const struct run *r;
	int fd;
	int owns_fd;		/* close fd with the stream */
	size_t piece;		/* write_piece(fd), once */
};

/*
 * Writes buf to the stream's descriptor with io_write_all.  Returns n,
 * or 0 with errno set on failure: never -1, which glibc's large-write
 * path takes for a huge count and reads past the caller's buffer with.
 */
static ssize_t
iostream_write(void *cookie, const char *buf, size_t n)
{
	const struct iostream *s = cookie;

	if (write_pieces(s->r, s->fd, buf, n, s->piece) < 0)
		return 0;
	return (ssize_t)n;
}

/*
 * Closes the stream.  One that owns its descriptor (a file's) closes it
 * and frees its state; stdout's state is static and its descriptor stays.
 * Returns 0, or -1 when close failed.
 */
static int
iostream_close(void *cookie)
{
	struct iostream *s = cookie;
	int rc = 0;

	if (s->owns_fd) {
		rc = close(s->fd);
		free(s);
	}
	return rc;
}

/*
 * Returns a buffered stream writing to fd through io_write_all, so that
 * a reader that stops reading holds it no longer than the deadline or a
 * signal; fclose closes fd when owns_fd.  A stream that does not own its
 * descriptor (stdout, one a process) keeps its state in static storage,
 * as long as the process.  NULL with errno set on failure (fd stays
 * open).
 */
FILE *
io_stream(const struct run *r, int fd, int owns_fd)
{
	static const cookie_io_functions_t io = {
		.write = iostream_write, .close = iostream_close,
	};
	static struct iostream shared;
	struct iostream *s = owns_fd ? malloc(sizeof(*s)) : &shared;
	FILE *fp;

	if (s == NULL)
		return NULL;
	s->r = r;
	s->fd = fd;
	s->owns_fd = owns_fd;
	s->piece = write_piece(fd);
	if ((fp = fopencookie(s, "w", io)) == NULL) {
		if (owns_fd)
			free(s);
		return NULL;
	}
	setvbuf(fp, NULL, _IOFBF, 1 << 16);
	return fp;
}
