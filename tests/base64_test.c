/* SPDX-License-Identifier: MIT */
/*
 * base64_test: unit tests of base64.c, driven by tests/test_agent_exec.sh.
 *
 *   base64_test            the RFC 4648 vectors and malformed inputs;
 *                          prints each failure, exit status 1 if any
 *   base64_test encode     stdin to stdout, encoded (no newline added)
 *   base64_test decode     stdin to stdout, decoded; status 1 if malformed
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base64.h"

/* The examples of RFC 4648, section 10, and a few with every bit set. */
static const struct { const char *plain, *coded; } vectors[] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" }, { "\377", "/w==" }, { "\377\377", "//8=" },
	{ "\377\377\377", "////" }, { "\373\357", "++8=" },
};

/* Text that must not decode: bad length, bytes, or padding. */
static const char *const malformed[] = {
	"Z", "Zg", "Zg=", "Zg==Zg==", "Z===", "====", "Zg=a", "Zm9v\n",
	"Zm 9", "Zm9v-_==", "Zm9\200", "=Zm9",
};

/* Returns the number of failed checks, after printing each. */
static int
run_vectors(void)
{
	unsigned char out[64];
	char enc[64];
	size_t i, n, len;
	int bad = 0;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		len = strlen(vectors[i].plain);
		n = b64_encode((const unsigned char *)vectors[i].plain, len,
		    enc);
		if (n != b64_encoded_len(len) || strcmp(enc, vectors[i].coded)) {
			printf("encode #%zu: got '%s', want '%s'\n", i, enc,
			    vectors[i].coded);
			bad++;
		}
		n = b64_decode(vectors[i].coded, strlen(vectors[i].coded), out);
		if (n != len || memcmp(out, vectors[i].plain, len) != 0) {
			printf("decode '%s': wrong result\n", vectors[i].coded);
			bad++;
		}
	}
	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		if (b64_decode(malformed[i], strlen(malformed[i]), out) !=
		    (size_t)-1) {
			printf("decode of malformed #%zu was accepted\n", i);
			bad++;
		}
	return bad;
}

/* Returns all of stdin in a new buffer, with *n its length. */
static unsigned char *
slurp(size_t *n)
{
	unsigned char *buf = NULL, *nbuf;
	size_t cap = 0, got;

	*n = 0;
	do {
		if (cap - *n < 65536) {
			cap = cap * 2 + 65536;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				free(buf);
				perror("base64_test");
				exit(2);
			}
			buf = nbuf;
		}
		got = fread(buf + *n, 1, cap - *n, stdin);
		*n += got;
	} while (got > 0);
	return buf;
}

int
main(int argc, char **argv)
{
	unsigned char *in, *out;
	size_t n, m;

	if (argc == 1)
		return run_vectors() == 0 ? 0 : 1;
	in = slurp(&n);
	out = malloc(b64_encoded_len(n) + 1);
	if (out == NULL)
		return 2;
	if (strcmp(argv[1], "encode") == 0)
		m = b64_encode(in, n, (char *)out);
	else if ((m = b64_decode((const char *)in, n, out)) == (size_t)-1) {
		fprintf(stderr, "base64_test: malformed input\n");
		return 1;
	}
	if (fwrite(out, 1, m, stdout) != m || fflush(stdout) != 0)
		return 2;
	free(in);
	free(out);
	return 0;
}
