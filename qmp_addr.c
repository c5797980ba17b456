/* SPDX-License-Identifier: MIT */
/*
 * qmp_addr.c: the server addresses of the QEMU Monitor Protocol library,
 * parsed from text (see qmp_parse_address in qmp_core.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp_core.h"

/*
 * Returns 1 when s (of length n) is a decimal number in [lo, hi], with
 * its value in *out.  Each digit is checked against hi before it is
 * added, so no value wraps, whatever the width of the types.
 */
static int
parse_uint(const char *s, size_t n, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint32_t v = 0, d;
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		d = (uint32_t)(s[i] - '0');
		if (d > hi || v > (hi - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	if (v < lo)
		return 0;
	*out = v;
	return 1;
}

/* Returns QMP_EUSAGE after formatting a message into err. */
static enum qmp_status addr_error(char *err, size_t errlen, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static enum qmp_status
addr_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return QMP_EUSAGE;
}

/* Returns QMP_OK after splitting "HOST:PORT" (host may be "[v6]"). */
static enum qmp_status
parse_hostport(const char *orig, const char *s, struct qmp_addr *a,
    char *err, size_t errlen)
{
	const char *colon, *h = s;
	size_t hlen;
	uint32_t port;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return addr_error(err, errlen,
			    "%s: expected [IPV6]:PORT", orig);
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return addr_error(err, errlen,
			    "%s: expected HOST:PORT", orig);
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen) != NULL)
			return addr_error(err, errlen,
			    "%s: an IPv6 address needs brackets: [ADDR]:PORT",
			    orig);
	}
	if (hlen == 0)
		return addr_error(err, errlen, "%s: missing host", orig);
	if (hlen >= sizeof(a->host))
		return addr_error(err, errlen, "%s: host name too long", orig);
	if (!parse_uint(colon + 1, strlen(colon + 1), 1, 65535, &port))
		return addr_error(err, errlen,
		    "%s: bad port '%s' (expected 1-65535)", orig, colon + 1);
	memcpy(a->host, h, hlen);
	a->host[hlen] = '\0';
	snprintf(a->port, sizeof(a->port), "%u", (unsigned)port);
	a->kind = QMP_ADDR_TCP;
	return QMP_OK;
}

enum qmp_status
qmp_parse_address(const char *s, struct qmp_addr *a, char *err,
    size_t errlen)
{
	const char *p, *colon;
	uint32_t cid, port;
	size_t n;

	memset(a, 0, sizeof(*a));
	a->text = s;
	if (errlen > 0)
		err[0] = '\0';
	if (s == NULL || *s == '\0')
		return addr_error(err, errlen, "empty address");
	if (strncmp(s, "tcp:", 4) == 0)
		return parse_hostport(s, s + 4, a, err, errlen);
	if (strncmp(s, "vsock:", 6) == 0) {
		p = s + 6;
		colon = strchr(p, ':');
		if (colon == NULL ||
		    !parse_uint(p, (size_t)(colon - p), 0, UINT32_MAX, &cid) ||
		    !parse_uint(colon + 1, strlen(colon + 1), 0, UINT32_MAX,
		    &port))
			return addr_error(err, errlen,
			    "%s: expected vsock:CID:PORT", s);
		a->kind = QMP_ADDR_VSOCK;
		a->cid = (uint32_t)cid;
		a->vport = (uint32_t)port;
		return QMP_OK;
	}
	if (strncmp(s, "fd:", 3) == 0) {
		if (!parse_uint(s + 3, strlen(s + 3), 0, INT_MAX, &port))
			return addr_error(err, errlen,
			    "%s: expected fd:N, N a descriptor number", s);
		a->kind = QMP_ADDR_FD;
		a->fd = (int)port;
		return QMP_OK;
	}
	if (strncmp(s, "unix:", 5) == 0)
		p = s + 5;
	else if (*s == '[')
		return parse_hostport(s, s, a, err, errlen);
	else if (strchr(s, '/') == NULL && (colon = strrchr(s, ':')) != NULL)
		return parse_hostport(s, s, a, err, errlen);
	else
		p = s;
	n = strlen(p);
	if (n == 0)
		return addr_error(err, errlen, "%s: empty socket path", s);
	if (n >= sizeof(a->path))
		return addr_error(err, errlen,
		    "%s: socket path too long (%zu bytes, at most %zu)", s, n,
		    sizeof(a->path) - 1);
	memcpy(a->path, p, n + 1);
	a->kind = QMP_ADDR_UNIX;
	return QMP_OK;
}

