/* SPDX-License-Identifier: MIT */
/*
 * fuzz_address: qmp_parse_address on arbitrary text.
 *
 * Input: the address (up to the first NUL).  It is parsed with a roomy
 * error buffer, and again with buffers of 0, 1 and 7 bytes.  Checked:
 *  - the status is QMP_OK or QMP_EUSAGE, the same for every buffer size;
 *  - a->text is the input;
 *  - QMP_OK: a unix path is non-empty and NUL-terminated within sun_path,
 *    and, without "unix:", the input itself; a tcp host is non-empty and
 *    NUL-terminated, the port a decimal 1-65535 without leading zeros;
 *  - QMP_EUSAGE: the message is non-empty, NUL-terminated, within the
 *    buffer, and starts with the input (or says the address is empty);
 *  - nothing is written past the error buffer (a guard byte).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_address: invariant broken: %s\n", what);
		abort();
	}
}

/* Returns 1 when s[0..n) holds a NUL. */
static int
terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t small[3] = { 0, 1, 7 };
	struct qmp_addr a, b;
	enum qmp_status st, st2;
	char err[512 + 1], *s;
	unsigned long port;
	size_t i, n;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	n = strlen(s);

	memset(err, 'X', sizeof(err));
	st = qmp_parse_address(s, &a, err, sizeof(err) - 1);
	check(st == QMP_OK || st == QMP_EUSAGE, "unexpected status");
	check(err[sizeof(err) - 1] == 'X', "wrote past the error buffer");
	check(a.text == s, "text does not borrow the input");
	if (st == QMP_OK) {
		switch (a.kind) {
		case QMP_ADDR_UNIX:
			check(terminated(a.path, sizeof(a.path)),
			    "unterminated path");
			check(a.path[0] != '\0', "empty path");
			if (strncmp(s, "unix:", 5) == 0)
				check(strcmp(a.path, s + 5) == 0,
				    "path is not what follows unix:");
			else
				check(strcmp(a.path, s) == 0,
				    "path is not the input");
			break;
		case QMP_ADDR_TCP:
			check(terminated(a.host, sizeof(a.host)),
			    "unterminated host");
			check(a.host[0] != '\0', "empty host");
			check(terminated(a.port, sizeof(a.port)),
			    "unterminated port");
			check(a.port[0] >= '1' && a.port[0] <= '9',
			    "port does not start with 1-9");
			port = strtoul(a.port, NULL, 10);
			check(port >= 1 && port <= 65535, "port out of range");
			check(strstr(s, a.host) != NULL, "host not in input");
			break;
		case QMP_ADDR_VSOCK:
			check(strncmp(s, "vsock:", 6) == 0,
			    "vsock without vsock:");
			break;
		case QMP_ADDR_FD:
			check(strncmp(s, "fd:", 3) == 0 && a.fd >= 0,
			    "fd without fd: or a negative descriptor");
			break;
		default:
			check(0, "unknown kind");
		}
	} else {
		check(terminated(err, sizeof(err) - 1), "unterminated error");
		check(err[0] != '\0', "empty error");
		check(n == 0 || strncmp(err, s, strlen(err) < n ?
		    strlen(err) : n) == 0, "error does not name the input");
	}

	/* The same verdict with tiny error buffers, within their bounds. */
	for (i = 0; i < 3; i++) {
		memset(err, 'X', sizeof(err));
		st2 = qmp_parse_address(s, &b, err, small[i]);
		check(st2 == st, "verdict depends on the buffer size");
		check(err[small[i]] == 'X', "wrote past a small buffer");
		if (small[i] > 0)
			check(terminated(err, small[i]),
			    "small buffer unterminated");
		check(memcmp(&a, &b, sizeof(a)) == 0,
		    "result depends on the buffer size");
	}
	free(s);
	return 0;
}
