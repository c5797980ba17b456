/* SPDX-License-Identifier: MIT */
/*
 * fakepeer: a scripted fake QMP server for the qmpctl test suite.
 *
 * It does on demand what a real QEMU will not: garbage, hangs, half
 * messages, floods, resets.  It listens on a unix socket (-u) or on an
 * ephemeral loopback tcp port (-p), accepts one connection, runs the
 * script against it and exits.
 *
 * In a TEXT, $ID stands for the raw text of the top-level "id" of the
 * message the last expect read, and $ARGSID for that of its "arguments"
 * object's "id" (guest-sync-delimited puts its id there); each is null
 * when the message has none.
 *
 * Exit status: 0 the script ended (or the client went away while the peer
 * was sending), 1 an expect failed or the connection failed, 2 usage,
 * script or setup error, 3 the -T deadline was reached.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGNAME	"fakepeer"
#define CHUNK		(64 * 1024)		/* write and read size */
#define MAXMSG		(256UL * 1024 * 1024)	/* longest message expect keeps */
#define MAXNUM		(UINT64_C(1) << 50)	/* bound for byte counts */
#define MAXMS		(24UL * 3600 * 1000)	/* bound for pauses */

#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2
#define EXIT_DEADLINE	3

#define GREETING	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, " \
			"\"minor\": 2, \"major\": 7}, \"package\": " \
			"\"Debian 1:7.2+dfsg-7\"}, \"capabilities\": " \
			"[\"oob\"]}}\r\n"

enum op {
	OP_GREET, OP_EXPECT, OP_NEGOTIATE, OP_SEND, OP_SENDSLOW, OP_TRICKLE,
	OP_REPEAT, OP_FLOOD, OP_FLOODBIG, OP_BIG, OP_BIGRAW, OP_DEEP, OP_SLEEP, OP_HANG,
	OP_DRAIN, OP_CLOSE, OP_RESET, OP_WAIT_CLOSE
};

enum argkind { ARG_NONE, ARG_NUM, ARG_TEXT, ARG_NUM_TEXT };

static const struct directive {
	const char	*name;
	enum op		 op;
	enum argkind	 args;
	uint64_t	 max;		/* bound of the number, if any */
} directives[] = {
	{ "greet",	OP_GREET,	ARG_NONE,	0 },
	{ "expect",	OP_EXPECT,	ARG_NONE,	0 },
	{ "negotiate",	OP_NEGOTIATE,	ARG_NONE,	0 },
	{ "send",	OP_SEND,	ARG_TEXT,	0 },
	{ "sendslow",	OP_SENDSLOW,	ARG_TEXT,	0 },
	{ "trickle",	OP_TRICKLE,	ARG_NUM_TEXT,	MAXMS },
	{ "repeat",	OP_REPEAT,	ARG_NUM_TEXT,	MAXNUM },
	{ "flood",	OP_FLOOD,	ARG_TEXT,	0 },
	/* floodbig N TEXT: TEXT, N 'a', then "}}\r\n", until the client goes */
	{ "floodbig",	OP_FLOODBIG,	ARG_NUM_TEXT,	MAXNUM },
	{ "big",	OP_BIG,		ARG_NUM,	MAXNUM },
	{ "bigraw",	OP_BIGRAW,	ARG_NUM_TEXT,	MAXNUM },
	{ "deep",	OP_DEEP,	ARG_NUM,	MAXNUM },
	{ "sleep",	OP_SLEEP,	ARG_NUM,	MAXMS },
	{ "hang",	OP_HANG,	ARG_NONE,	0 },
	{ "drain",	OP_DRAIN,	ARG_NONE,	0 },
	{ "close",	OP_CLOSE,	ARG_NONE,	0 },
	{ "reset",	OP_RESET,	ARG_NONE,	0 },
	{ "wait_close",	OP_WAIT_CLOSE,	ARG_NONE,	0 },
};

/* Decoded TEXT: bytes, and the offsets where $ID or $ARGSID go. */
struct text {
	char	*buf;
	size_t	 len;
	size_t	*ids;
	unsigned char	*isargs;	/* per offset: 1 for $ARGSID, 0 for $ID */
	size_t	 nids;
};

struct step {
	enum op		 op;
	unsigned long	 line;
	uint64_t	 num;
	struct text	 text;
};

struct script {
	struct step	*steps;
	size_t		 nsteps;
};

