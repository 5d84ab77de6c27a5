/*
 * http_util.h - the console server's pure parts: route patterns, static
 * file paths, TOTP codes, constant-time token checks, times.  No network,
 * no store: each is tested on its own (tests/unit/test_http.c).
 */
#ifndef SEKISHO_HTTP_UTIL_H
#define SEKISHO_HTTP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define HTTP_ROUTE_MAXCAP	4
#define HTTP_TOKEN_HEX		65	/* 256 bits as hex, NUL */

/*
 * Does path match pattern?  Both are '/'-separated; a "*" segment of the
 * pattern matches one non-empty segment of the path, which is stored in
 * caps (up to HTTP_ROUTE_MAXCAP, each at most capsize bytes; a longer one
 * does not match).  1 match, 0 no match.
 */
int http_route_match(const char *pattern, const char *path,
    char caps[][128], size_t *ncap);

/*
 * The file under dir for a URL path (already percent-decoded), into out.
 * Refuses (-1) anything that could leave dir or reach hidden files: "..",
 * "." or empty segments, segments starting with '.', backslashes, control
 * bytes, and characters outside [A-Za-z0-9._~@+-/].  "/" maps to
 * index.html.  0, or -1.
 */
int http_static_path(const char *dir, const char *urlpath, char *out, size_t outlen);
/* Content type for a file name (by extension); "application/octet-stream"
 * when unknown. */
const char *http_content_type(const char *name);

/*
 * RFC 6238 code check: secret in base32, code of 6 digits, 30 s steps, one
 * step either side of now.  0 with *step set to the matching step, or -1.
 * The caller must still refuse a step not above the user's last one.
 */
int http_totp_check(const char *secret_b32, const char *code, time_t now, int64_t *step);
/* A new random secret (20 bytes) in base32; caller frees. */
char *http_totp_new_secret(void);
/* otpauth://totp/sekisho:NAME?secret=...&issuer=sekisho (caller frees). */
char *http_totp_uri(const char *name, const char *secret_b32);

/* n random bytes as lower-case hex (n <= 32) into out (2n+1 bytes). */
void http_random_hex(char *out, size_t n);
/* Hex of BLAKE2b-256 of a token (how a session id is kept in the store). */
void http_token_hash(const char *token, char out[HTTP_TOKEN_HEX]);
/* Constant-time equality of two NUL-terminated tokens; 1 equal. */
int http_token_eq(const char *a, const char *b);

/* "2026-11-29T10:00:00Z" from milliseconds since the epoch. */
void http_iso_time(int64_t ms, char *buf, size_t len);
/* Epoch seconds or ISO 8601 (date, or date and time, with Z or an offset)
 * to milliseconds.  0 or -1. */
int http_parse_time(const char *text, int64_t *ms);

/* Is name a valid console user name ([A-Za-z0-9._@-], 1..64)? */
int http_valid_username(const char *name);

#endif
