/* SPDX-License-Identifier: MIT */
/*
 * tests/unit.c: table-driven unit tests for the pure parts of qmp_core:
 * the address parser (qmp_parse_address) and the framer (qmp_framer_*,
 * qmp_framer_parse).  No sockets, no processes, well under a second.
 *
 * Each case is a row in a table; one driver per table runs every row.
 * A failed check prints the row's name and what differed.  The last line
 * is "N passed, N failed" (rows); the exit status is 1 when any failed.
 *
 * Run by "make check" first, built normally (tests/unit) and with ASan and
 * UBSan (tests/unit-asan).  "tests/unit -v" names every row.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qmp_core.h"
#include "qmp_framer.h"

static int verbose;
static int row_failed;		/* a check of the current row failed */
static const char *row_name;
static unsigned passed, failed;

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports a failed check of the current row. */
static void
bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s: ", row_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	row_failed = 1;
}

static void
row_begin(const char *table, const char *name)
{
	static char buf[160];

	snprintf(buf, sizeof(buf), "%s: %s", table, name);
	row_name = buf;
	row_failed = 0;
}

static void
row_end(void)
{
	if (row_failed)
		failed++;
	else
		passed++;
	if (verbose)
		printf("%s %s\n", row_failed ? "FAIL" : "ok  ", row_name);
}

/* Returns a printable rendering of s[0..n) (static, truncated). */
static const char *
show(const char *s, size_t n)
{
	static char buf[2][200];
	static int which;
	char *b = buf[which ^= 1], *p = b;
	size_t i;

	if (s == NULL)
		return "(null)";
	for (i = 0; i < n && p < b + sizeof(buf[0]) - 8; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			*p++ = (char)c;
		else
			p += sprintf(p, "\\x%02x", c);
	}
	if (i < n)
		p += sprintf(p, "...");
	*p = '\0';
	return b;
}

/* ---- Addresses ------------------------------------------------------ */

#define OK	QMP_OK
#define EUSAGE	QMP_EUSAGE
#define UNIX	QMP_ADDR_UNIX
#define TCP	QMP_ADDR_TCP
#define VSOCK	QMP_ADDR_VSOCK

/* Inputs too long for a literal, filled in by make_long_inputs(). */
static char path107[108], path108[109], unix107[113], unix108[114];
static char host255[260], host256[261], tcphost255[264];

struct addr_case {
	const char *in;
	enum qmp_status st;
	enum qmp_addr_kind kind;	/* when QMP_OK */
	const char *a;		/* unix: path; tcp: host */
	const char *port;	/* tcp */
	uint32_t cid, vport;	/* vsock */
	const char *err;	/* when QMP_EUSAGE: the whole message */
};