struct conn {
	int	 fd;
	int	 tcp;
	char	*in;		/* bytes read but not yet consumed by expect */
	size_t	 inlen;
	size_t	 incap;
	size_t	 scan;		/* framer: next byte to look at */
	size_t	 start;		/* framer: offset of the message's '{' */
	int	 started;
	long	 depth;
	int	 instr;
	int	 esc;
	char	*id;		/* raw text of the last id, for $ID */
	size_t	 idlen;
	char	*argsid;	/* raw text of the last arguments.id */
	size_t	 argsidlen;
};

static const char	*sockpath;	/* unlinked at exit */
static unsigned long	 curline;	/* script line running, 0 before */
static int		 recvfd = -1;
static int		 limit_secs = 30;
static struct timespec	 deadline;
static char		 fillbuf[CHUNK];

static void	 usage(void) __attribute__((noreturn));
static void	 fatal(int, const char *, ...)
		    __attribute__((noreturn, format(printf, 2, 3)));
static void	 fatalx(int, const char *, ...)
		    __attribute__((noreturn, format(printf, 2, 3)));
static void	 do_close(struct conn *) __attribute__((noreturn));
static void	 do_reset(struct conn *) __attribute__((noreturn));

/* Print usage and exit; it does not return. */
static void
usage(void)
{
	fprintf(stderr,
	    "usage: %s -u sockpath [-r recvlog] [-P pidfile] [-T seconds] "
	    "script\n"
	    "       %s -p portfile [-6] [-r recvlog] [-P pidfile] "
	    "[-T seconds] script\n", PROGNAME, PROGNAME);
	exit(EXIT_USAGE);
}

/* Print a message with errno's text and exit with status; no return. */
static void
fatal(int status, const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	fprintf(stderr, "%s: ", PROGNAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(saved));
	exit(status);
}

/* Print a message and exit with status; it does not return. */
static void
fatalx(int status, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "%s: ", PROGNAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* Return nothing; remove the unix socket, run at exit. */
static void
cleanup(void)
{
	if (sockpath != NULL)
		(void)unlink(sockpath);
}

/* Return nothing; the backstop of -T: remove the socket and exit 3. */
static void
on_alarm(int sig)
{
	static const char msg[] = PROGNAME ": deadline reached (alarm)\n";

	(void)sig;
	if (sockpath != NULL)
		(void)unlink(sockpath);
	(void)write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(EXIT_DEADLINE);
}

/* Return nothing; remove the socket and die of the signal received. */
static void
on_signal(int sig)
{
	if (sockpath != NULL)
		(void)unlink(sockpath);
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
}

/* Return a new allocation of n bytes; exit on failure. */
static void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		fatal(EXIT_USAGE, "malloc");
	return p;
}

/* Return p resized to n bytes; exit on failure (p is then leaked). */
static void *
xrealloc(void *p, size_t n)
{
	void	*q;

	if ((q = realloc(p, n == 0 ? 1 : n)) == NULL)
		fatal(EXIT_USAGE, "realloc");
	return q;
}

/* Return the milliseconds left before the deadline; exit 3 if none. */
static int
remaining_ms(void)
{
	struct timespec	 now;
	long long	 ms;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		fatal(EXIT_USAGE, "clock_gettime");
	ms = (long long)(deadline.tv_sec - now.tv_sec) * 1000 +
	    (deadline.tv_nsec - now.tv_nsec) / 1000000;
	if (ms <= 0 && curline == 0)
		fatalx(EXIT_DEADLINE, "deadline reached (-T %d) before a "
		    "client connected", limit_secs);
	if (ms <= 0)
		fatalx(EXIT_DEADLINE, "deadline reached (-T %d) at script "
		    "line %lu", limit_secs, curline);
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Return after ms milliseconds; exit 3 if the deadline comes first. */
static void
sleep_ms(uint64_t ms)
{
	struct timespec	 now, end;
	long long	 left;
	int		 left_deadline;

	if (clock_gettime(CLOCK_MONOTONIC, &end) == -1)
		fatal(EXIT_USAGE, "clock_gettime");
	end.tv_sec += (time_t)(ms / 1000);
	end.tv_nsec += (long)(ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	for (;;) {
		if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
			fatal(EXIT_USAGE, "clock_gettime");
		left = (long long)(end.tv_sec - now.tv_sec) * 1000 +
		    (end.tv_nsec - now.tv_nsec + 999999) / 1000000;
		left_deadline = remaining_ms();
		if (left <= 0)
			return;
		if (left > left_deadline)
			left = left_deadline;
		if (poll(NULL, 0, (int)left) == -1 && errno != EINTR)
			fatal(EXIT_USAGE, "poll");
	}
}

/* Return the revents of fd once it is ready for events; exit 3 at deadline. */
static short
wait_fd(int fd, short events)
{
	struct pollfd	 pfd;
	int		 n;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, remaining_ms());
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal(EXIT_FAIL, "poll");
		}
		if (n > 0)
			return pfd.revents;
	}
}

