/*
 * buf.h - a growing byte buffer, always NUL-terminated.
 *
 * The one buffer for building replies, headers and messages.  The bytes
 * belong to the buffer until buf_steal() hands them over (caller frees);
 * buf_free() accepts a zeroed buffer.  Growth never fails (x*alloc).
 */
#ifndef SEKISHO_BUF_H
#define SEKISHO_BUF_H

#include <stddef.h>

#include "util/util.h"

struct buf {
	char *p;		/* NULL until the first byte */
	size_t len, cap;
};

void buf_add(struct buf *b, const void *data, size_t n);
void buf_str(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) UTIL_PRINTF(2, 3);
/* Standard base64 of n bytes, without line breaks. */
void buf_base64(struct buf *b, const void *data, size_t n);
/* s as HTML text: & < > " ' escaped, bytes invalid in UTF-8 as U+FFFD,
 * control bytes other than tab and newline as spaces; NULL as "". */
void buf_html(struct buf *b, const char *s);
/* Forget the contents, keep the memory. */
void buf_reset(struct buf *b);
/* The contents as a malloc'ed string ("" when empty); the buffer is empty after. */
char *buf_steal(struct buf *b, size_t *len);
void buf_free(struct buf *b);

#endif