static const struct addr_case addr_cases[] = {
	/* PATH: anything with a '/' or without a ':' */
	{ "/run/vm.sock", OK, UNIX, "/run/vm.sock", 0, 0, 0, 0 },
	{ "vm.sock", OK, UNIX, "vm.sock", 0, 0, 0, 0 },
	{ "./a:1", OK, UNIX, "./a:1", 0, 0, 0, 0 },
	{ "/tmp/x:y:80", OK, UNIX, "/tmp/x:y:80", 0, 0, 0, 0 },
	{ "dir/[::1]:80", OK, UNIX, "dir/[::1]:80", 0, 0, 0, 0 },
	{ path107, OK, UNIX, path107, 0, 0, 0, 0 },
	/* unix:PATH: the rest, whatever it holds */
	{ "unix:/run/vm.sock", OK, UNIX, "/run/vm.sock", 0, 0, 0, 0 },
	{ "unix:vm.sock", OK, UNIX, "vm.sock", 0, 0, 0, 0 },
	{ "unix:host:80", OK, UNIX, "host:80", 0, 0, 0, 0 },
	{ "unix:unix:x", OK, UNIX, "unix:x", 0, 0, 0, 0 },
	{ unix107, OK, UNIX, path107, 0, 0, 0, 0 },
	/* HOST:PORT and tcp:HOST:PORT */
	{ "localhost:4444", OK, TCP, "localhost", "4444", 0, 0, 0 },
	{ "127.0.0.1:1", OK, TCP, "127.0.0.1", "1", 0, 0, 0 },
	{ "h:65535", OK, TCP, "h", "65535", 0, 0, 0 },
	{ "h:0080", OK, TCP, "h", "80", 0, 0, 0 },
	{ "tcp:127.0.0.1:4444", OK, TCP, "127.0.0.1", "4444", 0, 0, 0 },
	{ "tcp:example.org:22", OK, TCP, "example.org", "22", 0, 0, 0 },
	{ "tcp:a/b:22", OK, TCP, "a/b", "22", 0, 0, 0 },
	{ host255, OK, TCP, NULL, "1", 0, 0, 0 },	/* host checked below */
	{ tcphost255, OK, TCP, NULL, "1", 0, 0, 0 },
	/* [IPV6]:PORT, with or without tcp: */
	{ "[::1]:4444", OK, TCP, "::1", "4444", 0, 0, 0 },
	{ "tcp:[::1]:4444", OK, TCP, "::1", "4444", 0, 0, 0 },
	{ "[fe80::1%eth0]:5", OK, TCP, "fe80::1%eth0", "5", 0, 0, 0 },
	{ "[2001:db8::7]:65535", OK, TCP, "2001:db8::7", "65535", 0, 0, 0 },
	{ "[127.0.0.1]:9", OK, TCP, "127.0.0.1", "9", 0, 0, 0 },
	/* vsock:CID:PORT, both 0 to 2^32-1 */
	{ "vsock:3:1234", OK, VSOCK, 0, 0, 3, 1234, 0 },
	/* fd:N, an inherited socket (the number in cid) */
	{ "fd:0", OK, QMP_ADDR_FD, 0, 0, 0, 0, 0 },
	{ "fd:5", OK, QMP_ADDR_FD, 0, 0, 5, 0, 0 },
	{ "fd:2147483647", OK, QMP_ADDR_FD, 0, 0, 2147483647u, 0, 0 },
	{ "fd:", EUSAGE, 0, 0, 0, 0, 0,
	    "fd:: expected fd:N, N a descriptor number" },
	{ "fd:x", EUSAGE, 0, 0, 0, 0, 0,
	    "fd:x: expected fd:N, N a descriptor number" },
	{ "fd:-1", EUSAGE, 0, 0, 0, 0, 0,
	    "fd:-1: expected fd:N, N a descriptor number" },
	{ "fd:2147483648", EUSAGE, 0, 0, 0, 0, 0,
	    "fd:2147483648: expected fd:N, N a descriptor number" },
	/* past 2^32 and 2^64: never wrapped into range, on any width */
	{ "fd:4294967299", EUSAGE, 0, 0, 0, 0, 0,
	    "fd:4294967299: expected fd:N, N a descriptor number" },
	{ "fd:18446744073709551619", EUSAGE, 0, 0, 0, 0, 0,
	    "fd:18446744073709551619: expected fd:N, N a descriptor number" },
	{ "fd:000000000003", OK, QMP_ADDR_FD, 0, 0, 3, 0, 0 },
	{ "h:4294967296", EUSAGE, 0, 0, 0, 0, 0,
	    "h:4294967296: bad port '4294967296' (expected 1-65535)" },
	{ "tcp:h:18446744073709551617", EUSAGE, 0, 0, 0, 0, 0,
	    "tcp:h:18446744073709551617: bad port '18446744073709551617' "
	    "(expected 1-65535)" },
	{ "vsock:4294967296:1", EUSAGE, 0, 0, 0, 0, 0,
	    "vsock:4294967296:1: expected vsock:CID:PORT" },
	{ "vsock:3:4294967297", EUSAGE, 0, 0, 0, 0, 0,
	    "vsock:3:4294967297: expected vsock:CID:PORT" },
	{ "vsock:18446744073709551619:1", EUSAGE, 0, 0, 0, 0, 0,
	    "vsock:18446744073709551619:1: expected vsock:CID:PORT" },
	{ "vsock:0:0", OK, VSOCK, 0, 0, 0, 0, 0 },
	{ "vsock:2:65536", OK, VSOCK, 0, 0, 2, 65536, 0 },
	{ "vsock:4294967295:4294967295", OK, VSOCK, 0, 0, 4294967295u,
	    4294967295u, 0 },
	/* bad: empty */
	{ NULL, EUSAGE, 0, 0, 0, 0, 0, "empty address" },
	{ "", EUSAGE, 0, 0, 0, 0, 0, "empty address" },
	{ "unix:", EUSAGE, 0, 0, 0, 0, 0, "unix:: empty socket path" },
	/* bad: ports */
	{ "h:0", EUSAGE, 0, 0, 0, 0, 0,
	    "h:0: bad port '0' (expected 1-65535)" },
	{ "h:65536", EUSAGE, 0, 0, 0, 0, 0,
	    "h:65536: bad port '65536' (expected 1-65535)" },
	{ "h:-1", EUSAGE, 0, 0, 0, 0, 0,
	    "h:-1: bad port '-1' (expected 1-65535)" },
	{ "h:+1", EUSAGE, 0, 0, 0, 0, 0,
	    "h:+1: bad port '+1' (expected 1-65535)" },
	{ "h:0x10", EUSAGE, 0, 0, 0, 0, 0,
	    "h:0x10: bad port '0x10' (expected 1-65535)" },
	{ "h: 80", EUSAGE, 0, 0, 0, 0, 0,
	    "h: 80: bad port ' 80' (expected 1-65535)" },
	{ "h:80 ", EUSAGE, 0, 0, 0, 0, 0,
	    "h:80 : bad port '80 ' (expected 1-65535)" },
	{ "h:1e3", EUSAGE, 0, 0, 0, 0, 0,
	    "h:1e3: bad port '1e3' (expected 1-65535)" },
	{ "h:4294967297", EUSAGE, 0, 0, 0, 0, 0,
	    "h:4294967297: bad port '4294967297' (expected 1-65535)" },
	{ "h:99999999999", EUSAGE, 0, 0, 0, 0, 0,
	    "h:99999999999: bad port '99999999999' (expected 1-65535)" },
	{ "h:http", EUSAGE, 0, 0, 0, 0, 0,
	    "h:http: bad port 'http' (expected 1-65535)" },
	{ "tcp:h:0", EUSAGE, 0, 0, 0, 0, 0,
	    "tcp:h:0: bad port '0' (expected 1-65535)" },
	{ "[::1]:0", EUSAGE, 0, 0, 0, 0, 0,
	    "[::1]:0: bad port '0' (expected 1-65535)" },
	/* bad: missing port, host or brackets */
	{ "h:", EUSAGE, 0, 0, 0, 0, 0, "h:: bad port '' (expected 1-65535)" },
	{ "tcp:h", EUSAGE, 0, 0, 0, 0, 0, "tcp:h: expected HOST:PORT" },
	{ "tcp:", EUSAGE, 0, 0, 0, 0, 0, "tcp:: expected HOST:PORT" },
	{ ":80", EUSAGE, 0, 0, 0, 0, 0, ":80: missing host" },
	{ "tcp::80", EUSAGE, 0, 0, 0, 0, 0, "tcp::80: missing host" },
	{ "[]:80", EUSAGE, 0, 0, 0, 0, 0, "[]:80: missing host" },
	{ "[::1]", EUSAGE, 0, 0, 0, 0, 0, "[::1]: expected [IPV6]:PORT" },
	{ "[::1]80", EUSAGE, 0, 0, 0, 0, 0, "[::1]80: expected [IPV6]:PORT" },
	{ "[::1:80", EUSAGE, 0, 0, 0, 0, 0, "[::1:80: expected [IPV6]:PORT" },
	{ "tcp:[::1]", EUSAGE, 0, 0, 0, 0, 0,
	    "tcp:[::1]: expected [IPV6]:PORT" },
	{ "::1:80", EUSAGE, 0, 0, 0, 0, 0,
	    "::1:80: an IPv6 address needs brackets: [ADDR]:PORT" },
	{ "tcp:::1:80", EUSAGE, 0, 0, 0, 0, 0,
	    "tcp:::1:80: an IPv6 address needs brackets: [ADDR]:PORT" },
	/* bad: too long */
	{ path108, EUSAGE, 0, 0, 0, 0, 0, NULL },	/* message below */
	{ unix108, EUSAGE, 0, 0, 0, 0, 0, NULL },
	{ host256, EUSAGE, 0, 0, 0, 0, 0, NULL },
	/* bad: vsock */
	{ "vsock:", EUSAGE, 0, 0, 0, 0, 0, "vsock:: expected vsock:CID:PORT" },
	{ "vsock:3", EUSAGE, 0, 0, 0, 0, 0,
	    "vsock:3: expected vsock:CID:PORT" },
	{ "vsock:3:", EUSAGE, 0, 0, 0, 0, 0,
	    "vsock:3:: expected vsock:CID:PORT" },
	{ "vsock::1", EUSAGE, 0, 0, 0, 0, 0,
	    "vsock::1: expected vsock:CID:PORT" },
	{ "vsock:-1:2", EUSAGE, 0, 0, 0, 0, 0,
	    "vsock:-1:2: expected vsock:CID:PORT" },
	{ "vsock:3:x", EUSAGE, 0, 0, 0, 0, 0,
	    "vsock:3:x: expected vsock:CID:PORT" },
	{ "vsock:3:1:2", EUSAGE, 0, 0, 0, 0, 0,
	    "vsock:3:1:2: expected vsock:CID:PORT" },
	{ "vsock:4294967296:1", EUSAGE, 0, 0, 0, 0, 0,
	    "vsock:4294967296:1: expected vsock:CID:PORT" },
	{ "vsock:1:4294967296", EUSAGE, 0, 0, 0, 0, 0,
	    "vsock:1:4294967296: expected vsock:CID:PORT" },
	{ "vsock:0x3:1", EUSAGE, 0, 0, 0, 0, 0,
	    "vsock:0x3:1: expected vsock:CID:PORT" },
};