/* Return nothing; append received bytes to the recvlog, if any. */
static void
log_recv(const char *buf, size_t len)
{
	ssize_t	 n;

	while (recvfd != -1 && len > 0) {
		if ((n = write(recvfd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			fatal(EXIT_USAGE, "recvlog");
		}
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Return the number of bytes read into buf (logged), 0 at end of file,
 * or -1 with errno set on a read error.  Exit 3 at the deadline.
 */
static ssize_t
conn_read(struct conn *c, char *buf, size_t size)
{
	ssize_t	 n;

	for (;;) {
		(void)wait_fd(c->fd, POLLIN);
		n = read(c->fd, buf, size);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			return -1;
		}
		log_recv(buf, (size_t)n);
		return n;
	}
}

/*
 * Return 0 once all of buf is written, or -1 if the client went away
 * (EPIPE, ECONNRESET).  Exit 1 on another error, 3 at the deadline.
 */
static int
conn_write(struct conn *c, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(c->fd, buf, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				(void)wait_fd(c->fd, POLLOUT);
				continue;
			}
			if (errno == EPIPE || errno == ECONNRESET)
				return -1;
			fatal(EXIT_FAIL, "write");
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Return 0 once n copies of byte ch are written, -1 if the client left. */
static int
send_fill(struct conn *c, int ch, uint64_t n)
{
	size_t	 len;

	memset(fillbuf, ch, sizeof(fillbuf));
	while (n > 0) {
		len = n < sizeof(fillbuf) ? (size_t)n : sizeof(fillbuf);
		if (conn_write(c, fillbuf, len) == -1)
			return -1;
		n -= len;
	}
	return 0;
}

/* Return 0 once buf is written a byte at a time, ms apart; -1 if gone. */
static int
send_bytewise(struct conn *c, const char *buf, size_t len, uint64_t ms)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (i > 0)
			sleep_ms(ms);
		if (conn_write(c, buf + i, 1) == -1)
			return -1;
	}
	return 0;
}

/* Return a new buffer holding t with $ID and $ARGSID replaced. */
static char *
expand(const struct conn *c, const struct text *t, size_t *lenp)
{
	char	*out, *p;
	size_t	 i, from, len;

	len = t->len;
	for (i = 0; i < t->nids; i++)
		len += t->isargs[i] ? c->argsidlen : c->idlen;
	p = out = xmalloc(len);
	from = 0;
	for (i = 0; i < t->nids; i++) {
		memcpy(p, t->buf + from, t->ids[i] - from);
		p += t->ids[i] - from;
		if (t->isargs[i]) {
			memcpy(p, c->argsid, c->argsidlen);
			p += c->argsidlen;
		} else {
			memcpy(p, c->id, c->idlen);
			p += c->idlen;
		}
		from = t->ids[i];
	}
	memcpy(p, t->buf + from, t->len - from);
	*lenp = len;
	return out;
}

/*
 * Return 0 once TEXT is sent n times (forever if n is UINT64_MAX, until
 * the client leaves or the deadline), or -1 if the client went away.
 */
static int
send_repeat(struct conn *c, const struct text *t, uint64_t n)
{
	char	*one, *chunk;
	size_t	 len, k, i;
	int	 rc = 0;

	one = expand(c, t, &len);
	if (len == 0 || n == 0) {
		free(one);
		return 0;
	}
	k = len >= CHUNK ? 1 : CHUNK / len;
	chunk = xmalloc(k * len);
	for (i = 0; i < k; i++)
		memcpy(chunk + i * len, one, len);
	while (n > 0) {
		i = n < k ? (size_t)n : k;
		if (conn_write(c, chunk, i * len) == -1) {
			rc = -1;
			break;
		}
		if (n != UINT64_MAX)
			n -= i;
	}
	free(chunk);
	free(one);
	return rc;
}

/* Return the offset just past the JSON string starting at msg[i]. */
static size_t
skip_string(const char *msg, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (msg[i] == '\\')
			i++;
		else if (msg[i] == '"')
			return i + 1;
	}
	return len;
}

/* Return the offset of the ',' or '}' ending the value at msg[i]. */
static size_t
skip_value(const char *msg, size_t len, size_t i)
{
	long	 depth = 0;

	while (i < len) {
		switch (msg[i]) {
		case '"':
			i = skip_string(msg, len, i);
			continue;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (depth == 0)
				return i;
			depth--;
			break;
		case ',':
			if (depth == 0)
				return i;
			break;
		}
		i++;
	}
	return len;
}

/* Return the offset of the first byte at or after i that is not blank. */
static size_t
skip_ws(const char *msg, size_t len, size_t i)
{
	while (i < len && (msg[i] == ' ' || msg[i] == '\t' ||
	    msg[i] == '\r' || msg[i] == '\n'))
		i++;
	return i;
}

/*
 * Return 1 and set *idp, *idlenp to a new copy of the raw text of the
 * top-level member named key (quoted, e.g. "\"id\"") of the object msg
 * (the last one if repeated), or return 0 if it has none.
 */
static int
find_member(const char *msg, size_t len, const char *key, char **idp,
    size_t *idlenp)
{
	size_t	 keylen = strlen(key);
	char	*id = NULL;
	size_t	 i = 0, j, vs, ve, idlen = 0;
	long	 depth = 0;
	int	 wantkey = 0;

	while (i < len) {
		if (msg[i] == '"') {
			j = skip_string(msg, len, i);
			if (depth == 1 && wantkey && j - i == keylen &&
			    memcmp(msg + i, key, keylen) == 0) {
				wantkey = 0;
				j = skip_ws(msg, len, j);
				if (j < len && msg[j] == ':') {
					vs = skip_ws(msg, len, j + 1);
					ve = skip_value(msg, len, vs);
					i = ve;
					while (ve > vs && (msg[ve - 1] == ' ' ||
					    msg[ve - 1] == '\t' ||
					    msg[ve - 1] == '\r' ||
					    msg[ve - 1] == '\n'))
						ve--;
					free(id);
					id = xmalloc(ve - vs);
					memcpy(id, msg + vs, ve - vs);
					idlen = ve - vs;
					continue;
				}
			}
			wantkey = 0;
			i = j;
			continue;
		}
		switch (msg[i]) {
		case '{':
			depth++;
			wantkey = depth == 1;
			break;
		case '[':
			depth++;
			wantkey = 0;
			break;
		case '}':
		case ']':
			depth--;
			wantkey = 0;
			break;
		case ',':
			wantkey = depth == 1;
			break;
		case ':':
			wantkey = 0;
			break;
		}
		i++;
	}
	if (id == NULL)
		return 0;
	*idp = id;
	*idlenp = idlen;
	return 1;
}

/* Return nothing; forget every unconsumed byte and reset the framer. */
static void
framer_reset(struct conn *c)
{
	c->inlen = c->scan = c->start = 0;
	c->started = c->instr = c->esc = 0;
	c->depth = 0;
}

/*
 * Return 1 and set *endp to the offset just past a complete message in
 * c->in, or return 0 if more bytes are needed.  Bytes before the first
 * '{' are dropped.
 */
static int
framer_next(struct conn *c, size_t *endp)
{
	size_t	 i;
	char	 ch;

	for (i = c->scan; i < c->inlen; i++) {
		ch = c->in[i];
		if (!c->started) {
			if (ch == '{') {
				c->started = 1;
				c->start = i;
				c->depth = 1;
			}
			continue;
		}
		if (c->instr) {
			if (c->esc)
				c->esc = 0;
			else if (ch == '\\')
				c->esc = 1;
			else if (ch == '"')
				c->instr = 0;
			continue;
		}
		switch (ch) {
		case '"':
			c->instr = 1;
			break;
		case '{':
		case '[':
			c->depth++;
			break;
		case '}':
		case ']':
			if (--c->depth == 0) {
				*endp = i + 1;
				return 1;
			}
			break;
		}
	}
	if (!c->started) {
		framer_reset(c);
		return 0;
	}
	if (c->inlen - c->start > MAXMSG)
		fatalx(EXIT_FAIL, "expect: message longer than %lu bytes",
		    MAXMSG);
	c->scan = c->inlen;
	return 0;
}

/* Return nothing; set *rawp, *lenp to the new text "null". */
static void
set_null(char **rawp, size_t *lenp)
{
	free(*rawp);
	*rawp = xmalloc(4);
	memcpy(*rawp, "null", 4);
	*lenp = 4;
}

/* Return nothing; read one message from the client and note its ids. */
static void
do_expect(struct conn *c)
{
	size_t	 end, rest;
	ssize_t	 n;
	char	*id, *args;
	size_t	 idlen, argslen;

	while (!framer_next(c, &end)) {
		if (c->incap - c->inlen < CHUNK) {
			c->incap = c->inlen + 2 * CHUNK;
			c->in = xrealloc(c->in, c->incap);
		}
		n = conn_read(c, c->in + c->inlen, c->incap - c->inlen);
		if (n == 0)
			fatalx(EXIT_FAIL, "expect: client closed");
		if (n == -1) {
			if (errno == ECONNRESET)
				fatalx(EXIT_FAIL, "expect: client closed: %s",
				    strerror(errno));
			fatal(EXIT_FAIL, "expect: read");
		}
		c->inlen += (size_t)n;
	}
	if (find_member(c->in + c->start, end - c->start, "\"id\"", &id,
	    &idlen)) {
		free(c->id);
		c->id = id;
		c->idlen = idlen;
	} else
		set_null(&c->id, &c->idlen);
	set_null(&c->argsid, &c->argsidlen);
	if (find_member(c->in + c->start, end - c->start, "\"arguments\"",
	    &args, &argslen)) {
		if (find_member(args, argslen, "\"id\"", &id, &idlen)) {
			free(c->argsid);
			c->argsid = id;
			c->argsidlen = idlen;
		}
		free(args);
	}
	rest = c->inlen - end;
	memmove(c->in, c->in + end, rest);
	framer_reset(c);
	c->inlen = rest;
}

/*
 * Return 0 once the client closed its side (end of file or reset), the
 * bytes read in the meantime logged and dropped.  Exit 3 at the deadline.
 */
static int
wait_eof(struct conn *c)
{
	char	 buf[CHUNK];

	framer_reset(c);
	while (conn_read(c, buf, sizeof(buf)) > 0)
		;
	return 0;
}

/* Return nothing; log and drop what the client already sent, no waiting. */
static void
drain_pending(struct conn *c)
{
	char	 buf[CHUNK];
	ssize_t	 n;

	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		log_recv(buf, (size_t)n);
	}
}

