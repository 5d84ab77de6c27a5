/*
 * util.h - leaf helpers: memory that never returns NULL, fatal errors,
 * strings and time.  Nothing here knows about mail.
 */
#ifndef SEKISHO_UTIL_H
#define SEKISHO_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <sys/types.h>

#define UTIL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define UTIL_NORETURN __attribute__((noreturn))
#define UTIL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define UTIL_NORETURN
#define UTIL_PRINTF(f, a)
#endif

/* splitmix64's finaliser: spreads the bits of x (hash mixing, seeded
 * shuffles).  Inline: the tokenizer calls it for every feature. */
static inline uint64_t
util_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Allocation failure is a broken invariant for a mail daemon: we panic. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) UTIL_PRINTF(1, 2);

/* panic: a broken invariant (aborts).  fatal: bad config or start-up (exit 1). */
void panic(const char *fmt, ...) UTIL_PRINTF(1, 2) UTIL_NORETURN;
void fatal(const char *fmt, ...) UTIL_PRINTF(1, 2) UTIL_NORETURN;

/* Copy with truncation; always NUL-terminates when size > 0. Returns strlen(src). */
size_t util_strlcpy(char *dst, const char *src, size_t size);
/* ASCII-only case-insensitive compare, independent of the locale. */
int util_strcasecmp(const char *a, const char *b);
int util_strncasecmp(const char *a, const char *b, size_t n);
/* Epoch milliseconds as local time through strftime(fmt) into buf. */
void util_local_time(int64_t ms, const char *fmt, char *buf, size_t len);
/* Length of the valid UTF-8 sequence at p (1..4; no overlong forms, no
 * surrogates, nothing past U+10FFFF), or 0.  Reads past p[0] only while the
 * bytes are continuation bytes, so a NUL-terminated string is safe. */
size_t util_utf8_len(const unsigned char *p);
/* len bytes of untrusted s as one line of text into out (NUL-terminated):
 * valid UTF-8 as it is; a backslash as \\; NUL, control bytes and bytes
 * invalid in UTF-8 as \n, \r, \t or \xHH.  Cut at a whole character when out is full. */
void util_printable(char *out, size_t size, const char *s, size_t len);
/* Lower-case an ASCII string in place; returns s. */
char *util_lowercase(char *s);
/* Trim ASCII whitespace at both ends, in place; returns the trimmed start. */
char *util_trim(char *s);
/* The value of an ASCII hex digit (either case), or -1. */
int util_hexval(int c);

/* Wall clock and monotonic clock. */
int64_t util_now_ms(void);        /* CLOCK_REALTIME in milliseconds */
int64_t util_mono_ms(void);       /* CLOCK_MONOTONIC in milliseconds */

/* Write all of buf, retrying on EINTR and short writes. 0 or -1 (errno set). */
int util_write_all(int fd, const void *buf, size_t len);
/* Make directory and parents (mode 0700 for new ones). 0 or -1. */
int util_mkdirs(const char *path, mode_t mode);
/* fsync a directory by path. 0 or -1. */
int util_fsync_dir(const char *path);
/* Read a whole file (max bytes) into a NUL-terminated buffer. Caller frees. */
char *util_read_file(const char *path, size_t max, size_t *len);

#endif