static void
make_long_inputs(void)
{
	memset(path107, 'p', 107);
	path107[0] = '/';
	memset(path108, 'p', 108);
	path108[0] = '/';
	snprintf(unix107, sizeof(unix107), "unix:%s", path107);
	snprintf(unix108, sizeof(unix108), "unix:%s", path108);
	memset(host255, 'h', 255);
	strcpy(host255 + 255, ":1");
	memset(host256, 'h', 256);
	strcpy(host256 + 256, ":1");
	snprintf(tcphost255, sizeof(tcphost255), "tcp:%s", host255);
}

/* The expected message of the rows whose input is built at run time. */
static const char *
long_error(const char *in, char *buf, size_t size)
{
	if (in == path108 || in == unix108)
		snprintf(buf, size, "%s: socket path too long (108 bytes, at "
		    "most 107)", in);
	else if (in == host256)
		snprintf(buf, size, "%s: host name too long", in);
	else
		return NULL;
	return buf;
}

static void
check_str(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		bad("%s is \"%s\", expected \"%s\"", what,
		    show(got, strlen(got)), show(want, strlen(want)));
}

static void
run_addr_case(const struct addr_case *c)
{
	struct qmp_addr a;
	char err[600], want_err[600];
	const char *want;
	enum qmp_status st;

	memset(&a, 0x5a, sizeof(a));
	memset(err, 'x', sizeof(err));
	st = qmp_parse_address(c->in, &a, err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL) {
		bad("err is not NUL-terminated");
		return;
	}
	if (st != c->st) {
		bad("status %d (%s), expected %d; err \"%s\"", st,
		    qmp_strerror(st), c->st, err);
		return;
	}
	if (a.text != c->in)
		bad("a->text does not borrow the input");
	if (st != QMP_OK) {
		want = c->err ? c->err : long_error(c->in, want_err,
		    sizeof(want_err));
		if (err[0] == '\0')
			bad("no error message");
		else if (want != NULL)
			check_str("error message", err, want);
		return;
	}
	if (err[0] != '\0')
		bad("error message \"%s\" on success", err);
	if (a.kind != c->kind) {
		bad("kind %d, expected %d", a.kind, c->kind);
		return;
	}
	switch (a.kind) {
	case QMP_ADDR_UNIX:
		check_str("path", a.path, c->a);
		break;
	case QMP_ADDR_TCP:
		if (c->a != NULL)
			check_str("host", a.host, c->a);
		else if (strlen(a.host) != 255 ||
		    strspn(a.host, "h") != 255)
			bad("host is not the 255 bytes given");
		check_str("port", a.port, c->port);
		break;
	case QMP_ADDR_FD:
		if (a.fd != (int)c->cid)
			bad("fd %d, expected %lu", a.fd, (unsigned long)c->cid);
		break;
	case QMP_ADDR_VSOCK:
		if (a.cid != c->cid || a.vport != c->vport)
			bad("cid:port %lu:%lu, expected %lu:%lu",
			    (unsigned long)a.cid, (unsigned long)a.vport,
			    (unsigned long)c->cid, (unsigned long)c->vport);
		break;
	}
}

/* Small or no room for the message: it is cut, never overrun. */
struct errlen_case {
	const char *in;
	size_t errlen;
};

static const struct errlen_case errlen_cases[] = {
	{ "h:0", 0 }, { "h:0", 1 }, { "h:0", 2 }, { "h:0", 8 },
	{ "", 0 }, { "", 1 }, { "", 5 }, { "vsock:x", 3 }, { "[::1]", 4 },
};

static void
run_errlen_case(const struct errlen_case *c)
{
	struct qmp_addr a;
	char full[256], err[64];
	enum qmp_status st;
	size_t i;

	qmp_parse_address(c->in, &a, full, sizeof(full));
	memset(err, '#', sizeof(err));
	st = qmp_parse_address(c->in, &a, err, c->errlen);
	if (st != QMP_EUSAGE)
		bad("status %d, expected QMP_EUSAGE", st);
	for (i = c->errlen; i < sizeof(err); i++)
		if (err[i] != '#') {
			bad("byte %zu written with errlen %zu", i, c->errlen);
			return;
		}
	if (c->errlen == 0)
		return;
	if (memchr(err, '\0', c->errlen) == NULL) {
		bad("not NUL-terminated within errlen %zu", c->errlen);
		return;
	}
	if (strncmp(err, full, c->errlen - 1) != 0 ||
	    strlen(err) != (strlen(full) < c->errlen - 1 ? strlen(full) :
	    c->errlen - 1))
		bad("\"%s\" is not \"%s\" cut to %zu bytes", err, full,
		    c->errlen - 1);
}

/* ---- The framer: messages out of bytes -------------------------------- */

#define MAXMSG	8
#define BIG	((size_t)1 << 20)

struct frame_case {
	const char *name;
	const char *in;
	size_t len;		/* 0: strlen(in) */
	size_t max;		/* 0: BIG */
	const char *msgs[MAXMSG];	/* the messages handed out, in order */
	enum qmp_frame end;	/* MORE when all input was taken */
	int bad;		/* for ERROR: the offending byte */
	size_t pending;		/* for MORE: bytes held at the end */
	size_t msg0len;		/* 0: strlen(msgs[0]) (set when it holds NUL) */
};

#define MORE	QMP_FRAME_MORE
#define ERROR	QMP_FRAME_ERROR
#define TOOBIG	QMP_FRAME_TOOBIG