/* Close the connection so the client sees an end of file; no return. */
static void
do_close(struct conn *c)
{
	drain_pending(c);
	if (shutdown(c->fd, SHUT_WR) == -1 && errno != ENOTCONN)
		fatal(EXIT_FAIL, "shutdown");
	(void)close(c->fd);
	exit(EXIT_OK);
}

/* Close the connection with a tcp reset; it does not return. */
static void
do_reset(struct conn *c)
{
	struct linger	 l;

	l.l_onoff = 1;
	l.l_linger = 0;
	if (c->tcp && setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l,
	    sizeof(l)) == -1)
		fatal(EXIT_FAIL, "setsockopt SO_LINGER");
	(void)close(c->fd);
	exit(EXIT_OK);
}

/* Return 0 to go on with the script, -1 if the client went away. */
static int
run_step(struct conn *c, const struct step *s)
{
	char	*buf;
	size_t	 len;
	int	 rc;

	switch (s->op) {
	case OP_GREET:
		return conn_write(c, GREETING, sizeof(GREETING) - 1);
	case OP_EXPECT:
		do_expect(c);
		return 0;
	case OP_NEGOTIATE:
		do_expect(c);
		if (conn_write(c, "{\"return\": {}, \"id\": ", 21) == -1 ||
		    conn_write(c, c->id, c->idlen) == -1)
			return -1;
		return conn_write(c, "}\r\n", 3);
	case OP_SEND:
	case OP_SENDSLOW:
	case OP_TRICKLE:
	case OP_BIGRAW:
		buf = expand(c, &s->text, &len);
		if (s->op == OP_SEND || s->op == OP_BIGRAW)
			rc = conn_write(c, buf, len);
		else
			rc = send_bytewise(c, buf, len,
			    s->op == OP_SENDSLOW ? 1 : s->num);
		free(buf);
		if (rc == 0 && s->op == OP_BIGRAW)
			rc = send_fill(c, 'a', s->num);
		return rc;
	case OP_REPEAT:
		return send_repeat(c, &s->text, s->num);
	case OP_FLOOD:
		return send_repeat(c, &s->text, UINT64_MAX);
	case OP_FLOODBIG:
		buf = expand(c, &s->text, &len);
		do {
			rc = conn_write(c, buf, len);
			if (rc == 0)
				rc = send_fill(c, 'a', s->num);
			if (rc == 0)
				rc = conn_write(c, "\"}}\r\n", 5);
		} while (rc == 0);
		free(buf);
		return rc;
	case OP_BIG:
		if (conn_write(c, "{\"return\": \"", 12) == -1 ||
		    send_fill(c, 'a', s->num) == -1 ||
		    conn_write(c, "\", \"id\": ", 9) == -1 ||
		    conn_write(c, c->id, c->idlen) == -1)
			return -1;
		return conn_write(c, "}\r\n", 3);
	case OP_DEEP:
		if (send_fill(c, '[', s->num) == -1)
			return -1;
		return send_fill(c, ']', s->num);
	case OP_SLEEP:
		sleep_ms(s->num);
		return 0;
	case OP_HANG:
		(void)wait_eof(c);
		(void)close(c->fd);
		exit(EXIT_OK);
	case OP_DRAIN:
	case OP_WAIT_CLOSE:
		return wait_eof(c);
	case OP_CLOSE:
		do_close(c);
	case OP_RESET:
		do_reset(c);
	}
	return 0;
}

