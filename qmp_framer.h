/* SPDX-License-Identifier: MIT */
/*
 * qmp_framer.h: bytes in, complete top-level JSON objects out.
 *
 * The framer finds where each message ends without parsing it: one linear
 * pass over the bytes, each looked at once whatever the chunking, tracking
 * strings, escapes and nesting depth.  Top-level whitespace is skipped;
 * any other byte outside an object is an error.  Storage never grows
 * beyond max + 1 bytes.  The session (qmp_core.c) frames the server's
 * messages with it and qmpctl its standard input; a fuzz target drives it
 * alone.  Nothing here prints, exits or keeps global state, and nothing
 * here knows what the messages mean.
 *
 * Reading goes: qmp_framer_space for where to put bytes, read(2) into it,
 * qmp_framer_commit, then qmp_framer_next until it says QMP_FRAME_MORE.
 */
#ifndef QMP_FRAMER_H
#define QMP_FRAMER_H

#include <stddef.h>

#include <jansson.h>

struct qmp_framer;		/* opaque */

enum qmp_frame { QMP_FRAME_MORE, QMP_FRAME_MSG, QMP_FRAME_ERROR,
    QMP_FRAME_TOOBIG };

/* Called with bytes the framer dropped (a 0xFF, stale bytes). */
typedef void qmp_skip_fn(void *ctx, const char *bytes, size_t n);

/*
 * Returns a new empty framer accepting messages of at most max bytes, or
 * NULL when memory ran out.
 */
struct qmp_framer *qmp_framer_new(size_t max);
/* Frees the framer and what it holds; NULL is allowed. */
void qmp_framer_free(struct qmp_framer *);
/* Sets the largest message accepted from now on. */
void qmp_framer_set_max(struct qmp_framer *, size_t max);
/* Returns the largest message accepted. */
size_t qmp_framer_max(const struct qmp_framer *);
/* Forgets everything held and any partial message. */
void qmp_framer_reset(struct qmp_framer *);
/*
 * Returns where to put more bytes and sets *n to how many fit (at least
 * one), or NULL with *n 0: the message in progress already fills the
 * limit, or memory ran out (qmp_framer_full tells which).
 */
char *qmp_framer_space(struct qmp_framer *, size_t *n);
/* Returns 1 when the message in progress fills the limit. */
int qmp_framer_full(const struct qmp_framer *);
/* Records that n bytes were written at the place qmp_framer_space gave. */
void qmp_framer_commit(struct qmp_framer *, size_t n);
/*
 * Scans what is held.  Returns QMP_FRAME_MSG with *msg and *len set to one
 * complete object (valid until the next call), QMP_FRAME_MORE when more
 * bytes are needed, QMP_FRAME_TOOBIG when the message in progress is over
 * the limit, or QMP_FRAME_ERROR (see qmp_framer_error).
 */
enum qmp_frame qmp_framer_next(struct qmp_framer *, const char **msg,
    size_t *len);
/*
 * After QMP_FRAME_ERROR: returns a static text saying what was wrong and
 * sets *bad to the offending byte.
 */
const char *qmp_framer_error(const struct qmp_framer *, unsigned char *bad);
/* Bytes held that were not handed out as messages yet. */
size_t qmp_framer_pending(const struct qmp_framer *);
/*
 * Returns the bytes held from the start of the message in progress (or of
 * the last message handed out) and sets *n to their count: for a trace.
 */
const char *qmp_framer_held(const struct qmp_framer *, size_t *n);
/* Frees a large buffer once its last message was used and nothing is left. */
void qmp_framer_shrink(struct qmp_framer *);

/*
 * The guest agent's delimiter: with on, a 0xFF byte between messages is
 * skipped like a blank (the agent may send one before any answer).
 */
void qmp_framer_ff_blank(struct qmp_framer *, int on);
/*
 * Drops the bytes held and to come up to and including the next 0xFF
 * (the sentinel that precedes the answer to guest-sync-delimited).  Each
 * byte dropped goes to the skip handler.
 */
void qmp_framer_skip_to_ff(struct qmp_framer *);
/* Sets the handler told of every byte dropped (NULL: none). */
void qmp_framer_on_skip(struct qmp_framer *, qmp_skip_fn *, void *ctx);

/*
 * Parses a message the framer handed out (msg, len) with qmp_json_loadb
 * (numbers kept as written; a later duplicate key wins, as in jansson).
 * Returns the value (new), or NULL with *err set.
 */
json_t *qmp_framer_parse(const char *msg, size_t len, json_error_t *err);

#endif