static const struct frame_case frame_cases[] = {
	{ "empty object", "{}", 0, 0, { "{}" }, MORE, 0, 0, 0 },
	{ "one member", "{\"a\":1}", 0, 0, { "{\"a\":1}" }, MORE, 0, 0, 0 },
	{ "nothing", "", 0, 0, { 0 }, MORE, 0, 0, 0 },
	{ "whitespace only", " \t\r\n \n", 0, 0, { 0 }, MORE, 0, 0, 0 },
	{ "greeting", "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, "
	    "\"minor\": 2, \"major\": 7}, \"package\": \"\"}, "
	    "\"capabilities\": [\"oob\"]}}\r\n", 0, 0,
	    { "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, "
	    "\"minor\": 2, \"major\": 7}, \"package\": \"\"}, "
	    "\"capabilities\": [\"oob\"]}}" }, MORE, 0, 0, 0 },
	{ "three in one chunk", "{\"a\":1}{\"b\":2}{\"c\":3}", 0, 0,
	    { "{\"a\":1}", "{\"b\":2}", "{\"c\":3}" }, MORE, 0, 0, 0 },
	{ "whitespace between", " \t\r\n{\"a\":1}\r\n \t{\"b\":[1, 2]}\n\n",
	    0, 0, { "{\"a\":1}", "{\"b\":[1, 2]}" }, MORE, 0, 0, 0 },
	{ "event then reply", "{\"timestamp\": {\"seconds\": 1, "
	    "\"microseconds\": 2}, \"event\": \"STOP\"}\r\n"
	    "{\"return\": {}, \"id\": 7}\r\n", 0, 0,
	    { "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
	    "\"event\": \"STOP\"}", "{\"return\": {}, \"id\": 7}" },
	    MORE, 0, 0, 0 },
	{ "pretty", "{\n    \"return\": {\n        \"status\": \"running\",\n"
	    "        \"running\": true\n    }\n}\n", 0, 0,
	    { "{\n    \"return\": {\n        \"status\": \"running\",\n"
	    "        \"running\": true\n    }\n}" }, MORE, 0, 0, 0 },
	{ "braces in strings", "{\"s\":\"}{][\"}{\"t\":\"{{{\"}", 0, 0,
	    { "{\"s\":\"}{][\"}", "{\"t\":\"{{{\"}" }, MORE, 0, 0, 0 },
	{ "brace in a key", "{\"}\":\"{\"}", 0, 0, { "{\"}\":\"{\"}" },
	    MORE, 0, 0, 0 },
	{ "escaped quotes", "{\"s\":\"a\\\"}b\\\"\"}", 0, 0,
	    { "{\"s\":\"a\\\"}b\\\"\"}" }, MORE, 0, 0, 0 },
	{ "escaped backslash before quote", "{\"s\":\"\\\\\"}{}", 0, 0,
	    { "{\"s\":\"\\\\\"}", "{}" }, MORE, 0, 0, 0 },
	{ "escaped backslash then escaped quote",
	    "{\"s\":\"\\\\\\\"}\"}", 0, 0, { "{\"s\":\"\\\\\\\"}\"}" },
	    MORE, 0, 0, 0 },
	{ "other escapes", "{\"s\":\"\\n\\t\\u007d\\/\"}", 0, 0,
	    { "{\"s\":\"\\n\\t\\u007d\\/\"}" }, MORE, 0, 0, 0 },
	{ "non-ASCII in strings", "{\"s\":\"\xc3\xa9}\xe2\x82\xac\"}", 0, 0,
	    { "{\"s\":\"\xc3\xa9}\xe2\x82\xac\"}" }, MORE, 0, 0, 0 },
	{ "NUL and controls in a string", "{\"s\":\"\0\x01}\"}", 11, 0,
	    { "{\"s\":\"\0\x01}\"}" }, MORE, 0, 0, 11 },
	{ "nesting", "{\"a\":{\"b\":[{\"c\":[]},[[{}]]]}}", 0, 0,
	    { "{\"a\":{\"b\":[{\"c\":[]},[[{}]]]}}" }, MORE, 0, 0, 0 },
	{ "deep nesting", "{\"a\":[[[[[[[[[[[[[[[[{}]]]]]]]]]]]]]]]]}", 0, 0,
	    { "{\"a\":[[[[[[[[[[[[[[[[{}]]]]]]]]]]]]]]]]}" }, MORE, 0, 0, 0 },
	{ "partial message", "{\"a\":{\"b\":", 0, 0, { 0 }, MORE, 0, 10, 0 },
	{ "message then partial", "{}\n{\"a\":\"}", 0, 0, { "{}" }, MORE, 0,
	    7, 0 },
	{ "partial in an escape", "{\"a\":\"\\", 0, 0, { 0 }, MORE, 0, 7, 0 },
	/* garbage at top level */
	{ "letter", "x", 0, 0, { 0 }, ERROR, 'x', 0, 0 },
	{ "array", "[1]", 0, 0, { 0 }, ERROR, '[', 0, 0 },
	{ "string", "\"a\"", 0, 0, { 0 }, ERROR, '"', 0, 0 },
	{ "number", "12", 0, 0, { 0 }, ERROR, '1', 0, 0 },
	{ "closing brace", "}", 0, 0, { 0 }, ERROR, '}', 0, 0 },
	{ "garbage after a message", "{\"a\":1}\r\nok\n", 0, 0,
	    { "{\"a\":1}" }, ERROR, 'o', 0, 0 },
	{ "comma between messages", "{},{}", 0, 0, { "{}" }, ERROR, ',', 0,
	    0 },
	{ "NUL between messages", "{}\0{}", 5, 0, { "{}" }, ERROR, 0, 0, 0 },
	{ "0xFF at top level", "\xff{}", 0, 0, { 0 }, ERROR, 0xff, 0, 0 },
	{ "vertical tab is not blank", "\v{}", 0, 0, { 0 }, ERROR, '\v', 0, 0 },
	/* the size limit */
	{ "exactly the limit", "{\"a\":\"0123456789\"}", 0, 18,
	    { "{\"a\":\"0123456789\"}" }, MORE, 0, 0, 0 },
	{ "one over the limit", "{\"a\":\"0123456789\"}", 0, 17, { 0 },
	    TOOBIG, 0, 0, 0 },
	{ "far over the limit", "{\"a\":\"0123456789012345678901234567\"}",
	    0, 8, { 0 }, TOOBIG, 0, 0, 0 },
	{ "small then over", "{}{\"aaaaaaaaaa\":1}", 0, 8, { "{}" }, TOOBIG,
	    0, 0, 0 },
	{ "blanks do not count", "{\"a\":1}\n\n\n\n\n\n\n\n\n{\"b\":2}", 0, 7,
	    { "{\"a\":1}", "{\"b\":2}" }, MORE, 0, 0, 0 },
	{ "unfinished over the limit", "{\"a\":\"01234567", 0, 8, { 0 },
	    TOOBIG, 0, 0, 0 },
	{ "unfinished at the limit", "{\"a\":\"01", 0, 8, { 0 }, MORE, 0,
	    8, 0 },
};

