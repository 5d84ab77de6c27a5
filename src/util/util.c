/*
 * util.c - memory, errors, strings, time and small file helpers.
 *
 * The x*alloc functions never return NULL: running out of memory in a mail
 * daemon leaves no safe way to continue, so they panic.  util_write_all and
 * util_fsync_dir return -1 with errno set and leave the decision to the caller
 * (the spool turns that into 451, never 250).
 */
#include "util/util.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		panic("out of memory (%zu bytes)", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		panic("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		panic("out of memory (%zu bytes)", n);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		panic("out of memory (asprintf)");
	va_end(ap);
	return p;
}

void
panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_CRIT, fmt, ap);
	va_end(ap);
	abort();
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

size_t
util_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

static int
ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int
util_strcasecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = ascii_lower((unsigned char)*a);
		int cb = ascii_lower((unsigned char)*b);
		if (ca != cb || ca == 0)
			return ca - cb;
	}
}

int
util_strncasecmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; a++, b++, n--) {
		int ca = ascii_lower((unsigned char)*a);
		int cb = ascii_lower((unsigned char)*b);
		if (ca != cb || ca == 0)
			return ca - cb;
	}
	return 0;
}

char *
util_lowercase(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)ascii_lower((unsigned char)*p);
	return s;
}

int
util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
util_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t
util_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int
util_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
util_mkdirs(const char *path, mode_t mode)
{
	char *tmp = xstrdup(path);
	int rc = 0;

	for (char *p = tmp + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(tmp, mode) < 0 && errno != EEXIST) {
				rc = -1;
				break;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(tmp);
	return rc;
}

int
util_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

char *
util_read_file(const char *path, size_t max, size_t *lenp)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	size_t len = 0, cap = 4096;

	if (fp == NULL)
		return NULL;
	buf = xmalloc(cap);
	for (;;) {
		size_t n;
		if (len + 1 >= cap) {
			if (cap > max) {
				free(buf);
				fclose(fp);
				errno = EFBIG;
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = fread(buf + len, 1, cap - len - 1, fp);
		if (n == 0)
			break;
		len += n;
	}
	if (ferror(fp) || len > max) {
		int err = ferror(fp) ? EIO : EFBIG;
		free(buf);
		fclose(fp);
		errno = err;
		return NULL;
	}
	fclose(fp);
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

size_t
util_utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		return (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		if ((p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] > 0x9F))
			return 0;
		return 3;
	}
	if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		if ((p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
			return 0;
		if ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] > 0x8F))
			return 0;
		return 4;
	}
	return 0;
}

/* util_utf8_len of a sequence that must end within avail bytes. */
static size_t
utf8_len_within(const unsigned char *p, size_t avail)
{
	unsigned char b[4] = { 0, 0, 0, 0 };

	memcpy(b, p, avail < 4 ? avail : 4);
	return util_utf8_len(b);
}

void
util_printable(char *out, size_t size, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < len;) {
		size_t n = p[i] != '\0' ? utf8_len_within(p + i, len - i) : 0;
		char esc[5];
		const char *put = (const char *)p + i;
		size_t plen = n;

		if (n == 1 && (p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\'))
			n = 0;
		if (n == 0) {
			if (p[i] == '\\')
				snprintf(esc, sizeof(esc), "\\\\");
			else if (p[i] == '\n' || p[i] == '\r' || p[i] == '\t')
				snprintf(esc, sizeof(esc), "\\%c", p[i] == '\n' ? 'n' :
				    p[i] == '\r' ? 'r' : 't');
			else
				snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
			put = esc;
			plen = strlen(esc);
			n = 1;
		}
		if (o + plen >= size)
			break;
		memcpy(out + o, put, plen);
		o += plen;
		i += n;
	}
	out[o] = '\0';
}

void
util_local_time(int64_t ms, const char *fmt, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (localtime_r(&t, &tm) != NULL)
		strftime(buf, len, fmt, &tm);
}
