/* SPDX-License-Identifier: MIT */
/*
 * base64.c: RFC 4648 base64, table driven.  The decoder is strict: the
 * agent never sends line breaks or other characters, so anything but the
 * alphabet and final padding is malformed data.
 */
#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * Each byte's 6-bit value plus one; 65 for the padding '=', and 0 (the
 * default) for a byte that is not allowed.
 */
#define B64_PAD		64

static const unsigned char values[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5,
	['F'] = 6, ['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10,
	['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
	['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20,
	['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25,
	['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
	['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
	['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
	['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45,
	['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
	['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55,
	['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
	['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64, ['='] = 65,
};

size_t
b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t
b64_encode(const unsigned char *in, size_t n, char *out)
{
	char *p = out;
	unsigned long v;
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 |
		    in[i + 2];
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[v >> 12 & 63];
		*p++ = alphabet[v >> 6 & 63];
		*p++ = alphabet[v & 63];
	}
	if (i < n) {
		v = (unsigned long)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)in[i + 1] << 8;
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[v >> 12 & 63];
		*p++ = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	return (size_t)(p - out);
}

size_t
b64_decode(const char *in, size_t n, unsigned char *out)
{
	const unsigned char *s = (const unsigned char *)in;
	unsigned char *p = out;
	int a, b, c, d;
	size_t i;

	if (n % 4 != 0)
		return (size_t)-1;
	for (i = 0; i < n; i += 4) {
		a = values[s[i]] - 1;
		b = values[s[i + 1]] - 1;
		c = values[s[i + 2]] - 1;
		d = values[s[i + 3]] - 1;
		if (a < 0 || b < 0 || c < 0 || d < 0)
			return (size_t)-1;
		if ((a | b | c | d) < B64_PAD) {
			*p++ = (unsigned char)(a << 2 | b >> 4);
			*p++ = (unsigned char)(b << 4 | c >> 2);
			*p++ = (unsigned char)(c << 6 | d);
			continue;
		}
		/* Padding: only in the last group, as "xx==" or "xxx=". */
		if (i + 4 != n || a == B64_PAD || b == B64_PAD || d != B64_PAD)
			return (size_t)-1;
		*p++ = (unsigned char)(a << 2 | b >> 4);
		if (c != B64_PAD)
			*p++ = (unsigned char)(b << 4 | c >> 2);
	}
	return (size_t)(p - out);
}
