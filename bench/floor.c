/* SPDX-License-Identifier: MIT */
/*
 * floor: the least a QMP client can do, as a yardstick for qmpctl.
 *
 *     floor [-g] [-i] [-n COUNT] SOCKET COMMAND
 *
 * It connects to the unix socket SOCKET, reads the greeting and sends
 * qmp_capabilities (or, with -g, synchronises with a guest agent through
 * guest-sync-delimited), then sends COMMAND, the raw text of one QMP
 * command, COUNT times (default 1) in lockstep: each time it waits for the
 * reply before sending the next.  Each reply is written to stdout as the
 * server sent it.
 *
 * With -i it sends the very bytes qmpctl sends: qmpctl adds an id
 * ("qmpctl-N") to qmp_capabilities and to each command that has none, and
 * QEMU reads its input one byte per main-loop turn, so every byte counts.
 * COMMAND must then end in '}' and have no id.
 *
 * There is no JSON parser.  Messages are framed by counting braces and
 * brackets outside strings, as a client must; a message is a reply when
 * its first member is "return" or "error" (QEMU and qemu-ga always put it
 * first), anything else (an event) is skipped.  It does not match ids,
 * which lockstep makes unnecessary.
 *
 * Exit status: 0 success, 1 any failure (with a message on stderr).
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READSZ	(256 * 1024)

static char	*buf;		/* bytes read and not yet consumed */
static size_t	 cap, len;	/* allocated, filled */
static size_t	 start;		/* offset of the message in progress */
static size_t	 scan;		/* next byte the framer looks at */
static int	 depth, instr, esc;
static int	 fd = -1;

/* Prints a message and exits with status 1; it does not return. */
static void
die(const char *what)
{
	if (errno != 0)
		fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	else
		fprintf(stderr, "floor: %s\n", what);
	exit(1);
}

/* Returns nothing once all of s went out. */
static void
send_text(const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, s, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("send");
		}
		s += w;
		n -= (size_t)w;
	}
}

/* Returns nothing after one read() appended bytes to buf. */
static void
fill(void)
{
	ssize_t r;

	if (start > 0) {
		memmove(buf, buf + start, len - start);
		len -= start;
		scan -= start;
		start = 0;
	}
	if (cap - len < READSZ) {
		cap = cap < READSZ ? 2 * READSZ : 2 * cap;
		if ((buf = realloc(buf, cap)) == NULL)
			die("out of memory");
	}
	do
		r = read(fd, buf + len, cap - len);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		die("read");
	if (r == 0) {
		errno = 0;
		die("connection closed");
	}
	len += (size_t)r;
}

/*
 * Returns the length of the next complete message, which starts at
 * buf + start; reads as needed.  The caller consumes it by setting start.
 */
static size_t
next_msg(void)
{
	for (;;) {
		while (scan < len) {
			char c = buf[scan++];

			if (instr) {
				if (esc)
					esc = 0;
				else if (c == '\\')
					esc = 1;
				else if (c == '"')
					instr = 0;
				else	/* skip a run of plain bytes */
					while (scan < len && buf[scan] != '"' &&
					    buf[scan] != '\\')
						scan++;
				continue;
			}
			if (c == '"')
				instr = 1;
			else if (c == '{' || c == '[') {
				if (depth++ == 0)
					start = scan - 1;
			} else if ((c == '}' || c == ']') && depth > 0 &&
			    --depth == 0)
				return scan - start;
		}
		if (depth == 0)
			start = scan;	/* whitespace between messages */
		fill();
	}
}

/* Returns 1 when the message at buf + start has first member name. */
static int
first_member(size_t n, const char *name)
{
	size_t i = 1, k = strlen(name);

	while (i < n && (buf[start + i] == ' ' || buf[start + i] == '\t' ||
	    buf[start + i] == '\r' || buf[start + i] == '\n'))
		i++;
	return i + k + 2 <= n && buf[start + i] == '"' &&
	    memcmp(buf + start + i + 1, name, k) == 0 &&
	    buf[start + i + 1 + k] == '"';
}

/* Returns the length of the next reply at buf + start, skipping events. */
static size_t
next_reply(void)
{
	size_t n;

	for (;;) {
		n = next_msg();
		if (first_member(n, "return") || first_member(n, "error"))
			return n;
		start += n;
	}
}

int
main(int argc, char **argv)
{
	static const char caps[] = "{\"execute\":\"qmp_capabilities\"}";
	static const char caps_id[] = "{\"execute\":\"qmp_capabilities\","
	    "\"id\":\"qmpctl-1\"}";
	static const char sync[] = "\xff{\"execute\":\"guest-sync-delimited\","
	    "\"arguments\":{\"id\":271828}}";
	struct sockaddr_un sa;
	unsigned long count = 1, i;
	int agent = 0, ids = 0, ch;
	size_t n, cmdlen;
	char *ff, *cmd;

	while ((ch = getopt(argc, argv, "gin:")) != -1) {
		if (ch == 'g')
			agent = 1;
		else if (ch == 'i')
			ids = 1;
		else if (ch == 'n')
			count = strtoul(optarg, NULL, 10);
		else
			goto usage;
	}
	if (argc - optind != 2 || count == 0) {
usage:
		fprintf(stderr,
		    "usage: floor [-g] [-i] [-n COUNT] SOCKET COMMAND\n");
		return 1;
	}
	cmd = argv[optind + 1];
	cmdlen = strlen(cmd);
	if (ids) {	/* room for ,"id":"qmpctl-N"} */
		if (cmdlen == 0 || cmd[cmdlen - 1] != '}' ||
		    (cmd = malloc(cmdlen + 40)) == NULL)
			goto usage;
		memcpy(cmd, argv[optind + 1], cmdlen - 1);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(argv[optind]) >= sizeof(sa.sun_path)) {
		errno = 0;
		die("socket path too long");
	}
	strcpy(sa.sun_path, argv[optind]);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die(argv[optind]);

	if (agent) {
		/* Drop everything up to the 0xFF the agent echoes. */
		send_text(sync, sizeof(sync) - 1);
		for (;;) {
			ff = scan < len ? memchr(buf + scan, 0xff, len - scan) :
			    NULL;
			if (ff != NULL)
				break;
			start = scan = len;
			fill();
		}
		start = scan = (size_t)(ff - buf) + 1;
		start += next_reply();
	} else {
		for (;;) {	/* the greeting; events may come first */
			n = next_msg();
			ch = first_member(n, "QMP");
			start += n;
			if (ch)
				break;
		}
		if (ids)
			send_text(caps_id, sizeof(caps_id) - 1);
		else
			send_text(caps, sizeof(caps) - 1);
		n = next_reply();
		if (!first_member(n, "return")) {
			errno = 0;
			die("qmp_capabilities failed");
		}
		start += n;
	}

	for (i = 0; i < count; i++) {
		if (ids)	/* qmpctl numbers from 2: 1 went to caps */
			n = cmdlen - 1 + (size_t)sprintf(cmd + cmdlen - 1,
			    ",\"id\":\"qmpctl-%lu\"}", i + 2);
		else
			n = cmdlen;
		send_text(cmd, n);
		n = next_reply();
		if (fwrite(buf + start, 1, n, stdout) != n ||
		    putchar('\n') == EOF)
			die("stdout");
		start += n;
	}
	if (fflush(stdout) != 0)
		die("stdout");
	return 0;
}