/* Return 0 and the value of s[0..n) in *out, or -1 if it is no number. */
static int
parse_num(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Return the value of hex digit ch, or -1. */
static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Return NULL once s[0..n) is decoded into t, or an error message. */
static const char *
decode_text(const char *s, size_t n, struct text *t)
{
	size_t	 i;
	int	 hi, lo;

	t->buf = xmalloc(n);
	t->ids = xmalloc((n / 3 + 1) * sizeof(*t->ids));
	t->isargs = xmalloc(n / 3 + 1);
	t->len = t->nids = 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '$' && n - i >= 3 && memcmp(s + i, "$ID", 3) == 0) {
			t->isargs[t->nids] = 0;
			t->ids[t->nids++] = t->len;
			i += 2;
			continue;
		}
		if (s[i] == '$' && n - i >= 7 &&
		    memcmp(s + i, "$ARGSID", 7) == 0) {
			t->isargs[t->nids] = 1;
			t->ids[t->nids++] = t->len;
			i += 6;
			continue;
		}
		if (s[i] != '\\') {
			t->buf[t->len++] = s[i];
			continue;
		}
		if (++i == n)
			return "backslash at end of line";
		switch (s[i]) {
		case 'r':
			t->buf[t->len++] = '\r';
			break;
		case 'n':
			t->buf[t->len++] = '\n';
			break;
		case 't':
			t->buf[t->len++] = '\t';
			break;
		case '\\':
			t->buf[t->len++] = '\\';
			break;
		case '0':
			t->buf[t->len++] = '\0';
			break;
		case 'x':
			if (n - i < 3 || (hi = hexval(s[i + 1])) == -1 ||
			    (lo = hexval(s[i + 2])) == -1)
				return "\\x needs two hex digits";
			t->buf[t->len++] = (char)(hi * 16 + lo);
			i += 2;
			break;
		default:
			return "unknown escape (use \\r \\n \\t \\\\ \\0 \\xHH)";
		}
	}
	return NULL;
}

