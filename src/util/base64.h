/*
 * base64.h - RFC 4648 base64 (standard alphabet, padding required on decode
 * only when the length demands it; white space is not allowed).
 */
#ifndef SEKISHO_BASE64_H
#define SEKISHO_BASE64_H

#include <stddef.h>

/* Encoded length without NUL for n input bytes. */
size_t base64_encoded_len(size_t n);
/* Encode n bytes into out (base64_encoded_len(n) + 1 bytes); NUL-terminated. */
void base64_encode(const void *in, size_t n, char *out);
/* Decode; out must hold 3 * (strlen(in) / 4) + 3 bytes.  Returns the decoded
 * length or -1 on bad input (bad character, bad padding, bad length). */
long base64_decode(const char *in, size_t inlen, unsigned char *out);

#endif