struct frame_run {
	char msgs[MAXMSG][256];
	size_t lens[MAXMSG];
	size_t n;
	enum qmp_frame end;
	int bad;
	size_t pending;
	int broken;		/* an API rule was broken (reported) */
};

/*
 * Frames in[0..len) into r: chunks of chunk bytes (0: as large as the
 * framer offers), or, when split is nonzero, two chunks cut at split.
 */
static void
frame_run(const char *in, size_t len, size_t max, size_t chunk,
    size_t split, struct frame_run *r)
{
	struct qmp_framer *f;
	size_t fed = 0, room, k, mlen;
	const char *msg;
	enum qmp_frame fr;
	char *p;

	memset(r, 0, sizeof(*r));
	if ((f = qmp_framer_new(max)) == NULL)
		abort();
	for (;;) {
		while ((fr = qmp_framer_next(f, &msg, &mlen)) ==
		    QMP_FRAME_MSG) {
			if (r->n == MAXMSG || mlen >= sizeof(r->msgs[0])) {
				bad("too many or too long messages");
				r->broken = 1;
				goto out;
			}
			if (mlen > max) {
				bad("message of %zu bytes over the limit %zu",
				    mlen, max);
				r->broken = 1;
			}
			memcpy(r->msgs[r->n], msg, mlen);
			r->lens[r->n++] = mlen;
		}
		if (fr != QMP_FRAME_MORE) {
			r->end = fr;
			unsigned char b;

			(void)qmp_framer_error(f, &b);
			r->bad = b;
			goto out;
		}
		if (fed == len)
			break;
		p = qmp_framer_space(f, &room);
		if (p == NULL) {
			/* Only when the message in progress fills the limit. */
			bad("qmp_framer_space gave no room after MORE "
			    "(%zu of %zu bytes fed)", fed, len);
			r->broken = 1;
			goto out;
		}
		if (room == 0) {
			bad("qmp_framer_space gave 0 bytes");
			r->broken = 1;
			goto out;
		}
		k = len - fed;
		if (split != 0)
			k = fed < split ? split - fed : len - fed;
		else if (chunk != 0 && k > chunk)
			k = chunk;
		if (k > room)
			k = room;
		memcpy(p, in + fed, k);
		qmp_framer_commit(f, k);
		fed += k;
	}
	r->end = QMP_FRAME_MORE;
	r->pending = qmp_framer_pending(f);
out:
	qmp_framer_free(f);
}

static const char *
frame_name(enum qmp_frame fr)
{
	switch (fr) {
	case QMP_FRAME_MORE:	return "MORE";
	case QMP_FRAME_MSG:	return "MSG";
	case QMP_FRAME_ERROR:	return "ERROR";
	case QMP_FRAME_TOOBIG:	return "TOOBIG";
	}
	return "?";
}

/* Returns 1 when run r is what case c expects; reports how it is not. */
static int
frame_check(const struct frame_case *c, const struct frame_run *r,
    const char *how)
{
	size_t i, want = 0;

	if (r->broken)
		return 0;
	while (want < MAXMSG && c->msgs[want] != NULL)
		want++;
	for (i = 0; i < r->n && i < want; i++) {
		size_t wl = i == 0 && c->msg0len ? c->msg0len :
		    strlen(c->msgs[i]);

		if (r->lens[i] != wl || memcmp(r->msgs[i], c->msgs[i], wl)) {
			bad("%s: message %zu is \"%s\", expected \"%s\"", how,
			    i, show(r->msgs[i], r->lens[i]),
			    show(c->msgs[i], wl));
			return 0;
		}
	}
	if (r->n != want) {
		bad("%s: %zu messages, expected %zu", how, r->n, want);
		return 0;
	}
	if (r->end != c->end) {
		bad("%s: ended with %s, expected %s", how, frame_name(r->end),
		    frame_name(c->end));
		return 0;
	}
	if (c->end == QMP_FRAME_ERROR && r->bad != c->bad) {
		bad("%s: bad byte 0x%02x, expected 0x%02x", how, r->bad,
		    c->bad);
		return 0;
	}
	if (c->end == QMP_FRAME_MORE && r->pending != c->pending) {
		bad("%s: %zu bytes pending, expected %zu", how, r->pending,
		    c->pending);
		return 0;
	}
	return 1;
}

static void
run_frame_case(const struct frame_case *c)
{
	size_t len = c->len ? c->len : strlen(c->in);
	size_t max = c->max ? c->max : BIG;
	struct frame_run r;
	char how[64];
	size_t k;

	frame_run(c->in, len, max, 0, 0, &r);
	if (!frame_check(c, &r, "in one chunk"))
		return;
	frame_run(c->in, len, max, 1, 0, &r);
	if (!frame_check(c, &r, "byte by byte"))
		return;
	for (k = 1; k < len; k++) {
		snprintf(how, sizeof(how), "split at byte %zu", k);
		frame_run(c->in, len, max, 0, k, &r);
		if (!frame_check(c, &r, how))
			return;
	}
	for (k = 2; k < 8 && k < len; k++) {
		snprintf(how, sizeof(how), "in chunks of %zu", k);
		frame_run(c->in, len, max, k, 0, &r);
		if (!frame_check(c, &r, how))
			return;
	}
}

/* Appends the n bytes at s to f's buffer. */
static void
feed(struct qmp_framer *f, const char *s, size_t n)
{
	size_t room;
	char *p = qmp_framer_space(f, &room);

	if (p == NULL || room < n) {
		bad("no room for %zu bytes", n);
		return;
	}
	memcpy(p, s, n);
	qmp_framer_commit(f, n);
}

/*
 * The agent's framer after a resync (a reset, then skip to the 0xFF, as
 * qmp_core's send_sync does) that follows a partial stale message held
 * in a string, just after a backslash, two levels deep: the next message
 * after the 0xFF is framed from a clean state.
 */