/* Return 1 if s[0..n) holds only blanks, else 0. */
static int
blank(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/*
 * Return 0 and fill *s from the directive in line[0..n), or -1 with a
 * message in *errp.
 */
static int
parse_line(const char *line, size_t n, struct step *s, const char **errp)
{
	const struct directive	*d = NULL;
	const char		*p, *end = line + n, *num;
	size_t			 i, namelen;

	p = line;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (namelen = 0; p + namelen < end && p[namelen] != ' ' &&
	    p[namelen] != '\t' && p[namelen] != '\r'; namelen++)
		;
	for (i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
		if (strlen(directives[i].name) == namelen &&
		    memcmp(directives[i].name, p, namelen) == 0)
			d = &directives[i];
	if (d == NULL) {
		*errp = "unknown directive";
		return -1;
	}
	s->op = d->op;
	s->num = 0;
	memset(&s->text, 0, sizeof(s->text));
	p += namelen;
	if (d->args == ARG_NONE) {
		if (!blank(p, (size_t)(end - p))) {
			*errp = "takes no argument";
			return -1;
		}
		return 0;
	}
	if (p == end || *p != ' ') {
		*errp = d->args == ARG_TEXT ? "missing TEXT" :
		    "missing number";
		return -1;
	}
	p++;
	if (d->args == ARG_NUM || d->args == ARG_NUM_TEXT) {
		num = p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (parse_num(num, (size_t)(p - num), d->max, &s->num) == -1) {
			*errp = "bad or too large number";
			return -1;
		}
		if (d->args == ARG_NUM) {
			if (!blank(p, (size_t)(end - p))) {
				*errp = "junk after number";
				return -1;
			}
			return 0;
		}
		if (p == end || *p != ' ') {
			*errp = "missing TEXT after number";
			return -1;
		}
		p++;
	}
	if ((*errp = decode_text(p, (size_t)(end - p), &s->text)) != NULL)
		return -1;
	if (s->op == OP_FLOOD && s->text.len == 0 && s->text.nids == 0) {
		*errp = "empty TEXT";
		return -1;
	}
	return 0;
}

/* Return nothing; read and check the whole script, exit 2 on error. */
static void
load_script(const char *path, struct script *sc)
{
	FILE		*f;
	char		*line = NULL;
	size_t		 cap = 0, n, alloc = 0;
	ssize_t		 len;
	unsigned long	 lineno = 0;
	const char	*err, *p;
	struct step	 s;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "r")) == NULL)
		fatal(EXIT_USAGE, "%s", path);
	sc->steps = NULL;
	sc->nsteps = 0;
	while ((len = getline(&line, &cap, f)) != -1) {
		lineno++;
		n = (size_t)len;
		if (n > 0 && line[n - 1] == '\n')
			n--;
		for (p = line; p < line + n && (*p == ' ' || *p == '\t'); p++)
			;
		if (p == line + n || *p == '#' ||
		    blank(p, n - (size_t)(p - line)))
			continue;
		if (parse_line(line, n, &s, &err) == -1)
			fatalx(EXIT_USAGE, "%s:%lu: %s: %.*s", path, lineno,
			    err, (int)(n > 60 ? 60 : n), line);
		s.line = lineno;
		if (sc->nsteps == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			sc->steps = xrealloc(sc->steps,
			    alloc * sizeof(*sc->steps));
		}
		sc->steps[sc->nsteps++] = s;
	}
	if (ferror(f))
		fatal(EXIT_USAGE, "%s", path);
	free(line);
	if (f != stdin && fclose(f) == EOF)
		fatal(EXIT_USAGE, "%s", path);
}

