/* SPDX-License-Identifier: MIT */
/*
 * base64.h: RFC 4648 base64 (the standard alphabet, with padding), as the
 * guest agent uses it for file and program data.
 */
#ifndef QMPCTL_BASE64_H
#define QMPCTL_BASE64_H

#include <stddef.h>

/* Returns the length of the encoding of n bytes, without a NUL. */
size_t b64_encoded_len(size_t n);

/*
 * Encodes in[0..n) into out, which must hold b64_encoded_len(n) + 1
 * bytes, and NUL-terminates it.  Returns the length written, without
 * the NUL.
 */
size_t b64_encode(const unsigned char *in, size_t n, char *out);

/*
 * Decodes in[0..n) into out, which must hold n / 4 * 3 bytes.  n must be
 * a multiple of 4, and '=' padding may end only the last group.  Returns
 * the number of bytes written, or (size_t)-1 when in is not valid base64
 * (any other byte, white space included).
 */
size_t b64_decode(const char *in, size_t n, unsigned char *out);

#endif