static void
run_agent_resync(void)
{
	static const char stale[] = "junk\xff{\"return\":{\"s\":\"a\\";
	static const char fresh[] = "\"}}x\xff{\"\":7}\n\xff {\"return\":8}";
	struct qmp_framer *f;
	const char *msg;
	size_t mlen;
	enum qmp_frame fr;

	row_begin("framer", "agent: resync after a partial stale message");
	f = qmp_framer_new(64);
	if (f == NULL)
		abort();
	qmp_framer_skip_to_ff(f);
	qmp_framer_ff_blank(f, 1);
	feed(f, stale, sizeof(stale) - 1);
	if ((fr = qmp_framer_next(f, &msg, &mlen)) != QMP_FRAME_MORE)
		bad("partial stale message: %s", frame_name(fr));
	qmp_framer_reset(f);
	qmp_framer_skip_to_ff(f);
	qmp_framer_ff_blank(f, 1);
	feed(f, fresh, sizeof(fresh) - 1);
	fr = qmp_framer_next(f, &msg, &mlen);
	if (fr != QMP_FRAME_MSG || mlen != 6 || memcmp(msg, "{\"\":7}", 6))
		bad("first after the resync: %s \"%s\"", frame_name(fr),
		    fr == QMP_FRAME_MSG ? show(msg, mlen) : "");
	fr = qmp_framer_next(f, &msg, &mlen);
	if (fr != QMP_FRAME_MSG || mlen != 12 ||
	    memcmp(msg, "{\"return\":8}", 12))
		bad("second after the resync: %s \"%s\"", frame_name(fr),
		    fr == QMP_FRAME_MSG ? show(msg, mlen) : "");
	if ((fr = qmp_framer_next(f, &msg, &mlen)) != QMP_FRAME_MORE)
		bad("after both: %s", frame_name(fr));
	qmp_framer_free(f);
	row_end();
}

/*
 * The framer reused after reset, and a long stream of messages through a
 * small limit (the buffer moves the message in progress to the front).
 */
static void
run_framer_reuse(void)
{
	struct qmp_framer *f;
	const char *msg;
	size_t room, mlen, i, got = 0;
	char *p;
	enum qmp_frame fr;
	static const char one[] = "{\"event\":\"X\",\"n\":[1,2,3]}\n";

	row_begin("framer", "reset forgets a partial message");
	if ((f = qmp_framer_new(64)) == NULL)
		abort();
	p = qmp_framer_space(f, &room);
	memcpy(p, "{\"a\":\"}", 7);
	qmp_framer_commit(f, 7);
	if (qmp_framer_next(f, &msg, &mlen) != QMP_FRAME_MORE)
		bad("partial message is not MORE");
	qmp_framer_reset(f);
	if (qmp_framer_pending(f) != 0)
		bad("bytes pending after reset");
	p = qmp_framer_space(f, &room);
	memcpy(p, "{\"b\":2}", 7);
	qmp_framer_commit(f, 7);
	fr = qmp_framer_next(f, &msg, &mlen);
	if (fr != QMP_FRAME_MSG || mlen != 7 || memcmp(msg, "{\"b\":2}", 7))
		bad("after reset: %s \"%s\"", frame_name(fr),
		    fr == QMP_FRAME_MSG ? show(msg, mlen) : "");
	qmp_framer_free(f);
	row_end();
	run_agent_resync();

	row_begin("framer", "100000 messages through a 64-byte limit");
	if ((f = qmp_framer_new(64)) == NULL)
		abort();
	for (i = 0; i < 100000; i++) {
		size_t off = 0;

		while (off < sizeof(one) - 1) {
			size_t k = sizeof(one) - 1 - off;

			if ((p = qmp_framer_space(f, &room)) == NULL) {
				bad("no room at message %zu", i);
				goto out;
			}
			if (k > room)
				k = room;
			if (k > 7)
				k = 7;	/* chunks that do not line up */
			memcpy(p, one + off, k);
			qmp_framer_commit(f, k);
			off += k;
			while ((fr = qmp_framer_next(f, &msg, &mlen)) ==
			    QMP_FRAME_MSG) {
				if (mlen != sizeof(one) - 2 ||
				    memcmp(msg, one, mlen) != 0) {
					bad("message %zu is \"%s\"", got,
					    show(msg, mlen));
					goto out;
				}
				got++;
			}
			if (fr != QMP_FRAME_MORE) {
				bad("%s at message %zu", frame_name(fr), got);
				goto out;
			}
		}
	}
	if (got != 100000)
		bad("%zu messages, expected 100000", got);
out:
	qmp_framer_free(f);
	row_end();
}

/* ---- The framer: parsing, long strings included ------------------------ */

/*
 * A message built as head, then times copies (at least one) of unit
 * repeated rep times with mid between the copies, then tail.  With vary,
 * the bytes of each copy are letters that differ from copy to copy (so
 * that long strings put back in the wrong place show).
 * qmp_framer_parse (qmp_json's reader) must give what json_loadb(msg,
 * len, JSON_ALLOW_NUL) gives: the same value (numbers by exact value), or
 * a failure, with a message of its own.
 */
struct parse_case {
	const char *name;
	const char *head;
	const char *unit;
	size_t rep;
	const char *tail;
	int ok;			/* json_loadb accepts it */
	size_t strlen_want;	/* ok: length of .return when a string (or 0) */
	const char *mid;
	size_t times;
	int vary;
};

