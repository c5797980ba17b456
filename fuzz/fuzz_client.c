/* SPDX-License-Identifier: MIT */
/*
 * fuzz_client: the whole client side of a session, against a peer that
 * says whatever the fuzzer wants.
 *
 * Input: byte 0 holds flags (bit 0: negotiate oob; bit 1: talk to a guest
 * agent, qmp_sync_agent instead of qmp_handshake; bit 2: a 256-byte
 * --max-size; bit 3: an event handler that re-encodes every event); the
 * rest is everything the server sends, in one piece, followed by an end
 * of file.  Inputs over 64 KiB are ignored (they would not fit in the
 * socket buffer, and nobody reads what the client sends).
 *
 * A seed made from a QEMU transcript is "\x00" + the server's bytes, with
 * the ids the client uses: none for qmp_capabilities, 1 for the command
 * (query-status), 2 for the second one (query-version).
 *
 * Any status is fine; a crash, a sanitizer report or a leak is not, and
 * neither is a status outside enum qmp_status, a reply that does not match
 * its status, or an empty error message.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "qmp_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXIN	(64 * 1024)

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_client: invariant broken: %s\n", what);
		abort();
	}
}

/* Re-encodes the event, as qmpctl's --events does. */
static void
on_event(void *ctx, json_t *ev)
{
	size_t n;
	char *s;

	(void)ctx;
	check(json_is_object(ev), "an event that is not an object");
	check(qmp_json_is_string(json_object_get(ev, "event")),
	    "an event without a name");
	s = qmp_json_dumps(ev, &n);
	check(s != NULL && strlen(s) == n, "an event that cannot be written");
	free(s);
}

/*
 * Returns st after checking it and, for a command (reply not NULL), the
 * reply that goes with it.
 */
static enum qmp_status
checked(struct qmp *q, enum qmp_status st, json_t **reply)
{
	check(st >= QMP_OK && st <= QMP_EMISUSE, "unknown status");
	check(qmp_strerror(st) != NULL, "no text for a status");
	if (reply == NULL)
		check(st != QMP_ECOMMAND, "a command error from a handshake");
	else if (st == QMP_OK || st == QMP_ECOMMAND) {
		json_t *err = json_object_get(*reply, "error");

		check(json_is_object(*reply), "no reply object");
		if (st == QMP_OK)
			check(json_object_get(*reply, "return") != NULL,
			    "success without a return");
		else
			check(json_is_object(err) &&
			    json_is_string(json_object_get(err, "class")) &&
			    json_is_string(json_object_get(err, "desc")),
			    "command error without class and desc");
	} else
		check(*reply == NULL, "a reply with a failure");
	if (st != QMP_OK)
		check(qmp_errmsg(q)[0] != '\0', "a failure without a message");
	return st;
}

/* Runs one command and checks the outcome. */
static enum qmp_status
run(struct qmp *q, const char *name)
{
	enum qmp_status st;
	json_t *cmd, *reply = NULL;

	cmd = json_pack("{s:s}", "execute", name);
	if (cmd == NULL)
		return QMP_ELOCAL;
	st = qmp_execute(q, cmd, NULL, 0, &reply);
	checked(q, st, &reply);
	json_decref(reply);
	json_decref(cmd);
	return st;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmp *q;
	enum qmp_status st;
	size_t off;
	ssize_t n;
	int sv[2], flags, i;

	if (size < 1 || size > MAXIN + 1)
		return 0;
	flags = data[0];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		abort();
	}
	for (off = 1; off < size; off += (size_t)n) {
		n = write(sv[1], data + off, size - off);
		if (n <= 0) {
			perror("fuzz_client: write");
			abort();
		}
	}
	if (shutdown(sv[1], SHUT_WR) < 0) {
		perror("shutdown");
		abort();
	}

	q = qmp_new();
	check(q != NULL, "qmp_new failed");
	qmp_attach_fd(q, sv[0], "fuzz", 1);
	check(qmp_is_unix(q), "a socketpair is a unix socket");
	/* A safety net: all input is there, nothing should ever wait. */
	qmp_set_deadline(q, qmp_now_ms() + 5000);
	if (flags & 4)
		qmp_set_max_size(q, 256);
	if (flags & 8)
		qmp_set_event_handler(q, on_event, NULL);

	/* No command before the handshake: the state is checked. */
	check(run(q, "query-status") == QMP_EMISUSE,
	    "a command was sent before the handshake");
	if (flags & 2) {
		/* The transcripts hold the answer to id 123456. */
		qmp_set_sync_ids(q, 123456);
		st = checked(q, qmp_sync_agent(q, 0), NULL);
	}
	else {
		st = checked(q, qmp_handshake(q, (flags & 1) ?
		    QMP_NEGOTIATE_OOB : 0), NULL);
		if (st == QMP_OK)
			check(json_is_object(qmp_greeting(q)),
			    "handshake done without a greeting");
	}
	check(st != QMP_ETIMEOUT, "waited although the input was all there");
	if (st == QMP_OK) {
		st = run(q, "query-status");
		if (st == QMP_OK || st == QMP_ECOMMAND)
			st = run(q, "query-version");
		for (i = 0; i < 4 && (st == QMP_OK || st == QMP_ECOMMAND); i++)
			st = qmp_pump(q);
		check(st != QMP_ETIMEOUT,
		    "waited although the input was all there");
	}
	qmp_free(q);
	close(sv[1]);
	return 0;
}
