/*
 * log.c - one-line log records.
 *
 * Each record is written with a single write(2) so that lines from several
 * threads never interleave.  Untrusted text (addresses, replies) must go
 * through log_kv_quote() so that a CR or LF in a peer's input cannot forge
 * a log line.
 */
#include "util/log.h"
#include "util/util.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_ident = "sekisho";
static int log_fd = 2;
static enum log_level log_cur = LOG_LEVEL_INFO;

static const char *const level_names[] = {
	[LOG_LEVEL_CRIT] = "crit",
	[LOG_LEVEL_ERR] = "error",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

int
log_init(const char *ident, const char *path, enum log_level level)
{
	log_ident = ident;
	log_cur = level;
	if (path != NULL && *path != '\0') {
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0)
			return -1;
		if (log_fd > 2)
			close(log_fd);
		log_fd = fd;
	}
	return 0;
}

void
log_set_level(enum log_level level)
{
	log_cur = level;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(level_names); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[4096];
	struct timeval tv;
	struct tm tm;
	int n, m;

	if (level > log_cur)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s[%d]: %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000), log_ident,
	    (int)getpid(), level_names[level]);
	if (n < 0)
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)util_write_all(log_fd, line, (size_t)n);
}

#define LOG_FN(name, level)                     \
	void name(const char *fmt, ...)         \
	{                                       \
		va_list ap;                     \
		va_start(ap, fmt);              \
		log_vmsg(level, fmt, ap);       \
		va_end(ap);                     \
	}

LOG_FN(log_err, LOG_LEVEL_ERR)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

char *
log_kv_quote(char *buf, size_t size, const char *value)
{
	static const char hex[] = "0123456789abcdef";
	int plain = *value != '\0';
	size_t o = 0;

	if (size == 0)
		return buf;
	for (const char *p = value; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == '"' || c == '\\' || c == 0x7f) {
			plain = 0;
			break;
		}
	}
	if (plain) {
		util_strlcpy(buf, value, size);
		return buf;
	}
	if (o + 1 < size)
		buf[o++] = '"';
	for (const char *p = value; *p && o + 5 < size; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < ' ' || c == 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		} else {
			buf[o++] = (char)c;
		}
	}
	if (o + 1 < size)
		buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