static const struct parse_case parse_cases[] = {
	/* short messages: no long string, json_loadb itself */
	{ "short", "{\"return\":\"", "a", 10, "\"}", 1, 10, 0, 0, 0 },
	{ "short invalid", "{\"return\":tru", "", 0, "}", 0, 0, 0, 0, 0 },
	/* long plain strings, around the threshold */
	{ "plain 4095", "{\"return\":\"", "a", 4095, "\"}", 1, 4095, 0, 0,
	    0 },
	{ "plain 4096", "{\"return\":\"", "a", 4096, "\"}", 1, 4096, 0, 0,
	    0 },
	{ "plain 4097", "{\"return\":\"", "b", 4097, "\"}", 1, 4097, 0, 0,
	    0 },
	{ "plain 1 MiB", "{\"return\":\"", "0123456789abcdef", 65536, "\"}",
	    1, 1 << 20, 0, 0, 0 },
	{ "plain all printable ASCII", "{\"return\":\"",
	    " !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`"
	    "abcdefghijklmnopqrstuvwxyz{|}~\x7f", 100, "\"}", 1, 9400, 0, 0,
	    0 },
	{ "plain base64-like", "{\"return\":{\"count\":4096,\"buf-b64\":\"",
	    "QUJD", 2048, "\",\"eof\":true},\"id\":3}", 1, 0, 0, 0, 0 },
	{ "two long strings", "{\"return\":[\"", "x", 5000, "\"}]}", 1, 0,
	    "\",{\"k\":\"", 2, 1 },
	{ "sixteen long strings", "{\"return\":[\"", "y", 4096, "\"]}", 1,
	    0, "\",\"", 16, 1 },
	{ "twenty long strings", "{\"return\":[\"", "y", 4096,
	    "\",\"1\",\"2\"]}", 1, 0, "\",\"", 20, 1 },
	{ "long strings nested", "{\"return\":{\"a\":[[\"", "y", 4200,
	    "\"]]]]}}", 1, 0, "\",[\"", 3, 1 },
	{ "long string as a key", "{\"return\":{\"", "k", 4096, "\":1}}", 1,
	    0, 0, 0, 0 },
	{ "long key and long value", "{\"return\":{\"", "k", 4096, "\"}}",
	    1, 0, "\":\"", 2, 1 },
	{ "long string, short escaped one", "{\"return\":\"", "a", 5000,
	    "\",\"b\":\"\\n\\u00e9\\\"\"}", 1, 5000, 0, 0, 0 },
	{ "long string after an escaped one",
	    "{\"a\":\"\\u0041\\\\\",\"return\":\"", "z", 4500, "\"}", 1,
	    4500, 0, 0, 0 },
	{ "tag look-alike", "{\"t\":\"\\u0001qmpctl-00000000-0\","
	    "\"return\":\"", "a", 4096, "\"}", 1, 4096, 0, 0, 0 },
	/* long strings with escapes or non-ASCII: decoded as jansson does */
	{ "long with \\n", "{\"return\":\"", "abc\\n", 1500, "\"}", 1,
	    6000, 0, 0, 0 },
	{ "long with \\u00e9", "{\"return\":\"", "x\\u00e9", 1500, "\"}",
	    1, 4500, 0, 0, 0 },
	{ "long with one \\n at the end", "{\"return\":\"", "a", 8000,
	    "\\n\"}", 1, 8001, 0, 0, 0 },
	{ "long with one \\u00e9 at the start", "{\"return\":\"\\u00e9",
	    "a", 8000, "\"}", 1, 8002, 0, 0, 0 },
	{ "long with \\\" and \\\\", "{\"return\":\"", "\\\"\\\\", 2048,
	    "\"}", 1, 4096, 0, 0, 0 },
	{ "long with \\u0000", "{\"return\":\"", "ab\\u0000", 2000, "\"}",
	    1, 6000, 0, 0, 0 },
	{ "long with a surrogate pair", "{\"return\":\"",
	    "\\ud83d\\ude00", 1100, "\"}", 1, 4400, 0, 0, 0 },
	{ "long with raw UTF-8", "{\"return\":\"",
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 1000, "\"}", 1, 9000,
	    0, 0, 0 },
	/* long strings jansson rejects: so must the framer's parse */
	{ "long, invalid byte 0xff", "{\"return\":\"", "a", 5000,
	    "\xff\"}", 0, 0, 0, 0, 0 },
	{ "long, lone continuation byte", "{\"return\":\"\x80", "a", 5000,
	    "\"}", 0, 0, 0, 0, 0 },
	{ "long, overlong encoding", "{\"return\":\"", "a", 5000,
	    "\xc0\xaf\"}", 0, 0, 0, 0, 0 },
	{ "long, UTF-8 surrogate", "{\"return\":\"", "a", 5000,
	    "\xed\xa0\x80\"}", 0, 0, 0, 0, 0 },
	{ "long, cut sequence", "{\"return\":\"", "a", 5000, "\xe2\x82\"}",
	    0, 0, 0, 0, 0 },
	{ "long, above U+10FFFF", "{\"return\":\"", "a", 5000,
	    "\xf4\x90\x80\x80\"}", 0, 0, 0, 0, 0 },
	{ "long, many invalid bytes", "{\"return\":\"", "a\xfe", 3000, "\"}",
	    0, 0, 0, 0, 0 },
	{ "long, raw control byte", "{\"return\":\"", "a", 5000, "\x01\"}",
	    0, 0, 0, 0, 0 },
	{ "long, raw newline", "{\"return\":\"", "a", 5000, "\n\"}", 0, 0,
	    0, 0, 0 },
	{ "long, lone surrogate escape", "{\"return\":\"", "a", 5000,
	    "\\ud800\"}", 0, 0, 0, 0, 0 },
	{ "long, bad escape", "{\"return\":\"", "a", 5000, "\\x41\"}", 0,
	    0, 0, 0, 0 },
	{ "long, short \\u", "{\"return\":\"", "a", 5000, "\\u12\"}", 0,
	    0, 0, 0, 0 },
	/* a long plain string, and an error elsewhere */
	{ "long, then invalid literal", "{\"return\":\"", "a", 5000,
	    "\",\"b\":tru}", 0, 0, 0, 0, 0 },
	{ "long, then invalid UTF-8 elsewhere", "{\"return\":\"", "a",
	    5000, "\",\"b\":\"\xff\"}", 0, 0, 0, 0, 0 },
	{ "long, then mismatched bracket", "{\"return\":[\"", "a", 5000,
	    "\"}}", 0, 0, 0, 0, 0 },
	{ "long, then a second long one invalid", "{\"return\":[\"", "a",
	    5000, "\xff\"]}", 0, 0, "\",\"", 2, 0 },
	{ "invalid before a long string", "{\"b\":\"\xc3\",\"return\":\"",
	    "a", 5000, "\"}", 0, 0, 0, 0, 0 },
};

/* Returns the message row c describes (malloc'ed), its length in *len. */
static char *
build_message(const struct parse_case *c, size_t *len)
{
	size_t ul = strlen(c->unit), hl = strlen(c->head);
	size_t tl = strlen(c->tail), ml = c->mid ? strlen(c->mid) : 0;
	size_t times = c->times ? c->times : 1, total, i, j, x;
	char *b, *p;

	total = hl + times * ul * c->rep + (times - 1) * ml + tl;
	if ((b = malloc(total + 1)) == NULL)
		return NULL;
	p = b;
	memcpy(p, c->head, hl);
	p += hl;
	for (j = 0; j < times; j++) {
		if (j > 0) {
			memcpy(p, c->mid, ml);
			p += ml;
		}
		for (i = 0; i < c->rep; i++)
			for (x = 0; x < ul; x++, p++)
				*p = c->vary ? (char)('a' + (j * 7 + i) % 26) :
				    c->unit[x];
	}
	memcpy(p, c->tail, tl);
	p += tl;
	*p = '\0';
	*len = total;
	return b;
}

/*
 * Frames buf[0..len) in chunks of chunk bytes (0: as offered) and parses
 * the one message; compares with json_loadb.
 */
