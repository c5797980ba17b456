/* SPDX-License-Identifier: MIT */
/*
 * cli_io.h: the command line's one I/O layer.  Every wait for a
 * descriptor (input, a slow reader of stdout, a FIFO's reader) keeps to
 * -t's deadline and ends at once when a signal comes; the messages for
 * those two ends are written here, once.
 */
#ifndef CLI_IO_H
#define CLI_IO_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct run;

/* What was being done when a wait ended, for io_failure's message. */
enum io_doing { IO_READ, IO_WRITE, IO_OPEN };

int io_signal_status(void);
int io_wait(const struct run *, int fd, short events);
int io_pause(const struct run *, int64_t ms);
ssize_t io_read(const struct run *, int fd, void *buf, size_t n);
int io_write_all(const struct run *, int fd, const void *buf, size_t n);
int io_failure(const char *name, int err, enum io_doing doing, int other);
FILE *io_stream(const struct run *, int fd, int owns_fd);

#endif
