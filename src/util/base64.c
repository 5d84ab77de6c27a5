/*
 * base64.c - RFC 4648 base64, standard alphabet.
 *
 * Encoding always pads.  Decoding is strict, because its input is untrusted
 * (SMTP AUTH responses): no white space, no characters outside the
 * alphabet, "=" only as the last one or two characters of a length that is
 * a multiple of four, and the unused bits of the last character must be
 * zero (RFC 4648 3.5), so every byte string has exactly one accepted
 * encoding.  Unpadded input is accepted when its length leaves 2 or 3
 * characters in the last group; a lone last character is bad length.
 * Nothing is allocated; base64_decode returns -1 on any fault and the
 * contents of out are then unspecified.
 */
#include "util/base64.h"

#include <stdint.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void
base64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = b64_alphabet[(v >> 6) & 63];
		*out++ = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = b64_alphabet[(v >> 6) & 63];
		*out++ = '=';
	}
	*out = '\0';
}

/* The value of one alphabet character, or -1 (this includes '=' and NUL). */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
base64_decode(const char *in, size_t inlen, unsigned char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t end = inlen, i, o = 0;
	uint32_t v;
	int a, b, c, d;

	/* Padding may only close a full group of four. */
	if (inlen % 4 == 0 && inlen > 0 && p[inlen - 1] == '=') {
		end--;
		if (p[inlen - 2] == '=')
			end--;
	}
	if (end % 4 == 1)
		return -1;

	for (i = 0; i + 4 <= end; i += 4) {
		a = b64_value(p[i]);
		b = b64_value(p[i + 1]);
		c = b64_value(p[i + 2]);
		d = b64_value(p[i + 3]);
		if (a < 0 || b < 0 || c < 0 || d < 0)
			return -1;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	switch (end - i) {
	case 0:
		break;
	case 2:
		a = b64_value(p[i]);
		b = b64_value(p[i + 1]);
		if (a < 0 || b < 0 || (b & 15) != 0)
			return -1;
		out[o++] = (unsigned char)(a << 2 | b >> 4);
		break;
	case 3:
		a = b64_value(p[i]);
		b = b64_value(p[i + 1]);
		c = b64_value(p[i + 2]);
		if (a < 0 || b < 0 || c < 0 || (c & 3) != 0)
			return -1;
		out[o++] = (unsigned char)(a << 2 | b >> 4);
		out[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
		break;
	default:
		return -1;
	}
	return (long)o;
}