static void
parse_via_framer(const struct parse_case *c, const char *buf, size_t len,
    size_t chunk, const char *how)
{
	struct qmp_framer *f;
	size_t fed = 0, room, k, mlen = 0;
	const char *msg = NULL;
	enum qmp_frame fr = QMP_FRAME_MORE;
	json_error_t e1, e2;
	json_t *v1 = NULL, *v2 = NULL;
	char *p;

	if ((f = qmp_framer_new(QMP_DEFAULT_MAX_SIZE)) == NULL)
		abort();
	while (fed < len) {
		if ((p = qmp_framer_space(f, &room)) == NULL) {
			bad("%s: no room", how);
			goto out;
		}
		k = len - fed;
		if (chunk != 0 && k > chunk)
			k = chunk;
		if (k > room)
			k = room;
		memcpy(p, buf + fed, k);
		qmp_framer_commit(f, k);
		fed += k;
		fr = qmp_framer_next(f, &msg, &mlen);
		if (fr != QMP_FRAME_MORE)
			break;
	}
	if (fr != QMP_FRAME_MSG || fed != len || mlen != len || msg == NULL) {
		bad("%s: framed as %s after %zu of %zu bytes", how,
		    frame_name(fr), fed, len);
		goto out;
	}
	v1 = qmp_framer_parse(msg, mlen, &e1);
	v2 = json_loadb(buf, len, JSON_ALLOW_NUL, &e2);
	if ((v1 != NULL) != (v2 != NULL)) {
		bad("%s: qmp_framer_parse %s (%s) where json_loadb %s (%s)",
		    how, v1 ? "accepts" : "rejects", v1 ? "" : e1.text,
		    v2 ? "accepts" : "rejects", v2 ? "" : e2.text);
		goto out;
	}
	if ((v2 != NULL) != c->ok) {
		bad("%s: json_loadb %s it (%s): the row is wrong", how,
		    v2 ? "accepts" : "rejects", v2 ? "" : e2.text);
		goto out;
	}
	if (v1 == NULL) {
		if (e1.text[0] == '\0')
			bad("%s: rejected without a message", how);
		goto out;
	}
	if (!qmp_json_equal(v1, v2)) {
		bad("%s: qmp_framer_parse and json_loadb differ", how);
		goto out;
	}
	if (c->strlen_want != 0) {
		json_t *r = json_object_get(v1, "return");

		if (!json_is_string(r) ||
		    json_string_length(r) != c->strlen_want)
			bad("%s: .return is not a string of %zu bytes", how,
			    c->strlen_want);
	}
out:
	json_decref(v1);
	json_decref(v2);
	qmp_framer_free(f);
}

static void
run_parse_case(const struct parse_case *c)
{
	static const size_t chunks[] = { 0, 1, 7, 4095, 4096, 4097 };
	size_t len, i;
	char how[32], *buf;

	if ((buf = build_message(c, &len)) == NULL) {
		bad("out of memory");
		return;
	}
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		/* Byte by byte through 1 MiB is slow under ASan: skip it. */
		if (chunks[i] == 1 && len > 100000)
			continue;
		snprintf(how, sizeof(how), "chunks of %zu", chunks[i]);
		parse_via_framer(c, buf, len, chunks[i], how);
		if (row_failed)
			break;
	}
	free(buf);
}

/* ---- main ------------------------------------------------------------ */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Calls made out of order are QMP_EMISUSE, never QMP_EUSAGE (which a
 * program reports as the user's mistake), and touch no descriptor.
 */
static void
run_misuse_cases(void)
{
	struct qmp *q;
	struct qmp_addr a;
	json_t *reply = NULL, *cmd;
	enum qmp_status st;
	int got = 0;

	row_begin("session", "calls before a connection are QMP_EMISUSE");
	if ((q = qmp_new()) == NULL || (cmd = json_object()) == NULL)
		abort();
	if ((st = qmp_execute(q, cmd, NULL, 0, &reply)) != QMP_EMISUSE ||
	    reply != NULL)
		bad("qmp_execute before a handshake: status %d", (int)st);
	if ((st = qmp_handshake(q, 0)) != QMP_EMISUSE)
		bad("qmp_handshake unconnected: status %d", (int)st);
	if ((st = qmp_sync_agent(q, 0)) != QMP_EMISUSE)
		bad("qmp_sync_agent unconnected: status %d", (int)st);
	if ((st = qmp_pump_until(q, 1, &got)) != QMP_EMISUSE)
		bad("qmp_pump_until unconnected: status %d", (int)st);
	if (strcmp(qmp_strerror(QMP_EMISUSE), "usage error") == 0)
		bad("QMP_EMISUSE described as a usage error");
	row_end();
	row_begin("session", "listen on vsock is QMP_EUSAGE, kept as such");
	if (qmp_parse_address("vsock:3:4", &a, NULL, 0) != QMP_OK)
		bad("vsock:3:4 does not parse");
	else if ((st = qmp_listen(q, &a)) != QMP_EUSAGE)
		bad("qmp_listen on vsock: status %d, want QMP_EUSAGE", (int)st);
	else if (strcmp(qmp_errmsg(q), "vsock:3:4: can only listen on unix "
	    "or tcp") != 0)
		bad("qmp_listen on vsock: message '%s'", qmp_errmsg(q));
	row_end();
	json_decref(cmd);
	qmp_free(q);
}

int
main(int argc, char **argv)
{
	size_t i;

	verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	make_long_inputs();
	for (i = 0; i < NELEM(addr_cases); i++) {
		const char *in = addr_cases[i].in;
		char name[48];

		snprintf(name, sizeof(name), "%s", in == NULL ? "(null)" :
		    show(in, strlen(in)));
		row_begin("address", name);
		run_addr_case(&addr_cases[i]);
		row_end();
	}
	for (i = 0; i < NELEM(errlen_cases); i++) {
		char name[48];

		snprintf(name, sizeof(name), "\"%s\" with errlen %zu",
		    errlen_cases[i].in, errlen_cases[i].errlen);
		row_begin("address", name);
		run_errlen_case(&errlen_cases[i]);
		row_end();
	}
	for (i = 0; i < NELEM(frame_cases); i++) {
		row_begin("framer", frame_cases[i].name);
		run_frame_case(&frame_cases[i]);
		row_end();
	}
	run_framer_reuse();
	run_misuse_cases();
	for (i = 0; i < NELEM(parse_cases); i++) {
		row_begin("parse", parse_cases[i].name);
		run_parse_case(&parse_cases[i]);
		row_end();
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed != 0;
}
