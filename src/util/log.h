/*
 * log.h - one-line log records to stderr or a file.
 *
 * Decisions are logged as key=value pairs so that a grep or a log shipper
 * can pick them apart: "queued id=... client=... from=<...> nrcpt=2 ...".
 * Values with spaces are quoted by log_kv_quote(). Thread-safe.
 */
#ifndef SEKISHO_LOG_H
#define SEKISHO_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_CRIT,
	LOG_LEVEL_ERR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* ident: program name; path: NULL or "" for stderr. 0 or -1. */
int log_init(const char *ident, const char *path, enum log_level level);
void log_set_level(enum log_level level);
int log_level_parse(const char *name, enum log_level *out);
void log_vmsg(enum log_level level, const char *fmt, va_list ap);

#if defined(__GNUC__)
#define LOG_PRINTF __attribute__((format(printf, 1, 2)))
#else
#define LOG_PRINTF
#endif
void log_err(const char *fmt, ...) LOG_PRINTF;
void log_warn(const char *fmt, ...) LOG_PRINTF;
void log_info(const char *fmt, ...) LOG_PRINTF;
void log_debug(const char *fmt, ...) LOG_PRINTF;

/*
 * Quote a value for key=value output into buf: printable ASCII without
 * spaces passes as is; otherwise it is wrapped in double quotes with '"',
 * '\\' and control bytes escaped.  Truncates to fit.  Returns buf.
 */
char *log_kv_quote(char *buf, size_t size, const char *value);

#endif
