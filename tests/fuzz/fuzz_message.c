/*
 * fuzz_message.c - libFuzzer harness for src/message (message_parse,
 * message_part_bytes, message_rewrite).
 *
 * Each input is parsed twice, with the default limits and with tiny ones,
 * and checked: every string is a C string, header values and texts are
 * valid UTF-8, indexes stay in range, the limits hold.  Every part's bytes
 * are decoded (bounded).  The message is rewritten with all changes and
 * with none, and with a subject tag taken off: the rewrite has CRLF line
 * endings only, parses again with the
 * prepended field present once, and, with no changes asked for, gives back
 * the input itself when the input was already CRLF.  Any broken check
 * aborts so the fuzzer reports it; everything is freed so LeakSanitizer
 * sees the error paths.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message/message.h"
#include "message/message_int.h"
#include "fuzz.h"

static void
check_utf8(const char *s)
{
	if (s != NULL)
		CHECK(mcs_utf8_valid(s, strlen(s)));
}

static void
check_message(const struct message *m, const struct message_limits *lim, size_t size)
{
	CHECK(m != NULL);
	CHECK(m->body_offset <= size);
	CHECK(m->nheaders <= lim->max_headers);
	CHECK(m->nparts <= lim->max_parts);
	CHECK(m->nurls <= lim->max_urls);
	CHECK(m->text != NULL && m->html_text != NULL);
	check_utf8(m->text);
	check_utf8(m->html_text);
	check_utf8(m->subject);
	for (size_t i = 0; i < m->nheaders; i++) {
		CHECK(m->headers[i].name[0] != '\0');
		CHECK(strlen(m->headers[i].raw) <= size);
		check_utf8(m->headers[i].value);
	}
	for (size_t i = 0; i < m->nfrom; i++)
		check_utf8(m->from[i].display);
	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *p = &m->parts[i];
		size_t n;
		int trunc;
		unsigned char *b;

		CHECK(p->content_type != NULL && strchr(p->content_type, '/') != NULL);
		CHECK(p->depth >= 0 && (size_t)p->depth <= lim->max_depth);
		check_utf8(p->text);
		check_utf8(p->html);
		check_utf8(p->filename);
		CHECK(!p->is_text || p->text != NULL);
		b = message_part_bytes(m, i, 4096, &n, &trunc);
		CHECK(b != NULL && n <= 4096);
		CHECK(trunc || n == p->size || !p->is_text);
		free(b);
	}
	for (size_t i = 0; i < m->nurls; i++) {
		const struct msg_url *u = &m->urls[i];

		CHECK(u->url != NULL && u->scheme != NULL);
		CHECK(u->part >= 0 && (size_t)u->part < m->nparts);
		CHECK(u->host == NULL || u->domain != NULL);
		CHECK(!u->host_is_ip || u->host != NULL);
	}
	for (size_t i = 0; i < m->nforms; i++) {
		CHECK(m->forms[i].action != NULL && m->forms[i].method != NULL);
		CHECK(m->forms[i].part >= 0 && (size_t)m->forms[i].part < m->nparts);
	}
	for (size_t i = 0; i < m->nreceived; i++)
		CHECK(m->received[i].raw != NULL);
}

static void
check_crlf(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\n')
			CHECK(i > 0 && s[i - 1] == '\r');
}

/* Input already in CRLF form: no bare LF, every line ended. */
static int
crlf_clean(const char *s, size_t len)
{
	if (len == 0)
		return 1;
	if (s[len - 1] != '\n' || memchr(s, '\n', len) == NULL)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return 0;
	return 1;
}

static void
rewrite_checks(const struct message *m, const char *in, size_t size)
{
	static const char *const rm[] = { "X-Sekisho-Result", "Subject", NULL };
	static const char *const pre[] = { "X-Sekisho-Result: fuzz", "X-Sekisho-Note: 試験", NULL };
	static const char *const drop[] = { "fuzz@example.org", NULL };
	static const struct message_rewrite all = { rm, pre, "【注意】", "[banner] 注意",
		"<div>banner 注意</div>", drop, NULL };
	static const struct message_rewrite some = { NULL, pre, "[SPAM]", NULL, NULL, NULL, NULL };
	static const struct message_rewrite untag = { NULL, NULL, NULL, NULL, NULL, NULL, "【注意】" };
	size_t len;
	char *out;
	struct message *r;

	out = message_rewrite(m, &all, &len);
	CHECK(out != NULL && strlen(out) <= len);
	check_crlf(out, len);
	r = message_parse(out, len, NULL);
	CHECK(message_header_count(r, "X-Sekisho-Result") == 1);
	message_free(r);
	free(out);

	out = message_rewrite(m, &some, &len);
	CHECK(out != NULL);
	check_crlf(out, len);
	r = message_parse(out, len, NULL);
	if (!(m->limits & (MSG_LIMIT_HEADERS | MSG_LIMIT_HEADER_BYTES)))
		CHECK(r->subject != NULL && strncmp(r->subject, "[SPAM]", 6) == 0);
	message_free(r);
	free(out);

	/* a tag taken off: one "【注意】" fewer at the front of the subject */
	out = message_rewrite(m, &untag, &len);
	CHECK(out != NULL);
	check_crlf(out, len);
	r = message_parse(out, len, NULL);
	if (r->subject != NULL && strncmp(r->subject, "【注意】", strlen("【注意】")) == 0)
		CHECK(m->subject != NULL && strstr(m->subject + strlen("【注意】"), "【注意】") != NULL);
	message_free(r);
	free(out);

	out = message_rewrite(m, NULL, &len);
	CHECK(out != NULL);
	check_crlf(out, len);
	if (crlf_clean(in, size))
		CHECK(len == size && memcmp(out, in, size) == 0);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message_limits def, tiny = { 4, 20, 20, 2048, 4096, 10, 100 };
	const char *in = (const char *)data;
	struct message *m;

	if (size > (1 << 20))
		return 0;
	message_limits_default(&def);
	m = message_parse(in, size, NULL);
	check_message(m, &def, size);
	rewrite_checks(m, in, size);
	message_free(m);

	m = message_parse(in, size, &tiny);
	check_message(m, &tiny, size);
	message_free(m);
	return 0;
}