/* Return nothing; write content to path through path.tmp and rename. */
static void
write_atomic(const char *path, const char *content)
{
	char	*tmp;
	size_t	 len = strlen(content), plen = strlen(path);
	ssize_t	 n;
	int	 fd;

	tmp = xmalloc(plen + 5);
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", 5);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		fatal(EXIT_USAGE, "%s", tmp);
	while (len > 0) {
		if ((n = write(fd, content, len)) == -1) {
			if (errno == EINTR)
				continue;
			fatal(EXIT_USAGE, "%s", tmp);
		}
		content += n;
		len -= (size_t)n;
	}
	if (close(fd) == -1)
		fatal(EXIT_USAGE, "%s", tmp);
	if (rename(tmp, path) == -1)
		fatal(EXIT_USAGE, "rename %s", tmp);
	free(tmp);
}

/* Return a socket listening on the unix socket path; exit 2 on error. */
static int
listen_unix(const char *path)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx(EXIT_USAGE, "%s: socket path too long", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			fatalx(EXIT_USAGE, "%s: exists and is not a socket",
			    path);
		if (unlink(path) == -1)
			fatal(EXIT_USAGE, "unlink %s", path);
	} else if (errno != ENOENT)
		fatal(EXIT_USAGE, "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal(EXIT_USAGE, "socket");
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal(EXIT_USAGE, "bind %s", path);
	sockpath = path;
	if (listen(fd, 1) == -1)
		fatal(EXIT_USAGE, "listen");
	return fd;
}

/* Return a socket listening on a loopback tcp port, the port in *portp. */
static int
listen_tcp(int v6, int *portp)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen;
	int			 fd;

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sslen = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sslen = sizeof(*sin);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal(EXIT_USAGE, "socket");
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1)
		fatal(EXIT_USAGE, "bind %s", v6 ? "[::1]:0" : "127.0.0.1:0");
	if (listen(fd, 1) == -1)
		fatal(EXIT_USAGE, "listen");
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		fatal(EXIT_USAGE, "getsockname");
	*portp = ntohs(v6 ? sin6->sin6_port : sin->sin_port);
	return fd;
}

/* Return the accepted connection, non-blocking; exit 3 at the deadline. */
static int
accept_one(int lfd, int tcp)
{
	int	 fd, on = 1;

	for (;;) {
		(void)wait_fd(lfd, POLLIN);
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1)
			break;
		if (errno != EINTR && errno != EAGAIN &&
		    errno != ECONNABORTED)
			fatal(EXIT_FAIL, "accept");
	}
	if (tcp && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
	    sizeof(on)) == -1)
		fatal(EXIT_FAIL, "setsockopt TCP_NODELAY");
	return fd;
}

/* Return nothing: serve one client with the script and exit. */
int
main(int argc, char *argv[])
{
	const char		*unixpath = NULL, *portfile = NULL;
	const char		*recvlog = NULL, *pidfile = NULL;
	struct sigaction	 sa;
	struct script		 sc;
	struct conn		 c;
	uint64_t		 v;
	char			 num[32];
	size_t			 i;
	int			 ch, v6 = 0, lfd, port;

	(void)signal(SIGPIPE, SIG_IGN);
	if (clock_gettime(CLOCK_MONOTONIC, &deadline) == -1)
		fatal(EXIT_USAGE, "clock_gettime");

	while ((ch = getopt(argc, argv, "6P:p:r:T:u:")) != -1) {
		switch (ch) {
		case '6':
			v6 = 1;
			break;
		case 'P':
			pidfile = optarg;
			break;
		case 'p':
			portfile = optarg;
			break;
		case 'r':
			recvlog = optarg;
			break;
		case 'T':
			if (parse_num(optarg, strlen(optarg), 86400, &v) == -1
			    || v == 0)
				fatalx(EXIT_USAGE, "-T %s: want 1..86400 "
				    "seconds", optarg);
			limit_secs = (int)v;
			break;
		case 'u':
			unixpath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	if ((unixpath == NULL) == (portfile == NULL))
		usage();
	if (v6 && unixpath != NULL)
		fatalx(EXIT_USAGE, "-6 goes with -p, not -u");
	deadline.tv_sec += limit_secs;

	/*
	 * Every wait polls with the deadline; the alarm a second later only
	 * catches what cannot, such as a script on a stdin left open.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	(void)sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		fatal(EXIT_USAGE, "sigaction");
	(void)alarm((unsigned int)limit_secs + 1);

	load_script(argv[0], &sc);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1)
		fatal(EXIT_USAGE, "sigaction");
	if (atexit(cleanup) != 0)
		fatalx(EXIT_USAGE, "atexit failed");

	if (recvlog != NULL && (recvfd = open(recvlog,
	    O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644)) == -1)
		fatal(EXIT_USAGE, "%s", recvlog);

	if (unixpath != NULL)
		lfd = listen_unix(unixpath);
	else {
		lfd = listen_tcp(v6, &port);
		(void)snprintf(num, sizeof(num), "%d\n", port);
		write_atomic(portfile, num);
	}
	if (pidfile != NULL) {
		(void)snprintf(num, sizeof(num), "%ld\n", (long)getpid());
		write_atomic(pidfile, num);
	}

	memset(&c, 0, sizeof(c));
	c.tcp = unixpath == NULL;
	c.fd = accept_one(lfd, c.tcp);
	set_null(&c.id, &c.idlen);
	set_null(&c.argsid, &c.argsidlen);

	for (i = 0; i < sc.nsteps; i++) {
		curline = sc.steps[i].line;
		if (run_step(&c, &sc.steps[i]) == -1) {
			(void)close(c.fd);
			exit(EXIT_OK);
		}
	}
	do_close(&c);
}
